//! POSIX shell scripts through tree-sitter-bash: commands (never the text of
//! heredoc bodies, strings or comments), `set` flags, variable expansions
//! and whether each is guarded, assignments, and bash-only syntax.

use std::ops::Range;

use crate::source::SourceFile;

#[derive(Debug, Clone)]
pub struct SetCmd {
    /// The whole `set ...` command.
    pub span: Range<usize>,
    pub line: usize,
    pub errexit: bool,
    pub nounset: bool,
    pub pipefail: bool,
    /// The flag words (`-ex`, `-o errexit`) with their spans.
    pub words: Vec<(String, Range<usize>)>,
}

#[derive(Debug, Clone)]
pub struct Cmd {
    pub name: String,
    /// Byte offset of the command name (after any `VAR=value` prefixes).
    pub name_start: usize,
    pub args: Vec<String>,
    /// The simple command.
    pub span: Range<usize>,
    /// The whole top-level statement holding it (list, pipeline,
    /// redirection...).
    pub stmt_span: Range<usize>,
    pub line: usize,
    /// The statement is a plain command directly under the program.
    pub top_level_simple: bool,
    pub in_function: bool,
}

/// Where a node sits in the control flow: the conditional branches (and
/// subshells) around it, each as (construct node id, branch id). An
/// assignment reaches a use only if every branch around the assignment also
/// surrounds the use.
pub type Branches = Vec<(usize, usize)>;

#[derive(Debug, Clone)]
pub struct Expansion {
    pub name: String,
    pub guarded: bool,
    pub offset: usize,
    pub line: usize,
    pub branches: Branches,
}

#[derive(Debug, Clone)]
pub struct Assignment {
    pub name: String,
    /// Byte offset from which the variable is set.
    pub offset: usize,
    pub branches: Branches,
}

impl Assignment {
    /// Whether this assignment has run on every path that reaches `e`.
    pub fn reaches(&self, e: &Expansion) -> bool {
        self.offset < e.offset && self.branches.iter().all(|b| e.branches.contains(b))
    }
}

/// Deeper syntax trees are not walked (a clear parse error instead of a
/// stack overflow on hostile input).
pub const MAX_DEPTH: usize = 400;

#[derive(Debug, Clone, Default)]
pub struct Script {
    pub file: usize,
    /// `#!/bin/sh -e` -> ("/bin/sh", "sh", ["-e"])
    pub shebang: Option<(String, String, Vec<String>)>,
    pub crlf: bool,
    pub sets: Vec<SetCmd>,
    pub commands: Vec<Cmd>,
    pub expansions: Vec<Expansion>,
    /// Every assignment, `read`, `for`, `export X=`, `local`, getopts (not
    /// `X=1 cmd`, which sets X for `cmd` only).
    pub assigned: Vec<Assignment>,
    /// Names of the functions the script defines.
    pub functions: Vec<String>,
    /// Names of the aliases the script defines.
    pub aliases: Vec<String>,
    /// Byte ranges of the top-level statements (comments excluded), heredoc
    /// bodies and continuation lines included.
    pub top_spans: Vec<Range<usize>>,
    pub bashisms: Vec<(String, usize)>,
    /// Index in `commands` of the last top-level statement's command.
    pub last_statement: Option<usize>,
    pub parse_error_line: Option<usize>,
}

const SPECIAL: &[&str] = &["@", "*", "#", "?", "$", "!", "0", "-", "_"];

impl Script {
    pub fn errexit(&self) -> bool {
        self.sets.iter().any(|s| s.errexit)
            || self
                .shebang
                .as_ref()
                .is_some_and(|(_, _, a)| a.iter().any(|x| x.starts_with('-') && x.contains('e')))
    }

    /// Variables an `-u` shell would abort on: expanded without a guard,
    /// never assigned before use, and not known to be set (`known`).
    pub fn unguarded(&self, known: &dyn Fn(&str) -> bool) -> Vec<(String, usize)> {
        let mut out: Vec<(String, usize)> = Vec::new();
        for e in &self.expansions {
            if e.guarded || SPECIAL.contains(&e.name.as_str()) || known(&e.name) {
                continue;
            }
            if self
                .assigned
                .iter()
                .any(|a| a.name == e.name && a.reaches(e))
            {
                continue;
            }
            if !out.iter().any(|(n, _)| *n == e.name) {
                out.push((e.name.clone(), e.line));
            }
        }
        out
    }
}

impl Script {
    /// The first line start at or after `offset` that lies between
    /// top-level statements (never inside a heredoc body, a continued line
    /// or a compound command): where whole lines can be inserted.
    pub fn boundary_at_or_after(&self, src: &SourceFile, offset: usize) -> usize {
        let mut p = offset;
        loop {
            let inside = self.top_spans.iter().find(|s| s.start < p && p < s.end);
            match inside {
                Some(s) => {
                    let last = src.line_col(s.end.saturating_sub(1)).0;
                    // The start of the line after `last` (or the end).
                    p = if last >= src.line_count() {
                        src.text.len()
                    } else {
                        src.line_start(last + 1)
                    };
                }
                None => return p,
            }
        }
    }

    /// Whether `name` is a function or alias the script defines.
    pub fn defines(&self, name: &str) -> bool {
        self.functions.iter().any(|f| f == name) || self.aliases.iter().any(|a| a == name)
    }
}

/// Shell builtins (POSIX special and regular builtins, and the common
/// dash/bash/busybox ones): `exec` cannot run them.
pub fn is_builtin(name: &str) -> bool {
    matches!(
        name,
        "alias"
            | "bg"
            | "break"
            | "cd"
            | "command"
            | "continue"
            | "eval"
            | "exec"
            | "exit"
            | "export"
            | "fc"
            | "fg"
            | "getopts"
            | "hash"
            | "jobs"
            | "local"
            | "newgrp"
            | "pwd"
            | "read"
            | "readonly"
            | "return"
            | "set"
            | "shift"
            | "times"
            | "trap"
            | "type"
            | "ulimit"
            | "umask"
            | "unalias"
            | "unset"
            | "wait"
            | "."
            | ":"
            | "source"
            | "let"
            | "declare"
            | "typeset"
            | "builtin"
            | "enable"
            | "shopt"
            | "pushd"
            | "popd"
            | "dirs"
            | "disown"
            | "suspend"
            | "mapfile"
            | "readarray"
    )
}

/// Variables every container has.
pub fn always_set(name: &str) -> bool {
    matches!(
        name,
        "HOME" | "PATH" | "HOSTNAME" | "PWD" | "IFS" | "PPID" | "OPTIND" | "PS4"
    )
}

fn text<'a>(n: tree_sitter::Node, src: &'a str) -> &'a str {
    &src[n.byte_range()]
}

/// Unquotes a shell word well enough to read command names and arguments.
fn unquote(s: &str) -> String {
    s.trim_matches(|c| c == '"' || c == '\'').to_string()
}

struct Walker<'a> {
    src: &'a SourceFile,
    out: Script,
    /// The branches around the node being walked.
    branches: Branches,
    depth: usize,
}

/// The branch a child opens inside its parent, if running the parent does
/// not always run the child (or the child runs in a subshell).
fn branch_of(
    parent: tree_sitter::Node,
    idx: usize,
    child: tree_sitter::Node,
) -> Option<(usize, usize)> {
    let field = parent.field_name_for_child(idx as u32);
    let pid = parent.id();
    match parent.kind() {
        "if_statement" => match (field, child.kind()) {
            (Some("condition"), _) => None,
            (_, "elif_clause" | "else_clause") => Some((pid, child.id())),
            _ => Some((pid, 0)),
        },
        "while_statement" | "until_statement" | "for_statement" | "c_style_for_statement" => {
            match field {
                Some("body") | Some("update") => Some((pid, 1)),
                Some("condition") if parent.kind() == "c_style_for_statement" => None,
                _ => None,
            }
        }
        "case_statement" if child.kind() == "case_item" => Some((pid, child.id())),
        // `a && b`, `a || b`: the right side may not run.
        "list" if idx > 0 && child.is_named() => Some((pid, child.id())),
        "pipeline" if child.is_named() => Some((pid, child.id())),
        "function_definition" if field == Some("body") => Some((pid, 0)),
        "subshell" | "command_substitution" | "process_substitution" => Some((pid, 0)),
        _ => None,
    }
}

impl Walker<'_> {
    fn walk(&mut self, n: tree_sitter::Node, stmt: Range<usize>, top_simple: bool, in_fn: bool) {
        let s = &self.src.text;
        if self.depth >= MAX_DEPTH {
            self.out
                .parse_error_line
                .get_or_insert(n.start_position().row + 1);
            return;
        }
        match n.kind() {
            "heredoc_body" if !has_expansions(n) => return,
            "function_definition" => {
                if let Some(name) = n.child_by_field_name("name") {
                    self.out.functions.push(text(name, s).to_string());
                }
                if text(n, s).trim_start().starts_with("function") {
                    self.out
                        .bashisms
                        .push(("`function` keyword".into(), n.start_byte()));
                }
                self.walk_children(n, stmt, false, true);
                return;
            }
            "test_command" if text(n, s).starts_with("[[") => {
                self.out
                    .bashisms
                    .push(("`[[ ... ]]` test".into(), n.start_byte()));
            }
            "array" => self.out.bashisms.push(("array".into(), n.start_byte())),
            "process_substitution" => self
                .out
                .bashisms
                .push(("process substitution `<(...)`".into(), n.start_byte())),
            // `X=1 cmd` sets X for `cmd` only, not for the script.
            "variable_assignment" if n.parent().is_some_and(|p| p.kind() != "command") => {
                if let Some(name) = n.child_by_field_name("name") {
                    self.out.assigned.push(Assignment {
                        name: text(name, s).to_string(),
                        offset: n.end_byte(),
                        branches: self.branches.clone(),
                    });
                }
            }
            "for_statement" => {
                if let Some(v) = n.child_by_field_name("variable") {
                    // Set only when the list is not empty: inside the body.
                    let mut branches = self.branches.clone();
                    branches.push((n.id(), 1));
                    self.out.assigned.push(Assignment {
                        name: text(v, s).to_string(),
                        offset: n.start_byte(),
                        branches,
                    });
                }
            }
            "simple_expansion" | "expansion" => {
                self.expansion(n);
            }
            "command" => {
                self.command(n, stmt.clone(), top_simple, in_fn);
            }
            _ => {}
        }
        self.walk_children(n, stmt, false, in_fn);
    }

    fn walk_children(
        &mut self,
        n: tree_sitter::Node,
        stmt: Range<usize>,
        top_simple: bool,
        in_fn: bool,
    ) {
        let mut c = n.walk();
        let kids: Vec<_> = n.children(&mut c).collect();
        self.depth += 1;
        for (i, ch) in kids.into_iter().enumerate() {
            let b = branch_of(n, i, ch);
            if let Some(b) = b {
                self.branches.push(b);
            }
            self.walk(ch, stmt.clone(), top_simple, in_fn);
            if b.is_some() {
                self.branches.pop();
            }
        }
        self.depth -= 1;
    }

    fn expansion(&mut self, n: tree_sitter::Node) {
        let s = &self.src.text;
        let t = text(n, s);
        let mut name = None;
        let mut c = n.walk();
        for ch in n.children(&mut c) {
            if matches!(ch.kind(), "variable_name" | "special_variable_name") {
                name = Some(text(ch, s).to_string());
                break;
            }
        }
        let name = name.unwrap_or_else(|| {
            t.trim_start_matches('$')
                .trim_start_matches('{')
                .trim_start_matches('#')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        });
        if name.is_empty() {
            return;
        }
        let inner = t.strip_prefix("${").unwrap_or("");
        let after = inner.strip_prefix(name.as_str()).unwrap_or("");
        let guarded = ["-", ":-", "=", ":=", "?", ":?", "+", ":+"]
            .iter()
            .any(|op| after.starts_with(op));
        self.out.expansions.push(Expansion {
            name,
            guarded,
            offset: n.start_byte(),
            line: self.src.line_col(n.start_byte()).0,
            branches: self.branches.clone(),
        });
    }

    fn command(&mut self, n: tree_sitter::Node, stmt: Range<usize>, top_simple: bool, in_fn: bool) {
        let s = &self.src.text;
        let Some(name_node) = n.child_by_field_name("name") else {
            return;
        };
        let name = unquote(text(name_node, s));
        let mut args = Vec::new();
        let mut arg_nodes = Vec::new();
        let mut c = n.walk();
        for ch in n.children_by_field_name("argument", &mut c) {
            args.push(unquote(text(ch, s)));
            arg_nodes.push(ch);
        }
        match name.as_str() {
            "set" => {
                let mut set = SetCmd {
                    span: n.byte_range(),
                    line: self.src.line_col(n.start_byte()).0,
                    errexit: false,
                    nounset: false,
                    pipefail: false,
                    words: vec![],
                };
                let mut i = 0;
                while i < args.len() {
                    let a = &args[i];
                    let r = arg_nodes[i].byte_range();
                    // Options end at `--`, `-` or the first word that is
                    // not an option: the rest are positional parameters.
                    if a == "--" || a == "-" || !(a.starts_with('-') || a.starts_with('+')) {
                        break;
                    }
                    if a == "-o" || a == "+o" {
                        if let Some(opt) = args.get(i + 1) {
                            let on = a == "-o";
                            match opt.as_str() {
                                "errexit" => set.errexit = on,
                                "nounset" => set.nounset = on,
                                "pipefail" => set.pipefail = on,
                                _ => {}
                            }
                            set.words
                                .push((format!("{a} {opt}"), r.start..arg_nodes[i + 1].end_byte()));
                            i += 2;
                            continue;
                        }
                    } else if let Some(flags) = a.strip_prefix('-') {
                        if !flags.starts_with('-') {
                            set.errexit |= flags.contains('e');
                            set.nounset |= flags.contains('u');
                            set.words.push((a.clone(), r));
                        }
                    }
                    i += 1;
                }
                self.out.sets.push(set);
            }
            "read" | "getopts" | "local" | "export" | "readonly" => {
                for a in &args {
                    if !a.starts_with('-') {
                        let v = a.split('=').next().unwrap_or("");
                        if v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !v.is_empty()
                        {
                            self.out.assigned.push(Assignment {
                                name: v.to_string(),
                                offset: n.start_byte(),
                                branches: self.branches.clone(),
                            });
                        }
                    }
                }
            }
            "alias" => {
                for a in &args {
                    if let Some((name, _)) = a.split_once('=') {
                        self.out.aliases.push(name.to_string());
                    }
                }
            }
            "source" => self
                .out
                .bashisms
                .push(("`source` (use `.`)".into(), n.start_byte())),
            _ => {}
        }
        self.out.commands.push(Cmd {
            name,
            name_start: name_node.start_byte(),
            args,
            span: n.byte_range(),
            stmt_span: stmt,
            line: self.src.line_col(n.start_byte()).0,
            top_level_simple: top_simple,
            in_function: in_fn,
        });
    }
}

fn has_expansions(n: tree_sitter::Node) -> bool {
    let mut c = n.walk();
    let r = n.children(&mut c).any(|ch| {
        matches!(
            ch.kind(),
            "simple_expansion" | "expansion" | "command_substitution"
        )
    });
    r
}

fn first_error(n: tree_sitter::Node, depth: usize) -> Option<usize> {
    if n.is_error() || n.is_missing() || depth >= MAX_DEPTH {
        return Some(n.start_position().row + 1);
    }
    if !n.has_error() {
        return None;
    }
    let mut c = n.walk();
    let kids: Vec<_> = n.children(&mut c).collect();
    kids.into_iter().find_map(|k| first_error(k, depth + 1))
}

/// Parse time a file may take before it is given up as a parse error:
/// tree-sitter's error recovery is quadratic on some garbage (tens of
/// thousands of broken lines), and a run must not hang on one file.
pub const PARSE_BUDGET: std::time::Duration = std::time::Duration::from_secs(3);

/// Parses `text` with `parser` within [`PARSE_BUDGET`]; None when it ran
/// out, nests brackets deeper than [`MAX_BRACKETS`], or the parser gave up.
/// Bracket nesting beyond which a script or module is not parsed (the
/// tree-sitter runtime recurses per level when it frees a parse stack).
pub const MAX_BRACKETS: usize = 1000;

pub fn parse_bounded(parser: &mut tree_sitter::Parser, text: &str) -> Option<tree_sitter::Tree> {
    let mut depth = 0usize;
    for b in text.bytes() {
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_BRACKETS {
                    return None;
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    let deadline = std::time::Instant::now() + PARSE_BUDGET;
    let bytes = text.as_bytes();
    let mut read = |i: usize, _: tree_sitter::Point| -> &[u8] { bytes.get(i..).unwrap_or(&[]) };
    let mut progress = |_: &tree_sitter::ParseState| std::time::Instant::now() > deadline;
    parser.parse_with_options(
        &mut read,
        None,
        Some(tree_sitter::ParseOptions::new().progress_callback(&mut progress)),
    )
}

pub fn parse(file: usize, src: &SourceFile) -> Script {
    let tree = crate::formats::treesitter::with_parser(
        crate::formats::treesitter::Grammar::Bash,
        |parser| parse_bounded(parser, &src.text),
    );
    let mut w = Walker {
        src,
        out: Script {
            file,
            crlf: src.text.contains("\r\n"),
            // Not parsed in time: treated as unparsable (no edits).
            parse_error_line: tree.is_none().then_some(1),
            ..Default::default()
        },
        branches: Vec::new(),
        depth: 0,
    };
    let first = src.line_text(1);
    if let Some(rest) = first.strip_prefix("#!") {
        let mut parts = rest.split_whitespace();
        let mut interp = parts.next().unwrap_or("").to_string();
        let mut args: Vec<String> = parts.map(str::to_string).collect();
        if interp.ends_with("/env") && !args.is_empty() {
            interp = args.remove(0);
        }
        let shell = interp.rsplit('/').next().unwrap_or("").to_string();
        w.out.shebang = Some((interp, shell, args));
    }
    if let Some(tree) = tree {
        let root = tree.root_node();
        w.out.parse_error_line = first_error(root, 0);
        let mut c = root.walk();
        let stmts: Vec<_> = root
            .children(&mut c)
            .filter(|n| n.kind() != "comment")
            .collect();
        w.out.top_spans = stmts.iter().map(|n| n.byte_range()).collect();
        for st in &stmts {
            let before = w.out.commands.len();
            w.walk(*st, st.byte_range(), st.kind() == "command", false);
            if w.out.commands.len() > before {
                w.out.last_statement = Some(before);
            } else {
                w.out.last_statement = None;
            }
        }
    }
    w.out
}

/// Whether a command starts a long-running process (what an entrypoint
/// should `exec`).
pub fn is_long_running(cmd: &Cmd) -> bool {
    !is_builtin(&cmd.name)
        && !matches!(
            cmd.name.as_str(),
            "echo"
                | "printf"
                | "set"
                | "export"
                | "cd"
                | "true"
                | "false"
                | ":"
                | "exec"
                | "exit"
                | "test"
                | "["
                | "sleep"
                | "mkdir"
                | "chmod"
                | "chown"
                | "cp"
                | "mv"
                | "rm"
                | "ln"
                | "cat"
                | "touch"
                | "unset"
                | "shift"
                | "trap"
                | "wait"
                | "."
                | "source"
                | "eval"
                | "umask"
                | "ulimit"
                | "return"
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn script(t: &str) -> Script {
        parse(
            0,
            &SourceFile::from_text("e.sh", Path::new("e.sh"), t, 0o755),
        )
    }

    #[test]
    fn commands_skip_heredocs_and_comments() {
        let s = script("#!/bin/sh\nset -ex\n# npx prisma generate\ncat <<'EOF'\nnpx prisma generate\nEOF\necho \"npm run x\"\ntest -f x || npm run build\nexec node dist/main.js\n");
        let names: Vec<&str> = s.commands.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["set", "cat", "echo", "test", "npm", "exec"]);
        assert!(s.sets[0].errexit && !s.sets[0].nounset);
        assert_eq!(s.shebang.as_ref().unwrap().1, "sh");
        assert_eq!(s.commands[s.last_statement.unwrap()].name, "exec");
    }

    #[test]
    fn guards_and_assignments() {
        let s = script("#!/bin/sh\nA=1\necho \"$A\" \"${B:-x}\" \"${C:?c}\" \"$D\" \"$1\" \"$@\" \"$HOME\"\nfor f in a; do echo \"$f\"; done\n");
        let u: Vec<String> = s
            .unguarded(&always_set)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(u, vec!["D", "1"]);
    }

    #[test]
    fn bashisms() {
        let s = script("#!/bin/sh\n[[ -n x ]] && source ./env\narr=(a b)\nfunction f { :; }\n");
        assert_eq!(s.bashisms.len(), 4, "{:?}", s.bashisms);
    }
}
