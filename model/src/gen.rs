//! Proptest strategies for EAOF records, and bitwise record equality.
//!
//! Guarantees:
//! - [`any_record`] and [`any_small_record`] draw every one of the 35 record kinds with equal
//!   weight, and only records the writer accepts (every `u64` stored as a non-negative `i64`
//!   is at most `i64::MAX`, every BITOP op at most 3, every length and count under its
//!   limit), so a test may `unwrap` their encoding;
//! - their values reach the edges the format must carry unchanged: empty and multi-KiB
//!   values, non-ASCII keys, empty lists, `i64::MIN`/`i64::MAX`, 0 and `i64::MAX` for
//!   non-negative fields, infinities, `-0.0`, NaNs with payloads (`f64` scores and `f32`
//!   vector components);
//! - [`refused_record`] draws only records the writer must refuse, each with the name of the
//!   field it must name in its `EncodeError`;
//! - [`records_bit_equal`] compares floats by their bits (so a NaN equals itself and `-0.0`
//!   differs from `0.0`), everything else with `==`.

use std::collections::BTreeSet;

use bytes::Bytes;
use eaof::limits::{BITOP_OP_MAX, NON_NEGATIVE_MAX, VECTOR_DIMS_MAX};
use eaof::{AofRecord, RecordKind};
use proptest::collection::{vec, SizeRange};
use proptest::prelude::*;
use proptest::strategy::Union;

/// How large generated values may get.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    /// Whether multi-KiB values, keys and vectors are drawn (now and then).
    big: bool,
    /// Longest list field.
    list_max: usize,
}

const FULL: Sizes = Sizes {
    big: true,
    list_max: 6,
};

/// Small records, for tests whose cost grows with the square of the file size (every cut,
/// every bit flip).
const SMALL: Sizes = Sizes {
    big: false,
    list_max: 3,
};

/// Any record the writer accepts, of any of the 35 kinds with equal weight, with edge values
/// (multi-KiB values included, now and then).
pub fn any_record() -> BoxedStrategy<AofRecord> {
    records_of(FULL)
}

/// Any record the writer accepts, of any kind, with edge values but at most a few dozen
/// bytes of each value: for tests that try every byte of a file.
pub fn any_small_record() -> BoxedStrategy<AofRecord> {
    records_of(SMALL)
}

/// A list of `n` records from [`any_record`].
pub fn any_records(n: impl Into<SizeRange>) -> BoxedStrategy<Vec<AofRecord>> {
    vec(any_record(), n).boxed()
}

/// A list of `n` records from [`any_small_record`].
pub fn any_small_records(n: impl Into<SizeRange>) -> BoxedStrategy<Vec<AofRecord>> {
    vec(any_small_record(), n).boxed()
}

/// Any accepted record of one kind.
pub fn record_of_kind(kind: RecordKind) -> BoxedStrategy<AofRecord> {
    kind_strategy(kind, FULL)
}

fn records_of(sizes: Sizes) -> BoxedStrategy<AofRecord> {
    Union::new(RecordKind::ALL.iter().map(|&k| kind_strategy(k, sizes))).boxed()
}

/// A record the writer must refuse, and the field its `EncodeError` must name.
///
/// Covers every refusal reachable at a test's size: a `u64` over `i64::MAX` in each of the
/// five fields stored as a non-negative `i64`, a BITOP op over 3, and a VADD vector over
/// `VECTOR_DIMS_MAX` dimensions. (Fields over 512 MiB and lists over 100 million items are
/// refused by the same length checks but are too large to generate.)
pub fn refused_record() -> BoxedStrategy<(AofRecord, &'static str)> {
    let over = || {
        prop_oneof![
            Just(NON_NEGATIVE_MAX + 1),
            Just(u64::MAX),
            (NON_NEGATIVE_MAX + 1)..
        ]
    };
    let key = || text(SMALL);
    Union::new([
        (key(), over())
            .prop_map(|(key, seconds)| (AofRecord::Expire { key, seconds }, "seconds"))
            .boxed(),
        (key(), over())
            .prop_map(|(key, milliseconds)| {
                (AofRecord::Pexpire { key, milliseconds }, "milliseconds")
            })
            .boxed(),
        (key(), over())
            .prop_map(|(key, timestamp_ms)| {
                (AofRecord::Pexpireat { key, timestamp_ms }, "timestamp_ms")
            })
            .boxed(),
        (key(), over(), any::<u8>())
            .prop_map(|(key, offset, value)| (AofRecord::SetBit { key, offset, value }, "offset"))
            .boxed(),
        (key(), over(), blob(SMALL))
            .prop_filter_map("usize narrower than u64", |(key, offset, value)| {
                let offset = usize::try_from(offset).ok()?;
                Some((AofRecord::SetRange { key, offset, value }, "offset"))
            })
            .boxed(),
        ((BITOP_OP_MAX + 1).., text(SMALL), string_list(SMALL))
            .prop_map(|(op, dest, keys)| (AofRecord::BitOp { op, dest, keys }, "op"))
            .boxed(),
        (key(), key(), 1..=3usize, f32_edge())
            .prop_map(|(key, element, extra, fill)| {
                let record = AofRecord::VAdd {
                    key,
                    element,
                    vector: vec![fill; VECTOR_DIMS_MAX as usize + extra],
                    metric: 0,
                    quantization: 0,
                    connectivity: 16,
                    expansion_add: 64,
                };
                (record, "vector")
            })
            .boxed(),
    ])
    .boxed()
}

// ---- fields ----

/// Keys, members, names: mostly short ASCII, with non-ASCII, empty, any `char`s, and now
/// and then a multi-KiB string.
fn text(sizes: Sizes) -> BoxedStrategy<String> {
    let special = prop::sample::select(vec![
        "",
        "ключ",
        "🔑",
        "emoji 😀 key",
        "日本語のキー",
        "é",
        "\u{0}",
        "a\u{10FFFF}z",
        "\u{FEFF}bom",
        "e\u{301}",
        "user:1000:session",
        " ",
    ])
    .prop_map(str::to_owned);
    let ascii = "[a-z0-9:_]{1,12}";
    let chars = vec(any::<char>(), 0..8).prop_map(String::from_iter);
    if sizes.big {
        prop_oneof![
            6 => ascii,
            3 => special,
            3 => chars,
            1 => vec(any::<char>(), 600..1500).prop_map(String::from_iter),
        ]
        .boxed()
    } else {
        prop_oneof![4 => ascii, 3 => special, 2 => vec(any::<char>(), 0..4).prop_map(String::from_iter)]
            .boxed()
    }
}

/// Values: empty, short, and now and then several KiB.
fn blob(sizes: Sizes) -> BoxedStrategy<Bytes> {
    let bytes = if sizes.big {
        prop_oneof![
            2 => Just(Vec::new()),
            7 => vec(any::<u8>(), 1..48),
            1 => vec(any::<u8>(), 1024..6144),
        ]
        .boxed()
    } else {
        prop_oneof![1 => Just(Vec::new()), 4 => vec(any::<u8>(), 1..12)].boxed()
    };
    bytes.prop_map(Bytes::from).boxed()
}

fn list<T: std::fmt::Debug + Clone + 'static>(
    item: BoxedStrategy<T>,
    sizes: Sizes,
) -> BoxedStrategy<Vec<T>> {
    prop_oneof![1 => Just(Vec::new()), 4 => vec(item, 1..=sizes.list_max)].boxed()
}

fn string_list(sizes: Sizes) -> BoxedStrategy<Vec<String>> {
    list(text(sizes), sizes)
}

fn i64_edge() -> BoxedStrategy<i64> {
    prop_oneof![
        Just(i64::MIN),
        Just(i64::MAX),
        Just(0),
        Just(-1),
        Just(1),
        Just(i64::MIN + 1),
        -1000i64..1000,
        any::<i64>(),
    ]
    .boxed()
}

/// Values of a field stored as a non-negative `i64`: 0 to `i64::MAX`.
fn non_negative() -> BoxedStrategy<u64> {
    prop_oneof![
        Just(0),
        Just(NON_NEGATIVE_MAX),
        Just(NON_NEGATIVE_MAX - 1),
        0u64..100_000,
        0..=NON_NEGATIVE_MAX,
    ]
    .boxed()
}

fn u32_edge() -> BoxedStrategy<u32> {
    prop_oneof![Just(0), Just(u32::MAX), 0u32..1024, any::<u32>()].boxed()
}

fn u8_edge() -> BoxedStrategy<u8> {
    prop_oneof![Just(0), Just(1), Just(u8::MAX), any::<u8>()].boxed()
}

/// Every `f64` class: infinities, signed zeros, NaNs of both signs with payloads (quiet and
/// signalling), subnormals, extremes, and any bit pattern.
fn f64_edge() -> BoxedStrategy<f64> {
    const EXP: u64 = 0x7ff0_0000_0000_0000;
    const MANTISSA: u64 = 0x000f_ffff_ffff_ffff;
    let nan = (any::<bool>(), 1..=MANTISSA)
        .prop_map(|(neg, payload)| f64::from_bits((u64::from(neg) << 63) | EXP | payload));
    prop_oneof![
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
        Just(0.0),
        Just(f64::MAX),
        Just(f64::MIN),
        Just(f64::MIN_POSITIVE),
        Just(f64::from_bits(1)),
        Just(f64::NAN),
        nan,
        -1e6f64..1e6,
        any::<u64>().prop_map(f64::from_bits),
    ]
    .boxed()
}

/// The `f32` counterpart of [`f64_edge`], for VADD vectors.
fn f32_edge() -> BoxedStrategy<f32> {
    const EXP: u32 = 0x7f80_0000;
    const MANTISSA: u32 = 0x007f_ffff;
    let nan = (any::<bool>(), 1..=MANTISSA)
        .prop_map(|(neg, payload)| f32::from_bits((u32::from(neg) << 31) | EXP | payload));
    prop_oneof![
        Just(f32::INFINITY),
        Just(f32::NEG_INFINITY),
        Just(-0.0f32),
        Just(0.0f32),
        Just(f32::MAX),
        Just(f32::MIN),
        Just(f32::MIN_POSITIVE),
        Just(f32::from_bits(1)),
        nan,
        -1.0f32..1.0,
        any::<u32>().prop_map(f32::from_bits),
    ]
    .boxed()
}

fn vector(sizes: Sizes) -> BoxedStrategy<Vec<f32>> {
    if sizes.big {
        prop_oneof![
            1 => Just(Vec::new()),
            8 => vec(f32_edge(), 1..=16),
            1 => vec(f32_edge(), 256..=1024),
        ]
        .boxed()
    } else {
        prop_oneof![1 => Just(Vec::new()), 4 => vec(f32_edge(), 1..=4)].boxed()
    }
}

// ---- records ----

/// Every field of a kind drawn with the strategies above. The `match` is exhaustive, so a
/// new kind cannot be left out.
fn kind_strategy(kind: RecordKind, s: Sizes) -> BoxedStrategy<AofRecord> {
    use AofRecord as R;
    let t = || text(s);
    let b = || blob(s);
    match kind {
        RecordKind::Set => (t(), b(), prop_oneof![Just(-1i64), i64_edge()])
            .prop_map(|(key, value, expire_ms)| R::Set {
                key,
                value,
                expire_ms,
            })
            .boxed(),
        RecordKind::Del => t().prop_map(|key| R::Del { key }).boxed(),
        RecordKind::Expire => (t(), non_negative())
            .prop_map(|(key, seconds)| R::Expire { key, seconds })
            .boxed(),
        RecordKind::LPush => (t(), list(b(), s))
            .prop_map(|(key, values)| R::LPush { key, values })
            .boxed(),
        RecordKind::RPush => (t(), list(b(), s))
            .prop_map(|(key, values)| R::RPush { key, values })
            .boxed(),
        RecordKind::LPop => t().prop_map(|key| R::LPop { key }).boxed(),
        RecordKind::RPop => t().prop_map(|key| R::RPop { key }).boxed(),
        RecordKind::ZAdd => (t(), list((f64_edge(), t()).boxed(), s))
            .prop_map(|(key, members)| R::ZAdd { key, members })
            .boxed(),
        RecordKind::ZRem => (t(), string_list(s))
            .prop_map(|(key, members)| R::ZRem { key, members })
            .boxed(),
        RecordKind::Persist => t().prop_map(|key| R::Persist { key }).boxed(),
        RecordKind::Pexpire => (t(), non_negative())
            .prop_map(|(key, milliseconds)| R::Pexpire { key, milliseconds })
            .boxed(),
        RecordKind::Incr => t().prop_map(|key| R::Incr { key }).boxed(),
        RecordKind::Decr => t().prop_map(|key| R::Decr { key }).boxed(),
        RecordKind::HSet => (t(), list((t(), b()).boxed(), s))
            .prop_map(|(key, fields)| R::HSet { key, fields })
            .boxed(),
        RecordKind::HDel => (t(), string_list(s))
            .prop_map(|(key, fields)| R::HDel { key, fields })
            .boxed(),
        RecordKind::HIncrBy => (t(), t(), i64_edge())
            .prop_map(|(key, field, delta)| R::HIncrBy { key, field, delta })
            .boxed(),
        RecordKind::SAdd => (t(), string_list(s))
            .prop_map(|(key, members)| R::SAdd { key, members })
            .boxed(),
        RecordKind::SRem => (t(), string_list(s))
            .prop_map(|(key, members)| R::SRem { key, members })
            .boxed(),
        RecordKind::IncrBy => (t(), i64_edge())
            .prop_map(|(key, delta)| R::IncrBy { key, delta })
            .boxed(),
        RecordKind::DecrBy => (t(), i64_edge())
            .prop_map(|(key, delta)| R::DecrBy { key, delta })
            .boxed(),
        RecordKind::Append => (t(), b())
            .prop_map(|(key, value)| R::Append { key, value })
            .boxed(),
        RecordKind::Rename => (t(), t())
            .prop_map(|(key, newkey)| R::Rename { key, newkey })
            .boxed(),
        RecordKind::ProtoSet => (t(), t(), b(), prop_oneof![Just(-1i64), i64_edge()])
            .prop_map(|(key, type_name, data, expire_ms)| R::ProtoSet {
                key,
                type_name,
                data,
                expire_ms,
            })
            .boxed(),
        RecordKind::ProtoRegister => (t(), b())
            .prop_map(|(name, descriptor)| R::ProtoRegister { name, descriptor })
            .boxed(),
        RecordKind::VAdd => (
            (t(), t(), vector(s)),
            (u8_edge(), u8_edge(), u32_edge(), u32_edge()),
        )
            .prop_map(
                |((key, element, vector), (metric, quantization, connectivity, expansion_add))| {
                    R::VAdd {
                        key,
                        element,
                        vector,
                        metric,
                        quantization,
                        connectivity,
                        expansion_add,
                    }
                },
            )
            .boxed(),
        RecordKind::VRem => (t(), t())
            .prop_map(|(key, element)| R::VRem { key, element })
            .boxed(),
        RecordKind::Copy => (t(), t(), any::<bool>())
            .prop_map(|(source, destination, replace)| R::Copy {
                source,
                destination,
                replace,
            })
            .boxed(),
        RecordKind::LSet => (t(), i64_edge(), b())
            .prop_map(|(key, index, value)| R::LSet { key, index, value })
            .boxed(),
        RecordKind::LTrim => (t(), i64_edge(), i64_edge())
            .prop_map(|(key, start, stop)| R::LTrim { key, start, stop })
            .boxed(),
        RecordKind::LInsert => (t(), any::<bool>(), b(), b())
            .prop_map(|(key, before, pivot, value)| R::LInsert {
                key,
                before,
                pivot,
                value,
            })
            .boxed(),
        RecordKind::LRem => (t(), i64_edge(), b())
            .prop_map(|(key, count, value)| R::LRem { key, count, value })
            .boxed(),
        RecordKind::SetRange => (t(), non_negative(), b())
            .prop_filter_map("usize narrower than u64", |(key, offset, value)| {
                let offset = usize::try_from(offset).ok()?;
                Some(R::SetRange { key, offset, value })
            })
            .boxed(),
        RecordKind::SetBit => (t(), non_negative(), u8_edge())
            .prop_map(|(key, offset, value)| R::SetBit { key, offset, value })
            .boxed(),
        RecordKind::BitOp => (0..=BITOP_OP_MAX, t(), string_list(s))
            .prop_map(|(op, dest, keys)| R::BitOp { op, dest, keys })
            .boxed(),
        RecordKind::Pexpireat => (t(), non_negative())
            .prop_map(|(key, timestamp_ms)| R::Pexpireat { key, timestamp_ms })
            .boxed(),
    }
}

// ---- edge coverage ----

/// Every edge class [`edges`] can report; a long enough run of [`any_record`] reaches each.
pub const EDGES: &[&str] = &[
    "empty text",
    "non-ASCII text",
    "multi-KiB text",
    "empty value",
    "multi-KiB value",
    "empty list",
    "i64::MIN",
    "i64::MAX",
    "negative i64",
    "non-negative 0",
    "non-negative i64::MAX",
    "f64 infinity",
    "f64 -0.0",
    "f64 NaN with payload",
    "f32 infinity",
    "f32 -0.0",
    "f32 NaN",
];

/// Collects the edge classes of one record's values.
#[derive(Default)]
struct Tally(BTreeSet<&'static str>);

impl Tally {
    fn mark(&mut self, yes: bool, class: &'static str) {
        if yes {
            self.0.insert(class);
        }
    }
    fn text(&mut self, s: &str) {
        self.mark(s.is_empty(), "empty text");
        self.mark(!s.is_ascii(), "non-ASCII text");
        self.mark(s.len() >= 1024, "multi-KiB text");
    }
    fn texts(&mut self, list: &[String]) {
        self.list(list.len());
        list.iter().for_each(|s| self.text(s));
    }
    fn blob(&mut self, b: &[u8]) {
        self.mark(b.is_empty(), "empty value");
        self.mark(b.len() >= 1024, "multi-KiB value");
    }
    fn list(&mut self, len: usize) {
        self.mark(len == 0, "empty list");
    }
    fn int(&mut self, i: i64) {
        self.mark(i == i64::MIN, "i64::MIN");
        self.mark(i == i64::MAX, "i64::MAX");
        self.mark(i < 0, "negative i64");
    }
    fn non_negative(&mut self, u: u64) {
        self.mark(u == 0, "non-negative 0");
        self.mark(u == NON_NEGATIVE_MAX, "non-negative i64::MAX");
    }
    fn f64(&mut self, f: f64) {
        self.mark(f.is_infinite(), "f64 infinity");
        self.mark(f.to_bits() == (-0.0f64).to_bits(), "f64 -0.0");
        self.mark(
            f.is_nan() && f.to_bits() != f64::NAN.to_bits(),
            "f64 NaN with payload",
        );
    }
    fn f32(&mut self, f: f32) {
        self.mark(f.is_infinite(), "f32 infinity");
        self.mark(f.to_bits() == (-0.0f32).to_bits(), "f32 -0.0");
        self.mark(f.is_nan(), "f32 NaN");
    }
}

/// The edge classes (from [`EDGES`]) the record's values reach, to show a run covered them.
pub fn edges(r: &AofRecord) -> BTreeSet<&'static str> {
    use AofRecord as R;
    let mut t = Tally::default();
    match r {
        R::Set {
            key,
            value,
            expire_ms,
        } => {
            t.text(key);
            t.blob(value);
            t.int(*expire_ms);
        }
        R::Del { key }
        | R::LPop { key }
        | R::RPop { key }
        | R::Persist { key }
        | R::Incr { key }
        | R::Decr { key } => t.text(key),
        R::Expire { key, seconds: n }
        | R::Pexpire {
            key,
            milliseconds: n,
        }
        | R::Pexpireat {
            key,
            timestamp_ms: n,
        } => {
            t.text(key);
            t.non_negative(*n);
        }
        R::LPush { key, values } | R::RPush { key, values } => {
            t.text(key);
            t.list(values.len());
            values.iter().for_each(|v| t.blob(v));
        }
        R::ZAdd { key, members } => {
            t.text(key);
            t.list(members.len());
            for (score, member) in members {
                t.f64(*score);
                t.text(member);
            }
        }
        R::ZRem { key, members: list }
        | R::HDel { key, fields: list }
        | R::SAdd { key, members: list }
        | R::SRem { key, members: list } => {
            t.text(key);
            t.texts(list);
        }
        R::HSet { key, fields } => {
            t.text(key);
            t.list(fields.len());
            for (field, value) in fields {
                t.text(field);
                t.blob(value);
            }
        }
        R::HIncrBy { key, field, delta } => {
            t.text(key);
            t.text(field);
            t.int(*delta);
        }
        R::IncrBy { key, delta } | R::DecrBy { key, delta } => {
            t.text(key);
            t.int(*delta);
        }
        R::Append { key, value } => {
            t.text(key);
            t.blob(value);
        }
        R::Rename { key: a, newkey: b }
        | R::VRem { key: a, element: b }
        | R::Copy {
            source: a,
            destination: b,
            ..
        } => {
            t.text(a);
            t.text(b);
        }
        R::ProtoSet {
            key,
            type_name,
            data,
            expire_ms,
        } => {
            t.text(key);
            t.text(type_name);
            t.blob(data);
            t.int(*expire_ms);
        }
        R::ProtoRegister { name, descriptor } => {
            t.text(name);
            t.blob(descriptor);
        }
        R::VAdd {
            key,
            element,
            vector,
            ..
        } => {
            t.text(key);
            t.text(element);
            t.list(vector.len());
            vector.iter().for_each(|&f| t.f32(f));
        }
        R::LSet {
            key,
            index: i,
            value,
        }
        | R::LRem {
            key,
            count: i,
            value,
        } => {
            t.text(key);
            t.int(*i);
            t.blob(value);
        }
        R::LTrim { key, start, stop } => {
            t.text(key);
            t.int(*start);
            t.int(*stop);
        }
        R::LInsert {
            key, pivot, value, ..
        } => {
            t.text(key);
            t.blob(pivot);
            t.blob(value);
        }
        R::SetRange { key, offset, value } => {
            t.text(key);
            t.non_negative(*offset as u64);
            t.blob(value);
        }
        R::SetBit { key, offset, .. } => {
            t.text(key);
            t.non_negative(*offset);
        }
        R::BitOp { dest, keys, .. } => {
            t.text(dest);
            t.texts(keys);
        }
    }
    t.0
}

// ---- equality ----

/// Whether two records are the same, comparing floats by their bits.
pub fn records_bit_equal(a: &AofRecord, b: &AofRecord) -> bool {
    float_bits(a) == float_bits(b) && floats_zeroed(a) == floats_zeroed(b)
}

/// Whether two record lists are the same, element by element, floats by their bits.
pub fn record_lists_bit_equal(a: &[AofRecord], b: &[AofRecord]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| records_bit_equal(x, y))
}

/// The bits of every float in the record, in field order.
fn float_bits(r: &AofRecord) -> Vec<u64> {
    match r {
        AofRecord::ZAdd { members, .. } => members.iter().map(|(s, _)| s.to_bits()).collect(),
        AofRecord::VAdd { vector, .. } => vector.iter().map(|v| u64::from(v.to_bits())).collect(),
        _ => Vec::new(),
    }
}

/// The record with every float set to `+0.0`, so that `==` compares the rest (the float
/// count is kept, and the bits are compared by [`float_bits`]).
fn floats_zeroed(r: &AofRecord) -> AofRecord {
    let mut r = r.clone();
    match &mut r {
        AofRecord::ZAdd { members, .. } => members.iter_mut().for_each(|(s, _)| *s = 0.0),
        AofRecord::VAdd { vector, .. } => vector.iter_mut().for_each(|v| *v = 0.0),
        _ => {}
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::test_runner::{Config, TestRunner};

    #[test]
    fn bit_equality_tells_nan_payloads_and_signed_zeros_apart() {
        let zadd = |score: f64| AofRecord::ZAdd {
            key: "k".into(),
            members: vec![(score, "m".into())],
        };
        let nan_a = f64::from_bits(0x7ff8_0000_0000_0001);
        let nan_b = f64::from_bits(0x7ff8_0000_0000_0002);
        assert!(records_bit_equal(&zadd(nan_a), &zadd(nan_a)));
        assert!(!records_bit_equal(&zadd(nan_a), &zadd(nan_b)));
        assert!(!records_bit_equal(&zadd(0.0), &zadd(-0.0)));
        assert!(!records_bit_equal(
            &zadd(1.0),
            &AofRecord::ZAdd {
                key: "other".into(),
                members: vec![(1.0, "m".into())],
            }
        ));
    }

    #[test]
    fn a_few_thousand_records_reach_every_edge() {
        let mut runner = TestRunner::new(Config::with_cases(3000));
        let seen = std::cell::RefCell::new(BTreeSet::new());
        runner
            .run(&any_record(), |r| {
                seen.borrow_mut().extend(edges(&r));
                Ok(())
            })
            .unwrap();
        let seen = seen.into_inner();
        let missing: Vec<_> = EDGES.iter().filter(|e| !seen.contains(*e)).collect();
        assert!(missing.is_empty(), "never generated: {missing:?}");
    }

    #[test]
    fn generated_records_are_accepted_and_refused_ones_refused() {
        let mut runner = TestRunner::new(Config::with_cases(300));
        runner
            .run(&any_record(), |r| {
                prop_assert!(r.to_bytes().is_ok(), "refused: {r:?}");
                Ok(())
            })
            .unwrap();
        runner
            .run(&refused_record(), |(r, field)| {
                match r.to_bytes() {
                    Err(eaof::FormatError::Encode(e)) => prop_assert_eq!(e.field, field),
                    other => prop_assert!(false, "{r:?} gave {other:?}"),
                }
                Ok(())
            })
            .unwrap();
    }
}
