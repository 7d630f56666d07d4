//! `--format json`: a stable, versioned document.

use serde_json::{json, Value};

use crate::finding::{Finding, Severity};

pub fn finding(root: &str, f: &Finding) -> Value {
    json!({
        "code": f.code,
        "name": f.name,
        "severity": f.severity,
        "root": root,
        "path": f.path,
        "line": f.line,
        "column": f.column,
        "message": f.message,
        "service": f.service,
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
    })
}

pub fn summary(findings: &[(String, &Finding)], errors: &[Value]) -> Value {
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
    json!({
        "findings": findings.len(),
        "fixable": findings.iter().filter(|(_, f)| f.fix.is_some()).count(),
        "by_severity": by_sev,
        "by_code": by_code,
        "errors": errors.len(),
    })
}

pub fn document(findings: &[(String, &Finding)], errors: Vec<Value>) -> Value {
    json!({
        "version": 1,
        "findings": findings.iter().map(|(root, f)| finding(root, f)).collect::<Vec<_>>(),
        "errors": errors,
        "summary": summary(findings, &errors),
    })
}
