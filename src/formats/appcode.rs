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

fn re(cell: &'static std::sync::OnceLock<regex::Regex>, pat: &str) -> &'static regex::Regex {
    cell.get_or_init(|| regex::Regex::new(pat).unwrap())
}

pub fn parse(file: usize, src: &SourceFile) -> AppFile {
    let mut out = scan_regex(file, src);
    syntax(src, &mut out);
    out
}

fn scan_regex(file: usize, src: &SourceFile) -> AppFile {
    static LISTEN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    static FALLBACK: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    static ROUTE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    static NEST: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    static PREFIX: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let listen = re(&LISTEN, r"\.listen\(\s*(\d{2,5})\b");
    let fallback = re(
        &FALLBACK,
        r#"env\.PORT\b[^;\n]{0,40}?(?:\|\||\?\?|:)\s*['"]?(\d{2,5})\b"#,
    );
    let route = re(
        &ROUTE,
        r#"\.(?:get|all|head|use)\(\s*['"`](/[A-Za-z0-9._~/-]*health[A-Za-z0-9._~/-]*)['"`]"#,
    );
    let nest = re(
        &NEST,
        r#"@Get\(\s*['"`]/?([A-Za-z0-9._~/-]*health[A-Za-z0-9._~/-]*)['"`]"#,
    );
    let prefix = re(
        &PREFIX,
        r#"setGlobalPrefix\(\s*['"`]/?([A-Za-z0-9._~-]+)['"`]"#,
    );
    let mut out = AppFile {
        file,
        ..Default::default()
    };
    let mut global_prefix = None;
    for (i, line) in src.text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with("//") || t.starts_with('*') || t.starts_with("/*") {
            continue;
        }
        let ln = i + 1;
        for c in listen
            .captures_iter(line)
            .chain(fallback.captures_iter(line))
        {
            if let Ok(p) = c[1].parse::<u16>() {
                if p > 0 && !out.ports.iter().any(|(x, _)| *x == p) {
                    out.ports.push((p, ln));
                }
            }
        }
        for c in route.captures_iter(line) {
            out.health_routes.push((c[1].to_string(), ln));
        }
        for c in nest.captures_iter(line) {
            out.health_routes.push((format!("/{}", &c[1]), ln));
        }
        if let Some(c) = prefix.captures(line) {
            global_prefix = Some(c[1].to_string());
        }
    }
    if let Some(p) = global_prefix {
        // Nest routes sit under the global prefix; express routes found with
        // `.get(` are left as written.
        for (r, ln) in out.health_routes.iter_mut() {
            if src.line_text(*ln).contains("@Get") {
                *r = format!("/{p}{r}");
            }
        }
    }
    out
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
    // Whole tree: env reads, imports, requires, getOrThrow.
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
            "call_expression" => {
                let f = n
                    .child_by_field_name("function")
                    .map(|f| ts_text(f, s))
                    .unwrap_or("");
                let first_arg = n
                    .child_by_field_name("arguments")
                    .and_then(|a| a.named_child(0))
                    .and_then(|a| string_value(a, s));
                if (f == "require" || f == "import")
                    && first_arg.as_deref().is_some_and(|a| a.starts_with('.'))
                {
                    out.imports.push(first_arg.clone().unwrap());
                }
                if f.ends_with(".getOrThrow") {
                    if let Some(name) = first_arg {
                        out.env_reads.push(EnvRead {
                            name,
                            required: true,
                            line: line_of(n.start_byte()),
                        });
                    }
                }
            }
            _ => {}
        }
        let mut c = n.walk();
        stack.extend(n.children(&mut c));
    }
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
    let Some(base) = crate::project::join(dir, spec) else {
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

    #[test]
    fn ports_and_routes() {
        let s = SourceFile::from_text(
            "a/src/main.ts",
            Path::new("x"),
            "const port = process.env.PORT || 8080;\n// app.get('/old-health')\napp.get('/gateway-health', (req, res) => res.send('ok'));\nserver.listen(port);\n",
            0o644,
        );
        let a = parse(0, &s);
        assert_eq!(a.ports, vec![(8080, 1)]);
        assert_eq!(a.health_routes, vec![("/gateway-health".to_string(), 3)]);
        assert!(is_entry_path("apps/x/src/main.ts"));
        assert!(!is_entry_path("apps/x/lib/main.ts"));
    }

    #[test]
    fn env_reads_imports_and_insertion_point() {
        let s = SourceFile::from_text(
            "a/src/main.ts",
            Path::new("x"),
            "#!/usr/bin/env node\n'use strict';\nimport {\n  a,\n  b\n} from './config';\nconst x = require('./y');\nconst u = process.env.DATABASE_URL!;\nconst p = process.env.PORT ?? 3;\nif (process.env.DEBUG) {}\nconnect(process.env['REDIS_URL']);\nconfig.getOrThrow<string>('JWT_SECRET');\n",
            0o644,
        );
        let a = parse(0, &s);
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
        let s = SourceFile::from_text(
            "a/src/main.ts",
            Path::new("x"),
            "const { DATABASE_URL, PORT = '3000', API: apiKey } = process.env;\n",
            0o644,
        );
        let a = parse(0, &s);
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
        let s = SourceFile::from_text(
            "a/src/main.ts",
            Path::new("x"),
            "import x from \"y\";\n\nconst requiredEnvVars = [\"DATABASE_URL\"];\n",
            0o644,
        );
        let a = parse(0, &s);
        let g = a.guard.unwrap();
        assert_eq!(g.names, vec!["DATABASE_URL"]);
        assert_eq!(g.quote, '"');
        assert_eq!(
            &s.text[..g.insert_at],
            "import x from \"y\";\n\nconst requiredEnvVars = [\"DATABASE_URL\""
        );
        assert_eq!(a.insert_after_line, 1);
    }
}
