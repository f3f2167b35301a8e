//! The audit log: every private-key use and administrative change, hash-chained.
//!
//! Rows are appended inside the caller's transaction, so an event exists exactly when
//! the change it describes does. Each row's hash covers its fields and the previous
//! row's hash; editing, deleting or reordering rows breaks the chain.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};
use ts_rs::TS;

use crate::error::{Error, ErrorCode, Result};

/// The hash a chain starts from.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What is being recorded.
#[derive(Debug, Clone, Default)]
pub struct Event<'a> {
    /// Dotted verb: `key.create`, `license.issue`, `license_file.sign`...
    pub action: &'a str,
    /// The kind of row it concerns (`license`, `product`...).
    pub subject_type: Option<&'a str>,
    /// That row's id.
    pub subject_id: Option<&'a str>,
    /// The key id that signed, for private-key uses.
    pub signing_key_kid: Option<&'a str>,
    /// SHA-256 (hex) of the signed artifact, for private-key uses.
    pub artifact_sha256: Option<String>,
    /// Anything else worth keeping, as a JSON object.
    pub detail: serde_json::Value,
}

/// A recorded event.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When (RFC 3339 UTC, ms).
    pub at: String,
    /// The OS user who did it.
    pub actor: String,
    /// What was done.
    pub action: String,
    /// The kind of row concerned.
    pub subject_type: Option<String>,
    /// The row concerned.
    pub subject_id: Option<String>,
    /// Key id that signed.
    pub signing_key_kid: Option<String>,
    /// SHA-256 of the signed artifact.
    pub artifact_sha256: Option<String>,
    /// Extra facts, JSON text.
    pub detail: String,
    /// The previous row's hash.
    pub prev_hash: String,
    /// This row's hash.
    pub hash: String,
}

#[allow(clippy::too_many_arguments)]
fn row_hash(
    prev: &str,
    at: &str,
    actor: &str,
    action: &str,
    subject_type: Option<&str>,
    subject_id: Option<&str>,
    kid: Option<&str>,
    sha: Option<&str>,
    detail: &str,
) -> String {
    // A JSON array is an unambiguous encoding of the fields (no delimiter games).
    let canonical = serde_json::json!([
        prev,
        at,
        actor,
        action,
        subject_type,
        subject_id,
        kid,
        sha,
        detail
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// Appends `event` at time `at` by `actor`, chained to the newest row.
pub fn append(conn: &Connection, at: &str, actor: &str, event: &Event<'_>) -> Result<i64> {
    let prev: String = conn
        .query_row(
            "SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_else(|| GENESIS.to_owned());
    let detail = if event.detail.is_null() {
        "{}".to_owned()
    } else {
        event.detail.to_string()
    };
    let hash = row_hash(
        &prev,
        at,
        actor,
        event.action,
        event.subject_type,
        event.subject_id,
        event.signing_key_kid,
        event.artifact_sha256.as_deref(),
        &detail,
    );
    conn.execute(
        "INSERT INTO audit_events (at, actor, action, subject_type, subject_id, signing_key_kid,
                                   artifact_sha256, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            at,
            actor,
            event.action,
            event.subject_type,
            event.subject_id,
            event.signing_key_kid,
            event.artifact_sha256,
            detail,
            prev,
            hash
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Reads every event, oldest first.
pub fn list(conn: &Connection) -> Result<Vec<AuditEvent>> {
    let mut stmt = conn.prepare(
        "SELECT seq, at, actor, action, subject_type, subject_id, signing_key_kid,
                artifact_sha256, detail, prev_hash, hash
         FROM audit_events ORDER BY seq",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(AuditEvent {
            seq: r.get(0)?,
            at: r.get(1)?,
            actor: r.get(2)?,
            action: r.get(3)?,
            subject_type: r.get(4)?,
            subject_id: r.get(5)?,
            signing_key_kid: r.get(6)?,
            artifact_sha256: r.get(7)?,
            detail: r.get(8)?,
            prev_hash: r.get(9)?,
            hash: r.get(10)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Checks the chain; on a break, says at which row and why.
pub fn verify(conn: &Connection) -> Result<usize> {
    let events = list(conn)?;
    let mut prev = GENESIS.to_owned();
    for (i, e) in events.iter().enumerate() {
        let expected_seq = i as i64 + 1;
        if e.seq != expected_seq {
            return Err(Error::new(
                ErrorCode::Store,
                format!(
                    "audit chain broken: row {expected_seq} is missing (found {} next)",
                    e.seq
                ),
            ));
        }
        if e.prev_hash != prev {
            return Err(Error::new(
                ErrorCode::Store,
                format!(
                    "audit chain broken at row {}: it does not follow row {}",
                    e.seq,
                    e.seq - 1
                ),
            ));
        }
        let recomputed = row_hash(
            &e.prev_hash,
            &e.at,
            &e.actor,
            &e.action,
            e.subject_type.as_deref(),
            e.subject_id.as_deref(),
            e.signing_key_kid.as_deref(),
            e.artifact_sha256.as_deref(),
            &e.detail,
        );
        if recomputed != e.hash {
            return Err(Error::new(
                ErrorCode::Store,
                format!(
                    "audit chain broken at row {}: its contents were edited",
                    e.seq
                ),
            ));
        }
        prev = e.hash.clone();
    }
    Ok(events.len())
}

/// SHA-256 of an artifact, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
