//! Every fix prodsafe has, applied at once to the fixture monorepo, and the
//! result checked by every validator: compose config, actionlint, tsc,
//! shellcheck, hadolint, `node --check`.

mod common;

use common::*;
use std::process::Command;

#[test]
fn all_fixes_at_once_leave_a_repo_every_validator_accepts() {
    let dir = copy_fixture("nomadnet");
    let d = dir.path();
    let before = findings(d, "ALL");
    let patch = run(&["fix", "--diff", "--unsafe-fixes", "."], d);
    assert_eq!(patch.code, 1, "{}", patch.stderr);
    git(&["init", "-q"], d);
    git_apply(d, &patch.raw);
    // A second run has nothing left to change.
    let again = run(&["fix", "--diff", "--unsafe-fixes", "."], d);
    assert_eq!(
        (again.code, again.stdout.as_str()),
        (0, ""),
        "{}",
        again.stderr
    );
    // What is left had no fix before, and every finding without a fix is
    // still there (the `npx prisma generate` line's ENT003 and DKR001 now
    // share the move's fix).
    let after = findings(d, "ALL");
    let key = |f: &serde_json::Value| {
        (
            f["code"].to_string(),
            f["path"].to_string(),
            f["service"].to_string(),
        )
    };
    let unfixable: Vec<_> = before
        .iter()
        .filter(|f| f["fix"].is_null())
        .map(key)
        .collect();
    for f in &after {
        assert!(f["fix"].is_null(), "a fix is left: {f}");
        assert!(
            unfixable.contains(&key(f)),
            "a new finding after fixing: {f}"
        );
    }
    assert_eq!(after.len(), unfixable.len());

    compose_config_ok(&d.join("docker-compose.production.yml"));
    actionlint_ok(&d.join(".github/workflows/docker-build.yml"));
    let tsc = Command::new(validator("tsc"))
        .args(["-p", "tsconfig.json"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(
        tsc.status.success(),
        "tsc: {}",
        String::from_utf8_lossy(&tsc.stdout)
    );
    for e in std::fs::read_dir(d.join("apps")).unwrap() {
        let app = e.unwrap().path();
        let script = app.join("entrypoint.sh");
        if script.exists() {
            let sh = Command::new("sh").arg("-n").arg(&script).output().unwrap();
            assert!(sh.status.success(), "sh -n {}", script.display());
            // auth-service keeps its `[[` (ENT007 has no fix): only SC3010 may remain.
            let sc = Command::new(validator("shellcheck"))
                .args(["-s", "sh", "-e", "SC3010"])
                .arg(&script)
                .output()
                .unwrap();
            assert!(
                sc.status.success(),
                "shellcheck {}: {}",
                script.display(),
                String::from_utf8_lossy(&sc.stdout)
            );
        }
        let df = app.join("Dockerfile");
        let h = Command::new(validator("hadolint"))
            .args(["--no-fail", "-f", "json"])
            .arg(&df)
            .output()
            .unwrap();
        assert!(
            h.status.success() && !String::from_utf8_lossy(&h.stdout).contains("DL1000"),
            "hadolint {}",
            df.display()
        );
        let js = app.join("src/main.js");
        if js.exists() {
            let n = Command::new(validator("node"))
                .arg("--check")
                .arg(&js)
                .output()
                .unwrap();
            assert!(n.status.success(), "node --check {}", js.display());
        }
    }
}
