//! The desktop shell: opens the store, registers the commands, starts the window.
//! Each command is a few lines over keywright-core; none returns private key material
//! (the core's types cannot hold it).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use jiff::Timestamp;
use keywright_core::applock::AppLockState;
use keywright_core::audit::{AuditEvent, AuditQuery, AuditVerification};
use keywright_core::batch::{BatchOptions, BatchOutcome, BatchPreview, BatchProgress};
use keywright_core::clock::ClockAccepted;
use keywright_core::online::{ServerEvent, ServerStatus};
use keywright_core::{
    default_settings_path, default_store_path, os_user, ActivateMachine, ActivationPreview,
    CommandError, CustomerQuery, CustomerSummary, Dashboard, Error, ErrorCode, ExportLicenseFile,
    ExportMachineFile, ExportedFile, IssueLicense, KeyTemplatePreview, Keywright, License,
    LicenseEntitlements, LicensePage, LicenseQuery, Machine, NewPolicy, NewProduct, NewSigningKey,
    Policy, Product, RenewLicense, SetLicenseEntitlements, Settings, SettingsView, SigningKey,
    SimulateValidation, SimulatedValidation, StoreInfo, TransferMachine,
};
use keywright_server::{ServerConfig, ServerError, ServerHandle};
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};
use tauri_plugin_opener::OpenerExt;

mod startup;

/// The open store (or why it could not be opened: every command then reports that),
/// and the settings that chose it.
pub struct Desk {
    kw: Mutex<Result<Keywright, Error>>,
    settings: Mutex<SettingsState>,
}

struct SettingsState {
    /// Where settings are saved; `None` when there is no home folder.
    path: Option<PathBuf>,
    current: Settings,
    problem: Option<String>,
    store_from_env: bool,
}

impl Desk {
    /// Opens the store named by `KEYWRIGHT_STORE`, else the one chosen in Settings,
    /// else the per-user default.
    pub fn open_default() -> Self {
        let settings_path = std::env::var_os("KEYWRIGHT_SETTINGS")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .map_or_else(default_settings_path, Ok)
            .ok();
        let (current, problem) = match settings_path.as_deref().map(Settings::load) {
            Some(Ok(s)) => (s, None),
            Some(Err(e)) => (Settings::default(), Some(e.message)),
            None => (
                Settings::default(),
                Some("no home folder for settings".into()),
            ),
        };
        let from_env = std::env::var_os("KEYWRIGHT_STORE").filter(|p| !p.is_empty());
        let store_from_env = from_env.is_some();
        let opened = from_env
            .map(PathBuf::from)
            .or_else(|| current.store_path.as_ref().map(PathBuf::from))
            .map_or_else(default_store_path, Ok)
            .and_then(|path| Keywright::open(&path, os_user()))
            .map(|mut kw| {
                kw.enforce_app_lock(idle(&current));
                kw
            });
        if let Err(e) = &opened {
            log::warn!("store not opened: {:?}: {}", e.code, e.message);
        }
        Self {
            kw: Mutex::new(opened),
            settings: Mutex::new(SettingsState {
                path: settings_path,
                current,
                problem,
                store_from_env,
            }),
        }
    }

    fn settings(&self) -> Result<std::sync::MutexGuard<'_, SettingsState>, CommandError> {
        self.settings.lock().map_err(|_| {
            CommandError::from(Error::new(
                ErrorCode::Internal,
                "settings are unavailable; restart Keywright",
            ))
        })
    }

    fn settings_view(&self) -> Reply<SettingsView> {
        let state = self.settings()?;
        Ok(SettingsView {
            settings: state.current.clone(),
            default_store_path: default_store_path()?.display().to_string(),
            store_from_env: state.store_from_env,
            problem: state.problem.clone(),
        })
    }

    /// Saves `next` (validated first); the file and the state change together or not at all.
    fn save_settings(&self, next: Settings) -> Reply<()> {
        let mut state = self.settings()?;
        let path = state.path.clone().ok_or_else(|| {
            CommandError::from(Error::new(
                ErrorCode::Io,
                "no home folder to save settings in",
            ))
        })?;
        next.save(&path)?;
        state.current = next;
        state.problem = None;
        Ok(())
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Keywright) -> keywright_core::Result<T>,
    ) -> Result<T, CommandError> {
        let mut guard = self.kw.lock().map_err(|_| {
            CommandError::from(Error::new(
                ErrorCode::Internal,
                "an earlier command failed midway; restart Keywright",
            ))
        })?;
        let result = match guard.as_mut() {
            Ok(kw) => f(kw),
            Err(e) => Err(e.clone()),
        };
        // Codes and messages only: neither ever holds key material.
        result.map_err(|e| {
            log::warn!("command refused: {:?}: {}", e.code, e.message);
            CommandError::from(e)
        })
    }
}

type Reply<T> = Result<T, CommandError>;

/// The app lock's idle time from Settings.
fn idle(settings: &Settings) -> std::time::Duration {
    std::time::Duration::from_secs(u64::from(settings.lock_idle_minutes) * 60)
}

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

/// What a policy draft's keys would embed for a sample license (its key template
/// rendered, or Keygen's default dataset; a sample key when unsigned). Signs nothing.
#[tauri::command(async)]
fn preview_key_template(desk: State<'_, Desk>, input: NewPolicy) -> Reply<KeyTemplatePreview> {
    desk.with(|kw| kw.preview_key_template(&input, Timestamp::now()))
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

/// Accepts this computer's clock although the audit log has a newer row (one written
/// while the clock ran ahead); audited with the reason, needs signing unlocked.
#[tauri::command(async)]
fn accept_clock(desk: State<'_, Desk>, reason: String) -> Reply<ClockAccepted> {
    desk.with(|kw| kw.accept_clock(&reason, Timestamp::now()))
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

#[tauri::command(async)]
fn license_entitlements(desk: State<'_, Desk>, license_id: String) -> Reply<LicenseEntitlements> {
    desk.with(|kw| kw.license_entitlements(&license_id))
}

#[tauri::command(async)]
fn set_license_entitlements(
    desk: State<'_, Desk>,
    input: SetLicenseEntitlements,
) -> Reply<LicenseEntitlements> {
    desk.with(|kw| kw.set_license_entitlements(&input, Timestamp::now()))
}

#[tauri::command(async)]
fn get_settings(desk: State<'_, Desk>) -> Reply<SettingsView> {
    desk.settings_view()
}

/// Saves the form defaults; the store location changes only through `open_store`.
#[tauri::command(async)]
fn save_settings(desk: State<'_, Desk>, settings: Settings) -> Reply<SettingsView> {
    let store_path = desk.settings()?.current.store_path.clone();
    desk.save_settings(Settings {
        store_path,
        ..settings
    })?;
    desk.settings_view()
}

#[tauri::command(async)]
fn app_lock_state(desk: State<'_, Desk>) -> Reply<AppLockState> {
    desk.with(|kw| kw.app_lock_state())
}

/// Sets or changes the app lock passphrase (changing needs the current one).
#[tauri::command(async)]
fn set_app_lock(
    desk: State<'_, Desk>,
    current: Option<String>,
    passphrase: String,
) -> Reply<AppLockState> {
    desk.with(|kw| {
        kw.set_app_lock(current.as_deref(), &passphrase, Timestamp::now())?;
        kw.app_lock_state()
    })
}

#[tauri::command(async)]
fn remove_app_lock(desk: State<'_, Desk>, current: String) -> Reply<AppLockState> {
    desk.with(|kw| {
        kw.remove_app_lock(&current, Timestamp::now())?;
        kw.app_lock_state()
    })
}

#[tauri::command(async)]
fn unlock_app(desk: State<'_, Desk>, passphrase: String) -> Reply<AppLockState> {
    desk.with(|kw| {
        kw.unlock_app(&passphrase)?;
        kw.app_lock_state()
    })
}

#[tauri::command(async)]
fn lock_app(desk: State<'_, Desk>) -> Reply<AppLockState> {
    desk.with(|kw| {
        kw.lock_app();
        kw.app_lock_state()
    })
}

/// Opens (or creates) the store at `path`, `None` = the default location, and makes it
/// the one the window opens from now on. The current store stays open if this fails.
#[tauri::command(async)]
fn open_store(desk: State<'_, Desk>, path: Option<String>) -> Reply<StoreInfo> {
    let target = match &path {
        Some(p) if !std::path::Path::new(p).is_absolute() => {
            return Err(Error::bad_input(format!("{p:?} is not an absolute path")).into())
        }
        Some(p) => PathBuf::from(p),
        None => default_store_path()?,
    };
    let mut opened = Keywright::open(&target, os_user())?;
    opened.enforce_app_lock(idle(&desk.settings()?.current));
    let info = opened.store_info();
    let next = Settings {
        store_path: path,
        ..desk.settings()?.current.clone()
    };
    desk.save_settings(next)?;
    let mut guard = desk.kw.lock().map_err(|_| {
        CommandError::from(Error::new(
            ErrorCode::Internal,
            "an earlier command failed midway; restart Keywright",
        ))
    })?;
    *guard = Ok(opened);
    log::info!("opened store {}", info.path);
    Ok(info)
}

/// The activation server the Server page started, with its address and start time.
#[derive(Default)]
pub struct Server(tauri::async_runtime::Mutex<Option<(ServerHandle, ServerStatus)>>);

#[tauri::command]
async fn server_status(server: State<'_, Server>) -> Reply<ServerStatus> {
    Ok(server
        .0
        .lock()
        .await
        .as_ref()
        .map(|(_, status)| status.clone())
        .unwrap_or_default())
}

/// Serves the open store on `listen` (mini-key-server's API). Reads every product's
/// key now, so it needs the app lock unlocked like any signature.
#[tauri::command]
async fn server_start(
    desk: State<'_, Desk>,
    server: State<'_, Server>,
    listen: String,
) -> Reply<ServerStatus> {
    let addr: std::net::SocketAddr = listen.trim().parse().map_err(|_| {
        Error::bad_input(format!(
            "{listen:?} is not an address to listen on; use IP:port, like 127.0.0.1:8080"
        ))
    })?;
    let (path, lock) = desk.with(|kw| Ok((kw.store_info().path, kw.app_lock_state()?)))?;
    if !lock.unlocked {
        return Err(Error::new(
            ErrorCode::SigningLocked,
            "the server signs its answers: unlock signing first",
        )
        .into());
    }
    let mut running = server.0.lock().await;
    if let Some((_, status)) = running.as_ref() {
        return Err(Error::conflict(format!(
            "the server is already running on {}",
            status.address.as_deref().unwrap_or("?")
        ))
        .into());
    }
    let handle =
        keywright_server::start_store(std::path::Path::new(&path), addr, ServerConfig::default())
            .await
            .map_err(|e| match e {
                ServerError::Core(e) => CommandError::from(e),
                ServerError::Io(e) => {
                    Error::new(ErrorCode::Io, format!("cannot listen on {addr}: {e}")).into()
                }
            })?;
    let status = ServerStatus {
        running: true,
        address: Some(format!("http://{}", handle.local_addr())),
        started_at: Some(Timestamp::now().to_string()),
    };
    log::info!("activation server listening on {}", handle.local_addr());
    *running = Some((handle, status.clone()));
    Ok(status)
}

#[tauri::command]
async fn server_stop(server: State<'_, Server>) -> Reply<ServerStatus> {
    if let Some((handle, _)) = server.0.lock().await.take() {
        handle
            .stop()
            .await
            .map_err(|e| Error::new(ErrorCode::Io, format!("stopping the server: {e}")))?;
    }
    Ok(ServerStatus::default())
}

/// The newest requests the server answered (from the store, so also those of a
/// `keywright serve` on the same store).
#[tauri::command(async)]
fn server_events(desk: State<'_, Desk>, limit: u32) -> Reply<Vec<ServerEvent>> {
    desk.with(|kw| kw.server_events(limit.clamp(1, 500) as usize))
}

/// Opens the user's mail client on a `mailto:` draft (nothing else: no web links,
/// no files), for "Email it".
#[tauri::command(async)]
fn open_mail_draft(app: AppHandle, url: String) -> Reply<()> {
    if !url.starts_with("mailto:") || url.len() > 8_000 {
        return Err(Error::bad_input(
            "only a mailto: link (at most 8,000 characters) can be opened",
        )
        .into());
    }
    app.opener().open_url(url, None::<&str>).map_err(|e| {
        Error::new(
            ErrorCode::Io,
            format!("could not open the mail client: {e}"),
        )
        .into()
    })
}

/// Shows a file Keywright just wrote in the system's file manager (so the user can
/// attach it to the mail). Only existing files.
#[tauri::command(async)]
fn reveal_file(app: AppHandle, path: String) -> Reply<()> {
    let path = std::path::PathBuf::from(path);
    if !path.is_file() {
        return Err(Error::new(
            ErrorCode::NotFound,
            format!("{} is not a file", path.display()),
        )
        .into());
    }
    app.opener()
        .reveal_item_in_dir(&path)
        .map_err(|e| Error::new(ErrorCode::Io, format!("could not open the folder: {e}")).into())
}

/// Writes an encrypted backup (store snapshot + private keys) to `path`. The
/// passphrase comes from the user; the keys never leave the core.
#[tauri::command(async)]
fn create_backup(
    desk: State<'_, Desk>,
    path: String,
    passphrase: String,
) -> Reply<keywright_core::BackupCreated> {
    desk.with(|kw| kw.create_backup(std::path::Path::new(&path), &passphrase, Timestamp::now()))
}

/// Live strength feedback: `WEAK_PASSPHRASE` with a hint, or nothing.
#[tauri::command(async)]
fn check_backup_passphrase(passphrase: String) -> Reply<()> {
    keywright_core::backup::check_passphrase(&passphrase).map_err(CommandError::from)
}

/// Restores a backup into a NEW store at `store_path` (never over an existing one),
/// its keys into this machine's keychain. The open store is left as it is: the user
/// reopens Keywright on the restored store.
#[tauri::command(async)]
fn restore_backup(
    path: String,
    passphrase: String,
    store_path: String,
) -> Reply<keywright_core::BackupRestored> {
    keywright_core::restore_backup_to_keychain(
        std::path::Path::new(&path),
        &passphrase,
        std::path::Path::new(&store_path),
        &os_user(),
        Timestamp::now(),
    )
    .map_err(CommandError::from)
}

/// Set by `batch_cancel`; the running batch stops after the chunk it is committing.
/// Kept outside the store's mutex, which the batch holds while it runs.
#[derive(Default)]
pub struct BatchCancel(AtomicBool);

fn read_csv(path: &str) -> Result<Vec<u8>, CommandError> {
    std::fs::read(path)
        .map_err(|e| Error::new(ErrorCode::Io, format!("cannot read the CSV {path}: {e}")).into())
}

#[tauri::command(async)]
fn batch_preview(desk: State<'_, Desk>, path: String) -> Reply<BatchPreview> {
    let csv = read_csv(&path)?;
    desk.with(|kw| kw.preview_batch(&csv))
}

#[tauri::command(async)]
fn batch_issue(
    desk: State<'_, Desk>,
    cancel: State<'_, BatchCancel>,
    path: String,
    options: BatchOptions,
    on_progress: Channel<BatchProgress>,
) -> Reply<BatchOutcome> {
    let csv = read_csv(&path)?;
    cancel.0.store(false, Ordering::SeqCst);
    desk.with(|kw| {
        kw.issue_batch(
            &csv,
            &options,
            Timestamp::now(),
            &mut |p| {
                // A closed window only stops the bar, not the batch.
                let _ = on_progress.send(p);
            },
            &cancel.0,
        )
    })
}

#[tauri::command(async)]
fn batch_cancel(cancel: State<'_, BatchCancel>) {
    cancel.0.store(true, Ordering::SeqCst);
}

#[tauri::command(async)]
fn export_licenses_csv(
    desk: State<'_, Desk>,
    query: LicenseQuery,
    path: String,
) -> Reply<ExportedFile> {
    desk.with(|kw| kw.export_licenses_csv(&query, &path, Timestamp::now()))
}

/// Whether the machine has a GPU render node (`/dev/dri/renderD*`).
#[cfg(target_os = "linux")]
fn has_render_node() -> bool {
    std::fs::read_dir("/dev/dri").is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
    })
}

/// Builds and runs the app.
pub fn run() {
    startup::mark_start();
    // WebKitGTK's DMA-BUF renderer, on a machine without a GPU render node (a VM, a
    // remote desktop, Xvfb), draws into software buffers that made its web process
    // 191 MB instead of 113 (PSS, docs/benchmarks.md); shared memory is plenty for
    // this window's forms and tables. With a GPU, WebKit's default stays. An explicit
    // WEBKIT_DISABLE_DMABUF_RENDERER (0 or 1) always wins.
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_DMABUF_RENDERER").is_none() && !has_render_node() {
        // Before GTK starts, while this is the only thread.
        std::env::set_var("WEBKIT_DISABLE_DMABUF_RENDERER", "1");
    }
    let opening = std::time::Instant::now();
    let desk = Desk::open_default();
    startup::mark("store_open", opening);
    tauri::Builder::default()
        // First, so a second launch hands over before anything else starts.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.show();
                let _ = window.set_focus();
            }
        }))
        .plugin(
            tauri_plugin_log::Builder::new()
                // KEYWRIGHT_LOG=debug|trace for more (the end-to-end test runs at trace
                // and searches the log for the private key).
                .level(
                    std::env::var("KEYWRIGHT_LOG")
                        .ok()
                        .and_then(|level| level.parse().ok())
                        .unwrap_or(log::LevelFilter::Info),
                )
                .target(tauri_plugin_log::Target::new(
                    tauri_plugin_log::TargetKind::LogDir { file_name: None },
                ))
                .max_file_size(1_000_000)
                .rotation_strategy(tauri_plugin_log::RotationStrategy::KeepOne)
                .build(),
        )
        .plugin(tauri_plugin_window_state::Builder::new().build())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_clipboard_manager::init())
        .manage(desk)
        .manage(Server::default())
        .manage(BatchCancel::default())
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
            preview_key_template,
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
            accept_clock,
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
            open_mail_draft,
            reveal_file,
            get_settings,
            save_settings,
            open_store,
            app_lock_state,
            set_app_lock,
            remove_app_lock,
            unlock_app,
            lock_app,
            server_status,
            server_start,
            server_stop,
            server_events,
            create_backup,
            check_backup_passphrase,
            restore_backup,
            batch_preview,
            batch_issue,
            batch_cancel,
            export_licenses_csv,
            startup::ui_ready,
            license_entitlements,
            set_license_entitlements,
        ])
        .run(tauri::generate_context!())
        .expect("error while running Keywright");
}
