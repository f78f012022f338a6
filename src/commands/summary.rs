//! The change set shown beside the findings in the step summary and the pull-request comment,
//! and the Actions step files that `check` writes.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::commands::diff;
use crate::github;
use crate::report::Report;
use crate::report::comment::{self, Content};

/// The change set as markdown, and whether anything changed.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub markdown: String,
    pub changed: bool,
}

/// The change set between `base` and the working tree of `paths`.
pub fn changes(paths: &[PathBuf], config: Option<&Path>, base: Option<&str>) -> Result<Changes> {
    let opts = diff::Options {
        path: paths.first().cloned().unwrap_or_else(|| PathBuf::from(".")),
        base: base.map(str::to_owned),
        head: None,
        staged: false,
        config: config.map(Path::to_path_buf),
    };
    Ok(match diff::compute_if_base(&opts)? {
        Some(d) => Changes {
            markdown: crate::report::diff::render_changes_markdown(&d),
            changed: !d.changes.is_empty(),
        },
        None => Changes::default(),
    })
}

/// The run's page, for the comment's fallback when the full report is too long.
pub fn run_url() -> Option<String> {
    let server = std::env::var("GITHUB_SERVER_URL").ok()?;
    let repo = std::env::var("GITHUB_REPOSITORY").ok()?;
    let run = std::env::var("GITHUB_RUN_ID").ok()?;
    Some(format!("{}/{repo}/actions/runs/{run}", server.trim_end_matches('/')))
}

pub fn content(report: Report, changes: Changes) -> Content {
    Content {
        diff_markdown: changes.markdown,
        changed: changes.changed,
        report,
        run_url: run_url(),
    }
}

/// In Actions (`GITHUB_STEP_SUMMARY` or `GITHUB_OUTPUT` set): the step summary and outputs.
pub fn write_actions_files(report: &Report, paths: &[PathBuf], config: Option<&Path>, base: Option<&str>) -> Result<()> {
    let set = |v: &str| std::env::var_os(v).is_some_and(|p| !p.is_empty());
    if !set("GITHUB_STEP_SUMMARY") && !set("GITHUB_OUTPUT") {
        return Ok(());
    }
    let changes = changes(paths, config, base)?;
    let changed = changes.changed;
    let content = content(report.clone(), changes);
    github::actions::write(&comment::summary_markdown(&content), report.counts(), changed)
}
