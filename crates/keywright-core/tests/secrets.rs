//! Private keys stay in the vault: after a full run (keys of every algorithm, issuing
//! under several schemes, lifecycle changes, file and audit exports, every read the
//! desktop can make, serialized to JSON as IPC would send it, and error replies), no
//! byte sequence of any private key appears — raw, hex (lower or upper case), base64
//! or base64url, padded or not — in the store's files (database, `-wal`, `-shm`), in an
//! exported file, or in any reply. The secret is read back from the vault through the
//! `Vault` trait, exactly as the product stores it.
//!
//! The core has no logging framework (no `log` or `tracing` dependency, no prints), so
//! there is no log output to scan; the replies below are everything that leaves it.

mod common;

use std::collections::HashMap;
use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;

use keywright_core::audit::AuditQuery;
use keywright_core::verify::{verify, VerifyRequest};
use keywright_core::*;
use zeroize::Zeroizing;

use common::now;

/// Base64 without a dependency: `alphabet` picks standard or URL-safe.
fn base64(bytes: &[u8], url: bool, pad: bool) -> String {
    let alphabet: &[u8; 64] = if url {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
        if pad {
            for _ in chunk.len()..3 {
                out.push('=');
            }
        }
    }
    out
}

/// The forms in which (part of) a secret could leak. Every 24-byte window of the
/// secret at a 3-byte offset (so its base64 is a substring of the whole secret's
/// base64), plus the whole secret; windows that also occur in the public key (RSA
/// and P-256 PKCS#8 embed the public half) are not secret and are skipped.
fn needles(secret: &[u8], public: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut windows: Vec<&[u8]> = vec![secret];
    let mut at = 0;
    while at + 24 <= secret.len() {
        windows.push(&secret[at..at + 24]);
        at += 3;
    }
    let is_public = |w: &[u8]| public.iter().any(|p| p.windows(w.len()).any(|x| x == w));
    let mut out = Vec::new();
    for w in windows.into_iter().filter(|w| !is_public(w)) {
        out.push(w.to_vec());
        out.push(hex::encode(w).into_bytes());
        out.push(hex::encode_upper(w).into_bytes());
        for url in [false, true] {
            // Unpadded is a prefix of padded: one search covers both.
            out.push(base64(w, url, false).into_bytes());
        }
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Many needles, one pass over each haystack: needles are indexed by their first 16
/// bytes (every needle is at least 24 bytes long).
struct Index {
    by_prefix: HashMap<[u8; 16], Vec<Vec<u8>>>,
    count: usize,
}

impl Index {
    fn new(needles: Vec<Vec<u8>>) -> Self {
        let count = needles.len();
        let mut by_prefix: HashMap<[u8; 16], Vec<Vec<u8>>> = HashMap::new();
        for n in needles {
            assert!(n.len() >= 16);
            by_prefix
                .entry(n[..16].try_into().unwrap())
                .or_default()
                .push(n);
        }
        Index { by_prefix, count }
    }

    /// The length of the first needle found in `haystack`.
    fn first_match(&self, haystack: &[u8]) -> Option<usize> {
        haystack.windows(16).enumerate().find_map(|(at, w)| {
            self.by_prefix
                .get(<&[u8; 16]>::try_from(w).unwrap())?
                .iter()
                .find(|n| haystack[at..].starts_with(n))
                .map(Vec::len)
        })
    }
}

/// `true` only for types that implement `Serialize` (autoref specialization: the
/// by-value candidate exists only when the bound holds).
struct Probe<T>(PhantomData<T>);
trait IsSerialize {
    fn serializable(&self) -> bool {
        true
    }
}
impl<T: serde::Serialize> IsSerialize for Probe<T> {}
trait NotSerialize {
    fn serializable(&self) -> bool {
        false
    }
}
impl<T> NotSerialize for &Probe<T> {}

// The explicit `&` is the mechanism (it picks which impl is tried first): keep it.
#[allow(clippy::needless_borrow)]
#[test]
fn the_probe_tells_serializable_types_apart() {
    assert!((&Probe::<String>(PhantomData)).serializable());
    assert!((&Probe::<License>(PhantomData)).serializable());
    assert!(!(&Probe::<std::fs::File>(PhantomData)).serializable());
}

#[test]
fn private_keys_cannot_be_serialized_or_printed() {
    // The format crate's private key type and the application object holding the
    // vault implement no `Serialize`: no IPC command can return them.
    assert!(!(&Probe::<keywright_license::issue::SigningKey>(PhantomData)).serializable());
    assert!(!(&Probe::<Keywright>(PhantomData)).serializable());
    assert!(!(&Probe::<MemoryVault>(PhantomData)).serializable());
    assert!(!(&Probe::<keywright_license::issue::EncryptionSecret>(PhantomData)).serializable());
    assert!(!(&Probe::<keywright_core::audit::AuditKey>(PhantomData)).serializable());
    // The audit key's Debug names it by its public id only.
    let secret = [0x5au8; 32];
    let audit = keywright_core::audit::AuditKey::from_bytes(&secret).unwrap();
    let debug = format!("{audit:?} {audit:#?}");
    assert!(
        debug.contains("redacted") && debug.contains(&audit.id()),
        "{debug}"
    );
    for n in needles(&secret, &[]) {
        assert!(!find(debug.as_bytes(), &n), "Debug leaks: {debug}");
    }
    use rand_core::OsRng;
    for key in [
        keywright_license::issue::SigningKey::generate(&mut OsRng),
        keywright_license::issue::SigningKey::generate_p256(&mut OsRng),
        keywright_license::issue::SigningKey::generate_rsa(&mut OsRng).unwrap(),
    ] {
        let secret = key.to_secret_bytes();
        let public = key.public_key();
        let spki = public.to_spki_der();
        let raw = public.to_bytes();
        let debug = format!("{key:?} {key:#?}");
        for n in needles(&secret, &[&spki, &raw]) {
            assert!(!find(debug.as_bytes(), &n), "Debug leaks: {debug}");
        }
        assert!(debug.contains("redacted"), "{debug}");
        // The secret accessors hand out self-wiping buffers.
        let _: Zeroizing<Vec<u8>> = key.to_secret_bytes();
        let _: Zeroizing<Vec<u8>> = key.to_pkcs8_der();
    }
}

#[test]
fn no_private_key_bytes_leave_the_vault() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let export_dir = dir.path().join("exports");
    std::fs::create_dir(&export_dir).unwrap();
    let vault = Arc::<MemoryVault>::default();
    let mut kw = Keywright::with_vault(
        Store::open(&store_dir.join("keywright.db")).unwrap(),
        Box::new(vault.clone()),
        "secrets-test",
    );
    // Everything the shells could send over IPC or print, as JSON.
    let mut replies: Vec<String> = Vec::new();
    macro_rules! reply {
        ($value:expr $(,)?) => {
            replies.push(serde_json::to_string($value).unwrap())
        };
    }

    let mut keys = Vec::new();
    let schemes = [
        (KeyAlgorithm::Ed25519, vec![Scheme::Ed25519Sign]),
        (
            KeyAlgorithm::Rsa2048,
            vec![
                Scheme::RsaPssSignV2,
                Scheme::RsaSignV2,
                Scheme::RsaPssSign,
                Scheme::RsaSign,
                Scheme::RsaEncrypt,
                Scheme::RsaJwtRs256,
            ],
        ),
        (KeyAlgorithm::EcdsaP256, vec![Scheme::EcdsaP256Sign]),
    ];
    let mut license_ids = Vec::new();
    for (i, (algorithm, schemes)) in schemes.into_iter().enumerate() {
        let key = kw
            .create_signing_key(
                &NewSigningKey {
                    name: format!("Key {i}"),
                    algorithm,
                },
                now(),
            )
            .unwrap();
        reply!(&key);
        let product = kw
            .create_product(
                &NewProduct {
                    name: format!("Product {i}"),
                    signing_key_id: Some(key.id.clone()),
                    ..Default::default()
                },
                now(),
            )
            .unwrap();
        reply!(&product);
        for (j, scheme) in schemes.into_iter().enumerate() {
            let policy = kw
                .create_policy(
                    &NewPolicy {
                        product_id: product.id.clone(),
                        name: format!("Policy {j}"),
                        scheme: Some(scheme),
                        duration: Some("1y".into()),
                        file_ttl: Some("30d".into()),
                        encrypt: j % 2 == 0,
                        entitlements: vec!["PRO".into()],
                        ..Default::default()
                    },
                    now(),
                )
                .unwrap();
            reply!(&policy);
            let license = kw
                .issue_license(
                    &IssueLicense {
                        policy_id: policy.id.clone(),
                        customer_name: Some(format!("Customer {i}-{j}")),
                        customer_email: Some(format!("c{i}{j}@example.com")),
                        metadata: Some(r#"{"order":"42"}"#.into()),
                        ..Default::default()
                    },
                    now(),
                )
                .unwrap();
            reply!(&license);
            for encrypt in [false, true] {
                let path = export_dir.join(format!("{}-{encrypt}.lic", license.id));
                let exported = kw
                    .export_license_file(
                        &ExportLicenseFile {
                            license_id: license.id.clone(),
                            path: path.display().to_string(),
                            encrypt: Some(encrypt),
                            ..Default::default()
                        },
                        now(),
                    )
                    .unwrap();
                reply!(&exported);
                let text = std::fs::read_to_string(&path).unwrap();
                let report = verify(
                    &VerifyRequest {
                        file: Some(text),
                        public_key: key.public_key_pem.clone(),
                        license_key: encrypt.then(|| license.key.clone()),
                        ..Default::default()
                    },
                    now(),
                )
                .unwrap();
                assert!(report.is_valid(), "{report:?}");
                reply!(&report);
            }
            let report = verify(
                &VerifyRequest {
                    key: Some(license.key.clone()),
                    public_key: key.public_key_pem.clone(),
                    scheme: Some(scheme.as_str().to_owned()),
                    ..Default::default()
                },
                now(),
            )
            .unwrap();
            reply!(&report);
            license_ids.push(license.id);
        }
        keys.push(key);
    }
    // Lifecycle writes, then every read.
    reply!(&kw.suspend_license(&license_ids[0], now()).unwrap());
    reply!(&kw.reinstate_license(&license_ids[0], now()).unwrap());
    reply!(&kw
        .renew_license(
            &RenewLicense {
                license_id: license_ids[1].clone(),
                by: "30d".into(),
            },
            now(),
        )
        .unwrap(),);
    reply!(&kw.revoke_license(&license_ids[2], now()).unwrap());
    reply!(&kw.list_signing_keys().unwrap());
    for key in &keys {
        reply!(&kw.find_signing_key(&key.kid).unwrap());
        let public = kw.public_key(&key.id).unwrap();
        replies.push(format!(
            "{} {} {:?}",
            public.to_hex(),
            public.to_pem(),
            public
        ));
    }
    reply!(&kw.list_products().unwrap());
    reply!(&kw.list_policies().unwrap());
    reply!(&kw.list_licenses().unwrap());
    for id in &license_ids {
        reply!(&kw.find_license(id).unwrap());
    }
    reply!(&kw.search_licenses(&LicenseQuery::default(), now()).unwrap());
    reply!(&kw
        .search_licenses(
            &LicenseQuery {
                text: Some("Customer".into()),
                ..Default::default()
            },
            now(),
        )
        .unwrap(),);
    reply!(&kw.list_customers(&CustomerQuery::default()).unwrap());
    reply!(&kw.dashboard(now()).unwrap());
    reply!(&kw.list_audit(&AuditQuery::default()).unwrap());
    reply!(&kw.audit_events().unwrap());
    reply!(&kw.check_audit().unwrap());
    reply!(&kw.store_info());
    let csv = export_dir.join("audit.csv");
    reply!(&kw
        .export_audit_csv(&csv.display().to_string(), &AuditQuery::default(), now())
        .unwrap(),);
    replies.push(format!("{kw:?}"));
    // Error replies, including the keychain ones that name a key.
    let mut errors = vec![
        kw.find_license("nope").unwrap_err(),
        kw.public_key("nope").unwrap_err(),
    ];
    vault.fail_with(Some(ErrorCode::KeychainUnavailable));
    errors.push(
        kw.export_license_file(
            &ExportLicenseFile {
                license_id: license_ids[3].clone(),
                path: export_dir.join("fail.lic").display().to_string(),
                ..Default::default()
            },
            now(),
        )
        .unwrap_err(),
    );
    vault.fail_with(None);
    // What we look for: every key's secret exactly as the vault holds it, and the
    // store's audit key (which MACs the log: it has no public half).
    let mut secrets: Vec<(Zeroizing<Vec<u8>>, Vec<u8>)> = keys
        .iter()
        .map(|k| {
            (
                vault.get(&k.kid).unwrap(),
                hex::decode(&k.public_key_hex).unwrap(),
            )
        })
        .collect();
    // (The anchor entry is `KWAUDIT1`, the 32-byte key, then the head.)
    let entry = vault
        .get(keywright_core::audit::anchor::ANCHOR_ACCOUNT)
        .unwrap();
    secrets.push((Zeroizing::new(entry[8..40].to_vec()), Vec::new()));
    reply!(&kw.store_info());
    reply!(&kw.check_audit().unwrap());
    // A vault entry swapped for another key's: the mismatch message names kids only.
    let swapped = vault.get(&keys[2].kid).unwrap();
    vault.put(&keys[0].kid, &swapped).unwrap();
    let policy0 = kw.list_policies().unwrap();
    let ed_policy = policy0
        .iter()
        .find(|p| p.scheme == Scheme::Ed25519Sign)
        .unwrap();
    errors.push(
        kw.issue_license(
            &IssueLicense {
                policy_id: ed_policy.id.clone(),
                ..Default::default()
            },
            now(),
        )
        .unwrap_err(),
    );
    for e in errors {
        replies.push(format!("{e:?} {e}"));
        reply!(&CommandError::from(e));
    }
    assert!(kw.verify_audit().unwrap() > 0);

    let mut needles_all = Vec::new();
    for (secret, public) in &secrets {
        let n = needles(secret, &[public]);
        assert!(n.len() >= 5, "nothing secret to look for");
        needles_all.extend(n);
    }
    let index = Index::new(needles_all);
    // Control: the scanner does find each secret planted in every encoding.
    for (secret, _) in &secrets {
        for form in [
            secret.to_vec(),
            hex::encode(secret).into_bytes(),
            hex::encode_upper(secret).into_bytes(),
            base64(secret, false, true).into_bytes(),
            base64(secret, true, false).into_bytes(),
        ] {
            let mut planted = b"{\"x\":\"".to_vec();
            planted.extend_from_slice(&form);
            assert!(index.first_match(&planted).is_some());
        }
    }
    let mut scanned: Vec<(String, usize)> = Vec::new();
    let mut scan = |name: String, bytes: &[u8]| {
        if let Some(len) = index.first_match(bytes) {
            panic!("{name} contains private key material ({len} bytes matched)");
        }
        scanned.push((name, bytes.len()));
    };
    // The store folder while the store is open (database, -wal, -shm) and after it
    // is closed (checkpointed), and every exported file.
    let mut scan_dir = |dir: &Path, when: &str| {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            scan(
                format!("{} ({when})", path.display()),
                &std::fs::read(&path).unwrap(),
            );
        }
    };
    scan_dir(&store_dir, "open");
    drop(kw);
    scan_dir(&store_dir, "closed");
    scan_dir(&export_dir, "exported");
    for (i, r) in replies.iter().enumerate() {
        scan(format!("reply {i}"), r.as_bytes());
    }
    let files: Vec<_> = scanned
        .iter()
        .filter(|(n, _)| !n.starts_with("reply"))
        .collect();
    for suffix in ["-wal (open)", "-shm (open)", ".db (open)", ".db (closed)"] {
        assert!(
            files.iter().any(|(n, _)| n.ends_with(suffix)),
            "no {suffix} among {files:?}"
        );
    }
    println!(
        "secrets: {} needles from {} keys and the audit key, {} files ({} bytes) and {} replies clean",
        index.count,
        keys.len(),
        files.len(),
        files.iter().map(|(_, b)| b).sum::<usize>(),
        scanned.len() - files.len()
    );
}
