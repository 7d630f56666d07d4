//! Issue 14, items 3-7: entrypoint fixes must keep the script working. Each
//! fixed script is run with `sh` (dash) and, where the behaviour differs
//! between shells, with busybox `sh` too.

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Output};

fn write_script(dir: &Path, text: &str) -> std::path::PathBuf {
    let p = dir.join("entrypoint.sh");
    std::fs::write(&p, text).unwrap();
    set_mode(&p, 0o755);
    p
}

fn sh(shell: &[&str], script: &Path, env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(shell[0]);
    c.args(&shell[1..])
        .arg(script)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("HOME", "/root");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn busybox() -> String {
    let o = Command::new("sh")
        .args(["-c", "command -v busybox"])
        .output()
        .unwrap();
    let p = String::from_utf8_lossy(&o.stdout).trim().to_string();
    assert!(
        !p.is_empty(),
        "busybox is missing: run .ci/run or `apt-get install busybox`"
    );
    p
}

fn codes(dir: &Path) -> Vec<String> {
    findings(dir, "ENT")
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

/// Item 3: `main "$@"` calls a shell function; `exec main` would fail with
/// `main: not found` (exit 127).
#[test]
fn exec_is_never_put_before_a_function() {
    let dir = tempfile::tempdir().unwrap();
    let script = "#!/bin/sh\nset -eu\nmain() {\n  echo started \"$@\"\n}\nmain \"$@\"\n";
    let p = write_script(dir.path(), script);
    let f = findings(dir.path(), "ENT005");
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0]["fix"].is_null(), "no fix for a function: {f:?}");
    assert!(f[0]["no_fix_reason"]
        .as_str()
        .unwrap_or_default()
        .contains("function"));
    run(&["fix", "--select", "ENT005", "."], dir.path());
    assert_eq!(std::fs::read_to_string(&p).unwrap(), script);
    let o = sh(&["sh"], &p, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "started\n");
}

/// Item 3: builtins are not long-running programs and `exec` cannot run
/// them: no finding.
#[test]
fn builtins_are_not_reported() {
    for script in [
        "#!/bin/sh\nset -eu\nsleep 1 &\nwait\n",
        // `exec read` would fail with `read: not found`.
        "#!/bin/sh\nset -eu\nread -r line\n",
        "#!/bin/sh\nset -eu\ngetopts ab opt\n",
    ] {
        let dir = tempfile::tempdir().unwrap();
        write_script(dir.path(), script);
        let c = codes(dir.path());
        assert!(!c.contains(&"ENT005".to_string()), "{script}: {c:?}");
    }
}

/// Item 4: `exec` goes after the assignment prefix, and dash and busybox
/// pass the assignment to the program, which replaces the shell (same pid).
#[test]
fn exec_goes_after_an_assignment_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let script = "#!/bin/sh\nset -eu\necho \"$$\"\nNODE_OPTIONS=--enable-source-maps node -e 'console.log(process.pid); console.log(process.env.NODE_OPTIONS)'\n";
    let p = write_script(dir.path(), script);
    run(&["fix", "--select", "ENT005", "."], dir.path());
    let fixed = std::fs::read_to_string(&p).unwrap();
    assert_eq!(
        fixed,
        script.replace(
            "NODE_OPTIONS=--enable-source-maps node",
            "NODE_OPTIONS=--enable-source-maps exec node"
        )
    );
    let bb = busybox();
    for shell in [vec!["sh"], vec!["dash"], vec![bb.as_str(), "sh"]] {
        let o = sh(&shell, &p, &[]);
        assert!(
            o.status.success(),
            "{shell:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let out = String::from_utf8_lossy(&o.stdout).to_string();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{shell:?}: {out}");
        assert_eq!(lines[0], lines[1], "{shell:?}: node replaced the shell");
        assert_eq!(lines[2], "--enable-source-maps", "{shell:?}: {out}");
    }
    assert!(findings(dir.path(), "ENT005").is_empty());
}

fn ent008_repo(script: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("worker")).unwrap();
    std::fs::write(
        d.join("docker-compose.yml"),
        "services:\n  worker:\n    build: ./worker\n    environment:\n      DATABASE_URL: ${DATABASE_URL:?set it}\n",
    )
    .unwrap();
    std::fs::write(
        d.join("worker/Dockerfile"),
        "FROM python:3.12-slim\nCOPY entrypoint.sh /entrypoint.sh\nUSER nobody\nENTRYPOINT [\"/entrypoint.sh\"]\n",
    )
    .unwrap();
    let p = write_script(&d.join("worker"), script);
    (dir, p)
}

/// Item 5: the check goes at a statement boundary, never into a heredoc
/// body or after a line ending with `\`.
#[test]
fn env_check_is_inserted_between_statements_only() {
    let cases = [
        "#!/bin/sh\nset -e; cat > \"$(dirname \"$0\")/out.txt\" <<EOF\nhello\nEOF\nexec echo started\n",
        "#!/bin/sh\nset -e; echo one \\\n  two > \"$(dirname \"$0\")/out.txt\"\nexec echo started\n",
        "#!/bin/sh\nset -e; if true; then\n  echo inside > \"$(dirname \"$0\")/out.txt\"\nfi\nexec echo started\n",
    ];
    let want = ["hello\n", "one two\n", "inside\n"];
    for (script, want) in cases.iter().zip(want) {
        let (dir, p) = ent008_repo(script);
        let f = findings(dir.path(), "ENT008");
        assert_eq!(f.len(), 1, "{f:?}");
        run(&["fix", "--select", "ENT008", "."], dir.path());
        let fixed = std::fs::read_to_string(&p).unwrap();
        assert_ne!(&fixed, script, "fixed");
        // The check is its own statement: the heredoc body and the continued
        // command are unchanged.
        let check = ": \"${DATABASE_URL:?DATABASE_URL is required}\"\n";
        assert_eq!(fixed.replacen(check, "", 1), *script, "{fixed}");
        let missing = sh(&["sh"], &p, &[]);
        assert!(!missing.status.success());
        assert!(String::from_utf8_lossy(&missing.stderr).contains("DATABASE_URL is required"));
        let ok = sh(&["sh"], &p, &[("DATABASE_URL", "x")]);
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&ok.stdout), "started\n");
        let out = std::fs::read_to_string(p.parent().unwrap().join("out.txt")).unwrap();
        assert_eq!(out, want, "{fixed}");
    }
}

/// Item 6: `set -- -e --port 3000` sets positional parameters, not errexit.
#[test]
fn set_dash_dash_is_not_errexit() {
    let dir = tempfile::tempdir().unwrap();
    let script = "#!/bin/sh\nset -- -e --port 3000\nexec printf '%s\\n' \"$*\"\n";
    let p = write_script(dir.path(), script);
    let c = codes(dir.path());
    assert!(!c.contains(&"ENT001".to_string()), "{c:?}");
    assert!(c.contains(&"ENT002".to_string()), "{c:?}");
    run(&["fix", "--select", "ENT001,ENT002", "."], dir.path());
    let fixed = std::fs::read_to_string(&p).unwrap();
    assert_eq!(
        fixed,
        script.replacen("#!/bin/sh\n", "#!/bin/sh\nset -eu\n", 1)
    );
    let o = sh(&["sh"], &p, &[]);
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stdout), "-e --port 3000\n");
}

/// Item 7: a variable assigned only under a condition makes `set -u` unsafe;
/// the table is checked against `sh -eu`.
#[test]
fn conditional_assignments_do_not_count() {
    let cases = [
        (
            "if [ -f /run/secrets/x-none ]; then DB_PASS=$(cat /run/secrets/x-none); fi\necho \"$DB_PASS\"",
            false,
        ),
        ("[ -f /nonexistent ] && X=1\necho \"$X\"", false),
        ("[ -f /nonexistent ] || echo no\nX=1\necho \"$X\"", true),
        ("X=1 true\necho \"$X\"", false),
        ("( X=1 )\necho \"$X\"", false),
        ("f() { X=1; }\necho \"$X\"", false),
        ("while false; do X=1; done\necho \"$X\"", false),
        ("for i in; do X=1; done\necho \"$X\"", false),
        ("case a in b) X=1;; esac\necho \"$X\"", false),
        ("if true; then X=1; echo \"$X\"; fi", true),
        ("X=$(echo 1) || true\necho \"$X\"", true),
        ("if X=1; then :; fi\necho \"$X\"", true),
        ("echo a | read -r X\necho \"$X\"", false),
    ];
    for (i, (body, safe)) in cases.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_script(dir.path(), &format!("#!/bin/sh\nset -e\n{body}\n"));
        let run_ = Command::new("sh")
            .arg("-eu")
            .arg(&p)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap();
        assert_eq!(
            run_.status.success(),
            *safe,
            "case {i}: sh -eu disagrees with the table: {}",
            String::from_utf8_lossy(&run_.stderr)
        );
        let f = findings(dir.path(), "ENT001");
        assert_eq!(f.len(), 1, "case {i}");
        assert_eq!(
            f[0]["fix"]["safety"] == "safe",
            *safe,
            "case {i}: analysis disagrees for:\n{body}"
        );
    }
    // The script: `fix` (safe fixes only) leaves it runnable.
    let dir = tempfile::tempdir().unwrap();
    let script = "#!/bin/sh\nset -e\nif [ -f /run/secrets/x-none ]; then DB_PASS=$(cat /run/secrets/x-none); fi\nexec echo \"pass=$DB_PASS\"\n";
    let p = write_script(dir.path(), script);
    run(&["fix", "--select", "ENT001", "."], dir.path());
    let o = sh(&["sh"], &p, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "pass=\n");
}
