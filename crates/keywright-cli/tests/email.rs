//! Licenses by email through the real binary, the real OS keychain (the SMTP password)
//! and a real SMTP server on loopback: aiosmtpd (scripts/smtp-test-server.py) with
//! STARTTLS on a self-signed certificate made by openssl here, and AUTH required.
//! Run in a private keyring: `inkr cargo test -p keywright-cli --test email`.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use common::*;
use serde_json::Value;

const USER: &str = "sales";
const PASSWORD: &str = "correct horse battery";

/// The SMTP server, killed when dropped.
struct Smtp {
    child: Child,
    port: u16,
    out: PathBuf,
    cert: PathBuf,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Smtp {
    fn start(dir: &Path, extra: &[&str]) -> Self {
        let out = dir.join(format!("received-{}", extra.len()));
        std::fs::create_dir_all(&out).unwrap();
        let cert = dir.join("smtp-cert.pem");
        let key = dir.join("smtp-key.pem");
        if !cert.exists() {
            let status = Command::new("openssl")
                .args([
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                ])
                .args([
                    "-subj",
                    "/CN=127.0.0.1",
                    "-addext",
                    "subjectAltName=IP:127.0.0.1",
                ])
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&cert)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("openssl (scripts/setup-debian.sh installs it)");
            assert!(status.success());
        }
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scripts/smtp-test-server.py"
        );
        let mut child = Command::new("python3")
            .arg(script)
            .arg("--out")
            .arg(&out)
            .arg("--cert")
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .args(["--user", USER, "--password", PASSWORD])
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with aiosmtpd (scripts/setup-debian.sh installs it)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .unwrap_or_else(|| panic!("the SMTP server did not start: {line:?}"))
            .parse()
            .unwrap();
        Self {
            child,
            port,
            out,
            cert,
        }
    }

    /// The messages received so far: (raw bytes, summary), in order.
    fn received(&self) -> Vec<(Vec<u8>, Value)> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|json| {
                let raw = std::fs::read(json.with_extension("eml")).unwrap();
                let summary = serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap();
                (raw, summary)
            })
            .collect()
    }

    fn account(&self, cli: &Cli, password: &str) {
        let file = cli.path("smtp-password");
        std::fs::write(&file, format!("{password}\n")).unwrap();
        cli.json(
            &[
                "mail",
                "account",
                "--host",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
                "--security",
                "starttls",
                "--user",
                USER,
                "--from",
                "sales@example.com",
                "--from-name",
                "Zäpper Sales",
                "--reply-to",
                "support@example.com",
                "--ca-cert",
                self.cert.to_str().unwrap(),
                "--password-file",
                file.to_str().unwrap(),
            ],
            0,
        );
    }
}

fn setup(cli: &Cli) -> String {
    cli.json(&["key", "create", "--name", "Main key"], 0);
    cli.json(
        &[
            "product",
            "create",
            "--name",
            "Zapper Pro",
            "--code",
            "ZAP",
            "--support-message",
            "Write to support@example.com",
        ],
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
        ],
        0,
    );
    let out = cli.run(&["key", "public", "Main key", "--format", "hex"]);
    assert!(out.status.success());
    let public = cli.path("public.hex");
    std::fs::write(&public, &out.stdout).unwrap();
    public.display().to_string()
}

fn header_lines(raw: &[u8]) -> Vec<String> {
    let text = String::from_utf8(raw.to_vec()).unwrap();
    let head = text.split("\r\n\r\n").next().unwrap().to_owned();
    head.split("\r\n").map(str::to_owned).collect()
}

#[test]
fn one_license_is_sent_over_starttls_with_its_file_attached_and_recorded() {
    let cli = Cli::new();
    let public = setup(&cli);
    let smtp = Smtp::start(cli.dir.path(), &[]);
    smtp.account(&cli, PASSWORD);

    // The password is in the keychain, not in the store.
    let shown = cli.json(&["mail", "show"], 0);
    assert_eq!(shown["passwordSaved"], true);
    assert_eq!(shown["account"]["username"], USER);
    let dump = std::fs::read(cli.store()).unwrap();
    assert!(!dump
        .windows(PASSWORD.len())
        .any(|w| w == PASSWORD.as_bytes()));

    let license = cli.json(
        &[
            "license",
            "issue",
            "--policy",
            "Yearly",
            "--name",
            "Ada Łovelace",
            "--email",
            "ada@example.com",
        ],
        0,
    );
    let id = license["id"].as_str().unwrap();
    let key = license["key"].as_str().unwrap();

    let sent = cli.json(&["license", "send", id], 0);
    assert_eq!(sent["to"], "ada@example.com");

    let got = smtp.received();
    assert_eq!(got.len(), 1);
    let (raw, summary) = &got[0];
    // Envelope and session: STARTTLS, logged in.
    assert_eq!(summary["mailFrom"], "sales@example.com");
    assert_eq!(summary["rcptTos"], serde_json::json!(["ada@example.com"]));
    assert_eq!(summary["tls"], true);
    assert_eq!(summary["authenticated"], true);
    // Headers as sent: non-ASCII names in RFC 2047 encoded words.
    let lines = header_lines(raw);
    let find = |name: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} header in {lines:?}"))
            .clone()
    };
    assert!(find("From").contains("=?utf-8?b?"), "{}", find("From"));
    assert!(find("From").ends_with("<sales@example.com>"));
    assert!(find("To").contains("=?utf-8?b?"), "{}", find("To"));
    assert!(find("To").ends_with("<ada@example.com>"));
    assert_eq!(find("Reply-To"), "Reply-To: support@example.com");
    assert_eq!(find("Subject"), "Subject: Your license for Zapper Pro");
    assert_eq!(find("MIME-Version"), "MIME-Version: 1.0");
    assert!(find("Content-Type").starts_with("Content-Type: multipart/mixed;"));
    assert!(lines.iter().all(|l| !l.starts_with("X-Unsent")));
    assert!(raw.split(|b| *b == b'\n').all(|l| l.len() <= 1000));
    // Decoded by Python's email package.
    assert_eq!(
        summary["headers"]["From"],
        "Zäpper Sales <sales@example.com>"
    );
    assert_eq!(summary["headers"]["To"], "Ada Łovelace <ada@example.com>");
    let body = summary["body"].as_str().unwrap().replace("\r\n", "\n");
    assert!(body.starts_with("Hello Ada Łovelace,\n"), "{body}");
    assert!(body.contains(&format!("\n{key}\n")), "{body}");
    assert!(body.contains("Write to support@example.com"));
    // The attachment is a license file that verifies with the product's public key.
    let attachments = summary["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1);
    assert!(attachments[0]["filename"]
        .as_str()
        .unwrap()
        .ends_with(".lic"));
    let file = base64::engine::general_purpose::STANDARD
        .decode(attachments[0]["base64"].as_str().unwrap())
        .unwrap();
    assert!(file.starts_with(b"-----BEGIN LICENSE FILE-----"));
    let lic = cli.path("attached.lic");
    std::fs::write(&lic, &file).unwrap();
    let verdict = cli.json(
        &["verify", lic.to_str().unwrap(), "--public-key", &public],
        0,
    );
    assert_eq!(verdict["code"], "VALID", "{verdict}");

    // Audited as an export, and the license's history says it was emailed.
    let log = cli.json(&["audit", "list"], 0);
    let text = serde_json::to_string(&log).unwrap();
    assert!(text.contains("license_file.sign"), "{text}");
    assert!(text.contains(r#"\"via\":\"email\""#), "{text}");
    assert!(text.contains("license.email"), "{text}");
    assert!(text.contains("ada@example.com"), "{text}");
    assert!(!text.contains(PASSWORD));
    cli.json(&["audit", "verify"], 0);

    // A header through the address is refused before anything is sent.
    let out = cli.run(&[
        "license",
        "send",
        id,
        "--to",
        "ada@example.com\r\nBcc: eve@example.com",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a valid email address"));
    assert_eq!(smtp.received().len(), 1);
}

#[test]
fn a_refused_login_an_untrusted_certificate_and_a_closed_port_are_named() {
    let cli = Cli::new();
    setup(&cli);
    let smtp = Smtp::start(cli.dir.path(), &[]);
    smtp.account(&cli, "wrong password");
    let out = cli.run(&["mail", "test"]);
    assert_eq!(out.status.code(), Some(21), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refused the login"), "{err}");
    assert!(!err.contains("wrong password"));

    smtp.account(&cli, PASSWORD);
    cli.json(&["mail", "test", "--to", "me@example.com"], 0);
    assert_eq!(smtp.received().len(), 1);

    // Without the certificate trusted, TLS fails (and says so).
    cli.json(
        &[
            "mail",
            "account",
            "--host",
            "127.0.0.1",
            "--port",
            &smtp.port.to_string(),
            "--user",
            USER,
            "--from",
            "sales@example.com",
        ],
        0,
    );
    let out = cli.run(&["mail", "test"]);
    assert_eq!(out.status.code(), Some(22), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(err.contains("TLS") || err.contains("certificate"), "{err}");

    // Nothing listening.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    cli.json(
        &[
            "mail",
            "account",
            "--host",
            "127.0.0.1",
            "--port",
            &closed.to_string(),
            "--from",
            "sales@example.com",
        ],
        0,
    );
    let out = cli.run(&["mail", "test"]);
    assert_eq!(out.status.code(), Some(22), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach"));
}

#[test]
fn a_message_over_the_size_limit_is_refused_with_the_reason() {
    let cli = Cli::new();
    setup(&cli);
    let smtp = Smtp::start(cli.dir.path(), &["--size-limit", "1500"]);
    smtp.account(&cli, PASSWORD);
    let license = cli.json(
        &[
            "license",
            "issue",
            "--policy",
            "Yearly",
            "--email",
            "ada@example.com",
        ],
        0,
    );
    let out = cli.run(&["license", "send", license["id"].as_str().unwrap()]);
    assert_eq!(out.status.code(), Some(23), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("larger than"), "{err}");
    assert!(smtp.received().is_empty());
}

const ORDERS: &str = "Name,Email,Policy,Quantity,Order ID\n\
    Ada,ada@example.com,Yearly,2,A-1\n\
    Bob,bob@example.com,Yearly,1,A-2\n\
    Cy,cy@example.com,Yearly,1,A-3\n\
    Dee,dee@example.com,Yearly,1,A-4\n";

#[test]
fn a_batch_retries_4xx_not_5xx_and_a_rerun_sends_nothing_twice() {
    let cli = Cli::new();
    setup(&cli);
    let csv = cli.path("orders.csv");
    std::fs::write(&csv, ORDERS).unwrap();
    let csv = csv.display().to_string();
    cli.json(&["license", "batch", &csv], 0);
    let smtp = Smtp::start(
        cli.dir.path(),
        &["--reject", "cy@example.com", "--defer", "bob@example.com:1"],
    );
    smtp.account(&cli, PASSWORD);

    let first = cli.json(&["batch", "send", &csv, "--retry-delay", "50"], 23);
    let results = first["results"].as_array().unwrap();
    let status: Vec<&str> = results
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(status, ["sent", "sent", "failed", "sent"]);
    assert_eq!(results[1]["attempts"], 2, "bob's 451 was retried");
    assert_eq!(results[2]["attempts"], 1, "cy's 550 was not");
    assert!(results[2]["message"].as_str().unwrap().contains("550"));
    let got = smtp.received();
    assert_eq!(got.len(), 3);
    // Ada's order: one message, both keys, both files.
    assert_eq!(got[0].1["rcptTos"], serde_json::json!(["ada@example.com"]));
    assert_eq!(got[0].1["attachments"].as_array().unwrap().len(), 2);

    // Again: the sent orders are not sent twice; the refused one is tried again.
    let again = cli.json(&["batch", "send", &csv, "--retry-delay", "50"], 23);
    let status: Vec<&str> = again["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        status,
        ["alreadySent", "alreadySent", "failed", "alreadySent"]
    );
    assert_eq!(smtp.received().len(), 3);
    cli.json(&["audit", "verify"], 0);
}

#[test]
fn a_batch_killed_midway_is_finished_by_a_rerun_without_duplicates() {
    let cli = Cli::new();
    setup(&cli);
    let mut orders = String::from("Name,Email,Policy,Quantity,Order ID\n");
    for i in 1..=6 {
        orders.push_str(&format!("C{i},c{i}@example.com,Yearly,1,K-{i}\n"));
    }
    let csv = cli.path("orders.csv");
    std::fs::write(&csv, orders).unwrap();
    let csv = csv.display().to_string();
    cli.json(&["license", "batch", &csv], 0);
    // The server answers each message a second after it has it: the run is killed
    // while it waits for the answer to the second one.
    let smtp = Smtp::start(cli.dir.path(), &["--hold", "1.0"]);
    smtp.account(&cli, PASSWORD);

    let mut run = cli
        .command()
        .args(["--json", "batch", "send", &csv])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while smtp.received().len() < 2 {
        assert!(start.elapsed() < Duration::from_secs(60), "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    run.kill().unwrap();
    run.wait().unwrap();
    assert_eq!(smtp.received().len(), 2);

    // The re-run sends the four never tried; K-1 was sent, K-2 is unconfirmed (the
    // server has it, the run never heard), and neither is sent again.
    let rerun = cli.json(&["batch", "send", &csv], 0);
    let status: Vec<&str> = rerun["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        status,
        ["alreadySent", "unconfirmed", "sent", "sent", "sent", "sent"]
    );
    let to = |smtp: &Smtp| -> Vec<String> {
        smtp.received()
            .iter()
            .map(|(_, s)| s["rcptTos"][0].as_str().unwrap().to_owned())
            .collect()
    };
    let mut got = to(&smtp);
    got.sort();
    let want: Vec<String> = (1..=6).map(|i| format!("c{i}@example.com")).collect();
    assert_eq!(got, want, "each order exactly once");

    // Again: nothing. A sent order cannot be allowed again; the unconfirmed one is
    // sent again only when asked, once.
    let again = cli.json(&["batch", "send", &csv], 0);
    assert_eq!(again["sent"], 0);
    let out = cli.run(&["batch", "send", &csv, "--resend", "K-1"]);
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let resent = cli.json(&["batch", "send", &csv, "--resend", "K-2"], 0);
    assert_eq!(resent["sent"], 1, "{resent}");
    assert_eq!(to(&smtp).len(), 7);
    assert_eq!(cli.json(&["batch", "send", &csv], 0)["sent"], 0);
    cli.json(&["audit", "verify"], 0);
}
