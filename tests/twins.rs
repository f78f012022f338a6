//! Twin roots with one UniqueName (`src/` beside `src-archived/`): findings name the root and
//! never contradict themselves, the graph marks the twin that has the finding, settings files
//! are judged against the root their folder belongs to, and the summary counts roots.

mod common;
use common::*;
use serde_json::Value;

const G: &str = "625ac674-7d13-2184-4d44-fb6c6d48c11c";
const LIVE: (&str, &str, &str) = ("contoso_invoiceapproval_outlook", "Invoice approval", "shared_office365");
const OLD: (&str, &str, &str) = ("contoso_archive_sharepoint", "Archive", "shared_sharepointonline");

/// `src/` (live) and `src-archived/` (an older copy): one UniqueName, one flow GUID. The live
/// flow is on; the archived one is off and bound to a reference only the archive defines.
fn twins() -> Fixture {
    let f = Fixture::new();
    solution(&f, "src", "Billing", "contoso", &[LIVE]);
    flow(&f, "src", "Send invoice", G, 1, &[("shared_office365", LIVE.0, LIVE.2)]);
    solution(&f, "src-archived", "Billing", "contoso", &[LIVE, OLD]);
    flow(
        &f,
        "src-archived",
        "Send invoice",
        G,
        0,
        &[("shared_office365", LIVE.0, LIVE.2), ("shared_sharepointonline", OLD.0, OLD.2)],
    );
    f
}

fn json(f: &Fixture, args: &[&str]) -> Value {
    let out = connref(f.path(), args);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", out.stdout, out.stderr))
}

#[test]
fn findings_name_the_root_and_never_contradict_themselves() {
    let f = twins();
    // The live flow binds the archive's reference too: the live root does not define it.
    flow(
        &f,
        "src",
        "Send invoice",
        G,
        1,
        &[("shared_office365", LIVE.0, LIVE.2), ("shared_sharepointonline", OLD.0, OLD.2)],
    );
    let doc = json(&f, &["check", "--format", "json"]);
    let findings = doc["findings"].as_array().unwrap();
    let cr502: Vec<&Value> = findings.iter().filter(|x| x["code"] == "CR502").collect();
    assert_eq!(cr502.len(), 1, "{findings:#?}");
    let m = cr502[0]["message"].as_str().unwrap();
    assert_eq!(cr502[0]["severity"], "error");
    assert!(
        m.contains("which root `src` of solution `Billing` does not define (its twin root `src-archived` does)"),
        "{m}"
    );
    assert!(!m.contains("; solution `Billing` does"), "self-contradiction: {m}");
    // Every finding in a twin root says which root.
    for x in findings {
        let m = x["message"].as_str().unwrap();
        let path = x["path"].as_str().unwrap();
        let root = if path.starts_with("src-archived/") {
            "`src-archived`"
        } else {
            "`src`"
        };
        assert!(m.contains(&format!("root {root}")), "{path}: {m}");
    }
    let human = connref(f.path(), &["check"]).stdout;
    assert!(human.contains("2 solution roots, 2 sharing a UniqueName"), "{human}");
    // Near miss: one root alone names no root and counts solutions.
    let g = Fixture::new();
    solution(&g, "src", "Billing", "contoso", &[LIVE]);
    flow(&g, "src", "Send invoice", G, 0, &[("shared_office365", LIVE.0, LIVE.2)]);
    let out = connref(g.path(), &["check"]).stdout;
    assert!(!out.contains("root `src`") && out.contains("(1 solution,"), "{out}");
}

#[test]
fn graph_marks_the_flow_of_the_root_with_the_finding() {
    let f = twins();
    let g = json(&f, &["graph", "--format", "json"]);
    let flows: Vec<&Value> = g["nodes"].as_array().unwrap().iter().filter(|n| n["kind"] == "flow").collect();
    assert_eq!(flows.len(), 2, "{g:#}");
    for n in flows {
        let codes: Vec<&str> = n["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["code"].as_str().unwrap())
            .collect();
        if n["path"].as_str().unwrap().starts_with("src-archived/") {
            assert!(codes.contains(&"CR505"), "{n:#}");
        } else {
            assert!(!codes.contains(&"CR505"), "the live twin is on: {n:#}");
        }
    }
}

#[test]
fn settings_files_are_judged_against_their_own_root() {
    let f = twins();
    let entry = |(n, _, api): (&str, &str, &str), id: &str| {
        format!("{{\"LogicalName\": \"{n}\", \"ConnectionId\": \"{id}\", \"ConnectorId\": \"/providers/Microsoft.PowerApps/apis/{api}\"}}")
    };
    // The archive's file lists both of its references; the live file only the live one.
    f.write(
        "src-archived/config/Prod/deploymentSettings.json",
        format!("{{\"ConnectionReferences\": [{}, {}]}}", entry(LIVE, "#{a}#"), entry(OLD, "#{b}#")),
    );
    f.write(
        "config/Prod/deploymentSettings.json",
        format!("{{\"ConnectionReferences\": [{}]}}", entry(LIVE, "#{c}#")),
    );
    let doc = json(&f, &["check", "--format", "json"]);
    let settings: Vec<&Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["code"].as_str().unwrap().starts_with("CR4"))
        .collect();
    assert!(settings.is_empty(), "no CR401/CR404 across twins: {settings:#?}");
    // Firing: the live file without the live reference is CR401 against `src`.
    f.write("config/Prod/deploymentSettings.json", "{\"ConnectionReferences\": []}");
    let doc = json(&f, &["check", "--format", "json"]);
    let cr401: Vec<&Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["code"] == "CR401")
        .collect();
    assert_eq!(cr401.len(), 1, "{doc:#}");
    assert_eq!(cr401[0]["reference"], LIVE.0);
}
