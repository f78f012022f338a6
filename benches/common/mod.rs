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

/// The sizes in bytes of the 37 `Workflows/*.json` files of the real exports in shared/corpus
/// (median 11 KB, mean 15 KB): each generated flow is padded to one of them, so the workload
/// has the spread of real flows rather than one small size.
pub const CORPUS_FLOW_SIZES: [usize; 37] = [
    1189, 2032, 2704, 2704, 3439, 3741, 3875, 5289, 5563, 6331, 7001, 7285, 7573, 7606, 7749, 8929, 10581, 11136, 11136, 12844, 13898,
    13950, 15290, 16386, 16817, 18340, 22460, 22866, 26130, 27756, 28039, 31763, 32345, 32869, 33139, 35782, 42841,
];

/// Flows per solution: a repository of 2,000 flows holds four solutions, as large real
/// repositories split them.
pub const FLOWS_PER_SOLUTION: usize = 500;

pub struct Repo {
    pub dir: tempfile::TempDir,
    pub flows: usize,
    pub references: usize,
}

impl Repo {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Bytes of the working tree without `.git`.
    pub fn tree_bytes(&self) -> u64 {
        walkdir_bytes(self.path())
    }
}

fn walkdir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(dir).expect("read dir").flatten() {
        let t = e.file_type().expect("file type");
        if e.file_name() == ".git" {
            continue;
        }
        if t.is_dir() {
            total += walkdir_bytes(&e.path());
        } else {
            total += e.metadata().map(|m| m.len()).unwrap_or(0);
        }
    }
    total
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

fn solutions(flows: usize) -> usize {
    flows.div_ceil(FLOWS_PER_SOLUTION).max(1)
}

/// Reference `r` of solution `s`: its logical name and connector.
pub fn reference(s: usize, r: usize) -> (String, &'static str) {
    let (api, short) = CONNECTORS[r % CONNECTORS.len()];
    (format!("contoso_s{s}purpose{r}_{short}"), api)
}

/// The relative path of flow `i`'s JSON file.
pub fn flow_path(i: usize) -> String {
    format!(
        "Solution{}/src/Workflows/Flow{i}-{}.json",
        i / FLOWS_PER_SOLUTION,
        guid(i).to_uppercase()
    )
}

/// Flow `i` of a repository with `refs` references per solution, bound to two of them;
/// `variant` changes the text a little. Padded with actions to a size of the corpus.
pub fn flow_json(i: usize, refs: usize, variant: usize) -> String {
    let s = i / FLOWS_PER_SOLUTION;
    let bind = [(i + variant) % refs, (i * 3 + 1) % refs];
    let target = CORPUS_FLOW_SIZES[(i * 13) % CORPUS_FLOW_SIZES.len()];
    let mut entries = Vec::new();
    let mut keys = Vec::new();
    for (k, r) in bind.iter().enumerate() {
        let (ln, api) = reference(s, *r);
        let key = format!("{api}_{k}");
        entries.push(format!(
            "      \"{key}\": {{\n        \"runtimeSource\": \"embedded\",\n        \"connection\": {{\n          \"connectionReferenceLogicalName\": \"{ln}\"\n        }},\n        \"api\": {{\n          \"name\": \"{api}\"\n        }}\n      }}"
        ));
        keys.push((key, api));
    }
    let head = format!(
        "{{\n  \"properties\": {{\n    \"connectionReferences\": {{\n{}\n    }},\n    \"definition\": {{\n      \"$schema\": \"https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#\",\n      \"contentVersion\": \"1.0.0.0\",\n      \"parameters\": {{\n        \"$connections\": {{\n          \"defaultValue\": {{}},\n          \"type\": \"Object\"\n        }},\n        \"$authentication\": {{\n          \"defaultValue\": {{}},\n          \"type\": \"SecureObject\"\n        }}\n      }},\n      \"triggers\": {{\n        \"Recurrence\": {{\n          \"recurrence\": {{\n            \"frequency\": \"Day\",\n            \"interval\": 1\n          }},\n          \"type\": \"Recurrence\"\n        }}\n      }},\n      \"actions\": {{\n",
        entries.join(",\n")
    );
    let tail = "\n      }\n    },\n    \"templateName\": null\n  },\n  \"schemaVersion\": \"1.0.0.0\"\n}\n";
    let mut actions: Vec<String> = Vec::new();
    let mut len = head.len() + tail.len();
    let mut a = 0;
    // At least one action per connection entry, then actions of the kinds real flows hold
    // (connector calls, conditions with nested actions, composes) until the corpus size.
    while a < keys.len() || len < target {
        let (key, api) = &keys[a % keys.len()];
        let action = match a % 3 {
            0 => format!(
                "        \"Call_{a}\": {{\n          \"runAfter\": {{}},\n          \"metadata\": {{\n            \"operationMetadataId\": \"{}\"\n          }},\n          \"type\": \"OpenApiConnection\",\n          \"inputs\": {{\n            \"host\": {{\n              \"apiId\": \"/providers/Microsoft.PowerApps/apis/{api}\",\n              \"connectionName\": \"{key}\",\n              \"operationId\": \"Operation{a}\"\n            }},\n            \"parameters\": {{\n              \"item/Title\": \"@{{triggerOutputs()?['body/Title']}} number {i} variant {variant}\",\n              \"item/Description\": \"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore\",\n              \"table\": \"contoso_items\"\n            }},\n            \"authentication\": \"@parameters('$authentication')\"\n          }}\n        }}",
                guid(i * 100 + a)
            ),
            1 => format!(
                "        \"Condition_{a}\": {{\n          \"actions\": {{\n            \"Set_status_{a}\": {{\n              \"runAfter\": {{}},\n              \"type\": \"SetVariable\",\n              \"inputs\": {{\n                \"name\": \"status\",\n                \"value\": \"@{{concat('done ', string(outputs('Call_{p}')?['body/statuscode']))}}\"\n              }}\n            }}\n          }},\n          \"runAfter\": {{\n            \"Call_{p}\": [\n              \"Succeeded\"\n            ]\n          }},\n          \"else\": {{\n            \"actions\": {{\n              \"Terminate_{a}\": {{\n                \"runAfter\": {{}},\n                \"type\": \"Terminate\",\n                \"inputs\": {{\n                  \"runStatus\": \"Failed\",\n                  \"runError\": {{\n                    \"code\": \"500\",\n                    \"message\": \"@{{body('Call_{p}')?['error']?['message']}}\"\n                  }}\n                }}\n              }}\n            }}\n          }},\n          \"expression\": {{\n            \"and\": [\n              {{\n                \"equals\": [\n                  \"@outputs('Call_{p}')?['statusCode']\",\n                  200\n                ]\n              }}\n            ]\n          }},\n          \"metadata\": {{\n            \"operationMetadataId\": \"{}\"\n          }},\n          \"type\": \"If\"\n        }}",
                guid(i * 100 + a),
                p = a - 1
            ),
            _ => format!(
                "        \"Compose_{a}\": {{\n          \"runAfter\": {{\n            \"Condition_{p}\": [\n              \"Succeeded\"\n            ]\n          }},\n          \"metadata\": {{\n            \"operationMetadataId\": \"{}\"\n          }},\n          \"type\": \"Compose\",\n          \"inputs\": {{\n            \"id\": \"@{{guid()}}\",\n            \"items\": \"@body('Call_{q}')?['value']\",\n            \"note\": \"Résumé of run {i} — ümlauts and emoji ✅ stay in real flows\"\n          }}\n        }}",
                guid(i * 100 + a),
                p = a - 1,
                q = a - 2
            ),
        };
        len += action.len() + 2;
        actions.push(action);
        a += 1;
    }
    format!("{head}{}{tail}", actions.join(",\n"))
}

pub fn data_xml(i: usize) -> String {
    let g = guid(i);
    format!(
        "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Workflow WorkflowId=\"{{{g}}}\" Name=\"Flow {i}\">\n  <JsonFileName>/Workflows/Flow{i}-{}.json</JsonFileName>\n  <Type>1</Type>\n  <Subprocess>0</Subprocess>\n  <Category>5</Category>\n  <Mode>0</Mode>\n  <Scope>4</Scope>\n  <OnDemand>0</OnDemand>\n  <TriggerOnCreate>0</TriggerOnCreate>\n  <TriggerOnDelete>0</TriggerOnDelete>\n  <AsyncAutodelete>0</AsyncAutodelete>\n  <SyncWorkflowLogOnFailure>0</SyncWorkflowLogOnFailure>\n  <StateCode>1</StateCode>\n  <StatusCode>2</StatusCode>\n  <RunAs>1</RunAs>\n  <IsTransacted>1</IsTransacted>\n  <IntroducedVersion>1.0.0.0</IntroducedVersion>\n  <IsCustomizable>1</IsCustomizable>\n  <BusinessProcessType>0</BusinessProcessType>\n  <IsCustomProcessingStepAllowedForOtherPublishers>1</IsCustomProcessingStepAllowedForOtherPublishers>\n  <PrimaryEntity>none</PrimaryEntity>\n  <LocalizedNames>\n    <LocalizedName languagecode=\"1033\" description=\"Flow {i}\" />\n  </LocalizedNames>\n</Workflow>\n",
        g.to_uppercase()
    )
}

pub fn solution_xml(s: usize) -> String {
    format!(
        "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ImportExportXml version=\"9.2\" SolutionPackageVersion=\"9.2\" languagecode=\"1033\" generatedBy=\"CrmLive\">\n  <SolutionManifest>\n    <UniqueName>Solution{s}</UniqueName>\n    <Version>1.0.0.0</Version>\n    <Managed>0</Managed>\n    <Publisher>\n      <UniqueName>contosopub</UniqueName>\n      <CustomizationPrefix>contoso</CustomizationPrefix>\n    </Publisher>\n    <RootComponents />\n    <MissingDependencies />\n  </SolutionManifest>\n</ImportExportXml>\n"
    )
}

pub fn customizations_xml(s: usize, refs: usize) -> String {
    let mut x = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ImportExportXml>\n  <Entities />\n  <Roles />\n  <Workflows />\n  <connectionreferences>\n",
    );
    for r in 0..refs {
        let (ln, api) = reference(s, r);
        let _ = write!(
            x,
            "    <connectionreference connectionreferencelogicalname=\"{ln}\">\n      <connectionreferencedisplayname>Purpose {r}</connectionreferencedisplayname>\n      <connectorid>/providers/Microsoft.PowerApps/apis/{api}</connectorid>\n      <iscustomizable>1</iscustomizable>\n      <promptingbehavior>0</promptingbehavior>\n      <statecode>0</statecode>\n      <statuscode>1</statuscode>\n    </connectionreference>\n"
        );
    }
    x.push_str("  </connectionreferences>\n  <Languages>\n    <Language>1033</Language>\n  </Languages>\n</ImportExportXml>\n");
    x
}

/// References per solution for a repository of `flows` flows and `refs` references in all.
pub fn refs_per_solution(flows: usize, refs: usize) -> usize {
    (refs / solutions(flows)).max(2)
}

/// Every file of the generated tree: `(path, content)`. `refs` is the number of references in
/// the whole repository, spread over its solutions.
pub fn files(flows: usize, refs: usize) -> Vec<(String, String)> {
    let per = refs_per_solution(flows, refs);
    let mut v = Vec::new();
    for s in 0..solutions(flows) {
        v.push((format!("Solution{s}/src/Other/Solution.xml"), solution_xml(s)));
        v.push((format!("Solution{s}/src/Other/Customizations.xml"), customizations_xml(s, per)));
    }
    for i in 0..flows {
        v.push((flow_path(i), flow_json(i, per, 0)));
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
    settle();
    Repo {
        dir,
        flows,
        references: refs,
    }
}

/// Writes what generating left in memory to disk before timing starts: the kernel writing
/// back 40 MB of new files while connref and grep run would be timed as theirs.
pub fn settle() {
    let _ = Command::new("sync").status();
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
    let per = refs_per_solution(flows, refs);
    for c in 1..commits {
        let i = (c * 7919) % flows;
        commit(&mut s, &format!("change flow {i}"), &[(flow_path(i), flow_json(i, per, c))]);
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
    settle();
    Repo {
        dir,
        flows,
        references: refs,
    }
}

pub fn connref() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_connref"))
}

/// One run of a command: its wall time and peak resident set size.
#[derive(Clone, Copy)]
pub struct Sample {
    pub wall: Duration,
    /// Peak RSS in KiB (from wait4's rusage); 0 where it cannot be had.
    pub max_rss_kib: u64,
}

/// Runs `cmd` to its end with its output written to `out`, not /dev/null: GNU grep notices
/// /dev/null and stops at the first match of each file, which would time less work than it
/// does for a user.
///
/// On Linux the command is started by a fresh copy of this bench binary (see
/// [`serve_measurement`]): a child's peak RSS as wait4 reports it includes the memory of the
/// process that spawned it, and this one holds the generated repositories.
pub fn sample(cmd: &mut Command, out: &Path) -> Sample {
    let file = std::fs::File::create(out).expect("output file");
    if cfg!(target_os = "linux") {
        let mut helper = Command::new(std::env::current_exe().expect("bench binary"));
        helper.env(MEASURE, "1").arg(cmd.get_program()).args(cmd.get_args());
        if let Some(dir) = cmd.get_current_dir() {
            helper.current_dir(dir);
        }
        let report = helper.stdout(file).stderr(Stdio::piped()).output().expect("measuring helper");
        let text = String::from_utf8_lossy(&report.stderr);
        let line = text
            .lines()
            .rfind(|l| l.starts_with("measured "))
            .unwrap_or_else(|| panic!("no measurement: {text}"));
        let mut it = line.split_whitespace().skip(1).map(|n| n.parse::<u64>().expect("number"));
        let (nanos, rss) = (it.next().expect("wall"), it.next().expect("rss"));
        return Sample {
            wall: Duration::from_nanos(nanos),
            max_rss_kib: rss,
        };
    }
    cmd.stdout(file).stderr(Stdio::null());
    let t = Instant::now();
    let _ = cmd.status().expect("run");
    Sample {
        wall: t.elapsed(),
        max_rss_kib: 0,
    }
}

const MEASURE: &str = "CONNREF_BENCH_MEASURE";

/// Call first in a bench's `main`: when this process is the measuring helper of [`sample`], runs
/// the command given in its arguments (stdout inherited), waits for it with wait4 and prints
/// `measured <wall ns> <peak RSS KiB>` on stderr, then exits.
pub fn serve_measurement() {
    if std::env::var_os(MEASURE).is_none() {
        return;
    }
    let mut args = std::env::args_os().skip(1);
    let program = args.next().expect("program");
    let mut cmd = Command::new(program);
    cmd.args(args).env_remove(MEASURE).stderr(Stdio::null());
    let t = Instant::now();
    let child = cmd.spawn().expect("spawn");
    #[cfg(target_os = "linux")]
    {
        let mut status = 0;
        // SAFETY: rusage is plain data; wait4 reaps our own child exactly once (the Child handle
        // is then dropped without waiting).
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let pid = child.id() as libc::pid_t;
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        let wall = t.elapsed();
        assert_eq!(r, pid, "wait4 failed");
        drop(child);
        eprintln!("measured {} {}", wall.as_nanos(), usage.ru_maxrss);
    }
    #[cfg(not(target_os = "linux"))]
    drop((child, t));
    std::process::exit(0);
}

pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// The medians of several runs of one command.
pub struct Stats {
    pub wall: Duration,
    pub max_rss_kib: u64,
}

fn median(mut v: Vec<Sample>) -> Stats {
    v.sort_by_key(|s| s.wall);
    let wall = v[v.len() / 2].wall;
    let mut rss: Vec<u64> = v.iter().map(|s| s.max_rss_kib).collect();
    rss.sort();
    Stats {
        wall,
        max_rss_kib: rss[rss.len() / 2],
    }
}

/// Medians of `runs` runs of two commands, interleaved (a, b, a, b, …) after one warm-up run of
/// each, so that a change in the machine's load (the benches run on shared machines) hits both
/// alike.
pub fn time_pair(runs: usize, mut a: impl FnMut() -> Command, mut b: impl FnMut() -> Command) -> (Stats, Stats) {
    let out = std::env::temp_dir().join(format!("connref-bench-out-{}", std::process::id()));
    sample(&mut a(), &out);
    sample(&mut b(), &out);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        x.push(sample(&mut a(), &out));
        y.push(sample(&mut b(), &out));
    }
    let _ = std::fs::remove_file(&out);
    (median(x), median(y))
}

/// The load average of the machine while the benchmark ran (Linux), to print beside the figures.
pub fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}
