//! The writer under faults and crashes, on the simulated disk of `eaof-check`.
//!
//! Properties (issue 2, "Faults poison, not corrupt", "Truncate is crash-safe", "Every
//! record whose sync returned Ok survives"), each for versions 2 and 3:
//! - a failed write, flush, sync or truncate poisons the writer: every later call returns
//!   `FormatError::Poisoned` without touching the disk;
//! - a failed write never leaves a partial record followed by later records;
//! - after a crash at any operation, in any state the persistence model allows, reopening
//!   recovers, and what it reads is a prefix of what was written that holds every record a
//!   successful `sync` acknowledged; appending after it works;
//! - `truncate` leaves, whatever crash interrupts it, the old complete file or the new empty
//!   one, and once it returned Ok, the new one with whatever was synced since;
//! - a crash during the recovery of a reopen is recovered by the next reopen.
//!
//! Crash states come from `SimDisk::crash_states`: every prefix of the unsynced bytes, and
//! (harsh mode) files grown before their data landed, ending in zeros or garbage. Two
//! refusals to reopen are accepted there, and only when nothing was acknowledged and the
//! file is left unchanged (see `check_recovers`): a header that landed as garbage, and a v3
//! file whose only complete record landed as zeros or garbage (indistinguishable from a
//! wrong key).
//!
//! Each test prints its figures (crash states and fault points checked) with `--nocapture`.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::Path;
use std::time::Instant;

use bytes::Bytes;
use eaof::aof::{AofReader, AofRecord, AofWriter, Recovery, WriterOptions};
use eaof::encryption::{CountingNonces, EncryptionKey};
use eaof::format::{self, FormatError};
use eaof::writer::tmp_path;
use eaof::{Damage, Verdict};
use eaof_check::sim::{CrashMode, OpKind, Persistence, SimDisk, SimFault};
use proptest::prelude::*;

const PATH: &str = "data/shard-0.aof";
const HARSH: CrashMode = CrashMode::Harsh { seed: 0x5eed };

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V2,
    V3,
}

const VERSIONS: [Version; 2] = [Version::V2, Version::V3];

fn key() -> EncryptionKey {
    EncryptionKey::from_bytes([0x42; 32])
}

fn read_key(v: Version) -> Option<EncryptionKey> {
    (v == Version::V3).then(key)
}

/// Writer options; each opening of a v3 file takes its own nonce prefix, so nonces never
/// repeat under the key within a test.
fn options(v: Version, opening: u32) -> WriterOptions {
    match v {
        Version::V2 => WriterOptions::default(),
        Version::V3 => WriterOptions::default()
            .key(key())
            .nonces(CountingNonces::new(opening.to_le_bytes())),
    }
}

fn open(disk: &SimDisk, v: Version, opening: u32) -> Result<AofWriter<SimDisk>, FormatError> {
    AofWriter::open_in(disk.clone(), PATH, options(v, opening))
}

/// Every record of the file, or the reader's error.
fn read_back(disk: &SimDisk, v: Version) -> Result<Vec<AofRecord>, FormatError> {
    let key = read_key(v);
    let mut reader = AofReader::open_in(disk, Path::new(PATH), key.as_ref())?;
    let mut records = Vec::new();
    while let Some(record) = reader.read_record()? {
        records.push(record);
    }
    Ok(records)
}

fn judge(disk: &SimDisk, v: Version) -> Result<Verdict, FormatError> {
    let key = read_key(v);
    AofReader::open_in(disk, Path::new(PATH), key.as_ref())?.judge()
}

/// Small records of a few kinds and sizes (5 to 30 bytes encoded).
fn record(i: usize) -> AofRecord {
    let key = format!("k{i}");
    match i % 4 {
        0 => AofRecord::Set {
            key,
            value: Bytes::from(vec![b'a' + (i % 26) as u8; i % 11]),
            expire_ms: if i.is_multiple_of(8) {
                -1
            } else {
                1000 * i as i64
            },
        },
        1 => AofRecord::Incr { key },
        2 => AofRecord::RPush {
            key,
            values: vec![Bytes::from_static(b"x"), Bytes::from(vec![0; i % 3])],
        },
        _ => AofRecord::Del { key },
    }
}

fn marker() -> AofRecord {
    AofRecord::Set {
        key: "after-recovery".into(),
        value: Bytes::from_static(b"appended"),
        expire_ms: -1,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Write(usize),
    Flush,
    Sync,
    Truncate,
}

/// What a played script did.
#[derive(Debug, Default)]
struct Run {
    /// Every record handed to `write_record` since the file was last emptied, in order (a
    /// failed call's record included: a failing flush inside it may have written part of
    /// it).
    attempted: Vec<AofRecord>,
    /// Records acknowledged: how many were written before the last successful `sync`.
    acked: usize,
    /// The first failure, if any, and the simulated fault behind it.
    failure: Option<String>,
    fault: Option<SimFault>,
    /// When a `truncate` failed, the file may be the old one (these records, this many
    /// acknowledged) or the new empty one.
    before_failed_truncate: Option<(Vec<AofRecord>, usize)>,
    /// The last `truncate` called: the log indices of its first and past its last operation,
    /// the file as it started, and whether that was all durable.
    truncate: Option<TruncateSpan>,
}

#[derive(Debug, Clone)]
struct TruncateSpan {
    ops: std::ops::Range<u64>,
    old: Vec<u8>,
    old_durable: bool,
}

impl Run {
    /// The histories the file may hold: (records written, how many acknowledged).
    fn histories(&self) -> Vec<(&[AofRecord], usize)> {
        let mut out = vec![(&self.attempted[..], self.acked)];
        if let Some((records, acked)) = &self.before_failed_truncate {
            out.push((&records[..], *acked));
        }
        out
    }

    fn nothing_acked_in_some_history(&self) -> bool {
        self.histories().iter().any(|(_, acked)| *acked == 0)
    }
}

/// Checks a writer call against "poisoned after the first failure, and refusing without
/// touching the disk".
fn note(
    run: &mut Run,
    disk: &SimDisk,
    ops_before: u64,
    what: &str,
    result: Result<(), FormatError>,
) -> Result<bool, String> {
    match (&run.failure, result) {
        (None, Ok(())) => Ok(true),
        (None, Err(FormatError::Poisoned(why))) => {
            Err(format!("{what}: poisoned before any failure ({why})"))
        }
        (None, Err(e)) => {
            run.failure = Some(format!("{what}: {e}"));
            run.fault = sim_fault(&e);
            Ok(false)
        }
        (Some(first), Ok(())) => Err(format!("{what} succeeded after a failure ({first})")),
        (Some(_), Err(FormatError::Poisoned(_))) if disk.op_count() == ops_before => Ok(false),
        (Some(_), Err(FormatError::Poisoned(_))) => {
            Err(format!("{what}: a poisoned writer touched the disk"))
        }
        (Some(first), Err(e)) => Err(format!(
            "{what} failed with {e:?} instead of Poisoned after {first}"
        )),
    }
}

/// Plays `script` on a writer opened on `disk`; `arm` runs once the writer is open.
fn play(
    disk: &SimDisk,
    v: Version,
    script: &[Action],
    arm: impl FnOnce(&SimDisk),
) -> Result<(Run, Option<AofWriter<SimDisk>>), String> {
    let mut run = Run::default();
    let mut writer = match open(disk, v, 0) {
        Ok(w) => w,
        Err(e) => {
            run.failure = Some(format!("open: {e}"));
            run.fault = sim_fault(&e);
            return Ok((run, None));
        }
    };
    arm(disk);
    for action in script {
        let before = disk.op_count();
        match *action {
            Action::Write(i) => {
                run.attempted.push(record(i));
                let r = writer.write_record(&record(i));
                note(&mut run, disk, before, "write_record", r)?;
            }
            Action::Flush => {
                let r = writer.flush();
                note(&mut run, disk, before, "flush", r)?;
            }
            Action::Sync => {
                let r = writer.sync();
                if note(&mut run, disk, before, "sync", r)? {
                    run.acked = run.attempted.len();
                }
            }
            Action::Truncate => {
                let old = disk.contents(PATH).unwrap_or_default();
                let old_durable =
                    disk.pending_changes() == 0 && disk.durable_contents(PATH) == Some(old.clone());
                let r = writer.truncate();
                let failed_here = run.failure.is_none() && r.is_err();
                run.truncate = Some(TruncateSpan {
                    ops: before..disk.op_count(),
                    old,
                    old_durable,
                });
                let old_history = (std::mem::take(&mut run.attempted), run.acked);
                run.acked = 0;
                if note(&mut run, disk, before, "truncate", r)? {
                    run.before_failed_truncate = None;
                } else if failed_here {
                    run.before_failed_truncate = Some(old_history);
                } else {
                    // Refused by a poisoned writer: nothing changed.
                    (run.attempted, run.acked) = old_history;
                }
            }
        }
    }
    Ok((run, Some(writer)))
}

/// How recovering one disk went, for the figures.
#[derive(Debug, Default)]
struct Tally {
    states: u64,
    fault_points: u64,
    outcomes: BTreeMap<String, u64>,
}

impl Tally {
    fn count(&mut self, outcome: impl Into<String>) {
        *self.outcomes.entry(outcome.into()).or_default() += 1;
    }

    fn seen(&self, outcome: &str) -> u64 {
        self.outcomes.get(outcome).copied().unwrap_or(0)
    }

    fn print(&self, test: &str, v: impl Into<Option<Version>>, started: Instant) {
        let v = v.into().map_or("V2+V3".to_string(), |v| format!("{v:?}"));
        eprintln!(
            "{test} {v}: {} crash states, {} fault points, {:.2?}; outcomes {:?}",
            self.states,
            self.fault_points,
            started.elapsed(),
            self.outcomes
        );
    }
}

/// The recovery property of one disk: reopening succeeds; it cut no more than damage; what
/// reads back is a prefix of the records written holding every acknowledged one (of one of
/// the run's histories); the file is clean after reopening; a record appended and synced
/// then reads back after them.
///
/// Two refusals are expected in harsh crash states, and accepted only when nothing was
/// acknowledged and the file is left unchanged:
/// - a crash while the file was being created left its header as garbage: it cannot be told
///   from a file of another kind;
/// - in a version 3 file, the first record is complete but its bytes landed as zeros or
///   garbage: no record authenticates, which is what a wrong key looks like too, and the
///   writer refuses (`DecryptionFailed`) rather than cut what might be a whole file sealed
///   with another key.
fn check_recovers(disk: &SimDisk, v: Version, run: &Run, tally: &mut Tally) -> Result<(), String> {
    tally.states += 1;
    let before = disk.contents(PATH);
    let may_refuse = run.nothing_acked_in_some_history();
    let mut writer = match open(disk, v, 1) {
        Ok(w) => w,
        Err(FormatError::DecryptionFailed) if v == Version::V3 && may_refuse => {
            if disk.contents(PATH) != before {
                return Err("a refused reopen changed the file".into());
            }
            match judge(disk, v) {
                Ok(Verdict::TornTail {
                    records: 0,
                    cause: Damage::Unauthenticated,
                    ..
                }) => {
                    tally.count("refused: first record unauthenticated (as a wrong key)");
                    return Ok(());
                }
                other => return Err(format!("DecryptionFailed, but the verdict is {other:?}")),
            }
        }
        Err(
            e @ (FormatError::InvalidMagic
            | FormatError::UnsupportedVersion(_)
            | FormatError::EncryptionRequired),
        ) if may_refuse && is_garbage_header(before.as_deref()) => {
            if disk.contents(PATH) != before {
                return Err("a refused reopen changed the file".into());
            }
            tally.count(format!("refused: garbage header ({e})"));
            return Ok(());
        }
        Err(e) => return Err(format!("reopen failed: {e:?}")),
    };
    let after = disk.contents(PATH).unwrap_or_default();
    match writer.recovery().clone() {
        Recovery::Created => {
            if before.as_ref().is_some_and(|b| !b.is_empty()) {
                return Err(format!("Created over a non-empty file {before:?}"));
            }
            tally.count("created");
        }
        Recovery::Clean { .. } => {
            if before.as_deref() != Some(&after[..]) {
                return Err("a clean reopen changed the file".into());
            }
            tally.count("clean");
        }
        Recovery::Cut {
            verdict,
            bytes_removed,
        } => {
            let before_len = before.as_ref().map_or(0, Vec::len) as u64;
            let Verdict::TornTail { offset, cause, .. } = &verdict else {
                return Err(format!(
                    "cut a verdict that is not a torn tail: {verdict:?}"
                ));
            };
            // A cut at 0 is a torn header, replaced by a whole one.
            let expected_len = match offset {
                0 => format::HEADER_LEN as u64,
                _ => *offset,
            };
            if before_len - bytes_removed != *offset || after.len() as u64 != expected_len {
                return Err(format!(
                    "cut {bytes_removed} of {before_len} bytes at {offset}, file now {}",
                    after.len()
                ));
            }
            tally.count(format!("cut: {}", cause.class()));
        }
    }
    let records = read_back(disk, v).map_err(|e| format!("read after reopen: {e:?}"))?;
    let fits = |(written, acked): &(&[AofRecord], usize)| {
        records.len() >= *acked
            && records.len() <= written.len()
            && records[..] == written[..records.len()]
    };
    if !run.histories().iter().any(fits) {
        return Err(format!(
            "read {} records, not a prefix of the records written holding the acknowledged ones: {records:?}",
            records.len()
        ));
    }
    match judge(disk, v) {
        Ok(Verdict::Clean { .. }) => {}
        other => return Err(format!("not clean after reopening: {other:?}")),
    }
    writer
        .write_record(&marker())
        .and_then(|()| writer.sync())
        .map_err(|e| format!("append after reopening: {e:?}"))?;
    let again = read_back(disk, v).map_err(|e| format!("read after appending: {e:?}"))?;
    if again.len() != records.len() + 1
        || again[..records.len()] != records[..]
        || again[records.len()] != marker()
    {
        return Err(format!("after appending one record, read {again:?}"));
    }
    Ok(())
}

/// A file no longer than a header whose bytes are not a header's first bytes followed by
/// zeros (what a crash while writing the header can leave).
fn is_garbage_header(contents: Option<&[u8]>) -> bool {
    let Some(bytes) = contents else {
        return false;
    };
    let kept = bytes.len() - bytes.iter().rev().take_while(|&&b| b == 0).count();
    bytes.len() <= format::HEADER_LEN
        && kept > 0
        && !(kept < format::HEADER_LEN && bytes[..kept] == format::AOF_MAGIC[..kept])
}

/// Crashes `disk` into every state of `mode` and checks each recovers.
fn check_every_crash(
    disk: &SimDisk,
    mode: CrashMode,
    v: Version,
    run: &Run,
    tally: &mut Tally,
    context: &dyn Debug,
) -> Result<(), String> {
    for state in disk.crash_states(mode) {
        check_recovers(&state.disk, v, run, tally).map_err(|e| {
            format!(
                "{e}\n  context: {context:?}\n  crash: {:?}\n  run: {run:?}",
                state.choice
            )
        })?;
    }
    Ok(())
}

fn script_from(text: &str) -> Vec<Action> {
    let mut next = 0;
    text.chars()
        .filter_map(|c| match c {
            'w' => {
                next += 1;
                Some(Action::Write(next - 1))
            }
            'f' => Some(Action::Flush),
            's' => Some(Action::Sync),
            't' => Some(Action::Truncate),
            _ => None,
        })
        .collect()
}

fn expect_poisoned(what: &str, r: Result<(), FormatError>) {
    match r {
        Err(FormatError::Poisoned(_)) => {}
        other => panic!("{what} after a failure: {other:?}, expected Poisoned"),
    }
}

fn sim_fault(e: &FormatError) -> Option<SimFault> {
    match e {
        FormatError::Io(io) => SimFault::of(io),
        _ => None,
    }
}

#[test]
fn a_failed_write_flush_sync_or_truncate_poisons_the_writer() {
    type Provoke = fn(&SimDisk, &mut AofWriter<SimDisk>) -> Result<(), FormatError>;
    let cases: Vec<(&str, SimFault, Provoke)> = vec![
        ("flush with a full disk", SimFault::NoSpace, |disk, w| {
            w.write_record(&record(0))?;
            w.write_record(&record(1))?;
            disk.fail_write_after(3, Persistence::Once);
            w.flush()
        }),
        ("sync whose write fails", SimFault::NoSpace, |disk, w| {
            w.write_record(&record(2))?;
            disk.fail_write_after(0, Persistence::Once);
            w.sync()
        }),
        ("failed fsync", SimFault::SyncFailed, |disk, w| {
            w.write_record(&record(3))?;
            disk.fail_sync_at(disk.sync_count(), Persistence::Once);
            w.sync()
        }),
        (
            "write_record filling the buffer",
            SimFault::NoSpace,
            |disk, w| {
                disk.fail_write_after(100, Persistence::Once);
                let big = AofRecord::Set {
                    key: "big".into(),
                    value: Bytes::from(vec![7; 16 * 1024]),
                    expire_ms: -1,
                };
                for _ in 0..8 {
                    w.write_record(&big)?;
                }
                Ok(())
            },
        ),
    ];
    let mut checked = 0;
    for v in VERSIONS {
        for (what, fault, provoke) in &cases {
            let disk = SimDisk::new();
            let mut w = open(&disk, v, 0).unwrap();
            let err = provoke(&disk, &mut w).expect_err(what);
            assert_eq!(sim_fault(&err), Some(*fault), "{what} {v:?}: {err:?}");
            assert_poisoned_for_good(&disk, &mut w, what);
            checked += 1;
        }
        // A failure at each step of truncate.
        let dry = SimDisk::new();
        let mut w = open(&dry, v, 0).unwrap();
        let start = dry.op_count();
        w.truncate().unwrap();
        let steps = dry.op_count() - start;
        for step in 0..steps {
            let disk = SimDisk::new();
            let mut w = open(&disk, v, 0).unwrap();
            w.write_record(&record(0)).unwrap();
            disk.fail_op_at(disk.op_count() + step, Persistence::Once);
            let err = w.truncate().expect_err("truncate with a failing step");
            // An injected failure of a sync is a failed sync.
            assert!(
                matches!(
                    sim_fault(&err),
                    Some(SimFault::Injected | SimFault::SyncFailed)
                ),
                "{v:?} step {step}: {err:?}"
            );
            assert_poisoned_for_good(&disk, &mut w, "truncate");
            checked += 1;
        }
    }
    eprintln!("a_failed_write_flush_sync_or_truncate_poisons_the_writer: {checked} failures");
}

/// Every later call is refused with `Poisoned`, and none touches the disk (whose faults
/// were one-shot: the disk would now accept them).
fn assert_poisoned_for_good(disk: &SimDisk, w: &mut AofWriter<SimDisk>, what: &str) {
    let ops = disk.op_count();
    for _ in 0..2 {
        expect_poisoned(what, w.write_record(&record(9)));
        expect_poisoned(what, w.flush());
        expect_poisoned(what, w.sync());
        expect_poisoned(what, w.truncate());
    }
    assert_eq!(
        disk.op_count(),
        ops,
        "{what}: a poisoned writer touched the disk"
    );
}

#[test]
fn a_failed_write_never_leaves_a_partial_record_followed_by_later_records() {
    let script = script_from("ww f ww f w s www f w ww s ww f");
    for v in VERSIONS {
        let started = Instant::now();
        let mut tally = Tally::default();
        // How many bytes the script appends after the writer opened.
        let dry = SimDisk::new();
        let mut header_len = 0;
        play(&dry, v, &script, |d| {
            header_len = d.contents(PATH).map_or(0, |c| c.len());
        })
        .unwrap();
        let total = (dry.contents(PATH).unwrap().len() - header_len) as u64;
        for budget in 0..=total {
            for persistence in [Persistence::Once, Persistence::Sticky] {
                tally.fault_points += 1;
                let disk = SimDisk::new();
                let (run, _writer) = play(&disk, v, &script, |d| {
                    d.fail_write_after(budget, persistence)
                })
                .unwrap();
                let context = (v, budget, persistence);
                let want = (budget < total).then_some(SimFault::NoSpace);
                assert_eq!(run.fault, want, "{context:?}: {run:?}");
                // Before any crash: what the disk holds reads cleanly, as a prefix.
                let live = read_back(&disk, v)
                    .unwrap_or_else(|e| panic!("{context:?}: live file unreadable: {e:?}"));
                assert!(
                    live[..] == run.attempted[..live.len()],
                    "{context:?}: {live:?}"
                );
                assert!(
                    !matches!(judge(&disk, v), Ok(Verdict::Corrupt { .. })),
                    "{context:?}"
                );
                // Reopening without a crash, once space was freed.
                let live = disk.fork();
                live.clear_faults();
                check_recovers(&live, v, &run, &mut tally)
                    .unwrap_or_else(|e| panic!("{context:?} reopened live: {e}"));
                check_every_crash(&disk, CrashMode::Prefixes, v, &run, &mut tally, &context)
                    .unwrap_or_else(|e| panic!("{e}"));
            }
        }
        assert!(tally.seen("cut: truncated") > 0);
        tally.print(
            "a_failed_write_never_leaves_a_partial_record_followed_by_later_records",
            v,
            started,
        );
    }
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => (0usize..64).prop_map(Action::Write),
        1 => Just(Action::Flush),
        2 => Just(Action::Sync),
        1 => Just(Action::Truncate),
    ]
}

fn version() -> impl Strategy<Value = Version> {
    prop_oneof![Just(Version::V2), Just(Version::V3)]
}

/// Runs a property over `cases` generated values with proptest's runner (fixed case
/// count; `PROPTEST_RNG_SEED` fixes the seed), panicking with the shrunk counterexample.
fn run_property<S: Strategy>(
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: Debug,
{
    let mut config = ProptestConfig::with_cases(cases);
    // Integration tests have no lib.rs for proptest to find, so name the file.
    config.failure_persistence = Some(Box::new(
        proptest::test_runner::FileFailurePersistence::Direct(
            "proptest-regressions/writer_faults.txt",
        ),
    ));
    let mut runner = proptest::test_runner::TestRunner::new(config);
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}

#[test]
fn every_record_acknowledged_by_sync_survives_any_crash() {
    // Random interleavings of writes, flushes and syncs; a crash at every operation index,
    // into every state the persistence model allows: any prefix of the unsynced bytes, and
    // endings in zeros or garbage.
    let started = Instant::now();
    let tally = std::cell::RefCell::new(Tally::default());
    let strategy = (version(), prop::collection::vec(action(), 1..14));
    run_property(256, strategy, |(v, script)| {
        let dry = SimDisk::new();
        play(&dry, v, &script, |_| {}).map_err(TestCaseError::fail)?;
        let total = dry.op_count();
        let tally = &mut *tally.borrow_mut();
        for cut in 0..=total {
            let disk = SimDisk::new();
            disk.power_cut_at(cut);
            let (run, _writer) = play(&disk, v, &script, |_| {}).map_err(TestCaseError::fail)?;
            tally.fault_points += 1;
            check_every_crash(&disk, HARSH, v, &run, tally, &(v, cut, &script))
                .map_err(TestCaseError::fail)?;
        }
        Ok(())
    });
    let tally = tally.into_inner();
    assert!(tally.seen("cut: zeros") > 0 && tally.seen("cut: truncated") > 0);
    tally.print(
        "every_record_acknowledged_by_sync_survives_any_crash",
        None,
        started,
    );
}

/// Short runs for the exhaustive tests: every operation of each is a fault or crash point.
const SCRIPTS: [&str; 5] = [
    "w s w s",
    "ww f w s ww f",
    "w f w f w s w",
    "www s w t w s ww f",
    "w s t t w f s w",
];

#[test]
fn a_failed_fsync_loses_only_what_was_not_acknowledged_and_reopening_recovers() {
    for v in VERSIONS {
        let started = Instant::now();
        let mut tally = Tally::default();
        for text in SCRIPTS {
            let script = script_from(text);
            let dry = SimDisk::new();
            play(&dry, v, &script, |_| {}).unwrap();
            for n in 0..dry.sync_count() {
                tally.fault_points += 1;
                let disk = SimDisk::new();
                disk.fail_sync_at(n, Persistence::Once);
                let (run, _writer) = play(&disk, v, &script, |_| {}).unwrap();
                let context = (v, text, n);
                assert_eq!(
                    run.fault,
                    Some(SimFault::SyncFailed),
                    "{context:?}: {run:?}"
                );
                // Linux drops the unsynced pages of a failed fsync: what the file still
                // shows is what was acknowledged, exactly.
                if run.before_failed_truncate.is_none() {
                    let live = read_back(&disk, v).unwrap_or_default();
                    assert_eq!(live, run.attempted[..run.acked], "{context:?}");
                }
                check_recovers(&disk.fork(), v, &run, &mut tally)
                    .unwrap_or_else(|e| panic!("{context:?} reopened live: {e}"));
                check_every_crash(&disk, HARSH, v, &run, &mut tally, &context)
                    .unwrap_or_else(|e| panic!("{e}"));
            }
        }
        tally.print(
            "a_failed_fsync_loses_only_what_was_not_acknowledged_and_reopening_recovers",
            v,
            started,
        );
    }
}

#[test]
fn a_fault_at_any_operation_poisons_the_writer_and_reopening_recovers() {
    for v in VERSIONS {
        let started = Instant::now();
        let mut tally = Tally::default();
        for text in SCRIPTS {
            let script = script_from(text);
            let dry = SimDisk::new();
            play(&dry, v, &script, |_| {}).unwrap();
            for n in 0..dry.op_count() {
                tally.fault_points += 1;
                let disk = SimDisk::new();
                disk.fail_op_at(n, Persistence::Once);
                // `play` checks that every call after the failure is refused as Poisoned
                // without touching the disk.
                let (run, _writer) = play(&disk, v, &script, |_| {}).unwrap();
                let context = (v, text, n);
                assert!(
                    matches!(run.fault, Some(SimFault::Injected | SimFault::SyncFailed)),
                    "{context:?}: the fault did not fire: {run:?}"
                );
                check_recovers(&disk.fork(), v, &run, &mut tally)
                    .unwrap_or_else(|e| panic!("{context:?} reopened live: {e}"));
                check_every_crash(&disk, CrashMode::Prefixes, v, &run, &mut tally, &context)
                    .unwrap_or_else(|e| panic!("{e}"));
            }
        }
        tally.print(
            "a_fault_at_any_operation_poisons_the_writer_and_reopening_recovers",
            v,
            started,
        );
    }
}

#[test]
fn reopening_after_a_crash_with_zero_or_garbage_endings_cuts_the_damage_and_loses_nothing_acknowledged(
) {
    for v in VERSIONS {
        let started = Instant::now();
        let mut tally = Tally::default();
        for text in SCRIPTS {
            let script = script_from(text);
            let dry = SimDisk::new();
            play(&dry, v, &script, |_| {}).unwrap();
            for cut in 0..=dry.op_count() {
                tally.fault_points += 1;
                let disk = SimDisk::new();
                disk.power_cut_at(cut);
                let (run, _writer) = play(&disk, v, &script, |_| {}).unwrap();
                check_every_crash(&disk, HARSH, v, &run, &mut tally, &(v, text, cut))
                    .unwrap_or_else(|e| panic!("{e}"));
            }
        }
        // The damage the harsh states bring is really met and cut, for each version.
        let failed_record = match v {
            Version::V2 => "cut: checksum_mismatch",
            Version::V3 => "cut: unauthenticated",
        };
        for outcome in ["cut: zeros", failed_record, "cut: partial_header"] {
            assert!(tally.seen(outcome) > 0, "{v:?}: no {outcome}: {tally:?}");
        }
        tally.print(
            "reopening_after_a_crash_with_zero_or_garbage_endings_cuts_the_damage_and_loses_nothing_acknowledged",
            v,
            started,
        );
    }
}

#[test]
fn truncate_is_crash_safe() {
    // The old file is complete and durable when truncate starts; records are written and
    // synced after it.
    let script: Vec<Action> = script_from("ww f w s w s")
        .into_iter()
        .chain([Action::Truncate])
        .chain(script_from("w s w f w s w").into_iter().map(|a| match a {
            Action::Write(i) => Action::Write(100 + i),
            other => other,
        }))
        .collect();
    for v in VERSIONS {
        for stale_tmp in [false, true] {
            let started = Instant::now();
            let mut tally = Tally::default();
            let setup = |disk: &SimDisk| {
                if stale_tmp {
                    // A crash during an earlier truncate left its temporary file behind.
                    disk.put_durable(tmp_path(Path::new(PATH)), b"EAOF\x02stale")
                        .unwrap();
                }
            };
            let dry = SimDisk::new();
            setup(&dry);
            let (run, _writer) = play(&dry, v, &script, |_| {}).unwrap();
            let span = run.truncate.clone().unwrap();
            assert!(span.old_durable, "the test wants a durable old file");
            // The protocol: a new file beside the old one, synced, renamed over it, the
            // directory synced, then the new file opened for appending.
            let tmp = tmp_path(Path::new(PATH));
            let steps: Vec<OpKind> = dry.ops()[span.ops.start as usize..span.ops.end as usize]
                .iter()
                .map(|op| op.kind.clone())
                .filter(OpKind::mutates)
                .collect();
            assert!(
                matches!(&steps[..], [
                    OpKind::Create { path: c },
                    OpKind::Append { .. },
                    OpKind::Sync { .. },
                    OpKind::Rename { from, to },
                    OpKind::SyncDir { .. },
                    OpKind::Open { path: o },
                ] if *c == tmp && *from == tmp && to == Path::new(PATH) && o == Path::new(PATH)),
                "{steps:?}"
            );
            let header = format::header(match v {
                Version::V2 => format::FORMAT_VERSION,
                Version::V3 => format::FORMAT_VERSION_ENCRYPTED,
            });
            let after_open = {
                let d = SimDisk::new();
                setup(&d);
                open(&d, v, 0).unwrap();
                d.op_count()
            };
            for cut in 0..=dry.op_count() {
                tally.fault_points += 1;
                let disk = SimDisk::new();
                setup(&disk);
                disk.power_cut_at(cut);
                let (run, _writer) = play(&disk, v, &script, |_| {}).unwrap();
                for state in disk.crash_states(HARSH) {
                    let contents = state.disk.contents(PATH);
                    let context = (v, stale_tmp, cut, &state.choice);
                    if cut >= after_open {
                        // Durable since the writer opened it: never missing.
                        let c = contents
                            .as_deref()
                            .unwrap_or_else(|| panic!("{context:?}: the file is missing"));
                        if cut > span.ops.start && cut < span.ops.end {
                            // Interrupted truncate: old complete file, or new empty one.
                            assert!(
                                c == span.old || c == header,
                                "{context:?}: neither old nor new: {c:?}"
                            );
                            tally.count(if c == header { "new file" } else { "old file" });
                        } else if cut >= span.ops.end {
                            assert!(c.starts_with(&header) && c != span.old, "{context:?}");
                        }
                    }
                    check_recovers(&state.disk, v, &run, &mut tally)
                        .unwrap_or_else(|e| panic!("{context:?}: {e}\n  run: {run:?}"));
                }
            }
            assert!(tally.seen("old file") > 0 && tally.seen("new file") > 0);
            let name = format!("truncate_is_crash_safe (stale tmp: {stale_tmp})");
            tally.print(&name, v, started);
        }
    }
}

#[test]
fn a_crash_while_reopening_is_recovered_by_the_next_reopen() {
    // Recovery cuts and syncs: a crash at any of its operations must leave a disk the next
    // reopening recovers with nothing acknowledged lost.
    for v in VERSIONS {
        let started = Instant::now();
        let mut tally = Tally::default();
        for text in SCRIPTS {
            let script = script_from(text);
            let dry = SimDisk::new();
            play(&dry, v, &script, |_| {}).unwrap();
            for cut in 0..=dry.op_count() {
                let disk = SimDisk::new();
                disk.power_cut_at(cut);
                let (run, _writer) = play(&disk, v, &script, |_| {}).unwrap();
                for first in disk.crash_states(HARSH) {
                    let probe = first.disk.fork();
                    let _ = open(&probe, v, 2);
                    for second_cut in 0..probe.op_count() {
                        tally.fault_points += 1;
                        let again = first.disk.fork();
                        again.power_cut_at(second_cut);
                        let _ = open(&again, v, 2);
                        let context = (v, text, cut, &first.choice, second_cut);
                        check_every_crash(&again, HARSH, v, &run, &mut tally, &context)
                            .unwrap_or_else(|e| panic!("{e}"));
                    }
                }
            }
        }
        tally.print(
            "a_crash_while_reopening_is_recovered_by_the_next_reopen",
            v,
            started,
        );
    }
}

#[test]
fn a_v3_file_whose_only_record_landed_as_zeros_is_refused_like_a_wrong_key() {
    // The minimal case of the accepted refusal: the header is durable, one record was
    // appended and not synced, and the crash grew the file to the record's end while only
    // its nonce and length landed. The record is complete and does not authenticate, and no
    // other record does: exactly what a file sealed with another key looks like. Reopening
    // refuses, changes nothing, and loses nothing acknowledged (nothing was).
    let disk = SimDisk::new();
    let mut w = open(&disk, Version::V3, 0).unwrap();
    w.write_record(&record(1)).unwrap();
    w.flush().unwrap();
    let inode = disk
        .ops()
        .iter()
        .find_map(|op| match op.kind {
            OpKind::Append { inode, .. } => Some(inode),
            _ => None,
        })
        .unwrap();
    let landed = (format::HEADER_LEN + 16) as u64; // nonce (12) and length (4)
    let choice = eaof_check::sim::CrashChoice {
        dirs: Default::default(),
        files: [(
            inode,
            eaof_check::sim::FileCrash::Grown {
                changes: 1,
                landed,
                fill: eaof_check::sim::Fill::Zeros,
            },
        )]
        .into_iter()
        .collect(),
    };
    let crashed = disk.crash_with(&choice).unwrap();
    let before = crashed.contents(PATH).unwrap();
    assert_eq!(before.len(), disk.contents(PATH).unwrap().len());
    assert!(matches!(
        open(&crashed, Version::V3, 1),
        Err(FormatError::DecryptionFailed)
    ));
    assert_eq!(crashed.contents(PATH).unwrap(), before);
}
