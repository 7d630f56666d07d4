//! Application entry files (TypeScript / JavaScript): what the service
//! listens on and which health route it serves.

use crate::source::SourceFile;

#[derive(Debug, Clone)]
pub struct EnvRead {
    pub name: String,
    /// Read without a fallback (`??`, `||`, a condition, a default).
    pub required: bool,
    pub line: usize,
}

/// An existing start-up guard: `const requiredEnvVars = ['A', 'B'];`.
#[derive(Debug, Clone)]
pub struct Guard {
    pub names: Vec<String>,
    /// Byte offset just after the last element (or after `[` when empty).
    pub insert_at: usize,
    pub empty: bool,
    pub quote: char,
    pub line: usize,
}

#[derive(Debug, Clone, Default)]
pub struct AppFile {
    /// Index of the file in the project's file list.
    pub file: usize,
    /// Literal ports passed to `listen(...)` or used as the `PORT` fallback.
    pub ports: Vec<(u16, usize)>,
    /// Health routes (`/gateway-health`, `/health`), with their lines.
    pub health_routes: Vec<(String, usize)>,
    pub env_reads: Vec<EnvRead>,
    /// Relative module specifiers it imports or requires (`./config`).
    pub imports: Vec<String>,
    pub guard: Option<Guard>,
    /// 1-based line after which a guard goes: the last top-level import, or
    /// the shebang / `'use strict'`; 0 for the top of the file.
    pub insert_after_line: usize,
    /// The quote character the file's imports use.
    pub quote: char,
    /// Indentation unit (`"  "`, `"    "`, `"\t"`).
    pub indent: String,
    /// Names declared at the top level (to avoid clashes).
    pub top_level_names: Vec<String>,
    pub parse_error_line: Option<usize>,
}

pub fn is_entry_path(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let stem_ok = ["main", "index", "server"]
        .iter()
        .any(|s| name.starts_with(&format!("{s}.")));
    let ext_ok = [".ts", ".js", ".mjs", ".cjs", ".mts", ".cts"]
        .iter()
        .any(|e| name.ends_with(e) && !name.ends_with(".d.ts"));
    let dir = rel.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    stem_ok && ext_ok && (dir == "src" || dir.ends_with("/src"))
}

pub fn parse(file: usize, src: &SourceFile) -> AppFile {
    let mut out = AppFile {
        file,
        ..Default::default()
    };
    syntax(src, &mut out);
    out
}

/// A port written as a literal (`3000`, `'3000'`).
fn port_literal(n: tree_sitter::Node, s: &str) -> Option<u16> {
    let t = ts_text(n, s).trim_matches(|c| c == '"' || c == '\'' || c == '`');
    match n.kind() {
        "number" | "string" => t.parse::<u16>().ok().filter(|p| *p > 0),
        _ => None,
    }
}

/// A string literal that names a health route.
fn health_path(n: tree_sitter::Node, s: &str) -> Option<String> {
    let v = string_value(n, s)?;
    let ok = v.contains("health")
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._~/-".contains(c));
    ok.then_some(v)
}

fn ts_text<'a>(n: tree_sitter::Node, s: &'a str) -> &'a str {
    &s[n.byte_range()]
}

fn string_value(n: tree_sitter::Node, s: &str) -> Option<String> {
    if n.kind() != "string" {
        return None;
    }
    Some(
        ts_text(n, s)
            .trim_matches(|c| c == '"' || c == '\'' || c == '`')
            .to_string(),
    )
}

/// `process.env.X` / `process.env['X']` -> X
fn env_name(n: tree_sitter::Node, s: &str) -> Option<String> {
    let obj = n.child_by_field_name("object")?;
    if ts_text(obj, s).replace(char::is_whitespace, "") != "process.env" {
        return None;
    }
    match n.kind() {
        "member_expression" => Some(ts_text(n.child_by_field_name("property")?, s).to_string()),
        "subscript_expression" => string_value(n.child_by_field_name("index")?, s),
        _ => None,
    }
}

/// Whether the value read at `n` is used without a fallback or a test.
fn read_is_required(n: tree_sitter::Node, s: &str) -> bool {
    let Some(parent) = n.parent() else {
        return false;
    };
    match parent.kind() {
        "non_null_expression" => true,
        "parenthesized_expression" | "as_expression" | "satisfies_expression" => {
            read_is_required(parent, s)
        }
        "variable_declarator"
        | "arguments"
        | "pair"
        | "template_substitution"
        | "return_statement"
        | "array" => true,
        "assignment_expression" => parent
            .child_by_field_name("right")
            .is_some_and(|r| r.id() == n.id()),
        // Concatenating an unset value silently yields "undefined".
        "binary_expression" => parent
            .child_by_field_name("operator")
            .is_some_and(|o| ts_text(o, s) == "+"),
        _ => false,
    }
}

fn syntax(src: &SourceFile, out: &mut AppFile) {
    let s = &src.text;
    let mut parser = tree_sitter::Parser::new();
    let lang = if src.rel.ends_with(".tsx") || src.rel.ends_with(".jsx") {
        tree_sitter_typescript::LANGUAGE_TSX
    } else {
        tree_sitter_typescript::LANGUAGE_TYPESCRIPT
    };
    parser
        .set_language(&lang.into())
        .expect("tree-sitter-typescript grammar loads");
    let Some(tree) = parser.parse(s, None) else {
        return;
    };
    let root = tree.root_node();
    if root.has_error() {
        out.parse_error_line = first_error(root);
    }
    let line_of = |b: usize| src.line_col(b).0;
    // Top level: shebang, directives, imports, requires, guard.
    let mut cursor = root.walk();
    let mut quotes = (0usize, 0usize);
    let mut prologue = true;
    for st in root.children(&mut cursor) {
        let k = st.kind();
        let t = ts_text(st, s);
        match k {
            "hash_bang_line" | "comment" => {
                if k == "hash_bang_line" {
                    out.insert_after_line = line_of(st.end_byte().saturating_sub(1));
                }
                continue;
            }
            "expression_statement"
                if prologue
                    && (t.starts_with("'use strict'") || t.starts_with("\"use strict\"")) =>
            {
                out.insert_after_line = line_of(st.end_byte().saturating_sub(1));
                continue;
            }
            "import_statement" => {
                if let Some(src_node) = st.child_by_field_name("source") {
                    let q = ts_text(src_node, s).chars().next().unwrap_or('\'');
                    if q == '"' {
                        quotes.1 += 1
                    } else {
                        quotes.0 += 1
                    }
                }
                out.insert_after_line = line_of(st.end_byte().saturating_sub(1));
                prologue = false;
                continue;
            }
            "lexical_declaration" | "variable_declaration" => {
                let is_require = t.contains("require(") && {
                    let mut c = st.walk();
                    let r = st.named_children(&mut c).all(|d| {
                        d.child_by_field_name("value").is_some_and(|v| {
                            let vt = ts_text(v, s);
                            vt.starts_with("require(")
                                || (vt.starts_with("__importDefault(require("))
                        })
                    });
                    r
                };
                if is_require {
                    out.insert_after_line = line_of(st.end_byte().saturating_sub(1));
                    continue;
                }
            }
            _ => {}
        }
        // Anything else ends the import block.
        out.insert_after_line = out
            .insert_after_line
            .min(line_of(st.start_byte()).saturating_sub(1));
        break;
    }
    // The quote style: the file's imports, else all its string literals.
    if quotes == (0, 0) {
        let mut stack = vec![root];
        while let Some(n) = stack.pop() {
            if n.kind() == "string" {
                if ts_text(n, s).starts_with('"') {
                    quotes.1 += 1
                } else {
                    quotes.0 += 1
                }
            }
            let mut c = n.walk();
            stack.extend(n.children(&mut c));
        }
    }
    out.quote = if quotes.1 > quotes.0 { '"' } else { '\'' };
    let mut cursor = root.walk();
    for st in root.children(&mut cursor) {
        if !matches!(st.kind(), "lexical_declaration" | "variable_declaration") {
            continue;
        }
        let mut c = st.walk();
        for d in st.named_children(&mut c) {
            if let Some(name) = d.child_by_field_name("name") {
                let nm = ts_text(name, s).to_string();
                if nm == "requiredEnvVars" || nm.to_ascii_lowercase().contains("requiredenv") {
                    if let Some(arr) = d
                        .child_by_field_name("value")
                        .filter(|v| v.kind() == "array")
                    {
                        let mut ac = arr.walk();
                        let elems: Vec<_> = arr
                            .named_children(&mut ac)
                            .filter(|e| e.kind() == "string")
                            .collect();
                        out.guard = Some(Guard {
                            names: elems.iter().filter_map(|e| string_value(*e, s)).collect(),
                            insert_at: elems
                                .last()
                                .map(|e| e.end_byte())
                                .unwrap_or(arr.start_byte() + 1),
                            empty: elems.is_empty(),
                            quote: elems
                                .first()
                                .and_then(|e| ts_text(*e, s).chars().next())
                                .unwrap_or('\''),
                            line: line_of(arr.start_byte()),
                        });
                    }
                }
                out.top_level_names.push(nm);
            }
        }
    }
    // Whole tree: env reads, imports, requires, getOrThrow, ports, routes.
    let mut ports: Vec<(u16, usize)> = Vec::new();
    let mut nest_routes: Vec<(String, usize)> = Vec::new();
    let mut global_prefix: Option<String> = None;
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        match n.kind() {
            "member_expression" | "subscript_expression" => {
                if let Some(name) = env_name(n, s) {
                    out.env_reads.push(EnvRead {
                        name,
                        required: read_is_required(n, s),
                        line: line_of(n.start_byte()),
                    });
                }
            }
            // `const { A, B = 'x', C: c } = process.env;`
            "variable_declarator" => {
                let is_env = n.child_by_field_name("value").is_some_and(|v| {
                    ts_text(v, s).replace(char::is_whitespace, "") == "process.env"
                });
                if let (true, Some(pat)) = (
                    is_env,
                    n.child_by_field_name("name")
                        .filter(|x| x.kind() == "object_pattern"),
                ) {
                    let mut c = pat.walk();
                    for el in pat.named_children(&mut c) {
                        let (name, required) = match el.kind() {
                            "shorthand_property_identifier_pattern" => {
                                (Some(ts_text(el, s).to_string()), true)
                            }
                            "object_assignment_pattern" => {
                                (el.named_child(0).map(|k| ts_text(k, s).to_string()), false)
                            }
                            "pair_pattern" => (
                                el.child_by_field_name("key")
                                    .map(|k| ts_text(k, s).to_string()),
                                el.child_by_field_name("value")
                                    .is_some_and(|v| v.kind() != "assignment_pattern"),
                            ),
                            _ => (None, false),
                        };
                        if let Some(name) = name {
                            out.env_reads.push(EnvRead {
                                name,
                                required,
                                line: line_of(el.start_byte()),
                            });
                        }
                    }
                }
            }
            "import_statement" | "export_statement" => {
                if let Some(spec) = n
                    .child_by_field_name("source")
                    .and_then(|x| string_value(x, s))
                {
                    if spec.starts_with('.') {
                        out.imports.push(spec);
                    }
                }
            }
            "binary_expression" | "ternary_expression" => {
                // `process.env.PORT || 3000`, `?? '3000'`, `PORT ? ... : 3000`
                let (cond, fallback) = if n.kind() == "binary_expression" {
                    let op = n
                        .child_by_field_name("operator")
                        .map(|o| ts_text(o, s))
                        .unwrap_or("");
                    if op == "||" || op == "??" {
                        (
                            n.child_by_field_name("left"),
                            n.child_by_field_name("right"),
                        )
                    } else {
                        (None, None)
                    }
                } else {
                    (
                        n.child_by_field_name("condition"),
                        n.child_by_field_name("alternative"),
                    )
                };
                if let (Some(c), Some(f)) = (cond, fallback) {
                    if ts_text(c, s).contains("env.PORT") {
                        if let Some(p) = port_literal(f, s) {
                            ports.push((p, line_of(f.start_byte())));
                        }
                    }
                }
            }
            "decorator" => {
                // NestJS `@Get('health')`
                let t = ts_text(n, s);
                if t.starts_with("@Get(") {
                    let mut c = n.walk();
                    let call = n
                        .named_children(&mut c)
                        .find(|x| x.kind() == "call_expression");
                    if let Some(arg) = call
                        .and_then(|x| x.child_by_field_name("arguments"))
                        .and_then(|a| a.named_child(0))
                    {
                        if let Some(h) = health_path(arg, s) {
                            nest_routes.push((
                                format!("/{}", h.trim_start_matches('/')),
                                line_of(arg.start_byte()),
                            ));
                        }
                    }
                }
            }
            "call_expression" => {
                let func = n.child_by_field_name("function");
                let f = func.map(|f| ts_text(f, s)).unwrap_or("");
                let method = func
                    .filter(|f| f.kind() == "member_expression")
                    .and_then(|f| f.child_by_field_name("property"))
                    .map(|p| ts_text(p, s));
                let arg0 = n
                    .child_by_field_name("arguments")
                    .and_then(|a| a.named_child(0));
                let first_str = arg0.and_then(|a| string_value(a, s));
                match (method, arg0) {
                    (Some("listen"), Some(a)) => {
                        if let Some(p) = port_literal(a, s) {
                            ports.push((p, line_of(a.start_byte())));
                        }
                    }
                    (Some("get" | "all" | "head" | "use"), Some(a)) => {
                        if let Some(h) = health_path(a, s).filter(|h| h.starts_with('/')) {
                            out.health_routes.push((h, line_of(a.start_byte())));
                        }
                    }
                    (Some("setGlobalPrefix"), _) => {
                        global_prefix = first_str
                            .as_deref()
                            .map(|v| v.trim_matches('/').to_string());
                    }
                    (Some("getOrThrow"), _) => {
                        if let Some(name) = first_str.clone() {
                            out.env_reads.push(EnvRead {
                                name,
                                required: true,
                                line: line_of(n.start_byte()),
                            });
                        }
                    }
                    _ => {}
                }
                if (f == "require" || f == "import")
                    && first_str.as_deref().is_some_and(|a| a.starts_with('.'))
                {
                    out.imports.push(first_str.unwrap());
                }
            }
            _ => {}
        }
        let mut c = n.walk();
        stack.extend(n.children(&mut c));
    }
    ports.sort_by_key(|(_, l)| *l);
    for (p, l) in ports {
        if !out.ports.iter().any(|(x, _)| *x == p) {
            out.ports.push((p, l));
        }
    }
    // Nest routes sit under the global prefix.
    for (r, l) in nest_routes {
        let r = match &global_prefix {
            Some(pre) if !pre.is_empty() => format!("/{pre}{r}"),
            _ => r,
        };
        out.health_routes.push((r, l));
    }
    out.health_routes.sort_by_key(|(_, l)| *l);
    out.env_reads.sort_by_key(|r| r.line);
    out.imports.sort();
    out.imports.dedup();
    out.indent = detect_indent(s);
}

fn first_error(n: tree_sitter::Node) -> Option<usize> {
    if n.is_error() || n.is_missing() {
        return Some(n.start_position().row + 1);
    }
    let mut c = n.walk();
    let kids: Vec<_> = n.children(&mut c).collect();
    kids.into_iter()
        .filter(|k| k.has_error() || k.is_error() || k.is_missing())
        .find_map(first_error)
}

fn detect_indent(s: &str) -> String {
    for line in s.lines() {
        if line.starts_with('\t') {
            return "\t".into();
        }
        let n = line.len() - line.trim_start_matches(' ').len();
        if n >= 2 && !line.trim_start().starts_with('*') {
            return " ".repeat(n.min(8));
        }
    }
    "  ".into()
}

/// Candidate files for a relative import from `from_rel`.
pub fn resolve_import(from_rel: &str, spec: &str) -> Vec<String> {
    let dir = from_rel.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    let Some(base) = crate::relpath::join(dir, spec) else {
        return vec![];
    };
    let stem = base
        .strip_suffix(".js")
        .or_else(|| base.strip_suffix(".mjs"))
        .or_else(|| base.strip_suffix(".cjs"))
        .unwrap_or(&base)
        .to_string();
    let mut out = vec![base.clone()];
    for ext in ["ts", "tsx", "js", "mjs", "cjs", "mts", "cts"] {
        out.push(format!("{stem}.{ext}"));
    }
    for ext in ["ts", "js"] {
        out.push(format!("{base}/index.{ext}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn app(rel: &str, text: &str) -> AppFile {
        parse(0, &SourceFile::from_text(rel, Path::new("x"), text, 0o644))
    }

    #[test]
    fn ports_and_routes() {
        let a = app("a/src/main.ts", "const port = process.env.PORT || 8080;\n// app.get('/old-health')\napp.get('/gateway-health', (req, res) => res.send('ok'));\nserver.listen(port);\n/* app.listen(9999) */\nconst s = 'app.listen(7777)';\n");
        assert_eq!(a.ports, vec![(8080, 1)]);
        assert_eq!(a.health_routes, vec![("/gateway-health".to_string(), 3)]);
        assert!(is_entry_path("apps/x/src/main.ts"));
        let n = app("b/src/main.ts", "app.setGlobalPrefix('api');\nclass C {\n  @Get('health')\n  h() {}\n}\nawait app.listen(process.env.PORT ? Number(process.env.PORT) : 6001);\n");
        assert_eq!(n.health_routes, vec![("/api/health".to_string(), 3)]);
        assert_eq!(n.ports, vec![(6001, 6)]);
        assert!(!is_entry_path("apps/x/lib/main.ts"));
    }

    #[test]
    fn env_reads_imports_and_insertion_point() {
        let a = app("a/src/main.ts", "#!/usr/bin/env node\n'use strict';\nimport {\n  a,\n  b\n} from './config';\nconst x = require('./y');\nconst u = process.env.DATABASE_URL!;\nconst p = process.env.PORT ?? 3;\nif (process.env.DEBUG) {}\nconnect(process.env['REDIS_URL']);\nconfig.getOrThrow<string>('JWT_SECRET');\n");
        assert_eq!(a.insert_after_line, 7);
        let req: Vec<(&str, bool)> = a
            .env_reads
            .iter()
            .map(|r| (r.name.as_str(), r.required))
            .collect();
        assert_eq!(
            req,
            vec![
                ("DATABASE_URL", true),
                ("PORT", false),
                ("DEBUG", false),
                ("REDIS_URL", true),
                ("JWT_SECRET", true)
            ]
        );
        assert_eq!(a.imports, vec!["./config".to_string(), "./y".to_string()]);
        assert_eq!(a.quote, '\'');
    }

    #[test]
    fn destructured_env() {
        let a = app(
            "a/src/main.ts",
            "const { DATABASE_URL, PORT = '3000', API: apiKey } = process.env;\n",
        );
        let req: Vec<(&str, bool)> = a
            .env_reads
            .iter()
            .map(|r| (r.name.as_str(), r.required))
            .collect();
        assert_eq!(
            req,
            vec![("DATABASE_URL", true), ("PORT", false), ("API", true)]
        );
    }

    #[test]
    fn existing_guard() {
        let text = "import x from \"y\";\n\nconst requiredEnvVars = [\"DATABASE_URL\"];\n";
        let a = app("a/src/main.ts", text);
        let g = a.guard.unwrap();
        assert_eq!(g.names, vec!["DATABASE_URL"]);
        assert_eq!(g.quote, '"');
        assert_eq!(
            &text[..g.insert_at],
            "import x from \"y\";\n\nconst requiredEnvVars = [\"DATABASE_URL\""
        );
        assert_eq!(a.insert_after_line, 1);
    }
}
