use crate::finding::{Edit, Expect, Finding, Fix, Safety, Severity};
use crate::project::Project;
use crate::rules::scope::{cmd_words, entry_scripts, is_prisma_generate};
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "ENT004",
    name: "entrypoint-prisma-generate",
    severity: Severity::High,
    fix: FixKind::Sometimes(Safety::Unsafe),
    summary: "Entrypoint runs `prisma generate` at container start",
    doc: r#"## What it checks
`prisma generate` (bare, through `npx`, `pnpm exec`, `yarn`) in an
entrypoint script.

## Why it breaks production
Generating the client needs the Prisma CLI, the engines and write access to
`node_modules` at start: in a slim, non-root runtime image it fails, or it
downloads engines on every start. The client must be generated in the
builder stage and copied in.

## Example
```sh
#!/bin/sh
set -e
npx prisma generate
exec node dist/main.js
```

Fixed:
```sh
#!/bin/sh
set -e
exec node dist/main.js
```

## Fix (unsafe)
Removes the line when the Dockerfile's builder stage already runs
`prisma generate`. Otherwise no fix; the message says what the builder
must run. Unsafe because it changes what runs at start.
"#,
    check,
};

fn check(p: &Project, out: &mut Vec<Finding>) {
    for ctx in entry_scripts(p) {
        let builder_generates = ctx
            .image
            .and_then(|img| p.dockerfile(&img.dockerfile))
            .is_some_and(|df| {
                let last = df.stages.len().saturating_sub(1);
                df.stages[..last].iter().any(|st| {
                    df.stage_instrs(st).iter().any(|i| {
                        i.keyword == "RUN"
                            && i.args.contains("prisma")
                            && i.args.contains("generate")
                    })
                })
            });
        for c in &ctx.script.commands {
            if !is_prisma_generate(&cmd_words(c)) {
                continue;
            }
            let src = ctx.src;
            let mut f = RULE.finding(
                &src.rel,
                c.line,
                src.line_col(c.span.start).1,
                "`prisma generate` at container start: the client must be generated in the builder stage and copied into the image.".into(),
            );
            let (first, _) = src.line_col(c.stmt_span.start);
            let (last, _) = src.line_col(c.stmt_span.end.saturating_sub(1).max(c.stmt_span.start));
            let whole_lines = src.line_text(first).trim()
                == src.text[c.stmt_span.clone()]
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim()
                && src.line_content_end(last) == c.stmt_span.end;
            if !builder_generates {
                f.no_fix_reason = Some("add `RUN npx prisma generate` (or `pnpm exec prisma generate`) to the builder stage and copy `node_modules/.prisma` into the runtime stage".into());
            } else if !(c.top_level_simple && whole_lines) {
                f.no_fix_reason =
                    Some("the command is part of a larger statement; remove it by hand".into());
            } else {
                f.fix = Some(Fix {
                    title: "Remove the runtime `prisma generate` (the builder stage generates the client)".into(),
                    safety: Safety::Unsafe,
                    unsafe_reason: Some("removes a command the script runs at start".into()),
                    changes: vec![crate::finding::FileChange {
                    path: src.rel.clone(),
                    edits: vec![Edit {
                        start: src.line_start(first),
                        end: src.line_start(last + 1),
                        text: String::new(),
                    }],
                    expect: vec![Expect::Reparse],
                    }],
                });
            }
            out.push(f);
        }
    }
}
