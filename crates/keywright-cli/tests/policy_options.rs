//! `policy create --expiration-strategy --strict --grace --no-transfer`, `policy show`,
//! the transfer rule, `machine simulate --file-issued-at --require` and `license
//! entitlements --set/--inherit`, through the real `keywright` binary and the real OS
//! keychain.

mod common;

use common::*;
use serde_json::Value;

fn issue(cli: &Cli, policy: &str) -> Value {
    cli.json(
        &[
            "license",
            "issue",
            "--policy",
            policy,
            "--email",
            "ada@example.com",
        ],
        0,
    )
}

fn simulate(cli: &Cli, license: &str, extra: &[&str]) -> String {
    let mut args = vec!["machine", "simulate", license];
    args.extend_from_slice(extra);
    cli.json(&args, 0)["code"].as_str().unwrap().to_owned()
}

#[test]
fn policy_options_through_the_cli() {
    let cli = Cli::new();
    key_and_product(&cli);

    // A typo in the strategy or the grace is refused by name, exit 2, nothing written.
    let policies = cli.count("policies");
    let err = cli.json(
        &[
            "policy",
            "create",
            "--product",
            "ZAPPER-PRO",
            "--name",
            "Bad",
            "--expiration-strategy",
            "KEEP_GOING",
        ],
        2,
    );
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("MAINTAIN_ACCESS"),
        "{err}"
    );
    let err = cli.json(
        &[
            "policy",
            "create",
            "--product",
            "ZAPPER-PRO",
            "--name",
            "Bad",
            "--grace",
            "a while",
        ],
        2,
    );
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("offline grace"),
        "{err}"
    );
    assert_eq!(cli.count("policies"), policies);

    let lenient = cli.json(
        &[
            "policy",
            "create",
            "--product",
            "ZAPPER-PRO",
            "--name",
            "Lenient",
            "--duration",
            "1d",
            "--ttl",
            "1d",
            "--floating",
            "--max-machines",
            "2",
            "--expiration-strategy",
            "maintain_access",
            "--strict",
            "--grace",
            "7d",
            "--no-transfer",
        ],
        0,
    );
    assert_eq!(lenient["expirationStrategy"], "MAINTAIN_ACCESS");
    assert_eq!(lenient["strict"], true);
    assert_eq!(lenient["offlineGraceSeconds"], 7 * 86_400);
    assert_eq!(lenient["allowTransfer"], false);
    let shown = cli.run(&["policy", "show", "Lenient"]);
    let text = String::from_utf8_lossy(&shown.stdout);
    for line in [
        "expiration strategy: MAINTAIN_ACCESS",
        "strict: true",
        "offline grace: 604800 s",
        "transfer: not allowed",
    ] {
        assert!(text.contains(line), "{line:?} in {text}");
    }
    let plain = cli.json(
        &[
            "policy",
            "create",
            "--product",
            "ZAPPER-PRO",
            "--name",
            "Plain",
            "--duration",
            "1d",
            "--ttl",
            "1d",
            "--floating",
            "--max-machines",
            "2",
        ],
        0,
    );
    assert_eq!(plain["expirationStrategy"], "RESTRICT_ACCESS");
    assert_eq!(plain["allowTransfer"], true);
    assert_eq!(plain["offlineGraceSeconds"], Value::Null);

    // Expired licenses: the strategy decides; an old file: the TTL and the grace decide.
    let l = issue(&cli, "Lenient");
    let p = issue(&cli, "Plain");
    let (l_id, p_id) = (l["id"].as_str().unwrap(), p["id"].as_str().unwrap());
    let later = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(72)).to_string();
    assert_eq!(simulate(&cli, l_id, &["--at", &later]), "VALID");
    assert_eq!(simulate(&cli, p_id, &["--at", &later]), "EXPIRED");
    let today = jiff::Timestamp::now().to_string();
    let soon = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(30)).to_string();
    assert_eq!(
        simulate(&cli, p_id, &["--at", &soon, "--file-issued-at", &today]),
        "FILE_EXPIRED"
    );
    assert_eq!(
        simulate(&cli, l_id, &["--at", &soon, "--file-issued-at", &today]),
        "VALID",
        "within the grace period"
    );

    // The transfer rule: refused with its own code, exit 4, nothing written.
    let machine = cli.json(&["machine", "activate", l_id, "--fingerprint", "fp-one"], 0);
    let rows = (cli.count("machines"), cli.count("audit_events"));
    let err = cli.json(
        &[
            "machine",
            "transfer",
            machine["id"].as_str().unwrap(),
            "--fingerprint",
            "fp-two",
        ],
        4,
    );
    assert_eq!(err["error"]["code"], "TRANSFER_NOT_ALLOWED", "{err}");
    assert_eq!((cli.count("machines"), cli.count("audit_events")), rows);

    // A license's own entitlements reach its file and the simulator.
    let key = p["key"].as_str().unwrap();
    let e = cli.json(&["license", "entitlements", key, "--set", "PRO,SSO"], 0);
    assert_eq!(e["effective"], serde_json::json!(["PRO", "SSO"]));
    assert_eq!(
        simulate(&cli, p_id, &["--at", &today, "--require", "SSO"]),
        "VALID"
    );
    let lic = cli.arg_path("p.lic");
    cli.json(
        &[
            "license",
            "export",
            key,
            "--out",
            &lic,
            "--include",
            "entitlements",
        ],
        0,
    );
    let report = cli.json(
        &["verify", &lic, "--public-key", &cli.arg_path("public.hex")],
        0,
    );
    assert_eq!(report["code"], "VALID");
    let codes: Vec<&str> = report["payload"]["included"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["type"] == "entitlements")
        .map(|r| r["attributes"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["PRO", "SSO"]);
    let e = cli.json(&["license", "entitlements", key, "--inherit"], 0);
    assert_eq!(e["own"], Value::Null);
    assert_eq!(
        simulate(&cli, p_id, &["--at", &today, "--require", "SSO"]),
        "ENTITLEMENTS_MISSING"
    );
    let err = cli.json(&["license", "entitlements", key, "--set", "bad code!"], 2);
    assert_eq!(err["error"]["code"], "BAD_INPUT");
}
