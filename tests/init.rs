//! `connref init`: a starter connref.toml, after which `check` reports no naming finding and
//! every other finding it reported before.

mod common;
use common::*;

fn repo_of(source: &std::path::Path) -> Fixture {
    let f = Fixture::new();
    copy_tree(source, f.path());
    f.git(&["init", "-q"]);
    f
}

/// `(code, path, line, column, reference)` of every finding.
fn findings(f: &Fixture) -> Vec<(String, String, u64, u64, String)> {
    let out = connref(f.path(), &["check", "--format", "json"]);
    assert!(out.code <= 1, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["code"].as_str().unwrap().to_owned(),
                x["path"].as_str().unwrap().to_owned(),
                x["line"].as_u64().unwrap(),
                x["column"].as_u64().unwrap(),
                x["reference"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

const NAMING: [&str; 4] = ["CR101", "CR102", "CR103", "CR104"];

fn init_then_check(f: &Fixture) -> String {
    let before = findings(f);
    assert!(
        before.iter().any(|x| NAMING.contains(&x.0.as_str())),
        "the tree needs naming findings: {before:?}"
    );
    // From a subfolder: the file goes to the repository root.
    let sub = std::fs::read_dir(f.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir() && !p.ends_with(".git"))
        .unwrap();
    let out = connref(&sub, &["init"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let written = std::fs::read_to_string(f.path().join("connref.toml")).unwrap();
    assert!(out.stdout.starts_with(&written), "init prints what it wrote: {}", out.stdout);
    assert!(out.stdout.contains("connref: wrote "), "{}", out.stdout);
    let after = findings(f);
    let others: Vec<_> = before.into_iter().filter(|x| !NAMING.contains(&x.0.as_str())).collect();
    assert_eq!(after, others, "after init: no naming finding, every other one as before");
    written
}

#[test]
fn init_on_the_example_then_check() {
    let f = repo_of(&manifest_dir().join("examples/contoso"));
    let written = init_then_check(&f);
    assert!(written.contains("[[ignore]]\nrules = [\"CR101\", \"CR102\", \"CR103\", \"CR104\"]\nreferences = [\n  \"contoso_sharedcommondataserviceforapps_87e06\",\n  \"new_sharedsharepointonline_0ea1add4\",\n]\nreason = \"shipped: the name cannot change\"\n"), "{written}");
    assert!(written.contains("# publisher prefix found: \"contoso\""), "{written}");
    assert!(written.contains("# purposes = [\"invoiceapproval\", \"reporting\"]"), "{written}");
    assert!(written.contains("\"Prod\", \"Test\""), "{written}");
}

#[test]
fn init_on_the_corpus_then_check() {
    let corpus = [
        manifest_dir().join("../shared/corpus"),
        std::path::PathBuf::from("/work/shared/corpus"),
    ]
    .into_iter()
    .find(|p| p.join("automation-kit").is_dir());
    let Some(corpus) = corpus else {
        eprintln!("skipped: the corpus (shared/corpus) is not on this machine");
        return;
    };
    let f = repo_of(&corpus);
    init_then_check(&f);
}

#[test]
fn init_refuses_to_overwrite_unless_forced() {
    let f = repo_of(&manifest_dir().join("examples/contoso"));
    f.write("connref.toml", "# mine\n");
    let out = connref(f.path(), &["init"]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(
        out.stderr.contains("already exists") && out.stderr.contains("--force"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read_to_string(f.path().join("connref.toml")).unwrap(), "# mine\n");
    let out = connref(f.path(), &["init", "--force"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        std::fs::read_to_string(f.path().join("connref.toml"))
            .unwrap()
            .contains("[[ignore]]")
    );
}

#[test]
fn init_that_cannot_write_leaves_nothing_half_written() {
    let f = repo_of(&manifest_dir().join("examples/contoso"));
    // A folder in the way: the final rename fails, as on a read-only file system.
    std::fs::create_dir(f.path().join("connref.toml")).unwrap();
    let out = connref(f.path(), &["init", "--force"]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(out.stderr.contains("cannot write"), "{}", out.stderr);
    let left: Vec<_> = std::fs::read_dir(f.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("connref.toml") && n != "connref.toml")
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

#[cfg(unix)]
#[test]
fn init_without_write_permission_is_exit_2() {
    use std::os::unix::fs::PermissionsExt;
    let f = repo_of(&manifest_dir().join("examples/contoso"));
    std::fs::set_permissions(f.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    let probe = f.path().join(".probe");
    if std::fs::write(&probe, "x").is_ok() {
        // root ignores permissions; the folder-in-the-way test covers the failure path.
        std::fs::remove_file(&probe).unwrap();
        std::fs::set_permissions(f.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        eprintln!("skipped: running as a user that ignores folder permissions");
        return;
    }
    let out = connref(f.path(), &["init"]);
    std::fs::set_permissions(f.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(!f.path().join("connref.toml").exists());
}

#[test]
fn init_without_solutions_is_exit_2() {
    let f = Fixture::new();
    f.write("README.md", "nothing here\n");
    let out = connref(f.path(), &["init"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("no solution source"), "{}", out.stderr);
    assert!(!f.path().join("connref.toml").exists());
}
