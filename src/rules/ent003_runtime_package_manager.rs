use crate::finding::{Edit, Expect, FileChange, Finding, Fix, Safety, Severity};
use crate::formats::dockerfile::shell_commands;
use crate::formats::shell::Cmd;
use crate::project::Project;
use crate::rules::dkr001_runtime_package_manager::{resolve_script, runtime_package_json};
use crate::rules::dkr002_runtime_prisma_generate::image_ctx;
use crate::rules::dkr002_runtime_prisma_generate::move_fix_for;
use crate::rules::scope::{cmd_words, entry_scripts, is_prisma_generate, package_manager};
use crate::rules::scope::{is_wrapper_word, ImageCtx};
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "ENT003",
    name: "runtime-package-manager",
    severity: Severity::Critical,
    fix: FixKind::Sometimes(Safety::Safe),
    summary: "Entrypoint runs a package manager at container start",
    doc: r#"## What it checks
A command in an entrypoint script that runs `pnpm`, `yarn` (critical) or
`npm`, `npx` (high) when the container starts, also behind `||`, `&&`,
`if` and in functions. Text in heredoc bodies, strings and comments is not
a command and is not matched.

## Why it breaks production
Runtime images are slimmed: pnpm and yarn are usually not there
(`pnpm: not found`, the container exits at once). Where they are, they may
reach the network, resolve other versions than CI tested, and slow every
start and restart.

## Example
```sh
#!/bin/sh
set -e
pnpm run start
```

## Fix (safe where certain)
- `pnpm start`, `npm run start`, `yarn start` (any script): replaced by
  the command the script runs, from the `package.json` the runtime stage
  holds in its WORKDIR, `exec`ed when it is the script's last statement
  (`exec node dist/main.js`). Only for one plain `node` command with no
  `pre`/`post` script; otherwise the reason is shown.
- `npx prisma ...` (e.g. `migrate deploy`): when prisma is a production
  dependency and the runtime stage has `node_modules` in its WORKDIR, the
  image's own `./node_modules/.bin/prisma`. When it is a devDependency, no
  fix: the message says that `npx` then downloads it at every start and
  that every replica would migrate at once, and recommends a one-shot
  migration service (`depends_on: condition:
  service_completed_successfully`).
- `prisma generate`: the DKR002 move to the build.
See DKR001 for the same problem in CMD/ENTRYPOINT.
"#,
    check,
};

fn check(p: &Project, out: &mut Vec<Finding>) {
    for ctx in entry_scripts(p) {
        let mut prisma_fix: Option<Result<crate::finding::Fix, String>> = None;
        for (ci, c) in ctx.script.commands.iter().enumerate() {
            let words = cmd_words(c);
            if let Some((pm, sev)) = package_manager(&words) {
                let why = if sev == Severity::Critical {
                    format!("runtime images usually lack it (`{pm}: not found`)")
                } else {
                    format!("{pm} may reach the network and resolve other versions than CI tested, on every start")
                };
                let mut f = RULE.finding(
                    &ctx.src.rel,
                    c.line,
                    ctx.src.line_col(c.span.start).1,
                    format!(
                        "`{}` runs {pm} at container start: {why}.",
                        &ctx.src.text[c.span.clone()]
                    ),
                );
                f.severity = sev;
                if is_prisma_generate(&words) {
                    // The same problem as ENT004: the same change.
                    match prisma_fix
                        .get_or_insert_with(|| move_fix_for(p, ctx.image))
                        .clone()
                    {
                        Ok(x) => f.fix = Some(x),
                        Err(why) => f.no_fix_reason = Some(why),
                    }
                } else if let Some(img) = ctx.image.and_then(|i| image_ctx(p, i)) {
                    let last = ctx.script.last_statement == Some(ci);
                    match script_command_fix(p, &img, &ctx.src.rel, c, last) {
                        Ok(x) => f.fix = Some(x),
                        Err(why) => f.no_fix_reason = Some(why),
                    }
                }
                out.push(f);
            }
        }
    }
}

/// The fix for a script command that runs a package-manager script (`pnpm
/// start`): the script's own command in its place, `exec`ed when it is the
/// script's last statement.
pub fn script_start_fix(
    p: &Project,
    ctx: &ImageCtx,
    script_rel: &str,
    c: &Cmd,
    is_last: bool,
) -> Result<Fix, String> {
    let src = p.file(script_rel).ok_or("script not loaded")?;
    let words = cmd_words(c);
    let pm_at = words
        .iter()
        .position(|w| !is_wrapper_word(w))
        .ok_or("no program in the command")?;
    let run = resolve_script(p, ctx, &words[pm_at..])?;
    if !c.top_level_simple {
        return Err("the command is part of a larger statement (a list, pipeline or condition); rewrite it by hand".into());
    }
    let text = &src.text[c.span.clone()];
    let prog = shell_commands(text).ok_or("the command does not parse")?;
    let cmd = prog
        .commands
        .first()
        .filter(|x| prog.commands.len() == 1 && x.words.len() == words.len())
        .ok_or("the command does not parse as one simple command")?;
    if cmd.assignments || cmd.words.iter().any(|w| !w.literal) {
        return Err("the command sets variables or uses expansions; rewrite it by hand".into());
    }
    let start = c.span.start + cmd.words[pm_at].span.start;
    let end = c.span.start + cmd.words.last().unwrap().span.end;
    let mut edits = Vec::new();
    let execed = words[..pm_at].iter().any(|w| w == "exec");
    if is_last && !execed {
        edits.push(Edit {
            start: c.span.start,
            end: c.span.start,
            text: "exec ".into(),
        });
    }
    edits.push(Edit {
        start,
        end,
        text: run.join(" "),
    });
    Ok(Fix {
        title: format!(
            "Run the script's command directly: `{}{}`",
            if is_last && !execed { "exec " } else { "" },
            run.join(" ")
        ),
        safety: Safety::Safe,
        unsafe_reason: None,
        changes: vec![FileChange {
            path: script_rel.to_string(),
            edits,
            expect: vec![Expect::Reparse],
        }],
    })
}

/// `npx prisma <cmd>` at start: the local binary when prisma is a
/// production dependency the runtime stage has in its WORKDIR's
/// node_modules; otherwise why not (a devDependency is downloaded at every
/// start, and every replica would migrate at once).
pub fn npx_prisma_fix(
    p: &Project,
    ctx: &ImageCtx,
    script_rel: &str,
    c: &Cmd,
) -> Result<Fix, String> {
    let words = cmd_words(c);
    let at = words
        .iter()
        .position(|w| !is_wrapper_word(w))
        .ok_or("no program")?;
    let (rel, pj) = runtime_package_json(p, ctx)?;
    let migrate = words.get(at + 2).is_some_and(|w| w == "migrate");
    if !pj.is_prod_dep("prisma") {
        let mut why = format!(
            "prisma is not a production dependency of {rel}: a production install leaves it out, and then `npx` downloads it at every start (network, an unpinned version)"
        );
        if migrate {
            why.push_str(", and every replica runs the migration at once. Run `prisma migrate deploy` once, in a one-shot compose service the app waits for (`depends_on: {migrate: {condition: service_completed_successfully}}`), built from the builder stage that has the CLI");
        }
        return Err(why);
    }
    let wd = crate::graph::workdir(ctx.df, ctx.stage);
    let nm = format!("{}/node_modules", wd.trim_end_matches('/'));
    let mut has_nm = false;
    let mut cur = String::from("/");
    for s in ctx.df.lineage(ctx.stage).into_iter().rev() {
        for ins in ctx.df.stage_instrs(s) {
            if ins.keyword == "WORKDIR" {
                cur = crate::graph::container_path(&cur, ins.rest.trim());
            }
            if let Some((_, dest)) = crate::rules::build_chain::copy_parts(ins) {
                if crate::graph::container_path(&cur, &dest).trim_end_matches('/') == nm {
                    has_nm = true;
                }
            }
        }
    }
    if !has_nm {
        return Err(format!("the runtime stage copies no node_modules into {wd}; prodsafe cannot tell where the prisma binary is"));
    }
    let src = p.file(script_rel).ok_or("script not loaded")?;
    let prog = shell_commands(&src.text[c.span.clone()]).ok_or("the command does not parse")?;
    let cmd = prog
        .commands
        .first()
        .filter(|x| prog.commands.len() == 1 && x.words.len() == words.len())
        .ok_or("the command does not parse as one simple command")?;
    if !cmd.words[at].bare || !cmd.words[at + 1].bare {
        return Err("quoted words; rewrite the command by hand".into());
    }
    Ok(Fix {
        title: "Call the image's own prisma binary (`./node_modules/.bin/prisma`) instead of npx"
            .into(),
        safety: Safety::Safe,
        unsafe_reason: None,
        changes: vec![FileChange {
            path: script_rel.to_string(),
            edits: vec![Edit {
                start: c.span.start + cmd.words[at].span.start,
                end: c.span.start + cmd.words[at + 1].span.end,
                text: "./node_modules/.bin/prisma".into(),
            }],
            expect: vec![Expect::Reparse],
        }],
    })
}

/// The fix for a package-manager command an entrypoint script runs at
/// start (shared with DKR001, which reports it on the Dockerfile).
pub fn script_command_fix(
    p: &Project,
    ctx: &ImageCtx,
    script_rel: &str,
    c: &Cmd,
    is_last: bool,
) -> Result<Fix, String> {
    let words = cmd_words(c);
    if is_prisma_generate(&words) {
        return crate::rules::dkr002_runtime_prisma_generate::move_to_build(p, ctx);
    }
    let at = words.iter().position(|w| !is_wrapper_word(w));
    let npx_prisma =
        at.is_some_and(|i| words[i] == "npx" && words.get(i + 1).is_some_and(|w| w == "prisma"));
    if npx_prisma {
        npx_prisma_fix(p, ctx, script_rel, c)
    } else {
        script_start_fix(p, ctx, script_rel, c, is_last)
    }
}
