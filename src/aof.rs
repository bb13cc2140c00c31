//! The seed's `aof` module: the names code written against ember-persistence uses.
//!
//! File layout: `[EAOF][version]` then records; see [`crate::frame`] for the record framing
//! and [`crate::codec`] for the payloads.

use std::path::{Path, PathBuf};

pub use crate::codec::AofRecord;
pub use crate::reader::AofReader;
pub use crate::writer::{AofWriter, Recovery, WriterOptions};

/// Configurable fsync policy for the AOF writer (driven by the caller, as in the seed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// fsync after every write: safest, slowest.
    Always,
    /// fsync once per second (the shard tick drives this).
    #[default]
    EverySec,
    /// Let the OS decide when to flush: fastest, least durable.
    No,
}

/// The AOF file path of a shard in a data directory: `shard-{id}.aof`.
pub fn aof_path(data_dir: &Path, shard_id: u16) -> PathBuf {
    data_dir.join(format!("shard-{shard_id}.aof"))
}
