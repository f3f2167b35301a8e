//! What a Keygen request says: its path (routes), its `Authorization`, its JSON:API
//! body and its query, read strictly. Every problem is a [`Failure`] in Keygen's
//! shape (`400` with a `source` naming the parameter), never a panic or a 500.

use axum::http::{HeaderMap, Method, StatusCode};
use keywright_core::online::ValidationScope;
use keywright_core::CheckOutFile;
use serde_json::{Map, Value};

use super::Failure;
use crate::percent_decode;

/// Longest text accepted in a scope, an id or a machine attribute (Keygen's limit
/// for fingerprints; ids and keys are shorter).
const MAX_TEXT: usize = 4096;
/// Most fingerprints or entitlements in one scope.
const MAX_LIST: usize = 100;

/// One endpoint of Keygen's license API this server answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// `POST licenses/actions/validate-key`.
    ValidateKey,
    /// `POST licenses/{id}/actions/validate` (`quick`: the `GET`, without a scope).
    Validate { license: String, quick: bool },
    /// `GET licenses/{id}`.
    License { license: String },
    /// `GET me`: the license that authenticated.
    Me,
    /// `GET licenses/{id}/machines`.
    LicenseMachines { license: String },
    /// `GET licenses/{id}/entitlements`.
    LicenseEntitlements { license: String },
    /// `POST|GET licenses/{id}/actions/check-out` (`raw`: the `GET`, the certificate
    /// alone).
    LicenseCheckOut { license: String, raw: bool },
    /// `POST machines`.
    Activate,
    /// `GET machines/{id}`.
    Machine { machine: String },
    /// `DELETE machines/{id}`.
    Deactivate { machine: String },
    /// `POST|GET machines/{id}/actions/check-out`.
    MachineCheckOut { machine: String, raw: bool },
    /// `POST machines/{id}/actions/ping` (and its older names).
    Heartbeat { machine: String },
}

impl Route {
    /// The route for `method` and the path segments after `/v1` (and after
    /// `accounts/{account}`), if this server answers it.
    pub(crate) fn find(method: &Method, segments: &[String]) -> Option<Route> {
        let s: Vec<&str> = segments.iter().map(String::as_str).collect();
        let get = method == Method::GET;
        let post = method == Method::POST;
        let id = |i: usize| s[i].to_owned();
        Some(match s.as_slice() {
            ["licenses", "actions", "validate-key"] if post => Route::ValidateKey,
            ["licenses", _, "actions", "validate"] if post || get => Route::Validate {
                license: id(1),
                quick: get,
            },
            ["licenses", _] if get => Route::License { license: id(1) },
            ["me"] if get => Route::Me,
            ["licenses", _, "machines"] if get => Route::LicenseMachines { license: id(1) },
            ["licenses", _, "entitlements"] if get => Route::LicenseEntitlements { license: id(1) },
            ["licenses", _, "actions", "check-out"] if post || get => Route::LicenseCheckOut {
                license: id(1),
                raw: get,
            },
            ["machines"] if post => Route::Activate,
            ["machines", _] if get => Route::Machine { machine: id(1) },
            ["machines", _] if method == Method::DELETE => Route::Deactivate { machine: id(1) },
            ["machines", _, "actions", "check-out"] if post || get => Route::MachineCheckOut {
                machine: id(1),
                raw: get,
            },
            ["machines", _, "actions", "ping" | "ping-heartbeat" | "heartbeat-ping"] if post => {
                Route::Heartbeat { machine: id(1) }
            }
            _ => return None,
        })
    }

    /// The name the request log gives it.
    pub(crate) fn endpoint(&self) -> &'static str {
        match self {
            Route::ValidateKey => "v1 validate-key",
            Route::Validate { .. } => "v1 validate",
            Route::License { .. } | Route::Me => "v1 license",
            Route::LicenseMachines { .. } => "v1 machines",
            Route::LicenseEntitlements { .. } => "v1 entitlements",
            Route::LicenseCheckOut { .. } => "v1 license check-out",
            Route::Activate => "v1 activate",
            Route::Machine { .. } => "v1 machine",
            Route::Deactivate { .. } => "v1 deactivate",
            Route::MachineCheckOut { .. } => "v1 machine check-out",
            Route::Heartbeat { .. } => "v1 heartbeat",
        }
    }

    /// Whether it writes (activations, deactivations and check-outs, whose audit
    /// rows are writes; heartbeat pings): those run on the write connection.
    pub(crate) fn writes(&self) -> bool {
        matches!(
            self,
            Route::Activate
                | Route::Deactivate { .. }
                | Route::LicenseCheckOut { .. }
                | Route::MachineCheckOut { .. }
                | Route::Heartbeat { .. }
        )
    }
}

/// The path's segments after `/v1`, percent-decoded: `None` when the path is not
/// under `/v1` or a segment does not decode to UTF-8 (no endpoint has such a name).
pub(crate) fn segments(path: &str) -> Option<Vec<String>> {
    let rest = path.strip_prefix("/v1")?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    rest.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8(percent_decode(s.as_bytes())).ok())
        .collect()
}

/// The credentials a request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Credentials {
    /// None.
    Missing,
    /// `License <key>` (or `Basic` with user `license`).
    License(String),
    /// A token (`Bearer`, `Token`, `Basic` with another user): Keywright issues none.
    Token,
}

/// Reads `Authorization`: Keygen's `License <key>`, and `Basic` for `license:<key>`.
pub(crate) fn credentials(headers: &HeaderMap) -> Credentials {
    let Some(value) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Credentials::Missing;
    };
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    let rest = rest.trim();
    match scheme.to_ascii_lowercase().as_str() {
        "license" if !rest.is_empty() => Credentials::License(rest.to_owned()),
        "license" => Credentials::Missing,
        "basic" => {
            use base64::Engine as _;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest)
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            match decoded.as_deref().and_then(|d| d.split_once(':')) {
                Some(("license", key)) if !key.is_empty() => Credentials::License(key.to_owned()),
                _ => Credentials::Token,
            }
        }
        _ => Credentials::Token,
    }
}

fn bad(detail: impl Into<String>, pointer: &str) -> Failure {
    Failure::new(StatusCode::BAD_REQUEST, "Bad request", detail).pointer(pointer)
}

/// The request body as a JSON object (`None` for an empty body). Only JSON media
/// types are read: Keygen's `application/vnd.api+json` and `application/json`.
pub(crate) fn body(
    headers: &HeaderMap,
    bytes: &[u8],
) -> Result<Option<Map<String, Value>>, Failure> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let mime = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    match mime.as_deref() {
        Some("application/vnd.api+json" | "application/json") | None => {}
        Some(_) => {
            return Err(Failure::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported media type",
                "send the body as application/vnd.api+json (or application/json)",
            )
            .code("CONTENT_TYPE_UNSUPPORTED"))
        }
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        Ok(_) => Err(bad("the request body must be a JSON object", "/")),
        Err(e) => Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "Bad request",
            format!("The request data is not valid JSON: {e}"),
        )
        .code("JSON_INVALID")),
    }
}

/// A string at `pointer` (absent or `null`: `None`).
pub(crate) fn string(value: Option<&Value>, pointer: &str) -> Result<Option<String>, Failure> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() > MAX_TEXT => Err(bad("is too long", pointer)),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(bad(
            format!("type mismatch (received {} expected string)", kind(other)),
            pointer,
        )),
    }
}

/// An array of strings at `pointer`.
fn strings(value: Option<&Value>, pointer: &str) -> Result<Option<Vec<String>>, Failure> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => {
            if items.len() > MAX_LIST {
                return Err(bad(format!("has more than {MAX_LIST} items"), pointer));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    string(Some(v), &format!("{pointer}/{i}"))?
                        .ok_or_else(|| bad("must be a string", &format!("{pointer}/{i}")))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
        }
        Some(other) => Err(bad(
            format!("type mismatch (received {} expected array)", kind(other)),
            pointer,
        )),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "float",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn object<'a>(
    value: Option<&'a Value>,
    pointer: &str,
) -> Result<Option<&'a Map<String, Value>>, Failure> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(other) => Err(bad(
            format!("type mismatch (received {} expected object)", kind(other)),
            pointer,
        )),
    }
}

/// A validation's `meta`: the key (validate-key), the nonce, the scope as sent (to
/// echo it) and as Keywright checks it.
#[derive(Debug, Default)]
pub(crate) struct ValidationMeta {
    pub key: Option<String>,
    pub nonce: Option<i64>,
    pub scope_sent: Option<Value>,
    pub scope: ValidationScope,
}

/// Reads `meta` of a validation body.
pub(crate) fn validation_meta(
    body: Option<&Map<String, Value>>,
) -> Result<ValidationMeta, Failure> {
    let Some(meta) = object(body.and_then(|b| b.get("meta")), "/meta")? else {
        return Ok(ValidationMeta::default());
    };
    let nonce = match meta.get("nonce") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.is_i64() => n.as_i64(),
        Some(other) => {
            return Err(bad(
                format!("type mismatch (received {} expected integer)", kind(other)),
                "/meta/nonce",
            ))
        }
    };
    let key = string(meta.get("key"), "/meta/key")?;
    let sent = object(meta.get("scope"), "/meta/scope")?;
    let mut scope = ValidationScope::default();
    if let Some(s) = sent {
        let text = |name: &str| string(s.get(name), &format!("/meta/scope/{name}"));
        scope.product = text("product")?;
        scope.policy = text("policy")?;
        scope.user = text("user")?;
        scope.machine = text("machine")?;
        scope.checksum = text("checksum")?;
        scope.version = text("version")?;
        scope.environment = text("environment")?;
        let fingerprint = text("fingerprint")?;
        let fingerprints = strings(s.get("fingerprints"), "/meta/scope/fingerprints")?;
        // Keygen takes `fingerprint` first, else `fingerprints`.
        scope.fingerprints = match (fingerprint, fingerprints, s.contains_key("fingerprint")) {
            (Some(one), _, _) => Some(vec![one]),
            (None, Some(many), _) => Some(many),
            (None, None, true) => Some(Vec::new()),
            (None, None, false) if s.contains_key("fingerprints") => Some(Vec::new()),
            _ => None,
        };
        if let Some(list) = &mut scope.fingerprints {
            list.retain(|f| !f.is_empty());
            list.dedup();
        }
        scope.components = strings(s.get("components"), "/meta/scope/components")?;
        scope.entitlements = strings(s.get("entitlements"), "/meta/scope/entitlements")?;
        if let Some(list) = &mut scope.entitlements {
            list.sort();
            list.dedup();
        }
    }
    Ok(ValidationMeta {
        key,
        nonce,
        scope_sent: sent.map(|s| Value::Object(s.clone())),
        scope,
    })
}

/// A machine to activate (`POST machines`).
#[derive(Debug, Default)]
pub(crate) struct NewMachine {
    pub fingerprint: String,
    pub name: Option<String>,
    pub hostname: Option<String>,
    pub platform: Option<String>,
    pub license: String,
}

/// Reads `POST machines`: `data.type` machines, `data.attributes.fingerprint`
/// (required), `name`, `hostname`, `platform` (`ip`, `cores` and `metadata` are
/// accepted and not kept), `data.relationships.license.data.id` (required).
pub(crate) fn new_machine(body: Option<&Map<String, Value>>) -> Result<NewMachine, Failure> {
    let missing = |pointer: &str| bad("is missing", pointer);
    let data =
        object(body.and_then(|b| b.get("data")), "/data")?.ok_or_else(|| missing("/data"))?;
    match string(data.get("type"), "/data/type")?.as_deref() {
        Some("machine" | "machines") => {}
        Some(_) => return Err(bad("type mismatch (expected machines)", "/data/type")),
        None => return Err(missing("/data/type")),
    }
    let attributes = object(data.get("attributes"), "/data/attributes")?
        .ok_or_else(|| missing("/data/attributes"))?;
    let text = |name: &str| string(attributes.get(name), &format!("/data/attributes/{name}"));
    let fingerprint =
        text("fingerprint")?.ok_or_else(|| missing("/data/attributes/fingerprint"))?;
    let machine = NewMachine {
        fingerprint,
        name: text("name")?,
        hostname: text("hostname")?,
        platform: text("platform")?,
        license: String::new(),
    };
    text("ip")?;
    match attributes.get("cores") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => {}
        Some(other) => {
            return Err(bad(
                format!("type mismatch (received {} expected integer)", kind(other)),
                "/data/attributes/cores",
            ))
        }
    }
    let relationships = object(data.get("relationships"), "/data/relationships")?
        .ok_or_else(|| missing("/data/relationships"))?;
    let license = object(relationships.get("license"), "/data/relationships/license")?
        .ok_or_else(|| missing("/data/relationships/license"))?;
    let linkage = object(license.get("data"), "/data/relationships/license/data")?
        .ok_or_else(|| missing("/data/relationships/license/data"))?;
    let id = string(linkage.get("id"), "/data/relationships/license/data/id")?
        .ok_or_else(|| missing("/data/relationships/license/data/id"))?;
    Ok(NewMachine {
        license: id,
        ..machine
    })
}

/// The query's name/value pairs, strictly decoded (a name or value that is not
/// UTF-8 is refused by name).
pub(crate) fn query(raw: Option<&str>) -> Result<Vec<(String, String)>, Failure> {
    let mut out = Vec::new();
    for pair in raw.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = String::from_utf8(percent_decode(name.as_bytes()))
            .map_err(|_| bad("a query parameter name is not UTF-8", "/"))?;
        let value = String::from_utf8(percent_decode(value.as_bytes())).map_err(|_| {
            Failure::new(StatusCode::BAD_REQUEST, "Bad request", "is not UTF-8").parameter(&name)
        })?;
        out.push((name, value));
    }
    Ok(out)
}

/// The options of a check-out: the query's `encrypt`, `ttl`, `include`, `algorithm`,
/// then the body's `meta` (which wins), as Keygen merges them. `allowed` are the
/// includes Keygen accepts for this kind of file.
pub(crate) fn check_out(
    pairs: &[(String, String)],
    body: Option<&Map<String, Value>>,
    allowed: &[&str],
) -> Result<CheckOutFile, Failure> {
    let invalid_ttl = || {
        Failure::new(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "must be greater than or equal to 3600 (1 hour)",
        )
        .code("CHECKOUT_TTL_INVALID")
        .parameter("ttl")
    };
    let ttl_of = |seconds: i64| {
        if seconds < 3600 {
            Err(invalid_ttl())
        } else {
            Ok(Some(format!("{seconds}s")))
        }
    };
    let mut out = CheckOutFile::default();
    let mut include: Option<Vec<String>> = None;
    for (name, value) in pairs {
        match name.as_str() {
            "encrypt" => {
                out.encrypt = Some(match value.to_ascii_lowercase().as_str() {
                    "1" | "true" | "t" | "yes" | "on" => true,
                    "0" | "false" | "f" | "no" | "off" => false,
                    _ => {
                        return Err(Failure::new(
                            StatusCode::BAD_REQUEST,
                            "Bad request",
                            "type mismatch (expected boolean)",
                        )
                        .parameter("encrypt"))
                    }
                })
            }
            "ttl" => {
                out.ttl = match value.as_str() {
                    "" | "null" => Some("none".into()),
                    v => ttl_of(v.parse::<i64>().map_err(|_| invalid_ttl())?)?,
                }
            }
            "include" => {
                include = Some(
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect(),
                )
            }
            "algorithm" => out.algorithm = Some(value.clone()).filter(|v| !v.is_empty()),
            _ => {}
        }
    }
    if let Some(meta) = object(body.and_then(|b| b.get("meta")), "/meta")? {
        if let Some(v) = meta.get("encrypt") {
            out.encrypt = match v {
                Value::Bool(b) => Some(*b),
                Value::Null => None,
                other => {
                    return Err(bad(
                        format!("type mismatch (received {} expected boolean)", kind(other)),
                        "/meta/encrypt",
                    ))
                }
            };
        }
        if let Some(v) = meta.get("ttl") {
            out.ttl = match v {
                Value::Null => Some("none".into()),
                Value::Number(n) if n.is_i64() => ttl_of(n.as_i64().unwrap_or_default())?,
                _ => return Err(invalid_ttl()),
            };
        }
        if meta.contains_key("include") {
            include = strings(meta.get("include"), "/meta/include")?;
        }
        if meta.contains_key("algorithm") {
            out.algorithm = string(meta.get("algorithm"), "/meta/algorithm")?;
        }
    }
    let include = include.unwrap_or_default();
    for name in &include {
        let name = match name.as_str() {
            "user" => "owner",
            "license.user" => "license.owner",
            n => n,
        };
        if !allowed.contains(&name) {
            return Err(
                Failure::new(StatusCode::BAD_REQUEST, "Bad request", "invalid includes")
                    .code("CHECKOUT_INCLUDE_INVALID")
                    .parameter("include"),
            );
        }
    }
    // Keywright stores no environments, groups or components: asked for, they are
    // accepted and include nothing, as Keygen includes nothing for a license without.
    out.include = include
        .into_iter()
        .filter(|n| !matches!(n.as_str(), "environment" | "group" | "components"))
        .collect();
    Ok(out)
}
