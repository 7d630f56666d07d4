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
    pub scripts: Vec<Script>,
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
    /// Files skipped on purpose, with the reason (symlinks).
    pub skipped: Vec<LoadError>,
    /// Workspace packages and tsconfig `paths` (bare imports to source).
    pub workspace: crate::workspace::Workspace,
    pub config: Config,
    pub templates: Templates,
}

enum Parsed {
    Compose(ComposeFile),
    Dockerfile(Dockerfile),
    App(AppFile),
    Script(Script),
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
                FileKind::Shell => Ok(Parsed::Script(shell::parse(i, f))),
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
                Ok(Parsed::Script(s)) => {
                    slot[i] = scripts.len();
                    scripts.push(s)
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
        self.scripts.get(self.slot[i]).filter(|s| s.file == i)
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
mod tests {
    use super::*;

    #[test]
    fn joins() {
        assert_eq!(
            join("", "./apps/a/Dockerfile").as_deref(),
            Some("apps/a/Dockerfile")
        );
        assert_eq!(join("deploy", "../apps/a").as_deref(), Some("apps/a"));
        assert_eq!(join("", "../x"), None);
        assert_eq!(join("a/b", ".").as_deref(), Some("a/b"));
    }
}
