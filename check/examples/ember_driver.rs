//! A driver for ember-persistence's writer and reader: the complete example of
//! docs/DRIVER.md. Build it in ember's repository against its current code, then run
//! `eaof explore --target cmd -- path/to/ember_driver`.
use std::io;
use std::path::Path;

use eaof::AofRecord;
use eaof_check::driver::{serve, Driver, DriverError, Hello, Key, PROTOCOL_VERSION};
use eaof_check::{ReadBack, ReadEnd, Version};
use ember_persistence::aof::{AofReader, AofRecord as Theirs, AofWriter};
use ember_persistence::encryption::EncryptionKey;

#[derive(Default)]
struct Ember {
    writer: Option<AofWriter>,
}

fn failed(e: impl std::fmt::Display) -> DriverError {
    DriverError::Failed(e.to_string())
}

// Records cross over as their bytes: the format is the contract.
fn theirs(record: &AofRecord) -> Result<Theirs, DriverError> {
    Theirs::from_bytes(&record.to_bytes().map_err(failed)?).map_err(failed)
}

fn ours(record: &Theirs) -> Result<AofRecord, String> {
    let bytes = record.to_bytes().map_err(|e| e.to_string())?;
    AofRecord::from_bytes(&bytes).map_err(|e| e.to_string())
}

impl Ember {
    fn writer(&mut self) -> Result<&mut AofWriter, DriverError> {
        self.writer
            .as_mut()
            .ok_or_else(|| DriverError::Failed("no writer is open".into()))
    }
}

impl Driver for Ember {
    fn hello(&self) -> Hello {
        Hello {
            name: "ember-persistence (example driver)".into(),
            protocol: PROTOCOL_VERSION,
            versions: vec![Version::V2, Version::V3],
            truncate: true,
            keys: true,
            inject: false,
            trace: false,
            deterministic: false,
        }
    }

    fn open(&mut self, path: &Path, key: Option<Key>) -> Result<(), DriverError> {
        self.writer = None;
        self.writer = Some(match key {
            None => AofWriter::open(path).map_err(failed)?,
            Some(key) => {
                AofWriter::open_encrypted(path, EncryptionKey::from_bytes(key)).map_err(failed)?
            }
        });
        Ok(())
    }

    fn write(&mut self, record: &AofRecord) -> Result<(), DriverError> {
        let record = theirs(record)?;
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
        let mut read = ReadBack {
            records: Vec::new(),
            end: ReadEnd::Clean,
            verdict: None,
        };
        let opened = match key {
            None => AofReader::open(path),
            Some(key) => AofReader::open_encrypted(path, EncryptionKey::from_bytes(key)),
        };
        let mut reader = match opened {
            Ok(reader) => reader,
            Err(e) => {
                read.end = ReadEnd::Error(e.to_string());
                return read;
            }
        };
        loop {
            match reader.read_record() {
                Ok(None) => return read,
                Ok(Some(record)) => match ours(&record) {
                    Ok(record) => read.records.push(record),
                    Err(e) => {
                        read.end = ReadEnd::Error(format!("not a record: {e}"));
                        return read;
                    }
                },
                Err(e) => {
                    read.end = ReadEnd::Error(e.to_string());
                    return read;
                }
            }
        }
    }
}

fn main() -> io::Result<()> {
    let (stdin, stdout) = (io::stdin(), io::stdout());
    serve(&mut Ember::default(), &mut stdin.lock(), &mut stdout.lock())
}
