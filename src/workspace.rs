//! Workspace packages a module can import by name: pnpm / npm / yarn
//! workspaces (`pnpm-workspace.yaml`, `workspaces` in the root
//! `package.json`) and TypeScript `paths` (root `tsconfig*.json`). Bare
//! specifiers resolve to the package's source files, never `node_modules`.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::relpath::{join, parent};

#[derive(Debug, Clone, Default)]
pub struct Workspace {
    /// Package name -> its folder and entries; the source files the
    /// entries come from are worked out when an import names the package.
    packages: HashMap<String, Package>,
    /// tsconfig `paths`: (pattern, targets), targets root-relative.
    paths: Vec<(String, Vec<String>)>,
}

#[derive(Debug, Clone, Default)]
struct Package {
    dir: String,
    /// `exports`, `main`, `module`, ... as written.
    entries: Vec<String>,
    candidates: std::sync::OnceLock<Vec<String>>,
}

impl Package {
    fn new(dir: &str, entries: Vec<String>) -> Package {
        Package {
            dir: dir.to_string(),
            entries,
            candidates: Default::default(),
        }
    }
    /// [`entry_candidates`], once.
    fn candidates(&self) -> &[String] {
        self.candidates
            .get_or_init(|| entry_candidates(&self.dir, &self.entries))
    }
}

/// JSON with comments and trailing commas (tsconfig).
pub fn parse_jsonc(text: &str) -> Option<serde_json::Value> {
    // Plain JSON (nearly every package.json) needs no cleaning.
    if let Ok(v) = serde_json::from_str(text) {
        return Some(v);
    }
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    let mut in_str = false;
    while i < b.len() {
        let c = b[i];
        if in_str {
            out.push(c as char);
            if c == b'\\' && i + 1 < b.len() {
                out.push(b[i + 1] as char);
                i += 2;
                continue;
            }
            if c == b'"' {
                in_str = false;
            }
            i += 1;
            continue;
        }
        match c {
            b'"' => {
                in_str = true;
                out.push('"');
                i += 1;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            _ => {
                out.push(c as char);
                i += 1;
            }
        }
    }
    // Non-ASCII bytes were pushed one by one above: rebuild from the bytes.
    let bytes: Vec<u8> = out.chars().map(|c| c as u32 as u8).collect();
    let cleaned = String::from_utf8_lossy(&bytes).into_owned();
    // Trailing commas.
    static TRAILING: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r",(\s*[}\]])").unwrap());
    let cleaned = TRAILING.replace_all(&cleaned, "$1");
    serde_json::from_str(&cleaned).ok()
}

/// The workspace globs as one matcher (compiled once per repository).
fn glob_set(patterns: &[String]) -> globset::GlobSet {
    let mut b = globset::GlobSetBuilder::new();
    for p in patterns {
        if let Ok(g) = globset::Glob::new(p.trim_end_matches('/')) {
            b.add(g);
        }
    }
    b.build().unwrap_or_else(|_| globset::GlobSet::empty())
}

/// Source files a package entry (`dist/index.js`) comes from.
fn entry_candidates(dir: &str, entries: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |rel: &str| {
        if let Some(j) = join(dir, rel) {
            for c in crate::formats::appcode::resolve_import("x", &format!("./{j}")) {
                if !out.contains(&c) {
                    out.push(c);
                }
            }
        }
    };
    for e in entries {
        let e = e.trim_start_matches("./");
        add(e);
        let stem = e
            .trim_end_matches(".d.ts")
            .trim_end_matches(".js")
            .trim_end_matches(".cjs")
            .trim_end_matches(".mjs");
        for (from, to) in [
            ("dist/", "src/"),
            ("build/", "src/"),
            ("lib/", "src/"),
            ("out/", "src/"),
        ] {
            if let Some(rest) = stem.strip_prefix(from) {
                add(&format!("{to}{rest}"));
                // `dist/src/index.js` (rootDir above src)
                add(rest);
            }
        }
    }
    for d in ["src/index", "index", "src/main", "lib/index"] {
        add(d);
    }
    out
}

fn exports_entries(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Object(m) => {
            // `"."` first, then conditions.
            if let Some(dot) = m.get(".") {
                exports_entries(dot, out);
                return;
            }
            for k in [
                "source",
                "development",
                "import",
                "require",
                "node",
                "default",
                "types",
            ] {
                if let Some(x) = m.get(k) {
                    exports_entries(x, out);
                }
            }
        }
        _ => {}
    }
}

impl Workspace {
    /// `loaded` gives the text of a file the project already read (each
    /// file is read once); others are read here.
    pub fn load(
        root: &Path,
        all_paths: &HashSet<String>,
        loaded: &dyn Fn(&str) -> Option<String>,
    ) -> Workspace {
        let mut ws = Workspace::default();
        let read = |rel: &str| loaded(rel).or_else(|| std::fs::read_to_string(root.join(rel)).ok());
        // Workspace globs.
        let mut globs: Vec<String> = Vec::new();
        if let Some(t) = read("pnpm-workspace.yaml") {
            if let Ok(docs) = yaml_rust2::YamlLoader::load_from_str(&t) {
                if let Some(items) = docs.first().and_then(|d| d["packages"].as_vec()) {
                    globs.extend(items.iter().filter_map(|i| i.as_str().map(str::to_string)));
                }
            }
        }
        if let Some(v) = read("package.json").and_then(|t| parse_jsonc(&t)) {
            let w = &v["workspaces"];
            let list = w.as_array().or_else(|| w["packages"].as_array());
            if let Some(list) = list {
                globs.extend(list.iter().filter_map(|x| x.as_str().map(str::to_string)));
            }
        }
        let globs: Vec<String> = globs
            .into_iter()
            .filter(|g| !g.starts_with('!'))
            .map(|g| g.trim_start_matches("./").to_string())
            .collect();
        if !globs.is_empty() {
            let matcher = glob_set(&globs);
            for pj in all_paths
                .iter()
                .filter(|p| (p.ends_with("/package.json")) && !p.contains("node_modules/"))
            {
                let dir = parent(pj);
                if !matcher.is_match(dir) {
                    continue;
                }
                let Some(v) = read(pj).and_then(|t| parse_jsonc(&t)) else {
                    continue;
                };
                let Some(name) = v["name"].as_str() else {
                    continue;
                };
                let mut entries = Vec::new();
                exports_entries(&v["exports"], &mut entries);
                for k in ["source", "module", "main", "types", "typings"] {
                    if let Some(s) = v[k].as_str() {
                        entries.push(s.to_string());
                    }
                }
                ws.packages
                    .insert(name.to_string(), Package::new(dir, entries));
            }
        }
        // tsconfig paths (root configs; `extends` is not followed).
        for cfg in ["tsconfig.base.json", "tsconfig.json"] {
            let Some(v) = read(cfg).and_then(|t| parse_jsonc(&t)) else {
                continue;
            };
            let co = &v["compilerOptions"];
            let base = co["baseUrl"].as_str().unwrap_or(".");
            if let Some(paths) = co["paths"].as_object() {
                for (pat, targets) in paths {
                    let ts: Vec<String> = targets
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|t| t.as_str())
                                .filter_map(|t| join(base.trim_start_matches("./"), t))
                                .collect()
                        })
                        .unwrap_or_default();
                    if !ws.paths.iter().any(|(p, _)| p == pat) {
                        ws.paths.push((pat.clone(), ts));
                    }
                }
            }
        }
        ws
    }

    /// Candidate files for a bare specifier.
    pub fn resolve(&self, spec: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (pat, targets) in &self.paths {
            let sub = match pat.split_once('*') {
                Some((pre, post)) => spec
                    .strip_prefix(pre)
                    .and_then(|r| r.strip_suffix(post))
                    .map(str::to_string),
                None => (pat == spec).then(String::new),
            };
            if let Some(sub) = sub {
                for t in targets {
                    let t = t.replace('*', &sub);
                    out.extend(crate::formats::appcode::resolve_import(
                        "x",
                        &format!("./{t}"),
                    ));
                }
            }
        }
        // `@scope/name` or `name`, then an optional subpath.
        let parts: Vec<&str> = spec.splitn(3, '/').collect();
        let (name, rest) = if spec.starts_with('@') && parts.len() >= 2 {
            (format!("{}/{}", parts[0], parts[1]), parts.get(2).copied())
        } else {
            (parts[0].to_string(), spec.split_once('/').map(|(_, r)| r))
        };
        if let Some(pkg) = self.packages.get(&name) {
            let dir = &pkg.dir;
            match rest {
                None => out.extend(pkg.candidates().iter().cloned()),
                Some(r) => {
                    for base in [r.to_string(), format!("src/{r}")] {
                        if let Some(j) = join(dir, &base) {
                            out.extend(crate::formats::appcode::resolve_import(
                                "x",
                                &format!("./{j}"),
                            ));
                        }
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_json_strings_are_kept_whole() {
        // Valid JSON is read as is: no comment or trailing-comma cleaning
        // inside its strings.
        let v = parse_jsonc("{\"d\": \"a, ] and // b /* c */\"}").unwrap();
        assert_eq!(v["d"], "a, ] and // b /* c */");
    }

    #[test]
    fn jsonc_and_resolution() {
        let v = parse_jsonc("{\n // c\n \"a\": [\"x//y\", /* z */ 1,],\n}\n").unwrap();
        assert_eq!(v["a"][0], "x//y");
        let mut ws = Workspace::default();
        ws.packages.insert(
            "@acme/sdk".into(),
            Package::new("packages/sdk", vec!["./dist/index.js".into()]),
        );
        ws.paths
            .push(("@lib/*".into(), vec!["libs/*/src/index.ts".into()]));
        assert!(ws
            .resolve("@acme/sdk")
            .contains(&"packages/sdk/src/index.ts".to_string()));
        assert!(ws
            .resolve("@acme/sdk/util")
            .contains(&"packages/sdk/src/util.ts".to_string()));
        assert!(ws
            .resolve("@lib/db")
            .contains(&"libs/db/src/index.ts".to_string()));
        assert!(ws.resolve("express").is_empty());
    }
}
