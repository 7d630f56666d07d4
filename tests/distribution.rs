//! The ways in: pre-commit hooks, the GitHub Action and CI workflows, the
//! container image's Dockerfile, the fleet examples (GitHub matrix and
//! Kubernetes Indexed Job), and the package contents. Each is checked by
//! the tool its users run (pre-commit, actionlint, hadolint,
//! kubernetes-validate, cargo) and, where it holds logic, executed.

mod common;

use common::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn bin_dir() -> PathBuf {
    Path::new(bin()).parent().unwrap().to_path_buf()
}

/// PATH with prodsafe first.
fn path_with_prodsafe() -> String {
    format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Runs python3 with PyYAML (installed with yamllint by .ci/run).
fn py(script: &str, args: &[&str]) -> String {
    let o = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "python3 failed (PyYAML comes with yamllint, installed by .ci/run): {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

// ------------------------------------------------------------- pre-commit

#[test]
fn pre_commit_manifest_is_valid_and_its_files_pattern_covers_what_prodsafe_reads() {
    let pc = validator("pre-commit");
    let manifest = repo_file(".pre-commit-hooks.yaml");
    let o = Command::new(&pc)
        .arg("validate-manifest")
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "pre-commit validate-manifest: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    // Hook ids, entries, and that file names are passed (pre-commit's default).
    let hooks = py(
        "import yaml,sys,json; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        &[manifest.to_str().unwrap()],
    );
    let hooks: serde_json::Value = serde_json::from_str(&hooks).unwrap();
    let ids: Vec<&str> = hooks
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["prodsafe-check", "prodsafe-fix"]);
    assert_eq!(hooks[0]["entry"], "prodsafe check");
    assert_eq!(hooks[1]["entry"], "prodsafe fix");
    for h in hooks.as_array().unwrap() {
        assert!(h.get("pass_filenames").is_none() || h["pass_filenames"] == true);
        assert_eq!(h["files"], hooks[0]["files"]);
    }
    // The `files` pattern (Python `re.search`, as pre-commit applies it)
    // matches every file prodsafe reads in the fixtures, and not others.
    let mut read = Vec::new();
    let mut other = Vec::new();
    for fx in ["nomadnet", "node-app", "polyglot", "nomadnet-after"] {
        let root = fixture(fx);
        for f in walk(&root) {
            let rel = f.strip_prefix(&root).unwrap().to_str().unwrap().to_string();
            if prodsafe::discover::classify(&rel).is_some() || rel.ends_with("prodsafe.toml") {
                read.push(rel);
            } else {
                other.push(rel);
            }
        }
    }
    assert!(read.len() > 40, "{read:?}");
    let script = "import re,sys,json; p=re.compile(sys.argv[1]); print(json.dumps([bool(p.search(x)) for x in json.loads(sys.argv[2])]))";
    let pattern = hooks[0]["files"].as_str().unwrap();
    let hit: Vec<bool> = serde_json::from_str(&py(
        script,
        &[pattern, &serde_json::to_string(&read).unwrap()],
    ))
    .unwrap();
    for (f, h) in read.iter().zip(&hit) {
        assert!(
            h,
            "the hooks' files pattern misses {f}, which prodsafe reads"
        );
    }
    let not_read = [
        "README.md",
        "pnpm-lock.yaml",
        "docs/guide.md",
        "apps/api/notes.txt",
    ];
    let hit: Vec<bool> = serde_json::from_str(&py(
        script,
        &[pattern, &serde_json::to_string(&not_read).unwrap()],
    ))
    .unwrap();
    for (f, h) in not_read.iter().zip(&hit) {
        assert!(!h, "the hooks' files pattern matches {f}");
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out.sort();
    out
}

/// `pre-commit try-repo` runs the hooks from this checkout on a fixture
/// repository, offline (`language: system`, prodsafe on PATH), passing the
/// staged file names as pre-commit does. This needs `prodsafe check FILE...`
/// and `prodsafe fix FILE...` to work on files in the context of their
/// repository.
#[test]
fn pre_commit_try_repo_runs_the_hooks_on_staged_files() {
    let pc = validator("pre-commit");
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("app");
    copy_dir(&fixture("node-app"), &repo);
    for args in [
        vec!["init", "-q", "-b", "main"],
        vec!["add", "-A"],
        vec![
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-q",
            "-m",
            "init",
        ],
    ] {
        assert!(git(&args, &repo).status.success());
    }
    let try_repo = |hook: &str, files: &[&str]| {
        let mut c = Command::new(&pc);
        c.args([
            "try-repo",
            env!("CARGO_MANIFEST_DIR"),
            hook,
            "--verbose",
            "--files",
        ])
        .args(files)
        .current_dir(&repo)
        .env("PATH", path_with_prodsafe())
        .env("PRE_COMMIT_HOME", tmp.path().join("cache"))
        .env("NO_COLOR", "1");
        let o = c.output().unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
        )
    };
    // The entry file has an APP001 finding (the app never checks its
    // variables at start): the check hook fails and names it.
    let (code, out) = try_repo("prodsafe-check", &["src/main.js"]);
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("src/main.js") && out.contains("APP001"),
        "{out}"
    );
    // The fix hook rewrites it (pre-commit fails a hook that changes files).
    let before = std::fs::read(repo.join("src/main.js")).unwrap();
    let (code, out) = try_repo("prodsafe-fix", &["src/main.js"]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("files were modified by this hook"), "{out}");
    assert_ne!(std::fs::read(repo.join("src/main.js")).unwrap(), before);
    let (code, out) = try_repo("prodsafe-check", &["src/main.js"]);
    assert_eq!(code, 0, "after the fix the file is clean: {out}");
}

// ------------------------------------------------------ GitHub Action, CI

/// Every `run:` script of a workflow or action (as JSON: [[name, script, shell]]).
fn run_scripts(file: &Path) -> Vec<(String, String)> {
    let out = py(
        r#"
import yaml, sys, json
d = yaml.safe_load(open(sys.argv[1]))
steps = []
if "runs" in d:
    steps = d["runs"]["steps"]
else:
    for j in d["jobs"].values():
        steps += j.get("steps", [])
print(json.dumps([[s.get("name", s.get("id", "")), s["run"]] for s in steps if "run" in s]))
"#,
        &[file.to_str().unwrap()],
    );
    serde_json::from_str::<Vec<(String, String)>>(&out).unwrap()
}

const WORKFLOWS: [&str; 4] = [
    "action.yml",
    ".github/workflows/ci.yml",
    ".github/workflows/release.yml",
    "examples/fleet/github-actions.yml",
];

#[test]
fn no_expression_reaches_a_shell() {
    // Inputs, matrix values and step outputs enter scripts through `env:`
    // only; `${{ }}` inside `run:` would splice text into the script.
    for f in WORKFLOWS {
        let scripts = run_scripts(&repo_file(f));
        assert!(!scripts.is_empty(), "{f}");
        for (name, script) in scripts {
            assert!(
                !script.contains("${{"),
                "{f}: step `{name}` interpolates an expression into its script"
            );
        }
    }
}

#[test]
fn workflows_pass_actionlint() {
    for f in [
        ".github/workflows/ci.yml",
        ".github/workflows/release.yml",
        "examples/fleet/github-actions.yml",
    ] {
        actionlint_ok(&repo_file(f));
    }
}

/// actionlint reads `uses: ./` (the action at the root) when it checks
/// ci.yml: an input the action does not declare is an error.
#[test]
fn ci_uses_the_action_with_inputs_it_declares() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join(".github/workflows")).unwrap();
    // actionlint finds `./` from the repository root (.git).
    git(&["init", "-q"], tmp.path());
    std::fs::copy(repo_file("action.yml"), tmp.path().join("action.yml")).unwrap();
    let ci = std::fs::read_to_string(repo_file(".github/workflows/ci.yml")).unwrap();
    let wf = tmp.path().join(".github/workflows/ci.yml");
    std::fs::write(&wf, &ci).unwrap();
    let lint = || {
        Command::new(validator("actionlint"))
            .arg("-no-color")
            .arg(".github/workflows/ci.yml")
            .current_dir(tmp.path())
            .output()
            .unwrap()
    };
    let o = lint();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    std::fs::write(
        &wf,
        ci.replace(
            "fail-on: never",
            "fail-on: never\n          no-such-input: x",
        ),
    )
    .unwrap();
    let o = lint();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("no-such-input"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// actionlint does not read action metadata by itself: the composite
/// action's steps are put into a workflow (inputs become workflow_call
/// inputs) so that actionlint checks its expressions, the actions it uses
/// and their inputs, and shellcheck checks its scripts.
#[test]
fn action_steps_pass_actionlint() {
    let tmp = tempfile::tempdir().unwrap();
    let wf = tmp.path().join("action-as-workflow.yml");
    py(
        r#"
import yaml, sys, json
a = yaml.safe_load(open(sys.argv[1]))
assert a["runs"]["using"] == "composite"
inputs = {k: {"type": "string", "required": False, "default": str(v.get("default", ""))} for k, v in a["inputs"].items()}
wf = {"name": "action", "on": {"workflow_call": {"inputs": inputs}},
      "permissions": {"contents": "read", "security-events": "write"},
      "jobs": {"action": {"runs-on": "ubuntu-24.04", "steps": a["runs"]["steps"]}}}
open(sys.argv[2], "w").write(json.dumps(wf, indent=2))
"#,
        &[
            repo_file("action.yml").to_str().unwrap(),
            wf.to_str().unwrap(),
        ],
    );
    actionlint_ok(&wf);
}

/// Runs one `run:` step of the action with bash, as the runner would.
fn action_step(name: &str, env: &[(&str, &str)], cwd: &Path) -> (i32, String) {
    let script = run_scripts(&repo_file("action.yml"))
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no step {name}"))
        .1;
    let mut c = Command::new("bash");
    c.args([
        "--noprofile",
        "--norc",
        "-e",
        "-o",
        "pipefail",
        "-c",
        &script,
    ])
    .current_dir(cwd)
    .env("PATH", path_with_prodsafe())
    .env("NO_COLOR", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    )
}

#[test]
fn action_scripts_check_fail_on_and_fix_diff() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("ws");
    copy_dir(&fixture("node-app"), &ws.join("svc"));
    let out = tmp.path().join("github_output");
    let runner_temp = tmp.path().join("runner");
    std::fs::create_dir_all(&runner_temp).unwrap();
    let outputs = || -> std::collections::BTreeMap<String, String> {
        std::fs::read_to_string(&out)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once('=').map(|(a, b)| (a.into(), b.into())))
            .collect()
    };
    let base = [
        ("GITHUB_OUTPUT", out.to_str().unwrap()),
        ("RUNNER_TEMP", runner_temp.to_str().unwrap()),
    ];
    // check: SARIF written, findings counted, exit code recorded.
    let mut env = base.to_vec();
    env.push(("PATHS", "  svc  \n\n"));
    let (code, log) = action_step("prodsafe check (SARIF)", &env, &ws);
    assert_eq!(code, 0, "{log}");
    let o = outputs();
    assert_eq!(o["exit-code"], "1", "{log}");
    assert_eq!(o["findings"], "1", "{log}");
    let sarif: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&o["sarif-file"]).unwrap()).unwrap();
    assert_eq!(sarif["runs"][0]["results"][0]["ruleId"], "APP001");
    // fail-on: the APP001 finding is medium.
    for (floor, want) in [("low", 1), ("medium", 1), ("high", 0), ("critical", 0)] {
        let (code, log) = action_step(
            "Fail on findings at or above fail-on",
            &[("FAIL_ON", floor), ("SARIF", o["sarif-file"].as_str())],
            &ws,
        );
        assert_eq!(code, want, "fail-on {floor}: {log}");
    }
    // A path that looks like an option stays a path (after `--`): error, not help.
    std::fs::remove_file(&out).unwrap();
    let mut env = base.to_vec();
    env.push(("PATHS", "--help"));
    let (code, log) = action_step("prodsafe check (SARIF)", &env, &ws);
    assert_eq!(code, 2, "{log}");
    assert!(log.contains("prodsafe check failed"), "{log}");
    // fix --diff: a patch git accepts.
    let mut env = base.to_vec();
    env.push(("PATHS", "svc"));
    let (code, log) = action_step("prodsafe fix --diff", &env, &ws);
    assert_eq!(code, 0, "{log}");
    let patch = std::fs::read(&outputs()["patch-file"]).unwrap();
    // Paths are relative to the checked folder: `git -C svc apply`.
    assert!(String::from_utf8_lossy(&patch).contains("+++ b/src/main.js"));
    git(&["init", "-q"], &ws.join("svc"));
    git_apply(&ws.join("svc"), &patch);
    // The install plan: versions must look like versions.
    let plan_env = |v: &'static str, r: &'static str| {
        let mut e = base.to_vec();
        e.extend([
            ("VERSION", v),
            ("ACTION_REF", r),
            ("ACTION_REPO", "prodsafe/prodsafe"),
            ("FAIL_ON", "high"),
            ("RUNNER_OS", "Linux"),
            ("RUNNER_ARCH", "X64"),
            ("GITHUB_ACTION_PATH", env!("CARGO_MANIFEST_DIR")),
            ("HOME", "/nonexistent"),
        ]);
        e
    };
    std::fs::remove_file(&out).ok();
    let (code, log) = action_step(
        "Choose how to install prodsafe",
        &plan_env("", "v1.2.3"),
        &ws,
    );
    assert_eq!(code, 0, "{log}");
    assert_eq!(outputs()["mode"], "release");
    assert_eq!(outputs()["target"], "x86_64-unknown-linux-musl");
    assert_eq!(outputs()["version"], "1.2.3");
    std::fs::remove_file(&out).ok();
    let (code, log) = action_step("Choose how to install prodsafe", &plan_env("", "main"), &ws);
    assert_eq!(code, 0, "{log}");
    assert_eq!(outputs()["mode"], "source");
    assert!(outputs()["key"].starts_with("prodsafe-Linux-X64-"));
    let (code, log) = action_step(
        "Choose how to install prodsafe",
        &plan_env("1.2; rm -rf /", "main"),
        &ws,
    );
    assert_eq!(code, 2, "{log}");
    assert!(log.contains("version must look like 1.2.3"), "{log}");
}

// ------------------------------------------------------------- container

#[test]
fn dockerfile_passes_hadolint_and_prodsafe() {
    let o = Command::new(validator("hadolint"))
        .arg("--no-color")
        .arg(repo_file("Dockerfile"))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "hadolint: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    // prodsafe's own check on the Dockerfile, .dockerignore and workflows.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join(".github/workflows")).unwrap();
    for f in [
        "Dockerfile",
        ".dockerignore",
        ".github/workflows/ci.yml",
        ".github/workflows/release.yml",
    ] {
        std::fs::copy(repo_file(f), root.join(f)).unwrap();
    }
    let out = run(&["check", "--format", "json", "."], root);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["findings"], serde_json::json!([]));
    // It is really read: without the USER line the runtime runs as root.
    let text = std::fs::read_to_string(repo_file("Dockerfile")).unwrap();
    assert!(text.contains("\nUSER 65532:65532\n"));
    std::fs::write(
        root.join("Dockerfile"),
        text.replace("\nUSER 65532:65532\n", "\n"),
    )
    .unwrap();
    let codes: Vec<String> = findings(root, "ALL")
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes, ["DKR003"]);
    // And without the release workflow's smoke test, GHA001.
    let rel = std::fs::read_to_string(repo_file(".github/workflows/release.yml")).unwrap();
    let (a, b) = (
        rel.find("      - name: Smoke test").unwrap(),
        rel.find("      - name: Push").unwrap(),
    );
    std::fs::write(
        root.join(".github/workflows/release.yml"),
        format!("{}{}", &rel[..a], &rel[b..]),
    )
    .unwrap();
    std::fs::write(root.join("Dockerfile"), &text).unwrap();
    let codes: Vec<String> = findings(root, "ALL")
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes, ["GHA001"]);
    // The runtime stage: distroless, a numeric non-root user, exec-form entrypoint.
    assert!(text.contains("FROM gcr.io/distroless/static-debian12:nonroot\n"));
    assert!(text.contains("ENTRYPOINT [\"/usr/local/bin/prodsafe\"]\n"));
    assert!(text.contains("-unknown-linux-musl"));
}

// ----------------------------------------------------------------- fleet

#[test]
fn fleet_examples_validate() {
    let wf = repo_file("examples/fleet/github-actions.yml");
    actionlint_ok(&wf);
    // The matrix has SHARDS entries, 1..N.
    let shards = py(
        r#"
import yaml, sys
d = yaml.safe_load(open(sys.argv[1]))
print(d["env"]["SHARDS"], d["jobs"]["shard"]["strategy"]["matrix"]["shard"])
"#,
        &[wf.to_str().unwrap()],
    );
    assert_eq!(shards.trim(), "4 [1, 2, 3, 4]");
    let job = repo_file("examples/fleet/k8s-indexed-job.yaml");
    let merge = repo_file("examples/fleet/k8s-merge-job.yaml");
    let o = Command::new(validator("kubernetes-validate"))
        .args(["--strict", "--quiet"])
        .arg(&job)
        .arg(&merge)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "kubernetes-validate: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    // A misspelt field is caught (the validator really reads the spec).
    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        bad.path(),
        std::fs::read_to_string(&job)
            .unwrap()
            .replace("completionMode:", "completionMod:"),
    )
    .unwrap();
    let o = Command::new(validator("kubernetes-validate"))
        .args(["--strict", "--quiet"])
        .arg(bad.path())
        .output()
        .unwrap();
    assert!(!o.status.success());
    // The Job: Indexed, N pods, --shard $(JOB_COMPLETION_INDEX)/N, the
    // ConfigMap's script is select-shard.sh byte for byte, and the merge
    // Job names every shard.
    let facts = py(
        r#"
import yaml, sys, json
docs = list(yaml.safe_load_all(open(sys.argv[1])))
cm = [d for d in docs if d["kind"] == "ConfigMap"][0]
job = [d for d in docs if d["kind"] == "Job"][0]
merge = yaml.safe_load(open(sys.argv[2]))
c = job["spec"]["template"]["spec"]["containers"][0]
print(json.dumps({
  "mode": job["spec"]["completionMode"], "completions": job["spec"]["completions"],
  "parallelism": job["spec"]["parallelism"], "args": c["args"], "image": c["image"],
  "script": cm["data"]["select-shard.sh"], "repos": cm["data"]["repos.txt"],
  "init": job["spec"]["template"]["spec"]["initContainers"][0]["command"],
  "merge": merge["spec"]["template"]["spec"]["containers"][0]["args"],
  "user": job["spec"]["template"]["spec"]["securityContext"]["runAsUser"],
}))
"#,
        &[job.to_str().unwrap(), merge.to_str().unwrap()],
    );
    let f: serde_json::Value = serde_json::from_str(&facts).unwrap();
    assert_eq!(f["mode"], "Indexed");
    assert_eq!(f["completions"], 4);
    assert_eq!(f["parallelism"], 4);
    assert_eq!(f["user"], 65532);
    let args: Vec<&str> = f["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let at = args.iter().position(|a| *a == "--shard").unwrap();
    assert_eq!(args[at + 1], "$(JOB_COMPLETION_INDEX)/4");
    assert!(args.contains(&"--exit-zero") && args.contains(&"/out/shard-$(JOB_COMPLETION_INDEX)"));
    assert!(f["image"]
        .as_str()
        .unwrap()
        .starts_with("ghcr.io/prodsafe/prodsafe:"));
    assert_eq!(
        f["script"].as_str().unwrap(),
        std::fs::read_to_string(repo_file("examples/fleet/select-shard.sh")).unwrap()
    );
    assert_eq!(
        f["repos"].as_str().unwrap(),
        std::fs::read_to_string(repo_file("examples/fleet/repos.txt")).unwrap()
    );
    assert_eq!(f["init"][3], "$(JOB_COMPLETION_INDEX)");
    assert_eq!(
        f["merge"],
        serde_json::json!([
            "merge-summaries",
            "/out/shard-0",
            "/out/shard-1",
            "/out/shard-2",
            "/out/shard-3",
            "--output",
            "/out/summary.json"
        ])
    );
    // shellcheck on the shared script.
    let o = Command::new(validator("shellcheck"))
        .arg(repo_file("examples/fleet/select-shard.sh"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
}

/// The Indexed Job's flow without Kubernetes: for every 0-based index I,
/// select-shard.sh clones (a fake `git` copies fixtures) exactly the repos
/// `prodsafe --shard I/N` then processes; the shards' patches and the
/// merged summary equal the unsharded run byte for byte.
#[test]
fn select_shard_clones_exactly_what_prodsafe_processes() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path();
    // A fake git: `git clone --quiet --depth 1 -- URL DEST` copies a fixture.
    let fakebin = base.join("fakebin");
    std::fs::create_dir_all(&fakebin).unwrap();
    let fake = fakebin.join("git");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nset -eu\nfor last; do :; done\nmkdir -p \"$last\"\ncase \"$last\" in *odd*) src={poly} ;; *) src={node} ;; esac\ncp -R \"$src/.\" \"$last/\"\necho \"$last\" >> {log}\n",
            poly = fixture("polyglot").display(),
            node = fixture("node-app").display(),
            log = base.join("clones.log").display()
        ),
    )
    .unwrap();
    set_mode(&fake, 0o755);
    let list = base.join("repos.txt");
    std::fs::write(
        &list,
        "# fleet\n  acme/shop  \nacme/odd-one\n\nhttps://github.com/other/shop.git\nacme/shop\nacme/api\nacme/odd-two\nacme/web\n",
    )
    .unwrap();
    let script = repo_file("examples/fleet/select-shard.sh");
    let sel = |k: &str, n: &str, work: &Path| {
        let o = Command::new("sh")
            .arg(&script)
            .arg(&list)
            .args([k, n])
            .arg(work)
            .env(
                "PATH",
                format!("{}:{}", fakebin.display(), std::env::var("PATH").unwrap()),
            )
            .output()
            .unwrap();
        (
            o.status.code().unwrap(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let n = 3;
    // The unsharded run, with every repo cloned.
    let all = base.join("all");
    let (code, err) = sel("1", "1", &all);
    assert_eq!(code, 0, "{err}");
    let listed = std::fs::read_to_string(all.join("list.txt")).unwrap();
    assert_eq!(
        listed.lines().count(),
        6,
        "duplicates dropped, comments skipped: {listed}"
    );
    let whole = run(
        &[
            "fix",
            "--diff",
            "--exit-zero",
            "--patch-dir",
            "out-all",
            "--repos-from",
            "all/list.txt",
        ],
        base,
    );
    assert_eq!(whole.code, 0, "{}", whole.stderr);
    let mut dirs = Vec::new();
    let mut union = BTreeSet::new();
    for i in 0..n {
        std::fs::remove_file(base.join("clones.log")).ok();
        let work = base.join(format!("w{i}"));
        let (code, err) = sel(&i.to_string(), &n.to_string(), &work);
        assert_eq!(code, 0, "{err}");
        let cloned: BTreeSet<String> = std::fs::read_to_string(base.join("clones.log"))
            .unwrap()
            .lines()
            .map(|l| l.rsplit_once(&format!("w{i}/")).unwrap().1.to_string())
            .collect();
        let out = format!("out-{i}");
        let r = run(
            &[
                "fix",
                "--diff",
                "--exit-zero",
                "--patch-dir",
                &out,
                "--repos-from",
                &format!("w{i}/list.txt"),
                "--shard",
                &format!("{i}/{n}"),
            ],
            base,
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        let s: serde_json::Value =
            serde_json::from_slice(&std::fs::read(base.join(&out).join("summary.json")).unwrap())
                .unwrap();
        let processed: BTreeSet<String> = s["repos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                assert_eq!(r["errors"], serde_json::json!([]), "{r}");
                r["root"]
                    .as_str()
                    .unwrap()
                    .rsplit_once(&format!("w{i}/"))
                    .unwrap()
                    .1
                    .to_string()
            })
            .collect();
        assert_eq!(cloned, processed, "index {i}: cloned vs processed");
        assert!(union.is_disjoint(&processed));
        union.extend(processed);
        for e in std::fs::read_dir(base.join(&out)).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            if name != "summary.json" {
                assert_eq!(
                    std::fs::read(e.path()).unwrap(),
                    std::fs::read(base.join("out-all").join(&name)).unwrap(),
                    "{name}"
                );
            }
        }
        dirs.push(out);
    }
    assert_eq!(union.len(), 6);
    // Roots differ (w0/.. vs all/..), so compare the merge with the whole
    // run after mapping roots; everything else is byte for byte.
    let mut args = vec!["merge-summaries"];
    args.extend(dirs.iter().map(String::as_str));
    let m = run(&args, base);
    assert_eq!(m.code, 0, "{}", m.stderr);
    let normalise = |s: &str| {
        regex::Regex::new(r#""root": "[^"]*/(w[0-9]+|all)/"#)
            .unwrap()
            .replace_all(s, "\"root\": \"W/")
            .into_owned()
    };
    assert_eq!(
        normalise(&m.stdout),
        normalise(&std::fs::read_to_string(base.join("out-all/summary.json")).unwrap())
    );
    // Bad entries stop the shard before anything is cloned.
    for bad in [
        "../etc/x",
        "-o/x",
        "acme/..",
        "acme/-x",
        "acme/shop;rm",
        "acme",
        "https://evil.example/a/b",
    ] {
        std::fs::write(&list, format!("acme/ok\n{bad}\n")).unwrap();
        std::fs::remove_file(base.join("clones.log")).ok();
        let (code, err) = sel("1", "1", &base.join("bad"));
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(err.contains("not owner/name"), "{bad}: {err}");
    }
    for (k, nn) in [("4", "3"), ("x", "3"), ("1", "0")] {
        let (code, _) = sel(k, nn, &base.join("bad2"));
        assert_eq!(code, 2, "{k}/{nn}");
    }
}

// --------------------------------------------------------------- package

#[test]
fn package_ships_what_builds_and_tests_need_without_warnings() {
    let o = Command::new(env!("CARGO"))
        .args(["package", "--list", "--allow-dirty", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(!stderr.contains("warning"), "cargo package warns: {stderr}");
    let files: BTreeSet<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(String::from)
        .collect();
    for must in [
        "LICENSE",
        "CHANGELOG.md",
        "README.md",
        "Cargo.lock",
        "src/main.rs",
        "templates/env-guard.ts",
        "schemas/summary.schema.json",
        "tests/common/mod.rs",
    ] {
        assert!(files.contains(must), "{must} not packaged");
    }
    // Every test and every fixture file tests use; no bench, CI scripts, build output.
    for e in std::fs::read_dir(repo_file("tests")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".rs") {
            assert!(
                files.contains(&format!("tests/{name}")),
                "tests/{name} not packaged"
            );
        }
    }
    for f in walk(&repo_file("fixtures")) {
        let rel = f
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(files.contains(&rel), "{rel} not packaged");
    }
    for f in &files {
        assert!(
            !(f.starts_with("bench/")
                || f.starts_with(".ci/")
                || f.starts_with("target/")
                || f.starts_with("node_modules/")),
            "{f} is packaged"
        );
    }
}

// ---------------------------------------------------------------- README

#[test]
fn readme_commands_and_install_ways() {
    let readme = std::fs::read_to_string(repo_file("README.md")).unwrap();
    // The test command installs what the tests need; .ci/run checks every
    // validator the tests call.
    assert!(
        readme.contains("\nbash .ci/run\n"),
        "README lacks `bash .ci/run`"
    );
    let ci = std::fs::read_to_string(repo_file(".ci/run")).unwrap();
    for tool in [
        "shellcheck",
        "actionlint",
        "hadolint",
        "yamllint",
        "pre-commit",
        "kubernetes-validate",
        "tsc",
        "groff",
    ] {
        assert!(ci.contains(tool), ".ci/run does not check {tool}");
    }
    // Every way in is listed.
    let install = &readme[readme.find("## Install").unwrap()..];
    let install = &install[..install[3..].find("\n## ").unwrap()];
    for way in [
        "cargo install --locked",
        "releases/download/v",
        "docker run --rm -v \"$PWD:/src\"",
        ".pre-commit-config.yaml",
        "uses: prodsafe/prodsafe@v",
    ] {
        assert!(install.contains(way), "install section lacks {way}");
    }
    // The pre-commit snippet is a valid config naming the hook ids.
    let at = install.find("```yaml\n").unwrap() + 8;
    let snippet = &install[at..at + install[at..].find("```").unwrap()];
    assert!(snippet.contains("id: prodsafe-check"));
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), snippet).unwrap();
    let o = Command::new(validator("pre-commit"))
        .arg("validate-config")
        .arg(f.path())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}
