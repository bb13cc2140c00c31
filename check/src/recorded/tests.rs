//! The recorder's persistence model agrees with the simulated disk: random sequences of
//! creations, appends, cuts, syncs (some failing), renames and directory syncs, played on a
//! [`SimDisk`] and, as the trace a recorder would have made of them, through the model, give
//! the same crash images at every path. And hand-computed crash states of small traces.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use eaof::storage::{Storage, StorageFile};
use eaof_trace::{Call, Errno, Event, FileId, Op, Syscall, What};
use proptest::prelude::*;

use super::{crash_states, images, Alternative, Persistence};
use crate::crash::CrashMode;
use crate::sim::{CrashChoice, FileCrash, Fill, Persistence as Once, SimDisk, SimFile};
use crate::target::FileState;

const ROOT: &str = "/d";
// Two names: renames meet, and a sequence of a dozen steps often works on one file.
const NAMES: [&str; 2] = ["log", "tmp"];

fn path(name: &str) -> PathBuf {
    Path::new(ROOT).join(name)
}

/// One operation of a random sequence.
#[derive(Debug, Clone)]
enum Step {
    /// `open(O_WRONLY|O_CREAT|O_TRUNC)`.
    Create(usize),
    Append(usize, Vec<u8>),
    SetLen(usize, u64),
    Sync(usize),
    /// A sync that fails with EIO (and drops the file's unsynced changes).
    FailedSync(usize),
    Rename(usize, usize),
    SyncDir,
}

fn step() -> impl Strategy<Value = Step> {
    let name = 0..NAMES.len();
    prop_oneof![
        2 => name.clone().prop_map(Step::Create),
        5 => (name.clone(), prop::collection::vec(prop_oneof![Just(0u8), 1u8..4], 1..4))
            .prop_map(|(n, b)| Step::Append(n, b)),
        2 => (name.clone(), 0u64..5).prop_map(|(n, l)| Step::SetLen(n, l)),
        3 => name.clone().prop_map(Step::Sync),
        2 => name.clone().prop_map(Step::FailedSync),
        2 => (name.clone(), name).prop_map(|(a, b)| Step::Rename(a, b)),
        2 => Just(Step::SyncDir),
    ]
}

/// The same operations on a simulated disk and as a trace.
struct Both {
    disk: SimDisk,
    /// Open handles by inode, and the live name of each.
    handles: BTreeMap<u64, SimFile>,
    names: BTreeMap<usize, u64>,
    trace: Vec<Event>,
}

fn file_id(inode: u64) -> FileId {
    FileId { dev: 1, ino: inode }
}

impl Both {
    fn new() -> Self {
        Both {
            disk: SimDisk::new(),
            handles: BTreeMap::new(),
            names: BTreeMap::new(),
            trace: Vec::new(),
        }
    }

    fn record(&mut self, syscall: Syscall, op: Op, result: Result<u64, Errno>) {
        let event = Event {
            seq: self.trace.len() as u64,
            pid: 1,
            tid: 1,
            what: What::Call(Call {
                syscall,
                op,
                result,
                fault: None,
            }),
        };
        self.trace.push(event);
    }

    fn play(&mut self, step: &Step) {
        match *step {
            Step::Create(n) => {
                let existed = self.names.contains_key(&n);
                let file = self.disk.create(&path(NAMES[n])).expect("create");
                let inode = file.inode().0;
                // O_WRONLY | O_CREAT | O_TRUNC (Linux).
                let flags = 0o1 | 0o100 | 0o1000;
                let op = Op::Open {
                    path: path(NAMES[n]),
                    flags,
                    mode: 0o644,
                    file: Some(file_id(inode)),
                    created: !existed,
                    dir: false,
                };
                self.record(Syscall::Openat, op, Ok(3));
                self.handles.insert(inode, file);
                self.names.insert(n, inode);
            }
            Step::Append(n, ref data) => {
                let Some(&inode) = self.names.get(&n) else {
                    return;
                };
                let file = self.handles.get_mut(&inode).expect("open");
                let offset = file.len().expect("len");
                file.append(data).expect("append");
                let op = Op::Write {
                    fd: 3,
                    path: path(NAMES[n]),
                    file: file_id(inode),
                    offset,
                    requested: data.len() as u64,
                    data: data.clone(),
                    complete: true,
                    synchronous: false,
                };
                self.record(Syscall::Write, op, Ok(data.len() as u64));
            }
            Step::SetLen(n, len) => {
                let Some(&inode) = self.names.get(&n) else {
                    return;
                };
                self.handles
                    .get_mut(&inode)
                    .expect("open")
                    .set_len(len)
                    .expect("set_len");
                let op = Op::Truncate {
                    fd: Some(3),
                    path: path(NAMES[n]),
                    file: file_id(inode),
                    len,
                };
                self.record(Syscall::Ftruncate, op, Ok(0));
            }
            Step::Sync(n) | Step::FailedSync(n) => {
                let Some(&inode) = self.names.get(&n) else {
                    return;
                };
                let fail = matches!(step, Step::FailedSync(_));
                if fail {
                    self.disk.fail_sync_at(self.disk.sync_count(), Once::Once);
                }
                let result = self.handles.get_mut(&inode).expect("open").sync();
                assert_eq!(result.is_err(), fail);
                let op = Op::Sync {
                    fd: 3,
                    path: path(NAMES[n]),
                    file: file_id(inode),
                    dir: false,
                    data_only: false,
                };
                self.record(
                    Syscall::Fsync,
                    op,
                    if fail { Err(Errno::EIO) } else { Ok(0) },
                );
            }
            Step::Rename(a, b) => {
                let Some(&inode) = self.names.get(&a) else {
                    return;
                };
                self.disk
                    .rename(&path(NAMES[a]), &path(NAMES[b]))
                    .expect("rename");
                if a != b {
                    self.names.remove(&a);
                    self.names.insert(b, inode);
                }
                let op = Op::Rename {
                    from: path(NAMES[a]),
                    to: path(NAMES[b]),
                    flags: 0,
                };
                self.record(Syscall::Rename, op, Ok(0));
            }
            Step::SyncDir => {
                self.disk.sync_dir(Path::new(ROOT)).expect("sync_dir");
                let op = Op::Sync {
                    fd: 4,
                    path: PathBuf::from(ROOT),
                    file: file_id(u64::MAX),
                    dir: true,
                    data_only: false,
                };
                self.record(Syscall::Fsync, op, Ok(0));
            }
        }
    }
}

fn uses_garbage(choice: &CrashChoice) -> bool {
    choice.files.values().any(|c| {
        matches!(
            c,
            FileCrash::Grown {
                fill: Fill::Garbage { .. },
                ..
            }
        )
    })
}

/// What the simulated disk's crash states leave at `at` (garbage fills left out: the two
/// models draw garbage from different functions).
fn sim_images(disk: &SimDisk, at: &Path, mode: CrashMode) -> BTreeSet<Option<Vec<u8>>> {
    disk.crash_states(mode)
        .into_iter()
        .filter(|s| !uses_garbage(&s.choice))
        .map(|s| s.disk.contents(at))
        .collect()
}

fn model_images(
    model: &Persistence,
    at: &Path,
    mode: CrashMode,
) -> Option<BTreeSet<Option<Vec<u8>>>> {
    let alternatives = crash_states(model, at).ok()?;
    let mut out = BTreeSet::new();
    for alternative in &alternatives {
        let one = std::slice::from_ref(alternative);
        for image in images(one, mode) {
            let garbage = match (alternative, &image) {
                (Alternative::File(state), Some(bytes)) => {
                    crate::crash::images(state, mode).iter().any(|i| {
                        matches!(i.fill, Some(Fill::Garbage { .. }))
                            && &i.build(&state.bytes) == bytes
                    }) && !crate::crash::images(state, mode).iter().any(|i| {
                        !matches!(i.fill, Some(Fill::Garbage { .. }))
                            && &i.build(&state.bytes) == bytes
                    })
                }
                _ => false,
            };
            if !garbage {
                out.insert(image);
            }
        }
    }
    Some(out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_model_and_the_simulated_disk_leave_the_same_crash_images(
        steps in prop::collection::vec(step(), 2..12),
    ) {
        let mut both = Both::new();
        for step in &steps {
            both.play(step);
        }
        let model = Persistence::from_events(ROOT, &both.trace);
        for name in NAMES {
            let at = path(name);
            for mode in [CrashMode::Prefixes, CrashMode::Harsh { seed: 7 }] {
                let sim = sim_images(&both.disk, &at, mode);
                match model_images(&model, &at, mode) {
                    Some(model) => prop_assert_eq!(&model, &sim, "{} in {:?}", name, mode),
                    // A path the trace never touched: no file in any crash state.
                    None => prop_assert_eq!(sim, BTreeSet::from([None]), "{}", name),
                }
            }
        }
    }
}

fn file(bytes: &[u8], durable_len: usize, ends: &[usize]) -> Alternative {
    Alternative::File(FileState::new(bytes.to_vec(), durable_len, ends))
}

fn played(steps: &[Step]) -> Persistence {
    let mut both = Both::new();
    for step in steps {
        both.play(step);
    }
    Persistence::from_events(ROOT, &both.trace)
}

#[test]
fn a_new_file_is_absent_until_its_directory_is_synced() {
    use Step::*;
    let log = path("log");
    let steps = [Create(0), Append(0, b"abc".to_vec())];
    let states = crash_states(&played(&steps), &log).unwrap();
    assert_eq!(states, [Alternative::Absent, file(b"abc", 0, &[3])]);
    let states = crash_states(
        &played(&[Create(0), Append(0, b"abc".to_vec()), Sync(0)]),
        &log,
    );
    assert_eq!(states.unwrap(), [Alternative::Absent, file(b"abc", 3, &[])]);
    let synced = [Create(0), Append(0, b"abc".to_vec()), Sync(0), SyncDir];
    assert_eq!(
        crash_states(&played(&synced), &log).unwrap(),
        [file(b"abc", 3, &[])]
    );
}

#[test]
fn a_rename_not_yet_durable_leaves_the_old_file_or_the_new() {
    use Step::*;
    let log = path("log");
    let steps = [
        Create(0),
        Append(0, b"OLD".to_vec()),
        Sync(0),
        Create(1),
        Append(1, b"NEW!".to_vec()),
        Sync(1),
        SyncDir,
        Rename(1, 0),
    ];
    let states = crash_states(&played(&steps), &log).unwrap();
    assert_eq!(states, [file(b"OLD", 3, &[]), file(b"NEW!", 4, &[])]);
    let mut durable = steps.to_vec();
    durable.push(SyncDir);
    assert_eq!(
        crash_states(&played(&durable), &log).unwrap(),
        [file(b"NEW!", 4, &[])]
    );
}

#[test]
fn an_unsynced_cut_may_be_undone() {
    use Step::*;
    let steps = [
        Create(0),
        Append(0, b"ABCD".to_vec()),
        Sync(0),
        SyncDir,
        SetLen(0, 0),
        Append(0, b"xy".to_vec()),
    ];
    let states = crash_states(&played(&steps), &path("log")).unwrap();
    assert_eq!(states, [file(b"ABCD", 4, &[]), file(b"xy", 0, &[2])]);
}

#[test]
fn a_failed_sync_leaves_only_what_was_synced() {
    use Step::*;
    let steps = [
        Create(0),
        Append(0, b"ab".to_vec()),
        Sync(0),
        SyncDir,
        Append(0, b"cd".to_vec()),
        FailedSync(0),
    ];
    let states = crash_states(&played(&steps), &path("log")).unwrap();
    assert_eq!(states, [file(b"ab", 2, &[])]);
}

#[test]
fn images_list_no_file_and_every_cut() {
    use Step::*;
    let states = crash_states(
        &played(&[Create(0), Append(0, b"ab".to_vec())]),
        &path("log"),
    )
    .unwrap();
    let all = images(&states, CrashMode::Prefixes);
    assert_eq!(
        all,
        [
            None,
            Some(vec![]),
            Some(b"a".to_vec()),
            Some(b"ab".to_vec())
        ]
    );
}

#[test]
fn an_overwrite_of_unsynced_bytes_is_unmodellable_until_synced() {
    let mut both = Both::new();
    both.play(&Step::Create(0));
    both.play(&Step::Append(0, b"abcd".to_vec()));
    let inode = both.names[&0];
    let overwrite = Op::Write {
        fd: 3,
        path: path("log"),
        file: file_id(inode),
        offset: 1,
        requested: 2,
        data: b"XY".to_vec(),
        complete: true,
        synchronous: false,
    };
    both.record(Syscall::Pwrite64, overwrite, Ok(2));
    let model = Persistence::from_events(ROOT, &both.trace);
    let states = crash_states(&model, &path("log"));
    assert!(
        matches!(
            states,
            Err(super::Unmodellable::Overwrite {
                offset: 1,
                len: 2,
                ..
            })
        ),
        "{states:?}"
    );
    // Rewriting the same bytes is no overwrite.
    let same = Op::Write {
        fd: 3,
        path: path("log"),
        file: file_id(inode),
        offset: 0,
        requested: 1,
        data: b"a".to_vec(),
        complete: true,
        synchronous: false,
    };
    let mut clean = Both::new();
    clean.play(&Step::Create(0));
    clean.play(&Step::Append(0, b"abcd".to_vec()));
    clean.record(Syscall::Pwrite64, same, Ok(1));
    let model = Persistence::from_events(ROOT, &clean.trace);
    assert!(crash_states(&model, &path("log")).is_ok());
    both.play(&Step::Sync(0));
    let model = Persistence::from_events(ROOT, &both.trace);
    let states = crash_states(&model, &path("log")).unwrap();
    assert_eq!(states, [Alternative::Absent, file(b"aXYd", 4, &[])]);
}

#[test]
fn bytes_kept_by_an_unsynced_cut_are_still_unsure() {
    use Step::*;
    let steps = [
        Create(0),
        SyncDir,
        Append(0, b"ABCD".to_vec()),
        SetLen(0, 2),
        Append(0, b"EF".to_vec()),
    ];
    let states = crash_states(&played(&steps), &path("log")).unwrap();
    // "AB" was never synced: a crash after the second append may keep its length with only
    // part of its data (harsh mode fills from byte 0, as the simulated disk does).
    assert_eq!(states, [file(b"ABCD", 0, &[4]), file(b"ABEF", 0, &[4])]);
}

#[test]
fn a_trace_the_model_cannot_follow_is_an_unmodellable_state_never_a_checked_one() {
    let problem = eaof_trace::Unmodellable::SharedMap { path: path("log") };
    let state = super::state_at(Err(problem), Some(b"EAOF\x02"));
    assert!(state
        .unmodellable
        .as_deref()
        .is_some_and(|w| w.contains("mapped")));
    assert_eq!(state.bytes, b"EAOF\x02");
}

#[test]
fn the_file_on_disk_is_the_state_and_every_other_alternative_is_kept() {
    let on_disk = FileState::new(b"EAOF\x02new".to_vec(), 5, &[8]);
    let old = FileState::new(b"EAOF\x02old".to_vec(), 8, &[]);
    let alternatives = [
        Alternative::Absent,
        Alternative::File(old.clone()),
        Alternative::File(on_disk.clone()),
    ];
    let state = super::file_state(&alternatives, Some(b"EAOF\x02new"));
    assert_eq!(state.bytes, on_disk.bytes);
    assert_eq!(state.alternatives, vec![FileState::absent(), old]);
    // A model whose states do not include the file on disk lost track of it.
    let state = super::file_state(&alternatives, Some(b"EAOF\x02xyz"));
    assert!(state.unmodellable.is_some(), "{state:?}");
    // No file on disk, and a crash may leave none: the state is no file.
    assert!(super::file_state(&alternatives, None).absent);
}
