//! What the core's test binaries (and its benches, through `#[path]`) share: the
//! clock they pretend it is, and a store in a temporary folder with a memory vault the
//! test keeps a handle on, plus builders for the rows most tests start from.
// Each test binary uses a different part of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use jiff::Timestamp;
use keywright_core::*;

/// The instant the tests call "now" (milliseconds, as the store writes times).
pub const NOW: &str = "2026-11-23T10:00:00.123Z";

/// A time written as RFC 3339.
pub fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// [`NOW`].
pub fn now() -> Timestamp {
    at(NOW)
}

/// A store file in a folder of its own, opened with a memory vault.
pub struct TestStore {
    pub dir: tempfile::TempDir,
    /// The vault the store's keys and audit anchor live in (shared, so a test can
    /// reopen the store "on the same machine" or inject keychain faults).
    pub vault: Arc<MemoryVault>,
    pub kw: Keywright,
}

impl TestStore {
    /// An empty store, actor "tester".
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let vault = Arc::<MemoryVault>::default();
        let kw = open(&dir.path().join("store.db"), vault.clone());
        Self { dir, vault, kw }
    }

    /// Where the store is, as a `--store` would name it: the file, or on a PostgreSQL
    /// run the database's URL.
    pub fn location(&self) -> PathBuf {
        if on_postgres() {
            PathBuf::from(postgres_database_for(&self.path()))
        } else {
            self.path()
        }
    }

    /// The store file.
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("store.db")
    }

    /// A file name in the store's folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The store opened again, as the next command would, with the same vault.
    pub fn reopen(&self) -> Keywright {
        open(&self.path(), self.vault.clone())
    }

    /// An Ed25519 signing key named `name`.
    pub fn key(&mut self, name: &str) -> SigningKey {
        self.key_of(name, KeyAlgorithm::Ed25519)
    }

    /// A signing key of `algorithm`.
    pub fn key_of(&mut self, name: &str, algorithm: KeyAlgorithm) -> SigningKey {
        self.kw
            .create_signing_key(
                &NewSigningKey {
                    name: name.into(),
                    algorithm,
                },
                now(),
            )
            .unwrap()
    }

    /// A product named `name` with the defaults (code from the name, the only key).
    pub fn product(&mut self, name: &str) -> Product {
        self.kw
            .create_product(
                &NewProduct {
                    name: name.into(),
                    ..Default::default()
                },
                now(),
            )
            .unwrap()
    }

    /// A policy of `product` named `name`, lasting `duration` (`None`: perpetual).
    pub fn policy(&mut self, product: &Product, name: &str, duration: Option<&str>) -> Policy {
        self.policy_with(product, name, |p| p.duration = duration.map(str::to_owned))
    }

    /// A policy of `product` named `name`, as `edit` sets it up.
    pub fn policy_with(
        &mut self,
        product: &Product,
        name: &str,
        edit: impl FnOnce(&mut NewPolicy),
    ) -> Policy {
        let mut input = NewPolicy {
            product_id: product.id.clone(),
            name: name.into(),
            ..Default::default()
        };
        edit(&mut input);
        self.kw.create_policy(&input, now()).unwrap()
    }
}

/// A store at `path` with `vault`, actor "tester".
pub fn open(path: &std::path::Path, vault: Arc<MemoryVault>) -> Keywright {
    Keywright::with_vault(open_store(path), Box::new(vault), "tester")
}

/// Whether this run puts the tests' stores on PostgreSQL (`KEYWRIGHT_TEST_ENGINE=postgres`,
/// with the cluster in `KEYWRIGHT_TEST_PG`): the same tests, the other engine.
pub fn on_postgres() -> bool {
    std::env::var("KEYWRIGHT_TEST_ENGINE").as_deref() == Ok("postgres")
}

/// The store "at" `path`: the SQLite file, or, on a PostgreSQL run, a database of its
/// own named after the path (created the first time, so reopening the path reopens it).
pub fn open_store(path: &std::path::Path) -> Store {
    if on_postgres() {
        Store::open_postgres(&postgres_database_for(path)).unwrap()
    } else {
        Store::open(path).unwrap()
    }
}

/// The URL of the test cluster's database standing for `path`.
pub fn postgres_database_for(path: &std::path::Path) -> String {
    use sha2::Digest as _;
    let base = std::env::var("KEYWRIGHT_TEST_PG").expect(
        "KEYWRIGHT_TEST_PG is not set: run scripts/test.sh, or `eval \"$(bash scripts/pg-cluster.sh start)\"`",
    );
    let digest = sha2::Sha256::digest(path.to_string_lossy().as_bytes());
    let name = format!("kwt_{}", &hex::encode(digest)[..24]);
    let mut admin = postgres::Client::connect(&base, postgres::NoTls)
        .unwrap_or_else(|e| panic!("cannot reach the test cluster at {base}: {e}"));
    let exists = admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .unwrap()
        .is_some();
    if !exists {
        // Another test may create it at the same moment: that is fine too.
        if let Err(e) = admin.batch_execute(&format!("CREATE DATABASE {name}")) {
            let duplicate = e.code() == Some(&postgres::error::SqlState::DUPLICATE_DATABASE);
            assert!(duplicate, "{e}");
        }
    }
    let (prefix, _) = base.rsplit_once('/').unwrap();
    format!("{prefix}/{name}")
}

/// The columns a table has on both engines (SQLite's own list; PostgreSQL adds an
/// identity `seq` where SQLite orders by its rowid).
pub fn shared_columns(table: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("schema.db");
    drop(Store::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let columns = conn
        .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
        .unwrap()
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|c| format!("\"{}\"", c.unwrap()))
        .collect();
    columns
}

/// SQL run on a store behind Keywright's back, over a connection of its own, on
/// whichever engine the store is (what the tests' direct edits and counts use).
pub struct Raw(Store);

impl Raw {
    /// A second connection to `kw`'s store.
    pub fn of(kw: &Keywright) -> Self {
        Raw(kw.store().reopen().unwrap())
    }

    /// A connection to the store "at" `path` (see [`open_store`]).
    pub fn at(path: &std::path::Path) -> Self {
        Raw(open_store(path))
    }

    /// The shared SQL handle.
    pub fn db(&self) -> keywright_core::store::db::Db<'_> {
        self.0.db_for_tests()
    }

    /// Runs one statement; the rows it changed.
    pub fn execute(&self, sql: &str, args: &[keywright_core::store::db::Value<'_>]) -> u64 {
        self.db()
            .execute(sql, args)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Runs statements separated by `;` (no `;` inside them), one by one.
    pub fn execute_batch(&self, sql: &str) {
        for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            self.execute(statement, &[]);
        }
    }

    /// The first column of the one row `sql` returns.
    pub fn value<T: keywright_core::store::db::FromColumn>(&self, sql: &str) -> T {
        self.db()
            .query_one(sql, &[], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// `SELECT count(*) FROM {table}`.
    pub fn count(&self, table: &str) -> i64 {
        self.value(&format!("SELECT count(*) FROM {table}"))
    }
}
