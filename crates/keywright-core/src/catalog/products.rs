//! Products: what a vendor sells, each signed by one key (which can be rotated).

use jiff::Timestamp;

use super::model::{NewProduct, Product};
use super::sql;
use crate::audit::{self, Event};
use crate::error::{Error, Result};
use crate::{clean, required, stamp, Keywright};

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
                .find(|k| k.cannot_sign_at(&stamp(now)).is_none())
                .ok_or_else(|| Error::bad_input("create a signing key before the first product"))?,
        };
        if let Some(why) = key.cannot_sign_at(&stamp(now)) {
            return Err(Error::conflict(format!(
                "{why}; a product needs an active key"
            )));
        }
        if sql::product_with_code(self.store.db(), &code)?.is_some() {
            return Err(Error::conflict(format!(
                "a product with code {code} already exists"
            )));
        }

        let id = uuid::Uuid::new_v4().to_string();
        let at = stamp(now);
        let product = Product {
            id: id.clone(),
            name,
            code,
            url,
            support_message,
            signing_key_id: key.id.clone(),
            created_at: at.clone(),
        };
        let audit_key = self.audit_key()?;
        let tx = self.store.transaction()?;
        sql::insert_product(tx.db(), &product)?;
        audit::append(
            tx.db(),
            &audit_key,
            &at,
            &self.actor,
            &Event {
                action: "product.create",
                subject_type: Some("product"),
                subject_id: Some(&id),
                detail: serde_json::json!({
                    "name": product.name, "code": product.code, "signingKey": key.kid,
                }),
                ..Event::default()
            },
        )?;
        tx.commit()?;
        self.committed();
        self.find_product(&id)
    }

    /// Every product, by name.
    pub fn list_products(&self) -> Result<Vec<Product>> {
        sql::products(self.store.db())
    }

    /// A product by id, code or unique name.
    pub fn find_product(&self, reference: &str) -> Result<Product> {
        let reference = reference.trim();
        let mut rows = sql::products_named(self.store.db(), reference)?;
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

    /// Points a product at another active signing key (key rotation): new licenses and
    /// files are signed with it; licenses signed before keep verifying with the old
    /// public key.
    pub fn set_product_signing_key(
        &mut self,
        product: &str,
        key: &str,
        now: Timestamp,
    ) -> Result<Product> {
        let product = self.find_product(product)?;
        let new_key = self.find_signing_key(key)?;
        if let Some(why) = new_key.cannot_sign_at(&stamp(now)) {
            return Err(Error::conflict(format!("{why}; choose an active key")));
        }
        let old_key = self.find_signing_key(&product.signing_key_id)?;
        if old_key.id == new_key.id {
            return Ok(product);
        }
        let at = stamp(now);
        let audit_key = self.audit_key()?;
        let tx = self.store.transaction()?;
        sql::set_signing_key(tx.db(), &product.id, &new_key.id)?;
        audit::append(
            tx.db(),
            &audit_key,
            &at,
            &self.actor,
            &Event {
                action: "product.set_key",
                subject_type: Some("product"),
                subject_id: Some(&product.id),
                signing_key_kid: Some(&new_key.kid),
                detail: serde_json::json!({ "from": old_key.kid, "to": new_key.kid }),
                ..Event::default()
            },
        )?;
        tx.commit()?;
        self.committed();
        self.find_product(&product.id)
    }
}

#[cfg(test)]
mod tests {
    use super::code_from_name;

    #[test]
    fn codes_from_names() {
        assert_eq!(code_from_name("Zapper Pro 2"), "ZAPPER-PRO-2");
        assert_eq!(code_from_name("  a--b  "), "A-B");
        assert_eq!(code_from_name("ünï"), "N");
        assert!(code_from_name("日本").starts_with("PRODUCT-"));
    }
}
