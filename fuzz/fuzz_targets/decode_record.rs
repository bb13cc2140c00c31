//! Fuzz target `decode_record`: the property is `eaof_check::fuzzing::decode_record`, which
//! `tests/fuzz_seeds.rs` also runs over `fuzz/seeds/decode_record/` in CI.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eaof_check::fuzzing::decode_record(data));
