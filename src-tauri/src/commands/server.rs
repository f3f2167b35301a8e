//! The activation server the Server page starts and stops in the app's own runtime.

use keywright_core::online::{ServerEvent, ServerStatus};
use keywright_core::Error;
use tauri::State;

use crate::state::{Desk, Reply, Server};

#[tauri::command]
pub async fn server_status(server: State<'_, Server>) -> Reply<ServerStatus> {
    Ok(server.status().await)
}

/// Serves the open store on `listen` (mini-key-server's API). Reads every product's
/// key now, so it needs the app lock unlocked like any signature.
#[tauri::command]
pub async fn server_start(
    desk: State<'_, Desk>,
    server: State<'_, Server>,
    listen: String,
) -> Reply<ServerStatus> {
    let addr: std::net::SocketAddr = listen.trim().parse().map_err(|_| {
        Error::bad_input(format!(
            "{listen:?} is not an address to listen on; use IP:port, like 127.0.0.1:8080"
        ))
    })?;
    let lock = desk.with(|kw| kw.app_lock_state())?;
    let location = desk.location()?;
    server
        .start(std::path::Path::new(location.as_str()), &lock, addr)
        .await
}

#[tauri::command]
pub async fn server_stop(server: State<'_, Server>) -> Reply<ServerStatus> {
    server.stop().await
}

/// The newest requests the server answered (from the store, so also those of a
/// `keywright serve` on the same store).
#[tauri::command(async)]
pub fn server_events(desk: State<'_, Desk>, limit: u32) -> Reply<Vec<ServerEvent>> {
    desk.with(|kw| kw.server_events(limit.clamp(1, 500) as usize))
}
