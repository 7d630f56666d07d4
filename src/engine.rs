//! The engine under the command line: resolve what to scan, load a root,
//! run the rules, plan the fixes, diff and write them. `cli`, `check`,
//! `batch` and `interactive` call it; it calls none of them.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use crate::config::Config;
use crate::finding::{Finding, Safety};
use crate::plan::{self, Plan};
use crate::project::Project;
use crate::render;
use crate::source::{with_bom, LoadError};
use crate::templates::Templates;

#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Args, Debug, Clone, Default)]
pub struct Common {
    /// Repositories, folders or files to scan. A file is checked in the
    /// context of its repository (the nearest folder above it holding
    /// `.git` or a prodsafe.toml) and only its findings are reported.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Only these rules (codes, prefixes like CMP, or names; comma-separated).
    /// Replaces the config's `select`.
    #[arg(long, value_delimiter = ',')]
    pub select: Vec<String>,
    /// Rules added to the selection.
    #[arg(long, value_delimiter = ',')]
    pub extend_select: Vec<String>,
    /// Skip these rules (added to the config's `ignore`).
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Folder of templates overriding the built-in ones.
    #[arg(long)]
    pub templates: Option<PathBuf>,
    /// Use this configuration file instead of the nearest prodsafe.toml.
    #[arg(long, conflicts_with = "isolated")]
    pub config: Option<PathBuf>,
    /// Ignore every configuration file.
    #[arg(long)]
    pub isolated: bool,
    /// When to color output (NO_COLOR, FORCE_COLOR, CLICOLOR_FORCE and
    /// TERM=dumb are honoured with `auto`).
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
    /// Set by `fix` when it writes: files with uncommitted changes are then
    /// left alone unless `allow_dirty`.
    #[arg(skip)]
    pub writes: bool,
    #[arg(skip)]
    pub allow_dirty: bool,
}

/// What to scan in one root: everything, or only some files of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The root as shown (relative to the current folder when below it).
    pub root: PathBuf,
    /// Files (relative to the root) whose findings are reported; None: all.
    pub only: Option<BTreeSet<String>>,
}

pub struct RootRun {
    pub project: Project,
    pub findings: Vec<Finding>,
    /// Findings silenced by inline suppressions.
    pub suppressed: usize,
    /// Findings dropped by `per-file-ignores`.
    pub ignored_per_file: usize,
    pub unused_ignores: Vec<crate::suppress::Suppression>,
    pub ignores_without_reason: Vec<crate::suppress::Suppression>,
    /// Files given on the command line (relative to the root).
    pub only: Option<BTreeSet<String>>,
    /// Files given on the command line that prodsafe did not read, with why.
    pub unchecked: Vec<(String, String)>,
    /// Files with uncommitted changes, when `fix` writes without
    /// `--allow-dirty` (relative to the root).
    pub dirty: HashSet<String>,
    /// Fixes dropped because their text still holds a template placeholder.
    pub template_errors: Vec<LoadError>,
}

impl RootRun {
    /// Load errors of the files this run reports on (all of them, or the
    /// file arguments): these are errors (exit 2).
    pub fn errors(&self) -> Vec<LoadError> {
        self.project
            .errors
            .iter()
            .filter(|e| self.in_scope(&e.rel))
            .cloned()
            .collect()
    }

    /// Load errors of other files, read only as context for the file
    /// arguments: said as warnings, and the run is then incomplete.
    pub fn context_errors(&self) -> Vec<LoadError> {
        self.project
            .errors
            .iter()
            .filter(|e| !self.in_scope(&e.rel))
            .cloned()
            .collect()
    }

    fn in_scope(&self, rel: &str) -> bool {
        self.only.as_ref().is_none_or(|o| o.contains(rel))
    }

    /// Whether nothing prodsafe reads was found under the root.
    pub fn found_nothing(&self) -> bool {
        self.project.files.is_empty()
    }

    /// Everything requested was read and checked (no load error, no file
    /// argument left unread, something to check).
    pub fn fully_checked(&self) -> bool {
        self.project.errors.is_empty()
            && self.unchecked.is_empty()
            && self.template_errors.is_empty()
            && !self.found_nothing()
    }
}

/// Whether to colour a stream: `--color`, else NO_COLOR (non-empty),
/// FORCE_COLOR, CLICOLOR_FORCE, CLICOLOR, TERM=dumb and whether the stream
/// is a terminal, as anstream decides.
pub fn color_enabled(c: ColorChoice) -> bool {
    color_for(c, &std::io::stdout())
}

pub fn color_for<S: anstream::stream::RawStream>(c: ColorChoice, stream: &S) -> bool {
    match c {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if anstyle_query_no_color() {
                return false;
            }
            // FORCE_COLOR (Node, many CI systems): anstream knows
            // CLICOLOR_FORCE only.
            if std::env::var("FORCE_COLOR").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
            {
                return true;
            }
            // TERM=dumb says the terminal cannot show colour; anstream
            // colours anyway when CI is set, so it is checked here (only
            // CLICOLOR_FORCE, above in anstream's order, overrides it).
            let forced =
                std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0");
            if !forced && std::env::var_os("TERM").is_some_and(|t| t == "dumb") {
                return false;
            }
            anstream::AutoStream::choice(stream) != anstream::ColorChoice::Never
        }
    }
}

fn anstyle_query_no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Rejects unknown rule codes or names in `--select`, `--extend-select`
/// and `--ignore` (with a did-you-mean).
pub fn validate_cli_selectors(common: &Common) -> Result<(), String> {
    for (flag, list) in [
        ("--select", &common.select),
        ("--extend-select", &common.extend_select),
        ("--ignore", &common.ignore),
    ] {
        for s in list {
            crate::rules::check_selector(s).map_err(|e| format!("{flag}: {e}"))?;
        }
    }
    Ok(())
}

/// Rejects unknown rule codes or names in a config file; stores
/// `[severity]` keys given as names under their codes.
pub fn validate_config_rules(cfg: &mut Config) -> Result<(), LoadError> {
    for key in cfg.severity.keys() {
        if crate::rules::find(key).is_none() {
            return Err(cfg.error(
                key,
                format!("[severity]: {}", crate::rules::unknown_rule(key)),
            ));
        }
    }
    cfg.severity = cfg
        .severity
        .iter()
        .map(|(k, v)| (crate::rules::find(k).unwrap().code.to_string(), v.clone()))
        .collect();
    for (key, list) in [
        ("select", &cfg.select),
        ("extend-select", &cfg.extend_select),
        ("ignore", &cfg.ignore),
    ] {
        for s in list {
            if let Err(e) = crate::rules::check_selector(s) {
                return Err(cfg.error(&format!("\"{s}\""), format!("{key}: {e}")));
            }
        }
    }
    for (glob, codes) in &cfg.per_file_ignores {
        for s in codes {
            if let Err(e) = crate::rules::check_selector(s) {
                return Err(cfg.error(glob, format!("per-file-ignores `{glob}`: {e}")));
            }
        }
    }
    Ok(())
}

/// The folder holding a file argument's repository: the nearest folder
/// above it with `.git` or a config file, else the file's own folder.
pub fn root_of_file(file: &Path) -> PathBuf {
    let abs = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    let parent = abs.parent().unwrap_or(Path::new("/")).to_path_buf();
    let mut dir = parent.clone();
    loop {
        if crate::config::is_repo_root(&dir)
            || crate::config::FILE_NAMES
                .iter()
                .any(|n| dir.join(n).is_file())
        {
            return dir;
        }
        match dir.parent() {
            Some(p) => dir = p.to_path_buf(),
            None => return parent,
        }
    }
}

/// `abs` as shown to the user: relative to the current folder when below
/// it (`.` for the folder itself), else absolute.
pub fn shown_path(abs: &Path) -> PathBuf {
    let cwd = std::env::current_dir()
        .ok()
        .and_then(|c| std::fs::canonicalize(c).ok());
    let Some(cwd) = cwd else {
        return abs.to_path_buf();
    };
    if let Ok(r) = abs.strip_prefix(&cwd) {
        return if r.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            r.to_path_buf()
        };
    }
    // A folder above the current one: `..`, `../..`.
    match cwd.strip_prefix(abs) {
        Ok(up) => up
            .components()
            .map(|_| "..")
            .collect::<Vec<_>>()
            .join("/")
            .into(),
        Err(_) => abs.to_path_buf(),
    }
}

/// Turns path arguments into targets: folders as they are, files grouped
/// by the root of their repository. Missing paths and `-` are errors.
pub fn resolve_paths(paths: &[PathBuf]) -> (Vec<Target>, Vec<LoadError>) {
    let mut targets: Vec<Target> = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        let shown = p.display().to_string();
        if shown == "-" {
            errors.push(LoadError {
                rel: shown,
                line: None,
                message: "reading from stdin is not supported: pass the file's path".into(),
            });
            continue;
        }
        let meta = match std::fs::metadata(p) {
            Ok(m) => m,
            Err(e) => {
                errors.push(LoadError {
                    rel: shown,
                    line: None,
                    message: if e.kind() == std::io::ErrorKind::NotFound {
                        "no such file or directory".into()
                    } else {
                        format!("cannot read: {e}")
                    },
                });
                continue;
            }
        };
        if meta.is_dir() {
            let t = Target {
                root: p.clone(),
                only: None,
            };
            if !targets.contains(&t) {
                targets.push(t);
            }
            continue;
        }
        let root_abs = root_of_file(p);
        let abs = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
        let rel = crate::discover::rel_path(&root_abs, &abs);
        let root = shown_path(&root_abs);
        match targets
            .iter_mut()
            .find(|t| t.root == root && t.only.is_some())
        {
            Some(t) => {
                t.only.as_mut().unwrap().insert(rel);
            }
            None => targets.push(Target {
                root,
                only: Some([rel].into_iter().collect()),
            }),
        }
    }
    // A file whose root is also given as a folder is covered by it.
    let canon = |p: &Path| std::fs::canonicalize(p).ok();
    let whole: Vec<PathBuf> = targets
        .iter()
        .filter(|t| t.only.is_none())
        .filter_map(|t| canon(&t.root))
        .collect();
    targets.retain(|t| t.only.is_none() || canon(&t.root).is_none_or(|r| !whole.contains(&r)));
    (targets, errors)
}

/// Loads one root (or a file argument's root) and runs the rules on it.
pub fn run_root(path: &Path, common: &Common) -> Result<RootRun, LoadError> {
    let (targets, errors) = resolve_paths(std::slice::from_ref(&path.to_path_buf()));
    if let Some(e) = errors.into_iter().next() {
        return Err(e);
    }
    run_target(&targets[0], common)
}

/// The kinds of files prodsafe reads, for messages.
pub const READS: &str =
    "compose files, Dockerfiles, entrypoint scripts, GitHub workflows, nginx configs, Prisma schemas, \
     and app entries with the modules they import";

/// Loads a target's root and runs the rules on it.
pub fn run_target(t: &Target, common: &Common) -> Result<RootRun, LoadError> {
    let root = &t.root;
    if !root.exists() {
        return Err(LoadError {
            rel: root.display().to_string(),
            line: None,
            message: "no such file or directory".into(),
        });
    }
    let mut config = Config::resolve(root, common.config.as_deref(), common.isolated)?;
    validate_config_rules(&mut config)?;
    let tdir = common.templates.clone().or_else(|| config.templates_dir());
    let templates = Templates::with_overrides(tdir.as_deref()).map_err(|e| LoadError {
        rel: tdir
            .as_ref()
            .map(|d| d.display().to_string())
            .unwrap_or_default(),
        line: None,
        message: e
            .strip_prefix(&format!("{}: ", tdir.as_ref().unwrap().display()))
            .map(str::to_string)
            .unwrap_or(e.clone()),
    })?;
    // `--select` replaces the config's selection; `--ignore` and the
    // extend-selects add to it.
    let mut select = if common.select.is_empty() {
        config.select.clone()
    } else {
        common.select.clone()
    };
    if !select.is_empty() {
        select.extend(config.extend_select.iter().cloned());
        select.extend(common.extend_select.iter().cloned());
    }
    let mut ignore = config.ignore.clone();
    ignore.extend(common.ignore.iter().cloned());
    let per_file = config.per_file_matchers(root);
    let project = Project::load(root, config, templates);
    let mut findings = crate::rules::run(&project, &select, &ignore);
    let before = findings.len();
    findings.retain(|f| {
        !per_file.iter().any(|(m, codes)| {
            m.is_match(&f.path)
                && crate::rules::find(f.code).is_some_and(|r| crate::rules::matches(r, codes))
        })
    });
    let ignored_per_file = before - findings.len();
    let ps002_on = (select.is_empty()
        || crate::rules::matches(&crate::rules::ps002_unknown_ignore_code::RULE, &select))
        && !crate::rules::matches(&crate::rules::ps002_unknown_ignore_code::RULE, &ignore);
    if ps002_on {
        findings.extend(crate::rules::ps002_unknown_ignore_code::findings(&project));
    }
    let filtered = crate::suppress::filter(&project, findings);
    let mut findings = filtered.kept;
    let mut unchecked = Vec::new();
    if let Some(only) = &t.only {
        findings.retain(|f| only.contains(&f.path));
        for rel in only {
            if project.by_rel.contains_key(rel) || project.errors.iter().any(|e| &e.rel == rel) {
                continue;
            }
            let why = if project.config.exclude_matcher(root).is_match(rel) {
                "excluded by the config's `exclude`".to_string()
            } else if crate::discover::classify(rel).is_some() {
                "ignored (.gitignore) or not reached from the root".to_string()
            } else {
                format!("not a file prodsafe reads ({READS})")
            };
            unchecked.push((rel.clone(), why));
        }
    }
    fill_ends(&project, &mut findings);
    let template_errors = drop_unfilled_templates(&mut findings);
    findings.sort_by_key(|f| f.sort_key());
    let unused_ignores = filtered
        .unused
        .into_iter()
        .filter(|s| t.only.as_ref().is_none_or(|o| o.contains(&s.path)))
        .collect();
    let ignores_without_reason = filtered
        .without_reason
        .into_iter()
        .filter(|s| t.only.as_ref().is_none_or(|o| o.contains(&s.path)))
        .collect();
    let dirty = if common.writes && !common.allow_dirty {
        git_dirty(root)
    } else {
        HashSet::new()
    };
    Ok(RootRun {
        project,
        findings,
        suppressed: filtered.suppressed,
        ignored_per_file,
        unused_ignores,
        ignores_without_reason,
        only: t.only.clone(),
        unchecked,
        dirty,
        template_errors,
    })
}

/// Says on stderr what a run could not check: file arguments prodsafe did
/// not read, and a root where it found nothing to read.
pub fn warn_unchecked(run: &RootRun) {
    let root = run.project.root.display().to_string();
    for (rel, why) in &run.unchecked {
        eprintln!(
            "warning: {}: not checked: {why}",
            crate::safe_text::escape(&render::text::display_path(&run.project, rel))
        );
    }
    for e in run.context_errors() {
        eprintln!(
            "warning: {}: not read, so the files given were checked without it: {}",
            crate::safe_text::escape(&render::text::display_path(&run.project, &e.rel)),
            crate::safe_text::escape(&e.message)
        );
    }
    if run.found_nothing() && run.project.errors.is_empty() {
        eprintln!(
            "warning: no compose file, Dockerfile, entrypoint, workflow or app entry found under {}",
            crate::safe_text::escape(&root)
        );
    }
}

/// Gives every finding whose rule left its end at the start a span: in a
/// Dockerfile or a shell script, a finding at the start of a line's text is
/// about that statement, so the span runs to the end of the line's text;
/// elsewhere it is the word at the start (a YAML key without its `:`).
pub fn fill_ends(p: &Project, findings: &mut [Finding]) {
    use crate::discover::FileKind;
    for f in findings {
        if (f.end_line, f.end_column) != (f.line, f.column) && f.end_line >= f.line {
            continue;
        }
        f.end_line = f.line;
        f.end_column = f.column;
        let Some(src) = p.file(&f.path) else { continue };
        if f.line == 0 || f.line > src.line_count() {
            continue;
        }
        let text = src.line_text(f.line).trim_end_matches('\r');
        let chars: Vec<char> = text.chars().collect();
        let start = f.column.saturating_sub(1);
        if start >= chars.len() {
            continue;
        }
        let kind = p.by_rel.get(&f.path).map(|&i| p.kinds[i]);
        let at_line_start = chars[..start].iter().all(|c| c.is_whitespace());
        let len = if at_line_start && matches!(kind, Some(FileKind::Dockerfile | FileKind::Shell)) {
            let end = chars
                .iter()
                .rposition(|c| !c.is_whitespace())
                .map_or(start, |e| e + 1);
            end.saturating_sub(start)
        } else {
            let word = chars[start..]
                .iter()
                .take_while(|c| !c.is_whitespace())
                .count();
            let yaml = matches!(kind, Some(FileKind::Compose | FileKind::Workflow));
            if yaml && word > 1 && chars[start + word - 1] == ':' {
                word - 1
            } else {
                word
            }
        };
        f.end_column = f.column + len.max(1);
    }
}

/// Drops fixes whose text still holds a `{{placeholder}}` prodsafe fills
/// (a template override or a rule left it): never a fix with a
/// placeholder in it. Returns one error per such fix.
fn drop_unfilled_templates(findings: &mut [Finding]) -> Vec<LoadError> {
    let names: HashSet<&str> = crate::templates::filled_names().collect();
    let mut errors = Vec::new();
    for f in findings {
        let Some(fix) = &f.fix else { continue };
        let left: Vec<String> = fix
            .changes
            .iter()
            .flat_map(|c| c.edits.iter())
            .flat_map(|e| crate::templates::placeholders(&e.text))
            .filter(|p| names.contains(p.as_str()))
            .collect();
        if let Some(ph) = left.first() {
            let why = format!("the fix's template leaves `{{{{{ph}}}}}` unfilled");
            errors.push(LoadError {
                rel: f.path.clone(),
                line: Some(f.line),
                message: format!("{}: {why}; fix dropped", f.code),
            });
            f.fix = None;
            f.no_fix_reason = Some(why);
        }
    }
    errors
}

/// Files with uncommitted changes (modified, staged or untracked) under a
/// root in a git work tree, relative to the root; empty outside git.
pub fn git_dirty(root: &Path) -> HashSet<String> {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| o.stdout)
    };
    let Some(prefix) = git(&["rev-parse", "--show-prefix"]) else {
        return HashSet::new();
    };
    let prefix = String::from_utf8_lossy(&prefix).trim().to_string();
    let Some(status) = git(&["status", "--porcelain=v1", "-z", "--untracked-files=all"]) else {
        return HashSet::new();
    };
    let mut out = HashSet::new();
    let mut entries = status.split(|b| *b == 0).filter(|e| !e.is_empty());
    while let Some(e) = entries.next() {
        if e.len() < 4 {
            continue;
        }
        let xy = &e[..2];
        let path = String::from_utf8_lossy(&e[3..]).into_owned();
        if xy[0] == b'R' || xy[0] == b'C' {
            entries.next(); // the old name
        }
        if let Some(rel) = path.strip_prefix(&prefix) {
            out.insert(rel.to_string());
        }
    }
    out
}

/// Why a fix cannot be applied in this run, if it cannot: it edits a file
/// outside the files given, or a file with uncommitted changes.
pub fn refusal(run: &RootRun, f: &Finding) -> Option<String> {
    let fix = f.fix.as_ref()?;
    if let Some(only) = &run.only {
        let outside: Vec<&str> = fix.paths().filter(|p| !only.contains(*p)).collect();
        if !outside.is_empty() {
            return Some(format!(
                "the fix also edits {} (not among the files given): pass {} too, or run on the folder",
                outside.join(", "),
                if outside.len() == 1 { "it" } else { "them" }
            ));
        }
    }
    let dirty: Vec<&str> = fix.paths().filter(|p| run.dirty.contains(*p)).collect();
    if !dirty.is_empty() {
        return Some(format!(
            "{} {} uncommitted changes: commit or stash them, or pass --allow-dirty",
            dirty.join(", "),
            if dirty.len() == 1 { "has" } else { "have" }
        ));
    }
    None
}

/// The plan for one root with the default acceptance (safe fixes, unsafe
/// ones when asked); fixes refused for this run are listed as skipped.
pub fn plan_root(run: &RootRun, unsafe_fixes: bool) -> Plan {
    let wanted = |f: &Finding| {
        f.fix
            .as_ref()
            .is_some_and(|x| x.safety == Safety::Safe || unsafe_fixes)
    };
    let mut plan = plan::plan(&run.project, &run.findings, &|_, f| {
        wanted(f) && refusal(run, f).is_none()
    });
    for (i, f) in run.findings.iter().enumerate() {
        if wanted(f) {
            if let Some(reason) = refusal(run, f) {
                plan.skipped.push(plan::Skipped { finding: i, reason });
            }
        }
    }
    plan
}

/// The unified diff of a plan (paths relative to the root).
pub fn plan_diff(run: &RootRun, plan: &Plan) -> Vec<u8> {
    plan_diff_under(run, plan, "")
}

/// The unified diff of a plan with `prefix/` before every path (the root
/// as shown, for a patch that applies from the current folder).
pub fn plan_diff_under(run: &RootRun, plan: &Plan, prefix: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let prefix = prefix.trim_end_matches('/');
    for fp in plan.changed() {
        let src = &run.project.files[fp.file];
        let new = with_bom(src.bom, fp.new_text.as_deref().unwrap());
        let path = if prefix.is_empty() || prefix == "." {
            fp.path.clone()
        } else {
            format!("{prefix}/{}", fp.path)
        };
        let bom = if src.bom { '\u{feff}'.len_utf8() } else { 0 };
        out.extend(render::diff::unified_edits(
            &path,
            &src.full_text(),
            &new,
            bom,
            &fp.edits,
        ));
    }
    out
}

/// The diff of a plan with paths as `check` shows them (from the current
/// folder).
pub fn plan_diff_from_cwd(run: &RootRun, plan: &Plan) -> Vec<u8> {
    let root = run.project.root.display().to_string();
    plan_diff_under(run, plan, &root)
}

/// Writes a plan's verified files atomically. Returns per-file errors.
pub fn write_plan(run: &RootRun, plan: &Plan) -> Vec<String> {
    write_plan_files(&run.project, plan)
}

pub fn write_plan_files(p: &Project, plan: &Plan) -> Vec<String> {
    write_plan_report(p, plan).1
}

/// Writes a plan's verified files; returns the paths written (relative to
/// the root) and the errors (naming each file with its root).
pub fn write_plan_report(p: &Project, plan: &Plan) -> (Vec<String>, Vec<String>) {
    let (mut written, mut errs) = (Vec::new(), Vec::new());
    for fp in plan.changed() {
        let src = &p.files[fp.file];
        let new = with_bom(src.bom, fp.new_text.as_deref().unwrap());
        match crate::edit::write_source(src, new.as_bytes()) {
            Ok(()) => written.push(fp.path.clone()),
            Err(e) => errs.push(e),
        }
    }
    (written, errs)
}

/// A patch as printed on stdout: raw bytes (for `git apply`) unless stdout
/// is a terminal with colour on, then coloured with control characters
/// from the files made visible.
pub fn diff_for_stdout(diff: &[u8], color: ColorChoice) -> Vec<u8> {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal() && color_enabled(color) {
        render::text::colorize(diff, true).into_bytes()
    } else {
        diff.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Edit, Expect, FileChange, Fix};

    fn repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        std::fs::write(dir.path().join("a.sh"), "#!/bin/sh\nset -e\nnode a.js\n").unwrap();
        std::fs::write(dir.path().join("b.sh"), "#!/bin/sh\nset -e\nnode b.js\n").unwrap();
        dir
    }

    /// A fix editing both scripts, reported on a.sh.
    fn two_file_finding() -> Finding {
        let mut f = crate::rules::ent001_missing_nounset::RULE.finding("a.sh", 2, 1, "x".into());
        let change = |path: &str| FileChange {
            path: path.into(),
            edits: vec![Edit {
                start: 16,
                end: 16,
                text: "u".into(),
            }],
            expect: vec![Expect::Reparse],
        };
        f.fix = Some(Fix {
            title: "both".into(),
            safety: Safety::Safe,
            unsafe_reason: None,
            changes: vec![change("a.sh"), change("b.sh")],
        });
        f
    }

    #[test]
    fn a_fix_touching_files_not_given_is_skipped_with_a_message() {
        let dir = repo();
        let common = Common {
            isolated: true,
            select: vec!["PS001".into()],
            ..Common::default()
        };
        let (targets, errors) = resolve_paths(&[dir.path().join("a.sh")]);
        assert!(errors.is_empty());
        assert_eq!(targets.len(), 1);
        assert_eq!(
            targets[0].only.as_ref().unwrap().iter().collect::<Vec<_>>(),
            vec!["a.sh"]
        );
        let mut run = run_target(&targets[0], &common).unwrap();
        run.findings = vec![two_file_finding()];
        let plan = plan_root(&run, false);
        assert_eq!(plan.changed().count(), 0);
        assert_eq!(plan.skipped.len(), 1);
        assert!(
            plan.skipped[0].reason.contains("also edits b.sh"),
            "{}",
            plan.skipped[0].reason
        );
        // Both files given: applied, in both.
        let (targets, _) = resolve_paths(&[dir.path().join("a.sh"), dir.path().join("b.sh")]);
        assert_eq!(targets.len(), 1, "grouped under one root");
        let mut run = run_target(&targets[0], &common).unwrap();
        run.findings = vec![two_file_finding()];
        let plan = plan_root(&run, false);
        assert_eq!(plan.changed().count(), 2);
        assert!(plan.skipped.is_empty());
    }

    #[test]
    fn a_file_inside_a_folder_given_too_is_not_checked_twice() {
        let dir = repo();
        let (t, _) = resolve_paths(&[dir.path().to_path_buf(), dir.path().join("a.sh")]);
        assert_eq!(t.len(), 1);
        assert!(t[0].only.is_none());
        let (t, _) = resolve_paths(&[dir.path().join("a.sh"), dir.path().join("b.sh")]);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].only.as_ref().unwrap().len(), 2);
    }

    #[test]
    fn file_roots_are_the_nearest_repository_or_config_folder() {
        let dir = repo();
        std::fs::create_dir_all(dir.path().join("apps/x/deep")).unwrap();
        std::fs::write(dir.path().join("apps/x/deep/Dockerfile"), "FROM node\n").unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        assert_eq!(
            root_of_file(&dir.path().join("apps/x/deep/Dockerfile")),
            root
        );
        std::fs::write(dir.path().join("apps/x/prodsafe.toml"), "").unwrap();
        assert_eq!(
            root_of_file(&dir.path().join("apps/x/deep/Dockerfile")),
            root.join("apps/x")
        );
    }

    #[test]
    fn selectors_suggest_the_closest_rule() {
        assert!(crate::rules::check_selector("CMP").is_ok());
        assert!(crate::rules::check_selector("cmp001").is_ok());
        assert!(crate::rules::check_selector("ALL").is_ok());
        assert!(crate::rules::check_selector("missing-healthcheck").is_ok());
        let e = crate::rules::check_selector("missing-healtcheck").unwrap_err();
        assert!(e.contains("did you mean `missing-healthcheck`"), "{e}");
        let e = crate::rules::check_selector("DKR0011").unwrap_err();
        assert!(e.contains("did you mean"), "{e}");
        let e = crate::rules::check_selector("totally-unrelated-words").unwrap_err();
        assert!(!e.contains("did you mean"), "{e}");
    }

    #[test]
    fn a_fix_left_with_a_placeholder_is_dropped_with_an_error() {
        let mut f = vec![two_file_finding()];
        f[0].fix.as_mut().unwrap().changes[1].edits[0].text = "test: {{port}}".into();
        let errors = drop_unfilled_templates(&mut f);
        assert!(f[0].fix.is_none());
        assert!(f[0]
            .no_fix_reason
            .as_deref()
            .unwrap()
            .contains("`{{port}}` unfilled"));
        assert_eq!(errors.len(), 1);
        // GitHub expressions and Go templates are not placeholders.
        let mut g = vec![two_file_finding()];
        g[0].fix.as_mut().unwrap().changes[0].edits[0].text =
            "${{ matrix.service }} {{.State.Status}} {{end}}".into();
        assert!(drop_unfilled_templates(&mut g).is_empty());
        assert!(g[0].fix.is_some());
    }

    #[test]
    fn config_rules_are_validated_and_severity_names_become_codes() {
        let mut c = Config::parse(
            "p.toml",
            "select = [\"CMP\"]\n[severity]\nmissing-healthcheck = \"high\"\n",
        )
        .unwrap();
        validate_config_rules(&mut c).unwrap();
        assert_eq!(c.severity.get("CMP001").map(String::as_str), Some("high"));
        let mut c = Config::parse("p.toml", "select = [\"CMP\"]\nignore = [\"CMP01\"]\n").unwrap();
        let e = validate_config_rules(&mut c).unwrap_err();
        assert_eq!((e.rel.as_str(), e.line), ("prodsafe.toml", Some(2)));
        assert!(e.message.contains("did you mean `CMP001`"), "{}", e.message);
    }

    #[test]
    fn spans_default_to_the_word_at_the_start() {
        let dir = repo();
        let common = Common {
            isolated: true,
            select: vec!["PS001".into()],
            ..Common::default()
        };
        let run = run_root(dir.path(), &common).unwrap();
        let mut f =
            vec![crate::rules::ent001_missing_nounset::RULE.finding("a.sh", 2, 1, "x".into())];
        fill_ends(&run.project, &mut f);
        // A statement in a shell script: the whole line's text.
        assert_eq!((f[0].end_line, f[0].end_column), (2, 7));
    }
}
