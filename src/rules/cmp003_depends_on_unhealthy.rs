use crate::finding::{Finding, Safety, Severity};
use crate::graph::Health;
use crate::project::Project;
use crate::rules::cmp001_missing_healthcheck::healthcheck_fix;
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "CMP003",
    name: "depends-on-unhealthy",
    severity: Severity::High,
    fix: FixKind::Sometimes(Safety::Safe),
    summary: "`depends_on` waits for `service_healthy` on a service without a healthcheck",
    doc: DOC,
    check,
};

const DOC: &str = r#"## What it checks
`depends_on: {X: {condition: service_healthy}}` where service `X` has no
healthcheck: none in the compose file (own, merged, extended) and no
`HEALTHCHECK` in its image, or one that is disabled.

## Why it breaks production
Compose refuses to start the stack: `dependency failed to start: container
X has no healthcheck configured`. The build and `docker compose config`
pass; the deploy fails.

## Example
```yaml
services:
  api:
    depends_on:
      db:
        condition: service_healthy
  db:
    image: postgres:16
```

Fixed:
```yaml
services:
  api:
    depends_on:
      db:
        condition: service_healthy
  db:
    image: postgres:16
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U $${POSTGRES_USER:-postgres}"]
      interval: 30s
      timeout: 10s
      retries: 3
      start_period: 20s
```

## Fix (as CMP001's)
The same edit as `CMP001` on service `X`: a healthcheck is added to it.
Both findings share the edit; it is applied once. It is safe exactly when
CMP001's is (the port, route and listening facts of `X` are strong and
uncontested); otherwise unsafe with the same reason.
"#;

fn check(p: &Project, out: &mut Vec<Finding>) {
    for s in &p.graph.services {
        let svc = &p.compose[s.compose].services[s.index];
        for d in &svc.depends_on {
            if d.condition.as_deref() != Some("service_healthy") {
                continue;
            }
            let Some(target) = p.graph.get(s.compose, &d.service) else {
                continue;
            };
            let why = match target.health {
                Health::Absent => "has no healthcheck",
                Health::Disabled => "has its healthcheck disabled",
                _ => continue,
            };
            let mut f = RULE.finding(
                &s.compose_rel,
                d.line,
                d.col,
                format!(
                    "`{}` waits for `{}` to be healthy, but `{}` {why}: compose will refuse to start the stack.",
                    s.name, d.service, d.service
                ),
            );
            f.service = Some(s.name.clone());
            if target.health == Health::Absent {
                match healthcheck_fix(p, target) {
                    Ok(fix) => f.fix = Some(fix),
                    Err(e) => f.no_fix_reason = Some(e),
                }
            } else {
                f.no_fix_reason = Some(format!(
                    "re-enable or write a healthcheck for `{}`",
                    d.service
                ));
            }
            out.push(f);
        }
    }
}
