//! The Customers screen's list, and a customer's licenses through the search.

mod common;

use jiff::Timestamp;
use keywright_core::*;

#[test]
fn lists_customers_with_counts_and_finds_their_licenses() {
    let now: Timestamp = "2026-11-23T10:00:00Z".parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = common::open_store(&dir.path().join("store.db"));
    let mut kw = Keywright::with_vault(store, Box::<MemoryVault>::default(), "tester");
    assert!(kw
        .list_customers(&CustomerQuery::default())
        .unwrap()
        .is_empty());
    kw.create_signing_key(
        &NewSigningKey {
            name: "Main".into(),
            algorithm: KeyAlgorithm::Ed25519,
        },
        now,
    )
    .unwrap();
    let product = kw
        .create_product(
            &NewProduct {
                name: "Zapper".into(),
                ..Default::default()
            },
            now,
        )
        .unwrap();
    let policy = kw
        .create_policy(
            &NewPolicy {
                product_id: product.id,
                name: "Yearly".into(),
                ..Default::default()
            },
            now,
        )
        .unwrap();
    let mut issue = |name: Option<&str>, email: Option<&str>| {
        kw.issue_license(
            &IssueLicense {
                policy_id: policy.id.clone(),
                customer_name: name.map(str::to_owned),
                customer_email: email.map(str::to_owned),
                ..Default::default()
            },
            now,
        )
        .unwrap()
    };
    let ada1 = issue(Some("ada Lovelace"), Some("ada@example.com"));
    let ada2 = issue(None, Some("ada@example.com")); // same customer, by email
    issue(Some("Bob_Babbage"), Some("bob@engines.example"));
    issue(None, Some("carl@100%.example"));
    issue(None, None); // no customer at all
    kw.revoke_license(&ada2.id, now).unwrap();

    let all = kw.list_customers(&CustomerQuery::default()).unwrap();
    let names: Vec<Option<&str>> = all.iter().map(|c| c.name.as_deref()).collect();
    assert_eq!(names, [Some("ada Lovelace"), Some("Bob_Babbage"), None]);
    assert_eq!((all[0].licenses, all[0].active_licenses), (2, 1));
    assert_eq!(all[2].email.as_deref(), Some("carl@100%.example"));

    let q = |text: &str| {
        kw.list_customers(&CustomerQuery {
            text: Some(text.into()),
            ..Default::default()
        })
        .unwrap()
    };
    assert_eq!(q("LOVELACE").len(), 1);
    assert_eq!(q("engines").len(), 1);
    assert_eq!(q("example").len(), 3);
    assert_eq!(q("%").len(), 1, "% is literal");
    assert_eq!(q("_").len(), 1, "_ is literal");
    let err = kw
        .list_customers(&CustomerQuery {
            limit: Some(0),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::BadInput);

    let theirs = kw
        .search_licenses(
            &LicenseQuery {
                customer_id: ada1.customer_id.clone(),
                ..Default::default()
            },
            now,
        )
        .unwrap();
    assert_eq!(theirs.total, 2);
    assert!(theirs
        .items
        .iter()
        .all(|l| l.customer_id == ada1.customer_id));
}
