use std::collections::BTreeMap;

use crate::finding::{Finding, Severity};
use crate::project::Project;
use crate::rules::scope::images;
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "DKR005",
    name: "unpinned-package-manager",
    severity: Severity::Low,
    fix: FixKind::None,
    summary: "Package manager version not pinned, or different across Dockerfiles",
    doc: r#"## What it checks
`corepack prepare pnpm@latest` or with no version, `npm i -g pnpm` (or
yarn) without a version, and pinned versions that differ between the
repo's Dockerfiles.

## Why it breaks production
A new major of pnpm changes the lockfile format or install behaviour: the
same commit builds differently tomorrow, or `--frozen-lockfile` starts
failing. Different versions across services mean one lockfile is read by
several package managers.

## Example
```dockerfile
RUN corepack enable && corepack prepare pnpm@latest --activate
```

Fixed:
```dockerfile
RUN corepack enable && corepack prepare pnpm@9.12.3 --activate
```

## Fix
None automatic: pin the version the repo uses (`packageManager` in
package.json), e.g. `corepack prepare pnpm@9.12.3 --activate`.
"#,
    check,
};

fn re() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"(?:corepack[ \t]+prepare|npm[ \t]+(?:i|install)[ \t]+(?:-g|--global))[ \t]+(pnpm|yarn)(@[^\s&;|]*)?").unwrap()
    })
}

fn check(p: &Project, out: &mut Vec<Finding>) {
    // (dockerfile, line, col, tool, version)
    let mut seen: Vec<(String, usize, usize, String, Option<String>)> = Vec::new();
    for ctx in images(p) {
        for ins in ctx.df.instructions.iter().filter(|i| i.keyword == "RUN") {
            let text = &ctx.src.text[ins.span.clone()];
            for m in re().captures_iter(text) {
                let (line, col) = ctx.src.line_col(ins.span.start + m.get(0).unwrap().start());
                let version = m
                    .get(2)
                    .map(|v| v.as_str().trim_start_matches('@').to_string());
                seen.push((
                    ctx.img.dockerfile.clone(),
                    line,
                    col,
                    m[1].to_string(),
                    version,
                ));
            }
        }
    }
    let mut counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for (_, _, _, tool, v) in &seen {
        if let Some(v) = v.as_deref().filter(|v| *v != "latest" && !v.is_empty()) {
            *counts.entry((tool.as_str(), v)).or_default() += 1;
        }
    }
    for (file, line, col, tool, v) in &seen {
        let msg = match v.as_deref() {
            None | Some("") => {
                format!("`{tool}` without a version: every build may get a different release.")
            }
            Some("latest") => format!("`{tool}@latest`: every build may get a different release."),
            Some(v) => {
                let top = counts
                    .iter()
                    .filter(|((t, _), _)| t == tool)
                    .max_by_key(|(_, n)| **n)
                    .map(|((_, ver), n)| (*ver, *n));
                match top {
                    Some((best, n)) if best != v && n > counts[&(tool.as_str(), v)] => {
                        format!("`{tool}@{v}` here, `{tool}@{best}` in the repo's other Dockerfiles: pin one version.")
                    }
                    _ => continue,
                }
            }
        };
        out.push(RULE.finding(file, *line, *col, msg));
    }
}
