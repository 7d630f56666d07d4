//! `schema.prisma`: the environment variables its datasources read.

use crate::source::SourceFile;

#[derive(Debug, Clone, Default)]
pub struct PrismaSchema {
    pub file: usize,
    /// `env("X")` in `datasource` blocks, with lines.
    pub env: Vec<(String, usize)>,
    /// The datasource provider (`mongodb`, `postgresql`, ...).
    pub provider: Option<String>,
    /// The JavaScript client generator (`prisma-client-js` / `prisma-client`).
    pub client_generator: bool,
    /// Its `output` (relative to the schema's folder), when it sets one;
    /// `Err(text)` when the value is not a plain string (e.g. `env(...)`).
    pub client_output: Option<Result<String, String>>,
    /// `binaryTargets` / `engineType` are set (engines chosen by hand).
    pub binary_targets: Option<String>,
}

pub fn parse(file: usize, src: &SourceFile) -> PrismaSchema {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re =
        RE.get_or_init(|| regex::Regex::new(r#"env\(\s*"([A-Za-z_][A-Za-z0-9_]*)"\s*\)"#).unwrap());
    let mut out = PrismaSchema {
        file,
        ..Default::default()
    };
    let mut in_ds = false;
    let mut in_gen = false;
    let mut gen_output: Option<Result<String, String>> = None;
    let mut gen_js = false;
    let mut depth = 0i32;
    for (i, line) in src.text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let t = code.trim_start();
        if depth == 0 && t.starts_with("datasource ") {
            in_ds = true;
        }
        if depth == 0 && t.starts_with("generator ") {
            in_gen = true;
            gen_output = None;
            gen_js = false;
        }
        if in_gen {
            let value = |key: &str| {
                t.strip_prefix(key)
                    .filter(|r| r.starts_with([' ', '\t', '=']))
                    .map(|r| r.trim_start())
                    .and_then(|r| r.strip_prefix('='))
                    .map(|v| v.trim().to_string())
            };
            if let Some(v) = value("provider") {
                let v = v.trim_matches('"');
                gen_js = v == "prisma-client-js" || v == "prisma-client";
            }
            if let Some(v) = value("output") {
                gen_output = Some(
                    match v.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
                        Some(s) if !s.contains('"') => Ok(s.to_string()),
                        _ => Err(v),
                    },
                );
            }
            if let Some(v) = value("binaryTargets") {
                out.binary_targets = Some(v);
            }
        }
        if in_ds {
            if let Some(v) = t
                .strip_prefix("provider")
                .map(|r| r.trim_start())
                .and_then(|r| r.strip_prefix('='))
            {
                out.provider = Some(v.trim().trim_matches('"').to_string());
            }
            for c in re.captures_iter(code) {
                out.env.push((c[1].to_string(), i + 1));
            }
        }
        depth += code.matches('{').count() as i32 - code.matches('}').count() as i32;
        if depth <= 0 && in_gen && code.contains('}') {
            in_gen = false;
            if gen_js && !out.client_generator {
                out.client_generator = true;
                out.client_output = gen_output.take();
            }
        }
        if depth <= 0 {
            depth = 0;
            if !t.starts_with("datasource ") || code.contains('}') {
                in_ds = false;
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
    fn datasource_env() {
        let s = SourceFile::from_text(
            "schema.prisma",
            Path::new("x"),
            "generator client {\n  provider = \"prisma-client-js\"\n  output = env(\"OUT\")\n}\n\ndatasource db {\n  provider = \"mongodb\"\n  url      = env(\"DATABASE_URL\") // main\n  directUrl = env(\"DIRECT_URL\")\n}\n",
            0o644,
        );
        let p = parse(0, &s);
        assert!(p.client_generator);
        assert_eq!(p.client_output, Some(Err("env(\"OUT\")".into())));
        let q = parse(
            0,
            &SourceFile::from_text(
                "s.prisma",
                Path::new("x"),
                "generator client {\n  provider = \"prisma-client-js\"\n  output   = \"../generated/client\"\n  binaryTargets = [\"native\"]\n}\n",
                0o644,
            ),
        );
        assert_eq!(q.client_output, Some(Ok("../generated/client".into())));
        assert_eq!(q.binary_targets.as_deref(), Some("[\"native\"]"));
        assert_eq!(
            p.env,
            vec![
                ("DATABASE_URL".to_string(), 8),
                ("DIRECT_URL".to_string(), 9)
            ]
        );
    }
}
