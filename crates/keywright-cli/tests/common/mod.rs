//! The harness shared by the CLI tests: the real `keywright` binary, a store of its
//! own per test (so a keychain service of its own), and the real OS keychain.
// Each test binary uses a different part of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub fn require_keychain_session() {
    if cfg!(target_os = "linux") && std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        panic!(
            "this test uses the real Secret Service: run it through scripts/test.sh, \
             which starts gnome-keyring in a D-Bus session"
        );
    }
}

pub struct Cli {
    pub dir: tempfile::TempDir,
    /// The store's postgres:// URL, for a test on PostgreSQL; `None`: `store.db`.
    pub url: Option<String>,
}

impl Cli {
    pub fn new() -> Self {
        require_keychain_session();
        Self {
            dir: tempfile::tempdir().unwrap(),
            url: None,
        }
    }

    /// A CLI whose store is a new database on the test cluster (`KEYWRIGHT_TEST_PG`,
    /// started by scripts/test.sh).
    pub fn postgres() -> Self {
        require_keychain_session();
        // A password in the URL (the test cluster trusts loopback and ignores it):
        // no output may show it.
        let url =
            new_database().replacen("://postgres@", &format!("://postgres:{PG_PASSWORD}@"), 1);
        Self {
            dir: tempfile::tempdir().unwrap(),
            url: Some(url),
        }
    }

    /// The `--store` argument: the file, or the URL.
    pub fn location(&self) -> String {
        self.url
            .clone()
            .unwrap_or_else(|| self.store().display().to_string())
    }

    pub fn store(&self) -> PathBuf {
        self.dir.path().join("store.db")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// [`Cli::path`] as a command-line argument.
    pub fn arg_path(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_keywright"));
        c.env_remove("KEYWRIGHT_STORE")
            .arg("--store")
            .arg(self.location());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    /// Runs with `--json`, expects `status`, returns the JSON object printed.
    pub fn json(&self, args: &[&str], status: i32) -> Value {
        let out = self.command().arg("--json").args(args).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(status),
            "keywright {args:?}\nstdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(stdout.lines().count(), 1, "one JSON object: {stdout}");
        serde_json::from_str(&stdout).unwrap()
    }

    pub fn count(&self, table: &str) -> i64 {
        match &self.url {
            Some(url) => psql(url, &format!("SELECT count(*) FROM {table}"))
                .parse()
                .unwrap(),
            None => sqlite_count(&self.store(), table),
        }
    }
}

/// Runs `sql` on the store with the `sqlite3` shell (behind Keywright's back); it
/// must succeed. Returns what it printed, trimmed.
pub fn sqlite(store: &Path, sql: &str) -> String {
    let out = Command::new("sqlite3")
        .arg(store)
        .arg(sql)
        .output()
        .expect("sqlite3 is installed by scripts/test.sh");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

pub fn sqlite_count(store: &Path, table: &str) -> i64 {
    sqlite(store, &format!("SELECT count(*) FROM {table};"))
        .parse()
        .unwrap()
}

/// A signing key "Main key", its public half in `public.hex`, and the product
/// "Zapper Pro" (code ZAPPER-PRO); returns the key.
pub fn key_and_product(cli: &Cli) -> Value {
    let key = cli.json(&["key", "create", "--name", "Main key"], 0);
    std::fs::write(
        cli.path("public.hex"),
        key["publicKeyHex"].as_str().unwrap(),
    )
    .unwrap();
    cli.json(&["product", "create", "--name", "Zapper Pro"], 0);
    key
}

/// One HTTP/1.1 exchange on a fresh connection (to `keywright serve`); returns
/// (status, head in lower case, body).
pub fn http(addr: &str, request: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_ascii_lowercase(), body.to_owned())
}

/// The password [`Cli::postgres`] puts in its URL, which nothing may print.
pub const PG_PASSWORD: &str = "pw-never-shown-7f3a";

/// A new, empty database on the test cluster; its URL.
pub fn new_database() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let base = std::env::var("KEYWRIGHT_TEST_PG").expect(
        "KEYWRIGHT_TEST_PG is not set: run scripts/test.sh, or `eval \"$(bash scripts/pg-cluster.sh start)\"`",
    );
    let name = format!(
        "kwcli_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    psql(&base, &format!("CREATE DATABASE {name}"));
    let (prefix, _) = base.rsplit_once('/').unwrap();
    format!("{prefix}/{name}")
}

/// Runs `sql` with `psql` on the database at `url` (behind Keywright's back); it must
/// succeed. Returns what it printed (unaligned, tuples only), trimmed.
pub fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            url,
            "-c",
            sql,
        ])
        .output()
        .expect("psql is installed with PostgreSQL by scripts/setup-debian.sh");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
