//! Writing results: one place for standard output and standard error, so that a
//! closed pipe or a full disk is an answer (see the exit statuses), never a panic,
//! and so that text from the store (a machine name sent by any client, written by an
//! older version) cannot drive the terminal.

use std::borrow::Cow;
use std::io::Write;

/// Characters a terminal acts on rather than shows: every control character but
/// newline and tab (C0, DEL, C1: ESC starts sequences that can retitle the window or,
/// with OSC 52, set the clipboard), and the bidirectional overrides and isolates,
/// which reorder what is shown.
fn acts_on_terminal(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// `text` with each such character written as `\u{…}`.
pub(crate) fn terminal_safe(text: &str) -> Cow<'_, str> {
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
pub(crate) fn json_safe(json: &str) -> Cow<'_, str> {
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
pub(crate) fn write_stdout(text: &str) -> std::io::Result<()> {
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
pub(crate) fn summary(text: &str, json: &serde_json::Value) -> String {
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
