//! `--format github`: workflow commands that annotate the files in a run.
//! Repository text is escaped twice: control characters made visible
//! (never an escape sequence in the log), then the workflow-command escapes.

use crate::finding::{Finding, Severity};
use crate::project::Project;
use crate::render::escape;

fn esc_data(s: &str) -> String {
    escape(s)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn esc_prop(s: &str) -> String {
    esc_data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn line(p: &Project, f: &Finding) -> String {
    let level = match f.severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "notice",
    };
    // GitHub's endColumn is inclusive; ours is exclusive.
    let (end_line, end_col) = if f.end_line > f.line || f.end_column > f.column {
        (f.end_line, f.end_column.saturating_sub(1).max(1))
    } else {
        (f.line, f.column)
    };
    let end_col = if end_line == f.line {
        end_col.max(f.column)
    } else {
        end_col
    };
    format!(
        "::{level} file={},line={},col={},endLine={end_line},endColumn={end_col},title={}::{}",
        esc_prop(&crate::render::text::display_path(p, &f.path)),
        f.line,
        f.column,
        esc_prop(&format!("{} {}", f.code, f.name)),
        esc_data(&format!("{} [{}]", f.message, f.severity.as_str()))
    )
}

/// An `::error` for a file that could not be read or parsed.
pub fn load_error(path: &str, line: Option<usize>, message: &str) -> String {
    match line {
        Some(l) => format!(
            "::error file={},line={l},title=prodsafe::{}",
            esc_prop(path),
            esc_data(message)
        ),
        None => format!(
            "::error file={},title=prodsafe::{}",
            esc_prop(path),
            esc_data(message)
        ),
    }
}

/// A `::warning` about something prodsafe could not check.
pub fn warning(path: Option<&str>, message: &str) -> String {
    match path {
        Some(p) => format!(
            "::warning file={},title=prodsafe::{}",
            esc_prop(p),
            esc_data(message)
        ),
        None => format!("::warning title=prodsafe::{}", esc_data(message)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes() {
        assert_eq!(super::esc_prop("a:b,c%\n"), "a%3Ab%2Cc%25\\n");
        assert!(!super::esc_data("x\u{1b}[31m").contains('\u{1b}'));
        assert_eq!(
            super::load_error("a/b.yml", Some(3), "bad: x"),
            "::error file=a/b.yml,line=3,title=prodsafe::bad: x"
        );
    }
}
