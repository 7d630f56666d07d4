use crate::finding::{Edit, Expect, FileChange, Finding, Fix, Safety, Severity};
use crate::formats::dockerfile::shell_commands;
use crate::formats::shell::Cmd;
use crate::project::Project;
use crate::rules::dkr002_runtime_prisma_generate::image_ctx;
use crate::rules::dkr002_runtime_prisma_generate::move_fix_for;
use crate::rules::package_scripts::{resolve_script, runtime_package_json};
use crate::rules::scope::{cmd_words, entry_scripts, is_prisma_generate, package_manager};
use crate::rules::scope::{is_wrapper_word, ImageCtx};
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "ENT003",
    name: "entrypoint-package-manager",
    severity: Severity::Critical,
    fix: FixKind::Sometimes(Safety::Safe),
    summary: "Entrypoint runs a package manager at container start",
    doc: r#"## What it checks
A command in an entrypoint script that runs `pnpm`, `yarn` (critical) or
`npm`, `npx` (high) when the container starts, also behind `||`, `&&`,
`if` and in functions. Text in heredoc bodies, strings and comments is not
a command and is not matched.

## Why it breaks production
Runtime images are slimmed: pnpm and yarn are usually not there
(`pnpm: not found`, the container exits at once). Where they are, they may
reach the network, resolve other versions than CI tested, and slow every
start and restart.

## Example
```sh
#!/bin/sh
set -e
pnpm run start
```

Fixed:
```sh
#!/bin/sh
set -e
exec node dist/main.js
```

## Fix (safe where certain)
- `pnpm start`, `npm run start`, `yarn start` (any script): replaced by
  the command the script runs, from the `package.json` the runtime stage
  holds in its WORKDIR, `exec`ed when it is the script's last statement
  (`exec node dist/main.js`). Only for one plain `node` command with no
  `pre`/`post` script; otherwise the reason is shown.
- `npx prisma ...` (e.g. `migrate deploy`): when prisma is a production
  dependency and the runtime stage has `node_modules` in its WORKDIR, the
  image's own `./node_modules/.bin/prisma`. When it is a devDependency,
  `npx` downloads it at every start and every replica migrates at once:
  `prisma migrate deploy` moves to a one-shot compose service
  `<service>-migrate` (built from the named build stage that has the CLI,
  the schema and the migrations; same environment, env files and
  `depends_on`; `restart: "no"`) that the app waits for with `depends_on:
  condition: service_completed_successfully`, and the line leaves the
  script: one change across both files. Only where the compose file makes
  it certain (one service builds the image from a plain context and
  Dockerfile, no custom networks, profiles or `extends`, `depends_on` a
  mapping or absent); otherwise the message says why and recommends it.
- `prisma generate`: the DKR002 move to the build.
See DKR001 for the same problem in CMD/ENTRYPOINT.
"#,
    check,
};

fn check(p: &Project, out: &mut Vec<Finding>) {
    for ctx in entry_scripts(p) {
        let mut prisma_fix: Option<Result<crate::finding::Fix, String>> = None;
        for (ci, c) in ctx.script.commands.iter().enumerate() {
            let words = cmd_words(c);
            if let Some((pm, sev)) = package_manager(&words) {
                // `yarn start` on an image that ships yarn (official node
                // images) only runs a script, like `npm start`.
                let shipped = ctx
                    .image
                    .and_then(|i| crate::images::provides(&i.base, &pm))
                    == Some(true);
                let sev = if sev == Severity::Critical && shipped {
                    Severity::Medium
                } else {
                    sev
                };
                let why = crate::rules::scope::package_manager_message(&pm, sev);
                let mut f = RULE.finding(
                    &ctx.src.rel,
                    c.line,
                    ctx.src.line_col(c.span.start).1,
                    format!(
                        "`{}` runs {pm} at container start: {why}.",
                        &ctx.src.text[c.span.clone()]
                    ),
                );
                f.severity = sev;
                if is_prisma_generate(&words) {
                    // The same problem as ENT004: the same change.
                    match prisma_fix
                        .get_or_insert_with(|| move_fix_for(p, ctx.image))
                        .clone()
                    {
                        Ok(x) => f.fix = Some(x),
                        Err(why) => f.no_fix_reason = Some(why),
                    }
                } else if let Some(img) = ctx.image.and_then(|i| image_ctx(p, i)) {
                    let last = ctx.script.last_statement == Some(ci);
                    match script_command_fix(p, &img, &ctx.src.rel, c, last) {
                        Ok(x) => f.fix = Some(x),
                        Err(why) => f.no_fix_reason = Some(why),
                    }
                }
                out.push(f);
            }
        }
    }
}

/// The fix for a script command that runs a package-manager script (`pnpm
/// start`): the script's own command in its place, `exec`ed when it is the
/// script's last statement.
pub fn script_start_fix(
    p: &Project,
    ctx: &ImageCtx,
    script_rel: &str,
    c: &Cmd,
    is_last: bool,
) -> Result<Fix, String> {
    let src = p.file(script_rel).ok_or("script not loaded")?;
    let words = cmd_words(c);
    let pm_at = words
        .iter()
        .position(|w| !is_wrapper_word(w))
        .ok_or("no program in the command")?;
    let run = resolve_script(p, ctx, &words[pm_at..])?;
    if !c.top_level_simple {
        return Err("the command is part of a larger statement (a list, pipeline or condition); rewrite it by hand".into());
    }
    let text = &src.text[c.span.clone()];
    let prog = shell_commands(text).ok_or("the command does not parse")?;
    let cmd = prog
        .commands
        .first()
        .filter(|x| prog.commands.len() == 1 && x.words.len() == words.len())
        .ok_or("the command does not parse as one simple command")?;
    if cmd.assignments || cmd.words.iter().any(|w| !w.literal) {
        return Err("the command sets variables or uses expansions; rewrite it by hand".into());
    }
    let start = c.span.start + cmd.words[pm_at].span.start;
    let end = c.span.start + cmd.words.last().unwrap().span.end;
    let mut edits = Vec::new();
    let execed = words[..pm_at].iter().any(|w| w == "exec");
    if is_last && !execed {
        edits.push(Edit {
            start: c.span.start,
            end: c.span.start,
            text: "exec ".into(),
        });
    }
    edits.push(Edit {
        start,
        end,
        text: run.join(" "),
    });
    Ok(Fix {
        title: format!(
            "Run the script's command directly: `{}{}`",
            if is_last && !execed { "exec " } else { "" },
            run.join(" ")
        ),
        safety: Safety::Safe,
        unsafe_reason: None,
        changes: vec![FileChange {
            path: script_rel.to_string(),
            edits,
            expect: vec![Expect::Reparse],
        }],
    })
}

/// `npx prisma <cmd>` at start: the local binary when prisma is a
/// production dependency the runtime stage has in its WORKDIR's
/// node_modules; otherwise why not (a devDependency is downloaded at every
/// start, and every replica would migrate at once).
pub fn npx_prisma_fix(
    p: &Project,
    ctx: &ImageCtx,
    script_rel: &str,
    c: &Cmd,
) -> Result<Fix, String> {
    let words = cmd_words(c);
    let at = words
        .iter()
        .position(|w| !is_wrapper_word(w))
        .ok_or("no program")?;
    let (rel, pj) = runtime_package_json(p, ctx)?;
    let migrate = words.get(at + 2).is_some_and(|w| w == "migrate");
    if !pj.is_prod_dep("prisma") {
        let mut why = format!(
            "prisma is not a production dependency of {rel}: a production install leaves it out, and then `npx` downloads it at every start (network, an unpinned version)"
        );
        if migrate {
            why.push_str(", and every replica runs the migration at once. Run `prisma migrate deploy` once, in a one-shot compose service the app waits for (`depends_on: {migrate: {condition: service_completed_successfully}}`), built from the builder stage that has the CLI");
        }
        return Err(why);
    }
    let wd = crate::graph::workdir(ctx.df, ctx.stage);
    let nm = format!("{}/node_modules", wd.trim_end_matches('/'));
    let mut has_nm = false;
    let mut cur = String::from("/");
    for s in ctx.df.lineage(ctx.stage).into_iter().rev() {
        for ins in ctx.df.stage_instrs(s) {
            if ins.keyword == "WORKDIR" {
                cur = crate::graph::container_path(&cur, ins.rest.trim());
            }
            if let Some((_, dest)) = crate::rules::build_chain::copy_parts(ins) {
                if crate::graph::container_path(&cur, &dest).trim_end_matches('/') == nm {
                    has_nm = true;
                }
            }
        }
    }
    if !has_nm {
        return Err(format!("the runtime stage copies no node_modules into {wd}; prodsafe cannot tell where the prisma binary is"));
    }
    let src = p.file(script_rel).ok_or("script not loaded")?;
    let prog = shell_commands(&src.text[c.span.clone()]).ok_or("the command does not parse")?;
    let cmd = prog
        .commands
        .first()
        .filter(|x| prog.commands.len() == 1 && x.words.len() == words.len())
        .ok_or("the command does not parse as one simple command")?;
    if !cmd.words[at].bare || !cmd.words[at + 1].bare {
        return Err("quoted words; rewrite the command by hand".into());
    }
    Ok(Fix {
        title: "Call the image's own prisma binary (`./node_modules/.bin/prisma`) instead of npx"
            .into(),
        safety: Safety::Safe,
        unsafe_reason: None,
        changes: vec![FileChange {
            path: script_rel.to_string(),
            edits: vec![Edit {
                start: c.span.start + cmd.words[at].span.start,
                end: c.span.start + cmd.words[at + 1].span.end,
                text: "./node_modules/.bin/prisma".into(),
            }],
            expect: vec![Expect::Reparse],
        }],
    })
}

/// The fix for a package-manager command an entrypoint script runs at
/// start (shared with DKR001, which reports it on the Dockerfile).
pub fn script_command_fix(
    p: &Project,
    ctx: &ImageCtx,
    script_rel: &str,
    c: &Cmd,
    is_last: bool,
) -> Result<Fix, String> {
    let words = cmd_words(c);
    if is_prisma_generate(&words) {
        return crate::rules::dkr002_runtime_prisma_generate::move_to_build(p, ctx);
    }
    let at = words.iter().position(|w| !is_wrapper_word(w));
    let npx_prisma =
        at.is_some_and(|i| words[i] == "npx" && words.get(i + 1).is_some_and(|w| w == "prisma"));
    if npx_prisma {
        npx_prisma_fix(p, ctx, script_rel, c).or_else(|why| {
            let migrate = words.iter().any(|w| w == "migrate");
            match migrate.then(|| migration_service_fix(p, ctx, script_rel, c, is_last)) {
                Some(Ok(fix)) if why.contains("not a production dependency") => Ok(fix),
                Some(Err(no)) if why.contains("not a production dependency") => {
                    Err(format!("{why}. No automatic fix: {no}"))
                }
                _ => Err(why),
            }
        })
    } else {
        script_start_fix(p, ctx, script_rel, c, is_last)
    }
}

/// YAML text of a string scalar (a JSON string is a valid double-quoted
/// YAML scalar).
fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// A key or path written plain when YAML reads it back as the same string.
fn yaml_plain(s: &str) -> String {
    let special = matches!(
        s.to_ascii_lowercase().as_str(),
        "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n" | "~" | ""
    );
    let plain = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_./-".contains(c))
        && !s.starts_with(['-', '.'])
        && s.parse::<f64>().is_err();
    if plain && !special || s == "." {
        s.to_string()
    } else {
        yaml_str(s)
    }
}

/// The service's environment with `<<` merges applied (own keys win), or
/// the model's list form; `Err` when a value is not a plain scalar.
fn resolved_env(
    doc: &crate::formats::yaml::YamlDoc,
    svc: &crate::formats::compose::Service,
) -> Result<Vec<(String, Option<String>)>, String> {
    let Some(env) = doc.get(&svc.node, "environment") else {
        return Ok(vec![]);
    };
    if !env.is_map() {
        return Ok(svc.environment.clone());
    }
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    let mut stack = vec![env];
    let mut seen = 0;
    while let Some(m) = stack.pop() {
        seen += 1;
        if seen > 32 {
            return Err("environment merges too deep".into());
        }
        for (k, v) in m.entries() {
            let Some(k) = k.as_str() else {
                return Err("a non-string environment key".into());
            };
            if k == "<<" {
                continue;
            }
            if out.iter().any(|(x, _)| x == k) {
                continue;
            }
            let v = doc.resolve(v);
            let val = match &v.kind {
                crate::formats::yaml::Kind::Scalar { .. } => v.as_str().map(str::to_string),
                _ => return Err(format!("environment `{k}` is not a plain value")),
            };
            let val = val.filter(|x| !(x.is_empty() && v.as_str().is_none()));
            out.push((k.to_string(), val));
        }
        // Merged mappings come after the own keys (which win).
        let mut merged = doc.merge_sources(m);
        merged.reverse();
        stack.extend(merged);
    }
    Ok(out)
}

/// `npx prisma migrate deploy` at start with prisma a devDependency: the
/// migration moves to a one-shot compose service built from the build
/// stage that has the CLI, which the app waits for. Only where the compose
/// file makes it certain: one service builds the image with nothing but a
/// context and a Dockerfile, no custom networks, profiles or `extends`,
/// `depends_on` absent or a mapping; a named build stage has the CLI (not a
/// production-only install), the schema and its migrations.
pub fn migration_service_fix(
    p: &Project,
    ctx: &ImageCtx,
    script_rel: &str,
    c: &Cmd,
    is_last: bool,
) -> Result<Fix, String> {
    use crate::edit::yaml_insert::append_key;
    use crate::rules::build_chain::{installs, origin, schema_in_stage, Origin};
    let words = cmd_words(c);
    let at = words
        .iter()
        .position(|w| !is_wrapper_word(w))
        .ok_or("no program")?;
    let rest = &words[at + 2..];
    let schema_opt = match rest {
        [m, d] if m == "migrate" && d == "deploy" => None,
        [m, d, s] if m == "migrate" && d == "deploy" && s.starts_with("--schema=") => {
            Some(s.clone())
        }
        _ => return Err("only a plain `prisma migrate deploy` moves to a service".into()),
    };
    let _ = schema_opt;
    if is_last || !c.top_level_simple {
        return Err("the command is not a statement of its own before the app starts".into());
    }
    let src_script = p.file(script_rel).ok_or("script not loaded")?;
    let (first, _) = src_script.line_col(c.stmt_span.start);
    let (lastl, _) = src_script.line_col(c.stmt_span.end.saturating_sub(1).max(c.stmt_span.start));
    if src_script.line_start(first) + src_script.first_col(first) - 1 != c.stmt_span.start
        || src_script.line_content_end(lastl) != c.stmt_span.end
    {
        return Err("the command shares its line with others".into());
    }
    let [si] = ctx.img.services.as_slice() else {
        return Err("not exactly one compose service builds this image".into());
    };
    let s = &p.graph.services[*si];
    let compose = &p.compose[s.compose];
    let svc = &compose.services[s.index];
    let doc = &compose.doc;
    let csrc = &p.files[compose.file];
    if svc.extends.is_some() || !svc.profiles.is_empty() {
        return Err(format!("`{}` uses extends or profiles", s.name));
    }
    for k in ["networks", "network_mode"] {
        if doc.get(&svc.node, k).is_some() {
            return Err(format!(
                "`{}` sets `{k}`: a new service would not reach the same network for sure",
                s.name
            ));
        }
    }
    let build = doc
        .get(&svc.node, "build")
        .ok_or("the service does not build the image")?;
    let (context, dockerfile) = match &build.kind {
        crate::formats::yaml::Kind::Scalar { .. } => {
            (build.as_str().unwrap_or(".").to_string(), None)
        }
        crate::formats::yaml::Kind::Map(entries) => {
            if entries
                .iter()
                .any(|(k, _)| !matches!(k.as_str(), Some("context" | "dockerfile")))
            {
                return Err("the service's `build` has more than a context and a Dockerfile (args, secrets, target)".into());
            }
            (
                svc.build_context.clone().unwrap_or_else(|| ".".into()),
                svc.dockerfile.clone(),
            )
        }
        _ => return Err("the service's `build` is not plain".into()),
    };
    let name = format!("{}-migrate", s.name);
    if compose.services.iter().any(|x| x.name == name) {
        return Err(format!("a service `{name}` exists already"));
    }
    // A named build stage with the CLI, the schema and the migrations.
    let df = ctx.df;
    let schema_rel = s.prisma.clone().ok_or("no Prisma schema for the service")?;
    let mig_prefix = format!("{}/migrations/", crate::project::parent(&schema_rel))
        .trim_start_matches('/')
        .to_string();
    let mig_file = p
        .all_paths
        .iter()
        .filter(|x| x.starts_with(&mig_prefix))
        .min()
        .ok_or("no migrations folder next to the schema")?;
    let last = df.stages.len().saturating_sub(1);
    let ins = installs(df, &ctx.src.text);
    let mut chosen = None;
    for st in df.stages[..last].iter().filter(|s| s.name.is_some()) {
        let lineage = df.lineage(st);
        let Some(inst) = ins
            .iter()
            .rfind(|i| !i.elsewhere && lineage.iter().any(|s| s.index == i.stage))
        else {
            continue;
        };
        if inst.prod_only {
            continue;
        }
        let pj = match origin(
            p,
            df,
            &ctx.img.context,
            &df.stages[inst.stage],
            &format!("{}/package.json", inst.workdir.trim_end_matches('/')),
            inst.idx,
        ) {
            Some(Origin::Context(rel)) => p.package_json(&rel),
            _ => None,
        };
        if pj.and_then(|x| x.dep("prisma")).is_none() {
            continue;
        }
        let end = st.instrs.end;
        let (Some((schema_c, _)), Some(_)) = (
            schema_in_stage(p, df, &ctx.img.context, st, &schema_rel, end),
            schema_in_stage(p, df, &ctx.img.context, st, mig_file, end),
        ) else {
            continue;
        };
        chosen = Some((st, schema_c));
        break;
    }
    let (stage, schema_c) =
        chosen.ok_or("no named build stage has the prisma CLI, the schema and its migrations")?;
    let wd = crate::graph::workdir(df, stage);
    let schema_arg = crate::rules::build_chain::relative_to(&wd, &schema_c);
    let stage_name = stage.name.clone().unwrap();
    for v in [&schema_arg, &stage_name, &context] {
        if v.contains(|ch: char| ch.is_control()) {
            return Err("unexpected characters".into());
        }
    }
    // The new service, in the file's style (append_key reindents).
    let mut snip = format!("{name}:\n  build:\n    context: {}\n", yaml_plain(&context));
    if let Some(d) = &dockerfile {
        snip.push_str(&format!("    dockerfile: {}\n", yaml_plain(d)));
    }
    snip.push_str(&format!("    target: {}\n", yaml_plain(&stage_name)));
    snip.push_str(&format!(
        "  command: [\"npx\", \"prisma\", \"migrate\", \"deploy\", {}]\n  restart: \"no\"\n",
        yaml_str(&format!("--schema={schema_arg}"))
    ));
    let env = resolved_env(doc, svc)?;
    if !env.is_empty() {
        snip.push_str("  environment:\n");
        for (k, v) in &env {
            match v {
                Some(v) => snip.push_str(&format!("    {}: {}\n", yaml_plain(k), yaml_str(v))),
                None => snip.push_str(&format!("    {}:\n", yaml_plain(k))),
            }
        }
    }
    if !svc.env_files.is_empty() {
        snip.push_str("  env_file:\n");
        for f in &svc.env_files {
            snip.push_str(&format!("    - {}\n", yaml_plain(f)));
        }
    }
    let waits: Vec<&crate::formats::compose::DependsOn> = svc.depends_on.iter().collect();
    if !waits.is_empty() {
        snip.push_str("  depends_on:\n");
        for d in &waits {
            snip.push_str(&format!(
                "    {}:\n      condition: {}\n",
                yaml_plain(&d.service),
                yaml_plain(d.condition.as_deref().unwrap_or("service_started"))
            ));
        }
    }
    let services = doc
        .get(&doc.root, "services")
        .ok_or("no services mapping")?;
    let (add_svc, expect_svc) =
        append_key(csrc, doc, services, vec!["services".into()], &name, &snip)?;
    let dep_snip = format!("{name}:\n  condition: service_completed_successfully\n");
    let (add_dep, expect_dep) = match doc.own_entry(&svc.node, "depends_on") {
        None => {
            if doc.get(&svc.node, "depends_on").is_some() {
                return Err(
                    "`depends_on` comes from a merged mapping; add the wait by hand".into(),
                );
            }
            append_key(
                csrc,
                doc,
                &svc.node,
                vec!["services".into(), s.name.clone()],
                "depends_on",
                &format!(
                    "depends_on:\n  {}\n",
                    dep_snip.replace('\n', "\n  ").trim_end()
                ),
            )?
        }
        Some((_, dep)) if dep.is_map() => append_key(
            csrc,
            doc,
            dep,
            vec!["services".into(), s.name.clone(), "depends_on".into()],
            &name,
            &dep_snip,
        )?,
        Some(_) => {
            return Err(
                "`depends_on` is a list; add the wait for the migration service by hand".into(),
            )
        }
    };
    let mut compose_edits = vec![add_dep, add_svc];
    if compose_edits[0].start == compose_edits[1].start
        && compose_edits[0].end == compose_edits[1].end
    {
        // The service is the last one: its new key, then the new service.
        let svc_text = compose_edits.pop().unwrap().text;
        compose_edits[0].text.push_str(&svc_text);
    }
    compose_edits.sort();
    Ok(Fix {
        title: format!("Run `prisma migrate deploy` once, in a new one-shot service `{name}` (build stage `{stage_name}`) that `{}` waits for, instead of at every start", s.name),
        safety: Safety::Safe,
        unsafe_reason: None,
        changes: vec![
            FileChange {
                path: csrc.rel.clone(),
                edits: compose_edits,
                expect: vec![expect_dep, expect_svc],
            },
            FileChange {
                path: script_rel.to_string(),
                edits: vec![Edit {
                    start: src_script.line_start(first),
                    end: src_script.line_start(lastl + 1),
                    text: String::new(),
                }],
                expect: vec![Expect::Reparse],
            },
        ],
    })
}
