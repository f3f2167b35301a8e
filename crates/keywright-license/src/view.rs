//! Reading a license or machine file's document: [`LicenseView`] (what validation
//! checks, read leniently from Keygen's JSON:API document, ours or Keygen's) and
//! [`IncludedResource`] (every object of its `included`, as written).

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::error::FormatError;
use crate::file::{FileMeta, OpenedFile};
use crate::kinds::{ExpirationStrategy, FileKind};
use crate::time::parse_time;

/// What a validated file says about its license (and machine), read from Keygen's
/// JSON:API document. Fields the document does not carry are `None` / empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseView {
    /// License or machine file.
    pub kind: FileKind,
    /// The file's `meta`.
    pub meta: FileMeta,
    /// License id (a machine file's `relationships.license`).
    pub license_id: Option<String>,
    /// License name.
    pub name: Option<String>,
    /// License status as written, e.g. `ACTIVE`, `SUSPENDED`.
    pub status: Option<String>,
    /// License expiry; `None` when it never expires or the file does not say.
    pub expiry: Option<Timestamp>,
    /// Whether the license expiry is past at the validation time (an expired license
    /// can still be `VALID` under `MAINTAIN_ACCESS` / `ALLOW_ACCESS`).
    pub expired: bool,
    /// `maxMachines`.
    pub max_machines: Option<i64>,
    /// Product id.
    pub product_id: Option<String>,
    /// Policy id.
    pub policy_id: Option<String>,
    /// Entitlement codes from `included` (ids when only linkage is present).
    pub entitlements: Vec<String>,
    /// Fingerprints of the machines in `included` (license files).
    pub machine_fingerprints: Vec<String>,
    /// Number of machines the file reports: the larger of the `included` machines
    /// and `relationships.machines.meta.count`, when either is present.
    pub machines_count: Option<i64>,
    /// The included policy's `overageStrategy`, e.g. `ALLOW_1_25X_OVERAGE`.
    pub overage_strategy: Option<String>,
    /// Machine id (machine files).
    pub machine_id: Option<String>,
    /// The machine's fingerprint (machine files).
    pub fingerprint: Option<String>,
    /// Every object of the document's `included` (product, policy, owner,
    /// entitlements, machines, the license of a machine file...), as written.
    pub included: Vec<IncludedResource>,
    /// The license's `strict` attribute: `Some(false)` (Keygen's non-strict policy)
    /// skips the machine-count check (`TOO_MANY_MACHINES`); absent, it applies.
    pub strict: Option<bool>,
    /// The included policy's `expirationStrategy`, when the file includes its policy;
    /// it takes precedence over [`Verifier::expiration_strategy`](crate::Verifier::expiration_strategy)
    /// (it is the vendor's signed rule).
    pub expiration_strategy: Option<ExpirationStrategy>,
    /// The offline grace period the vendor granted (a Keywright extension: the
    /// included policy's `metadata.offlineGracePeriod`, in seconds): how long after
    /// the file's `meta.expiry` it still validates.
    pub offline_grace: Option<SignedDuration>,
    /// Whether the result relies on the grace period: `now` is past `meta.expiry` but
    /// within [`LicenseView::offline_grace`].
    pub in_grace: bool,
}

impl LicenseView {
    /// Reads the view out of an opened file's payload: `data` must be a `licenses`
    /// (license file) or `machines` (machine file) resource.
    pub(crate) fn read(file: &OpenedFile) -> Result<Self, FormatError> {
        let doc: Value =
            serde_json::from_slice(&file.payload).map_err(|e| FormatError::Json(e.to_string()))?;
        let data = doc.get("data").ok_or(FormatError::MissingField("data"))?;
        let included: &[Value] = doc
            .get("included")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);
        let of_type = |kind: &'static str| {
            included
                .iter()
                .filter(move |r| r.get("type").and_then(Value::as_str) == Some(kind))
        };
        let expected_type = match file.kind {
            FileKind::License => "licenses",
            FileKind::Machine => "machines",
        };
        if data.get("type").and_then(Value::as_str) != Some(expected_type) {
            return Err(FormatError::MissingField("data.type"));
        }
        let (license, machine) = match file.kind {
            FileKind::License => (Some(data), None),
            FileKind::Machine => {
                let id = linked_id(data, "license");
                let license = of_type("licenses")
                    .find(|r| id.is_none() || str_at(r, &["id"]) == id)
                    .or_else(|| of_type("licenses").next());
                (license, Some(data))
            }
        };
        let lic_attr = |name: &str| license.and_then(|l| l.get("attributes")?.get(name));
        let expiry = match lic_attr("expiry") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(parse_time(s)?),
            Some(_) => return Err(FormatError::MissingField("attributes.expiry")),
        };
        let mut entitlements: Vec<String> = of_type("entitlements")
            .filter_map(|r| str_at(r, &["attributes", "code"]).map(str::to_owned))
            .collect();
        for linked in license
            .and_then(|l| {
                l.get("relationships")?
                    .get("entitlements")?
                    .get("data")?
                    .as_array()
            })
            .map_or(&[][..], Vec::as_slice)
        {
            if let Some(id) = str_at(linked, &["id"]) {
                // Linkage only gives ids; included resources also give codes.
                let code = of_type("entitlements")
                    .find(|r| str_at(r, &["id"]) == Some(id))
                    .and_then(|r| str_at(r, &["attributes", "code"]));
                if code.is_none() {
                    entitlements.push(id.to_owned());
                }
            }
        }
        let machine_fingerprints: Vec<String> = match file.kind {
            FileKind::License => of_type("machines")
                .filter_map(|r| str_at(r, &["attributes", "fingerprint"]).map(str::to_owned))
                .collect(),
            FileKind::Machine => Vec::new(),
        };
        let included_machines = match file.kind {
            FileKind::License => Some(of_type("machines").count()).filter(|n| *n > 0),
            FileKind::Machine => None,
        }
        .map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        let counted = license.and_then(|l| {
            l.get("relationships")?
                .get("machines")?
                .get("meta")?
                .get("count")?
                .as_i64()
        });
        let machines_count = match (included_machines, counted) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let policy_id = license.and_then(|l| linked_id(l, "policy"));
        let policy =
            of_type("policies").find(|r| policy_id.is_none() || str_at(r, &["id"]) == policy_id);
        let overage_strategy = policy
            .and_then(|r| str_at(r, &["attributes", "overageStrategy"]))
            .map(str::to_owned);
        let expiration_strategy =
            match policy.and_then(|r| r.get("attributes")?.get("expirationStrategy")) {
                None | Some(Value::Null) => None,
                Some(v) => Some(
                    serde_json::from_value::<ExpirationStrategy>(v.clone())
                        .map_err(|_| FormatError::MissingField("attributes.expirationStrategy"))?,
                ),
            };
        let offline_grace = match policy.and_then(|r| {
            r.get("attributes")?
                .get("metadata")?
                .get("offlineGracePeriod")
        }) {
            None | Some(Value::Null) => None,
            Some(v) => Some(SignedDuration::from_secs(
                v.as_i64()
                    .filter(|s| *s >= 0)
                    .ok_or(FormatError::MissingField("metadata.offlineGracePeriod"))?,
            )),
        };
        let product_id = license
            .and_then(|l| linked_id(l, "product"))
            .or_else(|| machine.and_then(|m| linked_id(m, "product")));
        Ok(LicenseView {
            kind: file.kind,
            meta: file.meta,
            license_id: match file.kind {
                FileKind::License => str_at(data, &["id"]).map(str::to_owned),
                FileKind::Machine => linked_id(data, "license")
                    .or_else(|| license.and_then(|l| str_at(l, &["id"])))
                    .map(str::to_owned),
            },
            name: lic_attr("name").and_then(Value::as_str).map(str::to_owned),
            status: lic_attr("status")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| {
                    // Older documents only carry the `suspended` flag.
                    (lic_attr("suspended").and_then(Value::as_bool) == Some(true))
                        .then(|| "SUSPENDED".to_owned())
                }),
            expiry,
            expired: false,
            max_machines: lic_attr("maxMachines").and_then(Value::as_i64),
            product_id: product_id.map(str::to_owned),
            policy_id: policy_id.map(str::to_owned),
            entitlements,
            machine_fingerprints,
            machines_count,
            overage_strategy,
            machine_id: machine.and_then(|m| str_at(m, &["id"])).map(str::to_owned),
            fingerprint: machine
                .and_then(|m| str_at(m, &["attributes", "fingerprint"]))
                .map(str::to_owned),
            included: IncludedResource::from_document(&doc),
            strict: lic_attr("strict").and_then(Value::as_bool),
            expiration_strategy,
            offline_grace,
            in_grace: false,
        })
    }

    /// Whether the file reports more machines than `maxMachines` allows, with the
    /// overage Keygen's policy `overageStrategy` grants (1.25×, 1.5×, 2×, always).
    pub fn too_many_machines(&self) -> bool {
        let (Some(count), Some(max)) = (self.machines_count, self.max_machines) else {
            return false;
        };
        let (count, max) = (i128::from(count), i128::from(max));
        match self.overage_strategy.as_deref() {
            Some("ALWAYS_ALLOW_OVERAGE") => false,
            Some("ALLOW_1_25X_OVERAGE") => count * 4 > max * 5,
            Some("ALLOW_1_5X_OVERAGE") => count * 2 > max * 3,
            Some("ALLOW_2X_OVERAGE") => count > max * 2,
            _ => count > max,
        }
    }
}

/// The string at `path` inside `v`.
fn str_at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v str> {
    path.iter()
        .try_fold(v, |v, key| v.get(key))
        .and_then(Value::as_str)
}

/// `relationships.<name>.data.id` of a resource.
fn linked_id<'v>(resource: &'v Value, name: &str) -> Option<&'v str> {
    str_at(resource, &["relationships", name, "data", "id"])
}

/// One object of a payload's `included`, as read by a verifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncludedResource {
    /// JSON:API type: `products`, `policies`, `users`, `entitlements`, `machines`,
    /// `licenses`, ...
    pub kind: String,
    /// Its id.
    pub id: String,
    /// Its attributes, as written.
    pub attributes: serde_json::Map<String, Value>,
}

impl IncludedResource {
    /// Every object of the payload's `included` (empty when there is none). Objects
    /// without a string `type` and `id` are skipped; a payload that is not JSON is
    /// [`FormatError::Json`].
    pub fn all(payload: &[u8]) -> Result<Vec<Self>, FormatError> {
        let doc: Value =
            serde_json::from_slice(payload).map_err(|e| FormatError::Json(e.to_string()))?;
        Ok(Self::from_document(&doc))
    }

    /// [`IncludedResource::all`] over an already parsed document.
    pub(crate) fn from_document(doc: &Value) -> Vec<Self> {
        doc.get("included")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter_map(|r| {
                Some(IncludedResource {
                    kind: r.get("type")?.as_str()?.to_owned(),
                    id: r.get("id")?.as_str()?.to_owned(),
                    attributes: r
                        .get("attributes")
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default(),
                })
            })
            .collect()
    }

    /// A string attribute, e.g. `code` of an entitlement or `email` of a user.
    pub fn attribute_str(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).and_then(Value::as_str)
    }
}
