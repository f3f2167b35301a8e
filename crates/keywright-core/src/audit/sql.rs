//! The audit log's SQL: tables `audit_events` and `audit_baseline`, the anchoring
//! record in `store_meta`, and the state of the rows the log answers for (read from
//! their own tables, by the column lists of [`super::state`]).

use std::collections::BTreeMap;

use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OptionalExtension};

use super::clock::ClockRow;
use super::state::{digest, Tracked, TRACKED};
use super::{AuditEvent, AuditQuery, Head};
use crate::error::Result;

const COLUMNS: &str = "seq, at, actor, action, subject_type, subject_id, signing_key_kid,
                       artifact_sha256, detail, state, prev_hash, hash, mac";

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
        state: r.get(9)?,
        prev_hash: r.get(10)?,
        hash: r.get(11)?,
        mac: r.get(12)?,
    })
}

/// The newest row of the log, or [`Head::empty`].
pub fn head(conn: &Connection) -> Result<Head> {
    Ok(conn
        .prepare_cached("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| {
            Ok(Head {
                seq: r.get(0)?,
                hash: r.get(1)?,
            })
        })
        .optional()?
        .unwrap_or_else(Head::empty))
}

/// A row about to be appended, every column of it.
pub(super) struct NewRow<'a> {
    pub seq: i64,
    pub at: &'a str,
    pub actor: &'a str,
    pub action: &'a str,
    pub subject_type: Option<&'a str>,
    pub subject_id: Option<&'a str>,
    pub signing_key_kid: Option<&'a str>,
    pub artifact_sha256: Option<&'a str>,
    pub detail: &'a str,
    pub state: Option<&'a str>,
    pub prev_hash: &'a str,
    pub hash: &'a str,
    pub mac: &'a str,
}

/// Inserts a row (cached statement: a batch appends thousands on one connection).
pub(super) fn insert(conn: &Connection, row: &NewRow<'_>) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit_events (seq, at, actor, action, subject_type, subject_id,
                                   signing_key_kid, artifact_sha256, detail, state,
                                   prev_hash, hash, mac)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        row.seq,
        row.at,
        row.actor,
        row.action,
        row.subject_type,
        row.subject_id,
        row.signing_key_kid,
        row.artifact_sha256,
        row.detail,
        row.state,
        row.prev_hash,
        row.hash,
        row.mac
    ])?;
    Ok(())
}

/// Reads every event, oldest first.
pub fn list(conn: &Connection) -> Result<Vec<AuditEvent>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM audit_events ORDER BY seq"))?;
    let rows = stmt.query_map([], event_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Calls `each` with every row, oldest first, reading one row at a time (a log may
/// hold millions).
pub(super) fn each(conn: &Connection, mut each: impl FnMut(AuditEvent)) -> Result<()> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM audit_events ORDER BY seq"))?;
    let events = stmt.query_map([], event_row)?;
    for e in events {
        each(e?);
    }
    Ok(())
}

/// Calls `each` with every row after position `seq`, oldest first, until it returns a
/// problem, which is returned.
pub(super) fn each_after(
    conn: &Connection,
    seq: i64,
    mut each: impl FnMut(AuditEvent) -> Option<String>,
) -> Result<Option<String>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM audit_events WHERE seq > ?1 ORDER BY seq"
    ))?;
    let mut rows = stmt.query([seq])?;
    while let Some(r) = rows.next()? {
        if let Some(problem) = each(event_row(r)?) {
            return Ok(Some(problem));
        }
    }
    Ok(None)
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
        push("at >= ?", Text(super::time_bound("since", &since)?));
    }
    if let Some(until) = crate::clean(q.until.as_deref()) {
        push("at < ?", Text(super::time_bound("until", &until)?));
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

/// The hash of the row at position `seq`, if there is one.
pub(super) fn hash_at(conn: &Connection, seq: i64) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT hash FROM audit_events WHERE seq = ?1", [seq], |r| {
            r.get(0)
        })
        .optional()?)
}

/// `(seq, hash)` of every row, oldest first.
pub(super) fn hashes(conn: &Connection) -> Result<Vec<(i64, String)>> {
    let mut rows = conn.prepare("SELECT seq, hash FROM audit_events ORDER BY seq")?;
    let pairs = rows
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(pairs)
}

/// Sets the MAC of the row at position `seq`.
pub(super) fn set_mac(conn: &Connection, seq: i64, mac: &str) -> Result<()> {
    conn.prepare_cached("UPDATE audit_events SET mac = ?2 WHERE seq = ?1")?
        .execute(params![seq, mac])?;
    Ok(())
}

/// The newest row since the clock was last accepted (by time, not position).
pub(super) fn newest_since_clock_accept(conn: &Connection) -> Result<Option<ClockRow>> {
    Ok(conn
        .prepare_cached(
            "SELECT seq, at, action, actor FROM audit_events
             WHERE seq >= coalesce(
                 (SELECT max(seq) FROM audit_events WHERE action = 'clock.accept'), 0)
             ORDER BY at DESC, seq DESC LIMIT 1",
        )?
        .query_row([], |r| {
            Ok(ClockRow {
                seq: r.get(0)?,
                at: r.get(1)?,
                action: r.get(2)?,
                actor: r.get(3)?,
            })
        })
        .optional()?)
}

/// A value of `store_meta`.
pub(super) fn meta(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM store_meta WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?)
}

/// Sets a value of `store_meta`.
pub(super) fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO store_meta (key, value) VALUES (?1, ?2)",
        params![key, value],
    )?;
    Ok(())
}

/// Records the baseline: `(kind, id, state)` of every tracked row.
pub(super) fn insert_baseline(conn: &Connection, rows: &[(String, String, String)]) -> Result<()> {
    let mut insert = conn.prepare(
        "INSERT INTO audit_baseline (subject_type, subject_id, state) VALUES (?1, ?2, ?3)",
    )?;
    for (kind, id, state) in rows {
        insert.execute(params![kind, id, state])?;
    }
    Ok(())
}

/// The baseline taken when the log was anchored: (kind, id, state), sorted.
pub fn baseline(conn: &Connection) -> Result<Vec<(String, String, String)>> {
    let mut stmt = conn.prepare(
        "SELECT subject_type, subject_id, state FROM audit_baseline
         ORDER BY subject_type, subject_id",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn state_of_row(t: &Tracked, row: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<String> {
    let mut state: BTreeMap<&str, serde_json::Value> = BTreeMap::new();
    for (i, column) in t.columns.iter().enumerate() {
        let value = match row.get_ref(first + i)? {
            ValueRef::Null if t.omitted_when_null.contains(column) => continue,
            ValueRef::Null => serde_json::Value::Null,
            ValueRef::Integer(n) => serde_json::Value::from(n),
            ValueRef::Real(f) => serde_json::Value::from(f),
            ValueRef::Text(bytes) | ValueRef::Blob(bytes) if t.digested.contains(column) => {
                serde_json::Value::from(digest(bytes))
            }
            ValueRef::Text(bytes) => {
                serde_json::Value::from(String::from_utf8_lossy(bytes).into_owned())
            }
            ValueRef::Blob(bytes) => serde_json::Value::from(digest(bytes)),
        };
        state.insert(column, value);
    }
    // A BTreeMap serializes in key order whatever serde_json's features are, so every
    // build (the CLI's, the window's) writes the same text for the same row.
    Ok(serde_json::to_string(&state).expect("a map of scalars serializes"))
}

/// The state of row `id` of tracked kind `t` as `conn` sees it now; `None` for a row
/// that does not exist.
pub(super) fn state_of(conn: &Connection, t: &Tracked, id: &str) -> Result<Option<String>> {
    let sql = format!(
        "SELECT {} FROM {} WHERE id = ?1",
        t.columns.join(", "),
        t.table
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], |r| state_of_row(t, r, 0))
        .optional()?)
}

/// Every tracked row of the store and its state, kind by kind.
pub fn all(conn: &Connection, mut each: impl FnMut(&str, String, String)) -> Result<()> {
    for t in TRACKED {
        let sql = format!("SELECT id, {} FROM {}", t.columns.join(", "), t.table);
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            each(t.kind, id, state_of_row(t, r, 1)?);
        }
    }
    Ok(())
}
