//! `--format markdown`: a findings table for PR comments and reports.

use crate::finding::{Finding, Safety};
use crate::project::Project;

/// Escapes text for a Markdown table cell.
pub fn cell(s: &str) -> String {
    crate::render::escape(&s.replace('\n', " ")).replace('|', "\\|")
}

pub fn table(rows: &[(&Project, &Finding)]) -> String {
    if rows.is_empty() {
        return "No findings.\n".into();
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
