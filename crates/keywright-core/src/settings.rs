//! The desktop app's preferences: which store the window opens, and the values its
//! forms start with. A small JSON file in the user's config folder, written
//! atomically; a missing file means the defaults, a damaged one is reported (and the
//! defaults are used) rather than silently overwritten.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::duration::{parse_duration, parse_optional_duration, MIN_FILE_TTL};
use crate::{Error, ErrorCode, KeyAlgorithm, Result};

/// The largest settings file read (it holds a path and three short values).
const MAX_BYTES: u64 = 64 * 1024;

/// What the user chose in Settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    /// The store the window opens: a file, or a PostgreSQL URL without its password;
    /// `None` = the per-user default location.
    pub store_path: Option<String>,
    /// Preselected for a new signing key.
    pub default_key_algorithm: KeyAlgorithm,
    /// Preselected "renew by" period (`1y`, `6mo`, `30d`).
    pub default_renew_by: String,
    /// Preselected license file lifetime on export; `None` = the policy's.
    pub default_export_ttl: Option<String>,
    /// With an app lock set: minutes without a signature before signing locks again.
    pub lock_idle_minutes: u32,
    /// Whether the window asks the update server for a newer version when it starts.
    /// It only ever asks: installing waits for the user's word. Files saved before
    /// this setting existed read as `true`.
    pub check_for_updates: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            store_path: None,
            default_key_algorithm: KeyAlgorithm::Ed25519,
            default_renew_by: "1y".into(),
            default_export_ttl: None,
            lock_idle_minutes: 15,
            check_for_updates: true,
        }
    }
}

impl Settings {
    /// Checks every value, so a bad one is refused when saved, not when used.
    pub fn validate(&self) -> Result<()> {
        if let Some(path) = &self.store_path {
            if crate::store::location::is_postgres_url(path) {
                // The password lives in the OS keychain, never in this file.
                if crate::store::location::split_password(path).1.is_some() {
                    return Err(Error::bad_input(
                        "a PostgreSQL store's password is kept in the OS keychain, not in settings",
                    ));
                }
            } else if path.trim().is_empty() || !Path::new(path).is_absolute() {
                return Err(Error::bad_input(format!(
                    "the store location {path:?} must be an absolute path to a file"
                )));
            }
        }
        if !(1..=24 * 60).contains(&self.lock_idle_minutes) {
            return Err(Error::bad_input(
                "the app lock's idle time must be between 1 minute and 24 hours (1440)",
            ));
        }
        parse_duration(&self.default_renew_by)
            .map_err(|e| Error::bad_input(format!("default renewal period: {}", e.message)))?;
        if let Some(ttl) = parse_optional_duration(self.default_export_ttl.as_deref())
            .map_err(|e| Error::bad_input(format!("default file lifetime: {}", e.message)))?
        {
            if ttl < MIN_FILE_TTL {
                return Err(Error::bad_input(
                    "default file lifetime: at least 1 hour (3600s), or empty for the policy's",
                ));
            }
        }
        Ok(())
    }

    /// Reads the settings at `path`; a missing file gives the defaults.
    pub fn load(path: &Path) -> Result<Self> {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => {
                return Err(Error::new(
                    ErrorCode::Io,
                    format!("{}: {e}", path.display()),
                ))
            }
        };
        if meta.len() > MAX_BYTES {
            return Err(Error::bad_input(format!(
                "{} is larger than a settings file can be ({} bytes)",
                path.display(),
                meta.len()
            )));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::new(ErrorCode::Io, format!("{}: {e}", path.display())))?;
        let mut settings: Self = serde_json::from_str(&text).map_err(|e| {
            Error::bad_input(format!(
                "{} is not a valid settings file: {e}",
                path.display()
            ))
        })?;
        settings.default_renew_by = case_folded(&settings.default_renew_by);
        settings.default_export_ttl = settings.default_export_ttl.as_deref().map(case_folded);
        settings.validate()?;
        Ok(settings)
    }

    /// Validates, then replaces the file at `path` atomically (owner-only folder).
    pub fn save(&self, path: &Path) -> Result<()> {
        self.validate()?;
        let json = serde_json::to_vec_pretty(self).map_err(|e| Error::bad_input(e.to_string()))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::store::create_private_dir(dir)?;
        }
        crate::files::write_atomically(path, &json, None)
    }
}

/// A duration saved when units were read in any case (`1Y`, `30D`, `6MO`), in the
/// lower case it meant then, so the file (and the store location in it) still loads.
/// Text that parses as it is (`1M`, now a month) is kept.
fn case_folded(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    if parse_optional_duration(Some(text)).is_err() && parse_optional_duration(Some(&lower)).is_ok()
    {
        lower
    } else {
        text.to_owned()
    }
}

/// What the Settings screen shows: the saved settings and where the open store came from.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    /// The saved settings (the defaults when none were saved or they could not be read).
    pub settings: Settings,
    /// The per-user default store location.
    pub default_store_path: String,
    /// True when `KEYWRIGHT_STORE` chose the open store (it wins over Settings).
    pub store_from_env: bool,
    /// Why the saved settings could not be read, if they could not.
    pub problem: Option<String>,
}

/// Where the desktop app keeps its settings: `$XDG_CONFIG_HOME/keywright/settings.json`
/// on Linux, the platform's equivalent elsewhere.
pub fn default_settings_path() -> Result<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "keywright")
        .ok_or_else(|| Error::new(ErrorCode::Io, "cannot find a home folder for the settings"))?;
    Ok(dirs.config_dir().join("settings.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_gives_defaults_and_a_saved_file_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cfg").join("settings.json");
        assert_eq!(Settings::load(&path).unwrap(), Settings::default());
        let chosen = Settings {
            store_path: Some(dir.path().join("other.db").display().to_string()),
            default_key_algorithm: KeyAlgorithm::Rsa2048,
            default_renew_by: "6mo".into(),
            default_export_ttl: Some("30d".into()),
            lock_idle_minutes: 5,
            check_for_updates: false,
        };
        chosen.save(&path).unwrap();
        assert_eq!(Settings::load(&path).unwrap(), chosen);
        // A PostgreSQL store is saved by its URL without a password.
        let on_postgres = Settings {
            store_path: Some("postgres://kw@db.example:5432/keywright?sslmode=verify-full".into()),
            ..chosen
        };
        on_postgres.save(&path).unwrap();
        assert_eq!(Settings::load(&path).unwrap(), on_postgres);
    }

    #[test]
    fn a_file_from_before_the_update_setting_checks_for_updates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(
            &path,
            r#"{"storePath":null,"defaultKeyAlgorithm":"ed25519","defaultRenewBy":"6mo","defaultExportTtl":null,"lockIdleMinutes":15}"#,
        )
        .unwrap();
        let read = Settings::load(&path).unwrap();
        assert!(read.check_for_updates);
        assert_eq!(read.default_renew_by, "6mo");
    }

    #[test]
    fn bad_values_are_refused_and_leave_the_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        Settings::default().save(&path).unwrap();
        let before = std::fs::read(&path).unwrap();
        for bad in [
            Settings {
                store_path: Some("relative/store.db".into()),
                ..Settings::default()
            },
            Settings {
                store_path: Some("postgres://kw:s3cret@db.example/keywright".into()),
                ..Settings::default()
            },
            Settings {
                store_path: Some("postgres://kw@db.example/keywright?password=s3cret".into()),
                ..Settings::default()
            },
            Settings {
                default_renew_by: "soon".into(),
                ..Settings::default()
            },
            Settings {
                default_renew_by: "0d".into(),
                ..Settings::default()
            },
            Settings {
                default_export_ttl: Some("10m".into()),
                ..Settings::default()
            },
        ] {
            let err = bad.save(&path).unwrap_err();
            assert_eq!(err.code, ErrorCode::BadInput, "{bad:?}");
            assert_eq!(std::fs::read(&path).unwrap(), before);
        }
    }

    #[test]
    fn durations_saved_in_upper_case_still_load_and_the_limit_holds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        let store = dir.path().join("other.db").display().to_string();
        std::fs::write(
            &path,
            format!(
                r#"{{"storePath":{store:?},"defaultKeyAlgorithm":"ed25519",
                    "defaultRenewBy":"1Y","defaultExportTtl":"30D","lockIdleMinutes":15}}"#
            ),
        )
        .unwrap();
        let loaded = Settings::load(&path).unwrap();
        assert_eq!(loaded.store_path.as_deref(), Some(store.as_str()));
        assert_eq!(loaded.default_renew_by, "1y");
        assert_eq!(loaded.default_export_ttl.as_deref(), Some("30d"));
        // `1M` is a month now, and kept as typed.
        assert_eq!(case_folded("1M"), "1M");
        for bad in ["101y", "1Mo"] {
            let err = Settings {
                default_renew_by: bad.into(),
                ..Settings::default()
            }
            .validate()
            .unwrap_err();
            assert_eq!(err.code, ErrorCode::BadInput, "{bad}");
        }
    }

    #[test]
    fn a_damaged_or_huge_file_is_reported_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(&path, b"{\"storePath\": 42").unwrap();
        let err = Settings::load(&path).unwrap_err();
        assert_eq!(err.code, ErrorCode::BadInput);
        assert!(
            err.message.contains("not a valid settings file"),
            "{}",
            err.message
        );
        std::fs::write(&path, vec![b' '; (MAX_BYTES + 1) as usize]).unwrap();
        assert!(Settings::load(&path)
            .unwrap_err()
            .message
            .contains("larger than"));
        std::fs::write(&path, br#"{"defaultRenewBy": "forever"}"#).unwrap();
        assert!(Settings::load(&path)
            .unwrap_err()
            .message
            .contains("renewal period"));
    }
}
