//! The one rule for text that enters the store: no control characters.
//!
//! Names, codes, emails, URLs, machine details and the like are printed by the CLI,
//! `keywright server log` and the window; a terminal escape in one (ESC, CSI, OSC 52
//! that sets the clipboard, BEL...) would act on the vendor's terminal. So every entry
//! point refuses, with a message naming the field and the character:
//!
//! - [`check_line`]: one-line text (names, emails, companies, codes, URLs, hostnames,
//!   platforms, users, fingerprints, metadata keys, batch cells). Refuses every
//!   Unicode `Cc` character (C0 controls including line feed and tab, DEL, the C1
//!   controls U+0080–U+009F) and the bidirectional overrides and isolates
//!   (U+202A–U+202E, U+2066–U+2069), which make a name read differently from what it
//!   is.
//! - [`check_multiline`]: free text that is genuinely several lines (a product's support
//!   message, a key template, metadata string values). Line feed and tab are allowed;
//!   every other `Cc` character (carriage return included, which rewrites a terminal
//!   line) is refused. Bidirectional marks are allowed there: right-to-left prose needs
//!   them.
//!
//! Messages never quote the offending text: they name the character by code point.

use crate::error::{Error, Result};

/// C0 control names (U+0000–U+001F), as Unicode abbreviates them.
const C0: [&str; 32] = [
    "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "HT", "LF", "VT", "FF", "CR",
    "SO", "SI", "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB", "ESC",
    "FS", "GS", "RS", "US",
];

/// C1 control names (U+0080–U+009F).
const C1: [&str; 32] = [
    "PAD", "HOP", "BPH", "NBH", "IND", "NEL", "SSA", "ESA", "HTS", "HTJ", "VTS", "PLD", "PLU",
    "RI", "SS2", "SS3", "DCS", "PU1", "PU2", "STS", "CCH", "MW", "SPA", "EPA", "SOS", "SGC", "SCI",
    "CSI", "ST", "OSC", "PM", "APC",
];

/// The abbreviation of a bidirectional embedding, override or isolate, if `c` is one.
fn bidi_name(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{202a}' => "LRE",
        '\u{202b}' => "RLE",
        '\u{202c}' => "PDF",
        '\u{202d}' => "LRO",
        '\u{202e}' => "RLO",
        '\u{2066}' => "LRI",
        '\u{2067}' => "RLI",
        '\u{2068}' => "FSI",
        '\u{2069}' => "PDI",
        _ => return None,
    })
}

/// The abbreviation of a control character (`Cc`), if `c` is one.
fn control_name(c: char) -> Option<&'static str> {
    let n = c as usize;
    match n {
        0x00..=0x1f => Some(C0[n]),
        0x7f => Some("DEL"),
        0x80..=0x9f => Some(C1[n - 0x80]),
        _ => None,
    }
}

fn refuse(field: &str, what: &str, c: char, name: &str, at: usize, tail: &str) -> Error {
    Error::bad_input(format!(
        "{field} contains {what} (U+{:04X} {name}) at character {at}; remove it{tail}",
        c as u32
    ))
}

/// Refuses one-line text holding a control character or a bidirectional override or
/// isolate (see the module docs). `field` names the field in the message.
pub fn check_line(field: &str, text: &str) -> Result<()> {
    for (i, c) in text.chars().enumerate() {
        if let Some(name) = control_name(c) {
            return Err(refuse(field, "a control character", c, name, i + 1, ""));
        }
        if let Some(name) = bidi_name(c) {
            return Err(refuse(
                field,
                "a bidirectional control character",
                c,
                name,
                i + 1,
                "",
            ));
        }
    }
    Ok(())
}

/// Refuses multi-line text holding a control character other than line feed and tab
/// (see the module docs).
pub fn check_multiline(field: &str, text: &str) -> Result<()> {
    for (i, c) in text.chars().enumerate() {
        if c == '\n' || c == '\t' {
            continue;
        }
        if let Some(name) = control_name(c) {
            return Err(refuse(
                field,
                "a control character",
                c,
                name,
                i + 1,
                " (only line breaks and tabs are allowed)",
            ));
        }
    }
    Ok(())
}

/// [`check_line`] for optional text: trims it and drops it when empty.
pub(crate) fn line(field: &str, text: Option<&str>) -> Result<Option<String>> {
    let text = crate::clean(text);
    if let Some(t) = &text {
        check_line(field, t)?;
    }
    Ok(text)
}

/// [`check_multiline`] for optional text: trims it and drops it when empty.
pub(crate) fn multiline(field: &str, text: Option<&str>) -> Result<Option<String>> {
    let text = crate::clean(text);
    if let Some(t) = &text {
        check_multiline(field, t)?;
    }
    Ok(text)
}

/// Checks a JSON value's object keys ([`check_line`]) and string values
/// ([`check_multiline`]) at any depth. `path` names where it is (`metadata`).
pub(crate) fn check_json(path: &str, value: &serde_json::Value) -> Result<()> {
    use serde_json::Value;
    match value {
        Value::String(s) => check_multiline(path, s),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| check_json(&format!("{path}[{i}]"), v)),
        Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            check_line(&format!("{path} key"), k)?;
            check_json(&format!("{path}.{k}"), v)
        }),
        _ => Ok(()),
    }
}

/// `text` with every character [`check_line`] refuses replaced by U+FFFD: for text
/// kept only as a record of what a client sent (the server's request log), where
/// refusing would lose the record.
pub(crate) fn defuse_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if control_name(c).is_some() || bidi_name(c).is_some() {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn every_control_is_refused_in_a_line() {
        let mut refused = 0;
        for n in (0..=0x1f).chain(0x7f..=0x9f) {
            let c = char::from_u32(n).unwrap();
            let err = check_line("customer name", &format!("Ada{c}")).unwrap_err();
            assert_eq!(err.code, ErrorCode::BadInput);
            assert!(
                err.message.starts_with(&format!(
                    "customer name contains a control character (U+{n:04X} "
                )),
                "{err}"
            );
            assert!(err.message.contains("at character 4"), "{err}");
            assert!(!err.message.chars().any(char::is_control), "{err}");
            refused += 1;
        }
        assert_eq!(refused, 65);
        assert_eq!(
            check_line("customer name", "a\u{1b}]52;c;aGk=\u{7}")
                .unwrap_err()
                .message,
            "customer name contains a control character (U+001B ESC) at character 2; remove it"
        );
        for c in ['\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}'] {
            let err = check_line("customer email", &format!("{c}a@b.example")).unwrap_err();
            assert!(err.message.contains("bidirectional"), "{err}");
        }
    }

    #[test]
    fn ordinary_text_passes() {
        for ok in [
            "Ada Lovelace",
            "Zoë Ångström",
            "東京 株式会社",
            "مرحبا",
            "a\u{a0}b",
            "😀",
            "\u{200f}",
        ] {
            check_line("name", ok).unwrap();
            check_multiline("text", ok).unwrap();
        }
    }

    #[test]
    fn multiline_allows_line_feed_and_tab_only() {
        check_multiline("support message", "a\nb\tc \u{202e}x").unwrap();
        for c in [
            '\r', '\u{b}', '\u{c}', '\u{1b}', '\u{7f}', '\u{85}', '\u{9b}',
        ] {
            let err = check_multiline("support message", &format!("a{c}b")).unwrap_err();
            assert!(err.message.contains("only line breaks and tabs"), "{err}");
        }
    }

    #[test]
    fn json_is_checked_at_any_depth() {
        let ok = serde_json::json!({"a": ["x\ny", {"b": 1}], "c": null});
        check_json("metadata", &ok).unwrap();
        let bad = serde_json::json!({"a": [1, {"b": "x\u{1b}"}]});
        let err = check_json("metadata", &bad).unwrap_err();
        assert!(err.message.starts_with("metadata.a[1].b contains"), "{err}");
        let bad = serde_json::json!({"a": {"k\u{7}": 1}});
        let err = check_json("metadata", &bad).unwrap_err();
        assert!(err.message.starts_with("metadata.a key contains"), "{err}");
    }

    #[test]
    fn defused_text_has_no_controls() {
        assert_eq!(
            defuse_line("a\u{1b}]52\u{7}\u{202e}b"),
            "a\u{fffd}]52\u{fffd}\u{fffd}b"
        );
    }
}
