//! keygen-sdk (PyPI, MIT), a Python client of Keygen's license API written apart from
//! Keywright and from keygen-rs, against the server on loopback: validate, activate,
//! seat limit, wrong fingerprint, machines, entitlements, license and machine files
//! verified and decrypted offline, deactivate, validate again, each answer's
//! signature checked by the SDK (tests/support/keygen_sdk_flow.py).
//!
//! Needs `python3` with the `keygen-sdk` package (`scripts/setup-debian.sh` installs
//! it); the test fails, not skips, without it.

#[path = "../../keywright-server/tests/common/mod.rs"]
mod common;

use std::process::Command;

use common::{roomy, Fixture};
use jiff::Timestamp;
use keywright_core::{IssueLicense, NewPolicy};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keygen_sdk_for_python_runs_the_license_flow() {
    let probe = Command::new("python3")
        .args(["-c", "import keygen, keygen.license"])
        .output()
        .expect("python3");
    assert!(
        probe.status.success(),
        "this test needs python3 with the keygen-sdk package (python3 -m pip install \
         keygen-sdk; scripts/setup-debian.sh does it): {}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let mut f = Fixture::new();
    let account = f.kw.store().store_id().to_owned();
    let policy =
        f.kw.create_policy(
            &NewPolicy {
                product_id: f.product.id.clone(),
                name: "Node-locked".into(),
                duration: Some("1y".into()),
                entitlements: vec!["EXPORT_PDF".into(), "SYNC".into()],
                ..Default::default()
            },
            Timestamp::now(),
        )
        .unwrap();
    let license =
        f.kw.issue_license(
            &IssueLicense {
                policy_id: policy.id.clone(),
                customer_email: Some("ada@example.com".into()),
                ..Default::default()
            },
            Timestamp::now(),
        )
        .unwrap();
    let run = f.serve(roomy()).await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/support/keygen_sdk_flow.py"
    );
    let (addr, product, public) = (run.addr, run.product.id.clone(), run.trusted[0].to_hex());
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(script)
            .args([
                format!("http://{addr}"),
                account,
                product,
                license.key.clone(),
                public,
            ])
            .output()
            .expect("run python3")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("keygen-sdk flow passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = run.events(100).await;
    assert!(
        events.iter().any(|e| e.endpoint == "v1 license"),
        "GET /v1/me"
    );
}
