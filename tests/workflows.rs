//! GHA001-GHA003: smoke-test steps inserted into real-looking workflows,
//! validated with actionlint and shellcheck, and executed against a stub
//! `docker`.

mod common;

use common::*;
use std::collections::BTreeSet;
use std::process::Command;
use yaml_rust2::YamlLoader;

const WF: &str = ".github/workflows/docker-build.yml";

#[test]
fn rules_fire_where_planted() {
    let f = findings(&fixture("nomadnet"), "GHA");
    let got: BTreeSet<(String, String, u64)> = f
        .iter()
        .map(|x| {
            (
                x["code"].as_str().unwrap().into(),
                x["path"].as_str().unwrap().into(),
                x["line"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String, u64)> = [
        ("GHA001", 42),
        ("GHA001", 65),
        ("GHA002", 19),
        ("GHA003", 47),
    ]
    .into_iter()
    .map(|(c, l)| (c.to_string(), WF.to_string(), l))
    .collect();
    assert_eq!(got, want);
    let gha002 = f.iter().find(|x| x["code"] == "GHA002").unwrap();
    assert_eq!(gha002["service"], "recommendation-service");
}

fn run_script(wf_text: &str, job: &str) -> String {
    let docs = YamlLoader::load_from_str(wf_text).unwrap();
    let steps = docs[0]["jobs"][job]["steps"].as_vec().unwrap();
    let smoke = steps
        .iter()
        .find(|s| s["name"].as_str() == Some("Smoke test the built image"))
        .expect("smoke step");
    let script = smoke["run"].as_str().unwrap().to_string();
    assert!(
        !script.contains("${{"),
        "no expression may reach the script: {script}"
    );
    script
}

#[test]
fn fixed_workflow_passes_actionlint_and_shellcheck_and_is_byte_exact() {
    let dir = copy_fixture("nomadnet");
    let before = std::fs::read_to_string(dir.path().join(WF)).unwrap();
    let d = run(
        &["fix", "--diff", "--unsafe-fixes", "--select", "GHA001", "."],
        dir.path(),
    );
    git(&["init", "-q"], dir.path());
    git_apply(dir.path(), &d.raw);
    let after = std::fs::read_to_string(dir.path().join(WF)).unwrap();
    // Only insertions, and only whole new lines.
    let removed: Vec<&str> = d
        .stdout
        .lines()
        .filter(|l| l.starts_with('-') && !l.starts_with("---"))
        .collect();
    assert!(removed.is_empty(), "{removed:?}");
    // Dropping the inserted smoke-test steps gives back the original, byte for byte.
    let mut rest = String::new();
    let mut skip_indent: Option<usize> = None;
    let mut blanks = String::new();
    for line in after.split_inclusive('\n') {
        let indent = line.len() - line.trim_start().len();
        if let Some(i) = skip_indent {
            if line.trim().is_empty() {
                blanks.push_str(line); // inside the step, or after it: decided below
                continue;
            }
            if indent > i {
                blanks.clear();
                continue;
            }
            skip_indent = None;
            rest.push_str(&std::mem::take(&mut blanks));
        }
        if line.trim_start() == "- name: Smoke test the built image\n"
            || line.trim_start() == "- name: Build the image for the smoke test\n"
        {
            skip_indent = Some(indent);
            continue;
        }
        rest.push_str(line);
    }
    rest.push_str(&blanks);
    assert_eq!(rest, before);
    actionlint_ok(&dir.path().join(WF));
    for job in ["build-backend", "build-frontend"] {
        let script = run_script(&after, job);
        let p = dir.path().join(format!("{job}.sh"));
        std::fs::write(&p, &script).unwrap();
        let sc = Command::new(validator("shellcheck"))
            .args(["-s", "sh"])
            .arg(&p)
            .output()
            .unwrap();
        assert!(
            sc.status.success(),
            "shellcheck {job}: {}",
            String::from_utf8_lossy(&sc.stdout)
        );
    }
    // The backend job's services need DATABASE_URL (Prisma, mongodb) and JWT_SECRET.
    let docs = YamlLoader::load_from_str(&after).unwrap();
    for job in ["build-backend", "build-frontend"] {
        let steps = docs[0]["jobs"][job]["steps"].as_vec().unwrap();
        let smoke = steps
            .iter()
            .find(|s| s["name"].as_str() == Some("Smoke test the built image"))
            .unwrap();
        // The builds push: the test runs on a load-only copy of the build,
        // before the original step, which comes after it unchanged.
        let tag = format!("prodsafe-smoke-{job}:ci");
        assert_eq!(smoke["env"]["IMAGE"].as_str().unwrap(), tag);
        let i = steps
            .iter()
            .position(|s| s["name"].as_str() == Some("Smoke test the built image"))
            .unwrap();
        let build = &steps[i - 1];
        assert_eq!(
            build["name"].as_str(),
            Some("Build the image for the smoke test")
        );
        assert_eq!(build["with"]["load"].as_bool(), Some(true));
        assert_eq!(build["with"]["tags"].as_str(), Some(tag.as_str()));
        assert!(build["with"]["push"].is_badvalue());
        assert!(steps[i + 1]["uses"]
            .as_str()
            .unwrap()
            .starts_with("docker/build-push-action"));
    }
    let backend = run_script(&after, "build-backend");
    assert!(backend.contains("-e \"DATABASE_URL=mongodb://127.0.0.1:27017/smoke\""));
    assert!(backend.contains("-e \"JWT_SECRET=smoke-test\""));
    assert!(
        !backend.contains("docker pull"),
        "nothing is pulled: the image under test was never pushed"
    );
    assert!(backend.contains("# The app may need at start: DATABASE_URL (MongoDB)"));
    let again = run(
        &["fix", "--diff", "--unsafe-fixes", "--select", "GHA001", "."],
        dir.path(),
    );
    assert_eq!((again.code, again.stdout.as_str()), (0, ""));
}

const STUB: &str = r#"#!/bin/sh
echo "$*" >> "$STUB_LOG"
case "$1" in
  pull|rm) exit 0 ;;
  run) echo 0123456789ab; exit 0 ;;
  inspect)
    case "$3" in
      *State.Health*) if [ "$STUB_MODE" = healthy ]; then echo healthy; fi ;;
      *) if [ "$STUB_MODE" = exits ]; then echo exited; else echo running; fi ;;
    esac ;;
  logs)
    if [ "$STUB_MODE" = pnpm ]; then echo "sh: pnpm: not found"; else echo "listening on 3000"; fi ;;
esac
"#;

fn stub_run(script: &str, mode: &str) -> (bool, String) {
    let (ok, log, _) = run_with_stub_docker(
        STUB,
        script,
        &[
            ("IMAGE", "nomadnet/api-gateway:latest"),
            ("STUB_MODE", mode),
        ],
    );
    (ok, log)
}

#[test]
fn generated_script_against_a_stub_docker() {
    let dir = copy_fixture("nomadnet");
    run(
        &["fix", "--unsafe-fixes", "--select", "GHA001", "."],
        dir.path(),
    );
    let script = run_script(
        &std::fs::read_to_string(dir.path().join(WF)).unwrap(),
        "build-backend",
    );
    let (ok, calls) = stub_run(&script, "up");
    assert!(ok, "a container that stays up passes: {calls}");
    assert!(calls.starts_with("run -d --name smoke-"), "{calls}");
    assert!(
        calls
            .trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("rm -f smoke-"),
        "always removed, last: {calls}"
    );
    let (ok, calls) = stub_run(&script, "exits");
    assert!(!ok, "a container that exits fails");
    assert!(
        calls.contains("logs smoke-") && calls.contains("rm -f smoke-"),
        "{calls}"
    );
    let (ok, calls) = stub_run(&script, "pnpm");
    assert!(!ok, "`pnpm: not found` in the logs fails: {calls}");
    assert!(calls.contains("rm -f smoke-"));
    let (ok, calls) = stub_run(&script, "healthy");
    assert!(ok, "{calls}");
    assert_eq!(
        calls.matches("inspect -f {{.State.Status}}").count(),
        1,
        "a healthy container passes at once: {calls}"
    );
}

fn one_workflow(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(".github/workflows/build.yml");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    (dir, p)
}

#[test]
fn crlf_workflow_and_plain_docker_build() {
    let text = "on: push\r\njobs:\r\n  image:\r\n    runs-on: ubuntu-latest\r\n    steps:\r\n      - uses: actions/checkout@v5\r\n      - run: docker build -t app:ci .\r\n      # lint afterwards\r\n      - run: echo finished\r\n";
    let (dir, p) = one_workflow(text);
    let d = run(&["fix", "--diff", "."], dir.path());
    git(&["init", "-q"], dir.path());
    git_apply(dir.path(), &d.raw);
    let after = std::fs::read_to_string(&p).unwrap();
    assert!(
        !after.replace("\r\n", "").contains('\n'),
        "CRLF kept on every line"
    );
    let at = after
        .find("      - name: Smoke test the built image\r\n")
        .expect("inserted");
    assert!(
        at > after.find("docker build").unwrap() && at < after.find("# lint afterwards").unwrap()
    );
    assert!(after.contains("IMAGE: \"app:ci\""));
    assert!(
        !after.contains("docker pull"),
        "a local docker build needs no pull"
    );
    actionlint_ok(&&p);
    assert_eq!(run(&["fix", "--diff", "."], dir.path()).stdout, "");
}

#[test]
fn already_smoke_tested_or_no_images_get_nothing() {
    let (dir, _) = one_workflow("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: docker build -t app .\n      - run: docker run --rm app --version\n  b:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm test\n");
    assert!(findings(dir.path(), "GHA").is_empty());
}

#[test]
fn flow_style_steps_get_a_flow_step() {
    let text = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps: [{uses: actions/checkout@v5}, {run: docker build -t app .}, {run: echo finished}]\n";
    let (dir, p) = one_workflow(text);
    let out = run(&["fix", "."], dir.path());
    assert_eq!(out.code, 0, "{}", out.stderr);
    let after = std::fs::read_to_string(&p).unwrap();
    assert!(after.starts_with("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps: [{uses: actions/checkout@v5}, {run: docker build -t app .}, {name: \"Smoke test the built image\", env: {IMAGE: \"app\"}, run: \"set -eu\\n"), "{after}");
    assert!(after.ends_with("}, {run: echo finished}]\n"));
    let script = run_script(&after, "a");
    assert!(script.contains("docker run -d --name \"$name\""));
    actionlint_ok(&&p);
    assert_eq!(run(&["fix", "--diff", "."], dir.path()).stdout, "");
}

#[test]
fn computed_matrix_gets_a_step_that_works_for_any_value() {
    let text = "on: push\njobs:\n  list:\n    runs-on: ubuntu-latest\n    outputs:\n      services: ${{ steps.s.outputs.services }}\n    steps:\n      - id: s\n        run: echo 'services=[\"a\"]' >> \"$GITHUB_OUTPUT\"\n  build:\n    needs: list\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n        service: ${{ fromJSON(needs.list.outputs.services) }}\n    steps:\n      - uses: docker/build-push-action@v7\n        with:\n          file: apps/${{ matrix.service }}/Dockerfile\n          load: true\n          tags: local/${{ matrix.service }}:ci\n";
    let (dir, p) = one_workflow(text);
    run(&["fix", "."], dir.path());
    let after = std::fs::read_to_string(&p).unwrap();
    assert!(
        after.contains("IMAGE: \"local/${{ matrix.service }}:ci\""),
        "{after}"
    );
    assert!(
        !after.contains("docker pull"),
        "load: true keeps the image local"
    );
    actionlint_ok(&&p);
}

#[test]
fn compose_build_is_found_and_explained() {
    let (dir, _) = one_workflow("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: docker compose -f docker-compose.ci.yml build\n");
    let f = findings(dir.path(), "GHA001");
    assert_eq!(f.len(), 1);
    assert!(f[0]["no_fix_reason"]
        .as_str()
        .unwrap()
        .contains("docker compose up -d --wait"));
    let (dir, _) = one_workflow("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: docker compose build\n      - run: docker compose up -d --wait && docker compose down\n");
    assert!(findings(dir.path(), "GHA001").is_empty());
}
