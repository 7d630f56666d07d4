//! What common base images contain: ONE data table (`TABLE`), used by every
//! rule that asks "does the runtime image have X?", "which user does it run
//! as?" or "can it run as non-root at all?".

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Node,
    Postgres,
    Redis,
    Nginx,
    Caddy,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Distro {
    Alpine,
    Debian,
    /// Debian `-slim` variants: a shell, but neither curl nor wget.
    Slim,
    Distroless,
    Unknown,
}

/// One row of the table: what an image family ships on one distro.
#[derive(Debug)]
pub struct ImageInfo {
    pub family: Option<Family>,
    pub distro: Distro,
    /// Tools the image ships (a tool absent from both lists is unknown).
    pub has: &'static [&'static str],
    /// Tools it is known NOT to ship.
    pub lacks: &'static [&'static str],
    /// The non-root user the image provides, if any.
    pub non_root_user: Option<&'static str>,
    /// False when the official image cannot start as non-root (it writes
    /// its cache and pid as root, or binds port 80).
    pub can_run_non_root: bool,
    /// The image to use instead when it cannot run as non-root.
    pub unprivileged_variant: Option<&'static str>,
}

const NODE_TOOLS: [&str; 5] = ["node", "npm", "npx", "yarn", "corepack"];

/// `family: None` rows apply to any family on that distro. Rows are looked up
/// family first, then distro.
pub static TABLE: &[ImageInfo] = &[
    // Official node images ship npm, npx, yarn 1 and corepack.
    ImageInfo {
        family: Some(Family::Node),
        distro: Distro::Alpine,
        has: &["node", "npm", "npx", "yarn", "corepack", "sh", "wget"],
        lacks: &["curl", "bash", "pnpm"],
        non_root_user: Some("node"),
        can_run_non_root: true,
        unprivileged_variant: None,
    },
    ImageInfo {
        family: Some(Family::Node),
        distro: Distro::Slim,
        has: &["node", "npm", "npx", "yarn", "corepack", "sh", "bash"],
        lacks: &["curl", "wget", "pnpm"],
        non_root_user: Some("node"),
        can_run_non_root: true,
        unprivileged_variant: None,
    },
    // The full node images build on buildpack-deps: curl and wget included.
    ImageInfo {
        family: Some(Family::Node),
        distro: Distro::Debian,
        has: &[
            "node", "npm", "npx", "yarn", "corepack", "sh", "bash", "curl", "wget",
        ],
        lacks: &["pnpm"],
        non_root_user: Some("node"),
        can_run_non_root: true,
        unprivileged_variant: None,
    },
    // Distroless node: node is the entrypoint, nothing else (no shell, no npm).
    ImageInfo {
        family: Some(Family::Node),
        distro: Distro::Distroless,
        has: &["node"],
        lacks: &[
            "sh", "bash", "curl", "wget", "npm", "npx", "yarn", "pnpm", "corepack",
        ],
        non_root_user: Some("nonroot"),
        can_run_non_root: true,
        unprivileged_variant: None,
    },
    ImageInfo {
        family: Some(Family::Nginx),
        distro: Distro::Unknown,
        has: &["sh"],
        lacks: &["node", "npm", "yarn", "pnpm"],
        non_root_user: None,
        can_run_non_root: false,
        unprivileged_variant: Some("nginxinc/nginx-unprivileged"),
    },
    ImageInfo {
        family: Some(Family::Caddy),
        distro: Distro::Unknown,
        has: &["sh", "wget"],
        lacks: &["curl", "bash", "node", "npm", "yarn", "pnpm"],
        non_root_user: None,
        can_run_non_root: false,
        unprivileged_variant: None,
    },
    ImageInfo {
        family: None,
        distro: Distro::Alpine,
        has: &["sh", "wget"],
        lacks: &["curl", "bash", "node", "npm", "yarn", "pnpm"],
        non_root_user: None,
        can_run_non_root: true,
        unprivileged_variant: None,
    },
    ImageInfo {
        family: None,
        distro: Distro::Slim,
        has: &["sh", "bash"],
        lacks: &["curl", "wget"],
        non_root_user: None,
        can_run_non_root: true,
        unprivileged_variant: None,
    },
    ImageInfo {
        family: None,
        distro: Distro::Debian,
        has: &["sh", "bash"],
        lacks: &[],
        non_root_user: None,
        can_run_non_root: true,
        unprivileged_variant: None,
    },
    ImageInfo {
        family: None,
        distro: Distro::Distroless,
        has: &[],
        lacks: &[
            "sh", "bash", "curl", "wget", "npm", "npx", "yarn", "pnpm", "corepack",
        ],
        non_root_user: Some("nonroot"),
        can_run_non_root: true,
        unprivileged_variant: None,
    },
];

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
        "node" | "nodejs" => Family::Node,
        n if n.starts_with("nodejs") => Family::Node,
        "postgres" | "postgis" => Family::Postgres,
        "redis" | "redis-stack-server" => Family::Redis,
        // The unprivileged variants are not this family: they run as non-root.
        "nginx" | "openresty" if !name.contains("unprivileged") => Family::Nginx,
        "caddy" => Family::Caddy,
        _ => Family::Other,
    }
}

pub fn distro(image: &str) -> Distro {
    let (name, tag) = name_and_tag(image);
    if name.contains("distroless") {
        Distro::Distroless
    } else if tag.contains("alpine") || name.ends_with("alpine") {
        Distro::Alpine
    } else if tag.contains("slim") {
        Distro::Slim
    } else if tag.contains("bookworm")
        || tag.contains("bullseye")
        || tag.contains("buster")
        || family(image) == Family::Node
        || name == "debian"
        || name == "ubuntu"
    {
        Distro::Debian
    } else {
        Distro::Unknown
    }
}

/// The table row for an image: its family's row on its distro, else the
/// family's distro-independent row, else the distro's generic row.
pub fn info(image: &str) -> Option<&'static ImageInfo> {
    let (f, d) = (family(image), distro(image));
    TABLE
        .iter()
        .find(|r| r.family == Some(f) && r.distro == d)
        .or_else(|| {
            TABLE
                .iter()
                .find(|r| r.family == Some(f) && r.distro == Distro::Unknown)
        })
        .or_else(|| {
            (d != Distro::Unknown)
                .then(|| TABLE.iter().find(|r| r.family.is_none() && r.distro == d))
                .flatten()
        })
}

/// Whether a base image ships a tool (`curl`, `wget`, `bash`, `sh`, `yarn`,
/// `npm`, ...), when the table knows.
pub fn provides(image: &str, tool: &str) -> Option<bool> {
    let row = info(image)?;
    if row.has.contains(&tool) {
        Some(true)
    } else if row.lacks.contains(&tool) {
        Some(false)
    } else {
        None
    }
}

/// The user official images provide for dropping root.
pub fn non_root_user(image: &str) -> Option<&'static str> {
    info(image).and_then(|r| r.non_root_user)
}

/// Whether the image can run as non-root at all; with the variant to use
/// instead when it cannot (`None` inside when there is no official one).
pub fn non_root_blocker(image: &str) -> Option<Option<&'static str>> {
    info(image)
        .filter(|r| !r.can_run_non_root)
        .map(|r| r.unprivileged_variant)
}

pub fn is_node(image: &str) -> bool {
    family(image) == Family::Node
}

/// Tools every official node image ships (for messages).
pub fn node_tools() -> &'static [&'static str] {
    &NODE_TOOLS
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
        assert_eq!(family("nginx:1.27-alpine"), Family::Nginx);
        assert_eq!(family("nginxinc/nginx-unprivileged:1.27"), Family::Other);
        assert_eq!(family("caddy:2"), Family::Caddy);
        assert_eq!(distro("node:20-alpine"), Distro::Alpine);
        assert_eq!(distro("node:20-slim"), Distro::Slim);
        assert_eq!(
            distro("gcr.io/distroless/nodejs20-debian12"),
            Distro::Distroless
        );
        assert_eq!(
            name_and_tag("localhost:5000/app"),
            ("localhost:5000/app".into(), "latest".into())
        );
    }

    #[test]
    fn tools_users_and_root() {
        // node images ship yarn 1, npm, npx and corepack, on every distro but distroless
        for img in [
            "node:20",
            "node:20-alpine",
            "node:20-slim",
            "node:22-bookworm",
        ] {
            for t in node_tools() {
                assert_eq!(provides(img, t), Some(true), "{img} {t}");
            }
            assert_eq!(provides(img, "pnpm"), Some(false), "{img}");
            assert_eq!(non_root_user(img), Some("node"));
        }
        assert_eq!(provides("node:20-alpine", "wget"), Some(true));
        assert_eq!(provides("node:20-alpine", "curl"), Some(false));
        assert_eq!(provides("node:20-slim", "wget"), Some(false));
        assert_eq!(provides("node:20-slim", "curl"), Some(false));
        assert_eq!(provides("node:20", "curl"), Some(true));
        assert_eq!(
            provides("gcr.io/distroless/nodejs20-debian12", "sh"),
            Some(false)
        );
        assert_eq!(
            provides("gcr.io/distroless/nodejs20-debian12", "npm"),
            Some(false)
        );
        assert_eq!(provides("alpine:3.20", "curl"), Some(false));
        assert_eq!(provides("golang:1.22", "curl"), None);
        assert_eq!(
            non_root_blocker("nginx:1.27-alpine"),
            Some(Some("nginxinc/nginx-unprivileged"))
        );
        assert_eq!(non_root_blocker("caddy:2-alpine"), Some(None));
        assert_eq!(non_root_blocker("nginxinc/nginx-unprivileged:1.27"), None);
        assert_eq!(non_root_blocker("node:20"), None);
    }
}
