//! Input sizes through the real `keywright` binary: every file the CLI reads is read
//! up to its limit plus one byte and refused past it, naming the file, the limit and
//! "larger" (`/dev/zero` never ends, so a reader that does not stop grows until the
//! machine runs out of memory; the child runs under `prlimit --as` so that a
//! regression fails the test instead). A CSV header with 100,000 columns is refused
//! at once.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// Address space of a child: far more than any limit below needs, far less than a
/// reader that never stops would take.
const ADDRESS_SPACE: u64 = 1 << 30;

struct Run {
    status: Option<i32>,
    json: Value,
    elapsed: Duration,
}

/// Runs `keywright --json args` with stdin from `stdin` (a path), under `prlimit`,
/// killed after 60 s.
fn run_limited(cli: &Cli, args: &[&str], stdin: Option<&str>) -> Run {
    let mut cmd = Command::new("prlimit");
    cmd.arg(format!("--as={ADDRESS_SPACE}"))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_keywright"))
        .env_remove("KEYWRIGHT_STORE")
        .arg("--store")
        .arg(cli.store())
        .arg("--json")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match stdin {
        Some(path) => cmd.stdin(std::fs::File::open(path).unwrap()),
        None => cmd.stdin(Stdio::null()),
    };
    let start = Instant::now();
    let mut child = cmd.spawn().expect("prlimit (util-linux)");
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let elapsed = start.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let json = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        panic!(
            "keywright {args:?}: no JSON after {elapsed:?} (status {:?})\nstdout: {stdout}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    });
    Run {
        status: out.status.code(),
        json,
        elapsed,
    }
}

/// Asserts a refusal for size: `status`, `code`, and a message naming `what`, the
/// limit and "larger".
fn assert_too_large(run: &Run, status: i32, code: &str, what: &[&str], limit: &str) {
    let message = run.json["error"]["message"].as_str().unwrap_or_default();
    println!("{:?} exit {:?}: {message}", run.elapsed, run.status);
    assert_eq!(run.status, Some(status), "{}", run.json);
    assert_eq!(run.json["error"]["code"], code, "{}", run.json);
    for word in what.iter().chain([&limit, &"larger"]) {
        assert!(message.contains(word), "{word:?} in {message:?}");
    }
    assert!(run.elapsed < Duration::from_secs(30), "{:?}", run.elapsed);
}

#[test]
fn endless_and_oversized_inputs_are_refused_at_their_limit() {
    let cli = Cli::new();
    let key = cli.json(&["key", "create", "--name", "Main key"], 0);
    let public = cli.arg_path("public.hex");
    std::fs::write(&public, key["publicKeyHex"].as_str().unwrap()).unwrap();
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

    // License and machine files: 1 MiB, as the format crate bounds them. A file, and
    // standard input.
    let run = run_limited(
        &cli,
        &["verify", "/dev/zero", "--public-key", &public],
        None,
    );
    assert_too_large(&run, 9, "FORMAT", &["/dev/zero", "license file"], "1 MiB");
    let run = run_limited(
        &cli,
        &["verify", "-", "--public-key", &public],
        Some("/dev/zero"),
    );
    assert_too_large(
        &run,
        9,
        "FORMAT",
        &["standard input", "license file"],
        "1 MiB",
    );

    // Public keys: 64 KiB.
    let run = run_limited(
        &cli,
        &["verify", "--key", "key/x.y", "--public-key", "/dev/zero"],
        None,
    );
    assert_too_large(&run, 2, "BAD_INPUT", &["/dev/zero", "public key"], "64 KiB");

    // Activation requests and deactivation receipts: 64 KiB.
    let out = cli.arg_path("machine.lic");
    let run = run_limited(
        &cli,
        &["activation", "import", "/dev/zero", "--out", &out],
        None,
    );
    assert_too_large(
        &run,
        9,
        "FORMAT",
        &["/dev/zero", "activation request"],
        "64 KiB",
    );
    assert!(!cli.path("machine.lic").exists());
    let run = run_limited(&cli, &["activation", "preview", "-"], Some("/dev/zero"));
    assert_too_large(
        &run,
        9,
        "FORMAT",
        &["standard input", "activation request"],
        "64 KiB",
    );
    let run = run_limited(&cli, &["deactivation", "import", "/dev/zero"], None);
    assert_too_large(
        &run,
        9,
        "FORMAT",
        &["/dev/zero", "deactivation receipt"],
        "64 KiB",
    );

    // Batch CSVs: 64 MiB.
    let run = run_limited(&cli, &["license", "batch", "/dev/zero"], None);
    assert_too_large(&run, 2, "BAD_INPUT", &["/dev/zero", "CSV"], "64 MiB");
    let run = run_limited(
        &cli,
        &["license", "batch", "-", "--dry-run"],
        Some("/dev/zero"),
    );
    assert_too_large(&run, 2, "BAD_INPUT", &["standard input", "CSV"], "64 MiB");
    assert_eq!(cli.count("licenses"), 0);

    // Exactly at the limit is read (and then judged on its content).
    let at_limit = cli.path("spaces.lic");
    std::fs::write(&at_limit, vec![b' '; 1024 * 1024]).unwrap();
    let run = run_limited(
        &cli,
        &[
            "verify",
            &at_limit.display().to_string(),
            "--public-key",
            &public,
        ],
        None,
    );
    assert_eq!(run.json["code"], "MALFORMED", "{}", run.json);
    assert_eq!(run.status, Some(14));
    // One byte more is refused for its size.
    std::fs::write(&at_limit, vec![b' '; 1024 * 1024 + 1]).unwrap();
    let run = run_limited(
        &cli,
        &[
            "verify",
            &at_limit.display().to_string(),
            "--public-key",
            &public,
        ],
        None,
    );
    assert_too_large(&run, 9, "FORMAT", &["spaces.lic"], "1 MiB");
}

#[test]
fn a_csv_with_a_hundred_thousand_columns_is_refused_at_once() {
    let cli = Cli::new();
    cli.json(&["key", "create", "--name", "Main key"], 0);

    let mut header: Vec<String> = vec!["Name".into(), "Policy".into(), "Order ID".into()];
    header.extend((0..100_000).map(|i| format!("extra{i}")));
    let csv = cli.path("wide.csv");
    std::fs::write(&csv, format!("{}\nAda,Yearly,A-1\n", header.join(","))).unwrap();
    let csv = csv.display().to_string();
    let start = Instant::now();
    let err = cli.json(&["license", "batch", &csv, "--dry-run"], 2);
    let elapsed = start.elapsed();
    println!("100,003 columns: refused in {elapsed:?}");
    let message = err["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("100003 columns") && message.contains("256"),
        "{message}"
    );
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");

    // Within the cap, a repeated column is still named with both its places.
    let mut header: Vec<String> = vec!["Name".into(), "Policy".into(), "Order ID".into()];
    header.extend((0..250).map(|i| format!("extra{i}")));
    header.push("E-Mail".into());
    header.push("email".into());
    std::fs::write(&csv, format!("{}\n", header.join(","))).unwrap();
    let err = cli.json(&["license", "batch", &csv, "--dry-run"], 2);
    let message = err["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("columns 254 (\"E-Mail\") and 255 (\"email\") both hold the email"),
        "{message}"
    );
}
