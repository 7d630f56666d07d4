use crate::finding::{Finding, Severity};
use crate::graph::Health;
use crate::project::Project;
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "CMP004",
    name: "healthcheck-port-mismatch",
    severity: Severity::High,
    fix: FixKind::None,
    summary: "The healthcheck probes a port the service does not listen on",
    doc: r#"## What it checks
A healthcheck (compose or Dockerfile) that probes `localhost:PORT` where
`PORT` is not the port the service listens on (compose `ports`/`expose`,
`environment.PORT`, Dockerfile `EXPOSE`/`ENV PORT`, the app's `listen()`).

## Why it breaks production
The probe is refused every time: the service is unhealthy forever,
dependents never start, and it gets restarted in a loop, often after a port
was changed in one place and not the other.

## Fix
None automatic: probe the port the service listens on.
"#,
    check,
};

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
            out.push(f);
        }
    }
}
