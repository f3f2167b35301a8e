//! The CLI and the activation server on a store in PostgreSQL (the test cluster that
//! scripts/test.sh starts), through the real binary and the real OS keychain:
//! every command as on a file; a copy to a file and back; two `keywright serve`
//! replicas on one database sell no seat twice under 200 simultaneous activations,
//! and a replica killed with SIGKILL in the middle of them loses nothing and leaves
//! no half-written activation.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::*;

/// Key, product "Zapper Pro" and a floating policy of `seats` seats; one license.
/// Returns (license key, product id).
fn license_with_seats(cli: &Cli, seats: u32) -> (String, String) {
    cli.json(&["key", "create", "--name", "Main key"], 0);
    let product = cli.json(&["product", "create", "--name", "Zapper Pro"], 0);
    let policy = cli.json(
        &[
            "policy",
            "create",
            "--product",
            "ZAPPER-PRO",
            "--name",
            "Seats",
            "--floating",
            "--max-machines",
            &seats.to_string(),
        ],
        0,
    );
    let license = cli.json(
        &[
            "license",
            "issue",
            "--policy",
            policy["id"].as_str().unwrap(),
            "--name",
            "Ada Hopper",
            "--email",
            "ada@example.com",
        ],
        0,
    );
    (
        license["key"].as_str().unwrap().to_owned(),
        product["id"].as_str().unwrap().to_owned(),
    )
}

/// `keywright serve` on a port the OS picks; (child, address).
fn serve(cli: &Cli) -> (Child, String) {
    let mut child = cli
        .command()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--rate",
            "100000",
            "--burst",
            "100000",
        ])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut addr = None;
    let mut seen = Vec::new();
    while addr.is_none() {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            panic!("serve ended: {seen:?}");
        }
        if let Some(rest) = line.split("http://").nth(1) {
            addr = rest.split_whitespace().next().map(str::to_owned);
        }
        assert!(
            !line.contains(PG_PASSWORD),
            "the password was shown: {line}"
        );
        seen.push(line);
    }
    std::thread::spawn(move || for _ in stderr.lines().map_while(Result::ok) {});
    (child, addr.unwrap())
}

fn activate(addr: &str, key: &str, app: &str, hwid: &str) -> Option<u16> {
    let body = format!("token={key}&app_id={app}&hwid={hwid}&machine=LAB&user=ada");
    let request = format!(
        "POST /api/activate HTTP/1.1\r\nHost: {addr}\r\nContent-Type: \
         application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    // A replica that was killed answers nothing: the client sees an error.
    std::panic::catch_unwind(|| http(addr, &request).0).ok()
}

fn active_machines(cli: &Cli) -> i64 {
    psql(
        cli.url.as_deref().unwrap(),
        "SELECT count(*) FROM machines WHERE status = 'active'",
    )
    .parse()
    .unwrap()
}

fn stop(mut child: Child) {
    let _ = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

#[test]
fn every_command_works_on_postgres_and_the_store_copies_to_a_file_and_back() {
    let cli = Cli::postgres();
    key_and_product(&cli);
    let policy = cli.json(
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
    let mut ids = Vec::new();
    for (name, email) in [
        ("Ada Hopper", "ada@example.com"),
        ("Émile Zola", "emile@example.org"),
    ] {
        let l = cli.json(
            &[
                "license", "issue", "--policy", "Yearly", "--name", name, "--email", email,
            ],
            0,
        );
        ids.push(l["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(policy["name"], "Yearly");
    // Search by a substring of the name, any case; by a word start of one letter.
    let found = cli.json(&["license", "list", "--search", "HOPP"], 0);
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found}");
    let found = cli.json(&["license", "list", "--search", "e"], 0);
    assert_eq!(found["items"].as_array().unwrap().len(), 2, "{found}");
    cli.json(&["license", "suspend", &ids[0]], 0);
    let file = cli.arg_path("ada.lic");
    cli.json(&["license", "export", &ids[1], "--out", &file], 0);
    let verified = cli.json(
        &["verify", &file, "--public-key", &cli.arg_path("public.hex")],
        0,
    );
    assert_eq!(verified["code"], "VALID", "{verified}");
    let audit = cli.json(&["audit", "verify"], 0);
    assert_eq!(audit["intact"], true, "{audit}");

    // PostgreSQL → a new file → a new PostgreSQL database: the same licenses, the
    // audit log verified at every step.
    let copy = cli.arg_path("copy.db");
    let first = cli.json(&["store", "copy", "--to", &copy], 0);
    assert!(!first.to_string().contains(PG_PASSWORD), "{first}");
    assert_eq!(first["auditRows"], audit["rows"], "{first}");
    let back = new_database();
    let second = cli.json(&["store", "copy", "--from", &copy, "--to", &back], 0);
    assert_eq!(
        second["storeId"], first["storeId"],
        "the store keeps its id"
    );
    let listed = |store: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_keywright"))
            .env_remove("KEYWRIGHT_STORE")
            .args(["--store", store, "--json", "license", "list"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut rows: Vec<String> = v["licenses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| format!("{} {}", l["id"], l["status"]))
            .collect();
        rows.sort();
        rows
    };
    let original = listed(cli.url.as_deref().unwrap());
    assert_eq!(original.len(), 2);
    assert_eq!(listed(&copy), original);
    assert_eq!(listed(&back), original);
    // A copy never lands on a store that holds rows.
    let out = cli
        .command()
        .args(["store", "copy", "--to", &copy])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty"));
    assert_eq!(listed(&copy), original, "the refused target is untouched");
}

#[test]
fn two_replicas_on_one_database_sell_no_seat_twice() {
    let cli = Cli::postgres();
    let (key, app) = license_with_seats(&cli, 10);
    let (a, addr_a) = serve(&cli);
    let (b, addr_b) = serve(&cli);
    for addr in [&addr_a, &addr_b] {
        let (status, _, body) = http(
            addr,
            &format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
        );
        assert_eq!(
            (status, body.as_str()),
            (200, r#"{"status":"ok","store":"postgres"}"#)
        );
    }
    let accepted = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..200)
        .map(|i| {
            let addr = if i % 2 == 0 {
                addr_a.clone()
            } else {
                addr_b.clone()
            };
            let (key, app, accepted) = (key.clone(), app.clone(), accepted.clone());
            std::thread::spawn(move || {
                if activate(&addr, &key, &app, &format!("hw-{i}")) == Some(201) {
                    accepted.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    stop(a);
    stop(b);
    assert_eq!(accepted.load(Ordering::Relaxed), 10);
    assert_eq!(active_machines(&cli), 10);
    let audit = cli.json(&["audit", "verify"], 0);
    assert_eq!(audit["intact"], true, "{audit}");
}

#[test]
fn a_replica_killed_mid_activations_loses_nothing() {
    let cli = Cli::postgres();
    let (key, app) = license_with_seats(&cli, 10);
    let (mut a, addr_a) = serve(&cli);
    let (b, addr_b) = serve(&cli);
    let sent = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..200)
        .map(|i| {
            let addr = if i % 2 == 0 {
                addr_a.clone()
            } else {
                addr_b.clone()
            };
            let (key, app, sent) = (key.clone(), app.clone(), sent.clone());
            std::thread::spawn(move || {
                // Spread over time, so the kill lands among them.
                std::thread::sleep(std::time::Duration::from_millis(5 * (i as u64 % 40)));
                sent.fetch_add(1, Ordering::Relaxed);
                activate(&addr, &key, &app, &format!("hw-{i}"))
            })
        })
        .collect();
    while sent.load(Ordering::Relaxed) < 40 {
        std::thread::yield_now();
    }
    a.kill().unwrap(); // SIGKILL
    a.wait().unwrap();
    let answers: Vec<Option<u16>> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    // The survivor goes on: the seats fill up, and never past 10.
    for i in 200..230 {
        activate(&addr_b, &key, &app, &format!("hw-{i}"));
    }
    stop(b);
    assert!(
        answers.iter().any(Option::is_none),
        "the kill cut some requests"
    );
    assert_eq!(active_machines(&cli), 10, "every seat taken, none twice");
    // No half-written activation: every machine has its audit row and every audit
    // row its machine (the replay of the log gives the store's state), and the chain
    // is one chain across both replicas.
    let audit = cli.json(&["audit", "verify"], 0);
    assert_eq!(audit["intact"], true, "{audit}");
    let machines = cli.count("machines");
    let rows: i64 = psql(
        cli.url.as_deref().unwrap(),
        "SELECT count(*) FROM audit_events WHERE action = 'machine.activate'",
    )
    .parse()
    .unwrap();
    assert_eq!(rows, machines, "one audit row per machine");
}
