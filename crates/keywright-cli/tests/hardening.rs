//! Issue 12, through the real CLI and the real keychain: no command writes over the
//! store (by any path) or over a device; a failed print after a commit says what was
//! saved instead of panicking; a clock that ran ahead has an audited way out; a
//! tampered store reads but refuses changes; text from the store cannot drive the
//! terminal.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{sqlite, Cli};
use serde_json::Value;

/// A store with a key, product, floating policy, a license and a machine.
fn setup(cli: &Cli) -> (String, String, String) {
    cli.json(&["key", "create", "--name", "Main"], 0);
    cli.json(&["product", "create", "--name", "Zapper"], 0);
    cli.json(
        &[
            "policy",
            "create",
            "--product",
            "ZAPPER",
            "--name",
            "Yearly",
            "--duration",
            "1y",
            "--floating",
            "--max-machines",
            "3",
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
    let machine = cli.json(
        &[
            "machine",
            "activate",
            license["id"].as_str().unwrap(),
            "--fingerprint",
            "fp-1",
        ],
        0,
    );
    (
        license["id"].as_str().unwrap().to_owned(),
        license["key"].as_str().unwrap().to_owned(),
        machine["id"].as_str().unwrap().to_owned(),
    )
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn no_export_lands_on_the_store_by_any_path() {
    let cli = Cli::new();
    let (license, key, machine) = setup(&cli);
    let store = cli.store();
    let dir = cli.dir.path();
    // Another connection in a read transaction keeps the WAL and shared-memory files
    // in place (as the open window does); the last connection to close removes them.
    let mut keep = Command::new("sqlite3")
        .arg(&store)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::{BufRead, Write};
        let stdin = keep.stdin.as_mut().unwrap();
        writeln!(stdin, "BEGIN; SELECT count(*) FROM licenses;").unwrap();
        stdin.flush().unwrap();
        // Its answer means the read transaction is open.
        let mut line = String::new();
        std::io::BufReader::new(keep.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "1");
    }
    std::fs::create_dir(dir.join("sub")).unwrap();
    std::os::unix::fs::symlink(&store, dir.join("link-to-store.lic")).unwrap();
    std::fs::hard_link(&store, dir.join("hard-link.lic")).unwrap();
    let wal = dir.join("store.db-wal");
    assert!(wal.exists(), "the store runs in WAL mode");
    std::fs::hard_link(&wal, dir.join("hard-link-to-wal.lic")).unwrap();
    // Another store (any SQLite database) is not an export target either.
    sqlite(
        &dir.join("other.db"),
        "CREATE TABLE t (x); INSERT INTO t VALUES (1);",
    );

    let targets = [
        store.display().to_string(),
        format!("{}-wal", store.display()),
        format!("{}-shm", store.display()),
        format!("{}-journal", store.display()),
        dir.join("sub/../store.db").display().to_string(),
        dir.join("link-to-store.lic").display().to_string(),
        dir.join("hard-link.lic").display().to_string(),
        dir.join("hard-link-to-wal.lic").display().to_string(),
        dir.join("other.db").display().to_string(),
    ];
    let before = std::fs::read(&store).unwrap();
    let mut refused = 0;
    for target in &targets {
        let commands: Vec<Vec<&str>> = vec![
            vec!["license", "export", &license, "--out", target],
            vec!["machine", "export", &machine, "--out", target],
            vec!["audit", "export", "--out", target],
            vec!["audit", "export", "--format", "jsonl", "--out", target],
            vec!["license", "export", "--csv", target],
            vec!["backup", "create", "--out", target],
            vec![
                "activation",
                "request",
                "--license-key",
                &key,
                "--fingerprint",
                "fp-9",
                "--out",
                target,
            ],
            vec![
                "deactivation",
                "receipt",
                "--license-key",
                &key,
                "--fingerprint",
                "fp-1",
                "--out",
                target,
            ],
        ];
        for args in commands {
            let out = cli
                .command()
                .env("KEYWRIGHT_PASSPHRASE", "plum velvet gravel anthem 42")
                .arg("--json")
                .args(&args)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert_eq!(
                out.status.code(),
                Some(17),
                "{args:?}: {text}{}",
                stderr(&out)
            );
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["error"]["code"], "OUTPUT_IS_STORE", "{args:?}");
            assert!(
                v["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("nothing was written"),
                "{v}"
            );
            refused += 1;
        }
    }
    assert_eq!(refused, 72);
    // The store, its WAL and the other database are whole; nothing new was created.
    assert_eq!(sqlite(&store, "PRAGMA integrity_check"), "ok");
    assert_eq!(sqlite(&dir.join("other.db"), "SELECT x FROM t"), "1");
    assert!(wal.exists());
    assert!(
        std::fs::read(dir.join("hard-link-to-wal.lic")).unwrap() == std::fs::read(&wal).unwrap(),
        "the hard link still is the WAL"
    );
    drop(keep.stdin.take());
    keep.wait().unwrap();
    assert!(!Path::new(&format!("{}-journal", store.display())).exists());
    assert!(std::fs::symlink_metadata(dir.join("link-to-store.lic"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(cli.count("licenses"), 1);
    let after = std::fs::read(&store).unwrap();
    assert!(after.len() >= before.len());
    cli.json(&["audit", "verify"], 0);
}

#[test]
fn exports_write_through_links_and_never_replace_a_device() {
    let cli = Cli::new();
    let (license, _, _) = setup(&cli);
    let dir = cli.dir.path();

    // Through a symbolic link to a regular file: the file is replaced, the link stays.
    std::fs::create_dir(dir.join("real")).unwrap();
    std::fs::write(dir.join("real/ada.lic"), "old").unwrap();
    std::os::unix::fs::symlink(dir.join("real/ada.lic"), dir.join("ada.lic")).unwrap();
    cli.json(
        &[
            "license",
            "export",
            &license,
            "--out",
            &cli.arg_path("ada.lic"),
        ],
        0,
    );
    assert!(std::fs::symlink_metadata(dir.join("ada.lic"))
        .unwrap()
        .file_type()
        .is_symlink());
    let written = std::fs::read_to_string(dir.join("real/ada.lic")).unwrap();
    assert!(
        written.starts_with("-----BEGIN LICENSE FILE-----"),
        "{written}"
    );

    // A link to nothing, a fifo, a socket, a folder, a device: refused, left as they are.
    std::os::unix::fs::symlink(dir.join("missing/x.lic"), dir.join("dangling.lic")).unwrap();
    let fifo = dir.join("fifo.lic");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let _socket = std::os::unix::net::UnixListener::bind(dir.join("socket.lic")).unwrap();
    std::fs::create_dir(dir.join("folder.lic")).unwrap();
    let mut targets = vec![
        ("dangling.lic", "does not exist"),
        ("fifo.lic", "a named pipe"),
        ("socket.lic", "a socket"),
        ("folder.lic", "a folder"),
    ];
    // A character device of our own (the same as /dev/null), when we may make one.
    let device = dir.join("device.lic");
    let made_device = Command::new("mknod")
        .arg(&device)
        .args(["c", "1", "3"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if made_device {
        targets.push(("device.lic", "a character device"));
    }
    for (name, says) in &targets {
        for args in [
            vec!["license", "export", license.as_str(), "--out"],
            vec!["audit", "export", "--out"],
        ] {
            let mut args = args.clone();
            let path = cli.arg_path(name);
            args.push(&path);
            let v = cli.json(&args, 2);
            let message = v["error"]["message"].as_str().unwrap();
            assert!(message.contains(says), "{name}: {message}");
        }
    }
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    if made_device {
        assert!(std::fs::metadata(&device)
            .unwrap()
            .file_type()
            .is_char_device());
    }
    assert!(std::fs::symlink_metadata(dir.join("dangling.lic")).is_ok());
    assert!(!dir.join("missing").exists());
    println!(
        "devices: {} kinds refused (character device {})",
        targets.len(),
        if made_device {
            "included"
        } else {
            "skipped: mknod needs root"
        }
    );
}

#[test]
fn a_failed_print_after_a_commit_says_what_was_saved() {
    let cli = Cli::new();
    setup(&cli);
    // Standard output is a full disk: the license is issued, the print fails.
    for json in [false, true] {
        let mut c = cli.command();
        if json {
            c.arg("--json");
        }
        let out = c
            .args(["license", "issue", "--policy", "Yearly", "--name", "Grace"])
            .stdout(
                std::fs::OpenOptions::new()
                    .write(true)
                    .open("/dev/full")
                    .unwrap(),
            )
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(18), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(err.contains("done and saved"), "{err}");
        assert!(err.contains("Do not run the command again"), "{err}");
        let newest = sqlite(
            &cli.store(),
            "SELECT id || ' ' || key FROM licenses ORDER BY created_at DESC, seq DESC LIMIT 1",
        );
        let (id, key) = newest.split_once(' ').unwrap();
        assert!(
            err.contains(id) && err.contains(key),
            "names the license and its key: {err}"
        );
    }
    assert_eq!(cli.count("licenses"), 3);

    // A reader whose output pipe is closed before it writes: quiet, its own status.
    for args in [
        vec!["license", "list"],
        vec!["audit", "list"],
        vec!["key", "list"],
        vec!["--help"],
    ] {
        let mut child = cli
            .command()
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?}");
    }
    // A command that saved: a closed pipe is reported (exit 18) with what was saved.
    let mut child = cli
        .command()
        .args(["license", "issue", "--policy", "Yearly"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(18), "{}", stderr(&out));
    assert!(stderr(&out).contains("Issued license"), "{}", stderr(&out));
    assert_eq!(cli.count("licenses"), 4);
}

/// Runs the CLI with the clock moved by libfaketime (`+3650d`: ten years ahead).
fn at_offset(cli: &Cli, offset: &str, args: &[&str]) -> std::process::Output {
    Command::new("faketime")
        .args(["-f", offset])
        .arg(env!("CARGO_BIN_EXE_keywright"))
        .env_remove("KEYWRIGHT_STORE")
        .arg("--store")
        .arg(cli.store())
        .arg("--json")
        .args(args)
        .output()
        .expect("faketime is installed by scripts/setup-debian.sh")
}

#[test]
fn a_clock_that_ran_ahead_once_has_an_audited_way_out() {
    let cli = Cli::new();
    setup(&cli);
    // One command runs with the clock ten years ahead: it signs, dated 2036.
    let out = at_offset(&cli, "+3650d", &["license", "issue", "--policy", "Yearly"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let future_seq = sqlite(&cli.store(), "SELECT max(seq) FROM audit_events");
    let future_at = sqlite(&cli.store(), "SELECT max(at) FROM audit_events");
    assert!(future_at.as_str() > "2035", "{future_at}");

    // Back to the right time: signing is refused, naming the row that holds the
    // future time and the way out.
    let v = cli.json(&["license", "issue", "--policy", "Yearly"], 15);
    let message = v["error"]["message"].as_str().unwrap();
    assert_eq!(v["error"]["code"], "CLOCK_BEHIND");
    assert!(
        message.contains(&format!("audit row {future_seq} (license.issue")),
        "{message}"
    );
    assert!(message.contains(&future_at), "{message}");
    assert!(
        message.contains("keywright audit accept-clock --reason"),
        "{message}"
    );

    // The way out needs a reason, and is refused when there is nothing to accept.
    let out = cli.run(&["audit", "accept-clock"]);
    assert_eq!(out.status.code(), Some(2));
    let v = cli.json(&["audit", "accept-clock", "--reason", "  "], 2);
    assert!(v["error"]["message"].as_str().unwrap().contains("reason"));
    let accepted = cli.json(
        &[
            "audit",
            "accept-clock",
            "--reason",
            "a test ran with the date ten years ahead",
        ],
        0,
    );
    assert_eq!(accepted["futureRow"]["seq"].to_string(), future_seq);
    cli.json(&["license", "issue", "--policy", "Yearly"], 0);
    let v = cli.json(&["audit", "accept-clock", "--reason", "again"], 2);
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not behind"));
    // The acceptance is in the log with its reason; the log verifies.
    let row = sqlite(
        &cli.store(),
        "SELECT detail FROM audit_events WHERE action = 'clock.accept'",
    );
    assert!(
        row.contains("ten years ahead") && row.contains(&future_at),
        "{row}"
    );
    cli.json(&["audit", "verify"], 0);
    // A clock set back behind the accepted row is still refused.
    let out = at_offset(&cli, "-1d", &["license", "issue", "--policy", "Yearly"]);
    assert_eq!(
        out.status.code(),
        Some(15),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn a_tampered_store_reads_but_refuses_changes_and_verify_names_the_difference() {
    let cli = Cli::new();
    let (license, _, _) = setup(&cli);
    cli.json(&["license", "suspend", &license], 0);
    let store = cli.store();

    // Someone with the file sets the license active again, without an audit row.
    sqlite(
        &store,
        &format!("UPDATE licenses SET status = 'active' WHERE id = '{license}'"),
    );
    let out = cli
        .command()
        .args(["--json", "audit", "verify"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(19), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let problems = v["problems"].to_string();
    assert!(
        problems.contains(&format!(
            "license {license} was changed outside Keywright: status is \\\"active\\\" in the store but \\\"suspended\\\" in the log"
        )),
        "{problems}"
    );
    let text = cli.run(&["audit", "verify"]);
    assert_eq!(text.status.code(), Some(19));
    assert!(String::from_utf8_lossy(&text.stdout).contains("does not prove this store"));
    sqlite(
        &store,
        &format!("UPDATE licenses SET status = 'suspended' WHERE id = '{license}'"),
    );
    cli.json(&["audit", "verify"], 0);

    // Someone deletes the newest audit rows: seen at the next open.
    let rows: i64 = sqlite(&store, "SELECT count(*) FROM audit_events")
        .parse()
        .unwrap();
    sqlite(
        &store,
        &format!("DELETE FROM audit_events WHERE seq > {}", rows - 2),
    );
    let out = cli
        .command()
        .args(["--json", "license", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "reading still works");
    assert!(
        stderr(&out).contains(&format!("rows {} to {rows} were deleted", rows - 1)),
        "a warning names the rows: {}",
        stderr(&out)
    );
    let v = cli.json(&["license", "issue", "--policy", "Yearly"], 19);
    assert_eq!(v["error"]["code"], "AUDIT_TAMPERED");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("restored from a backup"));
    let v = cli.json(&["audit", "verify"], 19);
    assert!(
        v["message"].as_str().unwrap().contains("were deleted"),
        "{v}"
    );
    // Nothing was written while refused.
    assert_eq!(
        sqlite(&store, "SELECT count(*) FROM audit_events"),
        (rows - 2).to_string()
    );
}

#[test]
fn text_from_older_data_cannot_drive_the_terminal() {
    let cli = Cli::new();
    let (license, _, _) = setup(&cli);
    // Rows as an older version stored them: an OSC 52 clipboard write, a bell, a C1
    // CSI and a right-to-left override in a machine's name and a server log entry.
    let evil = "ws\u{1b}]52;c;ZXZpbA==\u{7}\u{9b}31m\u{202e}exe.txt";
    sqlite(
        &cli.store(),
        &format!(
            "UPDATE machines SET name = '{evil}', hostname = '{evil}';
             INSERT INTO server_events (at, endpoint, machine, user, hwid, status, result)
             VALUES ('2026-12-01T00:00:00.000Z', '/api/activate', '{evil}', '{evil}', '{evil}', 200, 'ACTIVATED');"
        ),
    );
    for args in [
        vec!["machine", "list", license.as_str()],
        vec!["server", "log"],
    ] {
        for json in [false, true] {
            let mut c = cli.command();
            if json {
                c.arg("--json");
            }
            let out = c.args(&args).output().unwrap();
            assert_eq!(out.status.code(), Some(0), "{args:?}");
            let text = String::from_utf8(out.stdout).unwrap();
            assert!(
                !text
                    .chars()
                    .any(|c| c.is_control() && c != '\n' || c == '\u{202e}'),
                "{args:?} json={json}: {text:?}"
            );
            if json {
                let v: Value = serde_json::from_str(&text).unwrap();
                assert!(
                    v.to_string().contains("ZXZpbA=="),
                    "the data itself is kept"
                );
            } else {
                assert!(text.contains("\\u{001B}]52;c;ZXZpbA=="), "{args:?}: {text}");
            }
        }
    }
}
