//! The customers' SQL (table `customers`; the list counts their `licenses`).

use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension};

use super::CustomerSummary;
use crate::error::Result;
use crate::store::like_pattern;

/// Customers whose name, email or company contains `text` (any case; all when
/// `None`), A to Z by name (else email), at most `limit`, with their license counts.
pub(super) fn list(
    conn: &Connection,
    text: Option<&str>,
    limit: i64,
) -> Result<Vec<CustomerSummary>> {
    let mut args: Vec<Value> = Vec::new();
    let filter = match text {
        Some(text) => {
            args.push(Value::Text(like_pattern(text)));
            "WHERE c.name LIKE ?1 ESCAPE '\\' OR c.email LIKE ?1 ESCAPE '\\' OR c.company LIKE ?1 ESCAPE '\\'"
        }
        None => "",
    };
    // The page of customers first (walking `customers_sort`, the index of this
    // order), then license counts for those rows only: counting for every
    // customer before sorting read the whole store.
    let mut stmt = conn.prepare(&format!(
        "SELECT c.id, c.name, c.email, c.company, c.created_at, count(l.id),
                coalesce(sum(l.status = 'active'), 0)
         FROM (SELECT c.id, c.name, c.email, c.company, c.created_at FROM customers c
               {filter}
               ORDER BY lower(coalesce(c.name, c.email, '')), c.id
               LIMIT {limit}) c
         LEFT JOIN licenses l ON l.customer_id = c.id
         GROUP BY c.id
         ORDER BY lower(coalesce(c.name, c.email, '')), c.id"
    ))?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| {
        Ok(CustomerSummary {
            id: r.get(0)?,
            name: r.get(1)?,
            email: r.get(2)?,
            company: r.get(3)?,
            created_at: r.get(4)?,
            licenses: r.get(5)?,
            active_licenses: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The customer with this email, oldest first: `(id, email)`.
pub(super) fn by_email(conn: &Connection, email: &str) -> Result<Option<(String, Option<String>)>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, email FROM customers WHERE email = ?1 ORDER BY created_at LIMIT 1",
        )?
        .query_row([email], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// Inserts a customer.
pub(super) fn insert(
    conn: &Connection,
    id: &str,
    name: Option<&str>,
    email: Option<&str>,
    company: Option<&str>,
    created_at: &str,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO customers (id, name, email, company, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![id, name, email, company, created_at])?;
    Ok(())
}

/// When customer `id` was created.
pub(super) fn created_at(conn: &Connection, id: &str) -> Result<String> {
    Ok(conn.query_row(
        "SELECT created_at FROM customers WHERE id = ?1",
        [id],
        |r| r.get(0),
    )?)
}
