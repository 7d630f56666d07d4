use crate::edit::yaml_insert::append_key;
use crate::finding::{Finding, Fix, Safety, Severity};
use crate::graph::{Health, ServiceNode};
use crate::images::{self, Family};
use crate::project::Project;
use crate::rules::{FixKind, Rule};
use crate::templates::{body, fill, restyle_test_line};

pub static RULE: Rule = Rule {
    code: "CMP001",
    name: "missing-healthcheck",
    severity: Severity::Medium,
    fix: FixKind::Sometimes(Safety::Safe),
    summary: "A long-running compose service has no healthcheck",
    doc: DOC,
    check,
};

const DOC: &str = r#"## What it checks
A long-running service in a compose file that has no `healthcheck`: not its
own, not one merged in through `<<: *anchor`, not one inherited through
`extends`, and no `HEALTHCHECK` in the final stage of the image it builds.
Services that other services wait on with
`condition: service_completed_successfully`, and services with
`restart: "no"` or `on-failure`, are one-shot jobs and are not checked.
A healthcheck explicitly disabled (`disable: true`, `test: ["NONE"]`) is
respected.

## Why it breaks production
Without a healthcheck, a process that hangs, deadlocks or never finishes
starting is reported as `running`. Orchestrators never restart it,
`depends_on: condition: service_healthy` cannot be used, and a rolling
deploy happily replaces healthy containers with dead ones.

## Example
```yaml
services:
  product-service:
    build:
      context: .
      dockerfile: apps/product-service/Dockerfile
    ports:
      - "6002:6002"
```

Fixed:
```yaml
services:
  product-service:
    build:
      context: .
      dockerfile: apps/product-service/Dockerfile
    ports:
      - "6002:6002"
    healthcheck:
      test: ["CMD", "node", "-e", "require('http').get('http://localhost:6002/health', r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"]
      interval: 30s
      timeout: 10s
      retries: 3
      start_period: 20s
```

## Fix (safe, Node services)
Inserts a node-based probe at the end of the service, in the file's own
indentation and line endings, with the port and health path prodsafe
inferred (compose `ports`/`expose`, `environment.PORT`, Dockerfile
`EXPOSE`/`ENV PORT`, the app's `listen(...)`; a health route in the app
code, else `/`). It needs no curl in the image:
```yaml
    healthcheck:
      test: ["CMD", "node", "-e", "require('http').get('http://localhost:6002/', r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"]
      interval: 30s
      timeout: 10s
      retries: 3
      start_period: 20s
```
For the official `postgres` and `redis` images their standard probes
(`pg_isready`, `redis-cli ping`) are inserted. Other images, and Node
services whose port cannot be inferred, get a finding without a fix (set
`[services.NAME] port = ...` in `prodsafe.toml`). The snippets come from
`templates/healthcheck-*.yaml` and can be overridden.
"#;

fn safe_path(p: &str) -> bool {
    p.starts_with('/')
        && p.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._~/-".contains(c))
}

fn safe_duration(d: &str) -> bool {
    !d.is_empty()
        && d.chars().all(|c| c.is_ascii_digit() || "hms.u".contains(c))
        && d.starts_with(|c: char| c.is_ascii_digit())
}

/// The fix that inserts a healthcheck into a service, or why there is none.
pub fn healthcheck_fix(p: &Project, s: &ServiceNode) -> Result<Fix, String> {
    let compose = &p.compose[s.compose];
    let svc = &compose.services[s.index];
    let src = &p.files[compose.file];
    if svc.is_alias {
        return Err(
            "the service is an alias of another node; add the healthcheck where it is anchored"
                .into(),
        );
    }
    let image = s.image.clone().unwrap_or_default();
    let family = if s.node {
        Family::Node
    } else {
        images::family(&image)
    };
    let hc = &p.config.healthcheck;
    let retries = hc.retries.to_string();
    for d in [&hc.interval, &hc.timeout, &hc.start_period] {
        if !safe_duration(d) {
            return Err(format!(
                "configured healthcheck duration `{d}` is not a duration"
            ));
        }
    }
    let mut vars = vec![
        ("interval", hc.interval.as_str()),
        ("timeout", hc.timeout.as_str()),
        ("retries", retries.as_str()),
        ("start_period", hc.start_period.as_str()),
    ];
    let port_s;
    let (template, what) = match family {
        Family::Node => {
            let port = s.port.as_ref().ok_or_else(|| {
                format!(
                    "no port found for `{}` (no compose ports/expose, environment.PORT, Dockerfile EXPOSE or listen() call); set `[services.{}] port` in prodsafe.toml",
                    s.name, s.name
                )
            })?;
            if !safe_path(&s.health_path.value) {
                return Err(format!(
                    "health path `{}` has characters prodsafe will not put in a probe",
                    s.health_path.value
                ));
            }
            port_s = port.value.to_string();
            vars.push(("port", &port_s));
            vars.push(("path", &s.health_path.value));
            (
                "healthcheck-node.yaml",
                format!(
                    "node probe on http://localhost:{}{}",
                    port.value, s.health_path.value
                ),
            )
        }
        Family::Postgres => ("healthcheck-postgres.yaml", "pg_isready probe".to_string()),
        Family::Redis => ("healthcheck-redis.yaml", "redis-cli ping probe".to_string()),
        Family::Other => {
            return Err(if image.is_empty() {
                "the service's image is unknown, so no probe is certain to work".into()
            } else {
                format!("no standard probe is known for image `{image}`; write one that uses a tool the image has")
            })
        }
    };
    let snippet = restyle_test_line(
        &fill(&body(p.templates.get(template)), &vars),
        compose.doc.quote,
    );
    let (edit, expect) = append_key(
        src,
        &compose.doc,
        &svc.node,
        vec!["services".into(), s.name.clone()],
        "healthcheck",
        &snippet,
    )?;
    Ok(Fix {
        title: format!("Add a healthcheck to `{}` ({what})", s.name),
        safety: Safety::Safe,
        unsafe_reason: None,
        changes: vec![crate::finding::FileChange {
            path: src.rel.clone(),
            edits: vec![edit],
            expect: vec![expect],
        }],
    })
}

fn check(p: &Project, out: &mut Vec<Finding>) {
    for s in &p.graph.services {
        if s.health != Health::Absent || !s.long_running {
            continue;
        }
        if p.config.service(&s.name).is_some_and(|c| c.skip) {
            continue;
        }
        let svc = &p.compose[s.compose].services[s.index];
        let port = s
            .port
            .as_ref()
            .map(|pt| format!(" It listens on {} ({}).", pt.value, pt.source))
            .unwrap_or_default();
        let mut f = RULE.finding(
            &s.compose_rel,
            svc.line,
            svc.col,
            format!(
                "Service `{}` has no healthcheck: a hung or half-started container is reported as running.{port}",
                s.name
            ),
        );
        f.service = Some(s.name.clone());
        match healthcheck_fix(p, s) {
            Ok(fix) => f.fix = Some(fix),
            Err(why) => f.no_fix_reason = Some(why),
        }
        out.push(f);
    }
}
