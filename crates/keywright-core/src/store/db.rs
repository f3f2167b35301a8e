//! One handle for the domains' SQL on either engine.
//!
//! A domain's `sql.rs` function takes a [`Db`] and writes its statement once, in the
//! SQL both engines speak (SQLite ≥ 3.35 and PostgreSQL ≥ 13 share `count(*) FILTER`,
//! `ON CONFLICT … DO`, `RETURNING`, window functions), with SQLite's numbered
//! placeholders `?1, ?2…`, which this module turns into PostgreSQL's `$1, $2…`. Where
//! the engines differ (a case-insensitive `LIKE`, the implicit `rowid`), the function
//! asks [`Db::engine`] and says both forms side by side: a second database means
//! reading one file per domain, not hunting for statements.
//!
//! Values cross as [`Value`] (64-bit integers, text, bytes, NULL), the types both
//! schemas use for every column (PostgreSQL's is BIGINT, TEXT, BYTEA: see
//! `pg_migrations/V1__store.sql`), so a row reads back as the same Rust value on both.

use std::borrow::Cow;

use crate::error::{Error, ErrorCode, Result};

/// Which engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// The embedded default: one file.
    Sqlite,
    /// A PostgreSQL server, shared by several processes.
    Postgres,
}

/// A borrowed handle on a connection of either engine (or a transaction on it:
/// statements run inside whatever the connection has begun).
#[derive(Clone, Copy)]
pub enum Db<'a> {
    /// An SQLite connection (a `rusqlite::Transaction` derefs to one).
    Sqlite(&'a rusqlite::Connection),
    /// A PostgreSQL client. The client needs `&mut` for each statement; the cell
    /// lends it for that statement only.
    #[cfg(feature = "postgres")]
    Postgres(&'a std::cell::RefCell<pg::PgConn>),
}

/// A value bound to a placeholder or read from a column.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// SQL NULL.
    Null,
    /// A 64-bit integer (flags are 0/1 integers on both engines).
    Int(i64),
    /// Text.
    Text(Cow<'a, str>),
    /// Bytes.
    Blob(Cow<'a, [u8]>),
}

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<bool> for Value<'_> {
    fn from(v: bool) -> Self {
        Value::Int(v as i64)
    }
}
impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Value::Text(Cow::Borrowed(v))
    }
}
impl<'a> From<&'a String> for Value<'a> {
    fn from(v: &'a String) -> Self {
        Value::Text(Cow::Borrowed(v))
    }
}
impl From<String> for Value<'_> {
    fn from(v: String) -> Self {
        Value::Text(Cow::Owned(v))
    }
}
impl<'a> From<&'a [u8]> for Value<'a> {
    fn from(v: &'a [u8]) -> Self {
        Value::Blob(Cow::Borrowed(v))
    }
}
impl<'a, T: Into<Value<'a>>> From<Option<T>> for Value<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Binds values in placeholder order: `args![id, name, 3_i64]`.
#[macro_export]
#[doc(hidden)]
macro_rules! db_args {
    ($($v:expr),* $(,)?) => {
        &[$($crate::store::db::Value::from($v)),*][..]
    };
}
pub(crate) use db_args as args;

/// A row being read: columns by position, as the statement lists them.
pub enum Row<'r> {
    /// An SQLite row.
    Sqlite(&'r rusqlite::Row<'r>),
    /// A PostgreSQL row.
    #[cfg(feature = "postgres")]
    Postgres(&'r postgres::Row),
}

/// A Rust type a column reads into on both engines.
pub trait FromColumn: Sized {
    /// Converts the column's value; `None` when the types do not fit.
    fn from_value(v: Value<'_>) -> Option<Self>;
}

impl FromColumn for i64 {
    fn from_value(v: Value<'_>) -> Option<Self> {
        match v {
            Value::Int(i) => Some(i),
            _ => None,
        }
    }
}
impl FromColumn for bool {
    fn from_value(v: Value<'_>) -> Option<Self> {
        match v {
            Value::Int(i) => Some(i != 0),
            _ => None,
        }
    }
}
impl FromColumn for String {
    fn from_value(v: Value<'_>) -> Option<Self> {
        match v {
            Value::Text(t) => Some(t.into_owned()),
            _ => None,
        }
    }
}
impl FromColumn for Vec<u8> {
    fn from_value(v: Value<'_>) -> Option<Self> {
        match v {
            Value::Blob(b) => Some(b.into_owned()),
            _ => None,
        }
    }
}
impl<T: FromColumn> FromColumn for Option<T> {
    fn from_value(v: Value<'_>) -> Option<Self> {
        match v {
            Value::Null => Some(None),
            other => T::from_value(other).map(Some),
        }
    }
}

impl Row<'_> {
    /// Column `idx` (0-based) as `T`. A NULL or a value of another type where `T`
    /// cannot hold it is an error naming the column, never a silent default.
    pub fn get<T: FromColumn>(&self, idx: usize) -> Result<T> {
        let value = self.value(idx)?;
        let shown = format!("{value:?}");
        T::from_value(value).ok_or_else(|| {
            Error::new(
                ErrorCode::Store,
                format!(
                    "column {idx} holds {shown}, which is not a {}",
                    std::any::type_name::<T>()
                ),
            )
        })
    }

    /// The position of the column named `name`, if the statement has one.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        match self {
            Row::Sqlite(r) => r.as_ref().column_index(name).ok(),
            #[cfg(feature = "postgres")]
            Row::Postgres(r) => r.columns().iter().position(|c| c.name() == name),
        }
    }

    /// Column `idx` as it is stored (for readers that keep any type).
    pub fn value(&self, idx: usize) -> Result<Value<'_>> {
        match self {
            Row::Sqlite(r) => {
                use rusqlite::types::ValueRef;
                Ok(match r.get_ref(idx)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(i) => Value::Int(i),
                    ValueRef::Real(f) => Value::Text(Cow::Owned(f.to_string())),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t)),
                    ValueRef::Blob(b) => Value::Blob(Cow::Borrowed(b)),
                })
            }
            #[cfg(feature = "postgres")]
            Row::Postgres(r) => pg::column(r, idx),
        }
    }
}

impl<'a> Db<'a> {
    /// The engine behind this handle.
    pub fn engine(&self) -> Engine {
        match self {
            Db::Sqlite(_) => Engine::Sqlite,
            #[cfg(feature = "postgres")]
            Db::Postgres(_) => Engine::Postgres,
        }
    }

    /// The case-insensitive `LIKE` of the engine (SQLite's `LIKE` folds ASCII
    /// letters; PostgreSQL's `ILIKE` folds every letter).
    pub fn ilike(&self) -> &'static str {
        match self.engine() {
            Engine::Sqlite => "LIKE",
            Engine::Postgres => "ILIKE",
        }
    }

    /// The column that orders a table's rows as inserted where the table has no `seq`
    /// of its own on SQLite (`signing_keys`, `machines`): SQLite's implicit `rowid`,
    /// PostgreSQL's identity column `seq`.
    pub fn rowid(&self) -> &'static str {
        match self.engine() {
            Engine::Sqlite => "rowid",
            Engine::Postgres => "seq",
        }
    }

    /// The last `n` characters of the text `expr` (SQLite: `substr(x, -n)`, which
    /// PostgreSQL reads differently; PostgreSQL: `right(x, n)`, which SQLite lacks).
    pub fn tail(&self, expr: &str, n: u32) -> String {
        match self.engine() {
            Engine::Sqlite => format!("substr({expr}, -{n})"),
            Engine::Postgres => format!("right({expr}, {n})"),
        }
    }

    /// Runs a statement that returns no rows; the number of rows it changed.
    pub fn execute(&self, sql: &str, args: &[Value<'_>]) -> Result<u64> {
        match self {
            Db::Sqlite(c) => {
                Ok(c.prepare_cached(sql)?
                    .execute(rusqlite::params_from_iter(args.iter()))? as u64)
            }
            #[cfg(feature = "postgres")]
            Db::Postgres(c) => pg::execute(c, sql, args),
        }
    }

    /// Every row of a query, each read by `read`.
    pub fn query<T>(
        &self,
        sql: &str,
        args: &[Value<'_>],
        mut read: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        match self {
            Db::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    out.push(read(&Row::Sqlite(r))?);
                }
                Ok(out)
            }
            #[cfg(feature = "postgres")]
            Db::Postgres(c) => pg::query(c, sql, args)?
                .iter()
                .map(|r| read(&Row::Postgres(r)))
                .collect(),
        }
    }

    /// Calls `each` with every row of a query in order, reading one row at a time
    /// (the audit log may hold millions), until it returns `Ok(false)` or an error.
    pub fn for_each(
        &self,
        sql: &str,
        args: &[Value<'_>],
        mut each: impl FnMut(&Row<'_>) -> Result<bool>,
    ) -> Result<()> {
        match self {
            Db::Sqlite(c) => {
                let mut stmt = c.prepare(sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
                while let Some(r) = rows.next()? {
                    if !each(&Row::Sqlite(r))? {
                        break;
                    }
                }
                Ok(())
            }
            #[cfg(feature = "postgres")]
            Db::Postgres(c) => pg::for_each(c, sql, args, |r| each(&Row::Postgres(r))),
        }
    }

    /// The first row of a query, if there is one.
    pub fn query_opt<T>(
        &self,
        sql: &str,
        args: &[Value<'_>],
        read: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        match self {
            Db::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
                match rows.next()? {
                    Some(r) => Ok(Some(read(&Row::Sqlite(r))?)),
                    None => Ok(None),
                }
            }
            #[cfg(feature = "postgres")]
            Db::Postgres(c) => match pg::query(c, sql, args)?.first() {
                Some(r) => Ok(Some(read(&Row::Postgres(r))?)),
                None => Ok(None),
            },
        }
    }

    /// The one row a query must return (no row is a `STORE` error naming the query).
    pub fn query_one<T>(
        &self,
        sql: &str,
        args: &[Value<'_>],
        read: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        self.query_opt(sql, args, read)?.ok_or_else(|| {
            Error::new(
                ErrorCode::Store,
                format!(
                    "the store returned no row for: {}",
                    sql.split_whitespace().collect::<Vec<_>>().join(" ")
                ),
            )
        })
    }
}

impl From<rusqlite::types::Value> for Value<'_> {
    fn from(v: rusqlite::types::Value) -> Self {
        use rusqlite::types::Value as V;
        match v {
            V::Null => Value::Null,
            V::Integer(i) => Value::Int(i),
            V::Real(f) => Value::Text(Cow::Owned(f.to_string())),
            V::Text(t) => Value::Text(Cow::Owned(t)),
            V::Blob(b) => Value::Blob(Cow::Owned(b)),
        }
    }
}

impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Integer(*i),
            Value::Text(t) => ValueRef::Text(t.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

/// `?N` placeholders (SQLite's numbered form) as PostgreSQL's `$N`, leaving string
/// literals, quoted identifiers and comments alone.
pub fn numbered_to_dollar(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == '\n' {
                        break;
                    }
                }
            }
            '?' if chars.peek().is_some_and(char::is_ascii_digit) => out.push('$'),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(feature = "postgres")]
pub(crate) mod pg {
    use std::borrow::Cow;
    use std::cell::RefCell;

    use postgres::types::{to_sql_checked, IsNull, ToSql, Type};

    use super::{numbered_to_dollar, Value};
    use crate::error::{Error, ErrorCode, Result};

    impl ToSql for Value<'_> {
        fn to_sql(
            &self,
            ty: &Type,
            out: &mut postgres::types::private::BytesMut,
        ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
            match self {
                Value::Null => Ok(IsNull::Yes),
                Value::Int(i) if *ty == Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Value::Int(i) if *ty == Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Value::Int(i) => i.to_sql(ty, out),
                Value::Text(t) => t.as_ref().to_sql(ty, out),
                Value::Blob(b) => b.as_ref().to_sql(ty, out),
            }
        }

        fn accepts(ty: &Type) -> bool {
            <i64 as ToSql>::accepts(ty)
                || <i32 as ToSql>::accepts(ty)
                || <&str as ToSql>::accepts(ty)
                || <&[u8] as ToSql>::accepts(ty)
        }

        to_sql_checked!();
    }

    fn params<'v>(args: &'v [Value<'_>]) -> Vec<&'v (dyn ToSql + Sync)> {
        args.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
    }

    /// A PostgreSQL connection and the statements prepared on it (one round trip
    /// saved per statement after its first use; the cache goes with the connection).
    pub struct PgConn {
        pub(crate) client: postgres::Client,
        statements: std::collections::HashMap<String, postgres::Statement>,
        /// A statement failed because the connection went away. The client may not
        /// know it is closed yet (its connection task ends a moment later), so the
        /// store replaces it on this flag too (`Store::revived`).
        pub(crate) lost: bool,
    }

    impl PgConn {
        /// Statements kept prepared, at most (past it the cache starts over).
        const CACHED: usize = 256;

        pub(crate) fn new(client: postgres::Client) -> Self {
            Self {
                client,
                statements: std::collections::HashMap::new(),
                lost: false,
            }
        }
    }

    /// `r`, noting on `lost` when its error means the connection is gone (closed, a
    /// connection exception, the server shutting the session down).
    fn noted<T>(lost: &mut bool, r: std::result::Result<T, postgres::Error>) -> Result<T> {
        if let Err(e) = &r {
            let class = e.code().map(|c| c.code().get(..2).unwrap_or("").to_owned());
            if e.is_closed() || matches!(class.as_deref(), Some("08" | "57")) {
                *lost = true;
            }
        }
        Ok(r?)
    }

    fn client<'c>(c: &'c RefCell<PgConn>) -> Result<std::cell::RefMut<'c, PgConn>> {
        c.try_borrow_mut().map_err(|_| {
            Error::new(
                ErrorCode::Store,
                "a statement was started while another was still reading on the same PostgreSQL connection",
            )
        })
    }

    /// Runs `f`, which blocks on the PostgreSQL client's own runtime, outside any
    /// tokio runtime the caller is in (the activation server's): in place on a
    /// multi-threaded runtime (`block_in_place`), on a thread of its own on a
    /// single-threaded one; directly elsewhere.
    pub(crate) fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
        use tokio::runtime::{Handle, RuntimeFlavor};
        match Handle::try_current() {
            Err(_) => f(),
            Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(f)
            }
            Ok(_) => std::thread::scope(|s| {
                s.spawn(f)
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p))
            }),
        }
    }

    /// Runs `sql` (statements without parameters: BEGIN, COMMIT…) on the client.
    pub(crate) fn batch(c: &RefCell<PgConn>, sql: &str) -> Result<()> {
        let mut conn = client(c)?;
        let conn = &mut *conn;
        off_runtime(|| noted(&mut conn.lost, conn.client.batch_execute(sql)))
    }

    /// Prepares `sql` (with `?N` placeholders) for `args`. A parameter the statement
    /// does not use (a planner may drop a filter and keep its arguments) gets the type
    /// of its value; the others are left for the server to infer, as usual.
    fn prepare(conn: &mut PgConn, sql: &str, args: &[Value<'_>]) -> Result<postgres::Statement> {
        // The same SQL with other unused parameters is another statement: the key
        // carries the argument kinds.
        let key = format!("{}\u{0}{}", sql, kinds(args));
        if let Some(stmt) = conn.statements.get(&key) {
            return Ok(stmt.clone());
        }
        if conn.statements.len() >= PgConn::CACHED {
            conn.statements.clear();
        }
        let stmt = prepare_new(&mut conn.client, &mut conn.lost, sql, args)?;
        conn.statements.insert(key, stmt.clone());
        Ok(stmt)
    }

    fn kinds(args: &[Value<'_>]) -> String {
        args.iter()
            .map(|v| match v {
                Value::Null => 'n',
                Value::Int(_) => 'i',
                Value::Text(_) => 't',
                Value::Blob(_) => 'b',
            })
            .collect()
    }

    fn prepare_new(
        client: &mut postgres::Client,
        lost: &mut bool,
        sql: &str,
        args: &[Value<'_>],
    ) -> Result<postgres::Statement> {
        let sql = numbered_to_dollar(sql);
        let used = |n: usize| {
            let mark = format!("${n}");
            sql.match_indices(&mark)
                .any(|(at, m)| !sql[at + m.len()..].starts_with(|c: char| c.is_ascii_digit()))
        };
        if (1..=args.len()).all(used) {
            return noted(lost, client.prepare(&sql));
        }
        let unspecified = Type::new(
            "unspecified".into(),
            0,
            postgres::types::Kind::Pseudo,
            String::new(),
        );
        let types: Vec<Type> = args
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                _ if used(i + 1) => unspecified.clone(),
                Value::Int(_) => Type::INT8,
                Value::Blob(_) => Type::BYTEA,
                Value::Text(_) | Value::Null => Type::TEXT,
            })
            .collect();
        noted(lost, client.prepare_typed(&sql, &types))
    }

    pub(super) fn execute(c: &RefCell<PgConn>, sql: &str, args: &[Value<'_>]) -> Result<u64> {
        let mut conn = client(c)?;
        let conn = &mut *conn;
        off_runtime(|| {
            let stmt = prepare(conn, sql, args)?;
            noted(&mut conn.lost, conn.client.execute(&stmt, &params(args)))
        })
    }

    pub(super) fn query(
        c: &RefCell<PgConn>,
        sql: &str,
        args: &[Value<'_>],
    ) -> Result<Vec<postgres::Row>> {
        let mut conn = client(c)?;
        let conn = &mut *conn;
        off_runtime(|| {
            let stmt = prepare(conn, sql, args)?;
            noted(&mut conn.lost, conn.client.query(&stmt, &params(args)))
        })
    }

    pub(super) fn for_each(
        c: &RefCell<PgConn>,
        sql: &str,
        args: &[Value<'_>],
        mut each: impl FnMut(&postgres::Row) -> Result<bool>,
    ) -> Result<()> {
        use postgres::fallible_iterator::FallibleIterator;
        if tokio::runtime::Handle::try_current().is_ok() {
            // Inside a runtime (the server): read the rows first, then hand them
            // over; the server never streams a whole log.
            for r in &query(c, sql, args)? {
                if !each(r)? {
                    break;
                }
            }
            return Ok(());
        }
        let mut conn = client(c)?;
        let conn = &mut *conn;
        let stmt = prepare(conn, sql, args)?;
        let mut rows = noted(&mut conn.lost, conn.client.query_raw(&stmt, args.iter()))?;
        while let Some(r) = rows.next()? {
            if !each(&r)? {
                break;
            }
        }
        Ok(())
    }

    pub(super) fn column<'r>(r: &'r postgres::Row, idx: usize) -> Result<Value<'r>> {
        let ty = r
            .columns()
            .get(idx)
            .ok_or_else(|| Error::new(ErrorCode::Store, format!("the query has no column {idx}")))?
            .type_()
            .clone();
        let value = match ty {
            Type::INT8 => r.try_get::<_, Option<i64>>(idx)?.map(Value::Int),
            Type::INT4 => r.try_get::<_, Option<i32>>(idx)?.map(|i| Value::Int(i.into())),
            Type::INT2 => r.try_get::<_, Option<i16>>(idx)?.map(|i| Value::Int(i.into())),
            Type::BOOL => r.try_get::<_, Option<bool>>(idx)?.map(Value::from),
            Type::BYTEA => r
                .try_get::<_, Option<&[u8]>>(idx)?
                .map(|b| Value::Blob(Cow::Borrowed(b))),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => r
                .try_get::<_, Option<&str>>(idx)?
                .map(|t| Value::Text(Cow::Borrowed(t))),
            other => {
                return Err(Error::new(
                    ErrorCode::Store,
                    format!(
                        "column {idx} is of PostgreSQL type {other}, which the store does not use; cast it in the query"
                    ),
                ))
            }
        };
        Ok(value.unwrap_or(Value::Null))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_dollars_outside_literals() {
        assert_eq!(
            numbered_to_dollar(
                "SELECT '?1', \"a?2\" FROM t WHERE a = ?1 AND b = ?12 -- ?3\nAND c = ?"
            ),
            "SELECT '?1', \"a?2\" FROM t WHERE a = $1 AND b = $12 -- ?3\nAND c = ?"
        );
    }

    #[test]
    fn rows_read_back_as_the_values_bound() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let db = Db::Sqlite(&conn);
        db.execute(
            "CREATE TABLE t (i INTEGER, s TEXT, b BLOB, n TEXT) STRICT",
            &[],
        )
        .unwrap();
        db.execute(
            "INSERT INTO t VALUES (?1, ?2, ?3, ?4)",
            args![7_i64, "seven", &b"\x00\x07"[..], None::<&str>],
        )
        .unwrap();
        let row = db
            .query_one("SELECT i, s, b, n FROM t", &[], |r| {
                Ok((
                    r.get::<i64>(0)?,
                    r.get::<String>(1)?,
                    r.get::<Vec<u8>>(2)?,
                    r.get::<Option<String>>(3)?,
                ))
            })
            .unwrap();
        assert_eq!(row, (7, "seven".to_string(), vec![0, 7], None));
        // A NULL where a value is required is an error naming the column.
        let err = db
            .query_one("SELECT n FROM t", &[], |r| r.get::<String>(0))
            .unwrap_err();
        assert!(
            err.message.contains("column 0 holds Null"),
            "{}",
            err.message
        );
        assert!(db
            .query_opt("SELECT i FROM t WHERE i = ?1", args![8_i64], |r| r
                .get::<i64>(0))
            .unwrap()
            .is_none());
    }
}
