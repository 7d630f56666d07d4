//! Unified diffs that `git apply` accepts: lines are split on `\n` only (a
//! lone `\r` stays inside its line), CRLF is kept byte for byte, and a
//! missing final newline gets `\ No newline at end of file`.

use similar::TextDiff;

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
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_writer(&mut out)
        .expect("writing to a Vec cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
