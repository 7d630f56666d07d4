//! The command line: argument parsing and dispatch, nothing else. Exit
//! codes: 0 clean, 1 findings / pending changes, 2 usage or I/O errors.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::check::{CheckOptions, Format};
use crate::commands::{self, FixOptions};
use crate::engine::Common;

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
        /// `markdown` prints the table the README carries; `json` every
        /// rule with its doc.
        #[arg(long, value_enum, default_value = "text")]
        format: RulesFormat,
    },
    /// Explain a rule: what it checks, why it matters, an example, its fix.
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
pub enum InventoryFormat {
    Text,
    Markdown,
    Json,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    Text,
    Markdown,
    Json,
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
    /// Exit 0 even when there are findings (errors still exit 2).
    #[arg(long)]
    pub exit_zero: bool,
    /// Also print how many findings each rule has.
    #[arg(long)]
    pub statistics: bool,
    /// Write the report to this file instead of stdout.
    #[arg(long, short = 'o')]
    pub output_file: Option<PathBuf>,
    /// One line per finding, no code frames, no summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
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
    /// Write into files with uncommitted changes too (refused by default,
    /// as `cargo fix` does; `--diff` never writes).
    #[arg(long)]
    pub allow_dirty: bool,
    /// Show each fix and ask (y n a d A R u p q ?); needs a terminal.
    #[arg(long, short = 'i', conflicts_with_all = ["diff", "patch_dir"])]
    pub interactive: bool,
    /// With --diff: write one patch per repo and summary.json here.
    #[arg(long, requires = "diff")]
    pub patch_dir: Option<PathBuf>,
    /// Read repository paths from this file (one a line).
    #[arg(long)]
    pub repos_from: Option<PathBuf>,
    /// Repositories processed in parallel (default: the number of cores;
    /// at most 256).
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

pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match cli.command {
        Command::Check(a) => crate::check::run(CheckOptions {
            common: a.common,
            format: a.format,
            unsafe_fixes: a.unsafe_fixes,
            fail_on: a.fail_on.severity(),
            report_unused_ignores: a.report_unused_ignores,
            add_ignores: a.add_ignores,
            statistics: a.statistics,
            exit_zero: a.exit_zero,
            output_file: a.output_file,
            quiet: a.quiet,
        }),
        Command::Fix(a) => commands::fix(FixOptions {
            common: a.common,
            diff: a.diff,
            unsafe_fixes: a.unsafe_fixes,
            interactive: a.interactive,
            patch_dir: a.patch_dir,
            repos_from: a.repos_from,
            jobs: a.jobs,
            shard: a.shard,
            allow_dirty: a.allow_dirty,
            branch: a.branch,
            exit_zero: a.exit_zero,
        }),
        Command::Rules { format } => {
            print!(
                "{}",
                match format {
                    RulesFormat::Text => commands::rules_text(),
                    RulesFormat::Markdown => commands::rules_markdown(),
                    RulesFormat::Json => commands::rules_json(),
                }
            );
            0
        }
        Command::Inventory { path, format } => commands::inventory(
            &path,
            match format {
                InventoryFormat::Text => "text",
                InventoryFormat::Markdown => "markdown",
                InventoryFormat::Json => "json",
            },
        ),
        Command::Report { path, output } => commands::report(&path, output.as_deref()),
        Command::Explain { rule } => commands::explain(&rule),
        Command::MergeSummaries { inputs, output } => {
            crate::fleet::merge_command(&inputs, output.as_deref())
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "prodsafe", &mut std::io::stdout());
            0
        }
        Command::Man { dir } => {
            commands::man(<Cli as clap::CommandFactory>::command(), dir.as_deref())
        }
    }
}
