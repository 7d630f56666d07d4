//! What a service's own code says about serving: where it starts a server
//! (`listen`, `createServer`, a framework bootstrap) and with which port
//! expression, and which routes it declares (NestJS controllers under the
//! global prefix and URI versioning; Express / Fastify / Koa / Hono routers
//! and where they are mounted). Read from the TypeScript syntax tree the app
//! model already parses (one parse per file); resolved across a service's
//! modules by [`resolve_routes`].

use crate::formats::treesitter::kind;
use std::collections::{HashMap, HashSet};

/// How a port is written at a `listen` call, after following local
/// constants: a literal, or an environment variable with its fallback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortExpr {
    Literal(u16),
    Env {
        name: String,
        default: Option<u16>,
    },
    /// Something prodsafe cannot evaluate (a config object, a function).
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenKind {
    /// An HTTP server (Express, Nest, Fastify, Koa, `http.createServer`).
    Http,
    /// A plain TCP server (`net.createServer`) or an unknown server kind.
    Tcp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub line: usize,
    pub kind: ListenKind,
    pub port: PortExpr,
}

/// A route registered on a receiver (`app.get('/x')`, `router.get('/x')`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub receiver: String,
    pub path: String,
    pub line: usize,
}

/// `recv.use('/prefix', target)` / `register(target, { prefix })`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub receiver: String,
    pub prefix: String,
    /// An identifier, or `require:./spec` for `require('./spec')`.
    pub target: String,
    pub line: usize,
}

/// A NestJS controller: `@Controller('users')` with its GET-able methods.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Controller {
    pub path: String,
    pub version: Option<String>,
    /// (path, method version, line)
    pub routes: Vec<(String, Option<String>, usize)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WebFacts {
    pub listeners: Vec<Listener>,
    /// The file creates a Nest microservice only (Kafka, RMQ, TCP transport):
    /// its `listen()` serves no HTTP.
    pub nest_microservice_only: bool,
    /// `NestFactory.create(...)` appears.
    pub nest_http: bool,
    pub routes: Vec<Route>,
    pub mounts: Vec<Mount>,
    pub controllers: Vec<Controller>,
    /// `app.setGlobalPrefix('api', { exclude: [...] })`: (prefix, excluded, line)
    pub global_prefix: Option<(String, Vec<String>, usize)>,
    /// `enableVersioning({ type: VersioningType.URI, defaultVersion })`:
    /// Some(default version) when URI versioning is on.
    pub uri_versioning: Option<Option<String>>,
    /// Receivers created as applications (`express()`, `fastify()`,
    /// `new Koa()`, `new Hono()`).
    pub app_vars: Vec<String>,
    /// Router variables with their own prefix (`new Router({ prefix })`).
    pub routers: Vec<(String, String)>,
    /// Imports: (local name, module specifier, imported name or `default`).
    pub bindings: Vec<(String, String, String)>,
    /// Exports: (exported name or `default`, local name).
    pub exports: Vec<(String, String)>,
    /// `http.createServer((req, res) => ...)` whose handler never looks at
    /// `req.url`: it answers every path the same way (line).
    pub catch_all: Option<usize>,
    /// `http://host:port` literals (a gateway's proxy targets): (host, port, line).
    pub urls: Vec<(String, u16, usize)>,
    /// Functions by name with their parameter names (`function f(app)`,
    /// `const f = (app) => ...`): routes registered on a parameter belong to
    /// whatever the callers pass.
    pub functions: Vec<(String, Vec<String>)>,
    /// Calls passing an identifier: (callee, argument index, argument).
    pub calls: Vec<(String, usize, String)>,
    /// `app.useGlobalGuards(...)` / a `passport.authenticate` / auth
    /// middleware applied to the whole app: a route may answer 401 (line).
    pub global_guard: Option<usize>,
}

fn text<'a>(n: tree_sitter::Node, s: &'a str) -> &'a str {
    &s[n.byte_range()]
}

/// An `import_specifier` / `export_specifier` (`name` or `name as alias`):
/// (the alias, or the name when there is none; the name).
/// An import specifier's (local name, imported name): `{ a as b }` is
/// `(b, a)`, `{ a }` is `(a, a)`.
pub(crate) fn specifier(x: tree_sitter::Node, s: &str) -> Option<(String, String)> {
    let name = text(x.child_by_field_name("name")?, s).to_string();
    let alias = x
        .child_by_field_name("alias")
        .map_or_else(|| name.clone(), |k| text(k, s).to_string());
    Some((alias, name))
}

fn string_value(n: tree_sitter::Node, s: &str) -> Option<String> {
    match kind(n) {
        "string" => Some(
            text(n, s)
                .trim_matches(|c| c == '"' || c == '\'')
                .to_string(),
        ),
        "template_string" if !text(n, s).contains("${") => {
            Some(text(n, s).trim_matches('`').to_string())
        }
        _ => None,
    }
}

fn port_number(n: tree_sitter::Node, s: &str) -> Option<u16> {
    match kind(n) {
        "number" => text(n, s).parse::<u16>().ok().filter(|p| *p > 0),
        "string" => string_value(n, s)?.parse::<u16>().ok().filter(|p| *p > 0),
        _ => None,
    }
}

fn env_var_of(n: tree_sitter::Node, s: &str) -> Option<String> {
    // process.env.X / process.env['X']
    if matches!(kind(n), "member_expression" | "subscript_expression") {
        let obj = n.child_by_field_name("object")?;
        if text(obj, s).replace(char::is_whitespace, "") == "process.env" {
            return match kind(n) {
                "member_expression" => {
                    Some(text(n.child_by_field_name("property")?, s).to_string())
                }
                _ => string_value(n.child_by_field_name("index")?, s),
            };
        }
    }
    // config.get('PORT') / configService.get<number>('PORT', 3000) / getOrThrow
    if kind(n) == "call_expression" {
        let f = n.child_by_field_name("function")?;
        let prop = f
            .child_by_field_name("property")
            .map(|p| text(p, s))
            .unwrap_or("");
        if matches!(prop, "get" | "getOrThrow") {
            let a0 = n.child_by_field_name("arguments")?.named_child(0)?;
            let v = string_value(a0, s)?;
            if v.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            {
                return Some(v);
            }
        }
    }
    None
}

/// Evaluates a port expression: env variables read, literal fallbacks,
/// local constants followed (a few levels).
fn eval_port(
    n: tree_sitter::Node,
    s: &str,
    consts: &HashMap<String, tree_sitter::Node>,
    depth: usize,
) -> PortExpr {
    if depth > 4 {
        return PortExpr::Unknown;
    }
    let mut env: Option<String> = None;
    let mut literals: Vec<u16> = Vec::new();
    let mut unknown = false;
    let mut stack = vec![n];
    let mut kids_cursor: Option<tree_sitter::TreeCursor> = None;
    while let Some(x) = stack.pop() {
        if let Some(name) = env_var_of(x, s) {
            env.get_or_insert(name);
            // `config.get('PORT', 3000)`: the second argument is the default.
            if kind(x) == "call_expression" {
                if let Some(d) = x
                    .child_by_field_name("arguments")
                    .and_then(|a| a.named_child(1))
                    .and_then(|d| port_number(d, s))
                {
                    literals.push(d);
                }
            }
            continue;
        }
        match kind(x) {
            "number" | "string" => {
                // `parseInt(x, 10)`: the radix is no port.
                let is_radix = x.parent().is_some_and(|a| {
                    kind(a) == "arguments"
                        && a.named_child(1).is_some_and(|c| c.id() == x.id())
                        && a.parent()
                            .and_then(|c| c.child_by_field_name("function"))
                            .is_some_and(|f| text(f, s).ends_with("parseInt"))
                });
                if !is_radix {
                    if let Some(p) = port_number(x, s) {
                        literals.push(p);
                    }
                }
                continue;
            }
            "identifier" => {
                match consts.get(text(x, s)) {
                    Some(v) if v.id() != n.id() => match eval_port(*v, s, consts, depth + 1) {
                        PortExpr::Literal(p) => literals.push(p),
                        PortExpr::Env { name, default } => {
                            env.get_or_insert(name);
                            literals.extend(default);
                        }
                        PortExpr::Unknown => unknown = true,
                    },
                    _ => {
                        // `Number`, `parseInt`, `String` are wrappers.
                        if !matches!(text(x, s), "Number" | "parseInt" | "String" | "undefined") {
                            unknown = true;
                        }
                    }
                }
                continue;
            }
            "member_expression" => {
                unknown = true;
                continue;
            }
            _ => {}
        }
        let c = kids_cursor.get_or_insert_with(|| x.walk());
        stack.extend(x.named_children(c));
    }
    match env {
        Some(name) => PortExpr::Env {
            name,
            default: literals.last().copied(),
        },
        None if !unknown && literals.len() == 1 => PortExpr::Literal(literals[0]),
        None => PortExpr::Unknown,
    }
}

fn object_value<'a>(
    obj: tree_sitter::Node<'a>,
    s: &str,
    key: &str,
) -> Option<tree_sitter::Node<'a>> {
    if kind(obj) != "object" {
        return None;
    }
    let mut c = obj.walk();
    let found = obj.named_children(&mut c).find_map(|p| match kind(p) {
        "pair" => p
            .child_by_field_name("key")
            .filter(|k| text(*k, s).trim_matches(|c| c == '"' || c == '\'') == key)
            .and_then(|_| p.child_by_field_name("value")),
        "shorthand_property_identifier" if text(p, s) == key => Some(p),
        _ => None,
    });
    found
}

fn decorator_call<'a>(
    d: tree_sitter::Node<'a>,
    s: &str,
) -> Option<(String, Option<tree_sitter::Node<'a>>)> {
    let mut c = d.walk();
    let inner = d.named_children(&mut c).next()?;
    match kind(inner) {
        "call_expression" => {
            let name = text(inner.child_by_field_name("function")?, s).to_string();
            let arg = inner
                .child_by_field_name("arguments")
                .and_then(|a| a.named_child(0));
            Some((name, arg))
        }
        "identifier" => Some((text(inner, s).to_string(), None)),
        _ => None,
    }
}

/// `app.use(authMiddleware)` / `app.use(passport.authenticate(...))`:
/// no path, and an argument whose name says auth.
fn path_is_none_and_auth(args: Option<tree_sitter::Node>, s: &str) -> bool {
    let Some(a) = args else { return false };
    let Some(first) = a.named_child(0) else {
        return false;
    };
    if matches!(kind(first), "string" | "template_string") {
        return false;
    }
    let t = text(first, s).to_ascii_lowercase();
    ["auth", "jwt", "passport", "guard", "session"]
        .iter()
        .any(|k| t.contains(k))
}

fn clean_path(p: &str) -> String {
    p.trim_matches('/').to_string()
}

const HTTP_METHODS: &[&str] = &["get", "all", "head", "use", "route"];
const NEST_GETS: &[&str] = &["Get", "All", "Head"];

/// Extracts listeners and routes from a parsed file.
pub fn extract(
    ix: &crate::formats::treesitter::TreeIndex,
    s: &str,
    line_of: &dyn Fn(usize) -> usize,
) -> WebFacts {
    let mut w = WebFacts::default();
    // Most modules serve nothing: skip the walk when no word of a server,
    // a route or a router appears in the text.
    const WORDS: &[&str] = &[
        "listen",
        "Controller",
        "Router",
        ".get(",
        ".all(",
        ".head(",
        ".use(",
        ".route(",
        "register(",
        "createServer",
        "serve(",
        "setGlobalPrefix",
        "enableVersioning",
        "NestFactory",
        "express",
        "astify",
        "Koa",
        "Hono",
    ];
    if !WORDS.iter().any(|k| s.contains(k)) {
        return w;
    }
    // Constants anywhere in the file: `const port = process.env.PORT ?? 3000`.
    let mut consts: HashMap<String, tree_sitter::Node> = HashMap::new();
    // Every named node in document order.
    let all: Vec<tree_sitter::Node> = ix.nodes.iter().copied().filter(|n| n.is_named()).collect();
    for n in &all {
        if kind(n) == "variable_declarator" {
            if let (Some(name), Some(v)) = (
                n.child_by_field_name("name")
                    .filter(|x| kind(x) == "identifier"),
                n.child_by_field_name("value"),
            ) {
                let name = text(name, s).to_string();
                let vt = text(v, s).replace(char::is_whitespace, "");
                consts.entry(name.clone()).or_insert(v);
                if vt.starts_with("express()")
                    || vt.starts_with("fastify(")
                    || vt.starts_with("Fastify(")
                    || vt.starts_with("newKoa(")
                    || vt.starts_with("newHono(")
                    || vt.starts_with("awaitNestFactory.create(")
                    || vt.starts_with("NestFactory.create(")
                {
                    w.app_vars.push(name.clone());
                }
                if vt.starts_with("express.Router(")
                    || vt.starts_with("Router(")
                    || vt.starts_with("newRouter(")
                    || vt.starts_with("newHono(")
                {
                    let prefix = if kind(v) == "new_expression" {
                        v.child_by_field_name("arguments")
                            .and_then(|a| a.named_child(0))
                            .and_then(|o| object_value(o, s, "prefix"))
                            .and_then(|p| string_value(p, s))
                            .map(|p| clean_path(&p))
                            .unwrap_or_default()
                    } else {
                        String::new()
                    };
                    w.routers.push((name, prefix));
                }
            }
        }
    }
    static URL: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let url = URL.get_or_init(|| {
        regex::Regex::new(r"^(?:https?|ws)://([A-Za-z0-9_-]+):(\d{2,5})(?:/|$)").unwrap()
    });
    for n in all {
        match kind(n) {
            "string" | "template_string" => {
                if let Some(v) = string_value(n, s) {
                    if let Some(c) = url.captures(&v) {
                        if let Ok(port) = c[2].parse::<u16>() {
                            if &c[1] != "localhost" {
                                w.urls
                                    .push((c[1].to_string(), port, line_of(n.start_byte())));
                            }
                        }
                    }
                }
            }
            "import_statement" => {
                let Some(spec) = n
                    .child_by_field_name("source")
                    .and_then(|x| string_value(x, s))
                else {
                    continue;
                };
                let mut stack = vec![n];
                let mut kids_cursor: Option<tree_sitter::TreeCursor> = None;
                while let Some(x) = stack.pop() {
                    match kind(x) {
                        "import_clause" => {
                            let mut c = x.walk();
                            for k in x.named_children(&mut c) {
                                if kind(k) == "identifier" {
                                    w.bindings.push((
                                        text(k, s).to_string(),
                                        spec.clone(),
                                        "default".into(),
                                    ));
                                } else {
                                    stack.push(k);
                                }
                            }
                        }
                        "import_specifier" => {
                            if let Some((local, name)) = specifier(x, s) {
                                w.bindings.push((local, spec.clone(), name));
                            }
                        }
                        _ => {
                            let c = kids_cursor.get_or_insert_with(|| x.walk());
                            stack.extend(x.named_children(c));
                        }
                    }
                }
            }
            "export_statement" => {
                let t = text(n, s);
                if let Some(v) = n.child_by_field_name("value") {
                    // export default router; export default function f() {}
                    let local = v
                        .child_by_field_name("name")
                        .map(|x| text(x, s).to_string())
                        .unwrap_or_else(|| text(v, s).to_string());
                    w.exports.push(("default".into(), local));
                } else if let Some(d) = n.child_by_field_name("declaration") {
                    if let Some(name) = d.child_by_field_name("name") {
                        let nm = text(name, s).to_string();
                        if t.starts_with("export default") {
                            w.exports.push(("default".into(), nm.clone()));
                        }
                        w.exports.push((nm.clone(), nm));
                    }
                    let mut c = d.walk();
                    for decl in d.named_children(&mut c) {
                        if let Some(name) = decl.child_by_field_name("name") {
                            let nm = text(name, s).to_string();
                            if t.starts_with("export default") {
                                w.exports.push(("default".into(), nm.clone()));
                            }
                            w.exports.push((nm.clone(), nm));
                        }
                    }
                } else if t.starts_with("export {") {
                    let mut stack = vec![n];
                    let mut kids_cursor: Option<tree_sitter::TreeCursor> = None;
                    while let Some(x) = stack.pop() {
                        if kind(x) == "export_specifier" {
                            if let Some(pair) = specifier(x, s) {
                                w.exports.push(pair);
                            }
                        }
                        let c = kids_cursor.get_or_insert_with(|| x.walk());
                        stack.extend(x.named_children(c));
                    }
                }
            }
            // module.exports = router; exports.x = router
            "assignment_expression" => {
                let (Some(l), Some(r)) = (
                    n.child_by_field_name("left"),
                    n.child_by_field_name("right"),
                ) else {
                    continue;
                };
                let lt = text(l, s).replace(char::is_whitespace, "");
                if kind(r) == "identifier" {
                    if lt == "module.exports" {
                        w.exports.push(("default".into(), text(r, s).to_string()));
                    } else if let Some(name) = lt
                        .strip_prefix("module.exports.")
                        .or_else(|| lt.strip_prefix("exports."))
                    {
                        w.exports.push((name.to_string(), text(r, s).to_string()));
                    }
                }
            }
            "class_declaration" => nest_controller(n, s, line_of, &mut w),
            "function_declaration" | "arrow_function" | "function_expression" | "function" => {
                let name = match kind(n) {
                    "function_declaration" => n
                        .child_by_field_name("name")
                        .map(|x| text(x, s).to_string()),
                    _ => n
                        .parent()
                        .filter(|p| kind(p) == "variable_declarator")
                        .and_then(|p| p.child_by_field_name("name"))
                        .map(|x| text(x, s).to_string()),
                };
                let params = n.child_by_field_name("parameters").map(|ps| {
                    let mut c = ps.walk();
                    ps.named_children(&mut c)
                        .map(|p| {
                            let id = p.child_by_field_name("pattern").unwrap_or(p);
                            text(id, s).to_string()
                        })
                        .collect::<Vec<_>>()
                });
                // `(app) => ...` with a bare identifier parameter
                let params = params.or_else(|| {
                    n.child_by_field_name("parameter")
                        .map(|p| vec![text(p, s).to_string()])
                });
                if let (Some(name), Some(params)) = (name, params) {
                    w.functions.push((name, params));
                }
            }
            "call_expression" => {
                let Some(func) = n.child_by_field_name("function") else {
                    continue;
                };
                let ft = text(func, s).replace(char::is_whitespace, "");
                let args = n.child_by_field_name("arguments");
                let arg0 = args.and_then(|a| a.named_child(0));
                let arg1 = args.and_then(|a| a.named_child(1));
                if ft == "NestFactory.createMicroservice" {
                    w.nest_microservice_only = true;
                }
                if ft == "NestFactory.create" {
                    w.nest_http = true;
                }
                if ft == "http.createServer" || ft == "https.createServer" || ft == "createServer" {
                    if let Some(h) = arg0.filter(|a| {
                        matches!(
                            kind(a),
                            "arrow_function" | "function_expression" | "function"
                        )
                    }) {
                        let body = text(h, s);
                        if !body.contains(".url")
                            && !body.contains("pathname")
                            && !body.contains("emit(")
                        {
                            w.catch_all = Some(line_of(n.start_byte()));
                        }
                    }
                }
                // const x = require('./r') is a default binding.
                if ft == "require" {
                    if let (Some(spec), Some(decl)) = (
                        arg0.and_then(|a| string_value(a, s)),
                        n.parent().filter(|p| kind(p) == "variable_declarator"),
                    ) {
                        if let Some(name) = decl
                            .child_by_field_name("name")
                            .filter(|x| kind(x) == "identifier")
                        {
                            w.bindings
                                .push((text(name, s).to_string(), spec, "default".into()));
                        }
                    }
                }
                // serve({ fetch: app.fetch, port }) (Hono / Bun style)
                if ft == "serve" {
                    if let Some(p) = arg0.and_then(|o| object_value(o, s, "port")) {
                        w.listeners.push(Listener {
                            line: line_of(n.start_byte()),
                            kind: ListenKind::Http,
                            port: eval_port(p, s, &consts, 0),
                        });
                    }
                }
                if kind(func) == "identifier" {
                    if let Some(a) = args {
                        let mut c = a.walk();
                        for (i, x) in a.named_children(&mut c).enumerate() {
                            if kind(x) == "identifier" {
                                w.calls.push((ft.clone(), i, text(x, s).to_string()));
                            }
                        }
                    }
                }
                if kind(func) != "member_expression" {
                    continue;
                }
                let method = func
                    .child_by_field_name("property")
                    .map(|p| text(p, s))
                    .unwrap_or("");
                let receiver = func
                    .child_by_field_name("object")
                    .map(|o| text(o, s).to_string())
                    .unwrap_or_default();
                if method == "useGlobalGuards"
                    || (method == "use"
                        && w.app_vars.contains(&receiver)
                        && path_is_none_and_auth(args, s))
                {
                    w.global_guard.get_or_insert(line_of(n.start_byte()));
                }
                match method {
                    "listen" => {
                        let port_node = match arg0 {
                            Some(o) if kind(o) == "object" => object_value(o, s, "port"),
                            other => other,
                        };
                        let listen_kind = if receiver.contains("net.createServer")
                            || receiver.starts_with("net.")
                            || receiver.contains("grpc")
                        {
                            ListenKind::Tcp
                        } else {
                            ListenKind::Http
                        };
                        w.listeners.push(Listener {
                            line: line_of(n.start_byte()),
                            kind: listen_kind,
                            port: port_node
                                .map(|p| eval_port(p, s, &consts, 0))
                                .unwrap_or(PortExpr::Unknown),
                        });
                    }
                    "setGlobalPrefix" => {
                        if let Some(pre) = arg0.and_then(|a| string_value(a, s)) {
                            let mut excluded = Vec::new();
                            if let Some(ex) = arg1
                                .and_then(|o| object_value(o, s, "exclude"))
                                .filter(|a| kind(a) == "array")
                            {
                                let mut c = ex.walk();
                                for e in ex.named_children(&mut c) {
                                    let v = string_value(e, s).or_else(|| {
                                        object_value(e, s, "path").and_then(|p| string_value(p, s))
                                    });
                                    if let Some(v) = v {
                                        excluded.push(clean_path(&v));
                                    }
                                }
                            }
                            w.global_prefix =
                                Some((clean_path(&pre), excluded, line_of(n.start_byte())));
                        }
                    }
                    "enableVersioning" => {
                        let o = arg0;
                        let ty = o
                            .and_then(|o| object_value(o, s, "type"))
                            .map(|t| text(t, s).to_string());
                        // URI is Nest's default versioning type.
                        if ty.is_none_or(|t| t.ends_with("URI")) {
                            let default = o
                                .and_then(|o| object_value(o, s, "defaultVersion"))
                                .and_then(|d| string_value(d, s));
                            w.uri_versioning = Some(default);
                        }
                    }
                    "register" => {
                        // fastify.register(plugin, { prefix: '/api' })
                        if let Some(t) = arg0.filter(|a| kind(a) == "identifier") {
                            let prefix = arg1
                                .and_then(|o| object_value(o, s, "prefix"))
                                .and_then(|p| string_value(p, s))
                                .unwrap_or_default();
                            w.mounts.push(Mount {
                                receiver,
                                prefix: clean_path(&prefix),
                                target: text(t, s).to_string(),
                                line: line_of(n.start_byte()),
                            });
                        }
                    }
                    m if HTTP_METHODS.contains(&m) => {
                        let path = arg0.and_then(|a| string_value(a, s));
                        let targets: Vec<tree_sitter::Node> = match &path {
                            Some(_) => args
                                .map(|a| {
                                    let mut c = a.walk();
                                    a.named_children(&mut c).skip(1).collect()
                                })
                                .unwrap_or_default(),
                            None => arg0.into_iter().collect(),
                        };
                        if m == "use" {
                            // Mount every router-looking argument.
                            for t in targets {
                                let target = match kind(t) {
                                    "identifier" => Some(text(t, s).to_string()),
                                    "call_expression"
                                        if t.child_by_field_name("function")
                                            .is_some_and(|f| text(f, s) == "require") =>
                                    {
                                        t.child_by_field_name("arguments")
                                            .and_then(|a| a.named_child(0))
                                            .and_then(|a| string_value(a, s))
                                            .map(|spec| format!("require:{spec}"))
                                    }
                                    // `router.routes()` (koa-router)
                                    "call_expression" => t
                                        .child_by_field_name("function")
                                        .and_then(|f| f.child_by_field_name("object"))
                                        .filter(|o| kind(o) == "identifier")
                                        .map(|o| text(o, s).to_string()),
                                    _ => None,
                                };
                                if let Some(target) = target {
                                    w.mounts.push(Mount {
                                        receiver: receiver.clone(),
                                        prefix: clean_path(path.as_deref().unwrap_or("")),
                                        target,
                                        line: line_of(n.start_byte()),
                                    });
                                }
                            }
                        } else if let Some(p) = path.filter(|p| p.starts_with('/') || p.is_empty())
                        {
                            // `app.route('/x').get(...)` registers on its own;
                            // a bare `.route('/x')` registers nothing GET-able.
                            if m == "route" {
                                let parent_get = n
                                    .parent()
                                    .filter(|x| kind(x) == "member_expression")
                                    .and_then(|x| x.child_by_field_name("property"))
                                    .is_some_and(|pr| matches!(text(pr, s), "get" | "all"));
                                if !parent_get {
                                    continue;
                                }
                            }
                            w.routes.push(Route {
                                receiver,
                                path: p,
                                line: line_of(n.start_byte()),
                            });
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    if w.nest_microservice_only && !w.nest_http {
        // A microservice's listen() serves its transport, not HTTP.
        w.listeners.clear();
    } else {
        w.nest_microservice_only = false;
    }
    w
}

fn nest_controller(
    class: tree_sitter::Node,
    s: &str,
    line_of: &dyn Fn(usize) -> usize,
    w: &mut WebFacts,
) {
    // Decorators sit before the class (as siblings under export) or inside it.
    let mut decorators: Vec<tree_sitter::Node> = Vec::new();
    let mut c = class.walk();
    decorators.extend(
        class
            .named_children(&mut c)
            .filter(|d| kind(d) == "decorator"),
    );
    if let Some(p) = class.parent().filter(|p| kind(p) == "export_statement") {
        let mut c = p.walk();
        decorators.extend(p.named_children(&mut c).filter(|d| kind(d) == "decorator"));
    }
    let mut ctrl: Option<Controller> = None;
    for d in &decorators {
        let Some((name, arg)) = decorator_call(*d, s) else {
            continue;
        };
        match name.as_str() {
            "Controller" => {
                let mut cc = Controller::default();
                match arg {
                    Some(a) if kind(a) == "object" => {
                        cc.path = object_value(a, s, "path")
                            .and_then(|p| string_value(p, s))
                            .map(|p| clean_path(&p))
                            .unwrap_or_default();
                        cc.version = object_value(a, s, "version").and_then(|v| string_value(v, s));
                    }
                    Some(a) => match string_value(a, s) {
                        Some(p) => cc.path = clean_path(&p),
                        None => return, // computed path: unknown
                    },
                    None => {}
                }
                ctrl = Some(cc);
            }
            "Version" => {
                if let Some(c) = ctrl.as_mut() {
                    c.version = arg.and_then(|a| string_value(a, s));
                }
            }
            _ => {}
        }
    }
    let Some(mut ctrl) = ctrl else { return };
    let Some(body) = class.child_by_field_name("body") else {
        return;
    };
    let mut c = body.walk();
    let members: Vec<tree_sitter::Node> = body.named_children(&mut c).collect();
    // In class bodies tree-sitter puts a method's decorators before it.
    let mut pending: Vec<tree_sitter::Node> = Vec::new();
    for m in members {
        if kind(m) == "decorator" {
            pending.push(m);
            continue;
        }
        let mut own: Vec<tree_sitter::Node> = std::mem::take(&mut pending);
        let mut mc = m.walk();
        own.extend(m.named_children(&mut mc).filter(|d| kind(d) == "decorator"));
        let mut route: Option<(String, usize)> = None;
        let mut version = None;
        for d in own {
            let Some((name, arg)) = decorator_call(d, s) else {
                continue;
            };
            if NEST_GETS.contains(&name.as_str()) {
                match arg {
                    None => route = Some((String::new(), line_of(d.start_byte()))),
                    Some(a) => {
                        if let Some(p) = string_value(a, s) {
                            route = Some((clean_path(&p), line_of(d.start_byte())));
                        }
                    }
                }
            } else if name == "Version" {
                version = arg.and_then(|a| string_value(a, s));
            }
        }
        if let Some((p, line)) = route {
            ctrl.routes.push((p, version, line));
        }
    }
    w.controllers.push(ctrl);
}

/// A route the code serves, with where it is declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedRoute {
    pub path: String,
    pub file: String,
    pub line: usize,
}

fn join_path(parts: &[&str]) -> String {
    let joined: Vec<&str> = parts
        .iter()
        .map(|p| p.trim_matches('/'))
        .filter(|p| !p.is_empty())
        .collect();
    format!("/{}", joined.join("/"))
}

/// Every GET-able route the service declares, with the prefixes its mounts,
/// Nest global prefix and URI versioning put in front. `files` are the
/// service's modules (entry first); `resolve(from, spec)` finds the file an
/// import names among them. Routes whose prefix cannot be known (a router
/// nothing mounts, a parameter) are left out.
pub fn resolve_routes(
    files: &[(&str, &WebFacts)],
    resolve: &dyn Fn(&str, &str) -> Option<String>,
) -> Vec<ResolvedRoute> {
    let mut out = Vec::new();
    let by_file: HashMap<&str, &WebFacts> = files.iter().map(|(f, w)| (*f, *w)).collect();
    // Nest: global prefix and versioning come from the bootstrap file.
    let prefix = files.iter().find_map(|(_, w)| w.global_prefix.clone());
    let versioning = files.iter().find_map(|(_, w)| w.uri_versioning.clone());
    for (file, w) in files {
        for c in &w.controllers {
            for (p, mv, line) in &c.routes {
                let rel = join_path(&[&c.path, p]);
                let excluded = prefix
                    .as_ref()
                    .is_some_and(|(_, ex, _)| ex.iter().any(|e| format!("/{e}") == rel));
                let gp = match &prefix {
                    Some((pre, _, _)) if !excluded => pre.as_str(),
                    _ => "",
                };
                let version = match &versioning {
                    Some(default) => mv
                        .clone()
                        .or_else(|| c.version.clone())
                        .or_else(|| default.clone())
                        .map(|v| format!("v{v}")),
                    None => None,
                };
                out.push(ResolvedRoute {
                    path: join_path(&[gp, version.as_deref().unwrap_or(""), &rel]),
                    file: file.to_string(),
                    line: *line,
                });
            }
        }
    }
    // Express-style: prefixes flow from application receivers through mounts.
    let mut prefixes: HashMap<(String, String), Vec<String>> = HashMap::new();
    let mut queue: Vec<(String, String, String)> = Vec::new();
    for (file, w) in files {
        for a in &w.app_vars {
            queue.push((file.to_string(), a.clone(), String::new()));
        }
    }
    let mut seen: HashSet<(String, String, String)> = HashSet::new();
    while let Some((file, recv, pre)) = queue.pop() {
        if !seen.insert((file.clone(), recv.clone(), pre.clone())) || seen.len() > 10_000 {
            continue;
        }
        let Some(w) = by_file.get(file.as_str()) else {
            continue;
        };
        let own = w
            .routers
            .iter()
            .find(|(n, _)| *n == recv)
            .map(|(_, p)| p.as_str())
            .unwrap_or("");
        let full = join_path(&[&pre, own]);
        prefixes
            .entry((file.clone(), recv.clone()))
            .or_default()
            .push(full.clone());
        // `f(recv)`: f's parameter at that position is recv.
        for (callee, idx, _) in w.calls.iter().filter(|(_, _, a)| *a == recv) {
            let target = if w.functions.iter().any(|(n, _)| n == callee) {
                Some((file.clone(), callee.clone()))
            } else if let Some((_, spec, name)) = w.bindings.iter().find(|(l, _, _)| l == callee) {
                resolve(&file, spec).and_then(|f| {
                    let tw = by_file.get(f.as_str())?;
                    let local = tw
                        .exports
                        .iter()
                        .find(|(e, _)| e == name)
                        .map(|(_, l)| l.clone())
                        .unwrap_or_else(|| name.clone());
                    Some((f, local))
                })
            } else {
                None
            };
            if let Some((tfile, fname)) = target {
                if let Some(param) = by_file
                    .get(tfile.as_str())
                    .and_then(|tw| tw.functions.iter().find(|(n, _)| *n == fname))
                    .and_then(|(_, ps)| ps.get(*idx))
                {
                    queue.push((tfile, param.clone(), full.clone()));
                }
            }
        }
        for m in w.mounts.iter().filter(|m| m.receiver == recv) {
            let next = join_path(&[&full, &m.prefix]);
            // Local router, imported router, or require('./x').
            let target = if let Some(spec) = m.target.strip_prefix("require:") {
                resolve(&file, spec).map(|f| (f, "default".to_string()))
            } else if w.routers.iter().any(|(n, _)| *n == m.target)
                || w.routes.iter().any(|r| r.receiver == m.target)
                || w.functions.iter().any(|(n, _)| *n == m.target)
            {
                Some((file.clone(), m.target.clone()))
            } else if let Some((_, spec, name)) = w.bindings.iter().find(|(l, _, _)| *l == m.target)
            {
                resolve(&file, spec).map(|f| (f, name.clone()))
            } else {
                None
            };
            let Some((tfile, name)) = target else {
                continue;
            };
            let local = if tfile == file {
                Some(name)
            } else {
                by_file.get(tfile.as_str()).and_then(|tw| {
                    tw.exports
                        .iter()
                        .find(|(e, _)| *e == name)
                        .map(|(_, l)| l.clone())
                        .or_else(|| {
                            // The module's only router.
                            let mut rs: Vec<&String> = tw.routers.iter().map(|(n, _)| n).collect();
                            rs.dedup();
                            (rs.len() == 1).then(|| rs[0].clone())
                        })
                })
            };
            if let Some(local) = local {
                // A plugin function (`register(plugin, { prefix })`): its
                // first parameter is the instance routes are added to.
                let plugin = by_file
                    .get(tfile.as_str())
                    .and_then(|tw| tw.functions.iter().find(|(n, _)| *n == local))
                    .and_then(|(_, ps)| ps.first().cloned());
                queue.push((tfile, plugin.unwrap_or(local), next));
            }
        }
    }
    for (file, w) in files {
        for r in &w.routes {
            if let Some(ps) = prefixes.get(&(file.to_string(), r.receiver.clone())) {
                for pre in ps {
                    out.push(ResolvedRoute {
                        path: join_path(&[pre, &r.path]),
                        file: file.to_string(),
                        line: r.line,
                    });
                }
            }
        }
    }
    out.retain(|r| !r.path.contains(':') && !r.path.contains('*') && !r.path.contains('('));
    // A plain handler that answers every path serves `/` too.
    for (file, w) in files {
        if let Some(line) = w.catch_all {
            out.push(ResolvedRoute {
                path: "/".into(),
                file: file.to_string(),
                line,
            });
        }
    }
    out.sort_by(|a, b| (&a.file, a.line, &a.path).cmp(&(&b.file, b.line, &b.path)));
    out.dedup();
    out
}

/// The route a probe should use: a health-like route, else `/` when the
/// code serves it. None when the code declares neither.
pub fn health_route(routes: &[ResolvedRoute]) -> Option<&ResolvedRoute> {
    // `health` anywhere in the last segment (`/gateway-health`,
    // `/health-check`); the others only as the whole segment, so a business
    // route such as `/orders/payment-status` is never taken for a probe.
    let last = |r: &ResolvedRoute| r.path.rsplit('/').next().unwrap_or("").to_ascii_lowercase();
    if let Some(r) = routes.iter().find(|r| last(r).contains("health")) {
        return Some(r);
    }
    const EXACT: &[&str] = &[
        "ping", "status", "ready", "readyz", "live", "livez", "alive",
    ];
    for w in EXACT {
        if let Some(r) = routes.iter().find(|r| last(r) == *w) {
            return Some(r);
        }
    }
    routes.iter().find(|r| r.path == "/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;
    use std::path::Path;

    fn facts(rel: &str, text: &str) -> WebFacts {
        crate::formats::appcode::parse(0, &SourceFile::from_text(rel, Path::new("x"), text, 0o644))
            .web
    }

    #[test]
    fn listen_ports() {
        let w = facts("a/src/main.ts", "const port = Number(process.env.PORT) || 6004;\nconst app = express();\napp.listen(port, '0.0.0.0');\n");
        assert_eq!(
            w.listeners,
            vec![Listener {
                line: 3,
                kind: ListenKind::Http,
                port: PortExpr::Env {
                    name: "PORT".into(),
                    default: Some(6004)
                }
            }]
        );
        let w = facts("a/src/main.ts", "const app = await NestFactory.create(AppModule);\nawait app.listen(parseInt(process.env.APP_PORT ?? '3000', 10));\n");
        assert_eq!(
            w.listeners[0].port,
            PortExpr::Env {
                name: "APP_PORT".into(),
                default: Some(3000)
            }
        );
        let w = facts(
            "a/src/main.ts",
            "const PORT = 8080;\nserver.listen({ port: PORT, host: '0.0.0.0' });\n",
        );
        assert_eq!(w.listeners[0].port, PortExpr::Literal(8080));
        let w = facts(
            "a/src/main.ts",
            "await app.listen(config.get('PORT', 4000));\n",
        );
        assert_eq!(
            w.listeners[0].port,
            PortExpr::Env {
                name: "PORT".into(),
                default: Some(4000)
            }
        );
        let w = facts("a/src/main.ts", "await app.listen(this.config.port);\n");
        assert_eq!(w.listeners[0].port, PortExpr::Unknown);
        // A Nest microservice (Kafka transport) serves no HTTP.
        let w = facts("a/src/main.ts", "const app = await NestFactory.createMicroservice(AppModule, { transport: Transport.KAFKA });\nawait app.listen();\n");
        assert!(w.listeners.is_empty());
        assert!(w.nest_microservice_only);
    }

    fn resolve_all(files: &[(&str, &str)]) -> Vec<String> {
        let parsed: Vec<(String, WebFacts)> = files
            .iter()
            .map(|(f, t)| (f.to_string(), facts(f, t)))
            .collect();
        let refs: Vec<(&str, &WebFacts)> = parsed.iter().map(|(f, w)| (f.as_str(), w)).collect();
        let names: Vec<String> = files.iter().map(|(f, _)| f.to_string()).collect();
        let resolve = |from: &str, spec: &str| {
            crate::formats::appcode::resolve_import(from, spec)
                .into_iter()
                .find(|c| names.contains(c))
        };
        resolve_routes(&refs, &resolve)
            .into_iter()
            .map(|r| r.path)
            .collect()
    }

    #[test]
    fn nest_prefix_controllers_versioning() {
        let r = resolve_all(&[
            ("s/src/main.ts", "import { AppModule } from './app.module';\nasync function b() {\n  const app = await NestFactory.create(AppModule);\n  app.setGlobalPrefix('api/v2', { exclude: ['ping'] });\n  await app.listen(3000);\n}\n"),
            ("s/src/health.controller.ts", "@Controller('health')\nexport class HealthController {\n  @Get()\n  check() {}\n  @Post('x')\n  p() {}\n}\n@Controller()\nexport class PingController {\n  @Get('ping')\n  ping() {}\n}\n"),
        ]);
        assert_eq!(r, vec!["/api/v2/health", "/ping"]);
        let r = resolve_all(&[
            ("s/src/main.ts", "const app = await NestFactory.create(AppModule);\napp.enableVersioning({ type: VersioningType.URI, defaultVersion: '1' });\napp.setGlobalPrefix('api');\n"),
            ("s/src/c.ts", "@Controller({ path: 'health-check', version: '2' })\nexport class C {\n  @Get()\n  h() {}\n}\n@Controller('status')\nexport class D {\n  @Get()\n  h() {}\n}\n"),
        ]);
        assert_eq!(r, vec!["/api/v2/health-check", "/api/v1/status"]);
    }

    #[test]
    fn express_router_mounted() {
        let r = resolve_all(&[
            ("s/src/index.ts", "import express from 'express';\nimport api from './routes';\nconst app = express();\napp.use('/api', api);\napp.listen(3000);\n"),
            ("s/src/routes.ts", "import { Router } from 'express';\nconst router = Router();\nrouter.get('/health', (req, res) => res.send('ok'));\nrouter.get('/users/:id', h);\nexport default router;\n"),
        ]);
        assert_eq!(r, vec!["/api/health"]);
        // A router nothing mounts gives no route.
        let r = resolve_all(&[(
            "s/src/index.ts",
            "const r = express.Router();\nr.get('/health', h);\n",
        )]);
        assert!(r.is_empty());
        // koa-router with a prefix, mounted through routes()
        let r = resolve_all(&[("s/src/index.ts", "const app = new Koa();\nconst router = new Router({ prefix: '/v1' });\nrouter.get('/ping', h);\napp.use(router.routes());\napp.listen(80);\n")]);
        assert_eq!(r, vec!["/v1/ping"]);
    }

    #[test]
    fn routes_added_through_helpers_and_plugins() {
        // Express: a helper receives the app.
        let r = resolve_all(&[
            ("s/src/main.ts", "import { mountRoutes } from './routes';\nconst app = express();\nmountRoutes(app);\napp.listen(3000);\n"),
            ("s/src/routes.ts", "export function mountRoutes(server: Express) {\n  server.get('/healthz', h);\n}\n"),
        ]);
        assert_eq!(r, vec!["/healthz"]);
        // Fastify: a plugin registered with a prefix.
        let r = resolve_all(&[
            ("s/src/main.ts", "import health from './health';\nconst app = Fastify();\napp.register(health, { prefix: '/api' });\napp.listen({ port: 3000 });\n"),
            ("s/src/health.ts", "export default async function health(instance) {\n  instance.get('/health', async () => 'ok');\n}\n"),
        ]);
        assert_eq!(r, vec!["/api/health"]);
    }

    #[test]
    fn global_guards() {
        let w = facts(
            "a/src/main.ts",
            "const app = await NestFactory.create(M);\napp.useGlobalGuards(new JwtGuard());\n",
        );
        assert_eq!(w.global_guard, Some(2));
        let w = facts(
            "a/src/main.ts",
            "const app = express();\napp.use(express.json());\napp.use(requireAuth);\n",
        );
        assert_eq!(w.global_guard, Some(3));
        let w = facts(
            "a/src/main.ts",
            "const app = express();\napp.use('/admin', requireAuth);\napp.use(cors());\n",
        );
        assert_eq!(w.global_guard, None);
    }

    #[test]
    fn health_route_choice() {
        let r = |paths: &[&str]| {
            let v: Vec<ResolvedRoute> = paths
                .iter()
                .map(|p| ResolvedRoute {
                    path: p.to_string(),
                    file: "f".into(),
                    line: 1,
                })
                .collect();
            health_route(&v).map(|x| x.path.clone())
        };
        assert_eq!(r(&["/orders/payment-status", "/"]), Some("/".into()));
        assert_eq!(
            r(&["/ping", "/v1/health-check"]),
            Some("/v1/health-check".into())
        );
        assert_eq!(r(&["/users", "/status"]), Some("/status".into()));
        assert_eq!(r(&["/users"]), None);
    }
}
