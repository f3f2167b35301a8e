//! Issuing licenses and exporting license files.

use std::path::Path;

use jiff::Timestamp;
use keywright_license::document::{LicenseDocument, LicenseStatus as DocumentStatus};
use keywright_license::included::Included;
use keywright_license::{
    keygen_expiry, parse_time, seal, sign_key_with, EncryptionSecret, FileAlgorithm, FileKind,
    SigningKey as PrivateKey,
};
use rusqlite::{params, OptionalExtension, Row};

use crate::audit::{self, sha256_hex, AuditKey, Event};
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

/// SQL that license `l` has exactly the key in parameter `param`. Keys are indexed by
/// their last 64 characters (`licenses_key_tail`, unique), so the lookup goes through
/// that index and then compares the whole key.
pub(crate) fn key_is(param: &str) -> String {
    format!("(substr(l.key, -64) = substr({param}, -64) AND l.key = {param})")
}

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

pub(crate) fn check_email(email: &str) -> Result<()> {
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

pub(crate) fn parse_metadata(
    text: Option<&str>,
) -> Result<serde_json::Map<String, serde_json::Value>> {
    match clean(text) {
        None => Ok(serde_json::Map::new()),
        Some(t) => match serde_json::from_str::<serde_json::Value>(&t) {
            Ok(serde_json::Value::Object(map)) => {
                // Keys are one line; string values may hold line breaks and tabs.
                map.iter().try_for_each(|(k, v)| {
                    crate::text::check_line("metadata key", k)?;
                    crate::text::check_json(&format!("metadata.{k}"), v)
                })?;
                Ok(map)
            }
            Ok(_) => Err(Error::bad_input(
                "metadata must be a JSON object, like {\"order\":\"1234\"}",
            )),
            Err(e) => Err(Error::bad_input(format!("metadata is not valid JSON: {e}"))),
        },
    }
}

/// Refuses an overlong name or company, a malformed email and control characters in
/// any of them; empty text is absent.
pub(crate) fn check_customer(
    name: Option<&str>,
    email: Option<&str>,
    company: Option<&str>,
) -> Result<(Option<String>, Option<String>, Option<String>)> {
    let name = crate::text::line("customer name", name)?;
    let email = crate::text::line("customer email", email)?;
    let company = crate::text::line("customer company", company)?;
    for (field, text) in [("customer name", &name), ("customer company", &company)] {
        if let Some(text) = text {
            if text.chars().count() > 200 {
                return Err(Error::bad_input(format!(
                    "{field} is too long (at most 200 characters)"
                )));
            }
        }
    }
    if let Some(email) = &email {
        check_email(email)?;
    }
    Ok((name, email, company))
}

/// The customer with this email, oldest first: `(id, email)`.
pub(crate) fn customer_by_email(
    conn: &rusqlite::Connection,
    email: &str,
) -> Result<Option<(String, Option<String>)>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, email FROM customers WHERE email = ?1 ORDER BY created_at LIMIT 1",
        )?
        .query_row([email], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// When a license issued at `now` under `policy` is created and expires, at the
/// millisecond precision the store keeps.
pub(crate) fn issue_times(
    now: Timestamp,
    policy: &Policy,
) -> Result<(Timestamp, Option<Timestamp>)> {
    let created_ts = parse_time(&stamp(now))?;
    let expiry_ts = policy
        .duration_seconds
        .map(|d| {
            // Only a policy stored before durations were capped can get here.
            keygen_expiry(created_ts, d).map_err(|_| {
                Error::bad_input(format!(
                    "policy {:?} has a duration of {d} s, which puts the expiry past the year \
                     9999; create a policy with a duration of at most 100 years",
                    policy.name
                ))
            })
        })
        .transpose()?;
    Ok((created_ts, expiry_ts))
}

/// What a license key embeds and who it is for.
pub(crate) struct KeyInput<'a> {
    pub store_id: &'a str,
    pub policy: &'a Policy,
    pub product: &'a Product,
    pub license_id: &'a str,
    /// The customer's id, if the license has a customer.
    pub customer_id: Option<String>,
    /// The customer's email (Keygen's default dataset names the customer as its `user`
    /// only when it has one).
    pub email: Option<String>,
    pub created: Timestamp,
    pub expiry: Option<Timestamp>,
}

/// Signs a license key: the policy's key template rendered for this license, or
/// Keygen's default dataset for the policy's scheme (the full dataset, the JWT claims,
/// or for RSA_2048_PKCS1_ENCRYPT the short one).
pub(crate) fn sign_license_key(input: &KeyInput<'_>, private: &PrivateKey) -> Result<String> {
    let facts = LicenseFacts {
        account: input.store_id,
        product: &input.product.id,
        policy: &input.policy.id,
        duration: input.policy.duration_seconds,
        customer_id: input.customer_id.clone(),
        email: input.email.clone(),
        id: input.license_id.to_owned(),
        created: input.created,
        expiry: input.expiry,
    };
    let embedded = embedded_dataset(
        input.policy.scheme,
        input.policy.key_template.as_deref(),
        &facts,
    )?;
    Ok(sign_key_with(
        input.policy.scheme.to_format(),
        embedded.as_bytes(),
        private,
        &mut rand_core::OsRng,
    )?)
}

/// A random human-typable key for an unsigned policy's license (≈ 120 bits; see
/// [`human_style`]). Callers that can, check it is unused.
pub(crate) fn draw_human_key(product: &Product) -> Result<String> {
    Ok(keywright_license::human_key(
        &human_style(&product.code),
        &mut rand_core::OsRng,
    )?)
}

/// Inserts a new customer and its audit row, inside the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub(crate) fn insert_customer(
    conn: &rusqlite::Connection,
    audit_key: &AuditKey,
    actor: &str,
    at: &str,
    id: &str,
    name: Option<&str>,
    email: Option<&str>,
    company: Option<&str>,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO customers (id, name, email, company, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![id, name, email, company, at])?;
    let mut detail = serde_json::json!({ "name": name, "email": email });
    if let Some(company) = company {
        detail["company"] = company.into();
    }
    audit::append(
        conn,
        audit_key,
        at,
        actor,
        &Event {
            action: "customer.create",
            subject_type: Some("customer"),
            subject_id: Some(id),
            detail,
            ..Event::default()
        },
    )?;
    Ok(())
}

/// A license row about to be stored.
pub(crate) struct LicenseRow<'a> {
    pub id: &'a str,
    pub key: &'a str,
    pub policy: &'a Policy,
    pub product: &'a Product,
    pub customer_id: Option<&'a str>,
    /// The product's signing key row (for an unsigned key: the key its files use).
    pub signing_key_id: &'a str,
    /// The key id that signed the license key; `None` for an unsigned key.
    pub kid: Option<&'a str>,
    pub expiry: Option<&'a str>,
    /// JSON object text.
    pub metadata: &'a str,
    pub created: &'a str,
    /// (order id, position 1..quantity) for licenses issued from a batch.
    pub order: Option<(&'a str, i64)>,
}

/// Inserts a license and its `license.issue` audit row, inside the caller's transaction.
pub(crate) fn insert_license(
    conn: &rusqlite::Connection,
    audit_key: &AuditKey,
    actor: &str,
    row: &LicenseRow<'_>,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO licenses (id, key, policy_id, customer_id, signing_key_id, status, expiry,
                               metadata, created_at, updated_at, order_id, order_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, 'active', ?6, ?7, ?8, ?8, ?9, ?10)",
    )?
    .execute(params![
        row.id,
        row.key,
        row.policy.id,
        row.customer_id,
        row.signing_key_id,
        row.expiry,
        row.metadata,
        row.created,
        row.order.map(|o| o.0),
        row.order.map(|o| o.1),
    ])?;
    let mut detail = serde_json::json!({
        "scheme": (!row.policy.unsigned_key).then(|| row.policy.scheme.as_str()),
        "policy": row.policy.id, "product": row.product.code,
        "customer": row.customer_id, "expiry": row.expiry,
        "unsignedKey": row.policy.unsigned_key,
        "keyTemplate": row.policy.key_template.is_some(),
    });
    if let Some((order, seq)) = row.order {
        detail["order"] = order.into();
        detail["seq"] = seq.into();
    }
    audit::append(
        conn,
        audit_key,
        row.created,
        actor,
        &Event {
            action: "license.issue",
            subject_type: Some("license"),
            subject_id: Some(row.id),
            signing_key_kid: row.kid,
            artifact_sha256: Some(sha256_hex(row.key.as_bytes())),
            detail,
        },
    )?;
    Ok(())
}

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
    /// Issues a license under a policy: signs its key with the product's key (read from
    /// the vault first, so a keychain failure writes nothing), then stores the license,
    /// the customer if new, and the audit rows in one transaction.
    pub fn issue_license(&mut self, input: &IssueLicense, now: Timestamp) -> Result<License> {
        let policy = self.find_policy(&input.policy_id)?;
        let product = self.find_product(&policy.product_id)?;
        let (customer_name, customer_email, customer_company) = check_customer(
            input.customer_name.as_deref(),
            input.customer_email.as_deref(),
            input.customer_company.as_deref(),
        )?;
        let metadata = parse_metadata(input.metadata.as_deref())?;

        // Unsigned policies need no private key; signed ones read it before anything
        // is written, so a keychain failure writes nothing.
        let signer = if policy.unsigned_key {
            None
        } else {
            Some(self.signer(&product.signing_key_id, now)?)
        };

        let (created_ts, expiry_ts) = issue_times(now, &policy)?;
        let created = stamp(created_ts);
        let expiry = expiry_ts.map(stamp);
        let id = uuid::Uuid::new_v4().to_string();

        let existing_customer = match &customer_email {
            Some(email) => customer_by_email(self.store.conn(), email)?,
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
        let (license_key, kid) = match &signer {
            None => (self.unique_human_key(&product)?, None),
            Some((key, private)) => (
                sign_license_key(
                    &KeyInput {
                        store_id: self.store.store_id(),
                        policy: &policy,
                        product: &product,
                        license_id: &id,
                        customer_id: customer_id.clone(),
                        email: dataset_email,
                        created: created_ts,
                        expiry: expiry_ts,
                    },
                    private,
                )?,
                Some(key.kid.clone()),
            ),
        };

        let audit_key = self.audit_key()?;
        let tx = self.store.transaction()?;
        if new_customer {
            insert_customer(
                &tx,
                &audit_key,
                &self.actor,
                &created,
                customer_id.as_deref().unwrap_or_default(),
                customer_name.as_deref(),
                customer_email.as_deref(),
                customer_company.as_deref(),
            )?;
        }
        insert_license(
            &tx,
            &audit_key,
            &self.actor,
            &LicenseRow {
                id: &id,
                key: &license_key,
                policy: &policy,
                product: &product,
                customer_id: customer_id.as_deref(),
                signing_key_id: &product.signing_key_id,
                kid: kid.as_deref(),
                expiry: expiry.as_deref(),
                metadata: &serde_json::Value::Object(metadata).to_string(),
                created: &created,
                order: None,
            },
        )?;
        tx.commit()?;
        self.committed();
        self.find_license(&id)
    }

    /// A random human-typable key (see [`human_style`]) that no license has yet.
    fn unique_human_key(&self, product: &Product) -> Result<String> {
        // 120 random bits: a clash is practically impossible; a few tries prove it.
        for _ in 0..8 {
            let key = draw_human_key(product)?;
            let taken: Option<i64> = self
                .store
                .conn()
                .query_row(
                    &format!("SELECT 1 FROM licenses l WHERE {}", key_is("?1")),
                    [&key],
                    |r| r.get(0),
                )
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
        let mut stmt = self.store.conn().prepare(&format!(
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
            .conn()
            .query_row(
                &format!("{} WHERE l.id = ?1 OR {}", select_counted(), key_is("?1")),
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
        let (metadata, updated): (String, String) = self.store.conn().query_row(
            "SELECT metadata, updated_at FROM licenses WHERE id = ?1",
            [&license.id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
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
