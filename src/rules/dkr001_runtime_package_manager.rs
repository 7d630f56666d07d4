use crate::finding::{Edit, Expect, FileChange, Finding, Fix, Safety, Severity};
use crate::formats::dockerfile::shell_program;
use crate::project::Project;
use crate::rules::package_scripts::resolve_script;
use crate::rules::scope::{cmd_words, images, package_manager};
use crate::rules::scope::{is_wrapper_word, ImageCtx};
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "DKR001",
    name: "runtime-package-manager",
    severity: Severity::Critical,
    fix: FixKind::Sometimes(Safety::Safe),
    summary: "The runtime command needs pnpm/yarn the final stage does not provide",
    doc: r#"## What it checks
The container's command (CMD/ENTRYPOINT of the final stage, or the
entrypoint script it runs) calls `pnpm` or `yarn` while the final stage
never provides them (no `corepack enable`, no `npm i -g pnpm`): critical.
`npm`/`npx` in the runtime command: high.

## Why it breaks production
The build stage had pnpm, so the build succeeds; the slim runtime stage
does not, and the container dies with `pnpm: not found` on start.

## Example
```dockerfile
FROM node:20-alpine
COPY --from=builder /app/dist ./dist
CMD ["pnpm", "start"]
```

Fixed:
```dockerfile
FROM node:20-alpine
RUN apk add --no-cache dumb-init
COPY --from=builder /app/dist ./dist
CMD ["dumb-init", "node", "dist/main.js"]
```

## Fix (safe where the script's command is certain)
`CMD ["pnpm", "start"]` / `npm run start` / `yarn start`: replaced by what
the script runs, read from the `package.json` the runtime stage holds in
its WORKDIR, in exec form (`CMD ["node", "dist/main.js"]`), wrappers such
as `dumb-init` kept. Only when the script is one plain `node` command (no
shell syntax, no tool from `node_modules/.bin`), no `pre`/`post` script
runs with it, the app's code does not read the variables only a script run
sets (`npm_package_version`, `npm_lifecycle_event`, `npm_config_*`), and
CMD and ENTRYPOINT do not combine; otherwise the reason is shown. Through the entrypoint script: the same fixes as ENT003 (and the
Prisma move of DKR002 for `prisma generate`).
"#,
    check,
};

fn check(p: &Project, out: &mut Vec<Finding>) {
    for ctx in images(p) {
        let installs = ctx.installs();
        let provided = |pm: &str| {
            installs
                .iter()
                .any(|i| i == pm || pm.ends_with(&format!(" {i}")))
                // The image table: official node images ship yarn 1 and npm.
                || ctx.has_tool(pm) == Some(true)
        };
        let line = ctx.img.command_line.unwrap_or(ctx.stage.from_line);
        let col = ctx
            .df
            .instructions
            .iter()
            .find(|i| i.line == line)
            .map(|i| ctx.col(i))
            .unwrap_or(1);
        let mut report = |pm: String,
                          sev: Severity,
                          via: String,
                          fix: Option<Result<Fix, String>>| {
            // The image ships it (official node images ship yarn 1): it
            // only runs a script.
            let sev = if sev == Severity::Critical && provided(&pm) {
                Severity::Medium
            } else {
                sev
            };
            let mut f = RULE.finding(
                &ctx.img.dockerfile,
                line,
                col,
                match sev {
                    Severity::Critical => format!("The container runs {pm}{via}, but the final stage does not provide it: `{pm}: not found` at start."),
                    Severity::High => format!("The container runs {pm}{via} at start: it may reach the network and resolve other versions than CI tested."),
                    _ => format!("The container starts through {pm}{via}: {}.", crate::rules::scope::package_manager_message(&pm, sev)),
                },
            );
            f.severity = sev;
            match fix {
                Some(Ok(x)) => f.fix = Some(x),
                Some(Err(why)) => f.no_fix_reason = Some(why),
                None => {}
            }
            out.push(f);
        };
        if let Some((pm, sev)) = package_manager(&ctx.img.command) {
            report(pm, sev, String::new(), Some(command_fix(p, &ctx)));
        }
        if let Some(script) = ctx.img.entry_script.as_deref().and_then(|s| p.script(s)) {
            for c in &script.commands {
                if let Some((pm, sev)) = package_manager(&cmd_words(c)) {
                    let via = format!(
                        " (through {}:{})",
                        ctx.img.entry_script.as_deref().unwrap(),
                        c.line
                    );
                    let last = script.last_statement
                        == script.commands.iter().position(|x| std::ptr::eq(x, c));
                    let fix = crate::rules::ent003_runtime_package_manager::script_command_fix(
                        p,
                        &ctx,
                        ctx.img.entry_script.as_deref().unwrap(),
                        c,
                        last,
                    );
                    report(pm, sev, via, Some(fix));
                }
            }
        }
    }
}

/// The fix for `CMD`/`ENTRYPOINT` that runs a package-manager script: the
/// script's own command, in exec form.
fn command_fix(p: &Project, ctx: &ImageCtx) -> Result<Fix, String> {
    let ep = ctx.df.last_in(ctx.stage, "ENTRYPOINT");
    let cmd = ctx.df.last_in(ctx.stage, "CMD");
    let ins = match (ep, cmd) {
        (Some(_), Some(_)) => {
            return Err("ENTRYPOINT and CMD combine into the command; rewrite it by hand".into())
        }
        (Some(i), None) | (None, Some(i)) => i,
        (None, None) => return Err("no command".into()),
    };
    if !ctx
        .df
        .stage_instrs(ctx.stage)
        .iter()
        .any(|i| std::ptr::eq(i, ins))
    {
        return Err(
            "the command is set in a stage the runtime stage builds on; change it there by hand"
                .into(),
        );
    }
    let words = ins.words();
    if ins.json.is_none() {
        let simple = shell_program(&ctx.src.text, ins, ctx.df.escape).is_some_and(|prog| {
            prog.single
                && prog.commands.iter().all(|c| {
                    !c.assignments && !c.redirects && c.words.iter().all(|w| w.literal && w.bare)
                })
        });
        if !simple {
            return Err(
                "the shell-form command is not a plain word list; rewrite it by hand".into(),
            );
        }
    }
    let pm_at = words
        .iter()
        .position(|w| !is_wrapper_word(w))
        .ok_or("no program in the command")?;
    let prefix: Vec<String> = words[..pm_at]
        .iter()
        .filter(|w| *w != "exec")
        .cloned()
        .collect();
    let run = resolve_script(p, ctx, &words[pm_at..])?;
    let mut new_words = prefix;
    new_words.extend(run);
    let json = serde_json::to_string(&new_words)
        .unwrap()
        .replace("\",\"", "\", \"");
    Ok(Fix {
        title: format!(
            "Run the script's command directly: `{} {json}`",
            ins.keyword
        ),
        safety: Safety::Safe,
        unsafe_reason: None,
        changes: vec![FileChange {
            path: ctx.img.dockerfile.clone(),
            edits: vec![Edit {
                start: ins.args_span.start,
                end: ins.span.end,
                text: format!(" {json}"),
            }],
            expect: vec![Expect::Reparse],
        }],
    })
}
