//! The conformance cases: each one request built from `vectors.json`, and what its answer
//! must be; and the judging of an answer.
//!
//! Guarantees: cases are built from the vectors' JSON alone (any `vectors.json` of the same
//! schema runs, not only the built-in one); a malformed vector is an error naming its
//! `tcId`, never a skipped case. Records in answers are compared by the bytes they encode
//! to (through [`json::record_from_json`], which also checks the reading aids `text` and
//! `value` when present), so two spellings of one record agree and nothing else does;
//! verdicts and read errors are compared as JSON values, exactly.

use serde_json::{json, Value};

use crate::json;
use crate::vectors::{
    FILE_TEST, INVALID_RECORD_TEST, RECORD_REFUSAL_TEST, RECORD_TEST, SCHEMA_VERSION,
};

/// What `--only` selects: groups by type, and file groups by version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Selector {
    /// Valid records (decode_record and encode_record).
    Records,
    /// Invalid records (decode_record must fail with the class and field).
    Invalid,
    /// Records a writer must refuse (encode_record and write_file).
    Refusals,
    /// Whole files (read_file; write_file for clean ones).
    Files,
    /// File groups of version 1 (record groups belong to every version).
    V1,
    /// File groups of version 2.
    V2,
    /// File groups of version 3 (AES-256-GCM).
    V3,
}

/// Which cases to run.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub only: Vec<Selector>,
    pub tc_ids: Vec<u64>,
}

impl Selection {
    /// Group types and versions are each a choice among those given (all when none is):
    /// `--only files,v2` is the version 2 file group; `--only v2` is every record group
    /// and the version 2 file group.
    fn wants(&self, kind: Selector, version: Option<u8>) -> bool {
        let kinds: Vec<_> = self
            .only
            .iter()
            .filter(|s| !matches!(s, Selector::V1 | Selector::V2 | Selector::V3))
            .collect();
        let versions: Vec<u8> = self
            .only
            .iter()
            .filter_map(|s| match s {
                Selector::V1 => Some(1),
                Selector::V2 => Some(2),
                Selector::V3 => Some(3),
                _ => None,
            })
            .collect();
        (kinds.is_empty() || kinds.contains(&&kind))
            && (versions.is_empty() || version.is_none_or(|v| versions.contains(&v)))
    }
}

/// A vector file that cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum VectorsError {
    #[error("schemaVersion is {found}, this runner reads {SCHEMA_VERSION}")]
    Schema { found: Value },
    #[error("test {tc_id}: {why}")]
    Malformed { tc_id: Value, why: String },
    #[error("a test group is malformed: {0}")]
    Group(String),
}

/// What an answer must be.
#[derive(Debug, Clone)]
enum Expect {
    /// A record encoding to these bytes.
    Record(Vec<u8>),
    /// An error of this class (and this field, when given).
    Error {
        class: String,
        field: Option<String>,
    },
    /// These bytes, as lowercase hex.
    Hex(String),
    /// The records (as bytes), the verdict and the read error of a file.
    File {
        records: Vec<Vec<u8>>,
        verdict: Value,
        read_error: Value,
    },
}

/// One request and its expected answer.
#[derive(Debug, Clone)]
pub struct Case {
    pub tc_id: u64,
    pub op: &'static str,
    /// The group, for people: `records SET`, `invalid truncated`, `files v2`.
    pub group: String,
    pub comment: String,
    pub request: Value,
    expect: Expect,
}

/// How one case went.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Pass,
    Fail(Failure),
    /// The implementation answered `{"unsupported": reason}`.
    Unsupported(String),
}

/// Why an answer failed, in two parts, so that a runner can leave out what the reference
/// expected (`eaof conform --blind`) and still say what was wrong with the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// Which part of the answer is wrong, and what the answer holds there.
    pub answer: String,
    /// What the vector expects there; `None` when there is nothing to compare (no answer).
    pub expected: Option<String>,
}

impl Failure {
    /// A failure with nothing expected to show (the answer is missing or unusable).
    pub fn of_answer(answer: impl Into<String>) -> Self {
        Self {
            answer: answer.into(),
            expected: None,
        }
    }

    fn differs(answer: impl Into<String>, expected: impl Into<String>) -> Self {
        Self {
            answer: answer.into(),
            expected: Some(expected.into()),
        }
    }

    /// The failure as a line: with what was expected, or (`blind`) without it.
    pub fn describe(&self, blind: bool) -> String {
        match (&self.expected, blind) {
            (Some(expected), false) => format!("{}; expected {expected}", self.answer),
            _ => self.answer.clone(),
        }
    }
}

/// The selected cases of a vector file, in file order.
pub fn cases(vectors: &Value, selection: &Selection) -> Result<Vec<Case>, VectorsError> {
    if vectors["schemaVersion"].as_u64() != Some(SCHEMA_VERSION) {
        return Err(VectorsError::Schema {
            found: vectors["schemaVersion"].clone(),
        });
    }
    let groups = vectors["testGroups"]
        .as_array()
        .ok_or_else(|| VectorsError::Group("no testGroups array".into()))?;
    let mut out = Vec::new();
    for group in groups {
        let (kind, version, label) = match group["type"].as_str() {
            Some(RECORD_TEST) => (
                Selector::Records,
                None,
                format!("records {}", text(&group["kind"])),
            ),
            Some(INVALID_RECORD_TEST) => (
                Selector::Invalid,
                None,
                format!("invalid {}", text(&group["class"])),
            ),
            Some(RECORD_REFUSAL_TEST) => (Selector::Refusals, None, "refusals".to_owned()),
            Some(FILE_TEST) => {
                let version = group["version"]
                    .as_u64()
                    .and_then(|v| u8::try_from(v).ok())
                    .ok_or_else(|| VectorsError::Group("a FileTest group has no version".into()))?;
                (Selector::Files, Some(version), format!("files v{version}"))
            }
            other => return Err(VectorsError::Group(format!("unknown group type {other:?}"))),
        };
        if !selection.wants(kind, version) {
            continue;
        }
        let tests = group["tests"]
            .as_array()
            .ok_or_else(|| VectorsError::Group(format!("{label}: no tests array")))?;
        for test in tests {
            let tc_id = test["tcId"]
                .as_u64()
                .ok_or_else(|| VectorsError::Malformed {
                    tc_id: test["tcId"].clone(),
                    why: "no numeric tcId".into(),
                })?;
            if !selection.tc_ids.is_empty() && !selection.tc_ids.contains(&tc_id) {
                continue;
            }
            let base = Case {
                tc_id,
                op: "",
                group: label.clone(),
                comment: text(&test["comment"]),
                request: Value::Null,
                expect: Expect::Hex(String::new()),
            };
            let malformed = |why: &str| VectorsError::Malformed {
                tc_id: tc_id.into(),
                why: why.to_owned(),
            };
            let hex = || {
                test["hex"]
                    .as_str()
                    .filter(|h| json::unhex(h).is_some())
                    .ok_or_else(|| malformed("`hex` is not lowercase hex"))
            };
            let with = |op: &'static str, request: Value, expect: Expect| Case {
                op,
                request,
                expect,
                ..base.clone()
            };
            match kind {
                Selector::Records => {
                    let hex = hex()?;
                    out.push(with(
                        "decode_record",
                        json!({"op": "decode_record", "tcId": tc_id, "hex": hex}),
                        Expect::Record(json::unhex(hex).unwrap_or_default()),
                    ));
                    out.push(with(
                        "encode_record",
                        json!({"op": "encode_record", "tcId": tc_id, "record": test["record"]}),
                        Expect::Hex(hex.to_owned()),
                    ));
                }
                Selector::Invalid => {
                    let class = test["error"]["class"]
                        .as_str()
                        .ok_or_else(|| malformed("no error class"))?;
                    let field = test["error"]["field"]
                        .as_str()
                        .ok_or_else(|| malformed("no error field"))?;
                    out.push(with(
                        "decode_record",
                        json!({"op": "decode_record", "tcId": tc_id, "hex": hex()?}),
                        Expect::Error {
                            class: class.to_owned(),
                            field: Some(field.to_owned()),
                        },
                    ));
                }
                Selector::Refusals => {
                    let class = test["error"]["class"]
                        .as_str()
                        .ok_or_else(|| malformed("no error class"))?;
                    let refused = || Expect::Error {
                        class: class.to_owned(),
                        field: None,
                    };
                    out.push(with(
                        "encode_record",
                        json!({"op": "encode_record", "tcId": tc_id, "record": test["record"]}),
                        refused(),
                    ));
                    // A writer refuses the record when asked to write a file holding it,
                    // too: a port may check a record in its encoder or in its writer.
                    out.push(with(
                        "write_file",
                        json!({"op": "write_file", "tcId": tc_id, "version": 2, "records": [test["record"]], "key": null, "nonces": null}),
                        refused(),
                    ));
                }
                _ => {
                    let hex = hex()?;
                    let records = test["records"]
                        .as_array()
                        .ok_or_else(|| malformed("no records array"))?;
                    let encoded = records
                        .iter()
                        .map(record_bytes)
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| malformed(&format!("a record: {e}")))?;
                    let verdict = test["verdict"].clone();
                    let key = test["key"].clone();
                    out.push(with(
                        "read_file",
                        json!({"op": "read_file", "tcId": tc_id, "hex": hex, "key": key}),
                        Expect::File {
                            records: encoded,
                            verdict: verdict.clone(),
                            read_error: test["readError"].clone(),
                        },
                    ));
                    // A clean file of a version a writer writes is also a writing test: the
                    // same records must give the same bytes (version 3 with the same nonces).
                    let version = json::unhex(hex).and_then(|b| b.get(4).copied());
                    let write = match version {
                        _ if verdict["verdict"] != "clean" => None,
                        Some(2) => Some(
                            json!({"op": "write_file", "tcId": tc_id, "version": 2, "records": records, "key": null, "nonces": null}),
                        ),
                        Some(3) if test["nonces"].is_array() => Some(
                            json!({"op": "write_file", "tcId": tc_id, "version": 3, "records": records, "key": key, "nonces": test["nonces"]}),
                        ),
                        _ => None,
                    };
                    if let Some(request) = write {
                        out.push(with("write_file", request, Expect::Hex(hex.to_owned())));
                    }
                }
            }
        }
    }
    Ok(out)
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The bytes a record's JSON encodes to.
fn record_bytes(value: &Value) -> Result<Vec<u8>, String> {
    let record = json::record_from_json(value).map_err(|e| e.to_string())?;
    record.to_bytes().map_err(|e| e.to_string())
}

/// Judges one answer.
pub fn judge(case: &Case, answer: &Value) -> Outcome {
    if let Some(reason) = answer.get("unsupported") {
        return Outcome::Unsupported(text(reason));
    }
    match check(&case.expect, answer) {
        Ok(()) => Outcome::Pass,
        Err(failure) => Outcome::Fail(failure),
    }
}

fn shown(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(300) {
        Some((cut, _)) => format!("{}... ({} characters)", &text[..cut], text.chars().count()),
        None => text,
    }
}

fn check(expect: &Expect, answer: &Value) -> Result<(), Failure> {
    let unexpected_error = || {
        Failure::of_answer(match answer.get("error") {
            Some(error) => format!("the answer is the error {}", shown(error)),
            None => format!("the answer has no expected key: {}", shown(answer)),
        })
    };
    match expect {
        Expect::Record(bytes) => {
            let record = answer.get("record").ok_or_else(unexpected_error)?;
            let got = record_bytes(record).map_err(|e| {
                Failure::of_answer(format!("the record is not valid: {e}: {}", shown(record)))
            })?;
            if &got != bytes {
                return Err(Failure::differs(
                    format!("the record encodes to {}", json::hex(&got)),
                    json::hex(bytes),
                ));
            }
        }
        Expect::Error { class, field } => {
            let error = answer.get("error").ok_or_else(|| {
                Failure::differs(format!("the answer is {}", shown(answer)), "an error")
            })?;
            if error["class"] != class.as_str() {
                return Err(Failure::differs(
                    format!("the error is {}", shown(error)),
                    format!("the class {class}"),
                ));
            }
            if let Some(field) = field {
                if error["field"] != field.as_str() {
                    return Err(Failure::differs(
                        format!("the error is {}", shown(error)),
                        format!("the field {field:?}"),
                    ));
                }
            }
        }
        Expect::Hex(hex) => {
            let got = answer["hex"].as_str().ok_or_else(unexpected_error)?;
            if got != hex {
                let at = got
                    .bytes()
                    .zip(hex.bytes())
                    .position(|(a, b)| a != b)
                    .unwrap_or(got.len().min(hex.len()));
                return Err(Failure::differs(
                    format!(
                        "the bytes differ from byte {} on ({} bytes given)",
                        at / 2,
                        got.len() / 2
                    ),
                    format!("{} bytes", hex.len() / 2),
                ));
            }
        }
        Expect::File {
            records,
            verdict,
            read_error,
        } => {
            let got = answer["records"].as_array().ok_or_else(unexpected_error)?;
            for (i, (value, expected)) in got.iter().zip(records).enumerate() {
                let bytes = record_bytes(value)
                    .map_err(|e| Failure::of_answer(format!("record {i} is not valid: {e}")))?;
                if &bytes != expected {
                    return Err(Failure::differs(
                        format!("record {i} differs: {}", shown(value)),
                        format!("a record encoding to {}", json::hex(expected)),
                    ));
                }
            }
            if got.len() != records.len() {
                return Err(Failure::differs(
                    format!("{} records", got.len()),
                    records.len().to_string(),
                ));
            }
            if &answer["verdict"] != verdict {
                return Err(Failure::differs(
                    format!("the verdict is {}", shown(&answer["verdict"])),
                    shown(verdict),
                ));
            }
            match answer.get("readError") {
                Some(got) if got == read_error => {}
                got => {
                    return Err(Failure::differs(
                        format!("the readError is {}", got.map_or("missing".into(), shown)),
                        shown(read_error),
                    ))
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(only: &[Selector]) -> (usize, Vec<String>) {
        let set = crate::vectors::vectors().expect("vectors");
        let selection = Selection {
            only: only.to_vec(),
            tc_ids: Vec::new(),
        };
        let cases = cases(&set, &selection).expect("cases");
        let mut groups: Vec<String> = cases.iter().map(|c| c.group.clone()).collect();
        groups.dedup();
        (cases.len(), groups)
    }

    #[test]
    fn a_version_selects_file_groups_and_keeps_record_groups() {
        let (_, groups) = count(&[Selector::V2]);
        assert!(groups.contains(&"files v2".to_owned()));
        assert!(groups.contains(&"records SET".to_owned()));
        assert!(groups.contains(&"invalid truncated".to_owned()));
        assert!(!groups.iter().any(|g| g == "files v1" || g == "files v3"));
    }

    #[test]
    fn a_refusal_is_asked_of_the_encoder_and_of_the_writer() {
        let set = crate::vectors::vectors().expect("vectors");
        let selection = Selection {
            only: vec![Selector::Refusals],
            tc_ids: Vec::new(),
        };
        let cases = cases(&set, &selection).expect("cases");
        assert!(!cases.is_empty());
        for pair in cases.chunks(2) {
            let [encode, write] = pair else {
                panic!("a refusal without its write case")
            };
            assert_eq!((encode.op, write.op), ("encode_record", "write_file"));
            assert_eq!(encode.tc_id, write.tc_id);
            assert_eq!(write.request["records"][0], encode.request["record"]);
            let refused = json!({"error": {"class": "out_of_domain"}});
            assert_eq!(judge(encode, &refused), judge(write, &refused));
        }
    }

    #[test]
    fn a_blind_failure_keeps_what_was_expected_out() {
        let set = crate::vectors::vectors().expect("vectors");
        let cases = cases(&set, &Selection::default()).expect("cases");
        let case = cases
            .iter()
            .find(|c| c.op == "read_file" && c.request["hex"] == "45414f4602")
            .expect("the empty version 2 file");
        let answer = json!({"records": [], "verdict": {"verdict": "torn_tail", "offset": 5, "cause": "zeros"}, "readError": null});
        let Outcome::Fail(failure) = judge(case, &answer) else {
            panic!("a wrong verdict passed")
        };
        assert!(failure.describe(false).contains(r#"{"verdict":"clean"}"#));
        let blind = failure.describe(true);
        assert!(
            blind.contains("torn_tail") && !blind.contains("clean"),
            "{blind}"
        );
    }

    #[test]
    fn types_and_versions_combine() {
        let (_, groups) = count(&[Selector::Files, Selector::V2]);
        assert_eq!(groups, vec!["files v2".to_owned()]);
        let (all, _) = count(&[]);
        let (parts, _) = count(&[Selector::Records, Selector::Invalid, Selector::Refusals]);
        let (files, _) = count(&[Selector::Files]);
        assert_eq!(all, parts + files);
    }
}
