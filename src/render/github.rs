//! `--format github`: workflow commands that annotate the files in a run.

use crate::finding::{Finding, Severity};
use crate::project::Project;

fn esc_data(s: &str) -> String {
    s.replace('%', "%25")
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
    format!(
        "::{level} file={},line={},col={},title={}::{}",
        esc_prop(&crate::render::text::display_path(p, &f.path)),
        f.line,
        f.column,
        esc_prop(&format!("{} {}", f.code, f.name)),
        esc_data(&format!("{} [{}]", f.message, f.severity.as_str()))
    )
}
