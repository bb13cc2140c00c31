//! The file header, the record checksum, and the crate's error type.
//!
//! A file starts with the 4-byte magic `EAOF` and a version byte: 1 and 2 are plaintext
//! (`[tag][payload][crc32]` records), 3 is AES-256-GCM sealed. Every error names what failed:
//! the field, and where the reader knows it, the byte offset in the file.

use std::io;

use thiserror::Error;

use crate::codec::{DecodeError, EncodeError, Problem};
use crate::frame::Damage;

/// Magic bytes at the start of every AOF file.
pub const AOF_MAGIC: &[u8; 4] = b"EAOF";

/// Length of the file header: magic + version byte.
pub const HEADER_LEN: usize = 5;

/// The plaintext version our writer creates.
pub const FORMAT_VERSION: u8 = 2;

/// The oldest plaintext version the reader accepts (read exactly like version 2).
pub const FORMAT_VERSION_V1: u8 = 1;

/// The version of files whose records are sealed with AES-256-GCM.
pub const FORMAT_VERSION_ENCRYPTED: u8 = 3;

/// Errors of reading or writing an AOF file.
///
/// The first nine variants are the seed's; the rest say more precisely what went wrong.
#[derive(Debug, Error)]
pub enum FormatError {
    /// The input ended inside a value the caller asked for (a header, or a record given to
    /// [`crate::AofRecord::from_bytes`]).
    #[error("unexpected end of file")]
    UnexpectedEof,

    /// The file does not start with `EAOF`.
    #[error("invalid magic bytes: not an EAOF file")]
    InvalidMagic,

    /// The header's version byte is not 1, 2 or 3.
    #[error("unsupported format version: {0}")]
    UnsupportedVersion(u8),

    /// A complete record whose CRC32 does not match its bytes.
    #[error("crc32 mismatch at byte {offset} (stored {expected:#010x}, computed {actual:#010x})")]
    ChecksumMismatch {
        expected: u32,
        actual: u32,
        /// Byte offset of the record in the file.
        offset: u64,
    },

    /// A record starts with a tag no record kind has.
    #[error("unknown record tag: {0}")]
    UnknownTag(u8),

    /// Data the seed reported as a free-form string; kept for compatibility.
    #[error("invalid data: {0}")]
    InvalidData(String),

    /// A version 3 file was opened without a key.
    #[error("file is encrypted but no encryption key was provided")]
    EncryptionRequired,

    /// A complete version 3 record did not authenticate: wrong key, or damaged bytes.
    #[error("decryption failed (wrong key or tampered data)")]
    DecryptionFailed,

    /// The storage failed.
    #[error("io error: {0}")]
    Io(#[from] io::Error),

    /// A complete record whose checksum holds (or which authenticated) but whose fields are
    /// outside their domain.
    #[error("record at byte {offset}: {error}")]
    Decode {
        /// Byte offset of the record in the file (0 for a bare record).
        offset: u64,
        error: DecodeError,
    },

    /// The file is damaged at `offset` and an intact record starts at `next_intact`: cutting
    /// the damage would lose that record, so nothing is cut or appended.
    #[error("corrupt at byte {offset} ({cause}); an intact record starts at byte {next_intact}")]
    Corrupt {
        offset: u64,
        next_intact: u64,
        cause: Damage,
    },

    /// A record the writer refused before writing anything: a field breaks a limit.
    #[error("record refused: {0}")]
    Encode(#[from] EncodeError),

    /// The writer refused to seal a record: it has seen `sealed` records sealed under its key
    /// (in the file when it was opened, and since), its budget of random nonces for the key
    /// ([`crate::encryption::SEALED_RECORDS_PER_KEY_MAX`], or a share of it). Nothing was
    /// written and the writer stays usable (flush, sync); rotate the key to write more.
    #[error("record refused: {sealed} records sealed under this key, its budget is {budget} (random 96-bit nonces, NIST SP 800-38D); rotate the key")]
    KeyBudgetSpent { sealed: u64, budget: u64 },

    /// The writer failed an earlier write, flush or sync and refuses further work: after a
    /// failed fsync the kernel may have dropped the data, so retrying could hide a loss.
    /// Reopen the file to go on.
    #[error("writer is poisoned by an earlier failure ({0}); reopen the file")]
    Poisoned(String),
}

impl FormatError {
    /// The error a bare record (given to `from_bytes`, not read from a file) reports; the
    /// seed's variants where it had one.
    pub(crate) fn bare_record(error: DecodeError) -> Self {
        match error.problem {
            Problem::UnknownTag(tag) => FormatError::UnknownTag(tag),
            Problem::Truncated { .. } => FormatError::UnexpectedEof,
            _ => FormatError::Decode { offset: 0, error },
        }
    }
}

/// CRC32 (IEEE, as crc32fast computes it) of `data`.
#[inline]
pub fn crc32(data: &[u8]) -> u32 {
    crate::crc::crc32(data)
}

/// Encodes the header of a file of `version`.
pub fn header(version: u8) -> [u8; HEADER_LEN] {
    let [a, b, c, d] = *AOF_MAGIC;
    [a, b, c, d, version]
}

/// What the first bytes of a file say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderState {
    /// A complete, supported header.
    Complete { version: u8 },
    /// A header torn by a crash while the file was being created: fewer than
    /// [`HEADER_LEN`] bytes agreeing with `EAOF`, or a file no longer than a header holding
    /// a prefix of `EAOF` then only zeros (the file grew before the header's bytes landed).
    /// Writers append nothing before the header is durable, so cutting it loses nothing.
    Partial { len: usize },
}

/// Parses the header at the start of `bytes` (which may hold more than the header) of a file
/// `file_len` bytes long.
pub fn parse_header(bytes: &[u8], file_len: u64) -> Result<HeaderState, FormatError> {
    let head = &bytes[..bytes.len().min(HEADER_LEN)];
    let landed = head.len() - head.iter().rev().take_while(|&&b| b == 0).count();
    if file_len <= HEADER_LEN as u64
        && landed < head.len()
        && head[..landed] == AOF_MAGIC[..landed.min(AOF_MAGIC.len())]
    {
        return Ok(HeaderState::Partial { len: head.len() });
    }
    let magic_len = bytes.len().min(AOF_MAGIC.len());
    if bytes[..magic_len] != AOF_MAGIC[..magic_len] {
        return Err(FormatError::InvalidMagic);
    }
    match bytes.get(AOF_MAGIC.len()) {
        None => Ok(HeaderState::Partial { len: bytes.len() }),
        Some(&version) if is_supported_version(version) => Ok(HeaderState::Complete { version }),
        Some(&version) => Err(FormatError::UnsupportedVersion(version)),
    }
}

/// Whether the reader understands files of `version`.
pub fn is_supported_version(version: u8) -> bool {
    (FORMAT_VERSION_V1..=FORMAT_VERSION_ENCRYPTED).contains(&version)
}

/// Whether records of `version` are sealed.
pub fn is_sealed(version: u8) -> bool {
    version == FORMAT_VERSION_ENCRYPTED
}
