//! Licenses to CSV: every license a search matches (all pages), written atomically
//! with its audit row. Cells a spreadsheet would run as a formula are defused.

use std::path::Path;

use jiff::Timestamp;

use super::model::LicenseQuery;
use super::sql;
use crate::audit::Event;
use crate::error::{Error, ErrorCode, Result};
use crate::files::ExportedFile;
use crate::{stamp, Keywright};

const HEADER: [&str; 13] = [
    "id",
    "key",
    "status",
    "product",
    "policy",
    "customer_name",
    "customer_email",
    "customer_company",
    "expiry",
    "created_at",
    "order_id",
    "order_seq",
    "metadata",
];

/// A cell as a spreadsheet may safely open it: text starting with `=`, `+`, `-`, `@`
/// (or a tab or carriage return, which some programs skip before one) gets a leading
/// apostrophe, so it is shown as text and never evaluated (CSV formula injection).
pub fn defuse_cell(text: &str) -> std::borrow::Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}").into(),
        _ => text.into(),
    }
}

impl Keywright {
    /// Writes every license matching `query`'s filters and text (its `limit` and
    /// `cursor` are ignored: all pages are written), in its sort order, as CSV to
    /// `path`, atomically. The export is an audit row (`license.export`, with the
    /// file's SHA-256); if the file cannot be written, that row is rolled back. A
    /// read-only store is exported without that row.
    pub fn export_licenses_csv(
        &mut self,
        query: &LicenseQuery,
        path: &str,
        now: Timestamp,
    ) -> Result<ExportedFile> {
        if path.trim().is_empty() {
            return Err(Error::bad_input("choose where to save the CSV file"));
        }
        let path = Path::new(path.trim());
        let failed = |e: csv::Error| Error::new(ErrorCode::Internal, format!("CSV: {e}"));
        let mut out = csv::Writer::from_writer(Vec::new());
        out.write_record(HEADER).map_err(failed)?;
        let mut page_query = query.clone();
        page_query.limit = Some(super::search::MAX_LIMIT);
        page_query.cursor = None;
        let mut rows = 0u64;
        loop {
            let page = self.search_licenses(&page_query, now)?;
            for l in &page.items {
                let sql::ExportColumns {
                    company,
                    order_id,
                    order_seq,
                    metadata,
                } = sql::export_columns(self.store.db(), &l.id)?;
                let seq = order_seq.map(|s| s.to_string()).unwrap_or_default();
                let cells = [
                    l.id.as_str(),
                    &l.key,
                    l.status.as_str(),
                    &l.product_name,
                    &l.policy_name,
                    l.customer_name.as_deref().unwrap_or(""),
                    l.customer_email.as_deref().unwrap_or(""),
                    company.as_deref().unwrap_or(""),
                    l.expiry.as_deref().unwrap_or(""),
                    &l.created_at,
                    order_id.as_deref().unwrap_or(""),
                    &seq,
                    &metadata,
                ];
                out.write_record(cells.iter().map(|c| defuse_cell(c).into_owned()))
                    .map_err(failed)?;
                rows += 1;
            }
            match page.next_cursor {
                Some(c) => page_query.cursor = Some(c),
                None => break,
            }
        }
        let bytes = out
            .into_inner()
            .map_err(|e| Error::new(ErrorCode::Internal, format!("CSV: {e}")))?;
        let event = Event {
            action: "license.export",
            detail: serde_json::json!({
                "format": "csv", "rows": rows, "path": path.display().to_string(),
                "text": query.text, "productId": query.product_id, "policyId": query.policy_id,
                "customerId": query.customer_id, "status": query.status.map(|s| s.as_str()),
                "expiringWithinDays": query.expiring_within_days,
            }),
            ..Event::default()
        };
        self.write_export(path, &bytes, &stamp(now), event, "csv")
    }
}
