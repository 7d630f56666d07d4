use crate::finding::{Expect, Finding, Fix, Safety, Severity};
use crate::project::Project;
use crate::rules::scope::{entry_scripts, env_guard_safety, valid_name};
use crate::rules::{FixKind, Rule};
use crate::templates::{body, fill};

pub static RULE: Rule = Rule {
    code: "ENT008",
    name: "env-fail-fast",
    severity: Severity::Medium,
    fix: FixKind::Always(Safety::Safe),
    summary: "Entrypoint does not check the service's required variables",
    doc: r#"## What it checks
For services whose app is not Node or has no entry file prodsafe can edit,
the entrypoint script does not check at start the variables the service
certainly cannot run without (compose `${X:?...}`, `required_env` in
`prodsafe.toml`, the Prisma datasource when the app's code imports the
client). Variables the script assigns itself are left out. Node services
get the check in their entry file instead (APP001).

## Why it breaks production
The process starts, reports healthy for a while, and fails at the first
request that needs the database, or with a misleading error deep in a
driver. A check at start turns that into an immediate, clear exit.

## Example
```sh
#!/bin/sh
set -eu
exec ./server
```

Fixed:
```sh
#!/bin/sh
set -eu
: "${DATABASE_URL:?DATABASE_URL is required}"
exec ./server
```

## Fix (safe when every service running the image is given every name)
Unsafe otherwise (the check would stop a service that runs today; CMP005
names the gap). Inserts, after the strict-mode line (else after the shebang), one line per
variable from `templates/env-check.sh`:
```sh
: "${DATABASE_URL:?DATABASE_URL is required}"
```
"#,
    check,
};

fn check(p: &Project, out: &mut Vec<Finding>) {
    for ctx in entry_scripts(p) {
        let Some(img) = ctx.image else { continue };
        let s = ctx.script;
        let src = ctx.src;
        let mut required: Vec<String> = Vec::new();
        for &si in &img.services {
            let svc = &p.graph.services[si];
            let node_app = svc.node && svc.app_entry.is_some();
            if node_app {
                continue;
            }
            for r in &svc.required_env {
                if !required.contains(&r.value) && valid_name(&r.value) {
                    required.push(r.value.clone());
                }
            }
        }
        // Already checked: `${X:?...}` or `[ -z "$X" ]` style tests.
        required.retain(|name| {
            let guarded = s.expansions.iter().any(|e| {
                e.name == *name && src.text[e.offset..].starts_with(&format!("${{{name}:?"))
            });
            let tested = src.text.contains(&format!("-z \"${name}\""))
                || src.text.contains(&format!("-z \"${{{name}}}\""));
            !(guarded || tested)
        });
        // Set by the script itself (from a secret file, a default): a check
        // at the top would run before it.
        required.retain(|name| !s.assigned.iter().any(|a| &a.name == name));
        if required.is_empty() {
            continue;
        }
        // Safe only when every service running the image is given every name.
        let deployed = img.services.iter().copied().filter(|&si| {
            let svc = &p.graph.services[si];
            !(svc.node && svc.app_entry.is_some())
        });
        let (safety, unsafe_reason) = env_guard_safety(p, deployed, &required, "check");
        let eol = src.eol.as_str();
        let tpl = body(p.templates.get("env-check.sh"));
        let mut text = String::new();
        for name in &required {
            for l in fill(&tpl, &[("name", name)]).lines() {
                text.push_str(l);
                text.push_str(eol);
            }
        }
        let after_line = s
            .sets
            .iter()
            .find(|x| x.errexit)
            .map(|x| src.line_col(x.span.end).0)
            .or(s.shebang.as_ref().map(|_| 1))
            .unwrap_or(0);
        // Whole lines go in between statements only: never inside a
        // heredoc body, a `\`-continued line or a compound command.
        let at = s.boundary_at_or_after(src, crate::edit::after_line(src, after_line));
        let mut f = RULE.finding(
            &src.rel,
            after_line.max(1),
            1,
            format!(
                "The service requires {} but its entrypoint does not check at start: it will fail later and less clearly.",
                required.join(", ")
            ),
        );
        f.service = img
            .services
            .first()
            .map(|&i| p.graph.services[i].name.clone());
        f.fix = Some(Fix {
            title: format!("Check {} at start", required.join(", ")),
            safety,
            unsafe_reason,
            changes: vec![crate::finding::FileChange {
                path: src.rel.clone(),
                edits: vec![crate::edit::insert_lines(src, at, &text)],
                expect: vec![Expect::Reparse],
            }],
        });
        out.push(f);
    }
}
