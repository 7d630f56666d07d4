use crate::finding::{Finding, Severity};
use crate::project::Project;
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "PS002",
    name: "unknown-ignore-code",
    severity: Severity::Medium,
    fix: FixKind::None,
    summary: "A `prodsafe: ignore[...]` comment names no rule",
    doc: r#"## What it checks
An inline suppression whose list names something that is neither a rule
code (`CMP001`), a rule name (`missing-healthcheck`) nor `ALL`.

## Why it matters
A misspelled code suppresses nothing: the finding it was meant for comes
back, or worse, the comment looks like an accepted risk while the real
finding on that line goes unreviewed.

## Example
```yaml
services:
  api:  # prodsafe: ignore[CMP01] probes run in the sidecar
```

Fixed:
```yaml
services:
  api:  # prodsafe: ignore[CMP001] probes run in the sidecar
```

## Fix
None automatic: correct the code (the message suggests the closest one),
or delete the comment.
"#,
    check,
};

/// Reported by the engine from the suppression comments, not from the model.
fn check(_p: &Project, _out: &mut Vec<Finding>) {}

/// One finding per unknown entry in a suppression comment.
pub fn findings(p: &Project) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in crate::suppress::collect(p) {
        for code in &s.codes {
            if code.eq_ignore_ascii_case("ALL") || crate::rules::find(code).is_some() {
                continue;
            }
            let (col, end) = p
                .file(&s.path)
                .map(|src| {
                    let line = src.line_text(s.line);
                    let open = line.find("ignore[").map(|i| i + 7).unwrap_or(0);
                    let at = line[open..]
                        .find(code.as_str())
                        .map(|i| i + open)
                        .unwrap_or(0);
                    let col = line[..at].chars().count() + 1;
                    (col, col + code.chars().count())
                })
                .unwrap_or((1, 1));
            let mut f = RULE.finding(
                &s.path,
                s.line,
                col,
                format!(
                    "`prodsafe: ignore[...]`: {}",
                    crate::rules::unknown_rule(code)
                ),
            );
            f.end_column = end;
            out.push(f);
        }
    }
    out
}
