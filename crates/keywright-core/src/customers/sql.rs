//! The customers' SQL (table `customers`; the list counts their `licenses`), written
//! once for both engines through [`Db`].

use super::CustomerSummary;
use crate::error::Result;
use crate::store::db::{args, Db, Value};
use crate::store::like_pattern;

/// Customers whose name, email or company contains `text` (any case; all when
/// `None`), A to Z by name (else email), at most `limit`, with their license counts.
pub(super) fn list(db: Db<'_>, text: Option<&str>, limit: i64) -> Result<Vec<CustomerSummary>> {
    let mut args: Vec<Value> = Vec::new();
    let like = db.ilike();
    let filter = match text {
        Some(text) => {
            args.push(like_pattern(text).into());
            format!(
                "WHERE c.name {like} ?1 ESCAPE '\\' OR c.email {like} ?1 ESCAPE '\\' \
                 OR c.company {like} ?1 ESCAPE '\\'"
            )
        }
        None => String::new(),
    };
    // The page of customers first (walking `customers_sort`, the index of this
    // order), then license counts for those rows only: counting for every
    // customer before sorting read the whole store.
    db.query(
        &format!(
            "SELECT c.id, c.name, c.email, c.company, c.created_at, count(l.id),
                    count(l.id) FILTER (WHERE l.status = 'active')
             FROM (SELECT c.id, c.name, c.email, c.company, c.created_at FROM customers c
                   {filter}
                   ORDER BY lower(coalesce(c.name, c.email, '')), c.id
                   LIMIT {limit}) c
             LEFT JOIN licenses l ON l.customer_id = c.id
             GROUP BY c.id, c.name, c.email, c.company, c.created_at
             ORDER BY lower(coalesce(c.name, c.email, '')), c.id"
        ),
        &args,
        |r| {
            Ok(CustomerSummary {
                id: r.get(0)?,
                name: r.get(1)?,
                email: r.get(2)?,
                company: r.get(3)?,
                created_at: r.get(4)?,
                licenses: r.get(5)?,
                active_licenses: r.get(6)?,
            })
        },
    )
}

/// The customer with this email, oldest first: `(id, email)`.
pub(super) fn by_email(db: Db<'_>, email: &str) -> Result<Option<(String, Option<String>)>> {
    db.query_opt(
        "SELECT id, email FROM customers WHERE email = ?1 ORDER BY created_at, seq LIMIT 1",
        args![email],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// Inserts a customer.
pub(super) fn insert(
    db: Db<'_>,
    id: &str,
    name: Option<&str>,
    email: Option<&str>,
    company: Option<&str>,
    created_at: &str,
    proof: Option<(i64, i64, &str)>,
) -> Result<()> {
    db.execute(
        "INSERT INTO customers (id, name, email, company, created_at, proof_seq, proof_pos, proof_leaf)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        args![
            id,
            name,
            email,
            company,
            created_at,
            proof.map(|p| p.0),
            proof.map(|p| p.1),
            proof.map(|p| p.2)
        ],
    )?;
    Ok(())
}

/// When customer `id` was created.
pub(super) fn created_at(db: Db<'_>, id: &str) -> Result<String> {
    db.query_one(
        "SELECT created_at FROM customers WHERE id = ?1",
        args![id],
        |r| r.get(0),
    )
}

#[cfg(all(test, feature = "postgres"))]
mod tests {
    //! The same calls on both engines give the same answers (PostgreSQL: the test
    //! cluster named by `KEYWRIGHT_TEST_PG`, a database of its own).
    use super::*;
    use crate::store::pg::PgStore;
    use crate::store::Store;

    fn fresh_postgres() -> PgStore {
        let base = std::env::var("KEYWRIGHT_TEST_PG").expect(
            "KEYWRIGHT_TEST_PG is not set: run scripts/test.sh, or `eval \"$(bash scripts/pg-cluster.sh start)\"`",
        );
        let name = format!("kw_customers_{}", uuid::Uuid::new_v4().simple());
        postgres::Client::connect(&base, postgres::NoTls)
            .unwrap()
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let (prefix, _) = base.rsplit_once('/').unwrap();
        PgStore::open(&format!("{prefix}/{name}")).unwrap()
    }

    /// (every customer with its counts, the ids a search found, the oldest with an
    /// email, a creation time)
    type Answers = (Vec<(String, i64, i64)>, Vec<String>, Option<String>, String);

    fn exercise(db: Db<'_>) -> Answers {
        let at = "2026-11-23T10:00:00.000Z";
        insert(
            db,
            "c1",
            Some("Ada Hopper"),
            Some("ada@example.com"),
            Some("Zap Ltd"),
            at,
            None,
        )
        .unwrap();
        insert(
            db,
            "c2",
            None,
            Some("BOB@example.com"),
            None,
            "2026-11-23T11:00:00.000Z",
            None,
        )
        .unwrap();
        insert(
            db,
            "c3",
            Some("100% Grace_"),
            Some("grace@example.com"),
            None,
            at,
            None,
        )
        .unwrap();
        insert(
            db,
            "c4",
            Some("Ada Clone"),
            Some("ada@example.com"),
            None,
            "2026-11-24T10:00:00.000Z",
            None,
        )
        .unwrap();
        let all = list(db, None, 10)
            .unwrap()
            .into_iter()
            .map(|c| (c.id, c.licenses, c.active_licenses))
            .collect();
        // LIKE's own characters are literal; case folds.
        let percent = list(db, Some("0% g"), 10)
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        let oldest = by_email(db, "ada@example.com").unwrap().map(|(id, _)| id);
        (all, percent, oldest, created_at(db, "c2").unwrap())
    }

    #[test]
    fn the_customers_sql_answers_alike_on_sqlite_and_postgres() {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = Store::open(&dir.path().join("store.db")).unwrap();
        let on_sqlite = exercise(Db::Sqlite(sqlite.conn()));
        let pg = fresh_postgres();
        let on_postgres = exercise(pg.db());
        assert_eq!(on_sqlite, on_postgres);
        assert_eq!(
            on_sqlite.0.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(),
            ["c3", "c4", "c1", "c2"]
        );
        assert_eq!(on_sqlite.1, ["c3"]);
        assert_eq!(on_sqlite.2.as_deref(), Some("c1"));
        // An unknown id is an error, not a default.
        assert!(created_at(pg.db(), "nobody").is_err());
    }
}
