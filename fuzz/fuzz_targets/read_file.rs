//! Fuzz target `read_file`: the property is `eaof_check::fuzzing::read_file`, which
//! `tests/fuzz_seeds.rs` also runs over `fuzz/seeds/read_file/` in CI.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eaof_check::fuzzing::read_file(data));
