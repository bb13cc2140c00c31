//! The checker engines: they hold an implementation of the format, behind the [`Target`]
//! seam, to the model.
//!
//! The question every engine answers: after any sequence of commands, any crash, torn write,
//! truncation, bit flip or I/O fault, does reading the log back and replaying it into a fresh
//! [`crate::Store`] give a state the model had, with nothing acknowledged lost and no damage
//! hidden?
//!
//! - [`target`]: the seam (write, flush, sync, crash, reopen, read back);
//! - [`eaof`]: adapters for eaof itself (simulated disk, real files); `ember` (feature
//!   `ember`): ember-persistence 0.4.9 and the record conversions;
//! - [`files`]: a real log file and the harness's account of its durability.
pub mod eaof;
#[cfg(feature = "ember")]
pub mod ember;
pub mod files;
pub mod target;

pub use target::{
    ErrorKind, Fault, FileState, Op, ReadBack, ReadEnd, Target, TargetError, Version,
};
