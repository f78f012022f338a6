//! The files of the YAML layout (Dataverse Git integration, `pac solution clone`): YAML
//! transliterations of the XML files, where an attribute is an `'@name'` key, an element that
//! occurs once is a mapping rather than a one-item list, and numbers may or may not be quoted.

use super::ParseError;
use super::solution::{Manifest, normalize_guid};
use super::yaml::{self, Doc, NodeRef};
use crate::finding::Loc;
use crate::model::{BotLink, DependencySolution, FlowMeta, MissingReference, Reference};
use crate::text::SourceFile;

fn doc(file: &SourceFile) -> Result<Doc, ParseError> {
    yaml::parse(&file.text)
}

fn node_loc(file: &SourceFile, n: NodeRef<'_>) -> Loc {
    file.loc(n.start(), n.end() - n.start())
}

/// From the key to the end of its value: `'@connectionreferencelogicalname': x`.
fn entry_loc(file: &SourceFile, k: NodeRef<'_>, v: NodeRef<'_>) -> Loc {
    file.loc(k.start(), v.end().max(k.end()) - k.start())
}

/// The key's own span (`StateCode`), for a finding about the field as a whole.
fn key_loc(file: &SourceFile, k: NodeRef<'_>) -> Loc {
    file.loc(k.start(), k.end() - k.start())
}

/// The document's mapping, under `wrapper` when the file has it (`connectionreference:`).
fn body<'d>(d: &'d Doc, wrappers: &[&str]) -> Option<NodeRef<'d>> {
    let mut n = d.root()?;
    for w in wrappers {
        if let Some(inner) = n.get(w).filter(NodeRef::is_map) {
            n = inner;
        }
    }
    n.is_map().then_some(n)
}

fn wrong_shape(d: &Doc, what: &str) -> ParseError {
    let at = d.root().map_or(0, |r| r.start());
    let found = d.root().map_or("an empty file", |r| r.kind_name());
    ParseError::new(format!("expected {what}, found {found}"), at)
}

fn text_of(n: NodeRef<'_>, keys: &[&str]) -> Option<String> {
    n.get_any(keys)
        .and_then(|(_, v)| v.text())
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// `solutions/<Name>/solution.yml`, with the `missingdependencies.yml` beside it. `Ok(None)`
/// when the file is YAML but no solution manifest.
pub fn manifest(file: &SourceFile, missing: Option<&SourceFile>) -> Result<Option<Manifest>, ParseError> {
    let d = doc(file)?;
    let Some(m) = body(&d, &["ImportExportXml", "SolutionManifest"]) else {
        return Err(wrong_shape(&d, "the mapping `SolutionManifest:`"));
    };
    let Some((uk, uv)) = m
        .entry("UniqueName")
        .filter(|(_, v)| v.text().is_some_and(|t| !t.trim().is_empty()))
    else {
        return Err(ParseError::new("the solution manifest has no `UniqueName`", m.start()));
    };
    let publisher = m.get("Publisher");
    let prefix = publisher
        .and_then(|p| p.entry("CustomizationPrefix"))
        .filter(|(_, v)| v.text().is_some());
    let mut missing_references = Vec::new();
    missing_references.extend(missing_from(file, m)?);
    if let Some(f) = missing {
        let d = doc(f)?;
        if let Some(root) = d.root() {
            let scope = root.get("ImportExportXml").unwrap_or(root);
            let scope = scope.get("SolutionManifest").unwrap_or(scope);
            missing_references.extend(missing_from(f, scope)?);
        }
    }
    Ok(Some(Manifest {
        unique_name: uv.text().unwrap_or_default().trim().to_owned(),
        unique_name_loc: entry_loc(file, uk, uv),
        version: text_of(m, &["Version"]),
        managed: text_of(m, &["Managed"]),
        publisher: publisher.and_then(|p| text_of(p, &["UniqueName", "@UniqueName"])),
        prefix: prefix.and_then(|(_, v)| v.text()).map(|t| t.trim().to_owned()),
        prefix_loc: prefix.map(|(k, v)| entry_loc(file, k, v)),
        missing_references,
    }))
}

/// `MissingDependencies: MissingDependency: [...]` below `scope`.
fn missing_from(file: &SourceFile, scope: NodeRef<'_>) -> Result<Vec<MissingReference>, ParseError> {
    let mut out = Vec::new();
    let Some(deps) = scope.get("MissingDependencies") else {
        return Ok(out);
    };
    for dep in deps.get("MissingDependency").map(|d| d.items()).unwrap_or_default() {
        let Some(required) = dep.get("Required") else { continue };
        if text_of(required, &["@type", "type"]).as_deref() != Some("connectionreference") {
            continue;
        }
        let Some((k, v)) = required
            .get_any(&[
                "@id.connectionreferencelogicalname",
                "id.connectionreferencelogicalname",
                "@displayName",
                "displayName",
            ])
            .filter(|(_, v)| v.text().is_some())
        else {
            continue;
        };
        let dependent_flow = dep
            .get("Dependent")
            .filter(|d| text_of(*d, &["@type", "type"]).as_deref() == Some("29"))
            .and_then(|d| text_of(d, &["@id", "id"]))
            .map(|id| normalize_guid(&id));
        out.push(MissingReference {
            logical_name: v.text().unwrap_or_default().trim().to_owned(),
            loc: entry_loc(file, k, v),
            dependent_flow,
            solution: text_of(required, &["@solution", "solution"]).and_then(|t| DependencySolution::parse(&t)),
        });
    }
    Ok(out)
}

/// `solutioncomponents.yml`: the component paths of the solution, without the leading slash
/// and in lower case (`connectionreferences/contoso_billing_outlook`).
pub fn components(file: &SourceFile) -> Result<Vec<String>, ParseError> {
    let d = doc(file)?;
    let Some(root) = d.root() else { return Ok(Vec::new()) };
    let scope = root.get("SolutionComponents").unwrap_or(root);
    let list = scope
        .get_any(&["Component", "SolutionComponent", "RootComponent"])
        .map(|(_, v)| v)
        .unwrap_or(scope);
    let mut out = Vec::new();
    for item in list.items() {
        let path = if item.is_map() {
            text_of(item, &["@path", "Path", "path"])
        } else {
            item.text().map(str::to_owned)
        };
        let Some(path) = path else { continue };
        out.push(component_key(&path));
    }
    Ok(out)
}

/// A component path as solutioncomponents.yml lists it, compared without case or slashes.
pub fn component_key(path: &str) -> String {
    path.trim().trim_matches('/').to_ascii_lowercase()
}

/// `publishers/<Name>/publisher.yml`: the unique name and the CustomizationPrefix.
pub struct Publisher {
    pub unique_name: String,
    pub prefix: Option<(String, Loc)>,
}

pub fn publisher(file: &SourceFile) -> Result<Publisher, ParseError> {
    let d = doc(file)?;
    let Some(p) = body(&d, &["Publisher"]) else {
        return Err(wrong_shape(&d, "the mapping `Publisher:`"));
    };
    let folder = file.path.rsplit('/').nth(1).unwrap_or_default().to_owned();
    let prefix = p
        .get_any(&["CustomizationPrefix", "@CustomizationPrefix"])
        .filter(|(_, v)| v.text().is_some_and(|t| !t.trim().is_empty()));
    Ok(Publisher {
        unique_name: text_of(p, &["UniqueName", "@UniqueName"]).unwrap_or(folder),
        prefix: prefix.map(|(k, v)| (v.text().unwrap_or_default().trim().to_owned(), entry_loc(file, k, v))),
    })
}

/// `connectionreferences/<name>/connectionreference.yml`. The finding's place is the line of
/// `'@connectionreferencelogicalname'`.
pub fn reference(file: &SourceFile) -> Result<Reference, ParseError> {
    let d = doc(file)?;
    let Some(r) = body(&d, &["connectionreference"]) else {
        return Err(wrong_shape(&d, "the mapping `connectionreference:`"));
    };
    let Some((k, v)) = r
        .get_any(&["@connectionreferencelogicalname", "connectionreferencelogicalname"])
        .filter(|(_, v)| v.text().is_some_and(|t| !t.trim().is_empty()))
    else {
        return Err(ParseError::new(
            "a connection reference without `'@connectionreferencelogicalname'`",
            r.start(),
        ));
    };
    let connector = r.entry("connectorid").filter(|(_, v)| v.text().is_some());
    let custom = r.get("customconnectorid").and_then(|c| {
        if c.is_map() {
            text_of(c, &["connectorid", "@connectorid"])
        } else {
            c.text().map(|t| t.trim().to_owned())
        }
    });
    Ok(Reference {
        logical_name: v.text().unwrap_or_default().trim().to_owned(),
        loc: entry_loc(file, k, v),
        display_name: text_of(r, &["connectionreferencedisplayname"]),
        connector_id: connector.and_then(|(_, v)| v.text()).map(|t| t.trim().to_owned()),
        connector_loc: connector.map(|(k, v)| entry_loc(file, k, v)),
        custom_connector_id: custom.filter(|t| !t.is_empty()),
        description: text_of(r, &["description"]),
    })
}

/// `modernflows/<guid>/workflow.yml`: like `.json.data.xml`, plus the JSON file it names.
pub struct WorkflowYml {
    pub id: Option<String>,
    pub meta: FlowMeta,
    /// `JsonFileName` as written, with its place.
    pub json_file: Option<(String, Loc)>,
}

pub fn workflow(file: &SourceFile) -> Result<WorkflowYml, ParseError> {
    let d = doc(file)?;
    let Some(w) = body(&d, &["Workflow"]) else {
        return Err(wrong_shape(&d, "the mapping `Workflow:`"));
    };
    let name = w
        .get_any(&["@Name", "Name"])
        .filter(|(_, v)| v.text().is_some_and(|t| !t.is_empty()));
    let state = w.entry("StateCode").filter(|(_, v)| v.text().is_some());
    Ok(WorkflowYml {
        id: text_of(w, &["@WorkflowId", "WorkflowId"]).map(|g| normalize_guid(&g)),
        meta: FlowMeta {
            path: file.path.clone(),
            name: name.and_then(|(_, v)| v.text()).map(str::to_owned),
            name_loc: name.map(|(_, v)| node_loc(file, v)),
            category: text_of(w, &["Category"]),
            state: state.map(|(k, v)| (v.text().unwrap_or_default().trim().to_owned(), key_loc(file, k))),
            status: text_of(w, &["StatusCode"]),
        },
        json_file: w
            .entry("JsonFileName")
            .and_then(|(_, v)| v.text().map(|t| (t.trim().to_owned(), node_loc(file, v)))),
    })
}

/// A bot-to-reference link file of the YAML layout: every mapping that names a reference by
/// `connectionreferenceid.connectionreferencelogicalname`, at any depth.
pub fn bot_links(file: &SourceFile) -> Result<Vec<BotLink>, ParseError> {
    let d = doc(file)?;
    let mut out = Vec::new();
    let Some(root) = d.root() else { return Ok(out) };
    // A walk with a budget: aliases can make the tree a graph, even a cycle.
    let mut todo = vec![root];
    let mut budget = 100_000usize;
    while let Some(n) = todo.pop() {
        budget = budget.saturating_sub(1);
        if budget == 0 {
            break;
        }
        if let Some((k, v)) = n
            .get_any(&[
                "@connectionreferenceid.connectionreferencelogicalname",
                "connectionreferenceid.connectionreferencelogicalname",
            ])
            .filter(|(_, v)| v.text().is_some())
        {
            out.push(BotLink {
                component: text_of(n, &["@botcomponentid.schemaname", "botcomponentid.schemaname"]).unwrap_or_default(),
                logical_name: v.text().unwrap_or_default().trim().to_owned(),
                loc: entry_loc(file, k, v),
            });
            continue;
        }
        match &n.node().kind {
            yaml::Kind::Map(_) => todo.extend(n.entries().map(|(_, v)| v)),
            yaml::Kind::Seq(_) => todo.extend(n.items()),
            yaml::Kind::Scalar { .. } => {}
        }
    }
    out.sort_by_key(|l| l.loc.offset);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> SourceFile {
        SourceFile::new(path, text.to_owned())
    }

    #[test]
    fn reads_a_reference_and_points_at_its_logical_name() {
        let f = file(
            "connectionreferences/x/connectionreference.yml",
            "connectionreference:\n  '@connectionreferencelogicalname': bejones_CopilotAdminAPI\n  connectionreferencedisplayname: Copilot Admin API\n  connectorid: /providers/Microsoft.PowerApps/apis/shared_webcontentsv2\n  iscustomizable: 1\n",
        );
        let r = reference(&f).unwrap();
        assert_eq!(r.logical_name, "bejones_CopilotAdminAPI");
        assert_eq!((r.loc.line, r.loc.column), (2, 3));
        assert_eq!(r.api_name(), Some("shared_webcontentsv2"));
        assert_eq!(r.connector_loc.map(|l| l.line), Some(4));
    }

    #[test]
    fn reads_manifest_components_and_workflow() {
        let m = manifest(
            &file(
                "solutions/S/solution.yml",
                "ImportExportXml:\n  SolutionManifest:\n    UniqueName: S\n    Version: 1.0.0.0\n    Managed: 0\n    Publisher:\n      UniqueName: P\n",
            ),
            Some(&file(
                "solutions/S/missingdependencies.yml",
                "MissingDependencies:\n  MissingDependency:\n    Required:\n      '@type': connectionreference\n      '@id.connectionreferencelogicalname': x_other\n    Dependent:\n      '@type': 29\n      '@id': '{AB}'\n",
            )),
        )
        .unwrap()
        .unwrap();
        assert_eq!((m.unique_name.as_str(), m.publisher.as_deref()), ("S", Some("P")));
        assert_eq!(m.missing_references.len(), 1);
        assert_eq!(m.missing_references[0].dependent_flow.as_deref(), Some("ab"));
        let c = components(&file(
            "c.yml",
            "SolutionComponents:\n  Component:\n  - '@path': /connectionreferences/A_b\n  - Path: modernflows/x\n",
        ))
        .unwrap();
        assert_eq!(c, ["connectionreferences/a_b", "modernflows/x"]);
        let one = components(&file("c.yml", "SolutionComponents:\n  Component:\n    '@path': /publishers/P\n")).unwrap();
        assert_eq!(one, ["publishers/p"]);
        let w = workflow(&file(
            "modernflows/g/workflow.yml",
            "Workflow:\n  '@WorkflowId': '{55397225-786A-F111-A826-000D3A3BA81E}'\n  '@Name': Pay invoices\n  JsonFileName: /modernflows/g/P.json\n  Category: 5\n  StateCode: '0'\n",
        ))
        .unwrap();
        assert_eq!(w.id.as_deref(), Some("55397225-786a-f111-a826-000d3a3ba81e"));
        let (state, loc) = w.meta.state.unwrap();
        assert_eq!((state.as_str(), loc.line, loc.column), ("0", 6, 3));
        assert_eq!(w.meta.name_loc.map(|l| (l.line, l.column)), Some((3, 12)));
        assert_eq!(w.json_file.unwrap().0, "/modernflows/g/P.json");
    }
}
