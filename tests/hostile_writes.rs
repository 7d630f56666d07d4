//! Issue 14, items 19-24: patch names, quoted paths, honest reports, no lost
//! update, owners and hard links, skipped files said out loud.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

const COMPOSE: &str = "services:\n  api:\n    image: node:20\n    ports: [\"3000:3000\"]\n";

fn repo(root: &Path) {
    std::fs::create_dir_all(root).unwrap();
    std::fs::write(root.join("docker-compose.yml"), COMPOSE).unwrap();
}

/// Item 19: repos `x/a`, `y/a`, `z/a-2` get three different patches, and the
/// summary names the file that holds each repo's patch.
#[test]
fn patch_names_are_unique_and_match_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for r in ["x/a", "y/a", "z/a-2"] {
        repo(&d.join(r));
    }
    // Different content per repo, to tell the patches apart.
    std::fs::write(
        d.join("y/a/docker-compose.yml"),
        COMPOSE.replace("3000", "4000"),
    )
    .unwrap();
    let out = run(
        &["fix", "--diff", "--patch-dir", "out", "x/a", "y/a", "z/a-2"],
        d,
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("out/summary.json")).unwrap())
            .unwrap();
    let mut seen = std::collections::HashSet::new();
    for r in summary["repos"].as_array().unwrap() {
        let patch = r["patch"].as_str().unwrap();
        assert!(seen.insert(patch.to_string()), "{patch} given twice");
        let text = std::fs::read(d.join("out").join(patch)).unwrap();
        let root = d.join(r["root"].as_str().unwrap());
        git_apply(&root, &text);
        let port = if r["root"] == "y/a" { "4000" } else { "3000" };
        assert!(std::fs::read_to_string(root.join("docker-compose.yml"))
            .unwrap()
            .contains(&format!("localhost:{port}/")));
    }
    assert_eq!(seen.len(), 3);
}

/// Item 20: paths with a newline, a tab, a quote and non-ASCII characters:
/// `git apply` of the patch gives exactly what `fix` writes.
#[test]
fn odd_paths_are_quoted_so_git_apply_accepts_the_patch() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let odd = "we\"ird\n\tdé";
    repo(&d.join("a").join(odd));
    repo(&d.join("b").join(odd));
    let out = run(&["fix", "--diff", "a"], d);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("--- \"a/we\\\"ird\\n\\td\\303\\251/docker-compose.yml\""),
        "{}",
        out.stdout
    );
    git(&["init", "-q"], &d.join("a"));
    git_apply(&d.join("a"), &out.raw);
    run(&["fix", "b"], d);
    assert_eq!(
        std::fs::read(d.join("a").join(odd).join("docker-compose.yml")).unwrap(),
        std::fs::read(d.join("b").join(odd).join("docker-compose.yml")).unwrap()
    );
}

/// Item 21: when the write fails (here: file size limit 0, so every write
/// fails with EFBIG), nothing is reported as fixed and the error names the
/// file with its root.
#[test]
fn a_failed_write_is_not_reported_as_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    repo(&d.join("repo"));
    let o = Command::new("sh")
        .args([
            "-c",
            "trap '' XFSZ; ulimit -f 0; exec \"$0\" fix repo",
            bin(),
        ])
        .current_dir(d)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stdout}{stderr}");
    assert!(!stdout.contains("fixed"), "{stdout}");
    assert!(
        stderr.contains("repo/docker-compose.yml: cannot write"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(d.join("repo/docker-compose.yml")).unwrap(),
        COMPOSE
    );
}

/// Item 22: a file changed on disk after it was read is left as the user
/// made it, with a message; no temp file is left behind.
#[test]
fn a_file_changed_meanwhile_is_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("docker-compose.yml");
    std::fs::write(&p, COMPOSE).unwrap();
    let src = prodsafe::source::SourceFile::read("docker-compose.yml", &p).unwrap();
    let users = COMPOSE.replace("node:20", "node:22");
    std::fs::write(&p, &users).unwrap();
    let e = prodsafe::edit::write_source(&src, b"fixed\n").unwrap_err();
    assert!(e.contains("changed on disk"), "{e}");
    assert_eq!(std::fs::read_to_string(&p).unwrap(), users);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "temp file left"
    );
    // Same size, same second: the content hash still tells.
    let src = prodsafe::source::SourceFile::read("docker-compose.yml", &p).unwrap();
    let same_len = users.replace("node:22", "node:24");
    std::fs::write(&p, &same_len).unwrap();
    assert!(prodsafe::edit::write_source(&src, b"fixed\n").is_err());
    // Unchanged: written.
    let src = prodsafe::source::SourceFile::read("docker-compose.yml", &p).unwrap();
    prodsafe::edit::write_source(&src, b"fixed\n").unwrap();
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "fixed\n");
}

/// Item 23: the owner is kept, and a hard-linked file is written in place
/// so every link sees the fix.
#[cfg(unix)]
#[test]
fn owner_and_hard_links_are_kept() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    repo(&d.join("repo"));
    let p = d.join("repo/docker-compose.yml");
    let link = d.join("linked.yml");
    std::fs::hard_link(&p, &link).unwrap();
    std::os::unix::fs::chown(&p, Some(4321), Some(4321))
        .expect("this test runs as root (CI does) to give the file another owner");
    let ino = std::fs::metadata(&p).unwrap().ino();
    let out = run(&["fix", "repo"], d);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let fixed = std::fs::read_to_string(&p).unwrap();
    assert!(fixed.contains("healthcheck:"));
    assert_eq!(std::fs::read_to_string(&link).unwrap(), fixed);
    let m = std::fs::metadata(&p).unwrap();
    assert_eq!((m.ino(), m.uid(), m.gid()), (ino, 4321, 4321));
    // A file with one link is replaced atomically, keeping its owner.
    std::fs::remove_file(&link).unwrap();
    std::fs::write(&p, COMPOSE).unwrap();
    std::os::unix::fs::chown(&p, Some(4321), Some(4321)).unwrap();
    run(&["fix", "repo"], d);
    let m = std::fs::metadata(&p).unwrap();
    assert!(std::fs::read_to_string(&p)
        .unwrap()
        .contains("healthcheck:"));
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o777), (4321, 4321, 0o644));
}

/// Item 24: a symlinked compose file is said to be skipped (stderr) and
/// counted in the summary; `fix` errors name the file with its root; an
/// unfixed finding is said in `fix --diff` too.
#[cfg(unix)]
#[test]
fn skipped_files_errors_and_unfixed_findings_are_said() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("repo/deploy")).unwrap();
    std::fs::write(d.join("repo/deploy/base.yml"), COMPOSE).unwrap();
    std::os::unix::fs::symlink("deploy/base.yml", d.join("repo/docker-compose.yml")).unwrap();
    std::fs::write(
        d.join("repo/entrypoint.sh"),
        "#!/bin/sh\nset -e\nexec node \"$APP\"\n",
    )
    .unwrap();
    set_mode(&d.join("repo/entrypoint.sh"), 0o755);
    let out = run(&["fix", "--diff", "repo"], d);
    assert!(
        out.stderr
            .contains("skipped: repo/docker-compose.yml: is a symlink (to deploy/base.yml)"),
        "{}",
        out.stderr
    );
    // ENT001's fix is unsafe ($APP): not in the patch, and said.
    assert!(
        out.stderr
            .contains("1 finding left without an applicable fix"),
        "{}",
        out.stderr
    );
    let check = run(&["check", "repo"], d);
    assert!(
        check
            .stderr
            .contains("skipped: repo/docker-compose.yml: is a symlink"),
        "{}",
        check.stderr
    );
    let out = run(&["fix", "--diff", "--patch-dir", "out", "repo"], d);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("out/summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["totals"]["skipped_files"], 1, "{}", out.stderr);
    assert_eq!(
        summary["repos"][0]["skipped_files"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Errors name the file with its root.
    std::fs::create_dir_all(d.join("bad")).unwrap();
    std::fs::write(d.join("bad/docker-compose.yml"), "services: [\n").unwrap();
    let out = run(&["fix", "bad"], d);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("error: bad/docker-compose.yml:"),
        "{}",
        out.stderr
    );
}
