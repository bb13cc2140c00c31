//! Durability accounts: what a crash can leave of a log file that an implementation writes
//! itself, on real files. The one replaceable part of a process target
//! ([`crate::process`]): the target drives the implementation and tells the account what
//! each call did; the account answers [`Account::state`], from which the engines compute
//! crash states.
//!
//! Two accounts, one contract:
//! - [`HarnessAccount`] (in [`crate::files`]): knows only the calls the harness made; bytes
//!   are durable once a `sync` the harness called returned `Ok`. It sees one file, no
//!   directory, and trusts the implementation's `sync` (a `sync` that does not fsync looks
//!   the same);
//! - [`TraceAccount`]: the file-system calls a driver reports itself during each call
//!   ([`FsOp`], docs/DRIVER.md "Traces"), turned into the events the system-call recorder
//!   gives and fed to the recorder's persistence model ([`crate::recorded`]: the one model
//!   for traces, so that a reported trace and a recorded one mean the same): data durable
//!   per file only after that file's fsync, directory entries (creations, renames) only
//!   after the directory's fsync, a failed fsync losing what was not durable. It sees a
//!   missing fsync, a rename that is not durable, the old log a crash brings back, no file
//!   where a creation is not durable.
//!
//! A process target run under the recorder (the default for `--target cmd` on Linux
//! x86_64: [`crate::channel`]) takes its account from the recorder itself, from the
//! system calls the child made, and needs neither of these.
//!
//! Guarantees of the contract: [`Account::state`] describes the file on disk now (its bytes
//! are the real file's: a trace that does not account for them is an error, never silently
//! trusted) and every file a crash may leave at its path; [`Account::loaded`] makes the file
//! all durable; [`Account::lost`] (the implementation died inside a call) drops whatever the
//! account could not see.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use eaof_trace::{Call, Errno, Event, FileId, Op as EventOp, Seen, SeenKind, Syscall, What};

use crate::files::{self, HarnessAccount};
use crate::recorded::{self, Persistence};
use crate::target::{FileState, Op};
use crate::trace::FsOp;

/// Why an account cannot say what a crash leaves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AccountError(pub String);

/// A durability account of one log file (see the module documentation).
pub trait Account {
    /// What the account is, for reports.
    fn describe(&self) -> &'static str;

    /// Whether the account needs the implementation's trace of file-system calls.
    fn needs_trace(&self) -> bool;

    /// The file was removed (a new run): nothing is on disk.
    fn removed(&mut self);

    /// The harness made the file exactly `image`, all of it durable (a crash).
    fn loaded(&mut self, image: &[u8]);

    /// A call of the implementation returned (`ok`: with `Ok`), having made the file-system
    /// calls `trace`.
    fn called(&mut self, op: Op, ok: bool, trace: &[FsOp]) -> Result<(), AccountError>;

    /// The implementation died inside a call: what it did since the last call is unknown.
    fn lost(&mut self);

    /// What is on disk now, and what a crash may leave.
    fn state(&self) -> Result<FileState, AccountError>;
}

impl Account for HarnessAccount {
    fn describe(&self) -> &'static str {
        crate::process::HARNESS_ACCOUNT
    }

    fn needs_trace(&self) -> bool {
        false
    }

    fn removed(&mut self) {
        HarnessAccount::removed(self);
    }

    fn loaded(&mut self, image: &[u8]) {
        HarnessAccount::loaded(self, image);
    }

    fn called(&mut self, op: Op, ok: bool, _trace: &[FsOp]) -> Result<(), AccountError> {
        self.after_call(op, ok);
        Ok(())
    }

    fn lost(&mut self) {
        self.after_write();
    }

    fn state(&self) -> Result<FileState, AccountError> {
        HarnessAccount::state(self).map_err(|e| AccountError(e.to_string()))
    }
}

/// The account a trace of file-system calls gives (see the module documentation).
pub struct TraceAccount {
    path: PathBuf,
    model: Persistence,
    /// The file each open handle names (a handle keeps its file across renames).
    handles: HashMap<u64, (FileId, PathBuf)>,
    /// The file each live name in the directory names, as the trace made them.
    names: HashMap<PathBuf, FileId>,
    next_ino: u64,
    seq: u64,
}

/// Open handles a trace may name at once (a writer holds two or three).
pub const TRACE_HANDLES_MAX: usize = 1024;

/// The error a failed call reports in the events a trace becomes (a writeback error, which
/// loses a file's unsynced data when an fsync returns it).
const FAILED: Errno = Errno::EIO;

impl TraceAccount {
    /// An account of the log at `path`, which does not exist yet.
    pub fn new(path: PathBuf) -> Self {
        let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
        TraceAccount {
            path,
            model: Persistence::new(root),
            handles: HashMap::new(),
            names: HashMap::new(),
            next_ino: 1,
            seq: 0,
        }
    }

    fn reset(&mut self) {
        self.model = Persistence::new(self.model.root().to_path_buf());
        self.handles.clear();
        self.names.clear();
    }

    fn feed(&mut self, what: What) {
        let event = Event {
            seq: self.seq,
            pid: 0,
            tid: 0,
            what,
        };
        self.seq += 1;
        self.model.apply(&event);
    }

    fn call(&mut self, syscall: Syscall, op: EventOp, failed: bool, done: u64) {
        let result = match failed {
            true => Err(FAILED),
            false => Ok(done),
        };
        self.feed(What::Call(Call {
            syscall,
            op,
            result,
            fault: None,
        }));
    }

    fn new_file(&mut self) -> FileId {
        self.next_ino += 1;
        FileId {
            dev: 0,
            ino: self.next_ino,
        }
    }

    fn handle(&self, fd: u64) -> Result<(FileId, PathBuf), AccountError> {
        self.handles
            .get(&fd)
            .cloned()
            .ok_or_else(|| AccountError(format!("the trace names handle {fd}, never opened")))
    }

    /// `path` opened as handle `fd`: created when no file has that name (`truncate`:
    /// cut to nothing when one has).
    fn open(&mut self, path: &Path, fd: u64, truncate: bool) -> Result<(), AccountError> {
        if self.handles.len() >= TRACE_HANDLES_MAX && !self.handles.contains_key(&fd) {
            return Err(AccountError(format!(
                "the trace holds more than {TRACE_HANDLES_MAX} handles open"
            )));
        }
        let (file, created) = match self.names.get(path) {
            Some(file) => (*file, false),
            None => (self.new_file(), true),
        };
        let flags = libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT;
        let flags = if truncate {
            flags | libc::O_TRUNC
        } else {
            flags
        };
        self.call(
            Syscall::Openat,
            EventOp::Open {
                path: path.to_path_buf(),
                flags,
                mode: 0o644,
                file: Some(file),
                created,
                dir: false,
            },
            false,
            fd,
        );
        self.names.insert(path.to_path_buf(), file);
        self.handles.insert(fd, (file, path.to_path_buf()));
        Ok(())
    }

    /// Feeds one operation to the model as the system calls it stands for.
    fn apply(&mut self, op: &FsOp) -> Result<(), AccountError> {
        match op {
            FsOp::Open { path, fd } => self.open(path, *fd, false)?,
            FsOp::Create { path, fd } => self.open(path, *fd, true)?,
            FsOp::Append { fd, data, failed } => {
                let (file, path) = self.handle(*fd)?;
                let offset = self.model.live_contents(file).map_or(0, |b| b.len() as u64);
                let op = EventOp::Write {
                    fd: *fd as i32,
                    path,
                    file,
                    offset,
                    requested: data.len() as u64,
                    data: data.clone(),
                    complete: true,
                    synchronous: false,
                };
                self.call(Syscall::Write, op, *failed, data.len() as u64);
            }
            FsOp::SetLen { fd, len, failed } => {
                let (file, path) = self.handle(*fd)?;
                let op = EventOp::Truncate {
                    fd: Some(*fd as i32),
                    path,
                    file,
                    len: *len,
                };
                self.call(Syscall::Ftruncate, op, *failed, 0);
            }
            FsOp::Sync { fd, failed } => {
                let (file, path) = self.handle(*fd)?;
                let op = EventOp::Sync {
                    fd: *fd as i32,
                    path,
                    file,
                    dir: false,
                    data_only: false,
                };
                self.call(Syscall::Fsync, op, *failed, 0);
            }
            FsOp::Rename { from, to, failed } => {
                let op = EventOp::Rename {
                    from: from.clone(),
                    to: to.clone(),
                    flags: 0,
                };
                self.call(Syscall::Rename, op, *failed, 0);
                if !failed {
                    if let Some(file) = self.names.remove(from) {
                        self.names.insert(to.clone(), file);
                    }
                }
            }
            FsOp::SyncDir { path, failed } => {
                let op = EventOp::Sync {
                    fd: -1,
                    path: path.clone(),
                    file: FileId { dev: 0, ino: 0 },
                    dir: true,
                    data_only: false,
                };
                self.call(Syscall::Fsync, op, *failed, 0);
            }
        }
        Ok(())
    }

    /// The path of the log.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The log's state by the model alone, its bytes now being `on_disk`.
    fn model_state(&self, on_disk: Option<&[u8]>) -> FileState {
        recorded::state_at(self.model.crash_states(&self.path), on_disk)
    }
}

impl Account for TraceAccount {
    fn describe(&self) -> &'static str {
        crate::process::TRACE_ACCOUNT
    }

    fn needs_trace(&self) -> bool {
        true
    }

    fn removed(&mut self) {
        self.reset();
    }

    fn loaded(&mut self, image: &[u8]) {
        self.reset();
        let file = self.new_file();
        self.names.insert(self.path.clone(), file);
        self.feed(What::Seen(Seen {
            path: self.path.clone(),
            file,
            kind: SeenKind::File(image.to_vec()),
        }));
    }

    fn called(&mut self, _op: Op, _ok: bool, trace: &[FsOp]) -> Result<(), AccountError> {
        trace.iter().try_for_each(|op| self.apply(op))
    }

    fn lost(&mut self) {
        // What the implementation did before it died is unknown: the file as it is now is
        // taken as the start of a new account (all durable), so that a run can go on; the
        // death itself is the finding.
        let bytes = files::read(&self.path).unwrap_or_default();
        self.loaded(&bytes);
    }

    fn state(&self) -> Result<FileState, AccountError> {
        let real = files::read_present(&self.path).map_err(|e| AccountError(e.to_string()))?;
        let live = self
            .names
            .get(&self.path)
            .and_then(|file| self.model.live_contents(*file));
        if let (Some(live), Some(real)) = (live, &real) {
            if live != real.as_slice() {
                let differs = live
                    .iter()
                    .zip(real)
                    .position(|(a, b)| a != b)
                    .unwrap_or(live.len().min(real.len()));
                return Err(AccountError(format!(
                    "the implementation's trace does not account for the log: replayed, it \
                     gives {} bytes, the file holds {} (first difference at byte {differs})",
                    live.len(),
                    real.len()
                )));
            }
        }
        Ok(self.model_state(real.as_deref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace_of(ops: &[FsOp]) -> TraceAccount {
        let mut account = TraceAccount::new("/d/shard-0.aof".into());
        account.called(Op::Write, true, ops).unwrap();
        account
    }

    fn open(fd: u64) -> FsOp {
        FsOp::Open {
            path: "/d/shard-0.aof".into(),
            fd,
        }
    }

    fn append(fd: u64, data: &[u8]) -> FsOp {
        FsOp::Append {
            fd,
            data: data.to_vec(),
            failed: false,
        }
    }

    fn sync(fd: u64, failed: bool) -> FsOp {
        FsOp::Sync { fd, failed }
    }

    fn sync_dir() -> FsOp {
        FsOp::SyncDir {
            path: "/d".into(),
            failed: false,
        }
    }

    #[test]
    fn only_synced_bytes_under_a_synced_entry_are_durable() {
        let account = trace_of(&[open(1), append(1, b"EAOF\x02"), sync(1, false)]);
        let state = account.model_state(Some(b"EAOF\x02"));
        assert_eq!(state.bytes, b"EAOF\x02");
        assert_eq!(state.durable_len, 5);
        // The creation is not durable: no file is an alternative.
        assert_eq!(state.alternatives, vec![FileState::absent()]);
        let account = trace_of(&[
            open(1),
            append(1, b"EAOF\x02"),
            sync(1, false),
            sync_dir(),
            append(1, b"rec"),
        ]);
        let state = account.model_state(Some(b"EAOF\x02rec"));
        assert_eq!((state.durable_len, state.write_ends.clone()), (5, vec![8]));
        assert!(state.alternatives.is_empty());
    }

    #[test]
    fn a_failed_fsync_loses_what_was_not_durable() {
        let account = trace_of(&[
            open(1),
            append(1, b"EAOF\x02"),
            sync(1, false),
            sync_dir(),
            append(1, b"rec"),
            sync(1, true),
        ]);
        let state = account.model_state(Some(b"EAOF\x02"));
        assert_eq!(state.bytes, b"EAOF\x02");
        assert_eq!(state.unmodellable, None);
        assert!(state.alternatives.is_empty(), "{state:?}");
    }

    #[test]
    fn a_rename_that_is_not_durable_leaves_the_old_file_as_an_alternative() {
        let tmp = "/d/shard-0.aof.tmp";
        let account = trace_of(&[
            open(1),
            append(1, b"EAOF\x02old"),
            sync(1, false),
            sync_dir(),
            FsOp::Create {
                path: tmp.into(),
                fd: 2,
            },
            append(2, b"EAOF\x02"),
            sync(2, false),
            FsOp::Rename {
                from: tmp.into(),
                to: "/d/shard-0.aof".into(),
                failed: false,
            },
        ]);
        let state = account.model_state(Some(b"EAOF\x02"));
        assert_eq!(state.bytes, b"EAOF\x02");
        assert_eq!(state.alternatives.len(), 1, "{state:?}");
        assert_eq!(state.alternatives[0].bytes, b"EAOF\x02old");
    }

    #[test]
    fn a_file_the_model_does_not_hold_is_unmodellable_not_trusted() {
        let account = trace_of(&[open(1), append(1, b"EAOF\x02"), sync(1, false)]);
        let state = account.model_state(Some(b"EAOF\x02other"));
        assert!(state.unmodellable.is_some(), "{state:?}");
    }

    #[test]
    fn a_trace_naming_an_unknown_handle_is_an_error() {
        let mut account = TraceAccount::new("/d/shard-0.aof".into());
        assert!(account.called(Op::Write, true, &[append(9, b"x")]).is_err());
    }
}
