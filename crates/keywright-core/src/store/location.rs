//! Where a store lives: a file path, or a PostgreSQL URL (libpq's form). A URL's
//! password never goes where the URL goes (settings, messages, logs, the window): it is
//! split off here, kept in the OS keychain beside the signing keys, and put back only to
//! connect.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use zeroize::Zeroizing;

use crate::error::{Error, ErrorCode, Result};
use crate::vault::Vault;

/// The keychain service that holds the passwords of PostgreSQL stores, by URL.
pub const CONNECTIONS_SERVICE: &str = "keywright/connections";

/// What a userinfo password keeps unencoded: RFC 3986's unreserved characters.
const USERINFO: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Whether `location` names a PostgreSQL store rather than a file.
pub fn is_postgres_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// A PostgreSQL URL taken apart around its password.
struct Parts<'a> {
    /// `postgres://`
    scheme: &'a str,
    /// The user name, still percent-encoded, when there is one.
    user: Option<&'a str>,
    /// The password in the userinfo, still percent-encoded.
    password: Option<&'a str>,
    /// Host, port and database: everything between the userinfo and the query.
    rest: &'a str,
    /// The query's parameters, each `key=value` as written.
    params: Vec<&'a str>,
}

fn parts(url: &str) -> Option<Parts<'_>> {
    let (scheme, after) = url.split_once("://")?;
    let (head, query) = match after.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (after, None),
    };
    // The authority ends at the first '/'; its userinfo, at the authority's last '@'.
    let authority_end = head.find('/').unwrap_or(head.len());
    let (userinfo, rest) = match head[..authority_end].rfind('@') {
        Some(at) => (Some(&head[..at]), &head[at + 1..]),
        None => (None, head),
    };
    let (user, password) = match userinfo {
        None => (None, None),
        Some(info) => match info.split_once(':') {
            Some((user, password)) => (Some(user), Some(password)),
            None => (Some(info), None),
        },
    };
    Some(Parts {
        scheme: &url[..scheme.len() + 3],
        user,
        password,
        rest,
        params: query
            .map(|q| q.split('&').filter(|p| !p.is_empty()).collect())
            .unwrap_or_default(),
    })
}

fn is_password_param(param: &str) -> bool {
    param
        .split_once('=')
        .is_some_and(|(key, _)| key.eq_ignore_ascii_case("password"))
}

fn assemble(parts: &Parts<'_>, password: Option<&str>, params: &[String]) -> String {
    let mut out = String::from(parts.scheme);
    if let Some(user) = parts.user {
        out.push_str(user);
        if let Some(password) = password {
            out.push(':');
            out.push_str(password);
        }
        out.push('@');
    }
    out.push_str(parts.rest);
    if !params.is_empty() {
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

/// The URL without its password (in the userinfo or a `password=` parameter), and the
/// password, decoded. Anything that is not a PostgreSQL URL comes back as it is.
pub fn split_password(url: &str) -> (String, Option<Zeroizing<String>>) {
    let Some(parts) = parts(url).filter(|_| is_postgres_url(url)) else {
        return (url.to_owned(), None);
    };
    let decode = |s: &str| Zeroizing::new(percent_decode_str(s).decode_utf8_lossy().into_owned());
    let mut password = parts.password.map(decode);
    let mut params = Vec::new();
    for param in &parts.params {
        if is_password_param(param) {
            let value = param.split_once('=').map_or("", |(_, v)| v);
            password = Some(decode(value));
        } else {
            params.push((*param).to_owned());
        }
    }
    (assemble(&parts, None, &params), password)
}

/// `url` (without a password) with `password` put in its userinfo, percent-encoded. A
/// URL without a user name gets the password as a `password=` parameter.
pub fn with_password(url: &str, password: &str) -> Zeroizing<String> {
    let (bare, _) = split_password(url);
    let Some(parts) = parts(&bare) else {
        return Zeroizing::new(bare);
    };
    let encoded = Zeroizing::new(utf8_percent_encode(password, USERINFO).to_string());
    let mut params: Vec<String> = parts.params.iter().map(|p| (*p).to_owned()).collect();
    if parts.user.is_some() {
        Zeroizing::new(assemble(&parts, Some(&encoded), &params))
    } else {
        params.push(format!("password={}", encoded.as_str()));
        let joined = Zeroizing::new(assemble(&parts, None, &params));
        params.last_mut().map(zeroize::Zeroize::zeroize);
        joined
    }
}

/// The URL with its password, if it has one, shown as `***`: for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some(parts) = parts(url).filter(|_| is_postgres_url(url)) else {
        return url.to_owned();
    };
    let params: Vec<String> = parts
        .params
        .iter()
        .map(|p| {
            if is_password_param(p) {
                "password=***".to_owned()
            } else {
                (*p).to_owned()
            }
        })
        .collect();
    assemble(&parts, parts.password.map(|_| "***"), &params)
}

/// The password saved in `vault` (the OS keychain's [`CONNECTIONS_SERVICE`]) for the
/// PostgreSQL store at `url` (given without its password), if one was saved.
pub fn saved_password(vault: &dyn Vault, url: &str) -> Result<Option<Zeroizing<String>>> {
    let (bare, _) = split_password(url);
    match vault.get(&bare) {
        Ok(bytes) => Ok(Some(Zeroizing::new(
            String::from_utf8_lossy(&bytes).into_owned(),
        ))),
        Err(e) if e.code == ErrorCode::KeychainEntryMissing => Ok(None),
        Err(e) => Err(Error::new(
            e.code,
            format!(
                "the password of the PostgreSQL store at {bare} is kept in the OS keychain, which cannot be read: {}",
                e.message
            ),
        )),
    }
}

/// Saves `password` in `vault` for the PostgreSQL store at `url`.
pub fn save_password(vault: &dyn Vault, url: &str, password: &str) -> Result<()> {
    let (bare, _) = split_password(url);
    vault.put(&bare, password.as_bytes())
}

/// The location to connect to: `location` itself when it is a file or a URL that
/// carries its password, else the URL with the password saved for it in `vault` (or
/// without one, when none was saved: the server may not ask for one).
pub fn with_saved_password(vault: &dyn Vault, location: &str) -> Result<Zeroizing<String>> {
    if !is_postgres_url(location) {
        return Ok(Zeroizing::new(location.to_owned()));
    }
    let (bare, password) = split_password(location);
    if password.is_some() {
        return Ok(Zeroizing::new(location.to_owned()));
    }
    Ok(match saved_password(vault, &bare)? {
        Some(password) => with_password(&bare, &password),
        None => Zeroizing::new(bare),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryVault;

    #[test]
    fn the_password_is_split_off_wherever_it_is_written() {
        for (url, bare, password) in [
            (
                "postgres://kw:s3cret@db.example:5432/keywright?sslmode=verify-full",
                "postgres://kw@db.example:5432/keywright?sslmode=verify-full",
                Some("s3cret"),
            ),
            (
                "postgresql://kw:p%40ss%2Fw%3Ard@[::1]:5433/k",
                "postgresql://kw@[::1]:5433/k",
                Some("p@ss/w:rd"),
            ),
            (
                "postgres://kw@h/k?sslmode=require&password=x%26y&sslrootcert=/ca.pem",
                "postgres://kw@h/k?sslmode=require&sslrootcert=/ca.pem",
                Some("x&y"),
            ),
            ("postgres://h/k?PASSWORD=z", "postgres://h/k", Some("z")),
            ("postgres://kw@h/k", "postgres://kw@h/k", None),
            ("/home/ada/store.db", "/home/ada/store.db", None),
            ("/odd/kw:pw@host.db", "/odd/kw:pw@host.db", None),
        ] {
            let (got, pw) = split_password(url);
            assert_eq!(got, bare, "{url}");
            assert_eq!(pw.as_deref().map(String::as_str), password, "{url}");
            assert!(!redact_url(url).contains("s3cret"), "{url}");
        }
    }

    #[test]
    fn a_password_put_back_round_trips_whatever_it_holds() {
        for password in ["plain", "p@ss:/w?rd&=#%", "pässwörd ✓", ""] {
            for bare in ["postgres://kw@h:5432/k?sslmode=disable", "postgres://h/k"] {
                let full = with_password(bare, password);
                let (back, pw) = split_password(&full);
                assert_eq!(back, bare);
                assert_eq!(pw.as_deref().map(String::as_str), Some(password));
                assert!(
                    password.is_empty() || !redact_url(&full).contains(password),
                    "{}",
                    redact_url(&full)
                );
            }
        }
    }

    #[test]
    fn redaction_hides_both_forms() {
        assert_eq!(
            redact_url("postgres://kw:pw@h/k?password=pw2&sslmode=require"),
            "postgres://kw:***@h/k?password=***&sslmode=require"
        );
        assert_eq!(redact_url("postgres://kw@h/k"), "postgres://kw@h/k");
    }

    #[test]
    fn a_saved_password_is_found_by_the_url_without_it() {
        let vault = MemoryVault::default();
        let url = "postgres://kw@h/k?sslmode=verify-full";
        assert_eq!(*with_saved_password(&vault, url).unwrap(), url);
        save_password(&vault, "postgres://kw:new@h/k?sslmode=verify-full", "new").unwrap();
        assert_eq!(
            *with_saved_password(&vault, url).unwrap(),
            "postgres://kw:new@h/k?sslmode=verify-full"
        );
        // A URL with its own password keeps it; a file path is left alone.
        assert_eq!(
            *with_saved_password(&vault, "postgres://kw:other@h/k").unwrap(),
            "postgres://kw:other@h/k"
        );
        assert_eq!(*with_saved_password(&vault, "/s.db").unwrap(), "/s.db");
    }
}
