//! Bugs planted on purpose in eaof's writer, so that the checker can show it still finds
//! each one: a checker that goes blind fails CI (`cli/tests/planted.rs`), and the engines can
//! be timed on how fast each finds each bug.
//!
//! Each bug is a defect real writers have had, planted from outside the format crate: a
//! wrapper of the storage seam ([`Planted`]) that drops or fakes one kind of call, or (for
//! [`Bug::NoPoisonAfterFailedFsync`]) a writer that opens itself again after a failure
//! ([`Bug::carries_on`], used by `crate::eaof`'s writer holder). Nothing in `src/` knows of
//! them. The same set runs on the simulated disk (`EaofSim::with_bug`) and on real files
//! through the eaof driver (`eaof driver eaof --planted NAME`).
//!
//! Guarantees: with no bug ([`Planted::new`] with `None`) every call is passed through
//! unchanged; with a bug, only the calls that bug names behave differently, and a bug that
//! needs a fault to show ([`Bug::needs_fault`]) behaves exactly as eaof until one is injected.

use std::cell::Cell;
use std::fmt;
use std::io;
use std::path::Path;
use std::rc::Rc;

use eaof::storage::{Storage, StorageFile};
use eaof_model::command::Command;

use crate::alphabet::T0_MS;
use crate::report::{no_progress, Budget, FailureKind, Report};
use crate::target::Target;
use crate::{explore, faults};

/// A planted bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Bug {
    /// `sync` of a file returns `Ok` without syncing it.
    NoFileFsync,
    /// The directory is not synced after `truncate`'s rename, so the rename is not durable:
    /// a crash can bring the old log back.
    NoDirFsyncAfterRename,
    /// Reopening does not cut a torn tail: records are appended after the torn bytes.
    AppendAfterTornTail,
    /// After a failed write or fsync, the writer opens itself again and accepts more work,
    /// as a server that logs the error and carries on.
    NoPoisonAfterFailedFsync,
    /// An append that wrote only part of its bytes before failing is taken as done.
    IgnoreShortWrite,
}

impl Bug {
    /// Every planted bug.
    pub const ALL: [Bug; 5] = [
        Bug::NoFileFsync,
        Bug::NoDirFsyncAfterRename,
        Bug::AppendAfterTornTail,
        Bug::NoPoisonAfterFailedFsync,
        Bug::IgnoreShortWrite,
    ];

    /// The bug's name on a command line (`--planted NAME`).
    pub fn name(self) -> &'static str {
        match self {
            Bug::NoFileFsync => "no-file-fsync",
            Bug::NoDirFsyncAfterRename => "no-dir-fsync-after-rename",
            Bug::AppendAfterTornTail => "append-after-torn-tail",
            Bug::NoPoisonAfterFailedFsync => "no-poison-after-failed-fsync",
            Bug::IgnoreShortWrite => "ignore-short-write",
        }
    }

    /// The bug named `name`.
    pub fn from_name(name: &str) -> Option<Bug> {
        Bug::ALL.into_iter().find(|bug| bug.name() == name)
    }

    /// Whether the bug shows only when a fault is injected (a failed fsync, a short write).
    pub fn needs_fault(self) -> bool {
        matches!(self, Bug::NoPoisonAfterFailedFsync | Bug::IgnoreShortWrite)
    }

    /// Whether the bug shows only with `truncate` in the alphabet.
    pub fn needs_truncate(self) -> bool {
        self == Bug::NoDirFsyncAfterRename
    }

    /// The properties the checker finds `bug` breaking (any one of them shows it).
    pub fn symptoms(self) -> &'static [FailureKind] {
        match self {
            Bug::NoFileFsync => &[FailureKind::AckedLost],
            Bug::NoDirFsyncAfterRename => &[FailureKind::PhantomState, FailureKind::AckedLost],
            Bug::AppendAfterTornTail => &[
                FailureKind::AppendLost,
                FailureKind::AckedLost,
                FailureKind::TornHeaderNotRecreated,
            ],
            Bug::NoPoisonAfterFailedFsync => &[FailureKind::NotPoisoned],
            Bug::IgnoreShortWrite => &[
                FailureKind::CleanReadFailed,
                FailureKind::AckedLost,
                FailureKind::PhantomState,
            ],
        }
    }

    /// Whether a writer with `bug` opens itself again after a failed call instead of
    /// staying poisoned.
    pub fn carries_on(bug: Option<Bug>) -> bool {
        bug == Some(Bug::NoPoisonAfterFailedFsync)
    }
}

impl fmt::Display for Bug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A storage with a bug planted in it (or none).
#[derive(Debug, Clone)]
pub struct Planted<S> {
    inner: S,
    bug: Option<Bug>,
    /// Whether a rename happened since the directory was last synced (shared by clones: a
    /// writer and the handles it opens see one storage).
    renamed: Rc<Cell<bool>>,
}

impl<S> Planted<S> {
    /// `inner` with `bug` planted.
    pub fn new(inner: S, bug: Option<Bug>) -> Self {
        Planted {
            inner,
            bug,
            renamed: Rc::new(Cell::new(false)),
        }
    }

    /// The storage underneath.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The bug.
    pub fn bug(&self) -> Option<Bug> {
        self.bug
    }

    fn file<F>(&self, inner: F) -> PlantedFile<F> {
        PlantedFile {
            inner,
            bug: self.bug,
        }
    }
}

impl<S: Storage> Storage for Planted<S> {
    type File = PlantedFile<S::File>;

    fn open(&self, path: &Path) -> io::Result<Self::File> {
        self.inner.open(path).map(|f| self.file(f))
    }

    fn open_read(&self, path: &Path) -> io::Result<Self::File> {
        self.inner.open_read(path).map(|f| self.file(f))
    }

    fn create(&self, path: &Path) -> io::Result<Self::File> {
        self.inner.create(path).map(|f| self.file(f))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)?;
        self.renamed.set(true);
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let after_rename = self.renamed.replace(false);
        if after_rename && self.bug == Some(Bug::NoDirFsyncAfterRename) {
            return Ok(());
        }
        self.inner.sync_dir(dir)
    }
}

/// A file of a [`Planted`] storage.
#[derive(Debug)]
pub struct PlantedFile<F> {
    inner: F,
    bug: Option<Bug>,
}

impl<F: StorageFile> StorageFile for PlantedFile<F> {
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_at(offset, buf)
    }

    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        match self.inner.append(data) {
            // A full disk: part of the data may have been written. Taking that for success
            // is taking a short write for a whole one.
            Err(e)
                if self.bug == Some(Bug::IgnoreShortWrite)
                    && e.kind() == io::ErrorKind::StorageFull =>
            {
                Ok(())
            }
            result => result,
        }
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        if self.bug == Some(Bug::AppendAfterTornTail) {
            // The writer cuts a torn tail (or a torn header) only through this call: skipped,
            // it appends after the torn bytes.
            return Ok(());
        }
        self.inner.set_len(len)
    }

    fn sync(&mut self) -> io::Result<()> {
        if self.bug == Some(Bug::NoFileFsync) {
            return Ok(());
        }
        self.inner.sync()
    }
}

/// The commands of a hunt: one is enough to show every planted bug, and keeps the
/// explorer's alphabet small.
fn hunt_commands() -> Vec<Command> {
    vec![Command::Set {
        key: "a".into(),
        value: bytes::Bytes::from_static(b"x"),
        expiry: None,
    }]
}

/// Looks for `bug` in `target` (which should have it planted) with the engine that finds it
/// soonest, and reports its shortest case: the exhaustive explorer to depth 3 over one
/// command and the lifecycle letters (sequences come shortest first), or, for a bug that
/// needs a fault, the fault engine on scripts of one command, then two, up to four
/// (stopping at the first length that shows it). The report's failures hold only the
/// bug's symptoms ([`Bug::symptoms`]); other kinds are counted.
pub fn hunt(target: &mut dyn Target, bug: Bug, seed: u64, budget: &Budget) -> Report {
    let ignore = FailureKind::all_but(bug.symptoms());
    if !bug.needs_fault() {
        let config = explore::ExploreConfig {
            depth: 3,
            commands: hunt_commands(),
            harsh: false,
            seed,
            ignore,
            ..Default::default()
        };
        return explore::run(target, &config, budget, &mut no_progress());
    }
    let mut last = None;
    for commands in 1..=4 {
        let config = faults::FaultsConfig {
            scripts: 4,
            commands,
            harsh: false,
            seed: seed ^ T0_MS ^ commands as u64,
            ignore: ignore.clone(),
            ..Default::default()
        };
        let report = faults::run(target, &config, budget, &mut no_progress());
        if !report.failures.is_empty() || budget.exhausted(0) {
            return report;
        }
        last = Some(report);
    }
    last.unwrap_or_else(|| Report::new("faults", target.name(), seed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimDisk;

    #[test]
    fn every_bug_has_a_name_that_reads_back() {
        for bug in Bug::ALL {
            assert_eq!(Bug::from_name(bug.name()), Some(bug));
        }
        assert_eq!(Bug::from_name("no-such-bug"), None);
    }

    #[test]
    fn without_a_bug_every_call_reaches_the_storage() {
        let disk = SimDisk::new();
        let planted = Planted::new(disk.clone(), None);
        let mut file = planted.open(Path::new("d/f")).unwrap();
        file.append(b"abc").unwrap();
        file.sync().unwrap();
        file.set_len(1).unwrap();
        planted.sync_dir(Path::new("d")).unwrap();
        assert_eq!(
            disk.pending_changes(),
            1,
            "the cut is pending, nothing else"
        );
        assert_eq!(disk.contents("d/f").unwrap(), b"a");
    }

    #[test]
    fn a_planted_bug_changes_only_its_own_call() {
        let disk = SimDisk::new();
        let planted = Planted::new(disk.clone(), Some(Bug::NoFileFsync));
        let mut file = planted.open(Path::new("d/f")).unwrap();
        file.append(b"abc").unwrap();
        file.sync().unwrap();
        assert_eq!(disk.durable_contents("d/f"), None, "nothing was synced");
        planted.sync_dir(Path::new("d")).unwrap();
        assert_eq!(
            disk.durable_contents("d/f").unwrap(),
            b"",
            "the directory was"
        );

        let disk = SimDisk::new();
        let planted = Planted::new(disk.clone(), Some(Bug::NoDirFsyncAfterRename));
        planted.create(Path::new("d/t")).unwrap();
        planted.sync_dir(Path::new("d")).unwrap();
        planted.rename(Path::new("d/t"), Path::new("d/f")).unwrap();
        planted.sync_dir(Path::new("d")).unwrap();
        assert_eq!(
            disk.durable_contents("d/f"),
            None,
            "the rename is not durable"
        );
        assert!(disk.durable_contents("d/t").is_some());
    }
}
