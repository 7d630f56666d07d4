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
      test: ["CMD", "node", "-e", "require('http').get('http://localhost:3000/health', r=>process.exit(r.statusCode<400?0:1)).on('error',()=>process.exit(1))"]
```

## Evidence and safety
The probe's own URL (port and path) is what the replacement keeps; what it
accepts follows the tool it replaces (`curl -f` and `wget` fail on 4xx/5xx,
so the node probe passes below 400; plain `curl` passes on any answer, so
below 500). Where the URL has no port, the service's port fact is used
(see `prodsafe inventory`).

## Fix (safe, on Node images)
Replaces the probe with the node-based one from
`templates/healthcheck-node-any.yaml`. Safe when the URL gives port and
path; when the port or path comes from an inferred fact, the fix is safe
only if that fact is strong and uncontested, else unsafe naming it.
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

/// The node probe that passes on any HTTP answer below `threshold`.
pub fn node_probe_below(p: &Project, port: u16, path: &str, threshold: u16) -> Option<String> {
    let port = port.to_string();
    let snippet = fill(
        &body(p.templates.get("healthcheck-node-any.yaml")),
        &[("port", &port), ("path", &crate::templates::url_path(path))],
    );
    snippet.lines().find_map(|l| {
        l.trim_start().strip_prefix("test:").map(|v| {
            v.trim()
                .replace("r.statusCode<500", &format!("r.statusCode<{threshold}"))
        })
    })
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
        // The probe keeps what the project's own probe says (its URL) and
        // what it accepts: `curl -f` and `wget` fail on 4xx/5xx, plain
        // `curl` only when nothing answers.
        let mut weak: Vec<String> = Vec::new();
        let (port, path) = match url_re().captures(&joined) {
            Some(c) => (
                match c.get(1).and_then(|m| m.as_str().parse().ok()) {
                    Some(v) => Some(v),
                    None => {
                        weak.extend(s.port.as_ref().and_then(|x| x.weakness("port")));
                        s.port.as_ref().map(|x| x.value)
                    }
                },
                c.get(2)
                    .map(|m| m.as_str().to_string())
                    .unwrap_or_else(|| "/".into()),
            ),
            None => {
                weak.extend(s.port.as_ref().and_then(|x| x.weakness("port")));
                let path = match &s.health_route {
                    Some(r) => {
                        weak.extend(r.weakness("route"));
                        r.value.clone()
                    }
                    None => {
                        weak.push(
                            "no route known: the probe accepts any HTTP answer below 500".into(),
                        );
                        "/".into()
                    }
                };
                (s.port.as_ref().map(|x| x.value), path)
            }
        };
        // The image (and so which tools it has) must be known, not guessed.
        if let Some(why) = &s.dockerfile_by_name {
            weak.push(format!("image only guessed: {why}"));
        }
        let fails_on_4xx = joined.contains("wget")
            || joined.split_whitespace().any(|w| {
                w == "-f"
                    || w == "--fail"
                    || (w.starts_with('-') && !w.starts_with("--") && w.contains('f'))
            });
        let threshold = if fails_on_4xx { 400 } else { 500 };
        f.fix = if !s.node {
            f.no_fix_reason = Some("not a Node image: use a tool the image has".into());
            None
        } else {
            port.and_then(|port| node_probe_below(p, port, &path, threshold))
                .and_then(|probe| match &s.health {
                    Health::Compose { .. } => {
                        // The quote style of the file the probe lives in.
                        let q = match &s.health {
                            Health::Compose { file, .. } => p
                                .compose
                                .iter()
                                .find(|c| p.files[c.file].rel == *file)
                                .map(|c| c.doc.quote)
                                .unwrap_or(p.compose[s.compose].doc.quote),
                            _ => p.compose[s.compose].doc.quote,
                        };
                        let items: Vec<String> = serde_json::from_str(&probe).ok()?;
                        compose_fix(p, s, &crate::templates::yaml_flow_strings(&items, q), &weak)
                    }
                    Health::Image { file, line, .. } => {
                        dockerfile_fix(p, file, *line, &probe, &weak)
                    }
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

fn safety(weak: &[String]) -> (Safety, Option<String>) {
    if weak.is_empty() {
        (Safety::Safe, None)
    } else {
        (Safety::Unsafe, Some(weak.join("; ")))
    }
}

fn compose_fix(
    p: &Project,
    s: &crate::graph::ServiceNode,
    probe: &str,
    weak: &[String],
) -> Option<Fix> {
    let (safety, reason) = safety(weak);
    crate::rules::scope::replace_compose_test(
        p,
        s,
        format!("Use a node-based probe for `{}`", s.name),
        safety,
        reason,
        |_| Some(probe.to_string()),
    )
}

fn dockerfile_fix(
    p: &Project,
    file: &str,
    line: usize,
    probe: &str,
    weak: &[String],
) -> Option<Fix> {
    let (safety, unsafe_reason) = safety(weak);
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
        safety,
        unsafe_reason,
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
