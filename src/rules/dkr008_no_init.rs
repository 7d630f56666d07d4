use crate::finding::{Finding, Severity};
use crate::images;
use crate::project::Project;
use crate::rules::scope::{cmd_words, images as all_images};
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "DKR008",
    name: "no-init",
    severity: Severity::Low,
    fix: FixKind::None,
    summary: "Node runs as PID 1 without an init",
    doc: r#"## What it checks
A Node image whose process ends up as PID 1 (`CMD ["node", ...]`, or an
entrypoint script that `exec`s node) with no `dumb-init`/`tini` in front
and no `init: true` on the compose services running it.

The stage checked is the one that runs: compose `build.target` when a service sets it, else the last stage.

## Why it breaks production
As PID 1, Node gets no default signal handlers: SIGTERM is ignored unless
the app handles it, so every stop waits for the 10-second SIGKILL; zombie
child processes are never reaped.

## Example
```dockerfile
FROM node:20-alpine
CMD ["node", "dist/main.js"]
```

Fixed:
```dockerfile
FROM node:20-alpine
RUN apk add --no-cache dumb-init
ENTRYPOINT ["dumb-init", "--"]
CMD ["node", "dist/main.js"]
```

## Fix
None automatic: `apk add --no-cache dumb-init` and
`ENTRYPOINT ["dumb-init", "--"]`, or `init: true` in compose.
"#,
    check,
};

fn has_init(words: &[String]) -> bool {
    words.iter().any(|w| {
        matches!(
            w.rsplit('/').next().unwrap_or(w),
            "dumb-init" | "tini" | "tini-static"
        )
    })
}

fn check(p: &Project, out: &mut Vec<Finding>) {
    for ctx in all_images(p) {
        if !images::is_node(&ctx.img.base) || has_init(&ctx.img.command) {
            continue;
        }
        if !ctx.img.services.is_empty()
            && ctx.img.services.iter().all(|&i| {
                let s = &p.graph.services[i];
                p.compose[s.compose].services[s.index].init == Some(true)
            })
        {
            continue;
        }
        let direct = ctx
            .img
            .command
            .first()
            .is_some_and(|w| w == "node" || w.ends_with("/node"));
        let via_script = ctx
            .img
            .entry_script
            .as_deref()
            .and_then(|s| p.script(s))
            .and_then(|s| {
                let c = &s.commands[s.last_statement?];
                let w = cmd_words(c);
                (w.first().is_some_and(|x| x == "exec")
                    && w.get(1).is_some_and(|x| x == "node")
                    && !has_init(&w))
                .then_some(())
            });
        if direct || via_script.is_some() {
            out.push(RULE.finding(
                &ctx.img.dockerfile,
                ctx.img.command_line.unwrap_or(1),
                1,
                "Node runs as PID 1 without dumb-init/tini: SIGTERM is ignored and zombies are not reaped.".into(),
            ));
        }
    }
}
