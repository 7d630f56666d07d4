//! Which variables a service needs, and which its deployment gives it.
//!
//! Needs come from the app's code ([`crate::formats::envuse`]) over the
//! entry file and every module it reaches (workspace packages included),
//! from the Prisma datasource when that code imports the Prisma client, from
//! compose `${X:?}` and from `prodsafe.toml`. What a service gets comes from
//! its compose `environment` (list or mapping, `<<` merges resolved),
//! `env_file` (parsed with `dotenvy`), `${X:-default}` interpolation with
//! the `.env` beside the compose file, the image's `ENV`, and what its
//! entrypoint script assigns.

use std::collections::{HashMap, HashSet};

use crate::formats::envuse::{Need, Validation};
use crate::formats::yaml::{Kind, Node, YamlDoc};
use crate::inferred::Inferred;
use crate::project::model::Model as Project;

/// Front-end variables inlined at build time (never runtime needs).
pub fn build_time(name: &str) -> bool {
    name == "PUBLIC_URL"
        || [
            "REACT_APP_",
            "NEXT_PUBLIC_",
            "VITE_",
            "EXPO_PUBLIC_",
            "GATSBY_",
        ]
        .iter()
        .any(|p| name.starts_with(p))
}

/// What an app's code needs, over its whole module graph.
#[derive(Debug, Clone, Default)]
pub struct AppEnv {
    /// Read as a value on the path every start takes (or validated at start).
    pub required: Vec<Inferred<String>>,
    /// Read as a value on some paths only: unsure, so optional.
    pub maybe: Vec<Inferred<String>>,
    /// Validation the app already does: (file, validation).
    pub validations: Vec<(String, Validation)>,
    /// Some reachable module imports the Prisma client.
    pub imports_prisma: bool,
}

impl AppEnv {
    pub fn is_required(&self, name: &str) -> bool {
        self.required.iter().any(|r| r.value == name)
    }
    /// Names the app's own validation already checks.
    pub fn validated(&self, name: &str) -> bool {
        self.validations
            .iter()
            .any(|(_, v)| v.names.iter().any(|(n, _)| n == name))
    }
}

fn push(list: &mut Vec<Inferred<String>>, name: &str, source: String) {
    if !list.iter().any(|r| r.value == name) {
        list.push(Inferred {
            value: name.to_string(),
            source,
        });
    }
}

pub fn app_env(p: &Project, entry: &str) -> AppEnv {
    let mut out = AppEnv::default();
    let closure = p.app_closure(entry);
    // Functions that run at start: called by a module-level statement of
    // any reachable module, or by a function that runs at start (by name;
    // the calls are not checked for conditions).
    let mut runs: HashSet<&str> = closure
        .iter()
        .flat_map(|a| a.env.top_calls.iter().map(String::as_str))
        .collect();
    loop {
        let before = runs.len();
        for a in &closure {
            for (caller, callee) in &a.env.fn_calls {
                if runs.contains(caller.as_str()) {
                    runs.insert(callee.as_str());
                }
            }
        }
        if runs.len() == before {
            break;
        }
    }
    for a in &closure {
        let rel = &p.files[a.file].rel;
        out.imports_prisma |= a.env.imports_prisma;
        for u in &a.env.uses {
            if build_time(&u.name) {
                continue;
            }
            let runs = match &u.func {
                None => true,
                Some(f) => runs.contains(f.as_str()),
            };
            let src = format!("process.env.{} at {rel}:{}", u.name, u.line);
            match (u.need, runs) {
                (Need::Required, true) => push(&mut out.required, &u.name, src),
                (Need::Required, false) => push(
                    &mut out.maybe,
                    &u.name,
                    format!(
                        "{src} (in `{}()`, not known to run at start)",
                        u.func.as_deref().unwrap_or("")
                    ),
                ),
                (Need::Maybe, _) => push(&mut out.maybe, &u.name, format!("{src} ({})", u.why)),
                (Need::Optional, _) => {}
            }
        }
        for v in &a.env.validations {
            for (n, demands) in &v.names {
                if !demands || build_time(n) {
                    continue;
                }
                let src = format!("{} at {rel}:{}", v.kind.label(), v.line);
                let at_start = v.at_start || v.func.as_deref().is_some_and(|f| runs.contains(f));
                if at_start {
                    push(&mut out.required, n, src)
                } else {
                    push(&mut out.maybe, n, src)
                }
            }
            out.validations.push((rel.clone(), v.clone()));
        }
    }
    let req: HashSet<String> = out.required.iter().map(|r| r.value.clone()).collect();
    out.maybe.retain(|m| !req.contains(&m.value));
    out
}

/// A service's needs: (required, maybe), each with its source.
pub fn service_needs(
    p: &Project,
    service: &str,
    compose_rel: &str,
    required_interpolations: &[(String, usize)],
    env_keys: &[String],
    prisma: Option<&str>,
    app: Option<&AppEnv>,
) -> (Vec<Inferred<String>>, Vec<Inferred<String>>) {
    let cfg = p.config.service(service);
    let mut required = Vec::new();
    let mut maybe = Vec::new();
    // A service whose code imports the Prisma client uses its own schema,
    // else the repository's only one.
    let only_schema = (p.prisma.len() == 1).then(|| p.files[p.prisma[0].file].rel.clone());
    let prisma = match (prisma, app) {
        (Some(x), _) => Some(x.to_string()),
        (None, Some(a)) if a.imports_prisma => only_schema,
        _ => None,
    };
    let prisma = prisma.as_deref();
    if let Some(schema) = prisma.and_then(|r| p.prisma_schema(r)) {
        for (name, line) in &schema.env {
            let src = format!("prisma datasource at {}:{line}", prisma.unwrap_or(""));
            match app {
                Some(a) if a.imports_prisma => push(&mut required, name, src),
                Some(_) => {}
                // No app code to read: unsure.
                None => push(
                    &mut maybe,
                    name,
                    format!("{src} (no app code found to confirm)"),
                ),
            }
        }
    }
    for (name, line) in required_interpolations {
        // `KEY: ${X:?}` makes the host need X; the container gets KEY. Only
        // a variable passed under its own name is a need of the service.
        if !env_keys.iter().any(|k| k == name) {
            continue;
        }
        push(
            &mut required,
            name,
            format!("compose ${{{name}:?}} at {compose_rel}:{line}"),
        );
    }
    if let Some(a) = app {
        for r in &a.required {
            push(&mut required, &r.value, r.source.clone());
        }
        for r in &a.maybe {
            push(&mut maybe, &r.value, r.source.clone());
        }
    }
    if let Some(c) = cfg {
        for name in &c.required_env {
            push(&mut required, name, "prodsafe.toml".into());
        }
        required.retain(|r| !c.not_required_env.contains(&r.value));
        maybe.retain(|r| !c.not_required_env.contains(&r.value));
    }
    required.retain(|r| !build_time(&r.value));
    let req: HashSet<String> = required.iter().map(|r| r.value.clone()).collect();
    maybe.retain(|m| !req.contains(&m.value) && !build_time(&m.value));
    (required, maybe)
}

/// One variable a service's deployment sets.
#[derive(Debug, Clone)]
pub struct Given {
    pub name: String,
    /// The value after interpolation, when known (`None`: passed through
    /// from the host, `${X}` with no default and no `.env` value).
    pub value: Option<String>,
    pub source: String,
}

impl Given {
    /// Set to a non-empty value, or passed through from the host.
    pub fn non_empty(&self) -> bool {
        self.value.as_deref().is_none_or(|v| !v.is_empty())
    }
}

/// What a compose service's container gets.
#[derive(Debug, Clone, Default)]
pub struct ServiceEnv {
    pub given: Vec<Given>,
    /// `env_file` entries that do not exist: (path, compose line).
    /// `env_file` entries that do not exist: (path, compose line, an
    /// example file beside it).
    /// (also: the compose file that declares it, its line there)
    pub missing_env_files: Vec<(String, String, usize, Option<String>)>,
    /// `env_file` entries that could not be parsed: (path, message).
    pub bad_env_files: Vec<(String, String)>,
    /// Some source's contents are unknown (an `env_file` not in the repo,
    /// with no example beside it): a missing name may still be given.
    pub unknown: bool,
}

impl ServiceEnv {
    pub fn get(&self, name: &str) -> Option<&Given> {
        self.given.iter().rev().find(|g| g.name == name)
    }
    /// The deployment gives `name` a non-empty value (or passes it through).
    pub fn provides(&self, name: &str) -> bool {
        self.get(name).is_some_and(Given::non_empty)
    }
}

/// `.env` file contents read with dotenvy (no process-env side effects).
pub(crate) fn read_env_file(
    root: &std::path::Path,
    rel: &str,
) -> Result<Vec<(String, String)>, String> {
    let abs = root.join(rel);
    let iter = dotenvy::from_path_iter(&abs).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for item in iter {
        match item {
            Ok(kv) => out.push(kv),
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(out)
}

/// Interpolates `${X}`, `${X:-d}`, `${X-d}`, `${X:?m}`, `$X` with `vars`
/// (the `.env` beside the compose file). `None` when a variable with no
/// default is not in `vars` (the host decides).
pub fn interpolate(value: &str, vars: &HashMap<String, String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = value;
    let mut unknown = false;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
            continue;
        }
        if let Some(inner_start) = after.strip_prefix('{') {
            let Some(end) = inner_start.find('}') else {
                out.push_str(&rest[i..]);
                rest = "";
                break;
            };
            let inner = &inner_start[..end];
            rest = &inner_start[end + 1..];
            let name_end = inner
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(inner.len());
            let (name, op) = inner.split_at(name_end);
            let val = vars.get(name);
            match op {
                _ if op.starts_with(":-") => match val.filter(|v| !v.is_empty()) {
                    Some(v) => out.push_str(v),
                    None => out.push_str(&op[2..]),
                },
                _ if op.starts_with('-') => match val {
                    Some(v) => out.push_str(v),
                    None => out.push_str(&op[1..]),
                },
                _ => match val {
                    Some(v) => out.push_str(v),
                    None => unknown = true,
                },
            }
        } else {
            let name_end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if name_end == 0 {
                out.push('$');
                rest = after;
                continue;
            }
            match vars.get(&after[..name_end]) {
                Some(v) => out.push_str(v),
                None => unknown = true,
            }
            rest = &after[name_end..];
        }
    }
    out.push_str(rest);
    (!unknown).then_some(out)
}

/// `environment:` entries, merges (`<<: *anchor`) first so own keys win.
pub(crate) fn environment(
    doc: &YamlDoc,
    env: &Node,
    depth: usize,
) -> Vec<(String, Option<String>, usize)> {
    let env = doc.resolve(env);
    let mut out = Vec::new();
    if depth > 16 {
        return out;
    }
    match &env.kind {
        Kind::Map(entries) => {
            for src in doc.merge_sources(env) {
                out.extend(environment(doc, src, depth + 1));
            }
            for (k, v) in entries {
                let Some(k) = k.as_str() else { continue };
                if k == "<<" {
                    continue;
                }
                let v = doc.resolve(v);
                let val = match &v.kind {
                    Kind::Scalar { value, .. } if value == "~" || value == "null" => None,
                    Kind::Scalar { value, .. } => Some(value.clone()),
                    _ => None,
                };
                out.push((k.to_string(), val, v.line));
            }
        }
        Kind::Seq(items) => {
            for i in items {
                let i = doc.resolve(i);
                if let Some(s) = i.as_str() {
                    match s.split_once('=') {
                        Some((k, v)) => out.push((k.to_string(), Some(v.to_string()), i.line)),
                        None => out.push((s.to_string(), None, i.line)),
                    }
                }
            }
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation() {
        let vars: HashMap<String, String> =
            [("A".to_string(), "a".to_string()), ("E".into(), "".into())].into();
        assert_eq!(interpolate("${A}", &vars).as_deref(), Some("a"));
        assert_eq!(interpolate("${B:-x}", &vars).as_deref(), Some("x"));
        assert_eq!(interpolate("${E:-x}", &vars).as_deref(), Some("x"));
        assert_eq!(interpolate("${E-x}", &vars).as_deref(), Some(""));
        assert_eq!(interpolate("${B}", &vars), None);
        assert_eq!(interpolate("${B:?need B}", &vars), None);
        assert_eq!(interpolate("p$$q/$A", &vars).as_deref(), Some("p$q/a"));
        assert!(build_time("NEXT_PUBLIC_X") && build_time("PUBLIC_URL") && !build_time("PORT"));
    }
}
