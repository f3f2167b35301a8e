//! Issuing licenses and exporting license files.

use std::path::Path;

use jiff::Timestamp;
use keywright_license::document::{LicenseDocument, LicenseStatus as DocumentStatus};
use keywright_license::{
    keygen_expiry, parse_time, seal, sign_key_with, EncryptionSecret, FileAlgorithm, FileKind,
};
use rusqlite::{params, OptionalExtension, Row};

use crate::audit::{self, sha256_hex, Event};
use crate::duration::parse_file_ttl;
use crate::error::{Error, ErrorCode, Result};
use crate::included::IncludeSet;
use crate::key_options::{embedded_dataset, human_style, LicenseFacts};
use crate::model::{
    ExportLicenseFile, ExportedFile, IssueLicense, License, LicenseStatus, Policy, Product,
};
use crate::{clean, stamp, Keywright};

pub(crate) const SELECT: &str =
    "SELECT l.id, l.key, l.policy_id, p.name, pr.id, pr.name, l.customer_id, c.name, c.email,
            l.status, l.expiry, l.created_at, l.updated_at
     FROM licenses l
     JOIN policies p ON p.id = l.policy_id
     JOIN products pr ON pr.id = p.product_id
     LEFT JOIN customers c ON c.id = l.customer_id";

/// [`SELECT`] with the number of active machines, as column `machines_count`.
fn select_counted() -> String {
    SELECT.replacen(
        " FROM licenses l",
        ", (SELECT count(*) FROM machines m WHERE m.license_id = l.id AND m.status = 'active')
            AS machines_count FROM licenses l",
        1,
    )
}

pub(crate) fn license_row(r: &Row<'_>) -> rusqlite::Result<License> {
    let status: String = r.get(9)?;
    Ok(License {
        id: r.get(0)?,
        key: r.get(1)?,
        policy_id: r.get(2)?,
        policy_name: r.get(3)?,
        product_id: r.get(4)?,
        product_name: r.get(5)?,
        customer_id: r.get(6)?,
        customer_name: r.get(7)?,
        customer_email: r.get(8)?,
        status: LicenseStatus::parse(&status),
        expiry: r.get(10)?,
        created_at: r.get(11)?,
        updated_at: r.get(12)?,
        // Only the queries that count (SELECT_COUNTED) carry the column.
        machines_count: match r.as_ref().column_index("machines_count") {
            Ok(i) => Some(r.get(i)?),
            Err(_) => None,
        },
    })
}

fn check_email(email: &str) -> Result<()> {
    let ok = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(email.split_once('@'), Some((local, domain))
            if !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
               && !domain.ends_with('.') && !domain.contains('@'));
    if ok {
        Ok(())
    } else {
        Err(Error::bad_input(format!(
            "{email:?} is not an email address"
        )))
    }
}

fn parse_metadata(text: Option<&str>) -> Result<serde_json::Map<String, serde_json::Value>> {
    match clean(text) {
        None => Ok(serde_json::Map::new()),
        Some(t) => match serde_json::from_str::<serde_json::Value>(&t) {
            Ok(serde_json::Value::Object(map)) => Ok(map),
            Ok(_) => Err(Error::bad_input(
                "metadata must be a JSON object, like {\"order\":\"1234\"}",
            )),
            Err(e) => Err(Error::bad_input(format!("metadata is not valid JSON: {e}"))),
        },
    }
}

impl Keywright {
    /// Issues a license under a policy: signs its key with the product's key (read from
    /// the vault first, so a keychain failure writes nothing), then stores the license,
    /// the customer if new, and the audit rows in one transaction.
    pub fn issue_license(&mut self, input: &IssueLicense, now: Timestamp) -> Result<License> {
        let policy = self.find_policy(&input.policy_id)?;
        let product = self.find_product(&policy.product_id)?;
        let customer_name = clean(input.customer_name.as_deref());
        let customer_email = clean(input.customer_email.as_deref());
        if let Some(name) = &customer_name {
            if name.chars().count() > 200 {
                return Err(Error::bad_input(
                    "customer name is too long (at most 200 characters)",
                ));
            }
        }
        if let Some(email) = &customer_email {
            check_email(email)?;
        }
        let metadata = parse_metadata(input.metadata.as_deref())?;

        // Unsigned policies need no private key; signed ones read it before anything
        // is written, so a keychain failure writes nothing.
        let signer = if policy.unsigned_key {
            None
        } else {
            Some(self.signer(&product.signing_key_id, now)?)
        };

        let created_ts = parse_time(&stamp(now))?; // millisecond precision, as stored
        let expiry_ts = policy
            .duration_seconds
            .map(|d| keygen_expiry(created_ts, d))
            .transpose()?;
        let created = stamp(created_ts);
        let expiry = expiry_ts.map(stamp);
        let id = uuid::Uuid::new_v4().to_string();

        let existing_customer: Option<(String, Option<String>)> = match &customer_email {
            Some(email) => self
                .store
                .conn
                .query_row(
                    "SELECT id, email FROM customers WHERE email = ?1 ORDER BY created_at LIMIT 1",
                    [email],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?,
            None => None,
        };
        let new_customer =
            existing_customer.is_none() && (customer_name.is_some() || customer_email.is_some());
        let customer_id = match &existing_customer {
            Some((cid, _)) => Some(cid.clone()),
            None if new_customer => Some(uuid::Uuid::new_v4().to_string()),
            None => None,
        };

        // Keygen's default dataset (or the policy's template); its `user` is the
        // customer when we know their email.
        let dataset_email = match &existing_customer {
            Some((_, email)) => email.clone(),
            None => customer_email.clone(),
        };
        let (license_key, signing_key_id, kid) = match &signer {
            None => (
                self.unique_human_key(&product.code)?,
                product.signing_key_id.clone(),
                None,
            ),
            Some((key, private)) => {
                let facts = LicenseFacts {
                    account: self.store.store_id(),
                    product: &product.id,
                    policy: &policy.id,
                    duration: policy.duration_seconds,
                    customer_id: customer_id.clone(),
                    email: dataset_email,
                    id: id.clone(),
                    created: created_ts,
                    expiry: expiry_ts,
                };
                let embedded =
                    embedded_dataset(policy.scheme, policy.key_template.as_deref(), &facts)?;
                let license_key = sign_key_with(
                    policy.scheme.to_format(),
                    embedded.as_bytes(),
                    private,
                    &mut rand_core::OsRng,
                )?;
                (license_key, key.id.clone(), Some(key.kid.clone()))
            }
        };

        let tx = self.store.conn.transaction()?;
        if new_customer {
            let cid = customer_id.as_deref().unwrap_or_default();
            tx.execute(
                "INSERT INTO customers (id, name, email, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![cid, customer_name, customer_email, created],
            )?;
            audit::append(
                &tx,
                &created,
                &self.actor,
                &Event {
                    action: "customer.create",
                    subject_type: Some("customer"),
                    subject_id: Some(cid),
                    detail: serde_json::json!({ "name": customer_name, "email": customer_email }),
                    ..Event::default()
                },
            )?;
        }
        tx.execute(
            "INSERT INTO licenses (id, key, policy_id, customer_id, signing_key_id, status, expiry,
                                   metadata, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'active', ?6, ?7, ?8, ?8)",
            params![
                id,
                license_key,
                policy.id,
                customer_id,
                signing_key_id,
                expiry,
                serde_json::Value::Object(metadata).to_string(),
                created
            ],
        )?;
        audit::append(
            &tx,
            &created,
            &self.actor,
            &Event {
                action: "license.issue",
                subject_type: Some("license"),
                subject_id: Some(&id),
                signing_key_kid: kid.as_deref(),
                artifact_sha256: Some(sha256_hex(license_key.as_bytes())),
                detail: serde_json::json!({
                    "scheme": (!policy.unsigned_key).then(|| policy.scheme.as_str()),
                    "policy": policy.id, "product": product.code,
                    "customer": customer_id, "expiry": expiry,
                    "unsignedKey": policy.unsigned_key,
                    "keyTemplate": policy.key_template.is_some(),
                }),
            },
        )?;
        tx.commit()?;
        self.find_license(&id)
    }

    /// A random human-typable key (see [`human_style`]) that no license has yet.
    fn unique_human_key(&self, product_code: &str) -> Result<String> {
        let style = human_style(product_code);
        // 120 random bits: a clash is practically impossible; a few tries prove it.
        for _ in 0..8 {
            let key = keywright_license::human_key(&style, &mut rand_core::OsRng)?;
            let taken: Option<i64> = self
                .store
                .conn
                .query_row("SELECT 1 FROM licenses WHERE key = ?1", [&key], |r| {
                    r.get(0)
                })
                .optional()?;
            if taken.is_none() {
                return Ok(key);
            }
        }
        Err(Error::new(
            ErrorCode::Internal,
            "could not draw an unused license key in 8 tries; the random source is broken",
        ))
    }

    /// Every license, newest first.
    pub fn list_licenses(&self) -> Result<Vec<License>> {
        let mut stmt = self.store.conn.prepare(&format!(
            "{} ORDER BY l.created_at DESC, l.rowid DESC",
            select_counted()
        ))?;
        let rows = stmt.query_map([], license_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A license by id or key.
    pub fn find_license(&self, reference: &str) -> Result<License> {
        let reference = reference.trim();
        self.store
            .conn
            .query_row(
                &format!("{} WHERE l.id = ?1 OR l.key = ?1", select_counted()),
                [reference],
                license_row,
            )
            .optional()?
            .ok_or_else(|| Error::not_found(format!("no license with id or key {reference:?}")))
    }

    /// Keygen's license document for a license as the store has it now (status,
    /// expiry, metadata, active machines): the `data` of its license files and the
    /// `included` license of its machine files.
    pub(crate) fn license_document(
        &self,
        license: &License,
        policy: &Policy,
        product: &Product,
    ) -> Result<LicenseDocument> {
        let (metadata, updated): (String, String) = self.store.conn.query_row(
            "SELECT metadata, updated_at FROM licenses WHERE id = ?1",
            [&license.id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(LicenseDocument {
            id: license.id.clone(),
            account_id: self.store.store_id().to_owned(),
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
            metadata: serde_json::from_str(&metadata).unwrap_or_default(),
            created: parse_time(&license.created_at)?,
            updated: parse_time(&updated)?,
            // What the store says now; find_license counts active machines.
            machines_count: license.machines_count.unwrap_or(0),
            entitlement_ids: Vec::new(),
        })
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
        let payload = document.to_payload_with(issued, ttl, included.as_ref())?;
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
        let encrypt = alg.is_encrypted();
        let secret = encrypt.then(|| EncryptionSecret::for_license(&license.key));
        let text = seal(
            FileKind::License,
            &payload,
            alg,
            &private,
            secret.as_ref(),
            &mut rand_core::OsRng,
        )?;
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
