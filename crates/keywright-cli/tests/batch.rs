//! `keywright license batch` and `license export --csv` through the real binary, the
//! real SQLite file and the real OS keychain (run under scripts/test.sh, or
//! `dbus-run-session -- bash /tmp/kr.sh cargo test -p keywright-cli --test batch`).

mod common;

use common::*;

fn setup(cli: &Cli) -> String {
    cli.json(&["key", "create", "--name", "Main key"], 0);
    cli.json(
        &["product", "create", "--name", "Zapper Pro", "--code", "ZAP"],
        0,
    );
    cli.json(
        &[
            "policy",
            "create",
            "--product",
            "ZAP",
            "--name",
            "Yearly",
            "--duration",
            "1y",
            "--encrypt",
        ],
        0,
    );
    let out = cli.run(&["key", "public", "Main key", "--format", "hex"]);
    assert!(out.status.success());
    let public = cli.path("public.hex");
    std::fs::write(&public, &out.stdout).unwrap();
    public.display().to_string()
}

const ORDERS: &str = "Name,Email,Company,Policy,Quantity,Order ID,Reseller\n\
    Ada Lovelace,ada@example.com,Analytical Ltd,Yearly,2,A-1,North\n\
    Bob,bob@example.com,,Yearly,1,A-2,\n\
    Cy,cy@example.com,Cy & Co,Yearly,1,A-3,South\n\
    Dee,dee@example.com,,Nope,1,A-4,\n";

#[test]
fn batch_dry_run_then_issue_then_rerun_with_the_real_keychain() {
    let cli = Cli::new();
    let public = setup(&cli);
    let csv = cli.path("orders.csv");
    std::fs::write(&csv, ORDERS).unwrap();
    let csv = csv.display().to_string();

    // Dry run: every row validated, the bad one named by its line; nothing written.
    let preview = cli.json(&["license", "batch", &csv, "--dry-run"], 2);
    assert_eq!(preview["toIssue"], 4);
    assert_eq!(preview["badRows"], 1);
    assert_eq!(preview["rows"][3]["line"], 5);
    assert_eq!(preview["rows"][3]["errors"][0], "unknown policy \"Nope\"");
    assert_eq!(cli.count("licenses"), 0);
    let text = cli.run(&["license", "batch", &csv, "--dry-run"]);
    assert_eq!(text.status.code(), Some(2));
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("line 5 (order A-4): unknown policy \"Nope\""),
        "{text}"
    );

    // All or nothing: the bad row stops everything.
    let refused = cli.json(&["license", "batch", &csv, "--all-or-nothing"], 2);
    assert_eq!(refused["refused"], true);
    assert_eq!(cli.count("licenses"), 0);
    assert_eq!(cli.count("customers"), 0);

    // For real, with files: the good rows are issued, the bad one reported.
    let out_dir = cli.arg_path("out");
    let outcome = cli.json(&["license", "batch", &csv, "--out", &out_dir], 2);
    assert_eq!(outcome["issued"].as_array().unwrap().len(), 4, "{outcome}");
    assert_eq!(outcome["licenseFiles"], 4);
    assert_eq!(outcome["emailDrafts"], 3);
    assert_eq!(cli.count("licenses"), 4);
    assert_eq!(cli.count("customers WHERE company = 'Cy & Co'"), 1);
    // One audit row for the transaction, committing to its 4 licenses and 3 customers;
    // one per license file.
    assert_eq!(
        cli.count("audit_events WHERE action = 'license.batch_issue'"),
        1
    );
    assert_eq!(
        cli.count(
            "licenses l JOIN audit_events a ON a.seq = l.proof_seq \
             WHERE a.action = 'license.batch_issue'"
        ),
        4
    );
    assert_eq!(
        cli.count("audit_events WHERE action = 'license_file.sign'"),
        4
    );
    let drafts = std::fs::read_dir(cli.path("out"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".eml")
        })
        .count();
    assert_eq!(drafts, 3);

    // Each .lic file verifies with the public key and its license key.
    for issued in outcome["issued"].as_array().unwrap() {
        let file = cli.path(&format!(
            "out/{}-{}.lic",
            issued["orderId"].as_str().unwrap(),
            issued["seq"]
        ));
        let key = issued["key"].as_str().unwrap();
        let verdict = cli.json(
            &[
                "verify",
                file.to_str().unwrap(),
                "--public-key",
                &public,
                "--license-key",
                key,
            ],
            0,
        );
        assert_eq!(verdict["code"], "VALID", "{verdict}");
    }
    cli.json(&["audit", "verify"], 0);

    // Again: nothing new.
    let again = cli.json(&["license", "batch", &csv, "--out", &out_dir], 2);
    assert_eq!(again["issued"].as_array().unwrap().len(), 0);
    assert_eq!(again["alreadyIssued"], 4);
    assert_eq!(cli.count("licenses"), 4);

    // A file with only good rows exits 0.
    let good = cli.path("good.csv");
    std::fs::write(&good, "email,policy,order id\nzed@example.com,Yearly,Z-1\n").unwrap();
    let good = good.display().to_string();
    cli.json(&["license", "batch", &good, "--dry-run"], 0);
    let issued = cli.json(&["license", "batch", &good], 0);
    assert_eq!(issued["issued"].as_array().unwrap().len(), 1);

    // A Latin-1 file is refused with the line and the reason, exit 2.
    let latin = cli.path("latin1.csv");
    std::fs::write(&latin, b"name,policy,order id\nJos\xE9,Yearly,L-1\n").unwrap();
    let err = cli.json(&["license", "batch", latin.to_str().unwrap()], 2);
    let message = err["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("line 2") && message.contains("not UTF-8"),
        "{message}"
    );
}

#[test]
fn export_licenses_as_csv_with_filters_and_company_on_issue() {
    let cli = Cli::new();
    setup(&cli);
    let ada = cli.json(
        &[
            "license",
            "issue",
            "--policy",
            "Yearly",
            "--name",
            "=cmd|' /C calc'!A0",
            "--email",
            "ada@example.com",
            "--company",
            "Analytical Ltd",
        ],
        0,
    );
    let bob = cli.json(
        &[
            "license",
            "issue",
            "--policy",
            "Yearly",
            "--email",
            "bob@example.com",
        ],
        0,
    );
    cli.json(&["license", "suspend", bob["id"].as_str().unwrap()], 0);
    assert_eq!(cli.count("customers WHERE company = 'Analytical Ltd'"), 1);

    let out = cli.arg_path("active.csv");
    let f = cli.json(
        &[
            "license",
            "export",
            "--csv",
            &out,
            "--status",
            "active",
            "--product",
            "ZAP",
        ],
        0,
    );
    assert_eq!(f["algorithm"], "csv");
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("id,key,status,product,policy,customer_name"));
    assert!(lines[1].contains(ada["key"].as_str().unwrap()));
    assert!(lines[1].contains("'=cmd|' /C calc'!A0"), "{text}");
    assert!(lines[1].contains("Analytical Ltd"));
    assert!(!text.contains("bob@example.com"));

    // Without --csv, export still wants a license and --out.
    let err = cli.run(&["license", "export", "--status", "active"]);
    assert_eq!(err.status.code(), Some(2));
}

/// SIGKILL in the middle of a batch (three times, at different points), then the same
/// file again: every license in the store has its proof (the batch audit row of its
/// transaction), none is there twice, the audit log verifies after every kill, and
/// the re-run issues exactly what is missing.
#[test]
fn a_batch_killed_with_sigkill_leaves_no_license_without_its_proof() {
    let cli = Cli::new();
    setup(&cli);
    let mut orders = String::from("Name,Email,Policy,Quantity,Order ID\n");
    for i in 0..4_000 {
        orders.push_str(&format!("Buyer {i},buyer{i}@example.com,Yearly,1,K-{i}\n"));
    }
    let csv = cli.path("orders.csv");
    std::fs::write(&csv, orders).unwrap();
    let csv = csv.display().to_string();

    let unproven =
        "licenses l WHERE l.proof_seq IS NULL OR NOT EXISTS (SELECT 1 FROM audit_events a \
                    WHERE a.seq = l.proof_seq AND a.action = 'license.batch_issue')";
    let mut killed = 0;
    for round in 0..3 {
        let before = cli.count("licenses");
        let mut child = cli
            .command()
            .args(["license", "batch", &csv])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Killed once it has committed something (a chunk: 500 licenses), at a later
        // point each round.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if cli.count("licenses") > before {
                std::thread::sleep(std::time::Duration::from_millis(15 * round));
                child.kill().unwrap();
                killed += 1;
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the batch made no progress"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        child.wait().unwrap();
        assert_eq!(
            cli.count(unproven),
            0,
            "round {round}: a license without its proof"
        );
        assert_eq!(
            cli.count("(SELECT DISTINCT order_id, order_seq FROM licenses)"),
            cli.count("licenses")
        );
        assert_eq!(cli.count("customers"), cli.count("licenses"));
        let verify = cli.json(&["audit", "verify"], 0);
        assert_eq!(verify["intact"], true, "round {round}: {verify}");
    }
    assert!(killed >= 1, "no run was killed mid-batch");

    let outcome = cli.json(&["license", "batch", &csv], 0);
    assert_eq!(
        outcome["alreadyIssued"].as_i64().unwrap()
            + outcome["issued"].as_array().unwrap().len() as i64,
        4_000,
        "{}",
        outcome["message"]
    );
    assert_eq!(cli.count("licenses"), 4_000);
    assert_eq!(cli.count(unproven), 0);
    assert_eq!(cli.json(&["audit", "verify"], 0)["intact"], true);
    let again = cli.json(&["license", "batch", &csv], 0);
    assert_eq!(again["issued"].as_array().unwrap().len(), 0);
}
