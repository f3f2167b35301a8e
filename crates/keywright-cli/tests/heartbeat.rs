//! `policy create` / `policy edit` heartbeat options and `machine list`'s heartbeat
//! status, through the real `keywright` binary and the real OS keychain.

mod common;

use common::*;

fn message(v: &serde_json::Value) -> String {
    v["error"]["message"].as_str().unwrap().to_owned()
}

#[test]
fn heartbeat_settings_through_the_cli() {
    let cli = Cli::new();
    key_and_product(&cli);
    let create = |extra: &[&str], status: i32| {
        let mut args = vec!["policy", "create", "--product", "ZAPPER-PRO", "--floating"];
        args.extend_from_slice(extra);
        cli.json(&args, status)
    };

    // Refusals name what is wrong, exit 2, and write nothing.
    let policies = cli.count("policies");
    let e = create(&["--name", "A", "--require-heartbeat"], 2);
    assert!(message(&e).contains("--heartbeat-duration"), "{e}");
    let e = create(
        &["--name", "A", "--heartbeat-cull-strategy", "BURY_DEAD"],
        2,
    );
    assert!(message(&e).contains("DEACTIVATE_DEAD, KEEP_DEAD"), "{e}");
    let e = create(
        &[
            "--name",
            "A",
            "--heartbeat-resurrection-strategy",
            "ALWAYS_REVIVE",
        ],
        2,
    );
    assert!(message(&e).contains("KEEP_DEAD"), "{e}");
    let e = create(&["--name", "A", "--heartbeat-duration", "10s"], 2);
    assert!(message(&e).contains("between 1 minute and 365 days"), "{e}");
    let e = create(&["--name", "A", "--heartbeat-duration", "soon"], 2);
    assert!(message(&e).contains("heartbeat duration"), "{e}");
    assert_eq!(cli.count("policies"), policies);

    let p = create(
        &[
            "--name",
            "Leased",
            "--require-heartbeat",
            "--heartbeat-duration",
            "10min",
            "--heartbeat-basis",
            "from-creation",
            "--heartbeat-resurrection-strategy",
            "5_minute_revive",
        ],
        0,
    );
    assert_eq!(p["requireHeartbeat"], true);
    assert_eq!(p["heartbeatDurationSeconds"], 600);
    assert_eq!(p["heartbeatCullStrategy"], "DEACTIVATE_DEAD");
    assert_eq!(p["heartbeatResurrectionStrategy"], "5_MINUTE_REVIVE");
    assert_eq!(p["heartbeatBasis"], "FROM_CREATION");
    let id = p["id"].as_str().unwrap();
    let shown = cli.run(&["policy", "show", id]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains(
            "heartbeat: required, duration 600 s, cull DEACTIVATE_DEAD, resurrection \
             5_MINUTE_REVIVE, basis FROM_CREATION"
        ),
        "{text}"
    );

    // FROM_CREATION: an activated machine is alive from the start.
    let license = cli.json(
        &[
            "license",
            "issue",
            "--policy",
            id,
            "--email",
            "ada@example.com",
        ],
        0,
    );
    let license = license["id"].as_str().unwrap();
    cli.json(
        &["machine", "activate", license, "--fingerprint", "fp-one"],
        0,
    );
    let listed = cli.json(&["machine", "list", license], 0);
    assert_eq!(listed["machines"][0]["heartbeatStatus"], "ALIVE");
    assert!(listed["machines"][0]["lastHeartbeatAt"].is_string());
    let text = String::from_utf8_lossy(&cli.run(&["machine", "list", license]).stdout).into_owned();
    assert!(text.contains("  active  ALIVE  fp-one  "), "{text}");

    // Edit: what is not named stays; stopping the requirement needs no duration.
    let e = cli.json(&["policy", "edit", id, "--heartbeat-duration", "none"], 2);
    assert!(message(&e).contains("heartbeat duration"), "{e}");
    let edited = cli.json(
        &[
            "policy",
            "edit",
            id,
            "--no-require-heartbeat",
            "--heartbeat-cull-strategy",
            "keep-dead",
        ],
        0,
    );
    assert_eq!(edited["requireHeartbeat"], false);
    assert_eq!(edited["heartbeatDurationSeconds"], 600);
    assert_eq!(edited["heartbeatCullStrategy"], "KEEP_DEAD");
    assert_eq!(edited["heartbeatBasis"], "FROM_CREATION");
    let verified = cli.json(&["audit", "verify"], 0);
    assert_eq!(verified["intact"], true, "{verified}");
    assert_eq!(
        sqlite(
            &cli.store(),
            "SELECT count(*) FROM audit_events WHERE action = 'policy.heartbeat';"
        ),
        "1"
    );
}
