//! `package.json`: scripts, dependencies by kind, workspaces, the package
//! manager it pins, and the `prisma.schema` setting. Read once per file;
//! rules resolve `npm run X` / `pnpm X` to the command a script runs.

use std::collections::BTreeMap;

use crate::source::{LoadError, SourceFile};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepKind {
    Prod,
    Dev,
    Optional,
    Peer,
}

#[derive(Debug, Clone, Default)]
pub struct PackageJson {
    pub file: usize,
    pub name: Option<String>,
    pub scripts: BTreeMap<String, String>,
    /// Package name -> (kind, version range), prod first when listed twice.
    pub deps: BTreeMap<String, (DepKind, String)>,
    /// Also listed under devDependencies while listed in dependencies.
    pub dev_too: Vec<String>,
    pub workspaces: Vec<String>,
    /// `packageManager` (`pnpm@9.12.3`).
    pub package_manager: Option<String>,
    /// `prisma.schema`.
    pub prisma_schema: Option<String>,
}

impl PackageJson {
    pub fn dep(&self, name: &str) -> Option<DepKind> {
        self.deps.get(name).map(|(k, _)| *k)
    }

    /// Whether the package is installed by a production-only install
    /// (`--prod`, `--omit=dev`).
    pub fn is_prod_dep(&self, name: &str) -> bool {
        matches!(self.dep(name), Some(DepKind::Prod | DepKind::Optional))
    }

    pub fn script(&self, name: &str) -> Option<&str> {
        self.scripts.get(name).map(String::as_str)
    }
}

pub fn is_package_json(rel: &str) -> bool {
    rel == "package.json" || rel.ends_with("/package.json")
}

pub fn parse(file: usize, src: &SourceFile) -> Result<PackageJson, LoadError> {
    let v: serde_json::Value = serde_json::from_str(&src.text).map_err(|e| LoadError {
        rel: src.rel.clone(),
        line: Some(e.line()),
        message: format!("package.json does not parse: {e}"),
    })?;
    let mut out = PackageJson {
        file,
        ..Default::default()
    };
    let Some(obj) = v.as_object() else {
        return Err(LoadError {
            rel: src.rel.clone(),
            line: Some(1),
            message: "package.json is not a JSON object".into(),
        });
    };
    let s = |k: &str| obj.get(k).and_then(|x| x.as_str()).map(str::to_string);
    out.name = s("name");
    out.package_manager = s("packageManager");
    if let Some(sc) = obj.get("scripts").and_then(|x| x.as_object()) {
        for (k, v) in sc {
            if let Some(v) = v.as_str() {
                out.scripts.insert(k.clone(), v.to_string());
            }
        }
    }
    // Later kinds never override an earlier (stronger) one.
    for (key, kind) in [
        ("dependencies", DepKind::Prod),
        ("optionalDependencies", DepKind::Optional),
        ("devDependencies", DepKind::Dev),
        ("peerDependencies", DepKind::Peer),
    ] {
        if let Some(d) = obj.get(key).and_then(|x| x.as_object()) {
            for (name, ver) in d {
                let ver = ver.as_str().unwrap_or("").to_string();
                if kind == DepKind::Dev && out.deps.contains_key(name) {
                    out.dev_too.push(name.clone());
                }
                out.deps.entry(name.clone()).or_insert((kind, ver));
            }
        }
    }
    match obj.get("workspaces") {
        Some(serde_json::Value::Array(a)) => {
            out.workspaces = a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        }
        Some(serde_json::Value::Object(o)) => {
            if let Some(a) = o.get("packages").and_then(|x| x.as_array()) {
                out.workspaces = a
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            }
        }
        _ => {}
    }
    out.prisma_schema = obj
        .get("prisma")
        .and_then(|x| x.get("schema"))
        .and_then(|x| x.as_str())
        .map(str::to_string);
    Ok(out)
}

/// Which script a command runs through a package manager, when it does:
/// `npm start`, `npm run start`, `npm run-script x`, `pnpm start`,
/// `pnpm run x`, `pnpm x`, `yarn x`, `yarn run x`. Returns the package
/// manager, the script name and the extra arguments passed to it (npm needs
/// `--` before them; pnpm and yarn pass them straight).
pub fn script_invocation(words: &[String]) -> Option<(String, String, Vec<String>)> {
    let (pm, rest) = words.split_first()?;
    let pm = pm.rsplit('/').next().unwrap_or(pm);
    if !matches!(pm, "npm" | "pnpm" | "yarn") {
        return None;
    }
    let (name, extra) = match rest {
        [verb, name, extra @ ..] if matches!(verb.as_str(), "run" | "run-script") => {
            (name.clone(), extra)
        }
        [verb, extra @ ..] if matches!(verb.as_str(), "start" | "test") => (verb.clone(), extra),
        [name, extra @ ..] if pm != "npm" && !name.starts_with('-') => {
            // pnpm/yarn run a script by its bare name unless it is one of
            // their own commands.
            if PM_COMMANDS.contains(&name.as_str()) {
                return None;
            }
            (name.clone(), extra)
        }
        _ => return None,
    };
    if name.starts_with('-') {
        return None;
    }
    let mut extra: Vec<String> = extra.to_vec();
    if pm == "npm" {
        match extra.first().map(String::as_str) {
            Some("--") => {
                extra.remove(0);
            }
            Some(_) => return None, // flags for npm itself
            None => {}
        }
    } else if extra.first().is_some_and(|w| w == "--") {
        extra.remove(0);
    }
    Some((pm.to_string(), name, extra))
}

/// Commands of pnpm and yarn that are not script names.
const PM_COMMANDS: &[&str] = &[
    "add",
    "audit",
    "bin",
    "cache",
    "config",
    "create",
    "deploy",
    "dlx",
    "exec",
    "fetch",
    "i",
    "import",
    "info",
    "init",
    "install",
    "link",
    "list",
    "ls",
    "outdated",
    "pack",
    "patch",
    "prune",
    "publish",
    "rebuild",
    "remove",
    "rm",
    "root",
    "set",
    "store",
    "unlink",
    "up",
    "update",
    "upgrade",
    "why",
    "workspace",
    "workspaces",
    "version",
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn reads_scripts_and_dependency_kinds() {
        let src = SourceFile::from_text(
            "package.json",
            Path::new("package.json"),
            r#"{"name":"api","scripts":{"start":"node dist/main.js","postinstall":"prisma generate"},
               "dependencies":{"@prisma/client":"5.0.0","prisma":"5.0.0"},
               "devDependencies":{"prisma":"5.0.0","typescript":"5"},
               "workspaces":{"packages":["apps/*"]},"prisma":{"schema":"db/schema.prisma"}}"#,
            0o644,
        );
        let p = parse(0, &src).unwrap();
        assert_eq!(p.script("start"), Some("node dist/main.js"));
        assert_eq!(p.dep("prisma"), Some(DepKind::Prod));
        assert_eq!(p.dev_too, vec!["prisma".to_string()]);
        assert_eq!(p.dep("typescript"), Some(DepKind::Dev));
        assert!(p.is_prod_dep("@prisma/client") && !p.is_prod_dep("typescript"));
        assert_eq!(p.workspaces, vec!["apps/*".to_string()]);
        assert_eq!(p.prisma_schema.as_deref(), Some("db/schema.prisma"));
        let bad = SourceFile::from_text("a/package.json", Path::new("x"), "{\n  \"a\": ,\n}", 0);
        let e = parse(0, &bad).unwrap_err();
        assert_eq!((e.rel.as_str(), e.line), ("a/package.json", Some(2)));
    }

    #[test]
    fn script_invocations() {
        let inv = |s: &str| script_invocation(&w(s)).map(|(pm, n, x)| (pm, n, x.join(" ")));
        assert_eq!(
            inv("npm run start"),
            Some(("npm".into(), "start".into(), "".into()))
        );
        assert_eq!(
            inv("npm start -- --port 3"),
            Some(("npm".into(), "start".into(), "--port 3".into()))
        );
        assert_eq!(inv("npm --silent start"), None);
        assert_eq!(inv("npm run start --silent"), None);
        assert_eq!(
            inv("pnpm start:prod"),
            Some(("pnpm".into(), "start:prod".into(), "".into()))
        );
        assert_eq!(
            inv("yarn run start x"),
            Some(("yarn".into(), "start".into(), "x".into()))
        );
        assert_eq!(inv("pnpm install"), None);
        assert_eq!(inv("pnpm exec prisma generate"), None);
        assert_eq!(inv("node dist/main.js"), None);
    }
}
