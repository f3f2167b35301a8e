//! Issuing licenses, finding them, their lifecycle, entitlements and exports.

use jiff::Timestamp;
use keywright_core::{
    ExportLicenseFile, ExportedFile, IssueLicense, License, LicenseEntitlements, LicensePage,
    LicenseQuery, RenewLicense, SetLicenseEntitlements,
};
use tauri::State;

use crate::state::{Desk, Reply};

#[tauri::command(async)]
pub fn list_licenses(desk: State<'_, Desk>) -> Reply<Vec<License>> {
    desk.with(|kw| kw.list_licenses())
}

#[tauri::command(async)]
pub fn issue_license(desk: State<'_, Desk>, input: IssueLicense) -> Reply<License> {
    desk.with(|kw| kw.issue_license(&input, Timestamp::now()))
}

#[tauri::command(async)]
pub fn export_license_file(desk: State<'_, Desk>, input: ExportLicenseFile) -> Reply<ExportedFile> {
    desk.with(|kw| kw.export_license_file(&input, Timestamp::now()))
}

#[tauri::command(async)]
pub fn search_licenses(desk: State<'_, Desk>, query: LicenseQuery) -> Reply<LicensePage> {
    desk.with(|kw| kw.search_licenses(&query, Timestamp::now()))
}

#[tauri::command(async)]
pub fn suspend_license(desk: State<'_, Desk>, license_id: String) -> Reply<License> {
    desk.with(|kw| kw.suspend_license(&license_id, Timestamp::now()))
}

#[tauri::command(async)]
pub fn reinstate_license(desk: State<'_, Desk>, license_id: String) -> Reply<License> {
    desk.with(|kw| kw.reinstate_license(&license_id, Timestamp::now()))
}

#[tauri::command(async)]
pub fn revoke_license(desk: State<'_, Desk>, license_id: String) -> Reply<License> {
    desk.with(|kw| kw.revoke_license(&license_id, Timestamp::now()))
}

#[tauri::command(async)]
pub fn renew_license(desk: State<'_, Desk>, input: RenewLicense) -> Reply<License> {
    desk.with(|kw| kw.renew_license(&input, Timestamp::now()))
}

#[tauri::command(async)]
pub fn license_entitlements(
    desk: State<'_, Desk>,
    license_id: String,
) -> Reply<LicenseEntitlements> {
    desk.with(|kw| kw.license_entitlements(&license_id))
}

#[tauri::command(async)]
pub fn set_license_entitlements(
    desk: State<'_, Desk>,
    input: SetLicenseEntitlements,
) -> Reply<LicenseEntitlements> {
    desk.with(|kw| kw.set_license_entitlements(&input, Timestamp::now()))
}

#[tauri::command(async)]
pub fn export_licenses_csv(
    desk: State<'_, Desk>,
    query: LicenseQuery,
    path: String,
) -> Reply<ExportedFile> {
    desk.with(|kw| kw.export_licenses_csv(&query, &path, Timestamp::now()))
}
