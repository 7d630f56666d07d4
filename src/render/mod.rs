//! Output: text, JSON and diffs (SARIF, GitHub and Markdown join later).

pub mod diff;
pub mod json;
pub mod text;
