//! `prodsafe fix --interactive`: each fix shown with its rule, why it
//! matters, its safety and its diff; keys as in ast-grep: `y` yes, `n` no,
//! `a` this and all the rest, `A` all of this rule, `q` quit (keeping what
//! was accepted). Accepted fixes are verified and each file is written once.

use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use dialoguer::console::{style, Key, Term};

use crate::engine::{color_enabled, plan_diff, run_root, write_plan, Common, RootRun};
use crate::finding::{Finding, Safety};
use crate::plan;

/// The first paragraph of a rule doc's "Why" section.
pub fn why(doc: &str) -> String {
    doc.split("## Why")
        .nth(1)
        .and_then(|s| s.split_once('\n').map(|(_, rest)| rest))
        .map(|s| {
            s.trim_start()
                .split("\n\n")
                .next()
                .unwrap_or("")
                .replace('\n', " ")
        })
        .unwrap_or_default()
}

fn colorize(diff: &[u8], color: bool) -> String {
    let text = String::from_utf8_lossy(diff);
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let shown = line.replace('\r', "␍");
        let s = if !color {
            shown
        } else if line.starts_with("+++") || line.starts_with("---") {
            style(shown).bold().force_styling(true).to_string()
        } else if line.starts_with('+') {
            style(shown).green().force_styling(true).to_string()
        } else if line.starts_with('-') {
            style(shown).red().force_styling(true).to_string()
        } else if line.starts_with("@@") {
            style(shown).cyan().force_styling(true).to_string()
        } else {
            shown
        };
        out.push_str(&s);
    }
    out
}

enum Decision {
    Yes,
    No,
    All,
    AllOfRule,
    Quit,
}

fn ask(term: &Term, code: &str) -> std::io::Result<Decision> {
    loop {
        term.write_str(&format!(
            "Apply this fix? [y]es [n]o [a]ll [A]ll {code} [q]uit: "
        ))?;
        term.flush()?;
        let key = term.read_key()?;
        let c = match key {
            Key::Char(c) => c,
            Key::Escape => 'q',
            Key::Enter => continue,
            _ => continue,
        };
        term.write_line(&c.to_string())?;
        return Ok(match c {
            'y' | 'Y' => Decision::Yes,
            'n' | 'N' => Decision::No,
            'a' => Decision::All,
            'A' => Decision::AllOfRule,
            'q' | 'Q' => Decision::Quit,
            _ => continue,
        });
    }
}

fn one_fix_diff(run: &RootRun, i: usize) -> Vec<u8> {
    let p = plan::plan(&run.project, &run.findings, &|j, _| j == i);
    plan_diff(run, &p)
}

pub fn run(roots: &[PathBuf], common: &Common, unsafe_fixes: bool) -> i32 {
    if !std::io::stdin().is_terminal() || !Term::stdout().is_term() {
        eprintln!("error: --interactive needs a terminal; use `prodsafe fix --diff` to review a patch, or `prodsafe fix` to apply the safe fixes");
        return 2;
    }
    let color = color_enabled(common.color);
    let term = Term::stdout();
    let mut code = 0;
    let mut quit = false;
    for root in roots {
        if quit {
            break;
        }
        let run = match run_root(root, common) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                code = 2;
                continue;
            }
        };
        for e in &run.project.errors {
            eprintln!("error: {e}");
            code = 2;
        }
        let mut order: Vec<usize> = (0..run.findings.len())
            .filter(|&i| {
                run.findings[i]
                    .fix
                    .as_ref()
                    .is_some_and(|f| f.safety == Safety::Safe || unsafe_fixes)
            })
            .collect();
        order.sort_by_key(|&i| {
            let f = run.findings[i].fix.as_ref().unwrap();
            let first = f.changes.first();
            (
                first.map(|c| c.path.clone()),
                first.and_then(|c| c.edits.first()).map(|e| e.start),
                i,
            )
        });
        let total = order.len();
        let mut accepted: Vec<usize> = Vec::new();
        let mut index = plan::Accepted::default();
        let mut all = false;
        let mut all_codes: HashSet<&str> = HashSet::new();
        for (n, &i) in order.iter().enumerate() {
            let f: &Finding = &run.findings[i];
            let fix = f.fix.as_ref().unwrap();
            match index.check(fix) {
                plan::Offer::Shared(j) => {
                    let _ = term.write_line(&format!(
                        "[{}/{total}] {} {}: same change as the accepted fix for {}",
                        n + 1,
                        f.code,
                        f.path,
                        run.findings[j].code
                    ));
                    accepted.push(i);
                    continue;
                }
                plan::Offer::Conflict(j) => {
                    let _ = term.write_line(&format!("[{}/{total}] {} {}:{}: skipped, conflicts with the accepted fix for {} at line {}", n + 1, f.code, f.path, f.line, run.findings[j].code, run.findings[j].line));
                    continue;
                }
                plan::Offer::New => {}
            }
            if all || all_codes.contains(f.code) {
                index.add(i, fix);
                accepted.push(i);
                continue;
            }
            let rule = crate::rules::find(f.code);
            let head = format!(
                "[{}/{total}] {} {} ({}) {}:{}",
                n + 1,
                f.code,
                f.name,
                f.severity.as_str(),
                f.path,
                f.line
            );
            let _ = term.write_line("");
            let _ = term.write_line(&if color {
                style(head).bold().force_styling(true).to_string()
            } else {
                head
            });
            let _ = term.write_line(&f.message);
            if let Some(r) = rule {
                let _ = term.write_line(&format!("Why: {}", why(r.doc)));
            }
            let safety = match fix.safety {
                Safety::Safe => "safe".to_string(),
                Safety::Unsafe => format!(
                    "unsafe: {}",
                    fix.unsafe_reason
                        .as_deref()
                        .unwrap_or("it may change behaviour")
                ),
            };
            let _ = term.write_line(&format!("Fix: {} ({safety})", fix.title));
            let _ = term.write_str(&colorize(&one_fix_diff(&run, i), color));
            match ask(&term, f.code) {
                Ok(Decision::Yes) => {
                    index.add(i, fix);
                    accepted.push(i);
                }
                Ok(Decision::No) => {}
                Ok(Decision::All) => {
                    all = true;
                    index.add(i, fix);
                    accepted.push(i);
                }
                Ok(Decision::AllOfRule) => {
                    all_codes.insert(f.code);
                    index.add(i, fix);
                    accepted.push(i);
                }
                Ok(Decision::Quit) | Err(_) => {
                    quit = true;
                    break;
                }
            }
        }
        let accepted_set: HashSet<usize> = accepted.into_iter().collect();
        let p = plan::plan(&run.project, &run.findings, &|j, _| {
            accepted_set.contains(&j)
        });
        for fp in p.errors() {
            eprintln!("error: {}: {}", fp.path, fp.error.as_deref().unwrap_or(""));
            code = 2;
        }
        for e in write_plan(&run, &p) {
            eprintln!("error: {e}");
            code = 2;
        }
        let fixed = p.fixed().len();
        let files = p.changed().count();
        let _ = term.write_line(&format!(
            "\nApplied {fixed} fix{} to {files} file{} in {}.",
            if fixed == 1 { "" } else { "es" },
            if files == 1 { "" } else { "s" },
            root.display()
        ));
        let _ = std::io::stdout().flush();
    }
    code
}

#[cfg(test)]
mod tests {
    #[test]
    fn why_paragraph() {
        let d = "## What it checks\nx\n\n## Why it breaks production\nFirst line\nsecond.\n\nMore.\n\n## Fix\ny";
        assert_eq!(super::why(d), "First line second.");
    }
}
