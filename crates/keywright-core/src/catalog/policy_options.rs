//! Policy options that travel in license files (expiration strategy, strict, offline
//! grace). A license's own entitlements are the issuing domain's (`issuing/entitlements.rs`).
//!
//! Files carry what the SDK needs to apply the vendor's rules offline: the license's
//! `strict` attribute always, and the policy object in `included` (Keygen's
//! `expirationStrategy`, and the grace period as the Keywright extension
//! `metadata.offlineGracePeriod`) whenever the policy departs from Keygen's defaults,
//! even when the export did not ask to include the policy.

use keywright_license::issue::{Included, IncludedPolicy};
use keywright_license::parse_time;

use super::model::{ExpirationStrategy, Policy, Product};
use crate::error::Result;
use crate::Keywright;

/// The policy as a license file includes it.
pub(crate) fn included_policy(policy: &Policy, product: &Product) -> Result<IncludedPolicy> {
    let created = parse_time(&policy.created_at)?;
    Ok(IncludedPolicy {
        id: policy.id.clone(),
        product_id: product.id.clone(),
        name: policy.name.clone(),
        duration: policy.duration_seconds,
        floating: policy.floating,
        max_machines: policy.max_machines,
        scheme: (!policy.unsigned_key).then(|| policy.scheme.to_format()),
        strict: policy.strict,
        expiration_strategy: policy.expiration_strategy.to_format(),
        offline_grace: policy.offline_grace_seconds,
        require_heartbeat: policy.require_heartbeat,
        heartbeat_duration: policy.heartbeat_duration_seconds,
        heartbeat_cull_strategy: policy.heartbeat_cull_strategy.as_str(),
        heartbeat_resurrection_strategy: policy.heartbeat_resurrection_strategy.as_str(),
        heartbeat_basis: policy.heartbeat_basis.as_str(),
        created,
        updated: created,
    })
}

/// Whether a file must include the policy for the SDK to apply its options.
fn needs_policy(policy: &Policy) -> bool {
    policy.expiration_strategy != ExpirationStrategy::RestrictAccess
        || policy.offline_grace_seconds.is_some()
}

impl Keywright {
    /// `included` with the policy added when its options must reach the customer's
    /// application (see the module docs); unchanged otherwise.
    pub(crate) fn with_policy_options(
        &self,
        included: Option<Included>,
        policy: &Policy,
        product: &Product,
    ) -> Result<Option<Included>> {
        if !needs_policy(policy) || included.as_ref().is_some_and(|i| i.policy.is_some()) {
            return Ok(included);
        }
        let mut included = included.unwrap_or_default();
        included.policy = Some(included_policy(policy, product)?);
        Ok(Some(included))
    }
}
