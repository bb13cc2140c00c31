//! The driver protocol (docs/DRIVER.md): how the checker drives an implementation of the
//! format that runs as a child process, over its stdin and stdout, with the framing of the
//! conformance runner (`eaof_conformance::protocol`: a little-endian `u32` length, then one
//! JSON object).
//!
//! This module holds what both sides share: the requests ([`Request`], with their JSON) and
//! the greeting ([`Hello`]). [`serve`] is the driver's side (a loop any Rust driver runs
//! around its [`Driver`]); `crate::process` is the checker's side. The drivers shipped here:
//! [`eaof_files::EaofDriver`] (eaof on real files, with planted bugs, fault injection and a trace
//! of its calls) and, with feature `ember`, `ember::EmberDriver` (ember-persistence 0.4.9).
//!
//! Guarantees: a request reads back from its JSON ([`Request::from_json`] of
//! [`Request::to_json`]); every malformed request is an error naming what is wrong, never a
//! panic; a batch holds at most [`BATCH_LEN_MAX`] requests and no batch; the protocol
//! carries its version ([`PROTOCOL_VERSION`]), and a version only adds requests and keys,
//! so a driver written for version 1 keeps working.

use std::path::PathBuf;

use eaof::AofRecord;
use eaof_conformance::json::{hex, record_from_json, record_to_json, unhex};
use serde_json::{json, Map, Value};

use crate::target::{Fault, Version};

pub mod eaof_files;
#[cfg(feature = "ember")]
pub mod ember;
pub mod serve;

pub use serve::{serve, Driver, DriverError};

/// The protocol version this checker speaks.
pub const PROTOCOL_VERSION: u64 = 1;

/// The most requests one batch holds.
pub const BATCH_LEN_MAX: usize = 64;

/// A key: 32 bytes.
pub type Key = [u8; 32];

/// One request of the checker.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Who are you, and what can you do?
    Hello,
    /// Open a writer on `path` (creating the file when missing), configured with `key`,
    /// running the implementation's recovery on an existing file.
    Open { path: PathBuf, key: Option<Key> },
    /// Hand one record to the writer.
    Write { record: AofRecord },
    /// Hand buffered records to the operating system.
    Flush,
    /// Make everything written durable.
    Sync,
    /// Replace the log with an empty one.
    Truncate,
    /// Close the writer cleanly.
    Close,
    /// Forget the writer as a killed process would (the harness then replaces the file).
    Crash,
    /// Read `path` as the implementation's recovery does, configured with `key`.
    Read { path: PathBuf, key: Option<Key> },
    /// Arm a fault in the driver's storage.
    Inject { fault: Fault },
    /// Run each request in order, as if sent alone.
    Batch { requests: Vec<Request> },
}

fn key_json(key: &Option<Key>) -> Value {
    key.map_or(Value::Null, |k| Value::String(hex(&k)))
}

fn key_from(object: &Map<String, Value>) -> Result<Option<Key>, String> {
    match object.get("key") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => unhex(text)
            .and_then(|bytes| Key::try_from(bytes).ok())
            .map(Some)
            .ok_or_else(|| "`key` is not 64 lowercase hex digits".to_owned()),
        Some(_) => Err("`key` is not a string or null".into()),
    }
}

fn path_from(object: &Map<String, Value>) -> Result<PathBuf, String> {
    object
        .get("path")
        .and_then(Value::as_str)
        .map(PathBuf::from)
        .ok_or_else(|| "`path` is missing or not a string".to_owned())
}

impl Request {
    /// The request's `op`.
    pub fn op(&self) -> &'static str {
        match self {
            Request::Hello => "hello",
            Request::Open { .. } => "open",
            Request::Write { .. } => "write",
            Request::Flush => "flush",
            Request::Sync => "sync",
            Request::Truncate => "truncate",
            Request::Close => "close",
            Request::Crash => "crash",
            Request::Read { .. } => "read",
            Request::Inject { .. } => "inject",
            Request::Batch { .. } => "batch",
        }
    }

    /// The JSON of the request (docs/DRIVER.md, "Requests"). Fails only for a record the
    /// format's writer would refuse.
    pub fn to_json(&self) -> Result<Value, eaof::codec::EncodeError> {
        let mut out = json!({"op": self.op()});
        match self {
            Request::Hello => out["protocol"] = PROTOCOL_VERSION.into(),
            Request::Open { path, key } | Request::Read { path, key } => {
                out["path"] = path.to_string_lossy().into_owned().into();
                out["key"] = key_json(key);
            }
            Request::Write { record } => out["record"] = record_to_json(record)?,
            Request::Inject { fault } => {
                out["fault"] = match fault {
                    Fault::FailOpAt { after } => json!({"fail_op_at": after}),
                    Fault::FailWriteAfter { bytes } => json!({"fail_write_after": bytes}),
                    // Never sent (a process target injects these through the recorder, not
                    // through its driver); named so that a driver refuses them by name.
                    Fault::InterruptAt { after } => json!({"interrupt_at": after}),
                    Fault::ShortWriteAt { after } => json!({"short_write_at": after}),
                    Fault::TooBigAfter { bytes } => json!({"too_big_after": bytes}),
                }
            }
            Request::Batch { requests } => {
                out["requests"] = requests
                    .iter()
                    .map(Request::to_json)
                    .collect::<Result<Vec<_>, _>>()?
                    .into()
            }
            Request::Flush
            | Request::Sync
            | Request::Truncate
            | Request::Close
            | Request::Crash => {}
        }
        Ok(out)
    }

    /// The request `value` describes.
    pub fn from_json(value: &Value) -> Result<Request, String> {
        Self::parse(value, true)
    }

    fn parse(value: &Value, batch_allowed: bool) -> Result<Request, String> {
        let object = value.as_object().ok_or("a request is a JSON object")?;
        let op = object
            .get("op")
            .and_then(Value::as_str)
            .ok_or("`op` is missing or not a string")?;
        Ok(match op {
            "hello" => Request::Hello,
            "open" => Request::Open {
                path: path_from(object)?,
                key: key_from(object)?,
            },
            "read" => Request::Read {
                path: path_from(object)?,
                key: key_from(object)?,
            },
            "write" => Request::Write {
                record: record_from_json(object.get("record").unwrap_or(&Value::Null))
                    .map_err(|e| format!("`record`: {e}"))?,
            },
            "flush" => Request::Flush,
            "sync" => Request::Sync,
            "truncate" => Request::Truncate,
            "close" => Request::Close,
            "crash" => Request::Crash,
            "inject" => Request::Inject {
                fault: fault_from(object.get("fault"))?,
            },
            "batch" if batch_allowed => {
                let items = object
                    .get("requests")
                    .and_then(Value::as_array)
                    .ok_or("`requests` is missing or not an array")?;
                if items.len() > BATCH_LEN_MAX {
                    return Err(format!("a batch holds at most {BATCH_LEN_MAX} requests"));
                }
                Request::Batch {
                    requests: items
                        .iter()
                        .map(|item| Self::parse(item, false))
                        .collect::<Result<_, _>>()?,
                }
            }
            "batch" => return Err("a batch cannot hold a batch".into()),
            other => return Err(format!("unknown op {other:?}")),
        })
    }
}

fn fault_from(value: Option<&Value>) -> Result<Fault, String> {
    let object = value
        .and_then(Value::as_object)
        .ok_or("`fault` is missing or not an object")?;
    let number = |name: &str| object.get(name).and_then(Value::as_u64);
    match (number("fail_op_at"), number("fail_write_after")) {
        (Some(after), None) => Ok(Fault::FailOpAt { after }),
        (None, Some(bytes)) => Ok(Fault::FailWriteAfter { bytes }),
        _ => Err("`fault` holds one of `fail_op_at` and `fail_write_after`, a number".into()),
    }
}

/// A driver's answer to `hello`: who it is and what it can do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// The implementation and its version, for reports.
    pub name: String,
    /// The protocol version the driver speaks.
    pub protocol: u64,
    /// The file versions its writer creates.
    pub versions: Vec<Version>,
    /// Whether it implements `truncate`.
    pub truncate: bool,
    /// Whether it opens and reads with a key.
    pub keys: bool,
    /// Whether it implements `inject`, and counts its storage operations (`ops`).
    pub inject: bool,
    /// Whether its answers carry a trace of its file-system calls (`traces` in the JSON:
    /// `trace` is the trace itself, in every answer).
    pub trace: bool,
    /// Whether the same requests always give the same bytes.
    pub deterministic: bool,
}

impl Hello {
    /// The answer's JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "ok": true,
            "name": self.name,
            "protocol": self.protocol,
            "versions": self.versions.iter().map(|v| v.byte()).collect::<Vec<_>>(),
            "truncate": self.truncate,
            "keys": self.keys,
            "inject": self.inject,
            "traces": self.trace,
            "deterministic": self.deterministic,
        })
    }

    /// The greeting an answer describes. Unknown keys are ignored (a later protocol version
    /// may add some); missing capabilities are `false`.
    pub fn from_json(value: &Value) -> Result<Hello, String> {
        let flag = |name: &str| value.get(name).and_then(Value::as_bool).unwrap_or(false);
        let name = value
            .get("name")
            .and_then(Value::as_str)
            .ok_or("`name` is missing or not a string")?
            .to_owned();
        let protocol = value
            .get("protocol")
            .and_then(Value::as_u64)
            .ok_or("`protocol` is missing or not a number")?;
        let versions = value
            .get("versions")
            .and_then(Value::as_array)
            .ok_or("`versions` is missing or not an array")?
            .iter()
            .filter_map(Value::as_u64)
            .filter_map(|v| Version::ALL.into_iter().find(|w| u64::from(w.byte()) == v))
            .collect();
        Ok(Hello {
            name,
            protocol,
            versions,
            truncate: flag("truncate"),
            keys: flag("keys"),
            inject: flag("inject"),
            trace: flag("traces"),
            deterministic: flag("deterministic"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_reads_back_from_its_json() {
        let record = AofRecord::Del { key: "k".into() };
        let requests = vec![
            Request::Hello,
            Request::Open {
                path: "/d/f".into(),
                key: Some([7; 32]),
            },
            Request::Write {
                record: record.clone(),
            },
            Request::Flush,
            Request::Sync,
            Request::Truncate,
            Request::Close,
            Request::Crash,
            Request::Read {
                path: "/d/f".into(),
                key: None,
            },
            Request::Inject {
                fault: Fault::FailWriteAfter { bytes: 3 },
            },
            Request::Inject {
                fault: Fault::FailOpAt { after: 0 },
            },
        ];
        for request in &requests {
            let json = request.to_json().unwrap();
            assert_eq!(&Request::from_json(&json).unwrap(), request, "{json}");
        }
        let batch = Request::Batch { requests };
        assert_eq!(
            Request::from_json(&batch.to_json().unwrap()).unwrap(),
            batch
        );
    }

    #[test]
    fn malformed_requests_are_errors() {
        for bad in [
            json!([]),
            json!({"op": 1}),
            json!({"op": "fly"}),
            json!({"op": "open"}),
            json!({"op": "open", "path": "/f", "key": "00"}),
            json!({"op": "write", "record": {"kind": "NOPE"}}),
            json!({"op": "inject", "fault": {"fail_op_at": -1}}),
            json!({"op": "batch", "requests": [{"op": "batch", "requests": []}]}),
        ] {
            assert!(Request::from_json(&bad).is_err(), "{bad}");
        }
        let long =
            json!({"op": "batch", "requests": vec![json!({"op": "sync"}); BATCH_LEN_MAX + 1]});
        assert!(Request::from_json(&long).is_err());
    }

    #[test]
    fn a_greeting_reads_back_and_ignores_what_it_does_not_know() {
        let hello = Hello {
            name: "x 1.0".into(),
            protocol: 1,
            versions: vec![Version::V2],
            truncate: true,
            keys: false,
            inject: false,
            trace: true,
            deterministic: true,
        };
        let mut json = hello.to_json();
        json["future"] = json!("more");
        assert_eq!(Hello::from_json(&json).unwrap(), hello);
    }
}
