//! The YAML layout (Dataverse Git integration, `pac solution clone`), the extracted-zip layout,
//! and the no-source exit: every rule family on YAML fixtures with exact positions, an XML→YAML
//! move in a real git repository, bad YAML input, and PATHs with nothing to check.

mod common;
use common::*;

use serde_json::Value;

const G1: &str = "4d2c8e1a-6b7f-4e90-a1b2-c3d4e5f60718";
const G2: &str = "9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a";

/// A YAML root with solution `unique`, publisher prefix `prefix` and the given references
/// (`(logical name, api name)`); every component listed in solutioncomponents.yml.
fn yaml_solution(f: &Fixture, root: &str, unique: &str, prefix: &str, refs: &[(&str, &str)], flows: &[&str]) {
    let j = |p: &str| if root.is_empty() { p.to_owned() } else { format!("{root}/{p}") };
    f.write(
        &j(&format!("solutions/{unique}/solution.yml")),
        format!("ImportExportXml:\n  '@version': 9.2.25044.184\n  SolutionManifest:\n    UniqueName: {unique}\n    Version: 1.0.0.0\n    Managed: 0\n    Publisher:\n      UniqueName: {prefix}pub\n"),
    );
    let mut comps = String::from("SolutionComponents:\n  Component:\n");
    for (name, api) in refs {
        comps.push_str(&format!("  - '@path': /connectionreferences/{name}\n"));
        f.write(
            &j(&format!("connectionreferences/{name}/connectionreference.yml")),
            format!("connectionreference:\n  '@connectionreferencelogicalname': {name}\n  connectionreferencedisplayname: {name} display\n  connectorid: /providers/Microsoft.PowerApps/apis/{api}\n  iscustomizable: 1\n  statecode: 0\n  statuscode: 1\n"),
        );
    }
    for g in flows {
        comps.push_str(&format!("  - Path: modernflows/{g}\n"));
    }
    comps.push_str(&format!("  - '@path': /publishers/{prefix}pub\n"));
    f.write(&j(&format!("solutions/{unique}/solutioncomponents.yml")), comps);
    f.write(
        &j(&format!("publishers/{prefix}pub/publisher.yml")),
        format!("Publisher:\n  UniqueName: {prefix}pub\n  CustomizationPrefix: {prefix}\n  CustomizationOptionValuePrefix: '61044'\n"),
    );
}

/// A cloud flow in `modernflows/<guid>/`: workflow.yml (StateCode on line 6) and its JSON, whose
/// entry `i` sits at line `4 + 8*i` (the `connectionReferenceLogicalName` line is `+3`).
fn yaml_flow(f: &Fixture, root: &str, name: &str, guid: &str, state: &str, entries: &[(&str, &str, &str)]) -> String {
    let j = |p: &str| if root.is_empty() { p.to_owned() } else { format!("{root}/{p}") };
    let file = format!("modernflows/{guid}/{}-{}.json", name.replace(' ', ""), guid.to_ascii_uppercase());
    f.write(
        &j(&format!("modernflows/{guid}/workflow.yml")),
        format!("Workflow:\n  '@WorkflowId': '{{{guid}}}'\n  '@Name': {name}\n  JsonFileName: /{file}\n  Category: 5\n  StateCode: {state}\n  StatusCode: 2\n  ModernFlowType: 0\n  PrimaryEntity: none\n"),
    );
    f.write(&j(&file), flow_json(entries));
    j(&file)
}

/// Solution `Billing` in `root` with one reference and one flow bound to it: clean.
fn billing(f: &Fixture, root: &str) {
    yaml_solution(
        f,
        root,
        "Billing",
        "contoso",
        &[("contoso_billing_outlook", "shared_office365")],
        &[G1],
    );
    yaml_flow(
        f,
        root,
        "Send invoice",
        G1,
        "1",
        &[("shared_office365", "contoso_billing_outlook", "shared_office365")],
    );
}

fn json_check(f: &Fixture, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["check", "--format", "json"];
    all.extend(args);
    let out = connref(f.path(), &all);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}\n{}", out.stdout, out.stderr));
    (out.code, doc)
}

/// `(code, path, line, column)` of every finding.
fn places(doc: &Value) -> Vec<(String, String, u64, u64)> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|x| {
            (
                x["code"].as_str().unwrap_or_default().to_owned(),
                x["path"].as_str().unwrap_or_default().to_owned(),
                x["line"].as_u64().unwrap_or(0),
                x["column"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn has(doc: &Value, code: &str, path: &str, line: u64, column: u64) {
    let all = places(doc);
    assert!(
        all.iter()
            .any(|(c, p, l, col)| c == code && p == path && *l == line && *col == column),
        "expected {code} at {path}:{line}:{column}, found {all:#?}"
    );
}

fn codes(doc: &Value) -> Vec<String> {
    places(doc).into_iter().map(|p| p.0).collect()
}

#[test]
fn example_report_snapshot() {
    let out = connref(&manifest_dir(), &["check", "examples/fabrikam-yaml"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    snap!("yaml_check_human", out.stdout);
}

#[test]
fn a_clean_yaml_root_is_checked_and_clean() {
    let f = Fixture::new();
    billing(&f, "Flows");
    let (code, doc) = json_check(&f, &[]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(codes(&doc), Vec::<String>::new());
    assert_eq!(doc["summary"]["solutions"], 1);
}

#[test]
fn naming_and_flow_rules_point_into_yaml_and_flow_json() {
    let f = Fixture::new();
    yaml_solution(
        &f,
        "",
        "Billing",
        "contoso",
        &[
            ("billingoutlook", "shared_office365"),                // CR101
            ("fab_billing_outlook", "shared_office365"),           // CR102
            ("contoso_billing_sharepoint", "shared_office365"),    // CR103
            ("contoso_sharedoffice365_87e06", "shared_office365"), // CR104
            ("contoso_alerts_teams", "shared_teams"),
            ("contoso_spare_teams", "shared_teams"),                   // CR503
            ("contoso_reports_sharepoint", "shared_sharepointonline"), // CR504, CR507
        ],
        &[G1, G2],
    );
    let a = yaml_flow(
        &f,
        "",
        "Send invoice",
        G1,
        "0", // CR505
        &[
            ("shared_office365", "billingoutlook", "shared_office365"),
            ("shared_office365_1", "fab_billing_outlook", "shared_office365"),
            ("shared_office365_2", "contoso_billing_sharepoint", "shared_office365"),
            ("shared_office365_3", "contoso_sharedoffice365_87e06", "shared_office365"),
            ("shared_teams", "contoso_missing_teams", "shared_teams"), // CR502
            ("shared_sharepointonline", "CONTOSO_REPORTS_SHAREPOINT", "shared_office365"),
        ],
    );
    // A flow with an embedded connection, a leaked id and an undeclared key; no metadata.
    let b = format!("modernflows/{G2}/Other-{}.json", G2.to_ascii_uppercase());
    f.write(
        &b,
        "{\n  \"properties\": {\n    \"connectionReferences\": {\n      \"shared_office365\": {\n        \"connection\": {\n          \"name\": \"shared-office365-1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809\"\n        },\n        \"api\": {\n          \"name\": \"shared_office365\"\n        }\n      },\n      \"shared_teams\": {\n        \"connection\": {\n          \"connectionReferenceLogicalName\": \"contoso_alerts_teams\"\n        },\n        \"connectionName\": \"shared-teams-0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9\",\n        \"api\": {\n          \"name\": \"shared_teams\"\n        }\n      }\n    },\n    \"definition\": {\n      \"actions\": {\n        \"Post\": {\n          \"type\": \"OpenApiConnection\",\n          \"inputs\": {\n            \"host\": {\n              \"connectionName\": \"shared_teams_9\",\n              \"operationId\": \"Post\"\n            }\n          }\n        }\n      }\n    }\n  }\n}\n",
    );
    let (code, doc) = json_check(&f, &[]);
    assert_eq!(code, 1);
    let cr = |n: &str| format!("connectionreferences/{n}/connectionreference.yml");
    // A reference finding is on the `'@connectionreferencelogicalname'` line.
    has(&doc, "CR101", &cr("billingoutlook"), 2, 3);
    has(&doc, "CR102", &cr("fab_billing_outlook"), 2, 3);
    has(&doc, "CR103", &cr("contoso_billing_sharepoint"), 2, 3);
    has(&doc, "CR104", &cr("contoso_sharedoffice365_87e06"), 2, 3);
    has(&doc, "CR503", &cr("contoso_spare_teams"), 2, 3);
    // Flow findings are in the flow's JSON, CR505 on the StateCode line of workflow.yml.
    has(&doc, "CR502", &a, 43, 11);
    has(&doc, "CR504", &a, 55, 11);
    has(&doc, "CR507", &a, 52, 11);
    has(&doc, "CR505", &format!("modernflows/{G1}/workflow.yml"), 6, 3);
    has(&doc, "CR501", &b, 6, 11);
    has(&doc, "CR506", &b, 16, 9);
    has(&doc, "CR508", &b, 28, 15);
    has(&doc, "CR509", &b, 1, 1);
    let cr509 = doc["findings"].as_array().unwrap().iter().find(|x| x["code"] == "CR509").unwrap();
    assert!(cr509["message"].as_str().unwrap().contains("workflow.yml"), "{cr509}");
    // Near miss: a well-named reference, used with its own spelling, gets nothing.
    assert!(!places(&doc).iter().any(|p| p.1 == cr("contoso_alerts_teams")), "{doc:#}");
}

#[test]
fn several_solutions_share_a_root_through_solutioncomponents() {
    let f = Fixture::new();
    yaml_solution(
        &f,
        "",
        "Core",
        "contoso",
        &[("contoso_core_dataverse", "shared_commondataserviceforapps")],
        &[],
    );
    yaml_solution(&f, "", "Ext", "contoso", &[], &[G1]);
    // Ext's flow is bound to a reference that only Core lists: a cross-solution dependency.
    yaml_flow(
        &f,
        "",
        "Sync",
        G1,
        "1",
        &[(
            "shared_commondataserviceforapps",
            "contoso_core_dataverse",
            "shared_commondataserviceforapps",
        )],
    );
    // A reference no solution lists belongs to none.
    f.write(
        "connectionreferences/contoso_stray_outlook/connectionreference.yml",
        "connectionreference:\n  '@connectionreferencelogicalname': contoso_stray_outlook\n  connectorid: /providers/Microsoft.PowerApps/apis/shared_office365\n",
    );
    let (_, doc) = json_check(&f, &[]);
    assert_eq!(doc["summary"]["solutions"], 2, "{doc:#}");
    let cr502: Vec<&Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["code"] == "CR502")
        .collect();
    assert_eq!(cr502.len(), 1, "{doc:#}");
    assert_eq!(cr502[0]["severity"], "warning", "another solution of the repository defines it");
    assert!(
        !codes(&doc).contains(&"CR503".to_owned()),
        "the stray reference is in no solution: {doc:#}"
    );
    assert!(!places(&doc).iter().any(|p| p.1.contains("contoso_stray_outlook")), "{doc:#}");
}

#[test]
fn settings_graph_and_identity_work_on_yaml_roots() {
    let f = Fixture::new();
    billing(&f, "Flows");
    f.write(
        "Flows/config/Test/deploymentSettings.json",
        "{\n  \"EnvironmentVariables\": [],\n  \"ConnectionReferences\": []\n}\n",
    );
    let (_, doc) = json_check(&f, &[]);
    has(&doc, "CR401", "Flows/config/Test/deploymentSettings.json", 3, 27);
    let out = connref(f.path(), &["settings", "--env", "Prod", "--write"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let written =
        std::fs::read_to_string(f.path().join("Flows/config/Prod/deploymentSettings.json")).expect("written under the root's config/");
    assert!(written.contains("contoso_billing_outlook"), "{written}");
    let graph = connref(f.path(), &["graph", "--format", "json"]);
    assert_eq!(graph.code, 0, "{}", graph.stderr);
    assert!(
        graph.stdout.contains("contoso_billing_outlook") && graph.stdout.contains("Send invoice"),
        "{}",
        graph.stdout
    );
}

#[test]
fn a_move_from_xml_to_yaml_is_no_event_and_a_later_removal_is() {
    let f = Fixture::new();
    let refs = [
        ("contoso_billing_outlook", "Mail", "shared_office365"),
        ("contoso_billing_teams", "Teams", "shared_teams"),
    ];
    solution(&f, "src", "Billing", "contoso", &refs);
    flow(
        &f,
        "src",
        "Send invoice",
        G1,
        1,
        &[("shared_office365", "contoso_billing_outlook", "shared_office365")],
    );
    f.git(&["init", "-q"]);
    f.git(&["add", "-A"]);
    f.git(&["commit", "-q", "-m", "xml"]);
    std::fs::remove_dir_all(f.path().join("src")).expect("remove the XML root");
    let yrefs = [
        ("contoso_billing_outlook", "shared_office365"),
        ("contoso_billing_teams", "shared_teams"),
    ];
    yaml_solution(&f, "Flows", "Billing", "contoso", &yrefs, &[G1]);
    yaml_flow(
        &f,
        "Flows",
        "Send invoice",
        G1,
        "1",
        &[("shared_office365", "contoso_billing_outlook", "shared_office365")],
    );
    f.git(&["add", "-A"]);
    f.git(&["commit", "-q", "-m", "move to the YAML layout"]);
    let (code, doc) = json_check(&f, &["--base", "HEAD~1"]);
    let stability: Vec<String> = codes(&doc).into_iter().filter(|c| c.starts_with("CR3")).collect();
    assert!(stability.is_empty(), "a move keeping names and GUIDs is no event: {doc:#}");
    assert_eq!(code, 0, "{doc:#}");
    let history = connref(f.path(), &["history", "--format", "json"]);
    assert_eq!(history.code, 0, "{}", history.stderr);
    assert!(!history.stdout.contains("CR30"), "{}", history.stdout);
    // Removing a reference after the move is CR301 as usual.
    std::fs::remove_dir_all(f.path().join("Flows/connectionreferences/contoso_billing_teams")).expect("remove");
    f.git(&["add", "-A"]);
    f.git(&["commit", "-q", "-m", "drop teams"]);
    let (code, doc) = json_check(&f, &["--base", "HEAD~1"]);
    assert_eq!(code, 1);
    assert!(codes(&doc).contains(&"CR301".to_owned()), "{doc:#}");
    let diff = connref(f.path(), &["diff", "--base", "HEAD~1", "--format", "json"]);
    assert!(diff.stdout.contains("CR301"), "{}", diff.stdout);
}

#[test]
fn bad_yaml_is_cr900_at_the_parser_position_and_the_rest_is_checked() {
    let f = Fixture::new();
    billing(&f, "");
    // Without solutioncomponents.yml the one solution owns every component of its root.
    f.remove("solutions/Billing/solutioncomponents.yml");
    let cr = |n: &str| format!("connectionreferences/{n}/connectionreference.yml");
    f.write(
        &cr("contoso_tabs_outlook"),
        "connectionreference:\n\t'@connectionreferencelogicalname': x\n",
    );
    f.write(
        &cr("contoso_dup_outlook"),
        "connectionreference:\n  '@connectionreferencelogicalname': a\n  '@connectionreferencelogicalname': b\n",
    );
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..30 {
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n",
            p = i - 1
        ));
    }
    bomb.push_str("connectionreference:\n  '@connectionreferencelogicalname': contoso_bomb_outlook\n  connectorid: /providers/Microsoft.PowerApps/apis/shared_office365\n");
    f.write(&cr("contoso_bomb_outlook"), bomb);
    f.write(&cr("contoso_deep_outlook"), "[".repeat(100_000));
    let mut deep_block = String::from("connectionreference:\n");
    for i in 0..100_000 {
        deep_block.push_str(&" ".repeat((i % 200) + 2));
        deep_block.push_str("k:\n");
    }
    f.write(&cr("contoso_deepblock_outlook"), deep_block);
    let huge = format!(
        "connectionreference:\n  '@connectionreferencelogicalname': contoso_huge_outlook\n  connectorid: /providers/Microsoft.PowerApps/apis/shared_office365\n  description: {}\n",
        "x".repeat(10 << 20)
    );
    f.write(&cr("contoso_huge_outlook"), huge);
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(
            "connectionreference:\n  '@connectionreferencelogicalname': contoso_wide_outlook\n  connectorid: /providers/Microsoft.PowerApps/apis/shared_office365\n"
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    f.write(&cr("contoso_wide_outlook"), utf16);
    // A flow folder without its JSON, and one whose JsonFileName leaves the root.
    let g3 = "11111111-2222-4333-8444-555555555555";
    f.write(
        &format!("modernflows/{g3}/workflow.yml"),
        format!(
            "Workflow:\n  '@WorkflowId': '{{{g3}}}'\n  '@Name': Lost\n  JsonFileName: /modernflows/{g3}/Lost-{}.json\n  StateCode: 1\n",
            g3.to_ascii_uppercase()
        ),
    );
    let g4 = "21111111-2222-4333-8444-555555555555";
    yaml_flow(
        &f,
        "",
        "Escape",
        g4,
        "1",
        &[("shared_office365", "contoso_billing_outlook", "shared_office365")],
    );
    f.write(
        &format!("modernflows/{g4}/workflow.yml"),
        format!("Workflow:\n  '@WorkflowId': '{{{g4}}}'\n  '@Name': Escape\n  JsonFileName: ../../etc/passwd\n  StateCode: 1\n"),
    );
    let started = std::time::Instant::now();
    let (code, doc) = json_check(&f, &[]);
    eprintln!("bad input checked in {:?}", started.elapsed());
    assert_eq!(code, 1);
    has(&doc, "CR900", &cr("contoso_tabs_outlook"), 2, 2);
    has(&doc, "CR900", &cr("contoso_dup_outlook"), 3, 3);
    has(&doc, "CR900", &cr("contoso_deep_outlook"), 1, 256);
    assert!(
        places(&doc)
            .iter()
            .any(|p| p.0 == "CR900" && p.1 == cr("contoso_deepblock_outlook")),
        "{doc:#}"
    );
    has(&doc, "CR900", &format!("modernflows/{g3}/workflow.yml"), 4, 17);
    has(&doc, "CR900", &format!("modernflows/{g4}/workflow.yml"), 4, 17);
    // Read normally where valid: anchors and aliases, a 10 MB scalar, UTF-16 with a BOM.
    for ok in ["contoso_bomb_outlook", "contoso_huge_outlook", "contoso_wide_outlook"] {
        assert!(
            places(&doc).iter().any(|p| p.0 == "CR503" && p.1 == cr(ok)),
            "{ok} is read as a reference: {:#?}",
            places(&doc)
        );
    }
    // The valid flow and its reference are still checked.
    assert!(!places(&doc).iter().any(|p| p.1 == cr("contoso_billing_outlook")), "{doc:#}");
}

#[test]
fn an_extracted_zip_is_a_root_unless_it_sits_beside_other() {
    let f = Fixture::new();
    solution(
        &f,
        "zip",
        "Billing",
        "contoso",
        &[("contoso_billing_outlook", "Mail", "shared_office365")],
    );
    for (from, to) in [
        ("Other/Solution.xml", "solution.xml"),
        ("Other/Customizations.xml", "customizations.xml"),
    ] {
        let text = std::fs::read(f.path().join("zip").join(from)).expect("read");
        f.write(&format!("zip/{to}"), text);
    }
    std::fs::remove_dir_all(f.path().join("zip/Other")).expect("remove Other");
    f.write(
        "zip/[Content_Types].xml",
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\" />",
    );
    flow(
        &f,
        "zip",
        "Send invoice",
        G1,
        1,
        &[("shared_office365", "contoso_billing_teams", "shared_office365")],
    );
    let (_, doc) = json_check(&f, &[]);
    assert_eq!(doc["summary"]["solutions"], 1, "{doc:#}");
    assert!(codes(&doc).contains(&"CR502".to_owned()), "{doc:#}");
    // A zip keeps flow metadata inline in customizations.xml: the flow goes by its display
    // name there, as it would by the one in a `.json.data.xml`, and its state counts.
    std::fs::remove_file(
        f.path()
            .join(format!("zip/Workflows/Sendinvoice-{}.json.data.xml", G1.to_ascii_uppercase())),
    )
    .expect("remove data.xml");
    let customizations = std::fs::read_to_string(f.path().join("zip/customizations.xml")).expect("read");
    f.write(
        "zip/customizations.xml",
        customizations.replace(
            "  <Languages>",
            &format!(
                "  <Workflows>\n    <Workflow WorkflowId=\"{{{G1}}}\" Name=\"Send the invoice\">\n      <JsonFileName>/Workflows/Sendinvoice-{}.json</JsonFileName>\n      <Category>5</Category>\n      <StateCode>0</StateCode>\n    </Workflow>\n  </Workflows>\n  <Languages>",
                G1.to_ascii_uppercase()
            ),
        ),
    );
    let (_, doc) = json_check(&f, &[]);
    let messages: Vec<String> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|x| x["code"] == "CR502" || x["code"] == "CR505")
        .map(|x| x["message"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(messages.len(), 2, "{doc:#}");
    assert!(messages.iter().all(|m| m.contains("flow `Send the invoice`")), "{messages:#?}");
    // A root that is also an XML root keeps the lower-case files as decoys.
    let g = Fixture::new();
    solution(&g, "", "Real", "contoso", &[]);
    g.write(
        "solution.xml",
        "<ImportExportXml><SolutionManifest><UniqueName>Decoy</UniqueName></SolutionManifest></ImportExportXml>",
    );
    g.write("customizations.xml", "<ImportExportXml />");
    g.write("[Content_Types].xml", "<Types />");
    let (_, doc) = json_check(&g, &[]);
    assert_eq!(doc["summary"]["solutions"], 1, "{doc:#}");
}

fn no_source(out: &Output, shown: &str) {
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    let first = out.stderr.lines().next().unwrap_or_default();
    assert_eq!(first, format!("connref: no solution source found under {shown}"), "{}", out.stderr);
    assert!(
        out.stderr.contains("solutions/<Name>/solution.yml") && out.stderr.contains("Other/Solution.xml"),
        "{}",
        out.stderr
    );
}

#[test]
fn nothing_to_check_is_exit_2_never_a_pass() {
    let f = Fixture::new();
    f.write("empty/.keep", "");
    f.write("json/package.json", "{\"name\": \"x\"}\n");
    f.write("json/data/rows.json", "[1, 2, 3]\n");
    no_source(&connref(f.path(), &["check", "empty"]), "empty");
    no_source(&connref(f.path(), &["check", "json"]), "json");
    for cmd in [
        &["graph", "json"][..],
        &["settings", "json", "--env", "Prod"],
        &["check", "json", "--format", "github"],
    ] {
        no_source(&connref(f.path(), cmd), "json");
    }
    // Look-alikes are named.
    f.write("look/Other/Solution.xml", "<ImportExportXml />");
    f.write(
        "look/Kit/Kit.cdsproj",
        "<Project><PropertyGroup><SolutionRootPath>source</SolutionRootPath></PropertyGroup></Project>",
    );
    f.write("look/cloned/solutions/readme.md", "x");
    let out = connref(f.path(), &["check", "look"]);
    no_source(&out, "look");
    assert!(out.stderr.contains("`look/Other/Solution.xml` without"), "{}", out.stderr);
    assert!(out.stderr.contains("`look/Kit/source` holds no solution root"), "{}", out.stderr);
    assert!(out.stderr.contains("`look/cloned/solutions/` without"), "{}", out.stderr);
    // A wrong PATH says that it does not exist, with or without a base.
    for args in [
        &["check", "no/such"][..],
        &["check", "no/such", "--base", "HEAD"],
        &["history", "no/such"],
        &["diff", "no/such", "--base", "HEAD"],
    ] {
        let out = connref(f.path(), args);
        assert_eq!(out.code, 2);
        assert!(out.stderr.contains("`no/such` does not exist"), "{args:?}: {}", out.stderr);
    }
    // In a repository: diff and history on a tree with no root.
    f.git(&["init", "-q"]);
    f.git(&["add", "-A"]);
    f.git(&["commit", "-q", "-m", "no solution"]);
    no_source(&connref(f.path(), &["diff", "json", "--base", "HEAD"]), "json");
    no_source(&connref(f.path(), &["check", "json", "--base", "HEAD"]), "json");
    no_source(&connref(f.path(), &["history", "json"]), "json in any commit");
    // In Actions, one ::error annotation.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_connref"))
        .args(["check", "json"])
        .current_dir(f.path())
        .env("GITHUB_ACTIONS", "true")
        .env_remove("GITHUB_EVENT_PATH")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GITHUB_OUTPUT")
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout.lines().filter(|l| l.starts_with("::error")).count(), 1, "{stdout}");
}

fn solutions(out: &Output) -> u64 {
    let doc: Value = serde_json::from_str(&out.stdout).unwrap_or_default();
    doc["summary"]["solutions"].as_u64().unwrap_or(0)
}

#[test]
fn a_path_inside_a_root_checks_the_whole_root() {
    let f = Fixture::new();
    solution(
        &f,
        "Kit/src",
        "Billing",
        "contoso",
        &[("contoso_billing_outlook", "Mail", "shared_office365")],
    );
    flow(
        &f,
        "Kit/src",
        "Send invoice",
        G1,
        1,
        &[("shared_office365", "contoso_billing_outlook", "shared_office365")],
    );
    let out = connref(f.path(), &["check", "Kit/src/Workflows", "--format", "json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("inside the solution root `Kit/src`: checking the whole root"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stdout.contains("CR503"),
        "no reference is unused because PATH left flows out: {}",
        out.stdout
    );
    yaml_solution(&f, "Y", "Orders", "contoso", &[("contoso_orders_outlook", "shared_office365")], &[]);
    let out = connref(f.path(), &["check", "Y/connectionreferences", "--format", "json"]);
    assert!(out.stderr.contains("inside the solution root `Y`"), "{}", out.stderr);
    assert_eq!(solutions(&out), 1, "{}", out.stdout);
    // A .cdsproj's root with an unusual folder name is found.
    solution(&f, "Odd/SolutionPackage/unpacked here", "Odd", "contoso", &[]);
    f.write(
        "Odd/SolutionPackage/Odd.cdsproj",
        "<Project><PropertyGroup><SolutionRootPath>unpacked here</SolutionRootPath></PropertyGroup></Project>",
    );
    let out = connref(f.path(), &["check", "Odd", "--format", "json"]);
    assert_eq!(solutions(&out), 1, "{}{}", out.stdout, out.stderr);
}

#[test]
fn bots_in_the_yaml_layout_use_references() {
    let f = Fixture::new();
    yaml_solution(
        &f,
        "",
        "Bot",
        "contoso",
        &[
            ("contoso_bot_sharepoint", "shared_sharepointonline"),
            ("contoso_idle_teams", "shared_teams"),
        ],
        &[],
    );
    f.remove("solutions/Bot/solutioncomponents.yml");
    f.write(
        "botcomponent_connectionreferenceset/botcomponent_connectionreferenceset.yml",
        "botcomponent_connectionreferences:\n  botcomponent_connectionreference:\n    '@botcomponentid.schemaname': contoso_agent.topic.GetItems\n    '@connectionreferenceid.connectionreferencelogicalname': contoso_bot_sharepoint\n    iscustomizable: 0\n",
    );
    let (_, doc) = json_check(&f, &[]);
    let unused: Vec<String> = places(&doc).into_iter().filter(|p| p.0 == "CR503").map(|p| p.1).collect();
    assert_eq!(
        unused,
        ["connectionreferences/contoso_idle_teams/connectionreference.yml"],
        "{doc:#}"
    );
}

#[test]
fn history_of_a_yaml_flow_edit_matches_check_with_a_base() {
    let f = Fixture::new();
    let refs = [
        ("contoso_billing_outlook", "shared_office365"),
        ("contoso_invoice_outlook", "shared_office365"),
    ];
    yaml_solution(&f, "", "Billing", "contoso", &refs, &[G1]);
    yaml_flow(
        &f,
        "",
        "Send invoice",
        G1,
        "1",
        &[("shared_office365", "contoso_billing_outlook", "shared_office365")],
    );
    f.git(&["init", "-q"]);
    f.git(&["add", "-A"]);
    f.git(&["commit", "-q", "-m", "base"]);
    // A commit that only edits the flow in place (the fast path of history).
    yaml_flow(
        &f,
        "",
        "Send invoice",
        G1,
        "1",
        &[("shared_office365", "contoso_invoice_outlook", "shared_office365")],
    );
    f.git(&["commit", "-q", "-am", "rebind"]);
    let (_, doc) = json_check(&f, &["--base", "HEAD~1"]);
    let mut from_check: Vec<String> = codes(&doc).into_iter().filter(|c| c.starts_with("CR3")).collect();
    from_check.sort();
    let history = connref(f.path(), &["history", "--format", "json"]);
    assert_eq!(history.code, 0, "{}", history.stderr);
    let h: Value = serde_json::from_str(&history.stdout).expect("json");
    let mut from_history: Vec<String> = h["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["code"].as_str().or_else(|| e["finding"]["code"].as_str()).map(str::to_owned))
        .collect();
    from_history.sort();
    assert!(!from_check.is_empty(), "rebinding every flow is an event: {doc:#}");
    assert_eq!(from_history, from_check, "{}", history.stdout);
}
