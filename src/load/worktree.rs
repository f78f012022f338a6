//! The working tree as a `Source`.

use std::borrow::Cow;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::{Source, cr900};
use crate::discover::SKIPPED_DIRS;
use crate::finding::{Finding, Loc};

pub struct WorkTree {
    /// Paths are relative to this folder: the repository's top (relative to the current
    /// folder when that is inside it), or the current folder.
    base: PathBuf,
    files: Vec<String>,
    problems: Vec<Finding>,
}

/// The top of the git repository that holds `path`, if any.
pub fn repo_top(path: &Path) -> Option<PathBuf> {
    let abs = std::fs::canonicalize(path).ok()?;
    abs.ancestors().find(|a| a.join(".git").exists()).map(Path::to_path_buf)
}

impl WorkTree {
    /// Lists the files below `path`. Paths are reported relative to the repository's top when
    /// `path` is inside a git repository, else as `path` was given.
    pub fn open(path: &Path) -> Result<Self> {
        let meta = std::fs::metadata(path).with_context(|| format!("cannot read `{}`", path.display()))?;
        if !meta.is_dir() {
            bail!(
                "`{}` is not a folder: give the folder that holds the solution source",
                path.display()
            );
        }
        let (base, prefix) = match repo_top(path) {
            Some(top) => {
                let abs = std::fs::canonicalize(path).with_context(|| format!("cannot resolve `{}`", path.display()))?;
                let rel = abs.strip_prefix(&top).map(Path::to_path_buf).unwrap_or_default();
                (from_current_dir(&top), rel)
            }
            None => (PathBuf::new(), path.to_path_buf()),
        };
        let (base, prefix) = match slash(&prefix) {
            Some(shown) => (base, shown),
            // A folder whose name is not UTF-8 cannot be named in a report: its files are
            // read from it and reported below it.
            None => (base.join(&prefix), String::new()),
        };
        let prefix = prefix.trim_start_matches("./").trim_end_matches('/').to_owned();
        let prefix = if prefix == "." { String::new() } else { prefix };
        let root_len = path.as_os_str().len();
        let mut files = Vec::new();
        let mut problems = Vec::new();
        let walker = walkdir::WalkDir::new(path).follow_links(true).into_iter().filter_entry(|e| {
            e.depth() == 0 || !(e.file_type().is_dir() && e.file_name().to_str().is_some_and(|n| SKIPPED_DIRS.contains(&n)))
        });
        for entry in walker {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let where_ = e
                        .path()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| path.display().to_string());
                    let msg = if e.loop_ancestor().is_some() {
                        "a symbolic-link loop: connref does not follow it".to_owned()
                    } else {
                        format!("cannot read: {e}")
                    };
                    problems.push(cr900(Loc::file(&where_), msg));
                    continue;
                }
            };
            if !entry.file_type().is_file() {
                continue;
            }
            match below(entry.path(), root_len) {
                Some(rel) if prefix.is_empty() => files.push(rel.into_owned()),
                Some(rel) => files.push(format!("{prefix}/{rel}")),
                None => {
                    let lossy = entry.path().to_string_lossy().into_owned();
                    if lossy.ends_with(".json") || lossy.ends_with(".xml") {
                        problems.push(cr900(
                            Loc::file(&lossy),
                            "the path is not valid UTF-8, so connref cannot report on it: rename the file",
                        ));
                    }
                }
            }
        }
        files.sort_unstable();
        Ok(WorkTree { base, files, problems })
    }

    /// Where a repository-relative path of this tree is on disk (for writing files).
    pub fn full_path(&self, path: &str) -> PathBuf {
        self.base.join(path)
    }
}

/// `top` (canonical) as reached from the current folder when that lies inside it (`""`,
/// `../..`), else `top` itself: the kernel resolves every component of a path on each open,
/// and a check opens thousands of files below `top`.
fn from_current_dir(top: &Path) -> PathBuf {
    let cwd = std::env::current_dir().and_then(std::fs::canonicalize);
    match cwd.as_deref().map(|cwd| cwd.strip_prefix(top)) {
        Ok(Ok(below)) => below.components().map(|_| std::path::Component::ParentDir).collect(),
        _ => top.to_path_buf(),
    }
}

/// The part of `entry` below the walk's root (the first `root_len` bytes: walkdir joins names
/// onto the root as given), with `/` separators, or `None` when that part is not UTF-8. A byte
/// prefix instead of `Path::strip_prefix`, and one string instead of a list of components:
/// this runs for every file of the tree before anything else can start.
fn below(entry: &Path, root_len: usize) -> Option<Cow<'_, str>> {
    // Only the part below the root must be UTF-8: the root is the user's, as given.
    let rel = entry.as_os_str().as_encoded_bytes().get(root_len..)?;
    let rel = std::str::from_utf8(rel).ok()?.trim_start_matches(std::path::is_separator);
    Some(if std::path::MAIN_SEPARATOR == '/' {
        Cow::Borrowed(rel)
    } else {
        Cow::Owned(rel.replace(std::path::MAIN_SEPARATOR, "/"))
    })
}

/// A relative path with `/` separators, or `None` when it is not UTF-8.
fn slash(p: &Path) -> Option<String> {
    let parts: Option<Vec<&str>> = p
        .components()
        .map(|c| match c {
            // The root is the empty first segment, so that joining gives one leading `/`.
            std::path::Component::RootDir => Some(""),
            c => c.as_os_str().to_str(),
        })
        .collect();
    Some(parts?.join("/"))
}

impl Source for WorkTree {
    fn label(&self) -> String {
        "worktree".into()
    }

    fn files(&self) -> &[String] {
        &self.files
    }

    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        // The buffer is sized to the file, so the read that reaches its end is the one after.
        std::fs::read(self.base.join(path))
    }

    fn listing_problems(&self) -> Vec<Finding> {
        self.problems.clone()
    }
}
