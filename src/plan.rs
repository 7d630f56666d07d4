//! From findings to per-file edit sets: merge fixes, share identical ones,
//! refuse overlapping ones, apply and verify.

use std::collections::BTreeMap;

use crate::edit;
use crate::finding::{Edit, Expect, Finding};
use crate::project::Project;

#[derive(Debug, Clone)]
pub struct FilePlan {
    pub path: String,
    /// Index into the project's files.
    pub file: usize,
    pub edits: Vec<Edit>,
    /// Findings whose fix is in `edits`.
    pub fixed: Vec<usize>,
    /// The verified new text (BOM excluded); None when verification failed.
    pub new_text: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Skipped {
    pub finding: usize,
    pub reason: String,
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub files: Vec<FilePlan>,
    pub skipped: Vec<Skipped>,
}

impl Plan {
    pub fn changed(&self) -> impl Iterator<Item = &FilePlan> {
        self.files.iter().filter(|f| f.new_text.is_some())
    }
    pub fn errors(&self) -> impl Iterator<Item = &FilePlan> {
        self.files.iter().filter(|f| f.error.is_some())
    }
}

/// Whether two edits cannot both apply: overlapping replacements, two
/// insertions at one point (their order would be arbitrary), or an insertion
/// strictly inside a replaced range.
fn overlaps(a: &Edit, b: &Edit) -> bool {
    match (a.start == a.end, b.start == b.end) {
        (true, true) => a.start == b.start,
        (true, false) => b.start < a.start && a.start < b.end,
        (false, true) => a.start < b.start && b.start < a.end,
        (false, false) => a.start < b.end && b.start < a.end,
    }
}

/// Whether any edit of one fix conflicts with any edit of the other.
pub fn conflict(a: &[Edit], b: &[Edit]) -> bool {
    a.iter().any(|x| b.iter().any(|y| overlaps(x, y)))
}

/// Plans the fixes of the findings for which `accept` says yes.
pub fn plan(p: &Project, findings: &[Finding], accept: &dyn Fn(usize, &Finding) -> bool) -> Plan {
    let mut by_file: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, f) in findings.iter().enumerate() {
        if let Some(fix) = &f.fix {
            if accept(i, f) {
                by_file.entry(fix.path.as_str()).or_default().push(i);
            }
        }
    }
    let mut out = Plan::default();
    for (path, idxs) in by_file {
        let Some(&file) = p.by_rel.get(path) else {
            continue;
        };
        let src = &p.files[file];
        let mut accepted: Vec<(usize, Vec<Edit>)> = Vec::new();
        let mut fixed = Vec::new();
        let mut expects: Vec<Expect> = Vec::new();
        for i in idxs {
            let fix = findings[i].fix.as_ref().unwrap();
            let mut edits = fix.edits.clone();
            edits.sort();
            if accepted.iter().any(|(_, e)| *e == edits) {
                fixed.push(i); // the same edit as an accepted fix: shared
                continue;
            }
            if let Some((owner, _)) = accepted.iter().find(|(_, e)| conflict(e, &edits)) {
                out.skipped.push(Skipped {
                    finding: i,
                    reason: format!(
                        "conflicts with the fix for {} at line {}",
                        findings[*owner].code, findings[*owner].line
                    ),
                });
                continue;
            }
            for x in &fix.expect {
                if !expects.contains(x) {
                    expects.push(x.clone());
                }
            }
            accepted.push((i, edits));
            fixed.push(i);
        }
        let mut edits: Vec<Edit> = accepted.into_iter().flat_map(|(_, e)| e).collect();
        if expects.contains(&Expect::EolToLf) {
            // The file is being converted to LF: inserted text follows suit.
            for e in &mut edits {
                e.text = e.text.replace("\r\n", "\n");
            }
        }
        edits.sort();
        let kind = p.kinds[file];
        let result = edit::check_edits(&src.text, &edits).and_then(|_| {
            let new = edit::apply(&src.text, &edits);
            edit::verify(src, kind, &edits, &new, &expects).map(|_| new)
        });
        let (new_text, error) = match result {
            Ok(n) if n == src.text => (None, None),
            Ok(n) => (Some(n), None),
            Err(e) => (None, Some(format!("not fixed, file left untouched: {e}"))),
        };
        out.files.push(FilePlan {
            path: path.to_string(),
            file,
            edits,
            fixed,
            new_text,
            error,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(start: usize, end: usize) -> Edit {
        Edit {
            start,
            end,
            text: "x".into(),
        }
    }

    #[test]
    fn conflicts() {
        assert!(conflict(&[e(5, 5)], &[e(5, 5)]), "two inserts at one point");
        assert!(!conflict(&[e(5, 5)], &[e(6, 6)]));
        assert!(
            conflict(&[e(3, 8)], &[e(5, 5)]),
            "insert inside a replacement"
        );
        assert!(!conflict(&[e(3, 8)], &[e(8, 8)]), "insert at its end");
        assert!(!conflict(&[e(3, 8)], &[e(3, 3)]), "insert at its start");
        assert!(conflict(&[e(3, 8)], &[e(7, 9)]));
        assert!(!conflict(&[e(3, 8)], &[e(8, 9)]));
    }
}
