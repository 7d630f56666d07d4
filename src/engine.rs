//! The engine under the command line: load a root, run the rules, plan the
//! fixes, diff and write them. `cli`, `batch` and `interactive` all call it;
//! it calls none of them.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use crate::config::Config;
use crate::finding::{Finding, Safety};
use crate::plan::{self, Plan};
use crate::project::Project;
use crate::render;
use crate::source::{with_bom, LoadError};
use crate::templates::Templates;

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

pub struct RootRun {
    pub project: Project,
    pub findings: Vec<Finding>,
    /// Findings silenced by inline suppressions.
    pub suppressed: usize,
    pub unused_ignores: Vec<crate::suppress::Suppression>,
    pub ignores_without_reason: Vec<crate::suppress::Suppression>,
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
    // `--select` replaces the config's selection; `--ignore` adds to it.
    let select = if common.select.is_empty() {
        config.select.clone()
    } else {
        common.select.clone()
    };
    let mut ignore = config.ignore.clone();
    ignore.extend(common.ignore.iter().cloned());
    let project = Project::load(root, config, templates);
    let findings = crate::rules::run(&project, &select, &ignore);
    let filtered = crate::suppress::filter(&project, findings);
    Ok(RootRun {
        project,
        findings: filtered.kept,
        suppressed: filtered.suppressed,
        unused_ignores: filtered.unused,
        ignores_without_reason: filtered.without_reason,
    })
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
    write_plan_files(&run.project, plan)
}

pub fn write_plan_files(p: &Project, plan: &Plan) -> Vec<String> {
    let mut errs = Vec::new();
    for fp in plan.changed() {
        let src = &p.files[fp.file];
        let new = with_bom(src.bom, fp.new_text.as_deref().unwrap());
        if let Err(e) = crate::edit::write_atomic(&src.abs, new.as_bytes(), src.mode) {
            errs.push(format!("{}: cannot write: {e}", fp.path));
        }
    }
    errs
}
