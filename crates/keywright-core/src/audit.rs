//! The audit log: every private-key use and administrative change, hash-chained.
//!
//! Rows are appended inside the caller's transaction, so an event exists exactly when
//! the change it describes does. Each row's hash covers its fields and the previous
//! row's hash; editing, deleting or reordering rows breaks the chain.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
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
    #[ts(type = "number")]
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
    // Cached statements: a batch appends thousands of rows on one connection.
    let prev: String = conn
        .prepare_cached("SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| r.get(0))
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
    conn.prepare_cached(
        "INSERT INTO audit_events (at, actor, action, subject_type, subject_id, signing_key_kid,
                                   artifact_sha256, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
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
    ])?;
    Ok(conn.last_insert_rowid())
}

fn event_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEvent> {
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
}

const COLUMNS: &str = "seq, at, actor, action, subject_type, subject_id, signing_key_kid,
                       artifact_sha256, detail, prev_hash, hash";

/// Reads every event, oldest first.
pub fn list(conn: &Connection) -> Result<Vec<AuditEvent>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM audit_events ORDER BY seq"))?;
    let rows = stmt.query_map([], event_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Which audit events to read: every field narrows; all absent = every event.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct AuditQuery {
    /// An action (`license.issue`), or a family of them (`license.*`).
    pub action: Option<String>,
    /// Only events about this row (a license id, a key id...).
    pub subject_id: Option<String>,
    /// From this time on (RFC 3339, or a date `2026-11-01` meaning its start, UTC).
    pub since: Option<String>,
    /// Before this time (same forms as `since`; exclusive).
    pub until: Option<String>,
    /// At most this many events: 100 when absent, at most 1,000 (CSV exports take all).
    #[ts(type = "number | null")]
    pub limit: Option<i64>,
    /// Only events older than this `seq` (the last one of the previous page).
    #[ts(type = "number | null")]
    pub before_seq: Option<i64>,
}

/// Page size of the audit list when the query names none.
pub const DEFAULT_LIMIT: i64 = 100;
/// The largest audit page.
pub const MAX_LIMIT: i64 = 1_000;

/// A time bound as the store writes times; a bare date is that day's start, UTC.
fn time_bound(field: &str, text: &str) -> Result<String> {
    let t = text.trim();
    let parsed = t.parse::<jiff::Timestamp>().or_else(|_| {
        t.parse::<jiff::civil::Date>()
            .map_err(|_| ())
            .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).map_err(|_| ()))
            .map(|z| z.timestamp())
    });
    match parsed {
        Ok(ts) => Ok(crate::stamp(ts)),
        Err(_) => Err(Error::bad_input(format!(
            "{field} {t:?} is not a time; use a date like 2026-11-01 or RFC 3339 like 2026-11-01T09:00:00Z"
        ))),
    }
}

/// Events matching `q`, newest first. `limit` None reads every match.
pub fn query(conn: &Connection, q: &AuditQuery, limit: Option<i64>) -> Result<Vec<AuditEvent>> {
    let mut filters: Vec<String> = Vec::new();
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    let mut push = |sql: &str, value: rusqlite::types::Value| {
        filters.push(sql.replace('?', &format!("?{}", args.len() + 1)));
        args.push(value);
    };
    use rusqlite::types::Value::{Integer, Text};
    if let Some(action) = crate::clean(q.action.as_deref()) {
        match action.strip_suffix(".*") {
            Some(family) => push(
                "substr(action, 1, length(?)) = ?",
                Text(format!("{family}.")),
            ),
            None => push("action = ?", Text(action)),
        }
    }
    if let Some(subject) = crate::clean(q.subject_id.as_deref()) {
        push("subject_id = ?", Text(subject));
    }
    if let Some(since) = crate::clean(q.since.as_deref()) {
        push("at >= ?", Text(time_bound("since", &since)?));
    }
    if let Some(until) = crate::clean(q.until.as_deref()) {
        push("at < ?", Text(time_bound("until", &until)?));
    }
    if let Some(before) = q.before_seq {
        push("seq < ?", Integer(before));
    }
    let filter = if filters.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", filters.join(" AND "))
    };
    let limit = limit.map(|n| format!(" LIMIT {n}")).unwrap_or_default();
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM audit_events{filter} ORDER BY seq DESC{limit}"
    ))?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), event_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The outcome of checking the chain.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AuditVerification {
    /// Every row is present, in order, and unedited.
    pub intact: bool,
    /// How many rows were checked.
    #[ts(type = "number")]
    pub rows: i64,
    /// The first row that is missing or edited, when broken.
    #[ts(type = "number | null")]
    pub broken_at: Option<i64>,
    /// What was found, in words.
    pub message: String,
}

/// Checks the chain and says where it breaks, if it does.
pub fn check(conn: &Connection) -> Result<AuditVerification> {
    let events = list(conn)?;
    let rows = events.len() as i64;
    let broken = |at: i64, message: String| AuditVerification {
        intact: false,
        rows,
        broken_at: Some(at),
        message,
    };
    let mut prev = GENESIS.to_owned();
    for (i, e) in events.iter().enumerate() {
        let expected_seq = i as i64 + 1;
        if e.seq != expected_seq {
            return Ok(broken(
                expected_seq,
                format!(
                    "audit chain broken: row {expected_seq} is missing (found {} next)",
                    e.seq
                ),
            ));
        }
        if e.prev_hash != prev {
            return Ok(broken(
                e.seq,
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
            return Ok(broken(
                e.seq,
                format!(
                    "audit chain broken at row {}: its contents were edited",
                    e.seq
                ),
            ));
        }
        prev = e.hash.clone();
    }
    Ok(AuditVerification {
        intact: true,
        rows,
        broken_at: None,
        message: format!("audit chain intact: {rows} rows"),
    })
}

/// Checks the chain; on a break, says at which row and why.
pub fn verify(conn: &Connection) -> Result<usize> {
    let report = check(conn)?;
    if report.intact {
        Ok(report.rows as usize)
    } else {
        Err(Error::new(ErrorCode::Store, report.message))
    }
}

/// SHA-256 of an artifact, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
