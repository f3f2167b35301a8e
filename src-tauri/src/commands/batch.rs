//! Batch issuance from a CSV, on a connection of its own ([`crate::state::Batch`]).

use keywright_core::batch::{BatchOptions, BatchOutcome, BatchPreview, BatchProgress};
use keywright_core::{CommandError, Error, ErrorCode};
use tauri::ipc::Channel;
use tauri::State;

use crate::state::{Batch, Desk, Reply};

fn read_csv(path: &str) -> Reply<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        CommandError::from(Error::new(
            ErrorCode::Io,
            format!("cannot read the CSV {path}: {e}"),
        ))
    })
}

#[tauri::command(async)]
pub fn batch_preview(desk: State<'_, Desk>, path: String) -> Reply<BatchPreview> {
    let csv = read_csv(&path)?;
    desk.job(|kw| kw.preview_batch(&csv))
}

#[tauri::command(async)]
pub fn batch_issue(
    desk: State<'_, Desk>,
    batch: State<'_, Batch>,
    path: String,
    options: BatchOptions,
    on_progress: Channel<BatchProgress>,
) -> Reply<BatchOutcome> {
    let csv = read_csv(&path)?;
    batch.issue(&desk, &csv, &options, &mut |p| {
        // A closed window only stops the bar, not the batch.
        let _ = on_progress.send(p);
    })
}

#[tauri::command(async)]
pub fn batch_cancel(batch: State<'_, Batch>) {
    batch.cancel();
}
