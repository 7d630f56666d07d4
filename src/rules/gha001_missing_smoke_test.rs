use crate::edit::yaml_insert::insert_seq_item_after;
use crate::finding::{Edit, Expect, FileChange, Finding, Fix, Safety, Severity};
use crate::formats::workflow::{Job, Step, Workflow};
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

## Fix (safe, or unsafe when the app may need a database)
Inserts a step from `templates/smoke-test.sh` that starts the image with
`NODE_ENV=production` and a placeholder of the right type for each
variable the services built by the job require (workspace packages
included): a number for `*_PORT`, `*_COUNT`, `*_LIMIT`, `*_TTL`...,
`true`/`false` for flags, a URL with the scheme the deployment or the
Prisma provider uses for `*_URL` (`postgresql://`, `mongodb://`,
`redis://`). It waits with a bounded loop (for `healthy` when the image
has a healthcheck), fails if the container exits, turns unhealthy or logs
`pnpm: not found`, `command not found`, `Cannot find module` or `[FATAL]`,
prints the logs on failure and always removes the container.

The test runs before the image reaches anyone: after a build that only
loads it locally (`load: true`, `docker build`); before a build that
pushes, behind a copy of that build step with `load: true` (for the
runner's own platform, so it loads and starts without emulation; no push),
so the original step runs unchanged only when the test passes.
A `run:` step that pushes as it builds gets no fix (the reason says how to
split it). Manifest commands (`docker buildx imagetools create`) are not
builds. The image reference goes through `env:`, never into the script.
When a placeholder is a database URL, the step says so in a comment, runs
with `--network host` (so a job service container is reachable), and the
fix is unsafe: it passes only once the job has that service container.
"#,
    check,
};

/// Where the smoke test goes relative to the build step.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// Right after the build step: the image is local and nothing was
    /// pushed yet.
    After,
    /// Before the build step, after a copy of it that only loads the image
    /// locally: the build pushes, and the test must run before users get it.
    Before,
    /// No place: why.
    None(String),
}

/// A step that builds an image, and what the smoke test needs to know.
pub struct Build<'a> {
    pub step: &'a Step,
    /// The image reference (may hold `${{ }}` expressions, several lines).
    pub image: Option<String>,
    pub placement: Placement,
    /// Dockerfile path pattern (may hold `${{ matrix.x }}`).
    pub dockerfile: Option<String>,
    /// Built with `docker compose build` (images named by the compose file).
    pub compose: bool,
}

/// Splits a shell line into words, keeping `${{ ... }}` expressions and
/// quoted strings whole (quotes removed).
pub fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut has = false;
    let b: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == '$' && b.get(i + 1) == Some(&'{') && b.get(i + 2) == Some(&'{') {
            let rest: String = b[i..].iter().collect();
            let end = rest.find("}}").map(|e| e + 2).unwrap_or(rest.len());
            cur.push_str(&rest[..end]);
            has = true;
            i += rest[..end].chars().count();
            continue;
        }
        match c {
            '\'' | '"' => {
                has = true;
                i += 1;
                while i < b.len() && b[i] != c {
                    if c == '"' && b[i] == '\\' && i + 1 < b.len() {
                        i += 1;
                    }
                    cur.push(b[i]);
                    i += 1;
                }
                i += 1;
            }
            c if c.is_whitespace() => {
                if has {
                    out.push(std::mem::take(&mut cur));
                    has = false;
                }
                i += 1;
            }
            _ => {
                cur.push(c);
                has = true;
                i += 1;
            }
        }
    }
    if has {
        out.push(cur);
    }
    out
}

/// The value of `-t X` / `--tag X` / `--tag=X` (or another flag) in `w`.
fn flag_value(w: &[String], short: &str, long: &str) -> Option<String> {
    let mut it = w.iter();
    while let Some(x) = it.next() {
        if x == short || x == long {
            return it.next().cloned();
        }
        if let Some(v) = x.strip_prefix(&format!("{long}=")) {
            return Some(v.to_string());
        }
    }
    None
}

pub fn builds(job: &Job) -> Vec<Build<'_>> {
    let mut out = Vec::new();
    for st in &job.steps {
        if st
            .uses
            .as_deref()
            .is_some_and(|u| u.starts_with("docker/build-push-action"))
        {
            let image = st.with("tags").map(str::to_string);
            let load = st.with("load") == Some("true");
            let push = st.with("push").is_some_and(|v| v.trim() != "false");
            let context = st.with("context").unwrap_or(".");
            let dockerfile = st
                .with("file")
                .map(str::to_string)
                .or_else(|| Some(format!("{}/Dockerfile", context.trim_end_matches('/'))));
            let placement = if load && !push {
                Placement::After
            } else if st.index == 0 {
                Placement::None("the build is the job's first step".into())
            } else {
                Placement::Before
            };
            out.push(Build {
                step: st,
                image,
                placement,
                dockerfile,
                compose: false,
            });
        } else if let Some(run) = &st.run {
            let flat = run.replace("\\\r\n", " ").replace("\\\n", " ");
            let lines: Vec<&str> = flat.lines().collect();
            for (li, line) in lines.iter().enumerate() {
                for cmd in line.split("&&").flat_map(|c| c.split(';')) {
                    let w = words(cmd);
                    let ws: Vec<&str> = w.iter().map(String::as_str).collect();
                    let compose_build = matches!(
                        ws.as_slice(),
                        ["docker", "compose", ..] | ["docker-compose", ..]
                    ) && ws.contains(&"build");
                    let is_build = matches!(
                        ws.as_slice(),
                        ["docker", "build", ..]
                            | ["docker", "buildx", "build", ..]
                            | ["docker", "image", "build", ..]
                            | ["docker", "builder", "build", ..]
                    ) || compose_build;
                    if !is_build {
                        continue;
                    }
                    let image = flag_value(&w, "-t", "--tag");
                    let buildx = ws.get(1) == Some(&"buildx");
                    let pushes_here = ws.contains(&"--push")
                        || ws
                            .iter()
                            .any(|x| x.starts_with("--output") && x.contains("push=true"));
                    let loads = !buildx || ws.contains(&"--load");
                    let pushed_later = lines[li + 1..]
                        .iter()
                        .any(|l| l.contains("docker push") || l.contains("--push"));
                    let placement = if pushes_here {
                        Placement::None("the command pushes as it builds: build with `--load`, smoke-test, then push".into())
                    } else if !loads {
                        Placement::None(
                            "`docker buildx build` without `--load` keeps no local image to start"
                                .into(),
                        )
                    } else if pushed_later {
                        Placement::None("the same step pushes the image after building it: move the push to a later step".into())
                    } else {
                        Placement::After
                    };
                    // `-f FILE`, else `CONTEXT/Dockerfile` (the last word).
                    let context = w
                        .last()
                        .filter(|x| !x.starts_with('-') && w.len() > 2 && x.as_str() != "build")
                        .filter(|x| !x.contains("://") && x.as_str() != "-");
                    let file = flag_value(&w, "-f", "--file")
                        .or_else(|| {
                            context.map(|c| format!("{}/Dockerfile", c.trim_end_matches('/')))
                        })
                        .filter(|_| !compose_build);
                    out.push(Build {
                        step: st,
                        image,
                        placement,
                        dockerfile: file,
                        compose: compose_build,
                    });
                }
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

/// `text` with every `${{ matrix.KEY }}` (any blanks inside the braces)
/// replaced by `value`; None when there is none.
fn substitute_matrix(text: &str, key: &str, value: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut found = false;
    while let Some(at) = rest.find("${{") {
        let after = &rest[at + 3..];
        let Some(close) = after.find("}}") else { break };
        let inner = after[..close].trim();
        out.push_str(&rest[..at]);
        if inner.strip_prefix("matrix.") == Some(key) {
            out.push_str(value);
            found = true;
        } else {
            out.push_str(&rest[at..at + 3 + close + 2]);
        }
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    found.then_some(out)
}

/// Substitutes `${{ matrix.k }}` with each matrix combination's value.
fn expand(pattern: &str, job: &Job) -> Option<Vec<String>> {
    let mut outs = vec![pattern.to_string()];
    for (k, vals, _) in &job.matrix {
        if substitute_matrix(pattern, k, "").is_none() {
            continue;
        }
        let vals = vals.as_ref()?;
        outs = outs
            .iter()
            .flat_map(|o| {
                vals.iter()
                    .map(|v| substitute_matrix(o, k, v).unwrap_or_else(|| o.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
    }
    if outs.iter().any(|o| o.contains("${{")) {
        return None;
    }
    Some(outs)
}

/// The compose services an image build serves (all when unknown), as
/// indices into `graph.services`.
fn served(p: &Project, job: &Job, b: &Build) -> Vec<usize> {
    let files = b.dockerfile.as_deref().and_then(|f| expand(f, job));
    match files {
        Some(files) => files
            .iter()
            .filter_map(|f| join("", f))
            .filter_map(|f| p.graph.image(&f))
            .flat_map(|img| img.services.iter().copied())
            .collect(),
        None => (0..p.graph.services.len()).collect(),
    }
}

const NUMBER_SUFFIXES: &[&str] = &[
    "_PORT",
    "_COUNT",
    "_LIMIT",
    "_TTL",
    "_SIZE",
    "_TIMEOUT",
    "_MS",
    "_SECONDS",
    "_RETRIES",
    "_WORKERS",
    "_CONCURRENCY",
    "_MAX",
    "_MIN",
    "_INTERVAL",
    "_DAYS",
    "_HOURS",
    "_MINUTES",
];

fn is_flag(name: &str) -> bool {
    ["ENABLE_", "DISABLE_", "IS_", "USE_", "ALLOW_", "SKIP_"]
        .iter()
        .any(|p| name.starts_with(p))
        || [
            "_ENABLED",
            "_DISABLED",
            "_DRY_RUN",
            "_DEBUG",
            "_FLAG",
            "_SECURE",
            "_TLS",
            "_SSL",
        ]
        .iter()
        .any(|s| name.ends_with(s))
}

/// A placeholder that has the variable's type, and the database it points
/// at (when it is a database URL).
fn placeholder(p: &Project, si: usize, name: &str) -> (String, Option<&'static str>) {
    let svc = &p.graph.services[si];
    let given = p
        .service_env
        .get(si)
        .and_then(|e| e.get(name))
        .and_then(|g| g.value.clone());
    if name == "PORT" || NUMBER_SUFFIXES.iter().any(|s| name.ends_with(s)) {
        if let Some(v) = given
            .as_deref()
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        {
            return (v.to_string(), None);
        }
        let v = if name == "PORT" || name.ends_with("_PORT") {
            "3000"
        } else if ["_TTL", "_TIMEOUT", "_INTERVAL", "_SECONDS", "_MS"]
            .iter()
            .any(|s| name.ends_with(s))
        {
            "60"
        } else {
            "10"
        };
        return (v.into(), None);
    }
    if let Some(v) = given.as_deref().filter(|v| *v == "true" || *v == "false") {
        return (v.to_string(), None);
    }
    if is_flag(name) {
        return ("false".into(), None);
    }
    let is_url = ["_URL", "_URI", "_DSN"].iter().any(|s| name.ends_with(s));
    if !is_url {
        return ("smoke-test".into(), None);
    }
    // The scheme: the deployment's value, the Prisma provider, the name.
    let scheme_of = |v: &str| v.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    let provider = svc
        .prisma
        .as_deref()
        .and_then(|s| p.prisma_schema(s))
        .or_else(|| (p.prisma.len() == 1).then(|| &p.prisma[0]))
        .and_then(|s| s.provider.clone());
    let upper = name.to_ascii_uppercase();
    let scheme = given
        .as_deref()
        .and_then(scheme_of)
        .filter(|s| !s.contains('$'))
        .or_else(|| {
            if upper.contains("REDIS") || upper.contains("CACHE") {
                Some("redis".into())
            } else if upper.contains("MONGO") {
                Some("mongodb".into())
            } else if upper.contains("POSTGRES") || upper.starts_with("PG") {
                Some("postgresql".into())
            } else if upper.contains("MYSQL") {
                Some("mysql".into())
            } else if upper.contains("AMQP") || upper.contains("RABBIT") {
                Some("amqp".into())
            } else if upper.contains("DATABASE") || upper.starts_with("DB_") {
                Some(provider.clone().unwrap_or_else(|| "postgresql".into()))
            } else {
                None
            }
        })
        .unwrap_or_else(|| "http".into());
    match scheme.as_str() {
        "redis" | "rediss" => ("redis://127.0.0.1:6379".into(), Some("Redis")),
        "mongodb" | "mongodb+srv" => ("mongodb://127.0.0.1:27017/smoke".into(), Some("MongoDB")),
        "postgres" | "postgresql" => (
            format!("{scheme}://smoke:smoke@127.0.0.1:5432/smoke"),
            Some("PostgreSQL"),
        ),
        "mysql" | "mariadb" => (
            "mysql://smoke:smoke@127.0.0.1:3306/smoke".into(),
            Some("MySQL"),
        ),
        "amqp" | "amqps" => ("amqp://guest:guest@127.0.0.1:5672".into(), Some("RabbitMQ")),
        _ if name.ends_with("_DSN") => ("http://smoke@127.0.0.1:9/1".into(), None),
        _ => ("http://127.0.0.1:9/smoke".into(), None),
    }
}

fn yaml_dq(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A local tag for the test build (`smoke-<job>:ci`).
fn local_tag(job: &Job) -> String {
    let id: String = job
        .id
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("prodsafe-smoke-{}:ci", id.trim_matches('-'))
}

/// The step that builds the image once more, loaded locally, for the test.
fn test_build_step(b: &Build, tag: &str) -> String {
    let mut step = String::from("- name: Build the image for the smoke test\n");
    if let Some(c) = &b.step.if_cond {
        step.push_str(&format!("  if: {}\n", yaml_dq(c)));
    }
    step.push_str(&format!(
        "  uses: {}\n  with:\n",
        yaml_dq(b.step.uses.as_deref().unwrap_or(""))
    ));
    // No `platforms`: the runner's own platform, which `load` can take and
    // the runner can start without emulation (a fixed `linux/amd64` fails
    // on an arm64 runner without QEMU).
    for (k, v) in &b.step.with {
        match k.as_str() {
            "push" | "load" | "tags" | "outputs" | "cache-to" | "labels" | "annotations"
            | "provenance" | "sbom" | "platforms" => {}
            _ => step.push_str(&format!("    {k}: {}\n", yaml_dq(v))),
        }
    }
    step.push_str(&format!("    load: true\n    tags: {}\n", yaml_dq(tag)));
    step
}

/// The smoke-test step's YAML (two-space indented, one sequence item) and,
/// when the app needs a database at start, which ones.
pub fn smoke_step(
    p: &Project,
    _wf: &Workflow,
    job: &Job,
    b: &Build,
    image: &str,
) -> (String, Vec<String>) {
    let mut env: Vec<(String, String)> = vec![("NODE_ENV".into(), "production".into())];
    let mut dbs: Vec<String> = Vec::new();
    for si in served(p, job, b) {
        let svc = &p.graph.services[si];
        for r in &svc.required_env {
            let ok = r
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !r.value.is_empty();
            if ok && !env.iter().any(|(k, _)| *k == r.value) {
                let (v, db) = placeholder(p, si, &r.value);
                if let Some(db) = db {
                    let note = format!("{} ({db})", r.value);
                    if !dbs.contains(&note) {
                        dbs.push(note);
                    }
                }
                env.push((r.value.clone(), v));
            }
        }
    }
    // Node services whose app code was not found: what they need is unknown.
    // (A build `target` names the stage the image runs.)
    let target_node = b.step.with("target").and_then(|t| {
        let f = b.dockerfile.as_deref().and_then(|f| join("", f))?;
        let df = p.dockerfile(&f)?;
        let st = df.stage_by_name(t)?;
        let runs_node = ["CMD", "ENTRYPOINT"].iter().any(|k| {
            df.last_in(st, k).is_some_and(|i| {
                i.words()
                    .first()
                    .is_some_and(|w| w == "node" || w.ends_with("/node"))
            })
        });
        Some(runs_node || crate::images::is_node(&df.root_image(st)))
    });
    let unknown: Vec<String> = served(p, job, b)
        .into_iter()
        .map(|si| &p.graph.services[si])
        .filter(|svc| target_node.unwrap_or(svc.node) && svc.app_entry.is_none())
        .map(|svc| format!("`{}`", svc.name))
        .collect();
    if !unknown.is_empty() {
        dbs.push(format!(
            "whatever {} need (no app code found to read)",
            unknown.join(", ")
        ));
    }
    // Database URLs read on some paths only: the test may need them too.
    for si in served(p, job, b) {
        for r in &p.graph.services[si].maybe_env {
            if let (_, Some(db)) = placeholder(p, si, &r.value) {
                let note = format!("{} ({db}, read on some paths)", r.value);
                if !dbs.iter().any(|d| d.starts_with(&format!("{} (", r.value))) {
                    dbs.push(note);
                }
            }
        }
    }
    let mut flags: Vec<String> = Vec::new();
    if !dbs.is_empty() {
        flags.push("  --network host \\".into());
    }
    flags.extend(env.iter().map(|(k, v)| format!("  -e \"{k}={v}\" \\")));
    let notes: Vec<String> = if dbs.is_empty() {
        vec![]
    } else {
        vec![
            format!(
                "# The app may need at start: {}. Placeholders point at 127.0.0.1:",
                dbs.join(", ")
            ),
            "# give this job a service container for each database (jobs.<id>.services) and the values it needs.".into(),
        ]
    };
    let tpl = body(p.templates.get("smoke-test.sh"));
    let mut script = String::new();
    for line in tpl.lines() {
        match line.trim() {
            "{{pull}}" => {}
            "{{notes}}" => {
                for n in &notes {
                    script.push_str(n);
                    script.push('\n');
                }
            }
            "{{env_flags}}" => {
                for f in &flags {
                    script.push_str(f);
                    script.push('\n');
                }
            }
            _ => {
                script.push_str(&fill(line, &[("pull", "")]));
                script.push('\n');
            }
        }
    }
    let mut step = String::from("- name: Smoke test the built image\n");
    if let Some(c) = &b.step.if_cond {
        step.push_str(&format!("  if: {}\n", yaml_dq(c)));
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
    (step, dbs)
}

fn check(p: &Project, out: &mut Vec<Finding>) {
    for wf in &p.workflows {
        let src = &p.files[wf.file];
        for job in &wf.jobs {
            for b in builds(job) {
                let later = job.steps.iter().skip(b.step.index + 1).any(runs_image);
                let earlier_test_build = b.step.index > 0
                    && job.steps[..b.step.index]
                        .iter()
                        .rev()
                        .take(2)
                        .any(runs_image);
                if later || earlier_test_build {
                    continue;
                }
                let mut f = RULE.finding(
                    &src.rel,
                    b.step.line,
                    src.line_col(b.step.node.start).1,
                    format!(
                        "Job `{}` builds {} and never starts it: an image that dies on start ships anyway.",
                        job.id,
                        b.image.as_deref().map(|i| format!("`{}`", i.split(['\n', ',']).map(str::trim).filter(|x| !x.is_empty()).collect::<Vec<_>>().join("`, `"))).unwrap_or_else(|| "an image".into())
                    ),
                );
                let path = vec!["jobs".into(), job.id.clone(), "steps".into()];
                let fix: Result<(String, Edit, Vec<Expect>, Vec<String>), String> = (|| {
                    if b.compose {
                        return Err("images built by `docker compose build`: add a step running `docker compose up -d --wait` then `docker compose down`".to_string());
                    }
                    let seq = job.steps_node.as_ref().ok_or("no steps")?;
                    match &b.placement {
                        Placement::None(why) => Err(why.clone()),
                        Placement::After => {
                            let image = b
                                .image
                                .as_deref()
                                .ok_or("the built image has no tag to start")?;
                            let (step, dbs) = smoke_step(p, wf, job, &b, image);
                            let (edit, expect) = insert_seq_item_after(
                                src,
                                &wf.doc,
                                seq,
                                b.step.index,
                                path,
                                &step,
                            )?;
                            Ok((
                                "Insert a smoke-test step after the build".to_string(),
                                edit,
                                vec![expect],
                                dbs,
                            ))
                        }
                        Placement::Before => {
                            let tag = local_tag(job);
                            let build = test_build_step(&b, &tag);
                            let (step, dbs) = smoke_step(p, wf, job, &b, &tag);
                            let after = b.step.index - 1;
                            let (e1, x1) = insert_seq_item_after(
                                src,
                                &wf.doc,
                                seq,
                                after,
                                path.clone(),
                                &build,
                            )?;
                            let (e2, x2) =
                                insert_seq_item_after(src, &wf.doc, seq, after, path, &step)?;
                            let edit = Edit {
                                start: e1.start,
                                end: e1.end,
                                text: format!("{}{}", e1.text, e2.text),
                            };
                            // Both at the same index of the original: the smoke
                            // test first, then the build in front of it.
                            Ok(("Build the image locally and smoke-test it before the step that pushes it".to_string(), edit, vec![x2, x1], dbs))
                        }
                    }
                })(
                );
                match fix {
                    Ok((title, edit, expect, dbs)) => {
                        let (safety, unsafe_reason) = if dbs.is_empty() {
                            (Safety::Safe, None)
                        } else {
                            (
                                Safety::Unsafe,
                                Some(format!(
                                    "the app may need at start {}: the test passes only once the job provides it (a service container, values)",
                                    dbs.join(", ")
                                )),
                            )
                        };
                        f.fix = Some(Fix {
                            title,
                            safety,
                            unsafe_reason,
                            changes: vec![FileChange {
                                path: src.rel.clone(),
                                edits: vec![edit],
                                expect,
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

#[cfg(test)]
mod tests {
    use super::substitute_matrix;

    #[test]
    fn matrix_references_are_substituted_whole() {
        assert_eq!(
            substitute_matrix(
                "u/${{ matrix.service }}:${{matrix.service}}",
                "service",
                "api"
            )
            .as_deref(),
            Some("u/api:api")
        );
        assert_eq!(
            substitute_matrix("u/${{ matrix.services }}", "service", "x"),
            None
        );
        assert_eq!(
            substitute_matrix("${{ env.U }}/${{ matrix.s }}", "s", "a").as_deref(),
            Some("${{ env.U }}/a")
        );
        assert_eq!(substitute_matrix("no refs", "s", "a"), None);
        assert_eq!(substitute_matrix("${{ matrix.s", "s", "a"), None);
    }
}
