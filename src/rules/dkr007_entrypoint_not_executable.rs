use crate::finding::{Finding, Severity};
use crate::project::Project;
use crate::rules::scope::{images, is_wrapper_word};
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "DKR007",
    name: "entrypoint-not-executable",
    severity: Severity::Critical,
    fix: FixKind::None,
    summary: "The entrypoint script is not executable, or its shell is missing",
    doc: r#"## What it checks
The script the container runs directly (not through `sh script.sh`) has no
execute bit (in git's index when the repo is a git work tree, which is what
CI checks out; else on disk) and the Dockerfile neither `chmod`s it nor
copies it with `COPY --chmod=...`. Also a shebang naming a shell the image
lacks (`#!/bin/bash` on alpine without `apk add bash`; any script on
distroless).

## Why it breaks production
`exec ./entrypoint.sh: permission denied` or `no such file or directory`
at start. It works on the laptop where the file happened to be executable.

## Example
```dockerfile
# entrypoint.sh is committed without its execute bit
COPY entrypoint.sh ./
ENTRYPOINT ["./entrypoint.sh"]
```

Fixed:
```dockerfile
COPY --chmod=755 entrypoint.sh ./
ENTRYPOINT ["./entrypoint.sh"]
```

## Fix
None automatic: `git update-index --chmod=+x path`, or
`COPY --chmod=755 ...`, or `RUN chmod +x ...`; use `#!/bin/sh` or install
the shell.
"#,
    check,
};

fn check(p: &Project, out: &mut Vec<Finding>) {
    for ctx in images(p) {
        let (Some(script_rel), Some(container)) =
            (&ctx.img.entry_script, &ctx.img.entry_script_container)
        else {
            continue;
        };
        let Some(script) = p.script(script_rel) else {
            continue;
        };
        let line = ctx.img.command_line.unwrap_or(1);
        let first = ctx.img.command.iter().find(|w| !is_wrapper_word(w));
        let via_shell = first.is_some_and(|w| {
            matches!(
                w.rsplit('/').next().unwrap_or(w),
                "sh" | "bash" | "ash" | "dash"
            )
        });
        let name = container.rsplit('/').next().unwrap_or(container);
        if !via_shell && !p.exec_bits.get(script_rel).copied().unwrap_or(false) {
            let chmod = ctx.runtime_instrs().iter().any(|i| {
                (i.keyword == "RUN"
                    && i.args.contains("chmod")
                    && (i.args.contains(name) || i.args.contains(container.as_str())))
                    || (matches!(i.keyword.as_str(), "COPY" | "ADD")
                        && i.flag("chmod").is_some_and(|m| {
                            m.contains('x')
                                || m.chars()
                                    .last()
                                    .is_some_and(|c| matches!(c, '1' | '3' | '5' | '7'))
                        })
                        && i.args.contains(name))
            });
            if !chmod {
                out.push(RULE.finding(
                    &ctx.img.dockerfile,
                    line,
                    1,
                    format!("`{script_rel}` is not executable and the image never `chmod`s it: `exec {container}: permission denied` at start."),
                ));
            }
        }
        if let Some((_, shell, _)) = &script.shebang {
            if ctx.has_tool(shell) == Some(false) || (ctx.has_tool("sh") == Some(false)) {
                out.push(RULE.finding(
                    &ctx.img.dockerfile,
                    line,
                    1,
                    format!(
                        "`{script_rel}` needs `{shell}`, which `{}` does not have.",
                        ctx.img.base
                    ),
                ));
            }
        }
    }
}
