//! What a command produced and how it is written: the result (`Output`) or the
//! failure (`Failure`) of every subcommand, the exit statuses they map to, and one
//! place for standard output and standard error, so that a closed pipe or a full disk
//! is an answer (see the exit statuses), never a panic, and so that text from the
//! store (a machine name sent by any client, written by an older version) cannot
//! drive the terminal.

use std::borrow::Cow;
use std::io::Write;
use std::process::ExitCode;

use keywright_core::{Error, ErrorCode};
use keywright_license::ValidationCode;
use serde_json::json;

/// The exit statuses, shown by `keywright --help`; `From<Error> for Failure` and
/// `verdict_status` below give them.
pub(crate) const EXIT_CODES: &str = "\
Exit status:
   0  success; for verify: VALID
   1  internal error
   2  bad input (including usage errors)
   3  not found
   4  conflict (duplicate, or a key that no longer signs)
   5  OS keychain unavailable (no Secret Service / D-Bus, locked, access denied)
   6  keychain entry missing, or not the key on record
   7  store error (cannot open, too new, locked)
   8  file I/O error
   9  format error
  10  verify: SIGNATURE_INVALID
  11  verify: FILE_EXPIRED or EXPIRED
  12  verify: CLOCK_TAMPERED
  13  verify: DECRYPTION_FAILED (wrong license key or fingerprint)
  14  verify: MALFORMED, ALGORITHM_MISMATCH or UNKNOWN_KEY
  15  signing refused: this computer's clock is earlier than the audit log's newest entry
      (if that entry was written while the clock ran ahead: audit accept-clock)
  16  backup restore or key bundle: wrong passphrase (nothing was changed)
  17  the output file is the store itself (or its -wal, -shm, -journal, by any
      path), or another database: nothing was written
  18  the command succeeded and its changes are saved, but its output could not be
      written (a full disk, a closed pipe): standard error says what was saved;
      do not run it again. (A closed pipe after a command that saves nothing exits
      quietly with the command's own status.)
  19  the audit log does not match its anchor in the OS keychain or the store
      (audit verify says what differs); nothing is changed until it is restored
  20  serve --keys: the key bundle was made for another store, or its audit key is
      not the one this store was anchored with; nothing was served
  21  email: the SMTP server refused the login (or no password is saved)
  22  email: the SMTP server cannot be reached, or TLS failed
  23  email: the server refused the message for good (5xx: recipient, size)
  24  email: the server kept asking to try again later (4xx)

license batch exits 2 when any row of the CSV is bad (every bad row is listed with
its line; the good rows are issued unless --all-or-nothing, which then issues nothing).

Activation refusals (license suspended, revoked, expired or out of activations)
and transfers the policy forbids (TRANSFER_NOT_ALLOWED) exit 4; a mistyped or damaged activation request or receipt exits 9; a license
key this store did not issue exits 3.

Backups: a weak passphrase exits 2, a damaged or truncated backup 9, a restore
onto an existing store 4 (nothing is overwritten).

Key bundles (key bundle, serve --keys): a weak or empty passphrase exits 2, an
unreadable passphrase file 8, a damaged, truncated or tampered bundle 9 (so is a
backup given as a bundle), a wrong passphrase 16, a bundle of another store 20.

Durations (--duration, --ttl, --grace, --by) are a number and a unit, whose case
matters: s; m or min (minutes); h; d; w; mo or M (months); y. For example 3600s,
90m, 12h, 30d, 2w, 6mo, 1y; a bare number is seconds; at most 100 years. Anything
else (1Mo, 1D, 1mins) exits 2.

Text stored in the store (names, emails, codes, URLs, machine details, metadata,
CSV cells) may not contain control characters (ESC, BEL, DEL, C1 controls...) or
bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069): exit 2, naming
the field and the character. Line breaks and tabs are allowed only in a support
message, a key template and metadata values.";

/// What a command produced: JSON for `--json`, text otherwise.
pub(crate) struct Output {
    pub(crate) json: serde_json::Value,
    pub(crate) text: String,
    pub(crate) status: u8,
}

impl Output {
    pub(crate) fn ok(json: serde_json::Value, text: String) -> Self {
        Self {
            json,
            text,
            status: 0,
        }
    }
}

/// A failure or a verdict, with its exit status.
pub(crate) struct Failure {
    status: u8,
    code: String,
    message: String,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let status = match e.code {
            ErrorCode::BadInput | ErrorCode::TemplateInvalid => 2,
            ErrorCode::NotFound => 3,
            ErrorCode::Conflict | ErrorCode::TransferNotAllowed => 4,
            ErrorCode::KeychainUnavailable => 5,
            ErrorCode::KeychainEntryMissing | ErrorCode::KeychainMismatch => 6,
            ErrorCode::Store | ErrorCode::StoreTooNew => 7,
            ErrorCode::ClockBehind => 15,
            ErrorCode::Io => 8,
            ErrorCode::Format => 9,
            ErrorCode::Internal => 1,
            // Only the window enforces the app lock; kept in the "refused" class.
            ErrorCode::SigningLocked => 4,
            ErrorCode::WeakPassphrase => 2,
            ErrorCode::BackupPassphrase => 16,
            ErrorCode::BackupDamaged => 9,
            ErrorCode::StoreExists => 4,
            ErrorCode::OutputIsStore => 17,
            ErrorCode::AuditTampered => 19,
            ErrorCode::KeyBundlePassphrase => 16,
            ErrorCode::KeyBundleDamaged => 9,
            ErrorCode::KeyBundleMismatch => 20,
            ErrorCode::MailLoginRefused => 21,
            ErrorCode::MailUnreachable => 22,
            ErrorCode::MailRejected => 23,
            ErrorCode::MailDeferred => 24,
            // Only the window updates itself; never reached from the CLI.
            ErrorCode::UpdateUnreachable | ErrorCode::UpdateRefused | ErrorCode::UpdateFailed => 1,
        };
        let code = serde_json::to_value(e.code)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        Self {
            status,
            code,
            message: e.message,
        }
    }
}

/// The exit status of a `verify` verdict.
pub(crate) fn verdict_status(code: ValidationCode) -> u8 {
    match code {
        ValidationCode::Valid => 0,
        ValidationCode::SignatureInvalid => 10,
        ValidationCode::FileExpired | ValidationCode::Expired => 11,
        ValidationCode::ClockTampered => 12,
        ValidationCode::DecryptionFailed => 13,
        _ => 14,
    }
}

/// The exit status when a command's changes were saved but its output could not be
/// written.
const EXIT_OUTPUT_LOST: u8 = 18;

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// Prints a command's result (one JSON object with `--json`, text otherwise) or its
/// failure, and gives the exit status. `saves`: the command saved something, so a
/// failure to print its result must say what was saved.
pub(crate) fn print(result: Result<Output, Failure>, as_json: bool, saves: bool) -> ExitCode {
    match result {
        Ok(out) => {
            let text = if as_json {
                format!("{}\n", json_safe(&out.json.to_string()))
            } else {
                terminal_safe(&out.text).into_owned()
            };
            match write_stdout(&text) {
                Ok(()) => ExitCode::from(out.status),
                // `keywright license list | head -1`: the reader has what it wanted.
                Err(e) if !saves && e.kind() == std::io::ErrorKind::BrokenPipe => {
                    ExitCode::from(out.status)
                }
                Err(e) if !saves => {
                    warn(&format!(
                        "keywright: cannot write the output to standard output: {e}"
                    ));
                    ExitCode::from(EXIT_OUTPUT_LOST)
                }
                Err(e) => {
                    warn(&format!(
                        "keywright: done and saved, but the output could not be written to standard output ({e}). \
                         Do not run the command again. What was saved: {}",
                        summary(&out.text, &out.json)
                    ));
                    ExitCode::from(EXIT_OUTPUT_LOST)
                }
            }
        }
        Err(f) => {
            if as_json {
                let text = json!({ "error": { "code": f.code, "message": f.message } });
                let _ = write_stdout(&format!("{}\n", json_safe(&text.to_string())));
            } else {
                warn(&format!("error: {}", f.message));
            }
            ExitCode::from(f.status)
        }
    }
}

/// Characters a terminal acts on rather than shows: every control character but
/// newline and tab (C0, DEL, C1: ESC starts sequences that can retitle the window or,
/// with OSC 52, set the clipboard), and the bidirectional overrides and isolates,
/// which reorder what is shown.
fn acts_on_terminal(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// `text` with each such character written as `\u{…}`.
fn terminal_safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(acts_on_terminal) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if acts_on_terminal(c) {
            out.push_str(&format!("\\u{{{:04X}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// JSON text with the same characters escaped as `\uXXXX` (serde_json escapes C0
/// controls already; DEL, C1 and the bidirectional marks only occur inside strings,
/// where the escape means the same character).
fn json_safe(json: &str) -> Cow<'_, str> {
    if !json.chars().any(acts_on_terminal) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if acts_on_terminal(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Writes and flushes `text` to standard output.
fn write_stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// A line on standard error, made terminal-safe; a failure to write it is ignored
/// (there is nowhere left to say so).
pub(crate) fn warn(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{}", terminal_safe(line));
    let _ = err.flush();
}

/// What a saving command's result says it saved, for standard error when its output
/// could not be written: the first line of its text, and the key or file when the
/// result names one.
fn summary(text: &str, json: &serde_json::Value) -> String {
    let mut s = text
        .lines()
        .next()
        .unwrap_or("the command's changes")
        .to_owned();
    for field in ["key", "path"] {
        if let Some(v) = json.get(field).and_then(|v| v.as_str()) {
            if !s.contains(v) {
                s.push_str(&format!(" ({field}: {v})"));
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_are_escaped_newlines_and_tabs_kept() {
        assert_eq!(terminal_safe("a\tb\nc"), "a\tb\nc");
        assert_eq!(
            terminal_safe("ws\u{1b}]52;c;aGk=\u{7}-1"),
            "ws\\u{001B}]52;c;aGk=\\u{0007}-1"
        );
        assert_eq!(terminal_safe("x\u{9b}31m\u{7f}"), "x\\u{009B}31m\\u{007F}");
        assert_eq!(terminal_safe("evil\u{202e}gpj.exe"), "evil\\u{202E}gpj.exe");
        let json = serde_json::json!({ "m": "a\u{1b}b\u{9b}c\u{2066}" }).to_string();
        let safe = json_safe(&json);
        assert!(!safe.chars().any(acts_on_terminal), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["m"], "a\u{1b}b\u{9b}c\u{2066}");
    }
}
