use crate::edit::insert_lines;
use crate::finding::{Expect, FileChange, Finding, Fix, Safety, Severity};
use crate::images;
use crate::project::Project;
use crate::rules::scope::images as image_ctxs;
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "DKR013",
    name: "prisma-openssl-missing",
    severity: Severity::High,
    fix: FixKind::Sometimes(Safety::Safe),
    summary: "Prisma on a Debian `-slim` runtime image without OpenSSL",
    doc: r#"## What it checks
A service that uses Prisma whose runtime image is a Debian `-slim` image
(`node:20-slim`, `node:22-bookworm-slim`) and whose runtime stage (or a
stage it builds on) never installs `openssl` / `libssl`.

## Why it breaks production
Prisma's query engine links against libssl. The slim images do not ship
it: the build succeeds, and at the first query the app fails with
`Prisma failed to detect the libssl/openssl version` / `Unable to require
libquery_engine-debian-openssl-3.0.x.so.node`.

## Example
```dockerfile
FROM node:20-slim
COPY --from=builder /app/node_modules ./node_modules
CMD ["node", "dist/main.js"]
```

Fixed:
```dockerfile
FROM node:20-slim
RUN apt-get update -y && apt-get install -y --no-install-recommends openssl && rm -rf /var/lib/apt/lists/*
COPY --from=builder /app/node_modules ./node_modules
CMD ["node", "dist/main.js"]
```

## Fix (safe)
Adds `RUN apt-get update -y && apt-get install -y --no-install-recommends
openssl && rm -rf /var/lib/apt/lists/*` right after the runtime stage's
`FROM` (still as root).
"#,
    check,
};

fn check(p: &Project, out: &mut Vec<Finding>) {
    for ctx in image_ctxs(p) {
        let uses_prisma = ctx
            .img
            .services
            .iter()
            .any(|&i| p.graph.services[i].prisma.is_some());
        if !uses_prisma {
            continue;
        }
        let base = ctx.df.root_image(ctx.stage);
        let (_, tag) = images::name_and_tag(&base);
        if images::distro(&base) != images::Distro::Slim || !tag.contains("slim") {
            continue;
        }
        let has_ssl = ctx
            .installs()
            .iter()
            .any(|t| t == "openssl" || t.starts_with("libssl"));
        if has_ssl {
            continue;
        }
        let from = &ctx.df.instructions[ctx.stage.instrs.start];
        let mut f = RULE.finding(
            &ctx.img.dockerfile,
            from.line,
            ctx.col(from),
            format!("The service uses Prisma and runs on `{base}`, which has no OpenSSL: the query engine fails to load at the first query."),
        );
        let src = ctx.src;
        let (end_line, _) = src.line_col(from.span.end);
        let eol = src.eol.as_str();
        f.fix = Some(Fix {
            title: "Install openssl in the runtime stage".into(),
            safety: Safety::Safe,
            unsafe_reason: None,
            changes: vec![FileChange {
                path: ctx.img.dockerfile.clone(),
                edits: vec![insert_lines(
                    src,
                    crate::edit::after_line(src, end_line),
                    &format!("RUN apt-get update -y && apt-get install -y --no-install-recommends openssl && rm -rf /var/lib/apt/lists/*{eol}"),
                )],
                expect: vec![Expect::Reparse],
            }],
        });
        out.push(f);
    }
}
