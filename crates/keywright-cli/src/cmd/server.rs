//! `keywright serve` (the online activation API, from the store) and `keywright
//! server log` (the requests it answered).

use std::path::Path;

use clap::{Args, Subcommand};
use keywright_core::{Error, ErrorCode, Keywright};
use serde_json::json;

use crate::output::{self, Failure, Output};

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
    let config = keywright_server::ServerConfig {
        body_limit: args.body_limit,
        rate_per_second: args.rate,
        burst: args.burst,
        trust_forwarded_for: args.trust_forwarded_for,
        ..keywright_server::ServerConfig::default()
    };
    let shown = path.display().to_string();
    // Keygen SDKs name the store by its id (their "account").
    let account = keywright_core::Store::open(path)
        .map(|s| s.store_id().to_owned())
        .map_err(Failure::from)?;
    keywright_server::run_until_ctrl_c(path, args.listen, config, |addr| {
        output::warn(&format!(
            "keywright: serving {shown} on http://{addr} (Ctrl-C stops)"
        ));
        output::warn(&format!(
            "keywright: Keygen SDKs: API URL http://{addr} (or your public address), account {account}"
        ));
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
