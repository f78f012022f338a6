//! `connref history`: every stability event in first-parent history, with its commit.
//!
//! One `git log --raw` gives, per commit, the blobs that changed against its first parent
//! (so a side branch's work shows up at its merge commit). The blob map of the current tree is
//! kept up to date from it, so no tree is listed again; only commits that touch `.json`/`.xml`
//! files are loaded, and each load reads only the changed blobs, reusing the parent's pieces.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::ValueEnum;
use serde::Serialize;

use crate::config::Config;
use crate::finding::Finding;
use crate::load::git::{self, GitTree, Repo};
use crate::load::{self, Reuse};
use crate::model::Snapshot;
use crate::report::json::JsonFinding;
use crate::rules::{self, stability};

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub path: PathBuf,
    pub since: Option<String>,
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HistoryFormat {
    Json,
    Human,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Commit {
    pub sha: String,
    pub date: String,
    pub subject: String,
}

#[derive(Debug, Clone)]
pub struct Event {
    pub finding: Finding,
    pub commit: Commit,
}

#[derive(Debug, Clone, Default)]
pub struct History {
    pub events: Vec<Event>,
    /// Commits walked.
    pub commits: usize,
}

struct Change {
    path: String,
    /// `None` when the file was deleted (or is not a blob any more).
    oid: Option<String>,
}

/// Parses `git log --raw -z` with the header `\x01%H\x02%cI\x02%s`.
fn parse_log(out: &[u8]) -> Vec<(Commit, Vec<Change>)> {
    let mut commits: Vec<(Commit, Vec<Change>)> = Vec::new();
    let mut tokens = out.split(|&b| b == 0).map(|t| t.strip_prefix(b"\n").unwrap_or(t));
    while let Some(t) = tokens.next() {
        if let Some(h) = t.strip_prefix(b"\x01") {
            let h = String::from_utf8_lossy(h);
            let mut p = h.splitn(3, '\x02');
            let (sha, date, subject) = (p.next().unwrap_or(""), p.next().unwrap_or(""), p.next().unwrap_or(""));
            commits.push((
                Commit {
                    sha: sha.to_owned(),
                    date: date.to_owned(),
                    subject: subject.to_owned(),
                },
                Vec::new(),
            ));
        } else if let Some(meta) = t.strip_prefix(b":") {
            // `:<old mode> <new mode> <old oid> <new oid> <status>`, then the path.
            let meta = String::from_utf8_lossy(meta);
            let f: Vec<&str> = meta.split(' ').collect();
            let Some(path) = tokens.next() else { break };
            let Some((_, changes)) = commits.last_mut() else { continue };
            let path = String::from_utf8_lossy(path).into_owned();
            let blob = f.get(1).is_some_and(|m| m.starts_with("100") || *m == "120000");
            let deleted = f.get(4).is_some_and(|s| s.starts_with('D'));
            let oid = f.get(3).filter(|_| blob && !deleted).map(|s| (*s).to_owned());
            changes.push(Change { path, oid });
        }
    }
    commits
}

fn relevant(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    p.ends_with(".json") || p.ends_with(".xml")
}

pub fn compute(opts: &Options) -> Result<History> {
    let config = Config::load(opts.config.as_deref(), &opts.path)?;
    let repo = Repo::open(&opts.path)?;
    let scope = repo.relative(&opts.path)?;
    let in_scope = |p: &str| scope.is_empty() || p.strip_prefix(scope.as_str()).is_some_and(|r| r.starts_with('/'));
    let exclude = &config.exclude_set;
    if repo.resolve("HEAD").is_err() {
        // An empty repository has no history to report.
        return Ok(History::default());
    }
    let (mut blobs, mut prev, range) = match &opts.since {
        Some(since) => {
            let sha = repo.resolve(since)?;
            let tree = repo.tree(&sha)?;
            let snap = load::snapshot(&tree, Some(&scope), exclude);
            (tree_blobs(&repo, &sha)?, snap, format!("{sha}..HEAD"))
        }
        None => {
            let mut empty = Snapshot::default();
            empty.label = "empty".into();
            (HashMap::new(), empty, "HEAD".to_owned())
        }
    };
    let out = repo.git(&[
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
    ])?;
    let log = parse_log(&out);
    let mut history = History {
        commits: log.len(),
        ..History::default()
    };
    for (commit, changes) in log {
        let mut changed = BTreeSet::new();
        for c in changes {
            match c.oid {
                Some(oid) => blobs.insert(c.path.clone(), oid),
                None => blobs.remove(&c.path),
            };
            changed.insert(c.path);
        }
        if !changed.iter().any(|p| relevant(p) && in_scope(p)) {
            continue;
        }
        let tree = GitTree::new(commit.sha.clone(), blobs.clone(), repo.cat.clone());
        let snap = load::snapshot_with(&tree, Some(&scope), exclude, Some(&Reuse::new(&prev, &changed)));
        let findings = rules::finish(&config, stability::check(&prev, &snap, &config));
        history.events.extend(findings.into_iter().map(|finding| Event {
            finding,
            commit: commit.clone(),
        }));
        prev = snap;
    }
    Ok(history)
}

fn tree_blobs(repo: &Repo, sha: &str) -> Result<HashMap<String, String>> {
    let out = repo.git(&["ls-tree", "-r", "-z", "--full-tree", sha])?;
    let mut m = HashMap::new();
    for rec in out.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let Some(tab) = rec.iter().position(|&b| b == b'\t') else { continue };
        let meta = String::from_utf8_lossy(&rec[..tab]);
        let f: Vec<&str> = meta.split(' ').collect();
        if f.get(1) == Some(&"blob")
            && let Some(oid) = f.get(2)
        {
            m.insert(String::from_utf8_lossy(&rec[tab + 1..]).into_owned(), (*oid).to_owned());
        }
    }
    Ok(m)
}

#[derive(Serialize)]
struct JsonEvent<'a> {
    #[serde(flatten)]
    finding: JsonFinding<'a>,
    commit: &'a Commit,
}

#[derive(Serialize)]
struct Summary {
    commits: usize,
    events: usize,
}

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    events: Vec<JsonEvent<'a>>,
    summary: Summary,
}

pub fn render_json(h: &History) -> String {
    let doc = Document {
        version: 1,
        events: h
            .events
            .iter()
            .map(|e| JsonEvent {
                finding: JsonFinding::from(&e.finding),
                commit: &e.commit,
            })
            .collect(),
        summary: Summary {
            commits: h.commits,
            events: h.events.len(),
        },
    };
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

pub fn render_human(h: &History) -> String {
    let mut out = String::new();
    let mut last = "";
    for e in &h.events {
        if e.commit.sha != last {
            last = &e.commit.sha;
            let date = e.commit.date.get(..10).unwrap_or(&e.commit.date);
            out.push_str(&format!("{} {date} {}\n", stability::short(&e.commit.sha), e.commit.subject));
        }
        let f = &e.finding;
        out.push_str(&format!(
            "  {}[{}] {}:{}:{}: {}\n",
            f.severity, f.code, f.loc.path, f.loc.line, f.loc.column, f.message
        ));
    }
    out.push_str(&format!(
        "connref history: {}, {} walked\n",
        crate::report::plural(h.events.len(), "event", "events"),
        crate::report::plural(h.commits, "commit", "commits")
    ));
    out
}

pub fn run(opts: &Options, format: HistoryFormat, out: &mut dyn Write) -> Result<u8> {
    if let Some(s) = &opts.since {
        git::check_rev(s)?;
    }
    let h = compute(opts)?;
    let text = match format {
        HistoryFormat::Json => render_json(&h),
        HistoryFormat::Human => render_human(&h),
    };
    out.write_all(text.as_bytes()).context("cannot write the history")?;
    Ok(0)
}
