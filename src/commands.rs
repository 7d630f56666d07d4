//! The commands besides `check`: `fix` (one root or many, batch or
//! interactive), `inventory`, `report`, `rules`, `explain`, and the rule
//! pages under `docs/rules/`.

use std::path::{Path, PathBuf};

use crate::check::print_errors;
use crate::engine::{self, run_root, Common, RootRun};
use crate::render::escape;

/// More threads than this never help (the work is I/O and parsing per
/// repository on a few cores) and thousands make thread creation fail.
pub const MAX_JOBS: usize = 256;

pub struct FixOptions {
    pub common: Common,
    pub diff: bool,
    pub unsafe_fixes: bool,
    pub interactive: bool,
    pub patch_dir: Option<PathBuf>,
    pub repos_from: Option<PathBuf>,
    pub jobs: Option<usize>,
    pub shard: Option<String>,
    pub allow_dirty: bool,
    pub branch: Option<String>,
    pub exit_zero: bool,
}

/// `--jobs`: at least 1, at most [`MAX_JOBS`] (said on stderr when capped);
/// the number of cores by default.
pub fn jobs(asked: Option<usize>) -> usize {
    match asked {
        Some(n) if n > MAX_JOBS => {
            eprintln!("warning: --jobs {n} capped at {MAX_JOBS}");
            MAX_JOBS
        }
        Some(n) => n.max(1),
        None => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
    }
}

pub fn fix(a: FixOptions) -> i32 {
    if let Err(e) = engine::validate_cli_selectors(&a.common) {
        eprintln!("error: {e}");
        return 2;
    }
    let mut paths = a.common.paths.clone();
    if let Some(list) = &a.repos_from {
        match crate::batch::read_list(list) {
            Ok(mut l) => {
                if a.common.paths == [PathBuf::from(".")] {
                    paths.clear();
                }
                paths.append(&mut l);
            }
            Err(e) => {
                eprintln!("error: {}", escape(&e));
                return 2;
            }
        }
    }
    if let Some(b) = &a.branch {
        if let Err(e) = crate::fleet::validate_branch_name(b) {
            eprintln!("error: {e}");
            return 2;
        }
    }
    let mut seen = std::collections::HashSet::new();
    paths.retain(|p| seen.insert(p.clone()));
    if paths.iter().any(|p| p.as_os_str() == "-") {
        eprintln!("error: -: reading from stdin is not supported: pass the file's path");
        return 2;
    }
    // Folders (a fleet list: some may not be cloned in this shard) map one
    // to one to roots, each missing one an error of that repo only; file
    // arguments are grouped under their repositories first.
    let all_roots: Vec<engine::Target> = if paths.iter().any(|p| p.is_file()) {
        let (targets, errors) = engine::resolve_paths(&paths);
        if !errors.is_empty() {
            print_errors(&errors, ".");
            return 2;
        }
        targets
    } else {
        paths
            .iter()
            .map(|p| engine::Target {
                root: p.clone(),
                only: None,
            })
            .collect()
    };
    // Names and positions come from the whole list, so shards agree with
    // the unsharded run.
    let all_paths: Vec<PathBuf> = all_roots.iter().map(|t| t.root.clone()).collect();
    let all_names = crate::batch::names(&all_paths);
    let list_len = all_roots.len();
    let mut indices: Vec<usize> = (0..list_len).collect();
    let mut shard = None;
    if let Some(s) = &a.shard {
        match crate::batch::parse_shard(s) {
            Ok((k, n)) => {
                indices = crate::batch::shard(&indices, k, n);
                shard = Some((k, n));
            }
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        }
    }
    let names: Vec<String> = indices.iter().map(|&i| all_names[i].clone()).collect();
    let roots: Vec<engine::Target> = indices.iter().map(|&i| all_roots[i].clone()).collect();
    let mut common = a.common.clone();
    // `--branch` commits through git plumbing and leaves the work tree
    // alone (it refuses a dirty one itself).
    common.writes = !a.diff && a.branch.is_none();
    common.allow_dirty = a.allow_dirty;
    if a.interactive {
        return crate::interactive::run(&roots, &common, a.unsafe_fixes);
    }
    let from_cwd =
        a.patch_dir.is_none() && (roots.len() > 1 || roots.iter().any(|t| t.only.is_some()));
    crate::batch::run(
        crate::batch::BatchArgs {
            roots,
            names,
            indices,
            shard,
            list_len,
            jobs: jobs(a.jobs),
            patch_dir: a.patch_dir.clone(),
            opts: crate::batch::Options {
                diff: a.diff,
                unsafe_fixes: a.unsafe_fixes,
                branch: a.branch.clone(),
                exit_zero: a.exit_zero,
                from_cwd,
            },
        },
        &common,
    )
}

/// Loads one root with the default rules and hands it to `f`; exit code 2
/// when loading failed, a file could not be read, or `f` says so.
pub fn with_root(path: &Path, f: impl FnOnce(&RootRun) -> bool) -> i32 {
    let common = Common {
        paths: vec![path.to_path_buf()],
        color: engine::ColorChoice::Never,
        ..Common::default()
    };
    let root = path.display().to_string();
    match run_root(path, &common) {
        Ok(r) => {
            engine::warn_unchecked(&r);
            let ok = f(&r);
            let errors = r.errors();
            print_errors(&errors, &root);
            if ok && errors.is_empty() {
                0
            } else {
                2
            }
        }
        Err(e) => {
            print_errors(&[e], &root);
            2
        }
    }
}

pub fn inventory(path: &Path, format: &str) -> i32 {
    with_root(path, |r| {
        let inv = crate::inventory::build(&r.project);
        match format {
            "markdown" => print!(
                "{}",
                escape_lines(&format!(
                    "{}\n{}",
                    crate::inventory::markdown(&inv),
                    crate::inventory::surface_markdown(&inv)
                ))
            ),
            "json" => println!("{}", serde_json::to_string_pretty(&inv).unwrap()),
            _ => print!("{}", escape_lines(&crate::inventory::text(&inv))),
        }
        true
    })
}

fn escape_lines(s: &str) -> std::borrow::Cow<'_, str> {
    crate::render::escape_lines(s)
}

pub fn report(path: &Path, output: Option<&Path>) -> i32 {
    with_root(path, |r| {
        let name = std::fs::canonicalize(path)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| path.display().to_string());
        let date = std::env::var("PRODSAFE_DATE").unwrap_or_else(|_| today());
        let text = crate::report::render(&r.project, &r.findings, &name, &date);
        match output {
            Some(o) => match crate::edit::write_atomic(o, text.as_bytes(), 0o644) {
                Ok(()) => true,
                Err(e) => {
                    eprintln!("error: {}: cannot write: {e}", o.display());
                    false
                }
            },
            None => {
                print!("{}", escape_lines(&text));
                true
            }
        }
    })
}

/// Today's date (UTC), `YYYY-MM-DD`, without a date crate.
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `man`: the main page on stdout, or every page into `dir`.
pub fn man(cmd: clap::Command, dir: Option<&Path>) -> i32 {
    let done = match dir {
        Some(d) => crate::man::write_pages(cmd, d).map(|files| {
            for f in files {
                println!("{}", f.display());
            }
        }),
        None => crate::man::main_page(cmd).and_then(|b| {
            use std::io::Write;
            std::io::stdout().write_all(&b)
        }),
    };
    match done {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: man page: {e}");
            2
        }
    }
}

pub fn rules_text() -> String {
    let mut s = format!(
        "{:<8} {:<28} {:<9} {:<20} summary\n",
        "code", "name", "severity", "fix"
    );
    for r in crate::rules::all() {
        s.push_str(&format!(
            "{:<8} {:<28} {:<9} {:<20} {}\n",
            r.code,
            r.name,
            r.severity.as_str(),
            r.fix.describe(),
            r.summary
        ));
    }
    s
}

/// The rule table the README carries (a test keeps it current).
pub fn rules_markdown() -> String {
    let mut s = String::from("| Code | Name | Severity | Fix | Summary |\n|---|---|---|---|---|\n");
    for r in crate::rules::all() {
        s.push_str(&format!(
            "| [{}](docs/rules/{}.md) | `{}` | {} | {} | {} |\n",
            r.code,
            r.code,
            r.name,
            r.severity.as_str(),
            r.fix.describe(),
            crate::render::markdown::cell(r.summary)
        ));
    }
    s
}

/// `rules --format json`: every rule with its metadata and doc link.
pub fn rules_json() -> String {
    let rows: Vec<serde_json::Value> = crate::rules::all()
        .iter()
        .map(|r| {
            serde_json::json!({
                "code": r.code,
                "name": r.name,
                "severity": r.severity.as_str(),
                "fix": r.fix.describe(),
                "summary": r.summary,
                "url": crate::rules::doc_url(r.code),
                "doc": r.doc,
            })
        })
        .collect();
    serde_json::to_string_pretty(&rows).unwrap() + "\n"
}

/// A rule's page: what `explain` prints and `docs/rules/<CODE>.md` holds.
pub fn rule_page(r: &crate::rules::Rule) -> String {
    format!(
        "# {} ({}): {}\n\nSeverity: {}. Fix: {}.\n\n{}",
        r.code,
        r.name,
        r.summary,
        r.severity.as_str(),
        r.fix.describe(),
        r.doc
    )
}

pub fn explain(rule: &str) -> i32 {
    match crate::rules::find(rule) {
        Some(r) => {
            print!("{}", rule_page(r));
            0
        }
        None => {
            eprintln!("error: {}", crate::rules::unknown_rule(rule));
            2
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs")
    }

    /// `docs/rules/<CODE>.md` (the SARIF helpUri and the text output's doc
    /// link) and `docs/prodsafe.schema.json` are generated; this fails when
    /// they are stale. `UPDATE_DOCS=1 cargo test --lib docs_are_current`
    /// rewrites them.
    #[test]
    fn docs_are_current() {
        let update = std::env::var_os("UPDATE_DOCS").is_some();
        let rules_dir = docs_dir().join("rules");
        let mut expected: Vec<(PathBuf, String)> = crate::rules::all()
            .iter()
            .map(|r| (rules_dir.join(format!("{}.md", r.code)), rule_page(r)))
            .collect();
        expected.push((
            docs_dir().join("prodsafe.schema.json"),
            crate::config::json_schema(),
        ));
        if update {
            std::fs::create_dir_all(&rules_dir).unwrap();
            for (p, text) in &expected {
                std::fs::write(p, text).unwrap();
            }
        }
        for (p, text) in &expected {
            let on_disk = std::fs::read_to_string(p).unwrap_or_else(|_| {
                panic!(
                    "{} is missing: UPDATE_DOCS=1 cargo test --lib docs_are_current",
                    p.display()
                )
            });
            assert_eq!(
                &on_disk,
                text,
                "{} is stale: UPDATE_DOCS=1 cargo test --lib docs_are_current",
                p.display()
            );
        }
        let pages = std::fs::read_dir(&rules_dir).unwrap().count();
        assert_eq!(
            pages,
            crate::rules::all().len(),
            "docs/rules holds a page of no rule"
        );
    }

    #[test]
    fn rule_codes_and_names_are_unique() {
        let mut codes = std::collections::HashSet::new();
        let mut names = std::collections::HashSet::new();
        for r in crate::rules::all() {
            assert!(codes.insert(r.code), "code {} twice", r.code);
            assert!(names.insert(r.name), "name {} twice", r.name);
        }
    }

    /// Every rule's explanation shows the problem and the fixed text.
    #[test]
    fn every_rule_has_a_problem_and_a_fixed_example() {
        let mut missing = Vec::new();
        for r in crate::rules::all() {
            let ex = r.doc.split("## Example").nth(1).unwrap_or("");
            let blocks = ex
                .split("## Fix")
                .next()
                .unwrap_or("")
                .matches("```")
                .count()
                / 2;
            if blocks < 2 || !ex.contains("Fixed") {
                missing.push(r.code);
            }
        }
        assert!(
            missing.is_empty(),
            "no problem + fixed example in: {missing:?}"
        );
    }

    #[test]
    fn jobs_are_capped() {
        assert_eq!(jobs(Some(100_000)), MAX_JOBS);
        assert_eq!(jobs(Some(0)), 1);
        assert_eq!(jobs(Some(3)), 3);
        assert!(jobs(None) >= 1);
    }
}
