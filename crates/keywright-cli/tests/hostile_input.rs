//! Hostile input through the real `keywright` binary, the real SQLite file and the real
//! OS keychain (issue 12, items 5–7): seats a node-locked policy cannot have, durations
//! that are ambiguous or overflow the calendar, and control characters (terminal
//! escapes, C1 controls, bidirectional overrides) at every entry point, the activation
//! server included. Run with `--nocapture` for the figures in docs/reliability.md.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;
use serde_json::{json, Value};

fn setup(cli: &Cli) {
    cli.json(&["key", "create", "--name", "Main key"], 0);
    cli.json(
        &["product", "create", "--name", "Zapper Pro", "--code", "ZAP"],
        0,
    );
}

/// Runs with `--json`, expects exit 2 (bad input) and returns the error message.
fn refused(cli: &Cli, args: &[&str]) -> String {
    let err = cli.json(args, 2);
    err["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no error message: {err}"))
        .to_owned()
}

/// Every row of the tables a refusal must leave alone.
fn rows(cli: &Cli) -> Vec<i64> {
    [
        "signing_keys",
        "products",
        "policies",
        "customers",
        "licenses",
        "machines",
        "server_events",
        "audit_events",
    ]
    .iter()
    .map(|t| cli.count(t))
    .collect()
}

fn policy(name: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["policy", "create", "--product", "ZAP", "--name", name]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

// ---------------------------------------------------------------------------------
// Item 5: a node-locked policy has exactly one machine.

#[test]
fn node_locked_policies_have_exactly_one_machine() {
    let cli = Cli::new();
    setup(&cli);
    let before = rows(&cli);

    // More than one machine (or unlimited) without --floating: refused, saying how.
    let contradictions: [&[&str]; 4] = [
        &["--max-machines", "2"],
        &["--max-machines", "1000"],
        &["--max-machines", "unlimited"],
        &["--max-machines", "UNLIMITED", "--duration", "1y"],
    ];
    for (i, extra) in contradictions.iter().enumerate() {
        let args = policy(&format!("Bad {i}"), extra);
        let message = refused(&cli, &strs(&args));
        assert!(message.contains("--floating"), "{extra:?}: {message}");
        assert!(message.contains("node-locked"), "{extra:?}: {message}");
    }
    assert_eq!(rows(&cli), before, "a refused policy writes nothing");

    // What is accepted, and what it stores and shows.
    let accepted: [(&str, &[&str], Value, bool); 5] = [
        ("Locked", &[], json!(1), false),
        ("One", &["--max-machines", "1"], json!(1), false),
        (
            "Two floating",
            &["--floating", "--max-machines", "2"],
            json!(2),
            true,
        ),
        ("Site", &["--floating"], Value::Null, true),
        (
            "Site 2",
            &["--floating", "--max-machines", "unlimited"],
            Value::Null,
            true,
        ),
    ];
    for (name, extra, max, floating) in &accepted {
        let p = cli.json(&strs(&policy(name, extra)), 0);
        assert_eq!(&p["maxMachines"], max, "{name}: {p}");
        assert_eq!(p["floating"], *floating, "{name}: {p}");
        let shown = cli.json(&["policy", "show", name], 0);
        assert_eq!(&shown["maxMachines"], max, "{name}: {shown}");
    }
    let text = String::from_utf8(cli.run(&["policy", "show", "Locked"]).stdout).unwrap();
    assert!(text.contains("max machines: 1\n"), "{text}");
    assert!(text.contains("floating: false\n"), "{text}");

    // A store written before: node-locked policies with no limit or a limit above 1.
    // They always enforced one seat; they are shown so, and keep working unchanged.
    sqlite(
        &cli.store(),
        "UPDATE policies SET max_machines = NULL WHERE name = 'Locked';
         UPDATE policies SET max_machines = 3 WHERE name = 'One';",
    );
    for name in ["Locked", "One"] {
        let shown = cli.json(&["policy", "show", name], 0);
        assert_eq!(shown["maxMachines"], 1, "{name}: {shown}");
        let text = String::from_utf8(cli.run(&["policy", "show", name]).stdout).unwrap();
        assert!(text.contains("max machines: 1\n"), "{name}: {text}");
    }
    let list = cli.json(&["policy", "list"], 0);
    let listed: Vec<&Value> = list["policies"]
        .as_array()
        .unwrap_or_else(|| panic!("{list}"))
        .iter()
        .filter(|p| p["floating"] == false)
        .collect();
    assert_eq!(listed.len(), 2, "{list}");
    assert!(listed.iter().all(|p| p["maxMachines"] == 1), "{list}");

    // Still exactly one seat.
    let license = cli.json(&["license", "issue", "--policy", "One"], 0);
    let key = license["key"].as_str().unwrap();
    cli.json(&["machine", "activate", key, "--fingerprint", "fp-1"], 0);
    let err = cli.json(&["machine", "activate", key, "--fingerprint", "fp-2"], 4);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1 of 1 machine"),
        "{err}"
    );
    assert_eq!(cli.count("machines"), 1);
    println!(
        "seats: {} contradictions refused (exit 2, message names --floating), {} policies \
         accepted as asked, 2 legacy node-locked rows (NULL, 3) shown as 1 and enforced as 1",
        contradictions.len(),
        accepted.len()
    );
}

// ---------------------------------------------------------------------------------
// Item 6: durations.

/// Keygen's month and year, in seconds.
const MONTH: i64 = 2_629_746;
const YEAR: i64 = 31_556_952;

#[test]
fn durations_tell_months_from_minutes_and_stop_at_100_years() {
    let cli = Cli::new();
    setup(&cli);

    // Every form the README documents, and the month and minute spellings.
    let accepted: [(&str, i64); 16] = [
        ("3600s", 3600),
        ("3600", 3600),
        ("90m", 5400),
        ("90min", 5400),
        ("90 min", 5400),
        ("12h", 43_200),
        ("30d", 2_592_000),
        ("2w", 1_209_600),
        ("6mo", 6 * MONTH),
        ("1mo", MONTH),
        ("1M", MONTH),
        ("6M", 6 * MONTH),
        ("1y", YEAR),
        (" 1y ", YEAR),
        ("100y", 100 * YEAR),
        ("3155695200s", 100 * YEAR),
    ];
    for (i, (text, seconds)) in accepted.iter().enumerate() {
        let args = policy(&format!("Ok {i}"), &["--duration", text]);
        let p = cli.json(&strs(&args), 0);
        assert_eq!(p["durationSeconds"], *seconds, "{text:?}: {p}");
    }

    // Ambiguous or unknown units, and anything longer than 100 years.
    let before = rows(&cli);
    let unknown = [
        "1Mo",
        "1MO",
        "1mO",
        "1mins",
        "1 minutes",
        "1D",
        "1Y",
        "2W",
        "1x",
        "1.5d",
        "-1d",
        "d",
    ];
    for (i, text) in unknown.iter().enumerate() {
        // `--duration=-1d`: clap would read a separate `-1d` as a flag.
        let args = policy(&format!("Unit {i}"), &[&format!("--duration={text}")]);
        let message = refused(&cli, &strs(&args));
        assert!(message.contains("duration"), "{text:?}: {message}");
    }
    let too_long = [
        "101y",
        "8000y",
        "99999y",
        "1201mo",
        "1201M",
        "5218w",
        "36525d",
        "876583h",
        "3155695201s",
        "3155695201",
        "9223372036854775807s",
        "99999999999999999999",
    ];
    for (i, text) in too_long.iter().enumerate() {
        let args = policy(&format!("Long {i}"), &["--duration", text]);
        let message = refused(&cli, &strs(&args));
        assert!(message.contains("100 years"), "{text:?}: {message}");
    }
    for (flag, field) in [("--ttl", "TTL"), ("--grace", "grace")] {
        for text in ["8000y", "101y"] {
            let args = policy("Long TTL", &[flag, text]);
            let message = refused(&cli, &strs(&args));
            assert!(message.contains("100 years"), "{flag} {text}: {message}");
            assert!(message.contains(field), "{flag} {text}: {message}");
        }
    }
    assert_eq!(rows(&cli), before, "a refused duration writes nothing");

    // The month is a month in the file TTL and the grace too.
    let p = cli.json(
        &strs(&policy(
            "Monthly files",
            &[
                "--duration",
                "1y",
                "--ttl",
                "1M",
                "--grace",
                "1M",
                "--floating",
            ],
        )),
        0,
    );
    assert_eq!(p["fileTtlSeconds"], MONTH, "{p}");
    assert_eq!(p["offlineGraceSeconds"], MONTH, "{p}");

    // --ttl of exports, activation import and license renew --by.
    let license = cli.json(&["license", "issue", "--policy", "Monthly files"], 0);
    let key = license["key"].as_str().unwrap().to_owned();
    let before = rows(&cli);
    for text in ["8000y", "101y", "99999999999999999999s", "1Mo"] {
        let out = cli.arg_path("long.lic");
        let message = refused(
            &cli,
            &["license", "export", &key, "--out", &out, "--ttl", text],
        );
        assert!(
            message.contains("100 years") || message.contains("unit"),
            "{text}: {message}"
        );
        assert!(!cli.path("long.lic").exists());

        let message = refused(&cli, &["license", "renew", &key, "--by", text]);
        assert!(
            message.contains("100 years") || message.contains("unit"),
            "{text}: {message}"
        );
    }
    assert_eq!(
        rows(&cli),
        before,
        "refused exports and renewals write nothing"
    );

    // Renewing by 1M adds a calendar month (it was one minute).
    let old = license["expiry"].as_str().unwrap();
    let renewed = cli.json(&["license", "renew", &key, "--by", "1M"], 0);
    let new = renewed["expiry"].as_str().unwrap();
    let old_dt = old
        .parse::<jiff::Timestamp>()
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::UTC);
    let new_dt = new
        .parse::<jiff::Timestamp>()
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::UTC);
    assert_eq!(
        old_dt
            .datetime()
            .checked_add(jiff::Span::new().months(1))
            .unwrap(),
        new_dt.datetime(),
        "{old} renewed by 1M: {new}"
    );

    // Machine files: activation import and machine export refuse before writing.
    let request = cli.arg_path("request.txt");
    cli.json(
        &[
            "activation",
            "request",
            "--license-key",
            &key,
            "--fingerprint",
            "fp-1",
            "--out",
            &request,
        ],
        0,
    );
    let before = rows(&cli);
    let machine_out = cli.arg_path("machine.lic");
    for text in ["8000y", "101y"] {
        let message = refused(
            &cli,
            &[
                "activation",
                "import",
                &request,
                "--out",
                &machine_out,
                "--ttl",
                text,
            ],
        );
        assert!(message.contains("100 years"), "{text}: {message}");
    }
    assert_eq!(rows(&cli), before, "a refused TTL activates nothing");
    let imported = cli.json(
        &["activation", "import", &request, "--out", &machine_out],
        0,
    );
    let machine = imported["machine"]["id"].as_str().unwrap().to_owned();
    let other = cli.arg_path("other.lic");
    let message = refused(
        &cli,
        &[
            "machine", "export", &machine, "--out", &other, "--ttl", "8000y",
        ],
    );
    assert!(message.contains("100 years"), "{message}");
    assert!(!cli.path("other.lic").exists());
    cli.json(
        &[
            "machine", "export", &machine, "--out", &other, "--ttl", "1M",
        ],
        0,
    );

    println!(
        "durations: {} forms accepted with their exact seconds; {} refused with exit 2 and \
         nothing written: {} unknown or ambiguous units and {} durations over 100 years \
         (policy --duration), 4 policy --ttl/--grace over the limit, 4 license export --ttl, \
         4 license renew --by, 2 activation import --ttl (no seat taken), 1 machine export --ttl",
        accepted.len(),
        unknown.len() + too_long.len() + 4 + 4 + 4 + 2 + 1,
        unknown.len(),
        too_long.len()
    );
}

// ---------------------------------------------------------------------------------
// Item 7: control characters.

/// Characters refused in every one-line field, with the name the message gives them.
const ONE_LINE: [(char, &str); 12] = [
    ('\u{7}', "U+0007 BEL"),
    ('\u{8}', "U+0008 BS"),
    ('\t', "U+0009 HT"),
    ('\n', "U+000A LF"),
    ('\r', "U+000D CR"),
    ('\u{1b}', "U+001B ESC"),
    ('\u{7f}', "U+007F DEL"),
    ('\u{85}', "U+0085 NEL"),
    ('\u{9b}', "U+009B CSI"),
    ('\u{9d}', "U+009D OSC"),
    ('\u{202e}', "U+202E RLO"),
    ('\u{2066}', "U+2066 LRI"),
];

/// Characters refused in multi-line text (support message, metadata values, key
/// template): the controls but line feed and tab; bidirectional marks are allowed there.
const MULTI_LINE: [(char, &str); 8] = [
    ('\u{7}', "U+0007 BEL"),
    ('\u{8}', "U+0008 BS"),
    ('\r', "U+000D CR"),
    ('\u{1b}', "U+001B ESC"),
    ('\u{7f}', "U+007F DEL"),
    ('\u{85}', "U+0085 NEL"),
    ('\u{9b}', "U+009B CSI"),
    ('\u{9d}', "U+009D OSC"),
];

/// An OSC 52 sequence: sets the terminal's clipboard to "hi" when printed raw.
const OSC52: &str = "\u{1b}]52;c;aGk=\u{7}";

struct Tally {
    tried: usize,
}

impl Tally {
    /// Expects the refusal: exit 2, the field and the character named, nothing written.
    fn refuse(&mut self, cli: &Cli, args: &[&str], field: &str, named: &str) {
        self.tried += 1;
        let before = rows(cli);
        let message = refused(cli, args);
        assert!(message.contains(field), "{args:?}: {message}");
        assert!(message.contains(named), "{args:?}: {message}");
        assert!(
            !message.chars().any(|c| c.is_control()),
            "the message itself carries no control character: {message:?}"
        );
        assert_eq!(rows(cli), before, "{args:?} wrote something");
    }
}

#[test]
fn control_characters_are_refused_at_every_entry_point() {
    let cli = Cli::new();
    setup(&cli);
    cli.json(
        &strs(&policy("Seats", &["--floating", "--max-machines", "5"])),
        0,
    );
    let license = cli.json(
        &[
            "license",
            "issue",
            "--policy",
            "Seats",
            "--email",
            "ada@example.com",
        ],
        0,
    );
    let key = license["key"].as_str().unwrap().to_owned();
    let machine = cli.json(&["machine", "activate", &key, "--fingerprint", "fp-ok"], 0);
    let machine = machine["id"].as_str().unwrap().to_owned();
    let mut t = Tally { tried: 0 };

    for (c, named) in ONE_LINE {
        let name = format!("Ev{c}il");
        let s = |f: &str| f.replace('@', &c.to_string());
        t.refuse(&cli, &["key", "create", "--name", &name], "key name", named);
        t.refuse(
            &cli,
            &["product", "create", "--name", &name],
            "product name",
            named,
        );
        t.refuse(
            &cli,
            &["product", "create", "--name", "P", "--code", &s("ZAP@X")],
            "product code",
            named,
        );
        t.refuse(
            &cli,
            &[
                "product",
                "create",
                "--name",
                "P",
                "--url",
                &s("https://zapper.example/@x"),
            ],
            "product URL",
            named,
        );
        t.refuse(&cli, &strs(&policy(&name, &[])), "policy name", named);
        t.refuse(
            &cli,
            &strs(&policy("E", &["--entitlement", &s("EXPORT@PDF")])),
            "entitlement",
            named,
        );
        let issue = |extra: &[&str]| {
            let mut a = vec!["license", "issue", "--policy", "Seats"];
            a.extend_from_slice(extra);
            a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
        };
        t.refuse(
            &cli,
            &strs(&issue(&["--name", &name])),
            "customer name",
            named,
        );
        t.refuse(
            &cli,
            &strs(&issue(&["--email", &format!("ad{c}a@example.com")])),
            "customer email",
            named,
        );
        t.refuse(&cli, &strs(&issue(&["--company", &name])), "company", named);
        let meta_key = json!({ s("ord@er"): "1" }).to_string();
        t.refuse(
            &cli,
            &strs(&issue(&["--metadata", &meta_key])),
            "metadata key",
            named,
        );
        t.refuse(
            &cli,
            &["license", "entitlements", &key, "--set", &s("EXPORT@PDF")],
            "entitlement",
            named,
        );
        t.refuse(
            &cli,
            &["machine", "activate", &key, "--fingerprint", &s("fp@1")],
            "fingerprint",
            named,
        );
        for flag in ["--name", "--hostname", "--platform"] {
            let field = match flag {
                "--name" => "machine name",
                "--hostname" => "hostname",
                _ => "platform",
            };
            t.refuse(
                &cli,
                &[
                    "machine",
                    "activate",
                    &key,
                    "--fingerprint",
                    "fp-2",
                    flag,
                    &name,
                ],
                field,
                named,
            );
        }
        t.refuse(
            &cli,
            &["machine", "transfer", &machine, "--fingerprint", &s("fp@3")],
            "fingerprint",
            named,
        );
        t.refuse(
            &cli,
            &[
                "machine",
                "transfer",
                &machine,
                "--fingerprint",
                "fp-3",
                "--name",
                &name,
            ],
            "machine name",
            named,
        );
    }
    // The email with the character at its very start or end, where trimming could hide it.
    t.refuse(
        &cli,
        &[
            "license",
            "issue",
            "--policy",
            "Seats",
            "--email",
            "\u{1b}ada@example.com",
        ],
        "customer email",
        "U+001B ESC",
    );

    // Multi-line text: line feed and tab are fine, other controls are not.
    for (c, named) in MULTI_LINE {
        let text = format!("Write to us{c} at support@zapper.example");
        t.refuse(
            &cli,
            &[
                "product",
                "create",
                "--name",
                "P",
                "--support-message",
                &text,
            ],
            "support message",
            named,
        );
        let meta = json!({ "notes": { "list": ["fine", text] } }).to_string();
        t.refuse(
            &cli,
            &["license", "issue", "--policy", "Seats", "--metadata", &meta],
            "metadata",
            named,
        );
        let template = format!("{{\"id\":\"{{{{id}}}}\",\"x\":\"a{c}b\"}}");
        t.refuse(
            &cli,
            &strs(&policy("T", &["--template", &template])),
            "key template",
            named,
        );
    }
    let p = cli.json(
        &[
            "product",
            "create",
            "--name",
            "Multi line",
            "--support-message",
            "Write to us:\n\tsupport@zapper.example\nor call \u{2067}+1 555\u{2069}",
        ],
        0,
    );
    assert_eq!(
        p["supportMessage"],
        "Write to us:\n\tsupport@zapper.example\nor call \u{2067}+1 555\u{2069}"
    );
    let l = cli.json(
        &[
            "license",
            "issue",
            "--policy",
            "Seats",
            "--metadata",
            r#"{"address":"1 Main St\nSpringfield","note":"\t-"}"#,
        ],
        0,
    );
    assert!(l["id"].is_string());
    // OSC 52 in a name, as an attacker would send it.
    t.refuse(
        &cli,
        &[
            "license",
            "issue",
            "--policy",
            "Seats",
            "--name",
            &format!("Ada{OSC52}"),
        ],
        "customer name",
        "U+001B ESC",
    );

    // Air-gapped activation: the request's text (bidi override in the hostname; the
    // SDK's parser already refuses C0/C1 controls as a malformed request).
    let request = cli.arg_path("request.txt");
    cli.json(
        &[
            "activation",
            "request",
            "--license-key",
            &key,
            "--fingerprint",
            "fp-req",
            "--hostname",
            "lab\u{202e}exe.txt",
            "--out",
            &request,
        ],
        0,
    );
    let out = cli.arg_path("machine.lic");
    t.refuse(
        &cli,
        &["activation", "import", &request, "--out", &out],
        "hostname",
        "U+202E RLO",
    );
    assert!(!cli.path("machine.lic").exists());

    // A batch CSV: one cell per column.
    let mut batch_cases = 0;
    for (c, named) in [
        ('\u{1b}', "U+001B ESC"),
        ('\u{9b}', "U+009B CSI"),
        ('\u{202e}', "U+202E RLO"),
    ] {
        for (column, field) in [
            (0, "customer name"),
            (1, "customer email"),
            (2, "company"),
            (4, "order id"),
            (5, "Reseller"),
        ] {
            if column == 5 && c == '\u{202e}' {
                continue; // metadata values are free text: bidi marks are allowed
            }
            let mut cells = [
                "Ada".to_owned(),
                "ada@example.com".to_owned(),
                "Analytical".to_owned(),
                "Seats".to_owned(),
                "A-1".to_owned(),
                "North".to_owned(),
            ];
            cells[column].insert(1, c);
            let csv = cli.path("orders.csv");
            std::fs::write(
                &csv,
                format!(
                    "Name,Email,Company,Policy,Order ID,Reseller\n{}\n",
                    cells.join(",")
                ),
            )
            .unwrap();
            let csv = csv.display().to_string();
            let before = rows(&cli);
            for dry in [true, false] {
                let mut args = vec!["license", "batch", csv.as_str()];
                if dry {
                    args.push("--dry-run");
                }
                let out = cli.json(&args, 2);
                let text = out.to_string();
                assert!(
                    text.contains(field) && text.contains(named),
                    "{field} {named}: {text}"
                );
            }
            assert_eq!(rows(&cli), before, "a bad batch row is not issued");
            batch_cases += 1;
        }
    }

    // The activation server: a clear 400 with mini-key-server's field-keyed message,
    // and nothing stored (no machine, no request log row, nothing for `server log` or
    // `machine list` to print).
    let products = cli.json(&["product", "list"], 0);
    let product = products["products"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "ZAP")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let server_cases = serve_hostile(&cli, &key, &product);

    println!(
        "control characters: {} CLI attempts ({} one-line characters x 17 entry points, {} \
         multi-line characters x 3 fields, OSC 52, activation request, edge email) and \
         {batch_cases} batch cells x 2 (dry run, issue) refused with exit 2 naming field \
         and character, nothing written; {server_cases} server requests answered 400, \
         nothing stored",
        t.tried,
        ONE_LINE.len(),
        MULTI_LINE.len()
    );
}

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn serve_hostile(cli: &Cli, key: &str, app: &str) -> usize {
    let machines = cli.count("machines");
    let events = cli.count("server_events");
    let mut child = cli
        .command()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--rate",
            "1000",
            "--burst",
            "1000",
        ])
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();

    let mut cases = 0;
    for (c, named) in ONE_LINE {
        for field in ["hwid", "machine", "user"] {
            let mut args = [
                ("token", key.to_owned()),
                ("app_id", app.to_owned()),
                ("hwid", "hw-1".to_owned()),
                ("machine", "LAB".to_owned()),
                ("user", "ada".to_owned()),
            ];
            for (k, v) in args.iter_mut() {
                if *k == field {
                    *v = if c == '\u{1b}' {
                        format!("x{OSC52}y")
                    } else {
                        format!("x{c}y")
                    };
                }
            }
            let body = args
                .iter()
                .map(|(k, v)| format!("{k}={}", percent(v)))
                .collect::<Vec<_>>()
                .join("&");
            for request in [
                format!(
                    "POST /api/activate HTTP/1.1\r\nHost: {addr}\r\nContent-Type: \
                     application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{body}",
                    body.len()
                ),
                format!(
                    "GET /api/check?{body} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
                ),
            ] {
                let (status, _, text) = http(&addr, &request);
                assert_eq!(status, 400, "{field} {named}: {text}");
                let json: Value = serde_json::from_str(&text).unwrap();
                let message = json["message"][field]
                    .as_str()
                    .unwrap_or_else(|| panic!("{field} {named}: {text}"));
                assert!(message.contains(named), "{field} {named}: {message}");
                assert_eq!(json["result"], "failure", "{text}");
                cases += 1;
            }
        }
        let body = json!({ "key": key, "machine_id": format!("hw{c}1") }).to_string();
        let (status, _, text) = http(
            &addr,
            &format!(
                "POST /api/validate HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        );
        assert_eq!(status, 400, "machine_id {named}: {text}");
        let json: Value = serde_json::from_str(&text).unwrap();
        assert!(
            json["message"]["machine_id"]
                .as_str()
                .unwrap()
                .contains(named),
            "{text}"
        );
        cases += 1;
    }
    // A clean activation still works.
    let body = format!(
        "token={}&app_id={app}&hwid=hw-1&machine=LAB&user=ada",
        percent(key)
    );
    let (status, _, text) = http(
        &addr,
        &format!(
            "POST /api/activate HTTP/1.1\r\nHost: {addr}\r\nContent-Type: \
             application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert_eq!(status, 201, "{text}");

    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    assert!(child.wait().unwrap().success());

    assert_eq!(
        cli.count("machines"),
        machines + 1,
        "only the clean activation"
    );
    assert_eq!(
        cli.count("server_events"),
        events + 1,
        "only the clean request"
    );
    let log = cli.run(&["server", "log"]);
    assert!(
        !log.stdout.iter().any(|b| *b == 0x1b || *b == 0x07),
        "server log prints no escape"
    );
    cases
}
