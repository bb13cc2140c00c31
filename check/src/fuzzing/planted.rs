//! A bug planted in eaof's writer on the simulated disk, to show that the fuzz target
//! `script` finds what it is meant to find (`tests/fuzz_seeds.rs`, and the recorded run in
//! the README), and timed by the checker's own benchmark (`crate::bench`, the row
//! `sim sync-lies-after-reopen`) beside the bugs of `crate::planted`.
//!
//! [`SyncLiesAfterReopen`]: after the writer is reopened (a crash, a process restart), its
//! first sync hands the buffered records to the disk and returns `Ok` without making them
//! durable. A server built on it acknowledges writes a crash then loses. No engine without
//! crashes in the middle of a run can meet it (the exhaustive explorer crashes only at the
//! end of each sequence); a script needs a crash or a restart, a command, a sync, and a crash
//! into an image that lost the command.

use eaof::AofRecord;

use crate::eaof::EaofSim;
use crate::target::{
    Capabilities, Fault, FileState, Keying, ReadBack, Target, TargetError, Version,
};

/// eaof on the simulated disk, whose first sync after each reopen lies (see the module).
pub struct SyncLiesAfterReopen {
    inner: EaofSim,
    /// Whether the next sync is the first since a reopen.
    reopened: bool,
}

impl SyncLiesAfterReopen {
    /// The planted target, writing `version` files.
    pub fn new(version: Version) -> Self {
        SyncLiesAfterReopen {
            inner: EaofSim::new(version),
            reopened: false,
        }
    }
}

impl Target for SyncLiesAfterReopen {
    fn name(&self) -> String {
        format!("{} with a sync that lies after a reopen", self.inner.name())
    }
    fn version(&self) -> Version {
        self.inner.version()
    }
    fn deterministic(&self) -> bool {
        true
    }
    fn create(&mut self) -> Result<(), TargetError> {
        self.reopened = false;
        self.inner.create()
    }
    fn write(&mut self, record: &AofRecord) -> Result<(), TargetError> {
        self.inner.write(record)
    }
    fn flush(&mut self) -> Result<(), TargetError> {
        self.inner.flush()
    }
    fn sync(&mut self) -> Result<(), TargetError> {
        if std::mem::take(&mut self.reopened) {
            // The planted bug: the records reach the disk's cache, not its platters.
            self.inner.flush()
        } else {
            self.inner.sync()
        }
    }
    fn file(&self) -> Result<FileState, TargetError> {
        self.inner.file()
    }
    fn load(&mut self, image: &[u8]) -> Result<(), TargetError> {
        self.inner.load(image)
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    fn truncate(&mut self) -> Result<(), TargetError> {
        self.inner.truncate()
    }
    fn close(&mut self) -> Result<(), TargetError> {
        self.inner.close()
    }
    fn keying(&self) -> Keying {
        self.inner.keying()
    }
    fn reopen_with(&mut self, keying: Keying) -> Result<(), TargetError> {
        self.reopened = true;
        self.inner.reopen_with(keying)
    }
    fn read_back(&mut self) -> Result<ReadBack, TargetError> {
        self.inner.read_back()
    }
    fn operations(&self) -> Option<u64> {
        self.inner.operations()
    }
    fn inject(&mut self, fault: Fault) -> Result<(), TargetError> {
        self.inner.inject(fault)
    }
}

/// The property of the planted fuzz target `script_planted` (cargo feature `planted` of
/// `fuzz/`): the same as [`super::script::script`], on [`SyncLiesAfterReopen`]. A fuzzer
/// that finds nothing here has not explored crashes and reopens.
pub fn script_planted(data: &[u8]) {
    let script = super::script::Script::decode(data);
    let mut target = SyncLiesAfterReopen::new(script.version.version());
    super::script::judge(&mut target, &script);
}
