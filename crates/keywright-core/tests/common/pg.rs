//! A database of its own for each test on the private PostgreSQL cluster that
//! `scripts/test.sh` starts (`scripts/pg-cluster.sh`), named by `KEYWRIGHT_TEST_PG`.
// Each test binary uses a different part of it.
#![allow(dead_code)]

/// The cluster's URL (its `postgres` database).
pub fn cluster_url() -> String {
    std::env::var("KEYWRIGHT_TEST_PG").unwrap_or_else(|_| {
        panic!(
            "KEYWRIGHT_TEST_PG is not set: these tests need a PostgreSQL cluster. \
             Run the whole suite with scripts/test.sh, or start one with \
             `eval \"$(bash scripts/pg-cluster.sh start)\"`"
        )
    })
}

/// A new, empty database on the cluster; its URL.
pub fn fresh_database() -> String {
    let base = cluster_url();
    let name = format!("kw_{}", uuid_like());
    let mut admin = postgres::Client::connect(&base, postgres::NoTls)
        .unwrap_or_else(|e| panic!("cannot reach the test cluster at {base}: {e}"));
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    format!("{prefix}/{name}")
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}
