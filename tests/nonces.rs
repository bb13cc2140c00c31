//! The production nonce source: the one a writer takes when it is given none. (Every other
//! version 3 test, the fixtures and the checker's targets pass their own, for reproducible
//! bytes, so only these tests would see a default source that repeats nonces, and AES-GCM
//! under a repeated nonce loses both its secrecy and its integrity.)
//!
//! The properties: nonces never repeat under one key, across the records of one opening,
//! across reopenings of the file, or across processes; and they look like the operating
//! system's random bits (every bit set half the time, consecutive nonces unrelated), which a
//! counter, a per-opening restart or a fixed seed does not. And the writer keeps to the key's
//! budget of random nonces (NIST SP 800-38D: 2^32 records), counting the file's records.
//!
//! These tests depend on randomness the harness does not seed (the nonces): their bounds are
//! six standard deviations, so a sound source fails one with odds under 1e-6 a run.

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

use bytes::Bytes;
use eaof::aof::{Recovery, WriterOptions};
use eaof::encryption::{EncryptionKey, NONCE_SIZE};
use eaof::scanner::Scanner;
use eaof::storage::FsStorage;
use eaof::{AofRecord, AofWriter, FormatError, Verdict};

type Nonce = [u8; NONCE_SIZE];

fn key() -> EncryptionKey {
    EncryptionKey::from_bytes([0x3c; 32])
}

fn set(i: usize) -> AofRecord {
    AofRecord::Set {
        key: format!("key{i}"),
        value: Bytes::from_static(b"value"),
        expire_ms: -1,
    }
}

/// Opens `path` as production code does, with the default options and `key()`, alternating
/// between the seed's constructor and `open_in` (`opening` picks), and appends `count`
/// records.
fn append_with_default_nonces(path: &Path, opening: usize, count: usize) {
    let mut writer = if opening.is_multiple_of(2) {
        AofWriter::open_encrypted(path, key())
    } else {
        AofWriter::open_in(FsStorage, path, WriterOptions::default().key(key()))
    }
    .expect("open");
    for i in 0..count {
        writer.write_record(&set(i)).expect("write");
    }
    writer.sync().expect("sync");
}

/// The nonce of every record of the sealed file at `path`, in order; the file must be clean.
fn nonces_of(path: &Path) -> Vec<Nonce> {
    let bytes = std::fs::read(path).expect("read");
    let mut scanner = Scanner::new(&bytes, Some(&key())).expect("a sealed file");
    let mut offsets = Vec::new();
    while let Some((offset, _)) = scanner.next_record() {
        offsets.push(offset as usize);
    }
    assert!(
        matches!(scanner.finish(), Verdict::Clean { .. }),
        "{}",
        path.display()
    );
    offsets
        .into_iter()
        .map(|at| bytes[at..at + NONCE_SIZE].try_into().expect("12 bytes"))
        .collect()
}

/// A file of 8,192 records: 4,096 in one opening, then 64 reopenings of 64 records each.
fn file_of_many_openings(dir: &Path) -> Vec<Nonce> {
    let path = dir.join("shard-0.aof");
    append_with_default_nonces(&path, 0, 4096);
    for opening in 1..=64 {
        append_with_default_nonces(&path, opening, 64);
    }
    let nonces = nonces_of(&path);
    assert_eq!(nonces.len(), 4096 + 64 * 64);
    nonces
}

fn assert_distinct(nonces: &[Nonce], what: &str) {
    let distinct: HashSet<&Nonce> = nonces.iter().collect();
    assert_eq!(
        distinct.len(),
        nonces.len(),
        "{what}: {} of {} nonces repeat an earlier one under the same key",
        nonces.len() - distinct.len(),
        nonces.len()
    );
}

#[test]
fn default_nonces_never_repeat_across_records_and_reopenings() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert_distinct(&file_of_many_openings(dir.path()), "one file, 65 openings");
}

/// `count` Bernoulli(1/2) trials gave `ones`: within six standard deviations of half.
fn fair(ones: usize, count: usize) -> bool {
    let deviation = (ones as f64 - count as f64 / 2.0).abs();
    deviation <= 6.0 * (count as f64).sqrt() / 2.0
}

#[test]
fn default_nonces_are_uniformly_random_bits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let nonces = file_of_many_openings(dir.path());
    let bit = |nonce: &Nonce, i: usize| nonce[i / 8] >> (i % 8) & 1 == 1;
    // Every bit is set in half the nonces: a counter's high bits, a fixed prefix, a byte
    // that is always 0 are not.
    for i in 0..NONCE_SIZE * 8 {
        let ones = nonces.iter().filter(|n| bit(n, i)).count();
        assert!(
            fair(ones, nonces.len()),
            "bit {i} of the nonce is set in {ones} of {} records",
            nonces.len()
        );
    }
    // Consecutive nonces differ in half their bits: successive values of a counter, even
    // one started at a random value, differ in a few.
    let differing: usize = nonces
        .windows(2)
        .map(|pair| (0..NONCE_SIZE * 8).filter(|&i| bit(&pair[0], i) != bit(&pair[1], i)))
        .map(Iterator::count)
        .sum();
    let trials = (nonces.len() - 1) * NONCE_SIZE * 8;
    assert!(
        fair(differing, trials),
        "consecutive nonces differ in {differing} of {trials} bits"
    );
}

/// Set in the child processes of [`default_nonces_differ_between_processes`]: the file to
/// write.
const CHILD_FILE: &str = "EAOF_TEST_NONCES_CHILD_FILE";

/// A source seeded the same way in every process (a fixed seed, a process-wide counter)
/// passes the tests above, and repeats its nonces at every restart of the server.
#[test]
fn default_nonces_differ_between_processes() {
    if let Some(path) = std::env::var_os(CHILD_FILE) {
        // The child's part: one file written the way the parent writes its own.
        append_with_default_nonces(Path::new(&path), 0, 1024);
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut nonces = Vec::new();
    for child in 0..2 {
        let path = dir.path().join(format!("child-{child}.aof"));
        let run = Command::new(std::env::current_exe().expect("the test binary"))
            .args(["--exact", "default_nonces_differ_between_processes"])
            .args(["--test-threads", "1", "--quiet"])
            .env(CHILD_FILE, &path)
            .output()
            .expect("run the test binary");
        assert!(
            run.status.success(),
            "child {child}: {}\n{}{}",
            run.status,
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
        nonces.extend(nonces_of(&path));
    }
    let path = dir.path().join("parent.aof");
    append_with_default_nonces(&path, 0, 1024);
    nonces.extend(nonces_of(&path));
    assert_eq!(nonces.len(), 3 * 1024);
    assert_distinct(&nonces, "three processes, one key");
}

#[test]
fn the_writer_refuses_to_seal_past_its_key_budget_counting_the_records_in_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("shard-0.aof");
    let open = |budget: u64| {
        let options = WriterOptions::default().key(key()).key_budget(budget);
        AofWriter::open_in(FsStorage, &path, options).expect("open")
    };
    let spent = |result: Result<(), FormatError>| match result {
        Err(FormatError::KeyBudgetSpent { sealed, budget }) => (sealed, budget),
        other => panic!("want KeyBudgetSpent, got {other:?}"),
    };
    let mut writer = open(10);
    for i in 0..10 {
        writer.write_record(&set(i)).expect("within the budget");
    }
    assert_eq!(spent(writer.write_record(&set(10))), (10, 10));
    // Refused before anything was written: the writer goes on (flush, sync).
    writer.sync().expect("sync");
    drop(writer);
    assert_eq!(nonces_of(&path).len(), 10);

    // Reopened: the records in the file count.
    let mut writer = open(12);
    assert_eq!(writer.recovery(), &Recovery::Clean { records: 10 });
    for i in 0..2 {
        writer.write_record(&set(i)).expect("within the budget");
    }
    assert_eq!(spent(writer.write_record(&set(2))), (12, 12));
    // Truncating the file gives no nonce back.
    writer.truncate().expect("truncate");
    assert_eq!(spent(writer.write_record(&set(0))), (12, 12));
    drop(writer);

    // A file that stays plaintext under a key takes no nonce: no budget applies.
    let plain = dir.path().join("plain.aof");
    drop(AofWriter::open(&plain).expect("open plaintext"));
    let options = WriterOptions::default().key(key()).key_budget(0);
    let mut writer = AofWriter::open_in(FsStorage, &plain, options).expect("open");
    writer.write_record(&set(0)).expect("plaintext record");
    writer.sync().expect("sync");
}
