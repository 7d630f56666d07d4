//! One module per input format. Each turns a [`crate::source::SourceFile`]
//! into a model that keeps byte spans / lines for every fact it reports.

pub mod appcode;
pub mod compose;
pub mod dockerfile;
pub mod envuse;
pub mod nginx;
pub mod package_json;
pub mod prisma;
pub mod shell;
pub mod treesitter;
pub mod tsverify;
pub mod workflow;
pub mod yaml;
