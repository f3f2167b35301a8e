//! Email drafts (`.eml`, RFC 5322 + MIME) for batch issuance: one per customer, the
//! keys in a plain-text body and the license files attached. Built by hand: the format
//! needed is small (multipart/mixed, base64 parts, RFC 2047 encoded words for
//! non-ASCII headers) and a mail crate would bring far more than it.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use jiff::Timestamp;

/// One license in a draft.
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

const CRLF: &str = "\r\n";

/// Base64 in lines of 76 characters, as MIME wants.
fn base64_lines(bytes: &[u8]) -> String {
    let text = STANDARD.encode(bytes);
    let mut out = String::with_capacity(text.len() + text.len() / 38 + 2);
    for chunk in text.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push_str(CRLF);
    }
    out
}

/// A header value: plain when it is printable ASCII, else RFC 2047 encoded words
/// (short enough that no header line passes 78 characters).
fn header_text(text: &str) -> String {
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    if clean.chars().all(|c| c.is_ascii() && !c.is_control()) && clean.len() < 900 {
        return clean;
    }
    let mut words = Vec::new();
    let mut piece = String::new();
    for c in clean.chars() {
        if piece.len() + c.len_utf8() > 45 {
            words.push(format!("=?utf-8?b?{}?=", STANDARD.encode(piece.as_bytes())));
            piece.clear();
        }
        piece.push(c);
    }
    if !piece.is_empty() {
        words.push(format!("=?utf-8?b?{}?=", STANDARD.encode(piece.as_bytes())));
    }
    words.join("\r\n ")
}

/// `"Name" <email>`; the name quoted (ASCII) or encoded (anything else).
fn address(name: Option<&str>, email: &str) -> String {
    let email: String = email
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '<' | '>' | ',' | '"'))
        .collect();
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        None => email,
        Some(n) if n.chars().all(|c| c.is_ascii() && !c.is_control()) => {
            format!(
                "\"{}\" <{email}>",
                n.replace('\\', "\\\\").replace('"', "\\\"")
            )
        }
        Some(n) => format!("{} <{email}>", header_text(n)),
    }
}

/// A file name parameter (`filename="…"`), kept to safe ASCII.
fn file_param(name: &str) -> String {
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

/// The message: To, Subject, Date, a text body listing the keys, the files attached.
pub(crate) fn draft(name: Option<&str>, email: &str, items: &[Item], now: Timestamp) -> String {
    let mut products: Vec<&str> = items.iter().map(|i| i.product.as_str()).collect();
    products.dedup();
    let subject = format!(
        "Your license {} for {}",
        if items.len() == 1 { "key" } else { "keys" },
        products.join(", ")
    );
    let mut body = String::new();
    match name.map(str::trim).filter(|n| !n.is_empty()) {
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
    let body = body.replace('\n', CRLF);

    let boundary = format!(
        "keywright-{}",
        &crate::audit::sha256_hex(format!("{email}{now}{}", uuid::Uuid::new_v4()).as_bytes())[..24]
    );
    let date = now.strftime("%a, %d %b %Y %H:%M:%S +0000").to_string();
    let mut m = String::new();
    m.push_str(&format!("To: {}{CRLF}", address(name, email)));
    m.push_str(&format!("Subject: {}{CRLF}", header_text(&subject)));
    m.push_str(&format!("Date: {date}{CRLF}"));
    m.push_str(&format!("MIME-Version: 1.0{CRLF}"));
    // Opens as an unsent draft in Outlook and Thunderbird.
    m.push_str(&format!("X-Unsent: 1{CRLF}"));
    m.push_str(&format!(
        "Content-Type: multipart/mixed; boundary=\"{boundary}\"{CRLF}{CRLF}"
    ));
    m.push_str(&format!("--{boundary}{CRLF}"));
    m.push_str(&format!("Content-Type: text/plain; charset=utf-8{CRLF}"));
    m.push_str(&format!("Content-Transfer-Encoding: base64{CRLF}{CRLF}"));
    m.push_str(&base64_lines(body.as_bytes()));
    for item in items {
        if let Some((file, bytes)) = &item.attachment {
            let file = file_param(file);
            m.push_str(&format!("--{boundary}{CRLF}"));
            m.push_str(&format!(
                "Content-Type: application/octet-stream; name=\"{file}\"{CRLF}"
            ));
            m.push_str(&format!(
                "Content-Disposition: attachment; filename=\"{file}\"{CRLF}"
            ));
            m.push_str(&format!("Content-Transfer-Encoding: base64{CRLF}{CRLF}"));
            m.push_str(&base64_lines(bytes));
        }
    }
    m.push_str(&format!("--{boundary}--{CRLF}"));
    m
}
