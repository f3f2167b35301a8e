//! `keywright serve` (the online activation API, from the store) and `keywright
//! server log` (the requests it answered).

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use keywright_core::audit::anchor::AnchorState;
use keywright_core::{bundle, os_user, Error, ErrorCode, KeyBundle, Keywright};
use serde_json::json;

use crate::input::{self, KEY_BUNDLE};
use crate::output::{self, Failure, Output};
use crate::passphrase;

#[derive(Args)]
pub(crate) struct ServeArgs {
    /// Address and port to listen on (put a TLS reverse proxy in front of it).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
    listen: std::net::SocketAddr,
    /// Largest request body accepted, in bytes (larger: 413).
    #[arg(long, default_value_t = 16 * 1024, value_name = "BYTES")]
    body_limit: usize,
    /// Requests per second allowed from one IP address (more: 429).
    #[arg(long, default_value_t = 10)]
    rate: u32,
    /// Requests one IP address may send at once before --rate applies.
    #[arg(long, default_value_t = 30)]
    burst: u32,
    /// Take the client address from X-Forwarded-For (only behind a proxy that sets it).
    #[arg(long)]
    trust_forwarded_for: bool,
    /// Read the private keys from this key bundle (`keywright key bundle`) instead of
    /// the OS keychain: for a server without a Secret Service.
    #[arg(long, value_name = "FILE")]
    keys: Option<PathBuf>,
    /// The bundle's passphrase, from this file (systemd: LoadCredential= and
    /// $CREDENTIALS_DIRECTORY/NAME); else KEYWRIGHT_PASSPHRASE, else a prompt.
    #[arg(long, value_name = "PATH", requires = "keys")]
    passphrase_file: Option<PathBuf>,
    /// Where the audit log's head is kept with --keys (default: $STATE_DIRECTORY,
    /// else the bundle's folder).
    #[arg(long, value_name = "DIR", requires = "keys")]
    state_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
pub(crate) enum ServerCommand {
    /// Recent requests the server answered, newest first.
    Log {
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
}

impl ServerCommand {
    /// The log is only read.
    pub(crate) fn writes_store(&self) -> bool {
        match self {
            Self::Log { .. } => false,
        }
    }

    pub(crate) fn saves(&self) -> bool {
        self.writes_store()
    }
}

/// `server log`: the newest requests first.
pub(crate) fn run(cmd: ServerCommand, kw: &Keywright) -> Result<Output, Failure> {
    match cmd {
        ServerCommand::Log { limit } => {
            let events = kw.server_events(limit)?;
            let text = events
                .iter()
                .map(|e| {
                    format!(
                        "{:>6}  {}  {:<8}  {}  {:<18}  {}  hwid={}  machine={}  user={}  ip={}\n",
                        e.seq,
                        e.at,
                        e.endpoint,
                        e.status,
                        e.result,
                        e.license_id.as_deref().unwrap_or("-"),
                        e.hwid.as_deref().unwrap_or("-"),
                        e.machine.as_deref().unwrap_or("-"),
                        e.user.as_deref().unwrap_or("-"),
                        e.ip.as_deref().unwrap_or("-"),
                    )
                })
                .collect();
            Ok(Output::ok(json!({ "events": events }), text))
        }
    }
}

/// Serves from the store at `path` until Ctrl-C.
pub(crate) fn serve(args: ServeArgs, path: &Path) -> Result<Output, Failure> {
    let mut config = keywright_server::ServerConfig {
        body_limit: args.body_limit,
        rate_per_second: args.rate,
        burst: args.burst,
        trust_forwarded_for: args.trust_forwarded_for,
        require_every_key: true,
        ..keywright_server::ServerConfig::default()
    };
    // A PostgreSQL URL is shown without its password.
    let shown = keywright_core::store::pg::redact_url(&path.display().to_string());
    let mut source = "the OS keychain".to_owned();
    let kw = match &args.keys {
        None => Keywright::open(path, os_user())?,
        Some(file) => {
            let bytes = input::read_bytes(file, &KEY_BUNDLE)?;
            let pass = passphrase::read(
                args.passphrase_file.as_deref(),
                "Key bundle passphrase: ",
                false,
            )?;
            let bundle = KeyBundle::open(&bytes, &pass)?;
            drop(pass);
            let state_dir = state_dir(args.state_dir.as_deref(), file);
            let keys = bundle.kids().len();
            source = format!(
                "key bundle {} (made {}, {keys} signing key{}); audit head in {}",
                file.display(),
                bundle.created(),
                if keys == 1 { "" } else { "s" },
                state_dir
                    .join(bundle::state_file_name(bundle.store_id()))
                    .display()
            );
            // A bundle may hold some of the products' keys: the others are named
            // below and their requests refused, rather than nothing served.
            config.require_every_key = false;
            Keywright::open_with_bundle(path, bundle, file, &state_dir, os_user())?
        }
    };
    let audit = kw.audit_status();
    if audit.state != AnchorState::Anchored {
        output::warn(&format!("keywright: warning: {}", audit.message));
    }
    // Keygen SDKs name the store by its id (their "account").
    let account = kw.store().store_id().to_owned();
    keywright_server::run_until_ctrl_c(kw, args.listen, config, |addr, signing| {
        output::warn(&format!(
            "keywright: serving {shown} on http://{addr} (Ctrl-C stops)"
        ));
        output::warn(&format!(
            "keywright: Keygen SDKs: API URL http://{addr} (or your public address), account {account}"
        ));
        output::warn(&format!("keywright: keys from {source}"));
        for p in signing {
            match &p.problem {
                None => output::warn(&format!(
                    "keywright: signs for product {} ({}) with key {}",
                    p.name, p.code, p.kid
                )),
                Some(problem) => output::warn(&format!(
                    "keywright: warning: cannot sign for product {} ({}), key {}: its requests are answered 503. {problem}",
                    p.name, p.code, p.kid
                )),
            }
        }
    })
    .map_err(|e| match e {
        keywright_server::ServerError::Core(e) => Failure::from(e),
        keywright_server::ServerError::Io(e) => Failure::from(Error::new(
            ErrorCode::Io,
            format!("cannot listen on {}: {e}", args.listen),
        )),
    })?;
    Ok(Output::ok(
        json!({ "stopped": true }),
        "keywright: server stopped\n".into(),
    ))
}

/// Where the audit head is kept with a key bundle: `--state-dir`, else systemd's
/// `$STATE_DIRECTORY` (its first entry), else the bundle's folder.
fn state_dir(given: Option<&Path>, bundle: &Path) -> PathBuf {
    if let Some(dir) = given {
        return dir.to_owned();
    }
    if let Some(dirs) = std::env::var_os("STATE_DIRECTORY") {
        if let Some(first) = dirs.to_string_lossy().split(':').find(|d| !d.is_empty()) {
            return PathBuf::from(first);
        }
    }
    match bundle.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}
