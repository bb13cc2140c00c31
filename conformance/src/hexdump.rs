//! An annotated hex dump of an EAOF file: every byte shown once, in file order, labelled
//! with what it is.
//!
//! Guarantees: the dump is a pure function of the file's bytes and key (no paths, times or
//! randomness), so it can be a snapshot; every byte of the file appears in the hex column of
//! exactly one line, except damage beyond [`DAMAGE_SHOWN_MAX`] bytes, whose count is given;
//! each intact record is split into its tag, each field's length or count prefix and value
//! (named as in [`crate::json`] paths: `members[0][1]`), and its CRC32, or for version 3 its
//! nonce, sealed length, ciphertext and GCM tag, followed by the decrypted plaintext split the
//! same way (offsets `+n` inside the plaintext). The dump ends with the reader's verdict.

use std::fmt::Write as _;

use eaof::encryption::{EncryptionKey, NONCE_SIZE, TAG_SIZE};
use eaof::format::{self, FormatError, HeaderState, HEADER_LEN};
use eaof::frame::{damage_of, Framer, Step, Verdict, CRC_LEN, SEALED_HEADER_LEN};

use crate::walk::{self, Node, Value};

/// Bytes shown per line.
pub const BYTES_PER_LINE: usize = 16;

/// Damaged bytes shown after the last intact record; the rest are counted, not shown.
pub const DAMAGE_SHOWN_MAX: usize = 4096;

/// Characters of a text value shown in a label before it is cut.
const LABEL_CHARS_MAX: usize = 40;

/// Dumps a whole file. Fails only where the reader cannot start: not an EAOF file, an
/// unsupported version, or a version 3 file without a key.
pub fn dump(bytes: &[u8], key: Option<&EncryptionKey>) -> Result<String, FormatError> {
    let mut out = Dump::default();
    let version = match format::parse_header(bytes, bytes.len() as u64)? {
        HeaderState::Partial { len } => {
            out.heading(&format!(
                "partial header ({len} of {HEADER_LEN} bytes): a crash while creating the file"
            ));
            out.span(Offset::File(0), bytes, "(partial header)");
            return Ok(out.text);
        }
        HeaderState::Complete { version } => version,
    };
    out.span(Offset::File(0), &bytes[..4], "magic \"EAOF\"");
    let what = match version {
        1 => "plaintext, read as version 2",
        2 => "plaintext: [tag][payload][crc32] per record",
        _ => "AES-256-GCM: [nonce][sealed_len][ciphertext][gcm_tag] per record",
    };
    out.span(
        Offset::File(4),
        &bytes[4..5],
        &format!("version {version} ({what})"),
    );
    let sealed = format::is_sealed(version);
    let mut framer = Framer::new(version, key)?;
    let mut pos = HEADER_LEN;
    let mut records = 0u64;
    let verdict = loop {
        let damage = match framer.step(bytes, pos) {
            Step::Record { len, .. } => Ok(len),
            Step::End => Err(None),
            other => Err(damage_of(&other)),
        };
        match damage {
            Ok(len) => {
                let frame = &bytes[pos..pos + len];
                if sealed {
                    out.sealed_record(records, pos, frame, &framer.plain);
                } else {
                    out.plain_record(records, pos, frame);
                }
                pos += len;
                records += 1;
            }
            Err(None) => {
                break Verdict::Clean {
                    records,
                    end: pos as u64,
                }
            }
            Err(Some(cause)) => break framer.judge(bytes, pos, records, cause),
        }
    };
    out.verdict(&verdict, bytes);
    Ok(out.text)
}

#[derive(Clone, Copy)]
enum Offset {
    /// A byte offset in the file.
    File(usize),
    /// A byte offset inside a decrypted plaintext.
    Plain(usize),
}

impl Offset {
    fn plus(self, n: usize) -> Offset {
        match self {
            Offset::File(o) => Offset::File(o + n),
            Offset::Plain(o) => Offset::Plain(o + n),
        }
    }
}

#[derive(Default)]
struct Dump {
    text: String,
}

impl Dump {
    fn heading(&mut self, text: &str) {
        let _ = writeln!(self.text, "-- {text}");
    }

    /// Lines for `bytes` at `at`, the label on the first; an empty span still gets its line.
    fn span(&mut self, at: Offset, bytes: &[u8], label: &str) {
        let mut chunks: Vec<&[u8]> = bytes.chunks(BYTES_PER_LINE).collect();
        if chunks.is_empty() {
            chunks.push(&[]);
        }
        for (i, chunk) in chunks.into_iter().enumerate() {
            let offset = match at.plus(i * BYTES_PER_LINE) {
                Offset::File(o) => format!("{o:08x}"),
                Offset::Plain(o) => format!("+{o:07x}"),
            };
            let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
            let label = if i == 0 { label } else { "" };
            let line = format!(
                "{offset}  {:<width$}  {label}",
                hex.join(" "),
                width = BYTES_PER_LINE * 3 - 1
            );
            let _ = writeln!(self.text, "{}", line.trim_end());
        }
    }

    fn plain_record(&mut self, index: u64, pos: usize, frame: &[u8]) {
        let (record, crc) = frame.split_at(frame.len() - CRC_LEN);
        self.heading(&format!(
            "record {index} at {pos:#x}: {}, {} bytes",
            kind_name(record),
            frame.len()
        ));
        self.fields(Offset::File(pos), record);
        let stored = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
        self.span(
            Offset::File(pos + record.len()),
            crc,
            &format!("crc32 {stored:#010x} (of tag and payload)"),
        );
    }

    fn sealed_record(&mut self, index: u64, pos: usize, frame: &[u8], plain: &[u8]) {
        self.heading(&format!(
            "record {index} at {pos:#x}: {}, {} bytes ({} bytes of plaintext)",
            kind_name(plain),
            frame.len(),
            plain.len()
        ));
        let (nonce, rest) = frame.split_at(NONCE_SIZE);
        let (len, sealed) = rest.split_at(SEALED_HEADER_LEN - NONCE_SIZE);
        let (ciphertext, tag) = sealed.split_at(sealed.len() - TAG_SIZE);
        let sealed_len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]);
        let mut at = pos;
        self.span(Offset::File(at), nonce, "nonce");
        at += NONCE_SIZE;
        self.span(
            Offset::File(at),
            len,
            &format!("sealed_len {sealed_len} (ciphertext and gcm tag)"),
        );
        at += len.len();
        self.span(
            Offset::File(at),
            ciphertext,
            &format!("ciphertext ({} bytes)", ciphertext.len()),
        );
        at += ciphertext.len();
        self.span(Offset::File(at), tag, "gcm_tag");
        let _ = writeln!(self.text, "   plaintext:");
        self.fields(Offset::Plain(0), plain);
    }

    /// The tag and every field of a record's plaintext (tag + payload).
    fn fields(&mut self, base: Offset, record: &[u8]) {
        match walk::walk(record) {
            Ok(walked) => {
                let kind = walked.kind;
                self.span(
                    base,
                    &record[..1],
                    &format!("tag {} {}", kind.tag(), kind.name()),
                );
                for (name, node) in &walked.fields {
                    self.node(base, record, name, node);
                }
            }
            // Unreachable for a record the framer called intact; shown raw rather than lost.
            Err(e) => self.span(base, record, &format!("(does not walk: {e})")),
        }
    }

    fn node(&mut self, base: Offset, record: &[u8], path: &str, node: &Node<'_>) {
        if let Some(prefix) = &node.prefix {
            let n = u32::from_le_bytes(record[prefix.clone()].try_into().unwrap_or([0; 4]));
            let (what, empty) = match node.value {
                Value::List(_) => ("count", "(empty list)"),
                _ => ("len", "(empty)"),
            };
            let label = if n == 0 {
                format!("{path}.{what} 0 {empty}")
            } else {
                format!("{path}.{what} {n}")
            };
            self.span(base.plus(prefix.start), &record[prefix.clone()], &label);
            if n == 0 {
                return;
            }
        }
        let body = &record[node.body.clone()];
        let at = base.plus(node.body.start);
        let shown = match &node.value {
            Value::Text(s) => show_text(s),
            Value::Bytes(b) => match std::str::from_utf8(b) {
                Ok(s) if !s.chars().any(char::is_control) => show_text(s),
                _ => format!("<{} bytes>", b.len()),
            },
            Value::Int(v) => v.to_string(),
            Value::U32(v) => v.to_string(),
            Value::U8(v) => v.to_string(),
            Value::Bool(v) => v.to_string(),
            Value::BitOp(v) => {
                let name = ["AND", "OR", "XOR", "NOT"].get(*v as usize).unwrap_or(&"?");
                format!("{v} ({name})")
            }
            Value::F64(v) => format!("{v:?} (bits {:#018x})", v.to_bits()),
            Value::F32(v) => format!("{v:?} (bits {:#010x})", v.to_bits()),
            Value::List(items) => {
                for (i, parts) in items.iter().enumerate() {
                    match parts.as_slice() {
                        [one] => self.node(base, record, &format!("{path}[{i}]"), one),
                        many => {
                            for (j, part) in many.iter().enumerate() {
                                self.node(base, record, &format!("{path}[{i}][{j}]"), part);
                            }
                        }
                    }
                }
                return;
            }
        };
        self.span(at, body, &format!("{path} {shown}"));
    }

    fn verdict(&mut self, verdict: &Verdict, bytes: &[u8]) {
        let damage_from = match verdict {
            Verdict::Clean { records, end } => {
                self.heading(&format!("clean end at {end:#x}: {}", records_n(*records)));
                return;
            }
            Verdict::TornTail {
                records,
                offset,
                len,
                cause,
            } => {
                self.heading(&format!(
                    "torn tail at {offset:#x} after {}: {len} bytes ({cause}); \
                     cutting them loses no intact record",
                    records_n(*records)
                ));
                *offset as usize
            }
            Verdict::Corrupt {
                records,
                offset,
                next_intact,
                cause,
            } => {
                self.heading(&format!(
                    "corrupt at {offset:#x} after {} ({cause}); \
                     an intact record starts at {next_intact:#x}",
                    records_n(*records)
                ));
                *offset as usize
            }
        };
        let damage = bytes.get(damage_from..).unwrap_or_default();
        let shown = &damage[..damage.len().min(DAMAGE_SHOWN_MAX)];
        self.span(Offset::File(damage_from), shown, "(not read as a record)");
        if shown.len() < damage.len() {
            self.heading(&format!(
                "{} more bytes not shown",
                damage.len() - shown.len()
            ));
        }
    }
}

fn records_n(n: u64) -> String {
    if n == 1 {
        "1 record".into()
    } else {
        format!("{n} records")
    }
}

fn kind_name(record: &[u8]) -> &'static str {
    record
        .first()
        .and_then(|&tag| eaof::RecordKind::from_tag(tag))
        .map_or("?", eaof::RecordKind::name)
}

/// A text value as a quoted, escaped string, cut after [`LABEL_CHARS_MAX`] characters.
fn show_text(s: &str) -> String {
    match s.char_indices().nth(LABEL_CHARS_MAX) {
        None => format!("{s:?}"),
        Some((cut, _)) => format!("{:?}... ({} bytes)", &s[..cut], s.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use eaof::AofRecord;

    fn v2_file(records: &[AofRecord]) -> Vec<u8> {
        let mut bytes = format::header(2).to_vec();
        for r in records {
            let start = bytes.len();
            r.encode_into(&mut bytes).unwrap();
            let crc = format::crc32(&bytes[start..]);
            bytes.extend_from_slice(&crc.to_le_bytes());
        }
        bytes
    }

    /// Every byte of the file, read back from the hex column in order.
    fn hex_column(dump: &str) -> Vec<u8> {
        dump.lines()
            .filter(|l| !l.starts_with("--") && !l.starts_with("   plaintext"))
            .filter(|l| !l.starts_with('+'))
            .flat_map(|l| {
                let hex = l
                    .get(10..10 + BYTES_PER_LINE * 3 - 1)
                    .unwrap_or(&l[10.min(l.len())..]);
                hex.split_whitespace()
                    .map(|h| u8::from_str_radix(h, 16).unwrap())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn every_byte_appears_once_in_order() {
        let bytes = v2_file(&[
            AofRecord::Set {
                key: "k".into(),
                value: Bytes::from(vec![7u8; 40]),
                expire_ms: -1,
            },
            AofRecord::ZAdd {
                key: "z".into(),
                members: vec![],
            },
        ]);
        let dump = dump(&bytes, None).unwrap();
        assert_eq!(hex_column(&dump), bytes);
        let end = format!("-- clean end at {:#x}: 2 records\n", bytes.len());
        assert!(dump.ends_with(&end), "{dump}");
    }

    #[test]
    fn a_torn_tail_is_shown_and_judged() {
        let mut bytes = v2_file(&[AofRecord::Del { key: "k".into() }]);
        let tail = bytes.len();
        bytes.extend_from_slice(&[2, 9, 0]);
        let dump = dump(&bytes, None).unwrap();
        assert_eq!(hex_column(&dump), bytes);
        let torn = format!("-- torn tail at {tail:#x} after 1 record: 3 bytes");
        assert!(dump.contains(&torn), "{dump}");
    }

    #[test]
    fn a_file_of_another_kind_is_refused() {
        assert!(matches!(
            dump(b"NOPE\x02", None),
            Err(FormatError::InvalidMagic)
        ));
    }
}
