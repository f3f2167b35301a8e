//! The walking-skeleton flow through the real `keywright` binary and the real OS
//! keychain (Secret Service on Linux: `scripts/test.sh` starts gnome-keyring in a
//! private D-Bus session). Each test uses its own store, so its own keychain service.

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;

/// Creates key, product and policy; returns (key json, policy id).
fn setup(cli: &Cli, encrypt: bool) -> (Value, String) {
    let key = cli.json(&["key", "create", "--name", "Main key"], 0);
    assert_eq!(key["algorithm"], "ed25519");
    assert!(
        key.get("privateKey").is_none() && !key.to_string().contains("seed"),
        "no private material in output: {key}"
    );
    let product = cli.json(
        &[
            "product",
            "create",
            "--name",
            "Zapper Pro",
            "--support-message",
            "Write to support@zapper.example",
        ],
        0,
    );
    assert_eq!(product["code"], "ZAPPER-PRO");
    let mut args = vec![
        "policy",
        "create",
        "--product",
        "ZAPPER-PRO",
        "--name",
        "Yearly",
        "--duration",
        "1y",
        "--floating",
        "--max-machines",
        "2",
        "--ttl",
        "30d",
        "--entitlement",
        "EXPORT_PDF",
    ];
    if encrypt {
        args.push("--encrypt");
    }
    let policy = cli.json(&args, 0);
    assert_eq!(policy["maxMachines"], 2);
    assert_eq!(policy["encrypt"], encrypt);
    (key, policy["id"].as_str().unwrap().to_owned())
}

#[test]
fn issue_export_verify_with_the_real_keychain() {
    let cli = Cli::new();
    let (key, policy) = setup(&cli, true);
    let kid = key["kid"].as_str().unwrap();

    // The public key in both formats; the PEM and hex name the same key.
    let hex = cli.run(&["key", "public", kid, "--format", "hex"]);
    assert!(hex.status.success());
    let hex = String::from_utf8(hex.stdout).unwrap();
    assert_eq!(hex.trim(), key["publicKeyHex"].as_str().unwrap());
    std::fs::write(cli.path("public.hex"), &hex).unwrap();
    let pem = cli.run(&["key", "public", "Main key", "--format", "pem"]);
    let pem = String::from_utf8(pem.stdout).unwrap();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{pem}");
    std::fs::write(cli.path("public.pem"), &pem).unwrap();

    let license = cli.json(
        &[
            "license",
            "issue",
            "--policy",
            &policy,
            "--name",
            "Ada Lovelace",
            "--email",
            "ada@example.com",
            "--metadata",
            r#"{"order":"A-1"}"#,
        ],
        0,
    );
    let license_key = license["key"].as_str().unwrap();
    let license_id = license["id"].as_str().unwrap();
    assert!(license_key.starts_with("key/"));

    let lic = cli.path("ada.lic");
    let exported = cli.json(
        &[
            "license",
            "export",
            license_id,
            "--out",
            lic.to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(exported["algorithm"], "aes-256-gcm+ed25519");
    let text = std::fs::read_to_string(&lic).unwrap();
    assert!(text.starts_with("-----BEGIN LICENSE FILE-----\n"));
    assert!(text.ends_with("\n-----END LICENSE FILE-----\n") && !text.contains('\r'));

    // Our own verifier: the file (with the PEM), and the key (with the hex).
    let report = cli.json(
        &[
            "verify",
            lic.to_str().unwrap(),
            "--public-key",
            cli.path("public.pem").to_str().unwrap(),
            "--license-key",
            license_key,
        ],
        0,
    );
    assert_eq!(report["code"], "VALID");
    assert_eq!(report["payload"]["data"]["id"], license_id);
    assert_eq!(
        report["payload"]["data"]["attributes"]["metadata"]["order"],
        "A-1"
    );
    let report = cli.json(
        &[
            "verify",
            "--key",
            license_key,
            "--public-key",
            cli.path("public.hex").to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(report["code"], "VALID");
    assert_eq!(report["payload"]["user"]["email"], "ada@example.com");

    // Failure verdicts have their own exit codes.
    let wrong = cli.json(
        &[
            "verify",
            lic.to_str().unwrap(),
            "--public-key",
            cli.path("public.hex").to_str().unwrap(),
            "--license-key",
            "not-the-key",
        ],
        13,
    );
    assert_eq!(wrong["code"], "DECRYPTION_FAILED");
    let expired = cli.json(
        &[
            "verify",
            lic.to_str().unwrap(),
            "--public-key",
            cli.path("public.hex").to_str().unwrap(),
            "--license-key",
            license_key,
            "--now",
            "2099-01-01T00:00:00Z",
        ],
        11,
    );
    assert_eq!(expired["code"], "FILE_EXPIRED");
    // Flip the signature's first character (never padding).
    let sig_start = license_key.rfind('.').unwrap() + 1;
    let mut bytes = license_key.as_bytes().to_vec();
    bytes[sig_start] = if bytes[sig_start] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    let bad = cli.json(
        &[
            "verify",
            "--key",
            &tampered,
            "--public-key",
            cli.path("public.hex").to_str().unwrap(),
        ],
        10,
    );
    assert_eq!(bad["code"], "SIGNATURE_INVALID");

    // Keygen's documented verification, implemented by another library.
    let py = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/support/keygen_verify.py"
        ))
        .arg(&lic)
        .arg(hex.trim())
        .arg(license_key)
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "independent verifier rejected our file: {}",
        String::from_utf8_lossy(&py.stderr)
    );
    let payload: Value = serde_json::from_slice(&py.stdout).unwrap();
    assert_eq!(payload["data"]["attributes"]["key"], license_key);

    // The audit chain covers every signature.
    let audit = cli.json(&["audit", "verify"], 0);
    assert_eq!(audit["rows"], 6);
}

#[test]
fn unencrypted_file_verifies_without_a_license_key() {
    let cli = Cli::new();
    let (key, policy) = setup(&cli, false);
    std::fs::write(
        cli.path("public.hex"),
        key["publicKeyHex"].as_str().unwrap(),
    )
    .unwrap();
    let license = cli.json(&["license", "issue", "--policy", &policy], 0);
    let lic = cli.path("plain.lic");
    let exported = cli.json(
        &[
            "license",
            "export",
            license["key"].as_str().unwrap(),
            "--out",
            lic.to_str().unwrap(),
            "--ttl",
            "none",
        ],
        0,
    );
    assert_eq!(exported["algorithm"], "base64+ed25519");
    let report = cli.json(
        &[
            "verify",
            lic.to_str().unwrap(),
            "--public-key",
            cli.path("public.hex").to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(report["code"], "VALID");
    assert!(report["meta"]["expiry"].is_null());
    let py = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/support/keygen_verify.py"
        ))
        .arg(&lic)
        .arg(key["publicKeyHex"].as_str().unwrap())
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
}

#[test]
fn rsa_keys_live_in_the_real_keychain_and_every_rsa_file_algorithm_verifies() {
    let cli = Cli::new();
    let key = cli.json(
        &[
            "key",
            "create",
            "--name",
            "RSA key",
            "--algorithm",
            "rsa-2048",
        ],
        0,
    );
    assert_eq!(key["algorithm"], "rsa-2048");
    let pem_path = cli.path("rsa.pem");
    std::fs::write(&pem_path, key["publicKeyPem"].as_str().unwrap()).unwrap();
    cli.json(
        &[
            "product",
            "create",
            "--name",
            "Legacy App",
            "--key",
            "RSA key",
        ],
        0,
    );
    let policy = cli.json(
        &[
            "policy",
            "create",
            "--product",
            "LEGACY-APP",
            "--name",
            "Annual",
            "--duration",
            "1y",
            "--encrypt",
        ],
        0,
    );
    assert_eq!(
        policy["scheme"], "RSA_2048_PKCS1_PSS_SIGN_V2",
        "the RSA key's recommended scheme"
    );
    let license = cli.json(
        &[
            "license",
            "issue",
            "--policy",
            policy["id"].as_str().unwrap(),
        ],
        0,
    );
    let license_key = license["key"].as_str().unwrap();
    let report = cli.json(
        &[
            "verify",
            "--key",
            license_key,
            "--public-key",
            pem_path.to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(report["algorithm"], "RSA_2048_PKCS1_PSS_SIGN_V2");

    // Both RSA signature paddings, encrypted and not: our verifier and the
    // independent one (pyca/cryptography) agree.
    for alg in [
        "aes-256-gcm+rsa-pss-sha256",
        "base64+rsa-pss-sha256",
        "aes-256-gcm+rsa-sha256",
        "base64+rsa-sha256",
    ] {
        let out = cli.path(&format!("{alg}.lic"));
        let exported = cli.json(
            &[
                "license",
                "export",
                license_key,
                "--out",
                out.to_str().unwrap(),
                "--algorithm",
                alg,
            ],
            0,
        );
        assert_eq!(exported["algorithm"], alg);
        let encrypted = alg.starts_with("aes");
        let mut args = vec![
            "verify",
            out.to_str().unwrap(),
            "--public-key",
            pem_path.to_str().unwrap(),
        ];
        if encrypted {
            args.extend(["--license-key", license_key]);
        }
        let report = cli.json(&args, 0);
        assert_eq!(report["algorithm"], alg);
        let mut py = Command::new("python3");
        py.arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/support/keygen_verify.py"
        ))
        .arg(&out)
        .arg(&pem_path);
        if encrypted {
            py.arg(license_key);
        }
        let py = py.output().unwrap();
        assert!(
            py.status.success(),
            "{alg}: {}",
            String::from_utf8_lossy(&py.stderr)
        );
    }

    // An RSA file algorithm cannot be asked of an Ed25519 product, and an Ed25519
    // scheme cannot be given to the RSA product.
    let err = cli.json(
        &[
            "policy",
            "create",
            "--product",
            "LEGACY-APP",
            "--name",
            "Ed",
            "--scheme",
            "ED25519_SIGN",
        ],
        2,
    );
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("needs a ed25519 signing key"),
        "{err}"
    );
}

#[test]
fn missing_keychain_entry_fails_and_writes_no_license() {
    let cli = Cli::new();
    let (key, policy) = setup(&cli, true);
    let kid = key["kid"].as_str().unwrap();
    let store_id = sqlite(
        &cli.store(),
        "SELECT value FROM store_meta WHERE key = 'store_id';",
    );
    let audit_before = cli.count("audit_events");

    // Delete the private key behind Keywright's back, with the Secret Service's own tool.
    let cleared = Command::new("secret-tool")
        .args([
            "clear",
            "service",
            &format!("keywright/{store_id}"),
            "username",
            kid,
        ])
        .status()
        .expect("secret-tool (libsecret-tools) is installed by scripts/test.sh");
    assert!(cleared.success());

    let err = cli.json(
        &[
            "license",
            "issue",
            "--policy",
            &policy,
            "--email",
            "x@example.com",
        ],
        6,
    );
    assert_eq!(err["error"]["code"], "KEYCHAIN_ENTRY_MISSING", "{err}");
    assert_eq!(cli.count("licenses"), 0);
    assert_eq!(cli.count("customers"), 0);
    assert_eq!(cli.count("audit_events"), audit_before);
}

#[test]
fn audit_names_the_os_account_even_without_user_in_the_environment() {
    let cli = Cli::new();
    let out = cli
        .command()
        .env_remove("USER")
        .env_remove("LOGNAME")
        .env_remove("USERNAME")
        .args(["--json", "key", "create", "--name", "k"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = cli.json(&["audit", "list"], 0);
    let actor = events["events"][0]["actor"].as_str().unwrap().to_owned();
    let id = Command::new("id").arg("-un").output().unwrap();
    assert_eq!(actor, String::from_utf8_lossy(&id.stdout).trim());
}

#[test]
fn no_secret_service_is_a_keychain_error_and_writes_nothing() {
    let cli = Cli::new();
    let out = cli
        .command()
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("DISPLAY")
        .args(["--json", "key", "create", "--name", "k"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "KEYCHAIN_UNAVAILABLE");
    assert_eq!(cli.count("signing_keys"), 0);
    assert_eq!(cli.count("audit_events"), 0);
}

#[test]
fn bad_input_exit_codes() {
    let cli = Cli::new();
    // Usage errors are clap's status 2, like bad values.
    assert_eq!(cli.run(&["policy", "create"]).status.code(), Some(2));
    let err = cli.json(&["product", "create", "--name", "P"], 2);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("signing key"),
        "{err}"
    );
    let err = cli.json(&["license", "export", "nope", "--out", "x.lic"], 3);
    assert_eq!(err["error"]["code"], "NOT_FOUND");
    let err = cli.json(
        &[
            "policy",
            "create",
            "--product",
            "x",
            "--name",
            "y",
            "--scheme",
            "ROT13",
        ],
        2,
    );
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown scheme"),
        "{err}"
    );
    std::fs::write(cli.path("junk.lic"), "hello").unwrap();
    // Keygen's demo verify key: a valid key that signed none of this.
    std::fs::write(
        cli.path("pub.hex"),
        "e8601e48b69383ba520245fd07971e983d06d22c4257cfd82304601479cee788",
    )
    .unwrap();
    let junk = cli.json(
        &[
            "verify",
            cli.path("junk.lic").to_str().unwrap(),
            "--public-key",
            cli.path("pub.hex").to_str().unwrap(),
        ],
        14,
    );
    assert_eq!(junk["code"], "MALFORMED");
}

#[test]
fn a_key_retirement_is_scheduled_listed_and_cancelled() {
    let cli = Cli::new();
    let key = cli.json(&["key", "create", "--name", "Main key"], 0);
    let kid = key["kid"].as_str().unwrap();
    // In the past: refused (bad input), nothing scheduled.
    let err = cli.json(
        &["key", "schedule-retirement", kid, "--at", "2001-01-01"],
        2,
    );
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not after now"),
        "{err}"
    );
    // Neither a time nor --cancel: a usage error.
    assert_eq!(
        cli.run(&["key", "schedule-retirement", kid]).status.code(),
        Some(2)
    );
    let scheduled = cli.json(
        &[
            "key",
            "schedule-retirement",
            "Main key",
            "--at",
            "2099-03-01",
        ],
        0,
    );
    assert_eq!(scheduled["retireAt"], "2099-03-01T00:00:00.000Z");
    let listed = cli.run(&["key", "list"]);
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("(retires 2099-03-01T00:00:00.000Z)"),
        "{}",
        String::from_utf8_lossy(&listed.stdout)
    );
    let cancelled = cli.json(&["key", "schedule-retirement", kid, "--cancel"], 0);
    assert!(cancelled["retireAt"].is_null(), "{cancelled}");
    let events = cli.json(&["audit", "list"], 0);
    let scheduling = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "key.schedule_retirement")
        .count();
    assert_eq!(scheduling, 2);
}
