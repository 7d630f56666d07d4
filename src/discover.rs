//! Walks a root and sorts the files prodsafe reads by kind. Respects
//! `.gitignore` (also outside git repos), skips `node_modules` and `.git`,
//! never follows symlinks, and turns walk errors into load errors that name
//! the path.

use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};

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

/// The ignore files of one folder: `.ignore`, `.gitignore` and, where a
/// `.git` is, the repository's `info/exclude`.
struct Level {
    ignore: Option<Gitignore>,
    git: Option<Gitignore>,
    exclude: Option<Gitignore>,
}

/// A matcher for `dir` from `file` (the `ignore` crate's rules: a file that
/// cannot be read adds nothing; a bad pattern drops the file's patterns).
fn ignore_file(dir: &Path, file: &Path) -> Option<Gitignore> {
    if !file.exists() {
        return None;
    }
    let mut b = GitignoreBuilder::new(dir);
    let _ = b.add(file);
    let g = b.build().ok()?;
    (!g.is_empty()).then_some(g)
}

/// Where a repository keeps `info/exclude`: `.git` itself, or for a
/// worktree (`.git` is a file), the common dir its `gitdir` names.
fn git_common_dir(dir: &Path, dot_git_is_file: bool) -> Option<PathBuf> {
    let git = dir.join(".git");
    if !dot_git_is_file {
        return Some(git);
    }
    let first = |p: &Path| -> Option<String> {
        let t = std::fs::read_to_string(p).ok()?;
        Some(t.lines().next()?.to_string())
    };
    let real = PathBuf::from(first(&git)?.strip_prefix("gitdir: ")?);
    let common = first(&real.join("commondir"))?;
    Some(if common.starts_with('.') {
        real.join(common)
    } else {
        PathBuf::from(common)
    })
}

impl Level {
    /// `dot_git`: whether `.git` is there, and whether it is a file.
    fn load(dir: &Path, ignore: bool, git: bool, dot_git: Option<bool>) -> Option<Level> {
        let l = Level {
            ignore: ignore
                .then(|| ignore_file(dir, &dir.join(".ignore")))
                .flatten(),
            git: git
                .then(|| ignore_file(dir, &dir.join(".gitignore")))
                .flatten(),
            exclude: dot_git
                .and_then(|is_file| git_common_dir(dir, is_file))
                .and_then(|g| ignore_file(dir, &g.join("info/exclude"))),
        };
        (l.ignore.is_some() || l.git.is_some() || l.exclude.is_some()).then_some(l)
    }
}

/// The global gitignore (`core.excludesFile`), read once per process.
fn global_gitignore() -> &'static Gitignore {
    static G: std::sync::OnceLock<Gitignore> = std::sync::OnceLock::new();
    G.get_or_init(|| Gitignore::global().0)
}

/// The ignore rules in force in a folder: its ancestors' above the root
/// (matched on the canonical path), then the walked folders' own.
struct Rules {
    parents: Vec<Level>,
    canonical_root: Option<PathBuf>,
    levels: Vec<Level>,
}

impl Rules {
    /// Whether `path` (as walked; `rel` from the root) is ignored: per kind
    /// of file (`.ignore`, then `.gitignore`, then `info/exclude`) the
    /// deepest folder that has a say decides, then the global excludes.
    fn ignored(&self, path: &Path, rel: &str, is_dir: bool) -> bool {
        let path = path.strip_prefix("./").unwrap_or(path);
        // 0 = no say, 1 = ignored, 2 = whitelisted; per kind.
        let mut m = [0u8; 3];
        let mut look = |l: &Level, p: &Path| {
            for (k, g) in [&l.ignore, &l.git, &l.exclude].into_iter().enumerate() {
                if m[k] == 0 {
                    if let Some(g) = g {
                        let r = g.matched(p, is_dir);
                        m[k] = if r.is_ignore() {
                            1
                        } else if r.is_whitelist() {
                            2
                        } else {
                            0
                        };
                    }
                }
            }
        };
        for l in self.levels.iter().rev() {
            look(l, path);
        }
        if let (false, Some(base)) = (self.parents.is_empty(), &self.canonical_root) {
            let abs = base.join(rel);
            for l in self.parents.iter().rev() {
                look(l, &abs);
            }
        }
        match m.iter().find(|x| **x != 0) {
            Some(x) => *x == 1,
            None => global_gitignore().matched(path, is_dir).is_ignore(),
        }
    }
}

/// Walks `root`; `excluded` (given paths relative to the root) prunes
/// folders and drops files. What `.gitignore`, `.ignore`, the repository's
/// `info/exclude` and the global excludes ignore is left out, as the
/// `ignore` crate's walker does (also outside git repositories, with the
/// ignore files of the root's ancestors), from one directory listing per
/// folder: ignore files are looked for in the listing, not probed.
pub fn walk(root: &Path, excluded: Excluded) -> Walk {
    let mut out = Walk::default();
    let canonical_root = root.canonicalize().ok();
    let mut parents = Vec::new();
    if let Some(c) = &canonical_root {
        let mut ancestors: Vec<&Path> = c.ancestors().skip(1).collect();
        ancestors.reverse();
        for a in ancestors {
            let dot_git = a
                .join(".git")
                .metadata()
                .ok()
                .map(|m| m.file_type().is_file());
            parents.extend(Level::load(a, true, true, dot_git));
        }
    }
    let mut rules = Rules {
        parents,
        canonical_root,
        levels: Vec::new(),
    };
    walk_dir(root, root, "", &mut rules, &*excluded, &mut out);
    out.files.sort_by(|a, b| a.rel.cmp(&b.rel));
    out.all_paths.sort();
    out
}

fn walk_dir(
    root: &Path,
    dir: &Path,
    rel: &str,
    rules: &mut Rules,
    excluded: &(dyn Fn(&str) -> bool + Send + Sync),
    out: &mut Walk,
) {
    let cannot = |path: &Path, e: std::io::Error| LoadError {
        rel: rel_path(root, path),
        line: None,
        message: format!("cannot walk: {}: {e}", path.display()),
    };
    let listing = match std::fs::read_dir(dir) {
        Ok(l) => l,
        Err(e) => {
            out.errors.push(cannot(dir, e));
            return;
        }
    };
    let mut entries = Vec::new();
    for e in listing {
        match e.and_then(|e| Ok((e.file_name(), e.file_type()?))) {
            Ok(x) => entries.push(x),
            Err(e) => out.errors.push(cannot(dir, e)),
        }
    }
    let has = |n: &str| entries.iter().find(|(name, _)| name == n);
    let dot_git = has(".git").map(|(_, t)| t.is_file());
    let level = Level::load(
        dir,
        has(".ignore").is_some(),
        has(".gitignore").is_some(),
        dot_git,
    );
    let pushed = level.is_some();
    rules.levels.extend(level);
    for (name, ft) in &entries {
        let n = name.to_string_lossy();
        if n == "node_modules" || n == ".git" || n == "target" {
            continue;
        }
        let path = dir.join(name);
        let child_rel = if rel.is_empty() {
            n.to_string()
        } else {
            format!("{rel}/{n}")
        };
        if rules.ignored(&path, &child_rel, ft.is_dir()) || excluded(&child_rel) {
            continue;
        }
        if ft.is_symlink() {
            if classify(&child_rel).is_some() {
                let to = std::fs::read_link(&path)
                    .map(|t| t.display().to_string())
                    .unwrap_or_default();
                out.skipped.push(LoadError {
                    rel: child_rel,
                    line: None,
                    message: format!(
                        "is a symlink (to {to}); prodsafe never follows symlinks, so it was not checked or fixed"
                    ),
                });
            }
            continue;
        }
        if ft.is_dir() {
            walk_dir(root, &path, &child_rel, rules, excluded, out);
            continue;
        }
        if !ft.is_file() {
            continue;
        }
        out.all_paths.push(child_rel.clone());
        if let Some(kind) = classify(&child_rel) {
            out.files.push(Discovered {
                rel: child_rel,
                abs: path,
                kind,
            });
        }
    }
    if pushed {
        rules.levels.pop();
    }
}

/// The `ignore` crate's walker with prodsafe's settings: what [`walk`]
/// must agree with (tests compare them on generated trees).
#[cfg(test)]
pub fn walk_with_ignore_crate(root: &Path, excluded: Excluded) -> Walk {
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

    const FILES: &[&str] = &[
        "a/x.log",
        "a/b/keep.log",
        "a/b/c/Dockerfile",
        "src/main.ts",
        "apps/x/src/main.ts",
        "apps/x/Dockerfile",
        "apps/x/package.json",
        "dist/main.js",
        "dist/keep.txt",
        "logs/a.log",
        "b/docker-compose.yml",
        "README.md",
        "x.log",
        "docker-compose.yml",
        ".env",
        "a/.hidden.sh",
        "node_modules/p/index.js",
        "target/x/Dockerfile",
    ];
    const PATTERNS: &[&str] = &[
        "*.log",
        "!keep.log",
        "dist/",
        "/dist",
        "dist",
        "a/**/c",
        "**/src",
        "!src/",
        "b",
        "/b/",
        "*.ts",
        "!main.ts",
        "#comment",
        "",
        "apps/*/src",
        "c/",
        "!a/b/",
        "*.md",
        "Dockerfile",
        "!Dockerfile",
        "/x.log",
        "**/*.yml",
        "a/b",
        "[",
        "\\!x",
        "*.sh",
        "!*.sh",
        "x/",
        "!apps/",
        "apps",
        "*.json",
        ".env",
        "!.env",
    ];
    /// Where ignore files go: relative to the parent of the root (`repo/`
    /// is the root).
    const IGNORE_FILES: &[&str] = &[
        ".gitignore",
        "repo/.gitignore",
        "repo/.ignore",
        "repo/a/.gitignore",
        "repo/a/b/.gitignore",
        "repo/apps/.gitignore",
        "repo/apps/x/.ignore",
        "repo/.git/info/exclude",
    ];

    /// The walk agrees with the `ignore` crate's walker (what it replaced)
    /// on generated trees: nested `.gitignore`/`.ignore` files with
    /// negations, anchored and folder-only patterns, a parent folder's
    /// ignore file, `info/exclude`, symlinks and the `exclude` setting.
    #[test]
    fn walk_agrees_with_the_ignore_crate() {
        use proptest::prelude::*;
        let files = proptest::collection::vec(any::<bool>(), FILES.len());
        let ignores = proptest::collection::vec(
            proptest::option::of(proptest::collection::vec(0..PATTERNS.len(), 1..5)),
            IGNORE_FILES.len(),
        );
        let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
            cases: 300,
            ..Default::default()
        });
        runner
            .run(
                &(files, ignores, any::<bool>(), any::<bool>()),
                |(fs, igs, link, excl)| {
                    let tmp = tempfile::tempdir().unwrap();
                    let root = tmp.path().join("repo");
                    std::fs::create_dir_all(&root).unwrap();
                    for (f, on) in FILES.iter().zip(&fs) {
                        if *on {
                            let p = root.join(f);
                            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                            std::fs::write(&p, "x").unwrap();
                        }
                    }
                    for (f, pats) in IGNORE_FILES.iter().zip(&igs) {
                        if let Some(pats) = pats {
                            let p = tmp.path().join(f);
                            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                            let text: String =
                                pats.iter().map(|i| format!("{}\n", PATTERNS[*i])).collect();
                            std::fs::write(&p, text).unwrap();
                        }
                    }
                    if link {
                        std::os::unix::fs::symlink("README.md", root.join("Dockerfile")).unwrap();
                        std::fs::create_dir_all(root.join("apps")).unwrap();
                        std::os::unix::fs::symlink(
                            "../docker-compose.yml",
                            root.join("apps/compose.yml"),
                        )
                        .unwrap();
                    }
                    let excluded: Excluded = if excl {
                        std::sync::Arc::new(|rel: &str| {
                            rel.starts_with("apps/x/src") || rel.ends_with(".md")
                        })
                    } else {
                        std::sync::Arc::new(|_: &str| false)
                    };
                    let a = walk(&root, excluded.clone());
                    let b = walk_with_ignore_crate(&root, excluded);
                    let show = |w: &Walk| {
                        format!(
                            "{:?}\n{:?}\n{:?}\n{:?}",
                            w.files.iter().map(|f| (&f.rel, f.kind)).collect::<Vec<_>>(),
                            w.all_paths,
                            w.skipped.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
                            w.errors.iter().map(|e| e.to_string()).collect::<Vec<_>>()
                        )
                    };
                    prop_assert_eq!(show(&a), show(&b));
                    Ok(())
                },
            )
            .unwrap();
    }
}
