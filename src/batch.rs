//! `prodsafe fix` over one or many repositories: per-repo results computed
//! in parallel, one patch per repo (`--patch-dir`), a deterministic
//! `summary.json`, sharding for fleet-wide migrations, and a progress bar or
//! one line per repo.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::engine::{
    plan_diff, plan_diff_from_cwd, plan_root, run_target, write_plan_report, Common, Target,
};

#[derive(Debug, Clone, Serialize)]
pub struct Skip {
    pub code: String,
    pub path: String,
    pub line: usize,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RepoResult {
    pub root: String,
    pub name: String,
    pub patch: Option<String>,
    pub findings: usize,
    pub by_code: BTreeMap<String, usize>,
    pub by_severity: BTreeMap<String, usize>,
    pub fixes_applied: usize,
    pub files_changed: usize,
    /// Changed files with the number of findings fixed in each.
    pub changed: Vec<(String, usize)>,
    pub findings_left: usize,
    pub skipped: Vec<Skip>,
    /// Files not read on purpose (symlinks), each with the reason.
    pub skipped_files: Vec<String>,
    pub errors: Vec<String>,
    /// Position in the whole (unsharded) list.
    pub index: usize,
    /// Fixes per rule code.
    pub fixed_by_code: BTreeMap<String, usize>,
    /// `<name>.md`, the pull-request description, with --patch-dir.
    pub description: Option<String>,
    /// What --branch did.
    pub branch: Option<crate::fleet::BranchResult>,
    #[serde(skip)]
    pub diff: Vec<u8>,
    #[serde(skip)]
    pub fixed: Vec<crate::fleet::FixedItem>,
}

/// `rel` shown with its root, as a user can open it from where they ran
/// prodsafe.
fn with_root(root: &Path, rel: &str) -> String {
    if root == Path::new(".") || rel.is_empty() {
        rel.to_string()
    } else {
        format!("{}/{rel}", root.display().to_string().trim_end_matches('/'))
    }
}

pub struct Options {
    pub diff: bool,
    pub unsafe_fixes: bool,
    /// `fix --branch NAME`: commit the fixes on a new branch per repo and
    /// leave the work tree alone.
    pub branch: Option<String>,
    /// `--exit-zero`: a finished run exits 0 (pending changes, findings
    /// left and per-repo errors are in the summary); a patch folder that
    /// cannot be written still exits 2.
    pub exit_zero: bool,
    /// Patch paths from the current folder (several roots or file
    /// arguments on stdout) instead of from each root.
    pub from_cwd: bool,
}

impl Options {
    /// Whether files are left untouched (a patch or a branch instead).
    fn dry(&self) -> bool {
        self.diff || self.branch.is_some()
    }
}

/// Runs one repository: check, plan, then write or produce its patch. A
/// panic while processing it becomes an error of that repository only.
pub fn process(target: &Target, common: &Common, opts: &Options) -> RepoResult {
    let root = target.root.as_path();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        process_inner(target, common, opts)
    })) {
        Ok(r) => r,
        Err(e) => {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let mut r = empty(root);
            r.errors.push(format!(
                "{}: internal error, repository skipped: {msg}",
                root.display()
            ));
            r
        }
    }
}

fn empty(root: &Path) -> RepoResult {
    RepoResult {
        root: root.display().to_string(),
        name: String::new(),
        patch: None,
        findings: 0,
        by_code: BTreeMap::new(),
        by_severity: BTreeMap::new(),
        fixes_applied: 0,
        files_changed: 0,
        changed: vec![],
        findings_left: 0,
        skipped: vec![],
        skipped_files: vec![],
        errors: vec![],
        index: 0,
        fixed_by_code: BTreeMap::new(),
        description: None,
        branch: None,
        diff: vec![],
        fixed: vec![],
    }
}

fn process_inner(target: &Target, common: &Common, opts: &Options) -> RepoResult {
    let root = target.root.as_path();
    let mut r = empty(root);
    let run = match run_target(target, common) {
        Ok(run) => run,
        Err(e) => {
            r.errors.push(if e.rel == root.display().to_string() {
                e.to_string()
            } else {
                with_root(root, &e.to_string())
            });
            return r;
        }
    };
    crate::engine::warn_unchecked(&run);
    r.errors.extend(
        run.errors()
            .iter()
            .chain(run.template_errors.iter())
            .map(|e| with_root(root, &e.to_string())),
    );
    r.skipped_files = run
        .project
        .skipped
        .iter()
        .map(|e| with_root(root, &e.to_string()))
        .collect();
    r.findings = run.findings.len();
    for f in &run.findings {
        *r.by_code.entry(f.code.to_string()).or_default() += 1;
        *r.by_severity
            .entry(f.severity.as_str().to_string())
            .or_default() += 1;
    }
    let plan = plan_root(&run, opts.unsafe_fixes);
    for fp in plan.errors() {
        r.errors.push(format!(
            "{}: {}",
            with_root(root, &fp.path),
            fp.error.as_deref().unwrap_or("")
        ));
    }
    for s in &plan.skipped {
        let f = &run.findings[s.finding];
        r.skipped.push(Skip {
            code: f.code.into(),
            path: f.path.clone(),
            line: f.line,
            reason: s.reason.clone(),
        });
    }
    // What counts: the files the patch or the branch holds (--diff,
    // --branch), or the files that were really written.
    let done: Vec<&crate::plan::FilePlan> = if opts.dry() {
        r.diff = if opts.from_cwd {
            plan_diff_from_cwd(&run, &plan)
        } else {
            plan_diff(&run, &plan)
        };
        plan.changed().collect()
    } else {
        let (written, errs) = write_plan_report(&run.project, &plan);
        r.errors.extend(errs);
        plan.changed()
            .filter(|f| written.contains(&f.path))
            .collect()
    };
    let fixed: std::collections::BTreeSet<usize> =
        done.iter().flat_map(|f| f.fixed.iter().copied()).collect();
    r.fixes_applied = fixed.len();
    r.files_changed = done.len();
    r.changed = done
        .iter()
        .map(|f| (f.path.clone(), f.fixed.len()))
        .collect();
    r.findings_left = r.findings - r.fixes_applied;
    r.fixed = crate::fleet::fixed_items(&run.findings, &fixed);
    for it in &r.fixed {
        *r.fixed_by_code.entry(it.code.clone()).or_default() += 1;
    }
    if let (Some(branch), true) = (&opts.branch, r.fixes_applied > 0) {
        let files: Vec<(String, Vec<u8>)> = done
            .iter()
            .map(|fp| {
                let src = &run.project.files[fp.file];
                let new = crate::source::with_bom(src.bom, fp.new_text.as_deref().unwrap());
                (fp.path.clone(), new.into_bytes())
            })
            .collect();
        let msg = crate::fleet::commit_message(&r.fixed, &r.changed);
        match crate::fleet::create_branch(root, branch, &files, &msg) {
            Ok(b) => r.branch = Some(b),
            Err(e) => r.errors.push(e),
        }
    }
    r
}

impl RepoResult {
    /// This repo's entry in summary.json.
    pub fn summary(&self) -> crate::fleet::RepoSummary {
        crate::fleet::RepoSummary {
            index: self.index,
            root: self.root.clone(),
            name: self.name.clone(),
            patch: self.patch.clone(),
            description: self.description.clone(),
            branch: self.branch.clone(),
            findings: self.findings,
            by_code: self.by_code.clone(),
            by_severity: self.by_severity.clone(),
            fixes_applied: self.fixes_applied,
            fixed_by_code: self.fixed_by_code.clone(),
            files_changed: self.files_changed,
            changed: self.changed.clone(),
            findings_left: self.findings_left,
            skipped: self
                .skipped
                .iter()
                .map(|s| crate::fleet::SkipSummary {
                    code: s.code.clone(),
                    path: s.path.clone(),
                    line: s.line,
                    reason: s.reason.clone(),
                })
                .collect(),
            skipped_files: self.skipped_files.clone(),
            errors: self.errors.clone(),
        }
    }
}

/// `K/N`: keep the repos whose position modulo N is K-1. K runs from 1 to
/// N (a GitHub matrix); 0 is read as N, so the 0-based indices 0..N-1 of a
/// Kubernetes Indexed Job (`$JOB_COMPLETION_INDEX`) cover every shard too.
pub fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let (k, n) = s.split_once('/').ok_or("--shard takes K/N, e.g. 2/5")?;
    let k: usize = k.trim().parse().map_err(|_| "--shard: K is not a number")?;
    let n: usize = n.trim().parse().map_err(|_| "--shard: N is not a number")?;
    if n == 0 || k > n {
        return Err(format!(
            "--shard {s}: K must be between 1 and N (or 0, read as N)"
        ));
    }
    Ok((if k == 0 { n } else { k }, n))
}

pub fn shard<T: Clone>(items: &[T], k: usize, n: usize) -> Vec<T> {
    items
        .iter()
        .enumerate()
        .filter(|(i, _)| i % n == k - 1)
        .map(|(_, x)| x.clone())
        .collect()
}

/// Reads `--repos-from`: one path a line; blank lines and `#` comments skipped.
pub fn read_list(file: &Path) -> Result<Vec<PathBuf>, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("{}: cannot read: {e}", file.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(PathBuf::from)
        .collect())
}

fn base_name(root: &Path) -> String {
    let name = std::fs::canonicalize(root)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .or_else(|| root.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "repo".into());
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() || clean.starts_with('.') {
        format!("repo{clean}")
    } else {
        clean
    }
}

/// Unique, stable patch names in input order: a name already given (also
/// as a suffixed one: `x/a`, `y/a`, `z/a-2`) gets the next free suffix.
/// Compared without case, for case-insensitive file systems.
pub fn names(roots: &[PathBuf]) -> Vec<String> {
    let mut used: std::collections::HashSet<String> = std::collections::HashSet::new();
    roots
        .iter()
        .map(|r| {
            let b = base_name(r);
            let mut name = b.clone();
            let mut n = 1;
            while !used.insert(name.to_ascii_lowercase()) || name.eq_ignore_ascii_case("summary") {
                n += 1;
                name = format!("{b}-{n}");
            }
            name
        })
        .collect()
}

pub fn status_line(r: &RepoResult, diff: bool) -> String {
    let what = if !r.errors.is_empty() {
        format!("error: {}", r.errors[0])
    } else if let Some(b) = &r.branch {
        format!(
            "branch {} {} at {} ({} fix{})",
            b.name,
            b.status,
            &b.commit[..b.commit.len().min(12)],
            r.fixes_applied,
            if r.fixes_applied == 1 { "" } else { "es" }
        )
    } else if r.fixes_applied == 0 {
        "no changes".to_string()
    } else if diff {
        format!(
            "{} fix{} pending in {} file{}",
            r.fixes_applied,
            if r.fixes_applied == 1 { "" } else { "es" },
            r.files_changed,
            if r.files_changed == 1 { "" } else { "s" }
        )
    } else {
        format!("fixed {}", r.fixes_applied)
    };
    format!("{}: {what}", r.root)
}

pub struct BatchArgs {
    pub roots: Vec<Target>,
    /// Patch names and list positions, computed on the whole list before
    /// sharding so every shard names a repo as the unsharded run does.
    pub names: Vec<String>,
    pub indices: Vec<usize>,
    pub shard: Option<(usize, usize)>,
    pub list_len: usize,
    pub jobs: usize,
    pub patch_dir: Option<PathBuf>,
    pub opts: Options,
}

/// Runs many repos; returns the exit code.
pub fn run(args: BatchArgs, common: &Common) -> i32 {
    let names = &args.names;
    let tty = std::io::stderr().is_terminal();
    let bar = (tty && args.roots.len() > 1).then(|| {
        let b = indicatif::ProgressBar::new(args.roots.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} repos {msg}").unwrap(),
        );
        b
    });
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.max(1))
        // Parsers of third-party grammars recurse on nesting: room to spare.
        .stack_size(64 << 20)
        .build()
        .expect("thread pool");
    let results: Vec<RepoResult> = pool.install(|| {
        args.roots
            .par_iter()
            .zip(names.par_iter())
            .zip(args.indices.par_iter())
            .map(|((root, name), &index)| {
                let mut r = process(root, common, &args.opts);
                r.name = name.clone();
                r.index = index;
                match &bar {
                    Some(b) => b.inc(1),
                    None if args.roots.len() > 1 || r.branch.is_some() => {
                        eprintln!(
                            "{}",
                            crate::render::escape(&status_line(&r, args.opts.dry()))
                        )
                    }
                    None => {}
                }
                r
            })
            .collect()
    });
    if let Some(b) = &bar {
        b.finish_and_clear();
        for r in &results {
            eprintln!(
                "{}",
                crate::render::escape(&status_line(r, args.opts.dry()))
            );
        }
    }
    let mut results = results;
    let mut code = 0;
    if let Some(dir) = &args.patch_dir {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("error: {}: cannot create: {e}", dir.display());
            return 2;
        }
        for r in &mut results {
            if !r.diff.is_empty() {
                let file = format!("{}.patch", r.name);
                match crate::edit::write_atomic(&dir.join(&file), &r.diff, 0o644) {
                    Ok(()) => r.patch = Some(file),
                    Err(e) => r
                        .errors
                        .push(format!("{}: cannot write: {e}", dir.join(&file).display())),
                }
            }
            if r.fixes_applied > 0 {
                let file = format!("{}.md", r.name);
                let skipped: Vec<(String, String, usize, String)> = r
                    .skipped
                    .iter()
                    .map(|s| (s.code.clone(), s.path.clone(), s.line, s.reason.clone()))
                    .collect();
                let text = crate::fleet::pr_description(
                    &r.fixed,
                    &crate::fleet::PrContext {
                        repo: &r.name,
                        files: &r.changed,
                        findings: r.findings,
                        findings_left: r.findings_left,
                        skipped: &skipped,
                        branch: r.branch.as_ref().map(|b| b.name.as_str()),
                        patch: r.patch.as_deref(),
                    },
                );
                if let Err(e) = crate::edit::write_atomic(&dir.join(&file), text.as_bytes(), 0o644)
                {
                    r.errors.push(format!("{file}: cannot write: {e}"));
                }
                r.description = Some(file);
            }
        }
        let summary = crate::fleet::Summary::new(
            results.iter().map(RepoResult::summary).collect(),
            args.shard.map(|(k, n)| crate::fleet::Shard { k, n }),
            args.list_len,
        );
        let text = summary.to_json();
        if let Err(e) = crate::edit::write_atomic(&dir.join("summary.json"), text.as_bytes(), 0o644)
        {
            eprintln!("error: summary.json: {e}");
            code = 2;
        }
    } else if args.opts.diff {
        let mut out = std::io::stdout().lock();
        for r in &results {
            let _ = out.write_all(&crate::engine::diff_for_stdout(&r.diff, common.color));
        }
    }
    if !args.opts.dry() && args.roots.len() == 1 {
        for r in &results {
            for (path, n) in &r.changed {
                let shown = if r.root == "." {
                    path.clone()
                } else {
                    format!("{}/{path}", r.root.trim_end_matches('/'))
                };
                println!(
                    "fixed {n} finding{} in {}",
                    if *n == 1 { "" } else { "s" },
                    crate::render::escape(&shown)
                );
            }
            if r.fixes_applied > 0 {
                println!(
                    "fixed {} finding{} in {} file{}",
                    r.fixes_applied,
                    if r.fixes_applied == 1 { "" } else { "s" },
                    r.files_changed,
                    if r.files_changed == 1 { "" } else { "s" }
                );
            }
        }
    }
    for r in &results {
        for f in &r.skipped_files {
            eprintln!("skipped: {}", crate::render::escape(f));
        }
        for s in &r.skipped {
            eprintln!(
                "skipped: {}",
                crate::render::escape(&format!(
                    "{}:{}: {} {}",
                    with_root(Path::new(&r.root), &s.path),
                    s.line,
                    s.code,
                    s.reason
                ))
            );
        }
        if args.roots.len() == 1 || bar.is_none() {
            for e in &r.errors {
                eprintln!("error: {}", crate::render::escape(e));
            }
        }
    }
    let erred: Vec<&str> = results
        .iter()
        .filter(|r| !r.errors.is_empty())
        .map(|r| r.root.as_str())
        .collect();
    let pending = results.iter().any(|r| r.fixes_applied > 0);
    let left: usize = results.iter().map(|r| r.findings_left).sum();
    if args.roots.len() > 1 {
        eprintln!(
            "{} repos: {} with changes, {} without, {} with errors{}",
            results.len(),
            results.iter().filter(|r| r.fixes_applied > 0).count(),
            results
                .iter()
                .filter(|r| r.fixes_applied == 0 && r.errors.is_empty())
                .count(),
            erred.len(),
            if erred.is_empty() {
                String::new()
            } else {
                format!(" ({})", erred.join(", "))
            }
        );
    } else if left > 0 {
        let files: usize = results.iter().map(|r| r.skipped_files.len()).sum();
        eprintln!(
            "{left} finding{} left without an applicable fix (see `prodsafe check`{}){}",
            if left == 1 { "" } else { "s" },
            if args.opts.unsafe_fixes {
                ""
            } else {
                "; unsafe fixes need --unsafe-fixes"
            },
            if files > 0 {
                format!(
                    "; {files} file{} skipped",
                    if files == 1 { "" } else { "s" }
                )
            } else {
                String::new()
            }
        );
    } else {
        let files: usize = results.iter().map(|r| r.skipped_files.len()).sum();
        if files > 0 {
            eprintln!("{files} file{} skipped", if files == 1 { "" } else { "s" });
        }
    }
    if code == 2 {
        2
    } else if args.opts.exit_zero {
        0
    } else if !erred.is_empty() {
        2
    } else if (args.opts.dry() && pending) || (!args.opts.dry() && left > 0) {
        1
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_disjoint_and_cover() {
        let list: Vec<usize> = (0..10).collect();
        let mut all = Vec::new();
        for k in 1..=3 {
            let s = shard(&list, k, 3);
            assert!(s.iter().all(|x| !all.contains(x)));
            all.extend(s);
        }
        all.sort();
        assert_eq!(all, list);
        assert!(
            parse_shard("4/3").is_err() && parse_shard("1/0").is_err() && parse_shard("x").is_err()
        );
        assert_eq!(parse_shard("2/5"), Ok((2, 5)));
        // 0-based indices (Kubernetes) wrap: 0/N is N/N.
        assert_eq!(parse_shard("0/3"), Ok((3, 3)));
    }

    #[test]
    fn unique_names() {
        let n = names(&[
            PathBuf::from("/x/a"),
            PathBuf::from("/y/a"),
            PathBuf::from("/z/b"),
        ]);
        assert_eq!(n, vec!["a", "a-2", "b"]);
        let n = names(&[
            PathBuf::from("/x/a"),
            PathBuf::from("/y/a"),
            PathBuf::from("/z/a-2"),
            PathBuf::from("/w/A"),
        ]);
        assert_eq!(n, vec!["a", "a-2", "a-2-2", "A-3"]);
    }
}
