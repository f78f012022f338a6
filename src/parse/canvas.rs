//! `CanvasApps/<name>.meta.xml`: the connectors a canvas app uses and the flows it calls.
//!
//! `<ConnectionReferences>` holds a JSON string keyed by a per-app id; each entry's `id` is a
//! connector id. Apps never name a connection reference, so the link is by connector only.

use super::xml;
use super::{ParseError, json};
use crate::model::CanvasApp;
use crate::text::SourceFile;

pub fn parse(file: &SourceFile) -> Result<CanvasApp, ParseError> {
    let root = xml::parse(&file.text)?;
    let file_stem = file.path.rsplit('/').next().unwrap_or(&file.path).trim_end_matches(".meta.xml");
    let mut app = CanvasApp {
        name: root.child_text("Name").unwrap_or(file_stem).to_owned(),
        path: file.path.clone(),
        connectors: Vec::new(),
        flows: Vec::new(),
    };
    let Some(refs) = root.child("ConnectionReferences") else {
        return Ok(app);
    };
    let body = refs.text.trim();
    if body.is_empty() {
        return Ok(app);
    }
    // The JSON sits escaped inside XML, so its own offsets do not map onto the file: a
    // problem is reported at the element.
    let doc = json::parse(body).map_err(|e| {
        ParseError::new(
            format!("<ConnectionReferences> does not hold valid JSON: {}", e.message),
            refs.offset,
        )
    })?;
    for entry in doc.root.members() {
        let Some(id) = entry.value.get("id").and_then(|v| v.as_str()) else {
            continue;
        };
        app.connectors.push(id.to_ascii_lowercase());
        if let Some(flow) = entry
            .value
            .at(&["parameterHints", "workflowEntityId", "value"])
            .and_then(|v| v.as_str())
        {
            app.flows.push(super::solution::normalize_guid(flow));
        }
    }
    Ok(app)
}
