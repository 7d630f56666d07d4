//! Walks a root and sorts the files prodsafe reads by kind. Respects
//! `.gitignore` (also outside git repos), skips `node_modules` and `.git`,
//! never follows symlinks, and turns walk errors into load errors that name
//! the path.

use std::path::{Path, PathBuf};

use crate::formats::{appcode, compose, dockerfile};
use crate::source::LoadError;

/// Whether a path (relative to the root) is excluded from the walk.
pub type Excluded = std::sync::Arc<dyn Fn(&str) -> bool + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Compose,
    Dockerfile,
    Shell,
    Workflow,
    AppEntry,
    /// A module an app entry imports (loaded by following imports).
    AppModule,
    Nginx,
    Prisma,
    DockerIgnore,
    PackageJson,
    GitIgnore,
    /// `.npmrc` (pnpm's `node-linker`, hoisting).
    Npmrc,
}

#[derive(Debug, Clone)]
pub struct Discovered {
    pub rel: String,
    pub abs: PathBuf,
    pub kind: FileKind,
}

#[derive(Debug, Default)]
pub struct Walk {
    pub files: Vec<Discovered>,
    /// Every regular file seen (relative paths), for existence checks.
    pub all_paths: Vec<String>,
    pub errors: Vec<LoadError>,
    /// Files prodsafe would read but does not, with the reason (symlinks:
    /// never followed).
    pub skipped: Vec<LoadError>,
}

pub fn classify(rel: &str) -> Option<FileKind> {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let lower = name.to_ascii_lowercase();
    if (rel.starts_with(".github/workflows/") || rel.contains("/.github/workflows/"))
        && (lower.ends_with(".yml") || lower.ends_with(".yaml"))
    {
        return Some(FileKind::Workflow);
    }
    if compose::is_compose_name(name) {
        return Some(FileKind::Compose);
    }
    if dockerfile::is_dockerfile_name(name) {
        return Some(FileKind::Dockerfile);
    }
    if name == ".dockerignore" || name.ends_with(".dockerignore") {
        return Some(FileKind::DockerIgnore);
    }
    if lower.ends_with(".sh") || lower == "entrypoint" || lower == "docker-entrypoint" {
        return Some(FileKind::Shell);
    }
    if name == "package.json" {
        return Some(FileKind::PackageJson);
    }
    if name == ".gitignore" {
        return Some(FileKind::GitIgnore);
    }
    if name == ".npmrc" {
        return Some(FileKind::Npmrc);
    }
    if lower == "schema.prisma" {
        return Some(FileKind::Prisma);
    }
    if lower.ends_with(".conf") && (rel.contains("nginx") || lower.starts_with("default")) {
        return Some(FileKind::Nginx);
    }
    if appcode::is_entry_path(rel) {
        return Some(FileKind::AppEntry);
    }
    None
}

pub fn rel_path(root: &Path, p: &Path) -> String {
    let r = p.strip_prefix(root).unwrap_or(p);
    r.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Walks `root`; `excluded` (given paths relative to the root) prunes
/// folders and drops files.
pub fn walk(root: &Path, excluded: Excluded) -> Walk {
    let mut out = Walk::default();
    let top = root.to_path_buf();
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .git_ignore(true)
        .git_exclude(true)
        .require_git(false)
        .follow_links(false)
        .filter_entry(move |e| {
            let n = e.file_name().to_string_lossy();
            if n == "node_modules" || n == ".git" || n == "target" {
                return false;
            }
            e.depth() == 0 || !excluded(&rel_path(&top, e.path()))
        })
        .build();
    for entry in walker {
        match entry {
            Err(e) => {
                let path = match &e {
                    ignore::Error::WithPath { path, .. } => rel_path(root, path),
                    _ => String::from("."),
                };
                out.errors.push(LoadError {
                    rel: path,
                    line: None,
                    message: format!("cannot walk: {e}"),
                });
            }
            Ok(entry) => {
                let Some(ft) = entry.file_type() else {
                    continue;
                };
                let rel = rel_path(root, entry.path());
                if ft.is_symlink() {
                    if classify(&rel).is_some() {
                        let to = std::fs::read_link(entry.path())
                            .map(|t| t.display().to_string())
                            .unwrap_or_default();
                        out.skipped.push(LoadError {
                            rel,
                            line: None,
                            message: format!(
                                "is a symlink (to {to}); prodsafe never follows symlinks, so it was not checked or fixed"
                            ),
                        });
                    }
                    continue;
                }
                if !ft.is_file() {
                    continue;
                }
                out.all_paths.push(rel.clone());
                if let Some(kind) = classify(&rel) {
                    out.files.push(Discovered {
                        rel,
                        abs: entry.path().to_path_buf(),
                        kind,
                    });
                }
            }
        }
    }
    out.files.sort_by(|a, b| a.rel.cmp(&b.rel));
    out.all_paths.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(
            classify("docker-compose.production.yml"),
            Some(FileKind::Compose)
        );
        assert_eq!(classify("apps/a/Dockerfile"), Some(FileKind::Dockerfile));
        assert_eq!(classify("apps/a/entrypoint.sh"), Some(FileKind::Shell));
        assert_eq!(
            classify(".github/workflows/ci.yml"),
            Some(FileKind::Workflow)
        );
        assert_eq!(classify("apps/a/src/main.ts"), Some(FileKind::AppEntry));
        assert_eq!(classify("nginx/nginx.conf"), Some(FileKind::Nginx));
        assert_eq!(classify("README.md"), None);
    }
}
