use crate::finding::{Edit, Expect, Finding, Fix, Safety, Severity};
use crate::project::Project;
use crate::rules::scope::entry_scripts;
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "ENT006",
    name: "crlf-line-endings",
    severity: Severity::Critical,
    fix: FixKind::Always(Safety::Safe),
    summary: "Entrypoint script has CRLF line endings",
    doc: r#"## What it checks
An entrypoint script with Windows (CRLF) line endings, typically committed
from Windows or checked out with `core.autocrlf=true`.

## Why it breaks production
The kernel reads the shebang as `/bin/sh\r`: the container dies at once with
`exec ./entrypoint.sh: no such file or directory` or `/bin/sh^M: not found`,
although the file is plainly there.

## Example
```sh
#!/bin/sh␍
set -eu␍
exec node dist/main.js␍
```

Fixed:
```sh
#!/bin/sh
set -eu
exec node dist/main.js
```

## Fix (safe)
Converts every CRLF to LF (and nothing else). Add
`*.sh text eol=lf` to `.gitattributes` so it stays that way.
"#,
    check,
};

fn check(p: &Project, out: &mut Vec<Finding>) {
    for ctx in entry_scripts(p) {
        let text = &ctx.src.text;
        if !text.contains("\r\n") {
            continue;
        }
        let edits: Vec<Edit> = text
            .match_indices("\r\n")
            .map(|(i, _)| Edit {
                start: i,
                end: i + 1,
                text: String::new(),
            })
            .collect();
        let mut f = RULE.finding(
            &ctx.src.rel,
            1,
            1,
            format!(
                "CRLF line endings ({} lines): the shebang becomes `{}\\r` and the container fails with `no such file or directory`.",
                edits.len(),
                text.lines().next().unwrap_or("").trim_end_matches('\r')
            ),
        );
        f.fix = Some(Fix {
            title: "Convert line endings to LF".into(),
            safety: Safety::Safe,
            unsafe_reason: None,
            changes: vec![crate::finding::FileChange {
                path: ctx.src.rel.clone(),
                edits,
                expect: vec![Expect::EolToLf],
            }],
        });
        out.push(f);
    }
}
