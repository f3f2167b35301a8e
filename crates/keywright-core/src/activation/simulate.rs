//! The validation simulator: what the customer's application would answer on a date,
//! with a file as the store would export it now, sealed in memory with a throwaway key
//! and judged by the SDK's own `Verifier::validate`.

use jiff::Timestamp;
use keywright_license::issue::{seal, EncryptionSecret, SigningKey as FormatSigningKey};
use keywright_license::{parse_time, FileAlgorithm, FileKind, Verifier};

use super::model::{MachineStatus, SimulateValidation, SimulatedValidation};
use crate::catalog::IncludeSet;
use crate::error::{Error, Result};
use crate::{clean, stamp, Keywright};

/// A date as typed: RFC 3339, or a day meaning its start (UTC).
fn parse_at(text: &str) -> Result<Timestamp> {
    let t = text.trim();
    t.parse::<Timestamp>()
        .ok()
        .or_else(|| {
            t.parse::<jiff::civil::Date>()
                .ok()
                .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
                .map(|z| z.timestamp())
        })
        .ok_or_else(|| {
            Error::bad_input(format!(
                "{t:?} is not a date; use 2027-01-01 or 2027-01-01T09:00:00Z"
            ))
        })
}

impl Keywright {
    /// What the customer's application would get validating this license (or one of
    /// its machines) on `input.at`, with a file exported from the store as it is now
    /// on `input.file_issued_at` (absent: on `input.at`) with the policy's TTL, so a
    /// date past issue + TTL (and any offline grace) gives `FILE_EXPIRED`.
    ///
    /// The product's private key is not used: the file is sealed in memory with a
    /// throwaway key and checked by the SDK's own `Verifier::validate`, pinned to that
    /// throwaway key, so the codes and messages are exactly the SDK's.
    pub fn simulate_validation(&self, input: &SimulateValidation) -> Result<SimulatedValidation> {
        let at = parse_time(&stamp(parse_at(&input.at)?))?;
        let issued = match clean(input.file_issued_at.as_deref()) {
            None => at,
            Some(text) => parse_time(&stamp(parse_at(&text)?))?,
        };
        let license = self.find_license(&input.license_id)?;
        let policy = self.find_policy(&license.policy_id)?;
        let product = self.find_product(&policy.product_id)?;
        let throwaway = FormatSigningKey::generate(&mut rand_core::OsRng);
        let public = throwaway.public_key();
        let alg = FileAlgorithm::Aes256GcmEd25519;
        let required: Vec<&str> = input
            .required_entitlements
            .iter()
            .flat_map(|c| c.split(','))
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        let verifier = Verifier::pinned(&public, alg, at)
            .license_key(&license.key)
            .product(&product.id)
            .entitlements(required.iter().copied());
        let ttl = policy.file_ttl_seconds;
        let machine_id = clean(input.machine_id.as_deref());
        let validation = match machine_id {
            None => {
                let mut document = self.license_document(&license, &policy, &product)?;
                let included = self.with_policy_options(None, &policy, &product)?;
                // Entitlements travel as they would in an export that includes them.
                let entitlements = self.included_for(
                    IncludeSet {
                        entitlements: true,
                        ..Default::default()
                    },
                    &license,
                    &policy,
                    &product,
                )?;
                let mut included = included.unwrap_or_default();
                included.entitlements = entitlements.entitlements;
                document.entitlement_ids =
                    included.entitlements.iter().map(|e| e.id.clone()).collect();
                let included = Some(included);
                let payload = document.to_payload_with(issued, ttl, included.as_ref())?;
                let secret = EncryptionSecret::for_license(&license.key);
                let text = seal(
                    FileKind::License,
                    &payload,
                    alg,
                    &throwaway,
                    Some(&secret),
                    &mut rand_core::OsRng,
                )?;
                match clean(input.fingerprint.as_deref()) {
                    Some(fingerprint) => verifier.fingerprint(&fingerprint).validate(&text),
                    None => verifier.validate(&text),
                }
            }
            Some(id) => {
                let machine = self.find_machine(&id)?;
                if machine.license_id != license.id {
                    return Err(Error::bad_input(format!(
                        "machine {} belongs to another license",
                        machine.fingerprint
                    )));
                }
                if machine.status != MachineStatus::Active {
                    return Err(Error::conflict(format!(
                        "machine {} is deactivated: no machine file is exported for it (files \
                         sent before keep validating until their TTL ends)",
                        machine.fingerprint
                    )));
                }
                let text = self.seal_machine_file(
                    &machine, &license, &policy, &product, issued, ttl, alg, None, &throwaway,
                )?;
                let runs_on =
                    clean(input.fingerprint.as_deref()).unwrap_or(machine.fingerprint.clone());
                verifier
                    .kind(FileKind::Machine)
                    .fingerprint(&runs_on)
                    .validate(&text)
            }
        };
        Ok(SimulatedValidation {
            code: validation.code.as_str().to_owned(),
            support_message: (!validation.is_valid())
                .then(|| product.support_message.clone())
                .flatten(),
            message: validation.message,
        })
    }
}
