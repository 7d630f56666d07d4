use crate::finding::{Edit, Expect, FileChange, Finding, Fix, Safety, Severity};
use crate::formats::dockerfile::{parse_text, shell_program, TokenKind};
use crate::project::Project;
use crate::rules::build_chain::copy_parts;
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "DKR015",
    name: "commented-build-step",
    severity: Severity::Critical,
    fix: FixKind::Sometimes(Safety::Unsafe),
    summary: "The Dockerfile's build step is commented out",
    doc: r#"## What it checks
A comment line that is a `RUN` building the app (`# RUN npm run build`,
`# RUN pnpm --filter api build`, `# RUN npx tsc`, `nest build`, `nx
build`, `turbo build`) in a Dockerfile where no other `RUN` builds, while
the image copies a build output (`dist`, `build`, `.next`, `out`).

## Why it breaks production
Commenting the step out "temporarily" makes the build faster and still
green: the output comes from a stale local folder or from nowhere. The
image either fails to build in CI or ships code that does not match the
commit.

## Example
```dockerfile
FROM node:20-alpine AS builder
COPY . .
RUN npm ci
# RUN npm run build
FROM node:20-alpine
COPY --from=builder /app/dist ./dist
```

Fixed:
```dockerfile
FROM node:20-alpine AS builder
COPY . .
RUN npm ci
RUN npm run build
FROM node:20-alpine
COPY --from=builder /app/dist ./dist
```

## Fix (unsafe)
Uncomments the step. Unsafe: it may have been commented out because it
failed, and running it changes the build.
"#,
    check,
};

fn tool(t: &str) -> &str {
    t.rsplit('/').next().unwrap_or(t)
}

/// Whether shell words build the app.
pub fn is_build(words: &[&str]) -> bool {
    let w: Vec<&str> = words
        .iter()
        .copied()
        .filter(|x| !x.starts_with('-'))
        .collect();
    let builds = |x: &str| x == "build" || x.starts_with("build:");
    match w.as_slice() {
        [pm, "run", script, ..] if matches!(tool(pm), "npm" | "pnpm" | "yarn") => builds(script),
        [pm, rest @ ..] if matches!(tool(pm), "pnpm" | "yarn") => rest.iter().any(|x| builds(x)),
        [x, rest @ ..]
            if matches!(tool(x), "npx" | "pnpx")
                || (tool(x) == "pnpm" && rest.first() == Some(&"exec")) =>
        {
            let rest: Vec<&str> = rest.iter().copied().filter(|x| *x != "exec").collect();
            is_build(&rest)
        }
        [t, ..] if tool(t) == "tsc" => true,
        [t, sub, ..] if matches!(tool(t), "nest" | "nx" | "turbo" | "next" | "vite") => builds(sub),
        _ => false,
    }
}

fn run_builds(text: &str, df: &crate::formats::dockerfile::Dockerfile, idx: usize) -> bool {
    let ins = &df.instructions[idx];
    match shell_program(text, ins, df.escape) {
        Some(prog) => prog.commands.iter().any(|c| {
            let w: Vec<&str> = c.words.iter().map(|w| w.text.as_str()).collect();
            is_build(&w)
        }),
        None => false,
    }
}

fn check(p: &Project, out: &mut Vec<Finding>) {
    for (fi, df) in &p.dockerfiles {
        let src = &p.files[*fi];
        let text = &src.text;
        let builds = (0..df.instructions.len())
            .any(|i| df.instructions[i].keyword == "RUN" && run_builds(text, df, i));
        if builds {
            continue;
        }
        let copies_output = df.instructions.iter().any(|i| {
            copy_parts(i).is_some_and(|(srcs, _)| {
                srcs.iter().any(|s| {
                    s.split('/')
                        .any(|seg| matches!(seg, "dist" | "build" | ".next" | "out"))
                })
            })
        });
        if !copies_output {
            continue;
        }
        for tok in df.tokens.iter().filter(|t| t.kind == TokenKind::Comment) {
            let line_text = &text[tok.span.clone()];
            let trimmed = line_text.trim_start();
            let Some(body) = trimmed.strip_prefix('#') else {
                continue;
            };
            let body_trim = body.trim_start();
            if !body_trim
                .get(..4)
                .is_some_and(|k| k.eq_ignore_ascii_case("RUN "))
            {
                continue;
            }
            // Parse the commented text as a one-line Dockerfile.
            let probe = parse_text(&format!("FROM scratch\n{}\n", body_trim.trim_end()));
            let Some(ins) = probe.instructions.get(1) else {
                continue;
            };
            if ins.keyword != "RUN" || ins.args.trim_end().ends_with('\\') {
                continue;
            }
            let probe_text = format!("FROM scratch\n{}\n", body_trim.trim_end());
            if !run_builds(&probe_text, &probe, 1) {
                continue;
            }
            let (line, _) = src.line_col(tok.span.start);
            let mut f = RULE.finding(
                &src.rel,
                line,
                1,
                format!("The build step `{}` is commented out and no other `RUN` builds, yet the image copies a build output: it comes from a stale local folder or from nowhere.", body_trim.trim_end()),
            );
            // Uncomment: drop `#` and the blanks after it, keep the indent.
            let hash = tok.span.start + (line_text.len() - trimmed.len());
            let body_start = hash + 1 + (body.len() - body_trim.len());
            f.fix = Some(Fix {
                title: format!("Uncomment `{}`", body_trim.trim_end()),
                safety: Safety::Unsafe,
                unsafe_reason: Some("it may have been commented out because it failed; running it changes the build".into()),
                changes: vec![FileChange {
                    path: src.rel.clone(),
                    edits: vec![Edit { start: hash, end: body_start, text: String::new() }],
                    expect: vec![Expect::Reparse],
                }],
            });
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_build;

    #[test]
    fn build_commands() {
        for yes in [
            "npm run build",
            "pnpm --filter api build",
            "yarn build",
            "npx tsc -p .",
            "pnpm exec nest build",
            "npm run build:prod",
            "nx build api",
        ] {
            let w: Vec<&str> = yes.split_whitespace().collect();
            assert!(is_build(&w), "{yes}");
        }
        for no in [
            "npm ci",
            "pnpm install",
            "echo build",
            "npm run lint",
            "yarn test",
        ] {
            let w: Vec<&str> = no.split_whitespace().collect();
            assert!(!is_build(&w), "{no}");
        }
    }
}
