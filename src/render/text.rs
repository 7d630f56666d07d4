//! Human output in the style of ruff: a header line, a code frame, a fix
//! note, and a summary.

use std::fmt::Write;

use console::Style;

use crate::finding::{Finding, Safety, Severity};
use crate::project::Project;

pub struct Styles {
    pub path: Style,
    pub code: Style,
    pub dim: Style,
    pub caret: Style,
    pub ok: Style,
}

impl Styles {
    pub fn new(color: bool) -> Styles {
        let s = |st: Style| st.force_styling(color);
        Styles {
            path: s(Style::new().bold()),
            code: s(Style::new().red().bold()),
            dim: s(Style::new().dim()),
            caret: s(Style::new().red()),
            ok: s(Style::new().green()),
        }
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

pub fn finding(out: &mut String, p: &Project, f: &Finding, unsafe_fixes: bool, st: &Styles) {
    let mark = match &f.fix {
        Some(fix) if fix.safety == Safety::Safe || unsafe_fixes => " [*]",
        _ => "",
    };
    let _ = writeln!(
        out,
        "{}:{}:{}: {}{} {} [{}]",
        st.path.apply_to(display_path(p, &f.path)),
        f.line,
        f.column,
        st.code.apply_to(f.code),
        mark,
        f.message,
        f.severity.as_str()
    );
    if let Some(src) = p.file(&f.path) {
        if f.line >= 1 && f.line <= src.line_count() {
            let num = f.line.to_string();
            let pad = " ".repeat(num.len());
            let text = src.line_text(f.line).replace('\t', "    ");
            let _ = writeln!(out, "{pad} {}", st.dim.apply_to("|"));
            let _ = writeln!(out, "{num} {} {text}", st.dim.apply_to("|"));
            let caret_pad = " ".repeat(f.column.saturating_sub(1));
            let _ = writeln!(
                out,
                "{pad} {} {caret_pad}{} {}",
                st.dim.apply_to("|"),
                st.caret.apply_to("^"),
                st.caret.apply_to(f.name)
            );
        }
    }
    for r in &f.related {
        let _ = writeln!(out, "  = also: {} at {}:{}", r.code, r.path, r.line);
    }
    match (&f.fix, &f.no_fix_reason) {
        (Some(fix), _) => {
            let safety = match fix.safety {
                Safety::Safe => "safe fix".to_string(),
                Safety::Unsafe => format!(
                    "unsafe fix{}",
                    fix.unsafe_reason
                        .as_deref()
                        .map(|r| format!(", {r}"))
                        .unwrap_or_default()
                ),
            };
            let _ = writeln!(
                out,
                "  = {}: {} ({safety})",
                st.ok.apply_to("fix"),
                fix.title
            );
        }
        (None, Some(why)) => {
            let _ = writeln!(out, "  = no fix: {why}");
        }
        _ => {}
    }
    out.push('\n');
}

pub fn summary(findings: &[&Finding], unsafe_fixes: bool) -> String {
    if findings.is_empty() {
        return "All checks passed!\n".into();
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
    let safe = findings
        .iter()
        .filter(|f| f.fix.as_ref().is_some_and(|x| x.safety == Safety::Safe))
        .count();
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
    s
}
