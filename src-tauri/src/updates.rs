//! Updates of the app itself, through Tauri's updater plugin: ask the release's
//! `latest.json` whether a newer version exists, and download, verify and install it
//! only when the user says so. The plugin checks the download's minisign (Ed25519)
//! signature against the public key in `tauri.conf.json` before anything is
//! installed; here its errors become sentences the window can show.
//!
//! The store and the keychain are not touched: an update replaces the program only,
//! and a store written by a newer schema is still refused by an older program
//! (`STORE_TOO_NEW`), which is what a downgrade meets.

use std::time::Duration;

use keywright_core::{AvailableUpdate, Error, ErrorCode, UpdateCheck, UpdateProgress};
use tauri::async_runtime::Mutex;
use tauri::{AppHandle, Runtime};
use tauri_plugin_updater::{Update, Updater, UpdaterExt};

/// How long one request to the update server may take (the plugin has no limit of
/// its own, and the check runs at every start).
const TIMEOUT: Duration = Duration::from_secs(30);

/// The update the last check found, kept for "Install" (the window never hands the
/// download's address or signature back).
#[derive(Default)]
pub struct PendingUpdate(Mutex<Option<Update>>);

/// The updater as `tauri.conf.json` configures it (its public key and endpoints).
pub fn updater<R: Runtime>(app: &AppHandle<R>) -> Result<Updater, Error> {
    app.updater_builder()
        .timeout(TIMEOUT)
        .build()
        .map_err(plain_error)
}

/// Asks the update server whether a newer version exists; remembers it in `pending`.
pub async fn check(updater: &Updater, pending: &PendingUpdate) -> Result<UpdateCheck, Error> {
    let found = updater.check().await.map_err(plain_error)?;
    let current_version = current_version(found.as_ref());
    let update = found.as_ref().map(|u| AvailableUpdate {
        version: u.version.clone(),
        current_version: u.current_version.clone(),
        notes: u.body.clone().filter(|n| !n.trim().is_empty()),
        // As the manifest wrote it: the plugin has already checked it is RFC 3339.
        date: u
            .raw_json
            .get("pub_date")
            .and_then(|d| d.as_str())
            .map(str::to_owned),
    });
    *pending.0.lock().await = found;
    Ok(UpdateCheck {
        current_version,
        update,
    })
}

/// The running version as the updater sees it (the app's `package_info`).
fn current_version(found: Option<&Update>) -> String {
    found.map_or_else(
        || env!("CARGO_PKG_VERSION").to_owned(),
        |u| u.current_version.clone(),
    )
}

/// Downloads the pending update and checks its signature; returns the verified bytes.
/// Nothing is installed.
pub async fn download(
    pending: &PendingUpdate,
    mut progress: impl FnMut(UpdateProgress),
) -> Result<Vec<u8>, Error> {
    let guard = pending.0.lock().await;
    let update = guard.as_ref().ok_or_else(|| {
        Error::bad_input("there is no update to install; check for updates first")
    })?;
    let mut downloaded = 0u64;
    update
        .download(
            |chunk, total| {
                downloaded += chunk as u64;
                progress(UpdateProgress { downloaded, total });
            },
            || {},
        )
        .await
        .map_err(plain_error)
}

/// Downloads, verifies and installs the pending update. The new version runs after a
/// restart (on Windows the installer closes the app itself).
pub async fn install(
    pending: &PendingUpdate,
    progress: impl FnMut(UpdateProgress),
) -> Result<(), Error> {
    let bytes = download(pending, progress).await?;
    let guard = pending.0.lock().await;
    let update = guard.as_ref().ok_or_else(|| {
        Error::bad_input("there is no update to install; check for updates first")
    })?;
    update.install(bytes).map_err(plain_error)?;
    Ok(())
}

/// The plugin's error as a sentence saying what happened and what to do.
pub fn plain_error(e: tauri_plugin_updater::Error) -> Error {
    use minisign_verify::Error as Sig;
    use tauri_plugin_updater::Error as U;
    let unreachable = |what: String| {
        Error::new(
            ErrorCode::UpdateUnreachable,
            format!(
                "{what}. Nothing was downloaded or changed; check the internet connection \
                 and try again later"
            ),
        )
    };
    // Reached, but the answer is not one to act on.
    let unreadable = |what: String| {
        Error::new(
            ErrorCode::UpdateUnreachable,
            format!(
                "{what}. Nothing was downloaded or changed; try again later, or download the \
                 new version from the release page"
            ),
        )
    };
    let refused = |why: &str| {
        Error::new(
            ErrorCode::UpdateRefused,
            format!(
                "the update was not installed: {why}. Keywright keeps running as it is; try \
                 again later, or download the new version from the release page yourself"
            ),
        )
    };
    let failed = |why: String| {
        Error::new(
            ErrorCode::UpdateFailed,
            format!(
                "the update was verified but not installed: {why}. Keywright keeps running \
                 as it is"
            ),
        )
    };
    match e {
        U::Minisign(Sig::UnexpectedKeyId) => refused(
            "it is signed with a key this version of Keywright does not trust, so it may not \
             come from Keywright's publisher",
        ),
        U::Minisign(Sig::InvalidSignature) => refused(
            "the downloaded file does not match its signature (it was changed or damaged on \
             the way)",
        ),
        U::Minisign(_) | U::Base64(_) | U::SignatureUtf8(_) => {
            refused("its signature could not be read")
        }
        U::SignedVersionMismatch { signed, announced } => refused(&format!(
            "the update server announced version {announced}, but the file is signed as \
             version {signed}"
        )),
        U::MissingSignedVersion => refused("its signature does not say which version it is for"),
        U::Reqwest(e) if e.is_decode() => unreadable(format!(
            "the update server's answer is not a release Keywright can read ({})",
            reqwest_reason(&e)
        )),
        U::Reqwest(e) => unreachable(format!(
            "the update server could not be reached ({})",
            reqwest_reason(&e)
        )),
        U::Network(text) => unreadable(format!("the update server refused the download ({text})")),
        U::ReleaseNotFound => unreadable("the update server did not answer with a release".into()),
        U::Serialization(e) => unreadable(format!(
            "the update server's answer is not a release Keywright can read ({e})"
        )),
        U::Semver(e) => unreadable(format!(
            "the update server's answer has a version that is not a version number ({e})"
        )),
        U::TargetNotFound(target) => unreadable(format!(
            "the new release has no update for this kind of installation ({target})"
        )),
        U::TargetsNotFound(targets) => unreadable(format!(
            "the new release has no update for this kind of installation ({})",
            targets.join(", ")
        )),
        U::InsecureTransportProtocol | U::EmptyEndpoints | U::UrlParse(_) => Error::new(
            ErrorCode::UpdateUnreachable,
            format!(
                "this build of Keywright has no usable update address ({e}); download new \
                 versions from the release page"
            ),
        ),
        U::AuthenticationFailed => {
            failed("installing needs an administrator's password, and it was not given".into())
        }
        U::DebInstallFailed | U::PackageInstallFailed => failed(format!(
            "the system's package installer refused it ({e}); install the new package from \
             the release page"
        )),
        U::Io(e) => failed(format!(
            "a file could not be written ({e}); is the disk full?"
        )),
        other => failed(other.to_string()),
    }
}

/// Why a request failed, without the URL's details twice.
fn reqwest_reason(e: &impl std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}
