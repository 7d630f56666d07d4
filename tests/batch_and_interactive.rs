//! Batch dry runs across repos, sharding, and the interactive session
//! driven through a pseudo-terminal.

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Stdio};

fn three_repos(base: &Path) -> Vec<std::path::PathBuf> {
    let a = base.join("alpha");
    let b = base.join("beta");
    let c = base.join("broken");
    copy_dir(&fixture("node-app"), &a);
    copy_dir(&fixture("polyglot"), &b);
    std::fs::create_dir_all(&c).unwrap();
    std::fs::write(
        c.join("docker-compose.yml"),
        "services:\n  api:\n\timage: node:20\n",
    )
    .unwrap();
    vec![a, b, c]
}

#[test]
fn batch_patches_summary_and_determinism() {
    let dir = tempfile::tempdir().unwrap();
    let repos = three_repos(dir.path());
    let list = dir.path().join("repos.txt");
    std::fs::write(&list, format!("# fleet\nalpha\nbeta\n\nbroken\n")).unwrap();
    let out1 = dir.path().join("out1");
    let run1 = Command::new(bin())
        .args([
            "fix",
            "--diff",
            "--patch-dir",
            "out1",
            "--repos-from",
            "repos.txt",
            "--jobs",
            "2",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        run1.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&run1.stderr)
    );
    let stderr = String::from_utf8_lossy(&run1.stderr);
    assert!(
        stderr.contains("broken: error: broken/docker-compose.yml:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("3 repos: 2 with changes, 0 without, 1 with errors (broken)"),
        "{stderr}"
    );
    let mut files: Vec<String> = std::fs::read_dir(&out1)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        vec![
            "alpha.md",
            "alpha.patch",
            "beta.md",
            "beta.patch",
            "summary.json"
        ]
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out1.join("summary.json")).unwrap()).unwrap();
    let broken = &summary["repos"][2];
    assert_eq!(broken["name"], "broken");
    assert!(broken["errors"][0]
        .as_str()
        .unwrap()
        .contains("invalid YAML"));
    assert!(broken["patch"].is_null());
    assert_eq!(summary["repos"][0]["patch"], "alpha.patch");
    assert!(summary["repos"][0]["by_code"]["APP001"].as_u64().unwrap() >= 1);
    // Each patch applies in its repo with `git -C PATH apply`.
    for (repo, patch) in [(&repos[0], "alpha.patch"), (&repos[1], "beta.patch")] {
        git(&["init", "-q"], repo);
        let o = Command::new("git")
            .arg("-C")
            .arg(repo)
            .args(["apply", "--check"])
            .arg(out1.join(patch))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{patch}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // Same input, same bytes.
    let run2 = Command::new(bin())
        .args([
            "fix",
            "--diff",
            "--patch-dir",
            "out2",
            "--repos-from",
            "repos.txt",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(run2.status.code(), Some(2));
    for f in [
        "alpha.md",
        "alpha.patch",
        "beta.md",
        "beta.patch",
        "summary.json",
    ] {
        assert_eq!(
            std::fs::read(out1.join(f)).unwrap(),
            std::fs::read(dir.path().join("out2").join(f)).unwrap(),
            "{f} differs between runs"
        );
    }
}

#[test]
fn shards_split_ten_repos_disjointly() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..10).map(|i| format!("r{i}")).collect();
    for n in &names {
        std::fs::create_dir_all(dir.path().join(n)).unwrap();
        std::fs::write(
            dir.path().join(n).join("docker-compose.yml"),
            "services:\n  db:\n    image: postgres:16\n",
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("list"), names.join("\n")).unwrap();
    let mut seen: Vec<String> = Vec::new();
    for k in 1..=3 {
        let o = Command::new(bin())
            .args([
                "fix",
                "--diff",
                "--repos-from",
                "list",
                "--shard",
                &format!("{k}/3"),
                "--jobs",
                "1",
            ])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1));
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        let mine: Vec<String> = err
            .lines()
            .filter_map(|l| l.split(':').next())
            .filter(|r| r.starts_with('r'))
            .map(str::to_string)
            .collect();
        for r in &mine {
            assert!(!seen.contains(r), "{r} in two shards");
        }
        seen.extend(mine);
    }
    seen.sort();
    let mut want = names.clone();
    want.sort();
    assert_eq!(seen, want, "the shards cover the list");
    let bad = Command::new(bin())
        .args(["fix", "--shard", "4/3", "."])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

fn interactive_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("docker-compose.yml"),
        "services:\n  api:\n    image: node:20\n    ports: [\"80:80\"]\n",
    )
    .unwrap();
    // The port and route as the owner states them: strong facts, so the
    // healthcheck fix is safe (from `ports:` alone it would be unsafe).
    std::fs::write(
        d.join("prodsafe.toml"),
        "[services.api]\nport = 80\nhealth_path = \"/health\"\n",
    )
    .unwrap();
    std::fs::write(
        d.join("entrypoint.sh"),
        "#!/bin/sh\nset -e\nnode server.js\n",
    )
    .unwrap();
    dir
}

fn session(dir: &Path, extra: &[&str]) -> expectrl::session::OsSession {
    let mut cmd = Command::new(bin());
    cmd.args(["fix", "--interactive"])
        .args(extra)
        .arg(".")
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("TERM", "xterm");
    let mut s = expectrl::Session::spawn(cmd).expect("spawn in a pty");
    s.set_expect_timeout(Some(std::time::Duration::from_secs(20)));
    s
}

#[test]
fn interactive_yes_no_quit_writes_exactly_the_accepted_fixes() {
    use expectrl::Expect;
    let dir = interactive_repo();
    let mut s = session(dir.path(), &[]);
    s.expect("[1/3] CMP001").unwrap();
    s.expect("Why: ").unwrap();
    s.expect("+    healthcheck:").unwrap();
    s.expect("Apply this fix?").unwrap();
    s.send("y").unwrap();
    s.expect("[2/3] ENT001").unwrap();
    s.expect("Apply this fix?").unwrap();
    s.send("n").unwrap();
    s.expect("[3/3] ENT005").unwrap();
    s.expect("Apply this fix?").unwrap();
    s.send("q").unwrap();
    s.expect("Applied 1 fix to 1 file").unwrap();
    s.expect(expectrl::Eof).unwrap();
    let compose = std::fs::read_to_string(dir.path().join("docker-compose.yml")).unwrap();
    assert!(compose.contains("healthcheck:"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("entrypoint.sh")).unwrap(),
        "#!/bin/sh\nset -e\nnode server.js\n"
    );
}

#[test]
fn interactive_all_accepts_the_rest() {
    use expectrl::Expect;
    let dir = interactive_repo();
    let mut s = session(dir.path(), &[]);
    s.expect("Apply this fix?").unwrap();
    s.send("n").unwrap();
    s.expect("[2/3] ENT001").unwrap();
    s.expect("Apply this fix?").unwrap();
    s.send("a").unwrap();
    s.expect("Applied 2 fixes to 1 file").unwrap();
    s.expect(expectrl::Eof).unwrap();
    assert!(
        !std::fs::read_to_string(dir.path().join("docker-compose.yml"))
            .unwrap()
            .contains("healthcheck")
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("entrypoint.sh")).unwrap(),
        "#!/bin/sh\nset -eu\nexec node server.js\n"
    );
}

#[test]
fn interactive_refuses_without_a_terminal() {
    let dir = interactive_repo();
    let o = Command::new(bin())
        .args(["fix", "--interactive", "."])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--interactive needs a terminal"));
    assert!(
        !std::fs::read_to_string(dir.path().join("docker-compose.yml"))
            .unwrap()
            .contains("healthcheck")
    );
}

/// Two entrypoints with the same two fixes each (ENT001, ENT005).
fn two_scripts_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for d in ["a", "b"] {
        std::fs::create_dir(dir.path().join(d)).unwrap();
        std::fs::write(
            dir.path().join(d).join("entrypoint.sh"),
            "#!/bin/sh\nset -e\nnode server.js\n",
        )
        .unwrap();
    }
    dir
}

#[test]
fn interactive_rule_keys_accept_and_reject_the_rest_of_a_rule() {
    use expectrl::Expect;
    let dir = two_scripts_repo();
    let mut s = session(dir.path(), &[]);
    s.expect("[1/4] ENT001").unwrap();
    s.expect("Apply this fix?").unwrap();
    s.send("R").unwrap();
    s.expect("[2/4] ENT005").unwrap();
    s.expect("Apply this fix?").unwrap();
    s.send("A").unwrap();
    s.expect("Accepted 2, skipped 2, left 0.").unwrap();
    s.expect(expectrl::Eof).unwrap();
    for d in ["a", "b"] {
        assert_eq!(
            std::fs::read_to_string(dir.path().join(d).join("entrypoint.sh")).unwrap(),
            "#!/bin/sh\nset -e\nexec node server.js\n"
        );
    }
}

#[test]
fn interactive_d_skips_the_rest_of_the_file_and_enter_accepts() {
    use expectrl::Expect;
    let dir = two_scripts_repo();
    let mut s = session(dir.path(), &[]);
    s.expect("[1/4] ENT001").unwrap();
    s.expect("Apply this fix?").unwrap();
    s.send("d").unwrap();
    s.expect("[3/4] ENT001").unwrap();
    s.expect("Apply this fix?").unwrap();
    s.send("\r").unwrap();
    s.expect("[4/4] ENT005").unwrap();
    s.expect("Apply this fix?").unwrap();
    s.send("n").unwrap();
    s.expect("Accepted 1, skipped 3, left 0.").unwrap();
    s.expect(expectrl::Eof).unwrap();
    let read = |d: &str| std::fs::read_to_string(dir.path().join(d).join("entrypoint.sh")).unwrap();
    assert_eq!(read("a"), "#!/bin/sh\nset -e\nnode server.js\n");
    assert_eq!(read("b"), "#!/bin/sh\nset -eu\nnode server.js\n");
}

#[test]
fn interactive_undo_help_and_show_again() {
    use expectrl::Expect;
    let dir = interactive_repo();
    let mut s = session(dir.path(), &[]);
    s.get_process_mut().set_window_size(100, 12).unwrap();
    s.expect("[1/3] CMP001").unwrap();
    // The diff is taller than the terminal allows: header repeated.
    s.expect("^ [1/3] CMP001").unwrap();
    s.expect("Apply this fix?").unwrap();
    s.send("?").unwrap();
    s.expect("skip this fix and the rest of this file").unwrap();
    s.expect("Apply this fix?").unwrap();
    s.send("p").unwrap();
    s.expect("[1/3] CMP001").unwrap();
    s.expect("Apply this fix?").unwrap();
    s.send("y").unwrap();
    s.expect("[2/3] ENT001").unwrap();
    s.expect("Apply this fix?").unwrap();
    s.send("u").unwrap();
    s.expect("Undid the last answer.").unwrap();
    s.expect("[1/3] CMP001").unwrap();
    s.expect("Apply this fix?").unwrap();
    s.send("n").unwrap();
    s.expect("[2/3] ENT001").unwrap();
    s.expect("Apply this fix?").unwrap();
    s.send("y").unwrap();
    s.expect("[3/3] ENT005").unwrap();
    s.expect("Apply this fix?").unwrap();
    s.send("q").unwrap();
    s.expect("Stopped (quit): writing the 1 fix accepted so far.")
        .unwrap();
    s.expect("Accepted 1, skipped 1, left 1.").unwrap();
    s.expect(expectrl::Eof).unwrap();
    assert!(
        !std::fs::read_to_string(dir.path().join("docker-compose.yml"))
            .unwrap()
            .contains("healthcheck")
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("entrypoint.sh")).unwrap(),
        "#!/bin/sh\nset -eu\nnode server.js\n"
    );
}

#[test]
fn interactive_ctrl_c_keeps_what_was_accepted() {
    use expectrl::Expect;
    let dir = interactive_repo();
    let mut s = session(dir.path(), &[]);
    s.expect("[1/3] CMP001").unwrap();
    s.expect("Apply this fix?").unwrap();
    s.send("y").unwrap();
    s.expect("[2/3] ENT001").unwrap();
    s.expect("Apply this fix?").unwrap();
    s.send("\x03").unwrap();
    s.expect("Stopped (interrupted): writing the 1 fix accepted so far.")
        .unwrap();
    s.expect("Applied 1 fix to 1 file").unwrap();
    s.expect(expectrl::Eof).unwrap();
    let compose = std::fs::read_to_string(dir.path().join("docker-compose.yml")).unwrap();
    assert!(compose.contains("healthcheck:"));
    // Verified and idempotent: the next run offers no CMP001 fix.
    let check = Command::new(bin())
        .args(["check", "--select", "CMP001", "."])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(0));
}

#[test]
fn diff_is_coloured_on_a_terminal_and_raw_in_a_pipe() {
    use expectrl::Expect;
    let dir = interactive_repo();
    let mut cmd = Command::new(bin());
    cmd.args(["fix", "--diff", "."])
        .current_dir(dir.path())
        .env_remove("NO_COLOR")
        .env("TERM", "xterm");
    let mut s = expectrl::Session::spawn(cmd).expect("spawn in a pty");
    s.set_expect_timeout(Some(std::time::Duration::from_secs(20)));
    s.expect("\u{1b}[32m+    healthcheck:").unwrap();
    s.expect(expectrl::Eof).unwrap();
    let piped = run(&["fix", "--diff", "."], dir.path());
    assert!(!piped.stdout.contains('\u{1b}'));
    assert!(piped.stdout.contains("\n+    healthcheck:\n"));
}

#[test]
fn colour_on_a_terminal_unless_term_is_dumb() {
    use expectrl::Expect;
    for (term, coloured) in [("xterm-256color", true), ("dumb", false)] {
        let mut cmd = Command::new(bin());
        cmd.args(["check", "--select", "ENT001", "."])
            .current_dir(fixture("nomadnet"))
            .env_remove("NO_COLOR")
            .env_remove("FORCE_COLOR")
            .env_remove("CLICOLOR_FORCE")
            // CI=true (as in CI) must not colour a dumb terminal.
            .env("CI", "true")
            .env("TERM", term);
        let mut s = expectrl::Session::spawn(cmd).expect("spawn in a pty");
        s.set_expect_timeout(Some(std::time::Duration::from_secs(20)));
        let out = s.expect(expectrl::Eof).unwrap();
        let mut bytes = out.before().to_vec();
        for m in out.matches() {
            bytes.extend_from_slice(m);
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        assert!(text.contains("ENT001"), "{text}");
        assert_eq!(text.contains('\u{1b}'), coloured, "TERM={term}: {text:?}");
    }
}
