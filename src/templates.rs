//! The snippets prodsafe inserts. Built in from `templates/`, and overridable
//! file by file from a folder (`--templates DIR` or `templates` in the
//! config).

use std::collections::HashMap;
use std::path::Path;

const BUILTIN: &[(&str, &str)] = &[
    (
        "healthcheck-node.yaml",
        include_str!("../templates/healthcheck-node.yaml"),
    ),
    (
        "healthcheck-node-any.yaml",
        include_str!("../templates/healthcheck-node-any.yaml"),
    ),
    (
        "healthcheck-node-tcp.yaml",
        include_str!("../templates/healthcheck-node-tcp.yaml"),
    ),
    (
        "healthcheck-postgres.yaml",
        include_str!("../templates/healthcheck-postgres.yaml"),
    ),
    (
        "healthcheck-redis.yaml",
        include_str!("../templates/healthcheck-redis.yaml"),
    ),
    ("env-check.sh", include_str!("../templates/env-check.sh")),
    ("env-guard.ts", include_str!("../templates/env-guard.ts")),
    ("smoke-test.sh", include_str!("../templates/smoke-test.sh")),
];

#[derive(Debug, Clone, Default)]
pub struct Templates {
    overrides: HashMap<String, String>,
}

impl Templates {
    /// Loads overrides from a folder: any file named like a built-in template.
    pub fn with_overrides(dir: Option<&Path>) -> Result<Templates, String> {
        let mut t = Templates::default();
        if let Some(dir) = dir {
            for (name, _) in BUILTIN {
                let p = dir.join(name);
                if p.exists() {
                    let s = std::fs::read_to_string(&p)
                        .map_err(|e| format!("{}: cannot read template: {e}", p.display()))?;
                    t.overrides.insert(name.to_string(), s);
                }
            }
        }
        Ok(t)
    }

    pub fn get(&self, name: &str) -> &str {
        if let Some(s) = self.overrides.get(name) {
            return s;
        }
        BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| *s)
            .unwrap_or_else(|| panic!("no built-in template {name}"))
    }

    pub fn names() -> impl Iterator<Item = &'static str> {
        BUILTIN.iter().map(|(n, _)| *n)
    }
}

/// Fills `{{name}}` placeholders. Values must already be safe for the
/// context they land in (callers validate ports, paths and names).
pub fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{{{k}}}}}"), v);
    }
    out
}

/// A URL path made safe for any generated code it lands in (a JS string in
/// `node -e`, a YAML or JSON string, a shell word, a Compose value with `$`
/// interpolation): every byte outside `A-Z a-z 0-9 - . _ ~ /` and valid
/// `%XX` escapes is percent-encoded, which HTTP servers decode to the same
/// path. The caller validates that it is a path at all (`config`).
pub fn url_path(path: &str) -> String {
    let b = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_alphanumeric() || b"-._~/".contains(&c) {
            out.push(c as char);
        } else if c == b'%'
            && b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
        {
            out.push_str(&path[i..i + 3]);
            i += 3;
            continue;
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
        i += 1;
    }
    out
}

/// A YAML flow sequence of strings in the given quote style.
pub fn yaml_flow_strings(items: &[String], quote: char) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| {
            if quote == '\'' {
                format!("'{}'", s.replace('\'', "''"))
            } else {
                serde_json::to_string(s).expect("strings serialise")
            }
        })
        .collect();
    format!("[{}]", quoted.join(", "))
}

/// Rewrites the `test: [...]` line of a rendered healthcheck snippet in the
/// file's quote style (the templates are written with double quotes).
pub fn restyle_test_line(snippet: &str, quote: char) -> String {
    if quote == '"' {
        return snippet.to_string();
    }
    snippet
        .lines()
        .map(|l| {
            let t = l.trim_start();
            let lead = &l[..l.len() - t.len()];
            match t
                .strip_prefix("test: ")
                .and_then(|v| serde_json::from_str::<Vec<String>>(v).ok())
            {
                Some(items) => format!("{lead}test: {}", yaml_flow_strings(&items, quote)),
                None => l.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Drops the leading `#` / `//` comment lines of a template.
pub fn body(template: &str) -> String {
    let mut lines = template.lines().peekable();
    while lines.peek().is_some_and(|l| {
        let t = l.trim_start();
        t.starts_with('#') || t.starts_with("//") || t.is_empty()
    }) {
        lines.next();
    }
    lines.collect::<Vec<_>>().join("\n")
}

/// Re-indents a two-space-indented code snippet to `unit` (spaces or a
/// tab), ending every line with `eol`.
pub fn reindent_code(snippet: &str, unit: &str, eol: &str) -> String {
    let mut out = String::new();
    for line in snippet.lines() {
        let t = line.trim_start_matches(' ');
        let levels = (line.len() - t.len()) / 2;
        if !t.is_empty() {
            out.push_str(&unit.repeat(levels));
            out.push_str(t);
        }
        out.push_str(eol);
    }
    out
}

/// Re-indents a two-space-indented YAML snippet: each level becomes `unit`
/// spaces, everything shifted by `base` spaces, lines joined with `eol`
/// and each line terminated by it.
pub fn reindent_yaml(snippet: &str, base: usize, unit: usize, eol: &str) -> String {
    let mut out = String::new();
    for line in snippet.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            out.push_str(eol);
            continue;
        }
        let lead = line.len() - line.trim_start_matches(' ').len();
        let levels = lead / 2;
        let extra = lead % 2;
        out.push_str(&" ".repeat(base + levels * unit + extra));
        out.push_str(line.trim_start_matches(' '));
        out.push_str(eol);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reindent() {
        let s = "a:\n  b: 1\n  c:\n    d: 2";
        assert_eq!(
            reindent_yaml(s, 4, 4, "\r\n"),
            "    a:\r\n        b: 1\r\n        c:\r\n            d: 2\r\n"
        );
    }

    #[test]
    fn url_paths_are_escaped_for_generated_code() {
        assert_eq!(url_path("/api/v1/health-z_~.x"), "/api/v1/health-z_~.x");
        assert_eq!(url_path("/a%2Fb"), "/a%2Fb");
        assert_eq!(
            url_path("/h'+require('x')+'$\"\\ %"),
            "/h%27%2Brequire%28%27x%27%29%2B%27%24%22%5C%20%25"
        );
    }

    #[test]
    fn builtins_have_placeholders() {
        let t = Templates::default();
        let b = body(t.get("healthcheck-node.yaml"));
        assert!(b.starts_with("healthcheck:"));
        let f = fill(&b, &[("port", "8080"), ("path", "/x")]);
        assert!(f.contains("http://localhost:8080/x"));
    }
}
