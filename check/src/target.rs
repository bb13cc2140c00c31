//! The seam an implementation is checked through: write records, flush, sync, crash (load a
//! crash image), reopen (recover) and read back.
//!
//! Guarantees of the contract, which every engine relies on and every adapter honours:
//! - a [`Target`] owns one log file; [`Target::create`] starts it afresh (no file, then a new
//!   writer), so runs never see each other's bytes;
//! - [`Target::file`] tells what is on disk now and what a crash is sure to keep: the bytes a
//!   program would read, `durable_len` (the prefix the last successful sync covered) and the
//!   file's length after each operation since then (where a file grown before its data landed
//!   may end). The crash model built on it is file-level (see [`crate::crash`]);
//! - [`Target::load`] is a crash: the writer is dropped without a byte more reaching the file
//!   (as a process killed), and the file becomes exactly `image`, all of it durable;
//! - [`Target::read_back`] reads the file with the implementation's own reader, the way its
//!   recovery does: records until the reader stops, and how it stopped;
//! - errors of the implementation are values ([`TargetError`] with [`ErrorKind::Failed`] or
//!   [`ErrorKind::Poisoned`]); [`ErrorKind::Harness`] means the harness could not do its own
//!   part (a temporary file), never a verdict on the implementation.
//!
//! The trait is object-safe: engines take `&mut dyn Target`, so a port behind a pipe can be
//! checked the same way as the adapters here (eaof on the simulated disk and on real files in
//! [`crate::eaof`], ember-persistence 0.4.9 in `check::ember` with feature `ember`).

use std::fmt;

use eaof::encryption::EncryptionKey;
use eaof::format::{FORMAT_VERSION, FORMAT_VERSION_ENCRYPTED, HEADER_LEN};
use eaof::{AofRecord, Verdict};

/// The key every target of version 3 writes and reads with.
pub const KEY: [u8; 32] = [0x42; 32];

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
        match self {
            Version::V2 => None,
            Version::V3 => Some(EncryptionKey::from_bytes(KEY)),
        }
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
        }
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
}

/// Why a call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The implementation refused because an earlier failure poisoned its writer.
    Poisoned,
    /// The implementation returned an error.
    Failed,
    /// The target cannot do this (fault injection on a real file system, a call without a
    /// writer open).
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

/// An implementation of the format, driven by the engines.
pub trait Target {
    /// A short name for reports: implementation, version, storage.
    fn name(&self) -> String;

    /// The version this target writes.
    fn version(&self) -> Version;

    /// Whether the same calls always give the same bytes (false when nonces are random), so
    /// engines may merge identical images across runs and cache reads by image.
    fn deterministic(&self) -> bool;

    /// Removes the log file and opens a new writer on it (which writes the header).
    fn create(&mut self) -> Result<(), TargetError>;

    /// Hands one record to the writer.
    fn write(&mut self, record: &AofRecord) -> Result<(), TargetError>;

    /// Hands buffered records to the operating system.
    fn flush(&mut self) -> Result<(), TargetError>;

    /// Makes everything written durable; `Ok` acknowledges every record written so far.
    fn sync(&mut self) -> Result<(), TargetError>;

    /// What is on disk now, and what a crash is sure to keep.
    fn file(&self) -> Result<FileState, TargetError>;

    /// A crash: drops the writer without writing anything more, and makes the file exactly
    /// `image`, all of it durable.
    fn load(&mut self, image: &[u8]) -> Result<(), TargetError>;

    /// Opens a writer on the existing file, running the implementation's recovery.
    fn reopen(&mut self) -> Result<(), TargetError>;

    /// Reads the file with the implementation's reader.
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
}
