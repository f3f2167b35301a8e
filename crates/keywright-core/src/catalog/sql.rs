//! The catalog's SQL (tables `products` and `policies`), one statement for both
//! engines.

use crate::store::db::{args, Db, Row};

use super::model::{
    ExpirationStrategy, HeartbeatBasis, HeartbeatCullStrategy, HeartbeatResurrectionStrategy,
    Policy, Product, Scheme,
};
use super::policies::seats_on_record;
use crate::error::{Error, Result};

const PRODUCT_COLUMNS: &str = "id, name, code, url, support_message, signing_key_id, created_at";
const POLICY_COLUMNS: &str =
    "id, product_id, name, scheme, duration_seconds, max_machines, floating, \
     file_ttl_seconds, encrypt, entitlements, created_at, key_template, unsigned_key, \
     expiration_strategy, strict, offline_grace_seconds, allow_transfer, require_heartbeat, \
     heartbeat_duration_seconds, heartbeat_cull_strategy, heartbeat_resurrection_strategy, \
     heartbeat_basis";

fn product_row(r: &Row<'_>) -> Result<Product> {
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

fn policy_row(r: &Row<'_>) -> Result<Policy> {
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
        expiration_strategy: ExpirationStrategy::parse(&r.get::<String>(13)?).unwrap_or_default(),
        strict: r.get(14)?,
        offline_grace_seconds: r.get(15)?,
        allow_transfer: r.get(16)?,
        // NULL (a row older than heartbeats): Keygen's defaults.
        require_heartbeat: r.get::<Option<bool>>(17)?.unwrap_or(false),
        heartbeat_duration_seconds: r.get(18)?,
        heartbeat_cull_strategy: r
            .get::<Option<String>>(19)?
            .and_then(|s| HeartbeatCullStrategy::parse(&s))
            .unwrap_or_default(),
        heartbeat_resurrection_strategy: r
            .get::<Option<String>>(20)?
            .and_then(|s| HeartbeatResurrectionStrategy::parse(&s))
            .unwrap_or_default(),
        heartbeat_basis: r
            .get::<Option<String>>(21)?
            .and_then(|s| HeartbeatBasis::parse(&s))
            .unwrap_or_default(),
    })
}

/// The id of the product with this code, if any.
pub(super) fn product_with_code(db: Db<'_>, code: &str) -> Result<Option<String>> {
    db.query_opt(
        "SELECT id FROM products WHERE code = ?1",
        args![code],
        |r| r.get(0),
    )
}

/// Inserts a product.
pub(super) fn insert_product(db: Db<'_>, p: &Product) -> Result<()> {
    db.execute(
        "INSERT INTO products (id, name, code, url, support_message, signing_key_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        args![
            &p.id,
            &p.name,
            &p.code,
            p.url.as_deref(),
            p.support_message.as_deref(),
            &p.signing_key_id,
            &p.created_at
        ],
    )?;
    Ok(())
}

/// Every product, by name.
pub(super) fn products(db: Db<'_>) -> Result<Vec<Product>> {
    db.query(
        &format!("SELECT {PRODUCT_COLUMNS} FROM products ORDER BY name, code"),
        &[],
        product_row,
    )
}

/// The products whose id, code or name is `reference`.
pub(super) fn products_named(db: Db<'_>, reference: &str) -> Result<Vec<Product>> {
    // (A cached statement on SQLite: every request of the activation server looks its
    // product up.)
    db.query(
        &format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE id = ?1 OR code = ?1 OR name = ?1"),
        args![reference],
        product_row,
    )
}

/// Points product `product_id` at signing key `key_id`.
pub(super) fn set_signing_key(db: Db<'_>, product_id: &str, key_id: &str) -> Result<()> {
    db.execute(
        "UPDATE products SET signing_key_id = ?1 WHERE id = ?2",
        args![key_id, product_id],
    )?;
    Ok(())
}

/// The codes of the products signed by key `key_id` (retiring a key names them).
pub(crate) fn codes_signed_by(db: Db<'_>, key_id: &str) -> Result<Vec<String>> {
    db.query(
        "SELECT code FROM products WHERE signing_key_id = ?1 ORDER BY code",
        args![key_id],
        |r| r.get(0),
    )
}

/// The id of product `product_id`'s policy named `name`, if any.
pub(super) fn policy_named_in(db: Db<'_>, product_id: &str, name: &str) -> Result<Option<String>> {
    db.query_opt(
        "SELECT id FROM policies WHERE product_id = ?1 AND name = ?2",
        args![product_id, name],
        |r| r.get(0),
    )
}

/// Inserts a policy.
pub(super) fn insert_policy(db: Db<'_>, p: &Policy) -> Result<()> {
    let entitlements_json =
        serde_json::to_string(&p.entitlements).map_err(|e| Error::bad_input(e.to_string()))?;
    db.execute(
        "INSERT INTO policies (id, product_id, name, scheme, duration_seconds, max_machines, floating,
                               file_ttl_seconds, encrypt, entitlements, created_at, key_template,
                               unsigned_key, expiration_strategy, strict, offline_grace_seconds,
                               allow_transfer, require_heartbeat, heartbeat_duration_seconds,
                               heartbeat_cull_strategy, heartbeat_resurrection_strategy,
                               heartbeat_basis)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                 ?18, ?19, ?20, ?21, ?22)",
        args![
            &p.id,
            &p.product_id,
            &p.name,
            p.scheme.as_str(),
            p.duration_seconds,
            p.max_machines,
            p.floating,
            p.file_ttl_seconds,
            p.encrypt,
            entitlements_json,
            &p.created_at,
            p.key_template.as_deref(),
            p.unsigned_key,
            p.expiration_strategy.as_str(),
            p.strict,
            p.offline_grace_seconds,
            p.allow_transfer,
            p.require_heartbeat,
            p.heartbeat_duration_seconds,
            p.heartbeat_cull_strategy.as_str(),
            p.heartbeat_resurrection_strategy.as_str(),
            p.heartbeat_basis.as_str()
        ],
    )?;
    Ok(())
}

/// Every policy, by product then name.
pub(super) fn policies(db: Db<'_>) -> Result<Vec<Policy>> {
    db.query(
        &format!("SELECT {POLICY_COLUMNS} FROM policies ORDER BY product_id, name"),
        &[],
        policy_row,
    )
}

/// The policies whose id or name is `reference`.
pub(super) fn policies_named(db: Db<'_>, reference: &str) -> Result<Vec<Policy>> {
    db.query(
        &format!("SELECT {POLICY_COLUMNS} FROM policies WHERE id = ?1 OR name = ?1"),
        args![reference],
        policy_row,
    )
}

/// Sets policy `id`'s heartbeat settings.
pub(super) fn set_heartbeat(
    db: Db<'_>,
    id: &str,
    require: bool,
    duration: Option<i64>,
    cull: HeartbeatCullStrategy,
    resurrection: HeartbeatResurrectionStrategy,
    basis: HeartbeatBasis,
) -> Result<()> {
    db.execute(
        "UPDATE policies SET require_heartbeat = ?2, heartbeat_duration_seconds = ?3,
             heartbeat_cull_strategy = ?4, heartbeat_resurrection_strategy = ?5,
             heartbeat_basis = ?6
         WHERE id = ?1",
        args![
            id,
            require,
            duration,
            cull.as_str(),
            resurrection.as_str(),
            basis.as_str()
        ],
    )?;
    Ok(())
}
