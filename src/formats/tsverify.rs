//! Verification of edits to TypeScript / JavaScript files on the syntax
//! tree: every token outside the edits comes back with the same kind, text
//! and ancestry; no edit lands inside a token (a string, a comment, a
//! template); the inserted text forms whole nodes (it cannot fuse with its
//! neighbours, as `'A'` glued before a template literal becomes a tagged
//! template call); the file still parses when it did.

use crate::finding::Edit;
use tree_sitter::{Node, Tree};

fn parse(rel: &str, text: &str) -> Option<Tree> {
    use crate::formats::treesitter::{with_parser, Grammar};
    with_parser(Grammar::for_script(rel), |p| {
        crate::formats::shell::parse_bounded(p, text)
    })
}

/// The leaves of a tree in document order, each with a hash of its
/// ancestry (the kinds of every node above it). One cursor walk: asking each
/// leaf for its parents costs a descent from the root per step.
fn leaves(root: Node<'_>) -> Vec<(Node<'_>, u64)> {
    fn mix(h: u64, kind: u16) -> u64 {
        (h ^ u64::from(kind))
            .wrapping_mul(0x100_0000_01b3)
            .rotate_left(5)
    }
    let mut out = Vec::new();
    let mut cursor = root.walk();
    let mut above: Vec<u64> = Vec::new();
    let mut h = 0u64;
    loop {
        let n = cursor.node();
        if n.child_count() == 0 {
            out.push((n, h));
        } else if cursor.goto_first_child() {
            above.push(h);
            h = mix(h, n.kind_id());
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return out;
            }
            h = above.pop().unwrap_or(0);
        }
    }
}

/// Checks `new` (the result of applying `edits` to `old`).
pub fn verify(rel: &str, old: &str, new: &str, edits: &[Edit]) -> Result<(), String> {
    let (Some(ot), Some(nt)) = (parse(rel, old), parse(rel, new)) else {
        return Err("the TypeScript parser failed".into());
    };
    let (or, nr) = (ot.root_node(), nt.root_node());
    if !or.has_error() && nr.has_error() {
        return Err("the edited file no longer parses".into());
    }
    // Inserted ranges in the new text.
    let mut inserted = Vec::new();
    let mut delta: isize = 0;
    for e in edits {
        let ns = (e.start as isize + delta) as usize;
        inserted.push((ns, ns + e.text.len()));
        delta += e.text.len() as isize - (e.end - e.start) as isize;
    }
    let old_leaves = leaves(or);
    for (l, _) in &old_leaves {
        for e in edits {
            let inside = l.start_byte() < e.start && e.start < l.end_byte();
            let overlaps = e.start < l.end_byte() && l.start_byte() < e.end;
            if inside || overlaps {
                return Err(format!(
                    "an edit falls inside `{}` at line {}",
                    l.kind(),
                    l.start_position().row + 1
                ));
            }
        }
    }
    // No node of the new tree straddles an inserted range.
    let mut stack = vec![nr];
    while let Some(n) = stack.pop() {
        let (s, e) = (n.start_byte(), n.end_byte());
        for &(is, ie) in &inserted {
            let overlaps = s < ie && is < e;
            let contains = s <= is && ie <= e;
            let inside = is <= s && e <= ie;
            if overlaps && !contains && !inside {
                return Err(format!(
                    "the inserted text fuses with the code around it (`{}` at line {})",
                    n.kind(),
                    n.start_position().row + 1
                ));
            }
        }
        let mut c = n.walk();
        stack.extend(n.children(&mut c));
    }
    let in_inserted = |n: &Node| {
        inserted
            .iter()
            .any(|&(is, ie)| is <= n.start_byte() && n.end_byte() <= ie && is < ie)
    };
    let kept_old: Vec<(&str, &str, u64)> = old_leaves
        .iter()
        .map(|(l, h)| (l.kind(), &old[l.byte_range()], *h))
        .collect();
    let kept_new: Vec<(&str, &str, u64)> = leaves(nr)
        .iter()
        .filter(|(l, _)| !in_inserted(l))
        .map(|(l, h)| (l.kind(), &new[l.byte_range()], *h))
        .collect();
    if kept_old.len() != kept_new.len() {
        return Err(format!(
            "the syntax outside the edit changed ({} tokens before, {} after)",
            kept_old.len(),
            kept_new.len()
        ));
    }
    for (a, b) in kept_old.iter().zip(&kept_new) {
        if a != b {
            return Err(format!(
                "the syntax outside the edit changed at `{}` (`{}`)",
                a.1, a.0
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ins(at: usize, text: &str) -> Edit {
        Edit {
            start: at,
            end: at,
            text: text.into(),
        }
    }

    fn check(old: &str, e: Edit) -> Result<(), String> {
        let new = crate::edit::apply(old, std::slice::from_ref(&e));
        verify("a.ts", old, &new, &[e])
    }

    #[test]
    fn a_string_glued_before_a_template_is_refused() {
        let old = "const requiredEnvVars = [`JWT_SECRET`];\n";
        let at = old.find('[').unwrap() + 1;
        assert!(check(old, ins(at, "'DATABASE_URL'")).is_err());
        assert!(check(old, ins(at, "'DATABASE_URL', ")).is_ok());
        let end = old.find(']').unwrap();
        assert!(check(old, ins(end, ", 'DATABASE_URL'")).is_ok());
    }

    #[test]
    fn an_insert_inside_a_comment_or_string_is_refused() {
        let old = "import a from 'a'; /* note\n still a comment */\nconst x = 1;\n";
        let at = old.find('\n').unwrap() + 1;
        assert!(check(old, ins(at, "const y = 2;\n")).is_err());
        let after = old.find("*/\n").unwrap() + 3;
        assert!(check(old, ins(after, "const y = 2;\n")).is_ok());
        let s = "const s = 'ab';\n";
        assert!(check(s, ins(12, "x")).is_err());
    }

    #[test]
    fn an_insert_that_changes_the_meaning_around_it_is_refused() {
        // Inserting an unclosed call swallows the next statement.
        let old = "const a = 1;\nconst b = 2;\n";
        assert!(check(old, ins(13, "f(\n")).is_err());
        assert!(check(old, ins(13, "f();\n")).is_ok());
    }

    #[test]
    fn a_token_that_moves_under_another_node_is_refused() {
        // Same tokens, new ancestry: `foo()` now runs only under a condition.
        let err = check("foo();\n", ins(0, "if (x) ")).unwrap_err();
        assert!(err.contains("syntax outside the edit changed"), "{err}");
        // A statement added beside it keeps its ancestry.
        assert!(check("foo();\n", ins(7, "bar();\n")).is_ok());
    }
}
