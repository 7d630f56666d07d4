//! Facts with provenance and the safety contract (issue 11), one small
//! fixture repo per pattern under `fixtures/facts-*`: the exact findings,
//! the fixes and their safety, and the fixed files accepted by the
//! validators (compose config, hadolint) with a second `fix` changing
//! nothing.

mod common;

use common::*;
use std::path::Path;

/// (code, path, line, safety of the fix or "-" when there is none)
type Want<'a> = (&'a str, &'a str, u64, &'a str);

fn got(dir: &Path) -> Vec<serde_json::Value> {
    findings(dir, "ALL")
}

fn summary(f: &[serde_json::Value]) -> Vec<(String, String, u64, String)> {
    let mut v: Vec<_> = f
        .iter()
        .map(|x| {
            (
                x["code"].as_str().unwrap().to_string(),
                x["path"].as_str().unwrap().to_string(),
                x["line"].as_u64().unwrap(),
                x["fix"]["safety"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn expect(fixture_name: &str, want: &[Want]) -> Vec<serde_json::Value> {
    let f = got(&fixture(fixture_name));
    let mut w: Vec<_> = want
        .iter()
        .map(|(c, p, l, s)| (c.to_string(), p.to_string(), *l, s.to_string()))
        .collect();
    w.sort();
    assert_eq!(summary(&f), w, "{fixture_name}: {f:#?}");
    f
}

fn one<'a>(f: &'a [serde_json::Value], code: &str, path: &str) -> &'a serde_json::Value {
    f.iter()
        .find(|x| x["code"] == code && x["path"] == path)
        .unwrap_or_else(|| panic!("no {code} at {path}"))
}

fn title(f: &serde_json::Value) -> &str {
    f["fix"]["title"].as_str().unwrap_or("")
}

fn reason(f: &serde_json::Value) -> &str {
    f["fix"]["unsafe_reason"].as_str().unwrap_or("")
}

/// Applies every fix (safe and unsafe) to a copy and checks the results
/// with the validators; a second run changes nothing.
fn apply_all_and_validate(
    fixture_name: &str,
    compose_files: &[&str],
    dockerfiles: &[&str],
) -> tempfile::TempDir {
    let dir = copy_fixture(fixture_name);
    let out = run(&["fix", "--unsafe-fixes", "."], dir.path());
    assert!(
        out.code == 0 || out.code == 1,
        "{}{}",
        out.stdout,
        out.stderr
    );
    for c in compose_files {
        compose_config_ok(&dir.path().join(c));
    }
    for d in dockerfiles {
        let o = std::process::Command::new(validator("hadolint"))
            .args(["--no-fail", "-f", "json"])
            .arg(dir.path().join(d))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "hadolint: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            !String::from_utf8_lossy(&o.stdout).contains("DL1000"),
            "{d} does not parse"
        );
    }
    let again = run(&["fix", "--unsafe-fixes", "--diff", "."], dir.path());
    assert_eq!(
        (again.code, again.stdout.as_str()),
        (0, ""),
        "{}",
        again.stderr
    );
    dir
}

#[test]
fn expose_disagreeing_with_listen_is_a_finding_and_blocks_safe_fixes() {
    let f = expect(
        "facts-expose-vs-listen",
        &[
            ("CMP001", "docker-compose.yml", 2, "unsafe"),
            ("CMP009", "docker-compose.yml", 2, "-"),
            ("DKR008", "apps/orders/Dockerfile", 6, "-"),
        ],
    );
    let c9 = one(&f, "CMP009", "docker-compose.yml");
    let msg = c9["message"].as_str().unwrap();
    // Every source is named: the code, the EXPOSE that disagrees, the gateway's URL.
    assert!(msg.contains("listens on 6004"), "{msg}");
    assert!(msg.contains("apps/orders/src/main.ts:6"), "{msg}");
    assert!(
        msg.contains("Dockerfile EXPOSE `6003` at apps/orders/Dockerfile:5 says otherwise"),
        "{msg}"
    );
    assert!(
        msg.contains("`gateway` environment.ORDERS_URL `6004`"),
        "{msg}"
    );
    let c1 = one(&f, "CMP001", "docker-compose.yml");
    // The probe goes to the code's port, and the fix says why it is unsafe.
    assert!(title(c1).contains("http://localhost:6004/health"), "{c1}");
    assert!(reason(c1).starts_with("port contested"), "{c1}");
    assert!(reason(c1).contains("EXPOSE `6003`"), "{c1}");
    // `fix` (safe only) changes nothing.
    let d = run(&["fix", "--diff", "."], &fixture("facts-expose-vs-listen"));
    assert_eq!(d.stdout, "");
    apply_all_and_validate("facts-expose-vs-listen", &["docker-compose.yml"], &[]);
}

#[test]
fn one_of_several_exposes_agreeing_is_no_disagreement() {
    let f = expect(
        "facts-several-expose",
        &[
            ("CMP001", "docker-compose.yml", 2, "safe"),
            ("DKR008", "api/Dockerfile", 7, "-"),
        ],
    );
    let c1 = one(&f, "CMP001", "docker-compose.yml");
    assert_eq!(
        title(c1),
        "Add a healthcheck to `api` (node probe on http://localhost:3000/healthz)"
    );
    apply_all_and_validate("facts-several-expose", &["docker-compose.yml"], &[]);
}

#[test]
fn a_consumer_with_ports_but_no_server_gets_advice_and_no_probe() {
    let f = expect(
        "facts-kafka-worker",
        &[
            ("CMP001", "docker-compose.yml", 2, "-"),
            ("DKR008", "worker/Dockerfile", 6, "-"),
        ],
    );
    let c1 = one(&f, "CMP001", "docker-compose.yml");
    let why = c1["no_fix_reason"].as_str().unwrap();
    assert!(why.contains("starts no server"), "{why}");
    assert!(why.contains("heartbeat"), "{why}");
    // No CMP009: nothing disagrees, the declared ports are simply unused.
    let inv = run(
        &["inventory", "--format", "json", "."],
        &fixture("facts-kafka-worker"),
    );
    let v: serde_json::Value = serde_json::from_str(&inv.stdout).unwrap();
    let facts = v["services"][0]["facts"].as_array().unwrap();
    let listens = facts.iter().find(|x| x["fact"] == "listens").unwrap();
    assert_eq!(listens["value"], "no");
    assert_eq!(listens["strength"], "strong");
}

#[test]
fn nest_global_prefix_and_versioning_make_the_route() {
    let f = expect(
        "facts-nest-prefix",
        &[
            ("CMP001", "docker-compose.yml", 2, "safe"),
            ("DKR008", "apps/api/Dockerfile", 5, "-"),
        ],
    );
    // The port is what the container sets (APP_PORT=4100), not the code's default.
    assert_eq!(
        title(one(&f, "CMP001", "docker-compose.yml")),
        "Add a healthcheck to `api` (node probe on http://localhost:4100/api/v1/health)"
    );
    apply_all_and_validate("facts-nest-prefix", &["docker-compose.yml"], &[]);
}

#[test]
fn express_router_mounted_at_api() {
    let f = expect(
        "facts-express-router",
        &[
            ("CMP001", "docker-compose.yml", 2, "safe"),
            ("DKR008", "svc/Dockerfile", 6, "-"),
        ],
    );
    assert_eq!(
        title(one(&f, "CMP001", "docker-compose.yml")),
        "Add a healthcheck to `svc` (node probe on http://localhost:8080/api/status)"
    );
    apply_all_and_validate("facts-express-router", &["docker-compose.yml"], &[]);
}

#[test]
fn only_ping_and_no_route_at_all() {
    let f = expect(
        "facts-only-ping",
        &[
            ("CMP001", "docker-compose.yml", 2, "safe"),
            ("CMP001", "docker-compose.yml", 4, "unsafe"),
            ("DKR008", "noroute/Dockerfile", 5, "-"),
            ("DKR008", "ping/Dockerfile", 5, "-"),
        ],
    );
    let ping = f
        .iter()
        .find(|x| x["service"] == "ping" && x["code"] == "CMP001")
        .unwrap();
    assert_eq!(
        title(ping),
        "Add a healthcheck to `ping` (node probe on http://localhost:7000/ping)"
    );
    let noroute = f.iter().find(|x| x["service"] == "noroute").unwrap();
    // No route known: the probe never demands 200 on `/`, and says so.
    assert!(title(noroute).contains("accepting any answer below 500: no route known"));
    assert!(reason(noroute).contains("no route known"));
    let dir = apply_all_and_validate("facts-only-ping", &["docker-compose.yml"], &[]);
    let text = std::fs::read_to_string(dir.path().join("docker-compose.yml")).unwrap();
    assert!(text.contains("r.statusCode<500?0:1"), "{text}");
    assert!(text.contains("http://localhost:7000/ping', r=>process.exit(r.statusCode===200?0:1)"));
}

#[test]
fn build_target_runs_an_earlier_stage_and_edits_go_there() {
    let f = expect(
        "facts-build-target",
        &[
            ("CMP001", "docker-compose.yml", 2, "safe"),
            // The `runner` stage compose builds runs as root; the last stage
            // (`docs`, with USER node) runs nowhere.
            ("DKR003", "app/Dockerfile", 4, "unsafe"),
            ("DKR008", "app/Dockerfile", 6, "-"),
        ],
    );
    assert!(title(one(&f, "CMP001", "docker-compose.yml")).contains("http://localhost:5000/"));
    let dir = apply_all_and_validate(
        "facts-build-target",
        &["docker-compose.yml"],
        &["app/Dockerfile"],
    );
    let df = std::fs::read_to_string(dir.path().join("app/Dockerfile")).unwrap();
    assert_eq!(
        df,
        std::fs::read_to_string(fixture("facts-build-target/app/Dockerfile"))
            .unwrap()
            .replacen(
                "COPY dist ./dist\nCMD [\"node\", \"dist/main.js\"]\n",
                "COPY dist ./dist\nUSER node\nCMD [\"node\", \"dist/main.js\"]\n",
                1
            )
    );
    let inv = run(&["inventory", "."], &fixture("facts-build-target"));
    assert!(
        inv.stdout.contains(
            "app stage = runner [strong]: compose build.target `runner` at docker-compose.yml:5"
        ),
        "{}",
        inv.stdout
    );
}

#[test]
fn devcontainer_and_gitpod_images_are_not_runtime_images() {
    let f = expect(
        "facts-devcontainer",
        &[
            ("CMP001", "docker-compose.yml", 2, "safe"),
            ("DKR008", "web/Dockerfile", 5, "-"),
        ],
    );
    assert!(!f
        .iter()
        .any(|x| x["path"].as_str().unwrap().contains("devcontainer")
            || x["path"].as_str().unwrap().contains("gitpod")));
}

#[test]
fn nginx_and_caddy_final_stages_get_advice_never_a_user_line() {
    let f = expect(
        "facts-nginx-final",
        &[
            ("DKR003", "proxy/Dockerfile", 1, "-"),
            ("DKR003", "site/Dockerfile", 6, "-"),
        ],
    );
    let nginx = one(&f, "DKR003", "site/Dockerfile");
    assert!(nginx["message"]
        .as_str()
        .unwrap()
        .contains("nginxinc/nginx-unprivileged"));
    let d = run(
        &["fix", "--unsafe-fixes", "--diff", "."],
        &fixture("facts-nginx-final"),
    );
    assert!(!d.stdout.contains("USER"), "{}", d.stdout);
}

#[test]
fn node_images_ship_yarn_and_npm_start_only_runs_a_script() {
    // No `yarn: not found` (node images ship yarn 1) and no "reaches the
    // network" for `npm start`: both only run a script (medium, with the
    // script's command as the fix).
    let f = expect(
        "facts-node-yarn",
        &[
            ("DKR001", "a/Dockerfile", 5, "safe"),
            ("ENT003", "b/entrypoint.sh", 3, "safe"),
            ("ENT005", "b/entrypoint.sh", 3, "safe"),
        ],
    );
    for x in f.iter().filter(|x| x["code"] != "ENT005") {
        let m = x["message"].as_str().unwrap();
        assert_eq!(x["severity"], "medium", "{m}");
        assert!(m.contains("only runs a package.json script"), "{m}");
        assert!(!m.contains("not found") && !m.contains("network"), "{m}");
    }
}

#[test]
fn override_file_is_layered_onto_its_base() {
    let f = expect(
        "facts-override",
        &[
            // `api` gets its healthcheck from the override: no CMP001, and
            // the curl probe there (an alpine image has no curl) is fixed in
            // the override, where the key is.
            ("CMP002", "docker-compose.override.yml", 6, "safe"),
            // `worker` has none in either file: one finding, in the base.
            ("CMP001", "docker-compose.yml", 6, "safe"),
            ("DKR008", "api/Dockerfile", 5, "-"),
        ],
    );
    assert_eq!(f.len(), 3, "no finding of the overlay's own");
    let dir = apply_all_and_validate("facts-override", &["docker-compose.yml"], &[]);
    // And layered, as compose runs it.
    let o = std::process::Command::new(validator("docker-compose"))
        .args([
            "-f",
            "docker-compose.yml",
            "-f",
            "docker-compose.override.yml",
            "config",
            "-q",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let before =
        std::fs::read_to_string(fixture("facts-override/docker-compose.override.yml")).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("docker-compose.override.yml")).unwrap(),
        before.replace(
            "[\"CMD\", \"curl\", \"-f\", \"http://localhost:3000/health\"]",
            "[\"CMD\", \"node\", \"-e\", \"require('http').get('http://localhost:3000/health', r=>process.exit(r.statusCode<400?0:1)).on('error',()=>process.exit(1))\"]"
        )
    );
    let base = std::fs::read_to_string(dir.path().join("docker-compose.yml")).unwrap();
    assert!(
        base.contains("  worker:\n") && base.matches("healthcheck:").count() == 1,
        "{base}"
    );
}

#[test]
fn digest_overlay_layered_by_makefile_and_dev_stack_severity() {
    let f = expect(
        "facts-digest-overlay",
        &[
            ("CMP001", "deploy/docker-compose.yml", 2, "safe"),
            ("CMP001", "docker-compose.dev.yml", 2, "safe"),
            ("DKR008", "svc/Dockerfile", 5, "-"),
        ],
    );
    // The digest-pinning overlay is merged onto its base (layered with -f
    // in the Makefile): no second `svc` of its own.
    assert!(!f
        .iter()
        .any(|x| x["path"] == "deploy/docker-compose.digests.yml"));
    let inv = run(
        &["inventory", "--format", "json", "."],
        &fixture("facts-digest-overlay"),
    );
    let v: serde_json::Value = serde_json::from_str(&inv.stdout).unwrap();
    let layer = v["compose_layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["file"] == "deploy/docker-compose.digests.yml")
        .unwrap();
    assert_eq!(layer["base"], "deploy/docker-compose.yml");
    assert_eq!(
        layer["why"],
        "layered onto `deploy/docker-compose.yml` with `-f` at Makefile:2"
    );
    let dev = one(&f, "CMP001", "docker-compose.dev.yml");
    assert_eq!(dev["severity"], "low");
    assert!(dev["message"]
        .as_str()
        .unwrap()
        .ends_with("(dev/local/test stack: severity lowered from medium)"));
    assert_eq!(
        one(&f, "CMP001", "deploy/docker-compose.yml")["severity"],
        "medium"
    );
    apply_all_and_validate(
        "facts-digest-overlay",
        &["deploy/docker-compose.yml", "docker-compose.dev.yml"],
        &[],
    );
}

#[test]
fn an_existing_probe_elsewhere_gives_the_route() {
    // Routes registered through helpers prodsafe cannot follow; the
    // project's own probes for the services say where to look: another
    // compose file (api), a Kubernetes liveness probe (web), a HEALTHCHECK
    // in a stage compose does not run (aio, built with `target: app`).
    let f = expect(
        "facts-probe-reuse",
        &[
            ("CMP001", "docker-compose.yml", 2, "safe"),
            ("CMP001", "docker-compose.yml", 4, "safe"),
            ("CMP001", "docker-compose.yml", 6, "safe"),
            ("DKR008", "aio/Dockerfile", 5, "-"),
            ("DKR008", "api/Dockerfile", 5, "-"),
            ("DKR008", "web/Dockerfile", 5, "-"),
        ],
    );
    let t = |svc: &str| {
        title(
            f.iter()
                .find(|x| x["service"] == svc && x["code"] == "CMP001")
                .unwrap(),
        )
        .to_string()
    };
    assert_eq!(
        t("api"),
        "Add a healthcheck to `api` (node probe on http://localhost:4000/v1/health-check)"
    );
    assert_eq!(
        t("web"),
        "Add a healthcheck to `web` (node probe on http://localhost:8080/readyz)"
    );
    assert_eq!(
        t("aio"),
        "Add a healthcheck to `aio` (node probe on http://localhost:9000/status)"
    );
    let inv = run(&["inventory", "."], &fixture("facts-probe-reuse"));
    for want in [
        "api health route = /v1/health-check [strong]: existing compose probe `/v1/health-check` at ops/docker-compose.prod.yml:5",
        "web health route = /readyz [strong]: existing Kubernetes probe `/readyz` at k8s/web.yaml:13",
        "aio health route = /status [strong]: existing Dockerfile HEALTHCHECK `/status` at aio/Dockerfile:8",
    ] {
        assert!(inv.stdout.contains(want), "{want}\n{}", inv.stdout);
    }
    apply_all_and_validate("facts-probe-reuse", &["docker-compose.yml"], &[]);
}

#[test]
fn one_prisma_generate_line_is_one_finding() {
    let f = expect(
        "facts-prisma-dup",
        &[
            ("DKR008", "svc/Dockerfile", 13, "-"),
            ("ENT004", "svc/entrypoint.sh", 3, "-"),
        ],
    );
    let e = one(&f, "ENT004", "svc/entrypoint.sh");
    let rel: Vec<(String, String, u64)> = e["related"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["code"].as_str().unwrap().into(),
                r["path"].as_str().unwrap().into(),
                r["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rel,
        vec![
            ("DKR001".to_string(), "svc/Dockerfile".to_string(), 13),
            ("ENT003".to_string(), "svc/entrypoint.sh".to_string(), 3)
        ]
    );
}

/// The inserted probes behave as their titles say, run with node against
/// real servers: `<500` passes on a 404, `===200` does not, the TCP probe
/// passes once the port accepts connections and fails when nothing listens.
#[test]
fn inserted_probes_behave_as_titled() {
    let dir = copy_fixture("facts-only-ping");
    run(&["fix", "--unsafe-fixes", "."], dir.path());
    let text = std::fs::read_to_string(dir.path().join("docker-compose.yml")).unwrap();
    let probe_of = |port: &str| -> String {
        let line = text
            .lines()
            .find(|l| l.contains("test:") && l.contains(&format!("localhost:{port}")))
            .unwrap();
        let items: Vec<String> =
            serde_json::from_str(line.trim().trim_start_matches("test:").trim()).unwrap();
        items[3].clone()
    };
    let any = probe_of("7001");
    let ok200 = probe_of("7000");
    // A server answering 404 everywhere on 7001 and 7000.
    let server = "const h=require('http');for(const p of [7001,7000]){h.createServer((q,r)=>{r.statusCode=404;r.end()}).listen(p)};setTimeout(()=>process.exit(0),8000)";
    let mut srv = std::process::Command::new("node")
        .args(["-e", server])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let status = |js: &str| {
        std::process::Command::new("node")
            .args(["-e", js])
            .status()
            .unwrap()
            .success()
    };
    assert!(status(&any), "any answer below 500 passes on a 404");
    assert!(!status(&ok200), "the 200 probe fails on a 404");
    let _ = srv.kill();
    let _ = srv.wait();
    let tcp = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/healthcheck-node-tcp.yaml"),
    )
    .unwrap();
    let line = tcp
        .lines()
        .find(|l| l.trim_start().starts_with("test:"))
        .unwrap();
    let items: Vec<String> = serde_json::from_str(
        &line
            .trim()
            .trim_start_matches("test:")
            .trim()
            .replace("{{port}}", "7002"),
    )
    .unwrap();
    let mut srv = std::process::Command::new("node")
        .args(["-e", "require('net').createServer(s=>s.end()).listen(7002);setTimeout(()=>process.exit(0),8000)"])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    assert!(status(&items[3]), "TCP probe passes when the port accepts");
    let _ = srv.kill();
    let _ = srv.wait();
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(!status(&items[3]), "TCP probe fails when nothing listens");
}

/// `explain` documents, per rule that uses facts, the evidence order and
/// when its fix is safe.
#[test]
fn explain_documents_evidence_and_safety() {
    for (code, needles) in [
        (
            "CMP001",
            &["## Evidence order", "**Safe** only when", "no route known"][..],
        ),
        (
            "CMP002",
            &["## Evidence and safety", "strong and uncontested"][..],
        ),
        ("CMP003", &["safe exactly when"][..]),
        (
            "CMP004",
            &[
                "## Evidence order",
                "Safe only when the port fact is strong",
            ][..],
        ),
        (
            "CMP009",
            &[
                "Every source that names the port",
                "no fix that depends on this port is offered as safe",
            ][..],
        ),
        (
            "DKR003",
            &[
                "## Evidence",
                "nginx-unprivileged",
                "no `USER` is ever inserted",
            ][..],
        ),
    ] {
        let out = run(&["explain", code], &fixture("facts-only-ping"));
        assert_eq!(out.code, 0);
        for n in needles {
            assert!(
                out.stdout.contains(n),
                "{code}: missing {n:?} in\n{}",
                out.stdout
            );
        }
    }
}

#[test]
fn nextjs_ports_api_routes_and_a_gateway_proxy_target() {
    let f = expect(
        "facts-nextjs",
        &[
            ("CMP001", "docker-compose.yml", 2, "unsafe"),
            ("CMP009", "docker-compose.yml", 2, "-"),
            ("CMP001", "docker-compose.yml", 4, "safe"),
            ("CMP001", "docker-compose.yml", 8, "safe"),
            ("DKR008", "gateway/Dockerfile", 5, "-"),
            // `npm start` only runs `next start -p 4000` (medium, no network claim).
            ("DKR001", "web/Dockerfile", 5, "-"),
        ],
    );
    let by = |svc: &str, code: &str| {
        f.iter()
            .find(|x| x["service"] == svc && x["code"] == code)
            .unwrap()
            .clone()
    };
    // `npm start` runs `next start -p 4000`; the gateway proxies to 4001.
    let web = by("web", "CMP001");
    assert_eq!(
        title(&web),
        "Add a healthcheck to `web` (node probe on http://localhost:4000/api/health)"
    );
    assert!(
        reason(&web).contains("URL in code `4001` at gateway/src/main.ts:6"),
        "{web}"
    );
    let c9 = by("web", "CMP009");
    assert!(c9["message"]
        .as_str()
        .unwrap()
        .contains("package.json start `next start -p 4000`"));
    // `next start` without -p serves the container's PORT (ENV PORT=3005).
    assert_eq!(
        title(&by("admin", "CMP001")),
        "Add a healthcheck to `admin` (node probe on http://localhost:3005/api/ping)"
    );
    apply_all_and_validate("facts-nextjs", &["docker-compose.yml"], &[]);
}
