use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use connref::commands;
use connref::commands::settings::edit::Placeholder;
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
        /// Also compare with this revision and report stability breaks (CR301–CR307). Default: the
        /// base of the GitHub Actions event, or PRE_COMMIT_FROM_REF; otherwise no comparison.
        #[arg(long, value_name = "REV", allow_hyphen_values = true)]
        base: Option<String>,
        /// Check this revision instead of the working tree (which is not touched).
        #[arg(long, value_name = "REV", allow_hyphen_values = true)]
        head: Option<String>,
        /// Check the index (what `git commit` would record) against HEAD.
        #[arg(long, conflicts_with = "head")]
        staged: bool,
    },
    /// Show what changed in connection references, flows and settings between two trees, and
    /// what it breaks (the body of a pull-request comment with --format markdown).
    Diff {
        path: Option<PathBuf>,
        /// The base revision (default: from the GitHub Actions event or pre-commit).
        #[arg(long, value_name = "REV", allow_hyphen_values = true)]
        base: Option<String>,
        /// The head revision (default: the working tree).
        #[arg(long, value_name = "REV", allow_hyphen_values = true)]
        head: Option<String>,
        /// Compare the index with HEAD.
        #[arg(long, conflicts_with = "head")]
        staged: bool,
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "human")]
        format: commands::diff::DiffFormat,
    },
    /// Report every stability event in first-parent history, with the commit that caused it.
    History {
        path: Option<PathBuf>,
        /// Start after this revision (excluded, as in `git log REV..HEAD`); default: the root commit.
        #[arg(long, value_name = "REV", allow_hyphen_values = true)]
        since: Option<String>,
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "human")]
        format: commands::history::HistoryFormat,
    },
    /// Create or update each environment's deployment settings file from the solution source.
    ///
    /// Without --write, prints the unified diff it would make and exits 1 when there is one.
    Settings {
        /// The folder to work on (default: the current folder).
        path: Option<PathBuf>,
        /// An environment to create or update; repeat it, or separate names with commas.
        /// Matched to existing environment names without regard to case. Default: every
        /// environment that already has a settings file.
        #[arg(long = "env", value_name = "NAME", value_delimiter = ',')]
        envs: Vec<String>,
        /// Write the files (atomically) instead of printing the diff.
        #[arg(long)]
        write: bool,
        /// Remove entries that the solution does not define.
        #[arg(long)]
        prune: bool,
        /// The value of new entries: `""`, or a pipeline token such as
        /// `#{connectionreference.<name>}#`.
        #[arg(long, value_enum, default_value = "empty")]
        placeholder: Placeholder,
        /// Read this config instead of the connref.toml found above PATH.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Draw identities → references → flows (and apps and bots) below PATH, findings marked.
    Graph {
        path: Option<PathBuf>,
        /// Read this config instead of the connref.toml found above PATH.
        #[arg(long)]
        config: Option<PathBuf>,
        /// `mermaid` renders in GitHub comments and READMEs; `dot` is for Graphviz.
        #[arg(long, value_enum, default_value = "mermaid")]
        format: commands::graph::GraphFormat,
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
        Command::Check {
            paths,
            config,
            format,
            base,
            head,
            staged,
        } => commands::check::run(
            &commands::check::Options {
                paths,
                config,
                format,
                base,
                head,
                staged,
            },
            &mut stdout,
        ),
        Command::Diff {
            path,
            base,
            head,
            staged,
            config,
            format,
        } => commands::diff::run(
            &commands::diff::Options {
                path: path.unwrap_or_else(|| PathBuf::from(".")),
                base,
                head,
                staged,
                config,
            },
            format,
            &mut stdout,
        ),
        Command::History {
            path,
            since,
            config,
            format,
        } => commands::history::run(
            &commands::history::Options {
                path: path.unwrap_or_else(|| PathBuf::from(".")),
                since,
                config,
            },
            format,
            &mut stdout,
        ),
        Command::Settings {
            path,
            envs,
            write,
            prune,
            placeholder,
            config,
        } => commands::settings::run(
            &commands::settings::Options {
                path,
                config,
                envs,
                write,
                prune,
                placeholder,
            },
            &mut stdout,
            &mut std::io::stderr().lock(),
        ),
        Command::Graph { path, config, format } => commands::graph::run(&commands::graph::Options { path, config, format }, &mut stdout),
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
