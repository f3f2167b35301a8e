//! The signing keys' SQL (table `signing_keys`).

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::model::{KeyAlgorithm, KeyStatus, SigningKey};
use crate::error::Result;

const COLUMNS: &str = "id, kid, name, algorithm, public_key, status, created_at";

/// A key row: the key's facts (its public key not yet decoded) and the stored bytes of
/// its public key.
pub(super) type KeyRow = (SigningKey, Vec<u8>);

fn from_row(r: &Row<'_>) -> rusqlite::Result<KeyRow> {
    let raw: Vec<u8> = r.get(4)?;
    let algorithm: String = r.get(3)?;
    let status: String = r.get(5)?;
    Ok((
        SigningKey {
            id: r.get(0)?,
            kid: r.get(1)?,
            name: r.get(2)?,
            algorithm: KeyAlgorithm::parse(&algorithm).unwrap_or(KeyAlgorithm::Ed25519),
            public_key_hex: String::new(),
            public_key_pem: String::new(),
            status: KeyStatus::parse(&status),
            created_at: r.get(6)?,
        },
        raw,
    ))
}

/// Inserts an active key.
pub(super) fn insert(
    conn: &Connection,
    id: &str,
    kid: &str,
    name: &str,
    algorithm: KeyAlgorithm,
    public_key: &[u8],
    created_at: &str,
) -> Result<()> {
    conn.execute(
        "INSERT INTO signing_keys (id, kid, name, algorithm, public_key, status, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'active', ?6)",
        params![id, kid, name, algorithm.as_str(), public_key, created_at],
    )?;
    Ok(())
}

/// Retires the key `id` if it is active; returns how many rows changed (0 or 1).
pub(super) fn retire(conn: &Connection, id: &str) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE signing_keys SET status = 'retired' WHERE id = ?1 AND status = 'active'",
        [id],
    )?)
}

/// Every key, newest first.
pub(super) fn list(conn: &Connection) -> Result<Vec<KeyRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM signing_keys ORDER BY created_at DESC, rowid DESC"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The key whose id or kid is `reference`.
pub(super) fn by_id_or_kid(conn: &Connection, reference: &str) -> Result<Option<KeyRow>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM signing_keys WHERE id = ?1 OR kid = ?1"),
            [reference],
            from_row,
        )
        .optional()?)
}

/// The keys named `name`.
pub(super) fn by_name(conn: &Connection, name: &str) -> Result<Vec<KeyRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM signing_keys WHERE name = ?1"
    ))?;
    let rows = stmt.query_map([name], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A key as stored, undecoded: what a backup checks each private key against.
pub(crate) struct StoredKey {
    pub kid: String,
    pub algorithm: String,
    pub public_key: Vec<u8>,
    pub status: String,
}

/// Every key as stored (see [`StoredKey`]).
pub(crate) fn stored_keys(conn: &Connection) -> Result<Vec<StoredKey>> {
    let mut stmt = conn.prepare("SELECT kid, algorithm, public_key, status FROM signing_keys")?;
    let rows = stmt.query_map([], |r| {
        Ok(StoredKey {
            kid: r.get(0)?,
            algorithm: r.get(1)?,
            public_key: r.get(2)?,
            status: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
