//! Fuzz target `reopen_append`: the property is `eaof_check::fuzzing::reopen_append`, which
//! `tests/fuzz_seeds.rs` also runs over `fuzz/seeds/reopen_append/` in CI.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eaof_check::fuzzing::reopen_append(data));
