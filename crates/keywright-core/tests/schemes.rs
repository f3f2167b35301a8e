//! Every Keygen scheme through the application: a key of the right algorithm, a
//! policy with the scheme, a license issued and verified, license files exported with
//! Keygen's derived algorithm (encrypted and not) and verified.

mod common;

use keywright_core::verify::{verify, VerifyRequest};
use keywright_core::*;
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
                name: format!("Product {}", algorithm.as_str()),
                signing_key_id: Some(key.id.clone()),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    (key, product)
}

#[test]
fn every_scheme_issues_exports_and_verifies() {
    let mut f = fixture();
    let mut products = Vec::new();
    for algorithm in [
        KeyAlgorithm::Ed25519,
        KeyAlgorithm::Rsa2048,
        KeyAlgorithm::EcdsaP256,
    ] {
        products.push(product_with_key(&mut f.kw, algorithm));
    }

    for scheme in SCHEMES {
        let (key, product) = products
            .iter()
            .find(|(k, _)| k.algorithm == scheme.key_algorithm())
            .unwrap();
        let policy =
            f.kw.create_policy(
                &NewPolicy {
                    product_id: product.id.clone(),
                    name: scheme.as_str().into(),
                    scheme: Some(scheme),
                    duration: Some("1y".into()),
                    ..Default::default()
                },
                now(),
            )
            .unwrap();
        let license =
            f.kw.issue_license(
                &IssueLicense {
                    policy_id: policy.id.clone(),
                    customer_email: Some(format!("{}@example.com", scheme.as_str().to_lowercase())),
                    ..Default::default()
                },
                now(),
            )
            .unwrap_or_else(|e| panic!("{}: {e}", scheme.as_str()));

        let report = verify(
            &VerifyRequest {
                key: Some(license.key.clone()),
                public_key: key.public_key_pem.clone(),
                scheme: Some(scheme.as_str().into()),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
        assert_eq!(
            report.code,
            ValidationCode::Valid,
            "{}: {report:?}",
            scheme.as_str()
        );
        let embedded = report.payload.unwrap();
        match scheme {
            // Keygen's defaults per scheme: JWT claims, the short ENCRYPT dataset, or
            // the full dataset.
            Scheme::RsaJwtRs256 => {
                assert_eq!(embedded["sub"], license.id.as_str());
                assert_eq!(embedded["iss"], "https://keygen.sh");
            }
            Scheme::RsaEncrypt => {
                assert_eq!(embedded["id"], license.id.as_str());
                assert_eq!(embedded["duration"], 31_556_952);
            }
            _ => assert_eq!(embedded["license"]["id"], license.id.as_str()),
        }

        for encrypt in [true, false] {
            let path = f
                .dir
                .path()
                .join(format!("{}-{encrypt}.lic", scheme.as_str()));
            let exported =
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
            let expected_sig = match scheme {
                Scheme::Ed25519Sign => "ed25519",
                Scheme::EcdsaP256Sign => "ecdsa-p256",
                Scheme::RsaPssSignV2 | Scheme::RsaPssSign => "rsa-pss-sha256",
                _ => "rsa-sha256",
            };
            let expected = format!(
                "{}+{expected_sig}",
                if encrypt { "aes-256-gcm" } else { "base64" }
            );
            assert_eq!(exported.algorithm, expected, "{}", scheme.as_str());
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
            assert_eq!(report.code, ValidationCode::Valid, "{expected}: {report:?}");
            assert_eq!(
                report.payload.unwrap()["data"]["attributes"]["scheme"],
                scheme.as_str()
            );
        }
    }
}

#[test]
fn scheme_and_algorithm_must_fit_the_key() {
    let mut f = fixture();
    let (_, product) = product_with_key(&mut f.kw, KeyAlgorithm::Ed25519);
    let err =
        f.kw.create_policy(
            &NewPolicy {
                product_id: product.id.clone(),
                name: "RSA".into(),
                scheme: Some(Scheme::RsaPssSignV2),
                ..Default::default()
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::BadInput);
    assert!(
        err.message.contains("needs a rsa-2048 signing key"),
        "{err}"
    );

    // Without a scheme, the policy gets the key's recommended one.
    let policy =
        f.kw.create_policy(
            &NewPolicy {
                product_id: product.id.clone(),
                name: "Default".into(),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    assert_eq!(policy.scheme, Scheme::Ed25519Sign);

    let license =
        f.kw.issue_license(
            &IssueLicense {
                policy_id: policy.id,
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    let mut export = |algorithm: &str| {
        f.kw.export_license_file(
            &ExportLicenseFile {
                license_id: license.id.clone(),
                path: f.dir.path().join("x.lic").display().to_string(),
                algorithm: Some(algorithm.into()),
                ..Default::default()
            },
            now(),
        )
    };
    let err = export("aes-256-gcm+rsa-pss-sha256").unwrap_err();
    assert_eq!(err.code, ErrorCode::BadInput);
    assert!(err.message.contains("needs a different key"), "{err}");
    let err = export("rot13+ed25519").unwrap_err();
    assert_eq!(err.code, ErrorCode::BadInput);
    assert!(!f.dir.path().join("x.lic").exists());
}

#[test]
fn rsa_private_key_lives_in_the_vault_as_pkcs8() {
    let mut f = fixture();
    let (key, _) = product_with_key(&mut f.kw, KeyAlgorithm::Rsa2048);
    assert_eq!(key.algorithm, KeyAlgorithm::Rsa2048);
    assert!(key
        .public_key_pem
        .starts_with("-----BEGIN PUBLIC KEY-----\n"));
    // The store holds only the public half (SPKI DER, ~294 bytes for RSA-2048).
    let stored: Vec<u8> = common::Raw::of(&f.kw).value("SELECT public_key FROM signing_keys");
    assert!((290..=300).contains(&stored.len()), "{}", stored.len());
    assert_eq!(
        f.kw.public_key(&key.kid).unwrap().to_pem(),
        key.public_key_pem
    );
}
