//! What common base images contain. One table, used by every rule that asks
//! "does the runtime image have X?".

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Node,
    Postgres,
    Redis,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Distro {
    Alpine,
    Debian,
    Distroless,
    Unknown,
}

/// Strips registry and digest: `docker.io/library/node:20-alpine@sha..` -> (`node`, `20-alpine`).
pub fn name_and_tag(image: &str) -> (String, String) {
    let image = image.split('@').next().unwrap_or(image);
    let (path, tag) = match image.rsplit_once(':') {
        Some((p, t)) if !t.contains('/') => (p, t),
        _ => (image, "latest"),
    };
    let path = path
        .strip_prefix("docker.io/")
        .unwrap_or(path)
        .strip_prefix("library/")
        .unwrap_or(path.strip_prefix("docker.io/").unwrap_or(path));
    (path.to_ascii_lowercase(), tag.to_ascii_lowercase())
}

pub fn family(image: &str) -> Family {
    let (name, _) = name_and_tag(image);
    let last = name.rsplit('/').next().unwrap_or(&name);
    match last {
        "node" | "nodejs" | "nodejs20-debian12" | "nodejs22-debian12" => Family::Node,
        n if n.starts_with("nodejs") => Family::Node,
        "postgres" | "postgis" => Family::Postgres,
        "redis" | "redis-stack-server" => Family::Redis,
        _ => Family::Other,
    }
}

pub fn distro(image: &str) -> Distro {
    let (name, tag) = name_and_tag(image);
    if name.contains("distroless") {
        Distro::Distroless
    } else if tag.contains("alpine") || name.ends_with("alpine") {
        Distro::Alpine
    } else if tag.contains("slim")
        || tag.contains("bookworm")
        || tag.contains("bullseye")
        || family(image) == Family::Node
        || name == "debian"
        || name == "ubuntu"
    {
        Distro::Debian
    } else {
        Distro::Unknown
    }
}

/// Whether a base image ships a tool (`curl`, `wget`, `bash`, `sh`), when
/// that is known. Alpine has busybox `wget` and `sh`, no `curl` or `bash`;
/// Debian slim has `bash` but neither `curl` nor `wget`; the full `node`
/// images (buildpack-deps) have all; distroless has no shell at all.
pub fn provides(image: &str, tool: &str) -> Option<bool> {
    let (_, tag) = name_and_tag(image);
    let d = distro(image);
    let node = family(image) == Family::Node;
    match (d, tool) {
        (Distro::Distroless, _) => Some(false),
        (Distro::Alpine, "wget" | "sh") => Some(true),
        (Distro::Alpine, "curl" | "bash") => Some(false),
        (Distro::Debian, "sh" | "bash") => Some(true),
        (Distro::Debian, "curl" | "wget") if tag.contains("slim") => Some(false),
        (Distro::Debian, "curl" | "wget") if node => Some(true),
        _ => None,
    }
}

/// The user official images provide for dropping root.
pub fn non_root_user(image: &str) -> Option<&'static str> {
    match (family(image), distro(image)) {
        (_, Distro::Distroless) => Some("nonroot"),
        (Family::Node, _) => Some("node"),
        _ => None,
    }
}

pub fn is_node(image: &str) -> bool {
    family(image) == Family::Node
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families() {
        assert!(is_node("node:20-alpine"));
        assert!(is_node("docker.io/library/node:20"));
        assert!(is_node("gcr.io/distroless/nodejs20-debian12"));
        assert_eq!(family("postgres:16-alpine"), Family::Postgres);
        assert_eq!(family("bitnami/redis:7"), Family::Redis);
        assert_eq!(family("golang:1.22"), Family::Other);
        assert_eq!(distro("node:20-alpine"), Distro::Alpine);
        assert_eq!(
            distro("gcr.io/distroless/nodejs20-debian12"),
            Distro::Distroless
        );
        assert_eq!(
            name_and_tag("localhost:5000/app"),
            ("localhost:5000/app".into(), "latest".into())
        );
    }
}
