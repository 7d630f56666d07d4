use crate::finding::{Finding, Severity};
use crate::graph::{container_path, workdir};
use crate::project::Project;
use crate::rules::scope::{cmd_words, images, is_wrapper_word, ImageCtx};
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "DKR006",
    name: "missing-artifact",
    severity: Severity::Critical,
    fix: FixKind::None,
    summary: "The command runs a file the final stage never copies or builds",
    doc: r#"## What it checks
A file the container's command runs (`dist/main.js`, `./entrypoint.sh`,
also the `node` target in the entrypoint script's last command), resolved
against the final stage's WORKDIR, that no `COPY`/`ADD` of the final stage
(or the stages it builds on) puts there and no `RUN` there builds.

The stage checked is the one that runs: compose `build.target` when a service sets it, else the last stage.

## Why it breaks production
The build succeeds: nothing checks that the command's file exists. The
container exits at once with `Cannot find module '/app/dist/main.js'` or
`exec ./entrypoint.sh: no such file or directory`.

## Example
```dockerfile
FROM node:20-alpine
WORKDIR /app
COPY package.json ./
CMD ["node", "dist/main.js"]
```

Fixed:
```dockerfile
FROM node:20-alpine
WORKDIR /app
COPY package.json ./
COPY --from=builder /app/dist ./dist
CMD ["node", "dist/main.js"]
```

## Fix
None automatic: copy the artifact from the builder
(`COPY --from=builder /app/dist ./dist`) or fix the path in the command.
"#,
    check,
};

/// Path-like words a command runs.
fn run_targets(words: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut after_node = false;
    for w in words.iter().filter(|w| !is_wrapper_word(w)) {
        if w.starts_with('-') {
            continue;
        }
        let base = w.rsplit('/').next().unwrap_or(w);
        if base == "node" {
            after_node = true;
            continue;
        }
        let pathy = w.ends_with(".js")
            || w.ends_with(".mjs")
            || w.ends_with(".cjs")
            || w.ends_with(".sh")
            || w.starts_with("./");
        if (after_node || pathy) && !w.contains('$') && !w.contains("://") {
            out.push(w.clone());
        }
        after_node = false;
    }
    out
}

fn covered(ctx: &ImageCtx, target: &str) -> bool {
    let mut wd = String::from("/");
    for ins in ctx.runtime_instrs() {
        match ins.keyword.as_str() {
            "WORKDIR" => wd = container_path(&wd, ins.rest.trim()),
            "COPY" | "ADD" => {
                let words = ins.words();
                let Some(dest) = words.last() else { continue };
                let dest_abs = container_path(&wd, dest);
                let srcs = &words[..words.len() - 1];
                let names_match = srcs.iter().any(|s| {
                    let name = s.trim_end_matches('/').rsplit('/').next().unwrap_or(s);
                    format!("{}/{}", dest_abs.trim_end_matches('/'), name) == target
                });
                if target == dest_abs
                    || target.starts_with(&format!("{}/", dest_abs.trim_end_matches('/')))
                    || names_match
                {
                    return true;
                }
            }
            "RUN" => {
                let a = &ins.args;
                if [
                    "build", "tsc", "webpack", "esbuild", "next ", "nest ", "ln -s", "cp ", "mv ",
                ]
                .iter()
                .any(|k| a.contains(k))
                {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

fn check(p: &Project, out: &mut Vec<Finding>) {
    for ctx in images(p) {
        let wd = workdir(ctx.df, ctx.stage);
        let line = ctx.img.command_line.unwrap_or(ctx.stage.from_line);
        let mut reported = Vec::new();
        let mut report = |word: &str, via: String, out: &mut Vec<Finding>| {
            let target = container_path(&wd, word);
            if reported.contains(&target) || covered(&ctx, &target) {
                return;
            }
            reported.push(target.clone());
            out.push(RULE.finding(
                &ctx.img.dockerfile,
                line,
                1,
                format!("The container runs `{word}` (`{target}`{via}), which the final stage never copies or builds: it fails at start."),
            ));
        };
        for w in run_targets(&ctx.img.command) {
            report(&w, String::new(), out);
        }
        if let Some(script) = ctx.img.entry_script.as_deref().and_then(|s| p.script(s)) {
            if let Some(i) = script.last_statement {
                let c = &script.commands[i];
                for w in run_targets(&cmd_words(c)) {
                    report(
                        &w,
                        format!(
                            ", from {}:{}",
                            ctx.img.entry_script.as_deref().unwrap(),
                            c.line
                        ),
                        out,
                    );
                }
            }
        }
    }
}
