//! The service graph: compose service -> build context and Dockerfile ->
//! final stage -> app entry, with the port and health path each service is
//! inferred to use and where that came from. Built once per project; rules
//! read it and never walk files themselves.

use std::collections::HashMap;

use crate::formats::compose::{Healthcheck, Service};
use crate::images;
use crate::project::{join, parent, Project};

#[derive(Debug, Clone, PartialEq)]
pub struct Inferred<T> {
    pub value: T,
    /// Where it came from, e.g. `compose ports (docker-compose.yml:12)`.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Health {
    /// Healthcheck in the compose file (own, merged or via `extends`).
    Compose { file: String, line: usize, test: Vec<String> },
    /// `HEALTHCHECK CMD` in the image's final stage.
    Image { file: String, line: usize, command: String },
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
}

#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub services: Vec<ServiceNode>,
    by_name: HashMap<(usize, String), usize>,
}

impl Graph {
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
        g
    }
}

/// The service followed by the services it `extends`, nearest first.
fn extends_chain<'a>(p: &'a Project, ci: usize, s: &'a Service) -> Vec<(usize, &'a Service)> {
    let mut out = vec![(ci, s)];
    let (mut cur_c, mut cur) = (ci, s);
    for _ in 0..8 {
        let Some((file, name)) = &cur.extends else { break };
        let target_c = match file {
            None => Some(cur_c),
            Some(f) => {
                let dir = parent(&p.files[p.compose[cur_c].file].rel);
                join(dir, f).and_then(|rel| {
                    p.compose
                        .iter()
                        .position(|c| p.files[c.file].rel == rel)
                })
            }
        };
        let Some(tc) = target_c else { break };
        let Some(next) = p.compose[tc].services.iter().find(|x| x.name == *name) else { break };
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
        ["main.ts", "main.js", "main.mjs", "index.ts", "index.js", "server.ts", "server.js"]
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
                source: format!("compose ports ({})", loc(rel, pt.line)),
            });
        } else if let Some(pt) = x.expose.first() {
            port = Some(Inferred {
                value: pt.container,
                source: format!("compose expose ({})", loc(rel, pt.line)),
            });
        } else if let Some(v) = x.env("PORT").and_then(crate::formats::compose::parse_port) {
            port = Some(Inferred {
                value: v,
                source: format!("compose environment.PORT ({rel})"),
            });
        }
    }
    if port.is_none() {
        if let (Some(d), Some(st), Some(df)) = (df_model, final_stage, dockerfile.as_deref()) {
            if let Some((v, line)) = d.exposed(st).first() {
                port = Some(Inferred {
                    value: *v,
                    source: format!("Dockerfile EXPOSE ({})", loc(df, *line)),
                });
            } else if let Some(v) = d
                .env(st)
                .iter()
                .find(|(k, _)| k == "PORT")
                .and_then(|(_, v)| v.parse::<u16>().ok())
            {
                port = Some(Inferred {
                    value: v,
                    source: format!("Dockerfile ENV PORT ({df})"),
                });
            }
        }
    }
    if port.is_none() {
        if let (Some(a), Some(rel)) = (app, app_entry.as_deref()) {
            if let Some((v, line)) = a.ports.first() {
                port = Some(Inferred {
                    value: *v,
                    source: format!("app listen ({})", loc(rel, *line)),
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
            source: format!("health route ({})", loc(app_entry.as_deref().unwrap_or(""), *line)),
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

    let restart_one_shot = matches!(s.restart.as_deref(), Some("no") | Some("on-failure"))
        || s.restart.as_deref().is_some_and(|r| r.starts_with("on-failure:"));
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
    }
}
