//! The harness shared by the CLI tests: the real `keywright` binary, a store of its
//! own per test (so a keychain service of its own), and the real OS keychain.
// Each test binary uses a different part of it.
#![allow(dead_code)]

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
}

impl Cli {
    pub fn new() -> Self {
        require_keychain_session();
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
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
            .arg(self.store());
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
        sqlite_count(&self.store(), table)
    }
}

pub fn sqlite_count(store: &Path, table: &str) -> i64 {
    let out = Command::new("sqlite3")
        .arg(store)
        .arg(format!("SELECT count(*) FROM {table};"))
        .output()
        .expect("sqlite3 is installed by scripts/test.sh");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}
