//! Mutation fuzzing of every file kind the loader reads, on stable Rust.
//!
//! Seeds are this file's own tree (every file kind: Solution.xml, Customizations.xml, a flow and
//! its `.json.data.xml`, an environment variable, a canvas app's `.meta.xml`, a bot's reference
//! set, a deployment settings file and `connref.toml`), `examples/contoso` and every repository
//! in `../shared/corpus` when it is there. Each case mutates one to three of the files the loader
//! reads and runs the connref binary on the tree as a child process, so that a stack overflow or
//! a hang is caught like a panic. One case in eight commits the seed to a git repository first
//! and checks the mutation with `--base HEAD`, which reads the seed back from git.
//!
//! A case passes when connref exits 0 or 1 with a report (JSON cases must print one JSON
//! document), or exits 2 with a message when `connref.toml` was mutated; it fails on a panic, a
//! signal (a stack overflow aborts), exit 2 for a source file, or a time over the case limit.
//!
//! `cargo test --test fuzz` runs it for 20 seconds. Longer, and faster per case in release:
//!
//! ```sh
//! CONNREF_FUZZ_SECS=1800 cargo test --release --test fuzz -- --nocapture
//! ```
//!
//! Other knobs: `CONNREF_FUZZ_SEED` (default fixed, so runs are reproducible),
//! `CONNREF_FUZZ_CASE` (run only that case of the seed, to reproduce a failure),
//! `CONNREF_FUZZ_CASE_SECS` (time limit per case, default 10), `CONNREF_FUZZ_JOBS` (default 2),
//! `CONNREF_FUZZ_BIN` (fuzz another connref binary, such as an older build).
//! A failing case prints how to run it again and keeps its tree under
//! `target/tmp/fuzz-failures/`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

type Tree = Vec<(String, Vec<u8>)>;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// splitmix64: small, fast and the same on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

const GUID: &str = "625ac674-7d13-2184-4d44-fb6c6d48c11c";

/// A small tree with every file kind the loader reads.
fn own_tree() -> Tree {
    let root = "Billing/src";
    let flow_file = format!("{root}/Workflows/Sendinvoice-{}.json", GUID.to_ascii_uppercase());
    let files: Vec<(String, String)> = vec![
        (
            format!("{root}/Other/Solution.xml"),
            format!(
                "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ImportExportXml version=\"9.2\" SolutionPackageVersion=\"9.2\" languagecode=\"1033\">\n  <SolutionManifest>\n    <UniqueName>Billing</UniqueName>\n    <LocalizedNames>\n      <LocalizedName description=\"Billing\" languagecode=\"1033\" />\n    </LocalizedNames>\n    <Version>1.0.0.0</Version>\n    <Managed>0</Managed>\n    <Publisher>\n      <UniqueName>contosopub</UniqueName>\n      <CustomizationPrefix>contoso</CustomizationPrefix>\n    </Publisher>\n    <RootComponents>\n      <RootComponent type=\"10112\" schemaName=\"contoso_invoiceapproval_outlook\" behavior=\"0\" />\n    </RootComponents>\n    <MissingDependencies>\n      <MissingDependency>\n        <Required type=\"connectionreference\" displayName=\"Finance\" solution=\"Core (1.0.0.0)\" id.connectionreferencelogicalname=\"contoso_finance_dataverse\" />\n        <Dependent type=\"29\" displayName=\"Send invoice\" id=\"{{{GUID}}}\" />\n      </MissingDependency>\n    </MissingDependencies>\n  </SolutionManifest>\n</ImportExportXml>\n"
            ),
        ),
        (
            format!("{root}/Other/Customizations.xml"),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ImportExportXml xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n  <Entities />\n  <connectionreferences>\n    <connectionreference connectionreferencelogicalname=\"contoso_invoiceapproval_outlook\">\n      <connectionreferencedisplayname>Invoice approval</connectionreferencedisplayname>\n      <connectorid>/providers/Microsoft.PowerApps/apis/shared_office365</connectorid>\n      <iscustomizable>1</iscustomizable>\n      <statecode>0</statecode>\n      <statuscode>1</statuscode>\n    </connectionreference>\n    <connectionreference connectionreferencelogicalname=\"cat_sharedcommondataserviceforapps_87e06\">\n      <connectionreferencedisplayname>Microsoft Dataverse</connectionreferencedisplayname>\n      <connectorid>/providers/Microsoft.PowerApps/apis/shared_commondataserviceforapps</connectorid>\n      <description>made by the maker portal</description>\n    </connectionreference>\n    <connectionreference connectionreferencelogicalname=\"contoso_bot_teams\">\n      <connectorid>/providers/Microsoft.PowerApps/apis/shared_teams</connectorid>\n      <customconnectorid><connectorid>contoso_5Fcustom-5f1234567890abcdef</connectorid></customconnectorid>\n    </connectionreference>\n  </connectionreferences>\n  <Languages>\n    <Language>1033</Language>\n  </Languages>\n</ImportExportXml>\n".to_owned(),
        ),
        (
            flow_file.clone(),
            "{\n  \"properties\": {\n    \"connectionReferences\": {\n      \"shared_office365\": {\n        \"runtimeSource\": \"embedded\",\n        \"connection\": {\n          \"connectionReferenceLogicalName\": \"contoso_invoiceapproval_outlook\"\n        },\n        \"api\": {\n          \"name\": \"shared_office365\"\n        }\n      },\n      \"shared_commondataserviceforapps\": {\n        \"connection\": {\n          \"connectionReferenceLogicalName\": \"contoso_finance_dataverse\"\n        },\n        \"api\": {\n          \"name\": \"shared_commondataserviceforapps\"\n        }\n      },\n      \"shared_sql\": {\n        \"connection\": {\n          \"connectionName\": \"shared-sql-1234\",\n          \"source\": \"Embedded\"\n        },\n        \"api\": {\n          \"name\": \"shared_sql\"\n        }\n      }\n    },\n    \"definition\": {\n      \"$schema\": \"https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#\",\n      \"contentVersion\": \"1.0.0.0\",\n      \"parameters\": {\n        \"$connections\": { \"defaultValue\": {}, \"type\": \"Object\" },\n        \"Site (contoso_SiteUrl)\": { \"defaultValue\": \"https://x\", \"type\": \"String\", \"metadata\": { \"schemaName\": \"contoso_SiteUrl\" } }\n      },\n      \"triggers\": {\n        \"manual\": { \"type\": \"Request\", \"kind\": \"Button\", \"inputs\": {} }\n      },\n      \"actions\": {\n        \"Send_mail\": {\n          \"type\": \"OpenApiConnection\",\n          \"inputs\": {\n            \"host\": {\n              \"apiId\": \"/providers/Microsoft.PowerApps/apis/shared_office365\",\n              \"connectionName\": \"shared_office365\",\n              \"operationId\": \"SendEmailV2\"\n            },\n            \"parameters\": { \"emailMessage/To\": \"a@b.c\" },\n            \"authentication\": \"@parameters('$authentication')\"\n          }\n        },\n        \"Scope\": {\n          \"type\": \"Scope\",\n          \"actions\": {\n            \"List_rows\": {\n              \"type\": \"OpenApiConnection\",\n              \"inputs\": {\n                \"host\": {\n                  \"connectionName\": \"shared_commondataserviceforapps\",\n                  \"operationId\": \"ListRecords\",\n                  \"apiId\": \"/providers/Microsoft.PowerApps/apis/shared_commondataserviceforapps\"\n                }\n              }\n            },\n            \"Old\": {\n              \"type\": \"ApiConnection\",\n              \"inputs\": {\n                \"host\": { \"connection\": { \"name\": \"@parameters('$connections')['shared_sql']['connectionId']\" } }\n              }\n            },\n            \"Child\": {\n              \"type\": \"Workflow\",\n              \"inputs\": { \"host\": { \"workflowReferenceName\": \"7a5ac674-7d13-2184-4d44-fb6c6d48c11c\" } }\n            }\n          }\n        }\n      }\n    }\n  },\n  \"schemaVersion\": \"1.0.0.0\"\n}\n".to_owned(),
        ),
        (
            format!("{flow_file}.data.xml"),
            format!(
                "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Workflow WorkflowId=\"{{{GUID}}}\" Name=\"Send invoice\">\n  <JsonFileName>/Workflows/Sendinvoice-{}.json</JsonFileName>\n  <Type>1</Type>\n  <Category>5</Category>\n  <StateCode>0</StateCode>\n  <StatusCode>1</StatusCode>\n  <LocalizedNames>\n    <LocalizedName languagecode=\"1033\" description=\"Send invoice\" />\n  </LocalizedNames>\n</Workflow>\n",
                GUID.to_ascii_uppercase()
            ),
        ),
        (
            format!("{root}/environmentvariabledefinitions/contoso_SiteUrl/environmentvariabledefinition.xml"),
            "<environmentvariabledefinition schemaname=\"contoso_SiteUrl\">\n  <defaultvalue>https://contoso.sharepoint.com</defaultvalue>\n  <displayname default=\"Site\">\n    <label description=\"Site\" languagecode=\"1033\" />\n  </displayname>\n  <introducedversion>1.0.0.0</introducedversion>\n  <isrequired>1</isrequired>\n  <type>100000000</type>\n</environmentvariabledefinition>\n".to_owned(),
        ),
        (
            format!("{root}/CanvasApps/contoso_app_1a2b3.meta.xml"),
            format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<CanvasApp>\n  <Name>contoso_app_1a2b3</Name>\n  <DisplayName>Invoices</DisplayName>\n  <ConnectionReferences>{{\"3f2e\":{{\"id\":\"/providers/microsoft.powerapps/apis/shared_office365\",\"displayName\":\"Office 365 Outlook\"}},\"9a8b\":{{\"id\":\"/providers/microsoft.powerapps/apis/shared_logicflows\",\"parameterHints\":{{\"workflowEntityId\":{{\"value\":\"{GUID}\"}}}}}}}}</ConnectionReferences>\n  <DatabaseReferences>{{}}</DatabaseReferences>\n</CanvasApp>\n"
            ),
        ),
        (
            format!("{root}/Assets/botcomponent_connectionreferenceset.xml"),
            "<botcomponent_connectionreferenceset>\n  <botcomponent_connectionreference botcomponentid.schemaname=\"contoso_bot.topic.Greeting\" connectionreferenceid.connectionreferencelogicalname=\"contoso_bot_teams\">\n    <iscustomizable>0</iscustomizable>\n  </botcomponent_connectionreference>\n</botcomponent_connectionreferenceset>\n".to_owned(),
        ),
        (
            "Billing/config/Prod/deploymentSettings.json".to_owned(),
            "{\n  \"EnvironmentVariables\": [\n    { \"SchemaName\": \"contoso_SiteUrl\", \"Value\": \"\" }\n  ],\n  \"ConnectionReferences\": [\n    {\n      \"LogicalName\": \"contoso_invoiceapproval_outlook\",\n      \"ConnectionId\": \"e34cedbfbb964b4ca7fc7b806121d17c\",\n      \"ConnectorId\": \"/providers/Microsoft.PowerApps/apis/shared_office365\"\n    },\n    {\n      \"LogicalName\": \"cat_sharedcommondataserviceforapps_87e06\",\n      \"ConnectionId\": \"#{DataverseConnection}#\",\n      \"ConnectorId\": \"/providers/Microsoft.PowerApps/apis/shared_commondataserviceforapps\"\n    }\n  ]\n}\n".to_owned(),
        ),
        (
            "Billing/config/deploymentSettings-Test.json".to_owned(),
            "{\"EnvironmentVariables\":[],\"ConnectionReferences\":[{\"LogicalName\":\"contoso_invoiceapproval_outlook\",\"ConnectionId\":\"e34cedbfbb964b4ca7fc7b806121d17c\",\"ConnectorId\":\"/providers/Microsoft.PowerApps/apis/shared_office365\"}]}".to_owned(),
        ),
        (
            "connref.toml".to_owned(),
            "exclude = [\"legacy/**\"]\nignore = [\"Legacy *\"]\n\n[rules]\nCR503 = \"warning\"\n\n[naming]\ntemplate = \"{publisher}_{purpose}_{connector}\"\n\n[naming.connectors]\nshared_commondataserviceforapps = \"dv\"\n\n[[settings.map]]\nfiles = [\"Billing/config/deploymentSettings-Test.json\"]\nenvironment = \"Test\"\nsolution = \"Billing\"\n\n[[identity]]\nname = \"invoicing\"\nflows = [\"Send *\"]\n".to_owned(),
        ),
    ];
    files.into_iter().map(|(p, c)| (p, c.into_bytes())).collect()
}

/// Every file below `dir`, with repository-relative `/` paths; `.git` is left out.
fn read_tree(dir: &Path) -> Tree {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.file_name() != ".git")
        .flatten()
    {
        if !entry.file_type().is_file() {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(dir) else { continue };
        let rel = rel.to_string_lossy().replace('\\', "/");
        if let Ok(bytes) = std::fs::read(entry.path()) {
            out.push((rel, bytes));
        }
    }
    out
}

fn seeds() -> Vec<(String, Tree)> {
    let manifest = common::manifest_dir();
    let mut seeds = vec![
        ("own".to_owned(), own_tree()),
        ("examples/contoso".to_owned(), read_tree(&manifest.join("examples/contoso"))),
    ];
    let corpus = manifest.join("../shared/corpus");
    match std::fs::read_dir(&corpus) {
        Ok(dirs) => {
            let mut dirs: Vec<PathBuf> = dirs.flatten().map(|d| d.path()).filter(|p| p.is_dir()).collect();
            dirs.sort();
            for d in dirs {
                let name = d.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                seeds.push((format!("corpus/{name}"), read_tree(&d)));
            }
        }
        Err(_) => println!("fuzz: no corpus at {} (seeds: own tree and examples/contoso)", corpus.display()),
    }
    seeds
}

/// Whether the loader reads this file, so mutating it exercises a parser.
fn loader_reads(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    name == "solution.xml"
        || name == "customizations.xml"
        || lower.contains("workflows/") && (name.ends_with(".json") || name.ends_with(".json.data.xml"))
        || name == "environmentvariabledefinition.xml"
        || name.ends_with(".meta.xml")
        || name == "botcomponent_connectionreferenceset.xml"
        || name.ends_with(".json") && (lower.contains("settings") || lower.contains("config/"))
        || name == "connref.toml"
}

const TOKENS: &[&str] = &[
    "<",
    ">",
    "\"",
    "'",
    "&",
    "&amp;",
    "&#1;",
    "&#xFFFE;",
    "&#x1F600;",
    "&bogus;",
    "<?xml version=\"1.0\"?>",
    "<!-- c -->",
    "<![CDATA[x]]>",
    "]]>",
    "<!DOCTYPE x [<!ENTITY e \"v\">]>",
    "</a>",
    "<a>",
    "<a/>",
    " x=\"1\"",
    " x!=\"1\"",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "null",
    "true",
    "1e999999",
    "-0.0e-9",
    "\\u0000",
    "\\ud800",
    "\\uDC00\\uD800",
    "\\",
    "\0",
    "\u{1}",
    "\r\n",
    "\r",
    "\t",
    "\u{feff}",
    "\u{fffe}",
    "é",
    "€",
    "😀",
    "_",
    ".",
    "/",
    "$",
    "${CONN}",
    "#{Conn}#",
    "shared_",
    "-5f",
    "contoso_",
    "@{parameters('$connections')['x']['connectionId']}",
    "\"connectionReferenceLogicalName\":\"\"",
    "\"ConnectionReferences\":[]",
    "\"connectionName\":\"shared_office365\"",
    "{{",
    "{publisher}",
    "[rules]\nCR101 = \"off\"\n",
    "[[settings.map]]\nfiles = [\"**\"]\n",
    "exclude = [\"**/*.json\"]\n",
    "[naming]\npurposes = [\"\"]\n",
    "[naming.connectors]\nshared_x = \"\"\n",
];

/// Characters that make names long in the ways that once cost quadratic time or deep recursion.
const REPEATS: &[&str] = &["a", "my", "_", "a_", "<a>", "[", "{\"a\":", "é", "0", "*a", "**/", "{purpose}"];

const MAX_FILE: usize = 2 << 20;

/// What the structure-keeping mutations put in a value: a size bomb, a token or a character
/// beyond ASCII.
fn payload(rng: &mut Rng) -> Vec<u8> {
    match rng.below(3) {
        0 => REPEATS[rng.below(REPEATS.len())]
            .repeat([1, 70, 300, 70_000, 100_000][rng.below(5)])
            .into_bytes(),
        1 => TOKENS[rng.below(TOKENS.len())].as_bytes().to_vec(),
        _ => ["é", "€", "😀", "\u{feff}", "ß", "İ"][rng.below(6)]
            .repeat(1 + rng.below(300))
            .into_bytes(),
    }
}

/// Mutations that keep the file parseable, so that the model and the rules see hostile values:
/// a quoted value (a logical name, a connection id, a JSON key) replaced or extended, or a
/// balanced nest or an element put after a tag.
fn mutate_value(rng: &mut Rng, data: &mut Vec<u8>) {
    let quotes: Vec<usize> = data.iter().enumerate().filter(|(_, b)| **b == b'"').map(|(i, _)| i).collect();
    let tags: Vec<usize> = data.iter().enumerate().filter(|(_, b)| **b == b'>').map(|(i, _)| i + 1).collect();
    match rng.below(4) {
        0 | 1 if quotes.len() >= 2 => {
            let k = rng.below(quotes.len() / 2) * 2;
            let (open, close) = (quotes[k] + 1, quotes[k + 1]);
            let p = payload(rng);
            if rng.chance(2) {
                data.splice(open..close, p);
            } else {
                let at = open + rng.below(close - open + 1);
                data.splice(at..at, p);
            }
        }
        2 if !tags.is_empty() => {
            let at = tags[rng.below(tags.len())];
            let n = [2, 100, 600, 35_000][rng.below(4)];
            let nest = format!("{}{}", "<a>".repeat(n), "</a>".repeat(n));
            data.splice(at..at, nest.into_bytes());
        }
        _ if !tags.is_empty() => {
            // Replace an element's text.
            let at = tags[rng.below(tags.len())];
            let end = data[at..].iter().position(|&b| b == b'<').map_or(at, |e| at + e);
            let p = payload(rng);
            data.splice(at..end, p);
        }
        _ => {}
    }
}

fn mutate(rng: &mut Rng, data: &mut Vec<u8>, donor: &[u8]) {
    let at = |rng: &mut Rng, len: usize| rng.below(len + 1);
    if rng.chance(2) {
        mutate_value(rng, data);
        data.truncate(MAX_FILE);
        return;
    }
    match rng.below(12) {
        0 if !data.is_empty() => {
            let i = rng.below(data.len());
            data[i] ^= 1 << rng.below(8);
        }
        1 | 2 => {
            let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
            let i = at(rng, data.len());
            data.splice(i..i, t.iter().copied());
        }
        3 if !data.is_empty() => {
            let i = rng.below(data.len());
            let n = (1 + rng.below(64)).min(data.len() - i);
            data.drain(i..i + n);
        }
        4 if !data.is_empty() => {
            let i = rng.below(data.len());
            let n = (1 + rng.below(256)).min(data.len() - i);
            let chunk = data[i..i + n].to_vec();
            let j = at(rng, data.len());
            data.splice(j..j, chunk);
        }
        5 => data.truncate(rng.below(data.len() + 1)),
        6 if !donor.is_empty() => {
            let i = rng.below(donor.len());
            let n = (1 + rng.below(512)).min(donor.len() - i);
            let j = at(rng, data.len());
            data.splice(j..j, donor[i..i + n].iter().copied());
        }
        7 => {
            // A size bomb: a short piece repeated up to 100,000 times.
            let piece: Vec<u8> = if rng.chance(2) || data.is_empty() {
                REPEATS[rng.below(REPEATS.len())].as_bytes().to_vec()
            } else {
                let i = rng.below(data.len());
                data[i..(i + 1 + rng.below(8)).min(data.len())].to_vec()
            };
            let times = [10, 1_000, 40_000, 100_000][rng.below(4)].min(MAX_FILE / piece.len().max(1));
            let j = at(rng, data.len());
            data.splice(j..j, piece.repeat(times));
        }
        8 => {
            // Inside a quoted value, where names live.
            let quotes: Vec<usize> = data.iter().enumerate().filter(|(_, b)| **b == b'"').map(|(i, _)| i).collect();
            if let Some(&q) = quotes.get(rng.below(quotes.len())) {
                let piece = REPEATS[rng.below(REPEATS.len())].repeat([1, 300, 70_000][rng.below(3)]);
                data.splice(q + 1..q + 1, piece.into_bytes());
            }
        }
        9 => {
            let i = at(rng, data.len());
            data.insert(i, [0xFF, 0xC3, 0x80, 0xE2][rng.below(4)]);
        }
        10 => {
            // A deep nest of the file's own kind.
            let (open, close) = [("<a>", "</a>"), ("[", "]"), ("{\"a\":", "}")][rng.below(3)];
            let n = [100, 600, 35_000][rng.below(3)];
            let j = at(rng, data.len());
            let mut nest = open.repeat(n);
            if rng.chance(2) {
                nest.push_str(&close.repeat(n));
            }
            data.splice(j..j, nest.into_bytes());
        }
        _ => {
            // Swap two lines: elements and keys out of order.
            let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
            if lines.len() > 2 {
                let (a, b) = (rng.below(lines.len()), rng.below(lines.len()));
                let mut lines: Vec<Vec<u8>> = lines.iter().map(|l| l.to_vec()).collect();
                lines.swap(a, b);
                *data = lines.join(&b'\n');
            }
        }
    }
    data.truncate(MAX_FILE);
}

struct Case {
    seed_name: String,
    tree: Tree,
    /// The seed tree, when the case is checked against it in git.
    base: Option<Tree>,
    mutated: Vec<String>,
    json: bool,
}

fn make_case(seeds: &[(String, Tree)], seed: u64, case: u64, git: bool) -> Case {
    let mut rng = Rng(seed ^ case.wrapping_mul(0xA076_1D64_78BD_642F));
    let (seed_name, tree) = &seeds[rng.below(seeds.len())];
    let mut tree = tree.clone();
    let targets: Vec<usize> = (0..tree.len()).filter(|&i| loader_reads(&tree[i].0)).collect();
    let mut mutated = Vec::new();
    for _ in 0..1 + rng.below(3) {
        let Some(&i) = targets.get(rng.below(targets.len())) else { break };
        let donor = tree[rng.below(tree.len())].1.clone();
        for _ in 0..1 + rng.below(3) {
            mutate(&mut rng, &mut tree[i].1, &donor);
        }
        mutated.push(tree[i].0.clone());
    }
    let base = (git && rng.chance(8)).then(|| {
        seeds
            .iter()
            .find(|(n, _)| n == seed_name)
            .map(|(_, t)| t.clone())
            .unwrap_or_default()
    });
    Case {
        seed_name: seed_name.clone(),
        tree,
        base,
        mutated,
        json: rng.chance(2),
    }
}

fn write_tree(dir: &Path, tree: &Tree) {
    for (rel, bytes) in tree {
        let p = dir.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, bytes).expect("write");
    }
}

fn git(dir: &Path, args: &[&str]) -> bool {
    Command::new("git")
        .args(["-c", "user.name=f", "-c", "user.email=f@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn git_available() -> bool {
    let ok = Command::new("git").arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "git is missing and CI is set: the git cases cannot run"
        );
        println!("fuzz: git not found, the cases that read a base revision are skipped");
    }
    ok
}

/// How a passing case ended.
#[derive(Clone, Copy)]
enum Outcome {
    /// A report that holds a CR900 or CR409.
    ParseFinding,
    /// A report without one.
    Report,
    /// Exit 2 for a broken connref.toml.
    ConfigError,
}

/// The binary under test: this build's, or another one (an older build, an installed copy).
fn binary() -> PathBuf {
    std::env::var_os("CONNREF_FUZZ_BIN").map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_connref")), PathBuf::from)
}

/// Runs connref on the case; `Err` says why the case fails.
fn run(case: &Case, limit: Duration) -> Result<Outcome, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let outs = tempfile::tempdir().map_err(|e| e.to_string())?;
    let repo = dir.path();
    let mut args = vec!["check", "--format", if case.json { "json" } else { "human" }];
    if let Some(base) = &case.base {
        write_tree(repo, base);
        if !(git(repo, &["init", "-q"]) && git(repo, &["add", "-A"]) && git(repo, &["commit", "-qm", "seed"])) {
            return Err("git could not commit the seed".into());
        }
        for (rel, _) in base {
            let _ = std::fs::remove_file(repo.join(rel));
        }
        args.extend(["--base", "HEAD"]);
    }
    write_tree(repo, &case.tree);
    let stdout_path = outs.path().join("stdout");
    let stderr_path = outs.path().join("stderr");
    let mut child = Command::new(binary())
        .args(&args)
        .current_dir(repo)
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GITHUB_OUTPUT")
        .env_remove("PRE_COMMIT_FROM_REF")
        .env("NO_COLOR", "1")
        // Threads get a modest stack, so that recursion the input controls shows up early.
        .env("RUST_MIN_STACK", "1048576")
        .stdout(std::fs::File::create(&stdout_path).map_err(|e| e.to_string())?)
        .stderr(std::fs::File::create(&stderr_path).map_err(|e| e.to_string())?)
        .spawn()
        .map_err(|e| format!("cannot run connref: {e}"))?;
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("took longer than {} s", limit.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = std::fs::read(&stdout_path).unwrap_or_default();
    let stderr = String::from_utf8_lossy(&std::fs::read(&stderr_path).unwrap_or_default()).into_owned();
    let tail = |s: &str| s.chars().rev().take(2000).collect::<Vec<_>>().into_iter().rev().collect::<String>();
    match status.code() {
        Some(0 | 1) => {
            let parse_finding = if case.json {
                let doc: serde_json::Value = serde_json::from_slice(&stdout)
                    .map_err(|e| format!("stdout is not one JSON document ({e}); stderr: {}", tail(&stderr)))?;
                let findings = doc["findings"].as_array().ok_or("the JSON report has no findings array")?;
                findings.iter().any(|f| f["code"] == "CR900" || f["code"] == "CR409")
            } else if stdout.is_empty() {
                return Err("the human report is empty".into());
            } else {
                let text = String::from_utf8_lossy(&stdout);
                text.contains("[CR900]") || text.contains("[CR409]")
            };
            Ok(if parse_finding { Outcome::ParseFinding } else { Outcome::Report })
        }
        Some(2) if case.mutated.iter().any(|p| p.ends_with("connref.toml")) && stderr.starts_with("connref: error") => {
            Ok(Outcome::ConfigError)
        }
        Some(code) => Err(format!("exit {code}; stderr: {}", tail(&stderr))),
        None => Err(format!("killed by a signal (a stack overflow aborts); stderr: {}", tail(&stderr))),
    }
}

fn keep(case: &Case, seed: u64, n: u64) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("fuzz-failures/{seed:x}-{n}"));
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(base) = &case.base {
        write_tree(&dir.join("base"), base);
    }
    write_tree(&dir.join("tree"), &case.tree);
    dir
}

#[test]
fn mutated_inputs_end_in_a_report_never_a_crash() {
    let secs = env_u64("CONNREF_FUZZ_SECS", 20);
    let seed = std::env::var("CONNREF_FUZZ_SEED")
        .ok()
        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .unwrap_or(0xC0FF_EE00);
    let limit = Duration::from_secs(env_u64("CONNREF_FUZZ_CASE_SECS", 10));
    let only = std::env::var("CONNREF_FUZZ_CASE").ok().and_then(|c| c.parse::<u64>().ok());
    let jobs = env_u64("CONNREF_FUZZ_JOBS", 2).max(1);
    let seeds = seeds();
    let git = git_available();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let next = AtomicU64::new(only.unwrap_or(0));
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let done = AtomicU64::new(0);
    let outcomes = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if only.is_some_and(|o| n != o) || (only.is_none() && Instant::now() > deadline) {
                        break;
                    }
                    let case = make_case(&seeds, seed, n, git);
                    let result = run(&case, limit);
                    if let Ok(o) = result {
                        outcomes[o as usize].fetch_add(1, Ordering::Relaxed);
                    }
                    if let Err(why) = result {
                        let kept = keep(&case, seed, n);
                        let msg = format!(
                            "case {n} (seed {}, files {:?}{}): {why}\n  rerun: CONNREF_FUZZ_SEED={seed:x} CONNREF_FUZZ_CASE={n} cargo test --test fuzz -- --nocapture\n  tree kept in {}",
                            case.seed_name,
                            case.mutated,
                            if case.base.is_some() { ", against its seed with --base HEAD" } else { "" },
                            kept.display()
                        );
                        println!("fuzz: FAILED {msg}");
                        failures.lock().unwrap_or_else(|e| e.into_inner()).push(msg);
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap_or_else(|e| e.into_inner());
    let done = done.into_inner();
    let [parse, report, config] = outcomes.map(AtomicU64::into_inner);
    println!(
        "fuzz: {done} cases from seed {seed:x} in {secs} s: {parse} reports with a CR900/CR409, {report} other reports, {config} config errors, {} failed",
        failures.len()
    );
    assert!(done > 0, "no case ran");
    assert!(
        failures.is_empty(),
        "{} of {done} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
