//! Every fault the recorder injects, seen by the child as the right errno, with the file
//! left as the fault says, and reported in the call it changed.

mod common;

use common::*;
use eaof_trace::{
    Action, CallKind, Errno, Fault, FaultError, FileCrashState, Match, Op, PathState, Revert, What,
};

fn fired(served: &Served) -> Vec<(eaof_trace::FaultId, Option<Revert>)> {
    let (events, _) = served.recorder.drain();
    events
        .iter()
        .filter_map(|e| match &e.what {
            What::Call(c) => c.fault.as_ref().map(|f| (f.id, f.revert.clone())),
            _ => None,
        })
        .collect()
}

fn only_file(states: Vec<PathState>) -> Vec<FileCrashState> {
    states
        .into_iter()
        .map(|s| match s {
            PathState::File { state, .. } => state,
            PathState::Absent => panic!("no file among the crash states"),
        })
        .collect()
}

/// A crash can leave `name` only as `bytes`, all of them durable.
fn every_crash_keeps_exactly(s: &Served, name: &str, bytes: &[u8]) {
    let states = only_file(s.recorder.crash_states(&s.path(name)).unwrap());
    let whole = FileCrashState {
        bytes: bytes.to_vec(),
        durable_len: bytes.len(),
        write_ends: vec![],
    };
    assert_eq!(states, [whole]);
}

#[test]
fn a_failed_fsync_returns_eio_and_loses_the_unsynced_bytes() {
    let mut s = Served::start();
    assert_eq!(s.step("open a wc"), "ok 0");
    assert_eq!(s.step("fsyncdir ."), "ok 0");
    assert_eq!(s.step("write a hello"), "ok 5");
    assert_eq!(s.step("fsync a"), "ok 0");
    assert_eq!(s.step("write a world"), "ok 5");
    s.recorder.drain();
    let id = s
        .recorder
        .arm(Fault::fail(CallKind::Sync, 0, Errno::EIO))
        .unwrap();
    assert_eq!(s.step("fsync a"), "err 5");
    assert_eq!(fired(&s), [(id, Some(Revert::Reverted { len: 5 }))]);
    // Later reads show what a crash keeps: the synced bytes.
    assert_eq!(s.step("read a"), "\"hello\" ok 5");
    every_crash_keeps_exactly(&s, "a", b"hello");
    // The descriptor's offset did not move back: the next write leaves a hole.
    s.recorder.drain();
    assert_eq!(s.step("write a again"), "ok 5");
    assert_eq!(
        s.calls(),
        ["write a fd=3 at 10 asked 5 wrote \"again\" -> 5"]
    );
    assert_eq!(s.step("read a"), "\"hello.....again\" ok 15");
    // A later fsync succeeds (the error is reported once).
    assert_eq!(s.step("fsync a"), "ok 0");
    assert_eq!(s.finish(), eaof_trace::Exit::Exited(0));
}

#[test]
fn an_interrupted_fsync_returns_eintr_and_loses_nothing() {
    let mut s = Served::start();
    s.step("open a wc");
    s.step("fsyncdir .");
    s.step("write a hello");
    s.recorder.drain();
    s.recorder
        .arm(Fault::fail(CallKind::Sync, 0, Errno::EINTR))
        .unwrap();
    // Rust's `File::sync_all` retries on EINTR: the program sees success, from the second
    // call.
    assert_eq!(s.step("fsync a"), "ok 0");
    assert_eq!(
        s.calls(),
        ["fsync a -> EINTR [fault Fail(Errno(4))]", "fsync a -> 0"]
    );
    assert_eq!(s.step("read a"), "\"hello\" ok 5");
    every_crash_keeps_exactly(&s, "a", b"hello");
}

#[test]
fn a_full_disk_gives_a_short_write_then_enospc() {
    let mut s = Served::start();
    s.step("open a wc");
    s.recorder
        .arm(Fault::write(
            0,
            Action::ShortThenFail {
                bytes: 3,
                errno: Errno::ENOSPC,
            },
        ))
        .unwrap();
    assert_eq!(s.step("write a hello"), "ok 3");
    assert_eq!(s.step("write a lo"), "err 28");
    assert_eq!(s.step("write a lo"), "ok 2", "the failure comes once");
    assert_eq!(s.step("read a"), "\"hello\" ok 5");
    let calls = s.calls();
    assert_eq!(
        calls[1..4],
        [
            "write a fd=3 at 0 asked 5 wrote \"hel\" -> 3 [fault ShortThenFail { bytes: 3, errno: Errno(28) }]",
            "write a fd=3 at 3 asked 2 wrote \"\" -> ENOSPC [fault Fail(Errno(28))]",
            "write a fd=3 at 3 asked 2 wrote \"lo\" -> 2",
        ]
    );
}

#[test]
fn a_write_over_the_size_limit_lands_in_part_and_returns_efbig() {
    let mut s = Served::start();
    s.step("open a wc");
    s.step("fsyncdir .");
    let fault = Fault::write(
        0,
        Action::PartialThenFail {
            bytes: 2,
            errno: Errno::EFBIG,
        },
    );
    s.recorder.arm(fault).unwrap();
    assert_eq!(s.step("write a hello"), "err 27");
    assert_eq!(s.step("read a"), "\"he\" ok 2");
    let states = only_file(s.recorder.crash_states(&s.path("a")).unwrap());
    assert_eq!(
        states.last().map(|f| f.bytes.clone()),
        Some(b"he".to_vec()),
        "the model has the landed bytes"
    );
}

#[test]
fn short_writes_write_what_they_say_for_every_kind_of_write() {
    let mut s = Served::start();
    s.step("open a wc");
    s.recorder
        .arm(Fault::write(0, Action::Short { bytes: 2 }))
        .unwrap();
    assert_eq!(s.step("write a hello"), "ok 2");
    s.recorder
        .arm(Fault::write(0, Action::Short { bytes: 3 }))
        .unwrap();
    assert_eq!(s.step("writev a ab cd ef"), "ok 3");
    assert_eq!(
        s.step("writev a gh ij"),
        "ok 4",
        "a write after the fault is whole"
    );
    s.recorder
        .arm(Fault::write(0, Action::Short { bytes: 1 }))
        .unwrap();
    assert_eq!(s.step("pwrite a 9 XYZ"), "ok 1");
    assert_eq!(s.step("read a"), "\"heabcghijX\" ok 10");
}

#[test]
fn an_interrupted_write_returns_eintr_and_writes_nothing() {
    let mut s = Served::start();
    s.step("open a wc");
    s.recorder
        .arm(Fault::fail(CallKind::Write, 0, Errno::EINTR))
        .unwrap();
    assert_eq!(s.step("write a hello"), "err 4");
    assert_eq!(s.step("read a"), "\"\" ok 0");
}

#[test]
fn faults_count_matching_calls_by_kind_and_file() {
    let mut s = Served::start();
    s.step("open a wc");
    s.step("open b wc");
    let b = s.path("b");
    let id = s
        .recorder
        .arm(Fault::fail(CallKind::Write, 1, Errno::EIO).on(&b))
        .unwrap();
    assert_eq!(s.step("write a 1"), "ok 1", "another file");
    assert_eq!(s.step("fsync b"), "ok 0", "another kind");
    assert_eq!(
        s.step("write b 1"),
        "ok 1",
        "the first matching call is let through"
    );
    assert_eq!(s.step("write b 2"), "err 5");
    assert_eq!(s.step("write b 3"), "ok 1", "once");
    let (events, _) = s.recorder.drain();
    let failed: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.what {
            What::Call(c) if c.fault.is_some() => Some((
                c.fault.as_ref().map(|f| f.id),
                c.op.path().map(|p| p.to_path_buf()),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(failed, [(Some(id), Some(b))]);
}

#[test]
fn a_sticky_fault_keeps_failing() {
    let mut s = Served::start();
    s.step("open a wc");
    let mut fault = Fault::fail(CallKind::Write, 0, Errno::ENOSPC);
    fault.sticky = true;
    s.recorder.arm(fault).unwrap();
    for _ in 0..3 {
        assert_eq!(s.step("write a x"), "err 28");
    }
    s.recorder.disarm_all();
    assert_eq!(s.step("write a x"), "ok 1");
}

#[test]
fn opens_renames_and_other_calls_fail_without_effect() {
    let mut s = Served::start();
    s.recorder
        .arm(Fault::fail(CallKind::Open, 0, Errno(libc::EACCES)))
        .unwrap();
    assert_eq!(s.step("open a wc"), "err 13");
    assert_eq!(s.step("read a"), "err 2", "not created");
    assert_eq!(s.step("open a wc"), "ok 0");
    s.recorder
        .arm(Fault::fail(CallKind::Rename, 0, Errno::EIO))
        .unwrap();
    assert_eq!(s.step("rename a b"), "err 5");
    assert_eq!(s.step("read a"), "\"\" ok 0", "not renamed");
    for (kind, step) in [
        (CallKind::Truncate, "ftruncate a 5"),
        (CallKind::Fallocate, "fallocate a 0 5"),
        (CallKind::Mkdir, "mkdir d"),
        (CallKind::Unlink, "unlink a"),
    ] {
        s.recorder.arm(Fault::fail(kind, 0, Errno::EIO)).unwrap();
        assert_eq!(s.step(step), "err 5", "{step}");
    }
    assert_eq!(s.step("read a"), "\"\" ok 0", "neither grown nor removed");
}

#[test]
fn write_only_actions_refuse_other_kinds() {
    let s = Served::start();
    let fault = Fault {
        matching: Match {
            kind: CallKind::Sync,
            path: None,
        },
        after: 0,
        action: Action::Short { bytes: 1 },
        sticky: false,
    };
    assert!(matches!(
        s.recorder.arm(fault),
        Err(FaultError::NotAWrite { .. })
    ));
}

#[test]
fn a_failed_fsync_is_recorded_as_the_program_saw_it() {
    let mut s = Served::start();
    s.step("open a wc");
    s.step("write a x");
    s.recorder.drain();
    s.recorder
        .arm(Fault::fail(CallKind::Sync, 0, Errno::EIO))
        .unwrap();
    s.step("fsync a");
    let (events, _) = s.recorder.drain();
    let call = events.iter().find_map(|e| match &e.what {
        What::Call(c) => Some(c.clone()),
        _ => None,
    });
    let call = call.expect("the fsync");
    assert!(matches!(
        call.op,
        Op::Sync {
            dir: false,
            data_only: false,
            ..
        }
    ));
    assert_eq!(call.result, Err(Errno::EIO));
}

#[test]
fn a_disk_with_little_room_fills_up_in_the_middle_of_a_write() {
    let mut s = Served::start();
    s.step("open a wc");
    let full = Fault::write(
        0,
        Action::FullAfter {
            bytes: 7,
            errno: Errno::ENOSPC,
        },
    );
    let id = s.recorder.arm(full).unwrap();
    assert_eq!(s.step("write a hello"), "ok 5", "fits");
    assert_eq!(s.step("write a world"), "err 28", "crosses the limit");
    assert_eq!(s.step("read a"), "\"hellowo\" ok 7", "what fitted landed");
    assert_eq!(s.step("write a again"), "ok 5", "once: the room is freed");
    let fired = fired(&s);
    assert_eq!(fired.iter().map(|f| f.0).collect::<Vec<_>>(), [id]);
}

#[test]
fn a_sticky_full_disk_stays_full() {
    let mut s = Served::start();
    s.step("open a wc");
    let mut full = Fault::write(
        0,
        Action::FullAfter {
            bytes: 2,
            errno: Errno::ENOSPC,
        },
    );
    full.sticky = true;
    s.recorder.arm(full).unwrap();
    assert_eq!(s.step("write a abc"), "err 28");
    assert_eq!(s.step("write a d"), "err 28");
    assert_eq!(s.step("read a"), "\"ab\" ok 2");
}
