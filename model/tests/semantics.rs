//! Focused cases of command and record semantics, each checking three things: the state
//! after the command, the records it logs, and that replaying those records on the state
//! before gives the state after.

use bytes::Bytes;
use eaof::AofRecord;
use eaof_model::{
    BitOp, Command, CommandError, Entry, Expiry, Refusal, Score, Store, Value, VectorConfig,
    STRING_LEN_MAX,
};

const T0: u64 = 1_700_000_000_000;

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn k(s: &str) -> String {
    s.to_owned()
}

/// Executes `command`; on success checks that its records replayed on the state before give
/// the state after; on failure that nothing changed.
fn run(store: &mut Store, command: Command) -> Result<Vec<AofRecord>, CommandError> {
    let before = store.clone();
    match store.execute(&command) {
        Ok(records) => {
            let mut replayed = before;
            replayed.apply_all(&records).expect("logged records replay");
            assert_eq!(&replayed, store, "replaying {records:?} of {command:?}");
            Ok(records)
        }
        Err(e) => {
            assert_eq!(&before, store, "{command:?} failed but changed the store");
            Err(e)
        }
    }
}

fn ok(store: &mut Store, command: Command) -> Vec<AofRecord> {
    run(store, command).expect("command succeeds")
}

fn rpush(store: &mut Store, key: &str, values: &[&str]) {
    ok(
        store,
        Command::RPush {
            key: k(key),
            values: values.iter().map(|v| b(v)).collect(),
        },
    );
}

fn set(store: &mut Store, key: &str, value: &[u8]) {
    ok(
        store,
        Command::Set {
            key: k(key),
            value: Bytes::copy_from_slice(value),
            expiry: None,
        },
    );
}

fn list(store: &Store, key: &str) -> Option<Vec<String>> {
    match &store.get(key)?.value {
        Value::List(l) => Some(
            l.iter()
                .map(|e| String::from_utf8_lossy(e).into_owned())
                .collect(),
        ),
        other => panic!("{key} holds {other:?}"),
    }
}

fn string(store: &Store, key: &str) -> Option<Vec<u8>> {
    match &store.get(key)?.value {
        Value::String(s) => Some(s.to_vec()),
        other => panic!("{key} holds {other:?}"),
    }
}

fn deadline(store: &Store, key: &str) -> Option<u64> {
    store.get(key).and_then(|e| e.expires_at_ms)
}

// -- lists --

#[test]
fn lpush_puts_each_value_at_the_head_in_turn() {
    let mut s = Store::new(T0);
    ok(
        &mut s,
        Command::LPush {
            key: k("l"),
            values: vec![b("a"), b("b"), b("c")],
        },
    );
    assert_eq!(list(&s, "l").unwrap(), ["c", "b", "a"]);
}

#[test]
fn linsert_with_missing_pivot_or_key_changes_and_logs_nothing() {
    let mut s = Store::new(T0);
    let insert = |pivot: &str| Command::LInsert {
        key: k("l"),
        before: true,
        pivot: b(pivot),
        value: b("v"),
    };
    assert_eq!(ok(&mut s, insert("a")), vec![]);
    assert!(s.get("l").is_none());
    rpush(&mut s, "l", &["a", "b", "a"]);
    assert_eq!(ok(&mut s, insert("z")), vec![]);
    assert_eq!(list(&s, "l").unwrap(), ["a", "b", "a"]);
    // Found: before and after the first pivot only.
    assert_eq!(ok(&mut s, insert("a")).len(), 1);
    ok(
        &mut s,
        Command::LInsert {
            key: k("l"),
            before: false,
            pivot: b("a"),
            value: b("w"),
        },
    );
    assert_eq!(list(&s, "l").unwrap(), ["v", "a", "w", "b", "a"]);
}

#[test]
fn lrem_negative_count_removes_from_the_tail() {
    let mut s = Store::new(T0);
    rpush(&mut s, "l", &["x", "a", "x", "b", "x"]);
    let records = ok(
        &mut s,
        Command::LRem {
            key: k("l"),
            count: -2,
            value: b("x"),
        },
    );
    assert_eq!(list(&s, "l").unwrap(), ["x", "a", "b"]);
    assert_eq!(
        records,
        vec![AofRecord::LRem {
            key: k("l"),
            count: -2,
            value: b("x")
        }]
    );
    ok(
        &mut s,
        Command::LRem {
            key: k("l"),
            count: 1,
            value: b("x"),
        },
    );
    assert_eq!(list(&s, "l").unwrap(), ["a", "b"]);
    // Nothing to remove: nothing logged.
    let none = ok(
        &mut s,
        Command::LRem {
            key: k("l"),
            count: 0,
            value: b("x"),
        },
    );
    assert_eq!(none, vec![]);
}

#[test]
fn lrem_zero_removes_all_and_an_emptied_list_is_deleted() {
    let mut s = Store::new(T0);
    rpush(&mut s, "l", &["x", "x"]);
    ok(
        &mut s,
        Command::LRem {
            key: k("l"),
            count: 0,
            value: b("x"),
        },
    );
    assert!(s.get("l").is_none());
}

#[test]
fn ltrim_clamps_out_of_range_bounds_like_redis() {
    // (start, stop) on [0, 1, 2, 3, 4] -> kept
    let cases: &[(i64, i64, &[&str])] = &[
        (0, -1, &["0", "1", "2", "3", "4"]),
        (1, 3, &["1", "2", "3"]),
        (-2, -1, &["3", "4"]),
        (-100, 1, &["0", "1"]),
        (3, 100, &["3", "4"]),
        (0, -6, &[]), // stop before the head: ember 0.4.9's recovery panics on this one
        (3, 1, &[]),
        (5, 10, &[]),
        (-100, -100, &[]),
        (i64::MIN, i64::MAX, &["0", "1", "2", "3", "4"]),
    ];
    for &(start, stop, kept) in cases {
        let mut s = Store::new(T0);
        rpush(&mut s, "l", &["0", "1", "2", "3", "4"]);
        let records = ok(
            &mut s,
            Command::LTrim {
                key: k("l"),
                start,
                stop,
            },
        );
        assert_eq!(records.len(), 1);
        if kept.is_empty() {
            assert!(s.get("l").is_none(), "LTRIM {start} {stop}");
        } else {
            assert_eq!(list(&s, "l").unwrap(), kept, "LTRIM {start} {stop}");
        }
    }
}

#[test]
fn ltrim_on_a_missing_key_is_logged_as_ember_does() {
    let mut s = Store::new(T0);
    let records = ok(
        &mut s,
        Command::LTrim {
            key: k("l"),
            start: 0,
            stop: 1,
        },
    );
    assert_eq!(records.len(), 1);
    assert!(s.is_empty());
}

#[test]
fn lset_out_of_range_or_missing_fails_and_logs_nothing() {
    let mut s = Store::new(T0);
    let lset = |index| Command::LSet {
        key: k("l"),
        index,
        value: b("v"),
    };
    assert_eq!(run(&mut s, lset(0)), Err(CommandError::NoSuchKey));
    rpush(&mut s, "l", &["a", "b"]);
    assert_eq!(run(&mut s, lset(2)), Err(CommandError::IndexOutOfRange));
    assert_eq!(run(&mut s, lset(-3)), Err(CommandError::IndexOutOfRange));
    ok(&mut s, lset(-1));
    assert_eq!(list(&s, "l").unwrap(), ["a", "v"]);
}

#[test]
fn pops_on_missing_keys_log_nothing_and_the_last_pop_deletes() {
    let mut s = Store::new(T0);
    assert_eq!(ok(&mut s, Command::LPop { key: k("l") }), vec![]);
    assert_eq!(ok(&mut s, Command::Del { key: k("l") }), vec![]);
    rpush(&mut s, "l", &["a"]);
    assert_eq!(ok(&mut s, Command::RPop { key: k("l") }).len(), 1);
    assert!(s.is_empty());
}

// -- strings and bitmaps --

#[test]
fn setrange_pads_with_zero_bytes_and_keeps_the_tail() {
    let mut s = Store::new(T0);
    ok(
        &mut s,
        Command::SetRange {
            key: k("s"),
            offset: 3,
            value: b("ab"),
        },
    );
    assert_eq!(string(&s, "s").unwrap(), b"\0\0\0ab");
    set(&mut s, "t", b"hello");
    ok(
        &mut s,
        Command::SetRange {
            key: k("t"),
            offset: 1,
            value: b("XY"),
        },
    );
    assert_eq!(string(&s, "t").unwrap(), b"hXYlo");
    ok(
        &mut s,
        Command::SetRange {
            key: k("t"),
            offset: 7,
            value: b("!"),
        },
    );
    assert_eq!(string(&s, "t").unwrap(), b"hXYlo\0\0!");
    // An empty value still creates the key (ember does; Redis would not).
    ok(
        &mut s,
        Command::SetRange {
            key: k("e"),
            offset: 0,
            value: b(""),
        },
    );
    assert_eq!(string(&s, "e").unwrap(), b"");
    assert_eq!(
        run(
            &mut s,
            Command::SetRange {
                key: k("e"),
                offset: STRING_LEN_MAX,
                value: b("x"),
            }
        ),
        Err(CommandError::StringTooLong)
    );
}

#[test]
fn setbit_bit_zero_is_the_most_significant_bit_of_byte_zero() {
    let mut s = Store::new(T0);
    let setbit = |offset, bit| Command::SetBit {
        key: k("b"),
        offset,
        bit,
    };
    ok(&mut s, setbit(0, 1));
    assert_eq!(string(&s, "b").unwrap(), [0x80]);
    ok(&mut s, setbit(15, 1));
    assert_eq!(string(&s, "b").unwrap(), [0x80, 0x01]);
    ok(&mut s, setbit(0, 0));
    assert_eq!(string(&s, "b").unwrap(), [0x00, 0x01]);
    assert_eq!(run(&mut s, setbit(3, 2)), Err(CommandError::NotABit));
    let mut replayed = Store::new(T0);
    let refused = replayed.apply(&AofRecord::SetBit {
        key: k("b"),
        offset: 0,
        value: 2,
    });
    assert_eq!(refused.unwrap_err().reason, Refusal::NotABit(2));
}

#[test]
fn bitop_treats_missing_keys_as_zeros_and_pads_short_sources() {
    let mut s = Store::new(T0);
    set(&mut s, "x", &[0xf0, 0x0f]);
    set(&mut s, "y", &[0xff]);
    let bitop = |op, keys: &[&str]| Command::BitOp {
        op,
        dest: k("d"),
        keys: keys.iter().map(|s| k(s)).collect(),
    };
    ok(&mut s, bitop(BitOp::And, &["x", "y"]));
    assert_eq!(string(&s, "d").unwrap(), [0xf0, 0x00]);
    ok(&mut s, bitop(BitOp::Or, &["x", "y", "missing"]));
    assert_eq!(string(&s, "d").unwrap(), [0xff, 0x0f]);
    ok(&mut s, bitop(BitOp::Xor, &["x", "y"]));
    assert_eq!(string(&s, "d").unwrap(), [0x0f, 0x0f]);
    ok(&mut s, bitop(BitOp::And, &["x", "missing"]));
    assert_eq!(string(&s, "d").unwrap(), [0x00, 0x00]);
    ok(&mut s, bitop(BitOp::Not, &["x"]));
    assert_eq!(string(&s, "d").unwrap(), [0x0f, 0xf0]);
    // NOT of a missing key: the empty string (ember stores it rather than deleting dest).
    ok(&mut s, bitop(BitOp::Not, &["missing"]));
    assert_eq!(string(&s, "d").unwrap(), b"");
    assert_eq!(
        run(&mut s, bitop(BitOp::Not, &["x", "y"])),
        Err(CommandError::Arity("BITOP"))
    );
    rpush(&mut s, "l", &["a"]);
    assert!(matches!(
        run(&mut s, bitop(BitOp::Or, &["x", "l"])),
        Err(CommandError::WrongType { .. })
    ));
}

#[test]
fn bitop_overwrites_dest_and_clears_its_ttl() {
    let mut s = Store::new(T0);
    rpush(&mut s, "d", &["a"]);
    ok(
        &mut s,
        Command::Pexpire {
            key: k("d"),
            milliseconds: 100,
        },
    );
    set(&mut s, "x", &[1]);
    ok(
        &mut s,
        Command::BitOp {
            op: BitOp::Or,
            dest: k("d"),
            keys: vec![k("x")],
        },
    );
    assert_eq!(
        s.get("d"),
        Some(&Entry::persistent(Value::String(Bytes::from_static(&[1]))))
    );
}

#[test]
fn incr_overflow_and_non_integers_fail_and_log_nothing() {
    let mut s = Store::new(T0);
    set(&mut s, "n", i64::MAX.to_string().as_bytes());
    assert_eq!(
        run(&mut s, Command::Incr { key: k("n") }),
        Err(CommandError::Overflow)
    );
    assert_eq!(
        run(
            &mut s,
            Command::DecrBy {
                key: k("z"),
                delta: i64::MIN
            }
        ),
        Err(CommandError::Overflow)
    );
    assert!(s.get("z").is_none());
    set(&mut s, "w", b"12a");
    assert_eq!(
        run(&mut s, Command::Incr { key: k("w") }),
        Err(CommandError::NotAnInteger)
    );
    let records = ok(
        &mut s,
        Command::DecrBy {
            key: k("c"),
            delta: 5,
        },
    );
    assert_eq!(
        records,
        vec![AofRecord::DecrBy {
            key: k("c"),
            delta: 5
        }]
    );
    assert_eq!(string(&s, "c").unwrap(), b"-5");
}

#[test]
fn incr_append_setrange_setbit_keep_the_ttl() {
    let mut s = Store::new(T0);
    ok(
        &mut s,
        Command::Set {
            key: k("n"),
            value: b("1"),
            expiry: Some(Expiry::Px(1000)),
        },
    );
    for command in [
        Command::Incr { key: k("n") },
        Command::Append {
            key: k("n"),
            value: b("0"),
        },
        Command::SetRange {
            key: k("n"),
            offset: 0,
            value: b("3"),
        },
        Command::SetBit {
            key: k("n"),
            offset: 1,
            bit: 0,
        },
    ] {
        ok(&mut s, command);
        assert_eq!(deadline(&s, "n"), Some(T0 + 1000));
    }
}

// -- key lifecycle and time --

#[test]
fn set_ex_logs_the_relative_ttl_and_expires_by_the_clock() {
    let mut s = Store::new(T0);
    let records = ok(
        &mut s,
        Command::Set {
            key: k("s"),
            value: b("v"),
            expiry: Some(Expiry::Ex(2)),
        },
    );
    assert_eq!(
        records,
        vec![AofRecord::Set {
            key: k("s"),
            value: b("v"),
            expire_ms: 2000
        }]
    );
    assert_eq!(deadline(&s, "s"), Some(T0 + 2000));
    s.advance_clock(1999);
    assert!(s.get("s").is_some());
    s.advance_clock(1);
    assert!(s.get("s").is_none());
    assert_eq!(
        run(
            &mut s,
            Command::Set {
                key: k("s"),
                value: b("v"),
                expiry: Some(Expiry::Px(0)),
            }
        ),
        Err(CommandError::InvalidExpire)
    );
}

#[test]
fn expireat_logs_a_pexpireat_record_and_a_past_deadline_removes_the_key() {
    let mut s = Store::new(T0);
    set(&mut s, "k", b"v");
    let records = ok(
        &mut s,
        Command::ExpireAt {
            key: k("k"),
            timestamp_s: T0 / 1000 + 10,
        },
    );
    assert_eq!(
        records,
        vec![AofRecord::Pexpireat {
            key: k("k"),
            timestamp_ms: T0 + 10_000
        }]
    );
    assert_eq!(deadline(&s, "k"), Some(T0 + 10_000));
    let records = ok(
        &mut s,
        Command::PexpireAt {
            key: k("k"),
            timestamp_ms: T0 - 1,
        },
    );
    assert_eq!(records.len(), 1);
    assert!(s.get("k").is_none());
    // On a missing key: nothing.
    let none = ok(
        &mut s,
        Command::ExpireAt {
            key: k("k"),
            timestamp_s: 1,
        },
    );
    assert_eq!(none, vec![]);
}

#[test]
fn expire_zero_removes_the_key_at_once_and_is_logged() {
    let mut s = Store::new(T0);
    set(&mut s, "k", b"v");
    let records = ok(
        &mut s,
        Command::Expire {
            key: k("k"),
            seconds: 0,
        },
    );
    assert_eq!(
        records,
        vec![AofRecord::Expire {
            key: k("k"),
            seconds: 0
        }]
    );
    assert!(s.is_empty());
}

#[test]
fn persist_logs_only_when_a_ttl_was_removed() {
    let mut s = Store::new(T0);
    set(&mut s, "k", b"v");
    assert_eq!(ok(&mut s, Command::Persist { key: k("k") }), vec![]);
    ok(
        &mut s,
        Command::Expire {
            key: k("k"),
            seconds: 5,
        },
    );
    assert_eq!(ok(&mut s, Command::Persist { key: k("k") }).len(), 1);
    assert_eq!(deadline(&s, "k"), None);
}

#[test]
fn rename_carries_the_ttl_and_overwrites_the_target() {
    let mut s = Store::new(T0);
    ok(
        &mut s,
        Command::Set {
            key: k("a"),
            value: b("v"),
            expiry: Some(Expiry::Ex(10)),
        },
    );
    rpush(&mut s, "b", &["x"]);
    ok(
        &mut s,
        Command::Rename {
            key: k("a"),
            newkey: k("b"),
        },
    );
    assert!(s.get("a").is_none());
    assert_eq!(string(&s, "b").unwrap(), b"v");
    assert_eq!(deadline(&s, "b"), Some(T0 + 10_000));
    s.advance_clock(10_000);
    assert!(s.is_empty());
    assert_eq!(
        run(
            &mut s,
            Command::Rename {
                key: k("a"),
                newkey: k("b")
            }
        ),
        Err(CommandError::NoSuchKey)
    );
}

#[test]
fn copy_without_replace_keeps_an_existing_destination_and_logs_nothing() {
    let mut s = Store::new(T0);
    ok(
        &mut s,
        Command::Set {
            key: k("src"),
            value: b("new"),
            expiry: Some(Expiry::Px(700)),
        },
    );
    set(&mut s, "dst", b"old");
    let copy = |replace| Command::Copy {
        source: k("src"),
        destination: k("dst"),
        replace,
    };
    assert_eq!(ok(&mut s, copy(false)), vec![]);
    assert_eq!(string(&s, "dst").unwrap(), b"old");
    assert_eq!(ok(&mut s, copy(true)).len(), 1);
    assert_eq!(string(&s, "dst").unwrap(), b"new");
    // The copy keeps the source's absolute deadline.
    assert_eq!(deadline(&s, "dst"), Some(T0 + 700));
    ok(&mut s, Command::Del { key: k("dst") });
    assert_eq!(ok(&mut s, copy(false)).len(), 1);
    assert_eq!(
        run(
            &mut s,
            Command::Copy {
                source: k("none"),
                destination: k("dst"),
                replace: true
            }
        ),
        Err(CommandError::NoSuchKey)
    );
}

#[test]
fn replay_anchors_relative_ttls_at_the_replay_clock_and_keeps_absolute_ones() {
    let log = [
        AofRecord::Set {
            key: k("rel"),
            value: b("v"),
            expire_ms: 5000,
        },
        AofRecord::Set {
            key: k("abs"),
            value: b("v"),
            expire_ms: -1,
        },
        AofRecord::Pexpireat {
            key: k("abs"),
            timestamp_ms: T0 + 5000,
        },
    ];
    let mut later = Store::new(T0 + 1000);
    later.apply_all(&log).unwrap();
    assert_eq!(deadline(&later, "rel"), Some(T0 + 6000));
    assert_eq!(deadline(&later, "abs"), Some(T0 + 5000));
}

#[test]
fn replay_at_one_clock_cannot_see_a_key_expire_between_records() {
    // A format limitation, not a model choice: a TTL that ran out between two commands
    // leaves no record, so replaying at one clock (as a recovery does) merges the new key
    // with its expired predecessor. Replaying at the clocks the commands ran at does not.
    let mut s = Store::new(T0);
    let mut log = ok(
        &mut s,
        Command::Set {
            key: k("k"),
            value: b("old"),
            expiry: Some(Expiry::Px(100)),
        },
    );
    s.advance_clock(150);
    log.extend(ok(
        &mut s,
        Command::Append {
            key: k("k"),
            value: b("new"),
        },
    ));
    assert_eq!(string(&s, "k").unwrap(), b"new");
    assert_eq!(deadline(&s, "k"), None);
    let mut at_once = Store::new(T0 + 150);
    at_once.apply_all(&log).unwrap();
    assert_eq!(string(&at_once, "k").unwrap(), b"oldnew");
    assert_eq!(deadline(&at_once, "k"), Some(T0 + 250));
}

// -- collections --

#[test]
fn zadd_logs_only_added_members_and_changed_scores() {
    let mut s = Store::new(T0);
    let zadd = |members: &[(f64, &str)]| Command::ZAdd {
        key: k("z"),
        members: members.iter().map(|&(sc, m)| (sc, k(m))).collect(),
    };
    ok(&mut s, zadd(&[(1.0, "a"), (2.0, "b")]));
    let records = ok(&mut s, zadd(&[(1.0, "a"), (3.0, "b"), (0.5, "c")]));
    assert_eq!(
        records,
        vec![AofRecord::ZAdd {
            key: k("z"),
            members: vec![(3.0, k("b")), (0.5, k("c"))]
        }]
    );
    match &s.get("z").unwrap().value {
        Value::SortedSet(z) => {
            assert_eq!(z.get("a"), Some(&Score(1.0)));
            assert_eq!(z.get("b"), Some(&Score(3.0)));
            assert_eq!(z.get("c"), Some(&Score(0.5)));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(ok(&mut s, zadd(&[(1.0, "a")])), vec![]);
    assert_eq!(
        run(&mut s, zadd(&[(f64::NAN, "a")])),
        Err(CommandError::NotAScore)
    );
}

#[test]
fn zrem_and_hdel_log_only_what_they_removed() {
    let mut s = Store::new(T0);
    ok(
        &mut s,
        Command::ZAdd {
            key: k("z"),
            members: vec![(1.0, k("a"))],
        },
    );
    let records = ok(
        &mut s,
        Command::ZRem {
            key: k("z"),
            members: vec![k("x"), k("a"), k("a")],
        },
    );
    assert_eq!(
        records,
        vec![AofRecord::ZRem {
            key: k("z"),
            members: vec![k("a")]
        }]
    );
    assert!(s.is_empty());
    ok(
        &mut s,
        Command::HSet {
            key: k("h"),
            fields: vec![(k("f"), b("1")), (k("g"), b("2"))],
        },
    );
    let records = ok(
        &mut s,
        Command::HDel {
            key: k("h"),
            fields: vec![k("x"), k("f")],
        },
    );
    assert_eq!(
        records,
        vec![AofRecord::HDel {
            key: k("h"),
            fields: vec![k("f")]
        }]
    );
}

#[test]
fn sadd_and_srem_log_every_member_given_when_one_changed() {
    let mut s = Store::new(T0);
    ok(
        &mut s,
        Command::SAdd {
            key: k("s"),
            members: vec![k("a")],
        },
    );
    let records = ok(
        &mut s,
        Command::SAdd {
            key: k("s"),
            members: vec![k("a"), k("b")],
        },
    );
    assert_eq!(
        records,
        vec![AofRecord::SAdd {
            key: k("s"),
            members: vec![k("a"), k("b")]
        }]
    );
    assert_eq!(
        ok(
            &mut s,
            Command::SAdd {
                key: k("s"),
                members: vec![k("a")]
            }
        ),
        vec![]
    );
    assert_eq!(
        ok(
            &mut s,
            Command::SRem {
                key: k("s"),
                members: vec![k("x")]
            }
        ),
        vec![]
    );
}

#[test]
fn hincrby_creates_parses_and_refuses_overflow() {
    let mut s = Store::new(T0);
    let hincrby = |field: &str, delta| Command::HIncrBy {
        key: k("h"),
        field: k(field),
        delta,
    };
    ok(&mut s, hincrby("n", 5));
    ok(&mut s, hincrby("n", -7));
    match &s.get("h").unwrap().value {
        Value::Hash(h) => assert_eq!(h.get("n"), Some(&b("-2"))),
        other => panic!("{other:?}"),
    }
    ok(
        &mut s,
        Command::HSet {
            key: k("h"),
            fields: vec![(k("t"), b("text"))],
        },
    );
    assert_eq!(
        run(&mut s, hincrby("t", 1)),
        Err(CommandError::NotAnInteger)
    );
    ok(&mut s, hincrby("m", i64::MAX));
    assert_eq!(run(&mut s, hincrby("m", 1)), Err(CommandError::Overflow));
    set(&mut s, "str", b"1");
    assert!(matches!(
        run(
            &mut s,
            Command::HIncrBy {
                key: k("str"),
                field: k("f"),
                delta: 1
            }
        ),
        Err(CommandError::WrongType { .. })
    ));
}

#[test]
fn wrong_type_commands_fail_and_replay_refuses_their_records() {
    let mut s = Store::new(T0);
    rpush(&mut s, "l", &["a"]);
    for command in [
        Command::Incr { key: k("l") },
        Command::Append {
            key: k("l"),
            value: b("x"),
        },
        Command::SAdd {
            key: k("l"),
            members: vec![k("m")],
        },
        Command::HSet {
            key: k("l"),
            fields: vec![(k("f"), b("v"))],
        },
    ] {
        assert!(matches!(
            run(&mut s, command),
            Err(CommandError::WrongType { .. })
        ));
    }
    let before = s.clone();
    let refused = s.apply(&AofRecord::Incr { key: k("l") }).unwrap_err();
    assert!(matches!(refused.reason, Refusal::WrongType { .. }));
    assert_eq!(s, before);
}

// -- vectors and protos --

#[test]
fn vadd_fixes_the_config_and_dimension_on_first_add() {
    let first = VectorConfig {
        metric: 1,
        quantization: 0,
        connectivity: 16,
        expansion_add: 64,
    };
    let other = VectorConfig {
        metric: 2,
        quantization: 1,
        connectivity: 32,
        expansion_add: 128,
    };
    let mut s = Store::new(T0);
    let vadd = |element: &str, vector: Vec<f32>, config| Command::VAdd {
        key: k("v"),
        element: k(element),
        vector,
        config,
    };
    ok(&mut s, vadd("a", vec![1.0, 2.0], first));
    // A later VADD logs the configuration it was sent with; the set keeps its own.
    let records = ok(&mut s, vadd("b", vec![3.0, 4.0], other));
    assert!(matches!(
        &records[..],
        [AofRecord::VAdd {
            metric: 2,
            connectivity: 32,
            ..
        }]
    ));
    match &s.get("v").unwrap().value {
        Value::Vector(set) => {
            assert_eq!(set.config, first);
            assert_eq!(set.dim, 2);
            assert_eq!(set.elements.len(), 2);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        run(&mut s, vadd("c", vec![1.0], first)),
        Err(CommandError::DimensionMismatch {
            expected: 2,
            actual: 1
        })
    );
    assert_eq!(
        run(&mut s, vadd("c", vec![f32::NAN, 1.0], first)),
        Err(CommandError::InvalidVector)
    );
    // Emptying the set deletes it; the next VADD starts a new one with its own config.
    ok(
        &mut s,
        Command::VRem {
            key: k("v"),
            element: k("a"),
        },
    );
    ok(
        &mut s,
        Command::VRem {
            key: k("v"),
            element: k("b"),
        },
    );
    assert!(s.is_empty());
    ok(&mut s, vadd("c", vec![1.0], other));
    match &s.get("v").unwrap().value {
        Value::Vector(set) => assert_eq!((set.config, set.dim), (other, 1)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn proto_set_takes_a_ttl_and_register_replaces_by_name() {
    let mut s = Store::new(T0);
    let records = ok(
        &mut s,
        Command::ProtoSet {
            key: k("p"),
            type_name: k("pkg.Msg"),
            data: b("\x08\x01"),
            expiry: Some(Expiry::Ex(3)),
        },
    );
    assert_eq!(
        records,
        vec![AofRecord::ProtoSet {
            key: k("p"),
            type_name: k("pkg.Msg"),
            data: b("\x08\x01"),
            expire_ms: 3000
        }]
    );
    assert_eq!(deadline(&s, "p"), Some(T0 + 3000));
    s.advance_clock(3000);
    assert!(s.get("p").is_none());
    ok(
        &mut s,
        Command::ProtoRegister {
            name: k("schema"),
            descriptor: b("v1"),
        },
    );
    ok(
        &mut s,
        Command::ProtoRegister {
            name: k("schema"),
            descriptor: b("v2"),
        },
    );
    assert_eq!(s.schemas().get("schema"), Some(&b("v2")));
}

#[test]
fn the_clock_decides_equality_only_through_expiry() {
    let mut a = Store::new(T0);
    let mut b_ = Store::new(T0 + 5);
    set(&mut a, "k", b"v");
    set(&mut b_, "k", b"v");
    assert_eq!(a, b_);
    ok(
        &mut a,
        Command::Pexpire {
            key: k("k"),
            milliseconds: 10,
        },
    );
    ok(
        &mut b_,
        Command::Pexpire {
            key: k("k"),
            milliseconds: 10,
        },
    );
    // Same relative TTL at different clocks: different deadlines, different states.
    assert_ne!(a, b_);
}

#[test]
fn copy_record_without_replace_keeps_an_existing_destination() {
    // Never logged by a correct server, but the record has a meaning: no-op.
    let mut s = Store::new(T0);
    set(&mut s, "src", b"new");
    set(&mut s, "dst", b"old");
    let before = s.clone();
    s.apply(&AofRecord::Copy {
        source: k("src"),
        destination: k("dst"),
        replace: false,
    })
    .unwrap();
    assert_eq!(s, before);
}
