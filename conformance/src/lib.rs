//! eaof-conformance: what a port of the format is checked against, and the runner that
//! checks it.
//!
//! - [`json`]: the lossless JSON form of records (docs/FORMAT.md §9.1); [`walk`]: a
//!   record's bytes as a tree of fields, which [`hexdump`] annotates;
//! - [`fixtures`]: the golden fixture set (`fixtures/`), made by eaof's own writer;
//! - [`vectors`]: the test vectors for ports (`fixtures/vectors.json`, FORMAT.md §9.3);
//! - [`protocol`]: the length-prefixed JSON framing a runner and an implementation speak
//!   over a pipe (FORMAT.md §9.4); [`child`]: an implementation run as a child process
//!   (timeouts, restarts, nothing outlives the runner); [`cases`]: the vectors as requests,
//!   and the judging of answers.
//!
//! Everything here is generated from, or judged by, the reference (`eaof`); nothing here
//! knows a command line (`eaof conform` and `eaof vectors` are front ends in `cli/`).
#![forbid(unsafe_code)]

pub mod cases;
pub mod child;
pub mod fixtures;
pub mod hexdump;
pub mod json;
pub mod protocol;
pub mod vectors;
pub mod walk;
