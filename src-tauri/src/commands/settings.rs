//! Settings, the open store, and the app lock.

use jiff::Timestamp;
use keywright_core::applock::AppLockState;
use keywright_core::store::{StoreCopied, TableRows};
use keywright_core::{Settings, SettingsView, StoreInfo};
use tauri::ipc::Channel;
use tauri::State;

use crate::state::{Batch, Desk, Reply};

#[tauri::command(async)]
pub fn store_info(desk: State<'_, Desk>) -> Reply<StoreInfo> {
    desk.with(|kw| Ok(kw.store_info()))
}

#[tauri::command(async)]
pub fn get_settings(desk: State<'_, Desk>) -> Reply<SettingsView> {
    desk.settings_view()
}

/// Saves the form defaults; the store location changes only through `open_store`, the
/// update check only through `set_update_check`.
#[tauri::command(async)]
pub fn save_settings(desk: State<'_, Desk>, settings: Settings) -> Reply<SettingsView> {
    let current = desk.settings()?.current.clone();
    desk.save_settings(Settings {
        store_path: current.store_path,
        check_for_updates: current.check_for_updates,
        ..settings
    })?;
    desk.settings_view()
}

/// Opens (or creates) the store at `path` (a file, or a `postgres://` URL with its
/// `password`, which goes to the OS keychain and never comes back to the window),
/// `None` = the default location, and makes it the one the window opens from now on.
/// The current store stays open if this fails.
#[tauri::command(async)]
pub fn open_store(
    desk: State<'_, Desk>,
    path: Option<String>,
    password: Option<String>,
) -> Reply<StoreInfo> {
    desk.open_store(path, password.filter(|p| !p.is_empty()))
}

/// Copies the open store to `to` (a new file, or an empty PostgreSQL database with its
/// `password`), reporting each table on `on_progress` as it is done; the audit log is
/// verified on both sides.
#[tauri::command(async)]
pub fn copy_store(
    desk: State<'_, Desk>,
    to: String,
    password: Option<String>,
    on_progress: Channel<TableRows>,
) -> Reply<StoreCopied> {
    desk.copy_store(
        to.trim(),
        password.filter(|p| !p.is_empty()),
        |table, rows| {
            let _ = on_progress.send(TableRows {
                table: table.to_owned(),
                rows,
            });
        },
    )
}

#[tauri::command(async)]
pub fn app_lock_state(desk: State<'_, Desk>) -> Reply<AppLockState> {
    desk.with(|kw| kw.app_lock_state())
}

/// Sets or changes the app lock passphrase (changing needs the current one).
#[tauri::command(async)]
pub fn set_app_lock(
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
pub fn remove_app_lock(desk: State<'_, Desk>, current: String) -> Reply<AppLockState> {
    desk.with(|kw| {
        kw.remove_app_lock(&current, Timestamp::now())?;
        kw.app_lock_state()
    })
}

#[tauri::command(async)]
pub fn unlock_app(desk: State<'_, Desk>, passphrase: String) -> Reply<AppLockState> {
    desk.with(|kw| {
        kw.unlock_app(&passphrase)?;
        kw.app_lock_state()
    })
}

/// Locks signing now, a running batch's too (it stops after the chunk it is committing).
#[tauri::command(async)]
pub fn lock_app(desk: State<'_, Desk>, batch: State<'_, Batch>) -> Reply<AppLockState> {
    desk.lock_app(&batch)
}
