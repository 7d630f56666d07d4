//! `--format json`: a stable, versioned document, described by the JSON
//! schema in `docs/schemas/check-output.schema.json` (a test validates the
//! output against it).
//!
//! Serialised straight from borrowed structs (no intermediate
//! `serde_json::Value` tree): keys come out in alphabetical order, as
//! they always have, because the fields are declared in that order.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::finding::{Finding, Safety, Severity};
use crate::render::text::fixable;

#[derive(Serialize)]
pub struct JsonFinding<'a> {
    code: &'static str,
    column: usize,
    end_column: usize,
    end_line: usize,
    fix: Option<JsonFix<'a>>,
    line: usize,
    message: &'a str,
    name: &'static str,
    no_fix_reason: Option<&'a str>,
    path: &'a str,
    related: Vec<JsonRelated<'a>>,
    root: &'a str,
    service: Option<&'a str>,
    severity: Severity,
    url: String,
}

#[derive(Serialize)]
struct JsonFix<'a> {
    changes: Vec<JsonChange<'a>>,
    safety: Safety,
    title: &'a str,
    unsafe_reason: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonChange<'a> {
    edits: Vec<JsonEdit<'a>>,
    path: &'a str,
}

#[derive(Serialize)]
struct JsonEdit<'a> {
    content: &'a str,
    end: usize,
    start: usize,
}

#[derive(Serialize)]
struct JsonRelated<'a> {
    code: &'static str,
    line: usize,
    path: &'a str,
}

/// A load error or an unchecked path, as the document lists them.
#[derive(Serialize)]
pub struct JsonError<'a> {
    pub line: Option<usize>,
    pub message: &'a str,
    pub path: &'a str,
    pub root: &'a str,
}

#[derive(Serialize)]
pub struct JsonUnchecked {
    pub path: Option<String>,
    pub reason: String,
    pub root: String,
}

pub fn finding<'a>(root: &'a str, f: &'a Finding) -> JsonFinding<'a> {
    JsonFinding {
        code: f.code,
        column: f.column,
        end_column: f.end_column,
        end_line: f.end_line,
        fix: f.fix.as_ref().map(|x| JsonFix {
            changes: x
                .changes
                .iter()
                .map(|c| JsonChange {
                    edits: c
                        .edits
                        .iter()
                        .map(|e| JsonEdit {
                            content: &e.text,
                            end: e.end,
                            start: e.start,
                        })
                        .collect(),
                    path: &c.path,
                })
                .collect(),
            safety: x.safety,
            title: &x.title,
            unsafe_reason: x.unsafe_reason.as_deref(),
        }),
        line: f.line,
        message: &f.message,
        name: f.name,
        no_fix_reason: f.no_fix_reason.as_deref(),
        path: &f.path,
        related: f
            .related
            .iter()
            .map(|r| JsonRelated {
                code: r.code,
                line: r.line,
                path: &r.path,
            })
            .collect(),
        root,
        service: f.service.as_deref(),
        severity: f.severity,
        url: crate::rules::doc_url(f.code),
    }
}

#[derive(Serialize)]
struct BySeverity {
    critical: usize,
    high: usize,
    low: usize,
    medium: usize,
}

#[derive(Serialize)]
pub struct Summary {
    by_code: BTreeMap<&'static str, usize>,
    by_severity: BySeverity,
    complete: bool,
    errors: usize,
    findings: usize,
    fixable: usize,
    hidden_unsafe_fixes: usize,
}

/// Counts; `fixable` counts what `prodsafe fix` applies (safe fixes, and
/// unsafe ones with `--unsafe-fixes`), as the text summary's `[*]` does.
pub fn summary(
    findings: &[(&str, &Finding)],
    errors: usize,
    complete: bool,
    unsafe_fixes: bool,
) -> Summary {
    let count = |sev: Severity| findings.iter().filter(|(_, f)| f.severity == sev).count();
    let mut by_code = BTreeMap::new();
    for (_, f) in findings {
        *by_code.entry(f.code).or_insert(0usize) += 1;
    }
    let unsafe_n = findings
        .iter()
        .filter(|(_, f)| f.fix.as_ref().is_some_and(|x| x.safety == Safety::Unsafe))
        .count();
    Summary {
        by_code,
        by_severity: BySeverity {
            critical: count(Severity::Critical),
            high: count(Severity::High),
            low: count(Severity::Low),
            medium: count(Severity::Medium),
        },
        complete,
        errors,
        findings: findings.len(),
        fixable: findings
            .iter()
            .filter(|(_, f)| fixable(f, unsafe_fixes))
            .count(),
        hidden_unsafe_fixes: if unsafe_fixes { 0 } else { unsafe_n },
    }
}

/// `v` pretty-printed as a value nested `depth` levels deep: every line
/// after the first indented (JSON strings hold no raw line breaks).
fn nested(v: &impl Serialize, depth: usize) -> String {
    let text = serde_json::to_string_pretty(v).expect("serialising to a string cannot fail");
    let pad = "  ".repeat(depth);
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(&pad);
        }
        out.push_str(line);
    }
    out
}

/// The document, pretty-printed exactly as `serde_json::to_string_pretty`
/// prints it (keys in alphabetical order); the findings, most of its text,
/// are rendered in parallel. `unchecked` lists what was asked for and not
/// checked; `complete` is true only when every path given was read and
/// checked, as for the text output's "All checks passed!".
pub fn document(
    findings: &[(&str, &Finding)],
    errors: &[JsonError],
    unchecked: &[JsonUnchecked],
    complete: bool,
    unsafe_fixes: bool,
) -> String {
    use rayon::prelude::*;
    let rows: Vec<String> = findings
        .par_iter()
        .with_min_len(64)
        .map(|(root, f)| format!("    {}", nested(&finding(root, f), 2)))
        .collect();
    let findings_len: usize = rows.iter().map(|r| r.len() + 2).sum();
    let mut out = String::with_capacity(findings_len + 4096);
    out.push_str("{\n  \"errors\": ");
    out.push_str(&nested(&errors, 1));
    out.push_str(",\n  \"findings\": ");
    if rows.is_empty() {
        out.push_str("[]");
    } else {
        out.push_str("[\n");
        for (i, r) in rows.iter().enumerate() {
            if i > 0 {
                out.push_str(",\n");
            }
            out.push_str(r);
        }
        out.push_str("\n  ]");
    }
    out.push_str(",\n  \"summary\": ");
    out.push_str(&nested(
        &summary(findings, errors.len(), complete, unsafe_fixes),
        1,
    ));
    out.push_str(",\n  \"unchecked\": ");
    out.push_str(&nested(&unchecked, 1));
    out.push_str(",\n  \"version\": 1\n}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Edit, FileChange, Fix, Related};

    fn sample(code: &'static str, with_fix: bool) -> Finding {
        Finding {
            code,
            name: "name",
            severity: Severity::High,
            path: "apps/a/Dockerfile".into(),
            line: 3,
            column: 1,
            end_line: 3,
            end_column: 9,
            message: "two\nlines, \"quoted\" and a tab\t".into(),
            service: Some("api".into()),
            fix: with_fix.then(|| Fix {
                title: "Add it".into(),
                safety: Safety::Unsafe,
                unsafe_reason: Some("why".into()),
                changes: vec![FileChange {
                    path: "docker-compose.yml".into(),
                    edits: vec![Edit {
                        start: 1,
                        end: 2,
                        text: "  healthcheck:\n    test: [\"CMD\"]\n".into(),
                    }],
                    expect: vec![],
                }],
            }),
            no_fix_reason: None,
            related: vec![Related {
                code: "CMP002",
                path: "x.yml".into(),
                line: 4,
            }],
        }
    }

    /// The hand-assembled document is byte for byte what serde_json's pretty
    /// printer gives for the same value, with and without findings.
    #[test]
    fn document_is_serde_json_pretty() {
        let f1 = sample("DKR001", true);
        let f2 = sample("CMP001", false);
        let errors = [JsonError {
            line: Some(2),
            message: "bad",
            path: "a.yml",
            root: ".",
        }];
        let unchecked = [JsonUnchecked {
            path: None,
            reason: "nothing".into(),
            root: "r".into(),
        }];
        for (rows, errs, unch) in [
            (vec![(".", &f1), ("r2", &f2)], &errors[..], &unchecked[..]),
            (vec![], &[][..], &[][..]),
        ] {
            let doc = document(&rows, errs, unch, true, false);
            let value: serde_json::Value = serde_json::from_str(&doc).unwrap();
            assert_eq!(doc, serde_json::to_string_pretty(&value).unwrap());
            assert_eq!(value["findings"].as_array().unwrap().len(), rows.len());
        }
    }
}
