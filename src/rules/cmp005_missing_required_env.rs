use crate::finding::{Finding, Severity};
use crate::project::Project;
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "CMP005",
    name: "missing-required-env",
    severity: Severity::High,
    fix: FixKind::None,
    summary: "A compose service does not provide a variable its app requires",
    doc: r#"## What it checks
A variable the service's app requires (Prisma datasource, `process.env.X`
without a fallback, `getOrThrow`, `required_env` in `prodsafe.toml`) that
its compose service does not provide: not in `environment` (a value or a
`${X}` passed through), no `env_file`, and no `ENV` in the image.

## Why it breaks production
The stack starts and the service crashes (with a fail-fast check) or
misbehaves (without one) only in the environment where the variable was
forgotten, typically production.

## Example
```yaml
# the app reads process.env.JWT_SECRET without a fallback
services:
  auth:
    build: apps/auth
    environment:
      NODE_ENV: production
```

Fixed:
```yaml
services:
  auth:
    build: apps/auth
    environment:
      NODE_ENV: production
      JWT_SECRET: ${JWT_SECRET:?JWT_SECRET is required}
```

## Fix
None automatic: add the variable to the service's `environment`, e.g.
`DATABASE_URL: ${DATABASE_URL:?DATABASE_URL is required}`.
"#,
    check,
};

fn check(p: &Project, out: &mut Vec<Finding>) {
    for s in &p.graph.services {
        let svc = &p.compose[s.compose].services[s.index];
        if !svc.env_files.is_empty() {
            continue;
        }
        let image_env: Vec<String> = s
            .dockerfile
            .as_deref()
            .and_then(|d| p.dockerfile(d))
            .and_then(|d| {
                d.final_stage()
                    .map(|st| d.env(st).into_iter().map(|(k, _)| k).collect())
            })
            .unwrap_or_default();
        for r in &s.required_env {
            if r.source.starts_with("compose ") {
                continue;
            }
            let provided =
                svc.environment.iter().any(|(k, _)| *k == r.value) || image_env.contains(&r.value);
            if !provided {
                let mut f = RULE.finding(
                    &s.compose_rel,
                    svc.line,
                    svc.col,
                    format!(
                        "`{}` requires {} ({}) but its compose service does not set it.",
                        s.name, r.value, r.source
                    ),
                );
                f.service = Some(s.name.clone());
                out.push(f);
            }
        }
    }
}
