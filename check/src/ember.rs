//! ember-persistence 0.4.9 behind the [`Target`] seam, and the conversion between its
//! `AofRecord` and eaof's, for all 35 kinds.
//!
//! ember does its own I/O on real files, so this adapter works on a real temporary file and
//! its crash model is file-level (see [`crate::files`]): durable is what the last
//! successful `sync` the harness called covered. A crash ([`Target::load`]) drops ember's
//! writer first (its `BufWriter` flushes on drop, into the file being replaced), then writes
//! the crash image in its place. Reading goes through ember's own `AofReader`, the way its
//! recovery (`replay_aof`) does: records until `Ok(None)` or an error; recovery keeps what it
//! replayed before an error.
//!
//! ember's version 3 nonces come from the operating system's generator, so the same calls
//! give different bytes each time: this target is not [`Target::deterministic`].

use ember_persistence::aof::{AofReader, AofRecord as Ember, AofWriter};
use ember_persistence::encryption::EncryptionKey as EmberKey;
use ember_persistence::format::FormatError as EmberError;

use eaof::AofRecord as Ours;

use crate::files::TrackedFile;
use crate::target::{FileState, Op, ReadBack, ReadEnd, Target, TargetError, Version, KEY};

/// `to_ember` and `from_ember`: the same variant with the same fields, for all 35 kinds. Both
/// matches are exhaustive, so a kind missing here does not compile.
macro_rules! conversions {
    ($($variant:ident { $($field:ident),+ }),+ $(,)?) => {
        /// ember's record for eaof's `record`.
        pub fn to_ember(record: &Ours) -> Ember {
            match record.clone() {
                $(Ours::$variant { $($field),+ } => Ember::$variant { $($field),+ },)+
            }
        }

        /// eaof's record for ember's `record`.
        pub fn from_ember(record: &Ember) -> Ours {
            match record.clone() {
                $(Ember::$variant { $($field),+ } => Ours::$variant { $($field),+ },)+
            }
        }
    };
}

conversions! {
    Set { key, value, expire_ms },
    Del { key },
    Expire { key, seconds },
    LPush { key, values },
    RPush { key, values },
    LPop { key },
    RPop { key },
    ZAdd { key, members },
    ZRem { key, members },
    Persist { key },
    Pexpire { key, milliseconds },
    Incr { key },
    Decr { key },
    HSet { key, fields },
    HDel { key, fields },
    HIncrBy { key, field, delta },
    SAdd { key, members },
    SRem { key, members },
    IncrBy { key, delta },
    DecrBy { key, delta },
    Append { key, value },
    Rename { key, newkey },
    ProtoSet { key, type_name, data, expire_ms },
    ProtoRegister { name, descriptor },
    VAdd { key, element, vector, metric, quantization, connectivity, expansion_add },
    VRem { key, element },
    Copy { source, destination, replace },
    LSet { key, index, value },
    LTrim { key, start, stop },
    LInsert { key, before, pivot, value },
    LRem { key, count, value },
    SetRange { key, offset, value },
    SetBit { key, offset, value },
    BitOp { op, dest, keys },
    Pexpireat { key, timestamp_ms },
}

fn ember_key() -> EmberKey {
    EmberKey::from_bytes(KEY)
}

/// ember-persistence 0.4.9's `AofWriter` and `AofReader` on a real temporary file.
pub struct EmberTarget {
    version: Version,
    file: TrackedFile,
    writer: Option<AofWriter>,
}

impl EmberTarget {
    /// A target writing `version` files (`AofWriter::open`, or `open_encrypted` with
    /// [`KEY`]) in a fresh temporary directory.
    pub fn new(version: Version) -> Result<Self, TargetError> {
        Ok(EmberTarget {
            version,
            file: TrackedFile::new("shard-0.aof")
                .map_err(|e| TargetError::harness(Op::Create, e))?,
            writer: None,
        })
    }

    fn open(&mut self, op: Op) -> Result<(), TargetError> {
        self.writer = None;
        let path = self.file.path().to_path_buf();
        let writer = match self.version {
            Version::V2 => AofWriter::open(path),
            Version::V3 => AofWriter::open_encrypted(path, ember_key()),
        }
        .map_err(|e| TargetError::failed(op, e))?;
        self.writer = Some(writer);
        Ok(())
    }

    fn with(
        &mut self,
        op: Op,
        call: impl FnOnce(&mut AofWriter) -> Result<(), EmberError>,
    ) -> Result<(), TargetError> {
        let writer = self
            .writer
            .as_mut()
            .ok_or_else(|| TargetError::unsupported(op, "no writer is open"))?;
        call(writer).map_err(|e| TargetError::failed(op, e))
    }
}

impl Target for EmberTarget {
    fn name(&self) -> String {
        format!("ember-persistence 0.4.9 {} (real files)", self.version)
    }

    fn version(&self) -> Version {
        self.version
    }

    fn deterministic(&self) -> bool {
        self.version == Version::V2
    }

    fn create(&mut self) -> Result<(), TargetError> {
        self.writer = None;
        self.file
            .remove()
            .map_err(|e| TargetError::harness(Op::Create, e))?;
        let result = self.open(Op::Create);
        self.file.after_write();
        result
    }

    fn write(&mut self, record: &Ours) -> Result<(), TargetError> {
        let record = to_ember(record);
        let result = self.with(Op::Write, |w| w.write_record(&record));
        self.file.after_write();
        result
    }

    fn flush(&mut self) -> Result<(), TargetError> {
        let result = self.with(Op::Flush, AofWriter::flush);
        self.file.after_write();
        result
    }

    fn sync(&mut self) -> Result<(), TargetError> {
        let result = self.with(Op::Sync, AofWriter::sync);
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
        // Dropped first: its BufWriter flushes into the old file, which the image replaces.
        self.writer = None;
        self.file
            .load(image)
            .map_err(|e| TargetError::harness(Op::Load, e))
    }

    fn reopen(&mut self) -> Result<(), TargetError> {
        let result = self.open(Op::Reopen);
        self.file.after_reopen();
        result
    }

    fn read_back(&mut self) -> Result<ReadBack, TargetError> {
        let path = self.file.path();
        let opened = match self.version {
            Version::V2 => AofReader::open(path),
            Version::V3 => AofReader::open_encrypted(path, ember_key()),
        };
        let mut reader = match opened {
            Ok(reader) => reader,
            Err(e) => {
                return Ok(ReadBack {
                    records: Vec::new(),
                    end: ReadEnd::Error(e.to_string()),
                    verdict: None,
                })
            }
        };
        let mut records = Vec::new();
        let end = loop {
            match reader.read_record() {
                Ok(Some(record)) => records.push(from_ember(&record)),
                Ok(None) => break ReadEnd::Clean,
                Err(e) => break ReadEnd::Error(e.to_string()),
            }
        };
        Ok(ReadBack {
            records,
            end,
            verdict: None,
        })
    }
}
