//! The SQLite store: one file per vendor, WAL, `synchronous=FULL`, foreign keys on,
//! schema versioned by `user_version` (an older binary refuses a newer store).

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension};
use rusqlite_migration::{Migrations, M};

use crate::error::{Error, ErrorCode, Result};

/// The schema, one migration per step. Append only: a released step never changes.
const MIGRATIONS: &[&str] = &[
    // 1: the walking skeleton's tables.
    r#"
    CREATE TABLE store_meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT;

    CREATE TABLE signing_keys (
        id         TEXT PRIMARY KEY,
        kid        TEXT NOT NULL UNIQUE,
        name       TEXT NOT NULL,
        algorithm  TEXT NOT NULL CHECK (algorithm IN ('ed25519')),
        public_key BLOB NOT NULL,
        status     TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired', 'revoked')),
        created_at TEXT NOT NULL
    ) STRICT;

    CREATE TABLE products (
        id              TEXT PRIMARY KEY,
        name            TEXT NOT NULL,
        code            TEXT NOT NULL UNIQUE,
        url             TEXT,
        support_message TEXT,
        signing_key_id  TEXT NOT NULL REFERENCES signing_keys (id),
        created_at      TEXT NOT NULL
    ) STRICT;

    CREATE TABLE policies (
        id               TEXT PRIMARY KEY,
        product_id       TEXT NOT NULL REFERENCES products (id),
        name             TEXT NOT NULL,
        scheme           TEXT NOT NULL,
        duration_seconds INTEGER CHECK (duration_seconds > 0),
        max_machines     INTEGER CHECK (max_machines > 0),
        floating         INTEGER NOT NULL CHECK (floating IN (0, 1)),
        file_ttl_seconds INTEGER CHECK (file_ttl_seconds >= 3600),
        encrypt          INTEGER NOT NULL CHECK (encrypt IN (0, 1)),
        entitlements     TEXT NOT NULL DEFAULT '[]',
        created_at       TEXT NOT NULL,
        UNIQUE (product_id, name)
    ) STRICT;

    CREATE TABLE customers (
        id         TEXT PRIMARY KEY,
        name       TEXT,
        email      TEXT,
        created_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX customers_email ON customers (email);

    CREATE TABLE licenses (
        id             TEXT PRIMARY KEY,
        key            TEXT NOT NULL UNIQUE,
        policy_id      TEXT NOT NULL REFERENCES policies (id),
        customer_id    TEXT REFERENCES customers (id),
        signing_key_id TEXT NOT NULL REFERENCES signing_keys (id),
        status         TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'revoked')),
        expiry         TEXT,
        metadata       TEXT NOT NULL DEFAULT '{}',
        created_at     TEXT NOT NULL,
        updated_at     TEXT NOT NULL
    ) STRICT;
    CREATE INDEX licenses_policy ON licenses (policy_id);
    CREATE INDEX licenses_customer ON licenses (customer_id);
    CREATE INDEX licenses_created ON licenses (created_at);

    -- Append-only, hash-chained: each row commits to the one before it.
    CREATE TABLE audit_events (
        seq             INTEGER PRIMARY KEY,
        at              TEXT NOT NULL,
        actor           TEXT NOT NULL,
        action          TEXT NOT NULL,
        subject_type    TEXT,
        subject_id      TEXT,
        signing_key_kid TEXT,
        artifact_sha256 TEXT,
        detail          TEXT NOT NULL DEFAULT '{}',
        prev_hash       TEXT NOT NULL,
        hash            TEXT NOT NULL UNIQUE
    ) STRICT;
    "#,
    // 2: license search. A trigram FTS5 index over the key and the customer's name and
    // email (substring search in any case), kept in step by triggers so every writer,
    // present and future, maintains it; plus one index per sort order. Rows are tied
    // by license id, not rowid: VACUUM may renumber the rowids of `licenses`.
    r#"
    CREATE VIRTUAL TABLE license_search USING fts5 (
        license_id UNINDEXED, key, customer_name, customer_email, tokenize = 'trigram'
    );
    INSERT INTO license_search (license_id, key, customer_name, customer_email)
        SELECT l.id, l.key, c.name, c.email
        FROM licenses l LEFT JOIN customers c ON c.id = l.customer_id;

    CREATE TRIGGER licenses_search_insert AFTER INSERT ON licenses BEGIN
        INSERT INTO license_search (license_id, key, customer_name, customer_email)
            VALUES (new.id, new.key,
                    (SELECT name FROM customers WHERE id = new.customer_id),
                    (SELECT email FROM customers WHERE id = new.customer_id));
    END;
    CREATE TRIGGER licenses_search_update AFTER UPDATE OF id, key, customer_id ON licenses BEGIN
        DELETE FROM license_search WHERE license_id = old.id;
        INSERT INTO license_search (license_id, key, customer_name, customer_email)
            VALUES (new.id, new.key,
                    (SELECT name FROM customers WHERE id = new.customer_id),
                    (SELECT email FROM customers WHERE id = new.customer_id));
    END;
    CREATE TRIGGER licenses_search_delete AFTER DELETE ON licenses BEGIN
        DELETE FROM license_search WHERE license_id = old.id;
    END;
    CREATE TRIGGER customers_search_update AFTER UPDATE OF name, email ON customers BEGIN
        UPDATE license_search SET customer_name = new.name, customer_email = new.email
            WHERE license_id IN (SELECT id FROM licenses WHERE customer_id = new.id);
    END;

    DROP INDEX licenses_created;
    CREATE INDEX licenses_created ON licenses (created_at, id);
    -- Perpetual licenses sort after every date: '~' follows the digits.
    CREATE INDEX licenses_expiry ON licenses (coalesce(expiry, '~'), id);
    CREATE INDEX licenses_status ON licenses (status);
    "#,
    // 3: RSA-2048 and ECDSA P-256 signing keys. SQLite cannot alter a CHECK, so the
    // table is rebuilt (SQLite's documented procedure; foreign keys are off while
    // migrations run, and checked afterwards). Public keys of the new algorithms are
    // stored as SPKI DER; Ed25519 keys stay raw 32 bytes.
    r#"
    CREATE TABLE signing_keys_v3 (
        id         TEXT PRIMARY KEY,
        kid        TEXT NOT NULL UNIQUE,
        name       TEXT NOT NULL,
        algorithm  TEXT NOT NULL CHECK (algorithm IN ('ed25519', 'rsa-2048', 'ecdsa-p256')),
        public_key BLOB NOT NULL,
        status     TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired', 'revoked')),
        created_at TEXT NOT NULL
    ) STRICT;
    INSERT INTO signing_keys_v3 (id, kid, name, algorithm, public_key, status, created_at)
        SELECT id, kid, name, algorithm, public_key, status, created_at FROM signing_keys;
    DROP TABLE signing_keys;
    ALTER TABLE signing_keys_v3 RENAME TO signing_keys;
    "#,
    // 4: faster license search (issue 4). The customer sort key is kept on each
    // license by triggers (`customer_sort`, the same expression the query used to
    // compute through a join) and indexed with the id, so sorting by customer walks
    // an index. Composite indexes let the policy/product, status and "expiring"
    // filters count matches without reading rows. `customer_words` is a word index
    // (unicode61, with 1- and 2-character prefix indexes) over customer names and
    // emails: it answers search text shorter than a trigram.
    r#"
    ALTER TABLE licenses ADD COLUMN customer_sort TEXT;
    UPDATE licenses SET customer_sort = coalesce(
        (SELECT coalesce(lower(name), lower(email)) FROM customers WHERE id = licenses.customer_id),
        char(1114111));
    CREATE TRIGGER licenses_customer_sort_insert AFTER INSERT ON licenses BEGIN
        UPDATE licenses SET customer_sort = coalesce(
            (SELECT coalesce(lower(name), lower(email)) FROM customers WHERE id = new.customer_id),
            char(1114111))
        WHERE id = new.id;
    END;
    CREATE TRIGGER licenses_customer_sort_update AFTER UPDATE OF customer_id ON licenses BEGIN
        UPDATE licenses SET customer_sort = coalesce(
            (SELECT coalesce(lower(name), lower(email)) FROM customers WHERE id = new.customer_id),
            char(1114111))
        WHERE id = new.id;
    END;
    CREATE TRIGGER customers_sort_update AFTER UPDATE OF name, email ON customers BEGIN
        UPDATE licenses SET customer_sort = coalesce(lower(new.name), lower(new.email), char(1114111))
        WHERE customer_id = new.id;
    END;
    CREATE INDEX licenses_customer_sort ON licenses (customer_sort, id);

    DROP INDEX licenses_policy;
    CREATE INDEX licenses_policy_expiry ON licenses (policy_id, expiry);
    DROP INDEX licenses_status;
    CREATE INDEX licenses_status_policy ON licenses (status, policy_id);

    CREATE VIRTUAL TABLE customer_words USING fts5 (
        customer_id UNINDEXED, name, email,
        tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2'
    );
    INSERT INTO customer_words (customer_id, name, email) SELECT id, name, email FROM customers;
    CREATE TRIGGER customers_words_insert AFTER INSERT ON customers BEGIN
        INSERT INTO customer_words (customer_id, name, email) VALUES (new.id, new.name, new.email);
    END;
    CREATE TRIGGER customers_words_update AFTER UPDATE OF id, name, email ON customers BEGIN
        DELETE FROM customer_words WHERE customer_id = old.id;
        INSERT INTO customer_words (customer_id, name, email) VALUES (new.id, new.name, new.email);
    END;
    CREATE TRIGGER customers_words_delete AFTER DELETE ON customers BEGIN
        DELETE FROM customer_words WHERE customer_id = old.id;
    END;
    "#,
    // 5: machines (air-gapped activation). A machine holds a seat while `active`; the
    // partial unique index allows one active row per (license, fingerprint) while
    // keeping every deactivated one as history.
    r#"
    CREATE TABLE machines (
        id             TEXT PRIMARY KEY,
        license_id     TEXT NOT NULL REFERENCES licenses (id),
        fingerprint    TEXT NOT NULL,
        name           TEXT,
        hostname       TEXT,
        platform       TEXT,
        os_user        TEXT,
        app_version    TEXT,
        status         TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deactivated')),
        activated_at   TEXT NOT NULL,
        deactivated_at TEXT,
        request_nonce  TEXT,
        -- The nonce of the deactivation receipt that freed the seat: a receipt counts once.
        receipt_nonce  TEXT,
        CHECK ((status = 'active') = (deactivated_at IS NULL))
    ) STRICT;
    CREATE UNIQUE INDEX machines_active_fingerprint ON machines (license_id, fingerprint)
        WHERE status = 'active';
    CREATE INDEX machines_license ON machines (license_id, status);
    "#,
    // Policy key options: a Keygen-style key template for the dataset of signed keys,
    // and unsigned human-typable keys (no scheme).
    r#"
    ALTER TABLE policies ADD COLUMN key_template TEXT;
    ALTER TABLE policies ADD COLUMN unsigned_key INTEGER NOT NULL DEFAULT 0
        CHECK (unsigned_key IN (0, 1));
    "#,
    // Online activation server: one row per request to /api/check, /api/activate and
    // /api/validate (what was asked, by whom, and the answer). Not part of the audit
    // chain: checks are frequent and say nothing about who changed what.
    r#"
    CREATE TABLE server_events (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        at          TEXT NOT NULL,
        endpoint    TEXT NOT NULL,
        license_id  TEXT,
        machine_id  TEXT,
        product_id  TEXT,
        machine     TEXT,
        user        TEXT,
        hwid        TEXT,
        ip          TEXT,
        status      INTEGER NOT NULL,
        result      TEXT NOT NULL
    ) STRICT;
    CREATE INDEX server_events_license ON server_events (license_id, seq);
    -- The server asks "is this hwid active on another license?" on every failed check.
    CREATE INDEX machines_active_by_fingerprint ON machines (fingerprint)
        WHERE status = 'active';
    "#,
    // batch issuance (issue 7): a customer's company; and each license issued from a
    // CSV order remembers (order id, position 1..quantity), unique, so a re-run after a
    // crash or a cancel issues only what is missing.
    r#"
    ALTER TABLE customers ADD COLUMN company TEXT;
    ALTER TABLE licenses ADD COLUMN order_id TEXT;
    ALTER TABLE licenses ADD COLUMN order_seq INTEGER CHECK (order_seq >= 1);
    CREATE UNIQUE INDEX licenses_order ON licenses (order_id, order_seq)
        WHERE order_id IS NOT NULL;
    "#,
    // Large-store reads (issue 7): with a million audit rows, a subject's history (the
    // license and machine panels), an action filter and a time range each read one
    // index range instead of the whole log, and the signer's "clock behind the log"
    // check (`max(at)`) is one index probe; the Customers screen walks its order.
    r#"
    CREATE INDEX audit_events_subject ON audit_events (subject_id, seq);
    CREATE INDEX audit_events_action ON audit_events (action, seq);
    CREATE INDEX audit_events_at ON audit_events (at);
    -- The Customers screen's order (A to Z by name, else email).
    CREATE INDEX customers_sort ON customers (lower(coalesce(name, email, '')), id);
    "#,
    // Policy options (issue 4/5): Keygen's expiration strategy and strict flag, an
    // offline grace period, and the transfer rule; the defaults keep what existing
    // policies did. A license's own entitlements (NULL = inherit the policy's).
    r#"
    ALTER TABLE policies ADD COLUMN expiration_strategy TEXT NOT NULL DEFAULT 'RESTRICT_ACCESS'
        CHECK (expiration_strategy IN ('RESTRICT_ACCESS', 'REVOKE_ACCESS', 'MAINTAIN_ACCESS',
                                       'ALLOW_ACCESS'));
    ALTER TABLE policies ADD COLUMN strict INTEGER NOT NULL DEFAULT 0 CHECK (strict IN (0, 1));
    ALTER TABLE policies ADD COLUMN offline_grace_seconds INTEGER
        CHECK (offline_grace_seconds > 0);
    ALTER TABLE policies ADD COLUMN allow_transfer INTEGER NOT NULL DEFAULT 1
        CHECK (allow_transfer IN (0, 1));
    ALTER TABLE licenses ADD COLUMN entitlements TEXT;
    "#,
    // Search that stays fast for broad text, and issuing that stays cheap (issue 7).
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
    r#"
    DROP TRIGGER licenses_search_insert;
    DROP TRIGGER licenses_search_update;
    DROP TRIGGER licenses_search_delete;
    DROP TRIGGER customers_search_update;
    DROP TRIGGER licenses_customer_sort_insert;
    DROP TRIGGER licenses_customer_sort_update;
    DROP TRIGGER customers_sort_update;
    DROP TRIGGER customers_words_insert;
    DROP TRIGGER customers_words_update;
    DROP TRIGGER customers_words_delete;
    DROP TABLE license_search;
    DROP TABLE customer_words;

    CREATE TABLE customers_v2 (
        seq        INTEGER PRIMARY KEY,
        id         TEXT NOT NULL UNIQUE,
        name       TEXT,
        email      TEXT,
        created_at TEXT NOT NULL,
        company    TEXT
    ) STRICT;
    INSERT INTO customers_v2 (seq, id, name, email, created_at, company)
        SELECT rowid, id, name, email, created_at, company FROM customers;
    DROP TABLE customers;
    ALTER TABLE customers_v2 RENAME TO customers;
    CREATE INDEX customers_email ON customers (email);
    CREATE INDEX customers_sort ON customers (lower(coalesce(name, email, '')), id);

    CREATE TABLE licenses_v2 (
        seq            INTEGER PRIMARY KEY,
        id             TEXT NOT NULL UNIQUE,
        key            TEXT NOT NULL,
        policy_id      TEXT NOT NULL REFERENCES policies (id),
        customer_id    TEXT REFERENCES customers (id),
        signing_key_id TEXT NOT NULL REFERENCES signing_keys (id),
        status         TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'revoked')),
        expiry         TEXT,
        metadata       TEXT NOT NULL DEFAULT '{}',
        created_at     TEXT NOT NULL,
        updated_at     TEXT NOT NULL,
        customer_sort  TEXT,
        order_id       TEXT,
        order_seq      INTEGER CHECK (order_seq >= 1),
        entitlements   TEXT
    ) STRICT;
    INSERT INTO licenses_v2 (seq, id, key, policy_id, customer_id, signing_key_id, status,
                             expiry, metadata, created_at, updated_at, customer_sort,
                             order_id, order_seq, entitlements)
        SELECT rowid, id, key, policy_id, customer_id, signing_key_id, status,
               expiry, metadata, created_at, updated_at, customer_sort,
               order_id, order_seq, entitlements
        FROM licenses;
    DROP TABLE licenses;
    ALTER TABLE licenses_v2 RENAME TO licenses;
    CREATE UNIQUE INDEX licenses_key_tail ON licenses (substr(key, -64));
    CREATE INDEX licenses_customer ON licenses (customer_id);
    CREATE INDEX licenses_created ON licenses (created_at, id);
    CREATE INDEX licenses_expiry ON licenses (coalesce(expiry, '~'), id);
    CREATE INDEX licenses_customer_sort ON licenses (customer_sort, id);
    CREATE INDEX licenses_policy_expiry ON licenses (policy_id, expiry);
    CREATE INDEX licenses_status_policy ON licenses (status, policy_id);
    CREATE UNIQUE INDEX licenses_order ON licenses (order_id, order_seq)
        WHERE order_id IS NOT NULL;

    -- The customer sort key, as migration 4 keeps it.
    CREATE TRIGGER licenses_customer_sort_insert AFTER INSERT ON licenses BEGIN
        UPDATE licenses SET customer_sort = coalesce(
            (SELECT coalesce(lower(name), lower(email)) FROM customers WHERE id = new.customer_id),
            char(1114111))
        WHERE seq = new.seq;
    END;
    CREATE TRIGGER licenses_customer_sort_update AFTER UPDATE OF customer_id ON licenses BEGIN
        UPDATE licenses SET customer_sort = coalesce(
            (SELECT coalesce(lower(name), lower(email)) FROM customers WHERE id = new.customer_id),
            char(1114111))
        WHERE seq = new.seq;
    END;
    CREATE TRIGGER customers_sort_update AFTER UPDATE OF name, email ON customers BEGIN
        UPDATE licenses SET customer_sort = coalesce(lower(new.name), lower(new.email), char(1114111))
        WHERE customer_id = new.id;
    END;

    CREATE VIRTUAL TABLE license_search USING fts5 (
        key_tail, customer_name, customer_email,
        tokenize = 'trigram', content = '', contentless_delete = 1
    );
    INSERT INTO license_search (rowid, key_tail, customer_name, customer_email)
        SELECT l.seq, substr(l.key, -128), c.name, c.email
        FROM licenses l LEFT JOIN customers c ON c.id = l.customer_id;
    CREATE TRIGGER licenses_search_insert AFTER INSERT ON licenses BEGIN
        INSERT INTO license_search (rowid, key_tail, customer_name, customer_email)
            VALUES (new.seq, substr(new.key, -128),
                    (SELECT name FROM customers WHERE id = new.customer_id),
                    (SELECT email FROM customers WHERE id = new.customer_id));
    END;
    CREATE TRIGGER licenses_search_update AFTER UPDATE OF seq, key, customer_id ON licenses BEGIN
        DELETE FROM license_search WHERE rowid = old.seq;
        INSERT INTO license_search (rowid, key_tail, customer_name, customer_email)
            VALUES (new.seq, substr(new.key, -128),
                    (SELECT name FROM customers WHERE id = new.customer_id),
                    (SELECT email FROM customers WHERE id = new.customer_id));
    END;
    CREATE TRIGGER licenses_search_delete AFTER DELETE ON licenses BEGIN
        DELETE FROM license_search WHERE rowid = old.seq;
    END;
    CREATE TRIGGER customers_search_update AFTER UPDATE OF name, email ON customers BEGIN
        DELETE FROM license_search
            WHERE rowid IN (SELECT seq FROM licenses WHERE customer_id = new.id);
        INSERT INTO license_search (rowid, key_tail, customer_name, customer_email)
            SELECT seq, substr(key, -128), new.name, new.email
            FROM licenses WHERE customer_id = new.id;
    END;

    CREATE VIRTUAL TABLE customer_words USING fts5 (
        name, email,
        tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2',
        content = '', contentless_delete = 1
    );
    INSERT INTO customer_words (rowid, name, email) SELECT seq, name, email FROM customers;
    CREATE TRIGGER customers_words_insert AFTER INSERT ON customers BEGIN
        INSERT INTO customer_words (rowid, name, email) VALUES (new.seq, new.name, new.email);
    END;
    CREATE TRIGGER customers_words_update AFTER UPDATE OF seq, name, email ON customers BEGIN
        DELETE FROM customer_words WHERE rowid = old.seq;
        INSERT INTO customer_words (rowid, name, email) VALUES (new.seq, new.name, new.email);
    END;
    CREATE TRIGGER customers_words_delete AFTER DELETE ON customers BEGIN
        DELETE FROM customer_words WHERE rowid = old.seq;
    END;
    "#,
    // The audit log proves the store, not just itself (issue 12): each row records the
    // state of the row it changed (`state`, covered by its hash) and a MAC under the
    // store's audit key from the OS keychain (`mac`). `audit_baseline` is the state of
    // every tracked row when an older store's log was anchored; the anchoring row
    // commits to it. Both are filled by the code that anchors (it needs the keychain).
    r#"
    ALTER TABLE audit_events ADD COLUMN state TEXT;
    ALTER TABLE audit_events ADD COLUMN mac TEXT;
    CREATE TABLE audit_baseline (
        subject_type TEXT NOT NULL,
        subject_id   TEXT NOT NULL,
        state        TEXT NOT NULL,
        PRIMARY KEY (subject_type, subject_id)
    ) STRICT, WITHOUT ROWID;
    "#,
];

fn migrations() -> Migrations<'static> {
    Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect())
}

/// An open store.
pub struct Store {
    pub(crate) conn: Connection,
    path: PathBuf,
    store_id: String,
    /// Why this store was opened read-only (see [`read_only_reason`]); `None`: it is
    /// writable.
    read_only: Option<String>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("store_id", &self.store_id)
            .field("read_only", &self.read_only)
            .finish()
    }
}

impl Store {
    /// Opens (creating if needed) the store at `path`, migrating it to this binary's
    /// schema. A store written by a newer binary is refused with
    /// [`ErrorCode::StoreTooNew`] and left untouched.
    ///
    /// A store this user cannot write (its file, its folder or its disk: see
    /// [`read_only_reason`]) is opened read-only: every read works, every write fails
    /// with a `STORE` error saying the store is read-only, and an older schema, which
    /// cannot be migrated there, is refused with that reason. A folder, a file that is
    /// not an SQLite database, a truncated or damaged store, a file this user may not
    /// read and an I/O error each get their own message. An empty file is a new store.
    pub fn open(path: &Path) -> Result<Self> {
        if path.is_dir() {
            return Err(Error::new(
                ErrorCode::Store,
                format!(
                    "{} is a folder, not a store file; give the path of the store file itself (for example {})",
                    path.display(),
                    path.join("keywright.db").display()
                ),
            ));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir)?;
        }
        inspect_file(path)?;
        match read_only_reason(path) {
            Some(why) => Self::open_read_only(path, why),
            None => Self::open_read_write(path),
        }
    }

    fn open_read_write(path: &Path) -> Result<Self> {
        let sql = |e: rusqlite::Error| opening_error(path, e);
        let mut conn = Connection::open(path).map_err(sql)?;
        // busy_timeout first: a second process may hold the write lock briefly.
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sql)?;
        // Every transaction takes the write lock when it begins. A deferred one that
        // reads first (the newest audit hash, FTS configuration) would have to upgrade
        // to a writer later, and SQLite fails that at once instead of waiting out the
        // busy timeout when another instance is writing.
        conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        // A SQLite file that is not a Keywright store is refused before anything in it
        // changes (journal mode, migrations).
        refuse_foreign(&conn, path)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(sql)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::new(
                ErrorCode::Store,
                format!(
                    "the store at {} cannot use WAL journaling ({mode})",
                    path.display()
                ),
            ));
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql)?;
        // A 16 MiB page cache (SQLite's default is 2 MiB): a batch of licenses touches
        // many index pages per transaction, and re-reading them cost a tenth of its time.
        conn.pragma_update(None, "cache_size", -16_384)
            .map_err(sql)?;
        // Foreign keys stay off while migrations rebuild tables (SQLite ignores the
        // pragma inside a transaction), then every reference is checked.
        conn.pragma_update(None, "foreign_keys", "OFF")
            .map_err(sql)?;
        restrict_file(path);

        let migrations = migrations();
        let version_before = user_version(&conn).map_err(sql)?;
        migrations.to_latest(&mut conn).map_err(|e| match e {
            rusqlite_migration::Error::MigrationDefinition(
                rusqlite_migration::MigrationDefinitionError::DatabaseTooFarAhead,
            ) => too_new(path, user_version(&conn).unwrap_or(-1)),
            rusqlite_migration::Error::RusqliteError { err, .. } => opening_error(path, err),
            other => Error::new(
                ErrorCode::Store,
                format!("cannot migrate the store: {other}"),
            ),
        })?;
        // Only migrations run with foreign keys off, so only after one ran can a
        // reference dangle; every other write is checked as it happens. (Checking on
        // every open read every license and machine: a tenth of a second at 100,000.)
        let dangling: i64 = if user_version(&conn).map_err(sql)? == version_before {
            0
        } else {
            conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .map_err(sql)?
        };
        if dangling > 0 {
            return Err(Error::new(
                ErrorCode::Store,
                format!(
                    "the store at {} has {dangling} broken references; restore it from a backup",
                    path.display()
                ),
            ));
        }
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sql)?;

        let store_id = ensure_store_id(&conn).map_err(|e| match e.code {
            ErrorCode::Store => Error::new(
                ErrorCode::Store,
                format!("cannot open the store at {}: {}", path.display(), e.message),
            ),
            _ => e,
        })?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
            store_id,
            read_only: None,
        })
    }

    /// Opens a store this user cannot write, for reading. Without a write-ahead log
    /// beside it the file alone holds the whole store, so it is opened `immutable`:
    /// SQLite then creates no `-shm` / `-wal` files (a read-only folder refuses them,
    /// and a writable one would keep them, owned by whoever looked). A store with a
    /// log (in use by a writer, or not closed cleanly) is opened `mode=ro`, which reads
    /// the log through its `-shm`.
    fn open_read_only(path: &Path, why: String) -> Result<Self> {
        let sql = |e: rusqlite::Error| opening_error(path, e);
        let log_has_pages = std::fs::metadata(sibling(path, "-wal")).is_ok_and(|m| m.len() > 0);
        let uri = format!(
            "{}?{}",
            file_uri(path),
            if log_has_pages || sibling(path, "-shm").exists() {
                "mode=ro"
            } else {
                "immutable=1"
            }
        );
        let conn = Connection::open_with_flags(
            &uri,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                | rusqlite::OpenFlags::SQLITE_OPEN_URI
                | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ffi::ErrorCode::ReadOnly | rusqlite::ffi::ErrorCode::CannotOpen) => {
                Error::new(
                    ErrorCode::Store,
                    format!(
                        "the store at {} has a write-ahead log (-wal) beside it that only a writer can merge, and it is read-only: {why}. Open it once where it can be written",
                        path.display()
                    ),
                )
            }
            _ => opening_error(path, e),
        })?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sql)?;
        refuse_foreign(&conn, path)?;
        let version = user_version(&conn).map_err(sql)?;
        let latest = MIGRATIONS.len() as i64;
        if version > latest {
            return Err(too_new(path, version));
        }
        if version < latest {
            return Err(Error::new(
                ErrorCode::Store,
                if version == 0 {
                    format!(
                        "the store at {} is empty, so there is nothing in it to read, and it cannot be set up because it is read-only: {why}",
                        path.display()
                    )
                } else {
                    format!(
                        "the store at {} uses schema {version}; this Keywright needs schema {latest} and would upgrade it, which it cannot while the store is read-only: {why}. Open it once where it can be written, or use the Keywright that wrote it",
                        path.display()
                    )
                },
            ));
        }
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sql)?;
        let store_id: String = conn
            .query_row(
                "SELECT value FROM store_meta WHERE key = 'store_id'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Error::new(
                    ErrorCode::Store,
                    format!(
                        "the store at {} has no store id (damaged?), and none can be given to it because it is read-only: {why}",
                        path.display()
                    ),
                ),
                e => opening_error(path, e),
            })?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
            store_id,
            read_only: Some(why),
        })
    }

    /// The SQLite file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The store's random id (namespaces its keychain entries).
    pub fn store_id(&self) -> &str {
        &self.store_id
    }

    /// Why the store was opened read-only (its file, folder or disk cannot be
    /// written); `None` when it is writable.
    pub fn read_only(&self) -> Option<&str> {
        self.read_only.as_deref()
    }

    /// The schema version this binary writes.
    pub fn schema_version() -> usize {
        MIGRATIONS.len()
    }
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

/// Refuses a non-empty SQLite file without Keywright's `store_meta` table (another
/// program's database) before anything in it changes.
fn refuse_foreign(conn: &Connection, path: &Path) -> Result<()> {
    let (tables, ours): (i64, i64) = conn
        .query_row(
            "SELECT count(*), count(*) FILTER (WHERE type = 'table' AND name = 'store_meta')
             FROM sqlite_master",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(|e| opening_error(path, e))?;
    if tables > 0 && ours == 0 {
        return Err(Error::new(
            ErrorCode::Store,
            format!(
                "{} is an SQLite database of another program, not a Keywright store; nothing in it was changed",
                path.display()
            ),
        ));
    }
    Ok(())
}

fn too_new(path: &Path, version: i64) -> Error {
    Error::new(
        ErrorCode::StoreTooNew,
        format!(
            "the store at {} was written by a newer Keywright (schema {version}); this one knows schema {}. Update Keywright.",
            path.display(),
            MIGRATIONS.len()
        ),
    )
}

/// `path` with `suffix` appended to its file name (`store.db-wal`).
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// An SQLite `file:` URI for `path` (query parameters follow it).
fn file_uri(path: &Path) -> String {
    let text = path.to_string_lossy();
    #[cfg(windows)]
    let text = {
        let t = text.replace('\\', "/");
        if t.as_bytes().get(1) == Some(&b':') {
            format!("/{t}")
        } else {
            t
        }
    };
    let mut uri = String::from("file:");
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                uri.push(b as char)
            }
            _ => uri.push_str(&format!("%{b:02X}")),
        }
    }
    uri
}

/// SQLite's file header: the first 16 bytes of every database.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Looks at an existing store file before SQLite does: whether this user may read it,
/// whether it is an SQLite database at all, and whether it is shorter than its header
/// says (truncated). Each gets its own message; nothing is written.
fn inspect_file(path: &Path) -> Result<()> {
    use std::io::Read as _;
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            return Err(Error::new(
                ErrorCode::Store,
                format!(
                    "cannot read the store at {}: permission denied (its owner or permissions do not let this user read it)",
                    path.display()
                ),
            ))
        }
        Err(e) => {
            return Err(Error::new(
                ErrorCode::Store,
                format!("cannot read the store at {}: {e}", path.display()),
            ))
        }
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut header = Vec::with_capacity(100);
    if let Err(e) = file.by_ref().take(100).read_to_end(&mut header) {
        return Err(Error::new(
            ErrorCode::Store,
            format!(
                "cannot read the store at {}: an I/O error ({e}); is its disk failing?",
                path.display()
            ),
        ));
    }
    if header.is_empty() {
        // SQLite makes an empty file a new database: a new store.
        return Ok(());
    }
    let magic = &SQLITE_MAGIC[..header.len().min(16)];
    if !header.starts_with(magic) {
        return Err(not_a_database(path));
    }
    if header.len() < 100 {
        return Err(damaged(
            path,
            &format!("it is truncated: {len} bytes, shorter than an SQLite header"),
        ));
    }
    // The page count in the header is only meaningful when the change counter (24)
    // matches its version-valid-for number (92). With a write-ahead log beside the
    // file, pages may live in the log instead.
    let be32 = |at: usize| {
        u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536u64,
        n => u64::from(n),
    };
    let pages = u64::from(be32(28));
    let log_has_pages = std::fs::metadata(sibling(path, "-wal")).is_ok_and(|m| m.len() > 0);
    if be32(24) == be32(92) && pages > 0 && !log_has_pages && len < pages * page_size {
        return Err(damaged(
            path,
            &format!(
                "it is truncated: {len} bytes of the {} its header records",
                pages * page_size
            ),
        ));
    }
    Ok(())
}

fn not_a_database(path: &Path) -> Error {
    Error::new(
        ErrorCode::Store,
        format!(
            "{} is not a Keywright store: it is not a database (no SQLite header); nothing in it was changed",
            path.display()
        ),
    )
}

fn damaged(path: &Path, how: &str) -> Error {
    Error::new(
        ErrorCode::Store,
        format!(
            "the store at {} is damaged ({how}); nothing in it was changed. Restore it from a backup",
            path.display()
        ),
    )
}

/// An SQLite error while opening the store at `path`, in words that say which kind of
/// trouble it is.
fn opening_error(path: &Path, e: rusqlite::Error) -> Error {
    use rusqlite::ffi::ErrorCode as Sql;
    match e.sqlite_error_code() {
        Some(Sql::NotADatabase) => {
            let sqlite = std::fs::File::open(path).ok().and_then(|mut f| {
                use std::io::Read as _;
                let mut magic = [0u8; 16];
                f.read_exact(&mut magic)
                    .ok()
                    .map(|()| &magic == SQLITE_MAGIC)
            });
            if sqlite == Some(true) {
                damaged(path, &format!("SQLite: {e}"))
            } else {
                not_a_database(path)
            }
        }
        Some(Sql::DatabaseCorrupt) => damaged(path, &format!("SQLite: {e}")),
        Some(Sql::SystemIoFailure) => Error::new(
            ErrorCode::Store,
            format!(
                "cannot read the store at {}: an I/O error (SQLite: {e}); is its disk failing?",
                path.display()
            ),
        ),
        Some(Sql::PermissionDenied) => Error::new(
            ErrorCode::Store,
            format!(
                "cannot open the store at {}: permission denied (SQLite: {e})",
                path.display()
            ),
        ),
        Some(Sql::ReadOnly) => Error::new(
            ErrorCode::Store,
            format!(
                "the store at {} is read-only (SQLite: {e}); nothing was changed",
                path.display()
            ),
        ),
        _ => Error::new(
            ErrorCode::Store,
            format!("cannot open the store at {}: {e}", path.display()),
        ),
    }
}

/// Why this user cannot write the store at `path`, found on the file system (SQLite
/// is not involved): the file is read-only for this user, its folder is (SQLite must
/// create its `-wal` and `-shm` files there), or the disk is mounted read-only.
/// `None` when it can be written, or when there is no regular file there yet.
pub fn read_only_reason(path: &Path) -> Option<String> {
    use std::io::ErrorKind;
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let read_only_disk = || "the disk holding it is mounted read-only".to_owned();
    // Opening for writing changes nothing (no truncation, no creation).
    match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::PermissionDenied => {
            #[cfg(unix)]
            let mode = {
                use std::os::unix::fs::PermissionsExt as _;
                format!(", mode {:04o}", meta.permissions().mode() & 0o7777)
            };
            #[cfg(not(unix))]
            let mode = String::new();
            return Some(format!(
                "the store file is read-only for this user (its permissions{mode})"
            ));
        }
        Err(e) if e.kind() == ErrorKind::ReadOnlyFilesystem => return Some(read_only_disk()),
        // Other trouble is SQLite's to report.
        Err(_) => return None,
    }
    let journals_writable = ["-wal", "-shm"].iter().all(|suffix| {
        std::fs::OpenOptions::new()
            .write(true)
            .open(sibling(path, suffix))
            .is_ok()
    });
    if journals_writable {
        return None;
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // An unnamed temporary file (O_TMPFILE where the OS has it): the folder is left
    // as it was.
    match tempfile::tempfile_in(dir) {
        Ok(_) => None,
        Err(e) if e.kind() == ErrorKind::PermissionDenied => Some(format!(
            "its folder {} is read-only for this user, and SQLite must create its journal files (-wal, -shm) there",
            dir.display()
        )),
        Err(e) if e.kind() == ErrorKind::ReadOnlyFilesystem => Some(read_only_disk()),
        Err(_) => None,
    }
}

fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

fn ensure_store_id(conn: &Connection) -> Result<String> {
    let existing: Option<String> = conn
        .query_row(
            "SELECT value FROM store_meta WHERE key = 'store_id'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let id = uuid::Uuid::new_v4().to_string();
    conn.execute(
        "INSERT INTO store_meta (key, value) VALUES ('store_id', ?1)",
        [&id],
    )?;
    Ok(id)
}

/// Creates `dir` (and parents) readable by the owner only on Unix.
pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| {
        Error::new(
            ErrorCode::Io,
            format!("cannot create the store folder {}: {e}", dir.display()),
        )
    })
}

/// Owner-only permissions on the store file (best effort: SQLite created it).
fn restrict_file(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// The default store file: `keywright.db` in the OS's per-user data folder
/// (`~/.local/share/keywright` on Linux, `~/Library/Application Support/keywright`
/// on macOS, `%APPDATA%\keywright\data` on Windows).
pub fn default_store_path() -> Result<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "keywright").ok_or_else(|| {
        Error::new(
            ErrorCode::Io,
            "cannot find a home folder for the store; pass --store PATH",
        )
    })?;
    Ok(dirs.data_dir().join("keywright.db"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_with_wal_full_sync_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        let mode: String = store
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = store
            .conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 2, "synchronous=FULL");
        let fk: i64 = store
            .conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        assert_eq!(
            user_version(&store.conn).unwrap(),
            Store::schema_version() as i64
        );
    }

    #[test]
    fn bundled_sqlite_has_fts5_trigram() {
        let conn = Connection::open_in_memory().unwrap();
        let version: String = conn
            .query_row("SELECT sqlite_version()", [], |r| r.get(0))
            .unwrap();
        let parts: Vec<u32> = version.split('.').map(|p| p.parse().unwrap()).collect();
        assert!(
            parts[0] > 3 || (parts[0] == 3 && parts[1] >= 34),
            "{version}"
        );
        conn.execute_batch("CREATE VIRTUAL TABLE t USING fts5 (x, tokenize = 'trigram')")
            .unwrap();
    }

    #[test]
    fn search_migration_indexes_existing_licenses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        {
            // A store as schema 1 left it, with one license.
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.execute_batch(
                "INSERT INTO signing_keys VALUES ('k', 'kid', 'K', 'ed25519', x'00', 'active', 't');
                 INSERT INTO products VALUES ('p', 'P', 'P', NULL, NULL, 'k', 't');
                 INSERT INTO policies (id, product_id, name, scheme, floating, encrypt, created_at)
                     VALUES ('pol', 'p', 'Y', 'ED25519_SIGN', 0, 0, 't');
                 INSERT INTO customers VALUES ('c', 'Grace Hopper', 'grace@navy.example', 't');
                 INSERT INTO licenses (id, key, policy_id, customer_id, signing_key_id,
                                       created_at, updated_at)
                     VALUES ('l', 'key/ABCDEFGH.sig', 'pol', 'c', 'k', 't', 't');
                 PRAGMA user_version = 1;",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let found = |q: &str| -> Vec<String> {
            let mut stmt = store
                .conn
                .prepare(
                    "SELECT l.id FROM license_search s JOIN licenses l ON l.seq = s.rowid
                     WHERE license_search MATCH ?1",
                )
                .unwrap();
            stmt.query_map([q], |r| r.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        };
        assert_eq!(found("\"CDEFG\""), ["l"]);
        assert_eq!(found("\"hopper\""), ["l"]);
        assert_eq!(found("\"navy.ex\""), ["l"]);

        // Migration 3 rebuilt signing_keys: rows and references survive, foreign keys
        // are enforced again, and the new algorithms are allowed.
        let (name, fk): (String, i64) = store
            .conn
            .query_row(
                "SELECT name, (SELECT foreign_keys FROM pragma_foreign_keys) FROM signing_keys",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((name.as_str(), fk), ("K", 1));
        store
            .conn
            .execute(
                "INSERT INTO signing_keys VALUES ('r', 'rkid', 'R', 'rsa-2048', x'00', 'active', 't')",
                [],
            )
            .unwrap();
        let orphan = store.conn.execute(
            "INSERT INTO products VALUES ('p2', 'P2', 'P2', NULL, NULL, 'missing', 't')",
            [],
        );
        assert!(orphan.is_err(), "foreign keys are on after migrating");
        let bad_alg = store.conn.execute(
            "INSERT INTO signing_keys VALUES ('x', 'xkid', 'X', 'dsa', x'00', 'active', 't')",
            [],
        );
        assert!(bad_alg.is_err());
    }

    #[test]
    fn store_id_is_stable_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let first = Store::open(&path).unwrap().store_id().to_owned();
        let second = Store::open(&path).unwrap().store_id().to_owned();
        assert_eq!(first, second);
        let other = Store::open(&dir.path().join("t.db")).unwrap();
        assert_ne!(first, other.store_id());
    }

    #[test]
    fn newer_store_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        drop(Store::open(&path).unwrap());
        let future = Store::schema_version() as i64 + 1;
        {
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "user_version", future).unwrap();
        }
        let err = Store::open(&path).unwrap_err();
        assert_eq!(err.code, ErrorCode::StoreTooNew, "{err}");
        let conn = Connection::open(&path).unwrap();
        assert_eq!(user_version(&conn).unwrap(), future);
    }

    #[cfg(unix)]
    #[test]
    fn folder_and_file_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("s.db");
        drop(Store::open(&path).unwrap());
        let dir_mode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        let file_mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(file_mode & 0o777, 0o600);
    }

    #[test]
    fn unopenable_location_is_a_store_or_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain-file");
        std::fs::write(&file, b"x").unwrap();
        // A path *below* a regular file can never be created.
        let err = Store::open(&file.join("s.db")).unwrap_err();
        assert!(
            matches!(err.code, ErrorCode::Io | ErrorCode::Store),
            "{err:?}"
        );
    }
}
