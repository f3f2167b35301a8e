//! The license list on a large store: search, filter, sort and page through what a
//! desktop command does (core query + JSON serialization of the page, as IPC does).
//!
//!   cargo bench -p keywright-core --bench license_list            # 100,000 licenses
//!   cargo bench -p keywright-core --bench license_list -- --write # …and update docs/benchmarks.md
//!
//! Under `cargo test` (no `--bench` argument) it runs as a smoke on 2,000 licenses.
//! The store is filled with plain SQL (signing 100,000 keys is not what is measured
//! here); the FTS triggers and indexes are the real ones.

use std::time::{Duration, Instant};

use jiff::Timestamp;
use keywright_core::*;
use rusqlite::params;

// The tests' clock and store setup, shared with them.
#[path = "../tests/common/mod.rs"]
mod common;
use common::now;

const ITERATIONS: usize = 40;

struct Bench {
    _dir: tempfile::TempDir,
    kw: Keywright,
    product: Product,
    yearly: Policy,
}

fn build(n: usize) -> Bench {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("bench.db")).unwrap();
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
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    let mut policy = |name: &str, duration: Option<&str>| {
        kw.create_policy(
            &NewPolicy {
                product_id: product.id.clone(),
                name: name.into(),
                duration: duration.map(str::to_owned),
                ..Default::default()
            },
            now(),
        )
        .unwrap()
    };
    let yearly = policy("Yearly", Some("1y"));
    let forever = policy("Forever", None);

    let mut conn = rusqlite::Connection::open(kw.store().path()).unwrap();
    let key_id: String = conn
        .query_row("SELECT id FROM signing_keys", [], |r| r.get(0))
        .unwrap();
    let tx = conn.transaction().unwrap();
    for i in 0..n {
        let created = format!(
            "20{:02}-{:02}-{:02}T{:02}:00:00.000Z",
            20 + i % 7,
            i % 12 + 1,
            i % 28 + 1,
            i % 24
        );
        let expiry = (i % 4 != 0).then(|| format!("2027-{:02}-01T00:00:00.000Z", i % 12 + 1));
        let customer = (i % 5 != 0).then(|| uuid_like(i, 'c'));
        if let Some(cid) = &customer {
            tx.execute(
                "INSERT INTO customers (id, name, email, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![
                    cid,
                    format!("Customer {} {}", i % 997, i),
                    format!("buyer{i}@company{}.example", i % 311),
                    created
                ],
            )
            .unwrap();
        }
        let policy = if i % 2 == 0 { &yearly } else { &forever };
        let status = match i % 20 {
            0 => "suspended",
            1 => "revoked",
            _ => "active",
        };
        let key = format!(
            "key/{}.{}",
            hex_of(i as u64 * 7919),
            hex_of(i as u64 * 104_729)
        );
        // Written with every license by Keywright: the key's last 64 characters,
        // reversed (a key's end is searched through it).
        let key_rtail: String = key.chars().rev().take(64).collect();
        tx.execute(
            "INSERT INTO licenses (id, key, policy_id, customer_id, signing_key_id, status,
                                   expiry, metadata, created_at, updated_at, key_rtail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, '{}', ?8, ?8, ?9)",
            params![
                uuid_like(i, 'l'),
                key,
                policy.id,
                customer,
                key_id,
                status,
                expiry,
                created,
                key_rtail
            ],
        )
        .unwrap();
    }
    tx.commit().unwrap();
    Bench {
        _dir: dir,
        kw,
        product,
        yearly,
    }
}

fn hex_of(x: u64) -> String {
    format!("{:016x}{:016x}", x.wrapping_mul(0x9e37_79b9_7f4a_7c15), x)
}

fn uuid_like(i: usize, tag: char) -> String {
    format!("{tag}{i:07}-0000-4000-8000-000000000000")
}

/// One query shape, timed over `ITERATIONS` runs (with varying input where it helps).
fn measure(
    bench: &Bench,
    make: &dyn Fn(usize) -> LicenseQuery,
    iterations: usize,
) -> Vec<Duration> {
    let mut times = Vec::with_capacity(iterations);
    for i in 0..iterations {
        let query = make(i);
        let start = Instant::now();
        let page = bench.kw.search_licenses(&query, now()).unwrap();
        let json = serde_json::to_vec(&page).unwrap();
        std::hint::black_box(json);
        times.push(start.elapsed());
    }
    times.sort();
    times
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let full = args.iter().any(|a| a == "--bench");
    let write = args.iter().any(|a| a == "--write");
    let (n, iterations) = if full {
        (100_000, ITERATIONS)
    } else {
        (2_000, 3)
    };

    let fill_start = Instant::now();
    let bench = build(n);
    let fill = fill_start.elapsed();

    // A deep page: the cursor after the first 10 pages of the newest-first order.
    let mut deep = LicenseQuery::default();
    for _ in 0..10 {
        let page = bench.kw.search_licenses(&deep, now()).unwrap();
        deep.cursor = page.next_cursor;
    }
    let deep_cursor = deep.cursor.clone();
    let customer_cursor = bench
        .kw
        .search_licenses(
            &LicenseQuery {
                sort: LicenseSort::CustomerAsc,
                ..Default::default()
            },
            now(),
        )
        .unwrap()
        .next_cursor;

    type Shape<'a> = (&'a str, Box<dyn Fn(usize) -> LicenseQuery + 'a>);
    let shapes: Vec<Shape<'_>> = vec![
        (
            "first page, newest first",
            Box::new(|_| LicenseQuery::default()),
        ),
        (
            "page 11 (keyset cursor)",
            Box::new(|_| LicenseQuery {
                cursor: deep_cursor.clone(),
                ..Default::default()
            }),
        ),
        (
            "sort by expiry",
            Box::new(|_| LicenseQuery {
                sort: LicenseSort::ExpiryAsc,
                ..Default::default()
            }),
        ),
        (
            "sort by customer",
            Box::new(|_| LicenseQuery {
                sort: LicenseSort::CustomerAsc,
                ..Default::default()
            }),
        ),
        (
            "a key's last 10 characters",
            Box::new(|i| LicenseQuery {
                text: Some(hex_of((i * 37 % n) as u64 * 104_729)[22..].to_owned()),
                ..Default::default()
            }),
        ),
        (
            "email fragment (trigram)",
            Box::new(|i| LicenseQuery {
                text: Some(format!("buyer{}@", (i * 131) % n)),
                ..Default::default()
            }),
        ),
        (
            "2-character text (word prefix)",
            Box::new(|i| LicenseQuery {
                text: Some(format!("{}", 10 + i % 89)),
                ..Default::default()
            }),
        ),
        (
            "2-character text matching 80% (\"cu\")",
            Box::new(|_| LicenseQuery {
                text: Some("cu".into()),
                ..Default::default()
            }),
        ),
        (
            "sort by customer, page 2 (keyset cursor)",
            Box::new(|_| LicenseQuery {
                sort: LicenseSort::CustomerAsc,
                cursor: customer_cursor.clone(),
                ..Default::default()
            }),
        ),
        (
            "product + status filter",
            Box::new(|_| LicenseQuery {
                product_id: Some(bench.product.id.clone()),
                status: Some(LicenseStatus::Suspended),
                ..Default::default()
            }),
        ),
        (
            "policy + expiring in 365 days",
            Box::new(|_| LicenseQuery {
                policy_id: Some(bench.yearly.id.clone()),
                expiring_within_days: Some(365),
                ..Default::default()
            }),
        ),
    ];

    let mut table = String::from(
        "| query (page of 50) | p50 ms | p95 ms | max ms |\n| --- | ---: | ---: | ---: |\n",
    );
    let mut worst_p95 = Duration::ZERO;
    for (label, make) in &shapes {
        let times = measure(&bench, make.as_ref(), iterations);
        let p95 = pct(&times, 0.95);
        worst_p95 = worst_p95.max(p95);
        table.push_str(&format!(
            "| {label} | {} | {} | {} |\n",
            ms(pct(&times, 0.5)),
            ms(p95),
            ms(*times.last().unwrap())
        ));
    }
    println!("license list on {n} licenses (filled in {fill:.1?}), {iterations} runs per query:\n");
    println!("{table}");
    println!("worst p95: {} ms (target: 30 ms)", ms(worst_p95));

    if write {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/benchmarks.md");
        let doc = std::fs::read_to_string(path).unwrap_or_default();
        let start = "<!-- license_list:start -->";
        let end = "<!-- license_list:end -->";
        let section = format!(
            "{start}\nMeasured {} on {} ({} cores), release build, {n} licenses \
             (+{} customers), {iterations} runs per query; core query plus JSON \
             serialization of the page.\n\n{table}\nWorst p95: **{} ms** (target ≤ 30 ms).\n{end}",
            Timestamp::now().strftime("%Y-%m-%d"),
            std::env::consts::ARCH,
            std::thread::available_parallelism()
                .map(|p| p.get())
                .unwrap_or(1),
            n * 4 / 5,
            ms(worst_p95)
        );
        let updated = match (doc.find(start), doc.find(end)) {
            (Some(a), Some(b)) => format!("{}{section}{}", &doc[..a], &doc[b + end.len()..]),
            _ => format!("{doc}\n{section}\n"),
        };
        std::fs::write(path, updated).unwrap();
        println!("wrote {path}");
    }
}
