//! The dashboard's numbers, in three queries.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp, ToSpan};

use crate::audit::{self, AuditQuery};
use crate::error::{Error, Result};
use crate::model::{Dashboard, DayCount, ProductSummary};
use crate::{stamp, Keywright};

/// Days in the issuing chart, today included.
const DAYS: i64 = 30;

impl Keywright {
    /// Licenses per product and state, licenses issued per day over the last 30 days
    /// (UTC), and the 10 newest audit events.
    pub fn dashboard(&self, now: Timestamp) -> Result<Dashboard> {
        let conn = self.store.conn();
        let soon = now
            .checked_add(SignedDuration::from_hours(30 * 24))
            .map_err(|_| Error::bad_input("the clock is too far in the future"))?;
        // Counts per (status, policy) come from the covering index `licenses_status_policy`
        // and the expiring ones from a range of `licenses_expiry` (the same expression),
        // so no license row is read except the few expiring soon; joining every
        // license to its policy and product read the whole table.
        let mut stmt = conn.prepare(
            "WITH counts AS MATERIALIZED (
                 SELECT p.product_id, l.status, sum(l.n) AS n
                 FROM (SELECT status, policy_id, count(*) AS n FROM licenses
                       GROUP BY status, policy_id) l
                 JOIN policies p ON p.id = l.policy_id
                 GROUP BY p.product_id, l.status),
             soon AS MATERIALIZED (
                 SELECT p.product_id, count(*) AS n
                 FROM licenses l JOIN policies p ON p.id = l.policy_id
                 WHERE coalesce(l.expiry, '~') > ?1 AND coalesce(l.expiry, '~') <= ?2
                   AND l.status <> 'revoked'
                 GROUP BY p.product_id)
             SELECT pr.id, pr.name,
                    coalesce((SELECT sum(n) FROM counts WHERE product_id = pr.id), 0),
                    coalesce((SELECT n FROM counts WHERE product_id = pr.id AND status = 'active'), 0),
                    coalesce((SELECT n FROM counts WHERE product_id = pr.id AND status = 'suspended'), 0),
                    coalesce((SELECT n FROM counts WHERE product_id = pr.id AND status = 'revoked'), 0),
                    coalesce((SELECT n FROM soon WHERE product_id = pr.id), 0)
             FROM products pr
             ORDER BY pr.name COLLATE NOCASE, pr.id",
        )?;
        let per_product = stmt
            .query_map([stamp(now), stamp(soon)], |r| {
                Ok(ProductSummary {
                    product_id: r.get(0)?,
                    product_name: r.get(1)?,
                    issued: r.get(2)?,
                    active: r.get(3)?,
                    suspended: r.get(4)?,
                    revoked: r.get(5)?,
                    expiring_30d: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;

        let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
        let first = today
            .checked_sub((DAYS - 1).days())
            .map_err(|_| Error::bad_input("the clock is too far in the past"))?;
        let mut stmt = conn.prepare(
            "SELECT substr(created_at, 1, 10), count(*) FROM licenses
             WHERE created_at >= ?1 GROUP BY 1",
        )?;
        let counts: HashMap<String, i64> = stmt
            .query_map([first.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
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

        let recent = audit::query(conn, &AuditQuery::default(), Some(10))?;
        Ok(Dashboard {
            per_product,
            issued_per_day,
            recent,
        })
    }
}
