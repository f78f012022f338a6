//! `connref check`: discover, load, model, rules, report.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context as _, Result};

use crate::config::Config;
use crate::load::{self, worktree::WorkTree};
use crate::report::{Format, Report};
use crate::rules::{self, Context, stability};

use super::revisions::{self, Spec};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct Options {
    pub paths: Vec<PathBuf>,
    /// Read this config instead of the connref.toml found above PATH.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Output format (default: github inside GitHub Actions, else human).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Also compare with this revision and report stability breaks (CR301–CR307). Default: the
    /// base of the GitHub Actions event, or PRE_COMMIT_FROM_REF; otherwise no comparison.
    #[arg(long, value_name = "REV", allow_hyphen_values = true)]
    pub base: Option<String>,
    /// Check this revision instead of the working tree (which is not touched).
    #[arg(long, value_name = "REV", allow_hyphen_values = true)]
    pub head: Option<String>,
    /// Check the index (what `git commit` would record) against HEAD.
    #[arg(long, conflicts_with = "head")]
    pub staged: bool,
}

/// Runs the single-tree rules on every PATH and returns the report.
pub fn report(opts: &Options) -> Result<Report> {
    let paths = if opts.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        opts.paths.clone()
    };
    let config = Config::load(opts.config.as_deref(), &paths[0])?;
    let spec = Spec {
        base: opts.base.clone(),
        head: opts.head.clone(),
        staged: opts.staged,
    };
    revisions::check_args(&spec)?;
    let spec = spec.resolve()?;
    let mut report = Report::default();
    for path in &paths {
        // One loop for both: with a base, the head comes from the pair and the stability rules
        // and the base's own problems are added; everything else is the same.
        let pair = spec.as_ref().map(|spec| revisions::load_pair(path, spec, &config)).transpose()?;
        let worktree;
        let snapshot = match &pair {
            Some(pair) => {
                report.findings.extend(pair.base_problems());
                report.findings.extend(stability::check(&pair.base, &pair.head, &config));
                &pair.head
            }
            None => {
                worktree = load::snapshot(&WorkTree::open(path)?, None, &config);
                &worktree
            }
        };
        report.findings.extend(rules::check(&Context { snapshot, config: &config }));
        report.add_snapshot(snapshot);
        report.add_identities(&rules::identity::assign(snapshot, &config));
    }
    report.findings = rules::finish(&config, report.findings);
    Ok(report)
}

pub fn run(opts: &Options, out: &mut dyn Write) -> Result<u8> {
    let report = report(opts)?;
    for w in &report.warnings {
        eprintln!("connref: warning: {w}");
    }
    let format = opts.format.unwrap_or_else(Format::default_for_env);
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    out.write_all(report.render(format, color).as_bytes())
        .context("cannot write the report")?;
    super::summary::write_actions_files(&report, &opts.paths, opts.config.as_deref(), opts.base.as_deref())?;
    Ok(report.exit_code())
}
