//! `connref comment`: post or update one sticky comment on the pull request.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

use super::{check, summary};
use crate::github::{self, Action, EventTarget, api};
use crate::report::comment;

/// Each flag overrides its environment variable.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Options {
    pub paths: Vec<PathBuf>,
    /// Read this config instead of the connref.toml found above PATH.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Base revision of the change set (default: from the event, as for `check`).
    #[arg(long)]
    pub base: Option<String>,
    /// Token (default: $GITHUB_TOKEN).
    #[arg(long)]
    pub token: Option<String>,
    /// OWNER/NAME (default: $GITHUB_REPOSITORY).
    #[arg(long)]
    pub repo: Option<String>,
    /// Pull-request number (default: from the event at $GITHUB_EVENT_PATH).
    #[arg(long)]
    pub pr: Option<u64>,
    /// Event payload (default: $GITHUB_EVENT_PATH).
    #[arg(long)]
    pub event: Option<PathBuf>,
    /// REST API root (default: $GITHUB_API_URL, else https://api.github.com).
    #[arg(long)]
    pub api_url: Option<String>,
    /// Comment scope (default: workflow/job), so that two jobs keep two comments.
    #[arg(long)]
    pub scope: Option<String>,
    /// Print the body and call nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// First wait before a retry, in milliseconds (doubles each time).
    #[arg(long, default_value_t = 1000, hide = true)]
    pub backoff_ms: u64,
    #[arg(long, default_value_t = 3, hide = true)]
    pub retries: u32,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Replaces the token wherever a message could carry it (a server may echo what it was sent).
fn redact(text: &str, token: &str) -> String {
    if token.is_empty() {
        text.to_owned()
    } else {
        text.replace(token, "***")
    }
}

pub fn run(opts: &Options, out: &mut dyn Write) -> Result<u8> {
    let token = opts.token.clone().or_else(|| env("GITHUB_TOKEN")).unwrap_or_default();
    match run_inner(opts, &token, out) {
        Ok(code) => Ok(code),
        Err(e) => bail!("{}", redact(&format!("{e:#}"), &token)),
    }
}

fn run_inner(opts: &Options, token: &str, out: &mut dyn Write) -> Result<u8> {
    let report = check::report(&check::Options {
        paths: opts.paths.clone(),
        config: opts.config.clone(),
        format: None,
        base: opts.base.clone(),
        ..check::Options::default()
    })?;
    let changes = summary::changes(&opts.paths, opts.config.as_deref(), opts.base.as_deref())?;
    let content = summary::content(report, changes);
    let scope = opts
        .scope
        .clone()
        .unwrap_or_else(|| github::default_scope(env("GITHUB_WORKFLOW").as_deref(), env("GITHUB_JOB").as_deref()));
    if opts.dry_run {
        out.write_all(comment::body(&scope, &content).as_bytes())?;
        return Ok(0);
    }

    if token.is_empty() {
        bail!("no token: set GITHUB_TOKEN or pass --token");
    }
    let repo = opts
        .repo
        .clone()
        .or_else(|| env("GITHUB_REPOSITORY"))
        .context("no repository: set GITHUB_REPOSITORY or pass --repo OWNER/NAME")?;
    if repo.split('/').count() != 2 || repo.split('/').any(|p| p.is_empty() || p.contains(['?', '#', ' '])) {
        bail!("the repository must be OWNER/NAME, not {repo:?}");
    }
    let target = match opts.pr {
        Some(n) => EventTarget::Number(n),
        None => match opts.event.clone().or_else(|| env("GITHUB_EVENT_PATH").map(PathBuf::from)) {
            Some(path) => {
                let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read the event {}", path.display()))?;
                let event: serde_json::Value =
                    serde_json::from_str(&text).with_context(|| format!("the event {} is not JSON", path.display()))?;
                github::event_target(&event)
            }
            None => EventTarget::None,
        },
    };
    let api_url = opts
        .api_url
        .clone()
        .or_else(|| env("GITHUB_API_URL"))
        .unwrap_or_else(|| "https://api.github.com".into());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // octocrab spawns its connection service when built, so it needs the runtime already.
    let _entered = runtime.enter();
    let client = api::Client::new(&api_url, token, Duration::from_millis(opts.backoff_ms), opts.retries)?;
    let result = runtime.block_on(async {
        let pr = match target {
            EventTarget::Number(n) => n,
            EventTarget::HeadSha(sha) => match client.pull_by_head_sha(&repo, &sha).await? {
                Some(n) => n,
                None => return Ok(format!("connref: no open pull request has head {sha}: nothing to comment on\n")),
            },
            EventTarget::None => bail!("no pull request: the event names none; pass --pr N"),
        };
        let author = client.author().await?;
        let marker = comment::marker(&scope);
        let existing = client.find_comment(&repo, pr, &author, &marker).await?;
        Ok(
            match github::decide(existing.as_ref().map(|(id, b)| (*id, b.as_str())), &scope, &content) {
                Action::Create(body) => {
                    let id = client.create_comment(&repo, pr, &author, &marker, &body).await?;
                    format!("connref: created comment {id} on pull request #{pr}\n")
                }
                Action::Update(id, body) => {
                    client.update_comment(&repo, id, &body).await?;
                    format!("connref: updated comment {id} on pull request #{pr}\n")
                }
                Action::Nothing(why) => format!("connref: {why} (pull request #{pr})\n"),
            },
        )
    });
    match result {
        Ok(msg) => out.write_all(msg.as_bytes())?,
        Err(e) if e.downcast_ref::<api::ReadOnly>().is_some() => {
            // Never fail a job for the comment alone: the check step carries the verdict.
            let msg = format!(
                "::notice title=connref::cannot comment ({}); a pull request from a fork gets a read-only token: see the two-workflow recipe in the README\n",
                crate::report::github::escape_data(&format!("{e}"))
            );
            out.write_all(redact(&msg, token).as_bytes())?;
        }
        Err(e) => return Err(e),
    }
    Ok(0)
}
