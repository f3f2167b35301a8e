//! The activation server over HTTP on loopback, with a real SQLite store and the
//! memory vault: every endpoint and status code, malformed and oversized input, rate
//! limiting, concurrent activations, and the signature on every answer.

mod common;

use common::*;
use jiff::{SignedDuration, Timestamp};
use keywright_core::{KeyAlgorithm, NewProduct, NewSigningKey, Vault};
use keywright_license::response::ResponseError;
use keywright_server::{ServerConfig, ServerError};
use serde_json::{json, Value};

fn machines(run: &Running, license_id: &str) -> usize {
    run.observer
        .list_machines(license_id, jiff::Timestamp::now())
        .unwrap()
        .into_iter()
        .filter(|m| m.status == keywright_core::MachineStatus::Active)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_answers_201_for_an_activated_machine_and_404_otherwise() {
    let mut f = Fixture::new();
    let policy = f.policy("Ten seats", true, Some(10));
    let license = f.issue(&policy);
    let suspended = f.issue(&policy);
    f.kw.suspend_license(&suspended.id, Timestamp::now())
        .unwrap();
    let revoked = f.issue(&policy);
    f.kw.revoke_license(&revoked.id, Timestamp::now()).unwrap();
    let other =
        f.kw.create_product(
            &NewProduct {
                name: "Other App".into(),
                ..Default::default()
            },
            Timestamp::now(),
        )
        .unwrap();
    let product_code = f.product.code.clone();
    let run = f.serve(roomy()).await;

    let r = run.activate(&license.key, "hw-1").await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));

    // Activated machine: 201 {"result":"ok"}, exactly mini-key-server's body.
    let r = run.get(&run.check_target(&license.key, Some("hw-1"))).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body, br#"{"result":"ok"}"#);
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    r.assert_signed(&run.trusted);

    // No hwid: the key itself is checked.
    let r = run.get(&run.check_target(&license.key, None)).await;
    assert_eq!(r.status, 201);
    r.assert_signed(&run.trusted);

    // app_id may be the product's code as well as its id.
    let target = format!(
        "/api/check?token={}&app_id={}&hwid=hw-1",
        enc(&license.key),
        enc(&product_code)
    );
    let r = run.get(&target).await;
    assert_eq!(r.status, 201);
    r.assert_signed(&run.trusted);

    // A machine never activated: 404 invalid key, with the support message.
    let r = run
        .get(&run.check_target(&license.key, Some("hw-never")))
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json(),
        json!({ "result": "failure", "error": "invalid key", "reason": "NO_MACHINE",
                "support_message": SUPPORT })
    );
    r.assert_signed(&run.trusted);

    for (token, reason) in [
        ("NO-SUCH-KEY", "NOT_FOUND"),
        (suspended.key.as_str(), "SUSPENDED"),
        (revoked.key.as_str(), "REVOKED"),
    ] {
        let r = run.get(&run.check_target(token, None)).await;
        assert_eq!(r.status, 404, "{token}");
        assert_eq!(r.json()["error"], "invalid key");
        assert_eq!(r.json()["reason"], reason);
        assert_eq!(r.json()["support_message"], SUPPORT);
        r.assert_signed(&run.trusted);
    }

    // The license belongs to another product than the app asking: the answer is
    // signed by the app's product (the one the client trusts), and says nothing more.
    let target = format!(
        "/api/check?token={}&app_id={}",
        enc(&license.key),
        enc(&other.id)
    );
    let r = run.get(&target).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["reason"], "PRODUCT_MISMATCH");
    assert!(
        r.json().get("support_message").is_none(),
        "Other App has none"
    );
    r.assert_signed(&run.trusted);

    // An app_id no product has: 404, unsigned (there is no key to sign with).
    let target = format!("/api/check?token={}&app_id=nope", enc(&license.key));
    let r = run.get(&target).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["reason"], "PRODUCT_MISMATCH");
    r.assert_unsigned();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_licenses_fail_check_activate_and_validate() {
    let long_ago = Timestamp::now() - SignedDuration::from_hours(24 * 800);
    let mut f = Fixture::at(long_ago);
    let policy = f.policy_at("One year", true, Some(5), long_ago);
    let license = f.issue_at(&policy, long_ago);
    let run = f.serve(roomy()).await;

    let r = run.get(&run.check_target(&license.key, None)).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["reason"], "EXPIRED");
    r.assert_signed(&run.trusted);

    let r = run.activate(&license.key, "hw-1").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"], "invalid activation token");
    assert_eq!(r.json()["reason"], "EXPIRED");
    r.assert_signed(&run.trusted);
    assert_eq!(machines(&run, &license.id), 0);

    let r = run
        .post_json(
            "/api/validate",
            &json!({ "key": license.key, "machine_id": "hw-1" }),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({ "valid": false, "reason": "EXPIRED", "support_message": SUPPORT })
    );
    r.assert_signed(&run.trusted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activate_counts_seats_and_is_idempotent_per_hwid() {
    let mut f = Fixture::new();
    let three = f.policy("Three seats", true, Some(3));
    let unlimited = f.policy("Unlimited", true, None);
    let locked = f.policy("Node-locked", false, None);
    let license = f.issue(&three);
    let open = f.issue(&unlimited);
    let single = f.issue(&locked);
    let suspended = f.issue(&three);
    f.kw.suspend_license(&suspended.id, Timestamp::now())
        .unwrap();
    let store = f.store_path();
    let audit_before = count(&store, "SELECT count(*) FROM audit_events");
    let run = f.serve(roomy()).await;

    let r = run.activate(&license.key, "hw-1").await;
    assert_eq!(r.status, 201);
    let body = r.json();
    assert_eq!(body["result"], "ok");
    assert_eq!(body["remainingActivations"], 2);
    let machine_id = body["machineId"].as_str().unwrap().to_owned();
    r.assert_signed(&run.trusted);

    // The same hwid again takes no second seat.
    let r = run.activate(&license.key, "hw-1").await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["remainingActivations"], 2);
    assert_eq!(r.json()["machineId"], machine_id.as_str());
    assert_eq!(machines(&run, &license.id), 1);

    // JSON bodies work like forms.
    let r = run
        .post_json(
            "/api/activate",
            &json!({ "token": license.key, "app_id": run.product.id, "hwid": "hw-2",
                     "machine": "LAB-PC-08", "user": "grace" }),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["remainingActivations"], 1);
    r.assert_signed(&run.trusted);
    let r = run.activate(&license.key, "hw-3").await;
    assert_eq!(r.json()["remainingActivations"], 0);

    // Out of seats: 410, with the support message; nothing written.
    let r = run.activate(&license.key, "hw-4").await;
    assert_eq!(r.status, 410);
    assert_eq!(
        r.json(),
        json!({ "result": "failure", "error": "key is out of activations",
                "support_message": SUPPORT })
    );
    r.assert_signed(&run.trusted);
    assert_eq!(machines(&run, &license.id), 3);

    // The machine rows carry what the client said.
    let m = run.observer.find_machine(&machine_id).unwrap();
    assert_eq!(m.fingerprint, "hw-1");
    assert_eq!(m.hostname.as_deref(), Some("LAB-PC-07"));
    assert_eq!(m.os_user.as_deref(), Some("ada"));

    // Unlimited: -1.
    for hwid in ["a", "b", "c", "d"] {
        let r = run.activate(&open.key, hwid).await;
        assert_eq!(r.status, 201);
        assert_eq!(r.json()["remainingActivations"], -1);
    }

    // Node-locked: one machine.
    let r = run.activate(&single.key, "only").await;
    assert_eq!(
        (r.status, r.json()["remainingActivations"].clone()),
        (201, json!(0))
    );
    let r = run.activate(&single.key, "second").await;
    assert_eq!(r.status, 410);

    // Unknown and suspended keys: 404 invalid activation token.
    for (token, reason) in [
        ("NO-SUCH-KEY", "NOT_FOUND"),
        (suspended.key.as_str(), "SUSPENDED"),
    ] {
        let r = run.activate(token, "hw-9").await;
        assert_eq!(r.status, 404);
        assert_eq!(r.json()["error"], "invalid activation token");
        assert_eq!(r.json()["reason"], reason);
        assert_eq!(r.json()["support_message"], SUPPORT);
        r.assert_signed(&run.trusted);
    }

    // Each new seat and each re-activation wrote its audit row; the chain holds.
    let activations = count(
        &store,
        "SELECT count(*) FROM audit_events WHERE action = 'machine.activate'
             AND json_extract(detail, '$.via') = 'server'",
    );
    assert_eq!(activations, 3 + 4 + 1);
    let reactivations = count(
        &store,
        "SELECT count(*) FROM audit_events WHERE action = 'machine.reactivate'",
    );
    assert_eq!(reactivations, 1);
    assert_eq!(
        count(&store, "SELECT count(*) FROM audit_events"),
        audit_before + 9
    );
    run.observer.verify_audit().unwrap();

    // And every request is in the server log, newest first.
    let events = run.events(100).await;
    assert_eq!(events.len(), 3 + 2 + 4 + 2 + 2);
    assert!(events.windows(2).all(|w| w[0].seq > w[1].seq));
    let last = &events[0];
    assert_eq!(
        (last.endpoint.as_str(), last.status, last.result.as_str()),
        ("activate", 404, "SUSPENDED")
    );
    let first = events.last().unwrap();
    assert_eq!(first.endpoint, "activate");
    assert_eq!(first.status, 201);
    assert_eq!(first.result, "ok");
    assert_eq!(first.hwid.as_deref(), Some("hw-1"));
    assert_eq!(first.machine.as_deref(), Some("LAB-PC-07"));
    assert_eq!(first.user.as_deref(), Some("ada"));
    assert_eq!(first.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(first.license_id.as_deref(), Some(license.id.as_str()));
    assert_eq!(first.machine_id.as_deref(), Some(machine_id.as_str()));
    let out_of_seats = events.iter().find(|e| e.status == 410).unwrap();
    assert_eq!(out_of_seats.result, "OUT_OF_ACTIVATIONS");
    assert_eq!(run.events(2).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_gives_the_reason() {
    let mut f = Fixture::new();
    let policy = f.policy("Two seats", true, Some(2));
    let license = f.issue(&policy);
    // The window's connection reads the same keychain (the store's audit key).
    let vault = f.vault.clone();
    let neighbour = f.issue(&policy);
    let suspended = f.issue(&policy);
    let run = f.serve(roomy()).await;
    let r = run.activate(&license.key, "hw-1").await;
    let machine_id = r.json()["machineId"].as_str().unwrap().to_owned();
    run.activate(&neighbour.key, "hw-n").await;
    run.activate(&suspended.key, "hw-s").await;
    {
        // Suspended while the server runs, from another connection (the window).
        let mut admin = keywright_core::Keywright::with_vault(
            keywright_core::Store::open(run.observer.store().path()).unwrap(),
            Box::new(vault),
            "admin",
        );
        admin
            .suspend_license(&suspended.id, Timestamp::now())
            .unwrap();
    }

    let cases = [
        (
            json!({ "key": license.key, "machine_id": "hw-1" }),
            true,
            "VALID",
        ),
        (
            json!({ "key": license.key, "machine_id": machine_id }),
            true,
            "VALID",
        ),
        (json!({ "key": license.key }), true, "VALID"),
        (
            json!({ "key": license.key, "machine_id": "hw-2" }),
            false,
            "NO_MACHINE",
        ),
        (
            json!({ "key": license.key, "machine_id": "hw-n" }),
            false,
            "FINGERPRINT_MISMATCH",
        ),
        (
            json!({ "key": suspended.key, "machine_id": "hw-s" }),
            false,
            "SUSPENDED",
        ),
        (
            json!({ "key": "NO-SUCH-KEY", "machine_id": "hw-1", "app_id": run.product.id }),
            false,
            "NOT_FOUND",
        ),
    ];
    for (body, valid, reason) in cases {
        let r = run.post_json("/api/validate", &body).await;
        assert_eq!(r.status, 200, "{body}");
        assert_eq!(r.json()["valid"], valid, "{body}");
        assert_eq!(r.json()["reason"], reason, "{body}");
        assert_eq!(
            r.json().get("support_message").and_then(Value::as_str),
            (!valid).then_some(SUPPORT),
            "{body}"
        );
        r.assert_signed(&run.trusted);
    }

    // Form bodies too.
    let r = run
        .form(
            "/api/validate",
            &[("key", &license.key), ("machine_id", "hw-1")],
        )
        .await;
    assert_eq!(r.json(), json!({ "valid": true, "reason": "VALID" }));
    r.assert_signed(&run.trusted);

    // An unknown key without app_id: no product to sign with.
    let r = run
        .post_json("/api/validate", &json!({ "key": "NO-SUCH-KEY" }))
        .await;
    assert_eq!(r.json(), json!({ "valid": false, "reason": "NOT_FOUND" }));
    r.assert_unsigned();

    let validations = run
        .events(100)
        .await
        .into_iter()
        .filter(|e| e.endpoint == "validate")
        .count();
    assert_eq!(validations, 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_a_json_4xx_never_a_500() {
    let mut f = Fixture::new();
    let policy = f.policy("Ten seats", true, Some(10));
    let license = f.issue(&policy);
    let store = f.store_path();
    let run = f.serve(roomy()).await;
    let app = run.product.id.clone();
    let key = license.key.clone();

    let long = "x".repeat(300);
    let huge = "y".repeat(5000);
    // (method, target, content type, body, status, words of the error)
    type Case<'a> = (&'a str, String, Option<&'a str>, Vec<u8>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "GET",
            "/api/check".into(),
            None,
            vec![],
            400,
            "token is required",
        ),
        (
            "GET",
            format!("/api/check?token={}", enc(&key)),
            None,
            vec![],
            400,
            "app_id is required",
        ),
        (
            "GET",
            format!("/api/check?token=a&token=b&app_id={app}"),
            None,
            vec![],
            400,
            "malformed query",
        ),
        (
            "GET",
            format!("/api/check?token=%20%20&app_id={app}"),
            None,
            vec![],
            400,
            "token is required",
        ),
        (
            "GET",
            format!("/api/check?token={huge}&app_id={app}"),
            None,
            vec![],
            400,
            "token is too long",
        ),
        (
            "POST",
            "/api/activate".into(),
            Some("text/plain"),
            b"token=a".to_vec(),
            415,
            "application/x-www-form-urlencoded or application/json",
        ),
        (
            "POST",
            "/api/activate".into(),
            Some("application/json"),
            br#"{"token": "#.to_vec(),
            400,
            "malformed JSON body",
        ),
        (
            "POST",
            "/api/activate".into(),
            Some("application/json"),
            br#"{"token": 12, "app_id": "a", "hwid": "h"}"#.to_vec(),
            400,
            "malformed JSON body",
        ),
        (
            "POST",
            "/api/activate".into(),
            Some("application/json"),
            br#"["token"]"#.to_vec(),
            400,
            "malformed JSON body",
        ),
        (
            "POST",
            "/api/activate".into(),
            Some("application/x-www-form-urlencoded"),
            format!("token={}&app_id={app}", enc(&key)).into_bytes(),
            400,
            "hwid is required",
        ),
        (
            "POST",
            "/api/activate".into(),
            Some("application/x-www-form-urlencoded"),
            format!("token={}&app_id={app}&hwid=a%01b", enc(&key)).into_bytes(),
            400,
            "hwid contains a control character (U+0001 SOH)",
        ),
        (
            "POST",
            "/api/activate".into(),
            Some("application/x-www-form-urlencoded"),
            format!("token={}&app_id={app}&hwid={long}", enc(&key)).into_bytes(),
            400,
            "fingerprint is too long",
        ),
        (
            "POST",
            "/api/activate".into(),
            Some("application/x-www-form-urlencoded"),
            vec![0xff, 0xfe, b'=', 0x80],
            400,
            "the field name %FF%FE is not UTF-8",
        ),
        (
            "POST",
            "/api/validate".into(),
            Some("application/json"),
            br#"{"machine_id": "x"}"#.to_vec(),
            400,
            "key is required",
        ),
        (
            "GET",
            "/api/activate".into(),
            None,
            vec![],
            405,
            "method not allowed",
        ),
        (
            "POST",
            "/api/check".into(),
            Some("application/json"),
            b"{}".to_vec(),
            405,
            "method not allowed",
        ),
        (
            "GET",
            "/admin".into(),
            None,
            vec![],
            404,
            "no such endpoint",
        ),
        (
            "POST",
            "/api/activate".into(),
            Some("application/x-www-form-urlencoded"),
            vec![b'a'; 20 * 1024],
            413,
            "too large",
        ),
        (
            "POST",
            "/api/validate".into(),
            Some("application/json"),
            format!("{{\"key\": \"{}\"}}", "k".repeat(17 * 1024)).into_bytes(),
            413,
            "too large",
        ),
    ];
    for (method, target, content_type, body, status, error) in cases {
        let r = run.send(method, &target, content_type, body).await;
        let text = String::from_utf8_lossy(&r.body).into_owned();
        assert_eq!(r.status, status, "{method} {target}: {text}");
        let json = r.json();
        assert_eq!(json["result"], "failure", "{text}");
        assert!(
            json["error"].as_str().unwrap().contains(error),
            "{method} {target}: expected {error:?} in {text}"
        );
        r.assert_unsigned();
    }
    // Nothing was activated or recorded by any of them.
    run.flush().await;
    assert_eq!(count(&store, "SELECT count(*) FROM machines"), 0);
    assert_eq!(count(&store, "SELECT count(*) FROM server_events"), 0);
    // And the server still answers.
    assert_eq!(run.activate(&key, "hw-1").await.status, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_over_the_rate_get_429() {
    let mut f = Fixture::new();
    let policy = f.policy("Ten seats", true, Some(10));
    let license = f.issue(&policy);
    let run = f
        .serve(ServerConfig {
            rate_per_second: 1,
            burst: 5,
            ..ServerConfig::default()
        })
        .await;
    let mut statuses = Vec::new();
    let started = std::time::Instant::now();
    for _ in 0..12 {
        let r = run.get(&run.check_target(&license.key, None)).await;
        if r.status == 429 {
            assert_eq!(r.retry_after.as_deref(), Some("1"));
            assert_eq!(
                r.json(),
                json!({ "result": "failure", "error": "too many requests; slow down" })
            );
        }
        statuses.push(r.status);
    }
    // The burst passes, then one request per second refills; the rest is refused.
    let refills = started.elapsed().as_secs() as usize + 1;
    let passed = statuses.iter().filter(|s| **s == 201).count();
    assert!((5..=5 + refills).contains(&passed), "{statuses:?}");
    assert_eq!(passed + statuses.iter().filter(|s| **s == 429).count(), 12);
    assert_eq!(&statuses[..5], &[201; 5]);
    // Refused requests are not recorded.
    assert_eq!(run.events(100).await.len(), passed);

    // After a pause the client may ask again.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        run.get(&run.check_target(&license.key, None)).await.status,
        201
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_proxy_each_forwarded_client_has_its_own_budget() {
    let mut f = Fixture::new();
    let policy = f.policy("Ten seats", true, Some(10));
    let license = f.issue(&policy);
    let run = f
        .serve(ServerConfig {
            rate_per_second: 1,
            burst: 2,
            trust_forwarded_for: true,
            ..ServerConfig::default()
        })
        .await;
    let url = run.url(&run.check_target(&license.key, None));
    let status = |forwarded: &'static str| {
        let req = run
            .client
            .get(&url)
            .header("x-forwarded-for", forwarded)
            .send();
        async move { req.await.unwrap().status().as_u16() }
    };
    // The proxy appends the address it saw; a client-supplied first entry is ignored.
    assert_eq!(status("1.1.1.1, 203.0.113.5").await, 201);
    assert_eq!(status("2.2.2.2, 203.0.113.5").await, 201);
    assert_eq!(status("203.0.113.5").await, 429);
    assert_eq!(status("203.0.113.6").await, 201);
    let ips: Vec<_> = run
        .events(10)
        .await
        .into_iter()
        .map(|e| e.ip.unwrap())
        .collect();
    assert_eq!(ips, ["203.0.113.6", "203.0.113.5", "203.0.113.5"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_simultaneous_activations_on_ten_seats() {
    let mut f = Fixture::new();
    let policy = f.policy("Ten seats", true, Some(10));
    let license = f.issue(&policy);
    let store = f.store_path();
    let run = f.serve(roomy()).await;

    let mut tasks = Vec::new();
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(200));
    for i in 0..200 {
        let client = common::client();
        let addr = run.addr;
        let barrier = barrier.clone();
        let body = format!(
            "token={}&app_id={}&machine=PC-{i}&user=u{i}&hwid=hw-{i:03}",
            enc(&license.key),
            enc(&run.product.id)
        );
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            send(
                &client,
                addr,
                "POST",
                "/api/activate",
                Some("application/x-www-form-urlencoded"),
                body.into_bytes(),
            )
            .await
        }));
    }
    let mut replies = Vec::new();
    for t in tasks {
        replies.push(t.await.unwrap());
    }
    let created: Vec<_> = replies.iter().filter(|r| r.status == 201).collect();
    let gone = replies.iter().filter(|r| r.status == 410).count();
    assert_eq!((created.len(), gone), (10, 190));
    // Every answer is signed; the ten successes count the seats down 9..0.
    for r in &replies {
        r.assert_signed(&run.trusted);
    }
    let mut remaining: Vec<i64> = created
        .iter()
        .map(|r| r.json()["remainingActivations"].as_i64().unwrap())
        .collect();
    remaining.sort_unstable();
    assert_eq!(remaining, (0..10).collect::<Vec<_>>());
    assert_eq!(machines(&run, &license.id), 10);
    assert_eq!(count(&store, "SELECT count(*) FROM machines"), 10);
    assert_eq!(
        count(&store, "SELECT count(DISTINCT fingerprint) FROM machines"),
        10
    );
    run.flush().await;
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM server_events WHERE status = 410"
        ),
        190
    );
    run.observer.verify_audit().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_product_key_while_running_signs_with_the_new_key() {
    let mut f = Fixture::new();
    let policy = f.policy("Ten seats", true, Some(10));
    let license = f.issue(&policy);
    let vault = f.vault.clone();
    let old_public = f.public.clone();
    let mut run = f.serve(roomy()).await;
    let r = run.get(&run.check_target(&license.key, None)).await;
    r.assert_signed(std::slice::from_ref(&old_public));

    let mut admin = keywright_core::Keywright::with_vault(
        keywright_core::Store::open(run.observer.store().path()).unwrap(),
        Box::new(vault),
        "admin",
    );
    let new_key = admin
        .create_signing_key(
            &NewSigningKey {
                name: "Next".into(),
                algorithm: KeyAlgorithm::Ed25519,
            },
            Timestamp::now(),
        )
        .unwrap();
    admin
        .set_product_signing_key(&run.product.id, &new_key.id, Timestamp::now())
        .unwrap();
    let new_public = admin.public_key(&new_key.kid).unwrap();

    let r = run.get(&run.check_target(&license.key, None)).await;
    assert_eq!(r.status, 201);
    r.assert_signed(std::slice::from_ref(&new_public));
    assert!(matches!(
        r.verify_body(&r.body, &[old_public]),
        Err(ResponseError::UnknownKey(_))
    ));

    // Stopping releases the port.
    let addr = run.addr;
    run.stop().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_cannot_read_its_keys_does_not_start() {
    let f = Fixture::new();
    let kid = f.public.kid();
    f.vault.remove(&kid).unwrap();
    let err = keywright_server::start(f.kw, "127.0.0.1:0".parse().unwrap(), roomy())
        .await
        .unwrap_err();
    match err {
        ServerError::Core(e) => assert_eq!(e.code, keywright_core::ErrorCode::KeychainEntryMissing),
        other => panic!("{other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_answer_carries_private_key_material() {
    use base64::Engine as _;
    let mut f = Fixture::new();
    let policy = f.policy("One seat", false, None);
    let license = f.issue(&policy);
    let seed = f.vault.get(&f.public.kid()).unwrap();
    let needles = [
        hex::encode(&*seed),
        base64::engine::general_purpose::STANDARD.encode(&*seed),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&*seed),
    ];
    let run = f.serve(roomy()).await;
    let replies = [
        run.activate(&license.key, "hw-1").await,
        run.activate(&license.key, "hw-2").await,
        run.activate("NO-SUCH-KEY", "hw-3").await,
        run.get(&run.check_target(&license.key, Some("hw-1"))).await,
        run.get(&run.check_target(&license.key, Some("hw-9"))).await,
        run.post_json(
            "/api/validate",
            &json!({ "key": license.key, "machine_id": "hw-1" }),
        )
        .await,
        run.post_json("/api/validate", &json!({ "key": 1 })).await,
        run.get("/api/check").await,
    ];
    assert_eq!(
        replies.iter().map(|r| r.status).collect::<Vec<_>>(),
        [201, 410, 404, 201, 404, 200, 400, 400]
    );
    for r in &replies {
        let text = format!("{}{}", r.all_headers, String::from_utf8_lossy(&r.body));
        assert!(text.len() > 20);
        for needle in &needles {
            assert!(!text.contains(needle.as_str()), "key material in {text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_without_length_is_cut_at_the_limit_too() {
    let mut f = Fixture::new();
    let policy = f.policy("Ten seats", true, Some(10));
    f.issue(&policy);
    let run = f.serve(roomy()).await;
    let addr = run.addr;
    let text = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        let head = format!(
            "POST /api/activate HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).unwrap();
        let chunk = vec![b' '; 4096];
        // Up to 40 KiB in 4 KiB chunks; the server may answer and close before the end.
        for _ in 0..10 {
            let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
            framed.extend_from_slice(&chunk);
            framed.extend_from_slice(b"\r\n");
            if stream.write_all(&framed).is_err() {
                break;
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n");
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw);
        String::from_utf8_lossy(&raw).into_owned()
    })
    .await
    .unwrap();
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(
        text.contains(r#""error":"request body too large""#),
        "{text}"
    );
}

/// Sends `raw` bytes as one HTTP/1.1 request over a fresh connection and returns
/// (status, content type, body) of the answer.
async fn raw_exchange(addr: std::net::SocketAddr, raw: Vec<u8>) -> (u16, String, Vec<u8>) {
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        // The server may answer and close before it has read everything.
        let _ = stream.write_all(&raw);
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer).into_owned();
        let (head, body) = text
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("no answer head: {text:?}"));
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{head}"));
        let content_type = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-type")
                    .then(|| value.trim().to_owned())
            })
            .unwrap_or_default();
        (status, content_type, body.as_bytes().to_vec())
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_body_is_json_even_from_the_http_layer() {
    let mut f = Fixture::new();
    let policy = f.policy("Ten seats", true, Some(10));
    f.issue(&policy);
    let run = f.serve(roomy()).await;
    let host = run.addr.to_string();
    let get = |target: &[u8], extra: &str| {
        let mut raw = b"GET ".to_vec();
        raw.extend_from_slice(target);
        raw.extend_from_slice(
            format!(" HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n").as_bytes(),
        );
        raw
    };
    let long_uri = format!("/api/check?token={}&app_id=x", "a".repeat(70_000));
    let many_headers: String = (0..120).map(|i| format!("X-Filler-{i}: {i}\r\n")).collect();
    let huge_header = format!("X-Huge: {}\r\n", "h".repeat(500_000));
    // (what, request bytes, status)
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("a 70,000-byte URI", get(long_uri.as_bytes(), ""), 414),
        (
            "a raw 0xFF byte in the query",
            get(b"/api/check?token=\xff&app_id=x", ""),
            400,
        ),
        ("120 headers", get(b"/api/check", &many_headers), 431),
        ("a 500 KB header", get(b"/api/check", &huge_header), 431),
        (
            "a request line that is not HTTP",
            b"HELLO THERE\r\n\r\n".to_vec(),
            400,
        ),
        (
            "a header name with a space",
            get(b"/api/check", "Bad Header: x\r\n"),
            400,
        ),
        ("an unknown path", get(b"/nowhere", ""), 404),
        (
            "a percent escape that is not UTF-8 in the path",
            get(b"/api/%FF", ""),
            404,
        ),
        (
            "an unknown method",
            format!("BREW /api/check HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
                .into_bytes(),
            405,
        ),
    ];
    for (what, raw, status) in cases {
        let (got, content_type, body) = raw_exchange(run.addr, raw).await;
        let text = String::from_utf8_lossy(&body).into_owned();
        println!("{what}: {got} {text}");
        assert_eq!(got, status, "{what}: {text}");
        assert!(
            content_type.starts_with("application/json"),
            "{what}: {content_type:?}"
        );
        let json: Value = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text:?}"));
        assert_eq!(json["result"], "failure", "{what}: {text}");
        assert!(
            !json["error"].as_str().unwrap().is_empty(),
            "{what}: {text}"
        );
    }
    // The server still answers.
    assert_eq!(run.get("/api/check").await.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_that_are_not_utf8_are_refused_by_name() {
    let mut f = Fixture::new();
    let policy = f.policy("Ten seats", true, Some(10));
    let license = f.issue(&policy);
    let store = f.store_path();
    let run = f.serve(roomy()).await;
    let app = run.product.id.clone();
    let key = enc(&license.key);
    let form = |body: String| {
        run.send(
            "POST",
            "/api/activate",
            Some("application/x-www-form-urlencoded"),
            body.into_bytes(),
        )
    };
    // Two different byte strings that a lossy decoder makes the same fingerprint.
    for hwid in ["%FF%FEx", "%FE%FFx"] {
        let r = form(format!("token={key}&app_id={app}&hwid={hwid}")).await;
        let text = String::from_utf8_lossy(&r.body).into_owned();
        assert_eq!(r.status, 400, "{hwid}: {text}");
        let json = r.json();
        assert_eq!(json["result"], "failure");
        assert!(json["error"].as_str().unwrap().contains("hwid"), "{text}");
        assert!(json["error"].as_str().unwrap().contains("UTF-8"), "{text}");
        assert!(
            json["message"]["hwid"].as_str().unwrap().contains("UTF-8"),
            "{text}"
        );
        r.assert_unsigned();
    }
    // In the query, and in a field name; and a `+` or a valid escape still decodes.
    for (target, field) in [
        (format!("/api/check?token=%C3%28&app_id={app}"), "token"),
        (
            format!("/api/check?token={key}&app_id={app}&user=a%80"),
            "user",
        ),
        (format!("/api/check?token={key}&app_id={app}&%FF=1"), "%FF"),
    ] {
        let r = run.get(&target).await;
        let text = String::from_utf8_lossy(&r.body).into_owned();
        assert_eq!(r.status, 400, "{target}: {text}");
        assert!(
            r.json()["error"].as_str().unwrap().contains(field),
            "{text}"
        );
        assert!(r.json()["message"][field].is_string(), "{text}");
    }
    let r = form(format!(
        "token={key}&app_id={app}&hwid=caf%C3%A9+lab&user=%FF"
    ))
    .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["message"]["user"].is_string(), "{:?}", r.json());
    let r = form(format!("token={key}&app_id={app}&hwid=caf%C3%A9+lab")).await;
    assert_eq!(r.status, 201, "{:?}", r.json());
    run.flush().await;
    let fingerprints: Vec<String> = {
        let conn = rusqlite::Connection::open(&store).unwrap();
        let mut stmt = conn.prepare("SELECT fingerprint FROM machines").unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(fingerprints, ["café lab"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_id_may_be_a_json_number_as_mini_key_server_clients_send_it() {
    let mut f = Fixture::new();
    let numbered =
        f.kw.create_product(
            &NewProduct {
                name: "Numbered".into(),
                code: Some("7".into()),
                ..Default::default()
            },
            Timestamp::now(),
        )
        .unwrap();
    let policy =
        f.kw.create_policy(
            &keywright_core::NewPolicy {
                product_id: numbered.id.clone(),
                name: "Seats".into(),
                floating: true,
                max_machines: Some(5),
                ..Default::default()
            },
            Timestamp::now(),
        )
        .unwrap();
    let license = f.issue(&policy);
    let run = f.serve(roomy()).await;
    let key = license.key.clone();

    let r = run
        .post_json(
            "/api/activate",
            &json!({ "token": key, "app_id": 7, "hwid": "hw-1" }),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.json());
    r.assert_signed(&run.trusted);
    let r = run
        .post_json(
            "/api/validate",
            &json!({ "key": key, "app_id": 7, "machine_id": "hw-1" }),
        )
        .await;
    assert_eq!(r.json()["valid"], true, "{:?}", r.json());
    // A number that names another product is an ordinary mismatch, not a 400.
    let r = run
        .post_json(
            "/api/activate",
            &json!({ "token": key, "app_id": 8, "hwid": "hw-2" }),
        )
        .await;
    assert_eq!(r.status, 404, "{:?}", r.json());

    // Not ids: refused by name, in mini-key-server's shape too.
    for (value, words) in [
        (json!(7.5), "whole number"),
        (json!(-7), "whole number"),
        (json!(true), "string or a whole number"),
        (json!([7]), "string or a whole number"),
        (json!(1e300), "whole number"),
    ] {
        let r = run
            .post_json(
                "/api/activate",
                &json!({ "token": key, "app_id": value, "hwid": "hw-3" }),
            )
            .await;
        let text = String::from_utf8_lossy(&r.body).into_owned();
        assert_eq!(r.status, 400, "{value}: {text}");
        let json = r.json();
        assert!(json["error"].as_str().unwrap().contains("app_id"), "{text}");
        assert!(
            json["error"].as_str().unwrap().contains(words),
            "{value}: {text}"
        );
        assert!(json["message"]["app_id"].is_string(), "{text}");
    }
    // Other fields stay strings (a numeric token is a client bug).
    let r = run
        .post_json(
            "/api/activate",
            &json!({ "token": 12, "app_id": 7, "hwid": "hw-3" }),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["message"]["token"].is_string(), "{:?}", r.json());
    assert_eq!(machines(&run, &license.id), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_says_the_store_answers() {
    let f = Fixture::new();
    let run = f.serve(roomy()).await;
    let r = run.get("/health").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "ok");
    assert_eq!(r.json()["store"], "sqlite");
}
