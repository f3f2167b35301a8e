//! "Email it": a mail draft and the file to attach, through the opener plugin (from
//! Rust only: the web side cannot open links or folders itself).

use keywright_core::{Error, ErrorCode};
use tauri::AppHandle;
use tauri_plugin_opener::OpenerExt;

use crate::state::Reply;

/// Opens the user's mail client on a `mailto:` draft (nothing else: no web links,
/// no files), for "Email it".
#[tauri::command(async)]
pub fn open_mail_draft(app: AppHandle, url: String) -> Reply<()> {
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
pub fn reveal_file(app: AppHandle, path: String) -> Reply<()> {
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
