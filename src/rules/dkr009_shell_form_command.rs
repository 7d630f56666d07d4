use crate::finding::{Edit, Expect, Finding, Fix, Safety, Severity};
use crate::project::Project;
use crate::rules::scope::images;
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "DKR009",
    name: "shell-form-command",
    severity: Severity::Medium,
    fix: FixKind::Sometimes(Safety::Safe),
    summary: "CMD/ENTRYPOINT in shell form",
    doc: r#"## What it checks
`CMD` or `ENTRYPOINT` of the final stage written in shell form
(`CMD node dist/main.js`) instead of exec (JSON) form.

## Why it breaks production
Shell form runs `/bin/sh -c "..."`: the shell is PID 1 and does not
forward SIGTERM, so the service is killed after the stop timeout instead
of shutting down; on images without `/bin/sh` (distroless) it does not
start at all.

## Example
```dockerfile
CMD node dist/main.js
```

Fixed:
```dockerfile
CMD ["node", "dist/main.js"]
```

## Fix (safe when the command is a plain word list)
Rewrites it as JSON: `CMD ["node", "dist/main.js"]`. Not offered when the
command uses quotes, variables, operators or continuations, or when
converting would change how CMD and ENTRYPOINT combine.
"#,
    check,
};

fn plain(w: &str) -> bool {
    !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:=@%+,-".contains(c))
}

fn check(p: &Project, out: &mut Vec<Finding>) {
    for ctx in images(p) {
        let instrs = ctx.df.stage_instrs(ctx.stage);
        let has = |k: &str| ctx.runtime_instrs().iter().any(|i| i.keyword == k);
        for ins in instrs
            .iter()
            .filter(|i| matches!(i.keyword.as_str(), "CMD" | "ENTRYPOINT"))
        {
            if ins.json.is_some() || ins.rest.trim().is_empty() {
                continue;
            }
            let mut f = RULE.finding(
                &ctx.img.dockerfile,
                ins.line,
                ctx.col(ins),
                format!(
                    "`{}` in shell form: `/bin/sh -c` becomes PID 1 and does not forward SIGTERM.",
                    ins.keyword
                ),
            );
            let words: Vec<&str> = ins.rest.split_whitespace().collect();
            let single_line = !ctx.src.text[ins.span.clone()].contains('\n');
            let combines = if ins.keyword == "CMD" {
                has("ENTRYPOINT")
            } else {
                has("CMD")
            };
            if words.iter().all(|w| plain(w)) && single_line && !combines {
                let json = serde_json::to_string(&words)
                    .unwrap()
                    .replace("\",\"", "\", \"");
                let start = ins.args_span.start;
                let end = ins.span.end;
                f.fix = Some(Fix {
                    title: format!("Use the exec form `{} {json}`", ins.keyword),
                    safety: Safety::Safe,
                    unsafe_reason: None,
                    changes: vec![crate::finding::FileChange {
                        path: ctx.img.dockerfile.clone(),
                        edits: vec![Edit {
                            start,
                            end,
                            text: format!(" {json}"),
                        }],
                        expect: vec![Expect::Reparse],
                    }],
                });
            } else {
                f.no_fix_reason = Some("the command is not a plain word list (or CMD and ENTRYPOINT combine); rewrite it by hand".into());
            }
            out.push(f);
        }
    }
}
