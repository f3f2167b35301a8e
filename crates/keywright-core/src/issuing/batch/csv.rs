//! Reading a batch CSV: UTF-8 only (UTF-16, NUL bytes and Latin-1 are named with their
//! line), quotes a tolerant reader would swallow, loose header names (others become
//! metadata), and every row with its line number.

use std::collections::HashMap;

use super::{MAX_COLUMNS, MAX_FILE_BYTES, MAX_ROWS};
use crate::error::{Error, Result};

/// What a column of the CSV holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Column {
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
pub(super) struct RawRow {
    pub(super) line: u64,
    /// The cells, trimmed; `None` when the row has another number of fields than the
    /// header.
    pub(super) fields: Option<Vec<String>>,
    pub(super) field_count: usize,
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
pub(super) fn read_csv(bytes: &[u8]) -> Result<(Vec<Column>, Vec<RawRow>)> {
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
}
