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
    pub port: Option<Inferred<u16>>,
    pub health_path: Inferred<String>,
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
    /// The root image of the final stage.
    pub base: String,
    /// Services (indices into `Graph::services`) built from it.
    pub services: Vec<usize>,
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
        for (ci, c) in p.compose.iter().enumerate() {
            let compose_rel = p.files[c.file].rel.clone();
            for (si, s) in c.services.iter().enumerate() {
                let chain = extends_chain(p, ci, s);
                let node = service_node(p, ci, si, &compose_rel, &chain, &completes, &by_dir);
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
        for (fi, df) in &p.dockerfiles {
            let rel = p.files[*fi].rel.clone();
            let services: Vec<usize> = by_dockerfile.remove(rel.as_str()).unwrap_or_default();
            let context = services
                .iter()
                .find_map(|&i| g.services[i].context.clone())
                .unwrap_or_else(|| guess_context(p, &rel, df));
            let img = image_node(p, &rel, df, context, services);
            if let Some(sc) = &img.entry_script {
                g.image_by_script
                    .entry(sc.clone())
                    .or_insert(g.images.len());
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
                    if let Some(st) = df.final_stage() {
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
) -> ImageNode {
    let st = df.final_stage();
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

fn service_node(
    p: &Project,
    ci: usize,
    si: usize,
    compose_rel: &str,
    chain: &[(usize, &Service)],
    completes: &HashMap<(usize, String), bool>,
    by_dir: &HashMap<&str, Option<&str>>,
) -> ServiceNode {
    let s = chain[0].1;
    let cfg = p.config.service(&s.name);
    let compose_dir = parent(compose_rel);
    let first = |f: &dyn Fn(&Service) -> bool| chain.iter().map(|(_, x)| *x).find(|x| f(x));

    // Build context and Dockerfile.
    let (mut context, mut dockerfile, mut missing_build) = (None, None, None);
    if let Some(b) = first(&|x| x.build_context.is_some()) {
        let ctx = b.build_context.as_deref().unwrap_or(".");
        match join(compose_dir, ctx) {
            Some(ctx_rel) if p.exists(&ctx_rel) => {
                let df_name = b.dockerfile.as_deref().unwrap_or("Dockerfile");
                match join(&ctx_rel, df_name) {
                    Some(df) if p.all_paths.contains(&df) => dockerfile = Some(df),
                    Some(df) => missing_build = Some(df),
                    None => missing_build = Some(df_name.to_string()),
                }
                context = Some(ctx_rel);
            }
            Some(ctx_rel) => missing_build = Some(ctx_rel),
            None => missing_build = Some(ctx.to_string()),
        }
    }
    if dockerfile.is_none() && missing_build.is_none() {
        if let Some(img) = first(&|x| x.image.is_some()).and_then(|x| x.image.as_deref()) {
            let (repo, _) = images::name_and_tag(img);
            let name = repo.rsplit('/').next().unwrap_or(&repo);
            if let Some(Some(df)) = by_dir.get(name) {
                dockerfile = Some(df.to_string());
            }
        }
    }
    let df_model = dockerfile.as_deref().and_then(|d| p.dockerfile(d));
    let final_stage = df_model.and_then(|d| d.final_stage());
    let image = match (df_model, final_stage) {
        (Some(d), Some(st)) => Some(d.root_image(st)),
        _ => first(&|x| x.image.is_some()).and_then(|x| x.image.clone()),
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
    let app = app_entry.as_deref().and_then(|a| p.app(a));

    // Port, in the documented order.
    let loc = |file: &str, line: usize| format!("{file}:{line}");
    let mut port: Option<Inferred<u16>> = cfg.and_then(|c| c.port).map(|v| Inferred {
        value: v,
        source: "prodsafe.toml".into(),
    });
    for (cj, x) in chain {
        if port.is_some() {
            break;
        }
        let rel = &p.files[p.compose[*cj].file].rel;
        if let Some(pt) = x.ports.first() {
            port = Some(Inferred {
                value: pt.container,
                source: format!("compose ports at {}", loc(rel, pt.line)),
            });
        } else if let Some(pt) = x.expose.first() {
            port = Some(Inferred {
                value: pt.container,
                source: format!("compose expose at {}", loc(rel, pt.line)),
            });
        } else if let Some(v) = x.env("PORT").and_then(crate::formats::compose::parse_port) {
            port = Some(Inferred {
                value: v,
                source: format!("compose environment.PORT in {rel}"),
            });
        }
    }
    if port.is_none() {
        if let (Some(d), Some(st), Some(df)) = (df_model, final_stage, dockerfile.as_deref()) {
            if let Some((v, line)) = d.exposed(st).first() {
                port = Some(Inferred {
                    value: *v,
                    source: format!("Dockerfile EXPOSE at {}", loc(df, *line)),
                });
            } else if let Some(v) = d
                .env(st)
                .iter()
                .find(|(k, _)| k == "PORT")
                .and_then(|(_, v)| v.parse::<u16>().ok())
            {
                port = Some(Inferred {
                    value: v,
                    source: format!("Dockerfile ENV PORT in {df}"),
                });
            }
        }
    }
    if port.is_none() {
        if let (Some(a), Some(rel)) = (app, app_entry.as_deref()) {
            if let Some((v, line)) = a.ports.first() {
                port = Some(Inferred {
                    value: *v,
                    source: format!("app listen at {}", loc(rel, *line)),
                });
            }
        }
    }

    let health_path = if let Some(h) = cfg.and_then(|c| c.health_path.clone()) {
        Inferred {
            value: h,
            source: "prodsafe.toml".into(),
        }
    } else if let Some((route, line)) = app.and_then(|a| a.health_routes.first()) {
        Inferred {
            value: route.clone(),
            source: format!(
                "health route at {}",
                loc(app_entry.as_deref().unwrap_or(""), *line)
            ),
        }
    } else {
        Inferred {
            value: "/".into(),
            source: "default".into(),
        }
    };

    // Healthcheck: compose (own, merged, extended) first, then the image.
    let mut health = Health::Absent;
    for (cj, x) in chain {
        match &x.healthcheck {
            Healthcheck::Absent => continue,
            Healthcheck::Disabled => health = Health::Disabled,
            Healthcheck::Defined { test, line } => {
                health = Health::Compose {
                    file: p.files[p.compose[*cj].file].rel.clone(),
                    line: *line,
                    test: test.clone(),
                }
            }
        }
        break;
    }
    if health == Health::Absent {
        if let (Some(d), Some(st), Some(df)) = (df_model, final_stage, dockerfile.as_deref()) {
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
        &s.environment
            .iter()
            .map(|(k, _)| k.clone())
            .collect::<Vec<_>>(),
        prisma.as_deref(),
        app_env.as_ref(),
    );

    let restart_one_shot = matches!(s.restart.as_deref(), Some("no") | Some("on-failure"))
        || s.restart
            .as_deref()
            .is_some_and(|r| r.starts_with("on-failure:"));
    let long_running = !restart_one_shot && !completes.contains_key(&(ci, s.name.clone()));

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
        health_path,
        app_entry,
        health,
        long_running,
        prisma,
        required_env,
        maybe_env,
    }
}
