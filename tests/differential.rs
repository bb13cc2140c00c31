//! Differential test against the seed, ember-persistence 0.4.9.
//!
//! On at least 10,000 generated records per run, covering every tag, with edge values:
//! (a) every record encodes to the seed's bytes, and each side decodes the other's bytes to
//!     the same record (floats compared by their bits);
//! (b) a version 2 file our writer writes is byte-identical to the one the seed's writer
//!     writes, and each side's reader reads the other's file;
//! (c) version 3 files cross-read in both directions, for every kind.
//!
//! The one exception is a seed defect, shown by its own test: the seed's version 2 reader
//! does not know eight tags (PEXPIREAT, LSET, LTRIM, LINSERT, LREM, SETRANGE, SETBIT, BITOP)
//! and fails with `UnknownTag` on files its own writer wrote; those kinds are left out only
//! of the "seed reads our version 2 file" direction.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;

use eaof::aof::WriterOptions;
use eaof::encryption::{CountingNonces, EncryptionKey};
use eaof::storage::FsStorage;
use eaof::{AofReader, AofRecord as Ours, AofWriter, RecordKind};
use eaof_check::ember::{from_ember as from_seed, to_ember as to_seed};
use eaof_model::gen::{
    any_records, edges, record_lists_bit_equal, record_of_kind, records_bit_equal, EDGES,
};
use ember_persistence::aof::{AofReader as SeedReader, AofRecord as Seed, AofWriter as SeedWriter};
use ember_persistence::encryption::EncryptionKey as SeedKey;
use ember_persistence::format::FormatError as SeedError;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};

/// Cases and records per case: 40 × 250 = 10,000 records per run.
const CASES: u32 = 40;
const RECORDS_PER_CASE: usize = 250;
const RECORDS_MIN: u64 = 10_000;

const KEY: [u8; 32] = [0x5a; 32];

/// The kinds the seed's version 2 reader cannot read (its `read_payload_for_tag` has no arm
/// for them), although its writer writes them.
const SEED_V2_UNREADABLE: [RecordKind; 8] = [
    RecordKind::Pexpireat,
    RecordKind::LSet,
    RecordKind::LTrim,
    RecordKind::LInsert,
    RecordKind::LRem,
    RecordKind::SetRange,
    RecordKind::SetBit,
    RecordKind::BitOp,
];

fn fail(what: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(what.to_string())
}

fn our_key() -> EncryptionKey {
    EncryptionKey::from_bytes(KEY)
}

fn seed_key() -> SeedKey {
    SeedKey::from_bytes(KEY)
}

fn our_write(path: &Path, records: &[Ours], sealed: bool) -> Result<(), TestCaseError> {
    let options = if sealed {
        WriterOptions::default()
            .key(our_key())
            .nonces(CountingNonces::new(*b"diff"))
    } else {
        WriterOptions::default()
    };
    let mut w = AofWriter::open_in(FsStorage, path, options).map_err(fail)?;
    for r in records {
        w.write_record(r).map_err(fail)?;
    }
    w.sync().map_err(fail)
}

fn seed_write(path: &Path, records: &[Ours], sealed: bool) -> Result<(), TestCaseError> {
    let mut w = if sealed {
        SeedWriter::open_encrypted(path, seed_key())
    } else {
        SeedWriter::open(path)
    }
    .map_err(fail)?;
    for r in records {
        w.write_record(&to_seed(r)).map_err(fail)?;
    }
    w.sync().map_err(fail)
}

fn our_read(path: &Path, sealed: bool) -> Result<Vec<Ours>, TestCaseError> {
    let mut reader = if sealed {
        AofReader::open_encrypted(path, our_key())
    } else {
        AofReader::open(path)
    }
    .map_err(fail)?;
    let mut out = Vec::new();
    while let Some(r) = reader.read_record().map_err(fail)? {
        out.push(r);
    }
    Ok(out)
}

fn seed_read(path: &Path, sealed: bool) -> Result<Vec<Ours>, TestCaseError> {
    let mut reader = if sealed {
        SeedReader::open_encrypted(path, seed_key())
    } else {
        SeedReader::open(path)
    }
    .map_err(fail)?;
    let mut out = Vec::new();
    while let Some(r) = reader.read_record().map_err(fail)? {
        out.push(from_seed(&r));
    }
    Ok(out)
}

fn check_same_records(what: &str, got: &[Ours], want: &[Ours]) -> Result<(), TestCaseError> {
    if record_lists_bit_equal(got, want) {
        return Ok(());
    }
    let first = got
        .iter()
        .zip(want)
        .position(|(g, w)| !records_bit_equal(g, w))
        .unwrap_or(got.len().min(want.len()));
    Err(fail(format!(
        "{what}: {} records read, {} written; first difference at {first}: got {:?}, want {:?}",
        got.len(),
        want.len(),
        got.get(first),
        want.get(first),
    )))
}

/// (a) One record: same bytes as the seed, and each side decodes the other's bytes.
fn check_record(r: &Ours) -> Result<(), TestCaseError> {
    let ours = r.to_bytes().map_err(fail)?;
    let theirs = to_seed(r).to_bytes().map_err(fail)?;
    prop_assert_eq!(&ours, &theirs, "record bytes differ for {:?}", r);
    let seed_decoded = Seed::from_bytes(&ours).map_err(fail)?;
    prop_assert!(
        records_bit_equal(&from_seed(&seed_decoded), r),
        "seed decodes {:?} as {:?}",
        r,
        seed_decoded
    );
    let decoded = Ours::from_bytes(&theirs).map_err(fail)?;
    prop_assert!(
        records_bit_equal(&decoded, r),
        "we decode {:?} as {:?}",
        r,
        decoded
    );
    Ok(())
}

/// (b) and (c) for one batch of records.
fn check_files(dir: &Path, records: &[Ours]) -> Result<(), TestCaseError> {
    let path = |name: &str| dir.join(name);

    // (b) version 2: byte-identical files, and each reader reads the other's file.
    our_write(&path("ours.v2"), records, false)?;
    seed_write(&path("seed.v2"), records, false)?;
    let ours_v2 = std::fs::read(path("ours.v2")).map_err(fail)?;
    let seed_v2 = std::fs::read(path("seed.v2")).map_err(fail)?;
    if ours_v2 != seed_v2 {
        let at = ours_v2.iter().zip(&seed_v2).position(|(a, b)| a != b);
        return Err(fail(format!(
            "v2 files differ: {} vs {} bytes, first differing byte {at:?}",
            ours_v2.len(),
            seed_v2.len()
        )));
    }
    check_same_records(
        "we read the seed's v2 file",
        &our_read(&path("seed.v2"), false)?,
        records,
    )?;
    let seed_readable: Vec<Ours> = records
        .iter()
        .filter(|r| !SEED_V2_UNREADABLE.contains(&r.kind()))
        .cloned()
        .collect();
    our_write(&path("ours-seed-readable.v2"), &seed_readable, false)?;
    check_same_records(
        "the seed reads our v2 file",
        &seed_read(&path("ours-seed-readable.v2"), false)?,
        &seed_readable,
    )?;

    // (c) version 3: each reader reads the other's file, every kind included. Nonces differ
    // (the seed's are random), but the framing does not: the files have the same length.
    our_write(&path("ours.v3"), records, true)?;
    seed_write(&path("seed.v3"), records, true)?;
    let ours_len = std::fs::metadata(path("ours.v3")).map_err(fail)?.len();
    let seed_len = std::fs::metadata(path("seed.v3")).map_err(fail)?.len();
    prop_assert_eq!(ours_len, seed_len, "v3 file lengths differ");
    check_same_records(
        "we read the seed's v3 file",
        &our_read(&path("seed.v3"), true)?,
        records,
    )?;
    check_same_records(
        "the seed reads our v3 file",
        &seed_read(&path("ours.v3"), true)?,
        records,
    )?;
    Ok(())
}

#[test]
fn records_and_files_match_the_seed() {
    let per_tag = RefCell::new(BTreeMap::<u8, u64>::new());
    let per_edge = RefCell::new(BTreeMap::<&'static str, u64>::new());
    let mut runner = TestRunner::new(Config {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/differential.txt",
        ))),
        ..Config::with_cases(CASES)
    });
    let result = runner.run(&any_records(RECORDS_PER_CASE), |records| {
        let mut counts = per_tag.borrow_mut();
        for r in &records {
            *counts.entry(r.kind().tag()).or_default() += 1;
            for edge in edges(r) {
                *per_edge.borrow_mut().entry(edge).or_default() += 1;
            }
            check_record(r)?;
        }
        drop(counts);
        // A fresh directory per case: both writers append to an existing file.
        let dir = tempfile::tempdir().map_err(fail)?;
        check_files(dir.path(), &records)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let per_tag = per_tag.into_inner();
    let total: u64 = per_tag.values().sum();
    println!("records checked against the seed: {total}; per tag: {per_tag:?}");
    assert!(total >= RECORDS_MIN, "only {total} records checked");
    for kind in RecordKind::ALL {
        let n = per_tag.get(&kind.tag()).copied().unwrap_or(0);
        assert!(n > 0, "no {} record generated", kind.name());
    }
    let per_edge = per_edge.into_inner();
    println!("records per edge class: {per_edge:?}");
    for edge in EDGES {
        assert!(per_edge.contains_key(edge), "no record with {edge}");
    }
}

/// The seed defect, shown exactly: for every kind, a one-record version 2 file written by
/// the seed's own writer is read back by the seed's own reader, except for eight kinds,
/// where the seed's reader fails with `UnknownTag(tag)`. Our reader reads all of them.
#[test]
fn seed_v2_reader_fails_on_eight_kinds_its_writer_writes() {
    let dir = tempfile::tempdir().unwrap();
    let mut runner = TestRunner::new(Config::with_cases(1));
    let mut unreadable = Vec::new();
    for (i, &kind) in RecordKind::ALL.iter().enumerate() {
        let record = record_of_kind(kind)
            .new_tree(&mut runner)
            .expect("generate a record")
            .current();
        let path = dir.path().join(format!("{i}.v2"));
        seed_write(&path, std::slice::from_ref(&record), false).unwrap();
        let ours = our_read(&path, false).unwrap();
        assert!(record_lists_bit_equal(&ours, std::slice::from_ref(&record)));

        let mut reader = SeedReader::open(&path).unwrap();
        match reader.read_record() {
            Ok(Some(r)) => assert!(records_bit_equal(&from_seed(&r), &record), "{kind:?}"),
            Err(SeedError::UnknownTag(tag)) => {
                assert_eq!(tag, kind.tag());
                unreadable.push(kind);
            }
            other => panic!("{kind:?}: the seed's reader returned {other:?}"),
        }
    }
    unreadable.sort();
    let mut expected = SEED_V2_UNREADABLE.to_vec();
    expected.sort();
    assert_eq!(unreadable, expected);
}
