//! `connref check` end to end: every output format on the example repository, the command
//! line contract (exit codes, config errors), bad input, and the real corpus.

mod common;
use common::*;
use serde_json::Value;

fn example(format: &str) -> Output {
    connref(&manifest_dir(), &["check", "examples/contoso", "--format", format])
}

#[test]
fn human_report_of_the_example() {
    let out = example("human");
    assert_eq!(out.code, 1);
    snap!("check_human", out.stdout);
}

#[test]
fn github_report_of_the_example() {
    let out = example("github");
    assert_eq!(out.code, 1);
    snap!("check_github", out.stdout);
}

#[test]
fn json_report_of_the_example() {
    let out = example("json");
    assert_eq!(out.code, 1);
    let doc: Value = serde_json::from_str(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(doc["version"], 1);
    snap!("check_json", out.stdout);
}

#[test]
fn github_format_is_the_default_in_actions_and_caps_annotations() {
    let f = Fixture::new();
    let refs: Vec<(String, String, String)> = (0..12)
        .map(|i| {
            (
                format!("contoso_shared{i}commondataserviceforapps_8{i:04}"),
                format!("R{i}"),
                "shared_sql".to_owned(),
            )
        })
        .collect();
    let refs: Vec<(&str, &str, &str)> = refs.iter().map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str())).collect();
    solution(&f, "", "S", "contoso", &refs);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_connref"))
        .args(["check"])
        .current_dir(f.path())
        .env("GITHUB_ACTIONS", "true")
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let errors = stdout.lines().filter(|l| l.starts_with("::error ")).count();
    let notices = stdout.lines().filter(|l| l.starts_with("::notice ")).count();
    assert_eq!(errors, 10, "{stdout}");
    assert_eq!(notices, 10 + 1, "10 infos and one notice about the rest: {stdout}");
    assert!(stdout.contains("4 findings were not annotated"), "{stdout}");
    assert!(
        stdout.contains("contoso_shared11commondataserviceforapps_80011"),
        "every finding stays in the log"
    );
}

#[test]
fn exit_codes() {
    let f = Fixture::new();
    let empty = connref(f.path(), &["check"]);
    assert_eq!(empty.code, 2, "an empty tree is nothing checked, never clean");
    assert!(
        empty.stderr.starts_with("connref: no solution source found under ."),
        "{}",
        empty.stderr
    );
    let missing = connref(f.path(), &["check", "no/such/folder"]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("no/such/folder"), "{}", missing.stderr);
    assert_eq!(connref(f.path(), &["check", "--format", "yaml"]).code, 2);
    assert_eq!(connref(f.path(), &["explain", "CR999"]).code, 2);
}

#[test]
fn config_errors_name_the_key_and_line() {
    let f = Fixture::new();
    f.write("connref.toml", "[rules]\nCR503 = \"off\"\n\n[naming]\nprefix = \"contoso\"\n");
    let out = connref(f.path(), &["check"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("line 5") && out.stderr.contains("prefix"), "{}", out.stderr);
    let out = connref(f.path(), &["check", "--config", "missing.toml"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("missing.toml"), "{}", out.stderr);
}

#[test]
fn config_is_found_by_walking_up() {
    let f = Fixture::new();
    solution(&f, "deep/src", "S", "contoso", &[("contoso_sharedsql_12345", "x", "shared_sql")]);
    assert_eq!(connref(f.path(), &["check", "deep/src"]).code, 1);
    f.write("connref.toml", "[rules]\nCR104 = \"warning\"\nCR503 = \"off\"\n");
    assert_eq!(connref(&f.path().join("deep"), &["check", "src"]).code, 0);
}

#[test]
fn rules_and_explain() {
    let out = connref(&manifest_dir(), &["rules"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.lines().any(|l| l.starts_with("CR104  error")), "{}", out.stdout);
    assert_eq!(out.stdout.lines().count(), connref::rules::registry::RULES.len());
    let out = connref(&manifest_dir(), &["explain", "cr104"]);
    assert_eq!(out.code, 0);
    snap!("explain_cr104", out.stdout);
}

/// Bad input never panics and is never skipped in silence.
#[test]
fn bad_input_is_reported_with_positions() {
    let f = Fixture::new();
    solution(&f, "", "S", "contoso", &[("contoso_billing_outlook", "Mail", "shared_office365")]);
    let wf = |name: &str| format!("Workflows/{name}-00000000-0000-0000-0000-0000000000{:02}.json", name.len());
    f.write(&wf("Empty"), "");
    f.write(&wf("Binary"), b"\x00\x01\x02PK\x03\x04".as_slice());
    f.write(&wf("Latin1"), b"{\"a\":\"caf\xe9\"}".as_slice());
    f.write(
        &wf("Trailing"),
        "{\r\n  \"properties\": {\r\n    \"connectionReferences\": {\r\n      \"a\": 1,\r\n    }\r\n  }\r\n}\r\n",
    );
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(
            "{\"properties\":{\"connectionReferences\":{\"k\":{\"connection\":{\"connectionReferenceLogicalName\":\"contoso_billing_outlook\"},\"api\":{\"name\":\"shared_office365\"}}}}}"
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    f.write(&wf("Utf16"), utf16);
    f.write(
        "Workflows/Bad-00000000-0000-0000-0000-000000000099.json.data.xml",
        "<Workflow><StateCode>1</Workflow>",
    );
    f.write("Workflows/Bad-00000000-0000-0000-0000-000000000099.json", "{\"properties\":{}}");
    let out = connref(f.path(), &["check", "--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let doc: Value = serde_json::from_str(&out.stdout).expect("json");
    let lines: Vec<String> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["code"] != "CR509")
        .map(|f| {
            format!(
                "{} {}:{}:{} {}",
                f["code"].as_str().unwrap_or(""),
                f["path"].as_str().unwrap_or(""),
                f["line"],
                f["column"],
                f["message"].as_str().unwrap_or("")
            )
        })
        .collect();
    snap!("bad_input", lines.join("\n"));
}

#[cfg(unix)]
#[test]
fn symlink_loops_and_non_utf8_paths_are_reported() {
    use std::os::unix::ffi::OsStrExt;
    let f = Fixture::new();
    solution(&f, "", "S", "contoso", &[]);
    std::os::unix::fs::symlink(f.path(), f.path().join("Workflows-loop")).expect("symlink");
    let name = std::ffi::OsStr::from_bytes(b"Workflows/caf\xe9.json");
    std::fs::create_dir_all(f.path().join("Workflows")).expect("mkdir");
    std::fs::write(f.path().join(name), "{}").expect("write");
    let out = connref(f.path(), &["check", "--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let doc: Value = serde_json::from_str(&out.stdout).expect("json");
    let messages: Vec<&str> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["message"].as_str())
        .collect();
    assert!(messages.iter().any(|m| m.contains("symbolic-link loop")), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("not valid UTF-8")), "{messages:?}");
}

#[cfg(unix)]
#[test]
fn a_folder_whose_name_is_not_utf8_is_read_like_any_other() {
    use std::os::unix::ffi::OsStrExt;
    let f = Fixture::new();
    solution(&f, "x", "S", "contoso", &[("contoso_billing_outlook", "Mail", "shared_office365")]);
    f.write(
        "x/Workflows/Pay-00000000-0000-0000-0000-000000000001.json",
        flow_json(&[("k", "contoso_billing_outlook", "shared_office365")]),
    );
    let odd = std::ffi::OsStr::from_bytes(b"caf\xe9");
    std::fs::rename(f.path().join("x"), f.path().join(odd)).expect("rename");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_connref"))
        .arg("check")
        .arg(odd)
        .args(["--format", "json"])
        .current_dir(f.path())
        .output()
        .expect("connref runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let doc: Value = serde_json::from_str(&stdout).expect("json");
    // Every file is read; the folder's own name cannot be shown, so paths start below it.
    let codes: Vec<(&str, &str)> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| (f["code"].as_str().unwrap_or_default(), f["path"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(
        codes,
        [("CR509", "Workflows/Pay-00000000-0000-0000-0000-000000000001.json")],
        "{stdout}"
    );
    assert_eq!(doc["summary"]["files"], 3, "{stdout}");
    assert_eq!(out.status.code(), Some(0), "{stdout}");
}

#[test]
fn a_large_valid_flow_is_just_a_flow() {
    let f = Fixture::new();
    solution(&f, "", "S", "contoso", &[("contoso_billing_outlook", "Mail", "shared_office365")]);
    let filler = "x".repeat(50 * 1024 * 1024);
    f.write(
        "Workflows/Big-00000000-0000-0000-0000-000000000001.json",
        format!("{{\"properties\":{{\"description\":\"{filler}\",\"connectionReferences\":{{\"k\":{{\"connection\":{{\"connectionReferenceLogicalName\":\"contoso_billing_outlook\"}},\"api\":{{\"name\":\"shared_sharepointonline\"}}}}}}}}}}"),
    );
    let out = connref(f.path(), &["check", "--format", "json"]);
    let doc: Value = serde_json::from_str(&out.stdout).expect("json");
    let codes: Vec<&str> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert_eq!(codes, ["CR509", "CR504"]);
    assert_eq!(doc["findings"][1]["column"], 52_428_943);
}

/// The facts ../shared/docs/solution-format.md states about the corpus.
#[test]
fn corpus_facts() {
    let corpus = manifest_dir().join("../shared/corpus");
    if !corpus.is_dir() {
        // Loud, not silent: a developer machine without shared/ still sees why nothing ran.
        eprintln!("corpus_facts: {} is missing; the corpus checks did not run", corpus.display());
        return;
    }
    let out = connref(&manifest_dir(), &["check", &corpus.display().to_string(), "--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let doc: Value = serde_json::from_str(&out.stdout).expect("json");
    let findings = doc["findings"].as_array().expect("findings");
    let of = |code: &str| findings.iter().filter(|f| f["code"] == code).collect::<Vec<_>>();
    assert!(of("CR900").is_empty(), "no CR900 in the corpus: {:?}", of("CR900"));
    let mut cr102: Vec<&str> = of("CR102").iter().filter_map(|f| f["reference"].as_str()).collect();
    cr102.sort();
    assert_eq!(
        cr102,
        [
            "cr50e_sharedoffice365_abd1a",
            "new_sharedcommondataservice_38df0",
            "new_sharedoffice365_912a8",
            "new_sharedwebcontents_a4eee"
        ]
    );
    assert_eq!(
        doc["summary"]["solutions"], 8,
        "5 automation-kit roots, managed + unmanaged, delta-flows-framework"
    );
    // delta-flows-framework: 8 entries bound to 4 envvar_* names that no solution defines.
    let cr502: Vec<&Value> = of("CR502").into_iter().filter(|f| f["solution"] == "DeltaFlowsFramework").collect();
    assert_eq!(cr502.len(), 8);
    assert!(
        cr502
            .iter()
            .all(|f| f["reference"].as_str().is_some_and(|r| r.starts_with("envvar_")))
    );
    assert_eq!(of("CR509").len(), 3, "the three flows without .json.data.xml");
    // Unused references: at most the ones no flow uses (7, 6, 1), fewer where a canvas app uses the connector.
    let unused = |s: &str| of("CR503").iter().filter(|f| f["solution"] == s).count();
    assert_eq!(
        (
            unused("AutomationCoEMain"),
            unused("AutomationCoESatellite"),
            unused("AutomationKitInstaller")
        ),
        (6, 5, 1)
    );
    assert!(of("CR503").iter().any(|f| f["reference"] == "autocoe_sharedteams_35fc2"));
    assert!(of("CR503").iter().any(|f| f["reference"] == "trz_TargetSQL90"));
    // The clean flow side of the automation kit.
    for code in ["CR501", "CR504", "CR506", "CR507", "CR508"] {
        assert!(of(code).is_empty(), "{code}: {:?}", of(code));
    }
    // Every location points at what it names.
    for f in findings {
        let path = manifest_dir().join(f["path"].as_str().expect("path"));
        let text = std::fs::read_to_string(&path).expect("readable");
        let text = text.trim_start_matches('\u{feff}');
        let line = text
            .lines()
            .nth(f["line"].as_u64().expect("line") as usize - 1)
            .expect("line exists");
        let at: String = line.chars().skip(f["column"].as_u64().expect("column") as usize - 1).collect();
        let expected = match f["code"].as_str() {
            Some("CR502") => "\"connectionReferenceLogicalName\"",
            Some("CR509") => "{",
            Some("CR401" | "CR407") => "[",
            _ => "connectionreferencelogicalname=",
        };
        assert!(
            at.starts_with(expected),
            "{} at {}:{}: `{}`",
            f["code"],
            f["path"],
            f["line"],
            &at[..at.len().min(40)]
        );
    }
}
