//! Air-gapped activation through the real `keywright` binary and the real OS keychain
//! (Secret Service on Linux, as in flow.rs): the SDK writes a request, the vendor
//! imports it and gets a machine file, `keywright verify` accepts it only on that
//! fingerprint; seats, transfer, receipts and refusals with their exit statuses.

mod common;

use common::*;
use serde_json::Value;

const SUPPORT: &str = "Write to support@zapper.example";

/// Key, product with a support message, a policy; returns (public key file, license json).
fn setup(cli: &Cli, floating: bool, max: &str) -> (String, Value) {
    let key = cli.json(&["key", "create", "--name", "Main key"], 0);
    cli.json(
        &[
            "product",
            "create",
            "--name",
            "Zapper Pro",
            "--support-message",
            SUPPORT,
        ],
        0,
    );
    let mut args = vec![
        "policy",
        "create",
        "--product",
        "ZAPPER-PRO",
        "--name",
        "Seats",
        "--duration",
        "1y",
        "--max-machines",
        max,
    ];
    if floating {
        args.push("--floating");
    }
    let policy = cli.json(&args, 0);
    let public = cli.arg_path("public.hex");
    std::fs::write(&public, key["publicKeyHex"].as_str().unwrap()).unwrap();
    let license = cli.json(
        &[
            "license",
            "issue",
            "--policy",
            policy["id"].as_str().unwrap(),
            "--name",
            "Ada Lovelace",
        ],
        0,
    );
    (public, license)
}

fn request(cli: &Cli, key: &str, fingerprint: &str, name: &str) -> String {
    let out = cli.arg_path(name);
    let written = cli.json(
        &[
            "activation",
            "request",
            "--license-key",
            key,
            "--fingerprint",
            fingerprint,
            "--out",
            &out,
            "--hostname",
            "lab-pc-07",
            "--platform",
            "linux-x86_64",
            "--user",
            "ada",
            "--app-version",
            "2.4.1",
        ],
        0,
    );
    assert_eq!(written["nonce"].as_str().unwrap().len(), 32);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("-----BEGIN ACTIVATION REQUEST-----\n"));
    assert!(text.ends_with("\n-----END ACTIVATION REQUEST-----\n"));
    out
}

fn verify(cli: &Cli, public: &str, file: &str, key: &str, fingerprint: &str, status: i32) -> Value {
    cli.json(
        &[
            "verify",
            file,
            "--public-key",
            public,
            "--license-key",
            key,
            "--fingerprint",
            fingerprint,
        ],
        status,
    )
}

#[test]
fn request_import_verify_on_that_machine_only() {
    let cli = Cli::new();
    let (public, license) = setup(&cli, true, "2");
    let key = license["key"].as_str().unwrap();
    let id = license["id"].as_str().unwrap();

    let req = request(&cli, key, "fp-one", "one.req");
    let preview = cli.json(&["activation", "preview", &req], 0);
    assert_eq!(preview["request"]["hostname"], "lab-pc-07");
    assert_eq!(preview["seatsUsed"], 0);
    assert_eq!(preview["seatsAllowed"], 2);
    assert_eq!(preview["allowed"], true);

    let lic = cli.arg_path("machine.lic");
    let imported = cli.json(&["activation", "import", &req, "--out", &lic], 0);
    assert_eq!(imported["machine"]["fingerprint"], "fp-one");
    assert_eq!(imported["file"]["algorithm"], "aes-256-gcm+ed25519");
    let machine_id = imported["machine"]["id"].as_str().unwrap().to_owned();
    let text = std::fs::read_to_string(&lic).unwrap();
    assert!(text.starts_with("-----BEGIN MACHINE FILE-----\n"));

    let report = verify(&cli, &public, &lic, key, "fp-one", 0);
    assert_eq!(report["code"], "VALID");
    assert_eq!(report["payload"]["data"]["type"], "machines");
    assert_eq!(
        report["payload"]["data"]["attributes"]["fingerprint"],
        "fp-one"
    );
    assert_eq!(report["payload"]["included"][0]["id"], id);
    // Another machine: the file does not decrypt (exit 13).
    let report = verify(&cli, &public, &lic, key, "fp-other", 13);
    assert_eq!(report["code"], "DECRYPTION_FAILED");

    // The same request again: no second seat.
    cli.json(&["activation", "import", &req, "--out", &lic], 0);
    assert_eq!(cli.count("machines"), 1);
    let listed = cli.json(&["machine", "list", id], 0);
    assert_eq!(listed["machines"].as_array().unwrap().len(), 1);

    // A second machine by hand, then the license is full: exit 4, support message.
    let second = cli.json(
        &[
            "machine",
            "activate",
            id,
            "--fingerprint",
            "fp-two",
            "--name",
            "Laptop",
        ],
        0,
    );
    let audit_rows = cli.count("audit_events");
    let third = request(&cli, key, "fp-three", "three.req");
    let refused = cli.json(
        &[
            "activation",
            "import",
            &third,
            "--out",
            &cli.arg_path("three.lic"),
        ],
        4,
    );
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("out of activations") && message.contains(SUPPORT),
        "{message}"
    );
    assert_eq!(cli.count("machines"), 2);
    assert_eq!(cli.count("audit_events"), audit_rows);
    assert!(!cli.path("three.lic").exists());

    // Transfer the laptop to fp-three, export, verify there.
    let moved = cli.json(
        &[
            "machine",
            "transfer",
            second["id"].as_str().unwrap(),
            "--fingerprint",
            "fp-three",
        ],
        0,
    );
    let moved_lic = cli.arg_path("moved.lic");
    cli.json(
        &[
            "machine",
            "export",
            moved["id"].as_str().unwrap(),
            "--out",
            &moved_lic,
        ],
        0,
    );
    assert_eq!(
        verify(&cli, &public, &moved_lic, key, "fp-three", 0)["code"],
        "VALID"
    );
    let list = cli.json(&["machine", "list", id], 0);
    assert_eq!(list["machines"].as_array().unwrap().len(), 3);

    // The customer's receipt for fp-one frees its seat.
    let receipt = cli.arg_path("one.receipt");
    cli.json(
        &[
            "deactivation",
            "receipt",
            "--license-key",
            key,
            "--fingerprint",
            "fp-one",
            "--out",
            &receipt,
        ],
        0,
    );
    let freed = cli.json(&["deactivation", "import", &receipt], 0);
    assert_eq!(freed["id"], machine_id.as_str());
    assert_eq!(freed["status"], "deactivated");
    let again = cli.json(&["deactivation", "import", &receipt], 4);
    assert!(again["error"]["message"]
        .as_str()
        .unwrap()
        .contains("already imported"));

    let history = cli.json(&["machine", "history", &machine_id], 0);
    let actions: Vec<&str> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "machine.deactivate",
            "machine_file.sign",
            "machine.reactivate",
            "machine_file.sign",
            "machine.activate"
        ]
    );

    let sim = cli.json(
        &[
            "machine",
            "simulate",
            id,
            "--machine",
            moved["id"].as_str().unwrap(),
            "--at",
            "2027-01-01",
        ],
        0,
    );
    assert_eq!(sim["code"], "VALID");
    let sim = cli.json(&["machine", "simulate", id, "--at", "2029-01-01"], 0);
    assert_eq!(sim["code"], "EXPIRED");
    assert_eq!(sim["supportMessage"], SUPPORT);

    let ok = cli.run(&["audit", "verify"]);
    assert!(ok.status.success());
}

#[test]
fn damaged_requests_exit_9_and_write_nothing() {
    let cli = Cli::new();
    let (_, license) = setup(&cli, false, "1");
    let key = license["key"].as_str().unwrap();
    let req = request(&cli, key, "fp-one", "one.req");
    let text = std::fs::read_to_string(&req).unwrap();
    let rows = (cli.count("machines"), cli.count("audit_events"));

    let cut = cli.arg_path("cut.req");
    std::fs::write(&cut, &text[..text.len() / 2]).unwrap();
    let err = cli.json(
        &[
            "activation",
            "import",
            &cut,
            "--out",
            &cli.arg_path("x.lic"),
        ],
        9,
    );
    assert_eq!(err["error"]["code"], "FORMAT");
    let line = text.lines().nth(1).unwrap();
    let c = if line.as_bytes()[5] == b'Q' { "R" } else { "Q" };
    let typo = cli.arg_path("typo.req");
    std::fs::write(
        &typo,
        text.replacen(line, &format!("{}{c}{}", &line[..5], &line[6..]), 1),
    )
    .unwrap();
    let err = cli.json(
        &[
            "activation",
            "import",
            &typo,
            "--out",
            &cli.arg_path("x.lic"),
        ],
        9,
    );
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("checksum"),
        "{err}"
    );
    let stranger = request(&cli, "key/Zm9v.YmFy", "fp-one", "stranger.req");
    cli.json(
        &[
            "activation",
            "import",
            &stranger,
            "--out",
            &cli.arg_path("x.lic"),
        ],
        3,
    );
    assert_eq!((cli.count("machines"), cli.count("audit_events")), rows);
    assert!(!cli.path("x.lic").exists());

    // Node-locked: the second fingerprint is refused.
    cli.json(
        &[
            "activation",
            "import",
            &req,
            "--out",
            &cli.arg_path("one.lic"),
        ],
        0,
    );
    let two = request(&cli, key, "fp-two", "two.req");
    let err = cli.json(
        &[
            "activation",
            "import",
            &two,
            "--out",
            &cli.arg_path("two.lic"),
        ],
        4,
    );
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("node-locked"),
        "{err}"
    );
}
