//! `--format json`: a stable, versioned document, described by the JSON
//! schema in `docs/schemas/check-output.schema.json` (a test validates the
//! output against it).

use serde_json::{json, Value};

use crate::finding::{Finding, Severity};
use crate::render::text::fixable;

pub fn finding(root: &str, f: &Finding) -> Value {
    json!({
        "code": f.code,
        "name": f.name,
        "severity": f.severity,
        "root": root,
        "path": f.path,
        "line": f.line,
        "column": f.column,
        "end_line": f.end_line,
        "end_column": f.end_column,
        "message": f.message,
        "service": f.service,
        "url": crate::rules::doc_url(f.code),
        "fix": f.fix.as_ref().map(|x| json!({
            "title": x.title,
            "safety": x.safety,
            "unsafe_reason": x.unsafe_reason,
            "changes": x.changes.iter().map(|c| json!({
                "path": c.path,
                "edits": c.edits.iter().map(|e| json!({"start": e.start, "end": e.end, "content": e.text})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })),
        "no_fix_reason": f.no_fix_reason,
        "related": f.related.iter().map(|r| json!({"code": r.code, "path": r.path, "line": r.line})).collect::<Vec<_>>(),
    })
}

/// Counts; `fixable` counts what `prodsafe fix` applies (safe fixes, and
/// unsafe ones with `--unsafe-fixes`), as the text summary's `[*]` does.
pub fn summary(findings: &[(String, &Finding)], errors: &[Value], unsafe_fixes: bool) -> Value {
    let mut by_sev = serde_json::Map::new();
    for sev in [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ] {
        by_sev.insert(
            sev.as_str().into(),
            json!(findings.iter().filter(|(_, f)| f.severity == sev).count()),
        );
    }
    let mut by_code = std::collections::BTreeMap::new();
    for (_, f) in findings {
        *by_code.entry(f.code).or_insert(0usize) += 1;
    }
    let unsafe_n = findings
        .iter()
        .filter(|(_, f)| {
            f.fix
                .as_ref()
                .is_some_and(|x| x.safety == crate::finding::Safety::Unsafe)
        })
        .count();
    json!({
        "findings": findings.len(),
        "fixable": findings.iter().filter(|(_, f)| fixable(f, unsafe_fixes)).count(),
        "hidden_unsafe_fixes": if unsafe_fixes { 0 } else { unsafe_n },
        "by_severity": by_sev,
        "by_code": by_code,
        "errors": errors.len(),
    })
}

/// The document. `unchecked` lists what was asked for and not checked
/// (`{root, path, reason}`); `complete` is true only when every path given
/// was read and checked, as for the text output's "All checks passed!".
pub fn document(
    findings: &[(String, &Finding)],
    errors: Vec<Value>,
    unchecked: Vec<Value>,
    complete: bool,
    unsafe_fixes: bool,
) -> Value {
    let mut s = summary(findings, &errors, unsafe_fixes);
    s["complete"] = json!(complete);
    json!({
        "version": 1,
        "findings": findings.iter().map(|(root, f)| finding(root, f)).collect::<Vec<_>>(),
        "errors": errors,
        "unchecked": unchecked,
        "summary": s,
    })
}
