//! `keywright mail` (the SMTP account, a test message), `keywright license send` and
//! `keywright batch send`: licenses by email, over keywright-core's `mail` domain.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use jiff::Timestamp;
use keywright_core::mail::{
    MailAccount, MailBatchProgress, MailPassword, MailSecurity, MailSendStatus, RetryPolicy,
    SendLicenseEmail, SetMailAccount,
};
use keywright_core::{Error, Keywright};

use crate::input::{self, BATCH_CSV, PASSPHRASE_FILE};
use crate::output::{to_json, Failure, Output};

/// The environment variable that may hold the SMTP password for `mail account`.
const PASSWORD_ENV: &str = "KEYWRIGHT_SMTP_PASSWORD";

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Security {
    /// STARTTLS, required (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

#[derive(Subcommand)]
pub(crate) enum MailCommand {
    /// Set the SMTP account licenses are sent through. The password goes to the OS
    /// keychain (from --password-file or KEYWRIGHT_SMTP_PASSWORD), never the store.
    Account {
        /// The server's host name.
        #[arg(long)]
        host: String,
        /// Its port (default: 587 for STARTTLS, 465 for TLS).
        #[arg(long)]
        port: Option<u16>,
        /// How the connection is encrypted.
        #[arg(long, value_enum, default_value = "starttls")]
        security: Security,
        /// The login (none: the server takes mail without one).
        #[arg(long)]
        user: Option<String>,
        /// The sender's address.
        #[arg(long)]
        from: String,
        /// The sender's name.
        #[arg(long)]
        from_name: Option<String>,
        /// Where replies go.
        #[arg(long)]
        reply_to: Option<String>,
        /// A PEM certificate to trust besides the system's.
        #[arg(long, value_name = "PEM")]
        ca_cert: Option<PathBuf>,
        /// A file holding the password (one trailing line break is dropped).
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// Show the SMTP account (never its password).
    Show,
    /// Send a test message through the account.
    Test {
        /// The recipient (default: the sender).
        #[arg(long)]
        to: Option<String>,
    },
}

impl MailCommand {
    pub(crate) fn writes_store(&self) -> bool {
        matches!(self, Self::Account { .. })
    }
}

#[derive(Subcommand)]
pub(crate) enum BatchCommand {
    /// Email every order of a batch CSV its keys and license files (after `license
    /// batch`). Orders already sent are skipped, so a re-run sends only the rest.
    Send(BatchSendArgs),
}

#[derive(Args)]
pub(crate) struct BatchSendArgs {
    /// The CSV the licenses were issued from.
    file: PathBuf,
    /// Attempts after the first when the server asks to try later (4xx).
    #[arg(long, default_value_t = 3)]
    retries: u32,
    /// The first wait before a retry, in milliseconds (doubled each time).
    #[arg(long, default_value_t = 2000, value_name = "MS")]
    retry_delay: u64,
    /// Send this unconfirmed order again (a run stopped while sending it: check first
    /// that the customer did not get it). Repeatable.
    #[arg(long, value_name = "ORDER-ID")]
    resend: Vec<String>,
}

pub(crate) fn run(cmd: MailCommand, kw: &mut Keywright, now: Timestamp) -> Result<Output, Failure> {
    match cmd {
        MailCommand::Account {
            host,
            port,
            security,
            user,
            from,
            from_name,
            reply_to,
            ca_cert,
            password_file,
        } => {
            let security = match security {
                Security::Starttls => MailSecurity::Starttls,
                Security::Tls => MailSecurity::Tls,
            };
            let password = match password_file {
                Some(file) => {
                    let text = input::read_text(&file, &PASSPHRASE_FILE)?;
                    let text = text.strip_suffix('\n').unwrap_or(&text);
                    Some(MailPassword::new(
                        text.strip_suffix('\r').unwrap_or(text).to_owned(),
                    ))
                }
                None => std::env::var(PASSWORD_ENV).ok().map(MailPassword::new),
            };
            if user.is_some() && password.is_none() && !kw.mail_account()?.password_saved {
                return Err(Error::bad_input(format!(
                    "--user needs a password: give --password-file or set {PASSWORD_ENV}"
                ))
                .into());
            }
            kw.set_mail_account(
                &SetMailAccount {
                    account: MailAccount {
                        host,
                        port: port.unwrap_or(match security {
                            MailSecurity::Starttls => 587,
                            MailSecurity::Tls => 465,
                        }),
                        security,
                        username: user,
                        from_email: from,
                        from_name,
                        reply_to,
                        ca_certificate: ca_cert.map(|p| p.display().to_string()),
                    },
                    password,
                },
                now,
            )?;
            let view = kw.mail_account()?;
            Ok(Output::ok(
                to_json(&view),
                "SMTP account saved (its password, if any, in the OS keychain)\n".into(),
            ))
        }
        MailCommand::Show => {
            let view = kw.mail_account()?;
            let text = match &view.account {
                None => "no SMTP account: messages are written as drafts\n".to_owned(),
                Some(a) => format!(
                    "{}:{} ({:?}), user {}, from {}{}; password {}\n",
                    a.host,
                    a.port,
                    a.security,
                    a.username.as_deref().unwrap_or("(none)"),
                    a.from_email,
                    a.reply_to
                        .as_deref()
                        .map(|r| format!(", reply-to {r}"))
                        .unwrap_or_default(),
                    if view.password_saved {
                        "in the OS keychain"
                    } else {
                        "not saved"
                    }
                ),
            };
            Ok(Output::ok(to_json(&view), text))
        }
        MailCommand::Test { to } => {
            let to = kw.send_test_email(to.as_deref(), now)?;
            Ok(Output::ok(
                serde_json::json!({ "to": to }),
                format!("test message sent to {to}\n"),
            ))
        }
    }
}

/// `keywright license send`.
pub(crate) fn send_license(
    kw: &mut Keywright,
    license: String,
    to: Option<String>,
    now: Timestamp,
) -> Result<Output, Failure> {
    let sent = kw.send_license_email(
        &SendLicenseEmail {
            license_id: license,
            to,
        },
        now,
    )?;
    let text = format!(
        "emailed to {} with {} attached (sha256 {})\n",
        sent.to, sent.attachment, sent.sha256
    );
    Ok(Output::ok(to_json(&sent), text))
}

pub(crate) fn run_batch(
    cmd: BatchCommand,
    kw: &mut Keywright,
    now: Timestamp,
) -> Result<Output, Failure> {
    let BatchCommand::Send(args) = cmd;
    let csv = input::read_bytes(&args.file, &BATCH_CSV)?;
    for order in &args.resend {
        kw.allow_resend(order, now)?;
    }
    let mut on_progress = |p: &MailBatchProgress| {
        if let Some(last) = &p.last {
            crate::output::warn(&format!(
                "  {}/{} order {}: {:?}",
                p.done, p.total, last.order_id, last.status
            ));
        }
    };
    let outcome = kw.send_batch_emails(
        &csv,
        &RetryPolicy {
            retries: args.retries,
            first_delay: Duration::from_millis(args.retry_delay),
        },
        now,
        &AtomicBool::new(false),
        &mut on_progress,
    )?;
    let mut text = format!(
        "{} sent, {} failed, {} orders in all\n",
        outcome.sent,
        outcome.failed,
        outcome.results.len()
    );
    for r in &outcome.results {
        let status = match r.status {
            MailSendStatus::Sent => "sent",
            MailSendStatus::AlreadySent => "already sent",
            MailSendStatus::Unconfirmed => "unconfirmed (see --resend)",
            MailSendStatus::Failed => "FAILED",
            MailSendStatus::Skipped => "skipped",
        };
        text.push_str(&format!(
            "  line {} order {} to {}: {status}{}\n",
            r.line,
            r.order_id,
            r.email.as_deref().unwrap_or("-"),
            r.message
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        ));
    }
    let failed = outcome.failed > 0;
    let out = Output::ok(to_json(&outcome), text);
    if failed {
        // Exit 23, with the results printed: what was sent stays sent.
        return Ok(Output { status: 23, ..out });
    }
    Ok(out)
}
