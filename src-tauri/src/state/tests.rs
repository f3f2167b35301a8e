//! The window keeps answering while a batch runs: the batch runs on a connection of its
//! own, and the window's commands go through the same `Desk` the commands use. Both
//! connections share one memory vault, as the OS keychain is shared in the app.
//!
//! No timing: the batch is held inside its progress callback, after a chunk it has
//! committed, while the window's commands run; those would wait for the batch forever
//! if it held the window's connection (a watchdog turns that into a failure).

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use keywright_core::batch::{BatchOptions, BatchOutcome, BatchProgress, CHUNK};
use keywright_core::{
    CommandError, ErrorCode, IssueLicense, KeyAlgorithm, LicenseQuery, MemoryVault, NewPolicy,
    NewProduct, NewSigningKey, Settings,
};

use super::{Batch, Desk, Keychains, Reply, SettingsState};

const ROWS: usize = 3_000;
const LOCK_PASSPHRASE: &str = "correct horse battery";
/// Only reached when a window command waits for the batch (the failure this catches).
const DEADLOCK: Duration = Duration::from_secs(120);

struct Fixture {
    _dir: tempfile::TempDir,
    desk: Desk,
    /// The keychain entries of PostgreSQL passwords the desk uses.
    connections: Arc<MemoryVault>,
    vault: Arc<MemoryVault>,
    batch: Batch,
    csv: Vec<u8>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let vault = Arc::new(MemoryVault::default());
    let settings = SettingsState {
        path: Some(dir.path().join("settings.json")),
        current: Settings::default(),
        problem: None,
        store_from_env: false,
    };
    let connections = Arc::new(MemoryVault::default());
    let desk = Desk::open(
        Ok(dir.path().join("store.db").display().to_string()),
        settings,
        keychains(&vault, &connections),
    );
    desk.with(|kw| {
        let now = Timestamp::now();
        kw.create_signing_key(
            &NewSigningKey {
                name: "Main".into(),
                algorithm: KeyAlgorithm::Ed25519,
            },
            now,
        )?;
        let product = kw.create_product(
            &NewProduct {
                name: "Zapper Pro".into(),
                code: Some("ZAP".into()),
                ..Default::default()
            },
            now,
        )?;
        kw.create_policy(
            &NewPolicy {
                product_id: product.id,
                name: "Yearly".into(),
                duration: Some("1y".into()),
                ..Default::default()
            },
            now,
        )
    })
    .unwrap();
    let mut csv = String::from("name,email,policy,product,quantity,order id\n");
    for i in 0..ROWS {
        csv.push_str(&format!(
            "Customer {i},c{i}@example.com,Yearly,ZAP,1,O-{i}\n"
        ));
    }
    Fixture {
        _dir: dir,
        desk,
        connections,
        vault,
        batch: Batch::default(),
        csv: csv.into_bytes(),
    }
}

fn keychains(vault: &Arc<MemoryVault>, connections: &Arc<MemoryVault>) -> Keychains {
    let vault = vault.clone();
    Keychains {
        for_store: Box::new(move |_| Box::new(vault.clone())),
        connections: Box::new(connections.clone()),
    }
}

fn options() -> BatchOptions {
    BatchOptions {
        out_dir: None,
        all_or_nothing: false,
    }
}

fn licenses(desk: &Desk) -> Reply<i64> {
    desk.with(|kw| {
        Ok(kw
            .search_licenses(&LicenseQuery::default(), Timestamp::now())?
            .total)
    })
}

/// Runs a batch of the fixture's CSV and, once it has committed its first chunk and
/// while it waits there, `meanwhile` on another thread. Returns what `meanwhile`
/// returned, the progress at which it ran, and the batch's outcome.
fn during_batch<T: Send>(
    f: &Fixture,
    meanwhile: impl FnOnce(&Desk, &Batch) -> T + Send,
) -> (T, BatchProgress, Reply<BatchOutcome>) {
    let (running_tx, running_rx) = mpsc::channel::<BatchProgress>();
    let (resume_tx, resume_rx) = mpsc::channel::<()>();
    let (answer_tx, answer_rx) = mpsc::channel::<T>();
    std::thread::scope(|scope| {
        let batch = scope.spawn(move || {
            let mut held = false;
            f.batch.issue(&f.desk, &f.csv, &options(), &mut |p| {
                if p.done > 0 && !held {
                    held = true;
                    running_tx.send(p).unwrap();
                    // Until the window's commands have answered (or the watchdog gave up).
                    let _ = resume_rx.recv();
                }
            })
        });
        let at = running_rx
            .recv()
            .expect("the batch reported a committed chunk");
        scope.spawn(move || answer_tx.send(meanwhile(&f.desk, &f.batch)).unwrap());
        let answer = answer_rx.recv_timeout(DEADLOCK);
        // Let the batch go on either way, so a failure fails instead of hanging.
        drop(resume_tx);
        let outcome = batch.join().unwrap();
        let answer = answer.expect("the window's commands waited for the running batch");
        (answer, at, outcome)
    })
}

#[test]
fn the_window_answers_while_a_batch_runs() {
    let f = fixture();
    let (answers, at, outcome) = during_batch(&f, |desk, _| {
        let seen = licenses(desk)?;
        let dashboard = desk.with(|kw| kw.dashboard(Timestamp::now()))?;
        // Writing works too between the batch's chunks (SQLite serialises the writers).
        let issued = desk.with(|kw| {
            kw.issue_license(
                &IssueLicense {
                    policy_id: "Yearly".into(),
                    customer_name: Some("Walk-in".into()),
                    ..Default::default()
                },
                Timestamp::now(),
            )
        })?;
        Ok::<_, CommandError>((seen, dashboard.per_product[0].issued, issued.status))
    });
    // The batch was still running: one chunk committed of several.
    assert_eq!(at.done, CHUNK as u64);
    assert_eq!(at.total, ROWS as u64);
    let (seen, on_dashboard, issued) = answers.unwrap();
    // The window saw the chunk the batch had committed, no more.
    assert_eq!(seen, CHUNK as i64);
    assert_eq!(on_dashboard, CHUNK as i64);
    assert_eq!(issued.as_str(), "active");
    let outcome = outcome.unwrap();
    assert!(!outcome.cancelled, "{}", outcome.message);
    assert_eq!(outcome.issued.len(), ROWS);
    assert_eq!(licenses(&f.desk).unwrap(), ROWS as i64 + 1);
}

#[test]
fn cancel_stops_the_batch_after_its_chunk() {
    let f = fixture();
    let (second, at, outcome) = during_batch(&f, |desk, batch| {
        // One batch at a time: a second is refused at once, not queued.
        let second = batch.issue(desk, b"name\n", &options(), &mut |_| {});
        batch.cancel();
        second
    });
    assert_eq!(second.unwrap_err().code, ErrorCode::Conflict);
    let outcome = outcome.unwrap();
    assert!(outcome.cancelled);
    assert_eq!(outcome.issued.len() as u64, at.done);
    assert_eq!(licenses(&f.desk).unwrap(), at.done as i64);
}

#[test]
fn the_batch_signs_only_while_the_window_is_unlocked() {
    let f = fixture();
    f.desk
        .with(|kw| kw.set_app_lock(None, LOCK_PASSPHRASE, Timestamp::now()))
        .unwrap();

    // Locking signing while the batch runs stops it after the chunk it committed.
    let (state, at, outcome) = during_batch(&f, |desk, batch| desk.lock_app(batch));
    let state = state.unwrap();
    assert!(state.enabled && !state.unlocked);
    let outcome = outcome.unwrap();
    assert!(outcome.cancelled);
    assert!(
        outcome.message.contains("Signing was locked"),
        "{}",
        outcome.message
    );
    assert_eq!(outcome.issued.len() as u64, at.done);

    // Locked, the batch's own connection refuses to sign, as the window's does.
    let refused = f
        .batch
        .issue(&f.desk, &f.csv, &options(), &mut |_| {})
        .unwrap_err();
    assert_eq!(
        refused.code,
        ErrorCode::SigningLocked,
        "{}",
        refused.message
    );
    assert_eq!(licenses(&f.desk).unwrap(), at.done as i64);

    // Unlocked in the window, a re-run issues the rest.
    f.desk.with(|kw| kw.unlock_app(LOCK_PASSPHRASE)).unwrap();
    let outcome = f
        .batch
        .issue(&f.desk, &f.csv, &options(), &mut |_| {})
        .unwrap();
    assert!(!outcome.cancelled, "{}", outcome.message);
    assert_eq!(outcome.already_issued, at.done);
    assert_eq!(outcome.issued.len() as u64, ROWS as u64 - at.done);
}

#[test]
fn a_backup_runs_on_its_own_connection() {
    let f = fixture();
    let out = f._dir.path().join("store.kwbackup");
    let created = f
        .desk
        .job(|kw| kw.create_backup(&out, "plum kettle orbit tundra 93", Timestamp::now()))
        .unwrap();
    assert_eq!(created.keys, 1);
    // The window's connection sees the audit row the backup's connection wrote.
    let actions = f
        .desk
        .with(|kw| kw.audit_events())
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect::<Vec<_>>();
    assert!(actions.iter().any(|a| a == "backup.created"), "{actions:?}");
}

/// A new, empty database for this test in the cluster of `KEYWRIGHT_TEST_PG`
/// (scripts/test.sh starts one), owned by the role of `KEYWRIGHT_TEST_PG_AUTH`, which
/// must give its password: that role's URL to it without the password, and the password.
fn fresh_database(name: &str) -> (String, String) {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: run scripts/test.sh, or `eval \"$(bash scripts/pg-cluster.sh start)\"`")
        })
    };
    let (admin_url, auth_url) = (var("KEYWRIGHT_TEST_PG"), var("KEYWRIGHT_TEST_PG_AUTH"));
    let name = format!("{name}_{}", std::process::id());
    let mut admin = postgres::Client::connect(&admin_url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("cannot reach the test cluster: {e}"));
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name} OWNER keywright_pw"))
        .unwrap();
    let (prefix, _) = auth_url.rsplit_once('/').unwrap();
    let (bare, password) =
        keywright_core::store::location::split_password(&format!("{prefix}/{name}"));
    let password = password.expect("KEYWRIGHT_TEST_PG_AUTH carries a password");
    (bare, password.to_string())
}

fn issue_one(f: &Fixture) {
    let csv = b"name,email,policy,product,quantity,order id\nAda Hopper,ada@example.com,Yearly,ZAP,1,O-ADA\n";
    let outcome = f
        .batch
        .issue(&f.desk, csv, &options(), &mut |_| {})
        .unwrap();
    assert_eq!(outcome.issued.len(), 1);
}

/// Settings → "Copy this store" to PostgreSQL, then "Open": the password typed once goes
/// to the connections keychain, the settings file holds the URL without it, the window
/// and its jobs (a second connection) reach the store through the saved password, a
/// relaunch finds it again, a wrong password leaves the open store and the settings as
/// they were, and the store copies back to a file that opens with the same license.
#[test]
fn a_store_copied_to_postgres_opens_by_its_url_with_the_password_in_the_keychain() {
    let f = fixture();
    issue_one(&f);
    let id = f.desk.with(|kw| Ok(kw.store_info().store_id)).unwrap();
    let (url, password) = fresh_database("kw_app_settings");

    // A relative path and a URL without the password it needs are refused, and copy
    // nothing.
    let err = f.desk.copy_store("copy.db", None, |_, _| {}).unwrap_err();
    assert_eq!(err.code, ErrorCode::BadInput, "{}", err.message);
    let err = f.desk.copy_store(&url, None, |_, _| {}).unwrap_err();
    assert_eq!(err.code, ErrorCode::Store, "{}", err.message);
    assert!(!err.message.contains(&password), "{}", err.message);

    let mut progress = Vec::new();
    let copied = f
        .desk
        .copy_store(&url, Some(password.clone()), |table, rows| {
            progress.push((table.to_owned(), rows))
        })
        .unwrap();
    assert_eq!(copied.store_id, id);
    assert!(
        progress.contains(&("licenses".to_owned(), 1)),
        "{progress:?}"
    );
    assert!(!copied.to.contains(&password), "{}", copied.to);
    assert!(copied.audit_rows > 0);
    // Copying does not switch: the window is still on its file.
    assert!(f.desk.settings().unwrap().current.store_path.is_none());

    // Opened by its URL alone: the password comes from the keychain.
    let info = f.desk.open_store(Some(url.clone()), None).unwrap();
    assert_eq!(info.store_id, id);
    assert!(info.path.starts_with("postgres"), "{}", info.path);
    assert!(!info.path.contains(&password), "{}", info.path);
    assert_eq!(licenses(&f.desk).unwrap(), 1);
    // A job runs on a connection of its own, reached through the same password.
    let on_job = f
        .desk
        .job(|kw| {
            Ok(kw
                .search_licenses(&LicenseQuery::default(), Timestamp::now())?
                .total)
        })
        .unwrap();
    assert_eq!(on_job, 1);
    let settings_file = f.desk.settings().unwrap().path.clone().unwrap();
    let saved = std::fs::read_to_string(&settings_file).unwrap();
    assert!(saved.contains(&url), "{saved}");
    assert!(
        !saved.contains(&password),
        "the password reached settings.json: {saved}"
    );
    assert_eq!(
        f.desk.settings().unwrap().current.store_path.as_deref(),
        Some(url.as_str())
    );

    // A relaunch opens it from settings with the saved password.
    let relaunched = Desk::open(
        Ok(url.clone()),
        SettingsState {
            path: Some(settings_file.clone()),
            current: Settings::load(&settings_file).unwrap(),
            problem: None,
            store_from_env: false,
        },
        keychains(&f.vault, &f.connections),
    );
    assert_eq!(licenses(&relaunched).unwrap(), 1);
    drop(relaunched);

    // A wrong password is refused; the open store and the settings stay.
    let err = f
        .desk
        .open_store(Some(url.clone()), Some("not the password".into()))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Store, "{}", err.message);
    assert!(err.message.contains("password"), "{}", err.message);
    assert_eq!(licenses(&f.desk).unwrap(), 1);
    assert_eq!(std::fs::read_to_string(&settings_file).unwrap(), saved);

    // And back to a file, which opens with the same license and the same id.
    let back = f._dir.path().join("back.db").display().to_string();
    f.desk.copy_store(&back, None, |_, _| {}).unwrap();
    let info = f.desk.open_store(Some(back.clone()), None).unwrap();
    assert_eq!(info.store_id, id);
    assert_eq!(licenses(&f.desk).unwrap(), 1);
    assert_eq!(*f.desk.location().unwrap(), back);
    // Copying onto a store that holds data is refused and leaves it whole.
    let err = f.desk.copy_store(&url, None, |_, _| {}).unwrap_err();
    assert_ne!(err.code, ErrorCode::Internal, "{}", err.message);
    f.desk.open_store(Some(url), None).unwrap();
    assert_eq!(licenses(&f.desk).unwrap(), 1);
}
