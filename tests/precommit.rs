//! The pre-commit hook through pre-commit itself: `pre-commit run` of this repository's
//! `connref` hook in a temporary git repository, with the hook built by pre-commit (`cargo
//! install`, `language: rust`) as a user's first commit builds it.
//!
//! pre-commit comes from PyPI (`python3 -m pip install pre-commit`, done by `.ci/run`). Without
//! it these tests are skipped with the reason, and fail when CI is set.
//!
//! `pre-commit try-repo` would build the hook from scratch in a temporary store on every call
//! (about two minutes of CPU on 2 cores). Instead, the hook's sources are committed, with fixed
//! dates, to a repository below target/tmp, and every call names that repository at that commit
//! in one pre-commit store kept below target/tmp: the hook is built once for each state of the
//! sources, and a warm run reuses it. Uncommitted changes to the sources are included, as
//! try-repo includes them.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// `None` (with the reason printed) when pre-commit is missing outside CI.
fn pre_commit() -> Option<&'static str> {
    let found = Command::new("pre-commit").arg("--version").output();
    if found.is_ok_and(|o| o.status.success()) {
        return Some("pre-commit");
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "pre-commit is not installed: run `python3 -m pip install pre-commit` (as .ci/run does)"
    );
    println!("skipped: pre-commit is not installed (python3 -m pip install pre-commit)");
    None
}

fn tmp() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("precommit")
}

/// What `cargo install --path .` reads: the manifest, the lock file, the sources and the bench
/// targets the manifest declares, and the hooks file pre-commit reads.
fn is_hook_source(path: &str) -> bool {
    matches!(path, "Cargo.toml" | "Cargo.lock" | ".pre-commit-hooks.yaml") || path.starts_with("src/") || path.starts_with("benches/")
}

/// The repository the hook is installed from, and its commit.
fn hook_repo() -> &'static (PathBuf, String) {
    static REPO: OnceLock<(PathBuf, String)> = OnceLock::new();
    REPO.get_or_init(|| {
        let root = manifest_dir();
        let listed = Command::new("git")
            .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
            .current_dir(&root)
            .output()
            .expect("git ls-files");
        assert!(listed.status.success(), "git ls-files failed in {}", root.display());
        let repo = tmp().join("hook-repo");
        let _ = std::fs::remove_dir_all(&repo);
        for path in String::from_utf8_lossy(&listed.stdout).split('\0').filter(|p| is_hook_source(p)) {
            let from = root.join(path);
            if !from.is_file() {
                continue; // deleted in the working tree
            }
            let to = repo.join(path);
            std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
            std::fs::copy(&from, &to).expect("copy hook source");
        }
        let git = |args: &[&str]| {
            let out = Command::new("git")
                .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"])
                .args(args)
                .current_dir(&repo)
                // Fixed dates: the same sources give the same commit, which the store knows.
                .env("GIT_AUTHOR_DATE", "2000-01-01T00:00:00Z")
                .env("GIT_COMMITTER_DATE", "2000-01-01T00:00:00Z")
                .output()
                .expect("git runs");
            assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        };
        git(&["init", "-q"]);
        git(&["add", "-A"]);
        git(&["commit", "-q", "-m", "hook sources"]);
        let rev = git(&["rev-parse", "HEAD"]);
        (repo, rev)
    })
}

/// Runs the `connref` hook on what is staged in `dir`.
fn run_hook(pre_commit: &str, dir: &Path) -> (bool, String) {
    let (repo, rev) = hook_repo();
    let config = tempfile::tempdir().expect("temp dir");
    let config = config.path().join("pre-commit-config.yaml");
    std::fs::write(
        &config,
        format!(
            "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: connref\n",
            repo.display()
        ),
    )
    .expect("config");
    let out = Command::new(pre_commit)
        .args(["run", "connref", "--verbose", "--config"])
        .arg(&config)
        .current_dir(dir)
        .env("PRE_COMMIT_HOME", tmp().join("store"))
        // Kept between builds of the hook, so that a change to the sources rebuilds only connref.
        .env("CARGO_TARGET_DIR", tmp().join("cargo-target"))
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_EVENT_PATH")
        .output()
        .expect("pre-commit runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
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
    let (ok, text) = run_hook(pre_commit, f.path());
    assert!(ok, "a clean change must pass:\n{text}");
    assert!(text.contains("Passed"), "the hook must have run, not been skipped:\n{text}");
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
    let (ok, text) = run_hook(pre_commit, f.path());
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
