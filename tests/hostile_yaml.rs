//! Issue 14, items 1, 2, 13, 14 and the YAML property: after `fix`, a
//! second YAML parser (the Compose binary, go-yaml) reads every service as
//! before plus only the inserted key.

mod common;

use common::*;
use proptest::prelude::*;
use std::path::Path;
use std::process::Command;

/// `docker compose config --format json` of a file: its services.
fn compose_services(file: &Path) -> serde_json::Value {
    let o = Command::new(validator("docker-compose"))
        .args(["-f", file.to_str().unwrap(), "config", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "compose rejected {}: {}\n{}",
        file.display(),
        String::from_utf8_lossy(&o.stderr),
        std::fs::read_to_string(file).unwrap_or_default()
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["services"].clone()
}

/// Every service after `fix` is the service before plus, at most, a
/// healthcheck; returns how many got one.
fn only_healthchecks_added(before: &serde_json::Value, after: &serde_json::Value) -> usize {
    let (b, a) = (before.as_object().unwrap(), after.as_object().unwrap());
    assert_eq!(
        b.keys().collect::<Vec<_>>(),
        a.keys().collect::<Vec<_>>(),
        "services changed"
    );
    let mut added = 0;
    for (name, svc) in b {
        let mut got = a[name].clone();
        if svc.get("healthcheck").is_none() && got.get("healthcheck").is_some() {
            got.as_object_mut().unwrap().remove("healthcheck");
            added += 1;
        }
        assert_eq!(&got, svc, "service {name} changed beyond the healthcheck");
    }
    added
}

fn one_file_repo(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("docker-compose.yml");
    std::fs::write(&p, text).unwrap();
    (dir, p)
}

/// Item 1: a block scalar ending a file without a final newline keeps its
/// exact value (no line break added) when a key is inserted, for every
/// chomping style; Compose reads the same values before and after.
#[test]
fn block_scalar_at_eof_keeps_its_value() {
    for header in ["|", ">", "|+", ">+", "|-", ">-"] {
        let text = format!(
            "services:\n  api:\n    image: node:20\n    ports: [\"3000:3000\"]\n    environment:\n      MOTD: {header}\n        hello\n        world"
        );
        let (dir, p) = one_file_repo(&text);
        let before = compose_services(&p);
        run(&["fix", "--select", "CMP001", "."], dir.path());
        let fixed = std::fs::read_to_string(&p).unwrap();
        assert!(
            fixed.contains("healthcheck:"),
            "{header}: not fixed:\n{fixed}"
        );
        assert!(fixed.ends_with("        world"), "{header}: the end moved");
        let after = compose_services(&p);
        assert_eq!(only_healthchecks_added(&before, &after), 1, "{header}");
    }
}

/// Item 1, verification side: whatever builds the edit, verification
/// refuses one that adds a line break to a block scalar at EOF.
#[test]
fn verification_compares_block_scalars_byte_exactly() {
    use prodsafe::discover::FileKind;
    use prodsafe::finding::{Edit, Expect};
    let text = "x:\n  MOTD: |\n    hello";
    let src = prodsafe::source::SourceFile::from_text("c.yml", Path::new("c.yml"), text, 0o644);
    let edits = vec![Edit {
        start: text.len(),
        end: text.len(),
        text: "\n  k: v".into(),
    }];
    let new = prodsafe::edit::apply(text, &edits);
    let r = prodsafe::edit::verify(
        &src,
        FileKind::Compose,
        &edits,
        &new,
        &[Expect::YamlKeyAdded {
            path: vec!["x".into()],
            key: "k".into(),
            value: "k: v".into(),
        }],
    );
    assert!(r.is_err(), "a changed block scalar passed verification");
}

/// Item 2: U+2028 / U+2029 / NEL outside quoted strings: the file is not
/// edited and the reason names the file; inside a quoted string it is fine.
#[test]
fn unicode_line_separators_outside_quotes_refuse_the_edit() {
    for c in ['\u{2028}', '\u{2029}', '\u{85}'] {
        let text = format!(
            "services:\n  api:\n    image: node:20 # note{c}x: 1\n    ports: [\"3000:3000\"]\n"
        );
        let (dir, p) = one_file_repo(&text);
        let out = run(&["fix", "--select", "CMP001", "."], dir.path());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), text, "edited");
        assert!(
            out.stderr.contains("docker-compose.yml")
                && out.stderr.contains(&format!("U+{:04X}", c as u32)),
            "{}",
            out.stderr
        );
    }
    let quoted = "services:\n  api:\n    image: node:20\n    labels:\n      note: \"a\u{2028}b\"\n    ports: [\"3000:3000\"]\n";
    let (dir, p) = one_file_repo(quoted);
    let before = compose_services(&p);
    run(&["fix", "--select", "CMP001", "."], dir.path());
    assert_ne!(std::fs::read_to_string(&p).unwrap(), quoted);
    assert_eq!(only_healthchecks_added(&before, &compose_services(&p)), 1);
}

fn deep_repo(root: &Path) {
    std::fs::create_dir_all(root).unwrap();
    std::fs::write(
        root.join("docker-compose.yml"),
        format!(
            "services:\n  api:\n    image: node:20\nx-deep:\n  {}x\n",
            "- ".repeat(30_000)
        ),
    )
    .unwrap();
}

fn good_repo(root: &Path) {
    std::fs::create_dir_all(root).unwrap();
    std::fs::write(
        root.join("docker-compose.yml"),
        "services:\n  api:\n    image: node:20\n    ports: [\"3000:3000\"]\n",
    )
    .unwrap();
}

/// Item 13: 30,000 nested sequences on one line give a clear error naming
/// the file, and in a batch the other repo's patch and summary.json are
/// written.
#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    deep_repo(&d.join("deep"));
    good_repo(&d.join("good"));
    let check = run(&["check", "deep"], d);
    assert_eq!(check.code, 2, "{}", check.stderr);
    assert!(
        check.stderr.contains("docker-compose.yml") && check.stderr.contains("nested more than"),
        "{}",
        check.stderr
    );
    let out = run(&["fix", "--diff", "--patch-dir", "out", "deep", "good"], d);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let patch = std::fs::read_to_string(d.join("out/good.patch")).unwrap();
    assert!(patch.contains("+    healthcheck:"), "{patch}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("out/summary.json")).unwrap())
            .unwrap();
    let repos = summary["repos"].as_array().unwrap();
    assert_eq!(repos.len(), 2);
    assert!(repos[0]["errors"][0]
        .as_str()
        .unwrap()
        .contains("nested more than"));
    assert_eq!(repos[1]["patch"], "good.patch");
}

/// Item 14: a 624-byte alias bomb (10^9 nodes when expanded) is fixed in
/// bounded memory: verification never expands aliases.
#[test]
fn alias_bomb_is_verified_without_expanding() {
    let mut text = String::from("x-lol0: &l0 \"lol\"\n");
    for n in 1..10 {
        let items = vec![format!("*l{}", n - 1); 10].join(",");
        text.push_str(&format!("x-lol{n}: &l{n} [{items}]\n"));
    }
    text.push_str("services:\n  api:\n    image: node:20\n    ports: [\"3000:3000\"]\n");
    let (dir, _p) = one_file_repo(&text);
    let t = std::time::Instant::now();
    let o = Command::new("sh")
        .args(["-c", "ulimit -v 3000000; exec \"$0\" fix --diff .", bin()])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("+    healthcheck:"), "{stdout}");
    assert!(t.elapsed().as_secs() < 20, "{:?}", t.elapsed());
}

// ---- property: Compose reads the original plus only the inserted keys ----

#[derive(Debug, Clone)]
struct Svc {
    flow: bool,
    env_alias: bool,
    merge: bool,
    comment: bool,
    /// (header, content lines)
    block: Option<(&'static str, u8)>,
}

fn arb_svc() -> impl Strategy<Value = Svc> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::option::of((
            prop::sample::select(vec!["|", ">", "|+", ">+", "|-", ">-", "|2"]),
            1u8..4,
        )),
    )
        .prop_map(|(flow, env_alias, merge, comment, block)| Svc {
            flow,
            env_alias,
            merge,
            comment,
            block,
        })
}

fn render(svcs: &[Svc], crlf: bool, final_nl: bool) -> String {
    let mut s = String::from(
        "x-env: &env\n  A: \"1\"\n  B: two # c\nx-base: &base {restart: always, labels: {team: a}}\nservices:\n",
    );
    for (i, v) in svcs.iter().enumerate() {
        let c = if v.comment { " # c: {x}" } else { "" };
        if v.flow {
            s.push_str(&format!(
                "  s{i}: {{image: \"node:20\", ports: [\"300{i}:3000\"]}}{c}\n"
            ));
            continue;
        }
        s.push_str(&format!("  s{i}:{c}\n"));
        if v.merge {
            s.push_str("    <<: *base\n");
        }
        s.push_str(&format!("    image: node:20{c}\n"));
        if v.comment {
            s.push_str("    # a comment line\n");
        }
        s.push_str(&format!("    ports: [\"300{i}:3000\"]\n"));
        if v.env_alias {
            s.push_str("    environment: *env\n");
        }
        if let Some((h, n)) = v.block {
            let key = if v.merge { "annotations" } else { "labels" };
            s.push_str(&format!("    {key}:\n      note: {h}\n"));
            for l in 0..n {
                s.push_str(&format!("        line {l} # not a comment\n"));
            }
        }
    }
    if !final_nl {
        while s.ends_with('\n') {
            s.pop();
        }
    }
    if crlf {
        s = s.replace('\n', "\r\n");
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn compose_reads_the_original_plus_only_the_healthchecks(
        svcs in prop::collection::vec(arb_svc(), 1..4),
        crlf in any::<bool>(),
        final_nl in any::<bool>(),
    ) {
        let text = render(&svcs, crlf, final_nl);
        let (dir, p) = one_file_repo(&text);
        let before = compose_services(&p);
        let out = run(&["fix", "--select", "CMP001", "."], dir.path());
        prop_assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
        let after = compose_services(&p);
        let added = only_healthchecks_added(&before, &after);
        let fixed = std::fs::read_to_string(&p).unwrap();
        prop_assert_eq!(added, fixed.matches("healthcheck").count());
        // Every service gets its healthcheck: none is refused.
        prop_assert_eq!(added, svcs.len(), "{}\n{}", fixed, out.stderr);
        prop_assert_eq!(fixed.ends_with('\n'), text.ends_with('\n'));
    }
}
