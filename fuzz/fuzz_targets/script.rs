//! Fuzz target `script`: the property is `eaof_check::fuzzing::script::script` (a run of
//! commands, flushes, syncs, crashes, reopens and faults decoded with `arbitrary`, judged by
//! the engines' oracle), which `tests/fuzz_seeds.rs` also runs over `fuzz/seeds/script/` in CI.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eaof_check::fuzzing::script::script(data));
