use crate::finding::{Edit, Expect, FileChange, Finding, Fix, Safety, Severity};
use crate::formats::dockerfile::shell_commands;
use crate::project::{join, parent, Project};
use crate::rules::scope::{cmd_words, entry_scripts, images};
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "ENT009",
    name: "prisma-dev-migration",
    severity: Severity::Critical,
    fix: FixKind::Sometimes(Safety::Safe),
    summary: "`prisma migrate dev` or `prisma db push` when the container starts",
    doc: r#"## What it checks
`prisma migrate dev` or `prisma db push` (bare, through `npx`, `pnpm
exec`, `yarn`) in an entrypoint script or in the container's
CMD/ENTRYPOINT.

## Why it breaks production
`migrate dev` is a development command: it needs a shadow database,
prompts (and fails without a terminal) when it wants to reset, and may drop
data; `db push` applies the schema without migrations and refuses, or with
`--accept-data-loss` drops columns, on a schema change. Every replica runs
it at start, at once.

## Example
```sh
#!/bin/sh
npx prisma migrate dev
exec node dist/main.js
```

Fixed:
```sh
#!/bin/sh
npx prisma migrate deploy
exec node dist/main.js
```

## Fix (safe where certain)
`migrate dev` becomes `migrate deploy` (which only applies the committed
migrations) when the repository has a `migrations` folder next to the
schema and the command has no options `migrate deploy` lacks. `db push`
has no automatic fix: adopt migrations (`prisma migrate dev` locally,
commit `prisma/migrations`, run `prisma migrate deploy`), ideally in a
one-shot service.
"#,
    check,
};

/// Index of `migrate`/`db` after `prisma` when the words run `migrate dev`
/// or `db push`.
fn dev_migration(words: &[String]) -> Option<(usize, &'static str)> {
    let i = words
        .iter()
        .position(|w| w == "prisma" || w.ends_with("/prisma"))?;
    match (
        words.get(i + 1)?.as_str(),
        words.get(i + 2).map(String::as_str),
    ) {
        ("migrate", Some("dev")) => Some((i + 1, "migrate dev")),
        ("db", Some("push")) => Some((i + 1, "db push")),
        _ => None,
    }
}

/// `--schema=X` / `--schema X` only: what `migrate deploy` also takes.
fn only_schema_options(rest: &[String]) -> bool {
    let mut i = 0;
    while i < rest.len() {
        if rest[i].starts_with("--schema=") {
            i += 1;
        } else if rest[i] == "--schema" && i + 1 < rest.len() {
            i += 2;
        } else {
            return false;
        }
    }
    true
}

fn has_migrations(p: &Project, schemas: &[String]) -> bool {
    schemas
        .iter()
        .any(|s| join(parent(s), "migrations").is_some_and(|m| p.all_dirs.contains(&m)))
}

fn check(p: &Project, out: &mut Vec<Finding>) {
    let schemas_of = |services: &[usize]| -> Vec<String> {
        services
            .iter()
            .filter_map(|&i| p.graph.services[i].prisma.clone())
            .collect()
    };
    for ctx in entry_scripts(p) {
        let schemas = ctx
            .image
            .map(|img| schemas_of(&img.services))
            .unwrap_or_default();
        for c in &ctx.script.commands {
            let words = cmd_words(c);
            let Some((at, what)) = dev_migration(&words) else {
                continue;
            };
            let mut f = RULE.finding(
                &ctx.src.rel,
                c.line,
                ctx.src.line_col(c.span.start).1,
                format!("`prisma {what}` at container start: a development command that may reset or drop data, needs a shadow database or a terminal, and runs in every replica at once."),
            );
            if what == "db push" {
                f.no_fix_reason = Some("adopt migrations (commit prisma/migrations) and run `prisma migrate deploy`, ideally in a one-shot service".into());
            } else if !has_migrations(p, &schemas) {
                f.no_fix_reason = Some("no `migrations` folder next to the schema: `migrate deploy` would apply nothing; create and commit the migrations first".into());
            } else if !only_schema_options(&words[at + 2..]) {
                f.no_fix_reason =
                    Some("options `migrate deploy` does not take; change it by hand".into());
            } else {
                let text = &ctx.src.text[c.span.clone()];
                let words_at = shell_commands(text).and_then(|prog| {
                    let cmd = prog.commands.into_iter().next()?;
                    (cmd.words.len() == words.len()).then_some(cmd)
                });
                match words_at {
                    Some(cmd) if cmd.words[at + 1].bare => {
                        let w = &cmd.words[at + 1];
                        f.fix = Some(Fix {
                            title: "Use `prisma migrate deploy` (applies the committed migrations only)".into(),
                            safety: Safety::Safe,
                            unsafe_reason: None,
                            changes: vec![FileChange {
                                path: ctx.src.rel.clone(),
                                edits: vec![Edit {
                                    start: c.span.start + w.span.start,
                                    end: c.span.start + w.span.end,
                                    text: "deploy".into(),
                                }],
                                expect: vec![Expect::Reparse],
                            }],
                        });
                    }
                    _ => {
                        f.no_fix_reason = Some("the command uses quoting; change it by hand".into())
                    }
                }
            }
            out.push(f);
        }
    }
    for ctx in images(p) {
        if let Some((_, what)) = dev_migration(&ctx.img.command) {
            let line = ctx.img.command_line.unwrap_or(ctx.stage.from_line);
            let mut f = RULE.finding(
                &ctx.img.dockerfile,
                line,
                1,
                format!("The container command runs `prisma {what}` at start: a development command that may reset or drop data and runs in every replica at once."),
            );
            f.no_fix_reason = Some("run `prisma migrate deploy` (committed migrations) in a one-shot service instead; change the command by hand".into());
            out.push(f);
        }
    }
}
