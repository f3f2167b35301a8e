//! The payload of the license files we issue: Keygen's JSON:API license document.
//!
//! The shape follows the newest Keygen vectors (2025): the attribute set and order of
//! `keygen-relay.license.rev2025-12`, relationships `account, environment, product,
//! policy, group, owner, users, machines, tokens, entitlements`. `included` is
//! written only when asked for ([`LicenseDocument::to_payload_with`] and
//! [`Included`]); entitlement linkage
//! (`relationships.entitlements.data`) is written when the license has entitlements.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::FormatError;
use crate::included::{Included, Resource};
use crate::kinds::{LicenseStatus, Scheme};
use crate::time::{format_time, keygen_expiry, parse_time, truncate_to_millis};
use crate::view::IncludedResource;

/// Keygen's minimum file TTL, in seconds.
pub const MIN_TTL: i64 = 3_600;

/// Permissions Keygen lists on a license with its default role.
const LICENSE_PERMISSIONS: [&str; 37] = [
    "arch.read",
    "artifact.read",
    "channel.read",
    "component.create",
    "component.delete",
    "component.read",
    "component.update",
    "constraint.read",
    "engine.read",
    "entitlement.read",
    "group.owners.read",
    "group.read",
    "license.check-in",
    "license.check-out",
    "license.read",
    "license.usage.increment",
    "license.validate",
    "machine.check-out",
    "machine.create",
    "machine.delete",
    "machine.heartbeat.ping",
    "machine.proofs.generate",
    "machine.read",
    "machine.update",
    "package.read",
    "platform.read",
    "process.create",
    "process.delete",
    "process.heartbeat.ping",
    "process.read",
    "process.update",
    "release.download",
    "release.read",
    "release.upgrade",
    "token.read",
    "token.regenerate",
    "token.revoke",
];

/// What we know about one of our licenses, to be written as Keygen's document.
#[derive(Debug, Clone, PartialEq)]
pub struct LicenseDocument {
    /// License id (UUID).
    pub id: String,
    /// Account id (UUID).
    pub account_id: String,
    /// Product id (UUID).
    pub product_id: String,
    /// Policy id (UUID).
    pub policy_id: String,
    /// Owner (user) id, if the license has one.
    pub user_id: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// The license key, exactly as given to the customer.
    pub key: String,
    /// License expiry; `None` never expires.
    pub expiry: Option<Timestamp>,
    /// Status.
    pub status: LicenseStatus,
    /// Signing scheme of the key, if it is a signed key.
    pub scheme: Option<Scheme>,
    /// Whether the key is an encrypted (legacy) key.
    pub encrypted: bool,
    /// Whether machine activation is enforced.
    pub strict: bool,
    /// Whether the license may be used on several machines.
    pub floating: bool,
    /// Whether only the vendor may manage it.
    pub protected: bool,
    /// Machine limit.
    pub max_machines: Option<i64>,
    /// Free-form metadata.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// Creation time.
    pub created: Timestamp,
    /// Last update time.
    pub updated: Timestamp,
    /// Number of activated machines.
    pub machines_count: i64,
    /// Entitlement ids attached to the license.
    pub entitlement_ids: Vec<String>,
}

impl LicenseDocument {
    /// The compact JSON payload of a license file issued at `issued` (truncated to
    /// milliseconds) with `ttl` seconds (`None`: never expires). `meta.expiry` is
    /// [`keygen_expiry`]`(issued, ttl)`. A TTL below [`MIN_TTL`] is rejected, as
    /// Keygen does.
    pub fn to_payload(&self, issued: Timestamp, ttl: Option<i64>) -> Result<Vec<u8>, FormatError> {
        self.to_payload_with(issued, ttl, None)
    }

    /// [`LicenseDocument::to_payload`] with Keygen's `included` related objects
    /// (`include=product,policy,owner,entitlements`) between `data` and `meta`, as
    /// Keygen writes them; `None` writes no `included`, like `to_payload`.
    pub fn to_payload_with(
        &self,
        issued: Timestamp,
        ttl: Option<i64>,
        included: Option<&Included>,
    ) -> Result<Vec<u8>, FormatError> {
        let issued = truncate_to_millis(issued);
        let meta = Meta::new(issued, ttl)?;
        let doc = Payload {
            data: self.data(Some(issued)),
            included: included.map(|i| i.resources(&self.account_id)),
            meta,
        };
        serde_json::to_vec(&doc).map_err(|e| FormatError::Json(e.to_string()))
    }

    /// The license resource alone, as Keygen's API answers it (the `data` of a
    /// validation or of `GET /licenses/{id}`): the same object a license file carries,
    /// with `lastCheckOut` as given (a file's is its issue time).
    /// It serializes with Keygen's attribute order.
    pub fn to_resource(&self, last_check_out: Option<Timestamp>) -> impl Serialize + '_ {
        self.data(last_check_out.map(truncate_to_millis))
    }

    /// The license resource (`data` of a license file, `included` of a machine file).
    fn data(&self, last_check_out: Option<Timestamp>) -> Data<'_> {
        let base = format!("/v1/accounts/{}", self.account_id);
        let license_path = format!("{base}/licenses/{}", self.id);
        let related = |what: &str| Links {
            related: Some(format!("{license_path}/{what}")),
        };
        let linkage = |kind: &'static str, id: &str| Linkage {
            kind,
            id: id.to_owned(),
        };
        Data {
            id: &self.id,
            kind: "licenses",
            attributes: Attributes {
                name: self.name.as_deref(),
                key: &self.key,
                expiry: self.expiry.map(format_time),
                status: self.status,
                uses: 0,
                suspended: self.status == LicenseStatus::Suspended,
                scheme: self.scheme,
                encrypted: self.encrypted,
                strict: self.strict,
                floating: self.floating,
                protected: self.protected,
                version: None,
                max_machines: self.max_machines,
                max_processes: None,
                max_users: None,
                max_cores: None,
                max_memory: None,
                max_disk: None,
                max_uses: None,
                require_heartbeat: false,
                require_check_in: false,
                last_validated: None,
                last_check_in: None,
                next_check_in: None,
                // Issuing a file is the check-out.
                last_check_out: last_check_out.map(format_time),
                permissions: &LICENSE_PERMISSIONS,
                metadata: &self.metadata,
                created: format_time(self.created),
                updated: format_time(self.updated),
            },
            relationships: Relationships {
                account: ToOne {
                    links: Links {
                        related: Some(base.clone()),
                    },
                    data: Some(linkage("accounts", &self.account_id)),
                },
                environment: ToOne {
                    links: Links { related: None },
                    data: None,
                },
                product: ToOne {
                    links: related("product"),
                    data: Some(linkage("products", &self.product_id)),
                },
                policy: ToOne {
                    links: related("policy"),
                    data: Some(linkage("policies", &self.policy_id)),
                },
                group: ToOne {
                    links: related("group"),
                    data: None,
                },
                owner: ToOne {
                    links: related("owner"),
                    data: self.user_id.as_deref().map(|id| linkage("users", id)),
                },
                users: Counted {
                    links: related("users"),
                    meta: UsersMeta {
                        count: i64::from(self.user_id.is_some()),
                    },
                },
                machines: Counted {
                    links: related("machines"),
                    meta: MachinesMeta {
                        cores: 0,
                        memory: 0,
                        disk: 0,
                        count: self.machines_count,
                    },
                },
                tokens: LinksOnly {
                    links: related("tokens"),
                },
                entitlements: ToMany {
                    links: related("entitlements"),
                    data: (!self.entitlement_ids.is_empty()).then(|| {
                        self.entitlement_ids
                            .iter()
                            .map(|id| linkage("entitlements", id))
                            .collect()
                    }),
                },
            },
            links: SelfLink {
                self_: license_path.clone(),
            },
        }
    }
}

#[derive(Serialize)]
struct Payload<'a> {
    data: Data<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    included: Option<Vec<Resource>>,
    meta: Meta,
}

#[derive(Serialize)]
struct Data<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    attributes: Attributes<'a>,
    relationships: Relationships,
    links: SelfLink,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Attributes<'a> {
    name: Option<&'a str>,
    key: &'a str,
    expiry: Option<String>,
    status: LicenseStatus,
    uses: i64,
    suspended: bool,
    scheme: Option<Scheme>,
    encrypted: bool,
    strict: bool,
    floating: bool,
    protected: bool,
    version: Option<String>,
    max_machines: Option<i64>,
    max_processes: Option<i64>,
    max_users: Option<i64>,
    max_cores: Option<i64>,
    max_memory: Option<i64>,
    max_disk: Option<i64>,
    max_uses: Option<i64>,
    require_heartbeat: bool,
    require_check_in: bool,
    last_validated: Option<String>,
    last_check_in: Option<String>,
    next_check_in: Option<String>,
    last_check_out: Option<String>,
    permissions: &'static [&'static str],
    metadata: &'a serde_json::Map<String, serde_json::Value>,
    created: String,
    updated: String,
}

#[derive(Serialize)]
struct Relationships {
    account: ToOne,
    environment: ToOne,
    product: ToOne,
    policy: ToOne,
    group: ToOne,
    owner: ToOne,
    users: Counted<UsersMeta>,
    machines: Counted<MachinesMeta>,
    tokens: LinksOnly,
    entitlements: ToMany,
}

#[derive(Serialize)]
struct Links {
    related: Option<String>,
}

#[derive(Serialize)]
struct Linkage {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
}

#[derive(Serialize)]
struct ToOne {
    links: Links,
    data: Option<Linkage>,
}

#[derive(Serialize)]
struct ToMany {
    links: Links,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<Vec<Linkage>>,
}

#[derive(Serialize)]
struct LinksOnly {
    links: Links,
}

#[derive(Serialize)]
struct Counted<M> {
    links: Links,
    meta: M,
}

#[derive(Serialize)]
struct UsersMeta {
    count: i64,
}

#[derive(Serialize)]
struct MachinesMeta {
    cores: i64,
    memory: i64,
    disk: i64,
    count: i64,
}

#[derive(Serialize)]
struct SelfLink {
    #[serde(rename = "self")]
    self_: String,
}

#[derive(Serialize)]
struct Meta {
    issued: String,
    expiry: Option<String>,
    ttl: Option<i64>,
}

impl Meta {
    /// `meta` for a file issued at `issued` (already truncated) with `ttl` seconds.
    fn new(issued: Timestamp, ttl: Option<i64>) -> Result<Self, FormatError> {
        let file_expiry = match ttl {
            Some(ttl) if ttl < MIN_TTL => return Err(FormatError::TtlOutOfRange(ttl)),
            Some(ttl) => Some(keygen_expiry(issued, ttl)?),
            None => None,
        };
        Ok(Meta {
            issued: format_time(issued),
            expiry: file_expiry.map(format_time),
            ttl,
        })
    }
}

/// One activated machine, to be written as the payload of a machine file: Keygen's
/// JSON:API machine document (`data.type = "machines"`, attribute order of Keygen's
/// published `example-rust.machine` file) with its license in `included`, so that
/// [`Verifier::validate`](crate::Verifier::validate) checks the license's status,
/// expiry and product too.
#[derive(Debug, Clone, PartialEq)]
pub struct MachineDocument {
    /// Machine id (UUID).
    pub id: String,
    /// The machine fingerprint the file is bound to.
    pub fingerprint: String,
    /// Display name.
    pub name: Option<String>,
    /// Host name.
    pub hostname: Option<String>,
    /// Platform, e.g. `linux-x86_64`.
    pub platform: Option<String>,
    /// Free-form metadata.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// Keygen's `requireHeartbeat` (the policy's).
    pub require_heartbeat: bool,
    /// Keygen's `heartbeatStatus`: `NOT_STARTED`, `ALIVE`, `DEAD` or `RESURRECTED`.
    pub heartbeat_status: &'static str,
    /// Keygen's `heartbeatDuration` in seconds.
    pub heartbeat_duration: Option<i64>,
    /// The last heartbeat ping.
    pub last_heartbeat: Option<Timestamp>,
    /// When the next ping is due.
    pub next_heartbeat: Option<Timestamp>,
    /// Activation time.
    pub created: Timestamp,
    /// Last update time.
    pub updated: Timestamp,
    /// The license it is activated under (its `machines_count` should include this
    /// machine).
    pub license: LicenseDocument,
}

impl MachineDocument {
    /// The compact JSON payload of a machine file issued at `issued` with `ttl`
    /// seconds (`None`: never expires), as [`LicenseDocument::to_payload`].
    pub fn to_payload(&self, issued: Timestamp, ttl: Option<i64>) -> Result<Vec<u8>, FormatError> {
        self.to_payload_with(issued, ttl, None)
    }

    /// [`MachineDocument::to_payload`] with more related objects in `included`, after
    /// the license (e.g. its policy, so a verifier reads its `expirationStrategy`);
    /// `None` writes the license only, like `to_payload`.
    pub fn to_payload_with(
        &self,
        issued: Timestamp,
        ttl: Option<i64>,
        extra: Option<&Included>,
    ) -> Result<Vec<u8>, FormatError> {
        let issued = truncate_to_millis(issued);
        let meta = Meta::new(issued, ttl)?;
        let lic = &self.license;
        let mut included = vec![MachineIncluded::License(Box::new(lic.data(Some(issued))))];
        if let Some(extra) = extra {
            included.extend(
                extra
                    .resources(&lic.account_id)
                    .into_iter()
                    .map(MachineIncluded::Other),
            );
        }
        let doc = MachinePayload {
            data: self.data(Some(issued)),
            included,
            meta,
        };
        serde_json::to_vec(&doc).map_err(|e| FormatError::Json(e.to_string()))
    }

    /// The machine resource alone, as Keygen's API answers it (`POST /machines`,
    /// `GET /machines/{id}`): the same object a machine file carries as its `data`,
    /// with `lastCheckOut` as given (a file's is its issue time).
    /// It serializes with Keygen's attribute order.
    pub fn to_resource(&self, last_check_out: Option<Timestamp>) -> impl Serialize + '_ {
        self.data(last_check_out.map(truncate_to_millis))
    }

    /// The machine resource (`data` of a machine file).
    fn data(&self, last_check_out: Option<Timestamp>) -> MachineData<'_> {
        let lic = &self.license;
        let base = format!("/v1/accounts/{}", lic.account_id);
        let path = format!("{base}/machines/{}", self.id);
        let related = |what: &str| Links {
            related: Some(format!("{path}/{what}")),
        };
        let linkage = |kind: &'static str, id: &str| Linkage {
            kind,
            id: id.to_owned(),
        };
        MachineData {
            id: &self.id,
            kind: "machines",
            attributes: MachineAttributes {
                fingerprint: &self.fingerprint,
                cores: None,
                ip: None,
                hostname: self.hostname.as_deref(),
                platform: self.platform.as_deref(),
                name: self.name.as_deref(),
                require_heartbeat: self.require_heartbeat,
                heartbeat_status: self.heartbeat_status,
                heartbeat_duration: self.heartbeat_duration,
                max_processes: None,
                last_check_out: last_check_out.map(format_time),
                last_heartbeat: self.last_heartbeat.map(format_time),
                next_heartbeat: self.next_heartbeat.map(format_time),
                metadata: &self.metadata,
                created: format_time(self.created),
                updated: format_time(self.updated),
            },
            relationships: MachineRelationships {
                account: ToOne {
                    links: Links {
                        related: Some(base.clone()),
                    },
                    data: Some(linkage("accounts", &lic.account_id)),
                },
                environment: ToOne {
                    links: Links { related: None },
                    data: None,
                },
                product: ToOne {
                    links: related("product"),
                    data: Some(linkage("products", &lic.product_id)),
                },
                group: ToOne {
                    links: related("group"),
                    data: None,
                },
                license: ToOne {
                    links: related("license"),
                    data: Some(linkage("licenses", &lic.id)),
                },
                owner: ToOne {
                    links: related("owner"),
                    data: lic.user_id.as_deref().map(|id| linkage("users", id)),
                },
                components: LinksOnly {
                    links: related("components"),
                },
                processes: LinksOnly {
                    links: related("processes"),
                },
            },
            links: SelfLink {
                self_: path.clone(),
            },
        }
    }
}

#[derive(Serialize)]
struct MachinePayload<'a> {
    data: MachineData<'a>,
    included: Vec<MachineIncluded<'a>>,
    meta: Meta,
}

#[derive(Serialize)]
#[serde(untagged)]
enum MachineIncluded<'a> {
    License(Box<Data<'a>>),
    Other(Resource),
}

#[derive(Serialize)]
struct MachineData<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    attributes: MachineAttributes<'a>,
    relationships: MachineRelationships,
    links: SelfLink,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MachineAttributes<'a> {
    fingerprint: &'a str,
    cores: Option<i64>,
    ip: Option<&'a str>,
    hostname: Option<&'a str>,
    platform: Option<&'a str>,
    name: Option<&'a str>,
    require_heartbeat: bool,
    heartbeat_status: &'static str,
    heartbeat_duration: Option<i64>,
    max_processes: Option<i64>,
    last_check_out: Option<String>,
    last_heartbeat: Option<String>,
    next_heartbeat: Option<String>,
    metadata: &'a serde_json::Map<String, serde_json::Value>,
    created: String,
    updated: String,
}

#[derive(Serialize)]
struct MachineRelationships {
    account: ToOne,
    environment: ToOne,
    product: ToOne,
    group: ToOne,
    license: ToOne,
    owner: ToOne,
    components: LinksOnly,
    processes: LinksOnly,
}

/// The parts of a license document a verifier needs, read from a file payload
/// (Keygen's or ours). Unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseDocumentView {
    /// License id.
    pub id: String,
    /// Display name.
    pub name: Option<String>,
    /// License key.
    pub key: String,
    /// License expiry.
    pub expiry: Option<Timestamp>,
    /// Status, as written (Keygen may add statuses).
    pub status: String,
    /// Policy id, when the document links it.
    pub policy_id: Option<String>,
    /// Product id, when the document links it.
    pub product_id: Option<String>,
    /// Entitlement ids linked from the license.
    pub entitlement_ids: Vec<String>,
    /// The document's `included` objects (product, policy, users, entitlements...),
    /// empty when it has none.
    pub included: Vec<IncludedResource>,
}

impl LicenseDocumentView {
    /// Reads the view out of a decrypted license file payload.
    pub fn from_payload(payload: &[u8]) -> Result<Self, FormatError> {
        let value: serde_json::Value =
            serde_json::from_slice(payload).map_err(|e| FormatError::Json(e.to_string()))?;
        let included = IncludedResource::from_document(&value);
        let doc: ViewDoc =
            serde_json::from_value(value).map_err(|e| FormatError::Json(e.to_string()))?;
        let data = doc.data;
        if data.kind != "licenses" {
            return Err(FormatError::MissingField("data.type"));
        }
        let expiry = data
            .attributes
            .expiry
            .as_deref()
            .map(parse_time)
            .transpose()?;
        let one = |r: Option<ViewToOne>| r.and_then(|r| r.data).map(|d| d.id);
        Ok(LicenseDocumentView {
            id: data.id,
            name: data.attributes.name,
            key: data.attributes.key,
            expiry,
            status: data.attributes.status,
            policy_id: one(data.relationships.policy),
            product_id: one(data.relationships.product),
            entitlement_ids: data
                .relationships
                .entitlements
                .and_then(|e| e.data)
                .unwrap_or_default()
                .into_iter()
                .map(|d| d.id)
                .collect(),
            included,
        })
    }
}

#[derive(Deserialize)]
struct ViewDoc {
    data: ViewData,
}

#[derive(Deserialize)]
struct ViewData {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    attributes: ViewAttributes,
    #[serde(default)]
    relationships: ViewRelationships,
}

#[derive(Deserialize)]
struct ViewAttributes {
    name: Option<String>,
    key: String,
    expiry: Option<String>,
    status: String,
}

#[derive(Deserialize, Default)]
struct ViewRelationships {
    policy: Option<ViewToOne>,
    product: Option<ViewToOne>,
    entitlements: Option<ViewToMany>,
}

#[derive(Deserialize)]
struct ViewToOne {
    data: Option<ViewLinkage>,
}

#[derive(Deserialize)]
struct ViewToMany {
    data: Option<Vec<ViewLinkage>>,
}

#[derive(Deserialize)]
struct ViewLinkage {
    id: String,
}
