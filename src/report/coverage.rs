//! The coverage matrix: for each solution, every reference × every environment that has a
//! settings file, each cell bound, token, empty or missing.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::Snapshot;
use crate::model::settings::{Binding, classify};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SolutionCoverage {
    pub solution: String,
    /// Environments with a settings file for the solution, sorted without regard to case.
    pub environments: Vec<String>,
    pub references: Vec<ReferenceCoverage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReferenceCoverage {
    pub reference: String,
    /// Environment → how the reference is bound there.
    pub cells: BTreeMap<String, Binding>,
}

/// The matrix of every solution that has settings files and references.
pub fn compute(snapshot: &Snapshot) -> Vec<SolutionCoverage> {
    let mut out: Vec<SolutionCoverage> = Vec::new();
    for s in &snapshot.solutions {
        if s.references.is_empty() || out.iter().any(|c| c.solution.eq_ignore_ascii_case(&s.manifest.unique_name)) {
            continue;
        }
        let files: Vec<_> = snapshot
            .settings
            .iter()
            .filter(|f| !f.invalid && f.solutions.iter().any(|n| n.eq_ignore_ascii_case(&s.manifest.unique_name)))
            .collect();
        if files.is_empty() {
            continue;
        }
        let mut environments: Vec<String> = Vec::new();
        for f in &files {
            if !environments.iter().any(|e| e.eq_ignore_ascii_case(&f.environment)) {
                environments.push(f.environment.clone());
            }
        }
        environments.sort_by_key(|e| (e.to_ascii_lowercase(), e.clone()));
        let mut references: Vec<ReferenceCoverage> = s
            .references
            .iter()
            .map(|r| {
                let cells = environments
                    .iter()
                    .map(|env| {
                        // The first file of the environment decides, as pipelines read one.
                        let cell = files
                            .iter()
                            .find(|f| f.environment.eq_ignore_ascii_case(env))
                            .and_then(|f| f.references.iter().find(|e| e.logical_name.eq_ignore_ascii_case(&r.logical_name)))
                            .map_or(Binding::Missing, |e| classify(e.connection_id.as_deref()));
                        (env.clone(), cell)
                    })
                    .collect();
                ReferenceCoverage {
                    reference: r.logical_name.clone(),
                    cells,
                }
            })
            .collect();
        references.sort_by_key(|r| (r.reference.to_ascii_lowercase(), r.reference.clone()));
        out.push(SolutionCoverage {
            solution: s.manifest.unique_name.clone(),
            environments,
            references,
        });
    }
    out.sort_by_key(|c| (c.solution.to_ascii_lowercase(), c.solution.clone()));
    out
}

/// Appends `s` padded with spaces to `width` characters. Not `format!("{s:<width$}")`: a
/// width from the input can pass the formatter's limit of 65,535 and panic.
fn pad(line: &mut String, s: &str, width: usize) {
    line.push_str(s);
    line.extend(std::iter::repeat_n(' ', width.saturating_sub(s.chars().count())));
}

/// A compact text table, one block per solution.
pub fn render(coverage: &[SolutionCoverage]) -> String {
    let mut out = String::from("settings coverage (bound, token, empty or missing in each environment):\n");
    for c in coverage {
        let first = c
            .references
            .iter()
            .map(|r| r.reference.chars().count() + 2)
            .chain([c.solution.chars().count()])
            .max()
            .unwrap_or(0);
        let widths: Vec<usize> = c.environments.iter().map(|e| e.chars().count().max(7)).collect();
        let mut line = String::new();
        pad(&mut line, &c.solution, first);
        for (e, w) in c.environments.iter().zip(&widths) {
            line.push_str("  ");
            pad(&mut line, e, *w);
        }
        out.push_str(line.trim_end());
        out.push('\n');
        for r in &c.references {
            let mut line = String::from("  ");
            pad(&mut line, &r.reference, first - 2);
            for (e, w) in c.environments.iter().zip(&widths) {
                let cell = r.cells.get(e).copied().unwrap_or(Binding::Missing);
                line.push_str("  ");
                pad(&mut line, cell.as_str(), *w);
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    out
}
