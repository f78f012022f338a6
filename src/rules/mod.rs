//! Rules: pure functions from the model to findings, one file per family. The registry is the
//! single table of codes, names, severities and explanations.

pub mod flows;
pub mod identity;
pub mod naming;
#[cfg(feature = "online")]
pub mod online;
pub mod registry;
pub mod settings;
pub mod stability;

use crate::config::Config;
use crate::finding::Finding;
use crate::model::Snapshot;

/// What the single-tree rules see.
pub struct Context<'a> {
    pub snapshot: &'a Snapshot,
    pub config: &'a Config,
}

/// Every single-tree rule, then config severities and ignores, in report order.
pub fn check(ctx: &Context<'_>) -> Vec<Finding> {
    let mut findings = ctx.snapshot.problems.clone();
    findings.extend(naming::check(ctx));
    findings.extend(flows::check(ctx));
    findings.extend(settings::check(ctx));
    findings.extend(identity::check(ctx));
    finish(ctx.config, findings)
}

/// Applies config and sorts: errors come out in file order, whatever produced them.
pub fn finish(config: &Config, findings: Vec<Finding>) -> Vec<Finding> {
    let mut findings = config.apply(findings);
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings.dedup();
    findings
}

/// `a`, `b` and `c` — for naming several things in one message.
pub fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
