//! Where encoded fields go: a window of an initialized buffer, or a measure of the length.
//!
//! Guarantees:
//! - a [`Window`] writes only inside its slice, and stops with [`Stop::Full`] (writing
//!   nothing of that field) when a field does not fit; a caller then measures the record
//!   and retries in a window of the right size;
//! - a [`Measure`] writes nothing and never fills: encoding into it validates every field,
//!   in order, and counts the record's exact length;
//! - the same encoder runs on both, so the length measured is the length written, and a
//!   refusal is the same refusal.
//!
//! Why a window and not `Vec::extend_from_slice`: each append to a `Vec` loads its length
//! and capacity from memory, compares, may call the allocator, and stores the length back,
//! and after that possible call the compiler reloads everything; on the writer's benchmark
//! mix that was half of a record's instructions. A window's two words live in registers,
//! and a field costs one comparison.

use super::error::EncodeError;

/// Why encoding stopped short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The window has no room for the next field; nothing is wrong with the record.
    Full,
    /// The record is refused: the reader would not accept it.
    Refused(EncodeError),
}

impl From<EncodeError> for Stop {
    #[cold]
    fn from(error: EncodeError) -> Self {
        Stop::Refused(error)
    }
}

/// Something fields are encoded into.
pub trait Sink {
    /// Appends a fixed-size field.
    fn put_array<const N: usize>(&mut self, bytes: [u8; N]) -> Result<(), Stop>;

    /// Appends `[len as u32 LE][bytes]` (`len` is `bytes.len()`, already checked against
    /// its limit).
    fn put_prefixed(&mut self, len: u32, bytes: &[u8]) -> Result<(), Stop>;
}

/// The unfilled part of an initialized buffer.
pub struct Window<'b> {
    rest: &'b mut [u8],
}

impl<'b> Window<'b> {
    #[inline(always)]
    pub fn new(bytes: &'b mut [u8]) -> Self {
        Self { rest: bytes }
    }

    /// Bytes not yet written.
    #[inline(always)]
    pub fn left(&self) -> usize {
        self.rest.len()
    }

    /// Takes the next `n` bytes of the window to be written, or stops when fewer are left.
    #[inline(always)]
    fn claim(&mut self, n: usize) -> Result<&'b mut [u8], Stop> {
        if n > self.rest.len() {
            return Err(Stop::Full);
        }
        let (claimed, rest) = std::mem::take(&mut self.rest).split_at_mut(n);
        self.rest = rest;
        Ok(claimed)
    }
}

impl Sink for Window<'_> {
    #[inline(always)]
    fn put_array<const N: usize>(&mut self, bytes: [u8; N]) -> Result<(), Stop> {
        self.claim(N)?.copy_from_slice(&bytes);
        Ok(())
    }

    #[inline(always)]
    fn put_prefixed(&mut self, len: u32, bytes: &[u8]) -> Result<(), Stop> {
        let claimed = self.claim(4 + bytes.len())?;
        if let Some((prefix, body)) = claimed.split_first_chunk_mut::<4>() {
            *prefix = len.to_le_bytes();
            copy_field(body, bytes);
        }
        Ok(())
    }
}

/// Copies `src` into `dst`, of the same length. Fields of 8 to 16 bytes go as two 8-byte
/// copies that overlap (the first 8, then the last 8): keys, members and hash fields are
/// mostly a dozen bytes, and a copy of a length known only at run time is a call into the
/// C library's `memcpy`, which costs more than the copy. Shorter and longer fields take
/// `memcpy` (a class for 4 to 7 bytes measured no faster: `field:7` and `field:42` in one
/// file then alternate between classes).
#[inline(always)]
fn copy_field(dst: &mut [u8], src: &[u8]) {
    match src.len() {
        8..=16 => copy_overlapping::<8>(dst, src),
        17..=32 => copy_overlapping::<16>(dst, src),
        33..=64 => copy_overlapping::<32>(dst, src),
        _ => dst.copy_from_slice(src),
    }
}

/// Copies `src` into `dst` (the same length, from `N` to `2 * N` bytes) as two copies of
/// `N` bytes: the first `N`, then the last `N`, which overlap unless the length is `2 * N`.
#[inline(always)]
fn copy_overlapping<const N: usize>(dst: &mut [u8], src: &[u8]) {
    if let (Some(head), Some(first)) = (src.first_chunk::<N>(), dst.first_chunk_mut::<N>()) {
        *first = *head;
    }
    if let (Some(tail), Some(last)) = (src.last_chunk::<N>(), dst.last_chunk_mut::<N>()) {
        *last = *tail;
    }
}

/// Counts the bytes a record encodes to, writing none.
#[derive(Debug, Default)]
pub struct Measure {
    len: u64,
}

impl Measure {
    /// The bytes counted so far.
    pub fn total(&self) -> u64 {
        self.len
    }
}

impl Sink for Measure {
    fn put_array<const N: usize>(&mut self, _: [u8; N]) -> Result<(), Stop> {
        self.len += N as u64;
        Ok(())
    }

    fn put_prefixed(&mut self, _: u32, bytes: &[u8]) -> Result<(), Stop> {
        self.len += 4 + bytes.len() as u64;
        Ok(())
    }
}
