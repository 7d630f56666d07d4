//! The command line. Exit codes: 0 clean, 1 findings / pending changes,
//! 2 usage or I/O errors.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::Config;
use crate::finding::{Finding, Safety};
use crate::plan::{self, Plan};
use crate::project::Project;
use crate::render;
use crate::source::{with_bom, LoadError};
use crate::templates::Templates;

#[derive(Parser, Debug)]
#[command(
    name = "prodsafe",
    version,
    about = "Find and fix what breaks container services at runtime although the build succeeds"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Report findings with rule codes, severities and locations.
    Check(CheckArgs),
    /// Apply fixes (safe ones; unsafe ones with --unsafe-fixes).
    Fix(FixArgs),
    /// List every rule.
    Rules,
    /// Explain a rule: what it checks, why it matters, its fix.
    Explain {
        /// Rule code or name (CMP001, missing-healthcheck).
        rule: String,
    },
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Args, Debug, Clone)]
pub struct Common {
    /// Repositories or folders to scan.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Only these rules (codes, prefixes like CMP, or names; comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub select: Vec<String>,
    /// Skip these rules.
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Folder of templates overriding the built-in ones.
    #[arg(long)]
    pub templates: Option<PathBuf>,
    /// When to color output.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub common: Common,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Count unsafe fixes as fixable in the summary.
    #[arg(long)]
    pub unsafe_fixes: bool,
}

#[derive(Args, Debug)]
pub struct FixArgs {
    #[command(flatten)]
    pub common: Common,
    /// Print a unified diff and write nothing.
    #[arg(long)]
    pub diff: bool,
    /// Also apply fixes marked unsafe.
    #[arg(long)]
    pub unsafe_fixes: bool,
}

pub struct RootRun {
    pub project: Project,
    pub findings: Vec<Finding>,
}

pub fn color_enabled(c: ColorChoice) -> bool {
    match c {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none() && console::Term::stdout().is_term()
        }
    }
}

/// Loads one root and runs the rules on it.
pub fn run_root(root: &Path, common: &Common) -> Result<RootRun, LoadError> {
    if !root.exists() {
        return Err(LoadError {
            rel: root.display().to_string(),
            line: None,
            message: "no such file or directory".into(),
        });
    }
    let config = Config::load(root)?;
    let tdir = common
        .templates
        .clone()
        .or_else(|| config.templates.as_ref().map(|t| root.join(t)));
    let templates = Templates::with_overrides(tdir.as_deref()).map_err(|e| LoadError {
        rel: root.display().to_string(),
        line: None,
        message: e,
    })?;
    let mut select = config.select.clone();
    select.extend(common.select.iter().cloned());
    if !common.select.is_empty() {
        select = common.select.clone();
    }
    let mut ignore = config.ignore.clone();
    ignore.extend(common.ignore.iter().cloned());
    let project = Project::load(root, config, templates);
    let findings = crate::rules::run(&project, &select, &ignore);
    Ok(RootRun { project, findings })
}

fn print_errors(errors: &[LoadError], root: &Path) {
    for e in errors {
        let shown = if root == Path::new(".") || e.rel.starts_with(&*root.to_string_lossy()) {
            e.to_string()
        } else {
            format!("{}/{}", root.display(), e)
        };
        eprintln!("error: {shown}");
    }
}

pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match cli.command {
        Command::Check(a) => check(a),
        Command::Fix(a) => fix(a),
        Command::Rules => {
            println!(
                "{:<8} {:<28} {:<9} {:<20} summary",
                "code", "name", "severity", "fix"
            );
            for r in crate::rules::all() {
                println!(
                    "{:<8} {:<28} {:<9} {:<20} {}",
                    r.code,
                    r.name,
                    r.severity.as_str(),
                    r.fix.describe(),
                    r.summary
                );
            }
            0
        }
        Command::Explain { rule } => match crate::rules::find(&rule) {
            Some(r) => {
                println!("# {} ({}): {}\n", r.code, r.name, r.summary);
                println!(
                    "Severity: {}. Fix: {}.\n",
                    r.severity.as_str(),
                    r.fix.describe()
                );
                print!("{}", r.doc);
                0
            }
            None => {
                eprintln!("error: unknown rule `{rule}` (see `prodsafe rules`)");
                2
            }
        },
    }
}

fn check(a: CheckArgs) -> i32 {
    let color = color_enabled(a.common.color);
    let styles = render::text::Styles::new(color);
    let mut any_error = false;
    let mut any_finding = false;
    let mut json_findings: Vec<(String, Finding)> = Vec::new();
    let mut json_errors = Vec::new();
    let mut text = String::new();
    let mut all: Vec<Finding> = Vec::new();
    for root in &a.common.paths {
        let run = match run_root(root, &a.common) {
            Ok(r) => r,
            Err(e) => {
                any_error = true;
                print_errors(&[e.clone()], root);
                json_errors.push(serde_json::json!({"root": root.display().to_string(), "path": e.rel, "line": e.line, "message": e.message}));
                continue;
            }
        };
        if !run.project.errors.is_empty() {
            any_error = true;
            print_errors(&run.project.errors, root);
            for e in &run.project.errors {
                json_errors.push(serde_json::json!({"root": root.display().to_string(), "path": e.rel, "line": e.line, "message": e.message}));
            }
        }
        any_finding |= !run.findings.is_empty();
        for f in &run.findings {
            render::text::finding(&mut text, &run.project, f, a.unsafe_fixes, &styles);
        }
        let r = root.display().to_string();
        json_findings.extend(run.findings.iter().cloned().map(|f| (r.clone(), f)));
        all.extend(run.findings);
    }
    match a.format {
        Format::Text => {
            print!("{text}");
            let refs: Vec<&Finding> = all.iter().collect();
            print!("{}", render::text::summary(&refs, a.unsafe_fixes));
        }
        Format::Json => {
            let refs: Vec<(String, &Finding)> =
                json_findings.iter().map(|(r, f)| (r.clone(), f)).collect();
            let doc = render::json::document(&refs, json_errors);
            println!("{}", serde_json::to_string_pretty(&doc).unwrap());
        }
    }
    if any_error {
        2
    } else if any_finding {
        1
    } else {
        0
    }
}

/// The plan for one root with the default acceptance (safe fixes, unsafe
/// ones when asked).
pub fn plan_root(run: &RootRun, unsafe_fixes: bool) -> Plan {
    plan::plan(&run.project, &run.findings, &|_, f| {
        f.fix
            .as_ref()
            .is_some_and(|x| x.safety == Safety::Safe || unsafe_fixes)
    })
}

/// The unified diff of a plan (paths relative to the root).
pub fn plan_diff(run: &RootRun, plan: &Plan) -> Vec<u8> {
    let mut out = Vec::new();
    for fp in plan.changed() {
        let src = &run.project.files[fp.file];
        let new = with_bom(src.bom, fp.new_text.as_deref().unwrap());
        out.extend(render::diff::unified(&fp.path, &src.full_text(), &new));
    }
    out
}

/// Writes a plan's verified files atomically. Returns per-file errors.
pub fn write_plan(run: &RootRun, plan: &Plan) -> Vec<String> {
    let mut errs = Vec::new();
    for fp in plan.changed() {
        let src = &run.project.files[fp.file];
        let new = with_bom(src.bom, fp.new_text.as_deref().unwrap());
        if let Err(e) = crate::edit::write_atomic(&src.abs, new.as_bytes(), src.mode) {
            errs.push(format!("{}: cannot write: {e}", fp.path));
        }
    }
    errs
}

fn fix(a: FixArgs) -> i32 {
    let mut any_error = false;
    let mut pending = false;
    let mut left = 0usize;
    let stdout = std::io::stdout();
    for root in &a.common.paths {
        let run = match run_root(root, &a.common) {
            Ok(r) => r,
            Err(e) => {
                any_error = true;
                print_errors(&[e], root);
                continue;
            }
        };
        if !run.project.errors.is_empty() {
            any_error = true;
            print_errors(&run.project.errors, root);
        }
        let plan = plan_root(&run, a.unsafe_fixes);
        for fp in plan.errors() {
            any_error = true;
            eprintln!(
                "error: {}: {}",
                render::text::display_path(&run.project, &fp.path),
                fp.error.as_deref().unwrap()
            );
        }
        for s in &plan.skipped {
            let f = &run.findings[s.finding];
            eprintln!(
                "skipped: {}:{}: {} {}",
                render::text::display_path(&run.project, &f.path),
                f.line,
                f.code,
                s.reason
            );
        }
        let fixed: usize = plan.changed().map(|f| f.fixed.len()).sum();
        left += run.findings.len() - fixed;
        if a.diff {
            let d = plan_diff(&run, &plan);
            if !d.is_empty() {
                pending = true;
                let mut lock = stdout.lock();
                let _ = lock.write_all(&d);
            }
        } else {
            for e in write_plan(&run, &plan) {
                any_error = true;
                eprintln!("error: {e}");
            }
            for fp in plan.changed() {
                println!(
                    "fixed {} finding{} in {}",
                    fp.fixed.len(),
                    if fp.fixed.len() == 1 { "" } else { "s" },
                    render::text::display_path(&run.project, &fp.path)
                );
            }
        }
    }
    if a.diff {
        if any_error {
            2
        } else if pending {
            1
        } else {
            0
        }
    } else if any_error {
        2
    } else if left > 0 {
        eprintln!(
            "{left} finding{} left without an applicable fix (see `prodsafe check`)",
            if left == 1 { "" } else { "s" }
        );
        1
    } else {
        0
    }
}
