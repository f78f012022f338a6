//! Parsers: bytes of one source file in, a piece of the model out, with exact positions.
//! Each returns a typed error that carries the file's offset; `load` turns it into CR900.

pub mod bot;
pub mod canvas;
pub mod customizations;
pub mod envvar;
pub mod flow;
pub mod json;
pub mod settings;
pub mod solution;
mod swar;
mod tokens;
pub mod xml;
pub mod yaml;
pub mod yaml_layout;

use std::fmt;

/// A source file that cannot be parsed, with the offset of the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    pub offset: usize,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<xml::XmlError> for ParseError {
    fn from(e: xml::XmlError) -> Self {
        ParseError {
            message: format!("invalid XML: {}", e.message),
            offset: e.offset,
        }
    }
}

impl From<json::JsonError> for ParseError {
    fn from(e: json::JsonError) -> Self {
        ParseError {
            message: format!("invalid JSON: {}", e.message),
            offset: e.offset,
        }
    }
}

impl ParseError {
    pub fn new(message: impl Into<String>, offset: usize) -> Self {
        ParseError {
            message: message.into(),
            offset,
        }
    }
}
