//! The service graph: compose service -> build context and Dockerfile ->
//! final stage -> app entry, with the port and health path each service is
//! inferred to use and where that came from. Built once per project; rules
//! read it and never walk files themselves.

use std::collections::HashMap;

use crate::formats::compose::{Healthcheck, Service};
use crate::formats::dockerfile::{Dockerfile, Stage};
use crate::images;
use crate::project::model::{join, parent, Model as Project};

pub use crate::inferred::Inferred;

/// How much a source proves. The app's own code read with the value the
/// container gets, the user's `prodsafe.toml`, compose `build.target` and
/// Dockerfile instructions of the stage that runs are strong; declarations
/// nothing checks (`EXPOSE`, compose `ports`/`expose` alone, a variable the
/// code never reads, an nginx upstream) are weak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Strength {
    Weak,
    Strong,
}

/// One source of a fact: what kind of evidence, where, and what it says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Evidence {
    pub kind: String,
    pub file: String,
    pub line: usize,
    /// The value this source gives, as text.
    pub value: String,
    pub strength: Strength,
    /// This source disagrees with the fact's value.
    pub disagrees: bool,
}

impl Evidence {
    pub fn new(
        kind: &str,
        file: &str,
        line: usize,
        value: impl ToString,
        strength: Strength,
    ) -> Evidence {
        Evidence {
            kind: kind.to_string(),
            file: file.to_string(),
            line,
            value: value.to_string(),
            strength,
            disagrees: false,
        }
    }

    pub fn describe(&self) -> String {
        let at = if self.file.is_empty() {
            String::new()
        } else if self.line == 0 {
            format!(" in {}", self.file)
        } else {
            format!(" at {}:{}", self.file, self.line)
        };
        format!("{} `{}`{at}", self.kind, self.value)
    }
}

/// An inferred fact of a service with the sources that support (or
/// contradict) it and its strength.
#[derive(Debug, Clone, PartialEq)]
pub struct Fact<T> {
    pub value: T,
    /// The deciding source, described (`app listen at apps/a/src/main.ts:9`).
    pub source: String,
    pub strength: Strength,
    /// Every source seen, deciding one first.
    pub evidence: Vec<Evidence>,
    /// A source disagrees with the value.
    pub contested: bool,
}

impl<T> Fact<T> {
    pub fn strong(value: T, ev: Evidence) -> Fact<T> {
        Fact {
            value,
            source: ev.describe(),
            strength: Strength::Strong,
            evidence: vec![ev],
            contested: false,
        }
    }

    pub fn weak(value: T, ev: Evidence) -> Fact<T> {
        Fact {
            value,
            source: ev.describe(),
            strength: Strength::Weak,
            evidence: vec![ev],
            contested: false,
        }
    }

    /// Strong and uncontested: a fix may rely on it and stay safe.
    pub fn sound(&self) -> bool {
        self.strength == Strength::Strong && !self.contested
    }

    /// Why a fix using this fact is not safe (None when it is sound).
    pub fn weakness(&self, what: &str) -> Option<String> {
        if self.contested {
            let others: Vec<String> = self
                .evidence
                .iter()
                .filter(|e| e.disagrees)
                .map(|e| e.describe())
                .collect();
            Some(format!(
                "{what} contested: {} vs {}",
                self.source,
                others.join(", ")
            ))
        } else if self.strength == Strength::Weak {
            Some(format!("{what} only from {}", self.source))
        } else {
            None
        }
    }
}

/// Whether the service starts a server, as far as its code shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listening {
    Http,
    Tcp,
    /// The entry code and its modules start no server.
    No,
    /// No entry code was found.
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Health {
    /// Healthcheck in the compose file (own, merged or via `extends`).
    Compose {
        file: String,
        line: usize,
        test: Vec<String>,
    },
    /// `HEALTHCHECK CMD` in the image's final stage.
    Image {
        file: String,
        line: usize,
        command: String,
    },
    Disabled,
    Absent,
}

impl Health {
    pub fn present(&self) -> bool {
        !matches!(self, Health::Absent)
    }
}

#[derive(Debug, Clone)]
pub struct ServiceNode {
    /// Index into `Project::compose`, and into its `services`.
    pub compose: usize,
    pub index: usize,
    pub name: String,
    pub compose_rel: String,
    /// Build context (root-relative), when the service builds.
    pub context: Option<String>,
    /// The Dockerfile, when it exists.
    pub dockerfile: Option<String>,
    /// A declared build context / Dockerfile that does not exist.
    pub missing_build: Option<String>,
    /// Folder of the service's own files (the Dockerfile's, else the context).
    pub service_dir: Option<String>,
    /// The runtime base image: final stage's root image, or compose `image`.
    pub image: Option<String>,
    pub node: bool,
    /// The port the process listens on.
    pub port: Option<Fact<u16>>,
    /// Whether the process starts a server at all.
    pub listens: Fact<Listening>,
    /// A route the code serves that a probe can use (health-like, else `/`),
    /// or one an existing probe of the project uses.
    pub health_route: Option<Fact<String>>,
    /// The Dockerfile stage that runs (compose `build.target`, else the last).
    pub stage: Option<Fact<String>>,
    /// Index of that stage in the Dockerfile.
    pub stage_index: Option<usize>,
    /// The user the container runs as.
    pub user: Option<Fact<String>>,
    /// Tools the runtime image ships (from the image table).
    pub tools: Option<Fact<Vec<String>>>,
    /// The Dockerfile was linked to an image-only service by the image's
    /// name matching its folder (a guess: weak).
    pub dockerfile_by_name: Option<String>,
    /// Overlay compose services layered onto this one (compose, service),
    /// the last applied first.
    pub layers: Vec<(usize, usize)>,
    /// The service's compose file (or an overlay on it) is a dev/local/test stack.
    pub dev: bool,
    pub app_entry: Option<String>,
    pub health: Health,
    pub long_running: bool,
    /// The Prisma schema the service uses.
    pub prisma: Option<String>,
    /// Variables the service cannot start without, each with its source.
    pub required_env: Vec<Inferred<String>>,
    /// Variables read as values on some paths only (unsure: optional).
    pub maybe_env: Vec<Inferred<String>>,
}

/// A Dockerfile's runtime image: its final stage, build context and the
/// script its command runs.
#[derive(Debug, Clone)]
pub struct ImageNode {
    pub dockerfile: String,
    /// Build context (root-relative): the compose service's, else guessed
    /// from where the COPY sources exist.
    pub context: String,
    /// ENTRYPOINT + CMD as the container runs them (exec form words).
    pub command: Vec<String>,
    /// Line of the instruction that sets the command's first word.
    pub command_line: Option<usize>,
    /// The script the command runs, as a repo path, and where it lives in
    /// the container.
    pub entry_script: Option<String>,
    pub entry_script_container: Option<String>,
    /// The root image of the runtime stage.
    pub base: String,
    /// Services (indices into `Graph::services`) built from it.
    pub services: Vec<usize>,
    /// Index of the stage that runs: the compose `build.target` its
    /// services use, else the last stage.
    pub stage: usize,
    /// A runtime image: built by a compose service or a workflow (or the
    /// project builds none of its Dockerfiles that way), and not a
    /// dev-container / workspace image.
    pub runtime: bool,
    /// Why it is not a runtime image.
    pub not_runtime: Option<String>,
}

/// An entrypoint script in scope: run by an image, or named `*entrypoint*`.
#[derive(Debug, Clone)]
pub struct ScriptNode {
    pub path: String,
    /// Index into `Graph::images` of the image that runs it.
    pub image: Option<usize>,
    /// Variables the container always sets for it: the image's `ENV`, and
    /// those every compose service running the image sets.
    pub known_env: std::collections::HashSet<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub services: Vec<ServiceNode>,
    pub images: Vec<ImageNode>,
    pub scripts: Vec<ScriptNode>,
    by_name: HashMap<(usize, String), usize>,
    image_by_dockerfile: HashMap<String, usize>,
    image_by_script: HashMap<String, usize>,
    /// First service of each name, across compose files.
    by_service_name: HashMap<String, usize>,
}

impl Graph {
    pub fn image(&self, dockerfile: &str) -> Option<&ImageNode> {
        self.image_by_dockerfile
            .get(dockerfile)
            .map(|&i| &self.images[i])
    }

    /// The image whose entrypoint is this script.
    pub fn image_of_script(&self, script: &str) -> Option<&ImageNode> {
        self.image_by_script.get(script).map(|&i| &self.images[i])
    }

    /// A service by name in any compose file (the first one declared).
    pub fn service_named(&self, name: &str) -> Option<&ServiceNode> {
        self.by_service_name.get(name).map(|&i| &self.services[i])
    }

    pub fn get(&self, compose: usize, name: &str) -> Option<&ServiceNode> {
        self.by_name
            .get(&(compose, name.to_string()))
            .map(|&i| &self.services[i])
    }

    pub fn build(p: &Project) -> Graph {
        let mut g = Graph::default();
        // Services that others wait on to complete are one-shot jobs.
        let mut completes: HashMap<(usize, String), bool> = HashMap::new();
        for (ci, c) in p.compose.iter().enumerate() {
            for s in &c.services {
                for d in &s.depends_on {
                    if d.condition.as_deref() == Some("service_completed_successfully") {
                        completes.insert((ci, d.service.clone()), true);
                    }
                }
            }
        }
        // Image-only services are linked to `<dir>/Dockerfile` when the
        // image's repository name equals a folder name (unique in the repo).
        let mut by_dir: HashMap<&str, Option<&str>> = HashMap::new();
        for (fi, _) in &p.dockerfiles {
            let rel = p.files[*fi].rel.as_str();
            if rel.ends_with("/Dockerfile") {
                let dir = parent(rel);
                let name = dir.rsplit('/').next().unwrap_or(dir);
                by_dir
                    .entry(name)
                    .and_modify(|v| *v = None)
                    .or_insert(Some(rel));
            }
        }
        // Overlays: a service of an overlay that its base stack declares is
        // layered onto that service, not a service of its own.
        let root_base = |mut ci: usize| {
            for _ in 0..8 {
                match p.layers.get(ci).and_then(|l| l.base) {
                    Some(b) => ci = b,
                    None => break,
                }
            }
            ci
        };
        let mut layered: HashMap<(usize, usize), Vec<(usize, usize)>> = HashMap::new();
        let mut is_layer: std::collections::HashSet<(usize, usize)> = Default::default();
        for (ci, c) in p.compose.iter().enumerate() {
            if p.layers.get(ci).and_then(|l| l.base).is_none() {
                continue;
            }
            let b = root_base(ci);
            for (si, s) in c.services.iter().enumerate() {
                if let Some(bi) = p.compose[b].services.iter().position(|x| x.name == s.name) {
                    layered.entry((b, bi)).or_default().push((ci, si));
                    is_layer.insert((ci, si));
                }
            }
        }
        let ctx = Ctx::new(p);
        for (ci, c) in p.compose.iter().enumerate() {
            let compose_rel = p.files[c.file].rel.clone();
            for (si, s) in c.services.iter().enumerate() {
                if is_layer.contains(&(ci, si)) {
                    continue;
                }
                let mut layers = layered.remove(&(ci, si)).unwrap_or_default();
                layers.reverse();
                let mut chain: Vec<(usize, &Service)> = layers
                    .iter()
                    .map(|&(cj, sj)| (cj, &p.compose[cj].services[sj]))
                    .collect();
                chain.extend(extends_chain(p, ci, s));
                let mut node =
                    service_node(p, &ctx, ci, si, &compose_rel, &chain, &completes, &by_dir);
                node.dev = p.layers.get(ci).is_some_and(|l| l.dev);
                node.layers = layers;
                g.by_name.insert((ci, s.name.clone()), g.services.len());
                g.services.push(node);
            }
        }
        let mut by_dockerfile: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, s) in g.services.iter().enumerate() {
            if let Some(d) = &s.dockerfile {
                by_dockerfile.entry(d.clone()).or_default().push(i);
            }
            g.by_service_name.entry(s.name.clone()).or_insert(i);
        }
        let compose_builds = g.services.iter().any(|s| s.dockerfile.is_some());
        let wf = workflow_builds(p);
        // Build instructions prodsafe does not model (reusable workflows,
        // `docker build` in scripts and Makefiles): a Dockerfile whose path
        // (or, for a plain `Dockerfile`, whose folder) they name counts as built.
        let mut build_texts: Vec<&str> = p
            .workflows
            .iter()
            .map(|w| p.files[w.file].text.as_str())
            .chain(p.scripts.iter().map(|s| p.files[s.file].text.as_str()))
            .collect();
        build_texts.extend(p.aux_texts.iter().map(|(_, t)| t.as_str()));
        let mentioned = |rel: &str| {
            let dir = parent(rel);
            let is_plain = rel.rsplit('/').next() == Some("Dockerfile");
            build_texts
                .iter()
                .any(|t| t.contains(rel) || (is_plain && !dir.is_empty() && t.contains(dir)))
        };
        for (fi, df) in &p.dockerfiles {
            let rel = p.files[*fi].rel.clone();
            let services: Vec<usize> = by_dockerfile.remove(rel.as_str()).unwrap_or_default();
            let context = services
                .iter()
                .find_map(|&i| g.services[i].context.clone())
                .unwrap_or_else(|| guess_context(p, &rel, df));
            // The stage its services run: the last stage if any runs it,
            // else the first target named.
            let last = df.stages.len().saturating_sub(1);
            let stages: Vec<usize> = services
                .iter()
                .filter_map(|&i| g.services[i].stage_index)
                .collect();
            let stage = if stages.is_empty() || stages.contains(&last) {
                last
            } else {
                stages[0]
            };
            let lower = rel.to_ascii_lowercase();
            let not_runtime =
                if lower.contains(".devcontainer/") || lower.starts_with(".devcontainer") {
                    Some("a dev-container image (`.devcontainer/`)".to_string())
                } else if lower
                    .rsplit('/')
                    .next()
                    .is_some_and(|n| n.contains("gitpod"))
                {
                    Some("a Gitpod workspace image".to_string())
                } else if services.is_empty()
                    && (compose_builds || !wf.is_empty())
                    && !wf.iter().any(|re| re.is_match(&rel))
                    && !mentioned(&rel)
                {
                    Some("no compose service, workflow, script or Makefile builds it".to_string())
                } else {
                    None
                };
            let mut img = image_node(p, &rel, df, context, services, stage);
            img.runtime = not_runtime.is_none();
            img.not_runtime = not_runtime;
            if let Some(sc) = &img.entry_script {
                if img.runtime {
                    g.image_by_script
                        .entry(sc.clone())
                        .or_insert(g.images.len());
                }
            }
            g.image_by_dockerfile.insert(rel, g.images.len());
            g.images.push(img);
        }
        for script in &p.scripts {
            let path = p.files[script.file].rel.clone();
            let image = g.image_by_script.get(&path).copied();
            let name = path
                .rsplit('/')
                .next()
                .unwrap_or(&path)
                .to_ascii_lowercase();
            if image.is_none() && !name.contains("entrypoint") {
                continue;
            }
            let mut known_env = std::collections::HashSet::new();
            if let Some(img) = image.map(|i| &g.images[i]) {
                if let Some(df) = p.dockerfile(&img.dockerfile) {
                    if let Some(st) = df.stages.get(img.stage) {
                        known_env.extend(df.env(st).into_iter().map(|(k, _)| k));
                    }
                }
                let mut common: Option<std::collections::HashSet<String>> = None;
                for &si in &img.services {
                    let s = &g.services[si];
                    let set = p.compose[s.compose].services[s.index]
                        .environment
                        .iter()
                        .map(|(k, _)| k.clone())
                        .collect();
                    common = Some(match common {
                        None => set,
                        Some(c) => c.intersection(&set).cloned().collect(),
                    });
                }
                known_env.extend(common.unwrap_or_default());
            }
            g.scripts.push(ScriptNode {
                path,
                image,
                known_env,
            });
        }
        g
    }
}

/// The first of (Dockerfile's folder, its ancestors up to the root) in which
/// every plain `COPY`/`ADD` source exists.
fn guess_context(p: &Project, rel: &str, df: &Dockerfile) -> String {
    let srcs: Vec<String> = df
        .instructions
        .iter()
        .filter(|i| {
            matches!(i.keyword.as_str(), "COPY" | "ADD")
                && i.flag("from").is_none()
                && i.heredocs.is_empty()
        })
        .flat_map(|i| {
            let w = i.words();
            w[..w.len().saturating_sub(1)].to_vec()
        })
        .filter(|s| !s.contains('*') && !s.contains('$') && !s.contains("://"))
        .collect();
    // A Dockerfile that names its own folder (`apps/web/...`) is built from
    // the ancestor that folder is relative to.
    let own = parent(rel);
    let mut ancestors = vec![String::new()];
    for (i, _) in own.match_indices('/') {
        ancestors.push(own[..i].to_string());
    }
    if !own.is_empty() {
        for cand in &ancestors {
            let sub = if cand.is_empty() {
                own
            } else {
                &own[cand.len() + 1..]
            };
            if df
                .instructions
                .iter()
                .any(|i| i.args.contains(&format!("{sub}/")) || i.args.contains(&format!("{sub} ")))
            {
                return cand.clone();
            }
        }
    }
    let mut dir = parent(rel).to_string();
    loop {
        if srcs
            .iter()
            .all(|s| join(&dir, s).is_some_and(|r| p.exists(&r)))
        {
            return dir;
        }
        if dir.is_empty() {
            return parent(rel).to_string();
        }
        dir = parent(&dir).to_string();
    }
}

/// Absolute container path of `word` run from `workdir`.
pub fn container_path(workdir: &str, word: &str) -> String {
    let base = if word.starts_with('/') { "" } else { workdir };
    let joined =
        join(base.trim_start_matches('/'), word.trim_start_matches('/')).unwrap_or_default();
    format!("/{joined}")
}

/// The WORKDIR in effect at the end of a stage.
pub fn workdir(df: &Dockerfile, st: &Stage) -> String {
    let mut wd = String::from("/");
    for s in df.lineage(st).into_iter().rev() {
        for ins in df.stage_instrs(s).iter().filter(|i| i.keyword == "WORKDIR") {
            wd = container_path(&wd, ins.rest.trim());
        }
    }
    wd
}

/// Which repo file a container path comes from, through the stage's plain
/// `COPY`/`ADD` instructions (the last one that covers it wins).
pub fn copied_from(
    p: &Project,
    df: &Dockerfile,
    st: &Stage,
    context: &str,
    target: &str,
) -> Option<String> {
    let mut found = None;
    let mut wd = String::from("/");
    for s in df.lineage(st).into_iter().rev() {
        for ins in df.stage_instrs(s) {
            if ins.keyword == "WORKDIR" {
                wd = container_path(&wd, ins.rest.trim());
            }
            if !matches!(ins.keyword.as_str(), "COPY" | "ADD") || ins.flag("from").is_some() {
                continue;
            }
            let words = ins.words();
            if words.len() < 2 {
                continue;
            }
            let (srcs, dest) = words.split_at(words.len() - 1);
            let dest_abs = container_path(&wd, &dest[0]);
            let dest_is_dir = dest[0].ends_with('/') || srcs.len() > 1;
            for src in srcs {
                let Some(src_rel) = join(context, src) else {
                    continue;
                };
                let name = src.trim_end_matches('/').rsplit('/').next().unwrap_or(src);
                if p.all_dirs.contains(&src_rel) || src_rel.is_empty() {
                    let prefix = format!("{}/", dest_abs.trim_end_matches('/'));
                    if let Some(rest) = target.strip_prefix(&prefix) {
                        let cand = join(&src_rel, rest).unwrap_or_default();
                        if p.all_paths.contains(&cand) {
                            found = Some(cand);
                        }
                    }
                } else if p.all_paths.contains(&src_rel) {
                    let file_dest = if dest_is_dir {
                        format!("{}/{}", dest_abs.trim_end_matches('/'), name)
                    } else {
                        dest_abs.clone()
                    };
                    if file_dest == target {
                        found = Some(src_rel);
                    }
                }
            }
        }
    }
    found
}

/// Words that wrap the real command.
fn is_wrapper(w: &str) -> bool {
    let base = w.rsplit('/').next().unwrap_or(w);
    matches!(
        base,
        "dumb-init"
            | "tini"
            | "--"
            | "-g"
            | "-s"
            | "exec"
            | "su-exec"
            | "gosu"
            | "sh"
            | "bash"
            | "ash"
            | "-c"
            | "-e"
    )
}

fn image_node(
    p: &Project,
    rel: &str,
    df: &Dockerfile,
    context: String,
    services: Vec<usize>,
    stage: usize,
) -> ImageNode {
    let st = df.stages.get(stage);
    let mut command = Vec::new();
    let mut command_line = None;
    let mut base = String::new();
    let mut entry_script = None;
    let mut entry_script_container = None;
    if let Some(st) = st {
        base = df.root_image(st);
        let ep = df.last_in(st, "ENTRYPOINT");
        let cmd = df.last_in(st, "CMD");
        if let Some(e) = ep {
            command.extend(e.words());
            command_line = Some(e.line);
        }
        if let Some(c) = cmd {
            if ep.is_none_or(|e| e.json.is_some()) {
                command.extend(c.words());
            }
            command_line = command_line.or(Some(c.line));
        }
        let wd = workdir(df, st);
        for w in command
            .iter()
            .filter(|w| !is_wrapper(w) && !w.starts_with('-'))
            .take(2)
        {
            let looks_like_script =
                w.ends_with(".sh") || w.contains("entrypoint") || w.starts_with("./");
            if !looks_like_script {
                continue;
            }
            let target = container_path(&wd, w);
            if let Some(src) = copied_from(p, df, st, &context, &target) {
                entry_script = Some(src);
            }
            entry_script_container = Some(target);
            break;
        }
    }
    ImageNode {
        dockerfile: rel.to_string(),
        context,
        command,
        command_line,
        entry_script,
        entry_script_container,
        base,
        services,
        stage,
        runtime: true,
        not_runtime: None,
    }
}

/// The service followed by the services it `extends`, nearest first.
fn extends_chain<'a>(p: &'a Project, ci: usize, s: &'a Service) -> Vec<(usize, &'a Service)> {
    let mut out = vec![(ci, s)];
    let (mut cur_c, mut cur) = (ci, s);
    for _ in 0..8 {
        let Some((file, name)) = &cur.extends else {
            break;
        };
        let target_c = match file {
            None => Some(cur_c),
            Some(f) => {
                let dir = parent(&p.files[p.compose[cur_c].file].rel);
                join(dir, f)
                    .and_then(|rel| p.compose.iter().position(|c| p.files[c.file].rel == rel))
            }
        };
        let Some(tc) = target_c else { break };
        let Some(next) = p.compose[tc].services.iter().find(|x| x.name == *name) else {
            break;
        };
        if out.iter().any(|(c, x)| *c == tc && x.name == next.name) {
            break;
        }
        out.push((tc, next));
        cur_c = tc;
        cur = next;
    }
    out
}

/// A probe found in a compose file: (compose index, port, path, evidence).
type ComposeProbe = (usize, Option<u16>, String, Evidence);

/// What the whole project says about one service from elsewhere: ports
/// other files point at (nginx upstreams, `http://name:port` in another
/// service's environment) and probes the project already has for it
/// (healthchecks in other compose files, `healthcheck.sh` scripts).
struct Ctx {
    /// service name -> port declarations found elsewhere
    pointed: HashMap<String, Vec<Evidence>>,
    /// service name -> (compose index, probe port, probe path, evidence)
    probes: HashMap<String, Vec<ComposeProbe>>,
    /// folder -> (probe port, probe path, evidence) from a healthcheck script
    script_probes: HashMap<String, (Option<u16>, String, Evidence)>,
    /// container name -> (probe port, probe path, evidence) from a
    /// Kubernetes `httpGet` liveness/readiness probe
    k8s_probes: HashMap<String, (Option<u16>, String, Evidence)>,
    /// Next.js API routes with a health-like name: (app folder, route, file)
    next_api: Vec<(String, String, String)>,
}

fn probe_url(text: &str) -> Option<(Option<u16>, String)> {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(
            r"https?://(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])(?::(\d+))?(/[A-Za-z0-9._~/-]*)?",
        )
        .unwrap()
    });
    let c = re.captures(text)?;
    Some((
        c.get(1).and_then(|m| m.as_str().parse().ok()),
        c.get(2)
            .map(|m| m.as_str().to_string())
            .unwrap_or_else(|| "/".into()),
    ))
}

impl Ctx {
    fn new(p: &Project) -> Ctx {
        let mut pointed: HashMap<String, Vec<Evidence>> = HashMap::new();
        for n in &p.nginx {
            let rel = &p.files[n.file].rel;
            for u in &n.upstreams {
                for t in &u.servers {
                    if let Some(port) = t.port {
                        pointed
                            .entry(t.host.clone())
                            .or_default()
                            .push(Evidence::new(
                                "nginx upstream server",
                                rel,
                                t.line,
                                port,
                                Strength::Weak,
                            ));
                    }
                }
            }
            for t in &n.proxy_passes {
                if let Some(port) = t.port {
                    pointed
                        .entry(t.host.clone())
                        .or_default()
                        .push(Evidence::new(
                            "nginx proxy_pass",
                            rel,
                            t.line,
                            port,
                            Strength::Weak,
                        ));
                }
            }
        }
        static URL: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
        let url = URL.get_or_init(|| {
            regex::Regex::new(r"^(?:https?|ws|grpc)://([A-Za-z0-9_.-]+):(\d+)(?:/|$)").unwrap()
        });
        let mut probes: HashMap<String, Vec<ComposeProbe>> = HashMap::new();
        for (ci, c) in p.compose.iter().enumerate() {
            let rel = &p.files[c.file].rel;
            for s in &c.services {
                for (k, v) in &s.environment {
                    let Some(v) = v else { continue };
                    if let Some(m) = url.captures(v) {
                        if let Ok(port) = m[2].parse::<u16>() {
                            if m[1] != s.name {
                                pointed
                                    .entry(m[1].to_string())
                                    .or_default()
                                    .push(Evidence::new(
                                        &format!("`{}` environment.{k}", s.name),
                                        rel,
                                        0,
                                        port,
                                        Strength::Weak,
                                    ));
                            }
                        }
                    }
                }
                if let Healthcheck::Defined { test, line } = &s.healthcheck {
                    if let Some((port, path)) = probe_url(&test.join(" ")) {
                        probes.entry(s.name.clone()).or_default().push((
                            ci,
                            port,
                            path.clone(),
                            Evidence::new(
                                "existing compose probe",
                                rel,
                                *line,
                                path,
                                Strength::Strong,
                            ),
                        ));
                    }
                }
            }
        }
        // A gateway's code that proxies to `http://name:port`.
        for a in &p.apps {
            let rel = &p.files[a.file].rel;
            for (host, port, line) in &a.web.urls {
                pointed.entry(host.clone()).or_default().push(Evidence::new(
                    "URL in code",
                    rel,
                    *line,
                    port,
                    Strength::Weak,
                ));
            }
        }
        let mut script_probes = HashMap::new();
        for sc in &p.scripts {
            let rel = &p.files[sc.file].rel;
            let name = rel.rsplit('/').next().unwrap_or(rel).to_ascii_lowercase();
            if !name.contains("healthcheck") && !name.contains("health-check") {
                continue;
            }
            if let Some((port, path)) = probe_url(&p.files[sc.file].text) {
                let line = p.files[sc.file]
                    .text
                    .lines()
                    .position(|l| l.contains(&path) && l.contains("http"))
                    .map(|i| i + 1)
                    .unwrap_or(0);
                // The script serves its own folder and the folder above
                // (`apps/api/scripts/healthcheck.sh` -> `apps/api`).
                let dir = parent(rel).to_string();
                let ev = Evidence::new(
                    "existing healthcheck script",
                    rel,
                    line,
                    &path,
                    Strength::Strong,
                );
                script_probes.entry(parent(&dir).to_string()).or_insert((
                    port,
                    path.clone(),
                    ev.clone(),
                ));
                script_probes.insert(dir, (port, path, ev));
            }
        }
        Ctx {
            pointed,
            probes,
            script_probes,
            k8s_probes: k8s_probes(p),
            next_api: next_api_routes(p),
        }
    }
}

/// Next.js API routes whose last segment is health-like
/// (`app/api/health/route.ts` -> `/api/health`, `pages/api/ping.ts` ->
/// `/api/ping`), with the app folder they belong to.
fn next_api_routes(p: &Project) -> Vec<(String, String, String)> {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r"^(?:(.*?)/)?(?:src/)?(app|pages)/api/(.+?)\.(?:ts|js|tsx|jsx|mjs)$")
            .unwrap()
    });
    let mut out = Vec::new();
    for rel in &p.all_paths {
        if rel.contains("node_modules/") {
            continue;
        }
        let Some(c) = re.captures(rel) else { continue };
        let dir = c.get(1).map(|m| m.as_str()).unwrap_or("").to_string();
        let kind = &c[2];
        let rest = &c[3];
        let segs: Vec<&str> = rest
            .split('/')
            .filter(|x| !(x.starts_with('(') && x.ends_with(')')))
            .collect();
        let route_segs: Vec<&str> = match (kind, segs.last()) {
            ("app", Some(&"route")) => segs[..segs.len() - 1].to_vec(),
            ("app", _) => continue,
            (_, Some(&"index")) => segs[..segs.len() - 1].to_vec(),
            _ => segs,
        };
        let Some(last) = route_segs.last() else {
            continue;
        };
        let l = last.to_ascii_lowercase();
        if route_segs.iter().any(|x| x.starts_with('[')) {
            continue;
        }
        if l.contains("health")
            || [
                "ping", "status", "ready", "readyz", "live", "livez", "alive",
            ]
            .contains(&l.as_str())
        {
            out.push((dir, format!("/api/{}", route_segs.join("/")), rel.clone()));
        }
    }
    out.sort();
    out
}

/// `httpGet` liveness/readiness probes in Kubernetes manifests and Helm
/// templates (YAML files under a `k8s`, `kubernetes`, `helm`, `charts`,
/// `manifests` or `deploy` folder), keyed by the container's `name:`.
fn k8s_probes(p: &Project) -> HashMap<String, (Option<u16>, String, Evidence)> {
    static NAME: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let name_re = NAME
        .get_or_init(|| regex::Regex::new(r"^\s*-\s*name:\s*['\x22]?([A-Za-z0-9_.-]+)").unwrap());
    static KV: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let kv = KV.get_or_init(|| {
        regex::Regex::new(r"^\s*(path|port):\s*['\x22]?([A-Za-z0-9_./~-]+)").unwrap()
    });
    let mut out = HashMap::new();
    let mut files: Vec<&String> = p
        .all_paths
        .iter()
        .filter(|r| {
            (r.ends_with(".yaml") || r.ends_with(".yml"))
                && r.split('/').any(|seg| {
                    matches!(
                        seg,
                        "k8s"
                            | "kubernetes"
                            | "kube"
                            | "helm"
                            | "charts"
                            | "manifests"
                            | "deploy"
                            | "deployment"
                            | "deployments"
                    )
                })
        })
        .collect();
    files.sort();
    for rel in files.into_iter().take(2000) {
        let Ok(text) = std::fs::read_to_string(p.root.join(rel)) else {
            continue;
        };
        if !text.contains("httpGet") {
            continue;
        }
        let mut container: Option<String> = None;
        let mut in_probe = false;
        let (mut path, mut port): (Option<(String, usize)>, Option<u16>) = (None, None);
        for (i, line) in text.lines().enumerate() {
            if let Some(c) = name_re.captures(line) {
                container = Some(c[1].to_string());
                in_probe = false;
            }
            let t = line.trim_start();
            if t.starts_with("livenessProbe:")
                || t.starts_with("readinessProbe:")
                || t.starts_with("startupProbe:")
            {
                in_probe = true;
                path = None;
                port = None;
                continue;
            }
            if !in_probe {
                continue;
            }
            if let Some(c) = kv.captures(line) {
                match &c[1] {
                    "path" => path = Some((c[2].to_string(), i + 1)),
                    _ => port = c[2].parse().ok(),
                }
            }
            if let (Some((pa, ln)), Some(name)) = (&path, &container) {
                if pa.starts_with('/') {
                    out.entry(name.clone()).or_insert((
                        port,
                        pa.clone(),
                        Evidence::new("existing Kubernetes probe", rel, *ln, pa, Strength::Strong),
                    ));
                }
            }
        }
    }
    out
}

/// Dockerfile paths workflows build (`docker/build-push-action` `file:` /
/// `context:`, `docker build -f X` / `docker build DIR`), as patterns where
/// `${{ ... }}` matches one path segment.
fn workflow_builds(p: &Project) -> Vec<PathPattern> {
    let mut pats: Vec<String> = Vec::new();
    static DB: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let db =
        DB.get_or_init(|| regex::Regex::new(r"docker\s+(?:buildx\s+)?build\b([^\n]*)").unwrap());
    for w in &p.workflows {
        for j in &w.jobs {
            for st in &j.steps {
                let ctx = st.with("context");
                if let Some(f) = st.with("file") {
                    pats.push(f.to_string());
                } else if let Some(c) = ctx {
                    if st
                        .uses
                        .as_deref()
                        .is_some_and(|u| u.contains("build-push-action"))
                    {
                        pats.push(format!("{}/Dockerfile", c.trim_end_matches('/')));
                    }
                } else if st
                    .uses
                    .as_deref()
                    .is_some_and(|u| u.contains("build-push-action"))
                {
                    pats.push("Dockerfile".into());
                }
                if let Some(run) = &st.run {
                    for c in db.captures_iter(run) {
                        let args: Vec<&str> = c[1].split_whitespace().collect();
                        let mut file = None;
                        let mut positional = None;
                        let mut i = 0;
                        while i < args.len() {
                            let a = args[i];
                            if a == "-f" || a == "--file" {
                                file = args.get(i + 1).map(|x| x.to_string());
                                i += 2;
                                continue;
                            }
                            if let Some(v) = a.strip_prefix("--file=") {
                                file = Some(v.to_string());
                            } else if a.starts_with('-') {
                                // flags with a value
                                if matches!(
                                    a,
                                    "-t" | "--tag"
                                        | "--build-arg"
                                        | "--target"
                                        | "--platform"
                                        | "--label"
                                        | "--cache-from"
                                        | "--cache-to"
                                        | "--secret"
                                        | "--output"
                                        | "-o"
                                ) {
                                    i += 1;
                                }
                            } else if !matches!(a, "&&" | "|" | ";" | "\\") {
                                positional = Some(a.to_string());
                            }
                            i += 1;
                        }
                        match (file, positional) {
                            (Some(f), _) => pats.push(f),
                            (None, Some(c)) => {
                                pats.push(format!("{}/Dockerfile", c.trim_end_matches('/')))
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
    }
    static EXPR: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let expr = EXPR.get_or_init(|| {
        regex::Regex::new(r"\$\{\{[^}]*\}\}|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?").unwrap()
    });
    pats.into_iter()
        .filter_map(|pat| {
            let pat = pat.trim().trim_matches(|c| c == '"' || c == '\'');
            let pat = pat.trim_start_matches("./");
            let pat = if pat == "." || pat.is_empty() {
                "Dockerfile"
            } else {
                pat
            };
            if !expr.is_match(pat) {
                // No expression: the path itself (no regex to compile).
                return Some(PathPattern::Literal(pat.replace("/./", "/")));
            }
            // Literal pieces; each `${{ ... }}` between two is one segment.
            let mut pieces = Vec::new();
            let mut last = 0;
            for m in expr.find_iter(pat) {
                pieces.push(pat[last..m.start()].replace("/./", "/"));
                last = m.end();
            }
            pieces.push(pat[last..].replace("/./", "/"));
            Some(PathPattern::Segments(pieces))
        })
        .collect()
}

/// A path a workflow builds: literal, or literal pieces with one path
/// segment (`[^/]+`) wherever a `${{ ... }}` stood between two.
enum PathPattern {
    Literal(String),
    Segments(Vec<String>),
}

impl PathPattern {
    fn is_match(&self, path: &str) -> bool {
        match self {
            PathPattern::Literal(l) => l == path,
            PathPattern::Segments(pieces) => segments_match(pieces, path),
        }
    }
}

/// `pieces[0]`, then for each further piece one or more characters of one
/// segment and that piece; the whole path.
fn segments_match(pieces: &[String], path: &str) -> bool {
    let Some((first, rest)) = pieces.split_first() else {
        return path.is_empty();
    };
    let Some(path) = path.strip_prefix(first.as_str()) else {
        return false;
    };
    if rest.is_empty() {
        return path.is_empty();
    }
    let segment = path.find('/').unwrap_or(path.len());
    path[..segment]
        .char_indices()
        .map(|(i, c)| i + c.len_utf8())
        .any(|end| segments_match(rest, &path[end..]))
}

/// The port a `next start` command serves on: `-p N` / `--port N`, else the
/// `PORT` the container sets, else 3000. None when `words` is no `next start`.
fn next_start_port(words: &[String]) -> Option<Option<u16>> {
    let i = words
        .iter()
        .position(|w| w == "next" || w.ends_with("/next"))?;
    if words.get(i + 1).map(String::as_str) != Some("start") {
        return None;
    }
    let mut it = words[i + 2..].iter();
    while let Some(w) = it.next() {
        if w == "-p" || w == "--port" {
            return Some(it.next().and_then(|v| v.parse().ok()));
        }
        if let Some(v) = w.strip_prefix("--port=").or_else(|| w.strip_prefix("-p=")) {
            return Some(v.parse().ok());
        }
    }
    Some(None)
}

/// `scripts.start` of the package.json in a folder, read once per service.
fn package_start_script(p: &Project, dir: &str) -> Option<String> {
    let rel = join(dir, "package.json")?;
    if !p.all_paths.contains(&rel) {
        return None;
    }
    let text = std::fs::read_to_string(p.root.join(&rel)).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("scripts")?.get("start")?.as_str().map(str::to_string)
}

#[allow(clippy::too_many_arguments)]
fn service_node(
    p: &Project,
    ctx: &Ctx,
    ci: usize,
    si: usize,
    compose_rel: &str,
    chain: &[(usize, &Service)],
    completes: &HashMap<(usize, String), bool>,
    by_dir: &HashMap<&str, Option<&str>>,
) -> ServiceNode {
    let s = &p.compose[ci].services[si];
    let cfg = p.config.service(&s.name);
    let compose_dir_of = |cj: usize| parent(&p.files[p.compose[cj].file].rel).to_string();
    let rel_of = |cj: usize| p.files[p.compose[cj].file].rel.clone();
    let first = |f: &dyn Fn(&Service) -> bool| chain.iter().find(|(_, x)| f(x)).copied();

    // Build context and Dockerfile.
    let (mut context, mut dockerfile, mut missing_build) = (None, None, None);
    if let Some((bc, b)) = first(&|x| x.build_context.is_some()) {
        let ctx_s = b.build_context.as_deref().unwrap_or(".");
        match join(&compose_dir_of(bc), ctx_s) {
            Some(ctx_rel) if p.exists(&ctx_rel) => {
                let df_name = first(&|x| x.dockerfile.is_some())
                    .and_then(|(_, x)| x.dockerfile.as_deref())
                    .unwrap_or("Dockerfile");
                match join(&ctx_rel, df_name) {
                    Some(df) if p.all_paths.contains(&df) => dockerfile = Some(df),
                    Some(df) => missing_build = Some(df),
                    None => missing_build = Some(df_name.to_string()),
                }
                context = Some(ctx_rel);
            }
            Some(ctx_rel) => missing_build = Some(ctx_rel),
            None => missing_build = Some(ctx_s.to_string()),
        }
    }
    let mut dockerfile_by_name = None;
    if dockerfile.is_none() && missing_build.is_none() {
        if let Some(img) = first(&|x| x.image.is_some()).and_then(|(_, x)| x.image.as_deref()) {
            let (repo, _) = images::name_and_tag(img);
            let name = repo.rsplit('/').next().unwrap_or(&repo);
            if let Some(Some(df)) = by_dir.get(name) {
                dockerfile = Some(df.to_string());
                dockerfile_by_name = Some(format!("image `{img}` linked to {df} by its name only"));
            }
        }
    }
    let df_model = dockerfile.as_deref().and_then(|d| p.dockerfile(d));

    // The stage that runs.
    let mut stage = None;
    let mut stage_index = None;
    if let (Some(d), Some(df)) = (df_model, dockerfile.as_deref()) {
        match first(&|x| x.target.is_some()).and_then(|(cj, x)| x.target.clone().map(|t| (cj, t))) {
            Some((cj, (t, line))) => match d.stage_by_name(&t) {
                Some(st) => {
                    stage_index = Some(st.index);
                    stage = Some(Fact::strong(
                        t.clone(),
                        Evidence::new(
                            "compose build.target",
                            &rel_of(cj),
                            line,
                            &t,
                            Strength::Strong,
                        ),
                    ));
                }
                None => {
                    // A target no stage has: the build fails (DKR010 territory);
                    // nothing is known about what runs.
                }
            },
            None => {
                if let Some(st) = d.final_stage() {
                    stage_index = Some(st.index);
                    let name = st
                        .name
                        .clone()
                        .unwrap_or_else(|| format!("final stage #{}", st.index));
                    stage = Some(Fact::strong(
                        name,
                        Evidence::new(
                            "last stage",
                            df,
                            st.from_line,
                            st.name.clone().unwrap_or_else(|| st.base.clone()),
                            Strength::Strong,
                        ),
                    ));
                }
            }
        }
    }
    let run_stage = df_model.zip(stage_index).and_then(|(d, i)| d.stages.get(i));
    let image = match (df_model, run_stage) {
        (Some(d), Some(st)) => Some(d.root_image(st)),
        _ => first(&|x| x.image.is_some()).and_then(|(_, x)| x.image.clone()),
    };
    let node = image.as_deref().is_some_and(images::is_node);
    let service_dir = dockerfile
        .as_deref()
        .map(|d| parent(d).to_string())
        .or_else(|| context.clone());

    // App entry.
    let app_entry = service_dir.as_deref().and_then(|dir| {
        [
            "main.ts",
            "main.js",
            "main.mjs",
            "index.ts",
            "index.js",
            "server.ts",
            "server.js",
        ]
        .iter()
        .filter_map(|f| join(dir, &format!("src/{f}")))
        .find(|rel| p.app(rel).is_some())
    });
    let closure: Vec<&crate::formats::appcode::AppFile> = app_entry
        .as_deref()
        .map(|e| p.app_closure(e))
        .unwrap_or_default();

    // Environment the container gets: compose (layers, own, extends) then
    // the runtime stage's ENV.
    let df_env: Vec<(String, String)> = df_model
        .zip(run_stage)
        .map(|(d, st)| d.env(st))
        .unwrap_or_default();
    let has_env_file = chain.iter().any(|(_, x)| !x.env_files.is_empty());
    let container_env = |name: &str| -> Option<(Option<String>, Evidence)> {
        for (cj, x) in chain {
            if let Some((_, v)) = x.environment.iter().find(|(k, _)| k == name) {
                return Some((
                    v.clone(),
                    Evidence::new(
                        &format!("compose environment.{name}"),
                        &rel_of(*cj),
                        0,
                        v.as_deref().unwrap_or("(from the host)"),
                        Strength::Strong,
                    ),
                ));
            }
        }
        df_env.iter().find(|(k, _)| k == name).map(|(_, v)| {
            (
                Some(v.clone()),
                Evidence::new(
                    &format!("Dockerfile ENV {name}"),
                    dockerfile.as_deref().unwrap_or(""),
                    0,
                    v,
                    Strength::Strong,
                ),
            )
        })
    };

    // The command the container runs (compose override, else the image's).
    let command: Vec<String> = {
        let ep = first(&|x| x.entrypoint.is_some()).and_then(|(_, x)| x.entrypoint.clone());
        let cmd = first(&|x| x.command.is_some()).and_then(|(_, x)| x.command.clone());
        match (ep, cmd) {
            (None, None) => df_model
                .zip(run_stage)
                .map(|(d, st)| {
                    let mut v = Vec::new();
                    if let Some(e) = d.last_in(st, "ENTRYPOINT") {
                        v.extend(e.words());
                    }
                    if let Some(c) = d.last_in(st, "CMD") {
                        v.extend(c.words());
                    }
                    v
                })
                .unwrap_or_default(),
            (e, c) => e
                .into_iter()
                .flatten()
                .chain(c.into_iter().flatten())
                .collect(),
        }
    };
    let command: Vec<String> = command
        .iter()
        .flat_map(|w| w.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect();
    // `next start`, directly or through `npm start`, or a Next.js
    // standalone `server.js` (it serves `PORT`, else 3000).
    let standalone = df_model.is_some_and(|d| {
        d.instructions.iter().any(|i| {
            matches!(i.keyword.as_str(), "COPY" | "ADD") && i.args.contains(".next/standalone")
        })
    }) && command
        .iter()
        .any(|w| w == "server.js" || w.ends_with("/server.js"));
    let next_port: Option<(Option<u16>, String)> = next_start_port(&command)
        .map(|p| (p, "command `next start`".to_string()))
        .or_else(|| standalone.then(|| (None, "Next.js standalone `server.js`".to_string())))
        .or_else(|| {
            let runs_start = command
                .windows(2)
                .any(|w| matches!(w[0].as_str(), "npm" | "yarn" | "pnpm") && w[1] == "start")
                || command.windows(3).any(|w| {
                    matches!(w[0].as_str(), "npm" | "yarn" | "pnpm")
                        && w[1] == "run"
                        && w[2] == "start"
                });
            if !runs_start {
                return None;
            }
            let script = service_dir
                .as_deref()
                .and_then(|d| package_start_script(p, d))?;
            let words: Vec<String> = script.split_whitespace().map(str::to_string).collect();
            next_start_port(&words).map(|p| (p, format!("package.json start `{script}`")))
        });

    // Listening and the port, in the documented evidence order.
    let mut code_ports: Vec<(u16, Evidence, Strength)> = Vec::new();
    let mut listen_kind: Option<Listening> = None;
    let mut reads_env: Vec<String> = Vec::new();
    for a in &closure {
        let rel = &p.files[a.file].rel;
        for l in &a.web.listeners {
            let kind = match l.kind {
                crate::formats::routes::ListenKind::Http => Listening::Http,
                crate::formats::routes::ListenKind::Tcp => Listening::Tcp,
            };
            if listen_kind != Some(Listening::Http) {
                listen_kind = Some(kind);
            }
            use crate::formats::routes::PortExpr;
            match &l.port {
                PortExpr::Literal(v) => code_ports.push((
                    *v,
                    Evidence::new("app listen", rel, l.line, v, Strength::Strong),
                    Strength::Strong,
                )),
                PortExpr::Env { name, default } => {
                    reads_env.push(name.clone());
                    match container_env(name) {
                        Some((Some(v), ev)) => {
                            if let Some(port) = crate::formats::compose::parse_port(&v) {
                                let mut e = Evidence::new(
                                    &format!(
                                        "app listen on {name}, set by {} in {}",
                                        ev.kind, ev.file
                                    ),
                                    rel,
                                    l.line,
                                    port,
                                    Strength::Strong,
                                );
                                // `${PORT}` without a default: the host decides.
                                if v.contains("${") && !v.contains(":-") && !v.contains('-') {
                                    e.strength = Strength::Weak;
                                }
                                let st = e.strength;
                                code_ports.push((port, e, st));
                            } else if let Some(d) = default {
                                code_ports.push((
                                    *d,
                                    Evidence::new(
                                        &format!(
                                            "app default for {name} (the container sets `{v}`)"
                                        ),
                                        rel,
                                        l.line,
                                        d,
                                        Strength::Weak,
                                    ),
                                    Strength::Weak,
                                ));
                            }
                        }
                        Some((None, _)) => {
                            if let Some(d) = default {
                                code_ports.push((
                                    *d,
                                    Evidence::new(&format!("app default for {name} (compose passes it from the host)"), rel, l.line, d, Strength::Weak),
                                    Strength::Weak,
                                ));
                            }
                        }
                        None => {
                            if let Some(d) = default {
                                let st = if has_env_file {
                                    Strength::Weak
                                } else {
                                    Strength::Strong
                                };
                                let what = if has_env_file {
                                    format!("app default for {name} (an env_file may set it)")
                                } else {
                                    format!(
                                        "app default for {name} (the container does not set it)"
                                    )
                                };
                                code_ports.push((*d, Evidence::new(&what, rel, l.line, d, st), st));
                            }
                        }
                    }
                }
                PortExpr::Unknown => {}
            }
        }
    }
    if let Some((port, what)) = &next_port {
        listen_kind = Some(Listening::Http);
        let (v, ev) = match port {
            Some(v) => (
                *v,
                Evidence::new(
                    what,
                    dockerfile.as_deref().unwrap_or(compose_rel),
                    0,
                    v,
                    Strength::Strong,
                ),
            ),
            None => {
                reads_env.push("PORT".into());
                match container_env("PORT") {
                    Some((Some(v), ev)) => match crate::formats::compose::parse_port(&v) {
                        Some(x) => (
                            x,
                            Evidence::new(
                                &format!("{what} on PORT, set by {} in {}", ev.kind, ev.file),
                                dockerfile.as_deref().unwrap_or(compose_rel),
                                0,
                                x,
                                Strength::Strong,
                            ),
                        ),
                        None => (
                            3000,
                            Evidence::new(
                                &format!("{what} default"),
                                dockerfile.as_deref().unwrap_or(compose_rel),
                                0,
                                3000,
                                Strength::Weak,
                            ),
                        ),
                    },
                    _ => (
                        3000,
                        Evidence::new(
                            &format!("{what} default"),
                            dockerfile.as_deref().unwrap_or(compose_rel),
                            0,
                            3000,
                            Strength::Strong,
                        ),
                    ),
                }
            }
        };
        let st = ev.strength;
        code_ports.push((v, ev, st));
    }
    let parse_ok = closure.iter().all(|a| a.parse_error_line.is_none());
    let listens = match (listen_kind, app_entry.as_deref()) {
        (Some(k), _) => {
            let ev = closure
                .iter()
                .find_map(|a| a.web.listeners.first().map(|l| (a, l)))
                .map(|(a, l)| {
                    Evidence::new(
                        "server started",
                        &p.files[a.file].rel,
                        l.line,
                        "listen",
                        Strength::Strong,
                    )
                })
                .unwrap_or_else(|| {
                    Evidence::new(
                        "Next.js server",
                        dockerfile.as_deref().unwrap_or(compose_rel),
                        0,
                        "listen",
                        Strength::Strong,
                    )
                });
            Fact::strong(k, ev)
        }
        (None, Some(entry)) if parse_ok && !closure.is_empty() => {
            let micro = closure.iter().any(|a| a.web.nest_microservice_only);
            let what = if micro {
                "a Nest microservice (transport only, no HTTP server)".to_string()
            } else {
                format!(
                    "no listen()/createServer/serve in the entry or the {} module(s) it imports",
                    closure.len() - 1
                )
            };
            Fact::strong(
                Listening::No,
                Evidence::new(&what, entry, 0, "no server", Strength::Strong),
            )
        }
        (None, Some(entry)) => Fact::weak(
            Listening::Unknown,
            Evidence::new(
                "entry code does not parse",
                entry,
                0,
                "unknown",
                Strength::Weak,
            ),
        ),
        (None, None) => Fact::weak(
            Listening::Unknown,
            Evidence::new(
                "no entry code found (src/main.ts, index.ts, server.ts)",
                service_dir.as_deref().unwrap_or(""),
                0,
                "unknown",
                Strength::Weak,
            ),
        ),
    };

    // Declarations of the port (each a set; weak on their own).
    let mut declared: Vec<Vec<Evidence>> = Vec::new();
    for (cj, x) in chain {
        let rel = rel_of(*cj);
        if !x.ports.is_empty() {
            declared.push(
                x.ports
                    .iter()
                    .map(|pt| {
                        Evidence::new("compose ports", &rel, pt.line, pt.container, Strength::Weak)
                    })
                    .collect(),
            );
            break;
        }
    }
    for (cj, x) in chain {
        let rel = rel_of(*cj);
        if !x.expose.is_empty() {
            declared.push(
                x.expose
                    .iter()
                    .map(|pt| {
                        Evidence::new(
                            "compose expose",
                            &rel,
                            pt.line,
                            pt.container,
                            Strength::Weak,
                        )
                    })
                    .collect(),
            );
            break;
        }
    }
    if !reads_env.iter().any(|n| n == "PORT") {
        if let Some((Some(v), ev)) = container_env("PORT") {
            if let Some(x) = crate::formats::compose::parse_port(&v) {
                let mut e = ev.clone();
                e.value = x.to_string();
                e.strength = Strength::Weak;
                declared.push(vec![e]);
            }
        }
    }
    if let (Some(d), Some(st), Some(df)) = (df_model, run_stage, dockerfile.as_deref()) {
        let ex = d.exposed(st);
        if !ex.is_empty() {
            declared.push(
                ex.iter()
                    .map(|(v, line)| {
                        Evidence::new("Dockerfile EXPOSE", df, *line, v, Strength::Weak)
                    })
                    .collect(),
            );
        }
    }
    if let Some(ev) = ctx.pointed.get(&s.name) {
        for e in ev {
            declared.push(vec![e.clone()]);
        }
    }

    let mut port: Option<Fact<u16>> = cfg.and_then(|c| c.port).map(|v| {
        Fact::strong(
            v,
            Evidence::new("prodsafe.toml", "prodsafe.toml", 0, v, Strength::Strong),
        )
    });
    if port.is_none() {
        // Strong code ports; among several, one a declaration confirms.
        let strong: Vec<&(u16, Evidence, Strength)> = code_ports
            .iter()
            .filter(|c| c.2 == Strength::Strong)
            .collect();
        let pick = strong
            .iter()
            .find(|c| {
                declared
                    .iter()
                    .any(|set| set.iter().any(|e| e.value == c.0.to_string()))
            })
            .or(strong.first())
            .copied()
            .or(code_ports.first());
        if let Some((v, ev, st)) = pick {
            let mut f = Fact::strong(*v, ev.clone());
            f.strength = *st;
            for (ov, oe, _) in &code_ports {
                if oe != ev {
                    let mut e = oe.clone();
                    e.disagrees = ov != v && *st == Strength::Weak;
                    f.evidence.push(e);
                }
            }
            port = Some(f);
        }
    }
    match port.as_mut() {
        Some(f) => {
            for set in &declared {
                let agrees = set.iter().any(|e| e.value == f.value.to_string());
                for e in set {
                    let mut e = e.clone();
                    e.disagrees = !agrees;
                    f.contested |= !agrees;
                    f.evidence.push(e);
                }
            }
        }
        None => {
            if let Some(first_set) = declared.first() {
                let v: u16 = first_set[0].value.parse().unwrap_or(0);
                let mut f = Fact::weak(v, first_set[0].clone());
                for (i, set) in declared.iter().enumerate() {
                    let agrees = set.iter().any(|e| e.value == f.value.to_string());
                    for (j, e) in set.iter().enumerate() {
                        if i == 0 && j == 0 {
                            continue;
                        }
                        let mut e = e.clone();
                        e.disagrees = !agrees;
                        f.contested |= !agrees;
                        f.evidence.push(e);
                    }
                }
                port = Some(f).filter(|f| f.value > 0);
            }
        }
    }
    // A worker that starts no server listens on no port, whatever is declared.
    if listens.value == Listening::No && port.as_ref().is_some_and(|f| f.strength == Strength::Weak)
    {
        if let Some(f) = port.as_mut() {
            f.contested = true;
            f.source = format!("{} (but {})", f.source, listens.source);
        }
    }

    // The health route.
    let mut health_route: Option<Fact<String>> = cfg.and_then(|c| c.health_path.clone()).map(|h| {
        Fact::strong(
            h.clone(),
            Evidence::new("prodsafe.toml", "prodsafe.toml", 0, h, Strength::Strong),
        )
    });
    if health_route.is_none() && !closure.is_empty() {
        let files: Vec<(&str, &crate::formats::routes::WebFacts)> = closure
            .iter()
            .map(|a| (p.files[a.file].rel.as_str(), &a.web))
            .collect();
        let resolve = |from: &str, spec: &str| {
            crate::formats::appcode::resolve_import(from, spec)
                .into_iter()
                .find(|c| p.by_rel.contains_key(c))
        };
        let routes = crate::formats::routes::resolve_routes(&files, &resolve);
        if let Some(r) = crate::formats::routes::health_route(&routes) {
            let mut f = Fact::strong(
                r.path.clone(),
                Evidence::new(
                    "route in the code",
                    &r.file,
                    r.line,
                    &r.path,
                    Strength::Strong,
                ),
            );
            // A guard or auth middleware on the whole app may refuse the probe.
            if let Some((file, line)) = closure
                .iter()
                .find_map(|a| a.web.global_guard.map(|l| (p.files[a.file].rel.clone(), l)))
            {
                f.strength = Strength::Weak;
                f.source = format!(
                    "{} (but a global guard at {file}:{line} may refuse it)",
                    f.source
                );
                f.evidence.push(Evidence::new(
                    "global guard / auth middleware",
                    &file,
                    line,
                    "may answer 401",
                    Strength::Weak,
                ));
            }
            health_route = Some(f);
        }
    }
    // Next.js: a health-like API route of the app (not under a basePath).
    if health_route.is_none() && next_port.is_some() {
        if let Some(dir) = service_dir.as_deref() {
            let base_path = ["next.config.js", "next.config.mjs", "next.config.ts"]
                .iter()
                .filter_map(|n| join(dir, n))
                .filter(|r| p.all_paths.contains(r))
                .any(|r| {
                    std::fs::read_to_string(p.root.join(&r)).is_ok_and(|t| t.contains("basePath"))
                });
            if !base_path {
                if let Some((_, route, file)) = ctx.next_api.iter().find(|(d, ..)| d == dir) {
                    let mut f = Fact::strong(
                        route.clone(),
                        Evidence::new("Next.js API route", file, 0, route, Strength::Strong),
                    );
                    // A middleware may answer first (a redirect to a login).
                    if let Some(m) = [
                        "middleware.ts",
                        "middleware.js",
                        "src/middleware.ts",
                        "src/middleware.js",
                    ]
                    .iter()
                    .filter_map(|n| join(dir, n))
                    .find(|r| p.all_paths.contains(r))
                    {
                        f.strength = Strength::Weak;
                        f.source = format!("{} (but {m} may answer first)", f.source);
                        f.evidence.push(Evidence::new(
                            "Next.js middleware",
                            &m,
                            0,
                            "may redirect",
                            Strength::Weak,
                        ));
                    }
                    health_route = Some(f);
                }
            }
        }
    }
    // A probe the project already has for this service.
    let own_files: Vec<usize> = chain.iter().map(|(c, _)| *c).collect();
    let existing = ctx
        .probes
        .get(&s.name)
        .and_then(|v| v.iter().find(|(c, ..)| !own_files.contains(c)))
        .map(|(_, port, path, ev)| (*port, path.clone(), ev.clone()))
        .or_else(|| {
            // A HEALTHCHECK in another stage of its Dockerfile (a stage
            // compose does not run, e.g. an all-in-one image).
            let (d, df) = (df_model?, dockerfile.as_deref()?);
            d.instructions
                .iter()
                .filter(|i| i.keyword == "HEALTHCHECK")
                .find_map(|i| {
                    probe_url(&i.rest).map(|(port, path)| {
                        let ev = Evidence::new(
                            "existing Dockerfile HEALTHCHECK",
                            df,
                            i.line,
                            &path,
                            Strength::Strong,
                        );
                        (port, path, ev)
                    })
                })
        })
        .or_else(|| {
            service_dir
                .as_deref()
                .and_then(|d| ctx.script_probes.get(d))
                .cloned()
        })
        .or_else(|| ctx.k8s_probes.get(&s.name).cloned());
    if let Some((pport, path, ev)) = existing {
        match health_route.as_mut() {
            None => health_route = Some(Fact::strong(path, ev.clone())),
            Some(f) => f.evidence.push(ev.clone()),
        }
        if let (Some(pp), Some(f)) = (pport, port.as_mut()) {
            let mut e = ev;
            e.kind = format!("{} port", e.kind);
            e.value = pp.to_string();
            e.strength = Strength::Weak;
            e.disagrees = pp != f.value;
            f.contested |= e.disagrees;
            f.evidence.push(e);
        }
    }

    // Healthcheck: compose (layers, own, extends) first, then the image.
    let mut health = Health::Absent;
    for (cj, x) in chain {
        match &x.healthcheck {
            Healthcheck::Absent => continue,
            Healthcheck::Disabled => health = Health::Disabled,
            Healthcheck::Defined { test, line } => {
                health = Health::Compose {
                    file: rel_of(*cj),
                    line: *line,
                    test: test.clone(),
                }
            }
        }
        break;
    }
    if health == Health::Absent {
        if let (Some(d), Some(st), Some(df)) = (df_model, run_stage, dockerfile.as_deref()) {
            if let Some(h) = d.last_in(st, "HEALTHCHECK") {
                health = if h.rest.trim().eq_ignore_ascii_case("none") {
                    Health::Disabled
                } else {
                    Health::Image {
                        file: df.to_string(),
                        line: h.line,
                        command: h.rest.clone(),
                    }
                };
            }
        }
    }

    // Runtime user and tools.
    let user = match (df_model, run_stage, dockerfile.as_deref()) {
        (Some(d), Some(st), Some(df)) => Some(match d.last_in(st, "USER") {
            Some(u) => {
                let name = u.rest.trim().to_string();
                Fact::strong(
                    name.clone(),
                    Evidence::new("Dockerfile USER", df, u.line, name, Strength::Strong),
                )
            }
            None => {
                let base = d.root_image(st);
                let who = if images::distro(&base) == images::Distro::Distroless
                    && base.contains("nonroot")
                {
                    "nonroot"
                } else {
                    "root"
                };
                let strength = if images::info(&base).is_some() {
                    Strength::Strong
                } else {
                    Strength::Weak
                };
                let ev = Evidence::new(
                    &format!("no USER; default of `{base}`"),
                    df,
                    st.from_line,
                    who,
                    strength,
                );
                Fact {
                    value: who.to_string(),
                    source: ev.describe(),
                    strength,
                    evidence: vec![ev],
                    contested: false,
                }
            }
        }),
        _ => None,
    };
    let tools = image.as_deref().and_then(|img| {
        images::info(img).map(|row| {
            let v: Vec<String> = row.has.iter().map(|t| t.to_string()).collect();
            Fact::strong(
                v,
                Evidence::new("image table", "", 0, img, Strength::Strong),
            )
        })
    });

    // Prisma: the service's own schema, else the shared one its image copies.
    let df_mentions_prisma = df_model.is_some_and(|d| {
        d.instructions.iter().any(|i| {
            matches!(i.keyword.as_str(), "COPY" | "ADD" | "RUN") && i.args.contains("prisma")
        })
    });
    let prisma = service_dir
        .as_deref()
        .and_then(|d| join(d, "prisma/schema.prisma"))
        .filter(|r| p.prisma_schema(r).is_some())
        .or_else(|| {
            if !df_mentions_prisma {
                return None;
            }
            [context.as_deref().unwrap_or(""), ""]
                .iter()
                .filter_map(|c| join(c, "prisma/schema.prisma"))
                .find(|r| p.prisma_schema(r).is_some())
        });
    let app_env = app_entry.as_deref().map(|e| crate::env::app_env(p, e));
    let (required_env, maybe_env) = crate::env::service_needs(
        p,
        &s.name,
        compose_rel,
        &s.required_interpolations,
        // Overlays layered onto the service add their variables.
        &chain
            .iter()
            .flat_map(|(_, x)| x.environment.iter().map(|(k, _)| k.clone()))
            .collect::<Vec<_>>(),
        prisma.as_deref(),
        app_env.as_ref(),
    );

    let restart = first(&|x| x.restart.is_some()).and_then(|(_, x)| x.restart.clone());
    let restart_one_shot = matches!(restart.as_deref(), Some("no") | Some("on-failure"))
        || restart
            .as_deref()
            .is_some_and(|r| r.starts_with("on-failure:"));
    let long_running = !restart_one_shot && !completes.contains_key(&(ci, s.name.clone()));

    // Facts read through a Dockerfile that is only linked by name are no
    // stronger than that link.
    let mut listens = listens;
    let mut user = user;
    if let Some(why) = &dockerfile_by_name {
        let from_compose = |f: &str| f == compose_rel || f == "prodsafe.toml";
        fn weaken<T>(f: &mut Fact<T>, why: &str) {
            f.strength = Strength::Weak;
            f.source = format!("{} ({why})", f.source);
            f.evidence
                .push(Evidence::new("guess", "", 0, why, Strength::Weak));
        }
        if let Some(f) = port.as_mut().filter(|f| !from_compose(&f.evidence[0].file)) {
            weaken(f, why);
        }
        if listens.strength == Strength::Strong {
            weaken(&mut listens, why);
        }
        if let Some(f) = health_route.as_mut().filter(|f| {
            !from_compose(&f.evidence[0].file) && !f.evidence[0].kind.starts_with("existing")
        }) {
            weaken(f, why);
        }
        if let Some(f) = stage.as_mut() {
            weaken(f, why);
        }
        if let Some(f) = user.as_mut() {
            weaken(f, why);
        }
    }

    ServiceNode {
        compose: ci,
        index: si,
        name: s.name.clone(),
        compose_rel: compose_rel.to_string(),
        context,
        dockerfile,
        missing_build,
        service_dir,
        image,
        node,
        port,
        listens,
        health_route,
        stage,
        stage_index,
        user,
        tools,
        dockerfile_by_name,
        layers: Vec::new(),
        dev: false,
        app_entry,
        health,
        long_running,
        prisma,
        required_env,
        maybe_env,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pattern with `${{ }}` matches exactly the paths the regex it used
    /// to be compiled into (`[^/]+` per expression) matches.
    #[test]
    fn segment_patterns_match_like_their_regex() {
        let expr = regex::Regex::new(r"\$\{\{[^}]*\}\}|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?").unwrap();
        let paths = [
            "apps/api/Dockerfile",
            "apps/api/x/Dockerfile",
            "apps//Dockerfile",
            "apps/é/Dockerfile",
            "apps/ab/Dockerfile.prod",
            "docker/api.Dockerfile",
            "docker/.Dockerfile",
            "a/b/c",
            "a/./b/c",
            "ab",
            "aab",
            "",
        ];
        for pat in [
            "apps/${{ matrix.service }}/Dockerfile",
            "apps/$SERVICE/Dockerfile",
            "apps/${SERVICE}/Dockerfile.prod",
            "docker/${{ matrix.app }}.Dockerfile",
            "${{ a }}/${{ b }}/c",
            "a/./${{ x }}/c",
            "${{ a }}${{ b }}",
            "a${{ b }}",
        ] {
            let mut re = String::from("^");
            let mut last = 0;
            let mut pieces = Vec::new();
            for m in expr.find_iter(pat) {
                re.push_str(&regex::escape(&pat[last..m.start()]));
                re.push_str("[^/]+");
                pieces.push(pat[last..m.start()].replace("/./", "/"));
                last = m.end();
            }
            re.push_str(&regex::escape(&pat[last..]));
            re.push('$');
            pieces.push(pat[last..].replace("/./", "/"));
            let re = regex::Regex::new(&re.replace("/\\./", "/")).unwrap();
            let seg = PathPattern::Segments(pieces);
            for p in paths {
                assert_eq!(seg.is_match(p), re.is_match(p), "{pat} vs {p}");
            }
        }
    }

    /// A pattern without `${{ }}` matches exactly the paths the anchored,
    /// escaped regex it used to be compiled into matches.
    #[test]
    fn literal_build_patterns_match_like_their_regex() {
        let paths = [
            "apps/a/Dockerfile",
            "apps/./a/Dockerfile",
            "a/./././b",
            "a/././b",
            "a/./b",
            "a/b",
            "Dockerfile",
            "x.y",
            "xzy",
        ];
        for pat in [
            "apps/a/Dockerfile",
            "apps/./a/Dockerfile",
            "a/././b",
            "Dockerfile",
            "x.y",
            "a/b",
        ] {
            let re = format!("^{}$", regex::escape(pat)).replace("/\\./", "/");
            let re = regex::Regex::new(&re).unwrap();
            let lit = PathPattern::Literal(pat.replace("/./", "/"));
            for p in paths {
                assert_eq!(lit.is_match(p), re.is_match(p), "{pat} vs {p}");
            }
        }
    }
}
