//! The test vectors for ports: `fixtures/vectors.json`, in the style of Project Wycheproof.
//!
//! Guarantees: the set is pure data (no clock, no randomness: sealed vectors use the
//! published [`KEY`] and counting nonces), so generating it twice gives the same bytes.
//! Every expectation is computed by the reference code, never written by hand: valid records
//! by the codec, errors by [`RecordRef::decode`], file verdicts by the zero-copy
//! [`Scanner`]. Where a vector was built to show one thing (a class of error, a verdict), the
//! generator checks that the reference agrees and fails otherwise, so a vector cannot
//! silently come to test something else. Every record kind and every class of error and
//! damage appears (checked by [`coverage_gaps`]); every flag a test carries is explained in
//! the `notes`.
//!
//! The JSON shapes (verdicts, read errors) are the conformance protocol's answers too:
//! [`verdict_json`] and [`read_error_json`] are shared with `eaof conform`'s built-in
//! responder, which reads with the streaming reader rather than the [`Scanner`].

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::{json, Map, Value};
use thiserror::Error;

use eaof::codec::{DecodeError, EncodeError};
use eaof::encryption::{EncryptionKey, Sealer, NONCE_SIZE};
use eaof::format::{self, FormatError};
use eaof::limits::{COLLECTION_COUNT_MAX, FIELD_LEN_MAX, SEALED_LEN_MAX, VECTOR_DIMS_MAX};
use eaof::scanner::Scanner;
use eaof::{AofRecord, RecordKind, RecordRef, Verdict};

use crate::fixtures::{self, records_of, stem_of, GENERATED_BY};
use crate::json;
use crate::walk::{self, Node, Value as Field};

pub use crate::fixtures::KEY;

/// The file the vectors are written to, in the fixtures directory.
pub const FILE_NAME: &str = "vectors.json";

/// Version of the vectors' JSON shape; changes only when a reader of the file must change.
pub const SCHEMA_VERSION: u64 = 1;

/// A key that is not [`KEY`] (its bytes reversed), for the wrong-key vectors.
pub const WRONG_KEY: [u8; 32] = {
    let mut key = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        key[i] = 31 - i as u8;
        i += 1;
    }
    key
};

/// The classes of a request's record that a writer must not write (`encode_record`,
/// `write_file`): a value outside its domain, or JSON that is no record.
pub use crate::json::{BAD_REQUEST, OUT_OF_DOMAIN};

/// Group types, as the `type` of each test group.
pub const RECORD_TEST: &str = "RecordTest";
pub const INVALID_RECORD_TEST: &str = "InvalidRecordTest";
pub const RECORD_REFUSAL_TEST: &str = "RecordRefusalTest";
pub const FILE_TEST: &str = "FileTest";

/// Every class of a bare record's decode error, in the order of their groups (the order
/// fixes their `tcId` blocks: append, never insert).
pub const DECODE_CLASSES: [&str; 8] = [
    "truncated",
    "unknown_tag",
    "too_long",
    "invalid_utf8",
    "negative",
    "not_a_bool",
    "unknown_bitop",
    "trailing_bytes",
];

/// Every cause a file verdict can name (damage classes and the reasons a file is
/// unreadable).
pub const FILE_CAUSES: [&str; 17] = [
    "partial_header",
    "truncated",
    "zeros",
    "unknown_tag",
    "too_long",
    "too_short",
    "checksum_mismatch",
    "unauthenticated",
    "invalid_utf8",
    "negative",
    "not_a_bool",
    "unknown_bitop",
    "trailing_bytes",
    "version_mismatch",
    "invalid_magic",
    "unsupported_version",
    "encryption_required",
];

/// The flags tests carry, with a Wycheproof-style bug type and what the flag means.
pub const NOTES: &[(&str, &str, &str)] = &[
    // Record vectors: derived from the record's values.
    ("EmptyText", "EDGE_CASE", "A text field is empty (length 0)."),
    ("NonAsciiText", "EDGE_CASE", "A text field holds characters outside ASCII (multi-byte UTF-8, a combining accent, NUL)."),
    ("EmptyBytes", "EDGE_CASE", "A bytes field is empty (length 0)."),
    ("NonUtf8Bytes", "EDGE_CASE", "A bytes field is not valid UTF-8 (NUL, 0xff, a lone continuation byte): bytes fields take any bytes, and their JSON has no `text`."),
    ("LongValue", "EDGE_CASE", "A bytes field longer than 255 bytes: the second byte of its u32 length is not zero."),
    ("EmptyList", "EDGE_CASE", "A list with no items (count 0)."),
    ("ExtremeInteger", "EDGE_CASE", "An integer at the end of its range: i64::MIN or i64::MAX, u32::MAX, or u8 255."),
    ("NegativeInteger", "EDGE_CASE", "A negative value in a signed i64 field (valid there, unlike in an i64 >= 0 field)."),
    ("NegativeZero", "EDGE_CASE", "A float is -0.0: its sign bit must survive decoding and encoding."),
    ("Infinity", "EDGE_CASE", "A float is +inf or -inf."),
    ("NaN", "EDGE_CASE", "A float is a NaN; the JSON `bits` carry its exact pattern."),
    ("NaNPayload", "EDGE_CASE", "A NaN other than the canonical quiet NaN (a signalling NaN, the sign bit set): the bit pattern must be kept exactly, not canonicalised."),
    ("Subnormal", "EDGE_CASE", "A float is subnormal."),
    // Invalid records.
    ("EmptyInput", "EDGE_CASE", "No bytes at all: even the tag is missing."),
    ("FieldBoundary", "BASIC", "The bytes end exactly where a field (or a length or count prefix) would start."),
    ("MidField", "BASIC", "The bytes end inside a field or inside its length or count prefix."),
    ("LimitBeforeData", "EDGE_CASE", "A length or count is over its limit and the bytes it promises are missing: the limit is checked first, so the error is too_long, not truncated."),
    ("AtLimit", "EDGE_CASE", "A length or count exactly at its limit is allowed: the error is that the bytes are missing (truncated), not too_long."),
    ("KindLimit", "EDGE_CASE", "A list with its own limit (VADD's vector: at most 65536 components), lower than the general count limit."),
    ("Utf8Overlong", "EDGE_CASE", "An overlong UTF-8 encoding (such as C0 80 for NUL): invalid."),
    ("Utf8Surrogate", "EDGE_CASE", "A UTF-8-encoded UTF-16 surrogate (ED A0 80): invalid."),
    ("Utf8OutOfRange", "EDGE_CASE", "A code point above U+10FFFF, or a 5-byte sequence: invalid."),
    ("Utf8Incomplete", "EDGE_CASE", "A multi-byte UTF-8 sequence cut by the end of the field, or a lone continuation byte: invalid."),
    ("InListItem", "BASIC", "The bad value is inside a list item, not the first field."),
    ("FirstFailureWins", "FUNCTIONALITY", "The bytes break more than one rule: fields are checked in order, and the first failure is the error."),
    ("FramedRecord", "FUNCTIONALITY", "A record followed by its CRC32: a bare record has no checksum, so the CRC is 4 trailing bytes."),
    // Refusals.
    ("OutOfDomain", "BASIC", "A value outside its field's domain: a writer must refuse the record before writing anything."),
    ("UnsignedOverflow", "EDGE_CASE", "An i64 >= 0 field given 2^63 or more: the value cannot be stored (clamping it would change the record)."),
    ("NotARecord", "BASIC", "JSON that does not have the shape of a record (a value of the wrong JSON type, such as a number for a bool or a number for a float's `value`; a number that is not an integer literal; a reading aid that disagrees with the value): the class is bad_request, not out_of_domain, which is for a value of the right shape outside its field's domain."),
    ("TextAsHex", "EDGE_CASE", "A text field given in the hex form of requests ({\"hex\": ...}, docs/FORMAT.md section 9.1), the one way a request carries text that is not UTF-8: valid UTF-8 is the same text; anything else a writer must refuse."),
    // Files.
    ("EmptyBody", "EDGE_CASE", "A header and no records."),
    ("EveryKind", "BASIC", "Every record kind, interleaved (the golden mixed file's records)."),
    ("Version1", "LEGACY", "A version 1 header: read exactly like version 2; no writer produces it any more."),
    ("KeyIgnored", "FUNCTIONALITY", "A key is given for a plaintext file: the file reads as plaintext."),
    ("PartialHeader", "CRASH", "A header torn by a crash while the file was being created: a torn tail at 0 (a writer rewrites the header)."),
    ("NotEaof", "BASIC", "The file does not start with the magic EAOF: unreadable."),
    ("UnsupportedVersion", "BASIC", "The version byte is not 1, 2 or 3: unreadable."),
    ("NoKey", "BASIC", "A version 3 file read without a key: unreadable."),
    ("WrongKey", "BASIC", "A version 3 file read with a key under which no record authenticates: unreadable, never cut."),
    ("WrongKeyUndetectable", "EDGE_CASE", "A wrong key on a file with no record: nothing tells it apart from the right key, so the file is clean."),
    ("Truncation", "CRASH", "The file is cut at a byte after its header, as a crash during an append leaves it: the records wholly before the cut, then a torn tail (or a clean end at a record boundary)."),
    ("ZeroFill", "CRASH", "The file ends in zero bytes (it grew before its data landed): a torn tail of class zeros."),
    ("Garbage", "CRASH", "The file ends in bytes that are no record."),
    ("FailedLastRecord", "FUNCTIONALITY", "The last record is complete but fails its check: read_record must report it, and the verdict is still a torn tail (a writer cuts it)."),
    ("Corruption", "BASIC", "Damage with an intact record after it: corrupt, a writer refuses the file, read_record reports an error."),
    ("AnyOffset", "EDGE_CASE", "The intact record after the damage starts inside the damaged record's bytes: intact records are searched at every byte after the damage, not where the damaged record would have ended."),
    ("OutOfDomainRecord", "FUNCTIONALITY", "A record whose check holds but whose field is outside its domain: not intact."),
    ("CheckOrder", "FUNCTIONALITY", "The record breaks more than one rule: completeness, then the check (CRC or GCM), then the domains decide the class."),
    ("AppendAfterTornTail", "KNOWN_BUG", "A torn record followed by an intact one: what ember 0.4.9's writer leaves when it appends after a torn tail without cutting it."),
    ("BitFlip", "MODIFIED_INPUT", "One bit of a valid file is flipped: never a silent clean read."),
    ("VersionByteDamaged", "MODIFIED_INPUT", "The header's version byte says one framing and an intact record of the other lies in the body (a plaintext record whose CRC holds, or a sealed record that authenticates under the key given): corruption at 5 (version_mismatch), never a torn tail to cut."),
    ("SealingUnproven", "CRASH", "A version 1 or 2 header over bytes that read as sealed frames, with no key or a wrong one: no record authenticates, and a crash can leave any bytes behind a plaintext file (record bytes, then stale blocks), so this is not evidence of a damaged version byte: ordinary damage, here a torn tail."),
    ("NotAVersionMismatch", "EDGE_CASE", "Bytes that look like sealed frames but are not (a GCM tag of zeros, a broken chain): judged as ordinary damage."),
    ("SealedFraming", "BASIC", "Damage to a sealed record's frame (its length) rather than to its ciphertext."),
    ("SealedPlaintext", "FUNCTIONALITY", "A sealed record that authenticates but whose plaintext is not exactly one valid record."),
    ("VersionBeforeWrongKey", "FUNCTIONALITY", "A version 3 header over plaintext records whose first bytes also form a whole sealed frame that does not authenticate: the version byte rule comes before the wrong-key rule, so the file is corrupt at 5 (version_mismatch, read error corrupt), not unreadable (wrong_key)."),
    ("EvidenceMustBeIntact", "FUNCTIONALITY", "Under a version 1 or 2 header read with the key, a sealed record authenticates but its plaintext is not exactly one valid record: only an intact record of the other framing is evidence of a damaged version byte, so this is ordinary damage."),
    ("EvidenceAtAnyOffset", "FUNCTIONALITY", "The intact record of the other framing that shows a damaged version byte is not at offset 5 (the first one is damaged): evidence is looked for at every offset from 5, and nextIntact is the first intact one."),
];

/// Why the vectors could not be built: the reference disagrees with what a vector was built
/// to show, or a value cannot be encoded. Either is a bug to fix, not to paper over.
#[derive(Debug, Error)]
pub enum VectorError {
    #[error("vector {tc_id} ({comment}): {why}")]
    Disagrees {
        tc_id: u64,
        comment: String,
        why: String,
    },
    #[error("vector {comment}: {source}")]
    Encode {
        comment: String,
        source: EncodeError,
    },
    #[error("flag {0:?} has no note")]
    UnknownFlag(String),
}

/// The whole vector set as JSON.
pub fn vectors() -> Result<Value, VectorError> {
    let mut groups = record_groups()?;
    groups.extend(invalid_record_groups()?);
    groups.push(refusal_group()?);
    for version in [1, 2, 3] {
        groups.push(file_group(version)?);
    }
    let mut used = BTreeSet::new();
    let mut count = 0;
    for group in &groups {
        for test in group["tests"].as_array().into_iter().flatten() {
            count += 1;
            for flag in test["flags"].as_array().into_iter().flatten() {
                let flag = flag.as_str().unwrap_or_default();
                if !NOTES.iter().any(|(name, ..)| *name == flag) {
                    return Err(VectorError::UnknownFlag(flag.to_owned()));
                }
                used.insert(flag.to_owned());
            }
        }
    }
    let notes: Map<String, Value> = NOTES
        .iter()
        .map(|(name, bug_type, description)| {
            (
                (*name).to_owned(),
                json!({"bugType": bug_type, "description": description}),
            )
        })
        .collect();
    Ok(json!({
        "algorithm": "EAOF",
        "schema": "eaof_vectors_v1",
        "schemaVersion": SCHEMA_VERSION,
        "generatorVersion": GENERATED_BY,
        "numberOfTests": count,
        "header": HEADER,
        "notes": notes,
        "testGroups": groups,
    }))
}

const HEADER: &[&str] = &[
    "Test vectors of the EAOF append-only file format (docs/FORMAT.md, section 9).",
    "Generated by `eaof vectors` from the reference implementation; never edit by hand.",
    "RecordTest: `hex` (tag + payload, no checksum) decodes to `record` and `record` encodes to `hex`.",
    "InvalidRecordTest: `hex` does not decode; `error` is the class and the field that fails first.",
    "RecordRefusalTest: a writer must refuse `record`, with `error.class` out_of_domain (a value outside its field's domain) or bad_request (JSON that is no record), both to encode it and to write a file holding it.",
    "FileTest: `hex` is a whole file, read with `key` (hex, or null); `records` are the records read before the end or the damage, `verdict` the verdict, `readError` what read_record reports (null: reading ends without error).",
    "result: valid (a clean record or file), acceptable (a file damaged only in its tail that reads without error: a writer cuts the tail), invalid (an error must be reported).",
    "Version 3 vectors use the published key 000102...1f unless a test gives another. Their nonces are not random: `EAOV` then a little-endian 64-bit counter, each group counting in its own block so that no nonce repeats (the golden files in fixtures/v3/ use other nonces: `EAO`, one byte numbering the file, then the record's index; see fixtures/README.md). A clean file's nonces are listed in its `nonces`.",
    "Records are the lossless JSON of docs/FORMAT.md section 9: compare them by the bytes they encode to, not as text.",
];

/// The vectors as the text of `fixtures/vectors.json`: the top levels expanded, one test a
/// line (so that a diff shows which tests changed), ending with a newline.
pub fn vectors_text(value: &Value) -> String {
    let mut out = String::new();
    write_expanded(value, 0, 4, &mut out);
    out.push('\n');
    out
}

fn write_expanded(value: &Value, indent: usize, levels: usize, out: &mut String) {
    let compact = |v: &Value| serde_json::to_string(v).unwrap_or_default();
    let pad = |n: usize| " ".repeat(n);
    match value {
        Value::Object(map) if levels > 0 && !map.is_empty() => {
            out.push_str("{\n");
            for (i, (key, item)) in map.iter().enumerate() {
                let _ = write!(
                    out,
                    "{}{}: ",
                    pad(indent + 2),
                    compact(&key.as_str().into())
                );
                write_expanded(item, indent + 2, levels - 1, out);
                out.push_str(if i + 1 < map.len() { ",\n" } else { "\n" });
            }
            let _ = write!(out, "{}}}", pad(indent));
        }
        Value::Array(items) if levels > 0 && !items.is_empty() => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                out.push_str(&pad(indent + 2));
                write_expanded(item, indent + 2, levels - 1, out);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            let _ = write!(out, "{}]", pad(indent));
        }
        other => out.push_str(&compact(other)),
    }
}

// ---------------------------------------------------------------------------------------
// The shapes shared with the conformance protocol.

/// A verdict as JSON: `{"verdict": "clean"}`, `{"verdict": "torn_tail", "offset", "cause"}`,
/// `{"verdict": "corrupt", "offset", "nextIntact", "cause"}`, or, for a sealed file none of
/// whose records authenticates, `{"verdict": "unreadable", "cause": "wrong_key"}`.
pub fn verdict_json(verdict: &Verdict) -> Value {
    match verdict {
        Verdict::Clean { .. } => json!({"verdict": "clean"}),
        v if v.is_wrong_key() => unreadable("wrong_key"),
        Verdict::TornTail { offset, cause, .. } => {
            json!({"verdict": "torn_tail", "offset": offset, "cause": cause.class()})
        }
        Verdict::Corrupt {
            offset,
            next_intact,
            cause,
            ..
        } => json!({
            "verdict": "corrupt",
            "offset": offset,
            "nextIntact": next_intact,
            "cause": cause.class(),
        }),
    }
}

/// The verdict of a file that cannot be read at all.
pub fn unreadable(cause: &str) -> Value {
    json!({"verdict": "unreadable", "cause": cause})
}

/// The class of an error opening a file (before any record), if it is one.
pub fn open_error_class(error: &FormatError) -> Option<&'static str> {
    match error {
        FormatError::InvalidMagic => Some("invalid_magic"),
        FormatError::UnsupportedVersion(_) => Some("unsupported_version"),
        FormatError::EncryptionRequired => Some("encryption_required"),
        _ => None,
    }
}

/// What `read_record` reported, as JSON `{"class", "offset"}`: `offset` is the file offset
/// of the failing record (null for an error opening the file). `verdict` is how reading
/// ended; it gives the offset of a record that did not authenticate. `None` for an error
/// that is no verdict of the file's bytes (I/O).
pub fn read_error_json(error: &FormatError, verdict: Option<&Verdict>) -> Option<Value> {
    let (class, offset) = match error {
        FormatError::ChecksumMismatch { offset, .. } => ("checksum_mismatch", Some(*offset)),
        FormatError::Decode { offset, error } => (error.problem.class(), Some(*offset)),
        FormatError::Corrupt { offset, .. } => ("corrupt", Some(*offset)),
        FormatError::DecryptionFailed => ("unauthenticated", verdict.map(Verdict::intact_end)),
        other => (open_error_class(other)?, None),
    };
    Some(json!({"class": class, "offset": offset}))
}

/// A record's JSON, for records read from a file.
fn record_json(record: &RecordRef<'_>) -> Value {
    json::record_to_json(&record.to_record()).unwrap_or(Value::Null)
}

// ---------------------------------------------------------------------------------------
// Record vectors.

fn tc(tc_id: u64, comment: &str, flags: &[&str]) -> Map<String, Value> {
    let mut test = Map::new();
    test.insert("tcId".into(), tc_id.into());
    test.insert("comment".into(), comment.into());
    test.insert("flags".into(), json!(flags));
    test
}

fn encode(record: &AofRecord, comment: &str) -> Result<Vec<u8>, VectorError> {
    let mut bytes = Vec::new();
    record
        .encode_into(&mut bytes)
        .map_err(|source| VectorError::Encode {
            comment: comment.to_owned(),
            source,
        })?;
    Ok(bytes)
}

/// One group per record kind: each golden fixture record, its bytes and its JSON, then the
/// kind's records in the request-only forms of [`request_form_records`] (appended, so that
/// ids stay stable). `tcId` = tag × 100 + the record's index (from 1).
fn record_groups() -> Result<Vec<Value>, VectorError> {
    let mut groups = Vec::new();
    let extras = request_form_records();
    for &kind in RecordKind::ALL {
        let records = records_of(kind);
        let mut all = Vec::new();
        for (i, record) in records.iter().enumerate() {
            let comment = format!(
                "{} record {} of {} of the golden fixture {}.aof",
                kind.name(),
                i + 1,
                records.len(),
                stem_of(kind)
            );
            let bytes = encode(record, &comment)?;
            all.push(RecordVector {
                comment,
                flags: Vec::new(),
                bytes,
                given: None,
            });
        }
        for (comment, flags, value) in extras.iter().filter(|(_, _, v)| v["kind"] == kind.name()) {
            let bytes = json::record_from_json(value)
                .ok()
                .and_then(|r| r.to_bytes().ok())
                .ok_or_else(|| VectorError::Disagrees {
                    tc_id: 0,
                    comment: (*comment).to_owned(),
                    why: "the reference does not accept the record".into(),
                })?;
            all.push(RecordVector {
                comment: (*comment).to_owned(),
                flags: flags.to_vec(),
                bytes,
                given: Some(value.clone()),
            });
        }
        let mut tests = Vec::new();
        for (i, vector) in all.into_iter().enumerate() {
            let RecordVector {
                comment,
                flags: extra_flags,
                bytes,
                given,
            } = vector;
            let tc_id = u64::from(kind.tag()) * 100 + i as u64 + 1;
            if i >= 99 {
                return Err(VectorError::Disagrees {
                    tc_id,
                    comment: kind.name().into(),
                    why: "more than 99 records of one kind: their tcId block is full".into(),
                });
            }
            let disagrees = |why: String| VectorError::Disagrees {
                tc_id,
                comment: comment.clone(),
                why,
            };
            let mut flags = record_flags(&bytes).map_err(|e| disagrees(e.to_string()))?;
            flags.extend(extra_flags);
            let record_json = match given {
                Some(value) => value,
                None => json::bytes_to_json(&bytes).map_err(|e| disagrees(e.to_string()))?,
            };
            let mut test = tc(tc_id, &comment, &flags);
            test.insert("hex".into(), json::hex(&bytes).into());
            test.insert("record".into(), record_json);
            test.insert("result".into(), "valid".into());
            tests.push(Value::Object(test));
        }
        groups.push(json!({
            "type": RECORD_TEST,
            "kind": kind.name(),
            "tag": kind.tag(),
            "comment": kind.summary(),
            "tests": tests,
        }));
    }
    Ok(groups)
}

/// A record vector before its id.
struct RecordVector {
    comment: String,
    /// Flags beyond those the record's values earn.
    flags: Vec<&'static str>,
    bytes: Vec<u8>,
    /// The record's JSON when it is not the canonical one (a request-only form).
    given: Option<Value>,
}

/// Valid records written in forms only requests use (the hex form of a text field): a
/// writer must accept them as the same records (docs/FORMAT.md §9.1).
#[rustfmt::skip]
fn request_form_records() -> Vec<(&'static str, &'static [&'static str], Value)> {
    vec![
        ("DEL whose key is given in the hex form (6b6579, the text key)", &["TextAsHex"], json!({"kind": "DEL", "key": {"hex": "6b6579"}})),
        ("ZREM whose second member is given in the hex form with its text (e282ac, the euro sign)", &["TextAsHex"], json!({"kind": "ZREM", "key": "z", "members": ["a", {"hex": "e282ac", "text": "\u{20ac}"}]})),
    ]
}

/// The flags a valid record earns by its values.
fn record_flags(bytes: &[u8]) -> Result<Vec<&'static str>, DecodeError> {
    let walked = walk::walk(bytes)?;
    let mut flags = BTreeSet::new();
    for (_, node) in &walked.fields {
        node_flags(node, &mut flags);
    }
    Ok(flags.into_iter().collect())
}

fn node_flags(node: &Node<'_>, flags: &mut BTreeSet<&'static str>) {
    match &node.value {
        Field::Text(text) => {
            if text.is_empty() {
                flags.insert("EmptyText");
            }
            if !text.is_ascii() || text.contains('\0') {
                flags.insert("NonAsciiText");
            }
        }
        Field::Bytes(bytes) => {
            if bytes.is_empty() {
                flags.insert("EmptyBytes");
            }
            if std::str::from_utf8(bytes).is_err() {
                flags.insert("NonUtf8Bytes");
            }
            if bytes.len() > 255 {
                flags.insert("LongValue");
            }
        }
        Field::Int(v) => {
            if *v == i64::MIN || *v == i64::MAX {
                flags.insert("ExtremeInteger");
            }
            if *v < 0 {
                flags.insert("NegativeInteger");
            }
        }
        Field::U32(v) if *v == u32::MAX => {
            flags.insert("ExtremeInteger");
        }
        Field::U8(255) => {
            flags.insert("ExtremeInteger");
        }
        Field::F64(v) => float_flags(
            v.classify(),
            v.is_sign_negative(),
            *v == 0.0,
            || v.to_bits() != f64::NAN.to_bits(),
            flags,
        ),
        Field::F32(v) => float_flags(
            v.classify(),
            v.is_sign_negative(),
            *v == 0.0,
            || v.to_bits() != f32::NAN.to_bits(),
            flags,
        ),
        Field::List(items) => {
            if items.is_empty() {
                flags.insert("EmptyList");
            }
            for part in items.iter().flatten() {
                node_flags(part, flags);
            }
        }
        Field::U32(_) | Field::U8(_) | Field::Bool(_) | Field::BitOp(_) => {}
    }
}

fn float_flags(
    class: std::num::FpCategory,
    negative: bool,
    zero: bool,
    payload: impl Fn() -> bool,
    flags: &mut BTreeSet<&'static str>,
) {
    use std::num::FpCategory as C;
    match class {
        C::Zero if zero && negative => {
            flags.insert("NegativeZero");
        }
        C::Infinite => {
            flags.insert("Infinity");
        }
        C::Nan => {
            flags.insert("NaN");
            if payload() {
                flags.insert("NaNPayload");
            }
        }
        C::Subnormal => {
            flags.insert("Subnormal");
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// Invalid records.

/// Builds a record's bytes field by field.
#[derive(Debug, Clone, Default)]
struct Rec(Vec<u8>);

impl Rec {
    fn tag(tag: u8) -> Self {
        Rec(vec![tag])
    }
    fn raw(mut self, bytes: &[u8]) -> Self {
        self.0.extend_from_slice(bytes);
        self
    }
    fn u32(self, v: u32) -> Self {
        self.raw(&v.to_le_bytes())
    }
    fn i64(self, v: i64) -> Self {
        self.raw(&v.to_le_bytes())
    }
    fn u8(self, v: u8) -> Self {
        self.raw(&[v])
    }
    /// A text or bytes field: length, then the bytes.
    fn field(self, bytes: &[u8]) -> Self {
        self.u32(bytes.len() as u32).raw(bytes)
    }
    fn text(self, text: &str) -> Self {
        self.field(text.as_bytes())
    }
}

struct Invalid {
    class: &'static str,
    comment: String,
    flags: Vec<&'static str>,
    bytes: Vec<u8>,
}

fn invalid(
    class: &'static str,
    comment: impl Into<String>,
    flags: &[&'static str],
    rec: Rec,
) -> Invalid {
    Invalid {
        class,
        comment: comment.into(),
        flags: flags.to_vec(),
        bytes: rec.0,
    }
}

const SET: u8 = 1;
const DEL: u8 = 2;
const EXPIRE: u8 = 3;
const LPUSH: u8 = 4;
const ZADD: u8 = 8;
const ZREM: u8 = 9;
const PEXPIRE: u8 = 11;
const INCR: u8 = 12;
const HSET: u8 = 14;
const RENAME: u8 = 22;
const PROTO_SET: u8 = 23;
const VADD: u8 = 25;
const COPY: u8 = 27;
const LINSERT: u8 = 30;
const SETRANGE: u8 = 32;
const SETBIT: u8 = 33;
const BITOP: u8 = 34;
const PEXPIREAT: u8 = 35;

/// One group per decode class. `tcId` = 10000 + 1000 × the class's index in
/// [`DECODE_CLASSES`] + the vector's index (from 1).
fn invalid_record_groups() -> Result<Vec<Value>, VectorError> {
    let mut all = truncations()?;
    all.extend(hand_made_invalid_records());
    let mut groups = Vec::new();
    for (index, class) in DECODE_CLASSES.iter().enumerate() {
        let mut tests = Vec::new();
        for (i, vector) in all.iter().filter(|v| v.class == *class).enumerate() {
            let tc_id = 10_000 + 1_000 * index as u64 + i as u64 + 1;
            if i >= 999 {
                return Err(VectorError::Disagrees {
                    tc_id,
                    comment: vector.comment.clone(),
                    why: "more than 999 vectors of one class: their tcId block is full".into(),
                });
            }
            let disagrees = |why: String| VectorError::Disagrees {
                tc_id,
                comment: vector.comment.clone(),
                why,
            };
            let error = match RecordRef::decode(&vector.bytes) {
                Ok(_) => return Err(disagrees("decodes".into())),
                Err(e) => e,
            };
            if error.problem.class() != *class {
                return Err(disagrees(format!("the codec says {error}")));
            }
            let mut test = tc(tc_id, &vector.comment, &vector.flags);
            test.insert("hex".into(), json::hex(&vector.bytes).into());
            test.insert(
                "error".into(),
                json!({"class": class, "field": error.field}),
            );
            test.insert("result".into(), "invalid".into());
            tests.push(Value::Object(test));
        }
        groups.push(json!({
            "type": INVALID_RECORD_TEST,
            "class": class,
            "comment": class_comment(class),
            "tests": tests,
        }));
    }
    Ok(groups)
}

fn class_comment(class: &str) -> &'static str {
    match class {
        "truncated" => "The bytes end before the record does.",
        "unknown_tag" => "The first byte is not the tag of any record kind.",
        "too_long" => "A length or count is over its limit.",
        "invalid_utf8" => "A text field is not valid UTF-8.",
        "negative" => "An i64 >= 0 field is negative.",
        "not_a_bool" => "A bool field is neither 0 nor 1.",
        "unknown_bitop" => "A BITOP operation byte is over 3.",
        "trailing_bytes" => "Bytes remain after the record's last field.",
        _ => "",
    }
}

/// For every kind, one of its fixture records cut short: at 0 bytes, at each field's start,
/// one byte into each field and prefix, and one byte before each field's end.
fn truncations() -> Result<Vec<Invalid>, VectorError> {
    let mut out = Vec::new();
    for &kind in RecordKind::ALL {
        // The richest short record: the longest under 64 bytes (or the shortest if none).
        let mut encoded = Vec::new();
        for record in records_of(kind) {
            encoded.push(encode(&record, kind.name())?);
        }
        encoded.sort_by_key(Vec::len);
        let Some(bytes) = encoded
            .iter()
            .rev()
            .find(|b| b.len() <= 64)
            .or(encoded.first())
            .cloned()
        else {
            continue;
        };
        let walked = walk::walk(&bytes).map_err(|e| VectorError::Disagrees {
            tc_id: 0,
            comment: kind.name().into(),
            why: e.to_string(),
        })?;
        let mut boundaries = BTreeSet::from([1usize]);
        let mut inside = BTreeSet::new();
        for (_, node) in &walked.fields {
            spans(node, &mut boundaries, &mut inside);
        }
        let mut cuts: BTreeSet<(usize, bool)> = BTreeSet::from([(0, true)]);
        cuts.extend(boundaries.iter().map(|&c| (c, true)));
        cuts.extend(inside.difference(&boundaries).map(|&c| (c, false)));
        for (cut, at_boundary) in cuts {
            if cut >= bytes.len() {
                continue;
            }
            let flags: &[&str] = match (cut, at_boundary) {
                (0, _) => &["EmptyInput"],
                (_, true) => &["FieldBoundary"],
                (_, false) => &["MidField"],
            };
            out.push(Invalid {
                class: "truncated",
                comment: format!(
                    "{} ({} bytes) cut to its first {cut} bytes",
                    kind.name(),
                    bytes.len()
                ),
                flags: flags.to_vec(),
                bytes: bytes[..cut].to_vec(),
            });
        }
    }
    Ok(out)
}

/// Collects the start of every field, prefix and list item (`boundaries`) and the offsets
/// one byte inside and one byte before the end of each (`inside`).
fn spans(node: &Node<'_>, boundaries: &mut BTreeSet<usize>, inside: &mut BTreeSet<usize>) {
    let mut span = |range: &std::ops::Range<usize>| {
        boundaries.insert(range.start);
        if range.len() > 1 {
            inside.insert(range.start + 1);
            inside.insert(range.end - 1);
        }
    };
    if let Some(prefix) = &node.prefix {
        span(prefix);
    }
    span(&node.body);
    if let Field::List(items) = &node.value {
        for part in items.iter().flatten() {
            spans(part, boundaries, inside);
        }
    }
}

#[rustfmt::skip] // a data table: one vector a line reads better than rustfmt's layout
fn hand_made_invalid_records() -> Vec<Invalid> {
    let del_a = || Rec::tag(DEL).text("a");
    let set = || Rec::tag(SET).text("greeting").field(b"hello").i64(-1);
    let set_crc = {
        let bytes = set().0;
        let crc = format::crc32(&bytes);
        set().raw(&crc.to_le_bytes())
    };
    let bad_text = |name: &str, raw: &[u8], flag: &'static str| {
        invalid("invalid_utf8", format!("DEL key {name}"), &[flag], Rec::tag(DEL).field(raw))
    };
    vec![
        // Structural: the record's extent cannot be known.
        invalid("unknown_tag", "tag 0 alone", &[], Rec::tag(0)),
        invalid("unknown_tag", "tag 36, one past the last kind (PEXPIREAT, 35)", &[], Rec::tag(36)),
        invalid("unknown_tag", "tag 255", &[], Rec::tag(255)),
        invalid("unknown_tag", "tag 0 followed by a SET payload", &[], Rec::tag(0).text("greeting").field(b"hello").i64(-1)),
        invalid("unknown_tag", "tag 36 followed by a DEL payload", &[], Rec::tag(36).text("a")),
        invalid("unknown_tag", "tag 0x80 (a bit flip of tag 0)", &[], Rec::tag(0x80).text("a")),
        invalid("too_long", "SET key length 512 MiB + 1, then 4 bytes", &["LimitBeforeData"], Rec::tag(SET).u32(FIELD_LEN_MAX + 1).raw(b"abcd")),
        invalid("too_long", "SET value length u32::MAX", &["LimitBeforeData"], Rec::tag(SET).text("k").u32(u32::MAX).raw(b"v")),
        invalid("too_long", "LPUSH count 100000001", &["LimitBeforeData"], Rec::tag(LPUSH).text("q").u32(COLLECTION_COUNT_MAX + 1).field(b"x")),
        invalid("too_long", "HSET count u32::MAX", &["LimitBeforeData"], Rec::tag(HSET).text("h").u32(u32::MAX)),
        invalid("too_long", "VADD vector of 65537 components", &["LimitBeforeData", "KindLimit"], Rec::tag(VADD).text("v").text("e").u32(VECTOR_DIMS_MAX + 1).raw(&1.0f32.to_le_bytes())),
        invalid("too_long", "ZADD member length 512 MiB + 1 in the second item", &["LimitBeforeData", "InListItem"], Rec::tag(ZADD).text("z").u32(2).raw(&1.0f64.to_le_bytes()).text("a").raw(&2.0f64.to_le_bytes()).u32(FIELD_LEN_MAX + 1)),
        invalid("too_long", "BITOP key count 100000001", &["LimitBeforeData"], Rec::tag(BITOP).u8(0).text("d").u32(COLLECTION_COUNT_MAX + 1)),
        invalid("truncated", "SET key length exactly 512 MiB, then 4 bytes", &["AtLimit"], Rec::tag(SET).u32(FIELD_LEN_MAX).raw(b"abcd")),
        invalid("truncated", "VADD vector of exactly 65536 components, none present", &["AtLimit", "KindLimit"], Rec::tag(VADD).text("v").text("e").u32(VECTOR_DIMS_MAX)),
        invalid("truncated", "LPUSH count exactly 100000000, one item present", &["AtLimit"], Rec::tag(LPUSH).text("q").u32(COLLECTION_COUNT_MAX).field(b"x")),
        // Domains.
        bad_text("0xff", &[0xff], "Utf8Incomplete"),
        bad_text("a lone continuation byte 0x80", &[b'a', 0x80], "Utf8Incomplete"),
        bad_text("C0 80 (overlong NUL)", &[0xc0, 0x80], "Utf8Overlong"),
        bad_text("E0 80 80 (overlong)", &[0xe0, 0x80, 0x80], "Utf8Overlong"),
        bad_text("ED A0 80 (a surrogate)", &[0xed, 0xa0, 0x80], "Utf8Surrogate"),
        bad_text("F4 90 80 80 (above U+10FFFF)", &[0xf4, 0x90, 0x80, 0x80], "Utf8OutOfRange"),
        bad_text("F8 88 80 80 80 (a 5-byte sequence)", &[0xf8, 0x88, 0x80, 0x80, 0x80], "Utf8OutOfRange"),
        bad_text("E2 82 (a 3-byte sequence cut short)", &[b'x', 0xe2, 0x82], "Utf8Incomplete"),
        invalid("invalid_utf8", "ZREM second member 0xff", &["InListItem", "Utf8Incomplete"], Rec::tag(ZREM).text("z").u32(2).text("ok").field(&[0xff])),
        invalid("invalid_utf8", "ZADD member 0xc3 (cut)", &["InListItem", "Utf8Incomplete"], Rec::tag(ZADD).text("z").u32(1).raw(&1.0f64.to_le_bytes()).field(&[0xc3])),
        invalid("invalid_utf8", "HSET field ED A0 80", &["InListItem", "Utf8Surrogate"], Rec::tag(HSET).text("h").u32(1).field(&[0xed, 0xa0, 0x80]).field(b"v")),
        invalid("invalid_utf8", "BITOP source key 0xfe", &["InListItem", "Utf8Incomplete"], Rec::tag(BITOP).u8(0).text("d").u32(1).field(&[0xfe])),
        invalid("invalid_utf8", "RENAME newkey C0 AF", &["Utf8Overlong"], Rec::tag(RENAME).text("a").field(&[0xc0, 0xaf])),
        invalid("invalid_utf8", "PROTO.SET type_name 0xff", &["Utf8Incomplete"], Rec::tag(PROTO_SET).text("k").field(&[0xff]).field(b"").i64(-1)),
        invalid("invalid_utf8", "VADD element 0x80", &["Utf8Incomplete"], Rec::tag(VADD).text("v").field(&[0x80]).u32(0).u8(0).u8(0).u32(0).u32(0)),
        invalid("invalid_utf8", "RENAME key 0xff, then the record ends early", &["FirstFailureWins", "Utf8Incomplete"], Rec::tag(RENAME).field(&[0xff])),
        invalid("invalid_utf8", "HDEL key 0xff, then a count over its limit", &["FirstFailureWins", "Utf8Incomplete"], Rec::tag(15).field(&[0xff]).u32(u32::MAX)),
        invalid("negative", "EXPIRE seconds -1", &[], Rec::tag(EXPIRE).text("k").i64(-1)),
        invalid("negative", "EXPIRE seconds i64::MIN", &[], Rec::tag(EXPIRE).text("k").i64(i64::MIN)),
        invalid("negative", "PEXPIRE milliseconds -1", &[], Rec::tag(PEXPIRE).text("k").i64(-1)),
        invalid("negative", "SETRANGE offset -1", &[], Rec::tag(SETRANGE).text("k").i64(-1).field(b"v")),
        invalid("negative", "SETBIT offset i64::MIN", &[], Rec::tag(SETBIT).text("k").i64(i64::MIN).u8(1)),
        invalid("negative", "PEXPIREAT timestamp_ms -1", &[], Rec::tag(PEXPIREAT).text("k").i64(-1)),
        invalid("negative", "EXPIRE seconds -1, then a trailing byte", &["FirstFailureWins"], Rec::tag(EXPIRE).text("k").i64(-1).u8(0)),
        invalid("not_a_bool", "COPY replace 2", &[], Rec::tag(COPY).text("a").text("b").u8(2)),
        invalid("not_a_bool", "COPY replace 0xff", &[], Rec::tag(COPY).text("a").text("b").u8(0xff)),
        invalid("not_a_bool", "LINSERT before 2", &[], Rec::tag(LINSERT).text("q").u8(2).field(b"p").field(b"v")),
        invalid("not_a_bool", "LINSERT before 0x80, then the record ends early", &["FirstFailureWins"], Rec::tag(LINSERT).text("q").u8(0x80).field(b"p")),
        invalid("unknown_bitop", "BITOP op 4", &[], Rec::tag(BITOP).u8(4).text("d").u32(1).text("a")),
        invalid("unknown_bitop", "BITOP op 0x80", &[], Rec::tag(BITOP).u8(0x80).text("d").u32(0)),
        invalid("unknown_bitop", "BITOP op 0xff", &[], Rec::tag(BITOP).u8(0xff).text("d").u32(0)),
        invalid("trailing_bytes", "DEL a, then a zero byte", &[], del_a().u8(0)),
        invalid("trailing_bytes", "DEL a, then INCR b: two records", &[], del_a().raw(&Rec::tag(INCR).text("b").0)),
        invalid("trailing_bytes", "SET followed by its CRC32", &["FramedRecord"], set_crc),
        invalid("trailing_bytes", "ZADD with no members, then 8 bytes", &[], Rec::tag(ZADD).text("z").u32(0).raw(&[0; 8])),
    ]
}

// ---------------------------------------------------------------------------------------
// Refusals.

/// Records a writer must refuse. `tcId` = 20000 + index (from 1).
fn refusal_group() -> Result<Value, VectorError> {
    let over = 1u64 << 63;
    let mut cases: Vec<(&str, &[&str], Value)> = vec![
        (
            "EXPIRE seconds -1",
            &["OutOfDomain"],
            json!({"kind": "EXPIRE", "key": "k", "seconds": -1}),
        ),
        (
            "EXPIRE seconds 2^63",
            &["OutOfDomain", "UnsignedOverflow"],
            json!({"kind": "EXPIRE", "key": "k", "seconds": over}),
        ),
        (
            "PEXPIRE milliseconds u64::MAX",
            &["OutOfDomain", "UnsignedOverflow"],
            json!({"kind": "PEXPIRE", "key": "k", "milliseconds": u64::MAX}),
        ),
        (
            "PEXPIREAT timestamp_ms 2^63",
            &["OutOfDomain", "UnsignedOverflow"],
            json!({"kind": "PEXPIREAT", "key": "k", "timestamp_ms": over}),
        ),
        (
            "SETRANGE offset -5",
            &["OutOfDomain"],
            json!({"kind": "SETRANGE", "key": "k", "offset": -5, "value": {"hex": "00"}}),
        ),
        (
            "SETBIT offset 2^63",
            &["OutOfDomain", "UnsignedOverflow"],
            json!({"kind": "SETBIT", "key": "k", "offset": over, "value": 1}),
        ),
        (
            "SETBIT value 256",
            &["OutOfDomain"],
            json!({"kind": "SETBIT", "key": "k", "offset": 0, "value": 256}),
        ),
        (
            "SETBIT value -1",
            &["OutOfDomain"],
            json!({"kind": "SETBIT", "key": "k", "offset": 0, "value": -1}),
        ),
        (
            "BITOP op 4",
            &["OutOfDomain"],
            json!({"kind": "BITOP", "op": 4, "dest": "d", "keys": ["a"]}),
        ),
        (
            "BITOP op 255",
            &["OutOfDomain"],
            json!({"kind": "BITOP", "op": 255, "dest": "d", "keys": []}),
        ),
        (
            "VADD metric 256",
            &["OutOfDomain"],
            json!({"kind": "VADD", "key": "v", "element": "e", "vector": [], "metric": 256, "quantization": 0, "connectivity": 0, "expansion_add": 0}),
        ),
        (
            "VADD connectivity 2^32",
            &["OutOfDomain"],
            json!({"kind": "VADD", "key": "v", "element": "e", "vector": [], "metric": 0, "quantization": 0, "connectivity": 1u64 << 32, "expansion_add": 0}),
        ),
        (
            "SET expire_ms 2^63 (over i64::MAX)",
            &["OutOfDomain"],
            json!({"kind": "SET", "key": "k", "value": {"hex": ""}, "expire_ms": over}),
        ),
        (
            "LSET index 2^63 (over i64::MAX)",
            &["OutOfDomain"],
            json!({"kind": "LSET", "key": "k", "index": over, "value": {"hex": ""}}),
        ),
    ];
    cases.extend(refusals_of_text_and_shape());
    let mut tests = Vec::new();
    for (i, (comment, flags, record)) in cases.into_iter().enumerate() {
        let tc_id = 20_000 + i as u64 + 1;
        // The flag says which of the two refusals the vector was built to show.
        let class = if flags.contains(&"NotARecord") {
            BAD_REQUEST
        } else {
            OUT_OF_DOMAIN
        };
        match json::record_from_json(&record) {
            Err(e) if e.problem.class() == class => {}
            other => {
                return Err(VectorError::Disagrees {
                    tc_id,
                    comment: comment.into(),
                    why: format!("the reference does not refuse it as {class}: {other:?}"),
                })
            }
        }
        let mut test = tc(tc_id, comment, flags);
        test.insert("record".into(), record);
        test.insert("error".into(), json!({ "class": class }));
        test.insert("result".into(), "invalid".into());
        tests.push(Value::Object(test));
    }
    Ok(json!({
        "type": RECORD_REFUSAL_TEST,
        "comment": "Records a writer must refuse before writing anything: out_of_domain for a value outside its field's domain, bad_request for JSON that is no record.",
        "tests": tests,
    }))
}

/// Refusals added after the first fourteen (appended, so that ids stay stable): text that
/// is not UTF-8, carried in the hex form of requests; and JSON that is no record, which is
/// `bad_request`, not `out_of_domain` (docs/FORMAT.md §9.1).
#[rustfmt::skip]
fn refusals_of_text_and_shape() -> Vec<(&'static str, &'static [&'static str], Value)> {
    let one = "0x3ff0000000000000";
    vec![
        ("DEL key in the hex form: ED A0 80, a UTF-8-encoded surrogate (what a lone \\ud800 would be)", &["OutOfDomain", "TextAsHex", "Utf8Surrogate"], json!({"kind": "DEL", "key": {"hex": "eda080"}})),
        ("SET key in the hex form: FF", &["OutOfDomain", "TextAsHex", "Utf8Incomplete"], json!({"kind": "SET", "key": {"hex": "ff"}, "value": {"hex": "00"}, "expire_ms": -1})),
        ("ZREM second member in the hex form: C0 80 (an overlong NUL)", &["OutOfDomain", "TextAsHex", "Utf8Overlong", "InListItem"], json!({"kind": "ZREM", "key": "z", "members": ["a", {"hex": "c080"}]})),
        ("COPY replace 2: a number for a bool", &["NotARecord"], json!({"kind": "COPY", "source": "a", "destination": "b", "replace": 2})),
        ("COPY replace 1: a number for a bool, even 0 or 1", &["NotARecord"], json!({"kind": "COPY", "source": "a", "destination": "b", "replace": 1})),
        ("EXPIRE seconds 1.5: not an integer", &["NotARecord"], json!({"kind": "EXPIRE", "key": "k", "seconds": 1.5})),
        ("PEXPIRE milliseconds 1.0: a number with a fraction part, even .0, is no integer literal", &["NotARecord"], json!({"kind": "PEXPIRE", "key": "k", "milliseconds": 1.0})),
        ("LSET index \"5\": an integer given as a string", &["NotARecord"], json!({"kind": "LSET", "key": "k", "index": "5", "value": {"hex": ""}})),
        ("SET value whose text disagrees with its hex", &["NotARecord"], json!({"kind": "SET", "key": "k", "value": {"hex": "6869", "text": "ho"}, "expire_ms": -1})),
        ("DEL key in the hex form whose text disagrees with its hex", &["NotARecord", "TextAsHex"], json!({"kind": "DEL", "key": {"hex": "61", "text": "b"}})),
        ("ZADD score whose value 2.0 disagrees with its bits (1.0)", &["NotARecord"], json!({"kind": "ZADD", "key": "z", "members": [[{"bits": one, "value": "2.0"}, "m"]]})),
        ("ZADD score whose value is the JSON number 1.0, not a string", &["NotARecord"], json!({"kind": "ZADD", "key": "z", "members": [[{"bits": one, "value": 1.0}, "m"]]})),
        ("ZADD score whose bits are uppercase hex", &["NotARecord"], json!({"kind": "ZADD", "key": "z", "members": [[{"bits": "0x3FF0000000000000"}, "m"]]})),
        ("VADD component whose value NaN disagrees with its bits (1.0)", &["NotARecord"], json!({"kind": "VADD", "key": "v", "element": "e", "vector": [{"bits": "0x3f800000", "value": "NaN"}], "metric": 0, "quantization": 0, "connectivity": 0, "expansion_add": 0})),
    ]
}

// ---------------------------------------------------------------------------------------
// Files.

/// What a file vector was built to show; checked against the reference.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    /// Whatever the reference says, as long as it is not a clean read.
    NotClean,
    /// Whatever the reference says.
    Any,
    /// This verdict (`clean`, `torn_tail`, `corrupt`, `unreadable`), any cause.
    Named(&'static str),
    /// This verdict (`clean`, `torn_tail`, `corrupt`, `unreadable`) and cause (empty for
    /// clean).
    Verdict(&'static str, &'static str),
}

struct FileCase {
    comment: String,
    flags: Vec<&'static str>,
    bytes: Vec<u8>,
    key: Option<[u8; 32]>,
    want: Want,
    /// For a clean version 3 file: the nonce of each record, so that a writer can be asked
    /// to write the same bytes.
    nonces: Option<Vec<[u8; NONCE_SIZE]>>,
}

fn case(
    comment: impl Into<String>,
    flags: &[&'static str],
    bytes: Vec<u8>,
    want: Want,
) -> FileCase {
    FileCase {
        comment: comment.into(),
        flags: flags.to_vec(),
        bytes,
        key: None,
        want,
        nonces: None,
    }
}

impl FileCase {
    fn key(mut self, key: [u8; 32]) -> Self {
        self.key = Some(key);
        self
    }
    fn nonces(mut self, nonces: Vec<[u8; NONCE_SIZE]>) -> Self {
        self.nonces = Some(nonces);
        self
    }
}

/// A plaintext record framed: its bytes, then their CRC32.
fn framed(record: &[u8]) -> Vec<u8> {
    let mut out = record.to_vec();
    out.extend_from_slice(&format::crc32(record).to_le_bytes());
    out
}

/// A plaintext record framed with a wrong CRC (the right one with its low bit flipped).
fn framed_bad_crc(record: &[u8]) -> Vec<u8> {
    let mut out = framed(record);
    let last = out.len() - 4;
    out[last] ^= 0x01;
    out
}

fn header(version: u8) -> Vec<u8> {
    format::header(version).to_vec()
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// The first four bytes of every vector nonce; a little-endian 64-bit counter follows. The
/// golden fixtures' nonces start `EAO` and a byte from 0 to 35, so the two never meet.
const NONCE_PREFIX: [u8; 4] = *b"EAOV";

/// Nonces each file group's builder may use, from its block's start: the groups count in
/// disjoint blocks, so no nonce repeats anywhere in the vectors.
const NONCE_BLOCK_LEN: u64 = 1000;

/// Seals plaintexts into version 3 frames under the published key with counting nonces
/// ([`NONCE_PREFIX`] then a little-endian counter) from the block of one file group
/// (blocks of [`NONCE_BLOCK_LEN`]); leaving the block is an error, so no nonce repeats
/// across the vectors.
struct Sealing {
    sealer: Sealer,
    other: Sealer,
    counter: u64,
    end: u64,
}

impl Sealing {
    /// The sealing of the file group of `version`.
    fn for_group(version: u8) -> Self {
        // Version 3's block comes first, so that its vectors kept their bytes when the
        // other groups got blocks of their own.
        let block = match version {
            3 => 0,
            2 => 1,
            _ => 2,
        };
        let start = block * NONCE_BLOCK_LEN;
        Self {
            sealer: Sealer::new(&EncryptionKey::from_bytes(KEY)),
            other: Sealer::new(&EncryptionKey::from_bytes(WRONG_KEY)),
            counter: start,
            end: start + NONCE_BLOCK_LEN,
        }
    }

    fn nonce(&mut self) -> Result<[u8; NONCE_SIZE], VectorError> {
        if self.counter >= self.end {
            return Err(VectorError::Disagrees {
                tc_id: 0,
                comment: "sealing".into(),
                why: format!("a file group used more than its {NONCE_BLOCK_LEN} nonces"),
            });
        }
        let mut nonce = [0u8; NONCE_SIZE];
        nonce[..4].copy_from_slice(&NONCE_PREFIX);
        nonce[4..].copy_from_slice(&self.counter.to_le_bytes());
        self.counter += 1;
        Ok(nonce)
    }

    /// One frame: nonce, length, ciphertext and tag.
    fn frame_with(
        &mut self,
        plain: &[u8],
        wrong_key: bool,
    ) -> Result<(Vec<u8>, [u8; NONCE_SIZE]), VectorError> {
        let nonce = self.nonce()?;
        let sealer = if wrong_key { &self.other } else { &self.sealer };
        let sealed = sealer
            .seal(&nonce, plain)
            .map_err(|e| VectorError::Disagrees {
                tc_id: 0,
                comment: "sealing".into(),
                why: e.to_string(),
            })?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&(sealed.len() as u32).to_le_bytes());
        out.extend_from_slice(&sealed);
        Ok((out, nonce))
    }

    fn frame(&mut self, plain: &[u8]) -> Result<Vec<u8>, VectorError> {
        Ok(self.frame_with(plain, false)?.0)
    }

    /// A version 3 file of `records` and the nonce of each.
    fn file(
        &mut self,
        records: &[Vec<u8>],
    ) -> Result<(Vec<u8>, Vec<[u8; NONCE_SIZE]>), VectorError> {
        let mut out = header(3);
        let mut nonces = Vec::new();
        for record in records {
            let (frame, nonce) = self.frame_with(record, false)?;
            out.extend_from_slice(&frame);
            nonces.push(nonce);
        }
        Ok((out, nonces))
    }
}

/// The records of the small files vectors are built from.
struct Samples {
    /// SET greeting hello, LPUSH queue [x, y], COPY a b replace.
    three: Vec<Vec<u8>>,
    /// DEL a, INCR b: short records, for bit flips and truncations.
    small: Vec<Vec<u8>>,
    /// Every kind, interleaved.
    mixed: Vec<Vec<u8>>,
}

fn samples() -> Result<Samples, VectorError> {
    let three = vec![
        Rec::tag(SET).text("greeting").field(b"hello").i64(-1).0,
        Rec::tag(LPUSH)
            .text("queue")
            .u32(2)
            .field(b"x")
            .field(b"y")
            .0,
        Rec::tag(COPY).text("a").text("b").u8(1).0,
    ];
    let small = vec![Rec::tag(DEL).text("a").0, Rec::tag(INCR).text("b").0];
    let mut mixed = Vec::new();
    for record in fixtures::mixed() {
        mixed.push(encode(&record, "mixed")?);
    }
    Ok(Samples {
        three,
        small,
        mixed,
    })
}

fn plain_file(version: u8, records: &[Vec<u8>]) -> Vec<u8> {
    let mut out = header(version);
    for record in records {
        out.extend_from_slice(&framed(record));
    }
    out
}

/// The file vectors whose header is `version`; those that need AES-256-GCM (any key given
/// to a file whose verdict depends on it) are in the version 3 group. `tcId` = 10000 ×
/// (version + 2) + index (from 1).
fn file_group(version: u8) -> Result<Value, VectorError> {
    let cases = match version {
        1 => v1_cases()?,
        2 => v2_cases()?,
        _ => v3_cases()?,
    };
    let base = 10_000 * (u64::from(version) + 2);
    let mut tests = Vec::new();
    for (i, case) in cases.into_iter().enumerate() {
        if i >= 9_999 {
            return Err(VectorError::Disagrees {
                tc_id: base + i as u64 + 1,
                comment: case.comment,
                why: "more than 9999 file vectors of one version: their tcId block is full".into(),
            });
        }
        tests.push(file_test(base + i as u64 + 1, case)?);
    }
    let comment = match version {
        1 => "Version 1 files: plaintext, read exactly like version 2.",
        2 => "Version 2 (plaintext) files, and files that need no key: headers, partial headers, truncations, damage, bit flips, a sealed body under a plaintext header.",
        _ => "Version 3 (sealed) files, and every file whose verdict needs AES-256-GCM. Key: the published 000102...1f unless the test says otherwise.",
    };
    Ok(json!({
        "type": FILE_TEST,
        "version": version,
        "comment": comment,
        "tests": tests,
    }))
}

fn file_test(tc_id: u64, case: FileCase) -> Result<Value, VectorError> {
    let disagrees = |why: String| VectorError::Disagrees {
        tc_id,
        comment: case.comment.clone(),
        why,
    };
    let key = case.key.map(EncryptionKey::from_bytes);
    let (records, verdict, read_error) = match Scanner::new(&case.bytes, key.as_ref()) {
        Err(e) => {
            let class = open_error_class(&e).ok_or_else(|| disagrees(e.to_string()))?;
            (
                Vec::new(),
                unreadable(class),
                json!({"class": class, "offset": null}),
            )
        }
        Ok(mut scanner) => {
            let mut records = Vec::new();
            while let Some((_, record)) = scanner.next_record() {
                records.push(record_json(&record));
            }
            let verdict = scanner
                .verdict()
                .cloned()
                .ok_or_else(|| disagrees("no verdict".into()))?;
            let read_error = match scanner.result() {
                Ok(()) => Value::Null,
                Err(e) => {
                    read_error_json(&e, Some(&verdict)).ok_or_else(|| disagrees(e.to_string()))?
                }
            };
            (records, verdict_json(&verdict), read_error)
        }
    };
    let name = verdict["verdict"].as_str().unwrap_or_default();
    let cause = verdict["cause"].as_str().unwrap_or_default();
    match case.want {
        Want::Any => {}
        Want::NotClean if name != "clean" => {}
        Want::Named(n) if n == name => {}
        Want::Verdict(n, c) if n == name && c == cause => {}
        want => {
            return Err(disagrees(format!(
                "wanted {want:?}, the reference says {verdict}"
            )))
        }
    }
    if name == "clean" && case.flags.contains(&"BitFlip") {
        return Err(disagrees("a flipped bit reads clean".into()));
    }
    let result = match (name, &read_error) {
        ("clean", _) => "valid",
        (_, Value::Null) => "acceptable",
        _ => "invalid",
    };
    let mut test = tc(tc_id, &case.comment, &case.flags);
    test.insert("hex".into(), json::hex(&case.bytes).into());
    test.insert("key".into(), case.key.map(|k| json::hex(&k)).into());
    if let Some(nonces) = &case.nonces {
        if name != "clean" {
            return Err(disagrees("nonces are only for clean files".into()));
        }
        test.insert(
            "nonces".into(),
            nonces
                .iter()
                .map(|n| json::hex(n))
                .collect::<Vec<_>>()
                .into(),
        );
    }
    test.insert("records".into(), records.into());
    test.insert("verdict".into(), verdict);
    test.insert("readError".into(), read_error);
    test.insert("result".into(), result.into());
    Ok(Value::Object(test))
}

fn v1_cases() -> Result<Vec<FileCase>, VectorError> {
    let s = samples()?;
    let three = plain_file(1, &s.three);
    let mut sealing = Sealing::for_group(1);
    let (sealed, _) = sealing.file(&s.small)?;
    let last = three.len() - 1;
    Ok(vec![
        case(
            "version 1 header only",
            &["Version1", "EmptyBody"],
            header(1),
            Want::Verdict("clean", ""),
        ),
        case(
            "version 1: SET, LPUSH, COPY",
            &["Version1"],
            three.clone(),
            Want::Verdict("clean", ""),
        ),
        case(
            "version 1, cut inside the last record",
            &["Version1", "Truncation"],
            three[..last - 3].to_vec(),
            Want::Verdict("torn_tail", "truncated"),
        ),
        case(
            "version 1, the last record's CRC damaged",
            &["Version1", "FailedLastRecord"],
            {
                let mut b = three.clone();
                b[last] ^= 0x40;
                b
            },
            Want::Verdict("torn_tail", "checksum_mismatch"),
        ),
        case(
            "version 1, 8 zero bytes after the records",
            &["Version1", "ZeroFill"],
            cat(&[&three, &[0; 8]]),
            Want::Verdict("torn_tail", "zeros"),
        ),
        case(
            "version 1 header over sealed records, no key given: a torn tail (no evidence)",
            &["Version1", "SealingUnproven"],
            cat(&[&header(1), &sealed[5..]]),
            Want::Named("torn_tail"),
        ),
    ])
}

#[rustfmt::skip]
fn v2_cases() -> Result<Vec<FileCase>, VectorError> {
    use Want::Verdict as W;
    let s = samples()?;
    let three = plain_file(2, &s.three);
    let small = plain_file(2, &s.small);
    let [set, lpush, copy] = [&s.three[0], &s.three[1], &s.three[2]].map(|r| framed(r));
    let del_a = framed(&s.small[0]);
    let mut out = vec![
        case("header only", &["EmptyBody"], header(2), W("clean", "")),
        case("SET, LPUSH, COPY", &[], three.clone(), W("clean", "")),
        case("every record kind, interleaved (the golden mixed file)", &["EveryKind"], plain_file(2, &s.mixed), W("clean", "")),
        case("SET, LPUSH, COPY read with a key", &["KeyIgnored"], three.clone(), W("clean", "")).key(KEY),
    ];
    for (bytes, what) in [
        (&b""[..], "an empty file"),
        (b"E", "E"),
        (b"EA", "EA"),
        (b"EAO", "EAO"),
        (b"EAOF", "EAOF, no version byte"),
        (b"EAOF\0", "EAOF and a zero version byte (5 bytes)"),
        (b"EA\0\0\0", "EA then zeros (5 bytes)"),
        (b"\0\0\0\0\0", "five zero bytes"),
        (b"\0", "one zero byte"),
        (b"E\0\0", "E then zeros"),
    ] {
        out.push(case(format!("partial header: {what}"), &["PartialHeader"], bytes.to_vec(), W("torn_tail", "partial_header")));
    }
    for (bytes, what) in [
        (cat(&[b"EAOX\x02", &set]), "EAOX"),
        (cat(&[b"XAOF\x02", &set]), "XAOF"),
        (cat(&[b"eaof\x02", &set]), "lowercase eaof"),
        (vec![0; 6], "six zero bytes (longer than a header)"),
        (b"EAO\0\0\0".to_vec(), "EAO then three zeros (longer than a header)"),
        (b"EB".to_vec(), "EB (2 bytes, not a prefix of EAOF)"),
        (b"F".to_vec(), "F"),
        (b"AOF\x02".to_vec(), "AOF, the magic without its E"),
    ] {
        out.push(case(format!("not EAOF: {what}"), &["NotEaof"], bytes, W("unreadable", "invalid_magic")));
    }
    for (bytes, what) in [
        (cat(&[b"EAOF\0", &del_a]), "version 0, then a record"),
        (b"EAOF\0\0".to_vec(), "version 0, then a zero byte (6 bytes)"),
        (b"EAOF\x04".to_vec(), "version 4, no records"),
        (cat(&[b"EAOF\x04", &del_a]), "version 4, then a record"),
        (cat(&[b"EAOF\xff", &del_a]), "version 255, then a record"),
    ] {
        out.push(case(format!("unsupported version: {what}"), &["UnsupportedVersion"], bytes, W("unreadable", "unsupported_version")));
    }
    for cut in 6..three.len() {
        let boundary = [5, 5 + set.len(), 5 + set.len() + lpush.len()].contains(&cut);
        let want = if boundary { W("clean", "") } else { W("torn_tail", "truncated") };
        out.push(case(format!("SET, LPUSH, COPY cut to {cut} of {} bytes", three.len()), &["Truncation"], three[..cut].to_vec(), want));
    }
    out.extend([
        case("one zero byte after the records", &["ZeroFill"], cat(&[&three, &[0]]), W("torn_tail", "zeros")),
        case("16 zero bytes after the records", &["ZeroFill"], cat(&[&three, &[0; 16]]), W("torn_tail", "zeros")),
        case("header, then 100 zero bytes", &["ZeroFill"], cat(&[&header(2), &[0; 100]]), W("torn_tail", "zeros")),
        case("FF FE after the records", &["Garbage"], cat(&[&three, &[0xff, 0xfe]]), W("torn_tail", "unknown_tag")),
        case("the text garbage! after the records", &["Garbage"], cat(&[&three, b"garbage!"]), W("torn_tail", "unknown_tag")),
        case("a SET whose value length runs past the end", &["Truncation"], cat(&[&three, &Rec::tag(SET).text("k").u32(1000).raw(b"abc").0]), W("torn_tail", "truncated")),
        case("the last record's CRC damaged", &["FailedLastRecord"], cat(&[&header(2), &set, &lpush, &framed_bad_crc(&s.three[2])]), W("torn_tail", "checksum_mismatch")),
        case("the last record's CRC damaged, then zero bytes", &["FailedLastRecord", "ZeroFill"], cat(&[&header(2), &set, &framed_bad_crc(&s.three[1]), &[0; 8]]), W("torn_tail", "checksum_mismatch")),
        case("the first record's value changed (hello to hellp): CRC fails, intact records follow", &["Corruption"], {
            let mut b = three.clone();
            let at = 5 + 1 + 4 + 8 + 4 + 4;
            b[at] = b'p';
            b
        }, W("corrupt", "checksum_mismatch")),
        case("a byte 0xff between two records", &["Corruption"], cat(&[&header(2), &set, &[0xff], &lpush]), W("corrupt", "unknown_tag")),
        case("four zero bytes between two records", &["Corruption"], cat(&[&header(2), &set, &[0; 4], &lpush]), W("corrupt", "unknown_tag")),
        case("a DEL whose key length is over its limit, between two records", &["Corruption"], cat(&[&header(2), &set, &Rec::tag(DEL).u32(u32::MAX).raw(b"a").0, &lpush]), W("corrupt", "too_long")),
        case("a DEL whose key length is over its limit, at the end", &[], cat(&[&three, &Rec::tag(DEL).u32(FIELD_LEN_MAX + 1).0]), W("torn_tail", "too_long")),
        case("a record cut short, then an intact record appended after it", &["AppendAfterTornTail", "Corruption"], cat(&[&header(2), &set, &lpush[..lpush.len() / 2], &copy]), Want::Named("corrupt")),
        case("an intact DEL inside the value of a SET whose CRC fails, at the end", &["AnyOffset", "Corruption"], cat(&[&header(2), &framed_bad_crc(&Rec::tag(SET).text("k").field(&del_a).i64(-1).0)]), W("corrupt", "checksum_mismatch")),
    ]);
    let domain: [(&str, &'static str, Vec<u8>); 4] = [
        ("COPY replace 2", "not_a_bool", Rec::tag(COPY).text("a").text("b").u8(2).0),
        ("EXPIRE seconds -1", "negative", Rec::tag(EXPIRE).text("k").i64(-1).0),
        ("BITOP op 4", "unknown_bitop", Rec::tag(BITOP).u8(4).text("d").u32(0).0),
        ("DEL key 0xff", "invalid_utf8", Rec::tag(DEL).field(&[0xff]).0),
    ];
    for (what, class, record) in &domain {
        out.push(case(format!("{what} with a valid CRC, at the end"), &["OutOfDomainRecord", "FailedLastRecord"], cat(&[&three, &framed(record)]), W("torn_tail", class)));
        out.push(case(format!("{what} with a valid CRC, then an intact record"), &["OutOfDomainRecord", "Corruption"], cat(&[&header(2), &set, &framed(record), &copy]), W("corrupt", class)));
    }
    let bad_key = Rec::tag(RENAME).field(&[0xff]).text("b").0;
    out.extend([
        case("RENAME key 0xff with a wrong CRC, at the end: the checksum comes first", &["CheckOrder", "FailedLastRecord"], cat(&[&three, &framed_bad_crc(&bad_key)]), W("torn_tail", "checksum_mismatch")),
        case("RENAME key 0xff, its CRC missing: incomplete comes first", &["CheckOrder", "Truncation"], cat(&[&three, &bad_key]), W("torn_tail", "truncated")),
        case("RENAME key 0xff, then a newkey length over its limit: the extent comes first", &["CheckOrder"], cat(&[&three, &Rec::tag(RENAME).field(&[0xff]).u32(u32::MAX).raw(b"b").0]), W("torn_tail", "too_long")),
    ]);
    for at in 0..small.len() {
        for bit in [0u8, 7] {
            let mut b = small.clone();
            b[at] ^= 1 << bit;
            out.push(case(format!("DEL a, INCR b with bit {bit} of byte {at} flipped"), &["BitFlip"], b, Want::NotClean));
        }
    }
    let mut sealing = Sealing::for_group(2);
    let (sealed, _) = sealing.file(&s.small)?;
    let body = &sealed[5..];
    let first_frame = 16 + s.small[0].len() + 16;
    let mut zero_tag = body.to_vec();
    zero_tag[first_frame - 16..first_frame].fill(0);
    out.extend([
        case("version 2 header over sealed records, no key given: without a key no bytes are evidence of sealing (a crash can leave any), a torn tail", &["SealingUnproven"], cat(&[&header(2), body]), Want::Named("torn_tail")),
        case("version 2 header over sealed records, the last one torn, no key given: a torn tail", &["SealingUnproven", "Truncation"], cat(&[&header(2), &body[..body.len() - 7]]), Want::Named("torn_tail")),
        case("version 2 header over sealed-looking frames whose first GCM tag is zeros", &["NotAVersionMismatch"], cat(&[&header(2), &zero_tag]), Want::Any),
        case("version 2 header over one sealed frame, then a frame length under 16", &["NotAVersionMismatch"], cat(&[&header(2), &body[..first_frame], &[7; 12], &5u32.to_le_bytes(), &[1; 5]]), Want::Any),
        case("a version 3 file read without a key", &["NoKey"], sealed.clone(), W("unreadable", "encryption_required")),
        case("a crash's leftovers after a version 2 header: the first 16 bytes of a SET whose value reads as a sealed length of 20, then 27 stale bytes (one whole sealed-looking frame, then fewer than 16 bytes): a torn tail", &["Garbage", "SealingUnproven"], sealed_looking_crash_image(), W("torn_tail", "truncated")),
        case("version 2 header over one whole sealed frame, then a frame whose length is over 512 MiB, running past the end, no key: whether such a last frame could end a chain of sealed frames no longer matters (no chain of frames is evidence), a torn tail", &["NotAVersionMismatch"], cat(&[&header(2), &body[..first_frame], &[7; 12], &(SEALED_LEN_MAX + 1).to_le_bytes(), &[1; 20]]), Want::Named("torn_tail")),
    ]);
    Ok(out)
}

/// What a crash can leave behind a version 2 file whose first record did not land whole:
/// the first 16 bytes of a SET (key `a`, a value whose bytes 2..6 are 20 as a little-endian
/// u32, 40 bytes in all), then stale bytes that end the file inside the value. From offset 5 the bytes read as one whole sealed frame of length
/// 20 with a non-zero tag, then 7 bytes: the shape `eaof explore` once took for a damaged
/// version byte.
fn sealed_looking_crash_image() -> Vec<u8> {
    let set = Rec::tag(SET)
        .text("a")
        .field(&[&b"xx\x14\0\0\0"[..], &[b'y'; 34]].concat())
        .i64(-1)
        .0;
    cat(&[&header(2), &set[..16], &[0xa5; 20], &[0x5a; 7]])
}

#[rustfmt::skip]
fn v3_cases() -> Result<Vec<FileCase>, VectorError> {
    use Want::Verdict as W;
    let s = samples()?;
    let mut sealing = Sealing::for_group(3);
    let (three, three_nonces) = sealing.file(&s.three)?;
    let (mixed, mixed_nonces) = sealing.file(&s.mixed)?;
    let (small, _) = sealing.file(&s.small)?;
    let frame_len = |plain: &[u8]| 16 + plain.len() + 16;
    let small_first = 5 + frame_len(&s.small[0]);
    let three_ends = [5, 5 + frame_len(&s.three[0]), 5 + frame_len(&s.three[0]) + frame_len(&s.three[1])];
    let mut out = vec![
        case("header only", &["EmptyBody"], header(3), W("clean", "")).key(KEY).nonces(vec![]),
        case("header only, no key", &["EmptyBody", "NoKey"], header(3), W("unreadable", "encryption_required")),
        case("header only, a wrong key", &["EmptyBody", "WrongKeyUndetectable"], header(3), W("clean", "")).key(WRONG_KEY),
        case("SET, LPUSH, COPY", &[], three.clone(), W("clean", "")).key(KEY).nonces(three_nonces),
        case("every record kind, interleaved (the golden mixed file's records)", &["EveryKind"], mixed, W("clean", "")).key(KEY).nonces(mixed_nonces),
        case("SET, LPUSH, COPY, no key", &["NoKey"], three.clone(), W("unreadable", "encryption_required")),
        case("SET, LPUSH, COPY, a wrong key", &["WrongKey"], three.clone(), W("unreadable", "wrong_key")).key(WRONG_KEY),
        case("partial header EAO, with a key", &["PartialHeader"], b"EAO".to_vec(), W("torn_tail", "partial_header")).key(KEY),
        case("partial header EAOF, with a key", &["PartialHeader"], b"EAOF".to_vec(), W("torn_tail", "partial_header")).key(KEY),
    ];
    for cut in 6..three.len() {
        let want = if three_ends.contains(&cut) { W("clean", "") } else { W("torn_tail", "truncated") };
        out.push(case(format!("SET, LPUSH, COPY cut to {cut} of {} bytes", three.len()), &["Truncation"], three[..cut].to_vec(), want).key(KEY));
    }
    let flip = |bytes: &[u8], at: usize| {
        let mut b = bytes.to_vec();
        b[at] ^= 0x01;
        b
    };
    let del_b = Rec::tag(DEL).text("b").0;
    let one = sealing.file(std::slice::from_ref(&del_b))?.0;
    let intact = sealing.frame(&del_b)?;
    out.extend([
        case("5 zero bytes after the records", &["ZeroFill"], cat(&[&small, &[0; 5]]), W("torn_tail", "zeros")).key(KEY),
        case("16 zero bytes after the records", &["ZeroFill"], cat(&[&small, &[0; 16]]), W("torn_tail", "zeros")).key(KEY),
        case("header, then 64 zero bytes", &["ZeroFill"], cat(&[&header(3), &[0; 64]]), W("torn_tail", "zeros")).key(KEY),
        case("the last record's ciphertext changed", &["FailedLastRecord"], flip(&small, small.len() - 20), W("torn_tail", "unauthenticated")).key(KEY),
        case("the last record's GCM tag changed", &["FailedLastRecord"], flip(&small, small.len() - 1), W("torn_tail", "unauthenticated")).key(KEY),
        case("the last record's nonce changed", &["FailedLastRecord"], flip(&small, small_first), W("torn_tail", "unauthenticated")).key(KEY),
        case("the first record's ciphertext changed, an intact record follows", &["Corruption"], flip(&small, 5 + 17), W("corrupt", "unauthenticated")).key(KEY),
        case("the only record's ciphertext changed: no record authenticates, as with a wrong key", &["WrongKey"], flip(&one, one.len() - 5), W("unreadable", "wrong_key")).key(KEY),
        case("a record sealed under another key between two intact ones", &["Corruption"], cat(&[&small[..small_first], &sealing.frame_with(&del_b, true)?.0, &small[small_first..]]), W("corrupt", "unauthenticated")).key(KEY),
        case("a frame length of 15 (under the 16-byte GCM tag) at the end", &["SealedFraming"], cat(&[&small, &[9; 12], &15u32.to_le_bytes(), &[1; 15]]), W("torn_tail", "too_short")).key(KEY),
        case("a frame length of 0 between two records", &["SealedFraming", "Corruption"], cat(&[&small[..small_first], &[9; 12], &0u32.to_le_bytes(), &small[small_first..]]), W("corrupt", "too_short")).key(KEY),
        case("a frame length over 512 MiB at the end", &["SealedFraming"], cat(&[&small, &[9; 12], &(SEALED_LEN_MAX + 1).to_le_bytes(), &[1; 20]]), W("torn_tail", "too_long")).key(KEY),
        case("a frame length of u32::MAX between two records", &["SealedFraming", "Corruption"], cat(&[&small[..small_first], &[9; 12], &u32::MAX.to_le_bytes(), &small[small_first..]]), W("corrupt", "too_long")).key(KEY),
        case("a frame whose length runs past the end", &["SealedFraming", "Truncation"], cat(&[&small, &[9; 12], &100u32.to_le_bytes(), &[1; 40]]), W("torn_tail", "truncated")).key(KEY),
    ]);
    let bad_plain: [(&str, &'static str, Vec<u8>); 8] = [
        ("DEL a and a trailing byte", "trailing_bytes", Rec::tag(DEL).text("a").u8(0).0),
        ("tag 0", "unknown_tag", Rec::tag(0).text("a").0),
        ("a DEL whose key runs past the plaintext", "truncated", Rec::tag(DEL).u32(5).raw(b"a").0),
        ("nothing (an empty plaintext: the frame holds only a GCM tag)", "truncated", Vec::new()),
        ("DEL key 0xff", "invalid_utf8", Rec::tag(DEL).field(&[0xff]).0),
        ("EXPIRE seconds -1", "negative", Rec::tag(EXPIRE).text("k").i64(-1).0),
        ("COPY replace 2", "not_a_bool", Rec::tag(COPY).text("a").text("b").u8(2).0),
        ("BITOP op 4", "unknown_bitop", Rec::tag(BITOP).u8(4).text("d").u32(0).0),
    ];
    for (what, class, plain) in &bad_plain {
        let frame = sealing.frame(plain)?;
        out.push(case(format!("an authenticated record whose plaintext is {what}, at the end"), &["SealedPlaintext", "FailedLastRecord"], cat(&[&small, &frame]), W("torn_tail", class)).key(KEY));
    }
    let frame = sealing.frame(&bad_plain[0].2)?;
    out.push(case("an authenticated record with a trailing byte in its plaintext, then an intact record", &["SealedPlaintext", "Corruption"], cat(&[&small[..small_first], &frame, &intact]), W("corrupt", "trailing_bytes")).key(KEY));
    let plain_three = plain_file(2, &s.three);
    out.extend([
        case("version 3 header over plaintext records, with the key", &["VersionByteDamaged"], cat(&[&header(3), &plain_three[5..]]), W("corrupt", "version_mismatch")).key(KEY),
        case("version 3 header over plaintext records, no key", &["VersionByteDamaged", "NoKey"], cat(&[&header(3), &plain_three[5..]]), W("unreadable", "encryption_required")),
        case("version 2 header over sealed records, with the key", &["VersionByteDamaged"], cat(&[&header(2), &small[5..]]), W("corrupt", "version_mismatch")).key(KEY),
        case("version 2 header over sealed records, a wrong key given: nothing authenticates, a torn tail", &["SealingUnproven"], cat(&[&header(2), &small[5..]]), Want::Named("torn_tail")).key(WRONG_KEY),
        case("version 2 header over garbage, with a key", &["Garbage", "KeyIgnored"], cat(&[&header(2), b"garbage!"]), W("torn_tail", "unknown_tag")).key(KEY),
    ]);
    for at in 0..small.len() {
        out.push(case(format!("DEL a, INCR b sealed, with bit 0 of byte {at} flipped"), &["BitFlip"], flip(&small, at), Want::NotClean).key(KEY));
    }
    out.push(case("a crash's leftovers after a version 2 header that read as a sealed frame, read with a key: nothing authenticates, a torn tail", &["Garbage", "SealingUnproven", "KeyIgnored"], sealed_looking_crash_image(), W("torn_tail", "truncated")).key(KEY));
    out.extend(version_byte_cases(&s, &mut sealing, &small)?);
    Ok(out)
}

/// The version byte rule (docs/FORMAT.md §6) where it meets the other rules: it comes before
/// the wrong-key rule; its evidence is an intact record of the other framing, at any offset
/// from 5, and nothing less (a sealed record that authenticates but is no valid record is
/// not evidence). `small` is the sealed file of the small records.
#[rustfmt::skip]
fn version_byte_cases(s: &Samples, sealing: &mut Sealing, small: &[u8]) -> Result<Vec<FileCase>, VectorError> {
    use Want::Verdict as W;
    let mismatch = W("corrupt", "version_mismatch");
    // A SET whose key is 7 bytes long: its value's length (40) is where a sealed frame's
    // length is, so its first 16 bytes are the head of a whole sealed frame of 56 bytes.
    let lookalike = Rec::tag(SET).text("abcdefg").field(&[b'v'; 40]).i64(-1).0;
    let plain_lookalike = plain_file(2, &[lookalike, s.small[0].clone()]);
    // The first record's ciphertext changed; the second stays intact.
    let mut first_damaged = small.to_vec();
    first_damaged[5 + 17] ^= 0x01;
    let mut out = vec![
        case("version 3 header over plaintext records whose first 16 bytes are also the head of a whole sealed frame (length 40) that does not authenticate, with the key: the version byte rule comes before the wrong-key rule", &["VersionByteDamaged", "VersionBeforeWrongKey"], cat(&[&header(3), &plain_lookalike[5..]]), mismatch).key(KEY),
        case("the same file read with a wrong key: the evidence is the plaintext, whatever the key", &["VersionByteDamaged", "VersionBeforeWrongKey"], cat(&[&header(3), &plain_lookalike[5..]]), mismatch).key(WRONG_KEY),
        case("version 3 header over plaintext records whose first CRC fails, with the key: the next intact plaintext record shows the damaged version byte", &["VersionByteDamaged", "EvidenceAtAnyOffset"], cat(&[&header(3), &framed_bad_crc(&s.three[0]), &framed(&s.three[1]), &framed(&s.three[2])]), mismatch).key(KEY),
        case("version 2 header over sealed records whose first does not authenticate, with the key: the next one, which does, shows the damaged version byte", &["VersionByteDamaged", "EvidenceAtAnyOffset"], cat(&[&header(2), &first_damaged[5..]]), mismatch).key(KEY),
        case("version 1 header over sealed records, with the key", &["VersionByteDamaged", "Version1"], cat(&[&header(1), &small[5..]]), mismatch).key(KEY),
    ];
    let bad_plain: [(&str, Vec<u8>); 4] = [
        ("DEL a and a trailing byte", Rec::tag(DEL).text("a").u8(0).0),
        ("EXPIRE seconds -1", Rec::tag(EXPIRE).text("k").i64(-1).0),
        ("COPY replace 2", Rec::tag(COPY).text("a").text("b").u8(2).0),
        ("empty (the frame holds only a GCM tag)", Vec::new()),
    ];
    for (what, plain) in &bad_plain {
        let frame = sealing.frame(plain)?;
        out.push(case(format!("version 2 header over one sealed record that authenticates under the key but whose plaintext is {what}: no evidence of a damaged version byte"), &["EvidenceMustBeIntact", "SealedPlaintext"], cat(&[&header(2), &frame]), Want::Named("torn_tail")).key(KEY));
    }
    let invalid_first = sealing.frame(&bad_plain[1].1)?;
    let intact = sealing.frame(&s.small[1])?;
    out.push(case("version 2 header over a sealed record that authenticates but is EXPIRE seconds -1, then an intact sealed record, with the key: the intact one is the evidence", &["EvidenceMustBeIntact", "EvidenceAtAnyOffset", "SealedPlaintext"], cat(&[&header(2), &invalid_first, &intact]), mismatch).key(KEY));
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Coverage.

/// What the vectors fail to cover: record kinds without a record vector, decode classes
/// without an invalid record vector, and file causes no file vector names. Empty when
/// complete.
pub fn coverage_gaps(vectors: &Value) -> Vec<String> {
    let mut kinds = BTreeSet::new();
    let mut classes = BTreeSet::new();
    let mut causes = BTreeSet::new();
    for group in vectors["testGroups"].as_array().into_iter().flatten() {
        for test in group["tests"].as_array().into_iter().flatten() {
            match group["type"].as_str() {
                Some(RECORD_TEST) => {
                    kinds.insert(
                        test["record"]["kind"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                    );
                }
                Some(INVALID_RECORD_TEST) => {
                    classes.insert(
                        test["error"]["class"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                    );
                }
                Some(FILE_TEST) => {
                    causes.insert(
                        test["verdict"]["cause"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                    );
                }
                _ => {}
            }
        }
    }
    let mut gaps = Vec::new();
    for kind in RecordKind::ALL {
        if !kinds.contains(kind.name()) {
            gaps.push(format!("no record vector of {}", kind.name()));
        }
    }
    for class in DECODE_CLASSES {
        if !classes.contains(class) {
            gaps.push(format!("no invalid record vector of class {class}"));
        }
    }
    for cause in FILE_CAUSES.iter().chain(["wrong_key"].iter()) {
        if !causes.contains(*cause) {
            gaps.push(format!("no file vector whose verdict names {cause}"));
        }
    }
    gaps
}
