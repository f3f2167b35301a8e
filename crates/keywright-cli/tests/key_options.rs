//! `policy create --template` and `--unsigned-key` through the real `keywright` binary
//! and the real OS keychain; `policy show` prints them.

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;

#[test]
fn template_policy_signs_the_rendered_dataset() {
    let cli = Cli::new();
    key_and_product(&cli);
    let template = r#"{"license":"{{id}}","who":"{{email}}","until":"{{expiry}}"}"#;

    // A typo is refused with the placeholder named, exit 2, and no policy written.
    let policies = cli.count("policies");
    let err = cli.json(
        &[
            "policy",
            "create",
            "--product",
            "ZAPPER-PRO",
            "--name",
            "Templated",
            "--template",
            r#"{"license":"{{licence}}"}"#,
        ],
        2,
    );
    assert_eq!(err["error"]["code"], "TEMPLATE_INVALID", "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("{{licence}}"),
        "{err}"
    );
    assert_eq!(cli.count("policies"), policies);
    // A template and an unsigned key contradict each other (clap refuses it).
    let out = cli.run(&[
        "policy",
        "create",
        "--product",
        "ZAPPER-PRO",
        "--name",
        "Both",
        "--template",
        "{{id}}",
        "--unsigned-key",
    ]);
    assert_eq!(out.status.code(), Some(2));

    let policy = cli.json(
        &[
            "policy",
            "create",
            "--product",
            "ZAPPER-PRO",
            "--name",
            "Templated",
            "--duration",
            "1y",
            "--template",
            template,
        ],
        0,
    );
    assert_eq!(policy["keyTemplate"], template);
    assert_eq!(policy["unsignedKey"], false);
    let shown = cli.run(&["policy", "show", "Templated"]);
    assert!(shown.status.success());
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains(&format!("key template: {template}")) && shown.contains("ED25519_SIGN"),
        "{shown}"
    );
    let shown_json = cli.json(&["policy", "show", policy["id"].as_str().unwrap()], 0);
    assert_eq!(shown_json["keyTemplate"], template);

    let license = cli.json(
        &[
            "license",
            "issue",
            "--policy",
            "Templated",
            "--email",
            "ada@example.com",
        ],
        0,
    );
    let report = cli.json(
        &[
            "verify",
            "--key",
            license["key"].as_str().unwrap(),
            "--public-key",
            cli.path("public.hex").to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(report["code"], "VALID");
    assert_eq!(
        report["payload"],
        serde_json::json!({
            "license": license["id"],
            "who": "ada@example.com",
            "until": license["expiry"],
        })
    );
}

#[test]
fn unsigned_key_policy_issues_human_keys_with_signed_files() {
    let cli = Cli::new();
    let key = key_and_product(&cli);
    let err = cli.run(&[
        "policy",
        "create",
        "--product",
        "ZAPPER-PRO",
        "--name",
        "Human",
        "--unsigned-key",
        "--scheme",
        "ED25519_SIGN",
    ]);
    assert_eq!(err.status.code(), Some(2), "an unsigned key has no scheme");

    let policy = cli.json(
        &[
            "policy",
            "create",
            "--product",
            "ZAPPER-PRO",
            "--name",
            "Human",
            "--unsigned-key",
            "--encrypt",
        ],
        0,
    );
    assert_eq!(policy["unsignedKey"], true);
    assert_eq!(policy["keyTemplate"], Value::Null);
    let shown = cli.run(&["policy", "show", "Human"]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("unsigned human key"), "{shown}");
    let listed = String::from_utf8_lossy(&cli.run(&["policy", "list"]).stdout).into_owned();
    assert!(listed.contains("UNSIGNED"), "{listed}");

    let license = cli.json(
        &[
            "license",
            "issue",
            "--policy",
            "Human",
            "--email",
            "bo@example.com",
        ],
        0,
    );
    let license_key = license["key"].as_str().unwrap();
    let groups: Vec<&str> = license_key.split('-').collect();
    assert_eq!(groups[0], "ZAPPERPRO", "{license_key}");
    assert_eq!(groups.len(), 6, "{license_key}");
    assert!(
        groups[1..].iter().all(|g| g.len() == 5
            && g.chars()
                .all(|c| keywright_license::issue::HUMAN_ALPHABET.contains(c))),
        "{license_key}"
    );

    // Not a signed key: verify says so (exit 14, MALFORMED).
    let report = cli.json(
        &[
            "verify",
            "--key",
            license_key,
            "--public-key",
            cli.path("public.hex").to_str().unwrap(),
        ],
        14,
    );
    assert_eq!(report["code"], "MALFORMED", "{report}");

    // The license file is signed by the product's key (from the real keychain) and
    // encrypted with the human key; it verifies here and independently.
    let lic = cli.path("human.lic");
    cli.json(
        &[
            "license",
            "export",
            license_key,
            "--out",
            lic.to_str().unwrap(),
        ],
        0,
    );
    let report = cli.json(
        &[
            "verify",
            lic.to_str().unwrap(),
            "--public-key",
            cli.path("public.hex").to_str().unwrap(),
            "--license-key",
            license_key,
        ],
        0,
    );
    assert_eq!(report["code"], "VALID");
    assert_eq!(
        report["payload"]["data"]["attributes"]["scheme"],
        Value::Null
    );
    let py = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/support/keygen_verify.py"
        ))
        .arg(&lic)
        .arg(key["publicKeyHex"].as_str().unwrap())
        .arg(license_key)
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "independent verifier rejected the file: {}",
        String::from_utf8_lossy(&py.stderr)
    );
    let payload: Value = serde_json::from_slice(&py.stdout).unwrap();
    assert_eq!(payload["data"]["attributes"]["key"], license_key);
}
