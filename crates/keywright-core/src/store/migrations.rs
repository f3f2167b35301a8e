//! The schema: one numbered `.sql` file per step in `migrations/`, applied in order by
//! rusqlite_migration, which counts them in SQLite's `user_version`. Append only: a
//! released step never changes (a store that ran it never runs it again), so each
//! file's SHA-256 is pinned by a test below.

use rusqlite::Connection;
use rusqlite_migration::{Migrations, M};

use crate::error::{Error, ErrorCode, Result};

/// The schema, one migration per step. Append only: a released step never changes.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the walking skeleton's tables.
    include_str!("migrations/01_skeleton.sql"),
    // 2: license search. A trigram FTS5 index over the key and the customer's name and
    // email (substring search in any case), kept in step by triggers so every writer,
    // present and future, maintains it; plus one index per sort order. Rows are tied
    // by license id, not rowid: VACUUM may renumber the rowids of `licenses`.
    include_str!("migrations/02_license_search.sql"),
    // 3: RSA-2048 and ECDSA P-256 signing keys. SQLite cannot alter a CHECK, so the
    // table is rebuilt (SQLite's documented procedure; foreign keys are off while
    // migrations run, and checked afterwards). Public keys of the new algorithms are
    // stored as SPKI DER; Ed25519 keys stay raw 32 bytes.
    include_str!("migrations/03_more_key_algorithms.sql"),
    // 4: faster license search (issue 4). The customer sort key is kept on each
    // license by triggers (`customer_sort`, the same expression the query used to
    // compute through a join) and indexed with the id, so sorting by customer walks
    // an index. Composite indexes let the policy/product, status and "expiring"
    // filters count matches without reading rows. `customer_words` is a word index
    // (unicode61, with 1- and 2-character prefix indexes) over customer names and
    // emails: it answers search text shorter than a trigram.
    include_str!("migrations/04_faster_search.sql"),
    // 5: machines (air-gapped activation). A machine holds a seat while `active`; the
    // partial unique index allows one active row per (license, fingerprint) while
    // keeping every deactivated one as history.
    include_str!("migrations/05_machines.sql"),
    // 6: policy key options: a Keygen-style key template for the dataset of signed keys,
    // and unsigned human-typable keys (no scheme).
    include_str!("migrations/06_policy_key_options.sql"),
    // 7: online activation server: one row per request to /api/check, /api/activate and
    // /api/validate (what was asked, by whom, and the answer). Not part of the audit
    // chain: checks are frequent and say nothing about who changed what.
    include_str!("migrations/07_server_events.sql"),
    // 8: batch issuance (issue 7): a customer's company; and each license issued from a
    // CSV order remembers (order id, position 1..quantity), unique, so a re-run after a
    // crash or a cancel issues only what is missing.
    include_str!("migrations/08_batch_issuance.sql"),
    // 9: large-store reads (issue 7): with a million audit rows, a subject's history (the
    // license and machine panels), an action filter and a time range each read one
    // index range instead of the whole log, and the signer's "clock behind the log"
    // check (`max(at)`) is one index probe; the Customers screen walks its order.
    include_str!("migrations/09_large_store_indexes.sql"),
    // 10: policy options (issue 4/5): Keygen's expiration strategy and strict flag, an
    // offline grace period, and the transfer rule; the defaults keep what existing
    // policies did. A license's own entitlements (NULL = inherit the policy's).
    include_str!("migrations/10_policy_options.sql"),
    // 11: search that stays fast for broad text, and issuing that stays cheap (issue 7).
    //
    // `licenses` and `customers` are rebuilt (SQLite's procedure: new table, copy,
    // drop, rename; foreign keys are off while migrations run) around an explicit
    // `seq INTEGER PRIMARY KEY`: the row number SQLite keeps anyway, now stable (VACUUM
    // renumbers only implicit rowids), with `id` a UNIQUE column that references still
    // point at. The two FTS indexes become contentless and keyed by `seq`, so a search
    // counts and lists its matches from the index alone, and can test one license
    // against the index (`MATCH ? AND rowid = ?`) while walking a sort order, which
    // is what a broad search ("cu") needs.
    //
    // A signed key is about 700 characters. The trigram index now holds the last 128
    // of them (the signature, which tells keys apart; all of a shorter key), and keys
    // are kept unique by their last 64 characters (signature bytes: unique per key)
    // instead of a UNIQUE index over all of each key. Both had made each issued
    // license write kilobytes of index; a whole key is still found exactly, through
    // the tail index and a comparison of the whole.
    include_str!("migrations/11_search_by_seq.sql"),
    // 12: the audit log proves the store, not just itself (issue 12): each row records the
    // state of the row it changed (`state`, covered by its hash) and a MAC under the
    // store's audit key from the OS keychain (`mac`). `audit_baseline` is the state of
    // every tracked row when an older store's log was anchored; the anchoring row
    // commits to it. Both are filled by the code that anchors (it needs the keychain).
    include_str!("migrations/12_audit_state.sql"),
    include_str!("migrations/13_heartbeats.sql"),
    // 14: sending licenses by email (issue 19): the SMTP account and message templates,
    // and the batch send's ledger (one row per order).
    include_str!("migrations/14_mail.sql"),
    // 15: batch issuance at the hardware's pace (issue 18). Signed keys leave the
    // trigram index: a key is found whole, by its start (`licenses_key_head`) or by its
    // end (`key_rtail`, the last 64 characters reversed, unique), and only short keys
    // stay in the trigram index. A batch writes one audit row per transaction that
    // commits to every license and customer it wrote (`proof_seq`, `proof_pos`,
    // `proof_leaf` on each), and the customer sort key is written with the license.
    include_str!("migrations/15_batch_proofs.sql"),
    // 16: the desk (issue 16): the dashboard counts activations per day through an
    // index on the activation time, and the audit log is filtered by who acted.
    include_str!("migrations/16_activations_by_day.sql"),
    // 17: each license's active machines (`active_machines`), kept by triggers on
    // machines, so the dashboard's seats used and licenses still on machines read the
    // licenses with machines from partial indexes instead of counting every machine.
    include_str!("migrations/17_seats_in_use.sql"),
    // 18: the audit log filtered by product (issue 16): `audit_products` holds which
    // products each event concerns, written with the event, filled for older events.
    include_str!("migrations/18_audit_products.sql"),
    // 19: a signing key's scheduled retirement (`retire_at`), after which it no longer
    // signs; the dashboard names keys retiring within 30 days.
    include_str!("migrations/19_key_retirement.sql"),
];

pub(super) fn migrations() -> Migrations<'static> {
    Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect())
}

/// Brings a snapshot held in memory (a backup being restored) to this binary's
/// schema, as opening a store file does, so the restore writes rows of today's shape.
pub(crate) fn migrate_snapshot(conn: &mut Connection) -> Result<()> {
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    migrations().to_latest(conn).map_err(|e| {
        Error::new(
            ErrorCode::Store,
            format!("cannot bring the backed-up store to this version's schema: {e}"),
        )
    })?;
    let dangling: i64 =
        conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })?;
    if dangling > 0 {
        return Err(Error::new(
            ErrorCode::BackupDamaged,
            format!("the backed-up store has {dangling} broken references"),
        ));
    }
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    /// Released migrations, byte for byte: a store that ran one never runs it again,
    /// so an edit would give stores of the same version different schemas. Append a
    /// new file instead (and its digest here).
    const RELEASED: [&str; 14] = [
        "5e6c74744c4f07b7af95825364b59cb8badb9a0e724a76eb2de6ddcc288a51a8",
        "c36049e961e003796d7938cde138c768a7335d035a9924aea1b5128b59637233",
        "2395476dc29d9c0f91a48ed663508adb1e0f85ef30347d63428c83378f70ac89",
        "2d2e182e441376affc9385b96f73ff4a46af4be17d3a012b8b26169e62e4cbdd",
        "2103e4ac0865901429057b965478314f801a4baea2bfe4ffd9098b9b63260af9",
        "c491dbaad6a4173ff5dc2088b1a9a826736bce4d04e518a16fe9230561e8b6b9",
        "7c2de91331d6b7d1365250c48f5a933c6fe4e0b525c236c8b3f19b73d9c08520",
        "727e005854af890ac27e02df0e352058e34bfe21d1e89c30178d45f0cbbe0e23",
        "3a3ef89573da01fe75869fc9ad0ecc90e44722bbd45e9b5c99dc2d45e68d462f",
        "e67e9ce9c9e2dbed9f66c4c2d754da93478d3483b06662da72d51c367013dd2f",
        "ae6b393d0ab9d96184962c491b7b36ad9cacf0de2db69bb0ebefb5d092a8e3df",
        "fe85c6b6ffede5c755aa72b1953dbd160a269a8da1945f936e94169ff1e05a4a",
        "8de7ade42b4957b1b4f394677287a680acd35d6e7dfab25281b6421c88002314",
        "fbf62d906a3a91e85adc8a0db696611d25182e285007866554d62e5ab436df2b",
    ];

    #[test]
    fn released_migrations_are_unchanged() {
        assert!(super::MIGRATIONS.len() >= RELEASED.len());
        for (i, (sql, want)) in super::MIGRATIONS.iter().zip(RELEASED).enumerate() {
            assert_eq!(
                hex::encode(Sha256::digest(sql.as_bytes())),
                want,
                "migration {} changed after its release",
                i + 1
            );
        }
    }
}
