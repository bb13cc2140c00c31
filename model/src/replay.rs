//! Replay: what each record means, written down once.
//!
//! [`Store::apply`] changes the store as one logged record says. Each record kind's meaning
//! is the doc comment of its `apply_*` function below; docs/FORMAT.md quotes them.
//!
//! General rules:
//! - **Time.** Replay reads only the store's clock. Relative TTLs (SET and PROTO.SET
//!   `expire_ms`, EXPIRE `seconds`, PEXPIRE `milliseconds`) are anchored at the replaying
//!   store's clock: the deadline is `now_ms + ttl`. ember writes the TTL as it was when the
//!   record was logged and its recovery re-anchors it at replay time, so a log replayed at the
//!   clock it was written at gives back the same absolute deadlines, and one replayed later
//!   extends relative TTLs by the time in between (what ember does). PEXPIREAT is absolute
//!   and is never re-anchored. A deadline at or before the clock removes the key at once,
//!   exactly as it does when a command sets it.
//! - **Missing keys.** A record that would add to a collection or a string creates the key
//!   (with no TTL); a record that only removes, pops, trims, inserts at a pivot, renames,
//!   copies or sets a TTL is a no-op on a missing key.
//! - **Empty collections.** A record that empties a list, hash, set, sorted set or vector set
//!   removes the key.
//! - **Refusals.** A record is refused ([`ApplyError`]), and the store left unchanged, when no
//!   state change is consistent with its meaning: a type conflict, a non-integer counter, an
//!   overflow, an LSET outside the list, a bit other than 0/1, a NaN score, a vector of the
//!   wrong dimension, an empty member list. ember never logs such a record; meeting one means
//!   the log was not written by a correct server. (ember 0.4.9's recovery skips most of them
//!   silently; see docs/ember-0.4.9.md.)

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use eaof::{AofRecord, RecordKind};

use crate::command::BitOp;
use crate::store::{parse_i64, Store};
use crate::value::{
    Entry, Score, Value, ValueType, Vector, VectorConfig, VectorSet, STRING_LEN_MAX,
};

/// Why a record cannot be replayed. The store is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot replay {kind:?}: {reason}")]
pub struct ApplyError {
    /// The kind of the refused record.
    pub kind: RecordKind,
    /// Why it was refused.
    pub reason: Refusal,
}

/// Why a record is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The record needs one type at `key`, which holds another.
    #[error("key {key:?} holds a {found:?}, the record needs a {needed:?}")]
    WrongType {
        /// The key.
        key: String,
        /// The type the record needs.
        needed: ValueType,
        /// The type the key holds.
        found: ValueType,
    },
    /// A counter (string or hash field) that is not an `i64`.
    #[error("value is not an integer")]
    NotAnInteger,
    /// The addition overflows `i64` (DECRBY of `i64::MIN` included).
    #[error("integer overflow")]
    Overflow,
    /// LSET on a missing key.
    #[error("no such key")]
    NoSuchKey,
    /// LSET with an index outside the list.
    #[error("index out of range")]
    IndexOutOfRange,
    /// SETRANGE or SETBIT beyond [`STRING_LEN_MAX`].
    #[error("string would exceed the maximum size")]
    StringTooLong,
    /// SETBIT with a value other than 0 or 1.
    #[error("bit value {0} is not 0 or 1")]
    NotABit(u8),
    /// BITOP with an unknown op code, no source key, or NOT with other than one.
    #[error("invalid BITOP (op {op}, {keys} source keys)")]
    InvalidBitOp {
        /// The op code.
        op: u8,
        /// The number of source keys.
        keys: usize,
    },
    /// ZADD with a NaN score.
    #[error("NaN score")]
    NotAScore,
    /// VADD with an empty vector or a NaN or infinite component.
    #[error("invalid vector")]
    InvalidVector,
    /// VADD whose vector's dimension differs from the set's.
    #[error("vector dimension {actual}, set has {expected}")]
    DimensionMismatch {
        /// The set's dimension.
        expected: usize,
        /// The record's.
        actual: usize,
    },
    /// A push, add or remove record with no element.
    #[error("record carries no element")]
    Empty,
}

type Applied = Result<(), Refusal>;

impl Store {
    /// Replays one record (see the module documentation for the rules, and each `apply_*`
    /// function for each kind's meaning). On error the store is unchanged.
    pub fn apply(&mut self, record: &AofRecord) -> Result<(), ApplyError> {
        self.apply_inner(record).map_err(|reason| ApplyError {
            kind: record.kind(),
            reason,
        })?;
        self.remove_expired();
        Ok(())
    }

    /// Replays records in order, stopping at the first refusal (whose index it returns).
    pub fn apply_all<'a>(
        &mut self,
        records: impl IntoIterator<Item = &'a AofRecord>,
    ) -> Result<(), (usize, ApplyError)> {
        for (i, record) in records.into_iter().enumerate() {
            self.apply(record).map_err(|e| (i, e))?;
        }
        Ok(())
    }

    fn apply_inner(&mut self, record: &AofRecord) -> Applied {
        match record {
            AofRecord::Set {
                key,
                value,
                expire_ms,
            } => self.apply_set(key, value, *expire_ms),
            AofRecord::Del { key } => self.apply_del(key),
            AofRecord::Expire { key, seconds } => self.apply_expire(key, *seconds),
            AofRecord::Pexpire { key, milliseconds } => self.apply_pexpire(key, *milliseconds),
            AofRecord::Pexpireat { key, timestamp_ms } => self.apply_pexpireat(key, *timestamp_ms),
            AofRecord::Persist { key } => self.apply_persist(key),
            AofRecord::Incr { key } => self.apply_incrby(key, 1),
            AofRecord::Decr { key } => self.apply_incrby(key, -1),
            AofRecord::IncrBy { key, delta } => self.apply_incrby(key, *delta),
            AofRecord::DecrBy { key, delta } => self.apply_decrby(key, *delta),
            AofRecord::Append { key, value } => self.apply_append(key, value),
            AofRecord::SetRange { key, offset, value } => self.apply_setrange(key, *offset, value),
            AofRecord::SetBit { key, offset, value } => self.apply_setbit(key, *offset, *value),
            AofRecord::BitOp { op, dest, keys } => self.apply_bitop(*op, dest, keys),
            AofRecord::Rename { key, newkey } => self.apply_rename(key, newkey),
            AofRecord::Copy {
                source,
                destination,
                replace,
            } => self.apply_copy(source, destination, *replace),
            AofRecord::LPush { key, values } => self.apply_push(key, values, true),
            AofRecord::RPush { key, values } => self.apply_push(key, values, false),
            AofRecord::LPop { key } => self.apply_pop(key, true),
            AofRecord::RPop { key } => self.apply_pop(key, false),
            AofRecord::LSet { key, index, value } => self.apply_lset(key, *index, value),
            AofRecord::LTrim { key, start, stop } => self.apply_ltrim(key, *start, *stop),
            AofRecord::LInsert {
                key,
                before,
                pivot,
                value,
            } => self.apply_linsert(key, *before, pivot, value),
            AofRecord::LRem { key, count, value } => self.apply_lrem(key, *count, value),
            AofRecord::ZAdd { key, members } => self.apply_zadd(key, members),
            AofRecord::ZRem { key, members } => self.apply_zrem(key, members),
            AofRecord::HSet { key, fields } => self.apply_hset(key, fields),
            AofRecord::HDel { key, fields } => self.apply_hdel(key, fields),
            AofRecord::HIncrBy { key, field, delta } => self.apply_hincrby(key, field, *delta),
            AofRecord::SAdd { key, members } => self.apply_sadd(key, members),
            AofRecord::SRem { key, members } => self.apply_srem(key, members),
            AofRecord::VAdd {
                key,
                element,
                vector,
                metric,
                quantization,
                connectivity,
                expansion_add,
            } => self.apply_vadd(
                key,
                element,
                vector,
                VectorConfig {
                    metric: *metric,
                    quantization: *quantization,
                    connectivity: *connectivity,
                    expansion_add: *expansion_add,
                },
            ),
            AofRecord::VRem { key, element } => self.apply_vrem(key, element),
            AofRecord::ProtoSet {
                key,
                type_name,
                data,
                expire_ms,
            } => self.apply_proto_set(key, type_name, data, *expire_ms),
            AofRecord::ProtoRegister { name, descriptor } => {
                self.apply_proto_register(name, descriptor)
            }
        }
    }

    /// **SET** `key value expire_ms`: `key` becomes the string `value`, whatever it held.
    /// `expire_ms < 0` (ember writes -1): no expiry. `expire_ms >= 0`: the key expires
    /// `expire_ms` milliseconds after the replaying store's clock (0: it is gone at once).
    fn apply_set(&mut self, key: &str, value: &Bytes, expire_ms: i64) -> Applied {
        let entry = Entry {
            value: Value::String(value.clone()),
            expires_at_ms: self.relative_deadline(expire_ms),
        };
        self.keys.insert(key.to_owned(), entry);
        Ok(())
    }

    /// **PROTO.SET** `key type_name data expire_ms`: `key` becomes the proto value
    /// (`type_name`, `data`), whatever it held; `expire_ms` as for SET. The data is not
    /// checked against any schema (the server validated it before logging).
    fn apply_proto_set(
        &mut self,
        key: &str,
        type_name: &str,
        data: &Bytes,
        expire_ms: i64,
    ) -> Applied {
        let entry = Entry {
            value: Value::Proto {
                type_name: type_name.to_owned(),
                data: data.clone(),
            },
            expires_at_ms: self.relative_deadline(expire_ms),
        };
        self.keys.insert(key.to_owned(), entry);
        Ok(())
    }

    /// **PROTO.REGISTER** `name descriptor`: the schema `name` is `descriptor`; a later
    /// registration of the same name replaces it.
    fn apply_proto_register(&mut self, name: &str, descriptor: &Bytes) -> Applied {
        self.schemas.insert(name.to_owned(), descriptor.clone());
        Ok(())
    }

    /// **DEL** `key`: the key no longer exists (no-op if missing).
    fn apply_del(&mut self, key: &str) -> Applied {
        self.keys.remove(key);
        Ok(())
    }

    /// **EXPIRE** `key seconds`: if the key exists, it expires `seconds` × 1000 ms after the
    /// replaying store's clock (saturating; 0: it is gone at once). No-op if missing.
    fn apply_expire(&mut self, key: &str, seconds: u64) -> Applied {
        let deadline = self.now_ms.saturating_add(seconds.saturating_mul(1000));
        self.put_deadline(key, Some(deadline));
        Ok(())
    }

    /// **PEXPIRE** `key milliseconds`: as EXPIRE, in milliseconds.
    fn apply_pexpire(&mut self, key: &str, milliseconds: u64) -> Applied {
        let deadline = self.now_ms.saturating_add(milliseconds);
        self.put_deadline(key, Some(deadline));
        Ok(())
    }

    /// **PEXPIREAT** `key timestamp_ms`: if the key exists, it expires at the absolute Unix
    /// time `timestamp_ms` (gone at once if that is not after the clock). No-op if missing.
    /// EXPIREAT is logged as this record, in milliseconds.
    fn apply_pexpireat(&mut self, key: &str, timestamp_ms: u64) -> Applied {
        self.put_deadline(key, Some(timestamp_ms));
        Ok(())
    }

    /// **PERSIST** `key`: if the key exists, it no longer expires. No-op if missing.
    fn apply_persist(&mut self, key: &str) -> Applied {
        self.put_deadline(key, None);
        Ok(())
    }

    /// **INCR** / **DECR** / **INCRBY** `key delta`: the string at `key` (missing: "0") is
    /// parsed as an `i64` and replaced by its sum with `delta` (1 for INCR, -1 for DECR) in
    /// decimal; its deadline is kept. Refused on a non-string, a non-integer or an overflow.
    fn apply_incrby(&mut self, key: &str, delta: i64) -> Applied {
        let current = match self
            .typed(key, Value::as_string)
            .map_err(refuse(key, ValueType::String))?
        {
            Some(bytes) => parse_i64(bytes).ok_or(Refusal::NotAnInteger)?,
            None => 0,
        };
        let sum = current.checked_add(delta).ok_or(Refusal::Overflow)?;
        self.replace_string(key, Bytes::from(sum.to_string()));
        Ok(())
    }

    /// **DECRBY** `key delta`: INCRBY with `-delta`; refused if `delta` is `i64::MIN`.
    fn apply_decrby(&mut self, key: &str, delta: i64) -> Applied {
        let negated = delta.checked_neg().ok_or(Refusal::Overflow)?;
        self.apply_incrby(key, negated)
    }

    /// **APPEND** `key value`: the string at `key` (missing: empty, no TTL) gets `value`
    /// appended; its deadline is kept.
    fn apply_append(&mut self, key: &str, value: &Bytes) -> Applied {
        let old = self.string_bytes(key)?;
        let mut new = Vec::with_capacity(old.len() + value.len());
        new.extend_from_slice(&old);
        new.extend_from_slice(value);
        self.replace_string(key, new.into());
        Ok(())
    }

    /// **SETRANGE** `key offset value`: the string at `key` (missing: empty, no TTL; the key
    /// is created even when `value` is empty) has `value` written at byte `offset`, with zero
    /// bytes filling any gap past its end; its deadline is kept. Refused beyond
    /// [`STRING_LEN_MAX`].
    fn apply_setrange(&mut self, key: &str, offset: usize, value: &Bytes) -> Applied {
        let old = self.string_bytes(key)?;
        let end = offset
            .checked_add(value.len())
            .filter(|&end| end <= STRING_LEN_MAX)
            .ok_or(Refusal::StringTooLong)?;
        let mut new = Vec::with_capacity(old.len().max(end));
        new.extend_from_slice(&old[..old.len().min(offset)]);
        new.resize(offset, 0);
        new.extend_from_slice(value);
        if end < old.len() {
            new.extend_from_slice(&old[end..]);
        }
        self.replace_string(key, new.into());
        Ok(())
    }

    /// **SETBIT** `key offset value`: bit `offset` of the string at `key` (missing: empty, no
    /// TTL) becomes `value`, bit 0 being the most significant bit of byte 0; the string grows
    /// with zero bytes to reach it; its deadline is kept. Refused for a value other than 0/1
    /// or beyond [`STRING_LEN_MAX`].
    fn apply_setbit(&mut self, key: &str, offset: u64, value: u8) -> Applied {
        if value > 1 {
            return Err(Refusal::NotABit(value));
        }
        let old = self.string_bytes(key)?;
        let byte = usize::try_from(offset / 8)
            .ok()
            .filter(|&b| b < STRING_LEN_MAX)
            .ok_or(Refusal::StringTooLong)?;
        let mut new = old.to_vec();
        if new.len() <= byte {
            new.resize(byte + 1, 0);
        }
        let shift = 7 - (offset % 8) as u32;
        new[byte] = (new[byte] & !(1 << shift)) | (value << shift);
        self.replace_string(key, new.into());
        Ok(())
    }

    /// **BITOP** `op dest keys`: `dest` becomes, with no TTL, the string whose byte `i` is
    /// the AND (op 0), OR (1) or XOR (2) of byte `i` of every source, or the NOT (3) of the
    /// single source's, for `i` below the longest source's length; a missing source is an
    /// empty string, and a source shorter than `i` contributes a zero byte. The result may be
    /// empty (`dest` is then the empty string). Refused for an op above 3, no source, NOT of
    /// other than one source, or a source that is not a string.
    fn apply_bitop(&mut self, op: u8, dest: &str, keys: &[String]) -> Applied {
        let invalid = Refusal::InvalidBitOp {
            op,
            keys: keys.len(),
        };
        let op = BitOp::from_code(op).ok_or(invalid.clone())?;
        if keys.is_empty() || (op == BitOp::Not && keys.len() != 1) {
            return Err(invalid);
        }
        let mut sources: Vec<Bytes> = Vec::with_capacity(keys.len());
        for key in keys {
            sources.push(self.string_bytes(key)?);
        }
        let len = sources.iter().map(Bytes::len).max().unwrap_or(0);
        let mut result = match op {
            BitOp::And => vec![0xffu8; len],
            _ => vec![0u8; len],
        };
        for source in &sources {
            for (i, out) in result.iter_mut().enumerate() {
                let b = source.get(i).copied().unwrap_or(0);
                match op {
                    BitOp::And => *out &= b,
                    BitOp::Or => *out |= b,
                    BitOp::Xor => *out ^= b,
                    BitOp::Not => *out = !b,
                }
            }
        }
        self.keys.insert(
            dest.to_owned(),
            Entry::persistent(Value::String(result.into())),
        );
        Ok(())
    }

    /// **RENAME** `key newkey`: if `key` exists, its value and deadline move to `newkey`,
    /// replacing whatever `newkey` held (`key == newkey`: no change). No-op if `key` is
    /// missing.
    fn apply_rename(&mut self, key: &str, newkey: &str) -> Applied {
        if let Some(entry) = self.keys.remove(key) {
            self.keys.insert(newkey.to_owned(), entry);
        }
        Ok(())
    }

    /// **COPY** `source destination replace`: if `source` exists and either `replace` is set
    /// or `destination` is missing, `destination` becomes a copy of `source`'s value with the
    /// same absolute deadline. Otherwise no-op.
    fn apply_copy(&mut self, source: &str, destination: &str, replace: bool) -> Applied {
        let Some(entry) = self.keys.get(source).cloned() else {
            return Ok(());
        };
        if replace || !self.keys.contains_key(destination) {
            self.keys.insert(destination.to_owned(), entry);
        }
        Ok(())
    }

    /// **LPUSH** / **RPUSH** `key values`: each value in order is put at the head (LPUSH, so
    /// the last ends up first) or the tail (RPUSH) of the list at `key` (missing: empty, no
    /// TTL). Refused with no value.
    fn apply_push(&mut self, key: &str, values: &[Bytes], head: bool) -> Applied {
        if values.is_empty() {
            return Err(Refusal::Empty);
        }
        let list = self
            .typed_or_insert(key, || Value::List(Vec::new()), Value::as_list_mut)
            .map_err(refuse(key, ValueType::List))?;
        if head {
            let mut new: Vec<Bytes> = values.iter().rev().cloned().collect();
            new.append(list);
            *list = new;
        } else {
            list.extend(values.iter().cloned());
        }
        Ok(())
    }

    /// **LPOP** / **RPOP** `key`: the list's head (LPOP) or tail (RPOP) is removed. No-op if
    /// missing.
    fn apply_pop(&mut self, key: &str, head: bool) -> Applied {
        if let Some(list) = self.list(key)? {
            if head && !list.is_empty() {
                list.remove(0);
            } else {
                list.pop();
            }
        }
        self.drop_if_empty(key);
        Ok(())
    }

    /// **LSET** `key index value`: the element at `index` (negative: `len + index`) becomes
    /// `value`. Refused if the key is missing or the index is outside the list.
    fn apply_lset(&mut self, key: &str, index: i64, value: &Bytes) -> Applied {
        let list = self.list(key)?.ok_or(Refusal::NoSuchKey)?;
        let position = if index < 0 {
            index.checked_add(list.len() as i64)
        } else {
            Some(index)
        };
        let slot = position
            .and_then(|p| usize::try_from(p).ok())
            .and_then(|p| list.get_mut(p))
            .ok_or(Refusal::IndexOutOfRange)?;
        *slot = value.clone();
        Ok(())
    }

    /// **LTRIM** `key start stop`: the list keeps exactly the elements at positions `i` with
    /// `start' <= i <= stop'`, where a negative bound `b` means `len + b`; the key goes if
    /// none remain. No-op if missing.
    fn apply_ltrim(&mut self, key: &str, start: i64, stop: i64) -> Applied {
        if let Some(list) = self.list(key)? {
            let len = list.len() as i64;
            let from = if start < 0 { len + start } else { start };
            let to = if stop < 0 { len + stop } else { stop };
            let kept: Vec<Bytes> = list
                .iter()
                .enumerate()
                .filter(|&(i, _)| (from..=to).contains(&(i as i64)))
                .map(|(_, e)| e.clone())
                .collect();
            *list = kept;
        }
        self.drop_if_empty(key);
        Ok(())
    }

    /// **LINSERT** `key before pivot value`: `value` is inserted just before (`before`) or
    /// after the first element equal to `pivot`. No-op if the key is missing or no element
    /// equals `pivot`.
    fn apply_linsert(&mut self, key: &str, before: bool, pivot: &Bytes, value: &Bytes) -> Applied {
        if let Some(list) = self.list(key)? {
            if let Some(at) = list.iter().position(|e| e == pivot) {
                list.insert(if before { at } else { at + 1 }, value.clone());
            }
        }
        Ok(())
    }

    /// **LREM** `key count value`: elements equal to `value` are removed: the first `count`
    /// from the head if `count > 0`, the last `|count|` from the tail if `count < 0`, all if
    /// 0. The key goes if none remain. No-op if missing.
    fn apply_lrem(&mut self, key: &str, count: i64, value: &Bytes) -> Applied {
        if let Some(list) = self.list(key)? {
            let matches = list.iter().enumerate().filter(|(_, e)| *e == value);
            let limit = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
            let doomed: BTreeSet<usize> = match count {
                0 => matches.map(|(i, _)| i).collect(),
                c if c > 0 => matches.take(limit).map(|(i, _)| i).collect(),
                _ => matches.rev().take(limit).map(|(i, _)| i).collect(),
            };
            let mut i = 0;
            list.retain(|_| {
                i += 1;
                !doomed.contains(&(i - 1))
            });
        }
        self.drop_if_empty(key);
        Ok(())
    }

    /// **ZADD** `key members`: each (score, member) in order sets the member's score in the
    /// sorted set at `key` (missing: empty, no TTL), adding it if absent. Refused with no
    /// member or a NaN score.
    fn apply_zadd(&mut self, key: &str, members: &[(f64, String)]) -> Applied {
        if members.is_empty() {
            return Err(Refusal::Empty);
        }
        if members.iter().any(|(s, _)| s.is_nan()) {
            return Err(Refusal::NotAScore);
        }
        let zset = self
            .typed_or_insert(
                key,
                || Value::SortedSet(BTreeMap::new()),
                Value::as_sorted_set_mut,
            )
            .map_err(refuse(key, ValueType::SortedSet))?;
        for (score, member) in members {
            zset.insert(member.clone(), Score(*score));
        }
        Ok(())
    }

    /// **ZREM** `key members`: the members are removed from the sorted set; the key goes if
    /// none remain. No-op if missing. Refused with no member.
    fn apply_zrem(&mut self, key: &str, members: &[String]) -> Applied {
        if members.is_empty() {
            return Err(Refusal::Empty);
        }
        let zset = self
            .typed_mut(key, Value::as_sorted_set_mut)
            .map_err(refuse(key, ValueType::SortedSet))?;
        if let Some(zset) = zset {
            for member in members {
                zset.remove(member);
            }
        }
        self.drop_if_empty(key);
        Ok(())
    }

    /// **HSET** `key fields`: each (field, value) in order is stored in the hash at `key`
    /// (missing: empty, no TTL). Refused with no field.
    fn apply_hset(&mut self, key: &str, fields: &[(String, Bytes)]) -> Applied {
        if fields.is_empty() {
            return Err(Refusal::Empty);
        }
        let hash = self
            .typed_or_insert(key, || Value::Hash(BTreeMap::new()), Value::as_hash_mut)
            .map_err(refuse(key, ValueType::Hash))?;
        for (field, value) in fields {
            hash.insert(field.clone(), value.clone());
        }
        Ok(())
    }

    /// **HDEL** `key fields`: the fields are removed from the hash; the key goes if none
    /// remain. No-op if missing. Refused with no field.
    fn apply_hdel(&mut self, key: &str, fields: &[String]) -> Applied {
        if fields.is_empty() {
            return Err(Refusal::Empty);
        }
        let hash = self
            .typed_mut(key, Value::as_hash_mut)
            .map_err(refuse(key, ValueType::Hash))?;
        if let Some(hash) = hash {
            for field in fields {
                hash.remove(field);
            }
        }
        self.drop_if_empty(key);
        Ok(())
    }

    /// **HINCRBY** `key field delta`: the hash field (missing hash: empty, no TTL; missing
    /// field: "0") is parsed as an `i64` and replaced by its sum with `delta` in decimal.
    /// Refused on a non-integer field or an overflow.
    fn apply_hincrby(&mut self, key: &str, field: &str, delta: i64) -> Applied {
        let hash = self
            .typed(key, Value::as_hash)
            .map_err(refuse(key, ValueType::Hash))?;
        let current = match hash.and_then(|h| h.get(field)) {
            Some(v) => parse_i64(v).ok_or(Refusal::NotAnInteger)?,
            None => 0,
        };
        let sum = current.checked_add(delta).ok_or(Refusal::Overflow)?;
        let hash = self
            .typed_or_insert(key, || Value::Hash(BTreeMap::new()), Value::as_hash_mut)
            .map_err(refuse(key, ValueType::Hash))?;
        hash.insert(field.to_owned(), Bytes::from(sum.to_string()));
        Ok(())
    }

    /// **SADD** `key members`: the members are added to the set at `key` (missing: empty, no
    /// TTL). Refused with no member.
    fn apply_sadd(&mut self, key: &str, members: &[String]) -> Applied {
        if members.is_empty() {
            return Err(Refusal::Empty);
        }
        let set = self
            .typed_or_insert(key, || Value::Set(BTreeSet::new()), Value::as_set_mut)
            .map_err(refuse(key, ValueType::Set))?;
        set.extend(members.iter().cloned());
        Ok(())
    }

    /// **SREM** `key members`: the members are removed from the set; the key goes if none
    /// remain. No-op if missing. Refused with no member.
    fn apply_srem(&mut self, key: &str, members: &[String]) -> Applied {
        if members.is_empty() {
            return Err(Refusal::Empty);
        }
        let set = self
            .typed_mut(key, Value::as_set_mut)
            .map_err(refuse(key, ValueType::Set))?;
        if let Some(set) = set {
            for member in members {
                set.remove(member);
            }
        }
        self.drop_if_empty(key);
        Ok(())
    }

    /// **VADD** `key element vector metric quantization connectivity expansion_add`:
    /// `element` gets `vector` in the vector set at `key`, replacing its old vector. A missing
    /// key is created (no TTL) with this record's configuration and the vector's dimension;
    /// an existing set keeps its own configuration (the record's is ignored). Refused for an
    /// empty vector, a NaN or infinite component, or a dimension other than the set's.
    fn apply_vadd(
        &mut self,
        key: &str,
        element: &str,
        vector: &[f32],
        config: VectorConfig,
    ) -> Applied {
        if vector.is_empty() || vector.iter().any(|c| !c.is_finite()) {
            return Err(Refusal::InvalidVector);
        }
        let existing = self
            .typed_mut(key, Value::as_vector_set_mut)
            .map_err(refuse(key, ValueType::Vector))?;
        match existing {
            Some(set) => {
                if set.dim != vector.len() {
                    return Err(Refusal::DimensionMismatch {
                        expected: set.dim,
                        actual: vector.len(),
                    });
                }
                set.elements
                    .insert(element.to_owned(), Vector(vector.to_vec()));
            }
            None => {
                let set = VectorSet {
                    config,
                    dim: vector.len(),
                    elements: BTreeMap::from([(element.to_owned(), Vector(vector.to_vec()))]),
                };
                self.keys
                    .insert(key.to_owned(), Entry::persistent(Value::Vector(set)));
            }
        }
        Ok(())
    }

    /// **VREM** `key element`: the element is removed from the vector set; the key goes if
    /// none remain. No-op if missing.
    fn apply_vrem(&mut self, key: &str, element: &str) -> Applied {
        let set = self
            .typed_mut(key, Value::as_vector_set_mut)
            .map_err(refuse(key, ValueType::Vector))?;
        if let Some(set) = set {
            set.elements.remove(element);
        }
        self.drop_if_empty(key);
        Ok(())
    }

    // -- helpers, each with one job --

    /// The deadline a relative `expire_ms` means at the replaying store's clock.
    fn relative_deadline(&self, expire_ms: i64) -> Option<u64> {
        u64::try_from(expire_ms)
            .ok()
            .map(|ms| self.now_ms.saturating_add(ms))
    }

    /// Sets the deadline of `key` if it exists.
    fn put_deadline(&mut self, key: &str, deadline: Option<u64>) {
        if let Some(entry) = self.keys.get_mut(key) {
            entry.expires_at_ms = deadline;
        }
    }

    fn list(&mut self, key: &str) -> Result<Option<&mut Vec<Bytes>>, Refusal> {
        self.typed_mut(key, Value::as_list_mut)
            .map_err(refuse(key, ValueType::List))
    }

    /// The bytes of the string at `key`; empty if missing; refused if not a string.
    fn string_bytes(&self, key: &str) -> Result<Bytes, Refusal> {
        let bytes = self
            .typed(key, Value::as_string)
            .map_err(refuse(key, ValueType::String))?;
        Ok(bytes.cloned().unwrap_or_default())
    }

    /// Stores `bytes` as the string at `key`, keeping the key's deadline (none if missing).
    fn replace_string(&mut self, key: &str, bytes: Bytes) {
        let deadline = self.keys.get(key).and_then(|e| e.expires_at_ms);
        self.keys.insert(
            key.to_owned(),
            Entry {
                value: Value::String(bytes),
                expires_at_ms: deadline,
            },
        );
    }

    fn drop_if_empty(&mut self, key: &str) {
        self.remove_if_empty(key);
    }
}

/// Maps the type a key holds to the refusal of a record that needs `needed` there.
fn refuse(key: &str, needed: ValueType) -> impl FnOnce(ValueType) -> Refusal + '_ {
    move |found| Refusal::WrongType {
        key: key.to_owned(),
        needed,
        found,
    }
}
