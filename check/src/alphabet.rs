//! The commands the engines run: a random vocabulary over a small alphabet, and the fixed
//! alphabet of the bounded explorer.
//!
//! Keys, values and fields come from a few short values, so generated commands collide
//! (wrong types, missing keys, pivots found and not found, counters overflowing), and every
//! record kind the format has is logged by some command. The model's clock is fixed at
//! [`T0_MS`] for a whole run: TTLs are set and kept or removed at once, never run out
//! between commands (a log carries no time; see `crate::history`).

use bytes::Bytes;
use proptest::prelude::*;

use eaof_model::command::{BitOp, Command, Expiry};
use eaof_model::value::VectorConfig;

/// The model's clock during every run (2023-11-14, in Unix milliseconds).
pub const T0_MS: u64 = 1_700_000_000_000;

fn key() -> impl Strategy<Value = String> {
    prop_oneof![Just("a"), Just("b"), Just("c")].prop_map(String::from)
}

fn keys() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(key(), 1..3)
}

fn value() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        4 => Just(&b"x"[..]),
        4 => Just(&b"1"[..]),
        2 => Just(&b"yz"[..]),
        1 => Just(&b""[..]),
        1 => Just(&b"\xff\x00"[..]),
        1 => Just(&b"9223372036854775807"[..]),
    ]
    .prop_map(Bytes::from_static)
}

fn values() -> impl Strategy<Value = Vec<Bytes>> {
    prop::collection::vec(value(), 1..3)
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![Just("f"), Just("g")].prop_map(String::from)
}

fn names() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(name(), 1..3)
}

fn delta() -> impl Strategy<Value = i64> {
    prop_oneof![4 => -2i64..3, 1 => Just(i64::MAX), 1 => Just(i64::MIN)]
}

fn expiry() -> impl Strategy<Value = Option<Expiry>> {
    prop_oneof![
        3 => Just(None),
        1 => (1u64..100).prop_map(|s| Some(Expiry::Ex(s))),
        1 => (1u64..100_000).prop_map(|ms| Some(Expiry::Px(ms))),
    ]
}

fn config() -> impl Strategy<Value = VectorConfig> {
    (0u8..3, 0u8..2).prop_map(|(metric, quantization)| VectorConfig {
        metric,
        quantization,
        connectivity: 16,
        expansion_add: 64,
    })
}

/// String, counter and bitmap commands.
fn strings() -> BoxedStrategy<Command> {
    prop_oneof![
        3 => (key(), value(), expiry()).prop_map(|(key, value, expiry)| Command::Set { key, value, expiry }),
        1 => key().prop_map(|key| Command::Incr { key }),
        1 => key().prop_map(|key| Command::Decr { key }),
        1 => (key(), delta()).prop_map(|(key, delta)| Command::IncrBy { key, delta }),
        1 => (key(), delta()).prop_map(|(key, delta)| Command::DecrBy { key, delta }),
        1 => (key(), value()).prop_map(|(key, value)| Command::Append { key, value }),
        1 => (key(), 0usize..4, value()).prop_map(|(key, offset, value)| Command::SetRange { key, offset, value }),
        1 => (key(), 0u64..16, 0u8..2).prop_map(|(key, offset, bit)| Command::SetBit { key, offset, bit }),
        1 => (prop_oneof![Just(BitOp::And), Just(BitOp::Or), Just(BitOp::Xor)], key(), keys())
            .prop_map(|(op, dest, keys)| Command::BitOp { op, dest, keys }),
        1 => (key(), key()).prop_map(|(dest, source)| Command::BitOp { op: BitOp::Not, dest, keys: vec![source] }),
    ]
    .boxed()
}

/// DEL, TTLs (relative and absolute, in the past and the future), RENAME, COPY.
fn lifecycle() -> BoxedStrategy<Command> {
    prop_oneof![
        key().prop_map(|key| Command::Del { key }),
        (key(), 0u64..100).prop_map(|(key, seconds)| Command::Expire { key, seconds }),
        (key(), 0u64..100_000)
            .prop_map(|(key, milliseconds)| Command::Pexpire { key, milliseconds }),
        (key(), (T0_MS / 1000 - 10)..(T0_MS / 1000 + 100))
            .prop_map(|(key, timestamp_s)| Command::ExpireAt { key, timestamp_s }),
        (key(), (T0_MS - 10_000)..(T0_MS + 100_000))
            .prop_map(|(key, timestamp_ms)| Command::PexpireAt { key, timestamp_ms }),
        key().prop_map(|key| Command::Persist { key }),
        (key(), key()).prop_map(|(key, newkey)| Command::Rename { key, newkey }),
        (key(), key(), any::<bool>()).prop_map(|(source, destination, replace)| Command::Copy {
            source,
            destination,
            replace
        }),
    ]
    .boxed()
}

/// List commands.
fn lists() -> BoxedStrategy<Command> {
    prop_oneof![
        3 => (key(), values()).prop_map(|(key, values)| Command::LPush { key, values }),
        3 => (key(), values()).prop_map(|(key, values)| Command::RPush { key, values }),
        1 => key().prop_map(|key| Command::LPop { key }),
        1 => key().prop_map(|key| Command::RPop { key }),
        1 => (key(), -3i64..3, value()).prop_map(|(key, index, value)| Command::LSet { key, index, value }),
        1 => (key(), -3i64..3, -3i64..3).prop_map(|(key, start, stop)| Command::LTrim { key, start, stop }),
        1 => (key(), any::<bool>(), value(), value())
            .prop_map(|(key, before, pivot, value)| Command::LInsert { key, before, pivot, value }),
        1 => (key(), -2i64..3, value()).prop_map(|(key, count, value)| Command::LRem { key, count, value }),
    ]
    .boxed()
}

/// Sorted-set, hash and set commands.
fn collections() -> BoxedStrategy<Command> {
    let score = prop_oneof![Just(0.0), Just(1.5), Just(-2.0)];
    prop_oneof![
        (key(), prop::collection::vec((score, name()), 1..3))
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
fn others() -> BoxedStrategy<Command> {
    let vector = prop::collection::vec(prop_oneof![Just(0.0f32), Just(1.0), Just(-0.5)], 1..3);
    prop_oneof![
        (key(), name(), vector, config()).prop_map(|(key, element, vector, config)| {
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

/// Any command of the vocabulary, over the small alphabet.
pub fn command() -> BoxedStrategy<Command> {
    prop_oneof![
        9 => strings(),
        7 => lifecycle(),
        8 => lists(),
        7 => collections(),
        3 => others(),
    ]
    .boxed()
}

/// The least length of [`big_set`]'s values: longer than the streaming reader's read block,
/// so that a file holding one is read in more than one block and records cross a block's
/// end.
pub const BIG_VALUE_LEN: usize = eaof::reader::READ_BLOCK_LEN;

/// A SET of a value of [`BIG_VALUE_LEN`] bytes and up to 511 more (one shared buffer, cut to
/// length). Not among [`command`]'s: each crash checks every cut of the unsynced bytes, and
/// the damage engine every byte, so an engine plays it only where its cost allows (synced at
/// once, as `tests/reader_blocks.rs` does).
pub fn big_set() -> impl Strategy<Value = Command> {
    let buffer = Bytes::from(vec![b'B'; BIG_VALUE_LEN + 511]);
    (key(), 0usize..512).prop_map(move |(key, extra)| Command::Set {
        key,
        value: buffer.slice(..BIG_VALUE_LEN + extra),
        expiry: None,
    })
}

fn b(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

/// The explorer's alphabet: two keys, two values, one command of each family (strings,
/// counters, bitmaps, key lifecycle, TTLs, lists, hashes, sets, sorted sets, vector sets,
/// protos). SETRANGE is among the kinds ember 0.4.9's version 2 reader cannot read.
pub fn explorer_commands() -> Vec<Command> {
    let (a, bk) = (|| "a".to_owned(), || "b".to_owned());
    vec![
        Command::Set {
            key: a(),
            value: b("x"),
            expiry: None,
        },
        Command::Set {
            key: bk(),
            value: b("y"),
            expiry: None,
        },
        Command::Append {
            key: a(),
            value: b("y"),
        },
        Command::Incr { key: bk() },
        Command::SetRange {
            key: a(),
            offset: 1,
            value: b("y"),
        },
        Command::Del { key: a() },
        Command::Expire {
            key: bk(),
            seconds: 100,
        },
        Command::Rename {
            key: a(),
            newkey: bk(),
        },
        Command::RPush {
            key: a(),
            values: vec![b("x")],
        },
        Command::LPop { key: a() },
        Command::HSet {
            key: bk(),
            fields: vec![("f".into(), b("x"))],
        },
        Command::SAdd {
            key: a(),
            members: vec!["y".into()],
        },
        Command::ZAdd {
            key: bk(),
            members: vec![(1.0, "x".into())],
        },
        Command::VAdd {
            key: a(),
            element: "x".into(),
            vector: vec![1.0],
            config: VectorConfig {
                metric: 0,
                quantization: 0,
                connectivity: 16,
                expansion_add: 64,
            },
        },
        Command::ProtoSet {
            key: bk(),
            type_name: "T".into(),
            data: b("y"),
            expiry: None,
        },
    ]
}
