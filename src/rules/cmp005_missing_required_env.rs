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
A variable the service's app certainly requires that its deployment does
not give it. Required means read as a value, with no default and no
presence check, on the path every start takes (in the entry file or any
module it reaches, workspace packages included), demanded by the app's own
validation (envalid, zod, Joi `.required()`), the Prisma datasource when
the app imports the Prisma client, compose `${X:?}`, or `required_env` in
`prodsafe.toml`. Given means: compose `environment` (list or mapping,
`<<` merges resolved, `${X:-default}` interpolated with the `.env` beside
the compose file), the service's `env_file`s (parsed), the image's `ENV`,
and variables its entrypoint exports. A value that interpolates to an
empty string does not count. An `env_file` that does not exist is reported
too: compose refuses to start the service.

Variables only read on some paths are listed as "maybe" in the inventory
and never reported here.

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
`DATABASE_URL: ${DATABASE_URL:?DATABASE_URL is required}`, or create the
`env_file`.
"#,
    check,
};

fn check(p: &Project, out: &mut Vec<Finding>) {
    let mut reported = std::collections::HashSet::new();
    for (i, s) in p.graph.services.iter().enumerate() {
        let svc = &p.compose[s.compose].services[s.index];
        let Some(env) = p.service_env.get(i) else {
            continue;
        };
        for (file, compose, line, example) in &env.missing_env_files {
            // Reported once, where it is declared (a base service that
            // others extend declares it for all of them).
            if !reported.insert((compose.clone(), *line)) {
                continue;
            }
            let hint = example
                .as_deref()
                .map(|x| format!(" (create it from {x})"))
                .unwrap_or_default();
            let mut f = RULE.finding(
                compose,
                *line,
                1,
                format!(
                    "`{}` reads env_file {file}, which does not exist{hint}: compose refuses to start the service.",
                    s.name
                ),
            );
            f.service = Some(s.name.clone());
            out.push(f);
        }
        let mut push = |line: usize, col: usize, msg: String| {
            let mut f = RULE.finding(&s.compose_rel, line, col, msg);
            f.service = Some(s.name.clone());
            out.push(f);
        };
        for (file, err) in &env.bad_env_files {
            push(
                svc.line,
                svc.col,
                format!(
                    "`{}` reads env_file {file}, which does not parse: {err}.",
                    s.name
                ),
            );
        }
        for r in &s.required_env {
            if r.source.starts_with("compose ") || env.provides(&r.value) || env.unknown {
                continue;
            }
            let how = match env.get(&r.value) {
                Some(g) => format!("its deployment sets it empty ({})", g.source),
                None => "its compose service does not set it".to_string(),
            };
            push(
                svc.line,
                svc.col,
                format!(
                    "`{}` requires {} ({}) but {how}.",
                    s.name, r.value, r.source
                ),
            );
        }
    }
}
