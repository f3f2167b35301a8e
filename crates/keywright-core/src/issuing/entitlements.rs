//! A license's own entitlements: a list that replaces its policy's (`None` = it
//! inherits them). Exported files and the simulator use the effective list.

use jiff::Timestamp;

use super::model::{License, LicenseEntitlements, SetLicenseEntitlements};
use super::sql;
use crate::audit::{self, Event};
use keywright_license::issue::Included;

use crate::catalog::{check_entitlement, IncludeSet, Policy};
use crate::error::{Error, Result};
use crate::{stamp, Keywright};

impl Keywright {
    /// A license's own entitlement list (`None` = it inherits its policy's).
    pub(crate) fn own_entitlements(&self, license_id: &str) -> Result<Option<Vec<String>>> {
        let own = sql::entitlements(self.store.db(), license_id)?;
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

    /// A license's effective entitlements (id or key) as Keygen's entitlement objects,
    /// with the ids its files link them by (`Included::to_resources` renders them).
    pub fn license_entitlement_objects(&self, license_id: &str) -> Result<Included> {
        let license = self.find_license(license_id)?;
        let policy = self.find_policy(&license.policy_id)?;
        let product = self.find_product(&policy.product_id)?;
        let only = IncludeSet {
            entitlements: true,
            ..IncludeSet::default()
        };
        self.included_for(only, &license, &policy, &product)
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
        let before = sql::entitlements(tx.db(), &license.id)?;
        sql::set_entitlements(tx.db(), &license.id, json.as_deref(), &at)?;
        audit::append(
            tx.db(),
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
