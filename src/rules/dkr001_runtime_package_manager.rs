use crate::finding::{Finding, Severity};
use crate::project::Project;
use crate::rules::scope::{cmd_words, images, package_manager};
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "DKR001",
    name: "runtime-package-manager",
    severity: Severity::Critical,
    fix: FixKind::None,
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

## Fix
None automatic: run the artifact directly, e.g.
`CMD ["dumb-init", "node", "dist/main.js"]`.
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
        };
        let line = ctx.img.command_line.unwrap_or(ctx.stage.from_line);
        let col = ctx
            .df
            .instructions
            .iter()
            .find(|i| i.line == line)
            .map(|i| ctx.col(i))
            .unwrap_or(1);
        let mut report = |pm: String, sev: Severity, via: String| {
            if sev == Severity::Critical && provided(&pm) {
                return;
            }
            let mut f = RULE.finding(
                &ctx.img.dockerfile,
                line,
                col,
                if sev == Severity::Critical {
                    format!("The container runs {pm}{via}, but the final stage does not provide it: `{pm}: not found` at start.")
                } else {
                    format!("The container runs {pm}{via} at start: it may reach the network and resolve other versions than CI tested.")
                },
            );
            f.severity = sev;
            out.push(f);
        };
        if let Some((pm, sev)) = package_manager(&ctx.img.command) {
            report(pm, sev, String::new());
        }
        if let Some(script) = ctx.img.entry_script.as_deref().and_then(|s| p.script(s)) {
            for c in &script.commands {
                if let Some((pm, sev)) = package_manager(&cmd_words(c)) {
                    let via = format!(
                        " (through {}:{})",
                        ctx.img.entry_script.as_deref().unwrap(),
                        c.line
                    );
                    report(pm, sev, via);
                }
            }
        }
    }
}
