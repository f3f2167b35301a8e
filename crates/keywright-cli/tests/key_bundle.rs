//! `keywright key bundle` under the real Secret Service, then `keywright serve --keys`
//! in an environment WITHOUT any D-Bus session: the server activates and validates a
//! license over mini-key-server's API and Keygen's, every answer signed by the
//! product's key; no seed bytes in the bundle or the state file; and each refusal
//! (wrong passphrase, tampered or truncated bundle, a backup given as a bundle, a
//! bundle of another store, an unreadable or empty passphrase file) with its exit code.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use common::*;
use keywright_license::response::{verify_response, SignedResponse, DEFAULT_DATE_TOLERANCE};
use keywright_license::PublicKey;

const PASS: &str = "correct horse battery staple orbit";

/// One HTTP exchange; (status, headers with lower-case names and values as sent, body).
fn exchange(addr: &str, request: &str) -> (u16, Vec<(String, String)>, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Checks the answer's signature with the product's public key.
fn signed_by(
    public: &PublicKey,
    method: &str,
    target: &str,
    addr: &str,
    headers: &[(String, String)],
    body: &str,
) {
    let trusted = [public.clone()];
    let checked = verify_response(
        &SignedResponse {
            method,
            target,
            host: addr,
            date: header(headers, "date"),
            digest: header(headers, "digest"),
            signature: header(headers, "keygen-signature"),
            body: body.as_bytes(),
        },
        &trusted,
        jiff::Timestamp::now(),
        DEFAULT_DATE_TOLERANCE,
    );
    assert!(checked.is_ok(), "{checked:?} {headers:?} {body}");
}

fn post(addr: &str, target: &str, content_type: &str, body: &str) -> String {
    format!(
        "POST {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// `keywright serve --keys …` with no D-Bus session at all; returns the child and the
/// lines it wrote to standard error up to the product list.
fn serve_without_dbus(cli: &Cli, products: usize, args: &[&str]) -> (Child, String, Vec<String>) {
    let mut child = no_dbus(cli.command())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut lines = Vec::new();
    let mut addr = None;
    let mut listed = 0;
    loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            panic!("serve ended: {lines:?}");
        }
        if let Some(rest) = line.split("http://").nth(1) {
            addr.get_or_insert_with(|| rest.split_whitespace().next().unwrap().to_owned());
        }
        if line.contains("signs for product") || line.contains("cannot sign for product") {
            listed += 1;
        }
        lines.push(line);
        if listed == products && addr.is_some() {
            break;
        }
    }
    // The rest of standard error goes to ours, where a failing test shows it.
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            eprintln!("serve: {line}");
        }
    });
    (child, addr.unwrap(), lines)
}

fn no_dbus(mut c: Command) -> Command {
    c.env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("DBUS_SYSTEM_BUS_ADDRESS")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("KEYWRIGHT_PASSPHRASE")
        .env_remove("STATE_DIRECTORY")
        .env("XDG_RUNTIME_DIR", "/nonexistent-keywright-test");
    c
}

fn stop(mut child: Child) {
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    assert!(child.wait().unwrap().success());
}

/// The private half of `kid` as the Secret Service holds it.
fn seed(store_id: &str, kid: &str) -> Vec<u8> {
    let out = Command::new("secret-tool")
        .args([
            "lookup",
            "service",
            &format!("keywright/{store_id}"),
            "username",
            kid,
        ])
        .output()
        .expect("secret-tool (libsecret-tools)");
    assert!(out.status.success());
    out.stdout
}

fn holds(hay: &[u8], needle: &[u8]) -> bool {
    let hex = hex_of(needle);
    hay.windows(needle.len()).any(|w| w == needle)
        || hay
            .windows(hex.len())
            .any(|w| w.eq_ignore_ascii_case(hex.as_bytes()))
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_bundle_serves_without_any_keychain() {
    let cli = Cli::new();
    let key = cli.json(&["key", "create", "--name", "Main key"], 0);
    let kid = key["kid"].as_str().unwrap().to_owned();
    let public = PublicKey::from_hex(key["publicKeyHex"].as_str().unwrap()).unwrap();
    let product = cli.json(&["product", "create", "--name", "Zapper Pro"], 0);
    let app = product["id"].as_str().unwrap().to_owned();
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
    let license_key = license["key"].as_str().unwrap().to_owned();

    // The passphrase in a file, as systemd's LoadCredential= provides it (with a
    // trailing newline, which is not part of it).
    let pass_file = cli.path("bundle.pass");
    std::fs::write(&pass_file, format!("{PASS}\n")).unwrap();
    let bundle = cli.path("keys/server.kwkeys");
    std::fs::create_dir_all(bundle.parent().unwrap()).unwrap();
    let made = cli.json(
        &[
            "key",
            "bundle",
            "--out",
            bundle.to_str().unwrap(),
            "--passphrase-file",
            pass_file.to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(made["keys"], serde_json::json!([kid]));
    let store_id = made["storeId"].as_str().unwrap().to_owned();
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&bundle).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // Audited: which key, who, when.
    let audit = cli.json(&["audit", "list"], 0);
    let text = audit.to_string();
    assert!(
        text.contains("key_bundle.export") && text.contains(&kid),
        "{text}"
    );

    // The bundle refuses the store's own files (exit 17) and a weak passphrase (2).
    let weak = cli.path("weak.pass");
    std::fs::write(&weak, "password\n").unwrap();
    let store = cli.store();
    cli.json(
        &[
            "key",
            "bundle",
            "--out",
            store.to_str().unwrap(),
            "--passphrase-file",
            pass_file.to_str().unwrap(),
        ],
        17,
    );
    cli.json(
        &[
            "key",
            "bundle",
            "--out",
            &cli.arg_path("w.kwkeys"),
            "--passphrase-file",
            weak.to_str().unwrap(),
        ],
        2,
    );

    // The server, with no D-Bus session: nothing of the keychain is reachable.
    let (child, addr, lines) = serve_without_dbus(
        &cli,
        1,
        &[
            "--keys",
            bundle.to_str().unwrap(),
            "--passphrase-file",
            pass_file.to_str().unwrap(),
        ],
    );
    let said = lines.concat();
    assert!(
        said.contains(&format!(
            "signs for product Zapper Pro (ZAPPER-PRO) with key {kid}"
        )),
        "{said}"
    );
    assert!(said.contains("keys from key bundle"), "{said}");

    // mini-key-server: activate, then validate.
    let target = "/api/activate";
    let body = format!("token={license_key}&app_id={app}&hwid=hw-1&machine=LAB&user=ada");
    let (status, headers, text) = exchange(
        &addr,
        &post(&addr, target, "application/x-www-form-urlencoded", &body),
    );
    assert_eq!(status, 201, "{text}");
    signed_by(&public, "POST", target, &addr, &headers, &text);
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["remainingActivations"], 2);

    // Keygen's validate-key with the machine's fingerprint.
    let target = format!("/v1/accounts/{store_id}/licenses/actions/validate-key");
    let body = serde_json::json!({
        "meta": {"key": license_key, "scope": {"fingerprint": "hw-1"}}
    })
    .to_string();
    let (status, headers, text) = exchange(
        &addr,
        &post(&addr, &target, "application/vnd.api+json", &body),
    );
    assert_eq!(status, 200, "{text}");
    signed_by(&public, "POST", &target, &addr, &headers, &text);
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["meta"]["valid"], true, "{text}");
    assert_eq!(json["meta"]["code"], "VALID", "{text}");

    stop(child);
    assert_eq!(cli.count("machines"), 1);

    // The head is in the state file beside the bundle: 0600, no key bytes in it, nor
    // in the bundle.
    let state = bundle
        .parent()
        .unwrap()
        .join(format!("keywright-{store_id}.audit-head"));
    let state_bytes = std::fs::read(&state).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&state).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let secret = seed(&store_id, &kid);
    assert_eq!(secret.len(), 32, "an Ed25519 seed");
    let bundle_bytes = std::fs::read(&bundle).unwrap();
    assert!(!holds(&bundle_bytes, &secret), "the seed is in the bundle");
    assert!(
        !holds(&state_bytes, &secret),
        "the seed is in the state file"
    );
    let anchor = seed(&store_id, "audit-anchor");
    assert!(
        !holds(&bundle_bytes, &anchor[8..40]),
        "the audit key is in the bundle"
    );
    assert!(
        !holds(&state_bytes, &anchor[8..40]),
        "the audit key is in the state file"
    );

    // The refusals, each with its own code and exit status, still without D-Bus.
    let refused = |args: &[&str], env: Option<(&str, &str)>, status: i32, code: &str| {
        let mut c = no_dbus(cli.command());
        c.args(["--json", "serve", "--listen", "127.0.0.1:0"])
            .args(args);
        if let Some((k, v)) = env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{args:?}: {}", String::from_utf8_lossy(&out.stderr)));
        assert_eq!(out.status.code(), Some(status), "{args:?}: {json}");
        assert_eq!(json["error"]["code"], code, "{args:?}: {json}");
        json["error"]["message"].as_str().unwrap().to_owned()
    };
    let b = bundle.to_str().unwrap();
    let wrong = cli.path("wrong.pass");
    std::fs::write(&wrong, "not the passphrase it was made with\n").unwrap();
    refused(
        &["--keys", b, "--passphrase-file", wrong.to_str().unwrap()],
        None,
        16,
        "KEY_BUNDLE_PASSPHRASE",
    );
    // The environment variable works as well as the file.
    refused(
        &["--keys", b],
        Some(("KEYWRIGHT_PASSPHRASE", "also wrong, entirely")),
        16,
        "KEY_BUNDLE_PASSPHRASE",
    );
    refused(
        &["--keys", b],
        Some(("KEYWRIGHT_PASSPHRASE", "")),
        2,
        "BAD_INPUT",
    );
    let empty = cli.path("empty.pass");
    std::fs::write(&empty, "\n").unwrap();
    let m = refused(
        &["--keys", b, "--passphrase-file", empty.to_str().unwrap()],
        None,
        2,
        "BAD_INPUT",
    );
    assert!(m.contains("is empty"), "{m}");
    let m = refused(
        &[
            "--keys",
            b,
            "--passphrase-file",
            &cli.arg_path("missing.pass"),
        ],
        None,
        8,
        "IO",
    );
    assert!(m.contains("cannot read the passphrase file"), "{m}");
    let p = pass_file.to_str().unwrap();
    let mut tampered = bundle_bytes.clone();
    let last = tampered.len() - 20;
    tampered[last] ^= 0x40;
    std::fs::write(cli.path("tampered.kwkeys"), &tampered).unwrap();
    let m = refused(
        &[
            "--keys",
            &cli.arg_path("tampered.kwkeys"),
            "--passphrase-file",
            p,
        ],
        None,
        9,
        "KEY_BUNDLE_DAMAGED",
    );
    assert!(m.contains("altered or damaged"), "{m}");
    std::fs::write(
        cli.path("short.kwkeys"),
        &bundle_bytes[..bundle_bytes.len() / 2],
    )
    .unwrap();
    refused(
        &[
            "--keys",
            &cli.arg_path("short.kwkeys"),
            "--passphrase-file",
            p,
        ],
        None,
        9,
        "KEY_BUNDLE_DAMAGED",
    );

    // A backup given as a bundle (made under the keychain, so with inkr's D-Bus).
    let backup = cli.path("store.kwbackup");
    let out = cli
        .command()
        .args([
            "backup",
            "create",
            "--out",
            backup.to_str().unwrap(),
            "--passphrase-file",
            p,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m = refused(
        &["--keys", backup.to_str().unwrap(), "--passphrase-file", p],
        None,
        9,
        "KEY_BUNDLE_DAMAGED",
    );
    assert!(
        m.contains("it is a Keywright backup, not a key bundle"),
        "{m}"
    );

    // A bundle of another store.
    let other = Cli::new();
    other.json(&["key", "create", "--name", "Other"], 0);
    let other_bundle = other.path("other.kwkeys");
    other.json(
        &[
            "key",
            "bundle",
            "--out",
            other_bundle.to_str().unwrap(),
            "--passphrase-file",
            p,
        ],
        0,
    );
    let m = refused(
        &[
            "--keys",
            other_bundle.to_str().unwrap(),
            "--passphrase-file",
            p,
        ],
        None,
        20,
        "KEY_BUNDLE_MISMATCH",
    );
    assert!(m.contains("was made for store"), "{m}");
}

#[test]
fn a_bundle_without_a_products_key_names_the_product_and_refuses_its_requests() {
    let cli = Cli::new();
    let main = cli.json(&["key", "create", "--name", "Main key"], 0);
    let second = cli.json(&["key", "create", "--name", "Second key"], 0);
    cli.json(
        &[
            "product",
            "create",
            "--name",
            "Zapper Pro",
            "--key",
            main["kid"].as_str().unwrap(),
        ],
        0,
    );
    let other = cli.json(
        &[
            "product",
            "create",
            "--name",
            "Blaster",
            "--key",
            second["kid"].as_str().unwrap(),
        ],
        0,
    );
    let policy = cli.json(
        &["policy", "create", "--product", "BLASTER", "--name", "Std"],
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
    let pass_file = cli.path("bundle.pass");
    std::fs::write(&pass_file, PASS).unwrap();
    let bundle = cli.path("main-only.kwkeys");
    cli.json(
        &[
            "key",
            "bundle",
            "--out",
            bundle.to_str().unwrap(),
            "--key",
            main["kid"].as_str().unwrap(),
            "--passphrase-file",
            pass_file.to_str().unwrap(),
        ],
        0,
    );
    let state = cli.path("state");
    let (child, addr, lines) = serve_without_dbus(
        &cli,
        2,
        &[
            "--keys",
            bundle.to_str().unwrap(),
            "--passphrase-file",
            pass_file.to_str().unwrap(),
            "--state-dir",
            state.to_str().unwrap(),
        ],
    );
    let said = lines.concat();
    assert!(
        said.contains("signs for product Zapper Pro (ZAPPER-PRO)"),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "warning: cannot sign for product Blaster (BLASTER), key {}",
            second["kid"].as_str().unwrap()
        )),
        "{said}"
    );
    let body = format!(
        "token={}&app_id={}&hwid=hw-1",
        license["key"].as_str().unwrap(),
        other["id"].as_str().unwrap()
    );
    let (status, _, text) = exchange(
        &addr,
        &post(
            &addr,
            "/api/activate",
            "application/x-www-form-urlencoded",
            &body,
        ),
    );
    assert_eq!(status, 503, "{text}");
    assert!(
        text.contains("holds no signing key for this product"),
        "{text}"
    );
    // Keygen's activation: refused the same way, before a seat is taken.
    let body = serde_json::json!({"data": {"type": "machines",
        "attributes": {"fingerprint": "hw-2"},
        "relationships": {"license": {"data": {"type": "licenses", "id": license["id"]}}}}})
    .to_string();
    let request = format!(
        "POST /v1/machines HTTP/1.1\r\nHost: {addr}\r\nAuthorization: License {}\r\n\
         Content-Type: application/vnd.api+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        license["key"].as_str().unwrap(),
        body.len()
    );
    let (status, headers, text) = exchange(&addr, &request);
    assert_eq!(status, 503, "{text}");
    assert!(text.contains("SIGNING_KEY_UNAVAILABLE"), "{text}");
    // Signed by the account's key, chosen among the keys the bundle holds.
    let main_public = PublicKey::from_hex(main["publicKeyHex"].as_str().unwrap()).unwrap();
    signed_by(&main_public, "POST", "/v1/machines", &addr, &headers, &text);
    stop(child);
    assert_eq!(cli.count("machines"), 0, "no seat was taken");
    // The head went to --state-dir: one file there.
    let names: Vec<_> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}
