//! Inline suppressions: `# prodsafe: ignore[CMP001] reason` (YAML,
//! Dockerfiles, shell, nginx) or `// prodsafe: ignore[APP001] reason`
//! (TypeScript/JavaScript), trailing on the finding's line or alone on the
//! line above it. For a finding on a script's shebang line, the line below
//! the shebang also counts.

use crate::finding::Finding;
use crate::project::Project;

#[derive(Debug, Clone)]
pub struct Suppression {
    pub path: String,
    /// Line of the comment.
    pub line: usize,
    /// Lines the comment applies to.
    pub targets: Vec<usize>,
    pub codes: Vec<String>,
    pub reason: Option<String>,
}

fn re() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"(?:#|//)\s*prodsafe:\s*ignore\[([^\]]*)\][ \t]*(.*)$").unwrap()
    })
}

/// Every suppression comment in the project's files.
pub fn collect(p: &Project) -> Vec<Suppression> {
    let mut out = Vec::new();
    for f in &p.files {
        if !f.text.contains("prodsafe:") {
            continue;
        }
        let shebang = f.text.starts_with("#!");
        for (i, line) in f.text.lines().enumerate() {
            let Some(c) = re().captures(line) else {
                continue;
            };
            let ln = i + 1;
            let before = &line[..c.get(0).unwrap().start()];
            let trailing = !before.trim().is_empty();
            let targets = if trailing {
                vec![ln]
            } else if shebang && ln == 2 {
                vec![1, 3]
            } else {
                vec![ln + 1]
            };
            let reason = c[2].trim().trim_end_matches('\r').trim();
            out.push(Suppression {
                path: f.rel.clone(),
                line: ln,
                targets,
                codes: c[1]
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect(),
                reason: (!reason.is_empty()).then(|| reason.to_string()),
            });
        }
    }
    out
}

fn covers(s: &Suppression, f: &Finding) -> bool {
    s.path == f.path
        && s.targets.contains(&f.line)
        && s.codes
            .iter()
            .any(|c| c.eq_ignore_ascii_case(f.code) || c == f.name || c.eq_ignore_ascii_case("ALL"))
}

pub struct Filtered {
    pub kept: Vec<Finding>,
    pub suppressed: usize,
    pub unused: Vec<Suppression>,
    pub without_reason: Vec<Suppression>,
}

/// Drops suppressed findings; reports suppressions that matched nothing.
pub fn filter(p: &Project, findings: Vec<Finding>) -> Filtered {
    let sups = collect(p);
    let mut used = vec![false; sups.len()];
    let mut kept = Vec::new();
    let mut suppressed = 0;
    for f in findings {
        let mut hit = false;
        for (i, s) in sups.iter().enumerate() {
            if covers(s, &f) {
                used[i] = true;
                hit = true;
            }
        }
        if hit {
            suppressed += 1;
        } else {
            kept.push(f);
        }
    }
    let without_reason = sups
        .iter()
        .filter(|s| s.reason.is_none())
        .cloned()
        .collect();
    let unused = sups
        .into_iter()
        .zip(used)
        .filter(|(_, u)| !u)
        .map(|(s, _)| s)
        .collect();
    Filtered {
        kept,
        suppressed,
        unused,
        without_reason,
    }
}
