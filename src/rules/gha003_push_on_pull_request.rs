use crate::finding::{Edit, Expect, Finding, Fix, Safety, Severity};
use crate::project::Project;
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "GHA003",
    name: "push-on-pull-request",
    severity: Severity::Medium,
    fix: FixKind::Always(Safety::Unsafe),
    summary: "Images are pushed on pull_request events",
    doc: r#"## What it checks
A workflow triggered by `pull_request` whose `docker/build-push-action`
step has `push: true` with no `if:` (on the step or job) that keeps pull
requests out.

## Why it breaks production
Every pull request overwrites the deployable tag (`:latest`) with unreviewed
code, and the next deploy or restart runs it. PRs from forks fail instead,
for lack of registry credentials, which makes the check flaky.

## Example
```yaml
on: [push, pull_request]
...
      - uses: docker/build-push-action@v6
        with:
          push: true
```

Fixed:
```yaml
on: [push, pull_request]
...
      - uses: docker/build-push-action@v6
        with:
          push: ${{ github.event_name != 'pull_request' }}
```

## Fix (unsafe)
`push: ${{ github.event_name != 'pull_request' }}`. Unsafe because a
workflow that relied on PR images (preview environments) stops getting
them.
"#,
    check,
};

fn guarded(c: Option<&str>) -> bool {
    c.is_some_and(|c| {
        c.contains("event_name") || c.contains("pull_request") || c.contains("github.ref")
    })
}

fn check(p: &Project, out: &mut Vec<Finding>) {
    for wf in &p.workflows {
        if !wf.events.iter().any(|e| e.starts_with("pull_request")) {
            continue;
        }
        let src = &p.files[wf.file];
        for job in &wf.jobs {
            if guarded(job.if_cond.as_deref()) {
                continue;
            }
            for st in &job.steps {
                if !st
                    .uses
                    .as_deref()
                    .is_some_and(|u| u.starts_with("docker/build-push-action"))
                    || st.with("push") != Some("true")
                    || guarded(st.if_cond.as_deref())
                {
                    continue;
                }
                let with = wf.doc.get(&st.node, "with");
                let push = with
                    .and_then(|w| wf.doc.own_entry(w, "push"))
                    .map(|(_, v)| v);
                let mut f = RULE.finding(
                    &src.rel,
                    push.map(|v| v.line).unwrap_or(st.line),
                    push.map(|v| src.line_col(v.start).1).unwrap_or(1),
                    format!("Job `{}` pushes images on pull requests: unreviewed code overwrites the deployable tag.", job.id),
                );
                if let Some(v) = push.filter(|v| src.text[v.start..].starts_with("true")) {
                    let value = "${{ github.event_name != 'pull_request' }}";
                    f.fix = Some(Fix {
                        title: "Push only outside pull requests".into(),
                        safety: Safety::Unsafe,
                        unsafe_reason: Some(
                            "pull requests no longer publish images (preview deployments stop)"
                                .into(),
                        ),
                        changes: vec![crate::finding::FileChange {
                            path: src.rel.clone(),
                            edits: vec![Edit {
                                start: v.start,
                                end: v.start + 4,
                                text: value.into(),
                            }],
                            expect: vec![Expect::YamlValueSet {
                                path: vec![
                                    "jobs".into(),
                                    job.id.clone(),
                                    "steps".into(),
                                    st.index.to_string(),
                                    "with".into(),
                                    "push".into(),
                                ],
                                value: value.into(),
                            }],
                        }],
                    });
                }
                out.push(f);
            }
        }
    }
}
