//! What the build stages of a Dockerfile do, read on each `RUN`'s shell
//! syntax tree: where each container path comes from (the build context or
//! another stage, through `COPY`), which `RUN`s install dependencies and
//! with which package manager, and which generate the Prisma client
//! (directly, through a `package.json` script, or a root `postinstall`).
//! Used by DKR001/DKR002/DKR004/ENT003/ENT004 and the build rules.

use crate::formats::dockerfile::{shell_program, Dockerfile, Instruction, ShellCmd, Stage};
use crate::formats::package_json::{script_invocation, PackageJson};
use crate::graph::container_path;
use crate::project::{join, Project};

/// Where a container path comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A file or folder of the build context (repo-relative path).
    Context(String),
    /// `COPY --from=stage`: that stage's index and the path in it.
    Stage(usize, String),
    /// `COPY --from=image` or something prodsafe cannot follow.
    Unknown,
}

/// The index of the stage holding instruction `idx`.
pub fn stage_of(df: &Dockerfile, idx: usize) -> Option<&Stage> {
    df.stages.iter().find(|s| s.instrs.contains(&idx))
}

/// The instructions stage `st` runs before index `before`, its ancestors'
/// first, each with its stage and index.
pub fn instrs_before<'a>(
    df: &'a Dockerfile,
    st: &'a Stage,
    before: usize,
) -> impl Iterator<Item = (&'a Stage, usize, &'a Instruction)> + 'a {
    df.lineage(st).into_iter().rev().flat_map(move |s| {
        s.instrs
            .clone()
            .take_while(move |&i| s.index != st.index || i < before)
            .map(move |i| (s, i, &df.instructions[i]))
    })
}

/// The WORKDIR in effect just before instruction `idx` of stage `st`
/// (ancestors' WORKDIRs included).
pub fn workdir_before(df: &Dockerfile, st: &Stage, idx: usize) -> String {
    let mut wd = String::from("/");
    for (_, _, ins) in instrs_before(df, st, idx) {
        if ins.keyword == "WORKDIR" {
            wd = container_path(&wd, ins.rest.trim());
        }
    }
    wd
}

/// Whether container path `inner` is `outer` or inside it.
pub fn covers(outer: &str, inner: &str) -> bool {
    let o = outer.trim_end_matches('/');
    o.is_empty() || inner == o || inner.starts_with(&format!("{o}/"))
}

/// Whether a `COPY` destination is a folder: written with a final `/`,
/// `.`/`..`, or the WORKDIR itself.
pub fn dest_is_dir(dest: &str, dest_abs: &str, workdir: &str) -> bool {
    dest.ends_with('/')
        || dest == "."
        || dest == ".."
        || dest.ends_with("/.")
        || dest.ends_with("/..")
        || dest_abs.trim_end_matches('/') == workdir.trim_end_matches('/')
}

/// `*` and `?` matching of one path segment.
pub fn wildcard(pat: &str, s: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pat.chars().collect(), s.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(sp) = star {
            pi = sp + 1;
            mark += 1;
            ti = mark;
        } else {
            return p.get(pi) == Some(&'[');
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Sources and destination of a `COPY`/`ADD` (None for heredoc copies and
/// single-word ones).
pub fn copy_parts(ins: &Instruction) -> Option<(Vec<String>, String)> {
    if !matches!(ins.keyword.as_str(), "COPY" | "ADD") || !ins.heredocs.is_empty() {
        return None;
    }
    let w = ins.words();
    if w.len() < 2 {
        return None;
    }
    let (s, d) = w.split_at(w.len() - 1);
    Some((s.to_vec(), d[0].clone()))
}

/// Where container path `target` (absolute) comes from in stage `st`,
/// considering the instructions of its lineage before index `before` (the
/// last `COPY` that covers it wins). `None` when nothing copies it.
pub fn origin(
    p: &Project,
    df: &Dockerfile,
    context: &str,
    st: &Stage,
    target: &str,
    before: usize,
) -> Option<Origin> {
    let mut found = None;
    let mut wd = String::from("/");
    for (s, _, ins) in instrs_before(df, st, before) {
        if ins.keyword == "WORKDIR" {
            wd = container_path(&wd, ins.rest.trim());
        }
        let Some((srcs, dest)) = copy_parts(ins) else {
            continue;
        };
        let dest_abs = container_path(&wd, &dest);
        let dest_dir = dest_is_dir(&dest, &dest_abs, &wd) || srcs.len() > 1;
        let from = ins.flag("from");
        for src in &srcs {
            if src.contains('$') {
                if covers(&dest_abs, target) {
                    found = Some(Origin::Unknown);
                }
                continue;
            }
            if src.contains(['*', '?', '[']) {
                // A glob: it may bring a file of the same name.
                let name = src.rsplit('/').next().unwrap_or(src);
                let tname = target.rsplit('/').next().unwrap_or(target);
                if covers(&dest_abs, target) && wildcard(name, tname) {
                    found = Some(Origin::Unknown);
                }
                continue;
            }
            let name = src.trim_end_matches('/').rsplit('/').next().unwrap_or(src);
            match from {
                Some(f) => {
                    let Some(fs) = df.stage_by_name(f).filter(|x| x.index < s.index) else {
                        if covers(&dest_abs, target) {
                            found = Some(Origin::Unknown);
                        }
                        continue;
                    };
                    let src_abs = container_path("/", src);
                    // A folder copies its content into dest; a file
                    // lands at dest (or dest/name).
                    if let Some(rest) = target
                        .strip_prefix(dest_abs.trim_end_matches('/'))
                        .filter(|r| r.is_empty() || r.starts_with('/'))
                    {
                        let in_src = format!("{}{}", src_abs.trim_end_matches('/'), rest);
                        found = Some(Origin::Stage(fs.index, in_src));
                    } else if dest_dir
                        && target == format!("{}/{}", dest_abs.trim_end_matches('/'), name)
                    {
                        found = Some(Origin::Stage(fs.index, src_abs));
                    }
                }
                None => {
                    let Some(src_rel) = join(context, src) else {
                        continue;
                    };
                    let is_dir = src_rel.is_empty() || p.all_dirs.contains(&src_rel);
                    if is_dir {
                        if let Some(rest) = target
                            .strip_prefix(dest_abs.trim_end_matches('/'))
                            .filter(|r| r.is_empty() || r.starts_with('/'))
                        {
                            let cand =
                                join(&src_rel, rest.trim_start_matches('/')).unwrap_or_default();
                            if p.exists(&cand) {
                                found = Some(Origin::Context(cand));
                            }
                        }
                    } else if p.all_paths.contains(&src_rel) {
                        let file_dest = if dest_dir {
                            format!("{}/{}", dest_abs.trim_end_matches('/'), name)
                        } else {
                            dest_abs.clone()
                        };
                        if file_dest == target {
                            found = Some(Origin::Context(src_rel));
                        }
                    }
                }
            }
        }
    }
    found
}

/// A dependency install in a `RUN`.
#[derive(Debug, Clone)]
pub struct Install {
    /// Instruction index.
    pub idx: usize,
    pub stage: usize,
    pub pm: &'static str,
    /// `--prod`, `--production`, `--omit=dev`, `--only=prod`.
    pub prod_only: bool,
    pub ignore_scripts: bool,
    pub workdir: String,
    /// `cd DIR &&` before it, or `--dir`/`-C`/`--prefix`/`--cwd`: the
    /// directory is not the WORKDIR.
    pub elsewhere: bool,
}

/// The package manager subcommand word of an npm/pnpm/yarn command: its
/// index in `words` (None: `yarn` alone, which installs). Value-taking
/// global flags are skipped with their value.
pub fn subcommand(c: &ShellCmd) -> Option<Option<usize>> {
    let pm = c.program();
    if !matches!(pm, "npm" | "pnpm" | "yarn") {
        return None;
    }
    let mut i = 1;
    while i < c.words.len() {
        let w = c.words[i].text.as_str();
        if w.starts_with('-') {
            let takes_value = matches!(
                w,
                "--filter" | "-F" | "--dir" | "-C" | "--prefix" | "--cwd" | "-w" | "--workspace"
            ) && !(pm == "pnpm" && w == "-w");
            i += if takes_value { 2 } else { 1 };
            continue;
        }
        return Some(Some(i));
    }
    Some(None)
}

/// Whether a command installs the dependencies of a package (not a global
/// tool, not `npm install pkg`).
pub fn install_of(c: &ShellCmd) -> Option<(&'static str, Option<usize>)> {
    let sub = subcommand(c)?;
    let pm: &'static str = match c.program() {
        "npm" => "npm",
        "pnpm" => "pnpm",
        _ => "yarn",
    };
    let verb = sub.map(|i| c.words[i].text.as_str());
    let is_install = matches!(
        (pm, verb),
        ("yarn", None) | (_, Some("install" | "i")) | ("npm", Some("ci"))
    );
    if !is_install {
        return None;
    }
    let after = sub.map(|i| i + 1).unwrap_or(c.words.len());
    let global = c
        .args()
        .iter()
        .any(|w| matches!(w.text.as_str(), "-g" | "--global"));
    let mut pkg_args = false;
    let mut k = after;
    while k < c.words.len() {
        let w = c.words[k].text.as_str();
        if matches!(w, "--filter" | "-F") {
            k += 2;
            continue;
        }
        if !w.starts_with('-') {
            pkg_args = true;
        }
        k += 1;
    }
    if global || pkg_args {
        return None;
    }
    Some((pm, sub))
}

pub fn installs(df: &Dockerfile, text: &str) -> Vec<Install> {
    let mut out = Vec::new();
    for st in &df.stages {
        for idx in st.instrs.clone() {
            let ins = &df.instructions[idx];
            if ins.keyword != "RUN" {
                continue;
            }
            let Some(prog) = shell_program(text, ins, df.escape) else {
                continue;
            };
            let mut cd = false;
            for c in &prog.commands {
                if c.program() == "cd" {
                    cd = true;
                }
                let Some((pm, _)) = install_of(c) else {
                    continue;
                };
                let has = |f: &[&str]| c.args().iter().any(|w| f.contains(&w.text.as_str()));
                out.push(Install {
                    idx,
                    stage: st.index,
                    pm,
                    prod_only: has(&[
                        "--prod",
                        "-P",
                        "--production",
                        "--omit=dev",
                        "--only=prod",
                        "--only=production",
                    ]),
                    ignore_scripts: has(&["--ignore-scripts"]),
                    workdir: workdir_before(df, st, idx),
                    elsewhere: cd
                        || has(&["--dir", "-C", "--prefix", "--cwd"])
                        || c.args().iter().any(|w| {
                            ["--dir=", "--prefix=", "--cwd="]
                                .iter()
                                .any(|f| w.text.starts_with(f))
                        }),
                });
            }
        }
    }
    out
}

/// `prisma generate` as words, however invoked.
pub fn words_generate(words: &[String]) -> bool {
    crate::rules::scope::is_prisma_generate(words)
}

/// Whether a shell command line (a package.json script) runs
/// `prisma generate`: each `&&`/`;`-separated part is read as words.
pub fn script_generates(script: &str) -> bool {
    script.split(['&', ';', '|']).any(|part| {
        let w: Vec<String> = part.split_whitespace().map(str::to_string).collect();
        words_generate(&w)
    })
}

/// How a build step generates the client.
#[derive(Debug, Clone)]
pub struct Generate {
    pub idx: usize,
    pub stage: usize,
    pub workdir: String,
    pub how: String,
    /// Read on the syntax tree and the package.json scripts; false for a
    /// step that only mentions it (`nx run api:prisma-generate`).
    pub certain: bool,
}

/// The `RUN`s that generate the Prisma client at build time: `prisma
/// generate` itself, a `package.json` script that runs it (`npm run
/// db:generate`), or an install whose `postinstall` runs it (not with
/// `--ignore-scripts`, and only when the schema is already in place).
pub fn generates(
    p: &Project,
    df: &Dockerfile,
    text: &str,
    context: &str,
    schema_rel: Option<&str>,
) -> Vec<Generate> {
    let mut out = Vec::new();
    let pj_at = |st: &Stage, dir: &str, idx: usize| -> Option<&PackageJson> {
        match origin(
            p,
            df,
            context,
            st,
            &format!("{}/package.json", dir.trim_end_matches('/')),
            idx,
        )? {
            Origin::Context(rel) => p.package_json(&rel),
            _ => None,
        }
    };
    for st in &df.stages {
        for idx in st.instrs.clone() {
            let ins = &df.instructions[idx];
            if ins.keyword != "RUN" {
                continue;
            }
            let wd = workdir_before(df, st, idx);
            let Some(prog) = shell_program(text, ins, df.escape) else {
                if ins.args.contains("prisma") && ins.args.contains("generate") {
                    out.push(Generate {
                        idx,
                        stage: st.index,
                        workdir: wd,
                        how: "prisma generate".into(),
                        certain: false,
                    });
                }
                continue;
            };
            let before = out.len();
            for c in &prog.commands {
                let words: Vec<String> = c.words.iter().map(|w| w.text.clone()).collect();
                if words_generate(&words) {
                    out.push(Generate {
                        idx,
                        stage: st.index,
                        workdir: wd.clone(),
                        how: "prisma generate".into(),
                        certain: true,
                    });
                    continue;
                }
                if let Some((_, name, _)) = script_invocation(&words) {
                    if let Some(pj) = pj_at(st, &wd, idx) {
                        if pj.script(&name).is_some_and(script_generates) {
                            out.push(Generate {
                                idx,
                                stage: st.index,
                                workdir: wd.clone(),
                                how: format!("the `{name}` script"),
                                certain: true,
                            });
                        }
                    }
                    continue;
                }
                if let Some((_, _)) = install_of(c) {
                    let ignore = c.args().iter().any(|w| w.text == "--ignore-scripts");
                    let Some(pj) = pj_at(st, &wd, idx) else {
                        continue;
                    };
                    let schema_there = schema_rel
                        .is_some_and(|s| schema_in_stage(p, df, context, st, s, idx).is_some());
                    if !ignore
                        && schema_there
                        && pj.script("postinstall").is_some_and(script_generates)
                    {
                        out.push(Generate {
                            idx,
                            stage: st.index,
                            workdir: wd.clone(),
                            how: "the root `postinstall` script".into(),
                            certain: true,
                        });
                    }
                }
            }
            // A step that names it through a tool prodsafe does not follow
            // (`nx run api:prisma-generate`, `turbo db:generate`).
            let a = ins.args.to_ascii_lowercase();
            if out.len() == before && a.contains("prisma") && a.contains("generate") {
                out.push(Generate {
                    idx,
                    stage: st.index,
                    workdir: wd.clone(),
                    how: format!("the step at line {}", ins.line),
                    certain: false,
                });
            }
        }
    }
    out
}

/// The container path at which stage `st` holds the repo's schema file
/// before instruction `before`, and the index of the COPY that brings it.
pub fn schema_in_stage(
    p: &Project,
    df: &Dockerfile,
    context: &str,
    st: &Stage,
    schema_rel: &str,
    before: usize,
) -> Option<(String, usize)> {
    // Inverse of `origin`: try the destinations of each COPY from the
    // context that could hold the file.
    let mut wd = String::from("/");
    let mut best = None;
    for (_, i, ins) in instrs_before(df, st, before) {
        if ins.keyword == "WORKDIR" {
            wd = container_path(&wd, ins.rest.trim());
        }
        if ins.flag("from").is_some() {
            continue;
        }
        let Some((srcs, dest)) = copy_parts(ins) else {
            continue;
        };
        let dest_abs = container_path(&wd, &dest);
        let dest_dir = dest_is_dir(&dest, &dest_abs, &wd) || srcs.len() > 1;
        for src in &srcs {
            let Some(src_rel) = join(context, src) else {
                continue;
            };
            let is_dir = src_rel.is_empty() || p.all_dirs.contains(&src_rel);
            let cand = if is_dir {
                let rest = if src_rel.is_empty() {
                    Some(schema_rel)
                } else {
                    schema_rel.strip_prefix(&format!("{src_rel}/"))
                };
                rest.map(|r| format!("{}/{}", dest_abs.trim_end_matches('/'), r))
            } else if src_rel == schema_rel {
                let name = schema_rel.rsplit('/').next().unwrap_or(schema_rel);
                Some(if dest_dir {
                    format!("{}/{}", dest_abs.trim_end_matches('/'), name)
                } else {
                    dest_abs.clone()
                })
            } else {
                None
            };
            if let Some(c) = cand {
                best = Some((c.replace("//", "/"), i));
            }
        }
    }
    best
}

/// `target` relative to `dir` when it lies inside it, else absolute.
pub fn relative_to(dir: &str, target: &str) -> String {
    let d = dir.trim_end_matches('/');
    match target.strip_prefix(&format!("{d}/")) {
        Some(r) if !d.is_empty() => r.to_string(),
        _ if d.is_empty() => target.trim_start_matches('/').to_string(),
        _ => target.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard("package*.json", "package-lock.json"));
        assert!(wildcard("package*.json", "package.json"));
        assert!(!wildcard("package*.json", "pnpm-lock.yaml"));
        assert!(wildcard("*.y?ml", "a.yaml"));
    }

    #[test]
    fn paths() {
        assert!(covers(
            "/app/node_modules",
            "/app/node_modules/.prisma/client"
        ));
        assert!(!covers(
            "/app/node_modules/.prisma",
            "/app/node_modules/.pnpm/x"
        ));
        assert_eq!(
            relative_to("/app", "/app/prisma/schema.prisma"),
            "prisma/schema.prisma"
        );
        assert_eq!(
            relative_to("/srv", "/app/prisma/schema.prisma"),
            "/app/prisma/schema.prisma"
        );
        assert_eq!(relative_to("/", "/app/x"), "app/x");
    }
}
