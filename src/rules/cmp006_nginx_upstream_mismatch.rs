use crate::finding::{Finding, Severity};
use crate::formats::nginx::Target;
use crate::project::Project;
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "CMP006",
    name: "nginx-upstream-mismatch",
    severity: Severity::High,
    fix: FixKind::None,
    summary: "nginx proxies to a host that is no compose service",
    doc: r#"## What it checks
Each `server host:port` in an nginx `upstream` block and each
`proxy_pass http://host:port` that is not an upstream's name: the host
must be a compose service. Hosts with a dot (external names), IP addresses
and `localhost` are left alone. A port that differs from the one the
service listens on is one of that port's sources disagreeing: CMP009
reports it, once, with every source.

## Why it breaks production
nginx starts (or fails with `host not found in upstream`), and every
request to that route gets a 502: the service was renamed in compose, or
its port changed, and the proxy config was not updated.

## Example
```nginx
# compose: logger-service listens on 6008
location /logs/ { proxy_pass http://logger-service:6009; }
```

Fixed:
```nginx
location /logs/ { proxy_pass http://logger-service:6008; }
```

## Fix
None automatic: point the upstream at the service's name and port.
"#,
    check,
};

fn check(p: &Project, out: &mut Vec<Finding>) {
    if p.graph.services.is_empty() {
        return;
    }
    for conf in &p.nginx {
        let rel = &p.files[conf.file].rel;
        let names: Vec<&str> = conf.upstreams.iter().map(|u| u.name.as_str()).collect();
        let mut targets: Vec<&Target> = conf
            .upstreams
            .iter()
            .flat_map(|u| u.servers.iter())
            .collect();
        targets.extend(
            conf.proxy_passes
                .iter()
                .filter(|t| !names.contains(&t.host.as_str())),
        );
        for t in targets {
            let h = t.host.as_str();
            if h.contains('.')
                || h == "localhost"
                || h.starts_with('[')
                || h.starts_with('$')
                || h.starts_with("unix:")
            {
                continue;
            }
            let svc = p.graph.service_named(h);
            let msg = match svc {
                None => format!("nginx proxies to `{h}`, which is no compose service: requests to it fail with 502."),
                // A wrong port is one of the port's sources disagreeing:
                // CMP009 reports it once, with every source.
                Some(_) => continue,
            };
            out.push(RULE.finding(rel, t.line, t.col, msg));
        }
    }
}
