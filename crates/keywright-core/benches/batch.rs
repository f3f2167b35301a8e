//! Batch issuance speed against the raw Ed25519 signing rate, measured in one run.
//!
//!   cargo bench -p keywright-core --bench batch             # 10,000 licenses
//!   cargo bench -p keywright-core --bench batch -- --write  # …and update docs/benchmarks.md
//!
//! Under `cargo test` (no `--bench` argument) it runs as a smoke on 300 licenses.
//!
//! What is timed is `Keywright::issue_batch` on a real SQLite file (WAL,
//! synchronous=FULL) with an in-memory vault, from the CSV bytes to the last commit:
//! parse and validate every row, one vault read, sign every Ed25519 key (on every core,
//! beside the commits), insert customers and licenses 500 per transaction with one
//! audit row committing to them and their search index entries. Two runs, each on a fresh
//! store: keys only; and keys plus an `aes-256-gcm+ed25519` license file per license
//! (each sealed, audited and written atomically) and one `.eml` draft per customer.
//! The raw rate is ed25519-dalek signing a message of a license key's dataset size on
//! one thread.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use ed25519_dalek::Signer;
use jiff::Timestamp;
use keywright_core::batch::BatchOptions;
use keywright_core::*;

// The tests' clock and store setup, shared with them.
#[path = "../tests/common/mod.rs"]
mod common;
use common::now;

fn store(dir: &std::path::Path) -> Keywright {
    let store = Store::open(&dir.join("bench.db")).unwrap();
    let mut kw = Keywright::with_vault(store, Box::<MemoryVault>::default(), "bench");
    kw.create_signing_key(
        &NewSigningKey {
            name: "Main".into(),
            algorithm: KeyAlgorithm::Ed25519,
        },
        now(),
    )
    .unwrap();
    let product = kw
        .create_product(
            &NewProduct {
                name: "Zapper".into(),
                code: Some("ZAP".into()),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    kw.create_policy(
        &NewPolicy {
            product_id: product.id,
            name: "Yearly".into(),
            duration: Some("1y".into()),
            encrypt: true,
            ..Default::default()
        },
        now(),
    )
    .unwrap();
    kw
}

fn csv(n: usize) -> String {
    let mut csv = String::from("name,email,company,policy,quantity,order id,reseller\n");
    for i in 0..n {
        csv.push_str(&format!(
            "Buyer {i},buyer{i}@example.com,Company {},Yearly,1,ORD-{i},R{}\n",
            i % 97,
            i % 5
        ));
    }
    csv
}

/// Raw single-thread Ed25519 signatures per second over `n` messages.
fn raw_rate(n: usize) -> (f64, Duration) {
    let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    // A license key's dataset is about 420 bytes of JSON.
    let messages: Vec<Vec<u8>> = (0..n).map(|i| format!("{i:0>420}").into_bytes()).collect();
    let start = Instant::now();
    let mut last = [0u8; 64];
    for m in &messages {
        last = key.sign(m).to_bytes();
    }
    let t = start.elapsed();
    std::hint::black_box(last);
    (n as f64 / t.as_secs_f64(), t)
}

struct Run {
    label: &'static str,
    total: Duration,
    licenses_phase: Duration,
    /// Until the last `.lic` file was written (before the drafts).
    files_phase: Duration,
}

fn run(n: usize, label: &'static str, files: bool) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let mut kw = store(dir.path());
    let out = dir.path().join("out");
    let text = csv(n);
    let options = BatchOptions {
        out_dir: files.then(|| out.display().to_string()),
        ..Default::default()
    };
    let start = Instant::now();
    let mut licenses_done = None;
    let mut files_done = None;
    let outcome = kw
        .issue_batch(
            text.as_bytes(),
            &options,
            now(),
            &mut |p| {
                if p.done as usize == n && licenses_done.is_none() {
                    licenses_done = Some(start.elapsed());
                }
                if p.done as usize == 2 * n && files_done.is_none() {
                    files_done = Some(start.elapsed());
                }
            },
            &AtomicBool::new(false),
        )
        .unwrap();
    let total = start.elapsed();
    assert_eq!(outcome.issued.len(), n, "{}", outcome.message);
    if files {
        assert_eq!(outcome.license_files as usize, n);
        assert_eq!(outcome.email_drafts as usize, n);
    }
    Run {
        label,
        total,
        licenses_phase: licenses_done.unwrap_or(total),
        files_phase: files_done.unwrap_or(total),
    }
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let write = std::env::args().any(|a| a == "--write");
    let n = if bench { 10_000 } else { 300 };

    let (raw, raw_t) = raw_rate(n);
    let keys = run(n, "keys + store rows + audit rows", false);
    let files = run(
        n,
        "keys + rows + aes-256-gcm+ed25519 .lic files + .eml drafts",
        true,
    );
    let (raw_after, _) = raw_rate(n);
    let raw = raw.max(raw_after);

    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let mut table = String::from(
        "| run | total ms | licenses/s | vs raw Ed25519 rate |\n| --- | ---: | ---: | ---: |\n",
    );
    table.push_str(&format!(
        "| raw ed25519-dalek sign, 1 thread ({n} × 420 B) | {:.1} | {:.0} | 100 % |\n",
        raw_t.as_secs_f64() * 1e3,
        raw
    ));
    for r in [&keys, &files] {
        let rate = n as f64 / r.total.as_secs_f64();
        table.push_str(&format!(
            "| {} | {:.1} | {:.0} | {:.0} % |\n",
            r.label,
            r.total.as_secs_f64() * 1e3,
            rate,
            100.0 * rate / raw
        ));
    }
    let license_phase = n as f64 / files.licenses_phase.as_secs_f64();
    let date = Timestamp::now().strftime("%Y-%m-%d");
    let section = format!(
        "Measured {date} on {} ({cores} cores), {} build, {n} licenses (1 per CSV row, \
         each a new customer), fresh store per run, real SQLite file (WAL, synchronous=FULL), \
         in-memory vault (read once per batch).\n\n{table}\n\
         In the run with files, the keys and rows took {:.1} ms ({:.0} licenses/s); with the \
         {n} `.lic` files sealed, audited and on disk, {:.1} ms (the target: under 2 s); the \
         `.eml` drafts (each with its customer's files attached) took the remaining {:.1} ms.\n",
        std::env::consts::ARCH,
        if cfg!(debug_assertions) {
            "debug (smoke)"
        } else {
            "release"
        },
        files.licenses_phase.as_secs_f64() * 1e3,
        license_phase,
        files.files_phase.as_secs_f64() * 1e3,
        (files.total - files.files_phase).as_secs_f64() * 1e3,
    );
    println!("{section}");
    if write {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/benchmarks.md");
        let doc = std::fs::read_to_string(path).unwrap_or_default();
        let (start, end) = ("<!-- batch:start -->", "<!-- batch:end -->");
        let block = format!("{start}\n{section}{end}");
        let doc = match (doc.find(start), doc.find(end)) {
            (Some(a), Some(b)) => format!("{}{block}{}", &doc[..a], &doc[b + end.len()..]),
            _ => format!(
                "{doc}\n## Batch issuance (issue 7)\n\n`cargo bench -p keywright-core --bench batch -- --write`\n\n{block}\n"
            ),
        };
        std::fs::write(path, doc).unwrap();
    }
}
