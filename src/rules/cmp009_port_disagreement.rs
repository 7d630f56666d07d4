use crate::finding::{Finding, Severity};
use crate::graph::Strength;

use crate::project::Project;
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "CMP009",
    name: "port-disagreement",
    severity: Severity::High,
    fix: FixKind::None,
    summary:
        "The sources of a service's port disagree (code, EXPOSE, compose, nginx, other services)",
    doc: r#"## What it checks
Every source that names the port a service listens on, collected into its
port fact (`prodsafe inventory` lists them):
1. `prodsafe.toml` `[services.NAME] port` (strong);
2. the app's own `listen(...)` / `serve({ port })` / `next start`, read with
   the value the container gets: compose `environment`, Dockerfile `ENV`,
   else the default in the code (`process.env.PORT ?? 3000`, `next start`
   = 3000, `-p N`) (strong);
3. compose `ports` (container side), compose `expose`, a compose
   `environment.PORT` the code never reads, Dockerfile `EXPOSE`, `ENV PORT`,
   an nginx `upstream`/`proxy_pass` to the service, another service's
   `http://NAME:PORT` variable, another file's probe of the service (weak
   on their own).

Each declaration is a set (an image may `EXPOSE 3000 9229`): it agrees when
one of its values is the port. When the code (or `prodsafe.toml`) gives
the port, every declaration must agree with it. Without a strong source,
declarations that disagree only make the port weak: fixes using it are
unsafe, and no finding is raised.

## Example
```dockerfile
# apps/orders/Dockerfile
EXPOSE 6003
```
```ts
// apps/orders/src/main.ts
app.listen(Number(process.env.PORT ?? 6004));
```
Fixed (the owner decides which is right; here the code is):
```dockerfile
EXPOSE 6004
```

## Why it breaks production
Probes, proxies and port mappings go to a port nothing listens on: the
gateway answers 502, the healthcheck never passes, or the service is
unreachable, typically after a port was changed in one place only.

## Fix
None: which source is right is a decision for the owner. While the sources
disagree, no fix that depends on this port is offered as safe (CMP001,
CMP002, CMP004 fixes become unsafe and name the disagreement).
"#,
    check,
};

fn check(p: &Project, out: &mut Vec<Finding>) {
    for s in &p.graph.services {
        let Some(port) = &s.port else { continue };
        // Only strong sources disagreeing are a finding: a port from
        // declarations alone that disagree is merely weak (its fixes are
        // unsafe), not evidence of a bug.
        if !port.contested || port.strength != Strength::Strong {
            continue;
        }
        let disagreeing: Vec<&crate::graph::Evidence> =
            port.evidence.iter().filter(|e| e.disagrees).collect();
        if disagreeing.is_empty() {
            continue;
        }
        let svc = &p.compose[s.compose].services[s.index];
        let differing: Vec<String> = disagreeing.iter().map(|e| e.describe()).collect();
        let agreeing: Vec<String> = port
            .evidence
            .iter()
            .skip(1)
            .filter(|e| !e.disagrees)
            .map(|e| e.describe())
            .collect();
        let msg = if port.strength == Strength::Strong {
            format!(
                "`{}` listens on {} ({}), but {} say{} otherwise{}.",
                s.name,
                port.value,
                port.source,
                differing.join("; "),
                if differing.len() == 1 { "s" } else { "" },
                if agreeing.is_empty() {
                    String::new()
                } else {
                    format!(" (agreeing: {})", agreeing.join("; "))
                }
            )
        } else {
            format!(
                "`{}` has no port in its code and its declarations disagree: {} vs {}.",
                s.name,
                port.source,
                differing.join("; ")
            )
        };
        let mut f = RULE.finding(&s.compose_rel, svc.line, svc.col, msg);
        f.service = Some(s.name.clone());
        f.no_fix_reason = Some(
            "which source is right is the owner's decision; fixes that depend on this port are unsafe until they agree"
                .into(),
        );
        out.push(f);
    }
}
