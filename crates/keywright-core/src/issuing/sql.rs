//! Issuing's SQL (table `licenses`). The license search, which builds its SQL from the
//! query, is [`super::search`].

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::model::{License, LicenseStatus};
use crate::catalog::Policy;
use crate::error::Result;

/// A license with the names a list shows: 13 columns, read by [`license_row`].
pub(super) const SELECT: &str =
    "SELECT l.id, l.key, l.policy_id, p.name, pr.id, pr.name, l.customer_id, c.name, c.email,
            l.status, l.expiry, l.created_at, l.updated_at
     FROM licenses l
     JOIN policies p ON p.id = l.policy_id
     JOIN products pr ON pr.id = p.product_id
     LEFT JOIN customers c ON c.id = l.customer_id";

/// SQL that license `l` has exactly the key in parameter `param`. Keys are indexed by
/// their last 64 characters (`licenses_key_tail`, unique), so the lookup goes through
/// that index and then compares the whole key.
pub(super) fn key_is(param: &str) -> String {
    format!("(substr(l.key, -64) = substr({param}, -64) AND l.key = {param})")
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

pub(super) fn license_row(r: &Row<'_>) -> rusqlite::Result<License> {
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
        machines_count: match r.as_ref().column_index("machines_count") {
            Ok(i) => Some(r.get(i)?),
            Err(_) => None,
        },
    })
}

/// Every license, newest first, with its active machines counted.
pub(super) fn list(conn: &Connection) -> Result<Vec<License>> {
    let mut stmt = conn.prepare(&format!(
        "{} ORDER BY l.created_at DESC, l.rowid DESC",
        select_counted()
    ))?;
    let rows = stmt.query_map([], license_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The license whose id or key is `reference`, with its active machines counted.
pub(super) fn find(conn: &Connection, reference: &str) -> Result<Option<License>> {
    // Cached: the activation server looks a license up on nearly every request.
    Ok(conn
        .prepare_cached(&format!(
            "{} WHERE l.id = ?1 OR {}",
            select_counted(),
            key_is("?1")
        ))?
        .query_row([reference], license_row)
        .optional()?)
}

/// Whether a license has exactly this key.
pub(super) fn key_taken(conn: &Connection, key: &str) -> Result<bool> {
    let taken: Option<i64> = conn
        .query_row(
            &format!("SELECT 1 FROM licenses l WHERE {}", key_is("?1")),
            [key],
            |r| r.get(0),
        )
        .optional()?;
    Ok(taken.is_some())
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
}

/// Inserts an active license.
pub(super) fn insert(conn: &Connection, row: &LicenseRow<'_>) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO licenses (id, key, policy_id, customer_id, signing_key_id, status, expiry,
                               metadata, created_at, updated_at, order_id, order_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, 'active', ?6, ?7, ?8, ?8, ?9, ?10)",
    )?
    .execute(params![
        row.id,
        row.key,
        row.policy.id,
        row.customer_id,
        row.signing_key_id,
        row.expiry,
        row.metadata,
        row.created,
        row.order.map(|o| o.0),
        row.order.map(|o| o.1),
    ])?;
    Ok(())
}

/// `(metadata, updated_at)` of license `id`: what its document needs beyond the list row.
pub(super) fn document_facts(conn: &Connection, id: &str) -> Result<(String, String)> {
    Ok(conn
        .prepare_cached("SELECT metadata, updated_at FROM licenses WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

/// Moves license `id`'s expiry from `current` to `expiry` unless it is revoked or its
/// expiry changed meanwhile; returns how many rows changed (0 or 1).
pub(super) fn set_expiry(
    conn: &Connection,
    id: &str,
    current: &str,
    expiry: &str,
    at: &str,
) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE licenses SET expiry = ?1, updated_at = ?2
         WHERE id = ?3 AND status <> 'revoked' AND expiry = ?4",
        params![expiry, at, id, current],
    )?)
}

/// Changes license `id`'s status from `from` to `to` (guarded on the old status: a
/// concurrent change makes this 0 rows, not a silent overwrite).
pub(super) fn set_status(
    conn: &Connection,
    id: &str,
    from: LicenseStatus,
    to: LicenseStatus,
    at: &str,
) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE licenses SET status = ?1, updated_at = ?2 WHERE id = ?3 AND status = ?4",
        params![to.as_str(), at, id, from.as_str()],
    )?)
}

/// License `id`'s own entitlements, JSON text; `None` = it inherits its policy's.
pub(super) fn entitlements(conn: &Connection, id: &str) -> Result<Option<String>> {
    Ok(conn.query_row(
        "SELECT entitlements FROM licenses WHERE id = ?1",
        [id],
        |r| r.get(0),
    )?)
}

/// Sets license `id`'s own entitlements (JSON text; `None` = inherit).
pub(super) fn set_entitlements(
    conn: &Connection,
    id: &str,
    json: Option<&str>,
    at: &str,
) -> Result<()> {
    conn.execute(
        "UPDATE licenses SET entitlements = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, json, at],
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
pub(super) fn export_columns(conn: &Connection, id: &str) -> Result<ExportColumns> {
    Ok(conn
        .prepare_cached(
            "SELECT c.company, l.order_id, l.order_seq, l.metadata FROM licenses l
             LEFT JOIN customers c ON c.id = l.customer_id WHERE l.id = ?1",
        )?
        .query_row([id], |r| {
            Ok(ExportColumns {
                company: r.get(0)?,
                order_id: r.get(1)?,
                order_seq: r.get(2)?,
                metadata: r.get(3)?,
            })
        })?)
}

/// `(position, policy id, customer email)` of the licenses an order already has.
pub(super) fn order_licenses(
    conn: &Connection,
    order_id: &str,
) -> Result<Vec<(i64, String, Option<String>)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT l.order_seq, l.policy_id, c.email FROM licenses l
         LEFT JOIN customers c ON c.id = l.customer_id
         WHERE l.order_id = ?1 ORDER BY l.order_seq",
    )?;
    let rows = stmt.query_map([order_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Whether position `seq` of order `order_id` was issued.
pub(super) fn order_position_taken(conn: &Connection, order_id: &str, seq: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM licenses WHERE order_id = ?1 AND order_seq = ?2")?
        .exists(params![order_id, seq])?)
}

/// The licenses of an order with what a license file needs: `(position, license,
/// metadata, updated_at)`.
pub(super) fn order_documents(
    conn: &Connection,
    order_id: &str,
) -> Result<Vec<(i64, License, String, String)>> {
    let sql = SELECT.replacen(
        " FROM licenses l",
        ", l.order_seq, l.metadata, l.updated_at FROM licenses l",
        1,
    ) + " WHERE l.order_id = ?1 ORDER BY l.order_seq";
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([order_id], |r| {
        Ok((r.get(13)?, license_row(r)?, r.get(14)?, r.get(15)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// How many licenses the store holds.
pub(crate) fn count(conn: &Connection) -> Result<u64> {
    Ok(conn.query_row("SELECT count(*) FROM licenses", [], |r| r.get::<_, i64>(0))? as u64)
}
