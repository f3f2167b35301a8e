//! Reading the audit log (pages for the screen, a subject's history) and writing with
//! it: CSV and JSON Lines exports of the log, and every exported file written together
//! with its audit row.

use std::path::Path;

use jiff::Timestamp;

use super::{
    names, sha256_hex, sql, AuditEntry, AuditEvent, AuditQuery, Event, SubjectNames, DEFAULT_LIMIT,
    MAX_LIMIT,
};
use crate::error::{Error, Result};
use crate::files::{check, write_atomically, ExportedFile};
use crate::{stamp, Keywright};

/// The CSV's columns: every stored field, so the export can be re-verified.
const HEADER: [&str; 13] = [
    "seq",
    "at",
    "actor",
    "action",
    "subject_type",
    "subject_id",
    "signing_key_kid",
    "artifact_sha256",
    "detail",
    "state",
    "prev_hash",
    "hash",
    "mac",
];

fn csv_text(events: &[AuditEvent]) -> Result<Vec<u8>> {
    let failed = |e: csv::Error| Error::new(crate::ErrorCode::Internal, format!("CSV: {e}"));
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(HEADER).map_err(failed)?;
    for e in events {
        let seq = e.seq.to_string();
        out.write_record([
            seq.as_str(),
            &e.at,
            &e.actor,
            &e.action,
            e.subject_type.as_deref().unwrap_or(""),
            e.subject_id.as_deref().unwrap_or(""),
            e.signing_key_kid.as_deref().unwrap_or(""),
            e.artifact_sha256.as_deref().unwrap_or(""),
            &e.detail,
            e.state.as_deref().unwrap_or(""),
            &e.prev_hash,
            &e.hash,
            e.mac.as_deref().unwrap_or(""),
        ])
        .map_err(failed)?;
    }
    out.into_inner()
        .map_err(|e| Error::new(crate::ErrorCode::Internal, format!("CSV: {e}")))
}

/// One JSON object per line (the [`AuditEvent`] fields, camelCase), each ending in LF.
fn jsonl_text(events: &[AuditEvent]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for e in events {
        serde_json::to_writer(&mut out, e)
            .map_err(|e| Error::new(crate::ErrorCode::Internal, format!("JSON: {e}")))?;
        out.push(b'\n');
    }
    Ok(out)
}

impl Keywright {
    /// Audit events matching `query`, newest first, one page (100 by default).
    pub fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
        let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::bad_input(format!(
                "an audit page holds 1 to {} events; got {limit}",
                MAX_LIMIT
            )));
        }
        sql::query(self.store.db(), query, Some(limit))
    }

    /// Who has acted in the log (people, `server`), in order: what the audit log's
    /// person filter offers. At most 200 names.
    pub fn audit_actors(&self) -> Result<Vec<String>> {
        sql::actors(self.store.db(), 200)
    }

    /// [`Keywright::list_audit`] with the names each event concerns (customer,
    /// product, policy, machine, signing key), for reading the log as sentences.
    pub fn list_audit_entries(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>> {
        let events = self.list_audit(query)?;
        let names = names::names(self.store.db(), &events)?;
        Ok(events
            .into_iter()
            .zip(names)
            .map(|(event, names)| AuditEntry { event, names })
            .collect())
    }

    /// The names `events` concern, in their order (see [`Keywright::list_audit_entries`]).
    pub(crate) fn audit_names(&self, events: &[AuditEvent]) -> Result<Vec<SubjectNames>> {
        names::names(self.store.db(), events)
    }

    /// Every audit event, oldest first.
    pub fn audit_events(&self) -> Result<Vec<AuditEvent>> {
        sql::list(self.store.db())
    }

    /// Every audit event about row `subject_id` (a license, a machine...), newest first.
    pub(crate) fn audit_history(&self, subject_id: String) -> Result<Vec<AuditEvent>> {
        sql::query(
            self.store.db(),
            &AuditQuery {
                subject_id: Some(subject_id),
                ..AuditQuery::default()
            },
            None,
        )
    }

    /// The `n` newest audit events, newest first.
    pub(crate) fn newest_audit(&self, n: i64) -> Result<Vec<AuditEvent>> {
        sql::query(self.store.db(), &AuditQuery::default(), Some(n))
    }

    /// Writes the events matching `query` (all of them unless it sets a limit),
    /// oldest first, as CSV to `path`, atomically. The export is itself an audit row
    /// (`audit.export`, with the file's SHA-256); if the file cannot be written, that
    /// row is rolled back. A read-only store is exported without that row.
    pub fn export_audit_csv(
        &mut self,
        path: &str,
        query: &AuditQuery,
        now: Timestamp,
    ) -> Result<ExportedFile> {
        self.export_audit(path, query, now, "csv")
    }

    /// [`Keywright::export_audit_csv`] as JSON Lines: one event object per line, with
    /// every stored field (the chain can be re-verified from it).
    pub fn export_audit_jsonl(
        &mut self,
        path: &str,
        query: &AuditQuery,
        now: Timestamp,
    ) -> Result<ExportedFile> {
        self.export_audit(path, query, now, "jsonl")
    }

    fn export_audit(
        &mut self,
        path: &str,
        query: &AuditQuery,
        now: Timestamp,
        format: &'static str,
    ) -> Result<ExportedFile> {
        if path.trim().is_empty() {
            return Err(Error::bad_input(format!(
                "choose where to save the {} file",
                format.to_uppercase()
            )));
        }
        if let Some(limit) = query.limit {
            if limit < 1 {
                return Err(Error::bad_input(format!(
                    "an export holds at least 1 event; got {limit}"
                )));
            }
        }
        let path = Path::new(path.trim());
        let mut events = sql::query(self.store.db(), query, query.limit)?;
        events.reverse(); // a log reads oldest first
        let bytes = match format {
            "jsonl" => jsonl_text(&events)?,
            _ => csv_text(&events)?,
        };
        let event = Event {
            action: "audit.export",
            detail: serde_json::json!({
                "format": format, "rows": events.len(), "path": path.display().to_string(),
                "action": query.action, "subjectId": query.subject_id,
                "actor": query.actor, "productId": query.product_id,
                "since": query.since, "until": query.until,
            }),
            ..Event::default()
        };
        self.write_export(path, &bytes, &stamp(now), event, format)
    }

    /// Writes an export (a CSV or JSON Lines file elsewhere, not the store) with its
    /// audit row. A read-only store cannot record the row, and an export changes
    /// nothing in it, so there the file is written alone (still atomically).
    pub(crate) fn write_export(
        &mut self,
        path: &Path,
        bytes: &[u8],
        at: &str,
        event: Event<'_>,
        algorithm: &str,
    ) -> Result<ExportedFile> {
        if self.store.read_only().is_none() {
            return self.write_audited_file(path, bytes, at, event, algorithm);
        }
        write_atomically(path, bytes, Some(self.store.path()))?;
        Ok(ExportedFile {
            path: path.display().to_string(),
            sha256: sha256_hex(bytes),
            bytes: bytes.len() as u64,
            algorithm: algorithm.to_owned(),
        })
    }

    /// Writes an exported artifact and its audit row together: the row (with the
    /// artifact's SHA-256) is appended, the file written atomically, and only then the
    /// transaction committed; if the commit fails the file is removed. Either both
    /// exist or neither does.
    pub(crate) fn write_audited_file(
        &mut self,
        path: &Path,
        bytes: &[u8],
        at: &str,
        mut event: Event<'_>,
        algorithm: &str,
    ) -> Result<ExportedFile> {
        // Checked before the audit key is asked for or a transaction begins.
        let real = check(path, Some(self.store.path()))?;
        let sha = sha256_hex(bytes);
        event.artifact_sha256 = Some(sha.clone());
        let audit_key = self.audit_key()?;
        let store = self.store.path().to_path_buf();
        let tx = self.store.transaction()?;
        super::append(tx.db(), &audit_key, at, &self.actor, &event)?;
        write_atomically(path, bytes, Some(&store))?;
        if let Err(e) = tx.commit() {
            let _ = std::fs::remove_file(&real);
            return Err(e);
        }
        self.committed();
        Ok(ExportedFile {
            path: path.display().to_string(),
            sha256: sha,
            bytes: bytes.len() as u64,
            algorithm: algorithm.to_owned(),
        })
    }

    /// Records a signed artifact that is handed over instead of written (a license or
    /// machine file checked out over the activation server): its audit row, with the
    /// artifact's SHA-256, in a transaction of its own, committed before the artifact
    /// leaves. Returns the SHA-256.
    pub(crate) fn record_artifact(
        &mut self,
        bytes: &[u8],
        at: &str,
        mut event: Event<'_>,
    ) -> Result<String> {
        let sha = sha256_hex(bytes);
        event.artifact_sha256 = Some(sha.clone());
        let audit_key = self.audit_key()?;
        let tx = self.store.transaction()?;
        super::append(tx.db(), &audit_key, at, &self.actor, &event)?;
        tx.commit()?;
        self.committed();
        Ok(sha)
    }
}
