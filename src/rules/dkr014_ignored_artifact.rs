use crate::finding::{Finding, Severity};
use crate::project::{join, Project};
use crate::rules::build_chain::copy_parts;
use crate::rules::dkr015_commented_build_step::is_build;
use crate::rules::scope::images;
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "DKR014",
    name: "ignored-artifact",
    severity: Severity::Critical,
    fix: FixKind::None,
    summary: "The image copies a build output (`dist/`) that no stage builds and `.gitignore` keeps out of the repository",
    doc: r#"## What it checks
A `COPY`/`ADD` from the build context (not `--from`) whose source is not in
the repository because a `.gitignore` excludes it (`dist/`, `build/`,
`.next/`), in a Dockerfile where no stage produces it.

## Why it breaks production
On the developer's machine the folder exists, so the image builds and
works. In CI or on another machine (a clean checkout) it does not: the build
fails with `"/dist": not found`, or, where an old copy lies around, the
image ships stale code that matches no commit.

## Example
```dockerfile
FROM node:20-alpine
COPY dist ./dist          # dist/ is in .gitignore
CMD ["node", "dist/main.js"]
```

Fixed:
```dockerfile
FROM node:20-alpine AS builder
COPY . .
RUN npm ci && npm run build
FROM node:20-alpine
COPY --from=builder /app/dist ./dist
CMD ["node", "dist/main.js"]
```

Not reported when a CI workflow job builds the app before it builds
images (a `run` step with `npm run build`, `nx ... build`, `turbo build`,
... and a `docker build` / `build-push-action` step in the same job): the
pipeline then provides the folder; nor for `dist/...` in an Nx workspace
(`nx.json`), where the container target depends on the build. One finding per Dockerfile, naming
every such source.

## Fix
None automatic: build it in a stage (`RUN npm run build` in a builder,
then `COPY --from=builder /app/dist ./dist`), or make sure the pipeline
builds it before `docker build`.
"#,
    check,
};

/// Whether a workflow job builds the app and then images.
fn ci_builds_first(p: &Project) -> bool {
    p.workflows.iter().any(|w| {
        w.jobs.iter().any(|j| {
            let builds_app = j.steps.iter().any(|s| {
                s.run.as_deref().is_some_and(|r| {
                    r.split(['\n', '&', ';', '|']).any(|l| {
                        let words: Vec<&str> = l.split_whitespace().collect();
                        is_build(&words)
                            || (l.contains("nx ") && l.contains("build") && !l.contains("docker"))
                    })
                })
            });
            let builds_image = j.steps.iter().any(|s| {
                s.uses
                    .as_deref()
                    .is_some_and(|u| u.contains("build-push-action"))
                    || s.run.as_deref().is_some_and(|r| {
                        r.contains("docker build")
                            || r.contains("docker buildx build")
                            || r.contains("docker compose build")
                            || r.contains("docker:build")
                    })
            });
            builds_app && builds_image
        })
    })
}

fn check(p: &Project, out: &mut Vec<Finding>) {
    if p.gitignores.is_empty() || ci_builds_first(p) {
        return;
    }
    let nx = p.all_paths.contains("nx.json");
    for ctx in images(p) {
        let mut first: Option<(usize, usize, String)> = None;
        let mut names: Vec<String> = Vec::new();
        for ins in &ctx.df.instructions {
            if ins.flag("from").is_some() {
                continue;
            }
            let Some((srcs, _)) = copy_parts(ins) else {
                continue;
            };
            for s in &srcs {
                if s.contains(['*', '?', '[', '$']) || s.contains("://") {
                    continue;
                }
                let Some(rel) = join(&ctx.img.context, s) else {
                    continue;
                };
                if rel.is_empty() || p.exists(&rel) {
                    continue;
                }
                let dir = s.ends_with('/') || !rel.rsplit('/').next().unwrap_or("").contains('.');
                if !p.git_ignored(&rel, dir) {
                    continue;
                }
                // Nx builds its `dist/` outputs as a dependency of the
                // container target (`nx run app:package:container`).
                if nx && (rel == "dist" || rel.starts_with("dist/")) {
                    continue;
                }
                if first.is_none() {
                    first = Some((ins.line, ctx.col(ins), ins.keyword.clone()));
                }
                if !names.contains(&rel) {
                    names.push(rel);
                }
            }
        }
        if let Some((line, col, kw)) = first {
            let list = names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ");
            out.push(RULE.finding(
                &ctx.img.dockerfile,
                line,
                col,
                format!("`{kw}` copies {list} from the build context, which .gitignore keeps out of the repository and no stage builds: a clean checkout (CI) fails with `not found`, a dirty one ships whatever stale copy is there."),
            ));
        }
    }
}
