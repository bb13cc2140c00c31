//! The trace: what the recorder saw, one [`Event`] at a time, in the order the calls
//! returned.
//!
//! Guarantees:
//! - only calls that concern the watched directory are recorded (a path under it, or a file
//!   descriptor that refers to a file or directory under it); everything else the child does
//!   runs untouched and unrecorded;
//! - a [`Call`] carries its arguments as the program passed them, decoded (paths resolved to
//!   absolute paths, flags as the raw integers), what the recorder learnt around it (the file
//!   the descriptor refers to, where a write landed, the bytes it put in the file), and its
//!   result as the program saw it (after any injected fault);
//! - before the first call that touches a file the recorder has not seen since the last
//!   checkpoint, a [`What::Seen`] gives that file's contents then: everything in it is taken as
//!   durable (a crash image the harness wrote, or a file that was there before the run);
//! - what the recorder cannot follow is a value ([`What::BlindSpot`]), never silently dropped.

use std::fmt;
use std::path::PathBuf;

/// A file's identity: the device and inode numbers `stat` gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId {
    /// `st_dev`.
    pub dev: u64,
    /// `st_ino`.
    pub ino: u64,
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "inode {}:{}", self.dev, self.ino)
    }
}

/// An error number as the kernel returns it (positive: 5 is EIO).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

impl Errno {
    pub const EINTR: Errno = Errno(libc::EINTR);
    pub const EIO: Errno = Errno(libc::EIO);
    pub const ENOSPC: Errno = Errno(libc::ENOSPC);
    pub const EFBIG: Errno = Errno(libc::EFBIG);
    pub const ENOSYS: Errno = Errno(libc::ENOSYS);

    /// The symbolic name (`EIO`), or the number.
    pub fn name(self) -> String {
        let name = nix::errno::Errno::from_raw(self.0);
        if name == nix::errno::Errno::UnknownErrno {
            format!("errno {}", self.0)
        } else {
            format!("{name:?}")
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// The system calls the recorder stops at, by name (the kernel's, not the C library's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Syscall {
    Open,
    Openat,
    Openat2,
    Creat,
    Write,
    Pwrite64,
    Writev,
    Pwritev,
    Pwritev2,
    Fsync,
    Fdatasync,
    SyncFileRange,
    Syncfs,
    Sync,
    Rename,
    Renameat,
    Renameat2,
    Unlink,
    Unlinkat,
    Rmdir,
    Truncate,
    Ftruncate,
    Fallocate,
    Mkdir,
    Mkdirat,
    Close,
    CloseRange,
    Dup,
    Dup2,
    Dup3,
    Fcntl,
    Mmap,
    Link,
    Linkat,
    Symlink,
    Symlinkat,
    CopyFileRange,
    Sendfile,
    Splice,
    IoUringSetup,
}

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Position in the trace (0, 1, 2, ... since the recorder started).
    pub seq: u64,
    /// The process (thread group) it happened in.
    pub pid: u32,
    /// The thread.
    pub tid: u32,
    /// What happened.
    pub what: What,
}

/// What an event is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What {
    /// First sight of a file or directory since the last checkpoint: its state then, all
    /// of it durable.
    Seen(Seen),
    /// A system call that concerns the watched directory, and how it ended.
    Call(Call),
    /// Something the recorder cannot follow.
    BlindSpot(BlindSpot),
    /// A process or thread started, executed a program, or ended.
    Process(ProcessEvent),
}

/// A file or directory the recorder saw for the first time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// Its path then.
    pub path: PathBuf,
    /// Its identity.
    pub file: FileId,
    /// What it is, and a regular file's contents.
    pub kind: SeenKind,
}

/// What a seen path is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeenKind {
    /// A regular file and its bytes.
    File(Vec<u8>),
    /// A regular file longer than [`crate::SEEN_LEN_MAX`]: its bytes were not read.
    TooLarge(u64),
    /// A directory.
    Dir,
    /// Anything else (a symbolic link, a FIFO, a device).
    Other,
}

/// A system call and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Which call.
    pub syscall: Syscall,
    /// Its arguments, decoded, and what the recorder learnt around it.
    pub op: Op,
    /// What the program saw: the call's return value, or the error.
    pub result: Result<u64, Errno>,
    /// The fault injected into this call, if one was.
    pub fault: Option<crate::fault::Fired>,
}

/// A call's arguments, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `open`, `openat`, `openat2`, `creat`.
    Open {
        path: PathBuf,
        /// The `O_*` flags as passed (`creat` is `O_CREAT|O_WRONLY|O_TRUNC`).
        flags: i32,
        mode: u32,
        /// The file opened (on success).
        file: Option<FileId>,
        /// Whether the call created the file (no file had that name before it).
        created: bool,
        /// Whether what was opened is a directory.
        dir: bool,
    },
    /// `write`, `pwrite64`, `writev`, `pwritev`, `pwritev2`.
    Write {
        fd: i32,
        path: PathBuf,
        file: FileId,
        /// Where the bytes landed in the file.
        offset: u64,
        /// Bytes the program asked to write.
        requested: u64,
        /// The bytes the call put in the file (as many as it returned).
        data: Vec<u8>,
        /// False when the call wrote more than [`crate::WRITE_CAPTURE_MAX`] bytes: `data`
        /// holds only the first ones.
        complete: bool,
        /// Whether the descriptor was opened with `O_SYNC` or `O_DSYNC` (each write is
        /// durable when it returns).
        synchronous: bool,
    },
    /// `fsync`, `fdatasync` (of a file or of a directory).
    Sync {
        fd: i32,
        path: PathBuf,
        file: FileId,
        dir: bool,
        /// `fdatasync`.
        data_only: bool,
    },
    /// `sync_file_range`: starts or waits for writeback, makes nothing durable.
    SyncRange {
        fd: i32,
        path: PathBuf,
        file: FileId,
        offset: u64,
        len: u64,
        flags: u32,
    },
    /// `syncfs` of a descriptor on the watched directory's file system, or `sync`.
    SyncAll { fd: Option<i32> },
    /// `rename`, `renameat`, `renameat2`.
    Rename {
        from: PathBuf,
        to: PathBuf,
        /// `RENAME_*` flags (`renameat2`).
        flags: u32,
    },
    /// `unlink`, `unlinkat` (with `AT_REMOVEDIR`: `dir`), `rmdir`.
    Unlink { path: PathBuf, dir: bool },
    /// `truncate` (no `fd`), `ftruncate`.
    Truncate {
        fd: Option<i32>,
        path: PathBuf,
        file: FileId,
        len: u64,
    },
    /// `fallocate`.
    Fallocate {
        fd: i32,
        path: PathBuf,
        file: FileId,
        mode: i32,
        offset: u64,
        len: u64,
    },
    /// `mkdir`, `mkdirat`.
    Mkdir { path: PathBuf, mode: u32 },
    /// `close` of a descriptor that referred to a watched file or directory.
    Close { fd: i32, path: PathBuf },
    /// `close_range`: the watched descriptors in the range, as they were before the call.
    CloseRange {
        first: u32,
        last: u32,
        flags: u32,
        watched: Vec<(i32, PathBuf)>,
    },
    /// `dup`, `dup2`, `dup3`, `fcntl(F_DUPFD)`, `fcntl(F_DUPFD_CLOEXEC)`; the new descriptor
    /// is the result.
    Dup {
        old: i32,
        /// The descriptor asked for (`dup2`, `dup3`) or the lowest one allowed (`F_DUPFD`).
        new: Option<i32>,
        path: PathBuf,
    },
    /// `io_uring_setup`, refused (`ENOSYS`) so that the program falls back to calls the
    /// recorder sees.
    IoUringRefused,
}

impl Op {
    /// The path the call concerns (the source of a rename), if it names one.
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            Op::Open { path, .. }
            | Op::Write { path, .. }
            | Op::Sync { path, .. }
            | Op::SyncRange { path, .. }
            | Op::Unlink { path, .. }
            | Op::Truncate { path, .. }
            | Op::Fallocate { path, .. }
            | Op::Mkdir { path, .. }
            | Op::Close { path, .. }
            | Op::Dup { path, .. } => Some(path),
            Op::Rename { from, .. } => Some(from),
            Op::SyncAll { .. } | Op::CloseRange { .. } | Op::IoUringRefused => None,
        }
    }
}

/// Something the recorder cannot follow; the persistence model turns each into an
/// [`crate::persist::Unmodellable`] for what it may have changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlindSpot {
    /// A shared writable mapping of a watched file: stores into it are invisible.
    SharedMap { path: PathBuf, file: FileId },
    /// A watched file copied into or spliced into by the kernel (`copy_file_range`,
    /// `sendfile`, `splice`): the bytes are not seen.
    KernelCopy {
        syscall: Syscall,
        path: PathBuf,
        file: FileId,
    },
    /// A watched file made standard input, output or error (`dup2(fd, 1)`): writes through
    /// descriptors 0 to 2 are not stopped at.
    StandardDescriptor {
        fd: i32,
        path: PathBuf,
        file: FileId,
    },
    /// A hard or symbolic link made in the watched directory.
    Link { syscall: Syscall, path: PathBuf },
    /// `io_uring_setup` allowed (see [`crate::Config::refuse_io_uring`]): requests through
    /// the ring are invisible.
    IoUring,
    /// A system call through another ABI (32-bit `int 0x80`, x32): not decoded.
    ForeignAbi { arch: u32, nr: u64 },
    /// A call that changes the watched directory never returned (its thread was killed in
    /// it): what it did is unknown.
    Unfinished { syscall: Syscall, path: PathBuf },
}

/// A process or thread event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessEvent {
    /// A new process (`fork`, `vfork`, `clone` without `CLONE_THREAD`) or thread.
    Started { child: u32, thread: bool },
    /// `execve` succeeded; the program now running.
    Exec { program: PathBuf },
    /// A thread or process ended with an exit code.
    Exited { code: i32 },
    /// A thread or process was killed by a signal.
    Killed { signal: i32 },
}
