//! Validation on Keygen's own files (tests/vectors), verify-only.

use jiff::{SignedDuration, Timestamp};
use keywright_license::{
    parse_time, FileAlgorithm, FileKind, FileMeta, Pin, PublicKey, TrustedKeys,
    ValidationCode as C, Verifier,
};

const AES: FileAlgorithm = FileAlgorithm::Aes256GcmEd25519;
const GO_MACHINE_FP: &str = "39bb2cae-af5a-40c2-80f7-9e2ea0f90d17";

fn read(rel: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(rel);
    std::fs::read_to_string(path).unwrap()
}

fn time(s: &str) -> Timestamp {
    parse_time(s).unwrap()
}

fn demo_key() -> PublicKey {
    PublicKey::parse(&read("pubkeys/keygen-demo-ed25519.hex")).unwrap()
}

fn go_license_key() -> String {
    read("keys/example-java.ed25519-key.key").trim().to_owned()
}

#[test]
fn keygen_go_machine_file() {
    let text = read("files/keygen-go.machine.lic");
    let public = demo_key();
    let key = go_license_key();
    let valid_at = time("2022-05-24T22:15:06.357Z");

    let machine = |now| {
        Verifier::pinned(&public, AES, now)
            .kind(FileKind::Machine)
            .license_key(key.as_str())
    };

    // Wrong fingerprint: the secret is wrong, so the file does not decrypt.
    let v = machine(valid_at)
        .fingerprint("not-this-machine")
        .validate(&text);
    assert_eq!(v.code, C::DecryptionFailed);

    let right = |now| {
        machine(now)
            .fingerprint(GO_MACHINE_FP)
            .product("1f086ec9-a943-46ea-9da4-e62c2180c2f4")
            .entitlements(["DEMO_ENTITLEMENT"])
    };
    let v = right(valid_at).validate(&text);
    assert_eq!(v.code, C::Valid, "{v:?}");
    let view = v.license.unwrap();
    assert_eq!(view.fingerprint.as_deref(), Some(GO_MACHINE_FP));
    assert_eq!(
        view.license_id.as_deref(),
        Some("f3d657de-2b50-4adf-867b-ef03dc86a3fe")
    );
    assert_eq!(view.entitlements, ["DEMO_ENTITLEMENT"]);

    // Today the file's TTL is long past.
    let today = time("2026-11-23T00:00:00Z");
    let v = right(today).validate(&text);
    assert_eq!(v.code, C::FileExpired);

    // Another product.
    let v = right(valid_at).product("another").validate(&text);
    assert_eq!(v.code, C::ProductMismatch);
}

#[test]
fn license_file_vectors_with_trusted_keys() {
    let mut keys = TrustedKeys::new();
    keys.add(demo_key(), Pin::File(AES)).unwrap();
    // example-rust: maxMachines 1, entitlements included, license expiry 2025-01-01.
    let text = read("files/example-rust.license.lic");
    let license_key = "988214-879010-F1185E-B37E91-E53AF5-V3";
    let valid_at = time("2022-08-08T17:32:34.431Z");
    let verifier = Verifier::new(&keys, valid_at).license_key(license_key);
    let v = verifier.validate(&text);
    assert_eq!(v.code, C::Valid, "{v:?}");
    let view = v.license.unwrap();
    assert_eq!(view.max_machines, Some(1));
    assert_eq!(view.entitlements.len(), 3);
    assert_eq!(view.expiry, Some(time("2025-01-01T00:00:00Z")));

    let v = verifier
        .entitlements(["NOT_A_REAL_ENTITLEMENT"])
        .validate(&text);
    assert_eq!(v.code, C::EntitlementsMissing);

    // A never-expiring file of a license that never expires: valid today.
    let text = read("files/keygen-go.license-nottl.lic");
    let go_key = go_license_key();
    let today = time("2026-11-23T00:00:00Z");
    let v = Verifier::new(&keys, today)
        .license_key(go_key.as_str())
        .validate(&text);
    assert_eq!(v.code, C::Valid, "{v:?}");
}

#[test]
fn grace_period() {
    let t = time;
    let meta = FileMeta {
        issued: t("2024-01-01T00:00:00Z"),
        expiry: Some(t("2024-02-01T00:00:00Z")),
        ttl: Some(2_629_746),
    };
    let week = SignedDuration::from_hours(7 * 24);
    // Not yet expired: the full grace.
    assert_eq!(
        meta.grace_remaining(week, t("2024-01-15T00:00:00Z")),
        Some(week)
    );
    assert_eq!(
        meta.grace_remaining(week, t("2024-02-01T00:00:00Z")),
        Some(week)
    );
    // Two days late: five days left.
    assert_eq!(
        meta.grace_remaining(week, t("2024-02-03T00:00:00Z")),
        Some(SignedDuration::from_hours(5 * 24))
    );
    // Exactly at the end, then beyond.
    assert_eq!(
        meta.grace_remaining(week, t("2024-02-08T00:00:00Z")),
        Some(SignedDuration::ZERO)
    );
    assert_eq!(
        meta.grace_remaining(week, t("2024-02-08T00:00:00.001Z")),
        None
    );
    // No grace at all; negative grace counts as none.
    assert_eq!(
        meta.grace_remaining(SignedDuration::ZERO, t("2024-02-01T00:00:01Z")),
        None
    );
    assert_eq!(
        meta.grace_remaining(-week, t("2024-01-15T00:00:00Z")),
        Some(SignedDuration::ZERO)
    );
    // Never expires: always the full grace.
    let forever = FileMeta {
        expiry: None,
        ttl: None,
        ..meta
    };
    assert_eq!(
        forever.grace_remaining(week, t("2999-01-01T00:00:00Z")),
        Some(week)
    );
    // Extreme values do not panic.
    assert!(meta
        .grace_remaining(SignedDuration::MAX, Timestamp::MAX)
        .is_some());
    assert_eq!(meta.grace_remaining(week, Timestamp::MAX), None);
}
