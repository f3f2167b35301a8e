//! Policy options that travel in license files (expiration strategy, strict, offline
//! grace) and a license's own entitlements.
//!
//! Files carry what the SDK needs to apply the vendor's rules offline: the license's
//! `strict` attribute always, and the policy object in `included` (Keygen's
//! `expirationStrategy`, and the grace period as the Keywright extension
//! `metadata.offlineGracePeriod`) whenever the policy departs from Keygen's defaults,
//! even when the export did not ask to include the policy.

use jiff::Timestamp;
use keywright_license::{parse_time, Included, IncludedPolicy};
use rusqlite::{params, TransactionBehavior};

use crate::audit::{self, Event};
use crate::error::{Error, Result};
use crate::model::{
    ExpirationStrategy, License, LicenseEntitlements, Policy, Product, SetLicenseEntitlements,
};
use crate::products::check_entitlement;
use crate::{stamp, Keywright};

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

    /// A license's own entitlement list (`None` = it inherits its policy's).
    pub(crate) fn own_entitlements(&self, license_id: &str) -> Result<Option<Vec<String>>> {
        let own: Option<String> = self.store.conn().query_row(
            "SELECT entitlements FROM licenses WHERE id = ?1",
            [license_id],
            |r| r.get(0),
        )?;
        Ok(own.map(|text| serde_json::from_str(&text).unwrap_or_default()))
    }

    /// What a license is entitled to: its own list, else its policy's.
    pub(crate) fn effective_entitlements(
        &self,
        license: &License,
        policy: &Policy,
    ) -> Result<Vec<String>> {
        Ok(self
            .own_entitlements(&license.id)?
            .unwrap_or_else(|| policy.entitlements.clone()))
    }

    /// A license's entitlements (id or key): its own, its policy's, and the effective ones.
    pub fn license_entitlements(&self, license_id: &str) -> Result<LicenseEntitlements> {
        let license = self.find_license(license_id)?;
        let policy = self.find_policy(&license.policy_id)?;
        let own = self.own_entitlements(&license.id)?;
        Ok(LicenseEntitlements {
            license_id: license.id,
            effective: own.clone().unwrap_or_else(|| policy.entitlements.clone()),
            own,
            policy: policy.entitlements,
        })
    }

    /// Gives a license its own entitlement codes (`codes: None` = inherit the
    /// policy's again). License files exported afterwards carry them. The change and
    /// its audit row (`license.entitlements`, with before and after) are one IMMEDIATE
    /// transaction.
    pub fn set_license_entitlements(
        &mut self,
        input: &SetLicenseEntitlements,
        now: Timestamp,
    ) -> Result<LicenseEntitlements> {
        let license = self.find_license(&input.license_id)?;
        let codes = match &input.codes {
            None => None,
            Some(codes) => {
                let mut out: Vec<String> = Vec::new();
                for code in codes.iter().flat_map(|c| c.split(',')) {
                    if code.trim().is_empty() {
                        continue;
                    }
                    let code = check_entitlement(code)?;
                    if !out.contains(&code) {
                        out.push(code);
                    }
                }
                if out.len() > 256 {
                    return Err(Error::bad_input(format!(
                        "a license can have at most 256 entitlements; got {}",
                        out.len()
                    )));
                }
                Some(out)
            }
        };
        let json = codes
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| Error::bad_input(e.to_string()))?;
        let at = stamp(now);
        let actor = self.actor.clone();
        let audit_key = self.audit_key()?;
        let tx = self.store.immediate_transaction()?;
        let before: Option<String> = tx.query_row(
            "SELECT entitlements FROM licenses WHERE id = ?1",
            [&license.id],
            |r| r.get(0),
        )?;
        tx.execute(
            "UPDATE licenses SET entitlements = ?2, updated_at = ?3 WHERE id = ?1",
            params![license.id, json, at],
        )?;
        audit::append(
            &tx,
            &audit_key,
            &at,
            &actor,
            &Event {
                action: "license.entitlements",
                subject_type: Some("license"),
                subject_id: Some(&license.id),
                detail: serde_json::json!({
                    "before": before
                        .map(|b| serde_json::from_str::<serde_json::Value>(&b).unwrap_or_default()),
                    "after": codes,
                }),
                ..Event::default()
            },
        )?;
        tx.commit()?;
        self.committed();
        self.license_entitlements(&license.id)
    }
}
