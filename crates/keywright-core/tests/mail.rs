//! Email (issue 19) on either engine: the SMTP account (password in the vault, never
//! the store), templates and their preview, a license's `.eml` draft with its file
//! attached, and the batch send's ledger against a real SMTP server on loopback
//! (aiosmtpd: scripts/smtp-test-server.py, STARTTLS on a self-signed certificate).

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use common::*;
use keywright_core::mail::*;
use keywright_core::*;
use keywright_license::{PublicKey, ValidationCode, Verifier};

const PASSWORD: &str = "s3cret-smtp-password";

struct Server(Child, u16);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// aiosmtpd on loopback with a fresh self-signed certificate; returns it and the
/// certificate's path.
fn server(dir: &Path) -> (Server, String) {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let ok = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let out = dir.join("received");
    std::fs::create_dir_all(&out).unwrap();
    let mut child = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scripts/smtp-test-server.py"
        ))
        .arg("--out")
        .arg(&out)
        .arg("--cert")
        .arg(&cert)
        .arg("--key")
        .arg(&key)
        .args(["--user", "sales", "--password", PASSWORD])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().strip_prefix("PORT ").unwrap().parse().unwrap();
    (Server(child, port), cert.display().to_string())
}

fn account(port: u16, cert: Option<String>) -> MailAccount {
    MailAccount {
        host: "127.0.0.1".into(),
        port,
        security: MailSecurity::Starttls,
        username: Some("sales".into()),
        from_email: "sales@example.com".into(),
        from_name: Some("Sales".into()),
        reply_to: None,
        ca_certificate: cert,
    }
}

fn store_text(t: &TestStore) -> String {
    if on_postgres() {
        let db = Raw::of(&t.kw);
        db.db()
            .query("SELECT name || value FROM mail_settings", &[], |r| {
                r.get::<String>(0)
            })
            .unwrap()
            .join("\n")
    } else {
        String::from_utf8_lossy(&std::fs::read(t.path()).unwrap()).into_owned()
    }
}

#[test]
fn the_account_keeps_its_password_in_the_vault_and_checks_its_fields() {
    let mut t = TestStore::new();
    assert!(t.kw.mail_account().unwrap().account.is_none());
    for (edit, what) in [
        (
            Box::new(|a: &mut MailAccount| a.from_email = "not an address".into())
                as Box<dyn Fn(&mut MailAccount)>,
            "sender",
        ),
        (
            Box::new(|a: &mut MailAccount| a.host = "smtp example.com".into()),
            "host",
        ),
        (
            Box::new(|a: &mut MailAccount| a.reply_to = Some("a@b@c".into())),
            "reply-to",
        ),
    ] {
        let mut a = account(587, None);
        edit(&mut a);
        let e =
            t.kw.set_mail_account(
                &SetMailAccount {
                    account: a,
                    password: None,
                },
                now(),
            )
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::BadInput, "{what}: {e}");
    }
    t.kw.set_mail_account(
        &SetMailAccount {
            account: account(587, None),
            password: Some(MailPassword::new(PASSWORD.into())),
        },
        now(),
    )
    .unwrap();
    let view = t.kw.mail_account().unwrap();
    assert!(view.password_saved);
    assert_eq!(view.account.unwrap().host, "127.0.0.1");
    assert_eq!(
        &t.vault.get(PASSWORD_ACCOUNT).unwrap()[..],
        PASSWORD.as_bytes()
    );
    assert!(!store_text(&t).contains(PASSWORD));
    // The view carries no password, and Debug of the input redacts it.
    let json = serde_json::to_string(&t.kw.mail_account().unwrap()).unwrap();
    assert!(!json.contains(PASSWORD));
    let input = SetMailAccount {
        account: account(587, None),
        password: Some(MailPassword::new(PASSWORD.into())),
    };
    assert!(!format!("{input:?}").contains(PASSWORD));
    // Saved again without a password: the one in the vault stays.
    t.kw.set_mail_account(
        &SetMailAccount {
            account: account(465, None),
            password: None,
        },
        now(),
    )
    .unwrap();
    assert!(t.kw.mail_account().unwrap().password_saved);
    t.kw.remove_mail_account(now()).unwrap();
    let view = t.kw.mail_account().unwrap();
    assert!(view.account.is_none() && !view.password_saved);
    assert!(t.kw.verify_audit().is_ok());
}

/// The keychain and the store change together: when the store refuses the account
/// (here its table is gone, behind Keywright's back), the keychain keeps the password
/// it had.
#[test]
fn a_store_that_refuses_the_account_leaves_the_keychain_as_it_was() {
    let mut t = TestStore::new();
    let set = |kw: &mut Keywright, password: &str| {
        kw.set_mail_account(
            &SetMailAccount {
                account: account(587, None),
                password: Some(MailPassword::new(password.into())),
            },
            now(),
        )
    };
    set(&mut t.kw, PASSWORD).unwrap();
    common::Raw::of(&t.kw).execute_batch("DROP TABLE mail_settings");
    let e = set(&mut t.kw, "another password").unwrap_err();
    assert!(e.message.contains("mail_settings"), "{e}");
    assert_eq!(
        &t.vault.get(PASSWORD_ACCOUNT).unwrap()[..],
        PASSWORD.as_bytes(),
        "the earlier password is back"
    );
    // A removal refused the same way puts it back too.
    let e = set(&mut t.kw, "").unwrap_err();
    assert!(e.message.contains("mail_settings"), "{e}");
    assert_eq!(
        &t.vault.get(PASSWORD_ACCOUNT).unwrap()[..],
        PASSWORD.as_bytes()
    );
}

#[test]
fn templates_render_for_a_license_and_refuse_unknown_placeholders() {
    let mut t = TestStore::new();
    t.key("k");
    let product = t.product("Zapper");
    let policy = t.policy(&product, "Yearly", Some("1y"));
    let license =
        t.kw.issue_license(
            &IssueLicense {
                policy_id: policy.id.clone(),
                customer_name: Some("Zoë".into()),
                customer_email: Some("zoe@example.com".into()),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    assert_eq!(
        t.kw.mail_template(&product.id).unwrap(),
        MailTemplate::default()
    );
    let bad = MailTemplate {
        subject: "Hi".into(),
        body: "{{licence_key}}".into(),
    };
    let e =
        t.kw.set_mail_template(&product.id, Some(&bad), now())
            .unwrap_err();
    assert_eq!(e.code, ErrorCode::TemplateInvalid);
    let mine = MailTemplate {
        subject: "{{product}} for {{customer_name}}".into(),
        body: "Key: {{key}}\nPolicy: {{policy}}, expires {{expiry}}".into(),
    };
    t.kw.set_mail_template(&product.id, Some(&mine), now())
        .unwrap();
    assert_eq!(t.kw.mail_template(&product.id).unwrap(), mine);
    let preview = t.kw.preview_mail(&mine, Some(&license.id)).unwrap();
    assert_eq!(preview.subject, "Zapper for Zoë");
    assert_eq!(
        preview.body,
        format!(
            "Key: {}\nPolicy: Yearly, expires {}",
            license.key,
            license.expiry.clone().unwrap()
        )
    );
    let sample = t.kw.preview_mail(&mine, None).unwrap();
    assert_eq!(sample.subject, "Analytical Engine for Ada Lovelace");
    t.kw.set_mail_template(&product.id, None, now()).unwrap();
    assert_eq!(
        t.kw.mail_template(&product.id).unwrap(),
        MailTemplate::default()
    );
    let actions: Vec<String> =
        t.kw.audit_events()
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .filter(|a| a.starts_with("mail."))
            .collect();
    assert_eq!(actions, ["mail.template", "mail.template"]);
    assert!(t.kw.verify_audit().is_ok());
}

#[test]
fn a_draft_is_an_eml_with_the_license_file_attached() {
    let mut t = TestStore::new();
    let key = t.key("k");
    let product = t.product("Zapper");
    let policy = t.policy(&product, "Yearly", Some("1y"));
    let license =
        t.kw.issue_license(
            &IssueLicense {
                policy_id: policy.id.clone(),
                customer_name: Some("Ada Łovelace".into()),
                customer_email: Some("ada@example.com".into()),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    let path = t.file("ada.eml");
    let written =
        t.kw.write_license_email_draft(
            &LicenseEmailDraft {
                license_id: license.id.clone(),
                path: path.display().to_string(),
            },
            now(),
        )
        .unwrap();
    let raw = std::fs::read_to_string(&path).unwrap();
    assert_eq!(written.bytes as usize, raw.len());
    let head = raw.split("\r\n\r\n").next().unwrap();
    assert!(head.contains("\r\nX-Unsent: 1"), "{head}");
    assert!(
        !head.starts_with("From:") && !head.contains("\r\nFrom:"),
        "{head}"
    );
    assert!(head.contains("To: =?utf-8?b?"), "{head}");
    // Python's email package reads it; the attachment verifies.
    let script = r#"
import email, email.policy, sys, json, base64
m = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=email.policy.default)
a = [p for p in m.iter_attachments()]
print(json.dumps({'to': str(m['To']), 'defects': len(m.defects),
  'body': m.get_body(preferencelist=('plain',)).get_content(),
  'files': [(p.get_filename(), p.get_content().decode()) for p in a]}))
"#;
    let out = Command::new("python3")
        .args(["-c", script, path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(parsed["to"], "Ada Łovelace <ada@example.com>");
    assert_eq!(parsed["defects"], 0);
    assert!(parsed["body"].as_str().unwrap().contains(&license.key));
    let file = parsed["files"][0][1].as_str().unwrap();
    let public = PublicKey::from_hex(&key.public_key_hex).unwrap();
    let check = Verifier::pinned(
        &public,
        keywright_license::FileAlgorithm::Base64Ed25519,
        now(),
    )
    .verify(file);
    assert_eq!(check.code, ValidationCode::Valid);
    // Audited as an export.
    let events =
        t.kw.list_audit(&audit::AuditQuery {
            subject_id: Some(license.id.clone()),
            ..Default::default()
        })
        .unwrap();
    assert!(events
        .iter()
        .any(|e| e.action == "license_file.sign" && e.detail.contains("\"via\":\"draft\"")));
}

#[test]
fn a_batch_send_records_each_order_once_on_either_engine() {
    let mut t = TestStore::new();
    t.key("k");
    let product = t.product("Zapper");
    t.policy(&product, "Yearly", Some("1y"));
    let csv = "name,email,policy,quantity,order id\n\
        Ada,ada@example.com,Yearly,1,O-1\n\
        Bob,bob@example.com,Yearly,2,O-2\n\
        Nobody,,Yearly,1,O-3\n";
    t.kw.issue_batch(
        csv.as_bytes(),
        &batch::BatchOptions::default(),
        now(),
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    let (smtp, cert) = server(t.dir.path());
    t.kw.set_mail_account(
        &SetMailAccount {
            account: account(smtp.1, Some(cert)),
            password: Some(MailPassword::new(PASSWORD.into())),
        },
        now(),
    )
    .unwrap();
    let retry = RetryPolicy {
        retries: 1,
        first_delay: Duration::from_millis(10),
    };
    let mut seen = Vec::new();
    let first =
        t.kw.send_batch_emails(
            csv.as_bytes(),
            &retry,
            now(),
            &AtomicBool::new(false),
            &mut |p| seen.push(p.done),
        )
        .unwrap();
    assert_eq!(seen, [1, 2, 3]);
    let status: Vec<MailSendStatus> = first.results.iter().map(|r| r.status).collect();
    assert_eq!(
        status,
        [
            MailSendStatus::Sent,
            MailSendStatus::Sent,
            MailSendStatus::Skipped
        ]
    );
    let again =
        t.kw.send_batch_emails(
            csv.as_bytes(),
            &retry,
            now(),
            &AtomicBool::new(false),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(again.sent, 0);
    assert_eq!(again.results[0].status, MailSendStatus::AlreadySent);
    assert_eq!(again.results[1].status, MailSendStatus::AlreadySent);
    // Cancelled before the first order: nothing is looked at.
    let cancelled =
        t.kw.send_batch_emails(
            csv.as_bytes(),
            &retry,
            now(),
            &AtomicBool::new(true),
            &mut |_| {},
        )
        .unwrap();
    assert!(cancelled.cancelled && cancelled.results.is_empty());
    let received = std::fs::read_dir(t.dir.path().join("received"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "eml")
        })
        .count();
    assert_eq!(received, 2);
    let db = Raw::of(&t.kw);
    let sent: i64 = db
        .db()
        .query_one(
            "SELECT count(*) FROM mail_sends WHERE state = 'sent'",
            &[],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(sent, 2);

    // A CSV naming Ada's order with another address sends her keys to no one.
    let hostile = "name,email,policy,quantity,order id\nMallory,mallory@example.com,Yearly,1,O-1\n";
    let out =
        t.kw.send_batch_emails(
            hostile.as_bytes(),
            &retry,
            now(),
            &AtomicBool::new(false),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(out.results[0].status, MailSendStatus::Skipped);
    assert!(
        out.results[0]
            .message
            .as_deref()
            .unwrap()
            .contains("ada@example.com"),
        "{:?}",
        out.results[0]
    );
    let received = std::fs::read_dir(t.dir.path().join("received"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "eml")
        })
        .count();
    assert_eq!(received, 2);
    assert!(t.kw.verify_audit().is_ok());
}
