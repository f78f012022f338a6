use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use connref::commands::{self, check, diff, graph, history, settings};
use connref::report::{diff::DiffFormat, history::HistoryFormat};

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
    Check(check::Options),
    /// Show what changed in connection references, flows and settings between two trees, and
    /// what it breaks (the body of a pull-request comment with --format markdown).
    Diff {
        #[command(flatten)]
        options: diff::Options,
        #[arg(long, value_enum, default_value = "human")]
        format: DiffFormat,
    },
    /// Report every stability event in first-parent history, with the commit that caused it.
    History {
        #[command(flatten)]
        options: history::Options,
        #[arg(long, value_enum, default_value = "human")]
        format: HistoryFormat,
    },
    /// Create or update each environment's deployment settings file from the solution source.
    ///
    /// Without --write, prints the unified diff it would make and exits 1 when there is one.
    Settings(settings::Options),
    /// Draw identities → references → flows (and apps and bots) below PATH, findings marked.
    Graph(graph::Options),
    /// Write a starter connref.toml at the repository root that records what already shipped.
    Init(commands::init::Options),
    /// List every rule with its code, default severity and summary.
    Rules {
        /// Print each rule's full explanation.
        #[arg(long)]
        explain: bool,
    },
    /// Explain one rule, by code or name (`CR104` or `generated-name`).
    Explain { code: String },
    /// Print a shell completion script (e.g. `connref completions bash > ~/.local/share/bash-completion/completions/connref`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Post or update the sticky pull-request comment (GitHub Actions).
    #[cfg(feature = "github")]
    Comment(commands::comment::Options),
    /// Before an import: check each settings entry of an environment against the connections
    /// that environment holds (who may use them, their state and connector).
    #[cfg(feature = "online")]
    Verify(commands::verify::Options),
    /// After deployment: check the environment's cloud flows and connection references.
    #[cfg(feature = "online")]
    Audit(commands::audit::Options),
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    let mut stdout = std::io::stdout().lock();
    match cli.command {
        Command::Check(options) => check::run(&options, &mut stdout),
        Command::Diff { options, format } => diff::run(&options, format, &mut stdout),
        Command::History { options, format } => history::run(&options, format, &mut stdout),
        Command::Settings(options) => settings::run(&options, &mut stdout, &mut std::io::stderr().lock()),
        Command::Graph(options) => graph::run(&options, &mut stdout),
        Command::Init(options) => commands::init::run(&options, &mut stdout),
        Command::Rules { explain } => {
            let text = if explain { commands::rules::all() } else { commands::rules::list() };
            stdout.write_all(text.as_bytes())?;
            Ok(0)
        }
        Command::Explain { code } => {
            stdout.write_all(commands::rules::explain(&code)?.as_bytes())?;
            Ok(0)
        }
        Command::Completions { shell } => {
            // Into a buffer first: the generator panics on a closed pipe (`| head`).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "connref", &mut script);
            stdout.write_all(&script)?;
            Ok(0)
        }
        #[cfg(feature = "github")]
        Command::Comment(options) => commands::comment::run(&options, &mut stdout),
        #[cfg(feature = "online")]
        Command::Verify(options) => commands::verify::run(&options, &mut stdout),
        #[cfg(feature = "online")]
        Command::Audit(options) => commands::audit::run(&options, &mut stdout),
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            match e.downcast_ref::<connref::load::locate::NoSource>() {
                Some(none) => {
                    eprintln!("connref: {none}");
                    if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
                        // One annotation, so that a wrong `path` input cannot look like a pass.
                        println!("{}", connref::report::github::error_annotation("connref", &none.to_string()));
                    }
                }
                None => eprintln!("connref: error: {e:#}"),
            }
            ExitCode::from(2)
        }
    }
}
