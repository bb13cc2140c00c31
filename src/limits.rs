//! Every length and count the format allows, named once.
//!
//! The writer refuses a record that breaks any of these before a byte reaches storage; the
//! reader treats a length or count beyond them as damage. The values are the seed's own
//! (ember-persistence 0.4.9), so every file an ember server can write stays readable.

/// Largest length of one length-prefixed field (a key, a value, a member): 512 MiB.
pub const FIELD_LEN_MAX: u32 = 512 * 1024 * 1024;

/// Largest element count of a list field (LPUSH values, SADD members, HSET pairs...).
pub const COLLECTION_COUNT_MAX: u32 = 100_000_000;

/// Largest dimension of a VADD vector.
pub const VECTOR_DIMS_MAX: u32 = 65_536;

/// Largest encoded record (tag + payload), in bytes. A version 3 record must also fit its
/// ciphertext (record + 16-byte GCM tag) under [`SEALED_LEN_MAX`].
pub const RECORD_LEN_MAX: u64 = 1 << 30;

/// Largest ciphertext of one version 3 record (the seed's reader refuses longer ones).
pub const SEALED_LEN_MAX: u32 = FIELD_LEN_MAX;

/// Largest value of a field stored as a non-negative `i64` (EXPIRE seconds, PEXPIRE
/// milliseconds, PEXPIREAT timestamps, SETRANGE and SETBIT offsets).
pub const NON_NEGATIVE_MAX: u64 = i64::MAX as u64;

/// Largest BITOP operation code: 0 AND, 1 OR, 2 XOR, 3 NOT.
pub const BITOP_OP_MAX: u8 = 3;
