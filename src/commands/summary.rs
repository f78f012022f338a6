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

/// `$GITHUB_SERVER_URL/<repo>/blob/<sha>` of the checked head: the pull request's head commit
/// from the event (`GITHUB_SHA` is the merge commit there), else `GITHUB_SHA`.
pub fn blob_url() -> Option<String> {
    let server = std::env::var("GITHUB_SERVER_URL").ok().filter(|s| !s.is_empty())?;
    let repo = std::env::var("GITHUB_REPOSITORY").ok().filter(|s| !s.is_empty())?;
    let from_event = std::env::var_os("GITHUB_EVENT_PATH")
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|e| {
            [e.pointer("/pull_request/head/sha"), e.pointer("/workflow_run/head_sha")]
                .into_iter()
                .flatten()
                .find_map(|v| v.as_str().map(str::to_owned))
        });
    let sha = from_event.or_else(|| std::env::var("GITHUB_SHA").ok().filter(|s| !s.is_empty()))?;
    Some(format!("{}/{repo}/blob/{sha}", server.trim_end_matches('/')))
}

pub fn content(report: Report, changes: Changes) -> Content {
    Content {
        diff_markdown: changes.markdown,
        changed: changes.changed,
        report,
        run_url: run_url(),
        blob_url: blob_url(),
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
