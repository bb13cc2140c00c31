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
//! - [`TraceAccount`]: replays the file-system calls the implementation made during each
//!   call ([`FsOp`], reported by its driver today, seen by a recorder of system calls
//!   later) into a simulated disk ([`crate::sim`]) and takes crash states from its
//!   persistence model: data durable per file only after that file's fsync, directory
//!   entries (creations, renames) only after the directory's fsync, a failed fsync losing
//!   what was not durable. It sees a missing fsync, a rename that is not durable, the old
//!   log a crash brings back.
//!
//! Guarantees of the contract: [`Account::state`] describes the file on disk now (its bytes
//! are the real file's: a trace that does not account for them is an error, never silently
//! trusted) and every file a crash may leave at its path; [`Account::loaded`] makes the file
//! all durable; [`Account::lost`] (the implementation died inside a call) drops whatever the
//! account could not see.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use eaof::storage::{Storage, StorageFile};

use crate::files::{self, HarnessAccount};
use crate::sim::{Persistence, SimDisk, SimFile};
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
        "the harness's account (durable: what the last acknowledged sync covered)"
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
    shadow: SimDisk,
    files: HashMap<u64, SimFile>,
}

/// Open handles a trace may name at once (a writer holds two or three).
pub const TRACE_HANDLES_MAX: usize = 1024;

impl TraceAccount {
    /// An account of the log at `path`, which does not exist yet.
    pub fn new(path: PathBuf) -> Self {
        TraceAccount {
            path,
            shadow: SimDisk::new(),
            files: HashMap::new(),
        }
    }

    fn reset(&mut self) {
        self.shadow = SimDisk::new();
        self.files.clear();
    }

    fn handle(&mut self, fd: u64) -> Result<&mut SimFile, AccountError> {
        self.files
            .get_mut(&fd)
            .ok_or_else(|| AccountError(format!("the trace names handle {fd}, never opened")))
    }

    fn open(&mut self, fd: u64, file: std::io::Result<SimFile>) -> Result<(), AccountError> {
        let file = file.map_err(|e| AccountError(format!("the trace opens handle {fd}: {e}")))?;
        if self.files.len() >= TRACE_HANDLES_MAX && !self.files.contains_key(&fd) {
            return Err(AccountError(format!(
                "the trace holds more than {TRACE_HANDLES_MAX} handles open"
            )));
        }
        self.files.insert(fd, file);
        Ok(())
    }

    /// Replays one operation into the simulated disk: a failed fsync loses what was not
    /// durable (armed as a fault of the simulated disk, which does just that); any other
    /// failed call had no effect but the bytes it reports landed.
    fn apply(&mut self, op: &FsOp) -> Result<(), AccountError> {
        let refused = |what: &str, e: std::io::Error| AccountError(format!("{what}: {e}"));
        match op {
            FsOp::Open { path, fd } => {
                let file = self.shadow.open(path);
                self.open(*fd, file)?;
            }
            FsOp::Create { path, fd } => {
                let file = self.shadow.create(path);
                self.open(*fd, file)?;
            }
            FsOp::Append { fd, data, .. } => {
                if !data.is_empty() {
                    let file = self.handle(*fd)?;
                    file.append(data).map_err(|e| refused("append", e))?;
                }
            }
            FsOp::SetLen { failed: true, .. }
            | FsOp::Rename { failed: true, .. }
            | FsOp::SyncDir { failed: true, .. } => {}
            FsOp::SetLen { fd, len, .. } => {
                let file = self.handle(*fd)?;
                file.set_len(*len).map_err(|e| refused("set_len", e))?;
            }
            FsOp::Sync { fd, failed } => {
                if *failed {
                    self.shadow
                        .fail_op_at(self.shadow.op_count(), Persistence::Once);
                }
                let file = self.handle(*fd)?;
                match (file.sync(), failed) {
                    (Ok(()), false) | (Err(_), true) => {}
                    (result, _) => {
                        return Err(AccountError(format!(
                            "fsync of handle {fd} replayed as {result:?}"
                        )))
                    }
                }
            }
            FsOp::Rename { from, to, .. } => {
                self.shadow
                    .rename(from, to)
                    .map_err(|e| refused("rename", e))?;
            }
            FsOp::SyncDir { path, .. } => {
                self.shadow
                    .sync_dir(path)
                    .map_err(|e| refused("fsync_dir", e))?;
            }
        }
        Ok(())
    }

    /// The path of the log.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Account for TraceAccount {
    fn describe(&self) -> &'static str {
        "a trace of the implementation's file-system calls, on the simulated disk's \
         persistence model"
    }

    fn needs_trace(&self) -> bool {
        true
    }

    fn removed(&mut self) {
        self.reset();
    }

    fn loaded(&mut self, image: &[u8]) {
        self.reset();
        // A path without a file name cannot be the log's: the harness made it.
        let _ = self.shadow.put_durable(&self.path, image);
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
        let state = self.shadow.file_state(&self.path);
        let real = files::read(&self.path).map_err(|e| AccountError(e.to_string()))?;
        if state.bytes != real {
            let differs = state
                .bytes
                .iter()
                .zip(&real)
                .position(|(a, b)| a != b)
                .unwrap_or(state.bytes.len().min(real.len()));
            return Err(AccountError(format!(
                "the implementation's trace does not account for the log: replayed, it gives \
                 {} bytes, the file holds {} (first difference at byte {differs})",
                state.bytes.len(),
                real.len()
            )));
        }
        Ok(state)
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
        let state = account.shadow.file_state("/d/shard-0.aof");
        assert_eq!(state.bytes, b"EAOF\x02");
        assert_eq!(state.durable_len, 5);
        // The creation is not durable: no file is an alternative.
        assert_eq!(state.alternatives, vec![FileState::default()]);
        let account = trace_of(&[
            open(1),
            append(1, b"EAOF\x02"),
            sync(1, false),
            sync_dir(),
            append(1, b"rec"),
        ]);
        let state = account.shadow.file_state("/d/shard-0.aof");
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
        let state = account.shadow.file_state("/d/shard-0.aof");
        assert_eq!(state.bytes, b"EAOF\x02");
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
        let state = account.shadow.file_state("/d/shard-0.aof");
        assert_eq!(state.bytes, b"EAOF\x02");
        assert_eq!(state.alternatives.len(), 1, "{state:?}");
        assert_eq!(state.alternatives[0].bytes, b"EAOF\x02old");
    }

    #[test]
    fn a_trace_naming_an_unknown_handle_is_an_error() {
        let mut account = TraceAccount::new("/d/shard-0.aof".into());
        assert!(account.called(Op::Write, true, &[append(9, b"x")]).is_err());
    }
}
