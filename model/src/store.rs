//! The model store: a keyspace against an injected clock, and command execution.
//!
//! Invariants, true after every public call:
//! - no key's deadline has passed: a key whose `expires_at_ms <= now_ms` is removed at once
//!   (by the command or record that set the deadline, or by the clock moving), so two stores
//!   are equal exactly when their live contents and deadlines are;
//! - no empty collection is stored (see [`crate::value`]);
//! - the store reads no wall clock: time is `now_ms`, set by the caller.
//!
//! [`Store::execute`] implements the commands the way ember's keyspace does and returns the
//! records ember logs for them; [`Store::apply`] (in [`crate::replay`]) implements the
//! records. The two are written independently on purpose: the property that replaying what
//! `execute` logged rebuilds the store it produced would be empty if one were defined by the
//! other.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use eaof::limits::NON_NEGATIVE_MAX;
use eaof::AofRecord;

use crate::command::{BitOp, Command, CommandError, Expiry};
use crate::value::{Entry, Score, Value, ValueType, Vector, VectorSet, STRING_LEN_MAX};

/// An in-memory keyspace with strings, lists, hashes, sets, sorted sets, vector sets, proto
/// values, a proto schema registry, and TTLs as absolute deadlines against `now_ms`.
///
/// Equality compares keys, values, deadlines and schemas, not the clock: the clock is where
/// the store is in time, not what it holds.
#[derive(Debug, Clone, Default)]
pub struct Store {
    pub(crate) now_ms: u64,
    pub(crate) keys: BTreeMap<String, Entry>,
    pub(crate) schemas: BTreeMap<String, Bytes>,
}

impl PartialEq for Store {
    fn eq(&self, other: &Self) -> bool {
        self.keys == other.keys && self.schemas == other.schemas
    }
}

impl Eq for Store {}

impl Store {
    /// An empty store whose clock reads `now_ms` (Unix milliseconds).
    pub fn new(now_ms: u64) -> Self {
        Store {
            now_ms,
            ..Store::default()
        }
    }

    /// The store's clock, in Unix milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// Moves the clock to `now_ms` (backwards too) and removes every key whose deadline has
    /// been reached.
    pub fn set_clock(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
        self.remove_expired();
    }

    /// Moves the clock forward by `ms` (saturating) and removes expired keys.
    pub fn advance_clock(&mut self, ms: u64) {
        self.set_clock(self.now_ms.saturating_add(ms));
    }

    /// The entry under `key`, if the key exists.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.keys.get(key)
    }

    /// Every key and its entry, in key order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.keys.iter().map(|(k, e)| (k.as_str(), e))
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the store holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The registered proto schemas: name to descriptor bytes.
    pub fn schemas(&self) -> &BTreeMap<String, Bytes> {
        &self.schemas
    }

    /// Removes every key whose deadline is at or before the clock.
    pub(crate) fn remove_expired(&mut self) {
        let now = self.now_ms;
        self.keys
            .retain(|_, e| e.expires_at_ms.is_none_or(|deadline| deadline > now));
    }

    /// Executes one command: on success the store has changed as ember's keyspace would and
    /// the records ember logs for the command are returned (possibly none, for a command that
    /// changed nothing); on error the store is unchanged and nothing is logged.
    ///
    /// What is logged, following ember's `to_aof_records`:
    /// - SET → `SET key value expire_ms`, `expire_ms` the requested TTL in ms (EX × 1000 or
    ///   PX) or -1; PROTO.SET likewise. EX/PX 0 is an error.
    /// - DEL, EXPIRE, PEXPIRE → only if the key exists. EXPIREAT and PEXPIREAT → a
    ///   `PEXPIREAT` record with the absolute deadline in ms, only if the key exists.
    ///   A deadline already reached removes the key, and is still logged.
    /// - PERSIST → only if the key had a TTL.
    /// - INCR, DECR, INCRBY, DECRBY, APPEND, SETRANGE, SETBIT, BITOP, HSET, HINCRBY, LPUSH,
    ///   RPUSH, RENAME, LSET, VADD, PROTO.REGISTER → always when they succeed.
    /// - LTRIM → always when it succeeds, even on a missing key (ember logs that no-op too).
    /// - LPOP, RPOP → only if an element was popped. LINSERT → only if the pivot was found.
    ///   LREM → only if something was removed. COPY → only if it copied (not when the
    ///   destination exists without REPLACE). VREM → only if the element existed.
    /// - ZADD → the members that were added or whose score changed, if any. ZREM, HDEL → the
    ///   members or fields actually removed, if any. SADD, SREM → every member given, if at
    ///   least one was added or removed.
    pub fn execute(&mut self, command: &Command) -> Result<Vec<AofRecord>, CommandError> {
        let records = self.execute_inner(command)?;
        self.remove_expired();
        Ok(records)
    }

    fn execute_inner(&mut self, command: &Command) -> Result<Vec<AofRecord>, CommandError> {
        match command {
            Command::Set { key, value, expiry } => {
                let ttl_ms = ttl_ms(*expiry)?;
                self.keys.insert(
                    key.clone(),
                    Entry {
                        value: Value::String(value.clone()),
                        expires_at_ms: ttl_ms.map(|ms| self.now_ms.saturating_add(ms)),
                    },
                );
                Ok(vec![AofRecord::Set {
                    key: key.clone(),
                    value: value.clone(),
                    expire_ms: logged_ttl(ttl_ms),
                }])
            }
            Command::ProtoSet {
                key,
                type_name,
                data,
                expiry,
            } => {
                let ttl_ms = ttl_ms(*expiry)?;
                self.keys.insert(
                    key.clone(),
                    Entry {
                        value: Value::Proto {
                            type_name: type_name.clone(),
                            data: data.clone(),
                        },
                        expires_at_ms: ttl_ms.map(|ms| self.now_ms.saturating_add(ms)),
                    },
                );
                Ok(vec![AofRecord::ProtoSet {
                    key: key.clone(),
                    type_name: type_name.clone(),
                    data: data.clone(),
                    expire_ms: logged_ttl(ttl_ms),
                }])
            }
            Command::ProtoRegister { name, descriptor } => {
                self.schemas.insert(name.clone(), descriptor.clone());
                Ok(vec![AofRecord::ProtoRegister {
                    name: name.clone(),
                    descriptor: descriptor.clone(),
                }])
            }
            Command::Del { key } => Ok(match self.keys.remove(key) {
                Some(_) => vec![AofRecord::Del { key: key.clone() }],
                None => vec![],
            }),
            Command::Expire { key, seconds } => {
                let seconds = non_negative(*seconds)?;
                let deadline = self.now_ms.saturating_add(seconds.saturating_mul(1000));
                Ok(self.set_deadline(key, deadline, || AofRecord::Expire {
                    key: key.clone(),
                    seconds,
                }))
            }
            Command::Pexpire { key, milliseconds } => {
                let ms = non_negative(*milliseconds)?;
                let deadline = self.now_ms.saturating_add(ms);
                Ok(self.set_deadline(key, deadline, || AofRecord::Pexpire {
                    key: key.clone(),
                    milliseconds: ms,
                }))
            }
            Command::ExpireAt { key, timestamp_s } => {
                let ms = timestamp_s
                    .checked_mul(1000)
                    .ok_or(CommandError::InvalidExpire)?;
                self.pexpire_at(key, ms)
            }
            Command::PexpireAt { key, timestamp_ms } => self.pexpire_at(key, *timestamp_ms),
            Command::Persist { key } => match self.keys.get_mut(key) {
                Some(entry) if entry.expires_at_ms.is_some() => {
                    entry.expires_at_ms = None;
                    Ok(vec![AofRecord::Persist { key: key.clone() }])
                }
                _ => Ok(vec![]),
            },
            Command::Incr { key } => {
                self.add_to_integer(key, 1)?;
                Ok(vec![AofRecord::Incr { key: key.clone() }])
            }
            Command::Decr { key } => {
                self.add_to_integer(key, -1)?;
                Ok(vec![AofRecord::Decr { key: key.clone() }])
            }
            Command::IncrBy { key, delta } => {
                self.add_to_integer(key, *delta)?;
                Ok(vec![AofRecord::IncrBy {
                    key: key.clone(),
                    delta: *delta,
                }])
            }
            Command::DecrBy { key, delta } => {
                let negated = delta.checked_neg().ok_or(CommandError::Overflow)?;
                self.add_to_integer(key, negated)?;
                Ok(vec![AofRecord::DecrBy {
                    key: key.clone(),
                    delta: *delta,
                }])
            }
            Command::Append { key, value } => {
                let mut bytes = self.string_or_empty(key)?;
                bytes.extend_from_slice(value);
                self.put_string(key, bytes);
                Ok(vec![AofRecord::Append {
                    key: key.clone(),
                    value: value.clone(),
                }])
            }
            Command::SetRange { key, offset, value } => {
                let end = offset
                    .checked_add(value.len())
                    .filter(|&end| end <= STRING_LEN_MAX)
                    .ok_or(CommandError::StringTooLong)?;
                let mut bytes = self.string_or_empty(key)?;
                if bytes.len() < end {
                    bytes.resize(end, 0);
                }
                bytes[*offset..end].copy_from_slice(value);
                self.put_string(key, bytes);
                Ok(vec![AofRecord::SetRange {
                    key: key.clone(),
                    offset: *offset,
                    value: value.clone(),
                }])
            }
            Command::SetBit { key, offset, bit } => {
                if *bit > 1 {
                    return Err(CommandError::NotABit);
                }
                let byte = usize::try_from(offset / 8)
                    .ok()
                    .filter(|&byte| byte < STRING_LEN_MAX)
                    .ok_or(CommandError::StringTooLong)?;
                let mut bytes = self.string_or_empty(key)?;
                if bytes.len() <= byte {
                    bytes.resize(byte + 1, 0);
                }
                // Bit 0 is the most significant bit of byte 0.
                let mask = 0x80u8 >> (offset % 8);
                if *bit == 1 {
                    bytes[byte] |= mask;
                } else {
                    bytes[byte] &= !mask;
                }
                self.put_string(key, bytes);
                Ok(vec![AofRecord::SetBit {
                    key: key.clone(),
                    offset: *offset,
                    value: *bit,
                }])
            }
            Command::BitOp { op, dest, keys } => {
                let result = self.bit_op(*op, keys)?;
                self.keys.insert(
                    dest.clone(),
                    Entry::persistent(Value::String(result.into())),
                );
                Ok(vec![AofRecord::BitOp {
                    op: op.code(),
                    dest: dest.clone(),
                    keys: keys.clone(),
                }])
            }
            Command::Rename { key, newkey } => {
                let entry = self.keys.remove(key).ok_or(CommandError::NoSuchKey)?;
                self.keys.insert(newkey.clone(), entry);
                Ok(vec![AofRecord::Rename {
                    key: key.clone(),
                    newkey: newkey.clone(),
                }])
            }
            Command::Copy {
                source,
                destination,
                replace,
            } => {
                let entry = self
                    .keys
                    .get(source)
                    .ok_or(CommandError::NoSuchKey)?
                    .clone();
                if !replace && self.keys.contains_key(destination) {
                    return Ok(vec![]);
                }
                // The copy keeps the source's absolute deadline.
                self.keys.insert(destination.clone(), entry);
                Ok(vec![AofRecord::Copy {
                    source: source.clone(),
                    destination: destination.clone(),
                    replace: *replace,
                }])
            }
            Command::LPush { key, values } => {
                self.push(key, values, true)?;
                Ok(vec![AofRecord::LPush {
                    key: key.clone(),
                    values: values.clone(),
                }])
            }
            Command::RPush { key, values } => {
                self.push(key, values, false)?;
                Ok(vec![AofRecord::RPush {
                    key: key.clone(),
                    values: values.clone(),
                }])
            }
            Command::LPop { key } => Ok(match self.pop(key, true)? {
                true => vec![AofRecord::LPop { key: key.clone() }],
                false => vec![],
            }),
            Command::RPop { key } => Ok(match self.pop(key, false)? {
                true => vec![AofRecord::RPop { key: key.clone() }],
                false => vec![],
            }),
            Command::LSet { key, index, value } => {
                let list = self.list_mut(key)?.ok_or(CommandError::NoSuchKey)?;
                let len = list.len() as i64;
                let at = if *index < 0 { len + index } else { *index };
                if !(0..len).contains(&at) {
                    return Err(CommandError::IndexOutOfRange);
                }
                list[at as usize] = value.clone();
                Ok(vec![AofRecord::LSet {
                    key: key.clone(),
                    index: *index,
                    value: value.clone(),
                }])
            }
            Command::LTrim { key, start, stop } => {
                if let Some(list) = self.list_mut(key)? {
                    let len = list.len() as i64;
                    let mut first = if *start < 0 { len + start } else { *start };
                    let last = if *stop < 0 { len + stop } else { *stop };
                    if first < 0 {
                        first = 0;
                    }
                    if first > last || first >= len {
                        list.clear();
                    } else {
                        let last = last.min(len - 1);
                        list.truncate(last as usize + 1);
                        list.drain(..first as usize);
                    }
                    self.remove_if_empty(key);
                }
                Ok(vec![AofRecord::LTrim {
                    key: key.clone(),
                    start: *start,
                    stop: *stop,
                }])
            }
            Command::LInsert {
                key,
                before,
                pivot,
                value,
            } => {
                let Some(list) = self.list_mut(key)? else {
                    return Ok(vec![]);
                };
                let Some(at) = list.iter().position(|e| e == pivot) else {
                    return Ok(vec![]);
                };
                list.insert(if *before { at } else { at + 1 }, value.clone());
                Ok(vec![AofRecord::LInsert {
                    key: key.clone(),
                    before: *before,
                    pivot: pivot.clone(),
                    value: value.clone(),
                }])
            }
            Command::LRem { key, count, value } => {
                let Some(list) = self.list_mut(key)? else {
                    return Ok(vec![]);
                };
                let removed = remove_occurrences(list, *count, value);
                self.remove_if_empty(key);
                Ok(match removed {
                    0 => vec![],
                    _ => vec![AofRecord::LRem {
                        key: key.clone(),
                        count: *count,
                        value: value.clone(),
                    }],
                })
            }
            Command::ZAdd { key, members } => {
                if members.is_empty() {
                    return Err(CommandError::Arity("ZADD"));
                }
                if members.iter().any(|(score, _)| score.is_nan()) {
                    return Err(CommandError::NotAScore);
                }
                let zset = self
                    .typed_or_insert(
                        key,
                        || Value::SortedSet(BTreeMap::new()),
                        Value::as_sorted_set_mut,
                    )
                    .map_err(wrong_type(key))?;
                let mut applied = Vec::new();
                for (score, member) in members {
                    let changed = match zset.get(member) {
                        None => true,
                        Some(old) => old.0 != *score,
                    };
                    if changed {
                        zset.insert(member.clone(), Score(*score));
                        applied.push((*score, member.clone()));
                    }
                }
                Ok(match applied.is_empty() {
                    true => vec![],
                    false => vec![AofRecord::ZAdd {
                        key: key.clone(),
                        members: applied,
                    }],
                })
            }
            Command::ZRem { key, members } => {
                if members.is_empty() {
                    return Err(CommandError::Arity("ZREM"));
                }
                let zset = self
                    .typed_mut(key, Value::as_sorted_set_mut)
                    .map_err(wrong_type(key))?;
                let removed: Vec<String> = match zset {
                    Some(zset) => members
                        .iter()
                        .filter(|m| zset.remove(m.as_str()).is_some())
                        .cloned()
                        .collect(),
                    None => vec![],
                };
                self.remove_if_empty(key);
                Ok(match removed.is_empty() {
                    true => vec![],
                    false => vec![AofRecord::ZRem {
                        key: key.clone(),
                        members: removed,
                    }],
                })
            }
            Command::HSet { key, fields } => {
                if fields.is_empty() {
                    return Err(CommandError::Arity("HSET"));
                }
                let hash = self
                    .typed_or_insert(key, || Value::Hash(BTreeMap::new()), Value::as_hash_mut)
                    .map_err(wrong_type(key))?;
                for (field, value) in fields {
                    hash.insert(field.clone(), value.clone());
                }
                Ok(vec![AofRecord::HSet {
                    key: key.clone(),
                    fields: fields.clone(),
                }])
            }
            Command::HDel { key, fields } => {
                if fields.is_empty() {
                    return Err(CommandError::Arity("HDEL"));
                }
                let hash = self
                    .typed_mut(key, Value::as_hash_mut)
                    .map_err(wrong_type(key))?;
                let removed: Vec<String> = match hash {
                    Some(hash) => fields
                        .iter()
                        .filter(|f| hash.remove(f.as_str()).is_some())
                        .cloned()
                        .collect(),
                    None => vec![],
                };
                self.remove_if_empty(key);
                Ok(match removed.is_empty() {
                    true => vec![],
                    false => vec![AofRecord::HDel {
                        key: key.clone(),
                        fields: removed,
                    }],
                })
            }
            Command::HIncrBy { key, field, delta } => {
                // Compute before touching the store, so a failure leaves no empty hash.
                let hash = self.typed(key, Value::as_hash).map_err(wrong_type(key))?;
                let current = match hash.and_then(|h| h.get(field)) {
                    Some(v) => parse_i64(v).ok_or(CommandError::NotAnInteger)?,
                    None => 0,
                };
                let new = current.checked_add(*delta).ok_or(CommandError::Overflow)?;
                let hash = self
                    .typed_or_insert(key, || Value::Hash(BTreeMap::new()), Value::as_hash_mut)
                    .map_err(wrong_type(key))?;
                hash.insert(field.clone(), Bytes::from(new.to_string()));
                Ok(vec![AofRecord::HIncrBy {
                    key: key.clone(),
                    field: field.clone(),
                    delta: *delta,
                }])
            }
            Command::SAdd { key, members } => {
                if members.is_empty() {
                    return Err(CommandError::Arity("SADD"));
                }
                let set = self
                    .typed_or_insert(key, || Value::Set(BTreeSet::new()), Value::as_set_mut)
                    .map_err(wrong_type(key))?;
                let added = members.iter().filter(|m| set.insert((*m).clone())).count();
                Ok(match added {
                    0 => vec![],
                    _ => vec![AofRecord::SAdd {
                        key: key.clone(),
                        members: members.clone(),
                    }],
                })
            }
            Command::SRem { key, members } => {
                if members.is_empty() {
                    return Err(CommandError::Arity("SREM"));
                }
                let set = self
                    .typed_mut(key, Value::as_set_mut)
                    .map_err(wrong_type(key))?;
                let removed = match set {
                    Some(set) => members.iter().filter(|m| set.remove(*m)).count(),
                    None => 0,
                };
                self.remove_if_empty(key);
                Ok(match removed {
                    0 => vec![],
                    _ => vec![AofRecord::SRem {
                        key: key.clone(),
                        members: members.clone(),
                    }],
                })
            }
            Command::VAdd {
                key,
                element,
                vector,
                config,
            } => {
                if vector.is_empty() || vector.iter().any(|c| !c.is_finite()) {
                    return Err(CommandError::InvalidVector);
                }
                let existing = self
                    .typed(key, Value::as_vector_set)
                    .map_err(wrong_type(key))?;
                if let Some(set) = existing {
                    if set.dim != vector.len() {
                        return Err(CommandError::DimensionMismatch {
                            expected: set.dim,
                            actual: vector.len(),
                        });
                    }
                }
                // The configuration and dimension are those of the VADD that creates the set;
                // later VADDs only add or replace elements.
                let set = self
                    .typed_or_insert(
                        key,
                        || {
                            Value::Vector(VectorSet {
                                config: *config,
                                dim: vector.len(),
                                elements: BTreeMap::new(),
                            })
                        },
                        Value::as_vector_set_mut,
                    )
                    .map_err(wrong_type(key))?;
                set.elements.insert(element.clone(), Vector(vector.clone()));
                Ok(vec![AofRecord::VAdd {
                    key: key.clone(),
                    element: element.clone(),
                    vector: vector.clone(),
                    metric: config.metric,
                    quantization: config.quantization,
                    connectivity: config.connectivity,
                    expansion_add: config.expansion_add,
                }])
            }
            Command::VRem { key, element } => {
                let set = self
                    .typed_mut(key, Value::as_vector_set_mut)
                    .map_err(wrong_type(key))?;
                let removed = set.is_some_and(|set| set.elements.remove(element).is_some());
                self.remove_if_empty(key);
                Ok(match removed {
                    true => vec![AofRecord::VRem {
                        key: key.clone(),
                        element: element.clone(),
                    }],
                    false => vec![],
                })
            }
        }
    }

    /// Sets an existing key's deadline and returns `record()`, or returns nothing for a
    /// missing key.
    fn set_deadline(
        &mut self,
        key: &str,
        deadline: u64,
        record: impl FnOnce() -> AofRecord,
    ) -> Vec<AofRecord> {
        match self.keys.get_mut(key) {
            Some(entry) => {
                entry.expires_at_ms = Some(deadline);
                vec![record()]
            }
            None => vec![],
        }
    }

    fn pexpire_at(&mut self, key: &str, timestamp_ms: u64) -> Result<Vec<AofRecord>, CommandError> {
        let timestamp_ms = non_negative(timestamp_ms)?;
        Ok(
            self.set_deadline(key, timestamp_ms, || AofRecord::Pexpireat {
                key: key.to_owned(),
                timestamp_ms,
            }),
        )
    }

    /// INCR/DECR/INCRBY/DECRBY: a missing key counts as 0; the TTL is kept.
    fn add_to_integer(&mut self, key: &str, delta: i64) -> Result<(), CommandError> {
        let current = match self.typed(key, Value::as_string).map_err(wrong_type(key))? {
            Some(bytes) => parse_i64(bytes).ok_or(CommandError::NotAnInteger)?,
            None => 0,
        };
        let new = current.checked_add(delta).ok_or(CommandError::Overflow)?;
        self.put_string(key, new.to_string().into_bytes());
        Ok(())
    }

    /// The bytes of the string at `key`; empty for a missing key.
    fn string_or_empty(&self, key: &str) -> Result<Vec<u8>, CommandError> {
        Ok(
            match self.typed(key, Value::as_string).map_err(wrong_type(key))? {
                Some(bytes) => bytes.to_vec(),
                None => Vec::new(),
            },
        )
    }

    /// Stores `bytes` as the string at `key`, keeping the key's deadline (none if missing).
    fn put_string(&mut self, key: &str, bytes: Vec<u8>) {
        let deadline = self.keys.get(key).and_then(|e| e.expires_at_ms);
        self.keys.insert(
            key.to_owned(),
            Entry {
                value: Value::String(bytes.into()),
                expires_at_ms: deadline,
            },
        );
    }

    /// BITOP's result: sources are strings, missing keys count as empty strings, shorter
    /// sources are padded with zero bytes to the longest.
    fn bit_op(&self, op: BitOp, keys: &[String]) -> Result<Vec<u8>, CommandError> {
        if keys.is_empty() || (op == BitOp::Not && keys.len() != 1) {
            return Err(CommandError::Arity("BITOP"));
        }
        let mut sources = Vec::with_capacity(keys.len());
        for key in keys {
            let source = self.typed(key, Value::as_string).map_err(wrong_type(key))?;
            sources.push(source.cloned().unwrap_or_default());
        }
        let len = sources.iter().map(Bytes::len).max().unwrap_or(0);
        let byte = |source: &Bytes, i: usize| source.get(i).copied().unwrap_or(0);
        Ok((0..len)
            .map(|i| match op {
                BitOp::Not => sources.first().map_or(0xff, |s| !byte(s, i)),
                BitOp::And => sources.iter().fold(0xff, |acc, s| acc & byte(s, i)),
                BitOp::Or => sources.iter().fold(0, |acc, s| acc | byte(s, i)),
                BitOp::Xor => sources.iter().fold(0, |acc, s| acc ^ byte(s, i)),
            })
            .collect())
    }

    fn push(&mut self, key: &str, values: &[Bytes], head: bool) -> Result<(), CommandError> {
        if values.is_empty() {
            return Err(CommandError::Arity(if head { "LPUSH" } else { "RPUSH" }));
        }
        let list = self
            .typed_or_insert(key, || Value::List(Vec::new()), Value::as_list_mut)
            .map_err(wrong_type(key))?;
        for value in values {
            if head {
                list.insert(0, value.clone());
            } else {
                list.push(value.clone());
            }
        }
        Ok(())
    }

    /// Pops one element; `Ok(false)` when there was none.
    fn pop(&mut self, key: &str, head: bool) -> Result<bool, CommandError> {
        let Some(list) = self.list_mut(key)? else {
            return Ok(false);
        };
        let popped = if head {
            (!list.is_empty()).then(|| list.remove(0))
        } else {
            list.pop()
        };
        self.remove_if_empty(key);
        Ok(popped.is_some())
    }

    fn list_mut(&mut self, key: &str) -> Result<Option<&mut Vec<Bytes>>, CommandError> {
        self.typed_mut(key, Value::as_list_mut)
            .map_err(wrong_type(key))
    }

    /// The value at `key` seen through `project` (`Value::as_*`); `Ok(None)` if the key is
    /// missing; `Err(type held)` if `project` does not match it.
    pub(crate) fn typed<T>(
        &self,
        key: &str,
        project: fn(&Value) -> Option<&T>,
    ) -> Result<Option<&T>, ValueType> {
        match self.keys.get(key) {
            None => Ok(None),
            Some(entry) => project(&entry.value)
                .map(Some)
                .ok_or(entry.value.value_type()),
        }
    }

    /// Like [`Self::typed`], mutable.
    pub(crate) fn typed_mut<T>(
        &mut self,
        key: &str,
        project: fn(&mut Value) -> Option<&mut T>,
    ) -> Result<Option<&mut T>, ValueType> {
        match self.keys.get_mut(key) {
            None => Ok(None),
            Some(entry) => {
                let found = entry.value.value_type();
                project(&mut entry.value).map(Some).ok_or(found)
            }
        }
    }

    /// Like [`Self::typed_mut`], but a missing key is first created (with no TTL) holding
    /// `empty()`. A key of another type is left untouched.
    pub(crate) fn typed_or_insert<T>(
        &mut self,
        key: &str,
        empty: impl FnOnce() -> Value,
        project: fn(&mut Value) -> Option<&mut T>,
    ) -> Result<&mut T, ValueType> {
        let entry = self
            .keys
            .entry(key.to_owned())
            .or_insert_with(|| Entry::persistent(empty()));
        let found = entry.value.value_type();
        project(&mut entry.value).ok_or(found)
    }

    pub(crate) fn remove_if_empty(&mut self, key: &str) {
        if self
            .keys
            .get(key)
            .is_some_and(|e| e.value.is_empty_collection())
        {
            self.keys.remove(key);
        }
    }
}

/// Maps the type a key holds to the WRONGTYPE error for `key`.
fn wrong_type(key: &str) -> impl FnOnce(ValueType) -> CommandError + '_ {
    move |found| CommandError::WrongType {
        key: key.to_owned(),
        found,
    }
}

/// The TTL in ms a SET or PROTO.SET asks for. EX/PX 0 and TTLs that do not fit the record's
/// `i64` field are refused, as Redis refuses them.
fn ttl_ms(expiry: Option<Expiry>) -> Result<Option<u64>, CommandError> {
    let ms = match expiry {
        None => return Ok(None),
        Some(Expiry::Ex(seconds)) => seconds.checked_mul(1000),
        Some(Expiry::Px(ms)) => Some(ms),
    };
    match ms {
        Some(ms) if ms > 0 && ms <= NON_NEGATIVE_MAX => Ok(Some(ms)),
        _ => Err(CommandError::InvalidExpire),
    }
}

/// The `expire_ms` field of a SET or PROTO.SET record: the TTL, or -1 for none.
fn logged_ttl(ttl_ms: Option<u64>) -> i64 {
    // ttl_ms() only accepts values up to i64::MAX.
    ttl_ms.map_or(-1, |ms| i64::try_from(ms).unwrap_or(i64::MAX))
}

/// A TTL or timestamp argument that the record's non-negative `i64` field can hold.
fn non_negative(value: u64) -> Result<u64, CommandError> {
    if value <= NON_NEGATIVE_MAX {
        Ok(value)
    } else {
        Err(CommandError::InvalidExpire)
    }
}

/// Parses a string value as ember does: UTF-8, then Rust's `i64` syntax (an optional sign
/// and decimal digits, nothing else).
pub(crate) fn parse_i64(bytes: &[u8]) -> Option<i64> {
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// LREM's removal: `count > 0` removes the first `count` matches from the head, `count < 0`
/// the last `|count|` from the tail, `0` all. Returns how many were removed.
fn remove_occurrences(list: &mut Vec<Bytes>, count: i64, value: &[u8]) -> usize {
    let limit = match count {
        0 => usize::MAX,
        n => usize::try_from(n.unsigned_abs()).unwrap_or(usize::MAX),
    };
    let mut removed = 0;
    if count >= 0 {
        let mut i = 0;
        while i < list.len() && removed < limit {
            if list[i] == value {
                list.remove(i);
                removed += 1;
            } else {
                i += 1;
            }
        }
    } else {
        let mut i = list.len();
        while i > 0 && removed < limit {
            i -= 1;
            if list[i] == value {
                list.remove(i);
                removed += 1;
            }
        }
    }
    removed
}
