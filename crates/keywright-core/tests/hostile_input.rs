//! Hostile input in the core (issue 12, items 5–7), for the paths the CLI test
//! (`crates/keywright-cli/tests/hostile_input.rs`) cannot reach: online activation
//! without the server's own check, the request log, the window-only machine fields,
//! files written for a node-locked policy stored before the one-machine rule, and a
//! policy stored before durations were capped.

mod common;

use keywright_core::online::{NewServerEvent, OnlineActivation};
use keywright_core::*;
use keywright_license::{FileAlgorithm, PublicKey, Verifier};

use common::{now, TestStore};

struct Fixture {
    dir: tempfile::TempDir,
    kw: Keywright,
    key: SigningKey,
    product: Product,
}

fn fixture() -> Fixture {
    let mut s = TestStore::new();
    let key = s.key("Main");
    let product = s.product("Zapper");
    Fixture {
        dir: s.dir,
        kw: s.kw,
        key,
        product,
    }
}

impl Fixture {
    fn policy(&mut self, name: &str, edit: impl FnOnce(&mut NewPolicy)) -> Policy {
        let mut input = NewPolicy {
            product_id: self.product.id.clone(),
            name: name.into(),
            duration: Some("1y".into()),
            ..Default::default()
        };
        edit(&mut input);
        self.kw.create_policy(&input, now()).unwrap()
    }

    fn issue(&mut self, policy: &Policy) -> License {
        self.kw
            .issue_license(
                &IssueLicense {
                    policy_id: policy.id.clone(),
                    ..Default::default()
                },
                now(),
            )
            .unwrap()
    }

    /// Runs SQL on the store file as an older version would have written it.
    fn legacy(&self, sql: &str) {
        common::Raw::at(&self.dir.path().join("store.db")).execute_batch(sql);
    }

    fn count(&self, table: &str) -> i64 {
        common::Raw::at(&self.dir.path().join("store.db")).count(table)
    }

    /// `maxMachines` of a license file exported now.
    fn file_max_machines(&mut self, license: &License) -> serde_json::Value {
        let path = self.dir.path().join("l.lic");
        self.kw
            .export_license_file(
                &ExportLicenseFile {
                    license_id: license.id.clone(),
                    path: path.display().to_string(),
                    algorithm: Some("base64+ed25519".into()),
                    include: vec!["policy".into()],
                    ..Default::default()
                },
                now(),
            )
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let public = PublicKey::from_hex(&self.key.public_key_hex).unwrap();
        let opened = Verifier::pinned(&public, FileAlgorithm::Base64Ed25519, now())
            .verify(&text)
            .file
            .unwrap();
        let payload: serde_json::Value = serde_json::from_slice(&opened.payload).unwrap();
        assert_eq!(
            payload["included"][0]["attributes"]["maxMachines"],
            payload["data"]["attributes"]["maxMachines"],
            "the included policy says the same"
        );
        payload["data"]["attributes"]["maxMachines"].clone()
    }
}

#[test]
fn a_node_locked_policy_stored_with_more_seats_reads_and_writes_as_one() {
    let mut f = fixture();
    let locked = f.policy("Locked", |_| {});
    assert_eq!((locked.floating, locked.max_machines), (false, Some(1)));
    let err =
        f.kw.create_policy(
            &NewPolicy {
                product_id: f.product.id.clone(),
                name: "Two".into(),
                max_machines: Some(2),
                ..Default::default()
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::BadInput);
    assert!(err.message.contains("--floating"), "{err}");

    let floating = f.policy("Site", |p| p.floating = true);
    assert_eq!(floating.max_machines, None);
    let license = f.issue(&locked);
    assert_eq!(f.file_max_machines(&license), 1);

    for stored in ["NULL", "5"] {
        f.legacy(&format!(
            "UPDATE policies SET max_machines = {stored} WHERE id = '{}'",
            locked.id
        ));
        assert_eq!(f.kw.find_policy(&locked.id).unwrap().max_machines, Some(1));
        assert!(f
            .kw
            .list_policies()
            .unwrap()
            .iter()
            .all(|p| p.floating || p.max_machines == Some(1)));
        assert_eq!(f.file_max_machines(&license), 1, "stored {stored}");
    }
    let license = f.issue(&floating);
    assert_eq!(f.file_max_machines(&license), serde_json::Value::Null);
}

#[test]
fn a_policy_stored_with_an_overlong_duration_is_refused_with_a_reason_at_issue() {
    let mut f = fixture();
    let policy = f.policy("Long", |_| {});
    f.legacy(&format!(
        "UPDATE policies SET duration_seconds = 252455616000 WHERE id = '{}'",
        policy.id
    ));
    let before = f.count("licenses");
    let err =
        f.kw.issue_license(
            &IssueLicense {
                policy_id: policy.id.clone(),
                ..Default::default()
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::BadInput, "{err}");
    assert!(err.message.contains("at most 100 years"), "{err}");
    assert_eq!(f.count("licenses"), before);
}

#[test]
fn online_activation_refuses_control_characters_and_the_log_defuses_them() {
    let mut f = fixture();
    let policy = f.policy("Seats", |p| {
        p.floating = true;
        p.max_machines = Some(5);
    });
    let license = f.issue(&policy);
    let activation = |hwid: &str, machine: Option<&str>, user: Option<&str>| OnlineActivation {
        token: license.key.clone(),
        app_id: Some(f.product.id.clone()),
        machine: machine.map(Into::into),
        user: user.map(Into::into),
        hwid: hwid.into(),
        ip: Some("127.0.0.1".into()),
        ..Default::default()
    };
    let before = (f.count("machines"), f.count("audit_events"));
    for (input, field) in [
        (activation("hw\u{1b}[2J", None, None), "hwid"),
        (activation("hw-1", Some("lab\u{7}"), None), "machine"),
        (
            activation("hw-1", None, Some("ada\u{1b}]52;c;aGk=\u{7}")),
            "user",
        ),
        (activation("hw-1", None, Some("ada\u{202e}")), "user"),
        (activation("hw-1", Some("a\u{9b}31m"), None), "machine"),
    ] {
        let err = f.kw.online_activate(&input, now()).unwrap_err();
        assert_eq!(err.code, ErrorCode::BadInput);
        assert!(
            err.message.starts_with(&format!("{field} contains")),
            "{err}"
        );
    }
    assert_eq!((f.count("machines"), f.count("audit_events")), before);

    // A caller that skips the server's check cannot store an escape in the log.
    f.kw.record_server_events(&[NewServerEvent {
        at: now(),
        endpoint: "check".into(),
        machine: Some("lab\u{1b}]52;c;aGk=\u{7}".into()),
        user: Some("ada\u{202e}".into()),
        hwid: Some("hw\u{85}1".into()),
        status: 404,
        result: "NOT_FOUND".into(),
        ..NewServerEvent::default()
    }])
    .unwrap();
    let logged = &f.kw.server_events(1).unwrap()[0];
    assert_eq!(
        logged.machine.as_deref(),
        Some("lab\u{fffd}]52;c;aGk=\u{fffd}")
    );
    assert_eq!(logged.user.as_deref(), Some("ada\u{fffd}"));
    assert_eq!(logged.hwid.as_deref(), Some("hw\u{fffd}1"));
}

#[test]
fn window_only_fields_refuse_control_characters_too() {
    let mut f = fixture();
    let policy = f.policy("Seats", |p| {
        p.floating = true;
        p.max_machines = Some(5);
    });
    let license = f.issue(&policy);
    let machine = |os_user: Option<&str>, app_version: Option<&str>| ActivateMachine {
        license_id: license.id.clone(),
        fingerprint: "fp-1".into(),
        os_user: os_user.map(Into::into),
        app_version: app_version.map(Into::into),
        ..Default::default()
    };
    for (input, field) in [
        (machine(Some("ada\u{1b}"), None), "OS user"),
        (machine(None, Some("1.0\u{7f}")), "app version"),
    ] {
        let err = f.kw.activate_machine(&input, now()).unwrap_err();
        assert!(
            err.message.starts_with(&format!("{field} contains")),
            "{err}"
        );
    }
    let m = f.kw.activate_machine(&machine(None, None), now()).unwrap();
    for (hostname, platform, field) in [
        (Some("h\u{1b}"), None, "hostname"),
        (None, Some("linux\u{2066}"), "platform"),
    ] {
        let err =
            f.kw.transfer_machine(
                &TransferMachine {
                    machine_id: m.id.clone(),
                    fingerprint: "fp-2".into(),
                    hostname: hostname.map(Into::into),
                    platform: platform.map(Into::into),
                    ..Default::default()
                },
                now(),
            )
            .unwrap_err();
        assert!(
            err.message.starts_with(&format!("{field} contains")),
            "{err}"
        );
    }
    assert_eq!(f.count("machines"), 1);

    // Settings (the window's renewal period and export lifetime) use the same parser.
    for bad in ["1Mo", "101y"] {
        let err = Settings {
            default_renew_by: bad.into(),
            ..Settings::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::BadInput, "{bad}");
    }
}
