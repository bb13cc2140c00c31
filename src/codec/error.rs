//! What can be wrong with a record's bytes (decoding) or with a record value (encoding).
//!
//! Every error names the field it failed on; a decode error also gives the byte offset
//! inside the record, so a caller adding the record's file offset can point at the byte.

use std::fmt;

use thiserror::Error;

/// Why a record's bytes do not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The bytes end before the field does; `needed` more bytes were wanted.
    Truncated { needed: u64 },
    /// The first byte is not the tag of any record kind.
    UnknownTag(u8),
    /// A length or count is beyond its limit.
    TooLong { len: u64, max: u64 },
    /// A length is below its minimum (a sealed record shorter than its GCM tag).
    TooShort { len: u64, min: u64 },
    /// A text field is not valid UTF-8.
    InvalidUtf8,
    /// A field stored as a non-negative `i64` is negative.
    Negative(i64),
    /// A flag byte is neither 0 nor 1.
    NotABool(u8),
    /// A BITOP operation byte is over 3.
    UnknownBitOp(u8),
    /// Bytes remain after the record's last field (only possible where something else gives
    /// the record's length: a sealed record, or a bare record handed to `from_bytes`).
    TrailingBytes(u64),
}

impl Problem {
    /// Structural problems stop the reader from knowing where a record ends, so the record
    /// cannot be checked at all; the others are found in a record whose extent is known.
    pub fn is_structural(self) -> bool {
        matches!(
            self,
            Problem::Truncated { .. }
                | Problem::UnknownTag(_)
                | Problem::TooLong { .. }
                | Problem::TooShort { .. }
        )
    }

    /// A short name of the class of problem, stable for tools and test vectors.
    pub fn class(self) -> &'static str {
        match self {
            Problem::Truncated { .. } => "truncated",
            Problem::UnknownTag(_) => "unknown_tag",
            Problem::TooLong { .. } => "too_long",
            Problem::TooShort { .. } => "too_short",
            Problem::InvalidUtf8 => "invalid_utf8",
            Problem::Negative(_) => "negative",
            Problem::NotABool(_) => "not_a_bool",
            Problem::UnknownBitOp(_) => "unknown_bitop",
            Problem::TrailingBytes(_) => "trailing_bytes",
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Truncated { needed } => write!(f, "ends {needed} bytes early"),
            Problem::UnknownTag(tag) => write!(f, "unknown record tag {tag}"),
            Problem::TooLong { len, max } => write!(f, "length {len} is over the limit {max}"),
            Problem::TooShort { len, min } => write!(f, "length {len} is under the minimum {min}"),
            Problem::InvalidUtf8 => write!(f, "is not valid UTF-8"),
            Problem::Negative(v) => write!(f, "is negative ({v})"),
            Problem::NotABool(b) => write!(f, "is {b}, not 0 or 1"),
            Problem::UnknownBitOp(op) => write!(f, "is {op}, not a BITOP operation (0..=3)"),
            Problem::TrailingBytes(n) => write!(f, "is followed by {n} unexpected bytes"),
        }
    }
}

/// A record's bytes that do not decode: which field, where in the record, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("field `{field}` at record byte {offset} {problem}")]
pub struct DecodeError {
    /// The field being read (`tag` for the first byte, `record` for trailing bytes).
    pub field: &'static str,
    /// Byte offset inside the record (0 is the tag).
    pub offset: u64,
    pub problem: Problem,
}

/// A record value the writer will not encode, because the reader would refuse it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("field `{field}`: {problem}")]
pub struct EncodeError {
    pub field: &'static str,
    pub problem: EncodeProblem,
}

/// Why a record value cannot be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum EncodeProblem {
    /// A field or count is over its limit.
    #[error("length {len} is over the limit {max}")]
    TooLong { len: u64, max: u64 },
    /// A value stored as a non-negative `i64` is over `i64::MAX` (the seed would clamp it,
    /// and the record read back would differ from the one written).
    #[error("value {value} is over the limit {max}")]
    OutOfRange { value: u64, max: u64 },
    /// A BITOP operation byte over 3.
    #[error("{0} is not a BITOP operation (0..=3)")]
    UnknownBitOp(u8),
}
