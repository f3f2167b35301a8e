//! Validation beyond the signature, on files sealed here: one test per code, in the
//! documented order.
#![cfg(feature = "sign")]

use jiff::{SignedDuration, Timestamp};
use keywright_license::issue::{seal, EncryptionSecret, SigningKey};
use keywright_license::{
    parse_time, ExpirationStrategy, FileAlgorithm, FileKind, FormatError, Pin, PublicKey,
    TrustedKeys, ValidationCode as C, Verifier,
};
use rand_core::OsRng;
use serde_json::{json, Value};

const ALG: FileAlgorithm = FileAlgorithm::Aes256GcmEd25519;
const KEY: &str = "ABCDEF-123456-ABCDEF-123456-ABCDEF-V3";
const PRODUCT: &str = "prod-1";
const FP: &str = "fp-this-machine";

fn time(s: &str) -> Timestamp {
    parse_time(s).unwrap()
}

fn issued() -> Timestamp {
    time("2025-01-01T00:00:00Z")
}

fn now() -> Timestamp {
    time("2025-01-10T00:00:00Z")
}

fn signer() -> SigningKey {
    SigningKey::from_seed(&[42u8; 32]).unwrap()
}

fn public() -> PublicKey {
    signer().public_key()
}

/// A license document in Keygen's shape; `edit` tweaks it before sealing.
fn license_doc(edit: impl FnOnce(&mut Value)) -> Value {
    let mut doc = json!({
        "data": {
            "id": "lic-1",
            "type": "licenses",
            "attributes": {
                "name": "Test", "key": KEY, "expiry": "2025-06-01T00:00:00.000Z",
                "status": "ACTIVE", "suspended": false, "maxMachines": 2
            },
            "relationships": {
                "product": {"data": {"type": "products", "id": PRODUCT}},
                "policy": {"data": {"type": "policies", "id": "pol-1"}},
                "machines": {"meta": {"count": 1}},
                "entitlements": {"data": [{"type": "entitlements", "id": "ent-1"}]}
            }
        },
        "included": [
            {"type": "entitlements", "id": "ent-1", "attributes": {"code": "PRO"}}
        ],
        "meta": {"issued": "2025-01-01T00:00:00.000Z", "expiry": "2025-02-01T00:00:00.000Z", "ttl": 2678400}
    });
    edit(&mut doc);
    doc
}

fn machine_doc(edit: impl FnOnce(&mut Value)) -> Value {
    let license = license_doc(|_| {})["data"].clone();
    let mut doc = json!({
        "data": {
            "id": "mach-1",
            "type": "machines",
            "attributes": {"fingerprint": FP},
            "relationships": {
                "product": {"data": {"type": "products", "id": PRODUCT}},
                "license": {"data": {"type": "licenses", "id": "lic-1"}}
            }
        },
        "included": [license, {"type": "entitlements", "id": "ent-1", "attributes": {"code": "PRO"}}],
        "meta": {"issued": "2025-01-01T00:00:00.000Z", "expiry": "2025-02-01T00:00:00.000Z", "ttl": 2678400}
    });
    edit(&mut doc);
    doc
}

fn sealed(kind: FileKind, doc: &Value) -> String {
    let secret = match kind {
        FileKind::License => EncryptionSecret::for_license(KEY),
        FileKind::Machine => EncryptionSecret::for_machine(KEY, FP),
        other => panic!("no {other:?} files here"),
    };
    let payload = serde_json::to_vec(doc).unwrap();
    seal(kind, &payload, ALG, &signer(), Some(&secret), &mut OsRng).unwrap()
}

/// Validates a sealed license file of `doc` at `now`, with what the application
/// expects set on the verifier by `expect`.
fn check(doc: &Value, expect: impl FnOnce(Verifier<'_>) -> Verifier<'_>, now: Timestamp) -> C {
    let text = sealed(FileKind::License, doc);
    let public = public();
    let v = expect(Verifier::pinned(&public, ALG, now).license_key(KEY)).validate(&text);
    assert!(!v.message.is_empty());
    assert_eq!(v.is_valid(), v.code == C::Valid);
    v.code
}

/// No expectations.
fn plain(v: Verifier<'_>) -> Verifier<'_> {
    v
}

/// Some expectations: `f` sets them on any verifier (this names the closure's type
/// for every lifetime).
fn expecting<F: for<'a> Fn(Verifier<'a>) -> Verifier<'a>>(f: F) -> F {
    f
}

#[test]
fn valid_license_with_every_expectation_met() {
    let expect = expecting(|v| {
        v.license_key(KEY)
            .product(PRODUCT)
            .fingerprint(FP)
            .entitlements(["PRO"])
            .last_seen(time("2025-01-09T00:00:00Z"))
    });
    let text = sealed(FileKind::License, &license_doc(|_| {}));
    let public = public();
    let v = expect(Verifier::pinned(&public, ALG, now())).validate(&text);
    assert_eq!(v.code, C::Valid, "{v:?}");
    assert_eq!(v.message, C::Valid.message());
    let view = v.license.unwrap();
    assert_eq!(view.license_id.as_deref(), Some("lic-1"));
    assert_eq!(view.product_id.as_deref(), Some(PRODUCT));
    assert_eq!(view.policy_id.as_deref(), Some("pol-1"));
    assert_eq!(view.entitlements, ["PRO"]);
    assert_eq!(view.max_machines, Some(2));
    assert_eq!(view.machines_count, Some(1));
    assert_eq!(view.status.as_deref(), Some("ACTIVE"));
    assert_eq!(view.expiry, Some(time("2025-06-01T00:00:00Z")));
    assert!(!view.expired);
    assert_eq!(view.meta.issued, issued());

    // The same with a TrustedKeys set.
    let mut keys = TrustedKeys::new();
    keys.add(public, Pin::File(ALG)).unwrap();
    let v = expect(Verifier::new(&keys, now())).validate(&text);
    assert_eq!(v.code, C::Valid, "{v:?}");
}

#[test]
fn signature_and_decryption_come_first() {
    let doc = license_doc(|d| d["data"]["attributes"]["status"] = json!("BANNED"));
    let text = sealed(FileKind::License, &doc);
    let public = public();
    let pinned = |public| Verifier::pinned(public, ALG, now());
    let v = pinned(&public).license_key("another key").validate(&text);
    assert_eq!(v.code, C::DecryptionFailed);
    assert_eq!(v.error, Some(FormatError::DecryptionFailed));
    assert!(v.license.is_none());
    let v = pinned(&public).validate(&text);
    assert_eq!(v.code, C::DecryptionFailed);
    assert_eq!(v.error, Some(FormatError::KeyRequired));

    let other = SigningKey::from_seed(&[7u8; 32]).unwrap().public_key();
    let v = pinned(&other).license_key(KEY).validate(&text);
    assert_eq!(v.code, C::SignatureInvalid);
    let mut keys = TrustedKeys::new();
    keys.add(other.clone(), Pin::File(ALG)).unwrap();
    let v = Verifier::new(&keys, now()).license_key(KEY).validate(&text);
    assert_eq!(v.code, C::UnknownKey);

    let v = pinned(&public).license_key(KEY).validate("junk");
    assert_eq!(v.code, C::Malformed);
    let v = pinned(&public)
        .kind(FileKind::Machine)
        .license_key(KEY)
        .fingerprint(FP)
        .validate(&text);
    assert_eq!(v.code, C::Malformed, "a license file is not a machine file");
}

#[test]
fn clock_tampered_beats_everything_after_it() {
    // Banned and expired, but the clock check comes first.
    let doc = license_doc(|d| {
        d["data"]["attributes"]["status"] = json!("BANNED");
    });
    let before_issue = time("2024-12-31T23:50:00Z");
    assert_eq!(check(&doc, plain, before_issue), C::ClockTampered);
    // Within the drift: not tampered.
    let within = time("2024-12-31T23:56:00Z");
    assert_eq!(check(&doc, plain, within), C::Banned);

    // The clock was turned back behind a stored last-seen time.
    let seen = expecting(|v| v.last_seen(time("2025-01-20T00:00:00Z")));
    assert_eq!(check(&doc, seen, now()), C::ClockTampered);
    let recently = expecting(|v| v.last_seen(now() + SignedDuration::from_mins(4)));
    assert_eq!(check(&doc, recently, now()), C::Banned, "within drift");
    let no_drift = expecting(|v| recently(v).clock_drift(SignedDuration::ZERO));
    assert_eq!(check(&doc, no_drift, now()), C::ClockTampered);
}

#[test]
fn file_expired_before_status() {
    let doc = license_doc(|d| d["data"]["attributes"]["status"] = json!("SUSPENDED"));
    assert_eq!(
        check(&doc, plain, time("2025-02-01T00:00:01Z")),
        C::FileExpired
    );
    assert_eq!(check(&doc, plain, now()), C::Suspended);
}

#[test]
fn suspended_and_banned() {
    let banned = license_doc(|d| d["data"]["attributes"]["status"] = json!("BANNED"));
    assert_eq!(check(&banned, plain, now()), C::Banned);
    let suspended = license_doc(|d| d["data"]["attributes"]["status"] = json!("SUSPENDED"));
    assert_eq!(check(&suspended, plain, now()), C::Suspended);
    // Older documents: only the flag.
    let flag = license_doc(|d| {
        let attrs = d["data"]["attributes"].as_object_mut().unwrap();
        attrs.remove("status");
        attrs.insert("suspended".into(), json!(true));
    });
    assert_eq!(check(&flag, plain, now()), C::Suspended);
    // Status before license expiry.
    let both = license_doc(|d| {
        d["data"]["attributes"]["status"] = json!("SUSPENDED");
        d["data"]["attributes"]["expiry"] = json!("2025-01-05T00:00:00.000Z");
    });
    assert_eq!(check(&both, plain, now()), C::Suspended);
}

#[test]
fn expired_per_strategy() {
    let doc = license_doc(|d| {
        d["data"]["attributes"]["expiry"] = json!("2025-01-05T00:00:00.000Z");
        d["data"]["attributes"]["status"] = json!("EXPIRED");
    });
    for (strategy, code) in [
        (ExpirationStrategy::RestrictAccess, C::Expired),
        (ExpirationStrategy::RevokeAccess, C::Expired),
        (ExpirationStrategy::MaintainAccess, C::Valid),
        (ExpirationStrategy::AllowAccess, C::Valid),
    ] {
        let expect = expecting(|v| v.expiration_strategy(strategy));
        assert_eq!(check(&doc, expect, now()), code, "{}", strategy.as_str());
        let text = sealed(FileKind::License, &doc);
        let public = public();
        let v = expect(Verifier::pinned(&public, ALG, now()).license_key(KEY)).validate(&text);
        assert!(v.license.unwrap().expired);
    }
    // Exactly at the expiry it is not yet expired; never-expiring licenses never are.
    assert_eq!(check(&doc, plain, time("2025-01-05T00:00:00Z")), C::Valid);
    let forever = license_doc(|d| d["data"]["attributes"]["expiry"] = Value::Null);
    assert_eq!(check(&forever, plain, now()), C::Valid);
    assert_eq!(
        serde_json::to_string(&ExpirationStrategy::MaintainAccess).unwrap(),
        "\"MAINTAIN_ACCESS\""
    );
}

#[test]
fn product_mismatch() {
    let expect = expecting(|v| v.product("another-product").entitlements(["MISSING"]));
    assert_eq!(
        check(&license_doc(|_| {}), expect, now()),
        C::ProductMismatch
    );
    let no_product = license_doc(|d| {
        d["data"]["relationships"]
            .as_object_mut()
            .unwrap()
            .remove("product");
    });
    let expect = expecting(|v| v.product(PRODUCT));
    assert_eq!(check(&no_product, expect, now()), C::ProductMismatch);
}

#[test]
fn fingerprint_mismatch_on_license_files_with_included_machines() {
    let with_machines = license_doc(|d| {
        d["included"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "machines", "id": "m1", "attributes": {"fingerprint": "other"}}));
    });
    let expect = expecting(|v| v.fingerprint(FP).entitlements(["MISSING"]));
    assert_eq!(check(&with_machines, expect, now()), C::FingerprintMismatch);
    // Without included machines the file says nothing about fingerprints.
    let expect = expecting(|v| v.fingerprint(FP));
    assert_eq!(check(&license_doc(|_| {}), expect, now()), C::Valid);
}

#[test]
fn entitlements_missing_names_them() {
    let text = sealed(FileKind::License, &license_doc(|_| {}));
    let public = public();
    let v = Verifier::pinned(&public, ALG, now())
        .license_key(KEY)
        .entitlements(["PRO", "SSO"])
        .entitlements(["AUDIT"])
        .validate(&text);
    assert_eq!(v.code, C::EntitlementsMissing);
    assert!(v.message.contains("SSO, AUDIT"), "{}", v.message);
    assert!(!v.message.contains("PRO"), "{}", v.message);
    // Linkage without included resources: ids count.
    let linkage_only = license_doc(|d| d["included"] = json!([]));
    let by_id = expecting(|v| v.entitlements(["ent-1"]));
    assert_eq!(check(&linkage_only, by_id, now()), C::Valid);
    let by_code = expecting(|v| v.entitlements(["PRO"]));
    assert_eq!(check(&linkage_only, by_code, now()), C::EntitlementsMissing);
}

#[test]
fn too_many_machines_only_when_the_file_says_so() {
    let count = |n: i64| {
        license_doc(move |d| d["data"]["relationships"]["machines"]["meta"]["count"] = json!(n))
    };
    assert_eq!(check(&count(2), plain, now()), C::Valid);
    assert_eq!(check(&count(3), plain, now()), C::TooManyMachines);
    // Entitlements come first.
    let expect = expecting(|v| v.entitlements(["SSO"]));
    assert_eq!(check(&count(3), expect, now()), C::EntitlementsMissing);
    // Included machines count too.
    let included = license_doc(|d| {
        let inc = d["included"].as_array_mut().unwrap();
        for i in 0..3 {
            inc.push(json!({"type": "machines", "id": format!("m{i}"), "attributes": {"fingerprint": format!("fp{i}")}}));
        }
    });
    assert_eq!(check(&included, plain, now()), C::TooManyMachines);
    // The included policy's overage allowance.
    let overage = |strategy: &str, n: i64| {
        let strategy = strategy.to_owned();
        license_doc(move |d| {
            d["data"]["relationships"]["machines"]["meta"]["count"] = json!(n);
            d["data"]["attributes"]["maxMachines"] = json!(4);
            d["included"].as_array_mut().unwrap().push(json!({
                "type": "policies", "id": "pol-1",
                "attributes": {"overageStrategy": strategy}
            }));
        })
    };
    assert_eq!(
        check(&overage("ALLOW_1_25X_OVERAGE", 5), plain, now()),
        C::Valid
    );
    assert_eq!(
        check(&overage("ALLOW_1_25X_OVERAGE", 6), plain, now()),
        C::TooManyMachines
    );
    assert_eq!(
        check(&overage("ALLOW_2X_OVERAGE", 8), plain, now()),
        C::Valid
    );
    assert_eq!(
        check(&overage("ALWAYS_ALLOW_OVERAGE", 100), plain, now()),
        C::Valid
    );
    assert_eq!(
        check(&overage("NO_OVERAGE", 5), plain, now()),
        C::TooManyMachines
    );
    // No maxMachines: never too many.
    let unlimited = license_doc(|d| {
        d["data"]["attributes"]["maxMachines"] = Value::Null;
        d["data"]["relationships"]["machines"]["meta"]["count"] = json!(1000);
    });
    assert_eq!(check(&unlimited, plain, now()), C::Valid);
}

#[test]
fn machine_files() {
    let public = public();
    let machine = |alg| {
        Verifier::pinned(&public, alg, now())
            .kind(FileKind::Machine)
            .license_key(KEY)
            .product(PRODUCT)
            .fingerprint(FP)
            .entitlements(["PRO"])
    };
    let text = sealed(FileKind::Machine, &machine_doc(|_| {}));
    let v = machine(ALG).validate(&text);
    assert_eq!(v.code, C::Valid, "{v:?}");
    let view = v.license.unwrap();
    assert_eq!(view.kind, FileKind::Machine);
    assert_eq!(view.machine_id.as_deref(), Some("mach-1"));
    assert_eq!(view.fingerprint.as_deref(), Some(FP));
    assert_eq!(view.license_id.as_deref(), Some("lic-1"));
    assert_eq!(view.status.as_deref(), Some("ACTIVE"));

    // A machine file (unencrypted, so it opens anywhere) for another machine.
    let plain_alg = FileAlgorithm::Base64Ed25519;
    let payload = serde_json::to_vec(&machine_doc(|d| {
        d["data"]["attributes"]["fingerprint"] = json!("someone-else")
    }))
    .unwrap();
    let other = seal(
        FileKind::Machine,
        &payload,
        plain_alg,
        &signer(),
        None,
        &mut OsRng,
    )
    .unwrap();
    let v = machine(plain_alg).validate(&other);
    assert_eq!(v.code, C::FingerprintMismatch);

    // The included license's status applies.
    let banned = sealed(
        FileKind::Machine,
        &machine_doc(|d| d["included"][0]["attributes"]["status"] = json!("BANNED")),
    );
    let v = machine(ALG).validate(&banned);
    assert_eq!(v.code, C::Banned);
}

#[test]
fn unreadable_documents_are_malformed() {
    let public = public();
    for doc in [
        json!({"meta": {"issued": "2025-01-01T00:00:00.000Z", "expiry": null, "ttl": null}}),
        json!({"data": {"type": "machines"}, "meta": {"issued": "2025-01-01T00:00:00.000Z", "expiry": null, "ttl": null}}),
        license_doc(|d| d["data"]["attributes"]["expiry"] = json!("tomorrow")),
    ] {
        let text = sealed(FileKind::License, &doc);
        let v = Verifier::pinned(&public, ALG, now())
            .license_key(KEY)
            .validate(&text);
        assert_eq!(v.code, C::Malformed, "{doc}");
        assert!(v.error.is_some());
    }
}

/// The included policy's options come from the file: its expiration strategy wins over
/// the caller's default, `strict: false` skips the machine count, and the grace period
/// in its metadata keeps a file valid after its TTL for exactly that long.
#[test]
fn policy_options_from_the_file() {
    let with_policy = |attributes: Value, edit: fn(&mut Value)| {
        let mut doc = license_doc(|d| {
            d["included"]
                .as_array_mut()
                .unwrap()
                .push(json!({"type": "policies", "id": "pol-1", "attributes": attributes}));
        });
        edit(&mut doc);
        doc
    };
    let expired =
        |d: &mut Value| d["data"]["attributes"]["expiry"] = json!("2025-01-05T00:00:00.000Z");
    let maintain = with_policy(json!({"expirationStrategy": "MAINTAIN_ACCESS"}), expired);
    assert_eq!(check(&maintain, plain, now()), C::Valid);
    let restrict = with_policy(json!({"expirationStrategy": "RESTRICT_ACCESS"}), expired);
    let lenient = expecting(|v| v.expiration_strategy(ExpirationStrategy::AllowAccess));
    assert_eq!(check(&restrict, lenient, now()), C::Expired);
    let bogus = with_policy(json!({"expirationStrategy": "SOMETIMES"}), expired);
    assert_eq!(check(&bogus, plain, now()), C::Malformed);

    // strict: false skips TOO_MANY_MACHINES; strict: true (or absent) keeps it.
    let over = |strict: bool| {
        license_doc(move |d| {
            d["data"]["attributes"]["strict"] = json!(strict);
            d["data"]["relationships"]["machines"]["meta"]["count"] = json!(5);
        })
    };
    assert_eq!(check(&over(false), plain, now()), C::Valid);
    assert_eq!(check(&over(true), plain, now()), C::TooManyMachines);

    // Grace: 7 days after meta.expiry (2025-02-01).
    let grace = with_policy(
        json!({"metadata": {"offlineGracePeriod": 7 * 86_400}}),
        |_| {},
    );
    assert_eq!(check(&grace, plain, time("2025-02-05T00:00:00Z")), C::Valid);
    assert_eq!(check(&grace, plain, time("2025-02-08T00:00:00Z")), C::Valid);
    assert_eq!(
        check(&grace, plain, time("2025-02-08T00:00:01Z")),
        C::FileExpired
    );
    let text = sealed(FileKind::License, &grace);
    let public = public();
    let v = Verifier::pinned(&public, ALG, time("2025-02-05T00:00:00Z"))
        .license_key(KEY)
        .validate(&text);
    let view = v.license.unwrap();
    assert!(view.in_grace);
    assert_eq!(view.offline_grace, Some(SignedDuration::from_hours(7 * 24)));
    assert!(v.message.contains("grace"), "{}", v.message);
    let no_grace = license_doc(|_| {});
    assert_eq!(
        check(&no_grace, plain, time("2025-02-05T00:00:00Z")),
        C::FileExpired
    );
}
