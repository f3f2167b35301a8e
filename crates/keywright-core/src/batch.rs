//! Batch issuance from a CSV: preview every row, then issue what is missing.
//!
//! A row is one order: a customer (name, email, company), a policy (or a product with a
//! single policy), a quantity and an order id; any other column becomes license
//! metadata. Each license issued for an order records `(order id, 1..quantity)` under a
//! unique index (migration 6), so running the same file again after a crash or a
//! cancel issues only the licenses still missing, never a duplicate.
//!
//! Speed: the private key of each product is read from the vault once per batch, keys
//! are signed on every core, and licenses are committed 500 per IMMEDIATE transaction,
//! each with its audit row (the same building blocks as [`Keywright::issue_license`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use jiff::Timestamp;
use keywright_license::{parse_time, FileAlgorithm, SigningKey as PrivateKey};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::audit::{self, Event};
use crate::error::{Error, ErrorCode, Result};
use crate::licenses::{
    build_document, check_customer, customer_by_email, draw_human_key, insert_customer,
    insert_license, issue_times, seal_license_file, sign_license_key, KeyInput, LicenseRow,
};
use crate::model::{License, Policy, Product, SigningKey};
use crate::{stamp, Keywright};

/// The most licenses one row may order.
pub const MAX_QUANTITY: u32 = 1_000;
/// The most rows one file may hold.
pub const MAX_ROWS: usize = 100_000;
/// The largest CSV file read (bytes).
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;
/// The most columns a CSV may have: the seven the batch knows plus metadata columns
/// (each becomes a metadata key on every license of its row).
pub const MAX_COLUMNS: usize = 256;
/// Licenses committed per transaction.
pub const CHUNK: usize = 500;

/// One CSV row as the preview shows it.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BatchRow {
    /// Its line in the file (the header is line 1).
    #[ts(type = "number")]
    pub line: u64,
    /// The order id.
    pub order_id: String,
    /// Customer's name.
    pub customer_name: Option<String>,
    /// Customer's email.
    pub customer_email: Option<String>,
    /// Customer's company.
    pub customer_company: Option<String>,
    /// The policy the licenses are issued under, when it resolved.
    pub policy_id: Option<String>,
    /// Its name.
    pub policy_name: Option<String>,
    /// Its product's name.
    pub product_name: Option<String>,
    /// Licenses ordered.
    pub quantity: u32,
    /// Of those, how many the store already holds (an earlier run).
    pub already_issued: u32,
    /// How many issuing would add now.
    pub to_issue: u32,
    /// The other columns, as license metadata.
    pub metadata: BTreeMap<String, String>,
    /// Why the row cannot be issued; empty when it can.
    pub errors: Vec<String>,
    /// Something worth knowing that is not an error (a repeated row).
    pub note: Option<String>,
}

/// What a CSV would issue, row by row. Nothing is written to make it.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BatchPreview {
    /// Every row, in file order.
    pub rows: Vec<BatchRow>,
    /// The columns that become metadata.
    pub metadata_columns: Vec<String>,
    /// Rows with at least one error.
    #[ts(type = "number")]
    pub bad_rows: u64,
    /// Licenses issuing would add.
    #[ts(type = "number")]
    pub to_issue: u64,
    /// Licenses of these orders the store already holds.
    #[ts(type = "number")]
    pub already_issued: u64,
}

/// How to issue a batch.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct BatchOptions {
    /// A folder for one `.lic` file per license and one `.eml` draft per customer email.
    pub out_dir: Option<String>,
    /// Issue nothing if any row is bad.
    pub all_or_nothing: bool,
}

/// How far issuing has got.
#[derive(Debug, Clone, Copy, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BatchProgress {
    /// Steps done (licenses issued, then license files written).
    #[ts(type = "number")]
    pub done: u64,
    /// Steps in all.
    #[ts(type = "number")]
    pub total: u64,
}

/// One license issued by this run.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BatchIssued {
    /// The CSV line it came from.
    #[ts(type = "number")]
    pub line: u64,
    /// The order id.
    pub order_id: String,
    /// Its position in the order, 1..quantity.
    #[ts(type = "number")]
    pub seq: i64,
    /// The license.
    pub license_id: String,
    /// Its key.
    pub key: String,
}

/// What issuing did.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BatchOutcome {
    /// The rows as validated before issuing.
    pub preview: BatchPreview,
    /// Licenses issued by this run.
    pub issued: Vec<BatchIssued>,
    /// Licenses the store already held (not issued again).
    #[ts(type = "number")]
    pub already_issued: u64,
    /// Stopped by a cancel: what was committed stays, a re-run issues the rest.
    pub cancelled: bool,
    /// Nothing was issued because a row is bad and all-or-nothing was asked.
    pub refused: bool,
    /// `.lic` files written (missing ones only; existing files are kept).
    #[ts(type = "number")]
    pub license_files: u64,
    /// `.eml` drafts written.
    #[ts(type = "number")]
    pub email_drafts: u64,
    /// In words.
    pub message: String,
}

/// What a column of the CSV holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Column {
    Name,
    Email,
    Company,
    Policy,
    Product,
    Quantity,
    OrderId,
    Metadata(String),
}

impl Column {
    fn from_header(header: &str) -> Self {
        let key: String = header
            .chars()
            .filter(|c| !matches!(c, ' ' | '_' | '-' | '.' | '\t'))
            .flat_map(char::to_lowercase)
            .collect();
        match key.as_str() {
            "name" | "customer" | "customername" | "fullname" => Self::Name,
            "email" | "customeremail" | "emailaddress" | "mail" | "e-mail" => Self::Email,
            "company" | "customercompany" | "organization" | "organisation" | "companyname" => {
                Self::Company
            }
            "policy" | "policyid" | "policyname" => Self::Policy,
            "product" | "productid" | "productcode" | "productname" => Self::Product,
            "quantity" | "qty" | "count" | "licenses" => Self::Quantity,
            "orderid" | "order" | "ordernumber" | "orderno" | "ordernr" | "ordernum" => {
                Self::OrderId
            }
            _ => Self::Metadata(header.trim().to_owned()),
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Name => "customer name".into(),
            Self::Email => "email".into(),
            Self::Company => "company".into(),
            Self::Policy => "policy".into(),
            Self::Product => "product".into(),
            Self::Quantity => "quantity".into(),
            Self::OrderId => "order id".into(),
            Self::Metadata(name) => format!("metadata {name:?}"),
        }
    }
}

/// A row as read, before the store is consulted.
struct RawRow {
    line: u64,
    fields: Option<Vec<String>>,
    field_count: usize,
}

/// Checks the encoding and returns the text (a UTF-8 byte-order mark is dropped).
fn decode(bytes: &[u8]) -> Result<&str> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(Error::bad_input(format!(
            "the CSV is {} bytes; at most {MAX_FILE_BYTES} are read",
            bytes.len()
        )));
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(Error::bad_input(
            "the CSV is UTF-16 (line 1 starts with a UTF-16 byte-order mark); save it as \"CSV UTF-8\" and try again",
        ));
    }
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    let line_of = |at: usize| bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(Error::bad_input(format!(
            "line {} holds a NUL byte: the CSV looks like UTF-16 without a byte-order mark; save it as \"CSV UTF-8\" and try again",
            line_of(at)
        )));
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        let line_start = bytes[..at]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        Error::bad_input(format!(
            "line {} is not UTF-8 (byte 0x{:02X} at column {}): the CSV looks like Latin-1 or Windows-1252; save it as \"CSV UTF-8\" and try again",
            line_of(at),
            bytes[at],
            at - line_start + 1
        ))
    })
}

/// Finds quotes that never close or text glued after a closing quote, which a
/// tolerant CSV reader would silently turn into one huge field.
fn check_quotes(text: &str) -> Result<()> {
    let mut line = 1u64;
    let mut chars = text.chars().peekable();
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        match c {
            '"' if at_field_start => {
                let opened = line;
                loop {
                    match chars.next() {
                        None => {
                            return Err(Error::bad_input(format!(
                                "line {opened}: a quoted field opens here and is never closed (unbalanced quotes)"
                            )))
                        }
                        Some('\n') => line += 1,
                        Some('"') => {
                            if chars.peek() == Some(&'"') {
                                chars.next();
                            } else {
                                break;
                            }
                        }
                        Some(_) => {}
                    }
                }
                match chars.peek() {
                    None | Some(',') | Some('\n') | Some('\r') => {}
                    Some(_) => {
                        return Err(Error::bad_input(format!(
                            "line {line}: text follows a closing quote in the same field (a quote inside a quoted field is written twice: \"\")"
                        )))
                    }
                }
                at_field_start = false;
            }
            ',' => at_field_start = true,
            '\n' => {
                line += 1;
                at_field_start = true;
            }
            '\r' => {}
            _ => at_field_start = false,
        }
    }
    Ok(())
}

/// The header's columns and every row, with their line numbers.
fn read_csv(bytes: &[u8]) -> Result<(Vec<Column>, Vec<RawRow>)> {
    let text = decode(bytes)?;
    check_quotes(text)?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(text.as_bytes());
    let bad = |e: csv::Error| {
        let line = e.position().map(|p| p.line()).unwrap_or(0);
        Error::bad_input(format!("line {line}: the CSV cannot be read: {e}"))
    };
    let mut records = reader.records();
    let header = match records.next() {
        None => return Err(Error::bad_input("the CSV is empty: it needs a header row")),
        Some(r) => r.map_err(bad)?,
    };
    if header.len() > MAX_COLUMNS {
        return Err(Error::bad_input(format!(
            "line 1: the CSV has {} columns; at most {MAX_COLUMNS} are read (name, email, company, policy or product, quantity, order id, and metadata columns)",
            header.len()
        )));
    }
    let columns: Vec<Column> = header.iter().map(Column::from_header).collect();
    // Where each column was first seen: one lookup per column, not a scan of the
    // columns before it.
    let mut seen: HashMap<&Column, usize> = HashMap::with_capacity(columns.len());
    for (i, (column, name)) in columns.iter().zip(header.iter()).enumerate() {
        if name.trim().is_empty() {
            return Err(Error::bad_input(format!(
                "line 1: column {} has no name; every column needs a header",
                i + 1
            )));
        }
        if let Some(&j) = seen.get(column) {
            return Err(Error::bad_input(format!(
                "line 1: columns {} ({:?}) and {} ({:?}) both hold the {}",
                j + 1,
                header.get(j).unwrap_or_default(),
                i + 1,
                name,
                column.describe()
            )));
        }
        seen.insert(column, i);
    }
    if !columns.contains(&Column::OrderId) {
        return Err(Error::bad_input(format!(
            "line 1: the CSV has no order id column (it has: {}); the order id is what makes a re-run issue only what is missing",
            header.iter().collect::<Vec<_>>().join(", ")
        )));
    }
    if !columns.contains(&Column::Policy) && !columns.contains(&Column::Product) {
        return Err(Error::bad_input(format!(
            "line 1: the CSV has neither a policy nor a product column (it has: {})",
            header.iter().collect::<Vec<_>>().join(", ")
        )));
    }
    let mut rows = Vec::new();
    // Lines are counted from byte offsets (the reader's own count skips blank lines),
    // carried forward from one record to the next.
    let (mut counted_to, mut newlines) = (0usize, 0u64);
    for record in records {
        let record = record.map_err(bad)?;
        let line = record.position().map_or(0, |p| {
            let mut at = (p.byte() as usize).min(text.len());
            // The position is taken before the blank lines the reader skips.
            while matches!(text.as_bytes().get(at), Some(b'\n' | b'\r')) {
                at += 1;
            }
            if at >= counted_to {
                newlines += text.as_bytes()[counted_to..at]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count() as u64;
                counted_to = at;
            }
            newlines + 1
        });
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if rows.len() == MAX_ROWS {
            return Err(Error::bad_input(format!(
                "line {line}: the CSV has more than {MAX_ROWS} rows; split it"
            )));
        }
        let field_count = record.len();
        let fields = (field_count == columns.len())
            .then(|| record.iter().map(|f| f.trim().to_owned()).collect());
        rows.push(RawRow {
            line,
            fields,
            field_count,
        });
    }
    Ok((columns, rows))
}

/// A row resolved against the store, ready to issue.
struct PlannedRow {
    policy: Option<Policy>,
    metadata_json: String,
    /// Positions in the order still to issue.
    missing: Vec<i64>,
    /// Positions already issued.
    existing: Vec<i64>,
}

struct Plan {
    preview: BatchPreview,
    rows: Vec<PlannedRow>,
}

/// Everything the plan needs from the store, read once.
struct Catalog {
    policies: Vec<Policy>,
    products: Vec<Product>,
    keys: Vec<SigningKey>,
}

impl Catalog {
    fn product(&self, id: &str) -> Option<&Product> {
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

/// A file name part from any text: safe characters kept, and a short hash added when
/// anything had to change (so two order ids never share a file).
fn file_stem(text: &str) -> String {
    let safe: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    let safe = safe.trim_start_matches('.').to_owned();
    if safe == text && !safe.is_empty() {
        safe
    } else {
        format!("{safe}-{}", &crate::audit::sha256_hex(text.as_bytes())[..8])
    }
}

fn license_file_path(dir: &Path, order_id: &str, seq: i64) -> PathBuf {
    dir.join(format!("{}-{seq}.lic", file_stem(order_id)))
}

impl Keywright {
    fn catalog(&self) -> Result<Catalog> {
        Ok(Catalog {
            policies: self.list_policies()?,
            products: self.list_products()?,
            keys: self.list_signing_keys()?,
        })
    }

    /// `(seq, policy id, customer email)` of the licenses an order already has.
    fn order_licenses(&self, order_id: &str) -> Result<Vec<(i64, String, Option<String>)>> {
        let mut stmt = self.store.conn().prepare_cached(
            "SELECT l.order_seq, l.policy_id, c.email FROM licenses l
             LEFT JOIN customers c ON c.id = l.customer_id
             WHERE l.order_id = ?1 ORDER BY l.order_seq",
        )?;
        let rows = stmt.query_map([order_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn plan_batch(&self, csv: &[u8]) -> Result<Plan> {
        let (columns, raw) = read_csv(csv)?;
        let catalog = self.catalog()?;
        let col = |c: Column| columns.iter().position(|x| *x == c);
        let (i_name, i_email, i_company, i_policy, i_product, i_qty, i_order) = (
            col(Column::Name),
            col(Column::Email),
            col(Column::Company),
            col(Column::Policy),
            col(Column::Product),
            col(Column::Quantity),
            col(Column::OrderId),
        );
        let metadata_columns: Vec<(usize, String)> = columns
            .iter()
            .enumerate()
            .filter_map(|(i, c)| match c {
                Column::Metadata(name) => Some((i, name.clone())),
                _ => None,
            })
            .collect();
        // Column names become metadata keys: one line, no control characters.
        for (_, name) in &metadata_columns {
            crate::text::check_line("a CSV column name", name)?;
        }

        let mut rows: Vec<BatchRow> = Vec::with_capacity(raw.len());
        let mut planned: Vec<PlannedRow> = Vec::with_capacity(raw.len());
        // order id -> (index of its first row, the content it must match)
        let mut orders: HashMap<String, (usize, Vec<String>)> = HashMap::new();

        for r in &raw {
            let mut row = BatchRow {
                line: r.line,
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
            };
            let mut plan = PlannedRow {
                policy: None,
                metadata_json: "{}".into(),
                missing: Vec::new(),
                existing: Vec::new(),
            };
            let Some(fields) = &r.fields else {
                row.errors.push(format!(
                    "has {} fields; the header has {}",
                    r.field_count,
                    columns.len()
                ));
                rows.push(row);
                planned.push(plan);
                continue;
            };
            let cell = |i: Option<usize>| i.map(|i| fields[i].as_str()).unwrap_or("");
            row.order_id = cell(i_order).to_owned();
            if row.order_id.is_empty() {
                row.errors.push("order id is empty".into());
            } else if row.order_id.chars().count() > 200 {
                row.errors
                    .push("order id is too long (at most 200 characters)".into());
            } else if let Err(e) = crate::text::check_line("order id", &row.order_id) {
                row.errors.push(e.message);
            }
            match check_customer(
                Some(cell(i_name)),
                Some(cell(i_email)),
                Some(cell(i_company)),
            ) {
                Ok((name, email, company)) => {
                    row.customer_name = name;
                    row.customer_email = email;
                    row.customer_company = company;
                }
                Err(e) => {
                    row.customer_name = crate::clean(Some(cell(i_name)));
                    row.customer_email = crate::clean(Some(cell(i_email)));
                    row.customer_company = crate::clean(Some(cell(i_company)));
                    row.errors.push(e.message);
                }
            }
            match catalog.resolve(cell(i_policy), cell(i_product)) {
                Ok(policy) => {
                    let product = catalog.product(&policy.product_id);
                    row.policy_id = Some(policy.id.clone());
                    row.policy_name = Some(policy.name.clone());
                    row.product_name = product.map(|p| p.name.clone());
                    if let Some(product) = product {
                        match catalog.keys.iter().find(|k| k.id == product.signing_key_id) {
                            Some(k) if k.status == crate::model::KeyStatus::Active => {}
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
            match parse_quantity(cell(i_qty)) {
                Ok(q) => row.quantity = q,
                Err(e) => row.errors.push(e),
            }
            for (i, name) in &metadata_columns {
                if !fields[*i].is_empty() {
                    // A quoted cell may span lines; other controls are refused.
                    if let Err(e) =
                        crate::text::check_multiline(&format!("column {name:?}"), &fields[*i])
                    {
                        row.errors.push(e.message);
                    }
                    row.metadata.insert(name.clone(), fields[*i].clone());
                }
            }
            plan.metadata_json = serde_json::to_string(&row.metadata).unwrap_or_default();

            // The same order twice in one file: identical rows count once; rows that
            // disagree are both refused (which one is right is the vendor's call).
            if !row.order_id.is_empty() {
                let content: Vec<String> = fields
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| Some(*i) != i_order)
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
            rows.push(row);
            planned.push(plan);
        }

        // What the store already holds for each order.
        for (row, plan) in rows.iter_mut().zip(planned.iter_mut()) {
            if row.order_id.is_empty() || row.note.is_some() {
                continue;
            }
            let existing = self.order_licenses(&row.order_id)?;
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
        for (row, plan) in rows.iter_mut().zip(planned.iter_mut()) {
            if !row.errors.is_empty() {
                // A bad row gets nothing: no licenses, no files, no draft (its order
                // may belong to someone else).
                row.to_issue = 0;
                plan.policy = None;
                plan.missing.clear();
                plan.existing.clear();
            }
        }
        let preview = BatchPreview {
            bad_rows: rows.iter().filter(|r| !r.errors.is_empty()).count() as u64,
            to_issue: rows.iter().map(|r| u64::from(r.to_issue)).sum(),
            already_issued: rows
                .iter()
                .filter(|r| r.errors.is_empty())
                .map(|r| u64::from(r.already_issued))
                .sum(),
            metadata_columns: metadata_columns.into_iter().map(|(_, n)| n).collect(),
            rows,
        };
        Ok(Plan {
            preview,
            rows: planned,
        })
    }

    /// Reads a CSV and says, row by row, what issuing it would do and why a row cannot
    /// be issued (with its line). Nothing is written. A file that cannot be read at all
    /// (encoding, unbalanced quotes, a missing column) is an error naming the line.
    pub fn preview_batch(&self, csv: &[u8]) -> Result<BatchPreview> {
        Ok(self.plan_batch(csv)?.preview)
    }

    /// Issues the licenses a CSV orders that the store does not hold yet.
    ///
    /// Good rows are issued even when others are bad, unless `all_or_nothing`; each
    /// product's private key is read from the vault once; licenses are committed
    /// [`CHUNK`] per transaction with their audit rows. `cancel` is checked between
    /// chunks: what was committed stays, and a re-run issues the rest. With `out_dir`,
    /// a `.lic` file is written for every license of the file's orders that has none
    /// there yet (each audited), then one `.eml` draft per customer email.
    pub fn issue_batch(
        &mut self,
        csv: &[u8],
        options: &BatchOptions,
        now: Timestamp,
        progress: &mut dyn FnMut(BatchProgress),
        cancel: &AtomicBool,
    ) -> Result<BatchOutcome> {
        let Plan { preview, rows } = self.plan_batch(csv)?;
        let out_dir = crate::clean(options.out_dir.as_deref()).map(PathBuf::from);
        if let Some(dir) = &out_dir {
            std::fs::create_dir_all(dir).map_err(|e| {
                Error::new(
                    ErrorCode::Io,
                    format!("cannot create the folder {}: {e}", dir.display()),
                )
            })?;
        }
        let already_issued = preview.already_issued;
        if options.all_or_nothing && preview.bad_rows > 0 {
            let message = format!(
                "nothing issued: {} of {} rows are bad and all-or-nothing was asked",
                preview.bad_rows,
                preview.rows.len()
            );
            return Ok(BatchOutcome {
                preview,
                issued: Vec::new(),
                already_issued,
                cancelled: false,
                refused: true,
                license_files: 0,
                email_drafts: 0,
                message,
            });
        }

        // One vault read per signing key, before anything is written.
        let catalog = self.catalog()?;
        let mut signers: HashMap<String, (SigningKey, PrivateKey)> = HashMap::new();
        for plan in &rows {
            let Some(policy) = &plan.policy else { continue };
            if plan.missing.is_empty() && out_dir.is_none() {
                continue;
            }
            let Some(product) = catalog.product(&policy.product_id) else {
                continue;
            };
            if !signers.contains_key(&product.signing_key_id) {
                let signer = self.signer(&product.signing_key_id, now)?;
                signers.insert(product.signing_key_id.clone(), signer);
            }
        }

        let files_needed: Vec<(usize, i64)> = match &out_dir {
            None => Vec::new(),
            Some(dir) => rows
                .iter()
                .enumerate()
                .filter(|(_, p)| p.policy.is_some())
                .flat_map(|(i, p)| {
                    let mut seqs: Vec<i64> = p.existing.iter().chain(&p.missing).copied().collect();
                    seqs.sort_unstable();
                    seqs.into_iter().map(move |s| (i, s))
                })
                .filter(|(i, s)| !license_file_path(dir, &preview.rows[*i].order_id, *s).exists())
                .collect(),
        };
        let jobs: Vec<(usize, i64)> = rows
            .iter()
            .enumerate()
            .flat_map(|(i, p)| p.missing.iter().map(move |s| (i, *s)))
            .collect();
        let total = (jobs.len() + files_needed.len()) as u64;
        let mut done = 0u64;
        progress(BatchProgress { done, total });

        let mut issued: Vec<BatchIssued> = Vec::with_capacity(jobs.len());
        let mut cancelled = false;
        // Customers met in this batch: by email, else by (name, company).
        let mut customers: HashMap<CustomerKey, (String, Option<String>, bool)> = HashMap::new();
        let (created_ts, _) = match rows.iter().find_map(|p| p.policy.as_ref()) {
            Some(p) => issue_times(now, p)?,
            None => (parse_time(&stamp(now))?, None),
        };
        let created = stamp(created_ts);

        for chunk in jobs.chunks(CHUNK) {
            if cancel.load(Ordering::SeqCst) {
                cancelled = true;
                break;
            }
            // Who each license is for (customers new to the store are inserted with
            // the chunk that first needs them).
            let mut work: Vec<Work> = Vec::with_capacity(chunk.len());
            for &(i, seq) in chunk {
                let row = &preview.rows[i];
                let plan = &rows[i];
                let policy = plan.policy.as_ref().ok_or_else(|| {
                    Error::new(ErrorCode::Internal, "a planned row lost its policy")
                })?;
                let product = catalog.product(&policy.product_id).ok_or_else(|| {
                    Error::new(ErrorCode::Internal, "a planned row lost its product")
                })?;
                let customer_key = match &row.customer_email {
                    Some(e) => (Some(e.to_lowercase()), None, None),
                    None => (
                        None,
                        row.customer_name.clone(),
                        row.customer_company.clone(),
                    ),
                };
                let has_customer = row.customer_email.is_some()
                    || row.customer_name.is_some()
                    || row.customer_company.is_some();
                let customer = if !has_customer {
                    None
                } else {
                    if !customers.contains_key(&customer_key) {
                        let found = match &row.customer_email {
                            Some(email) => customer_by_email(self.store.conn(), email)?,
                            None => None,
                        };
                        let entry = match found {
                            Some((id, email)) => (id, email, false),
                            None => (
                                uuid::Uuid::new_v4().to_string(),
                                row.customer_email.clone(),
                                true,
                            ),
                        };
                        customers.insert(customer_key.clone(), entry);
                    }
                    Some(customer_key)
                };
                let (expiry_ts, user) = {
                    let (_, expiry) = issue_times(created_ts, policy)?;
                    let user = customer
                        .as_ref()
                        .and_then(|k| customers.get(k))
                        .and_then(|(id, email, _)| email.clone().map(|e| (id.clone(), e)));
                    (expiry, user)
                };
                work.push(Work {
                    row: i,
                    seq,
                    license_id: uuid::Uuid::new_v4().to_string(),
                    policy,
                    product,
                    customer,
                    user,
                    expiry: expiry_ts,
                    key: String::new(),
                });
            }
            sign_all(&mut work, self.store.store_id(), created_ts, &signers)?;

            let audit_key = self.audit_key()?;
            let tx = self.store.transaction()?;
            // The plan was read before this transaction took the write lock: another
            // run of the same file may have issued these positions since. Checked
            // under the lock, so this chunk writes all of its rows or none.
            {
                let mut taken = tx.prepare_cached(
                    "SELECT 1 FROM licenses WHERE order_id = ?1 AND order_seq = ?2",
                )?;
                for w in &work {
                    let order = &preview.rows[w.row].order_id;
                    if taken.exists(rusqlite::params![order, w.seq])? {
                        return Err(Error::conflict(format!(
                            "order {order:?} is being issued by another run of this file (its license #{} appeared after this run read the store); this run stopped before writing it. {} licenses were issued by this run. Run the file again once the other run has finished: it issues only what is missing",
                            w.seq,
                            issued.len()
                        )));
                    }
                }
            }
            for w in &work {
                let row = &preview.rows[w.row];
                let customer_id = match &w.customer {
                    Some(k) => {
                        let entry = customers.get_mut(k).ok_or_else(|| {
                            Error::new(ErrorCode::Internal, "a customer went missing")
                        })?;
                        if entry.2 {
                            insert_customer(
                                &tx,
                                &audit_key,
                                &self.actor,
                                &created,
                                &entry.0,
                                row.customer_name.as_deref(),
                                row.customer_email.as_deref(),
                                row.customer_company.as_deref(),
                            )?;
                            entry.2 = false;
                        }
                        Some(entry.0.clone())
                    }
                    None => None,
                };
                let (signing_key, _) = &signers[&w.product.signing_key_id];
                insert_license(
                    &tx,
                    &audit_key,
                    &self.actor,
                    &LicenseRow {
                        id: &w.license_id,
                        key: &w.key,
                        policy: w.policy,
                        product: w.product,
                        customer_id: customer_id.as_deref(),
                        signing_key_id: &signing_key.id,
                        // An unsigned policy's key is drawn, not signed.
                        kid: (!w.policy.unsigned_key).then_some(signing_key.kid.as_str()),
                        expiry: w.expiry.map(stamp).as_deref(),
                        metadata: &rows[w.row].metadata_json,
                        created: &created,
                        order: Some((&row.order_id, w.seq)),
                    },
                )?;
            }
            if let Err(e) = tx.commit() {
                // New customers of this chunk were rolled back with it.
                return Err(e.into());
            }
            self.committed();
            for w in work {
                issued.push(BatchIssued {
                    line: preview.rows[w.row].line,
                    order_id: preview.rows[w.row].order_id.clone(),
                    seq: w.seq,
                    license_id: w.license_id,
                    key: w.key,
                });
            }
            done += chunk.len() as u64;
            progress(BatchProgress { done, total });
        }

        let mut license_files = 0u64;
        let mut email_drafts = 0u64;
        if let (Some(dir), false) = (&out_dir, cancelled) {
            for chunk in files_needed.chunks(CHUNK) {
                if cancel.load(Ordering::SeqCst) {
                    cancelled = true;
                    break;
                }
                license_files += self
                    .write_license_files(dir, chunk, &preview, &rows, &catalog, &signers, now)?
                    as u64;
                done += chunk.len() as u64;
                progress(BatchProgress { done, total });
            }
            if !cancelled {
                email_drafts = self.write_email_drafts(dir, &preview, &rows, &catalog, now)?;
            }
        }
        let message = format!(
            "{} licenses issued, {} already held{}{}{}",
            issued.len(),
            already_issued,
            if preview.bad_rows > 0 {
                format!(", {} bad rows skipped", preview.bad_rows)
            } else {
                String::new()
            },
            if out_dir.is_some() {
                format!(", {license_files} license files and {email_drafts} email drafts written")
            } else {
                String::new()
            },
            if cancelled {
                "; cancelled: run the same file again to issue the rest"
            } else {
                ""
            }
        );
        Ok(BatchOutcome {
            preview,
            issued,
            already_issued,
            cancelled,
            refused: false,
            license_files,
            email_drafts,
            message,
        })
    }

    /// The licenses of an order, with what a license file needs.
    fn order_documents(&self, order_id: &str) -> Result<Vec<(i64, License, String, String)>> {
        let sql = crate::licenses::SELECT.replacen(
            " FROM licenses l",
            ", l.order_seq, l.metadata, l.updated_at FROM licenses l",
            1,
        ) + " WHERE l.order_id = ?1 ORDER BY l.order_seq";
        let mut stmt = self.store.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map([order_id], |r| {
            Ok((
                r.get(13)?,
                crate::licenses::license_row(r)?,
                r.get(14)?,
                r.get(15)?,
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Signs and writes the license files of `chunk` ((row, seq) pairs), each with its
    /// `license_file.sign` audit row, all in one transaction committed only after
    /// every file is on disk.
    #[allow(clippy::too_many_arguments)]
    fn write_license_files(
        &mut self,
        dir: &Path,
        chunk: &[(usize, i64)],
        preview: &BatchPreview,
        rows: &[PlannedRow],
        catalog: &Catalog,
        signers: &HashMap<String, (SigningKey, PrivateKey)>,
        now: Timestamp,
    ) -> Result<usize> {
        let issued = parse_time(&stamp(now))?;
        let at = stamp(issued);
        let mut docs: HashMap<&str, Vec<(i64, License, String, String)>> = HashMap::new();
        let mut jobs: Vec<FileJob<'_>> = Vec::with_capacity(chunk.len());
        for &(i, seq) in chunk {
            let order_id = preview.rows[i].order_id.as_str();
            if !docs.contains_key(order_id) {
                docs.insert(order_id, self.order_documents(order_id)?);
            }
            let Some((_, license, metadata, updated)) =
                docs[order_id].iter().find(|(s, ..)| *s == seq)
            else {
                continue;
            };
            let policy = rows[i]
                .policy
                .as_ref()
                .ok_or_else(|| Error::new(ErrorCode::Internal, "a planned row lost its policy"))?;
            let product = catalog
                .product(&policy.product_id)
                .ok_or_else(|| Error::new(ErrorCode::Internal, "a planned row lost its product"))?;
            let (key, private) = &signers[&product.signing_key_id];
            let document = build_document(
                self.store.store_id(),
                license,
                policy,
                product,
                serde_json::from_str(metadata).unwrap_or_default(),
                updated,
            )?;
            let alg = FileAlgorithm::default_for(Some(policy.scheme.to_format()), policy.encrypt);
            // The policy's expiration strategy and grace reach the customer's app.
            let included = self.with_policy_options(None, policy, product)?;
            jobs.push(FileJob {
                path: license_file_path(dir, order_id, seq),
                document,
                included,
                ttl: policy.file_ttl_seconds,
                alg,
                private,
                license_id: license.id.clone(),
                kid: key.kid.clone(),
                text: String::new(),
            });
        }
        seal_all(&mut jobs, issued)?;
        let files: Vec<(PathBuf, String, String, String, String)> = jobs
            .into_iter()
            .map(|j| {
                (
                    j.path,
                    j.text,
                    j.license_id,
                    j.kid,
                    j.alg.as_str().to_owned(),
                )
            })
            .collect();
        let audit_key = self.audit_key()?;
        let store = self.store.path().to_path_buf();
        let tx = self.store.transaction()?;
        for (path, text, license_id, kid, alg) in &files {
            audit::append(
                &tx,
                &audit_key,
                &at,
                &self.actor,
                &Event {
                    action: "license_file.sign",
                    subject_type: Some("license"),
                    subject_id: Some(license_id),
                    signing_key_kid: Some(kid),
                    artifact_sha256: Some(crate::audit::sha256_hex(text.as_bytes())),
                    detail: serde_json::json!({
                        "algorithm": alg, "path": path.display().to_string(), "batch": true,
                    }),
                },
            )?;
        }
        let pairs: Vec<(&Path, &[u8])> = files
            .iter()
            .map(|(path, text, ..)| (path.as_path(), text.as_bytes()))
            .collect();
        let written = write_files_atomically(dir, &store, &pairs)?;
        if let Err(e) = tx.commit() {
            for p in written {
                let _ = std::fs::remove_file(p);
            }
            return Err(e.into());
        }
        self.committed();
        Ok(files.len())
    }

    /// One `.eml` draft per customer email, with their keys in the body and their
    /// license files attached.
    fn write_email_drafts(
        &self,
        dir: &Path,
        preview: &BatchPreview,
        rows: &[PlannedRow],
        catalog: &Catalog,
        now: Timestamp,
    ) -> Result<u64> {
        // email (lowercase) -> (display name, email, items)
        let mut by_customer: BTreeMap<String, (Option<String>, String, Vec<crate::mail::Item>)> =
            BTreeMap::new();
        for (row, plan) in preview.rows.iter().zip(rows) {
            let (Some(email), Some(policy)) = (&row.customer_email, &plan.policy) else {
                continue;
            };
            if !row.errors.is_empty() {
                continue;
            }
            let product = catalog.product(&policy.product_id);
            let entry = by_customer
                .entry(email.to_lowercase())
                .or_insert_with(|| (row.customer_name.clone(), email.clone(), Vec::new()));
            for (seq, license, _, _) in self.order_documents(&row.order_id)? {
                if seq > i64::from(row.quantity) {
                    continue;
                }
                let path = license_file_path(dir, &row.order_id, seq);
                let attachment = match std::fs::read(&path) {
                    Ok(bytes) => Some((
                        path.file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                        bytes,
                    )),
                    Err(_) => None,
                };
                entry.2.push(crate::mail::Item {
                    product: product.map(|p| p.name.clone()).unwrap_or_default(),
                    policy: policy.name.clone(),
                    order_id: row.order_id.clone(),
                    seq,
                    key: license.key,
                    expiry: license.expiry,
                    support: product.and_then(|p| p.support_message.clone()),
                    attachment,
                });
            }
        }
        let drafts: Vec<(PathBuf, String)> = by_customer
            .into_values()
            .filter(|(_, _, items)| !items.is_empty())
            .map(|(name, email, items)| {
                (
                    dir.join(format!("{}.eml", file_stem(&email))),
                    crate::mail::draft(name.as_deref(), &email, &items, now),
                )
            })
            .collect();
        // Drafts hold no new signature (their files were audited when signed).
        for chunk in drafts.chunks(CHUNK) {
            let pairs: Vec<(&Path, &[u8])> = chunk
                .iter()
                .map(|(p, m)| (p.as_path(), m.as_bytes()))
                .collect();
            write_files_atomically(dir, self.store.path(), &pairs)?;
        }
        Ok(drafts.len() as u64)
    }
}

/// One license file to seal and write.
struct FileJob<'a> {
    path: PathBuf,
    document: keywright_license::document::LicenseDocument,
    included: Option<keywright_license::included::Included>,
    ttl: Option<i64>,
    alg: FileAlgorithm,
    private: &'a PrivateKey,
    license_id: String,
    kid: String,
    text: String,
}

/// How many threads the CPU-bound steps use.
fn threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8)
}

/// Seals every file of a chunk, spread over the machine's cores.
fn seal_all(jobs: &mut [FileJob<'_>], issued: Timestamp) -> Result<()> {
    let seal = |part: &mut [FileJob<'_>]| -> Result<()> {
        for j in part {
            j.text = seal_license_file(
                &j.document,
                j.included.as_ref(),
                issued,
                j.ttl,
                j.alg,
                j.private,
            )?;
        }
        Ok(())
    };
    in_parallel(jobs, seal)
}

/// Runs `f` over `items` split into one slice per core.
fn in_parallel<T: Send>(items: &mut [T], f: impl Fn(&mut [T]) -> Result<()> + Sync) -> Result<()> {
    in_threads(items, threads(), f)
}

/// Runs `f` over `items` split into `threads` slices, side by side.
fn in_threads<T: Send>(
    items: &mut [T],
    threads: usize,
    f: impl Fn(&mut [T]) -> Result<()> + Sync,
) -> Result<()> {
    if threads <= 1 || items.len() < 16 {
        return f(items);
    }
    let per = items.len().div_ceil(threads).max(1);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks_mut(per)
            .map(|part| scope.spawn(move || f(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(Error::new(ErrorCode::Internal, "a worker thread panicked"))
                })
            })
            .collect::<Result<Vec<()>>>()
            .map(|_| ())
    })
}

/// Writes many files atomically (each a temp file, flushed, renamed), with the
/// flushes running side by side so the file system can group them, and one flush
/// of the folder at the end. On failure, the files already written are removed.
fn write_files_atomically<'p>(
    dir: &Path,
    store: &Path,
    files: &[(&'p Path, &[u8])],
) -> Result<Vec<&'p Path>> {
    let io = |what: &str, path: &Path, e: std::io::Error| {
        Error::new(
            ErrorCode::Io,
            format!("cannot {what} {}: {e}", path.display()),
        )
    };
    // Every name is checked first: none may be the store, a device or a dangling link.
    for (path, _) in files {
        crate::files::check_output(path, store)?;
    }
    let mut slots: Vec<(&Path, &[u8], Option<tempfile::NamedTempFile>)> =
        files.iter().map(|(p, b)| (*p, *b, None)).collect();
    // Waiting on the disk, not the CPU: more writers than cores let the file system
    // commit many flushes at once.
    let staged = in_threads(&mut slots, 16, |part| {
        for (path, bytes, tmp) in part {
            let mut file = tempfile::Builder::new()
                .prefix(".keywright-")
                .suffix(".tmp")
                .tempfile_in(dir)
                .map_err(|e| io("create a temporary file next to", path, e))?;
            std::io::Write::write_all(&mut file, bytes).map_err(|e| io("write", path, e))?;
            file.as_file()
                .sync_all()
                .map_err(|e| io("flush", path, e))?;
            *tmp = Some(file);
        }
        Ok(())
    });
    // Temporary files not persisted are deleted when dropped.
    staged?;
    let mut written = Vec::with_capacity(slots.len());
    for (path, _, tmp) in slots {
        let Some(tmp) = tmp else { continue };
        if let Err(e) = tmp.persist(path) {
            for p in written {
                let _ = std::fs::remove_file(p);
            }
            return Err(io("replace", path, e.error));
        }
        written.push(path);
    }
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(written)
}

/// A customer met in a batch: (email lowercased) or, without one, (name, company).
type CustomerKey = (Option<String>, Option<String>, Option<String>);

/// One license to sign and store.
struct Work<'a> {
    row: usize,
    seq: i64,
    license_id: String,
    policy: &'a Policy,
    product: &'a Product,
    customer: Option<CustomerKey>,
    user: Option<(String, String)>,
    expiry: Option<Timestamp>,
    key: String,
}

/// Signs every key of a chunk, spread over the machine's cores.
fn sign_all(
    work: &mut [Work<'_>],
    store_id: &str,
    created: Timestamp,
    signers: &HashMap<String, (SigningKey, PrivateKey)>,
) -> Result<()> {
    in_parallel(work, |part: &mut [Work<'_>]| -> Result<()> {
        for w in part {
            if w.policy.unsigned_key {
                // ≈ 120 random bits; the UNIQUE key index refuses the impossible clash.
                w.key = draw_human_key(w.product)?;
                continue;
            }
            let (_, private) = signers.get(&w.product.signing_key_id).ok_or_else(|| {
                Error::new(ErrorCode::Internal, "no signer read for a product's key")
            })?;
            w.key = sign_license_key(
                &KeyInput {
                    store_id,
                    policy: w.policy,
                    product: w.product,
                    license_id: &w.license_id,
                    customer_id: w.user.as_ref().map(|u| u.0.clone()),
                    email: w.user.as_ref().map(|u| u.1.clone()),
                    created,
                    expiry: w.expiry,
                },
                private,
            )?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_matched_loosely() {
        assert_eq!(Column::from_header(" Order ID "), Column::OrderId);
        assert_eq!(Column::from_header("E-Mail"), Column::Email);
        assert_eq!(Column::from_header("customer_name"), Column::Name);
        assert_eq!(Column::from_header("QTY"), Column::Quantity);
        assert_eq!(
            Column::from_header(" Reseller "),
            Column::Metadata("Reseller".into())
        );
    }

    #[test]
    fn quotes_are_checked() {
        assert!(check_quotes("a,\"b,c\"\n1,\"x\"\"y\"\n").is_ok());
        let e = check_quotes("a,b\n1,\"open\n2,3\n").unwrap_err();
        assert!(e.message.starts_with("line 2:"), "{}", e.message);
        let e = check_quotes("a,b\n\"x\"y,2\n").unwrap_err();
        assert!(e.message.starts_with("line 2:"), "{}", e.message);
    }

    #[test]
    fn encodings_are_named() {
        let e = decode(b"a,b\nJos\xE9,1\n").unwrap_err();
        assert!(
            e.message.contains("line 2") && e.message.contains("0xE9"),
            "{}",
            e.message
        );
        let e = decode(&[0xFF, 0xFE, b'a', 0]).unwrap_err();
        assert!(e.message.contains("UTF-16"), "{}", e.message);
        assert_eq!(decode(b"\xEF\xBB\xBFa,b\n").unwrap(), "a,b\n");
    }

    #[test]
    fn file_stems_do_not_collide() {
        assert_eq!(file_stem("A-1001"), "A-1001");
        assert_ne!(file_stem("a/b"), file_stem("a_b"));
        assert!(!file_stem("../x").contains('/'));
    }
}
