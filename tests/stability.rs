//! Stability across revisions, on real git repositories built with the git command line.

mod common;
use common::*;

use std::process::Command;

const A: &str = "625ac674-7d13-2184-4d44-fb6c6d48c11c";
const B: &str = "0b3a2f1e-1111-4222-8333-944455556666";
const C: &str = "7c7c7c7c-2222-4333-8444-955566667777";
const OUTLOOK: (&str, &str, &str) = ("contoso_invoice_outlook", "Invoice mail", "shared_office365");
const SP: (&str, &str, &str) = ("contoso_billing_sharepoint", "Billing documents", "shared_sharepointonline");

fn base_tree(f: &Fixture, root: &str) {
    solution(f, root, "Billing", "contoso", &[OUTLOOK, SP]);
    flow(
        f,
        root,
        "Send invoice",
        A,
        1,
        &[("shared_office365", OUTLOOK.0, "shared_office365")],
    );
    flow(
        f,
        root,
        "Archive invoice",
        B,
        1,
        &[("shared_sharepointonline", SP.0, "shared_sharepointonline")],
    );
}

/// A repository whose only commit holds the Billing solution under `src`.
fn repo() -> Fixture {
    let f = Fixture::new();
    base_tree(&f, "src");
    f.git(&["init", "-q"]);
    f.git(&["add", "-A"]);
    f.git(&["commit", "-qm", "base"]);
    f
}

fn commit(f: &Fixture, msg: &str) {
    f.git(&["add", "-A"]);
    f.git(&["commit", "-qm", msg]);
}

fn codes(out: &Output) -> Vec<String> {
    let mut v: Vec<String> = out
        .stdout
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let rest = l
                .strip_prefix("error[")
                .or(l.strip_prefix("warning["))
                .or(l.strip_prefix("info["))?;
            Some(rest.split(']').next()?.to_owned())
        })
        .collect();
    v.sort();
    v
}

fn stability_codes(out: &Output) -> Vec<String> {
    codes(out).into_iter().filter(|c| c.starts_with("CR3") || c == "CR900").collect()
}

fn check_base(f: &Fixture, rev: &str) -> Output {
    connref(f.path(), &["check", "--base", rev])
}

#[test]
fn unchanged_tree_has_no_stability_finding() {
    let f = repo();
    let out = check_base(&f, "HEAD");
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(stability_codes(&out).is_empty(), "{}", out.stdout);
}

#[test]
fn cr301_reference_removed_names_its_flows() {
    let f = repo();
    solution(&f, "src", "Billing", "contoso", &[OUTLOOK]);
    let out = check_base(&f, "HEAD");
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(stability_codes(&out), ["CR301"], "{}", out.stdout);
    assert!(
        out.stdout
            .contains("reference `contoso_billing_sharepoint` is gone: at the base it was used by `Archive invoice`")
    );
    assert!(out.stdout.contains("src/Other/Customizations.xml:12:26"), "{}", out.stdout);
}

#[test]
fn cr301_names_an_added_reference_of_the_same_connector() {
    let f = repo();
    // SharePoint reference removed; another SharePoint reference (new display name, no flow
    // moved to it) added: not a re-creation, but the message names the likely replacement.
    let added = ("contoso_records_sharepoint", "Records", "shared_sharepointonline");
    solution(&f, "src", "Billing", "contoso", &[OUTLOOK, added]);
    let out = check_base(&f, "HEAD");
    assert_eq!(stability_codes(&out), ["CR301"], "{}", out.stdout);
    assert!(
        out.stdout
            .contains("; if `contoso_records_sharepoint` replaces it, every flow and settings file bound to the old name breaks"),
        "{}",
        out.stdout
    );
    // Near miss: an added reference of another connector is not named.
    let f = repo();
    solution(
        &f,
        "src",
        "Billing",
        "contoso",
        &[OUTLOOK, ("contoso_records_teams", "Records", "shared_teams")],
    );
    let out = check_base(&f, "HEAD");
    assert_eq!(stability_codes(&out), ["CR301"], "{}", out.stdout);
    assert!(!out.stdout.contains("replaces it"), "{}", out.stdout);
}

#[test]
fn cr301_near_miss_display_name_change() {
    let f = repo();
    solution(&f, "src", "Billing", "contoso", &[OUTLOOK, (SP.0, "Billing archive", SP.2)]);
    let out = check_base(&f, "HEAD");
    assert!(stability_codes(&out).is_empty(), "{}", out.stdout);
}

#[test]
fn cr302_reference_recreated() {
    let f = repo();
    let new = ("contoso_invoicemail_outlook", "Invoice mail", "shared_office365");
    solution(&f, "src", "Billing", "contoso", &[new, SP]);
    flow(&f, "src", "Send invoice", A, 1, &[("shared_office365", new.0, "shared_office365")]);
    let out = check_base(&f, "HEAD");
    assert_eq!(stability_codes(&out), ["CR302"], "{}", out.stdout);
    assert!(out.stdout.contains(
        "`contoso_invoice_outlook` was re-created as `contoso_invoicemail_outlook`: keep `contoso_invoice_outlook` and change its display name instead"
    ));
}

#[test]
fn cr302_by_moved_flows_even_with_a_new_display_name() {
    let f = repo();
    let new = ("contoso_invoicemail_outlook", "Outgoing mail", "shared_office365");
    solution(&f, "src", "Billing", "contoso", &[new, SP]);
    flow(&f, "src", "Send invoice", A, 1, &[("shared_office365", new.0, "shared_office365")]);
    assert_eq!(stability_codes(&check_base(&f, "HEAD")), ["CR302"]);
}

#[test]
fn cr302_near_miss_other_connector_is_removal_and_addition() {
    let f = repo();
    let new = ("contoso_invoice_teams", "Invoice mail", "shared_teams");
    solution(&f, "src", "Billing", "contoso", &[new, SP]);
    let out = check_base(&f, "HEAD");
    assert_eq!(stability_codes(&out), ["CR301"], "{}", out.stdout);
}

#[test]
fn cr303_connector_changed_and_near_miss_on_casing() {
    let f = repo();
    solution(
        &f,
        "src",
        "Billing",
        "contoso",
        &[OUTLOOK, (SP.0, SP.1, "shared_onedriveforbusiness")],
    );
    let out = check_base(&f, "HEAD");
    assert!(stability_codes(&out).contains(&"CR303".to_owned()), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("from `shared_sharepointonline` to `shared_onedriveforbusiness`")
    );

    let g = repo();
    solution(&g, "src", "Billing", "contoso", &[OUTLOOK, (SP.0, SP.1, "Shared_SharePointOnline")]);
    assert!(stability_codes(&check_base(&g, "HEAD")).is_empty());
}

#[test]
fn cr304_flow_recreated_and_cr306_near_miss() {
    let f = repo();
    f.remove(&format!("src/Workflows/Sendinvoice-{}.json", A.to_uppercase()));
    f.remove(&format!("src/Workflows/Sendinvoice-{}.json.data.xml", A.to_uppercase()));
    flow(
        &f,
        "src",
        "Send invoice",
        C,
        1,
        &[("shared_office365", OUTLOOK.0, "shared_office365")],
    );
    let out = check_base(&f, "HEAD");
    assert_eq!(stability_codes(&out), ["CR304"], "{}", out.stdout);
    assert!(out.stdout.contains(&format!("its workflow id changed from {A} to {C}")));

    // A new flow under another name is an addition, and the old one a removal.
    let g = repo();
    g.remove(&format!("src/Workflows/Sendinvoice-{}.json", A.to_uppercase()));
    g.remove(&format!("src/Workflows/Sendinvoice-{}.json.data.xml", A.to_uppercase()));
    flow(
        &g,
        "src",
        "Send reminder",
        C,
        1,
        &[("shared_office365", OUTLOOK.0, "shared_office365")],
    );
    let out = check_base(&g, "HEAD");
    assert_eq!(stability_codes(&out), ["CR306"], "{}", out.stdout);
    assert!(out.stdout.contains("flow `Send invoice` was removed (this location is at the base"));
    assert_eq!(out.code, 0, "CR306 is a warning");
}

#[test]
fn cr305_one_move_is_info_many_are_a_warning() {
    let f = repo();
    let reminder = |ln: &str| {
        flow(
            &f,
            "src",
            "Reminder",
            C,
            1,
            &[("shared_sharepointonline", ln, "shared_sharepointonline")],
        )
    };
    reminder(SP.0);
    commit(&f, "third flow");
    let new = ("contoso_archive_sharepoint", "Archive", "shared_sharepointonline");
    solution(&f, "src", "Billing", "contoso", &[OUTLOOK, SP, new]);
    flow(
        &f,
        "src",
        "Archive invoice",
        B,
        1,
        &[("shared_sharepointonline", new.0, "shared_sharepointonline")],
    );
    let out = check_base(&f, "HEAD");
    assert_eq!(stability_codes(&out), ["CR305"], "{}", out.stdout);
    assert!(
        out.stdout.contains(
            "info[CR305]: flow `Archive invoice` moved from reference `contoso_billing_sharepoint` to `contoso_archive_sharepoint`"
        )
    );

    reminder(new.0);
    let out = check_base(&f, "HEAD");
    assert_eq!(stability_codes(&out), ["CR305", "CR305"], "{}", out.stdout);
    assert_eq!(out.stdout.matches("warning[CR305]").count(), 2, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("2 flows moved to other references in this change, more than `stability.max_rebinds` = 1")
    );
}

#[test]
fn cr305_near_miss_binding_added_beside_the_old_one() {
    let f = repo();
    let new = ("contoso_archive_sharepoint", "Archive", "shared_sharepointonline");
    solution(&f, "src", "Billing", "contoso", &[OUTLOOK, SP, new]);
    flow(
        &f,
        "src",
        "Archive invoice",
        B,
        1,
        &[
            ("shared_sharepointonline", SP.0, "shared_sharepointonline"),
            ("shared_sharepointonline_1", new.0, "shared_sharepointonline"),
        ],
    );
    assert!(stability_codes(&check_base(&f, "HEAD")).is_empty());
}

#[test]
fn rekeyed_entries_are_no_change() {
    let f = repo();
    flow(
        &f,
        "src",
        "Send invoice",
        A,
        1,
        &[("shared_office365_1", OUTLOOK.0, "shared_office365")],
    );
    let out = check_base(&f, "HEAD");
    assert!(stability_codes(&out).is_empty(), "{}", out.stdout);
}

#[test]
fn cr307_solution_removed_is_one_finding_and_a_moved_root_is_none() {
    let f = repo();
    std::fs::remove_dir_all(f.path().join("src")).unwrap();
    f.write("README.md", "gone\n");
    let out = check_base(&f, "HEAD");
    assert_eq!(stability_codes(&out), ["CR307"], "{}", out.stdout);
    assert!(
        out.stdout
            .contains("solution `Billing` is gone from the source: at the base it was at `src/` with 2 references and 2 flows")
    );

    let g = repo();
    g.git(&["mv", "src", "solutions"]);
    let out = check_base(&g, "HEAD");
    assert!(stability_codes(&out).is_empty(), "{}", out.stdout);
}

#[test]
fn staged_checks_the_index_after_a_real_git_add() {
    let f = repo();
    solution(&f, "src", "Billing", "contoso", &[OUTLOOK]);
    // Not staged yet: the index equals HEAD.
    assert!(stability_codes(&connref(f.path(), &["check", "--staged"])).is_empty());
    f.git(&["add", "src/Other/Customizations.xml"]);
    // Undo in the working tree: only the index holds the removal now.
    solution(&f, "src", "Billing", "contoso", &[OUTLOOK, SP]);
    let out = connref(f.path(), &["check", "--staged"]);
    assert_eq!(stability_codes(&out), ["CR301"], "{}{}", out.stdout, out.stderr);
    assert!(
        stability_codes(&check_base(&f, "HEAD")).is_empty(),
        "the working tree still has the reference"
    );
}

#[test]
fn head_compares_two_revisions_without_touching_the_worktree() {
    let f = repo();
    solution(&f, "src", "Billing", "contoso", &[OUTLOOK]);
    commit(&f, "drop sharepoint");
    solution(&f, "src", "Billing", "contoso", &[OUTLOOK, SP]);
    let before = f.git(&["status", "--porcelain"]);
    let out = connref(f.path(), &["check", "--base", "HEAD~1", "--head", "HEAD"]);
    assert_eq!(stability_codes(&out), ["CR301"], "{}{}", out.stdout, out.stderr);
    assert_eq!(f.git(&["status", "--porcelain"]), before);
    assert!(
        stability_codes(&check_base(&f, "HEAD~1")).is_empty(),
        "the working tree restored it"
    );
}

#[test]
fn shallow_clone_gives_the_fix() {
    let f = repo();
    solution(&f, "src", "Billing", "contoso", &[OUTLOOK]);
    commit(&f, "second");
    let clone = Fixture::new();
    let url = format!("file://{}", f.path().display());
    clone.git(&["clone", "-q", "--depth", "1", &url, "c"]);
    let out = connref(&clone.path().join("c"), &["check", "--base", "HEAD~1"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("shallow clone"), "{}", out.stderr);
    assert!(out.stderr.contains("fetch-depth: 0") && out.stderr.contains("git fetch --deepen"));
}

#[test]
fn bad_revisions_exit_2_with_a_clear_message() {
    let f = repo();
    let out = connref(f.path(), &["check", "--base", "-p"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("cannot start with `-`"), "{}", out.stderr);
    let out = connref(f.path(), &["check", "--base=--output=x"]);
    assert_eq!(out.code, 2);
    assert!(!f.path().join("x").exists());
    let out = connref(f.path(), &["check", "--base", "HEAD^{tree}"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("is not a commit"), "{}", out.stderr);
    let out = connref(f.path(), &["check", "--base", "HEAD~1"]);
    assert_eq!(out.code, 2, "a root commit has no parent");
    assert!(out.stderr.contains("does not resolve"), "{}", out.stderr);
    let out = connref(f.path(), &["check", "--base", "nosuchbranch"]);
    assert_eq!(out.code, 2);

    let plain = Fixture::new();
    base_tree(&plain, "");
    let out = connref(plain.path(), &["check", "--base", "HEAD"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("is not inside a git repository"), "{}", out.stderr);
}

#[test]
fn empty_repository_detached_head_and_no_solution_at_base() {
    let f = Fixture::new();
    f.git(&["init", "-q"]);
    base_tree(&f, "");
    f.git(&["add", "-A"]);
    let out = connref(f.path(), &["check", "--staged"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    // No commit: nothing to read, which must not pass for a clean history.
    let out = connref(f.path(), &["history", "--format", "json"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(out.stderr.contains("has no commits yet"), "{}", out.stderr);

    let g = Fixture::new();
    g.write("README.md", "x\n");
    g.git(&["init", "-q"]);
    commit(&g, "readme");
    base_tree(&g, "app");
    commit(&g, "add solution");
    g.git(&["checkout", "-q", "--detach", "HEAD"]);
    let out = check_base(&g, "HEAD~1");
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(stability_codes(&out).is_empty());
}

#[test]
fn unparsable_blob_at_the_base_is_cr900_and_the_rest_goes_on() {
    let f = repo();
    let path = format!("src/Workflows/Sendinvoice-{}.json", A.to_uppercase());
    f.write(&path, b"\x00\x01\xff{ not json");
    commit(&f, "broken");
    flow(
        &f,
        "src",
        "Send invoice",
        A,
        1,
        &[("shared_office365", OUTLOOK.0, "shared_office365")],
    );
    solution(&f, "src", "Billing", "contoso", &[OUTLOOK]);
    let out = connref(f.path(), &["check", "--base", "HEAD", "--show-existing"]);
    assert_eq!(stability_codes(&out), ["CR301", "CR900"], "{}", out.stdout);
    assert!(out.stdout.contains("at the base"), "{}", out.stdout);
    // The base's broken file is not the change's doing: summed up as existing by default.
    let out = check_base(&f, "HEAD");
    assert_eq!(stability_codes(&out), ["CR301"], "{}", out.stdout);
    assert!(out.stdout.contains("CR900 unreadable-file: 1 error"), "{}", out.stdout);
}

#[test]
fn github_event_gives_the_default_base() {
    let f = repo();
    let base = f.git(&["rev-parse", "HEAD"]).trim().to_owned();
    solution(&f, "src", "Billing", "contoso", &[OUTLOOK]);
    commit(&f, "drop");
    let event = f.path().join("event.json");
    std::fs::write(&event, format!("{{\"pull_request\":{{\"base\":{{\"sha\":\"{base}\"}}}}}}")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_connref"))
        .args(["check", "--format", "human"])
        .current_dir(f.path())
        .env("GITHUB_EVENT_PATH", &event)
        .env_remove("GITHUB_ACTIONS")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("error[CR301]"), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    // Without the event there is no comparison.
    assert!(stability_codes(&connref(f.path(), &["check"])).is_empty());
}

fn redact(s: &str, f: &Fixture) -> String {
    let mut s = s.to_owned();
    for (rev, name) in [("HEAD~1", "<base>"), ("HEAD", "<head>")] {
        let sha = f.git(&["rev-parse", rev]).trim().to_owned();
        s = s.replace(&sha, name).replace(&sha[..7], name);
    }
    s
}

/// A change with a re-created reference, a moved flow, a removed flow and odd names.
fn busy_change() -> Fixture {
    let f = repo();
    flow(
        &f,
        "src",
        "Reminder",
        C,
        1,
        &[("shared_sharepointonline", SP.0, "shared_sharepointonline")],
    );
    commit(&f, "third flow");
    let new = ("contoso_invoicemail_outlook", "Invoice mail", "shared_office365");
    let odd = ("contoso_archive_sharepoint", "Archive", "shared_sharepointonline");
    // A display name a markdown renderer would act on, were it not in a code span.
    let sp = (SP.0, "Docs | @team `x` *y* &lt;b&gt;", SP.2);
    solution(&f, "src", "Billing", "contoso", &[new, sp, odd]);
    flow(&f, "src", "Send invoice", A, 1, &[("shared_office365", new.0, "shared_office365")]);
    flow(
        &f,
        "src",
        "Reminder",
        C,
        1,
        &[("shared_sharepointonline", odd.0, "shared_sharepointonline")],
    );
    f.remove(&format!("src/Workflows/Archiveinvoice-{}.json", B.to_uppercase()));
    f.remove(&format!("src/Workflows/Archiveinvoice-{}.json.data.xml", B.to_uppercase()));
    commit(&f, "rework");
    f
}

#[test]
fn diff_markdown_and_json() {
    let f = busy_change();
    let md = connref(f.path(), &["diff", "--base", "HEAD~1", "--head", "HEAD", "--format", "markdown"]);
    assert_eq!(md.code, 1, "{}", md.stderr);
    snap!("stability_diff_markdown", redact(&md.stdout, &f));
    let js = connref(f.path(), &["diff", "--base", "HEAD~1", "--head", "HEAD", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&js.stdout).unwrap();
    assert_eq!(v["references"]["recreated"][0]["from"], "contoso_invoice_outlook");
    snap!("stability_diff_json", redact(&js.stdout, &f));
    let human = connref(f.path(), &["diff", "--base", "HEAD~1", "--head", "HEAD"]);
    assert!(
        human
            .stdout
            .contains("reference re-created: contoso_invoicemail_outlook (was contoso_invoice_outlook)")
    );
}

#[test]
fn history_reports_events_at_their_commits_and_merges_at_the_merge() {
    let f = repo();
    // The root deleted and added again: one CR307, no event when it comes back.
    std::fs::remove_dir_all(f.path().join("src")).unwrap();
    f.write("README.md", "x\n");
    commit(&f, "remove solution");
    base_tree(&f, "src");
    commit(&f, "restore solution");
    // A side branch removes a reference; it is reported at the merge commit.
    f.git(&["checkout", "-q", "-b", "side"]);
    solution(&f, "src", "Billing", "contoso", &[OUTLOOK]);
    commit(&f, "side: drop sharepoint");
    f.git(&["checkout", "-q", "main"]);
    f.write("notes.txt", "unrelated\n");
    commit(&f, "unrelated");
    f.git(&["merge", "-q", "--no-ff", "-m", "merge side", "side"]);
    let out = connref(f.path(), &["history", "--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let events: Vec<(String, String)> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["code"].as_str().unwrap().to_owned(),
                e["commit"]["subject"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("CR307".to_owned(), "remove solution".to_owned()),
            ("CR301".to_owned(), "merge side".to_owned())
        ]
    );
    assert_eq!(v["summary"]["commits"], 5);
    let since = connref(f.path(), &["history", "--since", "HEAD~1", "--format", "human"]);
    assert!(since.stdout.contains("merge side"), "{}", since.stdout);
    assert!(!since.stdout.contains("remove solution"));
}

#[test]
fn history_reports_a_flow_edited_in_place() {
    let f = repo();
    let new = ("contoso_archive_sharepoint", "Archive", "shared_sharepointonline");
    solution(&f, "src", "Billing", "contoso", &[OUTLOOK, SP, new]);
    commit(&f, "add a reference");
    // Only a flow file changes: history takes its flows-only path for this commit.
    flow(
        &f,
        "src",
        "Archive invoice",
        B,
        1,
        &[("shared_sharepointonline", new.0, "shared_sharepointonline")],
    );
    commit(&f, "move archive");
    flow(
        &f,
        "src",
        "Archive invoice",
        B,
        0,
        &[("shared_sharepointonline_1", new.0, "shared_sharepointonline")],
    );
    commit(&f, "re-key and turn off");
    let out = connref(f.path(), &["history"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.matches("[CR305]").count(), 1, "{}", out.stdout);
    assert!(out.stdout.contains("move archive\n  info[CR305]"), "{}", out.stdout);
    assert!(
        out.stdout.ends_with("connref history: 1 event, 4 commits walked\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn step_summary_and_outputs_carry_the_change_set() {
    let f = repo();
    let new = ("contoso_invoicemail_outlook", "Invoice mail", "shared_office365");
    solution(&f, "src", "Billing", "contoso", &[new, SP]);
    flow(&f, "src", "Send invoice", A, 1, &[("shared_office365", new.0, "shared_office365")]);
    let summary = f.path().join("summary.md");
    let outputs = f.path().join("outputs");
    let out = Command::new(env!("CARGO_BIN_EXE_connref"))
        .args(["check", "--base", "HEAD", "--format", "json"])
        .current_dir(f.path())
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_EVENT_PATH")
        .output()
        .expect("connref runs");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let summary = std::fs::read_to_string(&summary).expect("summary written");
    assert!(
        summary.contains("| re-created | `contoso_invoicemail_outlook` | was `contoso_invoice_outlook` |"),
        "{summary}"
    );
    assert_eq!(summary.matches("this change introduces").count(), 1, "one verdict: {summary}");
    assert!(
        summary.contains("`CR302`"),
        "the change's findings are in the findings table: {summary}"
    );
    let outputs = std::fs::read_to_string(&outputs).expect("outputs written");
    assert!(outputs.contains("changed=true"), "{outputs}");
}

#[cfg(unix)]
#[test]
fn a_path_that_is_not_utf8_in_a_revision_is_reported() {
    use std::os::unix::ffi::OsStrExt;
    let f = repo();
    std::fs::write(f.path().join(std::ffi::OsStr::from_bytes(b"src/Workflows/caf\xe9.json")), "{}").expect("write");
    commit(&f, "odd name");
    let out = connref(f.path(), &["check", "--head", "HEAD", "--base", "HEAD~1", "--format", "json"]);
    assert!(out.stdout.contains("not valid UTF-8"), "{}{}", out.stdout, out.stderr);
}

/// Texts are not kept after parsing: the human report reads the lines of its findings again,
/// from the tree that was checked (the index here, not the working tree, which differs).
#[test]
fn snippets_come_from_the_checked_revision() {
    let f = repo();
    flow(
        &f,
        "src",
        "Send invoice",
        A,
        1,
        &[("shared_office365", "contoso_staged_outlook", "shared_office365")],
    );
    f.git(&["add", "-A"]);
    // The working tree moves on after staging: a snippet read from it would show this name.
    flow(
        &f,
        "src",
        "Send invoice",
        A,
        1,
        &[("shared_office365", "contoso_unstaged_outlook", "shared_office365")],
    );
    let out = connref(f.path(), &["check", "--staged", "--color", "never"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.contains("error[CR502]"), "{}", out.stdout);
    let snippet = out
        .stdout
        .lines()
        .find(|l| l.contains("\"connectionReferenceLogicalName\""))
        .unwrap_or_default();
    assert!(
        snippet.contains("contoso_staged_outlook"),
        "the snippet shows the staged line:\n{}",
        out.stdout
    );
    assert!(!out.stdout.contains("contoso_unstaged_outlook"), "{}", out.stdout);
}

#[test]
fn history_reads_a_commit_whose_blobs_overflow_the_pipe_to_git() {
    // The blobs of the first commit are asked for while git log is still read: more of them
    // than a pipe holds must not leave connref and git cat-file waiting on each other.
    let f = repo();
    let new = ("contoso_archive_sharepoint", "Archive", "shared_sharepointonline");
    solution(&f, "src", "Billing", "contoso", &[OUTLOOK, SP, new]);
    for i in 0..200 {
        let guid = format!("{i:08x}-1111-4222-8333-944455556666");
        flow(
            &f,
            "src",
            &format!("Flow {i}"),
            &guid,
            1,
            &[("shared_sharepointonline", SP.0, "shared_sharepointonline")],
        );
    }
    commit(&f, "many flows");
    flow(
        &f,
        "src",
        "Flow 7",
        "00000007-1111-4222-8333-944455556666",
        1,
        &[("shared_sharepointonline", new.0, "shared_sharepointonline")],
    );
    commit(&f, "move flow 7");
    let mut child = Command::new(env!("CARGO_BIN_EXE_connref"))
        .args(["history", "--format", "json"])
        .current_dir(f.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("connref runs");
    let started = std::time::Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > std::time::Duration::from_secs(60) {
            let _ = child.kill();
            panic!("connref history did not finish in 60 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let events = v["events"].as_array().expect("events");
    assert_eq!(events.len(), 1, "{stdout}");
    assert_eq!(events[0]["code"], "CR305", "{stdout}");
    assert_eq!(events[0]["commit"]["subject"], "move flow 7", "{stdout}");
}
