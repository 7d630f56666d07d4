use crate::finding::{Finding, Severity};
use crate::project::Project;
use crate::rules::scope::{cmd_words, entry_scripts, package_manager};
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "ENT003",
    name: "entrypoint-package-manager",
    severity: Severity::Critical,
    fix: FixKind::None,
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

Fixed:
```sh
#!/bin/sh
set -e
exec node dist/main.js
```

## Fix
None automatic: run the built artifact directly (`exec node dist/main.js`)
and do install/build work in the Dockerfile's builder stage. See DKR001 for
the same problem in CMD/ENTRYPOINT.
"#,
    check,
};

fn check(p: &Project, out: &mut Vec<Finding>) {
    for ctx in entry_scripts(p) {
        for c in &ctx.script.commands {
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
                out.push(f);
            }
        }
    }
}
