use crate::finding::{Finding, Severity};
use crate::project::Project;
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "PS001",
    name: "unused-ignore",
    severity: Severity::Low,
    fix: FixKind::None,
    summary: "A `prodsafe: ignore[...]` comment suppresses nothing",
    doc: r#"## What it checks
With `--report-unused-ignores`: an inline suppression
(`# prodsafe: ignore[CODE] reason`) that matched no finding, because the
problem was fixed, the code moved, or the code is misspelled.

## Why it matters
Stale suppressions hide the next real finding on that line and make the
baseline lie about what is accepted.

## Example
```yaml
services:
  api:  # prodsafe: ignore[CMP001] probes run in the sidecar
    healthcheck:   # (the finding was fixed since)
      test: ["CMD", "node", "healthcheck.js"]
```

Fixed:
```yaml
services:
  api:
    healthcheck:
      test: ["CMD", "node", "healthcheck.js"]
```

## Fix
None automatic: delete the comment, or correct the code.
"#,
    check,
};

/// Reported by the CLI from the suppression pass, not from the model.
fn check(_p: &Project, _out: &mut Vec<Finding>) {}
