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
    plan_diff, plan_diff_from_cwd, plan_root, run_target, write_plan, Common, Target,
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
    pub errors: Vec<String>,
    #[serde(skip)]
    pub diff: Vec<u8>,
}

pub struct Options {
    pub diff: bool,
    pub unsafe_fixes: bool,
    /// Patch paths from the current folder (several roots or file
    /// arguments on stdout) instead of from each root.
    pub from_cwd: bool,
}

/// Runs one repository: check, plan, then write or produce its patch.
pub fn process(target: &Target, common: &Common, opts: &Options) -> RepoResult {
    let mut r = RepoResult {
        root: target.root.display().to_string(),
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
        errors: vec![],
        diff: vec![],
    };
    let run = match run_target(target, common) {
        Ok(run) => run,
        Err(e) => {
            r.errors.push(e.to_string());
            return r;
        }
    };
    r.root = run.project.root.display().to_string();
    crate::engine::warn_unchecked(&run);
    r.errors.extend(run.errors().iter().map(|e| e.to_string()));
    r.errors
        .extend(run.template_errors.iter().map(|e| e.to_string()));
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
            fp.path,
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
    r.fixes_applied = plan.fixed().len();
    r.files_changed = plan.changed().count();
    r.changed = plan
        .changed()
        .map(|f| (f.path.clone(), f.fixed.len()))
        .collect();
    r.findings_left = r.findings - r.fixes_applied;
    if opts.diff {
        r.diff = if opts.from_cwd {
            plan_diff_from_cwd(&run, &plan)
        } else {
            plan_diff(&run, &plan)
        };
    } else {
        r.errors.extend(write_plan(&run, &plan));
    }
    r
}

/// `K/N`: keep the repos whose position modulo N is K-1.
pub fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let (k, n) = s.split_once('/').ok_or("--shard takes K/N, e.g. 2/5")?;
    let k: usize = k.trim().parse().map_err(|_| "--shard: K is not a number")?;
    let n: usize = n.trim().parse().map_err(|_| "--shard: N is not a number")?;
    if n == 0 || k == 0 || k > n {
        return Err(format!("--shard {s}: K must be between 1 and N"));
    }
    Ok((k, n))
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

/// Unique, stable patch names in input order.
pub fn names(roots: &[PathBuf]) -> Vec<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    roots
        .iter()
        .map(|r| {
            let b = base_name(r);
            let n = seen.entry(b.clone()).or_insert(0);
            *n += 1;
            if *n == 1 {
                b
            } else {
                format!("{b}-{n}")
            }
        })
        .collect()
}

pub fn status_line(r: &RepoResult, diff: bool) -> String {
    let what = if !r.errors.is_empty() {
        format!("error: {}", r.errors[0])
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
    pub jobs: usize,
    pub patch_dir: Option<PathBuf>,
    pub opts: Options,
}

/// Runs many repos; returns the exit code.
pub fn run(args: BatchArgs, common: &Common) -> i32 {
    let paths: Vec<PathBuf> = args.roots.iter().map(|t| t.root.clone()).collect();
    let names = names(&paths);
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
        .build()
        .expect("thread pool");
    let results: Vec<RepoResult> = pool.install(|| {
        args.roots
            .par_iter()
            .zip(names.par_iter())
            .map(|(root, name)| {
                let mut r = process(root, common, &args.opts);
                r.name = name.clone();
                match &bar {
                    Some(b) => b.inc(1),
                    None if args.roots.len() > 1 => {
                        eprintln!(
                            "{}",
                            crate::render::escape(&status_line(&r, args.opts.diff))
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
            eprintln!("{}", crate::render::escape(&status_line(r, args.opts.diff)));
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
                if let Err(e) = crate::edit::write_atomic(&dir.join(&file), &r.diff, 0o644) {
                    r.errors.push(format!("{file}: cannot write: {e}"));
                }
                r.patch = Some(file);
            }
        }
        let summary = serde_json::json!({
            "version": 1,
            "repos": results,
            "totals": {
                "repos": results.len(),
                "changed": results.iter().filter(|r| r.fixes_applied > 0).count(),
                "errors": results.iter().filter(|r| !r.errors.is_empty()).count(),
                "findings": results.iter().map(|r| r.findings).sum::<usize>(),
                "fixes": results.iter().map(|r| r.fixes_applied).sum::<usize>(),
            },
        });
        let text = serde_json::to_string_pretty(&summary).unwrap() + "\n";
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
    if !args.opts.diff && args.roots.len() == 1 {
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
        for s in &r.skipped {
            eprintln!(
                "skipped: {}",
                crate::render::escape(&format!(
                    "{}/{}:{}: {} {}",
                    r.root, s.path, s.line, s.code, s.reason
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
    } else if !args.opts.diff && left > 0 {
        eprintln!(
            "{left} finding{} left without an applicable fix (see `prodsafe check`)",
            if left == 1 { "" } else { "s" }
        );
    }
    if code == 2 || !erred.is_empty() {
        2
    } else if (args.opts.diff && pending) || (!args.opts.diff && left > 0) {
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
            parse_shard("0/3").is_err() && parse_shard("4/3").is_err() && parse_shard("x").is_err()
        );
        assert_eq!(parse_shard("2/5"), Ok((2, 5)));
    }

    #[test]
    fn unique_names() {
        let n = names(&[
            PathBuf::from("/x/a"),
            PathBuf::from("/y/a"),
            PathBuf::from("/z/b"),
        ]);
        assert_eq!(n, vec!["a", "a-2", "b"]);
    }
}
