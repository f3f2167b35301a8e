//! Machine files: Keygen's `MACHINE FILE` (the machine document with its license
//! included), encrypted by default with the license key and the fingerprint so it
//! opens only on that machine, signed and written with its audit row.

use std::path::Path;

use jiff::Timestamp;
use keywright_license::issue::{
    seal, EncryptionSecret, LicenseDocument, MachineDocument, SigningKey as FormatSigningKey,
};
use keywright_license::{parse_time, FileAlgorithm, FileKind};

use super::heartbeat::next_heartbeat;
use super::model::{ExportMachineFile, HeartbeatStatus, Machine, MachineStatus};
use crate::audit::Event;
use crate::catalog::{IncludeSet, Policy, Product};
use crate::duration::parse_file_ttl;
use crate::error::{Error, Result};
use crate::files::ExportedFile;
use crate::issuing::{checked_out, CheckOutFile, CheckedOutFile, FileOptions, License, SealedFile};
use crate::{stamp, Keywright};

impl Keywright {
    /// Signs a machine file (Keygen's `MACHINE FILE`: the machine document with its
    /// license included) and writes it atomically; the `machine_file.sign` audit row
    /// and the file land together. Encrypted by default with the license key and the
    /// fingerprint, so it opens only on that machine.
    pub fn export_machine_file(
        &mut self,
        input: &ExportMachineFile,
        now: Timestamp,
    ) -> Result<ExportedFile> {
        let machine = self.active_for_file(&input.machine_id)?;
        if input.path.trim().is_empty() {
            return Err(Error::bad_input("choose where to save the machine file"));
        }
        let path = Path::new(input.path.trim());
        let sealed = self.seal_machine(
            &machine,
            &FileOptions {
                ttl: input.ttl.as_deref(),
                encrypt: input.encrypt,
                algorithm: None,
                include: &[],
            },
            now,
        )?;
        let event = Event {
            action: "machine_file.sign",
            subject_type: Some("machine"),
            subject_id: Some(&machine.id),
            signing_key_kid: Some(&sealed.kid),
            detail: serde_json::json!({
                "license": sealed.license_id, "fingerprint": machine.fingerprint,
                "algorithm": sealed.alg.as_str(), "ttl": sealed.ttl,
                "path": path.display().to_string(),
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

    /// Checks out a machine file over the activation server (Keygen's
    /// `POST /machines/{id}/actions/check-out`): the file
    /// [`Keywright::export_machine_file`] writes, signed through the same checks and
    /// audited the same way (`machine_file.sign` with the file's SHA-256, `via:
    /// "server"` and the client's address). `include` takes Keygen's machine-file names
    /// (`license`, which is always included, and `license.entitlements`,
    /// `license.product`, `license.policy`, `license.owner`).
    pub fn check_out_machine_file(
        &mut self,
        input: &CheckOutFile,
        now: Timestamp,
    ) -> Result<CheckedOutFile> {
        let machine = self.active_for_file(&input.id)?;
        let sealed = self.seal_machine(&machine, &FileOptions::of(input), now)?;
        let event = Event {
            action: "machine_file.sign",
            subject_type: Some("machine"),
            subject_id: Some(&machine.id),
            signing_key_kid: Some(&sealed.kid),
            detail: serde_json::json!({
                "license": sealed.license_id, "fingerprint": machine.fingerprint,
                "algorithm": sealed.alg.as_str(), "ttl": sealed.ttl, "via": "server",
                "ip": input.ip, "include": sealed.include.map(IncludeSet::names),
            }),
            ..Event::default()
        };
        let at = stamp(sealed.issued);
        let sha256 = self.record_artifact(sealed.text.as_bytes(), &at, event)?;
        checked_out(sealed, Some(machine.id), sha256)
    }

    /// Keygen's machine document for `machine` (its license as the store has it now),
    /// for answers of the activation server (`MachineDocument::to_resource`): the same
    /// document its machine files carry.
    /// Its heartbeat is as at `now` (or as `machine.heartbeat_status` says, when a
    /// ping just set it).
    pub fn keygen_machine_document(
        &self,
        machine: &Machine,
        now: Timestamp,
    ) -> Result<MachineDocument> {
        let license = self.find_license(&machine.license_id)?;
        let policy = self.find_policy(&license.policy_id)?;
        let license = self.keygen_license_document(&license)?;
        machine_document(machine, &policy, license, now)
    }

    /// The machine, which must hold a seat to get a file.
    fn active_for_file(&self, machine_id: &str) -> Result<Machine> {
        let machine = self.find_machine(machine_id)?;
        if machine.status != MachineStatus::Active {
            return Err(Error::conflict(format!(
                "machine {} was deactivated{}; activate it again to get a machine file",
                machine.fingerprint,
                machine
                    .deactivated_at
                    .as_deref()
                    .map(|t| format!(" on {t}"))
                    .unwrap_or_default()
            )));
        }
        Ok(machine)
    }

    /// Signs a machine file as the store has the machine and its license now (the one
    /// path of exports and check-outs).
    fn seal_machine(
        &self,
        machine: &Machine,
        options: &FileOptions<'_>,
        now: Timestamp,
    ) -> Result<SealedFile> {
        let license = self.find_license(&machine.license_id)?;
        let policy = self.find_policy(&license.policy_id)?;
        let product = self.find_product(&policy.product_id)?;
        let ttl = match options.ttl {
            None => policy.file_ttl_seconds,
            Some(text) => parse_file_ttl(Some(text))?,
        };
        let encrypt = options.encrypt.unwrap_or(true);
        // Keygen names a machine file's related objects through its license.
        let names: Vec<String> = options
            .include
            .iter()
            .flat_map(|n| n.split(','))
            .map(str::trim)
            .filter(|n| !n.is_empty() && *n != "license")
            .map(|n| n.strip_prefix("license.").unwrap_or(n).to_owned())
            .collect();
        let include = IncludeSet::parse(&names)?;
        let (key, private) = self.signer(&product.signing_key_id, now)?;
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
        let issued = parse_time(&stamp(now))?;
        let text = self.seal_machine_file(
            machine, &license, &policy, &product, issued, ttl, alg, include, &private,
        )?;
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

    #[allow(clippy::too_many_arguments)]
    pub(super) fn seal_machine_file(
        &self,
        machine: &Machine,
        license: &License,
        policy: &Policy,
        product: &Product,
        issued: Timestamp,
        ttl: Option<i64>,
        alg: FileAlgorithm,
        include: Option<IncludeSet>,
        private: &FormatSigningKey,
    ) -> Result<String> {
        let mut license_document = self.license_document(license, policy, product)?;
        let extra = match include {
            Some(set) => Some(self.included_for(set, license, policy, product)?),
            None => None,
        };
        if let Some(extra) = &extra {
            // Included entitlements are linked from the license too, as Keygen does.
            license_document.entitlement_ids =
                extra.entitlements.iter().map(|e| e.id.clone()).collect();
        }
        let document = machine_document(machine, policy, license_document, issued)?;
        // The policy rides along when its options must reach the application.
        let extra = self.with_policy_options(extra, policy, product)?;
        let payload = document.to_payload_with(issued, ttl, extra.as_ref())?;
        let secret = alg
            .is_encrypted()
            .then(|| EncryptionSecret::for_machine(&license.key, &machine.fingerprint));
        Ok(seal(
            FileKind::Machine,
            &payload,
            alg,
            private,
            secret.as_ref(),
            &mut rand_core::OsRng,
        )?)
    }
}

/// A machine's document around its license's.
fn machine_document(
    machine: &Machine,
    policy: &Policy,
    license: LicenseDocument,
    now: Timestamp,
) -> Result<MachineDocument> {
    let activated = parse_time(&machine.activated_at)?;
    let status = match machine.heartbeat_status {
        Some(status) => status,
        None => HeartbeatStatus::of_machine(policy, machine, now)?,
    };
    Ok(MachineDocument {
        require_heartbeat: policy.require_heartbeat,
        heartbeat_status: status.as_str(),
        heartbeat_duration: Some(policy.heartbeat_seconds()),
        last_heartbeat: machine
            .last_heartbeat_at
            .as_deref()
            .map(parse_time)
            .transpose()?,
        next_heartbeat: next_heartbeat(policy, machine)?,
        id: machine.id.clone(),
        fingerprint: machine.fingerprint.clone(),
        name: machine.name.clone(),
        hostname: machine.hostname.clone(),
        platform: machine.platform.clone(),
        metadata: serde_json::Map::new(),
        created: activated,
        updated: activated,
        license,
    })
}
