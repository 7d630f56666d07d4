//! prodsafe: finds and fixes what makes "the build succeeds but production
//! runtime breaks" in container monorepos.
//!
//! The pipeline, one module per step:
//! [`discover`] files -> [`formats`] (one model per format, with byte spans)
//! -> [`graph`] (compose service -> Dockerfile -> entrypoint -> app entry)
//! -> [`rules`] (pure functions to [`finding`]s with optional fixes)
//! -> [`plan`] (merge edits, refuse overlaps) -> [`edit`] (apply, verify,
//! write atomically) -> [`render`] (text, JSON, SARIF, GitHub, diffs).
//!
//! Above it: [`cli`] parses arguments and dispatches to [`check`] and
//! [`commands`]; they, [`batch`] and [`interactive`] drive the [`engine`]
//! (resolve paths, load a root, run, plan, diff, write). No module imports
//! one above it (`tests/module_cycles.rs`).

pub mod baseline;
pub mod batch;
pub mod check;
pub mod cli;
pub mod commands;
pub mod config;
pub mod discover;
pub mod edit;
pub mod engine;
pub mod env;
pub mod finding;
pub mod fleet;
pub mod formats;
pub mod gitindex;
pub mod graph;
pub mod images;
pub mod inferred;
pub mod interactive;
pub mod inventory;
pub mod man;
pub mod plan;
pub mod project;
pub mod relpath;
pub mod render;
pub mod report;
pub mod rules;
pub mod safe_text;
pub mod source;
pub mod suppress;
pub mod templates;
pub mod workspace;
