//! eaof-model: the in-memory model store: what a key holds, the commands a client speaks, and
//! what each record means.
//!
//! - [`value`]: what a key holds, compared exactly;
//! - [`command`]: the client vocabulary and its errors;
//! - [`store`]: the keyspace against an injected clock, and command execution
//!   ([`Store::execute`] returns the records ember logs);
//! - [`replay`]: what each record means ([`Store::apply`]);
//! - [`gen`]: proptest strategies for records.
//!
//! The property the model exists for: replaying the records that executing any command
//! sequence logged, into a fresh store at the same clock, gives a store equal to the one that
//! executed them. The checker that holds implementations of the format to it is `eaof-check`;
//! the artefacts for ports (JSON of records, vectors, fixtures) are `eaof-conformance`.
#![forbid(unsafe_code)]

pub mod command;
pub mod gen;
pub mod replay;
pub mod store;
pub mod value;

pub use command::{BitOp, Command, CommandError, Expiry};
pub use replay::{ApplyError, Refusal};
pub use store::Store;
pub use value::{Entry, Score, Value, ValueType, Vector, VectorConfig, VectorSet, STRING_LEN_MAX};
