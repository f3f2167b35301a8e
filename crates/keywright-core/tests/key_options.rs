//! Policy key options end to end over a real SQLite file: custom key templates (checked
//! when the policy is created, rendered into the signed key when a license is issued)
//! and unsigned human-typable keys (random, not verifiable as signed keys, their
//! license files still signed).

mod common;

use keywright_core::verify::{verify, VerifyRequest};
use keywright_core::*;
use keywright_license::issue::{render_template, TemplateVars, HUMAN_ALPHABET};
use keywright_license::ValidationCode;

use common::{now, TestStore as Fixture};

fn fixture() -> Fixture {
    Fixture::new()
}

fn product_with_key(kw: &mut Keywright, algorithm: KeyAlgorithm) -> (SigningKey, Product) {
    let key = kw
        .create_signing_key(
            &NewSigningKey {
                name: format!("{} key", algorithm.as_str()),
                algorithm,
            },
            now(),
        )
        .unwrap();
    let product = kw
        .create_product(
            &NewProduct {
                name: format!("Zapper {}", algorithm.as_str()),
                signing_key_id: Some(key.id.clone()),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    (key, product)
}

fn count(kw: &Keywright, table: &str) -> i64 {
    common::Raw::of(kw).count(table)
}

fn verify_key(key: &SigningKey, license_key: &str, scheme: Scheme) -> verify::VerifyReport {
    verify(
        &VerifyRequest {
            key: Some(license_key.to_owned()),
            public_key: key.public_key_pem.clone(),
            scheme: Some(scheme.as_str().into()),
            ..Default::default()
        },
        now(),
    )
    .unwrap()
}

/// The template variables of an issued license, as the store has them.
fn vars_of(kw: &Keywright, license: &License, policy: &Policy) -> TemplateVars {
    TemplateVars {
        account: kw.store_info().store_id,
        product: license.product_id.clone(),
        policy: policy.id.clone(),
        user: license.customer_id.clone(),
        email: license.customer_email.clone(),
        created: license.created_at.parse().unwrap(),
        expiry: license.expiry.as_deref().map(|e| e.parse().unwrap()),
        duration: policy.duration_seconds,
        id: license.id.clone(),
    }
}

const EVERY_VARIABLE: &str =
    "{{id}}|{{ email }}|{{expiry}}|{{duration}}|{{product}}|{{policy}}|{{account}}|{{user}}|{{created}}";

#[test]
fn template_policies_sign_the_rendered_dataset_for_every_scheme_family() {
    let mut f = fixture();
    let ed = product_with_key(&mut f.kw, KeyAlgorithm::Ed25519);
    let rsa = product_with_key(&mut f.kw, KeyAlgorithm::Rsa2048);
    let p256 = product_with_key(&mut f.kw, KeyAlgorithm::EcdsaP256);
    let cases = [
        (&ed, Scheme::Ed25519Sign, EVERY_VARIABLE),
        (&p256, Scheme::EcdsaP256Sign, EVERY_VARIABLE),
        (&rsa, Scheme::RsaPssSignV2, EVERY_VARIABLE),
        (&rsa, Scheme::RsaSign, EVERY_VARIABLE),
        (&rsa, Scheme::RsaEncrypt, "{{id}}|{{expiry}}|{{duration}}"),
        (
            &rsa,
            Scheme::RsaJwtRs256,
            r#"{"sub":"{{id}}","email":"{{email}}","exp":"{{expiry}}"}"#,
        ),
    ];
    for (i, ((key, product), scheme, template)) in cases.into_iter().enumerate() {
        let draft = NewPolicy {
            product_id: product.id.clone(),
            name: format!("templated {i}"),
            scheme: Some(scheme),
            duration: Some("1y".into()),
            key_template: Some(template.into()),
            ..Default::default()
        };
        let preview = f.kw.preview_key_template(&draft, now()).unwrap();
        assert!(!preview.unsigned);
        assert_eq!(preview.scheme, Some(scheme));
        assert!(
            preview
                .dataset
                .contains("00000000-0000-4000-8000-000000000002"),
            "the preview renders the sample license: {}",
            preview.dataset
        );
        assert_eq!(preview.bytes, preview.dataset.len() as u64);

        let policy = f.kw.create_policy(&draft, now()).unwrap();
        assert_eq!(policy.key_template.as_deref(), Some(template));
        assert!(!policy.unsigned_key);
        assert_eq!(
            f.kw.find_policy(&policy.id)
                .unwrap()
                .key_template
                .as_deref(),
            Some(template)
        );
        let license =
            f.kw.issue_license(
                &IssueLicense {
                    policy_id: policy.id.clone(),
                    customer_name: Some("Zoë".into()),
                    customer_email: Some(format!("zoe{i}@example.com")),
                    ..Default::default()
                },
                now(),
            )
            .unwrap_or_else(|e| panic!("{}: {e}", scheme.as_str()));

        let expected = render_template(template, &vars_of(&f.kw, &license, &policy)).unwrap();
        let report = verify_key(key, &license.key, scheme);
        assert_eq!(report.code, ValidationCode::Valid, "{scheme:?}: {report:?}");
        let expected_payload = serde_json::from_str(&expected)
            .unwrap_or_else(|_| serde_json::Value::String(expected.clone()));
        assert_eq!(report.payload.unwrap(), expected_payload, "{scheme:?}");
        if scheme != Scheme::RsaJwtRs256 {
            assert!(expected.starts_with(&license.id), "{expected}");
        }

        let issued = f.kw.audit_events().unwrap().pop().unwrap();
        assert_eq!(issued.action, "license.issue");
        assert_eq!(issued.signing_key_kid.as_deref(), Some(key.kid.as_str()));
        let detail: serde_json::Value = serde_json::from_str(&issued.detail).unwrap();
        assert_eq!(detail["keyTemplate"], true, "{detail}");
        assert_eq!(detail["unsignedKey"], false, "{detail}");
    }
    // Without a template the preview is Keygen's default dataset.
    let preview =
        f.kw.preview_key_template(
            &NewPolicy {
                product_id: ed.1.id.clone(),
                name: "default".into(),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    let default: serde_json::Value = serde_json::from_str(&preview.dataset).unwrap();
    assert_eq!(
        default["license"]["id"],
        "00000000-0000-4000-8000-000000000002"
    );
    assert_eq!(default["user"]["email"], "customer@example.com");
    assert!(f.kw.verify_audit().is_ok());
}

#[test]
fn bad_templates_are_refused_naming_the_problem_and_store_nothing() {
    let mut f = fixture();
    let (_, ed) = product_with_key(&mut f.kw, KeyAlgorithm::Ed25519);
    let (_, rsa) = product_with_key(&mut f.kw, KeyAlgorithm::Rsa2048);
    let policies = count(&f.kw, "policies");
    let audit = count(&f.kw, "audit_events");
    let long = format!("{{{{id}}}}{}", "x".repeat(250));
    let cases: Vec<(&Product, Option<Scheme>, &str, ErrorCode, &str)> = vec![
        (
            &ed,
            None,
            r#"{"id":"{{id}}","lic":"{{licence}}"}"#,
            ErrorCode::TemplateInvalid,
            "{{licence}}",
        ),
        (
            &ed,
            None,
            "{{ Expiry }}",
            ErrorCode::TemplateInvalid,
            "{{Expiry}}",
        ),
        (
            &ed,
            None,
            r#"{"email":{{email}}}"#,
            ErrorCode::TemplateInvalid,
            "invalid JSON",
        ),
        (&ed, None, "   ", ErrorCode::TemplateInvalid, ""),
        (
            &rsa,
            Some(Scheme::RsaJwtRs256),
            "{{id}}",
            ErrorCode::TemplateInvalid,
            "RSA_2048_JWT_RS256",
        ),
        (
            &rsa,
            Some(Scheme::RsaJwtRs256),
            r#"["{{id}}"]"#,
            ErrorCode::TemplateInvalid,
            "JSON object",
        ),
        (
            &rsa,
            Some(Scheme::RsaEncrypt),
            &long,
            ErrorCode::TemplateInvalid,
            "at most 245 bytes",
        ),
    ];
    for (product, scheme, template, code, needle) in cases {
        let draft = NewPolicy {
            product_id: product.id.clone(),
            name: "bad".into(),
            scheme,
            key_template: Some(template.into()),
            ..Default::default()
        };
        if template.trim().is_empty() {
            // Blank is no template at all: Keygen's default dataset.
            assert!(f.kw.preview_key_template(&draft, now()).is_ok());
            continue;
        }
        let err = f.kw.create_policy(&draft, now()).unwrap_err();
        assert_eq!(err.code, code, "{template}: {err}");
        assert!(err.message.contains(needle), "{template}: {err}");
        let preview_err = f.kw.preview_key_template(&draft, now()).unwrap_err();
        assert_eq!(preview_err, err, "preview and creation agree");
    }
    // Contradictory options.
    for (draft, needle) in [
        (
            NewPolicy {
                product_id: ed.id.clone(),
                name: "bad".into(),
                unsigned_key: true,
                key_template: Some("{{id}}".into()),
                ..Default::default()
            },
            "only for signed keys",
        ),
        (
            NewPolicy {
                product_id: ed.id.clone(),
                name: "bad".into(),
                unsigned_key: true,
                scheme: Some(Scheme::Ed25519Sign),
                ..Default::default()
            },
            "no scheme",
        ),
    ] {
        let err = f.kw.create_policy(&draft, now()).unwrap_err();
        assert_eq!(err.code, ErrorCode::BadInput, "{err}");
        assert!(err.message.contains(needle), "{err}");
    }
    assert_eq!(count(&f.kw, "policies"), policies);
    assert_eq!(count(&f.kw, "audit_events"), audit);
}

#[test]
fn issuing_rechecks_the_real_rendering() {
    // The sample email fits in 245 bytes; a real customer's longer one does not.
    let mut f = fixture();
    let (_, rsa) = product_with_key(&mut f.kw, KeyAlgorithm::Rsa2048);
    let template = format!("{{{{email}}}}{}", "x".repeat(220));
    let policy =
        f.kw.create_policy(
            &NewPolicy {
                product_id: rsa.id.clone(),
                name: "tight".into(),
                scheme: Some(Scheme::RsaEncrypt),
                key_template: Some(template),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    let licenses = count(&f.kw, "licenses");
    let customers = count(&f.kw, "customers");
    let err =
        f.kw.issue_license(
            &IssueLicense {
                policy_id: policy.id.clone(),
                customer_email: Some("a-rather-long-address@customers.example.com".into()),
                ..Default::default()
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::TemplateInvalid, "{err}");
    assert!(err.message.contains("245"), "{err}");
    assert_eq!(count(&f.kw, "licenses"), licenses);
    assert_eq!(count(&f.kw, "customers"), customers);
}

fn is_human_key(key: &str, prefix: &str) -> bool {
    let Some(body) = key.strip_prefix(&format!("{prefix}-")) else {
        return false;
    };
    let groups: Vec<&str> = body.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .all(|g| g.len() == 5 && g.chars().all(|c| HUMAN_ALPHABET.contains(c)))
}

#[test]
fn unsigned_policies_issue_random_human_keys_whose_files_are_signed() {
    let mut f = fixture();
    for algorithm in [
        KeyAlgorithm::Ed25519,
        KeyAlgorithm::Rsa2048,
        KeyAlgorithm::EcdsaP256,
    ] {
        let (key, product) = product_with_key(&mut f.kw, algorithm);
        let prefix: String = product
            .code
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let draft = NewPolicy {
            product_id: product.id.clone(),
            name: "Unsigned".into(),
            unsigned_key: true,
            duration: Some("30d".into()),
            ..Default::default()
        };
        let audit_before = count(&f.kw, "audit_events");
        let preview = f.kw.preview_key_template(&draft, now()).unwrap();
        assert!(preview.unsigned && preview.scheme.is_none());
        assert!(
            is_human_key(&preview.dataset, &prefix),
            "{}",
            preview.dataset
        );
        assert_eq!(
            count(&f.kw, "audit_events"),
            audit_before,
            "preview writes nothing"
        );

        let policy = f.kw.create_policy(&draft, now()).unwrap();
        assert!(policy.unsigned_key);
        assert_eq!(policy.key_template, None);
        let created = f.kw.audit_events().unwrap().pop().unwrap();
        let detail: serde_json::Value = serde_json::from_str(&created.detail).unwrap();
        assert_eq!(detail["unsignedKey"], true);
        assert_eq!(detail["scheme"], serde_json::Value::Null);

        let mut keys = Vec::new();
        for n in 0..3 {
            let license =
                f.kw.issue_license(
                    &IssueLicense {
                        policy_id: policy.id.clone(),
                        customer_email: Some(format!("u{n}@example.com")),
                        ..Default::default()
                    },
                    now(),
                )
                .unwrap();
            assert!(is_human_key(&license.key, &prefix), "{}", license.key);
            let issued = f.kw.audit_events().unwrap().pop().unwrap();
            assert_eq!(issued.action, "license.issue");
            assert_eq!(issued.signing_key_kid, None, "nothing was signed");
            let detail: serde_json::Value = serde_json::from_str(&issued.detail).unwrap();
            assert_eq!(detail["unsignedKey"], true, "{detail}");
            assert_eq!(detail["scheme"], serde_json::Value::Null, "{detail}");
            keys.push(license);
        }
        keys.dedup_by(|a, b| a.key == b.key);
        assert_eq!(keys.len(), 3, "every key is different");
        let license = &keys[0];

        // A human key is short: found by any part of it, in any case (signed keys
        // only by their start or end).
        assert!(license.key.chars().count() <= KEY_SHORT, "{}", license.key);
        let middle: String = license.key.chars().skip(5).take(7).collect();
        for fragment in [middle.clone(), middle.to_lowercase()] {
            let found =
                f.kw.search_licenses(
                    &LicenseQuery {
                        text: Some(fragment.clone()),
                        ..Default::default()
                    },
                    now(),
                )
                .unwrap();
            assert!(
                found.items.iter().any(|l| l.id == license.id),
                "{fragment} in {}",
                license.key
            );
        }

        // Not a signed key under any scheme the product's key can verify.
        for scheme in SCHEMES
            .into_iter()
            .filter(|s| s.key_algorithm() == algorithm)
        {
            let report = verify_key(&key, &license.key, scheme);
            assert_ne!(report.code, ValidationCode::Valid, "{scheme:?}");
        }

        // Its license files are signed by the product's key and verify, plain or
        // encrypted with the human key; the document says the key has no scheme.
        for encrypt in [false, true] {
            let path = f
                .dir
                .path()
                .join(format!("{}-{encrypt}.lic", algorithm.as_str()));
            f.kw.export_license_file(
                &ExportLicenseFile {
                    license_id: license.id.clone(),
                    path: path.display().to_string(),
                    encrypt: Some(encrypt),
                    ..Default::default()
                },
                now(),
            )
            .unwrap();
            let report = verify(
                &VerifyRequest {
                    file: Some(std::fs::read_to_string(&path).unwrap()),
                    public_key: key.public_key_pem.clone(),
                    license_key: encrypt.then(|| license.key.clone()),
                    ..Default::default()
                },
                now(),
            )
            .unwrap();
            assert_eq!(report.code, ValidationCode::Valid, "{report:?}");
            let attributes = &report.payload.unwrap()["data"]["attributes"];
            assert_eq!(attributes["key"], license.key.as_str());
            assert_eq!(attributes["scheme"], serde_json::Value::Null);
        }
    }
    assert!(f.kw.verify_audit().is_ok());
}
