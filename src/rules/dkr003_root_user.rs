use crate::finding::{Expect, Finding, Fix, Safety, Severity};
use crate::images::{self, Distro};
use crate::project::Project;
use crate::rules::scope::images as all_images;
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "DKR003",
    name: "root-user",
    severity: Severity::High,
    fix: FixKind::Sometimes(Safety::Unsafe),
    summary: "The runtime image runs as root",
    doc: r#"## What it checks
The final stage has no `USER`, or its last `USER` is `root` / `0`.

## Why it breaks production
A compromised or buggy process owns the whole container filesystem (and
more where the runtime is misconfigured); many platforms (OpenShift,
restricted Kubernetes pod security) refuse to run root containers at all,
so the image that worked in CI fails to schedule.

## Example
```dockerfile
FROM node:20-alpine
COPY --from=builder /app/dist ./dist
CMD ["node", "dist/main.js"]
```

Fixed:
```dockerfile
FROM node:20-alpine
COPY --from=builder /app/dist ./dist
USER node
CMD ["node", "dist/main.js"]
```

## Evidence
The user fact comes from the stage that runs (compose `build.target`, else
the last stage) and the stages it builds on; with no `USER`, from the base
image's default in the image table. `nginx` and `caddy` images cannot start
as non-root (they write their cache and pid as root and bind port 80): for
them the finding names the unprivileged variant
(`nginxinc/nginx-unprivileged`) and no `USER` is ever inserted.

## Fix (unsafe)
Inserts before CMD/ENTRYPOINT: `USER node` on official node images,
`USER nonroot` on distroless; otherwise creates a user as the seed audit
did (`addgroup -S` / `adduser -S` on alpine, `groupadd` / `useradd` on
Debian) and switches to it. Unsafe: files the process writes must be owned
by that user (`COPY --chown`).
"#,
    check,
};

fn check(p: &Project, out: &mut Vec<Finding>) {
    for ctx in all_images(p) {
        let last_user = ctx
            .runtime_instrs()
            .into_iter()
            .rev()
            .find(|i| i.keyword == "USER");
        let root = match last_user {
            None => true,
            Some(u) => {
                let name = u.rest.trim().split(':').next().unwrap_or("");
                name == "root" || name == "0"
            }
        };
        if !root {
            continue;
        }
        let base = &ctx.img.base;
        // nginx / caddy cannot start as non-root: a USER line would break
        // them. Point at the unprivileged variant instead.
        if let Some(variant) = images::non_root_blocker(base) {
            let (line, col) = match last_user {
                Some(u) => (u.line, ctx.col(u)),
                None => (ctx.stage.from_line, 1),
            };
            let advice = match variant {
                Some(v) => format!("use `{v}` (same configuration, runs as non-root on port 8080)"),
                None => "run it as non-root only after giving that user its data and config folders and a port above 1024".to_string(),
            };
            let mut f = RULE.finding(
                &ctx.img.dockerfile,
                line,
                col,
                format!("The runtime image `{base}` runs as root and cannot simply switch user (it writes its cache and pid as root): {advice}."),
            );
            f.no_fix_reason = Some(format!(
                "`{base}` cannot start as non-root; adding `USER` would break it"
            ));
            out.push(f);
            continue;
        }
        let at_ins = ctx
            .df
            .stage_instrs(ctx.stage)
            .iter()
            .find(|i| matches!(i.keyword.as_str(), "CMD" | "ENTRYPOINT"));
        let (line, col) = match last_user {
            Some(u) => (u.line, ctx.col(u)),
            None => (ctx.stage.from_line, 1),
        };
        let mut f = RULE.finding(
            &ctx.img.dockerfile,
            line,
            col,
            "The runtime image runs as root: add a non-root `USER` before the command.".into(),
        );
        let eol = ctx.src.eol.as_str();
        let text = match (images::non_root_user(base), images::distro(base)) {
            (Some(u), _) => Some(format!("USER {u}{eol}")),
            (None, Distro::Alpine) => Some(format!("RUN addgroup -S app && adduser -S app -G app{eol}USER app{eol}")),
            (None, Distro::Debian | Distro::Slim) => Some(format!("RUN groupadd --system app && useradd --system --gid app --no-create-home app{eol}USER app{eol}")),
            _ => None,
        };
        match (text, last_user) {
            (Some(text), None) => {
                let at = match at_ins {
                    Some(i) => ctx.src.line_start(i.line),
                    None => ctx.src.text.len(),
                };
                f.fix = Some(Fix {
                    title: "Switch to a non-root user before the command".into(),
                    safety: Safety::Unsafe,
                    unsafe_reason: Some(
                        "files the process writes at run time must belong to the new user".into(),
                    ),
                    changes: vec![crate::finding::FileChange {
                        path: ctx.img.dockerfile.clone(),
                        edits: vec![crate::edit::insert_lines(ctx.src, at, &text)],
                        expect: vec![Expect::Reparse],
                    }],
                });
            }
            (Some(_), Some(_)) => {
                f.no_fix_reason =
                    Some("an explicit `USER root` is left for a person to change".into())
            }
            (None, _) => {
                f.no_fix_reason = Some(format!("no known way to create a user on `{base}`"))
            }
        }
        out.push(f);
    }
}
