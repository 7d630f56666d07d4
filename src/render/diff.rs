//! Unified diffs that `git apply` accepts: lines are split on `\n` only (a
//! lone `\r` stays inside its line), CRLF is kept byte for byte, and a
//! missing final newline gets `\ No newline at end of file`.

use similar::{Algorithm, DiffOp, TextDiff};

use crate::finding::Edit;

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

/// Line starts of `text`; the end of the text counts as a line start when
/// the text ends with a newline (or is empty).
fn starts(text: &str) -> Vec<usize> {
    let mut v = vec![0];
    v.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    if !(text.is_empty() || text.ends_with('\n')) {
        // the last line runs to the end; no virtual line after it
    } else if v.last() != Some(&text.len()) {
        v.push(text.len());
    }
    v
}

/// The unified diff of a file changed by known edits (`offset` bytes of
/// BOM before the offsets the edits use): the same output as [`unified`],
/// computed in time linear in the file instead of diffing it whole (a line
/// diff of a file with thousands of insertions is quadratic). Only the
/// lines each group of edits touches are diffed.
pub fn unified_edits(path: &str, old: &str, new: &str, offset: usize, edits: &[Edit]) -> Vec<u8> {
    let os = starts(old);
    let ns = starts(new);
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let new_lines: Vec<&str> = new.split_inclusive('\n').collect();
    // The line holding byte `p` (the virtual line past a final newline
    // for the end of the text).
    let line_of = |st: &[usize], p: usize| st.partition_point(|&s| s <= p) - 1;
    // Regions of old lines [ls, le) with the byte delta of their edits.
    let mut regions: Vec<(usize, usize, isize)> = Vec::new();
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort();
    for e in sorted {
        let (start, end) = (e.start + offset, e.end + offset);
        let ls = line_of(&os, start);
        let le = if end == start && os[ls] == start {
            ls
        } else {
            let l = line_of(&os, end);
            if os.get(l) == Some(&end) && end > start {
                l
            } else {
                l + 1
            }
        }
        .min(old_lines.len());
        let delta = e.text.len() as isize - (e.end - e.start) as isize;
        match regions.last_mut() {
            Some(r) if ls <= r.1 => {
                r.1 = r.1.max(le);
                r.2 += delta;
            }
            _ => regions.push((ls, le, delta)),
        }
    }
    let mut ops: Vec<DiffOp> = Vec::new();
    let (mut oi, mut ni, mut shift) = (0usize, 0usize, 0isize);
    let mut k = 0;
    while k < regions.len() {
        let (ls, mut le, mut delta) = regions[k];
        // A region whose new text does not end a line takes the next line.
        loop {
            let old_end = os.get(le).copied().unwrap_or(old.len());
            let new_end = (old_end as isize + shift + delta) as usize;
            if new_end == new.len() || new[..new_end].ends_with('\n') || le >= old_lines.len() {
                break;
            }
            le += 1;
            while k + 1 < regions.len() && regions[k + 1].0 <= le {
                k += 1;
                le = le.max(regions[k].1);
                delta += regions[k].2;
            }
        }
        let old_start = os.get(ls).copied().unwrap_or(old.len());
        let old_end = os.get(le).copied().unwrap_or(old.len());
        let nls = line_of(&ns, (old_start as isize + shift) as usize).min(new_lines.len());
        let new_end = (old_end as isize + shift + delta) as usize;
        let nle = if new_end == new.len() {
            new_lines.len()
        } else {
            line_of(&ns, new_end)
        };
        if ls > oi {
            ops.push(DiffOp::Equal {
                old_index: oi,
                new_index: ni,
                len: ls - oi,
            });
        }
        for op in
            similar::capture_diff_slices(Algorithm::Myers, &old_lines[ls..le], &new_lines[nls..nle])
        {
            ops.push(match op {
                DiffOp::Equal {
                    old_index,
                    new_index,
                    len,
                } => DiffOp::Equal {
                    old_index: old_index + ls,
                    new_index: new_index + nls,
                    len,
                },
                DiffOp::Delete {
                    old_index,
                    old_len,
                    new_index,
                } => DiffOp::Delete {
                    old_index: old_index + ls,
                    old_len,
                    new_index: new_index + nls,
                },
                DiffOp::Insert {
                    old_index,
                    new_index,
                    new_len,
                } => DiffOp::Insert {
                    old_index: old_index + ls,
                    new_index: new_index + nls,
                    new_len,
                },
                DiffOp::Replace {
                    old_index,
                    old_len,
                    new_index,
                    new_len,
                } => DiffOp::Replace {
                    old_index: old_index + ls,
                    old_len,
                    new_index: new_index + nls,
                    new_len,
                },
            });
        }
        oi = le;
        ni = nle;
        shift += delta;
        k += 1;
    }
    if old_lines.len() > oi {
        ops.push(DiffOp::Equal {
            old_index: oi,
            new_index: ni,
            len: old_lines.len() - oi,
        });
    }
    // One Equal op per unchanged run (context is cut from whole runs).
    let mut merged: Vec<DiffOp> = Vec::with_capacity(ops.len());
    for op in ops {
        match (merged.last_mut(), op) {
            (Some(DiffOp::Equal { len, .. }), DiffOp::Equal { len: more, .. }) => *len += more,
            (_, op) => merged.push(op),
        }
    }
    let mut out = Vec::new();
    let groups = similar::group_diff_ops(merged, 3);
    if groups.is_empty() {
        return out;
    }
    out.extend_from_slice(
        format!(
            "--- {}\n+++ {}\n",
            git_quote(&format!("a/{path}")),
            git_quote(&format!("b/{path}"))
        )
        .as_bytes(),
    );
    let range = |start: usize, end: usize| {
        let len = end - start;
        match len {
            1 => format!("{}", start + 1),
            0 => format!("{},0", start),
            _ => format!("{},{len}", start + 1),
        }
    };
    for g in groups {
        let (first, last) = (g[0], g[g.len() - 1]);
        out.extend_from_slice(
            format!(
                "@@ -{} +{} @@\n",
                range(first.old_range().start, last.old_range().end),
                range(first.new_range().start, last.new_range().end)
            )
            .as_bytes(),
        );
        let mut line = |tag: u8, l: &str| {
            out.push(tag);
            out.extend_from_slice(l.as_bytes());
            if !l.ends_with('\n') {
                out.extend_from_slice(b"\n\\ No newline at end of file\n");
            }
        };
        for op in g {
            for i in op.old_range() {
                if !matches!(op, DiffOp::Insert { .. }) {
                    line(
                        if matches!(op, DiffOp::Equal { .. }) {
                            b' '
                        } else {
                            b'-'
                        },
                        old_lines[i],
                    );
                }
            }
            if !matches!(op, DiffOp::Equal { .. } | DiffOp::Delete { .. }) {
                for i in op.new_range() {
                    line(b'+', new_lines[i]);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The edit-driven diff equals the whole-file diff on many generated
    /// files and edits (insertions, replacements, CRLF, no final newline).
    #[test]
    fn diff_from_edits_applies_and_matches_the_whole_file_diff() {
        let mut seed = 7u64;
        let mut next = |m: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % m
        };
        let pieces = ["a\n", "b\r\n", "  key: v\n", "\n", "x", "é\n", "c\n"];
        for _ in 0..3000 {
            let mut old = String::new();
            for _ in 0..next(30) {
                old.push_str(pieces[next(pieces.len())]);
            }
            let bom = if next(4) == 0 { "\u{feff}" } else { "" };
            let mut edits: Vec<Edit> = Vec::new();
            let mut pos = 0;
            for _ in 0..next(5) {
                let cands: Vec<usize> = (pos..=old.len())
                    .filter(|&i| old.is_char_boundary(i))
                    .collect();
                if cands.is_empty() {
                    break;
                }
                let start = cands[next(cands.len())];
                let ends: Vec<usize> = (start..=old.len().min(start + 6))
                    .filter(|&i| old.is_char_boundary(i))
                    .collect();
                let end = if next(2) == 0 {
                    start
                } else {
                    ends[next(ends.len())]
                };
                let text = ["h:\n  t: 1\n", "exec ", "u", "", "\nz", "q\r\n"][next(6)].to_string();
                if start == end && text.is_empty() {
                    continue;
                }
                if edits
                    .last()
                    .is_some_and(|l: &Edit| l.start == start && l.end == start && start == end)
                {
                    continue;
                }
                edits.push(Edit { start, end, text });
                pos = end.max(start) + usize::from(start == end);
                if pos > old.len() {
                    break;
                }
            }
            if crate::edit::check_edits(&old, &edits).is_err() {
                continue;
            }
            let new = crate::edit::apply(&old, &edits);
            let (o, n) = (format!("{bom}{old}"), format!("{bom}{new}"));
            let got = unified_edits("f", &o, &n, bom.len(), &edits);
            assert_eq!(apply_patch(&o, &got), n, "old {old:?} edits {edits:?}");
            // Whole-line insertions (what most fixes are): the same text
            // as the whole-file diff when no line repeats.
            let lines_only = edits.iter().all(|e| {
                e.start == e.end
                    && e.text.ends_with('\n')
                    && (e.start == 0 || old[..e.start].ends_with('\n'))
            });
            let unique = |t: &str| {
                let mut lines: Vec<&str> = t.split_inclusive('\n').collect();
                let n = lines.len();
                lines.sort();
                lines.dedup();
                lines.len() == n
            };
            if lines_only && unique(&n) {
                assert_eq!(got, unified("f", &o, &n), "old {old:?} edits {edits:?}");
            }
        }
    }

    /// Applies a unified diff of one file (as `patch` would), for tests.
    fn apply_patch(old: &str, patch: &[u8]) -> String {
        let text = String::from_utf8(patch.to_vec()).unwrap();
        let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
        let mut out = String::new();
        let mut oi = 0;
        let mut lines = text.split_inclusive('\n').skip(2).peekable();
        let mut last: Option<char> = None;
        while let Some(l) = lines.next() {
            if let Some(h) = l.strip_prefix("@@ -") {
                let a = h.split([',', ' ']).next().unwrap();
                let start: usize = a.parse().unwrap();
                let len_old_zero = h.split(' ').next().unwrap().ends_with(",0");
                let to = if len_old_zero { start } else { start - 1 };
                while oi < to {
                    out.push_str(old_lines[oi]);
                    oi += 1;
                }
                continue;
            }
            if l == "\\ No newline at end of file\n" {
                if last != Some('-') {
                    out.pop();
                }
                continue;
            }
            let (tag, body) = l.split_at(1);
            last = tag.chars().next();
            match tag {
                " " => {
                    out.push_str(body);
                    oi += 1;
                }
                "-" => oi += 1,
                "+" => out.push_str(body),
                _ => panic!("bad line {l:?}"),
            }
        }
        while oi < old_lines.len() {
            out.push_str(old_lines[oi]);
            oi += 1;
        }
        out
    }

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
