//! Customers: who licenses are issued to, and the Customers screen's list (with
//! license counts). A customer is created by the first license issued to them (see
//! [`insert_customer`], which issuing calls inside its transaction).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::audit::{self, AuditKey, Event};
use crate::error::{Error, Result};
use crate::store::db::Db;
use crate::Keywright;

mod sql;

/// Customers listed when the query names no limit.
const DEFAULT_LIMIT: i64 = 100;
/// The most customers one query returns.
const MAX_LIMIT: i64 = 500;

/// Which customers to list.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct CustomerQuery {
    /// Part of the name or email (any case).
    pub text: Option<String>,
    /// At most this many: 100 when absent, at most 500.
    #[ts(type = "number | null")]
    pub limit: Option<i64>,
}

/// A customer with how many licenses they hold.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CustomerSummary {
    /// Row id (UUID).
    pub id: String,
    /// Name, if given.
    pub name: Option<String>,
    /// Email, if given.
    pub email: Option<String>,
    /// Company, if given.
    pub company: Option<String>,
    /// When they were first issued a license.
    pub created_at: String,
    /// Licenses ever issued to them.
    #[ts(type = "number")]
    pub licenses: i64,
    /// Of those, how many are active.
    #[ts(type = "number")]
    pub active_licenses: i64,
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

/// Inserts a new customer and its audit row, inside the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub(crate) fn insert_customer(
    db: Db<'_>,
    audit_key: &AuditKey,
    actor: &str,
    at: &str,
    id: &str,
    name: Option<&str>,
    email: Option<&str>,
    company: Option<&str>,
) -> Result<()> {
    sql::insert(db, id, name, email, company, at, None)?;
    let mut detail = serde_json::json!({ "name": name, "email": email });
    if let Some(company) = company {
        detail["company"] = company.into();
    }
    audit::append(
        db,
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

/// Inserts a customer a batch creates: no audit row of its own, the batch's row
/// commits to it (`proof`: that row's position, this customer's leaf position, its
/// leaf hash, [`crate::audit::batch::customer_leaf`]).
#[allow(clippy::too_many_arguments)]
pub(crate) fn insert_batch_customer(
    db: Db<'_>,
    at: &str,
    id: &str,
    name: Option<&str>,
    email: Option<&str>,
    company: Option<&str>,
    proof: (i64, i64, &str),
) -> Result<()> {
    sql::insert(db, id, name, email, company, at, Some(proof))
}

/// The sort key a customer's licenses carry (`licenses.customer_sort`): the name,
/// else the email, lowercased as SQLite's `lower()` does (ASCII letters only), else
/// U+10FFFF so that licenses without one sort last. The same as the store's trigger.
pub(crate) fn sort_key(name: Option<&str>, email: Option<&str>) -> String {
    name.or(email)
        .map(str::to_ascii_lowercase)
        .unwrap_or_else(|| char::MAX.to_string())
}

impl Keywright {
    /// Customers whose name, email or company contains `query.text` (any case), A to Z by
    /// name (else email), with how many licenses each holds.
    pub fn list_customers(&self, query: &CustomerQuery) -> Result<Vec<CustomerSummary>> {
        let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::bad_input(format!(
                "a customer list holds 1 to {MAX_LIMIT} customers; got {limit}"
            )));
        }
        let text = crate::clean(query.text.as_deref());
        if text.as_ref().is_some_and(|t| t.chars().count() > 200) {
            return Err(Error::bad_input(
                "search text is too long (at most 200 characters)",
            ));
        }
        sql::list(self.store.db(), text.as_deref(), limit)
    }

    /// The customer with this email, oldest first: `(id, email)`.
    pub(crate) fn customer_by_email(
        &self,
        email: &str,
    ) -> Result<Option<(String, Option<String>)>> {
        sql::by_email(self.store.db(), email)
    }

    /// When customer `id` was created (a license file's included owner).
    pub(crate) fn customer_created_at(&self, id: &str) -> Result<String> {
        sql::created_at(self.store.db(), id)
    }
}
