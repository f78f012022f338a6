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

use std::sync::OnceLock;

use crate::config::{Config, Ignored};
use crate::finding::{Finding, code_span};
use crate::model::{Snapshot, Solution, in_root, root_label};
use crate::rules::registry::Family;

/// What the single-tree rules see.
pub struct Context<'a> {
    pub snapshot: &'a Snapshot,
    pub config: &'a Config,
    /// Who runs as whom, worked out once for the identity rules and the report.
    assignment: OnceLock<identity::Assignment<'a>>,
}

impl<'a> Context<'a> {
    pub fn new(snapshot: &'a Snapshot, config: &'a Config) -> Self {
        Context {
            snapshot,
            config,
            assignment: OnceLock::new(),
        }
    }

    pub fn assignment(&self) -> &identity::Assignment<'a> {
        self.assignment.get_or_init(|| identity::assign(self.snapshot, self.config))
    }
}

/// Every single-tree rule, then config severities and ignores, in report order.
pub fn check(ctx: &Context<'_>) -> Vec<Finding> {
    check_keeping_ignored(ctx).0
}

/// As [`check`], with the findings the config ignores beside them.
pub fn check_keeping_ignored(ctx: &Context<'_>) -> (Vec<Finding>, Vec<Ignored>) {
    check_families(ctx, |_| true)
}

/// One module's rules: the findings of one family.
pub type FamilyCheck = fn(&Context<'_>) -> Vec<Finding>;

/// The single-tree families, each run by one module, in report order.
pub const FAMILIES: [(Family, FamilyCheck); 4] = [
    (Family::Naming, naming::check),
    (Family::Flows, flows::check),
    (Family::Settings, settings::check),
    (Family::Identity, identity::check),
];

/// As [`check_keeping_ignored`], running only the families `wanted` names (the snapshot's own
/// problems always come): a base is checked only for the kinds of finding its head has.
pub fn check_families(ctx: &Context<'_>, wanted: impl Fn(Family) -> bool) -> (Vec<Finding>, Vec<Ignored>) {
    let mut findings = ctx.snapshot.problems.clone();
    skipped_checks(ctx.snapshot, &mut findings);
    let families: Vec<_> = FAMILIES.iter().filter(|(family, _)| wanted(*family)).map(|(_, run)| run).collect();
    // The families are independent pure functions of the snapshot: they run side by side, and
    // their findings are joined in this fixed order.
    findings.extend(crate::parallel::map(families.len(), |i| families[i](ctx)).into_iter().flatten());
    name_twin_roots(ctx.snapshot, &mut findings);
    finish_keeping_ignored(ctx.config, findings)
}

/// One broken file, one finding: a solution whose references cannot be read gets no CR502,
/// CR503, CR401 or CR404 (each would be a consequence of the unknown set), and its CR900 says so.
fn skipped_checks(snapshot: &Snapshot, problems: &mut [Finding]) {
    for s in &snapshot.solutions {
        for p in problems
            .iter_mut()
            .filter(|p| p.rule.code == "CR900" && p.loc.path == s.references_loc.path)
        {
            p.message.push_str(&format!(
                "; its connection references are unknown, so CR502, CR503, CR401 and CR404 were not checked for solution {}",
                code_span(&s.manifest.unique_name)
            ));
        }
    }
}

/// When two roots share a UniqueName, "solution `X`" alone does not say which: each finding
/// in a twin root names its root folder.
pub fn name_twin_roots(snapshot: &Snapshot, findings: &mut [Finding]) {
    let twins: Vec<&Solution> = snapshot.twin_roots().collect();
    if twins.is_empty() {
        return;
    }
    for f in findings.iter_mut() {
        let Some(s) = twins.iter().filter(|s| in_root(&s.root, &f.loc.path)).max_by_key(|s| s.root.len()) else {
            continue;
        };
        let root = code_span(root_label(&s.root)).to_string();
        let solution = format!("solution {}", code_span(&s.manifest.unique_name));
        if f.message.contains(&format!("root {root}")) {
            continue;
        }
        match f.message.find(&solution) {
            Some(at) => f.message.insert_str(at + solution.len(), &format!(" (root {root})")),
            None => f
                .message
                .push_str(&format!(" (in root {root} of solution {})", code_span(&s.manifest.unique_name))),
        }
    }
}

/// Applies config and sorts: errors come out in file order, whatever produced them.
pub fn finish(config: &Config, findings: Vec<Finding>) -> Vec<Finding> {
    finish_keeping_ignored(config, findings).0
}

/// As [`finish`], with the findings the config ignores beside them.
pub fn finish_keeping_ignored(config: &Config, findings: Vec<Finding>) -> (Vec<Finding>, Vec<Ignored>) {
    let (mut findings, ignored) = config.apply_keeping_ignored(findings);
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings.dedup();
    (findings, ignored)
}

/// `a`, `b` and `c` — for naming several things in one message.
pub fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
