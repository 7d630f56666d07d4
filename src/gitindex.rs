//! Executable bits as git records them, read from the repository's index
//! file instead of spawning `git ls-files` (a process per repository cost
//! more than reading every file of a typical repository).
//!
//! The index is what a fresh clone (and so a CI image build) checks out: a
//! script that is executable on disk but recorded as 0644 is not executable
//! in the image. Versions 2, 3 and 4 of the format are read; anything else
//! (a split index, SHA-256 object names, a damaged file) falls back to
//! `git ls-files -s`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Executable bits of the regular files git tracks under `root`, keyed by
/// root-relative path. None when `root` is not inside a git work tree.
pub fn exec_bits(root: &Path) -> Option<HashMap<String, bool>> {
    let (top, git_dir) = find_git_dir(root)?;
    let prefix = prefix_of(root, &top)?;
    let index = std::fs::read(git_dir.join("index")).ok();
    if let Some(entries) = index.as_deref().and_then(parse) {
        return Some(under_prefix(entries, &prefix));
    }
    from_git(root)
}

/// The work tree's top and its git directory: the nearest folder at or
/// above `root` holding `.git` (a folder, or a file `gitdir: PATH` as in
/// worktrees and submodules).
fn find_git_dir(root: &Path) -> Option<(PathBuf, PathBuf)> {
    let root = std::fs::canonicalize(root).ok()?;
    let mut dir: Option<&Path> = Some(&root);
    while let Some(d) = dir {
        let dot = d.join(".git");
        if let Ok(meta) = std::fs::metadata(&dot) {
            if meta.is_dir() {
                return Some((d.to_path_buf(), dot));
            }
            let text = std::fs::read_to_string(&dot).ok()?;
            let target = text.strip_prefix("gitdir:")?.trim();
            let target = Path::new(target);
            let git_dir = if target.is_absolute() {
                target.to_path_buf()
            } else {
                d.join(target)
            };
            return Some((d.to_path_buf(), git_dir));
        }
        dir = d.parent();
    }
    None
}

/// `root` relative to the work tree's top, `/`-separated, with a trailing
/// `/` unless empty.
fn prefix_of(root: &Path, top: &Path) -> Option<String> {
    let root = std::fs::canonicalize(root).ok()?;
    let rel = root.strip_prefix(top).ok()?;
    let mut s = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    if !s.is_empty() {
        s.push('/');
    }
    Some(s)
}

fn under_prefix(entries: Vec<(String, bool)>, prefix: &str) -> HashMap<String, bool> {
    entries
        .into_iter()
        .filter_map(|(path, x)| path.strip_prefix(prefix).map(|p| (p.to_string(), x)))
        .collect()
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

/// Regular files of an index with their executable bit, or None when the
/// index is of a form this reader does not handle.
pub fn parse(b: &[u8]) -> Option<Vec<(String, bool)>> {
    const OID: usize = 20;
    if b.get(0..4)? != b"DIRC" {
        return None;
    }
    let version = be32(b, 4)?;
    if !(2..=4).contains(&version) {
        return None;
    }
    let count = be32(b, 8)? as usize;
    let mut out = Vec::with_capacity(count.min(b.len() / 62));
    let mut pos = 12;
    let mut prev = String::new();
    for _ in 0..count {
        let start = pos;
        let mode = be32(b, pos + 24)?;
        let flags = be16(b, pos + 40 + OID)?;
        pos += 40 + OID + 2;
        if version >= 3 && flags & 0x4000 != 0 {
            pos += 2;
        }
        let path = if version == 4 {
            // Prefix compression: drop N bytes of the previous path, then
            // append a NUL-terminated suffix; no padding.
            let mut strip = 0usize;
            loop {
                let byte = *b.get(pos)?;
                pos += 1;
                strip = (strip << 7) | usize::from(byte & 0x7f);
                if byte & 0x80 == 0 {
                    break;
                }
                strip += 1;
            }
            let end = pos + b.get(pos..)?.iter().position(|&c| c == 0)?;
            let keep = prev.len().checked_sub(strip)?;
            let mut p = prev.get(..keep)?.to_string();
            p.push_str(std::str::from_utf8(&b[pos..end]).ok()?);
            pos = end + 1;
            p
        } else {
            let end = pos + b.get(pos..)?.iter().position(|&c| c == 0)?;
            let p = std::str::from_utf8(&b[pos..end]).ok()?.to_string();
            // NUL-terminated and padded to a multiple of eight bytes.
            let len = end + 1 - start;
            pos = start + len.div_ceil(8) * 8;
            p
        };
        // Stage 0 regular files only (merge stages and links are skipped).
        let stage = (flags >> 12) & 0x3;
        if mode >> 12 == 0b1000 && stage == 0 {
            out.push((path.clone(), mode & 0o111 != 0));
        }
        prev = path;
    }
    // A split index keeps entries in a shared file: not handled here.
    let mut ext = pos;
    while ext + 8 <= b.len().saturating_sub(OID) {
        let sig = &b[ext..ext + 4];
        if sig == b"link" {
            return None;
        }
        ext += 8 + be32(b, ext + 4)? as usize;
    }
    Some(out)
}

fn from_git(root: &Path) -> Option<HashMap<String, bool>> {
    let o = std::process::Command::new("git")
        .args(["ls-files", "-s", "-z"])
        .current_dir(root)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let mut index = HashMap::new();
    for rec in o.stdout.split(|&b| b == 0) {
        let rec = String::from_utf8_lossy(rec);
        if let Some((meta, path)) = rec.split_once('\t') {
            index.insert(path.to_string(), meta.starts_with("100755"));
        }
    }
    Some(index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) {
        let o = Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(o.status.success(), "git {args:?}: {o:?}");
    }

    /// The reader agrees with `git ls-files -s` for every index version,
    /// from the top and from a subfolder, with long and non-ASCII paths.
    #[test]
    fn agrees_with_git_for_index_versions_2_3_4() {
        for version in ["2", "3", "4"] {
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path();
            git(d, &["init", "-q"]);
            let files = [
                "run.sh",
                "apps/a/entrypoint.sh",
                "apps/a/very/long/path/name/that/goes/on/and/on/script.sh",
                "apps/b/é-start.sh",
                "apps/b/plain.txt",
            ];
            for f in files {
                let p = d.join(f);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(&p, "#!/bin/sh\n").unwrap();
            }
            git(d, &["add", "."]);
            git(
                d,
                &["update-index", "--chmod=+x", "run.sh", "apps/b/é-start.sh"],
            );
            git(d, &["update-index", "--index-version", version]);
            if version == "3" {
                // An extended flag (intent-to-add) forces the v3 layout.
                std::fs::write(d.join("apps/a/new.sh"), "x").unwrap();
                git(d, &["add", "-N", "apps/a/new.sh"]);
            }
            let expected = from_git(d).unwrap();
            let parsed = parse(&std::fs::read(d.join(".git/index")).unwrap())
                .unwrap_or_else(|| panic!("index v{version} not read"));
            let got: HashMap<String, bool> = parsed.into_iter().collect();
            assert_eq!(got, expected, "index v{version}");
            assert_eq!(got["run.sh"], true);
            assert_eq!(got["apps/a/entrypoint.sh"], false);
            assert_eq!(got["apps/b/é-start.sh"], true);
            // From a subfolder: paths relative to it.
            let sub = exec_bits(&d.join("apps/b")).unwrap();
            assert_eq!(sub.get("é-start.sh"), Some(&true), "{sub:?}");
            assert!(!sub.contains_key("run.sh"));
        }
    }

    #[test]
    fn outside_a_work_tree_there_is_nothing() {
        let dir = tempfile::tempdir().unwrap();
        // A temp dir is not inside a repository (unless TMPDIR is).
        if find_git_dir(dir.path()).is_none() {
            assert!(exec_bits(dir.path()).is_none());
        }
    }

    #[test]
    fn damaged_indexes_are_refused_not_misread() {
        assert!(parse(b"").is_none());
        assert!(parse(b"DIRC\0\0\0\x09\0\0\0\x01").is_none());
        // Claims one entry, holds none.
        assert!(parse(b"DIRC\0\0\0\x02\0\0\0\x01").is_none());
    }
}
