//! The properties the fuzz targets check, as plain functions of their input bytes, so that
//! `cargo fuzz` (in `fuzz/`) and an ordinary test over the committed seed corpora
//! (`tests/fuzz_seeds.rs`) run the very same code.
//!
//! Each function panics when its property fails: that is how a fuzzer learns of a finding.
//! Nothing in them may panic for any other reason, on any input.
//!
//! [`script`] is the structure-aware target: its input decodes (`arbitrary`) to a run of
//! commands, flushes, syncs, crashes, reopens and faults, judged by the engines' oracle;
//! [`planted`] holds the bug it is shown to find.

pub mod planted;
pub mod script;

use bytes::Bytes;
use eaof::aof::{Recovery, WriterOptions};
use eaof::encryption::EncryptionKey;
use eaof::scanner::Scanner;
use eaof::{AofReader, AofRecord, AofWriter, RecordRef, Verdict};

use crate::sim::SimDisk;
use eaof_conformance::fixtures;
use eaof_model::Store;

/// The key every fuzz target tries sealed files with: the published fixtures' key, so that
/// the v3 fixtures seed the corpora with records that authenticate.
pub fn key() -> EncryptionKey {
    EncryptionKey::from_bytes(fixtures::KEY)
}

const PATH: &str = "/fuzz/shard-0.aof";

/// Decoding then encoding a record gives its bytes back; decoding never panics.
pub fn decode_record(data: &[u8]) {
    let Ok(record) = RecordRef::decode(data) else {
        return;
    };
    let owned = record.to_record();
    let again = owned
        .to_bytes()
        .unwrap_or_else(|e| panic!("a decoded record does not encode: {e}: {owned:?}"));
    assert_eq!(
        again, data,
        "decode then encode changed the bytes of {owned:?}"
    );
    assert!(
        AofRecord::from_bytes(data).is_ok(),
        "from_bytes disagrees with decode"
    );
}

/// Reading arbitrary file bytes, without a key and with the fuzz key: the streaming reader
/// and the zero-copy scanner agree, and the verdict is consistent with the records returned.
pub fn read_file(data: &[u8]) {
    for key in [None, Some(key())] {
        read_file_with(data, key.as_ref());
    }
}

fn read_file_with(data: &[u8], key: Option<&EncryptionKey>) {
    let Ok(mut scanner) = Scanner::new(data, key) else {
        assert!(
            read_streaming(data, key).is_none(),
            "the reader opened what the scanner refused"
        );
        return;
    };
    let mut records = Vec::new();
    let mut offsets = Vec::new();
    while let Some((offset, record)) = scanner.next_record() {
        records.push(record.to_record());
        offsets.push(offset);
    }
    let verdict = scanner.finish();
    assert_eq!(verdict.records() as usize, records.len());
    visiting_agrees(data, key, &offsets, &records, &verdict);
    match &verdict {
        Verdict::Clean { end, .. } => assert_eq!(*end as usize, data.len()),
        Verdict::TornTail { offset, len, .. } => {
            assert_eq!((*offset + *len) as usize, data.len());
            if *offset > 0 {
                // Cutting the tail leaves a clean file of the same records.
                let cut = Scanner::new(&data[..*offset as usize], key)
                    .expect("the cut file opens")
                    .finish();
                assert!(
                    matches!(cut, Verdict::Clean { records, .. } if records == verdict.records()),
                    "cutting a torn tail did not leave a clean file: {cut:?}"
                );
            }
        }
        Verdict::Corrupt {
            offset,
            next_intact,
            ..
        } => {
            assert!(next_intact >= offset && (*next_intact as usize) < data.len().max(1));
        }
    }
    for record in &records {
        assert!(
            record.to_bytes().is_ok(),
            "a record read cannot be written: {record:?}"
        );
    }
    let (streamed, streamed_verdict) =
        read_streaming(data, key).expect("the reader refused what the scanner opened");
    assert!(
        eaof_model::gen::record_lists_bit_equal(&streamed, &records),
        "reader and scanner disagree on the records"
    );
    assert_eq!(
        streamed_verdict, verdict,
        "reader and scanner disagree on the verdict"
    );
}

/// [`Scanner::try_for_each`] hands out the same records at the same offsets as
/// [`Scanner::next_record`] and ends with the same verdict, whether it runs to the end or
/// breaks part-way and reading goes on with `next_record`.
fn visiting_agrees(
    data: &[u8],
    key: Option<&EncryptionKey>,
    offsets: &[u64],
    records: &[AofRecord],
    verdict: &Verdict,
) {
    use std::ops::ControlFlow;
    for stop_after in [usize::MAX, 0, 1, records.len() / 2] {
        let mut scanner = Scanner::new(data, key).expect("opened once");
        let mut seen = Vec::new();
        let flow = scanner.try_for_each(|offset, record| {
            seen.push((offset, record.to_record()));
            if seen.len() > stop_after {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        assert_eq!(
            flow.is_break(),
            stop_after < records.len(),
            "break {stop_after}"
        );
        while let Some((offset, record)) = scanner.next_record() {
            seen.push((offset, record.to_record()));
        }
        let (seen_offsets, seen_records): (Vec<_>, Vec<_>) = seen.into_iter().unzip();
        assert_eq!(seen_offsets, offsets, "offsets, break after {stop_after}");
        assert!(
            eaof_model::gen::record_lists_bit_equal(&seen_records, records),
            "try_for_each and next_record disagree on the records (break {stop_after})"
        );
        assert_eq!(&scanner.finish(), verdict, "verdict, break {stop_after}");
    }
}

fn read_streaming(data: &[u8], key: Option<&EncryptionKey>) -> Option<(Vec<AofRecord>, Verdict)> {
    let disk = SimDisk::new();
    disk.put_durable(PATH, data).ok()?;
    let mut reader = AofReader::open_in(&disk, PATH.as_ref(), key).ok()?;
    let mut records = Vec::new();
    // An error ends the records as a clean end does; the verdict tells them apart.
    while let Ok(Some(record)) = reader.read_record() {
        records.push(record);
    }
    Some((records, reader.verdict()?.clone()))
}

/// Reopening arbitrary file bytes to append: the writer either refuses, changing nothing,
/// or keeps every intact record, and what it appends then reads back after them.
pub fn reopen_append(data: &[u8]) {
    for key in [None, Some(key())] {
        reopen_append_with(data, key);
    }
}

fn reopen_append_with(data: &[u8], key: Option<EncryptionKey>) {
    let disk = SimDisk::new();
    disk.put_durable(PATH, data).expect("put");
    let before = Scanner::new(data, key.as_ref()).ok().map(|s| {
        let mut scanner = s;
        let mut records = Vec::new();
        while let Some((_, r)) = scanner.next_record() {
            records.push(r.to_record());
        }
        (records, scanner.finish())
    });
    let mut options = WriterOptions::default();
    if let Some(key) = key.clone() {
        options = options.key(key);
    }
    let mut writer = match AofWriter::open_in(disk.clone(), PATH, options) {
        Ok(w) => w,
        Err(_) => {
            assert_eq!(
                disk.contents(PATH).as_deref(),
                Some(data),
                "a refused open changed the file"
            );
            return;
        }
    };
    let kept: Vec<AofRecord> = match (writer.recovery(), &before) {
        (Recovery::Created, _) => Vec::new(),
        (Recovery::Cut { verdict, .. }, _) if verdict.intact_end() == 0 => Vec::new(),
        (_, Some((records, verdict))) => {
            assert!(
                !matches!(verdict, Verdict::Corrupt { .. }),
                "the writer opened a corrupt file: {verdict:?}"
            );
            records.clone()
        }
        (recovery, None) => panic!("the writer opened what the scanner refused: {recovery:?}"),
    };
    let appended = AofRecord::Set {
        key: "appended".into(),
        value: Bytes::from_static(b"after reopen"),
        expire_ms: -1,
    };
    writer.write_record(&appended).expect("append");
    writer.sync().expect("sync");
    let version_key = if writer.version() == eaof::format::FORMAT_VERSION_ENCRYPTED {
        key.as_ref()
    } else {
        None
    };
    let after = disk.contents(PATH).expect("file");
    let mut scanner = Scanner::new(&after, version_key).expect("reopened file opens");
    let mut got = Vec::new();
    while let Some((_, r)) = scanner.next_record() {
        got.push(r.to_record());
    }
    let verdict = scanner.finish();
    assert!(
        matches!(verdict, Verdict::Clean { .. }),
        "after append: {verdict:?}"
    );
    let mut expected = kept;
    expected.push(appended);
    assert!(
        eaof_model::gen::record_lists_bit_equal(&got, &expected),
        "records lost or changed by reopening:\n got {got:?}\nwant {expected:?}"
    );
}

/// Replaying the records of arbitrary file bytes into the model never panics, and a record
/// the model refuses leaves the store unchanged.
pub fn replay(data: &[u8]) {
    let Ok(mut scanner) = Scanner::new(data, Some(&key())) else {
        return;
    };
    let mut store = Store::new(1_700_000_000_000);
    while let Some((_, record)) = scanner.next_record() {
        let record = record.to_record();
        let before = store.clone();
        if store.apply(&record).is_err() {
            assert_eq!(
                store, before,
                "a refused record changed the store: {record:?}"
            );
        }
    }
}

/// A fuzz property: panics when it fails on its input.
pub type Property = fn(&[u8]);

/// The fuzz targets, by name (as in `fuzz/fuzz_targets/`).
pub const TARGETS: &[(&str, Property)] = &[
    ("decode_record", decode_record),
    ("read_file", read_file),
    ("reopen_append", reopen_append),
    ("replay", replay),
    ("script", script::script),
];
