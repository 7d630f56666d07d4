//! `prodsafe fix --interactive`: each fix shown with its rule, why it
//! matters, its safety and its diff, then one key, as `git add -p` asks:
//!
//! `y`/Enter apply, `n` skip, `a` apply the rest of this file, `d` skip the
//! rest of this file, `A`/`R` apply/skip every remaining fix of this rule,
//! `u` undo the last answer, `p` show the fix again, `q` quit, `?` help.
//!
//! Accepted fixes are never lost: `q`, Ctrl-C and the end of input all stop
//! the session and write what was accepted (verified, each file once), and
//! say so. A summary ends each root: applied, skipped, left.

use std::collections::{HashMap, HashSet};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use dialoguer::console::{Key, Term};

use crate::engine::{
    color_enabled, plan_diff, refusal, run_target, write_plan, Common, RootRun, Target,
};
use crate::finding::{Finding, Safety};
use crate::plan;
use crate::render::escape;

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

pub use crate::render::text::colorize;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Ctrl-C outside a prompt sets a flag instead of killing the process, so
/// the accepted fixes can still be written.
fn catch_sigint() {
    #[cfg(unix)]
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Yes,
    No,
    /// This one and the rest of its file.
    FileYes,
    FileNo,
    /// This one and every later fix of its rule.
    RuleYes,
    RuleNo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Accepted,
    Skipped,
    /// Skipped: conflicts with an accepted fix (index of its finding).
    Conflict(usize),
    /// Accepted: the same change as an accepted fix.
    Shared(usize),
}

/// The decisions implied by the answers so far (replayed from the start,
/// so `u` only has to drop the last answer), and the first fix that still
/// needs one.
struct Replay {
    states: Vec<Option<State>>,
    next: Option<usize>,
}

fn replay(run: &RootRun, order: &[usize], answers: &[(usize, Answer)]) -> Replay {
    let given: HashMap<usize, Answer> = answers.iter().copied().collect();
    let mut index = plan::Accepted::default();
    let mut states = vec![None; order.len()];
    let mut file_rule: HashMap<&str, bool> = HashMap::new();
    let mut code_rule: HashMap<&str, bool> = HashMap::new();
    for (pos, &i) in order.iter().enumerate() {
        let f = &run.findings[i];
        let fix = f.fix.as_ref().unwrap();
        let file = fix.changes.first().map(|c| c.path.as_str()).unwrap_or("");
        let offer = index.check(fix);
        let yes = match given.get(&pos) {
            Some(a) => {
                match a {
                    Answer::FileYes => {
                        file_rule.insert(file, true);
                    }
                    Answer::FileNo => {
                        file_rule.insert(file, false);
                    }
                    Answer::RuleYes => {
                        code_rule.insert(f.code, true);
                    }
                    Answer::RuleNo => {
                        code_rule.insert(f.code, false);
                    }
                    _ => {}
                }
                Some(matches!(a, Answer::Yes | Answer::FileYes | Answer::RuleYes))
            }
            None => match offer {
                plan::Offer::Shared(j) => {
                    states[pos] = Some(State::Shared(j));
                    continue;
                }
                plan::Offer::Conflict(j) => {
                    states[pos] = Some(State::Conflict(j));
                    continue;
                }
                plan::Offer::New => code_rule
                    .get(f.code)
                    .or_else(|| file_rule.get(file))
                    .copied(),
            },
        };
        match yes {
            None => {
                return Replay {
                    states,
                    next: Some(pos),
                }
            }
            Some(true) => match offer {
                plan::Offer::Conflict(j) => states[pos] = Some(State::Conflict(j)),
                plan::Offer::Shared(j) => states[pos] = Some(State::Shared(j)),
                plan::Offer::New => {
                    index.add(i, fix);
                    states[pos] = Some(State::Accepted);
                }
            },
            Some(false) => states[pos] = Some(State::Skipped),
        }
    }
    Replay { states, next: None }
}

const HELP: &str = "\
y, Enter - apply this fix
n - skip this fix
a - apply this fix and the rest of this file
d - skip this fix and the rest of this file
A - apply every remaining fix of this rule
R - skip every remaining fix of this rule
u - undo the last answer
p - show this fix again
q, Ctrl-C - stop here and write the fixes accepted so far
? - this help";

enum Key2 {
    Answer(Answer),
    Undo,
    Print,
    Help,
    Quit(&'static str),
}

fn read(term: &Term) -> Key2 {
    loop {
        if INTERRUPTED.load(Ordering::SeqCst) {
            return Key2::Quit("interrupted");
        }
        let key = match term.read_key_raw() {
            Ok(k) => k,
            Err(_) => return Key2::Quit("input closed"),
        };
        let c = match key {
            Key::Char(c) => c,
            Key::Enter => 'y',
            Key::CtrlC => return Key2::Quit("interrupted"),
            Key::Escape => 'q',
            Key::Unknown => return Key2::Quit("input closed"),
            _ => continue,
        };
        let _ = term.write_line(&c.to_string());
        return match c {
            'y' | 'Y' => Key2::Answer(Answer::Yes),
            'n' | 'N' => Key2::Answer(Answer::No),
            'a' => Key2::Answer(Answer::FileYes),
            'd' | 'D' => Key2::Answer(Answer::FileNo),
            'A' => Key2::Answer(Answer::RuleYes),
            'R' | 'r' => Key2::Answer(Answer::RuleNo),
            'u' | 'U' => Key2::Undo,
            'p' | 'P' => Key2::Print,
            'q' | 'Q' | '\u{4}' => Key2::Quit("quit"),
            '?' | 'h' => Key2::Help,
            _ => {
                let _ = term.write_line("unknown key; ? for help");
                let _ = term.write_str(PROMPT);
                continue;
            }
        };
    }
}

const PROMPT: &str = "Apply this fix? [y,n,a,d,A,R,u,p,q,?] ";

/// Lines of diff after which the header is repeated above the prompt.
const LONG_DIFF: usize = 15;

fn one_fix_diff(run: &RootRun, i: usize) -> Vec<u8> {
    let p = plan::plan(&run.project, &run.findings, &|j, _| j == i);
    plan_diff(run, &p)
}

fn show(term: &Term, run: &RootRun, i: usize, head: &str, color: bool) {
    let f: &Finding = &run.findings[i];
    let fix = f.fix.as_ref().unwrap();
    let bold = |s: &str| {
        if color {
            let st = anstyle::Style::new().effects(anstyle::Effects::BOLD);
            format!("{}{s}{}", st.render(), st.render_reset())
        } else {
            s.to_string()
        }
    };
    let _ = term.write_line("");
    let _ = term.write_line(&bold(head));
    let _ = term.write_line(&escape(&f.message));
    if let Some(r) = crate::rules::find(f.code) {
        let _ = term.write_line(&format!("Why: {}", why(r.doc)));
    }
    let safety = match fix.safety {
        Safety::Safe => "safe".to_string(),
        Safety::Unsafe => format!(
            "unsafe: {}",
            escape(
                fix.unsafe_reason
                    .as_deref()
                    .unwrap_or("it may change behaviour")
            )
        ),
    };
    let _ = term.write_line(&format!("Fix: {} ({safety})", escape(&fix.title)));
    let diff = colorize(&one_fix_diff(run, i), color);
    let _ = term.write_str(&diff);
    // Long diffs push the header off screen: repeat it above the prompt.
    let rows = usize::from(term.size().0);
    if diff.lines().count() > LONG_DIFF.min(rows.saturating_sub(8)) {
        let _ = term.write_line(&bold(&format!("^ {head}")));
    }
}

pub fn run(targets: &[Target], common: &Common, unsafe_fixes: bool) -> i32 {
    if !std::io::stdin().is_terminal() || !Term::stdout().is_term() {
        eprintln!("error: --interactive needs a terminal; use `prodsafe fix --diff` to review a patch, or `prodsafe fix` to apply the safe fixes");
        return 2;
    }
    catch_sigint();
    let color = color_enabled(common.color);
    let term = Term::stdout();
    let mut code = 0;
    let mut stopped: Option<&'static str> = None;
    for target in targets {
        if stopped.is_some() {
            break;
        }
        let run = match run_target(target, common) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                code = 2;
                continue;
            }
        };
        crate::engine::warn_unchecked(&run);
        for e in &run.errors() {
            eprintln!("error: {e}");
            code = 2;
        }
        let mut order: Vec<usize> = Vec::new();
        for (i, f) in run.findings.iter().enumerate() {
            if !f
                .fix
                .as_ref()
                .is_some_and(|x| x.safety == Safety::Safe || unsafe_fixes)
            {
                continue;
            }
            match refusal(&run, f) {
                Some(why) => eprintln!(
                    "skipped: {}:{}: {} {}",
                    escape(&crate::render::text::display_path(&run.project, &f.path)),
                    f.line,
                    f.code,
                    escape(&why)
                ),
                None => order.push(i),
            }
        }
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
        let mut answers: Vec<(usize, Answer)> = Vec::new();
        let mut shown: HashSet<usize> = HashSet::new();
        let final_states = loop {
            let r = replay(&run, &order, &answers);
            let Some(pos) = r.next else { break r.states };
            if INTERRUPTED.load(Ordering::SeqCst) {
                stopped = Some("interrupted");
                break r.states;
            }
            let i = order[pos];
            let f = &run.findings[i];
            // Say once why fixes before this one were decided without asking.
            for (p, s) in r.states.iter().enumerate().take(pos) {
                if !shown.insert(p) {
                    continue;
                }
                let g = &run.findings[order[p]];
                let at = format!(
                    "[{}/{total}] {} {}:{}",
                    p + 1,
                    g.code,
                    escape(&g.path),
                    g.line
                );
                match s {
                    Some(State::Shared(j)) if !answers.iter().any(|(q, _)| *q == p) => {
                        let _ = term.write_line(&format!(
                            "{at}: same change as the accepted fix for {}",
                            run.findings[*j].code
                        ));
                    }
                    Some(State::Conflict(j)) => {
                        let _ = term.write_line(&format!(
                            "{at}: skipped, conflicts with the accepted fix for {} at line {}",
                            run.findings[*j].code, run.findings[*j].line
                        ));
                    }
                    _ => {}
                }
            }
            let head = format!(
                "[{}/{total}] {} {} ({}) {}:{}",
                pos + 1,
                f.code,
                f.name,
                f.severity.as_str(),
                escape(&f.path),
                f.line
            );
            show(&term, &run, i, &head, color);
            let answer = loop {
                let _ = term.write_str(PROMPT);
                let _ = term.flush();
                match read(&term) {
                    Key2::Answer(a) => break Some(a),
                    Key2::Undo => {
                        if answers.pop().is_some() {
                            let _ = term.write_line("Undid the last answer.");
                        } else {
                            let _ = term.write_line("Nothing to undo.");
                            continue;
                        }
                        break None;
                    }
                    Key2::Print => {
                        show(&term, &run, i, &head, color);
                    }
                    Key2::Help => {
                        let _ = term.write_line(HELP);
                    }
                    Key2::Quit(why) => {
                        stopped = Some(why);
                        break None;
                    }
                }
            };
            if stopped.is_some() {
                break replay(&run, &order, &answers).states;
            }
            if let Some(a) = answer {
                answers.push((pos, a));
            }
        };
        let accepted: HashSet<usize> = final_states
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s, Some(State::Accepted | State::Shared(_))))
            .map(|(p, _)| order[p])
            .collect();
        let skipped = final_states
            .iter()
            .filter(|s| matches!(s, Some(State::Skipped | State::Conflict(_))))
            .count();
        let left = final_states.iter().filter(|s| s.is_none()).count();
        if let Some(why) = stopped {
            let _ = term.write_line(&format!(
                "\nStopped ({why}): writing the {} fix{} accepted so far.",
                accepted.len(),
                if accepted.len() == 1 { "" } else { "es" }
            ));
        }
        let p = plan::plan(&run.project, &run.findings, &|j, _| accepted.contains(&j));
        for fp in p.errors() {
            eprintln!(
                "error: {}: {}",
                escape(&fp.path),
                escape(fp.error.as_deref().unwrap_or(""))
            );
            code = 2;
        }
        let errors = write_plan(&run, &p);
        for e in &errors {
            eprintln!("error: {}", escape(e));
            code = 2;
        }
        let fixed = p.fixed().len();
        let files = p.changed().count() - errors.len();
        let _ = term.write_line(&format!(
            "\nApplied {fixed} fix{} to {files} file{} in {} (verified). Accepted {}, skipped {skipped}, left {left}.",
            if fixed == 1 { "" } else { "es" },
            if files == 1 { "" } else { "s" },
            escape(&target.root.display().to_string()),
            accepted.len(),
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

    #[test]
    fn diff_shows_controls_and_cr() {
        let d = b"--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\x1b[2J\r\n+b\r\n";
        let s = super::colorize(d, false);
        assert!(!s.contains('\u{1b}'), "{s:?}");
        assert!(s.contains("-a\\u{1b}[2J␍\n"), "{s:?}");
        assert!(s.contains("+b␍\n"));
        let c = super::colorize(d, true);
        assert!(c.contains("\u{1b}[32m+b"), "{c:?}");
    }
}
