//! Related objects in exported license files (Keygen's `include=`): the product, the
//! policy, the owner (customer) and the license's entitlements (its own, else the policy's), as the store has them.

use keywright_license::issue::{Included, IncludedEntitlement, IncludedProduct, IncludedUser};
use keywright_license::parse_time;
use sha2::{Digest, Sha256};

use super::model::{Policy, Product};
use crate::error::{Error, Result};
use crate::issuing::License;
use crate::Keywright;

/// The related objects a license file can include, in the order they are written.
pub const INCLUDE_CHOICES: [&str; 4] = ["product", "policy", "owner", "entitlements"];

/// What to include, parsed from Keygen-style names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct IncludeSet {
    pub product: bool,
    pub policy: bool,
    pub owner: bool,
    pub entitlements: bool,
}

impl IncludeSet {
    /// Reads names like `entitlements`, `product`, `policy`, `owner` (also `user`,
    /// `users`); each item may itself be a comma-separated list. `group` and anything
    /// else is refused with the names Keywright has.
    pub(crate) fn parse(names: &[String]) -> Result<Option<Self>> {
        let mut set = IncludeSet::default();
        let mut any = false;
        for name in names.iter().flat_map(|n| n.split(',')) {
            let name = name.trim().to_ascii_lowercase();
            if name.is_empty() {
                continue;
            }
            any = true;
            match name.as_str() {
                "product" => set.product = true,
                "policy" => set.policy = true,
                "owner" | "user" | "users" => set.owner = true,
                "entitlements" | "entitlement" => set.entitlements = true,
                "group" => {
                    return Err(Error::bad_input(
                        "Keywright has no license groups to include; include one of product, policy, owner, entitlements",
                    ))
                }
                other => {
                    return Err(Error::bad_input(format!(
                        "cannot include {other:?} in a license file; include one of {}",
                        INCLUDE_CHOICES.join(", ")
                    )))
                }
            }
        }
        Ok(any.then_some(set))
    }

    /// The names, for the audit log.
    pub(crate) fn names(self) -> Vec<&'static str> {
        let flags = [self.product, self.policy, self.owner, self.entitlements];
        INCLUDE_CHOICES
            .into_iter()
            .zip(flags)
            .filter_map(|(n, on)| on.then_some(n))
            .collect()
    }
}

/// A stable UUID-shaped id for an entitlement code of this store (Keywright keeps
/// entitlements as codes; Keygen's documents link them by id): SHA-256 of the store
/// id and the code, as a version-8 UUID.
pub(crate) fn entitlement_id(store_id: &str, code: &str) -> String {
    let digest = Sha256::digest(format!("keywright-entitlement\0{store_id}\0{code}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x80; // version 8 (custom)
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
    uuid::Uuid::from_bytes(bytes).to_string()
}

impl Keywright {
    /// The related objects of `set` for a license, as the store has them now.
    pub(crate) fn included_for(
        &self,
        set: IncludeSet,
        license: &License,
        policy: &Policy,
        product: &Product,
    ) -> Result<Included> {
        let mut included = Included::default();
        if set.product {
            let created = parse_time(&product.created_at)?;
            included.product = Some(IncludedProduct {
                id: product.id.clone(),
                name: product.name.clone(),
                code: Some(product.code.clone()),
                url: product.url.clone(),
                created,
                updated: created,
            });
        }
        if set.policy {
            included.policy = Some(super::policy_options::included_policy(policy, product)?);
        }
        if set.owner {
            if let Some(customer_id) = &license.customer_id {
                let created = self.customer_created_at(customer_id)?;
                let created = parse_time(&created)?;
                included.owner = Some(IncludedUser {
                    id: customer_id.clone(),
                    full_name: license.customer_name.clone(),
                    email: license.customer_email.clone(),
                    created,
                    updated: created,
                });
            }
        }
        if set.entitlements {
            let created = parse_time(&policy.created_at)?;
            included.entitlements = self
                .effective_entitlements(license, policy)?
                .iter()
                .map(|code| IncludedEntitlement {
                    id: entitlement_id(self.store.store_id(), code),
                    name: code.clone(),
                    code: code.clone(),
                    created,
                    updated: created,
                })
                .collect();
        }
        Ok(included)
    }
}
