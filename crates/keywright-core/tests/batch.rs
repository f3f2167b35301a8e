//! Batch issuance from CSV over a real SQLite file with an in-memory vault that counts
//! its reads: malformed files, encodings, per-row errors with line numbers, 10,000
//! rows, cancel and re-run, all-or-nothing, license files and email drafts.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use keywright_core::audit::{AuditEvent, AuditQuery};
use keywright_core::batch::{BatchOptions, BatchOutcome, BatchProgress};
use keywright_core::*;
use keywright_license::{
    verify_key, FileAlgorithm, KeyDataset, PublicKey, Scheme, ValidationCode, Verifier,
};

use common::now;

/// The memory vault, counting how often a private key is read.
struct CountingVault {
    inner: Arc<MemoryVault>,
    gets: Arc<AtomicUsize>,
}

impl Vault for CountingVault {
    fn put(&self, account: &str, secret: &[u8]) -> keywright_core::Result<()> {
        self.inner.put(account, secret)
    }
    fn get(&self, account: &str) -> keywright_core::Result<zeroize::Zeroizing<Vec<u8>>> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        self.inner.get(account)
    }
    fn remove(&self, account: &str) -> keywright_core::Result<()> {
        self.inner.remove(account)
    }
    fn service(&self) -> &str {
        "memory"
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    kw: Keywright,
    gets: Arc<AtomicUsize>,
    public: PublicKey,
    product: Product,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open_store(&dir.path().join("store.db"));
    let gets = Arc::new(AtomicUsize::new(0));
    let vault = CountingVault {
        inner: Arc::default(),
        gets: gets.clone(),
    };
    let mut kw = Keywright::with_vault(store, Box::new(vault), "tester");
    let key = kw
        .create_signing_key(
            &NewSigningKey {
                name: "Main".into(),
                algorithm: KeyAlgorithm::Ed25519,
            },
            now(),
        )
        .unwrap();
    let product = kw
        .create_product(
            &NewProduct {
                name: "Zapper Pro".into(),
                code: Some("ZAP".into()),
                support_message: Some("Write to support@zapper.example".into()),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    for (name, encrypt) in [("Yearly", true), ("Perpetual", false)] {
        kw.create_policy(
            &NewPolicy {
                product_id: product.id.clone(),
                name: name.into(),
                duration: (name == "Yearly").then(|| "1y".into()),
                encrypt,
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    }
    // A second product with a single policy, named like one of the first's.
    let solo = kw
        .create_product(
            &NewProduct {
                name: "Solo".into(),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    kw.create_policy(
        &NewPolicy {
            product_id: solo.id.clone(),
            name: "Yearly".into(),
            duration: Some("1y".into()),
            ..Default::default()
        },
        now(),
    )
    .unwrap();
    gets.store(0, Ordering::SeqCst);
    Fixture {
        dir,
        kw,
        gets,
        public: PublicKey::from_hex(&key.public_key_hex).unwrap(),
        product,
    }
}

fn count(kw: &Keywright, sql: &str) -> i64 {
    common::Raw::of(kw).value(sql)
}

fn issue(f: &mut Fixture, csv: &[u8], options: &BatchOptions) -> BatchOutcome {
    f.kw.issue_batch(csv, options, now(), &mut |_| {}, &AtomicBool::new(false))
        .unwrap()
}

fn errors_of(preview: &batch::BatchPreview, line: u64) -> Vec<String> {
    preview
        .rows
        .iter()
        .find(|r| r.line == line)
        .unwrap_or_else(|| panic!("no row on line {line}"))
        .errors
        .clone()
}

#[test]
fn preview_names_every_bad_row_by_line_and_writes_nothing() {
    let f = fixture();
    let audit_before = count(&f.kw, "SELECT count(*) FROM audit_events");
    let csv = "\u{feff}Customer Name, EMAIL ,Company,Policy,Product,Qty,Order ID,Reseller\n\
        Ada,ada@example.com,Analytical Ltd,Perpetual,ZAP,2,A-1,North\n\
        Bob,bob@example.com,,Nope,ZAP,1,A-2,\n\
        Cy,not-an-email,,Perpetual,ZAP,1,A-3,\n\
        Di,di@example.com,,Perpetual,ZAP,0,A-4,\n\
        Ed,ed@example.com,,Perpetual,ZAP,abc,A-5,\n\
        Fay,fay@example.com,,Perpetual,ZAP,5000,A-6,\n\
        Gus,gus@example.com,,Perpetual,ZAP,1\n\
        Ada,ada@example.com,Analytical Ltd,Perpetual,ZAP,2,A-1,North\n\
        Hal,hal@example.com,,Perpetual,ZAP,1,A-7,\n\
        Hal,hal@example.com,,Perpetual,ZAP,3,A-7,\n\
        Ivy,ivy@example.com,,,ZAP,1,A-8,\n\
        Jo,jo@example.com,,,Solo,1,A-9,\n\
        Kim,kim@example.com,,Yearly,,1,A-10,\n\
        Lu,lu@example.com,,Yearly,Solo,1,,\n\
        \n\
        Max,max@example.com,,Yearly,Solo,1,A-11,\"South, East\"\n";
    let p = f.kw.preview_batch(csv.as_bytes()).unwrap();
    assert_eq!(p.metadata_columns, vec!["Reseller".to_owned()]);

    let a1 = &p.rows[0];
    assert_eq!((a1.line, a1.quantity, a1.to_issue), (2, 2, 2));
    assert!(a1.errors.is_empty(), "{:?}", a1.errors);
    assert_eq!(a1.customer_company.as_deref(), Some("Analytical Ltd"));
    assert_eq!(
        a1.metadata.get("Reseller").map(String::as_str),
        Some("North")
    );
    assert_eq!(a1.product_name.as_deref(), Some("Zapper Pro"));

    assert_eq!(
        errors_of(&p, 3),
        vec!["unknown policy \"Nope\" for product \"Zapper Pro\""]
    );
    assert!(errors_of(&p, 4)[0].contains("not an email address"));
    for line in [5, 6, 7] {
        assert!(
            errors_of(&p, line)[0].contains("not a whole number from 1 to 1000"),
            "line {line}: {:?}",
            errors_of(&p, line)
        );
    }
    assert_eq!(errors_of(&p, 8), vec!["has 6 fields; the header has 8"]);
    // An identical repeat counts once; a conflicting one marks both rows bad.
    let repeat = p.rows.iter().find(|r| r.line == 9).unwrap();
    assert!(repeat.errors.is_empty());
    assert!(repeat.note.as_deref().unwrap().contains("repeats line 2"));
    assert_eq!(repeat.to_issue, 0);
    assert!(errors_of(&p, 10)[0].contains("also on line 11"));
    assert!(errors_of(&p, 11)[0].contains("also on line 10"));
    // Product only: ambiguous for a product with two policies, fine with one.
    assert!(errors_of(&p, 12)[0].contains("has 2 policies (Perpetual, Yearly)"));
    assert!(errors_of(&p, 13).is_empty());
    // A policy name two products use needs the product.
    assert!(errors_of(&p, 14)[0].contains("2 policies are named \"Yearly\""));
    assert_eq!(errors_of(&p, 15), vec!["order id is empty"]);
    // The blank line 16 is skipped; quoted commas stay in their field.
    let max = p
        .rows
        .iter()
        .find(|r| r.line == 17)
        .unwrap_or_else(|| panic!("{:?}", p.rows.iter().map(|r| r.line).collect::<Vec<_>>()));
    assert!(max.errors.is_empty(), "{:?}", max.errors);
    assert_eq!(max.metadata["Reseller"], "South, East");

    assert_eq!(p.bad_rows, 11);
    assert_eq!(p.to_issue, 2 + 1 + 1);
    // A preview writes nothing.
    assert_eq!(count(&f.kw, "SELECT count(*) FROM licenses"), 0);
    assert_eq!(
        count(&f.kw, "SELECT count(*) FROM audit_events"),
        audit_before
    );
    assert_eq!(f.gets.load(Ordering::SeqCst), 0);
}

#[test]
fn unreadable_files_are_refused_with_the_line_and_the_reason() {
    let f = fixture();
    let bad = |csv: &[u8]| f.kw.preview_batch(csv).unwrap_err();

    let e =
        bad(b"name,policy,order id\nAda,Perpetual,A-1\n\"Bob,Perpetual,A-2\nCy,Perpetual,A-3\n");
    assert_eq!(e.code, ErrorCode::BadInput);
    assert!(
        e.message.starts_with("line 3:") && e.message.contains("never closed"),
        "{}",
        e.message
    );

    let e = bad(b"name,policy,order id\n\"Ada\"x,Perpetual,A-1\n");
    assert!(e.message.starts_with("line 2:"), "{}", e.message);

    // Latin-1 (what Excel writes as "CSV" on many systems): é is byte 0xE9.
    let e = bad(b"name,policy,order id\nAda,Perpetual,A-1\nJos\xE9,Perpetual,A-2\n");
    assert!(
        e.message.contains("line 3")
            && e.message.contains("not UTF-8")
            && e.message.contains("Latin-1"),
        "{}",
        e.message
    );

    // UTF-16 with a byte-order mark, and without one.
    let utf16: Vec<u8> = "name,policy,order id\nAda,Perpetual,A-1\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let mut with_bom = vec![0xFF, 0xFE];
    with_bom.extend(&utf16);
    let e = bad(&with_bom);
    assert!(
        e.message.contains("UTF-16") && e.message.contains("byte-order mark"),
        "{}",
        e.message
    );
    let e = bad(&utf16);
    assert!(
        e.message.contains("UTF-16") && e.message.contains("line 1"),
        "{}",
        e.message
    );

    let e = bad(b"name,email,policy\nAda,ada@example.com,Perpetual\n");
    assert!(e.message.contains("no order id column"), "{}", e.message);
    let e = bad(b"name,order id\nAda,A-1\n");
    assert!(
        e.message.contains("neither a policy nor a product"),
        "{}",
        e.message
    );
    let e = bad(b"email,E-mail,policy,order\n");
    assert!(e.message.contains("both hold the email"), "{}", e.message);
    let e = bad(b"");
    assert!(e.message.contains("empty"), "{}", e.message);
}

fn rows(n: usize, prefix: &str) -> String {
    let mut csv = String::from("name,email,company,policy,product,quantity,order id,seat\n");
    for i in 0..n {
        csv.push_str(&format!(
            "Buyer {i},buyer{i}@example.com,Co {},Yearly,ZAP,1,{prefix}-{i},{}\n",
            i % 7,
            i % 3
        ));
    }
    csv
}

#[test]
fn ten_thousand_rows_issue_once_with_one_keychain_read_and_an_intact_chain() {
    let mut f = fixture();
    let csv = rows(10_000, "BIG");
    let audit_before = count(&f.kw, "SELECT count(*) FROM audit_events");
    let mut reports: Vec<BatchProgress> = Vec::new();
    let out =
        f.kw.issue_batch(
            csv.as_bytes(),
            &BatchOptions::default(),
            now(),
            &mut |p| reports.push(p),
            &AtomicBool::new(false),
        )
        .unwrap();
    assert_eq!(out.issued.len(), 10_000, "{}", out.message);
    assert!(!out.cancelled && !out.refused);
    assert_eq!(
        f.gets.load(Ordering::SeqCst),
        1,
        "the keychain is read once per batch"
    );
    assert_eq!(count(&f.kw, "SELECT count(*) FROM licenses"), 10_000);
    assert_eq!(
        count(
            &f.kw,
            "SELECT count(DISTINCT order_id) FROM licenses WHERE order_seq = 1"
        ),
        10_000
    );
    assert_eq!(
        count(
            &f.kw,
            "SELECT count(*) FROM customers WHERE company IS NOT NULL"
        ),
        10_000
    );
    // One audit row per transaction of 500, each committing to its licenses and
    // customers; every license names its row, and the chain holds.
    assert_eq!(
        count(&f.kw, "SELECT count(*) FROM audit_events") - audit_before,
        20,
        "one license.batch_issue row per chunk"
    );
    assert_eq!(
        count(
            &f.kw,
            "SELECT count(*) FROM licenses l JOIN audit_events a ON a.seq = l.proof_seq
             WHERE a.action = 'license.batch_issue' AND l.proof_leaf IS NOT NULL"
        ),
        10_000
    );
    assert_eq!(
        count(
            &f.kw,
            "SELECT count(*) FROM customers c JOIN audit_events a ON a.seq = c.proof_seq
             WHERE a.action = 'license.batch_issue'"
        ),
        10_000
    );
    assert!(f.kw.check_audit().unwrap().intact);
    // Chunks of 500: progress after each, ending at the total.
    assert_eq!(
        reports.first().map(|p| (p.done, p.total)),
        Some((0, 10_000))
    );
    assert_eq!(
        reports.last().map(|p| (p.done, p.total)),
        Some((10_000, 10_000))
    );
    assert_eq!(reports.len(), 21);

    // Every key verifies with the product's public key and names its customer.
    let mut seen = HashSet::new();
    for issued in &out.issued {
        let dataset = verify_key(&issued.key, &f.public, Scheme::Ed25519Sign).unwrap();
        let dataset = KeyDataset::from_json(&dataset).unwrap();
        assert_eq!(dataset.license.id, issued.license_id);
        let i: usize = issued.order_id["BIG-".len()..].parse().unwrap();
        assert_eq!(dataset.user.unwrap().email, format!("buyer{i}@example.com"));
        assert!(seen.insert(issued.license_id.clone()));
    }
    let l = f.kw.find_license(&out.issued[42].key).unwrap();
    assert_eq!(l.product_id, f.product.id);
    assert!(l.expiry.is_some());

    // Running the same file again issues nothing.
    let again = issue(&mut f, csv.as_bytes(), &BatchOptions::default());
    assert_eq!(again.issued.len(), 0);
    assert_eq!(again.already_issued, 10_000);
    assert_eq!(count(&f.kw, "SELECT count(*) FROM licenses"), 10_000);
}

#[test]
fn a_cancelled_batch_resumes_with_exactly_the_missing_licenses() {
    let mut f = fixture();
    let mut csv = rows(2_400, "C");
    csv.push_str("Quinn,quinn@example.com,,Perpetual,ZAP,7,C-multi,\n");
    let cancel = AtomicBool::new(false);
    let first =
        f.kw.issue_batch(
            csv.as_bytes(),
            &BatchOptions::default(),
            now(),
            &mut |p| {
                if p.done * 2 >= p.total && p.done > 0 {
                    cancel.store(true, Ordering::SeqCst);
                }
            },
            &cancel,
        )
        .unwrap();
    assert!(first.cancelled, "{}", first.message);
    assert_eq!(
        first.issued.len(),
        1_500,
        "three chunks of 500 passed half of 2,407"
    );
    assert_eq!(count(&f.kw, "SELECT count(*) FROM licenses"), 1_500);
    assert!(f.kw.check_audit().unwrap().intact);

    let preview = f.kw.preview_batch(csv.as_bytes()).unwrap();
    assert_eq!(preview.to_issue, 907);
    assert_eq!(preview.already_issued, 1_500);

    let second = issue(&mut f, csv.as_bytes(), &BatchOptions::default());
    assert!(!second.cancelled);
    assert_eq!(second.issued.len(), 907);
    assert_eq!(second.already_issued, 1_500);
    let first_ids: HashSet<_> = first.issued.iter().map(|i| (&i.order_id, i.seq)).collect();
    assert!(second
        .issued
        .iter()
        .all(|i| !first_ids.contains(&(&i.order_id, i.seq))));
    assert_eq!(count(&f.kw, "SELECT count(*) FROM licenses"), 2_407);
    assert_eq!(
        count(
            &f.kw,
            "SELECT count(*) FROM (SELECT DISTINCT order_id, order_seq FROM licenses) AS d"
        ),
        2_407
    );
    assert_eq!(
        count(
            &f.kw,
            "SELECT max(order_seq) FROM licenses WHERE order_id = 'C-multi'"
        ),
        7
    );
    // The customers of the first run were reused, not duplicated.
    assert_eq!(count(&f.kw, "SELECT count(*) FROM customers"), 2_401);
    assert!(f.kw.check_audit().unwrap().intact);
    assert_eq!(
        issue(&mut f, csv.as_bytes(), &BatchOptions::default())
            .issued
            .len(),
        0
    );
}

#[test]
fn all_or_nothing_writes_nothing_when_one_row_is_bad() {
    let mut f = fixture();
    let csv = "name,email,policy,product,quantity,order id\n\
        Ada,ada@example.com,Perpetual,ZAP,2,A-1\n\
        Bob,bob@example.com,Perpetual,ZAP,-1,A-2\n\
        Cy,cy@example.com,Perpetual,ZAP,1,A-3\n";
    let audit_before = count(&f.kw, "SELECT count(*) FROM audit_events");
    let out = issue(
        &mut f,
        csv.as_bytes(),
        &BatchOptions {
            all_or_nothing: true,
            ..Default::default()
        },
    );
    assert!(out.refused);
    assert!(out.issued.is_empty());
    assert_eq!(out.preview.bad_rows, 1);
    assert_eq!(count(&f.kw, "SELECT count(*) FROM licenses"), 0);
    assert_eq!(count(&f.kw, "SELECT count(*) FROM customers"), 0);
    assert_eq!(
        count(&f.kw, "SELECT count(*) FROM audit_events"),
        audit_before
    );

    // Without it the good rows are issued and the bad one is reported.
    let out = issue(&mut f, csv.as_bytes(), &BatchOptions::default());
    assert_eq!(out.issued.len(), 3);
    assert_eq!(out.preview.bad_rows, 1);
    assert!(
        out.message.contains("1 bad rows skipped"),
        "{}",
        out.message
    );
}

#[test]
fn an_order_already_issued_differently_is_refused() {
    let mut f = fixture();
    let out = issue(
        &mut f,
        b"email,policy,product,order id\nada@example.com,Perpetual,ZAP,A-1\n",
        &BatchOptions::default(),
    );
    assert_eq!(out.issued.len(), 1);
    let p =
        f.kw.preview_batch(
            b"email,policy,product,order id,quantity\n\
              ada@example.com,Yearly,ZAP,A-1,1\n\
              bob@example.com,Perpetual,ZAP,A-1,1\n",
        )
        .unwrap();
    assert!(errors_of(&p, 2)
        .iter()
        .any(|e| e.contains("already issued under policy \"Perpetual\", not \"Yearly\"")));
    assert!(errors_of(&p, 3)
        .iter()
        .any(|e| e.contains("already issued to ada@example.com")));
    // More licenses than the row now orders.
    let out = issue(
        &mut f,
        b"email,policy,product,order id,quantity\nbo@example.com,Perpetual,ZAP,B-1,3\n",
        &BatchOptions::default(),
    );
    assert_eq!(out.issued.len(), 3);
    let p =
        f.kw.preview_batch(
            b"email,policy,product,order id,quantity\nbo@example.com,Perpetual,ZAP,B-1,2\n",
        )
        .unwrap();
    assert!(errors_of(&p, 2)[0].contains("already has license #3"));
}

#[test]
fn license_files_verify_and_email_drafts_parse() {
    let mut f = fixture();
    let out_dir = f.dir.path().join("out");
    let csv = "name,email,company,policy,product,quantity,order id,Reseller\n\
        Ada Lovelace,ada@example.com,Analytical Ltd,Yearly,ZAP,2,A-1,North\n\
        Zoë Ünal,zoe@example.com,,Perpetual,ZAP,1,A/2,\n\
        Ada Lovelace,ada@example.com,Analytical Ltd,Perpetual,ZAP,1,A-3,\n\
        ,,,Perpetual,ZAP,1,A-4,\n";
    let options = BatchOptions {
        out_dir: Some(out_dir.display().to_string()),
        ..Default::default()
    };
    let out = issue(&mut f, csv.as_bytes(), &options);
    assert_eq!(out.issued.len(), 5, "{}", out.message);
    assert_eq!(out.license_files, 5);
    assert_eq!(out.email_drafts, 2, "one per customer email");
    assert_eq!(
        count(
            &f.kw,
            "SELECT count(*) FROM audit_events WHERE action = 'license_file.sign'"
        ),
        5
    );
    assert!(f.kw.check_audit().unwrap().intact);

    for issued in &out.issued {
        let license = f.kw.find_license(&issued.license_id).unwrap();
        let policy = f.kw.find_policy(&license.policy_id).unwrap();
        let name = if issued.order_id == "A/2" {
            let entries: Vec<_> = std::fs::read_dir(&out_dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter(|n| n.starts_with("A_2-") && n.ends_with("-1.lic"))
                .collect();
            assert_eq!(entries.len(), 1, "{entries:?}");
            entries[0].clone()
        } else {
            format!("{}-{}.lic", issued.order_id, issued.seq)
        };
        let text = std::fs::read_to_string(out_dir.join(&name)).unwrap();
        let alg = if policy.encrypt {
            FileAlgorithm::Aes256GcmEd25519
        } else {
            FileAlgorithm::Base64Ed25519
        };
        let check = Verifier::pinned(&f.public, alg, now())
            .license_key(&issued.key)
            .verify(&text);
        assert_eq!(check.code, ValidationCode::Valid, "{name}");
        let payload = String::from_utf8(check.file.unwrap().payload).unwrap();
        assert!(payload.contains(&issued.key));
        if issued.order_id == "A-1" {
            assert!(payload.contains("\"Reseller\":\"North\""), "{payload}");
        }
    }

    // Python's email package reads each draft: To, Subject, the keys in the body, and
    // the attached files byte for byte.
    let script = r#"
import email, email.policy, sys, json, pathlib
out = {}
for p in sorted(pathlib.Path(sys.argv[1]).glob('*.eml')):
    m = email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
    body = m.get_body(preferencelist=('plain',)).get_content()
    atts = {a.get_filename(): a.get_content().decode() if isinstance(a.get_content(), bytes) else a.get_content() for a in m.iter_attachments()}
    out[str(m['To'])] = {'subject': str(m['Subject']), 'body': body, 'attachments': atts, 'defects': len(m.defects)}
print(json.dumps(out))
"#;
    let result = std::process::Command::new("python3")
        .args(["-c", script, out_dir.to_str().unwrap()])
        .output()
        .expect("python3 runs");
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let parsed: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
    let ada = &parsed["Ada Lovelace <ada@example.com>"];
    assert_eq!(ada["subject"], "Your license keys for Zapper Pro");
    assert_eq!(ada["defects"], 0);
    assert_eq!(ada["attachments"].as_object().unwrap().len(), 3);
    for issued in out
        .issued
        .iter()
        .filter(|i| i.order_id != "A/2" && i.order_id != "A-4")
    {
        assert!(ada["body"].as_str().unwrap().contains(&issued.key));
        let file = format!("{}-{}.lic", issued.order_id, issued.seq);
        assert_eq!(
            ada["attachments"][&file].as_str().unwrap(),
            std::fs::read_to_string(out_dir.join(&file)).unwrap()
        );
    }
    assert!(ada["body"]
        .as_str()
        .unwrap()
        .contains("Write to support@zapper.example"));
    let zoe = &parsed["Zoë Ünal <zoe@example.com>"];
    assert_eq!(zoe["subject"], "Your license key for Zapper Pro");
    assert!(zoe["body"].as_str().unwrap().starts_with("Hello Zoë Ünal,"));

    // A re-run issues nothing and keeps the files as they are.
    let before = std::fs::read(out_dir.join("A-1-1.lic")).unwrap();
    let again = issue(&mut f, csv.as_bytes(), &options);
    assert_eq!((again.issued.len(), again.license_files), (0, 0));
    assert_eq!(std::fs::read(out_dir.join("A-1-1.lic")).unwrap(), before);
    // A deleted file is written again on the next run.
    std::fs::remove_file(out_dir.join("A-3-1.lic")).unwrap();
    let again = issue(&mut f, csv.as_bytes(), &options);
    assert_eq!((again.issued.len(), again.license_files), (0, 1));
    assert!(out_dir.join("A-3-1.lic").exists());

    // A row naming someone else's order gets no draft with that order's keys.
    let other = "email,policy,product,order id\nmallory@example.com,Yearly,ZAP,A-1\n";
    let out = issue(&mut f, other.as_bytes(), &options);
    assert_eq!(out.preview.bad_rows, 1);
    assert_eq!(out.email_drafts, 0);
    let drafts: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    assert!(drafts.iter().all(|n| !n.contains("mallory")), "{drafts:?}");
}

#[test]
fn license_csv_export_follows_the_filter_and_defuses_formulas() {
    let mut f = fixture();
    let csv = "name,email,company,policy,product,order id,note\n\
        =HYPERLINK(\"http://x.example\"),eve@example.com,+Evil Corp,Perpetual,ZAP,-1,@SUM(A1)\n\
        Ada,ada@example.com,Analytical,Yearly,ZAP,A-2,plain\n";
    let out = issue(&mut f, csv.as_bytes(), &BatchOptions::default());
    assert_eq!(out.issued.len(), 2, "{}", out.message);
    f.kw.suspend_license(&out.issued[1].license_id, now())
        .unwrap();

    let path = f.dir.path().join("licenses.csv");
    let exported =
        f.kw.export_licenses_csv(
            &LicenseQuery {
                status: Some(LicenseStatus::Active),
                ..Default::default()
            },
            path.to_str().unwrap(),
            now(),
        )
        .unwrap();
    assert_eq!(exported.algorithm, "csv");
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let header = reader.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "only the active license");
    let cell = |name: &str| rows[0][header.iter().position(|h| h == name).unwrap()].to_owned();
    assert_eq!(cell("customer_name"), "'=HYPERLINK(\"http://x.example\")");
    assert_eq!(cell("customer_company"), "'+Evil Corp");
    assert_eq!(cell("order_id"), "'-1");
    assert_eq!(cell("order_seq"), "1");
    assert_eq!(cell("key"), out.issued[0].key);
    assert!(cell("metadata").contains("@SUM(A1)"));
    assert_eq!(defuse_cell("key/abc"), "key/abc");

    let all = f.dir.path().join("all.csv");
    f.kw.export_licenses_csv(&LicenseQuery::default(), all.to_str().unwrap(), now())
        .unwrap();
    assert_eq!(csv::Reader::from_path(&all).unwrap().records().count(), 2);
    let last = f.kw.list_audit(&Default::default()).unwrap();
    assert_eq!(last[0].action, "license.export");
    assert_eq!(
        last[0].artifact_sha256.as_deref(),
        Some(exported_sha(&all).as_str())
    );
    assert!(f.kw.check_audit().unwrap().intact);
}

fn exported_sha(path: &std::path::Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

#[test]
fn one_audit_row_per_transaction_proves_each_license_and_verify_sees_tampering() {
    let mut f = fixture();
    let out = issue(
        &mut f,
        rows(1_200, "PROOF").as_bytes(),
        &BatchOptions::default(),
    );
    assert_eq!(out.issued.len(), 1_200, "{}", out.message);
    // Three transactions (500, 500, 200): three rows, each naming its counts.
    let batch_rows: Vec<AuditEvent> =
        f.kw.audit_events()
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "license.batch_issue")
            .collect();
    assert_eq!(batch_rows.len(), 3);
    let detail: serde_json::Value = serde_json::from_str(&batch_rows[2].detail).unwrap();
    assert_eq!(detail["licenses"], 200, "{detail}");
    assert_eq!(detail["customers"], 200, "{detail}");
    assert_eq!(detail["leaves"], 400, "{detail}");
    assert_eq!(batch_rows[0].subject_type.as_deref(), Some("batch"));
    assert_eq!(
        batch_rows[0].subject_id, batch_rows[2].subject_id,
        "one run"
    );
    assert!(f.kw.check_audit().unwrap().intact);

    // The search indexes are filled once per transaction: every license is found by
    // its customer's email, name and a word's start, and by its key's end.
    let find = |kw: &Keywright, text: &str| -> Vec<String> {
        kw.search_licenses(
            &LicenseQuery {
                text: Some(text.into()),
                limit: Some(500),
                ..Default::default()
            },
            now(),
        )
        .unwrap()
        .items
        .into_iter()
        .map(|l| l.id)
        .collect()
    };
    for i in [0, 499, 500, 1_199] {
        let id = &out.issued[i].license_id;
        let key = &out.issued[i].key;
        assert_eq!(find(&f.kw, &format!("buyer{i}@example.com")), [id.as_str()]);
        assert!(find(&f.kw, &format!("Buyer {i}")).contains(id));
        assert_eq!(find(&f.kw, &key[key.len() - 10..]), [id.as_str()]);
    }
    assert_eq!(find(&f.kw, "bu").len(), 500, "a word's first letters");
    // And so are those of a copy of the store, which no batch wrote.
    let copy = f.dir.path().join("copy.db").display().to_string();
    // (From this test's store on either engine, into an SQLite file.)
    let source = f.dir.path().join("store.db");
    let source = if common::on_postgres() {
        common::postgres_database_for(&source)
    } else {
        source.display().to_string()
    };
    keywright_core::store::copy_store(
        &source,
        &copy,
        "tester",
        |_| Box::<MemoryVault>::default(),
        |_, _| {},
    )
    .unwrap();
    let copied = Keywright::with_vault(
        Store::open(std::path::Path::new(&copy)).unwrap(),
        Box::<MemoryVault>::default(),
        "tester",
    );
    for i in [3, 1_000] {
        assert_eq!(
            find(&copied, &format!("buyer{i}@example.com")),
            [out.issued[i].license_id.clone()]
        );
    }
    assert_eq!(find(&copied, "bu").len(), 500);

    // A license's history (the window's panel) shows the row that issued it, and
    // what happened to it afterwards.
    let license = &out.issued[700];
    f.kw.suspend_license(&license.license_id, now()).unwrap();
    let history =
        f.kw.list_audit(&AuditQuery {
            subject_id: Some(license.license_id.clone()),
            ..Default::default()
        })
        .unwrap();
    let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["license.suspend", "license.batch_issue"]);
    assert_eq!(history[1].seq, batch_rows[1].seq);
    // The customer's too.
    let customer = common::Raw::of(&f.kw).value::<String>(&format!(
        "SELECT customer_id FROM licenses WHERE id = '{}'",
        license.license_id
    ));
    let history =
        f.kw.list_audit(&AuditQuery {
            subject_id: Some(customer),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].seq, batch_rows[1].seq);
    assert!(
        f.kw.check_audit().unwrap().intact,
        "a later change is recorded"
    );

    let raw = common::Raw::of(&f.kw);
    let verify = |kw: &Keywright| kw.check_audit().unwrap();
    // A license edited behind Keywright's back, with no later row: its leaf no
    // longer matches.
    let untouched = &out.issued[10].license_id;
    raw.execute_batch(&format!(
        "UPDATE licenses SET expiry = '2099-01-01T00:00:00.000Z' WHERE id = '{untouched}'"
    ));
    let report = verify(&f.kw);
    assert!(!report.intact);
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains(untouched.as_str()) && p.contains("not what its batch")),
        "{:?}",
        report.problems
    );
    raw.execute_batch(&format!(
        "UPDATE licenses SET expiry = (SELECT expiry FROM licenses WHERE id = '{}') WHERE id = '{untouched}'",
        out.issued[11].license_id
    ));
    assert!(verify(&f.kw).intact, "{:?}", verify(&f.kw).problems);

    // Its proof edited to match the edit: the batch row's root no longer matches.
    let leaf: String = raw.value(&format!(
        "SELECT proof_leaf FROM licenses WHERE id = '{untouched}'"
    ));
    raw.execute_batch(&format!(
        "UPDATE licenses SET proof_leaf = '{}' WHERE id = '{untouched}'",
        leaf.replace('a', "b").replace('0', "1")
    ));
    let report = verify(&f.kw);
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("one of their proofs was edited")),
        "{:?}",
        report.problems
    );
    raw.execute_batch(&format!(
        "UPDATE licenses SET proof_leaf = '{leaf}' WHERE id = '{untouched}'"
    ));
    assert!(verify(&f.kw).intact);

    // Leaves moved out of their order: the row's leaves are not all in place.
    let pos: i64 = raw.value(&format!(
        "SELECT proof_pos FROM licenses WHERE id = '{untouched}'"
    ));
    raw.execute_batch(&format!(
        "UPDATE licenses SET proof_pos = 5000 WHERE id = '{untouched}'"
    ));
    assert!(!verify(&f.kw).intact);
    raw.execute_batch(&format!(
        "UPDATE licenses SET proof_pos = {pos} WHERE id = '{untouched}'"
    ));
    assert!(verify(&f.kw).intact, "{:?}", verify(&f.kw).problems);
    // A license deleted (with its customer's reference kept): the row committed to
    // more than the store holds.
    raw.execute_batch(&format!("DELETE FROM licenses WHERE id = '{untouched}'"));
    let report = verify(&f.kw);
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("committed to 1000")),
        "{:?}",
        report.problems
    );
}
