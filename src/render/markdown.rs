//! `--format markdown`: a findings table for PR comments and reports.

use crate::finding::{Finding, Safety};
use crate::project::Project;

/// Escapes text for a Markdown table cell.
pub fn cell(s: &str) -> String {
    crate::render::escape(&s.replace('\n', " ")).replace('|', "\\|")
}

/// The findings table; `complete` is false when something requested was
/// not read or checked (then an empty table is never "No findings.").
pub fn table(rows: &[(&Project, &Finding)], complete: bool) -> String {
    if rows.is_empty() {
        return if complete {
            "No findings.\n".into()
        } else {
            "No findings in what was checked, but not everything could be checked.\n".into()
        };
    }
    let mut out =
        String::from("| Severity | Code | Location | Message | Fix |\n|---|---|---|---|---|\n");
    for (p, f) in rows {
        let fix = match &f.fix {
            Some(x) if x.safety == Safety::Safe => format!("{} (safe)", x.title),
            Some(x) => format!("{} (unsafe)", x.title),
            None => "—".into(),
        };
        out.push_str(&format!(
            "| {} | `{}` {} | `{}:{}` | {} | {} |\n",
            f.severity.as_str(),
            f.code,
            f.name,
            cell(&crate::render::text::display_path(p, &f.path)).replace('`', "'"),
            f.line,
            cell(&f.message),
            cell(&fix)
        ));
    }
    out
}
