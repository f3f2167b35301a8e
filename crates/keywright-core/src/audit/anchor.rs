//! Anchoring the audit log outside the database.
//!
//! One keychain entry beside the signing keys (service `keywright/<store id>`, account
//! `audit-anchor`): the audit key, 32 random bytes that MAC every row, and the head, the
//! position and hash of the newest row (one entry, so opening asks the keychain once
//! and a commit writes it once). The store records which key anchored it (`store_meta`
//! `audit_anchor`: the key's public id and, for a store that had rows before it was
//! anchored, the anchoring row and its baseline).
//!
//! At every open the head is compared with the log: rows missing at the end, or a
//! different row where the head was, mean the file was edited; rows after the head
//! (a crash between a commit and the keychain write) must carry valid MACs, and the
//! head then moves up to them. After every commit the head is written again (at most
//! once per [`Keywright::set_anchor_interval`] for a busy server, and when it closes).
//!
//! What it cannot see: someone holding the unlocked keychain as well as the file can
//! compute MACs and move the head; that is the OS account itself.

use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{append, head, sql, Anchoring, AuditKey, AuditVerification, Event, Head};
use crate::error::{Error, ErrorCode, Result};
use crate::store::db::Db;
use crate::{stamp, Keywright};

/// The keychain account of the audit key and the head.
pub const ANCHOR_ACCOUNT: &str = "audit-anchor";
/// The first bytes of that entry: then the 32-byte key, then the head as JSON (absent
/// until the first head is written).
const ENTRY_MAGIC: &[u8; 8] = b"KWAUDIT1";
/// The action of the row that anchors an older store's log.
pub const ANCHOR_ACTION: &str = "audit.anchor";
const META_KEY: &str = "audit_anchor";

/// What the store records about its anchoring.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recorded {
    /// [`AuditKey::id`] of the key that MACs the rows.
    pub key_id: String,
    /// The `audit.anchor` row, for a store that had rows before it was anchored.
    pub anchor_seq: Option<i64>,
}

/// The store's anchoring record, if it was anchored.
pub fn recorded(db: Db<'_>) -> Result<Option<Recorded>> {
    match sql::meta(db, META_KEY)? {
        None => Ok(None),
        Some(t) => serde_json::from_str(&t).map(Some).map_err(|e| {
            Error::new(
                ErrorCode::AuditTampered,
                format!("the store's audit anchor record is damaged ({e})"),
            )
        }),
    }
}

/// Compares the keychain's `head` with the log, which has `rows` rows.
pub fn compare_head(db: Db<'_>, head: &Head, rows: i64) -> Result<Option<String>> {
    if head.seq == 0 {
        return Ok(None);
    }
    if rows < head.seq {
        return Ok(Some(if rows == 0 {
            format!(
                "every row of the audit log was deleted: the OS keychain's anchor records {} rows",
                head.seq
            )
        } else {
            format!(
                "rows {} to {} were deleted from the end of the audit log: it ends at row {rows}, \
                 the OS keychain's anchor records {} rows",
                rows + 1,
                head.seq,
                head.seq
            )
        }));
    }
    match sql::hash_at(db, head.seq)? {
        Some(h) if h == head.hash => Ok(None),
        Some(_) => Ok(Some(format!(
            "row {} of the audit log is not the row the OS keychain anchored: the log was rewritten",
            head.seq
        ))),
        None => Ok(Some(format!(
            "row {} of the audit log, which the OS keychain anchored, is missing",
            head.seq
        ))),
    }
}

/// The keychain entry holding `key` and `head`.
pub fn encode_entry(key: &AuditKey, head: Option<&Head>) -> zeroize::Zeroizing<Vec<u8>> {
    let mut out = zeroize::Zeroizing::new(Vec::with_capacity(8 + 32 + 100));
    out.extend_from_slice(ENTRY_MAGIC);
    out.extend_from_slice(key.secret());
    if let Some(head) = head {
        out.extend_from_slice(&serde_json::to_vec(head).expect("a head serializes"));
    }
    out
}

/// Reads the keychain entry: the audit key and, once written, the head.
pub fn decode_entry(bytes: &[u8]) -> Result<(AuditKey, Option<Head>)> {
    if bytes.len() < 40 || &bytes[..8] != ENTRY_MAGIC {
        return Err(Error::new(
            ErrorCode::AuditTampered,
            "the OS keychain's audit anchor entry is not one Keywright wrote",
        ));
    }
    let key = AuditKey::from_bytes(&bytes[8..40])?;
    if bytes.len() == 40 {
        return Ok((key, None));
    }
    let head = serde_json::from_slice(&bytes[40..]).map_err(|e| {
        Error::new(
            ErrorCode::AuditTampered,
            format!("the OS keychain's audit anchor is damaged ({e})"),
        )
    })?;
    Ok((key, Some(head)))
}

/// Anchors the log of the store on `conn` (inside the caller's transaction): checks
/// the chain as it stands, MACs every row with `key`, takes the baseline of every
/// tracked row and, when there was anything to anchor, appends an `audit.anchor` row
/// committing to both. Refuses a chain that is already broken.
pub fn anchor_log(db: Db<'_>, key: &AuditKey, at: &str, actor: &str) -> Result<()> {
    let before = super::check(db, &Anchoring::default())?;
    if !before.intact {
        return Err(Error::new(
            ErrorCode::AuditTampered,
            format!(
                "the audit log cannot be anchored: it was already damaged ({}); restore the store from a backup",
                before.message
            ),
        ));
    }
    for (seq, hash) in sql::hashes(db)? {
        sql::set_mac(db, seq, &key.mac(seq, &hash))?;
    }
    let mut baseline = Vec::new();
    sql::all(db, |kind, id, state| {
        baseline.push((kind.to_owned(), id, state))
    })?;
    baseline.sort();
    let anchor_seq = if before.rows == 0 && baseline.is_empty() {
        None
    } else {
        sql::insert_baseline(db, &baseline)?;
        let seq = append(
            db,
            key,
            at,
            actor,
            &Event {
                action: ANCHOR_ACTION,
                subject_type: Some("store"),
                detail: serde_json::json!({
                    "rowsChecked": before.rows,
                    "baselineRows": baseline.len(),
                    "baselineSha256": super::state::baseline_digest(&baseline),
                    "keyId": key.id(),
                }),
                ..Event::default()
            },
        )?;
        Some(seq)
    };
    let record = Recorded {
        key_id: key.id(),
        anchor_seq,
    };
    sql::set_meta(
        db,
        META_KEY,
        &serde_json::to_string(&record).expect("serializes"),
    )
}

/// Checks the rows after `from` (the keychain's head): each follows the one before
/// and carries a valid MAC.
fn check_tail(db: Db<'_>, key: &AuditKey, from: &Head) -> Result<Option<String>> {
    let mut prev = from.clone();
    sql::each_after(db, from.seq, |e| {
        if e.seq != prev.seq + 1 || e.prev_hash != prev.hash || super::recompute(&e) != e.hash {
            return Some(format!(
                "audit row {} does not follow row {}: the log was edited",
                e.seq, prev.seq
            ));
        }
        if !e
            .mac
            .as_deref()
            .is_some_and(|m| key.mac_matches(e.seq, &e.hash, m))
        {
            return Some(format!(
                "audit row {} ({} at {}) does not carry this store's audit key: it was written outside Keywright",
                e.seq, e.action, e.at
            ));
        }
        prev = Head {
            seq: e.seq,
            hash: e.hash,
        };
        None
    })
}

/// How far the log can be trusted, as found when the store was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AnchorState {
    /// The audit key is in the keychain and the keychain's head is in the log.
    Anchored,
    /// The keychain could not be asked (locked, unreachable): nothing was checked,
    /// and changes wait for it.
    Unverified,
    /// The store cannot be anchored now (opened read-only, never anchored).
    Unanchored,
    /// The log does not match its anchor: changes are refused.
    Tampered,
    /// The store was anchored, but the keychain has no audit key for it (deleted, or
    /// the file was copied from another machine): changes are refused.
    KeyMissing,
}

/// The audit anchor's state for the shells.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AuditStatus {
    /// What was found at open.
    pub state: AnchorState,
    /// In words, with what to do.
    pub message: String,
}

/// The open store's anchoring: the key once read, what was found, the head last
/// written to the keychain.
#[derive(Debug)]
pub(crate) struct Anchor {
    key: Option<AuditKey>,
    status: AuditStatus,
    written: Option<Head>,
    interval: Duration,
    last_write: Option<Instant>,
}

impl Anchor {
    pub(crate) fn new() -> Self {
        Self {
            key: None,
            status: AuditStatus {
                state: AnchorState::Unverified,
                message: "the audit anchor was not checked yet".to_owned(),
            },
            written: None,
            interval: Duration::ZERO,
            last_write: None,
        }
    }
}

impl Anchor {
    /// A connection that only reads: it never anchors and never writes.
    pub(crate) fn reader(&mut self) {
        self.status = status(
            AnchorState::Unanchored,
            "this connection only reads; the audit anchor is checked by the one that writes",
        );
    }
}

fn status(state: AnchorState, message: impl Into<String>) -> AuditStatus {
    AuditStatus {
        state,
        message: message.into(),
    }
}

impl Keywright {
    /// Checks (or, for a store never anchored, creates) the audit anchor. Called when
    /// the store is opened; never fails: what it finds is [`Keywright::audit_status`],
    /// and changes are refused while it is not [`AnchorState::Anchored`].
    pub(crate) fn open_anchor(&mut self, now: Timestamp) {
        let status = match self.try_open_anchor(now) {
            Ok(s) => s,
            Err(e) => match e.code {
                ErrorCode::AuditTampered => status(AnchorState::Tampered, e.message),
                ErrorCode::KeychainEntryMissing => status(AnchorState::KeyMissing, e.message),
                _ => status(
                    AnchorState::Unverified,
                    format!("the audit log's anchor could not be checked: {}", e.message),
                ),
            },
        };
        self.anchor.status = AuditStatus {
            message: self.worded(status.message),
            ..status
        };
    }

    /// `text` with "the OS keychain" naming where this store's anchor really is (a
    /// key bundle's state file on a headless server).
    fn worded(&self, text: String) -> String {
        let place = self.vault.place();
        if place == crate::vault::OS_KEYCHAIN {
            text
        } else {
            text.replace(crate::vault::OS_KEYCHAIN, &place)
        }
    }

    fn try_open_anchor(&mut self, now: Timestamp) -> Result<AuditStatus> {
        let db = self.store.db();
        let read_only = self.store.connection_read_only()?;
        let record = recorded(db)?;
        let (key, head_in_vault) = match self.vault.get(ANCHOR_ACCOUNT) {
            Ok(bytes) => {
                let (key, head) = decode_entry(&bytes)?;
                (Some(key), head)
            }
            Err(e) if e.code == ErrorCode::KeychainEntryMissing => (None, None),
            Err(e) => return Err(e),
        };
        match (record, key) {
            (Some(record), Some(key)) => {
                if record.key_id != key.id() {
                    return Err(Error::new(
                        ErrorCode::AuditTampered,
                        format!(
                            "the OS keychain's audit key ({}) is not the one this store was anchored with ({}): \
                             the keychain entry was replaced, or the store file was swapped",
                            key.id(),
                            record.key_id
                        ),
                    ));
                }
                let in_vault = head_in_vault;
                let from = match &in_vault {
                    Some(head) => {
                        let rows = head_of(db)?.seq;
                        if let Some(problem) = compare_head(db, head, rows)? {
                            return Err(Error::new(ErrorCode::AuditTampered, problem));
                        }
                        head.clone()
                    }
                    // Anchored, but the head was never written (a crash right after
                    // anchoring) or was removed: every row's MAC must hold.
                    None => Head::empty(),
                };
                if let Some(problem) = check_tail(db, &key, &from)? {
                    return Err(Error::new(ErrorCode::AuditTampered, problem));
                }
                self.anchor.key = Some(key);
                self.anchor.written = in_vault;
                self.write_head(true);
                Ok(status(
                    AnchorState::Anchored,
                    "the audit log matches its anchor in the OS keychain",
                ))
            }
            (Some(_), None) => Err(Error::new(
                ErrorCode::KeychainEntryMissing,
                format!(
                    "the OS keychain has no audit key for this store (service {}): it was deleted, or this store \
                     file was copied from another machine. Everything can be read; changes are refused until the \
                     store is restored from a backup (which carries the key)",
                    self.vault.service()
                ),
            )),
            (None, key) => {
                if head_in_vault.is_some() {
                    return Err(Error::new(
                        ErrorCode::AuditTampered,
                        "the OS keychain anchors this store's audit log, but the store's own record of it was removed",
                    ));
                }
                if read_only {
                    return Ok(status(
                        AnchorState::Unanchored,
                        "the audit log is not anchored yet, and the store is read-only: it is anchored the first time \
                         the store is opened for writing",
                    ));
                }
                // A key left by an anchoring that did not finish is reused.
                let key = match key {
                    Some(k) => k,
                    None => {
                        let k = AuditKey::generate();
                        self.vault.put(ANCHOR_ACCOUNT, &encode_entry(&k, None))?;
                        k
                    }
                };
                let tx = self.store.transaction()?;
                anchor_log(tx.db(), &key, &stamp(now), &self.actor)?;
                tx.commit()?;
                self.anchor.key = Some(key);
                self.write_head(true);
                Ok(status(
                    AnchorState::Anchored,
                    "the audit log was anchored in the OS keychain",
                ))
            }
        }
    }

    /// The audit key for appending rows; refuses while the anchor is not sound.
    pub(crate) fn audit_key(&mut self) -> Result<AuditKey> {
        if self.anchor.key.is_none() && self.anchor.status.state == AnchorState::Unverified {
            // The keychain was unreachable at open (locked): ask again.
            self.open_anchor(Timestamp::now());
        }
        match (&self.anchor.key, self.anchor.status.state) {
            (Some(key), AnchorState::Anchored) => Ok(key.clone()),
            (_, AnchorState::Tampered) => Err(Error::new(
                ErrorCode::AuditTampered,
                format!(
                    "{}. Nothing is changed or signed in this store until it is restored from a backup; \
                     `keywright audit verify` lists what differs",
                    self.anchor.status.message
                ),
            )),
            (_, AnchorState::KeyMissing) => Err(Error::new(
                ErrorCode::KeychainEntryMissing,
                self.anchor.status.message.clone(),
            )),
            (_, AnchorState::Unanchored) => Err(Error::new(
                ErrorCode::Store,
                self.anchor.status.message.clone(),
            )),
            _ => Err(Error::new(
                ErrorCode::KeychainUnavailable,
                self.anchor.status.message.clone(),
            )),
        }
    }

    /// Records the log's new head in the keychain after a commit (at most once per
    /// anchor interval unless `force`). A keychain that refuses now is asked again
    /// after the next commit: the head in the keychain may lag, never lead.
    pub(crate) fn write_head(&mut self, force: bool) {
        if self.anchor.key.is_none() {
            return;
        }
        if !force {
            if let Some(last) = self.anchor.last_write {
                if last.elapsed() < self.anchor.interval {
                    return;
                }
            }
        }
        let Ok(now) = head_of(self.store.db()) else {
            return;
        };
        if self.anchor.written.as_ref() == Some(&now) {
            return;
        }
        let Some(key) = &self.anchor.key else {
            return;
        };
        if self
            .vault
            .put(ANCHOR_ACCOUNT, &encode_entry(key, Some(&now)))
            .is_ok()
        {
            self.anchor.written = Some(now);
            self.anchor.last_write = Some(Instant::now());
        }
    }

    /// After a commit that appended audit rows.
    pub(crate) fn committed(&mut self) {
        self.write_head(false);
    }

    /// Writes the head to the keychain at most once per `interval` (the activation
    /// server sets a second: a keychain write per request would be its bottleneck);
    /// the default, zero, writes it after every commit. The last head is written when
    /// the store is closed or [`Keywright::flush_anchor`] is called.
    pub fn set_anchor_interval(&mut self, interval: Duration) {
        self.anchor.interval = interval;
    }

    /// Writes the log's head to the keychain now if it moved.
    pub fn flush_anchor(&mut self) {
        self.write_head(true);
    }

    /// What the audit anchor check found when the store was opened.
    pub fn audit_status(&self) -> AuditStatus {
        self.anchor.status.clone()
    }

    /// Checks the whole audit log: chain, MACs, the keychain's anchor, the baseline
    /// and the replay against the store (a broken log is a finding, not an error).
    pub fn check_audit(&self) -> Result<AuditVerification> {
        let entry = self
            .vault
            .get(ANCHOR_ACCOUNT)
            .and_then(|b| decode_entry(&b));
        let (key, head, unavailable) = match entry {
            Ok((k, head)) => (Some(k), head, None),
            Err(e) => (
                None,
                None,
                Some(format!("the audit key could not be read ({})", e.message)),
            ),
        };
        let mut report = super::check(
            self.store.db(),
            &Anchoring {
                key: key.as_ref(),
                head: head.as_ref(),
                unavailable,
            },
        )?;
        report.message = self.worded(report.message);
        report.problems = report
            .problems
            .into_iter()
            .map(|p| self.worded(p))
            .collect();
        Ok(report)
    }

    /// Checks the audit log; returns how many rows it has, or what is wrong.
    pub fn verify_audit(&self) -> Result<usize> {
        let report = self.check_audit()?;
        if report.intact {
            Ok(report.rows as usize)
        } else {
            Err(Error::new(ErrorCode::AuditTampered, report.message))
        }
    }
}

fn head_of(db: Db<'_>) -> Result<Head> {
    head(db)
}
