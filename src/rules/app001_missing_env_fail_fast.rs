use std::collections::BTreeSet;

use crate::finding::{Edit, Expect, Finding, Fix, Safety, Severity};
use crate::project::Project;
use crate::rules::scope::valid_name;
use crate::rules::{FixKind, Rule};
use crate::templates::{body, fill, reindent_code};

pub static RULE: Rule = Rule {
    code: "APP001",
    name: "missing-env-fail-fast",
    severity: Severity::Medium,
    fix: FixKind::Sometimes(Safety::Safe),
    summary: "The app does not check its required environment variables at start",
    doc: r#"## What it checks
A Node service whose entry file does not validate, before anything else
runs, the variables it cannot start without. Required variables come from
the service's Prisma datasource (`env("DATABASE_URL")`), `process.env.X`
read without a fallback in the entry file or any module it imports
(relative imports are followed, `node_modules` is not),
`process.env.X!`, NestJS `getOrThrow('X')`, compose `${X:?...}`, and
`required_env` in `prodsafe.toml`. A read with `??`, `||`, in a condition
or with a default is optional.

## Why it breaks production
Without a check the service boots, passes a shallow healthcheck, and fails
at the first request that needs the value, with `undefined` deep in a
driver error, or, worse, silently uses `undefined` as a secret.

## Example
```ts
import express from 'express';
const db = connect(process.env.DATABASE_URL!);
```

Fixed:
```ts
import express from 'express';

const requiredEnvVars = ['DATABASE_URL'];
const missingVars = requiredEnvVars.filter((varName) => !process.env[varName]);
if (missingVars.length > 0) {
  console.error(`[FATAL] Missing required environment variables: ${missingVars.join(', ')}`);
  console.error('[FATAL] Service cannot start without these variables.');
  process.exit(1);
}
const db = connect(process.env.DATABASE_URL!);
```

## Fix (safe)
Inserts the guard from `templates/env-guard.ts` right after the import
block (after a shebang or `'use strict'`, after a multi-line import),
in the file's indentation, quotes and line endings:
```ts
const requiredEnvVars = ['DATABASE_URL'];
const missingVars = requiredEnvVars.filter((varName) => !process.env[varName]);
if (missingVars.length > 0) {
  console.error(`[FATAL] Missing required environment variables: ${missingVars.join(', ')}`);
  console.error('[FATAL] Service cannot start without these variables.');
  process.exit(1);
}
```
When a guard already exists (this pattern, written by hand or by
prodsafe), the missing names are added to its list instead.
"#,
    check,
};

fn check(p: &Project, out: &mut Vec<Finding>) {
    let mut done = BTreeSet::new();
    let mut by_entry: std::collections::HashMap<&str, Vec<usize>> =
        std::collections::HashMap::new();
    for (i, s) in p.graph.services.iter().enumerate() {
        if let Some(e) = s.app_entry.as_deref() {
            by_entry.entry(e).or_default().push(i);
        }
    }
    for s in &p.graph.services {
        let Some(entry) = s.app_entry.as_deref() else {
            continue;
        };
        if !s.node || !done.insert(entry.to_string()) {
            continue;
        }
        let (Some(app), Some(src)) = (p.app(entry), p.file(entry)) else {
            continue;
        };
        // Every service running this entry contributes its requirements.
        let mut required: Vec<(String, String)> = Vec::new();
        for other in by_entry[entry].iter().map(|&i| &p.graph.services[i]) {
            for r in &other.required_env {
                if valid_name(&r.value) && !required.iter().any(|(n, _)| *n == r.value) {
                    required.push((r.value.clone(), r.source.clone()));
                }
            }
        }
        let have: Vec<&str> = app
            .guard
            .as_ref()
            .map(|g| g.names.iter().map(String::as_str).collect())
            .unwrap_or_default();
        let missing: Vec<&(String, String)> = required
            .iter()
            .filter(|(n, _)| !have.contains(&n.as_str()))
            .collect();
        if missing.is_empty() {
            continue;
        }
        let names: Vec<&str> = missing.iter().map(|(n, _)| n.as_str()).collect();
        let sources: Vec<String> = missing
            .iter()
            .map(|(n, src)| format!("{n}: {src}"))
            .collect();
        let line = app
            .guard
            .as_ref()
            .map(|g| g.line)
            .unwrap_or(app.insert_after_line.max(1));
        let mut f = RULE.finding(
            entry,
            line,
            1,
            format!(
                "`{}` starts without checking {} ({}): a missing value fails later and less clearly.",
                s.name,
                names.join(", "),
                sources.join("; ")
            ),
        );
        f.service = Some(s.name.clone());
        let eol = src.eol.as_str();
        match &app.guard {
            Some(g) => {
                let q = g.quote;
                let list: Vec<String> = names.iter().map(|n| format!("{q}{n}{q}")).collect();
                let text = if g.empty {
                    list.join(", ")
                } else {
                    format!(", {}", list.join(", "))
                };
                f.fix = Some(Fix {
                    title: format!("Add {} to the existing start-up check", names.join(", ")),
                    safety: Safety::Safe,
                    unsafe_reason: None,
                    changes: vec![crate::finding::FileChange {
                        path: entry.to_string(),
                        edits: vec![Edit {
                            start: g.insert_at,
                            end: g.insert_at,
                            text,
                        }],
                        expect: vec![Expect::Reparse],
                    }],
                });
            }
            None if app
                .top_level_names
                .iter()
                .any(|n| n == "requiredEnvVars" || n == "missingVars") =>
            {
                f.no_fix_reason = Some(
                    "the file already declares `requiredEnvVars` or `missingVars` in another form"
                        .into(),
                );
            }
            None if app.parse_error_line.is_some() => {
                f.no_fix_reason = Some(format!(
                    "the file does not parse (line {})",
                    app.parse_error_line.unwrap()
                ));
            }
            None => {
                let q = app.quote.to_string();
                let list: Vec<String> = names.iter().map(|n| format!("{q}{n}{q}")).collect();
                let joined = list.join(", ");
                let guard = fill(
                    &body(p.templates.get("env-guard.ts")),
                    &[("names", &joined), ("q", &q)],
                );
                let guard = reindent_code(&guard, &app.indent, eol);
                let after = app.insert_after_line;
                let at = crate::edit::after_line(src, after);
                let text = if after == 0 {
                    format!("{guard}{eol}")
                } else {
                    format!("{eol}{guard}")
                };
                f.fix = Some(Fix {
                    title: format!("Check {} at start-up", names.join(", ")),
                    safety: Safety::Safe,
                    unsafe_reason: None,
                    changes: vec![crate::finding::FileChange {
                        path: entry.to_string(),
                        edits: vec![crate::edit::insert_lines(src, at, &text)],
                        expect: vec![Expect::Reparse],
                    }],
                });
            }
        }
        out.push(f);
    }
}
