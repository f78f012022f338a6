//! A generator of realistic solution repositories for the benchmarks: N cloud flows of a few KB
//! each (connection references, a trigger, several actions, data.xml) and M references in
//! Customizations.xml, committed to a real git repository.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const CONNECTORS: &[(&str, &str)] = &[
    ("shared_office365", "outlook"),
    ("shared_sharepointonline", "sharepoint"),
    ("shared_commondataserviceforapps", "dataverse"),
    ("shared_teams", "teams"),
    ("shared_approvals", "approvals"),
];

pub struct Repo {
    pub dir: tempfile::TempDir,
    pub flows: usize,
    pub references: usize,
}

impl Repo {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

pub fn guid(i: usize) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        i * 2654435761 % 0xffff_ffff,
        i % 0xffff,
        i % 0xfff,
        (i * 7) % 0xfff,
        i
    )
}

pub fn reference(r: usize, refs: usize) -> (String, &'static str) {
    let (api, short) = CONNECTORS[r % CONNECTORS.len()];
    let _ = refs;
    (format!("contoso_purpose{r}_{short}"), api)
}

/// The relative path of flow `i`'s JSON file.
pub fn flow_path(i: usize) -> String {
    format!("src/Workflows/Flow{i}-{}.json", guid(i).to_uppercase())
}

/// Flow `i` bound to references `bind` (indices), `variant` changes the text a little.
pub fn flow_json(i: usize, refs: usize, variant: usize) -> String {
    let bind = [(i + variant) % refs, (i * 3 + 1) % refs];
    let mut entries = Vec::new();
    let mut actions = Vec::new();
    for (k, r) in bind.iter().enumerate() {
        let (ln, api) = reference(*r, refs);
        let key = format!("{api}_{k}");
        entries.push(format!(
            "      \"{key}\": {{\n        \"runtimeSource\": \"embedded\",\n        \"connection\": {{\n          \"connectionReferenceLogicalName\": \"{ln}\"\n        }},\n        \"api\": {{\n          \"name\": \"{api}\"\n        }}\n      }}"
        ));
        for a in 0..3 {
            actions.push(format!(
                "        \"Action_{k}_{a}\": {{\n          \"runAfter\": {{}},\n          \"metadata\": {{\n            \"operationMetadataId\": \"{}\"\n          }},\n          \"type\": \"OpenApiConnection\",\n          \"inputs\": {{\n            \"host\": {{\n              \"apiId\": \"/providers/Microsoft.PowerApps/apis/{api}\",\n              \"connectionName\": \"{key}\",\n              \"operationId\": \"Operation{a}\"\n            }},\n            \"parameters\": {{\n              \"item/Title\": \"@{{triggerOutputs()?['body/Title']}} number {i} variant {variant}\",\n              \"item/Description\": \"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore\",\n              \"table\": \"contoso_items\"\n            }},\n            \"authentication\": \"@parameters('$authentication')\"\n          }}\n        }}",
                guid(i * 10 + a)
            ));
        }
    }
    format!(
        "{{\n  \"properties\": {{\n    \"connectionReferences\": {{\n{}\n    }},\n    \"definition\": {{\n      \"$schema\": \"https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#\",\n      \"contentVersion\": \"1.0.0.0\",\n      \"parameters\": {{\n        \"$connections\": {{\n          \"defaultValue\": {{}},\n          \"type\": \"Object\"\n        }},\n        \"$authentication\": {{\n          \"defaultValue\": {{}},\n          \"type\": \"SecureObject\"\n        }}\n      }},\n      \"triggers\": {{\n        \"Recurrence\": {{\n          \"recurrence\": {{\n            \"frequency\": \"Day\",\n            \"interval\": 1\n          }},\n          \"type\": \"Recurrence\"\n        }}\n      }},\n      \"actions\": {{\n{}\n      }}\n    }},\n    \"templateName\": null\n  }},\n  \"schemaVersion\": \"1.0.0.0\"\n}}\n",
        entries.join(",\n"),
        actions.join(",\n")
    )
}

pub fn data_xml(i: usize) -> String {
    let g = guid(i);
    format!(
        "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Workflow WorkflowId=\"{{{g}}}\" Name=\"Flow {i}\">\n  <JsonFileName>/Workflows/Flow{i}-{}.json</JsonFileName>\n  <Type>1</Type>\n  <Subprocess>0</Subprocess>\n  <Category>5</Category>\n  <Mode>0</Mode>\n  <Scope>4</Scope>\n  <OnDemand>0</OnDemand>\n  <TriggerOnCreate>0</TriggerOnCreate>\n  <TriggerOnDelete>0</TriggerOnDelete>\n  <AsyncAutodelete>0</AsyncAutodelete>\n  <SyncWorkflowLogOnFailure>0</SyncWorkflowLogOnFailure>\n  <StateCode>1</StateCode>\n  <StatusCode>2</StatusCode>\n  <RunAs>1</RunAs>\n  <IsTransacted>1</IsTransacted>\n  <IntroducedVersion>1.0.0.0</IntroducedVersion>\n  <IsCustomizable>1</IsCustomizable>\n  <BusinessProcessType>0</BusinessProcessType>\n  <IsCustomProcessingStepAllowedForOtherPublishers>1</IsCustomProcessingStepAllowedForOtherPublishers>\n  <PrimaryEntity>none</PrimaryEntity>\n  <LocalizedNames>\n    <LocalizedName languagecode=\"1033\" description=\"Flow {i}\" />\n  </LocalizedNames>\n</Workflow>\n",
        g.to_uppercase()
    )
}

pub fn solution_xml() -> String {
    "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ImportExportXml version=\"9.2\" SolutionPackageVersion=\"9.2\" languagecode=\"1033\" generatedBy=\"CrmLive\">\n  <SolutionManifest>\n    <UniqueName>Billing</UniqueName>\n    <Version>1.0.0.0</Version>\n    <Managed>0</Managed>\n    <Publisher>\n      <UniqueName>contosopub</UniqueName>\n      <CustomizationPrefix>contoso</CustomizationPrefix>\n    </Publisher>\n    <RootComponents />\n    <MissingDependencies />\n  </SolutionManifest>\n</ImportExportXml>\n".to_owned()
}

pub fn customizations_xml(refs: usize) -> String {
    let mut x = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ImportExportXml>\n  <Entities />\n  <Roles />\n  <Workflows />\n  <connectionreferences>\n",
    );
    for r in 0..refs {
        let (ln, api) = reference(r, refs);
        let _ = write!(
            x,
            "    <connectionreference connectionreferencelogicalname=\"{ln}\">\n      <connectionreferencedisplayname>Purpose {r}</connectionreferencedisplayname>\n      <connectorid>/providers/Microsoft.PowerApps/apis/{api}</connectorid>\n      <iscustomizable>1</iscustomizable>\n      <promptingbehavior>0</promptingbehavior>\n      <statecode>0</statecode>\n      <statuscode>1</statuscode>\n    </connectionreference>\n"
        );
    }
    x.push_str("  </connectionreferences>\n  <Languages>\n    <Language>1033</Language>\n  </Languages>\n</ImportExportXml>\n");
    x
}

/// Every file of the generated tree: `(path, content)`.
pub fn files(flows: usize, refs: usize) -> Vec<(String, String)> {
    let mut v = vec![
        ("src/Other/Solution.xml".to_owned(), solution_xml()),
        ("src/Other/Customizations.xml".to_owned(), customizations_xml(refs)),
    ];
    for i in 0..flows {
        v.push((flow_path(i), flow_json(i, refs, 0)));
        v.push((format!("{}.data.xml", flow_path(i)), data_xml(i)));
    }
    v
}

pub fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args(["-c", "user.name=b", "-c", "user.email=b@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "git {args:?} failed");
}

/// A working tree with the generated solution committed once.
pub fn generate(flows: usize, refs: usize) -> Repo {
    let dir = tempfile::tempdir().expect("temp dir");
    for (p, c) in files(flows, refs) {
        let p = dir.path().join(p);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, c).expect("write");
    }
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-qm", "generated"]);
    Repo {
        dir,
        flows,
        references: refs,
    }
}

/// A repository (no working tree needed) with `commits` commits on top of the generated tree,
/// each changing one flow, written with `git fast-import` so that generating it is quick.
pub fn generate_history(flows: usize, refs: usize, commits: usize) -> Repo {
    let dir = tempfile::tempdir().expect("temp dir");
    git(dir.path(), &["init", "-q"]);
    let mut s = String::new();
    let mut mark = 0;
    let mut commit = |s: &mut String, msg: &str, files: &[(String, String)]| {
        mark += 1;
        let _ = write!(
            s,
            "commit refs/heads/main\nmark :{mark}\ncommitter b <b@example.com> {} +0000\ndata {}\n{msg}\n",
            1_700_000_000 + mark * 60,
            msg.len() + 1
        );
        if mark > 1 {
            let _ = writeln!(s, "from :{}", mark - 1);
        }
        for (p, c) in files {
            let _ = write!(s, "M 100644 inline {p}\ndata {}\n{c}\n", c.len());
        }
    };
    commit(&mut s, "generated", &files(flows, refs));
    for c in 1..commits {
        let i = (c * 7919) % flows;
        commit(&mut s, &format!("change flow {i}"), &[(flow_path(i), flow_json(i, refs, c))]);
    }
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .spawn()
        .expect("git fast-import");
    {
        use std::io::Write;
        child.stdin.take().expect("stdin").write_all(s.as_bytes()).expect("write stream");
    }
    assert!(child.wait().is_ok_and(|s| s.success()), "fast-import failed");
    git(dir.path(), &["symbolic-ref", "HEAD", "refs/heads/main"]);
    Repo {
        dir,
        flows,
        references: refs,
    }
}

pub fn connref() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_connref"))
}

/// The median wall time of `runs` runs of a command (stdout discarded), after one warm-up.
pub fn time(runs: usize, mut cmd: impl FnMut() -> Command) -> Duration {
    let _ = cmd().stdout(Stdio::null()).stderr(Stdio::null()).status();
    let mut v: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let _ = cmd().stdout(Stdio::null()).stderr(Stdio::null()).status();
            t.elapsed()
        })
        .collect();
    v.sort();
    v[v.len() / 2]
}

pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Medians of `runs` runs of two commands, interleaved so that a change in the machine's load
/// (the benches run on shared machines) hits both alike.
pub fn time_pair(runs: usize, mut a: impl FnMut() -> Command, mut b: impl FnMut() -> Command) -> (Duration, Duration) {
    let one = |cmd: &mut dyn FnMut() -> Command| {
        let t = Instant::now();
        let _ = cmd().stdout(Stdio::null()).stderr(Stdio::null()).status();
        t.elapsed()
    };
    one(&mut a);
    one(&mut b);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        x.push(one(&mut a));
        y.push(one(&mut b));
    }
    x.sort();
    y.sort();
    (x[runs / 2], y[runs / 2])
}
