//! The edit engine: splice byte-range edits into a file's text, verify the
//! result, and write it atomically.
//!
//! Verification is independent of how the edits were computed: the result
//! must keep every byte outside the edited spans, use the file's own line
//! endings in inserted text, keep the final-newline state, re-parse in its
//! format, and (for YAML) parse to exactly the original value plus the
//! intended change. Anything else leaves the file untouched.

pub mod yaml_insert;

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use yaml_rust2::Yaml;

use crate::discover::FileKind;
use crate::finding::{Edit, Expect};
use crate::formats::yaml::{load_values, Value};
use crate::source::{Eol, SourceFile};

/// Byte offset just after 1-based `line` (0 for the top of the file; the
/// end of the text past the last line).
pub fn after_line(src: &SourceFile, line: usize) -> usize {
    if line == 0 {
        0
    } else if line >= src.line_count() {
        src.text.len()
    } else {
        src.line_start(line + 1)
    }
}

/// An edit inserting whole lines (each ending with the file's line ending)
/// at a line boundary. At the end of a file without a final newline the
/// line ending moves in front, so the file still ends without one.
pub fn insert_lines(src: &SourceFile, at: usize, lines: &str) -> Edit {
    let eol = src.eol.as_str();
    let text = if at == src.text.len() && !src.final_newline() && !src.text.is_empty() {
        format!("{eol}{}", lines.strip_suffix(eol).unwrap_or(lines))
    } else {
        lines.to_string()
    };
    Edit {
        start: at,
        end: at,
        text,
    }
}

/// Applies sorted, non-overlapping edits.
pub fn apply(text: &str, edits: &[Edit]) -> String {
    let mut out =
        String::with_capacity(text.len() + edits.iter().map(|e| e.text.len()).sum::<usize>());
    let mut pos = 0;
    for e in edits {
        out.push_str(&text[pos..e.start]);
        out.push_str(&e.text);
        pos = e.end;
    }
    out.push_str(&text[pos..]);
    out
}

/// Checks that edits are sorted, in bounds, on char boundaries and disjoint.
pub fn check_edits(text: &str, edits: &[Edit]) -> Result<(), String> {
    let mut last_end = 0;
    let mut last_insert_at = None;
    for e in edits {
        if e.start > e.end || e.end > text.len() {
            return Err(format!("edit {}..{} out of bounds", e.start, e.end));
        }
        if !text.is_char_boundary(e.start) || !text.is_char_boundary(e.end) {
            return Err(format!("edit {}..{} splits a character", e.start, e.end));
        }
        if e.start < last_end || (e.start == e.end && last_insert_at == Some(e.start)) {
            return Err(format!("edit at byte {} overlaps another edit", e.start));
        }
        if e.start == e.end {
            last_insert_at = Some(e.start);
        }
        last_end = e.end;
    }
    Ok(())
}

/// Verifies `new` against `src` and the intended change. `Ok` means it may
/// be written.
pub fn verify(
    src: &SourceFile,
    kind: FileKind,
    edits: &[Edit],
    new: &str,
    expects: &[Expect],
) -> Result<(), String> {
    check_edits(&src.text, edits)?;
    // 1. Every byte outside the edited spans is unchanged.
    let mut old_pos = 0;
    let mut new_pos = 0;
    for e in edits {
        let keep = e.start - old_pos;
        if src.text.get(old_pos..e.start) != new.get(new_pos..new_pos + keep) {
            return Err("bytes outside the edited spans changed".into());
        }
        new_pos += keep;
        if new.get(new_pos..new_pos + e.text.len()) != Some(e.text.as_str()) {
            return Err("edited span does not hold the intended text".into());
        }
        new_pos += e.text.len();
        old_pos = e.end;
    }
    if src.text.get(old_pos..) != new.get(new_pos..) {
        return Err("bytes after the last edit changed".into());
    }
    let converts_eol = expects.iter().any(|x| matches!(x, Expect::EolToLf));
    // 2. Inserted text uses the file's line endings.
    if !converts_eol {
        for e in edits {
            let crlf = e.text.matches("\r\n").count();
            let lf = e.text.matches('\n').count();
            let ok = match src.eol {
                Eol::Crlf => crlf == lf,
                Eol::Lf => crlf == 0,
            };
            if !ok {
                return Err(format!(
                    "inserted text does not use the file's {:?} line endings",
                    src.eol
                ));
            }
        }
    }
    // 3. Final-newline state.
    if new.ends_with('\n') != src.final_newline() {
        return Err("the final-newline state would change".into());
    }
    // 4. Re-parse and compare meaning.
    match kind {
        FileKind::Compose | FileKind::Workflow => verify_yaml(&src.text, new, expects),
        FileKind::Dockerfile => {
            // Every instruction the edits do not touch must come back
            // unchanged, in order (keyword, arguments, heredoc bodies).
            use crate::formats::dockerfile::parse_text;
            let old = parse_text(&src.text);
            let new_df = parse_text(new);
            let touched = |r: &std::ops::Range<usize>| touches(edits, r);
            let key = |t: &str, i: &crate::formats::dockerfile::Instruction| {
                let bodies: Vec<&str> = i.heredocs.iter().map(|h| &t[h.body.clone()]).collect();
                (i.keyword.clone(), i.args.clone(), bodies.concat())
            };
            let kept: Vec<_> = old
                .instructions
                .iter()
                .filter(|i| !touched(&i.span))
                .map(|i| key(&src.text, i))
                .collect();
            let mut it = new_df.instructions.iter().map(|i| key(new, i));
            for k in &kept {
                if !it.any(|n| n == *k) {
                    return Err(format!(
                        "the Dockerfile instruction `{} {}` changed or disappeared",
                        k.0,
                        k.1.trim()
                    ));
                }
            }
            Ok(())
        }
        FileKind::AppEntry | FileKind::AppModule => {
            // Syntax trees compared outside the edits (tokens, ancestry).
            crate::formats::tsverify::verify(&src.rel, &src.text, new, edits)
        }
        FileKind::Shell => {
            if converts_eol && new.contains("\r\n") {
                return Err("CRLF line endings left after the conversion".into());
            }
            let old = crate::formats::shell::parse(0, src);
            let probe = SourceFile::from_text(&src.rel, &src.abs, new, src.mode);
            let new_s = crate::formats::shell::parse(0, &probe);
            if let (None, Some(l)) = (old.parse_error_line, new_s.parse_error_line) {
                return Err(format!("the edited script no longer parses (line {l})"));
            }
            // Inserted lines start statements of their own: not inside a
            // heredoc body, a `\`-continued line or a string.
            let mut delta: isize = 0;
            for e in edits {
                let at = (e.start as isize + delta) as usize;
                delta += e.text.len() as isize - (e.end - e.start) as isize;
                if e.start != e.end {
                    continue;
                }
                let line_start = if at == 0 || new[..at].ends_with('\n') {
                    Some(at)
                } else {
                    e.text
                        .strip_prefix(src.eol.as_str())
                        .map(|_| at + src.eol.as_str().len())
                };
                let Some(p) = line_start else { continue };
                if let Some(s) = new_s.top_spans.iter().find(|s| s.start < p && p < s.end) {
                    let (l, _) = probe.line_col(s.start);
                    return Err(format!(
                        "the inserted line would land inside the statement of line {l} (a heredoc body, a continued line or a compound command)"
                    ));
                }
            }
            // Commands the edits do not touch come back unchanged, in order.
            let touched = |r: &std::ops::Range<usize>| touches(edits, r);
            let mut it = new_s
                .commands
                .iter()
                .map(|c| (c.name.clone(), c.args.clone()));
            for c in old.commands.iter().filter(|c| !touched(&c.span)) {
                let k = (c.name.clone(), c.args.clone());
                if !it.any(|n| n == k) {
                    return Err(format!("the command `{}` changed or disappeared", c.name));
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Whether an edit changes the text of `r`: a replacement overlapping it,
/// an insertion inside it or at its end, or one at its start that does not
/// end a line (a prefix such as `exec `).
fn touches(edits: &[Edit], r: &std::ops::Range<usize>) -> bool {
    edits.iter().any(|e| {
        if e.start == e.end {
            (r.start < e.start && e.start <= r.end)
                || (e.start == r.start && !e.text.ends_with('\n'))
        } else {
            e.start < r.end && r.start < e.end
        }
    })
}

/// Key positions of the mappings met while applying expectations, built
/// once per mapping (so that n expectations into one mapping of n keys cost
/// O(n), not O(n²)). Keyed by the mapping's path.
#[derive(Default)]
struct KeyIndex {
    maps: HashMap<Vec<String>, HashMap<String, usize>>,
}

fn key_of(k: &Value) -> Option<&str> {
    match k {
        Value::Scalar(Yaml::String(s), _) => Some(s),
        _ => None,
    }
}

impl KeyIndex {
    /// The entry index of `key` in the mapping at `prefix` (the last one
    /// when a key repeats, as loaders keep the last).
    fn find(&mut self, prefix: &[String], entries: &[(Value, Value)], key: &str) -> Option<usize> {
        let index = self.maps.entry(prefix.to_vec()).or_insert_with(|| {
            entries
                .iter()
                .enumerate()
                .filter_map(|(i, (k, _))| key_of(k).map(|s| (s.to_string(), i)))
                .collect()
        });
        index.get(key).copied()
    }

    fn added(&mut self, prefix: &[String], key: &str, at: usize) {
        if let Some(m) = self.maps.get_mut(prefix) {
            m.insert(key.to_string(), at);
        }
    }
}

/// The positions along `path` (entry index in mappings, item index in
/// sequences).
fn locate(doc: &Value, path: &[String], idx: &mut KeyIndex) -> Result<Vec<usize>, String> {
    let mut v = doc;
    let mut out = Vec::with_capacity(path.len());
    for (depth, p) in path.iter().enumerate() {
        let i = match v {
            Value::Map(entries, _) => idx
                .find(&path[..depth], entries, p)
                .ok_or_else(|| format!("key `{p}` not found while verifying"))?,
            Value::Seq(items, _) => p
                .parse::<usize>()
                .ok()
                .filter(|&i| i < items.len())
                .ok_or_else(|| format!("item `{p}` not found while verifying"))?,
            Value::Alias(_) => {
                return Err(format!(
                    "`{p}` is reached through an alias; editing it would change every alias"
                ))
            }
            _ => return Err(format!("`{p}` is not inside a mapping")),
        };
        v = match v {
            Value::Map(entries, _) => &entries[i].1,
            Value::Seq(items, _) => &items[i],
            _ => unreachable!(),
        };
        out.push(i);
    }
    Ok(out)
}

fn nav<'a>(
    doc: &'a mut Value,
    path: &[String],
    idx: &mut KeyIndex,
) -> Result<&'a mut Value, String> {
    let at = locate(doc, path, idx)?;
    let mut v = doc;
    for i in at {
        v = match v {
            Value::Map(entries, _) => &mut entries[i].1,
            Value::Seq(items, _) => &mut items[i],
            _ => unreachable!("located"),
        };
    }
    Ok(v)
}

/// The first document of a snippet.
fn snippet(text: &str) -> Result<Value, String> {
    load_values(text)
        .map_err(|e| format!("snippet: {e}"))?
        .into_iter()
        .next()
        .ok_or_else(|| "empty snippet".to_string())
}

fn verify_yaml(old: &str, new: &str, expects: &[Expect]) -> Result<(), String> {
    for (text, which) in [(old, "original"), (new, "edited")] {
        if let Some((line, c)) = crate::formats::yaml::foreign_line_break(text) {
            return Err(format!(
                "the {which} file holds U+{:04X} at line {line} outside a quoted string; YAML parsers disagree on whether it breaks the line (Compose would read another file than prodsafe), so it is not edited",
                c as u32
            ));
        }
    }
    let mut expected = load_values(old).map_err(|e| format!("original YAML: {e}"))?;
    let got = load_values(new).map_err(|e| format!("edited YAML does not parse: {e}"))?;
    // Anchor ids some alias refers to (in the original: an edit must not
    // change a node that is reused elsewhere).
    let mut alias_ids = std::collections::HashSet::new();
    {
        let mut stack: Vec<&Value> = expected.iter().collect();
        while let Some(v) = stack.pop() {
            match v {
                Value::Alias(a) => {
                    alias_ids.insert(*a);
                }
                Value::Seq(i, _) => stack.extend(i),
                Value::Map(e, _) => e.iter().for_each(|(k, x)| {
                    stack.push(k);
                    stack.push(x)
                }),
                Value::Scalar(..) => {}
            }
        }
    }
    let aliased = |_: &[Value], id: usize| id != 0 && alias_ids.contains(&id);
    let mut idx = KeyIndex::default();
    // Paths and indices name the original document: change values first,
    // then insert sequence items from the highest index down (equal
    // indices in the order given), so no insertion shifts another target.
    let mut ordered: Vec<&Expect> = expects
        .iter()
        .filter(|x| !matches!(x, Expect::YamlSeqItemInserted { .. }))
        .collect();
    let mut inserts: Vec<&Expect> = expects
        .iter()
        .filter(|x| matches!(x, Expect::YamlSeqItemInserted { .. }))
        .collect();
    inserts.sort_by_key(|x| match x {
        Expect::YamlSeqItemInserted { index, .. } => std::cmp::Reverse(*index),
        _ => std::cmp::Reverse(0),
    });
    ordered.extend(inserts);
    for x in ordered {
        let doc = expected.first_mut().ok_or("empty YAML document")?;
        match x {
            Expect::YamlKeyAdded { path, key, value } => {
                let val = match snippet(value)? {
                    Value::Map(entries, _) => entries
                        .into_iter()
                        .find(|(k, _)| matches!(k, Value::Scalar(Yaml::String(s), _) if s == key))
                        .map(|(_, v)| v),
                    _ => None,
                }
                .ok_or("snippet does not hold the key")?;
                let target = nav(doc, path, &mut idx)?;
                let anchor = target.anchor();
                if aliased(&got, anchor) {
                    return Err("the mapping is anchored and reused through an alias; editing it would change every alias".into());
                }
                match target {
                    Value::Map(entries, _) => {
                        if idx.find(path, entries, key).is_some() {
                            return Err(format!("`{key}` already exists"));
                        }
                        entries.push((Value::Scalar(Yaml::String(key.clone()), 0), val));
                        idx.added(path, key, entries.len() - 1);
                    }
                    _ => return Err("target is not a mapping".into()),
                }
            }
            Expect::YamlSeqItemInserted { path, index, value } => {
                let item = match snippet(value)? {
                    Value::Seq(items, _) => items.into_iter().next(),
                    _ => None,
                }
                .ok_or("snippet is not a one-item sequence")?;
                // Item positions shift: mappings below are indexed afresh.
                idx = KeyIndex::default();
                let target = nav(doc, path, &mut idx)?;
                if aliased(&got, target.anchor()) {
                    return Err("the sequence is anchored and reused through an alias; editing it would change every alias".into());
                }
                match target {
                    Value::Seq(a, _) if *index <= a.len() => a.insert(*index, item),
                    _ => return Err("target is not a sequence".into()),
                }
            }
            Expect::YamlValueSet { path, value } => {
                let mut v = load_values(value)
                    .map_err(|e| format!("snippet: {e}"))?
                    .into_iter()
                    .next()
                    .unwrap_or(Value::Scalar(Yaml::Null, 0));
                let old_anchor = nav(doc, path, &mut idx)?.anchor();
                if old_anchor != 0 {
                    // The anchor stays in the text in front of the new value.
                    if aliased(&[], old_anchor) {
                        return Err("the value is anchored and reused through an alias; editing it would change every alias".into());
                    }
                    match &mut v {
                        Value::Scalar(_, a) | Value::Seq(_, a) | Value::Map(_, a) => {
                            *a = old_anchor
                        }
                        Value::Alias(_) => {}
                    }
                }
                *nav(doc, path, &mut idx)? = v;
            }
            Expect::Reparse | Expect::EolToLf => {}
        }
    }
    if expected.len() != got.len() || !expected.iter().zip(&got).all(|(a, b)| a.same(b)) {
        return Err(
            "the edited YAML does not parse to the original plus the intended change".into(),
        );
    }
    Ok(())
}

/// Writes the verified new content of a file read as `src`:
/// - refuses when the file changed on disk since it was read (size,
///   modification time, content hash, checked just before the rename), so
///   an edit made meanwhile is never lost;
/// - a file with more than one hard link is written in place, so every link
///   sees the new content (a rename would detach this name from the others);
/// - otherwise atomically (temp file in the same folder, then rename),
///   keeping the mode and, where permitted, the owner.
///
/// Errors name the file with its root (`src.abs`).
pub fn write_source(src: &SourceFile, content: &[u8]) -> Result<(), String> {
    let path = &src.abs;
    let shown = path.display();
    let unchanged = || -> Result<(), String> {
        match (&src.stamp, crate::source::Stamp::now(path)) {
            (Some(was), Ok(now)) if *was != now => Err(format!(
                "{shown}: changed on disk since prodsafe read it; left as it is (run `prodsafe fix` again)"
            )),
            (_, Err(e)) => Err(format!("{shown}: cannot read before writing: {e}")),
            _ => Ok(()),
        }
    };
    let meta =
        std::fs::symlink_metadata(path).map_err(|e| format!("{shown}: cannot write: {e}"))?;
    if meta.file_type().is_symlink() {
        return Err(format!("{shown}: is a symlink; not written"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if meta.nlink() > 1 {
            unchanged()?;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(path)
                .map_err(|e| format!("{shown}: cannot write: {e}"))?;
            f.write_all(content)
                .and_then(|_| f.sync_all())
                .map_err(|e| format!("{shown}: cannot write in place (hard-linked): {e}"))?;
            return Ok(());
        }
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let werr = |e: std::io::Error| format!("{shown}: cannot write: {e}");
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(werr)?;
    tmp.write_all(content).map_err(werr)?;
    tmp.as_file().sync_all().map_err(werr)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let mode = if src.mode != 0 { src.mode } else { meta.mode() };
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode & 0o7777))
            .map_err(werr)?;
        // Keep the owner where permitted (root, or a group the user is in).
        let _ = std::os::unix::fs::fchown(tmp.as_file(), Some(meta.uid()), Some(meta.gid()))
            .or_else(|_| std::os::unix::fs::fchown(tmp.as_file(), None, Some(meta.gid())));
    }
    unchanged()?;
    tmp.persist(path).map_err(|e| werr(e.error))?;
    Ok(())
}

/// Writes `content` to `path` atomically (temp file in the same folder, then
/// rename), keeping the file mode.
pub fn write_atomic(path: &Path, content: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(content)?;
    tmp.as_file().sync_all()?;
    #[cfg(unix)]
    if mode != 0 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode & 0o7777))?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn check(kind: FileKind, text: &str, edit: Edit, expects: &[Expect]) -> Result<(), String> {
        let src = SourceFile::from_text("f", Path::new("f"), text, 0o644);
        let edits = vec![edit];
        let new = apply(&src.text, &edits);
        verify(&src, kind, &edits, &new, expects)
    }

    #[test]
    fn an_insert_that_swallows_the_next_instruction_is_refused() {
        let text = "FROM node:20\nCMD [\"node\", \"x.js\"]\n";
        let ok = check(
            FileKind::Dockerfile,
            text,
            Edit {
                start: 13,
                end: 13,
                text: "USER node\n".into(),
            },
            &[Expect::Reparse],
        );
        assert!(ok.is_ok(), "{ok:?}");
        let bad = check(
            FileKind::Dockerfile,
            text,
            Edit {
                start: 13,
                end: 13,
                text: "RUN echo \\\n".into(),
            },
            &[Expect::Reparse],
        );
        assert!(bad.unwrap_err().contains("CMD"));
    }

    #[test]
    fn a_script_edit_that_swallows_commands_is_refused() {
        let text = "#!/bin/sh\nset -e\necho a\nexec node x.js\n";
        let bad = check(
            FileKind::Shell,
            text,
            Edit {
                start: 17,
                end: 17,
                text: "cat <<EOF\n".into(),
            },
            &[Expect::Reparse],
        );
        assert!(bad.is_err(), "heredoc swallowing the rest must be refused");
    }

    #[test]
    fn a_line_inserted_into_a_heredoc_or_continuation_is_refused() {
        for (text, at) in [
            (
                "#!/bin/sh\nset -e; cat > f <<EOF\nhello\nEOF\nexec node x\n",
                32,
            ),
            ("#!/bin/sh\nset -e; echo a \\\n  b\nexec node x\n", 27),
        ] {
            let bad = check(
                FileKind::Shell,
                text,
                Edit {
                    start: at,
                    end: at,
                    text: ": \"${X:?X is required}\"\n".into(),
                },
                &[Expect::Reparse],
            );
            assert!(
                bad.as_ref()
                    .is_err_and(|e| e.contains("inside the statement of line 2")),
                "{text:?}: {bad:?}"
            );
        }
    }

    #[test]
    fn line_endings_and_final_newline_are_enforced() {
        let crlf = "a: 1\r\nb: 2\r\n";
        let bad = check(
            FileKind::Compose,
            crlf,
            Edit {
                start: 6,
                end: 6,
                text: "c: 3\n".into(),
            },
            &[],
        );
        assert!(bad.unwrap_err().contains("line endings"));
        let no_nl = "a: 1";
        let bad = check(
            FileKind::Compose,
            no_nl,
            Edit {
                start: 4,
                end: 4,
                text: "\n".into(),
            },
            &[],
        );
        assert!(bad.unwrap_err().contains("final-newline"));
        let changed = check(
            FileKind::Compose,
            "a: 1\n",
            Edit {
                start: 3,
                end: 4,
                text: "2".into(),
            },
            &[],
        );
        assert!(changed
            .unwrap_err()
            .contains("original plus the intended change"));
    }
}
