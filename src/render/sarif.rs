//! SARIF 2.1.0: rule metadata from each rule's own doc, results with
//! locations, and fixes as `artifactChanges` replacements.

use serde_json::{json, Value};

use crate::finding::{Finding, Severity};
use crate::project::Project;
use crate::rules;

pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

fn uri(p: &Project, rel: &str) -> String {
    crate::render::text::display_path(p, rel)
        .trim_start_matches("./")
        .to_string()
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

pub fn document(runs: &[(&Project, &[Finding])]) -> Value {
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
                "defaultConfiguration": {"level": level(r.severity)},
                "properties": {"severity": r.severity.as_str(), "fix": r.fix.describe()},
            })
        })
        .collect();
    let mut results = Vec::new();
    for (p, findings) in runs {
        for f in findings.iter() {
            let idx = all.iter().position(|r| r.code == f.code).unwrap_or(0);
            let mut r = json!({
                "ruleId": f.code,
                "ruleIndex": idx,
                "level": level(f.severity),
                "message": {"text": f.message},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(p, &f.path)},
                        "region": {"startLine": f.line.max(1), "startColumn": f.column.max(1)},
                    }
                }],
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
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}
