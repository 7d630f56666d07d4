//! CMP001/CMP003 end to end, and the YAML locator/splice on edge cases,
//! each checked byte for byte and with `docker compose config`.

mod common;

use common::*;
use std::path::Path;

const PROBE: &str = "[\"CMD\", \"node\", \"-e\", \"require('http').get('http://localhost:PORT/', r=>process.exit(r.statusCode<500?0:1)).on('error',()=>process.exit(1))\"]";

/// The healthcheck block prodsafe must insert: `ind` spaces before the key,
/// `unit` more before its children, with `eol` endings.
fn block(ind: usize, unit: usize, port: u16, eol: &str) -> String {
    let a = " ".repeat(ind);
    let b = " ".repeat(ind + unit);
    let probe = PROBE.replace("PORT", &port.to_string());
    format!(
        "{a}healthcheck:{eol}{b}test: {probe}{eol}{b}interval: 30s{eol}{b}timeout: 10s{eol}{b}retries: 3{eol}{b}start_period: 20s{eol}"
    )
}

/// Writes `input` (with `@@` removed) as a compose file, runs `fix`, and
/// checks the result equals `input` with `@@` replaced by `insert`; then runs
/// `docker compose config` on it and checks a second `fix` changes nothing.
fn case(input: &str, insert: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("docker-compose.yml");
    let original = input.replace("@@", "");
    std::fs::write(&path, &original).unwrap();
    let out = run(&["fix", "--unsafe-fixes", "."], dir.path());
    assert!(
        out.code == 0 || out.code == 1,
        "fix failed: {}{}",
        out.stdout,
        out.stderr
    );
    let got = std::fs::read_to_string(&path).unwrap();
    let want = input.replace("@@", insert);
    assert_eq!(
        got, want,
        "\n--- got ---\n{got:?}\n--- want ---\n{want:?}\n{}",
        out.stderr
    );
    compose_config_ok(&path);
    let again = run(&["fix", "--unsafe-fixes", "--diff", "."], dir.path());
    assert_eq!(
        again.code, 0,
        "second fix --diff should be empty: {}",
        again.stdout
    );
    assert!(again.stdout.is_empty());
}

#[test]
fn crlf_file() {
    let input = "services:\r\n  api:\r\n    image: node:20-alpine\r\n    ports:\r\n      - \"8080:8080\"\r\n@@  db:\r\n    image: postgres:16\r\n    healthcheck:\r\n      test: [\"CMD\", \"pg_isready\"]\r\n";
    case(input, &block(4, 2, 8080, "\r\n"));
}

#[test]
fn no_final_newline_last_service() {
    let input = "services:\n  api:\n    image: node:20-alpine\n    expose: [\"3000\"]@@";
    let b = block(4, 2, 3000, "\n");
    case(input, &format!("\n{}", b.trim_end_matches('\n')));
}

#[test]
fn four_space_indent() {
    let input = "services:\n    api:\n        image: node:20\n        ports:\n            - 9000:9000\n@@    web:\n        image: nginx\n        healthcheck:\n            test: [\"CMD\", \"true\"]\n";
    case(input, &block(8, 4, 9000, "\n"));
}

#[test]
fn indentless_sequence_last() {
    let input = "services:\n  api:\n    image: node:20\n    ports:\n    - \"7000:7000\"\n    - \"7001:7001\"\n@@";
    case(input, &block(4, 2, 7000, "\n"));
}

#[test]
fn comments_and_blank_lines_after_last_key() {
    let input = "services:\n  api:\n    image: node:20 # runtime\n    ports: [\"80:8080\"]\n@@\n    # healthcheck: later\n\n  other:\n    image: redis:7\n    healthcheck: {test: [\"CMD\", \"redis-cli\", \"ping\"]}\n";
    case(input, &block(4, 2, 8080, "\n"));
}

#[test]
fn literal_block_last_line_looks_like_comment() {
    let input = "services:\n  api:\n    image: node:20\n    ports: [\"80:80\"]\n    command: |\n      node dist/main.js\n      # not a comment, part of the scalar\n@@\n  # a comment about db\n  db:\n    image: postgres:16\n    healthcheck:\n      test: [\"CMD\", \"pg_isready\"]\n";
    case(input, &block(4, 2, 80, "\n"));
}

#[test]
fn keep_block_scalar_keeps_trailing_newlines() {
    let input = "services:\n  api:\n    image: node:20\n    ports: [\"80:80\"]\n    labels:\n      note: |+\n        keep me\n\n\n@@  db:\n    image: postgres:16\n    healthcheck:\n      test: [\"CMD\", \"pg_isready\"]\n";
    case(input, &block(4, 2, 80, "\n"));
}

#[test]
fn folded_block_scalar() {
    let input = "services:\n  api:\n    image: node:20\n    ports: [\"80:80\"]\n    command: >\n      node\n      dist/main.js\n@@";
    case(input, &block(4, 2, 80, "\n"));
}

#[test]
fn multi_line_quoted_scalar_with_hash_line() {
    let input = "services:\n  api:\n    image: node:20\n    ports: [\"80:80\"]\n    environment:\n      NOTE: \"first line\n        # still inside the string\n        last\"\n@@";
    case(input, &block(4, 2, 80, "\n"));
}

#[test]
fn non_ascii_before_the_spot() {
    let input = "# café ☕ 🚀\nservices:\n  api:\n    image: node:20\n    labels: {owner: \"équipe 🚀\"}\n    ports: [\"80:80\"]\n@@";
    case(input, &block(4, 2, 80, "\n"));
}

#[test]
fn bom_is_kept() {
    let input = "\u{feff}services:\n  api:\n    image: node:20\n    ports: [\"80:80\"]\n@@";
    case(input, &block(4, 2, 80, "\n"));
}

#[test]
fn merge_without_healthcheck_gets_one() {
    let input = "x-base: &base\n  restart: always\nservices:\n  api:\n    <<: *base\n    image: node:20\n    ports: [\"80:80\"]\n@@";
    case(input, &block(4, 2, 80, "\n"));
}

fn unchanged(input: &str) -> (Out, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("compose.yaml");
    std::fs::write(&path, input).unwrap();
    let check = run(&["check", "--format", "json", "."], dir.path());
    let fix = run(&["fix", "--unsafe-fixes", "."], dir.path());
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        input,
        "file must stay untouched: {}",
        fix.stderr
    );
    (check, fix.stderr)
}

#[test]
fn merged_healthcheck_means_no_insert() {
    let (check, _) = unchanged("x-hc: &hc\n  healthcheck:\n    test: [\"CMD\", \"true\"]\nservices:\n  api:\n    <<: *hc\n    image: node:20\n    ports: [\"80:80\"]\n");
    assert_eq!(check.code, 0, "{}", check.stdout);
}

#[test]
fn extends_healthcheck_means_no_insert() {
    let (check, _) = unchanged("services:\n  base:\n    image: node:20\n    ports: [\"80:80\"]\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n  api:\n    extends: base\n");
    assert_eq!(check.code, 0, "{}", check.stdout);
}

#[test]
fn flow_mapping_service_gets_a_flow_healthcheck() {
    let input = "services:\n  api: {image: \"node:20\", ports: [\"80:80\"]} # the api\n  cache: {image: redis:7}\n";
    let probe = PROBE.replace("PORT", "80");
    let want = format!(
        "services:\n  api: {{image: \"node:20\", ports: [\"80:80\"], healthcheck: {{test: {probe}, interval: \"30s\", timeout: \"10s\", retries: 3, start_period: \"20s\"}}}} # the api\n  cache: {{image: redis:7, healthcheck: {{test: [\"CMD\", \"redis-cli\", \"ping\"], interval: \"30s\", timeout: \"10s\", retries: 3, start_period: \"20s\"}}}}\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("compose.yaml");
    std::fs::write(&path, input).unwrap();
    let out = run(&["fix", "--unsafe-fixes", "."], dir.path());
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        want,
        "{}",
        out.stderr
    );
    compose_config_ok(&path);
    assert_eq!(
        run(&["fix", "--unsafe-fixes", "--diff", "."], dir.path()).stdout,
        ""
    );
}

#[test]
fn alias_service_is_refused_cleanly() {
    let (check, _) = unchanged(
        "services:\n  api: &api\n    image: node:20\n    ports: [\"80:80\"]\n  api2: *api\n",
    );
    let v: serde_json::Value = serde_json::from_str(&check.stdout).unwrap();
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2);
    for f in findings {
        assert!(f["fix"].is_null(), "{f}");
    }
}

#[test]
fn invalid_yaml_names_file_and_line_and_others_go_on() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("a")).unwrap();
    std::fs::create_dir(dir.path().join("b")).unwrap();
    let bad = "services:\n  api:\n\timage: node:20\n";
    std::fs::write(dir.path().join("a/docker-compose.yml"), bad).unwrap();
    let good = "services:\n  api:\n    image: node:20\n    ports: [\"80:80\"]\n";
    std::fs::write(dir.path().join("b/docker-compose.yml"), good).unwrap();
    let out = run(&["fix", "--unsafe-fixes", "."], dir.path());
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("a/docker-compose.yml:"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("invalid YAML"), "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a/docker-compose.yml")).unwrap(),
        bad
    );
    let fixed = std::fs::read_to_string(dir.path().join("b/docker-compose.yml")).unwrap();
    assert!(
        fixed.contains("healthcheck:"),
        "the good file is still fixed"
    );
}

#[test]
fn non_node_services() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("docker-compose.yml");
    let input = "services:\n  db:\n    image: postgres:16-alpine\n  cache:\n    image: redis:7\n  broker:\n    image: bitnami/kafka:3.7\n  go:\n    image: golang:1.22\n    ports: [\"8080:8080\"]\n";
    std::fs::write(&path, input).unwrap();
    let check = run(&["check", "--format", "json", "."], dir.path());
    let v: serde_json::Value = serde_json::from_str(&check.stdout).unwrap();
    let by_svc = |s: &str| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["service"] == s)
            .cloned()
            .unwrap()
    };
    assert!(by_svc("db")["fix"]["title"]
        .as_str()
        .unwrap()
        .contains("pg_isready"));
    assert!(by_svc("cache")["fix"]["title"]
        .as_str()
        .unwrap()
        .contains("redis-cli"));
    assert!(by_svc("broker")["fix"].is_null());
    assert!(by_svc("go")["fix"].is_null());
    run(&["fix", "--unsafe-fixes", "."], dir.path());
    let fixed = std::fs::read_to_string(&path).unwrap();
    assert!(
        !fixed.contains("\"node\""),
        "never a node probe on non-Node images"
    );
    assert!(fixed.contains("pg_isready"));
    compose_config_ok(&path);
}

#[test]
fn depends_on_service_healthy_is_fixed_through_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("docker-compose.yml");
    std::fs::write(&path, "services:\n  api:\n    image: node:20\n    ports: [\"80:80\"]\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n    depends_on:\n      db:\n        condition: service_healthy\n  db:\n    image: postgres:16\n").unwrap();
    let check = run(&["check", "--format", "json", "."], dir.path());
    let v: serde_json::Value = serde_json::from_str(&check.stdout).unwrap();
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["CMP003", "CMP001"]);
    let d = run(&["fix", "--unsafe-fixes", "--diff", "."], dir.path());
    assert_eq!(
        d.stdout.matches("healthcheck:").count(),
        1,
        "the shared edit is applied once:\n{}",
        d.stdout
    );
    run(&["fix", "--unsafe-fixes", "."], dir.path());
    assert_eq!(run(&["check", "."], dir.path()).code, 0);
    compose_config_ok(&path);
}

fn nomadnet_fixed() -> (tempfile::TempDir, Out) {
    let dir = copy_fixture("nomadnet");
    let d = run(
        &["fix", "--diff", "--select", "CMP001,CMP003", "."],
        dir.path(),
    );
    (dir, d)
}

#[test]
fn nomadnet_diff_adds_healthchecks_and_applies() {
    let (dir, d) = nomadnet_fixed();
    assert_eq!(d.code, 1, "changes pending: {}", d.stderr);
    // Exactly one healthcheck per Node service lacking one whose port and
    // route come from its code (safe), nothing else: logger-service's port
    // is contested by nginx (CMP009), the Next.js UIs serve no known route
    // and the Kafka worker starts no server.
    let added: Vec<&str> = d
        .stdout
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .collect();
    assert_eq!(
        added
            .iter()
            .filter(|l| l.trim() == "+healthcheck:" || l.ends_with("healthcheck:"))
            .count(),
        6
    );
    assert!(
        d.stdout
            .lines()
            .all(|l| !l.starts_with('-') || l.starts_with("---")),
        "nothing removed"
    );
    for port in [6002, 6003, 6004, 6005, 6006, 6007] {
        assert!(
            d.stdout.contains(&format!("http://localhost:{port}/'")),
            "probe for {port}"
        );
    }
    for port in [6008, 3001, 3002] {
        assert!(
            !d.stdout.contains(&format!("http://localhost:{port}/")),
            "no safe probe for {port}"
        );
    }
    git(&["init", "-q"], dir.path());
    git_apply(dir.path(), &d.raw);
    let after = run(
        &[
            "check",
            "--format",
            "json",
            "--select",
            "CMP001,CMP003",
            ".",
        ],
        dir.path(),
    );
    let v: serde_json::Value = serde_json::from_str(&after.stdout).unwrap();
    let left: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["service"].as_str().unwrap())
        .collect();
    assert_eq!(
        left,
        vec!["kafka-service", "logger-service", "seller-ui", "admin-ui"],
        "left: the worker without a server, the contested port, the UIs without a known route"
    );
    let again = run(
        &["fix", "--diff", "--select", "CMP001,CMP003", "."],
        dir.path(),
    );
    assert_eq!(
        (again.code, again.stdout.as_str()),
        (0, ""),
        "{}",
        again.stderr
    );
    compose_config_ok(&dir.path().join("docker-compose.production.yml"));
}

#[test]
fn fix_keeps_file_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("docker-compose.yml");
    std::fs::write(
        &path,
        "services:\n  api:\n    image: node:20\n    ports: [\"80:80\"]\n",
    )
    .unwrap();
    set_mode(&path, 0o640);
    run(&["fix", "--unsafe-fixes", "."], dir.path());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .contains("healthcheck"));
    let _ = Path::new("");
}

#[test]
fn single_quoted_file_gets_single_quoted_probe() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("docker-compose.yml");
    let input = "services:\n  api:\n    image: 'node:20'\n    ports: ['80:80']\n    command: ['node', 'dist/main.js']\n";
    std::fs::write(&path, input).unwrap();
    run(&["fix", "--unsafe-fixes", "."], dir.path());
    let got = std::fs::read_to_string(&path).unwrap();
    let want = format!(
        "{input}    healthcheck:\n      test: ['CMD', 'node', '-e', 'require(''http'').get(''http://localhost:80/'', r=>process.exit(r.statusCode<500?0:1)).on(''error'',()=>process.exit(1))']\n      interval: 30s\n      timeout: 10s\n      retries: 3\n      start_period: 20s\n"
    );
    assert_eq!(got, want);
    compose_config_ok(&path);
}

#[test]
fn patch_for_bom_crlf_no_final_newline_applies_with_git() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("compose.yaml");
    let input = "\u{feff}services:\r\n  web:\r\n    image: node:20\r\n    ports: [\"3000:3000\"]";
    std::fs::write(&path, input).unwrap();
    let d = run(&["fix", "--unsafe-fixes", "--diff", "."], dir.path());
    assert_eq!(d.code, 1);
    assert!(d.stdout.contains("\\ No newline at end of file"));
    git(&["init", "-q"], dir.path());
    git_apply(dir.path(), &d.raw);
    let got = std::fs::read_to_string(&path).unwrap();
    let want = format!(
        "{input}\r\n{}",
        block(4, 2, 3000, "\r\n").trim_end_matches("\r\n")
    );
    assert_eq!(got, want);
    compose_config_ok(&path);
}

#[test]
fn port_mismatch_fix_is_unsafe_and_exact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("docker-compose.yml");
    let input = "services:\n  web:\n    image: node:20-alpine\n    ports: [\"3000:3000\"]\n    healthcheck:\n      test: [\"CMD\", \"wget\", \"-q\", \"-O\", \"/dev/null\", \"http://localhost:3001/\"]   # probe\n";
    std::fs::write(&path, input).unwrap();
    assert_eq!(
        run(&["fix", "--diff", "."], dir.path()).stdout,
        "",
        "unsafe (port only from compose ports): not applied by default"
    );
    run(&["fix", "--unsafe-fixes", "."], dir.path());
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        input.replace("localhost:3001", "localhost:3000")
    );
    compose_config_ok(&path);
}
