//! Issuing's SQL (table `licenses`), one statement for both engines. The license
//! search, which builds its SQL from the query, is [`super::search`].

use super::model::{License, LicenseStatus};
use crate::catalog::Policy;
use crate::error::Result;
use crate::store::db::{args, Db, Row};

/// A license with the names a list shows: 13 columns, read by [`license_row`].
pub(super) const SELECT: &str =
    "SELECT l.id, l.key, l.policy_id, p.name, pr.id, pr.name, l.customer_id, c.name, c.email,
            l.status, l.expiry, l.created_at, l.updated_at
     FROM licenses l
     JOIN policies p ON p.id = l.policy_id
     JOIN products pr ON pr.id = p.product_id
     LEFT JOIN customers c ON c.id = l.customer_id";

/// How many of a key's last characters `key_rtail` holds, reversed.
pub const KEY_RTAIL: usize = 64;

/// The `key_rtail` column of a license whose key is `key`: its last [`KEY_RTAIL`]
/// characters, last first. Unique (a signed key ends in its signature), so a whole key
/// is found through it, and an end typed by the user is a range of its index.
pub(crate) fn key_rtail(key: &str) -> String {
    key.chars().rev().take(KEY_RTAIL).collect()
}

/// SQL that license `l` has exactly the key in parameter `key`, whose [`key_rtail`] is
/// parameter `rtail`: one probe of the unique `licenses_key_rtail` index, then a
/// comparison of the whole key.
pub(super) fn key_is(key: &str, rtail: &str) -> String {
    format!("(l.key_rtail = {rtail} AND l.key = {key})")
}

/// [`SELECT`] with the number of active machines, as column `machines_count`.
fn select_counted() -> String {
    SELECT.replacen(
        " FROM licenses l",
        ", (SELECT count(*) FROM machines m WHERE m.license_id = l.id AND m.status = 'active')
            AS machines_count FROM licenses l",
        1,
    )
}

pub(super) fn license_row(r: &Row<'_>) -> Result<License> {
    let status: String = r.get(9)?;
    Ok(License {
        id: r.get(0)?,
        key: r.get(1)?,
        policy_id: r.get(2)?,
        policy_name: r.get(3)?,
        product_id: r.get(4)?,
        product_name: r.get(5)?,
        customer_id: r.get(6)?,
        customer_name: r.get(7)?,
        customer_email: r.get(8)?,
        status: LicenseStatus::parse(&status),
        expiry: r.get(10)?,
        created_at: r.get(11)?,
        updated_at: r.get(12)?,
        // Only the queries that count (SELECT_COUNTED) carry the column.
        machines_count: match r.column_index("machines_count") {
            Some(i) => Some(r.get(i)?),
            None => None,
        },
    })
}

/// Every license, newest first, with its active machines counted.
pub(super) fn list(db: Db<'_>) -> Result<Vec<License>> {
    db.query(
        &format!(
            "{} ORDER BY l.created_at DESC, l.seq DESC",
            select_counted()
        ),
        &[],
        license_row,
    )
}

/// The license whose id or key is `reference`, with its active machines counted.
pub(super) fn find(db: Db<'_>, reference: &str) -> Result<Option<License>> {
    // Cached: the activation server looks a license up on nearly every request.
    db.query_opt(
        &format!(
            "{} WHERE l.id = ?1 OR {}",
            select_counted(),
            key_is("?1", "?2")
        ),
        args![reference, key_rtail(reference)],
        license_row,
    )
}

/// Whether a license has exactly this key.
pub(super) fn key_taken(db: Db<'_>, key: &str) -> Result<bool> {
    Ok(db
        .query_opt(
            &format!("SELECT 1 FROM licenses l WHERE {}", key_is("?1", "?2")),
            args![key, key_rtail(key)],
            |_| Ok(()),
        )?
        .is_some())
}

/// A license row about to be stored.
pub(crate) struct LicenseRow<'a> {
    pub id: &'a str,
    pub key: &'a str,
    pub policy: &'a Policy,
    pub product: &'a crate::catalog::Product,
    pub customer_id: Option<&'a str>,
    /// The product's signing key row (for an unsigned key: the key its files use).
    pub signing_key_id: &'a str,
    /// The key id that signed the license key; `None` for an unsigned key.
    pub kid: Option<&'a str>,
    pub expiry: Option<&'a str>,
    /// JSON object text.
    pub metadata: &'a str,
    pub created: &'a str,
    /// (order id, position 1..quantity) for licenses issued from a batch.
    pub order: Option<(&'a str, i64)>,
    /// The customer sort key, when the caller knows it (a batch: see
    /// [`crate::customers::sort_key`]); `None` lets the store derive it.
    pub customer_sort: Option<&'a str>,
    /// Where a batch's audit row commits to this license: (its `seq`, this license's
    /// position among its leaves, the leaf hash).
    pub proof: Option<(i64, i64, &'a str)>,
}

/// Inserts an active license.
pub(super) fn insert(db: Db<'_>, row: &LicenseRow<'_>) -> Result<()> {
    db.execute(
        "INSERT INTO licenses (id, key, policy_id, customer_id, signing_key_id, status, expiry,
                               metadata, created_at, updated_at, order_id, order_seq,
                               key_rtail, customer_sort, proof_seq, proof_pos, proof_leaf)
         VALUES (?1, ?2, ?3, ?4, ?5, 'active', ?6, ?7, ?8, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        args![
            row.id,
            row.key,
            row.policy.id.as_str(),
            row.customer_id,
            row.signing_key_id,
            row.expiry,
            row.metadata,
            row.created,
            row.order.map(|o| o.0),
            row.order.map(|o| o.1),
            key_rtail(row.key),
            row.customer_sort,
            row.proof.map(|p| p.0),
            row.proof.map(|p| p.1),
            row.proof.map(|p| p.2),
        ],
    )?;
    Ok(())
}

/// `(metadata, updated_at)` of license `id`: what its document needs beyond the list row.
pub(super) fn document_facts(db: Db<'_>, id: &str) -> Result<(String, String)> {
    db.query_one(
        "SELECT metadata, updated_at FROM licenses WHERE id = ?1",
        args![id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// Moves license `id`'s expiry from `current` to `expiry` unless it is revoked or its
/// expiry changed meanwhile; returns how many rows changed (0 or 1).
pub(super) fn set_expiry(
    db: Db<'_>,
    id: &str,
    current: &str,
    expiry: &str,
    at: &str,
) -> Result<usize> {
    Ok(db.execute(
        "UPDATE licenses SET expiry = ?1, updated_at = ?2
         WHERE id = ?3 AND status <> 'revoked' AND expiry = ?4",
        args![expiry, at, id, current],
    )? as usize)
}

/// Changes license `id`'s status from `from` to `to` (guarded on the old status: a
/// concurrent change makes this 0 rows, not a silent overwrite).
pub(super) fn set_status(
    db: Db<'_>,
    id: &str,
    from: LicenseStatus,
    to: LicenseStatus,
    at: &str,
) -> Result<usize> {
    Ok(db.execute(
        "UPDATE licenses SET status = ?1, updated_at = ?2 WHERE id = ?3 AND status = ?4",
        args![to.as_str(), at, id, from.as_str()],
    )? as usize)
}

/// License `id`'s own entitlements, JSON text; `None` = it inherits its policy's.
pub(super) fn entitlements(db: Db<'_>, id: &str) -> Result<Option<String>> {
    db.query_one(
        "SELECT entitlements FROM licenses WHERE id = ?1",
        args![id],
        |r| r.get(0),
    )
}

/// Sets license `id`'s own entitlements (JSON text; `None` = inherit).
pub(super) fn set_entitlements(db: Db<'_>, id: &str, json: Option<&str>, at: &str) -> Result<()> {
    db.execute(
        "UPDATE licenses SET entitlements = ?2, updated_at = ?3 WHERE id = ?1",
        args![id, json, at],
    )?;
    Ok(())
}

/// The CSV export's columns of a license beyond the list row.
pub(super) struct ExportColumns {
    pub company: Option<String>,
    pub order_id: Option<String>,
    pub order_seq: Option<i64>,
    /// JSON object text.
    pub metadata: String,
}

/// [`ExportColumns`] of license `id`.
pub(super) fn export_columns(db: Db<'_>, id: &str) -> Result<ExportColumns> {
    db.query_one(
        "SELECT c.company, l.order_id, l.order_seq, l.metadata FROM licenses l
         LEFT JOIN customers c ON c.id = l.customer_id WHERE l.id = ?1",
        args![id],
        |r| {
            Ok(ExportColumns {
                company: r.get(0)?,
                order_id: r.get(1)?,
                order_seq: r.get(2)?,
                metadata: r.get(3)?,
            })
        },
    )
}

/// `(position, policy id, customer email)` of the licenses an order already has.
pub(super) fn order_licenses(
    db: Db<'_>,
    order_id: &str,
) -> Result<Vec<(i64, String, Option<String>)>> {
    db.query(
        "SELECT l.order_seq, l.policy_id, c.email FROM licenses l
         LEFT JOIN customers c ON c.id = l.customer_id
         WHERE l.order_id = ?1 ORDER BY l.order_seq",
        args![order_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
}

/// Whether position `seq` of order `order_id` was issued.
pub(super) fn order_position_taken(db: Db<'_>, order_id: &str, seq: i64) -> Result<bool> {
    Ok(db
        .query_opt(
            "SELECT 1 FROM licenses WHERE order_id = ?1 AND order_seq = ?2",
            args![order_id, seq],
            |_| Ok(()),
        )?
        .is_some())
}

/// The licenses of an order with what a license file needs: `(position, license,
/// metadata, updated_at)`.
pub(crate) fn order_documents(
    db: Db<'_>,
    order_id: &str,
) -> Result<Vec<(i64, License, String, String)>> {
    let sql = SELECT.replacen(
        " FROM licenses l",
        ", l.order_seq, l.metadata, l.updated_at FROM licenses l",
        1,
    ) + " WHERE l.order_id = ?1 ORDER BY l.order_seq";
    db.query(&sql, args![order_id], |r| {
        Ok((r.get(13)?, license_row(r)?, r.get(14)?, r.get(15)?))
    })
}

/// How many licenses the store holds.
pub(crate) fn count(db: Db<'_>) -> Result<u64> {
    Ok(db.query_one("SELECT count(*) FROM licenses", &[], |r| r.get::<i64>(0))? as u64)
}
