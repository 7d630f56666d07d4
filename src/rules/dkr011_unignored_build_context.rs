use std::path::Path;

use crate::finding::{Finding, Severity};
use crate::project::{join, Project};
use crate::rules::scope::images;
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "DKR011",
    name: "unignored-build-context",
    severity: Severity::Medium,
    fix: FixKind::None,
    summary: "Whole build context copied without a .dockerignore that excludes secrets and junk",
    doc: r#"## What it checks
`COPY . .` (or any copy of the whole context) when the context has no
`.dockerignore` (nor `<Dockerfile>.dockerignore`), or one that does not
exclude `.env*` files, `node_modules` or `.git` that exist in the context.

## Why it breaks production
`.env` files with production secrets end up in image layers anyone with
pull access can read; a host `node_modules` (built for another OS or libc)
overwrites the one installed in the image and native modules crash at
start; `.git` bloats the image and invalidates the cache on every commit.

## Example
```dockerfile
# no .dockerignore next to the Dockerfile; .env and node_modules exist
COPY . .
```

Fixed:
```dockerfile
# .dockerignore:
#   .git
#   node_modules
#   **/node_modules
#   .env
#   .env.*
COPY . .
```

## Fix
None automatic: add the entries to `.dockerignore`:
```
.git
node_modules
**/node_modules
.env
.env.*
```
"#,
    check,
};

fn check(p: &Project, out: &mut Vec<Finding>) {
    for ctx in images(p) {
        let whole = ctx
            .df
            .stage_instrs(ctx.stage)
            .iter()
            .chain(ctx.df.instructions.iter())
            .find(|i| {
                matches!(i.keyword.as_str(), "COPY" | "ADD") && i.flag("from").is_none() && {
                    let w = i.words();
                    w.len() >= 2 && w[..w.len() - 1].iter().any(|s| s == "." || s == "./")
                }
            });
        let Some(ins) = whole else { continue };
        let context = &ctx.img.context;
        let mut present: Vec<(String, bool)> = p
            .context_sensitive
            .get(context)
            .map(|v| v.iter().map(|n| (n.clone(), true)).collect())
            .unwrap_or_default();
        let prefix = if context.is_empty() {
            String::new()
        } else {
            format!("{context}/")
        };
        for path in p.secret_env_files.iter().filter(|x| x.starts_with(&prefix)) {
            present.push((path[prefix.len()..].to_string(), false));
        }
        present.sort();
        if present.is_empty() {
            continue;
        }
        let df_ignore = format!("{}.dockerignore", ctx.img.dockerfile);
        let ctx_ignore = join(context, ".dockerignore").unwrap_or_default();
        let ignore_file = [df_ignore, ctx_ignore]
            .into_iter()
            .find(|f| p.all_paths.contains(f));
        let not_excluded: Vec<String> = match &ignore_file {
            None => present.iter().map(|(n, _)| n.clone()).collect(),
            Some(f) => {
                let Some(src) = p.file(f) else { continue };
                let mut b = ignore::gitignore::GitignoreBuilder::new(Path::new("/ctx"));
                for line in src.text.lines() {
                    let _ = b.add_line(None, line.trim_end_matches('\r'));
                }
                let Ok(gi) = b.build() else { continue };
                present
                    .iter()
                    .filter(|(n, is_dir)| {
                        !gi.matched_path_or_any_parents(Path::new("/ctx").join(n), *is_dir)
                            .is_ignore()
                    })
                    .map(|(n, _)| n.clone())
                    .collect()
            }
        };
        if not_excluded.is_empty() {
            continue;
        }
        let shown = if context.is_empty() {
            "."
        } else {
            context.as_str()
        };
        out.push(RULE.finding(
            &ctx.img.dockerfile,
            ins.line,
            ctx.col(ins),
            match &ignore_file {
                None => format!("`{}` copies the whole context `{shown}` and there is no .dockerignore: {} go into the image.", ins.args.trim(), not_excluded.join(", ")),
                Some(f) => format!("`{}` copies the whole context `{shown}` and {f} does not exclude {}.", ins.args.trim(), not_excluded.join(", ")),
            },
        ));
    }
}
