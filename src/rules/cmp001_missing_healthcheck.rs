use crate::edit::yaml_insert::append_key;
use crate::finding::{Finding, Fix, Safety, Severity};
use crate::graph::{Health, Listening, ServiceNode};
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

## Evidence order
The probe needs three facts of the service (`prodsafe inventory` shows each
with its sources and strength):
- **listens**: the entry code (`src/main.ts`, `index.ts`, `server.ts` under
  the Dockerfile's folder) and the modules it imports start a server
  (`listen`, `serve({ port })`, a Nest HTTP app, `next start`, a Next.js
  standalone `server.js`). A Nest microservice or a consumer loop that starts
  none gets this finding with advice and no fix: an HTTP probe would never
  pass.
- **port**: `prodsafe.toml`; then the app's `listen(...)` read with the value
  the container gets (compose `environment`, Dockerfile `ENV`, else the
  code's default such as `process.env.PORT ?? 3000`; `next start` = 3000 or
  `-p N`), which is strong; then, weak on their own, compose `ports`,
  `expose`, `environment.PORT`, Dockerfile `EXPOSE`/`ENV PORT`. Sources that
  disagree are CMP009.
- **route**: `prodsafe.toml` `health_path`; the routes the code declares
  (Nest global prefix, controller and method decorators, URI versioning;
  Express/Fastify/Koa routes and the prefixes they are mounted under; a
  plain `http.createServer` handler that answers every path; a health-like
  Next.js API route), preferring a health-like route, else `/` when it is
  declared; else a probe the project already has for the service (another
  compose file, a `HEALTHCHECK` of a stage compose does not run, a
  `healthcheck.sh`, a Kubernetes `httpGet` probe).

All of it is read in the stage compose runs (`build.target`, else the last
stage), merged with overlay files (`*.override.yml`, files layered with
`-f`).

## Fix
Inserts a node-based probe at the end of the service, in the file's own
indentation and line endings. It needs no curl in the image:
```yaml
    healthcheck:
      test: ["CMD", "node", "-e", "require('http').get('http://localhost:6002/health', r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"]
      interval: 30s
      timeout: 10s
      retries: 3
      start_period: 20s
```
When no route is known the probe never demands 200 on `/`: it accepts any
HTTP answer below 500 (`templates/healthcheck-node-any.yaml`), or, for a
server that is not HTTP, connects over TCP
(`templates/healthcheck-node-tcp.yaml`); the fix title says so.

**Safe** only when listens, port and route are all strong and no source
disagrees (and the Dockerfile is the service's own, not guessed from the
image name). Otherwise the fix is **unsafe** and its reason names the weak
fact: "port only from compose ports ...", "port contested: ... vs ...",
"no route known: the probe accepts any HTTP answer below 500".
For the official `postgres` and `redis` images their standard probes
(`pg_isready`, `redis-cli ping`) are inserted (safe). Other images get a
finding without a fix. The snippets come from `templates/healthcheck-*.yaml`
and can be overridden.
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
    let mut weak: Vec<String> = Vec::new();
    let (template, what) = match family {
        Family::Node => {
            if s.listens.value == Listening::No {
                return Err(format!(
                    "`{}` starts no server ({}): an HTTP probe could never pass. Give it a liveness signal the probe can read (e.g. touch a heartbeat file on each poll and test its age), or skip it in prodsafe.toml",
                    s.name, s.listens.source
                ));
            }
            let port = s.port.as_ref().ok_or_else(|| {
                format!(
                    "no port found for `{}` (no listen() in its code, compose ports/expose, environment.PORT or Dockerfile EXPOSE); set `[services.{}] port` in prodsafe.toml",
                    s.name, s.name
                )
            })?;
            weak.extend(port.weakness("port"));
            // A port set in prodsafe.toml is the owner saying it listens.
            if s.listens.value == Listening::Unknown
                && port.source != "prodsafe.toml `prodsafe.toml`"
                && !port.evidence.iter().any(|e| e.kind == "prodsafe.toml")
            {
                weak.push(format!(
                    "whether it listens is unknown ({})",
                    s.listens.source
                ));
            }
            port_s = port.value.to_string();
            vars.push(("port", &port_s));
            match (&s.health_route, s.listens.value) {
                (Some(route), _) => {
                    if !safe_path(&route.value) {
                        return Err(format!(
                            "health path `{}` has characters prodsafe will not put in a probe",
                            route.value
                        ));
                    }
                    weak.extend(route.weakness("route"));
                    vars.push(("path", &route.value));
                    (
                        "healthcheck-node.yaml",
                        format!(
                            "node probe on http://localhost:{}{}",
                            port.value, route.value
                        ),
                    )
                }
                (None, Listening::Tcp) => {
                    weak.push("no HTTP route known: TCP connect probe".into());
                    (
                        "healthcheck-node-tcp.yaml",
                        format!("TCP connect probe on port {}: no route known", port.value),
                    )
                }
                (None, _) => {
                    weak.push("no route known: the probe accepts any HTTP answer below 500".into());
                    vars.push(("path", "/"));
                    (
                        "healthcheck-node-any.yaml",
                        format!(
                            "node probe on http://localhost:{}/ accepting any answer below 500: no route known",
                            port.value
                        ),
                    )
                }
            }
        }
        Family::Postgres => ("healthcheck-postgres.yaml", "pg_isready probe".to_string()),
        Family::Redis => ("healthcheck-redis.yaml", "redis-cli ping probe".to_string()),
        Family::Other | Family::Nginx | Family::Caddy => {
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
    if let Some(why) = &s.dockerfile_by_name {
        weak.push(format!("image only guessed: {why}"));
    }
    if s.stage.as_ref().is_some_and(|st| !st.sound()) {
        weak.extend(s.stage.as_ref().and_then(|st| st.weakness("stage")));
    }
    Ok(Fix {
        title: format!("Add a healthcheck to `{}` ({what})", s.name),
        safety: if weak.is_empty() {
            Safety::Safe
        } else {
            Safety::Unsafe
        },
        unsafe_reason: (!weak.is_empty()).then(|| weak.join("; ")),
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
        let port = match (&s.port, s.listens.value) {
            (_, Listening::No) => format!(" It starts no server ({}).", s.listens.source),
            (Some(pt), _) => format!(" It listens on {} ({}).", pt.value, pt.source),
            _ => String::new(),
        };
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
