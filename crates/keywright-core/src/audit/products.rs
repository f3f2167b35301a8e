//! `audit verify`'s check of the product index (`audit_products`, which the filter by
//! product reads): it is outside the rows' hashes, so the products each event concerns
//! are worked out again during the pass over the log, from the event and the store
//! (what [`super::sql::insert_products`] wrote), and compared with the index in one
//! read of it in key order. Licenses, machines and policies never change their policy,
//! license or product, and none is deleted, so this holds for an event's whole life.

use std::collections::HashMap;

use super::batch::Committed;
use super::AuditEvent;
use crate::error::Result;
use crate::store::db::Db;

/// The products each event should be filed under, gathered as the log is read.
pub(super) struct Expected {
    /// Product id → its number below.
    products: HashMap<String, usize>,
    policies: HashMap<String, usize>,
    licenses: HashMap<String, usize>,
    machines: HashMap<String, usize>,
    /// Per product (by number), the events it concerns, in log order.
    seqs: Vec<Vec<i64>>,
}

/// How the index differs from what the log says: (events missing from it, the first of
/// them) and (rows filing an event under a product it does not concern, the first).
pub(super) type Differences = [(i64, Option<i64>); 2];

impl Expected {
    /// Which product each policy, license and machine of the store belongs to.
    pub(super) fn load(db: Db<'_>) -> Result<Self> {
        let mut products = HashMap::new();
        db.for_each("SELECT id FROM products", &[], |r| {
            let n = products.len();
            products.insert(r.get::<String>(0)?, n);
            Ok(true)
        })?;
        let owned = |sql: &str| -> Result<HashMap<String, usize>> {
            let mut map = HashMap::new();
            db.for_each(sql, &[], |r| {
                if let Some(&n) = products.get(&r.get::<String>(1)?) {
                    map.insert(r.get::<String>(0)?, n);
                }
                Ok(true)
            })?;
            Ok(map)
        };
        let policies = owned("SELECT id, product_id FROM policies")?;
        let licenses = owned(
            "SELECT l.id, p.product_id FROM licenses l JOIN policies p ON p.id = l.policy_id",
        )?;
        let machines = owned(
            "SELECT m.id, p.product_id FROM machines m JOIN licenses l ON l.id = m.license_id
             JOIN policies p ON p.id = l.policy_id",
        )?;
        Ok(Self {
            seqs: vec![Vec::new(); products.len()],
            products,
            policies,
            licenses,
            machines,
        })
    }

    /// Notes the products `e` concerns; `batch` is what a batch's row committed to.
    pub(super) fn note(&mut self, e: &AuditEvent, batch: &[Committed]) {
        let id = e.subject_id.as_deref().unwrap_or_default();
        let mut found: Vec<usize> = match e.subject_type.as_deref() {
            Some("product") => self.products.get(id).copied().into_iter().collect(),
            Some("policy") => self.policies.get(id).copied().into_iter().collect(),
            Some("license") => self.licenses.get(id).copied().into_iter().collect(),
            Some("machine") => self.machines.get(id).copied().into_iter().collect(),
            _ => batch
                .iter()
                .filter(|c| c.kind == "license")
                .filter_map(|c| self.licenses.get(&c.id).copied())
                .collect(),
        };
        found.sort_unstable();
        found.dedup();
        for n in found {
            self.seqs[n].push(e.seq);
        }
    }

    /// Reads the index in key order (product, then position) beside what was gathered.
    pub(super) fn compare(mut self, db: Db<'_>) -> Result<Differences> {
        let mut missing = (0i64, None::<i64>);
        let mut extra = (0i64, None::<i64>);
        fn add(to: &mut (i64, Option<i64>), seq: i64) {
            to.0 += 1;
            to.1 = Some(to.1.map_or(seq, |s| s.min(seq)));
        }
        // The product being read, how far through its expected events, and whether
        // the index named it at all.
        let mut current: Option<(String, Option<usize>, usize)> = None;
        let mut seen = vec![false; self.seqs.len()];
        let finish = |current: &Option<(String, Option<usize>, usize)>,
                      seqs: &[Vec<i64>],
                      missing: &mut (i64, Option<i64>)| {
            if let Some((_, Some(n), at)) = current {
                for &seq in &seqs[*n][*at..] {
                    add(missing, seq);
                }
            }
        };
        db.for_each(
            "SELECT product_id, seq FROM audit_products ORDER BY product_id, seq",
            &[],
            |r| {
                let product: String = r.get(0)?;
                let seq: i64 = r.get(1)?;
                if current.as_ref().map(|c| &c.0) != Some(&product) {
                    finish(&current, &self.seqs, &mut missing);
                    let n = self.products.get(&product).copied();
                    if let Some(n) = n {
                        seen[n] = true;
                    }
                    current = Some((product, n, 0));
                }
                let Some((_, n, at)) = current.as_mut() else {
                    return Ok(true);
                };
                let Some(n) = *n else {
                    add(&mut extra, seq);
                    return Ok(true);
                };
                let expected = &self.seqs[n];
                while *at < expected.len() && expected[*at] < seq {
                    add(&mut missing, expected[*at]);
                    *at += 1;
                }
                if *at < expected.len() && expected[*at] == seq {
                    *at += 1;
                } else {
                    add(&mut extra, seq);
                }
                Ok(true)
            },
        )?;
        finish(&current, &self.seqs, &mut missing);
        for (n, seen) in seen.into_iter().enumerate() {
            if !seen {
                for seq in std::mem::take(&mut self.seqs[n]) {
                    add(&mut missing, seq);
                }
            }
        }
        Ok([missing, extra])
    }
}
