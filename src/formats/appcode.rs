//! Application entry files (TypeScript / JavaScript): what the service
//! listens on and which health route it serves.

use crate::source::SourceFile;

#[derive(Debug, Clone, Default)]
pub struct AppFile {
    /// Index of the file in the project's file list.
    pub file: usize,
    /// Literal ports passed to `listen(...)` or used as the `PORT` fallback.
    pub ports: Vec<(u16, usize)>,
    /// Health routes (`/gateway-health`, `/health`), with their lines.
    pub health_routes: Vec<(String, usize)>,
}

pub fn is_entry_path(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let stem_ok = ["main", "index", "server"]
        .iter()
        .any(|s| name.starts_with(&format!("{s}.")));
    let ext_ok = [".ts", ".js", ".mjs", ".cjs", ".mts", ".cts"]
        .iter()
        .any(|e| name.ends_with(e) && !name.ends_with(".d.ts"));
    let dir = rel.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    stem_ok && ext_ok && (dir == "src" || dir.ends_with("/src"))
}

fn re(cell: &'static std::sync::OnceLock<regex::Regex>, pat: &str) -> &'static regex::Regex {
    cell.get_or_init(|| regex::Regex::new(pat).unwrap())
}

pub fn parse(file: usize, src: &SourceFile) -> AppFile {
    static LISTEN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    static FALLBACK: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    static ROUTE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    static NEST: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    static PREFIX: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let listen = re(&LISTEN, r"\.listen\(\s*(\d{2,5})\b");
    let fallback = re(
        &FALLBACK,
        r#"env\.PORT\b[^;\n]{0,40}?(?:\|\||\?\?|:)\s*['"]?(\d{2,5})\b"#,
    );
    let route = re(
        &ROUTE,
        r#"\.(?:get|all|head|use)\(\s*['"`](/[A-Za-z0-9._~/-]*health[A-Za-z0-9._~/-]*)['"`]"#,
    );
    let nest = re(
        &NEST,
        r#"@Get\(\s*['"`]/?([A-Za-z0-9._~/-]*health[A-Za-z0-9._~/-]*)['"`]"#,
    );
    let prefix = re(
        &PREFIX,
        r#"setGlobalPrefix\(\s*['"`]/?([A-Za-z0-9._~-]+)['"`]"#,
    );
    let mut out = AppFile {
        file,
        ..Default::default()
    };
    let mut global_prefix = None;
    for (i, line) in src.text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with("//") || t.starts_with('*') || t.starts_with("/*") {
            continue;
        }
        let ln = i + 1;
        for c in listen
            .captures_iter(line)
            .chain(fallback.captures_iter(line))
        {
            if let Ok(p) = c[1].parse::<u16>() {
                if p > 0 && !out.ports.iter().any(|(x, _)| *x == p) {
                    out.ports.push((p, ln));
                }
            }
        }
        for c in route.captures_iter(line) {
            out.health_routes.push((c[1].to_string(), ln));
        }
        for c in nest.captures_iter(line) {
            out.health_routes.push((format!("/{}", &c[1]), ln));
        }
        if let Some(c) = prefix.captures(line) {
            global_prefix = Some(c[1].to_string());
        }
    }
    if let Some(p) = global_prefix {
        // Nest routes sit under the global prefix; express routes found with
        // `.get(` are left as written.
        for (r, ln) in out.health_routes.iter_mut() {
            if src.line_text(*ln).contains("@Get") {
                *r = format!("/{p}{r}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn ports_and_routes() {
        let s = SourceFile::from_text(
            "a/src/main.ts",
            Path::new("x"),
            "const port = process.env.PORT || 8080;\n// app.get('/old-health')\napp.get('/gateway-health', (req, res) => res.send('ok'));\nserver.listen(port);\n",
            0o644,
        );
        let a = parse(0, &s);
        assert_eq!(a.ports, vec![(8080, 1)]);
        assert_eq!(a.health_routes, vec![("/gateway-health".to_string(), 3)]);
        assert!(is_entry_path("apps/x/src/main.ts"));
        assert!(!is_entry_path("apps/x/lib/main.ts"));
    }
}
