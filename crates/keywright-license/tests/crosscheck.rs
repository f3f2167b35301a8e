//! Cross-check with an implementation that is not ours: Python's `cryptography`
//! (OpenSSL) verifies and decrypts the keys and files we make, and we verify the ones
//! it makes (tests/support/crosscheck.py). Needs `python3` with `cryptography`
//! (`pip install cryptography`); the test fails, not skips, without it.
#![cfg(feature = "sign")]

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use keywright_license::issue::{seal, sign_key, EncryptionSecret, SigningKey};
use keywright_license::{
    parse_time, verify_key, FileAlgorithm, FileKind, KeyAlgorithm, PublicKey, Scheme, Verifier,
};
use rand_core::OsRng;
use serde_json::{json, Value};

fn python(args: &[&str]) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/crosscheck.py");
    let probe = Command::new("python3")
        .args(["-c", "import cryptography"])
        .output();
    match probe {
        Ok(out) if out.status.success() => {}
        _ => panic!(
            "the cross-check needs python3 with the `cryptography` package: \
             run `pip install cryptography`"
        ),
    }
    let out = Command::new("python3")
        .arg(&script)
        .args(args)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "crosscheck.py {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn pem_name(alg: KeyAlgorithm) -> &'static str {
    match alg {
        KeyAlgorithm::Ed25519 => "ours-ed25519.pem",
        KeyAlgorithm::Rsa2048 => "ours-rsa.pem",
        _ => "ours-p256.pem",
    }
}

#[test]
fn python_verifies_ours() {
    let dir = tempfile::tempdir().unwrap();
    let keys = [
        SigningKey::generate(&mut OsRng),
        SigningKey::generate_rsa(&mut OsRng).unwrap(),
        SigningKey::generate_p256(&mut OsRng),
    ];
    let key_for = |alg: KeyAlgorithm| keys.iter().find(|k| k.algorithm() == alg).unwrap();
    for key in &keys {
        write(
            dir.path(),
            pem_name(key.algorithm()),
            &key.public_key().to_pem(),
        );
    }
    let dataset = r#"{"owner":"Zoë ✓","seats":5}"#.as_bytes();
    let payload = serde_json::to_vec(&json!({
        "data": {"id": "ü"},
        "meta": {"issued": "2024-01-01T00:00:00.000Z", "expiry": null, "ttl": null}
    }))
    .unwrap();
    let mut cases = Vec::new();
    let mut expected = Vec::new();
    for scheme in Scheme::ALL {
        let key = key_for(scheme.key_algorithm());
        let text = sign_key(scheme, dataset, key, &mut OsRng).unwrap();
        let id = format!("key:{scheme}");
        cases.push(json!({"id": id, "type": "key", "scheme": scheme.as_str(),
            "pubkey": pem_name(key.algorithm()), "text": text}));
        expected.push((id, dataset.to_vec()));
    }
    for alg in FileAlgorithm::ALL {
        for kind in [FileKind::License, FileKind::Machine] {
            let key = key_for(alg.key_algorithm());
            let (secret_text, secret) = match kind {
                FileKind::License => ("KEY-1", EncryptionSecret::for_license("KEY-1")),
                FileKind::Machine => ("KEY-1fp", EncryptionSecret::for_machine("KEY-1", "fp")),
                other => panic!("no {other:?} files here"),
            };
            let text = seal(kind, &payload, alg, key, Some(&secret), &mut OsRng).unwrap();
            let id = format!("file:{kind}:{alg}");
            cases.push(
                json!({"id": id, "type": "file", "pubkey": pem_name(key.algorithm()),
                "text": text, "secret": secret_text}),
            );
            expected.push((id, payload.clone()));
        }
    }
    write(
        dir.path(),
        "cases.json",
        &serde_json::to_string(&cases).unwrap(),
    );
    python(&["verify", dir.path().to_str().unwrap()]);
    let verified: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("verified.json")).unwrap()).unwrap();
    assert_eq!(verified.as_object().unwrap().len(), expected.len());
    for (id, bytes) in expected {
        let got = STANDARD
            .decode(
                verified[&id]
                    .as_str()
                    .unwrap_or_else(|| panic!("{id} missing")),
            )
            .unwrap();
        assert_eq!(got, bytes, "{id}");
    }
}

#[test]
fn we_verify_python() {
    let dir = tempfile::tempdir().unwrap();
    python(&["sign", dir.path().to_str().unwrap()]);
    let cases: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("python.json")).unwrap()).unwrap();
    let cases = cases.as_array().unwrap();
    let mut schemes = 0;
    let mut files = 0;
    for case in cases {
        let s = |f: &str| case[f].as_str().unwrap().to_owned();
        let id = s("id");
        let public =
            PublicKey::parse(&std::fs::read_to_string(dir.path().join(s("pubkey"))).unwrap())
                .unwrap();
        let expected = STANDARD.decode(s("expected")).unwrap();
        match s("type").as_str() {
            "key" => {
                let scheme: Scheme = s("scheme").parse().unwrap();
                let got =
                    verify_key(&s("text"), &public, scheme).unwrap_or_else(|e| panic!("{id}: {e}"));
                assert_eq!(got, expected, "{id}");
                schemes += 1;
            }
            kind => {
                let kind = if kind == "license" {
                    FileKind::License
                } else {
                    FileKind::Machine
                };
                let alg: FileAlgorithm = s("alg").parse().unwrap();
                let (license_key, fingerprint) = (s("license_key"), s("fingerprint"));
                // Only the file matters, not its window.
                let now = parse_time("2024-06-01T00:00:00Z").unwrap();
                let verifier = Verifier::pinned(&public, alg, now)
                    .kind(kind)
                    .license_key(&license_key);
                let verifier = match kind {
                    FileKind::Machine => verifier.fingerprint(&fingerprint),
                    _ => verifier,
                };
                let checked = verifier.verify(&s("text"));
                let opened = checked
                    .file
                    .unwrap_or_else(|| panic!("{id}: {:?}", checked.error));
                assert_eq!(opened.payload, expected, "{id}");
                files += 1;
            }
        }
    }
    // Six signing schemes + ENCRYPT + JWT + the 32-byte-salt PSS key; 8 algs x 2 kinds.
    assert_eq!(schemes, 9);
    assert_eq!(files, 16);
}
