//! Cross-file fixes: `prisma generate` moved from container start to the
//! build (DKR002/ENT004 and the DKR001/ENT003 findings on the same line),
//! applied all or nothing; DKR004 and DKR009 read on the shell syntax tree.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const SERVICES: &[&str] = &[
    "admin-service",
    "auth-service",
    "chatting-service",
    "order-service",
    "product-service",
    "recommendation-service",
    "seller-service",
];

fn read(d: &Path, p: &str) -> String {
    std::fs::read_to_string(d.join(p)).unwrap()
}

/// hadolint's errors (level "error") per Dockerfile: code and message.
fn hadolint_errors(file: &Path) -> Vec<String> {
    let h = Command::new(validator("hadolint"))
        .args(["--no-fail", "-f", "json"])
        .arg(file)
        .output()
        .unwrap();
    assert!(h.status.success(), "hadolint failed on {}", file.display());
    let v: serde_json::Value = serde_json::from_slice(&h.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .filter(|x| x["level"] == "error")
        .map(|x| format!("{} {}", x["code"], x["message"]))
        .collect()
}

/// The stages of a Dockerfile: (FROM line, instruction lines).
fn stages(text: &str) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    for l in text.lines() {
        if l.starts_with("FROM ") {
            out.push(vec![]);
        }
        if let Some(s) = out.last_mut() {
            s.push(l.to_string());
        }
    }
    out
}

#[test]
fn seed_before_repo_gets_every_prisma_generate_moved_to_the_build() {
    let dir = copy_fixture("prisma-before");
    let d = dir.path();
    let hadolint_before: BTreeMap<&str, Vec<String>> = SERVICES
        .iter()
        .map(|s| (*s, hadolint_errors(&d.join(format!("apps/{s}/Dockerfile")))))
        .collect();
    let fixed = run(&["fix", "."], d);
    assert_eq!(fixed.code, 0, "{}{}", fixed.stdout, fixed.stderr);
    for s in SERVICES {
        let df = read(d, &format!("apps/{s}/Dockerfile"));
        let st = stages(&df);
        let (build, runtime) = st.split_at(st.len() - 1);
        // The build generates, once, after the install and the schema.
        let gen = "RUN pnpm exec prisma generate --schema=prisma/schema.prisma";
        let build_lines: Vec<&String> = build.iter().flatten().collect();
        let at = build_lines.iter().position(|l| *l == gen);
        let at = at.unwrap_or_else(|| panic!("{s}: no build-time generate:\n{df}"));
        assert_eq!(build_lines.iter().filter(|l| **l == gen).count(), 1, "{s}");
        let install = build_lines
            .iter()
            .position(|l| l.starts_with("RUN pnpm install"))
            .unwrap();
        let schema = build_lines
            .iter()
            .position(|l| *l == "COPY prisma ./prisma")
            .unwrap();
        assert!(
            at > install && at > schema,
            "{s}: generate before its inputs\n{df}"
        );
        // Nothing generates in the runtime stage or at start.
        assert!(
            !runtime[0].iter().any(|l| l.contains("prisma generate")),
            "{s}: runtime stage still generates:\n{df}"
        );
        let ep = read(d, &format!("apps/{s}/entrypoint.sh"));
        assert!(!ep.contains("prisma"), "{s}: {ep}");
        assert!(
            ep.trim_end().ends_with("exec dumb-init node dist/main.js"),
            "{ep}"
        );
        // The client reaches the runtime stage: the whole node_modules of
        // the generating stage, or the client itself.
        let carried = runtime[0].iter().any(|l| {
            l.starts_with("COPY --from=builder")
                && (l.contains(" /app/node_modules ")
                    || l.contains("/app/node_modules/.prisma/client"))
        });
        assert!(
            carried,
            "{s}: the client does not reach the runtime stage:\n{df}"
        );
        // Validators: no new hadolint error; the scripts parse and pass shellcheck.
        let after = hadolint_errors(&d.join(format!("apps/{s}/Dockerfile")));
        for e in &after {
            assert!(
                hadolint_before[s].contains(e),
                "{s}: new hadolint error {e}"
            );
        }
        let script = d.join(format!("apps/{s}/entrypoint.sh"));
        let sh = Command::new("sh").arg("-n").arg(&script).output().unwrap();
        assert!(sh.status.success(), "sh -n {s}");
        let sc = Command::new(validator("shellcheck"))
            .arg(&script)
            .output()
            .unwrap();
        assert!(
            sc.status.success(),
            "shellcheck {s}: {}",
            String::from_utf8_lossy(&sc.stdout)
        );
    }
    // The chatting-service runtime took node_modules from `deps`, which
    // never sees the generated client: it is copied from `builder`.
    let chat = read(d, "apps/chatting-service/Dockerfile");
    assert!(
        chat.contains(
            "COPY --from=deps --chown=nodejs:nodejs /app/node_modules ./node_modules\nCOPY --from=builder --chown=nodejs:nodejs /app/node_modules/.prisma/client ./node_modules/.prisma/client\n"
        ),
        "{chat}"
    );
    // api-gateway was already right and is untouched.
    assert_eq!(
        read(d, "apps/api-gateway/Dockerfile"),
        read(&fixture("prisma-before"), "apps/api-gateway/Dockerfile")
    );
    // Nothing Prisma- or package-manager-related is left, and a second run
    // changes nothing.
    let left = findings(d, "DKR001,DKR002,ENT003,ENT004");
    assert!(left.is_empty(), "{left:#?}");
    let again = run(&["fix", "--diff", "."], d);
    assert_eq!(
        (again.code, again.stdout.as_str()),
        (0, ""),
        "{}",
        again.stderr
    );
}

#[test]
fn fix_diff_on_the_seed_before_repo_is_the_seed_after_for_prisma() {
    let dir = copy_fixture("prisma-before");
    let d = dir.path();
    let out = run(&["fix", "--diff", "--select", "DKR002,ENT004", "."], d);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let patch = &out.stdout;
    // Every Dockerfile but api-gateway's gains the build-time generate,
    // right after the schema is copied; every entrypoint loses it.
    for s in SERVICES {
        let hunk_start = patch
            .find(&format!("+++ b/apps/{s}/Dockerfile"))
            .unwrap_or_else(|| panic!("{s} Dockerfile not in the patch:\n{patch}"));
        let hunk = &patch[hunk_start..];
        let hunk = &hunk[..hunk[4..]
            .find("\n--- ")
            .map(|i| i + 4)
            .unwrap_or(hunk.len())];
        assert!(
            hunk.contains(
                " COPY prisma ./prisma\n+RUN pnpm exec prisma generate --schema=prisma/schema.prisma\n"
            ),
            "{s}:\n{hunk}"
        );
    }
    assert!(!patch.contains("apps/api-gateway"));
    for s in [
        "admin-service",
        "auth-service",
        "chatting-service",
        "seller-service",
    ] {
        assert!(patch.contains(&format!(
            "+++ b/apps/{s}/entrypoint.sh\n@@ -1,5 +1,3 @@\n #!/bin/sh\n set -e\n-# Generate the Prisma client for this container\n-pnpm exec prisma generate --schema=prisma/schema.prisma\n exec dumb-init node dist/main.js\n"
        )), "{s}:\n{patch}");
    }
    for s in ["order-service", "recommendation-service"] {
        assert!(
            patch.contains(&format!("+++ b/apps/{s}/entrypoint.sh")),
            "{s}"
        );
        assert!(patch.contains("-npx prisma generate --schema=prisma/schema.prisma\n"));
    }
    assert!(patch.contains("-RUN npx prisma generate --schema=prisma/schema.prisma\n"));
    // The patch applies, and the result is what `fix` writes.
    git(&["init", "-q"], d);
    git_apply(d, &out.raw);
    let fixed = copy_fixture("prisma-before");
    run(&["fix", "--select", "DKR002,ENT004", "."], fixed.path());
    for s in SERVICES {
        for f in ["Dockerfile", "entrypoint.sh"] {
            let p = format!("apps/{s}/{f}");
            assert_eq!(read(d, &p), read(fixed.path(), &p), "{p}");
        }
    }
}

#[test]
fn the_move_is_one_change_shared_by_every_finding_on_the_line() {
    let f = findings(&fixture("prisma-before"), "DKR001,ENT003,ENT004");
    let auth: Vec<&serde_json::Value> = f
        .iter()
        .filter(|x| {
            x["path"]
                .as_str()
                .unwrap()
                .starts_with("apps/auth-service/")
        })
        .collect();
    // One finding per problem (issue 11): ENT004 carries the line, ENT003
    // and DKR001 are its related locations, and the move is its fix.
    assert_eq!(auth.len(), 1, "{auth:#?}");
    let related: Vec<&str> = auth[0]["related"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(related, vec!["DKR001", "ENT003"], "{auth:#?}");
    let titles: Vec<&str> = auth
        .iter()
        .map(|x| x["fix"]["title"].as_str().unwrap())
        .collect();
    assert!(
        titles.iter().all(|t| *t == titles[0]
            && t.contains("Generate the Prisma client in build stage `builder`")),
        "{titles:?}"
    );
    assert!(auth.iter().all(|x| x["fix"]["safety"] == "safe"));
}

#[test]
fn a_move_whose_script_half_fails_verification_writes_neither_file() {
    // The generate is the script's last line and the file has no final
    // newline: removing the line would change the final-newline state, so
    // the script fails verification and the Dockerfile half must not be
    // written either.
    let dir = copy_fixture("prisma-before");
    let d = dir.path();
    let script = "#!/bin/sh\nset -e\nnode dist/migrate.js\npnpm exec prisma generate --schema=prisma/schema.prisma";
    std::fs::write(d.join("apps/auth-service/entrypoint.sh"), script).unwrap();
    let df_before = read(d, "apps/auth-service/Dockerfile");
    let out = run(&["fix", "--select", "DKR002,ENT004", "."], d);
    assert_eq!(read(d, "apps/auth-service/entrypoint.sh"), script);
    assert_eq!(read(d, "apps/auth-service/Dockerfile"), df_before);
    assert!(
        out.stderr.contains("apps/auth-service/entrypoint.sh")
            || out.stdout.contains("apps/auth-service/entrypoint.sh"),
        "the failure is named: {}{}",
        out.stdout,
        out.stderr
    );
    // The other services' moves still went through.
    assert!(read(d, "apps/admin-service/Dockerfile").contains("RUN pnpm exec prisma generate"));
    assert!(!read(d, "apps/admin-service/entrypoint.sh").contains("prisma"));
}

#[test]
fn no_fix_when_the_prisma_cli_is_not_installed_in_the_build_stage() {
    let dir = copy_fixture("prisma-before");
    let d = dir.path();
    // prisma only a devDependency, and the install is production-only.
    let pj = read(d, "package.json")
        .replace("\"prisma\": \"5.22.0\"", "\"zod\": \"3.0.0\"")
        .replace(
            "\"typescript\": \"5.6.3\"",
            "\"typescript\": \"5.6.3\",\n    \"prisma\": \"5.22.0\"",
        );
    std::fs::write(d.join("package.json"), pj).unwrap();
    let df = read(d, "apps/auth-service/Dockerfile").replace(
        "RUN pnpm install --frozen-lockfile",
        "RUN pnpm install --prod --frozen-lockfile",
    );
    std::fs::write(d.join("apps/auth-service/Dockerfile"), df).unwrap();
    let f = findings(d, "ENT004");
    let auth = f
        .iter()
        .find(|x| x["path"] == "apps/auth-service/entrypoint.sh")
        .unwrap();
    assert!(auth["fix"].is_null(), "{auth:#?}");
    let why = auth["no_fix_reason"].as_str().unwrap();
    assert!(
        why.contains("production-only") && why.contains("devDependency"),
        "{why}"
    );
}

#[test]
fn pnpm_isolated_layout_makes_the_copy_unsafe() {
    let dir = copy_fixture("prisma-before");
    let d = dir.path();
    std::fs::remove_file(d.join(".npmrc")).unwrap();
    let df = read(d, "apps/chatting-service/Dockerfile").replace(" .npmrc ./", " ./");
    std::fs::write(d.join("apps/chatting-service/Dockerfile"), df).unwrap();
    let f = findings(d, "ENT004");
    let chat = f
        .iter()
        .find(|x| x["path"] == "apps/chatting-service/entrypoint.sh")
        .unwrap();
    assert_eq!(chat["fix"]["safety"], "unsafe", "{chat:#?}");
    // Where the runtime takes the whole node_modules of the generating
    // stage, the layout does not matter: still safe.
    let auth = f
        .iter()
        .find(|x| x["path"] == "apps/auth-service/entrypoint.sh")
        .unwrap();
    assert_eq!(auth["fix"]["safety"], "safe", "{auth:#?}");
}

#[test]
fn a_postinstall_or_script_that_generates_counts_as_a_build_generate() {
    let base = |pj: &str, run: &str| {
        write_repo(&[
            ("package.json", pj),
            ("package-lock.json", "{}\n"),
            ("prisma/schema.prisma", "generator client {\n  provider = \"prisma-client-js\"\n}\ndatasource db {\n  provider = \"postgresql\"\n  url = env(\"DATABASE_URL\")\n}\n"),
            ("docker-compose.yml", "services:\n  api:\n    build: .\n    environment:\n      DATABASE_URL: postgres://db/x\n"),
            ("Dockerfile", &format!("FROM node:20-slim AS builder\nWORKDIR /app\nCOPY package.json package-lock.json ./\nCOPY prisma ./prisma\n{run}\nRUN npm run build\n\nFROM node:20-slim\nWORKDIR /app\nCOPY --from=builder /app/node_modules ./node_modules\nCOPY --from=builder /app/dist ./dist\nCMD [\"node\", \"dist/main.js\"]\n")),
        ])
    };
    let pj = |scripts: &str| {
        format!("{{\"name\":\"api\",\"scripts\":{{{scripts}}},\"dependencies\":{{\"@prisma/client\":\"5.0.0\",\"prisma\":\"5.0.0\"}}}}\n")
    };
    let dkr002 = |d: &Path| findings(d, "DKR002");
    // postinstall with the schema in place: generated.
    let r = base(
        &pj("\"postinstall\":\"prisma generate\",\"build\":\"tsc\""),
        "RUN npm ci",
    );
    assert!(dkr002(r.path()).is_empty());
    // ... but not with --ignore-scripts.
    let r = base(
        &pj("\"postinstall\":\"prisma generate\",\"build\":\"tsc\""),
        "RUN npm ci --ignore-scripts",
    );
    let f = dkr002(r.path());
    assert_eq!(f.len(), 1, "{f:#?}");
    // A script that runs it.
    let r = base(
        &pj("\"db:gen\":\"prisma generate\",\"build\":\"tsc\""),
        "RUN npm ci && npm run db:gen",
    );
    assert!(dkr002(r.path()).is_empty());
    // Never generated: the fix adds the step after the install and schema.
    let r = base(&pj("\"build\":\"tsc\""), "RUN npm ci");
    let f = dkr002(r.path());
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["fix"]["safety"], "safe", "{f:#?}");
    let out = run(&["fix", "--select", "DKR002", "."], r.path());
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(read(r.path(), "Dockerfile").contains(
        "RUN npm ci\nRUN npx prisma generate --schema=prisma/schema.prisma\nRUN npm run build\n"
    ));
}

#[test]
fn dkr004_matches_whole_commands_on_the_syntax_tree() {
    let repo = |run: &str| {
        write_repo(&[
            ("package.json", "{\"name\":\"x\"}\n"),
            ("pnpm-lock.yaml", "lockfileVersion: '9.0'\n"),
            ("yarn.lock", "\n"),
            ("package-lock.json", "{}\n"),
            ("docker-compose.yml", "services:\n  x:\n    build: .\n"),
            ("Dockerfile", &format!("FROM node:20-alpine\nWORKDIR /app\nCOPY package.json pnpm-lock.yaml yarn.lock package-lock.json ./\n{run}\nCMD [\"node\", \"main.js\"]\n")),
        ])
    };
    for quiet in [
        "RUN yarn install-deps",
        "RUN pnpm install:all",
        "RUN npm i-dont-know",
        "RUN echo \"yarn install\" >> notes && echo 'npm install' > n2",
        "RUN pnpm install --filter \"{apps/x}...\" \\\n    --frozen-lockfile",
        "RUN yarn install --immutable",
        "RUN npm ci",
        "RUN npm install left-pad",
        "RUN npm i -g pnpm",
    ] {
        let r = repo(quiet);
        let f = findings(r.path(), "DKR004");
        assert!(f.is_empty(), "{quiet}: {f:#?}");
    }
    for (loud, fixed) in [
        ("RUN pnpm install", "RUN pnpm install --frozen-lockfile"),
        (
            "RUN pnpm install --filter \"{apps/x}...\" \\\n    --prod",
            "RUN pnpm install --frozen-lockfile --filter \"{apps/x}...\" \\\n    --prod",
        ),
        ("RUN yarn", "RUN yarn --frozen-lockfile"),
        (
            "RUN npm install --omit=dev && echo ok",
            "RUN npm ci --omit=dev && echo ok",
        ),
    ] {
        let r = repo(loud);
        let out = run(&["fix", "--select", "DKR004", "."], r.path());
        assert_eq!(out.code, 0, "{loud}: {}{}", out.stdout, out.stderr);
        assert!(
            read(r.path(), "Dockerfile").contains(&format!("{fixed}\n")),
            "{loud}"
        );
        let again = run(&["fix", "--diff", "--select", "DKR004", "."], r.path());
        assert_eq!(again.stdout, "", "{loud}: second run");
    }
}

#[test]
fn dkr004_no_fix_where_the_lockfile_does_not_describe_the_manifest() {
    let r = write_repo(&[
        ("package.json", "{\"name\":\"root\"}\n"),
        ("pnpm-lock.yaml", "lockfileVersion: '9.0'\n"),
        ("apps/api/package.json", "{\"name\":\"api\"}\n"),
        ("docker-compose.yml", "services:\n  api:\n    build: .\n    dockerfile: apps/api/Dockerfile\n"),
        ("apps/api/Dockerfile", "FROM node:20-alpine\nWORKDIR /app\nCOPY pnpm-lock.yaml ./\nCOPY apps/api/package.json ./package.json\nRUN pnpm install\nCMD [\"node\", \"main.js\"]\n"),
    ]);
    let f = findings(r.path(), "DKR004");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(f[0]["fix"].is_null());
    let why = f[0]["no_fix_reason"].as_str().unwrap();
    assert!(
        why.contains("apps/api/package.json") && why.contains("pnpm-lock.yaml"),
        "{why}"
    );
    // No lockfile copied at all.
    let r = write_repo(&[
        ("package.json", "{\"name\":\"root\"}\n"),
        ("package-lock.json", "{}\n"),
        ("Dockerfile", "FROM node:20-alpine\nWORKDIR /app\nCOPY package.json ./\nRUN npm install\nCMD [\"node\", \"main.js\"]\n"),
    ]);
    let f = findings(r.path(), "DKR004");
    assert!(f[0]["no_fix_reason"]
        .as_str()
        .unwrap()
        .contains("no package-lock.json"));
    // The repo's .npmrc holds lockfile settings the stage does not copy.
    let files = |copy: &str| {
        write_repo(&[
            ("package.json", "{\"name\":\"root\"}\n"),
            ("pnpm-lock.yaml", "lockfileVersion: '9.0'\n"),
            (".npmrc", "auto-install-peers=false\n"),
            ("Dockerfile", &format!("FROM node:20-alpine\nWORKDIR /app\nCOPY {copy} ./\nRUN pnpm install\nCMD [\"node\", \"main.js\"]\n")),
        ])
    };
    let r = files("package.json pnpm-lock.yaml");
    let f = findings(r.path(), "DKR004");
    assert!(f[0]["fix"].is_null());
    assert!(f[0]["no_fix_reason"]
        .as_str()
        .unwrap()
        .contains("LOCKFILE_CONFIG_MISMATCH"));
    let r = files("package.json pnpm-lock.yaml .npmrc");
    assert_eq!(findings(r.path(), "DKR004")[0]["fix"]["safety"], "safe");
    std::fs::write(r.path().join(".npmrc"), "auto-install-peers=true\n").unwrap();
    let df = read(r.path(), "Dockerfile").replace(" .npmrc ./", " ./");
    std::fs::write(r.path().join("Dockerfile"), df).unwrap();
    assert_eq!(
        findings(r.path(), "DKR004")[0]["fix"]["safety"],
        "safe",
        "pnpm's default value changes nothing"
    );
    // The config the lockfile was made with is rewritten before the install.
    let r = write_repo(&[
        ("package.json", "{\"name\":\"root\"}\n"),
        ("pnpm-lock.yaml", "lockfileVersion: '9.0'\n"),
        (".npmrc-cloud", "@x:registry=https://npm.example/\n"),
        ("Dockerfile", "FROM node:20-alpine\nWORKDIR /app\nCOPY package.json pnpm-lock.yaml .npmrc-cloud ./\nRUN cp .npmrc-cloud .npmrc\nRUN pnpm install\nCMD [\"node\", \"main.js\"]\n"),
    ]);
    let f = findings(r.path(), "DKR004");
    assert!(f[0]["fix"].is_null());
    assert!(
        f[0]["no_fix_reason"].as_str().unwrap().contains("line 4"),
        "{:#?}",
        f[0]
    );
}

#[test]
fn dkr009_converts_only_a_plain_program_with_words() {
    let repo = |cmd: &str| {
        write_repo(&[(
            "Dockerfile",
            &format!("FROM node:20-alpine\nWORKDIR /app\nCOPY . .\n{cmd}\n"),
        )])
    };
    for shell_only in [
        "CMD NODE_ENV=production node server.js",
        "CMD exec node server.js",
        "CMD node server.js > /tmp/log",
        "CMD node $APP",
        "CMD cd /app && node server.js",
        "CMD . ./env.sh",
    ] {
        let r = repo(shell_only);
        let f = findings(r.path(), "DKR009");
        assert_eq!(f.len(), 1, "{shell_only}");
        assert!(f[0]["fix"].is_null(), "{shell_only}: {:#?}", f[0]);
    }
    let r = repo("CMD node --enable-source-maps server.js");
    run(&["fix", "--select", "DKR009", "."], r.path());
    assert!(read(r.path(), "Dockerfile")
        .ends_with("CMD [\"node\", \"--enable-source-maps\", \"server.js\"]\n"));
}

/// A repo whose runtime stage has the app's package.json in its WORKDIR.
fn start_repo(
    start: &str,
    extra_scripts: &str,
    cmd: &str,
    entry: Option<&str>,
) -> tempfile::TempDir {
    let pj = format!(
        "{{\"name\":\"api\",\"scripts\":{{\"start\":\"{start}\"{extra_scripts}}},\"dependencies\":{{\"prisma\":\"5.0.0\"}}}}\n"
    );
    let mut files: Vec<(&str, String)> = vec![
        ("apps/api/package.json", pj),
        ("apps/api/dist/main.js", "console.log('started ' + process.argv.slice(2).join(' '));\n".into()),
        ("docker-compose.yml", "services:\n  api:\n    build:\n      context: .\n      dockerfile: apps/api/Dockerfile\n".into()),
        (
            "apps/api/Dockerfile",
            format!(
                "FROM node:20-alpine AS builder\nWORKDIR /app\nCOPY apps/api ./\n\nFROM node:20-alpine\nWORKDIR /app\nCOPY --from=builder /app/package.json ./package.json\nCOPY --from=builder /app/dist ./dist\nCOPY --from=builder /app/node_modules ./node_modules\n{}{cmd}\n",
                if entry.is_some() { "COPY apps/api/entrypoint.sh ./entrypoint.sh\n" } else { "" }
            ),
        ),
    ];
    if let Some(e) = entry {
        files.push(("apps/api/entrypoint.sh", e.to_string()));
    }
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (*a, b.as_str())).collect();
    write_repo(&refs)
}

#[test]
fn package_manager_start_in_cmd_becomes_the_script_command() {
    for (cmd, want) in [
        (
            "CMD [\"pnpm\", \"start\"]",
            "CMD [\"node\", \"dist/main.js\"]",
        ),
        (
            "CMD [\"dumb-init\", \"npm\", \"run\", \"start\"]",
            "CMD [\"dumb-init\", \"node\", \"dist/main.js\"]",
        ),
        ("CMD yarn start", "CMD [\"node\", \"dist/main.js\"]"),
        (
            "CMD [\"npm\", \"start\", \"--\", \"--port\", \"3\"]",
            "CMD [\"node\", \"dist/main.js\", \"--port\", \"3\"]",
        ),
    ] {
        let r = start_repo("node dist/main.js", "", cmd, None);
        let out = run(&["fix", "--select", "DKR001", "."], r.path());
        assert_eq!(out.code, 0, "{cmd}: {}{}", out.stdout, out.stderr);
        let df = read(r.path(), "apps/api/Dockerfile");
        assert!(df.ends_with(&format!("{want}\n")), "{cmd}:\n{df}");
        assert!(findings(r.path(), "DKR001").is_empty(), "{cmd}");
    }
    // Not certain: a shell script, a .bin tool, a pre-hook, an unknown script.
    for (start, extra, why) in [
        ("node dist/main.js && echo done", "", "needs a shell"),
        ("nest start", "", "node_modules/.bin"),
        (
            "node dist/main.js",
            ",\"prestart\":\"node migrate.js\"",
            "prestart",
        ),
        (
            "NODE_ENV=production node dist/main.js",
            "",
            "sets variables",
        ),
    ] {
        let r = start_repo(start, extra, "CMD [\"pnpm\", \"start\"]", None);
        let f = findings(r.path(), "DKR001");
        assert_eq!(f.len(), 1, "{start}");
        assert!(f[0]["fix"].is_null(), "{start}");
        assert!(
            f[0]["no_fix_reason"].as_str().unwrap().contains(why),
            "{start}: {:#?}",
            f[0]
        );
    }
}

#[test]
fn package_manager_start_in_an_entrypoint_is_execed_and_still_runs() {
    let entry = "#!/bin/sh\nset -eu\necho booting\npnpm start\n";
    let r = start_repo(
        "node dist/main.js",
        "",
        "ENTRYPOINT [\"./entrypoint.sh\"]",
        Some(entry),
    );
    let d = r.path();
    // All safe fixes at once: ENT005 would also add `exec`; there must be one.
    let out = run(&["fix", "."], d);
    assert!(
        out.code == 0 || out.code == 1,
        "{}{}",
        out.stdout,
        out.stderr
    );
    let fixed = read(d, "apps/api/entrypoint.sh");
    assert!(
        fixed.ends_with("echo booting\nexec node dist/main.js\n"),
        "{fixed}"
    );
    // It runs with no package manager on PATH: only sh and node.
    let bin = tempfile::tempdir().unwrap();
    for tool in ["sh", "node"] {
        let path = String::from_utf8(
            Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        std::os::unix::fs::symlink(path.trim(), bin.path().join(tool)).unwrap();
    }
    let o = Command::new(bin.path().join("sh"))
        .arg("entrypoint.sh")
        .current_dir(d.join("apps/api"))
        .env_clear()
        .env("PATH", bin.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "booting\nstarted \n");
    let again = run(&["fix", "--diff", "."], d);
    assert!(!again.stdout.contains("entrypoint.sh"), "{}", again.stdout);
}

#[test]
fn npx_prisma_at_start_uses_the_local_binary_or_says_why_not() {
    let entry = "#!/bin/sh\nset -eu\nnpx prisma migrate deploy\nexec node dist/main.js\n";
    let r = start_repo(
        "node dist/main.js",
        "",
        "ENTRYPOINT [\"./entrypoint.sh\"]",
        Some(entry),
    );
    let out = run(&["fix", "--select", "ENT003", "."], r.path());
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(read(r.path(), "apps/api/entrypoint.sh")
        .contains("\n./node_modules/.bin/prisma migrate deploy\n"));
    // A devDependency: no fix, the runtime download and the replica race.
    let r = start_repo(
        "node dist/main.js",
        "",
        "ENTRYPOINT [\"./entrypoint.sh\"]",
        Some(entry),
    );
    let pj =
        read(r.path(), "apps/api/package.json").replace("\"dependencies\"", "\"devDependencies\"");
    std::fs::write(r.path().join("apps/api/package.json"), pj).unwrap();
    let f = findings(r.path(), "ENT003");
    assert!(f[0]["fix"].is_null());
    let why = f[0]["no_fix_reason"].as_str().unwrap();
    assert!(
        why.contains("downloads")
            && why.contains("replica")
            && why.contains("service_completed_successfully"),
        "{why}"
    );
}

#[test]
fn images_sharing_an_entrypoint_are_fixed_in_one_change() {
    let dir = copy_fixture("prisma-before");
    let d = dir.path();
    let dev = "FROM node:20-alpine\nWORKDIR /app\nRUN corepack enable && corepack prepare pnpm@9.12.3 --activate\nCOPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./\nCOPY apps/auth-service/package.json apps/auth-service/\nRUN pnpm install --frozen-lockfile\nCOPY prisma ./prisma\nCOPY apps/auth-service apps/auth-service\nCOPY apps/auth-service/entrypoint.sh ./entrypoint.sh\nENTRYPOINT [\"./entrypoint.sh\"]\n";
    std::fs::write(d.join("apps/auth-service/Dockerfile.dev"), dev).unwrap();
    let out = run(&["fix", "--select", "DKR001,DKR002,ENT003,ENT004", "."], d);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let dev_after = read(d, "apps/auth-service/Dockerfile.dev");
    assert!(
        dev_after.contains(
            "COPY prisma ./prisma\nRUN pnpm exec prisma generate --schema=prisma/schema.prisma\n"
        ),
        "{dev_after}"
    );
    assert!(read(d, "apps/auth-service/Dockerfile").contains("RUN pnpm exec prisma generate"));
    assert!(!read(d, "apps/auth-service/entrypoint.sh").contains("prisma"));
    let again = run(
        &[
            "fix",
            "--diff",
            "--select",
            "DKR001,DKR002,ENT003,ENT004",
            ".",
        ],
        d,
    );
    assert_eq!(
        (again.code, again.stdout.as_str()),
        (0, ""),
        "{}",
        again.stderr
    );
}

#[test]
fn npx_migrate_with_a_dev_dependency_moves_to_a_one_shot_service() {
    let dockerfile = "FROM node:20-alpine AS builder\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN npm ci\nCOPY prisma ./prisma\nRUN npx prisma generate --schema=prisma/schema.prisma\nCOPY . .\nRUN npm run build\n\nFROM node:20-alpine\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN npm ci --omit=dev\nCOPY --from=builder /app/node_modules/.prisma ./node_modules/.prisma\nCOPY --from=builder /app/dist ./dist\nCOPY docker/entrypoint.sh ./entrypoint.sh\nUSER node\nENTRYPOINT [\"./entrypoint.sh\"]\n";
    let compose = "services:\n  api:\n    build:\n      context: .\n      dockerfile: Dockerfile\n    environment:\n      DATABASE_URL: postgres://u:p@db:5432/app\n      PORT: \"3000\"\n    depends_on:\n      db:\n        condition: service_healthy\n    ports:\n      - \"3000:3000\"\n    healthcheck:\n      test: [\"CMD\", \"node\", \"-e\", \"process.exit(0)\"]\n  db:\n    image: postgres:16\n    healthcheck:\n      test: [\"CMD-SHELL\", \"pg_isready\"]\n";
    let entry = "#!/bin/sh\nset -eu\necho \"Running database migrations\"\nnpx prisma migrate deploy\nexec node dist/main.js\n";
    let r = write_repo(&[
        ("package.json", "{\"name\":\"api\",\"scripts\":{\"build\":\"tsc\"},\"dependencies\":{\"@prisma/client\":\"5.0.0\"},\"devDependencies\":{\"prisma\":\"5.0.0\"}}\n"),
        ("package-lock.json", "{}\n"),
        ("prisma/schema.prisma", "generator client {\n  provider = \"prisma-client-js\"\n}\ndatasource db {\n  provider = \"postgresql\"\n  url = env(\"DATABASE_URL\")\n}\n"),
        ("prisma/migrations/20240101000000_init/migration.sql", "CREATE TABLE t (id int);\n"),
        ("Dockerfile", dockerfile),
        ("docker-compose.yml", compose),
        ("docker/entrypoint.sh", entry),
    ]);
    let d = r.path();
    let f = findings(d, "ENT003");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0]["fix"]["safety"], "safe", "{:#?}", f[0]);
    let out = run(&["fix", "--select", "ENT003,DKR001", "."], d);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let c = read(d, "docker-compose.yml");
    let v: serde_json::Value = {
        let o = Command::new(validator("docker-compose"))
            .args(["-f", "docker-compose.yml", "config", "--format", "json"])
            .current_dir(d)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "compose config: {}\n{c}",
            String::from_utf8_lossy(&o.stderr)
        );
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let m = &v["services"]["api-migrate"];
    assert_eq!(m["build"]["target"], "builder", "{c}");
    assert_eq!(
        m["command"],
        serde_json::json!([
            "npx",
            "prisma",
            "migrate",
            "deploy",
            "--schema=prisma/schema.prisma"
        ])
    );
    assert_eq!(
        m["environment"]["DATABASE_URL"],
        "postgres://u:p@db:5432/app"
    );
    assert_eq!(m["depends_on"]["db"]["condition"], "service_healthy");
    assert_eq!(m["restart"], "no");
    assert_eq!(
        v["services"]["api"]["depends_on"]["api-migrate"]["condition"],
        "service_completed_successfully"
    );
    assert_eq!(
        v["services"]["api"]["depends_on"]["db"]["condition"],
        "service_healthy"
    );
    let e = read(d, "docker/entrypoint.sh");
    assert_eq!(
        e,
        "#!/bin/sh\nset -eu\necho \"Running database migrations\"\nexec node dist/main.js\n"
    );
    // Only those two files changed; a second run changes nothing.
    assert_eq!(read(d, "Dockerfile"), dockerfile);
    let again = run(&["fix", "--diff", "--select", "ENT003,DKR001", "."], d);
    assert_eq!(
        (again.code, again.stdout.as_str()),
        (0, ""),
        "{}",
        again.stderr
    );
    // An image-only compose service (nothing to build the stage from): the
    // reason, no fix.
    let r2 = write_repo(&[
        (
            "package.json",
            "{\"name\":\"api\",\"devDependencies\":{\"prisma\":\"5.0.0\"}}\n",
        ),
        ("package-lock.json", "{}\n"),
        (
            "prisma/schema.prisma",
            "datasource db {\n  provider = \"postgresql\"\n  url = env(\"DATABASE_URL\")\n}\n",
        ),
        ("prisma/migrations/1_init/migration.sql", "\n"),
        ("Dockerfile", dockerfile),
        (
            "docker-compose.yml",
            &compose.replace(
                "    build:\n      context: .\n      dockerfile: Dockerfile\n",
                "    build:\n      context: .\n      args:\n        X: \"1\"\n",
            ),
        ),
        ("docker/entrypoint.sh", entry),
    ]);
    let f = findings(r2.path(), "ENT003");
    assert!(f[0]["fix"].is_null());
    let why = f[0]["no_fix_reason"].as_str().unwrap();
    assert!(
        why.contains("service_completed_successfully") && why.contains("args"),
        "{why}"
    );
}

#[test]
fn the_migration_service_gets_merged_environment_resolved() {
    let r = write_repo(&[
        ("package.json", "{\"name\":\"api\",\"dependencies\":{\"@prisma/client\":\"5\"},\"devDependencies\":{\"prisma\":\"5\"}}\n"),
        ("package-lock.json", "{}\n"),
        ("prisma/schema.prisma", "datasource db {\n  provider = \"postgresql\"\n  url = env(\"DATABASE_URL\")\n}\n"),
        ("prisma/migrations/1/migration.sql", "\n"),
        ("Dockerfile", "FROM node:20-alpine AS builder\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN npm ci\nCOPY prisma ./prisma\nCOPY . .\nRUN npm run build\n\nFROM node:20-alpine\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN npm ci --omit=dev\nCOPY --from=builder /app/dist ./dist\nCOPY docker/entrypoint.sh ./entrypoint.sh\nENTRYPOINT [\"./entrypoint.sh\"]\n"),
        ("docker-compose.yml", "x-env: &env\n  DATABASE_URL: ${DATABASE_URL:?required}\nservices:\n    db:\n        image: postgres:16\n    api:\n        build: .\n        environment:\n            <<: *env\n            PORT: 3000\n"),
        ("docker/entrypoint.sh", "#!/bin/sh\nnpx prisma migrate deploy\nexec node dist/main.js\n"),
    ]);
    let out = run(&["fix", "--select", "ENT003,DKR001", "."], r.path());
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let c = read(r.path(), "docker-compose.yml");
    assert!(
        c.ends_with("        depends_on:\n            api-migrate:\n                condition: service_completed_successfully\n    api-migrate:\n        build:\n            context: .\n            target: builder\n        command: [\"npx\", \"prisma\", \"migrate\", \"deploy\", \"--schema=prisma/schema.prisma\"]\n        restart: \"no\"\n        environment:\n            PORT: \"3000\"\n            DATABASE_URL: \"${DATABASE_URL:?required}\"\n"),
        "{c}"
    );
    compose_config_ok(&r.path().join("docker-compose.yml"));
}

#[test]
fn a_build_step_that_only_mentions_generate_makes_the_move_unsafe() {
    let dir = copy_fixture("prisma-before");
    let d = dir.path();
    let df = read(d, "apps/auth-service/Dockerfile").replace(
        "COPY apps/auth-service apps/auth-service\n",
        "COPY apps/auth-service apps/auth-service\nRUN npx nx run auth-service:prisma-generate\n",
    );
    std::fs::write(d.join("apps/auth-service/Dockerfile"), df).unwrap();
    // Not reported as "never generated" ...
    let f = findings(d, "DKR002");
    assert!(
        !f.iter()
            .any(|x| x["path"] == "apps/auth-service/Dockerfile"),
        "{f:#?}"
    );
    // ... and the move only removes the start-up line, unsafely, saying why.
    let f = findings(d, "ENT004");
    let auth = f
        .iter()
        .find(|x| x["path"] == "apps/auth-service/entrypoint.sh")
        .unwrap();
    assert_eq!(auth["fix"]["safety"], "unsafe", "{auth:#?}");
    assert!(auth["fix"]["unsafe_reason"]
        .as_str()
        .unwrap()
        .contains("cannot follow"));
    assert!(auth["fix"]["title"]
        .as_str()
        .unwrap()
        .starts_with("Build stage `builder` already generates"));
}

mod prop {
    use prodsafe::config::Config;
    use prodsafe::project::Project;
    use prodsafe::templates::Templates;
    use proptest::prelude::*;

    fn fragment() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("FROM node:20-slim AS builder\n".to_string()),
            Just("FROM node:20-alpine\n".to_string()),
            Just("WORKDIR /app\n".to_string()),
            Just("COPY package.json pnpm-lock.yaml ./\n".to_string()),
            Just("COPY prisma ./prisma\n".to_string()),
            Just("COPY . .\n".to_string()),
            Just("RUN pnpm install --filter \"{a}...\" \\\n  --prod\n".to_string()),
            Just("RUN --mount=type=cache,target=/s\\\n  npm install && npx prisma generate\n".to_string()),
            Just("RUN yarn\n".to_string()),
            Just("COPY --from=builder --chown=app:app /app/node_modules ./node_modules\n".to_string()),
            Just("RUN addgroup -S app && adduser -S app -G app\n".to_string()),
            Just("# RUN npm run build\n".to_string()),
            Just("CMD [\"pnpm\", \"start\"]\n".to_string()),
            Just("CMD NODE_ENV=x exec node \"$A\"\n".to_string()),
            Just("ENTRYPOINT [\"./entrypoint.sh\"]\n".to_string()),
            Just("COPY entrypoint.sh ./entrypoint.sh\n".to_string()),
            Just("pnpm exec prisma generate --schema=prisma/schema.prisma\n".to_string()),
            Just("npx prisma migrate deploy\n".to_string()),
            Just("npx prisma migrate dev\n".to_string()),
            Just("exec pnpm start -- --port 3\n".to_string()),
            Just("if x; then\n".to_string()),
            Just("{\"name\":\"a\",\"scripts\":{\"start\":\"node dist/main.js\",\"postinstall\":\"prisma generate\"},".to_string()),
            Just("\"dependencies\":{\"prisma\":\"5\"}}\n".to_string()),
            Just("\\\n".to_string()),
            "[ -~]{0,20}\n",
            "\\PC{0,8}",
        ]
    }

    fn content() -> impl Strategy<Value = String> {
        prop::collection::vec(fragment(), 0..10).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn build_chain_rules_never_panic(
            dockerfile in content(),
            script in content(),
            package in content(),
            npmrc in content(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path();
            std::fs::create_dir_all(d.join("prisma/migrations/1")).unwrap();
            std::fs::write(d.join("prisma/schema.prisma"), "generator client {\n  provider = \"prisma-client-js\"\n}\ndatasource db {\n  provider = \"postgresql\"\n  url = env(\"DATABASE_URL\")\n}\n").unwrap();
            std::fs::write(d.join("prisma/migrations/1/migration.sql"), "\n").unwrap();
            std::fs::write(d.join("docker-compose.yml"), "services:\n  api:\n    build: .\n    environment:\n      DATABASE_URL: x\n").unwrap();
            std::fs::write(d.join("Dockerfile"), &dockerfile).unwrap();
            std::fs::write(d.join("entrypoint.sh"), &script).unwrap();
            std::fs::write(d.join("package.json"), &package).unwrap();
            std::fs::write(d.join("pnpm-lock.yaml"), "lockfileVersion: '9.0'\n").unwrap();
            std::fs::write(d.join(".npmrc"), &npmrc).unwrap();
            std::fs::write(d.join(".gitignore"), "dist\n").unwrap();
            let p = Project::load(d, Config::default(), Templates::default());
            let findings = prodsafe::rules::run(&p, &[], &[]);
            let plan = prodsafe::plan::plan(&p, &findings, &|_, _| true);
            for f in &plan.files {
                prop_assert!(!(f.error.is_some() && f.new_text.is_some()));
                if let Some(new) = &f.new_text {
                    prop_assert_eq!(new, &prodsafe::edit::apply(&p.files[f.file].text, &f.edits));
                }
            }
        }
    }
}

#[test]
fn only_real_comments_above_the_generate_line_go_with_it() {
    let dir = copy_fixture("prisma-before");
    let d = dir.path();
    let script = "#!/bin/sh\nset -e\n# Generate the Prisma client\necho \"$MSG\"\nMSG=\"starting\n# prisma generate runs next\"\npnpm exec prisma generate --schema=prisma/schema.prisma\nexec dumb-init node dist/main.js\n";
    std::fs::write(d.join("apps/auth-service/entrypoint.sh"), script).unwrap();
    let out = run(&["fix", "--select", "ENT004", "."], d);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        read(d, "apps/auth-service/entrypoint.sh"),
        "#!/bin/sh\nset -e\n# Generate the Prisma client\necho \"$MSG\"\nMSG=\"starting\n# prisma generate runs next\"\nexec dumb-init node dist/main.js\n"
    );
}
