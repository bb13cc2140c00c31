//! The field types records are made of, each with its wire layout written once.
//!
//! A field type knows its owned form (in [`crate::AofRecord`]), its borrowed form (in
//! [`crate::RecordRef`], pointing into the file's bytes), how to encode it, how to decode and
//! validate it, and how to step over it without validating (to find where a record ends).
//! Encoding checks exactly what decoding checks, so every encoded field decodes back.

use std::fmt;
use std::marker::PhantomData;

use bytes::Bytes;

use super::cursor::Cursor;
use super::error::{DecodeError, EncodeError, EncodeProblem, Problem};
use super::sink::{Sink, Stop};
use crate::limits::{BITOP_OP_MAX, COLLECTION_COUNT_MAX, FIELD_LEN_MAX, NON_NEGATIVE_MAX};

/// The wire layout of a field, for documentation and tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// `[u32 len][len bytes of UTF-8]`, len at most `FIELD_LEN_MAX`.
    Text,
    /// `[u32 len][len bytes]`, len at most `FIELD_LEN_MAX`.
    Bytes,
    /// A little-endian `i64`, any value.
    I64,
    /// A little-endian `i64` that must not be negative.
    NonNegativeI64,
    /// A little-endian `u32`.
    U32,
    /// One byte, any value.
    U8,
    /// One byte, 0 (false) or 1 (true).
    Bool,
    /// One byte, 0 AND, 1 OR, 2 XOR, 3 NOT.
    BitOp,
    /// A little-endian IEEE 754 `f64`, any bit pattern.
    F64,
    /// A little-endian IEEE 754 `f32`, any bit pattern.
    F32,
    /// `[u32 count]` then `count` items, each the given fields in order; count at most `max`.
    List { item: Vec<Layout>, max: u32 },
}

/// One field type of the wire format.
pub trait Field {
    /// The value in an owned record.
    type Owned: Clone + PartialEq + fmt::Debug;
    /// The value borrowed from a record's bytes.
    type Ref<'a>: Copy + PartialEq + fmt::Debug;

    fn layout() -> Layout;
    fn to_owned(value: Self::Ref<'_>) -> Self::Owned;
    /// Appends the field; refuses a value the decoder would refuse.
    fn encode<S: Sink>(value: &Self::Owned, out: &mut S, field: &'static str) -> Result<(), Stop>;
    /// Reads and validates the field.
    fn decode<'a>(c: &mut Cursor<'a>, field: &'static str) -> Result<Self::Ref<'a>, DecodeError>;
    /// Steps over the field, checking only what decides its extent (lengths and counts).
    fn skip(c: &mut Cursor<'_>, field: &'static str) -> Result<(), DecodeError>;
}

#[inline(always)]
fn check_len(len: usize, max: u32, field: &'static str) -> Result<u32, EncodeError> {
    match u32::try_from(len) {
        Ok(n) if n <= max => Ok(n),
        _ => Err(EncodeError {
            field,
            problem: EncodeProblem::TooLong {
                len: len as u64,
                max: max.into(),
            },
        }),
    }
}

#[inline(always)]
fn put_prefixed<S: Sink>(bytes: &[u8], out: &mut S, field: &'static str) -> Result<(), Stop> {
    let len = check_len(bytes.len(), FIELD_LEN_MAX, field)?;
    out.put_prefixed(len, bytes)
}

#[inline(always)]
fn take_prefixed<'a>(c: &mut Cursor<'a>, field: &'static str) -> Result<&'a [u8], DecodeError> {
    let len = c.len(field, FIELD_LEN_MAX)?;
    c.take(len as usize, field)
}

/// Whether the first `len` bytes of `window` are ASCII; `window` may run past them (it is
/// the rest of the record, and of the file). `<[u8]>::is_ascii` is an out-of-line call whose
/// set-up costs more than the check itself on a dozen bytes, and a check that branches on
/// the length mispredicts when lengths vary (`field:7` and `field:42` in one file). Here a
/// text of up to 16 bytes takes one 16-byte load, masked to its length, with no branch on
/// the length; longer texts, or texts within 16 bytes of the end of the input, take the
/// standard library's loop.
#[inline(always)]
fn is_ascii_prefix(window: &[u8], len: usize) -> bool {
    match (window.first_chunk::<16>(), HIGH_BITS_OF_FIRST.get(len)) {
        (Some(block), Some(high)) => u128::from_le_bytes(*block) & high == 0,
        _ => window.get(..len).is_some_and(<[u8]>::is_ascii),
    }
}

/// `HIGH_BITS_OF_FIRST[n]`: the top bit of each of the first `n` bytes of a little-endian
/// 16-byte word (a table load is a third of the instructions of computing the mask).
const HIGH_BITS_OF_FIRST: [u128; 17] = {
    let mut masks = [0u128; 17];
    let mut n = 1;
    while n <= 16 {
        masks[n] = masks[n - 1] | 0x80 << (8 * (n - 1));
        n += 1;
    }
    masks
};

/// The first `len` bytes of `window` as text, if valid UTF-8.
///
/// Keys and members are short (a dozen bytes) and almost always ASCII. For such inputs
/// `std::str::from_utf8` walks byte by byte and was 30% of the zero-copy read path's
/// instructions (callgrind on the benchmark mix); an ASCII check is a few word operations.
#[inline(always)]
#[allow(unsafe_code)]
fn utf8(window: &[u8], len: usize) -> Option<&str> {
    let bytes = window.get(..len)?;
    if is_ascii_prefix(window, len) {
        // SAFETY: every ASCII byte sequence is valid UTF-8.
        return Some(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    std::str::from_utf8(bytes).ok()
}

/// UTF-8 text: `[u32 len][bytes]`.
pub enum Text {}

impl Field for Text {
    type Owned = String;
    type Ref<'a> = &'a str;
    fn layout() -> Layout {
        Layout::Text
    }
    fn to_owned(value: &str) -> String {
        value.to_owned()
    }
    #[inline(always)]
    fn encode<S: Sink>(value: &String, out: &mut S, field: &'static str) -> Result<(), Stop> {
        put_prefixed(value.as_bytes(), out, field)
    }
    #[inline(always)]
    fn decode<'a>(c: &mut Cursor<'a>, field: &'static str) -> Result<&'a str, DecodeError> {
        let start = c.position();
        let len = c.len(field, FIELD_LEN_MAX)? as usize;
        let window = c.rest();
        c.take(len, field)?;
        utf8(window, len).ok_or(DecodeError {
            field,
            offset: start as u64,
            problem: Problem::InvalidUtf8,
        })
    }
    fn skip(c: &mut Cursor<'_>, field: &'static str) -> Result<(), DecodeError> {
        take_prefixed(c, field).map(drop)
    }
}

/// Raw bytes: `[u32 len][bytes]`.
pub enum Blob {}

impl Field for Blob {
    type Owned = Bytes;
    type Ref<'a> = &'a [u8];
    fn layout() -> Layout {
        Layout::Bytes
    }
    fn to_owned(value: &[u8]) -> Bytes {
        Bytes::copy_from_slice(value)
    }
    #[inline(always)]
    fn encode<S: Sink>(value: &Bytes, out: &mut S, field: &'static str) -> Result<(), Stop> {
        put_prefixed(value, out, field)
    }
    #[inline(always)]
    fn decode<'a>(c: &mut Cursor<'a>, field: &'static str) -> Result<&'a [u8], DecodeError> {
        take_prefixed(c, field)
    }
    fn skip(c: &mut Cursor<'_>, field: &'static str) -> Result<(), DecodeError> {
        take_prefixed(c, field).map(drop)
    }
}

/// Declares a fixed-width field whose every bit pattern is valid.
macro_rules! plain_field {
    ($name:ident, $ty:ty, $layout:expr) => {
        #[doc = concat!("A little-endian `", stringify!($ty), "`, any value.")]
        pub enum $name {}

        impl Field for $name {
            type Owned = $ty;
            type Ref<'a> = $ty;
            fn layout() -> Layout {
                $layout
            }
            fn to_owned(value: $ty) -> $ty {
                value
            }
            #[inline(always)]
            fn encode<S: Sink>(value: &$ty, out: &mut S, _: &'static str) -> Result<(), Stop> {
                out.put_array(value.to_le_bytes())
            }
            #[inline(always)]
            fn decode(c: &mut Cursor<'_>, field: &'static str) -> Result<$ty, DecodeError> {
                Ok(<$ty>::from_le_bytes(c.array(field)?))
            }
            fn skip(c: &mut Cursor<'_>, field: &'static str) -> Result<(), DecodeError> {
                c.take(std::mem::size_of::<$ty>(), field).map(drop)
            }
        }
    };
}

plain_field!(I64, i64, Layout::I64);
plain_field!(U32, u32, Layout::U32);
plain_field!(U8, u8, Layout::U8);
plain_field!(F64, f64, Layout::F64);
plain_field!(F32, f32, Layout::F32);

/// Declares a field whose owned value is unsigned but which is stored as an `i64` that must
/// not be negative. Values over `i64::MAX` are refused on write: the seed clamps them, so the
/// record read back would not be the one written.
macro_rules! non_negative_field {
    ($name:ident, $ty:ty) => {
        #[doc = concat!("A `", stringify!($ty), "` stored as a non-negative little-endian `i64`.")]
        pub enum $name {}

        impl Field for $name {
            type Owned = $ty;
            type Ref<'a> = $ty;
            fn layout() -> Layout {
                Layout::NonNegativeI64
            }
            fn to_owned(value: $ty) -> $ty {
                value
            }
            #[inline(always)]
            fn encode<S: Sink>(value: &$ty, out: &mut S, field: &'static str) -> Result<(), Stop> {
                let wide = *value as u64;
                if wide > NON_NEGATIVE_MAX {
                    return Err(Stop::from(EncodeError {
                        field,
                        problem: EncodeProblem::OutOfRange {
                            value: wide,
                            max: NON_NEGATIVE_MAX,
                        },
                    }));
                }
                out.put_array((wide as i64).to_le_bytes())
            }
            #[inline(always)]
            fn decode(c: &mut Cursor<'_>, field: &'static str) -> Result<$ty, DecodeError> {
                let start = c.position();
                let raw = c.i64(field)?;
                <$ty>::try_from(raw).map_err(|_| DecodeError {
                    field,
                    offset: start as u64,
                    problem: Problem::Negative(raw),
                })
            }
            fn skip(c: &mut Cursor<'_>, field: &'static str) -> Result<(), DecodeError> {
                c.take(8, field).map(drop)
            }
        }
    };
}

non_negative_field!(NonNegU64, u64);
non_negative_field!(NonNegUsize, usize);

/// One byte, 0 or 1. Any other byte is refused, so that decoding and encoding again gives
/// back the same bytes.
pub enum Flag {}

impl Field for Flag {
    type Owned = bool;
    type Ref<'a> = bool;
    fn layout() -> Layout {
        Layout::Bool
    }
    fn to_owned(value: bool) -> bool {
        value
    }
    #[inline(always)]
    fn encode<S: Sink>(value: &bool, out: &mut S, _: &'static str) -> Result<(), Stop> {
        out.put_array([u8::from(*value)])
    }
    fn decode(c: &mut Cursor<'_>, field: &'static str) -> Result<bool, DecodeError> {
        match c.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(DecodeError {
                field,
                offset: c.position() as u64 - 1,
                problem: Problem::NotABool(other),
            }),
        }
    }
    fn skip(c: &mut Cursor<'_>, field: &'static str) -> Result<(), DecodeError> {
        c.take(1, field).map(drop)
    }
}

/// The BITOP operation byte: 0 AND, 1 OR, 2 XOR, 3 NOT.
pub enum BitOpCode {}

impl Field for BitOpCode {
    type Owned = u8;
    type Ref<'a> = u8;
    fn layout() -> Layout {
        Layout::BitOp
    }
    fn to_owned(value: u8) -> u8 {
        value
    }
    #[inline(always)]
    fn encode<S: Sink>(value: &u8, out: &mut S, field: &'static str) -> Result<(), Stop> {
        if *value > BITOP_OP_MAX {
            return Err(Stop::from(EncodeError {
                field,
                problem: EncodeProblem::UnknownBitOp(*value),
            }));
        }
        out.put_array([*value])
    }
    fn decode(c: &mut Cursor<'_>, field: &'static str) -> Result<u8, DecodeError> {
        match c.u8(field)? {
            op if op <= BITOP_OP_MAX => Ok(op),
            op => Err(DecodeError {
                field,
                offset: c.position() as u64 - 1,
                problem: Problem::UnknownBitOp(op),
            }),
        }
    }
    fn skip(c: &mut Cursor<'_>, field: &'static str) -> Result<(), DecodeError> {
        c.take(1, field).map(drop)
    }
}

/// Two fields stored one after the other (a list item such as ZADD's score and member).
impl<A: Field, B: Field> Field for (A, B) {
    type Owned = (A::Owned, B::Owned);
    type Ref<'a> = (A::Ref<'a>, B::Ref<'a>);
    fn layout() -> Layout {
        Layout::List {
            item: vec![A::layout(), B::layout()],
            max: 1,
        }
    }
    fn to_owned(value: Self::Ref<'_>) -> Self::Owned {
        (A::to_owned(value.0), B::to_owned(value.1))
    }
    #[inline(always)]
    fn encode<S: Sink>(value: &Self::Owned, out: &mut S, field: &'static str) -> Result<(), Stop> {
        A::encode(&value.0, out, field)?;
        B::encode(&value.1, out, field)
    }
    #[inline(always)]
    fn decode<'a>(c: &mut Cursor<'a>, field: &'static str) -> Result<Self::Ref<'a>, DecodeError> {
        Ok((A::decode(c, field)?, B::decode(c, field)?))
    }
    fn skip(c: &mut Cursor<'_>, field: &'static str) -> Result<(), DecodeError> {
        A::skip(c, field)?;
        B::skip(c, field)
    }
}

/// `[u32 count][item]*`, count at most `MAX`.
pub struct List<F, const MAX: u32 = COLLECTION_COUNT_MAX>(PhantomData<F>);

/// A decoded list, borrowed from the record's bytes: its items were validated when it was
/// decoded, and are read again, without allocating, as it is iterated.
pub struct Seq<'a, F> {
    count: u32,
    items: &'a [u8],
    item: PhantomData<F>,
}

impl<F> Clone for Seq<'_, F> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<F> Copy for Seq<'_, F> {}

impl<'a, F: Field> Seq<'a, F> {
    /// Number of items.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The items' encoded bytes (without the count).
    pub fn raw(&self) -> &'a [u8] {
        self.items
    }

    pub fn iter(&self) -> SeqIter<'a, F> {
        SeqIter {
            left: self.count,
            cursor: Cursor::new(self.items),
            item: PhantomData,
        }
    }
}

impl<'a, F: Field> IntoIterator for Seq<'a, F> {
    type Item = F::Ref<'a>;
    type IntoIter = SeqIter<'a, F>;
    fn into_iter(self) -> SeqIter<'a, F> {
        self.iter()
    }
}

impl<F: Field> PartialEq for Seq<'_, F> {
    fn eq(&self, other: &Self) -> bool {
        self.count == other.count && self.iter().eq(other.iter())
    }
}

impl<F: Field> fmt::Debug for Seq<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Iterator over a [`Seq`].
pub struct SeqIter<'a, F> {
    left: u32,
    cursor: Cursor<'a>,
    item: PhantomData<F>,
}

impl<'a, F: Field> Iterator for SeqIter<'a, F> {
    type Item = F::Ref<'a>;
    fn next(&mut self) -> Option<F::Ref<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        // The items were validated when the list was decoded, so this cannot fail; if it
        // somehow did, the iterator ends rather than panicking.
        F::decode(&mut self.cursor, "item").ok()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left as usize))
    }
}

impl<F: Field, const MAX: u32> Field for List<F, MAX> {
    type Owned = Vec<F::Owned>;
    type Ref<'a> = Seq<'a, F>;
    fn layout() -> Layout {
        let item = match F::layout() {
            Layout::List { item, max: 1 } => item,
            single => vec![single],
        };
        Layout::List { item, max: MAX }
    }
    fn to_owned(value: Seq<'_, F>) -> Self::Owned {
        value.iter().map(F::to_owned).collect()
    }
    #[inline(always)]
    fn encode<S: Sink>(value: &Self::Owned, out: &mut S, field: &'static str) -> Result<(), Stop> {
        let count = check_len(value.len(), MAX, field)?;
        out.put_array(count.to_le_bytes())?;
        for item in value {
            F::encode(item, out, field)?;
        }
        Ok(())
    }
    #[inline(always)]
    fn decode<'a>(c: &mut Cursor<'a>, field: &'static str) -> Result<Seq<'a, F>, DecodeError> {
        let count = c.len(field, MAX)?;
        let start = c.rest();
        for _ in 0..count {
            F::decode(c, field)?;
        }
        let items = c.since(start);
        Ok(Seq {
            count,
            items,
            item: PhantomData,
        })
    }
    fn skip(c: &mut Cursor<'_>, field: &'static str) -> Result<(), DecodeError> {
        let count = c.len(field, MAX)?;
        for _ in 0..count {
            F::skip(c, field)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_prefix_agrees_with_std_on_every_length_window_and_high_byte_position() {
        for window_len in 0..80usize {
            let clean = vec![b'a'; window_len];
            for len in 0..=window_len {
                assert!(is_ascii_prefix(&clean, len), "len {len} of {window_len}");
                for at in 0..window_len {
                    for high in [0x80u8, 0xC3, 0xFF] {
                        let mut dirty = clean.clone();
                        dirty[at] = high;
                        let expected = at >= len;
                        assert_eq!(
                            is_ascii_prefix(&dirty, len),
                            expected,
                            "len {len} of {window_len}, high byte at {at}"
                        );
                    }
                }
            }
        }
    }
}
