//! Email messages (RFC 5322 + MIME) built with `lettre`'s builder: the batch's `.eml`
//! drafts, a license's draft and the messages `mail/` sends. The library encodes
//! headers (RFC 2047 words for non-ASCII names and subjects), folds long lines and
//! base64-encodes attachments; an address is parsed into a `lettre::Address` before
//! it reaches a header, and names are stripped of control characters, so a customer's
//! name or email cannot add a header.

use std::time::{Duration, SystemTime};

use jiff::Timestamp;
use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Body, Mailbox, MultiPart, SinglePart};
use lettre::{Address, Message};

use crate::{Error, Result};

/// One license in a draft.
#[derive(Clone)]
pub(crate) struct Item {
    pub product: String,
    pub policy: String,
    pub order_id: String,
    pub seq: i64,
    pub key: String,
    pub expiry: Option<String>,
    pub support: Option<String>,
    /// File name and bytes of its license file, when one was written.
    pub attachment: Option<(String, Vec<u8>)>,
}

/// An address as the builder takes it: refused (with the reason) unless it parses as
/// one mailbox address (`user@domain`), so no CR, LF, comma or angle bracket passes.
pub(crate) fn address(email: &str) -> Result<Address> {
    let email = email.trim();
    email
        .parse::<Address>()
        .map_err(|e| Error::bad_input(format!("{email:?} is not a valid email address ({e})")))
}

/// A display name with control characters (CR, LF, tab...) turned into spaces: the
/// builder encodes the rest (quoted or RFC 2047).
pub(crate) fn display_name(name: Option<&str>) -> Option<String> {
    let clean: String = name?
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let clean = clean.trim().to_owned();
    (!clean.is_empty()).then_some(clean)
}

/// A mailbox from a name and an address.
pub(crate) fn mailbox(name: Option<&str>, email: &str) -> Result<Mailbox> {
    Ok(Mailbox::new(display_name(name), address(email)?))
}

/// A subject on one line (control characters become spaces).
pub(crate) fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A file name for an attachment, kept to safe ASCII.
pub(crate) fn file_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// What a message holds, before the builder.
pub(crate) struct Parts<'a> {
    /// Sender; `None` for a draft (the mail client fills it in).
    pub from: Option<Mailbox>,
    pub reply_to: Option<Mailbox>,
    pub to: Mailbox,
    pub subject: &'a str,
    /// Plain text, lines ending in `\n`.
    pub body: &'a str,
    /// `(file name, bytes)`.
    pub attachments: &'a [(String, Vec<u8>)],
    /// Marked unsent, so a mail client opens it as a draft.
    pub draft: bool,
}

/// Builds the message: text body, then each attachment.
pub(crate) fn build(parts: &Parts<'_>, now: Timestamp) -> Result<Message> {
    // A draft has no sender, but the builder wants one: a placeholder, removed below.
    let from = parts
        .from
        .clone()
        .unwrap_or_else(|| Mailbox::new(None, parts.to.email.clone()));
    let date = SystemTime::UNIX_EPOCH + Duration::from_secs(now.as_second().max(0) as u64);
    let mut builder = Message::builder()
        .from(from)
        .to(parts.to.clone())
        .subject(one_line(parts.subject))
        .date(date);
    if let Some(reply_to) = &parts.reply_to {
        builder = builder.reply_to(reply_to.clone());
    }
    let text = SinglePart::plain(parts.body.replace("\r\n", "\n"));
    let message = if parts.attachments.is_empty() {
        builder.singlepart(text)
    } else {
        let mut multi = MultiPart::mixed().singlepart(text);
        for (name, bytes) in parts.attachments {
            // Base64 always: the file's bytes (LF line ends included) arrive as they
            // were signed, and no line of the message passes SMTP's limit.
            let body = Body::new_with_encoding(bytes.clone(), ContentTransferEncoding::Base64)
                .map_err(|_| Error::bad_input("cannot encode the attachment"))?;
            multi = multi.singlepart(Attachment::new(file_name(name)).body(
                body,
                ContentType::parse("application/octet-stream").expect("a valid content type"),
            ));
        }
        builder.multipart(multi)
    };
    let mut message =
        message.map_err(|e| Error::bad_input(format!("cannot build the message: {e}")))?;
    if parts.draft {
        if parts.from.is_none() {
            message
                .headers_mut()
                .remove::<lettre::message::header::From>();
        }
        // Opens as an unsent draft in Outlook and Thunderbird.
        message.headers_mut().insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Unsent"),
            "1".into(),
        ));
    }
    Ok(message)
}

/// The batch's draft: To, Subject, Date, a text body listing the keys, the files
/// attached.
pub(crate) fn draft(
    name: Option<&str>,
    email: &str,
    items: &[Item],
    now: Timestamp,
) -> Result<Vec<u8>> {
    let mut products: Vec<&str> = items.iter().map(|i| i.product.as_str()).collect();
    products.dedup();
    let subject = format!(
        "Your license {} for {}",
        if items.len() == 1 { "key" } else { "keys" },
        products.join(", ")
    );
    let mut body = String::new();
    match display_name(name) {
        Some(n) => body.push_str(&format!("Hello {n},\n\n")),
        None => body.push_str("Hello,\n\n"),
    }
    body.push_str(if items.len() == 1 {
        "Thank you for your order. Here is your license key:\n"
    } else {
        "Thank you for your order. Here are your license keys:\n"
    });
    for item in items {
        body.push_str(&format!(
            "\n{} ({}), order {} #{}\n{}\nExpires: {}\n",
            item.product,
            item.policy,
            item.order_id,
            item.seq,
            item.key,
            item.expiry.as_deref().unwrap_or("never")
        ));
        if let Some((file, _)) = &item.attachment {
            body.push_str(&format!("License file: {file} (attached)\n"));
        }
    }
    let mut support: Vec<&str> = items.iter().filter_map(|i| i.support.as_deref()).collect();
    support.dedup();
    for s in support {
        body.push_str(&format!("\n{s}\n"));
    }
    let attachments: Vec<(String, Vec<u8>)> =
        items.iter().filter_map(|i| i.attachment.clone()).collect();
    let message = build(
        &Parts {
            from: None,
            reply_to: None,
            to: mailbox(name, email)?,
            subject: &subject,
            body: &body,
            attachments: &attachments,
            draft: true,
        },
        now,
    )?;
    Ok(message.formatted())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(name: &str, key: &str) -> String {
        let ts: Timestamp = "2026-12-03T10:00:00Z".parse().unwrap();
        let msg = build(
            &Parts {
                from: Some(
                    mailbox(Some("Sales\r\nBcc: eve@example.com"), "sales@example.com").unwrap(),
                ),
                reply_to: None,
                to: mailbox(Some(name), "ada@example.com").unwrap(),
                subject: "Your key\r\nBcc: eve@example.com",
                body: &format!("Hello {name}\n\n{key}\n"),
                attachments: &[(
                    "a b.lic".into(),
                    b"-----BEGIN LICENSE FILE-----\nAAAA\n".to_vec(),
                )],
                draft: false,
            },
            ts,
        )
        .unwrap();
        String::from_utf8(msg.formatted()).unwrap()
    }

    #[test]
    fn no_header_can_come_from_a_name_a_subject_or_an_address() {
        let text = message("Ada\r\nBcc: eve@example.com\nX-Evil: 1", &"k".repeat(700));
        let head = text.split("\r\n\r\n").next().unwrap();
        for line in head.split("\r\n") {
            assert!(!line.starts_with("Bcc:"), "{text}");
            assert!(!line.starts_with("X-Evil"), "{text}");
            assert!(line.len() <= 998, "a line of {} bytes", line.len());
        }
        assert!(text.split("\r\n").all(|l| l.len() <= 998));
        assert!(text.contains("filename=\"a_b.lic\""), "{text}");
        for bad in [
            "ada@example.com\r\nBcc: eve@example.com",
            "ada@example.com, eve@example.com",
            "<ada@example.com>",
            "ada",
            "",
        ] {
            assert!(address(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn non_ascii_names_are_encoded_words() {
        let text = message("Ada Łovelace", "key/abc");
        let to = text.split("\r\n").find(|l| l.starts_with("To: ")).unwrap();
        assert!(to.starts_with("To: =?utf-8?b?"), "{to}");
        assert!(to.ends_with("<ada@example.com>"), "{to}");
    }
}
