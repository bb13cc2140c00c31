//! eaof's own conformance responder (`eaof conform --respond`, what `--self` starts): answers
//! the protocol's requests with the reference implementation.
//!
//! It reads files with the streaming [`AofReader`] (over an in-memory disk) and writes them
//! with [`AofWriter`], not with the zero-copy scanner the vectors' expectations come from,
//! so running the vectors against it compares two readers. Every request gets an answer: a
//! request it cannot parse gets `{"error": {"class": "bad_request", ...}}`; it never panics.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::path::Path;

use serde_json::{json, Value};

use eaof::aof::WriterOptions;
use eaof::encryption::{EncryptionKey, NonceSource, NONCE_SIZE};
use eaof::{AofReader, AofRecord, AofWriter, FormatError};
use eaof_check::sim::SimDisk;
use eaof_conformance::json::{self, JsonProblem};
use eaof_conformance::vectors::{self, OUT_OF_DOMAIN};

use eaof_conformance::protocol::{read_frame, write_frame};

const PATH: &str = "conform/file.aof";

/// Answers requests from `input` on `output` until `input` ends.
pub fn serve(input: &mut impl Read, output: &mut impl Write) -> io::Result<()> {
    while let Some(frame) = read_frame(input)? {
        let answer = match serde_json::from_slice::<Value>(&frame) {
            Ok(request) => answer(&request),
            Err(e) => bad_request(format!("not JSON: {e}")),
        };
        write_frame(output, &answer)?;
    }
    Ok(())
}

fn bad_request(detail: impl Into<String>) -> Value {
    json!({"error": {"class": "bad_request", "detail": detail.into()}})
}

/// The answer to one request.
pub fn answer(request: &Value) -> Value {
    let result = match request["op"].as_str() {
        Some("decode_record") => decode_record(request),
        Some("encode_record") => encode_record(request),
        Some("read_file") => read_file(request),
        Some("write_file") => write_file(request),
        Some(op) => Err(format!("unknown op {op:?}")),
        None => Err("no `op`".to_owned()),
    };
    result.unwrap_or_else(bad_request)
}

fn hex_field(request: &Value, name: &str) -> Result<Vec<u8>, String> {
    request[name]
        .as_str()
        .and_then(json::unhex)
        .ok_or_else(|| format!("`{name}` is not lowercase hex"))
}

fn key_field(request: &Value) -> Result<Option<EncryptionKey>, String> {
    match &request["key"] {
        Value::Null => Ok(None),
        _ => {
            let bytes = hex_field(request, "key")?;
            let key = <[u8; 32]>::try_from(bytes).map_err(|_| "`key` is not 32 bytes")?;
            Ok(Some(EncryptionKey::from_bytes(key)))
        }
    }
}

fn decode_record(request: &Value) -> Result<Value, String> {
    let bytes = hex_field(request, "hex")?;
    Ok(match json::bytes_to_json(&bytes) {
        Ok(record) => json!({ "record": record }),
        Err(e) => json!({"error": {"class": e.problem.class(), "field": e.field}}),
    })
}

/// The record a request's JSON describes; `Ok(Err(answer))` when a writer must refuse it.
fn record_of(value: &Value) -> Result<Result<AofRecord, Value>, String> {
    match json::record_from_json(value) {
        Ok(record) => Ok(Ok(record)),
        Err(e) if matches!(e.problem, JsonProblem::OutOfRange | JsonProblem::Decode(_)) => Ok(Err(
            json!({"error": {"class": OUT_OF_DOMAIN, "detail": e.to_string()}}),
        )),
        Err(e) => Err(format!("not a record: {e}")),
    }
}

fn encode_record(request: &Value) -> Result<Value, String> {
    Ok(match record_of(&request["record"])? {
        Ok(record) => match record.to_bytes() {
            Ok(bytes) => json!({"hex": json::hex(&bytes)}),
            Err(e) => json!({"error": {"class": OUT_OF_DOMAIN, "detail": e.to_string()}}),
        },
        Err(refusal) => refusal,
    })
}

fn read_file(request: &Value) -> Result<Value, String> {
    let bytes = hex_field(request, "hex")?;
    let key = key_field(request)?;
    let disk = SimDisk::new();
    disk.put_durable(PATH, &bytes).map_err(|e| e.to_string())?;
    let mut reader = match AofReader::open_in(&disk, Path::new(PATH), key.as_ref()) {
        Ok(reader) => reader,
        Err(e) => {
            let class = vectors::open_error_class(&e).ok_or_else(|| e.to_string())?;
            return Ok(json!({
                "records": [],
                "verdict": vectors::unreadable(class),
                "readError": {"class": class, "offset": null},
            }));
        }
    };
    let mut records = Vec::new();
    let failure = loop {
        match reader.read_record() {
            Ok(Some(record)) => {
                records.push(json::record_to_json(&record).map_err(|e| e.to_string())?)
            }
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    let verdict = reader
        .verdict()
        .cloned()
        .ok_or("reading ended without a verdict")?;
    let read_error = match &failure {
        None => Value::Null,
        Some(e) => vectors::read_error_json(e, Some(&verdict)).ok_or_else(|| e.to_string())?,
    };
    Ok(json!({
        "records": records,
        "verdict": vectors::verdict_json(&verdict),
        "readError": read_error,
    }))
}

/// Nonces given by the request, in order.
struct Listed(VecDeque<[u8; NONCE_SIZE]>);

impl NonceSource for Listed {
    fn next_nonce(&mut self) -> [u8; NONCE_SIZE] {
        // The count is checked against the records before writing; an all-zero nonce here
        // would make the written file differ, which the runner reports.
        self.0.pop_front().unwrap_or_default()
    }
}

fn write_file(request: &Value) -> Result<Value, String> {
    let records = request["records"]
        .as_array()
        .ok_or("`records` is not an array")?;
    let mut options = WriterOptions::default();
    match request["version"].as_u64() {
        Some(2) => {}
        Some(3) => {
            let key = key_field(request)?.ok_or("version 3 needs a `key`")?;
            let nonces = request["nonces"]
                .as_array()
                .ok_or("version 3 needs `nonces`")?
                .iter()
                .map(|n| {
                    n.as_str()
                        .and_then(json::unhex)
                        .and_then(|b| <[u8; NONCE_SIZE]>::try_from(b).ok())
                        .ok_or("a nonce is not 12 bytes of hex")
                })
                .collect::<Result<VecDeque<_>, _>>()?;
            if nonces.len() != records.len() {
                return Err("one nonce per record is needed".into());
            }
            options = options.key(key).nonces(Listed(nonces));
        }
        _ => return Err("`version` is not 2 or 3".into()),
    }
    let disk = SimDisk::new();
    let failed = |e: FormatError| e.to_string();
    let mut writer = AofWriter::open_in(disk.clone(), PATH, options).map_err(failed)?;
    for value in records {
        match record_of(value)? {
            Ok(record) => match writer.write_record(&record) {
                Ok(()) => {}
                Err(FormatError::Encode(e)) => {
                    return Ok(json!({"error": {"class": OUT_OF_DOMAIN, "detail": e.to_string()}}))
                }
                Err(e) => return Err(failed(e)),
            },
            Err(refusal) => return Ok(refusal),
        }
    }
    writer.sync().map_err(failed)?;
    let bytes = disk.contents(PATH).ok_or("the written file is missing")?;
    Ok(json!({"hex": json::hex(&bytes)}))
}
