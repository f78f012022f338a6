//! The working tree as a `Source`.

use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::{Source, cr900};
use crate::discover::SKIPPED_DIRS;
use crate::finding::{Finding, Loc};

pub struct WorkTree {
    /// Paths are relative to this folder (the repository's top, or the current folder).
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
                (top, rel)
            }
            None => (PathBuf::new(), path.to_path_buf()),
        };
        let prefix = slash(&prefix).unwrap_or_default();
        let prefix = prefix.trim_start_matches("./").trim_end_matches('/').to_owned();
        let prefix = if prefix == "." { String::new() } else { prefix };
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
            let rel = entry.path().strip_prefix(path).unwrap_or(entry.path());
            match slash(rel) {
                Some(rel) => files.push(if prefix.is_empty() { rel } else { format!("{prefix}/{rel}") }),
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
        files.sort();
        Ok(WorkTree { base, files, problems })
    }

    /// Where a repository-relative path of this tree is on disk (for writing files).
    pub fn full_path(&self, path: &str) -> PathBuf {
        self.base.join(path)
    }
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
        std::fs::read(self.base.join(path))
    }

    fn listing_problems(&self) -> Vec<Finding> {
        self.problems.clone()
    }
}
