//! The names an audit event is about (customer, product, policy, machine, signing
//! key), read for a page of events, so the window can say "Ada Hopper's Zapper Pro —
//! Yearly license was suspended by sam" instead of an action code and an id.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;
use ts_rs::TS;

use super::AuditEvent;
use crate::error::Result;
use crate::store::db::{Db, Row, Value};

/// Who and what one audit event concerns, by name (each absent when it does not apply
/// or the row is gone).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SubjectNames {
    /// The license concerned: the subject itself, or the license of a machine.
    pub license_id: Option<String>,
    /// That license's customer.
    pub customer_id: Option<String>,
    /// The customer's name, or their email when they have no name.
    pub customer: Option<String>,
    /// The product concerned (of the license, the policy, or the product itself).
    pub product_id: Option<String>,
    /// Its name.
    pub product: Option<String>,
    /// The policy's name.
    pub policy: Option<String>,
    /// The machine's name, else its hostname, else its fingerprint.
    pub machine: Option<String>,
    /// The signing key's name: the subject, or the key that signed (by kid).
    pub key: Option<String>,
}

/// An audit event with the names it concerns.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// The event as stored.
    pub event: AuditEvent,
    /// Who and what it concerns, by name.
    pub names: SubjectNames,
}

/// `?1, ?2, …` for `n` arguments.
fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rows `sql` (with `IN ({ids})`) reads for `ids`, none when there are no ids.
fn lookup<T>(
    db: Db<'_>,
    sql: &str,
    ids: &BTreeSet<&str>,
    read: impl FnMut(&Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let args: Vec<Value<'_>> = ids.iter().map(|id| Value::from(*id)).collect();
    db.query(&sql.replace("{ids}", &placeholders(ids.len())), &args, read)
}

/// A license's names (customer, product, policy), read by the license or machine
/// queries below from their first columns on, after `offset` leading columns.
fn license_names(r: &Row<'_>, offset: usize) -> Result<SubjectNames> {
    Ok(SubjectNames {
        license_id: r.get(offset)?,
        customer_id: r.get(offset + 1)?,
        customer: r.get(offset + 2)?,
        product_id: r.get(offset + 3)?,
        product: r.get(offset + 4)?,
        policy: r.get(offset + 5)?,
        ..SubjectNames::default()
    })
}

const LICENSE_COLUMNS: &str =
    "l.id, l.customer_id, coalesce(c.name, c.email), pr.id, pr.name, po.name";
const LICENSE_JOINS: &str = "JOIN policies po ON po.id = l.policy_id
     JOIN products pr ON pr.id = po.product_id
     LEFT JOIN customers c ON c.id = l.customer_id";

/// The names of every event in `events`, in order: a handful of lookups by primary
/// key (one per kind of subject on the page), whatever the page's size.
pub(super) fn names(db: Db<'_>, events: &[AuditEvent]) -> Result<Vec<SubjectNames>> {
    let mut ids: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    let mut kids: BTreeSet<&str> = BTreeSet::new();
    for e in events {
        if let (Some(kind), Some(id)) = (e.subject_type.as_deref(), e.subject_id.as_deref()) {
            ids.entry(kind).or_default().insert(id);
        }
        if let Some(kid) = e.signing_key_kid.as_deref() {
            kids.insert(kid);
        }
    }
    let none = BTreeSet::new();
    let of = |kind: &str| ids.get(kind).unwrap_or(&none);
    let mut found: HashMap<(&'static str, String), SubjectNames> = HashMap::new();

    for n in lookup(
        db,
        &format!(
            "SELECT {LICENSE_COLUMNS} FROM licenses l {LICENSE_JOINS} WHERE l.id IN ({{ids}})"
        ),
        of("license"),
        |r| license_names(r, 0),
    )? {
        found.insert(("license", n.license_id.clone().unwrap_or_default()), n);
    }
    for (id, n) in lookup(
        db,
        &format!(
            "SELECT m.id, coalesce(m.name, m.hostname, m.fingerprint), {LICENSE_COLUMNS}
             FROM machines m JOIN licenses l ON l.id = m.license_id {LICENSE_JOINS}
             WHERE m.id IN ({{ids}})"
        ),
        of("machine"),
        |r| {
            let mut n = license_names(r, 2)?;
            n.machine = r.get(1)?;
            Ok((r.get::<String>(0)?, n))
        },
    )? {
        found.insert(("machine", id), n);
    }
    for (id, name) in lookup(
        db,
        "SELECT id, coalesce(name, email) FROM customers WHERE id IN ({ids})",
        of("customer"),
        |r| Ok((r.get::<String>(0)?, r.get::<Option<String>>(1)?)),
    )? {
        let n = SubjectNames {
            customer_id: Some(id.clone()),
            customer: name,
            ..SubjectNames::default()
        };
        found.insert(("customer", id), n);
    }
    for (id, name) in lookup(
        db,
        "SELECT id, name FROM products WHERE id IN ({ids})",
        of("product"),
        |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)),
    )? {
        let n = SubjectNames {
            product_id: Some(id.clone()),
            product: Some(name),
            ..SubjectNames::default()
        };
        found.insert(("product", id), n);
    }
    for (id, n) in lookup(
        db,
        "SELECT po.id, po.name, pr.id, pr.name FROM policies po
         JOIN products pr ON pr.id = po.product_id WHERE po.id IN ({ids})",
        of("policy"),
        |r| {
            Ok((
                r.get::<String>(0)?,
                SubjectNames {
                    policy: r.get(1)?,
                    product_id: r.get(2)?,
                    product: r.get(3)?,
                    ..SubjectNames::default()
                },
            ))
        },
    )? {
        found.insert(("policy", id), n);
    }
    for (id, name) in lookup(
        db,
        "SELECT id, name FROM signing_keys WHERE id IN ({ids})",
        of("signing_key"),
        |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)),
    )? {
        let n = SubjectNames {
            key: Some(name),
            ..SubjectNames::default()
        };
        found.insert(("signing_key", id), n);
    }
    let key_names: HashMap<String, String> = lookup(
        db,
        "SELECT kid, name FROM signing_keys WHERE kid IN ({ids})",
        &kids,
        |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)),
    )?
    .into_iter()
    .collect();

    Ok(events
        .iter()
        .map(|e| {
            let mut n = match (e.subject_type.as_deref(), e.subject_id.as_deref()) {
                (Some(kind), Some(id)) => [
                    "license",
                    "machine",
                    "customer",
                    "product",
                    "policy",
                    "signing_key",
                ]
                .into_iter()
                .find(|k| *k == kind)
                .and_then(|k| found.get(&(k, id.to_owned())).cloned())
                .unwrap_or_default(),
                _ => SubjectNames::default(),
            };
            if n.key.is_none() {
                n.key = e
                    .signing_key_kid
                    .as_deref()
                    .and_then(|kid| key_names.get(kid).cloned());
            }
            n
        })
        .collect())
}
