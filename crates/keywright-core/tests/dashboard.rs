//! The dashboard's counts, issuing chart and recent events.

mod common;

use keywright_core::*;

use common::at;

/// The store's signing key, made at `t` (the signer refuses a clock before the log's
/// newest row, so each test builds its rows at the times it needs).
fn key(kw: &mut Keywright, t: jiff::Timestamp) {
    kw.create_signing_key(
        &NewSigningKey {
            name: "Main".into(),
            algorithm: KeyAlgorithm::Ed25519,
        },
        t,
    )
    .unwrap();
}

/// A product named `name`, made at `t`.
fn product(kw: &mut Keywright, name: &str, t: jiff::Timestamp) -> Product {
    kw.create_product(
        &NewProduct {
            name: name.into(),
            ..Default::default()
        },
        t,
    )
    .unwrap()
}

/// A policy of `product` named `name`, as `edit` sets it up, made at `t`.
fn policy(
    kw: &mut Keywright,
    product: &Product,
    name: &str,
    t: jiff::Timestamp,
    edit: impl FnOnce(&mut NewPolicy),
) -> Policy {
    let mut input = NewPolicy {
        product_id: product.id.clone(),
        name: name.into(),
        ..Default::default()
    };
    edit(&mut input);
    kw.create_policy(&input, t).unwrap()
}

/// A license of `policy` issued at `when`.
fn issue(kw: &mut Keywright, policy: &Policy, when: &str) -> License {
    kw.issue_license(
        &IssueLicense {
            policy_id: policy.id.clone(),
            ..Default::default()
        },
        at(when),
    )
    .unwrap()
}

#[test]
fn counts_per_product_per_day_and_recent_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open_store(&dir.path().join("store.db"));
    let mut kw = Keywright::with_vault(store, Box::<MemoryVault>::default(), "tester");
    let now = at("2026-11-23T10:00:00Z");
    let empty = kw.dashboard(now).unwrap();
    assert!(empty.per_product.is_empty());
    assert_eq!(empty.issued_per_day.len(), 30);
    assert!(empty.issued_per_day.iter().all(|d| d.count == 0));
    assert_eq!(empty.issued_per_day[0].day, "2026-10-25");
    assert_eq!(empty.issued_per_day[29].day, "2026-11-23");
    assert!(empty.recent.is_empty());
    // 2026-11-23 is a Monday: twelve weeks, this one last.
    assert_eq!(empty.issued_per_week.len(), 12);
    assert_eq!(empty.issued_per_week[11].day, "2026-11-23");
    assert_eq!(empty.issued_per_week[0].day, "2026-09-07");

    let t0 = at("2019-01-01T00:00:00Z");
    key(&mut kw, t0);
    let policies: Vec<Policy> = ["Zapper", "Anvil", "Quiet"]
        .into_iter()
        .map(|name| {
            let product = product(&mut kw, name, t0);
            policy(&mut kw, &product, "Yearly", t0, |p| {
                p.duration = Some("1y".into())
            })
        })
        .collect();
    // Issued in time order (the signer refuses a clock earlier than the audit log).
    // Zapper: one expiring in 10 days, one suspended today, one revoked (and expiring).
    // Anvil: two on the same day three days ago, one long expired.
    issue(&mut kw, &policies[1], "2020-01-01T00:00:00Z");
    let revoked = issue(&mut kw, &policies[0], "2025-12-01T10:00:00Z");
    issue(&mut kw, &policies[0], "2025-12-03T10:00:00Z");
    issue(&mut kw, &policies[1], "2026-11-20T01:00:00Z");
    issue(&mut kw, &policies[1], "2026-11-20T23:59:59Z");
    let suspended = issue(&mut kw, &policies[0], "2026-11-23T08:00:00Z");
    kw.suspend_license(&suspended.id, now).unwrap();
    kw.revoke_license(&revoked.id, now).unwrap();

    let d = kw.dashboard(now).unwrap();
    let names: Vec<&str> = d
        .per_product
        .iter()
        .map(|p| p.product_name.as_str())
        .collect();
    assert_eq!(names, ["Anvil", "Quiet", "Zapper"]);
    let anvil = &d.per_product[0];
    assert_eq!(
        (
            anvil.issued,
            anvil.active,
            anvil.suspended,
            anvil.revoked,
            anvil.expiring_30d
        ),
        (3, 3, 0, 0, 0)
    );
    let quiet = &d.per_product[1];
    assert_eq!((quiet.issued, quiet.active), (0, 0));
    let zapper = &d.per_product[2];
    assert_eq!(
        (
            zapper.issued,
            zapper.active,
            zapper.suspended,
            zapper.revoked,
            zapper.expiring_30d
        ),
        (3, 1, 1, 1, 1)
    );

    let day = |s: &str| d.issued_per_day.iter().find(|c| c.day == s).unwrap().count;
    assert_eq!(day("2026-11-20"), 2);
    assert_eq!(day("2026-11-23"), 1);
    assert_eq!(d.issued_per_day.iter().map(|c| c.count).sum::<i64>(), 3);
    // The week of 2026-11-16 holds the two of the 20th; this week the one of today.
    let week = |s: &str| d.issued_per_week.iter().find(|c| c.day == s).unwrap().count;
    assert_eq!(week("2026-11-16"), 2);
    assert_eq!(week("2026-11-23"), 1);
    assert_eq!(d.issued_per_week.iter().map(|c| c.count).sum::<i64>(), 3);

    assert_eq!(d.recent.len(), 10);
    // Newest by position in the chain: the revoke came last, after the suspend.
    assert_eq!(d.recent[0].action, "license.revoke");
    assert_eq!(d.recent[1].action, "license.suspend");
    assert!(d.recent.iter().any(|e| e.action == "license.issue"));
    assert!(d.recent.windows(2).all(|w| w[0].seq > w[1].seq));
}

/// Seats per product, machines activated per day, and what needs attention.
#[test]
fn seats_activations_and_what_needs_attention() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open_store(&dir.path().join("store.db"));
    let mut kw = Keywright::with_vault(store, Box::<MemoryVault>::default(), "tester");
    let now = at("2026-11-23T10:00:00Z");
    let t0 = at("2026-10-01T00:00:00Z");
    key(&mut kw, t0);
    let (anvil, bolt, crane, dormant) = (
        product(&mut kw, "Anvil", t0),
        product(&mut kw, "Bolt", t0),
        product(&mut kw, "Crane", t0),
        product(&mut kw, "Dormant", t0),
    );
    let plan = |kw: &mut Keywright,
                product: &Product,
                duration: &str,
                seats: Option<i64>,
                floating: bool| {
        policy(kw, product, "Plan", t0, |p| {
            p.duration = Some(duration.into());
            p.max_machines = seats;
            p.floating = floating;
        })
    };
    // Anvil: floating, 3 seats, 30 days. Bolt: node-locked. Crane: floating, no limit.
    let anvil_plan = plan(&mut kw, &anvil, "30d", Some(3), true);
    let bolt_plan = plan(&mut kw, &bolt, "1y", None, false);
    let crane_plan = plan(&mut kw, &crane, "1y", None, true);
    let activate = |kw: &mut Keywright, license: &License, fp: &str, when: &str| {
        kw.activate_machine(
            &ActivateMachine {
                license_id: license.id.clone(),
                fingerprint: fp.into(),
                ..Default::default()
            },
            at(when),
        )
        .unwrap()
    };
    // In time order (the signer refuses a clock earlier than the log).
    let lapsed = issue(&mut kw, &anvil_plan, "2026-10-01T09:00:00Z"); // expires 10-31
    activate(&mut kw, &lapsed, "fp-lapsed-1", "2026-10-02T09:00:00Z");
    activate(&mut kw, &lapsed, "fp-lapsed-2", "2026-10-20T09:00:00Z");
    issue(&mut kw, &anvil_plan, "2026-10-28T09:00:00Z"); // expires 11-27: within 7 days
    let current = issue(&mut kw, &anvil_plan, "2026-11-20T09:00:00Z");
    activate(&mut kw, &current, "fp-current", "2026-11-21T09:00:00Z");
    let held = issue(&mut kw, &bolt_plan, "2026-11-22T09:00:00Z");
    activate(&mut kw, &held, "fp-held", "2026-11-22T10:00:00Z");
    issue(&mut kw, &crane_plan, "2026-11-22T11:00:00Z");
    kw.suspend_license(&held.id, now).unwrap();

    let d = kw.dashboard(now).unwrap();
    let of = |p: &Product| d.per_product.iter().find(|s| s.product_id == p.id).unwrap();
    // Anvil: 3 machines on licenses not revoked (the lapsed one's two still count);
    // 3 active licenses × 3 seats.
    assert_eq!(
        (
            of(&anvil).seats_used,
            of(&anvil).seats_limit,
            of(&anvil).unlimited
        ),
        (3, 9, 0)
    );
    // Bolt: its one license is suspended: a machine, no active seats.
    assert_eq!(
        (
            of(&bolt).seats_used,
            of(&bolt).seats_limit,
            of(&bolt).unlimited
        ),
        (1, 0, 0)
    );
    // Crane: one active license without a limit.
    assert_eq!(
        (
            of(&crane).seats_used,
            of(&crane).seats_limit,
            of(&crane).unlimited
        ),
        (0, 0, 1)
    );

    // The last 30 days (10-25 to 11-23): the activations of 11-21 and 11-22 only.
    assert_eq!(d.activations_per_day.len(), 30);
    let day = |s: &str| {
        d.activations_per_day
            .iter()
            .find(|c| c.day == s)
            .unwrap()
            .count
    };
    assert_eq!((day("2026-11-21"), day("2026-11-22")), (1, 1));
    assert_eq!(
        d.activations_per_day.iter().map(|c| c.count).sum::<i64>(),
        2
    );

    let a = &d.attention;
    assert_eq!(a.expired_with_machines, 1, "the lapsed Anvil license");
    assert_eq!(a.suspended_with_machines, 1, "the held Bolt license");
    assert_eq!(a.expiring_7d, 1, "the Anvil license of 10-28");
    assert_eq!(a.products_without_policy, std::slice::from_ref(&dormant.id));
    assert!(a.clock_behind.is_none());

    // Deactivating the lapsed license's machines clears it from attention.
    for m in kw.list_machines(&lapsed.id, now).unwrap() {
        kw.deactivate_machine(&m.id, now).unwrap();
    }
    let d = kw.dashboard(now).unwrap();
    assert_eq!(d.attention.expired_with_machines, 0);
    assert_eq!(of_product(&d, &anvil).seats_used, 1);
    // Deactivations do not take activations off the chart.
    assert_eq!(
        d.activations_per_day.iter().map(|c| c.count).sum::<i64>(),
        2
    );

    // Seats follow the machines however they move (the count is kept per license by
    // the store's triggers): activating a machine again takes no second seat, a
    // transfer swaps one machine for another, a revoked license's machines stop
    // counting and a suspended one's count again once reinstated.
    let m = activate(&mut kw, &current, "fp-current", "2026-11-23T10:00:00Z");
    assert_eq!(
        of_product(&kw.dashboard(now).unwrap(), &anvil).seats_used,
        1
    );
    kw.transfer_machine(
        &TransferMachine {
            machine_id: m.id.clone(),
            fingerprint: "fp-new-desk".into(),
            ..Default::default()
        },
        now,
    )
    .unwrap();
    activate(&mut kw, &current, "fp-laptop", "2026-11-23T10:00:00Z");
    let d = kw.dashboard(now).unwrap();
    assert_eq!(of_product(&d, &anvil).seats_used, 2);
    assert_eq!(of_product(&d, &bolt).seats_used, 1);
    kw.revoke_license(&current.id, now).unwrap();
    kw.reinstate_license(&held.id, now).unwrap();
    let d = kw.dashboard(now).unwrap();
    assert_eq!(of_product(&d, &anvil).seats_used, 0);
    assert_eq!(of_product(&d, &bolt).seats_used, 1);
    assert_eq!(d.attention.suspended_with_machines, 0);

    // A clock behind the log is named.
    let behind = kw.dashboard(at("2026-11-22T00:00:00Z")).unwrap();
    let row = behind.attention.clock_behind.expect("the clock is behind");
    assert_eq!(row.action, "license.reinstate");
}

fn of_product<'a>(d: &'a Dashboard, p: &Product) -> &'a ProductSummary {
    d.per_product.iter().find(|s| s.product_id == p.id).unwrap()
}

/// A store from before migration 17 (no count of machines on its licenses) gets each
/// license's active machines counted when it opens, and the triggers keep counting.
#[test]
fn an_older_store_counts_its_machines_when_it_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("older.db");
    let t0 = at("2026-10-01T00:00:00Z");
    let vault = std::sync::Arc::new(MemoryVault::default());
    let (product, license) = {
        let mut kw = Keywright::with_vault(
            Store::open(&path).unwrap(),
            Box::new(vault.clone()),
            "tester",
        );
        key(&mut kw, t0);
        let product = product(&mut kw, "Anvil", t0);
        let policy = policy(&mut kw, &product, "Team", t0, |p| {
            p.max_machines = Some(5);
            p.floating = true;
        });
        let license = issue(&mut kw, &policy, "2026-10-01T00:00:00Z");
        for fp in ["fp-1", "fp-2", "fp-3"] {
            kw.activate_machine(
                &ActivateMachine {
                    license_id: license.id.clone(),
                    fingerprint: fp.into(),
                    ..Default::default()
                },
                t0,
            )
            .unwrap();
        }
        let first = &kw.list_machines(&license.id, t0).unwrap()[0];
        kw.deactivate_machine(&first.id, t0).unwrap();
        (product, license)
    };

    // Back to schema 16: no column, no triggers, the index as it was (and none of
    // migrations 18 and 19).
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP TABLE audit_products; ALTER TABLE signing_keys DROP COLUMN retire_at;
         DROP TRIGGER machines_seats_insert; DROP TRIGGER machines_seats_delete;
         DROP TRIGGER machines_seats_update; DROP INDEX licenses_on_machines;
         DROP INDEX licenses_status_policy;
         ALTER TABLE licenses DROP COLUMN active_machines;
         CREATE INDEX licenses_status_policy ON licenses (status, policy_id);
         PRAGMA user_version = 16;",
    )
    .unwrap();
    drop(conn);

    let mut kw = Keywright::with_vault(
        Store::open(&path).unwrap(),
        Box::new(vault.clone()),
        "tester",
    );
    let now = at("2026-10-02T00:00:00Z");
    assert_eq!(
        of_product(&kw.dashboard(now).unwrap(), &product).seats_used,
        2
    );
    let machines = kw.list_machines(&license.id, now).unwrap();
    let second = machines
        .iter()
        .find(|m| m.status == MachineStatus::Active)
        .unwrap();
    kw.deactivate_machine(&second.id, now).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let (counted, kept): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM machines WHERE license_id = ?1 AND status = 'active'),
                    (SELECT active_machines FROM licenses WHERE id = ?1)",
            [&license.id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (counted, kept),
        (1, 1),
        "the count follows a deactivation after the migration"
    );
}
