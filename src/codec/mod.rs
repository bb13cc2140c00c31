//! The record codec: bytes to records and back, on byte slices, with no I/O.
//!
//! Guarantee: for every record `r` that [`AofRecord::to_bytes`] accepts,
//! `AofRecord::from_bytes(&r.to_bytes()?)? == r` (bit for bit for floats), and every input
//! either decodes or yields an error naming the field; nothing panics or allocates beyond
//! the input's own size.

mod cursor;
mod error;
mod field;
mod sink;
mod table;

pub use cursor::Cursor;
pub use error::{DecodeError, EncodeError, EncodeProblem, Problem};
pub use field::{Field, Layout, Seq, SeqIter};
pub use sink::{Sink, Stop};
pub use table::{record_len, AofRecord, FrameCheck, RecordKind, RecordRef};

use crate::format::FormatError;

impl AofRecord {
    /// Serializes this record (tag + payload, no CRC), as the seed does.
    pub fn to_bytes(&self) -> Result<Vec<u8>, FormatError> {
        let mut out = Vec::new();
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Deserializes a record from tag + payload (no CRC). Bytes after the last field are an
    /// error, as is any field outside its domain.
    pub fn from_bytes(data: &[u8]) -> Result<Self, FormatError> {
        RecordRef::decode(data)
            .map(|r| r.to_record())
            .map_err(FormatError::bare_record)
    }
}
