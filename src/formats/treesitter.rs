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

#[cfg(test)]
mod tests {
    use super::*;

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
