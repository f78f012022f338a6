//! First-parent history, commit by commit, for `connref history`.
//!
//! One `git log --raw` gives, per commit, the blobs that changed against its first parent
//! (so a side branch's work shows up at its merge commit). The blob map of the current tree is
//! kept up to date from it, so no tree is listed again; only commits that touch `.json`/`.xml`
//! files are loaded, and each load reads only the changed blobs, reusing the parent's pieces.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result};

use super::flow_edits::{edited_flows, flow_index, partial};
use super::git::{self, GitTree, Repo};
use super::{self as load, Reuse};
use crate::config::Config;
use crate::model::{Commit, Snapshot, in_root};

/// What a walk went through.
pub struct Walked {
    /// Commits walked.
    pub commits: usize,
    /// Whether any commit (or the start) had a solution below the folder.
    pub seen_solution: bool,
}

/// Walks first-parent history after `since` (from the root commit without it) and calls
/// `visit` with each commit that changes solution source below `scope`, the snapshot before it
/// and the snapshot after it. For a commit that only edits flows, both snapshots hold only the
/// solutions and flows it touches: nothing else can change there.
pub fn walk(
    repo: &Repo,
    scope: &str,
    since: Option<&str>,
    config: &Config,
    mut visit: impl FnMut(&Commit, &Snapshot, &Snapshot),
) -> Result<Walked> {
    let (mut blobs, mut prev, range) = match since {
        Some(since) => {
            let sha = repo.resolve(since)?;
            let tree = repo.tree(&sha)?;
            let snap = load::snapshot(&tree, Some(scope), config);
            let blobs = tree.blobs().map(|(p, o)| (p.to_owned(), o.to_owned())).collect();
            (blobs, snap, format!("{sha}..HEAD"))
        }
        None => {
            let empty = Snapshot {
                label: "empty".into(),
                ..Snapshot::default()
            };
            (HashMap::new(), empty, "HEAD".to_owned())
        }
    };
    let mut child = Command::new("git")
        .arg("-C")
        .arg(&repo.top)
        .args([
            "log",
            "--first-parent",
            "--reverse",
            "--no-renames",
            "--no-ext-diff",
            "--raw",
            "-z",
            "--no-abbrev",
            "--diff-merges=first-parent",
            "--format=%x01%H%x02%cI%x02%s",
            &range,
            "--",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run git log")?;
    let stdout = child.stdout.take().context("git log has no output")?;
    let (asks, answers) = git::blob_stream(&repo.top).context("cannot run git cat-file")?;
    // Two stages, so that neither git waits on connref nor connref on a round trip to git: a
    // thread reads `git log` and asks a cat-file of its own for each commit's changed source
    // blobs at once; this thread reads the answers, whose questions went out long before, and
    // compares the commits. The channel is bounded, so a long history is never held at once.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Asked>>(16);
    let known_at_start: HashMap<String, String> = blobs
        .iter()
        .filter(|(p, _)| relevant(p))
        .map(|(p, o)| (p.clone(), o.clone()))
        .collect();
    let log_scope = scope.to_owned();
    let reader = std::thread::spawn(move || -> std::io::Result<()> {
        let mut log = LogReader {
            r: BufReader::with_capacity(1 << 16, stdout),
            pending: None,
        };
        let mut known = known_at_start;
        let mut asks = Some(asks);
        let mut batch = Vec::new();
        let mut oids = Vec::new();
        while let Some((commit, changes)) = log.next_commit()? {
            let wanted = match asks {
                Some(_) => Some(prefetch_list(&mut known, &changes, &log_scope)),
                None => Some(Vec::new()),
            };
            // A commit that adds a whole tree (the first, mostly) is read by that tree in
            // batches instead: asked for here, all its blobs would be held at once.
            let wanted = wanted.filter(|w| w.len() <= git::AHEAD);
            oids.extend(wanted.iter().flatten().map(|(_, oid)| oid.clone()));
            batch.push((commit, changes, wanted));
            // Commits go over in batches, when git log has nothing more buffered (reading on
            // would wait) or a batch is full: every hand-over wakes a thread and git.
            if (log.r.buffer().is_empty() || batch.len() >= 64) && !hand_over(&tx, &mut batch, &mut asks, &mut oids) {
                return Ok(());
            }
        }
        hand_over(&tx, &mut batch, &mut asks, &mut oids);
        Ok(())
    });
    let mut answers = Some(answers);
    let mut walked = Walked {
        commits: 0,
        seen_solution: !prev.solutions.is_empty(),
    };
    let mut flows = flow_index(&prev);
    let mut parent = prev.label.clone();
    for (commit, changes, wanted) in rx.into_iter().flatten() {
        let asked_ahead = wanted.is_some();
        let fetched = fetch(&mut answers, wanted.unwrap_or_default());
        walked.commits += 1;
        let mut changed = BTreeSet::new();
        let mut modified_only = true;
        for c in changes {
            let existed = match c.oid {
                Some(oid) => blobs.insert(c.path.clone(), oid).is_some(),
                None => {
                    modified_only = false;
                    blobs.remove(&c.path).is_some()
                }
            };
            modified_only &= existed;
            changed.insert(c.path);
        }
        let relevant: Vec<&String> = changed.iter().filter(|p| relevant(p) && in_root(scope, p)).collect();
        if relevant.is_empty() {
            parent = commit.sha.clone();
            continue;
        }
        prev.label = parent.clone();
        // A commit whose blobs were not asked for ahead is read whole, in batches.
        let fast = if modified_only && asked_ahead {
            // Each flow read alone, from a tree of its own files.
            edited_flows(&relevant, &prev, &flows, |json, meta| {
                let meta = meta.filter(|m| blobs.contains_key(*m));
                let mut sub = HashMap::new();
                sub.insert(json.to_owned(), blobs.get(json)?.clone());
                if let Some(m) = meta {
                    sub.insert(m.to_owned(), blobs.get(m)?.clone());
                }
                let tree = GitTree::new(commit.sha.clone(), sub, repo.cat.clone());
                tree.preload(
                    std::iter::once(json)
                        .chain(meta)
                        .filter_map(|p| Some((p.to_owned(), fetched.get(p)?.clone()))),
                );
                load::load_flow(&tree, json, meta).ok()
            })
        } else {
            None
        };
        match fast {
            Some(updates) => {
                let (base, head) = partial(&prev, &updates);
                visit(&commit, &base, &head);
                for ((si, fi), f) in updates {
                    prev.solutions[si].flows[fi] = f;
                }
                prev.label = commit.sha.clone();
            }
            None => {
                let tree = GitTree::new(commit.sha.clone(), blobs.clone(), repo.cat.clone());
                tree.preload(fetched);
                let snap = load::snapshot_with(&tree, Some(scope), config, Some(&Reuse::new(&prev, &changed)));
                visit(&commit, &prev, &snap);
                prev = snap;
                walked.seen_solution |= !prev.solutions.is_empty();
                flows = flow_index(&prev);
            }
        }
        parent = commit.sha.clone();
    }
    drop(answers);
    match reader.join() {
        Ok(r) => r.context("cannot read git log")?,
        Err(_) => anyhow::bail!("reading git log failed"),
    }
    let out = child.wait_with_output().context("git log did not finish")?;
    if !out.status.success() {
        anyhow::bail!("`git log` failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(walked)
}

struct Change {
    path: String,
    /// `None` when the file was deleted (or is not a blob any more).
    oid: Option<String>,
}

/// Reads `git log --raw -z` with the header `\x01%H\x02%cI\x02%s` as git writes it, one commit
/// at a time, so that connref parses a commit's flows while git is still diffing the next ones.
struct LogReader<R> {
    r: R,
    pending: Option<(Commit, Vec<Change>)>,
}

impl<R: BufRead> LogReader<R> {
    fn token(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        let mut t = Vec::new();
        if self.r.read_until(0, &mut t)? == 0 {
            return Ok(None);
        }
        if t.last() == Some(&0) {
            t.pop();
        }
        if t.first() == Some(&b'\n') {
            t.remove(0);
        }
        Ok(Some(t))
    }

    fn next_commit(&mut self) -> std::io::Result<Option<(Commit, Vec<Change>)>> {
        loop {
            let Some(t) = self.token()? else {
                return Ok(self.pending.take());
            };
            if let Some(h) = t.strip_prefix(b"\x01") {
                let h = String::from_utf8_lossy(h);
                let mut p = h.splitn(3, '\x02');
                let commit = Commit {
                    sha: p.next().unwrap_or("").to_owned(),
                    date: p.next().unwrap_or("").to_owned(),
                    subject: p.next().unwrap_or("").to_owned(),
                };
                if let Some(done) = self.pending.replace((commit, Vec::new())) {
                    return Ok(Some(done));
                }
            } else if let Some(meta) = t.strip_prefix(b":") {
                // `:<old mode> <new mode> <old oid> <new oid> <status>`, then the path.
                let meta = String::from_utf8_lossy(meta).into_owned();
                let f: Vec<&str> = meta.split(' ').collect();
                let Some(path) = self.token()? else { continue };
                let Some((_, changes)) = self.pending.as_mut() else { continue };
                let path = String::from_utf8_lossy(&path).into_owned();
                let blob = f.get(1).is_some_and(|m| m.starts_with("100") || *m == "120000");
                let deleted = f.get(4).is_some_and(|s| s.starts_with('D'));
                let oid = f.get(3).filter(|_| blob && !deleted).map(|s| (*s).to_owned());
                changes.push(Change { path, oid });
            }
        }
    }
}

fn relevant(path: &str) -> bool {
    crate::discover::is_source(path)
}

/// A commit from `git log`, its changes, and the blobs asked for it (path, object id); `None`
/// when there were too many to ask for ahead.
type Asked = (Commit, Vec<Change>, Option<Vec<(String, String)>>);

/// Sends a batch of commits to the comparing thread, then asks git for their blobs: the
/// answers' reader must learn what to expect before git is asked, because a commit with many
/// blobs fills the pipe and git then waits for it to be read. `false`: nobody compares any more.
fn hand_over(
    tx: &std::sync::mpsc::SyncSender<Vec<Asked>>,
    batch: &mut Vec<Asked>,
    asks: &mut Option<git::BlobAsks>,
    oids: &mut Vec<String>,
) -> bool {
    if tx.send(std::mem::take(batch)).is_err() {
        return false;
    }
    if let Some(a) = asks
        && a.ask(&oids.iter().map(String::as_str).collect::<Vec<_>>()).is_err()
    {
        // Closing git's input ends it, so the answers' reader meets the end instead of
        // waiting; later commits read their blobs one at a time.
        *asks = None;
    }
    oids.clear();
    true
}

/// Reads the answers to one commit's asks, by path. What git cannot give is left out (and read
/// again, one blob at a time, by whoever needs it).
fn fetch(answers: &mut Option<git::BlobAnswers>, wanted: Vec<(String, String)>) -> HashMap<String, Vec<u8>> {
    let mut fetched = HashMap::new();
    for (path, oid) in wanted {
        let Some(a) = answers.as_mut() else { break };
        match a.next(&oid) {
            Ok(Ok(data)) => {
                fetched.insert(path, data);
            }
            Ok(Err(_)) => {}
            // A broken stream answers nothing more: stopping git now makes the reader's next
            // ask fail instead of wait.
            Err(_) => *answers = None,
        }
    }
    fetched
}

/// The blobs to ask for ahead of one commit's comparison: every changed source file that is
/// still there, and the unchanged `.data.xml` of a changed flow JSON (the comparison reads the
/// flow whole; a metadata file of another layout is read when it is needed). `known` follows
/// the source files' blob ids from commit to commit.
fn prefetch_list(known: &mut HashMap<String, String>, changes: &[Change], scope: &str) -> Vec<(String, String)> {
    for c in changes.iter().filter(|c| relevant(&c.path)) {
        match &c.oid {
            Some(oid) => known.insert(c.path.clone(), oid.clone()),
            None => known.remove(&c.path),
        };
    }
    let changed: HashSet<&str> = changes.iter().map(|c| c.path.as_str()).collect();
    let mut wanted: Vec<(String, String)> = Vec::new();
    for c in changes.iter().filter(|c| relevant(&c.path) && in_root(scope, &c.path)) {
        if let Some(oid) = c.oid.as_ref().filter(|o| git::is_oid(o)) {
            wanted.push((c.path.clone(), oid.clone()));
        }
        let meta = format!("{}.data.xml", c.path);
        if c.path.ends_with(".json")
            && let Some(oid) = known.get(&meta).filter(|o| git::is_oid(o))
            && !changed.contains(meta.as_str())
        {
            wanted.push((meta, oid.clone()));
        }
    }
    wanted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &str, oid: Option<&str>) -> Change {
        Change {
            path: path.to_owned(),
            oid: oid.map(str::to_owned),
        }
    }

    #[test]
    fn asks_ahead_for_changed_sources_and_the_metadata_of_changed_flows() {
        let flow = "src/Workflows/F-625AC674-7D13-2184-4D44-FB6C6D48C11C.json";
        let meta = format!("{flow}.data.xml");
        let mut known = HashMap::from([
            (meta.clone(), "bbbb".to_owned()),
            ("src/Other/Solution.xml".to_owned(), "cccc".to_owned()),
        ]);
        // The flow changed, its metadata did not: both are asked for; a README is not source.
        let wanted = prefetch_list(&mut known, &[change(flow, Some("aaaa")), change("README.md", Some("dddd"))], "");
        assert_eq!(wanted, [(flow.to_owned(), "aaaa".to_owned()), (meta.clone(), "bbbb".to_owned())]);
        assert_eq!(known.get(flow).map(String::as_str), Some("aaaa"));
        // A deleted file is forgotten and not asked for; outside the folder nothing is asked.
        assert!(prefetch_list(&mut known, &[change(&meta, None)], "").is_empty());
        assert!(!known.contains_key(&meta));
        assert!(prefetch_list(&mut known, &[change(flow, Some("eeee"))], "other").is_empty());
        // What is not an object id never reaches git.
        assert!(prefetch_list(&mut known, &[change(flow, Some("HEAD:x"))], "").is_empty());
    }
}
