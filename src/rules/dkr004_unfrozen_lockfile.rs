use crate::finding::{Edit, Expect, Finding, Fix, Safety, Severity};
use crate::project::{join, Project};
use crate::rules::scope::images;
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "DKR004",
    name: "unfrozen-lockfile",
    severity: Severity::Medium,
    fix: FixKind::Sometimes(Safety::Safe),
    summary: "Dependencies installed without honouring the lockfile",
    doc: r#"## What it checks
`pnpm install` / `yarn install` without `--frozen-lockfile` (`--immutable`
for yarn berry), and `npm install` without package arguments where
`npm ci` belongs, in `RUN` instructions.

## Why it breaks production
Without a frozen lockfile the image resolves whatever versions the
registry serves at build time: the image differs from what CI tested, a
transitive release can break start-up, and two builds of one commit differ.

## Example
```dockerfile
RUN pnpm install
RUN npm install
```

Fixed:
```dockerfile
RUN pnpm install --frozen-lockfile
RUN npm ci
```

## Fix (safe)
Adds `--frozen-lockfile` (or `--immutable` when `.yarnrc.yml` shows yarn
berry), or replaces `npm install` with `npm ci`. An explicit
`--no-frozen-lockfile` is left for a person.
"#,
    check,
};

fn re() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"\b(pnpm|yarn|npm)[ \t]+(install|i)\b").unwrap())
}

/// The rest of one shell command after `from`: up to `&&`, `||`, `;`, `|`
/// or an unescaped line end.
fn segment(text: &str, from: usize, esc: char) -> &str {
    let rest = &text[from..];
    let mut prev = ' ';
    for (i, c) in rest.char_indices() {
        if matches!(c, '&' | ';' | '|')
            || (c == '\n'
                && prev != esc
                && !(prev == '\r' && rest[..i].trim_end_matches('\r').ends_with(esc)))
        {
            return &rest[..i];
        }
        prev = c;
    }
    rest
}

fn check(p: &Project, out: &mut Vec<Finding>) {
    for ctx in images(p) {
        let berry = [ctx.img.context.as_str(), ""]
            .iter()
            .filter_map(|c| join(c, ".yarnrc.yml"))
            .any(|r| p.all_paths.contains(&r));
        for ins in ctx.df.instructions.iter().filter(|i| i.keyword == "RUN") {
            let text = &ctx.src.text[..ins.span.end];
            for m in re().captures_iter(&text[ins.span.start..]) {
                let whole = m.get(0).unwrap();
                let start = ins.span.start + whole.start();
                let end = ins.span.start + whole.end();
                let tool = &m[1];
                let seg = segment(text, end, ctx.df.escape);
                let words: Vec<&str> = seg.split_whitespace().filter(|w| *w != "\\").collect();
                let has_pkg_args = words.iter().any(|w| !w.starts_with('-'));
                let (line, col) = ctx.src.line_col(start);
                let (msg, fix) = match tool {
                    "npm" => {
                        if has_pkg_args {
                            continue;
                        }
                        let verb = m.get(2).unwrap();
                        (
                            "`npm install` ignores the lockfile when it disagrees with package.json: use `npm ci`.".to_string(),
                            Some(("Use `npm ci`".to_string(), Edit { start: ins.span.start + verb.start(), end: ins.span.start + verb.end(), text: "ci".into() })),
                        )
                    }
                    _ => {
                        let flag = if tool == "yarn" && berry {
                            "--immutable"
                        } else {
                            "--frozen-lockfile"
                        };
                        if words
                            .iter()
                            .any(|w| *w == "--frozen-lockfile" || *w == "--immutable")
                        {
                            continue;
                        }
                        let explicit_off = words.iter().any(|w| *w == "--no-frozen-lockfile");
                        (
                            format!("`{tool} install` without `{flag}`: the image may get other versions than the lockfile pins."),
                            (!explicit_off).then(|| (format!("Add `{flag}`"), Edit { start: end, end, text: format!(" {flag}") })),
                        )
                    }
                };
                let mut f = RULE.finding(&ctx.img.dockerfile, line, col, msg);
                match fix {
                    Some((title, edit)) => {
                        f.fix = Some(Fix {
                            title,
                            safety: Safety::Safe,
                            unsafe_reason: None,
                            changes: vec![crate::finding::FileChange {
                                path: ctx.img.dockerfile.clone(),
                                edits: vec![edit],
                                expect: vec![Expect::Reparse],
                            }],
                        })
                    }
                    None => {
                        f.no_fix_reason =
                            Some("`--no-frozen-lockfile` is explicit; remove it by hand".into())
                    }
                }
                out.push(f);
            }
        }
    }
}
