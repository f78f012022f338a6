//! Where the source is: a PATH that does not exist, a PATH inside a solution root, and a tree
//! with no solution source at all. connref never answers "no findings" when it read nothing.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use super::Source;
use crate::discover::{self, Layout};
use crate::model::Snapshot;

/// The PATH to read: the one given, or the solution root it lies inside.
pub struct Located {
    pub path: PathBuf,
    /// Said on stderr when PATH was widened to its root.
    pub note: Option<String>,
}

/// Whether `dir` (on disk) is a solution root of some layout.
fn is_root(dir: &Path) -> bool {
    let f = |p: &str| dir.join(p).is_file();
    if f("Other/Solution.xml") && f("Other/Customizations.xml") {
        return true;
    }
    if f("solution.xml") && f("customizations.xml") && f("[Content_Types].xml") {
        return true;
    }
    std::fs::read_dir(dir.join("solutions"))
        .map(|entries| entries.flatten().any(|e| e.path().join("solution.yml").is_file()))
        .unwrap_or(false)
}

/// Checks that `path` exists and, when it lies inside a solution root (`…/src/Workflows`),
/// widens it to that root: a check of part of a root would call every reference that only the
/// left-out flows use unused.
pub fn locate(path: &Path) -> Result<Located> {
    if std::fs::symlink_metadata(path).is_err() {
        bail!(
            "`{}` does not exist: give the folder that holds the solution source (default: the current folder)",
            path.display()
        );
    }
    let Ok(abs) = std::fs::canonicalize(path) else {
        return Ok(Located {
            path: path.to_path_buf(),
            note: None,
        });
    };
    if is_root(&abs) {
        return Ok(Located {
            path: path.to_path_buf(),
            note: None,
        });
    }
    // Up to the top of the repository (or the file system), never past it.
    let top = super::worktree::repo_top(&abs);
    let mut widened = path.to_path_buf();
    for (up, dir) in abs.ancestors().enumerate().skip(1) {
        widened = widened.join("..");
        if is_root(dir) {
            let shown = if path.is_absolute() { dir.to_path_buf() } else { lexical(&widened) };
            return Ok(Located {
                note: Some(format!(
                    "`{}` is inside the solution root `{}`: checking the whole root",
                    path.display(),
                    shown.display()
                )),
                path: shown,
            });
        }
        if top.as_deref() == Some(dir) || up > 64 {
            break;
        }
    }
    Ok(Located {
        path: path.to_path_buf(),
        note: None,
    })
}

/// `a/b/../..` → `.`; `a/b/c/..` → `a/b` (paths made of the user's PATH and `..` only).
fn lexical(p: &Path) -> PathBuf {
    let mut out: Vec<std::path::Component<'_>> = Vec::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir if matches!(out.last(), Some(std::path::Component::Normal(_))) => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    if out.is_empty() { PathBuf::from(".") } else { out.iter().collect() }
}

/// Nothing to check: no solution root below PATH. Exit 2, never a green "no findings".
#[derive(Debug, Clone)]
pub struct NoSource {
    /// PATH as the user gave it (or the revision and PATH).
    pub path: String,
    pub lookalikes: Vec<String>,
}

impl fmt::Display for NoSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no solution source found under {}", self.path)?;
        f.write_str("\n  looked for a folder holding one of:")?;
        for l in Layout::ALL {
            write!(f, "\n    - {}", l.markers())?;
        }
        if !self.lookalikes.is_empty() {
            f.write_str("\n  found look-alikes that are not solution roots:")?;
            for l in &self.lookalikes {
                write!(f, "\n    - {l}")?;
            }
        }
        f.write_str("\n  give the folder that holds the unpacked or cloned solution as PATH")
    }
}

impl std::error::Error for NoSource {}

/// `Err(NoSource)` when `snapshot` (read from `source`) holds no solution and no root whose
/// files failed to parse (those are CR900 findings, reported as usual).
pub fn require_source(source: &dyn Source, scope: Option<&str>, snapshot: &Snapshot, shown: &str) -> Result<(), NoSource> {
    if !snapshot.solutions.is_empty() {
        return Ok(());
    }
    let in_root = |p: &str| snapshot.roots.iter().any(|r| crate::model::in_root(r, p));
    if snapshot.problems.iter().any(|p| in_root(&p.loc.path)) {
        return Ok(());
    }
    Err(NoSource {
        path: shown.to_owned(),
        lookalikes: lookalikes(source, scope, snapshot),
    })
}

/// The nearest things to a root: a lone Solution.xml, a `.cdsproj` whose SolutionRootPath
/// holds no root, a `solutions/` folder without `solution.yml`, a manifest that is no solution.
fn lookalikes(source: &dyn Source, scope: Option<&str>, snapshot: &Snapshot) -> Vec<String> {
    let files = super::source_files(source, scope, &globset::GlobSet::empty());
    let mut out = Vec::new();
    for root in &snapshot.roots {
        out.push(format!(
            "`{}` has a solution manifest that is no solution (no `ImportExportXml`/`SolutionManifest`, or no `UniqueName`)",
            if root.is_empty() { "." } else { root }
        ));
    }
    let mut solutions_dirs: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for f in &files {
        let (dir, name) = f.rsplit_once('/').unwrap_or(("", f));
        if name.eq_ignore_ascii_case("solution.xml") {
            let beside = if name == "Solution.xml" {
                "`Customizations.xml` beside it"
            } else {
                "`customizations.xml` and `[Content_Types].xml` beside it"
            };
            out.push(format!("`{f}` without {beside}"));
        } else if name.to_ascii_lowercase().ends_with(".cdsproj")
            && let Some(l) = cdsproj(source, f, dir, snapshot)
        {
            out.push(l);
        }
        let segs: Vec<&str> = f.split('/').collect();
        if let Some(i) = segs.iter().position(|s| *s == "solutions")
            && i + 1 < segs.len()
        {
            let d = segs[..=i].join("/");
            if !(segs.len() == i + 3 && segs[i + 2] == "solution.yml") {
                solutions_dirs.insert(d);
            }
        }
    }
    for d in solutions_dirs {
        let has = files.iter().any(|f| {
            f.strip_prefix(d.as_str())
                .and_then(|r| r.strip_prefix('/'))
                .is_some_and(|r| r.split('/').count() == 2 && r.ends_with("/solution.yml"))
        });
        if !has {
            out.push(format!("`{d}/` without a `<Name>/solution.yml` in it"));
        }
    }
    out.truncate(10);
    out
}

/// A `.cdsproj` whose `<SolutionRootPath>` names a folder that holds no root.
fn cdsproj(source: &dyn Source, path: &str, dir: &str, snapshot: &Snapshot) -> Option<String> {
    let bytes = source.read(path).ok()?;
    let text = crate::text::decode(bytes).ok()?;
    let el = crate::parse::xml::parse(&text).ok()?;
    let root_path = el
        .find("SolutionRootPath")
        .map(|e| e.text.trim().replace('\\', "/"))
        .unwrap_or_else(|| "src".to_owned());
    let target = lexical(Path::new(&discover::join(dir, root_path.trim_end_matches('/'))));
    let target = target.to_string_lossy().replace('\\', "/");
    let target = if target == "." { String::new() } else { target };
    if snapshot.roots.contains(&target) {
        return None;
    }
    Some(format!(
        "`{path}` names `<SolutionRootPath>{root_path}</SolutionRootPath>`, but `{}` holds no solution root",
        if target.is_empty() { "." } else { &target }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_paths() {
        assert_eq!(lexical(Path::new("a/b/../..")), PathBuf::from("."));
        assert_eq!(lexical(Path::new("a/b/c/..")), PathBuf::from("a/b"));
        assert_eq!(lexical(Path::new("../x/..")), PathBuf::from(".."));
    }
}
