//! Git revisions and the index as `Source`s.
//!
//! Every blob is read through ONE long-lived `git cat-file --batch` process shared by all trees
//! of a run: spawning git per file costs milliseconds each, which on 2,000 flows is more than
//! the parse. Blobs are asked for by object id, never by `rev:path`, so no path is ever parsed
//! by git as anything but data. A revision is never checked out; a file that git finds the
//! same in the working tree is read from there instead of from a blob (see `CheckedOut`).

use std::collections::{BTreeSet, HashMap};
use std::io::{self, BufRead, BufReader, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use anyhow::{Context, Result, anyhow, bail};

use super::worktree::WorkTree;
use super::{CheckedOut, Source};
use crate::finding::{Finding, Loc};

/// The fix printed whenever a revision is missing from a shallow clone.
pub const SHALLOW_FIX: &str = "this is a shallow clone and the base commit is not in it: fetch the history \
(in GitHub Actions set `fetch-depth: 0` on actions/checkout, or run `git fetch --deepen=50` / `git fetch --unshallow`)";

struct Batch {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

fn spawn_batch(top: &Path) -> io::Result<Batch> {
    let mut child = Command::new("git")
        .arg("-C")
        .arg(top)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdin = child.stdin.take().ok_or_else(|| io::Error::other("git cat-file has no stdin"))?;
    let stdout = child.stdout.take().ok_or_else(|| io::Error::other("git cat-file has no stdout"))?;
    Ok(Batch {
        child,
        stdin,
        stdout: BufReader::with_capacity(1 << 16, stdout),
    })
}

/// Whether `oid` can be an object id (hexadecimal): all git gets on cat-file's input, never a
/// path or a `rev:path` it would parse.
pub fn is_oid(oid: &str) -> bool {
    !oid.is_empty() && oid.bytes().all(|b| b.is_ascii_hexdigit())
}

fn check_oid(oid: &str) -> io::Result<()> {
    if !is_oid(oid) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("`{oid}` is not an object id")));
    }
    Ok(())
}

/// Reads `git cat-file --batch`'s answer for `oid`. The outer error means the stream is broken
/// (nothing more can be read from it); the inner one that this object is missing or not a file.
fn read_answer(stdout: &mut impl BufRead, oid: &str) -> io::Result<io::Result<Vec<u8>>> {
    let mut header = String::new();
    if stdout.read_line(&mut header)? == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "git cat-file stopped"));
    }
    let mut parts = header.trim_end().split(' ');
    let (_, kind, size) = (parts.next(), parts.next(), parts.next());
    let Some(size) = size.and_then(|s| s.parse::<usize>().ok()) else {
        // `<oid> missing`: no body follows.
        return Ok(Err(io::Error::new(io::ErrorKind::NotFound, format!("git has no object {oid}"))));
    };
    let mut data = vec![0; size];
    stdout.read_exact(&mut data)?;
    let mut nl = [0u8; 1];
    stdout.read_exact(&mut nl)?;
    Ok(if kind == Some("blob") {
        Ok(data)
    } else {
        Err(io::Error::other(format!("{oid} is a {} in git, not a file", kind.unwrap_or("?"))))
    })
}

/// A `git cat-file --batch` of its own, asked from one thread and answered to another: `history`
/// asks for each commit's blobs as soon as `git log` names them, so that no blob costs a round
/// trip while commits are compared.
pub fn blob_stream(top: &Path) -> io::Result<(BlobAsks, BlobAnswers)> {
    let Batch { child, stdin, stdout } = spawn_batch(top)?;
    Ok((BlobAsks(io::BufWriter::new(stdin)), BlobAnswers { child, stdout }))
}

pub struct BlobAsks(io::BufWriter<ChildStdin>);

impl BlobAsks {
    /// Asks for these blobs; their answers come in this order. Nothing is asked when an id is
    /// refused, so that the answers never fall out of step with what the reader expects.
    pub fn ask(&mut self, oids: &[&str]) -> io::Result<()> {
        for oid in oids {
            check_oid(oid)?;
        }
        for oid in oids {
            writeln!(self.0, "{oid}")?;
        }
        self.0.flush()
    }
}

pub struct BlobAnswers {
    child: Child,
    stdout: BufReader<ChildStdout>,
}

impl BlobAnswers {
    /// The answer to the next blob asked for (see [`read_answer`] for the two errors).
    pub fn next(&mut self, oid: &str) -> io::Result<io::Result<Vec<u8>>> {
        read_answer(&mut self.stdout, oid)
    }
}

impl Drop for BlobAnswers {
    fn drop(&mut self) {
        // Whoever asks is unblocked (its writes fail) and no process is left behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `git cat-file --batch` process. The mutex makes `Source::read` callable from the parse
/// workers; reads are serialised but parsing still runs on every core.
pub struct CatFile {
    batch: Mutex<Option<Batch>>,
    top: PathBuf,
}

impl CatFile {
    fn new(top: &Path) -> Self {
        CatFile {
            batch: Mutex::new(None),
            top: top.to_path_buf(),
        }
    }

    fn spawn(&self) -> io::Result<Batch> {
        spawn_batch(&self.top)
    }

    /// Many blobs at once, pipelined: a writer thread sends every id while this thread reads
    /// the answers, so there is no round trip per blob (which on 4,000 files cost more than
    /// parsing them). Results come in the order of `oids`.
    pub fn read_many(&self, oids: &[&str]) -> io::Result<Vec<io::Result<Vec<u8>>>> {
        for oid in oids {
            check_oid(oid)?;
        }
        let mut guard = self.batch.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            *guard = Some(self.spawn()?);
        }
        let Some(b) = guard.as_mut() else {
            return Err(io::Error::other("git cat-file did not start"));
        };
        let (stdin, stdout) = (&mut b.stdin, &mut b.stdout);
        let result = std::thread::scope(|scope| {
            let writer = scope.spawn(move || -> io::Result<()> {
                let mut w = io::BufWriter::new(stdin);
                for oid in oids {
                    writeln!(w, "{oid}")?;
                }
                w.flush()
            });
            let mut out = Vec::with_capacity(oids.len());
            for oid in oids {
                out.push(read_answer(stdout, oid)?);
            }
            writer
                .join()
                .map_err(|_| io::Error::other("the writer to git cat-file panicked"))??;
            Ok(out)
        });
        if result.is_err() {
            *guard = None;
        }
        result
    }

    /// The content of the blob `oid`.
    pub fn read(&self, oid: &str) -> io::Result<Vec<u8>> {
        check_oid(oid)?;
        self.ask(&format!("{oid}\n"), |stdout| read_answer(stdout, oid))?
    }

    /// The commit `rev` names, or `None` when it names none. Asked of the running process
    /// rather than of a `git rev-parse` of its own: a comparison then starts one git fewer.
    pub fn commit_id(&self, rev: &str) -> io::Result<Option<String>> {
        check_rev(rev).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        self.ask(&format!("{rev}^{{commit}}\n"), |stdout| {
            let mut header = String::new();
            if stdout.read_line(&mut header)? == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "git cat-file stopped"));
            }
            // `<oid> commit <size>` and the commit, or `<rev> missing` (or `ambiguous`) alone.
            let mut parts = header.trim_end().rsplitn(3, ' ');
            let (size, kind, oid) = (parts.next(), parts.next(), parts.next());
            let (Some(size), Some("commit"), Some(oid)) = (size.and_then(|s| s.parse::<u64>().ok()), kind, oid) else {
                return Ok(None);
            };
            io::copy(&mut io::Read::take(&mut *stdout, size.saturating_add(1)), &mut io::sink())?;
            Ok(is_oid(oid).then(|| oid.to_owned()))
        })
    }

    /// Writes `line` to the process (started when none runs) and reads its answer. After an
    /// I/O error the stream may be out of step, so the next question starts a fresh process.
    fn ask<T>(&self, line: &str, answer: impl FnOnce(&mut BufReader<ChildStdout>) -> io::Result<T>) -> io::Result<T> {
        let mut guard = self.batch.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            *guard = Some(self.spawn()?);
        }
        let Some(b) = guard.as_mut() else {
            return Err(io::Error::other("git cat-file did not start"));
        };
        let result = (|| {
            b.stdin.write_all(line.as_bytes())?;
            b.stdin.flush()?;
            answer(&mut b.stdout)
        })();
        if result.is_err() {
            *guard = None;
        }
        result
    }
}

impl Drop for CatFile {
    fn drop(&mut self) {
        if let Some(mut b) = self.batch.get_mut().ok().and_then(Option::take) {
            drop(b.stdin);
            let _ = b.child.wait();
        }
    }
}

/// A git repository, opened at its top.
#[derive(Clone)]
pub struct Repo {
    pub top: PathBuf,
    pub cat: Arc<CatFile>,
}

/// What a comparison's newer side is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Head {
    WorkTree,
    Index,
    Commit(String),
}

/// Rejects revisions that git would read as options.
pub fn check_rev(rev: &str) -> Result<()> {
    if rev.is_empty() {
        bail!("the revision is empty: give a commit, branch or tag");
    }
    if rev.starts_with('-') {
        bail!("`{rev}` is not a revision: revisions cannot start with `-` (connref never passes them to git as options)");
    }
    if rev.contains(['\0', '\n']) {
        bail!("the revision `{}` contains a control character", rev.escape_debug());
    }
    Ok(())
}

impl Repo {
    /// The repository that holds `path`.
    pub fn open(path: &Path) -> Result<Repo> {
        // Looking for `.git` saves a git process on the path of every comparison; git itself
        // answers only when there is none (GIT_DIR, or no repository at all).
        if let Some(top) = super::worktree::repo_top(path) {
            return Ok(Repo {
                cat: Arc::new(CatFile::new(&top)),
                top,
            });
        }
        let out = Command::new("git")
            .arg("-C")
            .arg(path)
            .args(["rev-parse", "--show-toplevel"])
            .output()
            .context("cannot run git: is it installed and on PATH?")?;
        if !out.status.success() {
            bail!(
                "`{}` is not inside a git repository: comparing revisions needs one (run `git init`, or drop --base/--head/--staged)",
                path.display()
            );
        }
        let top = String::from_utf8(out.stdout).context("the repository path is not UTF-8")?;
        let top = PathBuf::from(top.trim_end_matches(['\n', '\r']));
        Ok(Repo {
            cat: Arc::new(CatFile::new(&top)),
            top,
        })
    }

    /// Runs git at the top of the repository and returns its stdout.
    pub fn git(&self, args: &[&str]) -> Result<Vec<u8>> {
        let out = Command::new("git")
            .arg("-C")
            .arg(&self.top)
            .args(args)
            .output()
            .context("cannot run git")?;
        if !out.status.success() {
            bail!("`git {}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
        }
        Ok(out.stdout)
    }

    pub fn is_shallow(&self) -> bool {
        self.git(&["rev-parse", "--is-shallow-repository"])
            .is_ok_and(|o| o.starts_with(b"true"))
    }

    /// The full id of the commit `rev` names.
    pub fn resolve(&self, rev: &str) -> Result<String> {
        check_rev(rev)?;
        if let Ok(Some(sha)) = self.cat.commit_id(rev) {
            return Ok(sha);
        }
        // Only a failure pays for the diagnosis.
        let any = format!("{rev}^{{object}}");
        if self.git(&["rev-parse", "--verify", "--quiet", "--end-of-options", &any]).is_ok() {
            bail!("the revision `{rev}` is not a commit: give a commit, branch or tag");
        }
        if self.is_shallow() {
            bail!("the revision `{rev}` is not in this repository: {SHALLOW_FIX}");
        }
        if self.git(&["rev-parse", "--verify", "--quiet", "HEAD"]).is_err() {
            bail!("the revision `{rev}` does not resolve: the repository has no commits yet");
        }
        bail!("the revision `{rev}` does not resolve to anything in this repository (a root commit has no parent)")
    }

    /// The tree of commit `sha` (already resolved).
    pub fn tree(&self, sha: &str) -> Result<GitTree> {
        Ok(self.tree_and_links(sha)?.0)
    }

    /// The tree of commit `sha` and the paths in it that are symbolic links.
    fn tree_and_links(&self, sha: &str) -> Result<(GitTree, BTreeSet<String>)> {
        let out = self.git(&["ls-tree", "-r", "-z", "--full-tree", sha])?;
        let mut links = BTreeSet::new();
        // `<mode> SP <type> SP <object> TAB <file>`
        let listing = listing(&out, |m, path| match m {
            [mode, "blob", oid] => {
                if let Some(path) = path.filter(|_| *mode == "120000") {
                    links.insert(path.to_owned());
                }
                Some(*oid)
            }
            _ => None,
        });
        Ok((
            GitTree::new(sha.to_owned(), listing.blobs, self.cat.clone()).with_problems(listing.problems),
            links,
        ))
    }

    /// The tree of commit `sha`, read from the working tree where git finds it holds the same
    /// file below `folder` (see [`CheckedOut`]): a pre-push check reads the commit that is
    /// checked out.
    pub fn checked_out_commit(&self, sha: &str, folder: &str) -> Result<CheckedOut> {
        // Listed and compared with the working tree side by side.
        let (tree, differs, index) = std::thread::scope(|s| {
            let differs = s.spawn(|| self.git_below(folder, &["diff", "--no-renames", "--no-ext-diff", "--name-only", "-z", sha]));
            let index = s.spawn(|| self.git_below(folder, &["ls-files", "-v", "-z"]));
            let tree = self.tree_and_links(sha);
            let join =
                |h: std::thread::ScopedJoinHandle<'_, Result<Vec<u8>>>| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (tree, join(differs), join(index))
        });
        let (tree, mut apart) = tree?;
        // `<tag> SP <file>`: a file git does not compare with the working tree has a tag other
        // than `H`; when the index cannot be listed, none is taken from the working tree.
        match index {
            Ok(out) => apart.extend(
                out.split(|&b| b == 0)
                    .filter_map(|rec| rec.split_first_chunk::<2>())
                    .filter(|(tag, _)| **tag != *b"H ")
                    .map(|(_, path)| String::from_utf8_lossy(path).into_owned()),
            ),
            Err(_) => apart.extend(tree.files().iter().cloned()),
        }
        Ok(self.checked_out(tree, differs, apart, folder))
    }

    /// The index (stage 0 entries; in a conflict, "ours"), read from the working tree where
    /// git finds it holds the same file below `folder` (see [`CheckedOut`]).
    pub fn index(&self, folder: &str) -> Result<CheckedOut> {
        // Listed and compared with the working tree side by side.
        let (out, unstaged) = std::thread::scope(|s| {
            let unstaged = s.spawn(|| self.git_below(folder, &["diff", "--no-renames", "--no-ext-diff", "--name-only", "-z"]));
            let out = self.git(&["ls-files", "-s", "-v", "-z"]);
            (out, unstaged.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        });
        let out = out?;
        let mut apart = BTreeSet::new();
        // `<tag> SP <mode> SP <object> SP <stage> TAB <file>`; submodules (160000) hold no blob.
        // Only a tag of `H` is a file that git compares with the working tree.
        let listing = listing(&out, |m, path| match m {
            [tag, mode, oid, stage @ ("0" | "2")] if *mode != "160000" => {
                if let Some(path) = path.filter(|_| *tag != "H" || *mode == "120000" || *stage != "0") {
                    apart.insert(path.to_owned());
                }
                Some(*oid)
            }
            _ => None,
        });
        let tree = GitTree::new("index".into(), listing.blobs, self.cat.clone()).with_problems(listing.problems);
        Ok(self.checked_out(tree, unstaged, apart, folder))
    }

    /// `git` with the paths limited to `folder` (`""`: the whole repository), taken literally:
    /// comparing with the working tree costs an `lstat` of every file compared, and a
    /// solution may be a small folder of a large repository.
    fn git_below(&self, folder: &str, args: &[&str]) -> Result<Vec<u8>> {
        let mut all = vec!["--literal-pathspecs"];
        all.extend_from_slice(args);
        all.push("--");
        if !folder.is_empty() {
            all.push(folder);
        }
        self.git(&all)
    }

    /// `tree` as a [`CheckedOut`]: `differs` is git's list of the paths below `folder` where
    /// the working tree holds another file or none, `apart` what git does not compare with it.
    /// Where git cannot compare (there is no working tree), every file is read from git.
    fn checked_out(&self, tree: GitTree, differs: Result<Vec<u8>>, apart: BTreeSet<String>, folder: &str) -> CheckedOut {
        let from_git = match differs {
            Ok(out) => {
                let mut from_git = split_z(&out);
                from_git.extend(apart);
                from_git
            }
            Err(_) => tree.files().iter().cloned().collect(),
        };
        CheckedOut {
            tree,
            worktree: WorkTree::reader(&self.top),
            from_git,
            compared: folder.to_owned(),
        }
    }

    /// Paths that differ between commit `base` and `head` (both sides' names).
    pub fn changed(&self, base: &str, head: &Head) -> Result<BTreeSet<String>> {
        let mut args = vec!["diff", "--no-renames", "--no-ext-diff", "--name-only", "-z"];
        match head {
            Head::WorkTree => args.extend([base, "--"]),
            Head::Index => args.extend(["--cached", base, "--"]),
            Head::Commit(h) => args.extend([base, h.as_str(), "--"]),
        }
        let out = self.git(&args)?;
        Ok(split_z(&out))
    }

    /// The repository-relative form of `path` (`""` for the top).
    pub fn relative(&self, path: &Path) -> Result<String> {
        let abs = std::fs::canonicalize(path).with_context(|| format!("cannot read `{}`", path.display()))?;
        let top = std::fs::canonicalize(&self.top).unwrap_or_else(|_| self.top.clone());
        let rel = abs.strip_prefix(&top).unwrap_or(Path::new(""));
        let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
        Ok(parts
            .ok_or_else(|| anyhow!("the path `{}` is not UTF-8", path.display()))?
            .join("/"))
    }
}

pub fn split_z(out: &[u8]) -> BTreeSet<String> {
    out.split(|&b| b == 0)
        .filter(|r| !r.is_empty())
        .map(|r| String::from_utf8_lossy(r).into_owned())
        .collect()
}

/// A tree of blobs: a commit or the index.
pub struct GitTree {
    label: String,
    /// Sorted; `oids[i]` is the blob of `files[i]`. Sorted vectors, not a map: a listing of
    /// thousands of paths is built for every comparison (and every commit of `history`).
    files: Vec<String>,
    oids: Vec<String>,
    /// Paths git lists that are not UTF-8, reported rather than skipped.
    problems: Vec<Finding>,
    cat: Arc<CatFile>,
    ahead: Mutex<Ahead>,
    /// Signalled when a batch read ahead has landed in `Ahead::cache`.
    landed: Condvar,
}

/// How many blobs are asked for at once when reading ahead: enough to keep `git cat-file`
/// busy while the parsers work, few enough that a tree's blobs are never all held at once (the
/// 2,000 flows of a tree read whole took 33 MB in one batch).
pub const AHEAD: usize = 256;

/// Blobs read ahead of the parsers, in batches of [`AHEAD`].
#[derive(Default)]
struct Ahead {
    /// Read and not yet taken out by `read`.
    cache: HashMap<String, io::Result<Vec<u8>>>,
    /// What `prefetch` was told will be read, in that order (path, object id), by path.
    wanted: Vec<(String, String)>,
    position: HashMap<String, usize>,
    /// `wanted[..asked]` were asked for.
    asked: usize,
    /// Asked for, not landed yet.
    in_flight: Vec<Range<usize>>,
}

/// The blobs of a `-z` listing (`ls-tree` or `ls-files -s`): `object` picks the object id out
/// of the space-separated fields before the tab, or skips the record.
struct Listing {
    blobs: Vec<(String, String)>,
    problems: Vec<Finding>,
}

/// The listings have three or four fields before the tab; `object` is also shown the path
/// (`None` when it is not UTF-8).
fn listing<'a>(out: &'a [u8], mut object: impl FnMut(&[&'a str], Option<&'a str>) -> Option<&'a str>) -> Listing {
    let mut l = Listing {
        blobs: Vec::new(),
        problems: Vec::new(),
    };
    for rec in out.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let Some(tab) = rec.iter().position(|&b| b == b'\t') else {
            continue;
        };
        let Ok(meta) = std::str::from_utf8(&rec[..tab]) else { continue };
        let (mut fields, mut n) = ([""; 4], 0);
        for field in meta.split(' ') {
            if n == fields.len() {
                n += 1;
                break;
            }
            fields[n] = field;
            n += 1;
        }
        let Some(fields) = fields.get(..n) else { continue };
        match std::str::from_utf8(&rec[tab + 1..]) {
            Ok(path) => {
                let Some(oid) = object(fields, Some(path)) else { continue };
                l.blobs.push((path.to_owned(), oid.to_owned()));
            }
            Err(_) => {
                if object(fields, None).is_none() {
                    continue;
                }
                let lossy = String::from_utf8_lossy(&rec[tab + 1..]).into_owned();
                if lossy.ends_with(".json") || lossy.ends_with(".xml") {
                    l.problems.push(super::cr900(
                        Loc::file(&lossy),
                        "the path is not valid UTF-8, so connref cannot report on it: rename the file",
                    ));
                }
            }
        }
    }
    l
}

impl GitTree {
    /// Problems met while listing the tree, reported with the snapshot's findings.
    pub fn with_problems(mut self, problems: Vec<Finding>) -> Self {
        self.problems = problems;
        self
    }

    /// `blobs`: (path, object id), one per path.
    pub fn new(label: String, blobs: impl IntoIterator<Item = (String, String)>, cat: Arc<CatFile>) -> Self {
        let mut blobs: Vec<(String, String)> = blobs.into_iter().collect();
        // git lists a tree in this order already.
        blobs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let (files, oids) = blobs.into_iter().unzip();
        GitTree {
            label,
            files,
            oids,
            problems: Vec::new(),
            cat,
            ahead: Mutex::new(Ahead::default()),
            landed: Condvar::new(),
        }
    }

    /// Every (path, object id), sorted by path.
    pub fn blobs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.files.iter().map(String::as_str).zip(self.oids.iter().map(String::as_str))
    }

    fn oid(&self, path: &str) -> Option<&str> {
        let i = self.files.binary_search_by(|f| f.as_str().cmp(path)).ok()?;
        Some(&self.oids[i])
    }

    /// Blobs already read (by path), so that `read` does not ask git for them again.
    pub fn preload(&self, blobs: impl IntoIterator<Item = (String, Vec<u8>)>) {
        self.ahead().cache.extend(blobs.into_iter().map(|(path, data)| (path, Ok(data))));
    }

    /// An empty tree: the base of a repository with no commits.
    pub fn empty(label: &str, cat: Arc<CatFile>) -> Self {
        GitTree::new(label.to_owned(), [], cat)
    }
}

impl Source for GitTree {
    fn label(&self) -> String {
        self.label.clone()
    }

    fn listing_problems(&self) -> Vec<Finding> {
        self.problems.clone()
    }

    fn files(&self) -> &[String] {
        &self.files
    }

    fn prefetch(&self, paths: &[&str]) {
        let mut ahead = self.ahead();
        for p in paths {
            if ahead.cache.contains_key(*p) || ahead.position.contains_key(*p) {
                continue;
            }
            if let Some(oid) = self.oid(p) {
                let at = ahead.wanted.len();
                ahead.position.insert((*p).to_owned(), at);
                ahead.wanted.push(((*p).to_owned(), oid.to_owned()));
            }
        }
        // Even one blob: fetched now, the start of `git cat-file` is hidden behind other work.
        let first = ahead.asked;
        if first < ahead.wanted.len() {
            drop(self.read_ahead(ahead, first));
        }
    }

    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        let mut ahead = self.ahead();
        loop {
            if let Some(r) = ahead.cache.remove(path) {
                // Half a batch before what was asked for runs out, the next batch is asked
                // for: the other parsers go on with the rest meanwhile.
                let near_end = ahead.position.get(path).is_some_and(|at| at + AHEAD / 2 >= ahead.asked);
                if near_end && ahead.asked < ahead.wanted.len() && ahead.in_flight.is_empty() {
                    let next = ahead.asked;
                    drop(self.read_ahead(ahead, next));
                }
                return r;
            }
            match ahead.position.get(path).copied() {
                Some(at) if at >= ahead.asked => ahead = self.read_ahead(ahead, at),
                Some(at) if ahead.in_flight.iter().any(|r| r.contains(&at)) => {
                    ahead = self.landed.wait(ahead).unwrap_or_else(|e| e.into_inner());
                }
                // Never asked for, taken already, or its batch failed: asked for alone.
                _ => break,
            }
        }
        drop(ahead);
        let oid = self
            .oid(path)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("`{path}` is not in {}", self.label)))?;
        self.cat.read(oid)
    }
}

impl GitTree {
    fn ahead(&self) -> MutexGuard<'_, Ahead> {
        self.ahead.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks for the next batch of wanted blobs, up to `wanted[at]` at least, and waits for it.
    /// The lock is let go meanwhile, so that blobs already read can be taken out.
    fn read_ahead<'g>(&'g self, mut ahead: MutexGuard<'g, Ahead>, at: usize) -> MutexGuard<'g, Ahead> {
        let batch = ahead.asked..(at + 1).max(ahead.asked + AHEAD).min(ahead.wanted.len());
        ahead.asked = batch.end;
        ahead.in_flight.push(batch.clone());
        let asked: Vec<(String, String)> = ahead.wanted[batch.clone()].to_vec();
        drop(ahead);
        let oids: Vec<&str> = asked.iter().map(|(_, oid)| oid.as_str()).collect();
        let results = self.cat.read_many(&oids);
        let mut ahead = self.ahead();
        // On failure nothing is kept, and `read` asks for each of these blobs alone.
        if let Ok(results) = results {
            ahead.cache.extend(asked.into_iter().map(|(path, _)| path).zip(results));
        }
        ahead.in_flight.retain(|r| *r != batch);
        self.landed.notify_all();
        ahead
    }
}

/// Runs git in `dir` for a test, with an identity of its own, and returns its trimmed output.
#[cfg(test)]
pub(crate) fn test_git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::test_git as git;
    use super::*;

    /// A new repository in a temporary folder holding `files`, each written as
    /// `<name> <suffix>`, and a writer of files into it.
    fn repo_of(files: &[&str], suffix: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q"]);
        for name in files {
            std::fs::write(dir.path().join(name), format!("{name} {suffix}")).unwrap();
        }
        dir
    }

    #[test]
    fn the_index_is_read_from_the_working_tree_only_where_git_finds_it_the_same() {
        let dir = repo_of(&["clean", "staged", "deleted", "skipped", "assumed", "modified"], "at HEAD");
        let top = dir.path();
        let write = |path: &str, text: &str| std::fs::write(top.join(path), text).unwrap();
        git(top, &["add", "."]);
        git(top, &["commit", "-q", "-m", "all"]);
        // Staged, then changed again: the index holds the staged text, not the file's.
        write("staged", "staged in the index");
        git(top, &["add", "staged"]);
        write("staged", "changed after staging");
        std::fs::remove_file(top.join("deleted")).unwrap();
        write("modified", "not staged");
        git(top, &["update-index", "--skip-worktree", "skipped"]);
        std::fs::remove_file(top.join("skipped")).unwrap();
        git(top, &["update-index", "--assume-unchanged", "assumed"]);
        write("assumed", "changed, but git was told to assume not");
        write("untracked", "not in the index");
        let index = Repo::open(top).unwrap().index("").unwrap();
        let from_git: Vec<&str> = index.from_git.iter().map(String::as_str).collect();
        assert_eq!(from_git, ["assumed", "deleted", "modified", "skipped", "staged"]);
        assert_eq!(index.files(), ["assumed", "clean", "deleted", "modified", "skipped", "staged"]);
        // Every file reads as the index holds it.
        for (path, text) in [
            ("clean", "clean at HEAD"),
            ("staged", "staged in the index"),
            ("deleted", "deleted at HEAD"),
            ("modified", "modified at HEAD"),
            ("skipped", "skipped at HEAD"),
            ("assumed", "assumed at HEAD"),
        ] {
            index.prefetch(&[path]);
            assert_eq!(String::from_utf8(index.read(path).unwrap()).unwrap(), text, "{path}");
        }
        // The clean file is the working tree's: a change made since shows, where a blob would not.
        write("clean", "CLEAN at HEAD");
        assert_eq!(index.read("clean").unwrap(), b"CLEAN at HEAD");
    }

    #[test]
    fn only_the_folder_checked_is_compared_and_the_rest_comes_from_git() {
        let dir = repo_of(&["outside"], "at HEAD");
        let top = dir.path();
        std::fs::create_dir(top.join("sub")).unwrap();
        std::fs::write(top.join("sub/inside"), "inside at HEAD").unwrap();
        git(top, &["add", "."]);
        git(top, &["commit", "-q", "-m", "both"]);
        std::fs::write(top.join("outside"), "changed, not staged").unwrap();
        let repo = Repo::open(top).unwrap();
        let head = repo.resolve("HEAD").unwrap();
        for tree in [repo.index("sub").unwrap(), repo.checked_out_commit(&head, "sub").unwrap()] {
            assert!(tree.from_git.is_empty(), "{:?}", tree.from_git);
            assert_eq!(tree.read("outside").unwrap(), b"outside at HEAD");
            std::fs::write(top.join("sub/inside"), "INSIDE at HEAD").unwrap();
            assert_eq!(tree.read("sub/inside").unwrap(), b"INSIDE at HEAD", "from the working tree");
            std::fs::write(top.join("sub/inside"), "inside at HEAD").unwrap();
        }
    }

    #[test]
    fn a_commit_is_read_from_the_working_tree_only_where_git_finds_it_the_same() {
        let dir = repo_of(&["clean", "later", "modified", "skipped", "assumed"], "at the first");
        let top = dir.path();
        let write = |path: &str, text: &str| std::fs::write(top.join(path), text).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("clean", top.join("link")).unwrap();
        git(top, &["add", "."]);
        git(top, &["commit", "-q", "-m", "first"]);
        let first = git(top, &["rev-parse", "HEAD"]);
        write("later", "later at the second");
        git(top, &["commit", "-q", "-am", "second"]);
        write("modified", "not committed");
        git(top, &["update-index", "--skip-worktree", "skipped"]);
        std::fs::remove_file(top.join("skipped")).unwrap();
        git(top, &["update-index", "--assume-unchanged", "assumed"]);
        write("assumed", "changed, but git was told to assume not");
        let repo = Repo::open(top).unwrap();
        let tree = repo.checked_out_commit(&first, "").unwrap();
        let mut want = vec!["assumed", "later", "modified", "skipped"];
        if cfg!(unix) {
            want.insert(2, "link");
        }
        assert_eq!(tree.from_git.iter().map(String::as_str).collect::<Vec<_>>(), want);
        // Every file reads as the commit holds it; the clean one from the working tree.
        for name in ["clean", "later", "modified", "skipped", "assumed"] {
            tree.prefetch(&[name]);
            assert_eq!(String::from_utf8(tree.read(name).unwrap()).unwrap(), format!("{name} at the first"));
        }
        #[cfg(unix)]
        assert_eq!(tree.read("link").unwrap(), b"clean", "a link reads as the path it holds, as in git");
        write("clean", "CLEAN at the first");
        assert_eq!(tree.read("clean").unwrap(), b"CLEAN at the first");
        // Without a working tree to compare with, everything comes from git.
        let bare = tempfile::tempdir().unwrap();
        git(bare.path(), &["clone", "-q", "--bare", top.to_str().unwrap(), "."]);
        let repo = Repo {
            top: bare.path().to_path_buf(),
            cat: Arc::new(CatFile::new(bare.path())),
        };
        let tree = repo.checked_out_commit(&first, "").unwrap();
        assert_eq!(tree.from_git.len(), tree.files().len());
    }

    #[test]
    fn a_tree_is_read_ahead_in_batches_and_never_held_whole() {
        let count = 2 * AHEAD + 100;
        let names: Vec<String> = (0..count).map(|i| format!("f{i:04}")).collect();
        let dir = repo_of(&names.iter().map(String::as_str).collect::<Vec<_>>(), "text");
        let top = dir.path();
        git(top, &["add", "."]);
        git(top, &["commit", "-q", "-m", "many"]);
        let repo = Repo::open(top).unwrap();
        let head = repo.resolve("HEAD").unwrap();
        let paths: Vec<&str> = names.iter().map(String::as_str).collect();
        // In order from two threads, as the parse jobs read them.
        let tree = repo.tree(&head).unwrap();
        tree.prefetch(&paths);
        assert_eq!(tree.ahead().cache.len(), AHEAD, "only the first batch is read at once");
        let next = std::sync::atomic::AtomicUsize::new(0);
        let most = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(name) = names.get(i) else { break };
                        assert_eq!(tree.read(name).unwrap(), format!("{name} text").into_bytes());
                        most.fetch_max(tree.ahead().cache.len(), std::sync::atomic::Ordering::Relaxed);
                    }
                });
            }
        });
        assert!(most.into_inner() <= 2 * AHEAD, "the blobs read ahead were held at once");
        // Backwards, and a file read twice: every one still reads right.
        let tree = repo.tree(&head).unwrap();
        tree.prefetch(&paths);
        for name in names.iter().rev().chain([&names[0]]) {
            assert_eq!(tree.read(name).unwrap(), format!("{name} text").into_bytes());
        }
        assert!(tree.ahead().cache.is_empty() && tree.ahead().in_flight.is_empty());
    }

    #[test]
    fn the_batch_resolves_commits_and_stays_in_step_after_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q"]);
        for text in ["one", "two"] {
            std::fs::write(dir.path().join("a.txt"), text).unwrap();
            git(dir.path(), &["add", "a.txt"]);
            git(dir.path(), &["commit", "-q", "-m", text]);
        }
        let repo = Repo::open(dir.path()).unwrap();
        let (head, parent) = (git(dir.path(), &["rev-parse", "HEAD"]), git(dir.path(), &["rev-parse", "HEAD~1"]));
        assert_eq!(repo.resolve("HEAD").unwrap(), head);
        assert_eq!(repo.cat.commit_id("HEAD~1").unwrap(), Some(parent));
        // Past the root, not a commit, no such name (spaces and all): no commit, and the
        // stream is still in step for what comes next.
        for rev in ["HEAD~2", "HEAD^{tree}", "no such branch"] {
            assert_eq!(repo.cat.commit_id(rev).unwrap(), None, "{rev}");
        }
        let tree = repo.tree(&head).unwrap();
        assert_eq!(tree.read("a.txt").unwrap(), b"two");
        assert_eq!(repo.cat.commit_id("HEAD").unwrap(), Some(head));
        // What git would read as an option never reaches it.
        assert!(repo.cat.commit_id("--all").is_err());
        let err = repo.resolve("HEAD~2").unwrap_err().to_string();
        assert!(err.contains("a root commit has no parent"), "{err}");
        let err = repo.resolve("HEAD^{tree}").unwrap_err().to_string();
        assert!(err.contains("is not a commit"), "{err}");
    }
}
