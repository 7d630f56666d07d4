//! Fleet migrations: `fix --branch` (one commit per repo, the checkout
//! untouched), pull-request descriptions, the summary.json schema,
//! `merge-summaries`, and shards that add up to the unsharded run byte for
//! byte.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn git_ok(args: &[&str], cwd: &Path) -> String {
    let o = Command::new("git")
        .args(args)
        .current_dir(cwd)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A git repo holding a copy of `fixture`, one commit, on branch `main`.
fn repo(fixture_name: &str, at: &Path) {
    copy_dir(&fixture(fixture_name), at);
    git_ok(&["init", "-q", "-b", "main"], at);
    git_ok(&["add", "-A"], at);
    git_ok(&["commit", "-q", "-m", "initial"], at);
}

fn prodsafe(args: &[&str], cwd: &Path) -> Out {
    run_with_env(
        args,
        cwd,
        &[
            ("GIT_AUTHOR_NAME", "prodsafe-bot"),
            ("GIT_AUTHOR_EMAIL", "bot@example.com"),
            ("GIT_COMMITTER_NAME", "prodsafe-bot"),
            ("GIT_COMMITTER_EMAIL", "bot@example.com"),
        ],
    )
}

/// Every file under `dir` (except .git) with its bytes and mode.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_name() == ".git" {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                let m = e.metadata().unwrap().permissions().mode();
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    (std::fs::read(&p).unwrap(), m),
                );
            }
        }
    }
    out
}

#[test]
fn branch_holds_exactly_the_fixes_and_the_checkout_is_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let r = tmp.path().join("shop");
    repo("nomadnet", &r);
    // An executable entrypoint that gets fixed: its mode must survive in the commit.
    // Stale stat data in the index: a plain `git status` would rewrite it.
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    for f in [
        "docker-compose.production.yml",
        "apps/order-service/entrypoint.sh",
    ] {
        std::fs::File::options()
            .write(true)
            .open(r.join(f))
            .unwrap()
            .set_modified(later)
            .unwrap();
    }
    let before = snapshot(&r);
    let index_before = std::fs::read(r.join(".git/index")).unwrap();
    let head = git_ok(&["rev-parse", "HEAD"], &r);

    let out = prodsafe(&["fix", "--branch", "prodsafe/fixes", "."], &r);
    assert_eq!(out.code, 1, "pending changes exit 1: {}", out.stderr);
    assert!(
        out.stderr.contains("branch prodsafe/fixes created at"),
        "{}",
        out.stderr
    );
    // Work tree, index, HEAD and the checked-out branch are as they were.
    assert_eq!(snapshot(&r), before, "the work tree changed");
    assert!(
        std::fs::read(r.join(".git/index")).unwrap() == index_before,
        "the index file was rewritten"
    );
    assert_eq!(git_ok(&["rev-parse", "HEAD"], &r), head);
    assert_eq!(
        git_ok(&["symbolic-ref", "--short", "HEAD"], &r).trim(),
        "main"
    );
    assert_eq!(git_ok(&["status", "--porcelain"], &r), "");

    // One commit on top of HEAD, with a message from the rules and the trailer.
    assert_eq!(
        git_ok(&["rev-parse", "prodsafe/fixes^"], &r),
        head,
        "parent is HEAD"
    );
    let msg = git_ok(&["log", "-1", "--format=%B", "prodsafe/fixes"], &r);
    assert!(msg.starts_with("prodsafe: fix "), "{msg}");
    assert!(msg.contains("- CMP001 missing-healthcheck ("), "{msg}");
    let trailers = git_ok(
        &[
            "log",
            "-1",
            "--format=%(trailers:key=Generated-by,valueonly)",
            "prodsafe/fixes",
        ],
        &r,
    );
    assert_eq!(
        trailers.trim(),
        format!("prodsafe {}", env!("CARGO_PKG_VERSION"))
    );

    // The commit's files equal what `prodsafe fix` writes in a copy, byte
    // for byte and mode for mode; nothing else differs from HEAD.
    let copy = tmp.path().join("copy");
    copy_dir(&r, &copy);
    let w = prodsafe(&["fix", "."], &copy);
    assert!(w.code <= 1, "{}", w.stderr);
    let changed = git_ok(&["diff", "--name-only", "HEAD", "prodsafe/fixes"], &r);
    let changed: Vec<&str> = changed.lines().collect();
    assert!(changed.len() >= 5, "{changed:?}");
    let fixed = snapshot(&copy);
    for (path, (bytes, mode)) in &fixed {
        let p = path.to_str().unwrap();
        let committed = Command::new("git")
            .args(["show", &format!("prodsafe/fixes:{p}")])
            .current_dir(&r)
            .output()
            .unwrap();
        assert_eq!(&committed.stdout, bytes, "{p} differs from `fix`");
        let ls = git_ok(&["ls-tree", "prodsafe/fixes", "--", p], &r);
        let want = if mode & 0o111 != 0 {
            "100755"
        } else {
            "100644"
        };
        assert!(ls.starts_with(want), "{p}: {ls} (file mode {mode:o})");
        let was_changed = before[path].0 != *bytes;
        assert_eq!(changed.contains(&p), was_changed, "{p}");
    }

    // A rerun finds the branch already holding this change.
    let again = prodsafe(&["fix", "--branch", "prodsafe/fixes", "."], &r);
    assert!(
        again.stderr.contains("branch prodsafe/fixes unchanged"),
        "{}",
        again.stderr
    );
    // The checked-out branch is refused.
    let cur = prodsafe(&["fix", "--branch", "main", "."], &r);
    assert_eq!(cur.code, 2);
    assert!(
        cur.stderr.contains("main is the checked-out branch"),
        "{}",
        cur.stderr
    );
    assert_eq!(git_ok(&["rev-parse", "main"], &r), head);
    // An existing branch with other content is never moved.
    git_ok(&["branch", "taken"], &r);
    let taken = prodsafe(&["fix", "--branch", "taken", "."], &r);
    assert_eq!(taken.code, 2);
    assert!(taken.stderr.contains("already exists"), "{}", taken.stderr);
    assert_eq!(git_ok(&["rev-parse", "taken"], &r), head);
    // Bad names are refused before anything runs.
    let bad = prodsafe(&["fix", "--branch", "a..b", "."], &r);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("not a valid branch name"),
        "{}",
        bad.stderr
    );
    assert_eq!(snapshot(&r), before);
}

#[test]
fn dirty_work_tree_is_refused_and_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let r = tmp.path().join("app");
    repo("node-app", &r);
    let compose = r.join("docker-compose.yml");
    let mut text = std::fs::read(&compose).unwrap();
    text.extend_from_slice(b"# local edit\n");
    std::fs::write(&compose, &text).unwrap();
    let before = snapshot(&r);
    let out = prodsafe(&["fix", "--branch", "prodsafe/fixes", "."], &r);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("uncommitted changes") && out.stderr.contains("docker-compose.yml"),
        "{}",
        out.stderr
    );
    assert_eq!(snapshot(&r), before);
    assert!(git_ok(&["branch", "--list", "prodsafe/fixes"], &r).is_empty());
    // An untracked file counts as dirty too (the fixes could depend on it).
    git_ok(&["checkout", "-q", "--", "docker-compose.yml"], &r);
    std::fs::write(r.join("notes.txt"), "x\n").unwrap();
    let out = prodsafe(&["fix", "--branch", "prodsafe/fixes", "."], &r);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("notes.txt"), "{}", out.stderr);
    // Not a git repo at all: a clear error, nothing written.
    let plain = tmp.path().join("plain");
    copy_dir(&fixture("node-app"), &plain);
    let before = snapshot(&plain);
    let out = prodsafe(&["fix", "--branch", "prodsafe/fixes", "."], &plain);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("not inside a git work tree"),
        "{}",
        out.stderr
    );
    assert_eq!(snapshot(&plain), before);
}

/// The summary must validate against the committed schema (python
/// jsonschema, installed by .ci/run).
fn schema_ok(summary: &Path) {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/summary.schema.json");
    let o = Command::new("python3")
        .args([
            "-c",
            "import json,sys,jsonschema; s=json.load(open(sys.argv[2])); jsonschema.Draft7Validator.check_schema(s); jsonschema.Draft7Validator(s).validate(json.load(open(sys.argv[1]))); print('ok')",
        ])
        .arg(summary)
        .arg(&schema)
        .output()
        .unwrap();
    assert!(
        o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "ok",
        "{} does not validate against schemas/summary.schema.json (python jsonschema is installed by .ci/run): {}",
        summary.display(),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Six repos (two share a base name, one is broken), listed in a file.
fn fleet(base: &Path) -> PathBuf {
    let mut lines = vec!["# fleet".to_string()];
    for (i, fx) in ["node-app", "polyglot", "nomadnet", "node-app", "polyglot"]
        .iter()
        .enumerate()
    {
        let dir = if i == 3 {
            base.join("other").join("node-app")
        } else {
            base.join(fx)
        };
        if !dir.exists() {
            repo(fx, &dir);
        }
        let rel = dir
            .strip_prefix(base)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        if !lines.contains(&rel) {
            lines.push(rel);
        }
    }
    let broken = base.join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(
        broken.join("docker-compose.yml"),
        "services:\n  api:\n\timage: node:20\n",
    )
    .unwrap();
    lines.push("broken".into());
    let list = base.join("repos.txt");
    std::fs::write(&list, lines.join("\n") + "\n").unwrap();
    list
}

fn files_in(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn shards_add_up_to_the_unsharded_run_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path();
    fleet(base);
    let whole = prodsafe(
        &[
            "fix",
            "--diff",
            "--patch-dir",
            "whole",
            "--repos-from",
            "repos.txt",
            "-j",
            "2",
        ],
        base,
    );
    assert_eq!(
        whole.code, 2,
        "the broken repo makes it 2: {}",
        whole.stderr
    );
    // --exit-zero: a finished run exits 0; the error is in the summary.
    let zero = prodsafe(
        &[
            "fix",
            "--diff",
            "--exit-zero",
            "--patch-dir",
            "zero",
            "--repos-from",
            "repos.txt",
        ],
        base,
    );
    assert_eq!(zero.code, 0, "{}", zero.stderr);
    assert!(zero.stderr.contains("broken: error:"), "{}", zero.stderr);
    let whole_files = files_in(&base.join("whole"));
    let names: Vec<&String> = whole_files.keys().collect();
    assert_eq!(
        names,
        [
            "node-app-2.md",
            "node-app-2.patch",
            "node-app.md",
            "node-app.patch",
            "nomadnet.md",
            "nomadnet.patch",
            "polyglot.md",
            "polyglot.patch",
            "summary.json"
        ]
    );
    schema_ok(&base.join("whole/summary.json"));

    for n in [2usize, 3, 7] {
        let mut union: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut dirs = Vec::new();
        for k in 1..=n {
            let d = format!("s{n}-{k}");
            let o = prodsafe(
                &[
                    "fix",
                    "--diff",
                    "--patch-dir",
                    &d,
                    "--repos-from",
                    "repos.txt",
                    "--shard",
                    &format!("{k}/{n}"),
                ],
                base,
            );
            assert!(o.code <= 2, "{}", o.stderr);
            schema_ok(&base.join(&d).join("summary.json"));
            for (f, bytes) in files_in(&base.join(&d)) {
                if f != "summary.json" {
                    assert!(
                        union.insert(f.clone(), bytes).is_none(),
                        "{f} in two shards"
                    );
                }
            }
            dirs.push(d);
        }
        for (f, bytes) in &whole_files {
            if f != "summary.json" {
                assert_eq!(union.get(f), Some(bytes), "{f} differs in the {n} shards");
            }
        }
        assert_eq!(union.len(), whole_files.len() - 1);
        let mut args = vec!["merge-summaries".to_string()];
        args.extend(dirs.iter().cloned());
        args.extend(["-o".into(), format!("merged-{n}.json")]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let m = prodsafe(&args, base);
        assert_eq!(m.code, 0, "{}", m.stderr);
        assert_eq!(
            String::from_utf8(std::fs::read(base.join(format!("merged-{n}.json"))).unwrap())
                .unwrap(),
            String::from_utf8(whole_files["summary.json"].clone()).unwrap(),
            "merged {n} shards differ from the unsharded summary"
        );
    }

    // What the merged summary says.
    let s: serde_json::Value = serde_json::from_slice(&whole_files["summary.json"]).unwrap();
    assert_eq!(s["list_len"], 5);
    assert_eq!(s["totals"]["repos"], 5);
    assert_eq!(s["totals"]["errors"], 1);
    assert_eq!(s["repos"][4]["name"], "broken");
    // `NAME: ROOT/FILE:LINE: ...`: errors name the file with its root.
    let e0 = s["errors"][0].as_str().unwrap();
    assert!(e0.starts_with("broken: "), "{e0}");
    assert!(e0.contains("broken/docker-compose.yml:"), "{e0}");
    let fixes: u64 = s["repos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["fixes_applied"].as_u64().unwrap())
        .sum();
    assert_eq!(s["totals"]["fixes"], fixes);
    let cmp001 = &s["totals"]["by_code"]["CMP001"];
    assert!(
        cmp001["fixes"].as_u64().unwrap() >= 1 && cmp001["repos"].as_u64().unwrap() >= 2,
        "{cmp001}"
    );

    // Missing and overlapping shards are told apart.
    let miss = prodsafe(&["merge-summaries", "s3-1", "s3-3"], base);
    assert_eq!(miss.code, 1);
    assert!(
        miss.stderr.contains("shards missing: 2/3"),
        "{}",
        miss.stderr
    );
    let dup = prodsafe(&["merge-summaries", "s3-1", "s3-1/summary.json"], base);
    assert_eq!(dup.code, 2);
    assert!(dup.stderr.contains("overlapping shards"), "{}", dup.stderr);
    let other = prodsafe(&["merge-summaries", "s3-1", "whole/node-app.patch"], base);
    assert_eq!(other.code, 2);
    assert!(
        other
            .stderr
            .contains("node-app.patch: not a prodsafe summary"),
        "{}",
        other.stderr
    );
}

#[test]
fn pr_description_explains_each_fix_with_evidence_and_safety() {
    let tmp = tempfile::tempdir().unwrap();
    let r = tmp.path().join("nomadnet");
    repo("nomadnet", &r);
    let out = prodsafe(
        &[
            "fix",
            "--diff",
            "--unsafe-fixes",
            "--patch-dir",
            "../out",
            "--branch",
            "prodsafe/fixes",
            ".",
        ],
        &r,
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let md = std::fs::read_to_string(tmp.path().join("out/nomadnet.md")).unwrap();
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("out/summary.json")).unwrap())
            .unwrap();
    schema_ok(&tmp.path().join("out/summary.json"));
    let repo = &summary["repos"][0];
    assert_eq!(repo["description"], "nomadnet.md");
    assert_eq!(repo["branch"]["name"], "prodsafe/fixes");
    assert_eq!(repo["branch"]["status"], "created");
    assert_eq!(
        repo["branch"]["commit"].as_str().unwrap(),
        git_ok(&["rev-parse", "prodsafe/fixes"], &r).trim()
    );
    // Every fixed rule has a section with its reason, and one line per fix
    // naming its place, the evidence (the finding's message) and its safety.
    let fixed = repo["fixed_by_code"].as_object().unwrap();
    assert!(fixed.len() >= 4, "{fixed:?}");
    for (code, n) in fixed {
        let head = format!("### {code} `");
        let at = md
            .find(&head)
            .unwrap_or_else(|| panic!("no section for {code}:\n{md}"));
        let section = &md[at..];
        let section = &section[..section[4..].find("\n### ").map_or(section.len(), |e| e + 4)];
        assert!(
            section.contains(&format!("`prodsafe explain {code}`")),
            "{section}"
        );
        let fixes = section.matches("\n  - fix: ").count();
        assert_eq!(fixes as u64, n.as_u64().unwrap(), "{section}");
    }
    assert!(md.contains("## What changed"), "{md}");
    // Evidence: messages cite their sources as `X at file:line`.
    assert!(md.contains(" at apps/"), "{md}");
    // Unsafe fixes say so, with the reason.
    assert!(md.contains("(**unsafe**: "), "{md}");
    assert!(md.contains("git diff HEAD...prodsafe/fixes"), "{md}");
    assert!(md.contains("git apply --check nomadnet.patch"), "{md}");
    // The patch equals the branch's change: applying it to HEAD gives the branch's tree.
    let wt = tmp.path().join("wt");
    git_ok(
        &[
            "worktree",
            "add",
            "-q",
            "--detach",
            wt.to_str().unwrap(),
            "HEAD",
        ],
        &r,
    );
    git_ok(&["apply", "../out/nomadnet.patch"], &wt);
    git_ok(&["add", "-A"], &wt);
    let applied = git_ok(&["write-tree"], &wt);
    let branch_tree = git_ok(&["rev-parse", "prodsafe/fixes^{tree}"], &r);
    assert_eq!(applied, branch_tree);
}

#[test]
fn completions_and_man_pages() {
    let tmp = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = prodsafe(&["completions", shell], tmp.path());
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        for sub in ["check", "fix", "merge-summaries", "inventory"] {
            assert!(out.stdout.contains(sub), "{shell} completion lacks {sub}");
        }
        assert!(
            out.stdout.contains("patch-dir") && out.stdout.contains("branch"),
            "{shell}"
        );
    }
    // bash: the script loads and completes subcommands and flags.
    let script = prodsafe(&["completions", "bash"], tmp.path()).stdout;
    let file = tmp.path().join("prodsafe.bash");
    std::fs::write(&file, script).unwrap();
    let o = Command::new("bash")
        .arg("-c")
        .arg(
            r#"source "$1"; COMP_WORDS=(prodsafe fi); COMP_CWORD=1; _prodsafe prodsafe fi prodsafe; echo "${COMPREPLY[*]}";
               COMP_WORDS=(prodsafe fix --bra); COMP_CWORD=2; _prodsafe prodsafe --bra fix; echo "${COMPREPLY[*]}""#,
        )
        .arg("_")
        .arg(&file)
        .output()
        .unwrap();
    let so = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        so,
        "fix\n--branch\n",
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let bad = prodsafe(&["completions", "tcsh"], tmp.path());
    assert_eq!(bad.code, 2);

    // man: prodsafe(1) on stdout; --dir writes one page per subcommand, and
    // each renders without a warning from groff.
    let main = prodsafe(&["man"], tmp.path());
    assert!(main.stdout.contains(".TH prodsafe 1"), "{}", main.stdout);
    let dir = tmp.path().join("man");
    let out = prodsafe(&["man", "--dir", dir.to_str().unwrap()], tmp.path());
    assert_eq!(out.code, 0, "{}", out.stderr);
    for page in [
        "prodsafe.1",
        "prodsafe-check.1",
        "prodsafe-fix.1",
        "prodsafe-merge-summaries.1",
    ] {
        let p = dir.join(page);
        let r = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(&p)
            .output()
            .expect("groff (installed with man) is needed to check the man pages");
        assert!(
            r.status.success() && r.stderr.is_empty(),
            "{page}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
    }
    let fix = std::fs::read_to_string(dir.join("prodsafe-fix.1")).unwrap();
    assert!(
        fix.contains("\\-\\-branch") && fix.contains("\\-\\-shard"),
        "{fix}"
    );
}

#[test]
fn branch_from_a_folder_inside_the_repository() {
    // The scanned root is a subfolder: paths in the commit get its prefix,
    // and files outside it are untouched.
    let tmp = tempfile::tempdir().unwrap();
    let r = tmp.path().join("mono");
    copy_dir(&fixture("node-app"), &r.join("services/app"));
    std::fs::write(r.join("README.md"), "mono\n").unwrap();
    git_ok(&["init", "-q", "-b", "main"], &r);
    git_ok(&["add", "-A"], &r);
    git_ok(&["commit", "-q", "-m", "initial"], &r);
    let out = prodsafe(&["fix", "--branch", "ps", "services/app"], &r);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let changed = git_ok(&["diff", "--name-only", "HEAD", "ps"], &r);
    assert_eq!(changed, "services/app/src/main.js\n");
    let copy = tmp.path().join("copy");
    copy_dir(&r.join("services/app"), &copy);
    prodsafe(&["fix", "."], &copy);
    let committed = Command::new("git")
        .args(["show", "ps:services/app/src/main.js"])
        .current_dir(&r)
        .output()
        .unwrap()
        .stdout;
    assert_eq!(committed, std::fs::read(copy.join("src/main.js")).unwrap());
    assert_eq!(git_ok(&["status", "--porcelain"], &r), "");
}

#[test]
fn branch_commit_goes_through_the_repositorys_filters() {
    // `* text=auto`: the work tree has CRLF, the repository stores LF. The
    // commit must store LF too (as `git add` would), so the branch's diff is
    // the fix and not every line of the file.
    let tmp = tempfile::tempdir().unwrap();
    let r = tmp.path().join("crlf");
    copy_dir(&fixture("node-app"), &r);
    let main = r.join("src/main.js");
    let lf = std::fs::read_to_string(&main).unwrap();
    assert!(!lf.contains('\r'));
    std::fs::write(&main, lf.replace('\n', "\r\n")).unwrap();
    std::fs::write(r.join(".gitattributes"), "* text=auto\n").unwrap();
    git_ok(&["init", "-q", "-b", "main"], &r);
    git_ok(&["add", "-A"], &r);
    git_ok(&["commit", "-q", "-m", "initial"], &r);
    assert_eq!(git_ok(&["status", "--porcelain"], &r), "");
    assert_eq!(
        git_ok(&["show", "HEAD:src/main.js"], &r),
        lf,
        "stored as LF"
    );
    let out = prodsafe(&["fix", "--branch", "ps", "."], &r);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let stored = git_ok(&["show", "ps:src/main.js"], &r);
    assert!(!stored.contains('\r'), "the commit stores CRLF");
    let stat = git_ok(&["diff", "--numstat", "HEAD", "ps"], &r);
    let (added, removed) = {
        let mut it = stat.split_whitespace();
        (
            it.next().unwrap().parse::<usize>().unwrap(),
            it.next().unwrap().parse::<usize>().unwrap(),
        )
    };
    assert!(
        removed == 0 && added > 0 && added < lf.lines().count(),
        "{stat}"
    );
    // The work tree still has its CRLF file, untouched.
    assert_eq!(
        std::fs::read_to_string(&main).unwrap(),
        lf.replace('\n', "\r\n")
    );
}
