use crate::edit::yaml_insert::insert_seq_item_after;
use crate::finding::{Finding, Fix, Safety, Severity};
use crate::formats::workflow::{Job, Step, Workflow};
use crate::graph::ServiceNode;
use crate::project::{join, Project};
use crate::rules::{FixKind, Rule};
use crate::templates::{body, fill};

pub static RULE: Rule = Rule {
    code: "GHA001",
    name: "missing-smoke-test",
    severity: Severity::Medium,
    fix: FixKind::Sometimes(Safety::Safe),
    summary: "A job builds an image and never starts it",
    doc: r#"## What it checks
A GitHub Actions job that builds a container image
(`docker/build-push-action`, `docker build`, `docker buildx build`) and has
no later step that runs it (`docker run`, `docker compose up`).

## Why it breaks production
The build is green, the image is pushed, and it dies on start in
production: `pnpm: not found`, `Cannot find module`, a missing variable.
Starting it once in CI catches all of these before anyone deploys.

## Example
```yaml
      - name: Build
        uses: docker/build-push-action@v6
        with:
          tags: acme/api:latest
          load: true
```

Fixed:
```yaml
      - name: Build
        uses: docker/build-push-action@v6
        with:
          tags: acme/api:latest
          load: true
      - name: Smoke test acme/api:latest
        env:
          IMAGE: acme/api:latest
        run: |
          # starts the image, waits until it is healthy or fails, prints the logs
          ...
```

## Fix (safe)
Inserts, right after the build step, a step from
`templates/smoke-test.sh`. It starts the image (pulling the pushed tag when
the build does not `load` it) with `NODE_ENV=production` and a placeholder
for each variable the services built by the job require, waits with a
bounded loop (for `healthy` when the image has a healthcheck), fails if the
container exits, turns unhealthy or logs `pnpm: not found`,
`command not found`, `Cannot find module` or `[FATAL]`, prints the logs on
failure and always removes the container. The image reference goes
through `env:`, never into the script (no template injection). When the
step has to pull and the workflow runs on `pull_request`, it is skipped on
pull requests (nothing was pushed).
"#,
    check,
};

/// A step that builds an image, and what the smoke test needs to know.
pub struct Build<'a> {
    pub step: &'a Step,
    /// The image reference (may hold `${{ }}` expressions).
    pub image: Option<String>,
    pub needs_pull: bool,
    /// Dockerfile path pattern (may hold `${{ matrix.x }}`).
    pub dockerfile: Option<String>,
    /// Built with `docker compose build` (images named by the compose file).
    pub compose: bool,
}

fn file_re() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r#"(?:-f|--file)[ =]+("[^"]+"|\S+)"#).unwrap())
}

fn tag_re() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r#"(?:-t|--tag)[ =]+("[^"]+"|'[^']+'|\S+)"#).unwrap())
}

pub fn builds(job: &Job) -> Vec<Build<'_>> {
    let mut out = Vec::new();
    for st in &job.steps {
        if st
            .uses
            .as_deref()
            .is_some_and(|u| u.starts_with("docker/build-push-action"))
        {
            let image = st.with("tags").and_then(|t| {
                t.split(['\n', ','])
                    .map(str::trim)
                    .find(|x| !x.is_empty())
                    .map(str::to_string)
            });
            let load = st.with("load") == Some("true");
            let context = st.with("context").unwrap_or(".");
            let dockerfile = st
                .with("file")
                .map(str::to_string)
                .or_else(|| Some(format!("{}/Dockerfile", context.trim_end_matches('/'))));
            out.push(Build {
                step: st,
                image,
                needs_pull: !load,
                dockerfile,
                compose: false,
            });
        } else if let Some(run) = &st.run {
            let flat = run.replace("\\\n", " ");
            for line in flat.lines() {
                let l = line.trim();
                let compose_build = (l.starts_with("docker compose ")
                    || l.starts_with("docker-compose "))
                    && l.split_whitespace().any(|w| w == "build");
                let is_build = l.starts_with("docker build")
                    || l.starts_with("docker buildx build")
                    || l.starts_with("docker image build")
                    || compose_build;
                if !is_build {
                    continue;
                }
                let image = tag_re()
                    .captures(l)
                    .map(|c| c[1].trim_matches(|q| q == '"' || q == '\'').to_string());
                let buildx_no_load = l.starts_with("docker buildx build") && !l.contains("--load");
                let file = file_re()
                    .captures(l)
                    .filter(|_| !compose_build)
                    .map(|c| c[1].trim_matches('"').to_string());
                out.push(Build {
                    step: st,
                    image,
                    needs_pull: buildx_no_load && l.contains("--push"),
                    dockerfile: file,
                    compose: compose_build,
                });
            }
        }
    }
    out
}

pub fn runs_image(st: &Step) -> bool {
    st.run.as_deref().is_some_and(|r| {
        r.contains("docker run")
            || r.contains("docker compose up")
            || r.contains("docker-compose up")
            || r.contains("docker container run")
    }) || st
        .name
        .as_deref()
        .is_some_and(|n| n.to_ascii_lowercase().contains("smoke"))
}

/// Substitutes `${{ matrix.k }}` with each matrix combination's value.
fn expand(pattern: &str, job: &Job) -> Option<Vec<String>> {
    let mut outs = vec![pattern.to_string()];
    for (k, vals, _) in &job.matrix {
        let re = regex::Regex::new(&format!(
            r"\$\{{\{{\s*matrix\.{}\s*\}}\}}",
            regex::escape(k)
        ))
        .unwrap();
        if !re.is_match(pattern) {
            continue;
        }
        let vals = vals.as_ref()?;
        outs = outs
            .iter()
            .flat_map(|o| {
                vals.iter()
                    .map(|v| re.replace_all(o, v.as_str()).into_owned())
                    .collect::<Vec<_>>()
            })
            .collect();
    }
    if outs.iter().any(|o| o.contains("${{")) {
        return None;
    }
    Some(outs)
}

/// The compose services an image build serves (all when unknown).
fn served<'a>(p: &'a Project, job: &Job, b: &Build) -> Vec<&'a ServiceNode> {
    let files = b.dockerfile.as_deref().and_then(|f| expand(f, job));
    match files {
        Some(files) => files
            .iter()
            .filter_map(|f| join("", f))
            .filter_map(|f| p.graph.image(&f))
            .flat_map(|img| img.services.iter().map(|&i| &p.graph.services[i]))
            .collect(),
        None => p.graph.services.iter().collect(),
    }
}

fn placeholder(p: &Project, svc: &ServiceNode, name: &str) -> String {
    let provider = svc
        .prisma
        .as_deref()
        .and_then(|s| p.prisma_schema(s))
        .and_then(|s| s.provider.clone());
    let is_url = name.ends_with("_URL") || name.ends_with("_URI");
    match (is_url, provider.as_deref()) {
        (true, Some("mongodb")) if name.contains("DATABASE") => {
            "mongodb://127.0.0.1:27017/smoke".into()
        }
        (true, Some("postgresql" | "postgres")) if name.contains("DATABASE") => {
            "postgresql://smoke:smoke@127.0.0.1:5432/smoke".into()
        }
        (true, Some("mysql")) if name.contains("DATABASE") => {
            "mysql://smoke:smoke@127.0.0.1:3306/smoke".into()
        }
        (true, _) => "http://127.0.0.1:9/smoke".into(),
        _ => "smoke-test".into(),
    }
}

fn yaml_dq(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The step's YAML (two-space indented, one sequence item).
pub fn smoke_step(p: &Project, wf: &Workflow, job: &Job, b: &Build) -> Option<String> {
    let image = b.image.as_deref()?;
    let mut env: Vec<(String, String)> = vec![("NODE_ENV".into(), "production".into())];
    for svc in served(p, job, b) {
        for r in &svc.required_env {
            let ok = r
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !r.value.is_empty();
            if ok && !env.iter().any(|(k, _)| *k == r.value) {
                env.push((r.value.clone(), placeholder(p, svc, &r.value)));
            }
        }
    }
    let flags: Vec<String> = env
        .iter()
        .map(|(k, v)| format!("  -e \"{k}={v}\" \\"))
        .collect();
    let pull = if b.needs_pull {
        "docker pull \"$IMAGE\""
    } else {
        ""
    };
    let tpl = body(p.templates.get("smoke-test.sh"));
    let mut script = String::new();
    for line in tpl.lines() {
        match line.trim() {
            "{{pull}}" if pull.is_empty() => {}
            "{{env_flags}}" => {
                for f in &flags {
                    script.push_str(f);
                    script.push('\n');
                }
            }
            _ => {
                script.push_str(&fill(line, &[("pull", pull)]));
                script.push('\n');
            }
        }
    }
    let on_pr = wf.events.iter().any(|e| e.starts_with("pull_request"));
    let mut step = String::from("- name: Smoke test the built image\n");
    if b.needs_pull && on_pr {
        step.push_str("  if: github.event_name != 'pull_request'\n");
    }
    step.push_str(&format!(
        "  env:\n    IMAGE: {}\n  run: |\n",
        yaml_dq(image)
    ));
    for l in script.lines() {
        if l.is_empty() {
            step.push('\n');
        } else {
            step.push_str(&format!("    {l}\n"));
        }
    }
    Some(step)
}

fn check(p: &Project, out: &mut Vec<Finding>) {
    for wf in &p.workflows {
        let src = &p.files[wf.file];
        for job in &wf.jobs {
            for b in builds(job) {
                let later = job.steps.iter().skip(b.step.index + 1).any(runs_image);
                if later {
                    continue;
                }
                let mut f = RULE.finding(
                    &src.rel,
                    b.step.line,
                    src.line_col(b.step.node.start).1,
                    format!(
                        "Job `{}` builds {} and never starts it: an image that dies on start ships anyway.",
                        job.id,
                        b.image.as_deref().map(|i| format!("`{i}`")).unwrap_or_else(|| "an image".into())
                    ),
                );
                let fix = smoke_step(p, wf, job, &b)
                    .ok_or_else(|| {
                        if b.compose {
                            "images built by `docker compose build`: add a step running `docker compose up -d --wait` then `docker compose down`".to_string()
                        } else {
                            "the built image has no tag to start".to_string()
                        }
                    })
                    .and_then(|step| {
                        let seq = job.steps_node.as_ref().ok_or("no steps")?;
                        insert_seq_item_after(
                            src,
                            &wf.doc,
                            seq,
                            b.step.index,
                            vec!["jobs".into(), job.id.clone(), "steps".into()],
                            &step,
                        )
                    });
                match fix {
                    Ok((edit, expect)) => {
                        f.fix = Some(Fix {
                            title: "Insert a smoke-test step after the build".into(),
                            safety: Safety::Safe,
                            unsafe_reason: None,
                            changes: vec![crate::finding::FileChange {
                                path: src.rel.clone(),
                                edits: vec![edit],
                                expect: vec![expect],
                            }],
                        })
                    }
                    Err(e) => f.no_fix_reason = Some(e),
                }
                out.push(f);
            }
        }
    }
}
