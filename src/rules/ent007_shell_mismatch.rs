use crate::finding::{Finding, Severity};
use crate::images::{self, Distro};
use crate::project::Project;
use crate::rules::scope::entry_scripts;
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "ENT007",
    name: "shell-mismatch",
    severity: Severity::High,
    fix: FixKind::None,
    summary: "`#!/bin/sh` script uses bash-only syntax, or has no shebang",
    doc: r#"## What it checks
A script whose shebang names a POSIX shell (`sh`, `ash`, `dash`) but which
uses bash-only syntax: `[[ ... ]]`, arrays, `source`, the `function`
keyword, process substitution, and `set -o pipefail` where `/bin/sh` is
dash (Debian-based images). Also an entrypoint with no shebang at all.

## Why it breaks production
On alpine `/bin/sh` is busybox ash and on Debian it is dash: `[[: not
found`, `source: not found`, `Syntax error: "(" unexpected`. The script ran
fine on a developer's machine where `/bin/sh` is bash. Without a shebang,
an exec-form ENTRYPOINT fails with `exec format error`.

## Example
```sh
#!/bin/sh
if [[ -z "$PORT" ]]; then PORT=3000; fi
exec node dist/main.js
```

Fixed:
```sh
#!/bin/sh
if [ -z "${PORT:-}" ]; then PORT=3000; fi
exec node dist/main.js
```

## Fix
None automatic: rewrite the construct in POSIX sh, or use `#!/bin/bash`
and install bash in the image.
"#,
    check,
};

fn check(p: &Project, out: &mut Vec<Finding>) {
    for ctx in entry_scripts(p) {
        let s = ctx.script;
        let rel = &ctx.src.rel;
        let Some((_, shell, _)) = &s.shebang else {
            let mut f = RULE.finding(rel, 1, 1, "No shebang: run directly as the container's command it fails with `exec format error`.".into());
            f.no_fix_reason = Some("add `#!/bin/sh` as the first line".into());
            out.push(f);
            continue;
        };
        if !matches!(shell.as_str(), "sh" | "ash" | "dash") {
            continue;
        }
        let debian = ctx
            .image
            .is_some_and(|i| matches!(images::distro(&i.base), Distro::Debian | Distro::Slim));
        let mut issues: Vec<(String, usize)> = s.bashisms.clone();
        if debian {
            for set in s.sets.iter().filter(|x| x.pipefail) {
                issues.push((
                    "`set -o pipefail` (dash, Debian's /bin/sh, rejects it)".into(),
                    set.span.start,
                ));
            }
        }
        issues.sort_by_key(|(_, o)| *o);
        for (what, off) in issues {
            let (line, col) = ctx.src.line_col(off);
            out.push(RULE.finding(
                rel,
                line,
                col,
                format!("{what} in a `#!/bin/{shell}` script: /bin/sh in the image is not bash."),
            ));
        }
    }
}
