use crate::finding::{Finding, Severity};
use crate::project::Project;
use crate::rules::scope::{images, is_prisma_generate};
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "DKR002",
    name: "runtime-prisma-generate",
    severity: Severity::High,
    fix: FixKind::None,
    summary: "Prisma client generated in the runtime stage or at start, or never",
    doc: r#"## What it checks
`prisma generate` in the final stage of a multi-stage build or in its
CMD/ENTRYPOINT; and a service that uses Prisma whose builder stage never
generates the client.

## Why it breaks production
The runtime stage should only copy artifacts: generating there needs the
Prisma CLI and engines in the runtime image (or downloads them), and at
container start it also needs write access to `node_modules` as a non-root
user. A client that is never generated fails at the first query with
`@prisma/client did not initialize yet`.

## Example
```dockerfile
FROM node:20-alpine AS runtime
COPY --from=builder /app/node_modules ./node_modules
RUN npx prisma generate
CMD ["node", "dist/main.js"]
```

Fixed:
```dockerfile
# builder stage: RUN npx prisma generate
FROM node:20-alpine AS runtime
COPY --from=builder /app/node_modules ./node_modules
COPY --from=builder /app/node_modules/.prisma ./node_modules/.prisma
CMD ["node", "dist/main.js"]
```

## Fix
None automatic: run `prisma generate` in the builder stage and copy
`node_modules/.prisma` (and `@prisma/client`) into the runtime stage.
"#,
    check,
};

fn check(p: &Project, out: &mut Vec<Finding>) {
    for ctx in images(p) {
        let multi = ctx.df.stages.len() > 1;
        let gen_in = |ins: &&crate::formats::dockerfile::Instruction| {
            ins.keyword == "RUN" && ins.args.contains("prisma") && ins.args.contains("generate")
        };
        let mut runtime_gen = false;
        if multi {
            for ins in ctx.df.stage_instrs(ctx.stage).iter().filter(|i| gen_in(i)) {
                runtime_gen = true;
                out.push(RULE.finding(
                    &ctx.img.dockerfile,
                    ins.line,
                    ctx.col(ins),
                    "`prisma generate` in the runtime stage: generate the client in the builder stage and copy it in.".into(),
                ));
            }
        }
        if is_prisma_generate(&ctx.img.command) {
            runtime_gen = true;
            out.push(RULE.finding(
                &ctx.img.dockerfile,
                ctx.img.command_line.unwrap_or(1),
                1,
                "The container command runs `prisma generate` at start.".into(),
            ));
        }
        let uses_prisma = ctx
            .img
            .services
            .iter()
            .any(|&i| p.graph.services[i].prisma.is_some());
        let builder_gen = ctx.df.stages[..ctx.df.stages.len() - 1]
            .iter()
            .any(|st| ctx.df.stage_instrs(st).iter().any(|i| gen_in(&i)));
        let script_gen = ctx
            .img
            .entry_script
            .as_deref()
            .and_then(|s| p.script(s))
            .is_some_and(|s| {
                s.commands
                    .iter()
                    .any(|c| is_prisma_generate(&crate::rules::scope::cmd_words(c)))
            });
        if uses_prisma && multi && !builder_gen && !runtime_gen && !script_gen {
            out.push(RULE.finding(
                &ctx.img.dockerfile,
                ctx.df.stages[0].from_line,
                1,
                "The service uses Prisma but no build stage runs `prisma generate`: the client is missing at run time.".into(),
            ));
        }
    }
}
