//! CR601–CR606 (`connref verify`: the settings entries of one environment against what the
//! environment holds) and CR611–CR614 (`connref audit`: the environment's flows and references).
//! Pure functions of what the environment answered; `online` does the talking.

use std::collections::HashMap;

use crate::model::settings::{Binding, SettingsFile, classify};
use crate::model::{Snapshot, connector};
use crate::online::dataverse::{ConnectionReference, Workflow};
use crate::online::powerplatform::{Connection, Permission};

/// A connection that a settings entry binds, to be looked up: the api name for the route
/// and the id as the file gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub api: String,
    pub connection_id: String,
}

impl Target {
    pub fn key(&self) -> (String, String) {
        (self.api.to_ascii_lowercase(), self.connection_id.trim().to_ascii_lowercase())
    }
}

/// What the environment answered.
#[derive(Debug, Clone, Default)]
pub struct Live {
    /// The environment's name as connref.toml spells it.
    pub environment: String,
    /// The deploying principal's object id, lower case.
    pub deployer: String,
    /// By `Target::key`: the connection with its permissions, `None` when it does not exist.
    pub connections: HashMap<(String, String), Option<(Connection, Vec<Permission>)>>,
    pub references: Vec<ConnectionReference>,
    pub flows: Vec<Workflow>,
    /// Every connection of the environment (audit).
    pub all_connections: Vec<Connection>,
}

/// The connector a settings entry binds: its own `ConnectorId`, else the reference's
/// `connectorid` in the solution source.
fn connector_of(snapshot: &Snapshot, file: &SettingsFile, logical_name: &str, entry_connector: Option<&str>) -> Option<String> {
    if let Some(c) = entry_connector.filter(|c| !c.trim().is_empty()) {
        return Some(c.trim().to_owned());
    }
    let defined = |s: &&crate::model::Solution| file.solutions.is_empty() || file.solutions.iter().any(|n| n.eq_ignore_ascii_case(&s.unique_name));
    snapshot
        .solutions
        .iter()
        .filter(defined)
        .find_map(|s| s.reference(logical_name).and_then(|r| r.connector_id.clone()))
}

/// Each literal binding of the files, with the connector it must be: what `verify` looks up.
pub fn targets(snapshot: &Snapshot, files: &[&SettingsFile]) -> Vec<Target> {
    let mut out: Vec<Target> = Vec::new();
    for file in files {
        for r in &file.references {
            if classify(r.connection_id.as_deref()) != Binding::Bound {
                continue;
            }
            let Some(connector) = connector_of(snapshot, file, &r.logical_name, r.connector_id.as_deref()) else { continue };
            let t = Target {
                api: connector::api_name(&connector).to_owned(),
                connection_id: r.connection_id.clone().unwrap_or_default().trim().to_owned(),
            };
            if !out.iter().any(|o| o.key() == t.key()) {
                out.push(t);
            }
        }
    }
    out
}
