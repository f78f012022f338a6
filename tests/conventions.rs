//! The conventions users know from ruff, gitleaks and typos: one test per flag.

mod common;
use common::*;

use std::process::Command;

/// The example repository, copied into a git repository of its own.
fn example() -> Fixture {
    let f = Fixture::new();
    copy_tree(&manifest_dir().join("examples/contoso"), f.path());
    f.git(&["init", "-q"]);
    f.git(&["add", "-A"]);
    f.git(&["commit", "-qm", "example"]);
    f
}

#[test]
fn concise_is_one_line_a_finding() {
    let f = example();
    let out = connref(f.path(), &["check", "--format", "concise"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines.contains(&"Billing/SolutionPackage/src/Workflows/Archivepaidinvoices-8A7B6C5D-4E3F-4A1B-9C8D-7E6F5A4B3C21.json:1:299: error[CR502] flow `Archive paid invoices` is bound to `contoso_finance_dataverse`, which solution `ContosoBilling` does not define"),
        "{}",
        out.stdout
    );
    let findings = lines
        .iter()
        .filter(|l| l.contains(": error[") || l.contains(": warning[") || l.contains(": info["))
        .count();
    assert_eq!(findings, 11, "{}", out.stdout);
    assert!(
        lines.last().unwrap().starts_with("connref: 8 errors, 2 warnings, 1 info"),
        "{}",
        out.stdout
    );
}

#[test]
fn quiet_prints_findings_only() {
    let f = example();
    let out = connref(f.path(), &["check", "--format", "concise", "--quiet"]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout.lines().count(), 11, "{}", out.stdout);
    assert!(!out.stdout.contains("connref:"), "{}", out.stdout);
    let out = connref(f.path(), &["check", "-q"]);
    assert!(out.stdout.contains("error[CR502]"), "{}", out.stdout);
    assert!(
        !out.stdout.contains("settings coverage") && !out.stdout.contains("connref: 8 errors"),
        "{}",
        out.stdout
    );
}

#[test]
fn statistics_count_per_code_with_its_name() {
    let f = example();
    let out = connref(f.path(), &["check", "--statistics"]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("    2  CR104  generated-name"), "{}", out.stdout);
    assert!(out.stdout.contains("    1  CR502  undefined-reference"), "{}", out.stdout);
    assert!(!out.stdout.contains("error[CR502]"), "{}", out.stdout);
}

#[test]
fn exit_zero_keeps_the_report_and_exits_0() {
    let f = example();
    let out = connref(f.path(), &["check", "--exit-zero"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("error[CR502]"), "{}", out.stdout);
    // connref's own failures still exit 2.
    let out = connref(f.path(), &["check", "--exit-zero", "missing-folder"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
}

#[test]
fn output_file_takes_the_report_and_stderr_a_summary() {
    let f = example();
    let out = connref(f.path(), &["check", "--format", "json", "--output-file", "report.json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.starts_with("connref: 8 errors") && out.stderr.contains("report.json"),
        "{}",
        out.stderr
    );
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(f.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(v["summary"]["errors"], 8);
    let out = connref(f.path(), &["check", "--output-file", "no/such/folder/report.txt"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("cannot write the report to `no/such/folder/report.txt`"),
        "{}",
        out.stderr
    );
}

fn colored(out: &Output) -> bool {
    out.stdout.contains('\u{1b}')
}

#[test]
fn color_always_never_and_no_color() {
    let f = example();
    assert!(colored(&connref(f.path(), &["check", "--color", "always"])));
    assert!(!colored(&connref(f.path(), &["check", "--color", "never"])));
    // Not a terminal, and NO_COLOR (set by the helper) wins over auto.
    assert!(!colored(&connref(f.path(), &["check", "--color", "auto"])));
    let out = connref(f.path(), &["check", "--color", "sometimes"]);
    assert_eq!(out.code, 2);
}

#[test]
fn rule_names_work_where_codes_do() {
    let f = example();
    let out = connref(f.path(), &["explain", "generated-name"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.starts_with("CR104 (generated-name"), "{}", out.stdout);
    f.write("connref.toml", "[rules]\ngenerated-name = \"off\"\nflow-off = \"error\"\n");
    let out = connref(f.path(), &["check", "--format", "concise", "-q"]);
    assert!(!out.stdout.contains("[CR104]"), "{}", out.stdout);
    assert!(out.stdout.contains("error[CR505]"), "{}", out.stdout);
    f.write("connref.toml", "[rules]\nno-such-rule = \"off\"\n");
    let out = connref(f.path(), &["check"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("line 2") && out.stderr.contains("no-such-rule"),
        "{}",
        out.stderr
    );
}

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = connref(&manifest_dir(), &["completions", shell]);
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        assert!(out.stdout.contains("connref") && out.stdout.contains("check"), "{shell}");
    }
    let out = connref(&manifest_dir(), &["completions", "tcsh"]);
    assert_eq!(out.code, 2);
}

#[test]
fn json_findings_carry_help_suggestion_and_map_table() {
    let f = example();
    // A settings file mapped to a solution that is not there: CR410 with its [[settings.map]] table.
    f.write(
        "connref.toml",
        "[[settings.map]]\nfiles = [\"Billing/config/Prod/*.json\"]\nenvironment = \"Prod\"\nsolution = \"Elsewhere\"\n",
    );
    let out = connref(f.path(), &["check", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let findings = v["findings"].as_array().unwrap();
    let cr104 = findings.iter().find(|f| f["code"] == "CR104").unwrap();
    assert!(cr104["help"].as_str().unwrap().contains("`contoso_billing_dataverse`"), "{cr104}");
    let cr410 = findings.iter().find(|f| f["code"] == "CR410").expect("CR410");
    assert!(
        cr410["help"]
            .as_str()
            .unwrap()
            .contains("[[settings.map]]\nfiles = [\"Billing/config/Prod/deploymentSettings.json\"]"),
        "{cr410}"
    );
}

#[test]
fn human_paths_are_relative_to_the_current_folder_json_to_the_root() {
    let f = example();
    let sub = f.path().join("Billing/config");
    let out = connref(&sub, &["check", "..", "--format", "concise", "-q"]);
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("Prod/deploymentSettings.json:3:27: error[CR401]")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("../SolutionPackage/src/Other/Customizations.xml:25:26")),
        "{}",
        out.stdout
    );
    let out = connref(&sub, &["check", "..", "--format", "json"]);
    assert!(
        out.stdout.contains("\"path\": \"Billing/config/Prod/deploymentSettings.json\""),
        "{}",
        out.stdout
    );
}

#[test]
fn config_search_stops_at_the_repository_root_and_is_named() {
    let outer = Fixture::new();
    outer.write("connref.toml", "[rules]\nCR104 = \"off\"\n");
    let inner = outer.path().join("repo");
    copy_tree(&manifest_dir().join("examples/contoso"), &inner);
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args(args)
            .current_dir(&inner)
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    let out = connref(&inner, &["check", "--format", "concise"]);
    assert!(
        out.stdout.contains("[CR104]"),
        "the config above the repository must not apply: {}",
        out.stdout
    );
    assert!(out.stdout.trim_end().ends_with("; no connref.toml)"), "{}", out.stdout);
    std::fs::write(inner.join("connref.toml"), "[rules]\nCR104 = \"off\"\n").unwrap();
    let out = connref(&inner.join("Billing"), &["check", "--format", "concise"]);
    assert!(!out.stdout.contains("[CR104]"), "{}", out.stdout);
    assert!(out.stdout.trim_end().ends_with("; config ../connref.toml)"), "{}", out.stdout);
    let out = connref(&inner, &["check", "--format", "concise", "--no-config"]);
    assert!(out.stdout.contains("[CR104]"), "{}", out.stdout);
    assert!(out.stdout.trim_end().ends_with("; no config (--no-config))"), "{}", out.stdout);
}

#[test]
fn history_exits_1_on_an_error_event() {
    let f = example();
    let cust = "Billing/SolutionPackage/src/Other/Customizations.xml";
    let text = std::fs::read_to_string(f.path().join(cust)).unwrap();
    // Removing a shipped reference is a CR301 error event.
    let start = text
        .find("<connectionreference connectionreferencelogicalname=\"contoso_reporting_teams\"")
        .unwrap();
    let end = start + text[start..].find("</connectionreference>").unwrap() + "</connectionreference>".len();
    f.write(cust, format!("{}{}", &text[..start], &text[end..]));
    f.git(&["commit", "-qam", "drop teams"]);
    let out = connref(f.path(), &["history"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("CR301"), "{}", out.stdout);
    let clean = example();
    assert_eq!(connref(clean.path(), &["history"]).code, 0);
}

#[test]
fn unreadable_references_are_one_finding_not_a_cascade() {
    let f = example();
    f.write(
        "Billing/SolutionPackage/src/Other/Customizations.xml",
        "<?xml version=\"1.0\"?>\n<ImportExportXml>\n<connectionreferences>\n<connectionreference connectionreferencelogicalname=\"x\">\n</ImportExportXml>\n",
    );
    let out = connref(f.path(), &["check", "--format", "concise", "-q"]);
    assert_eq!(out.code, 1);
    let codes: Vec<&str> = out.stdout.lines().filter_map(|l| l.split('[').nth(1)?.split(']').next()).collect();
    assert_eq!(codes.iter().filter(|c| **c == "CR900").count(), 1, "{}", out.stdout);
    for gone in ["CR502", "CR503", "CR401", "CR404"] {
        assert!(!codes.contains(&gone), "{gone} follows from the broken file: {}", out.stdout);
    }
    assert!(
        out.stdout.contains(
            "its connection references are unknown, so CR502, CR503, CR401 and CR404 were not checked for solution `ContosoBilling`"
        ),
        "{}",
        out.stdout
    );
    // Rules that do not need the reference set still run.
    assert!(
        codes.contains(&"CR501") && codes.contains(&"CR505") && codes.contains(&"CR406"),
        "{}",
        out.stdout
    );
}
