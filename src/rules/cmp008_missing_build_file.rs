use crate::finding::{Finding, Severity};
use crate::project::Project;
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "CMP008",
    name: "missing-build-file",
    severity: Severity::Critical,
    fix: FixKind::None,
    summary: "A compose build context or Dockerfile does not exist",
    doc: r#"## What it checks
A service's `build.context`, or its `build.dockerfile` resolved against
the context, that does not exist in the repository.

## Why it breaks production
`docker compose build` fails, or, where images are built elsewhere and only
pulled here, the file was moved and the image that ships is built from a
stale or different Dockerfile.

## Example
```yaml
services:
  web:
    build:
      context: apps/web
      dockerfile: docker/Dockerfile   # apps/web/docker/Dockerfile does not exist
```

Fixed:
```yaml
services:
  web:
    build:
      context: apps/web
      dockerfile: Dockerfile
```

## Fix
None automatic: fix the path.
"#,
    check,
};

fn check(p: &Project, out: &mut Vec<Finding>) {
    for s in &p.graph.services {
        let Some(missing) = &s.missing_build else {
            continue;
        };
        let svc = &p.compose[s.compose].services[s.index];
        let mut f = RULE.finding(
            &s.compose_rel,
            svc.build_line.unwrap_or(svc.line),
            p.file(&s.compose_rel)
                .map(|f| f.first_col(svc.build_line.unwrap_or(svc.line)))
                .unwrap_or(1),
            format!(
                "`{}` builds from `{missing}`, which does not exist.",
                s.name
            ),
        );
        f.service = Some(s.name.clone());
        out.push(f);
    }
}
