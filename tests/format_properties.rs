//! The format's promises (issue 2, section 2), each a property that can fail, for version 2
//! and version 3 files (a fixed key, deterministic nonces).
//!
//! Record boundaries are computed from `to_bytes` lengths and the framing overhead, not from
//! the reader, so the reader is checked against an independent account of the file. Every
//! read goes through both the streaming `AofReader` and the zero-copy `Scanner`, which must
//! agree on the records, their end and the verdict.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use eaof::aof::{Recovery, WriterOptions};
use eaof::codec::{record_len, EncodeError, RecordRef};
use eaof::encryption::{CountingNonces, EncryptionKey};
use eaof::format::{self, FormatError, HEADER_LEN};
use eaof::scanner::Scanner;
use eaof::storage::{FsStorage, StorageFile};
use eaof::{AofReader, AofRecord, AofWriter, Damage, Verdict};
use eaof_model::gen::{
    any_records, any_small_record, any_small_records, record_lists_bit_equal, records_bit_equal,
    refused_record,
};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};

// ---------------------------------------------------------------------------------------
// Versions, keys, files
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V2,
    V3,
}

const KEY: [u8; 32] = [0x42; 32];
const OTHER_KEY: [u8; 32] = [0x43; 32];

impl Version {
    fn byte(self) -> u8 {
        match self {
            Version::V2 => format::FORMAT_VERSION,
            Version::V3 => format::FORMAT_VERSION_ENCRYPTED,
        }
    }

    /// Bytes a record's frame adds to its `to_bytes`: the CRC, or nonce + length + GCM tag.
    fn overhead(self) -> usize {
        match self {
            Version::V2 => 4,
            Version::V3 => 12 + 4 + 16,
        }
    }

    /// The key to read with (none for plaintext).
    fn key(self) -> Option<EncryptionKey> {
        match self {
            Version::V2 => None,
            Version::V3 => Some(EncryptionKey::from_bytes(KEY)),
        }
    }

    /// Writer options; `prefix` keeps nonces distinct across the writers of one file.
    fn options(self, prefix: u8) -> WriterOptions {
        match self {
            Version::V2 => WriterOptions::default(),
            Version::V3 => WriterOptions::default()
                .key(EncryptionKey::from_bytes(KEY))
                .nonces(CountingNonces::new([b'n', b'c', prefix, 0x5a])),
        }
    }
}

/// A file our writer wrote, with its record boundaries computed independently of the reader:
/// `bounds[i]` is where record `i` starts, `bounds[n]` where the last one ends.
#[derive(Debug, Clone)]
struct Image {
    bytes: Vec<u8>,
    bounds: Vec<u64>,
}

impl Image {
    fn end(&self) -> u64 {
        *self.bounds.last().unwrap_or(&(HEADER_LEN as u64))
    }

    /// The frame of record `i`.
    fn frame(&self, i: usize) -> &[u8] {
        &self.bytes[self.bounds[i] as usize..self.bounds[i + 1] as usize]
    }
}

fn fail(what: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(what.to_string())
}

fn bounds_of(v: Version, start: u64, records: &[AofRecord]) -> Result<Vec<u64>, TestCaseError> {
    let mut bounds = vec![start];
    let mut at = start;
    for r in records {
        at += (r.to_bytes().map_err(fail)?.len() + v.overhead()) as u64;
        bounds.push(at);
    }
    Ok(bounds)
}

/// Writes `records` with a new writer at `path` (appending if it exists) and syncs.
fn write_with(
    path: &Path,
    v: Version,
    prefix: u8,
    records: &[AofRecord],
) -> Result<AofWriter, TestCaseError> {
    let mut w = AofWriter::open_in(FsStorage, path, v.options(prefix)).map_err(fail)?;
    for r in records {
        w.write_record(r).map_err(fail)?;
    }
    w.sync().map_err(fail)?;
    Ok(w)
}

/// A fresh file holding `records`, as bytes with boundaries.
fn image(v: Version, records: &[AofRecord]) -> Result<Image, TestCaseError> {
    let dir = tempfile::tempdir().map_err(fail)?;
    let path = dir.path().join("image.aof");
    drop(write_with(&path, v, 0, records)?);
    let bytes = std::fs::read(&path).map_err(fail)?;
    let bounds = bounds_of(v, HEADER_LEN as u64, records)?;
    prop_assert_eq!(&bytes[..HEADER_LEN], &format::header(v.byte())[..]);
    prop_assert_eq!(bytes.len() as u64, *bounds.last().unwrap(), "file length");
    Ok(Image { bytes, bounds })
}

/// A read-only file in memory, so that thousands of damaged variants are read without I/O.
struct MemFile<'a>(&'a [u8]);

impl StorageFile for MemFile<'_> {
    fn len(&self) -> io::Result<u64> {
        Ok(self.0.len() as u64)
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let rest = self.0.get(offset as usize..).unwrap_or_default();
        let n = buf.len().min(rest.len());
        buf[..n].copy_from_slice(&rest[..n]);
        Ok(n)
    }
    fn append(&mut self, _: &[u8]) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }
    fn set_len(&mut self, _: u64) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Reading, both ways
// ---------------------------------------------------------------------------------------

/// What reading a file gave: the records before the end, how it ended, and the verdict.
#[derive(Debug)]
struct Outcome {
    records: Vec<AofRecord>,
    offsets: Vec<u64>,
    end: Result<(), FormatError>,
    verdict: Verdict,
}

/// Reads `bytes` with `AofReader` (record by record to `Ok(None)` or an error) and with
/// `Scanner`, checks they agree, and returns the reader's account. Opening must succeed.
fn read_both(bytes: &[u8], key: Option<&EncryptionKey>) -> Result<Outcome, TestCaseError> {
    let reader = AofReader::from_file(MemFile(bytes), key).map_err(fail)?;
    let scanner = Scanner::new(bytes, key).map_err(fail)?;
    read_opened(bytes, reader, scanner)
}

fn read_opened(
    bytes: &[u8],
    mut reader: AofReader<MemFile<'_>>,
    mut scanner: Scanner<'_>,
) -> Result<Outcome, TestCaseError> {
    let mut records = Vec::new();
    let end = loop {
        // Every record takes at least one byte: more reads than bytes means a loop.
        prop_assert!(records.len() <= bytes.len(), "reader does not end");
        match reader.read_record() {
            Ok(Some(r)) => records.push(r),
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    // After the end, the same answer again.
    let again = reader.read_record();
    prop_assert!(
        matches!((&end, &again), (Ok(()), Ok(None)) | (Err(_), Err(_))),
        "a second read after {end:?} gave {again:?}"
    );
    let verdict = reader
        .verdict()
        .cloned()
        .ok_or_else(|| fail("reader ended without a verdict"))?;

    let mut scanned = Vec::new();
    let mut offsets = Vec::new();
    while let Some((at, r)) = scanner.next_record() {
        offsets.push(at);
        scanned.push(r.to_record());
    }
    prop_assert!(
        record_lists_bit_equal(&scanned, &records),
        "scanner read {} records, reader {}",
        scanned.len(),
        records.len()
    );
    prop_assert_eq!(
        scanner.verdict(),
        Some(&verdict),
        "scanner and reader verdicts"
    );
    prop_assert_eq!(
        scanner.result().is_ok(),
        end.is_ok(),
        "scanner and reader ends"
    );
    Ok(Outcome {
        records,
        offsets,
        end,
        verdict,
    })
}

fn check_records(got: &[AofRecord], want: &[AofRecord]) -> Result<(), TestCaseError> {
    prop_assert!(
        record_lists_bit_equal(got, want),
        "{} records read, {} expected; first difference at {:?}",
        got.len(),
        want.len(),
        got.iter()
            .zip(want)
            .position(|(g, w)| !records_bit_equal(g, w))
    );
    Ok(())
}

/// The error `read_record` returned is the one its verdict calls for.
fn check_error_matches_verdict(e: &FormatError, verdict: &Verdict) -> Result<(), TestCaseError> {
    let (offset, cause) = match verdict {
        Verdict::Clean { .. } => return Err(fail(format!("error {e:?} with a clean verdict"))),
        Verdict::TornTail { offset, cause, .. } => {
            prop_assert!(
                cause.is_failed_record(),
                "error {e:?} for a torn tail {verdict:?}"
            );
            (*offset, cause)
        }
        Verdict::Corrupt { offset, cause, .. } => (*offset, cause),
    };
    let ok = match (cause, e) {
        (
            Damage::ChecksumMismatch { stored, computed },
            FormatError::ChecksumMismatch {
                expected,
                actual,
                offset: at,
            },
        ) => stored == expected && computed == actual && *at == offset,
        (Damage::Invalid(d), FormatError::Decode { offset: at, error }) => {
            d == error && *at == offset
        }
        (Damage::Unauthenticated, FormatError::DecryptionFailed) => true,
        (
            cause,
            FormatError::Corrupt {
                offset: at,
                next_intact,
                cause: c,
            },
        ) => {
            !cause.is_failed_record()
                && *at == offset
                && c == cause
                && matches!(verdict, Verdict::Corrupt { next_intact: n, .. } if n == next_intact)
        }
        _ => false,
    };
    prop_assert!(ok, "error {e:?} does not match verdict {verdict:?}");
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Damage
// ---------------------------------------------------------------------------------------

/// Bytes that replace one record's frame.
#[derive(Debug, Clone)]
enum Junk {
    /// Zeros (a file grown before its data landed).
    Zeros(usize),
    /// Arbitrary bytes.
    Garbage(Vec<u8>),
    /// A proper prefix of the frame (a torn write).
    Partial(Index),
    /// The whole frame with one bit of its check flipped (the CRC, or the GCM tag): a
    /// complete record that fails its check.
    FailedCheck(Index),
}

fn any_junk() -> impl Strategy<Value = Junk> {
    prop_oneof![
        (1..64usize).prop_map(Junk::Zeros),
        prop::collection::vec(any::<u8>(), 1..64).prop_map(Junk::Garbage),
        any::<Index>().prop_map(Junk::Partial),
        any::<Index>().prop_map(Junk::FailedCheck),
    ]
}

impl Junk {
    fn apply(&self, v: Version, frame: &[u8]) -> Vec<u8> {
        match self {
            Junk::Zeros(n) => vec![0; *n],
            Junk::Garbage(bytes) => bytes.clone(),
            Junk::Partial(i) => frame[..1 + i.index(frame.len() - 1)].to_vec(),
            Junk::FailedCheck(i) => {
                let check_len = match v {
                    Version::V2 => 4,
                    Version::V3 => 16,
                };
                let bit = i.index(check_len * 8);
                let mut out = frame.to_vec();
                let at = frame.len() - check_len + bit / 8;
                out[at] ^= 1 << (bit % 8);
                out
            }
        }
    }
}

/// `intact` records, then `junk` in place of one more record's frame, then `after` records.
/// Returns the bytes, the offset of the junk, and where `after` starts.
fn with_junk(
    v: Version,
    intact: &[AofRecord],
    victim: &AofRecord,
    junk: &Junk,
    after: &[AofRecord],
) -> Result<(Vec<u8>, u64, u64), TestCaseError> {
    let all: Vec<AofRecord> = intact
        .iter()
        .chain(std::iter::once(victim))
        .chain(after)
        .cloned()
        .collect();
    let img = image(v, &all)?;
    let k = intact.len();
    let damaged = junk.apply(v, img.frame(k));
    let at = img.bounds[k];
    let mut bytes = img.bytes[..at as usize].to_vec();
    bytes.extend_from_slice(&damaged);
    bytes.extend_from_slice(&img.bytes[img.bounds[k + 1] as usize..]);
    Ok((bytes, at, at + damaged.len() as u64))
}

/// Whether the writer must refuse this damage as a wrong key: a version 3 file none of
/// whose records authenticates.
fn looks_like_wrong_key(v: Version, intact_records: usize, cause: &Damage) -> bool {
    v == Version::V3 && intact_records == 0 && *cause == Damage::Unauthenticated
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

/// `cases` cases, failures persisted in `proptest-regressions/` (committed), one file per test.
fn config(cases: u32, regressions: &'static str) -> Config {
    Config {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(regressions))),
        ..Config::with_cases(cases)
    }
}

/// Instantiates a property `fn name(v: Version, args...) -> Result<(), TestCaseError>` as
/// the tests `name::v2` and `name::v3`.
macro_rules! for_both_versions {
    ($cases:expr, $name:ident($($arg:ident in $strategy:expr),* $(,)?)) => {
        mod $name {
            use super::*;
            proptest! {
                #![proptest_config(config($cases, concat!(
                    "proptest-regressions/format_properties/", stringify!($name), "-v2.txt"
                )))]
                #[test]
                fn v2($($arg in $strategy),*) {
                    super::$name(Version::V2, $($arg),*)?;
                }
            }
            proptest! {
                #![proptest_config(config($cases, concat!(
                    "proptest-regressions/format_properties/", stringify!($name), "-v3.txt"
                )))]
                #[test]
                fn v3($($arg in $strategy),*) {
                    super::$name(Version::V3, $($arg),*)?;
                }
            }
        }
    };
}

// ---- Everything written reads back ----

fn everything_written_reads_back(
    v: Version,
    records: Vec<AofRecord>,
    more: Vec<AofRecord>,
) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().map_err(fail)?;
    let path = dir.path().join("shard-0.aof");
    let w = write_with(&path, v, 0, &records)?;
    prop_assert_eq!(w.recovery(), &Recovery::Created);
    prop_assert_eq!(w.version(), v.byte());
    drop(w);
    let bytes = std::fs::read(&path).map_err(fail)?;
    let bounds = bounds_of(v, HEADER_LEN as u64, &records)?;
    prop_assert_eq!(bytes.len() as u64, *bounds.last().unwrap(), "file length");

    // The real file, through the public constructors.
    let mut reader = match v.key() {
        None => AofReader::open(&path),
        Some(key) => AofReader::open_encrypted(&path, key),
    }
    .map_err(fail)?;
    let mut read = Vec::new();
    while let Some(r) = reader.read_record().map_err(fail)? {
        read.push(r);
    }
    check_records(&read, &records)?;
    prop_assert!(matches!(reader.read_record(), Ok(None)));
    let clean = Verdict::Clean {
        records: records.len() as u64,
        end: bytes.len() as u64,
    };
    prop_assert_eq!(reader.verdict(), Some(&clean));

    // The bytes, both ways; the scanner's offsets are the computed boundaries.
    let out = read_both(&bytes, v.key().as_ref())?;
    check_records(&out.records, &records)?;
    prop_assert_eq!(&out.offsets[..], &bounds[..records.len()]);
    prop_assert!(out.end.is_ok());
    prop_assert_eq!(&out.verdict, &clean);

    // Reopening a clean file appends after its records.
    let w = write_with(&path, v, 1, &more)?;
    prop_assert_eq!(
        w.recovery(),
        &Recovery::Clean {
            records: records.len() as u64
        }
    );
    drop(w);
    let bytes = std::fs::read(&path).map_err(fail)?;
    let all: Vec<AofRecord> = records.iter().chain(&more).cloned().collect();
    let out = read_both(&bytes, v.key().as_ref())?;
    check_records(&out.records, &all)?;
    prop_assert_eq!(
        out.verdict.clone(),
        Verdict::Clean {
            records: all.len() as u64,
            end: bytes.len() as u64,
        }
    );
    Ok(())
}

for_both_versions!(
    48,
    everything_written_reads_back(records in any_records(0..12), more in any_records(0..4))
);

// ---- Truncation is graceful ----

fn truncation_at_any_byte_reads_the_records_before_then_a_clean_end(
    v: Version,
    records: Vec<AofRecord>,
) -> Result<(), TestCaseError> {
    let img = image(v, &records)?;
    let key = v.key();
    for cut in 0..=img.bytes.len() {
        let out = read_both(&img.bytes[..cut], key.as_ref())?;
        prop_assert!(out.end.is_ok(), "cut at {}: {:?}", cut, out.end);
        let cut = cut as u64;
        if cut < HEADER_LEN as u64 {
            prop_assert!(out.records.is_empty());
            prop_assert_eq!(
                out.verdict,
                Verdict::TornTail {
                    records: 0,
                    offset: 0,
                    len: cut,
                    cause: Damage::PartialHeader { len: cut },
                }
            );
            continue;
        }
        // The records wholly before the cut.
        let whole = img.bounds[1..].iter().take_while(|&&b| b <= cut).count();
        check_records(&out.records, &records[..whole])?;
        let start = img.bounds[whole];
        let expected = if start == cut {
            Verdict::Clean {
                records: whole as u64,
                end: cut,
            }
        } else {
            Verdict::TornTail {
                records: whole as u64,
                offset: start,
                len: cut - start,
                cause: Damage::Truncated,
            }
        };
        prop_assert_eq!(out.verdict, expected, "cut at {}", cut);
    }
    Ok(())
}

for_both_versions!(
    40,
    truncation_at_any_byte_reads_the_records_before_then_a_clean_end(
        records in any_small_records(1..6)
    )
);

// ---- A single bit flip is never silent ----

/// What the flips of one run did.
#[derive(Debug, Default)]
struct FlipCounts {
    files: u64,
    records: u64,
    flips: u64,
    /// The reader returned an error at the damaged record.
    errors_at_damage: u64,
    /// The reader returned an error before the damaged record.
    errors_before_damage: u64,
    /// Every original record and a clean end (the flip changed nothing that matters).
    unchanged: u64,
    /// The last record looked torn (a clean end after the records before it), by cause.
    last_record_torn: BTreeMap<&'static str, u64>,
}

fn check_flip(
    v: Version,
    img: &Image,
    records: &[AofRecord],
    byte: usize,
    bit: u8,
    counts: &mut FlipCounts,
) -> Result<(), TestCaseError> {
    let mut bytes = img.bytes.clone();
    bytes[byte] ^= 1 << bit;
    let n = records.len();
    // The record holding the flipped byte.
    let k = img.bounds.partition_point(|&b| b <= byte as u64) - 1;
    let out = read_both(&bytes, v.key().as_ref())?;
    let m = out.records.len();
    prop_assert!(m <= n, "flip at {}.{}: {} records from {}", byte, bit, m, n);
    check_records(&out.records, &records[..m])?;
    counts.flips += 1;
    match &out.end {
        Err(e) => {
            let at = out.verdict.intact_end();
            prop_assert_eq!(out.verdict.records(), m as u64);
            prop_assert_eq!(
                at,
                img.bounds[m],
                "the damage is where the intact records end"
            );
            prop_assert!(
                at <= img.bounds[k],
                "flip at {}.{} in record {}: error at {} after it",
                byte,
                bit,
                k,
                at
            );
            check_error_matches_verdict(e, &out.verdict)?;
            if at == img.bounds[k] {
                counts.errors_at_damage += 1;
            } else {
                counts.errors_before_damage += 1;
            }
        }
        Ok(()) if m == n => {
            let clean = Verdict::Clean {
                records: n as u64,
                end: bytes.len() as u64,
            };
            prop_assert_eq!(&out.verdict, &clean);
            counts.unchanged += 1;
        }
        Ok(()) => {
            // Fewer records and a clean end: only a last record that looks torn.
            prop_assert!(
                k == n - 1 && m == n - 1,
                "silent loss: flip at byte {} bit {} in record {} of {} gives {} records and \
                 a clean end ({:?})",
                byte,
                bit,
                k,
                n,
                m,
                out.verdict
            );
            match &out.verdict {
                Verdict::TornTail {
                    records,
                    offset,
                    len,
                    cause,
                } if *records == m as u64
                    && *offset == img.bounds[k]
                    && *len == img.end() - img.bounds[k]
                    // A complete record failing its check is never a clean end.
                    && !cause.is_failed_record() =>
                {
                    *counts.last_record_torn.entry(cause.class()).or_default() += 1;
                }
                other => return Err(fail(format!("clean end with verdict {other:?}"))),
            }
        }
    }
    Ok(())
}

fn single_bit_flip_is_never_silent(v: Version, cases: u32) {
    let counts = RefCell::new(FlipCounts::default());
    let regressions = match v {
        Version::V2 => {
            "proptest-regressions/format_properties/single_bit_flip_is_never_silent-v2.txt"
        }
        Version::V3 => {
            "proptest-regressions/format_properties/single_bit_flip_is_never_silent-v3.txt"
        }
    };
    let result =
        TestRunner::new(config(cases, regressions)).run(&any_small_records(2..6), |records| {
            let img = image(v, &records)?;
            let mut counts = counts.borrow_mut();
            counts.files += 1;
            counts.records += records.len() as u64;
            for byte in HEADER_LEN..img.bytes.len() {
                for bit in 0..8 {
                    check_flip(v, &img, &records, byte, bit, &mut counts)?;
                }
            }
            Ok(())
        });
    if let Err(e) = result {
        panic!("{e}");
    }
    let counts = counts.into_inner();
    println!("{v:?} single-bit flips: {counts:#?}");
    let accounted = counts.errors_at_damage
        + counts.errors_before_damage
        + counts.unchanged
        + counts.last_record_torn.values().sum::<u64>();
    assert_eq!(accounted, counts.flips);
}

#[test]
fn single_bit_flip_is_never_silent_v2() {
    single_bit_flip_is_never_silent(Version::V2, 48);
}

#[test]
fn single_bit_flip_is_never_silent_v3() {
    single_bit_flip_is_never_silent(Version::V3, 32);
}

// ---- Damage at the tail is a torn tail; damage before an intact record is corruption ----

fn junk_after_intact_records_is_a_torn_tail(
    v: Version,
    intact: Vec<AofRecord>,
    victim: AofRecord,
    junk: Junk,
) -> Result<(), TestCaseError> {
    let (bytes, at, end) = with_junk(v, &intact, &victim, &junk, &[])?;
    prop_assert_eq!(end, bytes.len() as u64);
    let out = read_both(&bytes, v.key().as_ref())?;
    check_records(&out.records, &intact)?;
    let Verdict::TornTail {
        records,
        offset,
        len,
        cause,
    } = &out.verdict
    else {
        return Err(fail(format!("{junk:?}: verdict {:?}", out.verdict)));
    };
    prop_assert_eq!(*records, intact.len() as u64);
    prop_assert_eq!(*offset, at);
    prop_assert_eq!(*len, end - at);
    let tail = &bytes[at as usize..];
    match &junk {
        Junk::Zeros(n) => prop_assert_eq!(cause, &Damage::Zeros { len: *n as u64 }),
        Junk::Partial(_) => prop_assert_eq!(cause, &Damage::Truncated),
        Junk::FailedCheck(_) => prop_assert!(
            matches!(
                (v, cause),
                (Version::V2, Damage::ChecksumMismatch { .. })
                    | (Version::V3, Damage::Unauthenticated)
            ),
            "{:?}",
            cause
        ),
        Junk::Garbage(_) if tail.iter().all(|&b| b == 0) => {
            prop_assert_eq!(
                cause,
                &Damage::Zeros {
                    len: tail.len() as u64
                }
            )
        }
        Junk::Garbage(_) => {}
    }
    // A complete record that fails its check is reported; anything else is a clean end.
    match &out.end {
        Ok(()) => prop_assert!(!cause.is_failed_record(), "{:?} passed over", cause),
        Err(e) => check_error_matches_verdict(e, &out.verdict)?,
    }
    Ok(())
}

for_both_versions!(
    256,
    junk_after_intact_records_is_a_torn_tail(
        intact in any_small_records(0..4),
        victim in any_small_record(),
        junk in any_junk(),
    )
);

fn damage_followed_by_an_intact_record_is_corrupt(
    v: Version,
    intact: Vec<AofRecord>,
    victim: AofRecord,
    junk: Junk,
    after: Vec<AofRecord>,
) -> Result<(), TestCaseError> {
    let (bytes, at, next) = with_junk(v, &intact, &victim, &junk, &after)?;
    let out = read_both(&bytes, v.key().as_ref())?;
    check_records(&out.records, &intact)?;
    let Verdict::Corrupt {
        records,
        offset,
        next_intact,
        cause,
    } = &out.verdict
    else {
        return Err(fail(format!("{junk:?}: verdict {:?}", out.verdict)));
    };
    prop_assert_eq!(*records, intact.len() as u64);
    prop_assert_eq!(*offset, at);
    prop_assert_eq!(*next_intact, next);
    if let Junk::FailedCheck(_) = junk {
        prop_assert!(cause.is_failed_record(), "{:?}", cause);
    }
    let e = out
        .end
        .as_ref()
        .err()
        .ok_or_else(|| fail("corruption read as a clean end"))?;
    check_error_matches_verdict(e, &out.verdict)?;
    // `next_intact` is where the records after the damage start: a header put before those
    // bytes makes a clean file of exactly them.
    let mut rest = format::header(v.byte()).to_vec();
    rest.extend_from_slice(&bytes[next as usize..]);
    let out = read_both(&rest, v.key().as_ref())?;
    check_records(&out.records, &after)?;
    prop_assert!(
        matches!(out.verdict, Verdict::Clean { .. }),
        "{:?}",
        out.verdict
    );
    Ok(())
}

for_both_versions!(
    256,
    damage_followed_by_an_intact_record_is_corrupt(
        intact in any_small_records(0..4),
        victim in any_small_record(),
        junk in any_junk(),
        after in any_small_records(1..4),
    )
);

// ---- Reopening is safe ----

fn reopen_cuts_a_torn_tail_and_appends(
    v: Version,
    intact: Vec<AofRecord>,
    victim: AofRecord,
    junk: Junk,
    more: Vec<AofRecord>,
) -> Result<(), TestCaseError> {
    let (bytes, at, end) = with_junk(v, &intact, &victim, &junk, &[])?;
    let dir = tempfile::tempdir().map_err(fail)?;
    let path = dir.path().join("shard-0.aof");
    std::fs::write(&path, &bytes).map_err(fail)?;
    let verdict = read_both(&bytes, v.key().as_ref())?.verdict;
    let cause = match &verdict {
        Verdict::TornTail { cause, .. } => cause.clone(),
        other => return Err(fail(format!("not a torn tail: {other:?}"))),
    };

    let opened = AofWriter::open_in(FsStorage, &path, v.options(1));
    if looks_like_wrong_key(v, intact.len(), &cause) {
        // Nothing authenticates: as likely a wrong key as damage, so nothing is cut.
        prop_assert!(
            matches!(opened, Err(FormatError::DecryptionFailed)),
            "{:?}",
            opened
        );
        prop_assert_eq!(std::fs::read(&path).map_err(fail)?, bytes);
        return Ok(());
    }
    let mut w = opened.map_err(fail)?;
    prop_assert_eq!(
        w.recovery(),
        &Recovery::Cut {
            verdict: verdict.clone(),
            bytes_removed: end - at,
        }
    );
    prop_assert_eq!(
        std::fs::metadata(&path).map_err(fail)?.len(),
        at,
        "cut at the damage"
    );
    for r in &more {
        w.write_record(r).map_err(fail)?;
    }
    w.sync().map_err(fail)?;
    drop(w);

    let bytes = std::fs::read(&path).map_err(fail)?;
    let all: Vec<AofRecord> = intact.iter().chain(&more).cloned().collect();
    let out = read_both(&bytes, v.key().as_ref())?;
    check_records(&out.records, &all)?;
    prop_assert_eq!(
        out.verdict,
        Verdict::Clean {
            records: all.len() as u64,
            end: bytes.len() as u64,
        }
    );
    Ok(())
}

for_both_versions!(
    96,
    reopen_cuts_a_torn_tail_and_appends(
        intact in any_small_records(0..4),
        victim in any_small_record(),
        junk in any_junk(),
        more in any_small_records(1..4),
    )
);

/// Opens `bytes` as a file with the writer and expects a refusal that leaves it unchanged.
fn refused_unchanged(bytes: &[u8], options: WriterOptions) -> Result<FormatError, TestCaseError> {
    let dir = tempfile::tempdir().map_err(fail)?;
    let path = dir.path().join("shard-0.aof");
    std::fs::write(&path, bytes).map_err(fail)?;
    let e = match AofWriter::open_in(FsStorage, &path, options) {
        Ok(w) => return Err(fail(format!("opened, recovery {:?}", w.recovery()))),
        Err(e) => e,
    };
    prop_assert_eq!(
        std::fs::read(&path).map_err(fail)?,
        bytes,
        "refused file changed"
    );
    Ok(e)
}

fn reopen_refuses_a_corrupt_file_unchanged(
    v: Version,
    intact: Vec<AofRecord>,
    victim: AofRecord,
    junk: Junk,
    after: Vec<AofRecord>,
) -> Result<(), TestCaseError> {
    let (bytes, at, next) = with_junk(v, &intact, &victim, &junk, &after)?;
    match refused_unchanged(&bytes, v.options(1))? {
        FormatError::Corrupt {
            offset,
            next_intact,
            ..
        } => {
            prop_assert_eq!(offset, at);
            prop_assert_eq!(next_intact, next);
        }
        other => return Err(fail(format!("refused with {other:?}"))),
    }
    Ok(())
}

for_both_versions!(
    96,
    reopen_refuses_a_corrupt_file_unchanged(
        intact in any_small_records(0..4),
        victim in any_small_record(),
        junk in any_junk(),
        after in any_small_records(1..4),
    )
);

fn not_eaof() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 1..64).prop_filter("disagrees with EAOF", |b| {
        let n = b.len().min(4);
        b[..n] != format::AOF_MAGIC[..n]
    })
}

fn unsupported_version() -> impl Strategy<Value = (u8, Vec<u8>)> {
    (
        any::<u8>().prop_filter("unsupported", |v| !format::is_supported_version(*v)),
        prop::collection::vec(any::<u8>(), 0..32),
    )
}

fn reopen_refuses_other_files_unchanged(
    v: Version,
    other: Vec<u8>,
    (version, rest): (u8, Vec<u8>),
) -> Result<(), TestCaseError> {
    let e = refused_unchanged(&other, v.options(1))?;
    prop_assert!(matches!(e, FormatError::InvalidMagic), "{:?}", e);
    let mut bytes = format::AOF_MAGIC.to_vec();
    bytes.push(version);
    bytes.extend_from_slice(&rest);
    let e = refused_unchanged(&bytes, v.options(1))?;
    prop_assert!(
        matches!(e, FormatError::UnsupportedVersion(x) if x == version),
        "{:?}",
        e
    );
    // The reader refuses them too.
    let key = v.key();
    prop_assert!(matches!(
        AofReader::from_file(MemFile(&other), key.as_ref()),
        Err(FormatError::InvalidMagic)
    ));
    prop_assert!(matches!(
        AofReader::from_file(MemFile(&bytes), key.as_ref()),
        Err(FormatError::UnsupportedVersion(x)) if x == version
    ));
    Ok(())
}

for_both_versions!(
    64,
    reopen_refuses_other_files_unchanged(other in not_eaof(), unsupported in unsupported_version())
);

fn reopen_recreates_a_partial_header(
    v: Version,
    len: usize,
    records: Vec<AofRecord>,
) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().map_err(fail)?;
    let path = dir.path().join("shard-0.aof");
    std::fs::write(&path, &format::AOF_MAGIC[..len]).map_err(fail)?;
    let mut w = AofWriter::open_in(FsStorage, &path, v.options(0)).map_err(fail)?;
    let expected = if len == 0 {
        Recovery::Created
    } else {
        Recovery::Cut {
            verdict: Verdict::TornTail {
                records: 0,
                offset: 0,
                len: len as u64,
                cause: Damage::PartialHeader { len: len as u64 },
            },
            bytes_removed: len as u64,
        }
    };
    prop_assert_eq!(w.recovery(), &expected);
    for r in &records {
        w.write_record(r).map_err(fail)?;
    }
    w.sync().map_err(fail)?;
    drop(w);
    let bytes = std::fs::read(&path).map_err(fail)?;
    prop_assert_eq!(
        &bytes,
        &image(v, &records)?.bytes,
        "same file as a fresh one"
    );
    let out = read_both(&bytes, v.key().as_ref())?;
    check_records(&out.records, &records)?;
    Ok(())
}

for_both_versions!(
    32,
    reopen_recreates_a_partial_header(len in 0..=4usize, records in any_small_records(0..4))
);

// ---- Keys and versions never mix ----

proptest! {
    #![proptest_config(config(48, "proptest-regressions/format_properties/v3_without_key_is_refused_unchanged.txt"))]
    #[test]
    fn v3_without_key_is_refused_unchanged(records in any_small_records(0..4)) {
        let img = image(Version::V3, &records)?;
        let e = refused_unchanged(&img.bytes, WriterOptions::default())?;
        prop_assert!(matches!(e, FormatError::EncryptionRequired), "{:?}", e);
        prop_assert!(matches!(
            AofReader::from_file(MemFile(&img.bytes), None),
            Err(FormatError::EncryptionRequired)
        ));
    }
}

proptest! {
    #![proptest_config(config(48, "proptest-regressions/format_properties/v3_with_wrong_key_is_refused_unchanged.txt"))]
    #[test]
    fn v3_with_wrong_key_is_refused_unchanged(records in any_small_records(1..4)) {
        let img = image(Version::V3, &records)?;
        let wrong = WriterOptions::default().key(EncryptionKey::from_bytes(OTHER_KEY));
        let e = refused_unchanged(&img.bytes, wrong)?;
        prop_assert!(matches!(e, FormatError::DecryptionFailed), "{:?}", e);
        let out = read_both(&img.bytes, Some(&EncryptionKey::from_bytes(OTHER_KEY)))?;
        prop_assert!(out.records.is_empty());
        prop_assert!(matches!(out.end, Err(FormatError::DecryptionFailed)), "{:?}", out.end);
        prop_assert!(out.verdict.is_wrong_key(), "{:?}", out.verdict);
    }
}

proptest! {
    #![proptest_config(config(48, "proptest-regressions/format_properties/v2_opened_with_a_key_stays_plaintext.txt"))]
    #[test]
    fn v2_opened_with_a_key_stays_plaintext(
        records in any_small_records(0..4),
        more in any_small_records(1..4),
    ) {
        let dir = tempfile::tempdir().map_err(fail)?;
        let path = dir.path().join("shard-0.aof");
        drop(write_with(&path, Version::V2, 0, &records)?);
        // Opened with a key (as `open_encrypted` does): the file keeps its own version.
        let w = write_with(&path, Version::V3, 1, &more)?;
        prop_assert_eq!(w.version(), format::FORMAT_VERSION);
        prop_assert_eq!(w.recovery(), &Recovery::Clean { records: records.len() as u64 });
        drop(w);
        let all: Vec<AofRecord> = records.iter().chain(&more).cloned().collect();
        let bytes = std::fs::read(&path).map_err(fail)?;
        prop_assert_eq!(&bytes, &image(Version::V2, &all)?.bytes, "plaintext, as if never keyed");
        let mut reader = AofReader::open(&path).map_err(fail)?;
        let mut read = Vec::new();
        while let Some(r) = reader.read_record().map_err(fail)? {
            read.push(r);
        }
        check_records(&read, &all)?;
    }
}

// ---- The writer refuses out-of-domain records and stays usable ----

fn writer_refuses_out_of_domain_records_and_stays_usable(
    v: Version,
    items: Vec<Result<AofRecord, (AofRecord, &'static str)>>,
) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().map_err(fail)?;
    let path = dir.path().join("shard-0.aof");
    let mut w = AofWriter::open_in(FsStorage, &path, v.options(0)).map_err(fail)?;
    let mut accepted = Vec::new();
    for item in &items {
        match item {
            Ok(r) => {
                w.write_record(r).map_err(fail)?;
                accepted.push(r.clone());
            }
            Err((r, field)) => {
                w.flush().map_err(fail)?;
                let before = std::fs::read(&path).map_err(fail)?;
                match w.write_record(r) {
                    Err(FormatError::Encode(EncodeError { field: f, .. })) => {
                        prop_assert_eq!(f, *field)
                    }
                    other => return Err(fail(format!("{r:?} gave {other:?}"))),
                }
                w.flush().map_err(fail)?;
                prop_assert_eq!(std::fs::read(&path).map_err(fail)?, before, "refusal wrote");
            }
        }
    }
    w.sync().map_err(fail)?;
    drop(w);
    let bytes = std::fs::read(&path).map_err(fail)?;
    let out = read_both(&bytes, v.key().as_ref())?;
    check_records(&out.records, &accepted)?;
    prop_assert!(
        matches!(out.verdict, Verdict::Clean { .. }),
        "{:?}",
        out.verdict
    );
    if v == Version::V2 {
        prop_assert_eq!(&bytes, &image(v, &accepted)?.bytes);
    }
    Ok(())
}

fn accepted_or_refused() -> impl Strategy<Value = Result<AofRecord, (AofRecord, &'static str)>> {
    prop_oneof![
        3 => any_small_record().prop_map(Ok),
        1 => refused_record().prop_map(Err),
    ]
}

for_both_versions!(
    48,
    writer_refuses_out_of_domain_records_and_stays_usable(
        items in prop::collection::vec(accepted_or_refused(), 1..10)
    )
);

// ---- Decoding never panics; decode then encode gives the input back ----

/// Edits to a byte string: flip, set, insert, delete, truncate.
#[derive(Debug, Clone)]
enum Edit {
    Flip(Index, u8),
    Set(Index, u8),
    Insert(Index, u8),
    Delete(Index),
    Truncate(Index),
}

fn any_edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<Index>(), 0..8u8).prop_map(|(i, b)| Edit::Flip(i, b)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<Index>().prop_map(Edit::Delete),
        any::<Index>().prop_map(Edit::Truncate),
    ]
}

fn edited(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        if bytes.is_empty() {
            break;
        }
        match e {
            Edit::Flip(i, b) => {
                let at = i.index(bytes.len());
                bytes[at] ^= 1 << b
            }
            Edit::Set(i, b) => {
                let at = i.index(bytes.len());
                bytes[at] = *b
            }
            Edit::Insert(i, b) => bytes.insert(i.index(bytes.len() + 1), *b),
            Edit::Delete(i) => drop(bytes.remove(i.index(bytes.len()))),
            Edit::Truncate(i) => bytes.truncate(i.index(bytes.len())),
        }
    }
    bytes
}

/// Record bytes: arbitrary, or a record's encoding with a few edits.
fn record_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..48),
        (any_small_record(), prop::collection::vec(any_edit(), 0..3))
            .prop_map(|(r, edits)| { edited(r.to_bytes().unwrap_or_default(), &edits) }),
    ]
}

/// Files: arbitrary, a header and arbitrary bytes, or a file our writer wrote with edits.
fn file_bytes(v: Version) -> BoxedStrategy<Vec<u8>> {
    let header = format::header(v.byte());
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        prop::collection::vec(any::<u8>(), 0..96).prop_map(move |rest| {
            let mut b = header.to_vec();
            b.extend(rest);
            b
        }),
        (
            any_small_records(0..5),
            prop::collection::vec(any_edit(), 1..4)
        )
            .prop_map(move |(records, edits)| {
                let bytes = image(v, &records).map(|i| i.bytes).unwrap_or_default();
                // Keep the header: the edits are to the records.
                let body = edited(bytes.get(HEADER_LEN..).unwrap_or_default().to_vec(), &edits);
                let mut b = header.to_vec();
                b.extend(body);
                b
            }),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(config(2048, "proptest-regressions/format_properties/decoding_arbitrary_record_bytes_never_panics_and_reencodes_exactly.txt"))]

    #[test]
    fn decoding_arbitrary_record_bytes_never_panics_and_reencodes_exactly(
        bytes in record_bytes()
    ) {
        let owned = AofRecord::from_bytes(&bytes);
        let borrowed = RecordRef::decode(&bytes);
        prop_assert_eq!(owned.is_ok(), borrowed.is_ok());
        if let Ok(prefix_len) = record_len(&bytes) {
            prop_assert!(prefix_len <= bytes.len());
        }
        if let Ok((_, len)) = RecordRef::decode_prefix(&bytes) {
            prop_assert!(len <= bytes.len());
            prop_assert_eq!(record_len(&bytes).ok(), Some(len));
        }
        if let Ok(record) = owned {
            let again = record.to_bytes().map_err(fail)?;
            prop_assert_eq!(&again, &bytes, "decode then encode of {:?}", record);
            prop_assert!(records_bit_equal(&borrowed.map_err(fail)?.to_record(), &record));
        }
    }
}

fn decoding_arbitrary_files_never_panics(v: Version, bytes: Vec<u8>) -> Result<(), TestCaseError> {
    let key = v.key();
    let reader = AofReader::from_file(MemFile(&bytes), key.as_ref());
    let scanner = Scanner::new(&bytes, key.as_ref());
    let (reader, scanner) = match (reader, scanner) {
        (Ok(r), Ok(s)) => (r, s),
        (Err(_), Err(_)) => return Ok(()),
        (r, s) => return Err(fail(format!("reader {r:?}, scanner {s:?}"))),
    };
    let out = read_opened(&bytes, reader, scanner)?;
    // Every intact record re-encodes to its own bytes (version 2: they are in the file).
    if v == Version::V2 {
        for (r, &at) in out.records.iter().zip(&out.offsets) {
            let encoded = r.to_bytes().map_err(fail)?;
            let at = at as usize;
            prop_assert_eq!(&bytes[at..at + encoded.len()], &encoded[..]);
        }
    }
    if let Err(e) = &out.end {
        check_error_matches_verdict(e, &out.verdict)?;
    }
    // `judge` reaches the same verdict without stopping at a failing record.
    let mut reader = AofReader::from_file(MemFile(&bytes), key.as_ref()).map_err(fail)?;
    prop_assert_eq!(reader.judge().map_err(fail)?, out.verdict);
    Ok(())
}

mod decoding_arbitrary_files_never_panics {
    use super::*;
    proptest! {
        #![proptest_config(config(1024, "proptest-regressions/format_properties/decoding_arbitrary_files_never_panics-v2.txt"))]
        #[test]
        fn v2(bytes in file_bytes(Version::V2)) {
            super::decoding_arbitrary_files_never_panics(Version::V2, bytes)?;
        }
    }
    proptest! {
        #![proptest_config(config(1024, "proptest-regressions/format_properties/decoding_arbitrary_files_never_panics-v3.txt"))]
        #[test]
        fn v3(bytes in file_bytes(Version::V3)) {
            super::decoding_arbitrary_files_never_panics(Version::V3, bytes)?;
        }
    }
}
