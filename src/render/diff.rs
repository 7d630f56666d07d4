//! Unified diffs that `git apply` accepts: lines are split on `\n` only (a
//! lone `\r` stays inside its line), CRLF is kept byte for byte, and a
//! missing final newline gets `\ No newline at end of file`.

use similar::TextDiff;

/// A path as git writes it in patch headers: `a/x` as is, or C-quoted
/// (`"a/new\nline"`) when it holds a quote, a backslash, a control
/// character or (as with git's default `core.quotePath`) non-ASCII bytes,
/// so that `git apply` reads it back exactly.
pub fn git_quote(prefixed: &str) -> String {
    let needs = prefixed
        .bytes()
        .any(|b| b < 0x20 || b == 0x7f || b >= 0x80 || b == b'"' || b == b'\\');
    if !needs {
        return prefixed.to_string();
    }
    let mut out = String::from("\"");
    for b in prefixed.bytes() {
        match b {
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            0x0b => out.push_str("\\v"),
            0x0c => out.push_str("\\f"),
            b'\r' => out.push_str("\\r"),
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b if b < 0x20 || b >= 0x7f => out.push_str(&format!("\\{b:03o}")),
            b => out.push(b as char),
        }
    }
    out.push('"');
    out
}

pub fn unified(path: &str, old: &str, new: &str) -> Vec<u8> {
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let new_lines: Vec<&str> = new.split_inclusive('\n').collect();
    let diff = TextDiff::configure()
        .newline_terminated(true)
        .diff_slices(&old_lines, &new_lines);
    let mut out = Vec::new();
    diff.unified_diff()
        .context_radius(3)
        .missing_newline_hint(true)
        .header(
            &git_quote(&format!("a/{path}")),
            &git_quote(&format!("b/{path}")),
        )
        .to_writer(&mut out)
        .expect("writing to a Vec cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_as_git_does() {
        assert_eq!(git_quote("a/x/y.yml"), "a/x/y.yml");
        assert_eq!(git_quote("a/with space"), "a/with space");
        assert_eq!(
            git_quote("a/nl\nx\t\"q\"\\"),
            "\"a/nl\\nx\\t\\\"q\\\"\\\\\""
        );
        assert_eq!(git_quote("a/é"), "\"a/\\303\\251\"");
    }

    #[test]
    fn crlf_and_lone_cr_and_no_final_newline() {
        let old = "a\r\nb\rc\r\nd";
        let new = "a\r\nb\rc\r\nx\r\nd";
        let d = String::from_utf8(unified("f.txt", old, new)).unwrap();
        assert!(d.starts_with("--- a/f.txt\n+++ b/f.txt\n"), "{d}");
        assert!(d.contains(" b\rc\r\n"), "{d:?}");
        assert!(d.contains("+x\r\n"), "{d:?}");
        assert!(d.ends_with(" d\n\\ No newline at end of file\n"), "{d:?}");
    }
}
