//! Output: text, JSON and diffs (SARIF, GitHub and Markdown join later).

pub mod diff;
pub mod github;
pub mod json;
pub mod markdown;
pub mod sarif;
pub mod text;
