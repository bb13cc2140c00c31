//! Records of every size through the encoder and the writer:
//! - records of several MiB (a value, many list items, a long key with a full vector) encode
//!   to the seed's bytes and read back;
//! - a record refused for a field over its limit names the field and leaves the output
//!   buffer as it was, whether the record is small or large;
//! - `encode_at` writes the seed's bytes whatever room its buffer has (the window it encodes
//!   into in place, or the measured slow path when the record does not fit), and refuses
//!   what it refuses whatever the room;
//! - the writer, whose buffer holds `WRITE_BUFFER_LEN + RECORD_ROOM` bytes, writes the
//!   seed's file (sealed: a file both readers read back) for records of every size around
//!   those bounds, flushed or not;
//! - `encode_at` refuses a record over the record limit before any room is made for it, and
//!   a refused record of any size (over the record limit, or sealed over the ciphertext's)
//!   leaves the writer usable and its buffered records whole.

use bytes::Bytes;
use eaof::codec::EncodeProblem;
use eaof::encryption::EncryptionKey;
use eaof::limits::{RECORD_LEN_MAX, VECTOR_DIMS_MAX};
use eaof::writer::{RECORD_ROOM, WRITE_BUFFER_LEN};
use eaof::{AofReader, AofRecord, AofWriter};
use eaof_check::ember::{from_ember as from_seed, to_ember as to_seed};
use eaof_model::gen::{any_record, refused_record};
use ember_persistence::aof::{AofReader as SeedReader, AofWriter as SeedWriter};
use ember_persistence::encryption::EncryptionKey as SeedKey;
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

/// Tag, key "k" and expiry of [`set`]: its encoded length is the value's + this.
const SET_OVERHEAD: usize = 18;

/// The writer's buffer, and the room its window gives a record.
const BUFFER: usize = WRITE_BUFFER_LEN + RECORD_ROOM;

/// What happened to one record in the writer's buffer, by the writer's own arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fit {
    /// Encoded in the window, with room for its checksum or tag.
    Window,
    /// Filled the window to its last byte; the buffer grew for its checksum or tag only.
    Exact,
    /// Did not fit: measured, then encoded into room made for it.
    Measured,
}

/// A list of records that puts the writer's buffer where a test wants it, by following the
/// writer's arithmetic: a record starts at `filled`, its encoding at `filled + before` (a
/// sealed record's nonce and length), and `after` bytes follow it (checksum or GCM tag);
/// the buffer is flushed, and `filled` is 0 again, once it reaches `WRITE_BUFFER_LEN`.
struct Plan {
    before: usize,
    after: usize,
    filled: usize,
    records: Vec<AofRecord>,
    fits: Vec<Fit>,
    /// Times `filled` was exactly `WRITE_BUFFER_LEN` when flushed.
    exact_flushes: usize,
}

impl Plan {
    fn new(sealed: bool) -> Self {
        let (before, after) = if sealed { (16, 16) } else { (0, 4) };
        Plan {
            before,
            after,
            filled: 0,
            records: Vec::new(),
            fits: Vec::new(),
            exact_flushes: 0,
        }
    }

    /// The framed length of the smallest [`set`].
    fn smallest(&self) -> usize {
        self.before + SET_OVERHEAD + self.after
    }

    fn push(&mut self, record: AofRecord) {
        let len = record.encoded_len().expect("accepted") as usize;
        let room = BUFFER - self.filled - self.before;
        self.fits.push(match len {
            n if n + self.after <= room => Fit::Window,
            n if n <= room => Fit::Exact,
            _ => Fit::Measured,
        });
        self.filled += self.before + len + self.after;
        if self.filled >= WRITE_BUFFER_LEN {
            self.exact_flushes += usize::from(self.filled == WRITE_BUFFER_LEN);
            self.filled = 0;
        }
        self.records.push(record);
    }

    /// Fills the buffer to exactly `target` bytes with records of at most 4 KiB (to exactly
    /// `WRITE_BUFFER_LEN`: until it is flushed).
    fn fill_to(&mut self, target: usize) {
        let smallest = self.smallest();
        let mut gap = target - self.filled;
        assert!(gap == 0 || gap >= smallest, "cannot fill {gap} bytes");
        while gap > 0 {
            // Leave either nothing or room for one more record.
            let value = if gap > 4000 + 2 * smallest {
                4000
            } else {
                gap - smallest
            };
            self.push(set(value));
            gap -= value + smallest;
        }
        assert_eq!(self.filled, target % WRITE_BUFFER_LEN);
    }

    /// Flushes the buffer, by filling it to exactly `WRITE_BUFFER_LEN` when it can.
    fn flush(&mut self) {
        if self.filled == 0 {
        } else if WRITE_BUFFER_LEN - self.filled >= self.smallest() {
            self.fill_to(WRITE_BUFFER_LEN);
        } else {
            self.push(set(4000));
        }
        assert_eq!(self.filled, 0);
    }

    /// Puts the buffer at `filled`, then adds a record encoding to `room + excess` bytes,
    /// `room` being what the window has left for it there.
    fn at_the_window_edge(&mut self, filled: usize, excess: isize) {
        self.flush();
        self.fill_to(filled);
        let room = BUFFER - filled - self.before;
        let len = room.checked_add_signed(excess).expect("a length");
        self.push(set(len - SET_OVERHEAD));
        self.push(AofRecord::Incr { key: "n".into() });
    }
}

/// Records around every bound of the writer's buffer (by [`Plan`]'s arithmetic): a flush at
/// exactly `WRITE_BUFFER_LEN` and one just past it; records that end one byte short of the
/// window, fill it exactly, leave no room or exactly the room for their checksum or tag, or
/// overflow it, from a nearly empty buffer and from one just under the flush threshold; and
/// records of MiB.
fn records_around_the_buffer(sealed: bool) -> Plan {
    let mut plan = Plan::new(sealed);
    let smallest = plan.smallest();
    plan.fill_to(WRITE_BUFFER_LEN - 1);
    plan.push(AofRecord::Incr { key: "".into() });
    for filled in [smallest, WRITE_BUFFER_LEN / 2, WRITE_BUFFER_LEN - 1] {
        let after = plan.after as isize;
        for excess in [-after - 1, -after, -after + 1, -1, 0, 1, 2, 100] {
            plan.at_the_window_edge(filled, excess);
        }
    }
    plan.push(set(3 << 20));
    plan.fill_to(WRITE_BUFFER_LEN / 2);
    plan.push(set(3 << 20));
    plan.push(set(BUFFER));
    plan.push(AofRecord::Incr { key: "n".into() });
    plan
}

#[test]
fn the_plan_reaches_every_bound_of_the_writers_buffer() {
    for sealed in [false, true] {
        let plan = records_around_the_buffer(sealed);
        let count = |fit| plan.fits.iter().filter(|&&f| f == fit).count();
        eprintln!(
            "sealed {sealed}: {} records, window {}, exact {}, measured {}, exact flushes {}",
            plan.records.len(),
            count(Fit::Window),
            count(Fit::Exact),
            count(Fit::Measured),
            plan.exact_flushes
        );
        assert!(count(Fit::Window) > 100, "sealed {sealed}");
        assert!(
            count(Fit::Exact) >= 6,
            "sealed {sealed}: {}",
            count(Fit::Exact)
        );
        assert!(count(Fit::Measured) >= 9, "sealed {sealed}");
        assert!(plan.exact_flushes >= 20, "sealed {sealed}");
    }
}

#[test]
fn the_writer_writes_the_seeds_file_for_records_of_every_size_around_its_buffer() {
    let records = records_around_the_buffer(false).records;
    let seed_records: Vec<_> = records.iter().map(to_seed).collect();
    // Flushed only when full (where the plan's arithmetic holds), and more often.
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
fn the_sealed_writer_writes_records_of_every_size_around_its_buffer_that_both_readers_read() {
    let records = records_around_the_buffer(true).records;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sealed.aof");
    let mut writer =
        AofWriter::open_encrypted(&path, EncryptionKey::from_bytes(KEY)).expect("open");
    for record in &records {
        writer.write_record(record).expect("write");
    }
    writer.sync().expect("sync");
    let mut ours = Vec::new();
    let mut reader =
        AofReader::open_encrypted(&path, EncryptionKey::from_bytes(KEY)).expect("open");
    while let Some(record) = reader.read_record().expect("read") {
        ours.push(record);
    }
    let mut seeds = Vec::new();
    let mut seed = SeedReader::open_encrypted(&path, SeedKey::from_bytes(KEY)).expect("seed open");
    while let Some(record) = seed.read_record().expect("seed read") {
        seeds.push(from_seed(&record));
    }
    assert_eq!(ours.len(), records.len());
    assert!(ours == records, "a record we read back differs");
    assert!(seeds == records, "a record the seed reads back differs");
}

const KEY: [u8; 32] = [7; 32];

/// A record over `RECORD_LEN_MAX` whose every field is within its limit: 300 values of
/// 4 MiB, all one shared buffer, so that the test allocates 4 MiB and not 1.2 GiB.
fn over_the_record_limit() -> AofRecord {
    let value = Bytes::from(vec![1; 4 << 20]);
    AofRecord::RPush {
        key: "list".into(),
        values: vec![value; 300],
    }
}

#[test]
fn a_record_over_the_record_limit_is_refused_before_room_is_made_for_it() {
    let record = over_the_record_limit();
    for start in [0, 100] {
        let mut buf = buffer(start, 64);
        let error = record
            .encode_at(&mut buf, start)
            .expect_err("over the limit");
        assert_eq!(error.field, "record");
        assert!(
            matches!(error.problem, EncodeProblem::TooLong { max, .. } if max == RECORD_LEN_MAX)
        );
        assert_eq!(buf.len(), start + 64, "the buffer grew");
    }
}

/// A refused record leaves the writer usable and its buffered records whole, for a record
/// refused in the window (a BITOP op over 3), after the window filled (over the record
/// limit), and, sealed, over the ciphertext's lower limit (a record of 520 MiB: 130 values
/// of one shared 4 MiB buffer).
#[test]
fn the_writer_refuses_records_of_any_size_and_keeps_what_it_buffered() {
    let bad_op = AofRecord::BitOp {
        op: 4,
        dest: "d".into(),
        keys: vec!["a".into()],
    };
    let over_sealed = AofRecord::RPush {
        key: "list".into(),
        values: vec![Bytes::from(vec![2; 4 << 20]); 130],
    };
    let good = [
        set(10),
        AofRecord::Incr { key: "n".into() },
        set(RECORD_ROOM),
    ];
    for sealed in [false, true] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("refusals.aof");
        let mut writer = if sealed {
            AofWriter::open_encrypted(&path, EncryptionKey::from_bytes(KEY))
        } else {
            AofWriter::open(&path)
        }
        .expect("open");
        let mut refused = vec![(bad_op.clone(), "op"), (over_the_record_limit(), "record")];
        if sealed {
            refused.push((over_sealed.clone(), "record"));
        }
        let mut written = Vec::new();
        for (bad, field) in &refused {
            for record in &good {
                writer.write_record(record).expect("write");
                written.push(record.clone());
                match writer.write_record(bad) {
                    Err(eaof::FormatError::Encode(error)) => {
                        assert_eq!(error.field, *field, "sealed {sealed}")
                    }
                    other => panic!("sealed {sealed}: {other:?}"),
                }
            }
        }
        writer.sync().expect("sync");
        let mut reader = if sealed {
            AofReader::open_encrypted(&path, EncryptionKey::from_bytes(KEY))
        } else {
            AofReader::open(&path)
        }
        .expect("open");
        let mut read = Vec::new();
        while let Some(record) = reader.read_record().expect("read") {
            read.push(record);
        }
        assert!(read == written, "sealed {sealed}: records read back differ");
    }
}

#[test]
fn a_buffer_shorter_than_start_is_grown_and_the_record_lands_at_start() {
    let record = set(5);
    let want = record.to_bytes().unwrap();
    let mut buf = vec![0xEE; 3];
    let end = record.encode_at(&mut buf, 10).expect("accepted");
    assert_eq!(end, 10 + want.len());
    assert_eq!(&buf[..3], &[0xEE; 3]);
    assert_eq!(&buf[10..end], &want[..]);
}
