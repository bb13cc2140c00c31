//! Every fuzz target's property holds on every file of its committed seed corpus
//! (`fuzz/seeds/<target>/`), so CI runs the fuzz targets as ordinary tests. The seeds are made
//! from `fixtures/` (and, for `script`, from the explorer's alphabet):
//! `EAOF_WRITE_SEEDS=1 cargo test --test fuzz_seeds` rewrites them.
//!
//! The structure-aware target `script` is also shown to find the bug planted in
//! `eaof_check::fuzzing::planted`, on the input a recorded libFuzzer run found
//! (`fuzz/planted/script_planted/`) and by a plain random search over its input bytes.

use std::fs;
use std::path::{Path, PathBuf};

use eaof::encryption::EncryptionKey;
use eaof::scanner::Scanner;
use eaof_check::alphabet::explorer_commands;
use eaof_check::explore;
use eaof_check::fuzzing::planted::{script_planted, SyncLiesAfterReopen};
use eaof_check::fuzzing::script::{
    self, encode, FuzzCommand, FuzzFault, FuzzStep, FuzzVersion, Script,
};
use eaof_check::fuzzing::TARGETS;
use eaof_check::report::{no_progress, Budget};
use eaof_check::Version;
use eaof_conformance::fixtures;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn fixture_files() -> Vec<PathBuf> {
    let dir = root().join("fixtures");
    let mut files: Vec<PathBuf> = fixtures::files_under(&dir)
        .expect("fixtures")
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "aof"))
        .map(|f| dir.join(f))
        .collect();
    files.sort();
    files
}

/// The seeds of each target, made from the fixtures.
fn seeds_from_fixtures() -> Vec<(&'static str, String, Vec<u8>)> {
    let key = EncryptionKey::from_bytes(fixtures::KEY);
    let mut seeds = Vec::new();
    for file in fixture_files() {
        let bytes = fs::read(&file).expect("fixture");
        let parent = file
            .parent()
            .and_then(|p| p.file_name())
            .unwrap_or_default();
        let stem = format!(
            "{}-{}",
            parent.to_string_lossy(),
            file.file_stem().unwrap_or_default().to_string_lossy()
        );
        for target in ["read_file", "reopen_append", "replay"] {
            seeds.push((target, stem.clone(), bytes.clone()));
        }
        // A torn tail and trailing zeros, the damage a crash leaves.
        let torn = bytes[..bytes.len() - bytes.len().min(7)].to_vec();
        let mut zeros = bytes.clone();
        zeros.extend_from_slice(&[0; 24]);
        for target in ["read_file", "reopen_append"] {
            seeds.push((target, format!("{stem}-torn"), torn.clone()));
            seeds.push((target, format!("{stem}-zeros"), zeros.clone()));
        }
        let mut scanner = Scanner::new(&bytes, Some(&key)).expect("fixture opens");
        let mut n = 0;
        while let Some((_, record)) = scanner.next_record() {
            let raw = record
                .to_record()
                .to_bytes()
                .expect("fixture record encodes");
            seeds.push(("decode_record", format!("{stem}-{n}"), raw));
            n += 1;
        }
    }
    for (name, script) in script_seeds() {
        let bytes = encode(&script).expect("letters only");
        seeds.push(("script", name, bytes));
    }
    seeds
}

/// The scripts the `script` corpus starts from: every letter of the explorer's alphabet
/// written, flushed, synced and crashed into; pairs of letters around a crash, a restart or
/// a fault; both versions.
fn script_seeds() -> Vec<(String, Script)> {
    use FuzzStep::{Crash, Fault, Flush, Reopen, Sync};
    let letters = explorer_commands().len() as u8;
    let letter = |n: u8| FuzzStep::Command(FuzzCommand::Letter(n));
    let mut out = Vec::new();
    for (v, version) in [("v2", FuzzVersion::V2), ("v3", FuzzVersion::V3)] {
        let mut add = |name: String, steps: Vec<FuzzStep>| {
            out.push((format!("{v}-{name}"), Script { version, steps }));
        };
        for n in 0..letters {
            let next = (n + 1) % letters;
            add(
                format!("letter-{n}"),
                vec![
                    letter(n),
                    Flush,
                    Sync,
                    letter(next),
                    Flush,
                    Crash {
                        harsh: false,
                        pick: 3,
                    },
                ],
            );
            add(
                format!("restart-{n}"),
                vec![
                    letter(n),
                    Sync,
                    Reopen,
                    letter(next),
                    Flush,
                    Sync,
                    Crash {
                        harsh: true,
                        pick: 7,
                    },
                ],
            );
            add(
                format!("fault-{n}"),
                vec![
                    letter(n),
                    Flush,
                    Fault(if n % 2 == 0 {
                        FuzzFault::FailOp { after: n % 4 }
                    } else {
                        FuzzFault::DiskFull {
                            bytes: u16::from(n) * 3,
                        }
                    }),
                    letter(next),
                    Sync,
                    letter(n),
                ],
            );
        }
    }
    out
}

#[test]
fn script_seeds_decode_to_the_scripts_they_were_made_from() {
    let scripts = script_seeds();
    assert!(scripts.len() >= 90);
    for (name, script) in scripts {
        let bytes = encode(&script).expect("letters only");
        assert_eq!(Script::decode(&bytes), script, "{name}");
    }
}

#[test]
fn every_input_decodes_to_a_bounded_script() {
    // Arbitrary bytes, short and long: a script, never a panic, never over STEPS_MAX steps.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for len in (0..300).chain([4096, 65_536]) {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        assert!(Script::decode(&bytes).steps.len() <= script::STEPS_MAX);
    }
}

/// Whether `property` panics on `data` (quietly).
fn fails(property: fn(&[u8]), data: &[u8]) -> bool {
    std::panic::catch_unwind(|| property(data)).is_err()
}

#[test]
fn the_script_target_finds_the_sync_planted_to_lie_after_a_reopen() {
    // The input a recorded libFuzzer run of `script_planted` stopped on (README, Fuzzing).
    let dir = root().join("fuzz").join("planted").join("script_planted");
    let mut crashes: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .collect();
    crashes.sort();
    assert!(
        !crashes.is_empty(),
        "no recorded crash in {}",
        dir.display()
    );
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for crash in &crashes {
        let bytes = fs::read(crash).expect("crash input");
        let script = Script::decode(&bytes);
        assert!(
            fails(script_planted, &bytes),
            "{}: not found on\n{script}",
            crash.display()
        );
        assert!(
            !fails(script::script, &bytes),
            "{}: eaof itself fails\n{script}",
            crash.display()
        );
    }
    // A plain random search over the input bytes meets it too, through the same decoding.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let found = (0..20_000).find(|_| {
        let bytes: Vec<u8> = (0..64)
            .map(|_| {
                x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = x;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                (z ^ (z >> 27)) as u8
            })
            .collect();
        fails(script_planted, &bytes)
    });
    std::panic::set_hook(previous);
    assert!(
        found.is_some(),
        "20,000 random scripts never met the planted bug"
    );
    // Beyond the exhaustive explorer's reach: it crashes only at the end of a sequence.
    let explored = explore::run(
        &mut SyncLiesAfterReopen::new(Version::V2),
        &explore::ExploreConfig {
            depth: 2,
            ..Default::default()
        },
        &Budget::unlimited(),
        &mut no_progress(),
    );
    assert!(explored.complete && explored.found.is_empty(), "{explored}");
    eprintln!(
        "a random search met the planted bug after {} scripts",
        found.unwrap_or(0) + 1
    );
}

#[test]
fn every_fuzz_property_holds_on_its_seed_corpus() {
    let seeds_dir = root().join("fuzz").join("seeds");
    if std::env::var_os("EAOF_WRITE_SEEDS").is_some() {
        let _ = fs::remove_dir_all(&seeds_dir);
        for (target, name, bytes) in seeds_from_fixtures() {
            let dir = seeds_dir.join(target);
            fs::create_dir_all(&dir).expect("mkdir");
            fs::write(dir.join(name), bytes).expect("write seed");
        }
    }
    for (target, property) in TARGETS {
        let dir = seeds_dir.join(target);
        let mut files: Vec<PathBuf> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("entry").path())
            .collect();
        files.sort();
        assert!(files.len() >= 50, "{target}: only {} seeds", files.len());
        for file in &files {
            let bytes = fs::read(file).expect("seed");
            let outcome = std::panic::catch_unwind(|| property(&bytes));
            assert!(outcome.is_ok(), "{target} fails on {}", file.display());
        }
        eprintln!("{target}: {} seeds hold", files.len());
    }
}

#[test]
fn the_committed_seeds_are_what_the_fixtures_make() {
    let seeds_dir = root().join("fuzz").join("seeds");
    for (target, name, bytes) in seeds_from_fixtures() {
        let path = seeds_dir.join(target).join(&name);
        let committed = fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run EAOF_WRITE_SEEDS=1 cargo test --test fuzz_seeds",
                path.display()
            )
        });
        assert_eq!(committed, bytes, "{} is stale", path.display());
    }
}
