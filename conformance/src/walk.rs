//! Walking one record's bytes field by field, guided by the record table's layouts.
//!
//! Guarantees: [`walk`] accepts exactly the bytes [`RecordRef::decode`] accepts (it asks the
//! codec first, so the two can never disagree on what is valid), and the spans it returns
//! cover the record's bytes in order, each byte exactly once: the tag, then each field's
//! length or count prefix (if any) and its body. Nothing here knows a record kind by name:
//! adding a kind to the table needs no change here. Used by [`crate::json`] and
//! [`crate::hexdump`].

use std::ops::Range;

use eaof::codec::{Cursor, DecodeError, Layout, Problem};
use eaof::limits::FIELD_LEN_MAX;
use eaof::{RecordKind, RecordRef};

/// A record's bytes (tag + payload), walked.
#[derive(Debug, Clone, PartialEq)]
pub struct Walked<'a> {
    pub kind: RecordKind,
    /// The fields in wire order, with their names.
    pub fields: Vec<(&'static str, Node<'a>)>,
}

/// One field (or one part of a list item) and where its bytes are in the record.
#[derive(Debug, Clone, PartialEq)]
pub struct Node<'a> {
    pub layout: Layout,
    /// The `u32` length or count before the value, for text, bytes and lists.
    pub prefix: Option<Range<usize>>,
    /// The value's bytes after the prefix (for a list: all its items).
    pub body: Range<usize>,
    pub value: Value<'a>,
}

/// A field's value, borrowed from the record's bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Text(&'a str),
    Bytes(&'a [u8]),
    /// `I64` and `NonNegativeI64` fields.
    Int(i64),
    U32(u32),
    U8(u8),
    Bool(bool),
    BitOp(u8),
    F64(f64),
    F32(f32),
    /// Each item is its parts in order (one part, or two for pairs such as ZADD's
    /// score and member).
    List(Vec<Vec<Node<'a>>>),
}

/// Walks a record that fills `bytes` exactly (tag + payload, no checksum).
pub fn walk(bytes: &[u8]) -> Result<Walked<'_>, DecodeError> {
    // The codec is the one judge of validity; the walk below only labels what it accepted.
    let kind = RecordRef::decode(bytes)?.kind();
    let mut c = Cursor::new(bytes);
    c.u8("tag")?;
    let mut fields = Vec::new();
    for (name, layout) in kind.fields() {
        let node = walk_node(&mut c, &layout, name)?;
        fields.push((name, node));
    }
    c.finish()?;
    Ok(Walked { kind, fields })
}

fn walk_node<'a>(
    c: &mut Cursor<'a>,
    layout: &Layout,
    field: &'static str,
) -> Result<Node<'a>, DecodeError> {
    let start = c.position();
    let fixed = |c: &Cursor<'a>, value| Node {
        layout: layout.clone(),
        prefix: None,
        body: start..c.position(),
        value,
    };
    Ok(match layout {
        Layout::Text | Layout::Bytes => {
            let len = c.len(field, FIELD_LEN_MAX)?;
            let body_start = c.position();
            let raw = c.take(len as usize, field)?;
            let value = if *layout == Layout::Text {
                Value::Text(std::str::from_utf8(raw).map_err(|_| DecodeError {
                    field,
                    offset: body_start as u64,
                    problem: Problem::InvalidUtf8,
                })?)
            } else {
                Value::Bytes(raw)
            };
            Node {
                layout: layout.clone(),
                prefix: Some(start..body_start),
                body: body_start..c.position(),
                value,
            }
        }
        Layout::I64 | Layout::NonNegativeI64 => {
            let v = c.i64(field)?;
            fixed(c, Value::Int(v))
        }
        Layout::U32 => {
            let v = c.u32(field)?;
            fixed(c, Value::U32(v))
        }
        Layout::U8 => {
            let v = c.u8(field)?;
            fixed(c, Value::U8(v))
        }
        Layout::Bool => {
            let v = c.u8(field)?;
            fixed(c, Value::Bool(v == 1))
        }
        Layout::BitOp => {
            let v = c.u8(field)?;
            fixed(c, Value::BitOp(v))
        }
        Layout::F64 => {
            let v = f64::from_le_bytes(c.array(field)?);
            fixed(c, Value::F64(v))
        }
        Layout::F32 => {
            let v = f32::from_le_bytes(c.array(field)?);
            fixed(c, Value::F32(v))
        }
        Layout::List { item, max } => {
            let count = c.len(field, *max)?;
            let body_start = c.position();
            let mut items = Vec::new();
            for _ in 0..count {
                // A list item is one field, or a pair the codec flattened into two parts.
                let parts = item
                    .iter()
                    .map(|part| walk_node(c, part, field))
                    .collect::<Result<Vec<_>, _>>()?;
                items.push(parts);
            }
            Node {
                layout: layout.clone(),
                prefix: Some(start..body_start),
                body: body_start..c.position(),
                value: Value::List(items),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use eaof::AofRecord;

    #[test]
    fn spans_cover_every_byte_in_order() {
        let record = AofRecord::ZAdd {
            key: "z".into(),
            members: vec![(1.5, "a".into()), (-0.0, String::new())],
        };
        let bytes = record.to_bytes().unwrap();
        let walked = walk(&bytes).unwrap();
        let tag: Range<usize> = 0..1;
        let mut spans = vec![tag];
        fn collect(node: &Node<'_>, spans: &mut Vec<Range<usize>>) {
            spans.extend(node.prefix.clone());
            match &node.value {
                Value::List(items) => items.iter().flatten().for_each(|n| collect(n, spans)),
                _ => spans.push(node.body.clone()),
            }
        }
        walked
            .fields
            .iter()
            .for_each(|(_, n)| collect(n, &mut spans));
        let mut at = 0;
        for span in spans {
            assert_eq!(span.start, at);
            at = span.end;
        }
        assert_eq!(at, bytes.len());
    }

    #[test]
    fn walk_refuses_what_the_codec_refuses() {
        let mut bytes = AofRecord::Set {
            key: "k".into(),
            value: Bytes::from_static(b"v"),
            expire_ms: -1,
        }
        .to_bytes()
        .unwrap();
        bytes.push(0);
        let err = walk(&bytes).unwrap_err();
        assert!(matches!(err.problem, Problem::TrailingBytes(1)));
    }
}
