//! Passphrases of backups and key bundles, one convention for every command:
//! `--passphrase-file PATH` (what systemd's `LoadCredential=` provides, under
//! `$CREDENTIALS_DIRECTORY`), else `KEYWRIGHT_PASSPHRASE`, else a no-echo prompt on the
//! terminal. One trailing line break of a file is not part of the passphrase; an empty
//! passphrase is refused.

use std::path::Path;

use keywright_core::Error;

use crate::input::{self, PASSPHRASE_FILE};
use crate::output::Failure;

/// The environment variable holding a passphrase.
pub(crate) const ENV: &str = "KEYWRIGHT_PASSPHRASE";

/// The passphrase from `file`, the environment or the terminal (`prompt`; asked twice
/// when `confirm`, so a typo does not lock a file away).
pub(crate) fn read(file: Option<&Path>, prompt: &str, confirm: bool) -> Result<String, Failure> {
    if let Some(file) = file {
        let text = input::read_text(file, &PASSPHRASE_FILE)?;
        let text = text
            .strip_suffix('\n')
            .map(|t| t.strip_suffix('\r').unwrap_or(t))
            .unwrap_or(&text);
        if text.is_empty() {
            return Err(Error::bad_input(format!(
                "the passphrase file {} is empty; nothing was done",
                file.display()
            ))
            .into());
        }
        return Ok(text.to_owned());
    }
    if let Some(p) = std::env::var_os(ENV) {
        let p = p
            .into_string()
            .map_err(|_| Failure::from(Error::bad_input(format!("{ENV} is not UTF-8 text"))))?;
        if p.is_empty() {
            return Err(
                Error::bad_input(format!("{ENV} is set but empty; nothing was done")).into(),
            );
        }
        return Ok(p);
    }
    let ask = |prompt: &str| {
        rpassword::prompt_password(prompt).map_err(|e| {
            Failure::from(Error::bad_input(format!(
                "cannot read the passphrase from the terminal ({e}); set {ENV} or give --passphrase-file"
            )))
        })
    };
    let first = ask(prompt)?;
    if first.is_empty() {
        return Err(Error::bad_input("the passphrase is empty; nothing was done").into());
    }
    if confirm && ask("Repeat the passphrase: ")? != first {
        return Err(Error::bad_input("the two passphrases differ; nothing was written").into());
    }
    Ok(first)
}
