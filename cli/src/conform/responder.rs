//! eaof's own conformance responder (`eaof conform --respond`, what `--self` starts): answers
//! the protocol's requests with the reference implementation.
//!
//! It reads files with the streaming [`AofReader`] (over an in-memory disk) and writes them
//! with [`AofWriter`], not with the zero-copy scanner the vectors' expectations come from,
//! so running the vectors against it compares two readers. Every request gets an answer, in
//! the classes of docs/FORMAT.md §9.4: a request that is not one the protocol defines gets
//! `bad_request`, a record a writer must refuse `out_of_domain`, a failure of the
//! responder itself `internal`; it never panics.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::path::Path;

use serde_json::{json, Value};

use eaof::aof::WriterOptions;
use eaof::encryption::{EncryptionKey, NonceSource, NONCE_SIZE};
use eaof::{AofReader, AofRecord, AofWriter, FormatError};
use eaof_check::sim::SimDisk;
use eaof_conformance::json::{self, BAD_REQUEST, OUT_OF_DOMAIN};
use eaof_conformance::vectors;

use eaof_conformance::protocol::{read_frame, write_frame};

use super::planted::{self, Mistake};

const PATH: &str = "conform/file.aof";

/// The class of a failure of the responder itself: never a correct answer.
const INTERNAL: &str = "internal";

/// Why a request got no regular answer.
#[derive(Debug)]
enum Failed {
    /// The request is not one the protocol defines (`bad_request`).
    BadRequest(String),
    /// The responder itself failed (`internal`).
    Internal(String),
}

impl Failed {
    fn bad(detail: impl Into<String>) -> Self {
        Failed::BadRequest(detail.into())
    }

    fn internal(detail: impl ToString) -> Self {
        Failed::Internal(detail.to_string())
    }

    fn to_answer(&self) -> Value {
        match self {
            Failed::BadRequest(detail) => error(BAD_REQUEST, detail),
            Failed::Internal(detail) => error(INTERNAL, detail),
        }
    }
}

fn error(class: &str, detail: impl ToString) -> Value {
    json!({"error": {"class": class, "detail": detail.to_string()}})
}

/// Answers requests from `input` on `output` until `input` ends; with `plant`, answers as
/// a port with that mistake would.
pub fn serve(
    input: &mut impl Read,
    output: &mut impl Write,
    plant: Option<Mistake>,
) -> io::Result<()> {
    while let Some(frame) = read_frame(input)? {
        let answer = match serde_json::from_slice::<Value>(&frame) {
            Ok(request) if request.is_object() => {
                let answer = answer(&request);
                match plant {
                    Some(mistake) => planted::plant(mistake, &request, answer),
                    None => answer,
                }
            }
            Ok(_) => Failed::bad("the request is not a JSON object").to_answer(),
            Err(e) => Failed::bad(format!("not JSON: {e}")).to_answer(),
        };
        write_frame(output, &answer)?;
    }
    Ok(())
}

/// The answer to one request.
pub fn answer(request: &Value) -> Value {
    let result = match request["op"].as_str() {
        Some("decode_record") => decode_record(request),
        Some("encode_record") => encode_record(request),
        Some("read_file") => read_file(request),
        Some("write_file") => write_file(request),
        Some(op) => Err(Failed::bad(format!("unknown op {op:?}"))),
        None => Err(Failed::bad("no `op`")),
    };
    result.unwrap_or_else(|failed| failed.to_answer())
}

fn hex_field(request: &Value, name: &str) -> Result<Vec<u8>, Failed> {
    request[name]
        .as_str()
        .and_then(json::unhex)
        .ok_or_else(|| Failed::bad(format!("`{name}` is not lowercase hex")))
}

fn key_field(request: &Value) -> Result<Option<EncryptionKey>, Failed> {
    match &request["key"] {
        Value::Null => Ok(None),
        _ => {
            let bytes = hex_field(request, "key")?;
            let key =
                <[u8; 32]>::try_from(bytes).map_err(|_| Failed::bad("`key` is not 32 bytes"))?;
            Ok(Some(EncryptionKey::from_bytes(key)))
        }
    }
}

fn decode_record(request: &Value) -> Result<Value, Failed> {
    let bytes = hex_field(request, "hex")?;
    Ok(match json::bytes_to_json(&bytes) {
        Ok(record) => json!({ "record": record }),
        Err(e) => json!({"error": {"class": e.problem.class(), "field": e.field}}),
    })
}

/// The record a request's JSON describes; `Ok(Err(answer))` when a writer must refuse it
/// (`out_of_domain`), `Err` when it is no record (`bad_request`).
fn record_of(value: &Value) -> Result<Result<AofRecord, Value>, Failed> {
    match json::record_from_json(value) {
        Ok(record) => Ok(Ok(record)),
        Err(e) if e.problem.class() == OUT_OF_DOMAIN => Ok(Err(error(OUT_OF_DOMAIN, e))),
        Err(e) => Err(Failed::bad(format!("not a record: {e}"))),
    }
}

fn encode_record(request: &Value) -> Result<Value, Failed> {
    Ok(match record_of(&request["record"])? {
        Ok(record) => match record.to_bytes() {
            Ok(bytes) => json!({"hex": json::hex(&bytes)}),
            Err(e) => error(OUT_OF_DOMAIN, e),
        },
        Err(refusal) => refusal,
    })
}

fn read_file(request: &Value) -> Result<Value, Failed> {
    let bytes = hex_field(request, "hex")?;
    let key = key_field(request)?;
    let disk = SimDisk::new();
    disk.put_durable(PATH, &bytes).map_err(Failed::internal)?;
    let mut reader = match AofReader::open_in(&disk, Path::new(PATH), key.as_ref()) {
        Ok(reader) => reader,
        Err(e) => {
            let class = vectors::open_error_class(&e).ok_or_else(|| Failed::internal(&e))?;
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
                records.push(json::record_to_json(&record).map_err(Failed::internal)?)
            }
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    let verdict = reader
        .verdict()
        .cloned()
        .ok_or_else(|| Failed::internal("reading ended without a verdict"))?;
    let read_error = match &failure {
        None => Value::Null,
        Some(e) => {
            vectors::read_error_json(e, Some(&verdict)).ok_or_else(|| Failed::internal(e))?
        }
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

/// The writer's options a request asks for: version 2 (`key` and `nonces` null), or version
/// 3 with a key and one nonce per record, each 24 lowercase hex digits.
fn writer_options(request: &Value, records: usize) -> Result<WriterOptions, Failed> {
    let options = WriterOptions::default();
    match request["version"].as_u64() {
        Some(2) if request["key"].is_null() && request["nonces"].is_null() => Ok(options),
        Some(2) => Err(Failed::bad("version 2 takes no `key` and no `nonces`")),
        Some(3) => {
            let key = key_field(request)?.ok_or_else(|| Failed::bad("version 3 needs a `key`"))?;
            let nonces = request["nonces"]
                .as_array()
                .ok_or_else(|| Failed::bad("version 3 needs `nonces`"))?
                .iter()
                .map(|n| {
                    n.as_str()
                        .and_then(json::unhex)
                        .and_then(|b| <[u8; NONCE_SIZE]>::try_from(b).ok())
                        .ok_or_else(|| Failed::bad("a nonce is not 12 bytes of lowercase hex"))
                })
                .collect::<Result<VecDeque<_>, _>>()?;
            if nonces.len() != records {
                return Err(Failed::bad("one nonce per record is needed"));
            }
            Ok(options.key(key).nonces(Listed(nonces)))
        }
        _ => Err(Failed::bad("`version` is not 2 or 3")),
    }
}

fn write_file(request: &Value) -> Result<Value, Failed> {
    let records = request["records"]
        .as_array()
        .ok_or_else(|| Failed::bad("`records` is not an array"))?;
    let options = writer_options(request, records.len())?;
    let disk = SimDisk::new();
    let mut writer = AofWriter::open_in(disk.clone(), PATH, options).map_err(Failed::internal)?;
    for value in records {
        match record_of(value)? {
            Ok(record) => match writer.write_record(&record) {
                Ok(()) => {}
                // A record over a length limit (1 GiB, or what a sealed frame can hold) is
                // refused by the writer, not by the JSON: out of its domain all the same.
                Err(FormatError::Encode(e)) => return Ok(error(OUT_OF_DOMAIN, e)),
                Err(e) => return Err(Failed::internal(e)),
            },
            Err(refusal) => return Ok(refusal),
        }
    }
    writer.sync().map_err(Failed::internal)?;
    let bytes = disk
        .contents(PATH)
        .ok_or_else(|| Failed::internal("the written file is missing"))?;
    Ok(json!({"hex": json::hex(&bytes)}))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The answers `serve` gives to these frames' bodies.
    fn answers(bodies: &[&[u8]]) -> Vec<Value> {
        let mut input = Vec::new();
        for body in bodies {
            input.extend_from_slice(&(body.len() as u32).to_le_bytes());
            input.extend_from_slice(body);
        }
        let mut output = Vec::new();
        serve(&mut &input[..], &mut output, None).expect("serve");
        let mut out = Vec::new();
        let mut rest = &output[..];
        while let Some(frame) = read_frame(&mut rest).expect("frame") {
            out.push(serde_json::from_slice(&frame).expect("JSON"));
        }
        out
    }

    #[test]
    fn every_request_the_protocol_does_not_define_is_a_bad_request_and_answered() {
        let bad: &[&[u8]] = &[
            b"not json",
            b"\xff\xfe",
            b"[1, 2]",
            br#"{"op": "fly"}"#,
            br#"{"hex": "00"}"#,
            br#"{"op": "decode_record", "hex": "0G"}"#,
            br#"{"op": "read_file", "hex": "45414f4602", "key": "00"}"#,
            br#"{"op": "write_file", "version": 4, "records": [], "key": null, "nonces": null}"#,
            br#"{"op": "write_file", "version": 2, "records": [], "key": null, "nonces": []}"#,
            br#"{"op": "write_file", "version": 3, "records": [{"kind": "DEL", "key": "a"}], "key": "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "nonces": []}"#,
            br#"{"op": "encode_record", "record": {"kind": "DEL", "key": "\ud800"}}"#,
        ];
        let got = answers(bad);
        assert_eq!(got.len(), bad.len(), "one answer per request");
        for (body, answer) in bad.iter().zip(&got) {
            assert_eq!(
                answer["error"]["class"],
                BAD_REQUEST,
                "{}: {answer}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn a_refused_record_in_a_file_to_write_is_out_of_domain_and_no_file() {
        let request = json!({"op": "write_file", "version": 2, "key": null, "nonces": null,
            "records": [{"kind": "DEL", "key": "a"}, {"kind": "DEL", "key": {"hex": "ff"}}]});
        let answer = answer(&request);
        assert_eq!(answer["error"]["class"], OUT_OF_DOMAIN, "{answer}");
        assert!(answer.get("hex").is_none());
    }
}
