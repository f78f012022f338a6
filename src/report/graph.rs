//! The graph of identities → references → flows (and the apps and bots around them), with the
//! connector on each reference and the findings marked, as Mermaid, Graphviz DOT or JSON.
//!
//! Node ids are generated (`i0`, `r3`, `f12`…) because logical names and flow names hold
//! characters that Mermaid and DOT would read as syntax; names only ever appear in labels.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use clap::ValueEnum;
use serde::Serialize;

use crate::finding::{Finding, Severity};
use crate::model::connector;
use crate::rules::Context;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Mermaid,
    Dot,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Identity,
    Reference,
    Flow,
    App,
    Bot,
}

#[derive(Debug, Clone, Serialize)]
pub struct Node {
    pub id: String,
    pub kind: Kind,
    /// The identity name, logical name, flow or app display name, or bot component.
    pub name: String,
    /// The connector's short name, on references.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connector: Option<String>,
    /// The repository-relative file, on flows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub findings: Vec<NodeFinding>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct NodeFinding {
    pub code: &'static str,
    pub severity: Severity,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// identity → its reference
    Owns,
    /// reference → flow or bot bound to it
    Binds,
    /// app → flow it calls
    Calls,
    /// identity → flow that runs as it but binds none of its references
    RunsAs,
}

#[derive(Debug, Clone, Serialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub kind: EdgeKind,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

impl Node {
    fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    fn codes(&self) -> String {
        let codes: BTreeSet<&str> = self.findings.iter().map(|f| f.code).collect();
        codes.into_iter().collect::<Vec<_>>().join(", ")
    }
}

/// The graph of one snapshot; with `only_references`, just those references (by logical name,
/// without case) and what hangs off them.
pub fn build(ctx: &Context<'_>, findings: &[Finding], only_references: Option<&[String]>) -> Graph {
    let (snapshot, config, a) = (ctx.snapshot, ctx.config, ctx.assignment());
    let aliases = config.naming.connector_aliases();
    let selected = |name: &str| only_references.is_none_or(|only| only.iter().any(|o| o.eq_ignore_ascii_case(name)));
    let refs: Vec<usize> = (0..a.references.len())
        .filter(|&i| selected(&a.references[i].logical_name))
        .collect();
    let flows: Vec<usize> = (0..a.flows.len())
        .filter(|&fi| only_references.is_none() || refs.iter().any(|&ri| a.references[ri].bindings.iter().any(|(f, _)| *f == fi)))
        .collect();
    let identities: Vec<usize> = (0..config.identity.len())
        .filter(|&i| {
            only_references.is_none()
                || refs.iter().any(|&r| a.references[r].identity == Some(i))
                || flows.iter().any(|&f| a.flows[f].identity == Some(i))
        })
        .collect();

    // Twin roots hold flows with one GUID: a finding marks the flow of the root it is in.
    let root_of = |path: &str| -> String {
        match path.rsplit_once("/Workflows/") {
            Some((root, _)) => root.to_owned(),
            None => String::new(),
        }
    };
    let marks = |reference: Option<&str>, flow: Option<(&str, &str)>| -> Vec<NodeFinding> {
        let flow_id = flow.map(|(id, _)| id);
        let mut v: Vec<NodeFinding> = findings
            .iter()
            .filter(|f| match (&f.flow_id, flow_id) {
                (Some(fid), Some(id)) => {
                    fid.eq_ignore_ascii_case(id) && flow.is_none_or(|(_, path)| crate::model::in_root(&root_of(path), &f.loc.path))
                }
                (Some(_), None) => false,
                (None, Some(_)) => false,
                (None, None) => match (&f.reference, reference) {
                    (Some(fr), Some(r)) => fr.eq_ignore_ascii_case(r),
                    _ => false,
                },
            })
            .map(|f| NodeFinding {
                code: f.code(),
                severity: f.severity,
            })
            .collect();
        v.sort();
        v.dedup();
        v
    };

    let mut g = Graph::default();
    for &i in &identities {
        g.nodes.push(Node {
            id: format!("i{i}"),
            kind: Kind::Identity,
            name: config.identity[i].name.clone(),
            connector: None,
            path: None,
            findings: Vec::new(),
        });
    }
    for &ri in &refs {
        let r = &a.references[ri];
        g.nodes.push(Node {
            id: format!("r{ri}"),
            kind: Kind::Reference,
            name: r.logical_name.clone(),
            connector: r.api_name().map(|api| connector::preferred(api, &aliases)),
            path: None,
            findings: marks(Some(&r.logical_name), None),
        });
        if let Some(i) = r.identity.filter(|i| identities.contains(i)) {
            g.edges.push(Edge {
                from: format!("i{i}"),
                to: format!("r{ri}"),
                kind: EdgeKind::Owns,
            });
        }
    }
    for &fi in &flows {
        let f = &a.flows[fi];
        g.nodes.push(Node {
            id: format!("f{fi}"),
            kind: Kind::Flow,
            name: f.flow.name.clone(),
            connector: None,
            path: Some(f.flow.path.to_string()),
            findings: marks(None, Some((&f.flow.id, &f.flow.path))),
        });
    }
    for &ri in &refs {
        for (fi, _) in &a.references[ri].bindings {
            g.edges.push(Edge {
                from: format!("r{ri}"),
                to: format!("f{fi}"),
                kind: EdgeKind::Binds,
            });
        }
    }
    for &fi in &flows {
        let Some(i) = a.flows[fi].identity else { continue };
        let bound_own = refs
            .iter()
            .any(|&ri| a.references[ri].identity == Some(i) && a.references[ri].bindings.iter().any(|(f, _)| *f == fi));
        if !bound_own {
            g.edges.push(Edge {
                from: format!("i{i}"),
                to: format!("f{fi}"),
                kind: EdgeKind::RunsAs,
            });
        }
    }
    let apps = snapshot.solutions.iter().flat_map(|s| &s.apps);
    for (ai, app) in apps.enumerate() {
        let called: Vec<usize> = flows
            .iter()
            .copied()
            .filter(|&fi| app.flows.iter().any(|id| id.eq_ignore_ascii_case(&a.flows[fi].flow.id)))
            .collect();
        if called.is_empty() {
            continue;
        }
        g.nodes.push(Node {
            id: format!("a{ai}"),
            kind: Kind::App,
            name: app.name.clone(),
            connector: None,
            path: Some(app.path.to_string()),
            findings: Vec::new(),
        });
        for fi in called {
            g.edges.push(Edge {
                from: format!("a{ai}"),
                to: format!("f{fi}"),
                kind: EdgeKind::Calls,
            });
        }
    }
    let bots = snapshot.solutions.iter().flat_map(|s| &s.bot_links);
    for (bi, link) in bots.enumerate() {
        let Some(&ri) = refs
            .iter()
            .find(|&&ri| a.references[ri].logical_name.eq_ignore_ascii_case(&link.logical_name))
        else {
            continue;
        };
        g.nodes.push(Node {
            id: format!("b{bi}"),
            kind: Kind::Bot,
            name: link.component.clone(),
            connector: None,
            path: None,
            findings: Vec::new(),
        });
        g.edges.push(Edge {
            from: format!("r{ri}"),
            to: format!("b{bi}"),
            kind: EdgeKind::Binds,
        });
    }
    g
}

/// Text for a quoted Mermaid label: entity codes for what Mermaid, Markdown or HTML would read.
fn mermaid_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '`' => out.push_str("#96;"),
            '*' => out.push_str("#42;"),
            '\r' | '\n' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn label_lines(n: &Node) -> Vec<String> {
    let mut lines = vec![n.name.clone()];
    if let Some(c) = &n.connector {
        lines.push(format!("connector: {c}"));
    }
    if !n.findings.is_empty() {
        lines.push(format!("⚠ {}", n.codes()));
    }
    lines
}

fn class(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

pub fn render_mermaid(g: &Graph) -> String {
    let mut out = String::from("flowchart LR\n");
    for n in &g.nodes {
        let label = label_lines(n).iter().map(|l| mermaid_text(l)).collect::<Vec<_>>().join("<br/>");
        let (open, close) = match n.kind {
            Kind::Identity => ("([", "])"),
            Kind::Reference => ("[", "]"),
            Kind::Flow => ("(", ")"),
            Kind::App => ("[/", "/]"),
            Kind::Bot => ("{{", "}}"),
        };
        let _ = writeln!(out, "  {}{open}\"{label}\"{close}", n.id);
    }
    for e in &g.edges {
        let arrow = match e.kind {
            EdgeKind::Owns | EdgeKind::Binds => "-->".to_owned(),
            EdgeKind::Calls => "-->|calls|".to_owned(),
            EdgeKind::RunsAs => "-.->|runs as|".to_owned(),
        };
        let _ = writeln!(out, "  {} {arrow} {}", e.from, e.to);
    }
    let marked: Vec<(&Node, Severity)> = g.nodes.iter().filter_map(|n| n.worst().map(|s| (n, s))).collect();
    if !marked.is_empty() {
        out.push_str("  classDef error fill:#ffebe9,stroke:#cf222e,color:#000\n");
        out.push_str("  classDef warning fill:#fff8c5,stroke:#9a6700,color:#000\n");
        out.push_str("  classDef info fill:#ddf4ff,stroke:#0969da,color:#000\n");
        for s in [Severity::Error, Severity::Warning, Severity::Info] {
            let ids: Vec<&str> = marked.iter().filter(|(_, w)| *w == s).map(|(n, _)| n.id.as_str()).collect();
            if !ids.is_empty() {
                let _ = writeln!(out, "  class {} {}", ids.join(","), class(s));
            }
        }
    }
    out
}

fn dot_text(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace(['\r', '\n'], " ")
}

pub fn render_dot(g: &Graph) -> String {
    let mut out = String::from("digraph connref {\n  rankdir=LR;\n  node [shape=box];\n");
    for n in &g.nodes {
        let label = label_lines(n).iter().map(|l| dot_text(l)).collect::<Vec<_>>().join("\\n");
        let shape = match n.kind {
            Kind::Identity => "ellipse",
            Kind::Reference => "box",
            Kind::Flow => "box, style=rounded",
            Kind::App => "parallelogram",
            Kind::Bot => "hexagon",
        };
        let color = match n.worst() {
            Some(Severity::Error) => ", color=\"#cf222e\", fontcolor=\"#cf222e\"",
            Some(Severity::Warning) => ", color=\"#9a6700\", fontcolor=\"#9a6700\"",
            Some(Severity::Info) => ", color=\"#0969da\"",
            None => "",
        };
        let _ = writeln!(out, "  {} [label=\"{label}\", shape={shape}{color}];", n.id);
    }
    for e in &g.edges {
        let attrs = match e.kind {
            EdgeKind::Owns | EdgeKind::Binds => "",
            EdgeKind::Calls => " [label=\"calls\"]",
            EdgeKind::RunsAs => " [label=\"runs as\", style=dashed]",
        };
        let _ = writeln!(out, "  {} -> {}{attrs};", e.from, e.to);
    }
    out.push_str("}\n");
    out
}

pub fn render_json(g: &Graph) -> String {
    // Plain structs of strings cannot fail to serialize.
    let mut s = serde_json::to_string_pretty(g).unwrap_or_default();
    s.push('\n');
    s
}

pub fn render(g: &Graph, format: GraphFormat) -> String {
    match format {
        GraphFormat::Mermaid => render_mermaid(g),
        GraphFormat::Dot => render_dot(g),
        GraphFormat::Json => render_json(g),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped() {
        assert_eq!(
            mermaid_text("a \"b\" <i>&#1 `c` *d*"),
            "a #quot;b#quot; #lt;i#gt;#amp;#35;1 #96;c#96; #42;d#42;"
        );
        assert_eq!(dot_text("a\"b\\c"), "a\\\"b\\\\c");
    }
}
