//! `environmentvariabledefinitions/<schema>/environmentvariabledefinition.xml`.

use super::ParseError;
use super::xml;
use crate::model::EnvVar;
use crate::text::SourceFile;

pub fn parse(file: &SourceFile) -> Result<EnvVar, ParseError> {
    let root = xml::parse(&file.text)?;
    if !root.name.eq_ignore_ascii_case("environmentvariabledefinition") {
        return Err(ParseError::new(
            format!("expected the root element <environmentvariabledefinition>, found <{}>", root.name),
            root.offset,
        ));
    }
    let schema = root
        .attr("schemaname")
        .ok_or_else(|| ParseError::new("<environmentvariabledefinition> has no schemaname attribute", root.offset))?;
    Ok(EnvVar {
        schema_name: schema.value.to_string(),
        loc: file.loc(schema.offset, schema.len),
        kind: root.child_text("type").map(str::to_owned),
        default_value: root.child("defaultvalue").map(|d| d.text.to_string()),
        required: root.child_text("isrequired") == Some("1"),
    })
}
