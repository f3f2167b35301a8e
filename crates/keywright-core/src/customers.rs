//! Customers as the Customers screen lists them: with their license counts.

use rusqlite::types::Value;

use crate::error::{Error, Result};
use crate::model::{CustomerQuery, CustomerSummary};
use crate::search::like_pattern;
use crate::Keywright;

/// Customers listed when the query names no limit.
const DEFAULT_LIMIT: i64 = 100;
/// The most customers one query returns.
const MAX_LIMIT: i64 = 500;

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
        let mut args: Vec<Value> = Vec::new();
        let filter = match crate::clean(query.text.as_deref()) {
            Some(text) if text.chars().count() > 200 => {
                return Err(Error::bad_input(
                    "search text is too long (at most 200 characters)",
                ))
            }
            Some(text) => {
                args.push(Value::Text(like_pattern(&text)));
                "WHERE c.name LIKE ?1 ESCAPE '\\' OR c.email LIKE ?1 ESCAPE '\\' OR c.company LIKE ?1 ESCAPE '\\'"
            }
            None => "",
        };
        // The page of customers first (walking `customers_sort`, the index of this
        // order), then license counts for those rows only: counting for every
        // customer before sorting read the whole store.
        let mut stmt = self.store.conn().prepare(&format!(
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
}
