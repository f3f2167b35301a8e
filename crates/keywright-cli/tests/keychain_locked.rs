//! A LOCKED keychain (gnome-keyring's login collection locked through the Secret
//! Service, no prompter to unlock it): every command that needs a private key fails
//! with KEYCHAIN_UNAVAILABLE (exit 5), writes 0 rows and never falls back to a file;
//! creating or restoring a backup writes no file either.
//!
//! The lock would disturb every other test sharing the Secret Service, so this test
//! runs its own: a private `dbus-run-session` with its own gnome-keyring and data folder.

mod common;

use std::path::Path;
use std::process::Command;

use common::sqlite;
use serde_json::Value;

/// Runs `steps` (bash) inside a private D-Bus session with an unlocked gnome-keyring;
/// `$KW` is the keywright binary, `$OUT` the test's folder.
fn in_private_keyring(out: &Path, steps: &str) -> std::process::Output {
    let script = format!(
        r#"set -u
export XDG_DATA_HOME="$OUT/xdg"
mkdir -p "$XDG_DATA_HOME"
# Its own runtime folder: the daemon's control socket lives there, and sharing the
# suite's would hand the suite's keyring over to this locked one.
export XDG_RUNTIME_DIR="$OUT/run"
mkdir -m 700 "$XDG_RUNTIME_DIR"
echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null
{steps}"#
    );
    Command::new("dbus-run-session")
        .args(["--", "bash", "-c", &script])
        .env("KW", env!("CARGO_BIN_EXE_keywright"))
        .env("OUT", out)
        .env("KEYWRIGHT_STORE", out.join("store.db"))
        .env_remove("KEYWRIGHT_PASSPHRASE")
        // No display: nobody can be prompted to unlock (under xvfb-run gnome-keyring
        // would otherwise open an unlock prompt there and wait for it forever).
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("dbus-run-session and gnome-keyring are installed by scripts/test.sh")
}

fn json(out: &Path, name: &str) -> Value {
    let text = std::fs::read_to_string(out.join(name)).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}: {text}"))
}

fn status(out: &Path, name: &str) -> i32 {
    std::fs::read_to_string(out.join(name))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn locked_keychain_is_a_specific_error_with_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let run = in_private_keyring(
        out,
        r#"
"$KW" --json key create --name Main > "$OUT/key.json" || exit 10
"$KW" --json product create --name Zapper > /dev/null || exit 11
"$KW" --json policy create --product ZAPPER --name Yearly > /dev/null || exit 12
KEYWRIGHT_PASSPHRASE='plum velvet gravel anthem 42' "$KW" --json backup create --out "$OUT/ok.kwbackup" > /dev/null || exit 13
# Lock the login collection (secret-tool may crash after locking; the lock holds).
secret-tool lock --collection=login >/dev/null 2>&1 || true
busctl --user get-property org.freedesktop.secrets /org/freedesktop/secrets/collection/login \
    org.freedesktop.Secret.Collection Locked > "$OUT/locked.txt"
ls -A "$OUT" > "$OUT/files-before.txt"
"$KW" --json license issue --policy Yearly --email a@example.com > "$OUT/issue.json"; echo $? > "$OUT/issue.rc"
"$KW" --json key create --name Second > "$OUT/key2.json"; echo $? > "$OUT/key2.rc"
KEYWRIGHT_PASSPHRASE='plum velvet gravel anthem 42' "$KW" --json backup create --out "$OUT/locked.kwbackup" > "$OUT/backup.json"; echo $? > "$OUT/backup.rc"
KEYWRIGHT_PASSPHRASE='plum velvet gravel anthem 42' "$KW" --json --store "$OUT/restored/keywright.db" backup restore "$OUT/ok.kwbackup" > "$OUT/restore.json"; echo $? > "$OUT/restore.rc"
ls -A "$OUT" > "$OUT/files-after.txt"
exit 0
"#,
    );
    assert!(
        run.status.success(),
        "setup failed ({:?})\nstdout: {}\nstderr: {}",
        run.status.code(),
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let locked = std::fs::read_to_string(out.join("locked.txt")).unwrap();
    assert_eq!(locked.trim(), "b true", "the login collection is locked");
    let store = out.join("store.db");

    for (what, file, rc) in [
        ("license issue", "issue.json", "issue.rc"),
        ("key create", "key2.json", "key2.rc"),
        ("backup create", "backup.json", "backup.rc"),
        ("backup restore", "restore.json", "restore.rc"),
    ] {
        assert_eq!(status(out, rc), 5, "{what}");
        let err = json(out, file);
        assert_eq!(
            err["error"]["code"], "KEYCHAIN_UNAVAILABLE",
            "{what}: {err}"
        );
    }
    // 0 rows: no license, no second key, no audit row for any of the attempts.
    assert_eq!(sqlite(&store, "SELECT count(*) FROM licenses"), "0");
    assert_eq!(sqlite(&store, "SELECT count(*) FROM signing_keys"), "1");
    assert_eq!(
        sqlite(
            &store,
            "SELECT count(*) FROM audit_events WHERE action NOT IN \
             ('key.create', 'product.create', 'policy.create', 'backup.created')"
        ),
        "0"
    );
    assert_eq!(
        sqlite(&store, "SELECT count(*) FROM audit_events"),
        "4",
        "key, product, policy, the backup made while unlocked"
    );
    // No fallback to a file: no backup written, and no file appeared anywhere beside
    // the store (the store's own -wal/-shm aside).
    assert!(!out.join("locked.kwbackup").exists());
    assert!(
        !out.join("restored").exists(),
        "a failed restore writes no store"
    );
    let before = std::fs::read_to_string(out.join("files-before.txt")).unwrap();
    let after = std::fs::read_to_string(out.join("files-after.txt")).unwrap();
    let strip = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| {
                ![".txt", ".json", ".rc", "-wal", "-shm"]
                    .iter()
                    .any(|ext| l.ends_with(ext))
            })
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(strip(&after), strip(&before));
    // The private key never reached the store.
    let key = json(out, "key.json");
    assert!(key.get("privateKey").is_none());
}
