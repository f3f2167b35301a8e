//! The store on PostgreSQL: a `postgres://` URL instead of a file, for activation
//! servers that run as several replicas over one database.
//!
//! Opening connects, migrates under a session advisory lock (two replicas starting at
//! once migrate one after the other: the second finds nothing to do), refuses a
//! database migrated by a newer Keywright before anything runs, and gives the store
//! its id, as an SQLite store gets one. The schema is `pg_migrations/V*.sql`, run by
//! refinery, which records each step (version, name, checksum) in its own table.

use std::cell::RefCell;
use std::str::FromStr;

use super::db::{args, Db};
use crate::error::{Error, ErrorCode, Result};

refinery::embed_migrations!("src/store/pg_migrations");

/// The advisory lock id that serializes the store's writers ("kwwrit" in ASCII),
/// taken for the length of each write transaction.
pub(crate) const WRITE_LOCK: i64 = 0x6b77_7772_6974;

/// The advisory lock id that serializes migrations ("kwmigr" in ASCII).
const MIGRATION_LOCK: i64 = 0x6b77_6d69_6772;

/// An open store on PostgreSQL.
pub struct PgStore {
    client: RefCell<super::db::pg::PgConn>,
    store_id: String,
    shown: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("url", &self.shown)
            .field("store_id", &self.store_id)
            .finish()
    }
}

pub use super::location::{is_postgres_url, redact_url};

impl PgStore {
    /// Connects to the PostgreSQL store at `url` (libpq's URL form), migrating it to
    /// this binary's schema. A database migrated by a newer Keywright is refused with
    /// [`ErrorCode::StoreTooNew`], untouched; one that holds tables of another program
    /// is refused before anything is created in it.
    pub fn open(url: &str) -> Result<Self> {
        // Connecting and migrating block on the client's runtime.
        super::db::pg::off_runtime(|| Self::open_blocking(url))
    }

    fn open_blocking(url: &str) -> Result<Self> {
        let shown = redact_url(url);
        let (rest, tls) = split_tls(url).map_err(|why| {
            Error::new(
                ErrorCode::BadInput,
                format!("{shown} is not a PostgreSQL URL this Keywright can use: {why}"),
            )
        })?;
        let mut config = postgres::Config::from_str(&rest).map_err(|e| {
            Error::new(
                ErrorCode::BadInput,
                format!("{shown} is not a PostgreSQL URL this Keywright can use: {e}"),
            )
        })?;
        config.ssl_mode(match tls.mode {
            SslMode::Disable => postgres::config::SslMode::Disable,
            SslMode::Prefer => postgres::config::SslMode::Prefer,
            _ => postgres::config::SslMode::Require,
        });
        let connector = tls.connector().map_err(|why| {
            Error::new(
                ErrorCode::BadInput,
                format!("cannot set up TLS for the PostgreSQL store at {shown}: {why}"),
            )
        })?;
        let mut client = config.connect(connector).map_err(|e| {
            let cause = std::error::Error::source(&e)
                .map(|s| format!(": {s}"))
                .unwrap_or_default();
            Error::new(
                ErrorCode::Store,
                format!("cannot connect to the PostgreSQL store at {shown}: {e}{cause}"),
            )
        })?;
        migrate(&mut client, &shown)?;
        // Statements stay prepared on the connection (`db::pg::PgConn`); after five
        // runs PostgreSQL may plan one for any parameters, and the store's reads depend
        // on their values (a policy with nothing expiring, or 15,000 licenses): such a
        // generic plan walked every license for "policy + expiring within a year" (0.1
        // s instead of 2 ms). Planned for their values every time instead.
        client
            .batch_execute("SET plan_cache_mode = force_custom_plan")
            .map_err(|e| {
                Error::new(
                    ErrorCode::Store,
                    format!("cannot set up the PostgreSQL session at {shown}: {e}"),
                )
            })?;
        let client = RefCell::new(super::db::pg::PgConn::new(client));
        let store_id = ensure_store_id(Db::Postgres(&client))?;
        Ok(Self {
            client,
            store_id,
            shown,
        })
    }

    /// The client, the store id and the URL without its password.
    pub(crate) fn into_parts(self) -> (RefCell<super::db::pg::PgConn>, String, String) {
        (self.client, self.store_id, self.shown)
    }

    /// The handle the domains' SQL runs on.
    pub fn db(&self) -> Db<'_> {
        Db::Postgres(&self.client)
    }

    /// The store's random id (namespaces its keys), as in an SQLite store.
    pub fn store_id(&self) -> &str {
        &self.store_id
    }

    /// The URL, password hidden.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The schema version this binary writes on PostgreSQL.
    pub fn schema_version() -> u32 {
        migrations::runner()
            .get_migrations()
            .iter()
            .map(|m| m.version())
            .max()
            .unwrap_or(0)
    }

    /// Runs `body` in one transaction: committed when it returns `Ok`, rolled back
    /// otherwise (and when the connection drops midway, by the server).
    pub fn transaction<T>(&self, body: impl FnOnce(Db<'_>) -> Result<T>) -> Result<T> {
        super::db::pg::batch(&self.client, "BEGIN")?;
        match body(self.db()) {
            Ok(v) => {
                super::db::pg::batch(&self.client, "COMMIT")?;
                Ok(v)
            }
            Err(e) => {
                // A rollback that fails (the connection is gone) leaves nothing to undo.
                let _ = super::db::pg::batch(&self.client, "ROLLBACK");
                Err(e)
            }
        }
    }
}

/// libpq's TLS modes (`sslmode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SslMode {
    /// No TLS.
    Disable,
    /// TLS if the server offers it, unverified; libpq's default.
    Prefer,
    /// TLS, unverified (verified against `sslrootcert` when one is given, as libpq).
    Require,
    /// TLS, the server's certificate chain verified.
    VerifyCa,
    /// TLS, the chain and the host name verified.
    VerifyFull,
}

/// What the URL asks of TLS.
#[derive(Debug)]
struct Tls {
    mode: SslMode,
    root: Option<std::path::PathBuf>,
}

impl Tls {
    fn connector(&self) -> std::result::Result<postgres_openssl::MakeTlsConnector, String> {
        use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
        let mut builder = SslConnector::builder(SslMethod::tls()).map_err(|e| e.to_string())?;
        let verify = match self.mode {
            SslMode::Disable | SslMode::Prefer => false,
            SslMode::Require => self.root.is_some(),
            SslMode::VerifyCa | SslMode::VerifyFull => true,
        };
        if let Some(root) = &self.root {
            if !root.is_file() {
                return Err(format!(
                    "sslrootcert {} is not a readable file",
                    root.display()
                ));
            }
            builder
                .set_ca_file(root)
                .map_err(|e| format!("sslrootcert {}: {e}", root.display()))?;
        }
        builder.set_verify(if verify {
            SslVerifyMode::PEER
        } else {
            SslVerifyMode::NONE
        });
        let mut connector = postgres_openssl::MakeTlsConnector::new(builder.build());
        if self.mode != SslMode::VerifyFull {
            connector.set_callback(|config, _| {
                config.set_verify_hostname(false);
                Ok(())
            });
        }
        Ok(connector)
    }
}

/// Takes libpq's `sslmode` and `sslrootcert` out of a URL's query (the client library
/// knows only some of the modes) and returns the rest of the URL.
fn split_tls(url: &str) -> std::result::Result<(String, Tls), String> {
    let mut tls = Tls {
        mode: SslMode::Prefer,
        root: None,
    };
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), tls));
    };
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value)?;
        match key {
            "sslmode" => {
                tls.mode = match value.as_str() {
                    "disable" => SslMode::Disable,
                    "allow" | "prefer" => SslMode::Prefer,
                    "require" => SslMode::Require,
                    "verify-ca" => SslMode::VerifyCa,
                    "verify-full" => SslMode::VerifyFull,
                    other => {
                        return Err(format!(
                            "sslmode={other} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                        ))
                    }
                }
            }
            "sslrootcert" => tls.root = Some(std::path::PathBuf::from(value)),
            _ => kept.push(pair),
        }
    }
    let rest = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((rest, tls))
}

fn percent_decode(text: &str) -> std::result::Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("a broken percent escape in {text:?}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{text:?} is not UTF-8 once decoded"))
}

fn migrate(client: &mut postgres::Client, shown: &str) -> Result<()> {
    // One opener at a time looks and migrates: a replica starting beside another
    // waits, then finds the store ready.
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
    let outcome = refuse_foreign(client, shown).and_then(|()| {
        migrations::runner()
            .set_abort_missing(true)
            .set_abort_divergent(true)
            .run(client)
            .map_err(|e| migration_error(e, shown))
    });
    let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]);
    outcome?;
    unlocked?;
    Ok(())
}

fn refuse_foreign(client: &mut postgres::Client, shown: &str) -> Result<()> {
    let foreign: i64 = client
        .query_one(
            "SELECT count(*) FROM information_schema.tables
             WHERE table_schema = current_schema()
               AND table_name NOT IN (SELECT unnest(ARRAY['store_meta', 'refinery_schema_history']))
               AND NOT EXISTS (SELECT 1 FROM information_schema.tables
                               WHERE table_schema = current_schema() AND table_name = 'store_meta')",
            &[],
        )?
        .get(0);
    if foreign > 0 {
        return Err(Error::new(
            ErrorCode::Store,
            format!(
                "the database at {shown} holds tables of another program and no Keywright store; nothing in it was changed (give Keywright a database of its own)"
            ),
        ));
    }
    Ok(())
}

fn migration_error(e: refinery::Error, shown: &str) -> Error {
    match e.kind() {
        refinery::error::Kind::MissingVersion(m) => Error::new(
            ErrorCode::StoreTooNew,
            format!(
                "the PostgreSQL store at {shown} was written by a newer Keywright (it has schema step {} \"{}\"); this one knows up to step {}. Update Keywright.",
                m.version(),
                m.name(),
                PgStore::schema_version()
            ),
        ),
        refinery::error::Kind::DivergentVersion(m, _) => Error::new(
            ErrorCode::Store,
            format!(
                "the PostgreSQL store at {shown} ran a schema step {} \"{}\" that differs from this Keywright's; it was changed by hand or by another build, so nothing was done",
                m.version(),
                m.name()
            ),
        ),
        _ => Error::new(
            ErrorCode::Store,
            format!("cannot migrate the PostgreSQL store at {shown}: {e}"),
        ),
    }
}

fn ensure_store_id(db: Db<'_>) -> Result<String> {
    // Two replicas opening a new store at once: the first insert wins, both read it.
    let candidate = uuid::Uuid::new_v4().to_string();
    db.execute(
        "INSERT INTO store_meta (key, value) VALUES ('store_id', ?1) ON CONFLICT (key) DO NOTHING",
        args![candidate.as_str()],
    )?;
    db.query_one(
        "SELECT value FROM store_meta WHERE key = 'store_id'",
        &[],
        |r| r.get(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_a_message() {
        assert_eq!(
            redact_url("postgres://kw:s3cret@db.internal:5432/kw?sslmode=disable"),
            "postgres://kw:***@db.internal:5432/kw?sslmode=disable"
        );
        assert_eq!(redact_url("postgres://kw@db/kw"), "postgres://kw@db/kw");
        assert!(is_postgres_url("postgresql://x/y"));
        assert!(!is_postgres_url("/home/ada/keywright.db"));
    }

    #[test]
    fn libpq_tls_options_are_read_and_taken_out_of_the_url() {
        let (rest, tls) = split_tls(
            "postgres://kw@db/kw?application_name=kw&sslmode=verify-full&sslrootcert=%2Fetc%2Fca%20x.crt",
        )
        .unwrap();
        assert_eq!(rest, "postgres://kw@db/kw?application_name=kw");
        assert_eq!(tls.mode, SslMode::VerifyFull);
        assert_eq!(tls.root.unwrap(), std::path::Path::new("/etc/ca x.crt"));
        let (rest, tls) = split_tls("postgres://kw@db/kw").unwrap();
        assert_eq!(
            (rest.as_str(), tls.mode),
            ("postgres://kw@db/kw", SslMode::Prefer)
        );
        assert!(split_tls("postgres://db/kw?sslmode=verify")
            .unwrap_err()
            .contains("verify-full"));
        assert!(split_tls("postgres://db/kw?sslrootcert=%zz").is_err());
    }

    #[test]
    fn an_unparsable_url_is_refused_before_connecting() {
        let err = PgStore::open("postgres://kw:pw@[bad").unwrap_err();
        assert_eq!(err.code, ErrorCode::BadInput);
        assert!(!err.message.contains("pw@"), "{}", err.message);
    }
}
