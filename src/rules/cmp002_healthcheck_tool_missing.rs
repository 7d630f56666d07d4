use crate::finding::{Edit, Expect, Finding, Fix, Safety, Severity};
use crate::graph::Health;
use crate::images;
use crate::project::Project;
use crate::rules::scope::images as all_images;
use crate::rules::{FixKind, Rule};
use crate::templates::{body, fill};

pub static RULE: Rule = Rule {
    code: "CMP002",
    name: "healthcheck-tool-missing",
    severity: Severity::High,
    fix: FixKind::Sometimes(Safety::Safe),
    summary: "Healthcheck uses curl/wget/bash that the image lacks",
    doc: r#"## What it checks
A compose `healthcheck.test` or a Dockerfile `HEALTHCHECK` that runs
`curl`, `wget` or `bash` when the runtime image does not have it (from the
base image table: `node:*-alpine` has busybox `wget` but no `curl` or
`bash`, `node:*-slim` has neither `curl` nor `wget`, distroless has no
shell; and from what the final stage installs).

## Why it breaks production
The probe fails with `exec: "curl": executable file not found` every time:
the container is marked unhealthy forever, dependents with
`condition: service_healthy` never start, and orchestrators restart a
perfectly good service in a loop.

## Example
```yaml
services:
  api:
    image: node:20-alpine
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost:3000/health"]
```

Fixed:
```yaml
services:
  api:
    image: node:20-alpine
    healthcheck:
      test: ["CMD", "node", "-e", "require('http').get('http://localhost:3000/health', r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"]
```

## Fix (safe, on Node images)
Replaces the probe with the node-based one from
`templates/healthcheck-node.yaml`, keeping the URL's port and path.
"#,
    check,
};

fn url_re() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            r"https?://(?:localhost|127\.0\.0\.1|0\.0\.0\.0)(?::(\d+))?(/[A-Za-z0-9._~/-]*)?",
        )
        .unwrap()
    })
}

/// The missing tool a probe uses, if any.
pub fn tools_used(test: &[String]) -> Vec<&'static str> {
    let joined = test.join(" ");
    ["curl", "wget", "bash"]
        .into_iter()
        .filter(|t| {
            joined
                .split(|c: char| {
                    c.is_whitespace() || c == '"' || c == '\'' || c == ';' || c == '&' || c == '|'
                })
                .any(|w| w == *t || w.ends_with(&format!("/{t}")))
        })
        .collect()
}

/// The node probe's `test` value (flow sequence) for a port and path.
pub fn node_probe(p: &Project, port: u16, path: &str) -> Option<String> {
    let port = port.to_string();
    let snippet = fill(
        &body(p.templates.get("healthcheck-node.yaml")),
        &[("port", &port), ("path", &crate::templates::url_path(path))],
    );
    snippet.lines().find_map(|l| {
        l.trim_start()
            .strip_prefix("test:")
            .map(|v| v.trim().to_string())
    })
}

fn check(p: &Project, out: &mut Vec<Finding>) {
    let imgs = all_images(p);
    let by_df: std::collections::HashMap<&str, usize> = imgs
        .iter()
        .enumerate()
        .map(|(i, c)| (c.img.dockerfile.as_str(), i))
        .collect();
    for s in &p.graph.services {
        let ctx = s
            .dockerfile
            .as_deref()
            .and_then(|d| by_df.get(d).map(|&i| &imgs[i]));
        let has = |tool: &str| match ctx {
            Some(c) => c.has_tool(tool),
            None => s.image.as_deref().and_then(|i| images::provides(i, tool)),
        };
        let (test, file, line) = match &s.health {
            Health::Compose { test, file, line } => (test.clone(), file.clone(), *line),
            Health::Image {
                command,
                file,
                line,
            } => (vec![command.clone()], file.clone(), *line),
            _ => continue,
        };
        let missing: Vec<&str> = tools_used(&test)
            .into_iter()
            .filter(|t| has(t) == Some(false))
            .collect();
        if missing.is_empty() {
            continue;
        }
        let image = s.image.clone().unwrap_or_default();
        let mut f = RULE.finding(
            &file,
            line,
            p.file(&file).map(|f| f.first_col(line)).unwrap_or(1),
            format!(
                "The healthcheck of `{}` runs {} which `{image}` does not have: it can never pass.",
                s.name,
                missing.join(", ")
            ),
        );
        f.service = Some(s.name.clone());
        let joined = test.join(" ");
        let (port, path) = match url_re().captures(&joined) {
            Some(c) => (
                c.get(1)
                    .and_then(|m| m.as_str().parse().ok())
                    .or(s.port.as_ref().map(|x| x.value)),
                c.get(2)
                    .map(|m| m.as_str().to_string())
                    .unwrap_or_else(|| "/".into()),
            ),
            None => (
                s.port.as_ref().map(|x| x.value),
                s.health_path.value.clone(),
            ),
        };
        f.fix = if !s.node {
            f.no_fix_reason = Some("not a Node image: use a tool the image has".into());
            None
        } else {
            port.and_then(|port| node_probe(p, port, &path))
                .and_then(|probe| match &s.health {
                    Health::Compose { .. } => {
                        let q = p.compose[s.compose].doc.quote;
                        let items: Vec<String> = serde_json::from_str(&probe).ok()?;
                        compose_fix(p, s, &crate::templates::yaml_flow_strings(&items, q))
                    }
                    Health::Image { file, line, .. } => dockerfile_fix(p, file, *line, &probe),
                    _ => None,
                })
        };
        if f.fix.is_none() && f.no_fix_reason.is_none() {
            f.no_fix_reason = Some(
                "the probe is not a one-line value prodsafe can replace, or no port is known"
                    .into(),
            );
        }
        out.push(f);
    }
}

fn compose_fix(p: &Project, s: &crate::graph::ServiceNode, probe: &str) -> Option<Fix> {
    crate::rules::scope::replace_compose_test(
        p,
        s,
        format!("Use a node-based probe for `{}`", s.name),
        Safety::Safe,
        None,
        |_| Some(probe.to_string()),
    )
}

fn dockerfile_fix(p: &Project, file: &str, line: usize, probe: &str) -> Option<Fix> {
    let df = p.dockerfile(file)?;
    let src = p.file(file)?;
    let ins = df
        .instructions
        .iter()
        .find(|i| i.line == line && i.keyword == "HEALTHCHECK")?;
    if src.text[ins.span.clone()].contains('\n') {
        return None;
    }
    let cmd_at = src.text[ins.span.clone()].find(" CMD ")? + ins.span.start + 1;
    // The compose flow sequence minus "CMD" is the exec form Docker takes.
    let words: Vec<String> = serde_json::from_str(probe).ok()?;
    let json = serde_json::to_string(&words[1..])
        .ok()?
        .replace("\",\"", "\", \"");
    Some(Fix {
        title: "Use a node-based HEALTHCHECK".into(),
        safety: Safety::Safe,
        unsafe_reason: None,
        changes: vec![crate::finding::FileChange {
            path: file.to_string(),
            edits: vec![Edit {
                start: cmd_at,
                end: ins.span.end,
                text: format!("CMD {json}"),
            }],
            expect: vec![Expect::Reparse],
        }],
    })
}
