//! Updates of Keywright itself: check, install on the user's word, restart
//! ([`crate::updates`] does the work).

use keywright_core::{Settings, SettingsView, UpdateCheck, UpdateProgress};
use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime, State};

use crate::state::{Desk, Reply};
use crate::updates::{self, PendingUpdate};

/// Asks the update server for a newer version (the Check now button).
#[tauri::command]
pub async fn check_for_update<R: Runtime>(
    app: AppHandle<R>,
    pending: State<'_, PendingUpdate>,
) -> Reply<UpdateCheck> {
    Ok(updates::check(&updates::updater(&app)?, &pending).await?)
}

/// The check the window makes when it starts: `None` when Settings turned it off.
#[tauri::command]
pub async fn startup_update_check<R: Runtime>(
    app: AppHandle<R>,
    desk: State<'_, Desk>,
    pending: State<'_, PendingUpdate>,
) -> Reply<Option<UpdateCheck>> {
    if !desk.settings()?.current.check_for_updates {
        return Ok(None);
    }
    Ok(Some(
        updates::check(&updates::updater(&app)?, &pending).await?,
    ))
}

/// Turns the check at start on or off.
#[tauri::command(async)]
pub fn set_update_check(desk: State<'_, Desk>, enabled: bool) -> Reply<SettingsView> {
    let current = desk.settings()?.current.clone();
    desk.save_settings(Settings {
        check_for_updates: enabled,
        ..current
    })?;
    desk.settings_view()
}

/// Downloads the update the last check found, verifies its signature and installs it;
/// progress goes to `on_progress`. The new version runs after [`restart_app`].
#[tauri::command]
pub async fn install_update(
    pending: State<'_, PendingUpdate>,
    on_progress: Channel<UpdateProgress>,
) -> Reply<()> {
    Ok(updates::install(&pending, |p| {
        let _ = on_progress.send(p);
    })
    .await?)
}

/// Restarts the app (after an update is installed).
#[tauri::command]
pub fn restart_app<R: Runtime>(app: AppHandle<R>) {
    app.restart();
}
