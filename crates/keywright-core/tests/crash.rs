//! Crash safety in figures: a child process issues licenses in a loop and reports each
//! commit on stdout (`COMMITTED <license id>`, flushed after `issue_license` returns);
//! the parent SIGKILLs it at random points, hundreds of times, and after every kill
//! checks the store: every reported license is there (no lost commit), every license
//! has exactly one `license.issue` audit row and no audit row lacks its license,
//! `PRAGMA integrity_check` is `ok` and the audit chain verifies.
//!
//! The child is this same test binary, re-executed with `KEYWRIGHT_CRASH_CHILD` set
//! (the `crash_child` test below is a no-op otherwise).
//! `cargo test -p keywright-core --test crash -- --nocapture` prints the totals.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use std::sync::Arc;

use keywright_core::audit::anchor::ANCHOR_ACCOUNT;
use keywright_core::*;
use zeroize::Zeroizing;

const KILLS: usize = 200;
const CHILD_ENV: &str = "KEYWRIGHT_CRASH_CHILD";
const STORE_ENV: &str = "KEYWRIGHT_CRASH_STORE";
const POLICY_ENV: &str = "KEYWRIGHT_CRASH_POLICY";
const SECRET_ENV: &str = "KEYWRIGHT_CRASH_SECRET";

/// TEST HARNESS ONLY, never part of the product (which has no file or environment
/// fallback for private keys): a vault whose signing secret comes from an environment
/// variable, so that every child process can sign with the key the parent created,
/// and whose audit anchor entry (the audit key and the head) is a file beside the
/// store, written by rename, so it survives the kills as a keychain entry would.
struct EnvVault {
    signing: Zeroizing<Vec<u8>>,
    anchor: std::path::PathBuf,
}

impl EnvVault {
    fn new(store: &std::path::Path, signing_hex: &str) -> Self {
        Self {
            signing: Zeroizing::new(hex::decode(signing_hex).unwrap()),
            anchor: store.with_extension("anchor"),
        }
    }

    fn from_env(store: &std::path::Path) -> Self {
        Self::new(store, &std::env::var(SECRET_ENV).unwrap())
    }
}

impl Vault for EnvVault {
    fn put(&self, account: &str, secret: &[u8]) -> Result<()> {
        if account != ANCHOR_ACCOUNT {
            return Err(Error::new(
                ErrorCode::Internal,
                "crash harness vault is read-only",
            ));
        }
        let tmp = self.anchor.with_extension("anchor-tmp");
        std::fs::write(&tmp, secret)?;
        std::fs::rename(&tmp, &self.anchor)?;
        Ok(())
    }
    fn get(&self, account: &str) -> Result<Zeroizing<Vec<u8>>> {
        if account == ANCHOR_ACCOUNT {
            return std::fs::read(&self.anchor)
                .map(Zeroizing::new)
                .map_err(|_| Error::new(ErrorCode::KeychainEntryMissing, "no anchor yet"));
        }
        Ok(self.signing.clone())
    }
    fn remove(&self, _: &str) -> Result<()> {
        Ok(())
    }
    fn service(&self) -> &str {
        "crash-harness"
    }
}

/// The child: issue forever, reporting each commit once `issue_license` has returned.
#[test]
fn crash_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let path = std::env::var(STORE_ENV).unwrap();
    let policy = std::env::var(POLICY_ENV).unwrap();
    let path = std::path::Path::new(&path);
    let store = Store::open(path).unwrap();
    let mut kw = Keywright::with_vault(store, Box::new(EnvVault::from_env(path)), "crash-child");
    assert_eq!(
        kw.audit_status().state,
        keywright_core::audit::anchor::AnchorState::Anchored,
        "{:?}",
        kw.audit_status()
    );
    let mut out = std::io::stdout().lock();
    writeln!(out, "READY").unwrap();
    out.flush().unwrap();
    let pid = std::process::id();
    for n in 0u64.. {
        // Every third license names a new customer (customer row + its audit row in the
        // same transaction); the others reuse one, or have none.
        let email = match n % 3 {
            0 => Some(format!("c{pid}-{n}@crash.example")),
            1 => Some("repeat@crash.example".to_owned()),
            _ => None,
        };
        let license = kw
            .issue_license(
                &IssueLicense {
                    policy_id: policy.clone(),
                    customer_name: email.as_ref().map(|_| format!("Customer {n}")),
                    customer_email: email,
                    metadata: Some(format!(r#"{{"n":{n}}}"#)),
                    ..Default::default()
                },
                Timestamp::now(),
            )
            .unwrap();
        writeln!(out, "COMMITTED {}", license.id).unwrap();
        out.flush().unwrap();
    }
}

/// xorshift64*, seeded: reproducible kill points.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

struct Checked {
    licenses: i64,
    audit_rows: usize,
}

/// Everything that must hold after a crash, whatever the kill point.
fn check_store(path: &std::path::Path, reported: &[String], vault: EnvVault) -> Checked {
    let conn = rusqlite::Connection::open(path).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let mut exists = conn
        .prepare("SELECT count(*) FROM licenses WHERE id = ?1")
        .unwrap();
    for id in reported {
        let n: i64 = exists.query_row([id], |r| r.get(0)).unwrap();
        assert_eq!(n, 1, "reported commit {id} was lost");
    }
    let bad: i64 = conn
        .query_row(
            "SELECT count(*) FROM licenses l WHERE (SELECT count(*) FROM audit_events a
               WHERE a.action = 'license.issue' AND a.subject_id = l.id) != 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        bad, 0,
        "licenses without exactly one license.issue audit row"
    );
    let orphans: i64 = conn
        .query_row(
            "SELECT count(*) FROM audit_events a WHERE a.action = 'license.issue'
               AND NOT EXISTS (SELECT 1 FROM licenses l WHERE l.id = a.subject_id)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0, "license.issue audit rows without their license");
    let orphan_customers: i64 = conn
        .query_row(
            "SELECT count(*) FROM customers c WHERE NOT EXISTS (SELECT 1 FROM audit_events a
               WHERE a.action = 'customer.create' AND a.subject_id = c.id)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphan_customers, 0, "customers without their audit row");
    let licenses: i64 = conn
        .query_row("SELECT count(*) FROM licenses", [], |r| r.get(0))
        .unwrap();
    drop(exists);
    drop(conn);
    let kw = Keywright::with_vault(Store::open(path).unwrap(), Box::new(vault), "checker");
    // The anchor never leads the log: a kill between a commit and the head's write
    // leaves the head one commit behind, and opening moves it up.
    assert_eq!(
        kw.audit_status().state,
        keywright_core::audit::anchor::AnchorState::Anchored,
        "{:?}",
        kw.audit_status()
    );
    let report = kw.check_audit().unwrap();
    assert!(report.intact && report.anchored, "{report:?}");
    let audit_rows = report.rows as usize;
    Checked {
        licenses,
        audit_rows,
    }
}

#[test]
fn killing_the_issuer_loses_no_reported_commit() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let vault = Arc::<MemoryVault>::default();
    let (policy, secret) = {
        let now = Timestamp::now();
        let mut kw =
            Keywright::with_vault(Store::open(&path).unwrap(), Box::new(vault.clone()), "t");
        let key = kw
            .create_signing_key(
                &NewSigningKey {
                    name: "Crash".into(),
                    algorithm: KeyAlgorithm::Ed25519,
                },
                now,
            )
            .unwrap();
        let product = kw
            .create_product(
                &NewProduct {
                    name: "Crash Test".into(),
                    ..Default::default()
                },
                now,
            )
            .unwrap();
        let policy = kw
            .create_policy(
                &NewPolicy {
                    product_id: product.id.clone(),
                    name: "Yearly".into(),
                    duration: Some("1y".into()),
                    ..Default::default()
                },
                now,
            )
            .unwrap();
        // The parent's anchor entry goes where the children's vault keeps it.
        std::fs::write(
            path.with_extension("anchor"),
            vault.get(ANCHOR_ACCOUNT).unwrap().as_slice(),
        )
        .unwrap();
        (
            policy.id,
            hex::encode(vault.get(&key.kid).unwrap().as_slice()),
        )
    };

    let exe = std::env::current_exe().unwrap();
    let mut rng = Rng(0x00c0_ffee_1234_5678);
    let mut reported: Vec<String> = Vec::new();
    let (mut before_first_commit, mut mid_run, mut killed_after_exit) = (0, 0, 0);
    let mut last = Checked {
        licenses: 0,
        audit_rows: 0,
    };
    for kill in 0..KILLS {
        let mut child = Command::new(&exe)
            .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, "1")
            .env(STORE_ENV, &path)
            .env(POLICY_ENV, &policy)
            .env(SECRET_ENV, &secret)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut line = String::new();
            loop {
                line.clear();
                match r.read_line(&mut line) {
                    // Only whole lines count: a line cut by the kill was not reported.
                    Ok(n) if n > 0 && line.ends_with('\n') => {
                        if tx.send(line.trim_end().to_owned()).is_err() {
                            break;
                        }
                    }
                    _ => break,
                }
            }
        });
        let delay = Duration::from_millis(rng.below(31));
        // Half the kills land anywhere from process start (open, migrations included);
        // half while issuing, counted from the first reported commit.
        let mut lines = Vec::new();
        if kill % 2 == 1 {
            let deadline = Instant::now() + Duration::from_secs(10);
            while let Ok(l) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                let first = l.starts_with("COMMITTED ");
                lines.push(l);
                if first {
                    break;
                }
            }
            mid_run += 1;
        } else {
            before_first_commit += 1;
        }
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_some() {
            killed_after_exit += 1;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        lines.extend(rx.try_iter());
        reported.extend(
            lines
                .iter()
                .filter_map(|l| l.strip_prefix("COMMITTED "))
                .map(str::to_owned),
        );
        last = check_store(&path, &reported, EnvVault::new(&path, &secret));
    }
    let elapsed = started.elapsed();
    println!(
        "crash: {KILLS} kills ({before_first_commit} from process start, {mid_run} while issuing), \
         {} reported commits, {} licenses in the store ({} committed but unreported at the kill), \
         0 reported commits lost, {} audit rows verified, integrity ok after every kill, {elapsed:.1?}",
        reported.len(),
        last.licenses,
        last.licenses as usize - reported.len(),
        last.audit_rows,
    );
    assert_eq!(killed_after_exit, 0, "a child exited before it was killed");
    assert!(
        reported.len() >= KILLS / 2,
        "too few commits to mean anything"
    );
}
