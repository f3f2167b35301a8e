//! Machine files: Keygen's `MACHINE FILE` (the machine document with its license
//! included), encrypted by default with the license key and the fingerprint so it
//! opens only on that machine, signed and written with its audit row.

use std::path::Path;

use jiff::Timestamp;
use keywright_license::issue::{
    seal, EncryptionSecret, MachineDocument, SigningKey as FormatSigningKey,
};
use keywright_license::{parse_time, FileAlgorithm, FileKind};

use super::model::{ExportMachineFile, Machine, MachineStatus};
use crate::audit::Event;
use crate::catalog::{Policy, Product};
use crate::duration::parse_file_ttl;
use crate::error::{Error, Result};
use crate::files::ExportedFile;
use crate::issuing::License;
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
        let machine = self.find_machine(&input.machine_id)?;
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
        if input.path.trim().is_empty() {
            return Err(Error::bad_input("choose where to save the machine file"));
        }
        let path = Path::new(input.path.trim());
        let license = self.find_license(&machine.license_id)?;
        let policy = self.find_policy(&license.policy_id)?;
        let product = self.find_product(&policy.product_id)?;
        let ttl = match input.ttl.as_deref() {
            None => policy.file_ttl_seconds,
            Some(text) => parse_file_ttl(Some(text))?,
        };
        let encrypt = input.encrypt.unwrap_or(true);
        let alg = FileAlgorithm::default_for(Some(policy.scheme.to_format()), encrypt);

        let (key, private) = self.signer(&product.signing_key_id, now)?;
        let issued = parse_time(&stamp(now))?;
        let text = self.seal_machine_file(
            &machine, &license, &policy, &product, issued, ttl, alg, &private,
        )?;
        let event = Event {
            action: "machine_file.sign",
            subject_type: Some("machine"),
            subject_id: Some(&machine.id),
            signing_key_kid: Some(&key.kid),
            detail: serde_json::json!({
                "license": license.id, "fingerprint": machine.fingerprint,
                "algorithm": alg.as_str(), "ttl": ttl, "path": path.display().to_string(),
            }),
            ..Event::default()
        };
        self.write_audited_file(path, text.as_bytes(), &stamp(issued), event, alg.as_str())
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
        private: &FormatSigningKey,
    ) -> Result<String> {
        let activated = parse_time(&machine.activated_at)?;
        let document = MachineDocument {
            id: machine.id.clone(),
            fingerprint: machine.fingerprint.clone(),
            name: machine.name.clone(),
            hostname: machine.hostname.clone(),
            platform: machine.platform.clone(),
            metadata: serde_json::Map::new(),
            created: activated,
            updated: activated,
            license: self.license_document(license, policy, product)?,
        };
        // The policy rides along when its options must reach the application.
        let extra = self.with_policy_options(None, policy, product)?;
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
