//! Loading a base and a head snapshot for `check --base`, `diff` and friends.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context as _, Result, bail};

use crate::config::Config;
use crate::finding::{Finding, Loc};
use crate::load::git::{self, GitTree, Head, Repo};
use crate::load::{self, Reuse, Source, flow_edits, worktree::WorkTree};
use crate::model::Snapshot;
use crate::rules::stability::short;

/// Which two trees to compare, as the user (or the CI environment) asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spec {
    pub base: Option<String>,
    pub head: Option<String>,
    pub staged: bool,
}

/// A base and a head, loaded.
pub struct Pair {
    pub base: Snapshot,
    pub head: Snapshot,
    /// Paths that differ between the two trees.
    pub changed: BTreeSet<String>,
    /// The tree the head was read from, to read again the files that findings point into.
    pub head_source: Box<dyn Source>,
}

impl Pair {
    /// CR900 findings of files read at the base that changed (unchanged files report at the head).
    pub fn base_problems(&self) -> Vec<Finding> {
        base_problems(&self.base, &self.changed)
    }
}

/// CR900 findings of files read at the base that changed (unchanged files report at the head).
pub fn base_problems(base: &Snapshot, changed: &BTreeSet<String>) -> Vec<Finding> {
    let at = short(&base.label);
    base.problems
        .iter()
        .filter(|f| changed.contains(&*f.loc.path))
        .map(|f| Finding {
            message: format!("at the base {at}: {}", f.message),
            loc: Loc {
                offset: 0,
                len: 0,
                ..f.loc.clone()
            },
            ..f.clone()
        })
        .collect()
}

/// The base and head the environment names, when `--base` is not given: the event of a GitHub
/// Actions run, or the refs pre-commit passes to a pre-push hook.
pub fn from_env() -> Result<Spec> {
    if let Some(path) = std::env::var_os("GITHUB_EVENT_PATH").filter(|p| !p.is_empty()) {
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read the GitHub event file `{}` (GITHUB_EVENT_PATH)",
                Path::new(&path).display()
            )
        })?;
        let event: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("the GitHub event file `{}` is not JSON", Path::new(&path).display()))?;
        let base = [
            event.pointer("/pull_request/base/sha"),
            event.pointer("/merge_group/base_sha"),
            event.pointer("/before"),
        ]
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        // A push that creates a branch has `before` = 40 zeros: there is nothing to compare with.
        .find(|s| !s.is_empty() && !s.bytes().all(|b| b == b'0'));
        return Ok(Spec {
            base: base.map(str::to_owned),
            ..Spec::default()
        });
    }
    let from = std::env::var("PRE_COMMIT_FROM_REF").ok().filter(|s| !s.is_empty());
    let to = std::env::var("PRE_COMMIT_TO_REF").ok().filter(|s| !s.is_empty());
    Ok(match from {
        Some(base) => Spec {
            base: Some(base),
            head: to,
            staged: false,
        },
        None => Spec::default(),
    })
}

impl Spec {
    /// Fills what the user did not give from the environment. `None` means no comparison.
    pub fn resolve(&self) -> Result<Option<Spec>> {
        if self.staged && self.head.is_some() {
            bail!("--staged compares the index with HEAD (or --base): it cannot be combined with --head");
        }
        if self.base.is_some() || self.staged {
            return Ok(Some(self.clone()));
        }
        let env = from_env()?;
        match (env.base, &self.head) {
            (Some(base), head) => Ok(Some(Spec {
                base: Some(base),
                head: head.clone().or(env.head),
                staged: false,
            })),
            (None, Some(_)) => bail!("--head needs a base to compare with: give --base REV"),
            (None, None) => Ok(None),
        }
    }
}

/// Loads both trees below `path`. The head is parsed in full; the base reuses the head's pieces
/// of every file that did not change and reads only the changed blobs.
pub fn load_pair(path: &Path, spec: &Spec, config: &Config) -> Result<Pair> {
    let loaded = load_head(path, spec, config)?;
    let base = loaded.base(config);
    Ok(loaded.into_pair(base))
}

/// The head of a comparison, parsed, and what reading the base needs: `check` reads the base
/// while the head's rules run.
pub struct Loaded {
    pub head: Snapshot,
    pub head_source: Box<dyn Source>,
    /// The folder the head was read below in `head_source` (`None`: all of it).
    head_scope: Option<String>,
    /// The paths that differ and the base's tree; `None` when there is no base revision yet.
    base: Option<(BTreeSet<String>, GitTree)>,
    scope: Option<String>,
}

impl Loaded {
    /// The base, reusing the head's pieces of every file that did not change.
    pub fn base(&self, config: &Config) -> Snapshot {
        match &self.base {
            Some((changed, tree)) => self
                .base_by_flows(changed, tree, config)
                .unwrap_or_else(|| load::snapshot_with(tree, self.scope.as_deref(), config, Some(&Reuse::new(&self.head, changed)))),
            None => Snapshot {
                label: "empty".into(),
                ..Snapshot::default()
            },
        }
    }

    /// The base as the head with the flows the change edits read at the base, when that is all
    /// the change does to the solution source: both trees list the same source files, and every
    /// changed one is a flow's JSON or metadata file that the head read without a problem.
    /// Discovering and assembling the base again took longer than the whole comparison.
    fn base_by_flows(&self, changed: &BTreeSet<String>, tree: &GitTree, config: &Config) -> Option<Snapshot> {
        let scope = self.scope.as_deref();
        let same_files = load::source_files(&*self.head_source, self.head_scope.as_deref(), &config.exclude_set)
            == load::source_files(tree, scope, &config.exclude_set);
        if !same_files || self.head.problems.iter().any(|p| changed.contains(&*p.loc.path)) {
            return None;
        }
        let relevant: Vec<&String> = changed
            .iter()
            .filter(|p| crate::discover::is_source(p) && scope.is_none_or(|s| crate::model::in_root(s, p)))
            .collect();
        // `relevant` is sorted: it comes from a set.
        let flows = flow_edits::flow_index_of(&self.head, |p| relevant.binary_search_by(|r| r.as_str().cmp(p)).is_ok());
        // A flow's file the change did not touch (its metadata, mostly) is the head's.
        let base = load::Overlay {
            tree,
            same: &*self.head_source,
            changed,
        };
        let updates = flow_edits::edited_flows(&relevant, &self.head, &flows, |json, meta| load::load_flow(&base, json, meta).ok())?;
        Some(flow_edits::with_flows(&self.head, updates, tree.label()))
    }

    /// The paths that differ between the base and the head.
    pub fn changed(&self) -> &BTreeSet<String> {
        static NONE: BTreeSet<String> = BTreeSet::new();
        self.base.as_ref().map_or(&NONE, |(changed, _)| changed)
    }

    pub fn into_pair(self, base: Snapshot) -> Pair {
        Pair {
            base,
            head: self.head,
            changed: self.base.map(|(changed, _)| changed).unwrap_or_default(),
            head_source: self.head_source,
        }
    }
}
pub fn load_head(path: &Path, spec: &Spec, config: &Config) -> Result<Loaded> {
    let given = path;
    let located = load::locate::locate(path)?;
    if let Some(note) = &located.note {
        eprintln!("connref: {note}");
    }
    let path = located.path.as_path();
    let repo = Repo::open(path)?;
    let folder = repo.relative(path)?;
    let scope = Some(folder.as_str());
    let head_kind = match (&spec.head, spec.staged) {
        (_, true) => Head::Index,
        (Some(h), false) => Head::Commit(repo.resolve(h)?),
        (None, false) => Head::WorkTree,
    };
    // `None`: nothing to compare with; `Some((rev, optional))`: an optional base may be
    // missing (`--staged` in a repository with no commit yet: everything staged is new).
    let base_rev = match (&spec.base, spec.staged) {
        (Some(b), _) => Some((b.as_str(), false)),
        (None, true) => Some(("HEAD", true)),
        (None, false) => bail!("no base revision: give --base REV"),
    };
    // git resolves the base, lists its tree and the changed paths, and fetches the changed
    // blobs while the head is parsed: on 2,000 flows that hides most of what the comparison
    // adds to a plain check.
    let (head, head_source, head_scope, base_side) = std::thread::scope(|s| -> Result<_> {
        let side = base_rev.map(|(rev, optional)| {
            let (repo, head_kind) = (&repo, &head_kind);
            s.spawn(move || -> Result<Option<_>> {
                let sha = match repo.resolve(rev) {
                    Ok(sha) => sha,
                    Err(_) if optional => return Ok(None),
                    Err(e) => return Err(e),
                };
                let changed = repo.changed(&sha, head_kind)?;
                let tree = repo.tree(&sha)?;
                let solution_files: Vec<&str> = changed
                    .iter()
                    .map(String::as_str)
                    .filter(|p| crate::discover::is_source(p))
                    .collect();
                tree.prefetch(&solution_files);
                Ok(Some((changed, tree)))
            })
        });
        let (head_source, head_scope): (Box<dyn Source>, Option<&str>) = match &head_kind {
            Head::Index => (Box::new(repo.index(&folder)?), scope),
            Head::Commit(sha) => (Box::new(repo.checked_out_commit(sha, &folder)?), scope),
            Head::WorkTree => (Box::new(WorkTree::open(path)?), None),
        };
        let head = load::snapshot(&*head_source, head_scope, config);
        let side = match side {
            Some(h) => h.join().map_err(|_| anyhow::anyhow!("listing the base revision failed"))??,
            None => None,
        };
        // Nothing at the head and nothing at the base: there is nothing to compare.
        if head.solutions.is_empty() && side.as_ref().is_none_or(|(_, tree)| !tree_has_root(tree, scope)) {
            let shown = match &head_kind {
                Head::WorkTree => given.display().to_string(),
                Head::Index => format!("{} in the index", given.display()),
                Head::Commit(sha) => format!("{} at {}", given.display(), short(sha)),
            };
            load::locate::require_source(&*head_source, head_scope, &head, &shown)?;
        }
        let head_scope = head_scope.map(str::to_owned);
        Ok((head, head_source, head_scope, side))
    })?;
    Ok(Loaded {
        head,
        head_source,
        head_scope,
        base: base_side,
        scope: scope.map(str::to_owned),
    })
}

/// Whether discovery finds any root in `tree` below `scope` (without parsing it).
fn tree_has_root(tree: &dyn Source, scope: Option<&str>) -> bool {
    let files = load::source_files(tree, scope, &globset::GlobSet::empty());
    !crate::discover::discover(&files).roots.is_empty()
}

/// Rejects a revision given on the command line before anything runs.
pub fn check_args(spec: &Spec) -> Result<()> {
    for r in spec.base.iter().chain(spec.head.iter()) {
        git::check_rev(r)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        crate::load::git::test_git(dir, args);
    }

    /// The contoso example committed, in a repository of its own.
    fn example() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/contoso");
        for e in walkdir::WalkDir::new(&from) {
            let e = e.unwrap();
            let to = dir.path().join(e.path().strip_prefix(&from).unwrap());
            if e.file_type().is_dir() {
                std::fs::create_dir_all(&to).unwrap();
            } else {
                std::fs::copy(e.path(), &to).unwrap();
            }
        }
        git(dir.path(), &["init", "-q"]);
        git(dir.path(), &["add", "-A"]);
        git(dir.path(), &["commit", "-q", "-m", "example"]);
        dir
    }

    fn edit(dir: &Path, path: &str, from: &str, to: &str) {
        let file = dir.join(path);
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains(from), "{path} holds no {from}");
        std::fs::write(&file, text.replacen(from, to, 1)).unwrap();
    }

    /// The base of the working tree against HEAD, read as the head with edited flows swapped in
    /// (when that applies) and read whole.
    fn both_bases(dir: &Path) -> (Option<Snapshot>, Snapshot) {
        let config = Config::parse("").unwrap();
        let spec = Spec {
            base: Some("HEAD".into()),
            head: None,
            staged: false,
        };
        let loaded = load_head(dir, &spec, &config).unwrap();
        let (changed, tree) = loaded.base.as_ref().unwrap();
        let by_flows = loaded.base_by_flows(changed, tree, &config);
        let whole = load::snapshot_with(tree, loaded.scope.as_deref(), &config, Some(&Reuse::new(&loaded.head, changed)));
        (by_flows, whole)
    }

    const WORKFLOWS: &str = "Billing/SolutionPackage/src/Workflows";

    #[test]
    fn a_base_that_differs_in_flows_only_is_the_head_with_those_flows_read_at_the_base() {
        let dir = example();
        edit(
            dir.path(),
            &format!("{WORKFLOWS}/Sendinvoiceforapproval-3F1D2A6E-0C2B-4C8E-9A41-8D2F6B1E7C10.json"),
            "contoso_invoiceapproval_outlook",
            "contoso_finance_dataverse",
        );
        edit(
            dir.path(),
            &format!("{WORKFLOWS}/Postdailytotals-C0FFEE00-1234-4ABC-8DEF-0123456789AB.json.data.xml"),
            "<StateCode>1</StateCode>",
            "<StateCode>0</StateCode>",
        );
        let (by_flows, whole) = both_bases(dir.path());
        let by_flows = by_flows.expect("only flows changed");
        assert_eq!(by_flows.label, whole.label);
        assert_eq!(format!("{:?}", by_flows.solutions), format!("{:?}", whole.solutions));
        assert_eq!(format!("{:?}", by_flows.settings), format!("{:?}", whole.settings));
        assert_eq!(by_flows.problems, whole.problems);
        assert_eq!(by_flows.roots, whole.roots);
        // The flows really are the base's: the head binds the other reference.
        assert!(format!("{:?}", by_flows.solutions).contains("contoso_invoiceapproval_outlook"));
    }

    #[test]
    fn a_base_with_other_files_or_other_changes_is_read_whole() {
        // A file the base does not have (untracked here).
        let dir = example();
        std::fs::write(
            dir.path()
                .join(format!("{WORKFLOWS}/New-11111111-2222-4333-8444-555555555555.json")),
            "{}",
        )
        .unwrap();
        assert!(both_bases(dir.path()).0.is_none());
        // A change to something other than a flow.
        let dir = example();
        edit(dir.path(), "Billing/SolutionPackage/src/Other/Customizations.xml", "<", "\n<");
        assert!(both_bases(dir.path()).0.is_none());
        // Nothing changed: the head is the base.
        let dir = example();
        let (by_flows, whole) = both_bases(dir.path());
        assert_eq!(
            format!("{:?}", by_flows.expect("nothing changed").solutions),
            format!("{:?}", whole.solutions)
        );
    }
}
