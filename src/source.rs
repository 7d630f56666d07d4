//! A file as read from disk: its text plus everything an edit must preserve
//! (byte-order mark, line-ending style, final-newline state, file mode).

use std::path::{Path, PathBuf};

/// Files larger than this are reported and skipped.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eol {
    Lf,
    Crlf,
}

impl Eol {
    pub fn as_str(self) -> &'static str {
        match self {
            Eol::Lf => "\n",
            Eol::Crlf => "\r\n",
        }
    }
}

#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path relative to the scanned root, with `/` separators.
    pub rel: String,
    /// Absolute (or root-joined) path used for I/O.
    pub abs: PathBuf,
    /// Text without the BOM.
    pub text: String,
    pub bom: bool,
    pub eol: Eol,
    /// Unix permission bits (0 when unknown).
    pub mode: u32,
    /// What was read from disk (None for text that was not read from a
    /// file): checked again just before a write.
    pub stamp: Option<Stamp>,
    line_starts: Vec<usize>,
}

/// Size, modification time and content hash of a file as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub len: u64,
    pub mtime: Option<std::time::SystemTime>,
    pub hash: u64,
}

impl Stamp {
    pub fn of(meta: &std::fs::Metadata, bytes: &[u8]) -> Stamp {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut h);
        Stamp {
            len: bytes.len() as u64,
            mtime: meta.modified().ok(),
            hash: h.finish(),
        }
    }

    /// The stamp of the file at `path` now.
    pub fn now(path: &Path) -> std::io::Result<Stamp> {
        let bytes = std::fs::read(path)?;
        let meta = std::fs::metadata(path)?;
        Ok(Stamp::of(&meta, &bytes))
    }
}

#[derive(Debug, Clone)]
pub struct LoadError {
    pub rel: String,
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Paths and messages come from the repository: escaped.
        let (rel, message) = (
            crate::safe_text::escape(&self.rel),
            crate::safe_text::escape(&self.message),
        );
        match self.line {
            Some(l) => write!(f, "{rel}:{l}: {message}"),
            None => write!(f, "{rel}: {message}"),
        }
    }
}

impl SourceFile {
    pub fn from_text(rel: &str, abs: &Path, text: &str, mode: u32) -> SourceFile {
        Self::from_owned(rel, abs, text.to_string(), mode)
    }

    /// [`SourceFile::from_text`] without copying the text (a BOM is cut
    /// off in place).
    pub fn from_owned(rel: &str, abs: &Path, mut text: String, mode: u32) -> SourceFile {
        let bom = text.starts_with('\u{feff}');
        if bom {
            text.drain(..'\u{feff}'.len_utf8());
        }
        let (line_starts, eol) = lines_and_eol(&text);
        SourceFile {
            rel: rel.to_string(),
            abs: abs.to_path_buf(),
            text,
            bom,
            eol,
            mode,
            stamp: None,
            line_starts,
        }
    }

    /// Reads a file, refusing binary, non-UTF-8 and oversized files with a
    /// message that names the file and, where possible, the line.
    pub fn read(rel: &str, abs: &Path) -> Result<SourceFile, LoadError> {
        let err = |line, message: String| LoadError {
            rel: rel.to_string(),
            line,
            message,
        };
        // One open, one fstat, one read: no second path lookup.
        let cannot = |e: std::io::Error| err(None, format!("cannot read: {e}"));
        let mut file = std::fs::File::open(abs).map_err(cannot)?;
        let meta = file.metadata().map_err(cannot)?;
        if meta.len() > MAX_FILE_BYTES {
            return Err(err(
                None,
                format!(
                    "file is {} bytes, larger than the {} byte limit; skipped",
                    meta.len(),
                    MAX_FILE_BYTES
                ),
            ));
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize + 1);
        // Bounded even if the file grows after the fstat.
        std::io::Read::read_to_end(
            &mut std::io::Read::take(&mut file, MAX_FILE_BYTES + 1),
            &mut bytes,
        )
        .map_err(cannot)?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(err(
                None,
                format!("file grew past the {MAX_FILE_BYTES} byte limit while read; skipped"),
            ));
        }
        let stamp = Stamp::of(&meta, &bytes);
        if let Some(pos) = bytes.iter().position(|&b| b == 0) {
            let line = bytes[..pos].iter().filter(|&&b| b == b'\n').count() + 1;
            return Err(err(Some(line), "binary file (NUL byte); skipped".into()));
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            let pos = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..pos].iter().filter(|&&b| b == b'\n').count() + 1;
            err(Some(line), "not valid UTF-8; skipped".into())
        })?;
        let mut f = SourceFile::from_owned(rel, abs, text, file_mode(&meta));
        f.stamp = Some(stamp);
        Ok(f)
    }

    /// The full file content as bytes on disk would be (BOM included).
    pub fn full_text(&self) -> String {
        with_bom(self.bom, &self.text)
    }

    pub fn final_newline(&self) -> bool {
        self.text.ends_with('\n')
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// Byte offset where 1-based `line` starts (or text length past the end).
    pub fn line_start(&self, line: usize) -> usize {
        if line == 0 {
            return 0;
        }
        self.line_starts
            .get(line - 1)
            .copied()
            .unwrap_or(self.text.len())
    }

    /// Byte offset just past the line's content, before its `\r\n` / `\n`.
    pub fn line_content_end(&self, line: usize) -> usize {
        let next = self.line_start(line + 1);
        let s = &self.text[..next];
        let s = s.strip_suffix('\n').unwrap_or(s);
        let s = s.strip_suffix('\r').unwrap_or(s);
        s.len().max(self.line_start(line))
    }

    /// The line's text without its line ending.
    pub fn line_text(&self, line: usize) -> &str {
        &self.text[self.line_start(line)..self.line_content_end(line)]
    }

    /// 1-based column of the first non-blank character of a line.
    pub fn first_col(&self, line: usize) -> usize {
        let t = self.line_text(line);
        t.chars().take_while(|c| c.is_whitespace()).count() + 1
    }

    /// 1-based line and column (in characters, 1-based) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let idx = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts.get(idx).copied().unwrap_or(0);
        let end = offset.min(self.text.len());
        let col = self
            .text
            .get(start..end)
            .map(|s| s.chars().count())
            .unwrap_or(0)
            + 1;
        (idx + 1, col)
    }

    /// Byte offset of 1-based line and 0-based character column.
    pub fn offset_of(&self, line: usize, char_col: usize) -> usize {
        let start = self.line_start(line);
        let rest = &self.text[start..];
        rest.char_indices()
            .nth(char_col)
            .map(|(i, _)| start + i)
            .unwrap_or(self.text.len())
    }
}

pub fn with_bom(bom: bool, text: &str) -> String {
    if bom {
        format!("\u{feff}{text}")
    } else {
        text.to_string()
    }
}

/// [`line_starts`] and [`detect_eol`] in one pass over the text.
fn lines_and_eol(text: &str) -> (Vec<usize>, Eol) {
    let b = text.as_bytes();
    let mut starts = vec![0];
    let mut crlf = 0usize;
    let mut lf = 0usize;
    for (i, &c) in b.iter().enumerate() {
        if c == b'\n' {
            lf += 1;
            if i > 0 && b[i - 1] == b'\r' {
                crlf += 1;
            }
            if i + 1 < b.len() {
                starts.push(i + 1);
            }
        }
    }
    let eol = if crlf > 0 && crlf * 2 >= lf {
        Eol::Crlf
    } else {
        Eol::Lf
    };
    (starts, eol)
}

pub fn detect_eol(text: &str) -> Eol {
    let crlf = text.matches("\r\n").count();
    let lf = text.matches('\n').count();
    if crlf > 0 && crlf * 2 >= lf {
        Eol::Crlf
    } else {
        Eol::Lf
    }
}

pub fn line_starts(text: &str) -> Vec<usize> {
    let mut v = vec![0];
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' && i + 1 < text.len() {
            v.push(i + 1);
        }
    }
    v
}

/// Leading spaces of a line (tabs count as not-indentation).
pub fn indent_of(line: &str) -> usize {
    line.bytes().take_while(|&b| b == b' ').count()
}

#[cfg(unix)]
fn file_mode(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode()
}

#[cfg(not(unix))]
fn file_mode(_meta: &std::fs::Metadata) -> u32 {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_offsets() {
        let f = SourceFile::from_text("x", Path::new("x"), "\u{feff}a\r\nbé\r\nc", 0o644);
        assert!(f.bom);
        assert_eq!(f.eol, Eol::Crlf);
        assert_eq!(f.line_count(), 3);
        assert_eq!(f.line_text(2), "bé");
        assert_eq!(f.offset_of(2, 2), f.line_start(2) + 3);
        assert_eq!(f.line_col(f.line_start(3)), (3, 1));
        assert!(!f.final_newline());
        assert_eq!(f.full_text(), "\u{feff}a\r\nbé\r\nc");
    }

    #[test]
    fn one_pass_equals_the_two_scans() {
        use proptest::prelude::*;
        proptest!(|(t in "[a\r\n\u{feff}é]{0,40}")| {
            let (starts, eol) = lines_and_eol(&t);
            prop_assert_eq!(starts, line_starts(&t));
            prop_assert_eq!(eol, detect_eol(&t));
            let f = SourceFile::from_text("x", Path::new("x"), &t, 0o644);
            prop_assert_eq!(f.full_text(), t);
        });
    }
}
