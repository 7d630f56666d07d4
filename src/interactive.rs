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

/// The decisions so far. Fixes are decided in order: by an answer, by an
/// earlier `a`/`d`/`A`/`R`, or by the accepted fixes (the same change is
/// shared, a conflicting one skipped); the first one left needs a question.
/// Each answer advances it (linear over a session); `u` rebuilds it from
/// the remaining answers.
struct Session<'a> {
    run: &'a RootRun,
    order: &'a [usize],
    index: plan::Accepted,
    states: Vec<Option<State>>,
    file_rule: HashMap<&'a str, bool>,
    code_rule: HashMap<&'static str, bool>,
    pos: usize,
}

impl<'a> Session<'a> {
    fn new(run: &'a RootRun, order: &'a [usize]) -> Self {
        Session {
            run,
            order,
            index: plan::Accepted::default(),
            states: vec![None; order.len()],
            file_rule: HashMap::new(),
            code_rule: HashMap::new(),
            pos: 0,
        }
    }

    /// Replays `answers` from the start.
    fn replay(run: &'a RootRun, order: &'a [usize], answers: &[Answer]) -> Self {
        let mut s = Session::new(run, order);
        for a in answers {
            s.question();
            s.answer(*a);
        }
        s
    }

    fn fix(&self, pos: usize) -> (&'a Finding, &'a crate::finding::Fix, &'a str) {
        let f = &self.run.findings[self.order[pos]];
        let fix = f.fix.as_ref().unwrap();
        let file = fix.changes.first().map(|c| c.path.as_str()).unwrap_or("");
        (f, fix, file)
    }

    fn decide(&mut self, pos: usize, yes: bool) {
        let (_, fix, _) = self.fix(pos);
        self.states[pos] = Some(match (yes, self.index.check(fix)) {
            (false, _) => State::Skipped,
            (true, plan::Offer::Conflict(j)) => State::Conflict(j),
            (true, plan::Offer::Shared(j)) => State::Shared(j),
            (true, plan::Offer::New) => {
                self.index.add(self.order[pos], fix);
                State::Accepted
            }
        });
    }

    /// Decides what needs no question; the position of the next question.
    fn question(&mut self) -> Option<usize> {
        while self.pos < self.order.len() {
            let pos = self.pos;
            let (f, fix, file) = self.fix(pos);
            let auto = match self.index.check(fix) {
                plan::Offer::Shared(j) => Some(State::Shared(j)),
                plan::Offer::Conflict(j) => Some(State::Conflict(j)),
                plan::Offer::New => None,
            };
            if let Some(st) = auto {
                self.states[pos] = Some(st);
            } else {
                match self
                    .code_rule
                    .get(f.code)
                    .or_else(|| self.file_rule.get(file))
                    .copied()
                {
                    Some(yes) => self.decide(pos, yes),
                    None => return Some(pos),
                }
            }
            self.pos += 1;
        }
        None
    }

    /// Answers the current question.
    fn answer(&mut self, a: Answer) {
        let pos = self.pos;
        let (f, _, file) = self.fix(pos);
        match a {
            Answer::FileYes => {
                self.file_rule.insert(file, true);
            }
            Answer::FileNo => {
                self.file_rule.insert(file, false);
            }
            Answer::RuleYes => {
                self.code_rule.insert(f.code, true);
            }
            Answer::RuleNo => {
                self.code_rule.insert(f.code, false);
            }
            _ => {}
        }
        self.decide(
            pos,
            matches!(a, Answer::Yes | Answer::FileYes | Answer::RuleYes),
        );
        self.pos += 1;
    }
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
        let mut answers: Vec<Answer> = Vec::new();
        let mut asked: Vec<usize> = Vec::new();
        let mut session = Session::new(&run, &order);
        // Fixes before this position were announced (auto decisions).
        let mut announced = 0usize;
        let final_states = loop {
            let next = session.question();
            // Say once why fixes were decided without asking.
            let upto = next.unwrap_or(order.len());
            for p in announced..upto {
                if asked.contains(&p) {
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
                match session.states[p] {
                    Some(State::Shared(j)) => {
                        let _ = term.write_line(&format!(
                            "{at}: same change as the accepted fix for {}",
                            run.findings[j].code
                        ));
                    }
                    Some(State::Conflict(j)) => {
                        let _ = term.write_line(&format!(
                            "{at}: skipped, conflicts with the accepted fix for {} at line {}",
                            run.findings[j].code, run.findings[j].line
                        ));
                    }
                    _ => {}
                }
            }
            announced = announced.max(upto);
            let Some(pos) = next else {
                break session.states.clone();
            };
            if INTERRUPTED.load(Ordering::SeqCst) {
                stopped = Some("interrupted");
                break session.states.clone();
            }
            let i = order[pos];
            let f = &run.findings[i];
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
                        if answers.is_empty() {
                            let _ = term.write_line("Nothing to undo.");
                            continue;
                        }
                        let _ = term.write_line("Undid the last answer.");
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
                break session.states.clone();
            }
            match answer {
                Some(a) => {
                    session.answer(a);
                    answers.push(a);
                    asked.push(pos);
                }
                None => {
                    answers.pop();
                    asked.pop();
                    session = Session::replay(&run, &order, &answers);
                }
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

    use super::*;
    use crate::finding::{Edit, Expect, FileChange, Fix};

    fn fix_at(path: &str, at: usize, text: &str) -> crate::finding::Finding {
        let mut f = crate::rules::ent001_missing_nounset::RULE.finding(path, 2, 1, "x".into());
        f.fix = Some(Fix {
            title: "t".into(),
            safety: Safety::Safe,
            unsafe_reason: None,
            changes: vec![FileChange {
                path: path.into(),
                edits: vec![Edit {
                    start: at,
                    end: at,
                    text: text.into(),
                }],
                expect: vec![Expect::Reparse],
            }],
        });
        f
    }

    #[test]
    fn session_shares_skips_conflicts_and_undoes() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["a.sh", "b.sh"] {
            std::fs::write(dir.path().join(f), "#!/bin/sh\nset -e\nnode a.js\n").unwrap();
        }
        let common = Common {
            isolated: true,
            select: vec!["PS001".into()],
            ..Common::default()
        };
        let mut run = crate::engine::run_root(dir.path(), &common).unwrap();
        run.findings = vec![
            fix_at("a.sh", 16, "u"),
            fix_at("a.sh", 16, "u"),
            fix_at("a.sh", 16, "x"),
            fix_at("b.sh", 16, "u"),
            fix_at("b.sh", 10, "#"),
        ];
        let order: Vec<usize> = (0..5).collect();
        let mut s = Session::new(&run, &order);
        assert_eq!(s.question(), Some(0));
        s.answer(Answer::Yes);
        // 1 is the same change (shared), 2 conflicts with it.
        assert_eq!(s.question(), Some(3));
        assert_eq!(s.states[1], Some(State::Shared(0)));
        assert_eq!(s.states[2], Some(State::Conflict(0)));
        s.answer(Answer::FileNo);
        // The rest of b.sh is skipped without a question.
        assert_eq!(s.question(), None);
        assert_eq!(s.states[4], Some(State::Skipped));
        // Undo the last answer: back at 3, with 0 still accepted.
        let mut r = Session::replay(&run, &order, &[Answer::Yes]);
        assert_eq!(r.question(), Some(3));
        assert_eq!(r.states[0], Some(State::Accepted));
        let mut r = Session::replay(&run, &order, &[]);
        assert_eq!(r.question(), Some(0));
        // A rule answer covers later fixes of that rule in every file.
        let mut r = Session::new(&run, &order);
        r.question();
        r.answer(Answer::RuleNo);
        assert_eq!(r.question(), None);
        assert!(r.states.iter().all(|s| *s == Some(State::Skipped)));
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
