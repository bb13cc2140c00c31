//! The streaming reader reads a file [`READ_BLOCK_LEN`] bytes at a time (`src/reader.rs`): a
//! record that crosses a block's end is completed by the next read, a record longer than a
//! block grows what is held, and the file may end anywhere around a block's end. The
//! scanner holds the whole file and has no blocks. Over files of several MiB, version 2 and
//! version 3, with records of every length around a block's:
//! - the reader returns exactly the records written, and the same records and verdict as the
//!   scanner, on the whole file and on the file cut at every byte around a read's end;
//! - the model checker's random sequences, with a value longer than a block now and then,
//!   find nothing (its recoveries read files of more than one block).
//!
//! Shown able to fail: a reader that keeps one byte too many when it reads more (every
//! read after the first then starts a byte early) fails each test here (before them, one
//! sealed file in `tests/encode_sizing.rs` was the only test to catch it); one that takes
//! the file for ended when a single byte is left unread fails the first.

use std::cell::{Cell, RefCell};
use std::path::Path;

use bytes::Bytes;
use eaof::aof::WriterOptions;
use eaof::encryption::{CountingNonces, EncryptionKey, NONCE_SIZE, TAG_SIZE};
use eaof::format::HEADER_LEN;
use eaof::frame::CRC_LEN;
use eaof::reader::READ_BLOCK_LEN;
use eaof::scanner::Scanner;
use eaof::{AofReader, AofRecord, AofWriter, Verdict};
use eaof_check::eaof::{EaofSim, SIM_PATH};
use eaof_check::report::{runner, seed_from_env};
use eaof_check::script::Step;
use eaof_check::sim::SimDisk;
use eaof_check::{alphabet, sequences, Version};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// The file offset where the reader's first block ends (it reads from the header's end).
const FIRST_BLOCK_END: usize = HEADER_LEN + READ_BLOCK_LEN;

fn key() -> EncryptionKey {
    EncryptionKey::from_bytes([0x42; 32])
}

/// The bytes a record takes in a file of either framing.
fn framed_len(record: &AofRecord, sealed: bool) -> usize {
    let plain = record.to_bytes().expect("encodable").len();
    match sealed {
        true => NONCE_SIZE + 4 + plain + TAG_SIZE,
        false => plain + CRC_LEN,
    }
}

/// A SET of key `k` and six digits (every key has one length) and `value_len` bytes.
fn set_of(i: usize, value_len: usize) -> AofRecord {
    AofRecord::Set {
        key: format!("k{i:06}"),
        value: Bytes::from(vec![b'a' + (i % 26) as u8; value_len]),
        expire_ms: -1,
    }
}

/// The bytes a SET of an empty value takes in the file.
fn fixed_len(sealed: bool) -> usize {
    framed_len(&set_of(0, 0), sealed)
}

/// A SET taking exactly `len` bytes in the file (at least [`fixed_len`]).
fn set_framed(i: usize, len: usize, sealed: bool) -> AofRecord {
    set_of(i, len - fixed_len(sealed))
}

/// The bytes of a file of `records`, as eaof's writer writes them (on the checker's
/// simulated disk, no fsync to wait for; version 3 with counting nonces, so that a failure
/// reproduces).
fn write(records: &[AofRecord], sealed: bool) -> Vec<u8> {
    let disk = SimDisk::new();
    let options = match sealed {
        true => WriterOptions::default()
            .key(key())
            .nonces(CountingNonces::new(*b"blok")),
        false => WriterOptions::default(),
    };
    let mut writer = AofWriter::open_in(disk.clone(), SIM_PATH, options).expect("open");
    for record in records {
        writer.write_record(record).expect("write");
    }
    writer.sync().expect("sync");
    disk.contents(SIM_PATH).expect("the file")
}

/// What the streaming reader gives for `bytes` (from a simulated disk, no I/O): the records
/// it returned, and its verdict.
fn read(bytes: &[u8], sealed: bool) -> (Vec<AofRecord>, Option<Verdict>) {
    let disk = SimDisk::new();
    disk.put_durable(SIM_PATH, bytes).expect("a file");
    let key = sealed.then(key);
    let mut reader = AofReader::open_in(&disk, Path::new(SIM_PATH), key.as_ref()).expect("open");
    let mut records = Vec::new();
    // A cut file ends in a torn tail, which is not an error: any error ends the test.
    while let Some(record) = reader.read_record().expect("no error on a cut file") {
        records.push(record);
    }
    (records, reader.verdict().cloned())
}

/// What the scanner gives for `bytes`.
fn scan(bytes: &[u8], sealed: bool) -> (Vec<AofRecord>, Verdict) {
    let key = sealed.then(key);
    let mut scanner = Scanner::new(bytes, key.as_ref()).expect("open");
    let mut records = Vec::new();
    while let Some((_, record)) = scanner.next_record() {
        records.push(record.to_record());
    }
    (records, scanner.finish())
}

/// The file `bytes` of `records` (their ends at `ends`), cut at `len`: the reader returns
/// the records wholly before the cut and ends as the scanner does.
fn check_cut(
    bytes: &[u8],
    records: &[AofRecord],
    ends: &[usize],
    len: usize,
    sealed: bool,
) -> Result<(), String> {
    let cut = &bytes[..len];
    let whole = ends.iter().take_while(|&&end| end <= len).count();
    let (got, verdict) = read(cut, sealed);
    let (scanned, scanner_verdict) = scan(cut, sealed);
    let at = format!("sealed {sealed}, {} bytes cut at {len}", bytes.len());
    if got != records[..whole] {
        return Err(format!(
            "{at}: the reader returned {} records, want the {whole} before the cut",
            got.len()
        ));
    }
    if scanned != got || verdict.as_ref() != Some(&scanner_verdict) {
        return Err(format!(
            "{at}: the reader ends with {verdict:?} after {} records, the scanner with \
             {scanner_verdict:?} after {}",
            got.len(),
            scanned.len()
        ));
    }
    let want_clean = len == bytes.len() || ends.contains(&len);
    if matches!(verdict, Some(Verdict::Clean { .. })) != want_clean {
        return Err(format!("{at}: {verdict:?}"));
    }
    Ok(())
}

/// The file offset where each record of `records` ends.
fn ends_of(records: &[AofRecord], sealed: bool) -> Vec<usize> {
    records
        .iter()
        .scan(HEADER_LEN, |at, record| {
            *at += framed_len(record, sealed);
            Some(*at)
        })
        .collect()
}

/// Small records crossing the first and the second read's end with `inside` of their bytes
/// before it (from 0, the record starts there, to all of them, it ends there), each after a
/// record filling the rest of that read; then a record longer than a block, crossing the
/// third read's end (the reader holds more than a block to finish it), and a small one.
/// About 3 MiB. (After the first read, the reader keeps the bytes of the record it has not
/// finished and reads one block more, so the second read ends two blocks past the header.)
fn crossing(inside: usize, small: usize, sealed: bool) -> Vec<AofRecord> {
    vec![
        set_framed(0, READ_BLOCK_LEN - inside, sealed),
        set_framed(1, small, sealed),
        set_framed(2, READ_BLOCK_LEN - small, sealed),
        set_framed(3, small, sealed),
        set_framed(4, READ_BLOCK_LEN + inside, sealed),
        set_framed(5, small, sealed),
    ]
}

/// The file offsets where the first and the second read end.
const READ_ENDS: [usize; 2] = [FIRST_BLOCK_END, FIRST_BLOCK_END + READ_BLOCK_LEN];

/// A SET of 24 value bytes: 52 bytes framed (80 sealed).
fn small_len(sealed: bool) -> usize {
    fixed_len(sealed) + 24
}

#[test]
fn a_record_crossing_a_read_s_end_at_each_of_its_bytes_reads_back_and_the_file_may_end_there() {
    for sealed in [false, true] {
        let small = small_len(sealed);
        for inside in 0..=small {
            let records = crossing(inside, small, sealed);
            let bytes = write(&records, sealed);
            let ends = ends_of(&records, sealed);
            assert_eq!(ends.last(), Some(&bytes.len()));
            assert_eq!([ends[0], ends[2]], READ_ENDS.map(|end| end - inside));
            // Whole, and ending right after each crossing record: a clean end 0..=small
            // bytes past a read's end (the next test cuts inside them).
            for len in [bytes.len(), ends[1], ends[3]] {
                if let Err(e) = check_cut(&bytes, &records, &ends, len, sealed) {
                    panic!("{e}");
                }
            }
        }
    }
}

#[test]
fn a_file_cut_at_every_byte_around_a_read_s_end_reads_as_the_scanner_reads_it() {
    for sealed in [false, true] {
        let small = small_len(sealed);
        let records = crossing(small / 2, small, sealed);
        let bytes = write(&records, sealed);
        let ends = ends_of(&records, sealed);
        // Every byte of the record crossing each read's end, and two either side (the two
        // before it end in a record of a block's length: a long torn tail to judge).
        for crossing in [1, 3] {
            for len in ends[crossing - 1] - 2..=ends[crossing] + 2 {
                if let Err(e) = check_cut(&bytes, &records, &ends, len, sealed) {
                    panic!("{e}");
                }
            }
        }
    }
}

/// Record lengths (framed): mostly small, some of tens of KiB, and some within 256 bytes of a
/// block's length either way.
fn lengths() -> impl Strategy<Value = Vec<usize>> {
    let length = prop_oneof![
        6 => 64usize..400,
        2 => 16usize << 10..256 << 10,
        2 => READ_BLOCK_LEN - 256..READ_BLOCK_LEN + 256,
    ];
    prop::collection::vec(length, 4..48)
}

/// The records of `lengths` until the file holds at least 3 MiB (then no more).
fn records_of(lengths: &[usize], sealed: bool) -> Vec<AofRecord> {
    let (mut total, mut records) = (0, Vec::new());
    for (i, &len) in lengths.iter().cycle().enumerate() {
        if total >= 3 * READ_BLOCK_LEN {
            break;
        }
        records.push(set_framed(i, len, sealed));
        total += len;
    }
    records
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 64, ..ProptestConfig::default() })]

    /// Files of 3 to 4 MiB: the reader returns the records written, whole, cut within 256
    /// bytes of a block's multiple past the header, and cut anywhere, and ends as the
    /// scanner does.
    #[test]
    fn files_of_several_blocks_read_back_whole_and_cut(
        sealed in any::<bool>(),
        lengths in lengths(),
        near in (1usize..4, -256isize..256),
        anywhere in any::<prop::sample::Index>(),
    ) {
        let records = records_of(&lengths, sealed);
        let bytes = write(&records, sealed);
        let ends = ends_of(&records, sealed);
        prop_assert_eq!(ends.last(), Some(&bytes.len()));
        let near = (HEADER_LEN + near.0 * READ_BLOCK_LEN).saturating_add_signed(near.1);
        for len in [bytes.len(), near.min(bytes.len()), anywhere.index(bytes.len())] {
            check_cut(&bytes, &records, &ends, len, sealed).map_err(TestCaseError::fail)?;
        }
    }
}

/// The sequences engine's steps, with now and then a SET of a value longer than a block
/// (`alphabet::big_set`), synced at once: each crash checks every cut of the unsynced bytes,
/// so a big value must not be among them.
fn steps_with_big_values() -> impl Strategy<Value = Vec<Step>> {
    let segment = prop_oneof![
        12 => sequences::step(Vec::new()).prop_map(|step| vec![step]),
        1 => alphabet::big_set().prop_map(|set| vec![Step::Command(set), Step::Sync]),
    ];
    prop::collection::vec(segment, 1..16).prop_map(|segments| segments.concat())
}

#[test]
fn the_checker_s_random_sequences_with_values_longer_than_a_block_find_nothing() {
    let is_big = |step: &Step| {
        matches!(step, Step::Command(eaof_model::Command::Set { value, .. })
            if value.len() >= alphabet::BIG_VALUE_LEN)
    };
    for v in Version::ALL {
        let target = RefCell::new(EaofSim::new(v));
        let seed = seed_from_env(0xb10c);
        let big = Cell::new(0);
        let result = runner(seed, 6, 32).run(&steps_with_big_values(), |steps| {
            big.set(big.get() + steps.iter().filter(|&step| is_big(step)).count());
            let played = sequences::play_case(&mut *target.borrow_mut(), &steps, seed, true, &[]);
            let (found, _, _) = played.map_err(|e| TestCaseError::fail(e.to_string()))?;
            match found.first() {
                Some(found) => Err(TestCaseError::fail(format!(
                    "step {}: {:?}: {} ({:?})",
                    found.step, found.finding.kind, found.finding.detail, found.image
                ))),
                None => Ok(()),
            }
        });
        if let Err(e) = result {
            panic!("{v}, seed {seed}: {e}");
        }
        assert!(
            big.get() > 0,
            "{v}: no value longer than a block was played"
        );
    }
}
