//! Writing one record as a JSON line of `inspect --json`, as it is walked:
//! `{"offset":5,"len":34,"kind":"SET","key":"greeting","value":{"hex":"68656c6c6f","text":"hello"},"expire_ms":-1}`.
//!
//! The file offset is `offset`, except for the kinds whose records have a field of that name
//! (SETRANGE and SETBIT), where it is `file_offset`: a JSON object with two `offset` keys
//! would lose one (the listing before this change lost the file offset of those records).
//!
//! Guarantees: without its position (`offset` or `file_offset`, `len`) and `after_damage`,
//! the object is byte for byte what
//! `serde_json` writes for `eaof_conformance::json::bytes_to_json` of the record (the
//! lossless record JSON of the test vectors): a test holds the two together on every
//! fixture record and on random records. Nothing is built per record: strings are escaped
//! by serde_json straight into the output, integers formatted by itoa, bytes written as hex
//! from a table.

use std::io::{self, Write};

use crate::fields::{self, Scalar, Show};

/// Writes the JSON line of the record at `offset`, `len` bytes framed, whose tag and
/// payload are `plain`; `after_damage` marks a record read after the first damage.
pub fn write_record(
    out: &mut impl Write,
    offset: u64,
    len: u64,
    after_damage: bool,
    plain: &[u8],
) -> io::Result<()> {
    let mut num = itoa::Buffer::new();
    let kind = plain.first().and_then(|&t| eaof::RecordKind::from_tag(t));
    out.write_all(b"{\"")?;
    out.write_all(position_key(kind).as_bytes())?;
    out.write_all(b"\":")?;
    out.write_all(num.format(offset).as_bytes())?;
    out.write_all(b",\"len\":")?;
    out.write_all(num.format(len).as_bytes())?;
    if after_damage {
        out.write_all(b",\"after_damage\":true")?;
    }
    out.write_all(b",\"kind\":\"")?;
    out.write_all(kind.map_or("?", |k| k.name()).as_bytes())?;
    out.write_all(b"\"")?;
    fields::walk(plain, &mut JsonFields(out))?;
    out.write_all(b"}\n")
}

/// The key of a record's file offset: `offset`, or `file_offset` when the record has a
/// field named `offset`.
pub fn position_key(kind: Option<eaof::RecordKind>) -> &'static str {
    match kind {
        Some(kind) if fields::has_field(kind, "offset") => "file_offset",
        _ => "offset",
    }
}

/// Writes fields as JSON members, after the record object's `kind`.
struct JsonFields<'w, W: Write>(&'w mut W);

impl<W: Write> Show for JsonFields<'_, W> {
    fn field(&mut self, _first: bool, name: &'static str) -> io::Result<()> {
        // Field names are identifiers of the record table: nothing to escape.
        self.0.write_all(b",\"")?;
        self.0.write_all(name.as_bytes())?;
        self.0.write_all(b"\":")
    }

    fn scalar(&mut self, value: Scalar<'_>) -> io::Result<()> {
        let out = &mut *self.0;
        let mut num = itoa::Buffer::new();
        match value {
            Scalar::Text(s) => text(out, s),
            Scalar::Bytes(b) => {
                out.write_all(b"{\"hex\":\"")?;
                write_hex(out, b)?;
                out.write_all(b"\"")?;
                if plain(b) {
                    out.write_all(b",\"text\":")?;
                    quoted(out, b)?;
                } else if let Ok(text) = std::str::from_utf8(b) {
                    out.write_all(b",\"text\":")?;
                    string(out, text)?;
                }
                out.write_all(b"}")
            }
            Scalar::Int(v) => out.write_all(num.format(v).as_bytes()),
            Scalar::U32(v) => out.write_all(num.format(v).as_bytes()),
            Scalar::U8(v) | Scalar::BitOp(v) => out.write_all(num.format(v).as_bytes()),
            Scalar::Bool(v) => out.write_all(if v { b"true" } else { b"false" }),
            Scalar::F64(v) => float(out, &format!("{v:?}"), &format!("{:#018x}", v.to_bits())),
            Scalar::F32(v) => float(out, &format!("{v:?}"), &format!("{:#010x}", v.to_bits())),
        }
    }

    fn open_list(&mut self, count: u32) -> io::Result<u32> {
        self.0.write_all(b"[")?;
        Ok(count)
    }

    fn open_item(&mut self, index: u32, parts: usize) -> io::Result<()> {
        if index > 0 {
            self.0.write_all(b",")?;
        }
        if parts > 1 {
            self.0.write_all(b"[")?;
        }
        Ok(())
    }

    fn between_parts(&mut self) -> io::Result<()> {
        self.0.write_all(b",")
    }

    fn close_item(&mut self, parts: usize) -> io::Result<()> {
        if parts > 1 {
            self.0.write_all(b"]")?;
        }
        Ok(())
    }

    fn close_list(&mut self, _count: u32, _shown: u32) -> io::Result<()> {
        self.0.write_all(b"]")
    }
}

/// Whether every byte is printable ASCII other than `"` and `\`: a JSON string of these
/// bytes is the bytes between quotes (nothing to escape).
fn plain(b: &[u8]) -> bool {
    b.iter()
        .all(|&c| (b' '..=b'~').contains(&c) && c != b'"' && c != b'\\')
}

fn quoted(out: &mut impl Write, b: &[u8]) -> io::Result<()> {
    out.write_all(b"\"")?;
    out.write_all(b)?;
    out.write_all(b"\"")
}

/// A text field's bytes as a JSON string: as they are when nothing needs escaping, else
/// checked to be UTF-8 and escaped by serde_json.
fn text(out: &mut impl Write, b: &[u8]) -> io::Result<()> {
    if plain(b) {
        return quoted(out, b);
    }
    string(out, std::str::from_utf8(b).map_err(io::Error::other)?)
}

/// A JSON string, escaped as serde_json escapes it.
fn string(out: &mut impl Write, s: &str) -> io::Result<()> {
    serde_json::to_writer(out, s).map_err(io::Error::from)
}

fn float(out: &mut impl Write, value: &str, bits: &str) -> io::Result<()> {
    out.write_all(b"{\"value\":")?;
    string(out, value)?;
    out.write_all(b",\"bits\":")?;
    string(out, bits)?;
    out.write_all(b"}")
}

/// Lowercase hex, two digits a byte, written in pieces (a value of any size takes no more
/// memory than one piece).
pub fn write_hex(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut piece = [0u8; 256];
    for chunk in bytes.chunks(piece.len() / 2) {
        for (i, &b) in chunk.iter().enumerate() {
            piece[2 * i] = DIGITS[usize::from(b >> 4)];
            piece[2 * i + 1] = DIGITS[usize::from(b & 0xf)];
        }
        out.write_all(&piece[..2 * chunk.len()])?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use eaof::scanner::Scanner;
    use eaof::AofRecord;
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    /// Every record of the golden fixtures (plaintext ones; the sealed set holds the same).
    pub(crate) fn fixture_records() -> Vec<AofRecord> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/v2");
        let mut records = Vec::new();
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "aof"))
            .collect();
        names.sort();
        for path in names {
            let bytes = std::fs::read(&path).unwrap();
            let mut scanner = Scanner::new(&bytes, None).unwrap();
            while let Some((_, record)) = scanner.next_record() {
                records.push(record.to_record());
            }
        }
        assert!(records.len() > 200, "{} fixture records", records.len());
        records
    }

    /// The line `inspect --json` wrote before it streamed: serde_json's output of the
    /// conformance crate's record JSON, with `offset` and `len` first.
    fn line_as_before(offset: u64, len: u64, plain: &[u8]) -> String {
        let object = eaof_conformance::json::bytes_to_json(plain).unwrap();
        let mut line = Map::new();
        let kind = eaof::RecordKind::from_tag(plain[0]);
        line.insert(position_key(kind).into(), offset.into());
        line.insert("len".into(), len.into());
        if let Value::Object(fields) = object {
            line.extend(fields);
        }
        format!("{}\n", Value::Object(line))
    }

    fn assert_as_before(record: &AofRecord) {
        let mut plain = Vec::new();
        record.encode_into(&mut plain).unwrap();
        let mut out = Vec::new();
        write_record(&mut out, 12345, 678, false, &plain).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            line_as_before(12345, 678, &plain),
            "{record:?}"
        );
    }

    #[test]
    fn fixture_records_are_written_as_before() {
        for record in fixture_records() {
            assert_as_before(&record);
        }
    }

    /// The records with an `offset` field keep it, and their file offset is `file_offset`.
    #[test]
    fn an_offset_field_and_the_file_offset_are_both_kept() {
        let record = AofRecord::SetBit {
            key: "k".into(),
            offset: 77,
            value: 1,
        };
        let mut plain = Vec::new();
        record.encode_into(&mut plain).unwrap();
        let mut out = Vec::new();
        write_record(&mut out, 1234, 30, false, &plain).unwrap();
        let object: Map<String, Value> = serde_json::from_slice(&out).unwrap();
        assert_eq!(object["file_offset"], 1234);
        assert_eq!(object["offset"], 77);
        assert_eq!(object.len(), 3 + 3, "{object:?}");
    }

    #[test]
    fn a_record_after_damage_is_marked_and_otherwise_the_same() {
        let record = AofRecord::Del { key: "k".into() };
        let mut plain = Vec::new();
        record.encode_into(&mut plain).unwrap();
        let mut out = Vec::new();
        write_record(&mut out, 1, 2, true, &plain).unwrap();
        let mut object: Map<String, Value> = serde_json::from_slice(&out).unwrap();
        assert_eq!(object.remove("after_damage"), Some(Value::Bool(true)));
        object.remove("offset");
        object.remove("len");
        assert_eq!(
            eaof_conformance::json::record_from_json(&Value::Object(object)).unwrap(),
            record
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// Any record is written as before: strings escaped as serde_json escapes them,
        /// bytes as hex with their text, floats with their bits, 64-bit integers exact.
        #[test]
        fn any_record_is_written_as_before(record in eaof_model::gen::any_record()) {
            assert_as_before(&record);
        }
    }
}
