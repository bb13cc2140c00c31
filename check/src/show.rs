//! What the checker tells a person, in words: commands as a client types them (`SET a "x"`),
//! records by kind and fields, verdicts in one line, faults, read endings and failed calls.
//!
//! Guarantees: nothing here prints a Rust type's Debug form (`Some(..)`, `TornTail { .. }`);
//! bytes that are not printable ASCII are escaped (`"\xff\x00"`, as redis-cli quotes them),
//! so no byte of a key or value acts on a terminal; a list of records shows its first
//! [`RECORDS_SHOWN_MAX`] and its count. Findings, reports and `eaof explore` use these forms.

use std::fmt::{self, Display, Formatter, Write as _};

use eaof::{AofRecord, Verdict};
use eaof_conformance::walk::{self, Node, Value};
use eaof_model::command::{BitOp, Command, Expiry};
use eaof_model::value::Value as StoreValue;
use eaof_model::Store;

use crate::target::{ErrorKind, Fault, Op, ReadEnd};

/// Records of a list shown before the rest are counted.
pub const RECORDS_SHOWN_MAX: usize = 4;

/// Bytes of one value shown before the rest are counted.
pub const VALUE_SHOWN_MAX: usize = 48;

/// A key, member or value as a client would type it: bare when it is printable ASCII without
/// spaces or quotes, else quoted with escapes.
fn word(out: &mut impl fmt::Write, bytes: &[u8]) -> fmt::Result {
    let bare = !bytes.is_empty()
        && bytes.len() <= VALUE_SHOWN_MAX
        && bytes
            .iter()
            .all(|&b| b.is_ascii_graphic() && b != b'"' && b != b'\'' && b != b'\\');
    if bare {
        // Every byte is printable ASCII.
        return out.write_str(&String::from_utf8_lossy(bytes));
    }
    out.write_char('"')?;
    for &b in bytes.iter().take(VALUE_SHOWN_MAX) {
        match b {
            b'"' => out.write_str("\\\"")?,
            b'\\' => out.write_str("\\\\")?,
            b'\n' => out.write_str("\\n")?,
            b' ' => out.write_char(' ')?,
            _ if b.is_ascii_graphic() => out.write_char(char::from(b))?,
            _ => write!(out, "\\x{b:02x}")?,
        }
    }
    out.write_char('"')?;
    if bytes.len() > VALUE_SHOWN_MAX {
        write!(out, "...({} bytes)", bytes.len())?;
    }
    Ok(())
}

/// A command as a client types it.
pub struct ShowCommand<'a>(pub &'a Command);

/// Shows `command`.
pub fn command(command: &Command) -> ShowCommand<'_> {
    ShowCommand(command)
}

impl Display for ShowCommand<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let c = self.0;
        // The arguments, each already quoted as a client would type it.
        let mut a: Vec<String> = Vec::new();
        let w = |a: &mut Vec<String>, bytes: &[u8]| {
            let mut out = String::new();
            let _ = word(&mut out, bytes);
            a.push(out);
        };
        let expiry = |e: &Option<Expiry>| match e {
            None => String::new(),
            Some(Expiry::Ex(s)) => format!("EX {s}"),
            Some(Expiry::Px(ms)) => format!("PX {ms}"),
        };
        match c {
            Command::Set {
                key,
                value,
                expiry: e,
            } => {
                w(&mut a, key.as_bytes());
                w(&mut a, value);
                let e = expiry(e);
                if !e.is_empty() {
                    a.push(e);
                }
            }
            Command::Del { key }
            | Command::Persist { key }
            | Command::Incr { key }
            | Command::Decr { key }
            | Command::LPop { key }
            | Command::RPop { key } => w(&mut a, key.as_bytes()),
            Command::Expire { key, seconds: n }
            | Command::Pexpire {
                key,
                milliseconds: n,
            }
            | Command::ExpireAt {
                key,
                timestamp_s: n,
            }
            | Command::PexpireAt {
                key,
                timestamp_ms: n,
            } => {
                w(&mut a, key.as_bytes());
                a.push(format!("{n}"));
            }
            Command::IncrBy { key, delta } | Command::DecrBy { key, delta } => {
                w(&mut a, key.as_bytes());
                a.push(format!("{delta}"));
            }
            Command::Append { key, value } => {
                w(&mut a, key.as_bytes());
                w(&mut a, value);
            }
            Command::SetRange { key, offset, value } => {
                w(&mut a, key.as_bytes());
                a.push(format!("{offset}"));
                w(&mut a, value);
            }
            Command::SetBit { key, offset, bit } => {
                w(&mut a, key.as_bytes());
                a.push(format!("{offset} {bit}"));
            }
            Command::BitOp { op, dest, keys } => {
                let op = match op {
                    BitOp::And => "AND",
                    BitOp::Or => "OR",
                    BitOp::Xor => "XOR",
                    BitOp::Not => "NOT",
                };
                a.push(op.to_owned());
                w(&mut a, dest.as_bytes());
                for key in keys {
                    w(&mut a, key.as_bytes());
                }
            }
            Command::Rename { key, newkey } => {
                w(&mut a, key.as_bytes());
                w(&mut a, newkey.as_bytes());
            }
            Command::Copy {
                source,
                destination,
                replace,
            } => {
                w(&mut a, source.as_bytes());
                w(&mut a, destination.as_bytes());
                if *replace {
                    a.push("REPLACE".to_owned());
                }
            }
            Command::LPush { key, values } | Command::RPush { key, values } => {
                w(&mut a, key.as_bytes());
                for value in values {
                    w(&mut a, value);
                }
            }
            Command::LSet { key, index, value } => {
                w(&mut a, key.as_bytes());
                a.push(format!("{index}"));
                w(&mut a, value);
            }
            Command::LTrim { key, start, stop } => {
                w(&mut a, key.as_bytes());
                a.push(format!("{start} {stop}"));
            }
            Command::LInsert {
                key,
                before,
                pivot,
                value,
            } => {
                w(&mut a, key.as_bytes());
                a.push(if *before { "BEFORE" } else { "AFTER" }.to_owned());
                w(&mut a, pivot);
                w(&mut a, value);
            }
            Command::LRem { key, count, value } => {
                w(&mut a, key.as_bytes());
                a.push(format!("{count}"));
                w(&mut a, value);
            }
            Command::ZAdd { key, members } => {
                w(&mut a, key.as_bytes());
                for (score, member) in members {
                    a.push(format!("{score:?}"));
                    w(&mut a, member.as_bytes());
                }
            }
            Command::ZRem { key, members }
            | Command::SAdd { key, members }
            | Command::SRem { key, members } => {
                w(&mut a, key.as_bytes());
                for member in members {
                    w(&mut a, member.as_bytes());
                }
            }
            Command::HSet { key, fields } => {
                w(&mut a, key.as_bytes());
                for (field, value) in fields {
                    w(&mut a, field.as_bytes());
                    w(&mut a, value);
                }
            }
            Command::HDel { key, fields } => {
                w(&mut a, key.as_bytes());
                for field in fields {
                    w(&mut a, field.as_bytes());
                }
            }
            Command::HIncrBy { key, field, delta } => {
                w(&mut a, key.as_bytes());
                w(&mut a, field.as_bytes());
                a.push(format!("{delta}"));
            }
            Command::VAdd {
                key,
                element,
                vector,
                config,
            } => {
                w(&mut a, key.as_bytes());
                w(&mut a, element.as_bytes());
                let values: Vec<String> = vector.iter().map(|v| format!("{v:?}")).collect();
                a.push(format!(
                    "[{}] metric {} quantization {} M {} ef {}",
                    values.join(", "),
                    config.metric,
                    config.quantization,
                    config.connectivity,
                    config.expansion_add
                ));
            }
            Command::VRem { key, element } => {
                w(&mut a, key.as_bytes());
                w(&mut a, element.as_bytes());
            }
            Command::ProtoSet {
                key,
                type_name,
                data,
                expiry: e,
            } => {
                w(&mut a, key.as_bytes());
                w(&mut a, type_name.as_bytes());
                w(&mut a, data);
                let e = expiry(e);
                if !e.is_empty() {
                    a.push(e);
                }
            }
            Command::ProtoRegister { name, descriptor } => {
                w(&mut a, name.as_bytes());
                w(&mut a, descriptor);
            }
        }
        f.write_str(c.name())?;
        for arg in a {
            write!(f, " {arg}")?;
        }
        Ok(())
    }
}

/// A record: its kind and fields (`SET key=a value=x expire_ms=-1`).
pub struct ShowRecord<'a>(pub &'a AofRecord);

/// Shows `record`.
pub fn record(record: &AofRecord) -> ShowRecord<'_> {
    ShowRecord(record)
}

impl Display for ShowRecord<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let bytes = match self.0.to_bytes() {
            Ok(bytes) => bytes,
            Err(e) => return write!(f, "a record the codec refuses ({e})"),
        };
        let walked = match walk::walk(&bytes) {
            Ok(walked) => walked,
            Err(e) => return write!(f, "a record that does not decode ({e})"),
        };
        f.write_str(walked.kind.name())?;
        for (name, node) in &walked.fields {
            write!(f, " {name}=")?;
            node_into(f, node)?;
        }
        Ok(())
    }
}

fn node_into(f: &mut Formatter<'_>, node: &Node<'_>) -> fmt::Result {
    match &node.value {
        Value::Text(s) => word(f, s.as_bytes()),
        Value::Bytes(b) => word(f, b),
        Value::Int(v) => write!(f, "{v}"),
        Value::U32(v) => write!(f, "{v}"),
        Value::U8(v) => write!(f, "{v}"),
        Value::Bool(v) => write!(f, "{v}"),
        Value::BitOp(v) => write!(f, "{v}"),
        Value::F64(v) => write!(f, "{v:?}"),
        Value::F32(v) => write!(f, "{v:?}"),
        Value::List(items) => {
            f.write_char('[')?;
            for (i, parts) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                for (j, part) in parts.iter().enumerate() {
                    if j > 0 {
                        f.write_char(' ')?;
                    }
                    node_into(f, part)?;
                }
            }
            f.write_char(']')
        }
    }
}

/// A list of records: the first [`RECORDS_SHOWN_MAX`], then how many more.
pub struct ShowRecords<'a>(pub &'a [AofRecord]);

/// Shows `records`.
pub fn records(records: &[AofRecord]) -> ShowRecords<'_> {
    ShowRecords(records)
}

impl Display for ShowRecords<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("no record");
        }
        for (i, r) in self.0.iter().take(RECORDS_SHOWN_MAX).enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}", record(r))?;
        }
        if self.0.len() > RECORDS_SHOWN_MAX {
            write!(f, "; and {} more", self.0.len() - RECORDS_SHOWN_MAX)?;
        }
        Ok(())
    }
}

/// A verdict in one line.
pub struct ShowVerdict<'a>(pub &'a Verdict);

/// Shows `verdict`.
pub fn verdict(verdict: &Verdict) -> ShowVerdict<'_> {
    ShowVerdict(verdict)
}

impl Display for ShowVerdict<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            Verdict::Clean { records, end } => {
                write!(f, "clean: {records} records, ending at byte {end}")
            }
            Verdict::TornTail {
                records,
                offset,
                len,
                cause,
            } => write!(
                f,
                "a torn tail after {records} records: {len} bytes from byte {offset} ({cause})"
            ),
            Verdict::Corrupt {
                records,
                offset,
                next_intact,
                cause,
            } => write!(
                f,
                "corrupt after {records} records: damage at byte {offset} ({cause}), an intact \
                 record at byte {next_intact}"
            ),
        }
    }
}

/// A verdict that may be missing (`the reader gave none`).
pub struct ShowMaybeVerdict<'a>(pub Option<&'a Verdict>);

/// Shows `verdict`, or says there is none.
pub fn maybe_verdict(verdict: Option<&Verdict>) -> ShowMaybeVerdict<'_> {
    ShowMaybeVerdict(verdict)
}

impl Display for ShowMaybeVerdict<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(v) => write!(f, "{}", verdict(v)),
            None => f.write_str("no verdict"),
        }
    }
}

/// A verdict's shape as the harness computes it from record spans ([`crate::reference::shape`]).
pub fn shape((class, records, offset): (&str, u64, u64)) -> String {
    match class {
        "clean" => format!("clean after {records} records, ending at byte {offset}"),
        _ => format!("{class} after {records} records, from byte {offset}"),
    }
}

/// The reference reader's verdict, or why it refused the file.
pub fn reference<E: Display>(verdict: &Result<Verdict, E>) -> String {
    match verdict {
        Ok(v) => self::verdict(v).to_string(),
        Err(e) => format!("the reader refuses the file: {e}"),
    }
}

/// A model state: its keys and the type of each.
pub struct ShowStore<'a>(pub &'a Store);

/// Shows `store`.
pub fn store(store: &Store) -> ShowStore<'_> {
    ShowStore(store)
}

impl Display for ShowStore<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("an empty store");
        }
        write!(f, "{} keys:", self.0.len())?;
        for (key, entry) in self.0.entries() {
            f.write_char(' ')?;
            word(f, key.as_bytes())?;
            f.write_char('=')?;
            match &entry.value {
                StoreValue::String(bytes) => word(f, bytes)?,
                StoreValue::List(items) => write!(f, "a list of {}", items.len())?,
                StoreValue::Hash(fields) => write!(f, "a hash of {}", fields.len())?,
                StoreValue::Set(members) => write!(f, "a set of {}", members.len())?,
                StoreValue::SortedSet(members) => write!(f, "a sorted set of {}", members.len())?,
                StoreValue::Vector(set) => write!(f, "a vector set of {}", set.elements.len())?,
                StoreValue::Proto { type_name, .. } => {
                    f.write_str("a proto ")?;
                    word(f, type_name.as_bytes())?;
                }
            }
            if let Some(at) = entry.expires_at_ms {
                write!(f, " (expiring at {at} ms)")?;
            }
        }
        Ok(())
    }
}

impl Display for ReadEnd {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            ReadEnd::Clean => f.write_str("a clean end"),
            ReadEnd::Error(e) => write!(f, "the error \"{e}\""),
        }
    }
}

impl Display for Fault {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Fault::FailOpAt { after } => write!(
                f,
                "storage operation {after} from the file's creation fails (EIO; a sync drops \
                 the unsynced bytes)"
            ),
            Fault::FailWriteAfter { bytes } => write!(
                f,
                "the disk is full after {bytes} more bytes (the write crossing it is short, \
                 ENOSPC)"
            ),
            Fault::InterruptAt { after } => write!(
                f,
                "storage operation {after} from the file's creation is interrupted (EINTR)"
            ),
            Fault::ShortWriteAt { after } => write!(
                f,
                "write {after} from the file's creation is short (1 byte written)"
            ),
            Fault::TooBigAfter { bytes } => write!(
                f,
                "the file is at its size limit after {bytes} more bytes (the write crossing \
                 it is short, EFBIG)"
            ),
        }
    }
}

impl Display for Op {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Create => "create",
            Op::Write => "write",
            Op::Flush => "flush",
            Op::Sync => "sync",
            Op::Truncate => "truncate",
            Op::Close => "close",
            Op::File => "reading the file's state",
            Op::Load => "loading a crash image",
            Op::Reopen => "reopen",
            Op::ReadBack => "read back",
            Op::Inject => "injecting a fault",
        })
    }
}

impl Display for ErrorKind {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Poisoned => "refused (poisoned)",
            ErrorKind::Failed => "failed",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Harness => "failed in the harness",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::FailureKind;

    /// Marks of a Rust Debug form.
    fn debug_marks(text: &str) -> bool {
        ["{ ", " }", "Some(", "None", "Ok(", "Err(", "\\\""]
            .iter()
            .any(|m| text.contains(m))
    }

    #[test]
    fn commands_show_as_a_client_types_them() {
        for c in crate::alphabet::explorer_commands() {
            let shown = command(&c).to_string();
            assert!(shown.starts_with(c.name()), "{shown}");
            assert!(!debug_marks(&shown), "{shown}");
        }
        let set = Command::Set {
            key: "a b".into(),
            value: bytes::Bytes::from_static(b"\xff\x00\"\n"),
            expiry: Some(Expiry::Px(5)),
        };
        assert_eq!(
            command(&set).to_string(),
            r#"SET "a b" "\xff\x00\"\n" PX 5"#
        );
    }

    #[test]
    fn kinds_faults_calls_and_verdicts_have_words_not_debug_forms() {
        for kind in FailureKind::ALL {
            assert_eq!(FailureKind::from_name(kind.name()), Some(kind));
            assert!(kind
                .name()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_'));
            assert_eq!(kind.to_string(), kind.name());
        }
        let faults = [
            Fault::FailOpAt { after: 3 },
            Fault::FailWriteAfter { bytes: 9 },
        ];
        let ops = [
            Op::Create,
            Op::Write,
            Op::Sync,
            Op::Reopen,
            Op::ReadBack,
            Op::Inject,
        ];
        let kinds = [
            ErrorKind::Poisoned,
            ErrorKind::Failed,
            ErrorKind::Unsupported,
            ErrorKind::Harness,
        ];
        let mut texts: Vec<String> = faults.iter().map(ToString::to_string).collect();
        texts.extend(ops.iter().map(ToString::to_string));
        texts.extend(kinds.iter().map(ToString::to_string));
        texts.push(ReadEnd::Error("unexpected end of file".into()).to_string());
        texts.push(ReadEnd::Clean.to_string());
        let torn = Verdict::torn_header(3);
        texts.push(verdict(&torn).to_string());
        texts.push(maybe_verdict(None).to_string());
        texts.push(reference::<String>(&Err("not an EAOF file".into())));
        texts.push(store(&Store::new(0)).to_string());
        for text in texts {
            assert!(!text.is_empty() && !debug_marks(&text), "{text}");
        }
    }
}
