//! Issue 5: one connection reference per service identity (CR201–CR207, `connref graph`,
//! flows grouped by identity). CR203 and CR206 read deployment settings, which this branch does
//! not parse yet: their firing cases and near misses are unit tests in `src/rules/identity.rs`.

mod common;
use common::*;

const DV: &str = "shared_commondataserviceforapps";
const SQL: &str = "shared_sql";
const MAIL: &str = "shared_office365";

const TWO_IDENTITIES: &str = r#"[[identity]]
name = "reporting"
flows = ["Report *"]

[[identity]]
name = "writer"
flows = ["Sync *"]
"#;

/// Solution `Ops` (prefix `cat`) with the given references and, per flow, `(name, guid, refs)`.
fn repo(refs: &[(&str, &str)], flows: &[(&str, &str, &[&str])], config: Option<&str>) -> Fixture {
    let f = Fixture::new();
    let refs3: Vec<(&str, &str, &str)> = refs.iter().map(|(n, api)| (*n, *n, *api)).collect();
    solution(&f, "src", "Ops", "cat", &refs3);
    for (name, guid, bound) in flows {
        let entries: Vec<(String, &str, &str)> = bound
            .iter()
            .enumerate()
            .map(|(i, ln)| {
                let api = refs.iter().find(|(n, _)| n == ln).map_or(DV, |(_, a)| *a);
                (format!("{api}_{i}"), *ln, api)
            })
            .collect();
        let e: Vec<(&str, &str, &str)> = entries.iter().map(|(k, l, a)| (k.as_str(), *l, *a)).collect();
        flow(&f, "src", name, guid, 1, &e);
    }
    if let Some(c) = config {
        f.write("connref.toml", c);
    }
    f
}

const BASE_REFS: &[(&str, &str)] = &[
    ("cat_reporting_dataverse", DV),
    ("cat_writer_dataverse", DV),
    ("cat_writer_sql", SQL),
];

fn guid(n: u32) -> String {
    format!("00000000-0000-0000-0000-{n:012}")
}

/// Codes of a `check --format json` run, with the reference or flow each is about.
fn codes(f: &Fixture) -> Vec<(String, String)> {
    let out = connref(f.path(), &["check", "--format", "json"]);
    assert!(out.code == 0 || out.code == 1, "{}{}", out.stdout, out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json report");
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let about = f["flow"].as_str().or(f["reference"].as_str()).unwrap_or_default();
            (f["code"].as_str().unwrap_or_default().to_owned(), about.to_owned())
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[test]
fn one_reference_per_identity_is_clean() {
    let (g1, g2) = (guid(1), guid(2));
    let f = repo(
        BASE_REFS,
        &[
            ("Report daily", &g1, &["cat_reporting_dataverse"]),
            ("Sync accounts", &g2, &["cat_writer_dataverse", "cat_writer_sql"]),
        ],
        Some(TWO_IDENTITIES),
    );
    let out = connref(f.path(), &["check"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stderr, "");
    snap!("identity_clean_human", out.stdout);
}

#[test]
fn cr201_and_cr202_reference_shared_across_identities() {
    let (g1, g2, g3) = (guid(1), guid(2), guid(3));
    let f = repo(
        BASE_REFS,
        &[
            ("Report daily", &g1, &["cat_reporting_dataverse"]),
            ("Sync accounts", &g2, &["cat_writer_dataverse", "cat_writer_sql"]),
            ("Report weekly", &g3, &["cat_writer_dataverse"]),
        ],
        Some(TWO_IDENTITIES),
    );
    assert_eq!(codes(&f), pairs(&[("CR201", "cat_writer_dataverse"), ("CR202", "Report weekly")]));
    let out = connref(f.path(), &["check"]);
    assert_eq!(out.code, 1);
    snap!("identity_cr201_cr202_human", out.stdout);
}

#[test]
fn cr201_near_miss_two_flows_of_one_identity() {
    let (g1, g2, g3) = (guid(1), guid(2), guid(3));
    let f = repo(
        BASE_REFS,
        &[
            ("Report daily", &g1, &["cat_reporting_dataverse"]),
            ("Sync accounts", &g2, &["cat_writer_dataverse"]),
            ("Sync contacts", &g3, &["cat_writer_dataverse", "cat_writer_sql"]),
        ],
        Some(TWO_IDENTITIES),
    );
    assert_eq!(codes(&f), []);
}

#[test]
fn cr202_flow_bound_to_another_identitys_reference() {
    let refs = &[
        ("cat_reporting_dataverse", DV),
        ("cat_writer_dataverse", DV),
        ("cat_writer_outlook", MAIL),
        ("cat_notify_outlook", MAIL),
    ];
    let (g1, g2, g3) = (guid(1), guid(2), guid(3));
    let f = repo(
        refs,
        &[
            ("Report daily", &g1, &["cat_reporting_dataverse", "cat_writer_outlook"]),
            ("Sync accounts", &g2, &["cat_writer_dataverse"]),
            ("Report mail", &g3, &["cat_notify_outlook"]),
        ],
        Some(TWO_IDENTITIES),
    );
    // `cat_notify_outlook` belongs to no identity: binding it is not CR202 (the near miss).
    assert_eq!(codes(&f), pairs(&[("CR202", "Report daily")]));
    let out = connref(f.path(), &["check"]);
    assert!(
        out.stdout.contains("bind it to a reference of identity `reporting`"),
        "{}",
        out.stdout
    );
}

#[test]
fn cr204_flow_without_identity_and_path_globs() {
    let (g1, g2, g3) = (guid(1), guid(2), guid(3));
    let flows: &[(&str, &str, &[&str])] = &[
        ("Report daily", &g1, &["cat_reporting_dataverse"]),
        ("Sync accounts", &g2, &["cat_writer_dataverse"]),
        ("Cleanup", &g3, &["cat_writer_sql"]),
    ];
    let f = repo(BASE_REFS, flows, Some(TWO_IDENTITIES));
    assert_eq!(codes(&f), pairs(&[("CR204", "Cleanup")]));
    let out = connref(f.path(), &["check"]);
    assert_eq!(out.code, 0, "a warning does not fail the check");
    assert!(
        out.stdout
            .contains("src/Workflows/Cleanup-00000000-0000-0000-0000-000000000003.json.data.xml:2:"),
        "{}",
        out.stdout
    );
    snap!("identity_cr204_human", out.stdout);

    // Near miss: a glob with a `/` matches the flow by its file path.
    let config = TWO_IDENTITIES.replace("[\"Sync *\"]", "[\"Sync *\", \"src/Workflows/Cleanup-*\"]");
    let f = repo(BASE_REFS, flows, Some(&config));
    assert_eq!(codes(&f), []);
}

#[test]
fn cr205_identity_with_two_references_for_one_connector() {
    let refs = &[
        ("cat_reporting_dataverse", DV),
        ("cat_writer_dataverse", DV),
        ("cat_writer_cds", DV),
        ("cat_writer_sql", SQL),
    ];
    let (g1, g2) = (guid(1), guid(2));
    let f = repo(
        refs,
        &[
            ("Report daily", &g1, &["cat_reporting_dataverse"]),
            ("Sync accounts", &g2, &["cat_writer_dataverse", "cat_writer_cds", "cat_writer_sql"]),
        ],
        Some(TWO_IDENTITIES),
    );
    assert_eq!(codes(&f), pairs(&[("CR205", "cat_writer_cds")]));
    // Near miss: `cat_writer_sql` is the same identity but another connector (checked above).
}

#[test]
fn explicit_reference_globs_replace_the_purpose_default() {
    let refs = &[("cat_reports_dataverse", DV), ("cat_writer_dataverse", DV)];
    let (g1, g2, g3) = (guid(1), guid(2), guid(3));
    let flows: &[(&str, &str, &[&str])] = &[
        ("Report daily", &g1, &["cat_writer_dataverse"]),
        ("Sync accounts", &g2, &["cat_writer_dataverse"]),
        ("Report monthly", &g3, &["cat_reports_dataverse"]),
    ];
    let config = TWO_IDENTITIES.replace("flows = [\"Report *\"]", "flows = [\"Report *\"]\nreferences = [\"CAT_REPORTS_*\"]");
    let f = repo(refs, flows, Some(&config));
    assert_eq!(codes(&f), pairs(&[("CR201", "cat_writer_dataverse"), ("CR202", "Report daily")]));
}

fn busy(n: u32, config: Option<&str>) -> Fixture {
    let guids: Vec<String> = (1..=n).map(guid).collect();
    let names: Vec<String> = (1..=n).map(|i| format!("Job {i}")).collect();
    let bound: &[&str] = &["cat_jobs_dataverse"];
    let flows: Vec<(&str, &str, &[&str])> = names.iter().zip(&guids).map(|(n, g)| (n.as_str(), g.as_str(), bound)).collect();
    repo(&[("cat_jobs_dataverse", DV)], &flows, config)
}

#[test]
fn cr207_busy_reference_without_identities() {
    let f = busy(11, None);
    assert_eq!(codes(&f), pairs(&[("CR207", "cat_jobs_dataverse")]));
    let out = connref(f.path(), &["check"]);
    assert_eq!(out.code, 0, "CR207 is never an error without config");
    snap!("identity_cr207_human", out.stdout);
}

#[test]
fn cr207_near_misses() {
    assert_eq!(codes(&busy(10, None)), []);
    assert_eq!(codes(&busy(11, Some("[identities]\nmax_flows_per_reference = 11\n"))), []);
    // With identities configured, CR207 gives way to the identity rules.
    let config = "[[identity]]\nname = \"jobs\"\nflows = [\"Job *\"]\n";
    assert_eq!(codes(&busy(11, Some(config))), []);
}

#[test]
fn bad_identity_config_is_an_error_with_its_line() {
    let cases = [
        (
            "[[identity]]\nname = \"writer\"\nflows = [\"Sync *\"]\n\n[[identity]]\nname = \"writer\"\n",
            "line 6: two identities are named `writer` (the first is on line 2)",
        ),
        (
            "[[identity]]\nname = \"service-writer\"\n",
            "line 2: identity name `service-writer` is not a purpose segment",
        ),
        (
            "[[identity]]\nname = \"writer\"\nflows = [\"Sync [a\"]\n",
            "line 3: identity `writer` flows glob `Sync [a` does not compile",
        ),
        (
            "[[identity]]\nname = \"writer\"\nreferences = [\"cat_{writer\"]\n",
            "line 3: identity `writer` references glob `cat_{writer` does not compile",
        ),
        ("[[identity]]\nname = \"writer\"\nflow = [\"Sync *\"]\n", "unknown field `flow`"),
    ];
    for (config, want) in cases {
        let f = repo(BASE_REFS, &[], Some(config));
        for cmd in [&["check"][..], &["graph"][..]] {
            let out = connref(f.path(), cmd);
            assert_eq!(out.code, 2, "{cmd:?} {config}: {}{}", out.stdout, out.stderr);
            assert!(out.stderr.starts_with("connref: error: "), "{}", out.stderr);
            assert!(out.stderr.contains(want), "want {want:?} in {}", out.stderr);
            assert_eq!(out.stdout, "");
        }
    }
}

#[test]
fn useless_identity_config_is_a_warning() {
    let g1 = guid(1);
    let config = format!("{TWO_IDENTITIES}\n[[identity]]\nname = \"portal\"\nflows = [\"Portal *\"]\n");
    let f = repo(BASE_REFS, &[("Report daily", &g1, &["cat_reporting_dataverse"])], Some(&config));
    let out = connref(f.path(), &["check"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    snap!("identity_useless_config_stderr", out.stderr);
    // Near miss: every identity matches a flow and owns a reference.
    let f = repo(
        BASE_REFS,
        &[
            ("Report daily", &g1, &["cat_reporting_dataverse"]),
            ("Sync accounts", &guid(2), &["cat_writer_dataverse"]),
        ],
        Some(TWO_IDENTITIES),
    );
    assert_eq!(connref(f.path(), &["check"]).stderr, "");
}

#[test]
fn json_report_groups_flows_by_identity() {
    let (g1, g2, g3) = (guid(1), guid(2), guid(3));
    let f = repo(
        BASE_REFS,
        &[
            ("Report daily", &g1, &["cat_reporting_dataverse"]),
            ("Sync accounts", &g2, &["cat_writer_dataverse", "cat_writer_sql"]),
            ("Cleanup", &g3, &["cat_writer_sql"]),
        ],
        Some(TWO_IDENTITIES),
    );
    let out = connref(f.path(), &["check", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    snap!(
        "identity_json_groups",
        serde_json::to_string_pretty(&v["identities"]).unwrap_or_default()
    );
    for key in ["version", "findings", "summary"] {
        assert!(v.get(key).is_some(), "{key} kept");
    }
    // Without identities, the key is absent and the human report has no identity section.
    f.remove("connref.toml");
    let out = connref(f.path(), &["check", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert!(v.get("identities").is_none(), "{}", out.stdout);
    assert!(!connref(f.path(), &["check"]).stdout.contains("identities:"));
}

fn graph_fixture() -> Fixture {
    let (g1, g2, g3, g4) = (guid(1), guid(2), guid(3), guid(4));
    // The flow name holds characters that Mermaid, Markdown, HTML and DOT would read.
    repo(
        BASE_REFS,
        &[
            ("Report daily", &g1, &["cat_reporting_dataverse"]),
            ("Sync accounts", &g2, &["cat_writer_dataverse", "cat_writer_sql"]),
            ("Report &quot;weekly&quot; &lt;b&gt;#1", &g3, &["cat_writer_dataverse"]),
            ("Cleanup", &g4, &["cat_writer_sql"]),
        ],
        Some(TWO_IDENTITIES),
    )
}

#[test]
fn graph_in_each_format() {
    let f = graph_fixture();
    for (format, name) in [
        ("mermaid", "identity_graph_mermaid"),
        ("dot", "identity_graph_dot"),
        ("json", "identity_graph_json"),
    ] {
        let out = connref(f.path(), &["graph", "--format", format]);
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
        snap!(name, out.stdout);
    }
    let mermaid = connref(f.path(), &["graph"]).stdout;
    assert!(mermaid.starts_with("flowchart LR\n"));
    assert!(!mermaid.contains("<b>") && !mermaid.contains("\"weekly\""), "{mermaid}");
    let json: serde_json::Value = serde_json::from_str(&connref(f.path(), &["graph", "--format", "json"]).stdout).expect("json");
    assert!(
        json["nodes"]
            .as_array()
            .is_some_and(|n| n.iter().any(|n| n["name"] == "Report \"weekly\" <b>#1"))
    );
}

#[test]
fn graph_without_identities() {
    let f = busy(3, None);
    let out = connref(f.path(), &["graph"]);
    assert_eq!(out.code, 0);
    snap!("identity_graph_no_identities", out.stdout);
}

/// The toml blocks of the README's identity section, in order.
fn doc_configs() -> Vec<String> {
    let readme = std::fs::read_to_string(manifest_dir().join("README.md")).expect("README.md");
    let start = readme
        .find("\n## One connection reference per service identity")
        .expect("the README has the identity section");
    let section = &readme[start + 1..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in section.lines() {
        match (&mut cur, line.trim_end()) {
            (None, "```toml") => cur = Some(String::new()),
            (Some(c), "```") => {
                out.push(std::mem::take(c));
                cur = None;
            }
            (Some(c), l) => {
                c.push_str(l);
                c.push('\n');
            }
            _ => {}
        }
    }
    out
}

#[test]
fn docs_example_shows_each_finding() {
    let configs = doc_configs();
    assert_eq!(
        configs.len(),
        2,
        "the README's identity section has the identity example and the no-identity example"
    );
    let refs = &[
        ("cat_reporting_dataverse", DV),
        ("cat_writer_dataverse", DV),
        ("cat_writer_cds", DV),
        ("cat_writer_sql", SQL),
        ("cat_portal_dataverse", DV),
    ];
    let (g1, g2, g3, g4, g5) = (guid(1), guid(2), guid(3), guid(4), guid(5));
    let f = repo(
        refs,
        &[
            ("Report daily", &g1, &["cat_reporting_dataverse"]),
            ("Report weekly", &g2, &["cat_writer_dataverse"]),
            ("Sync accounts", &g3, &["cat_writer_dataverse", "cat_writer_cds", "cat_writer_sql"]),
            ("Portal signup", &g4, &["cat_portal_dataverse"]),
            ("Cleanup", &g5, &["cat_writer_sql"]),
        ],
        Some(&configs[0]),
    );
    // Deployment settings for Prod: CR203 and CR206 show here, and CR401 for the two
    // references that the file does not list.
    f.write(
        "deploy/prod.json",
        r#"{
  "EnvironmentVariables": [],
  "ConnectionReferences": [
    { "LogicalName": "cat_reporting_dataverse", "ConnectionId": "4d1c0e0f2a8b4e7f9d3e5a6b7c8d9e0f", "ConnectorId": "/providers/Microsoft.PowerApps/apis/shared_commondataserviceforapps" },
    { "LogicalName": "cat_writer_dataverse", "ConnectionId": "4d1c0e0f2a8b4e7f9d3e5a6b7c8d9e0f", "ConnectorId": "/providers/Microsoft.PowerApps/apis/shared_commondataserviceforapps" },
    { "LogicalName": "cat_portal_dataverse", "ConnectionId": "9a8b7c6d5e4f40312a1b2c3d4e5f6a7b", "ConnectorId": "/providers/Microsoft.PowerApps/apis/shared_commondataserviceforapps" }
  ]
}
"#,
    );
    let out = connref(f.path(), &["check"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let got = codes(&f);
    for code in ["CR201", "CR202", "CR204", "CR205"] {
        assert!(got.iter().any(|(c, _)| c == code), "{code} in {got:?}");
    }
    snap!("identity_docs_example", format!("{}--- stderr ---\n{}", out.stdout, out.stderr));
    snap!("identity_docs_example_graph", connref(f.path(), &["graph"]).stdout);

    let f = busy(4, Some(&configs[1]));
    let out = connref(f.path(), &["check"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(codes(&f), pairs(&[("CR207", "cat_jobs_dataverse")]));
    snap!("identity_docs_example_cr207", out.stdout);
}

#[test]
fn mermaid_for_the_references_a_change_touches() {
    use connref::config::Config;
    use connref::load::{self, worktree::WorkTree};
    use connref::rules::{self, Context};

    let f = graph_fixture();
    let config = Config::load(None, f.path()).expect("config");
    let tree = WorkTree::open(f.path()).expect("tree");
    let snapshot = load::snapshot(&tree, None, &config);
    let ctx = Context::new(&snapshot, &config);
    let findings = rules::check(&ctx);
    let only = ["CAT_WRITER_SQL".to_owned()];
    let m = connref::report::graph::render_mermaid(&connref::report::graph::build(&ctx, &findings, Some(&only)));
    snap!("identity_graph_mermaid_only", m);
    assert!(!m.contains("cat_reporting_dataverse") && !m.contains("Report daily"), "{m}");
}
