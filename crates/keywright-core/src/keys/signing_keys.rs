//! Signing keys: the public half in the store, the private half in the vault.

use jiff::Timestamp;
use keywright_license::issue::SigningKey as PrivateKey;
use keywright_license::PublicKey;

use super::model::{KeyAlgorithm, KeyStatus, NewSigningKey, SigningKey};
use super::sql::{self, KeyRow};
use crate::audit::{self, Event};
use crate::error::{Error, ErrorCode, Result};
use crate::{required, stamp, Keywright};

/// The public key as the store keeps it: raw 32 bytes for Ed25519, SPKI DER otherwise.
pub(crate) fn stored_public(algorithm: KeyAlgorithm, bytes: &[u8]) -> Result<PublicKey> {
    Ok(match algorithm {
        KeyAlgorithm::Ed25519 => PublicKey::from_ed25519_bytes(bytes)?,
        KeyAlgorithm::Rsa2048 | KeyAlgorithm::EcdsaP256 => PublicKey::from_spki_der(bytes)?,
    })
}

fn finish((mut key, raw): KeyRow) -> Result<SigningKey> {
    let public = stored_public(key.algorithm, &raw)?;
    key.public_key_hex = public.to_hex();
    key.public_key_pem = public.to_pem();
    Ok(key)
}

impl Keywright {
    /// Generates a signing key: the private half goes straight into the vault, the
    /// store keeps the public half. Nothing is written if the vault refuses.
    pub fn create_signing_key(
        &mut self,
        input: &NewSigningKey,
        now: Timestamp,
    ) -> Result<SigningKey> {
        let name = required("key name", &input.name, 200)?;
        let private = match input.algorithm {
            KeyAlgorithm::Ed25519 => PrivateKey::generate(&mut rand_core::OsRng),
            KeyAlgorithm::Rsa2048 => PrivateKey::generate_rsa(&mut rand_core::OsRng)?,
            KeyAlgorithm::EcdsaP256 => PrivateKey::generate_p256(&mut rand_core::OsRng),
        };
        let public = private.public_key();
        let kid = public.kid();
        // Ed25519: the 32-byte seed (Keygen's private key format); RSA-2048 and P-256:
        // PKCS#8 DER (~1.2 KB for RSA, within Windows' 2,560-byte credential limit).
        self.vault.put(&kid, private.to_secret_bytes().as_slice())?;

        let id = uuid::Uuid::new_v4().to_string();
        let at = stamp(now);
        let written = (|| -> Result<()> {
            let audit_key = self.audit_key()?;
            let tx = self.store.transaction()?;
            sql::insert(
                tx.db(),
                &id,
                &kid,
                &name,
                input.algorithm,
                public.to_bytes().as_slice(),
                &at,
            )?;
            audit::append(
                tx.db(),
                &audit_key,
                &at,
                &self.actor,
                &Event {
                    action: "key.create",
                    subject_type: Some("signing_key"),
                    subject_id: Some(&id),
                    signing_key_kid: Some(&kid),
                    detail: serde_json::json!({ "name": name, "algorithm": input.algorithm.as_str() }),
                    ..Event::default()
                },
            )?;
            tx.commit()?;
            self.committed();
            Ok(())
        })();
        if let Err(e) = written {
            // The row never landed: do not leave an orphan private key behind.
            let _ = self.vault.remove(&kid);
            return Err(e);
        }
        self.find_signing_key(&id)
    }

    /// Retires an active key: it no longer signs, and stays on record (with its
    /// keychain entry) so everything it signed keeps verifying. Products still signed
    /// by it must be given another key before they issue again.
    pub fn retire_signing_key(&mut self, reference: &str, now: Timestamp) -> Result<SigningKey> {
        let key = self.active_key(reference)?;
        self.change_active_key(&key, now, "key.retire", serde_json::json!({}), |db| {
            sql::retire(db, &key.id)
        })
    }

    /// Schedules the retirement of an active key at `retire_at` (a date, meaning its
    /// start in UTC, or RFC 3339), or with None cancels the one scheduled. From that
    /// time on the key no longer signs, as if retired (its status stays `active` until
    /// someone retires it; what it signed keeps verifying), and the dashboard names it
    /// in the 30 days before, with the products still signing with it. Audited as
    /// `key.schedule_retirement`.
    pub fn schedule_key_retirement(
        &mut self,
        reference: &str,
        retire_at: Option<&str>,
        now: Timestamp,
    ) -> Result<SigningKey> {
        let key = self.active_key(reference)?;
        let at = stamp(now);
        let when = match crate::clean(retire_at) {
            Some(text) => {
                let when = audit::time_bound("the retirement time", &text)?;
                if when <= at {
                    return Err(Error::bad_input(format!(
                        "the retirement time {text} is not after now ({at}); to stop the key \
                         signing now, retire it"
                    )));
                }
                Some(when)
            }
            None => None,
        };
        if when == key.retire_at {
            return Ok(key);
        }
        let detail = serde_json::json!({ "retireAt": when, "previously": key.retire_at });
        self.change_active_key(&key, now, "key.schedule_retirement", detail, |db| {
            sql::schedule_retirement(db, &key.id, when.as_deref())
        })
    }

    /// The key `reference` names, refused unless it is active.
    fn active_key(&self, reference: &str) -> Result<SigningKey> {
        let key = self.find_signing_key(reference)?;
        if key.status != KeyStatus::Active {
            return Err(Error::conflict(format!(
                "signing key {} is already {}",
                key.name,
                key.status.as_str()
            )));
        }
        Ok(key)
    }

    /// Changes an active key with `update` (the rows it changed: 1, or 0 when the key
    /// stopped being active meanwhile) and records `action` with `detail` and the codes
    /// of the products still signing with it, in one transaction.
    fn change_active_key(
        &mut self,
        key: &SigningKey,
        now: Timestamp,
        action: &str,
        mut detail: serde_json::Value,
        update: impl FnOnce(crate::store::db::Db<'_>) -> Result<usize>,
    ) -> Result<SigningKey> {
        let audit_key = self.audit_key()?;
        let tx = self.store.transaction()?;
        if update(tx.db())? != 1 {
            return Err(Error::conflict(format!(
                "signing key {} changed meanwhile; reload and try again",
                key.name
            )));
        }
        detail["productsStillUsingIt"] =
            crate::catalog::sql::codes_signed_by(tx.db(), &key.id)?.into();
        audit::append(
            tx.db(),
            &audit_key,
            &stamp(now),
            &self.actor,
            &Event {
                action,
                subject_type: Some("signing_key"),
                subject_id: Some(&key.id),
                signing_key_kid: Some(&key.kid),
                detail,
                ..Event::default()
            },
        )?;
        tx.commit()?;
        self.committed();
        self.find_signing_key(&key.id)
    }

    /// Every signing key, newest first.
    pub fn list_signing_keys(&self) -> Result<Vec<SigningKey>> {
        sql::list(self.store.db())?
            .into_iter()
            .map(finish)
            .collect()
    }

    /// A signing key by id, kid or unique name.
    pub fn find_signing_key(&self, reference: &str) -> Result<SigningKey> {
        let reference = reference.trim();
        if let Some(row) = sql::by_id_or_kid(self.store.db(), reference)? {
            return finish(row);
        }
        let mut rows = sql::by_name(self.store.db(), reference)?;
        match rows.len() {
            0 => Err(Error::not_found(format!(
                "no signing key with id, kid or name {reference:?}"
            ))),
            1 => finish(rows.remove(0)),
            n => Err(Error::bad_input(format!(
                "{n} signing keys are named {reference:?}; use the id or kid"
            ))),
        }
    }

    /// The public half of a key.
    pub fn public_key(&self, reference: &str) -> Result<PublicKey> {
        let key = self.find_signing_key(reference)?;
        let bytes = hex::decode(&key.public_key_hex)
            .map_err(|e| Error::new(ErrorCode::Internal, format!("stored public key: {e}")))?;
        stored_public(key.algorithm, &bytes)
    }

    /// Loads the private half of an active key from the vault and checks it is the key
    /// on record (an entry swapped behind our back must not sign).
    ///
    /// Refuses when `now` is earlier than the newest audit row (see [`crate::clock`]).
    pub(crate) fn signer(
        &self,
        signing_key_id: &str,
        now: Timestamp,
    ) -> Result<(SigningKey, PrivateKey)> {
        self.check_clock(now)?;
        self.check_app_lock()?;
        let key = self.find_signing_key(signing_key_id)?;
        if let Some(why) = key.cannot_sign_at(&stamp(now)) {
            return Err(Error::conflict(format!(
                "{why}; give the product an active key"
            )));
        }
        let secret = self.vault.get(&key.kid)?;
        let private = PrivateKey::from_secret_bytes(key.algorithm.to_format(), secret.as_slice())
            .map_err(|_| {
            Error::new(
                ErrorCode::KeychainMismatch,
                format!(
                    "the keychain entry for signing key {} is not a {} private key",
                    key.kid,
                    key.algorithm.as_str()
                ),
            )
        })?;
        if private.public_key().to_hex() != key.public_key_hex {
            return Err(Error::new(
                ErrorCode::KeychainMismatch,
                format!(
                    "the keychain entry for signing key {} holds a different key than the store records; refusing to sign",
                    key.kid
                ),
            ));
        }
        Ok((key, private))
    }
}
