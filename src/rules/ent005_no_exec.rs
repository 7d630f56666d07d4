use crate::finding::{Edit, Expect, Finding, Fix, Safety, Severity};
use crate::formats::shell::is_long_running;
use crate::project::Project;
use crate::rules::scope::entry_scripts;
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "ENT005",
    name: "no-exec",
    severity: Severity::Medium,
    fix: FixKind::Sometimes(Safety::Safe),
    summary: "Entrypoint's final command is not `exec`ed",
    doc: r#"## What it checks
The last statement of an entrypoint script starts the long-running process
without `exec`.

## Why it breaks production
The shell stays PID 1 and the service runs as its child. `docker stop`
sends SIGTERM to the shell, which does not forward it: the service never
shuts down gracefully, in-flight requests are cut when SIGKILL arrives 10
seconds later, and every deploy is slower.

## Example
```sh
#!/bin/sh
set -eu
node dist/main.js
```

Fixed:
```sh
#!/bin/sh
set -eu
exec node dist/main.js
```

## Fix (safe when it is the last command)
Puts `exec` in front of the program: `node x` -> `exec node x`, and after
any variable assignments, which the shell then passes to the program:
`NODE_OPTIONS=--enable-source-maps node x` ->
`NODE_OPTIONS=--enable-source-maps exec node x` (dash, bash and busybox
export them to the exec'd program). Not offered when the command is part
of a list or pipeline (`a && node x`), nor when it is a shell function or
alias the script defines (`exec` only runs programs: `exec main` fails
with `main: not found`); `exec` the program inside the function instead.
Builtins are never reported.
"#,
    check,
};

fn check(p: &Project, out: &mut Vec<Finding>) {
    for ctx in entry_scripts(p) {
        let s = ctx.script;
        let Some(i) = s.last_statement else { continue };
        let c = &s.commands[i];
        if c.name == "exec" || !is_long_running(c) || c.in_function {
            continue;
        }
        let mut f = RULE.finding(
            &ctx.src.rel,
            c.line,
            ctx.src.line_col(c.span.start).1,
            format!(
                "`{}` runs as a child of the shell: SIGTERM from `docker stop` never reaches it.",
                ctx.src.text[c.span.clone()].lines().next().unwrap_or("")
            ),
        );
        if s.defines(&c.name) {
            f.no_fix_reason = Some(format!(
                "`{}` is a shell function or alias of the script, which `exec` cannot run; put `exec` before the program inside it",
                c.name
            ));
        } else if c.top_level_simple {
            f.fix = Some(Fix {
                title: "Prefix the final command with `exec`".into(),
                safety: Safety::Safe,
                unsafe_reason: None,
                changes: vec![crate::finding::FileChange {
                    path: ctx.src.rel.clone(),
                    // After `VAR=value` prefixes: `VAR=x exec node` passes
                    // VAR to node; `exec VAR=x node` looks for a program
                    // named `VAR=x`.
                    edits: vec![Edit {
                        start: c.name_start,
                        end: c.name_start,
                        text: "exec ".into(),
                    }],
                    expect: vec![Expect::Reparse],
                }],
            });
        } else {
            f.no_fix_reason = Some("the command is part of a list or pipeline; restructure it so the service is started with `exec`".into());
        }
        out.push(f);
    }
}
