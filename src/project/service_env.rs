//! What each compose service's container gets (image `ENV`, entrypoint
//! exports, `env_file`, `environment`, `.env` files the app loads): built
//! on the model and the graph, once per project, indexed like
//! `graph.services`.

use std::collections::HashMap;

use crate::env::{environment, interpolate, read_env_file, Given, ServiceEnv};
use crate::formats::yaml::Kind;
use crate::graph::Graph;
use crate::project::model::{join, parent, Model};

/// Resolves what every compose service gets (indexed like `graph.services`).
pub fn resolve_services(p: &Model, graph: &Graph) -> Vec<ServiceEnv> {
    let mut dotenv_cache: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut out = Vec::with_capacity(graph.services.len());
    for s in &graph.services {
        let compose = &p.compose[s.compose];
        let svc = &compose.services[s.index];
        let dir = parent(&s.compose_rel).to_string();
        let dot = dotenv_cache
            .entry(dir.clone())
            .or_insert_with(|| {
                let rel = join(&dir, ".env").unwrap_or_else(|| ".env".into());
                read_env_file(&p.root, &rel)
                    .map(|v| v.into_iter().collect())
                    .unwrap_or_default()
            })
            .clone();
        let mut se = ServiceEnv::default();
        // Image ENV first, then env_file, then environment (compose order
        // of precedence: environment > env_file > image).
        if let Some(df) = s.dockerfile.as_deref().and_then(|d| p.dockerfile(d)) {
            if let Some(st) = df.final_stage() {
                for (k, v) in df.env(st) {
                    se.given.push(Given {
                        name: k,
                        value: Some(v),
                        source: format!("ENV in {}", s.dockerfile.as_deref().unwrap_or("")),
                    });
                }
            }
        }
        // Variables the entrypoint script assigns (exported before exec).
        if let Some(img) = s.dockerfile.as_deref().and_then(|d| graph.image(d)) {
            if let (Some(sc), Some(f)) = (
                img.entry_script.as_deref().and_then(|r| p.script(r)),
                img.entry_script.as_deref().and_then(|r| p.file(r)),
            ) {
                let exported = |n: &str| {
                    f.text.lines().any(|l| {
                        let l = l.trim_start();
                        l.strip_prefix("export ").is_some_and(|r| {
                            r.split_whitespace()
                                .any(|w| w == n || w.starts_with(&format!("{n}=")))
                        })
                    })
                };
                // Only what every run of the script sets (not under a
                // condition) is certainly given to the app.
                for a in sc
                    .assigned
                    .iter()
                    .filter(|a| a.branches.is_empty() && exported(&a.name))
                {
                    se.given.push(Given {
                        name: a.name.clone(),
                        value: None,
                        source: format!("set by {}", img.entry_script.as_deref().unwrap_or("")),
                    });
                }
            }
        }
        // `.env` files the app itself loads with dotenv, in its folder.
        if let (Some(entry), Some(dir)) = (s.app_entry.as_deref(), s.service_dir.as_deref()) {
            if p.app_closure(entry).iter().any(|a| !a.env.loads.is_empty()) {
                for sub in ["", "src/"] {
                    for name in [".env", ".env.production"] {
                        let Some(rel) = join(dir, &format!("{sub}{name}")) else {
                            continue;
                        };
                        if let Ok(kvs) = read_env_file(&p.root, &rel) {
                            for (k, v) in kvs {
                                se.given.push(Given {
                                    name: k,
                                    value: Some(v),
                                    source: format!("{rel}, loaded by the app with dotenv"),
                                });
                            }
                        }
                    }
                }
            }
        }
        // The services it `extends` (farthest first), then itself.
        let mut chain: Vec<(usize, &crate::formats::compose::Service)> = vec![(s.compose, svc)];
        let mut cur = (s.compose, svc);
        for _ in 0..8 {
            let Some((file, name)) = &cur.1.extends else {
                break;
            };
            let target = match file {
                None => Some(cur.0),
                Some(f) => join(parent(&p.files[p.compose[cur.0].file].rel), f)
                    .and_then(|rel| p.compose.iter().position(|c| p.files[c.file].rel == rel)),
            };
            let Some(tc) = target else { break };
            let Some(next) = p.compose[tc].services.iter().find(|x| x.name == *name) else {
                break;
            };
            if chain.iter().any(|(c, x)| *c == tc && x.name == next.name) {
                break;
            }
            chain.push((tc, next));
            cur = (tc, next);
        }
        for (ci, x) in chain.iter().rev() {
            let doc = &p.compose[*ci].doc;
            let dir = parent(&p.files[p.compose[*ci].file].rel).to_string();
            let node = doc.resolve(&x.node);
            if let Some(ef) = doc.get(node, "env_file") {
                let items: Vec<(String, bool, usize)> = match &doc.resolve(ef).kind {
                    Kind::Scalar { value, .. } => vec![(value.clone(), true, ef.line)],
                    Kind::Seq(items) => items
                        .iter()
                        .filter_map(|i| {
                            let i = doc.resolve(i);
                            if let Some(v) = i.as_str() {
                                return Some((v.to_string(), true, i.line));
                            }
                            let path = doc.get(i, "path")?.as_str()?.to_string();
                            let required = doc
                                .get(i, "required")
                                .and_then(|r| r.as_str())
                                .is_none_or(|r| r != "false");
                            Some((path, required, i.line))
                        })
                        .collect(),
                    _ => vec![],
                };
                for (path, required, line) in items {
                    let path = interpolate(&path, &dot).unwrap_or(path);
                    let Some(rel) = join(&dir, &path) else {
                        continue;
                    };
                    if !p.root.join(&rel).is_file() {
                        // The names of its example (`.env.example` beside it):
                        // what the operator is told to provide.
                        let example = [".example", ".sample", ".template", ".dist"]
                            .iter()
                            .map(|x| format!("{rel}{x}"))
                            .chain(std::iter::once(
                                join(parent(&rel), ".env.example").unwrap_or_default(),
                            ))
                            .find(|x| p.root.join(x).is_file());
                        if required {
                            se.missing_env_files.push((
                                rel.clone(),
                                p.files[p.compose[*ci].file].rel.clone(),
                                line,
                                example.clone(),
                            ));
                        }
                        match example.and_then(|x| read_env_file(&p.root, &x).ok().map(|v| (x, v)))
                        {
                            Some((x, kvs)) => {
                                for (k, _) in kvs {
                                    se.given.push(Given {
                                        name: k,
                                        value: None,
                                        source: format!(
                                            "env_file {rel} (not in the repo; names from {x})"
                                        ),
                                    });
                                }
                            }
                            None => se.unknown = true,
                        }
                        continue;
                    }
                    match read_env_file(&p.root, &rel) {
                        Ok(kvs) => {
                            for (k, v) in kvs {
                                se.given.push(Given {
                                    name: k,
                                    value: Some(v),
                                    source: format!("env_file {rel}"),
                                });
                            }
                        }
                        Err(e) => se.bad_env_files.push((rel, e)),
                    }
                }
            }
        }
        for (ci, x) in chain.iter().rev() {
            let cdoc = &p.compose[*ci].doc;
            let rel = &p.files[p.compose[*ci].file].rel;
            let Some(env) = cdoc.get(cdoc.resolve(&x.node), "environment") else {
                continue;
            };
            for (k, v, line) in environment(cdoc, env, 0) {
                let value = match v {
                    // `- X` / `X:` with no value: taken from the host shell
                    // (or the `.env` beside the compose file).
                    None => dot.get(&k).cloned(),
                    Some(v) => interpolate(&v, &dot),
                };
                se.given.push(Given {
                    name: k,
                    value,
                    source: format!("environment in {rel}:{line}"),
                });
            }
        }
        out.push(se);
    }
    out
}
