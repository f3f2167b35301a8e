//! Startup trace for `scripts/bench-app.sh`: with `KEYWRIGHT_TRACE_STARTUP=1`, the app
//! writes to stderr when `run` begins, how long opening the store took, and when the
//! window reports its first screen painted (the `ui_ready` command, called once by
//! `App.svelte`). Times are wall-clock Unix milliseconds, so the script can subtract
//! the moment it launched the process. Without the variable nothing is written.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

static START: OnceLock<Instant> = OnceLock::new();

fn enabled() -> bool {
    std::env::var_os("KEYWRIGHT_TRACE_STARTUP").is_some_and(|v| v == "1")
}

fn unix_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

fn since_start_ms() -> u128 {
    START.get_or_init(Instant::now).elapsed().as_millis()
}

/// Notes the start of `run` and writes the first trace line.
pub fn mark_start() {
    START.get_or_init(Instant::now);
    if enabled() {
        eprintln!("keywright-startup: run unix_ms={}", unix_ms());
    }
}

/// Writes how long `what` took, started at `since`.
pub fn mark(what: &str, since: Instant) {
    if enabled() {
        eprintln!(
            "keywright-startup: {what} took_ms={} since_run_ms={}",
            since.elapsed().as_millis(),
            since_start_ms()
        );
    }
}

/// The window's first screen is painted.
#[tauri::command]
pub fn ui_ready() {
    if enabled() {
        eprintln!(
            "keywright-startup: ui_ready unix_ms={} since_run_ms={}",
            unix_ms(),
            since_start_ms()
        );
    }
}
