//! Hostile input: each case once crashed connref, overflowed its stack, took time that grew
//! with the square of its size, or was accepted in silence. Each must now end in a normal
//! report, a CR900 at the position, or exit 2 with a message.

mod common;
use common::*;
use serde_json::Value;

const OUTLOOK: &str = "contoso_invoiceapproval_outlook";

fn base(f: &Fixture) {
    solution(f, "", "Billing", "contoso", &[(OUTLOOK, "Invoice approval", "shared_office365")]);
    flow(
        f,
        "",
        "Send invoice",
        "625ac674-7d13-2184-4d44-fb6c6d48c11c",
        1,
        &[("shared_office365", OUTLOOK, "shared_office365")],
    );
}

fn check_json(f: &Fixture) -> (Output, Vec<Value>) {
    let out = connref(f.path(), &["check", "--format", "json"]);
    assert!(out.code == 0 || out.code == 1, "exit {}: {}", out.code, out.stderr);
    let doc: Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    let findings = doc["findings"].as_array().expect("findings").clone();
    (out, findings)
}

fn with_code<'a>(all: &'a [Value], code: &str) -> Vec<&'a Value> {
    all.iter().filter(|f| f["code"] == code).collect()
}

fn settings(logical: &str, id: &str) -> String {
    format!(
        "{{\n  \"ConnectionReferences\": [\n    {{\n      \"LogicalName\": \"{logical}\",\n      \"ConnectionId\": \"{id}\",\n      \"ConnectorId\": \"/providers/Microsoft.PowerApps/apis/shared_office365\"\n    }}\n  ]\n}}\n"
    )
}

#[test]
fn a_connection_id_with_a_non_ascii_character_is_checked_not_a_panic() {
    let f = Fixture::new();
    base(&f);
    f.write("config/Prod/deploymentSettings.json", settings(OUTLOOK, "abcdefé123"));
    let (_, all) = check_json(&f);
    assert!(with_code(&all, "CR900").is_empty(), "{all:?}");
    // Near miss: the `shared_` check itself still fires.
    f.write("config/Prod/deploymentSettings.json", settings(OUTLOOK, "shared_é1"));
    let (_, all) = check_json(&f);
    assert_eq!(with_code(&all, "CR408").len(), 1, "{all:?}");
}

#[test]
fn a_mapped_settings_file_with_a_non_ascii_name_gets_an_environment() {
    let f = Fixture::new();
    base(&f);
    f.write("config/prodéjson", settings(OUTLOOK, "abc"));
    f.write(
        "connref.toml",
        "[[settings.map]]\nfiles = [\"config/prodéjson\"]\nsolution = \"Billing\"\n",
    );
    let out = connref(f.path(), &["check", "--format", "json"]);
    assert!(out.code == 0 || out.code == 1, "exit {}: {}", out.code, out.stderr);
}

#[test]
fn a_name_longer_than_a_format_width_renders_in_the_human_report() {
    let f = Fixture::new();
    let long = format!("contoso_{}_outlook", "a".repeat(65_534));
    solution(&f, "", "Billing", "contoso", &[(&long, "Long", "shared_office365")]);
    f.write("config/Prod/deploymentSettings.json", settings(&long, "abc"));
    let out = connref(f.path(), &["check"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.contains("settings coverage"), "{}", &out.stderr);
    assert!(out.stdout.contains("at most 200"), "the name is a finding");
    // A flow name goes into messages whole.
    let f = Fixture::new();
    base(&f);
    flow(
        &f,
        "",
        "Off",
        "725ac674-7d13-2184-4d44-fb6c6d48c11c",
        0,
        &[("shared_office365", OUTLOOK, "shared_office365")],
    );
    let data = "Workflows/Off-725AC674-7D13-2184-4D44-FB6C6D48C11C.json.data.xml";
    let xml = std::fs::read_to_string(f.path().join(data)).expect("data.xml");
    f.write(data, xml.replace("Name=\"Off\"", &format!("Name=\"{}\"", "n".repeat(65_534))));
    let out = connref(f.path(), &["check"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("CR505"), "{}", out.stderr);
}

#[test]
fn a_logical_name_longer_than_dataverse_allows_is_a_finding_not_a_workload() {
    let f = Fixture::new();
    let long = format!("contoso_{}_outlook", "ab_".repeat(33_334));
    solution(&f, "", "Billing", "contoso", &[(&long, "Long", "shared_office365")]);
    flow(
        &f,
        "",
        "Send invoice",
        "625ac674-7d13-2184-4d44-fb6c6d48c11c",
        1,
        &[("shared_office365", &long, "shared_office365")],
    );
    let (_, all) = check_json(&f);
    let cr101 = with_code(&all, "CR101");
    assert_eq!(cr101.len(), 1, "{all:?}");
    let msg = cr101[0]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("100018 characters") && msg.contains("at most 200"), "{msg}");
    assert!(msg.len() < 300, "the message does not repeat the whole name: {}", msg.len());
    // Near miss: 200 characters is allowed (and then judged by the template as usual).
    let f = Fixture::new();
    let ok = format!("contoso_{}_outlook", "a".repeat(200 - "contoso__outlook".len()));
    assert_eq!(ok.len(), 200);
    solution(&f, "", "Billing", "contoso", &[(&ok, "Fine", "shared_office365")]);
    let (_, all) = check_json(&f);
    assert!(with_code(&all, "CR101").is_empty(), "{all:?}");
}

#[test]
fn a_huge_generic_name_does_not_overflow_the_filler_check() {
    let f = Fixture::new();
    // Filler words all the way: the old recursive check went one frame per word.
    let long = format!("contoso_{}", "my".repeat(100_000));
    solution(&f, "", "Billing", "contoso", &[(&long, "Generic", "shared_office365")]);
    let (_, all) = check_json(&f);
    assert!(!with_code(&all, "CR101").is_empty(), "{all:?}");
}

fn nested(depth: usize) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ImportExportXml>\n  <Entities>");
    s.push_str(&"<a>".repeat(depth));
    s.push_str(&"</a>".repeat(depth));
    s.push_str("</Entities>\n  <connectionreferences />\n</ImportExportXml>\n");
    s
}

#[test]
fn deeply_nested_xml_is_a_cr900_at_the_position() {
    let f = Fixture::new();
    base(&f);
    f.write("Other/Customizations.xml", nested(35_000));
    let (_, all) = check_json(&f);
    let cr900 = with_code(&all, "CR900");
    assert_eq!(cr900.len(), 1, "{all:?}");
    assert_eq!(cr900[0]["path"], "Other/Customizations.xml");
    assert_eq!(cr900[0]["line"], 3);
    let msg = cr900[0]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("512"), "{msg}");
    // Near miss: 500 levels parse.
    f.write("Other/Customizations.xml", nested(500));
    let (_, all) = check_json(&f);
    assert!(with_code(&all, "CR900").is_empty(), "{all:?}");
}

#[test]
fn a_huge_exclude_glob_is_a_config_error_naming_its_line() {
    let f = Fixture::new();
    base(&f);
    f.write("connref.toml", format!("# excludes\nexclude = [\"{}\"]\n", "*a".repeat(15_000)));
    let out = connref(f.path(), &["check"]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(out.stderr.contains("line 2") && out.stderr.contains("4096"), "{}", out.stderr);
    // Near miss: a long but sane glob is fine.
    f.write("connref.toml", format!("exclude = [\"{}\"]\n", "*a".repeat(1_000)));
    let out = connref(f.path(), &["check"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

/// The solution's Customizations.xml with `bad` put just before `<connectionreferences>`.
fn customizations_with(bad: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ImportExportXml>\n  {bad}<connectionreferences>\n    <connectionreference connectionreferencelogicalname=\"{OUTLOOK}\">\n      <connectorid>/providers/Microsoft.PowerApps/apis/shared_office365</connectorid>\n    </connectionreference>\n  </connectionreferences>\n</ImportExportXml>\n"
    )
}

fn assert_cr900_at(f: &Fixture, path: &str, line: u64, column: u64, needle: &str) {
    let (_, all) = check_json(f);
    let cr900 = with_code(&all, "CR900");
    assert_eq!(cr900.len(), 1, "{all:?}");
    assert_eq!(cr900[0]["path"], path, "{all:?}");
    assert_eq!(
        (cr900[0]["line"].as_u64(), cr900[0]["column"].as_u64()),
        (Some(line), Some(column)),
        "{all:?}"
    );
    let msg = cr900[0]["message"].as_str().unwrap_or_default();
    assert!(msg.contains(needle), "{msg}");
}

#[test]
fn a_second_or_late_xml_declaration_is_a_cr900() {
    let f = Fixture::new();
    base(&f);
    f.write("Other/Customizations.xml", customizations_with("<?xml version=\"1.0\"?>"));
    assert_cr900_at(&f, "Other/Customizations.xml", 3, 3, "declaration");
    f.write("Other/Customizations.xml", format!("\n{}", customizations_with("")));
    assert_cr900_at(&f, "Other/Customizations.xml", 2, 1, "declaration");
    // Near miss: a declaration after a BOM, at the start.
    f.write("Other/Customizations.xml", format!("\u{feff}{}", customizations_with("")));
    let (_, all) = check_json(&f);
    assert!(with_code(&all, "CR900").is_empty(), "{all:?}");
}

#[test]
fn control_characters_in_xml_are_a_cr900() {
    let f = Fixture::new();
    base(&f);
    f.write("Other/Customizations.xml", customizations_with("<x>a\u{1}b</x>"));
    assert_cr900_at(&f, "Other/Customizations.xml", 3, 7, "control character");
    // Near miss: tabs, CR and LF are fine.
    f.write("Other/Customizations.xml", customizations_with("<x>\ta\r\n</x>"));
    let (_, all) = check_json(&f);
    assert!(with_code(&all, "CR900").is_empty(), "{all:?}");
}

#[test]
fn a_lt_inside_an_attribute_value_is_a_cr900() {
    let f = Fixture::new();
    base(&f);
    f.write("Other/Customizations.xml", customizations_with("<x a=\"1<2\"/>"));
    assert_cr900_at(&f, "Other/Customizations.xml", 3, 10, "<");
    // Near miss: `&lt;` and `>` are fine.
    f.write("Other/Customizations.xml", customizations_with("<x a=\"1&lt;2>0\"/>"));
    let (_, all) = check_json(&f);
    assert!(with_code(&all, "CR900").is_empty(), "{all:?}");
}

fn solution_with_missing(required: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ImportExportXml version=\"9.2\">\n  <SolutionManifest>\n    <UniqueName>Billing</UniqueName>\n    <Version>1.0.0.0</Version>\n    <Managed>0</Managed>\n    <Publisher>\n      <UniqueName>contosopub</UniqueName>\n      <CustomizationPrefix>contoso</CustomizationPrefix>\n    </Publisher>\n    <RootComponents />\n    <MissingDependencies>\n      <MissingDependency>\n        {required}\n        <Dependent type=\"29\" displayName=\"Send invoice\" id=\"{{625ac674-7d13-2184-4d44-fb6c6d48c11c}}\" />\n      </MissingDependency>\n    </MissingDependencies>\n  </SolutionManifest>\n</ImportExportXml>\n"
    )
}

#[test]
fn junk_in_an_attribute_name_is_a_cr900_not_a_vanished_dependency() {
    let f = Fixture::new();
    base(&f);
    f.write(
        "Other/Solution.xml",
        solution_with_missing(
            "<Required type=\"connectionreference\" displayName=\"x\" id.connectionreferencelogicalname!=\"contoso_other_outlook\" />",
        ),
    );
    let (_, all) = check_json(&f);
    let cr900 = with_code(&all, "CR900");
    assert_eq!(cr900.len(), 1, "{all:?}");
    assert_eq!(cr900[0]["path"], "Other/Solution.xml");
    assert_eq!(cr900[0]["line"], 14, "{all:?}");
    // Near miss: the well-formed attribute is read.
    f.write(
        "Other/Solution.xml",
        solution_with_missing(
            "<Required type=\"connectionreference\" displayName=\"x\" id.connectionreferencelogicalname=\"contoso_other_outlook\" />",
        ),
    );
    let (_, all) = check_json(&f);
    assert!(with_code(&all, "CR900").is_empty(), "{all:?}");
}
