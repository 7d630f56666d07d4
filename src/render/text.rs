//! Human output in the style of ruff: a header line, a code frame that
//! underlines the whole span (annotate-snippets: tabs expanded, control
//! characters made visible), a fix note, the rule's doc link, and a
//! summary. Everything taken from a repository is escaped before it is
//! printed.

use std::fmt::Write;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use anstyle::{AnsiColor, Effects, Style};

use crate::finding::{Finding, Safety, Severity};
use crate::project::Project;
use crate::render::escape;

pub struct Styles {
    pub color: bool,
}

impl Styles {
    pub fn new(color: bool) -> Styles {
        Styles { color }
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }

    pub fn bold(&self, text: &str) -> String {
        self.paint(Style::new().effects(Effects::BOLD), text)
    }

    pub fn severity(&self, sev: Severity, text: &str) -> String {
        self.paint(severity_style(sev), text)
    }

    pub fn ok(&self, text: &str) -> String {
        self.paint(AnsiColor::Green.on_default(), text)
    }

    pub fn dim(&self, text: &str) -> String {
        self.paint(Style::new().effects(Effects::DIMMED), text)
    }
}

pub fn severity_style(sev: Severity) -> Style {
    match sev {
        Severity::Critical => AnsiColor::BrightRed.on_default().effects(Effects::BOLD),
        Severity::High => AnsiColor::Red.on_default().effects(Effects::BOLD),
        Severity::Medium => AnsiColor::Yellow.on_default().effects(Effects::BOLD),
        Severity::Low => AnsiColor::BrightBlue.on_default().effects(Effects::BOLD),
    }
}

fn level(sev: Severity) -> Level<'static> {
    match sev {
        Severity::Critical | Severity::High => Level::ERROR,
        Severity::Medium => Level::WARNING,
        Severity::Low => Level::INFO,
    }
}

pub fn display_path(p: &Project, rel: &str) -> String {
    let root = p.root.to_string_lossy();
    if root == "." || root.is_empty() {
        rel.to_string()
    } else {
        format!("{}/{}", root.trim_end_matches('/'), rel)
    }
}

/// Most lines a code frame shows; a longer span is shown from its start.
const MAX_FRAME_LINES: usize = 6;

/// The code frame of a finding (empty when its file or line is unknown).
pub fn frame(p: &Project, f: &Finding, color: bool) -> String {
    let Some(src) = p.file(&f.path) else {
        return String::new();
    };
    if f.line == 0 || f.line > src.line_count() {
        return String::new();
    }
    let last = f
        .end_line
        .clamp(f.line, src.line_count())
        .min(f.line + MAX_FRAME_LINES - 1);
    // The lines shown, C1 controls replaced (annotate-snippets makes C0,
    // DEL and bidi controls visible itself).
    let lines: Vec<String> = (f.line..=last)
        .map(|l| {
            src.line_text(l)
                .trim_end_matches('\r')
                .chars()
                .map(|c| {
                    if ('\u{80}'..='\u{9f}').contains(&c) {
                        '\u{fffd}'
                    } else {
                        c
                    }
                })
                .collect()
        })
        .collect();
    let text = lines.join("\n");
    // Byte offset of a 1-based (line, char column) inside `text`.
    let offset = |line: usize, col: usize| -> usize {
        let i = line - f.line;
        let before: usize = lines[..i].iter().map(|l| l.len() + 1).sum();
        let l = &lines[i];
        before
            + l.char_indices()
                .nth(col.saturating_sub(1))
                .map(|(b, _)| b)
                .unwrap_or(l.len())
    };
    let start = offset(f.line, f.column.max(1));
    let mut end = if f.end_line > last {
        text.len()
    } else {
        offset(last, f.end_column.max(1))
    };
    if end <= start {
        end = (start + 1).min(text.len()).max(start);
    }
    let label = escape(f.name);
    let group = Group::with_level(level(f.severity)).element(
        Snippet::source(text.as_str())
            .line_start(f.line)
            .annotation(
                AnnotationKind::Primary
                    .span(start..end)
                    .label(label.as_ref()),
            ),
    );
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    renderer.render(&[group])
}

/// The `= fix: ...` / `= no fix: ...` and `= docs: ...` notes.
fn notes(f: &Finding, st: &Styles, pad: &str) -> String {
    let mut out = String::new();
    for r in &f.related {
        let _ = writeln!(
            out,
            "{pad}= also: {} at {}:{}",
            r.code,
            escape(&r.path),
            r.line
        );
    }
    match (&f.fix, &f.no_fix_reason) {
        (Some(fix), _) => {
            let safety = match fix.safety {
                Safety::Safe => "safe fix".to_string(),
                Safety::Unsafe => format!(
                    "unsafe fix{}",
                    fix.unsafe_reason
                        .as_deref()
                        .map(|r| format!(", {}", escape(r)))
                        .unwrap_or_default()
                ),
            };
            let _ = writeln!(
                out,
                "{pad}= {}: {} ({safety})",
                st.ok("fix"),
                escape(&fix.title)
            );
        }
        (None, Some(why)) => {
            let _ = writeln!(out, "{pad}= no fix: {}", escape(why));
        }
        _ => {}
    }
    let _ = writeln!(
        out,
        "{pad}= {}: {}",
        st.dim("docs"),
        crate::rules::doc_url(f.code)
    );
    out
}

pub fn finding(out: &mut String, p: &Project, f: &Finding, unsafe_fixes: bool, st: &Styles) {
    let mark = fix_mark(f, unsafe_fixes);
    let _ = writeln!(
        out,
        "{}:{}:{}: {}{} {} [{}]",
        st.bold(&escape(&display_path(p, &f.path))),
        f.line,
        f.column,
        st.severity(f.severity, f.code),
        mark,
        escape(&f.message),
        f.severity.as_str()
    );
    let fr = frame(p, f, st.color);
    // The notes line up with the frame's gutter.
    let gutter = if fr.is_empty() {
        2
    } else {
        let last = f.end_line.max(f.line).min(f.line + MAX_FRAME_LINES - 1);
        last.to_string().len() + 1
    };
    if !fr.is_empty() {
        out.push_str(fr.trim_end_matches('\n'));
        out.push('\n');
    }
    out.push_str(&notes(f, st, &" ".repeat(gutter)));
    out.push('\n');
}

/// `path:line:col: CODE message`, one line per finding (`--quiet`).
pub fn concise(out: &mut String, p: &Project, f: &Finding, unsafe_fixes: bool) {
    let mark = fix_mark(f, unsafe_fixes);
    let _ = writeln!(
        out,
        "{}:{}:{}: {}{} {} [{}]",
        escape(&display_path(p, &f.path)),
        f.line,
        f.column,
        f.code,
        mark,
        escape(&f.message),
        f.severity.as_str()
    );
}

/// ` [*]` after a finding `fix` would apply (see [`fixable`]).
fn fix_mark(f: &Finding, unsafe_fixes: bool) -> &'static str {
    if fixable(f, unsafe_fixes) {
        " [*]"
    } else {
        ""
    }
}

/// Findings that `fix` would apply: safe ones, and unsafe ones when asked.
pub fn fixable(f: &Finding, unsafe_fixes: bool) -> bool {
    f.fix
        .as_ref()
        .is_some_and(|x| x.safety == Safety::Safe || unsafe_fixes)
}

/// The closing lines. `complete` is false when something requested was
/// not read or checked: then "All checks passed!" is never printed.
pub fn summary(findings: &[&Finding], unsafe_fixes: bool, complete: bool) -> String {
    if findings.is_empty() {
        return if complete {
            "All checks passed!\n".into()
        } else {
            "No findings in what was checked, but not everything could be checked (see the messages above).\n"
                .into()
        };
    }
    let mut by_sev = Vec::new();
    for sev in [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ] {
        let n = findings.iter().filter(|f| f.severity == sev).count();
        if n > 0 {
            by_sev.push(format!("{n} {}", sev.as_str()));
        }
    }
    let n = findings.len();
    let mut s = format!(
        "Found {n} finding{} ({}).\n",
        if n == 1 { "" } else { "s" },
        by_sev.join(", ")
    );
    let safe = findings.iter().filter(|f| fixable(f, false)).count();
    let unsafe_n = findings
        .iter()
        .filter(|f| f.fix.as_ref().is_some_and(|x| x.safety == Safety::Unsafe))
        .count();
    let fixable = if unsafe_fixes { safe + unsafe_n } else { safe };
    if fixable > 0 {
        let _ = writeln!(
            s,
            "[*] {fixable} fixable with `prodsafe fix`{}.",
            if unsafe_fixes { " --unsafe-fixes" } else { "" }
        );
    }
    if !unsafe_fixes && unsafe_n > 0 {
        let _ = writeln!(
            s,
            "{unsafe_n} hidden fix{} can be enabled with the `--unsafe-fixes` option.",
            if unsafe_n == 1 { "" } else { "es" }
        );
    }
    if !complete {
        s.push_str("Not everything could be checked (see the messages above).\n");
    }
    s
}

/// `--statistics`: one line per rule, most frequent first, like ruff.
pub fn statistics(findings: &[&Finding], unsafe_fixes: bool) -> String {
    let mut rows: Vec<(&str, &str, usize, usize)> = Vec::new();
    for f in findings {
        match rows.iter_mut().find(|r| r.0 == f.code) {
            Some(r) => {
                r.2 += 1;
                r.3 += usize::from(fixable(f, unsafe_fixes));
            }
            None => rows.push((f.code, f.name, 1, usize::from(fixable(f, unsafe_fixes)))),
        }
    }
    rows.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(b.0)));
    let width = rows
        .iter()
        .map(|r| r.2.to_string().len())
        .max()
        .unwrap_or(1);
    let mut s = String::new();
    for (code, name, n, fixable) in rows {
        let mark = if fixable == n {
            "[*]"
        } else if fixable > 0 {
            "[-]"
        } else {
            "[ ]"
        };
        let _ = writeln!(s, "{n:>width$}\t{code:<7}\t{mark} {name}");
    }
    s
}

/// A diff for the terminal: control characters from the files made
/// visible (`\r` of CRLF shown as `␍`), coloured when asked.
pub fn colorize(diff: &[u8], color: bool) -> String {
    use anstyle::{AnsiColor, Effects, Style};
    let text = String::from_utf8_lossy(diff);
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let body = line.strip_suffix('\n').unwrap_or(line);
        let (body, cr) = match body.strip_suffix('\r') {
            Some(b) => (b, "␍"),
            None => (body, ""),
        };
        let shown = format!("{}{cr}", crate::render::escape_lines(body));
        let style = if !color {
            None
        } else if line.starts_with("+++") || line.starts_with("---") {
            Some(Style::new().effects(Effects::BOLD))
        } else if line.starts_with('+') {
            Some(AnsiColor::Green.on_default())
        } else if line.starts_with('-') {
            Some(AnsiColor::Red.on_default())
        } else if line.starts_with("@@") {
            Some(AnsiColor::Cyan.on_default())
        } else {
            None
        };
        match style {
            Some(s) => out.push_str(&format!("{}{shown}{}", s.render(), s.render_reset())),
            None => out.push_str(&shown),
        }
        if line.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}
