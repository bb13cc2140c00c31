//! Adapters that check `eaof` itself: its writer and reader on the simulated disk
//! ([`EaofSim`], with fault injection, and optionally a planted bug) and on real files
//! ([`EaofFs`]).
//!
//! Both write version 3 files with counting nonces, a fresh nonce prefix for each opening of
//! a writer, restarted by [`Target::create`]: the same calls give the same bytes, so engines
//! can merge identical images. Reading goes through `AofReader`, and the verdict it reached
//! is reported with the records. On the simulated disk the crash states come from its
//! persistence model, directory included ([`SimDisk::file_state`]); on real files, from the
//! harness's account ([`crate::files`]).

use std::path::{Path, PathBuf};

use eaof::aof::WriterOptions;
use eaof::encryption::{CountingNonces, EncryptionKey};
use eaof::format::FormatError;
use eaof::storage::{FsStorage, Storage, StorageFile};
use eaof::{AofReader, AofRecord, AofWriter};

use crate::files::TrackedFile;
use crate::planted::{Bug, Planted};
use crate::sim::{Persistence, SimDisk};
use crate::target::{
    Capabilities, ErrorKind, Fault, FileState, Keying, Op, ReadBack, Target, TargetError, Version,
};

/// What both adapters can do.
const CAPABILITIES: Capabilities = Capabilities {
    truncate: true,
    keys: true,
};

/// The key bytes of `keying`, and back (for the adapters, whose writers take key bytes).
fn keying_of(key: Option<[u8; 32]>) -> Keying {
    Keying::ALL
        .into_iter()
        .find(|k| k.key_bytes() == key)
        .unwrap_or(Keying::Plain)
}

/// The log's path on the simulated disk.
pub const SIM_PATH: &str = "data/shard-0.aof";

fn options(key: Option<[u8; 32]>, opening: u32) -> WriterOptions {
    match key {
        None => WriterOptions::default(),
        Some(key) => WriterOptions::default()
            .key(EncryptionKey::from_bytes(key))
            .nonces(CountingNonces::new(opening.to_le_bytes())),
    }
}

fn error(op: Op, e: FormatError) -> TargetError {
    match e {
        FormatError::Poisoned(why) => TargetError::new(op, ErrorKind::Poisoned, why),
        e => TargetError::failed(op, e),
    }
}

fn no_writer(op: Op) -> TargetError {
    TargetError::unsupported(op, "no writer is open (the last open or reopen failed)")
}

/// Reads every record `open` gives access to, as a recovery does.
pub(crate) fn read_all<F: StorageFile>(open: Result<AofReader<F>, FormatError>) -> ReadBack {
    let mut reader = match open {
        Ok(reader) => reader,
        Err(e) => return ReadBack::unopened(e),
    };
    let mut read = ReadBack::drain(|| reader.read_record());
    read.verdict = reader.verdict().cloned();
    read
}

/// eaof's writer on one storage: what the adapters here and the eaof driver share.
///
/// Nonces count from a prefix that is the number of openings since [`Writing::create`], so
/// the same calls give the same bytes. With [`Bug::NoPoisonAfterFailedFsync`] planted, a
/// failed call opens the writer again (see [`crate::planted`]).
pub(crate) struct Writing<S: Storage + Clone> {
    pub(crate) storage: S,
    path: PathBuf,
    key: Option<[u8; 32]>,
    writer: Option<AofWriter<S>>,
    openings: u32,
    carry_on: bool,
}

impl<S: Storage + Clone> Writing<S> {
    pub(crate) fn new(storage: S, path: PathBuf, carry_on: bool) -> Self {
        Writing {
            storage,
            path,
            key: None,
            writer: None,
            openings: 0,
            carry_on,
        }
    }

    /// The key of the last accepted opening.
    pub(crate) fn key(&self) -> Option<[u8; 32]> {
        self.key
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Forgets the writer and the openings: a new run starts.
    pub(crate) fn restart(&mut self, path: PathBuf) {
        self.writer = None;
        self.openings = 0;
        self.path = path;
    }

    /// Opens a writer on the file with `key` (its recovery runs); on `Ok`, `key` is the
    /// configuration from then on.
    pub(crate) fn open(&mut self, key: Option<[u8; 32]>, op: Op) -> Result<(), TargetError> {
        self.writer = None;
        let opening = self.openings;
        self.openings += 1;
        let writer = AofWriter::open_in(self.storage.clone(), &self.path, options(key, opening))
            .map_err(|e| error(op, e))?;
        self.writer = Some(writer);
        self.key = key;
        Ok(())
    }

    /// Runs `call` on the writer.
    pub(crate) fn with(
        &mut self,
        op: Op,
        call: impl FnOnce(&mut AofWriter<S>) -> Result<(), FormatError>,
    ) -> Result<(), TargetError> {
        let writer = self.writer.as_mut().ok_or_else(|| no_writer(op))?;
        let result = call(writer).map_err(|e| error(op, e));
        if result.is_err() && self.carry_on {
            // The planted bug: a fresh writer, unpoisoned; its own failure is not reported.
            let _ = self.open(self.key, op);
        }
        result
    }

    /// Drops the writer (a clean close: eaof does no I/O in `Drop`, so records not yet
    /// flushed are dropped with it, as they were never acknowledged).
    pub(crate) fn close(&mut self) {
        self.writer = None;
    }

    /// Reads the file with `key`, as a recovery does.
    pub(crate) fn read(&self, key: Option<[u8; 32]>) -> ReadBack {
        let key = key.map(EncryptionKey::from_bytes);
        read_all(AofReader::open_in(&self.storage, &self.path, key.as_ref()))
    }
}

/// eaof on the simulated disk (`crate::sim`), with fault injection, and a planted bug if
/// asked.
pub struct EaofSim {
    disk: SimDisk,
    version: Version,
    bug: Option<Bug>,
    writing: Writing<Planted<SimDisk>>,
}

impl EaofSim {
    /// A target writing `version` files on a fresh simulated disk.
    pub fn new(version: Version) -> Self {
        Self::with_bug(version, None)
    }

    /// The same, with `bug` planted in the writer (see [`crate::planted`]).
    pub fn with_bug(version: Version, bug: Option<Bug>) -> Self {
        let disk = SimDisk::new();
        let mut writing = Self::writing(&disk, bug);
        writing.key = Keying::of(version).key_bytes();
        EaofSim {
            writing,
            disk,
            version,
            bug,
        }
    }

    fn writing(disk: &SimDisk, bug: Option<Bug>) -> Writing<Planted<SimDisk>> {
        Writing::new(
            Planted::new(disk.clone(), bug),
            PathBuf::from(SIM_PATH),
            Bug::carries_on(bug),
        )
    }

    /// The simulated disk (shared handle).
    pub fn disk(&self) -> &SimDisk {
        &self.disk
    }

    /// A fresh disk under the same writer configuration.
    fn new_disk(&mut self) {
        let key = self.writing.key();
        self.disk = SimDisk::new();
        self.writing = Self::writing(&self.disk, self.bug);
        self.writing.key = key;
    }
}

impl Target for EaofSim {
    fn name(&self) -> String {
        match self.bug {
            None => format!("eaof {} (simulated disk)", self.version),
            Some(bug) => format!("eaof {} with {bug} planted (simulated disk)", self.version),
        }
    }

    fn version(&self) -> Version {
        self.version
    }

    fn deterministic(&self) -> bool {
        true
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    fn create(&mut self) -> Result<(), TargetError> {
        self.new_disk();
        self.writing
            .open(Keying::of(self.version).key_bytes(), Op::Create)
    }

    fn write(&mut self, record: &AofRecord) -> Result<(), TargetError> {
        self.writing.with(Op::Write, |w| w.write_record(record))
    }

    fn flush(&mut self) -> Result<(), TargetError> {
        self.writing.with(Op::Flush, AofWriter::flush)
    }

    fn sync(&mut self) -> Result<(), TargetError> {
        self.writing.with(Op::Sync, AofWriter::sync)
    }

    fn truncate(&mut self) -> Result<(), TargetError> {
        self.writing.with(Op::Truncate, AofWriter::truncate)
    }

    fn close(&mut self) -> Result<(), TargetError> {
        self.writing.close();
        Ok(())
    }

    fn file(&self) -> Result<FileState, TargetError> {
        Ok(self.disk.file_state(SIM_PATH))
    }

    fn load(&mut self, image: &[u8]) -> Result<(), TargetError> {
        self.writing.close();
        self.new_disk();
        self.disk
            .put_durable(SIM_PATH, image)
            .map_err(|e| TargetError::harness(Op::Load, e))
    }

    fn keying(&self) -> Keying {
        keying_of(self.writing.key())
    }

    fn reopen_with(&mut self, keying: Keying) -> Result<(), TargetError> {
        self.writing.open(keying.key_bytes(), Op::Reopen)
    }

    fn read_back(&mut self) -> Result<ReadBack, TargetError> {
        Ok(self.writing.read(self.writing.key()))
    }

    fn operations(&self) -> Option<u64> {
        Some(self.disk.op_count())
    }

    fn inject(&mut self, fault: Fault) -> Result<(), TargetError> {
        match fault {
            Fault::FailOpAt { after } => self
                .disk
                .fail_op_at(self.disk.op_count() + after, Persistence::Once),
            Fault::FailWriteAfter { bytes } => self.disk.fail_write_after(bytes, Persistence::Once),
            system => {
                return Err(TargetError::unsupported(
                    Op::Inject,
                    &format!("the simulated disk does not inject system-call faults ({system})"),
                ))
            }
        }
        Ok(())
    }
}

/// eaof on real files (in a temporary directory), with the harness's durability account
/// (see [`crate::files`]).
pub struct EaofFs {
    file: TrackedFile,
    version: Version,
    writing: Writing<FsStorage>,
}

impl EaofFs {
    /// A target writing `version` files in a fresh temporary directory.
    pub fn new(version: Version) -> Result<Self, TargetError> {
        let file =
            TrackedFile::new("shard-0.aof").map_err(|e| TargetError::harness(Op::Create, e))?;
        let mut writing = Writing::new(FsStorage, file.path().to_path_buf(), false);
        writing.key = Keying::of(version).key_bytes();
        Ok(EaofFs {
            file,
            version,
            writing,
        })
    }
}

impl Target for EaofFs {
    fn name(&self) -> String {
        format!("eaof {} (real files)", self.version)
    }

    fn version(&self) -> Version {
        self.version
    }

    fn deterministic(&self) -> bool {
        true
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    fn create(&mut self) -> Result<(), TargetError> {
        self.writing.restart(self.file.path().to_path_buf());
        self.file
            .remove()
            .map_err(|e| TargetError::harness(Op::Create, e))?;
        let result = self
            .writing
            .open(Keying::of(self.version).key_bytes(), Op::Create);
        self.file.after_write();
        result
    }

    fn write(&mut self, record: &AofRecord) -> Result<(), TargetError> {
        let result = self.writing.with(Op::Write, |w| w.write_record(record));
        self.file.after_write();
        result
    }

    fn flush(&mut self) -> Result<(), TargetError> {
        let result = self.writing.with(Op::Flush, AofWriter::flush);
        self.file.after_write();
        result
    }

    fn sync(&mut self) -> Result<(), TargetError> {
        let result = self.writing.with(Op::Sync, AofWriter::sync);
        self.file.after_call(Op::Sync, result.is_ok());
        result
    }

    fn truncate(&mut self) -> Result<(), TargetError> {
        let result = self.writing.with(Op::Truncate, AofWriter::truncate);
        self.file.after_call(Op::Truncate, result.is_ok());
        result
    }

    fn close(&mut self) -> Result<(), TargetError> {
        self.writing.close();
        Ok(())
    }

    fn file(&self) -> Result<FileState, TargetError> {
        self.file
            .state()
            .map_err(|e| TargetError::harness(Op::File, e))
    }

    fn load(&mut self, image: &[u8]) -> Result<(), TargetError> {
        self.writing.close();
        self.file
            .load(image)
            .map_err(|e| TargetError::harness(Op::Load, e))
    }

    fn keying(&self) -> Keying {
        keying_of(self.writing.key())
    }

    fn reopen_with(&mut self, keying: Keying) -> Result<(), TargetError> {
        let result = self.writing.open(keying.key_bytes(), Op::Reopen);
        self.file.after_reopen();
        result
    }

    fn read_back(&mut self) -> Result<ReadBack, TargetError> {
        Ok(self.writing.read(self.writing.key()))
    }
}
