//! The one table of record kinds: tag, name, and field layout, in wire order.
//!
//! Everything else about records is generated from this table: the owned [`AofRecord`] (the
//! seed's public type, same variants and fields), the borrowed [`RecordRef`], the fieldless
//! [`RecordKind`], and for each kind one encoder, one validating decoder and one structural
//! skipper. Tags are on-disk values and never change or get reused.

use super::cursor::Cursor;
use super::error::{DecodeError, EncodeError, EncodeProblem, Problem};
use super::field::{
    BitOpCode, Blob, Field, Flag, Layout, List, NonNegU64, NonNegUsize, Text, F32, F64, I64, U32,
    U8,
};
use super::sink::{Measure, Sink, Stop, Window};
use crate::limits::{RECORD_LEN_MAX, VECTOR_DIMS_MAX};

macro_rules! record_table {
    ($(
        $(#[doc = $doc:literal])*
        $tag:literal $variant:ident $name:literal { $($field:ident : $ty:ty),+ $(,)? }
    )*) => {
        /// A single mutation record stored in the AOF (owned).
        #[derive(Debug, Clone, PartialEq)]
        pub enum AofRecord {
            $( $(#[doc = $doc])* $variant { $( $field: <$ty as Field>::Owned ),+ }, )*
        }

        /// A record borrowed from the bytes it was decoded from: no allocation per record.
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub enum RecordRef<'a> {
            $( $(#[doc = $doc])* $variant { $( $field: <$ty as Field>::Ref<'a> ),+ }, )*
        }

        /// The kind of a record, without its fields.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum RecordKind {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl RecordKind {
            /// Every kind, in table order.
            pub const ALL: &'static [RecordKind] = &[$(RecordKind::$variant),*];

            /// The on-disk tag byte.
            pub const fn tag(self) -> u8 {
                match self { $(RecordKind::$variant => $tag,)* }
            }

            /// The command name (`SET`, `PROTO.REGISTER`...).
            pub const fn name(self) -> &'static str {
                match self { $(RecordKind::$variant => $name,)* }
            }

            /// The kind whose tag is `tag`.
            pub const fn from_tag(tag: u8) -> Option<Self> {
                match tag { $($tag => Some(RecordKind::$variant),)* _ => None }
            }

            /// One line saying what the record means.
            pub fn summary(self) -> &'static str {
                match self { $(RecordKind::$variant => concat!($($doc),*).trim_start(),)* }
            }

            /// The payload's fields after the tag, in wire order, with their layouts.
            pub fn fields(self) -> Vec<(&'static str, Layout)> {
                match self {
                    $(RecordKind::$variant => vec![$((stringify!($field), <$ty as Field>::layout())),+],)*
                }
            }

            /// Steps over the payload, checking only lengths and counts.
            fn skip_payload(self, c: &mut Cursor<'_>) -> Result<(), DecodeError> {
                match self {
                    $(RecordKind::$variant => { $(<$ty as Field>::skip(c, stringify!($field))?;)+ })*
                }
                Ok(())
            }
        }

        impl AofRecord {
            /// The kind of this record.
            pub fn kind(&self) -> RecordKind {
                match self { $(AofRecord::$variant { .. } => RecordKind::$variant,)* }
            }

            /// Encodes tag and payload into `out`, field by field in wire order.
            #[inline(always)]
            fn encode_fields<S: Sink>(&self, out: &mut S) -> Result<(), Stop> {
                match self {
                    $(AofRecord::$variant { $($field),+ } => {
                        out.put_array([$tag])?;
                        $(<$ty as Field>::encode($field, out, stringify!($field))?;)+
                    })*
                }
                Ok(())
            }
        }

        impl<'a> RecordRef<'a> {
            /// The kind of this record.
            pub fn kind(&self) -> RecordKind {
                match self { $(RecordRef::$variant { .. } => RecordKind::$variant,)* }
            }

            /// The owned record (copies every field).
            pub fn to_record(&self) -> AofRecord {
                match *self {
                    $(RecordRef::$variant { $($field),+ } => AofRecord::$variant {
                        $($field: <$ty as Field>::to_owned($field)),+
                    },)*
                }
            }

            /// Decodes the payload when nothing is wrong with it and `check`, run on the
            /// record's length once its fields are read, accepts it, and hands the record
            /// to `visit`; returns what `visit` and `check` returned. `None` says only that
            /// something is wrong, and [`RecordRef::decode_payload`] says what.
            ///
            /// Why this shape: the record is built in the arm of its kind, after the check,
            /// and handed over there. Returning it instead makes the compiler merge the 35
            /// arms into one exit that moves every field of the largest kind through the
            /// stack (45 instructions a record on the benchmark mix); decoding it into a
            /// temporary and copying it out after the check cost two 72-byte copies.
            #[inline(always)]
            fn decode_payload_visit<R>(
                kind: RecordKind,
                c: &mut Cursor<'a>,
                check: &impl FrameCheck,
                visit: impl FnOnce(Self) -> R,
            ) -> Option<(R, usize)> {
                match kind {
                    $(RecordKind::$variant => {
                        $(let $field = <$ty as Field>::decode(c, stringify!($field)).ok()?;)+
                        let framed = check.framed_len(c.position())?;
                        Some((visit(RecordRef::$variant { $($field),+ }), framed))
                    })*
                }
            }

            fn decode_payload(kind: RecordKind, c: &mut Cursor<'a>) -> Result<Self, DecodeError> {
                Ok(match kind {
                    $(RecordKind::$variant => RecordRef::$variant {
                        $($field: <$ty as Field>::decode(c, stringify!($field))?),+
                    },)*
                })
            }
        }
    };
}

type Vector = List<F32, VECTOR_DIMS_MAX>;

record_table! {
    /// SET key value expire_ms: store a string; expire_ms is the remaining TTL, -1 for none.
    1 Set "SET" { key: Text, value: Blob, expire_ms: I64 }
    /// DEL key: remove the key.
    2 Del "DEL" { key: Text }
    /// EXPIRE key seconds: expire the key `seconds` from now.
    3 Expire "EXPIRE" { key: Text, seconds: NonNegU64 }
    /// LPUSH key value...: push each value at the head, in order.
    4 LPush "LPUSH" { key: Text, values: List<Blob> }
    /// RPUSH key value...: push each value at the tail, in order.
    5 RPush "RPUSH" { key: Text, values: List<Blob> }
    /// LPOP key: remove the head element.
    6 LPop "LPOP" { key: Text }
    /// RPOP key: remove the tail element.
    7 RPop "RPOP" { key: Text }
    /// ZADD key (score member)...: add members or update their scores.
    8 ZAdd "ZADD" { key: Text, members: List<(F64, Text)> }
    /// ZREM key member...: remove members from a sorted set.
    9 ZRem "ZREM" { key: Text, members: List<Text> }
    /// PERSIST key: remove the key's expiry.
    10 Persist "PERSIST" { key: Text }
    /// PEXPIRE key milliseconds: expire the key `milliseconds` from now.
    11 Pexpire "PEXPIRE" { key: Text, milliseconds: NonNegU64 }
    /// INCR key: add 1 to an integer string.
    12 Incr "INCR" { key: Text }
    /// DECR key: subtract 1 from an integer string.
    13 Decr "DECR" { key: Text }
    /// HSET key (field value)...: set hash fields.
    14 HSet "HSET" { key: Text, fields: List<(Text, Blob)> }
    /// HDEL key field...: remove hash fields.
    15 HDel "HDEL" { key: Text, fields: List<Text> }
    /// HINCRBY key field delta: add delta to an integer hash field.
    16 HIncrBy "HINCRBY" { key: Text, field: Text, delta: I64 }
    /// SADD key member...: add set members.
    17 SAdd "SADD" { key: Text, members: List<Text> }
    /// SREM key member...: remove set members.
    18 SRem "SREM" { key: Text, members: List<Text> }
    /// INCRBY key delta: add delta to an integer string.
    19 IncrBy "INCRBY" { key: Text, delta: I64 }
    /// DECRBY key delta: subtract delta from an integer string.
    20 DecrBy "DECRBY" { key: Text, delta: I64 }
    /// APPEND key value: append to a string.
    21 Append "APPEND" { key: Text, value: Blob }
    /// RENAME key newkey: move a key (with its expiry) to a new name.
    22 Rename "RENAME" { key: Text, newkey: Text }
    /// PROTO.SET key type_name data expire_ms: store a protobuf value; -1 for no expiry.
    23 ProtoSet "PROTO.SET" { key: Text, type_name: Text, data: Blob, expire_ms: I64 }
    /// PROTO.REGISTER name descriptor: register a protobuf schema.
    24 ProtoRegister "PROTO.REGISTER" { name: Text, descriptor: Blob }
    /// VADD key element vector metric quantization connectivity expansion_add: add a vector.
    25 VAdd "VADD" {
        key: Text, element: Text, vector: Vector, metric: U8, quantization: U8,
        connectivity: U32, expansion_add: U32,
    }
    /// VREM key element: remove a vector-set element.
    26 VRem "VREM" { key: Text, element: Text }
    /// COPY source destination replace: copy a key's value (and expiry).
    27 Copy "COPY" { source: Text, destination: Text, replace: Flag }
    /// LSET key index value: overwrite a list element (negative index counts from the tail).
    28 LSet "LSET" { key: Text, index: I64, value: Blob }
    /// LTRIM key start stop: keep only the elements between start and stop, inclusive.
    29 LTrim "LTRIM" { key: Text, start: I64, stop: I64 }
    /// LINSERT key before pivot value: insert value before (or after) the first pivot.
    30 LInsert "LINSERT" { key: Text, before: Flag, pivot: Blob, value: Blob }
    /// LREM key count value: remove up to |count| occurrences (0: all; negative: from tail).
    31 LRem "LREM" { key: Text, count: I64, value: Blob }
    /// SETRANGE key offset value: overwrite bytes at offset, zero-padding as needed.
    32 SetRange "SETRANGE" { key: Text, offset: NonNegUsize, value: Blob }
    /// SETBIT key offset value: set the bit at offset (bit 0 is the most significant).
    33 SetBit "SETBIT" { key: Text, offset: NonNegU64, value: U8 }
    /// BITOP op dest key...: store a bitwise AND/OR/XOR/NOT of keys at dest.
    34 BitOp "BITOP" { op: BitOpCode, dest: Text, keys: List<Text> }
    /// PEXPIREAT key timestamp_ms: expire the key at an absolute Unix time in milliseconds.
    35 Pexpireat "PEXPIREAT" { key: Text, timestamp_ms: NonNegU64 }
}

/// Room made for a record before its first encoding attempt by [`AofRecord::encode_into`]:
/// most records fit, and a larger one is measured and encoded again.
const FIRST_ROOM: usize = 256;

impl AofRecord {
    /// Appends tag + payload to `out`. On error `out` is left as it was.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = out.len();
        out.resize(start + FIRST_ROOM, 0);
        let encoded = self.encode_at(out, start);
        out.truncate(*encoded.as_ref().unwrap_or(&start));
        encoded.map(drop)
    }

    /// Encodes tag + payload into `buf` from byte `start` (`buf` is grown, with zeros, when it
    /// has no room for the record) and returns where the record ends. `buf[..start]` is left
    /// as it was, and nothing is said of the bytes after the returned end: `buf` is a buffer
    /// kept initialized, so that encoding writes into it without growing it, field by field.
    ///
    /// # Panics
    ///
    /// When `start` plus the record's length overflows `usize`, as growing a `Vec` past it
    /// does.
    #[inline(always)]
    pub fn encode_at(&self, buf: &mut Vec<u8>, start: usize) -> Result<usize, EncodeError> {
        self.encode_at_within(buf, start, |_| Ok(()))
    }

    /// [`AofRecord::encode_at`] for a frame with a limit of its own: `fits`, given the
    /// record's length, refuses it before any room is made for it (a sealed record's
    /// ciphertext has a lower limit than a record).
    #[inline(always)]
    pub(crate) fn encode_at_within(
        &self,
        buf: &mut Vec<u8>,
        start: usize,
        fits: impl Fn(u64) -> Result<(), EncodeError>,
    ) -> Result<usize, EncodeError> {
        let mut window = Window::new(buf.get_mut(start..).unwrap_or_default());
        let room = window.left();
        match self.encode_fields(&mut window) {
            Ok(()) => {
                let len = room - window.left();
                check_record_len(len as u64)?;
                fits(len as u64)?;
                Ok(start + len)
            }
            Err(Stop::Refused(error)) => Err(error),
            Err(Stop::Full) => self.encode_measured(buf, start, fits),
        }
    }

    /// The slow path of [`AofRecord::encode_at`], for a record larger than the room left:
    /// measures it (which validates every field, so a refused record allocates nothing),
    /// makes exactly that room, and encodes it there.
    #[cold]
    #[inline(never)]
    fn encode_measured(
        &self,
        buf: &mut Vec<u8>,
        start: usize,
        fits: impl Fn(u64) -> Result<(), EncodeError>,
    ) -> Result<usize, EncodeError> {
        let len = self.encoded_len()?;
        fits(len)?;
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| start.checked_add(len))
            .expect("a record's end in its buffer overflows usize");
        if buf.len() < end {
            buf.resize(end, 0);
        }
        let mut window = Window::new(&mut buf[start..end]);
        match self.encode_fields(&mut window) {
            Ok(()) if window.left() == 0 => Ok(end),
            // Measuring and encoding run the same code on the same record.
            other => unreachable!("a measured record encodes to its length: {other:?}"),
        }
    }

    /// The length of tag + payload, validating every field as encoding does.
    pub fn encoded_len(&self) -> Result<u64, EncodeError> {
        let mut measure = Measure::default();
        match self.encode_fields(&mut measure) {
            Ok(()) => check_record_len(measure.total()).map(|()| measure.total()),
            Err(Stop::Refused(error)) => Err(error),
            Err(Stop::Full) => unreachable!("a measure is never full"),
        }
    }
}

#[inline(always)]
fn check_record_len(len: u64) -> Result<(), EncodeError> {
    if len > RECORD_LEN_MAX {
        return Err(EncodeError {
            field: "record",
            problem: EncodeProblem::TooLong {
                len,
                max: RECORD_LEN_MAX,
            },
        });
    }
    Ok(())
}

/// What the hot path checks of a record once its fields are read: given the record's
/// length, its framed length when the frame around it (its checksum) holds.
///
/// A trait rather than a closure: a closure called from every kind's arm is compiled once,
/// out of line, and its call cost a fifth of a record's instructions; an implementation's
/// `#[inline(always)]` method is inlined into each arm.
pub trait FrameCheck {
    fn framed_len(&self, len: usize) -> Option<usize>;
}

impl<'a> RecordRef<'a> {
    /// Decodes one record that fills `bytes` exactly (tag + payload, no checksum).
    pub fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut c = Cursor::new(bytes);
        let record = Self::decode_fields(&mut c)?;
        c.finish()?;
        Ok(record)
    }

    /// Decodes the record at the start of `bytes`, returning it and its length; the bytes
    /// after it are not looked at.
    pub fn decode_prefix(bytes: &'a [u8]) -> Result<(Self, usize), DecodeError> {
        let mut c = Cursor::new(bytes);
        let record = Self::decode_fields(&mut c)?;
        Ok((record, c.position()))
    }

    fn decode_fields(c: &mut Cursor<'a>) -> Result<Self, DecodeError> {
        let kind = read_kind(c)?;
        Self::decode_payload(kind, c)
    }

    /// Decodes the record at the start of `bytes` if `check`, given the record's length,
    /// accepts it, and hands it to `visit`; returns what `visit` and `check` returned (the
    /// hot path's framed length). `None` when anything is wrong, without saying what.
    #[inline(always)]
    pub fn decode_prefix_visit<R>(
        bytes: &'a [u8],
        check: &impl FrameCheck,
        visit: impl FnOnce(Self) -> R,
    ) -> Option<(R, usize)> {
        let mut c = Cursor::new(bytes);
        let kind = RecordKind::from_tag(*bytes.first()?)?;
        c.take(1, "tag").ok()?;
        Self::decode_payload_visit(kind, &mut c, check, visit)
    }
}

fn read_kind(c: &mut Cursor<'_>) -> Result<RecordKind, DecodeError> {
    let tag = c.u8("tag")?;
    RecordKind::from_tag(tag).ok_or(DecodeError {
        field: "tag",
        offset: 0,
        problem: Problem::UnknownTag(tag),
    })
}

/// The length of the record at the start of `bytes` (tag + payload), found by reading only
/// its tag, lengths and counts. Fails with a structural problem when that cannot be known.
pub fn record_len(bytes: &[u8]) -> Result<usize, DecodeError> {
    let mut c = Cursor::new(bytes);
    read_kind(&mut c)?.skip_payload(&mut c)?;
    Ok(c.position())
}
