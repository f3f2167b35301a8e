//! Keygen's timestamps (`YYYY-MM-DDTHH:MM:SS.mmmZ`) and its calendar TTL arithmetic.

use jiff::civil::{Date, DateTime};
use jiff::tz::Offset;
use jiff::{SignedDuration, Span, Timestamp};

use crate::error::FormatError;

/// Longest timestamp text accepted; RFC 3339 with nanoseconds and an offset is ~35 bytes.
const MAX_TIMESTAMP_LEN: usize = 64;

/// Formats `t` the way Keygen does: UTC, millisecond precision (truncated), `Z` suffix,
/// e.g. `2022-08-08T13:18:05.187Z`.
pub fn format_time(t: Timestamp) -> String {
    let dt = Offset::UTC.to_datetime(truncate_to_millis(t));
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.subsec_nanosecond() / 1_000_000
    )
}

/// Parses Keygen's timestamp format or any RFC 3339 timestamp with an offset.
pub fn parse_time(s: &str) -> Result<Timestamp, FormatError> {
    let bad = || {
        let shown: String = s.chars().take(MAX_TIMESTAMP_LEN).collect();
        FormatError::BadTimestamp(shown)
    };
    if s.len() > MAX_TIMESTAMP_LEN {
        return Err(bad());
    }
    s.parse::<Timestamp>().map_err(|_| bad())
}

/// Drops everything below the millisecond, rounding towards the past, as Keygen's
/// timestamps do.
pub(crate) fn truncate_to_millis(t: Timestamp) -> Timestamp {
    let dt = Offset::UTC.to_datetime(t);
    let extra = i64::from(dt.subsec_nanosecond() % 1_000_000);
    // Subtracting less than a millisecond only fails at Timestamp::MIN, which is
    // already whole milliseconds (extra == 0), so the fallback is never taken.
    t.checked_sub(SignedDuration::from_nanos(extra))
        .unwrap_or(t)
}

/// Seconds in each unit of `ActiveSupport::Duration::PARTS_IN_SECONDS`.
const YEAR: i64 = 31_556_952;
const MONTH: i64 = 2_629_746;
const WEEK: i64 = 604_800;
const DAY: i64 = 86_400;
// Hours, minutes and seconds are all plain seconds to `Time#since`: no need to split them.

/// The `meta.expiry` Keygen writes for a file issued at `issued` with `ttl_seconds`.
///
/// Keygen computes `issued + ActiveSupport::Duration.build(ttl)`: the TTL is split
/// greedily into years, months, weeks, days, hours, minutes and seconds, years and
/// months are then added as calendar units one after the other (the day clamped to
/// the month's end, like Ruby's `Date#>>`), weeks and days as calendar days, and the
/// rest as seconds. So 31536000 s is 11 months 4 weeks 2 days 4:39:54, not 365 days.
pub fn keygen_expiry(issued: Timestamp, ttl_seconds: i64) -> Result<Timestamp, FormatError> {
    let out_of_range = || FormatError::TtlOutOfRange(ttl_seconds);
    // ActiveSupport splits the absolute value and gives every part the sign.
    let sign = ttl_seconds.signum();
    let mut rest = ttl_seconds.unsigned_abs();
    let mut take = |unit: i64| {
        let unit = unit.unsigned_abs();
        let n = rest / unit;
        rest %= unit;
        // n <= i64::MAX / unit, so it fits.
        sign * n as i64
    };
    let (years, months, weeks, days) = (take(YEAR), take(MONTH), take(WEEK), take(DAY));
    let clock_seconds = sign * rest as i64;

    let start = Offset::UTC.to_datetime(issued);
    let mut date: Date = start.date();
    // Separate steps, as Ruby's Date#advance does: each one clamps on its own.
    let year_span = Span::new().try_years(years).map_err(|_| out_of_range())?;
    date = date.checked_add(year_span).map_err(|_| out_of_range())?;
    let month_span = Span::new().try_months(months).map_err(|_| out_of_range())?;
    date = date.checked_add(month_span).map_err(|_| out_of_range())?;
    let day_count = weeks
        .checked_mul(7)
        .and_then(|d| d.checked_add(days))
        .ok_or_else(out_of_range)?;
    let day_span = Span::new()
        .try_days(day_count)
        .map_err(|_| out_of_range())?;
    date = date.checked_add(day_span).map_err(|_| out_of_range())?;

    let advanced = Offset::UTC
        .to_timestamp(DateTime::from_parts(date, start.time()))
        .map_err(|_| out_of_range())?;
    advanced
        .checked_add(SignedDuration::from_secs(clock_seconds))
        .map_err(|_| out_of_range())
}

/// Serde adapter: a [`Timestamp`] as Keygen's `…mmmZ` text.
pub(crate) mod serde_keygen {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_time(*t))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_time(&s).map_err(serde::de::Error::custom)
    }
}

/// Serde adapter: an optional [`Timestamp`] as Keygen's `…mmmZ` text or `null`.
pub(crate) mod serde_keygen_opt {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&super::format_time(*t)),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Timestamp>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| super::parse_time(&s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_truncated_millis() {
        let t: Timestamp = "2022-08-08T13:18:05.187999Z".parse().unwrap();
        assert_eq!(format_time(t), "2022-08-08T13:18:05.187Z");
        let t: Timestamp = "2022-08-08T13:18:05Z".parse().unwrap();
        assert_eq!(format_time(t), "2022-08-08T13:18:05.000Z");
        let t: Timestamp = "1969-12-31T23:59:59.9999Z".parse().unwrap();
        assert_eq!(format_time(t), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn parses_keygen_and_rfc3339() {
        let a = parse_time("2022-08-08T13:18:05.187Z").unwrap();
        let b = parse_time("2022-08-08T15:18:05.187+02:00").unwrap();
        assert_eq!(a, b);
        assert!(matches!(
            parse_time("2022-08-08"),
            Err(FormatError::BadTimestamp(_))
        ));
        assert!(matches!(
            parse_time(&"9".repeat(100)),
            Err(FormatError::BadTimestamp(_))
        ));
    }

    #[test]
    fn year_ttl_clamps_like_ruby() {
        let issued = parse_time("2024-01-31T10:00:00.000Z").unwrap();
        // One month from Jan 31 2024 is Feb 29 2024.
        let e = keygen_expiry(issued, MONTH).unwrap();
        assert_eq!(format_time(e), "2024-02-29T10:00:00.000Z");
        // Feb 29 + 1 year clamps to Feb 28, then + 1 month is Mar 28 (not Mar 29).
        let leap = parse_time("2024-02-29T00:00:00.000Z").unwrap();
        let e = keygen_expiry(leap, YEAR + MONTH).unwrap();
        assert_eq!(format_time(e), "2025-03-28T00:00:00.000Z");
    }

    #[test]
    fn documented_365_day_example() {
        let issued = parse_time("2023-08-09T16:10:02.433Z").unwrap();
        let e = keygen_expiry(issued, 31_536_000).unwrap();
        assert_eq!(format_time(e), "2024-08-08T20:49:56.433Z");
    }

    #[test]
    fn huge_ttl_is_an_error_not_a_panic() {
        let issued = parse_time("2023-08-09T16:10:02.433Z").unwrap();
        assert_eq!(
            keygen_expiry(issued, i64::MAX),
            Err(FormatError::TtlOutOfRange(i64::MAX))
        );
        assert_eq!(
            keygen_expiry(issued, i64::MIN),
            Err(FormatError::TtlOutOfRange(i64::MIN))
        );
    }
}
