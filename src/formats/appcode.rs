//! Application entry files (TypeScript / JavaScript): what the service
//! listens on and which health route it serves.

use crate::formats::treesitter::kind;
use crate::source::SourceFile;

#[derive(Debug, Clone, Default)]
pub struct AppFile {
    /// Index of the file in the project's file list.
    pub file: usize,
    /// Literal ports passed to `listen(...)` or used as the `PORT` fallback.
    pub ports: Vec<(u16, usize)>,
    /// Health routes (`/gateway-health`, `/health`), with their lines.
    pub health_routes: Vec<(String, usize)>,
    /// Relative module specifiers it imports or requires (`./config`).
    pub imports: Vec<String>,
    /// How it uses the environment (reads, validation, dotenv, imports).
    pub env: crate::formats::envuse::EnvFacts,
    /// The quote character the file's imports use.
    pub quote: char,
    /// Indentation unit (`"  "`, `"    "`, `"\t"`).
    pub indent: String,
    pub parse_error_line: Option<usize>,
    /// Listeners and routes (see `formats::routes`).
    pub web: crate::formats::routes::WebFacts,
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
    match kind(n) {
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
    if kind(n) != "string" {
        return None;
    }
    Some(
        ts_text(n, s)
            .trim_matches(|c| c == '"' || c == '\'' || c == '`')
            .to_string(),
    )
}

fn syntax(src: &SourceFile, out: &mut AppFile) {
    let s = &src.text;
    use crate::formats::treesitter::{with_parser, Grammar};
    let tree = with_parser(Grammar::for_script(&src.rel), |parser| {
        crate::formats::shell::parse_bounded(parser, s)
    });
    let Some(tree) = tree else {
        // Not parsed within the time budget: unparsable, no edits.
        out.parse_error_line = Some(1);
        return;
    };
    let root = tree.root_node();
    if root.has_error() {
        out.parse_error_line = first_error(root);
    }
    let line_of = |b: usize| src.line_col(b).0;
    // One walk over the tree for the analyses below.
    let ix = crate::formats::treesitter::TreeIndex::new(root);
    out.web = crate::formats::routes::extract(&ix, s, &line_of);
    // The quote style of the file's imports.
    let mut cursor = root.walk();
    let mut quotes = (0usize, 0usize);
    for st in root.children(&mut cursor) {
        if kind(st) == "import_statement" {
            if let Some(src_node) = st.child_by_field_name("source") {
                let q = ts_text(src_node, s).chars().next().unwrap_or('\'');
                if q == '"' {
                    quotes.1 += 1
                } else {
                    quotes.0 += 1
                }
            }
        }
    }
    out.env = crate::formats::envuse::analyse(root, &ix, s, &line_of);
    // The quote style: the file's imports, else all its string literals.
    if quotes == (0, 0) {
        let mut stack = vec![root];
        let mut kids_cursor: Option<tree_sitter::TreeCursor> = None;
        while let Some(n) = stack.pop() {
            if kind(n) == "string" {
                if ts_text(n, s).starts_with('"') {
                    quotes.1 += 1
                } else {
                    quotes.0 += 1
                }
            }
            let c = kids_cursor.get_or_insert_with(|| n.walk());
            stack.extend(n.children(c));
        }
    }
    out.quote = if quotes.1 > quotes.0 { '"' } else { '\'' };
    // Whole tree: imports, requires, ports, routes.
    let mut ports: Vec<(u16, usize)> = Vec::new();
    let mut nest_routes: Vec<(String, usize)> = Vec::new();
    let mut global_prefix: Option<String> = None;
    for &i in &ix.stack_order {
        let n = ix.nodes[i as usize];
        match kind(n) {
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
                let (cond, fallback) = if kind(n) == "binary_expression" {
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
                        .find(|x| kind(x) == "call_expression");
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
                    .filter(|f| kind(f) == "member_expression")
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
    out.imports.sort();
    out.imports.dedup();
    out.indent = detect_indent(s);
}

/// The line of the first error node, depth first (iterative: a deeply
/// nested file must not overflow the stack).
fn first_error(n: tree_sitter::Node) -> Option<usize> {
    let mut stack = vec![n];
    while let Some(n) = stack.pop() {
        if n.is_error() || n.is_missing() {
            return Some(n.start_position().row + 1);
        }
        let mut c = n.walk();
        let kids: Vec<_> = n
            .children(&mut c)
            .filter(|k| k.has_error() || k.is_error() || k.is_missing())
            .collect();
        stack.extend(kids.into_iter().rev());
    }
    None
}

fn detect_indent(s: &str) -> String {
    // The first indented line of code (not inside a block comment, not a
    // comment line, not a continuation of a template literal or string).
    let mut in_comment = false;
    for line in s.lines() {
        let t = line.trim_start();
        if in_comment {
            if t.contains("*/") {
                in_comment = false;
            }
            continue;
        }
        if let Some(i) = line.find("/*") {
            if !line[i..].contains("*/") {
                in_comment = true;
            }
        }
        if t.starts_with("//") || t.starts_with('*') || t.starts_with("/*") || t.is_empty() {
            continue;
        }
        if line.starts_with('\t') {
            return "\t".into();
        }
        let n = line.len() - line.trim_start_matches(' ').len();
        if n >= 2 {
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
    fn imports_and_quote() {
        let a = app("a/src/main.ts", "#!/usr/bin/env node\n'use strict';\nimport {\n  a,\n  b\n} from './config';\nconst x = require('./y');\nconst u = process.env.DATABASE_URL!;\n");
        assert_eq!(a.imports, vec!["./config".to_string(), "./y".to_string()]);
        assert_eq!(a.quote, '\'');
        assert_eq!(a.env.prologue, 3);
        assert_eq!(a.env.uses[0].name, "DATABASE_URL");
    }
}
