use crate::finding::{Edit, Expect, Finding, Fix, Safety, Severity};
use crate::project::Project;
use crate::rules::scope::{entry_scripts, ScriptCtx};
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "ENT001",
    name: "missing-nounset",
    severity: Severity::Low,
    fix: FixKind::Always(Safety::Safe),
    summary: "Entrypoint uses `set -e` without `-u`",
    doc: r#"## What it checks
An entrypoint script that turns on errexit (`set -e`, `set -ex`,
`set -o errexit`) but not nounset (`-u`).

## Why it breaks production
A misspelled or missing variable expands to an empty string and the script
carries on: `exec node "$APP_ENTRY"` becomes `exec node` and the container
starts a REPL, `rm -rf "$DIR/"` removes `/`. With `-u` the script stops at
once with `VAR: parameter not set`. `-u` works in busybox `sh`, dash and bash.

## Example
```sh
#!/bin/sh
set -e
exec dumb-init node dist/main.js
```

Fixed:
```sh
#!/bin/sh
set -eu
exec dumb-init node dist/main.js
```

## Fix
`set -e` becomes `set -eu`, other flags kept (`-ex` -> `-eux`,
`-o errexit` -> `-o errexit -o nounset`). The fix is **safe** when every
expansion in the script is guarded (`${X:-}`, `${X:?}`, `${X-}`), assigned
before use, set by the image (`ENV`) or by every compose service running it,
or a special parameter. Otherwise it is **unsafe** and the finding lists
the variables that would stop the script.
"#,
    check,
};

/// The edit that adds `u` to a `set` command's flags.
pub fn nounset_edit(words: &[(String, std::ops::Range<usize>)]) -> Option<Edit> {
    for (w, r) in words {
        if let Some(flags) = w.strip_prefix('-') {
            if flags.contains('e') && !w.starts_with("-o") {
                let at = r.start + 1 + flags.find('e').unwrap() + 1;
                return Some(Edit {
                    start: at,
                    end: at,
                    text: "u".into(),
                });
            }
        }
        if w == "-o errexit" {
            return Some(Edit {
                start: r.end,
                end: r.end,
                text: " -o nounset".into(),
            });
        }
    }
    None
}

/// Safety of turning on `-u` for a script, with the reason when unsafe.
pub fn nounset_safety(ctx: &ScriptCtx) -> (Safety, Option<String>) {
    let vars = ctx.unguarded();
    if vars.is_empty() {
        (Safety::Safe, None)
    } else {
        let list: Vec<String> = vars
            .iter()
            .map(|(n, l)| format!("${n} (line {l})"))
            .collect();
        (
            Safety::Unsafe,
            Some(format!(
                "`set -u` would stop the script at unguarded {}",
                list.join(", ")
            )),
        )
    }
}

fn check(p: &Project, out: &mut Vec<Finding>) {
    for ctx in entry_scripts(p) {
        let s = ctx.script;
        if s.sets.iter().any(|x| x.nounset) {
            continue;
        }
        let Some(set) = s.sets.iter().find(|x| x.errexit) else {
            continue;
        };
        let (safety, why) = nounset_safety(&ctx);
        let mut f =
            RULE.finding(
                &ctx.src.rel,
                set.line,
                ctx.src.line_col(set.span.start).1,
                format!(
                "`{}` without `-u`: an unset variable expands to nothing and the script goes on.{}",
                &ctx.src.text[set.span.clone()],
                why.as_deref().map(|w| format!(" Note: {w}.")).unwrap_or_default()
            ),
            );
        if let Some(edit) = nounset_edit(&set.words) {
            f.fix = Some(Fix {
                title: "Turn on nounset (`set -eu`)".into(),
                safety,
                unsafe_reason: why,
                changes: vec![crate::finding::FileChange {
                    path: ctx.src.rel.clone(),
                    edits: vec![edit],
                    expect: vec![Expect::Reparse],
                }],
            });
        }
        out.push(f);
    }
}
