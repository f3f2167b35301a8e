//! The restore drill, end to end through the `keywright` binary and the real OS
//! keychain: back up a store, wipe its keychain entries and use a fresh data folder
//! (a new machine), restore, issue, and verify with the ORIGINAL public key file.

mod common;

use std::path::Path;
use std::process::Command;

use common::Cli;
use serde_json::Value;

const PASS: &str = "plum velvet gravel anthem 42";

fn keychain_has(store_id: &str, kid: &str) -> bool {
    let out = Command::new("secret-tool")
        .args([
            "lookup",
            "service",
            &format!("keywright/{store_id}"),
            "username",
            kid,
        ])
        .output()
        .expect("secret-tool (libsecret-tools) is installed by scripts/test.sh");
    out.status.success() && !out.stdout.is_empty()
}

fn clear_keychain(store_id: &str) {
    let cleared = Command::new("secret-tool")
        .args(["clear", "service", &format!("keywright/{store_id}")])
        .status()
        .expect("secret-tool");
    assert!(cleared.success());
}

/// `keywright` on a "fresh machine": no --store, the default location under
/// `xdg_data`, and the passphrase (if any) from the environment.
fn fresh(xdg_data: &Path, pass: Option<&str>, args: &[&str]) -> (Option<i32>, Value) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_keywright"));
    c.env_remove("KEYWRIGHT_STORE")
        .env_remove("KEYWRIGHT_PASSPHRASE")
        .env("XDG_DATA_HOME", xdg_data)
        .arg("--json")
        .args(args);
    if let Some(p) = pass {
        c.env("KEYWRIGHT_PASSPHRASE", p);
    }
    let out = c.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: {e}\nstdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), json)
}

#[test]
fn restore_drill_onto_a_fresh_machine() {
    let cli = Cli::new();
    let key = cli.json(&["key", "create", "--name", "Main key"], 0);
    let kid = key["kid"].as_str().unwrap().to_owned();
    cli.json(&["product", "create", "--name", "Zapper"], 0);
    // A second key of another algorithm, not used by the product: backed up too.
    let p256 = cli.json(
        &[
            "key",
            "create",
            "--name",
            "P-256 key",
            "--algorithm",
            "ecdsa-p256",
        ],
        0,
    );
    let policy = cli.json(
        &[
            "policy",
            "create",
            "--product",
            "ZAPPER",
            "--name",
            "Yearly",
            "--duration",
            "1y",
        ],
        0,
    );
    let policy = policy["id"].as_str().unwrap().to_owned();
    for email in ["a@example.com", "b@example.com"] {
        cli.json(
            &["license", "issue", "--policy", &policy, "--email", email],
            0,
        );
    }
    // The vendor's published public key, kept outside the store.
    let public = cli.path("public.pem");
    let pem = cli.run(&["key", "public", &kid, "--format", "pem"]);
    std::fs::write(&public, &pem.stdout).unwrap();

    // A weak passphrase is refused with its own code and writes nothing.
    let backup = cli.path("vendor.kwbackup");
    let out = cli
        .command()
        .env("KEYWRIGHT_PASSPHRASE", "password1")
        .args(["--json", "backup", "create", "--out"])
        .arg(&backup)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["error"]["code"], "WEAK_PASSPHRASE");
    assert!(!backup.exists());

    let out = cli
        .command()
        .env("KEYWRIGHT_PASSPHRASE", PASS)
        .args(["--json", "backup", "create", "--out"])
        .arg(&backup)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(created["keys"], 2);
    assert_eq!(created["licenses"], 2);
    let store_id = created["storeId"].as_str().unwrap().to_owned();
    let audit = cli.json(&["audit", "list"], 0);
    let last = audit["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "backup.created");
    assert_eq!(last["artifactSha256"], created["file"]["sha256"]);

    // The new machine: its keychain has no entry for this store, its data folder is
    // empty.
    clear_keychain(&store_id);
    assert!(!keychain_has(&store_id, &kid));
    let machine = tempfile::tempdir().unwrap();
    let default_store = machine.path().join("keywright").join("keywright.db");
    let backup_arg = backup.display().to_string();

    // Wrong passphrase: its own exit status and code; no store, no keychain entry.
    let (status, err) = fresh(
        machine.path(),
        Some("plum velvet gravel anthem 43"),
        &["backup", "restore", &backup_arg],
    );
    assert_eq!(status, Some(16), "{err}");
    assert_eq!(err["error"]["code"], "BACKUP_PASSPHRASE");
    assert!(!default_store.exists());
    assert!(!machine.path().join("keywright").exists());
    assert!(!keychain_has(&store_id, &kid));

    // A damaged copy: its own code; nothing written either.
    let mut bytes = std::fs::read(&backup).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x20;
    let damaged = cli.path("damaged.kwbackup");
    std::fs::write(&damaged, &bytes).unwrap();
    let (status, err) = fresh(
        machine.path(),
        Some(PASS),
        &["backup", "restore", damaged.to_str().unwrap()],
    );
    assert_eq!(status, Some(9), "{err}");
    assert_eq!(err["error"]["code"], "BACKUP_DAMAGED");
    assert!(!default_store.exists());
    assert!(!keychain_has(&store_id, &kid));

    // The restore itself, to the default location.
    let (status, restored) = fresh(
        machine.path(),
        Some(PASS),
        &["backup", "restore", &backup_arg],
    );
    assert_eq!(status, Some(0), "{restored}");
    assert_eq!(restored["storeId"], store_id.as_str());
    assert_eq!(restored["keys"], 2);
    assert_eq!(restored["storePath"], default_store.display().to_string());
    assert!(default_store.exists());
    assert!(keychain_has(&store_id, &kid));
    assert!(keychain_has(&store_id, p256["kid"].as_str().unwrap()));

    // Issue on the new machine; the license verifies with the original public key.
    let (status, license) = fresh(
        machine.path(),
        None,
        &[
            "license",
            "issue",
            "--policy",
            &policy,
            "--email",
            "new@example.com",
        ],
    );
    assert_eq!(status, Some(0), "{license}");
    let (status, report) = fresh(
        machine.path(),
        None,
        &[
            "verify",
            "--key",
            license["key"].as_str().unwrap(),
            "--public-key",
            public.to_str().unwrap(),
        ],
    );
    assert_eq!(status, Some(0), "{report}");
    assert_eq!(report["code"], "VALID");
    let (_, list) = fresh(machine.path(), None, &["audit", "list"]);
    let actions: Vec<&str> = list["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"backup.restored"), "{actions:?}");
    assert!(!actions.contains(&"backup.created"));
    let (status, chain) = fresh(machine.path(), None, &["audit", "verify"]);
    assert_eq!(status, Some(0), "{chain}");

    // Restoring again never overwrites the store now in place.
    let (status, err) = fresh(
        machine.path(),
        Some(PASS),
        &["backup", "restore", &backup_arg],
    );
    assert_eq!(status, Some(4), "{err}");
    assert_eq!(err["error"]["code"], "STORE_EXISTS");

    clear_keychain(&store_id);
}
