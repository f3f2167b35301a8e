//! The dashboard's numbers, in three queries: licenses per product and state,
//! licenses issued per day, and the newest audit events.

mod sql;

use jiff::{SignedDuration, Timestamp, ToSpan};
use serde::Serialize;
use ts_rs::TS;

use crate::error::{Error, Result};
use crate::{stamp, Keywright};

/// One product's licenses, by state.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProductSummary {
    /// The product.
    pub product_id: String,
    /// Its name.
    pub product_name: String,
    /// Licenses ever issued.
    #[ts(type = "number")]
    pub issued: i64,
    /// Active now.
    #[ts(type = "number")]
    pub active: i64,
    /// Suspended now.
    #[ts(type = "number")]
    pub suspended: i64,
    /// Revoked.
    #[ts(type = "number")]
    pub revoked: i64,
    /// Not revoked, not yet expired, expiring within 30 days.
    #[ts(type = "number")]
    pub expiring_30d: i64,
}

/// How many licenses were issued on one day (UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DayCount {
    /// The day, `YYYY-MM-DD`.
    pub day: String,
    /// Licenses issued that day.
    #[ts(type = "number")]
    pub count: i64,
}

/// The first screen: counts per product, recent issuing, recent events.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    /// Every product, by name.
    pub per_product: Vec<ProductSummary>,
    /// The last 30 days, oldest first, today last; days without issues count 0.
    pub issued_per_day: Vec<DayCount>,
    /// The last 12 weeks (UTC, Monday to Sunday), oldest first, this week last; `day`
    /// is the week's Monday.
    pub issued_per_week: Vec<DayCount>,
    /// The 10 newest audit events.
    pub recent: Vec<crate::audit::AuditEvent>,
    /// Who and what each of them concerns, by name, in the same order.
    pub recent_names: Vec<crate::audit::SubjectNames>,
}

/// Days in the issuing chart, today included.
const DAYS: i64 = 30;
/// Weeks in the weekly issuing chart, this week included.
const WEEKS: i64 = 12;

impl Keywright {
    /// Licenses per product and state, licenses issued per day over the last 30 days
    /// (UTC), and the 10 newest audit events.
    pub fn dashboard(&self, now: Timestamp) -> Result<Dashboard> {
        let db = self.store.db();
        let soon = now
            .checked_add(SignedDuration::from_hours(30 * 24))
            .map_err(|_| Error::bad_input("the clock is too far in the future"))?;
        let per_product = sql::per_product(db, &stamp(now), &stamp(soon))?;

        let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
        let first = today
            .checked_sub((DAYS - 1).days())
            .map_err(|_| Error::bad_input("the clock is too far in the past"))?;
        let counts = sql::issued_per_day_since(db, &first.to_string())?;
        let issued_per_day = first
            .series(1.day())
            .take(DAYS as usize)
            .map(|d| {
                let day = d.to_string();
                DayCount {
                    count: counts.get(&day).copied().unwrap_or(0),
                    day,
                }
            })
            .collect();

        // Weeks start on Monday; the same per-day count (by its index on the issue
        // time), from the first week's Monday on, summed per week.
        let monday = today
            .checked_sub((i64::from(today.weekday().to_monday_zero_offset())).days())
            .and_then(|d| d.checked_sub(((WEEKS - 1) * 7).days()))
            .map_err(|_| Error::bad_input("the clock is too far in the past"))?;
        let weekly = sql::issued_per_day_since(db, &monday.to_string())?;
        let issued_per_week = monday
            .series(1.week())
            .take(WEEKS as usize)
            .map(|start| {
                let count = start
                    .series(1.day())
                    .take(7)
                    .map(|d| weekly.get(&d.to_string()).copied().unwrap_or(0))
                    .sum();
                DayCount {
                    day: start.to_string(),
                    count,
                }
            })
            .collect();

        let recent = self.newest_audit(10)?;
        let recent_names = self.audit_names(&recent)?;
        Ok(Dashboard {
            per_product,
            issued_per_day,
            issued_per_week,
            recent,
            recent_names,
        })
    }
}
