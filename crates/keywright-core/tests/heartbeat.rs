//! Keygen's heartbeats in the core: the status rule, pings, resurrection, culling
//! (which frees seats and is audited) and the validation codes.

mod common;

use common::{now, TestStore};
use jiff::{SignedDuration, Timestamp};
use keywright_core::online::{ActivationOutcome, OnlineActivation, ValidationScope};
use keywright_core::*;

fn store() -> TestStore {
    let mut f = TestStore::new();
    f.key("Main");
    f
}

fn later(t: Timestamp, seconds: i64) -> Timestamp {
    t + SignedDuration::from_secs(seconds)
}

fn policy(f: &mut TestStore, name: &str, edit: impl FnOnce(&mut NewPolicy)) -> (License, Policy) {
    let product = f.product(&format!("P {name}"));
    let policy = f.policy_with(&product, name, |p| {
        p.floating = true;
        p.max_machines = Some(2);
        edit(p);
    });
    let license =
        f.kw.issue_license(
            &IssueLicense {
                policy_id: policy.id.clone(),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    (license, policy)
}

fn activate(f: &mut TestStore, license: &License, fp: &str, at: Timestamp) -> ActivationOutcome {
    f.kw.online_activate(
        &OnlineActivation {
            token: license.key.clone(),
            hwid: fp.into(),
            refuse_active: true,
            ..Default::default()
        },
        at,
    )
    .unwrap()
}

fn machine_of(outcome: ActivationOutcome) -> Machine {
    match outcome {
        ActivationOutcome::Activated { machine, .. } => machine,
        other => panic!("not activated: {other:?}"),
    }
}

fn code(f: &TestStore, license: &License, fp: &str, at: Timestamp) -> &'static str {
    f.kw.validate_scoped(
        Some(f.kw.find_license(&license.id).unwrap()),
        &ValidationScope {
            fingerprints: Some(vec![fp.into()]),
            ..Default::default()
        },
        at,
    )
    .unwrap()
    .code
    .as_str()
}

#[test]
fn status_follows_keygens_rule() {
    let mut f = store();
    let (_, required) = policy(&mut f, "Required", |p| {
        p.require_heartbeat = true;
        p.heartbeat_duration = Some("10min".into());
    });
    let (_, optional) = policy(&mut f, "Optional", |_| {});
    let t0 = now();
    use HeartbeatStatus as S;
    // Never pinged: not started, until a required heartbeat is overdue.
    assert_eq!(S::of(&required, t0, None, later(t0, 600)), S::NotStarted);
    assert_eq!(S::of(&required, t0, None, later(t0, 601)), S::Dead);
    assert_eq!(S::of(&optional, t0, None, later(t0, 86_400)), S::NotStarted);
    // Pinged: alive for one duration (Keygen's default 10 minutes when none is set).
    assert_eq!(optional.heartbeat_seconds(), 600);
    assert_eq!(S::of(&optional, t0, Some(t0), later(t0, 600)), S::Alive);
    assert_eq!(S::of(&optional, t0, Some(t0), later(t0, 601)), S::Dead);
    assert_eq!(S::of(&required, t0, Some(t0), later(t0, 599)), S::Alive);
}

#[test]
fn policy_settings_are_checked() {
    let mut f = store();
    let product = f.product("Checked");
    let base = |name: &str| NewPolicy {
        product_id: product.id.clone(),
        name: name.into(),
        ..Default::default()
    };
    let e =
        f.kw.create_policy(
            &NewPolicy {
                require_heartbeat: true,
                ..base("a")
            },
            now(),
        )
        .unwrap_err();
    assert!(e.message.contains("heartbeat duration"), "{}", e.message);
    let e =
        f.kw.create_policy(
            &NewPolicy {
                heartbeat_duration: Some("30s".into()),
                ..base("b")
            },
            now(),
        )
        .unwrap_err();
    assert!(e.message.contains("between 1 minute"), "{}", e.message);
    let e =
        f.kw.create_policy(
            &NewPolicy {
                heartbeat_resurrection_strategy: Some(HeartbeatResurrectionStrategy::AlwaysRevive),
                ..base("c")
            },
            now(),
        )
        .unwrap_err();
    assert!(e.message.contains("KEEP_DEAD"), "{}", e.message);
    let p =
        f.kw.create_policy(
            &NewPolicy {
                require_heartbeat: true,
                heartbeat_duration: Some("1h".into()),
                heartbeat_cull_strategy: Some(HeartbeatCullStrategy::KeepDead),
                heartbeat_resurrection_strategy: Some(HeartbeatResurrectionStrategy::AlwaysRevive),
                heartbeat_basis: Some(HeartbeatBasis::FromCreation),
                ..base("d")
            },
            now(),
        )
        .unwrap();
    assert_eq!(p.heartbeat_duration_seconds, Some(3600));
    // Editing keeps what is not named, and is audited.
    let edited =
        f.kw.set_policy_heartbeat(
            &SetPolicyHeartbeat {
                policy_id: p.id.clone(),
                heartbeat_duration: Some("2h".into()),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    assert_eq!(edited.heartbeat_duration_seconds, Some(7200));
    assert!(edited.require_heartbeat);
    assert_eq!(
        edited.heartbeat_cull_strategy,
        HeartbeatCullStrategy::KeepDead
    );
    assert!(f.kw.check_audit().unwrap().intact);
}

#[test]
fn pings_keep_a_machine_alive_and_a_dead_one_is_refused_then_culled() {
    let mut f = store();
    let (license, policy) = policy(&mut f, "Leased", |p| {
        p.require_heartbeat = true;
        p.heartbeat_duration = Some("2min".into());
    });
    let t0 = now();
    let m = machine_of(activate(&mut f, &license, "fp-1", t0));
    assert_eq!(code(&f, &license, "fp-1", t0), "HEARTBEAT_NOT_STARTED");
    let PingOutcome::Pinged(pinged) = f.kw.ping_machine(&m.id, later(t0, 60)).unwrap() else {
        panic!("alive machine refused");
    };
    assert_eq!(pinged.heartbeat_status, Some(HeartbeatStatus::Alive));
    assert_eq!(code(&f, &license, "fp-1", later(t0, 120)), "VALID");
    let listed = f.kw.list_machines(&license.id, later(t0, 120)).unwrap();
    assert_eq!(listed[0].heartbeat_status, Some(HeartbeatStatus::Alive));
    // Two minutes after the last ping it is dead; validation says so.
    let dead_at = later(t0, 60 + 121);
    assert_eq!(code(&f, &license, "fp-1", dead_at), "HEARTBEAT_DEAD");
    let listed = f.kw.list_machines(&license.id, dead_at).unwrap();
    assert_eq!(listed[0].heartbeat_status, Some(HeartbeatStatus::Dead));
    // NO_REVIVE: the ping is refused, and DEACTIVATE_DEAD frees the seat, audited.
    assert!(matches!(
        f.kw.ping_machine(&m.id, dead_at).unwrap(),
        PingOutcome::Dead(_)
    ));
    let after = f.kw.find_machine(&m.id).unwrap();
    assert_eq!(after.status, MachineStatus::Deactivated);
    let history = f.kw.machine_history(&m.id).unwrap();
    assert_eq!(history[0].action, "machine.deactivate");
    assert_eq!(history[0].actor, "server");
    assert!(history[0].detail.to_string().contains("heartbeat"));
    assert!(f.kw.check_audit().unwrap().intact);
    let _ = policy;
}

#[test]
fn dead_machines_free_their_seats_for_new_activations() {
    let mut f = store();
    let (license, _) = policy(&mut f, "Two seats", |p| {
        p.heartbeat_duration = Some("1min".into());
        p.heartbeat_basis = Some(HeartbeatBasis::FromCreation);
    });
    let t0 = now();
    let a = machine_of(activate(&mut f, &license, "fp-a", t0));
    let _b = machine_of(activate(&mut f, &license, "fp-b", t0));
    // FROM_CREATION: the activation is the first ping.
    assert!(a.last_heartbeat_at.is_some());
    assert!(matches!(
        activate(&mut f, &license, "fp-c", later(t0, 30)),
        ActivationOutcome::OutOfSeats { .. }
    ));
    // Both die after a minute; the next activation culls them before counting.
    let t1 = later(t0, 61);
    machine_of(activate(&mut f, &license, "fp-c", t1));
    let active: Vec<_> =
        f.kw.list_machines(&license.id, t1)
            .unwrap()
            .into_iter()
            .filter(|m| m.status == MachineStatus::Active)
            .map(|m| m.fingerprint)
            .collect();
    assert_eq!(active, ["fp-c"]);
    assert!(f.kw.check_audit().unwrap().intact);
}

#[test]
fn the_sweep_culls_and_keep_dead_keeps_with_revival() {
    let mut f = store();
    let (culled, _) = policy(&mut f, "Culled", |p| {
        p.heartbeat_duration = Some("1min".into());
        p.heartbeat_resurrection_strategy = Some(HeartbeatResurrectionStrategy::Revive2Minutes);
    });
    let (kept, _) = policy(&mut f, "Kept", |p| {
        p.heartbeat_duration = Some("1min".into());
        p.heartbeat_cull_strategy = Some(HeartbeatCullStrategy::KeepDead);
        p.heartbeat_resurrection_strategy = Some(HeartbeatResurrectionStrategy::AlwaysRevive);
    });
    let t0 = now();
    let c = machine_of(activate(&mut f, &culled, "fp-c", t0));
    let k = machine_of(activate(&mut f, &kept, "fp-k", t0));
    let idle = machine_of(activate(&mut f, &culled, "fp-idle", t0));
    f.kw.ping_machine(&c.id, t0).unwrap();
    f.kw.ping_machine(&k.id, t0).unwrap();
    // Dead after a minute, but within the 2-minute resurrection window: not culled,
    // and a ping revives it.
    assert_eq!(f.kw.cull_dead_machines(later(t0, 120)).unwrap(), 0);
    let PingOutcome::Pinged(revived) = f.kw.ping_machine(&c.id, later(t0, 120)).unwrap() else {
        panic!("not revived within the window");
    };
    assert_eq!(revived.heartbeat_status, Some(HeartbeatStatus::Resurrected));
    // Past the window it is culled by the sweep; KEEP_DEAD keeps the other, which
    // ALWAYS_REVIVE lets come back; the one that never pinged (not required) stays.
    let t1 = later(t0, 120 + 60 + 121);
    assert_eq!(f.kw.cull_dead_machines(t1).unwrap(), 1);
    assert_eq!(
        f.kw.find_machine(&c.id).unwrap().status,
        MachineStatus::Deactivated
    );
    assert_eq!(
        f.kw.find_machine(&k.id).unwrap().status,
        MachineStatus::Active
    );
    assert_eq!(
        f.kw.find_machine(&idle.id).unwrap().status,
        MachineStatus::Active
    );
    assert_eq!(code(&f, &kept, "fp-k", t1), "HEARTBEAT_DEAD");
    assert!(matches!(
        f.kw.ping_machine(&k.id, t1).unwrap(),
        PingOutcome::Pinged(_)
    ));
    assert_eq!(code(&f, &kept, "fp-k", t1), "VALID");
    assert!(f.kw.check_audit().unwrap().intact);
}

#[test]
fn a_policy_from_before_heartbeats_keeps_its_audited_state() {
    let mut f = store();
    let (_, p) = policy(&mut f, "Old", |_| {});
    // A row as the heartbeat migration leaves an older policy: the columns NULL.
    let conn = common::Raw::of(&f.kw);
    conn.execute(
        "UPDATE policies SET require_heartbeat = NULL, heartbeat_duration_seconds = NULL,
             heartbeat_cull_strategy = NULL, heartbeat_resurrection_strategy = NULL,
             heartbeat_basis = NULL WHERE id = ?1",
        &[p.id.as_str().into()],
    );
    let state = audit::state::of(conn.db(), "policy", &p.id)
        .unwrap()
        .unwrap();
    let keys: Vec<String> =
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&state)
            .unwrap()
            .keys()
            .cloned()
            .collect();
    // Exactly the columns the state had before heartbeats (sorted).
    assert_eq!(
        keys,
        [
            "allow_transfer",
            "duration_seconds",
            "encrypt",
            "entitlements",
            "expiration_strategy",
            "file_ttl_seconds",
            "floating",
            "key_template",
            "max_machines",
            "offline_grace_seconds",
            "product_id",
            "scheme",
            "strict",
            "unsigned_key",
        ]
    );
    // And it reads as Keygen's defaults.
    let read = f.kw.find_policy(&p.id).unwrap();
    assert!(!read.require_heartbeat);
    assert_eq!(
        read.heartbeat_cull_strategy,
        HeartbeatCullStrategy::DeactivateDead
    );
    assert_eq!(read.heartbeat_basis, HeartbeatBasis::FromFirstPing);
}
