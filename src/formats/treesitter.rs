//! tree-sitter parsers, one per grammar and thread, reused across files
//! (a parser allocates its stacks and lexer once instead of per file).

use std::cell::RefCell;

use tree_sitter::{Parser, Tree};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grammar {
    Bash,
    TypeScript,
    Tsx,
}

impl Grammar {
    /// TSX for `.tsx`/`.jsx` files, TypeScript (a superset of the JS the
    /// apps use) otherwise.
    pub fn for_script(rel: &str) -> Grammar {
        if rel.ends_with(".tsx") || rel.ends_with(".jsx") {
            Grammar::Tsx
        } else {
            Grammar::TypeScript
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    fn language(self) -> tree_sitter::Language {
        match self {
            Grammar::Bash => tree_sitter_bash::LANGUAGE.into(),
            Grammar::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Grammar::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
        }
    }
}

thread_local! {
    static PARSERS: RefCell<[Option<Parser>; 3]> = const { RefCell::new([None, None, None]) };
}

/// Runs `f` with this thread's parser for `grammar`. A parse that returned
/// no tree (cancelled) leaves the parser reset for the next file. Re-entrant
/// use on one thread gets a fresh parser.
pub fn with_parser<R>(grammar: Grammar, f: impl FnOnce(&mut Parser) -> R) -> R {
    let fresh = || {
        let mut p = Parser::new();
        p.set_language(&grammar.language())
            .expect("bundled tree-sitter grammar loads");
        p
    };
    PARSERS.with(|cell| match cell.try_borrow_mut() {
        Ok(mut slots) => {
            let p = slots[grammar.index()].get_or_insert_with(fresh);
            let r = f(p);
            p.reset();
            r
        }
        Err(_) => f(&mut fresh()),
    })
}

/// Parses `text` with this thread's parser (no time budget: for short
/// snippets the caller already holds in memory).
pub fn parse(grammar: Grammar, text: &str) -> Option<Tree> {
    with_parser(grammar, |p| p.parse(text, None))
}

/// A node's kind, as [`tree_sitter::Node::kind`] gives it, from a table
/// per grammar built once: `Node::kind` measures the C string and checks
/// its UTF-8 on every call, and the walks over TypeScript ask for kinds on
/// every node. The grammar is told apart by its number of kinds (checked
/// distinct when the tables are built; else this falls back to
/// `Node::kind`).
pub fn kind<'t>(n: impl std::borrow::Borrow<tree_sitter::Node<'t>>) -> &'static str {
    let n = *n.borrow();
    type Tables = Vec<(usize, Vec<&'static str>)>;
    static TABLES: std::sync::OnceLock<Tables> = std::sync::OnceLock::new();
    let tables = TABLES.get_or_init(|| {
        let mut v: Tables = [Grammar::Bash, Grammar::TypeScript, Grammar::Tsx]
            .iter()
            .map(|g| {
                let l = g.language();
                let count = l.node_kind_count();
                let names = (0..count)
                    .map(|id| l.node_kind_for_id(id as u16).unwrap_or(""))
                    .collect();
                (count, names)
            })
            .collect();
        let mut counts: Vec<usize> = v.iter().map(|(c, _)| *c).collect();
        counts.sort_unstable();
        counts.dedup();
        if counts.len() != v.len() {
            v.clear();
        }
        v
    });
    let count = n.language().node_kind_count();
    tables
        .iter()
        .find(|(c, _)| *c == count)
        .and_then(|(_, names)| names.get(n.kind_id() as usize).copied())
        .unwrap_or_else(|| n.kind())
}

/// Every node of a tree from one cursor walk, for the analyses that each
/// used to walk the whole tree: document order (pre-order), each node's
/// parent, and the order a stack walk visits them.
pub struct TreeIndex<'t> {
    /// Pre-order (document order); the root first.
    pub nodes: Vec<tree_sitter::Node<'t>>,
    /// Index of each node's parent in `nodes` (the root's is 0).
    pub parent: Vec<u32>,
    /// Indexes into `nodes` in the order of a stack walk (pop a node, push
    /// its children first to last): the reverse of post-order.
    pub stack_order: Vec<u32>,
}

impl<'t> TreeIndex<'t> {
    pub fn new(root: tree_sitter::Node<'t>) -> TreeIndex<'t> {
        let mut nodes = Vec::new();
        let mut parent = Vec::new();
        let mut post = Vec::new();
        // Indexes of the current node's ancestors, and of itself.
        let mut path: Vec<u32> = Vec::new();
        let mut cur = root.walk();
        'down: loop {
            let i = nodes.len() as u32;
            nodes.push(cur.node());
            parent.push(path.last().copied().unwrap_or(0));
            path.push(i);
            if cur.goto_first_child() {
                continue;
            }
            loop {
                post.push(path.pop().expect("the current node is on the path"));
                if cur.goto_next_sibling() {
                    continue 'down;
                }
                if !cur.goto_parent() {
                    post.reverse();
                    return TreeIndex {
                        nodes,
                        parent,
                        stack_order: post,
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every node of `root`'s tree (itself included), in the order a stack
    /// walk visits them (pop a node, push its children first to last: the
    /// node, then its children's subtrees last to first), each with the
    /// context `inside` gives its children (`init` for `root`). One cursor
    /// walk (the reverse of post-order) instead of a `children()` iteration
    /// and a stack push per node.
    fn stack_order<'t, C: Copy>(
        root: tree_sitter::Node<'t>,
        init: C,
        inside: impl Fn(C, tree_sitter::Node<'t>) -> C,
    ) -> Vec<(tree_sitter::Node<'t>, C)> {
        let mut post = Vec::new();
        let mut ctx = vec![init];
        let mut cur = root.walk();
        'down: loop {
            let here = *ctx.last().expect("the root's context stays");
            let node = cur.node();
            if cur.goto_first_child() {
                ctx.push(inside(here, node));
                continue;
            }
            post.push((node, here));
            loop {
                if cur.goto_next_sibling() {
                    continue 'down;
                }
                if !cur.goto_parent() {
                    post.reverse();
                    return post;
                }
                ctx.pop();
                post.push((cur.node(), *ctx.last().expect("the root's context stays")));
            }
        }
    }

    /// The index lists every node once in document order with its parent,
    /// and the stack order is [`stack_order`]'s.
    #[test]
    fn tree_index_agrees_with_the_walks() {
        for (g, text) in [
            (Grammar::TypeScript, "const a = f(1, [2, {b: 3}]);\nfunction g() { if (x) { return () => y; } }\nclass C { m() {} }\n"),
            (Grammar::Bash, "a && b | c; if x; then y; fi"),
            (Grammar::TypeScript, ""),
        ] {
            let tree = parse(g, text).unwrap();
            let ix = TreeIndex::new(tree.root_node());
            let stack: Vec<_> = stack_order(tree.root_node(), (), |(), _| ())
                .into_iter()
                .map(|(n, ())| n.id())
                .collect();
            let via_index: Vec<_> = ix.stack_order.iter().map(|&i| ix.nodes[i as usize].id()).collect();
            assert_eq!(via_index, stack);
            let mut pre = Vec::new();
            let mut st = vec![tree.root_node()];
            while let Some(n) = st.pop() {
                pre.push(n.id());
                let mut c = n.walk();
                let kids: Vec<_> = n.children(&mut c).collect();
                st.extend(kids.into_iter().rev());
            }
            assert_eq!(ix.nodes.iter().map(|n| n.id()).collect::<Vec<_>>(), pre);
            for (i, n) in ix.nodes.iter().enumerate().skip(1) {
                assert_eq!(Some(ix.nodes[ix.parent[i] as usize].id()), n.parent().map(|p| p.id()));
            }
        }
    }

    /// The same nodes, in the same order and with the same contexts, as
    /// the stack walk it replaces.
    #[test]
    fn stack_order_is_the_stack_walk() {
        for (g, text) in [
            (Grammar::TypeScript, "const a = f(1, [2, {b: 3}]);\nfunction g() { if (x) { return () => y; } }\nclass C { m() {} }\n"),
            (Grammar::Bash, "a && b | c; if x; then y; fi"),
            (Grammar::TypeScript, ""),
        ] {
            let tree = parse(g, text).unwrap();
            let depth = |d: usize, _n: tree_sitter::Node| d + 1;
            let got: Vec<(std::ops::Range<usize>, &str, usize)> =
                stack_order(tree.root_node(), 0usize, depth)
                    .into_iter()
                    .map(|(n, d)| (n.byte_range(), n.kind(), d))
                    .collect();
            let mut want = Vec::new();
            let mut stack = vec![(tree.root_node(), 0usize)];
            while let Some((n, d)) = stack.pop() {
                want.push((n.byte_range(), n.kind(), d));
                let mut c = n.walk();
                stack.extend(n.children(&mut c).map(|k| (k, d + 1)));
            }
            assert_eq!(got, want, "{text}");
        }
    }

    /// The table gives what `Node::kind` gives, on every node of sample
    /// TypeScript, TSX and shell (named, anonymous, aliased, errors).
    #[test]
    fn kind_table_agrees_with_node_kind() {
        let samples = [
            (Grammar::TypeScript, "import x from 'y';\nconst a = process.env.A ?? 3000;\n@Controller('h') class C { @Get() f() { return 1 } }\nif (!a) throw new Error(`x ${a}`);\nfoo(<T>(b), c => c);\n) broken {"),
            (Grammar::Tsx, "export default function A() { return <div a={1}>x</div>; }\nlet t = <T,>(x: T) => x;"),
            (Grammar::Bash, "#!/bin/sh\nset -eu\nif [ -f x ]; then exec node \"$@\"; fi\ncat <<EOF\nhi\nEOF\nfor i in 1 2; do echo $((i+1)); done\n(("),
        ];
        let mut seen = 0;
        for (g, text) in samples {
            let tree = parse(g, text).unwrap();
            let mut cur = tree.walk();
            'walk: loop {
                let n = cur.node();
                assert_eq!(kind(n), n.kind(), "{g:?} at {:?}", n.byte_range());
                seen += 1;
                if cur.goto_first_child() {
                    continue;
                }
                loop {
                    if cur.goto_next_sibling() {
                        continue 'walk;
                    }
                    if !cur.goto_parent() {
                        break 'walk;
                    }
                }
            }
        }
        assert!(seen > 150, "{seen} nodes");
    }

    #[test]
    fn reused_parsers_give_the_same_trees_as_fresh_ones() {
        let texts = ["echo hi && exec node a.js", "if [ -f x ]; then", "a=1 b"];
        for _ in 0..3 {
            for t in texts {
                let mut p = Parser::new();
                p.set_language(&Grammar::Bash.language()).unwrap();
                let fresh = p.parse(t, None).unwrap().root_node().to_sexp();
                let reused = parse(Grammar::Bash, t).unwrap().root_node().to_sexp();
                assert_eq!(fresh, reused);
            }
        }
        let ts = parse(Grammar::TypeScript, "const a: number = 1;").unwrap();
        assert!(!ts.root_node().has_error());
        // Nested use on one thread works (a fresh parser).
        let inner = with_parser(Grammar::Bash, |_| parse(Grammar::Bash, "ls").is_some());
        assert!(inner);
    }
}
