//! Property: whatever the files contain (fragments of valid syntax mixed with
//! garbage), loading, checking and planning fixes never panics, and every
//! planned file either verifies or reports why it was left alone.

use prodsafe::config::Config;
use prodsafe::project::Project;
use prodsafe::templates::Templates;
use proptest::prelude::*;

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("services:\n".to_string()),
        Just("  api:\n".to_string()),
        Just("    image: node:20\n".to_string()),
        Just("    ports: [\"80:80\"]\n".to_string()),
        Just("    build: ./app\n".to_string()),
        Just("    healthcheck:\n      test: [\"CMD\", \"curl\", \"-f\", \"http://localhost:80/\"]\n".to_string()),
        Just("    depends_on:\n      db:\n        condition: service_healthy\n".to_string()),
        Just("  db: {image: postgres}\n".to_string()),
        Just("x: &a\n  k: |+\n    v\n\n".to_string()),
        Just("  <<: *a\n".to_string()),
        Just("\t\r\n".to_string()),
        Just("FROM node:20-alpine AS b\n".to_string()),
        Just("RUN pnpm install \\\n  # c\n  && x\n".to_string()),
        Just("COPY --from=zz . .\n".to_string()),
        Just("CMD node dist/main.js\n".to_string()),
        Just("ENTRYPOINT [\"./entrypoint.sh\"]\n".to_string()),
        Just("RUN <<EOF\nnpx prisma generate\nEOF\n".to_string()),
        Just("#!/bin/sh\n".to_string()),
        Just("set -e\n".to_string()),
        Just("echo \"$X\" ${Y:-z}\n".to_string()),
        Just("node server.js\n".to_string()),
        Just("[[ -n x ]] && source y\n".to_string()),
        Just("import x from './x';\n".to_string()),
        Just("const u = process.env.DATABASE_URL!;\n".to_string()),
        Just("app.listen(3000);\n".to_string()),
        Just("const requiredEnvVars = ['A'];\n".to_string()),
        Just("jobs:\n  b:\n    steps:\n      - uses: docker/build-push-action@v6\n        with:\n          tags: a/b:c\n".to_string()),
        "[ -~]{0,20}\n",
        "\\PC{0,8}",
    ]
}

fn content() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..12).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]
    #[test]
    fn load_check_and_plan_never_panic(
        compose in content(),
        dockerfile in content(),
        script in content(),
        main in content(),
        workflow in content(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("app/src")).unwrap();
        std::fs::create_dir_all(d.join(".github/workflows")).unwrap();
        std::fs::write(d.join("docker-compose.yml"), &compose).unwrap();
        std::fs::write(d.join("app/Dockerfile"), &dockerfile).unwrap();
        std::fs::write(d.join("app/entrypoint.sh"), &script).unwrap();
        std::fs::write(d.join("app/src/main.ts"), &main).unwrap();
        std::fs::write(d.join(".github/workflows/ci.yml"), &workflow).unwrap();
        let p = Project::load(d, Config::default(), Templates::default());
        let findings = prodsafe::rules::run(&p, &[], &[]);
        let plan = prodsafe::plan::plan(&p, &findings, &|_, _| true);
        for f in &plan.files {
            // A file is either left alone with a reason, or its new text is
            // exactly its edits applied.
            prop_assert!(!(f.error.is_some() && f.new_text.is_some()));
            if let Some(new) = &f.new_text {
                prop_assert_eq!(new, &prodsafe::edit::apply(&p.files[f.file].text, &f.edits));
            }
        }
        let inv = prodsafe::inventory::build(&p);
        prop_assert_eq!(inv.services.len(), p.graph.services.len());
        let report = prodsafe::report::render(&p, &findings, "x", "2025-01-01");
        prop_assert!(report.contains("## SUMMARY OF FINDINGS"));
    }
}

/// Deeply nested input for every format (issue 14, item 13): loading,
/// checking and planning end with errors or findings, never a crash.
fn deep(kind: u8, n: usize) -> String {
    match kind {
        0 => format!(
            "services:\n  api:\n    image: node:20\nx-deep:\n  {}x\n",
            "- ".repeat(n)
        ),
        1 => format!("x: {}{}\n", "[".repeat(n), "]".repeat(n)),
        2 => format!("x: {}{}\n", "{a: ".repeat(n), "}".repeat(n)),
        3 => {
            let mut s = String::from("x:\n");
            for i in 0..n.min(3000) {
                s.push_str(&" ".repeat(i + 1));
                s.push_str("k:\n");
            }
            s
        }
        4 => format!("#!/bin/sh\necho {}x{}\n", "$(".repeat(n), ")".repeat(n)),
        5 => format!("#!/bin/sh\n{}true{}\n", "{ ".repeat(n), "; }".repeat(n)),
        6 => format!(
            "#!/bin/sh\nif true; then\n{}:\n{}fi\n",
            "if true; then\n".repeat(n),
            "fi\n".repeat(n)
        ),
        7 => format!("const x = {}1{};\n", "(".repeat(n), ")".repeat(n)),
        8 => format!(
            "const x = {}{};\nimport a from './a';\n",
            "[".repeat(n),
            "]".repeat(n)
        ),
        9 => format!(
            "FROM node:20\nRUN echo {}\nCMD node x\n",
            "a \\\n".repeat(n)
        ),
        10 => format!("http {{\n{}{}}}\n", "server {\n".repeat(n), "}\n".repeat(n)),
        _ => format!("x: {}\n", "&a [*a, ".repeat(n.min(2000))),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    #[test]
    fn deep_nesting_and_random_bytes_never_crash(
        kind in 0u8..12,
        n in prop_oneof![Just(300usize), Just(5_000usize), Just(30_000usize)],
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        let text = deep(kind, n);
        let noise = String::from_utf8_lossy(&bytes).into_owned();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("app/src")).unwrap();
        std::fs::create_dir_all(d.join(".github/workflows")).unwrap();
        std::fs::create_dir_all(d.join("nginx")).unwrap();
        std::fs::create_dir_all(d.join("prisma")).unwrap();
        // The deep text in every file kind, and random bytes in a sibling.
        for (path, extra) in [
            ("docker-compose.yml", "docker-compose.noise.yml"),
            ("app/Dockerfile", "app/Dockerfile.noise"),
            ("app/entrypoint.sh", "app/noise-entrypoint.sh"),
            ("app/src/main.ts", "app/src/main.js"),
            (".github/workflows/ci.yml", ".github/workflows/noise.yml"),
            ("nginx/nginx.conf", "nginx/noise.conf"),
            ("prisma/schema.prisma", "app/schema.prisma"),
        ] {
            std::fs::write(d.join(path), &text).unwrap();
            std::fs::write(d.join(extra), &bytes).unwrap();
        }
        std::fs::write(d.join("app/noise.sh"), &noise).unwrap();
        let p = Project::load(d, Config::default(), Templates::default());
        let findings = prodsafe::rules::run(&p, &[], &[]);
        let plan = prodsafe::plan::plan(&p, &findings, &|_, _| true);
        prop_assert!(plan.files.iter().all(|f| !(f.error.is_some() && f.new_text.is_some())));
        let _ = prodsafe::inventory::build(&p);
        let _ = prodsafe::report::render(&p, &findings, "x", "2025-01-01");
    }
}
