//! The audit log: every private-key use and administrative change, hash-chained,
//! keyed and anchored outside the database.
//!
//! Rows are appended inside the caller's transaction, so an event exists exactly when
//! the change it describes does. Each row's hash covers its fields, the state of the
//! row it changed (see [`state`]) and the previous row's hash; editing, deleting or
//! reordering rows breaks the chain. Each row also carries a MAC under the store's
//! audit key, which lives in the OS keychain: someone holding only the database file
//! can edit a row and re-hash the chain after it, but cannot make the MACs match.
//! The newest row (its position and hash) is kept in the keychain as well
//! ([`anchor`]), so deleting rows from the end is seen too. The replay of every row's
//! recorded state must give the store's current licenses, machines, keys, products
//! and policies ([`check`]).

pub mod anchor;
pub mod batch;
pub mod clock;
mod log;
mod names;
mod products;
mod sql;
pub mod state;

use std::collections::HashMap;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ts_rs::TS;
use zeroize::Zeroizing;

use crate::error::{Error, ErrorCode, Result};
use crate::store::db::Db;

pub use names::{AuditEntry, SubjectNames};
pub use sql::{head, list, query};

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
    /// The products the event concerns, when its subject does not say (a batch's row:
    /// every product its licenses belong to). Empty: found from the subject (see
    /// [`sql::insert_products`]). Kept in `audit_products` for the filter by product.
    pub products: Vec<String>,
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
    /// The concerned row's state right after the event (JSON text), for the rows the
    /// log tracks; absent in rows written before the log was anchored.
    pub state: Option<String>,
    /// The previous row's hash.
    pub prev_hash: String,
    /// This row's hash.
    pub hash: String,
    /// HMAC-SHA256 of the row's position and hash under the store's audit key.
    pub mac: Option<String>,
}

/// The store's audit key: 32 random bytes kept in the OS keychain beside the signing
/// keys. It MACs every row; it never reaches the store, a log or the window.
#[derive(Clone)]
pub struct AuditKey(Arc<Zeroizing<[u8; 32]>>);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditKey(<redacted>, id={})", self.id())
    }
}

impl AuditKey {
    /// A new key from the OS random number generator.
    pub fn generate() -> Self {
        use rand_core::RngCore as _;
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand_core::OsRng.fill_bytes(bytes.as_mut());
        Self(Arc::new(bytes))
    }

    /// The key as the keychain holds it (exactly 32 bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let array: [u8; 32] = bytes.try_into().map_err(|_| {
            Error::new(
                ErrorCode::KeychainMismatch,
                format!(
                    "the keychain's audit key has {} bytes, not 32; it is not a Keywright audit key",
                    bytes.len()
                ),
            )
        })?;
        Ok(Self(Arc::new(Zeroizing::new(array))))
    }

    /// The secret bytes, for the vault and the backup only.
    pub(crate) fn secret(&self) -> &[u8] {
        let bytes: &[u8; 32] = &self.0;
        bytes
    }

    /// A public name for the key (the store records it, so a swapped keychain entry
    /// is told apart from a damaged log): 16 hex digits of a hash of the key.
    pub fn id(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"keywright audit key id\0");
        h.update(self.secret());
        hex::encode(&h.finalize()[..8])
    }

    /// The HMAC over a row's position and hash, ready to finalize or compare.
    fn row_mac(&self, seq: i64, hash: &str) -> Hmac<Sha256> {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(self.secret())
            .expect("HMAC takes a key of any length");
        m.update(b"keywright audit row v1\0");
        m.update(seq.to_string().as_bytes());
        m.update(b"\0");
        m.update(hash.as_bytes());
        m
    }

    /// The MAC of the row at `seq` with `hash`.
    pub fn mac(&self, seq: i64, hash: &str) -> String {
        hex::encode(self.row_mac(seq, hash).finalize().into_bytes())
    }

    /// Whether `mac` (hex) is the row's MAC, compared in constant time.
    fn mac_matches(&self, seq: i64, hash: &str, mac: &str) -> bool {
        hex::decode(mac).is_ok_and(|given| self.row_mac(seq, hash).verify_slice(&given).is_ok())
    }

    /// The HMAC over a head kept in a file (the key bundle's state file): its own
    /// label, so a row's MAC copied from the database is not a valid head.
    fn head_mac_of(&self, store_id: &str, head: &Head) -> Hmac<Sha256> {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(self.secret())
            .expect("HMAC takes a key of any length");
        m.update(b"keywright audit head v1\0");
        m.update(store_id.as_bytes());
        m.update(b"\0");
        m.update(head.seq.to_string().as_bytes());
        m.update(b"\0");
        m.update(head.hash.as_bytes());
        m
    }

    /// The MAC of the head `head` of store `store_id`, hex.
    pub fn head_mac(&self, store_id: &str, head: &Head) -> String {
        hex::encode(self.head_mac_of(store_id, head).finalize().into_bytes())
    }

    /// Whether `mac` (hex) is that head's MAC, compared in constant time.
    pub fn head_mac_matches(&self, store_id: &str, head: &Head, mac: &str) -> bool {
        hex::decode(mac).is_ok_and(|given| {
            self.head_mac_of(store_id, head)
                .verify_slice(&given)
                .is_ok()
        })
    }
}

/// The newest row: what the keychain keeps outside the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// Its position (= the number of rows).
    pub seq: i64,
    /// Its hash.
    pub hash: String,
}

impl Head {
    /// No rows yet.
    pub fn empty() -> Self {
        Self {
            seq: 0,
            hash: GENESIS.to_owned(),
        }
    }
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
    state: Option<&str>,
) -> String {
    // A JSON array is an unambiguous encoding of the fields (no delimiter games).
    // Rows written before states were recorded hash the first nine fields, as they
    // always did.
    let mut fields = vec![
        serde_json::json!(prev),
        serde_json::json!(at),
        serde_json::json!(actor),
        serde_json::json!(action),
        serde_json::json!(subject_type),
        serde_json::json!(subject_id),
        serde_json::json!(kid),
        serde_json::json!(sha),
        serde_json::json!(detail),
    ];
    if let Some(state) = state {
        fields.push(serde_json::json!(state));
    }
    let canonical = serde_json::Value::Array(fields);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

fn recompute(e: &AuditEvent) -> String {
    row_hash(
        &e.prev_hash,
        &e.at,
        &e.actor,
        &e.action,
        e.subject_type.as_deref(),
        e.subject_id.as_deref(),
        e.signing_key_kid.as_deref(),
        e.artifact_sha256.as_deref(),
        &e.detail,
        e.state.as_deref(),
    )
}

/// Appends `event` at time `at` by `actor`, chained to the newest row and MACed with
/// `key`. When the event concerns a row the log tracks, that row's state (as the
/// caller's transaction now has it) is recorded with it, so call this after the change.
pub fn append(db: Db<'_>, key: &AuditKey, at: &str, actor: &str, event: &Event<'_>) -> Result<i64> {
    // Cached statements: a batch appends thousands of rows on one connection.
    let prev = head(db)?;
    let detail = if event.detail.is_null() {
        "{}".to_owned()
    } else {
        event.detail.to_string()
    };
    let state = match (event.subject_type, event.subject_id) {
        (Some(kind), Some(id)) => state::of(db, kind, id)?,
        _ => None,
    };
    let seq = prev.seq + 1;
    let hash = row_hash(
        &prev.hash,
        at,
        actor,
        event.action,
        event.subject_type,
        event.subject_id,
        event.signing_key_kid,
        event.artifact_sha256.as_deref(),
        &detail,
        state.as_deref(),
    );
    let mac = key.mac(seq, &hash);
    sql::insert(
        db,
        &sql::NewRow {
            seq,
            at,
            actor,
            action: event.action,
            subject_type: event.subject_type,
            subject_id: event.subject_id,
            signing_key_kid: event.signing_key_kid,
            artifact_sha256: event.artifact_sha256.as_deref(),
            detail: &detail,
            state: state.as_deref(),
            prev_hash: &prev.hash,
            hash: &hash,
            mac: &mac,
        },
    )?;
    sql::insert_products(
        db,
        seq,
        event.subject_type,
        event.subject_id,
        &event.products,
    )?;
    Ok(seq)
}

/// Which audit events to read: every field narrows; all absent = every event.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct AuditQuery {
    /// An action (`license.issue`), or a family of them (`license.*`).
    pub action: Option<String>,
    /// Only events about this row (a license id, a key id...).
    pub subject_id: Option<String>,
    /// Only what this person (or the server, `server`) did: the actor as recorded.
    pub actor: Option<String>,
    /// Only events about this product: the product itself, its policies, its licenses
    /// and their machines, and batches that issued its licenses (the product's id).
    pub product_id: Option<String>,
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
pub(crate) fn time_bound(field: &str, text: &str) -> Result<String> {
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

/// The outcome of checking the log against its key, its anchor and the store.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AuditVerification {
    /// Every row is present, in order, unedited, and the log's replay gives the
    /// store's current state.
    pub intact: bool,
    /// How many rows were checked.
    #[ts(type = "number")]
    pub rows: i64,
    /// The first row that is missing or edited, when the chain itself is broken.
    #[ts(type = "number | null")]
    pub broken_at: Option<i64>,
    /// What was found, in words.
    pub message: String,
    /// Whether the MACs and the keychain's anchor were checked (false when the log was
    /// never anchored or the audit key could not be read: then only the hash chain
    /// and the replay were checked, which someone with write access to the file could
    /// have recomputed).
    pub anchored: bool,
    /// Every difference found, one sentence each (at most [`MAX_PROBLEMS`]).
    pub problems: Vec<String>,
    /// How many differences there are in all (may exceed the list).
    #[ts(type = "number")]
    pub problem_count: i64,
}

/// At most this many problems are listed; the count covers all of them.
pub const MAX_PROBLEMS: usize = 100;

/// What the check is given from outside the database.
#[derive(Debug, Clone, Default)]
pub struct Anchoring<'a> {
    /// The audit key, when the keychain gave it.
    pub key: Option<&'a AuditKey>,
    /// The head the keychain keeps, when it keeps one.
    pub head: Option<&'a Head>,
    /// Why the key could not be had, for the report.
    pub unavailable: Option<String>,
}

struct Findings {
    problems: Vec<String>,
    count: i64,
    broken_at: Option<i64>,
}

impl Findings {
    fn add(&mut self, at: Option<i64>, message: String) {
        if self.broken_at.is_none() {
            self.broken_at = at;
        }
        self.count += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(message);
        }
    }
}

/// The last recorded state of a subject: where, by which action, and what.
struct Recorded {
    seq: i64,
    action: String,
    /// The state, or for a license a batch issued and nothing changed since, the leaf
    /// hash its batch row committed to (see [`batch`]).
    state: String,
    leaf: bool,
}

/// Checks the whole log: the chain (every row present, in order, unedited), every
/// row's MAC and the keychain's head when `anchoring` has them, the baseline recorded
/// when the log was anchored, and the replay of the recorded states against the
/// store's current rows. Reads the log once, row by row.
pub fn check(db: Db<'_>, anchoring: &Anchoring<'_>) -> Result<AuditVerification> {
    let mut found = Findings {
        problems: Vec::new(),
        count: 0,
        broken_at: None,
    };
    let anchor = anchor::recorded(db)?;
    let key = anchoring.key;
    if let (Some(anchor), Some(key)) = (&anchor, key) {
        if anchor.key_id != key.id() {
            found.add(
                None,
                format!(
                    "the keychain's audit key ({}) is not the one this store was anchored with ({}); \
                     the keychain entry was replaced, or this store was swapped",
                    key.id(),
                    anchor.key_id
                ),
            );
        }
    }
    let check_macs = anchor.is_some() && key.is_some() && found.count == 0;

    let mut replay: HashMap<(String, String), Recorded> = HashMap::new();
    for (kind, id, state) in state::baseline(db)? {
        replay.insert(
            (kind, id),
            Recorded {
                seq: 0,
                action: "the baseline recorded when the log was anchored".to_owned(),
                state,
                leaf: false,
            },
        );
    }
    let mut prev = GENESIS.to_owned();
    let mut rows = 0i64;
    let mut chain_broken = false;
    let mut baseline_row: Option<(i64, String)> = None;
    // The licenses and customers each batch row committed to, by its position.
    let mut committed = batch::committed(db)?;
    // The products each event concerns, for the check of the product index.
    let mut filed = products::Expected::load(db)?;
    sql::each(db, |e| {
        rows += 1;
        let expected = rows;
        if chain_broken {
            return;
        }
        if e.seq != expected {
            found.add(
                Some(expected),
                format!(
                    "audit chain broken: row {expected} is missing (found {} next)",
                    e.seq
                ),
            );
            chain_broken = true;
            return;
        }
        if e.prev_hash != prev {
            found.add(
                Some(e.seq),
                format!(
                    "audit chain broken at row {}: it does not follow row {}",
                    e.seq,
                    e.seq - 1
                ),
            );
            chain_broken = true;
            return;
        }
        if recompute(&e) != e.hash {
            found.add(
                Some(e.seq),
                format!(
                    "audit chain broken at row {}: its contents were edited",
                    e.seq
                ),
            );
            chain_broken = true;
            return;
        }
        if check_macs {
            let (Some(key), Some(mac)) = (key, e.mac.as_deref()) else {
                found.add(
                    Some(e.seq),
                    format!(
                        "row {} has no MAC: it was written or rewritten outside Keywright",
                        e.seq
                    ),
                );
                chain_broken = true;
                return;
            };
            if !key.mac_matches(e.seq, &e.hash, mac) {
                found.add(
                    Some(e.seq),
                    format!(
                        "row {} ({} by {} at {}) does not carry this store's audit key: \
                         the log was rewritten from this row on and its hashes recomputed",
                        e.seq, e.action, e.actor, e.at
                    ),
                );
                chain_broken = true;
                return;
            }
        }
        if e.action == anchor::ANCHOR_ACTION {
            baseline_row = Some((e.seq, e.detail.clone()));
        }
        if e.action == batch::BATCH_ACTION {
            let mut rows = committed.remove(&e.seq).unwrap_or_default();
            filed.note(&e, &rows);
            if let Some(problem) = batch::check_row(e.seq, &e.detail, &mut rows) {
                found.add(Some(e.seq), problem);
            }
            for c in rows.into_iter().filter(|c| c.kind == "license") {
                replay.insert(
                    ("license".to_owned(), c.id),
                    Recorded {
                        seq: e.seq,
                        action: e.action.clone(),
                        state: c.leaf,
                        leaf: true,
                    },
                );
            }
        } else {
            filed.note(&e, &[]);
        }
        if let (Some(kind), Some(id), Some(state)) = (
            e.subject_type.clone(),
            e.subject_id.clone(),
            e.state.clone(),
        ) {
            replay.insert(
                (kind, id),
                Recorded {
                    seq: e.seq,
                    action: e.action.clone(),
                    state,
                    leaf: false,
                },
            );
        }
        prev = e.hash.clone();
    })?;

    // Rows that say a batch row committed to them, where the log has no such row.
    if !chain_broken {
        let mut stray: Vec<(i64, Vec<batch::Committed>)> = committed.into_iter().collect();
        stray.sort_by_key(|(seq, _)| *seq);
        for (seq, rows) in stray {
            for c in rows {
                found.add(
                    None,
                    format!(
                        "{} {} says audit row {seq} issued it, but that row is not a batch's: it was added or changed outside Keywright",
                        c.kind, c.id
                    ),
                );
            }
        }
    }

    // The anchor outside the database: the keychain's head must still be in the log.
    if check_macs {
        if let Some(head) = anchoring.head {
            if let Some(problem) = anchor::compare_head(db, head, rows)? {
                found.add(Some(head.seq.min(rows + 1)), problem);
            }
        }
    }

    // The baseline taken when an older store was anchored must be what its row says.
    if let Some(recorded) = &anchor {
        if let Some(problem) = state::check_baseline(db, recorded, baseline_row.as_ref())? {
            found.add(None, problem);
        }
    }

    // The replay: every tracked row must be what the log last said of it. (A log
    // never anchored recorded no states: there is nothing to replay.)
    if !chain_broken && anchor.is_some() {
        state::compare_with_store(db, replay, |problem| found.add(None, problem))?;
    }

    // The index the log is filtered by product through: outside the rows' hashes, so
    // it is compared with what the events and the store say (after a broken chain,
    // the events themselves are in doubt).
    let [(missing, first_missing), (extra, first_extra)] = if chain_broken {
        [(0, None), (0, None)]
    } else {
        filed.compare(db)?
    };
    if missing > 0 {
        found.add(
            None,
            format!(
                "the audit log's product index misses {missing} event(s) (the first is row {}): \
                 filtered by product, the log would hide them; it was edited outside Keywright",
                first_missing.unwrap_or_default()
            ),
        );
    }
    if extra > 0 {
        found.add(
            None,
            format!(
                "the audit log's product index files {extra} event(s) under a product they do not \
                 concern (the first is row {}): it was edited outside Keywright",
                first_extra.unwrap_or_default()
            ),
        );
    }

    let anchored = check_macs;
    let intact = found.count == 0;
    let message = if intact {
        let how = if anchored {
            "every row carries this store's audit key, the keychain's anchor matches"
        } else if let Some(why) = &anchoring.unavailable {
            why.as_str()
        } else {
            "not anchored yet: the hash chain alone was checked"
        };
        format!("audit chain intact: {rows} rows; {how}; the log's replay gives the store's current state")
    } else {
        let first = found.problems.first().cloned().unwrap_or_default();
        if found.count > 1 {
            format!("{first} (and {} more problems)", found.count - 1)
        } else {
            first
        }
    };
    Ok(AuditVerification {
        intact,
        rows,
        broken_at: found.broken_at,
        message,
        anchored,
        problems: found.problems,
        problem_count: found.count,
    })
}

/// SHA-256 of an artifact, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
