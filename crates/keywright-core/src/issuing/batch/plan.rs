//! Planning a batch: every CSV row resolved against the catalog (policy or
//! single-policy product, active signing key), checked (customer, quantity, metadata,
//! repeated order ids) and compared with what the store already holds for its order.
//! Nothing is written.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::csv::{read_csv, Column};
use super::{BatchPreview, BatchRow, MAX_QUANTITY};
use crate::catalog::{Policy, Product};
use crate::customers::check_customer;
use crate::error::Result;
use crate::issuing::sql;
use crate::keys::{KeyStatus, SigningKey};
use crate::Keywright;

/// A row resolved against the store, ready to issue.
pub(super) struct PlannedRow {
    pub(super) policy: Option<Policy>,
    pub(super) metadata_json: String,
    /// Positions in the order still to issue.
    pub(super) missing: Vec<i64>,
    /// Positions already issued.
    pub(super) existing: Vec<i64>,
}

/// What a CSV would issue: the preview the window shows, and per row what issuing needs.
pub(super) struct Plan {
    pub(super) preview: BatchPreview,
    pub(super) rows: Vec<PlannedRow>,
}

/// Everything the plan needs from the store, read once.
pub(super) struct Catalog {
    policies: Vec<Policy>,
    products: Vec<Product>,
    keys: Vec<SigningKey>,
}

impl Catalog {
    pub(super) fn product(&self, id: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.id == id)
    }

    fn find_product(&self, cell: &str) -> std::result::Result<&Product, String> {
        let exact: Vec<&Product> = self
            .products
            .iter()
            .filter(|p| p.id == cell || p.code == cell || p.name == cell)
            .collect();
        let found: Vec<&Product> = if exact.is_empty() {
            self.products
                .iter()
                .filter(|p| {
                    p.code.eq_ignore_ascii_case(cell)
                        || p.name.to_lowercase() == cell.to_lowercase()
                })
                .collect()
        } else {
            exact
        };
        match found.as_slice() {
            [] => Err(format!("unknown product {cell:?}")),
            [one] => Ok(one),
            many => Err(format!(
                "{} products are named {cell:?}; use the product code",
                many.len()
            )),
        }
    }

    fn resolve(&self, policy: &str, product: &str) -> std::result::Result<Policy, String> {
        let product = if product.is_empty() {
            None
        } else {
            Some(self.find_product(product)?)
        };
        let in_scope = |p: &&Policy| product.is_none_or(|pr| pr.id == p.product_id);
        if policy.is_empty() {
            let Some(pr) = product else {
                return Err("no policy and no product given".into());
            };
            let mine: Vec<&Policy> = self.policies.iter().filter(in_scope).collect();
            return match mine.as_slice() {
                [] => Err(format!("product {:?} has no policy yet", pr.name)),
                [one] => Ok((*one).clone()),
                many => Err(format!(
                    "product {:?} has {} policies ({}); name one in a policy column",
                    pr.name,
                    many.len(),
                    many.iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            };
        }
        let exact: Vec<&Policy> = self
            .policies
            .iter()
            .filter(in_scope)
            .filter(|p| p.id == policy || p.name == policy)
            .collect();
        let found: Vec<&Policy> = if exact.is_empty() {
            self.policies
                .iter()
                .filter(in_scope)
                .filter(|p| p.name.to_lowercase() == policy.to_lowercase())
                .collect()
        } else {
            exact
        };
        match (found.as_slice(), product) {
            ([], Some(pr)) => Err(format!(
                "unknown policy {policy:?} for product {:?}",
                pr.name
            )),
            ([], None) => Err(format!("unknown policy {policy:?}")),
            ([one], _) => Ok((*one).clone()),
            (many, _) => Err(format!(
                "{} policies are named {policy:?} (in different products); add a product column or use the policy id",
                many.len()
            )),
        }
    }
}

fn parse_quantity(cell: &str) -> std::result::Result<u32, String> {
    if cell.is_empty() {
        return Ok(1);
    }
    match cell.parse::<u32>() {
        Ok(n) if (1..=MAX_QUANTITY).contains(&n) => Ok(n),
        _ => Err(format!(
            "quantity {cell:?} is not a whole number from 1 to {MAX_QUANTITY}"
        )),
    }
}

/// Where the known columns are, and which ones become metadata.
struct Layout {
    name: Option<usize>,
    email: Option<usize>,
    company: Option<usize>,
    policy: Option<usize>,
    product: Option<usize>,
    quantity: Option<usize>,
    order: Option<usize>,
    metadata: Vec<(usize, String)>,
    width: usize,
}

impl Layout {
    fn of(columns: &[Column]) -> Result<Self> {
        let col = |c: Column| columns.iter().position(|x| *x == c);
        let metadata: Vec<(usize, String)> = columns
            .iter()
            .enumerate()
            .filter_map(|(i, c)| match c {
                Column::Metadata(name) => Some((i, name.clone())),
                _ => None,
            })
            .collect();
        // Column names become metadata keys: one line, no control characters.
        for (_, name) in &metadata {
            crate::text::check_line("a CSV column name", name)?;
        }
        Ok(Self {
            name: col(Column::Name),
            email: col(Column::Email),
            company: col(Column::Company),
            policy: col(Column::Policy),
            product: col(Column::Product),
            quantity: col(Column::Quantity),
            order: col(Column::OrderId),
            metadata,
            width: columns.len(),
        })
    }
}

/// A row not read yet: no order, no customer, no policy, nothing to issue.
fn blank(line: u64) -> (BatchRow, PlannedRow) {
    (
        BatchRow {
            line,
            order_id: String::new(),
            customer_name: None,
            customer_email: None,
            customer_company: None,
            policy_id: None,
            policy_name: None,
            product_name: None,
            quantity: 0,
            already_issued: 0,
            to_issue: 0,
            metadata: BTreeMap::new(),
            errors: Vec::new(),
            note: None,
        },
        PlannedRow {
            policy: None,
            metadata_json: "{}".into(),
            missing: Vec::new(),
            existing: Vec::new(),
        },
    )
}

/// Reads one row's cells into `row` and `plan`: order id, customer, policy (with its
/// product's signing key), quantity and metadata; what is wrong goes to `row.errors`.
fn read_row(
    fields: &[String],
    layout: &Layout,
    catalog: &Catalog,
    row: &mut BatchRow,
    plan: &mut PlannedRow,
) {
    let cell = |i: Option<usize>| i.map(|i| fields[i].as_str()).unwrap_or("");
    row.order_id = cell(layout.order).to_owned();
    if row.order_id.is_empty() {
        row.errors.push("order id is empty".into());
    } else if row.order_id.chars().count() > 200 {
        row.errors
            .push("order id is too long (at most 200 characters)".into());
    } else if let Err(e) = crate::text::check_line("order id", &row.order_id) {
        row.errors.push(e.message);
    }
    match check_customer(
        Some(cell(layout.name)),
        Some(cell(layout.email)),
        Some(cell(layout.company)),
    ) {
        Ok((name, email, company)) => {
            row.customer_name = name;
            row.customer_email = email;
            row.customer_company = company;
        }
        Err(e) => {
            row.customer_name = crate::clean(Some(cell(layout.name)));
            row.customer_email = crate::clean(Some(cell(layout.email)));
            row.customer_company = crate::clean(Some(cell(layout.company)));
            row.errors.push(e.message);
        }
    }
    match catalog.resolve(cell(layout.policy), cell(layout.product)) {
        Ok(policy) => {
            let product = catalog.product(&policy.product_id);
            row.policy_id = Some(policy.id.clone());
            row.policy_name = Some(policy.name.clone());
            row.product_name = product.map(|p| p.name.clone());
            if let Some(product) = product {
                match catalog.keys.iter().find(|k| k.id == product.signing_key_id) {
                    Some(k) if k.status == KeyStatus::Active => {}
                    Some(k) => row.errors.push(format!(
                        "product {:?} is signed by key {} which is {}; give the product an active key",
                        product.name,
                        k.name,
                        k.status.as_str()
                    )),
                    None => row.errors.push(format!(
                        "product {:?} has no signing key on record",
                        product.name
                    )),
                }
            }
            plan.policy = Some(policy);
        }
        Err(e) => row.errors.push(e),
    }
    match parse_quantity(cell(layout.quantity)) {
        Ok(q) => row.quantity = q,
        Err(e) => row.errors.push(e),
    }
    for (i, name) in &layout.metadata {
        if !fields[*i].is_empty() {
            // A quoted cell may span lines; other controls are refused.
            if let Err(e) = crate::text::check_multiline(&format!("column {name:?}"), &fields[*i]) {
                row.errors.push(e.message);
            }
            row.metadata.insert(name.clone(), fields[*i].clone());
        }
    }
    plan.metadata_json = serde_json::to_string(&row.metadata).unwrap_or_default();
}

/// The same order twice in one file: identical rows count once; rows that disagree
/// are both refused (which one is right is the vendor's call). `orders` maps each
/// order id to its first row (an index into `rows`) and that row's content.
fn check_repeated_order(
    fields: &[String],
    layout: &Layout,
    row: &mut BatchRow,
    plan: &mut PlannedRow,
    rows: &mut [BatchRow],
    orders: &mut HashMap<String, (usize, Vec<String>)>,
) {
    if row.order_id.is_empty() {
        return;
    }
    let content: Vec<String> = fields
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != layout.order)
        .map(|(_, f)| f.clone())
        .collect();
    match orders.get(&row.order_id) {
        None => {
            orders.insert(row.order_id.clone(), (rows.len(), content));
        }
        Some((first, first_content)) => {
            let first_line = rows[*first].line;
            if *first_content == content {
                row.note = Some(format!(
                    "repeats line {first_line} (same order {:?}); issued once",
                    row.order_id
                ));
                row.quantity = 0;
                plan.policy = None;
            } else {
                row.errors.push(format!(
                    "order id {:?} is also on line {first_line} with different content",
                    row.order_id
                ));
                let msg = format!(
                    "order id {:?} is also on line {} with different content",
                    row.order_id, row.line
                );
                if !rows[*first].errors.contains(&msg) {
                    rows[*first].errors.push(msg);
                }
            }
        }
    }
}

/// A bad row gets nothing: no licenses, no files, no draft (its order may belong to
/// someone else).
fn drop_bad_rows(rows: &mut [BatchRow], planned: &mut [PlannedRow]) {
    for (row, plan) in rows.iter_mut().zip(planned.iter_mut()) {
        if !row.errors.is_empty() {
            row.to_issue = 0;
            plan.policy = None;
            plan.missing.clear();
            plan.existing.clear();
        }
    }
}

/// The preview's totals over its rows.
fn summarize(rows: Vec<BatchRow>, metadata: Vec<(usize, String)>) -> BatchPreview {
    BatchPreview {
        bad_rows: rows.iter().filter(|r| !r.errors.is_empty()).count() as u64,
        to_issue: rows.iter().map(|r| u64::from(r.to_issue)).sum(),
        already_issued: rows
            .iter()
            .filter(|r| r.errors.is_empty())
            .map(|r| u64::from(r.already_issued))
            .sum(),
        metadata_columns: metadata.into_iter().map(|(_, n)| n).collect(),
        rows,
    }
}

impl Keywright {
    /// The catalog as the plan needs it: every policy, product and signing key.
    pub(super) fn catalog(&self) -> Result<Catalog> {
        Ok(Catalog {
            policies: self.list_policies()?,
            products: self.list_products()?,
            keys: self.list_signing_keys()?,
        })
    }

    /// Reads a CSV and resolves every row against the catalog and the store.
    pub(super) fn plan_batch(&self, csv: &[u8]) -> Result<Plan> {
        let (columns, raw) = read_csv(csv)?;
        let catalog = self.catalog()?;
        let layout = Layout::of(&columns)?;

        let mut rows: Vec<BatchRow> = Vec::with_capacity(raw.len());
        let mut planned: Vec<PlannedRow> = Vec::with_capacity(raw.len());
        // order id -> (index of its first row, the content it must match)
        let mut orders: HashMap<String, (usize, Vec<String>)> = HashMap::new();

        for r in &raw {
            let (mut row, mut plan) = blank(r.line);
            match &r.fields {
                None => row.errors.push(format!(
                    "has {} fields; the header has {}",
                    r.field_count, layout.width
                )),
                Some(fields) => {
                    read_row(fields, &layout, &catalog, &mut row, &mut plan);
                    check_repeated_order(
                        fields,
                        &layout,
                        &mut row,
                        &mut plan,
                        &mut rows,
                        &mut orders,
                    );
                }
            }
            rows.push(row);
            planned.push(plan);
        }
        self.compare_with_store(&mut rows, &mut planned, &catalog)?;
        drop_bad_rows(&mut rows, &mut planned);
        Ok(Plan {
            preview: summarize(rows, layout.metadata),
            rows: planned,
        })
    }

    /// What the store already holds for each row's order: positions issued (an earlier
    /// run), and orders issued under another policy, to another customer or beyond
    /// the quantity, which are errors.
    fn compare_with_store(
        &self,
        rows: &mut [BatchRow],
        planned: &mut [PlannedRow],
        catalog: &Catalog,
    ) -> Result<()> {
        for (row, plan) in rows.iter_mut().zip(planned.iter_mut()) {
            if row.order_id.is_empty() || row.note.is_some() {
                continue;
            }
            let existing = sql::order_licenses(self.store.db(), &row.order_id)?;
            if let Some(policy) = &plan.policy {
                if let Some((_, other, _)) = existing.iter().find(|(_, p, _)| *p != policy.id) {
                    let other_name = catalog
                        .policies
                        .iter()
                        .find(|p| p.id == *other)
                        .map_or(other.as_str(), |p| p.name.as_str());
                    row.errors.push(format!(
                        "order {:?} was already issued under policy {other_name:?}, not {:?}",
                        row.order_id, policy.name
                    ));
                }
            }
            let lower = |e: Option<&str>| e.map(str::to_lowercase);
            if let Some((_, _, Some(email))) = existing.iter().find(|(_, _, e)| {
                e.is_some() && lower(e.as_deref()) != lower(row.customer_email.as_deref())
            }) {
                row.errors.push(format!(
                    "order {:?} was already issued to {email}, not {}",
                    row.order_id,
                    row.customer_email
                        .as_deref()
                        .unwrap_or("a customer without email")
                ));
            }
            if let Some((seq, _, _)) = existing
                .iter()
                .find(|(s, _, _)| *s > i64::from(row.quantity))
            {
                if row.quantity > 0 {
                    row.errors.push(format!(
                        "order {:?} already has license #{seq}, more than the quantity {}",
                        row.order_id, row.quantity
                    ));
                }
            }
            let have: BTreeSet<i64> = existing.iter().map(|(s, _, _)| *s).collect();
            plan.existing = have
                .iter()
                .copied()
                .filter(|s| *s <= i64::from(row.quantity))
                .collect();
            plan.missing = (1..=i64::from(row.quantity))
                .filter(|s| !have.contains(s))
                .collect();
            row.already_issued = plan.existing.len() as u32;
            row.to_issue = plan.missing.len() as u32;
        }
        Ok(())
    }
}
