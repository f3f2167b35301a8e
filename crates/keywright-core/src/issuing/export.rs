//! Exporting a license file: Keygen's license document as the store has it now (status,
//! expiry, metadata, machines, the included objects asked for and the policy options
//! the SDK needs), signed and written with its audit row.

use std::path::Path;

use jiff::Timestamp;
use keywright_license::issue::{
    seal, EncryptionSecret, Included, LicenseDocument, SigningKey as PrivateKey,
};
use keywright_license::{parse_time, FileAlgorithm, FileKind, LicenseStatus as DocumentStatus};

use super::model::{ExportLicenseFile, License, LicenseStatus};
use super::sql;
use crate::audit::Event;
use crate::catalog::{IncludeSet, Policy, Product};
use crate::duration::parse_file_ttl;
use crate::error::{Error, Result};
use crate::files::ExportedFile;
use crate::{stamp, Keywright};

/// Keygen's license document for a license from its parts: the `data` of its license
/// files and the `included` license of its machine files.
pub(crate) fn build_document(
    store_id: &str,
    license: &License,
    policy: &Policy,
    product: &Product,
    metadata: serde_json::Map<String, serde_json::Value>,
    updated: &str,
) -> Result<LicenseDocument> {
    Ok(LicenseDocument {
        id: license.id.clone(),
        account_id: store_id.to_owned(),
        product_id: product.id.clone(),
        policy_id: policy.id.clone(),
        user_id: license.customer_id.clone(),
        name: license.customer_name.clone(),
        key: license.key.clone(),
        expiry: license.expiry.as_deref().map(parse_time).transpose()?,
        status: match license.status {
            LicenseStatus::Active => DocumentStatus::Active,
            LicenseStatus::Suspended => DocumentStatus::Suspended,
            LicenseStatus::Revoked => DocumentStatus::Banned,
        },
        // An unsigned key has no scheme (Keygen writes `null`).
        scheme: (!policy.unsigned_key).then(|| policy.scheme.to_format()),
        encrypted: false,
        strict: policy.strict,
        floating: policy.floating,
        protected: true,
        max_machines: policy.max_machines,
        metadata,
        created: parse_time(&license.created_at)?,
        updated: parse_time(updated)?,
        // What the store says now; find_license counts active machines.
        machines_count: license.machines_count.unwrap_or(0),
        entitlement_ids: Vec::new(),
    })
}

/// Seals a license file for `document` with Keygen's file algorithm `alg`.
pub(crate) fn seal_license_file(
    document: &LicenseDocument,
    included: Option<&Included>,
    issued: Timestamp,
    ttl: Option<i64>,
    alg: FileAlgorithm,
    private: &PrivateKey,
) -> Result<String> {
    let payload = document.to_payload_with(issued, ttl, included)?;
    let secret = alg
        .is_encrypted()
        .then(|| EncryptionSecret::for_license(&document.key));
    Ok(seal(
        FileKind::License,
        &payload,
        alg,
        private,
        secret.as_ref(),
        &mut rand_core::OsRng,
    )?)
}

impl Keywright {
    /// Keygen's license document for a license as the store has it now (status,
    /// expiry, metadata, active machines): the `data` of its license files and the
    /// `included` license of its machine files.
    pub(crate) fn license_document(
        &self,
        license: &License,
        policy: &Policy,
        product: &Product,
    ) -> Result<LicenseDocument> {
        let (metadata, updated) = sql::document_facts(self.store.conn(), &license.id)?;
        build_document(
            self.store.store_id(),
            license,
            policy,
            product,
            serde_json::from_str(&metadata).unwrap_or_default(),
            &updated,
        )
    }

    /// Signs a license file (Keygen's format) for a license and writes it atomically to
    /// `input.path`. The audit row and the file land together: if either fails, neither
    /// remains.
    pub fn export_license_file(
        &mut self,
        input: &ExportLicenseFile,
        now: Timestamp,
    ) -> Result<ExportedFile> {
        let license = self.find_license(&input.license_id)?;
        let policy = self.find_policy(&license.policy_id)?;
        let product = self.find_product(&policy.product_id)?;
        let ttl = match input.ttl.as_deref() {
            None => policy.file_ttl_seconds,
            Some(text) => parse_file_ttl(Some(text))?,
        };
        let encrypt = input.encrypt.unwrap_or(policy.encrypt);
        let include = IncludeSet::parse(&input.include)?;
        let path = Path::new(input.path.trim());
        if input.path.trim().is_empty() {
            return Err(Error::bad_input("choose where to save the license file"));
        }

        let (key, private) = self.signer(&product.signing_key_id, now)?;
        let issued = parse_time(&stamp(now))?;
        let mut document = self.license_document(&license, &policy, &product)?;
        let included = match include {
            Some(set) => Some(self.included_for(set, &license, &policy, &product)?),
            None => None,
        };
        let included = self.with_policy_options(included, &policy, &product)?;
        if let Some(included) = &included {
            // Included entitlements are linked from the license too, as Keygen does.
            document.entitlement_ids = included.entitlements.iter().map(|e| e.id.clone()).collect();
        }
        let alg = match input
            .algorithm
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            None => FileAlgorithm::default_for(Some(policy.scheme.to_format()), encrypt),
            Some(name) => {
                let alg: FileAlgorithm = name
                    .parse()
                    .map_err(|e| Error::bad_input(format!("file algorithm {name:?}: {e}")))?;
                if alg.key_algorithm() != key.algorithm.to_format() {
                    return Err(Error::bad_input(format!(
                        "file algorithm {} needs a different key: product {} is signed by a {} key",
                        alg.as_str(),
                        product.name,
                        key.algorithm.as_str()
                    )));
                }
                alg
            }
        };
        let text = seal_license_file(&document, included.as_ref(), issued, ttl, alg, &private)?;
        let event = Event {
            action: "license_file.sign",
            subject_type: Some("license"),
            subject_id: Some(&license.id),
            signing_key_kid: Some(&key.kid),
            detail: serde_json::json!({
                "algorithm": alg.as_str(), "ttl": ttl, "path": path.display().to_string(),
                "include": include.map(IncludeSet::names),
            }),
            ..Event::default()
        };
        self.write_audited_file(path, text.as_bytes(), &stamp(issued), event, alg.as_str())
    }
}
