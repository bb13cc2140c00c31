//! Adapters that check `eaof` itself: its writer and reader on the simulated disk
//! ([`EaofSim`], with fault injection) and on real files ([`EaofFs`]).
//!
//! Both write version 3 files with counting nonces, a fresh nonce prefix for each opening of
//! a writer, restarted by [`Target::create`]: the same calls give the same bytes, so engines
//! can merge identical images. Reading goes through `AofReader`, and the verdict it reached
//! is reported with the records.

use std::path::Path;

use eaof::aof::WriterOptions;
use eaof::encryption::CountingNonces;
use eaof::format::FormatError;
use eaof::storage::{FsStorage, Storage, StorageFile};
use eaof::{AofReader, AofRecord, AofWriter};

use crate::files::TrackedFile;
use crate::sim::{Persistence, SimDisk};
use crate::target::{
    ErrorKind, Fault, FileState, Op, ReadBack, ReadEnd, Target, TargetError, Version,
};

/// The log's path on the simulated disk.
pub const SIM_PATH: &str = "data/shard-0.aof";

fn options(version: Version, opening: u32) -> WriterOptions {
    match version.key() {
        None => WriterOptions::default(),
        Some(key) => WriterOptions::default()
            .key(key)
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
fn read_all<F: StorageFile>(open: Result<AofReader<F>, FormatError>) -> ReadBack {
    let mut reader = match open {
        Ok(reader) => reader,
        Err(e) => {
            return ReadBack {
                records: Vec::new(),
                end: ReadEnd::Error(e.to_string()),
                verdict: None,
            }
        }
    };
    let mut records = Vec::new();
    let end = loop {
        match reader.read_record() {
            Ok(Some(record)) => records.push(record),
            Ok(None) => break ReadEnd::Clean,
            Err(e) => break ReadEnd::Error(e.to_string()),
        }
    };
    ReadBack {
        records,
        end,
        verdict: reader.verdict().cloned(),
    }
}

/// The writer's calls shared by both adapters.
struct Writing<S: Storage> {
    version: Version,
    writer: Option<AofWriter<S>>,
    openings: u32,
}

impl<S: Storage> Writing<S> {
    fn new(version: Version) -> Self {
        Writing {
            version,
            writer: None,
            openings: 0,
        }
    }

    fn open(&mut self, storage: S, path: &Path, op: Op) -> Result<(), TargetError> {
        self.writer = None;
        let opening = self.openings;
        self.openings += 1;
        let writer = AofWriter::open_in(storage, path, options(self.version, opening))
            .map_err(|e| error(op, e))?;
        self.writer = Some(writer);
        Ok(())
    }

    fn with(
        &mut self,
        op: Op,
        call: impl FnOnce(&mut AofWriter<S>) -> Result<(), FormatError>,
    ) -> Result<(), TargetError> {
        let writer = self.writer.as_mut().ok_or_else(|| no_writer(op))?;
        call(writer).map_err(|e| error(op, e))
    }
}

/// eaof on the simulated disk (`crate::sim`), with fault injection.
pub struct EaofSim {
    disk: SimDisk,
    writing: Writing<SimDisk>,
    ends: Vec<usize>,
}

impl EaofSim {
    /// A target writing `version` files on a fresh simulated disk.
    pub fn new(version: Version) -> Self {
        EaofSim {
            disk: SimDisk::new(),
            writing: Writing::new(version),
            ends: Vec::new(),
        }
    }

    /// The simulated disk (shared handle).
    pub fn disk(&self) -> &SimDisk {
        &self.disk
    }

    fn note(&mut self) {
        let len = self.disk.contents(SIM_PATH).map_or(0, |c| c.len());
        if self.ends.last() != Some(&len) {
            self.ends.push(len);
        }
    }
}

impl Target for EaofSim {
    fn name(&self) -> String {
        format!("eaof {} (simulated disk)", self.writing.version)
    }

    fn version(&self) -> Version {
        self.writing.version
    }

    fn deterministic(&self) -> bool {
        true
    }

    fn create(&mut self) -> Result<(), TargetError> {
        self.disk = SimDisk::new();
        self.writing.openings = 0;
        self.ends.clear();
        let result = self
            .writing
            .open(self.disk.clone(), Path::new(SIM_PATH), Op::Create);
        self.note();
        result
    }

    fn write(&mut self, record: &AofRecord) -> Result<(), TargetError> {
        let result = self.writing.with(Op::Write, |w| w.write_record(record));
        self.note();
        result
    }

    fn flush(&mut self) -> Result<(), TargetError> {
        let result = self.writing.with(Op::Flush, AofWriter::flush);
        self.note();
        result
    }

    fn sync(&mut self) -> Result<(), TargetError> {
        let result = self.writing.with(Op::Sync, AofWriter::sync);
        self.note();
        result
    }

    fn file(&self) -> Result<FileState, TargetError> {
        let bytes = self.disk.contents(SIM_PATH).unwrap_or_default();
        let durable = self.disk.durable_contents(SIM_PATH).unwrap_or_default();
        // The writer only appends after its opening, so the durable bytes are a prefix of
        // the live ones; if they ever were not, only their common prefix is sure to survive.
        let durable_len = durable
            .iter()
            .zip(&bytes)
            .take_while(|(a, b)| a == b)
            .count();
        Ok(FileState::new(bytes, durable_len, &self.ends))
    }

    fn load(&mut self, image: &[u8]) -> Result<(), TargetError> {
        self.writing.writer = None;
        self.disk = SimDisk::new();
        self.ends.clear();
        self.disk
            .put_durable(SIM_PATH, image)
            .map_err(|e| TargetError::harness(Op::Load, e))
    }

    fn reopen(&mut self) -> Result<(), TargetError> {
        let result = self
            .writing
            .open(self.disk.clone(), Path::new(SIM_PATH), Op::Reopen);
        self.note();
        result
    }

    fn read_back(&mut self) -> Result<ReadBack, TargetError> {
        let key = self.writing.version.key();
        Ok(read_all(AofReader::open_in(
            &self.disk,
            Path::new(SIM_PATH),
            key.as_ref(),
        )))
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
        }
        Ok(())
    }
}

/// eaof on real files (in a temporary directory), with the harness's durability account
/// (see [`crate::files`]).
pub struct EaofFs {
    file: TrackedFile,
    writing: Writing<FsStorage>,
}

impl EaofFs {
    /// A target writing `version` files in a fresh temporary directory.
    pub fn new(version: Version) -> Result<Self, TargetError> {
        Ok(EaofFs {
            file: TrackedFile::new("shard-0.aof")
                .map_err(|e| TargetError::harness(Op::Create, e))?,
            writing: Writing::new(version),
        })
    }
}

impl Target for EaofFs {
    fn name(&self) -> String {
        format!("eaof {} (real files)", self.writing.version)
    }

    fn version(&self) -> Version {
        self.writing.version
    }

    fn deterministic(&self) -> bool {
        true
    }

    fn create(&mut self) -> Result<(), TargetError> {
        self.writing.writer = None;
        self.writing.openings = 0;
        self.file
            .remove()
            .map_err(|e| TargetError::harness(Op::Create, e))?;
        let path = self.file.path().to_path_buf();
        let result = self.writing.open(FsStorage, &path, Op::Create);
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
        match result {
            Ok(()) => self.file.after_sync(),
            Err(_) => self.file.after_write(),
        }
        result
    }

    fn file(&self) -> Result<FileState, TargetError> {
        self.file
            .state()
            .map_err(|e| TargetError::harness(Op::File, e))
    }

    fn load(&mut self, image: &[u8]) -> Result<(), TargetError> {
        self.writing.writer = None;
        self.file
            .load(image)
            .map_err(|e| TargetError::harness(Op::Load, e))
    }

    fn reopen(&mut self) -> Result<(), TargetError> {
        let path = self.file.path().to_path_buf();
        let result = self.writing.open(FsStorage, &path, Op::Reopen);
        self.file.after_reopen();
        result
    }

    fn read_back(&mut self) -> Result<ReadBack, TargetError> {
        let key = self.writing.version.key();
        Ok(read_all(AofReader::open_in(
            &FsStorage,
            self.file.path(),
            key.as_ref(),
        )))
    }
}
