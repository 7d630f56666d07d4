//! Output: text, JSON, SARIF, GitHub annotations, Markdown and diffs.

pub mod diff;
pub mod github;
pub mod json;
pub mod markdown;
pub mod sarif;
pub mod text;

pub use crate::safe_text::{escape, escape_lines, is_unsafe_char};
