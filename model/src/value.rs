//! The values a model store holds, and how they compare.
//!
//! Guarantee: equality is exact and total. Floats (sorted-set scores, vector components)
//! compare by bit pattern, so `==` is an equivalence relation (a NaN equals itself, `0.0`
//! differs from `-0.0`) and two stores are equal only if nothing a reader could observe
//! differs. Collections are `BTreeMap`s, `BTreeSet`s and `Vec`s, so iteration order, `Debug`
//! output and equality never depend on hashing.
//!
//! A store never holds an empty list, hash, set, sorted set or vector set: the command or
//! record that empties one removes the key (as ember does). Strings may be empty.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use bytes::Bytes;

/// Longest string a command may build with SETRANGE or SETBIT: 512 MiB, ember's limit.
/// Replay refuses records that would exceed it rather than allocate without bound.
pub const STRING_LEN_MAX: usize = 512 * 1024 * 1024;

/// A sorted-set score, compared by bit pattern.
#[derive(Clone, Copy)]
pub struct Score(pub f64);

impl PartialEq for Score {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for Score {}

impl fmt::Debug for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// A vector-set element's vector, compared component by component by bit pattern.
#[derive(Clone)]
pub struct Vector(pub Vec<f32>);

impl PartialEq for Vector {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(&other.0)
                .all(|(a, b)| a.to_bits() == b.to_bits())
    }
}

impl Eq for Vector {}

impl fmt::Debug for Vector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// The index configuration of a vector set, fixed by the VADD that creates the set.
///
/// The model stores the codes as ember logs them and does not interpret them: it holds
/// vectors, not an index, so only their identity matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VectorConfig {
    /// Distance metric code.
    pub metric: u8,
    /// Quantization code.
    pub quantization: u8,
    /// HNSW connectivity (M).
    pub connectivity: u32,
    /// HNSW expansion factor used while adding.
    pub expansion_add: u32,
}

/// A vector set: its configuration and dimension, fixed on first add, and its elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VectorSet {
    /// The configuration given by the VADD that created the set.
    pub config: VectorConfig,
    /// The dimension of every vector in the set.
    pub dim: usize,
    /// Element name to vector; never empty while the key exists.
    pub elements: BTreeMap<String, Vector>,
}

/// A value stored under a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A byte string; also what INCR counters and SETBIT bitmaps are.
    String(Bytes),
    /// A list, head first.
    List(Vec<Bytes>),
    /// A hash: field to value.
    Hash(BTreeMap<String, Bytes>),
    /// A set of members.
    Set(BTreeSet<String>),
    /// A sorted set: member to score (ordering by score is a read concern, not state).
    SortedSet(BTreeMap<String, Score>),
    /// A vector set.
    Vector(VectorSet),
    /// A protobuf message: its type name and encoded bytes.
    Proto {
        /// Fully qualified message type name.
        type_name: String,
        /// The encoded message.
        data: Bytes,
    },
}

/// The type of a value, as WRONGTYPE errors name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ValueType {
    /// A string (or bitmap, or counter).
    String,
    /// A list.
    List,
    /// A hash.
    Hash,
    /// A set.
    Set,
    /// A sorted set.
    SortedSet,
    /// A vector set.
    Vector,
    /// A protobuf value.
    Proto,
}

impl Value {
    /// The type of this value.
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::String(_) => ValueType::String,
            Value::List(_) => ValueType::List,
            Value::Hash(_) => ValueType::Hash,
            Value::Set(_) => ValueType::Set,
            Value::SortedSet(_) => ValueType::SortedSet,
            Value::Vector(_) => ValueType::Vector,
            Value::Proto { .. } => ValueType::Proto,
        }
    }

    /// The bytes, if this is a string.
    pub fn as_string(&self) -> Option<&Bytes> {
        match self {
            Value::String(b) => Some(b),
            _ => None,
        }
    }

    /// The list, if this is one.
    pub fn as_list_mut(&mut self) -> Option<&mut Vec<Bytes>> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// The hash, if this is one.
    pub fn as_hash(&self) -> Option<&BTreeMap<String, Bytes>> {
        match self {
            Value::Hash(h) => Some(h),
            _ => None,
        }
    }

    /// The hash, if this is one.
    pub fn as_hash_mut(&mut self) -> Option<&mut BTreeMap<String, Bytes>> {
        match self {
            Value::Hash(h) => Some(h),
            _ => None,
        }
    }

    /// The set, if this is one.
    pub fn as_set_mut(&mut self) -> Option<&mut BTreeSet<String>> {
        match self {
            Value::Set(s) => Some(s),
            _ => None,
        }
    }

    /// The sorted set, if this is one.
    pub fn as_sorted_set_mut(&mut self) -> Option<&mut BTreeMap<String, Score>> {
        match self {
            Value::SortedSet(z) => Some(z),
            _ => None,
        }
    }

    /// The vector set, if this is one.
    pub fn as_vector_set(&self) -> Option<&VectorSet> {
        match self {
            Value::Vector(v) => Some(v),
            _ => None,
        }
    }

    /// The vector set, if this is one.
    pub fn as_vector_set_mut(&mut self) -> Option<&mut VectorSet> {
        match self {
            Value::Vector(v) => Some(v),
            _ => None,
        }
    }

    /// Whether this is a collection with no elements (a state the store never keeps).
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::String(_) | Value::Proto { .. } => false,
            Value::List(l) => l.is_empty(),
            Value::Hash(h) => h.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::SortedSet(z) => z.is_empty(),
            Value::Vector(v) => v.elements.is_empty(),
        }
    }
}

/// A key's value and its expiry deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The value.
    pub value: Value,
    /// Absolute deadline in Unix milliseconds, `None` for no expiry. The key is gone once
    /// the store's clock reaches it (`now_ms >= expires_at_ms`).
    pub expires_at_ms: Option<u64>,
}

impl Entry {
    /// An entry with no expiry.
    pub fn persistent(value: Value) -> Self {
        Entry {
            value,
            expires_at_ms: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_compare_by_bits() {
        assert_eq!(Score(f64::NAN), Score(f64::NAN));
        assert_ne!(Score(0.0), Score(-0.0));
        assert_eq!(Score(1.5), Score(1.5));
    }

    #[test]
    fn vectors_compare_by_bits_and_length() {
        assert_eq!(Vector(vec![f32::NAN, 1.0]), Vector(vec![f32::NAN, 1.0]));
        assert_ne!(Vector(vec![0.0]), Vector(vec![-0.0]));
        assert_ne!(Vector(vec![1.0]), Vector(vec![1.0, 1.0]));
    }
}
