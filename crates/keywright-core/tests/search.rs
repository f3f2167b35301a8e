//! License search: trigram text search (and its LIKE fallback), filters, sort orders
//! and keyset paging over a 2,000-license store.

use std::collections::HashSet;

use jiff::Timestamp;
use keywright_core::*;
use rusqlite::params;

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn now() -> Timestamp {
    at("2026-11-23T10:00:00.123Z")
}

struct Fixture {
    _dir: tempfile::TempDir,
    kw: Keywright,
    product: Product,
    yearly: Policy,
    forever: Policy,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store.db")).unwrap();
    let mut kw = Keywright::with_vault(store, Box::<MemoryVault>::default(), "tester");
    kw.create_signing_key(
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
                name: "Zapper".into(),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    let mut policy = |name: &str, duration: Option<&str>| {
        kw.create_policy(
            &NewPolicy {
                product_id: product.id.clone(),
                name: name.into(),
                duration: duration.map(str::to_owned),
                ..Default::default()
            },
            now(),
        )
        .unwrap()
    };
    let yearly = policy("Yearly", Some("1y"));
    let forever = policy("Forever", None);
    Fixture {
        _dir: dir,
        kw,
        product,
        yearly,
        forever,
    }
}

fn issue(kw: &mut Keywright, policy: &Policy, name: &str, email: &str, when: &str) -> License {
    kw.issue_license(
        &IssueLicense {
            policy_id: policy.id.clone(),
            customer_name: Some(name.into()),
            customer_email: Some(email.into()),
            ..Default::default()
        },
        at(when),
    )
    .unwrap()
}

fn search(kw: &Keywright, query: LicenseQuery) -> LicensePage {
    kw.search_licenses(&query, now()).unwrap()
}

fn text(t: &str) -> LicenseQuery {
    LicenseQuery {
        text: Some(t.into()),
        ..Default::default()
    }
}

fn ids(page: &LicensePage) -> Vec<&str> {
    page.items.iter().map(|l| l.id.as_str()).collect()
}

#[test]
fn text_search_finds_key_fragments_emails_and_renamed_customers() {
    let mut f = fixture();
    let ada = issue(
        &mut f.kw,
        &f.yearly,
        "Ada Lovelace",
        "ada@analytical.example",
        "2026-01-01T00:00:00Z",
    );
    let bob = issue(
        &mut f.kw,
        &f.forever,
        "Bob Babbage",
        "bob@engines.example",
        "2026-02-01T00:00:00Z",
    );

    // Six characters from the middle of the signed key.
    let fragment = &ada.key[20..26];
    let page = search(&f.kw, text(fragment));
    assert!(ids(&page).contains(&ada.id.as_str()), "{fragment}");
    assert!(page.items.iter().all(|l| l.key.contains(fragment)));

    let page = search(&f.kw, text("ANALYTICAL"));
    assert_eq!(ids(&page), [ada.id.as_str()]);
    assert_eq!(page.total, 1);
    assert_eq!(page.next_cursor, None);
    assert_eq!(ids(&search(&f.kw, text("babb"))), [bob.id.as_str()]);
    assert_eq!(search(&f.kw, text("nobody-here")).total, 0);
    // Quotes and FTS syntax are just text.
    assert_eq!(search(&f.kw, text("\"OR * NEAR(")).total, 0);

    // Shorter than a trigram: LIKE, still over name, email and key.
    assert_eq!(ids(&search(&f.kw, text("Bo"))), [bob.id.as_str()]);
    assert_eq!(search(&f.kw, text("%")).total, 0, "% is literal");
    assert_eq!(search(&f.kw, text("@")).total, 2);

    // A customer renamed behind the application's back is still found.
    let conn = rusqlite::Connection::open(f.kw.store().path()).unwrap();
    conn.execute(
        "UPDATE customers SET name = 'Augusta King', email = 'augusta@crown.example'
         WHERE id = ?1",
        [ada.customer_id.as_deref().unwrap()],
    )
    .unwrap();
    assert_eq!(ids(&search(&f.kw, text("augusta king"))), [ada.id.as_str()]);
    assert_eq!(ids(&search(&f.kw, text("crown.exa"))), [ada.id.as_str()]);
    assert_eq!(search(&f.kw, text("lovelace")).total, 0);
}

#[test]
fn filters_narrow_and_bad_queries_are_refused() {
    let mut f = fixture();
    let ada = issue(
        &mut f.kw,
        &f.yearly,
        "Ada",
        "ada@x.example",
        "2026-01-01T00:00:00Z",
    );
    let bob = issue(
        &mut f.kw,
        &f.forever,
        "Bob",
        "bob@x.example",
        "2026-02-01T00:00:00Z",
    );
    // Expires 2026-12-20: within 30 days of now.
    let soon = issue(
        &mut f.kw,
        &f.yearly,
        "Cy",
        "cy@x.example",
        "2025-12-20T00:00:00Z",
    );
    f.kw.suspend_license(&bob.id, now()).unwrap();

    let q = |query: LicenseQuery| search(&f.kw, query);
    let by_policy = q(LicenseQuery {
        policy_id: Some(f.forever.id.clone()),
        ..Default::default()
    });
    assert_eq!(ids(&by_policy), [bob.id.as_str()]);
    let by_product = q(LicenseQuery {
        product_id: Some(f.product.id.clone()),
        ..Default::default()
    });
    assert_eq!(by_product.total, 3);
    let suspended = q(LicenseQuery {
        status: Some(LicenseStatus::Suspended),
        ..Default::default()
    });
    assert_eq!(ids(&suspended), [bob.id.as_str()]);
    let expiring = q(LicenseQuery {
        expiring_within_days: Some(30),
        ..Default::default()
    });
    assert_eq!(ids(&expiring), [soon.id.as_str()]);
    let expiring_year = q(LicenseQuery {
        expiring_within_days: Some(365),
        sort: LicenseSort::ExpiryAsc,
        ..Default::default()
    });
    assert_eq!(ids(&expiring_year), [soon.id.as_str(), ada.id.as_str()]);
    let combined = q(LicenseQuery {
        text: Some("x.example".into()),
        status: Some(LicenseStatus::Active),
        policy_id: Some(f.yearly.id.clone()),
        ..Default::default()
    });
    assert_eq!(combined.total, 2);

    for bad in [
        LicenseQuery {
            limit: Some(0),
            ..Default::default()
        },
        LicenseQuery {
            limit: Some(501),
            ..Default::default()
        },
        LicenseQuery {
            expiring_within_days: Some(-1),
            ..Default::default()
        },
        LicenseQuery {
            cursor: Some("not-a-cursor".into()),
            ..Default::default()
        },
        text(&"x".repeat(201)),
    ] {
        let err = f.kw.search_licenses(&bad, now()).unwrap_err();
        assert_eq!(err.code, ErrorCode::BadInput, "{bad:?}: {err}");
    }
    // A cursor from one sort order is refused by another.
    let first = q(LicenseQuery {
        limit: Some(1),
        ..Default::default()
    });
    let err =
        f.kw.search_licenses(
            &LicenseQuery {
                limit: Some(1),
                sort: LicenseSort::ExpiryAsc,
                cursor: first.next_cursor,
                ..Default::default()
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::BadInput);
}

/// `n` licenses inserted with SQL (signing each would be slow and adds nothing here).
fn fill_n(f: &Fixture, n: usize) -> Vec<(String, String, Option<String>, Option<String>)> {
    let mut conn = rusqlite::Connection::open(f.kw.store().path()).unwrap();
    let key_id: String = conn
        .query_row("SELECT id FROM signing_keys", [], |r| r.get(0))
        .unwrap();
    let tx = conn.transaction().unwrap();
    let mut rows = Vec::new();
    for i in 0..n {
        let id = format!("lic-{i:06}");
        // Many equal timestamps and expiries, so the id tie-break matters.
        let created = format!("2026-{:02}-{:02}T00:00:00.000Z", i % 9 + 1, i % 25 + 1);
        let expiry = (i % 4 != 0).then(|| format!("2027-{:02}-01T00:00:00.000Z", i % 12 + 1));
        let customer = (i % 5 != 0).then(|| format!("cust-{i:05}"));
        let name = customer.as_ref().map(|_| format!("Customer {}", i % 97));
        if let Some(cid) = &customer {
            tx.execute(
                "INSERT INTO customers (id, name, email, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![cid, name, format!("c{i}@bulk.example"), created],
            )
            .unwrap();
        }
        let policy = if i % 2 == 0 { &f.yearly } else { &f.forever };
        tx.execute(
            "INSERT INTO licenses (id, key, policy_id, customer_id, signing_key_id, status,
                                   expiry, metadata, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'active', ?6, '{}', ?7, ?7)",
            params![
                id,
                format!("key/bulk-{i:05}.sig"),
                policy.id,
                customer,
                key_id,
                expiry,
                created
            ],
        )
        .unwrap();
        rows.push((id, created, expiry, name));
    }
    tx.commit().unwrap();
    rows
}

fn fill(f: &Fixture) -> Vec<(String, String, Option<String>, Option<String>)> {
    fill_n(f, 2_000)
}

fn all_pages(kw: &Keywright, mut query: LicenseQuery) -> Vec<License> {
    let mut out = Vec::new();
    loop {
        let page = kw.search_licenses(&query, now()).unwrap();
        assert!(page.items.len() <= query.limit.unwrap_or(50) as usize);
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => return out,
        }
    }
}

#[test]
fn paging_returns_every_row_once_in_order_for_each_sort() {
    let f = fixture();
    let rows = fill(&f);
    assert_eq!(rows.len(), 2_000);

    for sort in [
        LicenseSort::CreatedDesc,
        LicenseSort::CreatedAsc,
        LicenseSort::ExpiryAsc,
        LicenseSort::CustomerAsc,
    ] {
        let mut want = rows.clone();
        let key = |r: &(String, String, Option<String>, Option<String>)| match sort {
            LicenseSort::CreatedDesc | LicenseSort::CreatedAsc => r.1.clone(),
            LicenseSort::ExpiryAsc => r.2.clone().unwrap_or_else(|| "~".into()),
            LicenseSort::CustomerAsc => {
                r.3.as_ref()
                    .map(|n| n.to_lowercase())
                    .unwrap_or_else(|| "\u{10FFFF}".into())
            }
        };
        want.sort_by(|a, b| (key(a), &a.0).cmp(&(key(b), &b.0)));
        if sort == LicenseSort::CreatedDesc {
            want.reverse();
        }
        let got = all_pages(
            &f.kw,
            LicenseQuery {
                sort,
                limit: Some(137),
                ..Default::default()
            },
        );
        let got_ids: Vec<&str> = got.iter().map(|l| l.id.as_str()).collect();
        let want_ids: Vec<&str> = want.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(got_ids.len(), 2_000, "{sort:?}");
        assert_eq!(
            got_ids.iter().collect::<HashSet<_>>().len(),
            2_000,
            "{sort:?}: no duplicates"
        );
        assert_eq!(got_ids, want_ids, "{sort:?}");
    }

    // Paging through a filtered search: the same rows as one big page, and the total.
    let query = LicenseQuery {
        text: Some("bulk.example".into()),
        policy_id: Some(f.yearly.id.clone()),
        sort: LicenseSort::ExpiryAsc,
        limit: Some(500),
        ..Default::default()
    };
    let first = f.kw.search_licenses(&query, now()).unwrap();
    let expected = rows
        .iter()
        .enumerate()
        .filter(|(i, r)| i % 2 == 0 && r.3.is_some())
        .count() as i64;
    assert_eq!(first.total, expected);
    let paged = all_pages(
        &f.kw,
        LicenseQuery {
            limit: Some(33),
            ..query.clone()
        },
    );
    assert_eq!(paged.len() as i64, expected);
    assert!(paged
        .windows(2)
        .all(|w| w[0].expiry.as_deref().unwrap_or("~") <= w[1].expiry.as_deref().unwrap_or("~")));

    // The default page is 50, newest first.
    let page = search(&f.kw, LicenseQuery::default());
    assert_eq!(page.items.len(), 50);
    assert_eq!(page.total, 2_000);
    assert!(page.next_cursor.is_some());
}
