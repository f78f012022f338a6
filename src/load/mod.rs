//! Loading: read the files that discovery names from a tree (the working tree, or a git
//! revision) and parse them into a `Snapshot`. Bad files become CR900 findings; the rest of the
//! tree is still read.

pub mod flow_edits;
pub mod git;
pub mod history;
pub mod locate;
pub mod settings;
pub mod worktree;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::sync::Arc;

use crate::config::Config;
use crate::discover::{self, FlowFiles, Layout, ManifestFiles, MetaKind, RootFiles};
use crate::finding::{Finding, Loc};
use crate::model::{BotLink, CanvasApp, EnvVar, Flow, FlowMeta, Reference, Snapshot, Solution};
use crate::parse::{self, ParseError};
use crate::rules::registry;
use crate::text::{self, SourceFile};

/// A tree of files: repository-relative, `/`-separated paths.
pub trait Source: Send + Sync {
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

/// Two trees that differ only in `changed`, read as `tree`: a changed file from `tree`, any
/// other from `same`, where it is the same file and cheaper to read (a working tree's file
/// against a blob that would start `git cat-file`).
pub struct Overlay<'a> {
    pub tree: &'a dyn Source,
    pub same: &'a dyn Source,
    pub changed: &'a BTreeSet<String>,
}

impl Source for Overlay<'_> {
    fn label(&self) -> String {
        self.tree.label()
    }

    fn files(&self) -> &[String] {
        self.tree.files()
    }

    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        if self.changed.contains(path) {
            return self.tree.read(path);
        }
        // The file is the same in both: `tree` has it when `same` cannot be read after all
        // (a sparse checkout leaves files out of the working tree that git counts unchanged).
        self.same.read(path).or_else(|_| self.tree.read(path))
    }

    fn prefetch(&self, paths: &[&str]) {
        let changed: Vec<&str> = paths.iter().copied().filter(|p| self.changed.contains(*p)).collect();
        self.tree.prefetch(&changed);
    }

    fn listing_problems(&self) -> Vec<Finding> {
        self.tree.listing_problems()
    }
}

/// A git tree (the index, or a commit) read from the working tree wherever git says that holds
/// the same file: the blob would cost git an inflate and a pipe, the file costs one read. On
/// 2,000 flows, `check --staged` took 0.6 s and held every blob at once before.
pub struct CheckedOut {
    pub tree: git::GitTree,
    pub worktree: worktree::WorkTree,
    /// What the working tree does not hold as `tree` does: changed, deleted, or kept apart by
    /// git (skipped or assumed unchanged, a link, a conflict).
    pub from_git: BTreeSet<String>,
    /// The folder git compared (`""`: all of it); a file outside it is read from git.
    pub compared: String,
}

impl CheckedOut {
    fn overlay(&self) -> Overlay<'_> {
        Overlay {
            tree: &self.tree,
            same: &self.worktree,
            changed: &self.from_git,
        }
    }
}

impl Source for CheckedOut {
    fn label(&self) -> String {
        self.tree.label()
    }

    fn files(&self) -> &[String] {
        self.tree.files()
    }

    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        if !crate::model::in_root(&self.compared, path) {
            return self.tree.read(path);
        }
        self.overlay().read(path)
    }

    fn prefetch(&self, paths: &[&str]) {
        let (inside, outside): (Vec<&str>, Vec<&str>) = paths.iter().partition(|p| crate::model::in_root(&self.compared, p));
        self.overlay().prefetch(&inside);
        self.tree.prefetch(&outside);
    }

    fn listing_problems(&self) -> Vec<Finding> {
        self.tree.listing_problems()
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

/// One unit of parsing work; jobs run on all cores. The root's layout picks the parser.
enum Job<'a> {
    Manifest(usize, Layout, &'a ManifestFiles),
    Definitions(usize, Layout, &'a str),
    Publisher(usize, &'a str),
    Flow(usize, &'a RootFiles, &'a FlowFiles),
    EnvVar(usize, &'a str),
    App(usize, &'a str),
    Bot(usize, &'a str),
}

impl Job<'_> {
    fn paths(&self) -> Vec<&str> {
        match *self {
            Job::Manifest(_, _, m) => std::iter::once(m.manifest.as_str())
                .chain(m.components.as_deref())
                .chain(m.missing.as_deref())
                .collect(),
            Job::Flow(_, _, f) => f.json.as_deref().into_iter().chain(f.meta.as_deref()).collect(),
            Job::Definitions(_, _, p) | Job::Publisher(_, p) | Job::EnvVar(_, p) | Job::App(_, p) | Job::Bot(_, p) => vec![p],
        }
    }
}

enum Parsed {
    /// A manifest (`None`: a look-alike) and, in the YAML layout, the component paths that
    /// belong to it (`None`: the solution does not say, so everything in its root does).
    Manifest(usize, Option<parse::solution::Manifest>, Option<Vec<String>>),
    Definitions(usize, parse::customizations::Customizations),
    Publisher(usize, parse::yaml_layout::Publisher),
    Flow(usize, Arc<Flow>),
    EnvVar(usize, crate::model::EnvVar),
    App(usize, crate::model::CanvasApp),
    Bot(usize, Vec<crate::model::BotLink>),
}

#[derive(Default)]
struct Output {
    parsed: Vec<Parsed>,
    problems: Vec<Finding>,
    /// Files read and decoded. Their texts are dropped once parsed: a report reads again the
    /// few that findings point into (`Report::read_sources`), so memory does not grow with
    /// the size of every flow.
    files: usize,
}

/// Reads every solution and every deployment settings file in `source` (restricted to paths
/// under `scope`, when given), skipping what `config.exclude` names.
pub fn snapshot(source: &dyn Source, scope: Option<&str>, config: &Config) -> Snapshot {
    snapshot_with(source, scope, config, None)
}

/// A flow's metadata kept in customizations.xml: `JsonFileName`, workflow id, metadata.
type InlineFlowMeta = (String, Option<String>, FlowMeta);

/// Parsed pieces of another snapshot of the same repository, reused for every file that did
/// not change between the two trees. Comparing a base with a head then reads and parses only
/// the changed blobs at the base (plus each root's two small XML files).
pub struct Reuse<'a> {
    changed: &'a BTreeSet<String>,
    flows: HashMap<&'a str, &'a Arc<Flow>>,
    env_vars: HashMap<&'a str, &'a EnvVar>,
    apps: HashMap<&'a str, &'a CanvasApp>,
    bots: HashMap<&'a str, Vec<&'a BotLink>>,
    /// Solutions by the path of their Solution.xml and of their Customizations.xml (with the
    /// flows' metadata a zip keeps there).
    manifests: HashMap<&'a str, &'a Solution>,
    customizations: HashMap<&'a str, (&'a Solution, Vec<InlineFlowMeta>)>,
    /// References of the YAML layout by their `connectionreference.yml`.
    references: HashMap<&'a str, &'a Reference>,
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
            references: HashMap::new(),
        };
        for s in &other.solutions {
            if s.references_loc.path.ends_with(".xml") {
                r.manifests.insert(&s.manifest.unique_name_loc.path, s);
                // Inline flow metadata comes back with the file it is in.
                let inline = s
                    .flows
                    .iter()
                    .filter_map(|f| {
                        let m = f.meta.as_ref().filter(|m| m.path == s.references_loc.path)?;
                        let rel = f.path.strip_prefix(s.root.as_str()).unwrap_or(&f.path);
                        Some((format!("/{}", rel.trim_start_matches('/')), Some(f.id.clone()), m.clone()))
                    })
                    .collect();
                r.customizations.insert(&s.references_loc.path, (s, inline));
            } else {
                r.references.extend(s.references.iter().map(|x| (&*x.loc.path, x)));
            }
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

    fn flow(&self, files: &FlowFiles) -> Option<&'a Arc<Flow>> {
        let json = files.json.as_deref()?;
        let f = self.flows.get(json)?;
        let meta_path = f.meta.as_ref().map(|m| &*m.path);
        (self.same(json) && files.meta.as_deref().is_none_or(|d| self.same(d)) && meta_path == files.meta.as_deref()).then_some(*f)
    }

    /// The parsed piece of `job`'s files when none of them changed.
    fn piece(&self, job: &Job<'_>) -> Option<Parsed> {
        let same = |p: &str| self.same(p).then_some(());
        match *job {
            Job::Flow(i, _, files) => self.flow(files).map(|f| Parsed::Flow(i, Arc::clone(f))),
            Job::EnvVar(i, p) => same(p).and(self.env_vars.get(p)).map(|v| Parsed::EnvVar(i, (*v).clone())),
            Job::App(i, p) => same(p).and(self.apps.get(p)).map(|a| Parsed::App(i, (*a).clone())),
            Job::Bot(i, p) => same(p)
                .and(self.bots.get(p))
                .map(|b| Parsed::Bot(i, b.iter().map(|l| (*l).clone()).collect())),
            Job::Manifest(i, Layout::Xml | Layout::Zip, m) => same(&m.manifest)
                .and(self.manifests.get(m.manifest.as_str()))
                .map(|s| Parsed::Manifest(i, Some(s.manifest.clone()), None)),
            Job::Definitions(i, Layout::Yaml, p) => same(p).and(self.references.get(p)).map(|r| {
                Parsed::Definitions(
                    i,
                    parse::customizations::Customizations {
                        references: vec![(*r).clone()],
                        references_loc: Loc::file(p),
                        workflows: Vec::new(),
                    },
                )
            }),
            Job::Definitions(i, Layout::Xml | Layout::Zip, p) => same(p).and(self.customizations.get(p)).map(|(s, workflows)| {
                Parsed::Definitions(
                    i,
                    parse::customizations::Customizations {
                        references: s.references.clone(),
                        references_loc: s.references_loc.clone(),
                        workflows: workflows.clone(),
                    },
                )
            }),
            // Small files, and shared by the solutions of a root: always read.
            Job::Manifest(_, Layout::Yaml, _) | Job::Publisher(..) => None,
        }
    }
}

/// The working tree below `path` (widened to the solution root it lies inside, said on
/// stderr), read; `NoSource` when it holds no solution source.
pub fn worktree_snapshot(path: &std::path::Path, config: &Config) -> anyhow::Result<(worktree::WorkTree, Snapshot)> {
    let located = locate::locate(path)?;
    if let Some(note) = &located.note {
        eprintln!("connref: {note}");
    }
    let tree = worktree::WorkTree::open(&located.path)?;
    let snapshot = snapshot(&tree, None, config);
    locate::require_source(&tree, None, &snapshot, &path.display().to_string())?;
    Ok((tree, snapshot))
}

/// `snapshot`, reusing the pieces of unchanged files from another snapshot.
pub fn snapshot_with(source: &dyn Source, scope: Option<&str>, config: &Config, reuse: Option<&Reuse<'_>>) -> Snapshot {
    let files = source_files(source, scope, &config.exclude_set);
    let found = discover::discover(&files);
    // Files that did not change come parsed from the other snapshot; only the rest is read.
    let mut reused = Vec::new();
    let jobs: Vec<Job<'_>> = jobs(&found.roots)
        .into_iter()
        .filter(|job| match reuse.and_then(|r| r.piece(job)) {
            Some(piece) => {
                reused.push(piece);
                false
            }
            None => true,
        })
        .collect();
    let wanted: Vec<&str> = jobs.iter().flat_map(Job::paths).collect();
    source.prefetch(&wanted);
    let mut out = run_jobs(source, &jobs);
    out.parsed.append(&mut reused);
    let mut snapshot = assemble(source.label(), &found.roots, out, source.listing_problems());
    let settings = settings::discover(source, &files, &found.other_json, &snapshot.solutions, config);
    snapshot.settings = settings.files;
    snapshot.problems.extend(settings.problems);
    snapshot.problems.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    snapshot.files += settings.sources.len();
    snapshot.sources.extend(settings.sources.into_iter().map(|f| (f.path.clone(), f)));
    snapshot
}

/// The files of `source` below `scope` that discovery looks at, sorted (`exclude` left out).
pub fn source_files<'s>(source: &'s dyn Source, scope: Option<&str>, exclude: &globset::GlobSet) -> Vec<&'s str> {
    source
        .files()
        .iter()
        .map(String::as_str)
        .filter(|f| scope.is_none_or(|s| crate::model::in_root(s, f)))
        .filter(|f| discover::kept(f, exclude))
        .collect()
}

/// Reads and parses one flow (its JSON and optional metadata file).
pub fn load_flow(source: &dyn Source, json: &str, meta: Option<&str>) -> Result<Arc<Flow>, Vec<Finding>> {
    let mut out = Output {
        parsed: Vec::new(),
        problems: Vec::new(),
        files: 0,
    };
    let root = RootFiles::bare(meta.map_or(Layout::Xml, |m| match MetaKind::of(m) {
        MetaKind::WorkflowYml => Layout::Yaml,
        MetaKind::DataXml => Layout::Xml,
    }));
    let files = FlowFiles {
        json: Some(json.to_owned()),
        meta: meta.map(str::to_owned),
    };
    run_job(source, &Job::Flow(0, &root, &files), &mut out);
    match out.parsed.pop() {
        Some(Parsed::Flow(_, f)) if out.problems.is_empty() => Ok(f),
        _ => Err(out.problems),
    }
}

fn jobs(roots: &[RootFiles]) -> Vec<Job<'_>> {
    let mut jobs = Vec::new();
    for (i, r) in roots.iter().enumerate() {
        jobs.extend(r.manifests.iter().map(|m| Job::Manifest(i, r.layout, m)));
        jobs.extend(r.definitions.iter().map(|p| Job::Definitions(i, r.layout, p)));
        jobs.extend(r.publishers.iter().map(|p| Job::Publisher(i, p)));
        jobs.extend(r.flows.iter().map(|f| Job::Flow(i, r, f)));
        jobs.extend(r.env_vars.iter().map(|p| Job::EnvVar(i, p)));
        jobs.extend(r.apps.iter().map(|p| Job::App(i, p)));
        jobs.extend(r.bot_sets.iter().map(|p| Job::Bot(i, p)));
    }
    jobs
}

fn run_jobs(source: &dyn Source, jobs: &[Job<'_>]) -> Output {
    let mut all = Output::default();
    for mut out in crate::parallel::map(jobs.len(), |i| {
        let mut out = Output::default();
        run_job(source, &jobs[i], &mut out);
        // A job yields one piece or two; the spare room of thousands of them was 2 MB.
        out.parsed.shrink_to_fit();
        out
    }) {
        all.parsed.append(&mut out.parsed);
        all.problems.append(&mut out.problems);
        all.files += out.files;
    }
    all
}

/// `JsonFileName` (`/modernflows/<guid>/<Name>-<GUID>.json`) as a repository path, or why it
/// cannot be one.
fn json_file_path(root: &str, written: &str) -> Result<String, String> {
    let rel = written.trim().replace('\\', "/");
    let rel = rel.trim_start_matches('/');
    if rel.is_empty() || rel.contains(':') || rel.split('/').any(|seg| seg == ".." || seg == ".") {
        return Err(format!(
            "`JsonFileName` `{}` points outside the solution root: it must name a file below it, such as `/modernflows/<guid>/<Name>-<GUID>.json`",
            written.trim()
        ));
    }
    Ok(discover::join(root, rel))
}

fn run_job(source: &dyn Source, job: &Job<'_>, out: &mut Output) {
    let mut read = |path: &str| match read_source(source, path) {
        Ok(f) => {
            out.files += 1;
            Some(f)
        }
        Err(finding) => {
            out.problems.push(*finding);
            None
        }
    };
    let mut outcome: Vec<Result<Parsed, Finding>> = Vec::new();
    match *job {
        Job::Manifest(i, Layout::Xml | Layout::Zip, m) => {
            if let Some(f) = read(&m.manifest) {
                outcome.push(
                    parse::solution::parse(&f)
                        .map(|m| Parsed::Manifest(i, m, None))
                        .map_err(|e| parse_failure(&f, e)),
                );
            }
        }
        Job::Manifest(i, Layout::Yaml, m) => {
            let components = m.components.as_deref().and_then(&mut read);
            let missing = m.missing.as_deref().and_then(&mut read);
            if let Some(f) = read(&m.manifest) {
                let listed = match &components {
                    Some(c) => match parse::yaml_layout::components(c) {
                        Ok(list) => Some(list),
                        Err(e) => {
                            outcome.push(Err(parse_failure(c, e)));
                            // The solution still counts; it owns nothing it does not list.
                            Some(Vec::new())
                        }
                    },
                    None => None,
                };
                let parsed = match &missing {
                    Some(mf) => parse::yaml_layout::manifest(&f, Some(mf)).map_err(|e| {
                        // The error is in whichever file it was raised for: try the manifest alone.
                        match parse::yaml_layout::manifest(&f, None) {
                            Ok(_) => parse_failure(mf, e),
                            Err(e) => parse_failure(&f, e),
                        }
                    }),
                    None => parse::yaml_layout::manifest(&f, None).map_err(|e| parse_failure(&f, e)),
                };
                outcome.push(parsed.map(|m| Parsed::Manifest(i, m, listed)));
            }
        }
        Job::Definitions(i, Layout::Xml | Layout::Zip, p) => {
            if let Some(f) = read(p) {
                outcome.push(
                    parse::customizations::parse(&f)
                        .map(|c| Parsed::Definitions(i, c))
                        .map_err(|e| parse_failure(&f, e)),
                );
            }
        }
        Job::Definitions(i, Layout::Yaml, p) => {
            if let Some(f) = read(p) {
                outcome.push(
                    parse::yaml_layout::reference(&f)
                        .map(|r| {
                            Parsed::Definitions(
                                i,
                                parse::customizations::Customizations {
                                    references: vec![r],
                                    references_loc: Loc::file(p),
                                    workflows: Vec::new(),
                                },
                            )
                        })
                        .map_err(|e| parse_failure(&f, e)),
                );
            }
        }
        Job::Publisher(i, p) => {
            if let Some(f) = read(p) {
                outcome.push(
                    parse::yaml_layout::publisher(&f)
                        .map(|x| Parsed::Publisher(i, x))
                        .map_err(|e| parse_failure(&f, e)),
                );
            }
        }
        Job::Flow(i, root, files) => {
            let meta_file = MetaKind::file_name(root.layout);
            let meta = files.meta.as_deref().and_then(&mut read).and_then(|f| {
                let parsed = match MetaKind::of(&f.path) {
                    MetaKind::DataXml => parse::flow::parse_meta(&f),
                    MetaKind::WorkflowYml => parse::yaml_layout::workflow(&f).map(|w| {
                        // The JSON that workflow.yml names must be the one beside it.
                        if let Some((written, loc)) = &w.json_file {
                            match json_file_path(&root.root, written) {
                                Err(msg) => outcome.push(Err(cr900(loc.clone(), msg))),
                                Ok(named) => match &files.json {
                                    Some(json) if !json.eq_ignore_ascii_case(&named) => outcome.push(Err(cr900(
                                        loc.clone(),
                                        format!(
                                            "`JsonFileName` names `{named}`, but the flow's folder holds `{json}`: connref checked `{json}`"
                                        ),
                                    ))),
                                    Some(_) => {}
                                    None => outcome.push(Err(cr900(
                                        loc.clone(),
                                        format!(
                                            "the flow's JSON `{named}` is missing: the flow cannot be checked; export the solution again"
                                        ),
                                    ))),
                                },
                            }
                        } else if files.json.is_none() {
                            outcome.push(Err(cr900(
                                Loc::file(&f.path),
                                "workflow.yml names no `JsonFileName` and its folder holds no flow JSON: the flow cannot be checked",
                            )));
                        }
                        (w.id, w.meta)
                    }),
                };
                match parsed {
                    Ok(m) => Some(m),
                    Err(e) => {
                        outcome.push(Err(parse_failure(&f, e)));
                        None
                    }
                }
            });
            if let Some(f) = files.json.as_deref().and_then(&mut read) {
                match parse::flow::parse_body(&f) {
                    Ok(body) => outcome.push(Ok(Parsed::Flow(i, Arc::new(flow(&f, body, meta, meta_file))))),
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
                let links = if MetaKind::of(p) == MetaKind::WorkflowYml {
                    parse::yaml_layout::bot_links(&f)
                } else {
                    parse::bot::parse(&f)
                };
                outcome.push(links.map(|b| Parsed::Bot(i, b)).map_err(|e| parse_failure(&f, e)));
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

fn flow(file: &SourceFile, body: parse::flow::FlowBody, meta: Option<(Option<String>, FlowMeta)>, meta_file: &'static str) -> Flow {
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
        meta_file,
        entries: body.entries,
        undeclared_hosts: body.undeclared_hosts,
        child_flows: body.child_flows,
        env_vars: body.env_vars,
    }
}

/// The component path (`connectionreferences/<name>`, `modernflows/<guid>`) a file of a YAML
/// root belongs to, in lower case: its first two segments below the root.
fn component_of(root: &str, path: &str) -> String {
    let rel = if root.is_empty() {
        path
    } else {
        path.strip_prefix(root).unwrap_or(path).trim_start_matches('/')
    };
    let mut segs = rel.split('/');
    let first = segs.next().unwrap_or_default();
    let second = segs.next().unwrap_or_default();
    format!("{first}/{second}").to_ascii_lowercase()
}

/// Everything parsed for one root.
#[derive(Default)]
struct RootParts {
    manifests: Vec<(parse::solution::Manifest, Option<Vec<String>>)>,
    definitions: Vec<parse::customizations::Customizations>,
    publishers: Vec<parse::yaml_layout::Publisher>,
    flows: Vec<Arc<Flow>>,
    env_vars: Vec<EnvVar>,
    apps: Vec<CanvasApp>,
    bots: Vec<BotLink>,
}

fn assemble(label: String, roots: &[RootFiles], out: Output, mut problems: Vec<Finding>) -> Snapshot {
    let mut parts: BTreeMap<usize, RootParts> = BTreeMap::new();
    for p in out.parsed {
        match p {
            Parsed::Manifest(i, Some(m), listed) => parts.entry(i).or_default().manifests.push((m, listed)),
            Parsed::Manifest(_, None, _) => {}
            Parsed::Definitions(i, c) => parts.entry(i).or_default().definitions.push(c),
            Parsed::Publisher(i, x) => parts.entry(i).or_default().publishers.push(x),
            Parsed::Flow(i, f) => parts.entry(i).or_default().flows.push(f),
            Parsed::EnvVar(i, v) => parts.entry(i).or_default().env_vars.push(v),
            Parsed::App(i, a) => parts.entry(i).or_default().apps.push(a),
            Parsed::Bot(i, b) => parts.entry(i).or_default().bots.extend(b),
        }
    }
    let mut solutions = Vec::new();
    for (i, r) in roots.iter().enumerate() {
        // A root whose manifest failed to parse has a CR900 already; one whose manifest is
        // well-formed but not a solution is a look-alike and is not a solution at all.
        let Some(mut p) = parts.remove(&i) else { continue };
        p.manifests.sort_by(|a, b| a.0.unique_name_loc.path.cmp(&b.0.unique_name_loc.path));
        let mut references: Vec<Reference> = p.definitions.iter().flat_map(|c| c.references.iter().cloned()).collect();
        references.sort_by(|a, b| (&a.loc.path, a.loc.offset).cmp(&(&b.loc.path, b.loc.offset)));
        // Flow metadata kept inline in customizations.xml: a solution zip has no other. (An
        // unpacked root keeps it in `.json.data.xml`; a copy inline there is not what packs.)
        let inline: Vec<&InlineFlowMeta> = match r.layout {
            Layout::Zip => p.definitions.iter().flat_map(|c| c.workflows.iter()).collect(),
            Layout::Xml | Layout::Yaml => Vec::new(),
        };
        let mut flows = p.flows;
        if !inline.is_empty() {
            for f in flows.iter_mut().filter(|f| f.meta.is_none()) {
                let found = inline.iter().find(|(json, id, _)| {
                    f.path.to_ascii_lowercase().ends_with(&json.to_ascii_lowercase()) || id.as_deref() == Some(f.id.as_str())
                });
                if let Some((_, _, m)) = found {
                    let f = Arc::make_mut(f);
                    // The display name comes with the metadata, as from a `.json.data.xml`.
                    if let Some(name) = &m.name {
                        f.name = name.clone();
                    }
                    f.meta = Some(m.clone());
                }
            }
        }
        flows.sort_by(|a, b| a.path.cmp(&b.path));
        p.env_vars.sort_by(|a, b| a.loc.path.cmp(&b.loc.path));
        p.apps.sort_by(|a, b| a.path.cmp(&b.path));
        let references_loc = p
            .definitions
            .iter()
            .find(|c| c.references_loc.path.ends_with(".xml"))
            .map(|c| c.references_loc.clone())
            .or_else(|| r.definitions.first().filter(|d| d.ends_with(".xml")).map(|d| Loc::file(d)))
            .unwrap_or_else(|| Loc::file(&discover::join(&r.root, "connectionreferences")));
        for (mut m, listed) in p.manifests {
            // A set, so that owning is one lookup per component, not a scan of the list.
            let listed: Option<std::collections::HashSet<String>> = listed.map(|l| l.into_iter().collect());
            let owns = |path: &str, id: Option<&str>| {
                listed.as_ref().is_none_or(|set| {
                    set.contains(&component_of(&r.root, path)) || id.is_some_and(|id| set.contains(&format!("modernflows/{id}")))
                })
            };
            // The YAML layout keeps the prefix with the publisher, in a file of its own.
            if m.prefix.is_none() {
                {
                    let publisher = p
                        .publishers
                        .iter()
                        .find(|x| m.publisher.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(&x.unique_name)));
                    let publisher = publisher.or(if p.publishers.len() == 1 { p.publishers.first() } else { None });
                    if let Some((x, loc)) = publisher.and_then(|x| x.prefix.clone()) {
                        m.prefix = Some(x);
                        m.prefix_loc = Some(loc);
                    }
                }
            }
            solutions.push(Solution {
                root: r.root.clone(),
                manifest: m,
                references_loc: references_loc.clone(),
                references: references.iter().filter(|x| owns(&x.loc.path, None)).cloned().collect(),
                flows: flows.iter().filter(|f| owns(&f.path, Some(&f.id))).cloned().collect(),
                env_vars: p.env_vars.iter().filter(|v| owns(&v.loc.path, None)).cloned().collect(),
                apps: p.apps.iter().filter(|a| owns(&a.path, None)).cloned().collect(),
                bot_links: p.bots.clone(),
            });
        }
    }
    problems.extend(out.problems);
    problems.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    Snapshot {
        label,
        solutions,
        settings: Vec::new(),
        problems,
        files: out.files,
        sources: BTreeMap::new(),
        roots: roots.iter().map(|r| r.root.clone()).collect(),
    }
}
