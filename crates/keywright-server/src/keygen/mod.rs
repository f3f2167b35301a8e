//! Keygen's license API over the Keywright store, so that applications built on a
//! Keygen SDK (keygen-rs, keygen-go, the Python and Node clients...) work against
//! Keywright unchanged: the SDK's API URL is this server, its account is the store's
//! id, its product a product's id, its public key the product's key.
//!
//! Served under `/v1/accounts/{account}/…` and, as Keygen's custom domains are,
//! directly under `/v1/…`. JSON:API documents shaped as Keygen's (the license and
//! machine resources are the very objects the store's files carry), Keygen's status
//! codes, error objects (`errors[].title/detail/code/source`) and validation codes.
//! Every answer under `/v1`, errors included, is signed as Keygen signs its API's:
//! `Keygen-Signature` over `(request-target) host date digest`, with `Date`/`Digest`
//! and their `Keygen-Date`/`Keygen-Digest` twins. The product's key signs what
//! concerns one of its licenses; the account's key (see [`account_product`]) signs
//! the rest.
//!
//! Every rule is the core's: seats and the request log as on mini-key-server's
//! endpoints, check-outs as the desktop's exports, validation through
//! `Keywright::validate_scoped`.

mod params;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use keywright_core::online::{
    ActivationOutcome, NewServerEvent, OnlineActivation, OnlineReason, ScopedValidation,
};
use keywright_core::{
    CheckedOutFile, ErrorCode, Keywright, License, LicenseStatus, Machine, PingOutcome, Product,
};
use keywright_license::response::{sign_response, SIGNATURE_HEADER};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::connection::Peer;
use crate::{AppState, Exchange, Role};
use params::{Credentials, Route};

/// Keygen's media type.
const JSONAPI: &str = "application/vnd.api+json; charset=utf-8";

/// What a license file's check-out may include (Keygen's list).
const LICENSE_INCLUDES: [&str; 6] = [
    "entitlements",
    "environment",
    "product",
    "policy",
    "group",
    "owner",
];
/// What a machine file's check-out may include (Keygen's list).
const MACHINE_INCLUDES: [&str; 8] = [
    "license.entitlements",
    "license.product",
    "license.policy",
    "license.owner",
    "license",
    "components",
    "environment",
    "group",
];

/// One of Keygen's error objects, with what the answer needs besides: the product
/// whose key signs it, and the request log's row when the request reached the store.
#[derive(Debug)]
pub(crate) struct Failure {
    status: StatusCode,
    title: &'static str,
    detail: String,
    code: Option<&'static str>,
    /// `source`: (`pointer` or `parameter`, its value).
    source: Option<(&'static str, String)>,
    /// Boxed: a `Failure` is the error of every parsing step.
    product: Option<Box<Product>>,
    challenge: bool,
    retry_after: bool,
}

impl Failure {
    pub(crate) fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Self {
        Failure {
            status,
            title,
            detail: detail.into(),
            code: None,
            source: None,
            product: None,
            challenge: false,
            retry_after: false,
        }
    }

    pub(crate) fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    pub(crate) fn pointer(mut self, pointer: &str) -> Self {
        self.source = Some(("pointer", pointer.to_owned()));
        self
    }

    pub(crate) fn parameter(mut self, parameter: &str) -> Self {
        self.source = Some(("parameter", parameter.to_owned()));
        self
    }

    /// Signed by `product`'s key, with its support message.
    fn about(mut self, product: &Product) -> Self {
        self.product = Some(Box::new(product.clone()));
        self
    }

    fn not_found(what: &str) -> Self {
        Failure::new(
            StatusCode::NOT_FOUND,
            "Not found",
            format!("The requested {what} was not found"),
        )
        .code("NOT_FOUND")
    }

    fn endpoint_not_found() -> Self {
        Failure::new(
            StatusCode::NOT_FOUND,
            "Not found",
            "The requested endpoint was not found (check your HTTP method, Accept header, and URL path)",
        )
        .code("NOT_FOUND")
    }

    fn unauthorized(code: &'static str, detail: &str) -> Self {
        let mut f = Failure::new(StatusCode::UNAUTHORIZED, "Unauthorized", detail).code(code);
        f.challenge = true;
        f
    }

    fn forbidden(code: Option<&'static str>, detail: &str) -> Self {
        let f = Failure::new(StatusCode::FORBIDDEN, "Access denied", detail);
        match code {
            Some(code) => f.code(code),
            None => f,
        }
    }

    /// The product's key is not in the server's key source (a partial key bundle).
    fn no_signing_key() -> Self {
        Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service unavailable",
            crate::NO_SIGNING_KEY,
        )
        .code("SIGNING_KEY_UNAVAILABLE")
    }

    fn unavailable() -> Self {
        Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service unavailable",
            "the license server cannot answer right now; try again later",
        )
    }

    pub(crate) fn too_many_requests() -> Self {
        let mut f = Failure::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            "Throttle limit has been reached for your IP address; slow down",
        )
        .code("TOO_MANY_REQUESTS");
        f.retry_after = true;
        f
    }

    pub(crate) fn too_large() -> Self {
        Failure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Payload too large",
            "The request body is too large",
        )
        .code("PAYLOAD_TOO_LARGE")
    }

    fn document(&self) -> Value {
        let mut error = Map::new();
        error.insert("title".into(), self.title.into());
        error.insert("detail".into(), self.detail.clone().into());
        if let Some(code) = self.code {
            error.insert("code".into(), code.into());
        }
        if let Some((kind, value)) = &self.source {
            error.insert("source".into(), json!({ *kind: value }));
        }
        let support = self
            .product
            .as_ref()
            .and_then(|p| p.support_message.as_deref())
            .map(str::trim)
            .filter(|m| !m.is_empty());
        if let Some(support) = support {
            error.insert("meta".into(), json!({ "supportMessage": support }));
        }
        json!({ "meta": { "id": uuid::Uuid::new_v4().to_string() }, "errors": [error] })
    }
}

/// An answer before signing.
struct Reply {
    status: StatusCode,
    body: Vec<u8>,
    content_type: &'static str,
    product: Option<Product>,
    headers: Vec<(HeaderName, String)>,
}

impl Reply {
    fn json(status: StatusCode, body: &impl Serialize, product: &Product) -> Self {
        Reply {
            status,
            body: serde_json::to_vec(body).unwrap_or_default(),
            content_type: JSONAPI,
            product: Some(product.clone()),
            headers: Vec::new(),
        }
    }

    fn failure(f: &Failure) -> Self {
        let mut headers = Vec::new();
        if f.challenge {
            headers.push((header::WWW_AUTHENTICATE, r#"Bearer realm="keygen""#.into()));
        }
        if f.retry_after {
            headers.push((header::RETRY_AFTER, "1".into()));
        }
        Reply {
            status: f.status,
            body: serde_json::to_vec(&f.document()).unwrap_or_default(),
            content_type: JSONAPI,
            product: f.product.as_deref().cloned(),
            headers,
        }
    }
}

/// The product whose key signs answers that concern no product (an unknown route,
/// an unknown key, a rate limit): the one signing most of the store's products (the
/// newest such product on a tie). Chosen when the server starts.
pub(crate) fn account_product(products: &[Product]) -> Option<Product> {
    products
        .iter()
        .max_by_key(|p| {
            let share = products
                .iter()
                .filter(|q| q.signing_key_id == p.signing_key_id)
                .count();
            (share, p.created_at.clone())
        })
        .cloned()
}

/// `/v1` and everything under it.
pub(crate) async fn dispatch(
    State(state): State<Arc<AppState>>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let exchange = Exchange::new(&state, peer, method.clone(), &uri, &headers);
    let request = match read(&state, &method, &uri, &headers, body) {
        Ok(request) => request,
        Err(failure) => return answer_failure(state, exchange, failure).await,
    };
    let role = if request.route.writes() {
        Role::Write
    } else {
        Role::Read
    };
    let ip = exchange.ip.to_string();
    let joined = tokio::task::spawn_blocking(move || {
        let now = Timestamp::now();
        let mut event = NewServerEvent {
            endpoint: request.route.endpoint().to_owned(),
            ip: Some(ip.clone()),
            at: now,
            ..NewServerEvent::default()
        };
        let reply = {
            let mut kw = state.connection(role);
            match handle(&mut kw, &request, &ip, &mut event, now) {
                Ok(reply) => reply,
                Err(failure) => {
                    event.status = failure.status.as_u16();
                    if event.result.is_empty() {
                        event.result = failure.code.unwrap_or(failure.title).to_owned();
                    }
                    Reply::failure(&failure)
                }
            }
        };
        if event.status == 0 {
            event.status = reply.status.as_u16();
            event.result = "ok".into();
        }
        event.product_id = event
            .product_id
            .take()
            .or_else(|| reply.product.as_ref().map(|p| p.id.clone()));
        state.events.record(event);
        sign(&state, &exchange, reply, now)
    })
    .await;
    joined.unwrap_or_else(|_| plain_unavailable())
}

/// Answers a failure found before the store was needed (no request log row).
async fn answer_failure(state: Arc<AppState>, exchange: Exchange, failure: Failure) -> Response {
    tokio::task::spawn_blocking(move || {
        sign(
            &state,
            &exchange,
            Reply::failure(&failure),
            Timestamp::now(),
        )
    })
    .await
    .unwrap_or_else(|_| plain_unavailable())
}

/// The rate limiter's answer under `/v1`: Keygen's 429, signed by the account's key.
pub(crate) fn rate_limited(state: &AppState, exchange: &Exchange) -> Response {
    sign(
        state,
        exchange,
        Reply::failure(&Failure::too_many_requests()),
        Timestamp::now(),
    )
}

/// A 503 when even signing could not run (a panic on the blocking pool).
fn plain_unavailable() -> Response {
    let body = Failure::unavailable().document();
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSONAPI));
    response
}

/// Signs `reply` with its product's key (else the account's) and builds the response.
fn sign(state: &AppState, exchange: &Exchange, mut reply: Reply, now: Timestamp) -> Response {
    let product = reply.product.clone().or_else(|| state.account.clone());
    let signer = match product.as_ref().map(|p| (p, state.signer(p, now))) {
        None => None,
        Some((_, Ok(s))) => Some(s),
        // A key bundle without this product's key: the request gets a 503 that says
        // so, signed by the account's key when that one is here.
        Some((p, Err(e)))
            if e.code == ErrorCode::KeychainEntryMissing && reply.product.is_some() =>
        {
            eprintln!("keywright-server: cannot sign for product {}: {e}", p.id);
            reply = Reply::failure(&Failure::no_signing_key());
            state
                .account
                .as_ref()
                .filter(|a| a.id != p.id)
                .and_then(|a| state.signer(a, now).ok())
        }
        Some((p, Err(e))) => {
            eprintln!("keywright-server: cannot sign for product {}: {e}", p.id);
            None
        }
    };
    let mut response = (reply.status, reply.body.clone()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(reply.content_type),
    );
    for (name, value) in reply.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    if let Some(signer) = signer {
        match sign_response(
            &signer.private,
            exchange.method.as_str(),
            &exchange.target,
            &exchange.host,
            now,
            &reply.body,
            &mut rand_core::OsRng,
        ) {
            Ok(signed) => {
                for (name, value) in [
                    ("date", &signed.date),
                    ("keygen-date", &signed.date),
                    ("digest", &signed.digest),
                    ("keygen-digest", &signed.digest),
                    (SIGNATURE_HEADER, &signed.signature),
                ] {
                    if let Ok(value) = HeaderValue::from_str(value) {
                        headers.insert(name, value);
                    }
                }
            }
            Err(e) => eprintln!("keywright-server: cannot sign an answer: {e}"),
        }
    }
    response
}

/// A request read and routed, before the store is asked anything.
struct Request {
    route: Route,
    /// The products the key bundle has no key for (see `AppState::cannot_sign`).
    cannot_sign: Arc<std::collections::HashSet<(String, String)>>,
    credentials: Credentials,
    body: Option<Map<String, Value>>,
    query: Vec<(String, String)>,
}

/// Routes the request and reads its body and query.
fn read(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Request, Failure> {
    let Some(mut segments) = params::segments(uri.path()) else {
        return Err(Failure::endpoint_not_found());
    };
    if segments.first().map(String::as_str) == Some("accounts") {
        match segments.get(1) {
            Some(account) if account == &state.account_id => {
                segments.drain(..2);
            }
            Some(_) => {
                return Err(Failure::not_found("account").parameter("account"));
            }
            None => return Err(Failure::endpoint_not_found()),
        }
    }
    let route = Route::find(method, &segments).ok_or_else(Failure::endpoint_not_found)?;
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Failure::too_large()
        } else {
            Failure::new(
                StatusCode::BAD_REQUEST,
                "Bad request",
                "could not read the request body",
            )
        }
    })?;
    Ok(Request {
        cannot_sign: state.cannot_sign.clone(),
        body: params::body(headers, &bytes)?,
        query: params::query(uri.query())?,
        credentials: params::credentials(headers),
        route,
    })
}

/// Maps a core error: bad input is the client's (`400`), anything else the
/// store's or keychain's (`503`, details on stderr only).
fn core_failure(e: keywright_core::Error) -> Failure {
    if e.code == ErrorCode::BadInput {
        Failure::new(StatusCode::BAD_REQUEST, "Bad request", e.message)
    } else {
        eprintln!("keywright-server: {e}");
        Failure::unavailable()
    }
}

/// The license that authenticated, refused as Keygen refuses it.
fn authenticate(
    kw: &Keywright,
    credentials: &Credentials,
    now: Timestamp,
) -> Result<Authed, Failure> {
    let key = match credentials {
        Credentials::License(key) => key,
        Credentials::Missing => return Err(Failure::unauthorized(
            "TOKEN_MISSING",
            "You must be authenticated to complete the request (send Authorization: License <key>)",
        )),
        Credentials::Token => {
            return Err(Failure::unauthorized(
                "TOKEN_INVALID",
                "Keywright authenticates license keys only (send Authorization: License <key>)",
            ))
        }
    };
    let license = kw
        .license_by_key(key)
        .map_err(core_failure)?
        .ok_or_else(|| {
            Failure::unauthorized(
                "LICENSE_INVALID",
                "You must be authenticated to complete the request (unknown license key)",
            )
        })?;
    let product = kw.find_product(&license.product_id).map_err(core_failure)?;
    match license.status {
        LicenseStatus::Revoked => {
            return Err(
                Failure::forbidden(Some("LICENSE_BANNED"), "License is revoked").about(&product),
            )
        }
        LicenseStatus::Suspended => {
            return Err(
                Failure::forbidden(Some("LICENSE_SUSPENDED"), "License is suspended")
                    .about(&product),
            )
        }
        LicenseStatus::Active => {}
    }
    // Keygen refuses an expired key only when its policy revokes access; the
    // scoped validation applies the other strategies.
    let expired = license
        .expiry
        .as_deref()
        .and_then(|e| keywright_license::parse_time(e).ok())
        .is_some_and(|expiry| expiry < now);
    if expired {
        let policy = kw.find_policy(&license.policy_id).map_err(core_failure)?;
        if policy.expiration_strategy == keywright_core::ExpirationStrategy::RevokeAccess {
            return Err(
                Failure::forbidden(Some("LICENSE_EXPIRED"), "License is expired").about(&product),
            );
        }
    }
    Ok(Authed { license, product })
}

struct Authed {
    license: License,
    product: Product,
}

impl Authed {
    /// Whether `reference` (an id or the key, as Keygen accepts) names this license.
    fn is(&self, reference: &str) -> bool {
        reference == self.license.id || reference == self.license.key
    }

    /// The license named in the path, which must be this one (else, as Keygen
    /// scopes what a license may see, not found).
    fn own(&self, reference: &str) -> Result<(), Failure> {
        if self.is(reference) {
            Ok(())
        } else {
            Err(Failure::not_found("license").about(&self.product))
        }
    }
}

fn handle(
    kw: &mut Keywright,
    request: &Request,
    ip: &str,
    event: &mut NewServerEvent,
    now: Timestamp,
) -> Result<Reply, Failure> {
    if let Route::ValidateKey = request.route {
        return validate_key(kw, request, event, now);
    }
    let authed = authenticate(kw, &request.credentials, now)?;
    event.license_id = Some(authed.license.id.clone());
    event.product_id = Some(authed.product.id.clone());
    // A product whose key the key bundle lacks: nothing is done (an activation
    // would take a seat) since the answer could not be signed.
    let product = &authed.product;
    if request
        .cannot_sign
        .contains(&(product.id.clone(), product.signing_key_id.clone()))
    {
        return Err(Failure::no_signing_key());
    }
    let account = kw.store().store_id().to_owned();
    match &request.route {
        Route::ValidateKey => unreachable!("answered above"),
        Route::Validate { license, quick } => {
            authed.own(license)?;
            let meta = if *quick {
                params::ValidationMeta::default()
            } else {
                params::validation_meta(request.body.as_ref())?
            };
            validation(kw, Some(authed.license.clone()), meta, event, now)
        }
        Route::License { license } => {
            authed.own(license)?;
            license_reply(kw, &authed)
        }
        Route::Me => license_reply(kw, &authed),
        Route::LicenseMachines { license } => {
            authed.own(license)?;
            let machines = kw
                .active_machines(&authed.license.id)
                .map_err(core_failure)?;
            let documents = machines
                .iter()
                .map(|m| kw.keygen_machine_document(m, now))
                .collect::<keywright_core::Result<Vec<_>>>()
                .map_err(core_failure)?;
            let data: Vec<_> = documents.iter().map(|d| d.to_resource(None)).collect();
            let path = format!(
                "/v1/accounts/{account}/licenses/{}/machines",
                authed.license.id
            );
            Ok(Reply::json(
                StatusCode::OK,
                &json!({ "data": data, "links": { "self": path }, "meta": { "count": data.len() } }),
                &authed.product,
            ))
        }
        Route::LicenseEntitlements { license } => {
            authed.own(license)?;
            let objects = kw
                .license_entitlement_objects(&authed.license.id)
                .map_err(core_failure)?;
            let path = format!(
                "/v1/accounts/{account}/licenses/{}/entitlements",
                authed.license.id
            );
            Ok(Reply::json(
                StatusCode::OK,
                &json!({
                    "data": objects.to_resources(&account),
                    "links": { "self": path },
                    "meta": { "count": objects.entitlements.len() },
                }),
                &authed.product,
            ))
        }
        Route::LicenseCheckOut { license, raw } => {
            authed.own(license)?;
            let mut input =
                params::check_out(&request.query, request.body.as_ref(), &LICENSE_INCLUDES)?;
            input.id = authed.license.id.clone();
            input.ip = Some(ip.to_owned());
            let file = kw
                .check_out_license_file(&input, now)
                .map_err(|e| check_out_failure(e, &authed.product))?;
            Ok(file_reply(
                &account,
                "license-files",
                file,
                *raw,
                &authed.product,
            ))
        }
        Route::Activate => activate(kw, request, &authed, ip, event, now),
        Route::Machine { machine } => {
            let machine = own_machine(kw, &authed, machine, event)?;
            machine_reply(kw, StatusCode::OK, &machine, &authed.product, now)
        }
        Route::Deactivate { machine } => {
            let machine = own_machine(kw, &authed, machine, event)?;
            kw.deactivate_machine_online(&machine.id, Some(ip), now)
                .map_err(|e| match e.code {
                    // Deactivated meanwhile by another request.
                    ErrorCode::Conflict => Failure::not_found("machine").about(&authed.product),
                    _ => core_failure(e),
                })?;
            Ok(Reply {
                status: StatusCode::NO_CONTENT,
                body: Vec::new(),
                content_type: JSONAPI,
                product: Some(authed.product.clone()),
                headers: Vec::new(),
            })
        }
        Route::MachineCheckOut { machine, raw } => {
            let machine = own_machine(kw, &authed, machine, event)?;
            let mut input =
                params::check_out(&request.query, request.body.as_ref(), &MACHINE_INCLUDES)?;
            input.id = machine.id.clone();
            input.ip = Some(ip.to_owned());
            let file = kw
                .check_out_machine_file(&input, now)
                .map_err(|e| check_out_failure(e, &authed.product))?;
            Ok(file_reply(
                &account,
                "machine-files",
                file,
                *raw,
                &authed.product,
            ))
        }
        Route::Heartbeat { machine } => {
            let machine = own_machine(kw, &authed, machine, event)?;
            // Keygen pings any machine (requireHeartbeat only makes validation ask for
            // one); a dead machine outside its resurrection window is a 422.
            match kw
                .ping_machine(&machine.id, now)
                .map_err(|e| match e.code {
                    // Deactivated meanwhile by another request.
                    ErrorCode::NotFound => Failure::not_found("machine").about(&authed.product),
                    _ => core_failure(e),
                })? {
                PingOutcome::Pinged(machine) => {
                    machine_reply(kw, StatusCode::OK, &machine, &authed.product, now)
                }
                PingOutcome::Dead(_) => Err(Failure::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Unprocessable resource",
                    "is dead",
                )
                .code("MACHINE_HEARTBEAT_DEAD")
                .pointer("/data/attributes/heartbeatStatus")
                .about(&authed.product)),
            }
        }
    }
}

/// The active machine of the authenticated license that `reference` (id or
/// fingerprint) names.
fn own_machine(
    kw: &Keywright,
    authed: &Authed,
    reference: &str,
    event: &mut NewServerEvent,
) -> Result<Machine, Failure> {
    event.hwid = Some(reference.to_owned());
    let machine = kw
        .active_machine(&authed.license.id, reference)
        .map_err(core_failure)?
        .ok_or_else(|| Failure::not_found("machine").about(&authed.product))?;
    event.machine_id = Some(machine.id.clone());
    Ok(machine)
}

fn check_out_failure(e: keywright_core::Error, product: &Product) -> Failure {
    match e.code {
        ErrorCode::BadInput if e.message.contains("algorithm") => {
            Failure::new(StatusCode::BAD_REQUEST, "Bad request", e.message)
                .code("CHECKOUT_ALGORITHM_INVALID")
                .parameter("algorithm")
        }
        ErrorCode::BadInput if e.message.contains("include") => {
            Failure::new(StatusCode::BAD_REQUEST, "Bad request", e.message)
                .code("CHECKOUT_INCLUDE_INVALID")
                .parameter("include")
        }
        ErrorCode::BadInput => Failure::new(StatusCode::BAD_REQUEST, "Bad request", e.message)
            .code("CHECKOUT_TTL_INVALID")
            .parameter("ttl"),
        // A key that may not sign now (retired, the clock rule, the app lock).
        ErrorCode::Conflict | ErrorCode::ClockBehind | ErrorCode::SigningLocked => {
            eprintln!("keywright-server: {e}");
            Failure::unavailable().about(product)
        }
        _ => core_failure(e),
    }
}

fn license_reply(kw: &Keywright, authed: &Authed) -> Result<Reply, Failure> {
    let document = kw
        .keygen_license_document(&authed.license)
        .map_err(core_failure)?;
    Ok(Reply::json(
        StatusCode::OK,
        &json!({ "data": document.to_resource(None) }),
        &authed.product,
    ))
}

fn machine_reply(
    kw: &Keywright,
    status: StatusCode,
    machine: &Machine,
    product: &Product,
    now: Timestamp,
) -> Result<Reply, Failure> {
    let document = kw
        .keygen_machine_document(machine, now)
        .map_err(core_failure)?;
    #[derive(Serialize)]
    struct One<D> {
        data: D,
    }
    let reply = Reply::json(
        status,
        &One {
            data: document.to_resource(None),
        },
        product,
    );
    Ok(reply)
}

fn file_reply(
    account: &str,
    kind: &'static str,
    file: CheckedOutFile,
    raw: bool,
    product: &Product,
) -> Reply {
    if raw {
        let name = file.machine_id.as_deref().unwrap_or(&file.license_id);
        return Reply {
            status: StatusCode::OK,
            content_type: "application/octet-stream",
            headers: vec![(
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.lic\""),
            )],
            body: file.certificate.into_bytes(),
            product: Some(product.clone()),
        };
    }
    let base = format!("/v1/accounts/{account}");
    let mut relationships = json!({
        "account": { "links": { "related": base }, "data": { "type": "accounts", "id": account } },
        "environment": { "links": { "related": null }, "data": null },
        "license": {
            "links": { "related": format!("{base}/licenses/{}", file.license_id) },
            "data": { "type": "licenses", "id": file.license_id },
        },
    });
    if let Some(machine) = &file.machine_id {
        relationships["machine"] = json!({
            "links": { "related": format!("{base}/machines/{machine}") },
            "data": { "type": "machines", "id": machine },
        });
    }
    Reply::json(
        StatusCode::OK,
        &json!({
            "data": {
                "id": uuid::Uuid::new_v4().to_string(),
                "type": kind,
                "attributes": {
                    "certificate": file.certificate,
                    "algorithm": file.algorithm,
                    "includes": file.includes,
                    "ttl": file.ttl,
                    "expiry": file.expiry,
                    "issued": file.issued,
                },
                "relationships": relationships,
            }
        }),
        product,
    )
}

fn validate_key(
    kw: &Keywright,
    request: &Request,
    event: &mut NewServerEvent,
    now: Timestamp,
) -> Result<Reply, Failure> {
    let meta = params::validation_meta(request.body.as_ref())?;
    let key = match meta.key.as_deref().map(str::trim) {
        Some(key) if !key.is_empty() => key.to_owned(),
        Some(_) => {
            return Err(
                Failure::new(StatusCode::BAD_REQUEST, "Bad request", "cannot be blank")
                    .pointer("/meta/key"),
            )
        }
        None => {
            return Err(
                Failure::new(StatusCode::BAD_REQUEST, "Bad request", "is missing")
                    .pointer("/meta/key"),
            )
        }
    };
    // The key in the body is the credential: an Authorization header changes nothing.
    let license = kw.license_by_key(&key).map_err(core_failure)?;
    validation(kw, license, meta, event, now)
}

/// A validation's answer: `200` with the license (or `null`) and Keygen's `meta`.
fn validation(
    kw: &Keywright,
    license: Option<License>,
    meta: params::ValidationMeta,
    event: &mut NewServerEvent,
    now: Timestamp,
) -> Result<Reply, Failure> {
    let result: ScopedValidation = kw
        .validate_scoped(license, &meta.scope, now)
        .map_err(core_failure)?;
    event.license_id = result.license.as_ref().map(|l| l.id.clone());
    event.product_id = result.product.as_ref().map(|p| p.id.clone());
    event.machine_id = result.machine_ids.first().cloned();
    event.hwid = meta
        .scope
        .fingerprints
        .as_ref()
        .and_then(|f| f.first().cloned())
        .or(meta.scope.machine.clone());
    event.status = 200;
    event.result = if result.code.as_str() == "VALID" {
        "ok".into()
    } else {
        result.code.as_str().into()
    };
    let document = result.document.as_ref();
    #[derive(Serialize)]
    struct ValidationMetaOut<'a> {
        ts: String,
        valid: bool,
        detail: &'static str,
        code: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        nonce: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        scope: Option<&'a Value>,
        #[serde(rename = "supportMessage", skip_serializing_if = "Option::is_none")]
        support_message: Option<&'a str>,
    }
    #[derive(Serialize)]
    struct Out<'a, D> {
        data: Option<D>,
        meta: ValidationMetaOut<'a>,
    }
    let support = result
        .product
        .as_ref()
        .and_then(|p| p.support_message.as_deref())
        .map(str::trim)
        .filter(|m| !m.is_empty() && !result.valid);
    let out = Out {
        data: document.map(|d| d.to_resource(None)),
        meta: ValidationMetaOut {
            ts: keywright_license::format_time(now),
            valid: result.valid,
            detail: result.detail,
            code: result.code.as_str(),
            nonce: meta.nonce,
            scope: meta.scope_sent.as_ref(),
            support_message: support,
        },
    };
    let body = serde_json::to_vec(&out).unwrap_or_default();
    Ok(Reply {
        status: StatusCode::OK,
        body,
        content_type: JSONAPI,
        product: result.product.clone(),
        headers: Vec::new(),
    })
}

fn activate(
    kw: &mut Keywright,
    request: &Request,
    authed: &Authed,
    ip: &str,
    event: &mut NewServerEvent,
    now: Timestamp,
) -> Result<Reply, Failure> {
    let input = params::new_machine(request.body.as_ref())?;
    event.hwid = Some(input.fingerprint.clone());
    event.machine = input.hostname.clone();
    if !authed.is(&input.license) {
        return Err(Failure::forbidden(
            None,
            "You do not have permission to complete the request (license lacks permission to perform action)",
        )
        .about(&authed.product));
    }
    // Keygen's attribute names in the answer; the core's rules for the text.
    for (name, value) in [
        ("fingerprint", Some(&input.fingerprint)),
        ("name", input.name.as_ref()),
        ("hostname", input.hostname.as_ref()),
        ("platform", input.platform.as_ref()),
    ] {
        let Some(value) = value else { continue };
        let problem = if name == "fingerprint" && value.trim().is_empty() {
            Some("cannot be blank".to_owned())
        } else if value.trim().chars().count() > 255 {
            Some("is too long (maximum is 255 characters)".to_owned())
        } else {
            keywright_core::text::check_line(name, value.trim())
                .err()
                .map(|e| e.message)
        };
        if let Some(problem) = problem {
            return Err(Failure::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Unprocessable resource",
                problem,
            )
            .pointer(&format!("/data/attributes/{name}"))
            .about(&authed.product));
        }
    }
    let outcome = kw
        .online_activate(
            &OnlineActivation {
                token: authed.license.key.clone(),
                app_id: None,
                machine: input.hostname.clone(),
                user: None,
                hwid: input.fingerprint.clone(),
                name: input.name.clone(),
                platform: input.platform.clone(),
                ip: Some(ip.to_owned()),
                refuse_active: true,
            },
            now,
        )
        .map_err(core_failure)?;
    match outcome {
        ActivationOutcome::Activated {
            machine, product, ..
        } => {
            event.machine_id = Some(machine.id.clone());
            let mut reply = machine_reply(kw, StatusCode::CREATED, &machine, &product, now)?;
            let account = kw.store().store_id().to_owned();
            reply.headers.push((
                header::LOCATION,
                format!("/v1/accounts/{account}/machines/{}", machine.id),
            ));
            Ok(reply)
        }
        ActivationOutcome::AlreadyActive {
            machine, product, ..
        } => {
            event.machine_id = Some(machine.id.clone());
            Err(Failure::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Unprocessable resource",
                "has already been taken",
            )
            .code("FINGERPRINT_TAKEN")
            .pointer("/data/attributes/fingerprint")
            .about(&product))
        }
        ActivationOutcome::OutOfSeats {
            allowed, product, ..
        } => {
            event.result = "MACHINE_LIMIT_EXCEEDED".into();
            Err(Failure::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Unprocessable resource",
                format!("machine count has exceeded maximum allowed for license ({allowed})"),
            )
            .code("MACHINE_LIMIT_EXCEEDED")
            .pointer("/data")
            .about(&product))
        }
        ActivationOutcome::Refused {
            reason, product, ..
        } => {
            let product = product.unwrap_or_else(|| authed.product.clone());
            let failure = match reason {
                OnlineReason::Suspended => {
                    Failure::forbidden(Some("LICENSE_SUSPENDED"), "License is suspended")
                }
                OnlineReason::Revoked => {
                    Failure::forbidden(Some("LICENSE_BANNED"), "License is revoked")
                }
                // Keywright activates nothing on an expired license, whatever its
                // expiration strategy (one seat rule for every path).
                OnlineReason::Expired => Failure::forbidden(
                    Some("LICENSE_EXPIRED"),
                    "License is expired and cannot activate machines",
                ),
                _ => Failure::not_found("license"),
            };
            Err(failure.about(&product))
        }
    }
}
