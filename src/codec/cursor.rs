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
    #[inline(always)]
    pub fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        // `pos <= bytes.len()` always holds, so `remaining()` cannot underflow.
        if n <= self.remaining() {
            let taken = &self.bytes[self.pos..self.pos + n];
            self.pos += n;
            Ok(taken)
        } else {
            Err(self.error(
                field,
                Problem::Truncated {
                    needed: (n - self.remaining()) as u64,
                },
            ))
        }
    }

    /// Takes the next `N` bytes as an array.
    #[inline(always)]
    pub fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let taken = self.take(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(taken);
        Ok(out)
    }

    #[inline(always)]
    pub fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }

    #[inline(always)]
    pub fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    #[inline(always)]
    pub fn i64(&mut self, field: &'static str) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.array(field)?))
    }

    /// Reads a `u32` length or count and checks it against `max`. The check comes before any
    /// use of the value, so a damaged length is reported as over its limit, never trusted.
    #[inline(always)]
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

    /// The bytes consumed since position `start`.
    #[inline(always)]
    pub fn since(&self, start: usize) -> &'a [u8] {
        self.bytes.get(start..self.pos).unwrap_or_default()
    }

    /// Fails unless every byte was consumed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(self.error("record", Problem::TrailingBytes(n as u64))),
        }
    }
}
