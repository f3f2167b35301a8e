//! Keywright's online activation server: mini-key-server's API over the Keywright
//! store, for customers whose machines can reach the vendor.
//!
//! - `GET /api/check` (`token`, `app_id`, `machine`, `user`, `hwid`): 201
//!   `{"result":"ok"}`; 404 `{"result":"failure","error":"invalid key",...}`.
//! - `POST /api/activate` (form or JSON; same fields): 201 `{"result":"ok",
//!   "remainingActivations":N}` (−1 = unlimited); 404 invalid activation token; 410
//!   key is out of activations.
//! - `POST /api/validate` (`{key, machine_id}`): 200 `{"valid":bool,"reason":"..."}`.
//!
//! A product plays mini-key-server's "application" (`app_id` = its id or code), a
//! license its "key" (`token` = the license key), an activation is a machine whose
//! fingerprint is the `hwid`. Every answer that names a product is signed with that
//! product's active signing key as Keygen signs its responses
//! ([`keywright_license::response`]); the key is read from the keychain once per
//! product and kept in memory. There are no write endpoints besides activation.
//!
//! Bodies over [`ServerConfig::body_limit`] get 413, clients over the per-IP rate 429,
//! malformed input 400 and unsupported content types 415, each with a JSON error; so do
//! the answers hyper writes by itself (414, 431, 400 for a request it cannot parse: see
//! `connection`). Arguments are decoded strictly: bytes that are not UTF-8 in any
//! field are refused by name, never replaced.

#![forbid(unsafe_code)]

mod connection;
mod keygen;

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use jiff::Timestamp;
use keywright_core::online::{
    ActivationOutcome, NewServerEvent, OnlineActivation, OnlineReason, OnlineVerdict,
};
use keywright_core::{ErrorCode, Keywright, Product};
use keywright_license::issue::SigningKey;
use keywright_license::response::{sign_response, SIGNATURE_HEADER};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use connection::{JsonErrorListener, Peer};

pub use keywright_core::online::ServerEvent;

/// Limits of a running server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest request body accepted, in bytes (larger: 413).
    pub body_limit: usize,
    /// Sustained requests per second allowed from one IP address (more: 429).
    pub rate_per_second: u32,
    /// Requests one IP address may send at once before the rate applies.
    pub burst: u32,
    /// Take the client's address from the last `X-Forwarded-For` entry (set this
    /// only behind a reverse proxy that writes that header; otherwise clients could
    /// pick their own address and escape the rate limit).
    pub trust_forwarded_for: bool,
    /// How often dead machines are deactivated (policies with `DEACTIVATE_DEAD`);
    /// activations also cull a license's dead machines before counting its seats.
    pub heartbeat_sweep: Duration,
    /// Refuse to start when a product's key cannot be read (the keychain holds every
    /// key of its store). Off for a key bundle, which may hold some of them: the
    /// server then starts, says which products it cannot sign for, and answers their
    /// requests with a 503 that says so.
    pub require_every_key: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            body_limit: 16 * 1024,
            rate_per_second: 10,
            burst: 30,
            trust_forwarded_for: false,
            heartbeat_sweep: Duration::from_secs(30),
            require_every_key: true,
        }
    }
}

/// Whether the server can sign for a product, as found when it started.
#[derive(Debug, Clone)]
pub struct ProductSigning {
    /// The product's id.
    pub product_id: String,
    /// Its name.
    pub name: String,
    /// Its code.
    pub code: String,
    /// The kid of its signing key.
    pub kid: String,
    /// Why it cannot sign for it (`None`: it can).
    pub problem: Option<String>,
}

/// What a client is told when its product's key is not in the server's key source.
const NO_SIGNING_KEY: &str =
    "this license server holds no signing key for this product, so it cannot answer for it; \
     the vendor must give the server this product's key";

/// Why the server could not start.
#[derive(Debug)]
pub enum ServerError {
    /// The store could not be opened (or a product's key read).
    Core(keywright_core::Error),
    /// The address could not be bound.
    Io(std::io::Error),
}

impl std::error::Error for ServerError {}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServerError::Core(e) => write!(f, "{e}"),
            ServerError::Io(e) => write!(f, "cannot listen: {e}"),
        }
    }
}

impl From<keywright_core::Error> for ServerError {
    fn from(e: keywright_core::Error) -> Self {
        ServerError::Core(e)
    }
}

impl From<std::io::Error> for ServerError {
    fn from(e: std::io::Error) -> Self {
        ServerError::Io(e)
    }
}

/// A product's signing key as the server keeps it (never serialized, never logged).
struct CachedSigner {
    /// The signing key row it was read for: a product rotated to another key is
    /// reloaded.
    key_id: String,
    private: SigningKey,
}

/// What every handler shares.
struct AppState {
    /// The connection that activates, writes the request log and reads keys from
    /// the keychain.
    writer: Arc<Mutex<Keywright>>,
    /// Connections for checks and validations (reads only; they never sign, so
    /// they need no keychain): a check does not wait for an activation's fsync.
    readers: Vec<Mutex<Keywright>>,
    next_reader: AtomicUsize,
    /// Product id → its signer.
    signers: Mutex<HashMap<String, Arc<CachedSigner>>>,
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    config: ServerConfig,
    events: EventLog,
    /// The store's id: Keygen's account id.
    account_id: String,
    /// The product whose key signs Keygen answers that concern no product.
    account: Option<Product>,
    /// Which products it can sign for, as found at start.
    signing: Vec<ProductSigning>,
    /// (product id, signing key row id) of the products whose key the key bundle
    /// lacks: a bundle never gains a key while the server runs, so requests for
    /// them are refused before anything is written (a product moved to another key
    /// is tried again).
    cannot_sign: Arc<std::collections::HashSet<(String, String)>>,
}

impl AppState {
    /// Whether `product`'s key was found missing from the key bundle at start.
    fn cannot_sign(&self, product: &Product) -> bool {
        self.cannot_sign
            .contains(&(product.id.clone(), product.signing_key_id.clone()))
    }
}

/// Read connections besides the writer.
const READERS: usize = 2;

/// Which connection a request uses.
#[derive(Clone, Copy)]
enum Role {
    Read,
    Write,
}

/// A message to the request-log writer.
enum LogMessage {
    Event(Box<NewServerEvent>),
    /// Answered once every event sent before it is committed.
    Flush(std::sync::mpsc::Sender<()>),
}

/// The request log, written off the request path: a thread with a connection of its
/// own commits whatever has queued up in one transaction (group commit), so a check
/// costs no fsync and the log keeps up with the server. The queue is bounded: when
/// the disk falls behind, requests wait rather than events being dropped.
#[derive(Clone)]
struct EventLog {
    tx: std::sync::mpsc::SyncSender<LogMessage>,
}

/// Events queued before requests wait for the writer.
const EVENT_QUEUE: usize = 8192;
/// Most events committed in one transaction.
const EVENT_BATCH: usize = 1024;

impl EventLog {
    /// Starts the writer thread over the server's write connection: sharing it (rather
    /// than a connection of its own) keeps activations and log batches from waiting on
    /// each other in SQLite's busy handler, which sleeps in steps of up to 100 ms.
    fn start(writer: Arc<Mutex<Keywright>>) -> Result<Self, ServerError> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<LogMessage>(EVENT_QUEUE);
        std::thread::Builder::new()
            .name("keywright-server-log".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = Vec::new();
                    let mut flushes = Vec::new();
                    let mut next = Some(first);
                    while let Some(m) = next.take() {
                        match m {
                            LogMessage::Event(e) => batch.push(*e),
                            LogMessage::Flush(done) => flushes.push(done),
                        }
                        if batch.len() < EVENT_BATCH {
                            next = rx.try_recv().ok();
                        }
                    }
                    if !batch.is_empty() {
                        if let Err(e) = connected(&writer).record_server_events(&batch) {
                            eprintln!(
                                "keywright-server: could not record {} requests: {e}",
                                batch.len()
                            );
                        }
                    }
                    for done in flushes {
                        let _ = done.send(());
                    }
                }
            })?;
        Ok(EventLog { tx })
    }

    fn record(&self, event: NewServerEvent) {
        let _ = self.tx.send(LogMessage::Event(Box::new(event)));
    }

    /// Waits until every event recorded so far is committed.
    async fn flush(&self) {
        let tx = self.tx.clone();
        let _ = tokio::task::spawn_blocking(move || {
            let (done, wait) = std::sync::mpsc::channel();
            if tx.send(LogMessage::Flush(done)).is_ok() {
                let _ = wait.recv();
            }
        })
        .await;
    }
}

/// Locks `m`; a panic in one request must not take the server down with it (the
/// store's transactions roll back on their own).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Locks a connection, opening it again first if the store's write-ahead log was
/// deleted under it (see [`Keywright::reconnect_if_moved`]; in the desktop app the
/// native file dialogs can drop the process's SQLite locks). When it cannot be opened
/// again, what the request does next fails with the reason.
fn connected(m: &Mutex<Keywright>) -> MutexGuard<'_, Keywright> {
    let mut kw = lock(m);
    match kw.reconnect_if_moved() {
        Ok(false) => {}
        Ok(true) => eprintln!(
            "keywright-server: the store's write-ahead log was deleted by another process; reopened the store"
        ),
        Err(e) => eprintln!("keywright-server: could not reopen the store: {e}"),
    }
    kw
}

impl AppState {
    /// A connection for `role`: the writer, or a free reader (else the next one).
    fn connection(&self, role: Role) -> MutexGuard<'_, Keywright> {
        if let Role::Write = role {
            return connected(&self.writer);
        }
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        for i in 0..self.readers.len() {
            if let Ok(mut guard) = self.readers[(start + i) % self.readers.len()].try_lock() {
                if let Err(e) = guard.reconnect_if_moved() {
                    eprintln!("keywright-server: could not reopen the store: {e}");
                }
                return guard;
            }
        }
        connected(&self.readers[start % self.readers.len()])
    }

    /// The product's signer, read from the keychain the first time (or after the
    /// product moved to another key).
    fn signer(
        &self,
        product: &Product,
        now: Timestamp,
    ) -> keywright_core::Result<Arc<CachedSigner>> {
        if let Some(s) = lock(&self.signers).get(&product.id) {
            if s.key_id == product.signing_key_id {
                return Ok(s.clone());
            }
        }
        let (product, key, private) = connected(&self.writer).product_signer(&product.id, now)?;
        let cached = Arc::new(CachedSigner {
            key_id: key.id,
            private,
        });
        lock(&self.signers).insert(product.id, cached.clone());
        Ok(cached)
    }
}

/// A running server: its address, and how to stop it.
pub struct ServerHandle {
    addr: SocketAddr,
    signing: Vec<ProductSigning>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    events: EventLog,
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("addr", &self.addr)
            .finish()
    }
}

impl ServerHandle {
    /// The address it listens on (with the port the OS chose for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Which products it can sign for (see [`ServerConfig::require_every_key`]).
    pub fn signing(&self) -> &[ProductSigning] {
        &self.signing
    }

    /// Returns once every request answered so far is in the request log
    /// ([`Keywright::server_events`]); the log is written a few milliseconds behind.
    pub async fn flush_events(&self) {
        self.events.flush().await;
    }

    /// Stops accepting connections, lets requests in flight finish, writes the
    /// request log, and returns once the server has stopped.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.await.map_err(std::io::Error::other)?
    }
}

/// Opens the store at `path` with its keys in the OS keychain and starts serving on
/// `addr` (see [`start`]).
pub async fn start_store(
    path: &Path,
    addr: SocketAddr,
    config: ServerConfig,
) -> Result<ServerHandle, ServerError> {
    let kw = Keywright::open(path, keywright_core::os_user())?;
    start(kw, addr, config).await
}

/// Binds `addr` and serves `kw` on the current tokio runtime until
/// [`ServerHandle::stop`]. Every product's signing key is read from the keychain
/// now, so a keychain that cannot sign is reported before the first customer asks.
pub async fn start(
    kw: Keywright,
    addr: SocketAddr,
    config: ServerConfig,
) -> Result<ServerHandle, ServerError> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let state = prepare(kw, config)?;
    let events = state.events.clone();
    let signing = state.signing.clone();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(serve_state(listener, state, async {
        let _ = rx.await;
    }));
    Ok(ServerHandle {
        addr,
        signing,
        shutdown: Some(tx),
        task,
        events,
    })
}

/// Serves `kw` on `listener` until `shutdown` completes (e.g. `tokio::signal::ctrl_c`).
pub async fn serve(
    listener: TcpListener,
    kw: Keywright,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let state = prepare(kw, config)?;
    Ok(serve_state(listener, state, shutdown).await?)
}

fn prepare(kw: Keywright, config: ServerConfig) -> Result<Arc<AppState>, ServerError> {
    let now = Timestamp::now();
    let path = kw.store().path().to_owned();
    if let Some(why) = kw.store().read_only() {
        return Err(ServerError::Core(keywright_core::Error::new(
            ErrorCode::Store,
            format!(
                "the store at {} is read-only, and the server records activations and requests in it, so it cannot serve from it: {why}",
                path.display()
            ),
        )));
    }
    let readers = (0..READERS)
        .map(|i| {
            Ok(Mutex::new(Keywright::for_reading(
                kw.store().reopen()?,
                format!("keywright-server-reader-{i}"),
            )))
        })
        .collect::<keywright_core::Result<Vec<_>>>()?;
    let products = kw.list_products()?;
    let account_id = kw.store().store_id().to_owned();
    let account = keygen::account_product(&products);
    let mut kw = kw;
    // One keychain write per activation would be the server's bottleneck: the audit
    // log's head is anchored at most once a second, and when the server stops.
    kw.set_anchor_interval(std::time::Duration::from_secs(1));
    let writer = Arc::new(Mutex::new(kw));
    let events = EventLog::start(writer.clone())?;
    let per_second = NonZeroU32::new(config.rate_per_second.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(config.burst.max(1)).unwrap_or(NonZeroU32::MIN);
    let mut state = AppState {
        writer,
        readers,
        next_reader: AtomicUsize::new(0),
        signers: Mutex::new(HashMap::new()),
        limiter: RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
        config,
        events,
        account_id,
        account,
        signing: Vec::new(),
        cannot_sign: Arc::default(),
    };
    let mut cannot_sign = std::collections::HashSet::new();
    for product in &products {
        let problem = match state.signer(product, now) {
            Ok(_) => None,
            Err(e)
                if e.code == ErrorCode::KeychainEntryMissing && !state.config.require_every_key =>
            {
                cannot_sign.insert((product.id.clone(), product.signing_key_id.clone()));
                Some(e.message)
            }
            Err(e) => return Err(e.into()),
        };
        let kid = lock(&state.writer)
            .find_signing_key(&product.signing_key_id)
            .map(|k| k.kid)
            .unwrap_or_default();
        state.signing.push(ProductSigning {
            product_id: product.id.clone(),
            name: product.name.clone(),
            code: product.code.clone(),
            kid,
            problem,
        });
    }
    // Keygen's answers that name no product are signed by the account's key: with a
    // key bundle, choose it among the products the server can sign for.
    if state
        .account
        .as_ref()
        .is_some_and(|a| cannot_sign.contains(&(a.id.clone(), a.signing_key_id.clone())))
    {
        let signable: Vec<Product> = products
            .iter()
            .filter(|p| !cannot_sign.contains(&(p.id.clone(), p.signing_key_id.clone())))
            .cloned()
            .collect();
        state.account = keygen::account_product(&signable);
    }
    state.cannot_sign = Arc::new(cannot_sign);
    Ok(Arc::new(state))
}

async fn serve_state(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Forget idle clients so the limiter's table stays small.
    let sweeper = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                state.limiter.retain_recent();
                state.limiter.shrink_to_fit();
            }
        })
    };
    // Keygen's heartbeat monitor: dead machines free their seats.
    let culler = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(state.config.heartbeat_sweep);
            loop {
                every.tick().await;
                let state = state.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    if let Err(e) = connected(&state.writer).cull_dead_machines(Timestamp::now()) {
                        eprintln!("keywright-server: could not cull dead machines: {e}");
                    }
                })
                .await;
            }
        })
    };
    let events = state.events.clone();
    let app = router(state);
    let result = axum::serve(
        JsonErrorListener(listener),
        app.into_make_service_with_connect_info::<Peer>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    sweeper.abort();
    culler.abort();
    events.flush().await;
    result
}

fn router(state: Arc<AppState>) -> Router {
    let limit = state.config.body_limit;
    Router::new()
        .route("/health", get(health))
        .route("/api/check", get(check))
        .route("/api/activate", post(activate))
        .route("/api/validate", post(validate))
        .route("/v1", any(keygen::dispatch))
        .route("/v1/{*rest}", any(keygen::dispatch))
        .fallback(unknown_path)
        .method_not_allowed_fallback(|| async {
            failure(StatusCode::METHOD_NOT_ALLOWED, "method not allowed here")
        })
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit))
        .layer(middleware::from_fn(json_errors))
        .with_state(state)
}

/// Any error answer without a JSON body (a rejection of axum's own, should one ever
/// get through) gets one, with the status's reason as its `error`.
async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.starts_with("application/json") || v.starts_with("application/vnd.api+json")
        });
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let fixed = failure(
        status,
        &status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_ascii_lowercase(),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, fixed.into_body())
}

/// The client's address: the peer, or behind a trusted proxy the last
/// `X-Forwarded-For` entry.
fn client_ip(config: &ServerConfig, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    if config.trust_forwarded_for {
        // The proxy appends what it saw: only the very last entry is trustworthy.
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok());
        if let Some(ip) = forwarded {
            return ip;
        }
    }
    peer.ip()
}

async fn rate_limit(
    State(state): State<Arc<AppState>>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    request: Request,
    next: Next,
) -> Response {
    let ip = client_ip(&state.config, peer, request.headers());
    if state.limiter.check_key(&ip).is_err() {
        if keygen_path(request.uri().path()) {
            let exchange = Exchange::new(
                &state,
                peer,
                request.method().clone(),
                request.uri(),
                request.headers(),
            );
            return keygen::rate_limited(&state, &exchange);
        }
        let mut response = failure(
            StatusCode::TOO_MANY_REQUESTS,
            "too many requests; slow down",
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    }
    next.run(request).await
}

/// Any other path: Keygen's 404 under `/v1` (such as `/v1/`, which no route
/// pattern names), mini-key-server's elsewhere.
async fn unknown_path(
    state: State<Arc<AppState>>,
    peer: ConnectInfo<Peer>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    if keygen_path(uri.path()) {
        return keygen::dispatch(state, peer, method, uri, headers, body).await;
    }
    failure(StatusCode::NOT_FOUND, "no such endpoint")
}

/// Whether `path` is Keygen's API (`/v1` and below).
fn keygen_path(path: &str) -> bool {
    path == "/v1" || path.starts_with("/v1/")
}

/// An unsigned JSON error (nothing product-specific is known yet).
fn failure(status: StatusCode, error: &str) -> Response {
    (
        status,
        axum::Json(json!({ "result": "failure", "error": error })),
    )
        .into_response()
}

/// `GET /health`, for a load balancer or a supervisor: 200 `{"status":"ok"}` when
/// the store answers a query (a connection lost since is reopened by that query's
/// retry, see `Store::db`), else 503 with the reason. Unsigned: it says nothing about
/// any license.
async fn health(State(state): State<Arc<AppState>>) -> Response {
    let checked = tokio::task::spawn_blocking(move || {
        let kw = state.connection(Role::Read);
        kw.store()
            .check_alive()
            // A connection found lost was replaced by the first try: ask once more.
            .or_else(|_| kw.store().check_alive())
            .map(|()| kw.store().engine())
    })
    .await;
    match checked {
        Ok(Ok(engine)) => (
            StatusCode::OK,
            axum::Json(json!({
                "status": "ok",
                "store": match engine {
                    keywright_core::store::db::Engine::Sqlite => "sqlite",
                    keywright_core::store::db::Engine::Postgres => "postgres",
                },
            })),
        )
            .into_response(),
        Ok(Err(e)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({ "status": "unavailable", "error": e.message })),
        )
            .into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({ "status": "unavailable", "error": "the check did not finish" })),
        )
            .into_response(),
    }
}

/// mini-key-server's arguments (every endpoint takes a subset).
/// Unknown arguments are ignored, as Flask does.
#[derive(Debug, Default)]
struct Args {
    token: Option<String>,
    app_id: Option<String>,
    machine: Option<String>,
    user: Option<String>,
    hwid: Option<String>,
    // `/api/validate`.
    key: Option<String>,
    machine_id: Option<String>,
}

impl Args {
    /// Where the argument `name` goes; `None` for arguments no endpoint takes.
    fn slot(&mut self, name: &str) -> Option<&mut Option<String>> {
        Some(match name {
            "token" => &mut self.token,
            "app_id" => &mut self.app_id,
            "machine" => &mut self.machine,
            "user" => &mut self.user,
            "hwid" => &mut self.hwid,
            "key" => &mut self.key,
            "machine_id" => &mut self.machine_id,
            _ => return None,
        })
    }
}

/// A request after parsing: what to sign the answer over, and from whom it came.
struct Exchange {
    method: Method,
    target: String,
    host: String,
    ip: IpAddr,
}

impl Exchange {
    fn new(
        state: &AppState,
        peer: SocketAddr,
        method: Method,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Self {
        Exchange {
            target: uri
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_else(|| uri.path().to_owned()),
            host: headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
            ip: client_ip(&state.config, peer, headers),
            method,
        }
    }
}

type Bad = Box<Response>;

fn bad_request(message: impl std::fmt::Display) -> Bad {
    Box::new(failure(StatusCode::BAD_REQUEST, &message.to_string()))
}

/// A 400 about one field: our `error`, plus mini-key-server's `{"message": {field:
/// problem}}` for its clients.
fn field_error(field: &str, error: impl std::fmt::Display, problem: &str) -> Bad {
    Box::new(
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({
                "result": "failure",
                "error": error.to_string(),
                "message": { field: problem },
            })),
        )
            .into_response(),
    )
}

/// Reads a form or JSON body (any other content type: 415).
fn parse_body(
    headers: &HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Args, Bad> {
    let body = body.map_err(|rejection| {
        let status = rejection.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            Box::new(failure(status, "request body too large"))
        } else {
            bad_request("could not read the request body")
        }
    })?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/x-www-form-urlencoded");
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/json" => decode_json(&body),
        "application/x-www-form-urlencoded" => decode_form(&body, "malformed form body"),
        _ => Err(Box::new(failure(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send application/x-www-form-urlencoded or application/json",
        ))),
    }
}

fn parse_query(uri: &Uri) -> Result<Args, Bad> {
    decode_form(
        uri.query().unwrap_or_default().as_bytes(),
        "malformed query",
    )
}

/// `%XX` and `+` decoded (a `%` not followed by two hex digits stays as it is, as in
/// browsers' decoders).
fn percent_decode(raw: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                raw.get(i + 1).and_then(|&b| hex(b)),
                raw.get(i + 2).and_then(|&b| hex(b)),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// A field name as received, for messages: printable ASCII as is, any other byte
/// percent-encoded.
fn shown_name(raw: &[u8]) -> String {
    raw.iter()
        .map(|&b| match b {
            0x21..=0x7e => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An `application/x-www-form-urlencoded` query or body, strictly: every name and
/// value must decode to UTF-8. A lossy decoder would turn different bytes into the
/// same text (`%FF%FEx` and `%FE%FFx` both become `\u{FFFD}\u{FFFD}x`: one
/// fingerprint, one machine), so such a field is refused by name instead. An argument
/// given twice is refused too.
fn decode_form(bytes: &[u8], source: &str) -> Result<Args, Bad> {
    let mut args = Args::default();
    for pair in bytes.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (raw_name, raw_value) = match pair.iter().position(|&b| b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &[][..]),
        };
        let Ok(name) = String::from_utf8(percent_decode(raw_name)) else {
            let shown = shown_name(raw_name);
            return Err(field_error(
                &shown,
                format!("{source}: the field name {shown} is not UTF-8"),
                "is not UTF-8 (percent escapes must decode to UTF-8)",
            ));
        };
        let value = String::from_utf8(percent_decode(raw_value)).map_err(|_| {
            field_error(
                &name,
                format!("{source}: {name} is not UTF-8"),
                "is not UTF-8 (percent escapes must decode to UTF-8)",
            )
        })?;
        // Unknown arguments are ignored (after the UTF-8 check), as Flask does.
        if let Some(slot) = args.slot(&name) {
            if slot.is_some() {
                return Err(field_error(
                    &name,
                    format!("{source}: {name} is given twice"),
                    "is given twice",
                ));
            }
            *slot = Some(value);
        }
    }
    Ok(args)
}

/// A JSON object body. Every argument is a string (or null: absent), except `app_id`,
/// which mini-key-server's clients send as a number: a whole number of 0 or more is
/// taken as its decimal text; fractions, negatives, booleans and the like are refused.
fn decode_json(body: &[u8]) -> Result<Args, Bad> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| bad_request(format!("malformed JSON body: {e}")))?;
    let Value::Object(map) = value else {
        return Err(bad_request("malformed JSON body: expected an object"));
    };
    let mut args = Args::default();
    for (name, value) in map {
        let Some(slot) = args.slot(&name) else {
            continue;
        };
        *slot = match value {
            Value::Null => None,
            Value::String(text) => Some(text),
            Value::Number(n) if name == "app_id" && n.as_u64().is_some() => {
                n.as_u64().map(|id| id.to_string())
            }
            _ if name == "app_id" => {
                return Err(field_error(
                    &name,
                    format!(
                        "malformed JSON body: app_id must be a string or a whole number of 0 or more, not {value}"
                    ),
                    "must be a string or a whole number of 0 or more",
                ))
            }
            _ => {
                return Err(field_error(
                    &name,
                    format!("malformed JSON body: {name} must be a string"),
                    "must be a string",
                ))
            }
        };
    }
    Ok(args)
}

/// A required, non-blank argument of at most 4096 bytes.
fn required<'a>(name: &str, value: &'a Option<String>) -> Result<&'a str, Bad> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Err(field_error(
            name,
            format!("{name} is required"),
            "is required",
        )),
        Some(v) if v.len() > 4096 => Err(field_error(
            name,
            format!("{name} is too long"),
            "is too long (at most 4096 bytes)",
        )),
        Some(v) => Ok(v),
    }
}

fn optional(name: &str, value: &Option<String>) -> Result<(), Bad> {
    if value.as_ref().is_some_and(|v| v.len() > 4096) {
        return Err(field_error(
            name,
            format!("{name} is too long"),
            "is too long (at most 4096 bytes)",
        ));
    }
    Ok(())
}

/// Refuses text the server would store and print (`hwid`, `machine`, `user`,
/// `machine_id`) holding control characters, with a 400 that names the field as
/// mini-key-server's argument parser does (`{"message": {"hwid": "…"}}`), beside
/// this server's `result` and `error`. Nothing reaches the store.
fn plain_text(name: &str, value: &Option<String>) -> Result<(), Bad> {
    let Some(Err(e)) = value
        .as_deref()
        .map(|v| keywright_core::text::check_line(name, v.trim()))
    else {
        return Ok(());
    };
    Err(Box::new(
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({
                "result": "failure", "error": e.message, "message": { name: e.message },
            })),
        )
            .into_response(),
    ))
}

/// An answer before signing.
struct Answer {
    status: StatusCode,
    body: Value,
    product: Option<Product>,
    event: NewServerEvent,
}

fn with_support(mut body: Value, product: Option<&Product>) -> Value {
    if let Some(message) = product
        .and_then(|p| p.support_message.as_deref())
        .map(str::trim)
        .filter(|m| !m.is_empty())
    {
        body["support_message"] = Value::String(message.to_owned());
    }
    body
}

/// Runs `work` against the store on the blocking pool, records the event, signs the
/// answer with the product's key, and turns it into a response.
async fn answer(
    state: Arc<AppState>,
    exchange: Exchange,
    role: Role,
    work: impl FnOnce(&mut Keywright, Timestamp) -> keywright_core::Result<Answer> + Send + 'static,
) -> Response {
    let joined = tokio::task::spawn_blocking(move || {
        let now = Timestamp::now();
        let mut answer = work(&mut state.connection(role), now)?;
        let signer = match &answer.product {
            Some(product) => match state.signer(product, now) {
                Ok(signer) => Some(signer),
                // A key bundle without this product's key: say so (unsigned: there
                // is no key to sign with).
                Err(e) if e.code == ErrorCode::KeychainEntryMissing => {
                    eprintln!(
                        "keywright-server: cannot sign for product {} ({}): {e}",
                        product.code, product.id
                    );
                    return Ok(failure(StatusCode::SERVICE_UNAVAILABLE, NO_SIGNING_KEY));
                }
                Err(e) => return Err(e),
            },
            None => None,
        };
        answer.event.ip = Some(exchange.ip.to_string());
        answer.event.at = now;
        state.events.record(answer.event);
        let body = serde_json::to_vec(&answer.body).unwrap_or_default();
        let mut response = (answer.status, body.clone()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(signer) = signer {
            let signed = sign_response(
                &signer.private,
                exchange.method.as_str(),
                &exchange.target,
                &exchange.host,
                now,
                &body,
                &mut rand_core::OsRng,
            )?;
            for (name, value) in [
                ("date", signed.date),
                ("digest", signed.digest),
                (SIGNATURE_HEADER, signed.signature),
            ] {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    headers.insert(name, value);
                }
            }
        }
        Ok::<_, keywright_core::Error>(response)
    })
    .await;
    match joined {
        Ok(Ok(response)) => response,
        Ok(Err(e)) if e.code == ErrorCode::BadInput => failure(StatusCode::BAD_REQUEST, &e.message),
        Ok(Err(e)) => {
            // Not the client's fault: the store or keychain. Say so without details.
            eprintln!("keywright-server: {e}");
            failure(
                StatusCode::SERVICE_UNAVAILABLE,
                "the license server cannot answer right now; try again later",
            )
        }
        Err(_) => failure(
            StatusCode::SERVICE_UNAVAILABLE,
            "the license server cannot answer right now; try again later",
        ),
    }
}

fn event(endpoint: &str, args: &Args) -> NewServerEvent {
    NewServerEvent {
        endpoint: endpoint.to_owned(),
        machine: args.machine.clone(),
        user: args.user.clone(),
        hwid: args.hwid.clone().or_else(|| args.machine_id.clone()),
        ..NewServerEvent::default()
    }
}

fn verdict_event(
    mut event: NewServerEvent,
    verdict: &OnlineVerdict,
    status: StatusCode,
) -> NewServerEvent {
    event.license_id = verdict.license.as_ref().map(|l| l.id.clone());
    event.product_id = verdict.product.as_ref().map(|p| p.id.clone());
    event.machine_id = verdict.machine_id.clone();
    event.status = status.as_u16();
    event.result = if verdict.reason.is_valid() {
        "ok".into()
    } else {
        verdict.reason.as_str().into()
    };
    event
}

async fn check(
    State(state): State<Arc<AppState>>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let exchange = Exchange::new(&state, peer, method, &uri, &headers);
    let args = match parse_query(&uri).and_then(|args| {
        required("token", &args.token)?;
        required("app_id", &args.app_id)?;
        for (name, v) in [
            ("machine", &args.machine),
            ("user", &args.user),
            ("hwid", &args.hwid),
        ] {
            optional(name, v)?;
            plain_text(name, v)?;
        }
        Ok(args)
    }) {
        Ok(args) => args,
        Err(bad) => return *bad,
    };
    answer(state, exchange, Role::Read, move |kw, now| {
        let verdict = kw.online_check(
            args.token.as_deref().unwrap_or_default(),
            args.app_id.as_deref(),
            args.hwid.as_deref(),
            now,
        )?;
        let (status, body) = if verdict.reason.is_valid() {
            (StatusCode::CREATED, json!({ "result": "ok" }))
        } else {
            (
                StatusCode::NOT_FOUND,
                with_support(
                    json!({
                        "result": "failure", "error": "invalid key",
                        "reason": verdict.reason.as_str(),
                    }),
                    verdict.product.as_ref(),
                ),
            )
        };
        Ok(Answer {
            status,
            event: verdict_event(event("check", &args), &verdict, status),
            product: verdict.product,
            body,
        })
    })
    .await
}

async fn activate(
    State(state): State<Arc<AppState>>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let exchange = Exchange::new(&state, peer, method, &uri, &headers);
    let args = match parse_body(&headers, body).and_then(|args| {
        required("token", &args.token)?;
        required("app_id", &args.app_id)?;
        required("hwid", &args.hwid)?;
        optional("machine", &args.machine)?;
        optional("user", &args.user)?;
        for (name, v) in [
            ("hwid", &args.hwid),
            ("machine", &args.machine),
            ("user", &args.user),
        ] {
            plain_text(name, v)?;
        }
        Ok(args)
    }) {
        Ok(args) => args,
        Err(bad) => return *bad,
    };
    let ip = exchange.ip.to_string();
    let shared = state.clone();
    answer(state, exchange, Role::Write, move |kw, now| {
        // A product whose key the key bundle lacks: refused before a seat is taken,
        // since its answer could not be signed.
        if let Some(product) = args.app_id.as_deref().and_then(|a| kw.find_product(a).ok()) {
            if shared.cannot_sign(&product) {
                let mut event = event("activate", &args);
                event.product_id = Some(product.id.clone());
                event.status = StatusCode::SERVICE_UNAVAILABLE.as_u16();
                event.result = "SIGNING_KEY_UNAVAILABLE".into();
                return Ok(Answer {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    event,
                    product: None,
                    body: json!({ "result": "failure", "error": NO_SIGNING_KEY }),
                });
            }
        }
        let outcome = kw.online_activate(
            &OnlineActivation {
                token: args.token.clone().unwrap_or_default(),
                app_id: args.app_id.clone(),
                machine: args.machine.clone(),
                user: args.user.clone(),
                hwid: args.hwid.clone().unwrap_or_default(),
                ip: Some(ip),
                ..OnlineActivation::default()
            },
            now,
        )?;
        let mut event = event("activate", &args);
        let (status, body, product) = match outcome {
            ActivationOutcome::Activated {
                machine,
                remaining,
                product,
                license,
                ..
            } => {
                event.license_id = Some(license.id);
                event.machine_id = Some(machine.id.clone());
                event.result = "ok".into();
                (
                    StatusCode::CREATED,
                    json!({
                        "result": "ok",
                        "remainingActivations": remaining.unwrap_or(-1),
                        "machineId": machine.id,
                    }),
                    Some(product),
                )
            }
            ActivationOutcome::AlreadyActive { .. } => {
                unreachable!("mini-key-server's activation answers an active hwid again")
            }
            ActivationOutcome::OutOfSeats {
                product, license, ..
            } => {
                event.license_id = Some(license.id);
                event.result = "OUT_OF_ACTIVATIONS".into();
                (
                    StatusCode::GONE,
                    with_support(
                        json!({ "result": "failure", "error": "key is out of activations" }),
                        Some(&product),
                    ),
                    Some(product),
                )
            }
            ActivationOutcome::Refused {
                reason,
                product,
                license,
            } => {
                event.license_id = license.map(|l| l.id);
                event.result = reason.as_str().into();
                (
                    StatusCode::NOT_FOUND,
                    with_support(
                        json!({
                            "result": "failure", "error": "invalid activation token",
                            "reason": reason.as_str(),
                        }),
                        product.as_ref(),
                    ),
                    product,
                )
            }
        };
        event.product_id = product.as_ref().map(|p| p.id.clone());
        event.status = status.as_u16();
        Ok(Answer {
            status,
            body,
            product,
            event,
        })
    })
    .await
}

async fn validate(
    State(state): State<Arc<AppState>>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let exchange = Exchange::new(&state, peer, method, &uri, &headers);
    let args = match parse_body(&headers, body).and_then(|args| {
        required("key", &args.key)?;
        optional("machine_id", &args.machine_id)?;
        optional("app_id", &args.app_id)?;
        plain_text("machine_id", &args.machine_id)?;
        Ok(args)
    }) {
        Ok(args) => args,
        Err(bad) => return *bad,
    };
    answer(state, exchange, Role::Read, move |kw, now| {
        let verdict = kw.online_check(
            args.key.as_deref().unwrap_or_default(),
            args.app_id.as_deref(),
            args.machine_id.as_deref(),
            now,
        )?;
        let valid = verdict.reason == OnlineReason::Valid;
        let mut body = json!({ "valid": valid, "reason": verdict.reason.as_str() });
        if !valid {
            body = with_support(body, verdict.product.as_ref());
        }
        let status = StatusCode::OK;
        Ok(Answer {
            status,
            event: verdict_event(event("validate", &args), &verdict, status),
            product: verdict.product,
            body,
        })
    })
    .await
}

/// Runs a server on `listen` over `kw` (its keys from the OS keychain or a key
/// bundle) until Ctrl-C: what `keywright serve` does. `ready` is called with the
/// bound address and which products it can sign for.
pub fn run_until_ctrl_c(
    kw: Keywright,
    listen: SocketAddr,
    config: ServerConfig,
    ready: impl FnOnce(SocketAddr, &[ProductSigning]),
) -> Result<(), ServerError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = TcpListener::bind(listen).await?;
        let state = prepare(kw, config)?;
        ready(listener.local_addr()?, &state.signing);
        let served = serve_state(listener, state.clone(), async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
        // The process ends right after: write the audit head now, under the writer's
        // lock (so after any write in progress), rather than leave it to a drop
        // that the request-log thread's handle on the store would delay past exit.
        lock(&state.writer).flush_anchor();
        Ok(served?)
    })
}
