//! eaof-model: the in-memory model store, the simulated disk, and the checker engines.
#![forbid(unsafe_code)]
pub mod sim;
