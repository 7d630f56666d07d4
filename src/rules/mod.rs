//! Rules: pure functions from the project model to findings. One file per
//! rule, each with its documentation (printed by `prodsafe explain`, used
//! for SARIF help and the README's rule table).

use crate::finding::{Finding, Safety, Severity};
use crate::project::Project;

pub mod app001_missing_env_fail_fast;
pub mod build_chain;
pub mod cmp001_missing_healthcheck;
pub mod cmp002_healthcheck_tool_missing;
pub mod cmp003_depends_on_unhealthy;
pub mod cmp004_healthcheck_port_mismatch;
pub mod cmp005_missing_required_env;
pub mod cmp006_nginx_upstream_mismatch;
pub mod cmp008_missing_build_file;
pub mod cmp009_port_disagreement;
pub mod dkr001_runtime_package_manager;
pub mod dkr002_runtime_prisma_generate;
pub mod dkr003_root_user;
pub mod dkr004_unfrozen_lockfile;
pub mod dkr005_unpinned_package_manager;
pub mod dkr006_missing_artifact;
pub mod dkr007_entrypoint_not_executable;
pub mod dkr008_no_init;
pub mod dkr009_shell_form_command;
pub mod dkr010_unknown_stage;
pub mod dkr011_unignored_build_context;
pub mod dkr012_chown_before_user;
pub mod dkr013_prisma_openssl_missing;
pub mod dkr014_ignored_artifact;
pub mod dkr015_commented_build_step;
pub mod ent001_missing_nounset;
pub mod ent002_missing_errexit;
pub mod ent003_runtime_package_manager;
pub mod ent004_runtime_prisma_generate;
pub mod ent005_no_exec;
pub mod ent006_crlf_line_endings;
pub mod ent007_shell_mismatch;
pub mod ent008_env_fail_fast;
pub mod ent009_prisma_dev_migration;
pub mod gha001_missing_smoke_test;
pub mod gha002_matrix_missing_service;
pub mod gha003_push_on_pull_request;
pub mod package_scripts;
pub mod ps001_unused_ignore;
pub mod ps002_unknown_ignore_code;
pub mod scope;

/// Fix availability as documented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixKind {
    None,
    Always(Safety),
    /// Some findings have a fix.
    Sometimes(Safety),
}

impl FixKind {
    pub fn describe(self) -> &'static str {
        match self {
            FixKind::None => "none",
            FixKind::Always(Safety::Safe) => "safe",
            FixKind::Always(Safety::Unsafe) => "unsafe",
            FixKind::Sometimes(Safety::Safe) => "sometimes (safe)",
            FixKind::Sometimes(Safety::Unsafe) => "sometimes (unsafe)",
        }
    }
}

pub struct Rule {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub fix: FixKind,
    /// One line.
    pub summary: &'static str,
    /// Markdown: what it checks, why it breaks production, example, fix.
    pub doc: &'static str,
    pub check: fn(&Project, &mut Vec<Finding>),
}

impl Rule {
    pub fn finding(&self, path: &str, line: usize, column: usize, message: String) -> Finding {
        Finding {
            code: self.code,
            name: self.name,
            severity: self.severity,
            path: path.to_string(),
            line,
            column,
            end_line: line,
            end_column: column,
            message,
            service: None,
            fix: None,
            no_fix_reason: None,
            related: Vec::new(),
        }
    }
}

static ALL: &[&Rule] = &[
    &cmp001_missing_healthcheck::RULE,
    &cmp002_healthcheck_tool_missing::RULE,
    &cmp003_depends_on_unhealthy::RULE,
    &cmp004_healthcheck_port_mismatch::RULE,
    &cmp005_missing_required_env::RULE,
    &cmp006_nginx_upstream_mismatch::RULE,
    &cmp008_missing_build_file::RULE,
    &cmp009_port_disagreement::RULE,
    &dkr001_runtime_package_manager::RULE,
    &dkr002_runtime_prisma_generate::RULE,
    &dkr003_root_user::RULE,
    &dkr004_unfrozen_lockfile::RULE,
    &dkr005_unpinned_package_manager::RULE,
    &dkr006_missing_artifact::RULE,
    &dkr007_entrypoint_not_executable::RULE,
    &dkr008_no_init::RULE,
    &dkr009_shell_form_command::RULE,
    &dkr010_unknown_stage::RULE,
    &dkr011_unignored_build_context::RULE,
    &dkr012_chown_before_user::RULE,
    &dkr013_prisma_openssl_missing::RULE,
    &dkr014_ignored_artifact::RULE,
    &dkr015_commented_build_step::RULE,
    &ent001_missing_nounset::RULE,
    &ent002_missing_errexit::RULE,
    &ent003_runtime_package_manager::RULE,
    &ent004_runtime_prisma_generate::RULE,
    &ent005_no_exec::RULE,
    &ent006_crlf_line_endings::RULE,
    &ent007_shell_mismatch::RULE,
    &ent008_env_fail_fast::RULE,
    &ent009_prisma_dev_migration::RULE,
    &app001_missing_env_fail_fast::RULE,
    &gha001_missing_smoke_test::RULE,
    &gha002_matrix_missing_service::RULE,
    &gha003_push_on_pull_request::RULE,
    &ps001_unused_ignore::RULE,
    &ps002_unknown_ignore_code::RULE,
];

/// Where a rule's documentation is published (`docs/rules/<CODE>.md`,
/// generated from its doc; a test keeps the files current).
pub fn doc_url(code: &str) -> String {
    format!("https://github.com/prodsafe/prodsafe/blob/main/docs/rules/{code}.md")
}

pub fn all() -> &'static [&'static Rule] {
    ALL
}

pub fn find(code_or_name: &str) -> Option<&'static Rule> {
    all()
        .iter()
        .copied()
        .find(|r| r.code.eq_ignore_ascii_case(code_or_name) || r.name == code_or_name)
}

/// The closest rule code or name to `s`, when one is close enough to be a
/// likely typo.
pub fn suggest(s: &str) -> Option<&'static str> {
    let up = s.trim().to_ascii_uppercase();
    let low = s.trim().to_ascii_lowercase();
    let mut best: Option<(f64, &'static str)> = None;
    for r in all() {
        for (cand, key) in [(r.code, &up), (r.name, &low)] {
            let cmp = if cand == r.code {
                cand.to_string()
            } else {
                cand.to_ascii_lowercase()
            };
            let score = strsim::jaro_winkler(&cmp, key);
            if score > 0.85 && best.is_none_or(|(b, _)| score > b) {
                best = Some((score, cand));
            }
        }
    }
    best.map(|(_, c)| c)
}

/// "unknown rule `X` (did you mean `Y`?)".
pub fn unknown_rule(s: &str) -> String {
    match suggest(s) {
        Some(c) => format!("unknown rule `{s}`; did you mean `{c}`? (see `prodsafe rules`)"),
        None => format!("unknown rule `{s}` (see `prodsafe rules`)"),
    }
}

/// Checks one selector (`ALL`, a code, a code prefix like `CMP` or `DKR00`,
/// or a rule name): it must match at least one rule.
pub fn check_selector(s: &str) -> Result<(), String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty rule selector".into());
    }
    let hits = t.eq_ignore_ascii_case("ALL")
        || all().iter().any(|r| {
            r.name == t
                || r.code
                    .to_ascii_uppercase()
                    .starts_with(&t.to_ascii_uppercase())
        });
    if hits {
        Ok(())
    } else {
        Err(unknown_rule(t))
    }
}

/// Whether `code` is matched by a selector list entry (`CMP`, `CMP001`,
/// `missing-healthcheck`, `ALL`).
pub fn matches(rule: &Rule, selectors: &[String]) -> bool {
    selectors.iter().any(|s| {
        let s = s.trim();
        s.eq_ignore_ascii_case("ALL")
            || rule
                .code
                .to_ascii_uppercase()
                .starts_with(&s.to_ascii_uppercase())
            || rule.name == s
    })
}

/// Runs the selected rules and sorts the findings.
pub fn run(p: &Project, select: &[String], ignore: &[String]) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in all() {
        if !select.is_empty() && !matches(rule, select) {
            continue;
        }
        if matches(rule, ignore) {
            continue;
        }
        (rule.check)(p, &mut out);
    }
    let mut out = merge_same_problem(p, out);
    lower_dev_stacks(p, &mut out);
    for f in &mut out {
        if let Some(sev) = p
            .config
            .severity
            .get(f.code)
            .and_then(|s| Severity::parse(s))
        {
            f.severity = sev;
        }
    }
    out.sort_by_key(|f| f.sort_key());
    out
}

/// One finding per problem: several rules that see the same command line
/// (`npx prisma generate` in an entrypoint is ENT004, ENT003 and, through
/// the image's command, DKR001/DKR002) are merged into the most specific
/// one, the others kept as related locations.
fn merge_same_problem(p: &Project, out: Vec<Finding>) -> Vec<Finding> {
    const ORDER: &[&str] = &["ENT004", "DKR002", "ENT003", "DKR001"];
    static THROUGH: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let through =
        THROUGH.get_or_init(|| regex::Regex::new(r"\(through ([^:()]+):(\d+)\)").unwrap());
    let line_text = |path: &str, line: usize| {
        p.file(path)
            .filter(|f| line >= 1 && line <= f.line_count())
            .map(|f| f.line_text(line).to_string())
            .unwrap_or_default()
    };
    let key = |f: &Finding| -> Option<(String, usize, bool)> {
        if !ORDER.contains(&f.code) {
            return None;
        }
        let (path, line) = match through.captures(&f.message) {
            Some(c) if f.code == "DKR001" => (c[1].to_string(), c[2].parse().ok()?),
            _ => (f.path.clone(), f.line),
        };
        let t = line_text(&path, line);
        let prisma = t.contains("prisma") && t.contains("generate");
        // DKR002 and ENT004 are only ever about prisma generate.
        if matches!(f.code, "DKR002" | "ENT004") && !prisma {
            return None;
        }
        Some((path, line, prisma))
    };
    let keys: Vec<Option<(String, usize, bool)>> = out.iter().map(key).collect();
    let mut groups: std::collections::HashMap<(String, usize, bool), Vec<usize>> =
        std::collections::HashMap::new();
    for (i, k) in keys.iter().enumerate() {
        if let Some(k) = k {
            groups.entry(k.clone()).or_default().push(i);
        }
    }
    let mut drop = vec![false; out.len()];
    let mut merged: Vec<(usize, Vec<usize>)> = Vec::new();
    for (_, idx) in groups {
        if idx.len() < 2 {
            continue;
        }
        let primary = *idx
            .iter()
            .min_by_key(|&&i| ORDER.iter().position(|c| *c == out[i].code).unwrap_or(9))
            .unwrap();
        let others: Vec<usize> = idx.into_iter().filter(|&i| i != primary).collect();
        for &o in &others {
            drop[o] = true;
        }
        merged.push((primary, others));
    }
    let mut out = out;
    for (primary, others) in merged {
        for o in others {
            let (code, path, line, sev) = (
                out[o].code,
                out[o].path.clone(),
                out[o].line,
                out[o].severity,
            );
            let f = &mut out[primary];
            f.severity = f.severity.max(sev);
            if !f
                .related
                .iter()
                .any(|r| r.code == code && r.path == path && r.line == line)
            {
                f.related.push(crate::finding::Related { code, path, line });
            }
        }
    }
    out.into_iter()
        .zip(drop)
        .filter(|(_, d)| !d)
        .map(|(f, _)| f)
        .collect()
}

/// Findings in compose files named or shaped as dev/local/test stacks get
/// one severity step less, said in the message.
fn lower_dev_stacks(p: &Project, out: &mut [Finding]) {
    for f in out.iter_mut() {
        let dev = p
            .compose
            .iter()
            .zip(&p.layers)
            .any(|(c, l)| l.dev && p.files[c.file].rel == f.path);
        if !dev {
            continue;
        }
        let lower = match f.severity {
            Severity::Critical => Severity::High,
            Severity::High => Severity::Medium,
            _ => Severity::Low,
        };
        if lower != f.severity {
            f.message = format!(
                "{} (dev/local/test stack: severity lowered from {})",
                f.message,
                f.severity.as_str()
            );
            f.severity = lower;
        }
    }
}
