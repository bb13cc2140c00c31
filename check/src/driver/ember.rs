//! ember-persistence 0.4.9 as a driver: its own `AofWriter` and `AofReader` on real files,
//! opened as a server opens them (`open` without a key, `open_encrypted` with one). It keeps
//! no trace and injects no fault: ember does its own I/O, so the checker keeps the harness's
//! account of its durability (`crate::files`) until a recorder of system calls sees it.
//!
//! `crash` drops the writer, whose `BufWriter` then flushes into the file: harmless, since
//! the harness replaces the file right after (the in-process adapter does the same).

use std::path::Path;

use ember_persistence::aof::AofWriter;
use ember_persistence::format::FormatError;

use super::serve::{Driver, DriverError};
use super::{Hello, Key, PROTOCOL_VERSION};
use crate::ember::{open_writer, read_file, to_ember};
use crate::target::{ReadBack, Version};
use eaof::AofRecord;

/// ember-persistence 0.4.9 behind the protocol.
#[derive(Default)]
pub struct EmberDriver {
    writer: Option<AofWriter>,
}

fn failed(e: FormatError) -> DriverError {
    DriverError::Failed(e.to_string())
}

impl EmberDriver {
    fn writer(&mut self) -> Result<&mut AofWriter, DriverError> {
        self.writer
            .as_mut()
            .ok_or_else(|| DriverError::Failed("no writer is open".into()))
    }
}

impl Driver for EmberDriver {
    fn hello(&self) -> Hello {
        Hello {
            name: "ember-persistence 0.4.9".into(),
            protocol: PROTOCOL_VERSION,
            versions: Version::ALL.to_vec(),
            truncate: true,
            keys: true,
            inject: false,
            trace: false,
            // Version 3 nonces come from the operating system.
            deterministic: false,
        }
    }

    fn open(&mut self, path: &Path, key: Option<Key>) -> Result<(), DriverError> {
        self.writer = None;
        self.writer = Some(open_writer(path, key).map_err(failed)?);
        Ok(())
    }

    fn write(&mut self, record: &AofRecord) -> Result<(), DriverError> {
        let record = to_ember(record);
        self.writer()?.write_record(&record).map_err(failed)
    }

    fn flush(&mut self) -> Result<(), DriverError> {
        self.writer()?.flush().map_err(failed)
    }

    fn sync(&mut self) -> Result<(), DriverError> {
        self.writer()?.sync().map_err(failed)
    }

    fn truncate(&mut self) -> Result<(), DriverError> {
        self.writer()?.truncate().map_err(failed)
    }

    fn close(&mut self) -> Result<(), DriverError> {
        self.writer = None;
        Ok(())
    }

    fn crash(&mut self) {
        self.writer = None;
    }

    fn read(&mut self, path: &Path, key: Option<Key>) -> ReadBack {
        read_file(path, key)
    }
}
