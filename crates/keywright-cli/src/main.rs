//! `keywright`: the command line over keywright-core. Parsing and printing only: each
//! subcommand is a module of `cmd/` (its clap enum and its `run`); this file parses,
//! refuses a write to a read-only store up front, opens the store for the commands
//! that use it, calls the subcommand and prints what it returns (`output.rs`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use jiff::Timestamp;

mod cmd;
mod input;
mod output;
mod passphrase;
mod store;

use cmd::{
    activation, audit, backup, deactivation, key, license, machine, policy, product, server, verify,
};
use output::{Failure, Output};
use store::StoreLocation;

/// Keywright: issue and verify Keygen-compatible license keys and files offline.
#[derive(Parser)]
#[command(name = "keywright", version, after_help = output::EXIT_CODES)]
struct Cli {
    /// The store: a file (default: keywright.db in the per-user data folder) or a
    /// postgres:// URL (libpq's form; sslmode and sslrootcert as libpq reads them).
    #[arg(
        long,
        global = true,
        env = "KEYWRIGHT_STORE",
        value_name = "PATH_OR_URL"
    )]
    store: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Signing keys (private halves live in the OS keychain).
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Products.
    #[command(subcommand)]
    Product(product::ProductCommand),
    /// Policies.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Licenses.
    #[command(subcommand)]
    License(license::LicenseCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Verify a license file or key with a public key, as a customer's app would.
    Verify(verify::VerifyArgs),
    /// Air-gapped activation: write a request (as the customer's app does), import one.
    #[command(subcommand)]
    Activation(activation::ActivationCommand),
    /// Machines activated on licenses.
    #[command(subcommand)]
    Machine(machine::MachineCommand),
    /// Deactivation receipts written by customers' apps.
    #[command(subcommand)]
    Deactivation(deactivation::DeactivationCommand),
    /// Serve the online activation API (mini-key-server's /api/check and
    /// /api/activate, plus /api/validate, and Keygen's license API under /v1) from
    /// the store, until Ctrl-C; keys from the OS keychain, or --keys BUNDLE.
    Serve(server::ServeArgs),
    /// The online activation server's request log.
    #[command(subcommand)]
    Server(server::ServerCommand),
    /// Encrypted backups of the store and its private keys (passphrase from
    /// --passphrase-file, KEYWRIGHT_PASSPHRASE or a prompt).
    #[command(subcommand)]
    Backup(backup::BackupCommand),
    /// The store itself: copy it between an SQLite file and PostgreSQL.
    #[command(subcommand)]
    Store(cmd::store::StoreCommand),
    /// Email: the SMTP account licenses are sent through (its password in the OS
    /// keychain), and a test message.
    #[command(subcommand)]
    Mail(cmd::mail::MailCommand),
    /// Batches after `license batch`: email every order its keys and files.
    #[command(subcommand)]
    Batch(cmd::mail::BatchCommand),
}

impl Command {
    /// Whether the command writes the store (a row, or an audit row for a private-key
    /// use), so that it is refused before it starts on a read-only store. Exports of
    /// CSV and audit files write a file elsewhere, not the store.
    fn writes_store(&self) -> bool {
        match self {
            Self::Key(c) => c.writes_store(),
            Self::Product(c) => c.writes_store(),
            Self::Policy(c) => c.writes_store(),
            Self::License(c) => c.writes_store(),
            Self::Audit(c) => c.writes_store(),
            Self::Verify(_) => false,
            Self::Activation(c) => c.writes_store(),
            Self::Machine(c) => c.writes_store(),
            Self::Deactivation(c) => c.writes_store(),
            // The server activates machines and logs requests.
            Self::Serve(_) => true,
            Self::Server(c) => c.writes_store(),
            Self::Backup(c) => c.writes_store(),
            Self::Store(c) => c.writes_store(),
            Self::Mail(c) => c.writes_store(),
            // The ledger and the audit rows of the signed files.
            Self::Batch(_) => true,
        }
    }

    /// Whether the command saves something (store rows or a file), so that a failure
    /// to print its result afterwards must say what was saved (exit 18).
    fn saves(&self) -> bool {
        match self {
            Self::Key(c) => c.saves(),
            Self::Product(c) => c.saves(),
            Self::Policy(c) => c.saves(),
            Self::License(c) => c.saves(),
            Self::Audit(c) => c.saves(),
            Self::Verify(_) | Self::Serve(_) => false,
            Self::Activation(c) => c.saves(),
            Self::Machine(c) => c.saves(),
            Self::Deactivation(c) => c.saves(),
            Self::Server(c) => c.saves(),
            Self::Backup(c) => c.saves(),
            Self::Store(c) => c.saves(),
            Self::Mail(c) => c.writes_store(),
            Self::Batch(_) => true,
        }
    }
}

fn main() -> ExitCode {
    // clap prints help and usage errors itself and ignores a closed pipe.
    let cli = Cli::parse();
    let as_json = cli.json;
    let saves = cli.command.saves();
    output::print(run(cli), as_json, saves)
}

fn run(cli: Cli) -> Result<Output, Failure> {
    let now = Timestamp::now();
    let store = StoreLocation::new(cli.store);
    if cli.command.writes_store() {
        store.refuse_read_only()?;
    }
    match cli.command {
        Command::Key(c) => key::run(c, &mut store.open()?, now),
        Command::Product(c) => product::run(c, &mut store.open()?, now),
        Command::Policy(c) => policy::run(c, &mut store.open()?, now),
        Command::License(c) => license::run(c, &mut store.open()?, now),
        Command::Audit(c) => audit::run(c, &mut store.open()?, now),
        Command::Machine(c) => machine::run(c, &mut store.open()?, now),
        Command::Server(c) => server::run(c, &store.open()?),
        // Verify needs no store, serve opens its own, and the three below open it
        // only for the subcommands that use it.
        Command::Verify(args) => verify::run(args, now),
        Command::Serve(args) => server::serve(args, &store.path()?),
        Command::Activation(c) => activation::run(c, &store, now),
        Command::Deactivation(c) => deactivation::run(c, &store, now),
        Command::Backup(c) => backup::run(c, &store, now),
        Command::Store(c) => cmd::store::run(c, &store),
        Command::Mail(c) => cmd::mail::run(c, &mut store.open()?, now),
        Command::Batch(c) => cmd::mail::run_batch(c, &mut store.open()?, now),
    }
}
