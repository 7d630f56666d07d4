//! Repository text made safe to print: no escape sequence, newline or
//! bidi override from a file reaches a terminal or a CI log raw.

use std::borrow::Cow;

/// Whether a character must not reach a terminal raw: C0 and C1 controls,
/// DEL, line and paragraph separators, and bidirectional overrides.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
        )
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// Text from a repository made safe to print on one line: control
/// characters (escape sequences, newlines, tabs, bidi overrides) are shown
/// as escapes (`\n`, `\t`, `\u{1b}`) instead of acting on the terminal.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Like [`escape`] for multi-line text: newlines (and CRLF) and tabs stay.
pub fn escape_lines(s: &str) -> Cow<'_, str> {
    if !s
        .chars()
        .any(|c| is_unsafe_char(c) && !matches!(c, '\n' | '\t'))
    {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\t' => out.push(c),
            '\r' if chars.peek() == Some(&'\n') => out.push(c),
            c if is_unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls() {
        assert_eq!(escape("plain name"), "plain name");
        assert_eq!(
            escape("a\u{1b}]0;pwned\u{7}b\nc\td\u{9b}e\u{202e}f"),
            "a\\u{1b}]0;pwned\\u{7}b\\nc\\td\\u{9b}e\\u{202e}f"
        );
        assert_eq!(
            escape_lines("a\r\nb\u{1b}[2J\tc\rd"),
            "a\r\nb\\u{1b}[2J\tc\\u{d}d"
        );
        assert!(!escape("x\u{1b}y").contains('\u{1b}'));
    }
}
