//! A command line people can trust in hooks and CI: file arguments, no
//! silent passes, validated input, configuration like ruff, and output
//! (colour, statistics, SARIF/JSON/GitHub spans, escaping).

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

fn run_env(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Out {
    let mut c = Command::new(bin());
    c.args(args).current_dir(cwd).env_remove("NO_COLOR");
    c.env_remove("FORCE_COLOR").env_remove("CLICOLOR_FORCE");
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        raw: o.stdout,
    }
}

/// The nomadnet fixture as a committed git repository.
fn git_repo() -> tempfile::TempDir {
    let dir = copy_fixture("nomadnet");
    for args in [
        vec!["init", "-q"],
        vec!["-c", "user.email=t@t", "-c", "user.name=t", "add", "-A"],
        vec![
            "-c",
            "user.email=t@t",
            "-c",
            "user.name=t",
            "commit",
            "-qm",
            "init",
        ],
    ] {
        assert!(git(&args, dir.path()).status.success());
    }
    dir
}

fn json_findings(out: &Out) -> Vec<(String, String, usize)> {
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap() as usize,
            )
        })
        .collect()
}

#[test]
fn a_file_argument_is_checked_in_its_repository() {
    let repo = git_repo();
    let d = repo.path();
    let all = json_findings(&run(&["check", "--format", "json", "."], d));
    for file in [
        "docker-compose.production.yml",
        "apps/admin-service/Dockerfile",
        "apps/admin-service/entrypoint.sh",
        ".github/workflows/docker-build.yml",
        "apps/api-gateway/src/main.ts",
    ] {
        let want: Vec<_> = all.iter().filter(|f| f.1 == file).cloned().collect();
        assert!(!want.is_empty(), "{file} has findings in the full run");
        // From the repository root...
        let got = json_findings(&run(&["check", "--format", "json", file], d));
        assert_eq!(got, want, "{file}");
        // ...and from a sub-folder (the root is found through .git).
        let sub = d.join("apps");
        let rel = format!("../{file}");
        let out = run(&["check", &rel], &sub);
        assert_eq!(out.code, 1, "{file}: {}", out.stderr);
        assert!(!out.stdout.contains("All checks passed!"));
        assert!(
            out.stdout.starts_with(&format!("../{file}:")),
            "{file}: {}",
            out.stdout
        );
    }
    // Several files: one load, the union of their findings.
    let two = json_findings(&run(
        &[
            "check",
            "--format",
            "json",
            "apps/admin-service/Dockerfile",
            "apps/admin-service/entrypoint.sh",
        ],
        d,
    ));
    assert_eq!(
        two.len(),
        all.iter()
            .filter(|f| f.1 == "apps/admin-service/Dockerfile"
                || f.1 == "apps/admin-service/entrypoint.sh")
            .count()
    );
    // A broken file elsewhere in the repository: a warning (the context is
    // incomplete, so no pass), not an error of the file given.
    std::fs::write(d.join("docker-compose.dev.yml"), "services: [\n").unwrap();
    let ctx = run(&["check", "apps/admin-service/entrypoint.sh"], d);
    assert_eq!(ctx.code, 1, "{}", ctx.stderr);
    assert!(
        ctx.stderr
            .contains("warning: docker-compose.dev.yml: not read"),
        "{}",
        ctx.stderr
    );
    assert!(!ctx.stderr.contains("error:"), "{}", ctx.stderr);
    let broken = run(&["check", "docker-compose.dev.yml"], d);
    assert_eq!(broken.code, 2);
    assert!(
        broken.stderr.contains("error: docker-compose.dev.yml:"),
        "{}",
        broken.stderr
    );
    let clean = run(
        &[
            "check",
            "--select",
            "CMP008",
            "apps/admin-service/entrypoint.sh",
        ],
        d,
    );
    assert_eq!(clean.code, 0);
    assert!(
        !clean.stdout.contains("All checks passed!"),
        "{}",
        clean.stdout
    );
    std::fs::remove_file(d.join("docker-compose.dev.yml")).unwrap();
    // A file prodsafe does not read is said on stderr, never a pass.
    std::fs::write(d.join("NOTES.txt"), "x\n").unwrap();
    let readme = run(&["check", "NOTES.txt"], d);
    assert!(
        readme.stderr.contains("NOTES.txt: not checked"),
        "{}",
        readme.stderr
    );
    assert!(!readme.stdout.contains("All checks passed!"));
}

#[test]
fn fix_on_a_file_changes_only_that_file() {
    let repo = git_repo();
    let d = repo.path();
    let out = run(&["fix", "apps/admin-service/entrypoint.sh"], d);
    assert!(out.stdout.contains("fixed"), "{}{}", out.stdout, out.stderr);
    let status = String::from_utf8(git(&["status", "--porcelain"], d).stdout).unwrap();
    assert_eq!(
        status.trim(),
        "M apps/admin-service/entrypoint.sh",
        "{status}"
    );
    let script = std::fs::read_to_string(d.join("apps/admin-service/entrypoint.sh")).unwrap();
    assert!(script.contains("set -eu"), "{script}");
    // --diff on a file: a patch from the current folder that git applies.
    let repo2 = git_repo();
    let diff = run(
        &["fix", "--diff", "docker-compose.production.yml"],
        repo2.path(),
    );
    assert_eq!(diff.code, 1, "{}", diff.stderr);
    assert!(diff.stdout.contains("--- a/docker-compose.production.yml"));
    assert!(
        diff.stdout
            .lines()
            .filter(|l| l.starts_with("+++ "))
            .all(|l| l == "+++ b/docker-compose.production.yml"),
        "{}",
        diff.stdout
    );
    git_apply(repo2.path(), &diff.raw);
}

#[test]
fn fix_refuses_files_with_uncommitted_changes() {
    let repo = git_repo();
    let d = repo.path();
    let script = d.join("apps/admin-service/entrypoint.sh");
    let mut text = std::fs::read_to_string(&script).unwrap();
    text.push_str("# my edit\n");
    std::fs::write(&script, &text).unwrap();
    let out = run(&["fix", "apps/admin-service/entrypoint.sh"], d);
    assert!(
        out.stderr.contains("uncommitted changes") && out.stderr.contains("--allow-dirty"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read_to_string(&script).unwrap(), text);
    // --diff is always allowed; --allow-dirty writes.
    let diff = run(&["fix", "--diff", "apps/admin-service/entrypoint.sh"], d);
    assert!(diff.stdout.contains("+set -eu"), "{}", diff.stdout);
    run(
        &["fix", "--allow-dirty", "apps/admin-service/entrypoint.sh"],
        d,
    );
    let after = std::fs::read_to_string(&script).unwrap();
    assert!(after.contains("set -eu") && after.ends_with("# my edit\n"));
}

#[test]
fn several_roots_give_one_patch_from_the_current_folder() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture("node-app"), &dir.path().join("a"));
    copy_dir(&fixture("node-app"), &dir.path().join("b"));
    assert!(git(&["init", "-q"], dir.path()).status.success());
    let out = run(&["fix", "--diff", "a", "b"], dir.path());
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.contains("--- a/a/"), "{}", out.stdout);
    assert!(out.stdout.contains("--- a/b/"), "{}", out.stdout);
    git_apply(dir.path(), &out.raw);
    // Applied: a second run has nothing left to change.
    assert_eq!(run(&["fix", "--diff", "a", "b"], dir.path()).stdout, "");
}

#[test]
fn no_pass_after_errors_and_an_empty_scan_says_so() {
    let repo = git_repo();
    let d = repo.path();
    for args in [
        vec!["check", "nope"],
        vec!["check", "-"],
        vec!["check", ".", "nope"],
    ] {
        let out = run(&args, d);
        assert_eq!(out.code, 2, "{args:?}");
        assert!(
            !out.stdout.contains("All checks passed!"),
            "{args:?}: {}",
            out.stdout
        );
        assert!(out.stderr.contains("error:"), "{args:?}");
    }
    std::fs::write(d.join("prodsafe.toml"), "select = [\"CMP\"]\nbogus = 1\n").unwrap();
    let bad = run(&["check", "--select", "ENT001", "."], d);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("prodsafe.toml:2"), "{}", bad.stderr);
    assert!(!bad.stdout.contains("All checks passed!"));
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("README.md"), "hi\n").unwrap();
    let out = run(&["check", "."], empty.path());
    assert_eq!(out.code, 0);
    assert!(
        out.stderr.contains(
            "no compose file, Dockerfile, entrypoint, workflow or app entry found under ."
        ),
        "{}",
        out.stderr
    );
    assert!(!out.stdout.contains("All checks passed!"), "{}", out.stdout);
    let j = run(&["check", "--format", "json", "."], empty.path());
    let v: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    assert_eq!(v["summary"]["complete"], false);
    assert!(v["unchecked"][0]["reason"]
        .as_str()
        .unwrap()
        .starts_with("no compose file"));
    let s = run(&["check", "--format", "sarif", "."], empty.path());
    let v: serde_json::Value = serde_json::from_str(&s.stdout).unwrap();
    assert_eq!(
        v["runs"][0]["invocations"][0]["toolExecutionNotifications"][0]["level"],
        "warning"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    validate(
        &s.stdout,
        &root.join("tests/schemas/sarif-schema-2.1.0.json"),
    );
    validate(
        &j.stdout,
        &root.join("docs/schemas/check-output.schema.json"),
    );
    let md = run(&["check", "--format", "markdown", "."], empty.path());
    assert!(!md.stdout.contains("No findings.\n"), "{}", md.stdout);
    let fix = run(&["fix", "--diff", "."], empty.path());
    assert!(
        fix.stderr.contains("no compose file, Dockerfile"),
        "{}",
        fix.stderr
    );
    // report never calls an empty scan production-ready.
    let rep = run(&["report", "."], empty.path());
    assert!(!rep.stdout.contains("PRODUCTION READY"), "{}", rep.stdout);
    assert!(rep.stdout.contains("NOT ASSESSED"), "{}", rep.stdout);
    // A clean, complete run does pass.
    let clean = run(
        &["check", "--select", "CMP001", "."],
        &fixture("nomadnet-after"),
    );
    assert_eq!(clean.code, 0, "{}", clean.stdout);
    assert!(clean.stdout.contains("All checks passed!"));
}

#[test]
fn unknown_rules_are_errors_with_a_suggestion() {
    let d = fixture("nomadnet");
    for (args, needle) in [
        (
            vec!["check", "--select", "CMP01", "."],
            "did you mean `CMP001`",
        ),
        (
            vec!["check", "--ignore", "missing-helthcheck", "."],
            "did you mean `missing-healthcheck`",
        ),
        (
            vec!["check", "--extend-select", "ZZZ", "."],
            "unknown rule `ZZZ`",
        ),
        (
            vec!["fix", "--diff", "--select", "DKR0044", "."],
            "unknown rule `DKR0044`",
        ),
        (vec!["explain", "CMP0001"], "did you mean `CMP001`"),
    ] {
        let out = run(&args, &d);
        assert_eq!(out.code, 2, "{args:?}");
        assert!(out.stderr.contains(needle), "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
    }
    let dir = copy_fixture("node-app");
    for (cfg, needle) in [
        ("ignore = [\"ENT01\"]\n", "did you mean `ENT001`"),
        ("[severity]\nCMP0001 = \"high\"\n", "did you mean `CMP001`"),
        (
            "[per-file-ignores]\n\"**\" = [\"NOPE\"]\n",
            "unknown rule `NOPE`",
        ),
        ("[healthcheck]\ninterval = \"soon\"\n", "not a duration"),
        ("[healthcheck]\nretries = 0\n", "at least 1"),
        (
            "templates = \"missing-dir\"\n",
            "templates folder not found",
        ),
    ] {
        std::fs::write(dir.path().join("prodsafe.toml"), cfg).unwrap();
        let out = run(&["check", "."], dir.path());
        assert_eq!(out.code, 2, "{cfg}");
        assert!(out.stderr.contains(needle), "{cfg}: {}", out.stderr);
    }
    std::fs::remove_file(dir.path().join("prodsafe.toml")).unwrap();
    let out = run(&["check", "--templates", "nowhere", "."], dir.path());
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("nowhere: templates folder not found"),
        "{}",
        out.stderr
    );
    let t = dir.path().join("tpl");
    std::fs::create_dir(&t).unwrap();
    std::fs::write(t.join("healthcheck.yaml"), "x").unwrap();
    let out = run(&["fix", "--diff", "--templates", "tpl", "."], dir.path());
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("healthcheck.yaml: matches no template"),
        "{}",
        out.stderr
    );
    std::fs::remove_file(t.join("healthcheck.yaml")).unwrap();
    std::fs::write(
        t.join("healthcheck-node.yaml"),
        "healthcheck:\n  test: [\"CMD\", \"curl\", \"{{url}}\"]\n",
    )
    .unwrap();
    let out = run(&["fix", "--diff", "--templates", "tpl", "."], dir.path());
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("`{{url}}` is not filled"),
        "{}",
        out.stderr
    );
    assert!(!out.stdout.contains("{{url}}"));
}

#[test]
fn unknown_codes_in_ignore_comments_are_ps002() {
    let dir = copy_fixture("node-app");
    let compose = dir.path().join("docker-compose.yml");
    let text = std::fs::read_to_string(&compose).unwrap();
    std::fs::write(
        &compose,
        format!("# prodsafe: ignore[CMP01, ALL] typo\n{text}"),
    )
    .unwrap();
    let out = run(&["check", "--format", "json", "."], dir.path());
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let ps = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "PS002")
        .expect("PS002 reported");
    assert_eq!(ps["line"], 1);
    assert_eq!(ps["column"], 20);
    assert_eq!(ps["end_column"], 25);
    assert!(ps["message"]
        .as_str()
        .unwrap()
        .contains("did you mean `CMP001`"));
}

#[test]
fn config_is_found_upward_and_globs_apply() {
    let repo = git_repo();
    let d = repo.path();
    std::fs::write(
        d.join(".prodsafe.toml"),
        "select = [\"ENT\"]\nextend-select = [\"CMP008\"]\n[per-file-ignores]\n\"apps/admin-service/**\" = [\"ENT001\"]\n",
    )
    .unwrap();
    // Scanning a sub-folder finds the config at the repository root.
    let sub = json_findings(&run(&["check", "--format", "json", "apps"], d));
    assert!(!sub.is_empty());
    assert!(sub.iter().all(|f| f.0.starts_with("ENT")), "{sub:?}");
    assert!(
        !sub.iter()
            .any(|f| f.0 == "ENT001" && f.1.starts_with("admin-service/")),
        "{sub:?}"
    );
    assert!(sub.iter().any(|f| f.0 == "ENT001"), "{sub:?}");
    let text = run(&["check", "apps"], d);
    assert!(
        text.stdout.contains("finding ignored by per-file-ignores.")
            || text
                .stdout
                .contains("findings ignored by per-file-ignores."),
        "{}",
        text.stdout
    );
    // --isolated ignores it; --config names another.
    let iso = json_findings(&run(
        &["check", "--format", "json", "--isolated", "apps"],
        d,
    ));
    assert!(iso
        .iter()
        .any(|f| f.0 == "ENT001" && f.1.starts_with("admin-service/")));
    std::fs::write(
        d.join("other.toml"),
        "select = [\"ENT001\"]\nexclude = [\"apps/auth-*\"]\n",
    )
    .unwrap();
    let other = json_findings(&run(
        &["check", "--format", "json", "--config", "other.toml", "."],
        d,
    ));
    assert!(
        !other.is_empty() && other.iter().all(|f| f.0 == "ENT001"),
        "{other:?}"
    );
    assert!(
        !other.iter().any(|f| f.1.starts_with("apps/auth-")),
        "{other:?}"
    );
    // --extend-select adds to the selection.
    let ext = json_findings(&run(
        &[
            "check",
            "--format",
            "json",
            "--isolated",
            "--select",
            "ENT001",
            "--extend-select",
            "CMP009",
            ".",
        ],
        d,
    ));
    // (nginx's wrong port for logger-service is CMP009's since issue 11.)
    assert!(ext.iter().any(|f| f.0 == "CMP009") && ext.iter().any(|f| f.0 == "ENT001"));
}

#[test]
fn colour_follows_the_environment_and_the_flag() {
    let d = fixture("nomadnet");
    let args = ["check", "--select", "ENT001", "."];
    let esc = |o: &Out| o.stdout.contains('\u{1b}');
    assert!(!esc(&run_env(&args, &d, &[])), "piped: no colour");
    assert!(esc(&run_env(&args, &d, &[("FORCE_COLOR", "1")])));
    assert!(esc(&run_env(&args, &d, &[("CLICOLOR_FORCE", "1")])));
    assert!(!esc(&run_env(
        &args,
        &d,
        &[("FORCE_COLOR", "1"), ("NO_COLOR", "1")]
    )));
    // An empty NO_COLOR does not count.
    assert!(esc(&run_env(
        &args,
        &d,
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "")]
    )));
    let mut forced = args.to_vec();
    forced.insert(1, "--color=always");
    assert!(esc(&run_env(&forced, &d, &[("NO_COLOR", "1")])));
    forced[1] = "--color=never";
    assert!(!esc(&run_env(&forced, &d, &[("FORCE_COLOR", "1")])));
}

#[test]
fn statistics_exit_zero_output_file_quiet_and_rules_json() {
    let d = fixture("nomadnet");
    let stats = run(&["check", "--statistics", "--select", "ENT", "."], &d);
    let line = stats
        .stdout
        .lines()
        .find(|l| l.contains("\tENT001"))
        .expect("ENT001 row");
    assert!(line.ends_with("missing-nounset"), "{line}");
    let n: usize = line.split_whitespace().next().unwrap().parse().unwrap();
    assert_eq!(n, stats.stdout.matches(": ENT001 ").count());
    assert!(n > 1);
    let zero = run(&["check", "--exit-zero", "."], &d);
    assert_eq!(zero.code, 0);
    assert!(zero.stdout.contains("Found 56 findings") || zero.stdout.contains("Found "));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.json");
    let o = run(
        &[
            "check",
            "--format",
            "json",
            "--output-file",
            file.to_str().unwrap(),
            ".",
        ],
        &d,
    );
    assert_eq!(o.code, 1);
    assert!(o.stdout.is_empty());
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(v["summary"]["findings"].as_u64().unwrap() > 0);
    let q = run(&["check", "-q", "--select", "ENT001", "."], &d);
    assert!(
        q.stdout.lines().count() > 1 && q.stdout.lines().all(|l| l.contains(": ENT001 ")),
        "{}",
        q.stdout
    );
    assert!(!q.stdout.contains("Found"));
    let rules: serde_json::Value =
        serde_json::from_str(&run(&["rules", "--format", "json"], &d).stdout).unwrap();
    let r = rules
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "CMP001")
        .unwrap();
    assert_eq!(r["name"], "missing-healthcheck");
    assert!(r["url"].as_str().unwrap().ends_with("docs/rules/CMP001.md"));
}

fn validate(doc: &str, schema: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("doc.json");
    std::fs::write(&p, doc).unwrap();
    let py = Command::new("python3")
        .args(["-c", "import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))"])
        .arg(&p)
        .arg(schema)
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "does not validate against {}: {}",
        schema.display(),
        String::from_utf8_lossy(&py.stderr)
    );
}

#[test]
fn json_output_validates_and_agrees_with_text() {
    let d = fixture("nomadnet");
    let schema =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schemas/check-output.schema.json");
    for unsafe_flag in [false, true] {
        let mut args = vec!["check", "--format", "json", "."];
        let mut targs = vec!["check", "."];
        if unsafe_flag {
            args.insert(1, "--unsafe-fixes");
            targs.insert(1, "--unsafe-fixes");
        }
        let j = run(&args, &d);
        validate(&j.stdout, &schema);
        let v: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
        assert_eq!(v["summary"]["complete"], true);
        let text = run(&targs, &d).stdout;
        let fixable = v["summary"]["fixable"].as_u64().unwrap();
        assert!(
            text.contains(&format!("[*] {fixable} fixable")),
            "json says {fixable}; text: {}",
            text.lines().rev().take(3).collect::<Vec<_>>().join("\n")
        );
        assert_eq!(text.matches(" [*] ").count() as u64, fixable);
        for f in v["findings"].as_array().unwrap() {
            let (l, c) = (f["line"].as_u64().unwrap(), f["column"].as_u64().unwrap());
            let (el, ec) = (
                f["end_line"].as_u64().unwrap(),
                f["end_column"].as_u64().unwrap(),
            );
            assert!((el, ec) > (l, c), "empty span: {f}");
        }
    }
    // With an unreadable file, errors are in the document too.
    let dir = copy_fixture("node-app");
    std::fs::write(dir.path().join("docker-compose.yml"), "services: [\n").unwrap();
    let j = run(&["check", "--format", "json", "."], dir.path());
    assert_eq!(j.code, 2);
    validate(&j.stdout, &schema);
}

#[test]
fn sarif_has_help_uris_spans_invocations_and_stable_fingerprints() {
    let dir = copy_fixture("node-app");
    std::fs::write(dir.path().join("bad.sh"), [0xff, 0xfe, 0x00, 0x01]).unwrap();
    let s1 = run(&["check", "--format", "sarif", "."], dir.path());
    assert_eq!(s1.code, 2);
    let schema =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/sarif-schema-2.1.0.json");
    validate(&s1.stdout, &schema);
    let v: serde_json::Value = serde_json::from_str(&s1.stdout).unwrap();
    let run0 = &v["runs"][0];
    assert!(run0["tool"]["driver"]["rules"][0]["helpUri"]
        .as_str()
        .unwrap()
        .contains("/docs/rules/"));
    let inv = &run0["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    assert_eq!(
        inv["toolExecutionNotifications"][0]["locations"][0]["physicalLocation"]
            ["artifactLocation"]["uri"],
        "bad.sh"
    );
    let results = run0["results"].as_array().unwrap();
    assert!(results
        .iter()
        .all(|r| r["locations"][0]["physicalLocation"]["region"]["endColumn"].is_u64()));
    let prints = |v: &serde_json::Value| -> Vec<(String, String)> {
        v["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["ruleId"].as_str().unwrap().to_string(),
                    r["partialFingerprints"]["prodsafe/v1"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                )
            })
            .collect()
    };
    // An unrelated edit above every finding moves lines, not fingerprints.
    for f in ["docker-compose.yml", "Dockerfile", "entrypoint.sh"] {
        let p = dir.path().join(f);
        if let Ok(text) = std::fs::read_to_string(&p) {
            let (first, rest) = text.split_once('\n').unwrap();
            std::fs::write(&p, format!("{first}\n# unrelated\n# lines\n{rest}")).unwrap();
        }
    }
    let s2 = run(&["check", "--format", "sarif", "."], dir.path());
    let v2: serde_json::Value = serde_json::from_str(&s2.stdout).unwrap();
    let (mut a, mut b) = (prints(&v), prints(&v2));
    a.sort();
    b.sort();
    assert!(!a.is_empty());
    assert_eq!(a, b);
}

#[test]
fn github_annotations_have_ends_and_errors_for_unreadable_files() {
    let dir = copy_fixture("node-app");
    std::fs::write(dir.path().join("docker-compose.yml"), "services: [\n").unwrap();
    let g = run(&["check", "--format", "github", "."], dir.path());
    assert_eq!(g.code, 2);
    assert!(
        g.stdout
            .lines()
            .any(|l| l.starts_with("::error file=docker-compose.yml,")),
        "{}",
        g.stdout
    );
    let empty = tempfile::tempdir().unwrap();
    let g = run(&["check", "--format", "github", "."], empty.path());
    assert_eq!(g.stdout, "::warning title=prodsafe::no compose file, Dockerfile, entrypoint, workflow or app entry found under .\n");
    std::fs::write(dir.path().join("notes.txt"), "x\n").unwrap();
    let g = run(&["check", "--format", "github", "notes.txt"], dir.path());
    assert!(
        g.stdout.lines().any(|l| l.starts_with(
            "::warning file=notes.txt,title=prodsafe::not checked: not a file prodsafe reads"
        )),
        "{}",
        g.stdout
    );
    let g = run(&["check", "--format", "github", "."], &fixture("node-app"));
    for l in g.stdout.lines() {
        assert!(l.contains(",endLine=") && l.contains(",endColumn="), "{l}");
    }
}

#[test]
fn terminal_escapes_from_a_repository_are_never_printed_raw() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("docker-compose.yml"),
        "services:\n  \"evil\\e]0;pwned\\a\\e[2J\":\n    image: node:20\n    command: node server.js\n",
    )
    .unwrap();
    for format in ["text", "github", "markdown"] {
        let out = run(&["check", "--format", format, "."], dir.path());
        assert_eq!(out.code, 1, "{format}: {}", out.stderr);
        assert!(out.stdout.contains("evil"), "{format}: {}", out.stdout);
        assert!(
            !out.raw.contains(&0x1b) && !out.raw.contains(&0x07),
            "{format}: {:?}",
            out.stdout
        );
        assert!(out.stdout.contains("\\u{1b}"), "{format}: {}", out.stdout);
    }
    // A folder name with an escape sequence: check, fix and their messages.
    let evil = dir.path().join("x\u{1b}[31m");
    std::fs::create_dir(&evil).unwrap();
    std::fs::write(evil.join("entrypoint.sh"), "#!/bin/sh\nset -e\nnode a.js\n").unwrap();
    for args in [
        vec!["check", "."],
        vec!["check", "--format", "github", "."],
        vec!["fix", "."],
    ] {
        let out = run(&args, dir.path());
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(
            all.contains("x\\u{1b}[31m/entrypoint.sh"),
            "{args:?}: {all}"
        );
        assert!(!all.contains('\u{1b}'), "{args:?}: {all:?}");
    }
}

/// The fixed text in a rule's explanation is what `prodsafe fix` writes
/// (for the rules whose example is a whole file).
#[test]
fn documented_fixes_are_what_fix_writes() {
    for code in ["ENT001", "ENT002", "ENT005"] {
        let page = run(&["explain", code], &fixture(".")).stdout;
        let ex = page.split("## Example").nth(1).unwrap();
        let blocks: Vec<&str> = ex
            .split("```sh\n")
            .skip(1)
            .map(|b| b.split("```").next().unwrap())
            .collect();
        let (before, after) = (blocks[0], blocks[1]);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("entrypoint.sh"), before).unwrap();
        let out = run(&["fix", "--isolated", "--select", code, "."], dir.path());
        assert!(
            out.stdout.contains("fixed 1 finding"),
            "{code}: {}{}",
            out.stdout,
            out.stderr
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("entrypoint.sh")).unwrap(),
            after,
            "{code}"
        );
    }
}

/// The README's example config is accepted by prodsafe and validates
/// against the committed schema; a misspelled key fails both.
#[test]
fn config_schema_accepts_the_documented_config_and_rejects_unknown_keys() {
    let readme = std::fs::read_to_string(fixture("../README.md")).unwrap();
    let block = readme
        .split("## Configuration and suppressions")
        .nth(1)
        .unwrap()
        .split("```toml\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/prodsafe.schema.json");
    let value: toml::Value = toml::from_str(block).unwrap();
    validate(&serde_json::to_string(&value).unwrap(), &schema);
    let dir = copy_fixture("node-app");
    std::fs::create_dir_all(dir.path().join("ops/prodsafe-templates")).unwrap();
    std::fs::write(dir.path().join("prodsafe.toml"), block).unwrap();
    let out = run(&["check", "."], dir.path());
    assert_ne!(out.code, 2, "{}", out.stderr);
    // Misspelled: both the schema and prodsafe refuse it.
    let bad = block.replace("start_period", "start_periode");
    let value: toml::Value = toml::from_str(&bad).unwrap();
    let p = dir.path().join("bad.json");
    std::fs::write(&p, serde_json::to_string(&value).unwrap()).unwrap();
    let py = Command::new("python3")
        .args(["-c", "import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))"])
        .arg(&p)
        .arg(&schema)
        .output()
        .unwrap();
    assert!(!py.status.success(), "the schema accepts an unknown key");
    std::fs::write(dir.path().join("prodsafe.toml"), bad).unwrap();
    let out = run(&["check", "."], dir.path());
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("start_periode"), "{}", out.stderr);
}

#[test]
fn code_frames_expand_tabs_and_underline_under_the_text() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("entrypoint.sh"),
        "#!/bin/sh\nset -eu\n\tnode  server.js\n",
    )
    .unwrap();
    let out = run(&["check", "."], dir.path());
    assert!(
        out.stdout
            .contains("3 |     node  server.js\n  |     ^^^^^^^^^^^^^^^ no-exec\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("  = docs: https://"), "{}", out.stdout);
}

#[test]
fn huge_jobs_is_capped_not_a_panic() {
    let dir = copy_fixture("node-app");
    let out = run(&["fix", "--diff", "--jobs", "100000", "."], dir.path());
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("--jobs 100000 capped at 256"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.starts_with("--- a/"));
}

/// `FROM $BASE:$BASE_TAG`: `$BASE` does not expand inside `$BASE_TAG`.
#[test]
fn from_variables_are_matched_whole() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("api")).unwrap();
    std::fs::write(
        d.join("docker-compose.yml"),
        "services:\n  api:\n    build: ./api\n    healthcheck:\n      test: [\"CMD\", \"curl\", \"-f\", \"http://localhost:3000/\"]\n",
    )
    .unwrap();
    std::fs::write(
        d.join("api/Dockerfile"),
        "ARG BASE=node\nARG BASE_TAG=20-slim\nFROM $BASE:$BASE_TAG\nCMD [\"node\", \"server.js\"]\n",
    )
    .unwrap();
    let inv = run(&["inventory", "--format", "json", "."], d);
    assert!(
        inv.stdout.contains("\"image\": \"node:20-slim\""),
        "{}",
        inv.stdout
    );
    let out = run(&["check", "--select", "CMP002", "."], d);
    assert!(
        out.stdout
            .contains("curl which `node:20-slim` does not have"),
        "{}",
        out.stdout
    );
}

/// pre-commit passes the staged file names: findings in them fail the
/// hook, a clean file passes, a file prodsafe does not read passes.
#[test]
fn pre_commit_hook_with_file_arguments() {
    let pc = validator("pre-commit");
    let repo = git_repo();
    let d = repo.path();
    std::fs::write(
        d.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n- repo: local\n  hooks:\n  - id: prodsafe\n    name: prodsafe\n    entry: {} check --color never\n    language: system\n    files: (docker-compose.*\\.ya?ml|Dockerfile|\\.sh|main\\.ts)$\n",
            bin()
        ),
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let hook = |files: &[&str]| {
        let o = Command::new(&pc)
            .args(["run", "--files"])
            .args(files)
            .current_dir(d)
            .env("PRE_COMMIT_HOME", home.path())
            .output()
            .unwrap();
        (
            o.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        )
    };
    let (code, out) = hook(&["apps/admin-service/entrypoint.sh"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("apps/admin-service/entrypoint.sh:2:1: ENT001"),
        "{out}"
    );
    assert!(!out.contains("docker-compose.production.yml:"), "{out}");
    // Fix it: the same hook passes.
    run(
        &["fix", "--allow-dirty", "apps/admin-service/entrypoint.sh"],
        d,
    );
    let (code, out) = hook(&["apps/admin-service/entrypoint.sh"]);
    let left = run(&["check", "apps/admin-service/entrypoint.sh"], d);
    assert!(!out.contains("ENT001"), "{out}");
    assert_eq!(code == Some(0), left.code == 0, "{out}\n{}", left.stdout);
    std::fs::write(d.join("NOTES.txt"), "x\n").unwrap();
    let (code, out) = hook(&["NOTES.txt"]);
    assert_eq!(code, Some(0), "{out}");
}
