//! The dashboard's SQL (it reads `licenses`, `policies` and `products`), one statement
//! for both engines.

use std::collections::HashMap;

use super::ProductSummary;
use crate::error::Result;
use crate::store::db::{args, Db};

/// Every product, by name, with its licenses per state and those expiring after `now`
/// and up to `soon` (both as the store writes times).
pub(super) fn per_product(db: Db<'_>, now: &str, soon: &str) -> Result<Vec<ProductSummary>> {
    // Counts per (status, policy) come from the covering index `licenses_status_policy`
    // and the expiring ones from a range of `licenses_expiry` (the same expression),
    // so no license row is read except the few expiring soon; joining every
    // license to its policy and product read the whole table. (`CAST … AS BIGINT`:
    // PostgreSQL sums integers as NUMERIC.)
    db.query(
        "WITH counts AS MATERIALIZED (
             SELECT p.product_id, l.status, CAST(sum(l.n) AS BIGINT) AS n
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
                CAST(coalesce((SELECT sum(n) FROM counts WHERE product_id = pr.id), 0) AS BIGINT),
                coalesce((SELECT n FROM counts WHERE product_id = pr.id AND status = 'active'), 0),
                coalesce((SELECT n FROM counts WHERE product_id = pr.id AND status = 'suspended'), 0),
                coalesce((SELECT n FROM counts WHERE product_id = pr.id AND status = 'revoked'), 0),
                coalesce((SELECT n FROM soon WHERE product_id = pr.id), 0)
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
