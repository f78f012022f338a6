//! Loading a base and a head snapshot for `check --base`, `diff` and friends.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context as _, Result, bail};

use crate::config::Config;
use crate::finding::{Finding, Loc};
use crate::load::git::{self, GitTree, Head, Repo};
use crate::load::{self, Reuse, Source, worktree::WorkTree};
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
    /// The paths that differ and the base's tree; `None` when there is no base revision yet.
    base: Option<(BTreeSet<String>, GitTree)>,
    scope: Option<String>,
}

impl Loaded {
    /// The base, reusing the head's pieces of every file that did not change.
    pub fn base(&self, config: &Config) -> Snapshot {
        match &self.base {
            Some((changed, tree)) => load::snapshot_with(tree, self.scope.as_deref(), config, Some(&Reuse::new(&self.head, changed))),
            None => Snapshot {
                label: "empty".into(),
                ..Snapshot::default()
            },
        }
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
    let scope = repo.relative(path)?;
    let scope = Some(scope.as_str());
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
    let (head, head_source, base_side) = std::thread::scope(|s| -> Result<_> {
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
            Head::Index => (Box::new(repo.index()?), scope),
            Head::Commit(sha) => (Box::new(repo.tree(sha)?), scope),
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
        Ok((head, head_source, side))
    })?;
    Ok(Loaded {
        head,
        head_source,
        base: base_side,
        scope: scope.map(str::to_owned),
    })
}

/// Whether discovery finds any root in `tree` below `scope` (without parsing it).
fn tree_has_root(tree: &dyn Source, scope: Option<&str>) -> bool {
    let files: Vec<&str> = tree
        .files()
        .iter()
        .map(String::as_str)
        .filter(|f| match scope {
            Some(s) if !s.is_empty() => f.strip_prefix(s).is_some_and(|r| r.starts_with('/')),
            _ => true,
        })
        .filter(|f| crate::discover::kept(f, &globset::GlobSet::empty()))
        .collect();
    !crate::discover::discover(&files).roots.is_empty()
}

/// Rejects a revision given on the command line before anything runs.
pub fn check_args(spec: &Spec) -> Result<()> {
    for r in spec.base.iter().chain(spec.head.iter()) {
        git::check_rev(r)?;
    }
    Ok(())
}
