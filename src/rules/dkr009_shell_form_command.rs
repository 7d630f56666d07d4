use crate::finding::{Edit, Expect, Finding, Fix, Safety, Severity};
use crate::formats::dockerfile::shell_program;
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

## Fix (safe when the command is a plain program with words)
Rewrites it as JSON: `CMD ["node", "dist/main.js"]`. Read on the shell
syntax tree, and offered only for one simple command: not for
assignments (`NODE_ENV=production node server.js`), shell builtins
(`exec`, `cd`, `.`), quotes, variables, globs, operators, redirections or
continuations, nor when converting would change how CMD and ENTRYPOINT
combine: in exec form these would run as a program named
`NODE_ENV=production` or `exec` and fail with "not found".
"#,
    check,
};

/// Words the shell runs itself: in exec form they would be looked up as
/// programs and not found.
const SHELL_ONLY: &[&str] = &[
    "exec", "eval", "cd", "export", "set", "unset", ".", "source", "alias", "unalias", "trap",
    "wait", "read", "shift", "exit", "return", "ulimit", "umask", "times", "type", "command",
    "builtin", "local", "readonly", "getopts", "hash", "break", "continue", ":", "declare",
    "typeset", "let", "if", "for", "while", "until", "case", "function", "{", "(", "!",
];

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
            // On the syntax tree: one simple command, a program (not a
            // shell builtin) with literal words, no assignment prefix, no
            // redirection.
            let program = shell_program(&ctx.src.text, ins, ctx.df.escape);
            let simple = program.as_ref().is_some_and(|prog| {
                prog.single
                    && !prog.parse_error
                    && prog.commands.len() == 1
                    && prog.commands.iter().all(|c| {
                        !c.assignments
                            && !c.redirects
                            && !SHELL_ONLY.contains(&c.name())
                            && c.words.iter().all(|w| w.literal && w.bare)
                            && c.words.len() == words.len()
                    })
            });
            if simple && words.iter().all(|w| plain(w)) && single_line && !combines {
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
                f.no_fix_reason = Some("the command is not a plain program with words (assignments, shell builtins, quotes, expansions or operators need the shell), or CMD and ENTRYPOINT combine; rewrite it by hand".into());
            }
            out.push(f);
        }
    }
}
