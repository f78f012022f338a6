//! `connref check`: discover, load, model, rules, report.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context as _, Result};

use crate::config::Config;
use crate::load::{self, worktree::WorkTree};
use crate::report::{Format, Report};
use crate::rules::{self, Context};

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub paths: Vec<PathBuf>,
    pub config: Option<PathBuf>,
    pub format: Option<Format>,
}

/// Runs the single-tree rules on every PATH and returns the report.
pub fn report(opts: &Options) -> Result<Report> {
    let paths = if opts.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        opts.paths.clone()
    };
    let config = Config::load(opts.config.as_deref(), &paths[0])?;
    let mut report = Report::default();
    for path in &paths {
        let tree = WorkTree::open(path)?;
        let snapshot = load::snapshot(&tree, None, &config.exclude_set);
        report.findings.extend(rules::check(&Context {
            snapshot: &snapshot,
            config: &config,
        }));
        report.add_snapshot(&snapshot);
    }
    report.findings = rules::finish(&config, report.findings);
    Ok(report)
}

pub fn run(opts: &Options, out: &mut dyn Write) -> Result<u8> {
    let report = report(opts)?;
    let format = opts.format.unwrap_or_else(Format::default_for_env);
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    out.write_all(report.render(format, color).as_bytes())
        .context("cannot write the report")?;
    super::summary::write_actions_files(&report, &opts.paths, opts.config.as_deref(), None)?;
    Ok(report.exit_code())
}
