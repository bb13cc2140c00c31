//! Faults the recorder injects at recorded calls: what the harness arms, how a call is
//! matched, and what is reported back.
//!
//! Guarantees:
//! - a fault fires at "the `after`-th matching call from now" (0: the next one), counting
//!   only calls the recorder records (calls on the watched directory) that match its
//!   [`Match`]; a sticky fault then fires at every later matching call too;
//! - a fired fault is reported in the [`crate::event::Call`] it changed ([`Fired`]), so the
//!   harness learns exactly which call failed;
//! - what each [`Action`] does to the call (see there) is what the child sees; the recorded
//!   call shows the result after the fault.

use std::path::PathBuf;

use crate::event::{Errno, Syscall};

/// Names an armed fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FaultId(pub u64);

/// Which calls a fault counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallKind {
    /// `open`, `openat`, `openat2`, `creat`.
    Open,
    /// `write`, `pwrite64`, `writev`, `pwritev`, `pwritev2`.
    Write,
    /// `fsync`, `fdatasync` (of a file or a directory).
    Sync,
    /// `rename`, `renameat`, `renameat2`.
    Rename,
    /// `unlink`, `unlinkat`, `rmdir`.
    Unlink,
    /// `truncate`, `ftruncate`.
    Truncate,
    /// `fallocate`.
    Fallocate,
    /// `mkdir`, `mkdirat`.
    Mkdir,
    /// `close`.
    Close,
    /// Any recorded call of the kinds above.
    Any,
    /// Any call that changes a file or a directory, or syncs one: writes, syncs, renames,
    /// unlinks, truncations, `fallocate`, `mkdir` (not opens and closes, whose failures a
    /// program may rightly ignore or retry): a storage operation, as the simulated disk
    /// counts them.
    Change,
}

impl CallKind {
    /// The kind a call counts as, if faults can be injected into it.
    pub fn of(syscall: Syscall) -> Option<CallKind> {
        use Syscall as S;
        Some(match syscall {
            S::Open | S::Openat | S::Openat2 | S::Creat => CallKind::Open,
            S::Write | S::Pwrite64 | S::Writev | S::Pwritev | S::Pwritev2 => CallKind::Write,
            S::Fsync | S::Fdatasync => CallKind::Sync,
            S::Rename | S::Renameat | S::Renameat2 => CallKind::Rename,
            S::Unlink | S::Unlinkat | S::Rmdir => CallKind::Unlink,
            S::Truncate | S::Ftruncate => CallKind::Truncate,
            S::Fallocate => CallKind::Fallocate,
            S::Mkdir | S::Mkdirat => CallKind::Mkdir,
            S::Close => CallKind::Close,
            _ => return None,
        })
    }

    /// Whether a call of this kind is one [`CallKind::Change`] matches.
    pub fn changes(self) -> bool {
        !matches!(
            self,
            CallKind::Open | CallKind::Close | CallKind::Any | CallKind::Change
        )
    }

    /// Whether a fault matching `self` counts a call of kind `call`.
    pub fn covers(self, call: CallKind) -> bool {
        match self {
            CallKind::Any => true,
            CallKind::Change => call.changes(),
            kind => kind == call,
        }
    }
}

/// Which calls a fault matches: a kind, and optionally the file (the path a call names, or
/// the path its descriptor refers to; either side of a rename).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Match {
    pub kind: CallKind,
    /// The file's path as the recorder resolves it (absolute, under the watched directory);
    /// `None` matches any file.
    pub path: Option<PathBuf>,
}

/// What a fault does to the call it fires at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// The call does not run; it returns `errno`. An `fsync` or `fdatasync` failed with
    /// `EIO` also loses the file's unsynced changes, as Linux does after a writeback error
    /// (the pages are marked clean, the error is reported once): the persistence model drops
    /// them, and the recorder puts the file back to its last synced contents, so that later
    /// reads see what a crash would keep (see [`Revert`]). `EINTR` is `Fail(EINTR)`.
    Fail(Errno),
    /// A write puts at most `bytes` bytes in the file and returns how many it wrote (a
    /// short write; nothing changes for a write of `bytes` or fewer).
    Short { bytes: u64 },
    /// A write puts at most `bytes` bytes in the file and returns that count; the next
    /// write to the same file fails with `errno` without writing: how Linux reports a disk
    /// that filled up (ENOSPC) or a file at its size limit (EFBIG) in the middle of a write.
    ShortThenFail { bytes: u64, errno: Errno },
    /// A write puts at most `bytes` bytes in the file, then returns `errno` as if nothing
    /// had been written: the harsher variant, where the caller cannot know what landed.
    PartialThenFail { bytes: u64, errno: Errno },
    /// A disk with `bytes` bytes of room left (the simulated disk's `fail_write_after`):
    /// matching writes succeed while they fit; the one that crosses the limit puts what fits
    /// in the file and returns `errno` (as [`Action::PartialThenFail`]). Sticky: the disk
    /// stays full and every later matching write fails with `errno` without writing.
    FullAfter { bytes: u64, errno: Errno },
}

impl Action {
    /// Whether the action only makes sense for writes.
    pub fn writes_only(&self) -> bool {
        !matches!(self, Action::Fail(_))
    }
}

/// A fault to arm.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fault {
    pub matching: Match,
    /// Matching calls to let through first (0: the next matching call fires).
    pub after: u64,
    pub action: Action,
    /// Whether it keeps firing at every matching call after the first.
    pub sticky: bool,
}

impl Fault {
    /// The `after`-th call of `kind` from now (on any file) fails with `errno`, once.
    pub fn fail(kind: CallKind, after: u64, errno: Errno) -> Fault {
        Fault {
            matching: Match { kind, path: None },
            after,
            action: Action::Fail(errno),
            sticky: false,
        }
    }

    /// The `after`-th write from now (to any file) does `action`, once.
    pub fn write(after: u64, action: Action) -> Fault {
        Fault {
            matching: Match {
                kind: CallKind::Write,
                path: None,
            },
            after,
            action,
            sticky: false,
        }
    }

    /// The same fault, counting only calls on `path`.
    pub fn on(mut self, path: impl Into<PathBuf>) -> Fault {
        self.matching.path = Some(path.into());
        self
    }
}

/// A fault that cannot be armed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    #[error("{action:?} changes what a write writes; it cannot match {kind:?} calls")]
    NotAWrite { action: Action, kind: CallKind },
}

/// What a failed `fsync` did to the file (see [`Action::Fail`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revert {
    /// The file was put back to its last synced contents: `len` bytes.
    Reverted { len: u64 },
    /// Nothing was lost: the file had no unsynced changes.
    Unchanged,
    /// The model cannot say what the last synced contents were; the file was left as it
    /// was, and its crash states are unmodellable.
    Unknown(String),
}

/// A fault that fired, as reported in the call it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    pub id: FaultId,
    pub action: Action,
    /// For a failed `fsync`: what happened to the unsynced data.
    pub revert: Option<Revert>,
}

/// An armed fault and how many matching calls it still lets through.
#[derive(Debug, Clone)]
pub(crate) struct Armed {
    pub id: FaultId,
    pub fault: Fault,
    pub left: u64,
    /// Room left, for [`Action::FullAfter`] (`None` once it is full).
    pub room: Option<u64>,
}

impl Armed {
    pub fn new(id: FaultId, fault: Fault) -> Self {
        let room = match fault.action {
            Action::FullAfter { bytes, .. } => Some(bytes),
            _ => None,
        };
        Armed {
            id,
            left: fault.after,
            fault,
            room,
        }
    }

    /// Counts a call of `syscall` on `paths` (a write of `requested` bytes); what the fault
    /// does to it, if it fires.
    pub fn count(
        &mut self,
        syscall: Syscall,
        paths: &[&std::path::Path],
        requested: u64,
    ) -> Option<Action> {
        if !self.matches(syscall, paths) {
            return None;
        }
        let Action::FullAfter { errno, .. } = self.fault.action else {
            return Some(self.fault.action);
        };
        match self.room {
            Some(room) if requested <= room => {
                self.room = Some(room - requested);
                None
            }
            Some(room) => {
                self.room = None;
                Some(Action::PartialThenFail { bytes: room, errno })
            }
            None => Some(Action::Fail(errno)),
        }
    }

    fn matches(&mut self, syscall: Syscall, paths: &[&std::path::Path]) -> bool {
        let Some(kind) = CallKind::of(syscall) else {
            return false;
        };
        let m = &self.fault.matching;
        if !m.kind.covers(kind) {
            return false;
        }
        if self.fault.action.writes_only() && kind != CallKind::Write {
            return false;
        }
        if let Some(want) = &m.path {
            if !paths.iter().any(|p| p == want) {
                return false;
            }
        }
        if self.left > 0 {
            self.left -= 1;
            return false;
        }
        true
    }
}
