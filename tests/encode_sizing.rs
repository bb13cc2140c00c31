//! Records of every size through the encoder and the writer:
//! - records of several MiB (a value, many list items, a long key with a full vector) encode
//!   to the seed's bytes and read back;
//! - a record refused for a field over its limit names the field and leaves the output
//!   buffer as it was, whether the record is small or large;
//! - `encode_at` writes the seed's bytes whatever room its buffer has (the window it encodes
//!   into in place, or the measured slow path when the record does not fit), and refuses
//!   what it refuses whatever the room;
//! - the writer, whose buffer holds `WRITE_BUFFER_LEN + RECORD_ROOM` bytes, writes the
//!   seed's file for records of every size around those bounds, flushed or not.

use bytes::Bytes;
use eaof::codec::EncodeProblem;
use eaof::limits::VECTOR_DIMS_MAX;
use eaof::writer::{RECORD_ROOM, WRITE_BUFFER_LEN};
use eaof::{AofReader, AofRecord, AofWriter};
use eaof_model::check::ember::to_ember as to_seed;
use eaof_model::gen::{any_record, refused_record};
use ember_persistence::aof::AofWriter as SeedWriter;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};

fn vadd(key_len: usize, dims: usize) -> AofRecord {
    AofRecord::VAdd {
        key: "k".repeat(key_len),
        element: "e".into(),
        vector: vec![0.5; dims],
        metric: 1,
        quantization: 0,
        connectivity: 16,
        expansion_add: 64,
    }
}

#[test]
fn records_over_a_mebibyte_encode_to_the_seeds_bytes_and_read_back() {
    for record in [
        AofRecord::Set {
            key: "big".into(),
            value: Bytes::from(vec![0xA5; 3 << 20]),
            expire_ms: -1,
        },
        AofRecord::RPush {
            key: "list".into(),
            values: (0..300).map(|i| Bytes::from(vec![i as u8; 4096])).collect(),
        },
        vadd(2 << 20, VECTOR_DIMS_MAX as usize),
    ] {
        let ours = record.to_bytes().expect("encodes");
        let seed = to_seed(&record).to_bytes().expect("the seed encodes");
        assert_eq!(ours, seed, "{:?}", record.kind());
        assert_eq!(AofRecord::from_bytes(&ours).expect("decodes"), record);
    }
}

#[test]
fn a_refused_record_names_its_field_and_leaves_the_output_as_it_was() {
    for key_len in [10, 2 << 20] {
        let record = vadd(key_len, VECTOR_DIMS_MAX as usize + 1);
        let mut out = b"earlier records".to_vec();
        let error = record.encode_into(&mut out).expect_err("over the limit");
        assert_eq!(error.field, "vector", "key of {key_len} bytes");
        assert!(matches!(error.problem, EncodeProblem::TooLong { .. }));
        assert_eq!(out, b"earlier records", "key of {key_len} bytes");
    }
}

/// Fixed cases and seed: the same run on every machine.
fn runner(cases: u32) -> TestRunner {
    TestRunner::new_with_rng(
        Config {
            cases,
            failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
            ..Config::default()
        },
        proptest::test_runner::TestRng::deterministic_rng(
            proptest::test_runner::RngAlgorithm::ChaCha,
        ),
    )
}

/// A buffer of `start + room` bytes of 0xEE: what `encode_at` finds there must not matter.
fn buffer(start: usize, room: usize) -> Vec<u8> {
    vec![0xEE; start + room]
}

#[test]
fn a_record_encodes_to_the_seeds_bytes_whatever_room_its_buffer_has() {
    let cases = (any_record(), 0..40usize, any::<prop::sample::Index>());
    runner(400)
        .run(&cases, |(record, start, room)| {
            let want = to_seed(&record).to_bytes().expect("the seed encodes");
            let measured = record.encoded_len().expect("accepted");
            prop_assert_eq!(measured, want.len() as u64);
            // From no room at all to a few bytes more than the record needs.
            let room = room.index(want.len() + 8);
            let mut buf = buffer(start, room);
            let end = record.encode_at(&mut buf, start).expect("accepted");
            prop_assert_eq!(&buf[start..end], &want[..], "room {}", room);
            prop_assert!(
                buf[..start].iter().all(|&b| b == 0xEE),
                "bytes before start"
            );
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_refused_record_is_refused_alike_whatever_room_its_buffer_has() {
    let cases = (refused_record(), 0..40usize, 0..64usize);
    runner(400)
        .run(&cases, |((record, field), start, room)| {
            let measured = record.encoded_len().expect_err("refused");
            prop_assert_eq!(measured.field, field);
            let mut buf = buffer(start, room);
            let error = record.encode_at(&mut buf, start).expect_err("refused");
            prop_assert_eq!(error, measured, "room {}", room);
            prop_assert!(
                buf[..start].iter().all(|&b| b == 0xEE),
                "bytes before start"
            );
            Ok(())
        })
        .unwrap();
}

fn set(value_len: usize) -> AofRecord {
    AofRecord::Set {
        key: "k".into(),
        value: Bytes::from(vec![0x5A; value_len]),
        expire_ms: -1,
    }
}

/// Records around every bound of the writer's buffer: runs of small records that fill it
/// to just under, at and over `WRITE_BUFFER_LEN`, records of every length around
/// `RECORD_ROOM` (encoded in place or grown into), and records of MiB.
fn records_around_the_buffer() -> Vec<AofRecord> {
    let small = AofRecord::Incr { key: "n".into() };
    // SET with a value of `len` bytes is 1 + 4 + 1 + 4 + len + 8 bytes, + 4 of checksum.
    let framed = |value_len: usize| value_len + 22;
    let mut records = Vec::new();
    for gap in [0, 1, 2, 7, 100, RECORD_ROOM - 1] {
        // Fill the buffer to `gap` bytes under the flush threshold, then a record that
        // does not fit the room left unless small.
        let run = (WRITE_BUFFER_LEN - gap) / framed(0);
        records.extend((0..run).map(|_| set(0)));
        records.push(set(RECORD_ROOM + gap));
        records.push(small.clone());
    }
    for value_len in RECORD_ROOM - 40..RECORD_ROOM + 40 {
        records.push(set(value_len));
    }
    records.push(set(3 << 20));
    records.extend((0..50).map(|_| small.clone()));
    records.push(set(WRITE_BUFFER_LEN + RECORD_ROOM));
    records
}

#[test]
fn the_writer_writes_the_seeds_file_for_records_of_every_size_around_its_buffer() {
    let records = records_around_the_buffer();
    let seed_records: Vec<_> = records.iter().map(to_seed).collect();
    for flush_every in [None, Some(3), Some(1000)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (ours, seeds) = (dir.path().join("ours.aof"), dir.path().join("seed.aof"));
        let mut writer = AofWriter::open(&ours).expect("open");
        let mut seed = SeedWriter::open(&seeds).expect("seed open");
        for (i, (record, seed_record)) in records.iter().zip(&seed_records).enumerate() {
            writer.write_record(record).expect("write");
            seed.write_record(seed_record).expect("seed write");
            if flush_every.is_some_and(|n| i % n == 0) {
                writer.flush().expect("flush");
            }
        }
        writer.sync().expect("sync");
        seed.sync().expect("seed sync");
        let (ours, seeds) = (
            std::fs::read(&ours).unwrap(),
            std::fs::read(&seeds).unwrap(),
        );
        assert!(ours == seeds, "flush every {flush_every:?}: files differ");
    }
}

#[test]
fn the_sealed_writer_reads_back_records_of_every_size_around_its_buffer() {
    let records = records_around_the_buffer();
    let key = eaof::encryption::EncryptionKey::from_bytes([7; 32]);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sealed.aof");
    let mut writer = AofWriter::open_encrypted(&path, key.clone()).expect("open");
    for record in &records {
        writer.write_record(record).expect("write");
    }
    writer.sync().expect("sync");
    let mut reader = AofReader::open_encrypted(&path, key).expect("open");
    let mut read = Vec::new();
    while let Some(record) = reader.read_record().expect("read") {
        read.push(record);
    }
    assert_eq!(read.len(), records.len());
    assert!(read == records, "a record read back differs");
}
