//! What several rules look at: the entrypoint scripts in scope and what the
//! container is known to set for them, and runtime-command classification.

use std::collections::HashSet;

use crate::finding::{Safety, Severity};
use crate::formats::shell::{always_set, Cmd, Script};
use crate::graph::ImageNode;
use crate::project::Project;
use crate::source::SourceFile;

pub struct ScriptCtx<'a> {
    pub script: &'a Script,
    pub src: &'a SourceFile,
    pub image: Option<&'a ImageNode>,
    /// Variables the container always sets (image `ENV`, compose
    /// `environment` of every service using the image, Docker's own).
    pub known: &'a HashSet<String>,
}

impl ScriptCtx<'_> {
    pub fn is_known(&self, name: &str) -> bool {
        always_set(name) || self.known.contains(name)
    }

    /// Variables `set -u` would abort on.
    pub fn unguarded(&self) -> Vec<(String, usize)> {
        self.script.unguarded(&|n| self.is_known(n))
    }
}

/// Scripts a Dockerfile runs as its command, and `*entrypoint*` scripts
/// (linked once, in the graph).
pub fn entry_scripts(p: &Project) -> Vec<ScriptCtx<'_>> {
    p.graph
        .scripts
        .iter()
        .filter_map(|n| {
            let src = p.file(&n.path)?;
            Some(ScriptCtx {
                script: p.script(&n.path)?,
                src,
                image: n.image.map(|i| &p.graph.images[i]),
                known: &n.known_env,
            })
        })
        .collect()
}

/// A package manager started at container run time, with its severity:
/// pnpm and yarn are usually absent from runtime images (critical), npm and
/// npx present but slow, network-bound and unpinned (high).
pub fn package_manager(words: &[String]) -> Option<(String, Severity)> {
    let first = words.iter().find(|w| !is_wrapper_word(w))?;
    let base = first.rsplit('/').next().unwrap_or(first);
    match base {
        "pnpm" | "yarn" | "pnpx" => Some((base.to_string(), Severity::Critical)),
        // `npm start` / `npm run x` / `npm test` only run a package.json
        // script: nothing is fetched (medium: npm sits between Docker and
        // node). Other npm commands may reach the network (high).
        "npm" => {
            let next = words.iter().skip_while(|w| *w != first).nth(1);
            match next.map(String::as_str) {
                Some("start" | "run" | "run-script" | "test" | "restart" | "stop") => {
                    Some((base.to_string(), Severity::Medium))
                }
                _ => Some((base.to_string(), Severity::High)),
            }
        }
        "npx" => Some((base.to_string(), Severity::High)),
        "corepack" => {
            let next = words.iter().skip_while(|w| *w != first).nth(1)?;
            matches!(next.as_str(), "pnpm" | "yarn")
                .then(|| (format!("corepack {next}"), Severity::Critical))
        }
        _ => None,
    }
}

/// What a package manager at start costs, said without claiming more than
/// is known: `not found` only when the image lacks it, the network only for
/// commands that fetch; a start script through a present package manager
/// only puts it between Docker and node.
pub fn package_manager_message(pm: &str, sev: Severity) -> String {
    match sev {
        Severity::Critical => format!("the runtime image does not provide it (`{pm}: not found`)"),
        Severity::High => format!("{pm} may reach the network and resolve other versions than CI tested, on every start"),
        _ => format!("{pm} only runs a package.json script, but stays between Docker and node (signals, start-up time); run the script's command directly"),
    }
}

pub fn cmd_words(c: &Cmd) -> Vec<String> {
    let mut v = vec![c.name.clone()];
    v.extend(c.args.iter().cloned());
    v
}

/// `prisma generate` however it is invoked (bare, npx, pnpm exec, yarn).
pub fn is_prisma_generate(words: &[String]) -> bool {
    let pos = words
        .iter()
        .position(|w| w == "prisma" || w.ends_with("/prisma"));
    pos.is_some_and(|i| words.get(i + 1).is_some_and(|w| w == "generate"))
}

pub fn is_wrapper_word(w: &str) -> bool {
    let base = w.rsplit('/').next().unwrap_or(w);
    matches!(
        base,
        "exec" | "dumb-init" | "tini" | "--" | "su-exec" | "gosu" | "env"
    )
}

use crate::formats::dockerfile::{Dockerfile, Instruction, Stage};
use crate::images;

/// Everything a Dockerfile-level rule needs about one image.
pub struct ImageCtx<'a> {
    pub img: &'a ImageNode,
    pub df: &'a Dockerfile,
    pub src: &'a SourceFile,
    pub stage: &'a Stage,
}

impl ImageCtx<'_> {
    pub fn col(&self, ins: &Instruction) -> usize {
        self.src.line_col(ins.span.start).1
    }

    /// Instructions of the final stage and the stages it builds on.
    pub fn runtime_instrs(&self) -> Vec<&Instruction> {
        let mut v = Vec::new();
        for s in self.df.lineage(self.stage).into_iter().rev() {
            v.extend(self.df.stage_instrs(s).iter());
        }
        v
    }

    /// Tools the runtime stage installs (`apk add`, `apt-get install`,
    /// `npm i -g`, `corepack enable` -> pnpm, yarn).
    pub fn installs(&self) -> Vec<String> {
        let mut out = Vec::new();
        for ins in self
            .runtime_instrs()
            .into_iter()
            .filter(|i| i.keyword == "RUN")
        {
            for seg in ins.args.split(['&', ';', '|']) {
                let w: Vec<&str> = seg.split_whitespace().collect();
                let pkgs_after = |k: usize| {
                    w[k..]
                        .iter()
                        .filter(|x| !x.starts_with('-'))
                        .map(|x| x.split(['=', '@']).next().unwrap_or(x).to_string())
                        .collect::<Vec<_>>()
                };
                match w.as_slice() {
                    ["apk", "add", ..] => out.extend(pkgs_after(2)),
                    ["apt-get", "install", ..] | ["apt", "install", ..] => {
                        out.extend(pkgs_after(2))
                    }
                    ["npm", "i" | "install", rest @ ..]
                        if rest.iter().any(|r| *r == "-g" || *r == "--global") =>
                    {
                        out.extend(pkgs_after(2))
                    }
                    ["corepack", "enable", ..] => {
                        out.extend(["pnpm".to_string(), "yarn".to_string()])
                    }
                    _ => {}
                }
            }
        }
        out
    }

    /// Whether the runtime image has a tool, when that can be known.
    pub fn has_tool(&self, tool: &str) -> Option<bool> {
        if self.installs().iter().any(|t| t == tool) {
            return Some(true);
        }
        images::provides(&self.img.base, tool)
    }
}

pub fn images(p: &Project) -> Vec<ImageCtx<'_>> {
    p.graph
        .images
        .iter()
        .filter(|img| img.runtime)
        .filter_map(|img| {
            let df = p.dockerfile(&img.dockerfile)?;
            // The stage that runs (compose `build.target`, else the last).
            let stage = df.stages.get(img.stage)?;
            Some(ImageCtx {
                img,
                df,
                src: p.file(&img.dockerfile)?,
                stage,
            })
        })
        .collect()
}

/// A portable environment variable name (safe in shell and JS source).
pub fn valid_name(n: &str) -> bool {
    n.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A fix that replaces the service's own one-line compose
/// `healthcheck.test` value with what `rewrite` makes of its text (None when
/// the test is merged in, multi-line, or `rewrite` declines).
pub fn replace_compose_test(
    p: &Project,
    s: &crate::graph::ServiceNode,
    title: String,
    safety: crate::finding::Safety,
    unsafe_reason: Option<String>,
    rewrite: impl FnOnce(&str) -> Option<String>,
) -> Option<crate::finding::Fix> {
    use crate::finding::{Edit, Expect, Fix};
    // The healthcheck lives in the file that defines it: the service's own
    // file, or an overlay layered onto it.
    let (ci, si) = match &s.health {
        crate::graph::Health::Compose { file, .. } => std::iter::once((s.compose, s.index))
            .chain(s.layers.iter().copied())
            .find(|&(ci, _)| p.files[p.compose[ci].file].rel == *file)
            .unwrap_or((s.compose, s.index)),
        _ => (s.compose, s.index),
    };
    let c = &p.compose[ci];
    let svc = &c.services[si];
    let (_, hc) = c.doc.own_entry(&svc.node, "healthcheck")?;
    let (_, test) = c.doc.own_entry(hc, "test")?;
    let src = &p.files[c.file];
    let end = crate::formats::yaml::value_end(src, test)?;
    let new = rewrite(&src.text[test.start..end])?;
    Some(Fix {
        title,
        safety,
        unsafe_reason,
        changes: vec![crate::finding::FileChange {
            path: src.rel.clone(),
            edits: vec![Edit {
                start: test.start,
                end,
                text: new.clone(),
            }],
            expect: vec![Expect::YamlValueSet {
                path: vec![
                    "services".into(),
                    s.name.clone(),
                    "healthcheck".into(),
                    "test".into(),
                ],
                value: new,
            }],
        }],
    })
}

/// The safety of a fix that makes a service stop at start unless `names`
/// are set (APP001's guard, ENT008's check): safe only when every service
/// in `services` is given every name; otherwise unsafe, naming each
/// service and what it lacks (`what` names the added code in the reason).
pub fn env_guard_safety<S: AsRef<str>>(
    p: &Project,
    services: impl IntoIterator<Item = usize>,
    names: &[S],
    what: &str,
) -> (Safety, Option<String>) {
    let mut gaps: Vec<String> = Vec::new();
    for i in services {
        let svc = &p.graph.services[i];
        let lacking: Vec<&str> = names
            .iter()
            .map(AsRef::as_ref)
            .filter(|n| !p.service_env.get(i).is_some_and(|e| e.provides(n)))
            .collect();
        if !lacking.is_empty() {
            gaps.push(format!(
                "`{}` ({}) does not get {}",
                svc.name,
                svc.compose_rel,
                lacking.join(", ")
            ));
        }
    }
    if gaps.is_empty() {
        (Safety::Safe, None)
    } else {
        (
            Safety::Unsafe,
            Some(format!(
                "the {what} would stop a service its deployment runs today: {} (see CMP005)",
                gaps.join("; ")
            )),
        )
    }
}
