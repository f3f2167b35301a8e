//! License search: trigram text search (and its LIKE fallback), filters, sort orders
//! and keyset paging over a 2,000-license store.

mod common;

use std::collections::HashSet;

use jiff::Timestamp;
use keywright_core::*;

use common::{at, now};

/// Before every license date in these tests: the signer refuses to sign at a time
/// earlier than the newest audit entry, so the setup must come first in time too.
fn setup_time() -> Timestamp {
    at("2025-01-01T00:00:00Z")
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
    let store = common::open_store(&dir.path().join("store.db"));
    let mut kw = Keywright::with_vault(store, Box::<MemoryVault>::default(), "tester");
    kw.create_signing_key(
        &NewSigningKey {
            name: "Main".into(),
            algorithm: KeyAlgorithm::Ed25519,
        },
        setup_time(),
    )
    .unwrap();
    let product = kw
        .create_product(
            &NewProduct {
                name: "Zapper".into(),
                ..Default::default()
            },
            setup_time(),
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
            setup_time(),
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

    // A signed key is found by its end: six characters of its signature, or more.
    assert!(ada.key.len() > 500, "a signed key is long: {}", ada.key);
    let n = ada.key.len();
    for fragment in [&ada.key[n - 6..], &ada.key[n - 40..], &ada.key[n - 100..]] {
        assert_eq!(
            ids(&search(&f.kw, text(fragment))),
            [ada.id.as_str()],
            "{fragment}"
        );
    }
    // By its start, up to 64 characters: the same for every key of a store's product,
    // so both match. A longer start is not looked for (no index of it narrows).
    assert_eq!(search(&f.kw, text(&ada.key[..90])).total, 0);
    for fragment in [&ada.key[..6], &ada.key[..30], &ada.key[..64]] {
        let page = search(&f.kw, text(fragment));
        assert_eq!(page.total, 2, "{fragment}");
        assert!(page.items.iter().all(|l| l.key.starts_with(fragment)));
    }
    let mut other_start = ada.key[..40].to_owned();
    other_start.push('#');
    assert_eq!(search(&f.kw, text(&other_start)).total, 0);
    // Not by the middle of its signature, nor by an end of five characters, nor in
    // another case (keys are compared exactly).
    let middle = &ada.key[n - 40..n - 30];
    assert!(!bob.key.contains(middle));
    assert_eq!(search(&f.kw, text(middle)).total, 0, "{middle}");
    let five = &ada.key[n - 5..];
    assert!(!ids(&search(&f.kw, text(five))).contains(&ada.id.as_str()));
    let swapped: String = ada.key[n - 12..]
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    if swapped != ada.key[n - 12..] {
        assert_eq!(search(&f.kw, text(&swapped)).total, 0);
    }
    // The whole key, as an email wraps it, and the license id find it exactly.
    let wrapped: String = ada
        .key
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("\r\n");
    assert_eq!(ids(&search(&f.kw, text(&wrapped))), [ada.id.as_str()]);
    assert_eq!(ids(&search(&f.kw, text(&ada.id))), [ada.id.as_str()]);

    let page = search(&f.kw, text("ANALYTICAL"));
    assert_eq!(ids(&page), [ada.id.as_str()]);
    assert_eq!(page.total, 1);
    assert_eq!(page.next_cursor, None);
    assert_eq!(ids(&search(&f.kw, text("babb"))), [bob.id.as_str()]);
    assert_eq!(search(&f.kw, text("nobody-here")).total, 0);
    // Longer than any name or email: a key or nothing.
    assert_eq!(search(&f.kw, text(&"x".repeat(400))).total, 0);
    assert_eq!(
        search(&f.kw, text(&format!("a{}b", " ".repeat(300)))).total,
        0
    );
    assert_eq!(
        ids(&search(&f.kw, text(&ada.key[n - 300..]))),
        [ada.id.as_str()]
    );
    assert_eq!(search(&f.kw, text(&ada.key[..300])).total, 0);
    // Quotes and FTS syntax are just text.
    assert_eq!(search(&f.kw, text("\"OR * NEAR(")).total, 0);

    // Shorter than a trigram: LIKE, still over name, email and key.
    assert_eq!(ids(&search(&f.kw, text("Bo"))), [bob.id.as_str()]);
    assert_eq!(search(&f.kw, text("%")).total, 0, "% is literal");
    assert_eq!(search(&f.kw, text("@")).total, 2);

    // A customer renamed behind the application's back is still found.
    let conn = common::Raw::of(&f.kw);
    conn.execute(
        "UPDATE customers SET name = 'Augusta King', email = 'augusta@crown.example'
         WHERE id = ?1",
        &[ada.customer_id.as_deref().unwrap().into()],
    );
    assert_eq!(ids(&search(&f.kw, text("augusta king"))), [ada.id.as_str()]);
    assert_eq!(ids(&search(&f.kw, text("crown.exa"))), [ada.id.as_str()]);
    assert_eq!(search(&f.kw, text("lovelace")).total, 0);
}

#[test]
fn filters_narrow_and_bad_queries_are_refused() {
    let mut f = fixture();
    // Issued in time order. Expires 2026-12-20: within 30 days of now.
    let soon = issue(
        &mut f.kw,
        &f.yearly,
        "Cy",
        "cy@x.example",
        "2025-12-20T00:00:00Z",
    );
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
        text(&"x".repeat(8_193)),
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
    let tx = common::Raw::of(&f.kw);
    let key_id: String = tx.value("SELECT id FROM signing_keys");
    tx.execute("BEGIN", &[]);
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
                &[
                    cid.as_str().into(),
                    name.as_deref().into(),
                    format!("c{i}@bulk.example").into(),
                    created.as_str().into(),
                ],
            );
        }
        let policy = if i % 2 == 0 { &f.yearly } else { &f.forever };
        tx.execute(
            "INSERT INTO licenses (id, key, policy_id, customer_id, signing_key_id, status,
                                   expiry, metadata, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'active', ?6, '{}', ?7, ?7)",
            &[
                id.as_str().into(),
                format!("key/bulk-{i:05}.sig").into(),
                policy.id.as_str().into(),
                customer.as_deref().into(),
                key_id.as_str().into(),
                expiry.as_deref().into(),
                created.as_str().into(),
            ],
        );
        rows.push((id, created, expiry, name));
    }
    tx.execute("COMMIT", &[]);
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
    assert_eq!(first.total, expected.min(COUNT_CAP));
    assert_eq!(first.total_exact, expected <= COUNT_CAP);
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

    // Broad filters without text page along the sort order's index (walk mode):
    // still every match once, in order, for every sort.
    for sort in [
        LicenseSort::CreatedDesc,
        LicenseSort::CreatedAsc,
        LicenseSort::ExpiryAsc,
        LicenseSort::CustomerAsc,
    ] {
        let query = LicenseQuery {
            policy_id: Some(f.yearly.id.clone()),
            status: Some(LicenseStatus::Active),
            expiring_within_days: Some(3_650),
            sort,
            limit: Some(41),
            ..Default::default()
        };
        let total = f.kw.search_licenses(&query, now()).unwrap().total;
        let want: HashSet<&str> = rows
            .iter()
            .enumerate()
            .filter(|(i, r)| i % 2 == 0 && r.2.is_some())
            .map(|(_, r)| r.0.as_str())
            .collect();
        assert_eq!(total, want.len() as i64, "{sort:?}");
        let paged = all_pages(&f.kw, query);
        let got: HashSet<&str> = paged.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(paged.len(), want.len(), "{sort:?}: no duplicates");
        assert_eq!(got, want, "{sort:?}");
        let mut ordered = paged.clone();
        ordered.sort_by(|a, b| {
            let key = |l: &License| match sort {
                LicenseSort::CreatedDesc | LicenseSort::CreatedAsc => l.created_at.clone(),
                LicenseSort::ExpiryAsc => l.expiry.clone().unwrap_or_else(|| "~".into()),
                LicenseSort::CustomerAsc => l
                    .customer_name
                    .as_ref()
                    .map(|n| n.to_lowercase())
                    .unwrap_or_else(|| "\u{10FFFF}".into()),
            };
            (key(a), &a.id).cmp(&(key(b), &b.id))
        });
        if sort == LicenseSort::CreatedDesc {
            ordered.reverse();
        }
        let ordered: Vec<&str> = ordered.iter().map(|l| l.id.as_str()).collect();
        let paged: Vec<&str> = paged.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(paged, ordered, "{sort:?}");
    }

    // The default page is 50, newest first.
    let page = search(&f.kw, LicenseQuery::default());
    assert_eq!(page.items.len(), 50);
    assert_eq!((page.total, page.total_exact), (2_000, true));
    assert!(page.next_cursor.is_some());
}

/// A text matching more than `BROAD_TEXT` licenses (or customers) pages along the
/// sort order, probing the text index per license, and is not counted: every match
/// still comes once, in order, alone or with other filters, and the totals say what
/// is known.
#[test]
fn broad_text_walks_the_sort_order_and_still_reaches_every_match() {
    let f = fixture();
    let n = 26_000; // 20,800 with a customer named "Customer …": broad for "cu" too
    let rows = fill_n(&f, n);
    let conn = common::Raw::of(&f.kw);
    // Every 97th license suspended: a narrow filter beside a broad text.
    conn.execute(
        "UPDATE licenses SET status = 'suspended' WHERE CAST(substr(id, 5) AS INTEGER) % 97 = 0",
        &[],
    );
    let suspended = |i: usize| i % 97 == 0;
    let cases: Vec<(LicenseQuery, HashSet<&str>)> = vec![
        // Trigram: every key holds "bulk".
        (text("bulk"), rows.iter().map(|r| r.0.as_str()).collect()),
        // Word prefix: every customer is "Customer …".
        (
            text("cu"),
            rows.iter()
                .filter(|r| r.3.is_some())
                .map(|r| r.0.as_str())
                .collect(),
        ),
        // A broad text and a narrow filter (read through the filter's index).
        (
            LicenseQuery {
                status: Some(LicenseStatus::Suspended),
                ..text("cu")
            },
            rows.iter()
                .enumerate()
                .filter(|(i, r)| r.3.is_some() && suspended(*i))
                .map(|(_, r)| r.0.as_str())
                .collect(),
        ),
        // A broad text and a broad filter (walks the sort order).
        (
            LicenseQuery {
                policy_id: Some(f.yearly.id.clone()),
                ..text("bulk")
            },
            rows.iter()
                .enumerate()
                .filter(|(i, _)| i % 2 == 0)
                .map(|(_, r)| r.0.as_str())
                .collect(),
        ),
    ];
    for (query, want) in &cases {
        for sort in [LicenseSort::CreatedDesc, LicenseSort::CustomerAsc] {
            let query = LicenseQuery {
                sort,
                limit: Some(500),
                ..query.clone()
            };
            // (SQLite's plan; PostgreSQL's planner chooses by its statistics.)
            if !common::on_postgres() {
                let plan = f.kw.explain_license_search(&query, now()).unwrap();
                assert!(
                    plan.iter().any(|l| l.contains("CORRELATED")),
                    "a broad text probes the index per license: {query:?}\n{}",
                    plan.join("\n")
                );
            }
            let first = search(&f.kw, query.clone());
            // The expected order, from the rows as they were written.
            let mut expected: Vec<&(String, String, Option<String>, Option<String>)> = rows
                .iter()
                .filter(|r| want.contains(r.0.as_str()))
                .collect();
            let row_key = |r: &(String, String, Option<String>, Option<String>)| match sort {
                LicenseSort::CustomerAsc => {
                    r.3.as_ref()
                        .map(|n| n.to_lowercase())
                        .unwrap_or_else(|| "\u{10FFFF}".into())
                }
                _ => r.1.clone(),
            };
            expected.sort_by(|a, b| (row_key(a), &a.0).cmp(&(row_key(b), &b.0)));
            if sort == LicenseSort::CreatedDesc {
                expected.reverse();
            }
            // Every page of the newest-first order (walking all of them probes every
            // license: seconds, so once per case); the first two pages of the other.
            let paged: Vec<License> = if sort == LicenseSort::CreatedDesc {
                all_pages(&f.kw, query.clone())
            } else {
                let mut pages = first.items.clone();
                if let Some(cursor) = &first.next_cursor {
                    let cursor = Some(cursor.clone());
                    pages.extend(
                        search(
                            &f.kw,
                            LicenseQuery {
                                cursor,
                                ..query.clone()
                            },
                        )
                        .items,
                    );
                }
                pages
            };
            if sort == LicenseSort::CreatedDesc {
                let got: HashSet<&str> = paged.iter().map(|l| l.id.as_str()).collect();
                assert_eq!(paged.len(), want.len(), "{query:?}: no duplicates");
                assert_eq!(&got, want, "{query:?}");
            }
            assert!(
                paged
                    .iter()
                    .map(|l| l.id.as_str())
                    .eq(expected.iter().take(paged.len()).map(|r| r.0.as_str())),
                "{query:?}: in order"
            );
            // What the first page says of the total.
            let only_text = query.status.is_none() && query.policy_id.is_none();
            if want.len() <= 500 {
                assert_eq!((first.total, first.total_exact), (want.len() as i64, true));
            } else if only_text && query.text.as_deref() == Some("bulk") {
                assert_eq!((first.total, first.total_exact), (COUNT_CAP, false));
            } else {
                assert_eq!((first.total, first.total_exact), (500, false), "{query:?}");
            }
        }
    }
}

#[test]
fn short_text_matches_the_start_of_customer_name_and_email_words() {
    let mut f = fixture();
    let alice = issue(
        &mut f.kw,
        &f.yearly,
        "Alice Smith",
        "alice@one.example",
        "2026-01-01T00:00:00Z",
    );
    let alder = issue(
        &mut f.kw,
        &f.yearly,
        "Bob Alder",
        "bob@two.example",
        "2026-02-01T00:00:00Z",
    );
    let sally = issue(
        &mut f.kw,
        &f.forever,
        "Sally Walsh",
        "sw@alpha.example",
        "2026-03-01T00:00:00Z",
    );
    let jose = issue(
        &mut f.kw,
        &f.forever,
        "José Núñez",
        "jn@three.example",
        "2026-04-01T00:00:00Z",
    );

    let found = |t: &str| -> Vec<String> {
        let mut got: Vec<String> = search(&f.kw, text(t))
            .items
            .into_iter()
            .map(|l| l.id)
            .collect();
        got.sort();
        got
    };
    let sorted = |mut v: Vec<&str>| -> Vec<String> {
        v.sort();
        v.into_iter().map(str::to_owned).collect()
    };
    // Words of the name and of the email ("alpha" in sw@alpha.example), any case;
    // "Sally" and "Walsh" contain "al" but do not start with it.
    assert_eq!(found("Al"), sorted(vec![&alice.id, &alder.id, &sally.id]));
    assert_eq!(found("sm"), sorted(vec![&alice.id]));
    assert_eq!(found("W"), sorted(vec![&sally.id]));
    // Accents are ignored both ways.
    assert_eq!(found("nu"), sorted(vec![&jose.id]));
    assert_eq!(found("Jö"), sorted(vec![&jose.id]));
    assert_eq!(search(&f.kw, text("al")).total, 3);
    // Keys are not searched below three characters: every key starts "ke".
    assert_eq!(search(&f.kw, text("ke")).total, 0);
    // Text with no letter or digit is still a substring match.
    assert_eq!(search(&f.kw, text("@")).total, 4);
    assert_eq!(search(&f.kw, text("\"")).total, 0);
    // Combined with a filter.
    let q = LicenseQuery {
        text: Some("al".into()),
        policy_id: Some(f.forever.id.clone()),
        ..Default::default()
    };
    assert_eq!(ids(&search(&f.kw, q)), [sally.id.as_str()]);

    // Customers renamed behind the application's back are found by their new words.
    let conn = common::Raw::of(&f.kw);
    conn.execute(
        "UPDATE customers SET name = 'Zed Quinn' WHERE id = ?1",
        &[alice.customer_id.as_deref().unwrap().into()],
    );
    assert_eq!(found("Qu"), sorted(vec![&alice.id]));
    // Her email still starts with "al".
    assert_eq!(found("al"), sorted(vec![&alice.id, &alder.id, &sally.id]));
    assert_eq!(found("sm"), Vec::<String>::new());
}

#[test]
fn customer_sort_follows_renames_and_reassignments() {
    let mut f = fixture();
    let a = issue(
        &mut f.kw,
        &f.yearly,
        "Mallory",
        "m@x.example",
        "2026-01-01T00:00:00Z",
    );
    let b = issue(
        &mut f.kw,
        &f.yearly,
        "Bob",
        "b@x.example",
        "2026-01-02T00:00:00Z",
    );
    let nobody =
        f.kw.issue_license(
            &IssueLicense {
                policy_id: f.yearly.id.clone(),
                ..Default::default()
            },
            at("2026-01-03T00:00:00Z"),
        )
        .unwrap();
    let by_customer = |kw: &Keywright| -> Vec<String> {
        all_pages(
            kw,
            LicenseQuery {
                sort: LicenseSort::CustomerAsc,
                limit: Some(1),
                ..Default::default()
            },
        )
        .into_iter()
        .map(|l| l.id)
        .collect()
    };
    assert_eq!(
        by_customer(&f.kw),
        [b.id.clone(), a.id.clone(), nobody.id.clone()]
    );

    let conn = common::Raw::of(&f.kw);
    // Renamed: "Mallory" becomes "alice", ahead of "Bob".
    conn.execute(
        "UPDATE customers SET name = 'alice' WHERE id = ?1",
        &[a.customer_id.as_deref().unwrap().into()],
    );
    assert_eq!(
        by_customer(&f.kw),
        [a.id.clone(), b.id.clone(), nobody.id.clone()]
    );
    // A name removed: the email sorts instead ("m@x.example" after "bob").
    conn.execute(
        "UPDATE customers SET name = NULL WHERE id = ?1",
        &[a.customer_id.as_deref().unwrap().into()],
    );
    assert_eq!(
        by_customer(&f.kw),
        [b.id.clone(), a.id.clone(), nobody.id.clone()]
    );
    // The customerless license given Bob's customer; Bob's license loses its customer.
    conn.execute(
        "UPDATE licenses SET customer_id = ?1 WHERE id = ?2",
        &[
            b.customer_id.as_deref().unwrap().into(),
            nobody.id.as_str().into(),
        ],
    );
    conn.execute(
        "UPDATE licenses SET customer_id = NULL WHERE id = ?1",
        &[b.id.as_str().into()],
    );
    assert_eq!(by_customer(&f.kw), [nobody.id, a.id, b.id]);
}

#[test]
fn totals_are_exact_up_to_the_cap_and_pages_still_reach_every_match() {
    let f = fixture();
    fill_n(&f, 12_000); // 9,600 with a customer at bulk.example, 6,000 forever
    let every = search(&f.kw, LicenseQuery::default());
    assert_eq!((every.total, every.total_exact), (COUNT_CAP, false));
    // "cu": the start of "Customer" in 9,600 names: under the cap, exact.
    let broad = search(&f.kw, text("cu"));
    assert_eq!((broad.total, broad.total_exact), (9_600, true));
    // "bulk" (trigram) matches every key: past the cap, yet every page is there.
    let keys = search(&f.kw, text("bulk"));
    assert_eq!((keys.total, keys.total_exact), (COUNT_CAP, false));
    let all = all_pages(
        &f.kw,
        LicenseQuery {
            limit: Some(500),
            ..text("bulk")
        },
    );
    assert_eq!(all.len(), 12_000);
    assert_eq!(
        all.iter().map(|l| &l.id).collect::<HashSet<_>>().len(),
        12_000
    );
    // Filters: exact under the cap, capped over it.
    let policy = search(
        &f.kw,
        LicenseQuery {
            policy_id: Some(f.forever.id.clone()),
            ..Default::default()
        },
    );
    assert_eq!((policy.total, policy.total_exact), (6_000, true));
    let active = search(
        &f.kw,
        LicenseQuery {
            status: Some(LicenseStatus::Active),
            ..Default::default()
        },
    );
    assert_eq!((active.total, active.total_exact), (COUNT_CAP, false));
    assert_eq!(active.items.len(), 50);
}

/// The index guard: no license query shape the window sends reads the whole
/// `licenses` table. SQLite's plan says `SCAN l` for a table scan and
/// `SCAN l USING [COVERING] INDEX …` for walking an index in order (keyset paging
/// along the sort order, which stops when the page is full).
#[test]
fn every_filter_and_sort_is_served_by_an_index() {
    let f = fixture();
    fill(&f);
    let cursor = |q: &LicenseQuery| search(&f.kw, q.clone()).next_cursor;
    let mut shapes: Vec<LicenseQuery> = Vec::new();
    let sorts = [
        LicenseSort::CreatedDesc,
        LicenseSort::CreatedAsc,
        LicenseSort::ExpiryAsc,
        LicenseSort::CustomerAsc,
    ];
    for sort in sorts {
        let filters = [
            LicenseQuery::default(),
            LicenseQuery {
                status: Some(LicenseStatus::Active),
                ..Default::default()
            },
            LicenseQuery {
                status: Some(LicenseStatus::Suspended),
                ..Default::default()
            },
            LicenseQuery {
                product_id: Some(f.product.id.clone()),
                ..Default::default()
            },
            LicenseQuery {
                policy_id: Some(f.yearly.id.clone()),
                ..Default::default()
            },
            LicenseQuery {
                product_id: Some(f.product.id.clone()),
                status: Some(LicenseStatus::Revoked),
                ..Default::default()
            },
            LicenseQuery {
                policy_id: Some(f.yearly.id.clone()),
                status: Some(LicenseStatus::Active),
                expiring_within_days: Some(365),
                ..Default::default()
            },
            LicenseQuery {
                expiring_within_days: Some(30),
                ..Default::default()
            },
            LicenseQuery {
                customer_id: Some("cust-00007".into()),
                ..Default::default()
            },
            text("bulk-0001"),
            text("cu"),
            text("c1"),
            // Not here: 1-2 characters without a letter or digit ("@"), a LIKE over
            // every key (no index can answer a substring that short); the page and the
            // capped count stop as soon as they have enough matches.
        ];
        for q in filters {
            let q = LicenseQuery { sort, ..q };
            // The first page, and a later one from its cursor.
            let next = cursor(&q);
            shapes.push(q.clone());
            if next.is_some() {
                shapes.push(LicenseQuery { cursor: next, ..q });
            }
        }
    }
    let scans_licenses = |plan: &[String]| {
        plan.iter().any(|line| {
            (line.ends_with("SCAN l") || line.contains("SCAN l ")) && !line.contains("SCAN l USING")
        })
    };
    // SQLite's plans; on PostgreSQL the shapes still run (and the planner has
    // statistics), but there is no SQLite plan to read.
    for q in shapes.iter().filter(|_| !common::on_postgres()) {
        let plan = f.kw.explain_license_search(q, now()).unwrap();
        assert!(!plan.is_empty());
        assert!(
            !scans_licenses(&plan),
            "full scan of licenses for {q:?}:\n{}",
            plan.join("\n")
        );
        // A later page seeks to its cursor: it does not walk the index from the start.
        if q.cursor.is_some() {
            assert!(
                !plan.iter().any(|l| l.starts_with("page: SCAN l")),
                "page from a cursor does not seek for {q:?}:\n{}",
                plan.join("\n")
            );
        }
    }
    // The guard does see a table scan: a 1-character substring without a letter.
    if !common::on_postgres() {
        let plan = f.kw.explain_license_search(&text("@"), now()).unwrap();
        assert!(scans_licenses(&plan), "{}", plan.join("\n"));
    } else {
        // Every shape answers on PostgreSQL.
        for q in &shapes {
            f.kw.search_licenses(q, now()).unwrap();
        }
    }
}
