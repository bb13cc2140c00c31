//! Fuzz target `script_planted` (feature `planted`, never built for OSS-Fuzz): the `script`
//! property on eaof with a bug planted in its sync (`eaof_check::fuzzing::planted`). It must
//! crash: that shows the structure-aware target reaches crashes, reopens and syncs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eaof_check::fuzzing::planted::script_planted(data));
