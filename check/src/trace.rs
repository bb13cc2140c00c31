//! A trace of file-system calls: what an implementation did to its files during one call,
//! as its driver reports it at its storage seam (docs/DRIVER.md, "Traces"), or as a recorder
//! of system calls sees it. [`crate::account::TraceAccount`] turns a trace into crash states.
//!
//! Guarantees: the JSON form is lossless ([`FsOp::from_json`] of [`FsOp::to_json`] gives
//! the operation back); a malformed operation is an error naming the field, never a panic;
//! an append carries the bytes that landed (for a failed append, the prefix that did), so a
//! trace alone tells every byte of the files it touched.
//!
//! Files are named by the handle (`fd`) the implementation opened them with, as system
//! calls name them: a handle keeps its file after a rename over its name, as on POSIX.

use std::path::{Path, PathBuf};

use eaof_conformance::json::{hex, unhex};
use serde_json::{json, Map, Value};

/// One file-system call and what it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsOp {
    /// `path` opened for appending, created empty when missing (its directory entry then
    /// not durable until the directory is synced).
    Open { path: PathBuf, fd: u64 },
    /// `path` created empty, or an existing file there cut to nothing (`O_TRUNC`).
    Create { path: PathBuf, fd: u64 },
    /// `data` appended to the file (all of it, or when `failed` the part that landed).
    Append {
        fd: u64,
        data: Vec<u8>,
        failed: bool,
    },
    /// The file cut or extended to `len` (no effect when `failed`).
    SetLen { fd: u64, len: u64, failed: bool },
    /// The file's data synced; when `failed`, what was not yet durable is lost (as Linux
    /// drops the dirty pages of a failed writeback).
    Sync { fd: u64, failed: bool },
    /// `from` renamed over `to`, atomically (no effect when `failed`).
    Rename {
        from: PathBuf,
        to: PathBuf,
        failed: bool,
    },
    /// The directory's entries synced (no effect when `failed`).
    SyncDir { path: PathBuf, failed: bool },
}

/// A malformed operation in a trace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("trace operation {index}: field `{field}`: {problem}")]
pub struct TraceError {
    /// Its position in the trace.
    pub index: usize,
    /// The field.
    pub field: &'static str,
    /// What is wrong.
    pub problem: String,
}

/// The largest append a trace may carry (a record's frame is at most 1 GiB; a model
/// checker's are a few bytes).
pub const TRACE_APPEND_LEN_MAX: usize = 64 << 20;

fn path_json(path: &Path) -> Value {
    Value::String(path.to_string_lossy().into_owned())
}

impl FsOp {
    /// The JSON of the operation (docs/DRIVER.md, "Traces").
    pub fn to_json(&self) -> Value {
        let mut out = match self {
            FsOp::Open { path, fd } => json!({"op": "open", "path": path_json(path), "fd": fd}),
            FsOp::Create { path, fd } => {
                json!({"op": "create", "path": path_json(path), "fd": fd})
            }
            FsOp::Append { fd, data, .. } => {
                json!({"op": "append", "fd": fd, "hex": hex(data)})
            }
            FsOp::SetLen { fd, len, .. } => json!({"op": "set_len", "fd": fd, "len": len}),
            FsOp::Sync { fd, .. } => json!({"op": "fsync", "fd": fd}),
            FsOp::Rename { from, to, .. } => {
                json!({"op": "rename", "from": path_json(from), "to": path_json(to)})
            }
            FsOp::SyncDir { path, .. } => json!({"op": "fsync_dir", "path": path_json(path)}),
        };
        if self.failed() {
            out["failed"] = Value::Bool(true);
        }
        out
    }

    /// Whether the call failed.
    pub fn failed(&self) -> bool {
        match self {
            FsOp::Open { .. } | FsOp::Create { .. } => false,
            FsOp::Append { failed, .. }
            | FsOp::SetLen { failed, .. }
            | FsOp::Sync { failed, .. }
            | FsOp::Rename { failed, .. }
            | FsOp::SyncDir { failed, .. } => *failed,
        }
    }

    /// The operation `value` (the `index`-th of its trace) describes.
    pub fn from_json(value: &Value, index: usize) -> Result<FsOp, TraceError> {
        let error = |field: &'static str, problem: &str| TraceError {
            index,
            field,
            problem: problem.to_owned(),
        };
        let object: &Map<String, Value> = value
            .as_object()
            .ok_or_else(|| error("op", "not an object"))?;
        let text = |field: &'static str| -> Result<&str, TraceError> {
            object
                .get(field)
                .and_then(Value::as_str)
                .ok_or_else(|| error(field, "missing, or not a string"))
        };
        let number = |field: &'static str| -> Result<u64, TraceError> {
            object
                .get(field)
                .and_then(Value::as_u64)
                .ok_or_else(|| error(field, "missing, or not a non-negative integer"))
        };
        let failed = match object.get("failed") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(error("failed", "not a boolean")),
        };
        let path = |field: &'static str| text(field).map(PathBuf::from);
        Ok(match text("op")? {
            "open" => FsOp::Open {
                path: path("path")?,
                fd: number("fd")?,
            },
            "create" => FsOp::Create {
                path: path("path")?,
                fd: number("fd")?,
            },
            "append" => {
                let digits = text("hex")?;
                if digits.len() / 2 > TRACE_APPEND_LEN_MAX {
                    return Err(error("hex", "longer than TRACE_APPEND_LEN_MAX"));
                }
                FsOp::Append {
                    fd: number("fd")?,
                    data: unhex(digits).ok_or_else(|| error("hex", "not lowercase hex"))?,
                    failed,
                }
            }
            "set_len" => FsOp::SetLen {
                fd: number("fd")?,
                len: number("len")?,
                failed,
            },
            "fsync" => FsOp::Sync {
                fd: number("fd")?,
                failed,
            },
            "rename" => FsOp::Rename {
                from: path("from")?,
                to: path("to")?,
                failed,
            },
            "fsync_dir" => FsOp::SyncDir {
                path: path("path")?,
                failed,
            },
            other => return Err(error("op", &format!("unknown operation {other:?}"))),
        })
    }

    /// The operations of a trace's JSON array.
    pub fn list_from_json(value: &Value) -> Result<Vec<FsOp>, TraceError> {
        let items = value.as_array().ok_or(TraceError {
            index: 0,
            field: "trace",
            problem: "not an array".into(),
        })?;
        items
            .iter()
            .enumerate()
            .map(|(i, item)| FsOp::from_json(item, i))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_reads_back_from_its_json() {
        let ops = [
            FsOp::Open {
                path: "/d/f".into(),
                fd: 3,
            },
            FsOp::Create {
                path: "/d/f.tmp".into(),
                fd: 4,
            },
            FsOp::Append {
                fd: 3,
                data: vec![0, 0xff, 7],
                failed: true,
            },
            FsOp::SetLen {
                fd: 3,
                len: 5,
                failed: false,
            },
            FsOp::Sync {
                fd: 3,
                failed: true,
            },
            FsOp::Rename {
                from: "/d/f.tmp".into(),
                to: "/d/f".into(),
                failed: false,
            },
            FsOp::SyncDir {
                path: "/d".into(),
                failed: false,
            },
        ];
        for (i, op) in ops.iter().enumerate() {
            assert_eq!(FsOp::from_json(&op.to_json(), i).as_ref(), Ok(op));
        }
    }

    #[test]
    fn a_malformed_operation_names_its_field() {
        let bad = json!({"op": "append", "fd": 1, "hex": "0g"});
        assert_eq!(FsOp::from_json(&bad, 2).unwrap_err().field, "hex");
        let bad = json!({"op": "fsync"});
        assert_eq!(FsOp::from_json(&bad, 0).unwrap_err().field, "fd");
        let bad = json!({"op": "mmap", "fd": 1});
        assert_eq!(FsOp::from_json(&bad, 0).unwrap_err().field, "op");
    }
}
