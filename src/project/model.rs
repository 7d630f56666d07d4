//! The model of a scanned root: every file read once and parsed once into
//! its format's model. The graph is built on it ([`crate::project`]).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::config::Config;
use crate::discover::{self, FileKind};
use crate::formats::appcode::{self, AppFile};
use crate::formats::compose::{self, ComposeFile};
use crate::formats::dockerfile::{self, Dockerfile};
use crate::formats::nginx::{self, NginxConf};
use crate::formats::package_json::{self, PackageJson};
use crate::formats::prisma::{self, PrismaSchema};
use crate::formats::shell::{self, Script};
use crate::formats::workflow::{self, Workflow};
use crate::source::{LoadError, SourceFile};
use crate::templates::Templates;

#[derive(Debug)]
pub struct Model {
    pub root: PathBuf,
    pub files: Vec<SourceFile>,
    pub kinds: Vec<FileKind>,
    pub by_rel: HashMap<String, usize>,
    /// For each file, the index of its model in the vector of its kind.
    slot: Vec<usize>,
    pub all_paths: HashSet<String>,
    /// `.env*` files that hold secrets (not `.env.example` and the like).
    pub secret_env_files: Vec<String>,
    /// Every folder that holds a discovered file.
    pub all_dirs: HashSet<String>,
    pub compose: Vec<ComposeFile>,
    /// (file index, model)
    pub dockerfiles: Vec<(usize, Dockerfile)>,
    pub apps: Vec<AppFile>,
    /// Shell scripts, parsed when a rule first asks ([`Model::script`]):
    /// only the scripts a Dockerfile runs and `*entrypoint*` scripts are.
    pub scripts: Vec<LazyScript>,
    pub prisma: Vec<PrismaSchema>,
    pub workflows: Vec<Workflow>,
    pub nginx: Vec<NginxConf>,
    pub package_jsons: Vec<PackageJson>,
    /// `.gitignore` files: (folder, matcher).
    pub gitignores: Vec<(String, ignore::gitignore::Gitignore)>,
    /// Execute bit of each shell script: from git's index when the root is
    /// in a git work tree (what a clean checkout gets), else from disk.
    pub exec_bits: HashMap<String, bool>,
    /// Per build context: `.git` / `node_modules` found at its top level
    /// (the walk skips them, so they are looked up here, once).
    pub context_sensitive: HashMap<String, Vec<String>>,
    pub errors: Vec<LoadError>,
    /// Build and run instructions outside the parsed formats (Makefile,
    /// justfile, package.json, README.md at the root and next to compose
    /// files), read once: (path, text).
    pub aux_texts: Vec<(String, String)>,
    /// Per compose file (same order as `compose`): the file it is layered
    /// onto, why, and whether it is a dev/local/test stack.
    pub layers: Vec<ComposeLayer>,
    /// Files skipped on purpose, with the reason (symlinks).
    pub skipped: Vec<LoadError>,
    /// Workspace packages and tsconfig `paths` (bare imports to source).
    pub workspace: crate::workspace::Workspace,
    pub config: Config,
    pub templates: Templates,
}

/// A shell script, parsed on first use.
#[derive(Debug)]
pub struct LazyScript {
    pub file: usize,
    parsed: std::sync::OnceLock<Script>,
}

impl LazyScript {
    /// Whether a rule has asked for this script (it was parsed).
    pub fn is_parsed(&self) -> bool {
        self.parsed.get().is_some()
    }
}

enum Parsed {
    Compose(ComposeFile),
    Dockerfile(Dockerfile),
    App(AppFile),
    Script,
    Prisma(PrismaSchema),
    Workflow(Workflow),
    Nginx(NginxConf),
    PackageJson(PackageJson),
    None,
}

impl Model {
    pub fn load(root: &Path, config: Config, templates: Templates) -> Model {
        // Parsers of third-party grammars recurse on nesting: give the
        // worker threads room (no-op when the pool already exists).
        static POOL: std::sync::Once = std::sync::Once::new();
        POOL.call_once(|| {
            let _ = rayon::ThreadPoolBuilder::new()
                .stack_size(64 << 20)
                .build_global();
        });
        let excluded = config.exclude_matcher(root);
        let walk = discover::walk(root, std::sync::Arc::new(move |rel| excluded.is_match(rel)));
        let mut errors = walk.errors;
        let skipped = walk.skipped;
        // Read in parallel; keep discovery order.
        let read: Vec<(FileKind, Result<SourceFile, LoadError>)> = walk
            .files
            .par_iter()
            .map(|d| (d.kind, SourceFile::read(&d.rel, &d.abs)))
            .collect();
        let mut files = Vec::new();
        let mut kinds = Vec::new();
        for (kind, r) in read {
            match r {
                Ok(f) => {
                    files.push(f);
                    kinds.push(kind);
                }
                Err(e) => errors.push(e),
            }
        }
        let parsed: Vec<Result<Parsed, LoadError>> = files
            .par_iter()
            .enumerate()
            .map(|(i, f)| match kinds[i] {
                FileKind::Compose => compose::parse(i, f).map(Parsed::Compose),
                FileKind::Dockerfile => Ok(Parsed::Dockerfile(dockerfile::parse(f))),
                FileKind::AppEntry | FileKind::AppModule => Ok(Parsed::App(appcode::parse(i, f))),
                FileKind::Shell => Ok(Parsed::Script),
                FileKind::Prisma => Ok(Parsed::Prisma(prisma::parse(i, f))),
                FileKind::Workflow => workflow::parse(i, f).map(Parsed::Workflow),
                FileKind::Nginx => Ok(Parsed::Nginx(nginx::parse(i, f))),
                FileKind::PackageJson => package_json::parse(i, f).map(Parsed::PackageJson),
                _ => Ok(Parsed::None),
            })
            .collect();
        let mut compose = Vec::new();
        let mut dockerfiles = Vec::new();
        let mut apps = Vec::new();
        let mut scripts = Vec::new();
        let mut prisma = Vec::new();
        let mut workflows = Vec::new();
        let mut nginx = Vec::new();
        let mut package_jsons = Vec::new();
        let mut slot = vec![usize::MAX; files.len()];
        for (i, p) in parsed.into_iter().enumerate() {
            match p {
                Ok(Parsed::Compose(c)) => {
                    slot[i] = compose.len();
                    compose.push(c)
                }
                Ok(Parsed::Dockerfile(d)) => {
                    slot[i] = dockerfiles.len();
                    dockerfiles.push((i, d))
                }
                Ok(Parsed::App(a)) => {
                    slot[i] = apps.len();
                    apps.push(a)
                }
                Ok(Parsed::Script) => {
                    slot[i] = scripts.len();
                    scripts.push(LazyScript {
                        file: i,
                        parsed: std::sync::OnceLock::new(),
                    })
                }
                Ok(Parsed::Prisma(s)) => {
                    slot[i] = prisma.len();
                    prisma.push(s)
                }
                Ok(Parsed::Workflow(w)) => {
                    slot[i] = workflows.len();
                    workflows.push(w)
                }
                Ok(Parsed::Nginx(n)) => {
                    slot[i] = nginx.len();
                    nginx.push(n)
                }
                Ok(Parsed::PackageJson(pj)) => {
                    slot[i] = package_jsons.len();
                    package_jsons.push(pj)
                }
                Ok(Parsed::None) => {}
                Err(e) => errors.push(e),
            }
        }
        let by_rel = files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.rel.clone(), i))
            .collect();
        let mut p = Model {
            root: root.to_path_buf(),
            files,
            kinds,
            by_rel,
            slot,
            all_dirs: walk
                .all_paths
                .iter()
                .flat_map(|p| p.match_indices('/').map(move |(i, _)| p[..i].to_string()))
                .collect(),
            secret_env_files: walk
                .all_paths
                .iter()
                .filter(|p| is_secret_env(p.rsplit('/').next().unwrap_or(p)))
                .cloned()
                .collect(),
            all_paths: walk.all_paths.into_iter().collect(),
            compose,
            dockerfiles,
            apps,
            scripts,
            prisma,
            workflows,
            nginx,
            package_jsons,
            gitignores: Vec::new(),
            exec_bits: HashMap::new(),
            context_sensitive: HashMap::new(),
            errors,
            layers: Vec::new(),
            aux_texts: Vec::new(),
            skipped,
            workspace: Default::default(),
            config,
            templates,
        };
        p.workspace = crate::workspace::Workspace::load(root, &p.all_paths, &|rel| {
            p.file(rel).map(|f| f.text.clone())
        });
        p.load_imported_modules();
        p.gitignores = p
            .files
            .iter()
            .zip(&p.kinds)
            .filter(|(_, k)| **k == FileKind::GitIgnore)
            .map(|(f, _)| {
                let dir = parent(&f.rel).to_string();
                let mut b = ignore::gitignore::GitignoreBuilder::new(root.join(&dir));
                for line in f.text.lines() {
                    let _ = b.add_line(None, line);
                }
                let g = b
                    .build()
                    .unwrap_or_else(|_| ignore::gitignore::Gitignore::empty());
                (dir, g)
            })
            .collect();
        p.exec_bits = exec_bits(root, &p.files, &p.kinds);
        p.aux_texts = aux_texts(&p);
        p.layers = compose_layers(&p);
        p
    }

    /// Reads and parses, once each, the modules app entries import
    /// (relative imports only, never `node_modules`), transitively.
    fn load_imported_modules(&mut self) {
        let mut queue: Vec<(String, String)> = self
            .apps
            .iter()
            .flat_map(|a| {
                let from = self.files[a.file].rel.clone();
                a.imports
                    .iter()
                    .chain(&a.env.package_imports)
                    .map(move |i| (from.clone(), i.clone()))
            })
            .collect();
        while let Some((from, spec)) = queue.pop() {
            let Some(rel) = self
                .import_candidates(&from, &spec)
                .into_iter()
                .find(|c| self.all_paths.contains(c) && !c.contains("node_modules/"))
            else {
                continue;
            };
            if self.by_rel.contains_key(&rel) {
                continue;
            }
            match SourceFile::read(&rel, &self.root.join(&rel)) {
                Ok(f) => {
                    let i = self.files.len();
                    let a = appcode::parse(i, &f);
                    queue.extend(
                        a.imports
                            .iter()
                            .chain(&a.env.package_imports)
                            .map(|s| (rel.clone(), s.clone())),
                    );
                    self.by_rel.insert(rel, i);
                    self.files.push(f);
                    self.kinds.push(FileKind::AppModule);
                    self.slot.push(self.apps.len());
                    self.apps.push(a);
                }
                Err(e) => self.errors.push(e),
            }
        }
    }

    /// An app file and the modules it imports, transitively (each once).
    pub fn app_closure(&self, entry: &str) -> Vec<&AppFile> {
        let mut out: Vec<&AppFile> = Vec::new();
        let mut seen = HashSet::new();
        let mut stack = vec![entry.to_string()];
        while let Some(rel) = stack.pop() {
            if !seen.insert(rel.clone()) {
                continue;
            }
            let Some(a) = self.app(&rel) else { continue };
            for spec in a.imports.iter().chain(&a.env.package_imports) {
                if let Some(r) = self
                    .import_candidates(&rel, spec)
                    .into_iter()
                    .find(|c| self.by_rel.contains_key(c))
                {
                    stack.push(r);
                }
            }
            out.push(a);
        }
        out
    }

    /// Files an import specifier may name: relative, or a workspace
    /// package / tsconfig path.
    fn import_candidates(&self, from: &str, spec: &str) -> Vec<String> {
        if spec.starts_with('.') {
            appcode::resolve_import(from, spec)
        } else {
            self.workspace.resolve(spec)
        }
    }

    pub fn file(&self, rel: &str) -> Option<&SourceFile> {
        self.by_rel.get(rel).map(|&i| &self.files[i])
    }

    pub fn dockerfile(&self, rel: &str) -> Option<&Dockerfile> {
        let i = *self.by_rel.get(rel)?;
        self.dockerfiles
            .get(self.slot[i])
            .filter(|(f, _)| *f == i)
            .map(|(_, d)| d)
    }

    pub fn app(&self, rel: &str) -> Option<&AppFile> {
        let i = *self.by_rel.get(rel)?;
        self.apps.get(self.slot[i]).filter(|a| a.file == i)
    }

    pub fn script(&self, rel: &str) -> Option<&Script> {
        let i = *self.by_rel.get(rel)?;
        let s = self.scripts.get(self.slot[i]).filter(|s| s.file == i)?;
        Some(s.parsed.get_or_init(|| shell::parse(i, &self.files[i])))
    }

    pub fn prisma_schema(&self, rel: &str) -> Option<&PrismaSchema> {
        let i = *self.by_rel.get(rel)?;
        self.prisma.get(self.slot[i]).filter(|s| s.file == i)
    }

    pub fn package_json(&self, rel: &str) -> Option<&PackageJson> {
        let i = *self.by_rel.get(rel)?;
        self.package_jsons.get(self.slot[i]).filter(|s| s.file == i)
    }

    /// Whether a `.gitignore` keeps `rel` (a file, or a folder when `dir`)
    /// out of a clean checkout: the deepest `.gitignore` that decides wins.
    pub fn git_ignored(&self, rel: &str, dir: bool) -> bool {
        let mut best: Option<(usize, bool)> = None;
        for (gdir, g) in &self.gitignores {
            let inside = gdir.is_empty() || rel.starts_with(&format!("{gdir}/"));
            if !inside {
                continue;
            }
            let m = g.matched_path_or_any_parents(self.root.join(rel), dir);
            let decided = if m.is_ignore() {
                Some(true)
            } else if m.is_whitelist() {
                Some(false)
            } else {
                None
            };
            if let Some(d) = decided {
                if best.is_none_or(|(depth, _)| gdir.len() >= depth) {
                    best = Some((gdir.len(), d));
                }
            }
        }
        best.is_some_and(|(_, d)| d)
    }

    pub fn exists(&self, rel: &str) -> bool {
        rel.is_empty() || self.all_paths.contains(rel) || self.all_dirs.contains(rel)
    }
}

/// How a compose file relates to the others.
#[derive(Debug, Clone, Default)]
pub struct ComposeLayer {
    /// Index (into `Project::compose`) of the file this one is layered onto.
    pub base: Option<usize>,
    /// Why it is taken for an overlay (`docker-compose.override.yml next to
    /// docker-compose.yml`, `-f a -f b in Makefile:12`).
    pub why: Option<String>,
    /// Named or shaped as a dev/local/test stack.
    pub dev: bool,
}

/// A compose file named or shaped as a dev/local/test stack: its name has a
/// `dev`/`local`/`test`/`debug`/`e2e`/`ci` part, or every service it builds
/// targets a stage so named.
pub fn is_dev_stack(rel: &str, c: &ComposeFile) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel).to_ascii_lowercase();
    let dir = parent(rel).to_ascii_lowercase();
    let parts: Vec<&str> = name
        .split(['.', '-', '_'])
        .chain(dir.split(['/', '.', '-', '_']))
        .collect();
    let devish = |w: &str| {
        matches!(
            w,
            "dev"
                | "develop"
                | "development"
                | "local"
                | "test"
                | "tests"
                | "testing"
                | "debug"
                | "e2e"
                | "ci"
                | "devcontainer"
        )
    };
    if parts.iter().any(|w| devish(w)) {
        return true;
    }
    let targets: Vec<&str> = c
        .services
        .iter()
        .filter_map(|s| s.target.as_ref().map(|(t, _)| t.as_str()))
        .collect();
    !targets.is_empty()
        && c.services
            .iter()
            .all(|s| s.build_context.is_none() || s.target.is_some())
        && targets
            .iter()
            .all(|t| devish(&t.to_ascii_lowercase()) || t.to_ascii_lowercase().starts_with("dev"))
}

fn aux_texts(p: &Model) -> Vec<(String, String)> {
    let mut dirs: Vec<String> = vec![String::new()];
    dirs.extend(
        p.compose
            .iter()
            .map(|c| parent(&p.files[c.file].rel).to_string()),
    );
    dirs.sort();
    dirs.dedup();
    let mut out = Vec::new();
    for d in dirs {
        for name in [
            "Makefile",
            "makefile",
            "README.md",
            "package.json",
            "justfile",
        ] {
            let Some(rel) = join(&d, name) else { continue };
            if let Ok(t) = std::fs::read_to_string(p.root.join(&rel)) {
                out.push((rel, t));
            }
        }
    }
    out
}

/// Finds overlays: `X.override.yml` next to `X.yml`; files layered with
/// `-f a -f b` in shell scripts, workflows, Makefiles, READMEs and
/// package.json; files whose services have neither `image` nor `build` and
/// all exist in another compose file of the same folder.
fn compose_layers(p: &Model) -> Vec<ComposeLayer> {
    let rels: Vec<&str> = p
        .compose
        .iter()
        .map(|c| p.files[c.file].rel.as_str())
        .collect();
    let mut out: Vec<ComposeLayer> = p
        .compose
        .iter()
        .zip(&rels)
        .map(|(c, rel)| ComposeLayer {
            dev: is_dev_stack(rel, c),
            ..Default::default()
        })
        .collect();
    let index_of = |rel: &str| rels.iter().position(|r| *r == rel);
    // 1. by name
    for (i, rel) in rels.iter().enumerate() {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        let lower = name.to_ascii_lowercase();
        if let Some(pos) = lower.find(".override.") {
            let dir = parent(rel);
            let stem = &name[..pos];
            let ext = &name[pos + ".override".len()..];
            let mut cands = vec![format!("{stem}{ext}")];
            for alt in [
                "docker-compose.yml",
                "docker-compose.yaml",
                "compose.yml",
                "compose.yaml",
            ] {
                cands.push(alt.to_string());
            }
            if let Some(b) = cands
                .iter()
                .filter_map(|c| join(dir, c))
                .find_map(|c| index_of(&c))
                .filter(|b| *b != i)
            {
                out[i].base = Some(b);
                out[i].why = Some(format!("`{name}` is an override of `{}`", rels[b]));
            }
        }
    }
    // 2. `-f a -f b` in scripts, workflows, Makefiles, READMEs, package.json
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r#"(?:^|\s)(?:-f|--file)(?:\s+|=)["']?([A-Za-z0-9_./${}-]+\.ya?ml)"#)
            .unwrap()
    });
    let mut texts: Vec<(&str, &str)> = Vec::new();
    for (i, k) in p.kinds.iter().enumerate() {
        if matches!(k, FileKind::Shell | FileKind::Workflow) {
            texts.push((p.files[i].rel.as_str(), p.files[i].text.as_str()));
        }
    }
    texts.extend(p.aux_texts.iter().map(|(r, t)| (r.as_str(), t.as_str())));
    let resolve = |from: &str, f: &str| -> Option<usize> {
        let f = f.trim_start_matches("./");
        join(parent(from), f)
            .and_then(|c| index_of(&c))
            .or_else(|| index_of(f))
            .or_else(|| {
                let base = f.rsplit('/').next().unwrap_or(f);
                let hits: Vec<usize> = rels
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.rsplit('/').next() == Some(base))
                    .map(|(i, _)| i)
                    .collect();
                (hits.len() == 1).then(|| hits[0])
            })
    };
    for (from, text) in &texts {
        for (ln, line) in text.lines().enumerate() {
            if !line.contains("-f") && !line.contains("--file") {
                continue;
            }
            let files: Vec<usize> = re
                .captures_iter(line)
                .filter_map(|c| resolve(from, &c[1]))
                .collect();
            if files.len() < 2 {
                continue;
            }
            for w in files.windows(2) {
                let (b, o) = (files[0], w[1]);
                if o != b && out[o].base.is_none() && out[b].base != Some(o) {
                    out[o].base = Some(b);
                    out[o].why = Some(format!(
                        "layered onto `{}` with `-f` at {from}:{}",
                        rels[b],
                        ln + 1
                    ));
                }
            }
        }
    }
    // 3. services with neither image nor build, all named in a sibling file
    for (i, c) in p.compose.iter().enumerate() {
        if out[i].base.is_some() || c.services.is_empty() {
            continue;
        }
        let incomplete = c
            .services
            .iter()
            .all(|s| s.image.is_none() && s.build_context.is_none() && s.extends.is_none());
        if !incomplete {
            continue;
        }
        let dir = parent(rels[i]);
        let best = p
            .compose
            .iter()
            .enumerate()
            .filter(|(j, o)| {
                *j != i
                    && parent(rels[*j]) == dir
                    && out[*j].base != Some(i)
                    && c.services
                        .iter()
                        .all(|s| o.services.iter().any(|x| x.name == s.name))
            })
            .map(|(j, _)| j)
            .min_by_key(|j| rels[*j].len());
        if let Some(b) = best {
            out[i].base = Some(b);
            out[i].why = Some(format!(
                "its services have no image or build; they complete `{}`",
                rels[b]
            ));
        }
    }
    // An overlay of a dev stack is one too.
    for i in 0..out.len() {
        if let Some(b) = out[i].base {
            if out[b].dev {
                out[i].dev = true;
            }
        }
    }
    out
}

/// `.env`, `.env.production`, ... but not `.env.example`, `.sample`,
/// `.template`, `.dist`, `.defaults`.
pub fn is_secret_env(name: &str) -> bool {
    name.starts_with(".env")
        && ![".example", ".sample", ".template", ".dist", ".defaults"]
            .iter()
            .any(|s| name.ends_with(s))
}

fn exec_bits(root: &Path, files: &[SourceFile], kinds: &[FileKind]) -> HashMap<String, bool> {
    let mut out = HashMap::new();
    if !kinds.contains(&FileKind::Shell) {
        return out;
    }
    let index = crate::gitindex::exec_bits(root).unwrap_or_default();
    for (f, k) in files.iter().zip(kinds) {
        if *k == FileKind::Shell {
            let bit = index.get(&f.rel).copied().unwrap_or(f.mode & 0o111 != 0);
            out.insert(f.rel.clone(), bit);
        }
    }
    out
}

pub use crate::relpath::{join, parent};

#[cfg(test)]
mod lazy_tests {
    use crate::config::Config;
    use crate::project::Project;
    use crate::templates::Templates;

    /// Only scripts a container runs are parsed: a helper script nothing
    /// runs is listed (its text is searched for `docker build` and `-f`)
    /// but never parsed, and its findings would be none anyway.
    #[test]
    fn only_scripts_a_container_runs_are_parsed() {
        let d = tempfile::tempdir().unwrap();
        let w = |rel: &str, text: &str| {
            let p = d.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        w(
            "docker-compose.yml",
            "services:\n  api:\n    build: ./api\n    ports: [\"3000:3000\"]\n",
        );
        w(
            "api/Dockerfile",
            "FROM node:20-alpine\nWORKDIR /app\nCOPY start.sh ./\nENTRYPOINT [\"./start.sh\"]\n",
        );
        w("api/start.sh", "#!/bin/sh\nexec node dist/main.js\n");
        w("scripts/release.sh", "#!/bin/sh\nnpm publish\n");
        let p = Project::load(d.path(), Config::default(), Templates::default());
        let findings = crate::rules::run(&p, &[], &[]);
        let parsed = |rel: &str| {
            p.scripts
                .iter()
                .find(|s| p.files[s.file].rel == rel)
                .map(|s| s.is_parsed())
        };
        assert_eq!(parsed("api/start.sh"), Some(true), "{findings:?}");
        assert_eq!(parsed("scripts/release.sh"), Some(false));
        assert!(findings.iter().all(|f| f.path != "scripts/release.sh"));
    }
}
