use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use connref::commands;
use connref::report::Format;

/// Offline checks of Power Platform connection references in unpacked solution source.
#[derive(Parser)]
#[command(name = "connref", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check every solution below PATH (default: the current folder).
    Check {
        paths: Vec<PathBuf>,
        /// Read this config instead of the connref.toml found above PATH.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Output format (default: github inside GitHub Actions, else human).
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// List every rule with its code, default severity and summary.
    Rules {
        /// Print each rule's full explanation.
        #[arg(long)]
        explain: bool,
    },
    /// Explain one rule.
    Explain { code: String },
    /// Post or update the sticky pull-request comment (GitHub Actions).
    #[cfg(feature = "github")]
    Comment {
        paths: Vec<PathBuf>,
        #[arg(long)]
        config: Option<PathBuf>,
        /// Base revision of the change set (default: from the event).
        #[arg(long)]
        base: Option<String>,
        /// Token (default: $GITHUB_TOKEN).
        #[arg(long)]
        token: Option<String>,
        /// OWNER/NAME (default: $GITHUB_REPOSITORY).
        #[arg(long)]
        repo: Option<String>,
        /// Pull-request number (default: from the event at $GITHUB_EVENT_PATH).
        #[arg(long)]
        pr: Option<u64>,
        /// Event payload (default: $GITHUB_EVENT_PATH).
        #[arg(long)]
        event: Option<PathBuf>,
        /// REST API root (default: $GITHUB_API_URL, else https://api.github.com).
        #[arg(long)]
        api_url: Option<String>,
        /// Comment scope (default: workflow/job), so that two jobs keep two comments.
        #[arg(long)]
        scope: Option<String>,
        /// Print the body and call nothing.
        #[arg(long)]
        dry_run: bool,
        /// First wait before a retry, in milliseconds (doubles each time).
        #[arg(long, default_value_t = 1000, hide = true)]
        backoff_ms: u64,
        #[arg(long, default_value_t = 3, hide = true)]
        retries: u32,
    },
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    let mut stdout = std::io::stdout().lock();
    match cli.command {
        Command::Check { paths, config, format } => commands::check::run(&commands::check::Options { paths, config, format }, &mut stdout),
        Command::Rules { explain } => {
            let text = if explain { commands::rules::all() } else { commands::rules::list() };
            stdout.write_all(text.as_bytes())?;
            Ok(0)
        }
        #[cfg(feature = "github")]
        Command::Comment {
            paths,
            config,
            base,
            token,
            repo,
            pr,
            event,
            api_url,
            scope,
            dry_run,
            backoff_ms,
            retries,
        } => commands::comment::run(
            &commands::comment::Options {
                paths,
                config,
                base,
                token,
                repo,
                pr,
                event,
                api_url,
                scope,
                dry_run,
                backoff_ms,
                retries,
            },
            &mut stdout,
        ),
        Command::Explain { code } => {
            stdout.write_all(commands::rules::explain(&code)?.as_bytes())?;
            Ok(0)
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("connref: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
