use crate::finding::{Finding, Fix, Safety, Severity};
use crate::graph::Health;
use crate::project::Project;
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "CMP004",
    name: "healthcheck-port-mismatch",
    severity: Severity::High,
    fix: FixKind::Sometimes(Safety::Safe),
    summary: "The healthcheck probes a port the service does not listen on",
    doc: r#"## What it checks
A healthcheck (compose or Dockerfile) that probes `localhost:PORT` where
`PORT` is not the port the service listens on (compose `ports`/`expose`,
`environment.PORT`, Dockerfile `EXPOSE`/`ENV PORT`, the app's `listen()`).

## Why it breaks production
The probe is refused every time: the service is unhealthy forever,
dependents never start, and it gets restarted in a loop, often after a port
was changed in one place and not the other.

## Example
```yaml
services:
  api:
    environment:
      PORT: "3000"
    healthcheck:
      test: ["CMD", "wget", "-qO-", "http://localhost:8080/health"]
```

Fixed:
```yaml
services:
  api:
    environment:
      PORT: "3000"
    healthcheck:
      test: ["CMD", "wget", "-qO-", "http://localhost:3000/health"]
```

## Evidence order
The port fact: `prodsafe.toml`; the app's own `listen(...)` read with the
value the container gets (compose `environment`, Dockerfile `ENV`, the
code's default such as `process.env.PORT ?? 3000`; `next start` = 3000 or
`-p N`), which is strong; then, weak on their own, compose `ports`,
`expose`, `environment.PORT` the code never reads, Dockerfile `EXPOSE`,
`ENV PORT`, nginx upstreams and other services' URLs. See
`prodsafe inventory` for each service's sources.

## Fix
For the service's own one-line compose `test`, the port in the probe URL is
replaced with the service's port. Safe only when the port fact is strong
(from the app's code) and no source disagrees (see CMP009); otherwise
unsafe, and the reason names the weak or contested fact.
"#,
    check,
};

/// Rewrites the port in the service's own compose `test` value.
fn port_fix(
    p: &Project,
    s: &crate::graph::ServiceNode,
    from: u16,
    to: u16,
    port: &crate::graph::Fact<u16>,
) -> Option<Fix> {
    let weak = port.weakness("port");
    // Compiled once; the port is compared, not spliced into the pattern.
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r"(localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\]):(\d+)\b").unwrap()
    });
    crate::rules::scope::replace_compose_test(
        p,
        s,
        format!("Probe port {to} instead of {from}"),
        if weak.is_none() {
            Safety::Safe
        } else {
            Safety::Unsafe
        },
        weak,
        |old| {
            let new = re
                .replace_all(old, |c: &regex::Captures| {
                    if c[2] == *from.to_string() {
                        format!("{}:{to}", &c[1])
                    } else {
                        c[0].to_string()
                    }
                })
                .into_owned();
            (new != old).then_some(new)
        },
    )
}

fn check(p: &Project, out: &mut Vec<Finding>) {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r"(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\]):(\d+)").unwrap()
    });
    for s in &p.graph.services {
        let Some(port) = &s.port else { continue };
        if s.listens.value == crate::graph::Listening::No {
            continue;
        }
        let (text, file, line) = match &s.health {
            Health::Compose { test, file, line } => (test.join(" "), file, *line),
            Health::Image {
                command,
                file,
                line,
            } => (command.clone(), file, *line),
            _ => continue,
        };
        let Some(c) = re.captures(&text) else {
            continue;
        };
        let Ok(probed) = c[1].parse::<u16>() else {
            continue;
        };
        // A probe on a port some source declares is no mismatch of its own:
        // a disagreement between the sources is CMP009's.
        let declared = port.evidence.iter().any(|e| e.value == probed.to_string());
        if probed != port.value && !declared {
            let mut f = RULE.finding(
                &file,
                line,
                p.file(&file).map(|f| f.first_col(line)).unwrap_or(1),
                format!(
                    "The healthcheck of `{}` probes port {probed}, but it listens on {} ({}).",
                    s.name, port.value, port.source
                ),
            );
            f.service = Some(s.name.clone());
            if matches!(s.health, Health::Compose { .. }) {
                f.fix = port_fix(p, s, probed, port.value, port);
            }
            if f.fix.is_none() {
                f.no_fix_reason = Some(
                    "the probe is not the service's own one-line `test`; change its port by hand"
                        .into(),
                );
            }
            out.push(f);
        }
    }
}
