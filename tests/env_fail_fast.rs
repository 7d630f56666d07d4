//! APP001 / CMP005: required variables found through Prisma, compose and
//! the app's own modules; the guard inserted or extended, compiled with tsc,
//! checked with `node --check`, and run with node.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

#[test]
fn required_variables_per_service() {
    let f = findings(&fixture("nomadnet"), "APP001");
    let got: BTreeMap<String, String> = f
        .iter()
        .map(|x| {
            (
                x["service"].as_str().unwrap().to_string(),
                x["fix"]["title"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // product-service reads PRODUCT_IMAGE_BUCKET only in an imported module;
    // PRODUCT_IMAGE_REGION has a fallback; admin-service's LOG_LEVEL too.
    // The shared Prisma schema makes nobody need DATABASE_URL: no service
    // imports the Prisma client. api-gateway demands it through compose
    // `${DATABASE_URL:?}`.
    assert_eq!(
        got["product-service"],
        "Check PRODUCT_IMAGE_BUCKET at start-up"
    );
    assert_eq!(got["api-gateway"], "Check DATABASE_URL at start-up");
    // auth-service has a partial guard: it is extended, not duplicated.
    assert_eq!(
        got["auth-service"],
        "Add JWT_SECRET to the existing start-up check"
    );
    assert!(
        !got.contains_key("kafka-service"),
        "KAFKA_BROKERS has a fallback"
    );
    assert_eq!(got.len(), 3);
    let safety: BTreeMap<String, String> = f
        .iter()
        .map(|x| {
            (
                x["service"].as_str().unwrap().to_string(),
                x["fix"]["safety"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // The compose service does not give PRODUCT_IMAGE_BUCKET: a guard would
    // stop a service that runs today.
    assert_eq!(safety["product-service"], "unsafe");
    assert_eq!(safety["auth-service"], "safe");
    let c = findings(&fixture("nomadnet"), "CMP005");
    let msgs: Vec<(String, String)> = c
        .iter()
        .map(|x| {
            (
                x["service"].as_str().unwrap().to_string(),
                x["message"]
                    .as_str()
                    .unwrap()
                    .split(" requires ")
                    .nth(1)
                    .unwrap()
                    .split(' ')
                    .next()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        msgs,
        vec![(
            "product-service".to_string(),
            "PRODUCT_IMAGE_BUCKET".to_string()
        )]
    );
}

fn guard(names: &str, q: char, eol: &str) -> String {
    [
        format!("const requiredEnvVars = [{names}];"),
        "const missingVars = requiredEnvVars.filter((varName) => !process.env[varName]);".to_string(),
        "if (missingVars.length > 0) {".to_string(),
        "  console.error(`[FATAL] Missing required environment variables: ${missingVars.join(', ')}`);".to_string(),
        format!("  console.error({q}[FATAL] Service cannot start without these variables.{q});"),
        "  process.exit(1);".to_string(),
        "}".to_string(),
    ]
    .iter()
    .map(|l| format!("{l}{eol}"))
    .collect()
}

#[test]
fn fixed_entries_compile_check_and_are_byte_exact() {
    let dir = copy_fixture("nomadnet");
    let read = |p: &str| std::fs::read_to_string(dir.path().join(p)).unwrap();
    let product = read("apps/product-service/src/main.ts");
    let order = read("apps/order-service/src/main.ts");
    let auth = read("apps/auth-service/src/main.ts");
    let chat = read("apps/chatting-service/src/main.js");
    // These services are declared to need the database (as if their code
    // used the Prisma client), to exercise placement in each file style.
    std::fs::write(
        dir.path().join("prodsafe.toml"),
        "[services.product-service]\nrequired_env = [\"DATABASE_URL\"]\n[services.order-service]\nrequired_env = [\"DATABASE_URL\"]\n[services.chatting-service]\nrequired_env = [\"DATABASE_URL\"]\n",
    )
    .unwrap();
    let d = run(
        &["fix", "--diff", "--unsafe-fixes", "--select", "APP001", "."],
        dir.path(),
    );
    git(&["init", "-q"], dir.path());
    git_apply(dir.path(), &d.raw);
    assert_eq!(
        read("apps/product-service/src/main.ts"),
        product.replacen(
            "} from './storage';\n\n",
            &format!(
                "}} from './storage';\n\n{}\n",
                guard("'PRODUCT_IMAGE_BUCKET', 'DATABASE_URL'", '\'', "\n")
            ),
            1
        )
    );
    assert_eq!(
        read("apps/order-service/src/main.ts"),
        order.replacen(
            "import express from 'express';\n\n",
            &format!(
                "import express from 'express';\n\n{}\n",
                guard("'DATABASE_URL'", '\'', "\n")
            ),
            1
        ),
        "after the shebang and the import"
    );
    assert_eq!(
        read("apps/auth-service/src/main.ts"),
        auth.replacen("['DATABASE_URL']", "['DATABASE_URL', 'JWT_SECRET']", 1)
    );
    assert_eq!(
        read("apps/chatting-service/src/main.js"),
        chat.replacen(
            "require(\"./hub\");\n\n",
            &format!(
                "require(\"./hub\");\n\n{}\n",
                guard("\"DATABASE_URL\"", '"', "\n")
            ),
            1
        ),
        "CommonJS: after the requires, in the file's double quotes"
    );
    let tsc = Command::new(validator("tsc"))
        .args(["-p", "tsconfig.json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        tsc.status.success(),
        "tsc --noEmit: {}{}",
        String::from_utf8_lossy(&tsc.stdout),
        String::from_utf8_lossy(&tsc.stderr)
    );
    for js in [
        "apps/chatting-service/src/main.js",
        "apps/chatting-service/src/hub.js",
    ] {
        let o = Command::new(validator("node"))
            .arg("--check")
            .arg(dir.path().join(js))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "node --check {js}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let again = run(
        &["fix", "--diff", "--unsafe-fixes", "--select", "APP001", "."],
        dir.path(),
    );
    assert_eq!((again.code, again.stdout.as_str()), (0, ""));
}

fn node_run(dir: &Path, entry: &str, env: &[(&str, &str)]) -> std::process::Output {
    let mut c = Command::new(validator("node"));
    c.arg(entry)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("PORT", "0")
        .env("SMOKE_EXIT", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn fixed_js_entry_refuses_to_start_without_its_variables() {
    let dir = copy_fixture("node-app");
    let out = run(&["fix", "."], dir.path());
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let unset = node_run(
        dir.path(),
        "src/main.js",
        &[("DATABASE_URL", "postgres://db/x")],
    );
    assert_eq!(unset.status.code(), Some(1));
    let err = String::from_utf8_lossy(&unset.stderr);
    assert!(
        err.contains("[FATAL] Missing required environment variables: SESSION_SECRET"),
        "{err}"
    );
    let set = node_run(
        dir.path(),
        "src/main.js",
        &[("DATABASE_URL", "postgres://db/x"), ("SESSION_SECRET", "s")],
    );
    assert_eq!(
        set.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    assert!(String::from_utf8_lossy(&set.stdout).contains("listening"));
}

#[test]
fn esm_entry_and_crlf_typescript() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("svc/src")).unwrap();
    std::fs::write(d.join("docker-compose.yml"), "services:\n  svc:\n    build: ./svc\n    init: true\n    environment:\n      API_KEY: x\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n").unwrap();
    std::fs::write(
        d.join("svc/Dockerfile"),
        "FROM node:20-alpine\nCOPY src ./src\nUSER node\nCMD [\"node\", \"src/main.mjs\"]\n",
    )
    .unwrap();
    let esm = "import http from 'node:http';\nimport { readFileSync } from 'node:fs';\n\nconst key = process.env.API_KEY;\nconsole.log('started', key.length, typeof readFileSync, typeof http);\n";
    std::fs::write(d.join("svc/src/main.mjs"), esm).unwrap();
    let out = run(&["fix", "."], d);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let fixed = std::fs::read_to_string(d.join("svc/src/main.mjs")).unwrap();
    assert_eq!(
        fixed,
        esm.replacen(
            "'node:fs';\n\n",
            &format!("'node:fs';\n\n{}\n", guard("'API_KEY'", '\'', "\n")),
            1
        )
    );
    let r = node_run(d, "svc/src/main.mjs", &[]);
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stderr).contains("API_KEY"));
    assert_eq!(
        node_run(d, "svc/src/main.mjs", &[("API_KEY", "k")])
            .status
            .code(),
        Some(0)
    );

    // CRLF TypeScript keeps CRLF.
    std::fs::remove_file(d.join("svc/src/main.mjs")).unwrap();
    std::fs::write(
        d.join("svc/Dockerfile"),
        "FROM node:20-alpine\nCOPY dist ./dist\nUSER node\nCMD [\"node\", \"dist/main.js\"]\n",
    )
    .unwrap();
    let ts = "import x from './x';\r\n\r\nconst key: string = process.env.API_KEY!;\r\n";
    std::fs::write(d.join("svc/src/main.ts"), ts).unwrap();
    run(&["fix", "."], d);
    let fixed = std::fs::read_to_string(d.join("svc/src/main.ts")).unwrap();
    assert_eq!(
        fixed,
        ts.replacen(
            "'./x';\r\n\r\n",
            &format!("'./x';\r\n\r\n{}\r\n", guard("'API_KEY'", '\'', "\r\n")),
            1
        )
    );
}

#[test]
fn config_adds_and_removes_required_names() {
    let dir = copy_fixture("node-app");
    std::fs::write(
        dir.path().join("prodsafe.toml"),
        "[services.api]\nrequired_env = [\"REDIS_URL\"]\nnot_required_env = [\"SESSION_SECRET\"]\n",
    )
    .unwrap();
    let f = findings(dir.path(), "APP001");
    assert_eq!(
        f[0]["fix"]["title"],
        "Check DATABASE_URL, REDIS_URL at start-up"
    );
}
