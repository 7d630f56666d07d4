use crate::finding::{Edit, Expect, FileChange, Finding, Fix, Safety, Severity};
use crate::formats::dockerfile::{shell_program, Dockerfile, Stage};
use crate::images;
use crate::project::Project;
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "DKR012",
    name: "chown-before-user",
    severity: Severity::High,
    fix: FixKind::Sometimes(Safety::Safe),
    summary: "`COPY --chown=user` before that user exists in the stage",
    doc: r#"## What it checks
`COPY --chown=NAME[:GROUP]` / `ADD --chown=...` in a stage where the user
(or group) is not there yet: not created by an earlier `RUN` of the stage
or the stages it builds on (`adduser`, `useradd`, `addgroup`, `groupadd`),
and not provided by the base image (`root`, `nobody`; `node` in the
official node images). Numeric IDs always work and are not reported; base
images prodsafe does not know are not reported either.

## Why it breaks production
Docker resolves the names in the image's `/etc/passwd` and `/etc/group` at
that point: `unable to convert uid/gid chown string to host mapping`, the
image is never built, and the release that was to fix production does not
ship. Where a later `RUN` creates the user, the order is the only mistake.

## Example
```dockerfile
FROM node:20-alpine
COPY --from=builder --chown=app:app /app/dist ./dist
RUN addgroup -S app && adduser -S app -G app
```

Fixed:
```dockerfile
FROM node:20-alpine
RUN addgroup -S app && adduser -S app -G app
COPY --from=builder --chown=app:app /app/dist ./dist
```

## Fix (safe)
When a later `RUN` of the same stage only creates users and groups, that
`RUN` moves up to just before the first `COPY` that needs it. Otherwise no
fix: create the user first.
"#,
    check,
};

const USER_TOOLS: &[&str] = &["adduser", "useradd", "addgroup", "groupadd"];

/// Users and groups a RUN creates (every non-flag word of user tools, and
/// the values of their group options), and whether the RUN does only that.
fn created(text: &str, df: &Dockerfile, idx: usize) -> (Vec<String>, bool) {
    let ins = &df.instructions[idx];
    let Some(prog) = shell_program(text, ins, df.escape) else {
        return (vec![], false);
    };
    let mut names = Vec::new();
    let mut only = !prog.commands.is_empty() && !prog.parse_error;
    for c in &prog.commands {
        if !USER_TOOLS.contains(&c.program()) {
            only = false;
            continue;
        }
        for w in c.args() {
            if w.text.starts_with('-') {
                continue;
            }
            names.push(w.text.clone());
        }
    }
    (names, only)
}

fn base_provides(base: &str, name: &str) -> Option<bool> {
    if matches!(name, "root" | "nobody" | "0") || name.chars().all(|c| c.is_ascii_digit()) {
        return Some(true);
    }
    if images::is_node(base) {
        return Some(name == "node");
    }
    match images::distro(base) {
        images::Distro::Alpine | images::Distro::Debian | images::Distro::Slim => Some(false),
        _ => None,
    }
}

fn check(p: &Project, out: &mut Vec<Finding>) {
    for (fi, df) in &p.dockerfiles {
        let src = &p.files[*fi];
        for st in &df.stages {
            check_stage(p, src, df, st, out);
        }
    }
}

fn check_stage(
    _p: &Project,
    src: &crate::source::SourceFile,
    df: &Dockerfile,
    st: &Stage,
    out: &mut Vec<Finding>,
) {
    let base = df.root_image(st);
    // Names created before this stage (by the stages it builds on).
    let mut known: Vec<String> = Vec::new();
    for s in df.lineage(st).into_iter().skip(1) {
        for idx in s.instrs.clone() {
            if df.instructions[idx].keyword == "RUN" {
                known.extend(created(&src.text, df, idx).0);
            }
        }
    }
    let mut reported: Vec<String> = Vec::new();
    for idx in st.instrs.clone() {
        let ins = &df.instructions[idx];
        if ins.keyword == "RUN" {
            known.extend(created(&src.text, df, idx).0);
            continue;
        }
        if !matches!(ins.keyword.as_str(), "COPY" | "ADD") {
            continue;
        }
        let Some(chown) = ins.flag("chown") else {
            continue;
        };
        if chown.contains('$') {
            continue;
        }
        for name in chown.split(':').filter(|n| !n.is_empty()) {
            if known.iter().any(|k| k == name) || reported.iter().any(|r| r == name) {
                continue;
            }
            if base_provides(&base, name) != Some(false) {
                continue;
            }
            reported.push(name.to_string());
            let mut f = RULE.finding(
                &src.rel,
                ins.line,
                src.line_col(ins.span.start).1,
                format!("`--chown={chown}`: `{name}` does not exist yet in this stage (base `{base}`): the build fails with `unable to convert uid/gid chown string`."),
            );
            // A later RUN of this stage that only creates users, and
            // creates this one.
            let later = (idx + 1..st.instrs.end).find(|&j| {
                df.instructions[j].keyword == "RUN" && {
                    let (names, only) = created(&src.text, df, j);
                    only && names.iter().any(|n| n == name)
                }
            });
            // Moving the RUN up must not change the user it runs as.
            let user_changes =
                later.is_some_and(|j| (idx..j).any(|k| df.instructions[k].keyword == "USER"));
            if user_changes {
                f.no_fix_reason = Some(
                    "a `USER` between this line and the `RUN` that creates the user; reorder by hand"
                        .into(),
                );
                out.push(f);
                continue;
            }
            match later {
                Some(j) => {
                    let r = &df.instructions[j];
                    let (end_line, _) = src.line_col(r.span.end);
                    let from = src.line_start(r.line);
                    let to = crate::edit::after_line(src, end_line);
                    let mut moved = src.text[from..to].to_string();
                    if !moved.ends_with('\n') {
                        moved.push_str(src.eol.as_str());
                    }
                    if to == src.text.len() && !src.final_newline() {
                        // Keep the file ending without a newline: take the
                        // line break before the moved RUN instead.
                        f.no_fix_reason = Some("the user is created on the last line of a file without a final newline; move it by hand".into());
                    } else {
                        f.fix = Some(Fix {
                            title: format!(
                                "Create `{name}` first: move the `RUN` at line {} before this `{}`",
                                r.line, ins.keyword
                            ),
                            safety: Safety::Safe,
                            unsafe_reason: None,
                            changes: vec![FileChange {
                                path: src.rel.clone(),
                                edits: vec![
                                    Edit {
                                        start: src.line_start(ins.line),
                                        end: src.line_start(ins.line),
                                        text: moved,
                                    },
                                    Edit {
                                        start: from,
                                        end: to,
                                        text: String::new(),
                                    },
                                ],
                                expect: vec![Expect::Reparse],
                            }],
                        });
                    }
                }
                None => {
                    f.no_fix_reason = Some(format!("no later `RUN` of this stage only creates `{name}`; create it (`addgroup`/`adduser`) before this line"));
                }
            }
            out.push(f);
        }
    }
}
