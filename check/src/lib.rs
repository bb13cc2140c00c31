//! eaof-check: the simulated disk, the checker engines that hold an implementation of the
//! format to the model (`eaof-model`) behind the [`Target`] seam, and the properties the
//! fuzz targets check.
//!
//! The question every engine answers: after any sequence of commands, any crash, torn write,
//! truncation, bit flip or I/O fault, does reading the log back and replaying it into a fresh
//! [`eaof_model::Store`] give a state the model had, with nothing acknowledged lost and no
//! damage hidden?
//!
//! The seam and what it runs on:
//! - [`target`]: write, flush, sync, truncate, close, crash (load an image), reopen (with
//!   the file's configuration or another), read back;
//! - [`mod@eaof`]: adapters for eaof itself (simulated disk with faults, real files); `ember`
//!   (feature `ember`): ember-persistence 0.4.9, and the record conversions;
//! - [`process`]: any implementation run as a child process speaking the driver protocol
//!   ([`driver`], docs/DRIVER.md; the drivers shipped for eaof and ember 0.4.9 are there too);
//! - [`planted`]: bugs planted in eaof's writer, to show the checker finds them;
//! - [`sim`]: the simulated disk: a persistence model, crash states and faults;
//! - [`files`]: a real log file and the harness's account of its durability; [`account`]:
//!   durability accounts (the harness's, or one replayed from a [`trace`] of file-system
//!   calls).
//! - [`recorded`]: crash states from what a child process did, as the recorder saw it.
//!
//! The machinery the engines share:
//! - [`crash`]: the file-level crash model (every cut of the unsynced bytes, files grown
//!   before their data landed);
//! - [`history`]: what was written, and which model states a recovery may give;
//! - [`recover`]: recovering an image through a target and judging it, in linear time over
//!   all cuts of a file; [`mod@reference`]: the format's verdict on the same bytes;
//! - [`script`]: playing commands, flushes, syncs and crashes on the model and a target;
//! - [`alphabet`]: the commands; [`report`]: counts, failures and replayable cases;
//!   [`show`]: what the checker tells a person (commands, records, verdicts), in words;
//! - [`jobs`]: an engine's work cut into units, run on several threads; [`shard`]: a
//!   campaign cut across machines; [`report_file`]: a campaign's report as JSON, and
//!   [`merge`]: the shards' reports combined.
//!
//! The engines, each generic over the target and each returning a [`Report`] ([`campaign`]
//! runs them all within one time budget, for `eaof explore`):
//! - [`sequences`]: random command sequences with syncs and crashes (proptest, shrinking);
//! - [`damage`]: every truncation point, every single-bit flip, random multi-byte damage;
//! - [`faults`]: a failed write or sync at every operation of a short run;
//! - [`explore`]: every sequence up to a length over a small alphabet, every crash point,
//!   every surviving prefix, identical disk states merged.
//!
//! [`bench`]: the checker's own benchmark: how soon each engine finds each known bug,
//! against proptest's random sequences alone.
//!
//! And [`fuzzing`]: the properties the fuzz targets (`fuzz/`) check, also run over their seed
//!   corpora by the tests.
//!
//! Nothing here knows a command line: `eaof explore` (in `cli/`) is a front end.
#![forbid(unsafe_code)]

pub mod account;
pub mod alphabet;
pub mod bench;
pub mod campaign;
pub mod channel;
pub mod crash;
pub mod damage;
pub mod driver;
pub mod eaof;
#[cfg(feature = "ember")]
pub mod ember;
pub mod explore;
pub mod faults;
pub mod files;
pub mod fuzzing;
pub mod history;
pub mod jobs;
pub mod merge;
pub mod planted;
pub mod process;
pub mod recorded;
pub mod recover;
pub mod reference;
pub mod report;
pub mod report_file;
pub mod script;
pub mod sequences;
pub mod shard;
pub mod show;
pub mod sim;
pub mod target;
pub mod trace;

pub use report::{Budget, Case, Counts, Failure, FailureKind, Finding, Progress, Report};
pub use target::{
    Capabilities, ErrorKind, Fault, FileState, Keying, Op, ReadBack, ReadEnd, Recovered, Target,
    TargetError, Version,
};
