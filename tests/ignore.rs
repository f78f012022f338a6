//! `[[ignore]]` tables and the old top-level `ignore` globs.

mod common;
use common::*;

fn example() -> Fixture {
    let f = Fixture::new();
    copy_tree(&manifest_dir().join("examples/contoso"), f.path());
    f
}

const GENERATED: &str = "contoso_sharedcommondataserviceforapps_87e06";

fn lines_with(out: &Output, needle: &str) -> usize {
    out.stdout.lines().filter(|l| l.contains(needle)).count()
}

#[test]
fn scoped_ignore_hides_only_its_rules_and_shows_its_reason() {
    let f = example();
    f.write(
        "connref.toml",
        "[[ignore]]\nrules = [\"CR104\", \"publisher-prefix\"]\nreferences = [\"CONTOSO_shared*\", \"new_*\"]\nreason = \"shipped: the name cannot change\"\n",
    );
    let out = connref(f.path(), &["check", "--format", "concise", "-q"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(lines_with(&out, "[CR104]") + lines_with(&out, "[CR102]"), 0, "{}", out.stdout);
    // The deployment error on the same reference stays.
    assert_eq!(lines_with(&out, "error[CR406]"), 2, "{}", out.stdout);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    let out = connref(f.path(), &["check", "--format", "concise", "--show-ignored"]);
    assert!(out.stdout.contains("ignored by the config (3):"), "{}", out.stdout);
    assert!(
        out.stdout.contains(&format!("error[CR104] reference `{GENERATED}`"))
            && out.stdout.contains("([[ignore]] on line 1: shipped: the name cannot change)"),
        "{}",
        out.stdout
    );
}

#[test]
fn scoped_ignore_by_flow_and_path() {
    let f = example();
    f.write("connref.toml", "[[ignore]]\nflows = [\"Archive *\"]\n\n[[ignore]]\nrules = [\"settings-connection-reused\"]\npaths = [\"Billing/config/Test/*\"]\n");
    let out = connref(f.path(), &["check", "--format", "concise", "-q"]);
    assert_eq!(lines_with(&out, "`Archive paid invoices`"), 0, "{}", out.stdout);
    assert_eq!(lines_with(&out, "error[CR406]"), 1, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("Billing/config/Prod/deploymentSettings.json:11:23: error[CR406]"),
        "{}",
        out.stdout
    );
}

#[test]
fn old_top_level_ignore_hides_naming_findings_only() {
    let f = example();
    f.write("connref.toml", "ignore = [\"contoso_shared*\"]\n");
    let out = connref(f.path(), &["check", "--format", "concise", "-q"]);
    assert_eq!(lines_with(&out, &format!("[CR104] reference `{GENERATED}`")), 0, "{}", out.stdout);
    assert_eq!(lines_with(&out, "error[CR406]"), 2, "{}", out.stdout);
}

#[test]
fn bad_ignore_tables_are_exit_2_naming_the_line() {
    let f = example();
    for (toml, line, what) in [
        ("exclude = []\n\n[[ignore]]\nrules = [\"CR999\"]\n", "line 3", "CR999"),
        (
            "[[ignore]]\nrules = [\"CR104\"]\n[[ignore]]\nreferences = [\"a[\"]\n",
            "line 4",
            "a[",
        ),
        ("[[ignore]]\nrule = [\"CR104\"]\n", "line 1", "rule"),
        ("[[ignore]]\nreason = \"everything\"\n", "line 1", "would hide every finding"),
    ] {
        f.write("connref.toml", toml);
        let out = connref(f.path(), &["check"]);
        assert_eq!(out.code, 2, "{toml}: {}", out.stderr);
        assert!(out.stderr.contains(line) && out.stderr.contains(what), "{toml}: {}", out.stderr);
    }
}

#[test]
fn ignore_that_matches_nothing_is_a_warning_naming_its_line() {
    let f = example();
    f.write(
        "connref.toml",
        "[[ignore]]\nrules = [\"CR104\"]\n\n[[ignore]]\nreferences = [\"nothing_like_this_*\"]\n",
    );
    let out = connref(f.path(), &["check"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("line 4: this [[ignore]] matches no finding"), "{}", out.stderr);
    assert!(!out.stderr.contains("line 1:"), "{}", out.stderr);
}
