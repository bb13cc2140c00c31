//! The simulation's own properties: what survives a crash, what faults do.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use eaof::storage::{Storage, StorageFile};
use proptest::prelude::*;

use super::*;

const HARSH: CrashMode = CrashMode::Harsh { seed: 7 };

fn p(s: &str) -> PathBuf {
    PathBuf::from(s)
}

/// The contents of `path` in every crash state (`None`: the file is gone).
fn outcomes(disk: &SimDisk, path: &str, mode: CrashMode) -> Vec<Option<Vec<u8>>> {
    disk.crash_states(mode)
        .iter()
        .map(|s| s.disk.contents(path))
        .collect()
}

fn set(v: &[Option<&[u8]>]) -> BTreeSet<Option<Vec<u8>>> {
    v.iter().map(|o| o.map(<[u8]>::to_vec)).collect()
}

fn fault(r: io::Result<impl fmt::Debug>) -> SimFault {
    match r {
        Ok(v) => panic!("expected a fault, got Ok({v:?})"),
        Err(e) => SimFault::of(&e).expect("a simulated fault"),
    }
}

/// A disk with `d/f` durable (entry and bytes) holding `durable`, and an open handle.
fn durable_file(durable: &[u8]) -> (SimDisk, SimFile) {
    let disk = SimDisk::new();
    let mut f = disk.open(Path::new("d/f")).unwrap();
    f.append(durable).unwrap();
    f.sync().unwrap();
    disk.sync_dir(Path::new("d")).unwrap();
    (disk, f)
}

#[test]
fn unsynced_appends_survive_as_any_prefix_and_nothing_else() {
    let (disk, mut f) = durable_file(b"head");
    f.append(b"ab").unwrap();
    f.append(b"cde").unwrap();
    let got: BTreeSet<_> = outcomes(&disk, "d/f", CrashMode::Prefixes)
        .into_iter()
        .collect();
    let want: BTreeSet<_> = (4..=9).map(|n| Some(b"headabcde"[..n].to_vec())).collect();
    assert_eq!(got, want);
    // Each distinct state once, the durable crash first.
    let states = disk.crash_states(CrashMode::Prefixes);
    assert_eq!(states.len(), 6);
    assert_eq!(states[0].disk.contents("d/f").unwrap(), b"head");
    assert_eq!(states[0].choice, CrashChoice::default());
}

#[test]
fn harsh_crashes_damage_only_unsynced_bytes_and_only_at_the_end() {
    let (disk, mut f) = durable_file(b"head");
    f.append(b"abc").unwrap();
    let live = disk.contents("d/f").unwrap();
    let states = outcomes(&disk, "d/f", HARSH);
    // 4 prefixes (0..=3 bytes), and for the size at the append's end, data landed up to
    // each of the 3 appended bytes, the rest zeros or garbage: 3 + 3.
    assert_eq!(states.len(), 4 + 3 + 3);
    let mut zero_endings = 0;
    for state in states {
        let state = state.expect("the file's entry is durable");
        assert!(
            state.starts_with(b"head"),
            "durable bytes damaged: {state:?}"
        );
        assert!(state.len() <= live.len());
        let same = state.iter().zip(&live).take_while(|(a, b)| a == b).count();
        if same < state.len() {
            assert_eq!(state.len(), live.len(), "a damaged file has its grown size");
            if state[same..].iter().all(|&b| b == 0) {
                zero_endings += 1;
            }
        }
    }
    assert_eq!(zero_endings, 3);
}

#[test]
fn an_unsynced_cut_may_be_undone_by_a_crash() {
    let (disk, mut f) = durable_file(b"abcdef");
    f.set_len(3).unwrap();
    assert_eq!(disk.contents("d/f").unwrap(), b"abc");
    assert_eq!(
        outcomes(&disk, "d/f", CrashMode::Prefixes)
            .into_iter()
            .collect::<BTreeSet<_>>(),
        set(&[Some(b"abcdef"), Some(b"abc")])
    );
    f.append(b"XY").unwrap();
    assert_eq!(
        outcomes(&disk, "d/f", HARSH)
            .into_iter()
            .collect::<BTreeSet<_>>(),
        {
            let mut want = set(&[Some(b"abcdef"), Some(b"abc"), Some(b"abcX"), Some(b"abcXY")]);
            want.extend(set(&[Some(b"abc\0\0"), Some(b"abcX\0")]));
            want.extend(
                disk.crash_states(HARSH)
                    .iter()
                    .filter(|s| {
                        matches!(
                            s.choice.files.values().next(),
                            Some(FileCrash::Grown {
                                fill: Fill::Garbage { .. },
                                ..
                            })
                        )
                    })
                    .map(|s| s.disk.contents("d/f")),
            );
            want
        }
    );
    f.sync().unwrap();
    assert_eq!(outcomes(&disk, "d/f", HARSH), vec![Some(b"abcXY".to_vec())]);
}

#[test]
fn a_new_file_may_vanish_until_its_directory_is_synced() {
    let disk = SimDisk::new();
    let mut f = disk.create(Path::new("d/new")).unwrap();
    f.append(b"data").unwrap();
    f.sync().unwrap();
    assert_eq!(
        outcomes(&disk, "d/new", CrashMode::Prefixes)
            .into_iter()
            .collect::<BTreeSet<_>>(),
        set(&[None, Some(b"data")])
    );
    disk.sync_dir(Path::new("d")).unwrap();
    assert_eq!(
        outcomes(&disk, "d/new", CrashMode::Prefixes),
        vec![Some(b"data".to_vec())]
    );
}

#[test]
fn a_rename_may_be_lost_until_the_directory_is_synced_but_is_never_half_done() {
    let disk = SimDisk::new();
    disk.put_durable("d/a", b"old").unwrap();
    let mut tmp = disk.create(Path::new("d/tmp")).unwrap();
    tmp.append(b"new").unwrap();
    tmp.sync().unwrap();
    disk.rename(Path::new("d/tmp"), Path::new("d/a")).unwrap();
    assert_eq!(disk.contents("d/a").unwrap(), b"new");
    assert_eq!(disk.contents("d/tmp"), None);
    let images: BTreeSet<_> = disk
        .crash_states(HARSH)
        .iter()
        .map(|s| s.disk.image())
        .collect();
    let image = |v: &[(&str, &[u8])]| -> BTreeMap<PathBuf, Vec<u8>> {
        v.iter().map(|(k, c)| (p(k), c.to_vec())).collect()
    };
    let want: BTreeSet<_> = [
        image(&[("d/a", b"old")]),
        image(&[("d/a", b"old"), ("d/tmp", b"new")]),
        image(&[("d/a", b"new")]),
    ]
    .into_iter()
    .collect();
    assert_eq!(images, want);
    disk.sync_dir(Path::new("d")).unwrap();
    assert_eq!(outcomes(&disk, "d/a", HARSH), vec![Some(b"new".to_vec())]);
}

#[test]
fn a_renamed_file_keeps_only_its_synced_bytes() {
    // Renaming before syncing the data is the classic bug: the rename may land first.
    let disk = SimDisk::new();
    disk.put_durable("a", b"old").unwrap();
    let mut tmp = disk.create(Path::new("tmp")).unwrap();
    tmp.append(b"new").unwrap();
    disk.rename(Path::new("tmp"), Path::new("a")).unwrap();
    disk.sync_dir(Path::new(".")).unwrap();
    let got: BTreeSet<_> = outcomes(&disk, "a", CrashMode::Prefixes)
        .into_iter()
        .collect();
    assert!(got.contains(&Some(Vec::new())), "{got:?}");
    assert!(got.contains(&Some(b"new".to_vec())));
}

#[test]
fn create_over_an_existing_file_cuts_it_only_volatilely() {
    let (disk, _f) = durable_file(b"stale");
    let mut g = disk.create(Path::new("d/f")).unwrap();
    assert_eq!(disk.contents("d/f").unwrap(), b"");
    g.append(b"H").unwrap();
    assert_eq!(
        outcomes(&disk, "d/f", CrashMode::Prefixes)
            .into_iter()
            .collect::<BTreeSet<_>>(),
        set(&[Some(b"stale"), Some(b""), Some(b"H")])
    );
}

#[test]
fn open_handles_keep_their_inode_after_it_is_renamed_over() {
    let disk = SimDisk::new();
    disk.put_durable("a", b"old").unwrap();
    let mut old = disk.open(Path::new("a")).unwrap();
    disk.put_durable("b", b"new").unwrap();
    disk.rename(Path::new("b"), Path::new("a")).unwrap();
    old.append(b"+").unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(old.read_at(0, &mut buf).unwrap(), 4);
    assert_eq!(&buf[..4], b"old+");
    assert_eq!(disk.contents("a").unwrap(), b"new");
}

#[test]
fn a_failed_sync_drops_unsynced_bytes_and_a_later_sync_succeeds() {
    let (disk, mut f) = durable_file(b"head");
    let n = disk.sync_count();
    disk.fail_sync_at(n, Persistence::Once);
    f.append(b"lost").unwrap();
    assert_eq!(fault(f.sync()), SimFault::SyncFailed);
    assert_eq!(disk.contents("d/f").unwrap(), b"head");
    assert_eq!(f.len().unwrap(), 4);
    assert_eq!(outcomes(&disk, "d/f", HARSH), vec![Some(b"head".to_vec())]);
    f.sync().unwrap();
    f.append(b"more").unwrap();
    f.sync().unwrap();
    assert_eq!(
        outcomes(&disk, "d/f", HARSH),
        vec![Some(b"headmore".to_vec())]
    );
}

#[test]
fn a_sticky_sync_failure_keeps_failing() {
    let (disk, mut f) = durable_file(b"head");
    disk.fail_sync_at(disk.sync_count(), Persistence::Sticky);
    for _ in 0..3 {
        f.append(b"x").unwrap();
        assert_eq!(fault(f.sync()), SimFault::SyncFailed);
    }
    assert_eq!(disk.durable_contents("d/f").unwrap(), b"head");
}

#[test]
fn a_full_disk_writes_what_fits_then_fails_with_enospc() {
    let (disk, mut f) = durable_file(b"");
    disk.fail_write_after(5, Persistence::Once);
    f.append(b"abc").unwrap();
    let err = f.append(b"defg").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::StorageFull);
    assert_eq!(SimFault::of(&err), Some(SimFault::NoSpace));
    assert_eq!(disk.contents("d/f").unwrap(), b"abcde");
    f.append(b"!").unwrap();
    assert_eq!(disk.contents("d/f").unwrap(), b"abcde!");

    let (disk, mut f) = durable_file(b"");
    disk.fail_write_after(2, Persistence::Sticky);
    assert_eq!(fault(f.append(b"abc")), SimFault::NoSpace);
    assert_eq!(fault(f.append(b"d")), SimFault::NoSpace);
    f.append(b"").unwrap();
    assert_eq!(disk.contents("d/f").unwrap(), b"ab");
}

#[test]
fn an_injected_failure_has_no_effect_and_is_logged() {
    let disk = SimDisk::new();
    disk.put_durable("a", b"x").unwrap();
    // Ops: 0 open, 1 append, 2 create, 3 rename, 4 sync_dir.
    for failing in 0..5u64 {
        let d = disk.fork();
        d.fail_op_at(failing, Persistence::Once);
        let before = d.image();
        let r0 = d.open(Path::new("a"));
        if failing == 0 {
            assert_eq!(fault(r0), SimFault::Injected);
            assert_eq!(d.image(), before);
            continue;
        }
        let mut f = r0.unwrap();
        let r1 = f.append(b"y");
        let r2 = d.create(Path::new("b"));
        let r3 = d.rename(Path::new("b"), Path::new("c"));
        let r4 = d.sync_dir(Path::new("."));
        let outcomes = [
            r1.map_err(|e| SimFault::of(&e)),
            r2.map(|_| ()).map_err(|e| SimFault::of(&e)),
            r3.map_err(|e| SimFault::of(&e)),
            r4.map_err(|e| SimFault::of(&e)),
        ];
        for (i, outcome) in outcomes.iter().enumerate() {
            let index = i as u64 + 1;
            if index < failing {
                assert_eq!(*outcome, Ok(()), "op {index}");
            } else if index == failing {
                assert_eq!(*outcome, Err(Some(SimFault::Injected)), "op {index}");
            }
        }
        let log = d.ops();
        assert_eq!(log.len(), 5);
        assert_eq!(log[failing as usize].outcome, Err(SimFault::Injected));
        match failing {
            1 => assert_eq!(d.contents("a").unwrap(), b"x"),
            // Three directory states (nothing, b created, b renamed to c) times four of a
            // (x, xy, x then a zero, x then garbage).
            4 => assert_eq!(d.crash_states(HARSH).len(), 3 * 4),
            _ => {}
        }
    }
}

#[test]
fn a_power_cut_freezes_the_disk_as_the_first_operations_left_it() {
    let run = |disk: &SimDisk| {
        let mut f = disk.open(Path::new("f")).ok();
        for chunk in [&b"ab"[..], b"cd", b"ef"] {
            if let Some(f) = f.as_mut() {
                let _ = f.append(chunk);
                let _ = f.sync();
            }
        }
        let _ = disk.sync_dir(Path::new("."));
    };
    let full = SimDisk::new();
    run(&full);
    let total = full.op_count();
    assert_eq!(total, 8);
    for cut in 0..=total {
        let disk = SimDisk::new();
        disk.power_cut_at(cut);
        run(&disk);
        if cut > 0 {
            assert_eq!(disk.op_count(), total, "every call is logged");
        }
        let log = disk.ops();
        assert!(log[..cut as usize].iter().all(|op| op.outcome.is_ok()));
        assert!(log[cut as usize..]
            .iter()
            .all(|op| op.outcome == Err(SimFault::PowerCut)));
        let appends_done = log[..cut as usize]
            .iter()
            .filter(|op| matches!(op.kind, OpKind::Append { .. }))
            .count();
        assert_eq!(
            disk.contents("f").map(|c| c.len()),
            (cut > 0).then_some(2 * appends_done)
        );
    }
}

#[test]
fn crash_with_rebuilds_every_enumerated_state() {
    let disk = SimDisk::new();
    disk.put_durable("d/a", b"A0").unwrap();
    let mut a = disk.open(Path::new("d/a")).unwrap();
    a.append(b"A12").unwrap();
    a.set_len(3).unwrap();
    a.append(b"zz").unwrap();
    let mut t = disk.create(Path::new("d/t")).unwrap();
    t.append(b"T").unwrap();
    t.sync().unwrap();
    t.append(b"UV").unwrap();
    disk.rename(Path::new("d/t"), Path::new("d/b")).unwrap();
    let states = disk.crash_states(HARSH);
    let images: Vec<_> = states.iter().map(|s| s.disk.image()).collect();
    let distinct: BTreeSet<_> = images.iter().collect();
    assert_eq!(distinct.len(), images.len(), "states are distinct");
    for (state, image) in states.iter().zip(&images) {
        let again = disk.crash_with(&state.choice).unwrap();
        assert_eq!(&again.image(), image, "{:?}", state.choice);
    }
    assert_eq!(
        disk.crash_with(&CrashChoice::default()).unwrap().image(),
        images[0]
    );
}

#[test]
fn a_crashed_disk_is_a_quiet_machine_after_a_reboot() {
    let (disk, mut f) = durable_file(b"a");
    f.append(b"b").unwrap();
    disk.fail_write_after(0, Persistence::Sticky);
    let after = disk.crash(CrashMode::Prefixes, 1);
    assert_eq!(after.op_count(), 0);
    assert_eq!(after.pending_changes(), 0);
    assert_eq!(after.crash_states(HARSH).len(), 1);
    let mut g = after.open(Path::new("d/f")).unwrap();
    g.append(b"c").unwrap();
    assert_eq!(after.contents("d/f").unwrap(), b"abc");
    assert_eq!(
        disk.contents("d/f").unwrap(),
        b"ab",
        "the old disk is untouched"
    );
}

#[test]
fn read_only_handles_and_missing_files_are_refused() {
    let disk = SimDisk::new();
    assert_eq!(
        disk.open_read(Path::new("nope")).unwrap_err().kind(),
        io::ErrorKind::NotFound
    );
    disk.put_durable("f", b"x").unwrap();
    let mut r = disk.open_read(Path::new("f")).unwrap();
    assert_eq!(fault(r.append(b"y")), SimFault::ReadOnly);
    assert_eq!(fault(r.set_len(0)), SimFault::ReadOnly);
    assert_eq!(
        fault(disk.rename(Path::new("f"), Path::new("e/f"))),
        SimFault::CrossDirectoryRename
    );
    assert_eq!(
        fault(disk.rename(Path::new("g"), Path::new("f"))),
        SimFault::NotFound
    );
}

#[test]
fn invalid_crash_choices_are_refused() {
    let (disk, mut f) = durable_file(b"a");
    f.append(b"bc").unwrap();
    let inode = f.inode();
    let bad = |files: FileCrash| CrashChoice {
        dirs: BTreeMap::new(),
        files: [(inode, files)].into_iter().collect(),
    };
    for choice in [
        bad(FileCrash::Prefix {
            changes: 2,
            bytes: 0,
        }),
        bad(FileCrash::Prefix {
            changes: 0,
            bytes: 3,
        }),
        bad(FileCrash::Grown {
            changes: 0,
            landed: 1,
            fill: Fill::Zeros,
        }),
        bad(FileCrash::Grown {
            changes: 1,
            landed: 0,
            fill: Fill::Zeros,
        }),
        bad(FileCrash::Grown {
            changes: 1,
            landed: 3,
            fill: Fill::Zeros,
        }),
    ] {
        assert!(matches!(
            disk.crash_with(&choice),
            Err(InvalidCrashChoice::File { .. })
        ));
    }
    let dirs = CrashChoice {
        dirs: [(p("d"), 1)].into_iter().collect(),
        files: BTreeMap::new(),
    };
    assert!(matches!(
        disk.crash_with(&dirs),
        Err(InvalidCrashChoice::Dir { .. })
    ));
}

#[derive(Debug, Clone)]
enum Step {
    Append(Vec<u8>),
    Cut(u64),
    Sync,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => prop::collection::vec(1u8..=255, 0..6).prop_map(Step::Append),
        1 => (0u64..12).prop_map(Step::Cut),
        2 => Just(Step::Sync),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Against a reference written the obvious way: the states a crash can leave are the
    /// durable bytes with every prefix of the pending changes, the last append torn anywhere;
    /// harsh crashes only add states that keep the durable bytes and end in damage after
    /// them, at the size of a pending append.
    #[test]
    fn crash_states_are_exactly_the_durable_bytes_with_a_prefix_of_the_changes(
        steps in prop::collection::vec(step(), 0..10)
    ) {
        let (disk, mut f) = durable_file(b"H");
        let mut durable = b"H".to_vec();
        let mut live = durable.clone();
        let mut pending: Vec<Step> = Vec::new();
        for s in &steps {
            match s {
                Step::Append(data) => {
                    f.append(data).unwrap();
                    live.extend_from_slice(data);
                    pending.push(s.clone());
                }
                Step::Cut(len) => {
                    f.set_len(*len).unwrap();
                    live.resize(*len as usize, 0);
                    pending.push(s.clone());
                }
                Step::Sync => {
                    f.sync().unwrap();
                    durable.clone_from(&live);
                    pending.clear();
                }
            }
            prop_assert_eq!(disk.contents("d/f").unwrap(), live.clone());
        }
        let mut want = BTreeSet::new();
        let mut sizes = BTreeSet::new();
        let mut state = durable.clone();
        want.insert(state.clone());
        for s in &pending {
            match s {
                Step::Append(data) => {
                    for n in 1..=data.len() {
                        let mut torn = state.clone();
                        torn.extend_from_slice(&data[..n]);
                        want.insert(torn);
                    }
                    state.extend_from_slice(data);
                    sizes.insert(state.len());
                }
                Step::Cut(len) => state.resize(*len as usize, 0),
                Step::Sync => {}
            }
            want.insert(state.clone());
        }
        let got: BTreeSet<Vec<u8>> = outcomes(&disk, "d/f", CrashMode::Prefixes)
            .into_iter()
            .map(|c| c.unwrap())
            .collect();
        prop_assert_eq!(&got, &want);
        let harsh: Vec<Vec<u8>> = outcomes(&disk, "d/f", HARSH)
            .into_iter()
            .map(|c| c.unwrap())
            .collect();
        let distinct: BTreeSet<_> = harsh.iter().cloned().collect();
        prop_assert_eq!(distinct.len(), harsh.len());
        prop_assert!(got.is_subset(&distinct));
        let no_cut = pending.iter().all(|s| !matches!(s, Step::Cut(_)));
        for extra in distinct.difference(&got) {
            prop_assert!(sizes.contains(&extra.len()), "size {} is no append's end", extra.len());
            if no_cut {
                prop_assert!(extra.starts_with(&durable));
            }
        }
    }
}
