//! Records as JSON, losslessly: `record_from_json(&record_to_json(r)?)?` encodes to the same
//! bytes as `r`, for every record the writer accepts.
//!
//! The shape, the same for every kind (it is derived from the record table's layouts, not
//! written per kind):
//!
//! ```json
//! {"kind": "ZADD", "key": "scores", "members": [[{"value": "-inf", "bits": "0xfff0000000000000"}, "low"]]}
//! ```
//!
//! - `kind` is the command name (`SET`, `PROTO.REGISTER`...); the other keys are the kind's
//!   fields, in wire order, each once.
//! - text: a JSON string (any Unicode text is exact in JSON). On input only, a text may also
//!   be given in the bytes form below (`{"hex": ...}`): the one way a request can carry text
//!   that is not UTF-8 (a lone surrogate has no JSON string), which a writer must refuse;
//! - bytes: `{"hex": "00ff", "text": "..."}`: `hex` (lowercase, two digits a byte) is the
//!   value; `text` is written only when the bytes are UTF-8, as a reading aid, and when
//!   present on input must agree with `hex`;
//! - integers (`i64`, non-negative `i64`, `u32`, `u8`, the BITOP op 0..=3): JSON numbers,
//!   exact (64-bit values go beyond 2^53: parse them with a 64-bit-exact JSON parser);
//! - booleans (COPY `replace`, LINSERT `before`): `true` / `false`;
//! - floats (`f64` scores, `f32` vector components): `{"value": "-0.0", "bits":
//!   "0x8000000000000000"}`: `bits` is the IEEE 754 bit pattern as a hex integer (16 digits
//!   for `f64`, 8 for `f32`) and is the value, so -0.0, infinities and every NaN payload are
//!   exact; `value` is the shortest decimal that reads back to the same number (`inf`,
//!   `-inf`, `NaN` for those), a reading aid that on input is optional and must agree;
//! - lists: JSON arrays; an item that is a pair (ZADD score and member, HSET field and
//!   value) is a two-element array.
//!
//! A value that is not of its layout's JSON shape (a wrong type, a number that is not an
//! integer literal, bad hex, a reading aid that disagrees) makes the JSON no record at all;
//! a value of the right shape outside its field's domain is a record a writer refuses.
//! [`JsonProblem::class`] names the two (`bad_request`, `out_of_domain`), as the
//! conformance protocol answers them (docs/FORMAT.md §9.1).

use serde_json::{Map, Value};
use thiserror::Error;

use eaof::codec::{DecodeError, EncodeError, Layout};
use eaof::limits::FIELD_LEN_MAX;
use eaof::{AofRecord, RecordKind};

use crate::walk::{self, Node, Value as Field};

/// Why a JSON value is not a record.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("at `{path}`: {problem}")]
pub struct JsonError {
    /// Where in the record object: `kind`, `members[2][0].bits`...
    pub path: String,
    pub problem: JsonProblem,
}

/// What is wrong with a JSON record.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JsonProblem {
    #[error("expected {0}")]
    WrongType(&'static str),
    #[error("missing")]
    Missing,
    #[error("not a field of this record kind")]
    UnknownField,
    #[error("no record kind is named {0:?}")]
    UnknownKind(String),
    #[error("out of the field's range")]
    OutOfRange,
    #[error("not lowercase hex of the expected length")]
    InvalidHex,
    #[error("`value` does not agree with `bits`")]
    FloatMismatch,
    #[error("`text` does not agree with `hex`")]
    TextMismatch,
    #[error("the record does not decode: {0}")]
    Decode(DecodeError),
}

/// The protocol's class of a request whose record is JSON that is no record.
pub const BAD_REQUEST: &str = "bad_request";

/// The protocol's class of a record a writer must refuse (a value outside its domain).
pub const OUT_OF_DOMAIN: &str = "out_of_domain";

impl JsonProblem {
    /// How the conformance protocol answers a record with this problem: [`OUT_OF_DOMAIN`]
    /// when the JSON has the shape of a record but a value is outside its field's domain
    /// (an integer out of its range, a text that is not UTF-8, a length or count over its
    /// limit), [`BAD_REQUEST`] when it is not a record at all.
    pub fn class(&self) -> &'static str {
        match self {
            JsonProblem::OutOfRange | JsonProblem::Decode(_) => OUT_OF_DOMAIN,
            JsonProblem::WrongType(_)
            | JsonProblem::Missing
            | JsonProblem::UnknownField
            | JsonProblem::UnknownKind(_)
            | JsonProblem::InvalidHex
            | JsonProblem::FloatMismatch
            | JsonProblem::TextMismatch => BAD_REQUEST,
        }
    }
}

/// The JSON of a record. Fails only for a record the writer would refuse too.
pub fn record_to_json(record: &AofRecord) -> Result<Value, EncodeError> {
    let mut bytes = Vec::new();
    record.encode_into(&mut bytes)?;
    // Every encoded record decodes (the codec's guarantee); a failure here would be a codec
    // bug, reported as the null value rather than a panic.
    Ok(bytes_to_json(&bytes).unwrap_or(Value::Null))
}

/// The JSON of the record that fills `bytes` (tag + payload, no checksum).
pub fn bytes_to_json(bytes: &[u8]) -> Result<Value, DecodeError> {
    let walked = walk::walk(bytes)?;
    let mut object = Map::new();
    object.insert("kind".into(), walked.kind.name().into());
    for (name, node) in &walked.fields {
        object.insert((*name).into(), node_to_json(node));
    }
    Ok(Value::Object(object))
}

fn node_to_json(node: &Node<'_>) -> Value {
    match &node.value {
        Field::Text(s) => Value::String((*s).to_owned()),
        Field::Bytes(b) => bytes_json(b),
        Field::Int(v) => (*v).into(),
        Field::U32(v) => (*v).into(),
        Field::U8(v) | Field::BitOp(v) => (*v).into(),
        Field::Bool(v) => (*v).into(),
        Field::F64(v) => float_json(format!("{v:?}"), format!("{:#018x}", v.to_bits())),
        Field::F32(v) => float_json(format!("{v:?}"), format!("{:#010x}", v.to_bits())),
        Field::List(items) => Value::Array(
            items
                .iter()
                .map(|parts| match parts.as_slice() {
                    [one] => node_to_json(one),
                    many => Value::Array(many.iter().map(node_to_json).collect()),
                })
                .collect(),
        ),
    }
}

fn bytes_json(bytes: &[u8]) -> Value {
    let mut object = Map::new();
    object.insert("hex".into(), hex(bytes).into());
    if let Ok(text) = std::str::from_utf8(bytes) {
        object.insert("text".into(), text.into());
    }
    Value::Object(object)
}

fn float_json(value: String, bits: String) -> Value {
    let mut object = Map::new();
    object.insert("value".into(), value.into());
    object.insert("bits".into(), bits.into());
    Value::Object(object)
}

/// Lowercase hex, two digits a byte.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of lowercase hex (two digits a byte); `None` for anything else.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let raw = text.as_bytes();
    if !raw.len().is_multiple_of(2) {
        return None;
    }
    raw.chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// The record a JSON value describes.
pub fn record_from_json(value: &Value) -> Result<AofRecord, JsonError> {
    let object = value.as_object().ok_or_else(|| JsonError {
        path: String::new(),
        problem: JsonProblem::WrongType("an object"),
    })?;
    let err = |path: &str, problem| JsonError {
        path: path.to_owned(),
        problem,
    };
    let name = match object.get("kind") {
        None => return Err(err("kind", JsonProblem::Missing)),
        Some(v) => v
            .as_str()
            .ok_or_else(|| err("kind", JsonProblem::WrongType("a string")))?,
    };
    let kind = RecordKind::ALL
        .iter()
        .copied()
        .find(|k| k.name() == name)
        .ok_or_else(|| err("kind", JsonProblem::UnknownKind(name.to_owned())))?;
    let fields = kind.fields();
    if let Some(extra) = object
        .keys()
        .find(|k| *k != "kind" && !fields.iter().any(|(name, _)| name == k))
    {
        return Err(err(extra, JsonProblem::UnknownField));
    }
    let mut bytes = vec![kind.tag()];
    for (name, layout) in &fields {
        let value = object
            .get(*name)
            .ok_or_else(|| err(name, JsonProblem::Missing))?;
        encode(value, layout, name, &mut bytes)?;
    }
    // The codec has the last word on every domain (non-negative fields, flags, BITOP ops,
    // limits), so JSON can never produce a record the reader would refuse.
    let record = eaof::RecordRef::decode(&bytes)
        .map_err(|e| err(e.field, JsonProblem::Decode(e)))?
        .to_record();
    Ok(record)
}

fn encode(value: &Value, layout: &Layout, path: &str, out: &mut Vec<u8>) -> Result<(), JsonError> {
    let err = |problem| JsonError {
        path: path.to_owned(),
        problem,
    };
    let int = |value: &Value| match value.as_i64() {
        Some(v) => Ok(v),
        None if value.is_u64() => Err(err(JsonProblem::OutOfRange)),
        None => Err(err(JsonProblem::WrongType("an integer"))),
    };
    let unsigned = |value: &Value, max: u64| match value.as_u64() {
        Some(v) if v <= max => Ok(v),
        Some(_) => Err(err(JsonProblem::OutOfRange)),
        None if value.is_i64() => Err(err(JsonProblem::OutOfRange)),
        None => Err(err(JsonProblem::WrongType("an integer"))),
    };
    match layout {
        // The bytes of a text in the hex form are checked as UTF-8 by the codec (below,
        // in `record_from_json`), so text that is not UTF-8 is out of its domain.
        Layout::Text if value.is_object() => {
            let bytes = bytes_from_json(value, path)?;
            put_prefixed(&bytes, out).map_err(err)?;
        }
        Layout::Text => {
            let text = value
                .as_str()
                .ok_or(err(JsonProblem::WrongType("a string (or {\"hex\": ...})")))?;
            put_prefixed(text.as_bytes(), out).map_err(err)?;
        }
        Layout::Bytes => {
            let bytes = bytes_from_json(value, path)?;
            put_prefixed(&bytes, out).map_err(err)?;
        }
        Layout::I64 | Layout::NonNegativeI64 => out.extend_from_slice(&int(value)?.to_le_bytes()),
        Layout::U32 => {
            out.extend_from_slice(&(unsigned(value, u32::MAX.into())? as u32).to_le_bytes())
        }
        Layout::U8 | Layout::BitOp => out.push(unsigned(value, u8::MAX.into())? as u8),
        Layout::Bool => out.push(u8::from(
            value
                .as_bool()
                .ok_or(err(JsonProblem::WrongType("true or false")))?,
        )),
        Layout::F64 => {
            let bits = float_bits(value, path, 16, |s| s.parse::<f64>().ok().map(f64::to_bits))?;
            out.extend_from_slice(&bits.to_le_bytes());
        }
        Layout::F32 => {
            let bits = float_bits(value, path, 8, |s| {
                s.parse::<f32>().ok().map(|v| u64::from(v.to_bits()))
            })?;
            out.extend_from_slice(&(bits as u32).to_le_bytes());
        }
        Layout::List { item, max } => {
            let items = value
                .as_array()
                .ok_or(err(JsonProblem::WrongType("an array")))?;
            let count = u32::try_from(items.len())
                .ok()
                .filter(|n| n <= max)
                .ok_or(err(JsonProblem::OutOfRange))?;
            out.extend_from_slice(&count.to_le_bytes());
            for (i, value) in items.iter().enumerate() {
                let path = format!("{path}[{i}]");
                match item.as_slice() {
                    [one] => encode(value, one, &path, out)?,
                    parts => {
                        let values = value
                            .as_array()
                            .filter(|a| a.len() == parts.len())
                            .ok_or_else(|| JsonError {
                                path: path.clone(),
                                problem: JsonProblem::WrongType("an array of the item's parts"),
                            })?;
                        for (j, (value, part)) in values.iter().zip(parts).enumerate() {
                            encode(value, part, &format!("{path}[{j}]"), out)?;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

fn put_prefixed(bytes: &[u8], out: &mut Vec<u8>) -> Result<(), JsonProblem> {
    let len = u32::try_from(bytes.len())
        .ok()
        .filter(|n| *n <= FIELD_LEN_MAX)
        .ok_or(JsonProblem::OutOfRange)?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

fn bytes_from_json(value: &Value, path: &str) -> Result<Vec<u8>, JsonError> {
    let err = |path: String, problem| JsonError { path, problem };
    let object = value.as_object().ok_or_else(|| {
        err(
            path.into(),
            JsonProblem::WrongType("an object {\"hex\": ...}"),
        )
    })?;
    if let Some(extra) = object.keys().find(|k| *k != "hex" && *k != "text") {
        return Err(err(format!("{path}.{extra}"), JsonProblem::UnknownField));
    }
    let hex_path = || format!("{path}.hex");
    let hex = object
        .get("hex")
        .ok_or_else(|| err(hex_path(), JsonProblem::Missing))?
        .as_str()
        .ok_or_else(|| err(hex_path(), JsonProblem::WrongType("a string")))?;
    let bytes = unhex(hex).ok_or_else(|| err(hex_path(), JsonProblem::InvalidHex))?;
    if let Some(text) = object.get("text") {
        if text.as_str().map(str::as_bytes) != Some(bytes.as_slice()) {
            return Err(err(format!("{path}.text"), JsonProblem::TextMismatch));
        }
    }
    Ok(bytes)
}

/// The bit pattern of a float object; `parse` reads a `value` into the same kind of bits.
fn float_bits(
    value: &Value,
    path: &str,
    digits: usize,
    parse: impl Fn(&str) -> Option<u64>,
) -> Result<u64, JsonError> {
    let err = |path: String, problem| JsonError { path, problem };
    let object = value.as_object().ok_or_else(|| {
        err(
            path.into(),
            JsonProblem::WrongType("an object {\"bits\": \"0x...\"}"),
        )
    })?;
    if let Some(extra) = object.keys().find(|k| *k != "bits" && *k != "value") {
        return Err(err(format!("{path}.{extra}"), JsonProblem::UnknownField));
    }
    let bits_path = || format!("{path}.bits");
    let text = object
        .get("bits")
        .ok_or_else(|| err(bits_path(), JsonProblem::Missing))?
        .as_str()
        .ok_or_else(|| err(bits_path(), JsonProblem::WrongType("a string")))?;
    let bits = text
        .strip_prefix("0x")
        .filter(|h| h.len() == digits && unhex(h).is_some())
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .ok_or_else(|| err(bits_path(), JsonProblem::InvalidHex))?;
    if let Some(shown) = object.get("value") {
        let shown = shown
            .as_str()
            .ok_or_else(|| err(format!("{path}.value"), JsonProblem::WrongType("a string")))?;
        let agrees = match parse(shown) {
            // Any NaN spelling agrees with any NaN pattern: `bits` carries the payload.
            Some(parsed) if is_nan(parsed, digits) => is_nan(bits, digits),
            Some(parsed) => parsed == bits,
            None => false,
        };
        if !agrees {
            return Err(err(format!("{path}.value"), JsonProblem::FloatMismatch));
        }
    }
    Ok(bits)
}

fn is_nan(bits: u64, digits: usize) -> bool {
    if digits == 16 {
        f64::from_bits(bits).is_nan()
    } else {
        f32::from_bits(bits as u32).is_nan()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use serde_json::json;

    #[test]
    fn extreme_floats_round_trip_bit_for_bit() {
        let scores = [
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::from_bits(0xfff0_0000_0000_0001),
            5e-324,
        ];
        let record = AofRecord::ZAdd {
            key: "z".into(),
            members: scores.iter().map(|s| (*s, "m".into())).collect(),
        };
        let back = record_from_json(&record_to_json(&record).unwrap()).unwrap();
        assert_eq!(back.to_bytes().unwrap(), record.to_bytes().unwrap());
    }

    #[test]
    fn bytes_carry_a_text_reading_aid_only_when_utf8() {
        let record = AofRecord::Append {
            key: "k".into(),
            value: Bytes::from_static(b"\xff\x00"),
        };
        let value = record_to_json(&record).unwrap();
        assert_eq!(value["value"], json!({"hex": "ff00"}));
    }

    #[test]
    fn a_value_disagreeing_with_its_bits_is_refused() {
        let value = json!({"kind": "ZADD", "key": "z", "members": [[{"value": "1.0", "bits": "0x0000000000000000"}, "m"]]});
        let error = record_from_json(&value).unwrap_err();
        assert_eq!(error.problem, JsonProblem::FloatMismatch);
        assert_eq!(error.path, "members[0][0].value");
    }

    #[test]
    fn out_of_domain_fields_are_refused_by_the_codec() {
        let value = json!({"kind": "BITOP", "op": 4, "dest": "d", "keys": []});
        let error = record_from_json(&value).unwrap_err();
        assert!(matches!(error.problem, JsonProblem::Decode(_)));
        let value = json!({"kind": "EXPIRE", "key": "k", "seconds": -1});
        assert!(matches!(
            record_from_json(&value).unwrap_err().problem,
            JsonProblem::Decode(_)
        ));
    }

    #[test]
    fn a_text_in_the_hex_form_is_the_same_text_and_not_utf8_is_out_of_domain() {
        let plain = record_from_json(&json!({"kind": "DEL", "key": "key"})).unwrap();
        let hex = record_from_json(&json!({"kind": "DEL", "key": {"hex": "6b6579"}})).unwrap();
        assert_eq!(hex.to_bytes().unwrap(), plain.to_bytes().unwrap());
        for bad in ["eda080", "ff", "c080"] {
            let error = record_from_json(&json!({"kind": "DEL", "key": {"hex": bad}})).unwrap_err();
            assert!(matches!(error.problem, JsonProblem::Decode(_)), "{bad}");
            assert_eq!(error.problem.class(), OUT_OF_DOMAIN, "{bad}");
        }
        let disagreeing = json!({"kind": "DEL", "key": {"hex": "61", "text": "b"}});
        let error = record_from_json(&disagreeing).unwrap_err();
        assert_eq!(error.problem, JsonProblem::TextMismatch);
        assert_eq!(error.problem.class(), BAD_REQUEST);
    }

    #[test]
    fn a_wrong_json_shape_is_a_bad_request_and_a_value_out_of_range_is_out_of_domain() {
        let shapes = [
            json!({"kind": "COPY", "source": "a", "destination": "b", "replace": 1}),
            json!({"kind": "EXPIRE", "key": "k", "seconds": 1.0}),
            json!({"kind": "EXPIRE", "key": "k", "seconds": "1"}),
            json!({"kind": "ZADD", "key": "z", "members": [[{"bits": "0x3ff0000000000000", "value": 1.0}, "m"]]}),
        ];
        for value in &shapes {
            let error = record_from_json(value).unwrap_err();
            assert_eq!(error.problem.class(), BAD_REQUEST, "{value}: {error}");
        }
        let domains = [
            json!({"kind": "SETBIT", "key": "k", "offset": 0, "value": 256}),
            json!({"kind": "EXPIRE", "key": "k", "seconds": u64::MAX}),
            json!({"kind": "LSET", "key": "k", "index": 1u64 << 63, "value": {"hex": ""}}),
        ];
        for value in &domains {
            let error = record_from_json(value).unwrap_err();
            assert_eq!(error.problem.class(), OUT_OF_DOMAIN, "{value}: {error}");
        }
    }

    #[test]
    fn unknown_and_missing_fields_are_refused() {
        let extra = json!({"kind": "DEL", "key": "k", "value": 1});
        assert_eq!(
            record_from_json(&extra).unwrap_err().problem,
            JsonProblem::UnknownField
        );
        let missing = json!({"kind": "DEL"});
        assert_eq!(
            record_from_json(&missing).unwrap_err().problem,
            JsonProblem::Missing
        );
        let unknown = json!({"kind": "FLUSHALL"});
        assert!(matches!(
            record_from_json(&unknown).unwrap_err().problem,
            JsonProblem::UnknownKind(_)
        ));
    }
}
