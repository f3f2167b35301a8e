//! Writing the `included` array of a license file: the related objects Keygen adds
//! when a license file is checked out with `include=product,policy,owner,entitlements`.
//!
//! [`Included`] holds what the issuer has (a product, a policy, the owner,
//! entitlements), each written as Keygen writes it (attribute order of Keygen's
//! published files: `keygen-relay.license.rev2025-12` for products and policies,
//! `example-rust.license` for users and entitlements), in the order product,
//! policy, owner, entitlements. Reading them back is `view.rs`'s
//! [`IncludedResource`](crate::IncludedResource), for any payload, ours or Keygen's.

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use crate::kinds::{ExpirationStrategy, Scheme};
use crate::time::format_time;

/// A product to include.
#[derive(Debug, Clone, PartialEq)]
pub struct IncludedProduct {
    /// Product id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Short code.
    pub code: Option<String>,
    /// Product page.
    pub url: Option<String>,
    /// Creation time.
    pub created: Timestamp,
    /// Last update time.
    pub updated: Timestamp,
}

/// A policy to include. Strategies Keywright does not configure are written with
/// Keygen's defaults (`NO_OVERAGE`, `KEEP_EXPIRY`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct IncludedPolicy {
    /// Policy id.
    pub id: String,
    /// Product id.
    pub product_id: String,
    /// Display name.
    pub name: String,
    /// License duration in seconds; `None` = perpetual.
    pub duration: Option<i64>,
    /// Floating licenses.
    pub floating: bool,
    /// Machine limit.
    pub max_machines: Option<i64>,
    /// Key scheme; `None` for unsigned keys.
    pub scheme: Option<Scheme>,
    /// Keygen's `strict`: machine limits are enforced on validation.
    pub strict: bool,
    /// Keygen's `expirationStrategy`.
    pub expiration_strategy: ExpirationStrategy,
    /// Offline grace period in seconds after a file's TTL, written as the policy's
    /// `metadata.offlineGracePeriod` (a Keywright extension; Keygen has no such
    /// attribute and ignores metadata); `None` writes no metadata key.
    pub offline_grace: Option<i64>,
    /// Keygen's `requireHeartbeat`.
    pub require_heartbeat: bool,
    /// Keygen's `heartbeatDuration` in seconds; `None` = Keygen's default.
    pub heartbeat_duration: Option<i64>,
    /// Keygen's `heartbeatCullStrategy` (`DEACTIVATE_DEAD`, `KEEP_DEAD`).
    pub heartbeat_cull_strategy: &'static str,
    /// Keygen's `heartbeatResurrectionStrategy` (`NO_REVIVE`, …, `ALWAYS_REVIVE`).
    pub heartbeat_resurrection_strategy: &'static str,
    /// Keygen's `heartbeatBasis` (`FROM_FIRST_PING`, `FROM_CREATION`).
    pub heartbeat_basis: &'static str,
    /// Creation time.
    pub created: Timestamp,
    /// Last update time.
    pub updated: Timestamp,
}

/// The license's owner (a Keygen user) to include.
#[derive(Debug, Clone, PartialEq)]
pub struct IncludedUser {
    /// User id.
    pub id: String,
    /// Full name, if known.
    pub full_name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Creation time.
    pub created: Timestamp,
    /// Last update time.
    pub updated: Timestamp,
}

/// An entitlement to include.
#[derive(Debug, Clone, PartialEq)]
pub struct IncludedEntitlement {
    /// Entitlement id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Code, e.g. `EXPORT_PDF` (what validation compares).
    pub code: String,
    /// Creation time.
    pub created: Timestamp,
    /// Last update time.
    pub updated: Timestamp,
}

/// What a license file includes. Written as `included` whenever passed (an empty
/// one writes `"included":[]`, as a request with `include=` does).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Included {
    /// `include=product`.
    pub product: Option<IncludedProduct>,
    /// `include=policy`.
    pub policy: Option<IncludedPolicy>,
    /// `include=owner`.
    pub owner: Option<IncludedUser>,
    /// `include=entitlements`.
    pub entitlements: Vec<IncludedEntitlement>,
}

#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum Resource {
    Product(Box<ProductOut>),
    Policy(Box<PolicyOut>),
    User(Box<UserOut>),
    Entitlement(Box<EntitlementOut>),
}

#[derive(Serialize)]
struct Links {
    related: Option<String>,
}

#[derive(Serialize)]
struct LinksOnly {
    links: Links,
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
struct SelfLink {
    #[serde(rename = "self")]
    self_: String,
}

#[derive(Serialize)]
pub(crate) struct ProductOut {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    attributes: ProductAttributes,
    relationships: ProductRelationships,
    links: SelfLink,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProductAttributes {
    name: String,
    // Keygen writes `code` only on products that have one.
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    distribution_strategy: &'static str,
    url: Option<String>,
    platforms: [(); 0],
    metadata: serde_json::Map<String, Value>,
    created: String,
    updated: String,
}

#[derive(Serialize)]
struct ProductRelationships {
    account: ToOne,
    environment: ToOne,
    policies: LinksOnly,
    licenses: LinksOnly,
    machines: LinksOnly,
    users: LinksOnly,
    tokens: LinksOnly,
    platforms: LinksOnly,
    channels: LinksOnly,
    releases: LinksOnly,
    artifacts: LinksOnly,
}

#[derive(Serialize)]
pub(crate) struct PolicyOut {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    attributes: PolicyAttributes,
    relationships: PolicyRelationships,
    links: SelfLink,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PolicyAttributes {
    name: String,
    duration: Option<i64>,
    strict: bool,
    floating: bool,
    use_pool: bool,
    max_machines: Option<i64>,
    max_processes: Option<i64>,
    max_users: Option<i64>,
    max_cores: Option<i64>,
    max_uses: Option<i64>,
    machine_uniqueness_strategy: &'static str,
    machine_matching_strategy: &'static str,
    component_uniqueness_strategy: &'static str,
    component_matching_strategy: &'static str,
    expiration_strategy: &'static str,
    expiration_basis: &'static str,
    renewal_basis: &'static str,
    transfer_strategy: &'static str,
    authentication_strategy: &'static str,
    machine_leasing_strategy: &'static str,
    process_leasing_strategy: &'static str,
    overage_strategy: &'static str,
    scheme: Option<Scheme>,
    encrypted: bool,
    protected: bool,
    require_product_scope: bool,
    require_policy_scope: bool,
    require_machine_scope: bool,
    require_fingerprint_scope: bool,
    require_components_scope: bool,
    require_user_scope: bool,
    require_checksum_scope: bool,
    require_version_scope: bool,
    require_check_in: bool,
    check_in_interval: Option<String>,
    check_in_interval_count: Option<i64>,
    heartbeat_duration: Option<i64>,
    heartbeat_cull_strategy: &'static str,
    heartbeat_resurrection_strategy: &'static str,
    heartbeat_basis: &'static str,
    require_heartbeat: bool,
    metadata: serde_json::Map<String, Value>,
    created: String,
    updated: String,
}

#[derive(Serialize)]
struct PolicyRelationships {
    account: ToOne,
    environment: ToOne,
    product: ToOne,
    pool: LinksOnly,
    licenses: LinksOnly,
    entitlements: LinksOnly,
}

#[derive(Serialize)]
pub(crate) struct UserOut {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    attributes: UserAttributes,
    relationships: UserRelationships,
    links: SelfLink,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserAttributes {
    full_name: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    status: &'static str,
    role: &'static str,
    metadata: serde_json::Map<String, Value>,
    created: String,
    updated: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserRelationships {
    account: ToOne,
    group: ToOne,
    products: LinksOnly,
    licenses: LinksOnly,
    machines: LinksOnly,
    tokens: LinksOnly,
    second_factors: LinksOnly,
}

#[derive(Serialize)]
pub(crate) struct EntitlementOut {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    attributes: EntitlementAttributes,
    relationships: EntitlementRelationships,
    links: SelfLink,
}

#[derive(Serialize)]
struct EntitlementAttributes {
    name: String,
    code: String,
    metadata: serde_json::Map<String, Value>,
    created: String,
    updated: String,
}

#[derive(Serialize)]
struct EntitlementRelationships {
    account: ToOne,
}

fn links(path: String) -> LinksOnly {
    LinksOnly {
        links: Links {
            related: Some(path),
        },
    }
}

fn account(account_id: &str) -> ToOne {
    ToOne {
        links: Links {
            related: Some(format!("/v1/accounts/{account_id}")),
        },
        data: Some(Linkage {
            kind: "accounts",
            id: account_id.to_owned(),
        }),
    }
}

fn no_environment() -> ToOne {
    ToOne {
        links: Links { related: None },
        data: None,
    }
}

impl Included {
    /// The objects as Keygen's API answers them (e.g. the `data` of
    /// `GET /licenses/{id}/entitlements`): the same array a file's `included` holds,
    /// serialized with Keygen's attribute order.
    pub fn to_resources(&self, account_id: &str) -> impl Serialize {
        self.resources(account_id)
    }

    /// The resources to write, in Keygen's order.
    pub(crate) fn resources(&self, account_id: &str) -> Vec<Resource> {
        let base = format!("/v1/accounts/{account_id}");
        let mut out = Vec::new();
        if let Some(p) = &self.product {
            let path = format!("{base}/products/{}", p.id);
            let rel = |what: &str| links(format!("{path}/{what}"));
            out.push(Resource::Product(Box::new(ProductOut {
                id: p.id.clone(),
                kind: "products",
                attributes: ProductAttributes {
                    name: p.name.clone(),
                    code: p.code.clone(),
                    distribution_strategy: "LICENSED",
                    url: p.url.clone(),
                    platforms: [],
                    metadata: serde_json::Map::new(),
                    created: format_time(p.created),
                    updated: format_time(p.updated),
                },
                relationships: ProductRelationships {
                    account: account(account_id),
                    environment: no_environment(),
                    policies: rel("policies"),
                    licenses: rel("licenses"),
                    machines: rel("machines"),
                    users: rel("users"),
                    tokens: rel("tokens"),
                    platforms: rel("platforms"),
                    channels: rel("channels"),
                    releases: rel("releases"),
                    artifacts: rel("artifacts"),
                },
                links: SelfLink { self_: path },
            })));
        }
        if let Some(p) = &self.policy {
            let path = format!("{base}/policies/{}", p.id);
            let rel = |what: &str| links(format!("{path}/{what}"));
            out.push(Resource::Policy(Box::new(PolicyOut {
                id: p.id.clone(),
                kind: "policies",
                attributes: PolicyAttributes {
                    name: p.name.clone(),
                    duration: p.duration,
                    strict: p.strict,
                    floating: p.floating,
                    use_pool: false,
                    max_machines: p.max_machines,
                    max_processes: None,
                    max_users: None,
                    max_cores: None,
                    max_uses: None,
                    machine_uniqueness_strategy: "UNIQUE_PER_LICENSE",
                    machine_matching_strategy: "MATCH_ANY",
                    component_uniqueness_strategy: "UNIQUE_PER_MACHINE",
                    component_matching_strategy: "MATCH_ANY",
                    expiration_strategy: p.expiration_strategy.as_str(),
                    expiration_basis: "FROM_CREATION",
                    renewal_basis: "FROM_EXPIRY",
                    transfer_strategy: "KEEP_EXPIRY",
                    authentication_strategy: "TOKEN",
                    machine_leasing_strategy: "PER_LICENSE",
                    process_leasing_strategy: "PER_MACHINE",
                    overage_strategy: "NO_OVERAGE",
                    scheme: p.scheme,
                    encrypted: false,
                    protected: true,
                    require_product_scope: false,
                    require_policy_scope: false,
                    require_machine_scope: false,
                    require_fingerprint_scope: false,
                    require_components_scope: false,
                    require_user_scope: false,
                    require_checksum_scope: false,
                    require_version_scope: false,
                    require_check_in: false,
                    check_in_interval: None,
                    check_in_interval_count: None,
                    heartbeat_duration: p.heartbeat_duration,
                    heartbeat_cull_strategy: p.heartbeat_cull_strategy,
                    heartbeat_resurrection_strategy: p.heartbeat_resurrection_strategy,
                    heartbeat_basis: p.heartbeat_basis,
                    require_heartbeat: p.require_heartbeat,
                    metadata: p
                        .offline_grace
                        .map(|g| {
                            serde_json::Map::from_iter([(
                                "offlineGracePeriod".to_owned(),
                                Value::from(g),
                            )])
                        })
                        .unwrap_or_default(),
                    created: format_time(p.created),
                    updated: format_time(p.updated),
                },
                relationships: PolicyRelationships {
                    account: account(account_id),
                    environment: no_environment(),
                    product: ToOne {
                        links: Links {
                            related: Some(format!("{path}/product")),
                        },
                        data: Some(Linkage {
                            kind: "products",
                            id: p.product_id.clone(),
                        }),
                    },
                    pool: rel("pool"),
                    licenses: rel("licenses"),
                    entitlements: rel("entitlements"),
                },
                links: SelfLink { self_: path },
            })));
        }
        if let Some(u) = &self.owner {
            let path = format!("{base}/users/{}", u.id);
            let rel = |what: &str| links(format!("{path}/{what}"));
            let (first, last) = match u.full_name.as_deref().map(str::trim) {
                Some(full) if !full.is_empty() => match full.split_once(' ') {
                    Some((first, last)) => (Some(first.to_owned()), Some(last.trim().to_owned())),
                    None => (Some(full.to_owned()), None),
                },
                _ => (None, None),
            };
            out.push(Resource::User(Box::new(UserOut {
                id: u.id.clone(),
                kind: "users",
                attributes: UserAttributes {
                    full_name: u.full_name.clone(),
                    first_name: first,
                    last_name: last,
                    email: u.email.clone(),
                    status: "ACTIVE",
                    role: "user",
                    metadata: serde_json::Map::new(),
                    created: format_time(u.created),
                    updated: format_time(u.updated),
                },
                relationships: UserRelationships {
                    account: account(account_id),
                    group: ToOne {
                        links: Links {
                            related: Some(format!("{path}/group")),
                        },
                        data: None,
                    },
                    products: rel("products"),
                    licenses: rel("licenses"),
                    machines: rel("machines"),
                    tokens: rel("tokens"),
                    second_factors: rel("second-factors"),
                },
                links: SelfLink { self_: path },
            })));
        }
        for e in &self.entitlements {
            out.push(Resource::Entitlement(Box::new(EntitlementOut {
                id: e.id.clone(),
                kind: "entitlements",
                attributes: EntitlementAttributes {
                    name: e.name.clone(),
                    code: e.code.clone(),
                    metadata: serde_json::Map::new(),
                    created: format_time(e.created),
                    updated: format_time(e.updated),
                },
                relationships: EntitlementRelationships {
                    account: account(account_id),
                },
                links: SelfLink {
                    self_: format!("{base}/entitlements/{}", e.id),
                },
            })));
        }
        out
    }
}
