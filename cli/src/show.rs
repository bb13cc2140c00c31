//! Showing record values on one terminal line, safely.
//!
//! Guarantees: the output never contains a control or formatting character from the file
//! (text is quoted and escaped as Rust escapes strings, so `\n`, `\u{1b}` and `\u{202e}` show
//! as escapes, never act); bytes that are not printable UTF-8 show as hex (`0x00ff`); a value
//! longer than its limit is cut and its full length given; a list shows its first items and
//! its full count. Every float shows exactly enough to tell it apart (`-0.0`, `inf`, `NaN`,
//! and a NaN's bits when it is not the canonical one). The exact values are `inspect --json`'s.

use std::fmt::Write as _;

use eaof_conformance::walk::{Node, Value, Walked};

/// Characters of text shown before it is cut.
pub const TEXT_CHARS_MAX: usize = 64;

/// Bytes shown as hex before they are cut.
pub const HEX_BYTES_MAX: usize = 32;

/// Items of a list shown before it is cut.
pub const LIST_ITEMS_MAX: usize = 8;

/// The fields of a walked record: `key="k" value=0x00ff expire_ms=-1`.
pub fn fields(walked: &Walked<'_>) -> String {
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
