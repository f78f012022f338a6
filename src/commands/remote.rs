//! What `verify` and `audit` share: the options of the connection to the environment, and the
//! report in every format (with the step summary and outputs in GitHub Actions).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};

use crate::config::{Config, EnvironmentConfig};
use crate::online::http::{self, Http};
use crate::report::{Format, Report, View, markdown};

#[derive(Debug, Clone, clap::Args)]
pub struct Remote {
    /// The target environment: a `[environments.<NAME>]` table of connref.toml (without case).
    #[arg(long = "env", value_name = "NAME")]
    pub env: String,
    /// Read this config instead of the connref.toml found above PATH.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Output format (default: github inside GitHub Actions, else human).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Seconds to wait for a connection or for the next bytes of an answer.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,
    /// The longest wait in seconds before retrying a 429 or 5xx answer, whatever Retry-After asks.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub max_retry_wait: u64,
    /// Write every response body to this folder (tokens redacted), for a bug report.
    #[arg(long, value_name = "DIR")]
    pub dump_responses: Option<PathBuf>,
}

impl Remote {
    pub fn http(&self) -> Result<Http> {
        Http::new(http::Options {
            timeout: Duration::from_secs(self.timeout.max(1)),
            max_wait: Duration::from_secs(self.max_retry_wait),
            dump: self.dump_responses.clone(),
            ..http::Options::default()
        })
    }

    /// The environment's table, with its spelling from connref.toml.
    pub fn environment<'c>(&self, config: &'c Config) -> Result<(&'c str, &'c EnvironmentConfig)> {
        config.environment(&self.env).ok_or_else(|| {
            let known: Vec<&str> = config.environments.keys().map(String::as_str).collect();
            let place = config
                .path
                .as_ref()
                .map_or_else(|| "no connref.toml was found".to_owned(), |p| format!("`{}` has", p.display()));
            anyhow!(
                "environment `{}` is not configured: {place} {}; add\n\n[environments.{}]\nurl = \"https://<org>.crm.dynamics.com\"\nid = \"<environment id>\"\n",
                self.env,
                if known.is_empty() { "no [environments] table".to_owned() } else { format!("[environments] for {}", known.join(", ")) },
                self.env
            )
        })
    }
}

/// The process environment, for credentials and API overrides.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Prints the report, writes the step summary and outputs in Actions, and gives the exit code.
pub fn finish(remote: &Remote, command: &str, environment: &str, report: &Report, out: &mut dyn Write) -> Result<u8> {
    let format = remote.format.unwrap_or_else(Format::default_for_env);
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let view = View { color, ..View::default() };
    out.write_all(report.render(format, &view).as_bytes())
        .context("cannot write the report")?;
    let summary = markdown::environment_summary(command, environment, report);
    crate::github::actions::write(&summary, report.counts(), false)?;
    Ok(report.exit_code())
}
