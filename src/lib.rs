//! eaof: the reference implementation of ember's EAOF append-only file format.
//!
//! The public names of ember-persistence 0.4.9 are kept (`eaof::aof`, `eaof::format`,
//! `eaof::encryption`), so code written against the seed compiles against this crate. Inside,
//! the format is split by concern:
//!
//! - [`codec`]: the one table of record kinds, and the byte-slice codec built from it;
//! - [`frame`]: how one record is found at an offset of a file, and what damage looks like;
//! - [`scanner`]: zero-copy reading of a whole file held in memory;
//! - [`reader`] and [`writer`]: streaming I/O through the [`storage`] seam;
//! - [`encryption`]: AES-256-GCM sealing of version 3 records.
//!
//! Invariant of the crate: every record the writer accepts, the reader returns unchanged, and
//! no damage is ever reported as a clean end.
// Two measured exceptions, each allowed where it stands with its reason: `codec::field::utf8`
// and the CRC kernel in `crc`.
#![deny(unsafe_code)]

pub mod aof;
pub mod codec;
pub(crate) mod crc;
pub mod encryption;
pub mod format;
pub mod frame;
pub mod limits;
pub mod reader;
pub mod scanner;
pub mod storage;
pub mod writer;

pub use aof::{aof_path, AofReader, AofRecord, AofWriter, FsyncPolicy};
pub use codec::{RecordKind, RecordRef};
pub use format::FormatError;
pub use frame::{Damage, Verdict};
