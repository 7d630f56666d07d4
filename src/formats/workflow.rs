//! GitHub Actions workflows: jobs, their matrix, and their steps, with the
//! YAML nodes kept for locating edits.

use crate::formats::yaml::{self, Node, YamlDoc};
use crate::source::{LoadError, SourceFile};

#[derive(Debug, Clone)]
pub struct Step {
    pub index: usize,
    pub node: Node,
    pub name: Option<String>,
    pub uses: Option<String>,
    pub run: Option<String>,
    /// `with:` entries as strings.
    pub with: Vec<(String, String)>,
    pub if_cond: Option<String>,
    pub line: usize,
}

impl Step {
    pub fn with(&self, k: &str) -> Option<&str> {
        self.with
            .iter()
            .find(|(x, _)| x == k)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub line: usize,
    pub node: Node,
    /// The `steps` sequence node.
    pub steps_node: Option<Node>,
    pub steps: Vec<Step>,
    pub if_cond: Option<String>,
    /// matrix key -> values (None when computed, e.g. `fromJSON(...)`).
    pub matrix: Vec<(String, Option<Vec<String>>, usize)>,
}

#[derive(Debug, Clone)]
pub struct Workflow {
    pub file: usize,
    pub doc: YamlDoc,
    /// Event names in `on:`.
    pub events: Vec<String>,
    pub jobs: Vec<Job>,
}

fn scalar_string(doc: &YamlDoc, n: &Node) -> Option<String> {
    doc.resolve(n).as_str().map(str::to_string)
}

pub fn parse(file: usize, src: &SourceFile) -> Result<Workflow, LoadError> {
    let mut docs = yaml::parse(src)?;
    let doc = if docs.is_empty() {
        return Err(LoadError {
            rel: src.rel.clone(),
            line: None,
            message: "empty workflow".into(),
        });
    } else {
        docs.remove(0)
    };
    let mut events = Vec::new();
    // `on` may be read as a key named "on" (YAML 1.2) or "true" (1.1).
    let on = doc
        .get(&doc.root, "on")
        .or_else(|| doc.get(&doc.root, "true"));
    if let Some(on) = on {
        if let Some(s) = on.as_str() {
            events.push(s.to_string());
        } else if on.is_seq() {
            events.extend(on.items().iter().filter_map(|i| scalar_string(&doc, i)));
        } else {
            events.extend(
                on.entries()
                    .iter()
                    .filter_map(|(k, _)| k.as_str().map(str::to_string)),
            );
        }
    }
    let mut jobs = Vec::new();
    if let Some(js) = doc.get(&doc.root, "jobs") {
        for (k, v) in js.entries() {
            let Some(id) = k.as_str() else { continue };
            let v = doc.resolve(v);
            let steps_node = doc.get(v, "steps").cloned();
            let mut steps = Vec::new();
            if let Some(sn) = &steps_node {
                for (i, st) in sn.items().iter().enumerate() {
                    let st = doc.resolve(st);
                    let g = |key: &str| doc.get(st, key).and_then(|x| scalar_string(&doc, x));
                    let with = doc
                        .get(st, "with")
                        .map(|w| {
                            w.entries()
                                .iter()
                                .filter_map(|(a, b)| {
                                    Some((a.as_str()?.to_string(), scalar_string(&doc, b)?))
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    steps.push(Step {
                        index: i,
                        node: st.clone(),
                        name: g("name"),
                        uses: g("uses"),
                        run: g("run"),
                        with,
                        if_cond: g("if"),
                        line: st.line,
                    });
                }
            }
            let mut matrix = Vec::new();
            if let Some(m) = doc.get(v, "strategy").and_then(|s| doc.get(s, "matrix")) {
                for (mk, mv) in m.entries() {
                    let Some(key) = mk.as_str() else { continue };
                    if key == "include" || key == "exclude" {
                        continue;
                    }
                    let mv = doc.resolve(mv);
                    let vals = if mv.is_seq() {
                        Some(
                            mv.items()
                                .iter()
                                .filter_map(|i| scalar_string(&doc, i))
                                .collect::<Vec<_>>(),
                        )
                    } else {
                        None
                    };
                    matrix.push((key.to_string(), vals, mk.line));
                }
                if let Some(inc) = doc.get(m, "include") {
                    for item in inc.items() {
                        for (ik, iv) in doc.resolve(item).entries() {
                            let (Some(key), Some(val)) = (ik.as_str(), scalar_string(&doc, iv))
                            else {
                                continue;
                            };
                            match matrix.iter_mut().find(|(k, _, _)| k == key) {
                                Some((_, Some(vals), _)) => {
                                    if !vals.contains(&val) {
                                        vals.push(val)
                                    }
                                }
                                Some((_, None, _)) => {}
                                None => matrix.push((key.to_string(), Some(vec![val]), iv.line)),
                            }
                        }
                    }
                }
                if matrix.is_empty() && m.as_str().is_some() {
                    // `matrix: ${{ fromJSON(needs.x.outputs.m) }}`
                    matrix.push(("*".into(), None, m.line));
                }
            }
            jobs.push(Job {
                id: id.to_string(),
                line: k.line,
                node: v.clone(),
                steps_node,
                steps,
                if_cond: doc.get(v, "if").and_then(|x| scalar_string(&doc, x)),
                matrix,
            });
        }
    }
    Ok(Workflow {
        file,
        doc,
        events,
        jobs,
    })
}
