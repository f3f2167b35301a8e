//! The audit log read with names: each event comes with the customer, product,
//! policy, machine and signing key it concerns, looked up by the core (both engines).

mod common;

use keywright_core::audit::AuditQuery;
use keywright_core::*;

use common::now;

#[test]
fn audit_entries_name_the_customer_product_policy_machine_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open_store(&dir.path().join("store.db"));
    let mut kw = Keywright::with_vault(store, Box::<MemoryVault>::default(), "sam");
    let key = kw
        .create_signing_key(
            &NewSigningKey {
                name: "Main key".into(),
                algorithm: KeyAlgorithm::Ed25519,
            },
            now(),
        )
        .unwrap();
    let product = kw
        .create_product(
            &NewProduct {
                name: "Zapper Pro".into(),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    let policy = kw
        .create_policy(
            &NewPolicy {
                product_id: product.id.clone(),
                name: "Yearly".into(),
                duration: Some("1y".into()),
                floating: true,
                max_machines: Some(3),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    let license = kw
        .issue_license(
            &IssueLicense {
                policy_id: policy.id.clone(),
                customer_name: Some("Ada Hopper".into()),
                customer_email: Some("ada@example.com".into()),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    let anonymous = kw
        .issue_license(
            &IssueLicense {
                policy_id: policy.id.clone(),
                customer_email: Some("bob@example.com".into()),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    kw.suspend_license(&license.id, now()).unwrap();
    let path = dir.path().join("ada.lic");
    kw.export_license_file(
        &ExportLicenseFile {
            license_id: license.id.clone(),
            path: path.display().to_string(),
            ..Default::default()
        },
        now(),
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    kw.reinstate_license(&license.id, now()).unwrap();
    let machine = kw
        .activate_machine(
            &ActivateMachine {
                license_id: license.id.clone(),
                fingerprint: "fp-ws-042".into(),
                name: Some("ws-042".into()),
                ..Default::default()
            },
            now(),
        )
        .unwrap();

    let entries = kw.list_audit_entries(&AuditQuery::default()).unwrap();
    let events = kw.list_audit(&AuditQuery::default()).unwrap();
    // The same page, in the same order, as the plain list.
    assert_eq!(
        entries.iter().map(|e| e.event.seq).collect::<Vec<_>>(),
        events.iter().map(|e| e.seq).collect::<Vec<_>>()
    );
    let find = |action: &str, subject: &str| {
        entries
            .iter()
            .find(|e| e.event.action == action && e.event.subject_id.as_deref() == Some(subject))
            .unwrap_or_else(|| panic!("no {action} for {subject}"))
            .names
            .clone()
    };

    let suspended = find("license.suspend", &license.id);
    assert_eq!(suspended.license_id.as_deref(), Some(license.id.as_str()));
    assert_eq!(suspended.customer.as_deref(), Some("Ada Hopper"));
    assert_eq!(suspended.product.as_deref(), Some("Zapper Pro"));
    assert_eq!(suspended.product_id.as_deref(), Some(product.id.as_str()));
    assert_eq!(suspended.policy.as_deref(), Some("Yearly"));
    assert_eq!(suspended.machine, None);

    // A customer without a name is named by their email.
    let bob = find("license.issue", &anonymous.id);
    assert_eq!(bob.customer.as_deref(), Some("bob@example.com"));

    // The license file's signing names the key that signed it, by its kid.
    let signed = entries
        .iter()
        .find(|e| e.event.action == "license_file.sign")
        .expect("the export's audit row");
    assert_eq!(
        signed.event.signing_key_kid.as_deref(),
        Some(key.kid.as_str())
    );
    assert_eq!(signed.names.key.as_deref(), Some("Main key"));
    assert_eq!(signed.names.customer.as_deref(), Some("Ada Hopper"));

    // A machine: its name and its license's customer and product.
    let activated = find("machine.activate", &machine.id);
    assert_eq!(activated.machine.as_deref(), Some("ws-042"));
    assert_eq!(activated.license_id.as_deref(), Some(license.id.as_str()));
    assert_eq!(activated.customer.as_deref(), Some("Ada Hopper"));
    assert_eq!(activated.product.as_deref(), Some("Zapper Pro"));

    // Products, policies and keys name themselves.
    assert_eq!(
        find("product.create", &product.id).product.as_deref(),
        Some("Zapper Pro")
    );
    let p = find("policy.create", &policy.id);
    assert_eq!(
        (p.policy.as_deref(), p.product.as_deref()),
        (Some("Yearly"), Some("Zapper Pro"))
    );
    assert_eq!(find("key.create", &key.id).key.as_deref(), Some("Main key"));

    // The dashboard's recent events come with the same names, in the same order.
    let d = kw.dashboard(now()).unwrap();
    assert_eq!(d.recent_names.len(), d.recent.len());
    assert_eq!(d.recent[0].action, "machine.activate");
    assert_eq!(d.recent_names[0].machine.as_deref(), Some("ws-042"));
}
