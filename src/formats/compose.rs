//! docker-compose files: the services and the parts of them prodsafe reasons
//! about, each with the source line it came from. Merge keys (`<<`) are
//! resolved through [`YamlDoc::get`]; `extends` is resolved in the graph.

use crate::formats::yaml::{self, Kind, Node, YamlDoc};
use crate::source::{LoadError, SourceFile};

#[derive(Debug, Clone)]
pub struct ComposeFile {
    /// Index of the file in the project's file list.
    pub file: usize,
    pub doc: YamlDoc,
    pub services: Vec<Service>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Healthcheck {
    /// No `healthcheck` key (own or merged).
    Absent,
    /// `disable: true` or `test: ["NONE"]`.
    Disabled,
    Defined {
        test: Vec<String>,
        line: usize,
    },
}

#[derive(Debug, Clone)]
pub struct DependsOn {
    pub service: String,
    pub condition: Option<String>,
    pub line: usize,
    pub col: usize,
}

#[derive(Debug, Clone)]
pub struct Port {
    pub container: u16,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    /// Line and 1-based column of the service's key.
    pub line: usize,
    pub col: usize,
    /// The service's value node (a mapping for any usable service).
    pub node: Node,
    /// The service is written as an alias (`svc: *other`).
    pub is_alias: bool,
    pub image: Option<String>,
    pub build_context: Option<String>,
    pub dockerfile: Option<String>,
    pub build_line: Option<usize>,
    /// `build.target`: the stage compose builds and runs (None: the last).
    pub target: Option<(String, usize)>,
    pub ports: Vec<Port>,
    pub expose: Vec<Port>,
    pub environment: Vec<(String, Option<String>)>,
    pub env_files: Vec<String>,
    pub healthcheck: Healthcheck,
    pub depends_on: Vec<DependsOn>,
    pub restart: Option<String>,
    pub init: Option<bool>,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    /// `extends`: (file, service).
    pub extends: Option<(Option<String>, String)>,
    /// `profiles:`: the service only starts when one is enabled.
    pub profiles: Vec<String>,
    /// `${X:?msg}` interpolations inside the service.
    pub required_interpolations: Vec<(String, usize)>,
}

impl Service {
    pub fn env(&self, name: &str) -> Option<&str> {
        self.environment
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_deref())
    }
}

/// Whether a file name is a compose file.
pub fn is_compose_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    (lower.starts_with("docker-compose") || lower.starts_with("compose"))
        && (lower.ends_with(".yml") || lower.ends_with(".yaml"))
}

pub fn parse(file: usize, src: &SourceFile) -> Result<ComposeFile, LoadError> {
    let mut docs = yaml::parse(src)?;
    if docs.is_empty() {
        return Err(LoadError {
            rel: src.rel.clone(),
            line: None,
            message: "empty compose file".into(),
        });
    }
    let doc = docs.remove(0);
    let mut services = Vec::new();
    if let Some(svcs) = doc.get(&doc.root, "services") {
        for (k, v) in svcs.entries() {
            let Some(name) = k.as_str() else { continue };
            services.push(service(&doc, src, name, k, v));
        }
    }
    Ok(ComposeFile {
        file,
        doc,
        services,
    })
}

fn strings(doc: &YamlDoc, n: &Node) -> Vec<String> {
    match &doc.resolve(n).kind {
        Kind::Scalar { value, .. } => vec![value.clone()],
        Kind::Seq(items) => items
            .iter()
            .filter_map(|i| doc.resolve(i).as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    }
}

/// The container side of a `ports:` entry (`"127.0.0.1:8080:80/tcp"` -> 80).
pub fn container_port(spec: &str) -> Option<u16> {
    // Split on `:` outside `${...}`.
    let mut depth = 0;
    let mut last_start = 0;
    for (i, c) in spec.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ':' if depth == 0 => last_start = i + 1,
            _ => {}
        }
    }
    let last = &spec[last_start..];
    let last = last.split('/').next()?;
    if last.starts_with("${") {
        return parse_port(last);
    }
    parse_port(last.split('-').next()?)
}

/// A port number, also from `${PORT:-3000}`.
pub fn parse_port(s: &str) -> Option<u16> {
    let s = s.trim();
    if let Some(inner) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
        let default = inner.split_once(":-").or_else(|| inner.split_once('-'))?.1;
        return default.parse().ok().filter(|&p: &u16| p > 0);
    }
    s.parse().ok().filter(|&p: &u16| p > 0)
}

fn ports(doc: &YamlDoc, n: Option<&Node>) -> Vec<Port> {
    let Some(n) = n else { return vec![] };
    let mut out = Vec::new();
    for item in n.items() {
        let item = doc.resolve(item);
        let port = if item.is_map() {
            doc.get(item, "target")
                .and_then(|t| t.as_str())
                .and_then(parse_port)
        } else {
            item.as_str().and_then(container_port)
        };
        if let Some(container) = port {
            out.push(Port {
                container,
                line: item.line,
            });
        }
    }
    out
}

fn service(doc: &YamlDoc, src: &SourceFile, name: &str, key: &Node, value: &Node) -> Service {
    let is_alias = matches!(value.kind, Kind::Alias(_));
    let v = doc.resolve(value);
    let get = |k: &str| doc.get(v, k);
    let (mut build_context, mut dockerfile, mut build_line) = (None, None, None);
    let mut target = None;
    if let Some(b) = get("build") {
        build_line = Some(b.line);
        if let Some(s) = b.as_str() {
            build_context = Some(s.to_string());
        } else {
            build_context = Some(
                doc.get(b, "context")
                    .and_then(|c| c.as_str())
                    .unwrap_or(".")
                    .to_string(),
            );
            dockerfile = doc
                .get(b, "dockerfile")
                .and_then(|d| d.as_str())
                .map(str::to_string);
            target = doc
                .get(b, "target")
                .and_then(|t| t.as_str().map(|v| (v.to_string(), t.line)));
        }
    }
    let mut environment = Vec::new();
    if let Some(env) = get("environment") {
        if env.is_map() {
            for (k, val) in env.entries() {
                if let Some(k) = k.as_str() {
                    environment
                        .push((k.to_string(), doc.resolve(val).as_str().map(str::to_string)));
                }
            }
        } else {
            for s in strings(doc, env) {
                match s.split_once('=') {
                    Some((k, val)) => environment.push((k.to_string(), Some(val.to_string()))),
                    None => environment.push((s, None)),
                }
            }
        }
    }
    let healthcheck = match get("healthcheck") {
        None => Healthcheck::Absent,
        Some(h) => {
            let disabled = doc
                .get(h, "disable")
                .and_then(|d| d.as_str())
                .is_some_and(|d| d == "true");
            let test = doc
                .get(h, "test")
                .map(|t| strings(doc, t))
                .unwrap_or_default();
            if disabled || test.first().is_some_and(|t| t == "NONE") {
                Healthcheck::Disabled
            } else {
                Healthcheck::Defined { test, line: h.line }
            }
        }
    };
    let mut depends_on = Vec::new();
    if let Some(d) = get("depends_on") {
        if d.is_map() {
            for (k, val) in d.entries() {
                if let Some(s) = k.as_str() {
                    depends_on.push(DependsOn {
                        service: s.to_string(),
                        condition: doc
                            .get(val, "condition")
                            .and_then(|c| c.as_str())
                            .map(str::to_string),
                        line: k.line,
                        col: k.col + 1,
                    });
                }
            }
        } else {
            for i in d.items() {
                if let Some(s) = doc.resolve(i).as_str() {
                    depends_on.push(DependsOn {
                        service: s.to_string(),
                        condition: None,
                        line: i.line,
                        col: i.col + 1,
                    });
                }
            }
        }
    }
    let extends = get("extends").and_then(|e| {
        if let Some(s) = e.as_str() {
            Some((None, s.to_string()))
        } else {
            let svc = doc.get(e, "service")?.as_str()?.to_string();
            let file = doc
                .get(e, "file")
                .and_then(|f| f.as_str())
                .map(str::to_string);
            Some((file, svc))
        }
    });
    let env_files = get("env_file").map(|e| {
        if e.is_seq() {
            e.items()
                .iter()
                .filter_map(|i| {
                    let i = doc.resolve(i);
                    i.as_str().map(str::to_string).or_else(|| {
                        doc.get(i, "path")
                            .and_then(|p| p.as_str())
                            .map(str::to_string)
                    })
                })
                .collect()
        } else {
            strings(doc, e)
        }
    });
    // `${X:?msg}` / `${X?msg}` anywhere in the service's own lines.
    let mut required_interpolations = Vec::new();
    let re = required_re();
    for line in v.line..=v.end_line.max(v.line) {
        for c in re.captures_iter(src.line_text(line)) {
            let name = c[1].to_string();
            if !required_interpolations.iter().any(|(n, _)| *n == name) {
                required_interpolations.push((name, line));
            }
        }
    }
    Service {
        name: name.to_string(),
        line: key.line,
        col: key.col + 1,
        node: v.clone(),
        is_alias,
        image: get("image").and_then(|i| i.as_str()).map(str::to_string),
        build_context,
        dockerfile,
        build_line,
        target,
        ports: ports(doc, get("ports")),
        expose: get("expose")
            .map(|e| {
                e.items()
                    .iter()
                    .filter_map(|i| {
                        let i = doc.resolve(i);
                        i.as_str().and_then(container_port).map(|p| Port {
                            container: p,
                            line: i.line,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default(),
        environment,
        env_files: env_files.unwrap_or_default(),
        healthcheck,
        depends_on,
        restart: get("restart").and_then(|r| r.as_str()).map(str::to_string),
        init: get("init").and_then(|i| i.as_str()).map(|i| i == "true"),
        command: get("command").map(|c| strings(doc, c)),
        entrypoint: get("entrypoint").map(|c| strings(doc, c)),
        extends,
        profiles: get("profiles").map(|x| strings(doc, x)).unwrap_or_default(),
        required_interpolations,
    }
}

fn required_re() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?\?[^}]*\}").unwrap())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn services_and_ports() {
        let text = "x-base: &base\n  restart: always\n  healthcheck:\n    test: [\"CMD\", \"true\"]\nservices:\n  api:\n    <<: *base\n    build:\n      context: .\n      dockerfile: apps/api/Dockerfile\n    ports:\n      - \"127.0.0.1:8080:80/tcp\"\n      - target: 9000\n    environment:\n      PORT: 80\n      DB: ${DB_URL:?set it}\n    depends_on:\n      db:\n        condition: service_healthy\n  db:\n    image: postgres:16\n    expose: [\"5432\"]\n";
        let src = SourceFile::from_text("c.yml", Path::new("c.yml"), text, 0o644);
        let c = parse(0, &src).unwrap();
        let api = &c.services[0];
        assert_eq!(api.dockerfile.as_deref(), Some("apps/api/Dockerfile"));
        assert_eq!(
            api.ports.iter().map(|p| p.container).collect::<Vec<_>>(),
            vec![80, 9000]
        );
        assert_eq!(api.env("PORT"), Some("80"));
        assert!(matches!(api.healthcheck, Healthcheck::Defined { .. }));
        assert_eq!(api.restart.as_deref(), Some("always"));
        assert_eq!(
            api.depends_on[0].condition.as_deref(),
            Some("service_healthy")
        );
        assert_eq!(api.required_interpolations[0].0, "DB_URL");
        assert_eq!(c.services[1].expose[0].container, 5432);
        assert_eq!(c.services[1].healthcheck, Healthcheck::Absent);
    }

    #[test]
    fn port_specs() {
        assert_eq!(container_port("3000"), Some(3000));
        assert_eq!(container_port("3000-3005:3000-3005"), Some(3000));
        assert_eq!(container_port("${P:-81}:${P:-81}"), Some(81));
        assert_eq!(container_port("${P}"), None);
    }
}
