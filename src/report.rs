//! `prodsafe report`: a Markdown audit report in the structure of the seed
//! audit: executive summary, one section per phase with findings, evidence
//! and fixes, a summary by severity, and verification commands filled in
//! per service.

use std::fmt::Write;

use crate::finding::{Finding, Safety, Severity};
use crate::inventory;
use crate::project::Project;

struct Phase {
    title: &'static str,
    prefixes: &'static [&'static str],
    ok: &'static str,
}

const PHASES: &[Phase] = &[
    Phase { title: "PHASE 1 — DOCKERFILES (BUILD + RUNTIME CORRECTNESS)", prefixes: &["DKR", "CMP008"], ok: "Every runtime stage can run its command: artifacts copied, no package manager or Prisma generation at start, non-root user, lockfile honoured." },
    Phase { title: "PHASE 2 — ENTRYPOINT SCRIPTS (RUNTIME SAFETY)", prefixes: &["ENT001", "ENT002", "ENT003", "ENT004", "ENT005", "ENT006", "ENT007"], ok: "Every entrypoint runs in strict mode, `exec`s its process and runs no package manager at start." },
    Phase { title: "PHASE 3 — APP STARTUP FAIL-FAST (ENV VAR VALIDATION)", prefixes: &["APP", "CMP005", "ENT008"], ok: "Every service validates its required variables at start and compose provides them." },
    Phase { title: "PHASE 4 — COMPOSE (ORCHESTRATION & HEALTHCHECKS)", prefixes: &["CMP001", "CMP002", "CMP003", "CMP004", "CMP006"], ok: "Every long-running service has a healthcheck that can pass, on the port it listens on." },
    Phase { title: "PHASE 5 — CI/CD WORKFLOW", prefixes: &["GHA"], ok: "Every image built in CI is started once before it can be deployed." },
];

fn in_phase(ph: &Phase, code: &str) -> bool {
    ph.prefixes.iter().any(|p| code.starts_with(p))
}

fn evidence(p: &Project, f: &Finding) -> Option<String> {
    let src = p.file(&f.path)?;
    let from = f.line.saturating_sub(1).max(1);
    let to = (f.line + 1).min(src.line_count());
    let lang = if f.path.ends_with(".yml") || f.path.ends_with(".yaml") {
        "yaml"
    } else if f.path.ends_with(".sh") {
        "sh"
    } else if f.path.ends_with(".ts") || f.path.ends_with(".js") {
        "ts"
    } else if f.path.contains("Dockerfile") {
        "dockerfile"
    } else {
        ""
    };
    let mut s = format!("```{lang}\n# {}:{}-{}\n", f.path, from, to);
    for l in from..=to {
        s.push_str(src.line_text(l).trim_end_matches('\r'));
        s.push('\n');
    }
    s.push_str("```\n");
    Some(s)
}

fn count(findings: &[Finding], sev: Severity) -> usize {
    findings.iter().filter(|f| f.severity == sev).count()
}

pub fn render(p: &Project, findings: &[Finding], name: &str, date: &str) -> String {
    let mut o = String::new();
    let (c, h, m, l) = (
        count(findings, Severity::Critical),
        count(findings, Severity::High),
        count(findings, Severity::Medium),
        count(findings, Severity::Low),
    );
    let inv = inventory::build(p);
    let unread = format!(
        "⚠️ INCOMPLETE - {} file{} could not be read or parsed; the rest shows no critical or high issue",
        p.errors.len(),
        if p.errors.len() == 1 { "" } else { "s" }
    );
    let status = if inv.services.is_empty() {
        "⚠️ NOT ASSESSED - no compose service found under the scanned folder, so nothing was checked for production"
    } else if c + h > 0 {
        "❌ NOT READY - critical or high priority issues open"
    } else if !p.errors.is_empty() {
        unread.as_str()
    } else if m > 0 {
        "⚠️ READY WITH RISKS - medium priority issues open"
    } else {
        "✅ PRODUCTION READY - All critical, high, and medium priority issues resolved"
    };
    let safe = findings
        .iter()
        .filter(|f| f.fix.as_ref().is_some_and(|x| x.safety == Safety::Safe))
        .count();
    let unsafe_n = findings
        .iter()
        .filter(|f| f.fix.as_ref().is_some_and(|x| x.safety == Safety::Unsafe))
        .count();
    let _ = writeln!(o, "# Production Runtime Safety Check - {name}\n");
    let _ = writeln!(o, "**Date:** {date}  ");
    let _ = writeln!(o, "**Auditor:** prodsafe {}  ", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(
        o,
        "**Goal:** Prevent \"build succeeds but production runtime breaks\" incidents\n\n---\n"
    );
    let _ = writeln!(o, "## Executive Summary\n");
    let _ = writeln!(o, "**Critical Issues Found:** {c}  \n**High Priority Issues Found:** {h}  \n**Medium Priority Issues:** {m}  \n**Low Priority Issues:** {l}\n");
    let _ = writeln!(o, "**Status:** {status}\n");
    let _ = writeln!(o, "**Fixes available:** {safe} safe (`prodsafe fix`), {unsafe_n} unsafe (`prodsafe fix --unsafe-fixes`)\n\n---\n");

    let _ = writeln!(
        o,
        "## PHASE 0 — INVENTORY / DEPLOY SURFACE MAP\n\n### Service Inventory Table\n"
    );
    o.push_str(&inventory::markdown(&inv));
    let _ = writeln!(o, "\n### Production Deploy Surface\n");
    o.push_str(&inventory::surface_markdown(&inv));
    let _ = writeln!(o, "\n---\n");

    for ph in PHASES {
        let mut fs: Vec<&Finding> = findings.iter().filter(|f| in_phase(ph, f.code)).collect();
        fs.sort_by_key(|f| {
            (
                std::cmp::Reverse(f.severity),
                f.path.clone(),
                f.line,
                f.code,
            )
        });
        let _ = writeln!(o, "## {}\n", ph.title);
        if fs.is_empty() {
            let _ = writeln!(o, "**Status:** ✅ ALL PASS\n\n{}\n\n---\n", ph.ok);
            continue;
        }
        let fixable = fs.iter().filter(|f| f.fix.is_some()).count();
        let _ = writeln!(
            o,
            "**Status:** ❌ {} finding{} ({fixable} with a fix)\n",
            fs.len(),
            if fs.len() == 1 { "" } else { "s" }
        );
        for f in fs {
            let _ = writeln!(
                o,
                "### {} {} ({})\n",
                f.code,
                f.name,
                f.severity.as_str().to_uppercase()
            );
            let _ = writeln!(
                o,
                "- **Location:** `{}:{}`{}",
                f.path,
                f.line,
                f.service
                    .as_deref()
                    .map(|s| format!(" (service `{s}`)"))
                    .unwrap_or_default()
            );
            let _ = writeln!(o, "- **Finding:** {}", f.message);
            match (&f.fix, &f.no_fix_reason) {
                (Some(x), _) => {
                    let safety = match x.safety {
                        Safety::Safe => "safe, `prodsafe fix`".to_string(),
                        Safety::Unsafe => format!(
                            "unsafe, `prodsafe fix --unsafe-fixes`{}",
                            x.unsafe_reason
                                .as_deref()
                                .map(|r| format!(": {r}"))
                                .unwrap_or_default()
                        ),
                    };
                    let _ = writeln!(o, "- **Fix:** {} ({safety})", x.title);
                }
                (None, Some(why)) => {
                    let _ = writeln!(o, "- **Fix:** by hand: {why}");
                }
                _ => {
                    let _ = writeln!(o, "- **Fix:** by hand (see `prodsafe explain {}`)", f.code);
                }
            }
            o.push('\n');
            if let Some(e) = evidence(p, f) {
                o.push_str(&e);
                o.push('\n');
            }
        }
        let _ = writeln!(o, "---\n");
    }

    let _ = writeln!(o, "## SUMMARY OF FINDINGS\n");
    for (sev, label) in [
        (Severity::Critical, "Critical Issues"),
        (Severity::High, "High Priority Issues"),
        (Severity::Medium, "Medium Priority Issues"),
        (Severity::Low, "Low Priority Issues"),
    ] {
        let fs: Vec<&Finding> = findings.iter().filter(|f| f.severity == sev).collect();
        let _ = writeln!(o, "### {label}: {}", fs.len());
        if fs.is_empty() {
            let _ = writeln!(o, "✅ None.\n");
            continue;
        }
        o.push('\n');
        for (i, f) in fs.iter().enumerate() {
            let fix = if f.fix.is_some() {
                "fix available"
            } else {
                "manual"
            };
            let _ = writeln!(
                o,
                "{}. **{} {}** - `{}:{}` ({fix})",
                i + 1,
                f.code,
                f.name,
                f.path,
                f.line
            );
        }
        o.push('\n');
    }
    let _ = writeln!(o, "---\n\n## VERIFICATION COMMANDS\n");
    let mut n = 1;
    for c in &inv.compose_files {
        let _ = writeln!(o, "### {n}. Validate Compose Config\n\n```bash\ndocker compose -f {c} config\n# Expected: Exit code 0 (config valid)\n```\n");
        n += 1;
    }
    let _ = writeln!(o, "### {n}. Re-run the scan\n\n```bash\nprodsafe check .\n# Expected: All checks passed!\n```\n");
    n += 1;
    for r in inv.services.iter().filter(|r| {
        r.dockerfile.is_some() && (r.kind == "API" || r.kind == "UI" || r.kind == "Worker")
    }) {
        let df = r.dockerfile.as_deref().unwrap();
        let ctx = r
            .context
            .as_deref()
            .filter(|c| !c.is_empty())
            .unwrap_or(".");
        let tag = format!("test-{}:latest", r.service);
        let mut env = vec!["  -e NODE_ENV=production \\".to_string()];
        for e in &r.required_env {
            env.push(format!("  -e {e}=\"<value>\" \\"));
        }
        let port = r
            .port
            .map(|p| format!("  -p {p}:{p} \\\n"))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "### {n}. Build and Test {}\n\n```bash\n# Build\nDOCKER_BUILDKIT=1 docker buildx build --no-cache --load \\\n  -f {df} -t {tag} {ctx}\n\n# Run\ndocker run --rm -d --name test-{} \\\n{}\n{port}  {tag}\n\n# Verify non-root user\ndocker exec test-{} id\n# Expected: a non-zero uid\n\n# Check logs\ndocker logs test-{}\n# Expected: no \"pnpm: not found\", \"command not found\" or [FATAL] errors\n\n# Cleanup\ndocker stop test-{}\n```\n",
            r.service,
            r.service,
            env.join("\n"),
            r.service,
            r.service,
            r.service
        );
        n += 1;
    }
    let _ = writeln!(o, "---\n\n**Report Generated:** {date}  \n**Critical Issues:** {c}  \n**High Priority Issues:** {h}  \n**Medium Priority Issues:** {m}  \n**Production Status:** {status}");
    o
}
