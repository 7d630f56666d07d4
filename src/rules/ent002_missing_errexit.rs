use crate::finding::{Expect, Finding, Fix, Safety, Severity};
use crate::project::Project;
use crate::rules::ent001_missing_nounset::nounset_safety;
use crate::rules::scope::entry_scripts;
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "ENT002",
    name: "missing-errexit",
    severity: Severity::Medium,
    fix: FixKind::Always(Safety::Safe),
    summary: "Entrypoint has no `set -e`",
    doc: r#"## What it checks
An entrypoint script with no `set -e` (nor `set -o errexit`, nor `-e` on the
shebang line).

## Why it breaks production
A failing step (a migration, a config render, a `cd` into a missing folder)
is ignored and the service starts anyway in a broken state, or the script
falls through to the end and the container exits 0 so nobody notices.

## Example
```sh
#!/bin/sh
./migrate
exec node dist/main.js
```

Fixed:
```sh
#!/bin/sh
set -eu
./migrate
exec node dist/main.js
```

## Fix
Inserts `set -eu` right after the shebang. Safe or unsafe as for ENT001:
unsafe when `-u` would stop the script at an unguarded variable.
"#,
    check,
};

fn check(p: &Project, out: &mut Vec<Finding>) {
    for ctx in entry_scripts(p) {
        let s = ctx.script;
        if s.errexit() {
            continue;
        }
        let (safety, why) = nounset_safety(&ctx);
        let eol = ctx.src.eol.as_str();
        let at = s.boundary_at_or_after(
            ctx.src,
            crate::edit::after_line(ctx.src, usize::from(s.shebang.is_some())),
        );
        let edit = crate::edit::insert_lines(ctx.src, at, &format!("set -eu{eol}"));
        let mut f = RULE.finding(
            &ctx.src.rel,
            1,
            1,
            "No `set -e`: a failing command is ignored and the service starts in a broken state."
                .into(),
        );
        f.fix = Some(Fix {
            title: "Insert `set -eu` after the shebang".into(),
            safety,
            unsafe_reason: why,
            changes: vec![crate::finding::FileChange {
                path: ctx.src.rel.clone(),
                edits: vec![edit],
                expect: vec![Expect::Reparse],
            }],
        });
        out.push(f);
    }
}
