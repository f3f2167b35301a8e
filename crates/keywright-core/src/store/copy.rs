//! Copying a whole store, row for row, from one database to another of either engine:
//! `keywright store copy`, and a backup of a PostgreSQL store (its rows copied into an
//! SQLite image in memory).
//!
//! Every table of the shared schema is copied in an order that satisfies its foreign
//! keys, every column by name, rows in their stored order; the store keeps its id (its
//! keys and audit anchor are filed under it). What the target computes itself (the
//! search indexes and each license's count of active machines, by its triggers;
//! PostgreSQL's identity columns) follows from the rows.

use super::db::{Db, Engine, Value};
use crate::error::{Error, ErrorCode, Result};

/// Columns the target computes itself and the copy leaves out: a license's active
/// machines are counted by the target's triggers as the machines are copied (copying
/// the count too would count each machine twice).
#[cfg(test)]
const COMPUTED: &[(&str, &str)] = &[("licenses", "active_machines")];

/// The tables and columns both schemas share, in foreign-key order, with the column
/// that orders each table's rows. A unit test holds this list to the SQLite schema.
pub(crate) const TABLES: &[(&str, &[&str], &str)] = &[
    ("store_meta", &["key", "value"], "key"),
    (
        "signing_keys",
        &[
            "id",
            "kid",
            "name",
            "algorithm",
            "public_key",
            "status",
            "created_at",
            "retire_at",
        ],
        "@rowid",
    ),
    (
        "products",
        &[
            "id",
            "name",
            "code",
            "url",
            "support_message",
            "signing_key_id",
            "created_at",
        ],
        "id",
    ),
    (
        "policies",
        &[
            "id",
            "product_id",
            "name",
            "scheme",
            "duration_seconds",
            "max_machines",
            "floating",
            "file_ttl_seconds",
            "encrypt",
            "entitlements",
            "created_at",
            "key_template",
            "unsigned_key",
            "expiration_strategy",
            "strict",
            "offline_grace_seconds",
            "allow_transfer",
            "require_heartbeat",
            "heartbeat_duration_seconds",
            "heartbeat_cull_strategy",
            "heartbeat_resurrection_strategy",
            "heartbeat_basis",
        ],
        "id",
    ),
    (
        "customers",
        &[
            "seq",
            "id",
            "name",
            "email",
            "created_at",
            "company",
            "proof_seq",
            "proof_pos",
            "proof_leaf",
        ],
        "seq",
    ),
    (
        "licenses",
        &[
            "seq",
            "id",
            "key",
            "policy_id",
            "customer_id",
            "signing_key_id",
            "status",
            "expiry",
            "metadata",
            "created_at",
            "updated_at",
            "customer_sort",
            "order_id",
            "order_seq",
            "entitlements",
            "key_rtail",
            "proof_seq",
            "proof_pos",
            "proof_leaf",
        ],
        "seq",
    ),
    (
        "machines",
        &[
            "id",
            "license_id",
            "fingerprint",
            "name",
            "hostname",
            "platform",
            "os_user",
            "app_version",
            "status",
            "activated_at",
            "deactivated_at",
            "request_nonce",
            "receipt_nonce",
            "last_heartbeat_at",
        ],
        "@rowid",
    ),
    (
        "server_events",
        &[
            "seq",
            "at",
            "endpoint",
            "license_id",
            "machine_id",
            "product_id",
            "machine",
            "\"user\"",
            "hwid",
            "ip",
            "status",
            "result",
        ],
        "seq",
    ),
    (
        "audit_events",
        &[
            "seq",
            "at",
            "actor",
            "action",
            "subject_type",
            "subject_id",
            "signing_key_kid",
            "artifact_sha256",
            "detail",
            "prev_hash",
            "hash",
            "state",
            "mac",
        ],
        "seq",
    ),
    (
        "audit_baseline",
        &["subject_type", "subject_id", "state"],
        "subject_type, subject_id",
    ),
    ("audit_products", &["product_id", "seq"], "product_id, seq"),
    ("mail_settings", &["name", "value", "updated_at"], "name"),
    (
        "mail_sends",
        &["order_id", "email", "state", "at", "detail"],
        "order_id",
    ),
];

/// Rows per table, in [`TABLES`] order.
pub(crate) type Counts = Vec<(&'static str, i64)>;

/// How many rows each table of the store on `db` holds.
pub(crate) fn counts(db: Db<'_>) -> Result<Counts> {
    TABLES
        .iter()
        .map(|(table, _, _)| {
            let n: i64 =
                db.query_one(&format!("SELECT count(*) FROM {table}"), &[], |r| r.get(0))?;
            Ok((*table, n))
        })
        .collect()
}

/// Whether the store on `db` holds nothing but its id.
pub(crate) fn is_empty(db: Db<'_>) -> Result<bool> {
    Ok(counts(db)?
        .iter()
        .all(|(table, n)| *n == 0 || (*table == "store_meta" && *n <= 1)))
}

/// Copies every row of the store on `from` into the empty store on `to`, inside the
/// caller's transaction on `to`, the source's store id included. `progress` hears
/// each table's name and row count as it is done.
pub(crate) fn copy_rows(
    from: Db<'_>,
    to: Db<'_>,
    mut progress: impl FnMut(&str, i64),
) -> Result<()> {
    if !is_empty(to)? {
        return Err(Error::new(
            ErrorCode::StoreExists,
            "the target store already holds rows; copy only into a new, empty store",
        ));
    }
    to.execute("DELETE FROM store_meta", &[])?;
    for (table, columns, order) in TABLES {
        let list = columns.join(", ");
        let order = if *order == "@rowid" {
            from.rowid()
        } else {
            order
        };
        // Many rows per INSERT: on PostgreSQL each statement is a round trip to the
        // server, and a store holds a million audit rows. A chunk stays under both
        // engines' limits on parameters per statement (SQLite 32,766; PostgreSQL 65,535).
        let per_chunk = (4_000 / columns.len()).clamp(1, 256);
        let insert_of = |n: usize| {
            let rows = (0..n)
                .map(|r| {
                    let marks = (1..=columns.len())
                        .map(|c| format!("?{}", r * columns.len() + c))
                        .collect::<Vec<_>>()
                        .join(", ");
                    format!("({marks})")
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!("INSERT INTO {table} ({list}) VALUES {rows}")
        };
        let full_insert = insert_of(per_chunk);
        let mut rows = 0_i64;
        let mut failed: Option<Error> = None;
        let mut pending: Vec<Value<'static>> = Vec::with_capacity(per_chunk * columns.len());
        let flush = |pending: &mut Vec<Value<'static>>| -> Result<()> {
            let n = pending.len() / columns.len();
            if n == 0 {
                return Ok(());
            }
            let sql = if n == per_chunk {
                std::borrow::Cow::Borrowed(full_insert.as_str())
            } else {
                std::borrow::Cow::Owned(insert_of(n))
            };
            let result = to.execute(&sql, pending);
            pending.clear();
            result.map(|_| ())
        };
        from.for_each(
            &format!("SELECT {list} FROM {table} ORDER BY {order}"),
            &[],
            |r| {
                for i in 0..columns.len() {
                    pending.push(owned(r.value(i)?));
                }
                rows += 1;
                if pending.len() == per_chunk * columns.len() {
                    if let Err(e) = flush(&mut pending) {
                        failed = Some(e);
                        return Ok(false);
                    }
                }
                Ok(true)
            },
        )?;
        if failed.is_none() {
            if let Err(e) = flush(&mut pending) {
                failed = Some(e);
            }
        }
        if let Some(e) = failed {
            return Err(Error::new(
                e.code,
                format!("copying table {table}: {}", e.message),
            ));
        }
        progress(table, rows);
    }
    // The rows a batch wrote are indexed for search by the batch, not by a trigger.
    crate::issuing::index_batch_rows(to, None)?;
    if to.engine() == Engine::Postgres {
        // Rows came with their `seq`; the identity columns go on after the largest.
        for table in ["customers", "licenses", "server_events"] {
            to.execute(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'seq'), \
                     coalesce((SELECT max(seq) FROM {table}), 0) + 1, false)"
                ),
                &[],
            )?;
        }
    }
    Ok(())
}

/// What [`copy_store`] did.
#[derive(Debug, Clone, serde::Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct StoreCopied {
    /// The store's id, the same on both sides (its keys and audit anchor are filed
    /// under it).
    pub store_id: String,
    /// Where it was copied from (a PostgreSQL URL without its password).
    pub from: String,
    /// Where it was copied to.
    pub to: String,
    /// Rows per table, the same on both sides.
    pub tables: Vec<TableRows>,
    /// Rows of the audit log, verified (chain, MACs, anchor, replay) on both sides.
    #[ts(type = "number")]
    pub audit_rows: i64,
}

/// One table's rows in a [`StoreCopied`].
#[derive(Debug, Clone, serde::Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct TableRows {
    /// The table.
    pub table: String,
    /// How many rows it holds.
    #[ts(type = "number")]
    pub rows: i64,
}

/// Copies the whole store at `from` to `to` (each a file path or a `postgres://` URL):
/// the source's audit log is verified first (a store whose log does not verify is not
/// copied), the rows are copied in one transaction into `to`, which must be a new or
/// empty store, and the copy's audit log is verified with the same keychain entries.
/// A target file this call created is removed again when anything fails.
///
/// `vault_for` gives the keychain of a store id (the OS keychain in the shells).
pub fn copy_store(
    from: &str,
    to: &str,
    actor: &str,
    vault_for: impl Fn(&str) -> Box<dyn crate::Vault>,
    mut progress: impl FnMut(&str, i64),
) -> Result<StoreCopied> {
    use std::path::Path;
    let postgres = |l: &str| l.starts_with("postgres://") || l.starts_with("postgresql://");
    let same = if postgres(from) || postgres(to) {
        from.trim_end_matches('/') == to.trim_end_matches('/')
    } else {
        Path::new(from) == Path::new(to)
            || matches!(
                (std::fs::canonicalize(from), std::fs::canonicalize(to)),
                (Ok(a), Ok(b)) if a == b
            )
    };
    if same {
        return Err(Error::bad_input(
            "the source and the target of a copy are the same store",
        ));
    }
    let source = super::Store::open_location(from)?;
    let store_id = source.store_id().to_owned();
    let source = crate::Keywright::with_vault(source, vault_for(&store_id), actor);
    let audit_rows = source.verify_audit().map_err(|e| {
        Error::new(
            e.code,
            format!(
                "the source store's audit log does not verify, so nothing was copied: {}",
                e.message
            ),
        )
    })?;

    let created = !postgres(to) && std::fs::metadata(to).map_or(true, |m| m.len() == 0);
    let remove_created = || {
        if created {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let _ = std::fs::remove_file(format!("{to}{suffix}"));
            }
        }
    };
    let outcome = (|| -> Result<StoreCopied> {
        let mut target = super::Store::open_location(to)?;
        let counts = source.store().copy_into(&mut target, &mut progress)?;
        let shown_to = target.path().display().to_string();
        let target = crate::Keywright::with_vault(target, vault_for(&store_id), actor);
        let copied_rows = target.verify_audit().map_err(|e| {
            Error::new(
                e.code,
                format!("the copy's audit log does not verify: {}", e.message),
            )
        })?;
        if copied_rows != audit_rows {
            return Err(Error::new(
                ErrorCode::Internal,
                format!("the copy's audit log has {copied_rows} rows; the source's {audit_rows}"),
            ));
        }
        Ok(StoreCopied {
            store_id: store_id.clone(),
            from: source.store().path().display().to_string(),
            to: shown_to,
            tables: counts
                .into_iter()
                .map(|(table, rows)| TableRows {
                    table: table.to_owned(),
                    rows,
                })
                .collect(),
            audit_rows: audit_rows as i64,
        })
    })();
    if outcome.is_err() {
        remove_created();
    }
    outcome
}

fn owned(v: Value<'_>) -> Value<'static> {
    match v {
        Value::Null => Value::Null,
        Value::Int(i) => Value::Int(i),
        Value::Text(t) => Value::Text(t.into_owned().into()),
        Value::Blob(b) => Value::Blob(b.into_owned().into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_list_is_the_sqlite_schema() {
        let dir = tempfile::tempdir().unwrap();
        let store = super::super::Store::open(&dir.path().join("s.db")).unwrap();
        let conn = store.conn();
        let mut tables: Vec<String> = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
                 AND name NOT LIKE 'license_search%' AND name NOT LIKE 'customer_words%'
                 ORDER BY name",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let mut listed: Vec<String> = TABLES.iter().map(|t| t.0.to_string()).collect();
        listed.sort();
        tables.sort();
        assert_eq!(listed, tables, "every table is copied");
        for (table, columns, _) in TABLES {
            let mut actual: Vec<String> = conn
                .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            let mut expected: Vec<String> = columns
                .iter()
                .map(|c| c.trim_matches('"').to_string())
                .chain(
                    COMPUTED
                        .iter()
                        .filter(|(t, _)| t == table)
                        .map(|(_, c)| c.to_string()),
                )
                .collect();
            actual.sort();
            expected.sort();
            assert_eq!(expected, actual, "every column of {table} is copied");
        }
    }
}
