//! The target environment's own data through the Dataverse Web API v9.2: its connection
//! references and its cloud flows.

use anyhow::{Result, anyhow};
use serde_json::Value;

use super::http::{Answer, Http};
use super::{Page, list};

/// A `connectionreference` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionReference {
    pub logical_name: String,
    pub display_name: Option<String>,
    pub connector_id: Option<String>,
    /// `None` when nothing is bound (empty or null).
    pub connection_id: Option<String>,
}

/// A cloud flow (`workflow` of category 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workflow {
    pub id: String,
    pub name: String,
    /// 0 off (draft), 1 on, 2 suspended.
    pub state: Option<i64>,
    /// The flow JSON, as a string.
    pub clientdata: Option<String>,
}

/// Flows carry their whole definition in `clientdata`: small pages keep each answer small.
const FLOW_PAGE_SIZE: u32 = 50;

pub struct Dataverse<'a> {
    pub http: &'a Http,
    /// `https://org.crm.dynamics.com`, without a trailing slash.
    pub url: String,
    pub token: String,
    pub client_id: String,
}

impl Dataverse<'_> {
    /// The scope of a token for this environment's Web API.
    pub fn scope(url: &str) -> String {
        format!("{}/.default", url.trim_end_matches('/'))
    }

    fn get(&self, path: &str, page_size: Option<u32>, what: &str) -> Result<Vec<Value>> {
        let auth = format!("Bearer {}", self.token);
        let prefer = page_size.map(|n| format!("odata.maxpagesize={n}"));
        let mut headers = vec![
            ("Authorization", auth.as_str()),
            ("Accept", "application/json"),
            ("OData-MaxVersion", "4.0"),
            ("OData-Version", "4.0"),
        ];
        if let Some(p) = &prefer {
            headers.push(("Prefer", p.as_str()));
        }
        let first = format!("{}/api/data/v9.2/{path}", self.url);
        list(
            self.http,
            &first,
            &headers,
            Page {
                next_key: "@odata.nextLink",
                what,
            },
            &|a| self.refusal(a, what),
        )
    }

    fn refusal(&self, a: &Answer, what: &str) -> anyhow::Error {
        let why = self.http.brief(&a.body);
        match a.status {
            401 | 403 => anyhow!(
                "Dataverse at {} refused to list {what} (HTTP {}{why}): the service principal (client id `{}`) must be an application user of this environment with a security role that can read the Connection Reference and Process (workflow) tables; add it in the Power Platform admin center under Environments → the environment → Settings → Users + permissions → Application users → New app user, with a role such as System Customizer (or the role your pipeline imports with)",
                self.url,
                a.status,
                self.client_id
            ),
            404 => anyhow!(
                "Dataverse at {} has no Web API for {what} (HTTP 404{why}): check `url` in [environments] of connref.toml (e.g. https://contoso.crm.dynamics.com)",
                self.url
            ),
            s => anyhow!("Dataverse at {} answered HTTP {s} when listing {what}{why}", self.url),
        }
    }

    pub fn connection_references(&self) -> Result<Vec<ConnectionReference>> {
        let rows = self.get(
            "connectionreferences?$select=connectionreferencelogicalname,connectionreferencedisplayname,connectionid,connectorid,statecode",
            None,
            "connection references",
        )?;
        rows.iter()
            .map(|r| {
                let s = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_owned);
                Ok(ConnectionReference {
                    logical_name: s("connectionreferencelogicalname").ok_or_else(|| {
                        anyhow!(
                            "Dataverse answered a connection reference without `connectionreferencelogicalname`: not the expected shape"
                        )
                    })?,
                    display_name: s("connectionreferencedisplayname"),
                    connector_id: s("connectorid"),
                    connection_id: s("connectionid").filter(|c| !c.trim().is_empty()),
                })
            })
            .collect()
    }

    pub fn cloud_flows(&self) -> Result<Vec<Workflow>> {
        let rows = self.get(
            "workflows?$filter=category%20eq%205&$select=name,workflowid,statecode,clientdata,_ownerid_value",
            Some(FLOW_PAGE_SIZE),
            "cloud flows",
        )?;
        rows.iter()
            .map(|r| {
                let s = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_owned);
                Ok(Workflow {
                    id: s("workflowid")
                        .ok_or_else(|| anyhow!("Dataverse answered a workflow without `workflowid`: not the expected shape"))?
                        .trim_matches(['{', '}'])
                        .to_ascii_lowercase(),
                    name: s("name").unwrap_or_default(),
                    state: r.get("statecode").and_then(Value::as_i64),
                    clientdata: s("clientdata"),
                })
            })
            .collect()
    }
}
