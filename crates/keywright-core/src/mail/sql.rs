//! The mail domain's SQL (tables `mail_settings` and `mail_sends`), written once for
//! both engines through [`Db`].

use crate::error::Result;
use crate::store::db::{args, Db};

/// A setting's JSON, if saved.
pub(super) fn setting(db: Db<'_>, name: &str) -> Result<Option<String>> {
    db.query_opt(
        "SELECT value FROM mail_settings WHERE name = ?1",
        args![name],
        |r| r.get(0),
    )
}

/// Saves a setting's JSON.
pub(super) fn put_setting(db: Db<'_>, name: &str, value: &str, at: &str) -> Result<()> {
    db.execute(
        "INSERT INTO mail_settings (name, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        args![name, value, at],
    )?;
    Ok(())
}

/// Removes a setting.
pub(super) fn remove_setting(db: Db<'_>, name: &str) -> Result<()> {
    db.execute("DELETE FROM mail_settings WHERE name = ?1", args![name])?;
    Ok(())
}

/// The ledger's row for an order: `(email, state, detail)`.
pub(super) fn send_state(
    db: Db<'_>,
    order_id: &str,
) -> Result<Option<(String, String, Option<String>)>> {
    db.query_opt(
        "SELECT email, state, detail FROM mail_sends WHERE order_id = ?1",
        args![order_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
}

/// Records an order's state in the ledger.
pub(super) fn set_send_state(
    db: Db<'_>,
    order_id: &str,
    email: &str,
    state: &str,
    at: &str,
    detail: Option<&str>,
) -> Result<()> {
    db.execute(
        "INSERT INTO mail_sends (order_id, email, state, at, detail) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (order_id) DO UPDATE SET email = excluded.email, state = excluded.state,
             at = excluded.at, detail = excluded.detail",
        args![order_id, email, state, at, detail],
    )?;
    Ok(())
}
