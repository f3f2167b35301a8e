//! `keywright`: the command line over keywright-core. Parsing and printing only.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use jiff::Timestamp;
use keywright_core::audit::anchor::AnchorState;
use keywright_core::audit::AuditQuery;
use keywright_core::verify::{verify, VerifyReport, VerifyRequest};
use keywright_core::{
    default_store_path, os_user, ActivateMachine, Error, ErrorCode, ExpirationStrategy,
    ExportLicenseFile, ExportMachineFile, IssueLicense, KeyAlgorithm, Keywright, License,
    LicenseQuery, LicenseSort, LicenseStatus, Machine, NewPolicy, NewProduct, NewSigningKey,
    RenewLicense, Scheme, SetLicenseEntitlements, SimulateValidation, TransferMachine,
};
use keywright_license::{ActivationRequest, DeactivationReceipt, ValidationCode};
use serde_json::json;

mod batch;
mod input;
mod output;

const EXIT_CODES: &str = "\
Exit status:
   0  success; for verify: VALID
   1  internal error
   2  bad input (including usage errors)
   3  not found
   4  conflict (duplicate, or a key that no longer signs)
   5  OS keychain unavailable (no Secret Service / D-Bus, locked, access denied)
   6  keychain entry missing, or not the key on record
   7  store error (cannot open, too new, locked)
   8  file I/O error
   9  format error
  10  verify: SIGNATURE_INVALID
  11  verify: FILE_EXPIRED or EXPIRED
  12  verify: CLOCK_TAMPERED
  13  verify: DECRYPTION_FAILED (wrong license key or fingerprint)
  14  verify: MALFORMED, ALGORITHM_MISMATCH or UNKNOWN_KEY
  15  signing refused: this computer's clock is earlier than the audit log's newest entry
      (if that entry was written while the clock ran ahead: audit accept-clock)
  16  backup restore: wrong passphrase (nothing was changed)
  17  the output file is the store itself (or its -wal, -shm, -journal, by any
      path), or another database: nothing was written
  18  the command succeeded and its changes are saved, but its output could not be
      written (a full disk, a closed pipe): standard error says what was saved;
      do not run it again. (A closed pipe after a command that saves nothing exits
      quietly with the command's own status.)
  19  the audit log does not match its anchor in the OS keychain or the store
      (audit verify says what differs); nothing is changed until it is restored

license batch exits 2 when any row of the CSV is bad (every bad row is listed with
its line; the good rows are issued unless --all-or-nothing, which then issues nothing).

Activation refusals (license suspended, revoked, expired or out of activations)
and transfers the policy forbids (TRANSFER_NOT_ALLOWED) exit 4; a mistyped or damaged activation request or receipt exits 9; a license
key this store did not issue exits 3.

Backups: a weak passphrase exits 2, a damaged or truncated backup 9, a restore
onto an existing store 4 (nothing is overwritten).

Durations (--duration, --ttl, --grace, --by) are a number and a unit, whose case
matters: s; m or min (minutes); h; d; w; mo or M (months); y. For example 3600s,
90m, 12h, 30d, 2w, 6mo, 1y; a bare number is seconds; at most 100 years. Anything
else (1Mo, 1D, 1mins) exits 2.

Text stored in the store (names, emails, codes, URLs, machine details, metadata,
CSV cells) may not contain control characters (ESC, BEL, DEL, C1 controls...) or
bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069): exit 2, naming
the field and the character. Line breaks and tabs are allowed only in a support
message, a key template and metadata values.";

/// Keywright: issue and verify Keygen-compatible license keys and files offline.
#[derive(Parser)]
#[command(name = "keywright", version, after_help = EXIT_CODES)]
struct Cli {
    /// The store file (default: keywright.db in the per-user data folder).
    #[arg(long, global = true, env = "KEYWRIGHT_STORE", value_name = "PATH")]
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
    Key(KeyCommand),
    /// Products.
    #[command(subcommand)]
    Product(ProductCommand),
    /// Policies.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Licenses.
    #[command(subcommand)]
    License(LicenseCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Verify a license file or key with a public key, as a customer's app would.
    Verify(VerifyArgs),
    /// Air-gapped activation: write a request (as the customer's app does), import one.
    #[command(subcommand)]
    Activation(ActivationCommand),
    /// Machines activated on licenses.
    #[command(subcommand)]
    Machine(MachineCommand),
    /// Deactivation receipts written by customers' apps.
    #[command(subcommand)]
    Deactivation(DeactivationCommand),
    /// Serve the online activation API (mini-key-server's /api/check and
    /// /api/activate, plus /api/validate) from the store, until Ctrl-C.
    Serve(ServeArgs),
    /// The online activation server's request log.
    #[command(subcommand)]
    Server(ServerCommand),
    /// Encrypted backups of the store and its private keys (passphrase from
    /// KEYWRIGHT_PASSPHRASE or a prompt).
    #[command(subcommand)]
    Backup(BackupCommand),
}

#[derive(Args)]
struct ServeArgs {
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
enum ServerCommand {
    /// Recent requests the server answered, newest first.
    Log {
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
}

#[derive(Subcommand)]
enum BackupCommand {
    /// Write one encrypted file holding a snapshot of the store and every private key.
    Create {
        /// The backup file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Restore a backup onto this machine: the keys into the OS keychain, the store to
    /// --store (default: the per-user store location), which must not exist yet.
    Restore {
        /// The backup file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum ActivationCommand {
    /// Write an activation request with the SDK, as the customer's application does
    /// (needs no store).
    Request {
        #[arg(long)]
        license_key: String,
        #[arg(long)]
        fingerprint: String,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        hostname: Option<String>,
        #[arg(long)]
        platform: Option<String>,
        /// The OS user asking.
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        app_version: Option<String>,
    },
    /// Show who asks, the license's state and whether activation would succeed.
    Preview {
        /// The request file (`-` reads standard input).
        request: PathBuf,
    },
    /// Activate the machine a request names and write its machine file.
    Import {
        /// The request file (`-` reads standard input).
        request: PathBuf,
        /// Where to write the machine file.
        #[arg(long)]
        out: PathBuf,
        /// Machine file TTL like 30d, or `none`; default: the policy's.
        #[arg(long)]
        ttl: Option<String>,
    },
}

#[derive(Subcommand)]
enum MachineCommand {
    /// Activate a machine on a license by hand.
    Activate {
        /// License id or key.
        license: String,
        #[arg(long)]
        fingerprint: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        hostname: Option<String>,
        #[arg(long)]
        platform: Option<String>,
    },
    /// Write a machine's machine file (encrypted with license key + fingerprint).
    Export {
        /// Machine id.
        machine: String,
        #[arg(long)]
        out: PathBuf,
        /// TTL like 30d, or `none`; default: the policy's.
        #[arg(long)]
        ttl: Option<String>,
        /// Do not encrypt (the file then opens on any machine; the fingerprint
        /// check still applies).
        #[arg(long)]
        no_encrypt: bool,
    },
    /// Deactivate a machine: its seat is free.
    Deactivate {
        /// Machine id.
        machine: String,
    },
    /// Move a machine's seat to another fingerprint (deactivate + activate, at once).
    Transfer {
        /// Machine id.
        machine: String,
        /// The new machine's fingerprint.
        #[arg(long)]
        fingerprint: String,
        #[arg(long)]
        name: Option<String>,
    },
    /// List a license's machines.
    List {
        /// License id or key.
        license: String,
    },
    /// A machine's audit history.
    History {
        /// Machine id.
        machine: String,
    },
    /// What the customer's app would get validating on a date (no private key used).
    Simulate {
        /// License id or key.
        license: String,
        /// Simulate this machine's machine file instead of a license file.
        #[arg(long)]
        machine: Option<String>,
        /// The fingerprint the app runs on (default: the machine's).
        #[arg(long)]
        fingerprint: Option<String>,
        /// The date: 2027-01-01 or RFC 3339.
        #[arg(long)]
        at: String,
        /// When the customer's file was exported (default: on --at), with the policy's TTL.
        #[arg(long)]
        file_issued_at: Option<String>,
        /// Entitlement codes the app requires, comma-separated.
        #[arg(long, value_delimiter = ',')]
        require: Vec<String>,
    },
}

#[derive(Subcommand)]
enum DeactivationCommand {
    /// Write a deactivation receipt with the SDK, as the customer's application does
    /// (needs no store).
    Receipt {
        #[arg(long)]
        license_key: String,
        #[arg(long)]
        fingerprint: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Import a customer's deactivation receipt: frees the machine's seat.
    Import {
        /// The receipt file (`-` reads standard input).
        receipt: PathBuf,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Generate a signing key; the private half goes straight into the OS keychain.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, value_enum, default_value = "ed25519")]
        algorithm: AlgorithmArg,
    },
    /// Print a key's public half (never the private one).
    Public {
        /// Id, kid or name.
        key: String,
        #[arg(long, value_enum, default_value = "hex")]
        format: PublicFormat,
    },
    /// List signing keys.
    List,
    /// Retire a key: it stops signing; what it signed keeps verifying.
    Retire {
        /// Id, kid or name.
        key: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum AlgorithmArg {
    Ed25519,
    #[value(name = "rsa-2048")]
    Rsa2048,
    #[value(name = "ecdsa-p256")]
    EcdsaP256,
}

#[derive(Clone, Copy, ValueEnum)]
enum PublicFormat {
    Hex,
    Pem,
}

#[derive(Subcommand)]
enum ProductCommand {
    /// Create a product.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        code: Option<String>,
        #[arg(long)]
        url: Option<String>,
        /// Shown to customers when validation fails.
        #[arg(long)]
        support_message: Option<String>,
        /// Signing key id, kid or name (default: the newest active key).
        #[arg(long)]
        key: Option<String>,
    },
    /// List products.
    List,
    /// Sign a product's new licenses and files with another key (key rotation).
    SetKey {
        /// Product id, code or name.
        product: String,
        /// Signing key id, kid or name (must be active).
        #[arg(long)]
        key: String,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Create a policy for a product.
    Create(Box<PolicyCreate>),
    /// List policies.
    List,
    /// Show one policy, with its key template or unsigned-key setting.
    Show {
        /// Policy id or name.
        policy: String,
    },
}

#[derive(Args)]
struct PolicyCreate {
    /// Product id, code or name.
    #[arg(long)]
    product: String,
    #[arg(long)]
    name: String,
    /// Keygen key scheme: ED25519_SIGN, RSA_2048_PKCS1_PSS_SIGN_V2,
    /// RSA_2048_PKCS1_SIGN_V2, RSA_2048_PKCS1_ENCRYPT, RSA_2048_JWT_RS256,
    /// RSA_2048_PKCS1_PSS_SIGN, RSA_2048_PKCS1_SIGN or ECDSA_P256_SIGN
    /// (default: the product key's recommended one).
    #[arg(long, conflicts_with = "unsigned_key")]
    scheme: Option<String>,
    /// Keygen key template: the dataset signed into each key instead of Keygen's
    /// default one, with placeholders {{account}} {{product}} {{policy}} {{user}}
    /// {{email}} {{created}} {{expiry}} {{duration}} {{id}}, e.g.
    /// '{"id":"{{id}}","expiry":"{{expiry}}"}'. Checked now: an unknown placeholder
    /// or a rendering the scheme cannot carry is refused.
    #[arg(long, value_name = "TEMPLATE", conflicts_with = "unsigned_key")]
    template: Option<String>,
    /// Issue random, human-typable, unsigned keys (PRODUCT-XXXXX-XXXXX-...; no
    /// scheme): they cannot be verified offline on their own, only through a signed
    /// license file or online.
    #[arg(long)]
    unsigned_key: bool,
    /// License duration like 30d, 6mo, 1y (at most 100y); omitted = perpetual.
    #[arg(long)]
    duration: Option<String>,
    /// A number, or `unlimited`. Node-locked policies have exactly 1 machine (the
    /// default); more, or unlimited (the default with --floating), needs --floating.
    #[arg(long, value_name = "N|unlimited")]
    max_machines: Option<String>,
    /// Floating: usable on several machines (up to --max-machines).
    #[arg(long)]
    floating: bool,
    /// Encrypt license files with the license key.
    #[arg(long)]
    encrypt: bool,
    /// License file TTL like 30d, or `none`; default one month.
    #[arg(long)]
    ttl: Option<String>,
    /// Entitlement code (repeatable).
    #[arg(long = "entitlement", value_name = "CODE")]
    entitlements: Vec<String>,
    /// What an expired license may still do: RESTRICT_ACCESS (default) or
    /// REVOKE_ACCESS fail validation (EXPIRED); MAINTAIN_ACCESS or ALLOW_ACCESS keep
    /// it validating, flagged expired.
    #[arg(long, value_name = "STRATEGY")]
    expiration_strategy: Option<String>,
    /// Strict: a license file reporting more machines than allowed fails validation
    /// (TOO_MANY_MACHINES).
    #[arg(long)]
    strict: bool,
    /// Offline grace after a file's TTL, like 7d, or `none` (the default): the file
    /// keeps validating that long after it expires.
    #[arg(long, value_name = "DURATION")]
    grace: Option<String>,
    /// Forbid transferring a machine's seat to another fingerprint.
    #[arg(long)]
    no_transfer: bool,
}

#[derive(Subcommand)]
enum LicenseCommand {
    /// Issue a license under a policy.
    Issue {
        /// Policy id or name.
        #[arg(long)]
        policy: String,
        /// Customer's name.
        #[arg(long)]
        name: Option<String>,
        /// Customer's email.
        #[arg(long)]
        email: Option<String>,
        /// Customer's company (kept when the customer is new).
        #[arg(long)]
        company: Option<String>,
        /// A JSON object.
        #[arg(long)]
        metadata: Option<String>,
    },
    /// Export a signed license file (Keygen's format), or with --csv every license
    /// matching the filters as CSV.
    Export {
        /// License id or key.
        #[arg(required_unless_present = "csv")]
        license: Option<String>,
        #[arg(long, required_unless_present = "csv")]
        out: Option<PathBuf>,
        /// Write the licenses matching the filters below to this CSV file instead.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["license", "out", "ttl", "encrypt", "no_encrypt", "algorithm"])]
        csv: Option<PathBuf>,
        #[command(flatten)]
        filter: batch::ExportFilter,
        /// File TTL like 30d, or `none`; default: the policy's.
        #[arg(long)]
        ttl: Option<String>,
        /// Encrypt with the license key (default: the policy's setting).
        #[arg(long, conflicts_with = "no_encrypt")]
        encrypt: bool,
        /// Do not encrypt.
        #[arg(long)]
        no_encrypt: bool,
        /// Keygen file algorithm, e.g. `aes-256-gcm+rsa-sha256` (default: derived from
        /// the policy's scheme and the encryption setting, as Keygen does).
        #[arg(long, conflicts_with_all = ["encrypt", "no_encrypt"])]
        algorithm: Option<String>,
        /// Related objects to write in the file's `included`, as Keygen's include=:
        /// comma-separated product, policy, owner, entitlements.
        #[arg(long, value_delimiter = ',', value_name = "WHAT")]
        include: Vec<String>,
    },
    /// List licenses (all, newest first; any option below searches one page instead).
    List {
        /// Part of the key, customer name or email.
        #[arg(long)]
        search: Option<String>,
        /// active, suspended or revoked.
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        /// Only licenses expiring within this many days.
        #[arg(long, value_name = "DAYS")]
        expiring_within: Option<i64>,
        #[arg(long, value_enum)]
        sort: Option<SortArg>,
        /// Page size (at most 500).
        #[arg(long)]
        limit: Option<i64>,
        /// `nextCursor` from the previous page.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Issue licenses from a CSV (columns: name, email, company, policy or product,
    /// quantity, order id; others become metadata). Re-running a file issues only what
    /// is missing. Exits 2 when any row is bad (good rows are still issued unless
    /// --all-or-nothing).
    Batch(batch::BatchArgs),
    /// Suspend an active license (it stops validating until reinstated).
    Suspend {
        /// License id or key.
        license: String,
    },
    /// Reinstate a suspended license.
    Reinstate {
        /// License id or key.
        license: String,
    },
    /// Revoke a license for good (it can never be reinstated or renewed).
    Revoke {
        /// License id or key.
        license: String,
    },
    /// Extend a license's expiry from its current expiry or now, whichever is later.
    /// The key keeps its embedded expiry; license files exported afterwards carry the new one.
    Renew {
        /// License id or key.
        license: String,
        /// How much longer, like 1y, 6mo, 30d.
        #[arg(long)]
        by: String,
    },
    /// Show or change a license's entitlements (its own list, or its policy's).
    Entitlements {
        /// License id or key.
        license: String,
        /// Give the license its own list, comma-separated (an empty value = none).
        #[arg(long, value_name = "CODES", conflicts_with = "inherit")]
        set: Option<String>,
        /// Inherit the policy's entitlements again.
        #[arg(long)]
        inherit: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum StatusArg {
    Active,
    Suspended,
    Revoked,
}

#[derive(Clone, Copy, ValueEnum)]
enum SortArg {
    CreatedDesc,
    CreatedAsc,
    ExpiryAsc,
    CustomerAsc,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the audit log: its hash chain, every row's MAC under the store's audit
    /// key, the anchor kept in the OS keychain, and that replaying it gives the
    /// store's current licenses, machines, keys, products and policies (exit 19 and
    /// every difference when it does not).
    Verify,
    /// Accept this computer's clock although the audit log has a newer row (one
    /// written while the clock ran ahead): appends a `clock.accept` row with the
    /// reason; signing then compares the clock with rows from it on.
    AcceptClock {
        /// Why (recorded in the audit log).
        #[arg(long)]
        reason: String,
    },
    /// Print the audit log.
    List,
    /// Write the audit log (or part of it) to a file, oldest first.
    Export {
        #[arg(long, value_enum, default_value = "csv")]
        format: AuditFormat,
        #[arg(long)]
        out: PathBuf,
        /// Only this action (`license.issue`) or family (`license.*`).
        #[arg(long)]
        action: Option<String>,
        /// Only events about this row id.
        #[arg(long)]
        subject: Option<String>,
        /// From this time (RFC 3339 or a date).
        #[arg(long)]
        since: Option<String>,
        /// Before this time (RFC 3339 or a date).
        #[arg(long)]
        until: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum AuditFormat {
    Csv,
    /// JSON Lines: one event object per line.
    Jsonl,
}

#[derive(Args)]
struct VerifyArgs {
    /// A license or machine file (`-` reads standard input).
    #[arg(required_unless_present = "key", conflicts_with = "key")]
    file: Option<PathBuf>,
    /// A signed license key.
    #[arg(long)]
    key: Option<String>,
    /// File holding the public key (hex, PEM or base64 SPKI).
    #[arg(long, value_name = "FILE")]
    public_key: PathBuf,
    /// License key: decrypts encrypted files.
    #[arg(long)]
    license_key: Option<String>,
    /// Machine fingerprint: decrypts encrypted machine files, and a machine file
    /// must be this machine's.
    #[arg(long)]
    fingerprint: Option<String>,
    /// For --key: the key scheme to expect (default: the public key's usual one).
    #[arg(long, requires = "key")]
    scheme: Option<String>,
    /// For files: the file algorithm to expect (default: any of the public key's,
    /// encrypted exactly when --license-key is given).
    #[arg(long, conflicts_with = "key")]
    algorithm: Option<String>,
    /// Check as of this time (RFC 3339) instead of now.
    #[arg(long, value_name = "RFC3339")]
    now: Option<String>,
}

/// A failure or a verdict, with its exit status.
struct Failure {
    status: u8,
    code: String,
    message: String,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let status = match e.code {
            ErrorCode::BadInput | ErrorCode::TemplateInvalid => 2,
            ErrorCode::NotFound => 3,
            ErrorCode::Conflict | ErrorCode::TransferNotAllowed => 4,
            ErrorCode::KeychainUnavailable => 5,
            ErrorCode::KeychainEntryMissing | ErrorCode::KeychainMismatch => 6,
            ErrorCode::Store | ErrorCode::StoreTooNew => 7,
            ErrorCode::ClockBehind => 15,
            ErrorCode::Io => 8,
            ErrorCode::Format => 9,
            ErrorCode::Internal => 1,
            // Only the window enforces the app lock; kept in the "refused" class.
            ErrorCode::SigningLocked => 4,
            ErrorCode::WeakPassphrase => 2,
            ErrorCode::BackupPassphrase => 16,
            ErrorCode::BackupDamaged => 9,
            ErrorCode::StoreExists => 4,
            ErrorCode::OutputIsStore => 17,
            ErrorCode::AuditTampered => 19,
        };
        let code = serde_json::to_value(e.code)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        Self {
            status,
            code,
            message: e.message,
        }
    }
}

fn verdict_status(code: ValidationCode) -> u8 {
    match code {
        ValidationCode::Valid => 0,
        ValidationCode::SignatureInvalid => 10,
        ValidationCode::FileExpired | ValidationCode::Expired => 11,
        ValidationCode::ClockTampered => 12,
        ValidationCode::DecryptionFailed => 13,
        _ => 14,
    }
}

/// What a command produced: JSON for `--json`, text otherwise.
struct Output {
    json: serde_json::Value,
    text: String,
    status: u8,
}

impl Output {
    fn ok(json: serde_json::Value, text: String) -> Self {
        Self {
            json,
            text,
            status: 0,
        }
    }
}

/// The exit status when a command's changes were saved but its output could not be
/// written.
const EXIT_OUTPUT_LOST: u8 = 18;

fn main() -> ExitCode {
    // clap prints help and usage errors itself and ignores a closed pipe.
    let cli = Cli::parse();
    let as_json = cli.json;
    let saves = saves(&cli.command);
    match run(cli) {
        Ok(out) => {
            let text = if as_json {
                format!("{}\n", output::json_safe(&out.json.to_string()))
            } else {
                output::terminal_safe(&out.text).into_owned()
            };
            match output::write_stdout(&text) {
                Ok(()) => ExitCode::from(out.status),
                // `keywright license list | head -1`: the reader has what it wanted.
                Err(e) if !saves && e.kind() == std::io::ErrorKind::BrokenPipe => {
                    ExitCode::from(out.status)
                }
                Err(e) if !saves => {
                    output::warn(&format!(
                        "keywright: cannot write the output to standard output: {e}"
                    ));
                    ExitCode::from(EXIT_OUTPUT_LOST)
                }
                Err(e) => {
                    output::warn(&format!(
                        "keywright: done and saved, but the output could not be written to standard output ({e}). \
                         Do not run the command again. What was saved: {}",
                        output::summary(&out.text, &out.json)
                    ));
                    ExitCode::from(EXIT_OUTPUT_LOST)
                }
            }
        }
        Err(f) => {
            if as_json {
                let text = json!({ "error": { "code": f.code, "message": f.message } });
                let _ =
                    output::write_stdout(&format!("{}\n", output::json_safe(&text.to_string())));
            } else {
                output::warn(&format!("error: {}", f.message));
            }
            ExitCode::from(f.status)
        }
    }
}

/// Whether a command saves something (store rows or a file), so that a failure to
/// print its result afterwards must say what was saved.
fn saves(command: &Command) -> bool {
    !matches!(
        command,
        Command::Verify(_)
            | Command::Serve(_)
            | Command::Server(_)
            | Command::Key(KeyCommand::Public { .. } | KeyCommand::List)
            | Command::Product(ProductCommand::List)
            | Command::Policy(PolicyCommand::Show { .. } | PolicyCommand::List)
            | Command::License(LicenseCommand::List { .. })
            | Command::Audit(AuditCommand::Verify | AuditCommand::List)
            | Command::Machine(
                MachineCommand::List { .. }
                    | MachineCommand::History { .. }
                    | MachineCommand::Simulate { .. }
            )
            | Command::Activation(ActivationCommand::Preview { .. })
    ) && !matches!(command, Command::License(LicenseCommand::Batch(a)) if a.dry_run)
}

fn open_store(path: Option<PathBuf>) -> Result<Keywright, Failure> {
    let path = match path {
        Some(p) => p,
        None => default_store_path()?,
    };
    let kw = Keywright::open(&path, os_user())?;
    // Reading works whatever the anchor check found; say it before the answer.
    let audit = kw.audit_status();
    if audit.state != AnchorState::Anchored && audit.state != AnchorState::Unanchored {
        output::warn(&format!("keywright: warning: {}", audit.message));
    }
    Ok(kw)
}

fn to_json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

fn run(cli: Cli) -> Result<Output, Failure> {
    let now = Timestamp::now();
    if writes_store(&cli.command) {
        refuse_read_only(cli.store.as_deref())?;
    }
    match cli.command {
        Command::Verify(args) => run_verify(args),
        Command::Backup(cmd) => run_backup(cmd, cli.store, now),
        Command::Activation(ActivationCommand::Request {
            license_key,
            fingerprint,
            out,
            hostname,
            platform,
            user,
            app_version,
        }) => {
            let mut request = ActivationRequest::new(license_key, fingerprint, nonce(), now);
            request.hostname = hostname;
            request.platform = platform;
            request.os_user = user;
            request.app_version = app_version;
            write_text(&out, &request.to_text(), cli.store.as_deref())?;
            let text = format!(
                "Wrote activation request {} (fingerprint {}, nonce {})\n",
                out.display(),
                request.fingerprint,
                request.nonce
            );
            Ok(Output::ok(
                json!({ "path": out.display().to_string(), "fingerprint": request.fingerprint,
                        "nonce": request.nonce }),
                text,
            ))
        }
        Command::Deactivation(DeactivationCommand::Receipt {
            license_key,
            fingerprint,
            out,
        }) => {
            let receipt = DeactivationReceipt::new(license_key, fingerprint, nonce(), now);
            write_text(&out, &receipt.to_text(), cli.store.as_deref())?;
            Ok(Output::ok(
                json!({ "path": out.display().to_string(), "nonce": receipt.nonce }),
                format!("Wrote deactivation receipt {}\n", out.display()),
            ))
        }
        Command::Deactivation(DeactivationCommand::Import { receipt }) => {
            let mut kw = open_store(cli.store)?;
            let text = read_input(&receipt, &input::DEACTIVATION_RECEIPT)?;
            let m = kw.import_deactivation_receipt(&text, now)?;
            Ok(machine_output(&m, "Deactivated (customer's receipt)"))
        }
        Command::Activation(cmd) => {
            let mut kw = open_store(cli.store)?;
            match cmd {
                ActivationCommand::Request { .. } => unreachable!("handled above"),
                ActivationCommand::Preview { request } => {
                    let text = read_input(&request, &input::ACTIVATION_REQUEST)?;
                    let p = kw.preview_activation(&text, now)?;
                    let allowed = if p.seats_allowed < 0 {
                        "unlimited".to_owned()
                    } else {
                        p.seats_allowed.to_string()
                    };
                    let mut out = format!(
                        "Activation request for license {} ({})\n  fingerprint: {}\n  hostname: {}\n  platform: {}\n  user: {}\n  app version: {}\n  requested: {}\n  license: {}, expiry {}, seats {} of {} ({})\n",
                        p.license.id,
                        p.license.customer_name.as_deref().or(p.license.customer_email.as_deref()).unwrap_or("no customer"),
                        p.request.fingerprint,
                        p.request.hostname.as_deref().unwrap_or("-"),
                        p.request.platform.as_deref().unwrap_or("-"),
                        p.request.os_user.as_deref().unwrap_or("-"),
                        p.request.app_version.as_deref().unwrap_or("-"),
                        p.request.requested_at,
                        p.license.status.as_str(),
                        p.license.expiry.as_deref().unwrap_or("never"),
                        p.seats_used,
                        allowed,
                        if p.floating { "floating" } else { "node-locked" },
                    );
                    if let Some(m) = &p.existing_machine {
                        out.push_str(&format!(
                            "  already activated as machine {}: a fresh machine file, no new seat\n",
                            m.id
                        ));
                    }
                    match &p.refusal {
                        Some(r) => out.push_str(&format!("  REFUSED: {r}\n")),
                        None => out.push_str("  would be activated\n"),
                    }
                    Ok(Output::ok(to_json(&p), out))
                }
                ActivationCommand::Import { request, out, ttl } => {
                    let text = read_input(&request, &input::ACTIVATION_REQUEST)?;
                    // A TTL the export would refuse must not leave a seat taken.
                    if ttl.is_some() {
                        keywright_core::duration::parse_file_ttl(ttl.as_deref())?;
                    }
                    let m = kw.activate_from_request(&text, now)?;
                    let f = kw.export_machine_file(
                        &ExportMachineFile {
                            machine_id: m.id.clone(),
                            path: out.display().to_string(),
                            ttl,
                            encrypt: None,
                        },
                        now,
                    )?;
                    let text = format!(
                        "Activated machine {} (fingerprint {}) on license {}\nWrote {} ({}, sha256 {})\n",
                        m.id, m.fingerprint, m.license_id, f.path, f.algorithm, f.sha256
                    );
                    Ok(Output::ok(json!({ "machine": m, "file": f }), text))
                }
            }
        }
        Command::Machine(cmd) => {
            let mut kw = open_store(cli.store)?;
            match cmd {
                MachineCommand::Activate {
                    license,
                    fingerprint,
                    name,
                    hostname,
                    platform,
                } => {
                    let m = kw.activate_machine(
                        &ActivateMachine {
                            license_id: license,
                            fingerprint,
                            name,
                            hostname,
                            platform,
                            ..Default::default()
                        },
                        now,
                    )?;
                    Ok(machine_output(&m, "Activated"))
                }
                MachineCommand::Export {
                    machine,
                    out,
                    ttl,
                    no_encrypt,
                } => {
                    let f = kw.export_machine_file(
                        &ExportMachineFile {
                            machine_id: machine,
                            path: out.display().to_string(),
                            ttl,
                            encrypt: Some(!no_encrypt),
                        },
                        now,
                    )?;
                    let text = format!("Wrote {} ({}, sha256 {})\n", f.path, f.algorithm, f.sha256);
                    Ok(Output::ok(to_json(&f), text))
                }
                MachineCommand::Deactivate { machine } => {
                    let m = kw.deactivate_machine(&machine, now)?;
                    Ok(machine_output(&m, "Deactivated"))
                }
                MachineCommand::Transfer {
                    machine,
                    fingerprint,
                    name,
                } => {
                    let m = kw.transfer_machine(
                        &TransferMachine {
                            machine_id: machine,
                            fingerprint,
                            name,
                            ..Default::default()
                        },
                        now,
                    )?;
                    Ok(machine_output(&m, "Transferred to"))
                }
                MachineCommand::List { license } => {
                    let machines = kw.list_machines(&license)?;
                    let text = machines
                        .iter()
                        .map(|m| {
                            format!(
                                "{}  {}  {}  {}  {}\n",
                                m.id,
                                m.status.as_str(),
                                m.fingerprint,
                                m.hostname.as_deref().unwrap_or("-"),
                                m.activated_at
                            )
                        })
                        .collect();
                    Ok(Output::ok(json!({ "machines": machines }), text))
                }
                MachineCommand::History { machine } => {
                    let events = kw.machine_history(&machine)?;
                    let text = events
                        .iter()
                        .map(|e| format!("{}  {}  {}  {}\n", e.seq, e.at, e.action, e.detail))
                        .collect();
                    Ok(Output::ok(json!({ "events": events }), text))
                }
                MachineCommand::Simulate {
                    license,
                    machine,
                    fingerprint,
                    at,
                    file_issued_at,
                    require,
                } => {
                    let v = kw.simulate_validation(&SimulateValidation {
                        license_id: license,
                        machine_id: machine,
                        fingerprint,
                        at,
                        file_issued_at,
                        required_entitlements: require,
                    })?;
                    let mut text = format!("{}: {}\n", v.code, v.message);
                    if let Some(s) = &v.support_message {
                        text.push_str(&format!("  support: {s}\n"));
                    }
                    Ok(Output::ok(to_json(&v), text))
                }
            }
        }
        Command::Key(cmd) => {
            let mut kw = open_store(cli.store)?;
            match cmd {
                KeyCommand::Create { name, algorithm } => {
                    let algorithm = match algorithm {
                        AlgorithmArg::Ed25519 => KeyAlgorithm::Ed25519,
                        AlgorithmArg::Rsa2048 => KeyAlgorithm::Rsa2048,
                        AlgorithmArg::EcdsaP256 => KeyAlgorithm::EcdsaP256,
                    };
                    let key = kw.create_signing_key(&NewSigningKey { name, algorithm }, now)?;
                    let info = kw.store_info();
                    let text = format!(
                        "Created signing key {:?}\n  id:         {}\n  kid:        {}\n  public key: {}\n  private key: in the OS keychain (service {}, account {})\n",
                        key.name, key.id, key.kid, key.public_key_hex, info.keychain_service, key.kid
                    );
                    Ok(Output::ok(to_json(&key), text))
                }
                KeyCommand::Public { key, format } => {
                    let key = kw.find_signing_key(&key)?;
                    let public = match format {
                        PublicFormat::Hex => format!("{}\n", key.public_key_hex),
                        PublicFormat::Pem => key.public_key_pem.clone(),
                    };
                    Ok(Output::ok(
                        json!({ "id": key.id, "kid": key.kid, "publicKey": public.trim_end() }),
                        public,
                    ))
                }
                KeyCommand::List => {
                    let keys = kw.list_signing_keys()?;
                    let text = keys
                        .iter()
                        .map(|k| {
                            format!(
                                "{}  {}  {}  {}\n",
                                k.kid,
                                k.status.as_str(),
                                k.algorithm.as_str(),
                                k.name
                            )
                        })
                        .collect();
                    Ok(Output::ok(json!({ "keys": keys }), text))
                }
                KeyCommand::Retire { key } => {
                    let key = kw.retire_signing_key(&key, now)?;
                    let text = format!(
                        "Retired signing key {:?} ({}): it no longer signs; what it signed keeps verifying\n",
                        key.name, key.kid
                    );
                    Ok(Output::ok(to_json(&key), text))
                }
            }
        }
        Command::Product(cmd) => {
            let mut kw = open_store(cli.store)?;
            match cmd {
                ProductCommand::Create {
                    name,
                    code,
                    url,
                    support_message,
                    key,
                } => {
                    let p = kw.create_product(
                        &NewProduct {
                            name,
                            code,
                            url,
                            support_message,
                            signing_key_id: key,
                        },
                        now,
                    )?;
                    let text = format!(
                        "Created product {:?} (code {}, id {})\n",
                        p.name, p.code, p.id
                    );
                    Ok(Output::ok(to_json(&p), text))
                }
                ProductCommand::SetKey { product, key } => {
                    let p = kw.set_product_signing_key(&product, &key, now)?;
                    let text = format!(
                        "Product {} now signs with key {}\n",
                        p.code, p.signing_key_id
                    );
                    Ok(Output::ok(to_json(&p), text))
                }
                ProductCommand::List => {
                    let products = kw.list_products()?;
                    let text = products
                        .iter()
                        .map(|p| format!("{}  {}  {}\n", p.code, p.id, p.name))
                        .collect();
                    Ok(Output::ok(json!({ "products": products }), text))
                }
            }
        }
        Command::Policy(cmd) => {
            let mut kw = open_store(cli.store)?;
            match cmd {
                PolicyCommand::Create(a) => {
                    let scheme = a
                        .scheme
                        .as_deref()
                        .map(|name| {
                            Scheme::parse(name).ok_or_else(|| {
                                Error::bad_input(format!(
                                    "unknown scheme {name:?}; use one of {}",
                                    keywright_core::SCHEMES.map(Scheme::as_str).join(", ")
                                ))
                            })
                        })
                        .transpose()?;
                    let expiration_strategy = a
                        .expiration_strategy
                        .as_deref()
                        .map(|name| {
                            ExpirationStrategy::parse(name).ok_or_else(|| {
                                Error::bad_input(format!(
                                    "unknown expiration strategy {name:?}; use one of {}",
                                    ExpirationStrategy::ALL
                                        .map(ExpirationStrategy::as_str)
                                        .join(", ")
                                ))
                            })
                        })
                        .transpose()?;
                    let max_machines = match a.max_machines.as_deref().map(str::trim) {
                        None => None,
                        Some(m) if m.eq_ignore_ascii_case("unlimited") => {
                            if !a.floating {
                                return Err(Error::bad_input(
                                    "a node-locked policy has exactly one machine, so unlimited \
                                     machines need a floating policy: add --floating",
                                )
                                .into());
                            }
                            None
                        }
                        Some(m) => Some(m.parse::<i64>().map_err(|_| {
                            Error::bad_input(format!(
                                "--max-machines takes a number or `unlimited`, not {m:?}"
                            ))
                        })?),
                    };
                    let p = kw.create_policy(
                        &NewPolicy {
                            product_id: a.product,
                            name: a.name,
                            scheme,
                            duration: a.duration,
                            max_machines,
                            floating: a.floating,
                            file_ttl: a.ttl,
                            encrypt: a.encrypt,
                            entitlements: a.entitlements,
                            key_template: a.template,
                            unsigned_key: a.unsigned_key,
                            expiration_strategy,
                            strict: a.strict,
                            offline_grace: a.grace,
                            allow_transfer: Some(!a.no_transfer),
                        },
                        now,
                    )?;
                    let text = format!("Created policy {:?} (id {})\n", p.name, p.id);
                    Ok(Output::ok(to_json(&p), text))
                }
                PolicyCommand::Show { policy } => {
                    let p = kw.find_policy(&policy)?;
                    Ok(Output::ok(to_json(&p), policy_text(&p)))
                }
                PolicyCommand::List => {
                    let policies = kw.list_policies()?;
                    let text = policies
                        .iter()
                        .map(|p| {
                            let scheme = if p.unsigned_key {
                                "UNSIGNED"
                            } else {
                                p.scheme.as_str()
                            };
                            format!("{}  {}  {}\n", p.id, scheme, p.name)
                        })
                        .collect();
                    Ok(Output::ok(json!({ "policies": policies }), text))
                }
            }
        }
        Command::License(cmd) => {
            let mut kw = open_store(cli.store)?;
            match cmd {
                LicenseCommand::Issue {
                    policy,
                    name,
                    email,
                    company,
                    metadata,
                } => {
                    let l = kw.issue_license(
                        &IssueLicense {
                            policy_id: policy,
                            customer_name: name,
                            customer_email: email,
                            customer_company: company,
                            metadata,
                        },
                        now,
                    )?;
                    let text = format!(
                        "Issued license {}\n  expiry: {}\n  key: {}\n",
                        l.id,
                        l.expiry.as_deref().unwrap_or("never"),
                        l.key
                    );
                    Ok(Output::ok(to_json(&l), text))
                }
                LicenseCommand::Export {
                    csv: Some(csv),
                    filter,
                    ..
                } => batch::export_csv(&mut kw, &csv, filter, now),
                LicenseCommand::Batch(args) => batch::run(&mut kw, args, now),
                LicenseCommand::Export {
                    license,
                    out,
                    ttl,
                    encrypt,
                    no_encrypt,
                    algorithm,
                    include,
                    ..
                } => {
                    let (Some(license), Some(out)) = (license, out) else {
                        return Err(Error::bad_input(
                            "name the license and --out, or give --csv FILE",
                        )
                        .into());
                    };
                    let encrypt = match (encrypt, no_encrypt) {
                        (true, _) => Some(true),
                        (_, true) => Some(false),
                        _ => None,
                    };
                    let f = kw.export_license_file(
                        &ExportLicenseFile {
                            license_id: license,
                            path: out.display().to_string(),
                            ttl,
                            encrypt,
                            algorithm,
                            include,
                        },
                        now,
                    )?;
                    let text = format!(
                        "Wrote {} ({}, {} bytes, sha256 {})\n",
                        f.path, f.algorithm, f.bytes, f.sha256
                    );
                    Ok(Output::ok(to_json(&f), text))
                }
                LicenseCommand::List {
                    search: None,
                    status: None,
                    expiring_within: None,
                    sort: None,
                    limit: None,
                    cursor: None,
                } => {
                    let licenses = kw.list_licenses()?;
                    let text = licenses
                        .iter()
                        .map(|l| {
                            format!(
                                "{}  {}  {}  {}\n",
                                l.id,
                                l.status.as_str(),
                                l.customer_email
                                    .as_deref()
                                    .or(l.customer_name.as_deref())
                                    .unwrap_or("-"),
                                l.policy_name
                            )
                        })
                        .collect();
                    Ok(Output::ok(json!({ "licenses": licenses }), text))
                }
                LicenseCommand::List {
                    search,
                    status,
                    expiring_within,
                    sort,
                    limit,
                    cursor,
                } => {
                    let page = kw.search_licenses(
                        &LicenseQuery {
                            text: search,
                            status: status.map(|s| match s {
                                StatusArg::Active => LicenseStatus::Active,
                                StatusArg::Suspended => LicenseStatus::Suspended,
                                StatusArg::Revoked => LicenseStatus::Revoked,
                            }),
                            expiring_within_days: expiring_within,
                            sort: match sort.unwrap_or(SortArg::CreatedDesc) {
                                SortArg::CreatedDesc => LicenseSort::CreatedDesc,
                                SortArg::CreatedAsc => LicenseSort::CreatedAsc,
                                SortArg::ExpiryAsc => LicenseSort::ExpiryAsc,
                                SortArg::CustomerAsc => LicenseSort::CustomerAsc,
                            },
                            limit,
                            cursor,
                            ..Default::default()
                        },
                        now,
                    )?;
                    let mut text: String = page
                        .items
                        .iter()
                        .map(|l| {
                            format!(
                                "{}  {}  {}  {}  {}\n",
                                l.id,
                                l.status.as_str(),
                                l.expiry.as_deref().unwrap_or("never"),
                                l.customer_email
                                    .as_deref()
                                    .or(l.customer_name.as_deref())
                                    .unwrap_or("-"),
                                l.policy_name
                            )
                        })
                        .collect();
                    text.push_str(&format!(
                        "{} of {}{} licenses{}\n",
                        page.items.len(),
                        page.total,
                        if page.total_exact { "" } else { "+" },
                        page.next_cursor
                            .as_deref()
                            .map(|c| format!("; next page: --cursor {c}"))
                            .unwrap_or_default()
                    ));
                    Ok(Output::ok(to_json(&page), text))
                }
                LicenseCommand::Suspend { license } => Ok(license_output(
                    &kw.suspend_license(&license, now)?,
                    "Suspended",
                )),
                LicenseCommand::Reinstate { license } => Ok(license_output(
                    &kw.reinstate_license(&license, now)?,
                    "Reinstated",
                )),
                LicenseCommand::Revoke { license } => Ok(license_output(
                    &kw.revoke_license(&license, now)?,
                    "Revoked",
                )),
                LicenseCommand::Renew { license, by } => {
                    let l = kw.renew_license(
                        &RenewLicense {
                            license_id: license,
                            by,
                        },
                        now,
                    )?;
                    Ok(license_output(&l, "Renewed"))
                }
                LicenseCommand::Entitlements {
                    license,
                    set,
                    inherit,
                } => {
                    let e = if set.is_some() || inherit {
                        kw.set_license_entitlements(
                            &SetLicenseEntitlements {
                                license_id: license,
                                codes: set.map(|s| vec![s]),
                            },
                            now,
                        )?
                    } else {
                        kw.license_entitlements(&license)?
                    };
                    let list = |v: &[String]| {
                        if v.is_empty() {
                            "none".to_owned()
                        } else {
                            v.join(", ")
                        }
                    };
                    let text = format!(
                        "entitlements: {}\n  source: {}\n  policy's: {}\n",
                        list(&e.effective),
                        if e.own.is_some() {
                            "the license's own"
                        } else {
                            "inherited from the policy"
                        },
                        list(&e.policy)
                    );
                    Ok(Output::ok(to_json(&e), text))
                }
            }
        }
        Command::Serve(args) => run_serve(cli.store, args),
        Command::Server(ServerCommand::Log { limit }) => {
            let kw = open_store(cli.store)?;
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
        Command::Audit(cmd) => {
            let mut kw = open_store(cli.store)?;
            match cmd {
                AuditCommand::Verify => {
                    let report = kw.check_audit()?;
                    let mut text = format!("{}\n", report.message);
                    if !report.intact {
                        text = format!(
                            "The audit log does not prove this store: {} problem(s)\n",
                            report.problem_count
                        );
                        for p in &report.problems {
                            text.push_str(&format!("  - {p}\n"));
                        }
                        if report.problem_count > report.problems.len() as i64 {
                            text.push_str(&format!(
                                "  … and {} more\n",
                                report.problem_count - report.problems.len() as i64
                            ));
                        }
                    }
                    let mut json = to_json(&report);
                    json["ok"] = report.intact.into();
                    Ok(Output {
                        status: if report.intact { 0 } else { 19 },
                        json,
                        text,
                    })
                }
                AuditCommand::AcceptClock { reason } => {
                    let accepted = kw.accept_clock(&reason, now)?;
                    let text = format!(
                        "Accepted this computer's clock ({}) as audit row {}\n  \
                         row {} ({} by {}, dated {}) no longer holds signing back\n",
                        accepted.clock,
                        accepted.seq,
                        accepted.future_row.seq,
                        accepted.future_row.action,
                        accepted.future_row.actor,
                        accepted.future_row.at
                    );
                    Ok(Output::ok(to_json(&accepted), text))
                }
                AuditCommand::List => {
                    let events = kw.audit_events()?;
                    let text = events
                        .iter()
                        .map(|e| {
                            format!(
                                "{:>5}  {}  {}  {}  {}\n",
                                e.seq,
                                e.at,
                                e.actor,
                                e.action,
                                e.subject_id.as_deref().unwrap_or("-")
                            )
                        })
                        .collect();
                    Ok(Output::ok(json!({ "events": events }), text))
                }
                AuditCommand::Export {
                    format,
                    out,
                    action,
                    subject,
                    since,
                    until,
                } => {
                    let query = AuditQuery {
                        action,
                        subject_id: subject,
                        since,
                        until,
                        ..Default::default()
                    };
                    let path = out.display().to_string();
                    let f = match format {
                        AuditFormat::Csv => kw.export_audit_csv(&path, &query, now)?,
                        AuditFormat::Jsonl => kw.export_audit_jsonl(&path, &query, now)?,
                    };
                    let text = format!(
                        "Wrote {} ({} bytes, sha256 {})\n",
                        f.path, f.bytes, f.sha256
                    );
                    Ok(Output::ok(to_json(&f), text))
                }
            }
        }
    }
}

fn run_serve(store: Option<PathBuf>, args: ServeArgs) -> Result<Output, Failure> {
    let path = match store {
        Some(p) => p,
        None => default_store_path()?,
    };
    let config = keywright_server::ServerConfig {
        body_limit: args.body_limit,
        rate_per_second: args.rate,
        burst: args.burst,
        trust_forwarded_for: args.trust_forwarded_for,
    };
    let shown = path.display().to_string();
    keywright_server::run_until_ctrl_c(&path, args.listen, config, |addr| {
        output::warn(&format!(
            "keywright: serving {shown} on http://{addr} (Ctrl-C stops)"
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

/// The backup passphrase: `KEYWRIGHT_PASSPHRASE`, else asked on the terminal without
/// echo (twice when creating, so a typo does not lock the backup away).
fn passphrase(confirm: bool) -> Result<String, Failure> {
    if let Ok(p) = std::env::var("KEYWRIGHT_PASSPHRASE") {
        return Ok(p);
    }
    let ask = |prompt: &str| {
        rpassword::prompt_password(prompt).map_err(|e| {
            Failure::from(Error::bad_input(format!(
                "cannot read the passphrase from the terminal ({e}); set KEYWRIGHT_PASSPHRASE"
            )))
        })
    };
    let first = ask("Backup passphrase: ")?;
    if confirm && ask("Repeat the passphrase: ")? != first {
        return Err(Error::bad_input("the two passphrases differ; nothing was written").into());
    }
    Ok(first)
}

fn run_backup(
    cmd: BackupCommand,
    store: Option<PathBuf>,
    now: Timestamp,
) -> Result<Output, Failure> {
    match cmd {
        BackupCommand::Create { out } => {
            let mut kw = open_store(store)?;
            let pass = passphrase(true)?;
            let b = kw.create_backup(&out, &pass, now)?;
            let text = format!(
                "Wrote backup {} ({} bytes, sha256 {})
  store {}: {} licenses, {} private keys
  Keep the passphrase safe: without it the backup cannot be opened.
",
                b.file.path, b.file.bytes, b.file.sha256, b.store_id, b.licenses, b.keys
            );
            Ok(Output::ok(to_json(&b), text))
        }
        BackupCommand::Restore { file } => {
            let target = match store {
                Some(p) => p,
                None => default_store_path()?,
            };
            let pass = passphrase(false)?;
            let r =
                keywright_core::restore_backup_to_keychain(&file, &pass, &target, &os_user(), now)?;
            let text = format!(
                "Restored store {} to {}
  {} licenses; {} private keys in the keychain ({})
",
                r.store_id, r.store_path, r.licenses, r.keys, r.keychain_service
            );
            Ok(Output::ok(to_json(&r), text))
        }
    }
}

fn machine_output(m: &Machine, done: &str) -> Output {
    let text = format!(
        "{done} machine {}\n  fingerprint: {}\n  license: {}\n  status: {}\n",
        m.id,
        m.fingerprint,
        m.license_id,
        m.status.as_str()
    );
    Output::ok(to_json(m), text)
}

/// 16 bytes from the OS random number generator, for requests and receipts.
fn nonce() -> [u8; 16] {
    use rand_core::RngCore as _;
    let mut nonce = [0u8; 16];
    rand_core::OsRng.fill_bytes(&mut nonce);
    nonce
}

/// Writes a file the command produced without opening the store, with the core's
/// checks (never the store the command would use, nor a device) and atomically.
fn write_text(path: &Path, text: &str, store: Option<&Path>) -> Result<(), Failure> {
    let store = match store {
        Some(p) => p.to_path_buf(),
        None => default_store_path()?,
    };
    keywright_core::files::write_output(path, text.as_bytes(), &store)?;
    Ok(())
}

fn license_output(l: &License, done: &str) -> Output {
    let text = format!(
        "{done} license {}\n  status: {}\n  expiry: {}\n",
        l.id,
        l.status.as_str(),
        l.expiry.as_deref().unwrap_or("never")
    );
    Output::ok(to_json(l), text)
}

/// Whether `command` writes the store (a row, or an audit row for a private-key use).
/// Exports of CSV and audit files write a file elsewhere, not the store.
fn writes_store(command: &Command) -> bool {
    match command {
        Command::Verify(_) | Command::Audit(_) | Command::Server(_) => false,
        Command::Serve(_) => true,
        Command::Key(c) => match c {
            KeyCommand::Create { .. } | KeyCommand::Retire { .. } => true,
            KeyCommand::Public { .. } | KeyCommand::List => false,
        },
        Command::Product(c) => match c {
            ProductCommand::Create { .. } | ProductCommand::SetKey { .. } => true,
            ProductCommand::List => false,
        },
        Command::Policy(c) => match c {
            PolicyCommand::Create(_) => true,
            PolicyCommand::List | PolicyCommand::Show { .. } => false,
        },
        Command::License(c) => match c {
            LicenseCommand::List { .. } => false,
            // A license file is signed, and its signing is an audit row.
            LicenseCommand::Export { csv, .. } => csv.is_none(),
            LicenseCommand::Batch(args) => args.writes_store(),
            LicenseCommand::Entitlements { set, inherit, .. } => set.is_some() || *inherit,
            LicenseCommand::Issue { .. }
            | LicenseCommand::Suspend { .. }
            | LicenseCommand::Reinstate { .. }
            | LicenseCommand::Revoke { .. }
            | LicenseCommand::Renew { .. } => true,
        },
        Command::Activation(c) => match c {
            ActivationCommand::Import { .. } => true,
            ActivationCommand::Request { .. } | ActivationCommand::Preview { .. } => false,
        },
        Command::Machine(c) => match c {
            MachineCommand::Activate { .. }
            | MachineCommand::Export { .. }
            | MachineCommand::Deactivate { .. }
            | MachineCommand::Transfer { .. } => true,
            MachineCommand::List { .. }
            | MachineCommand::History { .. }
            | MachineCommand::Simulate { .. } => false,
        },
        Command::Deactivation(c) => match c {
            DeactivationCommand::Import { .. } => true,
            DeactivationCommand::Receipt { .. } => false,
        },
        Command::Backup(c) => match c {
            // The backup is an audit row; a restore's target does not exist yet.
            BackupCommand::Create { .. } => true,
            BackupCommand::Restore { .. } => false,
        },
    }
}

/// A command that writes the store, on a store this user cannot write: refused before
/// it starts, with the reason (the file's permissions, its folder, its disk). The
/// store itself opens read-only for commands that only read it.
fn refuse_read_only(store: Option<&std::path::Path>) -> Result<(), Failure> {
    let path = match store {
        Some(p) => p.to_path_buf(),
        None => default_store_path()?,
    };
    match keywright_core::store::read_only_reason(&path) {
        Some(why) => Err(Error::new(
            ErrorCode::Store,
            format!(
                "the store at {} is read-only, so nothing was changed: {why}. Commands that only read it still work",
                path.display()
            ),
        )
        .into()),
        None => Ok(()),
    }
}

/// A file given on the command line (`-`: standard input), read up to its kind's limit.
fn read_input(path: &std::path::Path, kind: &input::Input) -> Result<String, Failure> {
    Ok(input::read_text(path, kind)?)
}

fn run_verify(args: VerifyArgs) -> Result<Output, Failure> {
    let now = match &args.now {
        Some(t) => {
            keywright_license::parse_time(t).map_err(|e| Error::bad_input(format!("--now: {e}")))?
        }
        None => Timestamp::now(),
    };
    let public_key = read_input(&args.public_key, &input::PUBLIC_KEY)?;
    let file = args
        .file
        .as_ref()
        .map(|p| read_input(p, &input::LICENSE_FILE))
        .transpose()?;
    let report = verify(
        &VerifyRequest {
            file,
            key: args.key,
            public_key,
            license_key: args.license_key,
            fingerprint: args.fingerprint,
            scheme: args.scheme,
            algorithm: args.algorithm,
        },
        now,
    )?;
    Ok(report_output(report))
}

fn report_output(report: VerifyReport) -> Output {
    let mut text = format!("{}: {}\n", report.code.as_str(), report.message);
    if let Some(d) = &report.detail {
        text.push_str(&format!("  detail: {d}\n"));
    }
    text.push_str(&format!(
        "  artifact: {} ({}), key {}\n",
        report.artifact, report.algorithm, report.kid
    ));
    if let Some(meta) = &report.meta {
        text.push_str(&format!(
            "  issued: {}, expires: {}\n",
            meta.issued,
            meta.expiry.as_deref().unwrap_or("never")
        ));
    }
    if let Some(p) = &report.payload {
        text.push_str(&format!("  payload: {p}\n"));
    }
    Output {
        status: verdict_status(report.code),
        json: to_json(&report),
        text,
    }
}

/// `keywright policy show` as text.
fn policy_text(p: &keywright_core::Policy) -> String {
    let or = |v: Option<i64>, none: &str| v.map_or_else(|| none.to_owned(), |n| n.to_string());
    let mut text = format!(
        "Policy {:?} (id {})\n  product: {}\n",
        p.name, p.id, p.product_id
    );
    if p.unsigned_key {
        text.push_str(
            "  key: unsigned human key (no scheme; checked online or through a license file only)\n",
        );
    } else {
        text.push_str(&format!("  scheme: {}\n", p.scheme.as_str()));
        match &p.key_template {
            Some(t) => text.push_str(&format!("  key template: {t}\n")),
            None => text.push_str("  key template: none (Keygen's default dataset)\n"),
        }
    }
    text.push_str(&format!(
        "  duration: {}\n  max machines: {}\n  floating: {}\n  file TTL: {}\n  encrypt: {}\n  entitlements: {}\n",
        p.duration_seconds.map_or_else(|| "perpetual".to_owned(), |d| format!("{d} s")),
        or(p.max_machines, "unlimited"),
        p.floating,
        p.file_ttl_seconds.map_or_else(|| "never expires".to_owned(), |d| format!("{d} s")),
        p.encrypt,
        if p.entitlements.is_empty() { "none".to_owned() } else { p.entitlements.join(", ") },
    ));
    text.push_str(&format!(
        "  expiration strategy: {}\n  strict: {}\n  offline grace: {}\n  transfer: {}\n",
        p.expiration_strategy.as_str(),
        p.strict,
        p.offline_grace_seconds
            .map_or_else(|| "none".to_owned(), |d| format!("{d} s")),
        if p.allow_transfer {
            "allowed"
        } else {
            "not allowed"
        },
    ));
    text
}
