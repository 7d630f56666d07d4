//! What a runtime command's `npm run X` / `pnpm X` resolves to: the
//! package.json the final stage holds and the script behind the name.
//! Shared by DKR001 and ENT003 (so neither rule imports the other).

use crate::formats::package_json::{script_invocation, PackageJson};
use crate::project::Project;
use crate::rules::build_chain::{origin, Origin};
use crate::rules::scope::ImageCtx;

/// The `package.json` the runtime stage holds in its WORKDIR (followed
/// through `COPY --from` to the build context), with its repo path.
pub fn runtime_package_json<'a>(
    p: &'a Project,
    ctx: &ImageCtx,
) -> Result<(String, &'a PackageJson), String> {
    let wd = crate::graph::workdir(ctx.df, ctx.stage);
    let target = format!("{}/package.json", wd.trim_end_matches('/'));
    let mut st = ctx.stage;
    let mut o = origin(p, ctx.df, &ctx.img.context, st, &target, st.instrs.end);
    for _ in 0..8 {
        match o {
            Some(Origin::Stage(s, ref path)) => {
                st = &ctx.df.stages[s];
                o = origin(p, ctx.df, &ctx.img.context, st, path, st.instrs.end);
            }
            _ => break,
        }
    }
    match o {
        Some(Origin::Context(rel)) => match p.package_json(&rel) {
            Some(pj) => Ok((rel, pj)),
            None => Err(format!("{rel} could not be read as package.json")),
        },
        None => Err(format!(
            "the runtime stage has no package.json in {wd} (so the package manager could not run a script there either)"
        )),
        _ => Err(format!(
            "{target} comes from a build step or another image; prodsafe cannot read the script it would run"
        )),
    }
}

/// What `pnpm start` / `npm run start` / `yarn start` (the words from the
/// package manager on) runs, as plain words, when that is certain: the
/// script exists in the runtime's package.json, no `pre`/`post` script runs
/// with it, it is one plain `node` command (no shell syntax, no
/// `node_modules/.bin` tool that is on PATH only under the package manager).
pub fn resolve_script(
    p: &Project,
    ctx: &ImageCtx,
    words: &[String],
) -> Result<Vec<String>, String> {
    let (_, name, extra) = script_invocation(words).ok_or_else(|| {
        format!(
            "`{}` is not a plain script run (flags for the package manager itself?)",
            words.join(" ")
        )
    })?;
    let (rel, pj) = runtime_package_json(p, ctx)?;
    let script = pj
        .script(&name)
        .ok_or_else(|| format!("{rel} has no `{name}` script"))?;
    for hook in [format!("pre{name}"), format!("post{name}")] {
        if pj.script(&hook).is_some() {
            return Err(format!(
                "{rel} also has a `{hook}` script, which runs with `{name}`"
            ));
        }
    }
    if script.contains(|c: char| "&|;<>()$`'\"\\*?[]{}~#\n\r".contains(c)) {
        return Err(format!(
            "the `{name}` script (`{script}`) needs a shell; rewrite the command by hand"
        ));
    }
    let mut out: Vec<String> = script.split_whitespace().map(str::to_string).collect();
    match out.first().map(String::as_str) {
        Some("node") => {}
        Some(w) if w.contains('=') => {
            return Err(format!("the `{name}` script sets variables (`{w}`); set them in the image or compose file and run the command by hand"))
        }
        Some(w) => {
            return Err(format!("the `{name}` script runs `{w}`, which is on PATH only under the package manager (node_modules/.bin); call it by its path by hand"))
        }
        None => return Err(format!("the `{name}` script is empty")),
    }
    if extra.iter().any(|w| !plain_word(w)) {
        return Err("the arguments need quoting; rewrite the command by hand".into());
    }
    if let Some((file, line, var)) = npm_env_read(p, crate::relpath::parent(&rel)) {
        return Err(format!(
            "the app reads `{var}` ({file}:{line}), which only the package manager sets for a script; without it the value is undefined: set it in the image by hand, or keep the package manager"
        ));
    }
    out.extend(extra);
    Ok(out)
}

/// The first read of a variable that only a package manager's script run
/// sets (`npm_package_version`, `npm_lifecycle_event`, `npm_config_*`) in the
/// app code prodsafe loaded under `dir`: (file, line, name).
fn npm_env_read(p: &Project, dir: &str) -> Option<(String, usize, String)> {
    const PREFIXES: [&str; 3] = ["npm_package_", "npm_lifecycle_", "npm_config_"];
    for a in &p.model.apps {
        let f = &p.model.files[a.file];
        if !(dir.is_empty() || f.rel.starts_with(&format!("{dir}/"))) {
            continue;
        }
        let t = &f.text;
        let hit = PREFIXES
            .iter()
            .filter_map(|pre| t.match_indices(pre).map(|(i, _)| i).next())
            .min();
        if let Some(i) = hit {
            let name: String = t[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let line = t[..i].matches('\n').count() + 1;
            return Some((f.rel.clone(), line, name));
        }
    }
    None
}

pub fn plain_word(w: &str) -> bool {
    !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:=@%+,-".contains(c))
}
