//! The runtime breakers of issue 13 item 5, each on a small repo of its
//! own: COPY --chown before the user exists, Prisma on -slim without
//! OpenSSL, an ignored artifact, a commented-out build step, and
//! `prisma migrate dev` / `db push` at start.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

fn read(d: &Path, p: &str) -> String {
    std::fs::read_to_string(d.join(p)).unwrap()
}

fn hadolint_errors(file: &Path) -> usize {
    let h = Command::new(validator("hadolint"))
        .args(["--no-fail", "-f", "json"])
        .arg(file)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&h.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .filter(|x| x["level"] == "error")
        .count()
}

#[test]
fn chown_before_the_user_exists() {
    let df = "FROM node:20-alpine\nWORKDIR /app\nCOPY --chown=app:app dist ./dist\nCOPY --chown=node:node package.json ./\nCOPY --chown=1001:1001 x ./x\nRUN addgroup -S app && adduser -S app -G app\nUSER app\nCMD [\"node\", \"dist/main.js\"]\n";
    let r = write_repo(&[
        ("Dockerfile", df),
        ("dist/main.js", ""),
        ("package.json", "{}"),
        ("x", ""),
    ]);
    let f = findings(r.path(), "DKR012");
    assert_eq!(
        f.len(),
        1,
        "node (base image) and numeric ids are fine: {f:#?}"
    );
    assert_eq!(f[0]["line"], 3);
    assert_eq!(f[0]["fix"]["safety"], "safe");
    let before = hadolint_errors(&r.path().join("Dockerfile"));
    let out = run(&["fix", "--select", "DKR012", "."], r.path());
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        read(r.path(), "Dockerfile"),
        "FROM node:20-alpine\nWORKDIR /app\nRUN addgroup -S app && adduser -S app -G app\nCOPY --chown=app:app dist ./dist\nCOPY --chown=node:node package.json ./\nCOPY --chown=1001:1001 x ./x\nUSER app\nCMD [\"node\", \"dist/main.js\"]\n"
    );
    assert!(hadolint_errors(&r.path().join("Dockerfile")) <= before);
    assert!(findings(r.path(), "DKR012").is_empty());
    // Never created, or created together with other work: no fix.
    let r = write_repo(&[(
        "Dockerfile",
        "FROM node:20-alpine\nCOPY --chown=app dist ./dist\nRUN adduser -S app && npm ci\n",
    )]);
    let f = findings(r.path(), "DKR012");
    assert!(f[0]["fix"].is_null() && f[0]["no_fix_reason"].as_str().unwrap().contains("app"));
    // A USER in between: moving the RUN would run it as another user.
    let r = write_repo(&[(
        "Dockerfile",
        "FROM node:20-alpine\nCOPY --chown=app dist ./dist\nUSER node\nRUN adduser -S app\n",
    )]);
    let f = findings(r.path(), "DKR012");
    assert!(f[0]["fix"].is_null() && f[0]["no_fix_reason"].as_str().unwrap().contains("USER"));
    // A user an earlier stage created is inherited.
    let r = write_repo(&[("Dockerfile", "FROM node:20-alpine AS base\nRUN adduser -S app\nFROM base\nCOPY --chown=app dist ./dist\n")]);
    assert!(findings(r.path(), "DKR012").is_empty());
}

fn prisma_repo(base: &str, extra: &str) -> tempfile::TempDir {
    write_repo(&[
        ("prisma/schema.prisma", "generator client {\n  provider = \"prisma-client-js\"\n}\ndatasource db {\n  provider = \"postgresql\"\n  url = env(\"DATABASE_URL\")\n}\n"),
        ("docker-compose.yml", "services:\n  api:\n    build: .\n    environment:\n      DATABASE_URL: postgres://db/x\n"),
        ("Dockerfile", &format!("FROM node:20 AS builder\nWORKDIR /app\nCOPY . .\nRUN npm ci && npx prisma generate && npm run build\n\nFROM {base}\nWORKDIR /app\n{extra}COPY --from=builder /app/node_modules ./node_modules\nCOPY --from=builder /app/dist ./dist\nCMD [\"node\", \"dist/main.js\"]\n")),
    ])
}

#[test]
fn prisma_on_slim_without_openssl() {
    let r = prisma_repo("node:20-slim", "");
    let f = findings(r.path(), "DKR013");
    assert_eq!(f.len(), 1, "{f:#?}");
    let out = run(&["fix", "--select", "DKR013", "."], r.path());
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(read(r.path(), "Dockerfile").contains("FROM node:20-slim\nRUN apt-get update -y && apt-get install -y --no-install-recommends openssl && rm -rf /var/lib/apt/lists/*\nWORKDIR /app\n"));
    assert!(findings(r.path(), "DKR013").is_empty());
    assert_eq!(hadolint_errors(&r.path().join("Dockerfile")), 0);
    // Installed already, or not slim: nothing.
    let r = prisma_repo(
        "node:20-slim",
        "RUN apt-get update && apt-get install -y openssl\n",
    );
    assert!(findings(r.path(), "DKR013").is_empty());
    let r = prisma_repo("node:20-alpine", "");
    assert!(findings(r.path(), "DKR013").is_empty());
}

#[test]
fn ignored_artifact_that_no_stage_builds() {
    let df = "FROM node:20-alpine\nWORKDIR /app\nCOPY package.json ./\nCOPY dist ./dist\nCMD [\"node\", \"dist/main.js\"]\n";
    let r = write_repo(&[
        ("Dockerfile", df),
        ("package.json", "{}"),
        (".gitignore", "node_modules\ndist/\n"),
        ("dist/main.js", "console.log(1)\n"),
    ]);
    let f = findings(r.path(), "DKR014");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0]["line"], 4);
    assert!(f[0]["message"].as_str().unwrap().contains("`dist`"));
    // Built in a stage instead: nothing.
    let r = write_repo(&[
        ("Dockerfile", "FROM node:20-alpine AS b\nWORKDIR /app\nCOPY . .\nRUN npm run build\nFROM node:20-alpine\nCOPY --from=b /app/dist ./dist\n"),
        (".gitignore", "dist/\n"),
    ]);
    assert!(findings(r.path(), "DKR014").is_empty());
    // CI builds before building the image: nothing.
    let r = write_repo(&[
        ("Dockerfile", df),
        ("package.json", "{}"),
        (".gitignore", "dist/\n"),
        (".github/workflows/ci.yml", "on: push\njobs:\n  image:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: npm ci && npm run build\n      - run: docker build -t app .\n"),
    ]);
    assert!(findings(r.path(), "DKR014").is_empty());
}

#[test]
fn commented_out_build_step() {
    let df = "FROM node:20-alpine AS builder\nWORKDIR /app\nCOPY . .\nRUN npm ci\n  # RUN npm run build\n\nFROM node:20-alpine\nWORKDIR /app\nCOPY --from=builder /app/dist ./dist\nCMD [\"node\", \"dist/main.js\"]\n";
    let r = write_repo(&[
        ("Dockerfile", df),
        ("package.json", "{}"),
        ("package-lock.json", "{}"),
    ]);
    let f = findings(r.path(), "DKR015");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0]["fix"]["safety"], "unsafe");
    let safe = run(&["fix", "--select", "DKR015", "."], r.path());
    assert_eq!(
        read(r.path(), "Dockerfile"),
        df,
        "unsafe: not applied without the flag {}",
        safe.stdout
    );
    run(
        &["fix", "--unsafe-fixes", "--select", "DKR015", "."],
        r.path(),
    );
    assert_eq!(
        read(r.path(), "Dockerfile"),
        df.replace("  # RUN npm run build", "  RUN npm run build")
    );
    assert!(findings(r.path(), "DKR015").is_empty());
    // A comment that is no build, or a build that still runs: nothing.
    for other in [
        df.replace("# RUN npm run build", "# RUN npm run lint"),
        df.replace("RUN npm ci\n", "RUN npm ci && npm run build\n"),
    ] {
        let r = write_repo(&[("Dockerfile", &other)]);
        assert!(findings(r.path(), "DKR015").is_empty(), "{other}");
    }
}

#[test]
fn prisma_migrate_dev_or_db_push_at_start() {
    let repo = |script: &str, migrations: bool| {
        let mut files = vec![
            ("prisma/schema.prisma", "generator client {\n  provider = \"prisma-client-js\"\n}\ndatasource db {\n  provider = \"postgresql\"\n  url = env(\"DATABASE_URL\")\n}\n"),
            ("docker-compose.yml", "services:\n  api:\n    build: .\n    environment:\n      DATABASE_URL: postgres://db/x\n"),
            ("Dockerfile", "FROM node:20-alpine\nWORKDIR /app\nCOPY . .\nRUN npm ci && npx prisma generate\nENTRYPOINT [\"./entrypoint.sh\"]\n"),
            ("entrypoint.sh", script),
        ];
        if migrations {
            files.push((
                "prisma/migrations/20240101_init/migration.sql",
                "CREATE TABLE x();\n",
            ));
        }
        write_repo(&files)
    };
    let script = "#!/bin/sh\nset -eu\nnpx prisma migrate dev --schema=prisma/schema.prisma\nexec node dist/main.js\n";
    let r = repo(script, true);
    let f = findings(r.path(), "ENT009");
    assert_eq!(f.len(), 1, "{f:#?}");
    let out = run(&["fix", "--select", "ENT009", "."], r.path());
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let fixed = read(r.path(), "entrypoint.sh");
    assert_eq!(fixed, script.replace("migrate dev", "migrate deploy"));
    let sh = Command::new("sh")
        .arg("-n")
        .arg(r.path().join("entrypoint.sh"))
        .output()
        .unwrap();
    assert!(sh.status.success());
    // No migrations to deploy, options deploy lacks, db push: no fix.
    for (s, m, why) in [
        (script, false, "migrations"),
        (
            "#!/bin/sh\nnpx prisma migrate dev --name init\nexec node x.js\n",
            true,
            "options",
        ),
        (
            "#!/bin/sh\npnpm exec prisma db push --accept-data-loss\nexec node x.js\n",
            true,
            "migrate deploy",
        ),
    ] {
        let r = repo(s, m);
        let f = findings(r.path(), "ENT009");
        assert_eq!(f.len(), 1, "{s}");
        assert!(f[0]["fix"].is_null(), "{s}");
        assert!(
            f[0]["no_fix_reason"].as_str().unwrap().contains(why),
            "{s}: {:#?}",
            f[0]
        );
    }
}
