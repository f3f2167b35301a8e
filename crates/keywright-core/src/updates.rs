//! What the window shows about a new version of Keywright itself. Checking, downloading
//! and verifying are the desktop shell's (Tauri's updater plugin, which checks each
//! download's minisign signature); these are the plain types it answers with, here so
//! they reach TypeScript with every other type the window sees.

use serde::Serialize;
use ts_rs::TS;

/// A newer version the update server offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AvailableUpdate {
    /// The version offered (`0.2.0`).
    pub version: String,
    /// The version running now.
    pub current_version: String,
    /// The release notes, as written on the release; `None` when it has none.
    pub notes: Option<String>,
    /// When it was published (RFC 3339), if the server says.
    pub date: Option<String>,
}

/// The answer to "is there a newer version?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct UpdateCheck {
    /// The version running now.
    pub current_version: String,
    /// The newer version, or `None` when this one is up to date.
    pub update: Option<AvailableUpdate>,
}

/// How much of an update has been downloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct UpdateProgress {
    /// Bytes received so far.
    #[ts(type = "number")]
    pub downloaded: u64,
    /// The download's size, when the server says it.
    #[ts(type = "number | null")]
    pub total: Option<u64>,
}
