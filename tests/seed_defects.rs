//! Where ember-persistence 0.4.9 (the seed) loses or hides data, shown side by side with
//! eaof on the same bytes. Each test pins the seed's behaviour (so the write-up in
//! docs/differences.md stays true) and asserts that eaof does the right thing.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use bytes::Bytes;
use eaof::format::FormatError;
use eaof::{AofReader, AofRecord, AofWriter, Verdict};
use ember_persistence::aof as seed;
use ember_persistence::encryption::EncryptionKey as SeedKey;
use ember_persistence::format::FormatError as SeedError;

fn set(key: &str, value: &str) -> AofRecord {
    AofRecord::Set {
        key: key.into(),
        value: Bytes::copy_from_slice(value.as_bytes()),
        expire_ms: -1,
    }
}

fn seed_set(key: &str, value: &str) -> seed::AofRecord {
    seed::AofRecord::Set {
        key: key.into(),
        value: Bytes::copy_from_slice(value.as_bytes()),
        expire_ms: -1,
    }
}

fn write_eaof(path: &Path, records: &[AofRecord]) {
    let mut w = AofWriter::open(path).unwrap();
    for r in records {
        w.write_record(r).unwrap();
    }
    w.sync().unwrap();
}

fn read_eaof(path: &Path) -> Result<Vec<AofRecord>, FormatError> {
    let mut r = AofReader::open(path)?;
    let mut out = Vec::new();
    while let Some(rec) = r.read_record()? {
        out.push(rec);
    }
    Ok(out)
}

fn read_seed(path: &Path) -> Result<Vec<seed::AofRecord>, SeedError> {
    let mut r = seed::AofReader::open(path)?;
    let mut out = Vec::new();
    while let Some(rec) = r.read_record()? {
        out.push(rec);
    }
    Ok(out)
}

#[test]
fn seed_cannot_read_back_eight_record_kinds_it_writes_but_eaof_can() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shard-0.aof");
    let records = vec![seed::AofRecord::Pexpireat {
        key: "k".into(),
        timestamp_ms: 1_700_000_000_000,
    }];
    let mut w = seed::AofWriter::open(&path).unwrap();
    for r in &records {
        w.write_record(r).unwrap();
    }
    w.sync().unwrap();
    drop(w);
    assert!(matches!(read_seed(&path), Err(SeedError::UnknownTag(35))));
    assert_eq!(
        read_eaof(&path).unwrap(),
        vec![AofRecord::Pexpireat {
            key: "k".into(),
            timestamp_ms: 1_700_000_000_000
        }]
    );
}

#[test]
fn seed_hides_every_record_after_a_damaged_length_but_eaof_reports_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shard-0.aof");
    write_eaof(&path, &[set("a", "1"), set("b", "2"), set("c", "3")]);
    // The first record's value length (after tag 1 + key len 4 + key 1) grows past the end.
    let mut bytes = fs::read(&path).unwrap();
    bytes[5 + 1 + 4 + 1 + 3] = 0x01;
    fs::write(&path, &bytes).unwrap();
    // The seed reads a clean, empty file: three acknowledged records silently gone.
    assert_eq!(read_seed(&path).unwrap(), vec![]);
    // eaof: an intact record follows the damage, so the file is corrupt there.
    match read_eaof(&path) {
        Err(FormatError::Corrupt {
            offset,
            next_intact,
            ..
        }) => {
            assert_eq!(offset, 5);
            assert_eq!(
                next_intact,
                5 + 23,
                "a SET of one-byte key and value is 23 bytes"
            );
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn seed_fails_on_zeros_a_crash_leaves_but_eaof_reads_them_as_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shard-0.aof");
    write_eaof(&path, &[set("a", "1")]);
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(&[0u8; 64]).unwrap();
    drop(f);
    assert!(matches!(read_seed(&path), Err(SeedError::UnknownTag(0))));
    let mut r = AofReader::open(&path).unwrap();
    assert_eq!(r.read_record().unwrap(), Some(set("a", "1")));
    assert_eq!(r.read_record().unwrap(), None);
    assert!(matches!(
        r.verdict(),
        Some(Verdict::TornTail {
            offset: 28,
            len: 64,
            ..
        })
    ));
}

#[test]
fn seed_appends_after_a_torn_tail_and_loses_what_it_appends_but_eaof_cuts_first() {
    let dir = tempfile::tempdir().unwrap();
    let torn = [1u8, 1, 0, 0, 0, b'x']; // a SET whose write was cut short by a crash
                                        // The seed: reopen, append, sync: the new record is hidden behind the torn one.
    let seed_path = dir.path().join("seed.aof");
    write_eaof(&seed_path, &[set("a", "1")]);
    OpenOptions::new()
        .append(true)
        .open(&seed_path)
        .unwrap()
        .write_all(&torn)
        .unwrap();
    let mut w = seed::AofWriter::open(&seed_path).unwrap();
    w.write_record(&seed_set("after", "crash")).unwrap();
    w.sync().unwrap();
    drop(w);
    let seen = read_seed(&seed_path);
    assert!(
        !matches!(&seen, Ok(r) if r.len() == 2),
        "the seed kept the record appended after the crash: {seen:?}"
    );
    // eaof: reopening cuts the torn record, so the appended one reads back.
    let path = dir.path().join("eaof.aof");
    write_eaof(&path, &[set("a", "1")]);
    OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(&torn)
        .unwrap();
    let mut w = AofWriter::open(&path).unwrap();
    assert!(matches!(
        w.recovery(),
        eaof::aof::Recovery::Cut {
            bytes_removed: 6,
            ..
        }
    ));
    w.write_record(&set("after", "crash")).unwrap();
    w.sync().unwrap();
    drop(w);
    assert_eq!(
        read_eaof(&path).unwrap(),
        vec![set("a", "1"), set("after", "crash")]
    );
}

#[test]
fn seed_appends_plaintext_into_an_encrypted_file_but_eaof_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shard-0.aof");
    let key = [7u8; 32];
    let mut w = seed::AofWriter::open_encrypted(&path, SeedKey::from_bytes(key)).unwrap();
    w.write_record(&seed_set("a", "1")).unwrap();
    w.sync().unwrap();
    drop(w);
    let before = fs::read(&path).unwrap();
    // eaof refuses to write plaintext records into a version 3 file, changing nothing.
    assert!(matches!(
        AofWriter::open(&path),
        Err(FormatError::EncryptionRequired)
    ));
    assert_eq!(fs::read(&path).unwrap(), before);
    // The seed appends them, and the file no longer reads back with the key.
    let mut w = seed::AofWriter::open(&path).unwrap();
    w.write_record(&seed_set("b", "2")).unwrap();
    w.sync().unwrap();
    drop(w);
    let mut r = seed::AofReader::open_encrypted(&path, SeedKey::from_bytes(key)).unwrap();
    let mut read_back = 0;
    while let Ok(Some(_)) = r.read_record() {
        read_back += 1;
    }
    assert_eq!(
        read_back, 1,
        "the appended plaintext record is lost to the seed's reader"
    );
}

#[test]
fn seed_writes_values_its_reader_refuses_but_eaof_refuses_them_on_write() {
    let op = 9;
    let bad = seed::AofRecord::BitOp {
        op,
        dest: "d".into(),
        keys: vec!["a".into()],
    };
    let bytes = bad.to_bytes().unwrap();
    assert!(seed::AofRecord::from_bytes(&bytes).is_err());
    let ours = AofRecord::BitOp {
        op,
        dest: "d".into(),
        keys: vec!["a".into()],
    };
    assert!(matches!(ours.to_bytes(), Err(FormatError::Encode(_))));
    // And a u64 the seed silently clamps to i64::MAX.
    let huge = AofRecord::Expire {
        key: "k".into(),
        seconds: u64::MAX,
    };
    assert!(matches!(huge.to_bytes(), Err(FormatError::Encode(_))));
    let seed_huge = seed::AofRecord::Expire {
        key: "k".into(),
        seconds: u64::MAX,
    };
    let back = seed::AofRecord::from_bytes(&seed_huge.to_bytes().unwrap()).unwrap();
    assert_ne!(back, seed_huge, "the seed reads back a different record");
}

#[test]
fn seed_writer_appends_to_a_partial_header_but_eaof_recreates_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shard-0.aof");
    fs::write(&path, b"EA").unwrap();
    let mut w = seed::AofWriter::open(&path).unwrap();
    w.write_record(&seed_set("a", "1")).unwrap();
    w.sync().unwrap();
    drop(w);
    assert!(
        read_seed(&path).is_err(),
        "the seed's own file is unreadable"
    );

    fs::write(&path, b"EA").unwrap();
    let mut w = AofWriter::open(&path).unwrap();
    w.write_record(&set("a", "1")).unwrap();
    w.sync().unwrap();
    drop(w);
    assert_eq!(read_eaof(&path).unwrap(), vec![set("a", "1")]);
}
