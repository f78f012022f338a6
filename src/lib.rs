//! connref: offline checks of Power Platform connection references in unpacked solution source.
//!
//! The data flows one way: `discover` (which files belong to which solution root) → `load`
//! (read them from the working tree or a git revision, and parse them with `parse`) → `model`
//! (solutions, references, flows with source positions) → `rules` (pure functions from the
//! model to findings) → `report` (human, github, json).

pub mod commands;
pub mod config;
pub mod discover;
pub mod finding;
pub mod github;
pub mod load;
pub mod model;
pub mod naming_template;
#[cfg(feature = "online")]
pub mod online;
pub mod parallel;
pub mod parse;
pub mod report;
pub mod rules;
pub mod text;
