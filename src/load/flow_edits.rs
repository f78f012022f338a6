//! Comparing two trees that differ only in some flows' files: each such flow is read from the
//! other tree and swapped in, instead of reading the other tree whole. `history` compares most
//! commits this way; `check --base` reads its base this way when it can.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use crate::model::{Caseless, Flow, Snapshot};

/// A flow by its solution and its place in it.
pub type FlowAt = (usize, usize);

/// A flow that belongs to more than one solution.
const SHARED: FlowAt = (usize::MAX, usize::MAX);

/// Each flow by its JSON and by its metadata file, when that file is the flow's own.
pub fn flow_index(s: &Snapshot) -> HashMap<Arc<str>, FlowAt> {
    flow_index_of(s, |_| true)
}

/// [`flow_index`] of the paths `wanted` keeps: a comparison that looks up a few changed files
/// once need not hash the paths of thousands of flows (that took 1 to 2.7 ms on 2,000).
pub fn flow_index_of(s: &Snapshot, wanted: impl Fn(&str) -> bool) -> HashMap<Arc<str>, FlowAt> {
    // Keyed by the snapshot's own paths: thousands of flows, and no string copied.
    let mut m = HashMap::new();
    for (si, sol) in s.solutions.iter().enumerate() {
        for (fi, f) in sol.flows.iter().enumerate() {
            let meta = f.meta.as_ref().filter(|meta| meta.path != sol.references_loc.path);
            for path in std::iter::once(&f.path).chain(meta.map(|m| &m.path)).filter(|p| wanted(p)) {
                // A flow that several solutions of one root list is updated through the full path.
                let at = match m.get(&**path) {
                    Some(&(s, _)) if s != si => SHARED,
                    _ => (si, fi),
                };
                m.insert(Arc::clone(path), at);
            }
        }
    }
    m
}

/// The flows `relevant` (the changed solution files) belong to, as `read` reads them from the
/// other tree (`read(json, metadata file)`), when every one of those files is a flow's JSON or
/// its own metadata file and each flow belongs to one solution: only those flows differ
/// between the trees. `None`: the other tree has to be read whole.
pub fn edited_flows(
    relevant: &[&String],
    prev: &Snapshot,
    flows: &HashMap<Arc<str>, FlowAt>,
    read: impl Fn(&str, Option<&str>) -> Option<Arc<Flow>>,
) -> Option<Vec<(FlowAt, Arc<Flow>)>> {
    // Each changed path is a flow's JSON or its metadata file (whatever the layout calls it).
    let mut touched: BTreeSet<FlowAt> = BTreeSet::new();
    for p in relevant {
        let at = *flows.get(p.as_str()).filter(|at| **at != SHARED)?;
        touched.insert(at);
    }
    let mut updates = Vec::new();
    for at in touched {
        let solution = &prev.solutions[at.0];
        let old = &solution.flows[at.1];
        let meta = old.meta.as_ref().map(|m| &*m.path);
        // A flow whose metadata lives in a shared file (a zip's customizations.xml) is not one
        // flow's business: take the full path.
        if meta == Some(&*solution.references_loc.path) {
            return None;
        }
        let flow = read(&old.path, meta)?;
        if flow.meta.is_none() != old.meta.is_none() {
            return None;
        }
        updates.push((at, flow));
    }
    Some(updates)
}

/// `prev` with `updates` swapped in, labelled `label`: the other tree, whole.
pub fn with_flows(prev: &Snapshot, updates: Vec<(FlowAt, Arc<Flow>)>, label: String) -> Snapshot {
    let mut s = prev.clone();
    s.label = label;
    for ((si, fi), f) in updates {
        s.solutions[si].flows[fi] = f;
    }
    s
}

/// Two snapshots holding only the solutions and flows that `updates` touch, before and after.
pub fn partial(prev: &Snapshot, updates: &[(FlowAt, Arc<Flow>)]) -> (Snapshot, Snapshot) {
    let mut base = Snapshot {
        label: prev.label.clone(),
        ..Snapshot::default()
    };
    let mut head = Snapshot::default();
    let mut index: HashMap<usize, usize> = HashMap::new();
    for ((si, fi), f) in updates {
        let k = *index.entry(*si).or_insert_with(|| {
            // References the touched flows bind, before or after: no other can change here.
            let bound: HashSet<Caseless<'_>> = updates
                .iter()
                .filter(|((s, _), _)| s == si)
                .flat_map(|((s, i), new)| prev.solutions[*s].flows[*i].bound_references().chain(new.bound_references()))
                .map(Caseless)
                .collect();
            let shell = prev.solutions[*si].shell(|r| bound.contains(&Caseless(&r.logical_name)));
            base.solutions.push(shell.clone());
            head.solutions.push(shell);
            base.solutions.len() - 1
        });
        base.solutions[k].flows.push(prev.solutions[*si].flows[*fi].clone());
        head.solutions[k].flows.push(f.clone());
    }
    (base, head)
}
