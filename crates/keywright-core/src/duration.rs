//! Durations as people type them (`30d`, `1y`, `3600s`), in Keygen's seconds.
//!
//! A year and a month are ActiveSupport's (365.2425 and 30.436875 days), so `1y` is
//! 31556952 s, the value Keygen stores for a one-year policy.

use crate::error::{Error, Result};

const UNITS: &[(&str, i64)] = &[
    ("s", 1),
    ("m", 60),
    ("h", 3_600),
    ("d", 86_400),
    ("w", 604_800),
    ("mo", 2_629_746),
    ("y", 31_556_952),
];

/// Parses `N<unit>` (units s, m, h, d, w, mo, y) into seconds. A bare number is seconds.
pub fn parse_duration(text: &str) -> Result<i64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    if digits.is_empty() {
        return Err(Error::bad_input(format!(
            "duration {text:?} must start with a number, like 30d, 1y or 3600s"
        )));
    }
    let n: i64 = digits
        .parse()
        .map_err(|_| Error::bad_input(format!("duration {text:?} is too large")))?;
    let unit = unit.trim().to_ascii_lowercase();
    let factor = if unit.is_empty() {
        1
    } else {
        UNITS
            .iter()
            .find(|(u, _)| *u == unit)
            .map(|(_, f)| *f)
            .ok_or_else(|| {
                Error::bad_input(format!(
                    "duration {text:?} has an unknown unit {unit:?}; use s, m, h, d, w, mo or y"
                ))
            })?
    };
    let secs = n
        .checked_mul(factor)
        .ok_or_else(|| Error::bad_input(format!("duration {text:?} is too large")))?;
    if secs <= 0 {
        return Err(Error::bad_input(format!(
            "duration {text:?} must be longer than zero"
        )));
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
pub const DEFAULT_FILE_TTL: i64 = 2_629_746;
/// Keygen's minimum license file TTL: one hour.
pub const MIN_FILE_TTL: i64 = 3_600;

/// Parses a file TTL: absent = Keygen's default, `none` = never expires, else ≥ 1 hour.
pub fn parse_file_ttl(text: Option<&str>) -> Result<Option<i64>> {
    let ttl = match text.map(str::trim) {
        None | Some("") => Some(DEFAULT_FILE_TTL),
        other => parse_optional_duration(other)?,
    };
    if let Some(t) = ttl {
        if t < MIN_FILE_TTL {
            return Err(Error::bad_input(format!(
                "a license file TTL must be at least 1 hour (3600s); got {t}s"
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
        assert_eq!(parse_duration("3600s").unwrap(), 3600);
        assert_eq!(parse_duration("3600").unwrap(), 3600);
        assert_eq!(parse_duration("30d").unwrap(), 2_592_000);
        assert_eq!(parse_duration("1y").unwrap(), 31_556_952);
        assert_eq!(parse_duration("1mo").unwrap(), 2_629_746);
        assert_eq!(parse_duration(" 2W ").unwrap(), 1_209_600);
    }

    #[test]
    fn rejects_bad_text() {
        for bad in ["", "d", "1x", "-1d", "0d", "99999999999999999999y", "1.5d"] {
            let err = parse_duration(bad).unwrap_err();
            assert_eq!(err.code, ErrorCode::BadInput, "{bad}: {err}");
        }
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
