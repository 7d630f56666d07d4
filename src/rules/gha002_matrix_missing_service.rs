use std::collections::HashSet;

use crate::finding::{Finding, Severity};
use crate::project::{parent, Project};
use crate::rules::gha001_missing_smoke_test::builds;
use crate::rules::{FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "GHA002",
    name: "matrix-missing-service",
    severity: Severity::Medium,
    fix: FixKind::None,
    summary: "The image build matrix omits a service production deploys",
    doc: r#"## What it checks
A service in a production compose file (a compose file whose name contains
`prod`) that is built from local sources (`build:`), while no build matrix
in the repo's workflows lists it (by service name or by its Dockerfile's
folder name) and no build step names its Dockerfile. Services behind
`profiles:` and services whose build folder is missing (CMP008) are left out.

## Why it breaks production
The service is never rebuilt: production keeps pulling an old `:latest`,
so fixes to it never ship, or a fresh environment has no image at all.

## Example
```yaml
# docker-compose.production.yml builds api, worker and web
strategy:
  matrix:
    service: [api, web]
```

Fixed:
```yaml
strategy:
  matrix:
    service: [api, web, worker]
```

## Fix
None automatic: add the service to the matrix.
"#,
    check,
};

fn check(p: &Project, out: &mut Vec<Finding>) {
    let mut names: HashSet<String> = HashSet::new();
    let mut first_matrix: Option<(String, usize)> = None;
    for wf in &p.workflows {
        for job in &wf.jobs {
            let b = builds(job);
            if b.is_empty() {
                continue;
            }
            for (_, vals, line) in &job.matrix {
                match vals {
                    Some(v) => names.extend(v.iter().cloned()),
                    None => return, // computed matrix: unknowable
                }
                first_matrix.get_or_insert((p.files[wf.file].rel.clone(), *line));
            }
            for x in &b {
                if let Some(f) = &x.dockerfile {
                    if !f.contains("${{") {
                        let f = f.trim_start_matches("./");
                        names.insert(parent(f).rsplit('/').next().unwrap_or("").to_string());
                    }
                }
            }
        }
    }
    let Some((wf_rel, line)) = first_matrix else {
        return;
    };
    for s in &p.graph.services {
        if !s.compose_rel.to_ascii_lowercase().contains("prod") || s.missing_build.is_some() {
            continue;
        }
        let svc = &p.compose[s.compose].services[s.index];
        if svc.build_context.is_none() || !svc.profiles.is_empty() {
            continue;
        }
        let dir_name = s
            .dockerfile
            .as_deref()
            .map(|d| parent(d).rsplit('/').next().unwrap_or("").to_string());
        if names.contains(&s.name) || dir_name.is_some_and(|d| names.contains(&d)) {
            continue;
        }
        let col = p.file(&wf_rel).map(|f| f.first_col(line)).unwrap_or(1);
        let mut f = RULE.finding(
            &wf_rel,
            line,
            col,
            format!("`{}` is deployed by {} from a local build but no build matrix lists it: its image is never rebuilt.", s.name, s.compose_rel),
        );
        f.service = Some(s.name.clone());
        out.push(f);
    }
}
