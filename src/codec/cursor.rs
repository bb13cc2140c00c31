//! A shrinking view of one record's bytes that reads little-endian fields.
//!
//! Every read either returns exactly the bytes asked for or a [`DecodeError`] naming the
//! field and the record offset where the bytes ran out; it never reads past the slice.
//!
//! The cursor holds the unread bytes as a slice (not the whole record and an index): a read
//! is then one length comparison and a split the compiler knows to be in bounds, where an
//! index needed a second bounds check on every field of the hot path.

use super::error::{DecodeError, Problem};

/// A cursor over one record's bytes.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    rest: &'a [u8],
    len: usize,
}

impl<'a> Cursor<'a> {
    #[inline(always)]
    pub fn new(bytes: &'a [u8]) -> Self {
        Self {
            rest: bytes,
            len: bytes.len(),
        }
    }

    /// Bytes consumed so far: the offset of the next field inside the record.
    #[inline(always)]
    pub fn position(&self) -> usize {
        self.len - self.rest.len()
    }

    /// Bytes not yet consumed.
    #[inline(always)]
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// The unread bytes, to measure what a run of reads consumed (see [`Cursor::since`]).
    #[inline(always)]
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// The bytes consumed since `earlier` was this cursor's [`Cursor::rest`].
    #[inline(always)]
    pub fn since(&self, earlier: &'a [u8]) -> &'a [u8] {
        earlier
            .get(..earlier.len().wrapping_sub(self.rest.len()))
            .unwrap_or_default()
    }

    /// The error for `field`, placed at the current position.
    pub fn error(&self, field: &'static str, problem: Problem) -> DecodeError {
        DecodeError {
            field,
            offset: self.position() as u64,
            problem,
        }
    }

    /// Takes the next `n` bytes.
    #[inline(always)]
    pub fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        if n <= self.rest.len() {
            let (taken, rest) = self.rest.split_at(n);
            self.rest = rest;
            Ok(taken)
        } else {
            Err(self.error(
                field,
                Problem::Truncated {
                    needed: (n - self.rest.len()) as u64,
                },
            ))
        }
    }

    /// Takes the next `N` bytes as an array.
    #[inline(always)]
    pub fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        match self.rest.split_first_chunk::<N>() {
            Some((taken, rest)) => {
                self.rest = rest;
                Ok(*taken)
            }
            None => Err(self.error(
                field,
                Problem::Truncated {
                    needed: (N - self.rest.len()) as u64,
                },
            )),
        }
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
        let at = self.position();
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
