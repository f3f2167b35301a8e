//! The audit screen's reads: filtered pages, CSV export (itself audited), chain check.

mod common;

use keywright_core::audit::{AuditQuery, AuditVerification};
use keywright_core::*;

use common::at;

/// A store with a key, a product, a policy and three licenses: 3 + 3×2 + 2 = 11 rows.
fn store() -> (tempfile::TempDir, Keywright, Vec<License>) {
    let dir = tempfile::tempdir().unwrap();
    let s = common::open_store(&dir.path().join("store.db"));
    let mut kw = Keywright::with_vault(s, Box::<MemoryVault>::default(), "tester");
    let t = at("2026-11-01T09:00:00Z");
    kw.create_signing_key(
        &NewSigningKey {
            name: "Main".into(),
            algorithm: KeyAlgorithm::Ed25519,
        },
        t,
    )
    .unwrap();
    let product = kw
        .create_product(
            &NewProduct {
                name: "Zapper".into(),
                ..Default::default()
            },
            t,
        )
        .unwrap();
    let policy = kw
        .create_policy(
            &NewPolicy {
                product_id: product.id,
                name: "Yearly".into(),
                duration: Some("1y".into()),
                ..Default::default()
            },
            t,
        )
        .unwrap();
    let licenses: Vec<License> = (0..3)
        .map(|i| {
            kw.issue_license(
                &IssueLicense {
                    policy_id: policy.id.clone(),
                    customer_name: Some("Ada, \"the\" Countess of Lovelace".into()),
                    customer_email: Some(format!("ada{i}@example.com")),
                    ..Default::default()
                },
                at(&format!("2026-11-0{}T10:00:00Z", i + 2)),
            )
            .unwrap()
        })
        .collect();
    kw.suspend_license(&licenses[0].id, at("2026-11-06T10:00:00Z"))
        .unwrap();
    kw.revoke_license(&licenses[0].id, at("2026-11-07T10:00:00Z"))
        .unwrap();
    (dir, kw, licenses)
}

fn seqs(events: &[audit::AuditEvent]) -> Vec<i64> {
    events.iter().map(|e| e.seq).collect()
}

#[test]
fn lists_newest_first_with_filters_and_pages() {
    let (_dir, kw, licenses) = store();
    let all = kw.list_audit(&AuditQuery::default()).unwrap();
    assert_eq!(seqs(&all), (1..=11).rev().collect::<Vec<_>>());

    let q = |query: AuditQuery| kw.list_audit(&query).unwrap();
    let issued = q(AuditQuery {
        action: Some("license.issue".into()),
        ..Default::default()
    });
    assert_eq!(issued.len(), 3);
    assert!(issued.iter().all(|e| e.action == "license.issue"));
    // A family: license.issue, .suspend, .revoke, but not license_file.* or customer.*.
    let family = q(AuditQuery {
        action: Some("license.*".into()),
        ..Default::default()
    });
    assert_eq!(family.len(), 5);
    let about = q(AuditQuery {
        subject_id: Some(licenses[0].id.clone()),
        ..Default::default()
    });
    assert_eq!(
        about.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["license.revoke", "license.suspend", "license.issue"]
    );
    let window = q(AuditQuery {
        since: Some("2026-11-03".into()),
        until: Some("2026-11-06T10:00:00Z".into()),
        ..Default::default()
    });
    assert!(window
        .iter()
        .all(|e| e.at.as_str() >= "2026-11-03" && e.at.as_str() < "2026-11-06T10"));
    assert_eq!(window.len(), 4, "two licenses with a customer each");

    let first = q(AuditQuery {
        limit: Some(4),
        ..Default::default()
    });
    assert_eq!(seqs(&first), [11, 10, 9, 8]);
    let next = q(AuditQuery {
        limit: Some(4),
        before_seq: Some(8),
        ..Default::default()
    });
    assert_eq!(seqs(&next), [7, 6, 5, 4]);

    for bad in [
        AuditQuery {
            limit: Some(0),
            ..Default::default()
        },
        AuditQuery {
            limit: Some(1001),
            ..Default::default()
        },
        AuditQuery {
            since: Some("last tuesday".into()),
            ..Default::default()
        },
    ] {
        let err = kw.list_audit(&bad).unwrap_err();
        assert_eq!(err.code, ErrorCode::BadInput, "{bad:?}: {err}");
    }
}

#[test]
fn csv_export_round_trips_and_is_audited() {
    let (dir, mut kw, _) = store();
    let path = dir.path().join("audit.csv");
    let now = at("2026-11-08T10:00:00Z");
    let exported = kw
        .export_audit_csv(&path.display().to_string(), &AuditQuery::default(), now)
        .unwrap();
    assert_eq!(exported.algorithm, "csv");
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(exported.bytes, bytes.len() as u64);
    assert_eq!(exported.sha256, audit::sha256_hex(&bytes));

    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    assert_eq!(
        reader.headers().unwrap(),
        vec![
            "seq",
            "at",
            "actor",
            "action",
            "subject_type",
            "subject_id",
            "signing_key_kid",
            "artifact_sha256",
            "detail",
            "state",
            "prev_hash",
            "hash",
            "mac"
        ]
    );
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let stored = kw.audit_events().unwrap();
    // The 11 rows, oldest first, byte-exact (commas and quotes survive; customer names hold no line breaks since issue 12).
    assert_eq!(records.len(), 11);
    for (r, e) in records.iter().zip(&stored) {
        assert_eq!(r[0], e.seq.to_string());
        assert_eq!(&r[8], e.detail.as_str());
        assert_eq!(&r[9], e.state.as_deref().unwrap_or(""));
        assert_eq!(&r[11], e.hash.as_str());
        assert_eq!(&r[12], e.mac.as_deref().unwrap_or(""));
    }
    assert!(records[3][8].contains("\\\"the\\\" Countess of"));

    // The export is the 12th row, with the file's digest; the chain still verifies.
    let last = stored.last().unwrap();
    assert_eq!(last.seq, 12);
    assert_eq!(last.action, "audit.export");
    assert_eq!(
        last.artifact_sha256.as_deref(),
        Some(exported.sha256.as_str())
    );
    assert_eq!(kw.verify_audit().unwrap(), 12);

    // A filtered export holds only what matches.
    let only = dir.path().join("issues.csv");
    kw.export_audit_csv(
        &only.display().to_string(),
        &AuditQuery {
            action: Some("license.issue".into()),
            ..Default::default()
        },
        now,
    )
    .unwrap();
    let text = std::fs::read_to_string(&only).unwrap();
    assert_eq!(text.lines().count(), 4);

    // An unwritable place: nothing written, no audit row.
    let rows = kw.audit_events().unwrap().len();
    let err = kw
        .export_audit_csv(
            &dir.path()
                .join("no/such/folder/a.csv")
                .display()
                .to_string(),
            &AuditQuery::default(),
            now,
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Io, "{err}");
    let err = kw
        .export_audit_csv("  ", &AuditQuery::default(), now)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::BadInput);
    assert_eq!(kw.audit_events().unwrap().len(), rows);
}

#[test]
fn jsonl_export_holds_every_field_one_event_per_line() {
    let (dir, mut kw, _) = store();
    let path = dir.path().join("audit.jsonl");
    let now = at("2026-11-08T10:00:00Z");
    let exported = kw
        .export_audit_jsonl(&path.display().to_string(), &AuditQuery::default(), now)
        .unwrap();
    assert_eq!(exported.algorithm, "jsonl");
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(exported.sha256, audit::sha256_hex(&bytes));
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.ends_with('\n'));
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let stored = kw.audit_events().unwrap();
    // The 11 rows, oldest first, every stored field (newlines in details stay escaped
    // inside their line).
    assert_eq!(lines.len(), 11);
    for (line, e) in lines.iter().zip(&stored) {
        assert_eq!(line["seq"], e.seq);
        assert_eq!(line["at"], e.at.as_str());
        assert_eq!(line["action"], e.action.as_str());
        assert_eq!(line["detail"], e.detail.as_str());
        assert_eq!(line["prevHash"], e.prev_hash.as_str());
        assert_eq!(line["hash"], e.hash.as_str());
    }
    // Each row chains to the one before it in the file, as in the store.
    for pair in lines.windows(2) {
        assert_eq!(pair[1]["prevHash"], pair[0]["hash"]);
    }
    let last = stored.last().unwrap();
    assert_eq!(last.action, "audit.export");
    assert!(
        last.detail.contains("\"format\":\"jsonl\""),
        "{}",
        last.detail
    );
    assert_eq!(
        last.artifact_sha256.as_deref(),
        Some(exported.sha256.as_str())
    );
    assert_eq!(kw.verify_audit().unwrap(), 12);

    let only = dir.path().join("issues.jsonl");
    kw.export_audit_jsonl(
        &only.display().to_string(),
        &AuditQuery {
            action: Some("license.issue".into()),
            ..Default::default()
        },
        now,
    )
    .unwrap();
    assert_eq!(std::fs::read_to_string(&only).unwrap().lines().count(), 3);
    let err = kw
        .export_audit_jsonl(" ", &AuditQuery::default(), now)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::BadInput);
}

#[test]
fn check_reports_the_broken_row_instead_of_failing() {
    let (_dir, kw, _) = store();
    let ok: AuditVerification = kw.check_audit().unwrap();
    assert!(ok.intact);
    assert_eq!(ok.rows, 11);
    assert_eq!(ok.broken_at, None);

    common::Raw::of(&kw).execute("UPDATE audit_events SET detail = '{}' WHERE seq = 7", &[]);
    let broken = kw.check_audit().unwrap();
    assert!(!broken.intact);
    assert_eq!(broken.broken_at, Some(7));
    assert!(broken.message.contains("row 7"), "{}", broken.message);
    assert_eq!(
        kw.verify_audit().unwrap_err().code,
        ErrorCode::AuditTampered
    );
}

/// The person filter: who acted, as the log records it; the names it offers.
#[test]
fn filters_by_who_acted_and_lists_the_people() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let vault = std::sync::Arc::new(MemoryVault::default());
    let mut ada = Keywright::with_vault(common::open_store(&path), Box::new(vault.clone()), "ada");
    let t = at("2026-11-01T09:00:00Z");
    ada.create_signing_key(
        &NewSigningKey {
            name: "Main".into(),
            algorithm: KeyAlgorithm::Ed25519,
        },
        t,
    )
    .unwrap();
    let product = ada
        .create_product(
            &NewProduct {
                name: "Zapper".into(),
                ..Default::default()
            },
            t,
        )
        .unwrap();
    // A second person on the same store (the same keychain).
    let mut sam = Keywright::with_vault(common::open_store(&path), Box::new(vault), "sam");
    let policy = sam
        .create_policy(
            &NewPolicy {
                product_id: product.id,
                name: "Yearly".into(),
                duration: Some("1y".into()),
                ..Default::default()
            },
            at("2026-11-02T09:00:00Z"),
        )
        .unwrap();
    sam.issue_license(
        &IssueLicense {
            policy_id: policy.id,
            ..Default::default()
        },
        at("2026-11-03T09:00:00Z"),
    )
    .unwrap();

    let by = |who: &str| {
        sam.list_audit(&AuditQuery {
            actor: Some(who.into()),
            ..Default::default()
        })
        .unwrap()
    };
    let ada_did = by("ada");
    assert!(!ada_did.is_empty());
    assert!(ada_did.iter().all(|e| e.actor == "ada"));
    assert!(ada_did.iter().any(|e| e.action == "product.create"));
    let sam_did = by("sam");
    assert_eq!(
        sam_did
            .iter()
            .map(|e| e.action.as_str())
            .collect::<Vec<_>>(),
        ["license.issue", "policy.create"]
    );
    assert!(by("nobody").is_empty());
    // With another filter: both hold.
    let issued_by_ada = sam
        .list_audit(&AuditQuery {
            actor: Some("ada".into()),
            action: Some("license.*".into()),
            ..Default::default()
        })
        .unwrap();
    assert!(issued_by_ada.is_empty());

    assert_eq!(sam.audit_actors().unwrap(), ["ada", "sam"]);
}

/// Two products, each with a policy, a license (one with a machine, one suspended),
/// and a batch that issues for both: the filter by product finds each product's own
/// events, the batch's row under both, and no customer or key events.
struct TwoProducts {
    s: common::TestStore,
    zap: Product,
    anvil: Product,
    yearly: Policy,
    zapper_license: License,
}

fn two_products() -> TwoProducts {
    let mut s = common::TestStore::new();
    s.key("Main");
    let zap = s.product("Zapper");
    let anvil = s.product("Anvil");
    let yearly = s.policy(&zap, "Yearly", Some("1y"));
    let team = s.policy_with(&anvil, "Team", |p| {
        p.max_machines = Some(3);
        p.floating = true;
    });
    let t = common::now();
    let issue = |kw: &mut Keywright, policy: &Policy| {
        kw.issue_license(
            &IssueLicense {
                policy_id: policy.id.clone(),
                customer_email: Some("ada@example.com".into()),
                ..Default::default()
            },
            t,
        )
        .unwrap()
    };
    let zapper_license = issue(&mut s.kw, &yearly);
    let anvil_license = issue(&mut s.kw, &team);
    s.kw.activate_machine(
        &ActivateMachine {
            license_id: anvil_license.id.clone(),
            fingerprint: "fp-anvil-1".into(),
            ..Default::default()
        },
        t,
    )
    .unwrap();
    s.kw.suspend_license(&zapper_license.id, t).unwrap();
    let csv = format!(
        "name,email,company,policy,product,quantity,order id,seat\n\
         Bo,bo@example.com,,Yearly,{},1,O-1,\n\
         Cy,cy@example.com,,Team,{},2,O-2,\n",
        zap.code, anvil.code
    );
    let outcome =
        s.kw.issue_batch(
            csv.as_bytes(),
            &keywright_core::batch::BatchOptions::default(),
            t,
            &mut |_| {},
            &std::sync::atomic::AtomicBool::new(false),
        )
        .unwrap();
    assert_eq!(outcome.issued.len(), 3, "{outcome:?}");
    TwoProducts {
        s,
        zap,
        anvil,
        yearly,
        zapper_license,
    }
}

#[test]
fn the_log_filters_by_product() {
    let TwoProducts {
        s,
        zap,
        anvil,
        yearly,
        zapper_license,
    } = two_products();
    let of = |product: &str, action: Option<&str>| {
        s.kw.list_audit(&AuditQuery {
            product_id: Some(product.into()),
            action: action.map(str::to_owned),
            ..Default::default()
        })
        .unwrap()
    };
    let actions =
        |events: &[audit::AuditEvent]| events.iter().map(|e| e.action.clone()).collect::<Vec<_>>();
    let zapper = of(&zap.id, None);
    assert_eq!(
        actions(&zapper),
        [
            "license.batch_issue",
            "license.suspend",
            "license.issue",
            "policy.create",
            "product.create"
        ]
    );
    let anvils = of(&anvil.id, None);
    assert_eq!(
        actions(&anvils),
        [
            "license.batch_issue",
            "machine.activate",
            "license.issue",
            "policy.create",
            "product.create"
        ]
    );
    // The batch's one row is under both products; everything else under one.
    assert_eq!(zapper[0].seq, anvils[0].seq);
    let zapper_subjects = [&zap.id, &yearly.id, &zapper_license.id];
    assert!(zapper[1..]
        .iter()
        .all(|e| zapper_subjects.contains(&e.subject_id.as_ref().unwrap())));
    let all = s.kw.list_audit(&AuditQuery::default()).unwrap();
    assert!(all.iter().any(|e| e.action == "customer.create"));
    assert!(all.iter().any(|e| e.action == "key.create"));

    // With the other filters and pages.
    assert_eq!(
        actions(&of(&zap.id, Some("license.*"))),
        ["license.batch_issue", "license.suspend", "license.issue"]
    );
    let first =
        s.kw.list_audit(&AuditQuery {
            product_id: Some(zap.id.clone()),
            limit: Some(2),
            ..Default::default()
        })
        .unwrap();
    let next =
        s.kw.list_audit(&AuditQuery {
            product_id: Some(zap.id.clone()),
            limit: Some(2),
            before_seq: Some(first[1].seq),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(seqs(&first), seqs(&zapper[..2]));
    assert_eq!(seqs(&next), seqs(&zapper[2..4]));
    assert!(of("no-such-product", None).is_empty());
    // Blank is no filter, as for the others.
    assert_eq!(of("  ", None).len(), all.len());
}

/// A store from before migration 18 / V7 finds the products of the events it already
/// logged, batch rows included, exactly as they are written now.
#[test]
fn an_older_store_finds_the_products_of_its_events() {
    let TwoProducts { s, zap, .. } = two_products();
    let rows = |raw: &common::Raw| -> Vec<(String, i64)> {
        raw.db()
            .query(
                "SELECT product_id, seq FROM audit_products ORDER BY product_id, seq",
                &[],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
    };
    let raw = common::Raw::of(&s.kw);
    let written = rows(&raw);
    assert_eq!(written.iter().filter(|(p, _)| *p == zap.id).count(), 5);
    raw.execute("DROP TABLE audit_products", &[]);
    // (The next migration runs again too: its column goes with it.)
    raw.execute("ALTER TABLE signing_keys DROP COLUMN retire_at", &[]);
    if common::on_postgres() {
        raw.execute(
            "DELETE FROM refinery_schema_history WHERE version >= 7",
            &[],
        );
    } else {
        raw.execute("PRAGMA user_version = 17", &[]);
    }
    drop(raw);
    let path = s.path();
    let common::TestStore {
        dir: _dir,
        vault,
        kw,
    } = s;
    drop(kw);
    let kw = common::open(&path, vault);
    assert_eq!(rows(&common::Raw::of(&kw)), written);
}

/// The product index is outside the rows' hashes, so `audit verify` compares it with
/// what the events and the store say: a row taken out or one added is reported.
#[test]
fn verify_sees_the_product_index_edited() {
    let TwoProducts { s, zap, anvil, .. } = two_products();
    assert!(s.kw.check_audit().unwrap().intact);
    let raw = common::Raw::of(&s.kw);
    let suspended: i64 = raw.value("SELECT seq FROM audit_events WHERE action = 'license.suspend'");
    raw.execute(
        &format!("DELETE FROM audit_products WHERE seq = {suspended}"),
        &[],
    );
    let report = s.kw.check_audit().unwrap();
    assert!(!report.intact);
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("misses 1 event") && p.contains(&format!("row {suspended}"))),
        "{report:?}"
    );
    raw.execute(
        &format!(
            "INSERT INTO audit_products (product_id, seq) VALUES ('{}', {suspended})",
            zap.id
        ),
        &[],
    );
    assert!(s.kw.check_audit().unwrap().intact);
    raw.execute(
        &format!(
            "INSERT INTO audit_products (product_id, seq) VALUES ('{}', {suspended})",
            anvil.id
        ),
        &[],
    );
    let report = s.kw.check_audit().unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("files 1 event(s) under a product they do not concern")),
        "{report:?}"
    );
    // Every row of one product gone, and a row naming no product at all.
    raw.execute(
        &format!(
            "DELETE FROM audit_products WHERE product_id = '{}' OR seq = {suspended}",
            anvil.id
        ),
        &[],
    );
    raw.execute(
        &format!(
            "INSERT INTO audit_products (product_id, seq) VALUES ('{}', {suspended}), ('no-such-product', 1)",
            zap.id
        ),
        &[],
    );
    let report = s.kw.check_audit().unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("misses 5 event(s)")),
        "{report:?}"
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("files 1 event(s)") && p.contains("(the first is row 1)")),
        "{report:?}"
    );
}
