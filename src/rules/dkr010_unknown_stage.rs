use crate::finding::{Finding, Severity};
use crate::project::Project;
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "DKR010",
    name: "unknown-stage",
    severity: Severity::Critical,
    fix: FixKind::None,
    summary: "`COPY --from=X` names no earlier stage and no image",
    doc: r#"## What it checks
`COPY --from=X` where `X` is not the name or index of an earlier stage and
does not look like an image reference (no `/`, `:`, `.` or `@`).

## Why it breaks production
Docker treats an unknown name as an image and tries to pull `docker.io/library/X`:
the build fails in CI, or worse, a public image of that name exists and its
files end up in your runtime image.

## Example
```dockerfile
FROM node:20-alpine AS build
RUN pnpm build
FROM node:20-alpine
COPY --from=builder /app/dist ./dist
```

Fixed:
```dockerfile
FROM node:20-alpine AS build
RUN pnpm build
FROM node:20-alpine
COPY --from=build /app/dist ./dist
```

## Fix
None automatic: use the stage's real name (`AS builder` ... `--from=builder`).
"#,
    check,
};

fn check(p: &Project, out: &mut Vec<Finding>) {
    for (fi, df) in &p.dockerfiles {
        let src = &p.files[*fi];
        for st in &df.stages {
            for ins in df.stage_instrs(st) {
                let Some(from) = ins.flag("from") else {
                    continue;
                };
                if from.contains(['/', ':', '.', '@', '$']) {
                    continue;
                }
                let earlier = &df.stages[..st.index];
                let known = earlier.iter().any(|s| {
                    s.name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(from))
                }) || from.parse::<usize>().is_ok_and(|i| i < st.index);
                if !known {
                    let names: Vec<&str> =
                        earlier.iter().filter_map(|s| s.name.as_deref()).collect();
                    out.push(RULE.finding(
                        &src.rel,
                        ins.line,
                        src.line_col(ins.span.start).1,
                        format!(
                            "`--from={from}` names no earlier stage{}: Docker will try to pull an image called `{from}`.",
                            if names.is_empty() { String::new() } else { format!(" (stages: {})", names.join(", ")) }
                        ),
                    ));
                }
            }
        }
    }
}
