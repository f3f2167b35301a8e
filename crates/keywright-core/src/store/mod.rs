//! The SQLite store: one file per vendor, WAL, `synchronous=FULL`, foreign keys on,
//! schema versioned by `user_version` (an older binary refuses a newer store).
//!
//! This folder is the only place that opens a connection. The domains run their SQL
//! through `Store::conn` and the transactions begun here; nothing else holds one.

mod copy;
pub mod db;
mod file;
pub mod location;
mod migrations;
#[cfg(feature = "postgres")]
pub mod pg;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde::Serialize;
use ts_rs::TS;

use crate::error::{Error, ErrorCode, Result};
use file::{file_uri, inspect_file, opening_error, restrict_file, sibling};
use migrations::{migrations, MIGRATIONS};

pub use copy::{copy_store, StoreCopied, TableRows};
pub(crate) use file::create_private_dir;
pub use file::{default_store_path, read_only_reason};
pub(crate) use migrations::migrate_snapshot;

/// Where the store lives and which keychain service holds its keys.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StoreInfo {
    /// The SQLite file.
    pub path: String,
    /// The store's random id; it namespaces the keychain entries.
    pub store_id: String,
    /// The keychain service name under which this store's private keys live.
    pub keychain_service: String,
    /// Whether the audit log matched its anchor in the keychain when the store opened.
    pub audit: crate::audit::anchor::AuditStatus,
}

/// An open store.
pub struct Store {
    backend: Backend,
    path: PathBuf,
    /// How to open the store again (the PostgreSQL URL with its password, which
    /// [`Store::path`] leaves out); `None` for a file.
    reopen_url: Option<zeroize::Zeroizing<String>>,
    /// Whether a write transaction is open: a connection lost inside one is not
    /// replaced until it ends (the rest of it must fail, not run on a new connection
    /// outside the transaction and its lock).
    in_transaction: std::sync::Arc<std::sync::atomic::AtomicBool>,
    store_id: String,
    /// Why this store was opened read-only (see [`read_only_reason`]); `None`: it is
    /// writable.
    read_only: Option<String>,
    /// This connection's entry among the store files open in this process.
    held: file::Held,
    /// The write-ahead log and its index this connection uses (see
    /// [`Store::journal_moved`]); `None` on PostgreSQL and for a read-only file.
    journal: Option<[(u64, u64); 2]>,
}

/// The connection behind a store.
enum Backend {
    /// An SQLite file.
    Sqlite(Connection),
    /// A PostgreSQL database (see [`pg`]).
    /// (`None` only while the store is dropped: see `Drop for Store`.)
    #[cfg(feature = "postgres")]
    Postgres(Option<Box<std::cell::RefCell<db::pg::PgConn>>>),
}

/// A PostgreSQL client closes its connection when dropped, blocking on its own
/// runtime: step out of the caller's first (see [`db::pg::off_runtime`]).
impl Drop for Store {
    fn drop(&mut self) {
        #[cfg(feature = "postgres")]
        if let Backend::Postgres(slot) = &mut self.backend {
            if let Some(client) = slot.take() {
                db::pg::off_runtime(move || drop(client));
            }
        }
    }
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
        // A store this process already holds open is not looked at with `std::fs`
        // again: closing that look would drop the open connection's locks (see
        // `file::OPEN_HERE`).
        let why = match file::open_here(path) {
            Some(known) => known,
            None => {
                inspect_file(path)?;
                read_only_reason(path)
            }
        };
        let mut store = match why.clone() {
            Some(why) => Self::open_read_only(path, why),
            None => Self::open_read_write(path),
        }?;
        store.held = file::Held::new(path, why.as_deref());
        if store.read_only.is_none() {
            store.journal = file::journal_ids(path);
        }
        Ok(store)
    }

    /// Opens the store at `location`: a `postgres://` (or `postgresql://`) URL names
    /// a PostgreSQL store, anything else an SQLite file (see [`Store::open`]).
    pub fn open_location(location: &str) -> Result<Self> {
        #[cfg(feature = "postgres")]
        if pg::is_postgres_url(location) {
            return Self::open_postgres(location);
        }
        Self::open(Path::new(location))
    }

    /// [`Store::open`], or [`Store::open_postgres`] when `path` is a `postgres://` URL
    /// (as a command line's `--store` may be).
    pub fn open_path_or_url(path: &Path) -> Result<Self> {
        match path.to_str() {
            Some(location) => Self::open_location(location),
            None => Self::open(path),
        }
    }

    /// A stand-in for this store while its connection is closed and opened again
    /// (see [`crate::Keywright::reconnect`]): an empty in-memory database that
    /// refuses writes.
    pub(crate) fn stand_in(&self) -> Result<Self> {
        let conn = Connection::open_in_memory().map_err(|e| opening_error(&self.path, e))?;
        Ok(Self {
            backend: Backend::Sqlite(conn),
            path: self.path.clone(),
            reopen_url: None,
            in_transaction: Default::default(),
            store_id: self.store_id.clone(),
            read_only: Some("its connection is being opened again".into()),
            held: Default::default(),
            journal: None,
        })
    }

    /// Whether the write-ahead log or its index this connection uses is no longer the
    /// file of that name: another process deleted them as the last one to close the
    /// store, which it can only do when this process's locks were lost (code outside
    /// Keywright in the process, such as a file dialog, opened and closed the store's
    /// files). Then this connection's next commit would go to a deleted file:
    /// [`crate::Keywright::reconnect_if_moved`] opens it again first. Two `stat`s; no
    /// file is opened.
    pub fn journal_moved(&self) -> bool {
        match self.journal {
            Some(noted) => file::journal_ids(&self.path) != Some(noted),
            None => false,
        }
    }

    /// Another connection to this same store (the activation server's readers).
    pub fn reopen(&self) -> Result<Self> {
        match &self.reopen_url {
            #[cfg(feature = "postgres")]
            Some(url) => Self::open_postgres(url),
            _ => Self::open(&self.path),
        }
    }

    /// Opens (creating the schema if needed) the PostgreSQL store at `url`; see
    /// [`pg::PgStore::open`].
    #[cfg(feature = "postgres")]
    pub fn open_postgres(url: &str) -> Result<Self> {
        let (client, store_id, shown) = pg::PgStore::open(url)?.into_parts();
        Ok(Self {
            backend: Backend::Postgres(Some(Box::new(client))),
            path: PathBuf::from(shown),
            reopen_url: Some(zeroize::Zeroizing::new(url.to_owned())),
            in_transaction: Default::default(),
            store_id,
            read_only: None,
            held: Default::default(),
            journal: None,
        })
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
            backend: Backend::Sqlite(conn),
            path: path.to_path_buf(),
            reopen_url: None,
            in_transaction: Default::default(),
            store_id,
            read_only: None,
            held: Default::default(),
            journal: None,
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
        let store_id: String = read_store_id(&conn).map_err(|e| match e {
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
            backend: Backend::Sqlite(conn),
            path: path.to_path_buf(),
            reopen_url: None,
            in_transaction: Default::default(),
            store_id,
            read_only: Some(why),
            held: Default::default(),
            journal: None,
        })
    }

    /// The SQLite file; for a PostgreSQL store, its URL without the password.
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

    /// Copies every row of this store into `target`, a new, empty store of either
    /// engine, in one transaction on the target (nothing is left half copied), the
    /// store id included; then checks that both hold the same number of rows in every
    /// table. `progress` hears each table as it is done. The audit log's chain and
    /// anchor are the caller's to verify on both sides (they need the keychain).
    pub fn copy_into(
        &self,
        target: &mut Store,
        progress: impl FnMut(&str, i64),
    ) -> Result<Vec<(&'static str, i64)>> {
        if target.read_only.is_some() {
            return Err(Error::new(
                ErrorCode::Store,
                format!("the target store {} is read-only", target.path.display()),
            ));
        }
        let tx = target.transaction()?;
        copy::copy_rows(self.db(), tx.db(), progress)?;
        tx.commit()?;
        // After a bulk load into PostgreSQL: the planner's statistics (a new database
        // has none until autovacuum comes by, and a search may then scan instead of
        // using its index) and the visibility map, so the first searches do not pay
        // for marking a million fresh rows. VACUUM runs outside any transaction.
        #[cfg(feature = "postgres")]
        if let Backend::Postgres(Some(client)) = &target.backend {
            db::pg::batch(client, "VACUUM ANALYZE")?;
        }
        target.store_id = self.store_id.clone();
        let from = copy::counts(self.db())?;
        let to = copy::counts(target.db())?;
        if from != to {
            return Err(Error::new(
                ErrorCode::Internal,
                format!(
                    "the copy does not hold the rows of the source: {from:?} were copied as {to:?}"
                ),
            ));
        }
        Ok(from)
    }

    /// The shared SQL handle, for tests that compare stores row by row.
    #[doc(hidden)]
    pub fn db_for_tests(&self) -> db::Db<'_> {
        self.db()
    }

    /// The whole store as an SQLite database image, consistent at one instant while
    /// other writers go on: SQLite's online backup API for a file; for PostgreSQL,
    /// every row copied (in one REPEATABLE READ transaction) into a new in-memory
    /// store. What a backup carries, whatever the engine.
    pub(crate) fn image(&self) -> Result<Vec<u8>> {
        match &self.backend {
            Backend::Sqlite(c) => crate::backup::snapshot::snapshot(c),
            #[cfg(feature = "postgres")]
            Backend::Postgres(client) => {
                let mut mem = Connection::open_in_memory()?;
                migrations::migrate_snapshot(&mut mem)?;
                let client = client.as_deref().expect("an open store");
                db::pg::batch(client, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
                let copied = (|| -> Result<()> {
                    let tx = mem.transaction()?;
                    copy::copy_rows(self.db(), db::Db::Sqlite(&tx), |_, _| {})?;
                    tx.commit()?;
                    Ok(())
                })();
                let ended = db::pg::batch(client, "COMMIT");
                copied?;
                ended?;
                let mut bytes = mem.serialize(rusqlite::MAIN_DB)?.to_vec();
                crate::backup::snapshot::legacy_header(&mut bytes);
                Ok(bytes)
            }
        }
    }

    /// Whether the store answers: one trivial query (the server's health check).
    pub fn check_alive(&self) -> Result<()> {
        self.db().query_one("SELECT 1", &[], |r| r.get::<i64>(0))?;
        Ok(())
    }

    /// Which engine holds the store.
    pub fn engine(&self) -> db::Engine {
        self.db().engine()
    }

    /// The SQLite connection, for what only SQLite has (its backup image, FTS5);
    /// `None` on PostgreSQL.
    pub(crate) fn sqlite(&self) -> Option<&Connection> {
        match &self.backend {
            Backend::Sqlite(c) => Some(c),
            #[cfg(feature = "postgres")]
            Backend::Postgres(_) => None,
        }
    }

    /// The SQLite connection, for tests that look at SQLite itself.
    ///
    /// # Panics
    /// On a PostgreSQL store.
    #[cfg(test)]
    pub(crate) fn conn(&self) -> &Connection {
        self.sqlite()
            .expect("this part of Keywright runs on SQLite stores only")
    }

    /// The handle the domains' SQL runs on (see [`db`]).
    pub(crate) fn db(&self) -> db::Db<'_> {
        match &self.backend {
            Backend::Sqlite(c) => db::Db::Sqlite(c),
            #[cfg(feature = "postgres")]
            Backend::Postgres(c) => db::Db::Postgres(self.revived(c)),
        }
    }

    /// The PostgreSQL client, connected again first if its connection was lost (a
    /// database restart, a failover, a dropped network): the step that saw the loss
    /// failed with a "try again" error, and the next one finds a working client.
    #[cfg(feature = "postgres")]
    fn revived<'c>(
        &self,
        slot: &'c Option<Box<std::cell::RefCell<db::pg::PgConn>>>,
    ) -> &'c std::cell::RefCell<db::pg::PgConn> {
        let cell = slot.as_deref().expect("an open store");
        if self
            .in_transaction
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return cell;
        }
        if let (Ok(mut client), Some(url)) = (cell.try_borrow_mut(), &self.reopen_url) {
            if client.client.is_closed() || client.lost {
                if let Ok(fresh) = pg::PgStore::open(url) {
                    let (fresh, _, _) = fresh.into_parts();
                    let old = std::mem::replace(&mut *client, fresh.into_inner());
                    db::pg::off_runtime(move || drop(old));
                }
            }
        }
        cell
    }

    /// A write transaction: committed by [`Tx::commit`], rolled back when dropped.
    ///
    /// Writers are serialized: SQLite takes its write lock when the transaction begins
    /// (IMMEDIATE); PostgreSQL takes the store's transaction-scoped advisory lock, so
    /// every writer of every process (replicas included) runs one after the other, as
    /// on SQLite: seat counts and their inserts are one step, and the audit chain gets
    /// one row after the other. Reads made through `&self` while it is open see (and
    /// are part of) it: the activation server reads the license inside the transaction
    /// that takes the seat.
    pub(crate) fn transaction(&self) -> Result<Tx<'_>> {
        match &self.backend {
            Backend::Sqlite(c) => Ok(Tx {
                open: None,
                inner: Some(TxInner::Sqlite(Transaction::new_unchecked(
                    c,
                    TransactionBehavior::Immediate,
                )?)),
            }),
            #[cfg(feature = "postgres")]
            Backend::Postgres(c) => {
                let c = self.revived(c);
                db::pg::batch(
                    c,
                    &format!("BEGIN; SELECT pg_advisory_xact_lock({})", pg::WRITE_LOCK),
                )?;
                self.in_transaction
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                Ok(Tx {
                    inner: Some(TxInner::Postgres(c)),
                    open: Some(self.in_transaction.clone()),
                })
            }
        }
    }

    /// [`Store::transaction`], said where the seat count and the write must be one
    /// step for every writer.
    pub(crate) fn immediate_transaction(&self) -> Result<Tx<'_>> {
        self.transaction()
    }

    /// [`Store::transaction`], said where reads through `&self` must be inside it.
    pub(crate) fn shared_transaction(&self) -> Result<Tx<'_>> {
        self.transaction()
    }

    /// Whether the connection was opened read-only.
    pub(crate) fn connection_read_only(&self) -> Result<bool> {
        match &self.backend {
            Backend::Sqlite(c) => Ok(c.is_readonly(rusqlite::MAIN_DB)?),
            #[cfg(feature = "postgres")]
            Backend::Postgres(_) => Ok(false),
        }
    }
}

/// A write transaction on either engine (see [`Store::transaction`]): committed by
/// [`Tx::commit`], rolled back when dropped uncommitted.
pub(crate) struct Tx<'a> {
    inner: Option<TxInner<'a>>,
    /// The store's "a transaction is open" flag, cleared when this one ends.
    open: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

enum TxInner<'a> {
    /// SQLite's own transaction (rolls back when dropped).
    Sqlite(Transaction<'a>),
    /// A PostgreSQL transaction on the store's client.
    #[cfg(feature = "postgres")]
    Postgres(&'a std::cell::RefCell<db::pg::PgConn>),
}

impl Tx<'_> {
    /// The handle statements inside the transaction run on.
    pub(crate) fn db(&self) -> db::Db<'_> {
        match self.inner.as_ref().expect("an open transaction") {
            TxInner::Sqlite(t) => db::Db::Sqlite(t),
            #[cfg(feature = "postgres")]
            TxInner::Postgres(client) => db::Db::Postgres(client),
        }
    }

    /// Commits. On PostgreSQL a commit that fails (the connection dropped) leaves
    /// nothing written: the server rolls the transaction back.
    pub(crate) fn commit(mut self) -> Result<()> {
        if let Some(open) = self.open.take() {
            open.store(false, std::sync::atomic::Ordering::Relaxed);
        }
        match self.inner.take().expect("an open transaction") {
            TxInner::Sqlite(t) => Ok(t.commit()?),
            #[cfg(feature = "postgres")]
            TxInner::Postgres(client) => db::pg::batch(client, "COMMIT"),
        }
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if let Some(open) = self.open.take() {
            open.store(false, std::sync::atomic::Ordering::Relaxed);
        }
        #[cfg(feature = "postgres")]
        if let Some(TxInner::Postgres(client)) = self.inner.take() {
            // A rollback that fails (the connection is gone) has nothing to undo.
            let _ = db::pg::batch(client, "ROLLBACK");
        }
    }
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

/// The schema version of the database on `conn`.
pub(crate) fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// SQLite's `integrity_check`: `ok`, or the first problem.
pub(crate) fn integrity_check(conn: &Connection) -> rusqlite::Result<String> {
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
}

/// The store id recorded in the database on `conn` (a store, or a backup's snapshot).
pub(crate) fn read_store_id(conn: &Connection) -> rusqlite::Result<String> {
    conn.query_row(
        "SELECT value FROM store_meta WHERE key = 'store_id'",
        [],
        |r| r.get(0),
    )
}

fn ensure_store_id(conn: &Connection) -> Result<String> {
    let existing: Option<String> = read_store_id(conn).optional()?;
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

/// Escapes `%`, `_` and `\` for `LIKE … ESCAPE '\'`.
pub(crate) fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_with_wal_full_sync_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        let mode: String = store
            .conn()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = store
            .conn()
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 2, "synchronous=FULL");
        let fk: i64 = store
            .conn()
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        assert_eq!(
            user_version(store.conn()).unwrap(),
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
                .conn()
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
            .conn()
            .query_row(
                "SELECT name, (SELECT foreign_keys FROM pragma_foreign_keys) FROM signing_keys",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((name.as_str(), fk), ("K", 1));
        store
            .conn()
            .execute(
                "INSERT INTO signing_keys (id, kid, name, algorithm, public_key, status, created_at)
                 VALUES ('r', 'rkid', 'R', 'rsa-2048', x'00', 'active', 't')",
                [],
            )
            .unwrap();
        let orphan = store.conn().execute(
            "INSERT INTO products VALUES ('p2', 'P2', 'P2', NULL, NULL, 'missing', 't')",
            [],
        );
        assert!(orphan.is_err(), "foreign keys are on after migrating");
        let bad_alg = store.conn().execute(
            "INSERT INTO signing_keys (id, kid, name, algorithm, public_key, status, created_at)
             VALUES ('x', 'xkid', 'X', 'dsa', x'00', 'active', 't')",
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

#[cfg(all(test, feature = "postgres"))]
mod postgres_tests {
    use super::*;

    /// A database of its own on the test cluster (`KEYWRIGHT_TEST_PG`).
    fn fresh() -> (String, postgres::Client) {
        let base = std::env::var("KEYWRIGHT_TEST_PG").expect(
            "KEYWRIGHT_TEST_PG is not set: run scripts/test.sh, or `eval \"$(bash scripts/pg-cluster.sh start)\"`",
        );
        let name = format!("kw_store_{}", uuid::Uuid::new_v4().simple());
        let mut admin = postgres::Client::connect(&base, postgres::NoTls).unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let (prefix, _) = base.rsplit_once('/').unwrap();
        (format!("{prefix}/{name}"), admin)
    }

    #[test]
    fn a_connection_lost_inside_a_transaction_is_not_replaced_until_it_ends() {
        let (url, mut admin) = fresh();
        let store = Store::open_postgres(&url).unwrap();
        let pid: i64 = store
            .db()
            .query_one("SELECT CAST(pg_backend_pid() AS BIGINT)", &[], |r| r.get(0))
            .unwrap();
        let tx = store.transaction().unwrap();
        tx.db()
            .execute(
                "INSERT INTO store_meta (key, value) VALUES ('half', 'written')",
                &[],
            )
            .unwrap();
        admin
            .execute("SELECT pg_terminate_backend($1::int)", &[&(pid as i32)])
            .unwrap();
        // Inside the transaction every step fails, reads through the store included:
        // none runs on a new connection outside the transaction and its lock.
        assert!(tx.db().execute("SELECT 1", &[]).is_err());
        assert!(store
            .db()
            .query_one("SELECT 1", &[], |r| r.get::<i64>(0))
            .is_err());
        assert!(tx.commit().is_err());
        // After it, the store reconnects, and nothing of it was kept.
        let half: i64 = store
            .db()
            .query_one(
                "SELECT count(*) FROM store_meta WHERE key = 'half'",
                &[],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(half, 0);
    }
}
