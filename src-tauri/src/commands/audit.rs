//! The audit log: list, export, verify, and accepting a clock that is behind it.

use jiff::Timestamp;
use keywright_core::audit::{AuditEntry, AuditEvent, AuditQuery, AuditVerification};
use keywright_core::clock::ClockAccepted;
use keywright_core::ExportedFile;
use tauri::State;

use crate::state::{Desk, Reply};

#[tauri::command(async)]
pub fn list_audit(desk: State<'_, Desk>, query: AuditQuery) -> Reply<Vec<AuditEvent>> {
    desk.with(|kw| kw.list_audit(&query))
}

/// [`list_audit`] with the names each event concerns, for the log read as sentences.
#[tauri::command(async)]
pub fn list_audit_entries(desk: State<'_, Desk>, query: AuditQuery) -> Reply<Vec<AuditEntry>> {
    desk.with(|kw| kw.list_audit_entries(&query))
}

/// Who has acted in the log: the audit screen's person filter.
#[tauri::command(async)]
pub fn audit_actors(desk: State<'_, Desk>) -> Reply<Vec<String>> {
    desk.with(|kw| kw.audit_actors())
}

#[tauri::command(async)]
pub fn export_audit_csv(
    desk: State<'_, Desk>,
    path: String,
    query: AuditQuery,
) -> Reply<ExportedFile> {
    desk.with(|kw| kw.export_audit_csv(&path, &query, Timestamp::now()))
}

#[tauri::command(async)]
pub fn verify_audit(desk: State<'_, Desk>) -> Reply<AuditVerification> {
    desk.with(|kw| kw.check_audit())
}

/// Accepts this computer's clock although the audit log has a newer row (one written
/// while the clock ran ahead); audited with the reason, needs signing unlocked.
#[tauri::command(async)]
pub fn accept_clock(desk: State<'_, Desk>, reason: String) -> Reply<ClockAccepted> {
    desk.with(|kw| kw.accept_clock(&reason, Timestamp::now()))
}
