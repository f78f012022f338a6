//! Stability across revisions (CR301–CR307) and the change set behind `connref diff`: a pure
//! function of the base snapshot, the head snapshot and the config.
//!
//! Solutions are matched by UniqueName wherever their root folder is, flows by workflow id,
//! references by logical name (ignoring case, as Dataverse does). A flow's entry key is an alias
//! and never an identity, so bindings are compared per connector, not per key.

use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::config::Config;
use crate::finding::{Finding, Loc, Severity, code_span};
use crate::model::settings::SettingsFile;
use crate::model::{Binding, Caseless, Flow, Reference, Snapshot, Solution, connector};
use crate::rules::list;
use crate::rules::registry;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Changes {
    pub references: ReferenceChanges,
    pub flows: FlowChanges,
    pub settings: Vec<SettingsChange>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self == &Changes::default()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReferenceChanges {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub recreated: Vec<FromTo>,
    pub connector_changed: Vec<Changed>,
    pub display_name_changed: Vec<Changed>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FlowChanges {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub recreated: Vec<Recreated>,
    pub moved: Vec<Moved>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FromTo {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changed {
    pub reference: String,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recreated {
    pub flow: String,
    pub from_id: String,
    pub to_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moved {
    pub flow: String,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingsChange {
    pub environment: String,
    pub reference: String,
    /// `added`, `removed`, `connection_changed`, `bound` or `unbound`.
    pub change: &'static str,
}

/// The change set and the findings it raises.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    pub changes: Changes,
    pub findings: Vec<Finding>,
}

/// Only the findings (for `check --base`); config severities are applied by the caller.
pub fn check(base: &Snapshot, head: &Snapshot, config: &Config) -> Vec<Finding> {
    analyze(base, head, config).findings
}

/// `abc1234` for a commit id, the label itself for `worktree`/`index`.
pub fn short(label: &str) -> &str {
    if label.len() >= 40 && label.bytes().all(|b| b.is_ascii_hexdigit()) {
        &label[..7]
    } else {
        label
    }
}

/// A location read at the base: the report has no text of the base file, so the snippet is
/// dropped (it would show the head's text) while path, line and column stay.
fn based(loc: &Loc) -> Loc {
    Loc {
        offset: 0,
        len: 0,
        ..loc.clone()
    }
}

fn quote(names: &[String]) -> String {
    list(&names.iter().map(|n| format!("{n}", n = code_span(n))).collect::<Vec<_>>())
}

/// Flows of a solution bound to each reference (key: lower-case logical name).
fn users(s: &Solution) -> BTreeMap<String, Vec<&Flow>> {
    let mut m: BTreeMap<String, Vec<&Flow>> = BTreeMap::new();
    for f in &s.flows {
        let mut seen = BTreeSet::new();
        for ln in f.bound_references() {
            let k = ln.to_ascii_lowercase();
            if seen.insert(k.clone()) {
                m.entry(k).or_default().push(f);
            }
        }
    }
    m
}

/// Whether two versions of a flow bind the same references through the same entries: then
/// nothing moved, and the per-connector comparison (most of the cost on 2,000 flows) is skipped.
fn same_bindings(a: &Flow, b: &Flow) -> bool {
    fn name(e: &crate::model::FlowEntry) -> Option<&str> {
        match &e.binding {
            Binding::Reference { logical_name, .. } => Some(logical_name.as_str()),
            _ => None,
        }
    }
    a.entries.len() == b.entries.len()
        && a.entries
            .iter()
            .zip(&b.entries)
            .all(|(x, y)| name(x) == name(y) && x.api_name.as_ref().map(|(n, _)| n) == y.api_name.as_ref().map(|(n, _)| n))
}

/// A flow's bindings by connector identity: `{connector: {lower-case name: (name, loc)}}`.
fn bindings<'a>(f: &'a Flow, s: &Index<'a>) -> BTreeMap<String, BTreeMap<String, (&'a str, &'a Loc)>> {
    let mut m: BTreeMap<String, BTreeMap<String, (&str, &Loc)>> = BTreeMap::new();
    for e in &f.entries {
        if let Binding::Reference { logical_name, loc } = &e.binding {
            let api = e
                .api_name
                .as_ref()
                .map(|(a, _)| a.as_str())
                .or_else(|| s.reference(logical_name).and_then(Reference::api_name))
                .unwrap_or("?");
            m.entry(connector::identity(api))
                .or_default()
                .entry(logical_name.to_ascii_lowercase())
                .or_insert((logical_name.as_str(), loc));
        }
    }
    m
}

fn pair<'a>(b: &Solution, head: &'a Snapshot, taken: &BTreeSet<usize>) -> Option<(usize, &'a Solution)> {
    let same = |h: &&Solution| h.manifest.unique_name.eq_ignore_ascii_case(&b.manifest.unique_name);
    let free = |(i, h): &(usize, &'a Solution)| !taken.contains(i) && same(h);
    let mut all = head.solutions.iter().enumerate();
    let by_root = head.solutions.iter().enumerate().find(|(i, h)| free(&(*i, *h)) && h.root == b.root);
    by_root.or_else(|| all.find(|(i, h)| free(&(*i, *h))))
}

pub fn analyze(base: &Snapshot, head: &Snapshot, config: &Config) -> Analysis {
    let at = short(&base.label);
    let note = format!("(this location is at the base {at})");
    let mut a = Analysis::default();
    let mut moves: Vec<Finding> = Vec::new();
    let mut taken = BTreeSet::new();
    for b in &base.solutions {
        let Some((hi, h)) = pair(b, head, &taken) else {
            let flows = b.flows.len();
            let refs = b.references.len();
            a.changes
                .references
                .removed
                .extend(b.references.iter().map(|r| r.logical_name.clone()));
            a.changes.flows.removed.extend(b.flows.iter().map(|f| f.name.clone()));
            let root = if b.root.is_empty() {
                "the repository root".to_owned()
            } else {
                format!("`{}/`", b.root)
            };
            a.findings.push(
                Finding::new(
                    &registry::CR307,
                    based(&b.manifest.unique_name_loc),
                    format!(
                        "solution {} is gone from the source: at the base it was at {root} with {} and {} {note}",
                        code_span(&b.manifest.unique_name),
                        crate::report::plural(refs, "reference", "references"),
                        crate::report::plural(flows, "flow", "flows"),
                    ),
                )
                .help("if the solution moved, check that its new root is found (`connref check` on it lists the solution); if it was removed on purpose, its references and flows leave every environment with it")
                .solution(&b.manifest.unique_name),
            );
            continue;
        };
        taken.insert(hi);
        compare(b, h, &note, &mut a, &mut moves);
    }
    // Solutions new at the head (or back after an absence) are no event, only additions.
    for (i, h) in head.solutions.iter().enumerate() {
        if !taken.contains(&i) {
            a.changes
                .references
                .added
                .extend(h.references.iter().map(|r| r.logical_name.clone()));
            a.changes.flows.added.extend(h.flows.iter().map(|f| f.name.clone()));
        }
    }
    let max = config.stability.max_rebinds;
    let n = moves.len();
    for m in moves {
        a.findings.push(if n > max {
            let msg = format!(
                "{} ({n} flows moved to other references in this change, more than `stability.max_rebinds` = {max})",
                m.message
            );
            Finding { message: msg, ..m }.severity(Severity::Warning)
        } else {
            m.severity(Severity::Info)
        });
    }
    a.changes.settings = settings(&base.settings, &head.settings);
    a.findings.sort_by(|x, y| x.sort_key().cmp(&y.sort_key()));
    a
}

/// Flows by workflow id and references by logical name, without case: the lookups run once
/// per flow and reference, and a linear search would make 2,000 flows quadratic.
struct Index<'a> {
    flows: HashMap<Caseless<'a>, &'a Flow>,
    refs: HashMap<Caseless<'a>, &'a Reference>,
}

impl<'a> Index<'a> {
    fn of(s: &'a Solution) -> Self {
        Index {
            flows: s.flows.iter().map(|f| (Caseless(f.id.as_str()), &**f)).collect(),
            refs: s.references.iter().map(|r| (Caseless(r.logical_name.as_str()), r)).collect(),
        }
    }

    fn flow(&self, id: &str) -> Option<&'a Flow> {
        self.flows.get(&Caseless(id)).copied()
    }

    fn reference(&self, name: &str) -> Option<&'a Reference> {
        self.refs.get(&Caseless(name)).copied()
    }
}

fn compare(b: &Solution, h: &Solution, note: &str, a: &mut Analysis, moves: &mut Vec<Finding>) {
    let sol = b.manifest.unique_name.as_str();
    let (bi, hi) = (Index::of(b), Index::of(h));
    // Who uses a reference matters only for one that is gone: mostly none is.
    let (base_users, head_users) = (OnceCell::new(), OnceCell::new());
    let base_users = || base_users.get_or_init(|| users(b));
    let head_users = || head_users.get_or_init(|| users(h));
    let added: Vec<&Reference> = h.references.iter().filter(|r| bi.reference(&r.logical_name).is_none()).collect();
    let mut claimed: BTreeSet<String> = BTreeSet::new();
    let mut recreated: BTreeSet<(String, String)> = BTreeSet::new();
    for r in &b.references {
        let key = r.logical_name.to_ascii_lowercase();
        if let Some(hr) = hi.reference(&r.logical_name) {
            if let (Some(x), Some(y)) = (r.api_name(), hr.api_name())
                && !connector::same(x, y)
            {
                a.changes.references.connector_changed.push(Changed {
                    reference: hr.logical_name.clone(),
                    from: x.to_owned(),
                    to: y.to_owned(),
                });
                a.findings.push(
                    Finding::new(
                        &registry::CR303,
                        hr.connector_loc.clone().unwrap_or_else(|| hr.loc.clone()),
                        format!(
                            "the connector of reference {} changed from {x} to {y}",
                            code_span(&hr.logical_name),
                            x = code_span(x),
                            y = code_span(y)
                        ),
                    )
                    .help(format!(
                        "restore the connector {x} on {} and add a new reference for {y}",
                        code_span(&hr.logical_name),
                        x = code_span(x),
                        y = code_span(y)
                    ))
                    .solution(sol)
                    .reference(&hr.logical_name),
                );
            }
            if r.display_name != hr.display_name {
                a.changes.references.display_name_changed.push(Changed {
                    reference: hr.logical_name.clone(),
                    from: r.display_name.clone().unwrap_or_default(),
                    to: hr.display_name.clone().unwrap_or_default(),
                });
            }
            continue;
        }
        let old_flows: BTreeSet<&str> = base_users()
            .get(&key)
            .map(|v| v.iter().map(|f| f.id.as_str()).collect())
            .unwrap_or_default();
        let successor = added.iter().find(|n| {
            let nk = n.logical_name.to_ascii_lowercase();
            if claimed.contains(&nk) {
                return false;
            }
            let same_connector = match (r.api_name(), n.api_name()) {
                (Some(x), Some(y)) => connector::same(x, y),
                _ => false,
            };
            let same_display = matches!((&r.display_name, &n.display_name), (Some(x), Some(y)) if x.trim().eq_ignore_ascii_case(y.trim()));
            let moved_flows = head_users()
                .get(&nk)
                .is_some_and(|v| v.iter().any(|f| old_flows.contains(f.id.as_str())));
            same_connector && (same_display || moved_flows)
        });
        if let Some(n) = successor {
            claimed.insert(n.logical_name.to_ascii_lowercase());
            recreated.insert((key.clone(), n.logical_name.to_ascii_lowercase()));
            a.changes.references.recreated.push(FromTo {
                from: r.logical_name.clone(),
                to: n.logical_name.clone(),
            });
            a.findings.push(
                Finding::new(
                    &registry::CR302,
                    n.loc.clone(),
                    format!(
                        "{} was re-created as {}: keep {} and change its display name instead",
                        code_span(&r.logical_name), code_span(&n.logical_name), code_span(&r.logical_name)),
                )
                .help(format!(
                    "restore the reference's definition {}, bind its flows back to it and delete {}: flows in every environment are bound to the old name",
                    code_span(&r.logical_name), code_span(&n.logical_name)))
                .solution(sol)
                .reference(&n.logical_name),
            );
            continue;
        }
        a.changes.references.removed.push(r.logical_name.clone());
        let names: Vec<String> = base_users()
            .get(&key)
            .map(|v| v.iter().map(|f| f.name.clone()).collect())
            .unwrap_or_default();
        let used = if names.is_empty() {
            "no flow of the solution used it at the base, but flows and apps in target environments may".to_owned()
        } else {
            format!("at the base it was used by {}", quote(&names))
        };
        // An added reference of the same connector looks like its replacement, without being
        // a re-creation (CR302 needs the display name or the flows to follow it).
        let replacement = added
            .iter()
            .find(|n| {
                !claimed.contains(&n.logical_name.to_ascii_lowercase())
                    && matches!((r.api_name(), n.api_name()), (Some(x), Some(y)) if connector::same(x, y))
            })
            .map(|n| {
                format!(
                    "; if {} replaces it, every flow and settings file bound to the old name breaks",
                    code_span(&n.logical_name)
                )
            })
            .unwrap_or_default();
        a.findings.push(
            Finding::new(
                &registry::CR301,
                based(&r.loc),
                format!("reference {} is gone: {used}{replacement} {note}", code_span(&r.logical_name)),
            )
            .help(format!(
                "restore the reference's definition {}: a shipped reference must stay (change its display name if it is no longer wanted)",
                code_span(&r.logical_name)
            ))
            .solution(sol)
            .reference(&r.logical_name),
        );
    }
    for n in &added {
        if !claimed.contains(&n.logical_name.to_ascii_lowercase()) {
            a.changes.references.added.push(n.logical_name.clone());
        }
    }

    let mut successors: BTreeSet<&str> = BTreeSet::new();
    for bf in &b.flows {
        let Some(hf) = hi.flow(&bf.id) else {
            let new = h
                .flows
                .iter()
                .find(|f| f.name.eq_ignore_ascii_case(&bf.name) && bi.flow(&f.id).is_none() && !successors.contains(f.id.as_str()));
            if let Some(nf) = new {
                successors.insert(&nf.id);
                a.changes.flows.recreated.push(Recreated {
                    flow: nf.name.clone(),
                    from_id: bf.id.clone(),
                    to_id: nf.id.clone(),
                });
                a.findings.push(
                    Finding::new(
                        &registry::CR304,
                        Loc::file(&nf.path),
                        format!(
                            "flow {} was re-created: its workflow id changed from {} to {}, which breaks its run history, child-flow calls and app links",
                            code_span(&nf.name), bf.id, nf.id
                        ),
                    )
                    .help(format!("restore the flow file {} and change the flow in place", code_span(&bf.path)))
                    .solution(sol)
                    .flow(&nf.name, &nf.id),
                );
            } else {
                a.changes.flows.removed.push(bf.name.clone());
                a.findings.push(
                    Finding::new(
                        &registry::CR306,
                        based(&Loc::file(&bf.path)),
                        format!("flow {} was removed {note}", code_span(&bf.name)),
                    )
                    .help("make sure removing it is intended: the next managed import deletes it from every environment")
                    .solution(sol)
                    .flow(&bf.name, &bf.id),
                );
            }
            continue;
        };
        if same_bindings(bf, hf) {
            continue;
        }
        let old = bindings(bf, &bi);
        let new = bindings(hf, &hi);
        for (conn, was) in &old {
            let Some(now) = new.get(conn) else { continue };
            let gone: Vec<&(&str, &Loc)> = was.iter().filter(|(k, _)| !now.contains_key(*k)).map(|(_, v)| v).collect();
            let came: Vec<&(&str, &Loc)> = now.iter().filter(|(k, _)| !was.contains_key(*k)).map(|(_, v)| v).collect();
            for (from, _) in &gone {
                for (to, loc) in &came {
                    a.changes.flows.moved.push(Moved {
                        flow: hf.name.clone(),
                        from: (*from).to_owned(),
                        to: (*to).to_owned(),
                    });
                    if recreated.contains(&(from.to_ascii_lowercase(), to.to_ascii_lowercase())) {
                        continue; // CR302 already says it.
                    }
                    moves.push(
                        Finding::new(
                            &registry::CR305,
                            (*loc).clone(),
                            format!("flow {} moved from reference {from} to {to}", code_span(&hf.name), from = code_span(from), to = code_span(to)),
                        )
                        .help("check that the new reference's connection has the rights the flow needs in every environment; move flows one at a time")
                        .solution(sol)
                        .reference(to)
                        .flow(&hf.name, &hf.id),
                    );
                }
            }
        }
    }
    for hf in &h.flows {
        if bi.flow(&hf.id).is_none() && !successors.contains(hf.id.as_str()) {
            a.changes.flows.added.push(hf.name.clone());
        }
    }
}

/// Settings entries per environment: added, removed, ConnectionId changed, bound or unbound.
pub fn settings(base: &[SettingsFile], head: &[SettingsFile]) -> Vec<SettingsChange> {
    type Entries = BTreeMap<String, (String, Option<String>)>;
    fn by_env(files: &[SettingsFile]) -> BTreeMap<String, (String, Entries)> {
        let mut m: BTreeMap<String, (String, Entries)> = BTreeMap::new();
        for f in files {
            let e = m
                .entry(f.environment.to_ascii_lowercase())
                .or_insert_with(|| (f.environment.clone(), Entries::new()));
            for r in &f.references {
                let id = r.connection_id.clone().filter(|c| !c.trim().is_empty());
                e.1.insert(r.logical_name.to_ascii_lowercase(), (r.logical_name.clone(), id));
            }
        }
        m
    }
    let (old, new) = (by_env(base), by_env(head));
    let mut out = Vec::new();
    let envs: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let empty = Entries::new();
    for env in envs {
        let (name, was) = old.get(env).map_or((None, &empty), |(n, e)| (Some(n), e));
        let (name2, now) = new.get(env).map_or((None, &empty), |(n, e)| (Some(n), e));
        let environment = name2.or(name).cloned().unwrap_or_default();
        let keys: BTreeSet<&String> = was.keys().chain(now.keys()).collect();
        for k in keys {
            let change = match (was.get(k), now.get(k)) {
                (None, Some(_)) => "added",
                (Some(_), None) => "removed",
                (Some((_, None)), Some((_, Some(_)))) => "bound",
                (Some((_, Some(_))), Some((_, None))) => "unbound",
                (Some((_, Some(x))), Some((_, Some(y)))) if x != y => "connection_changed",
                _ => continue,
            };
            let reference = now.get(k).or(was.get(k)).map(|(n, _)| n.clone()).unwrap_or_default();
            out.push(SettingsChange {
                environment: environment.clone(),
                reference,
                change,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::settings::SettingsReference;

    fn file(env: &str, refs: &[(&str, Option<&str>)]) -> SettingsFile {
        SettingsFile {
            environment: env.into(),
            references: refs
                .iter()
                .map(|(n, c)| SettingsReference {
                    logical_name: (*n).into(),
                    loc: Loc::file("x"),
                    connection_id: c.map(str::to_owned),
                    connection_id_loc: None,
                    connector_id: None,
                    connector_id_loc: None,
                })
                .collect(),
            ..SettingsFile::new(format!("config/{env}/deploymentSettings.json").into(), Loc::file("x"))
        }
    }

    #[test]
    fn settings_changes_per_environment() {
        let base = [
            file("Prod", &[("a", Some("c1")), ("b", Some("c2")), ("c", None), ("d", Some("c4"))]),
            file("Test", &[("a", Some(""))]),
        ];
        let head = [
            file(
                "Prod",
                &[
                    ("a", Some("c1")),
                    ("b", Some("c9")),
                    ("c", Some("c3")),
                    ("d", Some(" ")),
                    ("e", None),
                ],
            ),
            file("Test", &[]),
        ];
        let got: Vec<(String, String, &str)> = settings(&base, &head)
            .into_iter()
            .map(|c| (c.environment, c.reference, c.change))
            .collect();
        let want = [
            ("Prod", "b", "connection_changed"),
            ("Prod", "c", "bound"),
            ("Prod", "d", "unbound"),
            ("Prod", "e", "added"),
            ("Test", "a", "removed"),
        ];
        let want: Vec<(String, String, &str)> = want.iter().map(|(e, r, c)| ((*e).into(), (*r).into(), *c)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn short_labels() {
        assert_eq!(short("0123456789012345678901234567890123456789"), "0123456");
        assert_eq!(short("worktree"), "worktree");
    }
}
