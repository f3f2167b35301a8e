//! The machine document we write: Keygen's shape, and what `Verifier::validate`
//! reads from it once sealed.
#![cfg(feature = "sign")]

use jiff::Timestamp;
use keywright_license::issue::{
    seal, EncryptionSecret, LicenseDocument, MachineDocument, SigningKey,
};
use keywright_license::{
    parse_time, FileAlgorithm, FileKind, LicenseStatus, Scheme, ValidationCode as C, Verifier,
};
use rand_core::OsRng;
use serde_json::Value;

const KEY: &str = "key/eyJsaWNlbnNlIjp7fX0=.c2ln";
const FP: &str = "af249c134edd21c508e2114f0dd52628caf36e002edd9cada71eedb2d52f6841";

fn time(s: &str) -> Timestamp {
    parse_time(s).unwrap()
}

fn machine(status: LicenseStatus, expiry: Option<Timestamp>) -> MachineDocument {
    MachineDocument {
        id: "m-1".into(),
        fingerprint: FP.into(),
        name: Some("Lab PC".into()),
        hostname: Some("lab-pc-07".into()),
        platform: Some("linux-x86_64".into()),
        metadata: serde_json::Map::new(),
        require_heartbeat: false,
        heartbeat_status: "NOT_STARTED",
        heartbeat_duration: Some(600),
        last_heartbeat: None,
        next_heartbeat: None,
        created: time("2026-01-01T00:00:00Z"),
        updated: time("2026-01-01T00:00:00Z"),
        license: LicenseDocument {
            id: "l-1".into(),
            account_id: "acct".into(),
            product_id: "prod".into(),
            policy_id: "pol".into(),
            user_id: Some("u-1".into()),
            name: Some("Ada".into()),
            key: KEY.into(),
            expiry,
            status,
            scheme: Some(Scheme::Ed25519Sign),
            encrypted: false,
            strict: true,
            floating: false,
            protected: true,
            max_machines: Some(1),
            metadata: serde_json::Map::new(),
            created: time("2026-01-01T00:00:00Z"),
            updated: time("2026-01-01T00:00:00Z"),
            machines_count: 1,
            entitlement_ids: Vec::new(),
        },
    }
}

#[test]
fn payload_has_keygens_shape() {
    let issued = time("2026-02-01T00:00:00.5Z");
    let doc = machine(LicenseStatus::Active, None);
    let payload = doc.to_payload(issued, Some(86_400)).unwrap();
    let v: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(v["data"]["type"], "machines");
    assert_eq!(v["data"]["attributes"]["fingerprint"], FP);
    assert_eq!(v["data"]["attributes"]["hostname"], "lab-pc-07");
    assert_eq!(
        v["data"]["attributes"]["lastCheckOut"],
        "2026-02-01T00:00:00.500Z"
    );
    assert_eq!(v["data"]["relationships"]["license"]["data"]["id"], "l-1");
    assert_eq!(v["data"]["links"]["self"], "/v1/accounts/acct/machines/m-1");
    assert_eq!(v["included"][0]["type"], "licenses");
    assert_eq!(v["included"][0]["attributes"]["key"], KEY);
    assert_eq!(
        v["included"][0]["relationships"]["machines"]["meta"]["count"],
        1
    );
    assert_eq!(v["meta"]["issued"], "2026-02-01T00:00:00.500Z");
    assert_eq!(v["meta"]["expiry"], "2026-02-02T00:00:00.500Z");
    assert_eq!(v["meta"]["ttl"], 86_400);
    // Keygen's attribute order, byte for byte.
    let text = String::from_utf8(payload).unwrap();
    assert!(text.contains(&format!(
        r#""attributes":{{"fingerprint":"{FP}","cores":null,"ip":null,"hostname":"lab-pc-07","platform":"linux-x86_64","name":"Lab PC","requireHeartbeat":false,"heartbeatStatus":"NOT_STARTED","heartbeatDuration":600,"maxProcesses":null"#
    )));
    assert!(
        doc.to_payload(issued, Some(60)).is_err(),
        "TTL below an hour"
    );
}

#[test]
fn sealed_machine_file_validates_only_on_its_machine() {
    let signer = SigningKey::generate(&mut OsRng);
    let public = signer.public_key();
    let alg = FileAlgorithm::Aes256GcmEd25519;
    let issued = time("2026-02-01T00:00:00Z");
    // Sealed for the machine `fingerprint` (whatever the document says).
    let seal_for = |doc: &MachineDocument, fingerprint: &str| {
        let payload = doc.to_payload(issued, None).unwrap();
        let secret = EncryptionSecret::for_machine(KEY, fingerprint);
        seal(
            FileKind::Machine,
            &payload,
            alg,
            &signer,
            Some(&secret),
            &mut OsRng,
        )
        .unwrap()
    };
    let seal_doc = |doc: &MachineDocument| seal_for(doc, FP);
    let now = time("2026-02-02T00:00:00Z");
    let on = |fingerprint| {
        Verifier::pinned(&public, alg, now)
            .kind(FileKind::Machine)
            .license_key(KEY)
            .fingerprint(fingerprint)
            .product("prod")
    };
    let file = seal_doc(&machine(LicenseStatus::Active, None));
    let v = on(FP).validate(&file);
    assert_eq!(v.code, C::Valid, "{}", v.message);
    let view = v.license.unwrap();
    assert_eq!(view.license_id.as_deref(), Some("l-1"));
    assert_eq!(view.machine_id.as_deref(), Some("m-1"));

    let v = on("other").validate(&file);
    assert_eq!(v.code, C::DecryptionFailed);
    // A file that decrypts on "other" but names FP: the document decides.
    let misbound = seal_for(&machine(LicenseStatus::Active, None), "other");
    let v = on("other").validate(&misbound);
    assert_eq!(v.code, C::FingerprintMismatch);

    let file = seal_doc(&machine(LicenseStatus::Suspended, None));
    let v = on(FP).validate(&file);
    assert_eq!(v.code, C::Suspended);
    let file = seal_doc(&machine(
        LicenseStatus::Active,
        Some(time("2026-01-15T00:00:00Z")),
    ));
    let v = on(FP).validate(&file);
    assert_eq!(v.code, C::Expired);
}
