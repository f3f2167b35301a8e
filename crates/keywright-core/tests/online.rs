//! Online activation in the core: several connections (as several server processes,
//! or the server and the desktop app) racing for the seats of one license on the same
//! SQLite file; the IMMEDIATE transaction lets exactly the allowed number through.

mod common;

use std::sync::{Arc, Barrier};

use jiff::Timestamp;
use keywright_core::online::{ActivationOutcome, NewServerEvent, OnlineActivation, OnlineReason};
use keywright_core::*;

#[test]
fn connections_racing_for_seats_never_oversell() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let now = Timestamp::now();
    let vault = Arc::<MemoryVault>::default();
    let mut kw = Keywright::with_vault(common::open_store(&path), Box::new(vault.clone()), "t");
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
                name: "Zapper".into(),
                ..Default::default()
            },
            now,
        )
        .unwrap();
    let policy = kw
        .create_policy(
            &NewPolicy {
                product_id: product.id.clone(),
                name: "Ten".into(),
                floating: true,
                max_machines: Some(10),
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

    let threads = 4;
    let per_thread = 25;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let path = path.clone();
            let key = license.key.clone();
            let app = product.id.clone();
            let barrier = barrier.clone();
            // The same keychain: each process of a real server reads the same one.
            let vault = vault.clone();
            std::thread::spawn(move || {
                let mut kw = Keywright::with_vault(
                    common::open_store(&path),
                    Box::new(vault),
                    format!("server-{t}"),
                );
                barrier.wait();
                let mut won = 0;
                let mut lost = 0;
                for i in 0..per_thread {
                    let outcome = kw
                        .online_activate(
                            &OnlineActivation {
                                token: key.clone(),
                                app_id: Some(app.clone()),
                                hwid: format!("hw-{t}-{i}"),
                                ..Default::default()
                            },
                            Timestamp::now(),
                        )
                        .unwrap();
                    match outcome {
                        ActivationOutcome::Activated { remaining, .. } => {
                            assert!(remaining.unwrap() >= 0);
                            won += 1;
                        }
                        ActivationOutcome::OutOfSeats { allowed, .. } => {
                            assert_eq!(allowed, 10);
                            lost += 1;
                        }
                        other => panic!("{other:?}"),
                    }
                }
                (won, lost)
            })
        })
        .collect();
    let (mut won, mut lost) = (0, 0);
    for h in handles {
        let (w, l) = h.join().unwrap();
        won += w;
        lost += l;
    }
    assert_eq!((won, lost), (10, 90));
    assert_eq!(
        kw.list_machines(&license.id, jiff::Timestamp::now())
            .unwrap()
            .len(),
        10
    );
    kw.verify_audit().unwrap();
    let activations = kw
        .audit_events()
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "machine.activate")
        .count();
    assert_eq!(activations, 10);

    // An hwid already active is answered without a seat, even when the license is full.
    let again = kw
        .online_activate(
            &OnlineActivation {
                token: license.key.clone(),
                app_id: Some(product.code.clone()),
                hwid: kw
                    .list_machines(&license.id, jiff::Timestamp::now())
                    .unwrap()[0]
                    .fingerprint
                    .clone(),
                ..Default::default()
            },
            Timestamp::now(),
        )
        .unwrap();
    assert!(matches!(
        again,
        ActivationOutcome::Activated {
            already_active: true,
            remaining: Some(0),
            ..
        }
    ));

    // Bad input is refused before any transaction.
    let err = kw
        .online_activate(
            &OnlineActivation {
                token: license.key.clone(),
                hwid: "  ".into(),
                ..Default::default()
            },
            Timestamp::now(),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::BadInput);

    // Checks: by hwid and by machine id; an unknown product is a mismatch.
    let m = &kw
        .list_machines(&license.id, jiff::Timestamp::now())
        .unwrap()[0];
    for machine in [m.fingerprint.as_str(), m.id.as_str()] {
        let v = kw
            .online_check(
                &license.key,
                Some(&product.id),
                Some(machine),
                Timestamp::now(),
            )
            .unwrap();
        assert_eq!(v.reason, OnlineReason::Valid);
        assert_eq!(v.machine_id.as_deref(), Some(m.id.as_str()));
    }
    let v = kw
        .online_check(&license.key, Some("nope"), None, Timestamp::now())
        .unwrap();
    assert_eq!(
        (v.reason, v.product.is_none()),
        (OnlineReason::ProductMismatch, true)
    );

    // The server log keeps the newest first and cuts what clients send.
    let batch: Vec<_> = (0..3)
        .map(|i| NewServerEvent {
            at: Timestamp::now(),
            endpoint: "check".into(),
            hwid: Some(format!("{}{i}", "h".repeat(400))),
            status: 201,
            result: "ok".into(),
            ..Default::default()
        })
        .collect();
    assert_eq!(kw.record_server_events(&batch).unwrap(), 3);
    let events = kw.server_events(2).unwrap();
    assert_eq!(events.len(), 2);
    assert!(events[0].seq > events[1].seq);
    assert_eq!(events[0].hwid.as_ref().unwrap().chars().count(), 255);
}
