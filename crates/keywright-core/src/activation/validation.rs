//! Validating a license online with a scope, as Keygen's license API does
//! (`licenses/actions/validate-key`, `licenses/{id}/actions/validate`): the checks and
//! their order are Keygen's, the facts are the store's, read through the same rules as
//! every other path (status, expiry and the policy's expiration strategy, the seats of
//! `machines.rs`, a license's effective entitlements).
//!
//! Order: not found, revoked (Keygen's `BANNED`), suspended, expired under
//! `REVOKE_ACCESS`; then the scope (product, policy, user, entitlements, machine,
//! fingerprints, each with its heartbeat: `HEARTBEAT_NOT_STARTED` when the policy
//! requires heartbeats and the machine has not pinged, `HEARTBEAT_DEAD`); then, for a strict policy, the machine count; then expiry under the
//! other strategies (`MAINTAIN_ACCESS` and `ALLOW_ACCESS` stay valid, code `EXPIRED`).

use jiff::Timestamp;
use keywright_license::issue::LicenseDocument;

use super::machines::is_expired;
use super::model::{HeartbeatStatus, MachineStatus};
use super::sql;
use crate::catalog::{ExpirationStrategy, Policy, Product};
use crate::error::{ErrorCode, Result};
use crate::issuing::{License, LicenseStatus};
use crate::Keywright;

/// Keygen's validation codes a Keywright store can give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeygenCode {
    /// The license is valid.
    Valid,
    /// No license with this key (or id).
    NotFound,
    /// Revoked (Keygen's `BANNED`; Keygen deletes what it revokes).
    Banned,
    /// Suspended.
    Suspended,
    /// Past its expiry (valid or not according to the expiration strategy).
    Expired,
    /// `scope.product` names another product.
    ProductScopeMismatch,
    /// `scope.policy` names another policy.
    PolicyScopeMismatch,
    /// `scope.user` is not the license's customer.
    UserScopeMismatch,
    /// `scope.entitlements` is empty.
    EntitlementsScopeEmpty,
    /// The license lacks one of `scope.entitlements`.
    EntitlementsMissing,
    /// A node-locked license has no machine.
    NoMachine,
    /// A floating license has no machine.
    NoMachines,
    /// `scope.machine` is not an active machine of the license.
    MachineScopeMismatch,
    /// `scope.fingerprint(s)` is empty.
    FingerprintScopeEmpty,
    /// No fingerprint of the scope is active on the license.
    FingerprintScopeMismatch,
    /// `scope.environment` names an environment (Keywright licenses have none).
    EnvironmentScopeMismatch,
    /// `scope.components` without a single `scope.fingerprint`.
    ComponentsScopeRequired,
    /// `scope.components` is empty.
    ComponentsScopeEmpty,
    /// No component of the scope is activated (Keywright machines have none).
    ComponentsScopeMismatch,
    /// `scope.checksum` matches no release artifact (Keywright distributes none).
    ChecksumScopeMismatch,
    /// `scope.version` matches no release (Keywright distributes none).
    VersionScopeMismatch,
    /// More machines than the policy allows (strict policies).
    TooManyMachines,
    /// The policy requires heartbeats and the scoped machine has not pinged yet.
    HeartbeatNotStarted,
    /// The scoped machine (or every scoped fingerprint's) is dead.
    HeartbeatDead,
}

impl KeygenCode {
    /// Keygen's name, e.g. `FINGERPRINT_SCOPE_MISMATCH`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "VALID",
            Self::NotFound => "NOT_FOUND",
            Self::Banned => "BANNED",
            Self::Suspended => "SUSPENDED",
            Self::Expired => "EXPIRED",
            Self::ProductScopeMismatch => "PRODUCT_SCOPE_MISMATCH",
            Self::PolicyScopeMismatch => "POLICY_SCOPE_MISMATCH",
            Self::UserScopeMismatch => "USER_SCOPE_MISMATCH",
            Self::EntitlementsScopeEmpty => "ENTITLEMENTS_SCOPE_EMPTY",
            Self::EntitlementsMissing => "ENTITLEMENTS_MISSING",
            Self::NoMachine => "NO_MACHINE",
            Self::NoMachines => "NO_MACHINES",
            Self::MachineScopeMismatch => "MACHINE_SCOPE_MISMATCH",
            Self::FingerprintScopeEmpty => "FINGERPRINT_SCOPE_EMPTY",
            Self::FingerprintScopeMismatch => "FINGERPRINT_SCOPE_MISMATCH",
            Self::EnvironmentScopeMismatch => "ENVIRONMENT_SCOPE_MISMATCH",
            Self::ComponentsScopeRequired => "FINGERPRINT_SCOPE_REQUIRED",
            Self::ComponentsScopeEmpty => "COMPONENTS_SCOPE_EMPTY",
            Self::ComponentsScopeMismatch => "COMPONENTS_SCOPE_MISMATCH",
            Self::ChecksumScopeMismatch => "CHECKSUM_SCOPE_MISMATCH",
            Self::VersionScopeMismatch => "VERSION_SCOPE_MISMATCH",
            Self::TooManyMachines => "TOO_MANY_MACHINES",
            Self::HeartbeatNotStarted => "HEARTBEAT_NOT_STARTED",
            Self::HeartbeatDead => "HEARTBEAT_DEAD",
        }
    }
}

/// What the application asks the license to match (Keygen's `meta.scope`). Every
/// field left `None` is not checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationScope {
    /// The product, by id or code.
    pub product: Option<String>,
    /// The policy, by id or name.
    pub policy: Option<String>,
    /// The customer, by id or email.
    pub user: Option<String>,
    /// An active machine of the license, by id.
    pub machine: Option<String>,
    /// `fingerprint` or `fingerprints`: at least one must be active on the license
    /// (Keygen's default `MATCH_ANY`). `Some(empty)` is `FINGERPRINT_SCOPE_EMPTY`.
    pub fingerprints: Option<Vec<String>>,
    /// Entitlement codes the license must all have. `Some(empty)` is
    /// `ENTITLEMENTS_SCOPE_EMPTY`.
    pub entitlements: Option<Vec<String>>,
    /// An environment: Keywright licenses belong to none, so any one mismatches.
    pub environment: Option<String>,
    /// Component fingerprints: Keywright machines have no components, so these never
    /// match (after the checks Keygen makes first).
    pub components: Option<Vec<String>>,
    /// A release artifact's checksum: Keywright distributes no releases.
    pub checksum: Option<String>,
    /// A release version: Keywright distributes no releases.
    pub version: Option<String>,
}

/// The answer to a scoped validation.
#[derive(Debug, Clone)]
pub struct ScopedValidation {
    /// Whether the application may run (also true for an expired license whose policy
    /// keeps access).
    pub valid: bool,
    /// Keygen's code.
    pub code: KeygenCode,
    /// Keygen's wording of the result (`is valid`, `is suspended`, ...).
    pub detail: &'static str,
    /// The license, when the key (or id) is known.
    pub license: Option<License>,
    /// The product whose key signs the answer: the license's; for an unknown key, the
    /// one `scope.product` names, if any.
    pub product: Option<Product>,
    /// The active machines of the license the scope matched.
    pub machine_ids: Vec<String>,
    /// Keygen's document of the license as the store has it now (what its license
    /// files carry), for the answer's `data`.
    pub document: Option<LicenseDocument>,
}

/// What a validation concluded, before it is dressed with the license.
struct Verdict {
    valid: bool,
    code: KeygenCode,
    detail: &'static str,
}

const fn fail(code: KeygenCode, detail: &'static str) -> Verdict {
    Verdict {
        valid: false,
        code,
        detail,
    }
}

impl Keywright {
    /// The license with exactly this key, if any.
    pub fn license_by_key(&self, key: &str) -> Result<Option<License>> {
        match self.license_for_key(key) {
            Ok(license) => Ok(Some(license)),
            Err(e) if e.code == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Validates `license` (`None`: the key or id named none) against `scope` at `now`,
    /// as Keygen's license API does (see the module docs). Reads only.
    pub fn validate_scoped(
        &self,
        license: Option<License>,
        scope: &ValidationScope,
        now: Timestamp,
    ) -> Result<ScopedValidation> {
        let Some(license) = license else {
            let product = match scope.product.as_deref() {
                Some(p) => self.find_product(p).ok(),
                None => None,
            };
            return Ok(ScopedValidation {
                valid: false,
                code: KeygenCode::NotFound,
                detail: "does not exist",
                license: None,
                product,
                machine_ids: Vec::new(),
                document: None,
            });
        };
        let policy = self.find_policy(&license.policy_id)?;
        let product = self.find_product(&policy.product_id)?;
        let mut machine_ids = Vec::new();
        let verdict = self.judge(&license, &policy, &product, scope, &mut machine_ids, now)?;
        let document = self.license_document(&license, &policy, &product)?;
        Ok(ScopedValidation {
            document: Some(document),
            valid: verdict.valid,
            code: verdict.code,
            detail: verdict.detail,
            license: Some(license),
            product: Some(product),
            machine_ids,
        })
    }

    fn judge(
        &self,
        license: &License,
        policy: &Policy,
        product: &Product,
        scope: &ValidationScope,
        matched: &mut Vec<String>,
        now: Timestamp,
    ) -> Result<Verdict> {
        use KeygenCode as C;
        match license.status {
            LicenseStatus::Revoked => return Ok(fail(C::Banned, "is revoked")),
            LicenseStatus::Suspended => return Ok(fail(C::Suspended, "is suspended")),
            LicenseStatus::Active => {}
        }
        let expired = is_expired(license, now)?;
        let strategy = policy.expiration_strategy;
        if expired && strategy == ExpirationStrategy::RevokeAccess {
            return Ok(fail(C::Expired, "is expired"));
        }
        if scope.environment.is_some() {
            return Ok(fail(
                C::EnvironmentScopeMismatch,
                "environment scope does not match",
            ));
        }
        if let Some(wanted) = scope.product.as_deref() {
            if wanted != product.id && wanted != product.code {
                return Ok(fail(
                    C::ProductScopeMismatch,
                    "product scope does not match",
                ));
            }
        }
        if let Some(wanted) = scope.policy.as_deref() {
            if wanted != policy.id && wanted != policy.name {
                return Ok(fail(C::PolicyScopeMismatch, "policy scope does not match"));
            }
        }
        if let Some(wanted) = scope.user.as_deref() {
            let email = license.customer_email.as_deref();
            let matches = license.customer_id.as_deref() == Some(wanted)
                || email.is_some_and(|e| e.eq_ignore_ascii_case(wanted));
            if !matches {
                return Ok(fail(C::UserScopeMismatch, "user scope does not match"));
            }
        }
        if let Some(wanted) = &scope.entitlements {
            if wanted.is_empty() {
                return Ok(fail(
                    C::EntitlementsScopeEmpty,
                    "entitlements scope is empty",
                ));
            }
            let has = self.effective_entitlements(license, policy)?;
            if wanted.iter().any(|code| !has.contains(code)) {
                return Ok(fail(
                    C::EntitlementsMissing,
                    "is missing one or more required entitlements",
                ));
            }
        }
        let db = self.store.db();
        // find_license counts the active machines; count again only for a license read
        // some other way.
        let count = match license.machines_count {
            Some(count) => count,
            None => sql::seats_used(db, &license.id)?,
        };
        let no_machine = |what: &'static str, floating: &'static str| {
            if policy.floating {
                fail(C::NoMachines, floating)
            } else {
                fail(C::NoMachine, what)
            }
        };
        if let Some(machine) = scope.machine.as_deref() {
            if count == 0 {
                return Ok(no_machine(
                    "machine is not activated (has no associated machine)",
                    "machine is not activated (has no associated machines)",
                ));
            }
            match sql::find(db, machine)? {
                Some(m) if m.license_id == license.id && m.status == MachineStatus::Active => {
                    // Keygen's order: not started (when required), then dead.
                    match HeartbeatStatus::of_machine(policy, &m, now)? {
                        HeartbeatStatus::NotStarted if policy.require_heartbeat => {
                            return Ok(fail(
                                C::HeartbeatNotStarted,
                                "machine heartbeat is required",
                            ))
                        }
                        HeartbeatStatus::Dead => {
                            return Ok(fail(C::HeartbeatDead, "machine heartbeat is dead"))
                        }
                        _ => matched.push(m.id),
                    }
                }
                _ => {
                    return Ok(fail(
                        C::MachineScopeMismatch,
                        "machine is not activated (does not match any associated machines)",
                    ))
                }
            }
        }
        if let Some(fingerprints) = &scope.fingerprints {
            if fingerprints.is_empty() {
                return Ok(fail(C::FingerprintScopeEmpty, "fingerprint scope is empty"));
            }
            if count == 0 {
                return Ok(no_machine(
                    "fingerprint is not activated (has no associated machine)",
                    "fingerprint is not activated (has no associated machines)",
                ));
            }
            let before = matched.len();
            let mut unique: Vec<&String> = Vec::new();
            let (mut dead, mut not_started) = (0, false);
            for fingerprint in fingerprints {
                if unique.contains(&fingerprint) {
                    continue;
                }
                unique.push(fingerprint);
                if let Some(m) = sql::active_with_fingerprint(db, &license.id, fingerprint)? {
                    match HeartbeatStatus::of_machine(policy, &m, now)? {
                        HeartbeatStatus::Dead => dead += 1,
                        status => {
                            not_started |= status == HeartbeatStatus::NotStarted;
                            if !matched.contains(&m.id) {
                                matched.push(m.id);
                            }
                        }
                    }
                }
            }
            // Keygen: every fingerprint dead is HEARTBEAT_DEAD; the dead ones match
            // nothing otherwise.
            if dead == unique.len() {
                return Ok(fail(C::HeartbeatDead, "machine heartbeat is dead"));
            }
            if matched.len() == before {
                return Ok(fail(
                    C::FingerprintScopeMismatch,
                    if fingerprints.len() > 1 {
                        "one or more fingerprint is not activated (does not match any associated machines)"
                    } else {
                        "fingerprint is not activated (does not match any associated machines)"
                    },
                ));
            }
            if policy.require_heartbeat && not_started {
                return Ok(fail(
                    C::HeartbeatNotStarted,
                    "machine heartbeat is required",
                ));
            }
        }
        if let Some(components) = &scope.components {
            if scope.fingerprints.as_ref().is_none_or(|f| f.len() != 1) {
                return Ok(fail(
                    C::ComponentsScopeRequired,
                    "fingerprint scope is required when using the components scope",
                ));
            }
            if components.is_empty() {
                return Ok(fail(C::ComponentsScopeEmpty, "components scope is empty"));
            }
            return Ok(fail(
                C::ComponentsScopeMismatch,
                "one or more component is not activated (does not match any associated components)",
            ));
        }
        if scope.checksum.is_some() {
            return Ok(fail(
                C::ChecksumScopeMismatch,
                "checksum scope is not valid (does not match any accessible artifacts)",
            ));
        }
        if scope.version.is_some() {
            return Ok(fail(
                C::VersionScopeMismatch,
                "version scope is not valid (does not match any accessible releases)",
            ));
        }
        let keeps_access = strategy.to_format().keeps_access();
        if policy.strict {
            let too_many = || fail(C::TooManyMachines, "has too many associated machines");
            if policy.floating {
                if count == 0 {
                    return Ok(fail(
                        C::NoMachines,
                        "must have at least 1 associated machine",
                    ));
                }
                if policy.max_machines.is_some_and(|max| count > max) {
                    return Ok(too_many());
                }
            } else {
                if count == 0 {
                    return Ok(fail(C::NoMachine, "must have exactly 1 associated machine"));
                }
                if count > 1 {
                    return Ok(too_many());
                }
            }
        }
        if expired {
            return Ok(Verdict {
                valid: keeps_access,
                code: C::Expired,
                detail: "is expired",
            });
        }
        Ok(Verdict {
            valid: true,
            code: C::Valid,
            detail: "is valid",
        })
    }
}
