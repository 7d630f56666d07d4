use crate::edit::insert_lines;
use crate::finding::{Edit, Expect, FileChange, Finding, Fix, Safety, Severity};
use crate::formats::dockerfile::shell_program;
use crate::project::{join, parent, Project};
use crate::rules::build_chain::{
    self, copy_parts, covers, origin, relative_to, schema_in_stage, Origin,
};
use crate::rules::scope::{cmd_words, images, is_prisma_generate, ImageCtx};
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "DKR002",
    name: "runtime-prisma-generate",
    severity: Severity::High,
    fix: FixKind::Sometimes(Safety::Safe),
    summary: "Prisma client generated in the runtime stage or at start, or never",
    doc: r#"## What it checks
`prisma generate` in the final stage of a multi-stage build, in its
CMD/ENTRYPOINT or in the entrypoint script it runs; and a service that
uses Prisma whose build never generates the client. A build step counts
as generating when it runs `prisma generate`, a `package.json` script that
does (`npm run db:generate`), or an install whose root `postinstall` does
(with the schema already copied, and without `--ignore-scripts`).

## Why it breaks production
The runtime stage should only copy artifacts: generating there needs the
Prisma CLI and engines in the runtime image (or downloads them), and at
container start it also needs write access to `node_modules` as a non-root
user, and the package manager (`pnpm exec prisma generate` in an image
without pnpm: `pnpm: not found`). A client that is never generated fails
at the first query with `@prisma/client did not initialize yet`.

## Example
```dockerfile
FROM node:20-alpine AS builder
RUN corepack enable
COPY package.json pnpm-lock.yaml ./
RUN pnpm install --frozen-lockfile
COPY prisma ./prisma
FROM node:20-alpine
COPY --from=builder /app/node_modules ./node_modules
ENTRYPOINT ["./entrypoint.sh"]   # runs `pnpm exec prisma generate`
```

Fixed:
```dockerfile
FROM node:20-alpine AS builder
RUN corepack enable
COPY package.json pnpm-lock.yaml ./
RUN pnpm install --frozen-lockfile
COPY prisma ./prisma
RUN pnpm exec prisma generate
FROM node:20-alpine
COPY --from=builder /app/node_modules ./node_modules
ENTRYPOINT ["./entrypoint.sh"]   # no longer generates at start
```

## Fix (one change across the Dockerfile and the entrypoint)
Adds `RUN <package manager> exec prisma generate --schema=<path>` to the
build stage that installs the dependencies and has the schema (after
both), unless a build step already generates; makes sure the client
reaches the runtime stage (adds `COPY --from=<stage> …/.prisma/client` next
to the runtime's `node_modules` when no `COPY --from` chain carries it);
removes `prisma generate` from the entrypoint script and from runtime-stage
`RUN`s. Safe when every link of that chain is certain; unsafe with the
reason otherwise (pnpm without hoisting keeps the client under
`node_modules/.pnpm`; a custom generator `output`; prisma declared only by
a workspace package); none when the CLI would not be installed in that
stage (`--prod` with prisma a devDependency) or no stage fits.
"#,
    check,
};

fn check(p: &Project, out: &mut Vec<Finding>) {
    for ctx in images(p) {
        let multi = ctx.df.stages.len() > 1;
        let mut runtime_gen = false;
        let mut fix: Option<Result<Fix, String>> = None;
        let mut fix_for = |ctx: &ImageCtx| fix.get_or_insert_with(|| move_to_build(p, ctx)).clone();
        if multi {
            for ins in ctx
                .df
                .stage_instrs(ctx.stage)
                .iter()
                .filter(|i| run_generates(&ctx.src.text, i, ctx.df.escape))
            {
                runtime_gen = true;
                let mut f = RULE.finding(
                    &ctx.img.dockerfile,
                    ins.line,
                    ctx.col(ins),
                    "`prisma generate` in the runtime stage: generate the client in the builder stage and copy it in.".into(),
                );
                attach(&mut f, fix_for(&ctx));
                out.push(f);
            }
        }
        if is_prisma_generate(&ctx.img.command) {
            runtime_gen = true;
            let mut f = RULE.finding(
                &ctx.img.dockerfile,
                ctx.img.command_line.unwrap_or(1),
                1,
                "The container command runs `prisma generate` at start.".into(),
            );
            attach(&mut f, fix_for(&ctx));
            out.push(f);
        }
        let schema = image_schema(p, &ctx);
        let script_gen = ctx
            .img
            .entry_script
            .as_deref()
            .and_then(|s| p.script(s))
            .is_some_and(|s| s.commands.iter().any(|c| is_prisma_generate(&cmd_words(c))));
        if schema.is_none() || !multi || runtime_gen || script_gen {
            continue;
        }
        let last = ctx.df.stages.len() - 1;
        let builder_gen = build_chain::generates(
            p,
            ctx.df,
            &ctx.src.text,
            &ctx.img.context,
            schema.as_deref(),
        )
        .iter()
        .any(|g| g.stage < last);
        if !builder_gen {
            let mut f = RULE.finding(
                &ctx.img.dockerfile,
                ctx.df.stages[0].from_line,
                1,
                "The service uses Prisma but no build stage runs `prisma generate`: the client is missing at run time.".into(),
            );
            attach(&mut f, fix_for(&ctx));
            out.push(f);
        }
    }
}

fn attach(f: &mut Finding, fix: Result<Fix, String>) {
    match fix {
        Ok(x) => f.fix = Some(x),
        Err(why) => f.no_fix_reason = Some(why),
    }
}

/// Whether a `RUN` runs `prisma generate` (on its syntax tree).
pub fn run_generates(text: &str, ins: &crate::formats::dockerfile::Instruction, esc: char) -> bool {
    if ins.keyword != "RUN" {
        return false;
    }
    match shell_program(text, ins, esc) {
        Some(prog) => prog.commands.iter().any(|c| {
            let w: Vec<String> = c.words.iter().map(|w| w.text.clone()).collect();
            is_prisma_generate(&w)
        }),
        None => is_prisma_generate(&ins.words()),
    }
}

/// The Prisma schema (repo path) of the services built from this image.
pub fn image_schema(p: &Project, ctx: &ImageCtx) -> Option<String> {
    ctx.img
        .services
        .iter()
        .find_map(|&i| p.graph.services[i].prisma.clone())
}

/// The fix shared by DKR002, ENT004, ENT003 and DKR001 for one image: the
/// Prisma client generated at build time, carried to the runtime stage,
/// and no longer generated at start. `Err` says why there is none.
pub fn move_to_build(p: &Project, ctx: &ImageCtx) -> Result<Fix, String> {
    // Asked by up to four rules per image: computed once per image and
    // stage (scripts' rules take the final stage, others `build.target`'s).
    // Keyed by address: the graph and models do not move while rules run
    // (a lookup by position would be linear in the images, per call).
    let key = (
        ctx.img as *const crate::graph::ImageNode as usize,
        ctx.stage as *const crate::formats::dockerfile::Stage as usize,
    );
    if let Some(r) = p.shared_fixes.lock().unwrap().get(&key) {
        return r.clone();
    }
    let r = move_to_build_uncached(p, ctx);
    p.shared_fixes.lock().unwrap().insert(key, r.clone());
    r
}

fn move_to_build_uncached(p: &Project, ctx: &ImageCtx) -> Result<Fix, String> {
    // Every image that runs the same entrypoint script changes with it: one
    // fix over all their Dockerfiles and the script, whichever finding asks.
    let mut ctxs: Vec<ImageCtx> = match ctx.img.entry_script.as_deref() {
        Some(script) => p
            .graph
            .images
            .iter()
            .filter(|i| i.entry_script.as_deref() == Some(script))
            .filter_map(|i| image_ctx(p, i))
            .collect(),
        None => vec![],
    };
    if ctxs.len() <= 1 {
        let schema = image_schema(p, ctx)
            .ok_or("no Prisma schema is linked to a service built from this Dockerfile")?;
        return move_one(p, ctx, &schema);
    }
    ctxs.sort_by(|a, b| a.img.dockerfile.cmp(&b.img.dockerfile));
    // An image no compose service builds (a Dockerfile.dev) uses the
    // schema of the images it shares the script with.
    let shared_schema = ctxs
        .iter()
        .find_map(|c| image_schema(p, c))
        .ok_or("no Prisma schema is linked to a service built from these Dockerfiles")?;
    let mut merged: Option<Fix> = None;
    for c in &ctxs {
        let schema = image_schema(p, c).unwrap_or_else(|| shared_schema.clone());
        let fix = move_one(p, c, &schema).map_err(|why| format!("{}: {why}", c.img.dockerfile))?;
        match merged.as_mut() {
            None => merged = Some(fix),
            Some(m) => {
                for ch in fix.changes {
                    match m.changes.iter().find(|x| x.path == ch.path) {
                        Some(x) if x.edits == ch.edits => {}
                        Some(_) => {
                            return Err(format!(
                            "{} is changed differently for each image that runs it; fix by hand",
                            ch.path
                        ))
                        }
                        None => m.changes.push(ch),
                    }
                }
                if fix.safety == Safety::Unsafe {
                    m.safety = Safety::Unsafe;
                    let r = fix.unsafe_reason.unwrap_or_default();
                    m.unsafe_reason = Some(match m.unsafe_reason.take() {
                        Some(old) => format!("{old}; {}: {r}", c.img.dockerfile),
                        None => format!("{}: {r}", c.img.dockerfile),
                    });
                }
                m.title = format!("{} (and the same in {})", m.title, c.img.dockerfile);
            }
        }
    }
    merged.ok_or_else(|| "no image".into())
}

fn move_one(p: &Project, ctx: &ImageCtx, schema_rel: &str) -> Result<Fix, String> {
    let df = ctx.df;
    let src = ctx.src;
    let text = &src.text;
    let eol = src.eol.as_str();
    let schema_rel = schema_rel.to_string();
    let schema = p.prisma_schema(&schema_rel);
    let runtime = ctx.stage;
    let last = df.stages.len() - 1;
    let multi = last > 0;
    let mut unsure: Vec<String> = Vec::new();
    let mut df_edits: Vec<Edit> = Vec::new();
    let mut added_gen: Option<String> = None;
    let mut added_copy = false;
    let mut removed_runtime = false;

    // 1. What runs at start or in the runtime stage goes.
    if is_prisma_generate(&ctx.img.command) {
        return Err(
            "the container command itself runs `prisma generate`; rewrite it by hand".into(),
        );
    }
    if multi {
        for idx in runtime.instrs.clone() {
            let ins = &df.instructions[idx];
            if !run_generates(text, ins, df.escape) {
                continue;
            }
            let single = shell_program(text, ins, df.escape).is_some_and(|p| p.single);
            if !single {
                return Err(format!(
                    "the `RUN` at line {} does more than `prisma generate`; move it by hand",
                    ins.line
                ));
            }
            let (end_line, _) = src.line_col(ins.span.end);
            df_edits.push(Edit {
                start: src.line_start(ins.line),
                end: src.line_start(end_line + 1),
                text: String::new(),
            });
            removed_runtime = true;
        }
    }
    let mut script_change: Option<FileChange> = None;
    if let Some(script_rel) = ctx.img.entry_script.as_deref() {
        if let (Some(script), Some(ssrc)) = (p.script(script_rel), p.file(script_rel)) {
            let mut edits = Vec::new();
            for c in script
                .commands
                .iter()
                .filter(|c| is_prisma_generate(&cmd_words(c)))
            {
                let (first, _) = ssrc.line_col(c.stmt_span.start);
                let (lastl, _) =
                    ssrc.line_col(c.stmt_span.end.saturating_sub(1).max(c.stmt_span.start));
                let whole_lines = ssrc.line_start(first) + ssrc.first_col(first) - 1
                    == c.stmt_span.start
                    && ssrc.line_content_end(lastl) == c.stmt_span.end;
                if !(c.top_level_simple && whole_lines) {
                    return Err(format!(
                        "`prisma generate` at {script_rel}:{} is part of a larger statement; remove it by hand",
                        c.line
                    ));
                }
                // Comment lines right above that speak of generating the
                // client go with it.
                // Only real comments: not inside another statement (a
                // multi-line string, a heredoc), not after a `\` line.
                let comments = comment_starts(&ssrc.text);
                let in_statement = |off: usize| !comments.contains(&off);
                let mut top = first;
                while top > 1 {
                    let t = ssrc.line_text(top - 1).trim_start().to_ascii_lowercase();
                    let continued = top > 2 && ssrc.line_text(top - 2).trim_end().ends_with('\\');
                    if t.starts_with('#')
                        && !t.starts_with("#!")
                        && t.contains("prisma")
                        && t.contains("generat")
                        && !continued
                        && !in_statement(ssrc.line_start(top - 1) + ssrc.first_col(top - 1) - 1)
                    {
                        top -= 1;
                    } else {
                        break;
                    }
                }
                edits.push(Edit {
                    start: ssrc.line_start(top),
                    end: ssrc.line_start(lastl + 1),
                    text: String::new(),
                });
            }
            if !edits.is_empty() {
                script_change = Some(FileChange {
                    path: script_rel.to_string(),
                    edits,
                    expect: vec![Expect::Reparse],
                });
            }
        }
    }

    // 2. A build stage that generates, or where to add the step.
    let gens: Vec<_> = build_chain::generates(p, df, text, &ctx.img.context, Some(&schema_rel))
        .into_iter()
        .filter(|g| !multi || g.stage < last)
        .collect();
    let installs: Vec<_> = build_chain::installs(df, text)
        .into_iter()
        .filter(|i| !multi || i.stage < last)
        .collect();
    // The stages the runtime stage takes files from.
    let used = |stage: usize| -> bool {
        let st = &df.stages[stage];
        df.lineage(runtime).iter().any(|s| s.index == stage)
            || df.lineage(runtime).iter().any(|s| {
                df.stage_instrs(s).iter().any(|i| {
                    i.flag("from")
                        .and_then(|f| df.stage_by_name(f))
                        .is_some_and(|from| df.lineage(from).iter().any(|x| x.index == st.index))
                })
            })
    };
    let (gen_stage, gen_workdir, install) = if let Some(g) = gens.iter().find(|g| used(g.stage)) {
        if !g.certain {
            unsure.push(format!(
                "{} (line {}) looks like it generates the client, but prodsafe cannot follow it",
                g.how, df.instructions[g.idx].line
            ));
        }
        let inst = installs
            .iter()
            .rfind(|i| {
                i.idx <= g.idx
                    && df
                        .lineage(&df.stages[g.stage])
                        .iter()
                        .any(|s| s.index == i.stage)
            })
            .cloned();
        (
            g.stage,
            inst.as_ref()
                .map(|i| i.workdir.clone())
                .unwrap_or(g.workdir.clone()),
            inst,
        )
    } else {
        // The earliest point where a used stage has both the installed
        // dependencies and the schema.
        let mut best: Option<(usize, usize, build_chain::Install, String)> = None;
        for st in df.stages.iter().filter(|s| !multi || s.index < last) {
            let lineage = df.lineage(st);
            let Some(inst) = installs
                .iter()
                .rfind(|i| !i.elsewhere && lineage.iter().any(|s| s.index == i.stage))
            else {
                continue;
            };
            let Some((schema_path, copy_idx)) =
                schema_in_stage(p, df, &ctx.img.context, st, &schema_rel, st.instrs.end)
            else {
                continue;
            };
            let at = inst.idx.max(copy_idx);
            let Some(holder) = build_chain::stage_of(df, at) else {
                continue;
            };
            if !used(holder.index) {
                continue;
            }
            if best.as_ref().is_none_or(|b| at < b.1) {
                best = Some((holder.index, at, inst.clone(), schema_path));
            }
        }
        let Some((stage, at, inst, schema_path)) = best else {
            return Err("no build stage the runtime stage copies from both installs the dependencies and has the schema".into());
        };
        // Is the CLI installed there?
        let pj_path = format!("{}/package.json", inst.workdir.trim_end_matches('/'));
        let pj = match origin(
            p,
            df,
            &ctx.img.context,
            &df.stages[inst.stage],
            &pj_path,
            inst.idx,
        ) {
            Some(Origin::Context(rel)) => p.package_json(&rel).map(|x| (rel, x)),
            _ => None,
        };
        let service_pj = ctx
            .img
            .services
            .iter()
            .filter_map(|&i| p.graph.services[i].service_dir.as_deref())
            .filter_map(|d| join(d, "package.json"))
            .find_map(|r| p.package_json(&r).map(|x| (r, x)));
        let declared = |pj: &crate::formats::package_json::PackageJson| pj.dep("prisma");
        let mut filter: Option<String> = None;
        match pj.as_ref().and_then(|(_, x)| declared(x)) {
            Some(kind) => {
                if inst.prod_only && kind != crate::formats::package_json::DepKind::Prod {
                    return Err(format!(
                        "the install at line {} is production-only and prisma is a devDependency of {}: the CLI is not installed in that stage",
                        df.instructions[inst.idx].line,
                        pj.as_ref().unwrap().0
                    ));
                }
            }
            None => match service_pj.as_ref().filter(|(_, x)| declared(x).is_some()) {
                Some((rel, x)) => {
                    if inst.prod_only && !x.is_prod_dep("prisma") {
                        return Err(format!("the install at line {} is production-only and prisma is a devDependency of {rel}: the CLI is not installed in that stage", df.instructions[inst.idx].line));
                    }
                    if inst.pm == "pnpm" {
                        filter = x.name.clone();
                        if filter.is_none() {
                            return Err(format!("prisma is declared by {rel}, which has no name for `pnpm --filter`"));
                        }
                    }
                }
                None => {
                    return Err(match pj {
                        Some((rel, _)) => format!("prisma (the CLI) is not a dependency of {rel}: a build step running it would fail"),
                        None => "cannot tell which package.json the install reads, so not whether the prisma CLI is installed".into(),
                    });
                }
            },
        }
        let schema_arg = if filter.is_some() {
            schema_path.clone()
        } else {
            relative_to(&inst.workdir, &schema_path)
        };
        if schema_arg.contains(|c: char| c.is_whitespace() || "'\"$`\\;&|<>(){}*?[]#~".contains(c))
        {
            return Err(format!(
                "the schema path `{schema_arg}` needs quoting; add the step by hand"
            ));
        }
        let cmd = match (inst.pm, &filter) {
            ("pnpm", Some(name)) => {
                format!("pnpm --filter {name} exec prisma generate --schema={schema_arg}")
            }
            ("pnpm", None) => format!("pnpm exec prisma generate --schema={schema_arg}"),
            ("yarn", _) => format!("yarn prisma generate --schema={schema_arg}"),
            _ => format!("npx prisma generate --schema={schema_arg}"),
        };
        if filter.as_deref().is_some_and(|n| {
            !n.chars()
                .all(|c| c.is_ascii_alphanumeric() || "@/._-".contains(c))
        }) {
            return Err("the workspace package name needs quoting; add the step by hand".into());
        }
        if (inst.idx..=at).any(|k| df.instructions[k].keyword == "USER") {
            unsure.push(format!(
                "a `USER` between the install (line {}) and the new step: it may not be allowed to write node_modules",
                df.instructions[inst.idx].line
            ));
        }
        let ins = &df.instructions[at];
        let (end_line, _) = src.line_col(ins.span.end);
        df_edits.push(insert_lines(
            src,
            crate::edit::after_line(src, end_line),
            &format!("RUN {cmd}{eol}"),
        ));
        added_gen = Some(cmd);
        (stage, inst.workdir.clone(), Some(inst))
    };

    // 3. The client reaches the runtime stage.
    let pnpm_isolated = install.as_ref().is_some_and(|i| i.pm == "pnpm") && !pnpm_hoisted(p, ctx);
    let schema_dir_container = schema_in_stage(
        p,
        df,
        &ctx.img.context,
        &df.stages[gen_stage],
        &schema_rel,
        df.stages[gen_stage].instrs.end,
    )
    .map(|(c, _)| parent(&c).to_string());
    let (client, custom) = match schema.and_then(|s| s.client_output.clone()) {
        Some(Ok(out)) => {
            let dir =
                schema_dir_container.ok_or("the schema is not copied into the build stage")?;
            let abs = crate::graph::container_path(&dir, &out);
            (abs, true)
        }
        Some(Err(v)) => {
            return Err(format!(
                "the generator output is `{v}`; prodsafe cannot tell where the client goes"
            ))
        }
        None => (
            format!(
                "{}/node_modules/.prisma/client",
                gen_workdir.trim_end_matches('/')
            ),
            false,
        ),
    };
    // What must be carried: the client (the whole node_modules for pnpm's
    // isolated layout, where it sits next to @prisma/client under .pnpm).
    let needed = if pnpm_isolated && !custom {
        format!("{}/node_modules", gen_workdir.trim_end_matches('/'))
    } else {
        client.clone()
    };
    let in_lineage = df.lineage(runtime).iter().any(|s| s.index == gen_stage);
    let mut reached = in_lineage;
    let mut nm_copy: Option<(usize, String, Option<String>)> = None; // (instruction, dest as written, chown)
    let mut wd = String::from("/");
    for s in df.lineage(runtime).into_iter().rev() {
        for idx in s.instrs.clone() {
            let ins = &df.instructions[idx];
            if ins.keyword == "WORKDIR" {
                wd = crate::graph::container_path(&wd, ins.rest.trim());
            }
            let Some((srcs, dest)) = copy_parts(ins) else {
                continue;
            };
            let dest_abs = crate::graph::container_path(&wd, &dest);
            if dest_abs.trim_end_matches('/').ends_with("/node_modules") {
                nm_copy = Some((
                    idx,
                    dest.trim_end_matches('/').to_string(),
                    ins.flag("chown").map(str::to_string),
                ));
            }
            let Some(from) = ins.flag("from").and_then(|f| df.stage_by_name(f)) else {
                continue;
            };
            if !df.lineage(from).iter().any(|x| x.index == gen_stage) {
                continue;
            }
            // The whole layout, or the client's own folder (a COPY of it
            // proves it exists there, or the build already fails).
            if srcs.iter().any(|s| {
                let abs = crate::graph::container_path("/", s);
                covers(&abs, &needed) || covers(&abs, &client)
            }) {
                reached = true;
            }
        }
    }
    if !reached {
        if custom {
            return Err(format!("the client is generated to {client} (the schema's `output`) and no `COPY --from` carries it to the runtime stage; copy it where the app imports it from"));
        }
        let Some((nm_idx, nm_dest, chown)) = nm_copy else {
            return Err(
                "the runtime stage copies no node_modules to put the generated client in".into(),
            );
        };
        let plain_path = |x: &str| {
            x.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_./@-".contains(c))
        };
        if !plain_path(&nm_dest) || !plain_path(&client) {
            return Err("the node_modules path needs quoting; copy the client by hand".into());
        }
        if pnpm_isolated {
            unsure.push("pnpm's isolated layout keeps the generated client under node_modules/.pnpm next to @prisma/client, not in node_modules/.prisma (set `node-linker=hoisted` or copy the whole node_modules)".into());
        }
        let from = df.stages[gen_stage]
            .name
            .clone()
            .unwrap_or_else(|| gen_stage.to_string());
        if !from
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(format!(
                "the stage name `{from}` is not a plain name; copy the client by hand"
            ));
        }
        let chown = chown
            .filter(|c| {
                c.chars()
                    .all(|x| x.is_ascii_alphanumeric() || "_.:-$".contains(x))
            })
            .map(|c| format!(" --chown={c}"))
            .unwrap_or_default();
        let ins = &df.instructions[nm_idx];
        let (end_line, _) = src.line_col(ins.span.end);
        df_edits.push(insert_lines(
            src,
            crate::edit::after_line(src, end_line),
            &format!("COPY --from={from}{chown} {client} {nm_dest}/.prisma/client{eol}"),
        ));
        added_copy = true;
    }
    df_edits.sort();
    let script_path = script_change.as_ref().map(|c| c.path.clone());
    let mut changes = Vec::new();
    if !df_edits.is_empty() {
        changes.push(FileChange {
            path: ctx.img.dockerfile.clone(),
            edits: df_edits,
            expect: vec![Expect::Reparse],
        });
    }
    if let Some(c) = script_change {
        changes.push(c);
    }
    if changes.is_empty() {
        return Err("nothing to change".into());
    }
    let stage_name = df.stages[gen_stage]
        .name
        .clone()
        .unwrap_or_else(|| format!("#{gen_stage}"));
    Ok(Fix {
        title: {
            let mut parts = Vec::new();
            match &added_gen {
                Some(cmd) => parts.push(format!(
                    "Generate the Prisma client in build stage `{stage_name}` (`RUN {cmd}`)"
                )),
                None => parts.push(format!(
                    "Build stage `{stage_name}` already generates the Prisma client"
                )),
            }
            if added_copy {
                parts.push("copy it into the runtime stage".to_string());
            }
            let mut from = Vec::new();
            if removed_runtime {
                from.push("the runtime stage".to_string());
            }
            if let Some(s) = &script_path {
                from.push(s.clone());
            }
            if !from.is_empty() {
                parts.push(format!(
                    "remove `prisma generate` from {}",
                    from.join(" and ")
                ));
            }
            parts.join("; ")
        },
        safety: if unsure.is_empty() {
            Safety::Safe
        } else {
            Safety::Unsafe
        },
        unsafe_reason: (!unsure.is_empty()).then(|| unsure.join("; ")),
        changes,
    })
}

/// Whether pnpm hoists packages into a flat node_modules here
/// (`node-linker=hoisted`, `shamefully-hoist=true`, or a public hoist
/// pattern naming prisma) according to the `.npmrc` of the build context.
fn pnpm_hoisted(p: &Project, ctx: &ImageCtx) -> bool {
    [ctx.img.context.as_str(), ""]
        .iter()
        .filter_map(|c| join(c, ".npmrc"))
        .filter_map(|r| p.file(&r))
        .any(|f| {
            f.text.lines().any(|l| {
                let l: String = l.chars().filter(|c| !c.is_whitespace()).collect();
                l == "node-linker=hoisted"
                    || l == "shamefully-hoist=true"
                    || (l.starts_with("public-hoist-pattern") && l.contains("prisma"))
            })
        })
}

/// The Dockerfile context of an image, for rules that start from a script.
pub fn image_ctx<'a>(p: &'a Project, img: &'a crate::graph::ImageNode) -> Option<ImageCtx<'a>> {
    let df = p.dockerfile(&img.dockerfile)?;
    Some(ImageCtx {
        img,
        df,
        src: p.file(&img.dockerfile)?,
        stage: df.final_stage()?,
    })
}

/// [`move_to_build`] for the image that runs an entrypoint script.
pub fn move_fix_for(p: &Project, img: Option<&crate::graph::ImageNode>) -> Result<Fix, String> {
    let img = img.ok_or(
        "no Dockerfile runs this script, so there is no build stage to move `prisma generate` to",
    )?;
    let ctx = image_ctx(p, img).ok_or("the Dockerfile has no stage")?;
    move_to_build(p, &ctx)
}

/// Byte offsets where the shell's comments start (on the syntax tree:
/// never a `#` inside a string or heredoc).
fn comment_starts(text: &str) -> std::collections::HashSet<usize> {
    let mut out = std::collections::HashSet::new();
    let Some(tree) =
        crate::formats::treesitter::with_parser(crate::formats::treesitter::Grammar::Bash, |p| {
            crate::formats::shell::parse_bounded(p, text)
        })
    else {
        return out;
    };
    let mut stack = vec![tree.root_node()];
    while let Some(n) = stack.pop() {
        if n.kind() == "comment" {
            out.insert(n.start_byte());
            continue;
        }
        let mut c = n.walk();
        stack.extend(n.children(&mut c));
    }
    out
}
