//! The service inventory and deploy surface (the seed audit's Phase 0),
//! derived from the service graph.

use serde::Serialize;

use crate::graph::{Health, ServiceNode};
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
pub struct Inventory {
    pub services: Vec<Row>,
    pub compose_files: Vec<String>,
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
                    .and_then(|d| d.final_stage().and_then(|st| d.last_in(st, "ENTRYPOINT")))
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
            health_endpoint: s
                .port
                .as_ref()
                .filter(|_| s.node)
                .map(|_| s.health_path.value.clone()),
            prisma: s.prisma.is_some(),
            required_env: s.required_env.iter().map(|r| r.value.clone()).collect(),
            maybe_env: s.maybe_env.iter().map(|r| r.value.clone()).collect(),
            healthcheck: healthcheck(&s.health),
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
    Inventory {
        services,
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
