//! Every fuzz target's property holds on every file of its committed seed corpus
//! (`fuzz/seeds/<target>/`), so CI runs the fuzz targets as ordinary tests. The seeds are made
//! from `fixtures/`: `EAOF_WRITE_SEEDS=1 cargo test --test fuzz_seeds` rewrites them.

use std::fs;
use std::path::{Path, PathBuf};

use eaof::encryption::EncryptionKey;
use eaof::scanner::Scanner;
use eaof_check::fuzzing::TARGETS;
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
    seeds
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
