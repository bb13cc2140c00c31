//! eaof as a driver: its own writer and reader on real files, through `std::fs` (not the
//! simulated disk), with what a driver may offer beyond the required requests:
//! - a trace of every file-system call its writer makes, at the storage seam ([`FsOp`]), so
//!   the checker can account for durability from what was done, not from what was asked;
//! - fault injection at the storage seam ([`Fault`]), with the simulated disk's meaning: an
//!   operation failing with EIO and no effect, except a failed fsync, which also loses what
//!   was not yet durable (the file is put back to its durable contents, as Linux drops the
//!   dirty pages of a failed writeback); an append crossing a byte budget writing what fits
//!   and failing with ENOSPC;
//! - a planted bug ([`crate::planted`]), between the writer and this storage.
//!
//! Until a recorder of system calls sees the writer's calls, the trace and the faults live
//! here, at the driver's storage seam (docs/DRIVER.md says so). Nonces count from a prefix
//! that is the number of openings since the file was created, so the same requests give the
//! same bytes.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::Path;
use std::rc::Rc;

use eaof::storage::{read_exact_at, FsStorage, Storage, StorageFile};
use eaof::{AofReader, AofRecord, AofWriter};

use super::serve::{Driver, DriverError};
use super::{Hello, Key, PROTOCOL_VERSION};
use crate::eaof::{read_all, Writing};
use crate::planted::{Bug, Planted};
use crate::target::{ErrorKind, Fault, Op, ReadBack, TargetError, Version};
use crate::trace::FsOp;

/// What the storage's handles share: the trace, the operation count, the armed faults.
#[derive(Debug, Default)]
struct Shared {
    trace: Vec<FsOp>,
    next_fd: u64,
    ops: u64,
    /// The operation index that fails (once).
    fail_op_at: Option<u64>,
    /// Bytes appends may still write before one fails short (once).
    write_budget: Option<u64>,
}

impl Shared {
    /// Counts an operation; whether an injected failure strikes it.
    fn begin(&mut self) -> bool {
        let index = self.ops;
        self.ops += 1;
        if self.fail_op_at == Some(index) {
            self.fail_op_at = None;
            return true;
        }
        false
    }
}

fn injected() -> io::Error {
    io::Error::other("injected EIO")
}

/// `std::fs` with a trace and faults (see the module documentation). Clones share one
/// trace and one set of faults.
#[derive(Debug, Clone, Default)]
pub struct TracedFiles {
    shared: Rc<RefCell<Shared>>,
}

impl TracedFiles {
    fn begin(&self) -> io::Result<()> {
        match self.shared.borrow_mut().begin() {
            true => Err(injected()),
            false => Ok(()),
        }
    }

    fn record(&self, op: FsOp) {
        self.shared.borrow_mut().trace.push(op);
    }

    fn handle(&self, file: File, traced: impl Fn(u64) -> FsOp) -> TracedFile {
        let fd = {
            let mut shared = self.shared.borrow_mut();
            shared.next_fd += 1;
            shared.next_fd
        };
        self.record(traced(fd));
        TracedFile {
            durable: durable_contents(&file),
            file,
            fd,
            storage: self.clone(),
        }
    }
}

/// The file's contents as it is opened: taken as durable (what a crash before left).
fn durable_contents(file: &File) -> Vec<u8> {
    let len = file.metadata().map_or(0, |m| m.len() as usize);
    let mut out = vec![0; len];
    match read_exact_at(file, 0, &mut out) {
        Ok(()) => out,
        Err(_) => Vec::new(),
    }
}

impl Storage for TracedFiles {
    type File = TracedFile;

    fn open(&self, path: &Path) -> io::Result<TracedFile> {
        self.begin()?;
        let file = FsStorage.open(path)?;
        Ok(self.handle(file, |fd| FsOp::Open {
            path: path.to_path_buf(),
            fd,
        }))
    }

    fn open_read(&self, path: &Path) -> io::Result<TracedFile> {
        self.begin()?;
        let file = FsStorage.open_read(path)?;
        // Reading changes nothing a crash leaves: not traced, no handle number.
        Ok(TracedFile {
            durable: Vec::new(),
            file,
            fd: 0,
            storage: self.clone(),
        })
    }

    fn create(&self, path: &Path) -> io::Result<TracedFile> {
        self.begin()?;
        let file = FsStorage.create(path)?;
        Ok(self.handle(file, |fd| FsOp::Create {
            path: path.to_path_buf(),
            fd,
        }))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.begin()?;
        FsStorage.rename(from, to)?;
        self.record(FsOp::Rename {
            from: from.to_path_buf(),
            to: to.to_path_buf(),
            failed: false,
        });
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.begin()?;
        FsStorage.sync_dir(dir)?;
        self.record(FsOp::SyncDir {
            path: dir.to_path_buf(),
            failed: false,
        });
        Ok(())
    }
}

/// A file of [`TracedFiles`], with its durable contents (to put back after a failed fsync).
#[derive(Debug)]
pub struct TracedFile {
    file: File,
    fd: u64,
    durable: Vec<u8>,
    storage: TracedFiles,
}

impl TracedFile {
    fn current(&self) -> io::Result<Vec<u8>> {
        let mut out = vec![0; StorageFile::len(&self.file)? as usize];
        read_exact_at(&self.file, 0, &mut out)?;
        Ok(out)
    }

    /// Writes `data` (appending), tracing what landed.
    fn write_traced(&mut self, data: &[u8], failed: bool) -> io::Result<()> {
        let before = StorageFile::len(&self.file)?;
        let result = self.file.write_all(data);
        let after = StorageFile::len(&self.file)?;
        let landed = (after.saturating_sub(before) as usize).min(data.len());
        if landed > 0 || failed || result.is_err() {
            self.storage.record(FsOp::Append {
                fd: self.fd,
                data: data[..landed].to_vec(),
                failed: failed || result.is_err(),
            });
        }
        result
    }
}

impl StorageFile for TracedFile {
    fn len(&self) -> io::Result<u64> {
        self.storage.begin()?;
        StorageFile::len(&self.file)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.storage.begin()?;
        StorageFile::read_at(&self.file, offset, buf)
    }

    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        self.storage.begin()?;
        let budget = self.storage.shared.borrow().write_budget;
        match budget {
            Some(budget) if data.len() as u64 > budget => {
                self.storage.shared.borrow_mut().write_budget = None;
                self.write_traced(&data[..budget as usize], true)?;
                Err(io::Error::new(
                    io::ErrorKind::StorageFull,
                    "injected ENOSPC (no space left on device)",
                ))
            }
            Some(budget) => {
                self.storage.shared.borrow_mut().write_budget = Some(budget - data.len() as u64);
                self.write_traced(data, false)
            }
            None => self.write_traced(data, false),
        }
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.storage.begin()?;
        self.file.set_len(len)?;
        self.storage.record(FsOp::SetLen {
            fd: self.fd,
            len,
            failed: false,
        });
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        if self.storage.begin().is_err() {
            // Linux drops the dirty pages of a failed writeback: the file is put back to
            // what was durable.
            self.file.set_len(0)?;
            self.file.seek(SeekFrom::Start(0))?;
            self.file.write_all(&self.durable)?;
            self.storage.record(FsOp::Sync {
                fd: self.fd,
                failed: true,
            });
            return Err(injected());
        }
        self.file.sync_all()?;
        self.durable = self.current()?;
        self.storage.record(FsOp::Sync {
            fd: self.fd,
            failed: false,
        });
        Ok(())
    }
}

/// eaof's writer and reader behind the protocol (see the module documentation).
pub struct EaofDriver {
    storage: TracedFiles,
    bug: Option<Bug>,
    writing: Option<Writing<Planted<TracedFiles>>>,
}

fn driver_error(e: TargetError) -> DriverError {
    match e.kind {
        ErrorKind::Poisoned => DriverError::Poisoned(e.message),
        _ => DriverError::Failed(e.message),
    }
}

impl EaofDriver {
    /// The driver, with `bug` planted (or none).
    pub fn new(bug: Option<Bug>) -> Self {
        EaofDriver {
            storage: TracedFiles::default(),
            bug,
            writing: None,
        }
    }

    fn with(
        &mut self,
        op: Op,
        call: impl FnOnce(&mut AofWriter<Planted<TracedFiles>>) -> Result<(), eaof::FormatError>,
    ) -> Result<(), DriverError> {
        let writing = self
            .writing
            .as_mut()
            .ok_or_else(|| DriverError::Failed("no writer is open".into()))?;
        writing.with(op, call).map_err(driver_error)
    }
}

impl Driver for EaofDriver {
    fn hello(&self) -> Hello {
        Hello {
            name: match self.bug {
                None => format!("eaof {} (real files)", env!("CARGO_PKG_VERSION")),
                Some(bug) => format!(
                    "eaof {} with {bug} planted (real files)",
                    env!("CARGO_PKG_VERSION")
                ),
            },
            protocol: PROTOCOL_VERSION,
            versions: Version::ALL.to_vec(),
            truncate: true,
            keys: true,
            inject: true,
            trace: true,
            deterministic: true,
        }
    }

    fn open(&mut self, path: &Path, key: Option<Key>) -> Result<(), DriverError> {
        let same_file = path.exists()
            && self
                .writing
                .as_ref()
                .is_some_and(|writing| writing.path() == path);
        let writing = match &mut self.writing {
            Some(writing) if same_file => writing,
            writing => {
                // A new file: nonces start again from the first opening's prefix.
                writing.insert(Writing::new(
                    Planted::new(self.storage.clone(), self.bug),
                    path.to_path_buf(),
                    Bug::carries_on(self.bug),
                ))
            }
        };
        writing.open(key, Op::Reopen).map_err(driver_error)
    }

    fn write(&mut self, record: &AofRecord) -> Result<(), DriverError> {
        self.with(Op::Write, |w| w.write_record(record))
    }

    fn flush(&mut self) -> Result<(), DriverError> {
        self.with(Op::Flush, AofWriter::flush)
    }

    fn sync(&mut self) -> Result<(), DriverError> {
        self.with(Op::Sync, AofWriter::sync)
    }

    fn truncate(&mut self) -> Result<(), DriverError> {
        self.with(Op::Truncate, AofWriter::truncate)
    }

    fn close(&mut self) -> Result<(), DriverError> {
        if let Some(writing) = &mut self.writing {
            writing.close();
        }
        Ok(())
    }

    fn crash(&mut self) {
        // eaof does no I/O when its writer is dropped: nothing more reaches the file.
        if let Some(writing) = &mut self.writing {
            writing.close();
        }
    }

    fn read(&mut self, path: &Path, key: Option<Key>) -> ReadBack {
        let key = key.map(eaof::encryption::EncryptionKey::from_bytes);
        read_all(AofReader::open_in(&FsStorage, path, key.as_ref()))
    }

    fn inject(&mut self, fault: Fault) -> Result<(), DriverError> {
        let mut shared = self.storage.shared.borrow_mut();
        match fault {
            Fault::FailOpAt { after } => shared.fail_op_at = Some(shared.ops + after),
            Fault::FailWriteAfter { bytes } => shared.write_budget = Some(bytes),
            system => {
                return Err(DriverError::Unsupported(format!(
                    "this driver does not inject system-call faults ({system})"
                )))
            }
        }
        Ok(())
    }

    fn take_trace(&mut self) -> Option<Vec<FsOp>> {
        Some(std::mem::take(&mut self.storage.shared.borrow_mut().trace))
    }

    fn operations(&self) -> Option<u64> {
        Some(self.storage.shared.borrow().ops)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::serve::answer;
    use crate::driver::Request;
    use serde_json::{json, Value};

    fn ask(driver: &mut EaofDriver, request: Request) -> Value {
        answer(driver, &request.to_json().unwrap())
    }

    fn ops(answer: &Value) -> Vec<String> {
        let trace = FsOp::list_from_json(&answer["trace"]).unwrap();
        trace
            .iter()
            .map(|op| {
                let json = op.to_json();
                let name = json["op"].as_str().unwrap().to_owned();
                match op.failed() {
                    true => format!("{name}!"),
                    false => name,
                }
            })
            .collect()
    }

    fn open(path: &Path) -> Request {
        Request::Open {
            path: path.to_path_buf(),
            key: None,
        }
    }

    fn record() -> Request {
        Request::Write {
            record: AofRecord::Del { key: "k".into() },
        }
    }

    #[test]
    fn the_greeting_says_what_the_driver_does_and_survives_the_trace() {
        let mut driver = EaofDriver::new(None);
        let hello = Hello::from_json(&ask(&mut driver, Request::Hello)).unwrap();
        assert_eq!(hello, driver.hello());
        assert!(hello.trace && hello.inject && hello.truncate && hello.keys);
    }

    #[test]
    fn every_call_that_changes_what_a_crash_leaves_is_traced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shard-0.aof");
        let mut driver = EaofDriver::new(None);
        let opened = ask(&mut driver, open(&path));
        assert_eq!(opened["ok"], true, "{opened}");
        assert_eq!(ops(&opened), ["open", "append", "fsync", "fsync_dir"]);
        assert_eq!(ops(&ask(&mut driver, record())), Vec::<String>::new());
        assert_eq!(ops(&ask(&mut driver, Request::Sync)), ["append", "fsync"]);
        let truncated = ask(&mut driver, Request::Truncate);
        assert_eq!(
            ops(&truncated),
            ["create", "append", "fsync", "rename", "fsync_dir", "open"]
        );
        assert!(truncated["ops"].as_u64().unwrap() > 10);
    }

    #[test]
    fn an_injected_failed_fsync_loses_what_was_not_durable_and_poisons() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shard-0.aof");
        let mut driver = EaofDriver::new(None);
        ask(&mut driver, open(&path));
        ask(&mut driver, record());
        ask(&mut driver, Request::Flush);
        assert!(std::fs::metadata(&path).unwrap().len() > 5);
        // The next operation is the fsync.
        let fault = Fault::FailOpAt { after: 0 };
        assert_eq!(ask(&mut driver, Request::Inject { fault })["ok"], true);
        let synced = ask(&mut driver, Request::Sync);
        assert!(synced["error"].is_string(), "{synced}");
        assert_eq!(ops(&synced), ["fsync!"]);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"EAOF\x02",
            "back to the durable bytes"
        );
        let refused = ask(&mut driver, record());
        assert_eq!(refused["poisoned"], true, "{refused}");
    }

    #[test]
    fn a_write_budget_makes_a_short_write_then_enospc() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shard-0.aof");
        let mut driver = EaofDriver::new(None);
        ask(&mut driver, open(&path));
        ask(&mut driver, record());
        let fault = Fault::FailWriteAfter { bytes: 3 };
        ask(&mut driver, Request::Inject { fault });
        let flushed = ask(&mut driver, Request::Flush);
        assert!(flushed["error"].is_string(), "{flushed}");
        let trace = FsOp::list_from_json(&flushed["trace"]).unwrap();
        assert!(
            matches!(&trace[..], [FsOp::Append { data, failed: true, .. }] if data.len() == 3),
            "{trace:?}"
        );
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 5 + 3);
    }

    #[test]
    fn a_batch_is_answered_request_by_request_and_a_bad_request_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shard-0.aof");
        let mut driver = EaofDriver::new(None);
        let batch = Request::Batch {
            requests: vec![
                open(&path),
                record(),
                Request::Sync,
                Request::Read {
                    path: path.clone(),
                    key: None,
                },
                Request::Crash,
            ],
        };
        let answered = ask(&mut driver, batch);
        let answers = answered["answers"].as_array().unwrap();
        assert_eq!(answers.len(), 5);
        assert_eq!(
            answers[3]["records"].as_array().unwrap().len(),
            1,
            "{answered}"
        );
        assert_eq!(answers[3]["end"], "clean");
        let bad = answer(&mut driver, &json!({"op": "fly"}));
        assert!(
            bad["error"].as_str().unwrap().contains("unknown op"),
            "{bad}"
        );
        let mut input = Vec::new();
        eaof_conformance::protocol::write_frame(&mut input, &json!({"op": "fly"})).unwrap();
        eaof_conformance::protocol::write_frame(&mut input, &json!({"op": "hello"})).unwrap();
        let mut output = Vec::new();
        super::super::serve(&mut driver, &mut &input[..], &mut output).unwrap();
        let mut replies = &output[..];
        let first = eaof_conformance::protocol::read_frame(&mut replies)
            .unwrap()
            .unwrap();
        let second = eaof_conformance::protocol::read_frame(&mut replies)
            .unwrap()
            .unwrap();
        assert!(String::from_utf8(first).unwrap().contains("error"));
        assert!(String::from_utf8(second).unwrap().contains("\"name\""));
    }
}
