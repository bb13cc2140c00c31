//! The seam an implementation is checked through: write records, flush, sync, truncate,
//! close, crash (load a crash image), reopen (recover, with its own configuration or another
//! one) and read back.
//!
//! Guarantees of the contract, which every engine relies on and every adapter honours:
//! - a [`Target`] owns one log file; [`Target::create`] starts it afresh (no file, then a new
//!   writer configured for [`Target::version`]), so runs never see each other's bytes;
//! - [`Target::file`] tells what is on disk now and what a crash is sure to keep: the bytes a
//!   program would read, `durable_len` (the prefix the last successful sync covered) and the
//!   file's length after each operation since then (where a file grown before its data landed
//!   may end). The crash model built on it is file-level (see [`crate::crash`]). A target
//!   whose account sees the directory as well (the simulated disk, a trace of file-system
//!   calls) also names the *other* files a crash may leave at the log's path
//!   ([`FileState::alternatives`]): the old log while a rename over it (`truncate`) is not yet
//!   durable, or the longer contents a cut not yet synced would bring back. Each alternative
//!   is a file of its own, with its own crash states;
//! - [`Target::truncate`] replaces the log with an empty one (the seed's rewrite); `Ok`
//!   acknowledges the empty log: from then on, no crash may bring the old records back.
//!   While it runs, a crash may leave the old file or the new one: the engines check both
//!   (the old file as [`Target::file`] described it before the call, the new one as after);
//! - [`Target::close`] is a clean shutdown of the writer (no crash): what happens to records
//!   not yet flushed is the implementation's choice, as neither was acknowledged;
//! - [`Target::reopen_with`] opens a writer on the existing file with a configuration
//!   ([`Keying`]), running the implementation's recovery. An accepted configuration becomes
//!   the target's [`Target::keying`], which every later read and reopen uses (a server
//!   restarted with a new key recovers with it); a refused one changes nothing;
//! - [`Target::load`] is a crash: the writer is dropped without a byte more reaching the file
//!   (as a process killed), and the file becomes exactly `image`, all of it durable;
//! - [`Target::read_back`] reads the file with the implementation's own reader, configured
//!   with [`Target::keying`], the way its recovery does: records until the reader stops, and
//!   how it stopped;
//! - [`Target::recover_image`] is a crash into `image` and a recovery, as one call: read it,
//!   reopen, append a record, sync, read again. Its provided body makes those calls one by
//!   one; a target behind a pipe sends them as one batch;
//! - errors of the implementation are values ([`TargetError`] with [`ErrorKind::Failed`] or
//!   [`ErrorKind::Poisoned`]); a child process that dies or hangs is such a value too;
//!   [`ErrorKind::Harness`] means the harness could not do its own part (a temporary file),
//!   never a verdict on the implementation.
//!
//! The trait is object-safe: engines take `&mut dyn Target`, so a port behind a pipe is
//! checked the same way as the adapters here (eaof on the simulated disk and on real files in
//! [`crate::eaof`], ember-persistence 0.4.9 in `check::ember` with feature `ember`, any
//! implementation speaking the driver protocol in [`crate::process`]).

use std::fmt;

use eaof::encryption::EncryptionKey;
use eaof::format::{FORMAT_VERSION, FORMAT_VERSION_ENCRYPTED, HEADER_LEN};
use eaof::{AofRecord, Verdict};

/// The key every target of version 3 writes and reads with.
pub const KEY: [u8; 32] = [0x42; 32];

/// The other key a file may be reopened with ([`Keying::OtherKey`]).
pub const OTHER_KEY: [u8; 32] = [0x24; 32];

/// How a writer or reader is configured: without a key, with [`KEY`], or with another key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Keying {
    /// No key (`AofWriter::open`): a new file is version 2.
    Plain,
    /// [`KEY`] (`open_encrypted`): a new file is version 3.
    Key,
    /// [`OTHER_KEY`]: the wrong key for a file written with [`KEY`].
    OtherKey,
}

impl Keying {
    /// Every configuration.
    pub const ALL: [Keying; 3] = [Keying::Plain, Keying::Key, Keying::OtherKey];

    /// The configuration a new file of `version` is written with.
    pub fn of(version: Version) -> Keying {
        match version {
            Version::V2 => Keying::Plain,
            Version::V3 => Keying::Key,
        }
    }

    /// The key's bytes, if any.
    pub fn key_bytes(self) -> Option<[u8; 32]> {
        match self {
            Keying::Plain => None,
            Keying::Key => Some(KEY),
            Keying::OtherKey => Some(OTHER_KEY),
        }
    }

    /// The key, if any.
    pub fn key(self) -> Option<EncryptionKey> {
        self.key_bytes().map(EncryptionKey::from_bytes)
    }
}

impl fmt::Display for Keying {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Keying::Plain => "no key",
            Keying::Key => "the key",
            Keying::OtherKey => "another key",
        })
    }
}

/// What a target can be asked beyond writing, syncing, crashing and reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// [`Target::truncate`].
    pub truncate: bool,
    /// [`Target::reopen_with`] a key ([`Keying::Key`], [`Keying::OtherKey`]).
    pub keys: bool,
}

/// The file version a target writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// Plaintext records with a CRC32 (header version 2).
    V2,
    /// AES-256-GCM sealed records (header version 3), under [`KEY`].
    V3,
}

impl Version {
    /// Both versions, for engines that run each.
    pub const ALL: [Version; 2] = [Version::V2, Version::V3];

    /// The header's version byte.
    pub fn byte(self) -> u8 {
        match self {
            Version::V2 => FORMAT_VERSION,
            Version::V3 => FORMAT_VERSION_ENCRYPTED,
        }
    }

    /// Bytes a record's frame adds to its encoding: the CRC32, or nonce, length and GCM tag.
    pub fn overhead(self) -> usize {
        match self {
            Version::V2 => 4,
            Version::V3 => 12 + 4 + 16,
        }
    }

    /// The key to write and read with (none for plaintext).
    pub fn key(self) -> Option<EncryptionKey> {
        Keying::of(self).key()
    }

    /// The frame length of `record` in a file of this version, computed from the codec and
    /// the framing rule (not from any writer), or `None` for a record the codec refuses.
    pub fn frame_len(self, record: &AofRecord) -> Option<usize> {
        record.to_bytes().ok().map(|b| b.len() + self.overhead())
    }

    /// Where each record of a file holding `records` starts, and where the last one ends:
    /// `bounds[i]` is the offset of record `i`, `bounds[records.len()]` the file's length.
    pub fn bounds(self, records: &[AofRecord]) -> Option<Vec<usize>> {
        let mut bounds = Vec::with_capacity(records.len() + 1);
        let mut at = HEADER_LEN;
        bounds.push(at);
        for record in records {
            at += self.frame_len(record)?;
            bounds.push(at);
        }
        Some(bounds)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Version::V2 => "v2",
            Version::V3 => "v3",
        })
    }
}

/// What is on disk now, and what a crash is sure to keep.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileState {
    /// The file's bytes as a program reads them now (empty when there is no file).
    pub bytes: Vec<u8>,
    /// `bytes[..durable_len]` survives every crash: what the last successful sync covered.
    pub durable_len: usize,
    /// The file's length after each operation since the last successful sync that grew it
    /// beyond `durable_len`, in order: where a file grown before its data landed may end.
    pub write_ends: Vec<usize>,
    /// Other files a crash may leave at the log's path instead of this one, each with its
    /// own crash states: the file a rename replaced while the rename is not durable, or the
    /// contents a cut not yet synced would bring back. Empty where the account sees no
    /// directory (the harness's own account of a real file: see [`crate::files`]).
    pub alternatives: Vec<FileState>,
}

impl FileState {
    /// The state of a file holding `bytes` of which `durable_len` are durable, given the
    /// file's length after each write since the last sync (`ends`): only the ends beyond the
    /// durable bytes and within the file are places a crash may leave it.
    pub fn new(bytes: Vec<u8>, durable_len: usize, ends: &[usize]) -> Self {
        let durable_len = durable_len.min(bytes.len());
        let write_ends = ends
            .iter()
            .copied()
            .filter(|&end| end > durable_len && end <= bytes.len())
            .collect();
        FileState {
            bytes,
            durable_len,
            write_ends,
            alternatives: Vec::new(),
        }
    }

    /// The same file, all of it durable, with no alternative: what a call that makes its
    /// whole contents durable leaves.
    pub fn all_durable(&self) -> FileState {
        FileState::new(self.bytes.clone(), self.bytes.len(), &[])
    }
}

/// How reading stopped.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReadEnd {
    /// The reader said the file ends here (a clean end, or a tail it passes over).
    Clean,
    /// The reader (or opening it) returned an error, shown as the implementation prints it.
    Error(String),
}

impl ReadEnd {
    /// Whether the reader returned an error.
    pub fn is_error(&self) -> bool {
        matches!(self, ReadEnd::Error(_))
    }
}

/// What the implementation's reader returned for the file.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadBack {
    /// The records read before the reader stopped.
    pub records: Vec<AofRecord>,
    /// How it stopped.
    pub end: ReadEnd,
    /// The format verdict, for implementations that give one (eaof).
    pub verdict: Option<Verdict>,
}

impl ReadBack {
    /// Reads with `next` until it returns `Ok(None)` (a clean end) or an error, as a
    /// recovery does; no verdict.
    pub fn drain<E: fmt::Display>(
        mut next: impl FnMut() -> Result<Option<AofRecord>, E>,
    ) -> ReadBack {
        let mut records = Vec::new();
        let end = loop {
            match next() {
                Ok(Some(record)) => records.push(record),
                Ok(None) => break ReadEnd::Clean,
                Err(e) => break ReadEnd::Error(e.to_string()),
            }
        };
        ReadBack {
            records,
            end,
            verdict: None,
        }
    }

    /// What a reader that could not be opened gives: no record, the error.
    pub fn unopened(error: impl fmt::Display) -> ReadBack {
        ReadBack {
            records: Vec::new(),
            end: ReadEnd::Error(error.to_string()),
            verdict: None,
        }
    }
}

/// Which call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Op {
    Create,
    Write,
    Flush,
    Sync,
    File,
    Load,
    Reopen,
    ReadBack,
    Inject,
    Truncate,
    Close,
}

/// Why a call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The implementation refused because an earlier failure poisoned its writer.
    Poisoned,
    /// The implementation returned an error.
    Failed,
    /// The target cannot do this (fault injection on a real file system, a call without a
    /// writer open, a request its driver does not implement).
    Unsupported,
    /// The harness could not do its own part (a temporary file); not a verdict.
    Harness,
}

/// A failed call of a [`Target`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{op} {kind}: {message}")]
pub struct TargetError {
    /// The call.
    pub op: Op,
    /// Why.
    pub kind: ErrorKind,
    /// The implementation's error as it prints it.
    pub message: String,
}

impl TargetError {
    /// An error of `kind` from `op`.
    pub fn new(op: Op, kind: ErrorKind, message: impl Into<String>) -> Self {
        TargetError {
            op,
            kind,
            message: message.into(),
        }
    }

    /// The implementation failed `op`.
    pub fn failed(op: Op, message: impl fmt::Display) -> Self {
        Self::new(op, ErrorKind::Failed, message.to_string())
    }

    /// The harness failed while doing `op`.
    pub fn harness(op: Op, message: impl fmt::Display) -> Self {
        Self::new(op, ErrorKind::Harness, message.to_string())
    }

    /// The target cannot do `op`.
    pub fn unsupported(op: Op, why: &str) -> Self {
        Self::new(op, ErrorKind::Unsupported, why)
    }
}

/// A fault to inject, counted from the next operation the target's storage serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// The storage operation `after` operations from now fails: a sync with EIO dropping
    /// the unsynced bytes, anything else with EIO and no effect.
    FailOpAt {
        /// Operations from now (0 = the next one).
        after: u64,
    },
    /// Appends succeed for `bytes` more bytes; the one crossing the budget writes what fits
    /// and fails with ENOSPC.
    FailWriteAfter {
        /// The budget.
        bytes: u64,
    },
}

/// What a crash into an image and the recovery after it gave ([`Target::recover_image`]).
#[derive(Debug, Clone)]
pub struct Recovered {
    /// What the reader returned for the image.
    pub read: ReadBack,
    /// Reopening the writer on it: `Ok`, or the refusal.
    pub reopen: Result<(), TargetError>,
    /// What the reader returned after the reopened writer appended the marker record and
    /// synced (`None` when the reopen was refused; a failed append or sync is an error end).
    pub after: Option<ReadBack>,
}

/// An implementation of the format, driven by the engines.
pub trait Target {
    /// A short name for reports: implementation, version, storage.
    fn name(&self) -> String;

    /// The version this target creates files of.
    fn version(&self) -> Version;

    /// Whether the same calls always give the same bytes (false when nonces are random), so
    /// engines may merge identical images across runs and cache reads by image.
    fn deterministic(&self) -> bool;

    /// What the target can do beyond the required calls.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            truncate: false,
            keys: false,
        }
    }

    /// Removes the log file and opens a new writer on it (which writes the header),
    /// configured for [`Target::version`].
    fn create(&mut self) -> Result<(), TargetError>;

    /// Hands one record to the writer.
    fn write(&mut self, record: &AofRecord) -> Result<(), TargetError>;

    /// Hands buffered records to the operating system.
    fn flush(&mut self) -> Result<(), TargetError>;

    /// Makes everything written durable; `Ok` acknowledges every record written so far.
    fn sync(&mut self) -> Result<(), TargetError>;

    /// Replaces the log with an empty one; `Ok` acknowledges it (see the module
    /// documentation).
    fn truncate(&mut self) -> Result<(), TargetError> {
        Err(TargetError::unsupported(
            Op::Truncate,
            "this target has no truncate",
        ))
    }

    /// Closes the writer cleanly, as a server shutting down (a no-op without a writer).
    fn close(&mut self) -> Result<(), TargetError>;

    /// What is on disk now, and what a crash is sure to keep.
    fn file(&self) -> Result<FileState, TargetError>;

    /// A crash: drops the writer without writing anything more, and makes the file exactly
    /// `image`, all of it durable.
    fn load(&mut self, image: &[u8]) -> Result<(), TargetError>;

    /// The configuration of the last accepted opening (at first, [`Keying::of`] the
    /// version): what reads and reopens use.
    fn keying(&self) -> Keying;

    /// Opens a writer on the existing file configured with `keying`, running the
    /// implementation's recovery; on `Ok`, `keying` becomes [`Target::keying`].
    fn reopen_with(&mut self, keying: Keying) -> Result<(), TargetError>;

    /// Opens a writer on the existing file with the current configuration.
    fn reopen(&mut self) -> Result<(), TargetError> {
        let keying = self.keying();
        self.reopen_with(keying)
    }

    /// Reads the file with the implementation's reader, configured with [`Target::keying`].
    fn read_back(&mut self) -> Result<ReadBack, TargetError>;

    /// Storage operations served so far, for targets that can inject faults.
    fn operations(&self) -> Option<u64> {
        None
    }

    /// Arms a fault (see [`Fault`]).
    fn inject(&mut self, fault: Fault) -> Result<(), TargetError> {
        let _ = fault;
        Err(TargetError::unsupported(
            Op::Inject,
            "this target does its own I/O on real files",
        ))
    }

    /// Loads `image` and reads it back.
    fn read_image(&mut self, image: &[u8]) -> Result<ReadBack, TargetError> {
        self.load(image)?;
        self.read_back()
    }

    /// A crash into `image`, then the recovery: reads it, reopens, appends `marker`, syncs
    /// and reads again. `Err` only when the harness failed.
    fn recover_image(
        &mut self,
        image: &[u8],
        marker: &AofRecord,
    ) -> Result<Recovered, TargetError> {
        let read = self.read_image(image)?;
        let reopen = self.reopen();
        let after = match &reopen {
            Err(e) if e.kind == ErrorKind::Harness => return Err(e.clone()),
            Err(_) => None,
            Ok(()) => match self.write(marker).and_then(|()| self.sync()) {
                Ok(()) => Some(self.read_back()?),
                Err(e) if e.kind == ErrorKind::Harness => return Err(e),
                Err(e) => Some(ReadBack {
                    records: Vec::new(),
                    end: ReadEnd::Error(format!("appending the marker failed: {e}")),
                    verdict: None,
                }),
            },
        };
        Ok(Recovered {
            read,
            reopen,
            after,
        })
    }
}
