//! `Other/Customizations.xml`: the connection references a solution defines.

use super::ParseError;
use super::xml::{self, Element};
use crate::finding::Loc;
use crate::model::{FlowMeta, Reference};
use crate::text::SourceFile;

pub struct Customizations {
    pub references: Vec<Reference>,
    /// The `<connectionreferences>` element, else the root element.
    pub references_loc: Loc,
    /// Cloud flows' metadata kept inline, as in a solution zip (SolutionPackager moves it to
    /// `.json.data.xml` files): `JsonFileName`, the workflow id and the metadata.
    pub workflows: Vec<(String, Option<String>, FlowMeta)>,
}

pub fn parse(file: &SourceFile) -> Result<Customizations, ParseError> {
    let root = xml::parse(&file.text)?;
    if root.name != "ImportExportXml" {
        return Err(ParseError::new(
            format!("expected the root element <ImportExportXml>, found <{}>", root.name),
            root.offset,
        ));
    }
    let container = root.child_ci("connectionreferences");
    let anchor = container.unwrap_or(&root);
    let mut references = Vec::new();
    for el in container
        .iter()
        .flat_map(|c| c.children.iter())
        .filter(|c| c.name.eq_ignore_ascii_case("connectionreference"))
    {
        references.push(reference(file, el)?);
    }
    let mut workflows = Vec::new();
    for w in root
        .child_ci("Workflows")
        .iter()
        .flat_map(|c| c.children.iter())
        .filter(|c| c.name == "Workflow")
    {
        let Some(json) = w.child_text("JsonFileName").filter(|j| !j.is_empty()) else {
            continue;
        };
        let name = w.attr("Name").filter(|a| !a.value.is_empty());
        workflows.push((
            json.to_owned(),
            w.attr("WorkflowId").map(|a| super::solution::normalize_guid(&a.value)),
            FlowMeta {
                path: file.path.clone(),
                name: name.map(|a| a.value.to_string()),
                name_loc: name.map(|a| file.loc(a.offset, a.len)),
                category: w.child_text("Category").map(str::to_owned),
                state: w
                    .child("StateCode")
                    .map(|c| (c.text.trim().to_owned(), file.loc(c.offset, c.tag_len))),
                status: w.child_text("StatusCode").map(str::to_owned),
            },
        ));
    }
    Ok(Customizations {
        references,
        references_loc: file.loc(anchor.offset, anchor.tag_len),
        workflows,
    })
}

fn reference(file: &SourceFile, el: &Element) -> Result<Reference, ParseError> {
    // Exports put the logical name in an attribute; hand-made files in a child element.
    let (logical_name, loc) = if let Some(a) = el.attr("connectionreferencelogicalname").filter(|a| !a.value.trim().is_empty()) {
        (a.value.trim().to_owned(), file.loc(a.offset, a.len))
    } else if let Some(c) = el.child_ci("connectionreferencelogicalname").filter(|c| !c.text.trim().is_empty()) {
        (c.text.trim().to_owned(), file.loc(c.offset, c.tag_len))
    } else {
        return Err(ParseError::new("a <connectionreference> without a logical name", el.offset));
    };
    let text = |name: &str| el.child_ci(name).map(|c| c.text.trim().to_owned()).filter(|t| !t.is_empty());
    let connector = el.child_ci("connectorid");
    Ok(Reference {
        logical_name,
        loc,
        display_name: text("connectionreferencedisplayname"),
        connector_id: connector.map(|c| c.text.trim().to_owned()).filter(|t| !t.is_empty()),
        connector_loc: connector.map(|c| file.loc(c.offset, c.tag_len)),
        custom_connector_id: el
            .child_ci("customconnectorid")
            .and_then(|c| {
                c.child_ci("connectorid")
                    .map(|i| i.text.trim().to_owned())
                    .or_else(|| Some(c.text.trim().to_owned()))
            })
            .filter(|t| !t.is_empty()),
        description: text("description"),
    })
}
