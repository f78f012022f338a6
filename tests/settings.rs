//! Deployment settings: discovery, CR401–CR410, the coverage matrix and `connref settings`.

mod common;
use common::*;

use serde_json::Value;

const OUTLOOK: &str = "contoso_invoiceapproval_outlook";
const TEAMS: &str = "contoso_invoicenotice_teams";

/// Solution `Billing` at `Billing/src` with two references and two environment variables
/// (`contoso_SiteUrl` required without default, `contoso_Retries` required with a default).
fn billing(f: &Fixture) {
    solution(
        f,
        "Billing/src",
        "Billing",
        "contoso",
        &[
            (OUTLOOK, "Invoice approval mail", "shared_office365"),
            (TEAMS, "Invoice notice", "shared_teams"),
        ],
    );
    flow(
        f,
        "Billing/src",
        "Send invoice",
        "625ac674-7d13-2184-4d44-fb6c6d48c11c",
        1,
        &[
            ("shared_office365", OUTLOOK, "shared_office365"),
            ("shared_teams", TEAMS, "shared_teams"),
        ],
    );
    envvar(f, "Billing/src", "contoso_SiteUrl", true, None);
    envvar(f, "Billing/src", "contoso_Retries", true, Some("3"));
}

fn envvar(f: &Fixture, root: &str, schema: &str, required: bool, default: Option<&str>) {
    let default = default.map(|d| format!("  <defaultvalue>{d}</defaultvalue>\n")).unwrap_or_default();
    f.write(
        &format!("{root}/environmentvariabledefinitions/{schema}/environmentvariabledefinition.xml"),
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<environmentvariabledefinition schemaname=\"{schema}\">\n{default}  <displayname default=\"{schema}\" />\n  <isrequired>{}</isrequired>\n  <type>100000000</type>\n</environmentvariabledefinition>\n",
            u8::from(required)
        ),
    );
}

/// A pac-style settings file. `refs` are `(logical name, connection id, api name)`; `vars`
/// `(schema name, value)`, or no `EnvironmentVariables` array at all.
fn settings(refs: &[(&str, &str, &str)], vars: Option<&[(&str, &str)]>) -> String {
    let mut s = String::from("{\n");
    if let Some(vars) = vars {
        let items: Vec<String> = vars
            .iter()
            .map(|(n, v)| format!("    {{\n      \"SchemaName\": \"{n}\",\n      \"Value\": \"{v}\"\n    }}"))
            .collect();
        s.push_str(&format!("  \"EnvironmentVariables\": [\n{}\n  ],\n", items.join(",\n")));
    }
    let items: Vec<String> = refs
        .iter()
        .map(|(n, id, api)| {
            format!(
                "    {{\n      \"LogicalName\": \"{n}\",\n      \"ConnectionId\": \"{id}\",\n      \"ConnectorId\": \"/providers/Microsoft.PowerApps/apis/{api}\"\n    }}"
            )
        })
        .collect();
    s.push_str(&format!("  \"ConnectionReferences\": [\n{}\n  ]\n}}\n", items.join(",\n")));
    s
}

const PROD: &str = "Billing/config/Prod/deploymentSettings.json";
const TEST: &str = "Billing/config/Test/deploymentSettings.json";

/// A file that binds everything: no settings findings.
fn complete(outlook_id: &str, teams_id: &str) -> String {
    settings(
        &[(OUTLOOK, outlook_id, "shared_office365"), (TEAMS, teams_id, "shared_teams")],
        Some(&[("contoso_Retries", ""), ("contoso_SiteUrl", "https://x")]),
    )
}

/// The findings of `connref check --format json`.
fn findings(f: &Fixture) -> Vec<Value> {
    let out = connref(f.path(), &["check", "--format", "json"]);
    assert!(out.code == 0 || out.code == 1, "{}{}", out.stdout, out.stderr);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout));
    doc["findings"].as_array().cloned().unwrap_or_default()
}

fn of<'a>(all: &'a [Value], code: &str) -> Vec<&'a Value> {
    all.iter().filter(|f| f["code"] == code).collect()
}

fn at(f: &Value) -> (String, u64, u64) {
    (
        f["path"].as_str().unwrap_or_default().to_owned(),
        f["line"].as_u64().unwrap_or_default(),
        f["column"].as_u64().unwrap_or_default(),
    )
}

fn settings_codes(all: &[Value]) -> Vec<String> {
    all.iter()
        .filter_map(|f| f["code"].as_str())
        .filter(|c| c.starts_with("CR4"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_complete_file_has_no_settings_findings() {
    let f = Fixture::new();
    billing(&f);
    f.write(PROD, complete("e34cedbfbb964b4ca7fc7b806121d17c", "#{connectionreference.teams}#"));
    f.write(
        TEST,
        complete("shared-office365-a01a5015-243a-4b85-8cf4-ca0541508a2d", "$(TeamsConnection)"),
    );
    let all = findings(&f);
    assert_eq!(settings_codes(&all), Vec::<String>::new(), "{all:#?}");
    // No findings must mean the files were read and judged, not that none was found.
    let out = connref(f.path(), &["check", "--format", "json"]);
    let doc: Value = serde_json::from_str(&out.stdout).expect("json report");
    assert_eq!(
        doc["coverage"],
        serde_json::json!([{
            "solution": "Billing",
            "environments": ["Prod", "Test"],
            "references": [
                {"reference": OUTLOOK, "cells": {"Prod": "bound", "Test": "bound"}},
                {"reference": TEAMS, "cells": {"Prod": "token", "Test": "token"}}
            ]
        }]),
        "{}",
        out.stdout
    );
}

#[test]
fn cr401_missing_reference_points_at_the_array() {
    let f = Fixture::new();
    billing(&f);
    f.write(
        PROD,
        settings(
            &[(OUTLOOK, "abc", "shared_office365")],
            Some(&[("contoso_Retries", ""), ("contoso_SiteUrl", "x")]),
        ),
    );
    let all = findings(&f);
    let cr401 = of(&all, "CR401");
    assert_eq!(cr401.len(), 1, "{all:#?}");
    assert_eq!(at(cr401[0]), (PROD.to_owned(), 12, 27));
    assert_eq!(cr401[0]["reference"], TEAMS);
    assert_eq!(cr401[0]["solution"], "Billing");
    // Near miss: the name in other letter case still counts as present.
    f.write(
        PROD,
        settings(
            &[(OUTLOOK, "abc", "shared_office365"), (&TEAMS.to_uppercase(), "def", "shared_teams")],
            Some(&[("contoso_Retries", ""), ("contoso_SiteUrl", "x")]),
        ),
    );
    assert!(of(&findings(&f), "CR401").is_empty());
}

#[test]
fn cr402_empty_or_placeholder_connection_ids() {
    let f = Fixture::new();
    billing(&f);
    for (id, fires) in [
        ("", true),
        ("{00000000-0000-0000-0000-000000000000}", true),
        ("00000000-0000-0000-0000-000000000000", true),
        ("<connection id>", true),
        ("TODO", true),
        ("changeme", true),
        ("xxx", true),
        ("#{connectionreference.x}#", false),
        ("$(Outlook.Connection)", false),
        ("${OUTLOOK_CONNECTION}", false),
        ("e34cedbfbb964b4ca7fc7b806121d17c", false),
    ] {
        f.write(PROD, complete(id, "e34cedbfbb964b4ca7fc7b806121d17d"));
        let all = findings(&f);
        let cr402 = of(&all, "CR402");
        assert_eq!(cr402.len(), usize::from(fires), "{id:?}: {all:#?}");
        if fires {
            assert_eq!(at(cr402[0]), (PROD.to_owned(), 15, 23), "{id:?}");
            assert_eq!(cr402[0]["reference"], OUTLOOK);
        }
    }
    // With require_literal_ids a token is not bound.
    f.write("connref.toml", "[settings]\nrequire_literal_ids = true\n");
    f.write(PROD, complete("#{connectionreference.x}#", "e34cedbfbb964b4ca7fc7b806121d17d"));
    let all = findings(&f);
    assert_eq!(of(&all, "CR402").len(), 1, "{all:#?}");
    assert!(of(&all, "CR402")[0]["message"].as_str().unwrap().contains("require_literal_ids"));
}

#[test]
fn cr403_connector_mismatch() {
    let f = Fixture::new();
    billing(&f);
    let text = complete("a1", "a2").replace("apis/shared_teams", "apis/shared_office365users");
    f.write(PROD, &text);
    let all = findings(&f);
    let cr403 = of(&all, "CR403");
    assert_eq!(cr403.len(), 1, "{all:#?}");
    assert_eq!(at(cr403[0]), (PROD.to_owned(), 21, 22));
    // Near miss: other letter case in the connector id.
    f.write(
        PROD,
        complete("a1", "a2").replace(
            "/providers/Microsoft.PowerApps/apis/shared_teams",
            "/providers/microsoft.powerapps/apis/Shared_Teams",
        ),
    );
    assert!(of(&findings(&f), "CR403").is_empty());
}

#[test]
fn cr403_ignores_the_hash_of_custom_connectors() {
    let f = Fixture::new();
    solution(
        &f,
        "",
        "Ops",
        "contoso",
        &[("contoso_ops_graph", "Graph", "shared_cat-5fmicrosoft-20graph-5f21dec655d73f3a8c")],
    );
    let entry = |api: &str| settings(&[("contoso_ops_graph", "a1", api)], None);
    f.write(
        "config/Prod/deploymentSettings.json",
        entry("shared_cat-5fmicrosoft-20graph-5f983b8802de813283"),
    );
    assert!(of(&findings(&f), "CR403").is_empty());
    f.write(
        "config/Prod/deploymentSettings.json",
        entry("shared_cat-5fother-5f983b8802de813283"),
    );
    assert_eq!(of(&findings(&f), "CR403").len(), 1);
}

#[test]
fn cr404_stale_entries() {
    let f = Fixture::new();
    billing(&f);
    solution(&f, "Other/src", "Other", "contoso", &[("contoso_other_sql", "SQL", "shared_sql")]);
    let mut refs = vec![(OUTLOOK, "a1", "shared_office365"), (TEAMS, "a2", "shared_teams")];
    refs.push(("contoso_other_sql", "a3", "shared_sql"));
    refs.push(("contoso_gone_sql", "a4", "shared_sql"));
    f.write(
        PROD,
        settings(
            &refs,
            Some(&[("contoso_Retries", ""), ("contoso_SiteUrl", "x"), ("contoso_Gone", "")]),
        ),
    );
    let all = findings(&f);
    let cr404 = of(&all, "CR404");
    let names: Vec<&str> = cr404.iter().map(|x| x["message"].as_str().unwrap()).collect();
    assert_eq!(cr404.len(), 3, "{names:#?}");
    assert!(
        names[0].contains("`contoso_Gone`") && names[0].contains("environment variable"),
        "{names:?}"
    );
    assert!(
        names[1].contains("`contoso_other_sql`") && names[1].contains("`Other` does"),
        "{names:?}"
    );
    assert!(names[2].contains("`contoso_gone_sql`"), "{names:?}");
    assert!(cr404.iter().all(|x| x["severity"] == "warning"));
    // Near miss: a file that no solution can be tied to reports CR410, not CR404.
    assert!(of(&all, "CR410").is_empty());
}

#[test]
fn cr405_duplicate_entries() {
    let f = Fixture::new();
    billing(&f);
    let refs = [
        (OUTLOOK, "a1", "shared_office365"),
        (TEAMS, "a2", "shared_teams"),
        ("Contoso_InvoiceApproval_Outlook", "a3", "shared_office365"),
    ];
    f.write(
        PROD,
        settings(
            &refs,
            Some(&[("contoso_Retries", ""), ("contoso_SiteUrl", "x"), ("contoso_SiteUrl", "y")]),
        ),
    );
    let all = findings(&f);
    let cr405 = of(&all, "CR405");
    assert_eq!(cr405.len(), 2, "{all:#?}");
    assert!(cr405[0]["message"].as_str().unwrap().contains("(the first is on line 8)"));
    assert!(cr405[1]["message"].as_str().unwrap().contains("(the first is on line 18)"));
    // Near miss: different names.
    f.write(PROD, complete("a1", "a2"));
    assert!(of(&findings(&f), "CR405").is_empty());
}

#[test]
fn cr406_connection_bound_in_two_environments() {
    let f = Fixture::new();
    billing(&f);
    f.write(PROD, complete("e34cedbfbb964b4ca7fc7b806121d17c", "#{connectionreference.teams}#"));
    f.write(TEST, complete("E34CEDBFBB964B4CA7FC7B806121D17C", "#{connectionreference.teams}#"));
    let all = findings(&f);
    let cr406 = of(&all, "CR406");
    assert_eq!(cr406.len(), 2, "{all:#?}");
    assert_eq!(cr406[0]["path"], PROD);
    assert!(cr406[0]["message"].as_str().unwrap().contains(TEST));
    assert_eq!(cr406[1]["path"], TEST);
    assert!(cr406[1]["message"].as_str().unwrap().contains(PROD));
    // Near miss: the same connection for two solutions in one environment, and the same token.
    solution(
        &f,
        "Other/src",
        "Other",
        "contoso",
        &[("contoso_other_outlook", "Mail", "shared_office365")],
    );
    f.write(TEST, complete("e34cedbfbb964b4ca7fc7b806121d17d", "#{connectionreference.teams}#"));
    f.write(
        "Other/config/Prod/deploymentSettings.json",
        settings(
            &[("contoso_other_outlook", "e34cedbfbb964b4ca7fc7b806121d17c", "shared_office365")],
            None,
        ),
    );
    assert!(of(&findings(&f), "CR406").is_empty());
}

#[test]
fn cr407_missing_and_empty_variables() {
    let f = Fixture::new();
    billing(&f);
    let refs = [(OUTLOOK, "a1", "shared_office365"), (TEAMS, "a2", "shared_teams")];
    f.write(PROD, settings(&refs, Some(&[("contoso_Retries", "")])));
    f.write(TEST, settings(&refs, Some(&[("contoso_Retries", ""), ("contoso_SiteUrl", "")])));
    let all = findings(&f);
    let cr407 = of(&all, "CR407");
    assert_eq!(cr407.len(), 2, "{all:#?}");
    assert_eq!(at(cr407[0]), (PROD.to_owned(), 2, 27));
    assert_eq!(cr407[0]["severity"], "error");
    assert!(cr407[0]["message"].as_str().unwrap().contains("`contoso_SiteUrl`"));
    assert_eq!(at(cr407[1]), (TEST.to_owned(), 9, 16));
    assert_eq!(cr407[1]["severity"], "warning");
    // Near misses: no EnvironmentVariables array at all; a token; a required one with a default.
    f.write(PROD, settings(&refs, None));
    f.write(
        TEST,
        settings(
            &refs,
            Some(&[
                ("contoso_Retries", ""),
                ("contoso_SiteUrl", "#{environmentvariable.contoso_SiteUrl}#"),
            ]),
        ),
    );
    assert!(of(&findings(&f), "CR407").is_empty());
}

#[test]
fn cr408_malformed_connection_ids() {
    let f = Fixture::new();
    billing(&f);
    for (id, fires) in [
        (
            "/providers/microsoft.powerapps/apis/shared_office365/connections/eccad584f275403aa4c05702870e7d7b",
            true,
        ),
        ("shared_office365", true),
        ("e34cedbf bb964b4c", true),
        ("shared-office365-a01a5015-243a-4b85-8cf4-ca0541508a2d", false),
        ("c203081d44ebb14d16c0e7c2f934cfb6-568cafa5400d94d0", false),
    ] {
        f.write(PROD, complete(id, "e34cedbfbb964b4ca7fc7b806121d17d"));
        let all = findings(&f);
        let cr408 = of(&all, "CR408");
        assert_eq!(cr408.len(), usize::from(fires), "{id}: {all:#?}");
        if id.contains("/connections/") {
            let human = connref(f.path(), &["check"]).stdout;
            assert!(
                human.contains("help: use the connection id alone: `eccad584f275403aa4c05702870e7d7b`"),
                "{human}"
            );
        }
    }
}

#[test]
fn cr409_bad_files_have_exact_positions_and_the_rest_is_checked() {
    let f = Fixture::new();
    billing(&f);
    f.write(TEST, settings(&[], None));
    // (what, bytes, line and column, message)
    type Case = (&'static str, Vec<u8>, (u64, u64), &'static str);
    let cases: Vec<Case> = vec![
        (
            "array root",
            b"[\n  {\"ConnectionReferences\": []}\n]\n".to_vec(),
            (1, 1),
            "the root is an array",
        ),
        (
            "trailing comma",
            b"{\n  \"ConnectionReferences\": [\n    {\"LogicalName\": \"a\"},\n  ]\n}\n".to_vec(),
            (4, 3),
            "trailing comma",
        ),
        (
            "duplicate key",
            b"{\n  \"ConnectionReferences\": [],\n  \"EnvironmentVariables\": [],\n  \"ConnectionReferences\": []\n}\n".to_vec(),
            (4, 3),
            "duplicate key `ConnectionReferences`",
        ),
        (
            "wrong case",
            b"{\n  \"connectionReferences\": []\n}\n".to_vec(),
            (2, 3),
            "must be spelled `ConnectionReferences`",
        ),
        (
            "object for array",
            b"{\n  \"ConnectionReferences\": {}\n}\n".to_vec(),
            (2, 27),
            "is an object, expected an array",
        ),
        (
            "not UTF-8",
            b"{\n  \"ConnectionReferences\": [{\"LogicalName\": \"caf\xe9\"}]\n}\n".to_vec(),
            (2, 48),
            "not UTF-8",
        ),
        ("empty", Vec::new(), (1, 1), "empty"),
    ];
    for (what, bytes, (line, column), message) in cases {
        f.write(PROD, &bytes);
        let all = findings(&f);
        let cr409 = of(&all, "CR409");
        assert_eq!(cr409.len(), 1, "{what}: {all:#?}");
        assert_eq!(at(cr409[0]), (PROD.to_owned(), line, column), "{what}");
        assert!(
            cr409[0]["message"].as_str().unwrap().contains(message),
            "{what}: {}",
            cr409[0]["message"]
        );
        // The other environment's file is still checked.
        assert_eq!(of(&all, "CR401").len(), 2, "{what}");
    }
    // A UTF-8 BOM is normal.
    f.write(PROD, [b"\xEF\xBB\xBF".as_slice(), complete("a1", "a2").as_bytes()].concat());
    assert!(of(&findings(&f), "CR409").is_empty());
}

#[test]
fn cr409_near_misses_other_json_is_ignored_quietly() {
    let f = Fixture::new();
    billing(&f);
    f.write(PROD, complete("a1", "a2"));
    f.write("package.json", "{\"name\": \"x\", \"scripts\": {},}");
    f.write(".vscode/settings.json", "{\"editor.tabSize\": 2}");
    f.write("data/list.json", "[1, 2, 3]");
    f.write(
        "Billing/config/Prod/customDeploymentSettings.json",
        "{\"ActivateFlowConfiguration\": [], \"DefaultEnvironmentVariables\": []}",
    );
    f.write(
        "deployment-settings.json",
        "[{\"DeploymentEnvironmentName\": \"Test\", \"UserSettings\": [{\"Name\": \"connectionreference.x\", \"Value\": \"\"}]}]",
    );
    let all = findings(&f);
    assert_eq!(settings_codes(&all), Vec::<String>::new(), "{all:#?}");
}

#[test]
fn cr410_unmapped_file_shows_the_table_and_config_ties_it() {
    let f = Fixture::new();
    billing(&f);
    solution(&f, "Other/src", "Other", "contoso", &[("contoso_other_sql", "SQL", "shared_sql")]);
    f.write("settings/prod.json", settings(&[], Some(&[])));
    let all = findings(&f);
    let cr410 = of(&all, "CR410");
    assert_eq!(cr410.len(), 1, "{all:#?}");
    assert_eq!(at(cr410[0]), ("settings/prod.json".to_owned(), 1, 1));
    let human = connref(f.path(), &["check"]).stdout;
    let table = "  = help: tie it in connref.toml with a table such as:\n          [[settings.map]]\n          files = [\"settings/prod.json\"]\n          environment = \"prod\"\n          solution = \"Billing\"\n";
    assert!(human.contains(table), "{human}");
    assert!(cr410[0]["message"].as_str().unwrap().contains("`Billing` or `Other`"));
    // Near miss: the names it lists tie it.
    f.write("settings/prod.json", settings(&[("contoso_other_sql", "a1", "shared_sql")], None));
    assert!(of(&findings(&f), "CR410").is_empty());
    // Near miss: [[settings.map]] ties it, and names its environment.
    f.write("settings/prod.json", settings(&[], Some(&[])));
    f.write(
        "connref.toml",
        "[[settings.map]]\nfiles = [\"settings/*.json\"]\nenvironment = \"Production\"\nsolution = \"Other\"\n",
    );
    let all = findings(&f);
    assert!(of(&all, "CR410").is_empty(), "{all:#?}");
    let cr401 = of(&all, "CR401");
    assert_eq!(cr401.len(), 1);
    assert!(cr401[0]["message"].as_str().unwrap().contains("environment `Production`"));
}

#[test]
fn environment_names_and_solution_ties() {
    let f = Fixture::new();
    billing(&f);
    f.write("Billing/deploy/deploymentSettings.uat.json", settings(&[], None));
    f.write("Billing/config/deploymentSettings-Test.json", settings(&[], None));
    f.write("Billing/config/Prod/deploymentSettings.json", settings(&[], None));
    let all = findings(&f);
    let envs: Vec<String> = of(&all, "CR401")
        .iter()
        .filter(|x| x["reference"] == OUTLOOK)
        .map(|x| x["message"].as_str().unwrap().rsplit('`').nth(1).unwrap().to_owned())
        .collect();
    // In path order: `config/Prod/…`, `config/deploymentSettings-Test.json`, `deploy/…uat.json`.
    assert_eq!(envs, ["Prod", "Test", "uat"]);
}

fn snapshot_fixture() -> Fixture {
    let f = Fixture::new();
    billing(&f);
    f.write(
        PROD,
        settings(
            &[
                (OUTLOOK, "", "shared_office365"),
                ("contoso_old_sql", "e34cedbfbb964b4ca7fc7b806121d17c", "shared_sql"),
            ],
            Some(&[("contoso_SiteUrl", "https://contoso.sharepoint.com")]),
        ),
    );
    f.write(
        TEST,
        complete("#{connectionreference.outlook}#", "e34cedbfbb964b4ca7fc7b806121d17c"),
    );
    f
}

#[test]
fn human_report_snapshot() {
    let f = snapshot_fixture();
    let out = connref(f.path(), &["check"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    snap!("settings_human", out.stdout);
}

#[test]
fn json_report_snapshot() {
    let f = snapshot_fixture();
    let out = connref(f.path(), &["check", "--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["coverage"][0]["references"][0]["cells"]["Prod"], "empty");
    snap!("settings_json", out.stdout);
}

#[test]
fn no_coverage_without_settings_files() {
    let f = Fixture::new();
    billing(&f);
    let out = connref(f.path(), &["check", "--format", "json"]);
    assert!(!out.stdout.contains("coverage"), "{}", out.stdout);
    let out = connref(f.path(), &["check"]);
    assert!(!out.stdout.contains("settings coverage"), "{}", out.stdout);
}

#[test]
fn a_ten_megabyte_value_is_read_and_judged() {
    let f = Fixture::new();
    billing(&f);
    let big = "a".repeat(10 * 1024 * 1024);
    f.write(
        PROD,
        settings(
            &[(OUTLOOK, "e34cedbfbb964b4ca7fc7b806121d17c", "shared_office365")],
            Some(&[("contoso_Retries", ""), ("contoso_SiteUrl", &big)]),
        ),
    );
    let all = findings(&f);
    assert_eq!(settings_codes(&all), ["CR401"], "{:?}", settings_codes(&all));
    let out = connref(f.path(), &["settings", "--write"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(f.path().join(PROD)).unwrap();
    assert!(text.contains(&big) && text.contains(TEAMS));
}

// ---- connref settings ----

#[test]
fn settings_prints_the_diff_then_writes_and_is_idempotent() {
    let f = Fixture::new();
    billing(&f);
    let original = settings(&[(OUTLOOK, "e34cedbfbb964b4ca7fc7b806121d17c", "shared_office365")], Some(&[]));
    f.write(PROD, &original);
    let out = connref(f.path(), &["settings", "--env", "prod"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    snap!("settings_diff", out.stdout);
    assert_eq!(
        std::fs::read_to_string(f.path().join(PROD)).unwrap(),
        original,
        "no --write, no change"
    );
    let out = connref(f.path(), &["settings", "--env", "PROD", "--write"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        format!("updated {PROD}: added `contoso_Retries`, `contoso_SiteUrl` and `{TEAMS}`\n")
    );
    let out = connref(f.path(), &["settings", "--env", "Prod"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{}", out.stderr);
    let written = std::fs::read_to_string(f.path().join(PROD)).unwrap();
    assert!(
        written.contains("\"ConnectionId\": \"e34cedbfbb964b4ca7fc7b806121d17c\""),
        "the value is kept"
    );
}

#[test]
fn settings_creates_new_environments_beside_the_others() {
    let f = Fixture::new();
    billing(&f);
    solution(&f, "Other/src", "Other", "contoso", &[("contoso_other_sql", "SQL", "shared_sql")]);
    f.write(
        "Billing/config/deploymentSettings-prod.json",
        "{\r\n\t\"ConnectionReferences\": []\r\n}",
    );
    let out = connref(
        f.path(),
        &["settings", "--env", "Prod", "--env", "Test", "--placeholder", "token", "--write"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let made = f.path().join("Billing/config/deploymentSettings-test.json");
    let text = std::fs::read_to_string(&made).unwrap_or_else(|e| panic!("{e}: {}", out.stdout));
    assert!(
        text.contains("\r\n\t\"EnvironmentVariables\": [\r\n\t\t{\r\n\t\t\t\"SchemaName\": \"contoso_Retries\",\r\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!("\"ConnectionId\": \"#{{connectionreference.{OUTLOOK}}}#\"")),
        "{text}"
    );
    assert!(!text.ends_with('\n'), "the sibling has no final newline");
    // The other solution has no file yet: the ALM Accelerator place.
    let other = std::fs::read_to_string(f.path().join("Other/config/Test/deploymentSettings.json")).unwrap();
    assert!(
        other.starts_with("{\n  \"EnvironmentVariables\": [],\n  \"ConnectionReferences\": [\n    {\n"),
        "{other}"
    );
    // `--env Prod` takes the spelling of the existing environment `prod`.
    assert!(f.path().join("Other/config/prod/deploymentSettings.json").exists());
    let out = connref(f.path(), &["settings", "--env", "prod", "--env", "test"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{}", out.stderr);
    let all = findings(&f);
    assert!(of(&all, "CR401").is_empty() && of(&all, "CR407").is_empty(), "{all:#?}");
}

#[test]
fn settings_prunes_only_when_asked() {
    let f = Fixture::new();
    billing(&f);
    f.write(PROD, settings(&[("contoso_old_sql", "a9", "shared_sql")], None));
    let out = connref(f.path(), &["settings", "--write"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("stale entry `contoso_old_sql`"), "{}", out.stderr);
    assert!(std::fs::read_to_string(f.path().join(PROD)).unwrap().contains("contoso_old_sql"));
    let out = connref(f.path(), &["settings", "--write", "--prune"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(f.path().join(PROD)).unwrap();
    assert!(!text.contains("contoso_old_sql"), "{text}");
    assert!(of(&findings(&f), "CR404").is_empty());
}

#[test]
fn settings_never_touches_a_file_it_cannot_update() {
    let f = Fixture::new();
    billing(&f);
    let broken = "{\n  \"ConnectionReferences\": [],\n}\n";
    f.write(PROD, broken);
    let out = connref(f.path(), &["settings", "--env", "Prod", "--write"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("not a valid settings file (3:1"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(f.path().join(PROD)).unwrap(), broken);
}

#[test]
fn settings_write_failure_leaves_the_original_whole() {
    let f = Fixture::new();
    billing(&f);
    let original = complete("a1", "a2").replace(
        &format!("    {{\n      \"LogicalName\": \"{TEAMS}\""),
        "    {\n      \"LogicalName\": \"contoso_zz\"",
    );
    f.write(PROD, &original);
    // Something that is not a file where the temporary file goes makes the write fail.
    std::fs::create_dir_all(f.path().join("Billing/config/Prod/.deploymentSettings.json.connref.tmp/x")).unwrap();
    let out = connref(f.path(), &["settings", "--write"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("cannot write"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(f.path().join(PROD)).unwrap(), original);
}

// ---- the automation-kit corpus ----

fn corpus() -> Option<std::path::PathBuf> {
    let candidates = [
        std::env::var_os("CONNREF_CORPUS").map(std::path::PathBuf::from),
        Some(manifest_dir().join("../shared/corpus")),
        Some(std::path::PathBuf::from("/work/shared/corpus")),
    ];
    let found = candidates
        .into_iter()
        .flatten()
        .map(|c| c.join("automation-kit"))
        .find(|p| p.is_dir());
    if found.is_none() {
        eprintln!("skipped: the automation-kit corpus (shared/corpus/automation-kit) is not on this machine");
    }
    found
}

fn cr401_by_solution(f: &Fixture) -> std::collections::BTreeMap<(String, String), usize> {
    let mut out = std::collections::BTreeMap::new();
    for x in of(&findings(f), "CR401") {
        let path = x["path"].as_str().unwrap();
        let env = path.rsplit('/').nth(1).unwrap().to_owned();
        *out.entry((x["solution"].as_str().unwrap().to_owned(), env)).or_default() += 1;
    }
    out
}

#[test]
fn corpus_settings_gaps_and_the_settings_command() {
    let Some(corpus) = corpus() else { return };
    let f = Fixture::new();
    copy_tree(&corpus, f.path());
    let gaps = cr401_by_solution(&f);
    let mut expected = std::collections::BTreeMap::new();
    for env in ["Prod", "Test", "Validation"] {
        expected.insert(("AutomationKitControlCenter".to_owned(), env.to_owned()), 1);
        expected.insert(("AutomationKitInstaller".to_owned(), env.to_owned()), 5);
    }
    assert_eq!(gaps, expected);
    let args = [
        "settings",
        "--env",
        "Validation",
        "--env",
        "Test",
        "--env",
        "Prod",
        "--write",
        "--placeholder",
        "token",
    ];
    let out = connref(f.path(), &args);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let all = findings(&f);
    assert!(of(&all, "CR401").is_empty() && of(&all, "CR407").is_empty(), "{all:#?}");
    let before = std::fs::read(f.path().join("AutomationKitInstaller/config/Prod/deploymentSettings.json")).unwrap();
    let out = connref(f.path(), &args);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, ""),
        "a second run changes nothing: {}",
        out.stderr
    );
    assert_eq!(
        std::fs::read(f.path().join("AutomationKitInstaller/config/Prod/deploymentSettings.json")).unwrap(),
        before
    );
    let check = connref(f.path(), &["settings", "--env", "validation,test,prod", "--placeholder", "token"]);
    assert_eq!((check.code, check.stdout.as_str()), (0, ""), "{}", check.stderr);
}

#[test]
fn settings_puts_twin_roots_files_above_both() {
    let f = Fixture::new();
    for root in ["Kit/managed", "Kit/unmanaged"] {
        solution(&f, root, "Kit", "contoso", &[(OUTLOOK, "Mail", "shared_office365")]);
    }
    solution(&f, "Other/src", "Other", "contoso", &[("contoso_other_sql", "SQL", "shared_sql")]);
    let out = connref(f.path(), &["settings", "--env", "Prod", "--write"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(f.path().join("Kit/config/Prod/deploymentSettings.json").is_file(), "{}", out.stdout);
    let out = connref(f.path(), &["settings", "--env", "Prod"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{}", out.stderr);
    let all = findings(&f);
    assert_eq!(settings_codes(&all), ["CR402", "CR402"], "{all:#?}");
}

#[test]
fn cr411_settings_of_a_solution_no_longer_in_the_tree() {
    let f = Fixture::new();
    billing(&f);
    f.write(PROD, complete("a1", "a2"));
    // `Old` was removed; its settings stayed. They list names Billing does not define.
    let old = "Old/config/Prod/deploymentSettings.json";
    let old_text = settings(&[("contoso_old_sql", "b1", "shared_sql")], Some(&[("contoso_OldUrl", "")]));
    f.write(old, &old_text);
    f.write("Old/config/Test/deploymentSettings.json", &old_text);
    let all = findings(&f);
    let cr411 = of(&all, "CR411");
    assert_eq!(cr411.len(), 2, "{all:#?}");
    assert_eq!(cr411[0]["path"], old);
    assert_eq!(cr411[0]["severity"], "warning");
    assert!(cr411[0]["message"].as_str().unwrap().contains("solution `Old`"), "{all:#?}");
    // Nothing else on the orphans, and Billing's own file is still judged (clean here).
    assert!(
        all.iter()
            .all(|x| x["code"] == "CR411" || !x["path"].as_str().unwrap().starts_with("Old/")),
        "{all:#?}"
    );
    assert_eq!(settings_codes(&all), ["CR411", "CR411"], "{all:#?}");
    // `settings --prune --write` leaves the orphans alone and says why.
    let out = connref(f.path(), &["settings", "--write", "--prune"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("skipped `Old/config/Prod/deploymentSettings.json`"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read_to_string(f.path().join(old)).unwrap(), old_text);
    // Near miss: a folder that names a solution of the tree ties the file to it, even outside
    // the solution's own folder.
    let g = Fixture::new();
    solution(&g, "src/Billing", "Billing", "contoso", &[(OUTLOOK, "Mail", "shared_office365")]);
    solution(&g, "src/Other", "Other", "contoso", &[("contoso_other_sql", "SQL", "shared_sql")]);
    g.write("pipelines/Billing/config/Prod/deploymentSettings.json", settings(&[], None));
    let all = findings(&g);
    assert!(of(&all, "CR411").is_empty(), "{all:#?}");
    let cr401 = of(&all, "CR401");
    assert_eq!(cr401.len(), 1, "{all:#?}");
    assert_eq!(cr401[0]["solution"], "Billing");
}

#[test]
fn environment_names_keep_their_spelling_and_settings_env_finds_them() {
    let f = Fixture::new();
    billing(&f);
    let file = "Billing/pipelines/contoso_prod.0b3a2f1e-1111-4222-8333-944455556666.json";
    f.write(file, complete("a1", "a2"));
    f.write("Billing/pipelines/deploymentSettings.pre_Prod.json", complete("a3", "a4"));
    let out = connref(f.path(), &["check", "--format", "json"]);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    let coverage = doc["coverage"].as_array().expect("coverage");
    assert_eq!(coverage.len(), 1, "{coverage:#?}");
    assert_eq!(coverage[0]["environments"], serde_json::json!(["pre_Prod", "prod"]));
    // `settings --env prod` finds the existing file instead of proposing one beside it.
    let out = connref(f.path(), &["settings", "--env", "prod"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{}", out.stderr);
    // Near miss: `deploymentConfig.json` is all generic words: its folder names the
    // environment, and without one it is CR410.
    let g = Fixture::new();
    billing(&g);
    g.write("Billing/config/Uat/deploymentConfig.json", complete("a1", "a2"));
    let all = findings(&g);
    assert!(of(&all, "CR410").is_empty(), "{all:#?}");
    let out = connref(g.path(), &["check", "--format", "json"]);
    assert!(out.stdout.contains("\"Uat\""), "{}", out.stdout);
    g.remove("Billing/config/Uat/deploymentConfig.json");
    g.write("Billing/config/deploymentConfig.json", complete("a1", "a2"));
    let all = findings(&g);
    let cr410 = of(&all, "CR410");
    assert_eq!(cr410.len(), 1, "{all:#?}");
    assert!(cr410[0]["message"].as_str().unwrap().contains("names no environment"), "{all:#?}");
}
