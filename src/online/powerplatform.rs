//! Connections and who may use them, through the Power Platform API's connectivity routes.

use anyhow::{Result, anyhow, bail};
use serde_json::Value;

use super::http::{Answer, Http, Kind, encode, error_code};
use super::{Page, list};

pub const SCOPE: &str = "https://api.powerplatform.com/.default";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The connection id (`name`).
    pub name: String,
    /// `properties.apiId`: the connector id.
    pub api_id: Option<String>,
    pub display_name: Option<String>,
    pub statuses: Vec<Status>,
    pub created_by: Option<Principal>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub status: String,
    /// The error that comes with a bad status, as text.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub id: String,
    pub display_name: Option<String>,
    /// `User`, `Group`, `Tenant`, `ServicePrincipal`, `NotSpecified`…
    pub kind: Option<String>,
    pub upn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    pub role: String,
    pub principal: Principal,
}

/// The API host of one environment: the id without dashes, split before its last two characters.
pub fn environment_host(environment_id: &str) -> String {
    let id: String = environment_id
        .chars()
        .filter(|c| *c != '-')
        .collect::<String>()
        .to_ascii_lowercase();
    let split = id.len().saturating_sub(2);
    // The id is a GUID (checked with the config), so it is ASCII and the split is on a char.
    format!("https://{}.{}.environment.api.powerplatform.com", &id[..split], &id[split..])
}

pub struct PowerPlatform<'a> {
    pub http: &'a Http,
    /// The API host, without a trailing slash.
    pub base: String,
    pub environment_id: String,
    pub token: String,
    pub client_id: String,
}

fn text(v: &Value, path: &str) -> Option<String> {
    v.pointer(path).and_then(Value::as_str).map(str::to_owned)
}

fn principal(v: &Value) -> Option<Principal> {
    Some(Principal {
        id: text(v, "/id")?.to_ascii_lowercase(),
        display_name: text(v, "/displayName"),
        kind: text(v, "/type"),
        upn: text(v, "/userPrincipalName"),
    })
}

/// A connection from its JSON; `None` when it is not the expected shape.
pub fn connection(v: &Value) -> Option<Connection> {
    let props = v.get("properties")?;
    let statuses = match props.get("statuses") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|s| {
                Some(Status {
                    status: text(s, "/status")?,
                    error: s.get("error").map(|e| match e {
                        Value::String(t) => t.clone(),
                        other => super::http::error_text(&json_of(other)),
                    }),
                })
            })
            .collect::<Option<Vec<_>>>()?,
        Some(_) => return None,
    };
    Some(Connection {
        name: text(v, "/name")?,
        api_id: text(props, "/apiId"),
        display_name: text(props, "/displayName"),
        statuses,
        created_by: props.get("createdBy").and_then(principal),
    })
}

fn json_of(v: &Value) -> String {
    // A `Value` always serializes.
    serde_json::to_string(&serde_json::json!({ "error": v })).unwrap_or_default()
}

impl PowerPlatform<'_> {
    fn auth(&self) -> String {
        format!("Bearer {}", self.token)
    }

    fn filter(&self) -> String {
        format!(
            "api-version=1&%24filter={}",
            encode(&format!("environment eq '{}'", self.environment_id))
        )
    }

    fn refusal(&self, a: &Answer, what: &str) -> anyhow::Error {
        let why = self.http.brief(&a.body);
        match a.status {
            401 | 403 => anyhow!(
                "the Power Platform API refused to read {what} (HTTP {}{why}): the service principal is not registered as a management application. A tenant administrator runs once: `pac admin application register --application-id {}`",
                a.status,
                self.client_id
            ),
            s => anyhow!("the Power Platform API answered HTTP {s} when reading {what}{why}"),
        }
    }

    /// One connection; `None` when the environment has no such connection.
    pub fn connection(&self, api: &str, id: &str) -> Result<Option<Connection>> {
        let url = format!(
            "{}/connectivity/connectors/{}/connections/{}?{}",
            self.base,
            encode(api),
            encode(id),
            self.filter()
        );
        let auth = self.auth();
        let a = self
            .http
            .get(&url, &[("Authorization", &auth), ("Accept", "application/json")], Kind::Data)?;
        let what = format!("connection `{id}`");
        if a.status == 404 {
            // A 404 without the API's error code is a wrong host, not a missing connection.
            return match error_code(&a.body).as_deref() {
                Some("ConnectionNotFound") => Ok(None),
                _ => Err(anyhow!(
                    "the Power Platform API answered HTTP 404 without `ConnectionNotFound` for {what}{}: check CONNREF_POWERPLATFORM_URL and the environment `id`",
                    self.http.brief(&a.body)
                )),
            };
        }
        if !(200..300).contains(&a.status) {
            return Err(self.refusal(&a, &what));
        }
        let v: Value = serde_json::from_str(&a.body)
            .map_err(|e| anyhow!("the Power Platform API answered {what} with something that is not JSON ({e})"))?;
        match connection(&v) {
            Some(c) => Ok(Some(c)),
            None => bail!("the Power Platform API answered {what} with JSON of an unexpected shape (no `name` or `properties`)"),
        }
    }

    /// Who may use a connection: every page of its permissions.
    pub fn permissions(&self, api: &str, id: &str) -> Result<Vec<Permission>> {
        let url = format!(
            "{}/connectivity/connectors/{}/connections/{}/permissions?{}",
            self.base,
            encode(api),
            encode(id),
            self.filter()
        );
        let what = format!("the permissions of connection `{id}`");
        let auth = self.auth();
        let rows = list(
            self.http,
            &url,
            &[("Authorization", &auth), ("Accept", "application/json")],
            Page {
                next_key: "nextLink",
                what: &what,
            },
            &|a| self.refusal(a, &what),
        )?;
        rows.iter()
            .map(|r| {
                let p = r.get("properties");
                let role = p.and_then(|p| text(p, "/roleName"));
                let who = p.and_then(|p| p.get("principal")).and_then(principal);
                match (role, who) {
                    (Some(role), Some(principal)) => Ok(Permission { role, principal }),
                    _ => bail!("the Power Platform API answered {what} with a permission without `roleName` or `principal.id`: not the expected shape"),
                }
            })
            .collect()
    }

    /// Every connection of the environment.
    pub fn connections(&self) -> Result<Vec<Connection>> {
        let url = format!("{}/connectivity/connections?api-version=1", self.base);
        let auth = self.auth();
        let rows = list(
            self.http,
            &url,
            &[("Authorization", &auth), ("Accept", "application/json")],
            Page {
                next_key: "nextLink",
                what: "the connections of the environment",
            },
            &|a| self.refusal(a, "the connections of the environment"),
        )?;
        rows.iter()
            .map(|r| {
                connection(r)
                    .ok_or_else(|| anyhow!("the Power Platform API listed a connection of an unexpected shape (no `name` or `properties`)"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_of_an_environment() {
        assert_eq!(
            environment_host("00000000-0000-0000-0000-0000000000AB"),
            "https://000000000000000000000000000000.ab.environment.api.powerplatform.com"
        );
    }

    #[test]
    fn reads_a_connection() {
        let v: Value = serde_json::from_str(
            r#"{"name":"e34c","id":"/x","properties":{"apiId":"/providers/Microsoft.PowerApps/apis/shared_office365","displayName":"flows@contoso.com","statuses":[{"status":"Error","target":"token","error":{"code":"Unauthenticated","message":"Refresh token expired"}}],"createdBy":{"id":"F99F","displayName":"Flow Service","type":"User","userPrincipalName":"flows@contoso.com"}}}"#,
        )
        .expect("json");
        let c = connection(&v).expect("shape");
        assert_eq!(c.statuses[0].error.as_deref(), Some("Unauthenticated: Refresh token expired"));
        assert_eq!(c.created_by.as_ref().map(|p| p.id.as_str()), Some("f99f"));
        assert!(connection(&serde_json::json!({"name": "x", "properties": {"statuses": "bad"}})).is_none());
    }
}
