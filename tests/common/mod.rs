//! Helpers shared by the integration tests: fixture trees in temporary folders, running the
//! binary, and insta snapshots kept in the top-level `snapshots/` folder.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Asserts a snapshot stored as `snapshots/<name>.snap`.
#[macro_export]
macro_rules! snap {
    ($name:expr, $value:expr) => {
        insta::with_settings!({
            snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"),
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!($name, $value);
        })
    };
}

/// A temporary folder with files written into it.
pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Self {
        Fixture {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> &Self {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, content).expect("write");
        self
    }

    pub fn remove(&self, rel: &str) -> &Self {
        std::fs::remove_file(self.dir.path().join(rel)).expect("remove");
        self
    }

    /// Runs `git` in the fixture (tests that need history build real repositories).
    pub fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.com",
                "-c",
                "commit.gpgsign=false",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(self.path())
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the connref binary in `cwd` with a clean environment for CI detection and colour.
pub fn connref(cwd: &Path, args: &[&str]) -> Output {
    connref_with_env(cwd, args, &[])
}

/// Like [`connref`], with these variables set after the clean-up (a step summary file…).
pub fn connref_with_env(cwd: &Path, args: &[&str], vars: &[(&str, &Path)]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_connref"))
        .args(args)
        .current_dir(cwd)
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_EVENT_PATH")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GITHUB_OUTPUT")
        .env_remove("PRE_COMMIT_FROM_REF")
        .env_remove("PRE_COMMIT_TO_REF")
        .env("NO_COLOR", "1")
        .envs(vars.iter().copied())
        .output()
        .expect("connref runs");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A minimal but realistic solution: Solution.xml and Customizations.xml with the given
/// references (`(logical name, display name, api name)`).
pub fn solution(f: &Fixture, root: &str, unique: &str, prefix: &str, refs: &[(&str, &str, &str)]) {
    let j = |p: &str| if root.is_empty() { p.to_owned() } else { format!("{root}/{p}") };
    f.write(
        &j("Other/Solution.xml"),
        format!(
            "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ImportExportXml version=\"9.2\" SolutionPackageVersion=\"9.2\" languagecode=\"1033\" generatedBy=\"CrmLive\">\n  <SolutionManifest>\n    <UniqueName>{unique}</UniqueName>\n    <Version>1.0.0.0</Version>\n    <Managed>0</Managed>\n    <Publisher>\n      <UniqueName>{prefix}pub</UniqueName>\n      <CustomizationPrefix>{prefix}</CustomizationPrefix>\n    </Publisher>\n    <RootComponents />\n    <MissingDependencies />\n  </SolutionManifest>\n</ImportExportXml>\n"
        ),
    );
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ImportExportXml>\n  <Entities />\n  <connectionreferences>\n");
    for (name, display, api) in refs {
        x.push_str(&format!(
            "    <connectionreference connectionreferencelogicalname=\"{name}\">\n      <connectionreferencedisplayname>{display}</connectionreferencedisplayname>\n      <connectorid>/providers/Microsoft.PowerApps/apis/{api}</connectorid>\n      <iscustomizable>1</iscustomizable>\n      <statecode>0</statecode>\n      <statuscode>1</statuscode>\n    </connectionreference>\n"
        ));
    }
    x.push_str("  </connectionreferences>\n  <Languages>\n    <Language>1033</Language>\n  </Languages>\n</ImportExportXml>\n");
    f.write(&j("Other/Customizations.xml"), x);
}

/// A pretty-printed cloud flow with its data.xml. `entries` are `(key, logical name, api name)`;
/// every entry is used by one action.
pub fn flow(f: &Fixture, root: &str, name: &str, guid: &str, state: u8, entries: &[(&str, &str, &str)]) {
    let j = |p: &str| if root.is_empty() { p.to_owned() } else { format!("{root}/{p}") };
    let file = format!("Workflows/{}-{}.json", name.replace(' ', ""), guid.to_ascii_uppercase());
    f.write(&j(&file), flow_json(entries));
    let status = if state == 1 { 2 } else { 1 };
    f.write(
        &j(&format!("{file}.data.xml")),
        format!(
            "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Workflow WorkflowId=\"{{{guid}}}\" Name=\"{name}\">\n  <JsonFileName>/{file}</JsonFileName>\n  <Type>1</Type>\n  <Category>5</Category>\n  <StateCode>{state}</StateCode>\n  <StatusCode>{status}</StatusCode>\n  <PrimaryEntity>none</PrimaryEntity>\n</Workflow>\n"
        ),
    );
}

/// The pretty-printed JSON of a cloud flow, the same in every layout. `entries` are
/// `(key, logical name, api name)`; every entry is used by one action.
pub fn flow_json(entries: &[(&str, &str, &str)]) -> String {
    let refs: Vec<String> = entries
        .iter()
        .map(|(k, ln, api)| format!("      \"{k}\": {{\n        \"runtimeSource\": \"embedded\",\n        \"connection\": {{\n          \"connectionReferenceLogicalName\": \"{ln}\"\n        }},\n        \"api\": {{\n          \"name\": \"{api}\"\n        }}\n      }}"))
        .collect();
    let actions: Vec<String> = entries
        .iter()
        .enumerate()
        .map(|(i, (k, _, api))| format!("        \"Action_{i}\": {{\n          \"type\": \"OpenApiConnection\",\n          \"inputs\": {{\n            \"host\": {{\n              \"apiId\": \"/providers/Microsoft.PowerApps/apis/{api}\",\n              \"connectionName\": \"{k}\",\n              \"operationId\": \"Op\"\n            }}\n          }}\n        }}"))
        .collect();
    format!(
        "{{\n  \"properties\": {{\n    \"connectionReferences\": {{\n{}\n    }},\n    \"definition\": {{\n      \"$schema\": \"https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#\",\n      \"contentVersion\": \"1.0.0.0\",\n      \"triggers\": {{}},\n      \"actions\": {{\n{}\n      }}\n    }}\n  }},\n  \"schemaVersion\": \"1.0.0.0\"\n}}\n",
        refs.join(",\n"),
        actions.join(",\n")
    )
}

/// Copies a folder tree. Files are written anew, so the copy is writable even where the source
/// is not (CI's shared/ has no write bits).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::write(&target, std::fs::read(entry.path()).unwrap()).unwrap();
        }
    }
}
