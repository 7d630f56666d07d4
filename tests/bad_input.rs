//! Bad input: every problem is named with its file (and line where there is
//! one), the rest of the run goes on, nothing is written to bad files, and
//! symlinks never lead out of the root.

mod common;

use common::*;

#[test]
fn binary_non_utf8_and_huge_files_are_named_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("bin")).unwrap();
    std::fs::create_dir_all(d.join("latin")).unwrap();
    std::fs::create_dir_all(d.join("big")).unwrap();
    std::fs::write(
        d.join("bin/Dockerfile"),
        b"FROM node:20\n\x00\x01\x02binary",
    )
    .unwrap();
    std::fs::write(
        d.join("latin/entrypoint.sh"),
        b"#!/bin/sh\nset -e\necho caf\xe9\nexec node x.js\n",
    )
    .unwrap();
    let mut huge = String::from("services:\n");
    while huge.len() < 9 * 1024 * 1024 {
        huge.push_str("  # padding padding padding padding padding padding padding padding\n");
    }
    std::fs::write(d.join("big/docker-compose.yml"), &huge).unwrap();
    let good = "services:\n  api:\n    image: node:20\n    ports: [\"80:80\"]\n";
    std::fs::write(d.join("docker-compose.yml"), good).unwrap();
    // The probe for an image-only service rests on `ports:` alone: unsafe.
    let out = run(&["fix", "--unsafe-fixes", "."], d);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("bin/Dockerfile:2: binary file (NUL byte); skipped"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("latin/entrypoint.sh:3: not valid UTF-8; skipped"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("big/docker-compose.yml: file is"),
        "{}",
        out.stderr
    );
    assert!(
        std::fs::read_to_string(d.join("docker-compose.yml"))
            .unwrap()
            .contains("healthcheck:"),
        "the good file is still fixed"
    );
    assert_eq!(
        std::fs::read(d.join("latin/entrypoint.sh")).unwrap(),
        b"#!/bin/sh\nset -e\necho caf\xe9\nexec node x.js\n"
    );
}

#[cfg(unix)]
#[test]
fn symlinks_are_not_followed_out_of_the_root_and_loops_do_not_hang() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("docker-compose.yml"),
        "services:\n  x:\n    image: node:20\n    ports: [\"1:1\"]\n",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::os::unix::fs::symlink(outside.path(), d.join("elsewhere")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("docker-compose.yml"),
        d.join("docker-compose.yml"),
    )
    .unwrap();
    std::fs::create_dir(d.join("loop")).unwrap();
    std::os::unix::fs::symlink(d.join("loop"), d.join("loop/self")).unwrap();
    let out = run(&["fix", "."], d);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        !std::fs::read_to_string(outside.path().join("docker-compose.yml"))
            .unwrap()
            .contains("healthcheck"),
        "nothing outside the root is touched"
    );
}

#[test]
fn missing_path_is_an_error_and_other_paths_go_on() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("docker-compose.yml"),
        "services:\n  api:\n    image: node:20\n",
    )
    .unwrap();
    let out = run(&["check", "no-such-dir", "."], dir.path());
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("no-such-dir: no such file or directory"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains("CMP001"),
        "the other root is still checked"
    );
}
