//! The updater on loopback: a real HTTP server on 127.0.0.1 serves a `latest.json` and
//! a signed artifact, and the app's own update code (`keywright_app::updates`, over
//! Tauri's updater plugin configured as `tauri.conf.json` configures it, with this
//! test's public key and endpoint) checks and downloads them. Nothing is mocked but the
//! window: the plugin makes real HTTP requests and checks real minisign signatures,
//! made here with a key pair generated per test. Nothing is ever installed.

use std::collections::HashMap;
use std::io::{Cursor, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use keywright_app::updates::{self, PendingUpdate};
use keywright_core::{ErrorCode, UpdateCheck};
use minisign::KeyPair;
use serde_json::json;
use tauri::test::{mock_builder, mock_context, noop_assets, MockRuntime};
use tauri::{App, Manager};

/// The version the app under test runs.
const CURRENT: &str = "0.1.0";

type Routes = Arc<Mutex<HashMap<String, Vec<u8>>>>;

/// A tiny HTTP/1.1 server: GET of a known path answers its bytes, anything else 404.
struct Server {
    port: u16,
    routes: Routes,
}

impl Server {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let routes: Routes = Arc::default();
        let served = routes.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let served = served.clone();
                std::thread::spawn(move || answer(stream, &served));
            }
        });
        Self { port, routes }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn put(&self, path: &str, body: impl Into<Vec<u8>>) {
        self.routes.lock().unwrap().insert(path.into(), body.into());
    }
}

fn answer(mut stream: TcpStream, routes: &Routes) {
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 64 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&request);
    let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let body = routes.lock().unwrap().get(&path).cloned();
    let (status, body) = match body {
        Some(body) => ("200 OK", body),
        None => ("404 Not Found", b"not found".to_vec()),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
}

/// The updater's form of a public key: base64 of minisign's public key file.
fn pubkey(keys: &KeyPair) -> String {
    B64.encode(keys.pk.to_box().unwrap().into_string())
}

/// The updater's form of a signature (what Tauri's bundler writes into a `.sig` file):
/// base64 of minisign's signature file, whose trusted comment names the version.
fn sign(keys: &KeyPair, data: &[u8], version: &str) -> String {
    let trusted =
        format!("timestamp:1764763200\tfile:keywright_{version}_amd64.deb\tversion:{version}");
    let signature = minisign::sign(
        Some(&keys.pk),
        &keys.sk,
        Cursor::new(data),
        Some(&trusted),
        Some("signature from tauri secret key"),
    )
    .unwrap();
    B64.encode(signature.into_string())
}

/// A `latest.json` as the release workflow publishes it, for this platform.
fn manifest(server: &Server, version: &str, signature: &str) -> Vec<u8> {
    let target = tauri_plugin_updater::target().expect("a platform the updater supports");
    serde_json::to_vec(&json!({
        "version": version,
        "notes": format!("Keywright {version}: renewals in bulk.\n\nFixes the export dialog."),
        "pub_date": "2026-12-01T12:00:00Z",
        "platforms": {
            target: {
                "signature": signature,
                "url": server.url("/download/keywright.deb"),
            }
        }
    }))
    .unwrap()
}

/// The app with the updater plugin configured as `tauri.conf.json` does it, but
/// trusting `trusted` and asking `server`.
fn app(server: &Server, trusted: &KeyPair) -> App<MockRuntime> {
    let mut context = mock_context(noop_assets());
    context.config_mut().plugins.0.insert(
        "updater".into(),
        json!({
            "pubkey": pubkey(trusted),
            "endpoints": [server.url("/latest.json")],
            "requireSignedVersion": true,
            // Loopback has no TLS; the signature is what protects the download.
            "dangerousInsecureTransportProtocol": true,
        }),
    );
    context.package_info_mut().version = CURRENT.parse().unwrap();
    mock_builder()
        .plugin(tauri_plugin_updater::Builder::new().build())
        .manage(PendingUpdate::default())
        .build(context)
        .unwrap()
}

fn check(app: &App<MockRuntime>) -> Result<UpdateCheck, keywright_core::Error> {
    let updater = updates::updater(app.handle())?;
    let pending = app.state::<PendingUpdate>();
    tauri::async_runtime::block_on(updates::check(&updater, &pending))
}

fn download(app: &App<MockRuntime>) -> Result<Vec<u8>, keywright_core::Error> {
    let pending = app.state::<PendingUpdate>();
    tauri::async_runtime::block_on(updates::download(&pending, |_| {}))
}

const ARTIFACT: &[u8] =
    b"!<arch>\ndebian-binary   the new version's package, as the release has it";

#[test]
fn a_newer_version_is_reported_with_its_notes_and_downloads_verified() {
    let server = Server::start();
    let keys = KeyPair::generate_unencrypted_keypair().unwrap();
    server.put("/download/keywright.deb", ARTIFACT);
    server.put(
        "/latest.json",
        manifest(&server, "0.2.0", &sign(&keys, ARTIFACT, "0.2.0")),
    );
    let app = app(&server, &keys);

    let found = check(&app).unwrap();
    assert_eq!(found.current_version, CURRENT);
    let update = found.update.expect("0.2.0 is newer than 0.1.0");
    assert_eq!(update.version, "0.2.0");
    assert_eq!(update.current_version, CURRENT);
    assert_eq!(
        update.notes.as_deref(),
        Some("Keywright 0.2.0: renewals in bulk.\n\nFixes the export dialog.")
    );
    assert_eq!(update.date.as_deref(), Some("2026-12-01T12:00:00Z"));

    let mut seen = Vec::new();
    let pending = app.state::<PendingUpdate>();
    let bytes = tauri::async_runtime::block_on(updates::download(&pending, |p| seen.push(p)))
        .expect("the artifact matches its signature");
    assert_eq!(bytes, ARTIFACT);
    assert_eq!(seen.last().unwrap().downloaded, ARTIFACT.len() as u64);
    assert_eq!(seen.last().unwrap().total, Some(ARTIFACT.len() as u64));
}

#[test]
fn a_tampered_artifact_is_refused() {
    let server = Server::start();
    let keys = KeyPair::generate_unencrypted_keypair().unwrap();
    let signature = sign(&keys, ARTIFACT, "0.2.0");
    // One byte changed after signing (on the way, or on the server).
    let mut tampered = ARTIFACT.to_vec();
    tampered[20] ^= 0x01;
    server.put("/download/keywright.deb", tampered);
    server.put("/latest.json", manifest(&server, "0.2.0", &signature));
    let app = app(&server, &keys);

    assert!(check(&app).unwrap().update.is_some());
    let refused = download(&app).unwrap_err();
    assert_eq!(
        refused.code,
        ErrorCode::UpdateRefused,
        "{}",
        refused.message
    );
    assert_eq!(
        refused.message,
        "the update was not installed: the downloaded file does not match its signature (it \
         was changed or damaged on the way). Keywright keeps running as it is; try again \
         later, or download the new version from the release page yourself"
    );
}

#[test]
fn a_manifest_signed_with_another_key_is_refused() {
    let server = Server::start();
    let trusted = KeyPair::generate_unencrypted_keypair().unwrap();
    let other = KeyPair::generate_unencrypted_keypair().unwrap();
    server.put("/download/keywright.deb", ARTIFACT);
    server.put(
        "/latest.json",
        manifest(&server, "0.2.0", &sign(&other, ARTIFACT, "0.2.0")),
    );
    let app = app(&server, &trusted);

    assert!(check(&app).unwrap().update.is_some());
    let refused = download(&app).unwrap_err();
    assert_eq!(
        refused.code,
        ErrorCode::UpdateRefused,
        "{}",
        refused.message
    );
    assert!(
        refused
            .message
            .starts_with("the update was not installed: it is signed with a key this version of Keywright does not trust"),
        "{}",
        refused.message
    );
}

#[test]
fn a_signature_for_another_version_is_refused() {
    // A manifest that pairs a new version number with an older release's file.
    let server = Server::start();
    let keys = KeyPair::generate_unencrypted_keypair().unwrap();
    server.put("/download/keywright.deb", ARTIFACT);
    server.put(
        "/latest.json",
        manifest(&server, "0.3.0", &sign(&keys, ARTIFACT, "0.2.0")),
    );
    let app = app(&server, &keys);

    assert_eq!(check(&app).unwrap().update.unwrap().version, "0.3.0");
    let refused = download(&app).unwrap_err();
    assert_eq!(
        refused.code,
        ErrorCode::UpdateRefused,
        "{}",
        refused.message
    );
    assert!(
        refused.message.contains(
            "the update server announced version 0.3.0, but the file is signed as version 0.2.0"
        ),
        "{}",
        refused.message
    );
}

#[test]
fn the_same_or_an_older_version_is_up_to_date() {
    let server = Server::start();
    let keys = KeyPair::generate_unencrypted_keypair().unwrap();
    server.put("/download/keywright.deb", ARTIFACT);
    let app = app(&server, &keys);
    for version in [CURRENT, "0.0.9"] {
        server.put(
            "/latest.json",
            manifest(&server, version, &sign(&keys, ARTIFACT, version)),
        );
        let answer = check(&app).unwrap();
        assert_eq!(answer.current_version, CURRENT);
        assert_eq!(answer.update, None, "{version} is not newer than {CURRENT}");
    }
    // Nothing is pending, so there is nothing to install.
    let nothing = download(&app).unwrap_err();
    assert_eq!(nothing.code, ErrorCode::BadInput);
    assert_eq!(
        nothing.message,
        "there is no update to install; check for updates first"
    );
}

#[test]
fn an_unreachable_server_or_a_bad_answer_says_so() {
    let server = Server::start();
    let keys = KeyPair::generate_unencrypted_keypair().unwrap();
    let app = app(&server, &keys);
    // Nothing at /latest.json: the server answers 404.
    let missing = check(&app).unwrap_err();
    assert_eq!(
        missing.code,
        ErrorCode::UpdateUnreachable,
        "{}",
        missing.message
    );
    assert_eq!(
        missing.message,
        "the update server did not answer with a release. Nothing was downloaded or \
         changed; try again later, or download the new version from the release page"
    );
    // An answer that is not a release.
    server.put("/latest.json", b"<html>maintenance</html>".to_vec());
    let garbled = check(&app).unwrap_err();
    assert_eq!(
        garbled.code,
        ErrorCode::UpdateUnreachable,
        "{}",
        garbled.message
    );
    assert!(
        garbled
            .message
            .starts_with("the update server's answer is not a release Keywright can read ("),
        "{}",
        garbled.message
    );

    // A port nobody listens on.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let dead = Server {
        port,
        routes: Arc::default(),
    };
    let app = self::app(&dead, &keys);
    let unreachable = check(&app).unwrap_err();
    assert_eq!(unreachable.code, ErrorCode::UpdateUnreachable);
    assert!(
        unreachable
            .message
            .starts_with("the update server could not be reached ("),
        "{}",
        unreachable.message
    );
}
