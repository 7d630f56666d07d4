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

/// The placeholders prodsafe fills in each template.
const FILLED: &[(&str, &[&str])] = &[
    (
        "healthcheck-node.yaml",
        &[
            "port",
            "path",
            "interval",
            "timeout",
            "retries",
            "start_period",
        ],
    ),
    (
        "healthcheck-node-any.yaml",
        &[
            "port",
            "path",
            "interval",
            "timeout",
            "retries",
            "start_period",
        ],
    ),
    (
        "healthcheck-node-tcp.yaml",
        &["port", "interval", "timeout", "retries", "start_period"],
    ),
    (
        "healthcheck-postgres.yaml",
        &["interval", "timeout", "retries", "start_period"],
    ),
    (
        "healthcheck-redis.yaml",
        &["interval", "timeout", "retries", "start_period"],
    ),
    ("env-check.sh", &["name"]),
    ("env-guard.ts", &["names", "q"]),
    ("smoke-test.sh", &["env_flags", "pull", "notes"]),
];

/// `{{word}}` placeholders in a text (lower-case words and `_` only, so
/// Go templates like `{{.State.Status}}` and `${{ x }}` do not count).
pub fn placeholders(text: &str) -> Vec<String> {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| regex::Regex::new(r"\{\{([a-z_]+)\}\}").unwrap());
    let mut out: Vec<String> = re.captures_iter(text).map(|c| c[1].to_string()).collect();
    out.sort();
    out.dedup();
    out
}

/// The placeholders prodsafe fills, in any template.
pub fn filled_names() -> impl Iterator<Item = &'static str> {
    FILLED.iter().flat_map(|(_, n)| n.iter().copied())
}

impl Templates {
    /// Loads overrides from a folder: every file must be named like a
    /// built-in template, and may use only the placeholders prodsafe fills
    /// for it (a placeholder left in a fix would ship as text).
    pub fn with_overrides(dir: Option<&Path>) -> Result<Templates, String> {
        let mut t = Templates::default();
        let Some(dir) = dir else {
            return Ok(t);
        };
        if !dir.is_dir() {
            return Err(format!(
                "{}: templates folder not found (--templates or `templates` in the config)",
                dir.display()
            ));
        }
        let entries = std::fs::read_dir(dir)
            .map_err(|e| format!("{}: cannot read templates folder: {e}", dir.display()))?;
        let mut names: Vec<String> = Vec::new();
        for e in entries {
            let e =
                e.map_err(|e| format!("{}: cannot read templates folder: {e}", dir.display()))?;
            names.push(e.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        for name in names {
            let p = dir.join(&name);
            // Hidden files (`.gitkeep`, `.DS_Store`) are not overrides.
            if name.starts_with('.') {
                continue;
            }
            let Some((builtin_name, builtin)) = BUILTIN.iter().find(|(n, _)| **n == name) else {
                return Err(format!(
                    "{}: matches no template (the templates are: {})",
                    p.display(),
                    BUILTIN
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            };
            let s = std::fs::read_to_string(&p)
                .map_err(|e| format!("{}: cannot read template: {e}", p.display()))?;
            let filled = FILLED
                .iter()
                .find(|(n, _)| n == builtin_name)
                .map(|(_, f)| *f)
                .unwrap_or(&[]);
            let literal = placeholders(builtin);
            for ph in placeholders(&s) {
                if !filled.contains(&ph.as_str()) && !literal.contains(&ph) {
                    return Err(format!(
                        "{}: `{{{{{ph}}}}}` is not filled by prodsafe (this template gets: {})",
                        p.display(),
                        filled
                            .iter()
                            .map(|f| format!("{{{{{f}}}}}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
            t.overrides.insert(name.to_string(), s);
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
    fn overrides_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".gitkeep"), "").unwrap();
        assert!(Templates::with_overrides(Some(dir.path())).is_ok());
        assert!(Templates::with_overrides(Some(&dir.path().join("nope")))
            .unwrap_err()
            .contains("not found"));
        std::fs::write(dir.path().join("healthcheck-node.yml"), "x").unwrap();
        let e = Templates::with_overrides(Some(dir.path())).unwrap_err();
        assert!(
            e.contains("healthcheck-node.yml: matches no template"),
            "{e}"
        );
        std::fs::remove_file(dir.path().join("healthcheck-node.yml")).unwrap();
        std::fs::write(dir.path().join("env-check.sh"), "echo {{nmae}}\n").unwrap();
        let e = Templates::with_overrides(Some(dir.path())).unwrap_err();
        assert!(e.contains("`{{nmae}}` is not filled"), "{e}");
        std::fs::write(
            dir.path().join("env-check.sh"),
            "test -n \"${{{name}}:-}\"\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("smoke-test.sh"),
            "docker inspect -f '{{.State.Status}} {{end}}' {{pull}}\n",
        )
        .unwrap();
        let t = Templates::with_overrides(Some(dir.path())).unwrap();
        assert!(t.get("env-check.sh").contains("{{name}}"));
    }

    #[test]
    fn every_builtin_placeholder_is_filled() {
        for (name, text) in BUILTIN {
            let filled = FILLED.iter().find(|(n, _)| n == name).unwrap().1;
            for ph in placeholders(&body(text)) {
                assert!(
                    filled.contains(&ph.as_str()) || name == &"smoke-test.sh" && ph == "end",
                    "{name}: {{{{{ph}}}}} is never filled"
                );
            }
        }
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
