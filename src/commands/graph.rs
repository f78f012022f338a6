//! `connref graph`: identities → references → flows below PATH, findings marked; built and
//! rendered by `report::graph`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context as _, Result};

use crate::config::Config;
use crate::load;
use crate::report::graph::{self, GraphFormat};
use crate::rules::{self, Context};

#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    pub path: Option<PathBuf>,
    /// Read this config instead of the connref.toml found above PATH.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// `mermaid` renders in GitHub comments and READMEs; `dot` is for Graphviz.
    #[arg(long, value_enum, default_value = "mermaid")]
    pub format: GraphFormat,
}

pub fn run(opts: &Options, out: &mut dyn Write) -> Result<u8> {
    let path = opts.path.clone().unwrap_or_else(|| PathBuf::from("."));
    let config = Config::load(opts.config.as_deref(), &path)?;
    let (_, snapshot) = load::worktree_snapshot(&path, &config)?;
    let ctx = Context::new(&snapshot, &config);
    let findings = rules::check(&ctx);
    for w in &ctx.assignment().warnings {
        eprintln!("connref: warning: {w}");
    }
    let g = graph::build(&ctx, &findings, None);
    out.write_all(graph::render(&g, opts.format).as_bytes())
        .context("cannot write the graph")?;
    Ok(0)
}
