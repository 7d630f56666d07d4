//! The command line. Exit codes: 0 clean, 1 findings / pending changes,
//! 2 usage or I/O errors.

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::engine::{color_enabled, run_root, write_plan_files, ColorChoice, Common, RootRun};
use crate::finding::{Finding, Safety};
use crate::plan;
use crate::project::Project;
use crate::render;
use crate::source::LoadError;

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
    /// The service inventory and deploy surface.
    Inventory {
        #[arg(default_value = ".")]
        path: PathBuf,
        #[arg(long, value_enum, default_value = "text")]
        format: InventoryFormat,
    },
    /// A Markdown audit report.
    Report {
        #[arg(default_value = ".")]
        path: PathBuf,
        /// Write to this file instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// List every rule.
    Rules {
        /// `markdown` prints the table the README carries.
        #[arg(long, value_enum, default_value = "text")]
        format: RulesFormat,
    },
    /// Explain a rule: what it checks, why it matters, its fix.
    Explain {
        /// Rule code or name (CMP001, missing-healthcheck).
        rule: String,
    },
    /// Join the summary.json files of sharded `fix --patch-dir` runs.
    MergeSummaries {
        /// Patch folders (or summary.json files), one per shard.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Write the merged summary here instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page prodsafe(1) (roff), or write all pages with --dir.
    Man {
        /// Write prodsafe.1 and one page per subcommand into this folder.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Github,
    Markdown,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum InventoryFormat {
    Text,
    Markdown,
    Json,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    Text,
    Markdown,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Level {
    Low,
    Medium,
    High,
    Critical,
}

impl Level {
    fn severity(self) -> crate::finding::Severity {
        use crate::finding::Severity as S;
        match self {
            Level::Low => S::Low,
            Level::Medium => S::Medium,
            Level::High => S::High,
            Level::Critical => S::Critical,
        }
    }
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
    /// Lowest severity that makes the exit code 1.
    #[arg(long, value_enum, default_value = "low")]
    pub fail_on: Level,
    /// Report suppressions that suppress nothing (PS001).
    #[arg(long)]
    pub report_unused_ignores: bool,
    /// Write `prodsafe: ignore[...] reason: baseline` comments for every
    /// current finding (adopting prodsafe on a large repo).
    #[arg(long)]
    pub add_ignores: bool,
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
    /// Show each fix and ask (y/n/a/A/q); needs a terminal.
    #[arg(long, short = 'i', conflicts_with_all = ["diff", "patch_dir"])]
    pub interactive: bool,
    /// With --diff: write one patch per repo and summary.json here.
    #[arg(long, requires = "diff")]
    pub patch_dir: Option<PathBuf>,
    /// Read repository paths from this file (one a line).
    #[arg(long)]
    pub repos_from: Option<PathBuf>,
    /// Repositories processed in parallel (default: the number of cores).
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// Only this shard of the repo list: K/N keeps every N-th repo from the K-th.
    #[arg(long)]
    pub shard: Option<String>,
    /// Per repo, commit the fixes on a new branch NAME from HEAD (git
    /// plumbing: the work tree, index and checked-out branch stay as they
    /// are; a dirty work tree is refused). Writes no files.
    #[arg(long, value_name = "NAME", conflicts_with = "interactive")]
    pub branch: Option<String>,
    /// Exit 0 once the run has finished, even with pending changes, findings
    /// left or repos with errors (all in summary.json and on stderr); for
    /// batch schedulers that treat exit 1 as a failed task.
    #[arg(long)]
    pub exit_zero: bool,
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
        Command::Rules { format } => {
            match format {
                RulesFormat::Text => print!("{}", rules_text()),
                RulesFormat::Markdown => print!("{}", rules_markdown()),
            }
            0
        }
        Command::Inventory { path, format } => with_root(&path, |r| {
            let inv = crate::inventory::build(&r.project);
            match format {
                InventoryFormat::Text => print!("{}", crate::inventory::text(&inv)),
                InventoryFormat::Markdown => print!(
                    "{}\n{}",
                    crate::inventory::markdown(&inv),
                    crate::inventory::surface_markdown(&inv)
                ),
                InventoryFormat::Json => {
                    println!("{}", serde_json::to_string_pretty(&inv).unwrap())
                }
            }
            true
        }),
        Command::Report { path, output } => with_root(&path, |r| {
            let name = std::fs::canonicalize(&path)
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| path.display().to_string());
            let date = std::env::var("PRODSAFE_DATE").unwrap_or_else(|_| today());
            let text = crate::report::render(&r.project, &r.findings, &name, &date);
            match &output {
                Some(o) => match crate::edit::write_atomic(o, text.as_bytes(), 0o644) {
                    Ok(()) => true,
                    Err(e) => {
                        eprintln!("error: {}: cannot write: {e}", o.display());
                        false
                    }
                },
                None => {
                    print!("{text}");
                    true
                }
            }
        }),
        Command::MergeSummaries { inputs, output } => {
            crate::fleet::merge_command(&inputs, output.as_deref())
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "prodsafe", &mut std::io::stdout());
            0
        }
        Command::Man { dir } => {
            let cmd = <Cli as clap::CommandFactory>::command();
            let done = match &dir {
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

/// Loads one root with the default rules and hands it to `f`; exit code 2
/// when loading failed, a file could not be read, or `f` says so.
fn with_root(path: &Path, f: impl FnOnce(&RootRun) -> bool) -> i32 {
    let common = Common {
        paths: vec![path.to_path_buf()],
        select: vec![],
        ignore: vec![],
        templates: None,
        color: ColorChoice::Never,
    };
    match run_root(path, &common) {
        Ok(r) => {
            let ok = f(&r);
            print_errors(&r.project.errors, path);
            if ok && r.project.errors.is_empty() {
                0
            } else {
                2
            }
        }
        Err(e) => {
            print_errors(&[e], path);
            2
        }
    }
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
            "| {} | `{}` | {} | {} | {} |\n",
            r.code,
            r.name,
            r.severity.as_str(),
            r.fix.describe(),
            crate::render::markdown::cell(r.summary)
        ));
    }
    s
}

fn check(a: CheckArgs) -> i32 {
    let color = color_enabled(a.common.color);
    let styles = render::text::Styles::new(color);
    let mut any_error = false;
    let mut runs: Vec<RootRun> = Vec::new();
    let mut json_errors = Vec::new();
    for root in &a.common.paths {
        match run_root(root, &a.common) {
            Ok(mut r) => {
                for e in &r.project.errors {
                    json_errors.push(serde_json::json!({"root": root.display().to_string(), "path": e.rel, "line": e.line, "message": e.message}));
                }
                if !r.project.errors.is_empty() {
                    any_error = true;
                    print_errors(&r.project.errors, root);
                }
                for s in &r.ignores_without_reason {
                    eprintln!(
                        "warning: {}:{}: suppression without a reason",
                        render::text::display_path(&r.project, &s.path),
                        s.line
                    );
                }
                if a.report_unused_ignores {
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
                    r.findings.sort_by_key(|f| f.sort_key());
                }
                runs.push(r);
            }
            Err(e) => {
                any_error = true;
                print_errors(std::slice::from_ref(&e), root);
                json_errors.push(serde_json::json!({"root": root.display().to_string(), "path": e.rel, "line": e.line, "message": e.message}));
            }
        }
    }
    if a.add_ignores {
        return add_ignores(&runs, any_error);
    }
    let all: Vec<(&Project, &Finding)> = runs
        .iter()
        .flat_map(|r| r.findings.iter().map(move |f| (&r.project, f)))
        .collect();
    match a.format {
        Format::Text => {
            let mut text = String::new();
            for (p, f) in &all {
                render::text::finding(&mut text, p, f, a.unsafe_fixes, &styles);
            }
            print!("{text}");
            let refs: Vec<&Finding> = all.iter().map(|(_, f)| *f).collect();
            print!("{}", render::text::summary(&refs, a.unsafe_fixes));
            let suppressed: usize = runs.iter().map(|r| r.suppressed).sum();
            if suppressed > 0 {
                println!(
                    "{suppressed} finding{} suppressed by inline comments.",
                    if suppressed == 1 { "" } else { "s" }
                );
            }
        }
        Format::Json => {
            let refs: Vec<(String, &Finding)> = all
                .iter()
                .map(|(p, f)| (p.root.display().to_string(), *f))
                .collect();
            let doc = render::json::document(&refs, json_errors);
            println!("{}", serde_json::to_string_pretty(&doc).unwrap());
        }
        Format::Sarif => {
            let per: Vec<(&Project, &[Finding])> = runs
                .iter()
                .map(|r| (&r.project, r.findings.as_slice()))
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&render::sarif::document(&per)).unwrap()
            );
        }
        Format::Github => {
            for (p, f) in &all {
                println!("{}", render::github::line(p, f));
            }
        }
        Format::Markdown => print!("{}", render::markdown::table(&all)),
    }
    let floor = a.fail_on.severity();
    if any_error {
        2
    } else if all.iter().any(|(_, f)| f.severity >= floor) {
        1
    } else {
        0
    }
}

/// `check --add-ignores`: one comment per finding line, above it, in the
/// file's comment syntax and indentation, written through the edit engine.
fn add_ignores(runs: &[RootRun], any_error: bool) -> i32 {
    use std::collections::BTreeMap;
    let mut code = if any_error { 2 } else { 0 };
    for r in runs {
        let p = &r.project;
        // One comment per insertion point (several findings can share one).
        let mut at_point: BTreeMap<(String, usize), (String, Vec<&str>)> = BTreeMap::new();
        for f in &r.findings {
            let Some(src) = p.file(&f.path) else { continue };
            let kind = p.by_rel.get(&f.path).map(|&i| p.kinds[i]);
            let marker = if matches!(
                kind,
                Some(crate::discover::FileKind::AppEntry | crate::discover::FileKind::AppModule)
            ) {
                "//"
            } else {
                "#"
            };
            // Below a shebang for line-1 findings; above the line otherwise.
            let (at, indent) = if f.line <= 1 && src.text.starts_with("#!") {
                (src.line_start(2), String::new())
            } else {
                let t = src.line_text(f.line.max(1));
                (
                    src.line_start(f.line.max(1)),
                    t[..t.len() - t.trim_start().len()].to_string(),
                )
            };
            let entry = at_point
                .entry((f.path.clone(), at))
                .or_insert_with(|| (format!("{indent}{marker}"), Vec::new()));
            if !entry.1.contains(&f.code) {
                entry.1.push(f.code);
            }
        }
        let mut synthetic = Vec::new();
        for ((path, at), (prefix, codes)) in at_point {
            let Some(src) = p.file(&path) else { continue };
            let eol = src.eol.as_str();
            let text = format!(
                "{prefix} prodsafe: ignore[{}] reason: baseline{eol}",
                codes.join(", ")
            );
            let mut f = crate::rules::ps001_unused_ignore::RULE.finding(
                &path,
                src.line_col(at).0,
                1,
                String::new(),
            );
            f.fix = Some(crate::finding::Fix {
                title: "baseline suppression".into(),
                safety: Safety::Safe,
                unsafe_reason: None,
                changes: vec![crate::finding::FileChange {
                    path: path.clone(),
                    edits: vec![crate::edit::insert_lines(src, at, &text)],
                    expect: vec![crate::finding::Expect::Reparse],
                }],
            });
            synthetic.push(f);
        }
        let plan = plan::plan(p, &synthetic, &|_, _| true);
        for fp in plan.errors() {
            code = 2;
            eprintln!(
                "error: {}: {}",
                render::text::display_path(p, &fp.path),
                fp.error.as_deref().unwrap()
            );
        }
        for s in &plan.skipped {
            eprintln!("skipped: {}: {}", synthetic[s.finding].path, s.reason);
        }
        for e in write_plan_files(p, &plan) {
            code = 2;
            eprintln!("error: {e}");
        }
        let n = plan.fixed().len();
        println!(
            "added {n} suppression comment{} under {}",
            if n == 1 { "" } else { "s" },
            p.root.display()
        );
    }
    code
}

fn fix(a: FixArgs) -> i32 {
    let mut roots = a.common.paths.clone();
    if let Some(list) = &a.repos_from {
        match crate::batch::read_list(list) {
            Ok(mut l) => {
                if a.common.paths == [PathBuf::from(".")] {
                    roots.clear();
                }
                roots.append(&mut l);
            }
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    roots.retain(|r| seen.insert(r.clone()));
    if let Some(b) = &a.branch {
        if let Err(e) = crate::fleet::validate_branch_name(b) {
            eprintln!("error: {e}");
            return 2;
        }
    }
    // Names and positions come from the whole list, so shards agree with
    // the unsharded run.
    let all_names = crate::batch::names(&roots);
    let list_len = roots.len();
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
    let roots: Vec<PathBuf> = indices.iter().map(|&i| roots[i].clone()).collect();
    if a.interactive {
        return crate::interactive::run(&roots, &a.common, a.unsafe_fixes);
    }
    let jobs = a.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    crate::batch::run(
        crate::batch::BatchArgs {
            roots,
            names,
            indices,
            shard,
            list_len,
            jobs,
            patch_dir: a.patch_dir.clone(),
            opts: crate::batch::Options {
                diff: a.diff,
                unsafe_fixes: a.unsafe_fixes,
                branch: a.branch.clone(),
                exit_zero: a.exit_zero,
            },
        },
        &a.common,
    )
}
