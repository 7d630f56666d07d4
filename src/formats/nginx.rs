//! nginx configuration: `upstream` blocks and `proxy_pass` targets.

use crate::source::SourceFile;

#[derive(Debug, Clone)]
pub struct Target {
    pub host: String,
    pub port: Option<u16>,
    pub line: usize,
    pub col: usize,
}

#[derive(Debug, Clone)]
pub struct Upstream {
    pub name: String,
    pub line: usize,
    pub servers: Vec<Target>,
}

#[derive(Debug, Clone, Default)]
pub struct NginxConf {
    pub file: usize,
    pub upstreams: Vec<Upstream>,
    /// `proxy_pass` targets (an upstream's name, or host:port).
    pub proxy_passes: Vec<Target>,
}

fn target(s: &str, line: usize, col: usize) -> Target {
    let s = s.trim_end_matches(';');
    let s = s.split_once("://").map(|(_, r)| r).unwrap_or(s);
    let hostport = s.split('/').next().unwrap_or(s);
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), p.parse().ok()),
        None => (hostport.to_string(), None),
    };
    Target {
        host,
        port,
        line,
        col,
    }
}

pub fn parse(file: usize, src: &SourceFile) -> NginxConf {
    static RE: std::sync::OnceLock<[regex::Regex; 3]> = std::sync::OnceLock::new();
    let [up, server, pass] = RE.get_or_init(|| {
        [
            regex::Regex::new(r"\bupstream\s+([A-Za-z0-9_.-]+)\s*\{").unwrap(),
            regex::Regex::new(r"(?:^|[{;\s])server\s+([^\s;]+)").unwrap(),
            regex::Regex::new(r"\bproxy_pass\s+([^\s;]+)").unwrap(),
        ]
    });
    let mut out = NginxConf {
        file,
        ..Default::default()
    };
    let mut current: Option<(Upstream, i32)> = None;
    for (i, raw) in src.text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("");
        let ln = i + 1;
        let col_of = |m: regex::Match| line[..m.start()].chars().count() + 1;
        if let Some(c) = up.captures(line) {
            current = Some((
                Upstream {
                    name: c[1].to_string(),
                    line: ln,
                    servers: vec![],
                },
                0,
            ));
        }
        if let Some((u, depth)) = current.as_mut() {
            for c in server.captures_iter(line) {
                let m = c.get(1).unwrap();
                u.servers.push(target(m.as_str(), ln, col_of(m)));
            }
            *depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
            if *depth <= 0 {
                out.upstreams.push(current.take().unwrap().0);
            }
        }
        for c in pass.captures_iter(line) {
            let m = c.get(1).unwrap();
            out.proxy_passes.push(target(m.as_str(), ln, col_of(m)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn upstreams_and_passes() {
        let s = SourceFile::from_text(
            "nginx.conf",
            Path::new("x"),
            "upstream api { server api-gateway:8080; }\nupstream web {\n  server web:3000 max_fails=3;\n}\nserver {\n  listen 80;\n  location / { proxy_pass http://api; }\n  location /c/ { proxy_pass http://chat:6006/x; } # server x:1\n}\n",
            0o644,
        );
        let n = parse(0, &s);
        assert_eq!(n.upstreams.len(), 2);
        assert_eq!(n.upstreams[0].servers[0].host, "api-gateway");
        assert_eq!(n.upstreams[1].servers[0].port, Some(3000));
        assert_eq!(n.proxy_passes.len(), 2);
        assert_eq!(
            (n.proxy_passes[1].host.as_str(), n.proxy_passes[1].port),
            ("chat", Some(6006))
        );
    }
}
