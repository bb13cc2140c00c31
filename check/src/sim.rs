//! A simulated disk: the storage seam of `eaof` in memory, with a persistence model, crashes
//! and faults on demand.
//!
//! # Persistence model
//!
//! It follows the abstract persistence models of ALICE (Pillai et al., "All File Systems Are
//! Not Created Equal", OSDI 2014) and LazyFS: what a program sees and what survives a crash
//! are two different states, and only `sync` and `sync_dir` tie them together.
//!
//! **Files.** A file is an inode with *durable* bytes (what a crash keeps for certain) and a
//! *live* state (what `len` and `read_at` see): the durable bytes with the file's *pending*
//! changes applied in order. The pending changes are the appends and `set_len`s since the
//! last successful `sync`, which makes the live state durable and clears them.
//!
//! **Directories.** Every directory keeps a durable and a live map from names to inodes, and
//! its pending changes since its last `sync_dir`: a creation links a name, a rename moves one
//! (replacing the target). A new file or a rename is durable only after `sync_dir` of its
//! directory; `sync` of the file does not make its name durable. `create` of an existing name
//! cuts that inode to zero (`O_TRUNC`, a pending `set_len(0)`), it does not make a new one.
//! Renames across directories are refused ([`SimFault::CrossDirectoryRename`]): their
//! atomicity would need two directories' journals, which this model does not have.
//!
//! **Crashes.** [`SimDisk::crash_states`] enumerates every distinct disk a crash can leave,
//! [`SimDisk::crash_with`] builds the one a [`CrashChoice`] names, and [`SimDisk::crash`]
//! picks one by a seed. After a crash:
//! - each directory has its durable entries with a *prefix* of its pending changes applied:
//!   directory operations are atomic and reach the journal in order (as on ext4 and xfs), so
//!   a rename is done or not done, never half, and never before the creation it renames;
//! - each file named by a surviving entry has its durable bytes with a prefix of its pending
//!   changes applied, the last of which may be an append that landed only in part: so the
//!   file keeps its durable bytes plus any prefix of the bytes appended since its last sync.
//!   A `set_len` is a pending change like the others: a cut that was not synced may be
//!   undone by a crash, which then brings back the longer durable contents;
//! - in [`CrashMode::Harsh`] a file may also have been *grown before its data landed*: its
//!   size reached the end of a pending append (the size moves with each write call), but the
//!   data landed only up to some earlier byte, and the rest reads as zeros (an extent
//!   allocated and never written) or garbage (stale blocks). Only bytes appended since the
//!   last sync are ever damaged this way; durable bytes never change;
//! - a file no surviving entry names is gone; the crashed disk has no pending changes, no
//!   armed faults, and an empty operation log (it is a machine after a reboot).
//!
//! Consequences a caller can rely on: every byte synced (and named by a synced directory
//! entry) survives every crash state; nothing is ever read back that was not written, except
//! zeros or garbage in harsh mode after the last durable byte.
//!
//! Not modelled (each would only add states, none that a correct append-only writer must
//! survive differently): appends landing out of order within a file, damage in the middle of
//! the unsynced bytes, and writeback that succeeds for part of a failed `sync`.
//!
//! # Faults
//!
//! Armed on demand, each either [`Persistence::Once`] or [`Persistence::Sticky`]:
//! - [`SimDisk::fail_sync_at`]: the `n`-th file sync this disk serves (0-based) fails with EIO
//!   and *drops the file's pending changes*: the live state reverts to the durable bytes.
//!   This is what Linux does after a writeback error (the pages are marked clean, the error
//!   is reported once): a later `sync` succeeds, but the data is gone. Sticky: every sync
//!   from the `n`-th on fails.
//! - [`SimDisk::fail_write_after`]: appends (to any file) succeed until `bytes` more bytes
//!   have been written; the append that crosses the budget writes the part that fits, then
//!   fails with ENOSPC (so a budget at every byte gives a short write of every length). Once:
//!   the space is then freed and later appends succeed; sticky: the disk stays full.
//! - [`SimDisk::fail_op_at`]: the operation with log index `n` fails: a sync as above,
//!   anything else with EIO and no effect. Sticky: every operation from `n` on.
//! - [`SimDisk::power_cut_at`]: operation `n` and every later one fail with no effect, so the
//!   disk stays as the first `n` operations left it: a harness crashes there with
//!   [`SimDisk::crash_states`]. Running a workload once per `n` crashes it at every operation.
//!
//! # Operation log
//!
//! Every call through the seam, reads included, takes the next index and is logged with its
//! outcome ([`SimDisk::ops`], [`SimDisk::op_count`]): a dry run tells a harness how many
//! fault or crash points a workload has.
//!
//! `SimDisk` is a handle (`Rc<RefCell<..>>`): clones share one disk, so a writer can own one
//! while the test keeps another to arm faults and crash; [`SimDisk::fork`] makes an
//! independent copy. Open files keep their inode, as on POSIX, even after it is renamed over.

mod crash;
mod state;
#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use eaof::storage::{Storage, StorageFile};

pub use crash::{CrashChoice, CrashMode, CrashState, FileCrash, Fill, InvalidCrashChoice};

/// Names an inode of one simulated disk (kept across a crash).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InodeId(pub u64);

/// Whether an armed fault fires once or keeps firing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// The fault fires once, then the disk behaves again.
    Once,
    /// The fault keeps firing for every later matching operation.
    Sticky,
}

/// Why a simulated operation failed; carried inside the `io::Error` it returns (see
/// [`SimFault::of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimFault {
    /// EIO from `sync`: the file's pending changes were dropped.
    SyncFailed,
    /// ENOSPC from `append`: the bytes that fitted were written, the rest were not.
    NoSpace,
    /// EIO injected by [`SimDisk::fail_op_at`]; the operation had no effect.
    Injected,
    /// The power was cut before this operation: it had no effect.
    PowerCut,
    /// A write through a handle opened with `open_read`.
    ReadOnly,
    /// No file of that name.
    NotFound,
    /// A path without a file name.
    InvalidPath,
    /// A rename across directories (not modelled).
    CrossDirectoryRename,
}

impl SimFault {
    /// The simulated fault behind an I/O error, if it came from a [`SimDisk`].
    pub fn of(error: &io::Error) -> Option<SimFault> {
        error.get_ref()?.downcast_ref::<SimFault>().copied()
    }

    fn kind(self) -> io::ErrorKind {
        match self {
            SimFault::NoSpace => io::ErrorKind::StorageFull,
            SimFault::NotFound => io::ErrorKind::NotFound,
            SimFault::InvalidPath => io::ErrorKind::InvalidInput,
            SimFault::ReadOnly => io::ErrorKind::PermissionDenied,
            SimFault::CrossDirectoryRename => io::ErrorKind::CrossesDevices,
            SimFault::SyncFailed | SimFault::Injected | SimFault::PowerCut => io::ErrorKind::Other,
        }
    }

    fn into_io(self) -> io::Error {
        io::Error::new(self.kind(), self)
    }
}

impl fmt::Display for SimFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SimFault::SyncFailed => "simulated EIO from fsync (unsynced data dropped)",
            SimFault::NoSpace => "simulated ENOSPC (no space left on device)",
            SimFault::Injected => "simulated EIO",
            SimFault::PowerCut => "simulated power cut",
            SimFault::ReadOnly => "file opened read-only",
            SimFault::NotFound => "no such file",
            SimFault::InvalidPath => "path has no file name",
            SimFault::CrossDirectoryRename => "rename across directories is not simulated",
        })
    }
}

impl std::error::Error for SimFault {}

/// One call through the storage seam.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpKind {
    Open {
        path: PathBuf,
    },
    OpenRead {
        path: PathBuf,
    },
    Create {
        path: PathBuf,
    },
    Rename {
        from: PathBuf,
        to: PathBuf,
    },
    SyncDir {
        dir: PathBuf,
    },
    Len {
        inode: InodeId,
    },
    ReadAt {
        inode: InodeId,
        offset: u64,
        len: usize,
    },
    Append {
        inode: InodeId,
        len: usize,
    },
    SetLen {
        inode: InodeId,
        len: u64,
    },
    Sync {
        inode: InodeId,
    },
}

impl OpKind {
    /// Whether the operation can change what a crash leaves (everything but `len`, `read_at`
    /// and `open_read`).
    pub fn mutates(&self) -> bool {
        !matches!(
            self,
            OpKind::Len { .. } | OpKind::ReadAt { .. } | OpKind::OpenRead { .. }
        )
    }
}

/// A logged operation and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    pub index: u64,
    pub kind: OpKind,
    pub outcome: Result<(), SimFault>,
}

/// A pending change of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FileOp {
    Append(Vec<u8>),
    SetLen(u64),
}

#[derive(Debug, Clone, Default)]
struct Inode {
    durable: Vec<u8>,
    live: Vec<u8>,
    pending: Vec<FileOp>,
}

/// A pending change of a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DirOp {
    Link { name: OsString, inode: InodeId },
    Rename { from: OsString, to: OsString },
}

impl DirOp {
    fn apply(&self, entries: &mut BTreeMap<OsString, InodeId>) {
        match self {
            DirOp::Link { name, inode } => {
                entries.insert(name.clone(), *inode);
            }
            DirOp::Rename { from, to } => {
                if let Some(inode) = entries.remove(from) {
                    entries.insert(to.clone(), inode);
                }
            }
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Dir {
    durable: BTreeMap<OsString, InodeId>,
    live: BTreeMap<OsString, InodeId>,
    pending: Vec<DirOp>,
}

#[derive(Debug, Clone, Default)]
struct Faults {
    sync_at: Option<(u64, Persistence)>,
    write_budget: Option<(u64, Persistence)>,
    op_at: Option<(u64, Persistence)>,
    power_cut_at: Option<u64>,
}

#[derive(Debug, Clone, Default)]
struct Disk {
    inodes: BTreeMap<InodeId, Inode>,
    dirs: BTreeMap<PathBuf, Dir>,
    next_inode: u64,
    log: Vec<Op>,
    syncs: u64,
    faults: Faults,
}

/// A simulated disk (a shared handle; see the module documentation).
#[derive(Clone, Default)]
pub struct SimDisk {
    disk: Rc<RefCell<Disk>>,
}

impl fmt::Debug for SimDisk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let disk = self.disk.borrow();
        let mut files = f.debug_map();
        for (dir_path, dir) in &disk.dirs {
            for (name, inode) in &dir.live {
                let Some(node) = disk.inodes.get(inode) else {
                    continue;
                };
                files.entry(
                    &dir_path.join(name),
                    &format_args!(
                        "{} bytes live, {} durable, {} pending changes",
                        node.live.len(),
                        node.durable.len(),
                        node.pending.len()
                    ),
                );
            }
        }
        files.finish()
    }
}

/// The directory and name of `path`; the directory of a bare name is `.` (as the writer's
/// `sync_dir` calls have it).
fn split(path: &Path) -> Result<(PathBuf, OsString), SimFault> {
    let name = path
        .file_name()
        .ok_or(SimFault::InvalidPath)?
        .to_os_string();
    Ok((dir_key(path.parent().unwrap_or(Path::new(""))), name))
}

fn dir_key(dir: &Path) -> PathBuf {
    if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir.to_path_buf()
    }
}

impl Inode {
    fn push(&mut self, op: FileOp) {
        match &op {
            FileOp::Append(data) => self.live.extend_from_slice(data),
            FileOp::SetLen(len) => self.live.resize(usize_len(*len), 0),
        }
        self.pending.push(op);
    }

    fn sync(&mut self) {
        self.durable.clone_from(&self.live);
        self.pending.clear();
    }

    fn drop_pending(&mut self) {
        self.live.clone_from(&self.durable);
        self.pending.clear();
    }
}

/// The largest simulated file: growing a file past it fails with ENOSPC (a simulated file
/// lives in memory).
pub const SIM_FILE_LEN_MAX: u64 = 1 << 30;

/// A length as an in-memory size (callers keep lengths within [`SIM_FILE_LEN_MAX`]).
fn usize_len(len: u64) -> usize {
    usize::try_from(len).unwrap_or(usize::MAX)
}

fn matches(armed: Option<(u64, Persistence)>, index: u64) -> bool {
    match armed {
        Some((n, Persistence::Once)) => index == n,
        Some((n, Persistence::Sticky)) => index >= n,
        None => false,
    }
}

impl Disk {
    /// Logs an operation and applies the faults that strike before it runs: a power cut,
    /// or an injected failure (which a sync turns into a failed sync).
    fn begin(&mut self, kind: OpKind) -> (usize, Option<SimFault>) {
        let index = self.log.len() as u64;
        let fault = if self.faults.power_cut_at.is_some_and(|n| index >= n) {
            Some(SimFault::PowerCut)
        } else if matches(self.faults.op_at, index) {
            Some(SimFault::Injected)
        } else {
            None
        };
        self.log.push(Op {
            index,
            kind,
            outcome: Ok(()),
        });
        (self.log.len() - 1, fault)
    }

    fn end<T>(&mut self, at: usize, result: Result<T, SimFault>) -> io::Result<T> {
        match result {
            Ok(v) => Ok(v),
            Err(fault) => {
                if let Some(op) = self.log.get_mut(at) {
                    op.outcome = Err(fault);
                }
                Err(fault.into_io())
            }
        }
    }

    fn lookup(&self, path: &Path) -> Result<Option<InodeId>, SimFault> {
        let (dir, name) = split(path)?;
        Ok(self.dirs.get(&dir).and_then(|d| d.live.get(&name)).copied())
    }

    fn link_new(&mut self, path: &Path) -> Result<InodeId, SimFault> {
        let (dir, name) = split(path)?;
        let inode = InodeId(self.next_inode);
        self.next_inode += 1;
        self.inodes.insert(inode, Inode::default());
        let dir = self.dirs.entry(dir).or_default();
        let op = DirOp::Link { name, inode };
        op.apply(&mut dir.live);
        dir.pending.push(op);
        Ok(inode)
    }

    fn inode(&mut self, inode: InodeId) -> &mut Inode {
        // Inodes are never removed from a disk while it runs, so a handle's inode exists.
        self.inodes.entry(inode).or_default()
    }

    fn open(&mut self, path: &Path, create: bool, truncate: bool) -> Result<InodeId, SimFault> {
        match self.lookup(path)? {
            Some(inode) => {
                if truncate {
                    self.inode(inode).push(FileOp::SetLen(0));
                }
                Ok(inode)
            }
            None if create => self.link_new(path),
            None => Err(SimFault::NotFound),
        }
    }

    fn rename(&mut self, from: &Path, to: &Path) -> Result<(), SimFault> {
        let (from_dir, from_name) = split(from)?;
        let (to_dir, to_name) = split(to)?;
        if from_dir != to_dir {
            return Err(SimFault::CrossDirectoryRename);
        }
        let dir = self.dirs.get_mut(&from_dir).ok_or(SimFault::NotFound)?;
        if !dir.live.contains_key(&from_name) {
            return Err(SimFault::NotFound);
        }
        if from_name != to_name {
            let op = DirOp::Rename {
                from: from_name,
                to: to_name,
            };
            op.apply(&mut dir.live);
            dir.pending.push(op);
        }
        Ok(())
    }

    fn sync(&mut self, inode: InodeId, injected: bool) -> Result<(), SimFault> {
        let n = self.syncs;
        self.syncs += 1;
        let fail = injected || matches(self.faults.sync_at, n);
        let node = self.inode(inode);
        if fail {
            node.drop_pending();
            Err(SimFault::SyncFailed)
        } else {
            node.sync();
            Ok(())
        }
    }

    fn append(&mut self, inode: InodeId, data: &[u8]) -> Result<(), SimFault> {
        if self.inode(inode).live.len() as u64 + data.len() as u64 > SIM_FILE_LEN_MAX {
            return Err(SimFault::NoSpace);
        }
        let (fits, fault) = match self.faults.write_budget {
            Some((budget, persistence)) if data.len() as u64 > budget => {
                self.faults.write_budget = match persistence {
                    Persistence::Once => None,
                    Persistence::Sticky => Some((0, persistence)),
                };
                (usize_len(budget), Some(SimFault::NoSpace))
            }
            Some((budget, persistence)) => {
                self.faults.write_budget = Some((budget - data.len() as u64, persistence));
                (data.len(), None)
            }
            None => (data.len(), None),
        };
        if fits > 0 {
            self.inode(inode)
                .push(FileOp::Append(data[..fits].to_vec()));
        }
        fault.map_or(Ok(()), Err)
    }
}

impl SimDisk {
    /// An empty disk.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Disk) -> T) -> T {
        f(&mut self.disk.borrow_mut())
    }

    /// An independent copy of this disk: live and durable state, pending changes, armed
    /// faults and log.
    pub fn fork(&self) -> SimDisk {
        let copy = self.disk.borrow().clone();
        SimDisk {
            disk: Rc::new(RefCell::new(copy)),
        }
    }

    /// Whether `other` is a handle to this very disk.
    pub fn same_disk(&self, other: &SimDisk) -> bool {
        Rc::ptr_eq(&self.disk, &other.disk)
    }

    /// Puts a file with `contents` at `path`, durable with its directory entry, outside the
    /// log (to set up a test). An existing file of that name is replaced by a new inode.
    pub fn put_durable(&self, path: impl AsRef<Path>, contents: &[u8]) -> Result<(), SimFault> {
        self.with(|disk| {
            let (dir_path, name) = split(path.as_ref())?;
            let inode = InodeId(disk.next_inode);
            disk.next_inode += 1;
            disk.inodes.insert(
                inode,
                Inode {
                    durable: contents.to_vec(),
                    live: contents.to_vec(),
                    pending: Vec::new(),
                },
            );
            let dir = disk.dirs.entry(dir_path).or_default();
            dir.live.insert(name.clone(), inode);
            dir.durable.insert(name, inode);
            Ok(())
        })
    }

    /// What a program reads at `path` now (`None` when no live entry names it).
    pub fn contents(&self, path: impl AsRef<Path>) -> Option<Vec<u8>> {
        self.with(|disk| {
            let inode = disk.lookup(path.as_ref()).ok()??;
            disk.inodes.get(&inode).map(|i| i.live.clone())
        })
    }

    /// What a crash that keeps nothing unsynced would leave at `path`.
    pub fn durable_contents(&self, path: impl AsRef<Path>) -> Option<Vec<u8>> {
        self.with(|disk| {
            let (dir, name) = split(path.as_ref()).ok()?;
            let inode = disk.dirs.get(&dir)?.durable.get(&name)?;
            disk.inodes.get(inode).map(|i| i.durable.clone())
        })
    }

    /// Every live path with its contents.
    pub fn image(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        self.with(|disk| {
            let mut image = BTreeMap::new();
            for (dir_path, dir) in &disk.dirs {
                for (name, inode) in &dir.live {
                    if let Some(node) = disk.inodes.get(inode) {
                        image.insert(dir_path.join(name), node.live.clone());
                    }
                }
            }
            image
        })
    }

    /// Bytes and changes not yet durable: the sum over files of their pending changes, and
    /// over directories of theirs. Zero means every crash state equals the live state.
    pub fn pending_changes(&self) -> usize {
        self.with(|disk| {
            disk.inodes.values().map(|i| i.pending.len()).sum::<usize>()
                + disk.dirs.values().map(|d| d.pending.len()).sum::<usize>()
        })
    }

    /// The operation log.
    pub fn ops(&self) -> Vec<Op> {
        self.with(|disk| disk.log.clone())
    }

    /// Operations served so far (the index the next one gets).
    pub fn op_count(&self) -> u64 {
        self.with(|disk| disk.log.len() as u64)
    }

    /// File syncs served so far (the index the next one gets, for [`SimDisk::fail_sync_at`]).
    pub fn sync_count(&self) -> u64 {
        self.with(|disk| disk.syncs)
    }

    /// Arms a failed sync: the `n`-th file sync fails with EIO and drops the file's pending
    /// changes.
    pub fn fail_sync_at(&self, n: u64, persistence: Persistence) {
        self.with(|disk| disk.faults.sync_at = Some((n, persistence)));
    }

    /// Arms a full disk: after `bytes` more bytes appended, the crossing append writes what
    /// fits and fails with ENOSPC.
    pub fn fail_write_after(&self, bytes: u64, persistence: Persistence) {
        self.with(|disk| disk.faults.write_budget = Some((bytes, persistence)));
    }

    /// Arms a failure of the operation with log index `n`.
    pub fn fail_op_at(&self, n: u64, persistence: Persistence) {
        self.with(|disk| disk.faults.op_at = Some((n, persistence)));
    }

    /// Cuts the power before the operation with log index `n`: it and every later one fail
    /// with no effect.
    pub fn power_cut_at(&self, n: u64) {
        self.with(|disk| disk.faults.power_cut_at = Some(n));
    }

    /// Disarms every fault.
    pub fn clear_faults(&self) {
        self.with(|disk| disk.faults = Faults::default());
    }

    fn run<T>(
        &self,
        kind: OpKind,
        op: impl FnOnce(&mut Disk, Option<SimFault>) -> Result<T, SimFault>,
    ) -> io::Result<T> {
        self.with(|disk| {
            let (at, fault) = disk.begin(kind);
            let result = match fault {
                Some(SimFault::PowerCut) => Err(SimFault::PowerCut),
                fault => op(disk, fault),
            };
            disk.end(at, result)
        })
    }

    fn file(&self, inode: InodeId, writable: bool) -> SimFile {
        SimFile {
            disk: self.clone(),
            inode,
            writable,
        }
    }
}

/// Faults other than a sync's make an operation fail before it has any effect.
fn no_effect(fault: Option<SimFault>) -> Result<(), SimFault> {
    fault.map_or(Ok(()), Err)
}

impl Storage for SimDisk {
    type File = SimFile;

    fn open(&self, path: &Path) -> io::Result<SimFile> {
        let kind = OpKind::Open {
            path: path.to_path_buf(),
        };
        let inode = self.run(kind, |disk, fault| {
            no_effect(fault)?;
            disk.open(path, true, false)
        })?;
        Ok(self.file(inode, true))
    }

    fn open_read(&self, path: &Path) -> io::Result<SimFile> {
        let kind = OpKind::OpenRead {
            path: path.to_path_buf(),
        };
        let inode = self.run(kind, |disk, fault| {
            no_effect(fault)?;
            disk.open(path, false, false)
        })?;
        Ok(self.file(inode, false))
    }

    fn create(&self, path: &Path) -> io::Result<SimFile> {
        let kind = OpKind::Create {
            path: path.to_path_buf(),
        };
        let inode = self.run(kind, |disk, fault| {
            no_effect(fault)?;
            disk.open(path, true, true)
        })?;
        Ok(self.file(inode, true))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let kind = OpKind::Rename {
            from: from.to_path_buf(),
            to: to.to_path_buf(),
        };
        self.run(kind, |disk, fault| {
            no_effect(fault)?;
            disk.rename(from, to)
        })
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let dir = dir_key(dir);
        let kind = OpKind::SyncDir { dir: dir.clone() };
        self.run(kind, |disk, fault| {
            no_effect(fault)?;
            if let Some(d) = disk.dirs.get_mut(&dir) {
                d.durable.clone_from(&d.live);
                d.pending.clear();
            }
            Ok(())
        })
    }
}

/// An open file of a [`SimDisk`].
#[derive(Debug)]
pub struct SimFile {
    disk: SimDisk,
    inode: InodeId,
    writable: bool,
}

impl SimFile {
    /// The inode this handle refers to.
    pub fn inode(&self) -> InodeId {
        self.inode
    }

    fn writable(&self) -> Result<(), SimFault> {
        if self.writable {
            Ok(())
        } else {
            Err(SimFault::ReadOnly)
        }
    }
}

impl StorageFile for SimFile {
    fn len(&self) -> io::Result<u64> {
        let inode = self.inode;
        self.disk.run(OpKind::Len { inode }, |disk, fault| {
            no_effect(fault)?;
            Ok(disk.inode(inode).live.len() as u64)
        })
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let inode = self.inode;
        let kind = OpKind::ReadAt {
            inode,
            offset,
            len: buf.len(),
        };
        self.disk.run(kind, |disk, fault| {
            no_effect(fault)?;
            let live = &disk.inode(inode).live;
            let from = usize_len(offset).min(live.len());
            let n = buf.len().min(live.len() - from);
            buf[..n].copy_from_slice(&live[from..from + n]);
            Ok(n)
        })
    }

    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        let inode = self.inode;
        let kind = OpKind::Append {
            inode,
            len: data.len(),
        };
        let writable = self.writable();
        self.disk.run(kind, |disk, fault| {
            no_effect(fault)?;
            writable?;
            disk.append(inode, data)
        })
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        let inode = self.inode;
        let writable = self.writable();
        self.disk.run(OpKind::SetLen { inode, len }, |disk, fault| {
            no_effect(fault)?;
            writable?;
            if len > SIM_FILE_LEN_MAX {
                return Err(SimFault::NoSpace);
            }
            disk.inode(inode).push(FileOp::SetLen(len));
            Ok(())
        })
    }

    fn sync(&mut self) -> io::Result<()> {
        let inode = self.inode;
        self.disk.run(OpKind::Sync { inode }, |disk, fault| {
            disk.sync(inode, fault == Some(SimFault::Injected))
        })
    }
}
