//! `keywright audit export --format jsonl` beside csv: one JSON object per line, every
//! stored field, and the export itself on record.

mod common;

use common::Cli;
use serde_json::Value;

#[test]
fn audit_export_as_json_lines() {
    let cli = Cli::new();
    cli.json(&["key", "create", "--name", "Main key"], 0);
    cli.json(&["product", "create", "--name", "Zapper"], 0);
    let out = cli.path("audit.jsonl");
    let f = cli.json(
        &[
            "audit",
            "export",
            "--format",
            "jsonl",
            "--out",
            out.to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(f["algorithm"], "jsonl");
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["action"], "key.create");
    assert_eq!(lines[1]["action"], "product.create");
    assert_eq!(lines[1]["prevHash"], lines[0]["hash"]);
    let list = cli.json(&["audit", "list"], 0);
    let last = list["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "audit.export");
    assert_eq!(last["artifactSha256"], f["sha256"]);
    // An unknown format is a usage error.
    let bad = cli.run(&[
        "audit",
        "export",
        "--format",
        "xml",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn audit_export_of_one_product() {
    let cli = Cli::new();
    cli.json(&["key", "create", "--name", "Main key"], 0);
    cli.json(
        &["product", "create", "--name", "Zapper", "--code", "ZAP"],
        0,
    );
    cli.json(
        &["product", "create", "--name", "Anvil", "--code", "ANV"],
        0,
    );
    let out = cli.path("zapper.jsonl");
    let export = |product: &str| {
        cli.run(&[
            "audit",
            "export",
            "--format",
            "jsonl",
            "--product",
            product,
            "--out",
            out.to_str().unwrap(),
        ])
    };
    // By code; the file holds the one product's event.
    assert!(export("ZAP").status.success());
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(lines[0]["action"], "product.create");
    assert!(lines[0]["detail"].as_str().unwrap().contains("Zapper"));
    // The export's own row says what was asked for.
    let list = cli.json(&["audit", "list"], 0);
    let last = list["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "audit.export");
    assert!(last["detail"].as_str().unwrap().contains("productId"));
    // A product that does not exist is said so, and nothing is written.
    std::fs::remove_file(&out).unwrap();
    let missing = export("Hammer");
    assert!(!missing.status.success());
    let said = String::from_utf8_lossy(&missing.stderr);
    assert!(
        said.contains("no product") && said.contains("Hammer"),
        "{said}"
    );
    assert!(!out.exists());
}
