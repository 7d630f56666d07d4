use std::collections::BTreeSet;

use crate::finding::{Edit, Expect, FileChange, Finding, Fix, Safety, Severity};
use crate::formats::appcode::AppFile;
use crate::formats::envuse::ValidationKind;
use crate::project::Project;
use crate::rules::scope::{env_guard_safety, valid_name};
use crate::rules::{FixKind, Rule};
use crate::templates::{body, fill, reindent_code};

pub static RULE: Rule = Rule {
    code: "APP001",
    name: "missing-env-fail-fast",
    severity: Severity::Medium,
    fix: FixKind::Sometimes(Safety::Safe),
    summary: "The app does not check its required environment variables at start",
    doc: r#"## What it checks
A Node service whose entry file does not check, before anything else
runs, the variables it certainly cannot start without. Read on the syntax
tree of the entry file and every module it reaches (relative imports,
workspace packages imported by name, tsconfig `paths`; never
`node_modules`), a variable is required when some path every start takes
reads it as a value with no default and no presence check: `??`, `||`,
ternaries and `&&` on it, `if (process.env.X)`, optional chaining,
try/catch, default parameters, destructuring defaults and reads that are
only logged make it optional; reads in callbacks, methods, or under an
unrelated condition are "maybe" (listed by `prodsafe inventory`, never
guarded). Also required: what the app's own validation demands, the
Prisma datasource when reachable code imports the Prisma client, compose
`${X:?}`, `required_env` in `prodsafe.toml`. Front-end build-time
variables (`PUBLIC_URL`, `REACT_APP_*`, `NEXT_PUBLIC_*`, `VITE_*`) are
not runtime needs.

Existing validation counts as the guard: envalid `cleanEnv`, zod
`.parse(process.env)`, `@t3-oss/env` `createEnv`, Joi `validationSchema`
(`.required()`), `ConfigService.getOrThrow`, and hand-written checks
(`if (!process.env.X) throw`, through a local variable, or a list of
names checked against `process.env` followed by exit/throw, recognised by
what it does, not by its name).

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

## Fix (safe when the deployment gives every name, else unsafe)
When the app has a name-list guard, the missing names are added to its
array (as syntax: a separator, the file's quotes; template-literal
elements kept). When it validates with a library, no second guard: the
keys are added to its schema object (`NAME: str()` for envalid,
`NAME: z.string()` for zod / `@t3-oss/env` `server`) when that validator
is imported in the file, else the finding says where to add them. Otherwise the guard from
`templates/env-guard.ts` goes after the imports and after dotenv loading
(`dotenv.config()`, `config()` from dotenv, `import 'dotenv/config'`),
on a statement boundary of the syntax tree (never inside a comment), in
the file's indentation, quotes and line endings:
```ts
const requiredEnvVars = ['DATABASE_URL'];
const missingVars = requiredEnvVars.filter((varName) => !process.env[varName]);
if (missingVars.length > 0) {
  console.error(`[FATAL] Missing required environment variables: ${missingVars.join(', ')}`);
  console.error('[FATAL] Service cannot start without these variables.');
  process.exit(1);
}
```
No fix when dotenv is loaded inside a function, when code reads a name
before the earliest place a guard can go, or when an imported module
throws at import on an unset name. The fix is unsafe when a compose
service running the entry is not given a name (compose `environment`,
`env_file`, image `ENV`, entrypoint exports): the guard would stop a
service that runs today; CMP005 names the gap. The edit is verified on
the syntax tree: every token outside it comes back with the same
ancestry, and the inserted text forms whole statements or elements.
"#,
    check,
};

/// Where a new guard goes: the line after which it is inserted, or why
/// it cannot go anywhere safe.
pub fn placement(app: &AppFile, names: &[&str]) -> Result<usize, String> {
    let e = &app.env;
    // After the imports (and requires, directives) ...
    let mut anchor: Option<usize> = e.prologue.checked_sub(1);
    // ... and after dotenv loading at the top level.
    for l in &e.loads {
        match l.stmt {
            Some(i) => anchor = Some(anchor.map_or(i, |a| a.max(i))),
            None => {
                return Err(format!(
                    "the `.env` file is loaded inside {} (line {}): a guard at module level would run before it",
                    l.func
                        .as_deref()
                        .map(|f| format!("`{f}()`"))
                        .unwrap_or_else(|| "a function".into()),
                    l.line
                ))
            }
        }
    }
    let mut line = match anchor {
        Some(i) => e.stmts[i].3,
        None if e.shebang => 1,
        None => 0,
    };
    // Code that reads a guarded name before that point.
    if let Some(i) = anchor {
        let start_line = e.stmts[i].2;
        if let Some(u) = e.uses.iter().find(|u| {
            u.func.is_none()
                && u.line < start_line
                && names.contains(&u.name.as_str())
                && !e
                    .stmts
                    .iter()
                    .any(|(_, _, a, b, pro)| *pro && *a <= u.line && u.line <= *b)
        }) {
            return Err(format!(
                "`{}` is read at line {} before the earliest place a guard can go (after line {})",
                u.name, u.line, line
            ));
        }
    }
    // Never inside a statement or a comment that spans the line break.
    loop {
        let spans = e.stmts.iter().map(|(_, _, a, b, _)| (*a, *b));
        let next = spans
            .chain(e.comments.iter().copied())
            .filter(|(a, b)| *a <= line && *b > line)
            .map(|(_, b)| b)
            .max();
        match next {
            Some(b) => line = b,
            None => break,
        }
    }
    Ok(line)
}

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
        let app_env = crate::env::app_env(p, entry);
        // Every service running this entry contributes its requirements.
        let mut required: Vec<(String, String)> = Vec::new();
        for other in by_entry[entry].iter().map(|&i| &p.graph.services[i]) {
            for r in &other.required_env {
                if valid_name(&r.value) && !required.iter().any(|(n, _)| *n == r.value) {
                    required.push((r.value.clone(), r.source.clone()));
                }
            }
        }
        let missing: Vec<&(String, String)> = required
            .iter()
            .filter(|(n, _)| !app_env.validated(n))
            .collect();
        if missing.is_empty() {
            continue;
        }
        let names: Vec<&str> = missing.iter().map(|(n, _)| n.as_str()).collect();
        let sources: Vec<String> = missing
            .iter()
            .map(|(n, src)| format!("{n}: {src}"))
            .collect();
        // The guard to extend: a name list checked against process.env (at
        // module level and in the entry file first).
        let list = app_env
            .validations
            .iter()
            .filter(|(_, v)| v.array.is_some())
            .min_by_key(|(f, v)| (!v.at_start, f != entry, f.clone()));
        // A validation library owns the app's environment: extend it there.
        // Hand-written checks and `getOrThrow` cover only their own names.
        let other_validation = app_env.validations.iter().find(|(_, v)| {
            matches!(
                v.kind,
                ValidationKind::Envalid
                    | ValidationKind::Zod
                    | ValidationKind::T3Env
                    | ValidationKind::Joi
            )
        });
        let line = list
            .filter(|(f, _)| f == entry)
            .map(|(_, v)| v.line)
            .unwrap_or(
                app.env
                    .stmts
                    .get(app.env.prologue.wrapping_sub(1))
                    .map_or(1, |x| x.3.max(1)),
            );
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
        // Safe only when every deployment of this entry provides every name.
        let (safety, unsafe_reason) =
            env_guard_safety(p, by_entry[entry].iter().copied(), &names, "guard");
        let eol = src.eol.as_str();
        match (list, other_validation) {
            (Some((file, v)), _) => {
                let arr = v.array.as_ref().expect("filtered on array");
                let Some(fsrc) = p.file(file) else { continue };
                let q = arr.quote;
                let list: Vec<String> = names
                    .iter()
                    .map(|n| match &arr.value {
                        Some(v) => format!("{n}: {v}"),
                        None => format!("{q}{n}{q}"),
                    })
                    .collect();
                let sep = if arr.separator.contains('\n') {
                    arr.separator
                        .replace("\r\n", "\n")
                        .replace('\n', fsrc.eol.as_str())
                } else {
                    arr.separator.clone()
                };
                let text = if arr.empty {
                    list.join(", ")
                } else {
                    format!("{sep}{}", list.join(&sep))
                };
                f.fix = Some(Fix {
                    title: match v.kind {
                        ValidationKind::NameList => {
                            format!("Add {} to the existing start-up check", names.join(", "))
                        }
                        k => format!("Add {} to the app's {}", names.join(", "), k.label()),
                    },
                    safety,
                    unsafe_reason,
                    changes: vec![FileChange {
                        path: file.clone(),
                        edits: vec![Edit {
                        start: arr.insert_at,
                        end: arr.insert_at,
                        text,
                    }],
                        expect: vec![Expect::Reparse],
                    }],
                });
            }
            (None, Some((file, v))) => {
                f.no_fix_reason = Some(format!(
                    "the app already validates its environment with {} at {file}:{}: add {} there instead of a second guard",
                    v.kind.label(),
                    v.line,
                    names.join(", ")
                ));
            }
            (None, None)
                if app
                    .env
                    .top_level_names
                    .iter()
                    .any(|n| n == "requiredEnvVars" || n == "missingVars") =>
            {
                f.no_fix_reason = Some(
                    "the file already declares `requiredEnvVars` or `missingVars` in another form"
                        .into(),
                );
            }
            (None, None) if app.parse_error_line.is_some() => {
                f.no_fix_reason = Some(format!(
                    "the file does not parse (line {})",
                    app.parse_error_line.unwrap()
                ));
            }
            (None, None) => match placement(app, &names).and_then(|l| {
                // A module the entry imports that throws at import when a
                // name is unset runs before any guard in the entry.
                let early = p.app_closure(entry).into_iter().find_map(|m| {
                    let rel = &p.files[m.file].rel;
                    (rel != entry)
                        .then(|| {
                            m.env.uses.iter().find(|u| {
                                u.throws && u.func.is_none() && names.contains(&u.name.as_str())
                            })
                        })
                        .flatten()
                        .map(|u| (rel.clone(), u))
                });
                match early {
                    Some((rel, u)) => Err(format!(
                        "`{}` is used at {rel}:{} as soon as that module is imported, before any guard in the entry can run",
                        u.name, u.line
                    )),
                    None => Ok(l),
                }
            }) {
                Err(why) => f.no_fix_reason = Some(why),
                Ok(after) => {
                    let q = app.quote.to_string();
                    let list: Vec<String> = names.iter().map(|n| format!("{q}{n}{q}")).collect();
                    let joined = list.join(", ");
                    let guard = fill(
                        &body(p.templates.get("env-guard.ts")),
                        &[("names", &joined), ("q", &q)],
                    );
                    let guard = reindent_code(&guard, &app.indent, eol);
                    let at = crate::edit::after_line(src, after);
                    let text = if after == 0 {
                        format!("{guard}{eol}")
                    } else {
                        format!("{eol}{guard}")
                    };
                    f.fix = Some(Fix {
                        title: format!("Check {} at start-up", names.join(", ")),
                        safety,
                        unsafe_reason,
                        changes: vec![FileChange {
                            path: entry.to_string(),
                            edits: vec![crate::edit::insert_lines(src, at, &text)],
                            expect: vec![Expect::Reparse],
                        }],
                    });
                }
            },
        }
        out.push(f);
    }
}
