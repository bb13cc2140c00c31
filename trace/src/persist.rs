//! The persistence model: from a trace, what a crash can leave at a path.
//!
//! It is the simulated disk's model (`eaof_check::sim`, after ALICE's abstract persistence
//! model), computed from recorded calls instead of calls through a storage seam:
//!
//! - **Files** are inodes with *durable* bytes and *live* bytes (what a program reads now),
//!   and the *pending* changes between them: appends (a write at or past the end; past the
//!   end it first grows the file with zeros) and length changes (`ftruncate`, `truncate`,
//!   `O_TRUNC`, `fallocate` that grows the file). `fsync` and `fdatasync` make the live bytes
//!   durable (fdatasync flushes the size too: the man page's example is the size changed by
//!   `ftruncate`), as does every write through a descriptor opened `O_SYNC` or `O_DSYNC`, and
//!   `syncfs` or `sync`. `sync_file_range` makes nothing durable.
//! - **Directories** keep durable and live entries and their pending changes: a creation, a
//!   `mkdir`, an unlink, a rename. They are durable only after an `fsync` of the directory
//!   (or `syncfs`/`sync`); a file's `fsync` does not make its name durable.
//! - **A crash** keeps, in each directory, the durable entries and a prefix of the pending
//!   changes (directory operations are atomic and journaled in order: a rename is done or
//!   not, never half); in each file, the durable bytes and a prefix of the pending changes,
//!   the last of which may be an append that landed in part; and, in harsh mode, a file
//!   grown to the end of a pending append whose data landed only up to some byte after the
//!   last durable one (zeros or garbage after it).
//! - **A failed `fsync`** (EIO, ENOSPC, EDQUOT: a writeback error) drops the file's pending
//!   changes: its live bytes become its durable bytes, as Linux shows after the error (the
//!   pages were marked clean; later reads may show the old contents), and the recorder puts
//!   the real file back to them when it injected the failure.
//!
//! The first time the trace touches a file it brings the file's contents then
//! ([`What::Seen`]): they are durable, with their directory entry.
//!
//! The answer for a path ([`Persistence::crash_states`]) is every alternative a crash can
//! leave there: no file, or a file described as the checker's `FileState` describes one (the
//! bytes, a prefix of them every crash in this alternative keeps, the lengths after each
//! write since): [`FileCrashState`]. An old file and a new one at the same path (a rename or
//! a creation not yet durable), or a file cut by a `ftruncate` that a crash may undo, are
//! several alternatives. The union of the alternatives' crash images is exactly the set the
//! simulated disk gives for the same operations (a property test in `eaof-check` holds the
//! two to it).
//!
//! What the model cannot express is an [`Unmodellable`] value, never an approximation: an
//! overwrite of bytes before they were synced (until the next sync of that file), a shared
//! writable mapping, a copy made by the kernel, a link, a rename across directories, io_uring,
//! a call through another ABI, bytes never seen.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::event::{BlindSpot, Call, Errno, Event, FileId, Op, Seen, SeenKind, Syscall, What};

/// What the model cannot express, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unmodellable {
    #[error("{path:?}: {len} bytes at offset {offset} overwritten with other bytes before they were synced (crash states would mix old and new bytes)")]
    Overwrite {
        path: PathBuf,
        offset: u64,
        len: u64,
    },
    #[error("{path:?}: fallocate with mode {mode:#x} (punching or moving ranges) before a sync")]
    Fallocate { path: PathBuf, mode: i32 },
    #[error("{path:?}: mapped shared and writable; stores through the mapping are not seen")]
    SharedMap { path: PathBuf },
    #[error("{path:?}: written by the kernel ({syscall:?}); the bytes are not seen")]
    KernelCopy { path: PathBuf, syscall: Syscall },
    #[error("{path:?}: made a standard descriptor (0 to 2); writes through it are not seen")]
    StandardDescriptor { path: PathBuf },
    #[error("{path:?}: a link ({syscall:?}) made in the directory")]
    Link { path: PathBuf, syscall: Syscall },
    #[error("the program set up an io_uring: requests through it are not seen")]
    IoUring,
    #[error("a system call through another ABI (arch {arch:#x}, number {nr}) was not decoded")]
    ForeignAbi { arch: u32, nr: u64 },
    #[error("{path:?}: a {syscall:?} never returned (its thread was killed in it)")]
    Unfinished { path: PathBuf, syscall: Syscall },
    #[error("{path:?}: {len} bytes when first seen, over the limit of what is read")]
    TooLarge { path: PathBuf, len: u64 },
    #[error(
        "{path:?}: a write of {len} bytes at offset {offset} was longer than what is captured"
    )]
    WriteNotCaptured {
        path: PathBuf,
        offset: u64,
        len: u64,
    },
    #[error("{path:?}: written before it was ever seen")]
    NeverSeen { path: PathBuf },
    #[error("rename from {from:?} to {to:?} across directories (or in or out of the watched one)")]
    RenameAcrossDirectories { from: PathBuf, to: PathBuf },
    #[error("rename of {from:?} and {to:?} with flags {flags:#x} (an exchange or a whiteout)")]
    RenameFlags {
        from: PathBuf,
        to: PathBuf,
        flags: u32,
    },
    #[error("directory {from:?} renamed to {to:?}: the paths under it moved")]
    DirectoryRenamed { from: PathBuf, to: PathBuf },
    #[error("{path:?}: the trace never touched this path")]
    NotSeen { path: PathBuf },
    #[error("{path:?}: a crash may leave something other than a regular file there")]
    NotAFile { path: PathBuf },
    #[error("{path:?}: not under the watched directory")]
    OutsideRoot { path: PathBuf },
}

/// One file a crash can leave at a path, in the terms of the checker's `FileState`: every
/// image keeps `bytes[..durable_len]` and then any prefix of the rest, and in harsh mode
/// may end at one of `write_ends` with only part of the data landed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileCrashState {
    /// The bytes at the end of this alternative (the live bytes for the newest one).
    pub bytes: Vec<u8>,
    /// What every crash image of this alternative keeps.
    pub durable_len: usize,
    /// The file's length after each write of this alternative since `durable_len`.
    pub write_ends: Vec<usize>,
}

/// What a crash can leave at a path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathState {
    /// No file.
    Absent,
    /// A file: which one, and its crash states.
    File { file: FileId, state: FileCrashState },
}

/// Whether a failed sync with `errno` lost the file's unsynced changes (a writeback error),
/// as opposed to a call that did not run (EINTR, EBADF, EINVAL).
pub fn sync_error_loses_data(errno: Errno) -> bool {
    matches!(errno.0, libc::EIO | libc::ENOSPC | libc::EDQUOT)
}

/// The largest file the model keeps in memory; a longer one is [`Unmodellable::TooLarge`].
pub const MODEL_FILE_LEN_MAX: u64 = 1 << 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct InodeKey(u64);

#[derive(Debug, Clone, PartialEq, Eq)]
enum FileOp {
    Append(Vec<u8>),
    SetLen(u64),
}

#[derive(Debug, Clone)]
struct Inode {
    file: FileId,
    path: PathBuf,
    durable: Vec<u8>,
    live: Vec<u8>,
    pending: Vec<FileOp>,
    /// Why the crash states cannot be expressed until the next successful sync.
    until_sync: Option<Unmodellable>,
    /// Why they cannot be expressed at all (until the model is reset).
    lasting: Option<Unmodellable>,
}

impl Inode {
    fn new(file: FileId, path: PathBuf, contents: Vec<u8>) -> Self {
        Inode {
            file,
            path,
            durable: contents.clone(),
            live: contents,
            pending: Vec::new(),
            until_sync: None,
            lasting: None,
        }
    }

    fn push(&mut self, op: FileOp) {
        match &op {
            FileOp::Append(data) => self.live.extend_from_slice(data),
            FileOp::SetLen(len) => self.live.resize(*len as usize, 0),
        }
        self.pending.push(op);
    }

    fn sync(&mut self) {
        self.durable.clone_from(&self.live);
        self.pending.clear();
        self.until_sync = None;
    }

    fn drop_pending(&mut self) {
        self.live.clone_from(&self.durable);
        self.pending.clear();
        self.until_sync = None;
    }

    fn problem(&self) -> Option<&Unmodellable> {
        self.lasting.as_ref().or(self.until_sync.as_ref())
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        let end = offset.saturating_add(data.len() as u64);
        if end > MODEL_FILE_LEN_MAX {
            self.lasting.get_or_insert(Unmodellable::TooLarge {
                path: self.path.clone(),
                len: end,
            });
            return;
        }
        let len = self.live.len() as u64;
        if offset > len {
            self.push(FileOp::SetLen(offset));
        }
        let at = offset as usize;
        let overlap = (self.live.len().saturating_sub(at)).min(data.len());
        if overlap > 0 && self.live[at..at + overlap] != data[..overlap] {
            self.until_sync.get_or_insert(Unmodellable::Overwrite {
                path: self.path.clone(),
                offset,
                len: overlap as u64,
            });
            self.live[at..at + overlap].copy_from_slice(&data[..overlap]);
        }
        if data.len() > overlap {
            self.push(FileOp::Append(data[overlap..].to_vec()));
        }
    }

    /// The crash states, one [`FileCrashState`] per run of appends between length changes.
    fn states(&self) -> Result<Vec<FileCrashState>, Unmodellable> {
        if let Some(problem) = self.problem() {
            return Err(problem.clone());
        }
        // `volatile` counts the trailing bytes appended since the durable state or the last
        // growth: the only ones a crash may not have landed (as the simulated disk's).
        let mut contents = self.durable.clone();
        let mut volatile = 0usize;
        let mut segment = (contents.len(), Vec::new());
        let mut out = Vec::new();
        for op in &self.pending {
            match op {
                FileOp::Append(data) if data.is_empty() => {}
                FileOp::Append(data) => {
                    contents.extend_from_slice(data);
                    volatile += data.len();
                    segment.1.push(contents.len());
                }
                FileOp::SetLen(len) => {
                    out.push(FileCrashState {
                        bytes: contents.clone(),
                        durable_len: segment.0,
                        write_ends: std::mem::take(&mut segment.1),
                    });
                    let len = *len as usize;
                    let old = contents.len();
                    contents.resize(len, 0);
                    // A cut removes volatile bytes first; the zeros of a growth are a hole,
                    // not data that could land as garbage.
                    volatile = if len <= old {
                        volatile.saturating_sub(old - len)
                    } else {
                        0
                    };
                    segment.0 = contents.len() - volatile;
                }
            }
        }
        out.push(FileCrashState {
            bytes: contents,
            durable_len: segment.0,
            write_ends: segment.1,
        });
        let mut unique = Vec::new();
        for state in out {
            if !unique.contains(&state) {
                unique.push(state);
            }
        }
        Ok(unique)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    File(InodeKey),
    Dir,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum DirOp {
    Link { name: OsString, entry: Entry },
    Unlink { name: OsString },
    Rename { from: OsString, to: OsString },
}

impl DirOp {
    fn apply(&self, entries: &mut BTreeMap<OsString, Entry>) {
        match self {
            DirOp::Link { name, entry } => {
                entries.insert(name.clone(), *entry);
            }
            DirOp::Unlink { name } => {
                entries.remove(name);
            }
            DirOp::Rename { from, to } => {
                if let Some(entry) = entries.remove(from) {
                    entries.insert(to.clone(), entry);
                }
            }
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Dir {
    durable: BTreeMap<OsString, Entry>,
    live: BTreeMap<OsString, Entry>,
    pending: Vec<DirOp>,
    /// Names whose durable state is known: seen, or referenced by a change (a name a change
    /// referenced without being seen first did not exist). A directory made by `mkdir` in
    /// the trace knows every name.
    known: BTreeSet<OsString>,
    made: bool,
    lasting: Option<Unmodellable>,
}

impl Dir {
    fn knows(&self, name: &OsString) -> bool {
        self.made || self.known.contains(name)
    }

    fn push(&mut self, op: DirOp) {
        match &op {
            DirOp::Link { name, .. } | DirOp::Unlink { name } => {
                self.known.insert(name.clone());
            }
            DirOp::Rename { from, to } => {
                self.known.insert(from.clone());
                self.known.insert(to.clone());
            }
        }
        op.apply(&mut self.live);
        self.pending.push(op);
    }

    fn sync(&mut self) {
        self.durable.clone_from(&self.live);
        self.pending.clear();
    }

    /// The entry `name` has after the first `kept` pending changes landed.
    fn entry_after(&self, kept: usize, name: &OsString) -> Option<Entry> {
        let mut entries = self.durable.clone();
        for op in &self.pending[..kept] {
            op.apply(&mut entries);
        }
        entries.get(name).copied()
    }
}

/// The persistence model of one watched directory, fed a trace event by event.
#[derive(Debug, Clone)]
pub struct Persistence {
    root: PathBuf,
    inodes: BTreeMap<InodeKey, Inode>,
    current: HashMap<FileId, InodeKey>,
    dirs: BTreeMap<PathBuf, Dir>,
    next: u64,
    global: Option<Unmodellable>,
}

fn split(path: &Path) -> Option<(PathBuf, OsString)> {
    Some((
        path.parent()?.to_path_buf(),
        path.file_name()?.to_os_string(),
    ))
}

impl Persistence {
    /// An empty model of the directory `root` (an absolute path as the recorder resolves
    /// paths): everything on disk is durable and not yet seen.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Persistence {
            root: root.into(),
            inodes: BTreeMap::new(),
            current: HashMap::new(),
            dirs: BTreeMap::new(),
            next: 0,
            global: None,
        }
    }

    /// The model of `events`, from an empty one.
    pub fn from_events<'a>(
        root: impl Into<PathBuf>,
        events: impl IntoIterator<Item = &'a Event>,
    ) -> Self {
        let mut model = Persistence::new(root);
        for event in events {
            model.apply(event);
        }
        model
    }

    /// The directory the model covers.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn inside(&self, path: &Path) -> bool {
        path.starts_with(&self.root) && path != self.root
    }

    fn new_inode(&mut self, file: FileId, path: &Path, contents: Vec<u8>) -> InodeKey {
        let key = InodeKey(self.next);
        self.next += 1;
        self.inodes
            .insert(key, Inode::new(file, path.to_path_buf(), contents));
        self.current.insert(file, key);
        key
    }

    /// The inode of `file`; one never seen is empty and unmodellable.
    fn inode(&mut self, file: FileId, path: &Path) -> &mut Inode {
        let key = match self.current.get(&file) {
            Some(key) => *key,
            None => {
                let key = self.new_inode(file, path, Vec::new());
                if let Some(node) = self.inodes.get_mut(&key) {
                    node.lasting = Some(Unmodellable::NeverSeen {
                        path: path.to_path_buf(),
                    });
                }
                key
            }
        };
        self.inodes
            .entry(key)
            .or_insert_with(|| Inode::new(file, path.to_path_buf(), Vec::new()))
    }

    fn dir(&mut self, path: &Path) -> &mut Dir {
        self.dirs.entry(path.to_path_buf()).or_default()
    }

    /// Feeds one event.
    pub fn apply(&mut self, event: &Event) {
        match &event.what {
            What::Seen(seen) => self.seen(seen),
            What::Call(call) => self.call(call),
            What::BlindSpot(spot) => self.blind_spot(spot),
            What::Process(_) => {}
        }
    }

    fn seen(&mut self, seen: &Seen) {
        let entry = match &seen.kind {
            SeenKind::File(contents) => {
                let key = match self.current.get(&seen.file) {
                    Some(key) => *key,
                    None => self.new_inode(seen.file, &seen.path, contents.clone()),
                };
                Entry::File(key)
            }
            SeenKind::TooLarge(len) => {
                let key = self.new_inode(seen.file, &seen.path, Vec::new());
                if let Some(node) = self.inodes.get_mut(&key) {
                    node.lasting = Some(Unmodellable::TooLarge {
                        path: seen.path.clone(),
                        len: *len,
                    });
                }
                Entry::File(key)
            }
            SeenKind::Dir => Entry::Dir,
            SeenKind::Other => Entry::Other,
        };
        if !self.inside(&seen.path) {
            return;
        }
        let Some((parent, name)) = split(&seen.path) else {
            return;
        };
        let dir = self.dir(&parent);
        if !dir.knows(&name) {
            dir.durable.insert(name.clone(), entry);
            dir.live.insert(name.clone(), entry);
            dir.known.insert(name);
        }
    }

    fn call(&mut self, call: &Call) {
        // A write's bytes count even when the call reports an error after writing them.
        if let Op::Write {
            path,
            file,
            offset,
            data,
            complete,
            synchronous,
            ..
        } = &call.op
        {
            let node = self.inode(*file, path);
            if !complete {
                node.lasting.get_or_insert(Unmodellable::WriteNotCaptured {
                    path: path.clone(),
                    offset: *offset,
                    len: data.len() as u64,
                });
            }
            node.write(*offset, data);
            if *synchronous && call.result.is_ok() {
                node.sync();
            }
            return;
        }
        let failed = call.result.err();
        match (&call.op, failed) {
            (
                Op::Sync {
                    path, dir: true, ..
                },
                None,
            ) => self.dir(path).sync(),
            (Op::Sync { path, file, .. }, None) => self.inode(*file, path).sync(),
            (
                Op::Sync {
                    path,
                    file,
                    dir: false,
                    ..
                },
                Some(errno),
            ) if sync_error_loses_data(errno) => self.inode(*file, path).drop_pending(),
            (Op::SyncAll { .. }, None) => {
                self.inodes.values_mut().for_each(Inode::sync);
                self.dirs.values_mut().for_each(Dir::sync);
            }
            (_, Some(_)) => {}
            (
                Op::Open {
                    path,
                    flags,
                    file: Some(file),
                    created,
                    dir: false,
                    ..
                },
                None,
            ) => self.open(path, *flags, *file, *created),
            (Op::Rename { from, to, flags }, None) => self.rename(from, to, *flags),
            (Op::Unlink { path, .. }, None) => {
                if let Some((parent, name)) = split(path) {
                    self.dir(&parent).push(DirOp::Unlink { name });
                }
            }
            (
                Op::Truncate {
                    path, file, len, ..
                },
                None,
            ) => {
                let node = self.inode(*file, path);
                if *len > MODEL_FILE_LEN_MAX {
                    node.lasting.get_or_insert(Unmodellable::TooLarge {
                        path: path.clone(),
                        len: *len,
                    });
                } else {
                    node.push(FileOp::SetLen(*len));
                }
            }
            (
                Op::Fallocate {
                    path,
                    file,
                    mode,
                    offset,
                    len,
                    ..
                },
                None,
            ) => {
                let node = self.inode(*file, path);
                let end = offset.saturating_add(*len);
                match *mode {
                    0 if end > MODEL_FILE_LEN_MAX => {
                        node.lasting.get_or_insert(Unmodellable::TooLarge {
                            path: path.clone(),
                            len: end,
                        });
                    }
                    0 if end > node.live.len() as u64 => node.push(FileOp::SetLen(end)),
                    0 | libc::FALLOC_FL_KEEP_SIZE => {}
                    mode => {
                        node.until_sync.get_or_insert(Unmodellable::Fallocate {
                            path: path.clone(),
                            mode,
                        });
                    }
                }
            }
            (Op::Mkdir { path, .. }, None) => {
                if let Some((parent, name)) = split(path) {
                    self.dir(&parent).push(DirOp::Link {
                        name,
                        entry: Entry::Dir,
                    });
                }
                let made = self.dir(path);
                made.made = true;
            }
            (
                Op::Open { .. }
                | Op::Write { .. }
                | Op::SyncRange { .. }
                | Op::Close { .. }
                | Op::CloseRange { .. }
                | Op::Dup { .. }
                | Op::IoUringRefused,
                None,
            ) => {}
        }
    }

    fn open(&mut self, path: &Path, flags: i32, file: FileId, created: bool) {
        if created {
            // A new inode, even if the number is an old one's (a file system reuses them).
            let key = self.new_inode(file, path, Vec::new());
            if let Some((parent, name)) = split(path) {
                self.dir(&parent).push(DirOp::Link {
                    name,
                    entry: Entry::File(key),
                });
            }
            return;
        }
        let writable = flags & libc::O_ACCMODE != libc::O_RDONLY;
        let node = self.inode(file, path);
        if flags & libc::O_TRUNC != 0 && writable {
            node.push(FileOp::SetLen(0));
        }
    }

    fn rename(&mut self, from: &Path, to: &Path, flags: u32) {
        let (Some((from_dir, from_name)), Some((to_dir, to_name))) = (split(from), split(to))
        else {
            return;
        };
        let problem = if flags & !(libc::RENAME_NOREPLACE) != 0 {
            Some(Unmodellable::RenameFlags {
                from: from.to_path_buf(),
                to: to.to_path_buf(),
                flags,
            })
        } else if from_dir != to_dir || !self.inside(from) || !self.inside(to) {
            Some(Unmodellable::RenameAcrossDirectories {
                from: from.to_path_buf(),
                to: to.to_path_buf(),
            })
        } else if self.dir(&from_dir).live.get(&from_name) == Some(&Entry::Dir) {
            Some(Unmodellable::DirectoryRenamed {
                from: from.to_path_buf(),
                to: to.to_path_buf(),
            })
        } else {
            None
        };
        if let Some(problem) = problem {
            for dir in [&from_dir, &to_dir] {
                if self.inside(&dir.join("x")) {
                    self.dir(dir).lasting.get_or_insert(problem.clone());
                }
            }
            return;
        }
        if from_name != to_name {
            self.dir(&from_dir).push(DirOp::Rename {
                from: from_name,
                to: to_name,
            });
        }
    }

    fn blind_spot(&mut self, spot: &BlindSpot) {
        match spot {
            BlindSpot::SharedMap { path, file } => {
                let problem = Unmodellable::SharedMap { path: path.clone() };
                self.inode(*file, path).lasting.get_or_insert(problem);
            }
            BlindSpot::KernelCopy {
                syscall,
                path,
                file,
            } => {
                let problem = Unmodellable::KernelCopy {
                    path: path.clone(),
                    syscall: *syscall,
                };
                self.inode(*file, path).lasting.get_or_insert(problem);
            }
            BlindSpot::StandardDescriptor { path, file, .. } => {
                let problem = Unmodellable::StandardDescriptor { path: path.clone() };
                self.inode(*file, path).lasting.get_or_insert(problem);
            }
            BlindSpot::Link { syscall, path } => {
                let problem = Unmodellable::Link {
                    path: path.clone(),
                    syscall: *syscall,
                };
                if let Some((parent, _)) = split(path) {
                    self.dir(&parent).lasting.get_or_insert(problem);
                }
            }
            BlindSpot::IoUring => {
                self.global.get_or_insert(Unmodellable::IoUring);
            }
            BlindSpot::ForeignAbi { arch, nr } => {
                self.global.get_or_insert(Unmodellable::ForeignAbi {
                    arch: *arch,
                    nr: *nr,
                });
            }
            BlindSpot::Unfinished { syscall, path } => {
                let problem = Unmodellable::Unfinished {
                    path: path.clone(),
                    syscall: *syscall,
                };
                let inode = split(path).and_then(|(parent, name)| {
                    match self.dirs.get(&parent)?.live.get(&name)? {
                        Entry::File(key) => Some(*key),
                        _ => None,
                    }
                });
                match inode.and_then(|key| self.inodes.get_mut(&key)) {
                    Some(node) => {
                        node.lasting.get_or_insert(problem);
                    }
                    None => {
                        if let Some((parent, _)) = split(path) {
                            self.dir(&parent).lasting.get_or_insert(problem);
                        }
                    }
                }
            }
        }
    }

    /// The last synced contents of `file`, which a failed sync leaves; `Ok(None)` when the
    /// file has no unsynced change; an error when the model cannot tell.
    pub fn synced_contents(&self, file: FileId) -> Result<Option<&[u8]>, Unmodellable> {
        let Some(node) = self.current.get(&file).and_then(|k| self.inodes.get(k)) else {
            return Err(Unmodellable::NeverSeen {
                path: PathBuf::from(format!("{file}")),
            });
        };
        if let Some(problem) = &node.lasting {
            return Err(problem.clone());
        }
        Ok((!node.pending.is_empty() || node.until_sync.is_some()).then_some(&node.durable[..]))
    }

    /// The bytes of `file` a program reads now, as the model has them.
    pub fn live_contents(&self, file: FileId) -> Option<&[u8]> {
        let key = self.current.get(&file)?;
        self.inodes.get(key).map(|n| &n.live[..])
    }

    /// Every alternative a crash now can leave at `path` (absolute, under the root), each
    /// once: [`PathState::Absent`] first when a crash may leave no file, then the files in
    /// the order their directory entries were made.
    pub fn crash_states(&self, path: &Path) -> Result<Vec<PathState>, Unmodellable> {
        if let Some(problem) = &self.global {
            return Err(problem.clone());
        }
        if !self.inside(path) {
            return Err(Unmodellable::OutsideRoot {
                path: path.to_path_buf(),
            });
        }
        let not_seen = || Unmodellable::NotSeen {
            path: path.to_path_buf(),
        };
        let (parent, name) = split(path).ok_or_else(not_seen)?;
        let mut out = Vec::new();
        if self.may_be_absent(&parent)? {
            out.push(PathState::Absent);
        }
        let dir = self.dirs.get(&parent).ok_or_else(not_seen)?;
        if let Some(problem) = &dir.lasting {
            return Err(problem.clone());
        }
        if !dir.knows(&name) {
            return Err(not_seen());
        }
        for kept in 0..=dir.pending.len() {
            let states = match dir.entry_after(kept, &name) {
                None => vec![PathState::Absent],
                Some(Entry::File(key)) => {
                    let Some(node) = self.inodes.get(&key) else {
                        return Err(not_seen());
                    };
                    node.states()?
                        .into_iter()
                        .map(|state| PathState::File {
                            file: node.file,
                            state,
                        })
                        .collect()
                }
                Some(Entry::Dir | Entry::Other) => {
                    return Err(Unmodellable::NotAFile {
                        path: path.to_path_buf(),
                    })
                }
            };
            for state in states {
                if !out.contains(&state) {
                    out.push(state);
                }
            }
        }
        Ok(out)
    }

    /// Whether a crash may leave the directory `dir` (or one above it, below the root)
    /// missing: its creation is not durable, or its removal may be.
    fn may_be_absent(&self, dir: &Path) -> Result<bool, Unmodellable> {
        let mut at = dir.to_path_buf();
        let mut absent = false;
        while self.inside(&at) {
            let Some((parent, name)) = split(&at) else {
                break;
            };
            if let Some(up) = self.dirs.get(&parent) {
                if let Some(problem) = &up.lasting {
                    return Err(problem.clone());
                }
                if up.knows(&name) {
                    absent |= (0..=up.pending.len())
                        .any(|kept| up.entry_after(kept, &name) != Some(Entry::Dir));
                }
            }
            at = parent;
        }
        Ok(absent)
    }
}
