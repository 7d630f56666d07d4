//! The service inventory and deploy surface (the seed audit's Phase 0),
//! derived from the service graph.

use serde::Serialize;

use crate::graph::{Evidence, Fact, Health, Listening, ServiceNode, Strength};
use crate::images::{self, Family};
use crate::project::Project;

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub service: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub compose_file: String,
    pub image: Option<String>,
    pub dockerfile: Option<String>,
    /// Build context (root-relative).
    pub context: Option<String>,
    /// `CMD`, `ENTRYPOINT`, the script's name, or `image`.
    pub entrypoint: String,
    pub port: Option<u16>,
    pub port_source: Option<String>,
    pub health_endpoint: Option<String>,
    pub prisma: bool,
    pub required_env: Vec<String>,
    /// Read as values on some paths only (unsure, so not required).
    pub maybe_env: Vec<String>,
    /// `node`, `curl`, `wget`, `other`, `disabled`, `none`.
    pub healthcheck: String,
    /// Each inferred fact with its value, strength and sources.
    pub facts: Vec<FactRow>,
}

/// One fact of a service as the inventory shows it.
#[derive(Debug, Clone, Serialize)]
pub struct FactRow {
    /// `port`, `listens`, `health route`, `stage`, `user`, `tools`.
    pub fact: String,
    pub value: String,
    pub strength: Strength,
    pub contested: bool,
    pub sources: Vec<Evidence>,
}

fn fact_row<T>(name: &str, f: &Fact<T>, show: impl Fn(&T) -> String) -> FactRow {
    FactRow {
        fact: name.into(),
        value: show(&f.value),
        strength: f.strength,
        contested: f.contested,
        sources: f.evidence.clone(),
    }
}

/// The facts of a service, in a fixed order.
pub fn facts(s: &ServiceNode) -> Vec<FactRow> {
    let mut out = Vec::new();
    if let Some(f) = &s.port {
        out.push(fact_row("port", f, |v| v.to_string()));
    }
    out.push(fact_row("listens", &s.listens, |v| {
        match v {
            Listening::Http => "http",
            Listening::Tcp => "tcp",
            Listening::No => "no",
            Listening::Unknown => "unknown",
        }
        .to_string()
    }));
    if let Some(f) = &s.health_route {
        out.push(fact_row("health route", f, |v| v.clone()));
    }
    if let Some(f) = &s.stage {
        out.push(fact_row("stage", f, |v| v.clone()));
    }
    if let Some(f) = &s.user {
        out.push(fact_row("user", f, |v| v.clone()));
    }
    if let Some(f) = &s.tools {
        out.push(fact_row("tools", f, |v| v.join(",")));
    }
    out
}

fn strength_word(f: &FactRow) -> &'static str {
    match (f.contested, f.strength) {
        (true, _) => "contested",
        (false, Strength::Strong) => "strong",
        (false, Strength::Weak) => "weak",
    }
}

fn source_list(f: &FactRow) -> String {
    f.sources
        .iter()
        .map(|e| {
            format!(
                "{}{}",
                e.describe(),
                if e.disagrees { " (disagrees)" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[derive(Debug, Clone, Serialize)]
pub struct Upstream {
    pub file: String,
    pub line: usize,
    /// The upstream's name, or `proxy_pass` for direct routes.
    pub name: String,
    pub target: String,
    pub service: Option<String>,
    pub port: Option<u16>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LayerRow {
    pub file: String,
    /// The file it is merged onto.
    pub base: Option<String>,
    pub why: Option<String>,
    pub dev: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Inventory {
    pub services: Vec<Row>,
    pub compose_files: Vec<String>,
    /// How compose files are layered and which are dev/local/test stacks.
    pub compose_layers: Vec<LayerRow>,
    pub workflows: Vec<String>,
    pub upstreams: Vec<Upstream>,
}

fn kind(p: &Project, s: &ServiceNode) -> String {
    let image = s.image.as_deref().unwrap_or("");
    if s.node {
        let df_text = s
            .dockerfile
            .as_deref()
            .and_then(|d| p.file(d))
            .map(|f| f.text.as_str())
            .unwrap_or("");
        let ui = df_text.contains(".next")
            || df_text.contains("next build")
            || s.name.ends_with("-ui")
            || s.name.ends_with("-web")
            || s.name.contains("frontend");
        return if ui {
            "UI"
        } else if s.port.is_none() {
            "Worker"
        } else {
            "API"
        }
        .into();
    }
    let (name, _) = images::name_and_tag(image);
    let last = name.rsplit('/').next().unwrap_or("");
    match (images::family(image), last) {
        (Family::Postgres, _) | (_, "mysql" | "mariadb" | "mongo" | "mongodb") => "Database".into(),
        (Family::Redis, _) | (_, "memcached" | "valkey") => "Cache".into(),
        (_, "nginx" | "traefik" | "caddy" | "haproxy") => "Proxy".into(),
        (_, "kafka" | "rabbitmq" | "nats" | "zookeeper") => "Broker".into(),
        _ if s.port.is_none() => "Worker".into(),
        _ => "Service".into(),
    }
}

fn healthcheck(h: &Health) -> String {
    let classify = |t: &str| {
        let w: Vec<&str> = t
            .split(|c: char| c.is_whitespace() || c == '"' || c == ',' || c == '[' || c == ']')
            .collect();
        if w.contains(&"node") {
            "node"
        } else if w.contains(&"curl") {
            "curl"
        } else if w.contains(&"wget") {
            "wget"
        } else {
            "other"
        }
    };
    match h {
        Health::Compose { test, .. } => classify(&test.join(" ")).into(),
        Health::Image { command, .. } => classify(command).into(),
        Health::Disabled => "disabled".into(),
        Health::Absent => "none".into(),
    }
}

pub fn build(p: &Project) -> Inventory {
    let mut services = Vec::new();
    for s in &p.graph.services {
        let img = s.dockerfile.as_deref().and_then(|d| p.graph.image(d));
        let entrypoint = match img {
            Some(i) if i.entry_script.is_some() => i
                .entry_script
                .as_deref()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_string(),
            Some(i) => {
                let df = p.dockerfile(&i.dockerfile);
                let has_ep = df
                    .and_then(|d| {
                        d.stages
                            .get(i.stage)
                            .and_then(|st| d.last_in(st, "ENTRYPOINT"))
                    })
                    .is_some();
                if has_ep { "ENTRYPOINT" } else { "CMD" }.into()
            }
            None => "image".into(),
        };
        let svc = &p.compose[s.compose].services[s.index];
        services.push(Row {
            service: s.name.clone(),
            kind: kind(p, s),
            compose_file: s.compose_rel.clone(),
            image: svc.image.clone().or_else(|| s.image.clone()),
            dockerfile: s.dockerfile.clone(),
            context: img.map(|i| i.context.clone()),
            entrypoint,
            port: s.port.as_ref().map(|x| x.value),
            port_source: s.port.as_ref().map(|x| x.source.clone()),
            health_endpoint: s.health_route.as_ref().map(|r| r.value.clone()),
            prisma: s.prisma.is_some(),
            required_env: s.required_env.iter().map(|r| r.value.clone()).collect(),
            maybe_env: s.maybe_env.iter().map(|r| r.value.clone()).collect(),
            healthcheck: healthcheck(&s.health),
            facts: facts(s),
        });
    }
    let mut upstreams = Vec::new();
    for conf in &p.nginx {
        let rel = p.files[conf.file].rel.clone();
        let svc_port = |host: &str| {
            p.graph
                .service_named(host)
                .map(|s| (s.name.clone(), s.port.as_ref().map(|x| x.value)))
        };
        for u in &conf.upstreams {
            for t in &u.servers {
                let (service, port) = svc_port(&t.host)
                    .map(|(a, b)| (Some(a), b))
                    .unwrap_or((None, None));
                upstreams.push(Upstream {
                    file: rel.clone(),
                    line: t.line,
                    name: u.name.clone(),
                    target: format!(
                        "{}{}",
                        t.host,
                        t.port.map(|p| format!(":{p}")).unwrap_or_default()
                    ),
                    service,
                    port,
                });
            }
        }
        let names: Vec<&str> = conf.upstreams.iter().map(|u| u.name.as_str()).collect();
        for t in conf
            .proxy_passes
            .iter()
            .filter(|t| !names.contains(&t.host.as_str()))
        {
            let (service, port) = svc_port(&t.host)
                .map(|(a, b)| (Some(a), b))
                .unwrap_or((None, None));
            upstreams.push(Upstream {
                file: rel.clone(),
                line: t.line,
                name: "proxy_pass".into(),
                target: format!(
                    "{}{}",
                    t.host,
                    t.port.map(|p| format!(":{p}")).unwrap_or_default()
                ),
                service,
                port,
            });
        }
    }
    let compose_layers = p
        .compose
        .iter()
        .zip(&p.layers)
        .filter(|(_, l)| l.base.is_some() || l.dev)
        .map(|(c, l)| LayerRow {
            file: p.files[c.file].rel.clone(),
            base: l.base.map(|b| p.files[p.compose[b].file].rel.clone()),
            why: l.why.clone(),
            dev: l.dev,
        })
        .collect();
    Inventory {
        services,
        compose_layers,
        compose_files: p
            .compose
            .iter()
            .map(|c| p.files[c.file].rel.clone())
            .collect(),
        workflows: p
            .workflows
            .iter()
            .map(|w| p.files[w.file].rel.clone())
            .collect(),
        upstreams,
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "✅ Yes"
    } else {
        "❌ No"
    }
}

pub fn markdown(inv: &Inventory) -> String {
    use crate::render::markdown::cell;
    let mut out = String::from("| Service | Type | Dockerfile | Entrypoint/CMD | Port | Health Endpoint | Prisma? | Required Env | Healthcheck? |\n|---------|------|-----------|----------------|------|----------------|---------|--------------|--------------|\n");
    for r in &inv.services {
        let hc = match r.healthcheck.as_str() {
            "none" => "❌ No".to_string(),
            "disabled" => "⚪ Disabled".to_string(),
            how => format!("✅ Yes ({how})"),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.service,
            r.kind,
            r.dockerfile
                .as_deref()
                .map(|d| format!("`{d}`"))
                .unwrap_or_else(|| r
                    .image
                    .as_deref()
                    .map(|i| format!("image `{}`", cell(i)))
                    .unwrap_or_else(|| "—".into())),
            r.entrypoint,
            r.port
                .map(|p| p.to_string())
                .unwrap_or_else(|| "N/A".into()),
            r.health_endpoint
                .as_deref()
                .map(|h| format!("`{h}`"))
                .unwrap_or_else(|| "N/A".into()),
            yes_no(r.prisma),
            {
                let req = if r.required_env.is_empty() {
                    "None".to_string()
                } else {
                    r.required_env.join(", ")
                };
                if r.maybe_env.is_empty() {
                    req
                } else {
                    format!("{req} (maybe: {})", r.maybe_env.join(", "))
                }
            },
            hc
        ));
    }
    out.push_str("\n**Facts and their sources** (strong: the app's code read with the container's values, or an explicit setting; weak: a declaration alone; contested: sources disagree)\n\n| Service | Fact | Value | Strength | Sources |\n|---|---|---|---|---|\n");
    for r in &inv.services {
        for f in &r.facts {
            out.push_str(&format!(
                "| {} | {} | `{}` | {} | {} |\n",
                r.service,
                f.fact,
                cell(&f.value),
                strength_word(f),
                cell(&source_list(f))
            ));
        }
    }
    out
}

pub fn surface_markdown(inv: &Inventory) -> String {
    let mut out = String::new();
    let list = |xs: &[String]| {
        if xs.is_empty() {
            "none".to_string()
        } else {
            xs.iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    out.push_str(&format!(
        "**Compose files:** {}\n\n",
        list(&inv.compose_files)
    ));
    out.push_str(&format!("**Workflows:** {}\n\n", list(&inv.workflows)));
    out.push_str("**Images:**\n");
    for r in &inv.services {
        if let Some(i) = &r.image {
            out.push_str(&format!("- `{}` → `{i}`\n", r.service));
        }
    }
    if !inv.upstreams.is_empty() {
        out.push_str("\n**Nginx upstreams:**\n");
        for u in &inv.upstreams {
            let to = match (&u.service, u.port) {
                (Some(s), Some(p)) => format!("service `{s}` (listens on {p})"),
                (Some(s), None) => format!("service `{s}`"),
                (None, _) => "no compose service".into(),
            };
            out.push_str(&format!(
                "- `{}` → `{}` ({}:{}): {to}\n",
                u.name, u.target, u.file, u.line
            ));
        }
    }
    out
}

pub fn text(inv: &Inventory) -> String {
    let headers = [
        "SERVICE",
        "TYPE",
        "DOCKERFILE",
        "ENTRY",
        "PORT",
        "HEALTH",
        "PRISMA",
        "REQUIRED ENV",
        "HEALTHCHECK",
    ];
    let rows: Vec<[String; 9]> = inv
        .services
        .iter()
        .map(|r| {
            [
                r.service.clone(),
                r.kind.clone(),
                r.dockerfile
                    .clone()
                    .or_else(|| r.image.clone())
                    .unwrap_or_else(|| "-".into()),
                r.entrypoint.clone(),
                r.port.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
                r.health_endpoint.clone().unwrap_or_else(|| "-".into()),
                if r.prisma { "yes" } else { "no" }.into(),
                {
                    let req = if r.required_env.is_empty() {
                        "-".to_string()
                    } else {
                        r.required_env.join(",")
                    };
                    if r.maybe_env.is_empty() {
                        req
                    } else {
                        format!("{req} maybe:{}", r.maybe_env.join(","))
                    }
                },
                r.healthcheck.clone(),
            ]
        })
        .collect();
    let mut widths = headers.map(|h| h.chars().count());
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let fmt = |cells: Vec<String>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
            + "\n"
    };
    let mut out = fmt(headers.iter().map(|h| h.to_string()).collect());
    for r in rows {
        out.push_str(&fmt(r.to_vec()));
    }
    if !inv.compose_layers.is_empty() {
        out.push_str("\ncompose layers:\n");
        for l in &inv.compose_layers {
            out.push_str(&format!(
                "  {}{}{}\n",
                l.file,
                match (&l.base, &l.why) {
                    (Some(b), Some(w)) => format!(" -> merged onto {b} ({w})"),
                    (Some(b), None) => format!(" -> merged onto {b}"),
                    _ => String::new(),
                },
                if l.dev { " [dev/local/test stack]" } else { "" }
            ));
        }
    }
    out.push_str("\nfacts (strength: sources):\n");
    for r in &inv.services {
        for f in &r.facts {
            out.push_str(&format!(
                "  {} {} = {} [{}]: {}\n",
                r.service,
                f.fact,
                f.value,
                strength_word(f),
                source_list(f)
            ));
        }
    }
    if !inv.upstreams.is_empty() {
        out.push_str("\nnginx upstreams:\n");
        for u in &inv.upstreams {
            out.push_str(&format!(
                "  {} -> {} ({}:{}){}\n",
                u.name,
                u.target,
                u.file,
                u.line,
                if u.service.is_none() {
                    " [no compose service]"
                } else {
                    ""
                }
            ));
        }
    }
    out
}
