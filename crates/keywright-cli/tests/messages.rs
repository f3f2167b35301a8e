//! Messages that used to mislead, through the real `keywright` binary: a read-only
//! store (file, folder) is read, and writes to it are refused as such; a damaged
//! store, a file that is no database, a folder and an unreadable file each get their
//! own message; two runs of the same batch CSV at once; invalid UTF-8 in a file to
//! verify.
//!
//! Permission tests run the binary as another user (`setpriv`, uid 65534) when the
//! tests run as root, since root ignores permission bits.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use serde_json::Value;

const NOBODY: u32 = 65534;

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// `keywright --store store --json args`, as uid 65534 when we are root.
fn run_as_user(store: &Path, args: &[&str]) -> Output {
    let mut cmd = if is_root() {
        let mut c = Command::new("setpriv");
        c.args([
            format!("--reuid={NOBODY}"),
            format!("--regid={NOBODY}"),
            "--clear-groups".into(),
            "--".into(),
        ])
        .arg(env!("CARGO_BIN_EXE_keywright"));
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_keywright"))
    };
    cmd.env_remove("KEYWRIGHT_STORE")
        .arg("--store")
        .arg(store)
        .arg("--json")
        .args(args)
        .output()
        .unwrap()
}

/// `keywright --store store --json args` as ourselves.
fn run_own(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keywright"))
        .env_remove("KEYWRIGHT_STORE")
        .arg("--store")
        .arg(store)
        .arg("--json")
        .args(args)
        .output()
        .unwrap()
}

fn json_of(out: &Output, args: &[&str], status: i32) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(status),
        "keywright {args:?}\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap()
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Gives `path` to the user the binary runs as (only needed when we are root).
fn give(path: &Path) {
    if is_root() {
        std::os::unix::fs::chown(path, Some(NOBODY), Some(NOBODY)).unwrap();
    }
}

/// Every file in `dir` with its bytes.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// A store with a key, a product, a policy, a license and a machine; returns the
/// license id.
fn populate(cli: &Cli) -> String {
    cli.json(&["key", "create", "--name", "Main key"], 0);
    cli.json(&["product", "create", "--name", "Zapper Pro"], 0);
    cli.json(
        &[
            "policy",
            "create",
            "--product",
            "ZAPPER-PRO",
            "--name",
            "Yearly",
            "--duration",
            "1y",
        ],
        0,
    );
    let license = cli.json(
        &[
            "license",
            "issue",
            "--policy",
            "Yearly",
            "--email",
            "ada@example.com",
        ],
        0,
    );
    let id = license["id"].as_str().unwrap().to_owned();
    cli.json(&["machine", "activate", &id, "--fingerprint", "fp-1"], 0);
    id
}

/// Reads work on a read-only store; writes are refused as writes to a read-only
/// store; nothing in its folder changes.
fn check_read_only(store: &Path, license: &str, out_dir: &Path, why: &str) {
    check_read_only_with(&run_as_user, store, license, out_dir, why)
}

/// Runs `keywright --store store --json args` with the store's folder mounted
/// read-only (a bind mount in a mount namespace of its own), as root.
fn run_on_read_only_mount(store: &Path, args: &[&str]) -> Output {
    let dir = store.parent().unwrap();
    Command::new("unshare")
        .args(["-m", "--propagation", "private", "bash", "-c"])
        .arg(r#"mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && exec "$2" --store "$3" --json "${@:4}""#)
        .arg("--")
        .arg(dir)
        .arg(env!("CARGO_BIN_EXE_keywright"))
        .arg(store)
        .args(args)
        .env_remove("KEYWRIGHT_STORE")
        .output()
        .unwrap()
}

fn check_read_only_with(
    run_as_user: &dyn Fn(&Path, &[&str]) -> Output,
    store: &Path,
    license: &str,
    out_dir: &Path,
    why: &str,
) {
    let dir = store.parent().unwrap();
    let before = snapshot(dir);
    for args in [
        vec!["license", "list"],
        vec!["key", "list"],
        vec!["audit", "list"],
        vec!["audit", "verify"],
        vec!["policy", "show", "Yearly"],
        vec!["machine", "list", license],
        vec!["product", "list"],
    ] {
        let out = run_as_user(store, &args);
        json_of(&out, &args, 0);
    }
    let listed = json_of(&run_as_user(store, &["license", "list"]), &[], 0);
    assert_eq!(listed["licenses"].as_array().unwrap().len(), 1, "{listed}");
    // Exports write a file elsewhere, not the store.
    let csv = out_dir.join("licenses.csv").display().to_string();
    let args = ["license", "export", "--csv", &csv];
    json_of(&run_as_user(store, &args), &args, 0);
    assert!(std::fs::read_to_string(&csv).unwrap().contains(license));
    let audit = out_dir.join("audit.csv").display().to_string();
    let args = ["audit", "export", "--out", &audit];
    json_of(&run_as_user(store, &args), &args, 0);
    assert!(std::fs::read_to_string(&audit)
        .unwrap()
        .contains("license.issue"));

    for args in [
        vec!["product", "create", "--name", "Another"],
        vec!["license", "suspend", license],
        vec!["machine", "activate", license, "--fingerprint", "fp-2"],
    ] {
        let err = json_of(&run_as_user(store, &args), &args, 7);
        let message = err["error"]["message"].as_str().unwrap();
        println!("{args:?}: {message}");
        assert_eq!(err["error"]["code"], "STORE", "{err}");
        assert!(message.contains("read-only"), "{args:?}: {message}");
        assert!(message.contains(why), "{args:?}: {why:?} in {message}");
        assert!(message.contains("nothing was changed"), "{message}");
    }
    assert_eq!(snapshot(dir), before, "the store's folder is unchanged");
}

#[test]
fn a_read_only_store_is_read_and_refuses_writes() {
    let cli = Cli::new();
    let license = populate(&cli);
    chmod(cli.dir.path(), 0o755);
    let out_dir = cli.path("exports");
    std::fs::create_dir(&out_dir).unwrap();
    give(&out_dir);

    // A read-only file (0444) in a folder the user may write.
    let file_case = cli.path("ro-file");
    std::fs::create_dir(&file_case).unwrap();
    std::fs::copy(cli.store(), file_case.join("store.db")).unwrap();
    give(&file_case);
    give(&file_case.join("store.db"));
    chmod(&file_case.join("store.db"), 0o444);
    check_read_only(
        &file_case.join("store.db"),
        &license,
        &out_dir,
        "the store file is read-only",
    );

    // A writable file in a read-only folder (0555): SQLite cannot create its
    // journal files next to it.
    let folder_case = cli.path("ro-folder");
    std::fs::create_dir(&folder_case).unwrap();
    std::fs::copy(cli.store(), folder_case.join("store.db")).unwrap();
    give(&folder_case.join("store.db"));
    chmod(&folder_case.join("store.db"), 0o600);
    chmod(&folder_case, 0o555);
    check_read_only(&folder_case.join("store.db"), &license, &out_dir, "folder");

    // A read-only mount (root too is refused there): needs a mount namespace.
    let mounted = cli.path("ro-mount");
    std::fs::create_dir(&mounted).unwrap();
    std::fs::copy(cli.store(), mounted.join("store.db")).unwrap();
    let probe = run_on_read_only_mount(&mounted.join("store.db"), &["key", "list"]);
    if is_root() && probe.status.success() {
        check_read_only_with(
            &run_on_read_only_mount,
            &mounted.join("store.db"),
            &license,
            &out_dir,
            "the disk holding it is mounted read-only",
        );
    } else {
        println!(
            "read-only mount SKIPPED (needs root and unshare -m): {}",
            String::from_utf8_lossy(&probe.stderr)
        );
    }

    // An older schema cannot be brought up to date while read-only: said so.
    let old = cli.path("ro-old");
    std::fs::create_dir(&old).unwrap();
    std::fs::copy(cli.store(), old.join("store.db")).unwrap();
    sqlite(&old.join("store.db"), "PRAGMA user_version = 3;");
    give(&old.join("store.db"));
    chmod(&old.join("store.db"), 0o444);
    give(&old);
    let err = json_of(
        &run_as_user(&old.join("store.db"), &["license", "list"]),
        &[],
        7,
    );
    let message = err["error"]["message"].as_str().unwrap();
    println!("older schema: {message}");
    assert_eq!(err["error"]["code"], "STORE");
    for word in ["schema 3", "read-only", "the store file is read-only"] {
        assert!(message.contains(word), "{word:?} in {message}");
    }
}

#[test]
fn damaged_foreign_and_unreadable_stores_each_get_their_own_message() {
    let cli = Cli::new();
    populate(&cli);
    chmod(cli.dir.path(), 0o755);
    let real = std::fs::read(cli.store()).unwrap();
    assert!(real.len() > 40_000, "{}", real.len());
    let case = |name: &str, bytes: Option<&[u8]>| -> PathBuf {
        let path = cli.path(name);
        if let Some(bytes) = bytes {
            std::fs::write(&path, bytes).unwrap();
        }
        path
    };
    let expect = |path: &Path, status: i32, words: &[&str], not: &[&str]| {
        let err = json_of(
            &run_own(path, &["license", "list"]),
            &["license", "list"],
            status,
        );
        let message = err["error"]["message"].as_str().unwrap_or_default();
        for word in words {
            assert!(message.contains(word), "{word:?} in {message}");
        }
        for word in not {
            assert!(!message.contains(word), "not {word:?} in {message}");
        }
        message.to_owned()
    };

    // Truncated copies of a real store: damaged, not "not a Keywright store".
    for len in [4096, 20_000, real.len() / 2] {
        let path = case(&format!("truncated-{len}.db"), Some(&real[..len]));
        let before = std::fs::read(&path).unwrap();
        let m = expect(&path, 7, &["damaged", "backup"], &["not a Keywright store"]);
        println!("truncated to {len} bytes: {m}");
        assert_eq!(std::fs::read(&path).unwrap(), before, "left as it was");
    }
    // Random bytes: not a database at all.
    let random: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let path = case("random.db", Some(&random));
    let m = expect(&path, 7, &["not a database"], &["damaged"]);
    println!("random bytes: {m}");
    // Whole length, pages after the first overwritten: damaged (SQLite's own check).
    let mut scrambled = real.clone();
    for (i, b) in scrambled.iter_mut().enumerate().skip(4096) {
        *b = (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0];
    }
    let path = case("scrambled.db", Some(&scrambled));
    let m = expect(&path, 7, &["damaged", "backup"], &["not a Keywright store"]);
    println!("scrambled pages: {m}");
    // A folder.
    let path = cli.path("folder.db");
    std::fs::create_dir(&path).unwrap();
    let m = expect(&path, 7, &["is a folder"], &["unable to open"]);
    println!("a folder: {m}");
    // A file the user may not read.
    let path = case("unreadable.db", Some(&real));
    chmod(&path, 0o600);
    let out = run_as_user(&path, &["license", "list"]);
    let err = json_of(&out, &["license", "list"], 7);
    let m = err["error"]["message"].as_str().unwrap();
    assert!(m.contains("permission denied"), "{m}");
    assert!(!m.contains("unable to open"), "{m}");
    println!("unreadable: {m}");
    // A zero-length file is what SQLite treats as a new database: it becomes a store.
    let path = case("empty.db", Some(b""));
    let listed = json_of(
        &run_own(&path, &["license", "list"]),
        &["license", "list"],
        0,
    );
    assert_eq!(listed["licenses"], Value::Array(vec![]));
    assert!(sqlite_count(&path, "store_meta") >= 1);
}

#[test]
fn two_runs_of_the_same_csv_at_once() {
    let cli = Cli::new();
    cli.json(&["key", "create", "--name", "Main key"], 0);
    cli.json(
        &["product", "create", "--name", "Zapper Pro", "--code", "ZAP"],
        0,
    );
    cli.json(
        &[
            "policy",
            "create",
            "--product",
            "ZAP",
            "--name",
            "Yearly",
            "--duration",
            "1y",
        ],
        0,
    );
    let mut conflicts = 0;
    let mut expected = 0i64;
    for round in 0..8 {
        let mut csv = String::from("Name,Email,Policy,Quantity,Order ID\n");
        for i in 0..40 {
            csv.push_str(&format!(
                "Customer {i},c{i}-{round}@example.com,Yearly,10,R{round}-{i}\n"
            ));
        }
        expected += 400;
        let path = cli.path(&format!("round-{round}.csv"));
        std::fs::write(&path, csv).unwrap();
        let spawn = || {
            cli.command()
                .args(["--json", "license", "batch"])
                .arg(&path)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(), spawn());
        let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
        let mut issued = 0;
        for out in &outs {
            let stdout = String::from_utf8_lossy(&out.stdout);
            let v: Value = serde_json::from_str(stdout.trim())
                .unwrap_or_else(|_| panic!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
            match out.status.code() {
                Some(0) => issued += v["issued"].as_array().unwrap().len(),
                Some(4) => {
                    conflicts += 1;
                    let message = v["error"]["message"].as_str().unwrap();
                    if conflicts == 1 {
                        println!("the second run: {message}");
                    }
                    assert_eq!(v["error"]["code"], "CONFLICT");
                    assert!(
                        message.contains("another run") && message.contains(&format!("R{round}-")),
                        "{message}"
                    );
                    assert!(!message.contains("UNIQUE"), "{message}");
                }
                other => panic!("status {other:?}: {v}"),
            }
        }
        // Whoever won issued everything once; the file, run again, issues nothing.
        assert_eq!(issued, 400, "round {round}");
        assert_eq!(cli.count("licenses"), expected);
        assert_eq!(
            cli.count("(SELECT order_id, order_seq FROM licenses GROUP BY 1, 2)"),
            expected
        );
        // Every license proven by its batch's audit row.
        assert_eq!(
            cli.count(
                "licenses l JOIN audit_events a ON a.seq = l.proof_seq \
                 WHERE a.action = 'license.batch_issue'"
            ),
            expected
        );
        assert_eq!(cli.count("customers"), expected / 10, "no customer twice");
        let again = cli.json(&["license", "batch", &path.display().to_string()], 0);
        assert_eq!(again["issued"].as_array().unwrap().len(), 0);
    }
    println!("{conflicts} of 8 rounds had both runs issuing at once");
    assert!(conflicts > 0, "the race was never hit");
    cli.json(&["audit", "verify"], 0);
}

#[test]
fn invalid_utf8_in_a_file_to_verify_is_a_format_error() {
    let cli = Cli::new();
    let key = cli.json(&["key", "create", "--name", "Main key"], 0);
    let public = cli.arg_path("public.hex");
    std::fs::write(&public, key["publicKeyHex"].as_str().unwrap()).unwrap();
    let file = cli.path("latin1.lic");
    std::fs::write(&file, b"-----BEGIN LICENSE FILE-----\n\xff\xfe\n").unwrap();
    let err = cli.json(
        &[
            "verify",
            &file.display().to_string(),
            "--public-key",
            &public,
        ],
        9,
    );
    assert_eq!(err["error"]["code"], "FORMAT", "{err}");
    let message = err["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("latin1.lic") && message.contains("UTF-8"),
        "{message}"
    );
}
