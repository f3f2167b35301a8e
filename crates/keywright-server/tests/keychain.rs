//! The server over a store whose keys are in the real OS keychain (Secret Service on
//! Linux; run through scripts/test.sh or `dbus-run-session -- bash /tmp/kr.sh`), as
//! `keywright serve` runs it: the key is read once at start and kept, so the server
//! keeps signing even after the keychain entry is gone.

mod common;

use common::*;
use jiff::Timestamp;
use keywright_core::*;

fn require_keychain_session() {
    if cfg!(target_os = "linux") && std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        panic!(
            "this test uses the real Secret Service: run it through scripts/test.sh, \
             which starts gnome-keyring in a D-Bus session"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_a_keychain_store_and_reads_the_key_once() {
    require_keychain_session();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let now = Timestamp::now();
    let (kid, public, product, license, store_id) = {
        let mut kw = Keywright::open(&path, "vendor").unwrap();
        let key = kw
            .create_signing_key(
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
                    support_message: Some(SUPPORT.into()),
                    ..Default::default()
                },
                now,
            )
            .unwrap();
        let policy = kw
            .create_policy(
                &NewPolicy {
                    product_id: product.id.clone(),
                    name: "Two seats".into(),
                    floating: true,
                    max_machines: Some(2),
                    ..Default::default()
                },
                now,
            )
            .unwrap();
        let license = kw
            .issue_license(
                &IssueLicense {
                    policy_id: policy.id,
                    ..Default::default()
                },
                now,
            )
            .unwrap();
        let public = kw.public_key(&key.kid).unwrap();
        let store_id = kw.store().store_id().to_owned();
        (key.kid, public, product, license, store_id)
    };
    let trusted = [public];

    let handle = keywright_server::start_store(&path, "127.0.0.1:0".parse().unwrap(), roomy())
        .await
        .unwrap();
    let addr = handle.local_addr();
    let client = client();
    let form = |hwid: &str| {
        format!(
            "token={}&app_id={}&hwid={hwid}&machine=LAB&user=ada",
            enc(&license.key),
            enc(&product.id)
        )
        .into_bytes()
    };
    let activate = |hwid: &'static str| {
        send(
            &client,
            addr,
            "POST",
            "/api/activate",
            Some("application/x-www-form-urlencoded"),
            form(hwid),
        )
    };
    let r = activate("hw-1").await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["remainingActivations"], 1);
    r.assert_signed(&trusted);

    // The keychain entry goes away: the server signed with the key it read at start.
    Keychain::for_store(&store_id).remove(&kid).unwrap();
    let r = activate("hw-2").await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["remainingActivations"], 0);
    r.assert_signed(&trusted);
    let r = activate("hw-3").await;
    assert_eq!(r.status, 410);
    r.assert_signed(&trusted);
    let target = format!(
        "/api/check?token={}&app_id={}&hwid=hw-2",
        enc(&license.key),
        enc(&product.id)
    );
    let r = send(&client, addr, "GET", &target, None, Vec::new()).await;
    assert_eq!(r.status, 201);
    r.assert_signed(&trusted);
    handle.stop().await.unwrap();

    // A fresh start must read the key, and now cannot: refused before listening.
    let err = keywright_server::start_store(&path, "127.0.0.1:0".parse().unwrap(), roomy())
        .await
        .unwrap_err();
    match err {
        keywright_server::ServerError::Core(e) => {
            assert_eq!(e.code, ErrorCode::KeychainEntryMissing, "{e}")
        }
        other => panic!("{other}"),
    }
    assert_eq!(count(&path, "SELECT count(*) FROM machines"), 2);
    assert_eq!(count(&path, "SELECT count(*) FROM server_events"), 4);
}
