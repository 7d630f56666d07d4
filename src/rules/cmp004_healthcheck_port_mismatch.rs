use crate::finding::{Finding, Fix, Safety, Severity};
use crate::graph::Health;
use crate::project::Project;
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "CMP004",
    name: "healthcheck-port-mismatch",
    severity: Severity::High,
    fix: FixKind::Sometimes(Safety::Unsafe),
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

## Fix (unsafe)
For the service's own one-line compose `test`, the port in the probe URL is
replaced with the one prodsafe inferred. Unsafe because the inference may be
wrong (an app that reads another variable): check the process binds it.
"#,
    check,
};

/// Rewrites the port in the service's own compose `test` value.
fn port_fix(
    p: &Project,
    s: &crate::graph::ServiceNode,
    from: u16,
    to: u16,
    source: &str,
) -> Option<Fix> {
    let re = regex::Regex::new(&format!(
        r"(localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\]):{from}\b"
    ))
    .ok()?;
    crate::rules::scope::replace_compose_test(
        p,
        s,
        format!("Probe port {to} instead of {from}"),
        Safety::Unsafe,
        Some(format!(
            "the port {to} is inferred ({source}); make sure the process binds it"
        )),
        |old| {
            let new = re
                .replace_all(old, format!("${{1}}:{to}").as_str())
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
        if probed != port.value {
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
                f.fix = port_fix(p, s, probed, port.value, &port.source);
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
