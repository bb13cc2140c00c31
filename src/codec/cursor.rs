//! A shrinking view of one record's bytes that reads little-endian fields.
//!
//! Every read either returns exactly the bytes asked for or a [`DecodeError`] naming the
//! field and the record offset where the bytes ran out; it never reads past the slice.

use super::error::{DecodeError, Problem};

/// A cursor over one record's bytes.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    /// Bytes consumed so far: the offset of the next field inside the record.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// The error for `field`, placed at the current position.
    pub fn error(&self, field: &'static str, problem: Problem) -> DecodeError {
        DecodeError {
            field,
            offset: self.pos as u64,
            problem,
        }
    }

    /// Takes the next `n` bytes.
    #[inline]
    pub fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        match self.bytes.get(self.pos..).and_then(|rest| rest.get(..n)) {
            Some(taken) => {
                self.pos += n;
                Ok(taken)
            }
            None => Err(self.error(
                field,
                Problem::Truncated {
                    needed: (n - self.remaining()) as u64,
                },
            )),
        }
    }

    /// Takes the next `N` bytes as an array.
    #[inline]
    pub fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let taken = self.take(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(taken);
        Ok(out)
    }

    #[inline]
    pub fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }

    #[inline]
    pub fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    #[inline]
    pub fn i64(&mut self, field: &'static str) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.array(field)?))
    }

    /// Reads a `u32` length or count and checks it against `max`. The check comes before any
    /// use of the value, so a damaged length is reported as over its limit, never trusted.
    #[inline]
    pub fn len(&mut self, field: &'static str, max: u32) -> Result<u32, DecodeError> {
        let at = self.pos;
        let len = self.u32(field)?;
        if len > max {
            return Err(DecodeError {
                field,
                offset: at as u64,
                problem: Problem::TooLong {
                    len: len.into(),
                    max: max.into(),
                },
            });
        }
        Ok(len)
    }

    /// Fails unless every byte was consumed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(self.error("record", Problem::TrailingBytes(n as u64))),
        }
    }
}
