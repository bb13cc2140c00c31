//! Where ember-persistence 0.4.9 (the seed) loses or hides data, shown side by side with
//! eaof on the same bytes. Each test pins the seed's behaviour (so the write-up in
//! docs/differences.md stays true) and asserts that eaof does the right thing.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use bytes::Bytes;
use eaof::codec::Problem;
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

#[test]
fn seed_and_eaof_both_report_a_complete_record_failing_its_crc() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shard-0.aof");
    write_eaof(&path, &[set("a", "1"), set("b", "2")]);
    let mut bytes = fs::read(&path).unwrap();
    bytes[5 + 22] ^= 1; // the first record's CRC
    fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        read_seed(&path),
        Err(SeedError::ChecksumMismatch { .. })
    ));
    assert!(matches!(
        read_eaof(&path),
        Err(FormatError::ChecksumMismatch { offset: 5, .. })
    ));
}

/// A bare record's bytes with one more byte, or a byte changed in a field whose domain is
/// narrower than its layout.
fn bare(record: &AofRecord) -> Vec<u8> {
    record.to_bytes().unwrap()
}

#[test]
fn seed_reads_bytes_after_a_records_last_field_and_out_of_domain_values_but_eaof_refuses() {
    // Trailing bytes (a v3 plaintext is read with `from_bytes`).
    let mut trailing = bare(&set("a", "1"));
    trailing.push(0);
    assert!(seed::AofRecord::from_bytes(&trailing).is_ok());
    assert!(matches!(
        AofRecord::from_bytes(&trailing),
        Err(FormatError::Decode { error, .. }) if matches!(error.problem, Problem::TrailingBytes(1))
    ));
    // A boolean byte other than 0 or 1: LINSERT `before`, COPY `replace`.
    let linsert = bare(&AofRecord::LInsert {
        key: "k".into(),
        before: false,
        pivot: Bytes::from_static(b"p"),
        value: Bytes::from_static(b"v"),
    });
    let copy = bare(&AofRecord::Copy {
        source: "s".into(),
        destination: "d".into(),
        replace: false,
    });
    for (mut bytes, at) in [(linsert, 1 + 4 + 1), (copy.clone(), copy.len() - 1)] {
        bytes[at] = 7;
        let seen = seed::AofRecord::from_bytes(&bytes).unwrap();
        assert!(
            matches!(
                seen,
                seed::AofRecord::LInsert { before: true, .. }
                    | seed::AofRecord::Copy { replace: true, .. }
            ),
            "{seen:?}"
        );
        assert!(matches!(
            AofRecord::from_bytes(&bytes),
            Err(FormatError::Decode { error, .. }) if error.problem == Problem::NotABool(7)
        ));
    }
    // A negative SETRANGE offset (the i64 after the key).
    let mut setrange = bare(&AofRecord::SetRange {
        key: "k".into(),
        offset: 0,
        value: Bytes::from_static(b"v"),
    });
    setrange[1 + 4 + 1..1 + 4 + 1 + 8].copy_from_slice(&(-1i64).to_le_bytes());
    assert!(matches!(
        seed::AofRecord::from_bytes(&setrange).unwrap(),
        seed::AofRecord::SetRange {
            offset: usize::MAX,
            ..
        }
    ));
    assert!(matches!(
        AofRecord::from_bytes(&setrange),
        Err(FormatError::Decode { error, .. }) if error.problem == Problem::Negative(-1)
    ));
}

#[test]
fn seed_fails_on_a_sealed_frame_shorter_than_its_tag_but_eaof_reads_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shard-0.aof");
    let mut bytes = b"EAOF\x03".to_vec();
    bytes.extend_from_slice(&[9; 12]); // nonce
    bytes.extend_from_slice(&5u32.to_le_bytes()); // a length under the 16-byte tag
    bytes.extend_from_slice(&[1; 5]);
    fs::write(&path, &bytes).unwrap();
    let key = [3u8; 32];
    let mut r = seed::AofReader::open_encrypted(&path, SeedKey::from_bytes(key)).unwrap();
    assert!(matches!(r.read_record(), Err(SeedError::DecryptionFailed)));
    let mut r =
        AofReader::open_encrypted(&path, eaof::encryption::EncryptionKey::from_bytes(key)).unwrap();
    assert_eq!(r.read_record().unwrap(), None);
    assert!(matches!(
        r.verdict(),
        Some(Verdict::TornTail { offset: 5, .. })
    ));
}

#[test]
fn seed_refuses_an_empty_or_partly_created_file_but_eaof_reads_an_empty_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shard-0.aof");
    for partial in [&b""[..], b"E", b"EAO", b"EAOF"] {
        fs::write(&path, partial).unwrap();
        assert!(
            matches!(seed::AofReader::open(&path), Err(SeedError::UnexpectedEof)),
            "{partial:?}"
        );
        let mut r = AofReader::open(&path).unwrap();
        assert_eq!(r.read_record().unwrap(), None, "{partial:?}");
        assert!(matches!(
            r.verdict(),
            Some(Verdict::TornTail { offset: 0, .. })
        ));
    }
}

#[test]
fn seed_appends_to_a_corrupt_file_but_eaof_refuses_it_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shard-0.aof");
    write_eaof(&path, &[set("a", "1"), set("b", "2")]);
    let mut bytes = fs::read(&path).unwrap();
    bytes[5] = 0; // the first record's tag: an intact record follows
    fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        AofWriter::open(&path),
        Err(FormatError::Corrupt { .. })
    ));
    assert_eq!(fs::read(&path).unwrap(), bytes);
    let mut w = seed::AofWriter::open(&path).unwrap();
    w.write_record(&seed_set("c", "3")).unwrap();
    w.sync().unwrap();
    drop(w);
    assert!(
        fs::read(&path).unwrap().len() > bytes.len(),
        "the seed appended"
    );
    assert!(
        read_seed(&path).is_err(),
        "and nothing it appended reads back"
    );
}

#[test]
fn seed_seals_records_into_a_plaintext_file_opened_with_a_key_but_eaof_keeps_its_version() {
    // Its documentation says records are appended unencrypted; they are sealed, after a
    // version 2 header: the file then reads back with neither configuration.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shard-0.aof");
    write_eaof(&path, &[set("a", "1")]);
    let key = [5u8; 32];
    let mut w = seed::AofWriter::open_encrypted(&path, SeedKey::from_bytes(key)).unwrap();
    w.write_record(&seed_set("b", "2")).unwrap();
    w.sync().unwrap();
    drop(w);
    // The sealed record starts with a random nonce: read as plaintext, it is an unknown tag,
    // a record failing its CRC or a record running past the end, by the nonce's first bytes.
    // Whichever, "b" is lost to both configurations, which is the defect.
    let b = seed_set("b", "2");
    let without_key = read_seed(&path).unwrap_or_default();
    assert!(
        !without_key.contains(&b),
        "the sealed record read back as plaintext"
    );
    let mut r = seed::AofReader::open_encrypted(&path, SeedKey::from_bytes(key)).unwrap();
    assert!(
        r.read_record().is_ok_and(|r| r.is_some()),
        "\"a\" reads back"
    );
    assert!(
        !matches!(r.read_record(), Ok(Some(ref record)) if *record == b),
        "the sealed record read back with the key"
    );
    // eaof writes the file's own version, so it reads back with the key and without.
    let path = dir.path().join("eaof.aof");
    write_eaof(&path, &[set("a", "1")]);
    let ours = eaof::encryption::EncryptionKey::from_bytes(key);
    let mut w = AofWriter::open_encrypted(&path, ours).unwrap();
    assert_eq!(w.version(), 2);
    w.write_record(&set("b", "2")).unwrap();
    w.sync().unwrap();
    drop(w);
    assert_eq!(
        read_eaof(&path).unwrap(),
        vec![set("a", "1"), set("b", "2")]
    );
}

#[test]
fn seed_appends_under_another_key_but_eaof_refuses_a_key_no_record_authenticates_under() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shard-0.aof");
    let (first, second) = ([1u8; 32], [2u8; 32]);
    let mut w = seed::AofWriter::open_encrypted(&path, SeedKey::from_bytes(first)).unwrap();
    w.write_record(&seed_set("a", "1")).unwrap();
    w.sync().unwrap();
    drop(w);
    let before = fs::read(&path).unwrap();
    let mut w = seed::AofWriter::open_encrypted(&path, SeedKey::from_bytes(second)).unwrap();
    w.write_record(&seed_set("b", "2")).unwrap();
    w.sync().unwrap();
    drop(w);
    for key in [first, second] {
        let mut r = seed::AofReader::open_encrypted(&path, SeedKey::from_bytes(key)).unwrap();
        let mut read = 0;
        while let Ok(Some(_)) = r.read_record() {
            read += 1;
        }
        assert!(read < 2, "one key reads both records");
    }
    fs::write(&path, &before).unwrap();
    let wrong = eaof::encryption::EncryptionKey::from_bytes(second);
    assert!(matches!(
        AofWriter::open_encrypted(&path, wrong),
        Err(FormatError::DecryptionFailed)
    ));
    assert_eq!(fs::read(&path).unwrap(), before);
}

#[test]
fn seed_flushes_in_drop_but_eaof_drops_what_was_not_flushed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seed.aof");
    let mut w = seed::AofWriter::open(&path).unwrap();
    w.write_record(&seed_set("a", "1")).unwrap();
    drop(w);
    assert_eq!(read_seed(&path).unwrap().len(), 1, "written by Drop");
    let path = dir.path().join("eaof.aof");
    let mut w = AofWriter::open(&path).unwrap();
    w.write_record(&set("a", "1")).unwrap();
    drop(w);
    assert_eq!(read_eaof(&path).unwrap(), vec![], "no I/O in Drop");
}

#[cfg(unix)]
#[test]
fn seed_takes_writes_after_a_failed_flush_but_eaof_is_poisoned() {
    use rustix::fs::{mknodat, FileType, Mode, CWD};
    use std::io::Read;
    // A FIFO whose reader leaves after the header: the next flush fails (EPIPE).
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("shard-0.aof");
    mknodat(CWD, &fifo, FileType::Fifo, Mode::from_raw_mode(0o600), 0).unwrap();
    let reader_path = fifo.clone();
    let reader = std::thread::spawn(move || {
        let mut header = [0u8; 5];
        fs::File::open(&reader_path)
            .unwrap()
            .read_exact(&mut header)
            .unwrap();
        header
    });
    let mut w = seed::AofWriter::open(&fifo).unwrap();
    assert_eq!(&reader.join().unwrap(), b"EAOF\x02");
    w.write_record(&seed_set("a", "1")).unwrap();
    assert!(w.flush().is_err(), "no reader: the write fails");
    // The seed goes on: the next record is accepted as if nothing had failed.
    assert!(w.write_record(&seed_set("b", "2")).is_ok());
    drop(w);

    // eaof (on the simulated disk, where a write can fail the same way): poisoned.
    let disk = eaof_check::sim::SimDisk::new();
    let mut w = AofWriter::open_in(
        disk.clone(),
        "d/shard-0.aof",
        eaof::aof::WriterOptions::default(),
    )
    .unwrap();
    disk.fail_write_after(3, eaof_check::sim::Persistence::Once);
    w.write_record(&set("a", "1")).unwrap();
    assert!(w.flush().is_err());
    assert!(matches!(
        w.write_record(&set("b", "2")),
        Err(FormatError::Poisoned(_))
    ));
}
