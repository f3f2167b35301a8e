//! A bounded load test of the activation server on loopback: N concurrent clients
//! (keep-alive connections) for a few seconds against `GET /api/check`, Keygen's
//! `POST /v1/accounts/{account}/licenses/actions/validate-key` (scoped to the product
//! and an activated fingerprint, as an SDK sends it), then `POST /api/activate` and
//! Keygen's `POST /v1/accounts/{account}/machines` (a new hwid / fingerprint per
//! request, spread over 100 licenses of an unlimited floating policy, so no license
//! grows unrealistically many machines), over a real SQLite file (WAL,
//! synchronous=FULL) and signed responses. Prints requests/s and latency percentiles
//! and each Keygen endpoint's throughput against its mini-key-server counterpart;
//! then check and activate at once (half the clients each).
//!
//! `cargo bench -p keywright-server --bench load` runs 32 clients for 5 s per endpoint;
//! `-- --clients N --seconds S` changes that. Under `cargo test` (no `--bench`
//! argument) it runs a short smoke (4 clients, 0.5 s) that checks every answer.
//!
//! With `KEYWRIGHT_TEST_PG` set (a PostgreSQL cluster's URL, as scripts/test.sh and
//! scripts/pg-cluster.sh give it), the same run follows on the store copied into a new
//! database of that cluster, served by 1 replica and then by 2 (two servers on one
//! database, each client keeping to one of them), in one run beside SQLite.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use keywright_core::*;
use keywright_server::ServerConfig;

/// Licenses the activations are spread over.
const LICENSES: usize = 100;

struct Args {
    clients: usize,
    seconds: f64,
    full: bool,
}

fn args() -> Args {
    let argv: Vec<String> = std::env::args().collect();
    let full = argv.iter().any(|a| a == "--bench");
    let value = |name: &str| {
        argv.iter()
            .position(|a| a == name)
            .and_then(|i| argv.get(i + 1))
            .map(|v| v.parse::<f64>().expect("a number"))
    };
    Args {
        clients: value("--clients").map_or(if full { 32 } else { 4 }, |v| v as usize),
        seconds: value("--seconds").unwrap_or(if full { 5.0 } else { 0.5 }),
        full,
    }
}

struct Outcome {
    requests: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Prints one line and returns the throughput (requests/s).
fn report(name: &str, mut o: Outcome) -> f64 {
    o.latencies.sort_unstable();
    let rps = o.requests as f64 / o.elapsed.as_secs_f64();
    println!(
        "{name:<22} {:>7} requests in {:.2} s = {:>8.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms   max {:>7.2} ms",
        o.requests,
        o.elapsed.as_secs_f64(),
        rps,
        percentile(&o.latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&o.latencies, 0.99).as_secs_f64() * 1e3,
        o.latencies.last().unwrap().as_secs_f64() * 1e3,
    );
    rps
}

/// Runs `clients` loops for `seconds`; each calls `request(client, n)` and expects
/// `status`.
async fn drive<F, Fut>(clients: usize, seconds: f64, status: u16, request: F) -> Outcome
where
    F: Fn(reqwest::Client, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = reqwest::Response> + Send,
{
    let request = Arc::new(request);
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut latencies = Vec::new();
            let mut n = 0usize;
            while Instant::now() < deadline {
                let t = Instant::now();
                let response = request(client.clone(), c * 1_000_000 + n).await;
                let got = response.status().as_u16();
                let body = response.bytes().await.unwrap();
                assert_eq!(got, status, "{}", String::from_utf8_lossy(&body));
                latencies.push(t.elapsed());
                n += 1;
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    Outcome {
        requests: latencies.len(),
        elapsed: started.elapsed(),
        latencies,
    }
}

fn main() {
    let args = args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(args));
}

/// Where the run's store is and how many servers share it.
#[derive(Clone, Copy)]
enum Setup {
    Sqlite,
    Postgres { replicas: usize },
}

async fn run(args: Args) {
    run_on(&args, Setup::Sqlite).await;
    if let Ok(cluster) = std::env::var("KEYWRIGHT_TEST_PG") {
        for replicas in [1, 2] {
            let _ = &cluster;
            run_on(&args, Setup::Postgres { replicas }).await;
        }
    }
}

/// A new database on the cluster at `KEYWRIGHT_TEST_PG`; its URL.
fn new_database() -> String {
    let base = std::env::var("KEYWRIGHT_TEST_PG").unwrap();
    let name = format!("kwbench_{}", uuid::Uuid::new_v4().simple());
    let created = std::thread::spawn({
        let base = base.clone();
        let name = name.clone();
        move || {
            postgres::Client::connect(&base, postgres::NoTls)
                .and_then(|mut c| c.batch_execute(&format!("CREATE DATABASE {name}")))
        }
    })
    .join()
    .unwrap();
    created.unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    format!("{prefix}/{name}")
}

async fn run_on(args: &Args, setup: Setup) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let now = Timestamp::now();
    let vault = Arc::<MemoryVault>::default();
    let mut kw = Keywright::with_vault(
        Store::open(&path).unwrap(),
        Box::new(vault.clone()),
        "bench",
    );
    let account = kw.store().store_id().to_owned();
    kw.create_signing_key(
        &NewSigningKey {
            name: "Main".into(),
            algorithm: KeyAlgorithm::Ed25519,
        },
        now,
    )
    .unwrap();
    let product = kw
        .create_product(
            &NewProduct {
                name: "Zapper Pro".into(),
                ..Default::default()
            },
            now,
        )
        .unwrap();
    let policy = kw
        .create_policy(
            &NewPolicy {
                product_id: product.id.clone(),
                name: "Unlimited".into(),
                floating: true,
                ..Default::default()
            },
            now,
        )
        .unwrap();
    let licenses: Vec<License> = (0..LICENSES)
        .map(|_| {
            kw.issue_license(
                &IssueLicense {
                    policy_id: policy.id.clone(),
                    ..Default::default()
                },
                now,
            )
            .unwrap()
        })
        .collect();
    let license = licenses[0].clone();
    let keys: Arc<Vec<String>> = Arc::new(licenses.iter().map(|l| l.key.clone()).collect());
    let config = ServerConfig {
        rate_per_second: u32::MAX,
        burst: u32::MAX,
        ..ServerConfig::default()
    };
    // The servers: one on the SQLite file, or 1 or 2 replicas on a PostgreSQL copy.
    let (label, url) = match setup {
        Setup::Sqlite => ("SQLite".to_owned(), None),
        Setup::Postgres { replicas } => {
            let url = new_database();
            let mut target = Store::open_postgres(&url).unwrap();
            kw.store().copy_into(&mut target, |_, _| {}).unwrap();
            (
                format!(
                    "PostgreSQL, {replicas} replica{}",
                    if replicas == 1 { "" } else { "s" }
                ),
                Some((url, replicas)),
            )
        }
    };
    let mut servers = Vec::new();
    match &url {
        None => servers.push(
            keywright_server::start(kw, "127.0.0.1:0".parse().unwrap(), config)
                .await
                .unwrap(),
        ),
        Some((url, replicas)) => {
            drop(kw);
            for i in 0..*replicas {
                let replica = Keywright::with_vault(
                    Store::open_postgres(url).unwrap(),
                    Box::new(vault.clone()),
                    format!("bench-{i}"),
                );
                servers.push(
                    keywright_server::start(
                        replica,
                        "127.0.0.1:0".parse().unwrap(),
                        config.clone(),
                    )
                    .await
                    .unwrap(),
                );
            }
        }
    }
    let bases: Arc<Vec<String>> = Arc::new(
        servers
            .iter()
            .map(|s| format!("http://{}", s.local_addr()))
            .collect(),
    );
    // Each client keeps to one server (`n / 1_000_000` is the client's number).
    let pick = |bases: &[String], n: usize| bases[(n / 1_000_000) % bases.len()].clone();
    let base = bases[0].clone();
    println!(
        "activation server load test on {label}: {} clients, {:.1} s per endpoint, {}",
        args.clients,
        args.seconds,
        if args.full { "release" } else { "smoke" }
    );

    // One activated machine for the checks.
    let client = reqwest::Client::new();
    let form = |hwid: &str| {
        format!(
            "token={}&app_id={}&machine=BENCH&user=bench&hwid={hwid}",
            license.key, product.id
        )
    };
    let r = client
        .post(format!("{base}/api/activate"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form("bench-check"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);

    let check_query = format!(
        "/api/check?token={}&app_id={}&machine=BENCH&user=bench&hwid=bench-check",
        license.key, product.id
    );
    let b = bases.clone();
    let check = drive(args.clients, args.seconds, 201, move |client, n| {
        let url = format!("{}{check_query}", pick(&b, n));
        async move { client.get(url).send().await.unwrap() }
    })
    .await;
    let check_rps = report("GET /api/check", check);

    // What an SDK sends: the key, the product and this machine's fingerprint.
    let validate_path = format!("/v1/accounts/{account}/licenses/actions/validate-key");
    let validate_body = serde_json::json!({
        "meta": {
            "key": license.key,
            "scope": { "product": product.id, "fingerprint": "bench-check" },
        }
    })
    .to_string();
    let b = bases.clone();
    let validate = drive(args.clients, args.seconds, 200, move |client, n| {
        let url = format!("{}{validate_path}", pick(&b, n));
        let body = validate_body.clone();
        async move {
            client
                .post(url)
                .header("content-type", "application/vnd.api+json")
                .header("accept", "application/vnd.api+json")
                .body(body)
                .send()
                .await
                .unwrap()
        }
    })
    .await;
    let validate_rps = report("POST v1 validate-key", validate);

    let app = product.id.clone();
    let all = keys.clone();
    let b = bases.clone();
    let activate = drive(args.clients, args.seconds, 201, move |client, n| {
        let url = format!("{}/api/activate", pick(&b, n));
        let key = &all[n % LICENSES];
        let body = format!("token={key}&app_id={app}&machine=BENCH&user=bench&hwid=hw-{n}");
        async move {
            client
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap()
        }
    })
    .await;
    let mut activations = activate.requests;
    let activate_rps = report("POST /api/activate", activate);

    let machines_path = format!("/v1/accounts/{account}/machines");
    let all = Arc::new(licenses.clone());
    let b = bases.clone();
    let keygen_activate = drive(args.clients, args.seconds, 201, move |client, n| {
        let url = format!("{}{machines_path}", pick(&b, n));
        let license = &all[n % LICENSES];
        let body = serde_json::json!({
            "data": {
                "type": "machines",
                "attributes": { "fingerprint": format!("kg-{n}"), "hostname": "BENCH" },
                "relationships": {
                    "license": { "data": { "type": "licenses", "id": license.id } }
                },
            }
        })
        .to_string();
        let auth = format!("License {}", license.key);
        async move {
            client
                .post(url)
                .header("content-type", "application/vnd.api+json")
                .header("accept", "application/vnd.api+json")
                .header("authorization", auth)
                .body(body)
                .send()
                .await
                .unwrap()
        }
    })
    .await;
    activations += keygen_activate.requests;
    let keygen_activate_rps = report("POST v1 machines", keygen_activate);
    println!(
        "Keygen API / mini-key-server throughput: validate-key {:.2}x of check, machines {:.2}x of activate",
        validate_rps / check_rps,
        keygen_activate_rps / activate_rps,
    );

    // Both at once: half the clients check while the other half activate.
    let half = (args.clients / 2).max(1);
    let check_query = format!(
        "/api/check?token={}&app_id={}&machine=BENCH&user=bench&hwid=bench-check",
        license.key, product.id
    );
    let b = bases.clone();
    let mixed_checks = drive(half, args.seconds, 201, move |client, n| {
        let url = format!("{}{check_query}", pick(&b, n));
        async move { client.get(url).send().await.unwrap() }
    });
    let app = product.id.clone();
    let all = keys.clone();
    let b = bases.clone();
    let mixed_activations = drive(half, args.seconds, 201, move |client, n| {
        let url = format!("{}/api/activate", pick(&b, n));
        let key = &all[n % LICENSES];
        let body = format!("token={key}&app_id={app}&machine=BENCH&user=bench&hwid=mixed-{n}");
        async move {
            client
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap()
        }
    });
    let (checks, activated) = tokio::join!(mixed_checks, mixed_activations);
    activations += activated.requests;
    report("mixed: check", checks);
    report("mixed: activate", activated);
    for server in servers {
        server.stop().await.unwrap();
    }

    // Every activation landed, once.
    let store = match &url {
        None => Store::open(&path).unwrap(),
        Some((url, _)) => Store::open_postgres(url).unwrap(),
    };
    let kw = Keywright::with_vault(store, Box::new(MemoryVault::default()), "bench");
    let machines: usize = licenses
        .iter()
        .map(|l| {
            kw.list_machines(&l.id, jiff::Timestamp::now())
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(machines, activations + 1);
}
