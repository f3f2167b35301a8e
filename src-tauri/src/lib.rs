//! The desktop shell: opens the store, registers the commands, starts the window.
//! Each command is a few lines over keywright-core; none returns private key material
//! (the core's types cannot hold it).

use std::sync::Mutex;

use jiff::Timestamp;
use keywright_core::audit::{AuditEvent, AuditQuery, AuditVerification};
use keywright_core::{
    default_store_path, os_user, ActivateMachine, ActivationPreview, CommandError, CustomerQuery,
    CustomerSummary, Dashboard, Error, ErrorCode, ExportLicenseFile, ExportMachineFile,
    ExportedFile, IssueLicense, Keywright, License, LicensePage, LicenseQuery, Machine, NewPolicy,
    NewProduct, NewSigningKey, Policy, Product, RenewLicense, SigningKey, SimulateValidation,
    SimulatedValidation, StoreInfo, TransferMachine,
};
use tauri::State;

mod startup;

/// The open store, or why it could not be opened (every command then reports that).
pub struct Desk(Mutex<Result<Keywright, Error>>);

impl Desk {
    /// Opens the store named by `KEYWRIGHT_STORE`, else the per-user default.
    pub fn open_default() -> Self {
        let opened = std::env::var_os("KEYWRIGHT_STORE")
            .filter(|p| !p.is_empty())
            .map(std::path::PathBuf::from)
            .map_or_else(default_store_path, Ok)
            .and_then(|path| Keywright::open(&path, os_user()));
        Self(Mutex::new(opened))
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Keywright) -> keywright_core::Result<T>,
    ) -> Result<T, CommandError> {
        let mut guard = self.0.lock().map_err(|_| {
            CommandError::from(Error::new(
                ErrorCode::Internal,
                "an earlier command failed midway; restart Keywright",
            ))
        })?;
        match guard.as_mut() {
            Ok(kw) => f(kw).map_err(CommandError::from),
            Err(e) => Err(e.clone().into()),
        }
    }
}

type Reply<T> = Result<T, CommandError>;

#[tauri::command(async)]
fn store_info(desk: State<'_, Desk>) -> Reply<StoreInfo> {
    desk.with(|kw| Ok(kw.store_info()))
}

#[tauri::command(async)]
fn list_signing_keys(desk: State<'_, Desk>) -> Reply<Vec<SigningKey>> {
    desk.with(|kw| kw.list_signing_keys())
}

#[tauri::command(async)]
fn create_signing_key(desk: State<'_, Desk>, input: NewSigningKey) -> Reply<SigningKey> {
    desk.with(|kw| kw.create_signing_key(&input, Timestamp::now()))
}

#[tauri::command(async)]
fn retire_signing_key(desk: State<'_, Desk>, key_id: String) -> Reply<SigningKey> {
    desk.with(|kw| kw.retire_signing_key(&key_id, Timestamp::now()))
}

#[tauri::command(async)]
fn set_product_signing_key(
    desk: State<'_, Desk>,
    product_id: String,
    signing_key_id: String,
) -> Reply<Product> {
    desk.with(|kw| kw.set_product_signing_key(&product_id, &signing_key_id, Timestamp::now()))
}

#[tauri::command(async)]
fn list_products(desk: State<'_, Desk>) -> Reply<Vec<Product>> {
    desk.with(|kw| kw.list_products())
}

#[tauri::command(async)]
fn create_product(desk: State<'_, Desk>, input: NewProduct) -> Reply<Product> {
    desk.with(|kw| kw.create_product(&input, Timestamp::now()))
}

#[tauri::command(async)]
fn list_policies(desk: State<'_, Desk>) -> Reply<Vec<Policy>> {
    desk.with(|kw| kw.list_policies())
}

#[tauri::command(async)]
fn create_policy(desk: State<'_, Desk>, input: NewPolicy) -> Reply<Policy> {
    desk.with(|kw| kw.create_policy(&input, Timestamp::now()))
}

#[tauri::command(async)]
fn list_licenses(desk: State<'_, Desk>) -> Reply<Vec<License>> {
    desk.with(|kw| kw.list_licenses())
}

#[tauri::command(async)]
fn issue_license(desk: State<'_, Desk>, input: IssueLicense) -> Reply<License> {
    desk.with(|kw| kw.issue_license(&input, Timestamp::now()))
}

#[tauri::command(async)]
fn export_license_file(desk: State<'_, Desk>, input: ExportLicenseFile) -> Reply<ExportedFile> {
    desk.with(|kw| kw.export_license_file(&input, Timestamp::now()))
}

#[tauri::command(async)]
fn search_licenses(desk: State<'_, Desk>, query: LicenseQuery) -> Reply<LicensePage> {
    desk.with(|kw| kw.search_licenses(&query, Timestamp::now()))
}

#[tauri::command(async)]
fn suspend_license(desk: State<'_, Desk>, license_id: String) -> Reply<License> {
    desk.with(|kw| kw.suspend_license(&license_id, Timestamp::now()))
}

#[tauri::command(async)]
fn reinstate_license(desk: State<'_, Desk>, license_id: String) -> Reply<License> {
    desk.with(|kw| kw.reinstate_license(&license_id, Timestamp::now()))
}

#[tauri::command(async)]
fn revoke_license(desk: State<'_, Desk>, license_id: String) -> Reply<License> {
    desk.with(|kw| kw.revoke_license(&license_id, Timestamp::now()))
}

#[tauri::command(async)]
fn renew_license(desk: State<'_, Desk>, input: RenewLicense) -> Reply<License> {
    desk.with(|kw| kw.renew_license(&input, Timestamp::now()))
}

#[tauri::command(async)]
fn list_audit(desk: State<'_, Desk>, query: AuditQuery) -> Reply<Vec<AuditEvent>> {
    desk.with(|kw| kw.list_audit(&query))
}

#[tauri::command(async)]
fn export_audit_csv(desk: State<'_, Desk>, path: String, query: AuditQuery) -> Reply<ExportedFile> {
    desk.with(|kw| kw.export_audit_csv(&path, &query, Timestamp::now()))
}

#[tauri::command(async)]
fn verify_audit(desk: State<'_, Desk>) -> Reply<AuditVerification> {
    desk.with(|kw| kw.check_audit())
}

#[tauri::command(async)]
fn dashboard(desk: State<'_, Desk>) -> Reply<Dashboard> {
    desk.with(|kw| kw.dashboard(Timestamp::now()))
}

#[tauri::command(async)]
fn list_customers(desk: State<'_, Desk>, query: CustomerQuery) -> Reply<Vec<CustomerSummary>> {
    desk.with(|kw| kw.list_customers(&query))
}

#[tauri::command(async)]
fn preview_activation(desk: State<'_, Desk>, text: String) -> Reply<ActivationPreview> {
    desk.with(|kw| kw.preview_activation(&text, Timestamp::now()))
}

#[tauri::command(async)]
fn activate_from_request(desk: State<'_, Desk>, text: String) -> Reply<Machine> {
    desk.with(|kw| kw.activate_from_request(&text, Timestamp::now()))
}

#[tauri::command(async)]
fn activate_machine(desk: State<'_, Desk>, input: ActivateMachine) -> Reply<Machine> {
    desk.with(|kw| kw.activate_machine(&input, Timestamp::now()))
}

#[tauri::command(async)]
fn export_machine_file(desk: State<'_, Desk>, input: ExportMachineFile) -> Reply<ExportedFile> {
    desk.with(|kw| kw.export_machine_file(&input, Timestamp::now()))
}

#[tauri::command(async)]
fn deactivate_machine(desk: State<'_, Desk>, machine_id: String) -> Reply<Machine> {
    desk.with(|kw| kw.deactivate_machine(&machine_id, Timestamp::now()))
}

#[tauri::command(async)]
fn transfer_machine(desk: State<'_, Desk>, input: TransferMachine) -> Reply<Machine> {
    desk.with(|kw| kw.transfer_machine(&input, Timestamp::now()))
}

#[tauri::command(async)]
fn list_machines(desk: State<'_, Desk>, license_id: String) -> Reply<Vec<Machine>> {
    desk.with(|kw| kw.list_machines(&license_id))
}

#[tauri::command(async)]
fn import_deactivation_receipt(desk: State<'_, Desk>, text: String) -> Reply<Machine> {
    desk.with(|kw| kw.import_deactivation_receipt(&text, Timestamp::now()))
}

#[tauri::command(async)]
fn simulate_validation(
    desk: State<'_, Desk>,
    input: SimulateValidation,
) -> Reply<SimulatedValidation> {
    desk.with(|kw| kw.simulate_validation(&input))
}

/// Builds and runs the app.
pub fn run() {
    startup::mark_start();
    let opening = std::time::Instant::now();
    let desk = Desk::open_default();
    startup::mark("store_open", opening);
    tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_clipboard_manager::init())
        .manage(desk)
        .invoke_handler(tauri::generate_handler![
            store_info,
            list_signing_keys,
            create_signing_key,
            retire_signing_key,
            set_product_signing_key,
            list_products,
            create_product,
            list_policies,
            create_policy,
            list_licenses,
            issue_license,
            export_license_file,
            search_licenses,
            suspend_license,
            reinstate_license,
            revoke_license,
            renew_license,
            list_audit,
            export_audit_csv,
            verify_audit,
            dashboard,
            list_customers,
            preview_activation,
            activate_from_request,
            activate_machine,
            export_machine_file,
            deactivate_machine,
            transfer_machine,
            list_machines,
            import_deactivation_receipt,
            simulate_validation,
            startup::ui_ready,
        ])
        .run(tauri::generate_context!())
        .expect("error while running Keywright");
}
