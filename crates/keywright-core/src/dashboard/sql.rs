//! The dashboard's SQL (it reads `licenses`, `policies`, `products` and `machines`),
//! one statement for both engines.

use std::collections::HashMap;

use super::ProductSummary;
use crate::error::Result;
use crate::store::db::{args, Db};

/// Every product, by name, with its licenses per state, those expiring after `now`
/// and up to `soon` (both as the store writes times), and its seats: used (active
/// machines of licenses not revoked, summed from each license's `active_machines`)
/// and allowed (active licenses per policy times the policy's limit).
pub(super) fn per_product(db: Db<'_>, now: &str, soon: &str) -> Result<Vec<ProductSummary>> {
    // Counts and machines per (status, policy) come from the covering index
    // `licenses_status_policy`, read once for the counts and the seats used and
    // allowed, and the expiring ones from a range of `licenses_expiry` (the same
    // expression), so no license row is read except the few expiring soon; joining
    // every license to its policy and product read the whole table. (`CAST … AS BIGINT`:
    // PostgreSQL sums integers as NUMERIC.)
    db.query(
        "WITH per_policy AS MATERIALIZED (
             SELECT status, policy_id, count(*) AS n, sum(active_machines) AS machines
             FROM licenses GROUP BY status, policy_id),
         counts AS MATERIALIZED (
             SELECT p.product_id, l.status, CAST(sum(l.n) AS BIGINT) AS n
             FROM per_policy l
             JOIN policies p ON p.id = l.policy_id
             GROUP BY p.product_id, l.status),
         soon AS MATERIALIZED (
             SELECT p.product_id, count(*) AS n
             FROM licenses l JOIN policies p ON p.id = l.policy_id
             WHERE coalesce(l.expiry, '~') > ?1 AND coalesce(l.expiry, '~') <= ?2
               AND l.status <> 'revoked'
             GROUP BY p.product_id),
         seats AS MATERIALIZED (
             SELECT p.product_id,
                    CAST(sum(CASE WHEN p.floating = 0 THEN l.n
                                  WHEN p.max_machines IS NOT NULL THEN l.n * p.max_machines
                                  ELSE 0 END) AS BIGINT) AS seats_limit,
                    CAST(sum(CASE WHEN p.floating <> 0 AND p.max_machines IS NULL THEN l.n
                                  ELSE 0 END) AS BIGINT) AS unlimited
             FROM per_policy l
             JOIN policies p ON p.id = l.policy_id
             WHERE l.status = 'active'
             GROUP BY p.product_id),
         used AS MATERIALIZED (
             SELECT p.product_id, CAST(sum(l.machines) AS BIGINT) AS n
             FROM per_policy l
             JOIN policies p ON p.id = l.policy_id
             WHERE l.status <> 'revoked'
             GROUP BY p.product_id)
         SELECT pr.id, pr.name,
                CAST(coalesce((SELECT sum(n) FROM counts WHERE product_id = pr.id), 0) AS BIGINT),
                coalesce((SELECT n FROM counts WHERE product_id = pr.id AND status = 'active'), 0),
                coalesce((SELECT n FROM counts WHERE product_id = pr.id AND status = 'suspended'), 0),
                coalesce((SELECT n FROM counts WHERE product_id = pr.id AND status = 'revoked'), 0),
                coalesce((SELECT n FROM soon WHERE product_id = pr.id), 0),
                coalesce((SELECT n FROM used WHERE product_id = pr.id), 0),
                coalesce((SELECT seats_limit FROM seats WHERE product_id = pr.id), 0),
                coalesce((SELECT unlimited FROM seats WHERE product_id = pr.id), 0)
         FROM products pr
         ORDER BY lower(pr.name), pr.id",
        args![now, soon],
        |r| {
            Ok(ProductSummary {
                product_id: r.get(0)?,
                product_name: r.get(1)?,
                issued: r.get(2)?,
                active: r.get(3)?,
                suspended: r.get(4)?,
                revoked: r.get(5)?,
                expiring_30d: r.get(6)?,
                seats_used: r.get(7)?,
                seats_limit: r.get(8)?,
                unlimited: r.get(9)?,
            })
        },
    )
}

/// Licenses issued per day (`YYYY-MM-DD`, UTC) from day `first` on.
pub(super) fn issued_per_day_since(db: Db<'_>, first: &str) -> Result<HashMap<String, i64>> {
    Ok(db
        .query(
            "SELECT substr(created_at, 1, 10), count(*) FROM licenses
             WHERE created_at >= ?1 GROUP BY substr(created_at, 1, 10)",
            args![first],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?
        .into_iter()
        .collect())
}

/// Machines activated per day (`YYYY-MM-DD`, UTC) from day `first` on (a range of
/// `machines_activated`).
pub(super) fn activated_per_day_since(db: Db<'_>, first: &str) -> Result<HashMap<String, i64>> {
    Ok(db
        .query(
            "SELECT substr(activated_at, 1, 10), count(*) FROM machines
             WHERE activated_at >= ?1 GROUP BY substr(activated_at, 1, 10)",
            args![first],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?
        .into_iter()
        .collect())
}

/// Licenses past their expiry at `now`, not revoked, with an active machine: two
/// ranges of the partial index `licenses_on_machines`.
pub(super) fn expired_with_machines(db: Db<'_>, now: &str) -> Result<i64> {
    db.query_one(
        "SELECT count(*) FROM licenses
         WHERE active_machines > 0 AND status IN ('active', 'suspended')
           AND coalesce(expiry, '~') <= ?1",
        args![now],
        |r| r.get(0),
    )
}

/// Suspended licenses with an active machine (a range of `licenses_on_machines`).
pub(super) fn suspended_with_machines(db: Db<'_>) -> Result<i64> {
    db.query_one(
        "SELECT count(*) FROM licenses
         WHERE active_machines > 0 AND status = 'suspended'",
        args![],
        |r| r.get(0),
    )
}

/// Licenses, not revoked, expiring after `now` and up to `until`.
pub(super) fn expiring_between(db: Db<'_>, now: &str, until: &str) -> Result<i64> {
    db.query_one(
        "SELECT count(*) FROM licenses
         WHERE coalesce(expiry, '~') > ?1 AND coalesce(expiry, '~') <= ?2
           AND status <> 'revoked'",
        args![now, until],
        |r| r.get(0),
    )
}

/// The products at least one policy belongs to.
pub(super) fn products_with_policies(db: Db<'_>) -> Result<std::collections::HashSet<String>> {
    Ok(db
        .query("SELECT DISTINCT product_id FROM policies", args![], |r| {
            r.get(0)
        })?
        .into_iter()
        .collect())
}
