//! Searching licenses: substring text search, filters, four sort orders and keyset
//! pagination, fast on stores of 100,000 licenses.
//!
//! Text of three characters or more goes through the trigram FTS5 index
//! (`license_search`): a substring of the customer's name or email, or of a short key
//! (at most [`KEY_SHORT`] characters: unsigned, human keys), in any case. A signed key
//! (about 700 characters) is found by its start (6 to 64 characters) or its end (6 or
//! more), exactly ("as they see them in an email": nobody types the middle of a
//! signature), through two B-tree indexes: `licenses_key_head` (its first 64
//! characters) and `licenses_key_rtail` (its last 64, reversed, so an end is a range);
//! a whole key pasted in (spaces and line breaks from an email ignored) is one such
//! end. A license id matches exactly.
//!
//! A trigram index cannot answer one or two characters, and a substring scan of every
//! key, name and email is too slow on a large store, so shorter text matches
//! differently: **the start of any word of the customer's name or email** (any case,
//! accents ignored), through the word index `customer_words`. "Al" finds "Alice
//! Smith", "Bob Alder" and "al@example.com", but not "Sally"; license keys are not
//! searched (two characters of a key match nearly every key). Short text with no
//! letter or digit at all (say "@") is still a plain substring match (`LIKE`) over
//! key, name and email.
//!
//! Both indexes are keyed by the stable integer primary key of each license or
//! customer (`seq`), so the matches of a text are counted from the index alone. A
//! narrow text (up to [`BROAD_TEXT`] matches) lists its matches and sorts them; a
//! broad one ("cu") walks the sort order instead and asks the index about each
//! license it passes (`MATCH ? AND rowid = ?`), so the page costs about the same
//! whatever the text. The total of a broad text is not counted: the page says more
//! match.
//!
//! Pages continue from an opaque cursor holding the last row's sort key and id, so a
//! page costs the same wherever it is. Matches are counted up to [`COUNT_CAP`]
//! (`total_exact` false beyond it), so a count costs at most that many rows too.

use jiff::{SignedDuration, Timestamp};
use rusqlite::types::Value;

use crate::store::db::{args, Db, Engine};

use super::model::{License, LicensePage, LicenseQuery, LicenseSort};
use super::sql::{key_rtail, license_row, KEY_RTAIL, SELECT};
use crate::error::{Error, Result};
use crate::store::like_pattern;
use crate::{stamp, Keywright};

/// Page size when the query names none.
pub const DEFAULT_LIMIT: i64 = 50;
/// The largest page a query may ask for.
pub const MAX_LIMIT: i64 = 500;
/// The longest search text accepted: long enough for a whole license key pasted in.
const MAX_TEXT: usize = 8_192;
/// Keys of at most this many characters (unsigned, human keys) are searched by any
/// substring, through the trigram index; longer ones (signed keys) by their start or
/// end. Kept in step with the migration that builds `license_search`.
pub const KEY_SHORT: usize = 64;
/// A text matching more licenses (or customers, for 1–2 characters) than this is
/// broad: its page walks the sort order rather than sorting every match. Where the
/// two plans cost the same on 100,000 licenses (see docs/benchmarks.md).
pub const BROAD_TEXT: i64 = 20_000;
/// With a broad text, other filters matching at most this many licenses are read
/// through their index (each match then costs one probe of the text index); broader
/// ones walk the sort order.
const NARROW_FILTER: i64 = 500;
/// The furthest "expiring within" reaches (ten years).
const MAX_EXPIRING_DAYS: i64 = 3_650;
/// Matches are counted up to this many; past it the total reads "10,000+". An exact
/// count of a broad search ("cu" matching 80,000 licenses) costs more than the page.
/// Up to the cap the count also chooses the page's plan (see `walk_sort_index`).
pub const COUNT_CAP: i64 = 10_000;

impl LicenseSort {
    /// The SQL sort key (never NULL, so keyset comparisons work) and whether it
    /// descends. Perpetual licenses and licenses without a customer sort last.
    fn key(self) -> (&'static str, bool) {
        match self {
            Self::CreatedDesc => ("l.created_at", true),
            Self::CreatedAsc => ("l.created_at", false),
            // Same expression as the index `licenses_expiry`; '~' follows the digits.
            Self::ExpiryAsc => ("coalesce(l.expiry, '~')", false),
            // Kept by triggers (migration 4) as
            // coalesce(lower(name), lower(email), char(1114111)) of the customer, and
            // indexed with the id (`licenses_customer_sort`).
            Self::CustomerAsc => ("l.customer_sort", false),
        }
    }
}

/// One FTS5 phrase: matches the text as a substring (trigram tokenizer).
fn fts_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// One FTS5 prefix phrase: matches words starting with the text (unicode61 tokenizer).
fn fts_prefix(text: &str) -> String {
    format!("\"{}\" *", text.replace('"', "\"\""))
}

/// How many rows of the FTS `table` match `expression`, counted from the index alone
/// and only up to one past [`BROAD_TEXT`].
fn index_matches(db: Db<'_>, table: &str, expression: &str) -> Result<i64> {
    db.query_one(
        &format!(
            "SELECT count(*) FROM (SELECT rowid FROM {table} WHERE {table} MATCH ?1 LIMIT {}) AS m",
            BROAD_TEXT + 1
        ),
        args![expression],
        |r| r.get(0),
    )
}

/// PostgreSQL's words of a customer's name and email, for the word search of one or
/// two characters: the same expression as the index `customers_words` (V1), which
/// splits an email at its punctuation as SQLite's unicode61 tokenizer does.
const PG_CUSTOMER_WORDS: &str = "to_tsvector('simple'::regconfig, keywright_unaccent(\
     coalesce(name, '') || ' ' || regexp_replace(coalesce(email, ''), '[^[:alnum:]]+', ' ', 'g')))";

/// PostgreSQL: how many customers the sample that tells a broad word prefix holds.
const PG_SAMPLE: i64 = 200;

/// PostgreSQL: how many rows match `filter` (with parameter 1), up to one past
/// [`BROAD_TEXT`].
fn pg_matches(db: Db<'_>, from: &str, filter: &str, arg: &str) -> Result<i64> {
    db.query_one(
        &format!(
            "SELECT count(*) FROM (SELECT 1 FROM {from} WHERE {filter} LIMIT {}) AS m",
            BROAD_TEXT + 1
        ),
        args![arg],
        |r| r.get(0),
    )
}

/// The text as one `to_tsquery` lexeme: lowercase, every character that is not a
/// letter or digit dropped (the word index holds no punctuation).
fn pg_lexeme(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A key's start or end is searched from this many characters on (fewer match too
/// many keys to mean anything).
pub const MIN_KEY_PART: usize = 6;
/// The longest name or email a store holds (names and companies are at most 200
/// characters, emails 254 bytes): a longer text is searched as a key only.
const LONGEST_FIELD: usize = 254;
/// How many leading characters of each key `licenses_key_head` holds.
const KEY_HEAD: usize = 64;

/// SQL that the key of `t` starts with `text` ([`MIN_KEY_PART`] to [`KEY_HEAD`]
/// characters), a range of the index `licenses_key_head`: (condition, its parameters
/// numbered from `first`). Keys compare exactly, case included. A longer text is not
/// looked for as a start: every key of a product shares its first hundred-odd
/// characters (the dataset's account, product and policy), so no index of a key's
/// start narrows it, and a whole key is found by its end.
fn key_prefix(db: Db<'_>, text: &str, t: &str, first: usize) -> Option<(String, Vec<Value>)> {
    let len = text.chars().count();
    if !(MIN_KEY_PART..=KEY_HEAD).contains(&len) {
        return None;
    }
    let head = match db.engine() {
        Engine::Sqlite => format!("substr({t}.key, 1, {KEY_HEAD})"),
        Engine::Postgres => format!("left({t}.key, {KEY_HEAD})"),
    };
    Some((
        format!("({head} >= ?{first} AND {head} < ?{})", first + 1),
        vec![
            Value::Text(text.to_owned()),
            Value::Text(format!("{text}{}", char::MAX)),
        ],
    ))
}

/// SQL that the key of `t` ends with `text` (at least [`MIN_KEY_PART`] characters),
/// through the unique index over `key_rtail` (the key's end reversed); a whole key is
/// one such end. Parameters as [`key_prefix`].
fn key_suffix(db: Db<'_>, text: &str, t: &str, first: usize) -> Option<(String, Vec<Value>)> {
    let len = text.chars().count();
    if len < MIN_KEY_PART {
        return None;
    }
    let (a, b) = (first, first + 1);
    Some(if len <= KEY_RTAIL {
        let reversed: String = text.chars().rev().collect();
        (
            format!("({t}.key_rtail >= ?{a} AND {t}.key_rtail < ?{b})"),
            vec![
                Value::Text(reversed.clone()),
                Value::Text(format!("{reversed}{}", char::MAX)),
            ],
        )
    } else {
        (
            format!(
                "({t}.key_rtail = ?{a} AND {} = ?{b})",
                db.tail(&format!("{t}.key"), len as u32)
            ),
            vec![Value::Text(key_rtail(text)), Value::Text(text.to_owned())],
        )
    })
}

/// The key parts of a search text over alias `t`, with their parameters appended to
/// `args` (numbered after those already there).
fn key_parts(db: Db<'_>, text: &str, t: &str, args: &mut Vec<Value>) -> Vec<String> {
    let mut conditions = Vec::new();
    for part in [key_prefix, key_suffix] {
        if let Some((condition, values)) = part(db, text, t, args.len() + 1) {
            conditions.push(condition);
            args.extend(values);
        }
    }
    conditions
}

/// A key's start or end matching more licenses than this makes the text broad: the
/// page then walks the sort order, testing each license's key, which costs little
/// when so many match (51 × licenses / matches rows at most: 2,500 on 100,000); and
/// counting further through an index of keys' starts costs more than the page.
const KEY_PART_BROAD: i64 = 2_000;

/// How many licenses a key's start and end match, each counted from its index up to
/// one past [`KEY_PART_BROAD`]; `None` when either is past it (a broad text, whose
/// total is then not known).
fn key_part_matches(db: Db<'_>, text: &str) -> Result<Option<i64>> {
    let mut total = 0;
    for part in [key_prefix, key_suffix] {
        if let Some((condition, values)) = part(db, text, "k", 1) {
            let values: Vec<crate::store::db::Value> = values.into_iter().map(Into::into).collect();
            let n = db.query_one::<i64>(
                &format!(
                    "SELECT count(*) FROM (SELECT 1 FROM licenses k WHERE {condition} LIMIT {}) AS m",
                    KEY_PART_BROAD + 1
                ),
                &values,
                |r| r.get(0),
            )?;
            if n > KEY_PART_BROAD {
                return Ok(None);
            }
            total += n;
        }
    }
    Ok(Some(total))
}

/// Where the rows a batch is about to write start: one past the largest `seq` of
/// `licenses` and of `customers` (read inside the batch's transaction).
pub(crate) fn rows_after(db: Db<'_>) -> Result<(i64, i64)> {
    db.query_one(
        "SELECT (SELECT coalesce(max(seq), 0) FROM licenses), \
                (SELECT coalesce(max(seq), 0) FROM customers)",
        &[],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// SQLite: indexes for search, all at once, the licenses and customers a batch wrote
/// after `after` (from [`rows_after`]); or with `None`, every row a batch ever wrote
/// (a store just copied). The store's triggers index every other row as it is written.
/// PostgreSQL keeps its indexes itself: nothing to do.
pub(crate) fn index_batch_rows(db: Db<'_>, after: Option<(i64, i64)>) -> Result<()> {
    if db.engine() != Engine::Sqlite {
        return Ok(());
    }
    let (licenses, customers) = match after {
        Some((l, c)) => (format!("l.seq > {l}"), format!("seq > {c}")),
        None => (
            "l.proof_seq IS NOT NULL".to_owned(),
            "proof_seq IS NOT NULL".to_owned(),
        ),
    };
    db.execute(
        &format!(
            "INSERT INTO license_search (rowid, key_short, customer_name, customer_email)
             SELECT l.seq, CASE WHEN length(l.key) <= {KEY_SHORT} THEN l.key END, c.name, c.email
             FROM licenses l LEFT JOIN customers c ON c.id = l.customer_id
             WHERE {licenses} AND l.proof_seq IS NOT NULL"
        ),
        &[],
    )?;
    db.execute(
        &format!(
            "INSERT INTO customer_words (rowid, name, email)
             SELECT seq, name, email FROM customers WHERE {customers} AND proof_seq IS NOT NULL"
        ),
        &[],
    )?;
    Ok(())
}

fn encode_cursor(sort: LicenseSort, key: &str, id: &str) -> String {
    hex::encode(serde_json::json!([sort.as_str(), key, id]).to_string())
}

fn decode_cursor(sort: LicenseSort, cursor: &str) -> Result<(String, String)> {
    let bad = || Error::bad_input("the page cursor is not valid; start from the first page");
    let bytes = hex::decode(cursor.trim()).map_err(|_| bad())?;
    let (s, key, id): (String, String, String) =
        serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if s != sort.as_str() {
        return Err(Error::bad_input(
            "the page cursor belongs to another sort order; start from the first page",
        ));
    }
    Ok((key, id))
}

/// A search turned into SQL: the count (already run) and the page query.
struct Planned {
    count_sql: String,
    count_args: usize,
    page_sql: String,
    args: Vec<Value>,
    total: Total,
}

/// What is known of the number of matches before reading the page.
#[derive(Clone, Copy)]
enum Total {
    /// Counted up to `COUNT_CAP + 1`.
    Counted(i64),
    /// Not counted (a broad text), but more than `COUNT_CAP` match.
    OverCap,
    /// Not counted (a broad text with other filters, or short text: the index
    /// counts customers, not licenses).
    Unknown,
}

impl Keywright {
    /// Licenses matching `query`, one page at a time, with the total across pages
    /// (exact up to [`COUNT_CAP`]).
    pub fn search_licenses(&self, query: &LicenseQuery, now: Timestamp) -> Result<LicensePage> {
        let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
        let planned = self.plan_search(query, now)?;
        let args: Vec<crate::store::db::Value> =
            planned.args.iter().cloned().map(Into::into).collect();
        let mut rows: Vec<(String, License)> =
            self.store.db().query(&planned.page_sql, &args, |r| {
                Ok((r.get(13)?, license_row(r)?))
            })?;
        let next_cursor = if rows.len() as i64 > limit {
            rows.truncate(limit as usize);
            rows.last()
                .map(|(k, l)| encode_cursor(query.sort, k, &l.id))
        } else {
            None
        };
        let mut items: Vec<License> = rows.into_iter().map(|(_, l)| l).collect();
        fill_machine_counts(self.store.db(), &mut items)?;
        let first_page = query.cursor.as_deref().is_none_or(|c| c.trim().is_empty());
        let (total, total_exact) = match planned.total {
            Total::Counted(counted) => (counted.min(COUNT_CAP), counted <= COUNT_CAP),
            // The only page: every match is on it.
            _ if first_page && next_cursor.is_none() => (items.len() as i64, true),
            Total::OverCap => (COUNT_CAP, false),
            Total::Unknown => (items.len() as i64, false),
        };
        Ok(LicensePage {
            items,
            total,
            total_exact,
            next_cursor,
        })
    }

    /// SQLite's plan (`EXPLAIN QUERY PLAN` detail lines) for the count and the page
    /// of `query`: what the index guard test reads. Not for applications.
    #[doc(hidden)]
    pub fn explain_license_search(
        &self,
        query: &LicenseQuery,
        now: Timestamp,
    ) -> Result<Vec<String>> {
        let planned = self.plan_search(query, now)?;
        let Some(conn) = self.store.sqlite() else {
            return Err(Error::new(
                crate::ErrorCode::BadInput,
                "the query plan is read from SQLite stores only",
            ));
        };
        let mut lines = Vec::new();
        for (label, sql, args) in [
            (
                "count",
                &planned.count_sql,
                &planned.args[..planned.count_args],
            ),
            ("page", &planned.page_sql, &planned.args[..]),
        ] {
            if sql.is_empty() {
                continue; // not counted
            }
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
            let details = stmt
                .query_map(rusqlite::params_from_iter(args.iter()), |r| {
                    r.get::<_, String>(3)
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            lines.extend(details.into_iter().map(|d| format!("{label}: {d}")));
        }
        Ok(lines)
    }

    fn plan_search(&self, query: &LicenseQuery, now: Timestamp) -> Result<Planned> {
        let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::bad_input(format!(
                "a page holds 1 to {MAX_LIMIT} licenses; got {limit}"
            )));
        }
        let db = self.store.db();
        let postgres = db.engine() == Engine::Postgres;
        let mut filters: Vec<String> = Vec::new();
        let mut args: Vec<Value> = Vec::new();
        // Whether the text matches more than `BROAD_TEXT` (see the module docs), and
        // whether it went to the trigram index (whose rows are licenses).
        let mut broad_text = false;
        let mut trigram_text = false;

        if let Some(text) = query
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            let chars = text.chars().count();
            if chars > MAX_TEXT {
                return Err(Error::bad_input(format!(
                    "search text is too long ({chars} characters; at most {MAX_TEXT})"
                )));
            }
            let n = args.len();
            if chars > LONGEST_FIELD {
                // Longer than any name or email the store holds: a key (whole, or its
                // start or end, as an email may have wrapped it) or a license id.
                let compact: String = text.split_whitespace().collect();
                let keys = key_part_matches(db, &compact)?;
                broad_text = keys.is_none_or(|k| k > BROAD_TEXT);
                trigram_text = keys.is_some();
                let exact = n + 1;
                args.push(Value::Text(compact.clone()));
                filters.push(if compact.chars().count() < MIN_KEY_PART {
                    // (Mostly spaces: no key part to look for.)
                    format!("l.id = ?{exact}")
                } else if broad_text {
                    let parts = key_parts(db, &compact, "l", &mut args);
                    format!("({} OR l.id = ?{exact})", parts.join(" OR "))
                } else {
                    // One list of ids (an OR beside it made PostgreSQL scan every
                    // license).
                    let parts = key_parts(db, &compact, "k", &mut args);
                    format!(
                        "l.id IN ({} UNION ALL SELECT CAST(?{exact} AS TEXT))",
                        parts
                            .iter()
                            .map(|p| format!("SELECT k.id FROM licenses k WHERE {p}"))
                            .collect::<Vec<_>>()
                            .join(" UNION ALL ")
                    )
                });
            } else if postgres {
                // PostgreSQL: the trigram GIN indexes answer ILIKE over the key's tail,
                // the name and the email; the word index answers 1–2 characters. A
                // narrow text lists its matches through those indexes (a union of
                // license ids: an OR across the two tables would make the planner scan
                // every license); a broad one walks the sort order and tests each row
                // it passes through the page's own join to its customer (`c`), so it
                // is never counted (see `count_of` below).
                let like = like_pattern(text);
                let exact = format!("?{}", n + 2);
                let a = n + 1;
                if chars >= 3 {
                    // How many licenses the text may match, from the indexes alone:
                    // its customers, the short keys holding it, and the keys that
                    // start or end with it.
                    let compact: String = text.split_whitespace().collect();
                    let customers = pg_matches(
                        db,
                        "customers",
                        "name ILIKE ?1 ESCAPE '\\' OR email ILIKE ?1 ESCAPE '\\'",
                        &like,
                    )?;
                    let short_keys = pg_matches(
                        db,
                        "licenses l",
                        &format!("length(l.key) <= {KEY_SHORT} AND l.key ILIKE ?1 ESCAPE '\\'"),
                        &like,
                    )?;
                    let keys = key_part_matches(db, &compact)?;
                    broad_text = keys.is_none_or(|k| customers + short_keys + k > BROAD_TEXT);
                    trigram_text = keys.is_some();
                    args.push(Value::Text(like));
                    args.push(Value::Text(compact.clone()));
                    if broad_text {
                        let parts = key_parts(db, &compact, "l", &mut args);
                        filters.push(format!(
                            "(length(l.key) <= {KEY_SHORT} AND l.key ILIKE ?{a} ESCAPE '\\' \
                             OR c.name ILIKE ?{a} ESCAPE '\\' OR c.email ILIKE ?{a} ESCAPE '\\' \
                             {}OR l.id = {exact})",
                            parts.iter().map(|p| format!("OR {p} ")).collect::<String>()
                        ));
                    } else {
                        let parts = key_parts(db, &compact, "k", &mut args);
                        filters.push(format!(
                            "l.id IN (SELECT k.id FROM licenses k \
                             WHERE length(k.key) <= {KEY_SHORT} AND k.key ILIKE ?{a} ESCAPE '\\' \
                             UNION ALL SELECT k.id FROM licenses k WHERE k.customer_id IN \
                             (SELECT id FROM customers WHERE name ILIKE ?{a} ESCAPE '\\' \
                             OR email ILIKE ?{a} ESCAPE '\\') \
                             {}UNION ALL SELECT CAST({exact} AS TEXT))",
                            parts
                                .iter()
                                .map(|p| format!(
                                    "UNION ALL SELECT k.id FROM licenses k WHERE {p} "
                                ))
                                .collect::<String>()
                        ));
                    }
                } else if text.chars().any(char::is_alphanumeric) {
                    let prefix = format!("{}:*", pg_lexeme(text));
                    let query =
                        "to_tsquery('simple'::regconfig, keywright_unaccent(CAST(?1 AS TEXT)))";
                    let of_c = PG_CUSTOMER_WORDS
                        .replace("coalesce(name", "coalesce(c.name")
                        .replace("coalesce(email", "coalesce(c.email");
                    // Broad or not, estimated from a sample of customers and the
                    // table's size as the planner knows it: counting through the word
                    // index expands a one-letter prefix to every word that starts with
                    // it, which takes longer than the page.
                    let sample: i64 = db.query_one(
                        &format!(
                            "SELECT count(*) FROM (SELECT name, email FROM customers LIMIT {PG_SAMPLE}) AS c \
                             WHERE {of_c} @@ {query}"
                        ),
                        args![prefix.as_str()],
                        |r| r.get(0),
                    )?;
                    let customers: i64 = db.query_one(
                        "SELECT CAST(reltuples AS BIGINT) FROM pg_class \
                         WHERE oid = CAST('customers' AS regclass)",
                        &[],
                        |r| r.get(0),
                    )?;
                    broad_text = if customers < 0 {
                        // Never analyzed (a new database): counted through the index,
                        // which costs little while the table is small.
                        pg_matches(
                            db,
                            "customers",
                            &format!("{PG_CUSTOMER_WORDS} @@ {query}"),
                            &prefix,
                        )? > BROAD_TEXT
                    } else {
                        customers > BROAD_TEXT
                            && sample.saturating_mul(customers)
                                > BROAD_TEXT.saturating_mul(PG_SAMPLE)
                    };
                    let query = query.replace("?1", &format!("?{a}"));
                    filters.push(if broad_text {
                        // A correlated subquery, tested row by row as the page walks
                        // the sort order: the same test over the page's join made the
                        // planner, which cannot tell how many customers a prefix
                        // matches, join and sort every license (0.5 s for "b").
                        format!(
                            "(SELECT {PG_CUSTOMER_WORDS} @@ {query} FROM customers c2 \
                             WHERE c2.id = l.customer_id)"
                        )
                    } else {
                        format!(
                            "l.customer_id IN (SELECT id FROM customers WHERE {PG_CUSTOMER_WORDS} @@ {query})"
                        )
                    });
                    args.push(Value::Text(prefix));
                } else {
                    // Punctuation alone ("@", "."): no index can say how many match;
                    // walked like a broad text (not counted).
                    broad_text = true;
                    filters.push(format!(
                        "(l.key ILIKE ?{a} ESCAPE '\\' OR c.name ILIKE ?{a} ESCAPE '\\' \
                         OR c.email ILIKE ?{a} ESCAPE '\\')"
                    ));
                    args.push(Value::Text(like));
                }
            } else if chars >= 3 {
                let phrase = fts_phrase(text);
                let compact: String = text.split_whitespace().collect();
                let indexed = index_matches(db, "license_search", &phrase)?;
                let keys = key_part_matches(db, &compact)?;
                broad_text = keys.is_none_or(|k| indexed + k > BROAD_TEXT);
                trigram_text = keys.is_some();
                let (a, exact) = (n + 1, n + 2);
                args.push(Value::Text(phrase));
                args.push(Value::Text(compact.clone()));
                filters.push(if broad_text {
                    let parts = key_parts(db, &compact, "l", &mut args);
                    format!(
                        "(EXISTS (SELECT 1 FROM license_search WHERE license_search MATCH ?{a} \
                         AND rowid = l.seq) {}OR l.id = ?{exact})",
                        parts.iter().map(|p| format!("OR {p} ")).collect::<String>()
                    )
                } else {
                    let parts = key_parts(db, &compact, "k", &mut args);
                    format!(
                        "(l.seq IN (SELECT rowid FROM license_search WHERE license_search MATCH ?{a}\
                         {}) OR l.id = ?{exact})",
                        parts
                            .iter()
                            .map(|p| format!(" UNION ALL SELECT k.seq FROM licenses k WHERE {p}"))
                            .collect::<String>()
                    )
                });
            } else if text.chars().any(char::is_alphanumeric) {
                let prefix = fts_prefix(text);
                let matches = index_matches(db, "customer_words", &prefix)?;
                broad_text = matches > BROAD_TEXT;
                filters.push(if broad_text {
                    // CROSS JOIN keeps the order: the customer row first, then one
                    // probe of the index at its rowid. (A scalar subquery for the rowid
                    // made SQLite 3.50 run each probe some 50 times slower.)
                    format!(
                        "EXISTS (SELECT 1 FROM customers c CROSS JOIN customer_words w \
                         WHERE c.id = l.customer_id AND w.rowid = c.seq \
                         AND w.customer_words MATCH ?{a})",
                        a = n + 1
                    )
                } else {
                    format!(
                        "l.customer_id IN (SELECT id FROM customers WHERE seq IN \
                         (SELECT rowid FROM customer_words WHERE customer_words MATCH ?{a}))",
                        a = n + 1
                    )
                });
                args.push(Value::Text(prefix));
            } else {
                filters.push(
                    "(l.key LIKE ?1 ESCAPE '\\' OR l.customer_id IN (SELECT id FROM customers \
                     WHERE name LIKE ?1 ESCAPE '\\' OR email LIKE ?1 ESCAPE '\\'))"
                        .replace("?1", &format!("?{}", n + 1)),
                );
                args.push(Value::Text(like_pattern(text)));
            }
        }
        if let Some(product) = query.product_id.as_deref().filter(|s| !s.is_empty()) {
            filters.push(format!(
                "#l.policy_id IN (SELECT id FROM policies WHERE product_id = ?{})",
                args.len() + 1
            ));
            args.push(Value::Text(product.to_owned()));
        }
        if let Some(policy) = query.policy_id.as_deref().filter(|s| !s.is_empty()) {
            filters.push(format!("#l.policy_id = ?{}", args.len() + 1));
            args.push(Value::Text(policy.to_owned()));
        }
        if let Some(customer) = query.customer_id.as_deref().filter(|s| !s.is_empty()) {
            filters.push(format!("#l.customer_id = ?{}", args.len() + 1));
            args.push(Value::Text(customer.to_owned()));
        }
        if let Some(status) = query.status {
            filters.push(format!("#l.status = ?{}", args.len() + 1));
            args.push(Value::Text(status.as_str().to_owned()));
        }
        let mut expiry_range = None;
        if let Some(days) = query.expiring_within_days {
            if !(0..=MAX_EXPIRING_DAYS).contains(&days) {
                return Err(Error::bad_input(format!(
                    "\"expiring within\" takes 0 to {MAX_EXPIRING_DAYS} days; got {days}"
                )));
            }
            let until = now
                .checked_add(SignedDuration::from_hours(days * 24))
                .map_err(|_| Error::bad_input("\"expiring within\" reaches too far"))?;
            let n = args.len();
            filters.push(format!(
                "#l.expiry IS NOT NULL AND #l.expiry > ?{} AND #l.expiry <= ?{}",
                n + 1,
                n + 2
            ));
            expiry_range = Some((n + 1, n + 2));
            args.push(Value::Text(stamp(now)));
            args.push(Value::Text(stamp(until)));
        }

        let has_text = query.text.as_deref().is_some_and(|t| !t.trim().is_empty());
        let where_of = |filters: &[String]| {
            if filters.is_empty() {
                String::new()
            } else {
                format!(" WHERE {}", filters.join(" AND ").replace("#l.", "l."))
            }
        };
        // Every filter reads only `licenses` columns, so counting needs no joins; the
        // composite indexes of migration 4 cover the policy, status and expiry filters.
        // Counting stops past `COUNT_CAP`: the cost of a count is then bounded too.
        let count_of = |filters: &[String]| -> Result<(String, i64)> {
            let sql = format!(
                "SELECT count(*) FROM (SELECT 1 FROM licenses l{} LIMIT {}) AS m",
                where_of(filters),
                COUNT_CAP + 1
            );
            let bound: Vec<crate::store::db::Value> =
                args.iter().cloned().map(Into::into).collect();
            let counted = db.query_one(&sql, &bound, |r| r.get(0))?;
            Ok((sql, counted))
        };
        let count_args = args.len();
        // A broad text is not counted: walking every match costs more than the page.
        // Its index matches are licenses (trigram text), so with no other filter more
        // than `BROAD_TEXT` licenses match.
        let (count_sql, total) = match (broad_text, trigram_text) {
            (true, true) if filters.len() == 1 => (String::new(), Total::OverCap),
            (true, _) => (String::new(), Total::Unknown),
            (false, _) => {
                let (sql, counted) = count_of(&filters)?;
                (sql, Total::Counted(counted))
            }
        };

        // A page can come two ways: read every match through a filter's index and
        // sort them (cost ~ total), or walk the sort order's index and skip rows until
        // the page is full (cost ~ page × licenses / total). SQLite, without
        // statistics, always takes the first, which sorts tens of thousands of rows
        // when a filter is broad ("this policy, expiring within a year"). With the
        // count in hand, choose: when walking is cheaper, the filter columns are
        // written `+l.column`, which hides their indexes from the planner. A count
        // that reached the cap means a broad filter: walk. A narrow text keeps its own
        // plan (its match list is read first either way); a broad text walks unless
        // the other filters alone are narrow, since each license it passes costs an
        // index probe.
        let has_filters = filters.iter().any(|f| f.contains("#l."));
        let walk_sort_index = match total {
            _ if !has_filters => false,
            Total::OverCap | Total::Unknown => count_of(&filters[1..])?.1 > NARROW_FILTER,
            Total::Counted(_) if has_text => false,
            Total::Counted(counted) if counted > COUNT_CAP => true,
            Total::Counted(counted) => {
                // rowids are assigned upwards, so the largest is close to the count.
                let licenses: i64 =
                    db.query_one("SELECT coalesce(max(seq), 0) FROM licenses", &[], |r| {
                        r.get(0)
                    })?;
                counted.saturating_mul(counted) > (limit + 1).saturating_mul(licenses)
            }
        };
        // (`+l.column` is SQLite's way; PostgreSQL's planner has statistics and
        // chooses by itself, and `+` is not defined on text there. Hiding its filter
        // indexes the same way, `(l.column || '')`, was measured: "policy + expiring
        // within a year" went from 58 to 100 ms on 100,000 licenses.)
        let column = if walk_sort_index && !postgres {
            "+l."
        } else {
            "l."
        };
        for f in &mut filters {
            *f = f.replace("#l.", column);
        }
        if let (Some((after, until)), LicenseSort::ExpiryAsc) = (expiry_range, query.sort) {
            // The expiry range again, over the sort key: the page then walks
            // `licenses_expiry` from "now" instead of skipping every expired license.
            filters.push(format!(
                "coalesce(l.expiry, '~') > ?{after} AND coalesce(l.expiry, '~') <= ?{until}"
            ));
        }

        let (key, descending) = query.sort.key();
        // PostgreSQL, given a text or filters that match few licenses (counted): its
        // planner may still walk the sort order's index, on an estimate, through every
        // license when few or none match (0.3 s for a policy with nothing expiring).
        // The sort key written as an expression (`|| ''`, the same value) hides that
        // index, so the matches are read through their own and sorted.
        let key = if postgres
            && !walk_sort_index
            && (has_filters || has_text)
            && matches!(total, Total::Counted(c) if c <= COUNT_CAP)
        {
            format!("({key} || '')")
        } else {
            key.to_owned()
        };
        let (cmp, dir) = if descending {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        if let Some(cursor) = query.cursor.as_deref().filter(|c| !c.trim().is_empty()) {
            let (after_key, after_id) = decode_cursor(query.sort, cursor)?;
            let n = args.len();
            // The scalar bound on the sort key lets SQLite seek into the sort index
            // (it does not seek on a row value over an expression index, such as
            // the expiry order's): without it every page scanned from the start.
            filters.push(format!(
                "{key} {cmp}= ?{a} AND ({key}, l.id) {cmp} (?{a}, ?{b})",
                a = n + 1,
                b = n + 2
            ));
            args.push(Value::Text(after_key));
            args.push(Value::Text(after_id));
        }
        let page_filter = if filters.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", filters.join(" AND "))
        };
        // The sort key rides along as a 14th column, for the next page's cursor.
        let select = SELECT.replacen(" FROM licenses l", &format!(", {key} FROM licenses l"), 1);
        let sql = format!(
            "{select}{page_filter} ORDER BY {key} {dir}, l.id {dir} LIMIT {}",
            limit + 1
        );
        Ok(Planned {
            count_sql,
            count_args,
            page_sql: sql,
            args,
            total,
        })
    }
}

/// Fills `machines_count` for a page in one query over the page's ids (the
/// `machines_license (license_id, status)` index answers each), so the cost follows
/// the page size, never the number of matches.
fn fill_machine_counts(db: Db<'_>, items: &mut [License]) -> Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    let marks = (1..=items.len())
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let ids: Vec<crate::store::db::Value> = items.iter().map(|l| l.id.as_str().into()).collect();
    let counts: std::collections::HashMap<String, i64> = db
        .query(
            &format!(
                "SELECT license_id, count(*) FROM machines
                 WHERE status = 'active' AND license_id IN ({marks}) GROUP BY license_id"
            ),
            &ids,
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?
        .into_iter()
        .collect();
    for item in items {
        item.machines_count = Some(counts.get(&item.id).copied().unwrap_or(0));
    }
    Ok(())
}
