//! `Assets/botcomponent_connectionreferenceset.xml`: which bot components use which reference.

use super::ParseError;
use super::xml;
use crate::model::BotLink;
use crate::text::SourceFile;

pub fn parse(file: &SourceFile) -> Result<Vec<BotLink>, ParseError> {
    let root = xml::parse(&file.text)?;
    let mut links = Vec::new();
    for el in root.children.iter().filter(|c| c.name == "botcomponent_connectionreference") {
        let Some(name) = el.attr("connectionreferenceid.connectionreferencelogicalname") else {
            continue;
        };
        links.push(BotLink {
            component: el
                .attr("botcomponentid.schemaname")
                .map(|a| a.value.to_string())
                .unwrap_or_default(),
            logical_name: name.value.to_string(),
            loc: file.loc(name.offset, name.len),
        });
    }
    Ok(links)
}
