//! The code shape the project promises: no import cycles between modules.
//! Every `crate::a::b` path in a module's code (comments and tests left
//! out) is an edge to the deepest module it names; a module declaring its
//! own children is not an edge. The graph must have no cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn modules() -> BTreeMap<String, String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let rel = p.strip_prefix(&src).unwrap().with_extension("");
            let mut name = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("::");
            if let Some(parent) = name.strip_suffix("::mod") {
                name = parent.to_string();
            }
            let text = std::fs::read_to_string(&p).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap();
            let code: String = code
                .lines()
                .map(|l| l.split("//").next().unwrap())
                .collect::<Vec<_>>()
                .join("\n");
            out.insert(name, code);
        }
    }
    out
}

fn edges(mods: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let re = regex::Regex::new(r"crate::([A-Za-z0-9_:]+)(?:::\{([^}]*)\})?").unwrap();
    let resolve = |path: &str| -> Option<String> {
        let parts: Vec<&str> = path.trim_end_matches(':').split("::").collect();
        (1..=parts.len())
            .rev()
            .map(|i| parts[..i].join("::"))
            .find(|c| mods.contains_key(c))
    };
    let mut g = BTreeMap::new();
    for (m, code) in mods {
        let set: &mut BTreeSet<String> = g.entry(m.clone()).or_default();
        for c in re.captures_iter(code) {
            let base = c[1].trim_end_matches(':').to_string();
            let targets: Vec<String> = match c.get(2) {
                Some(list) => list
                    .as_str()
                    .split(',')
                    .map(|x| {
                        x.trim()
                            .split(' ')
                            .next()
                            .unwrap()
                            .split("::")
                            .next()
                            .unwrap()
                            .to_string()
                    })
                    .filter(|x| !x.is_empty() && x != "self")
                    .map(|x| format!("{base}::{x}"))
                    .chain([base.clone()])
                    .collect(),
                None => vec![base],
            };
            for t in targets {
                if let Some(r) = resolve(&t) {
                    if r != *m && !r.starts_with(&format!("{m}::")) {
                        set.insert(r);
                    }
                }
            }
        }
    }
    g
}

#[test]
fn modules_do_not_import_each_other_in_a_cycle() {
    let mods = modules();
    assert!(mods.contains_key("engine") && mods.contains_key("rules::cmp001_missing_healthcheck"));
    let g = edges(&mods);
    // Find a cycle by depth-first search with colours.
    fn visit<'a>(
        n: &'a str,
        g: &'a BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<&'a str, u8>,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        state.insert(n, 1);
        path.push(n);
        for m in g.get(n).into_iter().flatten() {
            match state.get(m.as_str()) {
                Some(1) => {
                    let at = path.iter().position(|x| *x == m).unwrap();
                    let mut cycle: Vec<String> = path[at..].iter().map(|s| s.to_string()).collect();
                    cycle.push(m.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(m, g, state, path) {
                        return Some(c);
                    }
                }
            }
        }
        path.pop();
        state.insert(n, 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in g.keys() {
        if !state.contains_key(n.as_str()) {
            if let Some(c) = visit(n, &g, &mut state, &mut Vec::new()) {
                panic!("import cycle: {}", c.join(" -> "));
            }
        }
    }
    // The layers named in the README hold: the engine never reaches up.
    for low in ["engine", "batch", "interactive", "check", "commands"] {
        assert!(!g[low].contains("cli"), "{low} imports cli");
    }
    assert!(!g["engine"].contains("batch") && !g["engine"].contains("interactive"));
}
