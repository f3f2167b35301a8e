//! Sending licenses by email (issue 19): the SMTP account (its password in the OS
//! keychain beside the keys, never in the store), a message template per product, one
//! license sent from its page (or written as an `.eml` draft when no account is set),
//! and a batch's orders sent with retries and a ledger that keeps a re-run from
//! sending an order twice.
//!
//! Messages are built by `issuing/mail.rs` (lettre's builder) and sent over lettre's
//! synchronous SMTP transport (`transport.rs`). Every license file attached is signed
//! through the same path as an export and audited (`license_file.sign`, `via: "email"`);
//! a message the server accepted adds `license.email` to the license's history.

mod sql;
mod template;
mod transport;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use zeroize::Zeroizing;

use crate::audit::{self, Event};
use crate::files::ExportedFile;
use crate::issuing::mail::{self as message, Parts};
use crate::issuing::{FileOptions, SealedFile};
use crate::{stamp, Error, ErrorCode, Keywright, License, Result};

pub use template::{render, MailPreview, MailTemplate, TEMPLATE_PLACEHOLDERS};
pub use transport::RetryPolicy;

/// The keychain account of the SMTP password (beside the signing keys' accounts).
pub const PASSWORD_ACCOUNT: &str = "smtp-password";
/// The largest extra CA certificate file read (bytes).
const MAX_CA_FILE: u64 = 256 * 1024;

/// How the connection to the SMTP server is encrypted. There is no plain-text mode:
/// a password and license files never cross the network in clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum MailSecurity {
    /// Plain connection upgraded with STARTTLS, required (usually port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (usually port 465).
    Tls,
}

/// The SMTP account messages are sent through. The password is not here: it is in
/// the OS keychain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct MailAccount {
    /// The server's host name (or address).
    pub host: String,
    /// Its port (587 for STARTTLS, 465 for TLS).
    pub port: u16,
    /// STARTTLS or TLS.
    pub security: MailSecurity,
    /// The login; `None` = the server takes mail without one.
    pub username: Option<String>,
    /// The sender's address.
    pub from_email: String,
    /// The sender's name.
    pub from_name: Option<String>,
    /// Where replies go, when not to the sender.
    pub reply_to: Option<String>,
    /// A PEM file of a certificate to trust besides the system's (a company's own CA,
    /// a server with a self-signed certificate).
    pub ca_certificate: Option<String>,
}

impl Default for MailAccount {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 587,
            security: MailSecurity::Starttls,
            username: None,
            from_email: String::new(),
            from_name: None,
            reply_to: None,
            ca_certificate: None,
        }
    }
}

/// The SMTP password as the window or the CLI hands it over once: wiped on drop,
/// redacted in `Debug`, never serialized (it can be read, not written back).
#[derive(Clone, Default, TS)]
#[ts(type = "string")]
pub struct MailPassword(Zeroizing<String>);

impl<'de> Deserialize<'de> for MailPassword {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(d).map(Self::new)
    }
}

impl MailPassword {
    /// Wraps a password.
    pub fn new(text: String) -> Self {
        Self(Zeroizing::new(text))
    }
}

impl std::fmt::Debug for MailPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MailPassword(<redacted>)")
    }
}

/// Input for saving the account.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct SetMailAccount {
    /// The account.
    pub account: MailAccount,
    /// A new password for the keychain; `None` keeps the one saved.
    #[ts(type = "string | null")]
    pub password: Option<MailPassword>,
}

/// The account as the window shows it: no password, only whether one is saved.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MailAccountView {
    /// The account, if one is set.
    pub account: Option<MailAccount>,
    /// Whether the keychain holds its password.
    pub password_saved: bool,
}

/// Input for sending (or drafting) one license's message.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct SendLicenseEmail {
    /// Id or key of the license.
    pub license_id: String,
    /// The recipient; `None` = the license's customer.
    pub to: Option<String>,
}

/// Input for writing one license's message as an `.eml` draft.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct LicenseEmailDraft {
    /// Id or key of the license.
    pub license_id: String,
    /// Where to write the `.eml` file.
    pub path: String,
}

/// What a sent message was.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SentEmail {
    /// The recipient.
    pub to: String,
    /// The attached license file's name.
    pub attachment: String,
    /// SHA-256 of the attached license file (as its audit row says).
    pub sha256: String,
}

/// How a batch's order fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum MailSendStatus {
    /// The server accepted it in this run.
    Sent,
    /// An earlier run sent it: not sent again.
    AlreadySent,
    /// An earlier run was stopped while sending it: the server may have it. Not sent
    /// again (check the recipient's mailbox or the server's log).
    Unconfirmed,
    /// The server refused it (or kept deferring it); a re-run tries again.
    Failed,
    /// Nothing to send: the row is bad, has no email, or its licenses are not issued.
    Skipped,
}

/// One order's result in a batch send.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MailSendResult {
    /// The CSV line.
    #[ts(type = "number")]
    pub line: u64,
    /// The order id.
    pub order_id: String,
    /// The recipient.
    pub email: Option<String>,
    /// What happened.
    pub status: MailSendStatus,
    /// Why, for a failure or a skip.
    pub message: Option<String>,
    /// Attempts made in this run.
    pub attempts: u32,
}

/// How far a batch send has got.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MailBatchProgress {
    /// Orders done.
    #[ts(type = "number")]
    pub done: u64,
    /// Orders in all.
    #[ts(type = "number")]
    pub total: u64,
    /// The latest order's result.
    pub last: Option<MailSendResult>,
}

/// What a batch send did.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MailBatchOutcome {
    /// Every order, in file order (those after a cancel are absent).
    pub results: Vec<MailSendResult>,
    /// Sent in this run.
    #[ts(type = "number")]
    pub sent: u64,
    /// Refused in this run.
    #[ts(type = "number")]
    pub failed: u64,
    /// Stopped by Cancel: a re-run sends the rest.
    pub cancelled: bool,
}

const ACCOUNT: &str = "account";

fn template_key(product_id: &str) -> String {
    format!("template:{product_id}")
}

fn optional(text: &Option<String>) -> Option<String> {
    text.as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

impl MailAccount {
    /// Checks and trims every field.
    fn checked(&self) -> Result<Self> {
        let host = self.host.trim().to_owned();
        if host.is_empty()
            || host.len() > 253
            || host
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '/' | '@' | ':'))
        {
            return Err(Error::bad_input(format!(
                "the SMTP server {host:?} is not a host name (like smtp.example.com)"
            )));
        }
        if self.port == 0 {
            return Err(Error::bad_input(
                "the SMTP port must be between 1 and 65535",
            ));
        }
        let from_email = self.from_email.trim().to_owned();
        message::address(&from_email)
            .map_err(|e| Error::bad_input(format!("sender: {}", e.message)))?;
        let reply_to = optional(&self.reply_to);
        if let Some(r) = &reply_to {
            message::address(r)
                .map_err(|e| Error::bad_input(format!("reply-to: {}", e.message)))?;
        }
        let username = optional(&self.username);
        if username
            .as_deref()
            .is_some_and(|u| u.chars().any(char::is_control))
        {
            return Err(Error::bad_input("the SMTP login has a control character"));
        }
        let ca_certificate = optional(&self.ca_certificate);
        if let Some(path) = &ca_certificate {
            read_ca(path)?;
        }
        Ok(Self {
            host,
            port: self.port,
            security: self.security,
            username,
            from_email,
            from_name: message::display_name(self.from_name.as_deref()),
            reply_to,
            ca_certificate,
        })
    }
}

/// The extra trusted certificate's PEM.
fn read_ca(path: &str) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::new(ErrorCode::Io, format!("certificate file {path}: {e}")))?;
    if meta.len() > MAX_CA_FILE {
        return Err(Error::bad_input(format!(
            "certificate file {path} is larger than a certificate ({} bytes)",
            meta.len()
        )));
    }
    let pem = std::fs::read(path)
        .map_err(|e| Error::new(ErrorCode::Io, format!("certificate file {path}: {e}")))?;
    if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
        return Err(Error::bad_input(format!(
            "certificate file {path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        )));
    }
    Ok(pem)
}

/// A license's attachment name.
fn attachment_name(license: &License) -> String {
    let code: String = license
        .product_name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    let short: String = license.id.chars().take(8).collect();
    if code.is_empty() {
        format!("license-{short}.lic")
    } else {
        format!("{code}-{short}.lic")
    }
}

impl Keywright {
    /// The SMTP account (without its password) and whether a password is saved.
    pub fn mail_account(&self) -> Result<MailAccountView> {
        let account = match sql::setting(self.store.db(), ACCOUNT)? {
            Some(json) => Some(serde_json::from_str(&json).map_err(|e| {
                Error::new(
                    ErrorCode::Store,
                    format!("the saved SMTP account is damaged: {e}"),
                )
            })?),
            None => None,
        };
        let password_saved = match self.vault.get(PASSWORD_ACCOUNT) {
            Ok(_) => true,
            Err(e) if e.code == ErrorCode::KeychainEntryMissing => false,
            Err(e) => return Err(e),
        };
        Ok(MailAccountView {
            account,
            password_saved,
        })
    }

    /// Saves the SMTP account; a password given goes to the keychain (an empty one
    /// removes it). Audited (`mail.account`, without the password). The keychain is
    /// written first (it may ask the user; the store is not locked meanwhile), and
    /// put back as it was when the store's transaction then fails.
    pub fn set_mail_account(&mut self, input: &SetMailAccount, now: Timestamp) -> Result<()> {
        let account = input.account.checked()?;
        let json = serde_json::to_string(&account).map_err(|e| Error::bad_input(e.to_string()))?;
        let at = stamp(now);
        let audit_key = self.audit_key()?;
        // The keychain's password before this change, when it changes.
        let earlier = match &input.password {
            None => None,
            Some(_) => match self.vault.get(PASSWORD_ACCOUNT) {
                Ok(secret) => Some(Some(secret)),
                Err(e) if e.code == ErrorCode::KeychainEntryMissing => Some(None),
                Err(e) => return Err(e),
            },
        };
        if let Some(password) = &input.password {
            if password.0.is_empty() {
                self.vault.remove(PASSWORD_ACCOUNT)?;
            } else {
                self.vault.put(PASSWORD_ACCOUNT, password.0.as_bytes())?;
            }
        }
        let saved = (|| -> Result<()> {
            let tx = self.store.transaction()?;
            sql::put_setting(tx.db(), ACCOUNT, &json, &at)?;
            audit::append(
                tx.db(),
                &audit_key,
                &at,
                &self.actor,
                &Event {
                    action: "mail.account",
                    detail: serde_json::json!({
                        "host": account.host, "port": account.port, "security": account.security,
                        "username": account.username, "from": account.from_email,
                        "password": input.password.as_ref().map(|p| if p.0.is_empty() { "removed" } else { "changed" }),
                    }),
                    ..Event::default()
                },
            )?;
            tx.commit()
        })();
        if let Err(e) = saved {
            // Best effort: the keychain as it was, as the store is.
            let _ = match earlier {
                Some(Some(secret)) => self.vault.put(PASSWORD_ACCOUNT, &secret),
                Some(None) => self.vault.remove(PASSWORD_ACCOUNT),
                None => Ok(()),
            };
            return Err(e);
        }
        self.committed();
        Ok(())
    }

    /// Removes the SMTP account and its password (the window falls back to drafts).
    pub fn remove_mail_account(&mut self, now: Timestamp) -> Result<()> {
        self.vault.remove(PASSWORD_ACCOUNT)?;
        let at = stamp(now);
        let audit_key = self.audit_key()?;
        let tx = self.store.transaction()?;
        sql::remove_setting(tx.db(), ACCOUNT)?;
        audit::append(
            tx.db(),
            &audit_key,
            &at,
            &self.actor,
            &Event {
                action: "mail.account.remove",
                ..Event::default()
            },
        )?;
        tx.commit()?;
        self.committed();
        Ok(())
    }

    /// A product's message template (the default one when none is saved).
    pub fn mail_template(&self, product_id: &str) -> Result<MailTemplate> {
        let product = self.find_product(product_id)?;
        match sql::setting(self.store.db(), &template_key(&product.id))? {
            Some(json) => serde_json::from_str(&json).map_err(|e| {
                Error::new(
                    ErrorCode::Store,
                    format!("the saved template is damaged: {e}"),
                )
            }),
            None => Ok(MailTemplate::default()),
        }
    }

    /// Saves a product's template (`None` = back to the default); checked first.
    pub fn set_mail_template(
        &mut self,
        product_id: &str,
        template: Option<&MailTemplate>,
        now: Timestamp,
    ) -> Result<()> {
        let product = self.find_product(product_id)?;
        let key = template_key(&product.id);
        let at = stamp(now);
        if let Some(t) = template {
            t.check()?;
        }
        let audit_key = self.audit_key()?;
        let tx = self.store.transaction()?;
        match template {
            Some(t) => {
                let json = serde_json::to_string(t).map_err(|e| Error::bad_input(e.to_string()))?;
                sql::put_setting(tx.db(), &key, &json, &at)?;
            }
            None => sql::remove_setting(tx.db(), &key)?,
        }
        audit::append(
            tx.db(),
            &audit_key,
            &at,
            &self.actor,
            &Event {
                action: "mail.template",
                detail: serde_json::json!({
                    "product": product.id,
                    "subject": template.map(|t| t.subject.as_str()),
                    "default": template.is_none(),
                }),
                ..Event::default()
            },
        )?;
        tx.commit()?;
        self.committed();
        Ok(())
    }

    /// The template rendered for a license, or for sample values when `license_id`
    /// is `None` (the Settings preview).
    pub fn preview_mail(
        &self,
        template: &MailTemplate,
        license_id: Option<&str>,
    ) -> Result<MailPreview> {
        match license_id {
            Some(id) => {
                let license = self.find_license(id)?;
                let support = self.support_message(&license)?;
                template.render_for(&[&license], support.as_deref())
            }
            None => template.render_sample(),
        }
    }

    fn support_message(&self, license: &License) -> Result<Option<String>> {
        Ok(self.find_product(&license.product_id)?.support_message)
    }

    /// The saved account, checked, with its transport.
    fn transport(&self) -> Result<(MailAccount, transport::Smtp)> {
        let Some(account) = self.mail_account()?.account else {
            return Err(Error::bad_input(
                "no SMTP account is set: add one in Settings → Email (or `keywright mail account`)",
            ));
        };
        let password = match &account.username {
            None => None,
            Some(_) => Some(self.vault.get(PASSWORD_ACCOUNT).map_err(|e| {
                if e.code == ErrorCode::KeychainEntryMissing {
                    Error::new(
                        ErrorCode::MailLoginRefused,
                        "no SMTP password is saved in the OS keychain: enter it in Settings → Email",
                    )
                } else {
                    e
                }
            })?),
        };
        let ca = match &account.ca_certificate {
            Some(path) => Some(read_ca(path)?),
            None => None,
        };
        let smtp = transport::Smtp::new(&account, password, ca.as_deref())?;
        Ok((account, smtp))
    }

    /// Sends a short message through the account, to `to` (default: the sender), so
    /// the settings can be checked.
    pub fn send_test_email(&self, to: Option<&str>, now: Timestamp) -> Result<String> {
        let (account, smtp) = self.transport()?;
        let to = to
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or(&account.from_email)
            .to_owned();
        let msg = message::build(
            &Parts {
                from: Some(message::mailbox(
                    account.from_name.as_deref(),
                    &account.from_email,
                )?),
                reply_to: match &account.reply_to {
                    Some(r) => Some(message::mailbox(None, r)?),
                    None => None,
                },
                to: message::mailbox(None, &to)?,
                subject: "Keywright test message",
                body: "This message was sent by Keywright to check its email settings.\n",
                attachments: &[],
                draft: false,
            },
            now,
        )?;
        smtp.send(&msg)?;
        Ok(to)
    }

    /// Signs the license's file for a message (audited as any export, `via`
    /// "email" or "draft", with the recipient).
    fn sign_for_mail(
        &mut self,
        license: &License,
        to: &str,
        via: &str,
        order: Option<&str>,
        now: Timestamp,
    ) -> Result<(String, SealedFile, String)> {
        let sealed = self.seal_license(
            &license.id,
            &FileOptions {
                ttl: None,
                encrypt: None,
                algorithm: None,
                include: &[],
            },
            now,
        )?;
        let name = attachment_name(license);
        let event = Event {
            action: "license_file.sign",
            subject_type: Some("license"),
            subject_id: Some(&sealed.license_id),
            signing_key_kid: Some(&sealed.kid),
            detail: serde_json::json!({
                "algorithm": sealed.alg.as_str(), "ttl": sealed.ttl, "via": via,
                "to": to, "file": name, "order": order,
            }),
            ..Event::default()
        };
        let at = stamp(sealed.issued);
        let sha = self.record_artifact(sealed.text.as_bytes(), &at, event)?;
        Ok((name, sealed, sha))
    }

    /// Records that licenses were emailed (`license.email`, their history's
    /// "emailed to …"), with the batch ledger's row when there is one.
    fn record_emailed(
        &mut self,
        licenses: &[&License],
        to: &str,
        ledger: Option<&str>,
        now: Timestamp,
    ) -> Result<()> {
        let at = stamp(now);
        let audit_key = self.audit_key()?;
        let tx = self.store.transaction()?;
        for license in licenses {
            audit::append(
                tx.db(),
                &audit_key,
                &at,
                &self.actor,
                &Event {
                    action: "license.email",
                    subject_type: Some("license"),
                    subject_id: Some(&license.id),
                    detail: serde_json::json!({ "to": to, "order": ledger }),
                    ..Event::default()
                },
            )?;
        }
        if let Some(order) = ledger {
            sql::set_send_state(tx.db(), order, to, "sent", &at, None)?;
        }
        tx.commit()?;
        self.committed();
        Ok(())
    }

    /// The message for `licenses` (one customer's), with their files attached.
    fn license_message(
        &mut self,
        licenses: &[&License],
        to: &str,
        account: Option<&MailAccount>,
        via: &str,
        order: Option<&str>,
        now: Timestamp,
    ) -> Result<(lettre::Message, Vec<(String, String)>)> {
        let first = licenses[0];
        let recipient = message::mailbox(first.customer_name.as_deref(), to)?;
        let template = self.mail_template(&first.product_id)?;
        let support = self.support_message(first)?;
        let rendered = template.render_for(licenses, support.as_deref())?;
        let mut attachments = Vec::new();
        let mut signed = Vec::new();
        for license in licenses {
            let (name, sealed, sha) = self.sign_for_mail(license, to, via, order, now)?;
            attachments.push((name.clone(), sealed.text.into_bytes()));
            signed.push((name, sha));
        }
        let msg = message::build(
            &Parts {
                from: match account {
                    Some(a) => Some(message::mailbox(a.from_name.as_deref(), &a.from_email)?),
                    None => None,
                },
                reply_to: match account.and_then(|a| a.reply_to.as_deref()) {
                    Some(r) => Some(message::mailbox(None, r)?),
                    None => None,
                },
                to: recipient,
                subject: &rendered.subject,
                body: &rendered.body,
                attachments: &attachments,
                draft: account.is_none(),
            },
            now,
        )?;
        Ok((msg, signed))
    }

    fn recipient(license: &License, to: Option<&str>) -> Result<String> {
        match to.map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => Ok(t.to_owned()),
            None => license.customer_email.clone().ok_or_else(|| {
                Error::bad_input("this license's customer has no email address: enter one")
            }),
        }
    }

    /// Sends a license's message (key in the body, license file attached) through the
    /// SMTP account; on success its history says "emailed to …".
    pub fn send_license_email(
        &mut self,
        input: &SendLicenseEmail,
        now: Timestamp,
    ) -> Result<SentEmail> {
        let license = self.find_license(&input.license_id)?;
        let to = Self::recipient(&license, input.to.as_deref())?;
        message::address(&to)?;
        let (account, smtp) = self.transport()?;
        let (msg, signed) =
            self.license_message(&[&license], &to, Some(&account), "email", None, now)?;
        smtp.send(&msg)?;
        self.record_emailed(&[&license], &to, None, now)?;
        let (attachment, sha256) = signed.into_iter().next().unwrap_or_default();
        Ok(SentEmail {
            to,
            attachment,
            sha256,
        })
    }

    /// Writes a license's message as an `.eml` draft (no sender, marked unsent) with
    /// its license file attached, for the system's mail client to open.
    pub fn write_license_email_draft(
        &mut self,
        input: &LicenseEmailDraft,
        now: Timestamp,
    ) -> Result<ExportedFile> {
        let license = self.find_license(&input.license_id)?;
        if input.path.trim().is_empty() {
            return Err(Error::bad_input("choose where to save the draft"));
        }
        let to = Self::recipient(&license, None)?;
        let (msg, signed) = self.license_message(&[&license], &to, None, "draft", None, now)?;
        let bytes = msg.formatted();
        let path = std::path::Path::new(input.path.trim());
        crate::files::write_atomically(path, &bytes, Some(self.store.path()))?;
        Ok(ExportedFile {
            path: path.display().to_string(),
            sha256: signed
                .into_iter()
                .next()
                .map(|(_, sha)| sha)
                .unwrap_or_default(),
            bytes: bytes.len() as u64,
            algorithm: String::new(),
        })
    }

    /// Sends each order of a batch CSV its message (one per order: the order's keys
    /// and license files), skipping orders the ledger says were sent or may have
    /// been. Temporary refusals (4xx) are retried with backoff, permanent ones (5xx)
    /// are not; a refused login, an unreachable server or a TLS failure stops the run.
    pub fn send_batch_emails(
        &mut self,
        csv: &[u8],
        retry: &RetryPolicy,
        now: Timestamp,
        cancel: &AtomicBool,
        progress: &mut dyn FnMut(&MailBatchProgress),
    ) -> Result<MailBatchOutcome> {
        let preview = self.preview_batch(csv)?;
        let (account, smtp) = self.transport()?;
        // Login, STARTTLS and certificate checked once, before any order is touched.
        smtp.check()?;
        let total = preview.rows.len() as u64;
        let mut out = MailBatchOutcome {
            results: Vec::new(),
            sent: 0,
            failed: 0,
            cancelled: false,
        };
        for row in &preview.rows {
            if cancel.load(Ordering::Relaxed) {
                out.cancelled = true;
                break;
            }
            let mut result = MailSendResult {
                line: row.line,
                order_id: row.order_id.clone(),
                email: row.customer_email.clone(),
                status: MailSendStatus::Skipped,
                message: None,
                attempts: 0,
            };
            self.send_order(row, &account, &smtp, retry, now, cancel, &mut result)?;
            match result.status {
                MailSendStatus::Sent => out.sent += 1,
                MailSendStatus::Failed => out.failed += 1,
                _ => {}
            }
            out.results.push(result.clone());
            progress(&MailBatchProgress {
                done: out.results.len() as u64,
                total,
                last: Some(result),
            });
        }
        Ok(out)
    }

    /// Lets the next batch send send an order the ledger left unconfirmed (a run
    /// stopped while sending it), once the user has checked the customer does not
    /// have it. Audited (`mail.resend`). An order sent or never tried is refused.
    pub fn allow_resend(&mut self, order_id: &str, now: Timestamp) -> Result<()> {
        let order_id = order_id.trim();
        match sql::send_state(self.store.db(), order_id)? {
            Some((email, state, _)) if state == "sending" => {
                let at = stamp(now);
                let audit_key = self.audit_key()?;
                let tx = self.store.transaction()?;
                sql::set_send_state(
                    tx.db(),
                    order_id,
                    &email,
                    "failed",
                    &at,
                    Some("unconfirmed; sending again was allowed"),
                )?;
                audit::append(
                    tx.db(),
                    &audit_key,
                    &at,
                    &self.actor,
                    &Event {
                        action: "mail.resend",
                        detail: serde_json::json!({ "order": order_id, "to": email }),
                        ..Event::default()
                    },
                )?;
                tx.commit()?;
                self.committed();
                Ok(())
            }
            Some((_, state, _)) => Err(Error::conflict(format!(
                "order {order_id:?} is {state}, not unconfirmed: only an order a run stopped while sending can be allowed again"
            ))),
            None => Err(Error::not_found(format!(
                "order {order_id:?} was never sent"
            ))),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn send_order(
        &mut self,
        row: &crate::batch::BatchRow,
        account: &MailAccount,
        smtp: &transport::Smtp,
        retry: &RetryPolicy,
        now: Timestamp,
        cancel: &AtomicBool,
        result: &mut MailSendResult,
    ) -> Result<()> {
        // A bad row (among them a row naming an order issued to someone else) is
        // not sent.
        if let Some(problem) = row.errors.first() {
            result.message = Some(problem.clone());
            return Ok(());
        }
        let Some(email) = row.customer_email.clone() else {
            result.message = Some("the row has no email".into());
            return Ok(());
        };
        if let Some((_, state, _)) = sql::send_state(self.store.db(), &row.order_id)? {
            match state.as_str() {
                "sent" => {
                    result.status = MailSendStatus::AlreadySent;
                    return Ok(());
                }
                "sending" => {
                    result.status = MailSendStatus::Unconfirmed;
                    result.message = Some(
                        "an earlier run stopped while sending this order: the customer may have it"
                            .into(),
                    );
                    return Ok(());
                }
                _ => {}
            }
        }
        if let Err(e) = message::address(&email) {
            result.message = Some(e.message);
            return Ok(());
        }
        let licenses: Vec<License> =
            crate::issuing::sql::order_documents(self.store.db(), &row.order_id)?
                .into_iter()
                .filter(|(seq, ..)| *seq <= i64::from(row.quantity))
                .map(|(_, license, ..)| license)
                // Only this customer's licenses, whatever the row says.
                .filter(|l| {
                    l.customer_email
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(&email))
                })
                .collect();
        if licenses.is_empty() {
            result.message = Some("no license of this order is issued yet".into());
            return Ok(());
        }
        let refs: Vec<&License> = licenses.iter().collect();
        let (msg, _) = self.license_message(
            &refs,
            &email,
            Some(account),
            "email",
            Some(&row.order_id),
            now,
        )?;
        let at = stamp(now);
        {
            // Committed before the message goes out: a run stopped past this point
            // leaves the order "sending", which no re-run sends again.
            let tx = self.store.transaction()?;
            sql::set_send_state(tx.db(), &row.order_id, &email, "sending", &at, None)?;
            tx.commit()?;
        }
        // The order as "failed", with the server's or the connection's reason.
        let mark_failed = |e: &Error| -> Result<()> {
            let tx = self.store.transaction()?;
            sql::set_send_state(
                tx.db(),
                &row.order_id,
                &email,
                "failed",
                &at,
                Some(&e.message),
            )?;
            tx.commit()
        };
        let mut delay = retry.first_delay;
        loop {
            result.attempts += 1;
            match smtp.send_once(&msg) {
                Ok(()) => {
                    self.record_emailed(&refs, &email, Some(&row.order_id), now)?;
                    result.status = MailSendStatus::Sent;
                    return Ok(());
                }
                Err(transport::SendError::Temporary(e))
                    if result.attempts <= retry.retries && !cancel.load(Ordering::Relaxed) =>
                {
                    let _ = e;
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(Duration::from_secs(60));
                }
                Err(transport::SendError::Temporary(e) | transport::SendError::Refused(e)) => {
                    // The server answered with a refusal: it does not have the message.
                    mark_failed(&e)?;
                    result.status = MailSendStatus::Failed;
                    result.message = Some(e.message);
                    return Ok(());
                }
                // The login or the TLS handshake failed: nothing was sent. The order is
                // "failed" and the run stops.
                Err(transport::SendError::Connection(e, true)) => {
                    mark_failed(&e)?;
                    return Err(e);
                }
                // The connection failed mid-way: the order stays "sending" (the server
                // may have it) and the run stops.
                Err(transport::SendError::Connection(e, false)) => return Err(e),
            }
        }
    }
}
