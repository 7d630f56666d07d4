//! Output formats, rule docs, inventory and report snapshots, config and
//! inline suppressions.

mod common;

use common::*;
use std::process::Command;

#[test]
fn readme_rule_table_is_current() {
    let readme = std::fs::read_to_string(fixture("../README.md")).unwrap();
    let table = readme
        .split("<!-- rules:begin -->\n")
        .nth(1)
        .unwrap()
        .split("<!-- rules:end -->")
        .next()
        .unwrap();
    let out = run(&["rules", "--format", "markdown"], &fixture("."));
    assert_eq!(
        table, out.stdout,
        "README rule table is stale: run `prodsafe rules --format markdown`"
    );
}

#[test]
fn explain_prints_each_rules_doc() {
    let rules = run(&["rules"], &fixture("."));
    let codes: Vec<&str> = rules
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert!(codes.len() >= 30, "{codes:?}");
    for code in codes {
        let e = run(&["explain", code], &fixture("."));
        assert_eq!(e.code, 0);
        for section in ["## What it checks", "## Why it", "## Fix"] {
            assert!(
                e.stdout.contains(section),
                "{code} lacks `{section}`:\n{}",
                e.stdout
            );
        }
    }
    let by_name = run(&["explain", "missing-healthcheck"], &fixture("."));
    assert!(by_name.stdout.starts_with("# CMP001 (missing-healthcheck)"));
    assert_eq!(run(&["explain", "NOPE999"], &fixture(".")).code, 2);
}

#[test]
fn sarif_validates_against_the_schema() {
    let out = run(&["check", "--format", "sarif", "."], &fixture("nomadnet"));
    assert_eq!(out.code, 1);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().any(|r| r["ruleId"] == "CMP001"
        && r["fixes"][0]["artifactChanges"][0]["replacements"][0]["insertedContent"]["text"]
            .as_str()
            .unwrap()
            .contains("healthcheck:")));
    let rule = v["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "DKR001")
        .unwrap()
        .clone();
    assert!(rule["help"]["markdown"]
        .as_str()
        .unwrap()
        .contains("pnpm: not found"));
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("out.sarif");
    std::fs::write(&doc, &out.stdout).unwrap();
    // The OASIS schema, copied from shared/schemas so the test runs anywhere.
    let schema = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/schemas/sarif-schema-2.1.0.json");
    let py = Command::new("python3")
        .args(["-c", "import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))); print('ok')"])
        .arg(&doc)
        .arg(&schema)
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "SARIF does not validate (python jsonschema is installed by .ci/run): {}",
        String::from_utf8_lossy(&py.stderr)
    );
}

#[test]
fn github_and_markdown_formats_and_fail_on() {
    let g = run(
        &[
            "check",
            "--format",
            "github",
            "--select",
            "CMP006,CMP009",
            ".",
        ],
        &fixture("nomadnet"),
    );
    // nginx's wrong port is one source of logger-service's port disagreeing:
    // reported once, by CMP009, with every source.
    assert_eq!(g.stdout.trim(), "::error file=docker-compose.production.yml,line=148,col=3,endLine=148,endColumn=16,title=CMP009 port-disagreement::`logger-service` listens on 6008 (app default for PORT (the container does not set it) `6008` at apps/logger-service/src/main.ts:12), but nginx proxy_pass `6009` at nginx/nginx.conf:13 says otherwise (agreeing: Dockerfile EXPOSE `6008` at apps/logger-service/Dockerfile:19). [high]");
    let m = run(
        &["check", "--format", "markdown", "--select", "CMP009", "."],
        &fixture("nomadnet"),
    );
    assert!(m
        .stdout
        .starts_with("| Severity | Code | Location | Message | Fix |\n"));
    assert!(m
        .stdout
        .contains("| high | `CMP009` port-disagreement | `docker-compose.production.yml:148` |"));
    // Only low findings: --fail-on medium passes, the default fails.
    let low = run(
        &["check", "--select", "ENT001", "--fail-on", "medium", "."],
        &fixture("nomadnet"),
    );
    assert_eq!(low.code, 0, "{}", low.stdout);
    assert_eq!(
        run(&["check", "--select", "ENT001", "."], &fixture("nomadnet")).code,
        1
    );
}

#[test]
fn inventory_matches_the_seed_table() {
    let out = run(
        &["inventory", "--format", "markdown", "."],
        &fixture("nomadnet-after"),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("inventory_nomadnet_after", out.stdout);
    let j = run(
        &["inventory", "--format", "json", "."],
        &fixture("nomadnet"),
    );
    let v: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    let gw = v["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == "api-gateway")
        .unwrap();
    assert_eq!(gw["port"], 8080);
    assert_eq!(gw["health_endpoint"], "/gateway-health");
    assert_eq!(gw["healthcheck"], "curl");
    let up = v["upstreams"].as_array().unwrap();
    assert!(up
        .iter()
        .any(|u| u["name"] == "api_backend" && u["service"] == "api-gateway" && u["port"] == 8080));
}

fn report(fixture_name: &str) -> String {
    let o = Command::new(bin())
        .args(["report", "."])
        .current_dir(fixture(fixture_name))
        .env("PRODSAFE_DATE", "2025-01-27")
        .output()
        .unwrap();
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn report_before_and_after() {
    let before = report("nomadnet");
    assert!(before.contains("**Status:** ❌ NOT READY"));
    insta::assert_snapshot!("report_nomadnet_before", before);
    let after = report("nomadnet-after");
    assert!(after.contains("**Status:** ✅ PRODUCTION READY"));
    insta::assert_snapshot!("report_nomadnet_after", after);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("AUDIT.md");
    let o = Command::new(bin())
        .args(["report", "-o"])
        .arg(&out)
        .arg(fixture("nomadnet-after"))
        .env("PRODSAFE_DATE", "2025-01-27")
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .contains("## PHASE 5 — CI/CD WORKFLOW"));
}

#[test]
fn suppressions_hide_findings_and_unused_ones_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("docker-compose.yml"),
        "services:\n  # prodsafe: ignore[CMP001] batch worker, watched through its queue\n  worker:\n    image: node:20\n    ports: [\"80:80\"]\n  api:\n    image: node:20\n    ports: [\"81:81\"]\n  # prodsafe: ignore[CMP002]\n  web:\n    image: node:20\n    ports: [\"82:82\"]\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n",
    )
    .unwrap();
    let out = run(
        &["check", "--format", "json", "--report-unused-ignores", "."],
        d,
    );
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let got: Vec<(String, Option<String>)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["service"].as_str().map(str::to_string),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("CMP001".to_string(), Some("api".to_string())),
            ("PS001".to_string(), None)
        ]
    );
    assert!(
        out.stderr
            .contains("docker-compose.yml:9: suppression without a reason"),
        "{}",
        out.stderr
    );
    // Without the flag, the unused one is not a finding.
    let plain = run(&["check", "--format", "json", "."], d);
    let v: serde_json::Value = serde_json::from_str(&plain.stdout).unwrap();
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);
}

#[test]
fn add_ignores_writes_a_baseline_that_silences_everything() {
    let dir = copy_fixture("nomadnet");
    let out = run(&["check", "--add-ignores", "."], dir.path());
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let after = run(&["check", "."], dir.path());
    assert_eq!(after.code, 0, "{}", after.stdout);
    assert!(after.stdout.contains("All checks passed!"));
    compose_config_ok(&dir.path().join("docker-compose.production.yml"));
    // Files stay valid in their formats.
    let sh = Command::new("sh")
        .arg("-n")
        .arg(dir.path().join("apps/order-service/entrypoint.sh"))
        .output()
        .unwrap();
    assert!(sh.status.success());
    let script =
        std::fs::read_to_string(dir.path().join("apps/order-service/entrypoint.sh")).unwrap();
    assert!(
        script.starts_with("#!/bin/sh\r\n# prodsafe: ignore[ENT006, ENT001] reason: baseline\r\n"),
        "{script:?}"
    );
    // A second run adds nothing.
    let again = run(&["check", "--add-ignores", "."], dir.path());
    assert!(
        again.stdout.contains("added 0 suppression comments"),
        "{}",
        again.stdout
    );
}

#[test]
fn bad_config_key_errors_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("prodsafe.toml"),
        "ignore = [\"ENT001\"]\n\n[healthcheck]\nintervall = \"5s\"\n",
    )
    .unwrap();
    let out = run(&["check", "."], dir.path());
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("prodsafe.toml:4: invalid config: unknown field `intervall`"),
        "{}",
        out.stderr
    );
}

#[test]
fn config_overrides_port_path_severity_and_healthcheck_defaults() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("docker-compose.yml"),
        "services:\n  api:\n    image: node:20\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("prodsafe.toml"),
        "[severity]\nCMP001 = \"high\"\n\n[healthcheck]\ninterval = \"15s\"\nretries = 5\n\n[services.api]\nport = 9090\nhealth_path = \"/healthz\"\n",
    )
    .unwrap();
    let out = run(&["check", "--format", "json", "."], dir.path());
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["findings"][0]["severity"], "high");
    run(&["fix", "."], dir.path());
    let text = std::fs::read_to_string(dir.path().join("docker-compose.yml")).unwrap();
    assert!(text.contains("http://localhost:9090/healthz"), "{text}");
    assert!(text.contains("interval: 15s") && text.contains("retries: 5"));
}

#[test]
fn config_exclude_and_template_override() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("legacy")).unwrap();
    std::fs::create_dir_all(d.join("ops/templates")).unwrap();
    std::fs::write(
        d.join("legacy/docker-compose.yml"),
        "services:\n  old:\n    image: node:14\n",
    )
    .unwrap();
    std::fs::write(
        d.join("docker-compose.yml"),
        "services:\n  api:\n    image: node:20\n    ports: [\"80:80\"]\n",
    )
    .unwrap();
    // No route is known for `api`: the probe comes from the "any answer"
    // template, and the fix is unsafe (port only from compose ports).
    std::fs::write(
        d.join("ops/templates/healthcheck-node-any.yaml"),
        "# our own probe\nhealthcheck:\n  test: [\"CMD\", \"node\", \"/app/healthcheck.js\", \"{{port}}\"]\n  interval: {{interval}}\n",
    )
    .unwrap();
    std::fs::write(
        d.join("prodsafe.toml"),
        "exclude = [\"legacy\"]\ntemplates = \"ops/templates\"\n",
    )
    .unwrap();
    let f = findings(d, "ALL");
    assert_eq!(f.len(), 1, "legacy/ is excluded: {f:?}");
    assert_eq!(f[0]["fix"]["safety"], "unsafe");
    run(&["fix", "--unsafe-fixes", "."], d);
    let text = std::fs::read_to_string(d.join("docker-compose.yml")).unwrap();
    assert!(text.ends_with("    healthcheck:\n      test: [\"CMD\", \"node\", \"/app/healthcheck.js\", \"80\"]\n      interval: 30s\n"), "{text}");
}

#[test]
fn check_text_output_on_the_fixture() {
    let out = run(&["check", "--color", "never", "."], &fixture("nomadnet"));
    assert_eq!(out.code, 1);
    insta::assert_snapshot!("check_text_nomadnet", out.stdout);
}
