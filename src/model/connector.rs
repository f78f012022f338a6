//! Connector ids and their short names.
//!
//! A connector id is `/providers/Microsoft.PowerApps/apis/<api name>`; casing of the prefix
//! varies between files, so everything here compares without case. Custom connectors carry a
//! per-environment hash (`shared_cat-5fname-5f<18 hex>`) that must not take part in comparisons.

/// The api name: the last segment of a connector id (or the id itself when it has no `/`).
pub fn api_name(connector_id: &str) -> &str {
    connector_id.rfind('/').map_or(connector_id, |slash| &connector_id[slash + 1..])
}

/// The api name without `shared_`, lower case: `shared_office365` → `office365`.
pub fn short(api: &str) -> String {
    let api = api_name(api).to_ascii_lowercase();
    api.strip_prefix("shared_").map(str::to_owned).unwrap_or(api)
}

/// The part of an api name that identifies the connector across environments: custom
/// connectors lose their trailing `-5f<hash>`.
pub fn identity(api: &str) -> String {
    identity_part(api).to_ascii_lowercase()
}

/// [`identity`] as written in `api` (any case): comparing thousands of flow entries with
/// their references must not allocate.
fn identity_part(api: &str) -> &str {
    let name = api_name(api);
    let s = match name.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("shared_") => &name[7..],
        _ => name,
    };
    // The hash is the run of hex digits at the end, after the last `-5f` (`5` and `f` are
    // hex digits too, so the run starts with them).
    let hex = s.bytes().rev().take_while(u8::is_ascii_hexdigit).count();
    let at = s.len() - hex;
    match s.as_bytes().get(at.wrapping_sub(1)..at + 2) {
        Some([b'-', b'5', b'f' | b'F']) if hex >= 14 => &s[..at - 1],
        _ => s,
    }
}

/// Whether two connector ids or api names name the same connector.
pub fn same(a: &str, b: &str) -> bool {
    identity_part(a).eq_ignore_ascii_case(identity_part(b))
}

/// Built-in short names, beyond the api name without `shared_`. The first one is the
/// preferred name used in suggestions.
pub const ALIASES: &[(&str, &[&str])] = &[
    ("commondataserviceforapps", &["dataverse", "cds"]),
    ("commondataservice", &["dataverse", "cds"]),
    ("office365", &["outlook", "o365", "mail"]),
    ("office365users", &["users", "o365users"]),
    ("office365groups", &["groups"]),
    ("sharepointonline", &["sharepoint", "spo"]),
    ("teams", &["teams"]),
    ("approvals", &["approvals"]),
    ("webcontents", &["http", "httpaad"]),
    ("webcontentsv2", &["http", "httpaad"]),
    ("excelonlinebusiness", &["excel"]),
    ("onedriveforbusiness", &["onedrive"]),
    ("flowmanagement", &["flowmgmt", "flow"]),
    ("powerplatformforadmins", &["ppadmin", "admin"]),
    ("powerplatformadminv2", &["ppadmin", "admin"]),
    ("powerappsforappmakers", &["powerapps", "makers"]),
    ("powerappsforadmins", &["powerappsadmin"]),
    ("logicflows", &["flows"]),
    ("uiflow", &["desktopflows", "rpa"]),
    ("sql", &["sql", "sqlserver"]),
    ("azureblob", &["blob", "storage"]),
    ("keyvault", &["keyvault", "kv"]),
    ("kusto", &["adx", "kusto"]),
    ("azuread", &["entra", "aad"]),
    ("visualstudioteamservices", &["devops", "ado"]),
    ("servicebus", &["servicebus"]),
    ("planner", &["planner"]),
    ("wordonlinebusiness", &["word"]),
    ("outlook", &["outlookcom"]),
];

/// The short names that the naming template accepts for a connector: the api name without
/// `shared_`, the custom connector's name part, the built-in aliases and the configured ones.
pub fn short_names(api: &str, configured: &[(String, String)]) -> Vec<String> {
    let s = short(api);
    let id = identity(api);
    let mut names = vec![s.clone()];
    if let Some(name) = custom_name(&id) {
        names.push(name);
    }
    if let Some((_, aliases)) = ALIASES.iter().find(|(k, _)| *k == s) {
        names.extend(aliases.iter().map(|a| (*a).to_owned()));
    }
    for (k, v) in configured {
        if short(k) == s || identity(k) == id {
            names.push(v.to_ascii_lowercase());
        }
    }
    names.dedup();
    names
}

/// The preferred short name for suggestions: a configured alias, else the first built-in
/// alias, else the api name without `shared_`.
pub fn preferred(api: &str, configured: &[(String, String)]) -> String {
    let s = short(api);
    if let Some((_, v)) = configured.iter().find(|(k, _)| short(k) == s) {
        return v.to_ascii_lowercase();
    }
    if let Some((_, aliases)) = ALIASES.iter().find(|(k, _)| *k == s) {
        return aliases[0].to_owned();
    }
    custom_name(&identity(api)).unwrap_or(s)
}

/// `cat-5fcustomazuredevops` → `customazuredevops`: the readable name of a custom connector.
fn custom_name(identity: &str) -> Option<String> {
    let (_, name) = identity.split_once("-5f")?;
    let name: String = name
        .replace("-20", "")
        .replace("-5f", "")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    (!name.is_empty()).then_some(name)
}

/// Every short name that some known connector answers to, with that connector's short api
/// name: used to tell "names another connector" (CR103) from "names no connector" (CR101).
pub fn known_connector_of(segment: &str, configured: &[(String, String)]) -> Option<String> {
    let seg = segment.to_ascii_lowercase();
    for (api, aliases) in ALIASES {
        if *api == seg || aliases.contains(&seg.as_str()) {
            return Some((*api).to_owned());
        }
    }
    configured.iter().find(|(_, v)| v.eq_ignore_ascii_case(&seg)).map(|(k, _)| short(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_names_and_custom_connector_hashes() {
        assert_eq!(api_name("/providers/Microsoft.PowerApps/apis/shared_office365"), "shared_office365");
        assert_eq!(short("/providers/microsoft.powerapps/apis/Shared_Office365"), "office365");
        assert!(same(
            "shared_cat-5fmicrosoft-20graph-20mailboxsetting-5f21dec655d73f3a8c",
            "shared_cat-5fmicrosoft-20graph-20mailboxsetting-5f983b8802de813283"
        ));
        assert!(!same("shared_office365", "shared_office365users"));
        // Case never matters, in the prefix, the name or the hash's `-5f`.
        assert!(same("/providers/Microsoft.PowerApps/apis/Shared_Office365", "shared_office365"));
        assert!(same(
            "SHARED_CAT-5FCustom-5F21DEC655D73F3A8C",
            "shared_cat-5fcustom-5f983b8802de813283"
        ));
        assert!(!same("shared_cat-5fcustom-5f21dec6", "shared_cat-5fcustom-5f983b88"));
        assert_eq!(identity("SHARED_CAT-5FCustom-5F21DEC655D73F3A8C"), "cat-5fcustom");
        assert!(short_names("shared_cat-5fcustomazuredevops-5f691c36f6fa56d15c", &[]).contains(&"customazuredevops".to_owned()));
    }

    #[test]
    fn the_hash_is_cut_exactly_where_the_last_5f_starts_a_hex_tail() {
        // The definition, as a search for the last `-5f`.
        let oracle = |s: &str| match s.as_bytes().windows(3).rposition(|w| w.eq_ignore_ascii_case(b"-5f")) {
            Some(i) if s.len() - i - 3 >= 12 && s[i + 3..].bytes().all(|b| b.is_ascii_hexdigit()) => s[..i].to_owned(),
            _ => s.to_owned(),
        };
        let parts = ["-5f", "-5F", "5f", "-", "a", "x", "0123456789ab", "c", "é"];
        let mut names = vec![String::new()];
        for _ in 0..5 {
            names = names.iter().flat_map(|n| parts.iter().map(move |p| format!("{n}{p}"))).collect();
            for n in &names {
                assert_eq!(identity_part(n), oracle(n), "{n}");
            }
        }
    }

    #[test]
    fn aliases() {
        assert!(short_names("shared_commondataserviceforapps", &[]).contains(&"dataverse".to_owned()));
        assert_eq!(preferred("shared_sharepointonline", &[]), "sharepoint");
        let cfg = vec![("shared_commondataserviceforapps".to_owned(), "dv".to_owned())];
        assert_eq!(preferred("shared_commondataserviceforapps", &cfg), "dv");
        assert_eq!(known_connector_of("sharepoint", &[]).as_deref(), Some("sharepointonline"));
        assert_eq!(known_connector_of("invoice", &[]), None);
    }
}
