//! Dockerfile lexer and stage model with byte spans.
//!
//! Handles parser directives (`# syntax=`, `# escape=`), line continuations
//! (with comment and blank lines inside them, which Docker drops), heredocs
//! (`<<EOF`, `<<-"EOF"`, several per instruction), JSON vs shell form, CRLF
//! and `ARG` before the first `FROM`. The lexer never fails: anything that
//! is not an instruction becomes an [`Instruction`] with an unknown keyword,
//! and every byte of the input lies in exactly one token (see the
//! `spans_cover_input` property test).

use std::ops::Range;

use crate::source::SourceFile;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    Directive,
    Comment,
    Blank,
    Instruction,
}

/// A contiguous byte range of the file: a directive, comment or blank line,
/// or one whole instruction (continuations and heredoc bodies included).
#[derive(Debug, Clone)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Range<usize>,
}

#[derive(Debug, Clone)]
pub struct Heredoc {
    pub delimiter: String,
    pub strip_tabs: bool,
    /// The body, without the terminator line.
    pub body: Range<usize>,
}

#[derive(Debug, Clone)]
pub struct Instruction {
    /// Upper-cased keyword (`RUN`, `FROM`, ...).
    pub keyword: String,
    /// Whole instruction incl. continuation lines and heredocs, without the
    /// final line ending.
    pub span: Range<usize>,
    /// The instruction's first line (1-based).
    pub line: usize,
    /// Byte range of the arguments on the first physical line onward (up to
    /// the end of the logical line, before any heredoc body).
    pub args_span: Range<usize>,
    /// Arguments as Docker sees them: continuations joined, inner comments
    /// dropped, flags included.
    pub args: String,
    /// `--name=value` flags at the start of the arguments.
    pub flags: Vec<(String, String)>,
    /// Arguments after the flags.
    pub rest: String,
    /// JSON (exec) form, when the arguments are a JSON string array.
    pub json: Option<Vec<String>>,
    pub heredocs: Vec<Heredoc>,
    /// [`shell_program`] of this instruction, computed once (several rules
    /// read it), with the argument bytes and escape character it was
    /// computed from (a caller passing other text gets a fresh parse).
    pub shell_cache: std::sync::OnceLock<(String, char, Option<ShellProgram>)>,
}

impl Instruction {
    pub fn flag(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The command words: JSON form as is, shell form split on whitespace.
    pub fn words(&self) -> Vec<String> {
        match &self.json {
            Some(v) => v.clone(),
            None => self.rest.split_whitespace().map(str::to_string).collect(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Dockerfile {
    pub escape: char,
    pub directives: Vec<(String, String)>,
    pub tokens: Vec<Token>,
    pub instructions: Vec<Instruction>,
    pub stages: Vec<Stage>,
    /// `ARG`s before the first `FROM`.
    pub global_args: Vec<(String, Option<String>)>,
}

#[derive(Debug, Clone, Default)]
pub struct Stage {
    pub index: usize,
    pub name: Option<String>,
    /// `FROM` image as written (after `--platform`), ARGs substituted where known.
    pub base: String,
    pub from_line: usize,
    /// Indices into `instructions` (the FROM included).
    pub instrs: Range<usize>,
}

pub fn is_dockerfile_name(name: &str) -> bool {
    name == "Dockerfile"
        || name.starts_with("Dockerfile.")
        || name.ends_with(".Dockerfile")
        || name.ends_with(".dockerfile")
}

/// Splits text into lines with their byte ranges (content without the line
/// ending, and the full range with it).
fn lines(text: &str) -> Vec<(Range<usize>, Range<usize>)> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let end_full = text[start..]
            .find('\n')
            .map(|i| start + i + 1)
            .unwrap_or(text.len());
        let mut end = end_full;
        if text[..end].ends_with('\n') {
            end -= 1;
        }
        if text[..end].ends_with('\r') && end > start {
            end -= 1;
        }
        out.push((start..end, start..end_full));
        start = end_full;
    }
    out
}

fn directive(line: &str) -> Option<(String, String)> {
    let rest = line.trim_start().strip_prefix('#')?;
    let (k, v) = rest.split_once('=')?;
    let k = k.trim();
    if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    Some((k.to_ascii_lowercase(), v.trim().to_string()))
}

fn heredoc_re() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r#"<<(-?)(?:"([A-Za-z_][A-Za-z0-9_]*)"|'([A-Za-z_][A-Za-z0-9_]*)'|([A-Za-z_][A-Za-z0-9_]*))"#)
            .unwrap()
    })
}

pub fn parse(src: &SourceFile) -> Dockerfile {
    parse_text(&src.text)
}

pub fn parse_text(text: &str) -> Dockerfile {
    let lines = lines(text);
    let mut df = Dockerfile {
        escape: '\\',
        ..Default::default()
    };
    let mut i = 0;
    // Parser directives: only at the very top, before any other line.
    while i < lines.len() {
        let l = &text[lines[i].0.clone()];
        match directive(l) {
            Some((k, v)) if !df.directives.iter().any(|(d, _)| *d == k) => {
                if k == "escape" && (v == "`" || v == "\\") {
                    df.escape = v.chars().next().unwrap();
                }
                df.directives.push((k, v));
                df.tokens.push(Token {
                    kind: TokenKind::Directive,
                    span: lines[i].1.clone(),
                });
                i += 1;
            }
            _ => break,
        }
    }
    let esc = df.escape;
    while i < lines.len() {
        let (content, full) = lines[i].clone();
        let l = &text[content.clone()];
        let trimmed = l.trim_start();
        if trimmed.is_empty() {
            df.tokens.push(Token {
                kind: TokenKind::Blank,
                span: full,
            });
            i += 1;
            continue;
        }
        if trimmed.starts_with('#') {
            df.tokens.push(Token {
                kind: TokenKind::Comment,
                span: full,
            });
            i += 1;
            continue;
        }
        // An instruction: gather its logical line.
        let first_line = i + 1;
        let kw_start = content.start + (l.len() - trimmed.len());
        let kw_len = trimmed
            .find(|c: char| c.is_whitespace())
            .unwrap_or(trimmed.len());
        let keyword = trimmed[..kw_len].to_ascii_uppercase();
        let args_start = kw_start + kw_len;
        let mut args = String::new();
        let mut j = i;
        let mut seg_start = args_start;
        let mut args_end;
        loop {
            let (c, _) = lines[j].clone();
            let seg = &text[seg_start.min(c.end)..c.end];
            let seg_trim = seg.trim_end();
            args_end = c.end;
            if seg_trim.ends_with(esc) && j + 1 < lines.len() {
                args.push_str(&seg_trim[..seg_trim.len() - esc.len_utf8()]);
                j += 1;
                // Comment and blank lines inside a continuation are dropped.
                while j < lines.len() {
                    let t = text[lines[j].0.clone()].trim_start();
                    if t.starts_with('#') || t.is_empty() {
                        j += 1;
                    } else {
                        break;
                    }
                }
                if j >= lines.len() {
                    j -= 1;
                    break;
                }
                seg_start = lines[j].0.start;
                continue;
            }
            args.push_str(seg);
            break;
        }
        let mut end_line = j;
        // Heredocs, in order, after the logical line.
        let mut heredocs = Vec::new();
        if matches!(keyword.as_str(), "RUN" | "COPY" | "ADD") {
            for c in heredoc_re().captures_iter(&args) {
                let delimiter = c
                    .get(2)
                    .or(c.get(3))
                    .or(c.get(4))
                    .unwrap()
                    .as_str()
                    .to_string();
                let strip_tabs = &c[1] == "-";
                let body_start_line = end_line + 1;
                let mut k = body_start_line;
                while k < lines.len() {
                    let t = &text[lines[k].0.clone()];
                    let t = if strip_tabs {
                        t.trim_start_matches('\t')
                    } else {
                        t
                    };
                    if t == delimiter {
                        break;
                    }
                    k += 1;
                }
                let body_start = lines
                    .get(body_start_line)
                    .map(|l| l.1.start)
                    .unwrap_or(text.len());
                let body_end = lines.get(k).map(|l| l.1.start).unwrap_or(text.len());
                heredocs.push(Heredoc {
                    delimiter,
                    strip_tabs,
                    body: body_start..body_end.max(body_start),
                });
                end_line = k.min(lines.len() - 1);
            }
        }
        let span_end = lines[end_line].0.end;
        let full_end = lines[end_line].1.end;
        let (flags, rest) = split_flags(&args);
        let json = parse_json_array(rest.trim());
        df.instructions.push(Instruction {
            keyword,
            span: kw_start..span_end,
            line: first_line,
            args_span: args_start..args_end,
            args: args.clone(),
            flags,
            rest,
            json,
            heredocs,
            shell_cache: std::sync::OnceLock::new(),
        });
        df.tokens.push(Token {
            kind: TokenKind::Instruction,
            span: full.start..full_end,
        });
        i = end_line + 1;
    }
    build_stages(&mut df);
    df
}

fn split_flags(args: &str) -> (Vec<(String, String)>, String) {
    let mut flags = Vec::new();
    let mut rest = args.trim_start();
    while let Some(f) = rest.strip_prefix("--") {
        let end = f.find(char::is_whitespace).unwrap_or(f.len());
        let word = &f[..end];
        match word.split_once('=') {
            Some((k, v)) => flags.push((k.to_string(), v.to_string())),
            None => flags.push((word.to_string(), String::new())),
        }
        rest = f[end..].trim_start();
    }
    (flags, rest.to_string())
}

/// Parses `["a", "b"]` as Docker's JSON form (strings only).
pub fn parse_json_array(s: &str) -> Option<Vec<String>> {
    if !s.starts_with('[') {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(s).ok()?;
    v.as_array()?
        .iter()
        .map(|x| x.as_str().map(str::to_string))
        .collect()
}

/// Expands `$X`, `${X}`, `${X:-default}` and `${X:+alternative}` as Docker
/// does: each variable matched whole (`$BASE` never expands inside
/// `$BASE_TAG`). A variable without a known value stays as written (with
/// `:-`, its default is used).
fn substitute_args(s: &str, args: &[(String, Option<String>)]) -> String {
    let value = |name: &str| -> Option<&str> {
        args.iter()
            .rev()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_deref())
    };
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(['$', '\\']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(esc) = tail.strip_prefix('\\') {
            // `\$X` is a literal `$X`.
            match esc.chars().next() {
                Some(c) => {
                    out.push('\\');
                    out.push(c);
                    rest = &esc[c.len_utf8()..];
                }
                None => {
                    out.push('\\');
                    rest = esc;
                }
            }
            continue;
        }
        let after = &tail[1..];
        if let Some(body) = after.strip_prefix('{') {
            let Some(close) = body.find('}') else {
                out.push_str(tail);
                rest = "";
                break;
            };
            let inner = &body[..close];
            let name_len = inner.find(|c: char| !is_name(c)).unwrap_or(inner.len());
            let (name, op) = inner.split_at(name_len);
            let v = value(name).filter(|v| !v.is_empty());
            let expanded = match (op, v) {
                ("", Some(v)) => Some(v.to_string()),
                (o, v) if o.starts_with(":-") => Some(v.unwrap_or(&o[2..]).to_string()),
                (o, Some(_)) if o.starts_with(":+") => Some(o[2..].to_string()),
                (o, None) if o.starts_with(":+") && value(name).is_some() => Some(String::new()),
                _ => None,
            };
            match expanded {
                Some(x) => out.push_str(&x),
                None => out.push_str(&tail[..close + 3]),
            }
            rest = &body[close + 1..];
        } else {
            let name_len = after.find(|c: char| !is_name(c)).unwrap_or(after.len());
            let name = &after[..name_len];
            match value(name) {
                Some(v) if name_len > 0 => out.push_str(v),
                _ => out.push_str(&tail[..1 + name_len]),
            }
            rest = &after[name_len..];
        }
    }
    out.push_str(rest);
    out
}

fn build_stages(df: &mut Dockerfile) {
    let mut stages: Vec<Stage> = Vec::new();
    for (idx, ins) in df.instructions.iter().enumerate() {
        if ins.keyword == "ARG" && stages.is_empty() {
            for a in ins.rest.split_whitespace() {
                let (k, v) = match a.split_once('=') {
                    Some((k, v)) => (k, Some(v.trim_matches('"').to_string())),
                    None => (a, None),
                };
                df.global_args.push((k.to_string(), v));
            }
        }
        if ins.keyword == "FROM" {
            if let Some(last) = stages.last_mut() {
                last.instrs.end = idx;
            }
            let words: Vec<&str> = ins.rest.split_whitespace().collect();
            let base = words
                .first()
                .map(|b| substitute_args(b, &df.global_args))
                .unwrap_or_default();
            let name = if words.len() >= 3 && words[1].eq_ignore_ascii_case("as") {
                Some(words[2].to_string())
            } else {
                None
            };
            stages.push(Stage {
                index: stages.len(),
                name,
                base,
                from_line: ins.line,
                instrs: idx..df.instructions.len(),
            });
        }
    }
    df.stages = stages;
}

impl Dockerfile {
    pub fn final_stage(&self) -> Option<&Stage> {
        self.stages.last()
    }

    pub fn stage_instrs<'a>(&'a self, st: &Stage) -> &'a [Instruction] {
        &self.instructions[st.instrs.clone()]
    }

    pub fn stage_by_name(&self, name: &str) -> Option<&Stage> {
        self.stages
            .iter()
            .find(|s| {
                s.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .or_else(|| name.parse::<usize>().ok().and_then(|i| self.stages.get(i)))
    }

    /// The external image a stage ultimately builds on (following `FROM stage`).
    pub fn root_image(&self, st: &Stage) -> String {
        let mut cur = st;
        for _ in 0..self.stages.len() {
            match self.stages[..cur.index].iter().rev().find(|s| {
                s.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(&cur.base))
            }) {
                Some(parent) => cur = parent,
                None => break,
            }
        }
        cur.base.clone()
    }

    /// Stages whose content the given stage inherits (itself first).
    pub fn lineage<'a>(&'a self, st: &'a Stage) -> Vec<&'a Stage> {
        let mut out = vec![st];
        let mut cur = st;
        while let Some(parent) = self.stages[..cur.index].iter().rev().find(|s| {
            s.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(&cur.base))
        }) {
            out.push(parent);
            cur = parent;
        }
        out
    }

    /// The last instruction with this keyword in a stage or what it inherits.
    pub fn last_in<'a>(&'a self, st: &'a Stage, keyword: &str) -> Option<&'a Instruction> {
        self.lineage(st).into_iter().find_map(|s| {
            self.stage_instrs(s)
                .iter()
                .rev()
                .find(|i| i.keyword == keyword)
        })
    }

    /// Environment (`ENV`) of a stage, inherited first.
    pub fn env(&self, st: &Stage) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for s in self.lineage(st).into_iter().rev() {
            for ins in self.stage_instrs(s).iter().filter(|i| i.keyword == "ENV") {
                for (k, v) in parse_env_args(&ins.rest) {
                    out.retain(|(x, _)| *x != k);
                    out.push((k, v));
                }
            }
        }
        out
    }

    /// Ports from `EXPOSE` in a stage and what it inherits.
    pub fn exposed(&self, st: &Stage) -> Vec<(u16, usize)> {
        let mut out = Vec::new();
        for s in self.lineage(st) {
            for ins in self
                .stage_instrs(s)
                .iter()
                .filter(|i| i.keyword == "EXPOSE")
            {
                for w in ins.rest.split_whitespace() {
                    if let Ok(p) = w.split('/').next().unwrap_or("").parse::<u16>() {
                        out.push((p, ins.line));
                    }
                }
            }
        }
        out
    }
}

/// `ENV A=1 B="x y"` and the legacy `ENV A 1`.
pub fn parse_env_args(rest: &str) -> Vec<(String, String)> {
    let rest = rest.trim();
    if !rest.contains('=')
        || rest
            .split_whitespace()
            .next()
            .is_some_and(|w| !w.contains('='))
    {
        let mut it = rest.splitn(2, char::is_whitespace);
        let k = it.next().unwrap_or("").to_string();
        let v = it.next().unwrap_or("").trim().to_string();
        return if k.is_empty() { vec![] } else { vec![(k, v)] };
    }
    let mut out = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.is_empty() {
            break;
        }
        let mut val = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            let mut quote: Option<char> = None;
            while let Some(&c) = chars.peek() {
                match quote {
                    Some(q) if c == q => {
                        quote = None;
                        chars.next();
                    }
                    Some(_) => {
                        val.push(c);
                        chars.next();
                    }
                    None if c == '"' || c == '\'' => {
                        quote = Some(c);
                        chars.next();
                    }
                    None if c.is_whitespace() => break,
                    None => {
                        val.push(c);
                        chars.next();
                    }
                }
            }
        }
        out.push((key, val));
    }
    out
}

/// One word of a shell command in a `RUN`/`CMD`, with its byte span in the
/// Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellWord {
    /// The word's value when it is literal (plain, or quoted without
    /// expansions); the raw text otherwise.
    pub text: String,
    pub span: Range<usize>,
    /// No expansion, substitution or glob: `text` is exactly what the
    /// program receives.
    pub literal: bool,
    /// Written without quotes or escapes.
    pub bare: bool,
}

/// A simple command of a shell-form instruction, read on the shell's syntax
/// tree (never text inside quotes, comments or heredoc bodies).
#[derive(Debug, Clone)]
pub struct ShellCmd {
    /// The command name first, then its arguments.
    pub words: Vec<ShellWord>,
    /// `X=1 cmd`: assignments before the name.
    pub assignments: bool,
    /// Redirections (`> f`, `2>&1`).
    pub redirects: bool,
    /// The whole command node.
    pub span: Range<usize>,
}

impl ShellCmd {
    pub fn name(&self) -> &str {
        self.words.first().map(|w| w.text.as_str()).unwrap_or("")
    }
    /// The program's base name (`/usr/bin/npm` -> `npm`).
    pub fn program(&self) -> &str {
        let n = self.name();
        n.rsplit('/').next().unwrap_or(n)
    }
    pub fn args(&self) -> &[ShellWord] {
        self.words.get(1..).unwrap_or(&[])
    }
}

/// The shell program of a shell-form instruction.
#[derive(Debug, Clone)]
pub struct ShellProgram {
    pub commands: Vec<ShellCmd>,
    /// The whole program is one simple command: no `&&`, `;`, pipes,
    /// subshells, control flow.
    pub single: bool,
    pub parse_error: bool,
}

/// Parses the shell form of an instruction (`RUN`, `CMD`, `ENTRYPOINT`)
/// with tree-sitter-bash, on the Dockerfile's own bytes so that every span
/// points into `text`. Comment and blank lines inside continuations (which
/// Docker drops) are blanked out; a `\` continuation before CRLF is read
/// as one. None for the JSON form, for the `` ` `` escape character, and
/// for heredoc instructions (their bodies are separate scripts).
/// Borrowed from the instruction's cache when `text` is the text it was
/// parsed from (always, in practice).
pub fn shell_program<'a>(
    text: &str,
    ins: &'a Instruction,
    escape: char,
) -> Option<std::borrow::Cow<'a, ShellProgram>> {
    let args = text.get(ins.args_span.clone()).unwrap_or("");
    let (a, e, prog) = ins.shell_cache.get_or_init(|| {
        (
            args.to_string(),
            escape,
            shell_program_uncached(text, ins, escape),
        )
    });
    if a == args && *e == escape {
        prog.as_ref().map(std::borrow::Cow::Borrowed)
    } else {
        shell_program_uncached(text, ins, escape).map(std::borrow::Cow::Owned)
    }
}

fn shell_program_uncached(text: &str, ins: &Instruction, escape: char) -> Option<ShellProgram> {
    if ins.json.is_some() || escape != '\\' || !ins.heredocs.is_empty() {
        return None;
    }
    // Skip the leading flags (`RUN --mount=...`): they are Docker's.
    let mut start = ins.args_span.start;
    let end = ins.args_span.end;
    // Inside the logical line a line break is always a continuation, so
    // blanks, `\` and line breaks between flags are skipped alike.
    loop {
        let rest = &text[start..end];
        let trimmed = rest.trim_start_matches(|c: char| {
            c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == escape
        });
        let ws = rest.len() - trimmed.len();
        if let Some(f) = trimmed.strip_prefix("--") {
            if f.starts_with(|c: char| c.is_ascii_alphabetic()) {
                let mut flen = f.find(char::is_whitespace).unwrap_or(f.len());
                // `--mount=...\` glued to its continuation.
                if f[..flen].ends_with(escape) && f[flen..].starts_with(['\r', '\n']) {
                    flen -= escape.len_utf8();
                }
                start += ws + 2 + flen;
                continue;
            }
        }
        start += ws.min(rest.len() - rest.trim_start_matches([' ', '\t']).len());
        break;
    }
    // Work on the instruction's own bytes; spans are shifted back by `base`.
    let base = start;
    let text = &text[base..end];
    let end = end - base;
    let start = 0;
    let mut bytes: Vec<u8> = text.as_bytes().to_vec();
    // Continuations: blank out comment/blank lines Docker drops, and turn
    // `\` CR LF into ` \` LF.
    let mut i = start;
    while i < end {
        let line_end = bytes[i..end]
            .iter()
            .position(|&b| b == b'\n')
            .map(|x| i + x)
            .unwrap_or(end);
        let mut content_end = line_end;
        if content_end > i && bytes[content_end - 1] == b'\r' {
            content_end -= 1;
        }
        let continued = content_end > i && {
            let l = &bytes[i..content_end];
            let t = l.iter().rposition(|b| !b.is_ascii_whitespace());
            t.is_some_and(|t| l[t] == b'\\')
        };
        if !continued {
            break;
        }
        if content_end < line_end {
            // `\` [spaces] CR LF -> ` ` ... `\` LF
            let bs = i + bytes[i..content_end]
                .iter()
                .rposition(|&b| b == b'\\')
                .unwrap();
            bytes[bs] = b' ';
            bytes[content_end] = b'\\';
        } else {
            let bs = i + bytes[i..content_end]
                .iter()
                .rposition(|&b| b == b'\\')
                .unwrap();
            for b in bytes[bs + 1..content_end].iter_mut() {
                *b = b' ';
            }
            if bs + 1 < content_end {
                // trailing blanks after `\`: move the `\` to the end
                bytes[bs] = b' ';
                bytes[content_end - 1] = b'\\';
            }
        }
        // Drop the comment / blank lines that follow.
        let mut j = line_end + 1;
        while j < end {
            let le = bytes[j..end]
                .iter()
                .position(|&b| b == b'\n')
                .map(|x| j + x)
                .unwrap_or(end);
            let line = &text[j..le];
            let t = line.trim_start();
            if t.starts_with('#') || t.trim().is_empty() {
                let stop = if le < end { le + 1 } else { le };
                for b in bytes[j..stop].iter_mut() {
                    *b = b' ';
                }
                j = stop;
            } else {
                break;
            }
        }
        i = j;
    }
    let shell = String::from_utf8(bytes).ok()?;
    let mut out = shell_commands(&shell)?;
    for c in &mut out.commands {
        c.span = c.span.start + base..c.span.end + base;
        for w in &mut c.words {
            w.span = w.span.start + base..w.span.end + base;
        }
    }
    Some(out)
}

/// The simple commands of a piece of shell text (spans into `shell`).
pub fn shell_commands(shell: &str) -> Option<ShellProgram> {
    if let Some(p) = plain_commands(shell) {
        return Some(p);
    }
    syntax_commands(shell)
}

/// Shell keywords and declaration builtins: tree-sitter-bash gives them
/// nodes of their own (not `command`), so a plain line that starts a
/// command with one of them goes to the parser.
const NOT_PLAIN_NAMES: &[&str] = &[
    "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac",
    "in", "function", "select", "time", "coproc", "declare", "typeset", "export", "readonly",
    "local", "unset", "unsetenv",
];

/// The common case without a parser: words of `[A-Za-z0-9_./:@,+=-]`
/// separated by blanks and `\`-newline continuations, commands joined by
/// a standalone `&&`. Anything else (quotes, expansions, redirections,
/// other operators, comments, keywords, assignments) is None and
/// goes to tree-sitter-bash; `plain_commands_agree_with_the_parser` checks
/// that both give the same program wherever this one answers.
fn plain_commands(shell: &str) -> Option<ShellProgram> {
    let b = shell.as_bytes();
    let word_byte = |c: u8| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'_' | b'.' | b'/' | b':' | b'@' | b',' | b'+' | b'=' | b'-'
            )
    };
    let mut commands: Vec<ShellCmd> = Vec::new();
    let mut words: Vec<ShellWord> = Vec::new();
    let mut ands = 0;
    let mut i = 0;
    let finish = |words: &mut Vec<ShellWord>, commands: &mut Vec<ShellCmd>| -> Option<()> {
        let first = words.first()?;
        // Command names: a narrower alphabet (`@` or `:` in a name confuse
        // the grammar).
        let name_ok = first
            .text
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'/' | b'-'));
        if !name_ok || NOT_PLAIN_NAMES.contains(&first.text.as_str()) {
            return None;
        }
        let span = first.span.start..words.last()?.span.end;
        commands.push(ShellCmd {
            words: std::mem::take(words),
            assignments: false,
            redirects: false,
            span,
        });
        Some(())
    };
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' => i += 1,
            // A continuation: `\` right before the line break.
            b'\\' if b.get(i + 1) == Some(&b'\n') => {
                // Only after a blank: `word\` glued to the break is left
                // to the grammar.
                if i > 0 && !matches!(b[i - 1], b' ' | b'\t') {
                    return None;
                }
                i += 2;
                // ... and never at the end (the grammar reads that as an error).
                if b[i..].iter().all(|c| matches!(c, b' ' | b'\t')) {
                    return None;
                }
            }
            b'&' if b.get(i + 1) == Some(&b'&')
                && matches!(b.get(i + 2), Some(b' ' | b'\t'))
                && i > 0
                && matches!(b[i - 1], b' ' | b'\t') =>
            {
                finish(&mut words, &mut commands)?;
                ands += 1;
                i += 2;
            }
            c if word_byte(c) => {
                let start = i;
                while i < b.len() && word_byte(b[i]) {
                    i += 1;
                }
                let text = &shell[start..i];
                // Digits alone are `number` nodes (literal, not bare);
                // other digit-led or digit-and-sign shapes (`0x1F`, `1.2`,
                // `-1`) go to the parser.
                let number = text.bytes().all(|c| c.is_ascii_digit());
                let digit_led = text.as_bytes()[0].is_ascii_digit();
                let numeric = text
                    .bytes()
                    .all(|c| c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.'));
                if !number && (digit_led || numeric) {
                    return None;
                }
                // `==`, `=~`: test operators to the grammar.
                if (number && words.is_empty()) || text.starts_with('=') {
                    return None;
                }
                words.push(ShellWord {
                    text: text.to_string(),
                    span: start..i,
                    literal: true,
                    bare: !number,
                });
            }
            _ => return None,
        }
    }
    finish(&mut words, &mut commands)?;
    Some(ShellProgram {
        single: ands == 0,
        commands,
        parse_error: false,
    })
}

/// [`shell_commands`] on tree-sitter-bash's syntax tree.
fn syntax_commands(shell: &str) -> Option<ShellProgram> {
    let tree =
        crate::formats::treesitter::with_parser(crate::formats::treesitter::Grammar::Bash, |p| {
            crate::formats::shell::parse_bounded(p, shell)
        })?;
    let root = tree.root_node();
    let mut out = ShellProgram {
        commands: Vec::new(),
        single: false,
        parse_error: root.has_error(),
    };
    let mut stmts = 0;
    let mut c = root.walk();
    for ch in root.children(&mut c) {
        if ch.kind() == "comment" {
            continue;
        }
        stmts += 1;
        out.single = stmts == 1 && ch.kind() == "command";
        if stmts > 1 {
            out.single = false;
        }
        collect_commands(ch, shell, &mut out.commands);
    }
    Some(out)
}

fn collect_commands(n: tree_sitter::Node, s: &str, out: &mut Vec<ShellCmd>) {
    if n.kind() == "heredoc_body" {
        return;
    }
    if n.kind() == "command" {
        if let Some(name) = n.child_by_field_name("name") {
            let mut words = vec![shell_word(name, s)];
            let mut c = n.walk();
            for a in n.children_by_field_name("argument", &mut c) {
                words.push(shell_word(a, s));
            }
            let mut c = n.walk();
            let kids: Vec<_> = n.children(&mut c).collect();
            out.push(ShellCmd {
                words,
                assignments: kids.iter().any(|k| k.kind() == "variable_assignment"),
                redirects: kids.iter().any(|k| k.kind().ends_with("redirect"))
                    || std::iter::successors(n.parent(), |p| p.parent())
                        .any(|p| p.kind() == "redirected_statement"),
                span: n.byte_range(),
            });
        }
    }
    let mut c = n.walk();
    for ch in n.children(&mut c) {
        collect_commands(ch, s, out);
    }
}

fn shell_word(n: tree_sitter::Node, s: &str) -> ShellWord {
    let raw = &s[n.byte_range()];
    let n = if n.kind() == "command_name" {
        n.child(0).unwrap_or(n)
    } else {
        n
    };
    fn literal(n: tree_sitter::Node) -> bool {
        match n.kind() {
            "word" | "number" | "raw_string" | "string_content" | "\"" => true,
            "string" | "concatenation" => {
                let mut c = n.walk();
                let r = n.children(&mut c).all(literal);
                r
            }
            _ => false,
        }
    }
    let is_literal =
        literal(n) && !raw.contains(['*', '?', '[', '~', '\\', '$', '`']) && !raw.starts_with('{');
    let bare = n.kind() == "word" && !raw.contains(['\'', '"', '\\']);
    let text = if is_literal {
        raw.chars().filter(|c| *c != '"' && *c != '\'').collect()
    } else {
        raw.to_string()
    };
    ShellWord {
        text,
        span: n.byte_range(),
        literal: is_literal,
        bare,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_expand_whole_names() {
        let args = vec![
            ("BASE".to_string(), Some("node".to_string())),
            ("BASE_TAG".to_string(), Some("20-alpine".to_string())),
            ("EMPTY".to_string(), Some(String::new())),
            ("UNSET".to_string(), None),
        ];
        let x = |s: &str| substitute_args(s, &args);
        assert_eq!(x("$BASE:$BASE_TAG"), "node:20-alpine");
        assert_eq!(x("${BASE}:${BASE_TAG}"), "node:20-alpine");
        assert_eq!(x("${BASE_TAG:-x}"), "20-alpine");
        assert_eq!(x("${NOPE:-22}-slim"), "22-slim");
        assert_eq!(x("${EMPTY:-d}"), "d");
        assert_eq!(x("a${BASE:+-with}"), "a-with");
        // Declared without a value: it may come from --build-arg, so kept.
        assert_eq!(x("a${UNSET:+-with}b"), "a${UNSET:+-with}b");
        assert_eq!(x("a${EMPTY:+-with}b"), "ab");
        assert_eq!(x("$BASEX ${NOPE} $"), "$BASEX ${NOPE} $");
        assert_eq!(x("\\$BASE"), "\\$BASE");
        assert_eq!(x("${BASE"), "${BASE");
    }

    #[test]
    fn continuations_heredocs_and_stages() {
        let t = "# syntax=docker/dockerfile:1\r\nARG NODE=20\r\nFROM node:${NODE}-alpine AS builder\r\nRUN apk add \\\r\n  # comment inside\r\n\r\n  curl\r\nRUN <<EOF cat >/x && <<-'B' sh\r\necho npx\r\nEOF\r\n\techo b\r\n\tB\r\nFROM builder\r\nCMD [\"node\", \"dist/main.js\"]\r\n";
        let df = parse_text(t);
        assert_eq!(df.directives[0].0, "syntax");
        assert_eq!(df.stages.len(), 2);
        assert_eq!(df.stages[0].base, "node:20-alpine");
        assert_eq!(df.root_image(&df.stages[1]), "node:20-alpine");
        let run = &df.instructions[2];
        assert_eq!(run.keyword, "RUN");
        assert_eq!(
            run.args.split_whitespace().collect::<Vec<_>>(),
            vec!["apk", "add", "curl"]
        );
        let hd = &df.instructions[3];
        assert_eq!(hd.heredocs.len(), 2);
        assert_eq!(&t[hd.heredocs[0].body.clone()], "echo npx\r\n");
        assert_eq!(&t[hd.heredocs[1].body.clone()], "\techo b\r\n");
        assert_eq!(df.instructions[4].keyword, "FROM");
        assert_eq!(df.instructions[5].json.as_ref().unwrap()[1], "dist/main.js");
        let covered: usize = df.tokens.iter().map(|t| t.span.len()).sum();
        assert_eq!(covered, t.len());
    }

    fn prog(t: &str) -> (String, ShellProgram) {
        let df = parse_text(t);
        let ins = df.instructions.last().unwrap();
        (
            t.to_string(),
            shell_program(t, ins, df.escape).unwrap().into_owned(),
        )
    }

    #[test]
    fn shell_form_on_the_syntax_tree() {
        let (t, p) = prog("FROM x\nRUN --mount=type=cache,target=/r pnpm install --filter \"{apps/x}...\" \\\n  # note\n\n  --frozen-lockfile && echo \"yarn install\" >> notes\n");
        let names: Vec<&str> = p.commands.iter().map(|c| c.name()).collect();
        assert_eq!(names, vec!["pnpm", "echo"]);
        let args: Vec<&str> = p.commands[0]
            .args()
            .iter()
            .map(|w| w.text.as_str())
            .collect();
        assert_eq!(
            args,
            vec!["install", "--filter", "{apps/x}...", "--frozen-lockfile"]
        );
        assert_eq!(&t[p.commands[0].words[1].span.clone()], "install");
        assert!(!p.single, "{p:?}");
        assert!(p.commands[1].redirects, "{p:?}");
        let (t, p) = prog("FROM x\r\nRUN npm i \\\r\n  --omit=dev\r\n");
        assert_eq!(p.commands[0].args().len(), 2, "{p:?}");
        assert_eq!(&t[p.commands[0].words[2].span.clone()], "--omit=dev");
        let (t, p) = prog("FROM x\nRUN --mount=type=cache,target=/s\\\n    --mount=type=secret,id=T export T=1 && \\\n pnpm install --filter \"{a}...\"\\\n --frozen-lockfile\n");
        let names: Vec<&str> = p.commands.iter().map(|c| c.name()).collect();
        assert_eq!(names, vec!["pnpm"], "{p:?}"); // `export` is a declaration
        assert_eq!(&t[p.commands[0].words[4].span.clone()], "--frozen-lockfile");
        let (_, p) = prog("FROM x\nCMD NODE_ENV=production node server.js\n");
        assert!(p.single && p.commands[0].assignments);
        let (_, p) = prog("FROM x\nCMD node \"$APP\"\n");
        assert!(!p.commands[0].words[1].literal);
    }

    #[test]
    fn escape_directive() {
        let t = "# escape=`\nFROM mcr.microsoft.com/windows\nRUN dir `\n  c:\\\n";
        let df = parse_text(t);
        assert_eq!(df.escape, '`');
        assert_eq!(
            df.instructions[1]
                .args
                .split_whitespace()
                .collect::<Vec<_>>(),
            vec!["dir", "c:\\"]
        );
    }

    #[test]
    fn env_forms() {
        assert_eq!(
            parse_env_args("PORT 3000"),
            vec![("PORT".into(), "3000".into())]
        );
        assert_eq!(
            parse_env_args("A=1 B=\"x y\""),
            vec![("A".into(), "1".into()), ("B".into(), "x y".into())]
        );
    }

    #[test]
    fn garbage_and_empty() {
        assert!(parse_text("").instructions.is_empty());
        let df = parse_text("\\\n\u{0}\u{7f} <<\n<<-\"\nRUN <<EOF\n");
        let covered: usize = df.tokens.iter().map(|t| t.span.len()).sum();
        assert_eq!(covered, "\\\n\u{0}\u{7f} <<\n<<-\"\nRUN <<EOF\n".len());
    }

    const PLAIN_VOCAB: &[&str] = &[
        "pnpm",
        "install",
        "--frozen-lockfile",
        "-u",
        "1001",
        "nodejs",
        "a=b",
        "X=1",
        "export",
        "if",
        "&&",
        "\\\n",
        "\n",
        "-",
        "--",
        "9.12.3",
        "pnpm@9.12.3",
        "./entrypoint.sh",
        "+x",
        "chmod",
        ":",
        "a,b",
        "x:y",
        "0x1F",
        "1e3",
        "-1",
        "1.2",
        "@scope/pkg",
        "done",
        "in",
        "echo",
        "true",
        "a.b",
        "_x",
        "--schema=prisma/schema.prisma",
        "user-ui...",
        "&",
        "&&&",
        "||",
        ";",
        "#",
        "'q'",
        "\"d\"",
        "$X",
        "~/x",
        "a*",
        "{a,b}",
        "\t",
        "local",
        "time",
        "!",
        "apk",
        "add",
        "--no-cache",
        "dumb-init",
        "corepack",
        "enable",
        "--filter",
        "b&&",
        "&&c",
        "npx",
        "prisma",
        "generate",
        "adduser",
        "-S",
        "1001x",
        "x1001",
        "=",
        "a=",
        "=b",
        "\\",
        " \\\n",
        "\\\n\\\n",
        "-g",
        "0",
        "007",
        "-u1001",
        "==",
        "=~",
        "-eq",
        "!=",
        "a\\",
        "%",
        "^x",
        "x{",
        "}",
        "a=1001",
        "--port=3000",
    ];

    /// Where the parser-free reading answers, it must give exactly what
    /// tree-sitter-bash gives (words, spans, literal/bare, `single`).
    #[test]
    fn plain_commands_agree_with_the_parser() {
        let answered = std::cell::Cell::new(0usize);
        let cases = std::cell::Cell::new(0usize);
        let check = |text: &str| {
            cases.set(cases.get() + 1);
            if let Some(fast) = plain_commands(text) {
                answered.set(answered.get() + 1);
                let slow = syntax_commands(text).expect("parses");
                assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "for {text:?}");
            }
        };
        for line in [
            "pnpm install --frozen-lockfile",
            "corepack enable && corepack prepare pnpm@9.12.3 --activate",
            "pnpm --filter api-gateway build \\\n    && pnpm deploy --filter=api-gateway --prod /out",
            "addgroup -g 1001 -S nodejs && adduser -S nextjs -u 1001",
            "chmod +x ./entrypoint.sh",
        ] {
            check(line);
        }
        // Tokens the plain reading accepts, then every token.
        let plain: Vec<&str> = PLAIN_VOCAB
            .iter()
            .copied()
            .filter(|w| {
                plain_commands(&format!("true {w}")).is_some() || *w == "&&" || *w == "\\\n"
            })
            .collect();
        for vocab in [plain, PLAIN_VOCAB.to_vec()] {
            let mut runner =
                proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
                    cases: 20000,
                    ..Default::default()
                });
            let words = proptest::collection::vec(
                (
                    proptest::sample::select(vocab),
                    proptest::sample::select(&[" ", "  ", "\t", ""][..]),
                ),
                1..10,
            );
            runner
                .run(&words, |ws| {
                    let text: String = ws.iter().map(|(w, sep)| format!("{w}{sep}")).collect();
                    check(&text);
                    Ok(())
                })
                .unwrap();
        }
        let (answered, cases) = (answered.get(), cases.get());
        assert!(
            answered > cases / 4,
            "the plain reading answered {answered} of {cases}"
        );
    }

    /// The plain reading covers the RUN lines of the bundled fixture repo
    /// (the common shapes: installs, `&&` chains, continuations).
    #[test]
    fn plain_commands_cover_the_fixture_runs() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/nomadnet/apps");
        let mut runs = 0;
        for app in std::fs::read_dir(root).unwrap() {
            let path = app.unwrap().path().join("Dockerfile");
            let Ok(t) = std::fs::read_to_string(&path) else {
                continue;
            };
            let df = parse_text(&t);
            for ins in df.instructions.iter().filter(|i| i.keyword == "RUN") {
                runs += 1;
                let args = &t[ins.args_span.clone()];
                assert!(
                    plain_commands(args).is_some(),
                    "{}: `{args}` went to the parser",
                    path.display()
                );
            }
        }
        assert!(runs > 50, "{runs} RUN lines");
    }
}
