//! For every rule of `check`: a case that fires, and a near miss that does not.

mod common;
use common::*;
use serde_json::Value;

const G1: &str = "625ac674-7d13-2184-4d44-fb6c6d48c11c";
const G2: &str = "b39e2c5f-91a0-f011-bbd2-7c1e5247627f";

/// Runs `check --format json` and returns (exit code, findings).
fn check(f: &Fixture) -> (i32, Vec<Value>) {
    let out = connref(f.path(), &["check", "--format", "json"]);
    assert!(out.code == 0 || out.code == 1, "exit {}: {}", out.code, out.stderr);
    let doc: Value = serde_json::from_str(&out.stdout).expect("json report");
    (out.code, doc["findings"].as_array().cloned().unwrap_or_default())
}

/// The help lines of the human report (the json report carries no help).
fn help_of(f: &Fixture) -> String {
    connref(f.path(), &["check"])
        .stdout
        .lines()
        .filter(|l| l.contains("= help:"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn codes(findings: &[Value]) -> Vec<String> {
    findings.iter().map(|f| f["code"].as_str().unwrap_or_default().to_owned()).collect()
}

fn with_code<'a>(findings: &'a [Value], code: &str) -> Vec<&'a Value> {
    findings.iter().filter(|f| f["code"] == code).collect()
}

/// One solution with one well-named reference, used by one flow: no findings.
fn clean() -> Fixture {
    let f = Fixture::new();
    solution(
        &f,
        "",
        "Billing",
        "contoso",
        &[("contoso_invoiceapproval_outlook", "Invoice approval mail", "shared_office365")],
    );
    flow(
        &f,
        "",
        "Send invoice",
        G1,
        1,
        &[("shared_office365", "contoso_invoiceapproval_outlook", "shared_office365")],
    );
    f
}

fn one_ref(name: &str, api: &str) -> Fixture {
    let f = Fixture::new();
    solution(&f, "", "Billing", "contoso", &[(name, "Invoice approval", api)]);
    flow(&f, "", "Send invoice", G1, 1, &[("k", name, api)]);
    f
}

#[test]
fn clean_fixture_has_no_findings() {
    let (code, findings) = check(&clean());
    assert_eq!((code, codes(&findings)), (0, vec![]));
}

#[test]
fn cr101_naming_template() {
    let (code, findings) = check(&one_ref("contoso_invoice", "shared_office365"));
    assert_eq!(code, 1);
    assert_eq!(codes(&findings), ["CR101"]);
    let f = &findings[0];
    assert_eq!(
        (f["path"].as_str(), f["line"].as_u64(), f["column"].as_u64()),
        (Some("Other/Customizations.xml"), Some(5), Some(26))
    );
    assert_eq!(f["reference"], "contoso_invoice");
    assert!(help_of(&one_ref("contoso_invoice", "shared_office365")).contains("`contoso_invoiceapproval_outlook`"));
    // Near miss: several purpose segments and an alias are fine.
    assert!(check(&one_ref("contoso_invoice_approval_mail", "shared_office365")).1.is_empty());
    assert!(
        check(&one_ref("contoso_invoiceapproval_office365", "shared_office365"))
            .1
            .is_empty()
    );
}

#[test]
fn cr101_purposes_and_template_from_config() {
    let f = one_ref("contoso_billing_outlook", "shared_office365");
    f.write("connref.toml", "[naming]\npurposes = [\"invoiceapproval\"]\n");
    assert_eq!(codes(&check(&f).1), ["CR101"]);
    f.write("connref.toml", "[naming]\npurposes = [\"billing\"]\n");
    assert!(check(&f).1.is_empty());
    f.write("connref.toml", "[naming]\ntemplate = \"{publisher}_{connector}_{purpose}\"\n");
    assert_eq!(codes(&check(&f).1), ["CR101"]);
    let g = one_ref("contoso_outlook_billing", "shared_office365");
    g.write("connref.toml", "[naming]\ntemplate = \"{publisher}_{connector}_{purpose}\"\n");
    assert!(check(&g).1.is_empty());
}

#[test]
fn cr102_foreign_prefix() {
    let (_, findings) = check(&one_ref("new_invoiceapproval_outlook", "shared_office365"));
    assert_eq!(codes(&findings), ["CR102"]);
    assert!(findings[0]["message"].as_str().unwrap_or_default().contains("`contoso`"));
    // Near miss: the prefix compares without case; and `naming.publisher` overrides.
    assert!(check(&one_ref("Contoso_invoiceapproval_outlook", "shared_office365")).1.is_empty());
    let f = one_ref("fab_invoiceapproval_outlook", "shared_office365");
    f.write("connref.toml", "[naming]\npublisher = \"fab\"\n");
    assert!(check(&f).1.is_empty());
}

/// A publisher whose CustomizationPrefix ends in `_`: its names are `pre__<rest>`.
fn underscore_prefix(name: &str) -> Fixture {
    let f = Fixture::new();
    solution(&f, "", "Billing", "pre_", &[(name, "Invoice approval", "shared_office365")]);
    flow(&f, "", "Send invoice", G1, 1, &[("k", name, "shared_office365")]);
    f
}

#[test]
fn publisher_prefix_ending_in_underscore() {
    // Near miss: a good name under the prefix `pre_` is clean (no CR102 for `pre` vs `pre_`).
    assert!(check(&underscore_prefix("pre__invoiceapproval_outlook")).1.is_empty());
    // A platform-generated name under it is CR104 (not CR101), and the suggestion keeps `pre__`.
    let f = underscore_prefix("pre__sharedoffice365_87e06");
    assert_eq!(codes(&check(&f).1), ["CR104"]);
    assert!(help_of(&f).contains("`pre__invoiceapproval_outlook`"), "{}", help_of(&f));
    // Firing: another publisher's prefix is still CR102, and its help names the right start.
    let f = underscore_prefix("new_invoiceapproval_outlook");
    let (_, findings) = check(&f);
    assert_eq!(codes(&findings), ["CR102"]);
    assert!(findings[0]["message"].as_str().unwrap_or_default().contains("has the prefix `new`"));
    assert!(help_of(&f).contains("starts with `pre__`"), "{}", help_of(&f));
}

#[test]
fn cr103_connector_segment_names_another_connector() {
    let (_, findings) = check(&one_ref("contoso_billing_sharepoint", "shared_office365"));
    assert_eq!(codes(&findings), ["CR103"]);
    // Near miss: a configured alias is accepted.
    let f = one_ref("contoso_billing_mailer", "shared_office365");
    assert_eq!(codes(&check(&f).1), ["CR101"]);
    f.write("connref.toml", "[naming.connectors]\nshared_office365 = \"mailer\"\n");
    assert!(check(&f).1.is_empty());
}

#[test]
fn cr104_generated_and_generic_names() {
    let (_, findings) = check(&one_ref(
        "contoso_sharedcommondataserviceforapps_87e06",
        "shared_commondataserviceforapps",
    ));
    assert_eq!(codes(&findings), ["CR104"]);
    let m = findings[0]["message"].as_str().unwrap_or_default();
    assert!(m.contains("Invoice approval"), "names the display name: {m}");
    assert!(
        help_of(&one_ref(
            "contoso_sharedcommondataserviceforapps_87e06",
            "shared_commondataserviceforapps"
        ))
        .contains("`contoso_invoiceapproval_dataverse`")
    );
    assert_eq!(
        codes(&check(&one_ref("contoso_MyDataverseConnection1", "shared_commondataserviceforapps")).1),
        ["CR104"]
    );
    assert_eq!(
        codes(
            &check(&one_ref(
                "contoso_agent_Lay9y0.cr.shared_sharepointonline",
                "shared_sharepointonline"
            ))
            .1
        ),
        ["CR104"]
    );
    // Near miss: a hex-looking purpose that is not a generated suffix.
    assert!(
        check(&one_ref("contoso_cafe_dataverse", "shared_commondataserviceforapps"))
            .1
            .is_empty()
    );
}

#[test]
fn cr501_embedded_or_empty_connection() {
    let f = clean();
    f.write(
        &format!("Workflows/Sendinvoice-{}.json", G1.to_uppercase()),
        r#"{"properties":{"connectionReferences":{"a":{"connection":{"name":"shared-office365-a01a5015"},"api":{"name":"shared_office365"}},"b":{"runtimeSource":"invoker","connection":{},"api":{"name":"shared_office365"}},"c":{"connection":{"connectionReferenceLogicalName":"contoso_invoiceapproval_outlook"},"api":{"name":"shared_office365"}}},"definition":{}}}"#,
    );
    let (_, findings) = check(&f);
    let hits = with_code(&findings, "CR501");
    assert_eq!(hits.len(), 2, "{findings:?}");
    assert_eq!(hits[0]["column"], 59, "the `name` key inside `connection`");
    assert!(
        hits[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("shared-office365-a01a5015")
    );
    assert!(hits[1]["message"].as_str().unwrap_or_default().contains("no connection"));
    assert_eq!(hits[0]["flow"], "Send invoice");
    assert_eq!(hits[0]["flow_id"], G1);
    // Near miss: an `invoker` entry bound to a reference embeds nothing.
    f.write(
        &format!("Workflows/Sendinvoice-{}.json", G1.to_uppercase()),
        r#"{"properties":{"connectionReferences":{"c":{"runtimeSource":"invoker","connection":{"connectionReferenceLogicalName":"contoso_invoiceapproval_outlook"},"api":{"name":"shared_office365"}}},"definition":{}}}"#,
    );
    assert!(check(&f).1.is_empty(), "{:?}", check(&f).1);
}

#[test]
fn cr502_undefined_reference_and_cross_solution_dependency() {
    let f = Fixture::new();
    solution(
        &f,
        "a",
        "Billing",
        "contoso",
        &[("contoso_invoiceapproval_outlook", "Mail", "shared_office365")],
    );
    flow(
        &f,
        "a",
        "Send invoice",
        G1,
        1,
        &[
            ("k", "contoso_invoiceapproval_outlook", "shared_office365"),
            ("m", "contoso_missing_outlook", "shared_office365"),
        ],
    );
    solution(
        &f,
        "b",
        "Shared",
        "contoso",
        &[("contoso_reporting_dataverse", "Reporting", "shared_commondataserviceforapps")],
    );
    flow(&f, "b", "Report", G2, 1, &[]);
    flow(
        &f,
        "a",
        "Report usage",
        "00000000-0000-0000-0000-000000000001",
        1,
        &[("r", "contoso_reporting_dataverse", "shared_commondataserviceforapps")],
    );
    let (_, findings) = check(&f);
    let hits = with_code(&findings, "CR502");
    assert_eq!(hits.len(), 2, "{findings:?}");
    let by_ref = |n: &str| hits.iter().find(|h| h["reference"] == n).copied();
    let missing = by_ref("contoso_missing_outlook").expect("undefined");
    assert_eq!(missing["severity"], "error");
    let cross = by_ref("contoso_reporting_dataverse").expect("cross-solution");
    assert_eq!(cross["severity"], "warning");
    assert!(cross["message"].as_str().unwrap_or_default().contains("`Shared`"));
    // Near miss: the defined reference is not reported, and nothing is unused in `b` (used by a flow of `a`).
    assert!(with_code(&findings, "CR503").is_empty(), "{findings:?}");
}

#[test]
fn cr502_mentions_missing_dependencies() {
    let f = one_ref("contoso_invoiceapproval_outlook", "shared_office365");
    flow(&f, "", "Other", G2, 1, &[("k", "contoso_elsewhere_outlook", "shared_office365")]);
    let xml = std::fs::read_to_string(f.path().join("Other/Solution.xml")).expect("read");
    f.write(
        "Other/Solution.xml",
        xml.replace(
            "<MissingDependencies />",
            "<MissingDependencies>\n      <MissingDependency>\n        <Required type=\"connectionreference\" displayName=\"contoso_elsewhere_outlook\" id.connectionreferencelogicalname=\"contoso_elsewhere_outlook\" />\n        <Dependent type=\"29\" id=\"{b39e2c5f-91a0-f011-bbd2-7c1e5247627f}\" />\n      </MissingDependency>\n    </MissingDependencies>",
        ),
    );
    let (_, findings) = check(&f);
    assert_eq!(codes(&findings), ["CR502"]);
    assert!(findings[0]["message"].as_str().unwrap_or_default().contains("MissingDependencies"));
    assert_eq!(findings[0]["severity"], "error");
}

/// A flow bound to `contoso_core_outlook`, which Solution.xml lists under MissingDependencies
/// with the given `solution` attribute (none when `None`).
fn declared_dependency(solution_attr: Option<&str>) -> Fixture {
    let f = one_ref("contoso_invoiceapproval_outlook", "shared_office365");
    flow(&f, "", "Other", G2, 1, &[("k", "contoso_core_outlook", "shared_office365")]);
    let xml = std::fs::read_to_string(f.path().join("Other/Solution.xml")).expect("read");
    let attr = solution_attr.map(|s| format!(" solution=\"{s}\"")).unwrap_or_default();
    f.write(
        "Other/Solution.xml",
        xml.replace(
            "<MissingDependencies />",
            &format!("<MissingDependencies>\n      <MissingDependency>\n        <Required type=\"connectionreference\" displayName=\"contoso_core_outlook\"{attr} id.connectionreferencelogicalname=\"contoso_core_outlook\" />\n        <Dependent type=\"29\" id=\"{{b39e2c5f-91a0-f011-bbd2-7c1e5247627f}}\" />\n      </MissingDependency>\n    </MissingDependencies>"),
        ),
    );
    f
}

#[test]
fn cr502_declared_dependency_on_another_solution_is_a_warning() {
    let f = declared_dependency(Some("CoreComponents (1.2.0.3)"));
    let (code, findings) = check(&f);
    assert_eq!(codes(&findings), ["CR502"]);
    assert_eq!(findings[0]["severity"], "warning");
    assert_eq!(code, 0);
    let m = findings[0]["message"].as_str().unwrap_or_default();
    assert!(m.contains("dependency on solution `CoreComponents` 1.2.0.3"), "{m}");
    assert!(help_of(&f).contains("install solution `CoreComponents` 1.2.0.3"), "{}", help_of(&f));
    // Near misses: `Active` (the reference lives in no solution) and no solution stay errors.
    for attr in [Some("Active"), None] {
        let (code, findings) = check(&declared_dependency(attr));
        assert_eq!(codes(&findings), ["CR502"], "{attr:?}");
        assert_eq!(findings[0]["severity"], "error", "{attr:?}");
        assert_eq!(code, 1);
    }
}

#[test]
fn cr503_unused_reference_unless_an_app_or_bot_uses_it() {
    let f = clean();
    solution(
        &f,
        "",
        "Billing",
        "contoso",
        &[
            ("contoso_invoiceapproval_outlook", "Mail", "shared_office365"),
            ("contoso_archive_sharepoint", "Archive", "shared_sharepointonline"),
            ("contoso_portal_sql", "Portal", "shared_sql"),
            ("contoso_agent_teams", "Agent", "shared_teams"),
        ],
    );
    f.write(
        "CanvasApps/contoso_portal_1a2b3.meta.xml",
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<CanvasApp>\n  <Name>contoso_portal_1a2b3</Name>\n  <ConnectionReferences>{\"5f2c\":{\"id\":\"/providers/microsoft.powerapps/apis/shared_sql\",\"displayName\":\"SQL Server\"}}</ConnectionReferences>\n</CanvasApp>\n",
    );
    f.write(
        "Assets/botcomponent_connectionreferenceset.xml",
        "<botcomponent_connectionreferenceset>\n  <botcomponent_connectionreference botcomponentid.schemaname=\"contoso_bot.topic.x\" connectionreferenceid.connectionreferencelogicalname=\"contoso_agent_teams\">\n    <iscustomizable>0</iscustomizable>\n  </botcomponent_connectionreference>\n</botcomponent_connectionreferenceset>\n",
    );
    let (code, findings) = check(&f);
    assert_eq!(code, 0, "info findings do not fail the check");
    assert_eq!(codes(&findings), ["CR503"]);
    assert_eq!(findings[0]["reference"], "contoso_archive_sharepoint");
    assert_eq!(findings[0]["severity"], "info");
}

#[test]
fn cr504_connector_mismatch() {
    let f = clean();
    flow(
        &f,
        "",
        "Send invoice",
        G1,
        1,
        &[("k", "contoso_invoiceapproval_outlook", "shared_sharepointonline")],
    );
    let (_, findings) = check(&f);
    assert_eq!(codes(&findings), ["CR504"]);
    assert!(
        findings[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("shared_sharepointonline")
    );
    // Near miss: custom connectors differ only by their per-environment hash.
    let g = one_ref("contoso_graph_mailboxsetting", "shared_cat-5fmailboxsetting-5f21dec655d73f3a8c");
    flow(
        &g,
        "",
        "Send invoice",
        G1,
        1,
        &[(
            "k",
            "contoso_graph_mailboxsetting",
            "shared_cat-5fmailboxsetting-5f983b8802de813283",
        )],
    );
    assert!(check(&g).1.is_empty(), "{:?}", check(&g).1);
}

#[test]
fn cr505_flow_committed_off() {
    let f = clean();
    flow(
        &f,
        "",
        "Send invoice",
        G1,
        0,
        &[("shared_office365", "contoso_invoiceapproval_outlook", "shared_office365")],
    );
    let (code, findings) = check(&f);
    assert_eq!((code, codes(&findings)), (0, vec!["CR505".to_owned()]));
    let hit = &findings[0];
    assert!(hit["path"].as_str().unwrap_or_default().ends_with(".json.data.xml"));
    assert_eq!((hit["line"].as_u64(), hit["column"].as_u64()), (Some(6), Some(3)));
    // Near miss: the same flow committed on (StateCode 1).
    flow(
        &f,
        "",
        "Send invoice",
        G1,
        1,
        &[("shared_office365", "contoso_invoiceapproval_outlook", "shared_office365")],
    );
    assert!(check(&f).1.is_empty(), "{:?}", check(&f).1);
}

#[test]
fn cr506_leaked_connection_id() {
    let f = clean();
    f.write(
        &format!("Workflows/Sendinvoice-{}.json", G1.to_uppercase()),
        "{\n  \"properties\": {\n    \"connectionReferences\": {\n      \"k\": {\n        \"connection\": {\"connectionReferenceLogicalName\": \"contoso_invoiceapproval_outlook\"},\n        \"api\": {\"name\": \"shared_office365\"},\n        \"connectionName\": \"shared-office365-a01a5015-243a-4b85-8cf4-ca0541508a2d\"\n      }\n    }\n  }\n}\n",
    );
    let (_, findings) = check(&f);
    assert_eq!(codes(&findings), ["CR506"]);
    assert_eq!((findings[0]["line"].as_u64(), findings[0]["column"].as_u64()), (Some(7), Some(9)));
    // Near miss: `connectionName` in an action's `inputs.host` names the entry, not a
    // connection (the clean fixture has one per action), and an entry without it is clean.
    assert!(check(&clean()).1.is_empty());
    f.write(
        &format!("Workflows/Sendinvoice-{}.json", G1.to_uppercase()),
        "{\n  \"properties\": {\n    \"connectionReferences\": {\n      \"k\": {\n        \"connection\": {\"connectionReferenceLogicalName\": \"contoso_invoiceapproval_outlook\"},\n        \"api\": {\"name\": \"shared_office365\"}\n      }\n    }\n  }\n}\n",
    );
    assert!(check(&f).1.is_empty(), "{:?}", check(&f).1);
}

#[test]
fn cr507_letter_case_differs() {
    let f = clean();
    flow(
        &f,
        "",
        "Send invoice",
        G1,
        1,
        &[("k", "Contoso_InvoiceApproval_Outlook", "shared_office365")],
    );
    let (code, findings) = check(&f);
    assert_eq!((code, codes(&findings)), (0, vec!["CR507".to_owned()]));
    assert_eq!(findings[0]["reference"], "contoso_invoiceapproval_outlook");
    // Near miss: the definition's own spelling, in another letter case than the template's
    // lower case, is not CR507.
    let g = one_ref("contoso_InvoiceApproval_outlook", "shared_office365");
    assert!(with_code(&check(&g).1, "CR507").is_empty(), "{:?}", check(&g).1);
}

#[test]
fn cr508_undeclared_host_key_and_cr509_missing_data_xml() {
    let f = clean();
    let json = format!("Workflows/Sendinvoice-{}.json", G1.to_uppercase());
    let text = std::fs::read_to_string(f.path().join(&json)).expect("read");
    f.write(
        &json,
        text.replace(
            "\"connectionName\": \"shared_office365\"",
            "\"connectionName\": \"shared_office365_1\"",
        ),
    );
    f.remove(&format!("{json}.data.xml"));
    let (_, findings) = check(&f);
    assert_eq!(codes(&findings), ["CR509", "CR508"]);
    assert_eq!(
        findings[1]["flow"], "Sendinvoice",
        "without data.xml the name comes from the file name"
    );
    // Near misses: in the clean fixture each action's `inputs.host.connectionName` names its
    // declared entry (`shared_office365`) and the data.xml sits beside the flow.
    let g = clean();
    let text = std::fs::read_to_string(g.path().join(&json)).expect("read");
    assert!(text.contains("\"connectionName\": \"shared_office365\""), "{text}");
    assert!(g.path().join(format!("{json}.data.xml")).is_file());
    assert!(check(&g).1.is_empty(), "{:?}", check(&g).1);
}

#[test]
fn cr900_bad_files_are_reported_and_the_rest_is_checked() {
    let f = clean();
    f.write(
        "Workflows/Broken-B39E2C5F-91A0-F011-BBD2-7C1E5247627F.json",
        "{\n  \"properties\": {\n    \"connectionReferences\": {,}\n  }\n}\n",
    );
    flow(&f, "", "Other", "00000000-0000-0000-0000-000000000002", 0, &[]);
    let (code, findings) = check(&f);
    assert_eq!(code, 1);
    assert_eq!(codes(&findings), ["CR900", "CR505"], "the other flow is still checked");
    assert_eq!(
        (findings[0]["line"].as_u64(), findings[0]["column"].as_u64()),
        (Some(3), Some(30)),
        "at the stray comma"
    );
}

#[test]
fn rules_can_be_turned_off_or_raised_and_names_ignored() {
    let f = clean();
    flow(
        &f,
        "",
        "Send invoice",
        G1,
        0,
        &[("shared_office365", "contoso_invoiceapproval_outlook", "shared_office365")],
    );
    f.write("connref.toml", "[rules]\nCR505 = \"error\"\n");
    assert_eq!(check(&f).0, 1);
    f.write("connref.toml", "[rules]\nCR505 = \"off\"\n");
    assert_eq!(check(&f), (0, vec![]));
    // The top-level globs are for shipped names: they hide the naming rules only.
    f.write("connref.toml", "ignore = [\"Send *\"]\n");
    assert_eq!(codes(&check(&f).1), ["CR505"]);
    f.write("connref.toml", "[[ignore]]\nflows = [\"Send *\"]\n");
    assert_eq!(check(&f), (0, vec![]));
}

/// `check --base` runs on the base only the rule families its head has findings of, picked by
/// each code's family: a module that found codes of another family would leave base findings
/// out and call existing findings new.
#[test]
fn each_rule_module_finds_only_codes_of_its_family() {
    let config = connref::config::Config::parse("").expect("empty config");
    let mut roots = vec![
        manifest_dir().join("examples/contoso"),
        manifest_dir().join("examples/fabrikam-yaml"),
    ];
    roots.extend(
        [
            manifest_dir().join("../shared/corpus"),
            std::path::PathBuf::from("/work/shared/corpus"),
        ]
        .into_iter()
        .find(|p| p.is_dir()),
    );
    let mut seen = std::collections::BTreeSet::new();
    for root in roots {
        let (_, snapshot) = connref::load::worktree_snapshot(&root, &config).expect("the tree loads");
        let ctx = connref::rules::Context::new(&snapshot, &config);
        for (family, run) in connref::rules::FAMILIES {
            for f in run(&ctx) {
                assert_eq!(
                    f.rule.family(),
                    family,
                    "{} found by the {family:?} module in {}",
                    f.rule.code,
                    root.display()
                );
                seen.insert(f.rule.code);
            }
        }
    }
    assert!(seen.len() >= 3, "too few codes to say anything: {seen:?}");
}
