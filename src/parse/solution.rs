//! `Other/Solution.xml`: the solution manifest.

use super::ParseError;
use super::xml::{self, Element};
use crate::finding::Loc;
pub use crate::model::Manifest;
use crate::model::{DependencySolution, MissingReference};
use crate::text::SourceFile;

fn el_loc(file: &SourceFile, el: &Element) -> Loc {
    file.loc(el.offset, el.tag_len)
}

/// `Ok(None)` when the file is well-formed XML but not a solution manifest (a decoy).
pub fn parse(file: &SourceFile) -> Result<Option<Manifest>, ParseError> {
    let root = xml::parse(&file.text)?;
    if root.name != "ImportExportXml" {
        return Ok(None);
    }
    let Some(manifest) = root.child("SolutionManifest") else {
        return Ok(None);
    };
    let unique = manifest
        .child("UniqueName")
        .filter(|u| !u.text.trim().is_empty())
        .ok_or_else(|| ParseError::new("the solution manifest has no <UniqueName>", manifest.offset))?;
    let publisher = manifest.child("Publisher");
    let prefix_el = publisher
        .and_then(|p| p.child("CustomizationPrefix"))
        .filter(|e| !e.text.trim().is_empty());
    let mut missing_references = Vec::new();
    for dep in manifest
        .child("MissingDependencies")
        .iter()
        .flat_map(|m| m.children_named("MissingDependency"))
    {
        let Some(required) = dep.child("Required") else { continue };
        if required.attr("type").map(|a| &*a.value) != Some("connectionreference") {
            continue;
        }
        let name_attr = required
            .attr("id.connectionreferencelogicalname")
            .or_else(|| required.attr("displayName"));
        let Some(name_attr) = name_attr else { continue };
        let dependent_flow = dep
            .child("Dependent")
            .filter(|d| d.attr("type").is_some_and(|t| t.value == "29"))
            .and_then(|d| d.attr("id"))
            .map(|id| normalize_guid(&id.value));
        missing_references.push(MissingReference {
            logical_name: name_attr.value.to_string(),
            loc: file.loc(name_attr.offset, name_attr.len),
            dependent_flow,
            solution: required.attr("solution").and_then(|a| DependencySolution::parse(&a.value)),
        });
    }
    Ok(Some(Manifest {
        unique_name: unique.text.trim().to_owned(),
        unique_name_loc: el_loc(file, unique),
        version: manifest.child_text("Version").map(str::to_owned),
        managed: manifest.child_text("Managed").map(str::to_owned),
        publisher: publisher.and_then(|p| p.child_text("UniqueName")).map(str::to_owned),
        prefix: prefix_el.map(|e| e.text.trim().to_owned()),
        prefix_loc: prefix_el.map(|e| el_loc(file, e)),
        missing_references,
    }))
}

/// Whether `s` is a GUID: `8-4-4-4-12` hex digits, in braces or not.
pub fn is_guid(s: &str) -> bool {
    let s = s.trim();
    let s = s.strip_prefix('{').and_then(|t| t.strip_suffix('}')).unwrap_or(s);
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        })
}

/// `{625AC674-…}` → `625ac674-…`.
pub fn normalize_guid(s: &str) -> String {
    s.trim().trim_start_matches('{').trim_end_matches('}').to_ascii_lowercase()
}
