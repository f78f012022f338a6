//! Loading: read the files that discovery names from a tree (the working tree, or a git
//! revision) and parse them into a `Snapshot`. Bad files become CR900 findings; the rest of the
//! tree is still read.

pub mod git;
pub mod settings;
pub mod worktree;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::config::Config;
use crate::discover::{self, RootFiles};
use crate::finding::{Finding, Loc};
use crate::model::{BotLink, CanvasApp, EnvVar, Flow, Snapshot, Solution};
use crate::parse::{self, ParseError};
use crate::rules::registry;
use crate::text::{self, SourceFile};

/// A tree of files: repository-relative, `/`-separated paths.
pub trait Source: Sync {
    /// `worktree`, `index`, or a commit id.
    fn label(&self) -> String;
    /// Every file path, sorted.
    fn files(&self) -> &[String];
    fn read(&self, path: &str) -> io::Result<Vec<u8>>;
    /// A hint that these paths are about to be read (a git tree reads them in one batch).
    fn prefetch(&self, _paths: &[&str]) {}
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
    Finding::new(&registry::CR900, loc, message.into())
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

impl Job<'_> {
    fn paths(&self) -> Vec<&str> {
        match *self {
            Job::Flow(_, json, data) => std::iter::once(json).chain(data).collect(),
            Job::Manifest(_, p) | Job::Customizations(_, p) | Job::EnvVar(_, p) | Job::App(_, p) | Job::Bot(_, p) => vec![p],
        }
    }
}

enum Parsed {
    Manifest(usize, Option<parse::solution::Manifest>),
    Customizations(usize, parse::customizations::Customizations),
    Flow(usize, Arc<Flow>),
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
    snapshot_with(source, scope, config, None)
}

/// Parsed pieces of another snapshot of the same repository, reused for every file that did
/// not change between the two trees. Comparing a base with a head then reads and parses only
/// the changed blobs at the base (plus each root's two small XML files).
pub struct Reuse<'a> {
    changed: &'a BTreeSet<String>,
    flows: HashMap<&'a str, &'a Arc<Flow>>,
    env_vars: HashMap<&'a str, &'a EnvVar>,
    apps: HashMap<&'a str, &'a CanvasApp>,
    bots: HashMap<&'a str, Vec<&'a BotLink>>,
    /// Solutions by the path of their Solution.xml and of their Customizations.xml.
    manifests: HashMap<&'a str, &'a Solution>,
    customizations: HashMap<&'a str, &'a Solution>,
}

impl<'a> Reuse<'a> {
    /// `changed`: every path whose content differs between `other`'s tree and the tree to load.
    pub fn new(other: &'a Snapshot, changed: &'a BTreeSet<String>) -> Self {
        let mut r = Reuse {
            changed,
            flows: HashMap::new(),
            env_vars: HashMap::new(),
            apps: HashMap::new(),
            bots: HashMap::new(),
            manifests: HashMap::new(),
            customizations: HashMap::new(),
        };
        for s in &other.solutions {
            r.manifests.insert(&s.unique_name_loc.path, s);
            r.customizations.insert(&s.references_loc.path, s);
            r.flows.extend(s.flows.iter().map(|f| (&*f.path, f)));
            r.env_vars.extend(s.env_vars.iter().map(|v| (&*v.loc.path, v)));
            r.apps.extend(s.apps.iter().map(|a| (&*a.path, a)));
            for b in &s.bot_links {
                r.bots.entry(&*b.loc.path).or_default().push(b);
            }
        }
        r
    }

    fn same(&self, path: &str) -> bool {
        !self.changed.contains(path)
    }

    /// Whether `piece` would answer for `job` (without cloning anything).
    fn covers(&self, job: &Job<'_>) -> bool {
        match *job {
            Job::Flow(_, json, data) => self
                .flows
                .get(json)
                .is_some_and(|f| self.same(json) && data.is_none_or(|d| self.same(d)) && f.meta.as_ref().map(|m| &*m.path) == data),
            Job::EnvVar(_, p) => self.same(p) && self.env_vars.contains_key(p),
            Job::App(_, p) => self.same(p) && self.apps.contains_key(p),
            Job::Bot(_, p) => self.same(p) && self.bots.contains_key(p),
            Job::Manifest(_, p) => self.same(p) && self.manifests.contains_key(p),
            Job::Customizations(_, p) => self.same(p) && self.customizations.contains_key(p),
        }
    }

    fn piece(&self, job: &Job<'_>) -> Option<Parsed> {
        match *job {
            Job::Flow(i, json, data) => {
                let f = self.flows.get(json)?;
                let meta_path = f.meta.as_ref().map(|m| &*m.path);
                (self.same(json) && data.is_none_or(|d| self.same(d)) && meta_path == data).then(|| Parsed::Flow(i, Arc::clone(f)))
            }
            Job::EnvVar(i, p) => self
                .env_vars
                .get(p)
                .filter(|_| self.same(p))
                .map(|v| Parsed::EnvVar(i, (*v).clone())),
            Job::App(i, p) => self.apps.get(p).filter(|_| self.same(p)).map(|a| Parsed::App(i, (*a).clone())),
            Job::Bot(i, p) => self
                .bots
                .get(p)
                .filter(|_| self.same(p))
                .map(|b| Parsed::Bot(i, b.iter().map(|l| (*l).clone()).collect())),
            Job::Manifest(i, p) => self.manifests.get(p).filter(|_| self.same(p)).map(|s| {
                Parsed::Manifest(
                    i,
                    Some(parse::solution::Manifest {
                        unique_name: s.unique_name.clone(),
                        unique_name_loc: s.unique_name_loc.clone(),
                        version: s.version.clone(),
                        managed: s.managed.clone(),
                        publisher: s.publisher.clone(),
                        prefix: s.prefix.clone(),
                        prefix_loc: s.prefix_loc.clone(),
                        missing_references: s.missing_references.clone(),
                    }),
                )
            }),
            Job::Customizations(i, p) => self.customizations.get(p).filter(|_| self.same(p)).map(|s| {
                Parsed::Customizations(
                    i,
                    parse::customizations::Customizations {
                        references: s.references.clone(),
                        references_loc: s.references_loc.clone(),
                    },
                )
            }),
        }
    }
}

/// `snapshot`, reusing the pieces of unchanged files from another snapshot.
pub fn snapshot_with(source: &dyn Source, scope: Option<&str>, config: &Config, reuse: Option<&Reuse<'_>>) -> Snapshot {
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
    let wanted: Vec<&str> = jobs
        .iter()
        .filter(|j| reuse.is_none_or(|r| !r.covers(j)))
        .flat_map(Job::paths)
        .collect();
    source.prefetch(&wanted);
    let out = run_jobs(source, &jobs, reuse);
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

/// Reads and parses one flow (its `.json` and optional `.json.data.xml`).
pub fn load_flow(source: &dyn Source, json: &str, data: Option<&str>) -> Result<Arc<Flow>, Vec<Finding>> {
    let mut out = Output {
        parsed: Vec::new(),
        problems: Vec::new(),
        sources: Vec::new(),
    };
    run_job(source, &Job::Flow(0, json, data), &mut out);
    match out.parsed.pop() {
        Some(Parsed::Flow(_, f)) if out.problems.is_empty() => Ok(f),
        _ => Err(out.problems),
    }
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

fn run_jobs(source: &dyn Source, jobs: &[Job<'_>], reuse: Option<&Reuse<'_>>) -> Output {
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
                    match reuse.and_then(|r| r.piece(job)) {
                        Some(p) => local.parsed.push(p),
                        None => run_job(source, job, &mut local),
                    }
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
                    Ok(body) => outcome.push(Ok(Parsed::Flow(i, Arc::new(flow(&f, body, meta))))),
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
