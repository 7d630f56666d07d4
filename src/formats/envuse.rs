//! How a TypeScript / JavaScript module uses the environment, read on the
//! syntax tree: every `process.env` read and how much the module needs it,
//! the validation it already does (envalid, zod, `@t3-oss/env`, Joi,
//! `getOrThrow`, hand-written checks), where dotenv is loaded, the packages
//! it imports by name, whether it imports the Prisma client, and where a
//! start-up guard can go.

use crate::formats::routes::specifier;
use crate::formats::treesitter::kind;
use tree_sitter::Node;

/// How much a module needs a variable at one read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    /// Read with a default, a presence check, optional chaining, inside
    /// try/catch, or only logged.
    Optional,
    /// Read as a value, but only on some paths (under an unrelated
    /// condition, in a function not proven to run at start).
    Maybe,
    /// Read as a value on the path every start takes.
    Required,
}

impl Need {
    pub fn as_str(self) -> &'static str {
        match self {
            Need::Optional => "optional",
            Need::Maybe => "maybe",
            Need::Required => "required",
        }
    }
}

#[derive(Debug, Clone)]
pub struct EnvUse {
    pub name: String,
    pub need: Need,
    pub line: usize,
    /// Why it is optional or only maybe needed.
    pub why: &'static str,
    /// The top-level function the read sits in (its need holds when that
    /// function runs); None at module level.
    pub func: Option<String>,
    /// An unset value throws right there (`process.env.X!.trim()`).
    pub throws: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationKind {
    Envalid,
    Zod,
    T3Env,
    Joi,
    GetOrThrow,
    /// A list of names checked against `process.env`, then exit/throw.
    NameList,
    /// `if (!process.env.X) throw`, through a local variable too, `assert`.
    Check,
}

impl ValidationKind {
    pub fn label(self) -> &'static str {
        match self {
            ValidationKind::Envalid => "envalid `cleanEnv`",
            ValidationKind::Zod => "a zod schema parsed from `process.env`",
            ValidationKind::T3Env => "`@t3-oss/env` `createEnv`",
            ValidationKind::Joi => "a Joi `validationSchema`",
            ValidationKind::GetOrThrow => "`ConfigService.getOrThrow`",
            ValidationKind::NameList => "a start-up check over a list of names",
            ValidationKind::Check => "a hand-written check",
        }
    }
}

/// An array literal of names a guard checks: where to add one.
#[derive(Debug, Clone)]
pub struct NameArray {
    /// Byte offset just after the last element (after `[` when empty).
    pub insert_at: usize,
    pub empty: bool,
    pub quote: char,
    /// Separator between existing elements (`", "`, or a newline and indent).
    pub separator: String,
    /// For a schema object (envalid, zod): the validator each new key gets
    /// (`str()`, `z.string()`); None for a list of names.
    pub value: Option<String>,
}

/// The validators a file imports, for extending its schema.
#[derive(Debug, Clone, Default)]
struct Libs {
    /// `str` imported from envalid (its local name).
    envalid_str: Option<String>,
    /// `z` imported from zod (its local name).
    zod: Option<String>,
}

/// Where a new `KEY: validator` goes in a schema object.
fn object_spec(o: Node, s: &str, value: Option<String>) -> Option<NameArray> {
    let value = value?;
    let mut c = o.walk();
    let elems: Vec<Node> = o
        .named_children(&mut c)
        .filter(|e| kind(e) != "comment")
        .collect();
    if elems.iter().any(|e| kind(e) != "pair") {
        return None; // spreads, methods: not a plain schema
    }
    let separator = list_separator(&elems, s);
    Some(NameArray {
        insert_at: elems
            .last()
            .map(|e| e.end_byte())
            .unwrap_or(o.start_byte() + 1),
        empty: elems.is_empty(),
        quote: '\'',
        separator,
        value: Some(value),
    })
}

#[derive(Debug, Clone)]
pub struct Validation {
    pub kind: ValidationKind,
    pub line: usize,
    /// Names it checks, each with whether it demands a value (no default,
    /// not `.optional()`).
    pub names: Vec<(String, bool)>,
    /// The list to extend, for a name-list guard.
    pub array: Option<NameArray>,
    /// Runs at module level (at start) rather than in a function.
    pub at_start: bool,
    /// The top-level function it runs in, when not at module level.
    pub func: Option<String>,
}

/// Where dotenv (or `@nestjs/config`) loads the `.env` file.
#[derive(Debug, Clone)]
pub struct EnvLoad {
    pub line: usize,
    /// Index of the top-level statement holding it; None when it runs
    /// inside a function.
    pub stmt: Option<usize>,
    /// Name of the top-level function it sits in, if any.
    pub func: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct EnvFacts {
    pub uses: Vec<EnvUse>,
    pub validations: Vec<Validation>,
    pub loads: Vec<EnvLoad>,
    /// Bare import specifiers (`@acme/sdk`, `@acme/sdk/sub`).
    pub package_imports: Vec<String>,
    /// Imports (or requires) the Prisma client.
    pub imports_prisma: bool,
    /// Names of functions called by module-level statements (`bootstrap()`).
    pub top_calls: Vec<String>,
    /// (caller, callee): plain calls made inside top-level functions.
    pub fn_calls: Vec<(String, String)>,
    /// Top-level statements: (start byte, end byte, first line, last line,
    /// is an import / require / directive).
    pub stmts: Vec<(usize, usize, usize, usize, bool)>,
    /// Number of leading statements that are imports, requires, directives.
    pub prologue: usize,
    /// Names declared at the top level.
    pub top_level_names: Vec<String>,
    /// Line ranges of top-level comments (a guard never goes inside one).
    pub comments: Vec<(usize, usize)>,
    /// The file starts with `#!`.
    pub shebang: bool,
}

fn text<'a>(n: Node, s: &'a str) -> &'a str {
    &s[n.byte_range()]
}

/// The value of a string literal or of a template literal without
/// substitutions.
pub fn literal(n: Node, s: &str) -> Option<String> {
    match kind(n) {
        "string" => Some(text(n, s)[1..text(n, s).len().saturating_sub(1)].to_string()),
        "template_string" => {
            let mut c = n.walk();
            if n.named_children(&mut c)
                .any(|k| kind(k) == "template_substitution")
            {
                return None;
            }
            let t = text(n, s);
            Some(t[1..t.len().saturating_sub(1)].to_string())
        }
        _ => None,
    }
}

fn is_process_env(n: Node, s: &str) -> bool {
    let n = unwrap(n);
    kind(n) == "member_expression" && text(n, s).replace(char::is_whitespace, "") == "process.env"
}

/// Strips parentheses, `as`, `!`, `satisfies`.
fn unwrap(mut n: Node) -> Node {
    loop {
        match kind(n) {
            "parenthesized_expression"
            | "as_expression"
            | "satisfies_expression"
            | "non_null_expression" => match n.named_child(0) {
                Some(c) => n = c,
                None => return n,
            },
            _ => return n,
        }
    }
}

/// `process.env.X` / `process.env['X']` -> X.
pub fn env_name(n: Node, s: &str) -> Option<String> {
    let obj = n.child_by_field_name("object")?;
    if !is_process_env(obj, s) {
        return None;
    }
    match kind(n) {
        "member_expression" => Some(text(n.child_by_field_name("property")?, s).to_string()),
        "subscript_expression" => literal(n.child_by_field_name("index")?, s),
        _ => None,
    }
}

/// The separator a list writes between its last two elements (`,` and the
/// blanks or line break after it), `, ` when it has fewer than two.
fn list_separator(elems: &[Node], s: &str) -> String {
    if elems.len() < 2 {
        return ", ".into();
    }
    let between = &s[elems[elems.len() - 2].end_byte()..elems[elems.len() - 1].start_byte()];
    let after_comma = between.split_once(',').map(|(_, r)| r).unwrap_or(" ");
    if after_comma.chars().all(char::is_whitespace) {
        format!(",{after_comma}")
    } else {
        ", ".into()
    }
}

/// Whether `n` reads `process.env.NAME` somewhere inside.
fn mentions(n: Node, s: &str, name: &str) -> bool {
    let mut stack = vec![n];
    let mut kids_cursor: Option<tree_sitter::TreeCursor> = None;
    while let Some(x) = stack.pop() {
        if matches!(kind(x), "member_expression" | "subscript_expression")
            && env_name(x, s).as_deref() == Some(name)
        {
            return true;
        }
        let c = kids_cursor.get_or_insert_with(|| x.walk());
        stack.extend(x.named_children(c));
    }
    false
}

fn contains_kind(n: Node, pred: &dyn Fn(Node) -> bool) -> bool {
    let mut stack = vec![n];
    let mut kids_cursor: Option<tree_sitter::TreeCursor> = None;
    while let Some(x) = stack.pop() {
        if pred(x) {
            return true;
        }
        let c = kids_cursor.get_or_insert_with(|| x.walk());
        stack.extend(x.named_children(c));
    }
    false
}

/// Whether `n` stops the program: `throw`, `process.exit(..)`.
fn stops(n: Node, s: &str) -> bool {
    contains_kind(n, &|x| {
        kind(x) == "throw_statement"
            || (kind(x) == "call_expression"
                && x.child_by_field_name("function")
                    .is_some_and(|f| text(f, s).replace(char::is_whitespace, "") == "process.exit"))
    })
}

fn is_function(k: &str) -> bool {
    matches!(
        k,
        "arrow_function"
            | "function_declaration"
            | "function_expression"
            | "function"
            | "generator_function_declaration"
            | "generator_function"
            | "method_definition"
    )
}

const LOG_METHODS: &[&str] = &[
    "log", "info", "warn", "error", "debug", "trace", "verbose", "fatal",
];

/// Whether the read's value is used as a value (not only tested).
fn value_position(n: Node, s: &str) -> bool {
    let mut n = n;
    loop {
        let Some(parent) = n.parent() else {
            return false;
        };
        match kind(parent) {
            "parenthesized_expression"
            | "as_expression"
            | "satisfies_expression"
            | "non_null_expression"
            | "await_expression"
            | "spread_element" => n = parent,
            "variable_declarator"
            | "arguments"
            | "pair"
            | "template_substitution"
            | "return_statement"
            | "array"
            | "public_field_definition" => return true,
            "assignment_expression" => {
                return parent
                    .child_by_field_name("right")
                    .is_some_and(|r| r.id() == n.id())
            }
            // `process.env.X.split(',')` throws when unset.
            "member_expression" | "subscript_expression" => {
                return parent
                    .child_by_field_name("object")
                    .is_some_and(|o| o.id() == n.id())
                    && !text(parent, s)[n.end_byte() - parent.start_byte()..]
                        .trim_start()
                        .starts_with("?.")
            }
            "call_expression" | "new_expression" => return true,
            // Concatenating an unset value silently yields "undefined".
            "binary_expression" => {
                return parent
                    .child_by_field_name("operator")
                    .is_some_and(|o| text(o, s) == "+")
            }
            _ => return false,
        }
    }
}

/// Whether the read is the object of a property access or call
/// (`process.env.X!.trim()`), which throws when the variable is unset.
fn throws_when_unset(n: Node, s: &str) -> bool {
    let mut n = n;
    while let Some(p) = n.parent() {
        match kind(p) {
            "parenthesized_expression"
            | "as_expression"
            | "satisfies_expression"
            | "non_null_expression" => n = p,
            "member_expression" | "subscript_expression" => {
                return p
                    .child_by_field_name("object")
                    .is_some_and(|o| o.id() == n.id())
                    && !text(p, s)[n.end_byte() - p.start_byte()..]
                        .trim_start()
                        .starts_with("?.")
            }
            _ => return false,
        }
    }
    false
}

/// Walks from a read up to the module level: what makes it optional or
/// conditional, and the top-level function it sits in.
fn classify(n: Node, s: &str, name: &str) -> (Need, &'static str, Option<String>) {
    if !value_position(n, s) {
        return (
            Need::Optional,
            "tested or compared, not used as a value",
            None,
        );
    }
    let mut child = n;
    let mut conditional: Option<&'static str> = None;
    let mut func: Option<String> = None;
    while let Some(p) = child.parent() {
        let is = |field: &str| {
            p.child_by_field_name(field)
                .is_some_and(|c| c.id() == child.id())
        };
        match kind(p) {
            "binary_expression" => {
                let op = p
                    .child_by_field_name("operator")
                    .map(|o| text(o, s))
                    .unwrap_or("");
                match op {
                    "??" | "||" if is("left") => {
                        return (Need::Optional, "has a default (`??` / `||`)", None)
                    }
                    "&&" if is("left") => return (Need::Optional, "presence check (`&&`)", None),
                    "&&" if p
                        .child_by_field_name("left")
                        .is_some_and(|l| mentions(l, s, name)) =>
                    {
                        return (Need::Optional, "read after a presence check (`&&`)", None)
                    }
                    "&&" | "||" | "??" => conditional = conditional.or(Some("under a condition")),
                    _ => {}
                }
            }
            kind @ ("ternary_expression" | "if_statement") => {
                let (presence, under) = if kind == "if_statement" {
                    ("presence check (`if`)", "under an `if`")
                } else {
                    ("presence check (ternary)", "under a condition")
                };
                if is("condition") {
                    return (Need::Optional, presence, None);
                }
                if p.child_by_field_name("condition")
                    .is_some_and(|c| mentions(c, s, name))
                {
                    return (
                        Need::Optional,
                        "read under a check of the same variable",
                        None,
                    );
                }
                conditional = conditional.or(Some(under));
            }
            "else_clause" | "switch_case" | "switch_default" | "while_statement"
            | "do_statement" | "for_statement" | "for_in_statement" | "catch_clause" => {
                conditional = conditional.or(Some("under a condition or loop"))
            }
            "try_statement" if is("body") => return (Need::Optional, "inside try/catch", None),
            "call_expression" => {
                let method = p
                    .child_by_field_name("function")
                    .map(|f| {
                        if kind(f) == "member_expression" {
                            f.child_by_field_name("property")
                                .map(|x| text(x, s))
                                .unwrap_or("")
                        } else {
                            text(f, s)
                        }
                    })
                    .unwrap_or("");
                let recv = p
                    .child_by_field_name("function")
                    .and_then(|f| f.child_by_field_name("object"))
                    .map(|o| text(o, s).to_ascii_lowercase())
                    .unwrap_or_default();
                if LOG_METHODS.contains(&method)
                    && (recv.contains("console") || recv.contains("log") || method == "log")
                {
                    return (Need::Optional, "only logged", None);
                }
            }
            // `Boolean(process.env.X)` is a flag; `String(undefined)` is
            // "undefined", which the code may well handle (a switch default).
            "arguments"
                if p.parent().is_some_and(|c| {
                    kind(c) == "call_expression"
                        && c.child_by_field_name("function")
                            .is_some_and(|f| text(f, s) == "Boolean")
                }) =>
            {
                return (Need::Optional, "converted to a boolean", None)
            }
            "arguments"
                if p.parent().is_some_and(|c| {
                    kind(c) == "call_expression"
                        && c.child_by_field_name("function")
                            .is_some_and(|f| text(f, s) == "String")
                }) =>
            {
                conditional = conditional.or(Some("converted with `String()`"))
            }
            "required_parameter"
            | "optional_parameter"
            | "assignment_pattern"
            | "object_assignment_pattern" => {
                return (Need::Optional, "a default parameter value", None)
            }
            k if is_function(k) => {
                // A named function declared at the top level may be called
                // at start; anything else (callbacks, methods) is not known to run.
                let top = p.parent().is_some_and(|pp| {
                    kind(pp) == "program"
                        || (kind(pp) == "export_statement"
                            && pp.parent().is_some_and(|x| kind(x) == "program"))
                        || (kind(pp) == "variable_declarator"
                            && pp.parent().and_then(|d| d.parent()).is_some_and(|x| {
                                kind(x) == "program"
                                    || (kind(x) == "export_statement"
                                        && x.parent().is_some_and(|y| kind(y) == "program"))
                            }))
                });
                let fname = if k == "function_declaration" {
                    p.child_by_field_name("name")
                        .map(|x| text(x, s).to_string())
                } else if p
                    .parent()
                    .is_some_and(|pp| kind(pp) == "variable_declarator")
                {
                    p.parent()
                        .and_then(|pp| pp.child_by_field_name("name"))
                        .map(|x| text(x, s).to_string())
                } else {
                    None
                };
                match (top, fname, &func) {
                    (true, Some(f), None) => func = Some(f),
                    _ => {
                        return (
                            Need::Maybe,
                            "inside a function not known to run at start",
                            None,
                        )
                    }
                }
            }
            "class_body" => {
                // Decorators run when the class is defined; fields and
                // methods only when it is used.
                if !matches!(kind(child), "decorator") {
                    return (Need::Maybe, "inside a class", None);
                }
            }
            _ => {}
        }
        child = p;
    }
    match conditional {
        Some(why) => (Need::Maybe, why, func),
        None => (Need::Required, "", func),
    }
}

/// Keys of an object literal, with whether the value demands a value.
fn object_keys(obj: Node, s: &str, optional_markers: &[&str]) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut c = obj.walk();
    for p in obj.named_children(&mut c) {
        match kind(p) {
            "pair" => {
                let Some(k) = p.child_by_field_name("key") else {
                    continue;
                };
                let key = literal(k, s).unwrap_or_else(|| text(k, s).to_string());
                let v = p
                    .child_by_field_name("value")
                    .map(|v| text(v, s))
                    .unwrap_or("");
                let compact = v.replace(char::is_whitespace, "");
                let optional = optional_markers.iter().any(|m| compact.contains(m));
                out.push((key, !optional));
            }
            "shorthand_property_identifier" => out.push((text(p, s).to_string(), true)),
            _ => {}
        }
    }
    out
}

/// An object literal, directly or through a top-level `const X = {...}`
/// (also `z.object({...})`, `Joi.object({...})`).
fn resolve_object<'t>(n: Node<'t>, s: &str, consts: &[(String, Node<'t>)]) -> Option<Node<'t>> {
    let n = unwrap(n);
    match kind(n) {
        "object" => Some(n),
        "identifier" => {
            let v = consts.iter().find(|(k, _)| k == text(n, s))?.1;
            resolve_object(v, s, &[])
        }
        "call_expression" => {
            // z.object({...}) / Joi.object({...}) / schema.extend(...)
            let args = n.child_by_field_name("arguments")?;
            let first = args.named_child(0)?;
            if let Some(o) = resolve_object(first, s, consts) {
                return Some(o);
            }
            let f = n.child_by_field_name("function")?;
            let obj = f.child_by_field_name("object")?;
            resolve_object(obj, s, consts)
        }
        _ => None,
    }
}

fn is_at_start(n: Node) -> bool {
    let mut cur = n;
    while let Some(p) = cur.parent() {
        if is_function(kind(p)) || kind(p) == "class_body" {
            return false;
        }
        cur = p;
    }
    true
}

fn top_func_name(n: Node, s: &str) -> Option<String> {
    let mut cur = n;
    let mut last_fn: Option<Node> = None;
    while let Some(p) = cur.parent() {
        if is_function(kind(p)) {
            last_fn = Some(p);
        }
        cur = p;
    }
    func_name(last_fn?, s)
}

/// Where a node sits, known while walking down (no `parent()` walks up:
/// tree-sitter finds a parent by descending from the root again).
#[derive(Clone, Copy, Default)]
struct Place<'t> {
    /// Inside a function or a class body: not run while the module loads.
    nested: bool,
    /// The outermost function around the node.
    outer_fn: Option<Node<'t>>,
}

impl<'t> Place<'t> {
    /// The place of the children of `n`, which sits at `self`.
    fn inside(self, n: Node<'t>) -> Place<'t> {
        let f = is_function(kind(n));
        Place {
            nested: self.nested || f || kind(n) == "class_body",
            outer_fn: self.outer_fn.or(f.then_some(n)),
        }
    }
    /// [`is_at_start`] of a node at this place.
    fn at_start(self) -> bool {
        !self.nested
    }
    /// [`top_func_name`] of a node at this place.
    fn func_name(self, s: &str) -> Option<String> {
        func_name(self.outer_fn?, s)
    }
}

/// The name a function is known by: its own, or the variable it is
/// assigned to.
fn func_name(f: Node, s: &str) -> Option<String> {
    if kind(f) == "function_declaration" {
        return f
            .child_by_field_name("name")
            .map(|x| text(x, s).to_string());
    }
    f.parent()
        .filter(|pp| kind(pp) == "variable_declarator")
        .and_then(|pp| pp.child_by_field_name("name"))
        .map(|x| text(x, s).to_string())
}

/// The name-array of a guard, when `arr` is one.
fn name_array(arr: Node, s: &str, line: usize) -> Option<(Vec<(String, bool)>, NameArray)> {
    let mut c = arr.walk();
    let elems: Vec<Node> = arr
        .named_children(&mut c)
        .filter(|e| kind(e) != "comment")
        .collect();
    let mut names = Vec::new();
    for e in &elems {
        names.push((literal(*e, s)?, true));
    }
    let _ = line;
    let quote = elems
        .iter()
        .find(|e| kind(*e) == "string")
        .and_then(|e| text(*e, s).chars().next())
        .unwrap_or('\'');
    let separator = list_separator(&elems, s);
    Some((
        names,
        NameArray {
            insert_at: elems
                .last()
                .map(|e| e.end_byte())
                .unwrap_or(arr.start_byte() + 1),
            empty: elems.is_empty(),
            quote,
            separator,
            value: None,
        },
    ))
}

/// Whether `n` reads `process.env[<computed>]` (a name from a list).
fn reads_env_computed(n: Node, s: &str) -> bool {
    contains_kind(n, &|x| {
        kind(x) == "subscript_expression"
            && x.child_by_field_name("object")
                .is_some_and(|o| is_process_env(o, s))
            && x.child_by_field_name("index")
                .is_some_and(|i| literal(i, s).is_none())
    })
}

fn refers_to(n: Node, s: &str, ident: &str) -> bool {
    contains_kind(n, &|x| kind(x) == "identifier" && text(x, s) == ident)
}

pub fn analyse(
    root: Node,
    ix: &crate::formats::treesitter::TreeIndex,
    s: &str,
    line_of: &dyn Fn(usize) -> usize,
) -> EnvFacts {
    let mut out = EnvFacts::default();
    // Top-level statements and the prologue.
    let mut consts: Vec<(String, Node)> = Vec::new();
    let mut c = root.walk();
    let mut in_prologue = true;
    let mut dotenv_idents: Vec<String> = Vec::new(); // `dotenv` namespace names
    let mut dotenv_fns: Vec<String> = Vec::new(); // `config` imported from dotenv
    let mut libs = Libs::default();
    for st in root.named_children(&mut c) {
        if kind(st) == "comment" || kind(st) == "hash_bang_line" {
            out.shebang |= kind(st) == "hash_bang_line";
            out.comments.push((
                line_of(st.start_byte()),
                line_of(st.end_byte().saturating_sub(1).max(st.start_byte())),
            ));
            continue;
        }
        let t = text(st, s);
        let is_import = kind(st) == "import_statement";
        let is_directive = kind(st) == "expression_statement"
            && (t.starts_with("'use strict'") || t.starts_with("\"use strict\""));
        let is_require = matches!(kind(st), "lexical_declaration" | "variable_declaration") && {
            let mut c2 = st.walk();
            let all = st.named_children(&mut c2).all(|d| {
                d.child_by_field_name("value").is_some_and(|v| {
                    let vt = text(v, s);
                    vt.starts_with("require(")
                        || vt.starts_with("__importDefault(require(")
                        || vt.starts_with("__importStar(require(")
                })
            });
            all
        } || (kind(st) == "expression_statement"
            && unwrap(st.named_child(0).unwrap_or(st)).kind() == "call_expression"
            && t.starts_with("require("));
        let prologue_stmt = is_import || is_directive || is_require;
        if !prologue_stmt {
            in_prologue = false;
        }
        if in_prologue {
            out.prologue += 1;
        }
        out.stmts.push((
            st.start_byte(),
            st.end_byte(),
            line_of(st.start_byte()),
            line_of(st.end_byte().saturating_sub(1).max(st.start_byte())),
            prologue_stmt,
        ));
        // dotenv bindings
        if is_import {
            let src = st
                .child_by_field_name("source")
                .and_then(|x| literal(x, s))
                .unwrap_or_default();
            if src == "envalid" || src == "zod" {
                let mut c3 = st.walk();
                for cl in st.named_children(&mut c3) {
                    if kind(cl) != "import_clause" {
                        continue;
                    }
                    let mut c4 = cl.walk();
                    for part in cl.named_children(&mut c4) {
                        match kind(part) {
                            "namespace_import" if src == "zod" => {
                                libs.zod = part.named_child(0).map(|id| text(id, s).to_string())
                            }
                            "named_imports" => {
                                let mut c5 = part.walk();
                                for spec in part.named_children(&mut c5) {
                                    let Some((alias, nm)) = specifier(spec, s) else {
                                        continue;
                                    };
                                    match (src.as_str(), nm.as_str()) {
                                        ("envalid", "str") => libs.envalid_str = Some(alias),
                                        ("zod", "z") => libs.zod = Some(alias),
                                        _ => {}
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
            if src == "dotenv" {
                let mut c3 = st.walk();
                for cl in st.named_children(&mut c3) {
                    if kind(cl) != "import_clause" {
                        continue;
                    }
                    let mut c4 = cl.walk();
                    for part in cl.named_children(&mut c4) {
                        match kind(part) {
                            "identifier" => dotenv_idents.push(text(part, s).to_string()),
                            "namespace_import" => {
                                if let Some(id) = part.named_child(0) {
                                    dotenv_idents.push(text(id, s).to_string())
                                }
                            }
                            "named_imports" => {
                                let mut c5 = part.walk();
                                for spec in part.named_children(&mut c5) {
                                    let Some((alias, nm)) = specifier(spec, s) else {
                                        continue;
                                    };
                                    if nm == "config" || nm == "configDotenv" {
                                        dotenv_fns.push(alias);
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
        if matches!(kind(st), "lexical_declaration" | "variable_declaration") {
            let mut c2 = st.walk();
            for d in st.named_children(&mut c2) {
                let (Some(nm), v) = (
                    d.child_by_field_name("name"),
                    d.child_by_field_name("value"),
                ) else {
                    continue;
                };
                let vt = v.map(|v| text(v, s)).unwrap_or("");
                if kind(nm) == "identifier" {
                    out.top_level_names.push(text(nm, s).to_string());
                    if let Some(v) = v {
                        consts.push((text(nm, s).to_string(), v));
                    }
                    if vt.replace(char::is_whitespace, "") == "require('dotenv')"
                        || vt.replace(char::is_whitespace, "") == "require(\"dotenv\")"
                    {
                        dotenv_idents.push(text(nm, s).to_string());
                    }
                } else if kind(nm) == "object_pattern"
                    && vt.replace(['"', ' '], "'").contains("require('dotenv')")
                {
                    let pt = text(nm, s);
                    if pt.contains("config") {
                        dotenv_fns.push("config".into());
                    }
                }
            }
        }
        if let Some(d) = (kind(st) == "export_statement")
            .then(|| st.child_by_field_name("declaration"))
            .flatten()
        {
            if matches!(kind(d), "lexical_declaration" | "variable_declaration") {
                let mut c2 = d.walk();
                for dd in d.named_children(&mut c2) {
                    if let (Some(nm), Some(v)) = (
                        dd.child_by_field_name("name"),
                        dd.child_by_field_name("value"),
                    ) {
                        consts.push((text(nm, s).to_string(), v));
                    }
                }
            }
        }
        if matches!(kind(st), "function_declaration" | "class_declaration") {
            if let Some(nm) = st.child_by_field_name("name") {
                out.top_level_names.push(text(nm, s).to_string());
            }
        }
        // Calls made at start: `bootstrap();`, `void main()`, `main().catch()`.
        if kind(st) == "expression_statement" {
            let mut e = unwrap(st.named_child(0).unwrap_or(st));
            loop {
                match kind(e) {
                    "await_expression" | "unary_expression" => {
                        e = unwrap(e.named_child(0).unwrap_or(e));
                        if kind(e) != "call_expression" {
                            break;
                        }
                    }
                    "call_expression" => {
                        let f = e.child_by_field_name("function");
                        match f {
                            Some(f) if kind(f) == "identifier" => {
                                out.top_calls.push(text(f, s).to_string());
                                break;
                            }
                            Some(f) if kind(f) == "member_expression" => {
                                // main().catch(...) / main().then(...)
                                match f.child_by_field_name("object") {
                                    Some(o) => e = unwrap(o),
                                    None => break,
                                }
                            }
                            _ => break,
                        }
                    }
                    _ => break,
                }
            }
        }
    }
    let stmts = out.stmts.clone();
    let stmt_index = |b: usize| stmts.iter().position(|(a, e, ..)| *a <= b && b < *e);

    // Whole tree.
    let mut locals: Vec<(String, String)> = Vec::new(); // local var -> env name
    let mut loads: Vec<EnvLoad> = Vec::new();
    // Each node's place, from its parent's (parents come first).
    let mut places: Vec<Place> = Vec::with_capacity(ix.nodes.len());
    for i in 0..ix.nodes.len() {
        let place = if i == 0 {
            Place::default()
        } else {
            let p = ix.parent[i] as usize;
            places[p].inside(ix.nodes[p])
        };
        places.push(place);
    }
    for &i in &ix.stack_order {
        let (n, place) = (ix.nodes[i as usize], places[i as usize]);
        match kind(n) {
            "member_expression" | "subscript_expression" => {
                if let Some(name) = env_name(n, s) {
                    let (need, why, func) = classify(n, s, &name);
                    out.uses.push(EnvUse {
                        name: name.clone(),
                        need,
                        line: line_of(n.start_byte()),
                        why,
                        func,
                        throws: need == Need::Required && throws_when_unset(n, s),
                    });
                    // `const url = process.env.X` (a local checked later).
                    if let Some(d) = n.parent().filter(|p| kind(p) == "variable_declarator") {
                        if let Some(id) = d
                            .child_by_field_name("name")
                            .filter(|x| kind(x) == "identifier")
                        {
                            locals.push((text(id, s).to_string(), name));
                        }
                    } else if let Some(d) = n
                        .parent()
                        .filter(|p| matches!(kind(p), "as_expression" | "non_null_expression"))
                        .and_then(|p| p.parent())
                        .filter(|p| kind(p) == "variable_declarator")
                    {
                        if let Some(id) = d
                            .child_by_field_name("name")
                            .filter(|x| kind(x) == "identifier")
                        {
                            locals.push((text(id, s).to_string(), name));
                        }
                    }
                }
            }
            "variable_declarator" => {
                // `const { A, B = 'x', C: c } = process.env;`
                let is_env = n
                    .child_by_field_name("value")
                    .is_some_and(|v| is_process_env(v, s));
                if let (true, Some(pat)) = (
                    is_env,
                    n.child_by_field_name("name")
                        .filter(|x| kind(x) == "object_pattern"),
                ) {
                    let (base, _, func) = classify_decl(n, s);
                    let mut c = pat.walk();
                    for el in pat.named_children(&mut c) {
                        let (name, has_default) = match kind(el) {
                            "shorthand_property_identifier_pattern" => {
                                (Some(text(el, s).to_string()), false)
                            }
                            "object_assignment_pattern" => {
                                (el.named_child(0).map(|k| text(k, s).to_string()), true)
                            }
                            "pair_pattern" => (
                                el.child_by_field_name("key")
                                    .map(|k| text(k, s).to_string()),
                                el.child_by_field_name("value")
                                    .is_some_and(|v| kind(v) == "assignment_pattern"),
                            ),
                            _ => (None, false),
                        };
                        if let Some(name) = name {
                            let (need, why) = if has_default {
                                (Need::Optional, "destructuring default")
                            } else {
                                (base, "destructured from process.env")
                            };
                            out.uses.push(EnvUse {
                                name,
                                need,
                                line: line_of(el.start_byte()),
                                why,
                                func: func.clone(),
                                throws: false,
                            });
                        }
                    }
                }
            }
            "import_statement" | "export_statement" => {
                if let Some(spec) = n.child_by_field_name("source").and_then(|x| literal(x, s)) {
                    note_import(&mut out, &spec);
                    if spec == "dotenv/config" || spec == "dotenv/config.js" {
                        loads.push(EnvLoad {
                            line: line_of(n.start_byte()),
                            stmt: stmt_index(n.start_byte()),
                            func: None,
                        });
                    }
                }
            }
            "new_expression" => {
                if n.child_by_field_name("constructor")
                    .is_some_and(|c| text(c, s) == "PrismaClient")
                {
                    out.imports_prisma = true;
                }
            }
            "call_expression" => call(
                n,
                place,
                s,
                line_of,
                &libs,
                &consts,
                &dotenv_idents,
                &dotenv_fns,
                &mut out,
                &mut loads,
                &stmt_index,
            ),
            "if_statement" => {
                // `if (!process.env.X || !url) throw ...`
                let cond = n.child_by_field_name("condition");
                let cons = n.child_by_field_name("consequence");
                if let (Some(cond), Some(cons)) = (cond, cons) {
                    if stops(cons, s) {
                        let mut names = Vec::new();
                        negated_names(cond, s, &mut names);
                        if !names.is_empty() {
                            out.validations.push(Validation {
                                kind: ValidationKind::Check,
                                line: line_of(n.start_byte()),
                                names: names.into_iter().map(|x| (x, true)).collect(),
                                array: None,
                                at_start: place.at_start(),
                                func: place.func_name(s),
                            });
                        }
                    }
                }
            }
            "array" => {
                // A list of names checked against process.env, then stop.
                if let Some((names, arr)) = name_array(n, s, 0) {
                    {
                        if let Some(stmt) = guard_user(n, s) {
                            out.validations.push(Validation {
                                kind: ValidationKind::NameList,
                                line: line_of(n.start_byte()),
                                names,
                                array: Some(arr),
                                at_start: is_at_start(stmt),
                                func: top_func_name(stmt, s),
                            });
                        }
                    }
                }
            }
            _ => {}
        }
    }
    // Locals checked: `const url = process.env.X; if (!url) throw`.
    for v in out.validations.iter_mut() {
        if v.kind != ValidationKind::Check {
            continue;
        }
        for (nm, _) in v.names.iter_mut() {
            if let Some((_, env)) = locals.iter().find(|(l, _)| l == nm) {
                *nm = env.clone();
            }
        }
    }
    let env_names: std::collections::HashSet<String> =
        out.uses.iter().map(|u| u.name.clone()).collect();
    for v in out.validations.iter_mut() {
        if v.kind == ValidationKind::Check {
            v.names.retain(|(n, _)| env_names.contains(n));
        }
    }
    out.validations
        .retain(|v| !v.names.is_empty() || v.array.is_some());
    loads.sort_by_key(|l| l.line);
    out.loads = loads;
    out.uses.sort_by_key(|u| u.line);
    out.package_imports.sort();
    out.package_imports.dedup();
    out.top_calls.sort();
    out.top_calls.dedup();
    out
}

/// `const { A } = process.env` at the top level or not.
fn classify_decl(d: Node, s: &str) -> (Need, &'static str, Option<String>) {
    let mut cur = d;
    while let Some(p) = cur.parent() {
        if is_function(kind(p)) || kind(p) == "class_body" {
            return match top_func_name(d, s) {
                Some(f) if is_function(kind(p)) => (Need::Required, "", Some(f)),
                _ => (
                    Need::Maybe,
                    "inside a function not known to run at start",
                    None,
                ),
            };
        }
        if matches!(
            kind(p),
            "if_statement" | "try_statement" | "switch_case" | "else_clause"
        ) {
            return (Need::Maybe, "under a condition", None);
        }
        cur = p;
    }
    (Need::Required, "", None)
}

fn note_import(out: &mut EnvFacts, spec: &str) {
    if spec == "@prisma/client"
        || spec.starts_with("@prisma/client/")
        || spec.starts_with(".prisma/client")
        || spec.contains("/generated/prisma")
        || spec.contains("/prisma/client")
        || spec.ends_with("/generated/client")
    {
        out.imports_prisma = true;
    }
    if !spec.starts_with('.') && !spec.starts_with('/') && !spec.starts_with("node:") {
        out.package_imports.push(spec.to_string());
    }
}

/// Names whose absence the condition tests: `!process.env.X`, `!url`,
/// `url === undefined`, joined by `||`.
fn negated_names(cond: Node, s: &str, out: &mut Vec<String>) {
    let c = unwrap(cond);
    match kind(c) {
        "binary_expression" => {
            let op = c
                .child_by_field_name("operator")
                .map(|o| text(o, s))
                .unwrap_or("");
            let (l, r) = (
                c.child_by_field_name("left"),
                c.child_by_field_name("right"),
            );
            match op {
                "||" => {
                    if let Some(l) = l {
                        negated_names(l, s, out)
                    }
                    if let Some(r) = r {
                        negated_names(r, s, out)
                    }
                }
                "===" | "==" => {
                    if let (Some(l), Some(r)) = (l, r) {
                        let rt = text(r, s);
                        if matches!(rt, "undefined" | "null" | "''" | "\"\"") {
                            subject(l, s, out);
                        }
                    }
                }
                _ => {}
            }
        }
        "unary_expression" => {
            if c.child_by_field_name("operator")
                .is_some_and(|o| text(o, s) == "!")
            {
                if let Some(a) = c.child_by_field_name("argument") {
                    subject(a, s, out);
                }
            }
        }
        _ => {}
    }
}

fn subject(n: Node, s: &str, out: &mut Vec<String>) {
    let n = unwrap(n);
    if let Some(name) = env_name(n, s) {
        out.push(name);
    } else if kind(n) == "identifier" {
        out.push(text(n, s).to_string());
    } else if kind(n) == "member_expression" {
        // `!url?.length`, `!url.trim()`
        if let Some(o) = n.child_by_field_name("object") {
            subject(o, s, out)
        }
    }
}

/// The statement that checks the names of `arr` against `process.env` and
/// stops: the array used inline (`[...].filter(n => !process.env[n])`,
/// `for (const n of [...])`), or a `const X = [...]` whose later use does it
/// (followed, within the same block, by exit/throw).
fn guard_user<'t>(arr: Node<'t>, s: &str) -> Option<Node<'t>> {
    let decl = arr.parent().filter(|p| kind(p) == "variable_declarator");
    // The statement holding the array, and its siblings.
    let mut stmt = arr;
    while let Some(p) = stmt.parent() {
        if matches!(kind(p), "program" | "statement_block") {
            break;
        }
        stmt = p;
    }
    let block = stmt.parent()?;
    let mut c = block.walk();
    let sibs: Vec<Node> = block.named_children(&mut c).collect();
    let i = sibs.iter().position(|x| x.id() == stmt.id())?;
    let window = &sibs[i..sibs.len().min(i + 4)];
    match decl {
        Some(d) => {
            let ident = d
                .child_by_field_name("name")
                .filter(|x| kind(x) == "identifier")?;
            let id = text(ident, s);
            let users: Vec<&Node> = window[1..]
                .iter()
                .filter(|x| refers_to(**x, s, id))
                .collect();
            let checks = users.iter().any(|u| reads_env_computed(**u, s));
            let stop = window[1..].iter().any(|x| stops(*x, s));
            // Or a later statement (a `validate()` function, a loop) that
            // uses the list, reads `process.env[...]` and stops, by itself.
            if checks && stop {
                return Some(stmt);
            }
            // The check then runs where the `process.env[...]` read is.
            let user = sibs[i + 1..]
                .iter()
                .find(|x| refers_to(**x, s, id) && reads_env_computed(**x, s) && stops(**x, s))?;
            let mut stack = vec![*user];
            let mut kids_cursor: Option<tree_sitter::TreeCursor> = None;
            while let Some(x) = stack.pop() {
                if kind(x) == "subscript_expression"
                    && x.child_by_field_name("object")
                        .is_some_and(|o| is_process_env(o, s))
                {
                    return Some(x);
                }
                let c = kids_cursor.get_or_insert_with(|| x.walk());
                stack.extend(x.named_children(c));
            }
            None
        }
        None => {
            // Only a list iterated in place: `for (const n of [...])`,
            // `[...].filter(...)` / `.forEach(...)` / `.some(...)`.
            let p = arr.parent()?;
            let iterated = (kind(p) == "for_in_statement"
                && p.child_by_field_name("right")
                    .is_some_and(|r| r.id() == arr.id()))
                || (kind(p) == "member_expression"
                    && p.parent().is_some_and(|c| kind(c) == "call_expression"));
            if !iterated {
                return None;
            }
            let checks = reads_env_computed(stmt, s);
            let stop = window.iter().any(|x| stops(*x, s));
            (checks && stop).then_some(stmt)
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn call(
    n: Node,
    place: Place,
    s: &str,
    line_of: &dyn Fn(usize) -> usize,
    libs: &Libs,
    consts: &[(String, Node)],
    dotenv_idents: &[String],
    dotenv_fns: &[String],
    out: &mut EnvFacts,
    loads: &mut Vec<EnvLoad>,
    stmt_index: &dyn Fn(usize) -> Option<usize>,
) {
    let Some(func) = n.child_by_field_name("function") else {
        return;
    };
    let ft = text(func, s).replace(char::is_whitespace, "");
    let method = (kind(func) == "member_expression")
        .then(|| func.child_by_field_name("property"))
        .flatten()
        .map(|p| text(p, s))
        .unwrap_or("");
    let args = n.child_by_field_name("arguments");
    let arg = |i: usize| {
        args.and_then(|a| {
            let mut c = a.walk();
            let v: Vec<Node> = a
                .named_children(&mut c)
                .filter(|x| kind(x) != "comment")
                .collect();
            v.get(i).copied()
        })
    };
    let line = line_of(n.start_byte());
    let at_start = place.at_start();
    // What the walk down knows equals what walking up finds.
    debug_assert_eq!(at_start, is_at_start(n));
    debug_assert_eq!(place.func_name(s), top_func_name(n, s));
    // A function called while the module loads (`const db = connect();`).
    if kind(func) == "identifier" {
        if at_start {
            out.top_calls.push(text(func, s).to_string());
        } else if let Some(caller) = place.func_name(s) {
            out.fn_calls.push((caller, text(func, s).to_string()));
        }
    }
    // require('x') / import('x')
    if ft == "require" || kind(func) == "import" {
        if let Some(spec) = arg(0).and_then(|a| literal(a, s)) {
            note_import(out, &spec);
            if spec == "dotenv/config" {
                loads.push(EnvLoad {
                    line,
                    stmt: at_start.then(|| stmt_index(n.start_byte())).flatten(),
                    func: place.func_name(s),
                });
            }
        }
        return;
    }
    // dotenv loading
    let obj = func
        .child_by_field_name("object")
        .map(|o| text(o, s).replace(char::is_whitespace, ""));
    let is_dotenv_call = (matches!(method, "config" | "configDotenv")
        && obj.as_deref().is_some_and(|o| {
            dotenv_idents.iter().any(|d| d == o)
                || o == "require('dotenv')"
                || o == "require(\"dotenv\")"
        }))
        || (kind(func) == "identifier" && dotenv_fns.iter().any(|d| *d == ft))
        || (method == "forRoot" && obj.as_deref() == Some("ConfigModule"));
    if is_dotenv_call {
        loads.push(EnvLoad {
            line,
            stmt: at_start.then(|| stmt_index(n.start_byte())).flatten(),
            func: place.func_name(s),
        });
    }
    let mut push = |kind, names: Vec<(String, bool)>, array: Option<NameArray>| {
        out.validations.push(Validation {
            kind,
            line,
            names,
            array,
            at_start,
            func: place.func_name(s),
        })
    };
    match (ft.as_str(), method) {
        (f, _) if f == "cleanEnv" || f.ends_with(".cleanEnv") => {
            if let Some(o) = arg(1).and_then(|a| resolve_object(a, s, consts)) {
                let spec = object_spec(o, s, libs.envalid_str.as_ref().map(|f| format!("{f}()")));
                push(
                    ValidationKind::Envalid,
                    object_keys(o, s, &["default:"]),
                    spec,
                );
            }
        }
        (f, _) if f == "createEnv" || f.ends_with(".createEnv") => {
            let mut names = Vec::new();
            let mut server_spec = None;
            if let Some(o) = arg(0).and_then(|a| resolve_object(a, s, consts)) {
                let mut c = o.walk();
                for p in o.named_children(&mut c).filter(|p| kind(p) == "pair") {
                    let key = p
                        .child_by_field_name("key")
                        .map(|k| text(k, s))
                        .unwrap_or("");
                    if matches!(key, "server" | "shared" | "client") {
                        if let Some(v) = p
                            .child_by_field_name("value")
                            .and_then(|v| resolve_object(v, s, consts))
                        {
                            if key == "server" {
                                server_spec = object_spec(
                                    v,
                                    s,
                                    libs.zod.as_ref().map(|z| format!("{z}.string()")),
                                );
                            }
                            names.extend(object_keys(
                                v,
                                s,
                                &[".optional()", ".default(", ".nullish()", ".catch("],
                            ));
                        }
                    }
                }
            }
            push(ValidationKind::T3Env, names, server_spec);
        }
        (_, "parse" | "safeParse" | "parseAsync" | "safeParseAsync")
            if arg(0).is_some_and(|a| is_process_env(a, s)) =>
        {
            if let Some(o) = func
                .child_by_field_name("object")
                .and_then(|o| resolve_object(o, s, consts))
            {
                let spec = object_spec(o, s, libs.zod.as_ref().map(|z| format!("{z}.string()")));
                push(
                    ValidationKind::Zod,
                    object_keys(o, s, &[".optional()", ".default(", ".nullish()", ".catch("]),
                    spec,
                );
            }
        }
        (_, "getOrThrow") => {
            if let Some(name) = arg(0).and_then(|a| literal(a, s)) {
                push(ValidationKind::GetOrThrow, vec![(name, true)], None);
            }
        }
        ("assert" | "invariant" | "assert.ok", _) => {
            if let Some(name) = arg(0).and_then(|a| env_name(unwrap(a), s)) {
                push(ValidationKind::Check, vec![(name, true)], None);
            }
        }
        _ => {}
    }
    // Joi `validationSchema` inside ConfigModule.forRoot({...}).
    if method == "forRoot" {
        if let Some(o) = arg(0).and_then(|a| resolve_object(a, s, consts)) {
            let mut c = o.walk();
            for p in o.named_children(&mut c).filter(|p| kind(p) == "pair") {
                let key = p
                    .child_by_field_name("key")
                    .map(|k| text(k, s))
                    .unwrap_or("");
                if key != "validationSchema" {
                    continue;
                }
                if let Some(v) = p
                    .child_by_field_name("value")
                    .and_then(|v| resolve_object(v, s, consts))
                {
                    let names = object_keys(v, s, &[])
                        .into_iter()
                        .map(|(k, _)| (k, false))
                        .collect::<Vec<_>>();
                    // Required only with `.required()`.
                    let mut c2 = v.walk();
                    let req: Vec<(String, bool)> = v
                        .named_children(&mut c2)
                        .filter(|p| kind(p) == "pair")
                        .filter_map(|p| {
                            let k = p.child_by_field_name("key")?;
                            let val = p
                                .child_by_field_name("value")
                                .map(|x| text(x, s))
                                .unwrap_or("");
                            let compact = val.replace(char::is_whitespace, "");
                            Some((
                                literal(k, s).unwrap_or_else(|| text(k, s).to_string()),
                                compact.contains(".required()") && !compact.contains(".default("),
                            ))
                        })
                        .collect();
                    let _ = names;
                    out.validations.push(Validation {
                        kind: ValidationKind::Joi,
                        line,
                        names: req,
                        array: None,
                        at_start: true,
                        func: None,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(src: &str) -> EnvFacts {
        let mut p = tree_sitter::Parser::new();
        p.set_language(&tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into())
            .unwrap();
        let tree = p.parse(src, None).unwrap();
        let starts = crate::source::line_starts(src);
        let line_of = |b: usize| starts.partition_point(|&x| x <= b);
        analyse(
            tree.root_node(),
            &crate::formats::treesitter::TreeIndex::new(tree.root_node()),
            src,
            &line_of,
        )
    }

    fn needs(src: &str) -> Vec<(String, Need)> {
        facts(src)
            .uses
            .into_iter()
            .map(|u| (u.name, u.need))
            .collect()
    }

    use Need::*;

    #[test]
    fn defaults_and_presence_checks_are_optional() {
        let src = r#"
const port = process.env.PORT ? Number(process.env.PORT) : 8080;
const smtp = Number(process.env.SMTP_PORT) || 587;
if (process.env.SENTRY_DSN) { init(process.env.SENTRY_DSN); }
const a = !!process.env.ANALYTICS_KEY && track(process.env.ANALYTICS_KEY);
try { connect(process.env.TELEMETRY_URL); } catch (e) {}
console.log('oauth', process.env.OAUTH_ID);
logger.info(`key ${process.env.LOG_KEY}`);
const parts = process.env.LIST?.split(',');
const { A = 'x', B } = process.env;
function f(u = process.env.PARAM_DEFAULT) {}
const db = connect(process.env.DATABASE_URL);
const flag = Boolean(process.env.BOOL_FLAG);
const kind = pick(String(process.env.STORAGE_KIND));
"#;
        let got = needs(src);
        let need = |n: &str| {
            got.iter()
                .filter(|(x, _)| x == n)
                .map(|(_, k)| *k)
                .max()
                .unwrap()
        };
        for n in [
            "PORT",
            "SMTP_PORT",
            "SENTRY_DSN",
            "ANALYTICS_KEY",
            "TELEMETRY_URL",
            "OAUTH_ID",
            "LOG_KEY",
            "LIST",
            "A",
            "PARAM_DEFAULT",
        ] {
            assert_eq!(need(n), Optional, "{n}");
        }
        assert_eq!(need("B"), Required);
        assert_eq!(need("BOOL_FLAG"), Optional);
        assert_eq!(need("STORAGE_KIND"), Maybe);
        assert_eq!(need("DATABASE_URL"), Required);
    }

    #[test]
    fn conditional_and_function_reads() {
        let src = r#"
if (cfg.s3) { new S3(process.env.S3_KEY); }
class Svc { constructor() { this.k = process.env.CLASS_KEY; } }
app.get('/', () => send(process.env.HANDLER_KEY));
async function bootstrap() { await listen(process.env.BOOT_PORT); }
bootstrap();
export function later() { return process.env.LATER_KEY; }
"#;
        let f = facts(src);
        let get = |n: &str| f.uses.iter().find(|u| u.name == n).unwrap();
        assert_eq!(get("S3_KEY").need, Maybe);
        assert_eq!(get("CLASS_KEY").need, Maybe);
        assert_eq!(get("HANDLER_KEY").need, Maybe);
        assert_eq!(get("BOOT_PORT").need, Required);
        assert_eq!(get("BOOT_PORT").func.as_deref(), Some("bootstrap"));
        assert_eq!(get("LATER_KEY").func.as_deref(), Some("later"));
        assert_eq!(f.top_calls, vec!["bootstrap"]);
    }

    #[test]
    fn validations_are_recognised_by_what_they_do() {
        let f = facts(
            r#"
import { cleanEnv, str, port } from 'envalid';
const spec = { PORT: port({ default: 3000 }), MONGO_URL: str() };
export const env = cleanEnv(process.env, spec);
"#,
        );
        assert_eq!(f.validations[0].kind, ValidationKind::Envalid);
        assert_eq!(
            f.validations[0].names,
            vec![("PORT".into(), false), ("MONGO_URL".into(), true)]
        );
        let spec = f.validations[0].array.as_ref().unwrap();
        assert_eq!(spec.value.as_deref(), Some("str()"));
        let f = facts("import * as envalid from 'envalid';\nexport const env = envalid.cleanEnv(process.env, { A: envalid.str() });\n");
        assert_eq!(f.validations[0].kind, ValidationKind::Envalid);
        assert!(
            f.validations[0].array.is_none(),
            "no `str` in scope: not extended"
        );
        let f = facts("const requiredEnvFiles = ['.env.defaults'];\nload(requiredEnvFiles);\n");
        assert!(f.validations.is_empty(), "a list of files is no guard");
        let f = facts("const REQUIRED = ['A'];\nconst x = 1;\nconst y = 2;\nconst z = 3;\nexport function validate() {\n  for (const n of REQUIRED) {\n    if (!process.env[n]) throw new Error(n);\n  }\n}\n");
        assert_eq!(f.validations[0].kind, ValidationKind::NameList);
        assert!(!f.validations[0].at_start);
        assert_eq!(f.validations[0].func.as_deref(), Some("validate"));
        let f = facts(
            "const url = process.env.REDIS_URL;\nif (!url) {\n  throw new Error('REDIS_URL');\n}\n",
        );
        assert_eq!(f.validations[0].names, vec![("REDIS_URL".into(), true)]);
        let f =
            facts("for (const n of ['A', `B`]) { if (!process.env[n]) { process.exit(1); } }\n");
        assert_eq!(f.validations[0].kind, ValidationKind::NameList);
        assert_eq!(
            f.validations[0].names,
            vec![("A".into(), true), ("B".into(), true)]
        );
        let f = facts("const env = z.object({ A: z.string(), B: z.string().optional() }).parse(process.env);\n");
        assert_eq!(
            f.validations[0].names,
            vec![("A".into(), true), ("B".into(), false)]
        );
        let f = facts("@Module({ imports: [ConfigModule.forRoot({ validationSchema: Joi.object({ A: Joi.string().required(), B: Joi.number().default(3) }) })] })\nclass M {}\n");
        let joi = f
            .validations
            .iter()
            .find(|v| v.kind == ValidationKind::Joi)
            .unwrap();
        assert_eq!(joi.names, vec![("A".into(), true), ("B".into(), false)]);
        assert_eq!(f.loads.len(), 1, "ConfigModule.forRoot loads .env");
    }

    #[test]
    fn t3_env_get_or_throw_and_generated_prisma() {
        let f = facts("export const env = createEnv({\n  server: { DATABASE_URL: z.string().url(), SENTRY: z.string().optional() },\n  runtimeEnv: process.env,\n});\n");
        assert_eq!(f.validations[0].kind, ValidationKind::T3Env);
        assert_eq!(
            f.validations[0].names,
            vec![("DATABASE_URL".into(), true), ("SENTRY".into(), false)]
        );
        let f = facts("class S { constructor(c: ConfigService) { this.k = c.getOrThrow<string>('JWT_KEY'); } }\n");
        assert_eq!(f.validations[0].kind, ValidationKind::GetOrThrow);
        assert_eq!(f.validations[0].names, vec![("JWT_KEY".into(), true)]);
        assert!(!f.validations[0].at_start);
        for spec in [
            "../generated/prisma",
            "@prisma/client",
            ".prisma/client/index",
            "@acme/db/generated/prisma/client",
        ] {
            assert!(
                facts(&format!("import {{ PrismaClient }} from '{spec}';\n")).imports_prisma,
                "{spec}"
            );
        }
        assert!(!facts("import x from 'prisma-utils';\n").imports_prisma);
    }

    #[test]
    fn dotenv_loads_and_imports() {
        let f = facts("import 'dotenv/config';\nimport { x } from '@acme/sdk';\nimport { PrismaClient } from '@prisma/client';\n");
        assert_eq!(f.loads.len(), 1);
        assert_eq!(
            f.package_imports,
            vec!["@acme/sdk", "@prisma/client", "dotenv/config"]
        );
        assert!(f.imports_prisma);
        let f = facts("import * as dotenv from 'dotenv';\nimport a from './a';\nconst x = 1;\ndotenv.config();\n");
        assert_eq!(f.loads[0].stmt, Some(3));
        assert_eq!(f.prologue, 2);
        let f = facts("import { config as load } from 'dotenv';\nload();\n");
        assert_eq!(f.loads[0].stmt, Some(1));
        let f = facts("require('dotenv').config();\nconst a = require('./a');\n");
        assert_eq!(f.loads[0].stmt, Some(0));
        let f = facts("async function main() { require('dotenv').config(); }\nmain();\n");
        assert_eq!(f.loads[0].stmt, None);
        assert_eq!(f.loads[0].func.as_deref(), Some("main"));
    }
}
