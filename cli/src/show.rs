//! Showing record values on one terminal line, safely.
//!
//! Guarantees: the output never contains a control or formatting character from the file
//! (text is quoted and escaped as Rust escapes strings, so `\n`, `\u{1b}` and `\u{202e}` show
//! as escapes, never act); bytes that are not printable UTF-8 show as hex (`0x00ff`); a value
//! longer than its limit is cut and its full length given; a list shows its first items and
//! its full count. Every float shows exactly enough to tell it apart (`-0.0`, `inf`, `NaN`,
//! and a NaN's bits when it is not the canonical one). The exact values are `inspect --json`'s.

use std::io::{self, Write};

use crate::fields::{Scalar, Show};

/// Characters of text shown before it is cut.
pub const TEXT_CHARS_MAX: usize = 64;

/// Bytes shown as hex before they are cut.
pub const HEX_BYTES_MAX: usize = 32;

/// Items of a list shown before it is cut.
pub const LIST_ITEMS_MAX: usize = 8;

/// Writes a record's fields on one line as they are walked: `key="k" value=0x00ff
/// expire_ms=-1` (see [`crate::fields::walk`]).
pub struct TextFields<'w, W: Write>(pub &'w mut W);

impl<W: Write> Show for TextFields<'_, W> {
    fn field(&mut self, first: bool, name: &'static str) -> io::Result<()> {
        if !first {
            self.0.write_all(b" ")?;
        }
        self.0.write_all(name.as_bytes())?;
        self.0.write_all(b"=")
    }

    fn scalar(&mut self, value: Scalar<'_>) -> io::Result<()> {
        let out = &mut *self.0;
        match value {
            Scalar::Text(s) => {
                if write_plain(out, s)? {
                    return Ok(());
                }
                write_text(out, std::str::from_utf8(s).map_err(io::Error::other)?)
            }
            Scalar::Bytes(b) => write_bytes(out, b),
            Scalar::Int(v) => out.write_all(itoa::Buffer::new().format(v).as_bytes()),
            Scalar::U32(v) => out.write_all(itoa::Buffer::new().format(v).as_bytes()),
            Scalar::U8(v) => out.write_all(itoa::Buffer::new().format(v).as_bytes()),
            Scalar::Bool(v) => out.write_all(if v { b"true" } else { b"false" }),
            Scalar::BitOp(v) => {
                let name = ["AND", "OR", "XOR", "NOT"].get(usize::from(v));
                out.write_all(name.unwrap_or(&"?").as_bytes())
            }
            Scalar::F64(v) => {
                out.write_all(float(v, v.to_bits(), f64::NAN.to_bits(), 16).as_bytes())
            }
            Scalar::F32(v) => out.write_all(
                float(
                    f64::from(v),
                    u64::from(v.to_bits()),
                    u64::from(f32::NAN.to_bits()),
                    8,
                )
                .as_bytes(),
            ),
        }
    }

    fn open_list(&mut self, _count: u32) -> io::Result<u32> {
        self.0.write_all(b"[")?;
        Ok(LIST_ITEMS_MAX as u32)
    }

    fn open_item(&mut self, index: u32, parts: usize) -> io::Result<()> {
        if index > 0 {
            self.0.write_all(b", ")?;
        }
        if parts > 1 {
            self.0.write_all(b"(")?;
        }
        Ok(())
    }

    fn between_parts(&mut self) -> io::Result<()> {
        self.0.write_all(b", ")
    }

    fn close_item(&mut self, parts: usize) -> io::Result<()> {
        if parts > 1 {
            self.0.write_all(b")")?;
        }
        Ok(())
    }

    fn close_list(&mut self, count: u32, _shown: u32) -> io::Result<()> {
        if count as usize > LIST_ITEMS_MAX {
            write!(self.0, ", ...] ({count} items)")
        } else {
            self.0.write_all(b"]")
        }
    }
}

/// [`text`], written.
fn write_text(out: &mut impl Write, s: &str) -> io::Result<()> {
    if write_plain(out, s.as_bytes())? {
        return Ok(());
    }
    let (shown, cut) = match s.char_indices().nth(TEXT_CHARS_MAX) {
        None => (s, false),
        Some((cut, _)) => (&s[..cut], true),
    };
    write!(out, "{shown:?}")?;
    if cut {
        write!(out, "... ({} bytes)", s.len())?;
    }
    Ok(())
}

/// Writes `b` as [`text`] would when every byte is printable ASCII other than `"` and `\`
/// (one character a byte, nothing escaped: what `{:?}` writes is the text between quotes);
/// says whether it did. The common case, written without the formatter.
fn write_plain(out: &mut impl Write, b: &[u8]) -> io::Result<bool> {
    if !b
        .iter()
        .all(|&c| (b' '..=b'~').contains(&c) && c != b'"' && c != b'\\')
    {
        return Ok(false);
    }
    out.write_all(b"\"")?;
    out.write_all(&b[..b.len().min(TEXT_CHARS_MAX)])?;
    out.write_all(b"\"")?;
    if b.len() > TEXT_CHARS_MAX {
        write!(out, "... ({} bytes)", b.len())?;
    }
    Ok(true)
}

/// [`bytes`], written.
fn write_bytes(out: &mut impl Write, b: &[u8]) -> io::Result<()> {
    if write_plain(out, b)? {
        return Ok(());
    }
    match std::str::from_utf8(b) {
        Ok(s) if !s.chars().any(char::is_control) => write_text(out, s),
        _ => {
            out.write_all(b"0x")?;
            crate::json_line::write_hex(out, &b[..b.len().min(HEX_BYTES_MAX)])?;
            if b.len() > HEX_BYTES_MAX {
                write!(out, "... ({} bytes)", b.len())?;
            }
            Ok(())
        }
    }
}

/// Text, quoted and escaped, cut after [`TEXT_CHARS_MAX`] characters.
pub fn text(s: &str) -> String {
    match s.char_indices().nth(TEXT_CHARS_MAX) {
        None => format!("{s:?}"),
        Some((cut, _)) => format!("{:?}... ({} bytes)", &s[..cut], s.len()),
    }
}

/// Bytes: as text when they are UTF-8 without control characters, as hex otherwise, cut
/// when long.
pub fn bytes(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) if !s.chars().any(char::is_control) => text(s),
        _ if b.len() > HEX_BYTES_MAX => format!(
            "0x{}... ({} bytes)",
            eaof_conformance::json::hex(&b[..HEX_BYTES_MAX]),
            b.len()
        ),
        _ => format!("0x{}", eaof_conformance::json::hex(b)),
    }
}

/// A float: its shortest exact decimal (`-0.0`, `inf`, `-inf`, `NaN`), and for a NaN that
/// is not the canonical one, its bits.
fn float(v: f64, bits: u64, canonical_nan: u64, digits: usize) -> String {
    if v.is_nan() && bits != canonical_nan {
        format!("NaN(0x{bits:0digits$x})")
    } else if digits == 8 {
        format!("{:?}", v as f32)
    } else {
        format!("{v:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eaof_conformance::walk::{self, Node, Value, Walked};
    use proptest::prelude::*;
    use std::fmt::Write as _;

    /// The text of a record's fields as `inspect` wrote it before it streamed them, from the
    /// conformance crate's walk: the oracle the streaming writer is held to.
    fn fields_as_before(walked: &Walked<'_>) -> String {
        let mut out = String::new();
        for (name, node) in &walked.fields {
            if !out.is_empty() {
                out.push(' ');
            }
            let _ = write!(out, "{name}=");
            node_into(node, &mut out);
        }
        out
    }

    fn node_into(node: &Node<'_>, out: &mut String) {
        match &node.value {
            Value::Text(s) => out.push_str(&text(s)),
            Value::Bytes(b) => out.push_str(&bytes(b)),
            Value::Int(v) => {
                let _ = write!(out, "{v}");
            }
            Value::U32(v) => {
                let _ = write!(out, "{v}");
            }
            Value::U8(v) => {
                let _ = write!(out, "{v}");
            }
            Value::Bool(v) => {
                let _ = write!(out, "{v}");
            }
            Value::BitOp(v) => {
                let name = ["AND", "OR", "XOR", "NOT"].get(usize::from(*v));
                let _ = write!(out, "{}", name.unwrap_or(&"?"));
            }
            Value::F64(v) => out.push_str(&float(*v, v.to_bits(), f64::NAN.to_bits(), 16)),
            Value::F32(v) => out.push_str(&float(
                f64::from(*v),
                u64::from(v.to_bits()),
                u64::from(f32::NAN.to_bits()),
                8,
            )),
            Value::List(items) => {
                out.push('[');
                for (i, parts) in items.iter().take(LIST_ITEMS_MAX).enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    match parts.as_slice() {
                        [one] => node_into(one, out),
                        many => {
                            out.push('(');
                            for (j, part) in many.iter().enumerate() {
                                if j > 0 {
                                    out.push_str(", ");
                                }
                                node_into(part, out);
                            }
                            out.push(')');
                        }
                    }
                }
                if items.len() > LIST_ITEMS_MAX {
                    let _ = write!(out, ", ...] ({} items)", items.len());
                } else {
                    out.push(']');
                }
            }
        }
    }

    fn streamed(plain: &[u8]) -> String {
        let mut out = Vec::new();
        crate::fields::walk(plain, &mut TextFields(&mut out)).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn assert_as_before(record: &eaof::AofRecord) {
        let mut plain = Vec::new();
        record.encode_into(&mut plain).unwrap();
        let before = fields_as_before(&walk::walk(&plain).unwrap());
        assert_eq!(streamed(&plain), before, "{record:?}");
    }

    /// Every record of the golden fixtures shows as it did before.
    #[test]
    fn fixture_records_show_as_before() {
        for record in crate::json_line::tests::fixture_records() {
            assert_as_before(&record);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// Any record shows as it did before: text escaped and cut, bytes as hex, floats
        /// exact, lists cut after their first items with the count given.
        #[test]
        fn any_record_shows_as_before(record in eaof_model::gen::any_record()) {
            assert_as_before(&record);
        }
    }

    #[test]
    fn control_and_formatting_characters_never_reach_the_terminal() {
        let shown = text("a\u{1b}[31m\u{202e}\n");
        assert!(!shown.chars().any(|c| c.is_control() || c == '\u{202e}'));
        assert_eq!(bytes(b"\x1b[2J"), "0x1b5b324a");
    }

    #[test]
    fn long_values_are_cut_with_their_full_length() {
        let long = "x".repeat(100);
        assert_eq!(
            text(&long),
            format!("{:?}... (100 bytes)", "x".repeat(TEXT_CHARS_MAX))
        );
        let shown = bytes(&[0xff; 40]);
        assert!(shown.ends_with("... (40 bytes)"), "{shown}");
        assert!(shown.starts_with(&format!("0x{}", "ff".repeat(HEX_BYTES_MAX))));
    }

    #[test]
    fn floats_show_their_sign_infinities_and_nan_payloads() {
        assert_eq!(
            float(-0.0, (-0.0f64).to_bits(), f64::NAN.to_bits(), 16),
            "-0.0"
        );
        assert_eq!(float(f64::NEG_INFINITY, 0, f64::NAN.to_bits(), 16), "-inf");
        let odd = f64::from_bits(0x7ff8_0000_0000_0001);
        assert_eq!(
            float(odd, odd.to_bits(), f64::NAN.to_bits(), 16),
            "NaN(0x7ff8000000000001)"
        );
    }
}
