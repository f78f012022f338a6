//! Adopting connref on a repository that already has findings: with a base, only what a change
//! introduces blocks; existing findings are summed up.

mod common;
use common::*;

const A: &str = "625ac674-7d13-2184-4d44-fb6c6d48c11c";
const B: &str = "0b3a2f1e-1111-4222-8333-944455556666";
const C: &str = "7c7c7c7c-2222-4333-8444-955566667777";
/// A platform-generated name (CR104) that shipped long ago.
const GENERATED: (&str, &str, &str) = ("contoso_sharedoffice365_87e06", "Office 365 Outlook", "shared_office365");

/// A repository whose base commit already has findings: a generated name (CR104) and a flow
/// bound to a reference its solution does not define (CR502).
fn repo() -> Fixture {
    let f = Fixture::new();
    solution(&f, "src", "Billing", "contoso", &[GENERATED]);
    flow(
        &f,
        "src",
        "Send invoice",
        A,
        1,
        &[("shared_office365", GENERATED.0, "shared_office365")],
    );
    flow(
        &f,
        "src",
        "Archive invoice",
        B,
        1,
        &[(
            "shared_commondataserviceforapps",
            "contoso_finance_dataverse",
            "shared_commondataserviceforapps",
        )],
    );
    f.git(&["init", "-q"]);
    f.git(&["add", "-A"]);
    f.git(&["commit", "-qm", "base"]);
    f
}

/// Edits the flow that already had a finding so that its lines move (its finding stays the same).
fn touch_archive_flow(f: &Fixture) {
    let path = format!("src/Workflows/Archiveinvoice-{}.json", B.to_uppercase());
    let text = std::fs::read_to_string(f.path().join(&path)).unwrap();
    f.write(&path, format!("\n\n{}", text.replace("\"Op\"", "\"CreateRecord\"")));
}

/// Adds a flow bound to a reference nobody defines: one new CR502 error.
fn add_broken_flow(f: &Fixture) {
    flow(
        f,
        "src",
        "Notify team",
        C,
        1,
        &[("shared_teams", "contoso_notify_teams", "shared_teams")],
    );
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", out.stdout, out.stderr))
}

/// `(code, reference, new)` of every finding of a JSON report.
fn marks(v: &serde_json::Value) -> Vec<(String, String, Option<bool>)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_owned(),
                f["reference"].as_str().unwrap_or("").to_owned(),
                f["new"].as_bool(),
            )
        })
        .collect()
}

#[test]
fn staged_change_blocks_only_on_what_it_introduces() {
    let f = repo();
    touch_archive_flow(&f);
    add_broken_flow(&f);
    f.git(&["add", "-A"]);
    let out = connref(f.path(), &["check", "--staged"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout.matches("error[").count(), 1, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("error[CR502]: flow `Notify team` is bound to `contoso_notify_teams`"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("contoso_finance_dataverse`, which"), "{}", out.stdout);
    assert!(out.stdout.contains("already on the base"), "{}", out.stdout);
    assert!(out.stdout.contains("  CR104 generated-name: 1 error\n"), "{}", out.stdout);
    assert!(out.stdout.contains("  CR502 undefined-reference: 1 error\n"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("connref: 1 error, 0 warnings, 0 infos introduced by this change, 2 already on the base"),
        "{}",
        out.stdout
    );
}

#[test]
fn check_base_marks_introduced_and_existing_in_json() {
    let f = repo();
    touch_archive_flow(&f);
    add_broken_flow(&f);
    f.git(&["add", "-A"]);
    f.git(&["commit", "-qm", "change"]);
    let out = connref(f.path(), &["check", "--base", "HEAD~1", "--format", "json"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let v = json(&out);
    let mut got = marks(&v);
    got.sort();
    let want = [
        ("CR104", GENERATED.0, false),
        ("CR502", "contoso_finance_dataverse", false),
        ("CR502", "contoso_notify_teams", true),
    ];
    let want: Vec<_> = want.iter().map(|(c, r, n)| (c.to_string(), r.to_string(), Some(*n))).collect();
    assert_eq!(got, want);
    assert_eq!(v["summary"]["existing"], 2);
    // Without a base, no finding carries `new`.
    let plain = json(&connref(f.path(), &["check", "--format", "json"]));
    assert!(marks(&plain).iter().all(|(_, _, n)| n.is_none()), "{plain}");
}

#[test]
fn fail_on_all_counts_and_shows_existing_findings() {
    let f = repo();
    touch_archive_flow(&f);
    add_broken_flow(&f);
    f.git(&["add", "-A"]);
    f.git(&["commit", "-qm", "change"]);
    let out = connref(f.path(), &["check", "--base", "HEAD~1", "--fail-on", "all"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("`contoso_notify_teams`, which"), "{}", out.stdout);
    assert!(out.stdout.contains("`contoso_finance_dataverse`, which"), "{}", out.stdout);
    assert_eq!(out.stdout.matches("error[").count(), 3, "{}", out.stdout);
    // The config says the same.
    f.write("connref.toml", "fail_on = \"all\"\n");
    f.git(&["reset", "-q", "--soft", "HEAD~1"]);
    touch_archive_flow(&f);
    f.remove(&format!("src/Workflows/Notifyteam-{}.json", C.to_uppercase()));
    f.remove(&format!("src/Workflows/Notifyteam-{}.json.data.xml", C.to_uppercase()));
    f.git(&["add", "-A"]);
    let out = connref(f.path(), &["check", "--staged"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let out = connref(f.path(), &["check", "--staged", "--fail-on", "new"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

#[test]
fn change_touching_only_files_with_existing_findings_passes() {
    let f = repo();
    touch_archive_flow(&f);
    // The generated name's display name changes: the name itself cannot any more.
    let cust = "src/Other/Customizations.xml";
    let text = std::fs::read_to_string(f.path().join(cust)).unwrap();
    f.write(cust, text.replace("Office 365 Outlook", "Invoice mail (Outlook)"));
    f.git(&["add", "-A"]);
    let out = connref(f.path(), &["check", "--staged"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(!out.stdout.contains("error["), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("0 errors, 0 warnings, 0 infos introduced by this change, 2 already on the base"),
        "{}",
        out.stdout
    );
    // --show-existing prints them in full, and they still do not count.
    let out = connref(f.path(), &["check", "--staged", "--show-existing"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout.matches("error[").count(), 2, "{}", out.stdout);
}

#[test]
fn naming_rules_never_block_on_a_reference_that_existed_at_the_base() {
    let f = repo();
    // A stricter naming config arrives with the change: the shipped name now breaks CR101 too,
    // but it cannot change any more.
    f.write("connref.toml", "[naming]\npurposes = [\"billing\"]\n");
    solution(
        &f,
        "src",
        "Billing",
        "contoso",
        &[GENERATED, ("contoso_sharedteams_12ab3", "Teams", "shared_teams")],
    );
    f.git(&["add", "-A"]);
    let out = connref(f.path(), &["check", "--staged", "--format", "json"]);
    let got = marks(&json(&out));
    for (code, reference, new) in &got {
        if reference == GENERATED.0 {
            assert_eq!(*new, Some(false), "{code} on the shipped name must be existing: {got:?}");
        }
    }
    assert!(
        got.iter()
            .any(|(c, r, n)| c == "CR104" && r == "contoso_sharedteams_12ab3" && *n == Some(true)),
        "{got:?}"
    );
    assert_eq!(out.code, 1);
}

#[test]
fn github_format_annotates_introduced_findings_only() {
    let f = repo();
    touch_archive_flow(&f);
    add_broken_flow(&f);
    f.git(&["add", "-A"]);
    let out = connref(f.path(), &["check", "--staged", "--format", "github"]);
    assert_eq!(out.code, 1);
    let annotations: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with("::error")).collect();
    assert_eq!(annotations.len(), 1, "{}", out.stdout);
    assert!(annotations[0].contains("contoso_notify_teams"), "{}", out.stdout);
    let notices: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with("::notice")).collect();
    assert_eq!(notices.len(), 1, "{}", out.stdout);
    assert!(notices[0].contains("2 findings were already on the base"), "{}", out.stdout);
}

#[test]
fn base_that_does_not_exist_is_exit_2() {
    let f = repo();
    let out = connref(f.path(), &["check", "--base", "no-such-branch"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("no-such-branch"), "{}", out.stderr);
}

// ---- the shared corpus, committed to a temporary repository ----

fn corpus() -> Option<std::path::PathBuf> {
    let found = [
        std::env::var_os("CONNREF_CORPUS").map(std::path::PathBuf::from),
        Some(manifest_dir().join("../shared/corpus")),
        Some(std::path::PathBuf::from("/work/shared/corpus")),
    ]
    .into_iter()
    .flatten()
    .find(|p| p.join("automation-kit").is_dir());
    if found.is_none() {
        eprintln!("skipped: the corpus (shared/corpus) is not on this machine");
    }
    found
}

fn corpus_repo() -> Option<Fixture> {
    let corpus = corpus()?;
    let f = Fixture::new();
    copy_tree(&corpus, f.path());
    f.git(&["init", "-q"]);
    f.git(&["add", "-A"]);
    f.git(&["commit", "-qm", "corpus"]);
    Some(f)
}

/// The first flow file below `dir` whose text contains `word`.
fn file_with(dir: &std::path::Path, suffix: &str, word: &str) -> Option<std::path::PathBuf> {
    walk(dir)
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with(suffix) && std::fs::read_to_string(p).is_ok_and(|t| t.contains(word)))
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.file_name().is_some_and(|n| n == ".git") {
            continue;
        }
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn corpus_one_word_edit_in_a_flow_passes_the_hook() {
    let Some(f) = corpus_repo() else { return };
    let before = connref(f.path(), &["check"]);
    assert_eq!(before.code, 1, "the corpus has errors: {}", before.stderr);
    let flow = file_with(f.path(), ".json", "\"description\": \"Please enter").expect("a flow");
    let text = std::fs::read_to_string(&flow).unwrap();
    std::fs::write(
        &flow,
        text.replacen("\"description\": \"Please enter", "\"description\": \"Kindly enter", 1),
    )
    .unwrap();
    let edited = std::fs::read_to_string(&flow).unwrap();
    assert_ne!(text, edited);
    f.git(&["add", "-A"]);
    let out = connref(f.path(), &["check", "--staged"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(!out.stdout.contains("error["), "{}", out.stdout);
}

#[test]
fn corpus_removing_a_settings_entry_fails_with_one_cr401() {
    let Some(f) = corpus_repo() else { return };
    let settings = walk(f.path())
        .into_iter()
        .find(|p| {
            p.ends_with("deploymentSettings.json")
                && std::fs::read_to_string(p).is_ok_and(|t| t.contains("\"LogicalName\"") && t.contains("ConnectionReferences"))
        })
        .expect("a settings file with connection references");
    let text = std::fs::read_to_string(&settings).unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(text.trim_start_matches('\u{feff}')).unwrap();
    let refs = doc["ConnectionReferences"].as_array_mut().unwrap();
    let removed = refs.remove(0);
    std::fs::write(&settings, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    f.git(&["add", "-A"]);
    let out = connref(f.path(), &["check", "--staged", "--format", "json"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let v = json(&out);
    let new: Vec<_> = marks(&v).into_iter().filter(|(_, _, n)| *n == Some(true)).collect();
    let name = removed["LogicalName"].as_str().unwrap();
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(new[0].0, "CR401");
    assert!(new[0].1.eq_ignore_ascii_case(name), "{new:?} vs {name}");
}

// ---- the step summary (the same markdown as the pull-request comment) ----

/// Runs `check` as GitHub Actions would, and returns the step summary it wrote.
fn step_summary(f: &Fixture, args: &[&str]) -> (i32, String) {
    let summary = f.path().join("summary.md");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_connref"))
        .args(args)
        .current_dir(f.path())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env_remove("GITHUB_OUTPUT")
        .env_remove("GITHUB_EVENT_PATH")
        .env_remove("PRE_COMMIT_FROM_REF")
        .env_remove("PRE_COMMIT_TO_REF")
        .env("GITHUB_SERVER_URL", "https://ghe.example.com")
        .env("GITHUB_REPOSITORY", "contoso/billing")
        .env("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&summary).unwrap_or_default();
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn step_summary_shows_introduced_first_and_existing_folded() {
    let f = repo();
    touch_archive_flow(&f);
    add_broken_flow(&f);
    f.git(&["add", "-A"]);
    f.git(&["commit", "-qm", "change"]);
    let (code, md) = step_summary(&f, &["check", "--base", "HEAD~1"]);
    assert_eq!(code, 1, "{md}");
    let introduced = md.find("#### Introduced by this change").expect("introduced section");
    let existing = md.find("<details><summary>Already on the base branch").expect("existing section");
    assert!(introduced < existing, "{md}");
    assert!(
        md.contains("[`src/Workflows/Notifyteam-7C7C7C7C-2222-4333-8444-955566667777.json:"),
        "{md}"
    );
    assert!(md.contains("](https://ghe.example.com/contoso/billing/blob/0123456789abcdef0123456789abcdef01234567/src/Workflows/Notifyteam-7C7C7C7C-2222-4333-8444-955566667777.json#L"), "{md}");
    snap!("adopt_step_summary", md);
}

#[test]
fn step_summary_of_a_change_that_introduces_nothing() {
    let f = repo();
    touch_archive_flow(&f);
    f.git(&["add", "-A"]);
    f.git(&["commit", "-qm", "touch"]);
    let (code, md) = step_summary(&f, &["check", "--base", "HEAD~1"]);
    assert_eq!(code, 0, "{md}");
    assert!(md.contains("✅ **connref:** this change introduces no findings"), "{md}");
    snap!("adopt_step_summary_nothing_new", md);
}
