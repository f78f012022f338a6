//! `connref settings`: create or update each environment's settings file from the source.
pub mod edit;
