//! Generators shared by the model's property tests: commands and records over a small
//! alphabet (three keys, a few values that are and are not integers, two fields), so that
//! generated operations collide: wrong types, missing keys, overflows, pivots not found.
#![allow(dead_code)] // each test binary uses part of this module

use bytes::Bytes;
use eaof::AofRecord;
use eaof_model::{BitOp, Command, Expiry, VectorConfig};
use proptest::prelude::*;

/// The clock the generated timestamps are relative to (2023-11-14, in Unix ms).
pub const T0: u64 = 1_700_000_000_000;

pub fn key() -> impl Strategy<Value = String> {
    prop_oneof![Just("a"), Just("b"), Just("c")].prop_map(String::from)
}

pub fn keys() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(key(), 1..4)
}

/// Mostly three short values, so lists hold duplicates and pivots are found; the rest are
/// edge cases (empty, non-UTF-8, the `i64` extremes).
pub fn value() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        4 => Just(&b"0"[..]),
        4 => Just(&b"1"[..]),
        4 => Just(&b"x"[..]),
        1 => Just(&b""[..]),
        1 => Just(&b"-1"[..]),
        1 => Just(&b"yz"[..]),
        1 => Just(&b"\xff\x01"[..]),
        1 => Just(&b"9223372036854775807"[..]),
        1 => Just(&b"-9223372036854775808"[..]),
    ]
    .prop_map(Bytes::from_static)
}

pub fn values() -> impl Strategy<Value = Vec<Bytes>> {
    prop::collection::vec(value(), 1..4)
}

pub fn name() -> impl Strategy<Value = String> {
    prop_oneof![Just("f"), Just("g"), Just("m")].prop_map(String::from)
}

pub fn names() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(name(), 1..4)
}

pub fn delta() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => -3i64..4,
        1 => Just(i64::MAX),
        1 => Just(i64::MIN),
    ]
}

pub fn index() -> impl Strategy<Value = i64> {
    -6i64..6
}

pub fn score() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.0), Just(1.0), Just(1.5), Just(-2.0), Just(-0.0)]
}

pub fn expiry() -> impl Strategy<Value = Option<Expiry>> {
    prop_oneof![
        3 => Just(None),
        1 => (1u64..4).prop_map(|s| Some(Expiry::Ex(s))),
        1 => prop_oneof![Just(1u64), Just(500), Just(2500)].prop_map(|ms| Some(Expiry::Px(ms))),
    ]
}

pub fn vector() -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec(prop_oneof![Just(0.0f32), Just(1.0), Just(-0.5)], 1..3)
}

pub fn vector_config() -> impl Strategy<Value = VectorConfig> {
    (0u8..3, 0u8..2, prop_oneof![Just(16u32), Just(32)]).prop_map(
        |(metric, quantization, connectivity)| VectorConfig {
            metric,
            quantization,
            connectivity,
            expansion_add: 64,
        },
    )
}

/// String, counter and bitmap commands.
pub fn string_command() -> BoxedStrategy<Command> {
    prop_oneof![
        (key(), value(), expiry()).prop_map(|(key, value, expiry)| Command::Set {
            key,
            value,
            expiry
        }),
        key().prop_map(|key| Command::Incr { key }),
        key().prop_map(|key| Command::Decr { key }),
        (key(), delta()).prop_map(|(key, delta)| Command::IncrBy { key, delta }),
        (key(), delta()).prop_map(|(key, delta)| Command::DecrBy { key, delta }),
        (key(), value()).prop_map(|(key, value)| Command::Append { key, value }),
        (key(), 0usize..6, value()).prop_map(|(key, offset, value)| Command::SetRange {
            key,
            offset,
            value
        }),
        (key(), 0u64..24, 0u8..3).prop_map(|(key, offset, bit)| Command::SetBit {
            key,
            offset,
            bit
        }),
        (
            prop_oneof![
                Just(BitOp::And),
                Just(BitOp::Or),
                Just(BitOp::Xor),
                Just(BitOp::Not)
            ],
            key(),
            keys()
        )
            .prop_map(|(op, dest, keys)| Command::BitOp { op, dest, keys }),
    ]
    .boxed()
}

/// Key lifecycle commands: DEL, TTLs, RENAME, COPY. TTLs and timestamps are small and near
/// [`T0`], so that clock advances of a few seconds make keys expire between commands.
pub fn lifecycle_command() -> BoxedStrategy<Command> {
    prop_oneof![
        key().prop_map(|key| Command::Del { key }),
        (key(), 0u64..4).prop_map(|(key, seconds)| Command::Expire { key, seconds }),
        (key(), 0u64..3000).prop_map(|(key, milliseconds)| Command::Pexpire { key, milliseconds }),
        (key(), (T0 / 1000 - 1)..(T0 / 1000 + 4))
            .prop_map(|(key, timestamp_s)| Command::ExpireAt { key, timestamp_s }),
        (key(), (T0 - 1000)..(T0 + 4000))
            .prop_map(|(key, timestamp_ms)| Command::PexpireAt { key, timestamp_ms }),
        key().prop_map(|key| Command::Persist { key }),
        (key(), key()).prop_map(|(key, newkey)| Command::Rename { key, newkey }),
        (key(), key(), any::<bool>()).prop_map(|(source, destination, replace)| {
            Command::Copy {
                source,
                destination,
                replace,
            }
        }),
    ]
    .boxed()
}

/// List commands.
pub fn list_command() -> BoxedStrategy<Command> {
    prop_oneof![
        // Pushes outweigh removals, so lists grow long enough to hold repeated values.
        3 => (key(), values()).prop_map(|(key, values)| Command::LPush { key, values }),
        3 => (key(), values()).prop_map(|(key, values)| Command::RPush { key, values }),
        1 => key().prop_map(|key| Command::LPop { key }),
        1 => key().prop_map(|key| Command::RPop { key }),
        1 => (key(), index(), value()).prop_map(|(key, index, value)| Command::LSet {
            key,
            index,
            value
        }),
        1 => (key(), index(), index()).prop_map(|(key, start, stop)| Command::LTrim {
            key,
            start,
            stop
        }),
        1 => (key(), any::<bool>(), value(), value()).prop_map(|(key, before, pivot, value)| {
            Command::LInsert {
                key,
                before,
                pivot,
                value,
            }
        }),
        2 => (key(), -3i64..4, value()).prop_map(|(key, count, value)| Command::LRem {
            key,
            count,
            value
        }),
    ]
    .boxed()
}

/// Sorted-set, hash and set commands.
pub fn collection_command() -> BoxedStrategy<Command> {
    prop_oneof![
        (key(), prop::collection::vec((score(), name()), 1..4))
            .prop_map(|(key, members)| Command::ZAdd { key, members }),
        (key(), names()).prop_map(|(key, members)| Command::ZRem { key, members }),
        (key(), prop::collection::vec((name(), value()), 1..3))
            .prop_map(|(key, fields)| Command::HSet { key, fields }),
        (key(), names()).prop_map(|(key, fields)| Command::HDel { key, fields }),
        (key(), name(), delta()).prop_map(|(key, field, delta)| Command::HIncrBy {
            key,
            field,
            delta
        }),
        (key(), names()).prop_map(|(key, members)| Command::SAdd { key, members }),
        (key(), names()).prop_map(|(key, members)| Command::SRem { key, members }),
    ]
    .boxed()
}

/// Vector-set and proto commands.
pub fn other_command() -> BoxedStrategy<Command> {
    prop_oneof![
        (key(), name(), vector(), vector_config()).prop_map(|(key, element, vector, config)| {
            Command::VAdd {
                key,
                element,
                vector,
                config,
            }
        }),
        (key(), name()).prop_map(|(key, element)| Command::VRem { key, element }),
        (key(), name(), value(), expiry()).prop_map(|(key, type_name, data, expiry)| {
            Command::ProtoSet {
                key,
                type_name,
                data,
                expiry,
            }
        }),
        (name(), value())
            .prop_map(|(name, descriptor)| Command::ProtoRegister { name, descriptor }),
    ]
    .boxed()
}

/// Any command of the vocabulary.
pub fn command() -> BoxedStrategy<Command> {
    prop_oneof![
        9 => string_command(),
        8 => lifecycle_command(),
        8 => list_command(),
        7 => collection_command(),
        4 => other_command(),
    ]
    .boxed()
}

/// Commands of one family, mixed with a few lifecycle ones, so a run reaches deep states of
/// that family (long lists with duplicates, big hashes...). `family` is 0..4.
pub fn family_command(family: usize) -> BoxedStrategy<Command> {
    let focus = match family {
        0 => string_command(),
        1 => list_command(),
        2 => collection_command(),
        _ => other_command(),
    };
    prop_oneof![6 => focus, 1 => lifecycle_command()].boxed()
}

/// Mostly `usual`, one time in eight `odd`.
fn rare<T: std::fmt::Debug>(
    usual: impl Strategy<Value = T> + 'static,
    odd: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<T> {
    prop_oneof![7 => usual, 1 => odd].boxed()
}

/// One to three elements, now and then none (a list no server logs).
fn maybe_empty<S: Strategy + 'static>(element: impl Fn() -> S) -> BoxedStrategy<Vec<S::Value>>
where
    S::Value: std::fmt::Debug,
{
    rare(
        prop::collection::vec(element(), 1..3),
        prop::collection::vec(element(), 0..1),
    )
}

/// The keys arbitrary records use: the three shared ones and one home per value type.
fn any_key() -> BoxedStrategy<String> {
    prop_oneof![
        Just("a"),
        Just("b"),
        Just("c"),
        Just("l"),
        Just("h"),
        Just("s"),
        Just("z"),
        Just("v"),
        Just("p")
    ]
    .prop_map(String::from)
    .boxed()
}

/// Mostly `home`, sometimes any key: records of one type meet records of other types (type
/// conflicts, RENAME and COPY across types) without colliding most of the time.
fn near(home: &'static str) -> BoxedStrategy<String> {
    prop_oneof![2 => Just(home.to_owned()), 1 => any_key()].boxed()
}

/// Any record, with fields over the same small alphabet, including records no correct
/// server logs (wrong types, empty lists, bits of 2, BITOP NOT of two keys...), so replay's
/// refusals are exercised. Deadlines are far from `now_ms` (at least an hour in the future,
/// or in the past) so that a replay a few seconds later sees the same expiries; `now_ms` is
/// the clock of the replaying store.
pub fn record(now_ms: u64) -> impl Strategy<Value = AofRecord> {
    let ttl_ms = prop_oneof![Just(-1i64), Just(0), Just(1_000), Just(90_000)];
    let strings = prop_oneof![
        (near("a"), value(), ttl_ms.clone()).prop_map(|(key, value, expire_ms)| AofRecord::Set {
            key,
            value,
            expire_ms
        }),
        near("a").prop_map(|key| AofRecord::Incr { key }),
        near("a").prop_map(|key| AofRecord::Decr { key }),
        (near("a"), delta()).prop_map(|(key, delta)| AofRecord::IncrBy { key, delta }),
        (near("a"), delta()).prop_map(|(key, delta)| AofRecord::DecrBy { key, delta }),
        (near("a"), value()).prop_map(|(key, value)| AofRecord::Append { key, value }),
        (near("a"), 0usize..6, value()).prop_map(|(key, offset, value)| AofRecord::SetRange {
            key,
            offset,
            value
        }),
        (near("a"), 0u64..24, rare(0u8..2, Just(2)))
            .prop_map(|(key, offset, value)| AofRecord::SetBit { key, offset, value }),
        (
            0u8..4,
            near("a"),
            rare(
                prop::collection::vec(near("a"), 1..2),
                prop::collection::vec(near("a"), 0..3)
            )
        )
            .prop_map(|(op, dest, keys)| AofRecord::BitOp { op, dest, keys }),
    ];
    let lifecycle = prop_oneof![
        any_key().prop_map(|key| AofRecord::Del { key }),
        (any_key(), prop_oneof![Just(0u64), Just(1), Just(100)])
            .prop_map(|(key, seconds)| AofRecord::Expire { key, seconds }),
        (any_key(), prop_oneof![Just(0u64), Just(500), Just(100_000)])
            .prop_map(|(key, milliseconds)| AofRecord::Pexpire { key, milliseconds }),
        (
            any_key(),
            prop_oneof![
                Just(now_ms - 60_000),
                Just(now_ms + 3_600_000),
                Just(now_ms + 7_200_000)
            ]
        )
            .prop_map(|(key, timestamp_ms)| AofRecord::Pexpireat { key, timestamp_ms }),
        any_key().prop_map(|key| AofRecord::Persist { key }),
        (any_key(), any_key()).prop_map(|(key, newkey)| AofRecord::Rename { key, newkey }),
        (any_key(), any_key(), any::<bool>()).prop_map(|(source, destination, replace)| {
            AofRecord::Copy {
                source,
                destination,
                replace,
            }
        }),
    ];
    let lists = prop_oneof![
        (near("l"), maybe_empty(value)).prop_map(|(key, values)| AofRecord::LPush { key, values }),
        (near("l"), maybe_empty(value)).prop_map(|(key, values)| AofRecord::RPush { key, values }),
        near("l").prop_map(|key| AofRecord::LPop { key }),
        near("l").prop_map(|key| AofRecord::RPop { key }),
        (near("l"), rare(-2i64..2, index()), value())
            .prop_map(|(key, index, value)| AofRecord::LSet { key, index, value }),
        (near("l"), index(), index()).prop_map(|(key, start, stop)| AofRecord::LTrim {
            key,
            start,
            stop
        }),
        (near("l"), any::<bool>(), value(), value()).prop_map(|(key, before, pivot, value)| {
            AofRecord::LInsert {
                key,
                before,
                pivot,
                value,
            }
        }),
        (near("l"), -3i64..4, value()).prop_map(|(key, count, value)| AofRecord::LRem {
            key,
            count,
            value
        }),
    ];
    let collections = prop_oneof![
        (
            near("z"),
            maybe_empty(|| (rare(score(), Just(f64::NAN)), name()))
        )
            .prop_map(|(key, members)| AofRecord::ZAdd { key, members }),
        (near("z"), maybe_empty(name)).prop_map(|(key, members)| AofRecord::ZRem { key, members }),
        (near("h"), maybe_empty(|| (name(), value())))
            .prop_map(|(key, fields)| AofRecord::HSet { key, fields }),
        (near("h"), maybe_empty(name)).prop_map(|(key, fields)| AofRecord::HDel { key, fields }),
        (near("h"), name(), delta()).prop_map(|(key, field, delta)| AofRecord::HIncrBy {
            key,
            field,
            delta
        }),
        (near("s"), maybe_empty(name)).prop_map(|(key, members)| AofRecord::SAdd { key, members }),
        (near("s"), maybe_empty(name)).prop_map(|(key, members)| AofRecord::SRem { key, members }),
    ];
    let others = prop_oneof![
        (
            near("v"),
            name(),
            rare(
                vector(),
                prop::collection::vec(prop_oneof![Just(1.0f32), Just(f32::NAN)], 0..3)
            ),
            vector_config()
        )
            .prop_map(|(key, element, vector, c)| AofRecord::VAdd {
                key,
                element,
                vector,
                metric: c.metric,
                quantization: c.quantization,
                connectivity: c.connectivity,
                expansion_add: c.expansion_add,
            }),
        (near("v"), name()).prop_map(|(key, element)| AofRecord::VRem { key, element }),
        (near("p"), name(), value(), ttl_ms).prop_map(|(key, type_name, data, expire_ms)| {
            AofRecord::ProtoSet {
                key,
                type_name,
                data,
                expire_ms,
            }
        }),
        (name(), value())
            .prop_map(|(name, descriptor)| AofRecord::ProtoRegister { name, descriptor }),
    ];
    prop_oneof![
        9 => strings,
        7 => lifecycle,
        8 => lists,
        7 => collections,
        4 => others,
    ]
}
