//! Keygen's license API over HTTP on loopback, at the byte level: routes with and
//! without the account, Keygen's error objects and status codes for every refusal
//! (never a 500), every answer signed (errors, 404s, 413s and 429s included) with
//! the `Keygen-Date`/`Keygen-Digest` twins, seats never oversold.
//! (keygen-rs drives the same API end to end in crates/keywright-sdk-tests.)

mod common;

use common::{count, roomy, Fixture, Reply, Running};
use keywright_core::{HeartbeatCullStrategy, IssueLicense, License, NewPolicy, Policy};
use keywright_server::ServerConfig;
use serde_json::{json, Value};

const JSONAPI: &str = "application/vnd.api+json";

fn policy(f: &mut Fixture, floating: bool, max: Option<i64>) -> Policy {
    f.kw.create_policy(
        &NewPolicy {
            product_id: f.product.id.clone(),
            name: format!("P{floating}{max:?}"),
            duration: Some("1y".into()),
            floating,
            max_machines: max,
            ..Default::default()
        },
        jiff::Timestamp::now(),
    )
    .unwrap()
}

fn issue(f: &mut Fixture, policy: &Policy) -> License {
    f.kw.issue_license(
        &IssueLicense {
            policy_id: policy.id.clone(),
            customer_email: Some("ada@example.com".into()),
            ..Default::default()
        },
        jiff::Timestamp::now(),
    )
    .unwrap()
}

/// Sends a Keygen request (JSON:API body, optional license key).
async fn keygen(
    run: &Running,
    method: &str,
    target: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> Reply {
    keygen_at(&run.client, run.addr, method, target, key, body).await
}

async fn keygen_at(
    client: &reqwest::Client,
    addr: std::net::SocketAddr,
    method: &str,
    target: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut req = client
        .request(method.parse().unwrap(), format!("http://{addr}{target}"))
        .header("accept", JSONAPI);
    if let Some(key) = key {
        req = req.header("authorization", format!("License {key}"));
    }
    if let Some(body) = body {
        req = req
            .header("content-type", JSONAPI)
            .body(serde_json::to_vec(&body).unwrap());
    }
    let resp = req.send().await.unwrap();
    reply_at(addr, method, target, resp).await
}

async fn reply(run: &Running, method: &str, target: &str, resp: reqwest::Response) -> Reply {
    reply_at(run.addr, method, target, resp).await
}

async fn reply_at(
    addr: std::net::SocketAddr,
    method: &str,
    target: &str,
    resp: reqwest::Response,
) -> Reply {
    let h = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    // Keygen's SDKs read the twins; they must be the signed values.
    assert_eq!(h("keygen-date"), h("date"), "{method} {target}");
    assert_eq!(h("keygen-digest"), h("digest"), "{method} {target}");
    let (date, digest, signature, retry_after, content_type) = (
        h("date"),
        h("digest"),
        h("keygen-signature"),
        h("retry-after"),
        h("content-type"),
    );
    let all_headers = format!("{:?}", resp.headers());
    let status = resp.status().as_u16();
    let body = resp.bytes().await.unwrap().to_vec();
    Reply {
        status,
        method: method.to_owned(),
        target: target.to_owned(),
        host: addr.to_string(),
        date,
        digest,
        signature,
        retry_after,
        content_type,
        all_headers,
        body,
    }
}

/// The first error's code, after checking the answer is a signed JSON:API error.
fn error_code(r: &Reply, run: &Running) -> String {
    r.assert_signed(&run.trusted);
    assert!(
        r.content_type.as_deref().unwrap().starts_with(JSONAPI),
        "{:?}",
        r.content_type
    );
    let doc = r.json();
    let error = &doc["errors"][0];
    assert!(error["title"].is_string(), "{doc}");
    assert!(error["detail"].is_string(), "{doc}");
    error["code"].as_str().unwrap_or_default().to_owned()
}

fn activation(license_id: &str, fingerprint: &str) -> Value {
    json!({
        "data": {
            "type": "machines",
            "attributes": { "fingerprint": fingerprint, "platform": "linux/x86_64", "cores": 8 },
            "relationships": { "license": { "data": { "type": "licenses", "id": license_id } } }
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_answer_with_and_without_the_account() {
    let mut f = Fixture::new();
    let account = f.kw.store().store_id().to_owned();
    let p = policy(&mut f, true, Some(3));
    let license = issue(&mut f, &p);
    let run = f.serve(roomy()).await;
    let body = json!({ "meta": { "key": license.key, "scope": { "product": run.product.id } } });
    for prefix in ["/v1".to_owned(), format!("/v1/accounts/{account}")] {
        let target = format!("{prefix}/licenses/actions/validate-key");
        let r = keygen(&run, "POST", &target, None, Some(body.clone())).await;
        assert_eq!(r.status, 200, "{target}");
        r.assert_signed(&run.trusted);
        assert!(r.content_type.as_deref().unwrap().starts_with(JSONAPI));
        let doc = r.json();
        assert_eq!(doc["meta"]["valid"], true);
        assert_eq!(doc["meta"]["code"], "VALID");
        assert_eq!(doc["meta"]["detail"], "is valid");
        assert_eq!(doc["meta"]["scope"]["product"], run.product.id.as_str());
        assert_eq!(doc["data"]["id"], license.id.as_str());
        assert_eq!(doc["data"]["type"], "licenses");
        assert_eq!(doc["data"]["attributes"]["key"], license.key.as_str());
        assert_eq!(
            doc["data"]["relationships"]["account"]["data"]["id"],
            account.as_str()
        );
    }
    // Another account is not this store.
    let r = keygen(
        &run,
        "POST",
        "/v1/accounts/someone-else/licenses/actions/validate-key",
        None,
        Some(body),
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(error_code(&r, &run), "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anything_else_under_v1_is_a_signed_keygen_404_never_a_500() {
    let mut f = Fixture::new();
    let p = policy(&mut f, true, None);
    let license = issue(&mut f, &p);
    let run = f.serve(roomy()).await;
    for (method, target) in [
        ("GET", "/v1"),
        ("GET", "/v1/"),
        ("GET", "/v1/products"),
        ("GET", "/v1/licenses"),
        ("POST", "/v1/licenses"),
        ("PATCH", "/v1/licenses/x"),
        ("GET", "/v1/machines"),
        ("PUT", "/v1/machines/x"),
        ("GET", "/v1/licenses/actions/validate-key"),
        ("GET", "/v1/releases/1/artifacts/app.zip"),
        ("GET", "/v1/%FF%FE"),
        ("GET", "/v1/accounts"),
        ("DELETE", "/v1/accounts/x/licenses/y"),
        ("GET", "/v1/tokens?x=%FF"),
    ] {
        let r = keygen(&run, method, target, Some(&license.key), None).await;
        assert_eq!(r.status, 404, "{method} {target}: {:?}", r.json());
        assert_eq!(error_code(&r, &run), "NOT_FOUND", "{method} {target}");
    }
    // Outside /v1 the mini-key-server API keeps its own errors.
    let r = run.get("/v2/licenses").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["result"], "failure");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_is_keygen_s() {
    let mut f = Fixture::new();
    let p = policy(&mut f, true, None);
    let license = issue(&mut f, &p);
    let other = issue(&mut f, &p);
    let suspended = issue(&mut f, &p);
    let mut run = f.serve(roomy()).await;
    run.observer
        .suspend_license(&suspended.id, jiff::Timestamp::now())
        .unwrap();
    let me = format!("/v1/licenses/{}", license.id);

    let r = keygen(&run, "GET", &me, None, None).await;
    assert_eq!(r.status, 401);
    assert_eq!(error_code(&r, &run), "TOKEN_MISSING");
    assert!(r.all_headers.contains("www-authenticate"));

    let r = run
        .client
        .get(run.url(&me))
        .header("authorization", "Bearer admin-1234")
        .send()
        .await
        .unwrap();
    let r = reply(&run, "GET", &me, r).await;
    assert_eq!(r.status, 401);
    assert_eq!(error_code(&r, &run), "TOKEN_INVALID");

    let r = keygen(&run, "GET", &me, Some("NOT-A-KEY"), None).await;
    assert_eq!(r.status, 401);
    assert_eq!(error_code(&r, &run), "LICENSE_INVALID");

    // Basic with user "license" is the key too.
    use base64::Engine as _;
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("license:{}", license.key));
    let r = run
        .client
        .get(run.url("/v1/me"))
        .header("authorization", format!("Basic {basic}"))
        .send()
        .await
        .unwrap();
    let r = reply(&run, "GET", "/v1/me", r).await;
    assert_eq!(r.status, 200);
    r.assert_signed(&run.trusted);
    assert_eq!(r.json()["data"]["id"], license.id.as_str());

    // A license sees itself (by id or key), not another one.
    let r = keygen(&run, "GET", &me, Some(&license.key), None).await;
    assert_eq!(r.status, 200);
    r.assert_signed(&run.trusted);
    let by_key = format!("/v1/licenses/{}", common::enc(&license.key));
    let r = keygen(&run, "GET", &by_key, Some(&license.key), None).await;
    assert_eq!(r.status, 200);
    let r = keygen(&run, "GET", &me, Some(&other.key), None).await;
    assert_eq!(r.status, 404);
    assert_eq!(error_code(&r, &run), "NOT_FOUND");

    // A suspended license cannot authenticate; validate-key still says why.
    let r = keygen(&run, "GET", "/v1/me", Some(&suspended.key), None).await;
    assert_eq!(r.status, 403);
    assert_eq!(error_code(&r, &run), "LICENSE_SUSPENDED");
    assert_eq!(
        r.json()["errors"][0]["meta"]["supportMessage"],
        common::SUPPORT
    );
    let r = keygen(
        &run,
        "POST",
        "/v1/licenses/actions/validate-key",
        Some(&suspended.key),
        Some(json!({ "meta": { "key": suspended.key } })),
    )
    .await;
    assert_eq!(r.status, 200);
    r.assert_signed(&run.trusted);
    assert_eq!(r.json()["meta"]["code"], "SUSPENDED");
    assert_eq!(r.json()["meta"]["supportMessage"], common::SUPPORT);

    // Activating for another license is forbidden.
    let r = keygen(
        &run,
        "POST",
        "/v1/machines",
        Some(&license.key),
        Some(activation(&other.id, "fp-1")),
    )
    .await;
    assert_eq!(r.status, 403);
    error_code(&r, &run);
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_keygen_400s() {
    let mut f = Fixture::new();
    let p = policy(&mut f, true, None);
    let license = issue(&mut f, &p);
    let run = f.serve(roomy()).await;
    let validate = "/v1/licenses/actions/validate-key";
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "/meta/key"),
        (json!({ "meta": {} }), "/meta/key"),
        (json!({ "meta": { "key": 7 } }), "/meta/key"),
        (json!({ "meta": { "key": " " } }), "/meta/key"),
        (json!({ "meta": "x" }), "/meta"),
        (
            json!({ "meta": { "key": license.key, "scope": { "fingerprint": 1 } } }),
            "/meta/scope/fingerprint",
        ),
        (
            json!({ "meta": { "key": license.key, "scope": { "entitlements": "A" } } }),
            "/meta/scope/entitlements",
        ),
        (
            json!({ "meta": { "key": license.key, "nonce": "n" } }),
            "/meta/nonce",
        ),
    ];
    for (body, pointer) in cases {
        let r = keygen(&run, "POST", validate, None, Some(body.clone())).await;
        assert_eq!(r.status, 400, "{body}");
        error_code(&r, &run);
        assert_eq!(
            r.json()["errors"][0]["source"]["pointer"],
            pointer,
            "{body}"
        );
    }
    // Not JSON, another media type.
    let r = run
        .send("POST", validate, Some(JSONAPI), b"{not json".to_vec())
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(error_code(&r, &run), "JSON_INVALID");
    let r = run
        .send("POST", validate, Some("text/plain"), b"key".to_vec())
        .await;
    assert_eq!(r.status, 415);
    error_code(&r, &run);

    // Activation: missing pieces, control characters, overlong text.
    for (body, pointer, status) in [
        (json!({}), "/data", 400),
        (json!({ "data": { "type": "users" } }), "/data/type", 400),
        (
            json!({ "data": { "type": "machines", "attributes": {},
                "relationships": { "license": { "data": { "type": "licenses", "id": license.id } } } } }),
            "/data/attributes/fingerprint",
            400,
        ),
        (
            json!({ "data": { "type": "machines", "attributes": { "fingerprint": "fp" } } }),
            "/data/relationships",
            400,
        ),
        (
            activation(&license.id, "fp\u{1b}[2J"),
            "/data/attributes/fingerprint",
            422,
        ),
        (
            activation(&license.id, &"x".repeat(300)),
            "/data/attributes/fingerprint",
            422,
        ),
        (
            activation(&license.id, "  "),
            "/data/attributes/fingerprint",
            422,
        ),
    ] {
        let r = keygen(
            &run,
            "POST",
            "/v1/machines",
            Some(&license.key),
            Some(body.clone()),
        )
        .await;
        assert_eq!(r.status, status, "{body}");
        error_code(&r, &run);
        assert_eq!(
            r.json()["errors"][0]["source"]["pointer"],
            pointer,
            "{body}"
        );
    }
    assert_eq!(count(&run_store(&run), "SELECT count(*) FROM machines"), 0);

    // Check-out options.
    let checkout = format!("/v1/licenses/{}/actions/check-out", license.id);
    for (query, code) in [
        ("?ttl=60", "CHECKOUT_TTL_INVALID"),
        ("?ttl=soon", "CHECKOUT_TTL_INVALID"),
        ("?include=machines", "CHECKOUT_INCLUDE_INVALID"),
        ("?algorithm=rot13", "CHECKOUT_ALGORITHM_INVALID"),
        (
            "?algorithm=aes-256-gcm%2Brsa-pss-sha256",
            "CHECKOUT_ALGORITHM_INVALID",
        ),
    ] {
        let target = format!("{checkout}{query}");
        let r = keygen(&run, "POST", &target, Some(&license.key), None).await;
        assert_eq!(
            r.status,
            400,
            "{target}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(error_code(&r, &run), code, "{target}");
    }
}

fn run_store(run: &Running) -> std::path::PathBuf {
    run.observer.store().path().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn machines_check_outs_and_deactivation_over_raw_http() {
    let mut f = Fixture::new();
    let p = policy(&mut f, true, Some(2));
    let license = issue(&mut f, &p);
    let other = issue(&mut f, &p);
    let run = f.serve(roomy()).await;
    let key = Some(license.key.as_str());

    let r = keygen(
        &run,
        "POST",
        "/v1/machines",
        key,
        Some(activation(&license.id, "fp-a")),
    )
    .await;
    assert_eq!(r.status, 201, "{:?}", r.json());
    r.assert_signed(&run.trusted);
    assert!(r.all_headers.contains("location"));
    let machine = r.json()["data"].clone();
    assert_eq!(machine["type"], "machines");
    assert_eq!(machine["attributes"]["fingerprint"], "fp-a");
    assert_eq!(machine["attributes"]["platform"], "linux/x86_64");
    assert_eq!(machine["attributes"]["requireHeartbeat"], false);
    assert_eq!(
        machine["relationships"]["license"]["data"]["id"],
        license.id.as_str()
    );
    let id = machine["id"].as_str().unwrap().to_owned();

    // By id and by fingerprint; not through another license.
    for reference in [id.as_str(), "fp-a"] {
        let r = keygen(&run, "GET", &format!("/v1/machines/{reference}"), key, None).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["data"]["id"], id.as_str());
    }
    let r = keygen(
        &run,
        "GET",
        &format!("/v1/machines/{id}"),
        Some(&other.key),
        None,
    )
    .await;
    assert_eq!(r.status, 404);
    error_code(&r, &run);

    // A ping works on any machine, as Keygen's (the policy does not require one):
    // it starts the machine's heartbeat with Keygen's default 10 minutes.
    let r = keygen(
        &run,
        "POST",
        &format!("/v1/machines/{id}/actions/ping"),
        key,
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    r.assert_signed(&run.trusted);
    let pinged = &r.json()["data"]["attributes"];
    assert_eq!(pinged["heartbeatStatus"], "ALIVE");
    assert_eq!(pinged["heartbeatDuration"], 600);
    assert!(pinged["lastHeartbeat"].is_string(), "{pinged}");
    assert!(pinged["nextHeartbeat"].is_string(), "{pinged}");

    // The certificate alone (GET), signed too.
    let target = format!("/v1/machines/{id}/actions/check-out?ttl=3600");
    let r = keygen(&run, "GET", &target, key, None).await;
    assert_eq!(r.status, 200);
    r.assert_signed(&run.trusted);
    assert_eq!(r.content_type.as_deref(), Some("application/octet-stream"));
    let text = String::from_utf8(r.body.clone()).unwrap();
    assert!(text.starts_with("-----BEGIN MACHINE FILE-----\n"), "{text}");
    // The JSON:API document (POST), with the body's meta winning over the query.
    let target = format!("/v1/licenses/{}/actions/check-out?ttl=3600", license.id);
    let r = keygen(
        &run,
        "POST",
        &target,
        key,
        Some(json!({ "meta": { "ttl": 7200, "encrypt": false, "include": ["entitlements", "product"] } })),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    r.assert_signed(&run.trusted);
    let doc = r.json();
    assert_eq!(doc["data"]["type"], "license-files");
    assert_eq!(doc["data"]["attributes"]["ttl"], 7200);
    assert_eq!(doc["data"]["attributes"]["algorithm"], "base64+ed25519");
    assert_eq!(
        doc["data"]["attributes"]["includes"],
        json!(["product", "entitlements"])
    );
    assert_eq!(
        doc["data"]["relationships"]["license"]["data"]["id"],
        license.id.as_str()
    );
    let certificate = doc["data"]["attributes"]["certificate"].as_str().unwrap();
    // Our own verifier opens it with the product's key.
    let opened = keywright_license::Verifier::pinned(
        &run.trusted[0],
        keywright_license::FileAlgorithm::Base64Ed25519,
        jiff::Timestamp::now(),
    )
    .kind(keywright_license::FileKind::License)
    .validate(certificate);
    assert!(opened.is_valid(), "{opened:?}");

    // Two machines fill the floating license of 2; a third is refused.
    let r = keygen(
        &run,
        "POST",
        "/v1/machines",
        key,
        Some(activation(&license.id, "fp-b")),
    )
    .await;
    assert_eq!(r.status, 201);
    let r = keygen(
        &run,
        "POST",
        "/v1/machines",
        key,
        Some(activation(&license.id, "fp-c")),
    )
    .await;
    assert_eq!(r.status, 422);
    assert_eq!(error_code(&r, &run), "MACHINE_LIMIT_EXCEEDED");
    assert_eq!(
        r.json()["errors"][0]["meta"]["supportMessage"],
        common::SUPPORT
    );
    let r = keygen(
        &run,
        "GET",
        &format!("/v1/licenses/{}/machines", license.id),
        key,
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["data"].as_array().unwrap().len(), 2);

    // Deactivate: 204, signed, the seat is free, the machine gone.
    let r = keygen(&run, "DELETE", &format!("/v1/machines/{id}"), key, None).await;
    assert_eq!(r.status, 204);
    r.assert_signed_empty(&run.trusted);
    let r = keygen(&run, "DELETE", &format!("/v1/machines/{id}"), key, None).await;
    assert_eq!(r.status, 404);
    let r = keygen(
        &run,
        "POST",
        "/v1/machines",
        key,
        Some(activation(&license.id, "fp-c")),
    )
    .await;
    assert_eq!(r.status, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_simultaneous_keygen_activations_on_ten_seats() {
    let mut f = Fixture::new();
    let p = policy(&mut f, true, Some(10));
    let license = issue(&mut f, &p);
    let run = f.serve(roomy()).await;
    let trusted = std::sync::Arc::new(run.trusted.clone());
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (client, addr, trusted) = (run.client.clone(), run.addr, trusted.clone());
        let (id, key) = (license.id.clone(), license.key.clone());
        tasks.push(tokio::spawn(async move {
            let r = keygen_at(
                &client,
                addr,
                "POST",
                "/v1/machines",
                Some(&key),
                Some(activation(&id, &format!("fp-{i:03}"))),
            )
            .await;
            r.assert_signed(&trusted);
            let code = r.json()["errors"][0]["code"].as_str().map(str::to_owned);
            (r.status, code)
        }));
    }
    let (mut created, mut refused) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            (201, None) => created += 1,
            (422, Some(code)) if code == "MACHINE_LIMIT_EXCEEDED" => refused += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((created, refused), (10, 190));
    let store = run.observer.store().path().to_owned();
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM machines WHERE status = 'active'"
        ),
        10
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_and_body_limits_are_signed_keygen_errors() {
    let mut f = Fixture::new();
    let p = policy(&mut f, true, None);
    let license = issue(&mut f, &p);
    let run = f
        .serve(ServerConfig {
            rate_per_second: 1,
            burst: 3,
            body_limit: 512,
            ..ServerConfig::default()
        })
        .await;
    let big = json!({ "meta": { "key": "x".repeat(1000) } });
    let r = keygen(
        &run,
        "POST",
        "/v1/licenses/actions/validate-key",
        None,
        Some(big),
    )
    .await;
    assert_eq!(r.status, 413);
    assert_eq!(error_code(&r, &run), "PAYLOAD_TOO_LARGE");
    let mut limited = None;
    for _ in 0..10 {
        let r = keygen(&run, "GET", "/v1/me", Some(&license.key), None).await;
        if r.status == 429 {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("a 429 after the burst");
    assert_eq!(error_code(&r, &run), "TOO_MANY_REQUESTS");
    assert_eq!(r.retry_after.as_deref(), Some("1"));
}

/// Moves a machine's last ping (and activation) `seconds` into the past, as if time
/// had passed: the server has no clock of its own to turn.
fn age_machine(run: &Running, fingerprint: &str, seconds: i64) {
    let then = keywright_license::format_time(
        jiff::Timestamp::now() - jiff::SignedDuration::from_secs(seconds),
    );
    let conn = rusqlite::Connection::open(run_store(run)).unwrap();
    conn.execute(
        "UPDATE machines SET activated_at = ?1,
             last_heartbeat_at = CASE WHEN last_heartbeat_at IS NULL THEN NULL ELSE ?1 END
         WHERE fingerprint = ?2 AND status = 'active'",
        rusqlite::params![then, fingerprint],
    )
    .unwrap();
}

fn heartbeat_policy(f: &mut Fixture, name: &str, cull: HeartbeatCullStrategy) -> Policy {
    f.kw.create_policy(
        &NewPolicy {
            product_id: f.product.id.clone(),
            name: name.into(),
            floating: true,
            max_machines: Some(2),
            require_heartbeat: true,
            heartbeat_duration: Some("1min".into()),
            heartbeat_cull_strategy: Some(cull),
            ..Default::default()
        },
        jiff::Timestamp::now(),
    )
    .unwrap()
}

async fn validate_fingerprint(run: &Running, license: &License, fp: &str) -> (bool, String) {
    let r = keygen(
        run,
        "POST",
        &format!("/v1/licenses/{}/actions/validate", license.id),
        Some(&license.key),
        Some(json!({ "meta": { "scope": { "fingerprint": fp } } })),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    r.assert_signed(&run.trusted);
    let meta = r.json()["meta"].clone();
    (
        meta["valid"].as_bool().unwrap(),
        meta["code"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_ping_die_refuse_and_free_their_seats() {
    let mut f = Fixture::new();
    let p = heartbeat_policy(&mut f, "Leased", HeartbeatCullStrategy::DeactivateDead);
    let license = issue(&mut f, &p);
    // No periodic sweep during the test: the request paths alone cull.
    let run = f
        .serve(ServerConfig {
            heartbeat_sweep: std::time::Duration::from_secs(3600),
            ..roomy()
        })
        .await;
    let key = Some(license.key.as_str());
    for fp in ["fp-a", "fp-b"] {
        let r = keygen(
            &run,
            "POST",
            "/v1/machines",
            key,
            Some(activation(&license.id, fp)),
        )
        .await;
        assert_eq!(r.status, 201, "{:?}", r.json());
        let a = &r.json()["data"]["attributes"];
        assert_eq!(a["requireHeartbeat"], true);
        assert_eq!(a["heartbeatStatus"], "NOT_STARTED");
        assert_eq!(a["heartbeatDuration"], 60);
        assert!(a["lastHeartbeat"].is_null());
    }
    assert_eq!(
        validate_fingerprint(&run, &license, "fp-a").await,
        (false, "HEARTBEAT_NOT_STARTED".into())
    );

    // A ping (by fingerprint, as by id) makes it alive and valid.
    let r = keygen(&run, "POST", "/v1/machines/fp-a/actions/ping", key, None).await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    r.assert_signed(&run.trusted);
    assert_eq!(r.json()["data"]["attributes"]["heartbeatStatus"], "ALIVE");
    assert_eq!(
        validate_fingerprint(&run, &license, "fp-a").await,
        (true, "VALID".into())
    );
    // The policy shows its settings where Keygen's does.
    let r = keygen(
        &run,
        "POST",
        &format!("/v1/licenses/{}/actions/check-out", license.id),
        key,
        Some(json!({ "meta": { "encrypt": false, "include": ["policy"] } })),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    let certificate = r.json()["data"]["attributes"]["certificate"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = certificate
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>();
    use base64::Engine;
    let outer: Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap(),
    )
    .unwrap();
    let payload: Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(outer["enc"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let policy = payload["included"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "policies")
        .unwrap()["attributes"]
        .clone();
    assert_eq!(policy["requireHeartbeat"], true);
    assert_eq!(policy["heartbeatDuration"], 60);
    assert_eq!(policy["heartbeatCullStrategy"], "DEACTIVATE_DEAD");
    assert_eq!(policy["heartbeatResurrectionStrategy"], "NO_REVIVE");
    assert_eq!(policy["heartbeatBasis"], "FROM_FIRST_PING");

    // Two minutes later both are dead: fp-a stopped pinging, fp-b never started.
    age_machine(&run, "fp-a", 120);
    age_machine(&run, "fp-b", 120);
    assert_eq!(
        validate_fingerprint(&run, &license, "fp-a").await,
        (false, "HEARTBEAT_DEAD".into())
    );
    let r = keygen(&run, "GET", "/v1/machines/fp-b", key, None).await;
    assert_eq!(r.json()["data"]["attributes"]["heartbeatStatus"], "DEAD");
    // NO_REVIVE: Keygen's 422, and the dead machine is deactivated.
    let r = keygen(&run, "POST", "/v1/machines/fp-a/actions/ping", key, None).await;
    assert_eq!(r.status, 422);
    assert_eq!(error_code(&r, &run), "MACHINE_HEARTBEAT_DEAD");
    let error = &r.json()["errors"][0];
    assert_eq!(error["detail"], "is dead");
    assert_eq!(
        error["source"]["pointer"],
        "/data/attributes/heartbeatStatus"
    );
    let r = keygen(&run, "GET", "/v1/machines/fp-a", key, None).await;
    assert_eq!(r.status, 404);
    // fp-b's seat is freed when the next activation counts: both new ones fit.
    for fp in ["fp-c", "fp-d"] {
        let r = keygen(
            &run,
            "POST",
            "/v1/machines",
            key,
            Some(activation(&license.id, fp)),
        )
        .await;
        assert_eq!(r.status, 201, "{fp}: {:?}", r.json());
    }
    let store = run_store(&run);
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM audit_events WHERE action = 'machine.deactivate'
                 AND actor = 'server' AND detail LIKE '%\"reason\":\"heartbeat\"%'"
        ),
        2
    );
    assert!(run.observer.check_audit().unwrap().intact);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_sweeps_dead_machines_and_keep_dead_keeps_them() {
    let mut f = Fixture::new();
    let culled = heartbeat_policy(&mut f, "Culled", HeartbeatCullStrategy::DeactivateDead);
    let kept = heartbeat_policy(&mut f, "Kept", HeartbeatCullStrategy::KeepDead);
    let culled = issue(&mut f, &culled);
    let kept = issue(&mut f, &kept);
    let run = f
        .serve(ServerConfig {
            heartbeat_sweep: std::time::Duration::from_millis(100),
            ..roomy()
        })
        .await;
    for (license, fp) in [(&culled, "fp-culled"), (&kept, "fp-kept")] {
        let r = keygen(
            &run,
            "POST",
            "/v1/machines",
            Some(&license.key),
            Some(activation(&license.id, fp)),
        )
        .await;
        assert_eq!(r.status, 201, "{:?}", r.json());
        age_machine(&run, fp, 120);
    }
    let store = run_store(&run);
    let active = |fp: &str| {
        count(
            &store,
            &format!(
                "SELECT count(*) FROM machines WHERE fingerprint = '{fp}' AND status = 'active'"
            ),
        )
    };
    let started = std::time::Instant::now();
    while active("fp-culled") == 1 && started.elapsed() < std::time::Duration::from_secs(10) {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(active("fp-culled"), 0, "the sweep did not cull");
    assert_eq!(active("fp-kept"), 1);
    // KEEP_DEAD: it keeps its seat and fails validation.
    assert_eq!(
        validate_fingerprint(&run, &kept, "fp-kept").await,
        (false, "HEARTBEAT_DEAD".into())
    );
    assert!(run.observer.check_audit().unwrap().intact);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_activations_count_seats_freed_by_dead_machines_exactly() {
    let mut f = Fixture::new();
    let p =
        f.kw.create_policy(
            &NewPolicy {
                product_id: f.product.id.clone(),
                name: "Ten leased".into(),
                floating: true,
                max_machines: Some(10),
                require_heartbeat: true,
                heartbeat_duration: Some("1min".into()),
                ..Default::default()
            },
            jiff::Timestamp::now(),
        )
        .unwrap();
    let license = issue(&mut f, &p);
    let run = f
        .serve(ServerConfig {
            heartbeat_sweep: std::time::Duration::from_secs(3600),
            ..roomy()
        })
        .await;
    for i in 0..10 {
        let r = keygen(
            &run,
            "POST",
            "/v1/machines",
            Some(&license.key),
            Some(activation(&license.id, &format!("old-{i}"))),
        )
        .await;
        assert_eq!(r.status, 201);
    }
    // Four of them die: exactly four seats come free, however many ask at once.
    for i in 0..4 {
        age_machine(&run, &format!("old-{i}"), 120);
    }
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (client, addr) = (run.client.clone(), run.addr);
        let (id, key) = (license.id.clone(), license.key.clone());
        tasks.push(tokio::spawn(async move {
            keygen_at(
                &client,
                addr,
                "POST",
                "/v1/machines",
                Some(&key),
                Some(activation(&id, &format!("new-{i:03}"))),
            )
            .await
            .status
        }));
    }
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            201 => created += 1,
            422 => {}
            other => panic!("{other}"),
        }
    }
    assert_eq!(created, 4);
    let store = run_store(&run);
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM machines WHERE status = 'active'"
        ),
        10
    );
    assert!(run.observer.check_audit().unwrap().intact);
}
