//! Loading: read the files that discovery names from a tree (the working tree, or a git
//! revision) and parse them into a `Snapshot`. Bad files become CR900 findings; the rest of the
//! tree is still read.

pub mod settings;
pub mod worktree;

use std::collections::BTreeMap;
use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::config::Config;
use crate::discover::{self, RootFiles};
use crate::finding::{Finding, Loc};
use crate::model::{Flow, Snapshot, Solution};
use crate::parse::{self, ParseError};
use crate::text::{self, SourceFile};

/// A tree of files: repository-relative, `/`-separated paths.
pub trait Source: Sync {
    /// `worktree`, `index`, or a commit id.
    fn label(&self) -> String;
    /// Every file path, sorted.
    fn files(&self) -> &[String];
    fn read(&self, path: &str) -> io::Result<Vec<u8>>;
    /// Problems met while listing the tree (unreadable folders, link loops, paths that are
    /// not UTF-8), reported as CR900 so that nothing is skipped in silence.
    fn listing_problems(&self) -> Vec<Finding> {
        Vec::new()
    }
}

/// Reads and decodes one file, or says why it cannot be.
pub fn read_source(source: &dyn Source, path: &str) -> Result<SourceFile, Box<Finding>> {
    let bytes = source
        .read(path)
        .map_err(|e| cr900(Loc::file(path), format!("cannot read the file: {e}")))?;
    // Decoding consumes the buffer; the raw bytes are only needed again to place an error.
    let decoded = text::decode(bytes).map_err(|e| match source.read(path) {
        Ok(raw) => {
            // Point at the bad byte: the text before it is valid, so its lines can be counted.
            let before = String::from_utf8_lossy(&raw[..e.offset.min(raw.len())])
                .trim_start_matches('\u{feff}')
                .to_owned();
            let before = SourceFile::new(path, before);
            cr900(before.loc(before.text.len(), 0), e.message)
        }
        Err(_) => cr900(Loc::file(path), e.message),
    })?;
    Ok(SourceFile::new(path, decoded))
}

pub fn cr900(loc: Loc, message: impl Into<String>) -> Finding {
    Finding::new("CR900", loc, message.into())
        .help("fix the file so that it parses; connref checked every other file, but nothing in this one")
}

fn parse_failure(file: &SourceFile, e: ParseError) -> Finding {
    cr900(file.loc(e.offset, 1), e.message)
}

/// One unit of parsing work; jobs run on all cores.
enum Job<'a> {
    Manifest(usize, &'a str),
    Customizations(usize, &'a str),
    Flow(usize, &'a str, Option<&'a str>),
    EnvVar(usize, &'a str),
    App(usize, &'a str),
    Bot(usize, &'a str),
}

enum Parsed {
    Manifest(usize, Option<parse::solution::Manifest>),
    Customizations(usize, parse::customizations::Customizations),
    Flow(usize, Flow),
    EnvVar(usize, crate::model::EnvVar),
    App(usize, crate::model::CanvasApp),
    Bot(usize, Vec<crate::model::BotLink>),
}

struct Output {
    parsed: Vec<Parsed>,
    problems: Vec<Finding>,
    sources: Vec<SourceFile>,
}

/// Reads every solution and every deployment settings file in `source` (restricted to paths
/// under `scope`, when given), skipping what `config.exclude` names.
pub fn snapshot(source: &dyn Source, scope: Option<&str>, config: &Config) -> Snapshot {
    let files: Vec<String> = match scope {
        Some(s) if !s.is_empty() => source
            .files()
            .iter()
            .filter(|f| f.strip_prefix(s).is_some_and(|r| r.starts_with('/')))
            .cloned()
            .collect(),
        _ => source.files().to_vec(),
    };
    let layout = discover::layout(&files, &config.exclude_set);
    let jobs = jobs(&layout.roots);
    let out = run_jobs(source, &jobs);
    let mut snapshot = assemble(source.label(), &layout.roots, out, source.listing_problems());
    let kept: Vec<String> = files
        .into_iter()
        .filter(|f| !config.exclude_set.is_match(f.as_str()) && !f.split('/').any(|seg| discover::SKIPPED_DIRS.contains(&seg)))
        .collect();
    let found = settings::discover(source, &kept, &layout.other_json, &snapshot.solutions, config);
    snapshot.settings = found.files;
    snapshot.problems.extend(found.problems);
    snapshot.problems.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    snapshot.sources.extend(found.sources.into_iter().map(|f| (f.path.clone(), f)));
    snapshot
}

fn jobs(roots: &[RootFiles]) -> Vec<Job<'_>> {
    let mut jobs = Vec::new();
    for (i, r) in roots.iter().enumerate() {
        jobs.push(Job::Manifest(i, &r.solution_xml));
        jobs.push(Job::Customizations(i, &r.customizations_xml));
        jobs.extend(r.flows.iter().map(|(j, d)| Job::Flow(i, j, d.as_deref())));
        jobs.extend(r.env_vars.iter().map(|p| Job::EnvVar(i, p)));
        jobs.extend(r.apps.iter().map(|p| Job::App(i, p)));
        jobs.extend(r.bot_sets.iter().map(|p| Job::Bot(i, p)));
    }
    jobs
}

fn run_jobs(source: &dyn Source, jobs: &[Job<'_>]) -> Output {
    let next = AtomicUsize::new(0);
    let out = Mutex::new(Output {
        parsed: Vec::new(),
        problems: Vec::new(),
        sources: Vec::new(),
    });
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(jobs.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut local = Output {
                    parsed: Vec::new(),
                    problems: Vec::new(),
                    sources: Vec::new(),
                };
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    run_job(source, job, &mut local);
                }
                // A poisoned lock means another worker panicked; its panic is re-raised by
                // `scope`, so recovering the data here loses nothing.
                let mut all = out.lock().unwrap_or_else(|e| e.into_inner());
                all.parsed.append(&mut local.parsed);
                all.problems.append(&mut local.problems);
                all.sources.append(&mut local.sources);
            });
        }
    });
    out.into_inner().unwrap_or_else(|e| e.into_inner())
}

fn run_job(source: &dyn Source, job: &Job<'_>, out: &mut Output) {
    let mut read = |path: &str| match read_source(source, path) {
        Ok(f) => {
            out.sources.push(f.clone());
            Some(f)
        }
        Err(finding) => {
            out.problems.push(*finding);
            None
        }
    };
    let mut outcome: Vec<Result<Parsed, Finding>> = Vec::new();
    match *job {
        Job::Manifest(i, p) => {
            if let Some(f) = read(p) {
                outcome.push(
                    parse::solution::parse(&f)
                        .map(|m| Parsed::Manifest(i, m))
                        .map_err(|e| parse_failure(&f, e)),
                );
            }
        }
        Job::Customizations(i, p) => {
            if let Some(f) = read(p) {
                outcome.push(
                    parse::customizations::parse(&f)
                        .map(|c| Parsed::Customizations(i, c))
                        .map_err(|e| parse_failure(&f, e)),
                );
            }
        }
        Job::Flow(i, json, data) => {
            let meta = data.and_then(&mut read).and_then(|f| match parse::flow::parse_meta(&f) {
                Ok(m) => Some(m),
                Err(e) => {
                    outcome.push(Err(parse_failure(&f, e)));
                    None
                }
            });
            if let Some(f) = read(json) {
                match parse::flow::parse_body(&f) {
                    Ok(body) => outcome.push(Ok(Parsed::Flow(i, flow(&f, body, meta)))),
                    Err(e) => outcome.push(Err(parse_failure(&f, e))),
                }
            }
        }
        Job::EnvVar(i, p) => {
            if let Some(f) = read(p) {
                outcome.push(
                    parse::envvar::parse(&f)
                        .map(|v| Parsed::EnvVar(i, v))
                        .map_err(|e| parse_failure(&f, e)),
                );
            }
        }
        Job::App(i, p) => {
            if let Some(f) = read(p) {
                outcome.push(
                    parse::canvas::parse(&f)
                        .map(|a| Parsed::App(i, a))
                        .map_err(|e| parse_failure(&f, e)),
                );
            }
        }
        Job::Bot(i, p) => {
            if let Some(f) = read(p) {
                outcome.push(parse::bot::parse(&f).map(|b| Parsed::Bot(i, b)).map_err(|e| parse_failure(&f, e)));
            }
        }
    }
    for o in outcome {
        match o {
            Ok(p) => out.parsed.push(p),
            Err(f) => out.problems.push(f),
        }
    }
}

fn flow(file: &SourceFile, body: parse::flow::FlowBody, meta: Option<(Option<String>, crate::model::FlowMeta)>) -> Flow {
    let file_name = file.path.rsplit('/').next().unwrap_or(&file.path);
    let from_name = parse::flow::split_file_name(file_name);
    let (meta_id, meta) = match meta {
        Some((id, m)) => (id, Some(m)),
        None => (None, None),
    };
    let id = from_name
        .as_ref()
        .map(|(_, g)| g.clone())
        .or(meta_id)
        .unwrap_or_else(|| file_name.trim_end_matches(".json").to_ascii_lowercase());
    let name = meta
        .as_ref()
        .and_then(|m| m.name.clone())
        .or_else(|| from_name.map(|(n, _)| n.to_owned()))
        .unwrap_or_else(|| file_name.trim_end_matches(".json").to_owned());
    Flow {
        id,
        path: file.path.clone(),
        name,
        meta,
        entries: body.entries,
        hosts: body.hosts,
        child_flows: body.child_flows,
        env_vars: body.env_vars,
    }
}

fn assemble(label: String, roots: &[RootFiles], out: Output, mut problems: Vec<Finding>) -> Snapshot {
    let mut manifests: BTreeMap<usize, parse::solution::Manifest> = BTreeMap::new();
    let mut customs: BTreeMap<usize, parse::customizations::Customizations> = BTreeMap::new();
    let mut parts: BTreeMap<usize, Vec<Parsed>> = BTreeMap::new();
    for p in out.parsed {
        match p {
            Parsed::Manifest(i, Some(m)) => {
                manifests.insert(i, m);
            }
            Parsed::Manifest(_, None) => {}
            Parsed::Customizations(i, c) => {
                customs.insert(i, c);
            }
            Parsed::Flow(i, _) | Parsed::EnvVar(i, _) | Parsed::App(i, _) | Parsed::Bot(i, _) => parts.entry(i).or_default().push(p),
        }
    }
    let mut solutions = Vec::new();
    for (i, r) in roots.iter().enumerate() {
        // A root whose manifest failed to parse has a CR900 already; one whose manifest is
        // well-formed but not a solution is a decoy and is not a solution at all.
        let Some(m) = manifests.remove(&i) else { continue };
        let custom = customs.remove(&i);
        let mut s = Solution {
            root: r.root.clone(),
            unique_name: m.unique_name,
            unique_name_loc: m.unique_name_loc,
            version: m.version,
            managed: m.managed,
            publisher: m.publisher,
            prefix: m.prefix,
            prefix_loc: m.prefix_loc,
            missing_references: m.missing_references,
            references_loc: custom
                .as_ref()
                .map_or_else(|| Loc::file(&r.customizations_xml), |c| c.references_loc.clone()),
            references: custom.map(|c| c.references).unwrap_or_default(),
            flows: Vec::new(),
            env_vars: Vec::new(),
            apps: Vec::new(),
            bot_links: Vec::new(),
        };
        for p in parts.remove(&i).unwrap_or_default() {
            match p {
                Parsed::Flow(_, f) => s.flows.push(f),
                Parsed::EnvVar(_, v) => s.env_vars.push(v),
                Parsed::App(_, a) => s.apps.push(a),
                Parsed::Bot(_, b) => s.bot_links.extend(b),
                Parsed::Manifest(..) | Parsed::Customizations(..) => {}
            }
        }
        s.flows.sort_by(|a, b| a.path.cmp(&b.path));
        s.env_vars.sort_by(|a, b| a.loc.path.cmp(&b.loc.path));
        s.apps.sort_by(|a, b| a.path.cmp(&b.path));
        solutions.push(s);
    }
    problems.extend(out.problems);
    problems.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let sources = out.sources.into_iter().map(|f| (f.path.clone(), f)).collect();
    Snapshot {
        label,
        solutions,
        settings: Vec::new(),
        problems,
        sources,
    }
}
