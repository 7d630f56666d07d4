//! A scanned root: every file read once and parsed once into its model.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::config::Config;
use crate::discover::{self, FileKind};
use crate::formats::appcode::{self, AppFile};
use crate::formats::compose::{self, ComposeFile};
use crate::formats::dockerfile::{self, Dockerfile};
use crate::graph::Graph;
use crate::source::{LoadError, SourceFile};
use crate::templates::Templates;

#[derive(Debug)]
pub struct Project {
    pub root: PathBuf,
    pub files: Vec<SourceFile>,
    pub kinds: Vec<FileKind>,
    pub by_rel: HashMap<String, usize>,
    pub all_paths: HashSet<String>,
    /// Every folder that holds a discovered file.
    pub all_dirs: HashSet<String>,
    pub compose: Vec<ComposeFile>,
    /// (file index, model)
    pub dockerfiles: Vec<(usize, Dockerfile)>,
    pub apps: Vec<AppFile>,
    pub errors: Vec<LoadError>,
    pub graph: Graph,
    pub config: Config,
    pub templates: Templates,
}

enum Parsed {
    Compose(ComposeFile),
    Dockerfile(Dockerfile),
    App(AppFile),
    None,
}

impl Project {
    pub fn load(root: &Path, config: Config, templates: Templates) -> Project {
        let walk = discover::walk(root, &config.exclude);
        let mut errors = walk.errors;
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
                FileKind::AppEntry => Ok(Parsed::App(appcode::parse(i, f))),
                _ => Ok(Parsed::None),
            })
            .collect();
        let mut compose = Vec::new();
        let mut dockerfiles = Vec::new();
        let mut apps = Vec::new();
        for (i, p) in parsed.into_iter().enumerate() {
            match p {
                Ok(Parsed::Compose(c)) => compose.push(c),
                Ok(Parsed::Dockerfile(d)) => dockerfiles.push((i, d)),
                Ok(Parsed::App(a)) => apps.push(a),
                Ok(Parsed::None) => {}
                Err(e) => errors.push(e),
            }
        }
        let by_rel = files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.rel.clone(), i))
            .collect();
        let mut p = Project {
            root: root.to_path_buf(),
            files,
            kinds,
            by_rel,
            all_dirs: walk
                .all_paths
                .iter()
                .flat_map(|p| {
                    p.match_indices('/').map(move |(i, _)| p[..i].to_string())
                })
                .collect(),
            all_paths: walk.all_paths.into_iter().collect(),
            compose,
            dockerfiles,
            apps,
            errors,
            graph: Graph::default(),
            config,
            templates,
        };
        p.graph = Graph::build(&p);
        p
    }

    pub fn file(&self, rel: &str) -> Option<&SourceFile> {
        self.by_rel.get(rel).map(|&i| &self.files[i])
    }

    pub fn dockerfile(&self, rel: &str) -> Option<&Dockerfile> {
        let i = *self.by_rel.get(rel)?;
        self.dockerfiles.iter().find(|(f, _)| *f == i).map(|(_, d)| d)
    }

    pub fn app(&self, rel: &str) -> Option<&AppFile> {
        let i = *self.by_rel.get(rel)?;
        self.apps.iter().find(|a| a.file == i)
    }

    pub fn exists(&self, rel: &str) -> bool {
        rel.is_empty() || self.all_paths.contains(rel) || self.all_dirs.contains(rel)
    }
}

/// Joins `rel` onto folder `base` (both root-relative, `/`-separated) and
/// normalises `.` and `..`. None when the result leaves the root.
pub fn join(base: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = if rel.starts_with('/') {
        return None;
    } else {
        base.split('/').filter(|s| !s.is_empty() && *s != ".").collect()
    };
    for seg in rel.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

pub fn parent(rel: &str) -> &str {
    rel.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins() {
        assert_eq!(join("", "./apps/a/Dockerfile").as_deref(), Some("apps/a/Dockerfile"));
        assert_eq!(join("deploy", "../apps/a").as_deref(), Some("apps/a"));
        assert_eq!(join("", "../x"), None);
        assert_eq!(join("a/b", ".").as_deref(), Some("a/b"));
    }
}
