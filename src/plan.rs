//! From findings to per-file edit sets: merge fixes, share identical ones,
//! refuse overlapping ones, apply and verify.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::edit;
use crate::finding::{Edit, Expect, Finding, Fix};
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
    /// The findings fixed by the files that change, each once (a fix that
    /// spans several files is one fix).
    pub fn fixed(&self) -> BTreeSet<usize> {
        self.changed()
            .flat_map(|f| f.fixed.iter().copied())
            .collect()
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

/// Whether any edit of one fix conflicts with any edit of the other (both
/// in the same file).
pub fn conflict(a: &[Edit], b: &[Edit]) -> bool {
    a.iter().any(|x| b.iter().any(|y| overlaps(x, y)))
}

/// A fix's edits per file, sorted: the identity of a change (two findings
/// whose fixes have the same key share one change).
type ChangeKey = Vec<(String, Vec<Edit>)>;

fn change_key(fix: &Fix) -> ChangeKey {
    let mut key: ChangeKey = fix
        .changes
        .iter()
        .map(|c| {
            let mut e = c.edits.clone();
            e.sort();
            (c.path.clone(), e)
        })
        .collect();
    key.sort();
    key
}

/// What happened when a fix was offered to [`Accepted`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// Accepted as a change of its own.
    New,
    /// The same change as the accepted fix of this finding: shared.
    Shared(usize),
    /// Conflicts with the accepted fix of this finding, in some file.
    Conflict(usize),
}

/// The fixes accepted so far, indexed so that offering a fix costs
/// O(edits · log n) rather than a scan of everything accepted: per file, the
/// accepted edits ordered by position (they never overlap, so only the
/// neighbours of a new edit can conflict with it). Shared by the planner and
/// the interactive session, which must agree on conflicts.
#[derive(Debug, Default)]
pub struct Accepted {
    by_file: HashMap<String, BTreeMap<(usize, usize), usize>>,
    changes: HashMap<ChangeKey, usize>,
}

impl Accepted {
    /// The owner of an accepted edit that `e` conflicts with in `path`.
    fn conflict_in(&self, path: &str, e: &Edit) -> Option<usize> {
        let index = self.by_file.get(path)?;
        // Accepted edits are disjoint, so ordered by start their ends are
        // ordered too: walk back from the last one starting at or before
        // `e.end` until one ends before `e` starts.
        for (&(start, end), &owner) in index.range(..=(e.end, usize::MAX)).rev() {
            if end < e.start {
                break;
            }
            let a = Edit {
                start,
                end,
                text: String::new(),
            };
            if overlaps(&a, e) {
                return Some(owner);
            }
        }
        None
    }

    /// What offering `fix` would do, without recording it.
    pub fn check(&self, fix: &Fix) -> Offer {
        if let Some(&owner) = self.changes.get(&change_key(fix)) {
            return Offer::Shared(owner);
        }
        for c in &fix.changes {
            for e in &c.edits {
                if let Some(owner) = self.conflict_in(&c.path, e) {
                    return Offer::Conflict(owner);
                }
            }
        }
        Offer::New
    }

    /// Records finding `i`'s fix as accepted (after [`Accepted::check`]
    /// said [`Offer::New`]).
    pub fn add(&mut self, i: usize, fix: &Fix) {
        for c in &fix.changes {
            let index = self.by_file.entry(c.path.clone()).or_default();
            for e in &c.edits {
                index.insert((e.start, e.end), i);
            }
        }
        self.changes.insert(change_key(fix), i);
    }

    /// Offers finding `i`'s fix; records it when it is new.
    pub fn offer(&mut self, i: usize, fix: &Fix) -> Offer {
        let o = self.check(fix);
        if o == Offer::New {
            self.add(i, fix);
        }
        o
    }
}

/// Plans the fixes of the findings for which `accept` says yes.
///
/// A fix is applied all or nothing: when one of its files fails
/// verification, its edits are taken out of its other files too (which are
/// then verified again without it), and it is reported as skipped.
pub fn plan(p: &Project, findings: &[Finding], accept: &dyn Fn(usize, &Finding) -> bool) -> Plan {
    let mut out = Plan::default();
    let mut accepted = Accepted::default();
    // Per file: the fixes (finding indexes) whose change is applied there,
    // and those that share it.
    let mut owners: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut sharers: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, f) in findings.iter().enumerate() {
        let Some(fix) = &f.fix else { continue };
        if !accept(i, f) {
            continue;
        }
        match accepted.offer(i, fix) {
            Offer::New => {
                for path in fix.paths() {
                    owners.entry(path.to_string()).or_default().push(i);
                }
            }
            Offer::Shared(owner) => sharers.entry(owner).or_default().push(i),
            Offer::Conflict(owner) => out.skipped.push(Skipped {
                finding: i,
                reason: format!(
                    "conflicts with the fix for {} at line {}",
                    findings[owner].code, findings[owner].line
                ),
            }),
        }
    }
    // Verify file by file; a failed file withdraws its multi-file fixes from
    // their other files, which are verified again (each file is redone only
    // when its set of fixes changed).
    let mut withdrawn: HashSet<usize> = HashSet::new();
    let mut done: BTreeMap<String, FilePlan> = BTreeMap::new();
    let mut todo: Vec<String> = owners.keys().cloned().collect();
    while !todo.is_empty() {
        let mut newly_withdrawn = Vec::new();
        for path in std::mem::take(&mut todo) {
            let fixes: Vec<usize> = owners[&path]
                .iter()
                .copied()
                .filter(|i| !withdrawn.contains(i))
                .collect();
            let Some(fp) = plan_file(p, findings, &path, &fixes, &sharers) else {
                continue;
            };
            if fp.error.is_some() {
                for &i in &fixes {
                    if findings[i].fix.as_ref().unwrap().changes.len() > 1 {
                        newly_withdrawn.push((i, path.clone()));
                    }
                }
            }
            done.insert(path, fp);
        }
        for (i, failed) in newly_withdrawn {
            if !withdrawn.insert(i) {
                continue;
            }
            out.skipped.push(Skipped {
                finding: i,
                reason: format!("not applied: its change to {failed} failed verification"),
            });
            for other in findings[i].fix.as_ref().unwrap().paths() {
                let failed_there = done.get(other).is_some_and(|fp| fp.error.is_some());
                if other != failed && !failed_there && !todo.iter().any(|t| t == other) {
                    todo.push(other.to_string());
                }
            }
        }
    }
    out.files = done.into_values().collect();
    out
}

/// Applies and verifies the given fixes in one file.
fn plan_file(
    p: &Project,
    findings: &[Finding],
    path: &str,
    fixes: &[usize],
    sharers: &HashMap<usize, Vec<usize>>,
) -> Option<FilePlan> {
    let &file = p.by_rel.get(path)?;
    let src = &p.files[file];
    let mut edits: Vec<Edit> = Vec::new();
    let mut expects: Vec<Expect> = Vec::new();
    let mut fixed = Vec::new();
    let mut seen: HashSet<&Expect> = HashSet::new();
    for &i in fixes {
        let change = findings[i].fix.as_ref().unwrap().change(path).unwrap();
        edits.extend(change.edits.iter().cloned());
        for x in &change.expect {
            if seen.insert(x) {
                expects.push(x.clone());
            }
        }
        fixed.push(i);
        fixed.extend(sharers.get(&i).into_iter().flatten().copied());
    }
    fixed.sort_unstable();
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
    Some(FilePlan {
        path: path.to_string(),
        file,
        edits,
        fixed,
        new_text,
        error,
    })
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
    fn fix(changes: Vec<(&str, Edit)>) -> Fix {
        Fix {
            title: "t".into(),
            safety: crate::finding::Safety::Safe,
            unsafe_reason: None,
            changes: changes
                .into_iter()
                .map(|(p, e)| crate::finding::FileChange {
                    path: p.into(),
                    edits: vec![e],
                    expect: vec![Expect::Reparse],
                })
                .collect(),
        }
    }

    fn ins(at: usize, text: &str) -> Edit {
        Edit {
            start: at,
            end: at,
            text: text.into(),
        }
    }

    #[test]
    fn accepted_index_agrees_with_pairwise_conflicts() {
        // A small LCG: deterministic random edits in one file.
        let mut seed = 42u64;
        let mut next = |m: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % m
        };
        for _ in 0..300 {
            let mut acc = Accepted::default();
            let mut kept: Vec<Vec<Edit>> = Vec::new();
            for i in 0..12 {
                let start = next(40);
                let len = if next(3) == 0 { 0 } else { next(6) };
                let e = vec![Edit {
                    start,
                    end: start + len,
                    text: format!("{i}"),
                }];
                let f = fix(vec![("f", e[0].clone())]);
                let brute = kept.iter().any(|k| conflict(k, &e));
                match acc.offer(i, &f) {
                    Offer::Conflict(_) => assert!(brute, "{e:?} vs {kept:?}"),
                    Offer::New => {
                        assert!(!brute, "{e:?} vs {kept:?}");
                        kept.push(e);
                    }
                    Offer::Shared(_) => unreachable!("texts differ"),
                }
            }
        }
    }

    #[test]
    fn identical_changes_are_shared_across_files() {
        let mut acc = Accepted::default();
        let a = fix(vec![("x", ins(1, "a")), ("y", ins(2, "b"))]);
        assert_eq!(acc.offer(0, &a), Offer::New);
        assert_eq!(acc.offer(1, &a.clone()), Offer::Shared(0));
        // Conflicts in the second file count too.
        let b = fix(vec![("z", ins(0, "c")), ("y", ins(2, "d"))]);
        assert_eq!(acc.offer(2, &b), Offer::Conflict(0));
    }

    #[test]
    fn a_multi_file_fix_is_all_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let compose = "services:\n  app:\n    image: node:20\n";
        std::fs::write(dir.path().join("docker-compose.yml"), compose).unwrap();
        std::fs::write(
            dir.path().join("Dockerfile"),
            "FROM node:20\nCMD [\"node\", \"a.js\"]\n",
        )
        .unwrap();
        let p = Project::load(
            dir.path(),
            crate::config::Config::default(),
            crate::templates::Templates::with_overrides(None).unwrap(),
        );
        let rule = &crate::rules::cmp001_missing_healthcheck::RULE;
        let mut both = rule.finding("Dockerfile", 1, 1, String::new());
        // The compose half breaks the YAML: verification must refuse it,
        // and the Dockerfile half must then not be written either.
        both.fix = Some(fix(vec![
            ("Dockerfile", ins(0, "# from the multi-file fix\n")),
            ("docker-compose.yml", ins(compose.len(), "  bad: [\n")),
        ]));
        let mut alone = rule.finding("Dockerfile", 2, 1, String::new());
        let df_len = "FROM node:20\nCMD [\"node\", \"a.js\"]\n".len();
        alone.fix = Some(fix(vec![("Dockerfile", ins(df_len, "USER node\n"))]));
        let findings = vec![both, alone];
        let plan = plan(&p, &findings, &|_, _| true);
        let compose_plan = plan
            .files
            .iter()
            .find(|f| f.path == "docker-compose.yml")
            .unwrap();
        assert!(compose_plan.error.is_some(), "{plan:?}");
        let df = plan.files.iter().find(|f| f.path == "Dockerfile").unwrap();
        let new = df.new_text.as_deref().unwrap();
        assert!(!new.contains("multi-file"), "half a fix was applied: {new}");
        assert!(
            new.ends_with("USER node\n"),
            "the independent fix stays: {new}"
        );
        assert_eq!(df.fixed, vec![1]);
        assert_eq!(plan.fixed().into_iter().collect::<Vec<_>>(), vec![1]);
        assert!(
            plan.skipped
                .iter()
                .any(|s| s.finding == 0 && s.reason.contains("docker-compose.yml")),
            "{:?}",
            plan.skipped
        );
    }
}
