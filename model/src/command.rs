//! The client vocabulary: one variant per command that makes ember log a record.
//!
//! A [`Command`] is what a client sends, already parsed (arguments typed, no RESP). Executing
//! it on a [`crate::Store`] either changes the store and returns the records ember logs for
//! it, or fails with a [`CommandError`], changes nothing and logs nothing. What each command
//! does and logs is documented on [`crate::Store::execute`].

use bytes::Bytes;
use eaof::limits::BITOP_OP_MAX;

use crate::value::{ValueType, VectorConfig};

/// The TTL option of SET and PROTO.SET.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// `EX seconds`.
    Ex(u64),
    /// `PX milliseconds`.
    Px(u64),
}

/// A BITOP operation. The record stores it as a code byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BitOp {
    /// Bitwise AND of all sources.
    And,
    /// Bitwise OR of all sources.
    Or,
    /// Bitwise XOR of all sources.
    Xor,
    /// Bitwise NOT of the single source.
    Not,
}

impl BitOp {
    /// The code byte in a BITOP record: 0 AND, 1 OR, 2 XOR, 3 NOT.
    pub const fn code(self) -> u8 {
        match self {
            BitOp::And => 0,
            BitOp::Or => 1,
            BitOp::Xor => 2,
            BitOp::Not => 3,
        }
    }

    /// The operation whose code byte is `code`.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(BitOp::And),
            1 => Some(BitOp::Or),
            2 => Some(BitOp::Xor),
            3 => Some(BitOp::Not),
            _ => None,
        }
    }
}

// The record's op byte and this enum must cover the same codes.
const _: () = assert!(BitOp::Not.code() == BITOP_OP_MAX);

/// A parsed client command.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)] // fields are the command's arguments, named as in the Redis docs
pub enum Command {
    /// SET key value [EX seconds | PX milliseconds]
    Set {
        key: String,
        value: Bytes,
        expiry: Option<Expiry>,
    },
    /// DEL key
    Del { key: String },
    /// EXPIRE key seconds
    Expire { key: String, seconds: u64 },
    /// PEXPIRE key milliseconds
    Pexpire { key: String, milliseconds: u64 },
    /// EXPIREAT key unix-seconds
    ExpireAt { key: String, timestamp_s: u64 },
    /// PEXPIREAT key unix-milliseconds
    PexpireAt { key: String, timestamp_ms: u64 },
    /// PERSIST key
    Persist { key: String },
    /// INCR key
    Incr { key: String },
    /// DECR key
    Decr { key: String },
    /// INCRBY key delta
    IncrBy { key: String, delta: i64 },
    /// DECRBY key delta
    DecrBy { key: String, delta: i64 },
    /// APPEND key value
    Append { key: String, value: Bytes },
    /// SETRANGE key offset value
    SetRange {
        key: String,
        offset: usize,
        value: Bytes,
    },
    /// SETBIT key offset 0|1
    SetBit { key: String, offset: u64, bit: u8 },
    /// BITOP AND|OR|XOR|NOT dest key [key ...]
    BitOp {
        op: BitOp,
        dest: String,
        keys: Vec<String>,
    },
    /// RENAME key newkey
    Rename { key: String, newkey: String },
    /// COPY source destination [REPLACE]
    Copy {
        source: String,
        destination: String,
        replace: bool,
    },
    /// LPUSH key value [value ...]
    LPush { key: String, values: Vec<Bytes> },
    /// RPUSH key value [value ...]
    RPush { key: String, values: Vec<Bytes> },
    /// LPOP key
    LPop { key: String },
    /// RPOP key
    RPop { key: String },
    /// LSET key index value
    LSet {
        key: String,
        index: i64,
        value: Bytes,
    },
    /// LTRIM key start stop
    LTrim { key: String, start: i64, stop: i64 },
    /// LINSERT key BEFORE|AFTER pivot value
    LInsert {
        key: String,
        before: bool,
        pivot: Bytes,
        value: Bytes,
    },
    /// LREM key count value
    LRem {
        key: String,
        count: i64,
        value: Bytes,
    },
    /// ZADD key score member [score member ...]
    ZAdd {
        key: String,
        members: Vec<(f64, String)>,
    },
    /// ZREM key member [member ...]
    ZRem { key: String, members: Vec<String> },
    /// HSET key field value [field value ...]
    HSet {
        key: String,
        fields: Vec<(String, Bytes)>,
    },
    /// HDEL key field [field ...]
    HDel { key: String, fields: Vec<String> },
    /// HINCRBY key field delta
    HIncrBy {
        key: String,
        field: String,
        delta: i64,
    },
    /// SADD key member [member ...]
    SAdd { key: String, members: Vec<String> },
    /// SREM key member [member ...]
    SRem { key: String, members: Vec<String> },
    /// VADD key element vector, with the index configuration the client asked for
    VAdd {
        key: String,
        element: String,
        vector: Vec<f32>,
        config: VectorConfig,
    },
    /// VREM key element
    VRem { key: String, element: String },
    /// PROTO.SET key type_name data [EX seconds | PX milliseconds]
    ProtoSet {
        key: String,
        type_name: String,
        data: Bytes,
        expiry: Option<Expiry>,
    },
    /// PROTO.REGISTER name descriptor
    ProtoRegister { name: String, descriptor: Bytes },
}

impl Command {
    /// The command's name as a client writes it.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Set { .. } => "SET",
            Command::Del { .. } => "DEL",
            Command::Expire { .. } => "EXPIRE",
            Command::Pexpire { .. } => "PEXPIRE",
            Command::ExpireAt { .. } => "EXPIREAT",
            Command::PexpireAt { .. } => "PEXPIREAT",
            Command::Persist { .. } => "PERSIST",
            Command::Incr { .. } => "INCR",
            Command::Decr { .. } => "DECR",
            Command::IncrBy { .. } => "INCRBY",
            Command::DecrBy { .. } => "DECRBY",
            Command::Append { .. } => "APPEND",
            Command::SetRange { .. } => "SETRANGE",
            Command::SetBit { .. } => "SETBIT",
            Command::BitOp { .. } => "BITOP",
            Command::Rename { .. } => "RENAME",
            Command::Copy { .. } => "COPY",
            Command::LPush { .. } => "LPUSH",
            Command::RPush { .. } => "RPUSH",
            Command::LPop { .. } => "LPOP",
            Command::RPop { .. } => "RPOP",
            Command::LSet { .. } => "LSET",
            Command::LTrim { .. } => "LTRIM",
            Command::LInsert { .. } => "LINSERT",
            Command::LRem { .. } => "LREM",
            Command::ZAdd { .. } => "ZADD",
            Command::ZRem { .. } => "ZREM",
            Command::HSet { .. } => "HSET",
            Command::HDel { .. } => "HDEL",
            Command::HIncrBy { .. } => "HINCRBY",
            Command::SAdd { .. } => "SADD",
            Command::SRem { .. } => "SREM",
            Command::VAdd { .. } => "VADD",
            Command::VRem { .. } => "VREM",
            Command::ProtoSet { .. } => "PROTO.SET",
            Command::ProtoRegister { .. } => "PROTO.REGISTER",
        }
    }
}

/// Why a command failed. A failed command changes nothing and logs nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// The key holds a value of another type.
    #[error("WRONGTYPE: key {key:?} holds a {found:?}")]
    WrongType {
        /// The key.
        key: String,
        /// The type it holds.
        found: ValueType,
    },
    /// The value (or hash field) is not a base-10 signed 64-bit integer.
    #[error("value is not an integer or out of range")]
    NotAnInteger,
    /// The increment or decrement would overflow `i64`.
    #[error("increment or decrement would overflow")]
    Overflow,
    /// RENAME, COPY or LSET on a key that does not exist.
    #[error("no such key")]
    NoSuchKey,
    /// LSET with an index outside the list.
    #[error("index out of range")]
    IndexOutOfRange,
    /// An EX/PX of zero, or a TTL or timestamp that does not fit the record's field.
    #[error("invalid expire time")]
    InvalidExpire,
    /// SETRANGE or SETBIT would make the string longer than [`crate::STRING_LEN_MAX`].
    #[error("string exceeds maximum allowed size")]
    StringTooLong,
    /// SETBIT with a bit other than 0 or 1.
    #[error("bit is not an integer or out of range")]
    NotABit,
    /// ZADD with a NaN score.
    #[error("score is not a valid float")]
    NotAScore,
    /// VADD with an empty vector or a NaN or infinite component.
    #[error("invalid vector")]
    InvalidVector,
    /// VADD with a vector whose dimension differs from the set's.
    #[error("vector dimension mismatch: set has {expected}, got {actual}")]
    DimensionMismatch {
        /// The set's dimension.
        expected: usize,
        /// The vector's dimension.
        actual: usize,
    },
    /// A command with the wrong number of arguments (no values to push, BITOP NOT with other
    /// than one source...), which a server refuses before it reaches the keyspace.
    #[error("wrong number of arguments for {0}")]
    Arity(&'static str),
}
