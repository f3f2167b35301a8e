//! The harness of the server tests: a real SQLite store in a tempdir (memory vault
//! unless a test asks for the keychain), a real server on 127.0.0.1:0, a real HTTP
//! client, and the verifier's response check on every answer.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use keywright_core::*;
use keywright_license::response::{verify_response, ResponseError, SignedResponse};
use keywright_license::PublicKey;
use keywright_server::{ServerConfig, ServerHandle};
use serde_json::Value;

pub const SUPPORT: &str = "Write to support@zapper.example";

/// Limits that stay out of the way of tests not about them.
pub fn roomy() -> ServerConfig {
    ServerConfig {
        rate_per_second: 100_000,
        burst: 100_000,
        ..ServerConfig::default()
    }
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub kw: Keywright,
    pub vault: Arc<MemoryVault>,
    pub product: Product,
    pub public: PublicKey,
}

impl Fixture {
    /// A store with an Ed25519 key and a product with a support message.
    pub fn new() -> Self {
        Self::at(Timestamp::now())
    }

    /// The same, created at `now` (a time in the past, for expired licenses).
    pub fn at(now: Timestamp) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store.db")).unwrap();
        let vault = Arc::<MemoryVault>::default();
        let mut kw = Keywright::with_vault(store, Box::new(vault.clone()), "server-test");
        let key = kw
            .create_signing_key(
                &NewSigningKey {
                    name: "Main".into(),
                    algorithm: KeyAlgorithm::Ed25519,
                },
                now,
            )
            .unwrap();
        let product = kw
            .create_product(
                &NewProduct {
                    name: "Zapper Pro".into(),
                    support_message: Some(SUPPORT.into()),
                    ..Default::default()
                },
                now,
            )
            .unwrap();
        let public = kw.public_key(&key.kid).unwrap();
        Fixture {
            dir,
            kw,
            vault,
            product,
            public,
        }
    }

    pub fn store_path(&self) -> PathBuf {
        self.dir.path().join("store.db")
    }

    pub fn policy(&mut self, name: &str, floating: bool, max: Option<i64>) -> Policy {
        self.policy_at(name, floating, max, Timestamp::now())
    }

    pub fn policy_at(
        &mut self,
        name: &str,
        floating: bool,
        max: Option<i64>,
        now: Timestamp,
    ) -> Policy {
        self.kw
            .create_policy(
                &NewPolicy {
                    product_id: self.product.id.clone(),
                    name: name.into(),
                    duration: Some("1y".into()),
                    floating,
                    max_machines: max,
                    ..Default::default()
                },
                now,
            )
            .unwrap()
    }

    pub fn issue(&mut self, policy: &Policy) -> License {
        self.issue_at(policy, Timestamp::now())
    }

    pub fn issue_at(&mut self, policy: &Policy, now: Timestamp) -> License {
        self.kw
            .issue_license(
                &IssueLicense {
                    policy_id: policy.id.clone(),
                    customer_name: Some("Ada Lovelace".into()),
                    customer_email: Some("ada@example.com".into()),
                    ..Default::default()
                },
                now,
            )
            .unwrap()
    }

    /// Starts a server over this store (the fixture's `Keywright` moves into it) and
    /// returns a second, independent view of the store to look at afterwards.
    pub async fn serve(self, config: ServerConfig) -> Running {
        let Fixture {
            dir,
            kw,
            vault,
            product,
            public,
        } = self;
        let handle = keywright_server::start(kw, "127.0.0.1:0".parse().unwrap(), config)
            .await
            .unwrap();
        let observer = Keywright::with_vault(
            Store::open(&dir.path().join("store.db")).unwrap(),
            Box::new(vault.clone()),
            "observer",
        );
        Running {
            client: client(),
            addr: handle.local_addr(),
            handle: Some(handle),
            observer,
            product,
            trusted: vec![public],
            _dir: dir,
        }
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap()
}

pub struct Running {
    pub client: reqwest::Client,
    pub addr: SocketAddr,
    pub handle: Option<ServerHandle>,
    /// Another connection on the same store file.
    pub observer: Keywright,
    pub product: Product,
    pub trusted: Vec<PublicKey>,
    _dir: tempfile::TempDir,
}

/// An answer as received.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub method: String,
    pub target: String,
    pub host: String,
    pub date: Option<String>,
    pub digest: Option<String>,
    pub signature: Option<String>,
    pub retry_after: Option<String>,
    pub content_type: Option<String>,
    /// Every header, as text (for leak checks).
    pub all_headers: String,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The verifier's check of this answer with `trusted`, on `body`.
    pub fn verify_body(&self, body: &[u8], trusted: &[PublicKey]) -> Result<String, ResponseError> {
        verify_response(
            &SignedResponse {
                method: &self.method,
                target: &self.target,
                host: &self.host,
                date: self.date.as_deref(),
                digest: self.digest.as_deref(),
                signature: self.signature.as_deref(),
                body,
            },
            trusted,
            Timestamp::now(),
            SignedDuration::from_secs(300),
        )
        .map(|k| k.kid())
    }

    /// Asserts the answer is signed by a trusted key, and that a tampered copy of
    /// its body is not.
    pub fn assert_signed(&self, trusted: &[PublicKey]) {
        assert_eq!(
            self.verify_body(&self.body, trusted),
            Ok(trusted[0].kid()),
            "{} {} answered {}: {}",
            self.method,
            self.target,
            self.status,
            String::from_utf8_lossy(&self.body)
        );
        let mut tampered = self.body.clone();
        let last = tampered.len() - 1;
        tampered.insert(last, b' ');
        assert_eq!(
            self.verify_body(&tampered, trusted),
            Err(ResponseError::BadDigest)
        );
    }

    /// [`Reply::assert_signed`] for an empty body (a 204).
    pub fn assert_signed_empty(&self, trusted: &[PublicKey]) {
        assert!(self.body.is_empty());
        assert_eq!(self.verify_body(&[], trusted), Ok(trusted[0].kid()));
        assert_eq!(
            self.verify_body(b" ", trusted),
            Err(ResponseError::BadDigest)
        );
    }

    pub fn assert_unsigned(&self) {
        assert!(
            self.signature.is_none(),
            "unexpected signature on {}",
            self.status
        );
    }
}

impl Running {
    pub fn url(&self, target: &str) -> String {
        format!("http://{}{target}", self.addr)
    }

    pub async fn send(
        &self,
        method: &str,
        target: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Reply {
        send(&self.client, self.addr, method, target, content_type, body).await
    }

    pub async fn get(&self, target: &str) -> Reply {
        self.send("GET", target, None, Vec::new()).await
    }

    pub async fn form(&self, target: &str, pairs: &[(&str, &str)]) -> Reply {
        let body = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.send(
            "POST",
            target,
            Some("application/x-www-form-urlencoded"),
            body.into_bytes(),
        )
        .await
    }

    pub async fn post_json(&self, target: &str, body: &Value) -> Reply {
        self.send(
            "POST",
            target,
            Some("application/json"),
            serde_json::to_vec(body).unwrap(),
        )
        .await
    }

    pub fn check_target(&self, token: &str, hwid: Option<&str>) -> String {
        let mut t = format!(
            "/api/check?token={}&app_id={}&machine=LAB-PC-07&user=ada",
            enc(token),
            enc(&self.product.id)
        );
        if let Some(h) = hwid {
            t.push_str(&format!("&hwid={}", enc(h)));
        }
        t
    }

    pub async fn activate(&self, token: &str, hwid: &str) -> Reply {
        self.form(
            "/api/activate",
            &[
                ("token", token),
                ("app_id", &self.product.id),
                ("machine", "LAB-PC-07"),
                ("user", "ada"),
                ("hwid", hwid),
            ],
        )
        .await
    }

    /// The request log, once everything answered so far is written.
    pub async fn events(&self, limit: usize) -> Vec<keywright_server::ServerEvent> {
        self.flush().await;
        self.observer.server_events(limit).unwrap()
    }

    pub async fn flush(&self) {
        self.handle.as_ref().unwrap().flush_events().await;
    }

    pub async fn stop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.stop().await.unwrap();
        }
    }
}

pub async fn send(
    client: &reqwest::Client,
    addr: SocketAddr,
    method: &str,
    target: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Reply {
    let method_v: reqwest::Method = method.parse().unwrap();
    let mut req = client.request(method_v, format!("http://{addr}{target}"));
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let resp = req.body(body).send().await.unwrap();
    // One Date header: the signed one (hyper adds its own only when none is set).
    assert!(resp.headers().get_all("date").iter().count() <= 1);
    let all_headers = format!("{:?}", resp.headers());
    let h = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (date, digest, signature, retry_after, content_type) = (
        h("date"),
        h("digest"),
        h("keygen-signature"),
        h("retry-after"),
        h("content-type"),
    );
    let status = resp.status().as_u16();
    let body = resp.bytes().await.unwrap().to_vec();
    Reply {
        status,
        method: method.to_owned(),
        target: target.to_owned(),
        host: addr.to_string(),
        date,
        digest,
        signature,
        retry_after,
        content_type,
        all_headers,
        body,
    }
}

/// Percent-encodes a query or form value.
pub fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A number from the store file, read over a connection of its own.
pub fn count(store: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(store).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}
