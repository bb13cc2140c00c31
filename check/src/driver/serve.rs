//! The driver's side of the protocol: a [`Driver`] is an implementation's writer and reader
//! behind the requests of docs/DRIVER.md, and [`serve`] answers requests on a stream with
//! it, until the stream ends.
//!
//! Guarantees: one answer per request, in order, each `{"ok": true, ...}`, `{"error":
//! "...", "poisoned": bool}` or `{"unsupported": "..."}`; a request that cannot be parsed is
//! answered with an error, and serving goes on; a batch is answered with the answer of each
//! request, run in order as if sent alone; an answer carries the driver's trace of its
//! file-system calls during the request when it keeps one, and its count of storage
//! operations when it injects faults. Serving ends cleanly when the input ends between
//! frames; a broken frame is an error.

use std::io::{self, Read, Write};
use std::path::Path;

use eaof::AofRecord;
use eaof_conformance::json::record_to_json;
use eaof_conformance::protocol::{read_frame, write_frame};
use serde_json::{json, Value};

use super::{Hello, Key, Request};
use crate::target::{Fault, ReadBack, ReadEnd};
use crate::trace::FsOp;

/// Why a driver's call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverError {
    /// The implementation returned an error (its text).
    Failed(String),
    /// The implementation refused because an earlier failure poisoned its writer.
    Poisoned(String),
    /// The driver does not implement this request.
    Unsupported(String),
}

/// An implementation's writer and reader, as the protocol drives them.
pub trait Driver {
    /// Who it is and what it can do.
    fn hello(&self) -> Hello;

    /// Opens a writer on `path` (creating the file when missing) configured with `key`,
    /// running the implementation's recovery on an existing file; drops any writer open.
    fn open(&mut self, path: &Path, key: Option<Key>) -> Result<(), DriverError>;

    /// Hands one record to the writer.
    fn write(&mut self, record: &AofRecord) -> Result<(), DriverError>;

    /// Hands buffered records to the operating system.
    fn flush(&mut self) -> Result<(), DriverError>;

    /// Makes everything written durable.
    fn sync(&mut self) -> Result<(), DriverError>;

    /// Replaces the log with an empty one.
    fn truncate(&mut self) -> Result<(), DriverError> {
        Err(DriverError::Unsupported("no truncate".into()))
    }

    /// Closes the writer cleanly (a no-op without one).
    fn close(&mut self) -> Result<(), DriverError>;

    /// Forgets the writer as a killed process would: nothing more should reach the file
    /// (the harness replaces it after this answer, so a writer that flushes as it is dropped
    /// does no harm).
    fn crash(&mut self);

    /// Reads `path` as the implementation's recovery does, configured with `key`.
    fn read(&mut self, path: &Path, key: Option<Key>) -> ReadBack;

    /// Arms a fault in the driver's storage.
    fn inject(&mut self, fault: Fault) -> Result<(), DriverError> {
        let _ = fault;
        Err(DriverError::Unsupported("no fault injection".into()))
    }

    /// The file-system calls made since the last time this was called; `None` when the
    /// driver keeps no trace.
    fn take_trace(&mut self) -> Option<Vec<FsOp>> {
        None
    }

    /// Storage operations served so far (for drivers that inject faults).
    fn operations(&self) -> Option<u64> {
        None
    }
}

fn done(result: Result<(), DriverError>) -> Value {
    match result {
        Ok(()) => json!({"ok": true}),
        Err(DriverError::Failed(message)) => json!({"error": message}),
        Err(DriverError::Poisoned(message)) => json!({"error": message, "poisoned": true}),
        Err(DriverError::Unsupported(why)) => json!({"unsupported": why}),
    }
}

fn read_answer(read: ReadBack) -> Value {
    let records: Vec<Value> = read
        .records
        .iter()
        // A record a reader returned always encodes; were it not so, `null` tells the
        // checker the answer is wrong rather than losing the record from the list.
        .map(|r| record_to_json(r).unwrap_or(Value::Null))
        .collect();
    let end = match read.end {
        ReadEnd::Clean => json!("clean"),
        ReadEnd::Error(e) => json!({"error": e}),
    };
    json!({"ok": true, "records": records, "end": end})
}

/// The answer of `driver` to one request's JSON.
pub fn answer(driver: &mut dyn Driver, request: &Value) -> Value {
    let mut out = match Request::from_json(request) {
        Err(e) => json!({"error": format!("bad request: {e}")}),
        Ok(Request::Batch { requests }) => {
            let answers: Vec<Value> = requests.iter().map(|r| run(driver, r)).collect();
            return json!({"ok": true, "answers": answers});
        }
        Ok(request) => return run(driver, &request),
    };
    decorate(driver, &mut out);
    out
}

/// Runs one request (not a batch).
fn run(driver: &mut dyn Driver, request: &Request) -> Value {
    let mut out = match request {
        Request::Hello => driver.hello().to_json(),
        Request::Open { path, key } => done(driver.open(path, *key)),
        Request::Write { record } => done(driver.write(record)),
        Request::Flush => done(driver.flush()),
        Request::Sync => done(driver.sync()),
        Request::Truncate => done(driver.truncate()),
        Request::Close => done(driver.close()),
        Request::Crash => {
            driver.crash();
            json!({"ok": true})
        }
        Request::Read { path, key } => read_answer(driver.read(path, *key)),
        Request::Inject { fault } => done(driver.inject(*fault)),
        Request::Batch { .. } => json!({"error": "a batch cannot hold a batch"}),
    };
    decorate(driver, &mut out);
    out
}

/// Adds the trace and the operation count, where the driver keeps them.
fn decorate(driver: &mut dyn Driver, out: &mut Value) {
    if let Some(trace) = driver.take_trace() {
        out["trace"] = trace.iter().map(FsOp::to_json).collect::<Vec<_>>().into();
    }
    if let Some(ops) = driver.operations() {
        out["ops"] = ops.into();
    }
}

/// Answers requests from `input` on `output` until `input` ends.
pub fn serve(
    driver: &mut dyn Driver,
    input: &mut impl Read,
    output: &mut impl Write,
) -> io::Result<()> {
    while let Some(frame) = read_frame(input)? {
        let reply = match serde_json::from_slice::<Value>(&frame) {
            Ok(request) => answer(driver, &request),
            Err(e) => json!({"error": format!("bad request: not JSON: {e}")}),
        };
        write_frame(output, &reply)?;
    }
    Ok(())
}
