//! Findings and fixes: what rules produce.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
    pub fn parse(s: &str) -> Option<Severity> {
        match s.to_ascii_lowercase().as_str() {
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Safety {
    /// Applied by `prodsafe fix`.
    Safe,
    /// Applied only with `--unsafe-fixes` (may change behaviour).
    Unsafe,
}

/// Replace `range` of the file text (BOM excluded) with `text`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Edit {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// What re-parsing the edited file must show.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Expect {
    /// The YAML value equals the original with `key: value` appended to the
    /// mapping at `path` (mapping keys from the document root).
    YamlKeyAdded {
        path: Vec<String>,
        key: String,
        /// YAML text of the value (parsed during verification).
        value: String,
    },
    /// The YAML value equals the original with `value` (YAML text of one
    /// item) inserted into the sequence at `path` before position `index`.
    YamlSeqItemInserted {
        path: Vec<String>,
        index: usize,
        value: String,
    },
    /// The YAML value equals the original with the scalar at `path` replaced.
    YamlValueSet { path: Vec<String>, value: String },
    /// The file must still parse in its format; no semantic expectation
    /// (instructions may be removed).
    Reparse,
    /// The edit converts CRLF line endings to LF on purpose.
    EolToLf,
}

/// The edits of a fix in one file, and what re-parsing that file must show.
#[derive(Debug, Clone)]
pub struct FileChange {
    /// File the edits apply to (relative to the root).
    pub path: String,
    pub edits: Vec<Edit>,
    pub expect: Vec<Expect>,
}

/// A fix: byte-range edits in one or more files, applied all or nothing
/// (if any of its files fails verification, none of them is written).
#[derive(Debug, Clone)]
pub struct Fix {
    pub title: String,
    pub safety: Safety,
    /// Why the fix is unsafe, when it is.
    pub unsafe_reason: Option<String>,
    /// One entry per file, each path at most once.
    pub changes: Vec<FileChange>,
}

impl Fix {
    /// The files this fix edits.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.changes.iter().map(|c| c.path.as_str())
    }

    /// The change of this fix in `path`, if it edits that file.
    pub fn change(&self, path: &str) -> Option<&FileChange> {
        self.changes.iter().find(|c| c.path == path)
    }
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub path: String,
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// End of the span (exclusive column, 1-based, in characters). Rules may
    /// leave it at the start; the engine then extends it to the end of the
    /// word at the start.
    pub end_line: usize,
    pub end_column: usize,
    pub message: String,
    pub service: Option<String>,
    pub fix: Option<Fix>,
    /// Why there is no fix, when that is worth telling.
    pub no_fix_reason: Option<String>,
    /// Other rules' findings about the same problem, merged into this one.
    pub related: Vec<Related>,
}

/// A location another rule reported for the same problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    pub code: &'static str,
    pub path: String,
    pub line: usize,
}

impl Finding {
    pub fn sort_key(&self) -> (String, usize, usize, &'static str) {
        (self.path.clone(), self.line, self.column, self.code)
    }
}
