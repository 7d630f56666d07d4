//! Dockerfile and image-aware compose rules on the fixtures, their fixes,
//! and the lexer's robustness.

mod common;

use common::*;
use proptest::prelude::*;
use std::collections::BTreeSet;

fn triples(f: &[serde_json::Value]) -> BTreeSet<(String, String, u64)> {
    f.iter()
        .map(|x| {
            (
                x["code"].as_str().unwrap().to_string(),
                x["path"].as_str().unwrap().to_string(),
                x["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn each_rule_fires_where_planted_and_nowhere_else() {
    let got = triples(&findings(&fixture("nomadnet"), "DKR,CMP002,CMP004,CMP008"));
    let t = |c: &str, p: &str, l: u64| (c.to_string(), p.to_string(), l);
    let compose = "docker-compose.production.yml";
    let want: BTreeSet<_> = [
        t("DKR001", "apps/chatting-service/Dockerfile", 24),
        t("DKR001", "apps/recommendation-service/Dockerfile", 26),
        t("DKR002", "apps/logger-service/Dockerfile", 24),
        t("DKR003", "apps/kafka-service/Dockerfile", 12),
        t("DKR004", "apps/order-service/Dockerfile", 7),
        t("DKR005", "apps/admin-ui/Dockerfile", 3),
        t("DKR006", "apps/admin-service/Dockerfile", 26),
        t("DKR007", "apps/seller-service/Dockerfile", 25),
        t("DKR008", "apps/kafka-service/Dockerfile", 20),
        t("DKR009", "apps/seller-ui/Dockerfile", 16),
        t("DKR010", "apps/auth-service/Dockerfile", 20),
        t("DKR011", "apps/admin-ui/Dockerfile", 4),
        t("DKR011", "apps/seller-ui/Dockerfile", 4),
        t("DKR011", "apps/user-ui/Dockerfile", 4),
        t("CMP002", compose, 70),
        t("CMP004", compose, 176),
        t("CMP008", compose, 216),
    ]
    .into_iter()
    .collect();
    assert_eq!(got, want);
}

#[test]
fn after_state_fixture_has_zero_findings() {
    let out = run(&["check", "."], &fixture("nomadnet-after"));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("All checks passed!"));
}

#[test]
fn not_node_images_get_no_node_advice() {
    let f = findings(&fixture("polyglot"), "ALL");
    for x in &f {
        let s = x.to_string();
        assert!(
            !s.contains("node") && !s.contains("Node"),
            "Node advice on a non-Node image: {s}"
        );
        assert!(!x["code"].as_str().unwrap().starts_with("ENT"));
    }
    let codes: BTreeSet<&str> = f.iter().map(|x| x["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["CMP001"].into_iter().collect());
    let db = f.iter().find(|x| x["service"] == "db").unwrap();
    assert!(db["fix"]["title"].as_str().unwrap().contains("pg_isready"));
}

#[test]
fn dockerfile_fixes_are_exact_idempotent_and_apply() {
    let dir = copy_fixture("nomadnet");
    let read = |p: &str| std::fs::read_to_string(dir.path().join(p)).unwrap();
    let before = [
        (
            "apps/order-service/Dockerfile",
            read("apps/order-service/Dockerfile"),
        ),
        (
            "apps/seller-ui/Dockerfile",
            read("apps/seller-ui/Dockerfile"),
        ),
        (
            "apps/kafka-service/Dockerfile",
            read("apps/kafka-service/Dockerfile"),
        ),
        (
            "docker-compose.production.yml",
            read("docker-compose.production.yml"),
        ),
    ];
    let d = run(
        &[
            "fix",
            "--diff",
            "--unsafe-fixes",
            "--select",
            "DKR,CMP002",
            ".",
        ],
        dir.path(),
    );
    assert_eq!(d.code, 1, "{}", d.stderr);
    git(&["init", "-q"], dir.path());
    git_apply(dir.path(), &d.raw);
    let want = |path: &str, old: &str| -> String {
        match path {
            "apps/order-service/Dockerfile" => old.replacen("RUN pnpm install\n", "RUN pnpm install --frozen-lockfile\n", 1),
            "apps/seller-ui/Dockerfile" => old.replacen(
                "ENTRYPOINT dumb-init node apps/seller-ui/server.js\n",
                "ENTRYPOINT [\"dumb-init\", \"node\", \"apps/seller-ui/server.js\"]\n",
                1,
            ),
            "apps/kafka-service/Dockerfile" => old.replacen("CMD [\"node\"", "USER node\nCMD [\"node\"", 1),
            // `curl -f` fails on 4xx/5xx: the node probe keeps that (below 400).
            _ => old.replacen(
                "      test: [\"CMD\", \"curl\", \"-f\", \"http://localhost:6001/\"]\n",
                "      test: [\"CMD\", \"node\", \"-e\", \"require('http').get('http://localhost:6001/', r=>process.exit(r.statusCode<400?0:1)).on('error',()=>process.exit(1))\"]\n",
                1,
            ),
        }
    };
    for (path, old) in &before {
        assert_eq!(read(path), want(path, old), "{path}");
    }
    compose_config_ok(&dir.path().join("docker-compose.production.yml"));
    let again = run(
        &[
            "fix",
            "--diff",
            "--unsafe-fixes",
            "--select",
            "DKR,CMP002",
            ".",
        ],
        dir.path(),
    );
    assert_eq!((again.code, again.stdout.as_str()), (0, ""));
    // hadolint still parses every fixed Dockerfile.
    for (path, _) in &before[..3] {
        let o = std::process::Command::new(validator("hadolint"))
            .args(["--no-fail", "-f", "json"])
            .arg(dir.path().join(path))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "hadolint could not parse {path}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert!(
            !v.to_string().contains("DL1000"),
            "hadolint parse error in {path}: {v}"
        );
    }
}

#[test]
fn git_index_exec_bit_wins_over_disk() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("Dockerfile"), "FROM node:20-alpine\nWORKDIR /app\nCOPY entrypoint.sh ./\nUSER node\nENTRYPOINT [\"./entrypoint.sh\"]\n").unwrap();
    std::fs::write(
        d.join("entrypoint.sh"),
        "#!/bin/sh\nset -eu\nexec dumb-init node main.js\n",
    )
    .unwrap();
    set_mode(&d.join("entrypoint.sh"), 0o755);
    assert!(
        findings(d, "DKR007").is_empty(),
        "executable on disk, no git"
    );
    git(&["init", "-q"], d);
    git(&["add", "."], d);
    git(&["update-index", "--chmod=-x", "entrypoint.sh"], d);
    let f = findings(d, "DKR007");
    assert_eq!(
        f.len(),
        1,
        "git's index says 644: a checkout in CI is not executable"
    );
}

#[test]
fn bash_shebang_on_alpine_without_bash() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("Dockerfile"), "FROM node:20-alpine\nWORKDIR /app\nCOPY --chmod=755 entrypoint.sh ./\nUSER node\nENTRYPOINT [\"dumb-init\", \"./entrypoint.sh\"]\n").unwrap();
    std::fs::write(
        d.join("entrypoint.sh"),
        "#!/bin/bash\nset -eu\nexec node main.js\n",
    )
    .unwrap();
    let f = findings(d, "DKR007");
    assert_eq!(f.len(), 1);
    assert!(f[0]["message"].as_str().unwrap().contains("bash"));
    std::fs::write(d.join("Dockerfile"), "FROM node:20-alpine\nRUN apk add --no-cache bash\nWORKDIR /app\nCOPY --chmod=755 entrypoint.sh ./\nUSER node\nENTRYPOINT [\"dumb-init\", \"./entrypoint.sh\"]\n").unwrap();
    assert!(findings(d, "DKR007").is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    /// The lexer never panics and its tokens cover the input exactly, in order.
    #[test]
    fn lexer_spans_cover_input(parts in prop::collection::vec(prop_oneof![
        Just("FROM node:20 AS b\n".to_string()),
        Just("RUN a \\\n".to_string()),
        Just("  # c\n".to_string()),
        Just("\r\n".to_string()),
        Just("RUN <<EOF\n".to_string()),
        Just("RUN <<-\"X\" cat <<'Y'\n".to_string()),
        Just("EOF\n".to_string()),
        Just("\tX\n".to_string()),
        Just("# escape=`\n".to_string()),
        Just("CMD [\"a\", \"b\\\"\"]".to_string()),
        Just("COPY --from=b /a /b\r\n".to_string()),
        Just("`\n".to_string()),
        Just("é ☕\n".to_string()),
        "[ -~]{0,12}".prop_map(|s| s),
    ], 0..24)) {
        let text: String = parts.concat();
        let df = prodsafe::formats::dockerfile::parse_text(&text);
        let mut pos = 0;
        for t in &df.tokens {
            prop_assert_eq!(t.span.start, pos, "gap or overlap in {:?}", text);
            pos = t.span.end;
        }
        prop_assert_eq!(pos, text.len());
        for i in &df.instructions {
            prop_assert!(text.is_char_boundary(i.span.start) && text.is_char_boundary(i.span.end));
        }
    }
}

#[test]
fn package_manager_versions_differing_across_dockerfiles() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (name, v) in [("a", "9.12.3"), ("b", "9.12.3"), ("c", "8.15.0")] {
        std::fs::create_dir_all(d.join(name)).unwrap();
        std::fs::write(
            d.join(name).join("Dockerfile"),
            format!("FROM node:20-alpine\nRUN corepack enable && corepack prepare pnpm@{v} --activate\nUSER node\nCMD [\"dumb-init\", \"node\", \"x.js\"]\n"),
        )
        .unwrap();
    }
    let f = findings(d, "DKR005");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0]["path"], "c/Dockerfile");
    assert!(f[0]["message"]
        .as_str()
        .unwrap()
        .contains("`pnpm@9.12.3` in the repo's other Dockerfiles"));
}

#[test]
fn crlf_dockerfile_fixes_keep_crlf() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = "FROM node:20-alpine AS build\r\nWORKDIR /app\r\nCOPY . .\r\nRUN pnpm install \\\r\n    --prod\r\n\r\nFROM node:20-alpine\r\nWORKDIR /app\r\nCOPY --from=build /app/dist ./dist\r\nCMD dumb-init node dist/main.js";
    std::fs::write(d.join("Dockerfile"), text).unwrap();
    // The lockfile and manifest `COPY . .` brings (a frozen install needs both).
    std::fs::write(d.join("package.json"), "{\"name\":\"x\"}\n").unwrap();
    std::fs::write(d.join("pnpm-lock.yaml"), "lockfileVersion: '9.0'\n").unwrap();
    std::fs::write(
        d.join(".dockerignore"),
        ".git\nnode_modules\n.env\n.env.*\n",
    )
    .unwrap();
    let out = run(&["fix", "--diff", "--unsafe-fixes", "."], d);
    git(&["init", "-q"], d);
    git_apply(d, &out.raw);
    let got = std::fs::read_to_string(d.join("Dockerfile")).unwrap();
    let want = text
        .replacen(
            "RUN pnpm install \\\r\n",
            "RUN pnpm install --frozen-lockfile \\\r\n",
            1,
        )
        .replacen(
            "CMD dumb-init node dist/main.js",
            "USER node\r\nCMD [\"dumb-init\", \"node\", \"dist/main.js\"]",
            1,
        );
    assert_eq!(got, want);
    assert_eq!(run(&["fix", "--diff", "--unsafe-fixes", "."], d).stdout, "");
}

/// `npm start` / `pnpm run X` set `npm_package_version`, `npm_lifecycle_event`
/// and `npm_config_*` for the script; `node dist/main.js` does not. An app
/// that reads them (a version in telemetry or /health) changes behaviour when
/// the package manager is dropped, so that is no safe fix.
#[test]
fn runtime_package_manager_kept_when_the_app_reads_npm_lifecycle_env() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("src")).unwrap();
    std::fs::write(
        d.join("package.json"),
        "{\"name\":\"a\",\"version\":\"1.2.3\",\"scripts\":{\"build\":\"tsc\",\"start\":\"node dist/main.js\"}}\n",
    )
    .unwrap();
    std::fs::write(
        d.join("Dockerfile"),
        "FROM node:20-alpine\nWORKDIR /app\nCOPY . .\nRUN npm run build\nUSER node\nCMD [\"npm\", \"start\"]\n",
    )
    .unwrap();
    std::fs::write(
        d.join("src/main.ts"),
        "import { info } from './info';\nimport http from 'http';\nhttp.createServer((_q, r) => r.end(info())).listen(3000);\n",
    )
    .unwrap();
    // Control: the app does not read npm's variables, the fix is safe.
    std::fs::write(
        d.join("src/info.ts"),
        "export function info() { return 'ok'; }\n",
    )
    .unwrap();
    let f = findings(d, "DKR001");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0]["fix"]["safety"], "safe", "{f:?}");
    // Through an imported module (a service read via a config getter).
    std::fs::write(
        d.join("src/info.ts"),
        "export function info() { return String(config.get('npm_package_version')); }\n",
    )
    .unwrap();
    let f = findings(d, "DKR001");
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0]["fix"].is_null(), "{f:?}");
    let why = f[0]["no_fix_reason"].as_str().unwrap();
    assert!(
        why.contains("npm_package_version") && why.contains("src/info.ts:1"),
        "{why}"
    );
}
