//! Deployment settings files (`pac solution create-settings` format), one per environment.

use std::sync::Arc;

use crate::finding::Loc;

#[derive(Debug, Clone)]
pub struct SettingsFile {
    pub path: Arc<str>,
    /// The environment the file deploys to (`Prod`, `test`…), as named by config or path.
    pub environment: String,
    /// UniqueNames of the solutions the file covers (empty when it cannot be tied to one).
    pub solutions: Vec<String>,
    /// Entries of `ConnectionReferences`, in file order.
    pub references: Vec<SettingsReference>,
    /// The `ConnectionReferences` array, where a missing entry belongs.
    pub references_loc: Option<Loc>,
    /// Entries of `EnvironmentVariables`; `None` when the file has no such array.
    pub variables: Option<Vec<SettingsVariable>>,
    pub variables_loc: Option<Loc>,
}

#[derive(Debug, Clone)]
pub struct SettingsReference {
    pub logical_name: String,
    /// The entry (its opening brace).
    pub loc: Loc,
    pub connection_id: Option<String>,
    pub connection_id_loc: Option<Loc>,
    pub connector_id: Option<String>,
    pub connector_id_loc: Option<Loc>,
}

#[derive(Debug, Clone)]
pub struct SettingsVariable {
    pub schema_name: String,
    pub loc: Loc,
    pub value: Option<String>,
    pub value_loc: Option<Loc>,
}
