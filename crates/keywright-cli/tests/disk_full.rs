//! A disk that fills up mid-write: the real `keywright` binary runs under a file-size
//! limit (`prlimit --fsize`, with SIGXFSZ ignored, so writes past it fail with EFBIG
//! the way they fail with ENOSPC on a full disk). A batch that needs more room than
//! is left gets a clear store error; nothing of it is half-written; the store, its
//! audit chain and the licenses issued before are intact, and the same batch goes
//! through once there is room again.

mod common;

use std::process::Command;

use common::*;

fn setup(cli: &Cli) {
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
}

/// The largest file of the store (database or WAL): what the limit is set above.
fn largest_store_file(cli: &Cli) -> u64 {
    ["store.db", "store.db-wal", "store.db-shm"]
        .iter()
        .filter_map(|f| std::fs::metadata(cli.path(f)).ok())
        .map(|m| m.len())
        .max()
        .unwrap_or(0)
}

#[test]
fn a_full_disk_mid_batch_is_a_clear_error_and_nothing_is_half_written() {
    let cli = Cli::new();
    setup(&cli);
    for name in ["Ada", "Bob"] {
        cli.json(
            &["license", "issue", "--policy", "Yearly", "--name", name],
            0,
        );
    }
    let licenses = cli.count("licenses");
    let rows = cli.count("audit_events");

    // 600 licenses in one run: far more than fits in the 64 KiB left.
    let mut csv = String::from("Name,Email,Policy,Quantity,Order ID\n");
    for i in 0..600 {
        csv.push_str(&format!("Customer {i},c{i}@example.com,Yearly,1,ORD-{i}\n"));
    }
    let orders = cli.path("orders.csv");
    std::fs::write(&orders, csv).unwrap();
    let limit = largest_store_file(&cli) + 64 * 1024;

    let out = Command::new("bash")
        .arg("-c")
        // An ignored signal stays ignored across exec: the write fails instead of
        // the process being killed.
        .arg(r#"trap '' XFSZ; exec prlimit --fsize="$1" -- "$2" --store "$3" --json license batch "$4""#)
        .arg("bash")
        .arg(limit.to_string())
        .arg(env!("CARGO_BIN_EXE_keywright"))
        .arg(cli.store())
        .arg(&orders)
        .output()
        .expect("bash and prlimit (util-linux)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The store class (7): a specific error, not a crash or a success.
    assert_eq!(
        out.status.code(),
        Some(7),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(
        stdout.contains("STORE") || stderr.contains("store"),
        "stdout: {stdout}\nstderr: {stderr}"
    );

    // Nothing half-written: no license of the failed chunk, no audit row for one, an
    // intact file and chain.
    assert_eq!(cli.count("licenses"), licenses);
    assert_eq!(cli.count("audit_events"), rows);
    assert_eq!(sqlite(&cli.store(), "PRAGMA integrity_check;"), "ok");
    let verified = cli.json(&["audit", "verify"], 0);
    assert_eq!(verified["rows"], rows, "{verified}");

    // With room again, the same file issues everything (idempotent by order id).
    let outcome = cli.json(&["license", "batch", &orders.display().to_string()], 0);
    assert_eq!(outcome["issued"].as_array().unwrap().len(), 600);
    assert_eq!(cli.count("licenses"), licenses + 600);
    cli.json(&["audit", "verify"], 0);
}
