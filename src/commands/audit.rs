//! `connref audit --env NAME`: after deployment, the environment's cloud flows and connection
//! references as the environment holds them (CR611–CR614).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;

use crate::config::Config;
use crate::online::Session;
use crate::report::{Report, plural};
use crate::rules::{self, online};

use super::remote::{self, Remote};

#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    #[command(flatten)]
    pub remote: Remote,
}

pub fn run(opts: &Options, out: &mut dyn Write) -> Result<u8> {
    let config = Config::load(opts.remote.config.as_deref(), &PathBuf::from("."))?;
    let (name, env) = opts.remote.environment(&config)?;
    let http = opts.remote.http()?;
    let session = Session::new(&http, name, env, &remote::var)?;
    let live = session.fetch_for_audit()?;
    let mut report = Report {
        findings: rules::finish(&config, online::audit(&live)),
        ..Report::default()
    };
    report.flows = live.flows.len();
    report.references = live.references.len();
    report.checked = Some(format!(
        "{}, {} of environment `{name}` checked",
        plural(live.flows.len(), "cloud flow", "cloud flows"),
        plural(live.references.len(), "connection reference", "connection references")
    ));
    remote::finish(&opts.remote, "audit", name, &report, out)
}
