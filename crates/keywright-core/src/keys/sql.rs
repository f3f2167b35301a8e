//! The signing keys' SQL (table `signing_keys`), one statement for both engines.

use super::model::{KeyAlgorithm, KeyStatus, SigningKey};
use crate::error::Result;
use crate::store::db::{args, Db, Row};

const COLUMNS: &str = "id, kid, name, algorithm, public_key, status, created_at, retire_at";

/// A key row: the key's facts (its public key not yet decoded) and the stored bytes of
/// its public key.
pub(super) type KeyRow = (SigningKey, Vec<u8>);

fn from_row(r: &Row<'_>) -> Result<KeyRow> {
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
            retire_at: r.get(7)?,
        },
        raw,
    ))
}

/// Inserts an active key.
pub(super) fn insert(
    db: Db<'_>,
    id: &str,
    kid: &str,
    name: &str,
    algorithm: KeyAlgorithm,
    public_key: &[u8],
    created_at: &str,
) -> Result<()> {
    db.execute(
        "INSERT INTO signing_keys (id, kid, name, algorithm, public_key, status, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'active', ?6)",
        args![id, kid, name, algorithm.as_str(), public_key, created_at],
    )?;
    Ok(())
}

/// Retires the key `id` if it is active; returns how many rows changed (0 or 1).
/// Sets (or with None clears) an active key's scheduled retirement; the rows changed.
pub(super) fn schedule_retirement(db: Db<'_>, id: &str, at: Option<&str>) -> Result<usize> {
    Ok(db.execute(
        "UPDATE signing_keys SET retire_at = ?2 WHERE id = ?1 AND status = 'active'",
        args![id, at],
    )? as usize)
}

/// Active keys whose scheduled retirement comes before `before`, soonest first:
/// (id, name, kid, retire_at).
pub(crate) fn retiring_before(
    db: Db<'_>,
    before: &str,
) -> Result<Vec<(String, String, String, String)>> {
    db.query(
        "SELECT id, name, kid, retire_at FROM signing_keys
         WHERE status = 'active' AND retire_at IS NOT NULL AND retire_at < ?1
         ORDER BY retire_at, kid",
        args![before],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )
}

pub(super) fn retire(db: Db<'_>, id: &str) -> Result<usize> {
    Ok(db.execute(
        "UPDATE signing_keys SET status = 'retired' WHERE id = ?1 AND status = 'active'",
        args![id],
    )? as usize)
}

/// Every key, newest first.
pub(super) fn list(db: Db<'_>) -> Result<Vec<KeyRow>> {
    db.query(
        &format!(
            "SELECT {COLUMNS} FROM signing_keys ORDER BY created_at DESC, {} DESC",
            db.rowid()
        ),
        &[],
        from_row,
    )
}

/// The key whose id or kid is `reference`.
pub(super) fn by_id_or_kid(db: Db<'_>, reference: &str) -> Result<Option<KeyRow>> {
    db.query_opt(
        &format!("SELECT {COLUMNS} FROM signing_keys WHERE id = ?1 OR kid = ?1"),
        args![reference],
        from_row,
    )
}

/// The keys named `name`.
pub(super) fn by_name(db: Db<'_>, name: &str) -> Result<Vec<KeyRow>> {
    db.query(
        &format!("SELECT {COLUMNS} FROM signing_keys WHERE name = ?1"),
        args![name],
        from_row,
    )
}

/// A key as stored, undecoded: what a backup checks each private key against.
pub(crate) struct StoredKey {
    pub kid: String,
    pub algorithm: String,
    pub public_key: Vec<u8>,
    pub status: String,
}

/// Every key as stored (see [`StoredKey`]).
pub(crate) fn stored_keys(db: Db<'_>) -> Result<Vec<StoredKey>> {
    db.query(
        "SELECT kid, algorithm, public_key, status FROM signing_keys",
        &[],
        |r| {
            Ok(StoredKey {
                kid: r.get(0)?,
                algorithm: r.get(1)?,
                public_key: r.get(2)?,
                status: r.get(3)?,
            })
        },
    )
}
