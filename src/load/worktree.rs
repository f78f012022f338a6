//! The working tree as a `Source`.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
        let (mut files, problems) = list(path, &prefix);
        // A merge of the folders' sorted runs.
        files.sort();
        Ok(WorkTree { base, files, problems })
    }

    /// Files below `top` read by their path, none listed: the working tree behind a git tree
    /// (see [`super::CheckedOut`]).
    pub fn reader(top: &Path) -> Self {
        WorkTree {
            base: top.to_path_buf(),
            files: Vec::new(),
            problems: Vec::new(),
        }
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

/// A folder to list: where it is (the root as given, joined with names), its path as reported
/// (`None` when a name on the way is not UTF-8), and the real folders it lies in.
struct Folder {
    path: PathBuf,
    shown: Option<String>,
    real: Arc<Chain>,
}

/// A folder's real path and those of the folders it was reached through, to refuse a
/// symbolic link back into one of them (it would be followed forever).
struct Chain {
    real: PathBuf,
    up: Option<Arc<Chain>>,
}

impl Chain {
    fn holds(&self, real: &Path) -> bool {
        let mut at = Some(self);
        while let Some(c) = at {
            if c.real == real {
                return true;
            }
            at = c.up.as_deref();
        }
        false
    }
}

/// Every file below `root`, following symbolic links, shown below `prefix`, with what could
/// not be listed. The folders are listed side by side: on 2,000 flows the walk took 2 ms on
/// one core, before anything else could start.
fn list(root: &Path, prefix: &str) -> (Vec<String>, Vec<Finding>) {
    let real = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let top = Folder {
        path: root.to_path_buf(),
        shown: Some(prefix.to_owned()),
        real: Arc::new(Chain { real, up: None }),
    };
    let listed = crate::parallel::explore(vec![top], |folder, more| {
        let mut files = Vec::new();
        let mut problems = Vec::new();
        list_folder(folder, more, &mut files, &mut problems);
        // Sorted here, side by side: the whole list is then runs already in order.
        files.sort_unstable();
        (files, problems)
    });
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for (f, p) in listed {
        files.extend(f);
        problems.extend(p);
    }
    (files, problems)
}

fn list_folder(folder: Folder, more: &mut Vec<Folder>, files: &mut Vec<String>, problems: &mut Vec<Finding>) {
    let cannot_read = |path: &Path, e: io::Error| cr900(Loc::file(&path.display().to_string()), format!("cannot read: {e}"));
    let entries = match std::fs::read_dir(&folder.path) {
        Ok(entries) => entries,
        Err(e) => return problems.push(cannot_read(&folder.path, e)),
    };
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                problems.push(cannot_read(&folder.path, e));
                continue;
            }
        };
        let kind = match entry.file_type() {
            // A link is what it points to.
            Ok(t) if t.is_symlink() => std::fs::metadata(entry.path()).map(|m| (m.file_type(), true)),
            Ok(t) => Ok((t, false)),
            Err(e) => Err(e),
        };
        let (kind, linked) = match kind {
            Ok(k) => k,
            Err(e) => {
                problems.push(cannot_read(&entry.path(), e));
                continue;
            }
        };
        let name = entry.file_name();
        // One allocation of the right size: this runs for every file of the tree.
        let shown = match (&folder.shown, name.to_str()) {
            (Some(dir), Some(name)) => {
                let mut shown = String::with_capacity(dir.len() + 1 + name.len());
                if !dir.is_empty() {
                    shown.push_str(dir);
                    shown.push('/');
                }
                shown.push_str(name);
                Some(shown)
            }
            _ => None,
        };
        if kind.is_dir() {
            if name.to_str().is_some_and(|n| SKIPPED_DIRS.contains(&n)) {
                continue;
            }
            let path = entry.path();
            let real = if linked {
                match std::fs::canonicalize(&path) {
                    Ok(real) if folder.real.holds(&real) => {
                        problems.push(cr900(
                            Loc::file(&path.display().to_string()),
                            "a symbolic-link loop: connref does not follow it",
                        ));
                        continue;
                    }
                    Ok(real) => real,
                    Err(e) => {
                        problems.push(cannot_read(&path, e));
                        continue;
                    }
                }
            } else {
                folder.real.real.join(&name)
            };
            more.push(Folder {
                path,
                shown,
                real: Arc::new(Chain {
                    real,
                    up: Some(Arc::clone(&folder.real)),
                }),
            });
        } else if kind.is_file() {
            match shown {
                Some(shown) => files.push(shown),
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
        use std::io::Read;
        let mut file = std::fs::File::open(self.base.join(path))?;
        let size = file.metadata()?.len();
        let Ok(size) = usize::try_from(size) else {
            return Err(io::Error::new(io::ErrorKind::OutOfMemory, "the file is too large to read"));
        };
        if size == 0 {
            // Empty, or a file that does not say its size: read to the end.
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes)?;
            return Ok(bytes);
        }
        // As many bytes as the file has, in one read where the system allows: the read that
        // would find the end after them cost a system call for every file. As in git, a file
        // that grows meanwhile is read as it was.
        let mut bytes = vec![0; size];
        let mut filled = 0;
        while filled < size {
            match file.read(&mut bytes[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        bytes.truncate(filled);
        Ok(bytes)
    }

    fn listing_problems(&self) -> Vec<Finding> {
        self.problems.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_read_whole_in_one_go_and_one_without_a_size_to_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(dir.path().join("big"), &big).unwrap();
        std::fs::write(dir.path().join("empty"), "").unwrap();
        let tree = WorkTree::reader(dir.path());
        assert_eq!(tree.read("big").unwrap(), big);
        assert!(tree.read("empty").unwrap().is_empty());
        assert!(tree.read("missing").is_err());
        // procfs files say they are empty and are not.
        #[cfg(target_os = "linux")]
        assert!(!WorkTree::reader(Path::new("/proc/self")).read("status").unwrap().is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_once_and_what_cannot_be_read_is_reported() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let write = |path: &str| {
            let file = root.join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, "{}").unwrap();
        };
        write("a/b/flow.json");
        write("a/notes.txt");
        write("node_modules/x.json");
        write("deep/er/still/file.xml");
        symlink(root.join("a"), root.join("linked")).unwrap();
        symlink(root.join("a/b/flow.json"), root.join("file-link.json")).unwrap();
        symlink(root.join("missing"), root.join("broken.json")).unwrap();
        // Back to the root, and back to a folder on the way.
        symlink(root, root.join("a/b/to-root")).unwrap();
        symlink(root.join("deep"), root.join("deep/er/still/up")).unwrap();
        let (mut files, problems) = list(root, "top");
        files.sort();
        assert_eq!(
            files,
            [
                "top/a/b/flow.json",
                "top/a/notes.txt",
                "top/deep/er/still/file.xml",
                "top/file-link.json",
                "top/linked/b/flow.json",
                "top/linked/notes.txt",
            ]
        );
        let mut problems: Vec<String> = problems
            .iter()
            .map(|p| {
                format!(
                    "{} {}",
                    p.loc.path.strip_prefix(&*root.to_string_lossy()).unwrap_or(&p.loc.path),
                    p.message
                )
            })
            .collect();
        problems.sort();
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].starts_with("/a/b/to-root a symbolic-link loop"), "{problems:?}");
        assert!(problems[1].starts_with("/broken.json cannot read: "), "{problems:?}");
        assert!(problems[2].starts_with("/deep/er/still/up a symbolic-link loop"), "{problems:?}");
        // Through the link, the same loop is met again one folder further down.
        assert!(problems[3].starts_with("/linked/b/to-root a symbolic-link loop"), "{problems:?}");
    }
}
