//! The SMTP connection: lettre's synchronous transport on native-tls, and its errors
//! sorted into what a person can act on (a refused login, an unreachable server or a
//! failed TLS handshake, a refusal per message: temporary 4xx or permanent 5xx).

use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use zeroize::Zeroizing;

use super::{MailAccount, MailSecurity};
use crate::{Error, ErrorCode, Result};

/// How a batch retries a temporary refusal (4xx): `retries` more attempts, waiting
/// `first_delay`, then twice as long each time (at most a minute).
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts after the first.
    pub retries: u32,
    /// The first wait.
    pub first_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            retries: 3,
            first_delay: Duration::from_secs(2),
        }
    }
}

/// One account's transport.
pub(super) struct Smtp {
    transport: SmtpTransport,
    host: String,
}

/// Why one message was not sent.
pub(super) enum SendError {
    /// 4xx: try again later.
    Temporary(Error),
    /// 5xx (or a message the server will never take): do not retry.
    Refused(Error),
    /// The login, the connection or TLS failed: nothing this message can change. The
    /// flag: certainly before the message was handed over (a refused login, a failed
    /// TLS handshake), rather than a connection lost at an unknown point.
    Connection(Error, bool),
}

impl Smtp {
    pub(super) fn new(
        account: &MailAccount,
        password: Option<Zeroizing<Vec<u8>>>,
        ca_pem: Option<&[u8]>,
    ) -> Result<Self> {
        let mut tls = TlsParameters::builder(account.host.clone());
        if let Some(pem) = ca_pem {
            let cert = Certificate::from_pem(pem)
                .map_err(|e| Error::bad_input(format!("the trusted certificate: {e}")))?;
            tls = tls.add_root_certificate(cert);
        }
        let tls = tls
            .build()
            .map_err(|e| Error::new(ErrorCode::MailUnreachable, format!("TLS setup: {e}")))?;
        let mut builder = SmtpTransport::builder_dangerous(account.host.as_str())
            .port(account.port)
            .tls(match account.security {
                MailSecurity::Starttls => Tls::Required(tls),
                MailSecurity::Tls => Tls::Wrapper(tls),
            })
            .timeout(Some(Duration::from_secs(30)));
        if let (Some(user), Some(password)) = (&account.username, password) {
            let password = String::from_utf8(password.to_vec()).map_err(|_| {
                Error::new(
                    ErrorCode::MailLoginRefused,
                    "the SMTP password in the OS keychain is not text: enter it again",
                )
            })?;
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(Self {
            transport: builder.build(),
            host: format!("{}:{}", account.host, account.port),
        })
    }

    /// Connects, upgrades to TLS and logs in, then quits.
    pub(super) fn check(&self) -> Result<()> {
        self.transport
            .test_connection()
            .map_err(|e| self.error(&e))
            .map(|_| ())
    }

    /// Sends once; any failure is an error.
    pub(super) fn send(&self, message: &Message) -> Result<()> {
        self.send_once(message).map_err(|e| match e {
            SendError::Temporary(e) | SendError::Refused(e) | SendError::Connection(e, _) => e,
        })
    }

    /// Sends once, the failure sorted.
    pub(super) fn send_once(&self, message: &Message) -> std::result::Result<(), SendError> {
        match self.transport.send(message) {
            Ok(_) => Ok(()),
            Err(e) => {
                let error = self.error(&e);
                let before_data = e.is_tls() || error.code == ErrorCode::MailLoginRefused;
                Err(match error.code {
                    ErrorCode::MailDeferred => SendError::Temporary(error),
                    ErrorCode::MailRejected => SendError::Refused(error),
                    _ => SendError::Connection(error, before_data),
                })
            }
        }
    }

    fn error(&self, e: &lettre::transport::smtp::Error) -> Error {
        let host = &self.host;
        let mut detail = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            let text = s.to_string();
            if !detail.contains(&text) {
                detail.push_str(": ");
                detail.push_str(&text);
            }
            source = s.source();
        }
        let code = e.status().map(|c| c.to_string()).unwrap_or_default();
        if e.is_permanent() {
            match code.as_str() {
                "535" | "534" | "530" | "538" => Error::new(
                    ErrorCode::MailLoginRefused,
                    format!("{host} refused the login: check the user and password ({detail})"),
                ),
                "552" => Error::new(
                    ErrorCode::MailRejected,
                    format!("the message is larger than {host} accepts ({detail})"),
                ),
                _ => Error::new(
                    ErrorCode::MailRejected,
                    format!("{host} refused the message ({detail})"),
                ),
            }
        } else if e.is_transient() {
            Error::new(
                ErrorCode::MailDeferred,
                format!("{host} asked to try again later ({detail})"),
            )
        } else if e.is_tls() {
            Error::new(
                ErrorCode::MailUnreachable,
                format!("the TLS connection to {host} failed (is the certificate trusted, is the port right for STARTTLS or TLS?): {detail}"),
            )
        } else if e.is_timeout() {
            Error::new(
                ErrorCode::MailUnreachable,
                format!("{host} did not answer in time: {detail}"),
            )
        } else if detail.contains("authentication") {
            Error::new(
                ErrorCode::MailLoginRefused,
                format!("{host} offers no login this account can use: {detail}"),
            )
        } else {
            Error::new(
                ErrorCode::MailUnreachable,
                format!("cannot reach the SMTP server {host}: {detail}"),
            )
        }
    }
}
