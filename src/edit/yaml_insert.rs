//! Appending a key to a block mapping, in the file's own style.

use crate::edit::{after_line, insert_lines};
use crate::finding::{Edit, Expect};
use crate::formats::yaml::{Kind, Node, YamlDoc};
use crate::source::SourceFile;
use crate::templates::reindent_yaml;

/// Moved to the YAML model (computed once at parse).
pub use crate::formats::yaml::indent_unit;

/// Builds the edit that appends `snippet` (a two-space-indented YAML mapping
/// with one key, e.g. `healthcheck:\n  test: ...`) as the last key of `map`.
pub fn append_key(
    src: &SourceFile,
    doc: &YamlDoc,
    map: &Node,
    path: Vec<String>,
    key: &str,
    snippet: &str,
) -> Result<(Edit, Expect), String> {
    if map.anchor != 0 && doc.aliased.contains(&map.anchor) {
        return Err("the mapping is anchored and reused through an alias; editing it would change every alias".into());
    }
    let expect = Expect::YamlKeyAdded {
        path: path.clone(),
        key: key.to_string(),
        value: snippet.to_string(),
    };
    if map.flow {
        // `{a: 1}`: insert `, key: <value in flow style>` before the brace.
        let value = crate::formats::yaml::load_value(snippet)?
            .into_iter()
            .next()
            .and_then(|v| v.into_hash())
            .and_then(|h| h.into_iter().next())
            .ok_or("snippet is not a one-key mapping")?
            .1;
        let end =
            crate::formats::yaml::flow_end(&src.text, map.start).ok_or("unclosed flow mapping")?;
        let sep = if map.entries().is_empty() { "" } else { ", " };
        let at = end - 1;
        return Ok((
            Edit {
                start: at,
                end: at,
                text: format!("{sep}{key}: {}", crate::formats::yaml::to_flow(&value)),
            },
            expect,
        ));
    }
    if !map.is_map() || map.entries().is_empty() {
        return Err("the value is not a block mapping".into());
    }
    let base = map.col;
    let unit = doc.indent_unit;
    let eol = src.eol.as_str();
    let text = reindent_yaml(snippet, base, unit, eol);
    let at = after_line(src, map.end_line);
    if at == src.text.len() && !src.final_newline() && ends_in_block_scalar(doc, map) {
        // `MOTD: |` + `hello` at the end of a file without a final newline:
        // a line after it would give the value a line break it does not
        // have. Insert before the last key instead (mappings are unordered).
        let (k, _) = map.entries().last().expect("not empty");
        let line = src.line_text(k.line);
        if line.chars().take(k.col).all(|c| c == ' ') {
            return Ok((
                Edit {
                    start: src.line_start(k.line),
                    end: src.line_start(k.line),
                    text,
                },
                expect,
            ));
        }
        return Err(BLOCK_AT_EOF.into());
    }
    Ok((insert_lines(src, at, &text), expect))
}

const BLOCK_AT_EOF: &str = "the last value is a block scalar that ends the file without a final newline; a line after it would add a line break to its value";

/// Whether the node's text ends with a block scalar (`|`, `>`) as its
/// last value, at any depth.
fn ends_in_block_scalar(doc: &YamlDoc, n: &Node) -> bool {
    let mut cur = n;
    for _ in 0..crate::formats::yaml::MAX_DEPTH {
        cur = match &cur.kind {
            Kind::Map(e) if !cur.flow && !e.is_empty() => &e[e.len() - 1].1,
            Kind::Seq(i) if !cur.flow && !i.is_empty() => &i[i.len() - 1],
            Kind::Scalar { style, .. } => {
                return matches!(
                    style,
                    yaml_rust2::scanner::TScalarStyle::Literal
                        | yaml_rust2::scanner::TScalarStyle::Folded
                )
            }
            _ => return false,
        };
    }
    let _ = doc;
    false
}

/// Builds the edit that inserts `snippet` (a two-space-indented YAML
/// sequence with one item, `- key: ...`) after item `after` of the block
/// sequence `seq`, in the file's own style (indented or indentless dashes).
pub fn insert_seq_item_after(
    src: &SourceFile,
    doc: &YamlDoc,
    seq: &Node,
    after: usize,
    path: Vec<String>,
    snippet: &str,
) -> Result<(Edit, Expect), String> {
    let item = seq.items().get(after).ok_or("no such item")?;
    let expect = Expect::YamlSeqItemInserted {
        path: path.clone(),
        index: after + 1,
        value: snippet.to_string(),
    };
    if seq.flow {
        // `[a, {b}]`: insert `, <item in flow style>` right after the item.
        let value = crate::formats::yaml::load_value(snippet)?
            .into_iter()
            .next()
            .and_then(|v| v.into_vec())
            .and_then(|v| v.into_iter().next())
            .ok_or("snippet is not a one-item sequence")?;
        let end = match &item.kind {
            Kind::Map(_) | Kind::Seq(_) if item.flow => {
                crate::formats::yaml::flow_end(&src.text, item.start)
            }
            _ => None,
        }
        .ok_or("the item before the insertion point is not a flow collection")?;
        return Ok((
            Edit {
                start: end,
                end,
                text: format!(", {}", crate::formats::yaml::to_flow(&value)),
            },
            expect,
        ));
    }
    let line = src.line_text(item.line);
    let upto: String = line.chars().take(item.col).collect();
    let dash = upto.rfind('-').ok_or("cannot find the item's dash")?;
    let dash_col = upto[..dash].chars().count();
    let key_col = if item.is_map() {
        item.col
    } else {
        dash_col + 2
    };
    let unit = doc.indent_unit;
    let eol = src.eol.as_str();
    let mut text = String::new();
    for (i, l) in snippet.lines().enumerate() {
        let t = l.trim_start_matches(' ');
        if t.is_empty() {
            text.push_str(eol);
            continue;
        }
        let level = (l.len() - t.len()) / 2;
        let col = if i == 0 {
            dash_col
        } else {
            key_col + level.saturating_sub(1) * unit
        };
        text.push_str(&" ".repeat(col));
        text.push_str(t);
        text.push_str(eol);
    }
    let at = after_line(src, item.end_line);
    if at == src.text.len() && !src.final_newline() && ends_in_block_scalar(doc, item) {
        return Err(BLOCK_AT_EOF.into());
    }
    Ok((insert_lines(src, at, &text), expect))
}
