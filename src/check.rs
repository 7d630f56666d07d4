//! `prodsafe check`: resolve the paths, run every root, render the findings
//! in the asked format, and decide the exit code. "All checks passed!" only
//! when every requested path was read and checked and nothing was found.

use std::path::PathBuf;

use clap::ValueEnum;

use crate::engine::{self, Common, RootRun, Target};
use crate::finding::{Finding, Severity};
use crate::project::Project;
use crate::render;
use crate::render::escape;
use crate::source::LoadError;

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Github,
    Markdown,
}

pub struct CheckOptions {
    pub common: Common,
    pub format: Format,
    pub unsafe_fixes: bool,
    /// Lowest severity that makes the exit code 1.
    pub fail_on: Severity,
    pub report_unused_ignores: bool,
    pub add_ignores: bool,
    pub statistics: bool,
    pub exit_zero: bool,
    pub output_file: Option<PathBuf>,
    pub quiet: bool,
}

/// Prints load errors on stderr, paths as `check` shows them.
pub fn print_errors(errors: &[LoadError], root: &str) {
    for e in errors {
        eprintln!("error: {}", escape(&shown_error(e, root)));
    }
}

/// `root/path:line: message` (the root left out when it is `.` or already
/// part of the path).
pub fn shown_error(e: &LoadError, root: &str) -> String {
    if root == "." || root.is_empty() || e.rel.starts_with(root) || e.rel.starts_with('/') {
        e.to_string()
    } else {
        format!("{}/{}", root.trim_end_matches('/'), e)
    }
}

fn error_path(e: &LoadError, root: &str) -> String {
    if root == "." || root.is_empty() || e.rel.starts_with(root) || e.rel.starts_with('/') {
        e.rel.clone()
    } else {
        format!("{}/{}", root.trim_end_matches('/'), e.rel)
    }
}

/// One target's outcome: its run, or the error that stopped it.
struct Outcome {
    root: String,
    run: Option<RootRun>,
    /// Errors of this target (load errors, template errors, the fatal one).
    errors: Vec<LoadError>,
}

pub fn run(o: CheckOptions) -> i32 {
    if let Err(e) = engine::validate_cli_selectors(&o.common) {
        eprintln!("error: {e}");
        return 2;
    }
    let (targets, path_errors) = engine::resolve_paths(&o.common.paths);
    let mut any_error = !path_errors.is_empty();
    let mut outcomes: Vec<Outcome> = Vec::new();
    if !path_errors.is_empty() {
        print_errors(&path_errors, ".");
        outcomes.push(Outcome {
            root: ".".into(),
            run: None,
            errors: path_errors,
        });
    }
    // Repositories are loaded and checked in parallel (each is
    // independent); what is printed about them follows in the given order.
    let loaded: Vec<Result<RootRun, LoadError>> = {
        use rayon::prelude::*;
        targets
            .par_iter()
            .map(|t| {
                engine::run_target(t, &o.common).map(|mut r| {
                    if !o.add_ignores {
                        r.project.release_models();
                    }
                    r
                })
            })
            .collect()
    };
    for (t, r) in targets.iter().zip(loaded) {
        outcomes.push(run_one(t, r, &o, &mut any_error));
    }
    let complete = !any_error
        && outcomes
            .iter()
            .all(|x| x.run.as_ref().is_some_and(|r| r.fully_checked()));
    if o.add_ignores {
        let runs: Vec<&RootRun> = outcomes.iter().filter_map(|x| x.run.as_ref()).collect();
        return crate::baseline::add_ignores(&runs, any_error);
    }
    let all: Vec<(&Project, &Finding)> = outcomes
        .iter()
        .filter_map(|x| x.run.as_ref())
        .flat_map(|r| r.findings.iter().map(move |f| (&r.project, f)))
        .collect();
    let color = o.output_file.is_none() && engine::color_enabled(o.common.color);
    let out = render_output(&o, &outcomes, &all, color, complete);
    match &o.output_file {
        Some(file) => {
            if let Err(e) = crate::edit::write_atomic(file, out.as_bytes(), 0o644) {
                eprintln!("error: {}: cannot write: {e}", file.display());
                return 2;
            }
        }
        None => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(out.as_bytes());
            let _ = stdout.flush();
        }
    }
    let floor = o.fail_on;
    let code = if any_error {
        2
    } else if !o.exit_zero && all.iter().any(|(_, f)| f.severity >= floor) {
        1
    } else {
        0
    };
    // The process ends right after: freeing every model, finding and fix
    // one by one would only add a serial tail to the run.
    drop(all);
    std::mem::forget(outcomes);
    code
}

fn run_one(
    t: &Target,
    loaded: Result<RootRun, LoadError>,
    o: &CheckOptions,
    any_error: &mut bool,
) -> Outcome {
    let root = t.root.display().to_string();
    let mut r = match loaded {
        Ok(r) => r,
        Err(e) => {
            *any_error = true;
            print_errors(std::slice::from_ref(&e), &root);
            return Outcome {
                root,
                run: None,
                errors: vec![e],
            };
        }
    };
    let mut errors = r.errors();
    errors.extend(r.template_errors.iter().cloned());
    if !errors.is_empty() {
        *any_error = true;
        print_errors(&errors, &root);
    }
    engine::warn_unchecked(&r);
    for e in &r.project.skipped {
        eprintln!(
            "skipped: {}",
            escape(&render::text::display_path(&r.project, &e.to_string()))
        );
    }
    if !o.quiet {
        for s in &r.ignores_without_reason {
            eprintln!(
                "warning: {}:{}: suppression without a reason",
                escape(&render::text::display_path(&r.project, &s.path)),
                s.line
            );
        }
    }
    if o.report_unused_ignores {
        for s in &r.unused_ignores {
            let f = crate::rules::ps001_unused_ignore::RULE.finding(
                &s.path,
                s.line,
                1,
                format!(
                    "`prodsafe: ignore[{}]` suppresses nothing here.",
                    s.codes.join(", ")
                ),
            );
            r.findings.push(f);
        }
        let start = r.findings.len() - r.unused_ignores.len();
        engine::fill_ends(&r.project, &mut r.findings[start..]);
        r.findings.sort_by_key(|f| f.sort_key());
    }
    Outcome {
        root,
        run: Some(r),
        errors,
    }
}

/// What was asked for and not checked: (root, path or None for the whole
/// root, reason), from file arguments not read, roots with nothing to read
/// and files read only as context that failed.
fn unchecked_list(outcomes: &[Outcome]) -> Vec<(String, Option<String>, String)> {
    let mut out = Vec::new();
    for x in outcomes {
        let Some(r) = &x.run else { continue };
        for (rel, why) in &r.unchecked {
            out.push((
                x.root.clone(),
                Some(rel.clone()),
                format!("not checked: {why}"),
            ));
        }
        for e in r.context_errors() {
            out.push((
                x.root.clone(),
                Some(e.rel.clone()),
                format!(
                    "not read, so the files given were checked without it: {}",
                    e.message
                ),
            ));
        }
        if r.found_nothing() && r.project.errors.is_empty() {
            out.push((
                x.root.clone(),
                None,
                format!(
                    "no compose file, Dockerfile, entrypoint, workflow or app entry found under {}",
                    x.root
                ),
            ));
        }
    }
    out
}

fn render_output(
    o: &CheckOptions,
    outcomes: &[Outcome],
    all: &[(&Project, &Finding)],
    color: bool,
    complete: bool,
) -> String {
    let refs: Vec<&Finding> = all.iter().map(|(_, f)| *f).collect();
    let mut out = String::new();
    match o.format {
        Format::Text => {
            let styles = render::text::Styles::new(color);
            for (p, f) in all {
                if o.quiet {
                    render::text::concise(&mut out, p, f, o.unsafe_fixes);
                } else {
                    render::text::finding(&mut out, p, f, o.unsafe_fixes, &styles);
                }
            }
            if o.statistics {
                out.push_str(&render::text::statistics(&refs, o.unsafe_fixes));
            }
            if !o.quiet {
                out.push_str(&render::text::summary(&refs, o.unsafe_fixes, complete));
                let suppressed: usize = outcomes
                    .iter()
                    .filter_map(|x| x.run.as_ref())
                    .map(|r| r.suppressed)
                    .sum();
                if suppressed > 0 {
                    out.push_str(&format!(
                        "{suppressed} finding{} suppressed by inline comments.\n",
                        if suppressed == 1 { "" } else { "s" }
                    ));
                }
                let per_file: usize = outcomes
                    .iter()
                    .filter_map(|x| x.run.as_ref())
                    .map(|r| r.ignored_per_file)
                    .sum();
                if per_file > 0 {
                    out.push_str(&format!(
                        "{per_file} finding{} ignored by per-file-ignores.\n",
                        if per_file == 1 { "" } else { "s" }
                    ));
                }
            }
        }
        Format::Json => {
            let roots: Vec<String> = all
                .iter()
                .map(|(p, _)| p.root.display().to_string())
                .collect();
            let rows: Vec<(&str, &Finding)> = roots
                .iter()
                .zip(all)
                .map(|(r, (_, f))| (r.as_str(), *f))
                .collect();
            let errors: Vec<render::json::JsonError> = outcomes
                .iter()
                .flat_map(|x| {
                    x.errors.iter().map(move |e| render::json::JsonError {
                        line: e.line,
                        message: &e.message,
                        path: &e.rel,
                        root: &x.root,
                    })
                })
                .collect();
            let unchecked: Vec<render::json::JsonUnchecked> = unchecked_list(outcomes)
                .into_iter()
                .map(|(root, path, reason)| render::json::JsonUnchecked { path, reason, root })
                .collect();
            out = render::json::document(&rows, &errors, &unchecked, complete, o.unsafe_fixes);
            out.push('\n');
        }
        Format::Sarif => {
            let inputs: Vec<render::sarif::RunInput> = outcomes
                .iter()
                .map(|x| render::sarif::RunInput {
                    project: x.run.as_ref().map(|r| &r.project),
                    root: x.root.clone(),
                    findings: x.run.as_ref().map(|r| r.findings.as_slice()).unwrap_or(&[]),
                    errors: &x.errors,
                })
                .collect();
            let warnings: Vec<(String, Option<String>)> = unchecked_list(outcomes)
                .into_iter()
                .map(|(root, path, reason)| {
                    let shown = match &path {
                        Some(p) if root != "." => {
                            Some(format!("{}/{p}", root.trim_end_matches('/')))
                        }
                        other => other.clone(),
                    };
                    (reason, shown)
                })
                .collect();
            out.push_str(
                &serde_json::to_string_pretty(&render::sarif::document(&inputs, &warnings))
                    .unwrap(),
            );
            out.push('\n');
        }
        Format::Github => {
            for x in outcomes {
                for e in &x.errors {
                    out.push_str(&render::github::load_error(
                        &error_path(e, &x.root),
                        e.line,
                        &e.message,
                    ));
                    out.push('\n');
                }
            }
            // What could not be checked is a warning in the run's summary too.
            for r in outcomes.iter().filter_map(|x| x.run.as_ref()) {
                for (rel, why) in &r.unchecked {
                    out.push_str(&render::github::warning(
                        Some(&render::text::display_path(&r.project, rel)),
                        &format!("not checked: {why}"),
                    ));
                    out.push('\n');
                }
                if r.found_nothing() && r.project.errors.is_empty() {
                    out.push_str(&render::github::warning(
                        None,
                        &format!(
                            "no compose file, Dockerfile, entrypoint, workflow or app entry found under {}",
                            r.project.root.display()
                        ),
                    ));
                    out.push('\n');
                }
            }
            for (p, f) in all {
                out.push_str(&render::github::line(p, f));
                out.push('\n');
            }
        }
        Format::Markdown => out.push_str(&render::markdown::table(all, complete)),
    }
    out
}
