//! The action's run step (`action/run.sh`) in a simulated runner: a fake event payload, temporary
//! `GITHUB_OUTPUT` and `GITHUB_STEP_SUMMARY` files, and the built binary behind a wrapper that
//! records how it is called.

mod common;
use common::*;

use std::path::Path;
use std::process::Command;

struct Run {
    code: i32,
    stdout: String,
    outputs: String,
    summary: String,
    /// One line per call of the binary: its arguments, then whether GITHUB_TOKEN was set.
    calls: Vec<String>,
}

fn project(f: &Fixture, name: &str) {
    solution(
        f,
        "src",
        "Billing",
        "contoso",
        &[(name, "Invoice approval mail", "shared_office365")],
    );
    flow(
        f,
        "src",
        "Send invoice",
        "625ac674-7d13-2184-4d44-fb6c6d48c11c",
        1,
        &[("shared_office365", name, "shared_office365")],
    );
}

fn run_step(f: &Fixture, event_name: &str, inputs: &[(&str, &str)]) -> Run {
    let dir = f.path();
    f.write("runner/event.json", r#"{"pull_request":{"number":5,"base":{"sha":"0000000"}}}"#);
    f.write("runner/output", "");
    f.write("runner/summary", "");
    // The comment, verify and audit subcommands only exist with the `github` and `online`
    // features, so the wrapper records them instead of running them; check runs for real.
    let wrapper = dir.join("runner/connref");
    f.write(
        "runner/connref",
        format!(
            "#!/usr/bin/env bash\necho \"$* token=${{GITHUB_TOKEN:+set}}\" >>\"{}\"\nif [[ \"$1\" == comment ]]; then echo commented; exit 0; fi\nif [[ \"$1\" == verify || \"$1\" == audit ]]; then echo \"ran $1\"; exit 1; fi\nexec \"{}\" \"$@\"\n",
            dir.join("runner/calls").display(),
            env!("CARGO_BIN_EXE_connref")
        ),
    );
    let mut perms = std::fs::metadata(&wrapper).expect("wrapper").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&wrapper, perms).expect("chmod");

    let mut cmd = Command::new("bash");
    cmd.arg(manifest_dir().join("action/run.sh"))
        .current_dir(dir)
        .env("CONNREF", &wrapper)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", event_name)
        .env("GITHUB_EVENT_PATH", dir.join("runner/event.json"))
        .env("GITHUB_OUTPUT", dir.join("runner/output"))
        .env("GITHUB_STEP_SUMMARY", dir.join("runner/summary"))
        .env("RUNNER_TEMP", dir.join("runner"))
        .env("GITHUB_TOKEN", "ghs_fake")
        .env("NO_COLOR", "1");
    for (k, v) in inputs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("bash runs");
    let read = |p: &str| std::fs::read_to_string(dir.join(p)).unwrap_or_default();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
        outputs: read("runner/output"),
        summary: read("runner/summary"),
        calls: read("runner/calls").lines().map(str::to_owned).collect(),
    }
}

#[test]
fn pull_request_with_errors_annotates_summarises_comments_and_fails() {
    let f = Fixture::new();
    project(&f, "new_sharedoffice365_4f2a1");
    let r = run_step(&f, "pull_request", &[("INPUT_PATH", "src"), ("INPUT_COMMENT", "true")]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("::error file=src/Other/Customizations.xml"), "{}", r.stdout);
    assert!(r.stdout.contains("commented"), "{}", r.stdout);
    let errors: usize = r
        .outputs
        .lines()
        .find_map(|l| l.strip_prefix("errors="))
        .and_then(|n| n.parse().ok())
        .expect("errors output");
    assert!(errors >= 1, "{}", r.outputs);
    assert!(
        r.outputs.contains("\nwarnings=") && r.outputs.contains("\nchanged=false\n"),
        "{}",
        r.outputs
    );
    assert!(r.summary.starts_with("### connref\n\n❌ **connref found"), "{}", r.summary);
    assert!(r.summary.contains("| Severity | Code | Location | Message |"), "{}", r.summary);
    assert_eq!(r.calls.len(), 2, "{:?}", r.calls);
    assert_eq!(r.calls[0], "check src --format github token=set");
    // The token reaches the comment through the environment, never as an argument.
    assert_eq!(r.calls[1], "comment src token=set");
}

#[test]
fn push_of_a_clean_tree_passes_without_comment() {
    let f = Fixture::new();
    project(&f, "contoso_invoiceapproval_outlook");
    let r = run_step(&f, "push", &[("INPUT_PATH", "src"), ("INPUT_CONFIG", "")]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("'push' is not a pull-request event: no comment"), "{}", r.stdout);
    assert_eq!(r.outputs, "errors=0\nwarnings=0\nchanged=false\n");
    assert!(r.summary.contains("✅ **connref:** no findings."), "{}", r.summary);
    assert_eq!(r.calls, vec!["check src --format github token=set"]);
}

#[test]
fn sarif_goes_to_a_file_named_in_the_outputs() {
    let f = Fixture::new();
    project(&f, "new_sharedoffice365_4f2a1");
    let r = run_step(
        &f,
        "pull_request",
        &[("INPUT_PATH", "src"), ("INPUT_FORMAT", "sarif"), ("INPUT_COMMENT", "false")],
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    let path = r.outputs.lines().find_map(|l| l.strip_prefix("sarif=")).expect("sarif output");
    let sarif: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).expect("sarif file")).expect("json");
    assert_eq!(sarif["version"], "2.1.0");
    assert!(!sarif["runs"][0]["results"].as_array().expect("results").is_empty());
    assert_eq!(r.calls.len(), 1, "comment=false: {:?}", r.calls);
}

#[test]
fn inputs_cannot_inject_shell() {
    let f = Fixture::new();
    project(&f, "contoso_invoiceapproval_outlook");
    let r = run_step(
        &f,
        "push",
        &[("INPUT_PATH", "$(touch pwned)"), ("INPUT_FORMAT", "github; touch pwned2")],
    );
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stdout.contains("::error title=connref::the format input must be"), "{}", r.stdout);
    assert!(!Path::new(&f.path().join("pwned")).exists() && !f.path().join("pwned2").exists());
    let r = run_step(&f, "push", &[("INPUT_PATH", "$(touch pwned)")]);
    assert_eq!(r.code, 2, "a path that does not exist: {}", r.stdout);
    assert!(!f.path().join("pwned").exists());
}

#[test]
fn action_yml_passes_inputs_only_through_env() {
    let yml = std::fs::read_to_string(manifest_dir().join("action.yml")).expect("action.yml");
    for line in yml.lines().filter(|l| l.trim_start().starts_with("run:")) {
        assert!(!line.contains("${{"), "an expression inside run: {line}");
    }
    for input in [
        "command",
        "environment",
        "settings",
        "path",
        "base",
        "config",
        "format",
        "comment",
        "token",
        "version",
    ] {
        assert!(yml.contains(&format!("\n  {input}:\n")), "input {input} is missing");
    }
    assert!(yml.contains("using: composite") && yml.contains("default: ${{ github.token }}"));
}

#[test]
fn base_and_config_reach_check_and_comment() {
    let f = Fixture::new();
    project(&f, "contoso_invoiceapproval_outlook");
    f.write("connref.toml", "");
    let r = run_step(
        &f,
        "workflow_run",
        &[("INPUT_PATH", "src"), ("INPUT_BASE", "HEAD~1"), ("INPUT_CONFIG", "connref.toml")],
    );
    assert_eq!(r.calls.len(), 2, "{:?}\n{}", r.calls, r.stdout);
    assert_eq!(
        r.calls[0],
        "check src --config connref.toml --base HEAD~1 --format github token=set"
    );
    assert_eq!(r.calls[1], "comment src --config connref.toml --base HEAD~1 token=set");
}

#[test]
fn install_step_rejects_a_version_that_is_not_a_release() {
    let f = Fixture::new();
    f.write("runner/path", "");
    let out = Command::new("bash")
        .arg(manifest_dir().join("action/install.sh"))
        .current_dir(f.path())
        .env("INPUT_VERSION", "1.0; $(touch pwned)")
        .env("RUNNER_TEMP", f.path().join("runner"))
        .env("GITHUB_PATH", f.path().join("runner/path"))
        .output()
        .expect("bash runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("::error title=connref::the version input must be a release"),
        "{text}"
    );
    assert!(!f.path().join("pwned").exists());
    assert_eq!(std::fs::read_to_string(f.path().join("runner/path")).unwrap_or_default(), "");
}

#[test]
fn verify_and_audit_run_against_the_environment_without_a_comment() {
    let f = Fixture::new();
    project(&f, "contoso_invoiceapproval_outlook");
    let r = run_step(
        &f,
        "push",
        &[
            ("INPUT_COMMAND", "verify"),
            ("INPUT_ENVIRONMENT", "Prod"),
            ("INPUT_PATH", "src"),
            ("INPUT_CONFIG", "connref.toml"),
            ("INPUT_BASE", "HEAD~1"),
        ],
    );
    assert_eq!(r.code, 1, "verify's exit status decides the step: {}", r.stdout);
    assert!(r.stdout.contains("ran verify"), "{}", r.stdout);
    assert_eq!(r.calls, ["verify src --env Prod --config connref.toml --format github token=set"]);
    let f = Fixture::new();
    let r = run_step(
        &f,
        "pull_request",
        &[
            ("INPUT_COMMAND", "verify"),
            ("INPUT_ENVIRONMENT", "Prod"),
            ("INPUT_SETTINGS", "out/settings.json"),
        ],
    );
    assert_eq!(
        r.calls,
        ["verify . --env Prod --format github --settings out/settings.json token=set"]
    );
    let f = Fixture::new();
    let r = run_step(
        &f,
        "schedule",
        &[("INPUT_COMMAND", "audit"), ("INPUT_ENVIRONMENT", "Prod"), ("INPUT_FORMAT", "json")],
    );
    assert_eq!(r.calls, ["audit --env Prod --format json token=set"]);
}

#[test]
fn verify_needs_an_environment_and_commands_are_checked() {
    let f = Fixture::new();
    project(&f, "contoso_invoiceapproval_outlook");
    let r = run_step(&f, "push", &[("INPUT_COMMAND", "verify")]);
    assert_eq!(r.code, 2);
    assert!(
        r.stdout
            .contains("::error title=connref::the verify command needs the environment input"),
        "{}",
        r.stdout
    );
    let r = run_step(&f, "push", &[("INPUT_COMMAND", "deploy; touch pwned")]);
    assert_eq!(r.code, 2);
    assert!(
        r.stdout
            .contains("::error title=connref::the command input must be check, verify or audit"),
        "{}",
        r.stdout
    );
    assert!(r.calls.is_empty() && !f.path().join("pwned").exists());
}
