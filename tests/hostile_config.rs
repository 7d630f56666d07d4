//! Issue 14, item 17: configured values are validated at load time, and
//! what reaches generated code (the CMP002 `node -e` probe) is escaped.

mod common;

use common::*;
use std::process::Command;

fn repo(cfg: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("docker-compose.yml"),
        "services:\n  x:\n    image: node:20-alpine\n    healthcheck:\n      test: [\"CMD\", \"curl\", \"-f\", \"http://x:3000/h\"]\n",
    )
    .unwrap();
    std::fs::write(d.join("prodsafe.toml"), cfg).unwrap();
    dir
}

/// The value (with a space) is refused at load, naming the file
/// and line.
#[test]
fn an_injected_health_path_is_refused_at_load() {
    let dir = repo(
        "[services.x]\nport = 3000\nhealth_path = \"/h'+require('child_process').execSync('touch /tmp/pwned')+'\"\n",
    );
    let out = run(&["check", "."], dir.path());
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("prodsafe.toml:3: invalid config: services.x.health_path"),
        "{}",
        out.stderr
    );
}

/// A path of URL characters only that would still break out of the JS
/// string: escaped in the probe, which runs without executing it.
#[test]
fn a_url_path_with_quotes_is_escaped_in_the_probe() {
    let dir = repo(
        "[services.x]\nport = 39517\nhealth_path = \"/h'+require('fs').writeFileSync('pwned','x')+'\"\n",
    );
    let d = dir.path();
    let out = run(&["fix", "--select", "CMP002", "."], d);
    assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
    let fixed = std::fs::read_to_string(d.join("docker-compose.yml")).unwrap();
    assert!(fixed.contains("node"), "not fixed: {fixed}");
    assert!(
        fixed.contains("http://localhost:39517/h%27%2Brequire%28%27fs%27%29.writeFileSync%28%27pwned%27%2C%27x%27%29%2B%27"),
        "{fixed}"
    );
    compose_config_ok(&d.join("docker-compose.yml"));
    // Run the probe exactly as Docker would: nothing listens, so it exits 1,
    // and the injected code never runs.
    let v: serde_yaml_like::Doc = serde_yaml_like::parse(&fixed);
    let o = Command::new("node")
        .args(&v.probe[1..])
        .current_dir(d)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        !d.join("pwned").exists(),
        "the probe executed injected code"
    );
}

/// The `test:` flow sequence of the fixed file, read as JSON.
mod serde_yaml_like {
    pub struct Doc {
        pub probe: Vec<String>,
    }
    pub fn parse(text: &str) -> Doc {
        let line = text
            .lines()
            .find_map(|l| l.trim_start().strip_prefix("test: "))
            .unwrap();
        let items: Vec<String> = serde_json::from_str(line).unwrap();
        assert_eq!(items[0], "CMD");
        assert_eq!(items[1], "node");
        Doc {
            probe: items[1..].to_vec(),
        }
    }
}
