//! SARIF 2.1.0: rule metadata from each rule's own doc (with `helpUri` to
//! its published page), results with whole-span regions and fingerprints
//! that survive unrelated edits, fixes as `artifactChanges` replacements,
//! and files that could not be read or parsed as tool execution
//! notifications.

use serde_json::{json, Value};

use crate::finding::{Finding, Severity};
use crate::project::Project;
use crate::rules;
use crate::source::LoadError;

pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

fn uri(p: &Project, rel: &str) -> String {
    uri_of(&crate::render::text::display_path(p, rel))
}

fn uri_of(shown: &str) -> String {
    shown
        .trim_start_matches("./")
        .chars()
        .map(|c| match c {
            ' ' => "%20".to_string(),
            '%' => "%25".to_string(),
            '#' => "%23".to_string(),
            '?' => "%3F".to_string(),
            c if c.is_control() => format!("%{:02X}", c as u32 & 0xff),
            c => c.to_string(),
        })
        .collect()
}

fn region(p: &Project, path: &str, start: usize, end: usize) -> Value {
    match p.file(path) {
        Some(src) => {
            let (sl, sc) = src.line_col(start);
            let (el, ec) = src.line_col(end);
            json!({"startLine": sl, "startColumn": sc, "endLine": el, "endColumn": ec})
        }
        None => json!({"startLine": 1, "startColumn": 1}),
    }
}

/// FNV-1a, 64 bits: stable across runs, platforms and Rust versions.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A fingerprint that does not move when unrelated lines are added or
/// removed: the rule, the file, the service, the text of the finding's line
/// (whitespace-trimmed), and which occurrence of that combination it is.
pub fn fingerprints(p: &Project, findings: &[Finding]) -> Vec<String> {
    let mut seen: std::collections::HashMap<u64, usize> = std::collections::HashMap::new();
    findings
        .iter()
        .map(|f| {
            let text = p
                .file(&f.path)
                .filter(|s| f.line >= 1 && f.line <= s.line_count())
                .map(|s| s.line_text(f.line).trim().to_string())
                .unwrap_or_default();
            let key = format!(
                "{}\0{}\0{}\0{}",
                f.code,
                f.path,
                f.service.as_deref().unwrap_or(""),
                text
            );
            let h = fnv1a(key.as_bytes());
            let n = seen.entry(h).or_insert(0);
            *n += 1;
            format!("{h:016x}:{n}")
        })
        .collect()
}

/// A run's findings and the files it could not read or parse.
pub struct RunInput<'a> {
    pub project: Option<&'a Project>,
    pub root: String,
    pub findings: &'a [Finding],
    pub errors: &'a [LoadError],
}

/// `warnings`: what was asked for and not checked (message, path).
pub fn document(runs: &[RunInput<'_>], warnings: &[(String, Option<String>)]) -> Value {
    let all = rules::all();
    let rule_meta: Vec<Value> = all
        .iter()
        .map(|r| {
            json!({
                "id": r.code,
                "name": r.name,
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": r.summary},
                "help": {"text": r.doc, "markdown": r.doc},
                "helpUri": rules::doc_url(r.code),
                "defaultConfiguration": {"level": level(r.severity)},
                "properties": {"severity": r.severity.as_str(), "fix": r.fix.describe()},
            })
        })
        .collect();
    let mut results = Vec::new();
    let mut notifications = Vec::new();
    for run in runs {
        for e in run.errors {
            let shown = if run.root == "." || run.root.is_empty() || e.rel.starts_with(&run.root) {
                e.rel.clone()
            } else {
                format!("{}/{}", run.root.trim_end_matches('/'), e.rel)
            };
            let mut loc =
                json!({"physicalLocation": {"artifactLocation": {"uri": uri_of(&shown)}}});
            if let Some(l) = e.line {
                loc["physicalLocation"]["region"] = json!({"startLine": l.max(1)});
            }
            notifications.push(json!({
                "level": "error",
                "message": {"text": e.message},
                "locations": [loc],
            }));
        }
        let Some(p) = run.project else { continue };
        let prints = fingerprints(p, run.findings);
        for (f, print) in run.findings.iter().zip(prints) {
            let idx = all.iter().position(|r| r.code == f.code).unwrap_or(0);
            let mut span = json!({"startLine": f.line.max(1), "startColumn": f.column.max(1)});
            if f.end_line >= f.line && (f.end_line, f.end_column) > (f.line, f.column) {
                span["endLine"] = json!(f.end_line.max(1));
                span["endColumn"] = json!(f.end_column.max(1));
            }
            let mut r = json!({
                "ruleId": f.code,
                "ruleIndex": idx,
                "level": level(f.severity),
                "message": {"text": f.message},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(p, &f.path)},
                        "region": span,
                    }
                }],
                "partialFingerprints": {"prodsafe/v1": print},
                "properties": {"severity": f.severity.as_str(), "service": f.service},
            });
            if let Some(fix) = &f.fix {
                r["fixes"] = json!([{
                    "description": {"text": format!("{} ({})", fix.title, match fix.safety { crate::finding::Safety::Safe => "safe", crate::finding::Safety::Unsafe => "unsafe" })},
                    "artifactChanges": fix.changes.iter().map(|c| json!({
                        "artifactLocation": {"uri": uri(p, &c.path)},
                        "replacements": c.edits.iter().map(|e| json!({
                            "deletedRegion": region(p, &c.path, e.start, e.end),
                            "insertedContent": {"text": e.text},
                        })).collect::<Vec<_>>(),
                    })).collect::<Vec<_>>(),
                }]);
            }
            results.push(r);
        }
    }
    let successful = notifications.is_empty();
    for (message, path) in warnings {
        let mut n = json!({"level": "warning", "message": {"text": message}});
        if let Some(p) = path {
            n["locations"] =
                json!([{"physicalLocation": {"artifactLocation": {"uri": uri_of(p)}}}]);
        }
        notifications.push(n);
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "prodsafe",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/prodsafe/prodsafe",
                "rules": rule_meta,
            }},
            "invocations": [{
                "executionSuccessful": successful,
                "toolExecutionNotifications": notifications,
            }],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}
