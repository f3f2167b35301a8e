//! Exporting a license file: Keygen's license document as the store has it now (status,
//! expiry, metadata, machines, the included objects asked for and the policy options
//! the SDK needs), signed and written with its audit row.

use std::path::Path;

use jiff::Timestamp;
use keywright_license::issue::{
    seal, EncryptionSecret, Included, LicenseDocument, SigningKey as PrivateKey,
};
use keywright_license::{parse_time, FileAlgorithm, FileKind, LicenseStatus as DocumentStatus};

use super::model::{CheckOutFile, CheckedOutFile, ExportLicenseFile, License, LicenseStatus};
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
        let (metadata, updated) = sql::document_facts(self.store.db(), &license.id)?;
        build_document(
            self.store.store_id(),
            license,
            policy,
            product,
            serde_json::from_str(&metadata).unwrap_or_default(),
            &updated,
        )
    }

    /// Keygen's license document for `license` as the store has it now, for answers of
    /// the activation server (`LicenseDocument::to_resource`): the same document its
    /// license files carry.
    pub fn keygen_license_document(&self, license: &License) -> Result<LicenseDocument> {
        let policy = self.find_policy(&license.policy_id)?;
        let product = self.find_product(&policy.product_id)?;
        self.license_document(license, &policy, &product)
    }

    /// Signs a license file (Keygen's format) for a license and writes it atomically to
    /// `input.path`. The audit row and the file land together: if either fails, neither
    /// remains.
    pub fn export_license_file(
        &mut self,
        input: &ExportLicenseFile,
        now: Timestamp,
    ) -> Result<ExportedFile> {
        if input.path.trim().is_empty() {
            let _ = self.find_license(&input.license_id)?;
            return Err(Error::bad_input("choose where to save the license file"));
        }
        let path = Path::new(input.path.trim());
        let sealed = self.seal_license(
            &input.license_id,
            &FileOptions {
                ttl: input.ttl.as_deref(),
                encrypt: input.encrypt,
                algorithm: input.algorithm.as_deref(),
                include: &input.include,
            },
            now,
        )?;
        let event = Event {
            action: "license_file.sign",
            subject_type: Some("license"),
            subject_id: Some(&sealed.license_id),
            signing_key_kid: Some(&sealed.kid),
            detail: serde_json::json!({
                "algorithm": sealed.alg.as_str(), "ttl": sealed.ttl,
                "path": path.display().to_string(),
                "include": sealed.include.map(IncludeSet::names),
            }),
            ..Event::default()
        };
        let alg = sealed.alg.as_str();
        self.write_audited_file(
            path,
            sealed.text.as_bytes(),
            &stamp(sealed.issued),
            event,
            alg,
        )
    }

    /// Checks out a license file over the activation server (Keygen's
    /// `POST /licenses/{id}/actions/check-out`): the file [`Keywright::export_license_file`]
    /// writes, signed by the same key through the same checks, and audited the same way
    /// (`license_file.sign`, with the file's SHA-256, `via: "server"` and the client's
    /// address instead of a path); the row is committed before the file is returned.
    pub fn check_out_license_file(
        &mut self,
        input: &CheckOutFile,
        now: Timestamp,
    ) -> Result<CheckedOutFile> {
        let sealed = self.seal_license(&input.id, &FileOptions::of(input), now)?;
        let event = Event {
            action: "license_file.sign",
            subject_type: Some("license"),
            subject_id: Some(&sealed.license_id),
            signing_key_kid: Some(&sealed.kid),
            detail: serde_json::json!({
                "algorithm": sealed.alg.as_str(), "ttl": sealed.ttl, "via": "server",
                "ip": input.ip, "include": sealed.include.map(IncludeSet::names),
            }),
            ..Event::default()
        };
        let at = stamp(sealed.issued);
        let sha256 = self.record_artifact(sealed.text.as_bytes(), &at, event)?;
        checked_out(sealed, None, sha256)
    }

    /// Signs a license file as the store has the license now (the one path of
    /// exports and check-outs).
    pub(crate) fn seal_license(
        &self,
        license_id: &str,
        options: &FileOptions<'_>,
        now: Timestamp,
    ) -> Result<SealedFile> {
        let license = self.find_license(license_id)?;
        let policy = self.find_policy(&license.policy_id)?;
        let product = self.find_product(&policy.product_id)?;
        let ttl = match options.ttl {
            None => policy.file_ttl_seconds,
            Some(text) => parse_file_ttl(Some(text))?,
        };
        let encrypt = options.encrypt.unwrap_or(policy.encrypt);
        let include = IncludeSet::parse(options.include)?;

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
        let alg = match options.algorithm.map(str::trim).filter(|a| !a.is_empty()) {
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
        Ok(SealedFile {
            text,
            alg,
            ttl,
            issued,
            include,
            kid: key.kid,
            license_id: license.id,
        })
    }
}

/// How to sign a license or machine file (export and check-out alike).
pub(crate) struct FileOptions<'a> {
    /// TTL text; `None` = the policy's.
    pub ttl: Option<&'a str>,
    /// Encrypt; `None` = the default (the policy's for license files).
    pub encrypt: Option<bool>,
    /// Keygen's file algorithm; `None` = derived.
    pub algorithm: Option<&'a str>,
    /// Related objects to include.
    pub include: &'a [String],
}

impl<'a> FileOptions<'a> {
    pub(crate) fn of(input: &'a CheckOutFile) -> Self {
        FileOptions {
            ttl: input.ttl.as_deref(),
            encrypt: input.encrypt,
            algorithm: input.algorithm.as_deref(),
            include: &input.include,
        }
    }
}

/// A file signed and not yet recorded.
pub(crate) struct SealedFile {
    pub text: String,
    pub alg: FileAlgorithm,
    pub ttl: Option<i64>,
    pub issued: Timestamp,
    pub include: Option<IncludeSet>,
    pub kid: String,
    pub license_id: String,
}

/// What a check-out returns for a sealed, recorded file.
pub(crate) fn checked_out(
    sealed: SealedFile,
    machine_id: Option<String>,
    sha256: String,
) -> Result<CheckedOutFile> {
    let expiry = match sealed.ttl {
        Some(ttl) => Some(stamp(keywright_license::keygen_expiry(sealed.issued, ttl)?)),
        None => None,
    };
    Ok(CheckedOutFile {
        certificate: sealed.text,
        algorithm: sealed.alg.as_str().to_owned(),
        issued: stamp(sealed.issued),
        expiry,
        ttl: sealed.ttl,
        includes: sealed
            .include
            .map(|set| set.names().into_iter().map(str::to_owned).collect())
            .unwrap_or_default(),
        license_id: sealed.license_id,
        machine_id,
        sha256,
    })
}
