//! `keywright serve` and `keywright server log` through the real binary and the real
//! OS keychain (as flow.rs): the server starts on a port the OS picks, answers a raw
//! HTTP request with a signed 201, stops on a signal, and the log lists the request.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::*;

#[test]
fn serve_answers_signed_and_server_log_lists_the_requests() {
    let cli = Cli::new();
    cli.json(&["key", "create", "--name", "Main key"], 0);
    let product = cli.json(
        &[
            "product",
            "create",
            "--name",
            "Zapper Pro",
            "--support-message",
            "Call us",
        ],
        0,
    );
    let policy = cli.json(
        &[
            "policy",
            "create",
            "--product",
            "ZAPPER-PRO",
            "--name",
            "Seats",
            "--floating",
            "--max-machines",
            "3",
        ],
        0,
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
    let key = license["key"].as_str().unwrap();
    let app = product["id"].as_str().unwrap();

    let mut child = cli
        .command()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();

    let body = format!("token={key}&app_id={app}&hwid=hw-1&machine=LAB&user=ada");
    let (status, head, text) = http(
        &addr,
        &format!(
            "POST /api/activate HTTP/1.1\r\nHost: {addr}\r\nContent-Type: \
             application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert_eq!(status, 201, "{text}");
    assert!(head.contains("keygen-signature: keyid="), "{head}");
    assert!(head.contains("digest: sha-256="), "{head}");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["remainingActivations"], 2);

    let (status, _, text) = http(
        &addr,
        &format!(
            "GET /api/check?token=nope&app_id={app} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert_eq!(status, 404);
    assert!(text.contains("\"support_message\":\"Call us\""), "{text}");

    // Ctrl-C (SIGINT to the process we started, by its id): requests in flight
    // finish, the request log is written, exit 0.
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");

    let log = cli.json(&["server", "log", "--limit", "10"], 0);
    let events = log["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["endpoint"], "check");
    assert_eq!(events[0]["status"], 404);
    assert_eq!(events[0]["result"], "NOT_FOUND");
    assert_eq!(events[1]["endpoint"], "activate");
    assert_eq!(events[1]["hwid"], "hw-1");
    assert_eq!(events[1]["user"], "ada");
    assert_eq!(events[1]["ip"], "127.0.0.1");
    let text = String::from_utf8(cli.run(&["server", "log"]).stdout).unwrap();
    assert!(text.contains("activate") && text.contains("hw-1"), "{text}");
    assert_eq!(cli.count("machines"), 1);

    // A port already taken: exit 8 (I/O) with a clear message.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().to_string();
    let err = cli.json(&["serve", "--listen", &port], 8);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot listen"),
        "{err}"
    );
}
