//! Fuzz target `replay`: the property is `eaof_check::fuzzing::replay`, which
//! `tests/fuzz_seeds.rs` also runs over `fuzz/seeds/replay/` in CI.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eaof_check::fuzzing::replay(data));
