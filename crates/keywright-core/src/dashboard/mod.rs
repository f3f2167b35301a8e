//! The dashboard's numbers: licenses and seats per product, licenses issued per day
//! and week, machines activated per day, what needs attention, and the newest audit
//! events.

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
    /// Machines active now on its licenses that are not revoked.
    #[ts(type = "number")]
    pub seats_used: i64,
    /// The seats its active licenses allow, summed over those whose policy sets a
    /// machine limit (a node-locked license allows one).
    #[ts(type = "number")]
    pub seats_limit: i64,
    /// Its active licenses whose policy sets no machine limit (their seats are not in
    /// `seats_limit`).
    #[ts(type = "number")]
    pub unlimited: i64,
}

/// What needs someone's attention.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Attention {
    /// Licenses past their expiry, not revoked, that still have active machines.
    #[ts(type = "number")]
    pub expired_with_machines: i64,
    /// Suspended licenses that still have active machines.
    #[ts(type = "number")]
    pub suspended_with_machines: i64,
    /// Licenses, not revoked, expiring within the next 7 days.
    #[ts(type = "number")]
    pub expiring_7d: i64,
    /// Products no policy belongs to yet: nothing can be issued for them.
    pub products_without_policy: Vec<String>,
    /// The newest audit row, when this computer's clock is behind it: signing is
    /// refused until the clock is right or accepted (Audit log).
    pub clock_behind: Option<crate::audit::clock::ClockRow>,
    /// Active keys whose scheduled retirement comes within 30 days (or has come: they
    /// no longer sign), soonest first.
    pub keys_retiring: Vec<RetiringKey>,
}

/// A signing key whose scheduled retirement is near or past.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RetiringKey {
    /// The key's row id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its key id.
    pub kid: String,
    /// When it retires (RFC 3339, UTC).
    pub retire_at: String,
    /// Whether that time has come (it no longer signs).
    pub retired: bool,
    /// Codes of the products that still sign with it: each needs another key first.
    pub products: Vec<String>,
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
    /// Machines activated per day over the last 30 days (UTC), oldest first, today
    /// last; machines deactivated since still count on the day they were activated.
    pub activations_per_day: Vec<DayCount>,
    /// What needs attention.
    pub attention: Attention,
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
    /// Licenses and seats per product, licenses issued per day over the last 30 days
    /// and per week over the last 12 (UTC), machines activated per day, what needs
    /// attention, and the 10 newest audit events.
    pub fn dashboard(&self, now: Timestamp) -> Result<Dashboard> {
        let db = self.store.db();
        let soon = now
            .checked_add(SignedDuration::from_hours(30 * 24))
            .map_err(|_| Error::bad_input("the clock is too far in the future"))?;
        let per_product = sql::per_product(db, &stamp(now), &stamp(soon))?;
        let has_policy = sql::products_with_policies(db)?;

        let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
        let first = today
            .checked_sub((DAYS - 1).days())
            .map_err(|_| Error::bad_input("the clock is too far in the past"))?;
        let per_day = |counts: std::collections::HashMap<String, i64>| -> Vec<DayCount> {
            first
                .series(1.day())
                .take(DAYS as usize)
                .map(|d| {
                    let day = d.to_string();
                    DayCount {
                        count: counts.get(&day).copied().unwrap_or(0),
                        day,
                    }
                })
                .collect()
        };
        let issued_per_day = per_day(sql::issued_per_day_since(db, &first.to_string())?);
        let activations_per_day = per_day(sql::activated_per_day_since(db, &first.to_string())?);

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

        let week = now
            .checked_add(SignedDuration::from_hours(7 * 24))
            .map_err(|_| Error::bad_input("the clock is too far in the future"))?;
        let attention = Attention {
            expired_with_machines: sql::expired_with_machines(db, &stamp(now))?,
            suspended_with_machines: sql::suspended_with_machines(db)?,
            expiring_7d: sql::expiring_between(db, &stamp(now), &stamp(week))?,
            products_without_policy: per_product
                .iter()
                .filter(|p| p.issued == 0)
                .map(|p| p.product_id.clone())
                .filter(|id| !has_policy.contains(id))
                .collect(),
            clock_behind: self.clock_behind(now)?,
            keys_retiring: crate::keys::sql::retiring_before(db, &stamp(soon))?
                .into_iter()
                .map(|(id, name, kid, retire_at)| {
                    Ok(RetiringKey {
                        products: crate::catalog::sql::codes_signed_by(db, &id)?,
                        retired: retire_at <= stamp(now),
                        id,
                        name,
                        kid,
                        retire_at,
                    })
                })
                .collect::<Result<_>>()?,
        };

        let recent = self.newest_audit(10)?;
        let recent_names = self.audit_names(&recent)?;
        Ok(Dashboard {
            per_product,
            issued_per_day,
            issued_per_week,
            activations_per_day,
            attention,
            recent,
            recent_names,
        })
    }
}
