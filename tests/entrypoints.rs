//! Entrypoint rules on the nomadnet fixture, their fixes checked with
//! `sh -n` and the real shellcheck, and the nounset safety analysis checked
//! by running scripts under `sh -eu`.

mod common;

use common::*;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn pairs(f: &[serde_json::Value]) -> BTreeSet<(String, String)> {
    f.iter()
        .map(|x| {
            (
                x["code"].as_str().unwrap().to_string(),
                x["path"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn each_rule_fires_where_planted_and_only_there() {
    let dir = fixture("nomadnet");
    let got = pairs(&findings(&dir, "ENT"));
    let p = |c: &str, s: &str| (c.to_string(), format!("apps/{s}/entrypoint.sh"));
    let want: BTreeSet<_> = [
        p("ENT001", "admin-service"),
        p("ENT001", "auth-service"),
        p("ENT001", "order-service"),
        p("ENT001", "product-service"),
        p("ENT001", "recommendation-service"),
        p("ENT002", "seller-service"),
        p("ENT003", "recommendation-service"),
        p("ENT004", "recommendation-service"),
        p("ENT005", "recommendation-service"),
        p("ENT006", "order-service"),
        p("ENT007", "auth-service"),
    ]
    .into_iter()
    .collect();
    assert_eq!(got, want);
    // The heredoc in admin-service mentions npx: it is text, not a command.
    assert!(!got.contains(&p("ENT003", "admin-service")));
}

#[test]
fn unguarded_port_makes_nounset_unsafe() {
    let f = findings(&fixture("nomadnet"), "ENT001");
    let product = f
        .iter()
        .find(|x| x["path"] == "apps/product-service/entrypoint.sh")
        .unwrap();
    assert_eq!(product["fix"]["safety"], "unsafe");
    assert!(product["message"].as_str().unwrap().contains("$PORT"));
    let admin = f
        .iter()
        .find(|x| x["path"] == "apps/admin-service/entrypoint.sh")
        .unwrap();
    assert_eq!(admin["fix"]["safety"], "safe");
}

fn shellcheck_codes(file: &Path) -> BTreeSet<String> {
    let o = Command::new(validator("shellcheck"))
        .args(["-f", "gcc", "-s", "sh"])
        .arg(file)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| {
            l.rsplit("[SC")
                .next()
                .map(|c| c.trim_end_matches(']').to_string())
        })
        .collect()
}

#[test]
fn fixed_scripts_pass_sh_n_and_shellcheck_and_are_byte_exact() {
    let dir = copy_fixture("nomadnet");
    let scripts = [
        "admin-service",
        "auth-service",
        "order-service",
        "product-service",
        "recommendation-service",
        "seller-service",
    ];
    let before: Vec<(String, BTreeSet<String>)> = scripts
        .iter()
        .map(|s| {
            let p = dir.path().join(format!("apps/{s}/entrypoint.sh"));
            (std::fs::read_to_string(&p).unwrap(), shellcheck_codes(&p))
        })
        .collect();
    let out = run(
        &["fix", "--unsafe-fixes", "--select", "ENT", "."],
        dir.path(),
    );
    assert_ne!(out.code, 2, "{}", out.stderr);
    for (s, (old, old_codes)) in scripts.iter().zip(before) {
        let p = dir.path().join(format!("apps/{s}/entrypoint.sh"));
        let sh = Command::new("sh").arg("-n").arg(&p).output().unwrap();
        assert!(
            sh.status.success(),
            "sh -n {s}: {}",
            String::from_utf8_lossy(&sh.stderr)
        );
        let new_codes = shellcheck_codes(&p);
        assert!(
            new_codes.is_subset(&old_codes),
            "{s}: new shellcheck warnings {:?}",
            new_codes.difference(&old_codes).collect::<Vec<_>>()
        );
        let new = std::fs::read_to_string(&p).unwrap();
        let expected = match *s {
            "admin-service" | "auth-service" | "product-service" => {
                old.replacen("set -e\n", "set -eu\n", 1)
            }
            "order-service" => old
                .replace("\r\n", "\n")
                .replacen("set -e\n", "set -eu\n", 1),
            "seller-service" => old.replacen("#!/bin/sh\n", "#!/bin/sh\nset -eu\n", 1),
            "recommendation-service" => old
                .replacen("set -e\n", "set -eu\n", 1)
                .replacen("npx prisma generate --schema=prisma/schema.prisma\n", "", 1)
                .replacen("\ndumb-init node", "\nexec dumb-init node", 1),
            _ => unreachable!(),
        };
        assert_eq!(new, expected, "{s}");
    }
    // The mode of the scripts is kept.
    use std::os::unix::fs::PermissionsExt;
    let m = std::fs::metadata(dir.path().join("apps/seller-service/entrypoint.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(m & 0o777, 0o644);
    let again = run(
        &["fix", "--diff", "--unsafe-fixes", "--select", "ENT", "."],
        dir.path(),
    );
    assert_eq!(again.stdout, "", "second run changes nothing");
}

#[test]
fn crlf_and_safe_fixes_combine_into_lf() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("docker-entrypoint.sh");
    std::fs::write(&p, "#!/bin/sh\r\necho start\r\nnode server.js\r\n").unwrap();
    let d = run(&["fix", "--diff", "."], dir.path());
    git(&["init", "-q"], dir.path());
    git_apply(dir.path(), &d.raw);
    assert_eq!(
        std::fs::read_to_string(&p).unwrap(),
        "#!/bin/sh\nset -eu\necho start\nexec node server.js\n"
    );
}

/// Scripts and whether `set -u` is safe for them; each is run with `sh -eu`
/// in an environment without the variables, and must succeed exactly when
/// the analysis says safe.
#[test]
fn nounset_analysis_matches_sh_eu() {
    let cases = [
        ("echo \"${A:-x}\" \"${B-}\" \"${C:+y}\"", true),
        ("A=1\necho \"$A\"", true),
        ("for f in a b; do echo \"$f\"; done", true),
        ("echo \"$@\" \"$#\" \"$?\" \"$$\" \"$HOME\"", true),
        ("read -r LINE </dev/null || LINE=x\necho \"$LINE\"", true),
        ("echo \"$UNSET_VAR\"", false),
        ("echo \"${UNSET_VAR}\"", false),
        ("echo \"$1\"", false),
        ("echo before \"$X\"\nX=1", false),
        ("cat <<EOF\n$HEREDOC_VAR\nEOF", false),
        ("cat <<'EOF'\n$NOT_EXPANDED\nEOF", true),
    ];
    for (i, (body, safe)) in cases.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("entrypoint.sh");
        std::fs::write(&p, format!("#!/bin/sh\nset -e\n{body}\n")).unwrap();
        let f = findings(dir.path(), "ENT001");
        assert_eq!(f.len(), 1, "case {i}");
        let analysed_safe = f[0]["fix"]["safety"] == "safe";
        let run = Command::new("sh")
            .arg("-eu")
            .arg(&p)
            .env_clear()
            .env("HOME", "/root")
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap();
        assert_eq!(
            run.status.success(),
            *safe,
            "case {i}: sh -eu disagrees with the test table: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert_eq!(
            analysed_safe, *safe,
            "case {i}: analysis says safe={analysed_safe} for:\n{body}"
        );
    }
}

#[test]
fn env_fail_fast_in_the_entrypoint_of_a_non_node_service() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("worker")).unwrap();
    std::fs::write(
        d.join("docker-compose.yml"),
        "services:\n  worker:\n    build: ./worker\n    environment:\n      DATABASE_URL: ${DATABASE_URL:?set DATABASE_URL}\n      QUEUE: ${QUEUE_NAME:?}\n",
    )
    .unwrap();
    std::fs::write(d.join("worker/Dockerfile"), "FROM python:3.12-slim\nCOPY entrypoint.sh /entrypoint.sh\nUSER nobody\nENTRYPOINT [\"/entrypoint.sh\"]\n").unwrap();
    let script = "#!/bin/sh\nset -eu\necho \"worker starting\"\nexec echo started\n";
    std::fs::write(d.join("worker/entrypoint.sh"), script).unwrap();
    set_mode(&d.join("worker/entrypoint.sh"), 0o755);
    let f = findings(d, "ENT008");
    assert_eq!(f.len(), 1, "{f:?}");
    // `QUEUE: ${QUEUE_NAME:?}` makes the host need QUEUE_NAME; the container
    // gets QUEUE: checking QUEUE_NAME inside would stop the service.
    assert!(f[0]["message"]
        .as_str()
        .unwrap()
        .contains("requires DATABASE_URL but"));
    run(&["fix", "--select", "ENT008", "."], d);
    let fixed = std::fs::read_to_string(d.join("worker/entrypoint.sh")).unwrap();
    assert_eq!(
        fixed,
        script.replacen(
            "set -eu\n",
            "set -eu\n: \"${DATABASE_URL:?DATABASE_URL is required}\"\n",
            1
        )
    );
    assert!(shellcheck_codes(&d.join("worker/entrypoint.sh")).is_empty());
    let unset = Command::new("sh")
        .arg(d.join("worker/entrypoint.sh"))
        .env_clear()
        .env("QUEUE_NAME", "q")
        .output()
        .unwrap();
    assert!(!unset.status.success());
    assert!(String::from_utf8_lossy(&unset.stderr).contains("DATABASE_URL is required"));
    let set = Command::new("sh")
        .arg(d.join("worker/entrypoint.sh"))
        .env_clear()
        .env("QUEUE_NAME", "q")
        .env("DATABASE_URL", "x")
        .output()
        .unwrap();
    assert!(set.status.success());
    assert!(findings(d, "ENT008").is_empty(), "idempotent");
}

#[test]
fn env_check_leaves_out_what_the_script_sets_and_is_unsafe_without_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("worker")).unwrap();
    std::fs::write(
        d.join("docker-compose.yml"),
        "services:\n  worker:\n    build: ./worker\n    environment:\n      REGION: eu\n",
    )
    .unwrap();
    std::fs::write(
        d.join("prodsafe.toml"),
        "[services.worker]\nrequired_env = [\"API_KEY\", \"DB_PASS\", \"REGION\"]\n",
    )
    .unwrap();
    std::fs::write(d.join("worker/Dockerfile"), "FROM python:3.12-slim\nCOPY entrypoint.sh /entrypoint.sh\nUSER nobody\nENTRYPOINT [\"/entrypoint.sh\"]\n").unwrap();
    let script = "#!/bin/sh\nset -eu\nDB_PASS=$(cat /run/secrets/db_pass)\nexport DB_PASS\nexec echo started\n";
    std::fs::write(d.join("worker/entrypoint.sh"), script).unwrap();
    set_mode(&d.join("worker/entrypoint.sh"), 0o755);
    let f = findings(d, "ENT008");
    assert_eq!(f.len(), 1, "{f:?}");
    // DB_PASS is set by the script itself: a check at the top would stop it.
    assert_eq!(f[0]["fix"]["title"], "Check API_KEY, REGION at start");
    // API_KEY is not given by compose: the check would stop the service.
    assert_eq!(f[0]["fix"]["safety"], "unsafe");
    let text = run(&["check", "--select", "ENT008", "."], d).stdout;
    assert!(
        text.contains("`worker` (docker-compose.yml) does not get API_KEY (see CMP005)"),
        "{text}"
    );
    run(&["fix", "--select", "ENT008", "."], d);
    assert_eq!(
        std::fs::read_to_string(d.join("worker/entrypoint.sh")).unwrap(),
        script,
        "an unsafe fix is not applied by default"
    );
}
