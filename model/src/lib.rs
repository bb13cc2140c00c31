//! eaof-model: the in-memory model store, the simulated disk, and the checker engines; and
//! the tools built on the record table that the CLI and the tests share.
//!
//! - [`value`]: what a key holds, compared exactly;
//! - [`command`]: the client vocabulary and its errors;
//! - [`store`]: the keyspace against an injected clock, and command execution
//!   ([`Store::execute`] returns the records ember logs);
//! - [`replay`]: what each record means ([`Store::apply`]);
//! - [`sim`]: a simulated disk with a persistence model, crash states and faults;
//! - [`gen`]: proptest strategies for records;
//! - [`json`], [`hexdump`], [`walk`]: the lossless JSON of records and the annotated hex dump;
//! - [`fixtures`]: the golden fixture set;
//! - [`fuzzing`]: the properties the fuzz targets check;
//! - [`vectors`]: the test vectors for ports (`fixtures/vectors.json`);
//! - [`check`]: the checker engines, run against any implementation behind one trait.
//!
//! The property the model exists for: replaying the records that executing any command
//! sequence logged, into a fresh store at the same clock, gives a store equal to the one that
//! executed them.
#![forbid(unsafe_code)]

pub mod check;
pub mod command;
pub mod fixtures;
pub mod fuzzing;
pub mod gen;
pub mod hexdump;
pub mod json;
pub mod replay;
pub mod sim;
pub mod store;
pub mod value;
pub mod vectors;
pub mod walk;

pub use command::{BitOp, Command, CommandError, Expiry};
pub use replay::{ApplyError, Refusal};
pub use store::Store;
pub use value::{Entry, Score, Value, ValueType, Vector, VectorConfig, VectorSet, STRING_LEN_MAX};
