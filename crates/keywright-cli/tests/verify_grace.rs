//! One validation rule: `keywright verify` on an exported file and `keywright machine
//! simulate` on the same license, at the same moments, give the same code, for
//! license and machine files, with and without the policy's offline grace period:
//! within the TTL, past the TTL within the grace, past both, and with no grace.

mod common;

use common::*;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

fn policy(cli: &Cli, name: &str, grace: Option<&str>) {
    let mut args = vec![
        "policy",
        "create",
        "--product",
        "ZAPPER-PRO",
        "--name",
        name,
        "--duration",
        "1y",
        "--ttl",
        "1d",
    ];
    if let Some(g) = grace {
        args.extend(["--grace", g]);
    }
    cli.json(&args, 0);
}

/// `verify` at `at`: (exit status, code, message).
fn verify(cli: &Cli, file: &str, extra: &[&str], at: Timestamp) -> (i32, String, String) {
    let at = at.to_string();
    let public = cli.arg_path("public.hex");
    let mut args = vec![
        "--json",
        "verify",
        file,
        "--public-key",
        &public,
        "--now",
        &at,
    ];
    args.extend_from_slice(extra);
    let out = cli.command().args(&args).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        out.status.code().unwrap(),
        v["code"].as_str().unwrap().to_owned(),
        v["message"].as_str().unwrap().to_owned(),
    )
}

/// `machine simulate` at `at` for a file issued at `issued`: (code, message).
fn simulate(
    cli: &Cli,
    license: &str,
    machine: Option<&str>,
    issued: &str,
    at: Timestamp,
) -> (String, String) {
    let at = at.to_string();
    let mut args = vec![
        "machine",
        "simulate",
        license,
        "--at",
        &at,
        "--file-issued-at",
        issued,
    ];
    if let Some(m) = machine {
        args.extend(["--machine", m]);
    }
    let v = cli.json(&args, 0);
    (
        v["code"].as_str().unwrap().to_owned(),
        v["message"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn verify_and_simulate_apply_the_same_offline_grace() {
    let cli = Cli::new();
    let key = cli.json(&["key", "create", "--name", "Main key"], 0);
    std::fs::write(
        cli.path("public.hex"),
        key["publicKeyHex"].as_str().unwrap(),
    )
    .unwrap();
    cli.json(&["product", "create", "--name", "Zapper Pro"], 0);
    policy(&cli, "Grace", Some("7d"));
    policy(&cli, "Strict TTL", None);

    let hour = SignedDuration::from_hours(1);
    let day = SignedDuration::from_hours(24);
    // (moment after the file's issue, expected code with a 7-day grace, without)
    let moments = [
        (hour, "VALID", "VALID"),
        (day * 2, "VALID", "FILE_EXPIRED"),
        (day * 9, "FILE_EXPIRED", "FILE_EXPIRED"),
    ];
    let mut compared = 0;
    for (policy, graced) in [("Grace", true), ("Strict TTL", false)] {
        let license = cli.json(
            &[
                "license",
                "issue",
                "--policy",
                policy,
                "--email",
                "ada@example.com",
            ],
            0,
        );
        let (id, key) = (
            license["id"].as_str().unwrap().to_owned(),
            license["key"].as_str().unwrap().to_owned(),
        );
        let machine = cli.json(
            &["machine", "activate", &id, "--fingerprint", "fp-lab-7"],
            0,
        );
        let machine_id = machine["id"].as_str().unwrap().to_owned();

        let lic = cli.arg_path(&format!("{policy}.lic"));
        let exported = cli.json(&["license", "export", &id, "--out", &lic], 0);
        assert_eq!(exported["path"], lic.as_str());
        let mlic = cli.arg_path(&format!("{policy}-machine.lic"));
        cli.json(&["machine", "export", &machine_id, "--out", &mlic], 0);

        for (file, machine, extra) in [
            (&lic, None, vec![]),
            (
                &mlic,
                Some(machine_id.as_str()),
                vec!["--license-key", key.as_str(), "--fingerprint", "fp-lab-7"],
            ),
        ] {
            // The file's own issue time, as verify reads it.
            let public = cli.arg_path("public.hex");
            let mut args = vec!["verify", file.as_str(), "--public-key", &public];
            args.extend(extra.iter().copied());
            let probe = cli.json(&args, 0);
            let issued = probe["meta"]["issued"].as_str().unwrap().to_owned();
            let issued_at: Timestamp = issued.parse().unwrap();
            for (after, with_grace, without) in moments {
                let at = issued_at + after;
                let expected = if graced { with_grace } else { without };
                let (status, v_code, v_message) = verify(&cli, file, &extra, at);
                let (s_code, s_message) = simulate(&cli, &id, machine, &issued, at);
                println!(
                    "{policy} {} +{after:#}: verify {v_code} (exit {status}), simulate {s_code}",
                    if machine.is_some() {
                        "machine file"
                    } else {
                        "license file"
                    }
                );
                assert_eq!(v_code, expected, "verify {file} at {at}: {v_message}");
                assert_eq!(s_code, expected, "simulate at {at}: {s_message}");
                assert_eq!(v_message, s_message, "the same words");
                assert_eq!(status, if expected == "VALID" { 0 } else { 11 });
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 12);
}
