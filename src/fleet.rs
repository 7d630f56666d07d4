//! Fleet migrations, step two: what `fix` hands to the people who review
//! the change. Per repository: a branch with one commit holding the fixes
//! (`fix --branch NAME`), created with git plumbing and a temporary index so
//! the user's checkout, index and branch are never touched; a pull-request
//! description (`--patch-dir DIR` writes `DIR/<repo>.md`); and the
//! `summary.json` of a run, whose schema is committed in
//! `schemas/summary.schema.json`. `prodsafe merge-summaries` joins the
//! summaries of sharded runs back into the summary of the whole run.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::finding::{Finding, Safety};

/// The version recorded in commit trailers and summaries.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Version of the `summary.json` format (see `schemas/summary.schema.json`).
pub const SUMMARY_VERSION: u64 = 2;

/// One finding a run fixed, with what a reviewer needs to judge it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FixedItem {
    pub code: String,
    pub name: String,
    pub severity: String,
    pub path: String,
    pub line: usize,
    /// The finding's message: what is wrong and the evidence it rests on.
    pub message: String,
    /// The fix's title.
    pub fix: String,
    /// `safe` or `unsafe`.
    pub safety: String,
    pub unsafe_reason: Option<String>,
}

/// The findings whose fixes the plan holds, in plan order (file, then the
/// order the planner accepted them).
pub fn fixed_items(
    findings: &[Finding],
    fixed: &std::collections::BTreeSet<usize>,
) -> Vec<FixedItem> {
    // Each finding once, also when its fix spans several files.
    let mut out = Vec::new();
    for &i in fixed {
        let f = &findings[i];
        let Some(fix) = &f.fix else { continue };
        out.push(FixedItem {
            code: f.code.to_string(),
            name: f.name.to_string(),
            severity: f.severity.as_str().to_string(),
            path: f.path.clone(),
            line: f.line,
            message: f.message.clone(),
            fix: fix.title.clone(),
            safety: match fix.safety {
                Safety::Safe => "safe".into(),
                Safety::Unsafe => "unsafe".into(),
            },
            unsafe_reason: fix.unsafe_reason.clone(),
        });
    }
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Rule codes in first-seen order with their counts.
fn by_rule(items: &[FixedItem]) -> Vec<(&str, Vec<&FixedItem>)> {
    let mut order: Vec<(&str, Vec<&FixedItem>)> = Vec::new();
    for it in items {
        match order.iter_mut().find(|(c, _)| *c == it.code) {
            Some((_, v)) => v.push(it),
            None => order.push((it.code.as_str(), vec![it])),
        }
    }
    // Rule table order (CMP, DKR, ENT, APP, GHA), which is stable across repos.
    let rank = |code: &str| {
        crate::rules::all()
            .iter()
            .position(|r| r.code == code)
            .unwrap_or(usize::MAX)
    };
    order.sort_by_key(|(c, _)| (rank(c), c.to_string()));
    order
}

/// The commit message: a subject naming the count and the rules, one line
/// per rule, the changed files, and a `Generated-by` trailer.
pub fn commit_message(items: &[FixedItem], files: &[(String, usize)]) -> String {
    let rules = by_rule(items);
    let codes: Vec<&str> = rules.iter().map(|(c, _)| *c).collect();
    let mut s = format!(
        "prodsafe: fix {} ({})\n\n",
        plural(items.len(), "finding", "findings"),
        codes.join(", ")
    );
    for (code, its) in &rules {
        let summary = crate::rules::find(code).map(|r| r.summary).unwrap_or("");
        s.push_str(&format!(
            "- {code} {} ({}): {summary}\n",
            its[0].name,
            its.len()
        ));
    }
    s.push_str("\nFiles:\n");
    for (path, n) in files {
        s.push_str(&format!("- {path} ({})\n", plural(*n, "fix", "fixes")));
    }
    s.push_str(&format!("\nGenerated-by: prodsafe {VERSION}\n"));
    s
}

/// The "Why it breaks production" section of a rule's documentation.
fn why(code: &str) -> Option<String> {
    let doc = crate::rules::find(code)?.doc;
    let start = doc.find("## Why it breaks production")?;
    let rest = &doc[start..];
    let body = rest.split_once('\n')?.1;
    let end = body.find("\n## ").unwrap_or(body.len());
    let text = body[..end].trim();
    (!text.is_empty()).then(|| text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// What a pull-request description needs beyond the fixed items.
pub struct PrContext<'a> {
    pub repo: &'a str,
    pub files: &'a [(String, usize)],
    pub findings: usize,
    pub findings_left: usize,
    /// Findings with a fix that was not applied, and why.
    pub skipped: &'a [(String, String, usize, String)],
    pub branch: Option<&'a str>,
    pub patch: Option<&'a str>,
}

/// A pull-request description in Markdown: what changed, why (per rule),
/// and for every fix the evidence it rests on and its safety.
pub fn pr_description(items: &[FixedItem], cx: &PrContext) -> String {
    let mut s = format!(
        "# prodsafe: fix {} in {}\n\n",
        plural(items.len(), "finding", "findings"),
        cx.repo
    );
    let unsafe_n = items.iter().filter(|i| i.safety == "unsafe").count();
    s.push_str(&format!(
        "Generated by `prodsafe fix` (prodsafe {VERSION}). Every edit is a byte-exact splice; each \
         changed file was re-parsed and verified to equal the original plus the intended change, \
         with line endings, final newline, indentation and comments kept. {} of the {} fixes {} \
         safe{}.\n\n",
        items.len() - unsafe_n,
        items.len(),
        if items.len() - unsafe_n == 1 { "is" } else { "are" },
        if unsafe_n > 0 {
            format!(
                "; {} unsafe (applied because `--unsafe-fixes` was given: review {} first)",
                unsafe_n,
                if unsafe_n == 1 { "it" } else { "them" }
            )
        } else {
            String::new()
        }
    ));
    s.push_str("## What changed\n\n| File | Fixes |\n|---|---|\n");
    for (path, n) in cx.files {
        s.push_str(&format!(
            "| `{}` | {n} |\n",
            crate::render::markdown::cell(path)
        ));
    }
    s.push_str("\n## Why, rule by rule\n");
    for (code, its) in by_rule(items) {
        let rule = crate::rules::find(code);
        s.push_str(&format!(
            "\n### {code} `{}` ({} severity, {})\n\n",
            its[0].name,
            its[0].severity,
            plural(its.len(), "fix", "fixes")
        ));
        if let Some(r) = rule {
            s.push_str(&format!("{}.", r.summary));
            if let Some(w) = why(code) {
                s.push(' ');
                s.push_str(&w);
            }
            s.push_str(&format!(" (`prodsafe explain {code}`)\n\n"));
        }
        for it in its {
            let safety = match (&*it.safety, &it.unsafe_reason) {
                ("unsafe", Some(r)) => format!("**unsafe**: {r}"),
                ("unsafe", None) => "**unsafe**".to_string(),
                _ => "safe".to_string(),
            };
            s.push_str(&format!(
                "- `{}:{}`: {}\n  - fix: {} ({safety})\n",
                it.path, it.line, it.message, it.fix
            ));
        }
    }
    if !cx.skipped.is_empty() || cx.findings_left > 0 {
        s.push_str("\n## Not changed\n\n");
        s.push_str(&format!(
            "{} of the {} findings {} left for a person (see `prodsafe check`).\n",
            cx.findings_left,
            cx.findings,
            if cx.findings_left == 1 { "is" } else { "are" }
        ));
        for (code, path, line, reason) in cx.skipped {
            s.push_str(&format!(
                "- {code} `{path}:{line}`: fix skipped: {reason}\n"
            ));
        }
    }
    s.push_str("\n## Check it\n\n```sh\n");
    if let Some(b) = cx.branch {
        s.push_str(&format!("git diff HEAD...{b}\n"));
    }
    if let Some(p) = cx.patch {
        s.push_str(&format!("git apply --check {p}\n"));
    }
    s.push_str("prodsafe check .   # after the change: the fixed findings are gone\n```\n");
    s
}

/// What `--branch` did in one repository.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BranchResult {
    pub name: String,
    pub commit: String,
    /// `created`, or `unchanged` when the branch already holds exactly
    /// this change on top of the current HEAD (a rerun).
    pub status: String,
}

fn git(
    root: &Path,
    args: &[&str],
    index: Option<&Path>,
    stdin: Option<&[u8]>,
) -> Result<String, String> {
    let mut c = Command::new("git");
    c.arg("-C").arg(root).args(args);
    // The caller's environment must not redirect us to another repository or index.
    for v in ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_PREFIX"] {
        c.env_remove(v);
    }
    // `git status` would otherwise refresh (rewrite) the user's index.
    c.env("GIT_OPTIONAL_LOCKS", "0");
    if let Some(i) = index {
        c.env("GIT_INDEX_FILE", i);
    }
    c.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = c.spawn().map_err(|e| format!("cannot run git: {e}"))?;
    if let Some(bytes) = stdin {
        let mut w = child.stdin.take().unwrap();
        w.write_all(bytes)
            .map_err(|e| format!("git {}: {e}", args[0]))?;
    }
    let o = child
        .wait_with_output()
        .map_err(|e| format!("git {}: {e}", args[0]))?;
    if !o.status.success() {
        let msg = String::from_utf8_lossy(&o.stderr).trim().to_string();
        return Err(format!("git {} failed: {msg}", args.join(" ")));
    }
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// `git check-ref-format --branch`, plus a refusal of names that start
/// with `-` (they would read as options).
pub fn validate_branch_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.starts_with('-') || name.contains(char::is_whitespace) {
        return Err(format!("--branch {name:?}: not a valid branch name"));
    }
    let o = Command::new("git")
        .args(["check-ref-format", "--branch", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if o.success() {
        Ok(())
    } else {
        Err(format!(
            "--branch {name:?}: not a valid branch name (git check-ref-format)"
        ))
    }
}

/// Creates `refs/heads/BRANCH` at a new commit whose parent is HEAD and
/// whose tree is HEAD's with `files` (paths relative to `root`, new bytes)
/// replaced. Nothing in the work tree, the index or the checked-out branch
/// changes: blobs are written with `hash-object`, the tree is built in a
/// temporary index, and the ref is created only if it does not exist.
/// Refuses a dirty work tree (its files are what the fixes were computed
/// from, so a commit on HEAD would carry uncommitted changes along).
pub fn create_branch(
    root: &Path,
    branch: &str,
    files: &[(String, Vec<u8>)],
    message: &str,
) -> Result<BranchResult, String> {
    let inside = git(root, &["rev-parse", "--is-inside-work-tree"], None, None)
        .map_err(|_| "not inside a git work tree: --branch needs one".to_string())?;
    if inside.trim() != "true" {
        return Err("not inside a git work tree: --branch needs one".into());
    }
    let head = git(
        root,
        &["rev-parse", "--verify", "--quiet", "HEAD^{commit}"],
        None,
        None,
    )
    .map_err(|_| "HEAD has no commit to branch from".to_string())?
    .trim()
    .to_string();
    let dirty = git(
        root,
        &["status", "--porcelain", "--untracked-files=normal"],
        None,
        None,
    )?;
    if !dirty.trim().is_empty() {
        let first = dirty.lines().next().unwrap_or("").trim();
        return Err(format!(
            "work tree has uncommitted changes ({first}{}); commit or stash them first: branch {branch} not created",
            if dirty.lines().count() > 1 { ", ..." } else { "" }
        ));
    }
    if let Ok(current) = git(
        root,
        &["symbolic-ref", "--quiet", "--short", "HEAD"],
        None,
        None,
    ) {
        if current.trim() == branch {
            return Err(format!(
                "{branch} is the checked-out branch; prodsafe never commits to it: pick another name"
            ));
        }
    }
    let prefix = git(root, &["rev-parse", "--show-prefix"], None, None)?
        .trim_end_matches('\n')
        .to_string();
    let tmp = tempfile::tempdir().map_err(|e| format!("temporary index: {e}"))?;
    let index = tmp.path().join("index");
    git(root, &["read-tree", &head], Some(&index), None)?;
    for (rel, bytes) in files {
        let path = format!("{prefix}{rel}");
        let staged = git(
            root,
            &[
                "ls-files",
                "--stage",
                "--",
                &format!(":(literal,top){path}"),
            ],
            Some(&index),
            None,
        )?;
        let mode = staged
            .split_whitespace()
            .next()
            .ok_or_else(|| {
                format!("{rel}: not tracked by git; --branch only commits changes to tracked files")
            })?
            .to_string();
        // `--path` applies the repository's clean filters (autocrlf,
        // attributes) exactly as `git add` of the work-tree file would.
        let blob = git(
            root,
            &["hash-object", "-w", "--stdin", &format!("--path={path}")],
            None,
            Some(bytes),
        )?;
        git(
            root,
            &[
                "update-index",
                "--cacheinfo",
                &format!("{mode},{},{path}", blob.trim()),
            ],
            Some(&index),
            None,
        )?;
    }
    let tree = git(root, &["write-tree"], Some(&index), None)?
        .trim()
        .to_string();
    let ref_name = format!("refs/heads/{branch}");
    if let Ok(existing) = git(
        root,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{ref_name}^{{commit}}"),
        ],
        None,
        None,
    ) {
        let existing = existing.trim().to_string();
        let parent =
            git(root, &["rev-parse", &format!("{existing}^")], None, None).unwrap_or_default();
        let etree = git(
            root,
            &["rev-parse", &format!("{existing}^{{tree}}")],
            None,
            None,
        )?;
        if parent.trim() == head && etree.trim() == tree {
            return Ok(BranchResult {
                name: branch.into(),
                commit: existing,
                status: "unchanged".into(),
            });
        }
        return Err(format!(
            "branch {branch} already exists at {} with other content; prodsafe never moves an existing branch",
            &existing[..existing.len().min(12)]
        ));
    }
    let commit = git(
        root,
        &["commit-tree", &tree, "-p", &head, "-F", "-"],
        None,
        Some(message.as_bytes()),
    )?
    .trim()
    .to_string();
    // An empty old value: the update fails if the branch appeared meanwhile.
    git(
        root,
        &[
            "update-ref",
            "-m",
            "prodsafe fix --branch",
            &ref_name,
            &commit,
            "",
        ],
        None,
        None,
    )?;
    Ok(BranchResult {
        name: branch.into(),
        commit,
        status: "created".into(),
    })
}

// ---------------------------------------------------------------- summary

/// One repository in `summary.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RepoSummary {
    /// Position in the whole (unsharded) repository list, from 0.
    pub index: usize,
    pub root: String,
    pub name: String,
    pub patch: Option<String>,
    pub description: Option<String>,
    pub branch: Option<BranchResult>,
    pub findings: usize,
    pub by_code: BTreeMap<String, usize>,
    pub by_severity: BTreeMap<String, usize>,
    pub fixes_applied: usize,
    pub fixed_by_code: BTreeMap<String, usize>,
    pub files_changed: usize,
    pub changed: Vec<(String, usize)>,
    pub findings_left: usize,
    pub skipped: Vec<SkipSummary>,
    /// Files not read on purpose (symlinks), each with the reason.
    pub skipped_files: Vec<String>,
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SkipSummary {
    pub code: String,
    pub path: String,
    pub line: usize,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    pub k: usize,
    pub n: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct RuleTotals {
    pub findings: usize,
    pub fixes: usize,
    pub repos: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Totals {
    pub repos: usize,
    pub changed: usize,
    pub errors: usize,
    pub findings: usize,
    pub fixes: usize,
    /// Files not read on purpose, over all repositories.
    pub skipped_files: usize,
    pub by_code: BTreeMap<String, RuleTotals>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub version: u64,
    /// The shard this run covered; null for a whole run or a merged one.
    pub shard: Option<Shard>,
    /// Length of the whole repository list (before sharding).
    pub list_len: usize,
    pub repos: Vec<RepoSummary>,
    pub totals: Totals,
    /// Errors every repo's list shows, one line each: `name: message`.
    pub errors: Vec<String>,
}

impl Summary {
    /// Builds the summary; repos are sorted by their list index and the
    /// totals computed from them, so a merged summary of all shards equals
    /// the summary of the unsharded run.
    pub fn new(mut repos: Vec<RepoSummary>, shard: Option<Shard>, list_len: usize) -> Summary {
        repos.sort_by_key(|r| r.index);
        let mut by_code: BTreeMap<String, RuleTotals> = BTreeMap::new();
        for r in &repos {
            for (c, n) in &r.by_code {
                let t = by_code.entry(c.clone()).or_default();
                t.findings += n;
                t.repos += 1;
            }
            for (c, n) in &r.fixed_by_code {
                by_code.entry(c.clone()).or_default().fixes += n;
            }
        }
        let totals = Totals {
            repos: repos.len(),
            changed: repos.iter().filter(|r| r.fixes_applied > 0).count(),
            errors: repos.iter().filter(|r| !r.errors.is_empty()).count(),
            findings: repos.iter().map(|r| r.findings).sum(),
            fixes: repos.iter().map(|r| r.fixes_applied).sum(),
            skipped_files: repos.iter().map(|r| r.skipped_files.len()).sum(),
            by_code,
        };
        let errors = repos
            .iter()
            .flat_map(|r| r.errors.iter().map(move |e| format!("{}: {e}", r.name)))
            .collect();
        Summary {
            version: SUMMARY_VERSION,
            shard,
            list_len,
            repos,
            totals,
            errors,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("summary serialises") + "\n"
    }
}

/// `prodsafe merge-summaries DIR...`: reads `DIR/summary.json` (or the file
/// itself when given one) from each shard and joins them. Refuses
/// summaries of other versions, of different lists, and repos that appear
/// twice; reports shards that are missing.
pub fn merge(inputs: &[PathBuf]) -> Result<(Summary, Vec<String>), String> {
    let mut repos: Vec<RepoSummary> = Vec::new();
    let mut list_len: Option<usize> = None;
    let mut shards: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut warnings = Vec::new();
    for input in inputs {
        let file = if input.is_dir() {
            input.join("summary.json")
        } else {
            input.clone()
        };
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("{}: cannot read: {e}", file.display()))?;
        let s: Summary = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}: not a prodsafe summary (version {SUMMARY_VERSION}): {e}",
                file.display()
            )
        })?;
        if s.version != SUMMARY_VERSION {
            return Err(format!(
                "{}: summary version {} (this prodsafe reads {SUMMARY_VERSION})",
                file.display(),
                s.version
            ));
        }
        match list_len {
            Some(l) if l != s.list_len => {
                return Err(format!(
                    "{}: covers a list of {} repos, the others {l}: not shards of one run",
                    file.display(),
                    s.list_len
                ))
            }
            _ => list_len = Some(s.list_len),
        }
        if let Some(sh) = &s.shard {
            shards.entry(sh.n).or_default().push(sh.k);
        }
        repos.extend(s.repos);
    }
    let mut seen: BTreeMap<usize, &str> = BTreeMap::new();
    for r in &repos {
        if let Some(prev) = seen.insert(r.index, &r.root) {
            return Err(format!(
                "repo #{} ({}) appears in two summaries (also as {prev}): overlapping shards",
                r.index, r.root
            ));
        }
    }
    for (n, ks) in &shards {
        let missing: Vec<String> = (1..=*n)
            .filter(|k| !ks.contains(k))
            .map(|k| format!("{k}/{n}"))
            .collect();
        if !missing.is_empty() {
            warnings.push(format!("shards missing: {}", missing.join(", ")));
        }
    }
    let len = list_len.unwrap_or(0);
    if repos.len() < len && warnings.is_empty() {
        warnings.push(format!("{} of {len} repos covered", repos.len()));
    }
    Ok((Summary::new(repos, None, len), warnings))
}

/// `prodsafe merge-summaries`: exit 0 when every shard is there, 1 when
/// some are missing (the merged summary is still written), 2 on errors.
pub fn merge_command(inputs: &[PathBuf], output: Option<&Path>) -> i32 {
    let (summary, warnings) = match merge(inputs) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let text = summary.to_json();
    match output {
        Some(o) => {
            if let Err(e) = crate::edit::write_atomic(o, text.as_bytes(), 0o644) {
                eprintln!("error: {}: cannot write: {e}", o.display());
                return 2;
            }
        }
        None => print!("{text}"),
    }
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let t = &summary.totals;
    eprintln!(
        "{} repos: {} with changes, {} with errors; {} findings, {} fixes",
        t.repos, t.changed, t.errors, t.findings, t.fixes
    );
    if warnings.is_empty() {
        0
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(code: &str, safety: &str) -> FixedItem {
        let r = crate::rules::find(code).unwrap();
        FixedItem {
            code: code.into(),
            name: r.name.into(),
            severity: r.severity.as_str().into(),
            path: "docker-compose.yml".into(),
            line: 3,
            message: "msg".into(),
            fix: "do it".into(),
            safety: safety.into(),
            unsafe_reason: (safety == "unsafe").then(|| "may change behaviour".into()),
        }
    }

    #[test]
    fn commit_message_lists_rules_and_ends_with_the_trailer() {
        let items = vec![
            item("ENT002", "safe"),
            item("CMP001", "safe"),
            item("CMP001", "safe"),
        ];
        let m = commit_message(&items, &[("docker-compose.yml".into(), 3)]);
        assert!(
            m.starts_with("prodsafe: fix 3 findings (CMP001, ENT002)\n\n"),
            "{m}"
        );
        assert!(
            m.contains("- CMP001 missing-healthcheck (2): A long-running"),
            "{m}"
        );
        assert!(
            m.ends_with(&format!("\n\nGenerated-by: prodsafe {VERSION}\n")),
            "{m}"
        );
    }

    #[test]
    fn description_gives_why_evidence_and_safety() {
        let items = vec![item("CMP001", "safe"), item("DKR003", "unsafe")];
        let d = pr_description(
            &items,
            &PrContext {
                repo: "shop",
                files: &[("docker-compose.yml".into(), 2)],
                findings: 5,
                findings_left: 3,
                skipped: &[],
                branch: Some("prodsafe/fixes"),
                patch: None,
            },
        );
        assert!(d.contains("## Why, rule by rule"), "{d}");
        // The rule's own "why" section, joined into one paragraph.
        assert!(d.contains("Orchestrators never restart it"), "{d}");
        assert!(d.contains("(**unsafe**: may change behaviour)"), "{d}");
        assert!(d.contains("1 of the 2 fixes is safe; 1 unsafe"), "{d}");
        assert!(
            d.contains("3 of the 5 findings are left for a person"),
            "{d}"
        );
        assert!(d.contains("git diff HEAD...prodsafe/fixes"), "{d}");
    }

    #[test]
    fn branch_names_are_validated() {
        assert!(validate_branch_name("prodsafe/fixes").is_ok());
        for bad in ["", "-x", "a b", "a..b", "x.lock", "a~1"] {
            assert!(validate_branch_name(bad).is_err(), "{bad}");
        }
    }
}
