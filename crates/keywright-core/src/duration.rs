//! Durations as people type them (`30d`, `1y`, `3600s`), in Keygen's seconds.
//!
//! A number, then a unit, which is case-sensitive: `s`; `m` or `min` (minutes); `h`;
//! `d`; `w`; `mo` or `M` (months); `y`. A bare number is seconds; spaces between the
//! number and the unit are allowed. Anything else is refused (`1Mo`, `1MO`, `1D`,
//! `1mins`, `1.5d`), since a unit read the wrong way changes a license's life by orders
//! of magnitude: `1M` used to be read as one minute.
//!
//! A year and a month are ActiveSupport's (365.2425 and 30.436875 days), so `1y` is
//! 31556952 s, the value Keygen stores for a one-year policy.
//!
//! Every duration is at most [`MAX_DURATION`], 100 years: an expiry or a file's TTL is
//! computed from "now" with calendar arithmetic, and far beyond that it leaves the
//! calendar (jiff stops at the year 9999), so every license issued later would fail.

use crate::error::{Error, Result};

/// Keygen's (ActiveSupport's) month in seconds.
const MONTH: i64 = 2_629_746;
/// Keygen's (ActiveSupport's) year in seconds.
const YEAR: i64 = 31_556_952;

/// The longest duration accepted anywhere: 100 years (3,155,695,200 s).
pub const MAX_DURATION: i64 = 100 * YEAR;

const UNITS: &[(&str, i64)] = &[
    ("s", 1),
    ("m", 60),
    ("min", 60),
    ("h", 3_600),
    ("d", 86_400),
    ("w", 604_800),
    ("mo", MONTH),
    ("M", MONTH),
    ("y", YEAR),
];

const UNIT_LIST: &str = "s, m or min (minutes), h, d, w, mo or M (months), y";

fn too_long(text: &str) -> Error {
    Error::bad_input(format!(
        "duration {text:?} is longer than 100 years, the limit (100y = {MAX_DURATION}s)"
    ))
}

/// Parses `N<unit>` (see the module docs) into seconds, at most [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Result<i64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    if digits.is_empty() {
        return Err(Error::bad_input(format!(
            "duration {text:?} must start with a number, like 30d, 1y or 3600s"
        )));
    }
    let unit = unit.trim_start_matches(' ');
    let factor = if unit.is_empty() {
        1
    } else {
        match UNITS.iter().find(|(u, _)| *u == unit) {
            Some((_, f)) => *f,
            None => {
                // `1D`, `1MO`: say which unit was probably meant rather than guess.
                let hint = UNITS
                    .iter()
                    .find(|(u, _)| unit.to_ascii_lowercase() == *u)
                    .map(|(u, _)| format!(" (did you mean {digits}{u}?)"))
                    .unwrap_or_default();
                return Err(Error::bad_input(format!(
                    "duration {text:?} has an unknown unit {unit:?}{hint}; units are {UNIT_LIST}, \
                     and their case matters"
                )));
            }
        }
    };
    // More digits than an i64 holds is far beyond the limit too.
    let n: i64 = digits.parse().map_err(|_| too_long(text))?;
    let secs = n.checked_mul(factor).ok_or_else(|| too_long(text))?;
    if secs <= 0 {
        return Err(Error::bad_input(format!(
            "duration {text:?} must be longer than zero"
        )));
    }
    if secs > MAX_DURATION {
        return Err(too_long(text));
    }
    Ok(secs)
}

/// Parses an optional duration where empty or `none` means "no limit".
pub fn parse_optional_duration(text: Option<&str>) -> Result<Option<i64>> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if t.eq_ignore_ascii_case("none") || t.eq_ignore_ascii_case("never") => Ok(None),
        Some(t) => parse_duration(t).map(Some),
    }
}

/// Keygen's default license file TTL: one month.
pub const DEFAULT_FILE_TTL: i64 = MONTH;
/// Keygen's minimum license file TTL: one hour.
pub const MIN_FILE_TTL: i64 = 3_600;

/// Parses a file TTL: absent = Keygen's default, `none` = never expires, else ≥ 1 hour.
pub fn parse_file_ttl(text: Option<&str>) -> Result<Option<i64>> {
    let ttl = match text.map(str::trim) {
        None | Some("") => Some(DEFAULT_FILE_TTL),
        other => parse_optional_duration(other)
            .map_err(|e| Error::bad_input(format!("file TTL: {}", e.message)))?,
    };
    if let Some(t) = ttl {
        if t < MIN_FILE_TTL {
            return Err(Error::bad_input(format!(
                "file TTL: a license or machine file must live at least 1 hour (3600s); got {t}s"
            )));
        }
    }
    Ok(ttl)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn units() {
        for (text, secs) in [
            ("3600s", 3600),
            ("3600", 3600),
            ("90m", 5400),
            ("90min", 5400),
            ("90 min", 5400),
            ("12h", 43_200),
            ("30d", 2_592_000),
            (" 2w ", 1_209_600),
            ("1mo", MONTH),
            ("6mo", 6 * MONTH),
            ("1M", MONTH),
            ("1y", 31_556_952),
            ("100y", MAX_DURATION),
            ("1200mo", MAX_DURATION),
        ] {
            assert_eq!(parse_duration(text).unwrap(), secs, "{text}");
        }
    }

    #[test]
    fn rejects_bad_text() {
        for bad in [
            "",
            "d",
            "1x",
            "-1d",
            "+1d",
            "0d",
            "1.5d",
            "1Mo",
            "1MO",
            "1mO",
            "1mins",
            "1 minutes",
            "1D",
            "1Y",
            "2W",
            "1S",
            "1H",
            "1MIN",
            "1 y y",
            "1\ty",
        ] {
            let err = parse_duration(bad).unwrap_err();
            assert_eq!(err.code, ErrorCode::BadInput, "{bad}: {err}");
            assert!(!err.message.contains("100 years"), "{bad}: {err}");
        }
        assert!(parse_duration("1D")
            .unwrap_err()
            .message
            .contains("did you mean 1d?"));
        assert!(parse_duration("1MO")
            .unwrap_err()
            .message
            .contains("did you mean 1mo?"));
    }

    #[test]
    fn refuses_more_than_100_years() {
        for bad in [
            "101y",
            "8000y",
            "99999y",
            "1201mo",
            "5218w",
            "36525d",
            "3155695201",
            "9223372036854775807s",
            "9223372036854775807y",
            "99999999999999999999y",
        ] {
            let err = parse_duration(bad).unwrap_err();
            assert_eq!(err.code, ErrorCode::BadInput, "{bad}: {err}");
            assert!(
                err.message.contains("longer than 100 years"),
                "{bad}: {err}"
            );
        }
        assert!(parse_file_ttl(Some("101y"))
            .unwrap_err()
            .message
            .starts_with("file TTL: "));
    }

    #[test]
    fn file_ttl_rules() {
        assert_eq!(parse_file_ttl(None).unwrap(), Some(DEFAULT_FILE_TTL));
        assert_eq!(parse_file_ttl(Some("none")).unwrap(), None);
        assert_eq!(parse_file_ttl(Some("1h")).unwrap(), Some(3600));
        assert_eq!(
            parse_file_ttl(Some("59m")).unwrap_err().code,
            ErrorCode::BadInput
        );
    }
}
