//! Issue 12 patterns on `fixtures/env-patterns`: which variables a service
//! truly needs (defaults, presence checks, try/catch, logging, functions,
//! workspace packages, tsconfig paths, Prisma only with the client), which
//! it gets (merge keys, env_file, interpolation with the compose `.env`),
//! existing validation extended instead of duplicated, guards placed after
//! dotenv and never inside a comment, compiled with tsc and run with node;
//! smoke tests that run before the push, with placeholders the app accepts.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use yaml_rust2::YamlLoader;

fn by_service(f: &[serde_json::Value]) -> BTreeMap<String, serde_json::Value> {
    f.iter()
        .map(|x| (x["service"].as_str().unwrap().to_string(), x.clone()))
        .collect()
}

#[test]
fn requiredness_validation_and_safety_per_service() {
    let f = findings(&fixture("env-patterns"), "APP001");
    let s = by_service(&f);
    let title = |svc: &str| s[svc]["fix"]["title"].as_str().unwrap().to_string();
    let safety = |svc: &str| s[svc]["fix"]["safety"].as_str().unwrap().to_string();
    let no_fix = |svc: &str| s[svc]["no_fix_reason"].as_str().unwrap().to_string();
    // api: defaults, presence checks, try/catch, logging, destructuring
    // defaults are optional; SDK_PUBLIC_KEY is checked by the workspace
    // package itself; DATABASE_URL because db.ts imports the Prisma client;
    // both are given (merge key, env_file) to `api` and, through
    // `extends`, to `api-canary`, which runs the same entry: safe.
    assert_eq!(title("api"), "Check DATABASE_URL, JWT_SECRET at start-up");
    assert_eq!(safety("api"), "safe");
    // billing: reads through a function called at start and through a
    // tsconfig `paths` package; its deployment gives none of them.
    assert_eq!(
        title("billing"),
        "Check BILLING_PORT, CACHE_URL, BILLING_DRY_RUN, BILLING_CURRENCY, STRIPE_KEY at start-up"
    );
    assert_eq!(safety("billing"), "unsafe");
    let text = run(
        &["check", "--select", "APP001", "."],
        &fixture("env-patterns"),
    )
    .stdout;
    assert!(
        text.contains("unsafe fix, the guard would stop a service its deployment runs today: `billing` (docker-compose.yml) does not get BILLING_PORT, CACHE_URL, BILLING_DRY_RUN, BILLING_CURRENCY, STRIPE_KEY (see CMP005)"),
        "{text}"
    );
    // guarded: its own check (template literal element) is extended;
    // REDIS_URL is already checked through a local variable.
    assert_eq!(
        title("guarded"),
        "Add JWT_SECRET to the existing start-up check"
    );
    assert_eq!(safety("guarded"), "safe");
    // worker validates with envalid: its schema is extended, no second guard
    // (unsafe: compose does not give WORKER_TOKEN).
    assert_eq!(
        title("worker"),
        "Add WORKER_TOKEN to the app's envalid `cleanEnv`"
    );
    assert_eq!(safety("worker"), "unsafe");
    assert_eq!(
        s["worker"]["fix"]["changes"][0]["path"],
        "apps/worker/src/config.ts"
    );
    assert!(no_fix("late").contains("loaded inside `main()`"));
    assert!(no_fix("early").contains("`EARLY_KEY` is read at line 3 before"));
    for quiet in ["logger", "web", "lost"] {
        assert!(!s.contains_key(quiet), "{quiet}: {:?}", s.get(quiet));
    }
    assert!(no_fix("eager").contains(
        "`EAGER_REGION` is used at apps/eager/src/settings.ts:1 as soon as that module is imported"
    ));
    // listed: its own list, checked in a function called at start, in
    // another module: that list is extended, in that file.
    assert_eq!(
        title("listed"),
        "Add LISTED_B to the existing start-up check"
    );
    assert_eq!(safety("listed"), "safe");
    assert_eq!(
        s["listed"]["fix"]["changes"][0]["path"],
        "apps/listed/src/env.ts"
    );
    assert_eq!(s.len(), 8);

    let c = findings(&fixture("env-patterns"), "CMP005");
    let got: Vec<(String, String)> = c
        .iter()
        .map(|x| {
            (
                x["service"].as_str().unwrap().to_string(),
                x["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let names = |svc: &str| -> Vec<String> {
        got.iter()
            .filter(|(s, _)| s == svc)
            .filter_map(|(_, m)| m.split(" requires ").nth(1))
            .map(|m| m.split(' ').next().unwrap().to_string())
            .collect()
    };
    assert_eq!(names("worker"), vec!["WORKER_TOKEN", "QUEUE_NAME"]);
    assert_eq!(
        names("billing"),
        vec![
            "BILLING_PORT",
            "CACHE_URL",
            "BILLING_DRY_RUN",
            "BILLING_CURRENCY",
            "STRIPE_KEY"
        ]
    );
    assert!(names("api").is_empty(), "merge key and env_file give them");
    assert!(names("api-canary").is_empty(), "so does `extends`");
    assert!(
        names("guarded").is_empty(),
        "`${{JWT_SECRET}}` comes from the compose .env"
    );
    assert!(got
        .iter()
        .any(|(s, m)| s == "lost"
            && m.contains("env_file apps/lost/missing.env, which does not exist")));
    assert_eq!(got.len(), 8);

    // The inventory tells required from maybe.
    let out = run(
        &["inventory", "--format", "json", "."],
        &fixture("env-patterns"),
    );
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let api = v["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["service"] == "api")
        .unwrap();
    assert_eq!(
        api["required_env"],
        serde_json::json!(["DATABASE_URL", "JWT_SECRET", "SDK_PUBLIC_KEY"])
    );
    assert_eq!(api["maybe_env"], serde_json::json!(["GITHUB_CLIENT_ID"]));
    let md = run(
        &["inventory", "--format", "markdown", "."],
        &fixture("env-patterns"),
    );
    assert!(
        md.stdout.contains("(maybe: GITHUB_CLIENT_ID)"),
        "{}",
        md.stdout
    );
}

const DOTENV_STUB: &str = r#"const fs = require('fs');
const path = require('path');
function config() {
  let t = '';
  try { t = fs.readFileSync(path.join(process.cwd(), '.env'), 'utf8'); } catch (e) { return {}; }
  for (const l of t.split('\n')) {
    const m = l.match(/^([A-Z_][A-Z0-9_]*)=(.*)$/);
    if (m && process.env[m[1]] === undefined) process.env[m[1]] = m[2];
  }
  return {};
}
module.exports = { config };
"#;

/// Compiles the fixture with tsc into out/ and installs tiny runtime stubs
/// for its dependencies (dotenv, the Prisma client, the workspace packages).
fn compile(dir: &Path) {
    let tsc = Command::new(validator("tsc"))
        .args(["-p", "tsconfig.json"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        tsc.status.success(),
        "tsc: {}{}",
        String::from_utf8_lossy(&tsc.stdout),
        String::from_utf8_lossy(&tsc.stderr)
    );
    let nm = dir.join("node_modules");
    let write = |rel: &str, text: &str| {
        let p = nm.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write("dotenv/index.js", DOTENV_STUB);
    write(
        "@prisma/client/index.js",
        "class PrismaClient { constructor() { this.ready = true; } }\nmodule.exports = { PrismaClient };\n",
    );
    for (pkg, target) in [
        ("@acme/sdk", "packages/sdk/src/index.js"),
        ("@acme/config", "packages/config/src/index.js"),
    ] {
        write(
            &format!("{pkg}/index.js"),
            &format!(
                "module.exports = require({:?});\n",
                dir.join("out").join(target).to_str().unwrap()
            ),
        );
    }
}

/// Runs a compiled entry with exactly `env`, from the folder `cwd`.
fn node(dir: &Path, entry: &str, cwd: &Path, env: &[(&str, &str)]) -> (i32, String, String) {
    let mut c = Command::new(validator("node"));
    c.arg(dir.join("out").join(entry))
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap());
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn guard(names: &str) -> String {
    [
        format!("const requiredEnvVars = [{names}];"),
        "const missingVars = requiredEnvVars.filter((varName) => !process.env[varName]);".to_string(),
        "if (missingVars.length > 0) {".to_string(),
        "  console.error(`[FATAL] Missing required environment variables: ${missingVars.join(', ')}`);".to_string(),
        "  console.error('[FATAL] Service cannot start without these variables.');".to_string(),
        "  process.exit(1);".to_string(),
        "}".to_string(),
    ]
    .iter()
    .map(|l| format!("{l}\n"))
    .collect()
}

#[test]
fn guards_go_after_dotenv_outside_comments_compile_and_run() {
    let dir = copy_fixture("env-patterns");
    let d = dir.path();
    let read = |p: &str| std::fs::read_to_string(d.join(p)).unwrap();
    let api = read("apps/api/src/main.ts");
    let listed = read("apps/listed/src/env.ts");
    let worker = read("apps/worker/src/config.ts");
    let guarded = read("apps/guarded/src/main.ts");
    let patch = run(
        &["fix", "--diff", "--unsafe-fixes", "--select", "APP001", "."],
        d,
    );
    git(&["init", "-q"], d);
    git_apply(d, &patch.raw);
    // After `dotenv.config()`, and after the block comment that starts on
    // the last import line.
    assert_eq!(
        read("apps/api/src/main.ts"),
        api.replacen(
            "dotenv.config();\n\n",
            &format!(
                "dotenv.config();\n\n{}\n",
                guard("'DATABASE_URL', 'JWT_SECRET'")
            ),
            1
        )
    );
    // The array is extended as syntax: a separator before the new element,
    // the template literal untouched; `requiredEnvFiles` is no guard.
    assert_eq!(
        read("apps/guarded/src/main.ts"),
        guarded.replacen("[`SESSION_SECRET`]", "[`SESSION_SECRET`, 'JWT_SECRET']", 1)
    );
    assert_eq!(
        read("apps/listed/src/env.ts"),
        listed.replacen("['LISTED_A']", "['LISTED_A', 'LISTED_B']", 1)
    );
    assert_eq!(
        read("apps/worker/src/config.ts"),
        worker.replacen(
            "QUEUE_NAME: str(),",
            "QUEUE_NAME: str(),\n  WORKER_TOKEN: str(),",
            1
        )
    );
    assert!(
        !read("apps/worker/src/main.ts").contains("requiredEnvVars"),
        "no second guard"
    );
    // A second run changes nothing.
    let again = run(
        &["fix", "--diff", "--unsafe-fixes", "--select", "APP001", "."],
        d,
    );
    assert_eq!(again.stdout, "", "{}", again.stderr);

    compile(d);
    let empty = tempfile::tempdir().unwrap();
    let sdk = ("SDK_PUBLIC_KEY", "pk_test");
    // api: nothing set -> the guard stops it, naming both.
    let (code, _, err) = node(d, "apps/api/src/main.js", empty.path(), &[sdk]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("[FATAL] Missing required environment variables: DATABASE_URL, JWT_SECRET"),
        "{err}"
    );
    // Values only in a .env file: dotenv loads them before the guard runs.
    let with_dotenv = tempfile::tempdir().unwrap();
    std::fs::write(
        with_dotenv.path().join(".env"),
        "DATABASE_URL=postgresql://u:p@db/app\nJWT_SECRET=s\n",
    )
    .unwrap();
    let (code, out, err) = node(d, "apps/api/src/main.js", with_dotenv.path(), &[sdk]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\nstarted 8080 587"), "{out}");
    // guarded: the extended list works.
    let base = [("SESSION_SECRET", "s"), ("REDIS_URL", "redis://c:6379")];
    let (code, _, err) = node(d, "apps/guarded/src/main.js", empty.path(), &base);
    assert_eq!(code, 1);
    assert!(
        err.contains("Missing required environment variables: JWT_SECRET"),
        "{err}"
    );
    let mut all = base.to_vec();
    all.push(("JWT_SECRET", "j"));
    let (code, out, err) = node(d, "apps/guarded/src/main.js", empty.path(), &all);
    assert_eq!((code, out.starts_with("guarded")), (0, true), "{err}");
    // listed: the extended list stops it without LISTED_B.
    let (code, _, err) = node(
        d,
        "apps/listed/src/main.js",
        empty.path(),
        &[("LISTED_A", "a")],
    );
    assert_eq!(code, 1);
    assert!(err.contains("LISTED_B is required"), "{err}");
    let (code, out, _) = node(
        d,
        "apps/listed/src/main.js",
        empty.path(),
        &[("LISTED_A", "a"), ("LISTED_B", "b")],
    );
    assert_eq!((code, out.as_str()), (0, "listed 1\n"));
    // billing (unsafe fix applied): stops without, starts with.
    let (code, _, err) = node(d, "apps/billing/src/main.js", empty.path(), &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("BILLING_PORT, CACHE_URL, BILLING_DRY_RUN, BILLING_CURRENCY, STRIPE_KEY"),
        "{err}"
    );
}

/// The `-e "K=V"` flags of a generated smoke-test script.
fn env_flags(script: &str) -> Vec<(String, String)> {
    script
        .lines()
        .filter_map(|l| l.trim().strip_prefix("-e \""))
        .filter_map(|l| l.strip_suffix("\" \\"))
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn smoke_tests_run_before_the_push_and_their_placeholders_pass() {
    let dir = copy_fixture("env-patterns");
    let d = dir.path();
    let wf = d.join(".github/workflows/images.yml");
    let before = std::fs::read_to_string(&wf).unwrap();
    let f = findings(d, "GHA001");
    let jobs: Vec<&str> = f
        .iter()
        .map(|x| x["message"].as_str().unwrap().split('`').nth(1).unwrap())
        .collect();
    assert_eq!(
        jobs,
        vec!["billing", "api", "late"],
        "no finding for the manifest job"
    );
    let patch = run(
        &["fix", "--diff", "--unsafe-fixes", "--select", "GHA001", "."],
        d,
    );
    git(&["init", "-q"], d);
    git_apply(d, &patch.raw);
    actionlint_ok(&wf);
    let after = std::fs::read_to_string(&wf).unwrap();
    assert!(
        patch
            .stdout
            .lines()
            .all(|l| !l.starts_with('-') || l.starts_with("---")),
        "only insertions"
    );
    let docs = YamlLoader::load_from_str(&after).unwrap();
    let old = YamlLoader::load_from_str(&before).unwrap();
    // billing: a load-only build and the test come before the push, which
    // is kept as it was.
    let steps = docs[0]["jobs"]["billing"]["steps"].as_vec().unwrap();
    let names: Vec<&str> = steps
        .iter()
        .map(|s| s["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        names,
        vec![
            "",
            "",
            "",
            "Build the image for the smoke test",
            "Smoke test the built image",
            "Build and push billing"
        ]
    );
    assert_eq!(steps[5], old[0]["jobs"]["billing"]["steps"][3]);
    let test_build = &steps[3]["with"];
    assert_eq!(test_build["load"].as_bool(), Some(true));
    assert!(test_build["push"].is_badvalue());
    // The runner's own platform (the original builds several).
    assert!(test_build["platforms"].is_badvalue(), "{test_build:?}");
    assert_eq!(test_build["context"].as_str(), Some("./apps/billing"));
    assert_eq!(
        test_build["tags"].as_str(),
        steps[4]["env"]["IMAGE"].as_str()
    );
    let script = steps[4]["run"].as_str().unwrap();
    assert!(script.contains("# The app may need at start: CACHE_URL (Redis)"));
    assert!(!script.contains("docker pull"));
    // The placeholders are accepted by the app itself.
    let flags = env_flags(script);
    let get = |k: &str| flags.iter().find(|(x, _)| x == k).map(|(_, v)| v.as_str());
    assert_eq!(get("BILLING_PORT"), Some("3000"));
    assert_eq!(get("CACHE_URL"), Some("redis://127.0.0.1:6379"));
    assert_eq!(get("BILLING_DRY_RUN"), Some("false"));
    assert_eq!(
        get("BILLING_CURRENCY"),
        Some("smoke-test"),
        "workspace package variable"
    );
    compile(d);
    let empty = tempfile::tempdir().unwrap();
    let env: Vec<(&str, &str)> = flags
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (code, out, err) = node(d, "apps/billing/src/main.js", empty.path(), &env);
    assert_eq!(code, 0, "the app rejects the placeholders: {err}");
    assert!(out.starts_with("billing 3000"), "{out}");
    // api: a local `docker build`, tested right after it, before `docker push`.
    let steps = docs[0]["jobs"]["api"]["steps"].as_vec().unwrap();
    assert_eq!(
        steps[2]["name"].as_str(),
        Some("Smoke test the built image")
    );
    assert_eq!(steps[3]["name"].as_str(), Some("Push api"));
    let api = steps[2]["run"].as_str().unwrap();
    assert!(api.contains("-e \"DATABASE_URL=postgresql://smoke:smoke@127.0.0.1:5432/smoke\""));
    assert!(api.contains("--network host"));
    // late: load-only build with two tags; the first is started.
    let steps = docs[0]["jobs"]["late"]["steps"].as_vec().unwrap();
    assert_eq!(
        steps[3]["name"].as_str(),
        Some("Smoke test the built image")
    );
    let late = steps[3]["run"].as_str().unwrap();
    assert!(!late.contains("# The app may need"));
    let (ok, calls) = stub_docker(late, steps[3]["env"]["IMAGE"].as_str().unwrap());
    assert!(ok, "{calls}");
    assert!(
        calls.contains(" -e LATE_KEY=smoke-test acme/late:ci\n"),
        "{calls}"
    );
    let again = run(
        &["fix", "--diff", "--unsafe-fixes", "--select", "GHA001", "."],
        d,
    );
    assert_eq!(again.stdout, "", "{}", again.stderr);
}

const STUB: &str = r#"#!/bin/sh
echo "$*" >> "$STUB_LOG"
case "$1" in
  run) echo 0123456789ab ;;
  inspect) case "$3" in *State.Health*) ;; *) echo running ;; esac ;;
  logs) echo "late 10" ;;
esac
exit 0
"#;

fn stub_docker(script: &str, image: &str) -> (bool, String) {
    let (ok, log, stderr) = run_with_stub_docker(STUB, script, &[("IMAGE", image)]);
    (ok, format!("{log}{stderr}"))
}
