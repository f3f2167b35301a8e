//! Issuing a license (and reading licenses back): the key signed (or drawn, for an
//! unsigned policy) before any transaction, then customer, license and audit rows in
//! one. The building blocks here are what a batch uses too.

use jiff::Timestamp;
use keywright_license::issue::{human_key, sign_key, SigningKey as PrivateKey};
use keywright_license::{keygen_expiry, parse_time};

use super::model::{IssueLicense, License};
use super::sql::{self, LicenseRow};
use crate::audit::{self, sha256_hex, AuditKey, Event};
use crate::catalog::{embedded_dataset, human_style, LicenseFacts, Policy, Product};
use crate::customers;
use crate::error::{Error, ErrorCode, Result};
use crate::store::db::Db;
use crate::{clean, stamp, Keywright};

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
    Ok(sign_key(
        input.policy.scheme.to_format(),
        embedded.as_bytes(),
        private,
        &mut rand_core::OsRng,
    )?)
}

/// A random human-typable key for an unsigned policy's license (≈ 120 bits; see
/// [`human_style`]). Callers that can, check it is unused.
pub(crate) fn draw_human_key(product: &Product) -> Result<String> {
    Ok(human_key(
        &human_style(&product.code),
        &mut rand_core::OsRng,
    )?)
}

/// Inserts a license and its `license.issue` audit row, inside the caller's transaction.
pub(crate) fn insert_license(
    db: Db<'_>,
    audit_key: &AuditKey,
    actor: &str,
    row: &LicenseRow<'_>,
) -> Result<()> {
    sql::insert(db, row)?;
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
        db,
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
            ..Event::default()
        },
    )?;
    Ok(())
}

impl Keywright {
    /// Issues a license under a policy: signs its key with the product's key (read from
    /// the vault first, so a keychain failure writes nothing), then stores the license,
    /// the customer if new, and the audit rows in one transaction.
    pub fn issue_license(&mut self, input: &IssueLicense, now: Timestamp) -> Result<License> {
        let policy = self.find_policy(&input.policy_id)?;
        let product = self.find_product(&policy.product_id)?;
        let (customer_name, customer_email, customer_company) = customers::check_customer(
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
            Some(email) => self.customer_by_email(email)?,
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
            customers::insert_customer(
                tx.db(),
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
            tx.db(),
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
                customer_sort: None,
                proof: None,
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
            if !sql::key_taken(self.store.db(), &key)? {
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
        sql::list(self.store.db())
    }

    /// A license by id or key.
    pub fn find_license(&self, reference: &str) -> Result<License> {
        let reference = reference.trim();
        sql::find(self.store.db(), reference)?
            .ok_or_else(|| Error::not_found(format!("no license with id or key {reference:?}")))
    }
}
