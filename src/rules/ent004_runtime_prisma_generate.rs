use crate::finding::{Finding, Safety, Severity};
use crate::project::Project;
use crate::rules::dkr002_runtime_prisma_generate::move_fix_for;
use crate::rules::scope::{cmd_words, entry_scripts, is_prisma_generate};
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "ENT004",
    name: "entrypoint-prisma-generate",
    severity: Severity::High,
    fix: FixKind::Sometimes(Safety::Safe),
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

## Fix
The same change as DKR002, across the Dockerfile and this script: the
build stage that installs the dependencies and has the schema runs
`prisma generate --schema=...` (unless a build step already generates),
the client is copied into the runtime stage when no `COPY --from` carries
it, and this line goes. Safe when that chain is certain, unsafe with the
reason otherwise; none when the command is part of a larger statement or
no build stage fits (the reason is shown).
"#,
    check,
};

fn check(p: &Project, out: &mut Vec<Finding>) {
    for ctx in entry_scripts(p) {
        let mut fix: Option<Result<crate::finding::Fix, String>> = None;
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
            match fix
                .get_or_insert_with(|| move_fix_for(p, ctx.image))
                .clone()
            {
                Ok(x) => f.fix = Some(x),
                Err(why) => f.no_fix_reason = Some(why),
            }
            out.push(f);
        }
    }
}
