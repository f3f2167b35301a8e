//! The store on a real PostgreSQL (the private cluster `scripts/test.sh` starts):
//! its schema is the SQLite store's, column for column; opening is idempotent across
//! processes and refuses what it must; the shared SQL layer reads back what it wrote
//! the same way on both engines.

mod common;

use std::collections::BTreeMap;

use keywright_core::store::db::{Db, Engine, Value};
use keywright_core::store::pg::PgStore;
use keywright_core::{ErrorCode, Store};

#[path = "common/pg.rs"]
mod pg;

/// table → column → (declared NOT NULL)
type Shape = BTreeMap<String, BTreeMap<String, bool>>;

fn sqlite_shape(path: &std::path::Path) -> Shape {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table'
             AND name NOT LIKE 'sqlite_%'
             AND name NOT LIKE 'license_search%' AND name NOT LIKE 'customer_words%'",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    tables.sort();
    let mut shape = Shape::new();
    for t in tables {
        let cols = conn
            .prepare(&format!(
                "SELECT name, \"notnull\", pk FROM pragma_table_info('{t}')"
            ))
            .unwrap()
            .query_map([], |r| {
                let name: String = r.get(0)?;
                let notnull: i64 = r.get(1)?;
                let pk: i64 = r.get(2)?;
                Ok((name, notnull == 1 || pk > 0))
            })
            .unwrap()
            .collect::<rusqlite::Result<BTreeMap<_, _>>>()
            .unwrap();
        shape.insert(t, cols);
    }
    shape
}

fn postgres_shape(store: &PgStore) -> Shape {
    let rows = store
        .db()
        .query(
            "SELECT table_name::text, column_name::text, is_nullable::text
             FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name <> 'refinery_schema_history'
             ORDER BY table_name, column_name",
            &[],
            |r| {
                Ok((
                    r.get::<String>(0)?,
                    r.get::<String>(1)?,
                    r.get::<String>(2)? == "NO",
                ))
            },
        )
        .unwrap();
    let mut shape = Shape::new();
    for (t, c, notnull) in rows {
        shape.entry(t).or_default().insert(c, notnull);
    }
    shape
}

#[test]
fn the_postgres_schema_is_the_sqlite_schema_column_for_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    drop(Store::open(&path).unwrap());
    let sqlite = sqlite_shape(&path);

    let pg = PgStore::open(&pg::fresh_database()).unwrap();
    let mut postgres = postgres_shape(&pg);
    // What PostgreSQL has and SQLite keeps implicitly: the rowid that orders keys and
    // machines, as an explicit column.
    for t in ["signing_keys", "machines"] {
        assert_eq!(
            postgres.get_mut(t).unwrap().remove("seq"),
            Some(true),
            "{t}.seq"
        );
    }
    assert_eq!(
        sqlite.keys().collect::<Vec<_>>(),
        postgres.keys().collect::<Vec<_>>(),
        "the same tables"
    );
    for (table, columns) in &sqlite {
        assert_eq!(
            columns, &postgres[table],
            "table {table}: the same columns, each nullable on both or on neither"
        );
    }
}

#[test]
fn opening_twice_migrates_once_and_keeps_the_store_id() {
    let url = pg::fresh_database();
    // Two "replicas" opening a new store at the same moment.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| PgStore::open(&url).unwrap());
        let b = s.spawn(|| PgStore::open(&url).unwrap());
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(a.store_id(), b.store_id());
    let again = PgStore::open(&url).unwrap();
    assert_eq!(again.store_id(), a.store_id());
    let steps: i64 = again
        .db()
        .query_one("SELECT count(*) FROM refinery_schema_history", &[], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(steps as u32, PgStore::schema_version());
}

#[test]
fn a_store_from_a_newer_keywright_is_refused_untouched() {
    let url = pg::fresh_database();
    let store = PgStore::open(&url).unwrap();
    let next = PgStore::schema_version() + 1;
    store
        .db()
        .execute(
            "INSERT INTO refinery_schema_history (version, name, applied_on, checksum)
             VALUES (?1, 'from_the_future', '2030-01-01T00:00:00Z', '1')",
            &[Value::Int(next as i64)],
        )
        .unwrap();
    let tables_before: i64 = store
        .db()
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()",
            &[],
            |r| r.get(0),
        )
        .unwrap();
    drop(store);
    let err = PgStore::open(&url).unwrap_err();
    assert_eq!(err.code, ErrorCode::StoreTooNew, "{}", err.message);
    assert!(err.message.contains("from_the_future"), "{}", err.message);
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let tables_after: i64 = admin
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables_after, tables_before);
}

#[test]
fn a_database_of_another_program_is_refused_and_left_alone() {
    let url = pg::fresh_database();
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    admin
        .batch_execute(
            "CREATE TABLE invoices (id int primary key); INSERT INTO invoices VALUES (1)",
        )
        .unwrap();
    let err = PgStore::open(&url).unwrap_err();
    assert_eq!(err.code, ErrorCode::Store);
    assert!(err.message.contains("another program"), "{}", err.message);
    let tables: i64 = admin
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        tables, 1,
        "nothing was created beside the other program's table"
    );
}

#[test]
fn a_server_that_is_not_there_is_named_without_its_password() {
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = PgStore::open(&format!("postgres://kw:hunter2@127.0.0.1:{port}/kw")).unwrap_err();
    assert_eq!(err.code, ErrorCode::Store);
    assert!(err.message.contains("cannot connect"), "{}", err.message);
    assert!(!err.message.contains("hunter2"), "{}", err.message);
}

/// Rows written through the shared SQL layer, read back through it: the same values
/// and the same order on both engines, triggers included (the customer sort key).
fn write_and_read(db: Db<'_>) -> Vec<(String, Option<String>, String, i64)> {
    let at = "2026-11-23T10:00:00.000Z";
    db.execute(
        "INSERT INTO signing_keys (id, kid, name, algorithm, public_key, created_at)
         VALUES ('k1', 'kid1', 'Key', 'ed25519', ?1, ?2)",
        &[Value::Blob(vec![0u8, 1, 255].into()), at.into()],
    )
    .unwrap();
    db.execute(
        "INSERT INTO products (id, name, code, signing_key_id, created_at)
         VALUES ('p1', 'Zapper', 'zap', 'k1', ?1)",
        &[at.into()],
    )
    .unwrap();
    db.execute(
        "INSERT INTO policies (id, product_id, name, scheme, floating, encrypt, created_at)
         VALUES ('pol1', 'p1', 'Yearly', 'ED25519_SIGN', 0, 0, ?1)",
        &[at.into()],
    )
    .unwrap();
    for (i, name) in [Some("Émile"), Some("ada"), None, Some("Zoë"), Some("bob")]
        .into_iter()
        .enumerate()
    {
        db.execute(
            "INSERT INTO customers (id, name, email, created_at) VALUES (?1, ?2, ?3, ?4)",
            &[
                format!("c{i}").into(),
                name.into(),
                format!("c{i}@example.com").into(),
                at.into(),
            ],
        )
        .unwrap();
        db.execute(
            "INSERT INTO licenses (id, key, policy_id, customer_id, signing_key_id, created_at, updated_at)
             VALUES (?1, ?2, 'pol1', ?3, 'k1', ?4, ?4)",
            &[
                format!("l{i}").into(),
                format!("KEY-{}-{i}", "x".repeat(70)).into(),
                format!("c{i}").into(),
                at.into(),
            ],
        )
        .unwrap();
    }
    db.execute(
        "INSERT INTO licenses (id, key, policy_id, signing_key_id, created_at, updated_at)
         VALUES ('l9', 'KEY-NOBODY', 'pol1', 'k1', ?1, ?1)",
        &[at.into()],
    )
    .unwrap();
    // A rename moves the customer's licenses in the sort order.
    db.execute("UPDATE customers SET name = 'Aaron' WHERE id = 'c4'", &[])
        .unwrap();
    let active: i64 = db
        .query_one(
            "SELECT count(*) FILTER (WHERE status = 'active') FROM licenses",
            &[],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(active, 6);
    let like = format!(
        "SELECT count(*) FROM customers WHERE name {} ?1",
        db.ilike()
    );
    let found: i64 = db
        .query_one(&like, &["%ADA%".into()], |r| r.get(0))
        .unwrap();
    assert_eq!(found, 1, "{:?}: case-insensitive match", db.engine());
    db.query(
        "SELECT l.id, c.name, l.customer_sort, length(l.key)
         FROM licenses l LEFT JOIN customers c ON c.id = l.customer_id
         ORDER BY l.customer_sort, l.id",
        &[],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )
    .unwrap()
}

#[test]
fn the_shared_sql_layer_reads_the_same_rows_on_both_engines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    drop(Store::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let sqlite = write_and_read(Db::Sqlite(&conn));

    let pg = PgStore::open(&pg::fresh_database()).unwrap();
    assert_eq!(pg.db().engine(), Engine::Postgres);
    let postgres = write_and_read(pg.db());

    assert_eq!(sqlite, postgres);
    // Bytewise order on both: "aaron" < "ada" < "bob" < "c2@…" (no name: the email)
    // < "zoë" < "émile" (U+00E9 after every ASCII letter), and the license without a
    // customer last (U+10FFFF).
    let order: Vec<&str> = sqlite.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(order, ["l4", "l1", "l2", "l3", "l0", "l9"]);
    assert_eq!(sqlite[5].2, "\u{10FFFF}");
}

#[test]
fn a_failed_transaction_leaves_nothing_and_the_connection_goes_on() {
    let pg = PgStore::open(&pg::fresh_database()).unwrap();
    let err = pg
        .transaction(|db| {
            db.execute(
                "INSERT INTO store_meta (key, value) VALUES ('half', 'written')",
                &[],
            )?;
            // A second store id: the primary key refuses it.
            db.execute(
                "INSERT INTO store_meta (key, value) VALUES ('store_id', 'again')",
                &[],
            )
        })
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict, "{}", err.message);
    let half: i64 = pg
        .db()
        .query_one(
            "SELECT count(*) FROM store_meta WHERE key = 'half'",
            &[],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(half, 0);
}

#[test]
fn a_dropped_connection_is_a_clear_error_that_says_to_try_again() {
    let url = pg::fresh_database();
    let pg = PgStore::open(&url).unwrap();
    let pid: i64 = pg
        .db()
        .query_one("SELECT pg_backend_pid()::bigint", &[], |r| r.get(0))
        .unwrap();
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    admin
        .execute("SELECT pg_terminate_backend($1::int)", &[&(pid as i32)])
        .unwrap();
    let err = pg
        .db()
        .query_one("SELECT count(*) FROM store_meta", &[], |r| r.get::<i64>(0))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Store);
    assert!(
        err.message
            .contains("connection to the PostgreSQL store was lost")
            && err.message.contains("try again"),
        "{}",
        err.message
    );
}

/// Every row of every table, every column, as text: what "identical rows" means.
fn dump(store: &Store) -> Vec<String> {
    let db = store.db_for_tests();
    let mut out = Vec::new();
    for (table, order) in [
        ("store_meta", "key"),
        ("signing_keys", "id"),
        ("products", "id"),
        ("policies", "id"),
        ("customers", "seq"),
        ("licenses", "seq"),
        ("machines", "id"),
        ("server_events", "seq"),
        ("audit_events", "seq"),
        ("audit_baseline", "subject_type, subject_id"),
    ] {
        let columns = common::shared_columns(table);
        let list = columns.join(", ");
        let rows = db
            .query(
                &format!("SELECT {list} FROM {table} ORDER BY {order}"),
                &[],
                |r| {
                    (0..columns.len())
                        .map(|i| r.value(i).map(|v| format!("{v:?}")))
                        .collect::<keywright_core::Result<Vec<_>>>()
                        .map(|v| format!("{table}: {}", v.join(" | ")))
                },
            )
            .unwrap();
        out.extend(rows);
    }
    out
}

/// An SQLite store (memory vault) with a key, the product "Zapper" and its policy
/// "Yearly": what the copies and backups below start from.
fn zapper_store() -> (common::TestStore, keywright_core::Policy) {
    let mut s = common::TestStore::new();
    s.key("Main");
    let product = s.product("Zapper");
    let policy = s.policy(&product, "Yearly", Some("1y"));
    (s, policy)
}

#[test]
fn a_store_copied_to_postgres_and_back_keeps_every_row_and_its_audit_log() {
    use keywright_core::{IssueLicense, Keywright};

    let (mut s, policy) = zapper_store();
    let mut ids = Vec::new();
    for (i, name) in ["Ada Hopper", "Émile Zola", "bob"].iter().enumerate() {
        let license =
            s.kw.issue_license(
                &IssueLicense {
                    policy_id: policy.id.clone(),
                    customer_name: Some((*name).into()),
                    customer_email: Some(format!("c{i}@example.com")),
                    ..Default::default()
                },
                common::now(),
            )
            .unwrap();
        ids.push(license.id);
    }
    s.kw.suspend_license(&ids[1], common::now()).unwrap();
    let rows_in_log = s.kw.verify_audit().unwrap();
    let source = s.kw.store();

    // SQLite → PostgreSQL.
    let url = pg::fresh_database();
    let mut on_pg = Store::open_postgres(&url).unwrap();
    let mut heard = Vec::new();
    let counts = source
        .copy_into(&mut on_pg, |table, n| heard.push((table.to_string(), n)))
        .unwrap();
    assert_eq!(heard.len(), counts.len(), "every table reported");
    assert_eq!(
        counts.iter().find(|c| c.0 == "licenses").unwrap().1,
        3,
        "{counts:?}"
    );
    assert_eq!(
        on_pg.store_id(),
        source.store_id(),
        "the store keeps its id"
    );
    assert_eq!(dump(source), dump(&on_pg));

    // PostgreSQL → a new SQLite file.
    let dir = tempfile::tempdir().unwrap();
    let mut back = Store::open(&dir.path().join("back.db")).unwrap();
    on_pg.copy_into(&mut back, |_, _| {}).unwrap();
    assert_eq!(dump(source), dump(&back));

    // The audit log (chain, MACs, the anchor's head, the replay of every row's
    // state) verifies on all three, with the same keychain.
    let on_pg = Keywright::with_vault(on_pg, Box::new(s.vault.clone()), "tester");
    assert_eq!(on_pg.verify_audit().unwrap(), rows_in_log);
    let back = Keywright::with_vault(back, Box::new(s.vault.clone()), "tester");
    assert_eq!(back.verify_audit().unwrap(), rows_in_log);

    // A copy lands only in an empty store: the second one is refused, untouched.
    let mut again = Store::open(&dir.path().join("back.db")).unwrap();
    let err = s.kw.store().copy_into(&mut again, |_, _| {}).unwrap_err();
    assert_eq!(err.code, ErrorCode::StoreExists, "{}", err.message);
    assert_eq!(dump(s.kw.store()), dump(back.store()));
}

#[test]
fn an_edit_made_on_postgres_is_caught_by_the_audit_log_there() {
    use keywright_core::{IssueLicense, Keywright};

    let (mut s, policy) = zapper_store();
    let license =
        s.kw.issue_license(
            &IssueLicense {
                policy_id: policy.id.clone(),
                ..Default::default()
            },
            common::now(),
        )
        .unwrap();
    let url = pg::fresh_database();
    let mut on_pg = Store::open_postgres(&url).unwrap();
    s.kw.store().copy_into(&mut on_pg, |_, _| {}).unwrap();
    let intact = Keywright::with_vault(on_pg, Box::new(s.vault.clone()), "tester");
    intact.verify_audit().unwrap();
    let on_pg = Store::open_postgres(&url).unwrap();
    // Someone with the database but not the keychain revokes the license by hand.
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    admin
        .execute(
            "UPDATE licenses SET status = 'revoked' WHERE id = $1",
            &[&license.id],
        )
        .unwrap();
    let on_pg = Keywright::with_vault(on_pg, Box::new(s.vault.clone()), "tester");
    let err = on_pg.verify_audit().unwrap_err();
    assert_eq!(err.code, ErrorCode::AuditTampered);
    assert!(err.message.contains(&license.id), "{}", err.message);
}

#[test]
fn a_backup_of_a_postgres_store_restores_to_a_file_with_every_row() {
    use keywright_core::{restore_backup, IssueLicense, KdfParams, Keywright, MemoryVault, Vault};

    let (mut s, policy) = zapper_store();
    for i in 0..3 {
        s.kw.issue_license(
            &IssueLicense {
                policy_id: policy.id.clone(),
                customer_email: Some(format!("c{i}@example.com")),
                ..Default::default()
            },
            common::now(),
        )
        .unwrap();
    }
    let url = pg::fresh_database();
    let mut on_pg = Store::open_postgres(&url).unwrap();
    s.kw.store().copy_into(&mut on_pg, |_, _| {}).unwrap();
    let mut on_pg = Keywright::with_vault(on_pg, Box::new(s.vault.clone()), "tester");

    let file = s.file("pg.kwbackup");
    let pass = "correct horse battery staple orbit";
    let created = on_pg
        .create_backup_with(&file, pass, KdfParams::TEST_ONLY_CHEAP, common::now())
        .unwrap();
    assert_eq!(created.licenses, 3);

    // Restored onto "another machine": a new file, a new keychain.
    let machine = std::sync::Arc::<MemoryVault>::default();
    let target = s.file("restored/keywright.db");
    let m = machine.clone();
    let restored = restore_backup(&file, pass, &target, "restorer", common::now(), move |_| {
        Box::new(m) as Box<dyn Vault>
    })
    .unwrap();
    assert_eq!(restored.store_id, on_pg.store().store_id());
    let back = Keywright::with_vault(
        Store::open(&target).unwrap(),
        Box::new(machine.clone()),
        "restorer",
    );
    // Every row of the PostgreSQL store is in the file (the audit log differs only
    // by the backup's and the restore's own rows), and the log verifies under the
    // restored keychain.
    let before = dump(on_pg.store());
    let after = dump(back.store());
    assert_eq!(
        before
            .iter()
            .filter(|r| !r.starts_with("audit_events"))
            .collect::<Vec<_>>(),
        after
            .iter()
            .filter(|r| !r.starts_with("audit_events"))
            .collect::<Vec<_>>()
    );
    back.verify_audit().unwrap();
}

/// Whether the store's own connection is encrypted, as the server sees it.
fn encrypted(store: &PgStore) -> bool {
    store
        .db()
        .query_one(
            "SELECT CAST(count(*) AS BIGINT) FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl",
            &[],
            |r| r.get::<i64>(0),
        )
        .unwrap()
        == 1
}

#[test]
fn tls_options_work_as_libpq_reads_them() {
    let url = pg::fresh_database();
    let ca = std::env::var("KEYWRIGHT_TEST_PG_CA").expect("the test cluster's CA");
    let with = |query: &str| format!("{url}?{query}");
    let on_localhost = |query: &str| with(query).replace("@127.0.0.1:", "@localhost:");

    // verify-full: the chain and the name, by host name and by address.
    let store = PgStore::open(&on_localhost(&format!(
        "sslmode=verify-full&sslrootcert={ca}"
    )))
    .unwrap();
    assert!(encrypted(&store));
    let store = PgStore::open(&with(&format!("sslmode=verify-full&sslrootcert={ca}"))).unwrap();
    assert!(encrypted(&store));
    // No options: libpq's `prefer`, which the test cluster accepts with TLS.
    assert!(encrypted(&PgStore::open(&url).unwrap()));
    assert!(!encrypted(
        &PgStore::open(&with("sslmode=disable")).unwrap()
    ));
    assert!(encrypted(&PgStore::open(&with("sslmode=require")).unwrap()));

    // A server whose certificate the given root did not sign is refused: the
    // server's own certificate is no CA.
    let not_a_ca = std::path::Path::new(&ca).with_file_name("server.crt");
    let err = PgStore::open(&with(&format!(
        "sslmode=verify-ca&sslrootcert={}",
        not_a_ca.display()
    )))
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::Store);
    assert!(
        err.message.contains("certificate verify failed"),
        "{}",
        err.message
    );
    // The system's roots do not know the test CA either.
    let err = PgStore::open(&with("sslmode=verify-full")).unwrap_err();
    assert!(
        err.message.contains("certificate verify failed"),
        "{}",
        err.message
    );

    // Mistakes in the options are named before anything connects.
    let err =
        PgStore::open(&with("sslmode=verify-full&sslrootcert=/nonexistent/ca.crt")).unwrap_err();
    assert_eq!(err.code, ErrorCode::BadInput);
    assert!(
        err.message.contains("/nonexistent/ca.crt"),
        "{}",
        err.message
    );
    let err = PgStore::open(&with("sslmode=verify")).unwrap_err();
    assert_eq!(err.code, ErrorCode::BadInput);
    assert!(err.message.contains("verify-full"), "{}", err.message);
}

#[test]
fn a_lost_connection_fails_one_step_then_the_store_reconnects_by_itself() {
    use keywright_core::{Keywright, MemoryVault, NewProduct, NewSigningKey};

    let url = pg::fresh_database();
    let vault = std::sync::Arc::<MemoryVault>::default();
    let mut kw = Keywright::with_vault(Store::open_postgres(&url).unwrap(), Box::new(vault), "t");
    kw.create_signing_key(
        &NewSigningKey {
            name: "Main".into(),
            algorithm: keywright_core::KeyAlgorithm::Ed25519,
        },
        common::now(),
    )
    .unwrap();
    // The database drops every connection of this store (a restart, a failover).
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let database = url.rsplit('/').next().unwrap().to_owned();
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&database],
        )
        .unwrap();
    let err = kw.list_products().unwrap_err();
    assert_eq!(err.code, ErrorCode::Store);
    assert!(err.message.contains("try again"), "{}", err.message);
    // The next step works, on a new connection; nothing was lost.
    assert!(kw.list_products().unwrap().is_empty());
    kw.create_product(
        &NewProduct {
            name: "Zapper".into(),
            ..Default::default()
        },
        common::now(),
    )
    .unwrap();
    assert_eq!(kw.list_products().unwrap().len(), 1);
    kw.store().check_alive().unwrap();
    kw.verify_audit().unwrap();
}

/// Issue 15's proof at size: a store of 10,000 licenses issued from a CSV (each with
/// its customer, audit rows and license file) is copied SQLite → PostgreSQL → SQLite.
/// The three hold identical rows, the audit log verifies on each, every license key
/// verifies with each store's public key, every license file written by the batch
/// verifies with the key of the last copy, and the copies sign new files that verify.
///
/// The stores are built here of both engines explicitly, so the run with every other
/// test on PostgreSQL (scripts/test.sh's second pass) has nothing to add: it returns.
#[test]
fn ten_thousand_licenses_copy_to_postgres_and_back_and_every_license_and_file_verifies() {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    use keywright_core::batch::BatchOptions;
    use keywright_core::verify::{verify, VerifyRequest};
    use keywright_core::{
        ExportLicenseFile, KeyAlgorithm, Keywright, MemoryVault, NewPolicy, NewProduct,
        NewSigningKey,
    };
    use keywright_license::ValidationCode;

    if common::on_postgres() {
        return;
    }
    const N: usize = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let vault = Arc::new(MemoryVault::default());
    let open = |store: Store| Keywright::with_vault(store, Box::new(vault.clone()), "tester");
    let mut source = open(Store::open(&dir.path().join("source.db")).unwrap());
    let key = source
        .create_signing_key(
            &NewSigningKey {
                name: "Main".into(),
                algorithm: KeyAlgorithm::Ed25519,
            },
            common::now(),
        )
        .unwrap();
    let product = source
        .create_product(
            &NewProduct {
                name: "Zapper".into(),
                code: Some("ZAP".into()),
                ..Default::default()
            },
            common::now(),
        )
        .unwrap();
    source
        .create_policy(
            &NewPolicy {
                product_id: product.id.clone(),
                name: "Yearly".into(),
                duration: Some("1y".into()),
                ..Default::default()
            },
            common::now(),
        )
        .unwrap();
    let mut csv = String::from("name,email,company,policy,product,quantity,order id\n");
    for i in 0..N {
        csv.push_str(&format!(
            "Buyer {i} Ünïcode,buyer{i}@example.com,Co {},Yearly,ZAP,1,ORD-{i}\n",
            i % 7
        ));
    }
    let files = dir.path().join("files");
    std::fs::create_dir(&files).unwrap();
    let issued = source
        .issue_batch(
            csv.as_bytes(),
            &BatchOptions {
                out_dir: Some(files.display().to_string()),
                all_or_nothing: true,
            },
            common::now(),
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .unwrap();
    assert_eq!(issued.issued.len(), N, "{}", issued.message);
    // One row per license file, one per 500 licenses issued (committing to them and
    // their customers), and the setup's.
    let rows_in_log = source.verify_audit().unwrap();
    assert!(rows_in_log > N + N / 500, "{rows_in_log}");

    // SQLite → PostgreSQL → SQLite, through the command the CLI and the window use.
    let url = pg::fresh_database();
    let back_path = dir.path().join("back.db").display().to_string();
    let vault_for = |_: &str| Box::new(vault.clone()) as Box<dyn keywright_core::Vault>;
    let there = keywright_core::store::copy_store(
        &dir.path().join("source.db").display().to_string(),
        &url,
        "tester",
        vault_for,
        |_, _| {},
    )
    .unwrap();
    let back = keywright_core::store::copy_store(&url, &back_path, "tester", vault_for, |_, _| {})
        .unwrap();
    for copied in [&there, &back] {
        assert_eq!(copied.audit_rows as usize, rows_in_log);
        let licenses = copied
            .tables
            .iter()
            .find(|t| t.table == "licenses")
            .unwrap();
        assert_eq!(licenses.rows as usize, N);
    }

    let mut stores = vec![
        source,
        open(Store::open_postgres(&url).unwrap()),
        open(Store::open(std::path::Path::new(&back_path)).unwrap()),
    ];
    let rows = dump(stores[0].store());
    for copy in &stores[1..] {
        assert!(dump(copy.store()) == rows, "identical rows in every table");
    }
    for (name, kw) in ["source", "PostgreSQL", "back"].iter().zip(&stores) {
        assert_eq!(kw.verify_audit().unwrap(), rows_in_log, "{name}");
        let public_key = kw.list_signing_keys().unwrap()[0].public_key_hex.clone();
        assert_eq!(public_key, key.public_key_hex);
        // Every license key, as this store holds it, verifies with this store's key.
        let keys: Vec<String> = kw
            .store()
            .db_for_tests()
            .query("SELECT key FROM licenses", &[], |r| r.get(0))
            .unwrap();
        assert_eq!(keys.len(), N);
        for license_key in &keys {
            let report = verify(
                &VerifyRequest {
                    key: Some(license_key.clone()),
                    public_key: public_key.clone(),
                    ..Default::default()
                },
                common::now(),
            )
            .unwrap();
            assert_eq!(report.code, ValidationCode::Valid, "{name}: {report:?}");
        }
    }

    // The copy on PostgreSQL signs: a new file for one of the batch's licenses
    // verifies. (One store goes on after a copy: both share one audit anchor in the
    // keychain, so a row added here makes the others' logs look cut short.)
    let license = &issued.issued[N / 2];
    let path = dir.path().join("from-postgres.lic");
    stores[1]
        .export_license_file(
            &ExportLicenseFile {
                license_id: license.license_id.clone(),
                path: path.display().to_string(),
                ttl: None,
                encrypt: None,
                algorithm: None,
                include: Vec::new(),
            },
            common::now(),
        )
        .unwrap();
    let report = verify(
        &VerifyRequest {
            file: Some(std::fs::read_to_string(&path).unwrap()),
            public_key: key.public_key_hex.clone(),
            ..Default::default()
        },
        common::now(),
    )
    .unwrap();
    assert_eq!(report.code, ValidationCode::Valid, "{report:?}");
    assert_eq!(stores[1].verify_audit().unwrap(), rows_in_log + 1);
    let err = stores[2].verify_audit().unwrap_err();
    assert_eq!(err.code, ErrorCode::AuditTampered, "{}", err.message);

    // Every license file the batch wrote verifies with the key of the last copy.
    let public_key = stores[2].list_signing_keys().unwrap()[0]
        .public_key_hex
        .clone();
    let mut checked = 0;
    for license in &issued.issued {
        let file = files.join(format!("{}-{}.lic", license.order_id, license.seq));
        let report = verify(
            &VerifyRequest {
                file: Some(std::fs::read_to_string(&file).unwrap()),
                public_key: public_key.clone(),
                ..Default::default()
            },
            common::now(),
        )
        .unwrap();
        assert_eq!(
            report.code,
            ValidationCode::Valid,
            "{}: {report:?}",
            file.display()
        );
        checked += 1;
    }
    assert_eq!(checked, N);
}
