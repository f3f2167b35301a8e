//! The audit log's SQL: tables `audit_events` and `audit_baseline`, the anchoring
//! record in `store_meta`, and the state of the rows the log answers for (read from
//! their own tables, by the column lists of [`super::state`]). One statement for both
//! engines.

use std::collections::BTreeMap;

use super::clock::ClockRow;
use super::state::{digest, Tracked, TRACKED};
use super::{AuditEvent, AuditQuery, Head};
use crate::error::Result;
use crate::store::db::{args, Db, Row, Value};

const COLUMNS: &str = "seq, at, actor, action, subject_type, subject_id, signing_key_kid,
                       artifact_sha256, detail, state, prev_hash, hash, mac";

fn event_row(r: &Row<'_>) -> Result<AuditEvent> {
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
pub fn head(db: Db<'_>) -> Result<Head> {
    Ok(db
        .query_opt(
            "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1",
            &[],
            |r| {
                Ok(Head {
                    seq: r.get(0)?,
                    hash: r.get(1)?,
                })
            },
        )?
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

/// Inserts a row (a cached statement on SQLite: a batch appends thousands on one
/// connection).
pub(super) fn insert(db: Db<'_>, row: &NewRow<'_>) -> Result<()> {
    db.execute(
        "INSERT INTO audit_events (seq, at, actor, action, subject_type, subject_id,
                                   signing_key_kid, artifact_sha256, detail, state,
                                   prev_hash, hash, mac)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        args![
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
        ],
    )?;
    Ok(())
}

/// The products an event about `subject` concerns (`kind`: product, policy, license or
/// machine), or `given` when the caller names them (a batch). One statement, for both
/// engines; a subject of another kind (a customer, a key, the store) concerns none.
pub(super) fn insert_products(
    db: Db<'_>,
    seq: i64,
    kind: Option<&str>,
    subject: Option<&str>,
    given: &[String],
) -> Result<()> {
    if !given.is_empty() {
        let mut products: Vec<&str> = given.iter().map(String::as_str).collect();
        products.sort_unstable();
        products.dedup();
        for product in products {
            db.execute(
                "INSERT INTO audit_products (product_id, seq) VALUES (?1, ?2)",
                args![product, seq],
            )?;
        }
        return Ok(());
    }
    let (Some(kind), Some(subject)) = (kind, subject) else {
        return Ok(());
    };
    // (The CAST names the parameter's type for PostgreSQL, which an INSERT's SELECT
    // list does not.)
    let select = match kind {
        "product" => "SELECT id, CAST(?2 AS BIGINT) FROM products WHERE id = ?1",
        "policy" => "SELECT product_id, CAST(?2 AS BIGINT) FROM policies WHERE id = ?1",
        "license" => {
            "SELECT p.product_id, CAST(?2 AS BIGINT)
             FROM licenses l JOIN policies p ON p.id = l.policy_id WHERE l.id = ?1"
        }
        "machine" => {
            "SELECT p.product_id, CAST(?2 AS BIGINT)
             FROM machines m JOIN licenses l ON l.id = m.license_id
             JOIN policies p ON p.id = l.policy_id WHERE m.id = ?1"
        }
        _ => return Ok(()),
    };
    db.execute(
        &format!("INSERT INTO audit_products (product_id, seq) {select}"),
        args![subject, seq],
    )?;
    Ok(())
}

/// Reads every event, oldest first.
pub fn list(db: Db<'_>) -> Result<Vec<AuditEvent>> {
    db.query(
        &format!("SELECT {COLUMNS} FROM audit_events ORDER BY seq"),
        &[],
        event_row,
    )
}

/// Calls `each` with every row, oldest first, reading one row at a time (a log may
/// hold millions).
pub(super) fn each(db: Db<'_>, mut each: impl FnMut(AuditEvent)) -> Result<()> {
    db.for_each(
        &format!("SELECT {COLUMNS} FROM audit_events ORDER BY seq"),
        &[],
        |r| {
            each(event_row(r)?);
            Ok(true)
        },
    )
}

/// Calls `each` with every row after position `seq`, oldest first, until it returns a
/// problem, which is returned.
pub(super) fn each_after(
    db: Db<'_>,
    seq: i64,
    mut each: impl FnMut(AuditEvent) -> Option<String>,
) -> Result<Option<String>> {
    let mut found = None;
    db.for_each(
        &format!("SELECT {COLUMNS} FROM audit_events WHERE seq > ?1 ORDER BY seq"),
        args![seq],
        |r| {
            found = each(event_row(r)?);
            Ok(found.is_none())
        },
    )?;
    Ok(found)
}

/// Events matching `q`, newest first. `limit` None reads every match.
pub fn query(db: Db<'_>, q: &AuditQuery, limit: Option<i64>) -> Result<Vec<AuditEvent>> {
    let mut filters: Vec<String> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    let mut push = |sql: &str, value: Value<'static>| {
        filters.push(sql.replace('?', &format!("?{}", args.len() + 1)));
        args.push(value);
    };
    if let Some(action) = crate::clean(q.action.as_deref()) {
        match action.strip_suffix(".*") {
            // (The CAST tells PostgreSQL the parameter's type, which `length` alone
            // does not.)
            Some(family) => push(
                "substr(e.action, 1, length(CAST(? AS TEXT))) = ?",
                format!("{family}.").into(),
            ),
            None => push("e.action = ?", action.into()),
        }
    }
    if let Some(subject) = crate::clean(q.subject_id.as_deref()) {
        // A license or customer a batch wrote is in its batch's row too: that row's
        // position is read first, so the query is two index lookups (a subquery in
        // the OR made PostgreSQL scan the whole log).
        let proofs: Vec<i64> = db.query(
            "SELECT proof_seq FROM licenses WHERE id = ?1 AND proof_seq IS NOT NULL
             UNION ALL SELECT proof_seq FROM customers WHERE id = ?1 AND proof_seq IS NOT NULL",
            args![subject.as_str()],
            |r| r.get(0),
        )?;
        match proofs.first() {
            // (An integer read from the store, written into the SQL as one.)
            Some(&seq) => push(
                &format!("(e.subject_id = ? OR e.seq = {seq})"),
                subject.into(),
            ),
            None => push("e.subject_id = ?", subject.into()),
        }
    }
    if let Some(actor) = crate::clean(q.actor.as_deref()) {
        push("e.actor = ?", actor.into());
    }
    // By product: the event's rows of `audit_products`, newest first, each joined to
    // its event (a walk down that table's key, however long the log).
    let product = crate::clean(q.product_id.as_deref());
    if let Some(product) = &product {
        push("ap.product_id = ?", product.clone().into());
    }
    if let Some(since) = crate::clean(q.since.as_deref()) {
        push("e.at >= ?", super::time_bound("since", &since)?.into());
    }
    if let Some(until) = crate::clean(q.until.as_deref()) {
        push("e.at < ?", super::time_bound("until", &until)?.into());
    }
    if let Some(before) = q.before_seq {
        push("e.seq < ?", before.into());
    }
    let filter = if filters.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", filters.join(" AND "))
    };
    // PostgreSQL, given a time range: when few rows fall in it (a month of a million),
    // reading them through `audit_events_at` and sorting them beats walking the whole
    // log backwards from the newest row, which its planner may choose on a row
    // misestimate. `seq + 0` hides the order index; a range holding many rows keeps the
    // planner's choice. (SQLite chooses well by itself.)
    let mut order = if product.is_some() { "ap.seq" } else { "e.seq" };
    if db.engine() == crate::store::db::Engine::Postgres && (q.since.is_some() || q.until.is_some())
    {
        let range: Vec<&String> = filters.iter().filter(|f| f.starts_with("e.at ")).collect();
        if !range.is_empty() {
            let in_range: i64 = db.query_one(
                &format!(
                    "SELECT count(*) FROM (SELECT 1 FROM audit_events e WHERE {} LIMIT {}) AS m",
                    range
                        .iter()
                        .map(|f| f.as_str())
                        .collect::<Vec<_>>()
                        .join(" AND "),
                    SORTED_RANGE + 1
                ),
                &args,
                |r| r.get(0),
            )?;
            if in_range <= SORTED_RANGE {
                order = "e.seq + 0";
            }
        }
    }
    let limit = limit.map(|n| format!(" LIMIT {n}")).unwrap_or_default();
    let from = if product.is_some() {
        "audit_products ap JOIN audit_events e ON e.seq = ap.seq"
    } else {
        "audit_events e"
    };
    let columns = COLUMNS
        .split(',')
        .map(|c| format!("e.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    db.query(
        &format!("SELECT {columns} FROM {from}{filter} ORDER BY {order} DESC{limit}"),
        &args,
        event_row,
    )
}

/// On PostgreSQL, a time range holding at most this many rows is read through the time
/// index and sorted (see [`query`]).
const SORTED_RANGE: i64 = 50_000;

/// The hash of the row at position `seq`, if there is one.
pub(super) fn hash_at(db: Db<'_>, seq: i64) -> Result<Option<String>> {
    db.query_opt(
        "SELECT hash FROM audit_events WHERE seq = ?1",
        args![seq],
        |r| r.get(0),
    )
}

/// `(seq, hash)` of every row, oldest first.
pub(super) fn hashes(db: Db<'_>) -> Result<Vec<(i64, String)>> {
    db.query(
        "SELECT seq, hash FROM audit_events ORDER BY seq",
        &[],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// Sets the MAC of the row at position `seq`.
pub(super) fn set_mac(db: Db<'_>, seq: i64, mac: &str) -> Result<()> {
    db.execute(
        "UPDATE audit_events SET mac = ?2 WHERE seq = ?1",
        args![seq, mac],
    )?;
    Ok(())
}

/// The newest row since the clock was last accepted (by time, not position): a walk
/// down `audit_events_at` from the newest time that stops at the first row after the
/// last `clock.accept`. (`seq + 0`: compared as a value, so the planner walks the time
/// index instead of reading every row after the accept by position and sorting them,
/// which took 300 ms on a million rows, on every signature and dashboard.)
pub(super) fn newest_since_clock_accept(db: Db<'_>) -> Result<Option<ClockRow>> {
    db.query_opt(
        "SELECT seq, at, action, actor FROM audit_events
         WHERE seq + 0 >= coalesce(
             (SELECT max(seq) FROM audit_events WHERE action = 'clock.accept'), 0)
         ORDER BY at DESC, seq DESC LIMIT 1",
        &[],
        |r| {
            Ok(ClockRow {
                seq: r.get(0)?,
                at: r.get(1)?,
                action: r.get(2)?,
                actor: r.get(3)?,
            })
        },
    )
}

/// A value of `store_meta`.
pub(super) fn meta(db: Db<'_>, key: &str) -> Result<Option<String>> {
    db.query_opt(
        "SELECT value FROM store_meta WHERE key = ?1",
        args![key],
        |r| r.get(0),
    )
}

/// Sets a value of `store_meta`.
pub(super) fn set_meta(db: Db<'_>, key: &str, value: &str) -> Result<()> {
    db.execute(
        "INSERT INTO store_meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        args![key, value],
    )?;
    Ok(())
}

/// Records the baseline: `(kind, id, state)` of every tracked row.
pub(super) fn insert_baseline(db: Db<'_>, rows: &[(String, String, String)]) -> Result<()> {
    for (kind, id, state) in rows {
        db.execute(
            "INSERT INTO audit_baseline (subject_type, subject_id, state) VALUES (?1, ?2, ?3)",
            args![kind, id, state],
        )?;
    }
    Ok(())
}

/// The baseline taken when the log was anchored: (kind, id, state), sorted.
pub fn baseline(db: Db<'_>) -> Result<Vec<(String, String, String)>> {
    db.query(
        "SELECT subject_type, subject_id, state FROM audit_baseline
         ORDER BY subject_type, subject_id",
        &[],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
}

fn state_of_row(t: &Tracked, row: &Row<'_>, first: usize) -> Result<String> {
    let mut state: BTreeMap<&str, serde_json::Value> = BTreeMap::new();
    for (i, column) in t.columns.iter().enumerate() {
        let value = match row.value(first + i)? {
            Value::Null if t.omitted_when_null.contains(column) => continue,
            Value::Null => serde_json::Value::Null,
            Value::Int(n) => serde_json::Value::from(n),
            Value::Text(text) if t.digested.contains(column) => {
                serde_json::Value::from(digest(text.as_bytes()))
            }
            Value::Text(text) => serde_json::Value::from(text.into_owned()),
            Value::Blob(bytes) => serde_json::Value::from(digest(&bytes)),
        };
        state.insert(column, value);
    }
    // A BTreeMap serializes in key order whatever serde_json's features are, so every
    // build (the CLI's, the window's) writes the same text for the same row.
    Ok(serde_json::to_string(&state).expect("a map of scalars serializes"))
}

/// The state of row `id` of tracked kind `t` as `db` sees it now; `None` for a row
/// that does not exist.
pub(super) fn state_of(db: Db<'_>, t: &Tracked, id: &str) -> Result<Option<String>> {
    let sql = format!(
        "SELECT {} FROM {} WHERE id = ?1",
        t.columns.join(", "),
        t.table
    );
    db.query_opt(&sql, args![id], |r| state_of_row(t, r, 0))
}

/// Every tracked row of the store and its state, kind by kind.
pub fn all(db: Db<'_>, mut each: impl FnMut(&str, String, String)) -> Result<()> {
    for t in TRACKED {
        let sql = format!("SELECT id, {} FROM {}", t.columns.join(", "), t.table);
        db.for_each(&sql, &[], |r| {
            let id: String = r.get(0)?;
            each(t.kind, id, state_of_row(t, r, 1)?);
            Ok(true)
        })?;
    }
    Ok(())
}

/// Who acted in the log, in order, at most `limit` names: a loose scan of
/// `audit_events_actor` (one index probe per name, however long the log).
pub fn actors(db: Db<'_>, limit: i64) -> Result<Vec<String>> {
    db.query(
        "WITH RECURSIVE a(actor) AS (
             SELECT min(actor) FROM audit_events
             UNION ALL
             SELECT (SELECT min(actor) FROM audit_events WHERE actor > a.actor)
             FROM a WHERE a.actor IS NOT NULL)
         SELECT actor FROM a WHERE actor IS NOT NULL LIMIT ?1",
        args![limit],
        |r| r.get(0),
    )
}
