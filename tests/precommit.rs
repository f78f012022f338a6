//! The pre-commit hook through pre-commit itself: `pre-commit try-repo` of this repository in a
//! temporary git repository, with the hook built by pre-commit as a user's first commit builds it.
//!
//! pre-commit comes from PyPI (`pip install pre-commit`, done by `.ci/run`). Without it the test
//! that runs it is skipped with a printed reason, so `cargo test` passes with only a Rust
//! toolchain; when `CI` is set, a missing pre-commit fails it: a hook that is never run in CI is
//! a hook that is never tested.
//! `try-repo` builds the hook from scratch in a temporary store on every call (about two minutes
//! of CPU each on 2 cores), so this file makes only two calls.

mod common;
use common::*;

use std::process::Command;

/// `Some("pre-commit")` when it is installed; `None` (with the reason printed) when it is not and
/// `CI` is unset.
fn pre_commit() -> Option<String> {
    let found = Command::new("pre-commit").arg("--version").output();
    match found {
        Ok(o) if o.status.success() => Some("pre-commit".to_owned()),
        _ if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) => {
            panic!("pre-commit is not installed and CI is set: run `python3 -m pip install pre-commit` (as .ci/run does)")
        }
        _ => {
            eprintln!("skipped: pre-commit is not installed (`python3 -m pip install pre-commit` runs this test)");
            None
        }
    }
}

const GUID: &str = "625ac674-7d13-2184-4d44-fb6c6d48c11c";

fn repo_with_one_reference() -> Fixture {
    let f = Fixture::new();
    solution(
        &f,
        "src",
        "Billing",
        "contoso",
        &[("contoso_invoiceapproval_outlook", "Invoice approval mail", "shared_office365")],
    );
    flow(
        &f,
        "src",
        "Send invoice",
        GUID,
        1,
        &[("shared_office365", "contoso_invoiceapproval_outlook", "shared_office365")],
    );
    f.git(&["init", "-q"]);
    f.git(&["add", "-A"]);
    f.git(&["commit", "-q", "-m", "base"]);
    f
}

/// Runs the `connref` hook of this repository on what is staged in `f`.
fn try_repo(f: &Fixture, pre_commit: &str) -> (bool, String) {
    let home = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pre-commit-home");
    let out = Command::new(pre_commit)
        .args(["try-repo", &manifest_dir().to_string_lossy(), "connref", "--verbose"])
        .current_dir(f.path())
        // try-repo builds in a temporary store of its own; this home only keeps pre-commit's logs.
        .env("PRE_COMMIT_HOME", &home)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_EVENT_PATH")
        .output()
        .expect("pre-commit runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn recreated_reference_fails_and_clean_change_passes() {
    let Some(pre_commit) = pre_commit() else { return };
    let f = repo_with_one_reference();

    // A clean change: a second flow on the existing reference.
    flow(
        &f,
        "src",
        "Remind approver",
        "9d1f3c1e-2a5b-4c6d-8e7f-0a1b2c3d4e5f",
        1,
        &[("shared_office365", "contoso_invoiceapproval_outlook", "shared_office365")],
    );
    f.git(&["add", "-A"]);
    let (ok, text) = try_repo(&f, &pre_commit);
    assert!(ok, "a clean change must pass:\n{text}");
    f.git(&["commit", "-q", "-m", "second flow"]);

    // The reference deleted and created again under a new name, and the flows moved to it.
    let new = "contoso_invoiceapproval2_outlook";
    solution(
        &f,
        "src",
        "Billing",
        "contoso",
        &[(new, "Invoice approval mail", "shared_office365")],
    );
    flow(&f, "src", "Send invoice", GUID, 1, &[("shared_office365", new, "shared_office365")]);
    flow(
        &f,
        "src",
        "Remind approver",
        "9d1f3c1e-2a5b-4c6d-8e7f-0a1b2c3d4e5f",
        1,
        &[("shared_office365", new, "shared_office365")],
    );
    f.git(&["add", "-A"]);
    let (ok, text) = try_repo(&f, &pre_commit);
    assert!(!ok, "a re-created reference must fail the commit:\n{text}");
    assert!(text.contains("CR302"), "CR302 expected:\n{text}");
}

#[test]
fn hooks_file_declares_both_hooks() {
    let text = std::fs::read_to_string(manifest_dir().join(".pre-commit-hooks.yaml")).expect("hooks file");
    for needle in [
        "- id: connref\n",
        "- id: connref-system\n",
        "language: rust",
        "language: system",
        "entry: connref check --staged",
        "pass_filenames: false",
        "require_serial: true",
    ] {
        assert!(text.contains(needle), "{needle:?} missing");
    }
}
