//! Saying where damage is and what it is, for people: the byte, the record kind and the
//! field, and one line per verdict.
//!
//! Guarantees: every description of damage names a file byte offset; it names the record's
//! kind whenever the bytes say it (a plaintext tag, or a sealed record that authenticates),
//! and the field whenever one is to blame. Descriptions are computed from the file's bytes
//! and the verdict alone (nothing here reads or writes a file).

use std::fmt;

use eaof::codec::{record_len, Problem};
use eaof::encryption::{EncryptionKey, Sealer, NONCE_SIZE};
use eaof::format::{self, HEADER_LEN};
use eaof::frame::{self, Damage, Step, Verdict, CRC_LEN, SEALED_HEADER_LEN};
use eaof::RecordKind;

use crate::salvage::Salvage;

/// Where a problem is: a file byte, what is there (a record, the header), the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The file byte the problem is at (the field's, when a field is named).
    pub byte: u64,
    /// `record SET`, `record SET (at byte 1234)`, `sealed record`, `header`...
    pub what: Option<String>,
    pub field: Option<&'static str>,
    pub problem: String,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte {}: ", self.byte)?;
        match (&self.what, self.field) {
            (Some(what), Some(field)) => write!(f, "{what} field `{field}`: ")?,
            (Some(what), None) => write!(f, "{what}: ")?,
            (None, Some(field)) => write!(f, "field `{field}`: ")?,
            (None, None) => {}
        }
        f.write_str(&self.problem)
    }
}

/// Locates the damage `cause` found at file byte `offset` of `bytes`, a file of `version`
/// (the version its records are framed by) read with `key`.
pub fn locate(
    bytes: &[u8],
    version: u8,
    key: Option<&EncryptionKey>,
    offset: u64,
    cause: &Damage,
) -> Located {
    let o = offset as usize;
    let rest = bytes.get(o..).unwrap_or_default();
    let sealed = format::is_sealed(version);
    let plain_kind = || rest.first().and_then(|&t| RecordKind::from_tag(t));
    let record = |at: u64, kind: Option<RecordKind>| {
        let name = kind.map_or_else(|| "record".to_owned(), |k| format!("record {}", k.name()));
        if at == offset {
            name
        } else {
            format!("{name} (at byte {offset})")
        }
    };
    let at =
        |byte: u64, what: Option<String>, field: Option<&'static str>, problem: String| Located {
            byte,
            what,
            field,
            problem,
        };
    match cause {
        Damage::PartialHeader { len: 0 } => at(
            0,
            Some("header".into()),
            None,
            "missing: the file is empty (a crash right after it was created)".into(),
        ),
        Damage::PartialHeader { len } => at(
            0,
            Some("header".into()),
            None,
            format!(
                "{len} of {HEADER_LEN} bytes: torn by a crash while the file was being created"
            ),
        ),
        Damage::Zeros { len } => at(
            offset,
            None,
            None,
            format!(
                "{len} zero bytes to the end of the file (space the file grew by before its \
                 data landed)"
            ),
        ),
        Damage::Truncated if sealed => match rest.get(NONCE_SIZE..SEALED_HEADER_LEN) {
            None => at(
                offset,
                Some("sealed record".into()),
                None,
                format!(
                    "{} of the {SEALED_HEADER_LEN} bytes of its nonce and length: runs past \
                     the end of the file",
                    rest.len()
                ),
            ),
            Some(len) => {
                let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]);
                at(
                    offset + NONCE_SIZE as u64,
                    Some(format!("sealed record (at byte {offset})")),
                    Some("sealed_len"),
                    format!(
                        "{len} bytes of ciphertext and tag, but {} remain: runs past the end \
                         of the file",
                        rest.len().saturating_sub(SEALED_HEADER_LEN)
                    ),
                )
            }
        },
        Damage::Truncated => match record_len(rest) {
            Err(e) => {
                let byte = offset + e.offset;
                let needed = match e.problem {
                    Problem::Truncated { needed } => format!(" ({needed} more bytes needed)"),
                    _ => String::new(),
                };
                at(
                    byte,
                    Some(record(byte, plain_kind())),
                    Some(e.field),
                    format!("runs past the end of the file{needed}"),
                )
            }
            Ok(len) => {
                let byte = offset + len as u64;
                at(
                    byte,
                    Some(record(byte, plain_kind())),
                    Some("crc32"),
                    format!(
                        "{} of its {CRC_LEN} bytes: runs past the end of the file",
                        rest.len().saturating_sub(len)
                    ),
                )
            }
        },
        Damage::Unframeable(e) => {
            let byte = offset + e.offset;
            let what = if sealed {
                format!("sealed record (at byte {offset})")
            } else {
                record(byte, plain_kind())
            };
            let what = (!matches!(e.problem, Problem::UnknownTag(_))).then_some(what);
            at(byte, what, Some(e.field), problem_text(e.problem))
        }
        Damage::ChecksumMismatch { stored, computed } => {
            let len = record_len(rest).unwrap_or(0);
            let byte = offset + len as u64;
            at(
                byte,
                Some(record(byte, plain_kind())),
                Some("crc32"),
                format!(
                    "stored {stored:#010x}, but bytes {offset}..{byte} give {computed:#010x}: \
                     the record is damaged"
                ),
            )
        }
        Damage::Unauthenticated => at(
            offset,
            Some("sealed record".into()),
            None,
            "does not authenticate: its bytes are damaged (or it was sealed with another key)"
                .into(),
        ),
        Damage::Invalid(e) if sealed => {
            let kind = key.and_then(|key| {
                let mut plain = Vec::new();
                match frame::step(Some(&Sealer::new(key)), &mut plain, bytes, o) {
                    Step::Failed(_) => plain.first().and_then(|&t| RecordKind::from_tag(t)),
                    _ => None,
                }
            });
            let name = kind.map_or_else(String::new, |k| format!(" {}", k.name()));
            at(
                offset,
                Some(format!("sealed record{name} (plaintext byte {})", e.offset)),
                Some(e.field),
                format!(
                    "{}; it authenticates, so it was written this way",
                    problem_text(e.problem)
                ),
            )
        }
        Damage::Invalid(e) => {
            let byte = offset + e.offset;
            at(
                byte,
                Some(record(byte, plain_kind())),
                Some(e.field),
                format!(
                    "{}; its crc32 holds, so it was written this way",
                    problem_text(e.problem)
                ),
            )
        }
        Damage::VersionMismatch { body } => at(
            4,
            Some("header".into()),
            Some("version"),
            format!(
                "{}, but the records read as version {body}: the version byte is damaged",
                bytes.get(4).copied().unwrap_or(0)
            ),
        ),
    }
}

/// A decoding problem, worded to follow "field `x`: ".
pub fn problem_text(problem: Problem) -> String {
    match problem {
        Problem::Truncated { needed } => {
            format!("runs past the end of the file ({needed} more bytes needed)")
        }
        Problem::UnknownTag(tag) => format!("{tag} is not the tag of any record kind"),
        Problem::TooLong { len, max } => format!("length {len} is over the limit {max}"),
        Problem::TooShort { len, min } => format!("length {len} is under the minimum {min}"),
        Problem::InvalidUtf8 => "not valid UTF-8".into(),
        Problem::Negative(v) => format!("negative ({v})"),
        Problem::NotABool(b) => format!("{b}, not 0 or 1"),
        Problem::UnknownBitOp(op) => format!("{op}, not a BITOP operation (0..=3)"),
        Problem::TrailingBytes(n) => format!("followed by {n} unexpected bytes"),
    }
}

/// What to do about a torn tail that reads as sealed records.
pub const SEALED_LOOKING: &str = "if this file was written encrypted, its version byte is \
     damaged and only its key shows it: check it with --key-file before repairing (without a \
     record that authenticates, such bytes are what a crash can leave behind a plaintext file, \
     so the format calls them a torn tail)";

/// Whether `verdict` is a torn tail that leaves no record of a plaintext file and whose
/// bytes read as sealed frames (FORMAT.md §6): what a version 3 file whose version byte was
/// damaged looks like without its key. A crash can leave the same bytes, so the format cuts
/// them; a person is told, and `repair` asks for --force.
pub fn sealed_looking_tail(bytes: &[u8], verdict: &Verdict) -> bool {
    matches!(
        verdict,
        Verdict::TornTail { records: 0, offset, cause, .. }
            if *offset == HEADER_LEN as u64 && !matches!(cause, Damage::PartialHeader { .. })
    ) && bytes.get(4).is_some_and(|&v| !format::is_sealed(v))
        && frame::looks_sealed(&bytes[HEADER_LEN..])
}

/// `1 record`, `2 records`.
pub fn records(n: u64) -> String {
    if n == 1 {
        "1 record".into()
    } else {
        format!("{n} records")
    }
}

/// `1 byte`, `2 bytes`.
pub fn bytes_n(n: u64) -> String {
    if n == 1 {
        "1 byte".into()
    } else {
        format!("{n} bytes")
    }
}

/// `no intact record`, `1 intact record`, `2 intact records`.
pub fn intact(n: u64) -> String {
    match n {
        0 => "no intact record".into(),
        1 => "1 intact record".into(),
        n => format!("{n} intact records"),
    }
}

/// What reading found before damage at `offset`: `12 intact records (bytes 5..1234)`.
fn before(records_n: u64, offset: u64) -> String {
    if records_n == 0 {
        intact(0)
    } else {
        format!("{} (bytes {HEADER_LEN}..{offset})", intact(records_n))
    }
}

/// The one-line verdict `check` prints (and `inspect` ends with): what was read, where, what
/// is wrong, and what `repair` would do. `salvage` is the plan for a corrupt file, or why
/// there is none.
pub fn verdict_line(
    name: &str,
    bytes: &[u8],
    key: Option<&EncryptionKey>,
    verdict: &Verdict,
    salvage: Option<&Result<Salvage, crate::salvage::NeedsKey>>,
) -> String {
    let version = bytes.get(4).copied().unwrap_or(format::FORMAT_VERSION);
    match verdict {
        Verdict::Clean { records: n, end } => format!(
            "{name}: clean: {}, bytes {HEADER_LEN}..{end} (version {version}); nothing to repair",
            records(*n)
        ),
        Verdict::TornTail { cause, .. } if matches!(cause, Damage::PartialHeader { .. }) => {
            format!(
                "{name}: torn tail: {}; `eaof repair` would write a new header (version 2, or \
                 3 with --key-file), losing nothing: there is no record",
                locate(bytes, version, key, 0, cause)
            )
        }
        Verdict::TornTail {
            offset, len, cause, ..
        } if sealed_looking_tail(bytes, verdict) => format!(
            "{name}: torn tail: {}, then {} of damage to the end that read as sealed records: \
             {}; {SEALED_LOOKING}; `eaof repair` refuses without --force",
            intact(0),
            bytes_n(*len),
            locate(bytes, version, key, *offset, cause)
        ),
        Verdict::TornTail {
            records: n,
            offset,
            len,
            cause,
        } => format!(
            "{name}: torn tail: {}, then {} of damage to the end: {}; `eaof repair` would cut \
             the file to {offset} bytes, losing no intact record",
            before(*n, *offset),
            bytes_n(*len),
            locate(bytes, version, key, *offset, cause)
        ),
        Verdict::Corrupt {
            records: n,
            offset,
            next_intact,
            cause,
        } => {
            let located = locate(bytes, version, key, *offset, cause);
            let what = if matches!(cause, Damage::VersionMismatch { .. }) {
                format!("{name}: corrupt: {located}")
            } else {
                format!(
                    "{name}: corrupt: {}, then damage: {located}; an intact record starts at \
                     byte {next_intact}",
                    before(*n, *offset)
                )
            };
            let repair = match salvage {
                None => String::new(),
                Some(Ok(plan)) => format!(
                    "; `eaof repair` refuses; `eaof repair --force` would {} (the original \
                     kept as {name}.bak)",
                    plan.summary()
                ),
                Some(Err(needs)) => format!("; `eaof repair` refuses; {needs}"),
            };
            format!("{what}{repair}")
        }
    }
}
