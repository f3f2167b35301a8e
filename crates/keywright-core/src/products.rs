//! Products and their policies.

use jiff::Timestamp;
use rusqlite::{params, OptionalExtension, Row};

use crate::audit::{self, Event};
use crate::duration::{parse_file_ttl, parse_optional_duration};
use crate::error::{Error, Result};
use crate::model::{ExpirationStrategy, KeyStatus, NewPolicy, NewProduct, Policy, Product, Scheme};
use crate::{clean, required, stamp, Keywright};

const PRODUCT_COLUMNS: &str = "id, name, code, url, support_message, signing_key_id, created_at";
const POLICY_COLUMNS: &str =
    "id, product_id, name, scheme, duration_seconds, max_machines, floating, \
     file_ttl_seconds, encrypt, entitlements, created_at, key_template, unsigned_key, \
     expiration_strategy, strict, offline_grace_seconds, allow_transfer";

fn product_row(r: &Row<'_>) -> rusqlite::Result<Product> {
    Ok(Product {
        id: r.get(0)?,
        name: r.get(1)?,
        code: r.get(2)?,
        url: r.get(3)?,
        support_message: r.get(4)?,
        signing_key_id: r.get(5)?,
        created_at: r.get(6)?,
    })
}

fn policy_row(r: &Row<'_>) -> rusqlite::Result<Policy> {
    let scheme: String = r.get(3)?;
    let entitlements: String = r.get(9)?;
    Ok(Policy {
        id: r.get(0)?,
        product_id: r.get(1)?,
        name: r.get(2)?,
        scheme: Scheme::parse(&scheme).unwrap_or(Scheme::Ed25519Sign),
        duration_seconds: r.get(4)?,
        max_machines: seats_on_record(r.get(6)?, r.get(5)?),
        floating: r.get(6)?,
        file_ttl_seconds: r.get(7)?,
        encrypt: r.get(8)?,
        entitlements: serde_json::from_str(&entitlements).unwrap_or_default(),
        created_at: r.get(10)?,
        key_template: r.get(11)?,
        unsigned_key: r.get(12)?,
        expiration_strategy: ExpirationStrategy::parse(&r.get::<_, String>(13)?)
            .unwrap_or_default(),
        strict: r.get(14)?,
        offline_grace_seconds: r.get(15)?,
        allow_transfer: r.get(16)?,
    })
}

/// The machine limit a stored policy has: a node-locked policy has exactly one
/// machine, as Keygen's. Stores written before this rule may hold a node-locked row
/// with no limit or a limit above 1; activation always allowed it one seat, so it is
/// read (and shown, and written into files) as 1, without rewriting the row.
fn seats_on_record(floating: bool, max_machines: Option<i64>) -> Option<i64> {
    if floating {
        max_machines
    } else {
        Some(1)
    }
}

/// A new policy's machine limit: node-locked = 1 (also when none is given); floating =
/// the limit given, none = unlimited. Node-locked with any other limit is refused.
fn seats_for_new(floating: bool, max_machines: Option<i64>) -> Result<Option<i64>> {
    if let Some(n) = max_machines {
        if n < 1 {
            return Err(Error::bad_input(format!(
                "max machines must be at least 1 (or unlimited); got {n}"
            )));
        }
    }
    match (floating, max_machines) {
        (true, max) => Ok(max),
        (false, None | Some(1)) => Ok(Some(1)),
        (false, Some(n)) => Err(Error::bad_input(format!(
            "a node-locked policy has exactly one machine, so max machines {n} needs a \
             floating policy: add --floating (in the window: tick Floating)"
        ))),
    }
}

/// `Zapper Pro 2` → `ZAPPER-PRO-2`.
fn code_from_name(name: &str) -> String {
    let mut code = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            code.push(c.to_ascii_uppercase());
        } else if !code.ends_with('-') && !code.is_empty() {
            code.push('-');
        }
    }
    let code = code.trim_end_matches('-').to_owned();
    if code.is_empty() {
        // A name with no ASCII letters or digits still needs a typable code.
        format!(
            "PRODUCT-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..6].to_ascii_uppercase()
        )
    } else {
        code
    }
}

fn check_code(code: &str) -> Result<String> {
    let code = code.trim().to_owned();
    crate::text::check_line("product code", &code)?;
    if code.is_empty()
        || code.len() > 64
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::bad_input(format!(
            "product code {code:?} must be 1–64 letters, digits, '-' or '_'"
        )));
    }
    Ok(code)
}

pub(crate) fn check_entitlement(code: &str) -> Result<String> {
    let code = code.trim();
    crate::text::check_line("entitlement code", code)?;
    if code.is_empty()
        || code.len() > 64
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        return Err(Error::bad_input(format!(
            "entitlement code {code:?} must be 1–64 letters, digits, '-', '_' or '.'"
        )));
    }
    Ok(code.to_owned())
}

impl Keywright {
    /// Creates a product signed by the given (or newest active) key.
    pub fn create_product(&mut self, input: &NewProduct, now: Timestamp) -> Result<Product> {
        let name = required("product name", &input.name, 200)?;
        let code = match clean(input.code.as_deref()) {
            Some(code) => check_code(&code)?,
            None => code_from_name(&name),
        };
        let url = crate::text::line("product URL", input.url.as_deref())?;
        if let Some(u) = &url {
            if !(u.starts_with("https://") || u.starts_with("http://")) {
                return Err(Error::bad_input(format!(
                    "product URL {u:?} must start with https:// or http://"
                )));
            }
        }
        let support_message =
            crate::text::multiline("support message", input.support_message.as_deref())?;
        let key = match clean(input.signing_key_id.as_deref()) {
            Some(reference) => self.find_signing_key(&reference)?,
            None => self
                .list_signing_keys()?
                .into_iter()
                .find(|k| k.status == KeyStatus::Active)
                .ok_or_else(|| Error::bad_input("create a signing key before the first product"))?,
        };
        if key.status != KeyStatus::Active {
            return Err(Error::conflict(format!(
                "signing key {} is {}; a product needs an active key",
                key.name,
                key.status.as_str()
            )));
        }
        let exists: Option<String> = self
            .store
            .conn()
            .query_row("SELECT id FROM products WHERE code = ?1", [&code], |r| {
                r.get(0)
            })
            .optional()?;
        if exists.is_some() {
            return Err(Error::conflict(format!(
                "a product with code {code} already exists"
            )));
        }

        let id = uuid::Uuid::new_v4().to_string();
        let at = stamp(now);
        let audit_key = self.audit_key()?;
        let tx = self.store.transaction()?;
        tx.execute(
            "INSERT INTO products (id, name, code, url, support_message, signing_key_id, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![id, name, code, url, support_message, key.id, at],
        )?;
        audit::append(
            &tx,
            &audit_key,
            &at,
            &self.actor,
            &Event {
                action: "product.create",
                subject_type: Some("product"),
                subject_id: Some(&id),
                detail: serde_json::json!({ "name": name, "code": code, "signingKey": key.kid }),
                ..Event::default()
            },
        )?;
        tx.commit()?;
        self.committed();
        self.find_product(&id)
    }

    /// Every product, by name.
    pub fn list_products(&self) -> Result<Vec<Product>> {
        let mut stmt = self.store.conn().prepare(&format!(
            "SELECT {PRODUCT_COLUMNS} FROM products ORDER BY name, code"
        ))?;
        let rows = stmt.query_map([], product_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A product by id, code or unique name.
    pub fn find_product(&self, reference: &str) -> Result<Product> {
        let reference = reference.trim();
        let mut stmt = self.store.conn().prepare(&format!(
            "SELECT {PRODUCT_COLUMNS} FROM products WHERE id = ?1 OR code = ?1 OR name = ?1"
        ))?;
        let mut rows: Vec<Product> = stmt
            .query_map([reference], product_row)?
            .collect::<rusqlite::Result<_>>()?;
        if let Some(i) = rows
            .iter()
            .position(|p| p.id == reference || p.code == reference)
        {
            return Ok(rows.swap_remove(i));
        }
        match rows.len() {
            0 => Err(Error::not_found(format!(
                "no product with id, code or name {reference:?}"
            ))),
            1 => Ok(rows.remove(0)),
            n => Err(Error::bad_input(format!(
                "{n} products are named {reference:?}; use the code or id"
            ))),
        }
    }

    /// Creates a policy for a product.
    pub fn create_policy(&mut self, input: &NewPolicy, now: Timestamp) -> Result<Policy> {
        let product = self.find_product(&input.product_id)?;
        let name = required("policy name", &input.name, 200)?;
        let duration = parse_optional_duration(input.duration.as_deref())?;
        let options = self.key_options(input, &product, duration, now)?;
        let scheme = options.scheme;
        let max_machines = seats_for_new(input.floating, input.max_machines)?;
        let ttl = parse_file_ttl(input.file_ttl.as_deref())?;
        let grace = parse_optional_duration(input.offline_grace.as_deref())
            .map_err(|e| Error::bad_input(format!("offline grace: {}", e.message)))?;
        let strategy = input.expiration_strategy.unwrap_or_default();
        let allow_transfer = input.allow_transfer.unwrap_or(true);
        let mut entitlements = Vec::new();
        for e in &input.entitlements {
            let e = check_entitlement(e)?;
            if !entitlements.contains(&e) {
                entitlements.push(e);
            }
        }
        let taken: Option<String> = self
            .store
            .conn()
            .query_row(
                "SELECT id FROM policies WHERE product_id = ?1 AND name = ?2",
                params![product.id, name],
                |r| r.get(0),
            )
            .optional()?;
        if taken.is_some() {
            return Err(Error::conflict(format!(
                "product {} already has a policy named {name:?}",
                product.name
            )));
        }

        let id = uuid::Uuid::new_v4().to_string();
        let at = stamp(now);
        let entitlements_json =
            serde_json::to_string(&entitlements).map_err(|e| Error::bad_input(e.to_string()))?;
        let audit_key = self.audit_key()?;
        let tx = self.store.transaction()?;
        tx.execute(
            "INSERT INTO policies (id, product_id, name, scheme, duration_seconds, max_machines, floating,
                                   file_ttl_seconds, encrypt, entitlements, created_at, key_template,
                                   unsigned_key, expiration_strategy, strict, offline_grace_seconds,
                                   allow_transfer)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
            params![
                id,
                product.id,
                name,
                scheme.as_str(),
                duration,
                max_machines,
                input.floating,
                ttl,
                input.encrypt,
                entitlements_json,
                at,
                options.template,
                options.unsigned,
                strategy.as_str(),
                input.strict,
                grace,
                allow_transfer
            ],
        )?;
        audit::append(
            &tx,
            &audit_key,
            &at,
            &self.actor,
            &Event {
                action: "policy.create",
                subject_type: Some("policy"),
                subject_id: Some(&id),
                detail: serde_json::json!({
                    "name": name, "product": product.code,
                    "scheme": (!options.unsigned).then(|| scheme.as_str()),
                    "keyTemplate": options.template, "unsignedKey": options.unsigned,
                    "durationSeconds": duration, "maxMachines": max_machines,
                    "floating": input.floating, "fileTtlSeconds": ttl, "encrypt": input.encrypt,
                    "entitlements": entitlements,
                    "expirationStrategy": strategy.as_str(), "strict": input.strict,
                    "offlineGraceSeconds": grace, "allowTransfer": allow_transfer,
                }),
                ..Event::default()
            },
        )?;
        tx.commit()?;
        self.committed();
        self.find_policy(&id)
    }

    /// Every policy, by product then name.
    pub fn list_policies(&self) -> Result<Vec<Policy>> {
        let mut stmt = self.store.conn().prepare(&format!(
            "SELECT {POLICY_COLUMNS} FROM policies ORDER BY product_id, name"
        ))?;
        let rows = stmt.query_map([], policy_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A policy by id or unique name.
    pub fn find_policy(&self, reference: &str) -> Result<Policy> {
        let reference = reference.trim();
        let mut stmt = self.store.conn().prepare(&format!(
            "SELECT {POLICY_COLUMNS} FROM policies WHERE id = ?1 OR name = ?1"
        ))?;
        let mut rows: Vec<Policy> = stmt
            .query_map([reference], policy_row)?
            .collect::<rusqlite::Result<_>>()?;
        if let Some(i) = rows.iter().position(|p| p.id == reference) {
            return Ok(rows.swap_remove(i));
        }
        match rows.len() {
            0 => Err(Error::not_found(format!(
                "no policy with id or name {reference:?}"
            ))),
            1 => Ok(rows.remove(0)),
            n => Err(Error::bad_input(format!(
                "{n} policies are named {reference:?}; use the id"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{code_from_name, seats_for_new, seats_on_record};

    #[test]
    fn node_locked_means_one_machine() {
        assert_eq!(seats_for_new(false, None).unwrap(), Some(1));
        assert_eq!(seats_for_new(false, Some(1)).unwrap(), Some(1));
        assert_eq!(seats_for_new(true, None).unwrap(), None);
        assert_eq!(seats_for_new(true, Some(7)).unwrap(), Some(7));
        for bad in [
            (false, Some(2)),
            (false, Some(i64::MAX)),
            (true, Some(0)),
            (false, Some(-1)),
        ] {
            assert!(seats_for_new(bad.0, bad.1).is_err(), "{bad:?}");
        }
        assert!(seats_for_new(false, Some(2))
            .unwrap_err()
            .message
            .contains("--floating"));
        // Rows written before the rule read as what activation enforced.
        assert_eq!(seats_on_record(false, None), Some(1));
        assert_eq!(seats_on_record(false, Some(3)), Some(1));
        assert_eq!(seats_on_record(true, None), None);
        assert_eq!(seats_on_record(true, Some(3)), Some(3));
    }

    #[test]
    fn codes_from_names() {
        assert_eq!(code_from_name("Zapper Pro 2"), "ZAPPER-PRO-2");
        assert_eq!(code_from_name("  a--b  "), "A-B");
        assert_eq!(code_from_name("ünï"), "N");
        assert!(code_from_name("日本").starts_with("PRODUCT-"));
    }
}
