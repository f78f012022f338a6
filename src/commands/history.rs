//! `connref history`: every stability event in first-parent history, with its commit.
//! `load::history` walks the commits; each one's snapshots before and after are compared here.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context as _, Result};

use crate::config::Config;
use crate::load::{
    self,
    git::{self, Repo},
};
use crate::report::history::{Event, History, HistoryFormat};
use crate::rules::{self, stability};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct Options {
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Start after this revision (excluded, as in `git log REV..HEAD`); default: the root commit.
    #[arg(long, value_name = "REV", allow_hyphen_values = true)]
    pub since: Option<String>,
    /// Read this config instead of the connref.toml found above PATH.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

pub fn compute(opts: &Options) -> Result<History> {
    let config = Config::load(opts.config.as_deref(), &opts.path)?;
    let located = load::locate::locate(&opts.path)?;
    if let Some(note) = &located.note {
        eprintln!("connref: {note}");
    }
    let repo = Repo::open(&located.path)?;
    let scope = repo.relative(&located.path)?;
    let Ok(head_commit) = repo.resolve("HEAD") else {
        // An empty history would read as a clean one.
        anyhow::bail!(
            "the repository at {} has no commits yet, so it has no history to read: commit the solution source, or check the working tree with `connref check`",
            opts.path.display()
        );
    };
    let mut events = Vec::new();
    let walked = load::history::walk(&repo, &scope, opts.since.as_deref(), &config, |commit, base, head| {
        let findings = rules::finish(&config, stability::check(base, head, &config));
        events.extend(findings.into_iter().map(|finding| Event {
            finding,
            commit: commit.clone(),
        }));
    })?;
    if !walked.seen_solution {
        // No commit had a solution below PATH: an empty history would read as a clean one.
        let tree = repo.tree(&head_commit)?;
        let snap = load::snapshot(&tree, Some(&scope), &config);
        load::locate::require_source(&tree, Some(&scope), &snap, &format!("{} in any commit", opts.path.display()))?;
    }
    Ok(History {
        events,
        commits: walked.commits,
    })
}

pub fn run(opts: &Options, format: HistoryFormat, out: &mut dyn Write) -> Result<u8> {
    if let Some(s) = &opts.since {
        git::check_rev(s)?;
    }
    let h = compute(opts)?;
    out.write_all(crate::report::history::render(&h, format).as_bytes())
        .context("cannot write the history")?;
    // As `diff`: an error event in the range is a failure of the range.
    Ok(u8::from(
        h.events.iter().any(|e| e.finding.severity == crate::finding::Severity::Error),
    ))
}
