//! Walking the fields of one intact record in wire order, from its bytes, handing each value
//! to a writer as it is read: nothing is built, so a record of any size is shown with the
//! same memory, and a list's items past what is shown are stepped over, not collected.
//!
//! Guarantees: the walk follows the record table's layouts (`RecordKind::fields`), the same
//! table `eaof_conformance::walk` and the codec follow, so it sees exactly the fields and
//! values they see; the writers built on it (text in [`crate::show`], JSON in
//! [`crate::json_line`]) are held to the conformance crate's output by tests. The bytes
//! walked are a record the reader decoded already: a walk that fails anyway is reported as
//! an error, never passed over.

use std::io;
use std::sync::OnceLock;

use eaof::codec::{Cursor, DecodeError, Layout};
use eaof::limits::FIELD_LEN_MAX;
use eaof::RecordKind;

/// One value of a field (or of one part of a list item), borrowed from the record's bytes.
#[derive(Debug, Clone, Copy)]
pub enum Scalar<'a> {
    /// A text field's bytes: UTF-8 (the codec checked it when the record was read; the
    /// writers check it again wherever they rely on it, so that a mistake here shows).
    Text(&'a [u8]),
    Bytes(&'a [u8]),
    /// `I64` and `NonNegativeI64` fields.
    Int(i64),
    U32(u32),
    U8(u8),
    Bool(bool),
    BitOp(u8),
    F64(f64),
    F32(f32),
}

/// What a walk hands over, in order: for each field, [`Show::field`] then its value: one
/// [`Show::scalar`], or a list (`open_list`, then for each item shown `open_item`, its
/// parts separated by `between_parts`, `close_item`; then `close_list`).
pub trait Show {
    fn field(&mut self, first: bool, name: &'static str) -> io::Result<()>;
    fn scalar(&mut self, value: Scalar<'_>) -> io::Result<()>;
    /// A list of `count` items starts; returns how many of its first items to show.
    fn open_list(&mut self, count: u32) -> io::Result<u32>;
    fn open_item(&mut self, index: u32, parts: usize) -> io::Result<()>;
    fn between_parts(&mut self) -> io::Result<()>;
    fn close_item(&mut self, parts: usize) -> io::Result<()>;
    fn close_list(&mut self, count: u32, shown: u32) -> io::Result<()>;
}

/// Why a walk stopped.
#[derive(Debug)]
pub enum WalkError {
    /// The writer failed.
    Io(io::Error),
    /// The bytes do not walk (a record the reader should not have called intact).
    Decode(DecodeError),
}

impl From<io::Error> for WalkError {
    fn from(e: io::Error) -> Self {
        WalkError::Io(e)
    }
}

impl From<DecodeError> for WalkError {
    fn from(e: DecodeError) -> Self {
        WalkError::Decode(e)
    }
}

impl From<WalkError> for io::Error {
    fn from(e: WalkError) -> io::Error {
        match e {
            WalkError::Io(e) => e,
            WalkError::Decode(e) => io::Error::other(format!(
                "a record read as intact does not walk ({e}): a bug in eaof"
            )),
        }
    }
}

/// The fields of each kind, by tag (built once: `RecordKind::fields` builds a new list on
/// every call).
fn fields_of(kind: RecordKind) -> &'static [(&'static str, Layout)] {
    static TABLE: OnceLock<Vec<Vec<(&'static str, Layout)>>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        (0..=u8::MAX)
            .map(|tag| RecordKind::from_tag(tag).map_or_else(Vec::new, RecordKind::fields))
            .collect()
    });
    &table[usize::from(kind.tag())]
}

/// Whether records of `kind` have a field called `name`.
pub fn has_field(kind: RecordKind, name: &str) -> bool {
    fields_of(kind).iter().any(|(field, _)| *field == name)
}

/// Walks the record whose tag and payload are `plain`, handing its fields to `show`.
pub fn walk(plain: &[u8], show: &mut impl Show) -> Result<RecordKind, WalkError> {
    let mut c = Cursor::new(plain);
    let tag = c.u8("tag")?;
    let kind = RecordKind::from_tag(tag).ok_or(DecodeError {
        field: "tag",
        offset: 0,
        problem: eaof::codec::Problem::UnknownTag(tag),
    })?;
    for (i, (name, layout)) in fields_of(kind).iter().enumerate() {
        show.field(i == 0, name)?;
        node(&mut c, layout, name, show)?;
    }
    c.finish()?;
    Ok(kind)
}

fn node<'a>(
    c: &mut Cursor<'a>,
    layout: &Layout,
    field: &'static str,
    show: &mut impl Show,
) -> Result<(), WalkError> {
    let value = match layout {
        Layout::Text | Layout::Bytes => {
            let len = c.len(field, FIELD_LEN_MAX)?;
            let raw = c.take(len as usize, field)?;
            if *layout == Layout::Text {
                Scalar::Text(raw)
            } else {
                Scalar::Bytes(raw)
            }
        }
        Layout::I64 | Layout::NonNegativeI64 => Scalar::Int(c.i64(field)?),
        Layout::U32 => Scalar::U32(c.u32(field)?),
        Layout::U8 => Scalar::U8(c.u8(field)?),
        Layout::Bool => Scalar::Bool(c.u8(field)? == 1),
        Layout::BitOp => Scalar::BitOp(c.u8(field)?),
        Layout::F64 => Scalar::F64(f64::from_le_bytes(c.array(field)?)),
        Layout::F32 => Scalar::F32(f32::from_le_bytes(c.array(field)?)),
        Layout::List { item, max } => {
            let count = c.len(field, *max)?;
            let shown = show.open_list(count)?.min(count);
            for index in 0..count {
                if index < shown {
                    show.open_item(index, item.len())?;
                    for (j, part) in item.iter().enumerate() {
                        if j > 0 {
                            show.between_parts()?;
                        }
                        node(c, part, field, show)?;
                    }
                    show.close_item(item.len())?;
                } else {
                    for part in item {
                        node(c, part, field, &mut Mute)?;
                    }
                }
            }
            return Ok(show.close_list(count, shown)?);
        }
    };
    Ok(show.scalar(value)?)
}

/// Shows nothing: steps over what it is handed.
struct Mute;

impl Show for Mute {
    fn field(&mut self, _: bool, _: &'static str) -> io::Result<()> {
        Ok(())
    }
    fn scalar(&mut self, _: Scalar<'_>) -> io::Result<()> {
        Ok(())
    }
    fn open_list(&mut self, _: u32) -> io::Result<u32> {
        Ok(0)
    }
    fn open_item(&mut self, _: u32, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn between_parts(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn close_item(&mut self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn close_list(&mut self, _: u32, _: u32) -> io::Result<()> {
        Ok(())
    }
}
