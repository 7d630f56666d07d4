//! YAML with source positions.
//!
//! yaml-rust2 gives one marker per event (1-based line, 0-based char column)
//! and no end positions. This module builds a node tree from those events,
//! converts markers to byte offsets through the file's line table, and works
//! out where each node's text ends (`end_line`) with format knowledge:
//! block scalars run while lines are blank or indented past their owner,
//! quoted scalars run to their closing quote, flow collections to their
//! closing bracket, block collections to the end of their last child.
//! Merge keys (`<<`) and aliases are resolved on lookup.

use std::collections::HashMap;
use std::sync::Arc;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};
use yaml_rust2::{Yaml, YamlLoader};

use crate::source::{indent_of, LoadError, SourceFile};

#[derive(Debug, Clone)]
pub enum Kind {
    Scalar { value: String, style: TScalarStyle },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
    Alias(usize),
}

#[derive(Debug, Clone)]
pub struct Node {
    pub kind: Kind,
    /// Byte offset of the node's first character (for block mappings, the
    /// first key; for block scalars, the first content line).
    pub start: usize,
    /// 1-based line of `start`.
    pub line: usize,
    /// 0-based character column of `start`.
    pub col: usize,
    /// 1-based line where the node's text ends.
    pub end_line: usize,
    /// `{...}` / `[...]` collections.
    pub flow: bool,
    /// Anchor id (0 = none).
    pub anchor: usize,
    /// An empty (null) value written as nothing at all.
    pub empty: bool,
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { value, .. } if !self.empty => Some(value),
            _ => None,
        }
    }
    pub fn entries(&self) -> &[(Node, Node)] {
        match &self.kind {
            Kind::Map(e) => e,
            _ => &[],
        }
    }
    pub fn items(&self) -> &[Node] {
        match &self.kind {
            Kind::Seq(i) => i,
            _ => &[],
        }
    }
    pub fn is_map(&self) -> bool {
        matches!(self.kind, Kind::Map(_))
    }
    pub fn is_seq(&self) -> bool {
        matches!(self.kind, Kind::Seq(_))
    }
}

#[derive(Debug, Clone)]
pub struct YamlDoc {
    pub root: Node,
    /// Shared by the documents of a file (never copied per document).
    pub anchors: Arc<HashMap<usize, Node>>,
    /// Anchor ids used by at least one alias.
    pub aliased: Arc<std::collections::HashSet<usize>>,
    /// The quote character the document's quoted scalars mostly use.
    pub quote: char,
    /// The indentation step the document uses for nested mappings.
    pub indent_unit: usize,
}

impl YamlDoc {
    /// Follows an alias to its anchored node.
    pub fn resolve<'a>(&'a self, n: &'a Node) -> &'a Node {
        match n.kind {
            Kind::Alias(id) => self.anchors.get(&id).unwrap_or(n),
            _ => n,
        }
    }

    /// Looks a key up in a mapping, own keys first, then `<<` merges in order.
    pub fn get<'a>(&'a self, map: &'a Node, key: &str) -> Option<&'a Node> {
        self.get_depth(map, key, 0)
    }

    fn get_depth<'a>(&'a self, map: &'a Node, key: &str, depth: usize) -> Option<&'a Node> {
        let map = self.resolve(map);
        if depth > 16 {
            return None;
        }
        for (k, v) in map.entries() {
            if k.as_str() == Some(key) {
                return Some(self.resolve(v));
            }
        }
        for src in self.merge_sources(map) {
            if let Some(v) = self.get_depth(src, key, depth + 1) {
                return Some(v);
            }
        }
        None
    }

    /// The mappings merged into `map` through `<<`.
    pub fn merge_sources<'a>(&'a self, map: &'a Node) -> Vec<&'a Node> {
        let mut out = Vec::new();
        for (k, v) in self.resolve(map).entries() {
            if k.as_str() == Some("<<") {
                let v = self.resolve(v);
                match &v.kind {
                    Kind::Map(_) => out.push(v),
                    Kind::Seq(items) => {
                        out.extend(items.iter().map(|i| self.resolve(i)).filter(|i| i.is_map()))
                    }
                    _ => {}
                }
            }
        }
        out
    }

    /// The quote character the file's quoted scalars mostly use (computed
    /// once at parse time; see `quote`).
    fn compute_quote(&self) -> char {
        fn walk(n: &Node, c: &mut (usize, usize)) {
            match &n.kind {
                Kind::Scalar {
                    style: TScalarStyle::SingleQuoted,
                    ..
                } => c.0 += 1,
                Kind::Scalar {
                    style: TScalarStyle::DoubleQuoted,
                    ..
                } => c.1 += 1,
                Kind::Map(e) => e.iter().for_each(|(k, v)| {
                    walk(k, c);
                    walk(v, c)
                }),
                Kind::Seq(i) => i.iter().for_each(|x| walk(x, c)),
                _ => {}
            }
        }
        let mut c = (0, 0);
        walk(&self.root, &mut c);
        if c.0 > c.1 {
            '\''
        } else {
            '"'
        }
    }

    /// Own key (no merges), with its key node.
    pub fn own_entry<'a>(&'a self, map: &'a Node, key: &str) -> Option<(&'a Node, &'a Node)> {
        map.entries()
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(k, v)| (k, v))
    }
}

#[derive(Debug)]
enum Frame {
    Seq(Node, Vec<Node>),
    Map(Node, Vec<(Node, Node)>, Option<Node>),
}

struct Builder<'a> {
    src: &'a SourceFile,
    stack: Vec<Frame>,
    docs: Vec<Node>,
    anchors: HashMap<usize, Node>,
    aliased: std::collections::HashSet<usize>,
    /// Line of the last content token seen (for empty scalars).
    last_key_line: usize,
}

/// The byte offset, within `rest` (which starts at the opening quote), of
/// the quote that closes a double- or single-quoted scalar: `\` escapes the
/// next character in double quotes, `''` is a quote in single quotes.
fn closing_quote(rest: &str, style: TScalarStyle) -> Option<usize> {
    let q = if style == TScalarStyle::DoubleQuoted {
        '"'
    } else {
        '\''
    };
    let mut it = rest.char_indices().skip(1).peekable();
    while let Some((i, c)) = it.next() {
        if q == '"' && c == '\\' {
            it.next();
        } else if c == q {
            if q == '\'' && it.peek().map(|p| p.1) == Some('\'') {
                it.next();
                continue;
            }
            return Some(i);
        }
    }
    None
}

impl Builder<'_> {
    fn node(&self, kind: Kind, m: &Marker, anchor: usize) -> Node {
        let line = m.line().max(1);
        let start = self.src.offset_of(line, m.col());
        Node {
            kind,
            start,
            line,
            col: m.col(),
            end_line: line,
            flow: false,
            anchor,
            empty: false,
        }
    }

    fn push_value(&mut self, mut n: Node) {
        if n.anchor != 0 {
            self.anchors.insert(n.anchor, n.clone());
        }
        match self.stack.last_mut() {
            None => self.docs.push(n),
            Some(Frame::Seq(_, items)) => items.push(n),
            Some(Frame::Map(_, entries, pending)) => match pending.take() {
                None => {
                    self.last_key_line = n.end_line;
                    *pending = Some(n);
                }
                Some(k) => {
                    if n.empty {
                        n.end_line = k.end_line;
                        n.line = k.line;
                    }
                    entries.push((k, n));
                }
            },
        }
    }

    /// The column that owns a node about to be pushed: the key's column for
    /// mapping values, the `-` column for sequence items.
    fn owner_col(&self, n: &Node) -> usize {
        match self.stack.last() {
            Some(Frame::Map(_, _, Some(k))) => k.col,
            Some(Frame::Map(m, _, None)) => m.col,
            Some(Frame::Seq(s, _)) => {
                if s.flow {
                    s.col
                } else {
                    // find the `-` before the item on its line
                    let line = self.src.line_text(n.line);
                    let upto: String = line.chars().take(n.col).collect();
                    upto.rfind('-')
                        .map(|b| upto[..b].chars().count())
                        .unwrap_or(s.col)
                }
            }
            None => 0,
        }
    }

    fn in_flow(&self) -> bool {
        self.stack.iter().any(|f| match f {
            Frame::Seq(n, _) | Frame::Map(n, _, _) => n.flow,
        })
    }

    fn scalar_end_line(
        &self,
        n: &Node,
        style: TScalarStyle,
        value: &str,
        owner_col: usize,
    ) -> usize {
        let src = self.src;
        match style {
            TScalarStyle::DoubleQuoted | TScalarStyle::SingleQuoted => {
                match closing_quote(&src.text[n.start..], style) {
                    Some(i) => src.line_col(n.start + i).0,
                    None => n.line,
                }
            }
            TScalarStyle::Plain => {
                if self.in_flow() {
                    return n.line;
                }
                let mut end = n.line;
                let mut l = n.line + 1;
                while l <= src.line_count() {
                    let t = src.line_text(l);
                    if t.trim().is_empty() {
                        l += 1;
                        continue;
                    }
                    if indent_of(t) > owner_col && !t.trim_start().starts_with('#') {
                        end = l;
                        l += 1;
                    } else {
                        break;
                    }
                }
                end
            }
            TScalarStyle::Literal | TScalarStyle::Folded => {
                // Header: the nearest non-blank line before the content.
                let mut header = n.line.saturating_sub(1).max(1);
                if value.is_empty() {
                    header = n.line;
                }
                while header > 1 && src.line_text(header).trim().is_empty() {
                    header -= 1;
                }
                let keep = block_header_keeps(src.line_text(header));
                let mut last_nonblank = header;
                let mut last = header;
                let mut l = header + 1;
                while l <= src.line_count() {
                    let t = src.line_text(l);
                    if t.trim().is_empty() {
                        last = l;
                    } else if indent_of(t) > owner_col {
                        last = l;
                        last_nonblank = l;
                    } else {
                        break;
                    }
                    l += 1;
                }
                if keep {
                    last
                } else {
                    last_nonblank
                }
            }
        }
    }
}

/// Whether a block scalar header line (`key: |+`, `- >2+ # c`) keeps trailing newlines.
fn block_header_keeps(line: &str) -> bool {
    let re = header_re();
    re.captures(line)
        .map(|c| c.get(1).unwrap().as_str().contains('+'))
        .unwrap_or(false)
}

fn header_re() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"(?:^|\s)[|>]([1-9+-]{0,2})(?:\s|$)").unwrap())
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, ev: Event, m: Marker) {
        match ev {
            Event::Scalar(value, style, anchor, _tag) => {
                let mut n = self.node(
                    Kind::Scalar {
                        value: value.clone(),
                        style,
                    },
                    &m,
                    anchor,
                );
                let is_empty = style == TScalarStyle::Plain
                    && value.is_empty()
                    && !self.src.text[n.start..].starts_with("''");
                let is_key = matches!(self.stack.last(), Some(Frame::Map(_, _, None)));
                if is_empty {
                    n.empty = true;
                    n.end_line = self.last_key_line;
                } else if is_key {
                    n.end_line = n.line;
                } else {
                    let owner = self.owner_col(&n);
                    n.end_line = self.scalar_end_line(&n, style, &value, owner);
                }
                self.push_value(n);
            }
            Event::Alias(id) => {
                self.aliased.insert(id);
                let n = self.node(Kind::Alias(id), &m, 0);
                self.push_value(n);
            }
            Event::SequenceStart(anchor, _) => {
                let mut n = self.node(Kind::Seq(vec![]), &m, anchor);
                n.flow = self.src.text[n.start..].starts_with('[');
                self.stack.push(Frame::Seq(n, vec![]));
            }
            Event::MappingStart(anchor, _) => {
                let mut n = self.node(Kind::Map(vec![]), &m, anchor);
                n.flow = self.src.text[n.start..].starts_with('{');
                self.stack.push(Frame::Map(n, vec![], None));
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq(mut n, items)) = self.stack.pop() {
                    n.end_line = if n.flow {
                        m.line()
                    } else {
                        items.last().map(|i| i.end_line).unwrap_or(n.line)
                    };
                    if let Some(first) = items.first().filter(|_| !n.flow) {
                        n.start = n.start.min(first.start);
                    }
                    n.kind = Kind::Seq(items);
                    self.push_value(n);
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map(mut n, entries, _)) = self.stack.pop() {
                    if n.flow {
                        n.end_line = m.line();
                    } else if let Some((k, _)) = entries.first() {
                        n.start = k.start;
                        n.line = k.line;
                        n.col = k.col;
                        n.end_line = entries.last().map(|(_, v)| v.end_line).unwrap_or(k.line);
                    }
                    n.kind = Kind::Map(entries);
                    self.push_value(n);
                }
            }
            _ => {}
        }
    }
}

/// Byte offset just past the flow collection (`[...]` or `{...}`) that
/// starts at `start`, skipping quoted scalars; None when it is not closed.
pub fn flow_end(text: &str, start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut chars = text[start..].char_indices();
    while let Some((i, c)) = chars.next() {
        match quote {
            Some('"') if c == '\\' => {
                chars.next();
            }
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' => quote = Some(c),
                '[' | '{' => depth += 1,
                ']' | '}' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(start + i + 1);
                    }
                }
                '#' if text[..start + i].ends_with([' ', '\t', '\n']) => {
                    // a comment inside a multi-line flow collection
                    let rest = &text[start + i..];
                    let skip = rest.find('\n').unwrap_or(rest.len());
                    for _ in 0..rest[..skip].chars().count().saturating_sub(1) {
                        chars.next();
                    }
                }
                _ => {}
            },
        }
    }
    None
}

/// A YAML value written in flow style (JSON-compatible strings), keeping
/// mapping order.
pub fn to_flow(v: &Yaml) -> String {
    match v {
        Yaml::String(s) => serde_json::to_string(s).expect("strings serialise"),
        Yaml::Integer(i) => i.to_string(),
        Yaml::Real(r) => r.clone(),
        Yaml::Boolean(b) => b.to_string(),
        Yaml::Array(a) => format!("[{}]", a.iter().map(to_flow).collect::<Vec<_>>().join(", ")),
        Yaml::Hash(h) => format!(
            "{{{}}}",
            h.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s)
                            if s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                                && s.chars()
                                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
                        {
                            s.clone()
                        }
                        _ => to_flow(k),
                    };
                    format!("{key}: {}", to_flow(v))
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => "null".into(),
    }
}

/// End offset of a flow collection or scalar value starting at `start`, when
/// it lies on one line.
pub fn value_end(src: &SourceFile, n: &Node) -> Option<usize> {
    let line_end = src.line_content_end(n.line);
    let text = &src.text[n.start..line_end];
    match &n.kind {
        Kind::Seq(_) if n.flow => flow_end(&src.text, n.start),
        Kind::Scalar { .. } if n.end_line == n.line => {
            let t = text.split(" #").next().unwrap_or(text).trim_end();
            Some(n.start + t.len())
        }
        _ => None,
    }
}

/// Parses every document of a YAML file into position-carrying trees.
pub fn parse(src: &SourceFile) -> Result<Vec<YamlDoc>, LoadError> {
    let mut b = Builder {
        src,
        stack: vec![],
        docs: vec![],
        anchors: HashMap::new(),
        aliased: Default::default(),
        last_key_line: 1,
    };
    feed(&src.text, &mut b).map_err(|(line, col, info)| LoadError {
        rel: src.rel.clone(),
        line: Some(line.max(1)),
        message: format!("invalid YAML: {info} (column {})", col + 1),
    })?;
    let anchors = Arc::new(b.anchors);
    let aliased = Arc::new(b.aliased);
    Ok(b.docs
        .into_iter()
        .map(|root| {
            let mut d = YamlDoc {
                root,
                anchors: anchors.clone(),
                aliased: aliased.clone(),
                quote: '"',
                indent_unit: 2,
            };
            d.quote = d.compute_quote();
            d.indent_unit = indent_unit(&d);
            d
        })
        .collect())
}

/// Collections nested deeper than this are refused (compose files and
/// workflows nest a dozen levels; yaml-rust2's loader recurses per level).
pub const MAX_DEPTH: usize = 256;

/// Feeds every event of every document of `text` to `recv`, iteratively
/// (yaml-rust2's own `load` recurses once per nesting level and overflows
/// the stack on hostile input). Errors: (1-based line, 0-based column,
/// message).
pub fn feed<R: MarkedEventReceiver>(
    text: &str,
    recv: &mut R,
) -> Result<(), (usize, usize, String)> {
    let mut p = Parser::new_from_str(text);
    let mut depth = 0usize;
    loop {
        let (ev, m) = p
            .next_token()
            .map_err(|e| (e.marker().line(), e.marker().col(), e.info().to_string()))?;
        match ev {
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err((
                        m.line(),
                        m.col(),
                        format!("nested more than {MAX_DEPTH} levels deep; not read"),
                    ));
                }
            }
            Event::SequenceEnd | Event::MappingEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
        let end = ev == Event::StreamEnd;
        recv.on_event(ev, m);
        if end {
            return Ok(());
        }
    }
}

/// A YAML value for comparing files: scalars resolved as yaml-rust2 does
/// (plain `1` is an integer, `"1"` a string), anchors kept as ids and
/// aliases left unexpanded (an alias bomb stays as small as its text), and
/// block scalars read byte-exactly at the end of a file without a final
/// newline (where yaml-rust2 adds a line break the text does not have).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    Scalar(Yaml, usize),
    Seq(Vec<Value>, usize),
    Map(Vec<(Value, Value)>, usize),
    Alias(usize),
}

impl Value {
    pub fn anchor(&self) -> usize {
        match self {
            Value::Scalar(_, a) | Value::Seq(_, a) | Value::Map(_, a) => *a,
            Value::Alias(_) => 0,
        }
    }

    /// Equality with mappings compared as unordered (YAML mappings are).
    pub fn same(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Map(a, x), Value::Map(b, y)) => {
                if x != y || a.len() != b.len() {
                    return false;
                }
                if a.iter()
                    .zip(b)
                    .all(|((ka, va), (kb, vb))| ka == kb && va.same(vb))
                {
                    return true;
                }
                let index: HashMap<&Value, &Value> = b.iter().map(|(k, v)| (k, v)).collect();
                index.len() == b.len()
                    && a.iter()
                        .all(|(k, v)| index.get(k).is_some_and(|w| v.same(w)))
            }
            (Value::Seq(a, x), Value::Seq(b, y)) => {
                x == y && a.len() == b.len() && a.iter().zip(b).all(|(p, q)| p.same(q))
            }
            _ => self == other,
        }
    }
}

struct ValueBuilder<'a> {
    text: &'a str,
    stack: Vec<(Value, Option<Value>)>,
    docs: Vec<Value>,
    /// The last block scalar event: (path of the value in docs, header line).
    last_block: Option<(TScalarStyle, usize)>,
    content_after_block: bool,
}

impl ValueBuilder<'_> {
    fn push(&mut self, v: Value) {
        match self.stack.last_mut() {
            None => self.docs.push(v),
            Some((Value::Seq(items, _), _)) => items.push(v),
            Some((Value::Map(entries, _), pending)) => match pending.take() {
                None => *pending = Some(v),
                Some(k) => entries.push((k, v)),
            },
            Some(_) => {}
        }
    }
}

impl MarkedEventReceiver for ValueBuilder<'_> {
    fn on_event(&mut self, ev: Event, m: Marker) {
        match ev {
            Event::Scalar(v, style, anchor, tag) => {
                self.content_after_block = true;
                let y = match (&tag, style) {
                    (Some(t), _) => Yaml::String(format!("!{}{} {v}", t.handle, t.suffix)),
                    (None, TScalarStyle::Plain) => Yaml::from_str(&v),
                    _ => Yaml::String(v),
                };
                if matches!(style, TScalarStyle::Literal | TScalarStyle::Folded) {
                    self.last_block = Some((style, m.line()));
                    self.content_after_block = false;
                }
                self.push(Value::Scalar(y, anchor));
            }
            Event::Alias(id) => {
                self.content_after_block = true;
                self.push(Value::Alias(id));
            }
            Event::SequenceStart(a, _) => {
                self.content_after_block = true;
                self.stack.push((Value::Seq(vec![], a), None))
            }
            Event::MappingStart(a, _) => {
                self.content_after_block = true;
                self.stack.push((Value::Map(vec![], a), None))
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((v, _)) = self.stack.pop() {
                    self.push(v);
                }
            }
            Event::StreamEnd => {
                if !self.content_after_block && self.last_block.is_some() {
                    fix_block_at_eof(self.text, &mut self.docs);
                }
            }
            _ => {}
        }
    }
}

/// The last scalar of the last document, mutably.
fn last_scalar(v: &mut Value) -> Option<&mut Value> {
    match v {
        Value::Seq(items, _) => items.last_mut().and_then(last_scalar),
        Value::Map(entries, _) => entries.last_mut().and_then(|e| last_scalar(&mut e.1)),
        Value::Scalar(..) => Some(v),
        Value::Alias(_) => None,
    }
}

/// A block scalar whose last content line is the file's last line, with no
/// line break after it: its value has no final line break (clip and keep
/// chomping keep only a line break that exists). yaml-rust2 adds one.
fn fix_block_at_eof(text: &str, docs: &mut [Value]) {
    if text.ends_with('\n') {
        return;
    }
    let last_line = text.rsplit('\n').next().unwrap_or(text);
    let last_line = last_line.trim_end_matches('\r');
    if last_line.trim().is_empty() {
        return;
    }
    let Some(Value::Scalar(Yaml::String(v), _)) = docs.last_mut().and_then(last_scalar) else {
        return;
    };
    let body = v.trim_end_matches('\n');
    if v.ends_with('\n') && !v.ends_with("\n\n") && body.ends_with(last_line.trim()) {
        v.pop();
    }
}

/// Every document of `text` as [`Value`]s (no alias expansion, bounded
/// depth).
pub fn load_values(text: &str) -> Result<Vec<Value>, String> {
    let mut b = ValueBuilder {
        text,
        stack: vec![],
        docs: vec![],
        last_block: None,
        content_after_block: true,
    };
    feed(text, &mut b).map_err(|(l, _, info)| format!("{info} at line {l}"))?;
    Ok(b.docs)
}

/// The plain semantic value of a small trusted snippet (a template):
/// aliases expanded, merges not applied.
pub fn load_value(text: &str) -> Result<Vec<Yaml>, String> {
    if text.len() > 64 * 1024 {
        return Err("snippet too large".into());
    }
    YamlLoader::load_from_str(text)
        .map_err(|e| format!("{} at line {}", e.info(), e.marker().line()))
}

/// The indentation unit the file uses for nested block mappings (most
/// common step between a key and its nested keys), 2 when unknown.
pub fn indent_unit(doc: &YamlDoc) -> usize {
    let mut counts = [0usize; 9];
    fn walk(n: &Node, counts: &mut [usize; 9]) {
        match &n.kind {
            Kind::Map(entries) => {
                for (k, v) in entries {
                    if let Kind::Map(_) = v.kind {
                        if !v.flow && v.line > k.line && v.col > k.col && v.col - k.col < 9 {
                            counts[v.col - k.col] += 1;
                        }
                    }
                    walk(v, counts);
                }
            }
            Kind::Seq(items) => items.iter().for_each(|i| walk(i, counts)),
            _ => {}
        }
    }
    walk(&doc.root, &mut counts);
    (1..9)
        .max_by_key(|&i| (counts[i], std::cmp::Reverse(i)))
        .filter(|&i| counts[i] > 0)
        .unwrap_or(2)
}

/// The first U+2028, U+2029 or U+0085 (NEL) outside a quoted scalar, as
/// (1-based line, character). yaml-rust2 reads them as ordinary characters,
/// go-yaml and libyaml as line breaks: prodsafe and Compose would see
/// different files.
pub fn foreign_line_break(text: &str) -> Option<(usize, char)> {
    let is_break = |c: char| matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}');
    if !text.contains(is_break) {
        return None;
    }
    struct Quoted<'a> {
        src: &'a SourceFile,
        spans: Vec<std::ops::Range<usize>>,
    }
    impl MarkedEventReceiver for Quoted<'_> {
        fn on_event(&mut self, ev: Event, m: Marker) {
            if let Event::Scalar(
                _,
                style @ (TScalarStyle::DoubleQuoted | TScalarStyle::SingleQuoted),
                ..,
            ) = ev
            {
                let start = self.src.offset_of(m.line().max(1), m.col());
                if let Some(i) = closing_quote(&self.src.text[start..], style) {
                    self.spans.push(start..start + i);
                }
            }
        }
    }
    let src = SourceFile::from_text("", std::path::Path::new(""), text, 0);
    let mut q = Quoted {
        src: &src,
        spans: vec![],
    };
    let _ = feed(&src.text, &mut q);
    for (i, c) in src.text.char_indices().filter(|(_, c)| is_break(*c)) {
        if !q.spans.iter().any(|s| s.start < i && i < s.end) {
            return Some((src.line_col(i).0, c));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn doc(text: &str) -> (SourceFile, YamlDoc) {
        let s = SourceFile::from_text("t.yml", Path::new("t.yml"), text, 0o644);
        let d = parse(&s).unwrap().remove(0);
        (s, d)
    }

    #[test]
    fn end_lines() {
        let (_s, d) = doc("a:\n  b: |+\n    x\n\n  c: \"q\n    r\"\n  d: [1,\n    2]\n  e: plain\n    cont\n  # c\nf:\n");
        let a = d.get(&d.root, "a").unwrap();
        assert_eq!(d.get(a, "b").unwrap().end_line, 4);
        assert_eq!(d.get(a, "c").unwrap().end_line, 6);
        assert_eq!(d.get(a, "d").unwrap().end_line, 8);
        assert_eq!(d.get(a, "e").unwrap().end_line, 10);
        assert_eq!(a.end_line, 10);
        let f = d.get(&d.root, "f").unwrap();
        assert!(f.empty);
        assert_eq!(f.end_line, 12);
    }

    #[test]
    fn merges() {
        let (_s, d) = doc("x: &b\n  hc: 1\ny:\n  <<: *b\n  own: 2\n");
        let y = d.get(&d.root, "y").unwrap();
        assert_eq!(d.get(y, "hc").unwrap().as_str(), Some("1"));
        assert_eq!(d.get(y, "own").unwrap().as_str(), Some("2"));
        assert!(d.own_entry(y, "hc").is_none());
    }
}
