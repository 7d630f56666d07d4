//! `check --add-ignores`: a baseline for adopting prodsafe on a large repo,
//! one suppression comment per finding line, written through the edit
//! engine (verified, atomic).

use crate::engine::{write_plan_files, RootRun};
use crate::finding::Safety;
use crate::plan;
use crate::render;
use crate::render::escape;

/// `check --add-ignores`: one comment per finding line, above it, in the
/// file's comment syntax and indentation, written through the edit engine.
pub fn add_ignores(runs: &[&RootRun], any_error: bool) -> i32 {
    use std::collections::BTreeMap;
    let mut code = if any_error { 2 } else { 0 };
    for r in runs {
        let p = &r.project;
        // One comment per insertion point (several findings can share one).
        let mut at_point: BTreeMap<(String, usize), (String, Vec<&str>)> = BTreeMap::new();
        for f in &r.findings {
            let Some(src) = p.file(&f.path) else { continue };
            let kind = p.by_rel.get(&f.path).map(|&i| p.kinds[i]);
            let marker = if matches!(
                kind,
                Some(crate::discover::FileKind::AppEntry | crate::discover::FileKind::AppModule)
            ) {
                "//"
            } else {
                "#"
            };
            // Below a shebang for line-1 findings; above the line otherwise.
            let (at, indent) = if f.line <= 1 && src.text.starts_with("#!") {
                (src.line_start(2), String::new())
            } else {
                let t = src.line_text(f.line.max(1));
                (
                    src.line_start(f.line.max(1)),
                    t[..t.len() - t.trim_start().len()].to_string(),
                )
            };
            let entry = at_point
                .entry((f.path.clone(), at))
                .or_insert_with(|| (format!("{indent}{marker}"), Vec::new()));
            if !entry.1.contains(&f.code) {
                entry.1.push(f.code);
            }
        }
        let mut synthetic = Vec::new();
        for ((path, at), (prefix, codes)) in at_point {
            let Some(src) = p.file(&path) else { continue };
            let eol = src.eol.as_str();
            let text = format!(
                "{prefix} prodsafe: ignore[{}] reason: baseline{eol}",
                codes.join(", ")
            );
            let mut f = crate::rules::ps001_unused_ignore::RULE.finding(
                &path,
                src.line_col(at).0,
                1,
                String::new(),
            );
            f.fix = Some(crate::finding::Fix {
                title: "baseline suppression".into(),
                safety: Safety::Safe,
                unsafe_reason: None,
                changes: vec![crate::finding::FileChange {
                    path: path.clone(),
                    edits: vec![crate::edit::insert_lines(src, at, &text)],
                    expect: vec![crate::finding::Expect::Reparse],
                }],
            });
            synthetic.push(f);
        }
        let plan = plan::plan(p, &synthetic, &|_, _| true);
        for fp in plan.errors() {
            code = 2;
            eprintln!(
                "error: {}: {}",
                escape(&render::text::display_path(p, &fp.path)),
                fp.error.as_deref().unwrap()
            );
        }
        for s in &plan.skipped {
            eprintln!(
                "skipped: {}: {}",
                escape(&render::text::display_path(p, &synthetic[s.finding].path)),
                s.reason
            );
        }
        for e in write_plan_files(p, &plan) {
            code = 2;
            eprintln!("error: {}", escape(&e));
        }
        let n = plan.fixed().len();
        println!(
            "added {n} suppression comment{} under {}",
            if n == 1 { "" } else { "s" },
            p.root.display()
        );
    }
    code
}
