//! Who runs as whom: flows are assigned to the `[[identity]]` whose `flows` globs match them,
//! references to the identity whose `references` globs match them (by default: whose purpose
//! segment under the naming template is the identity's name). The rules, the reports and the
//! graph all read this one assignment.

use std::collections::HashMap;

use crate::config::{Config, Identity};
use crate::finding::{Loc, code_span};
use crate::model::{Binding, Caseless, Flow, Reference, Snapshot, Solution};
use crate::rules::list;

/// A flow and the identity it runs as (an index into `config.identity`).
#[derive(Debug, Clone)]
pub struct FlowInfo<'a> {
    pub solution: &'a Solution,
    pub flow: &'a Flow,
    pub identity: Option<usize>,
}

/// A reference by logical name: defined in some solution, or only bound by flows.
#[derive(Debug, Clone)]
pub struct RefInfo<'a> {
    pub logical_name: String,
    pub solution: Option<&'a Solution>,
    pub reference: Option<&'a Reference>,
    pub identity: Option<usize>,
    /// Flows bound to it (indexes into `Assignment::flows`), with the binding key's location.
    pub bindings: Vec<(usize, Loc)>,
}

impl RefInfo<'_> {
    /// The connector's api name, when the reference is defined.
    pub fn api_name(&self) -> Option<&str> {
        self.reference.and_then(Reference::api_name)
    }
}

/// Who runs as whom in one snapshot, and what in the config did not match.
#[derive(Debug, Clone)]
pub struct Assignment<'a> {
    pub identities: &'a [Identity],
    pub flows: Vec<FlowInfo<'a>>,
    pub references: Vec<RefInfo<'a>>,
    /// Config that is valid but useless or ambiguous here, for stderr.
    pub warnings: Vec<String>,
}

/// The identity a reference belongs to: the first whose `references` globs match, or whose
/// name is the purpose segment of the logical name.
pub fn reference_identity(config: &Config, logical_name: &str) -> Option<usize> {
    identities_of_reference(config, logical_name).into_iter().next()
}

fn identities_of_reference(config: &Config, logical_name: &str) -> Vec<usize> {
    // Matching the template tries every split of the name: only when an identity asks for it.
    let purpose = std::cell::OnceCell::new();
    let purpose = || *purpose.get_or_init(|| crate::naming_template::purpose_of(config.naming.template(), logical_name));
    config
        .identity
        .iter()
        .enumerate()
        .filter(|(_, id)| match &id.reference_set {
            Some(set) => set.is_match(logical_name),
            None => purpose().is_some_and(|p| p.eq_ignore_ascii_case(&id.name)),
        })
        .map(|(i, _)| i)
        .collect()
}

fn names(config: &Config, idx: &[usize]) -> String {
    let n: Vec<String> = idx.iter().map(|&i| code_span(&config.identity[i].name).to_string()).collect();
    list(&n)
}

pub fn assign<'a>(snapshot: &'a Snapshot, config: &'a Config) -> Assignment<'a> {
    let mut warnings = Vec::new();
    let mut flows = Vec::new();
    for (s, f) in snapshot.flows() {
        let matched: Vec<usize> = config
            .identity
            .iter()
            .enumerate()
            .filter(|(_, id)| id.matches_flow(&f.name, &f.path))
            .map(|(i, _)| i)
            .collect();
        if matched.len() > 1 {
            warnings.push(format!(
                "flow {} ({}) matches the identities {}; it counts as {}",
                code_span(&f.name),
                f.path,
                names(config, &matched),
                code_span(&config.identity[matched[0]].name)
            ));
        }
        flows.push(FlowInfo {
            solution: s,
            flow: f,
            identity: matched.first().copied(),
        });
    }

    let mut references: Vec<RefInfo<'a>> = Vec::new();
    let mut index: HashMap<Caseless<'a>, usize> = HashMap::new();
    for (s, r) in snapshot.references() {
        let key = Caseless(r.logical_name.as_str());
        if index.contains_key(&key) {
            continue;
        }
        index.insert(key, references.len());
        references.push(RefInfo {
            logical_name: r.logical_name.clone(),
            solution: Some(s),
            reference: Some(r),
            identity: None,
            bindings: Vec::new(),
        });
    }
    for (fi, info) in flows.iter().enumerate() {
        for e in &info.flow.entries {
            let Binding::Reference { logical_name, loc } = &e.binding else {
                continue;
            };
            let ri = *index.entry(Caseless(logical_name.as_str())).or_insert_with(|| {
                references.push(RefInfo {
                    logical_name: logical_name.clone(),
                    solution: None,
                    reference: None,
                    identity: None,
                    bindings: Vec::new(),
                });
                references.len() - 1
            });
            // Flows come in order, so a flow bound twice to one reference is its last binding:
            // no scan, which was quadratic when one reference serves every flow.
            if references[ri].bindings.last().is_none_or(|(f, _)| *f != fi) {
                references[ri].bindings.push((fi, loc.clone()));
            }
        }
    }
    for r in &mut references {
        let matched = identities_of_reference(config, &r.logical_name);
        if matched.len() > 1 {
            warnings.push(format!(
                "reference {} matches the identities {}; it counts as {}",
                code_span(&r.logical_name),
                names(config, &matched),
                code_span(&config.identity[matched[0]].name)
            ));
        }
        r.identity = matched.first().copied();
    }

    if !snapshot.solutions.is_empty() {
        for (i, id) in config.identity.iter().enumerate() {
            if !flows.iter().any(|f| f.identity == Some(i)) {
                warnings.push(format!(
                    "identity {} matches no flow (its `flows` globs: {})",
                    code_span(&id.name),
                    if id.flows.is_empty() {
                        "none".to_owned()
                    } else {
                        id.flows.join(", ")
                    }
                ));
            }
            if !references.iter().any(|r| r.identity == Some(i)) {
                let how = match &id.references {
                    Some(globs) => format!("its `references` globs: {}", globs.join(", ")),
                    None => format!(
                        "no logical name has the purpose {} under the template {}",
                        code_span(&id.name),
                        code_span(config.naming.template())
                    ),
                };
                warnings.push(format!("identity {} owns no reference ({how})", code_span(&id.name)));
            }
        }
    }
    Assignment {
        identities: &config.identity,
        flows,
        references,
        warnings,
    }
}

/// Where a flow as a whole is: its display name in its metadata, else its file.
pub fn flow_loc(_snapshot: &Snapshot, flow: &Flow) -> Loc {
    flow.meta
        .as_ref()
        .and_then(|m| m.name_loc.clone())
        .unwrap_or_else(|| Loc::file(&flow.path))
}
