//! eaof-model: the in-memory model store, the simulated disk, and the checker engines; and
//! the tools built on the record table that the CLI and the tests share: the lossless JSON
//! of records ([`json`]), the annotated hex dump ([`hexdump`]), and the golden fixture set
//! ([`fixtures`]).
#![forbid(unsafe_code)]

pub mod fixtures;
pub mod gen;
pub mod hexdump;
pub mod json;
pub mod sim;
pub mod walk;
