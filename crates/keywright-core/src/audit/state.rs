//! The state of the rows the audit log answers for, so that replaying the log gives
//! the store's current licenses, machines, signing keys, products and policies.
//!
//! A row's state is a small JSON object of the columns that matter (sorted keys,
//! written the same way by every build), with long or secret-looking values (a
//! license key, its metadata, a public key) reduced to a SHA-256 prefix. Each audit
//! row about a tracked row records its state right after the change; the newest
//! record of every row must equal the row. Rows that existed before a store was
//! anchored are covered by the baseline taken at anchoring (`audit_baseline`),
//! committed to by the anchoring row.

use std::collections::{BTreeMap, HashMap};

use sha2::{Digest, Sha256};

use super::anchor::Recorded as AnchorRecord;
use super::Recorded;
use crate::error::Result;
use crate::store::db::Db;

pub use super::sql::{all, baseline};

/// A kind of row the log answers for.
pub(super) struct Tracked {
    /// The audit rows' `subject_type`.
    pub kind: &'static str,
    /// Its table (keyed by `id`).
    pub table: &'static str,
    /// The columns that make up its state.
    pub columns: &'static [&'static str],
    /// Of those, the ones recorded as a hash.
    pub digested: &'static [&'static str],
    /// Of those, the ones left out of the state while NULL: columns added after rows
    /// were audited (NULL = the old behaviour), so those rows' recorded state still
    /// equals the row.
    pub omitted_when_null: &'static [&'static str],
}

pub(super) const TRACKED: &[Tracked] = &[
    Tracked {
        kind: "signing_key",
        table: "signing_keys",
        columns: &["kid", "algorithm", "public_key", "status", "retire_at"],
        digested: &["public_key"],
        omitted_when_null: &["retire_at"],
    },
    Tracked {
        kind: "product",
        table: "products",
        columns: &["code", "signing_key_id"],
        digested: &[],
        omitted_when_null: &[],
    },
    Tracked {
        kind: "policy",
        table: "policies",
        columns: &[
            "product_id",
            "scheme",
            "duration_seconds",
            "max_machines",
            "floating",
            "file_ttl_seconds",
            "encrypt",
            "entitlements",
            "key_template",
            "unsigned_key",
            "expiration_strategy",
            "strict",
            "offline_grace_seconds",
            "allow_transfer",
            "require_heartbeat",
            "heartbeat_duration_seconds",
            "heartbeat_cull_strategy",
            "heartbeat_resurrection_strategy",
            "heartbeat_basis",
        ],
        digested: &["key_template"],
        omitted_when_null: &[
            "require_heartbeat",
            "heartbeat_duration_seconds",
            "heartbeat_cull_strategy",
            "heartbeat_resurrection_strategy",
            "heartbeat_basis",
        ],
    },
    Tracked {
        kind: "license",
        table: "licenses",
        columns: &[
            "key",
            "policy_id",
            "customer_id",
            "signing_key_id",
            "status",
            "expiry",
            "entitlements",
            "metadata",
        ],
        digested: &["key", "metadata"],
        omitted_when_null: &[],
    },
    Tracked {
        kind: "machine",
        table: "machines",
        columns: &["license_id", "fingerprint", "status"],
        digested: &[],
        omitted_when_null: &[],
    },
];

fn tracked(kind: &str) -> Option<&'static Tracked> {
    TRACKED.iter().find(|t| t.kind == kind)
}

/// Whether the log answers for rows of this kind.
pub fn is_tracked(kind: &str) -> bool {
    tracked(kind).is_some()
}

pub(super) fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(&Sha256::digest(bytes)[..16]))
}

/// The state of the row `kind`/`id` as `conn` sees it now; `None` for kinds the log
/// does not track, or a row that does not exist.
pub fn of(db: Db<'_>, kind: &str, id: &str) -> Result<Option<String>> {
    let Some(t) = tracked(kind) else {
        return Ok(None);
    };
    super::sql::state_of(db, t, id)
}

/// The state of a `license` row about to be written with these column values (text,
/// or NULL), as [`of`] will read it back: what a batch's leaf commits to before the row
/// exists. Every column of the kind must be given.
pub fn of_values(kind: &str, values: &[(&str, Option<&str>)]) -> Option<String> {
    let t = tracked(kind)?;
    let mut state: BTreeMap<&str, serde_json::Value> = BTreeMap::new();
    for column in t.columns {
        let value = values.iter().find(|(c, _)| c == column)?.1;
        let value = match value {
            None if t.omitted_when_null.contains(column) => continue,
            None => serde_json::Value::Null,
            Some(text) if t.digested.contains(column) => digest(text.as_bytes()).into(),
            Some(text) => text.into(),
        };
        state.insert(column, value);
    }
    Some(serde_json::to_string(&state).expect("a map of scalars serializes"))
}

/// The SHA-256 a baseline is committed to by: every (kind, id, state), sorted, one
/// per line with NUL between the fields.
pub fn baseline_digest(rows: &[(String, String, String)]) -> String {
    let mut h = Sha256::new();
    for (kind, id, state) in rows {
        h.update(kind.as_bytes());
        h.update(b"\0");
        h.update(id.as_bytes());
        h.update(b"\0");
        h.update(state.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// Checks the baseline table against the anchoring row that committed to it.
/// `row` is (seq, detail) of the `audit.anchor` row the log holds, if any.
pub(super) fn check_baseline(
    db: Db<'_>,
    anchor: &AnchorRecord,
    row: Option<&(i64, String)>,
) -> Result<Option<String>> {
    let rows = baseline(db)?;
    let digest = baseline_digest(&rows);
    let Some(seq) = anchor.anchor_seq else {
        // Anchored when new: there was nothing to take a baseline of.
        return Ok((!rows.is_empty()).then(|| {
            format!(
                "the audit baseline holds {} rows, but this store was anchored empty: rows were added to it outside Keywright",
                rows.len()
            )
        }));
    };
    let Some((found_seq, detail)) = row else {
        return Ok(Some(format!(
            "the row that anchored the log (row {seq}) is missing"
        )));
    };
    if *found_seq != seq {
        return Ok(Some(format!(
            "the log was anchored at row {seq}, but its anchoring row is row {found_seq}"
        )));
    }
    let detail: serde_json::Value = serde_json::from_str(detail).unwrap_or_default();
    let committed = detail["baselineSha256"].as_str().unwrap_or_default();
    if committed != digest {
        return Ok(Some(format!(
            "the audit baseline (the state of every row when the log was anchored, row {seq}) was edited: \
             it holds {} rows now, the anchoring row committed to {}",
            rows.len(),
            detail["baselineRows"]
        )));
    }
    Ok(None)
}

fn describe(kind: &str) -> &str {
    match kind {
        "signing_key" => "signing key",
        other => other,
    }
}

/// Names the fields where the store and the log disagree.
fn differences(store: &str, log: &str) -> String {
    let parse = |s: &str| -> BTreeMap<String, serde_json::Value> {
        serde_json::from_str(s).unwrap_or_default()
    };
    let (now, then) = (parse(store), parse(log));
    let mut keys: Vec<&String> = now.keys().chain(then.keys()).collect();
    keys.sort();
    keys.dedup();
    let null = serde_json::Value::Null;
    keys.into_iter()
        .filter(|k| now.get(*k).unwrap_or(&null) != then.get(*k).unwrap_or(&null))
        .map(|k| {
            format!(
                "{k} is {} in the store but {} in the log",
                now.get(k).unwrap_or(&null),
                then.get(k).unwrap_or(&null)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Compares the replayed log with the store's rows; reports each difference.
pub(super) fn compare_with_store(
    db: Db<'_>,
    mut replay: HashMap<(String, String), Recorded>,
    mut report: impl FnMut(String),
) -> Result<()> {
    all(db, |kind, id, state| {
        match replay.remove(&(kind.to_owned(), id.clone())) {
            None => report(format!(
                "{} {id} is in the store, but no audit row records it: it was added outside Keywright",
                describe(kind)
            )),
            Some(rec) if rec.leaf => {
                if super::batch::license_leaf(&id, &state) != rec.state {
                    report(format!(
                        "{} {id} was changed outside Keywright: it is not what its batch (row {}) issued, and no later row records a change",
                        describe(kind),
                        rec.seq
                    ))
                }
            }
            Some(rec) if rec.state != state => {
                let at = if rec.seq == 0 {
                    rec.action.clone()
                } else {
                    format!("row {}, {}", rec.seq, rec.action)
                };
                report(format!(
                    "{} {id} was changed outside Keywright: {} (the log's last record of it: {at})",
                    describe(kind),
                    differences(&state, &rec.state)
                ))
            }
            Some(_) => {}
        }
    })?;
    let mut gone: Vec<_> = replay
        .into_iter()
        .filter(|((kind, _), _)| is_tracked(kind))
        .collect();
    gone.sort_by_key(|(_, rec)| rec.seq);
    for ((kind, id), rec) in gone {
        report(format!(
            "{} {id} is recorded by the log (row {}, {}) but missing from the store: it was deleted outside Keywright",
            describe(&kind),
            rec.seq,
            rec.action
        ));
    }
    Ok(())
}
