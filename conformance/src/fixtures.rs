//! The golden fixture set: which files `fixtures/` holds, the records each encodes, and the
//! generator that writes them.
//!
//! Guarantees: the set is pure data (no clock, no randomness: version 3 files use the
//! published [`KEY`] and counting nonces whose prefix differs per file, so no nonce repeats
//! across the set); [`generate`] writes every file through the crate's own writer
//! ([`AofWriter::open_in`]) and the record lists through [`crate::json`], so regenerating
//! gives the same bytes, and a changed encoding changes a fixture. Every record kind appears
//! in a file of its own and in the mixed file, in both versions; the `match` in
//! [`records_of`] has no wildcard, so a new kind cannot be added without fixtures.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde_json::{json, Value};
use thiserror::Error;

use eaof::aof::WriterOptions;
use eaof::encryption::{CountingNonces, EncryptionKey};
use eaof::format::FormatError;
use eaof::storage::FsStorage;
use eaof::{AofRecord, AofWriter, RecordKind};

use crate::json::{self, JsonError};
use crate::vectors::{self, VectorError};

/// The published key of every version 3 fixture: the bytes 0x00, 0x01, ... 0x1f.
pub const KEY: [u8; 32] = {
    let mut key = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        key[i] = i as u8;
        i += 1;
    }
    key
};

/// The versions fixtures are written in.
pub const VERSIONS: [u8; 2] = [2, 3];

/// What the `generated_by` field of every record list says.
pub const GENERATED_BY: &str = "eaof vectors; generated, never edit by hand";

/// One fixture file: its name, version and records.
#[derive(Debug, Clone, PartialEq)]
pub struct Fixture {
    /// File stem: `01-set`, `23-proto.set`, `00-mixed`.
    pub stem: String,
    pub version: u8,
    /// For version 3: the first four bytes of every nonce; the other eight are a
    /// little-endian counter from 0.
    pub nonce_prefix: Option<[u8; 4]>,
    pub records: Vec<AofRecord>,
}

/// Why a fixture could not be written or read.
#[derive(Debug, Error)]
pub enum FixtureError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: {source}")]
    Format { path: PathBuf, source: FormatError },
    #[error("{path}: {source}")]
    Json { path: PathBuf, source: JsonError },
    #[error("{path}: not a record list: {why}")]
    Listing { path: PathBuf, why: String },
    #[error("{path}: {source}")]
    Vectors { path: PathBuf, source: VectorError },
}

/// One file [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Relative to the output directory.
    pub path: PathBuf,
    pub len: u64,
}

impl Fixture {
    /// The `.aof` file, relative to the fixtures directory: `v2/01-set.aof`.
    pub fn aof_path(&self) -> PathBuf {
        PathBuf::from(format!("v{}/{}.aof", self.version, self.stem))
    }

    /// The record list beside it: `v2/01-set.records.json`.
    pub fn records_path(&self) -> PathBuf {
        PathBuf::from(format!("v{}/{}.records.json", self.version, self.stem))
    }

    /// The key of a version 3 fixture.
    pub fn key(&self) -> Option<EncryptionKey> {
        (self.version == 3).then(|| EncryptionKey::from_bytes(KEY))
    }

    /// Writes the `.aof` file at `path` (replacing any file there) with the crate's writer.
    pub fn write_aof(&self, path: &Path) -> Result<(), FixtureError> {
        let format_err = |source| FixtureError::Format {
            path: path.to_owned(),
            source,
        };
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(FixtureError::Io {
                    path: path.to_owned(),
                    source: e,
                })
            }
            _ => {}
        }
        let mut options = WriterOptions::default();
        if let (Some(key), Some(prefix)) = (self.key(), self.nonce_prefix) {
            options = options.key(key).nonces(CountingNonces::new(prefix));
        }
        let mut writer = AofWriter::open_in(FsStorage, path, options).map_err(format_err)?;
        for record in &self.records {
            writer.write_record(record).map_err(format_err)?;
        }
        writer.sync().map_err(format_err)
    }

    /// The record list as JSON (see [`crate::json`] for a record's shape).
    pub fn records_json(&self) -> Result<Value, FixtureError> {
        let records = self
            .records
            .iter()
            .map(json::record_to_json)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| FixtureError::Format {
                path: self.records_path(),
                source: e.into(),
            })?;
        Ok(json!({
            "generated_by": GENERATED_BY,
            "file": format!("{}.aof", self.stem),
            "version": self.version,
            "key_hex": self.key().map(|k| k.to_hex().to_string()),
            "nonce_prefix_hex": self.nonce_prefix.map(|p| json::hex(&p)),
            "records": records,
        }))
    }

    /// Reads a record list written by [`Fixture::records_json`]; `path` names it in errors.
    pub fn from_records_json(value: &Value, path: &Path) -> Result<Fixture, FixtureError> {
        let listing = |why: &str| FixtureError::Listing {
            path: path.to_owned(),
            why: why.to_owned(),
        };
        let stem = value["file"]
            .as_str()
            .and_then(|f| f.strip_suffix(".aof"))
            .ok_or_else(|| listing("`file` is not a name ending in .aof"))?;
        let version = value["version"]
            .as_u64()
            .and_then(|v| u8::try_from(v).ok())
            .filter(|v| VERSIONS.contains(v))
            .ok_or_else(|| listing("`version` is not 2 or 3"))?;
        let nonce_prefix = match &value["nonce_prefix_hex"] {
            Value::Null => None,
            v => Some(
                v.as_str()
                    .and_then(json::unhex)
                    .and_then(|p| <[u8; 4]>::try_from(p).ok())
                    .ok_or_else(|| listing("`nonce_prefix_hex` is not 4 bytes of hex"))?,
            ),
        };
        let key_hex = value["key_hex"].as_str();
        if (version == 3) != (key_hex == Some(&*EncryptionKey::from_bytes(KEY).to_hex()))
            || (version == 3) != nonce_prefix.is_some()
        {
            return Err(listing("a version 3 list names the published key and a nonce prefix; a version 2 list neither"));
        }
        let records = value["records"]
            .as_array()
            .ok_or_else(|| listing("`records` is not an array"))?
            .iter()
            .map(json::record_from_json)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| FixtureError::Json {
                path: path.to_owned(),
                source,
            })?;
        Ok(Fixture {
            stem: stem.to_owned(),
            version,
            nonce_prefix,
            records,
        })
    }
}

/// The file stem of a kind's own fixture: tag and lowercase name (`23-proto.set`).
pub fn stem_of(kind: RecordKind) -> String {
    format!("{:02}-{}", kind.tag(), kind.name().to_lowercase())
}

/// Every fixture: for each version, one file per kind (in tag order), then the mixed file.
pub fn fixture_set() -> Vec<Fixture> {
    let mut set = Vec::new();
    for version in VERSIONS {
        // The nonce prefix is "EAO" and the file's number (the tag; 0 for the mixed file),
        // so that no two fixtures share a nonce under the one published key.
        let prefix = |n: u8| (version == 3).then_some([b'E', b'A', b'O', n]);
        for &kind in RecordKind::ALL {
            set.push(Fixture {
                stem: stem_of(kind),
                version,
                nonce_prefix: prefix(kind.tag()),
                records: records_of(kind),
            });
        }
        set.push(Fixture {
            stem: "00-mixed".into(),
            version,
            nonce_prefix: prefix(0),
            records: mixed(),
        });
    }
    set
}

/// Every kind's records, interleaved: the first record of each kind in tag order, then the
/// second of each, and so on, so that every kind follows every other.
pub fn mixed() -> Vec<AofRecord> {
    let lists: Vec<Vec<AofRecord>> = RecordKind::ALL.iter().map(|&k| records_of(k)).collect();
    let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
    (0..longest)
        .flat_map(|i| lists.iter().filter_map(move |list| list.get(i).cloned()))
        .collect()
}

fn s(text: &str) -> String {
    text.to_owned()
}

fn b(bytes: &[u8]) -> Bytes {
    Bytes::copy_from_slice(bytes)
}

/// Bytes no text encoding would produce: NUL, 0xff, a lone continuation byte.
const BINARY: &[u8] = &[0x00, 0xff, 0x80, 0x7f, 0xc3];

/// Keys outside ASCII: Cyrillic, CJK, an emoji (4-byte UTF-8), a combining accent, and NUL.
const NON_ASCII: [&str; 4] = ["ключ", "日本語のキー", "🦀 crab", "e\u{301}\u{0}end"];

/// The largest value a non-negative `i64` field holds (the writer refuses larger ones).
const NON_NEGATIVE_MAX: u64 = eaof::limits::NON_NEGATIVE_MAX;

/// A few records of `kind`, exercising its edge values: empty texts, bytes and lists,
/// non-ASCII keys, binary values, the extreme integers, -0.0, infinities and NaNs.
#[rustfmt::skip] // a data table: one record a line reads better than rustfmt's layout
pub fn records_of(kind: RecordKind) -> Vec<AofRecord> {
    use AofRecord as R;
    let [cyrillic, cjk, crab, combining] = NON_ASCII.map(s);
    let long: Bytes = (0..300u32).map(|i| i as u8).collect::<Vec<u8>>().into();
    match kind {
        RecordKind::Set => vec![
            R::Set { key: s("greeting"), value: b(b"hello"), expire_ms: -1 },
            R::Set { key: s(""), value: b(b""), expire_ms: 0 },
            R::Set { key: cyrillic, value: b(BINARY), expire_ms: i64::MAX },
            R::Set { key: combining, value: long, expire_ms: i64::MIN },
        ],
        RecordKind::Del => vec![
            R::Del { key: s("greeting") },
            R::Del { key: s("") },
            R::Del { key: cjk },
        ],
        RecordKind::Expire => vec![
            R::Expire { key: s("session"), seconds: 0 },
            R::Expire { key: crab, seconds: 1 },
            R::Expire { key: s(""), seconds: NON_NEGATIVE_MAX },
        ],
        RecordKind::LPush => vec![
            R::LPush { key: s("queue"), values: vec![] },
            R::LPush { key: s(""), values: vec![b(b"")] },
            R::LPush { key: cjk, values: vec![b(b"a"), b(b"b"), b(b"c")] },
            R::LPush { key: s("bin"), values: vec![b(BINARY), b("é".as_bytes())] },
        ],
        RecordKind::RPush => vec![
            R::RPush { key: s("queue"), values: vec![] },
            R::RPush { key: s(""), values: vec![b(b""), b(b"")] },
            R::RPush { key: crab, values: vec![b(b"x"), b(BINARY)] },
        ],
        RecordKind::LPop => vec![
            R::LPop { key: s("queue") },
            R::LPop { key: s("") },
            R::LPop { key: cyrillic },
        ],
        RecordKind::RPop => vec![
            R::RPop { key: s("queue") },
            R::RPop { key: s("") },
            R::RPop { key: combining },
        ],
        RecordKind::ZAdd => vec![
            R::ZAdd { key: s("board"), members: vec![] },
            R::ZAdd { key: s("board"), members: vec![(1.5, s("alice"))] },
            R::ZAdd { key: cjk, members: vec![
                (-0.0, s("negative zero")),
                (0.0, s("")),
                (f64::INFINITY, s("top")),
                (f64::NEG_INFINITY, s("bottom")),
            ] },
            R::ZAdd { key: s(""), members: vec![
                (f64::NAN, s("quiet nan")),
                (f64::from_bits(0xfff0_0000_0000_0001), s("signalling nan, sign set")),
                (f64::from_bits(1), s("smallest subnormal")),
                (f64::MAX, s("max")),
                (f64::MIN, crab),
            ] },
        ],
        RecordKind::ZRem => vec![
            R::ZRem { key: s("board"), members: vec![] },
            R::ZRem { key: s("board"), members: vec![s("alice")] },
            R::ZRem { key: s(""), members: vec![s(""), s("ü"), crab] },
        ],
        RecordKind::Persist => vec![
            R::Persist { key: s("session") },
            R::Persist { key: s("") },
            R::Persist { key: crab },
        ],
        RecordKind::Pexpire => vec![
            R::Pexpire { key: s("session"), milliseconds: 0 },
            R::Pexpire { key: cyrillic, milliseconds: 1500 },
            R::Pexpire { key: s(""), milliseconds: NON_NEGATIVE_MAX },
        ],
        RecordKind::Incr => vec![
            R::Incr { key: s("counter") },
            R::Incr { key: s("") },
            R::Incr { key: cjk },
        ],
        RecordKind::Decr => vec![
            R::Decr { key: s("counter") },
            R::Decr { key: s("") },
            R::Decr { key: combining },
        ],
        RecordKind::HSet => vec![
            R::HSet { key: s("user:1"), fields: vec![] },
            R::HSet { key: s("user:1"), fields: vec![(s("name"), b(b"Ada"))] },
            R::HSet { key: cyrillic, fields: vec![(s(""), b(b"")), (s("名前"), b(BINARY)), (crab, b(b"\n"))] },
        ],
        RecordKind::HDel => vec![
            R::HDel { key: s("user:1"), fields: vec![] },
            R::HDel { key: s("user:1"), fields: vec![s("name")] },
            R::HDel { key: s(""), fields: vec![s(""), s("名前")] },
        ],
        RecordKind::HIncrBy => vec![
            R::HIncrBy { key: s("user:1"), field: s("visits"), delta: 1 },
            R::HIncrBy { key: s(""), field: s(""), delta: -1 },
            R::HIncrBy { key: cjk, field: crab, delta: i64::MIN },
            R::HIncrBy { key: s("user:1"), field: s("visits"), delta: i64::MAX },
        ],
        RecordKind::SAdd => vec![
            R::SAdd { key: s("tags"), members: vec![] },
            R::SAdd { key: s("tags"), members: vec![s("rust")] },
            R::SAdd { key: crab, members: vec![s("a"), s(""), s("ñ")] },
        ],
        RecordKind::SRem => vec![
            R::SRem { key: s("tags"), members: vec![] },
            R::SRem { key: s("tags"), members: vec![s("rust")] },
            R::SRem { key: s(""), members: vec![s(""), cyrillic] },
        ],
        RecordKind::IncrBy => vec![
            R::IncrBy { key: s("counter"), delta: 0 },
            R::IncrBy { key: s(""), delta: -5 },
            R::IncrBy { key: cjk, delta: i64::MIN },
            R::IncrBy { key: s("counter"), delta: i64::MAX },
        ],
        RecordKind::DecrBy => vec![
            R::DecrBy { key: s("counter"), delta: 0 },
            R::DecrBy { key: s(""), delta: -5 },
            R::DecrBy { key: crab, delta: i64::MIN },
            R::DecrBy { key: s("counter"), delta: i64::MAX },
        ],
        RecordKind::Append => vec![
            R::Append { key: s("log"), value: b(b"") },
            R::Append { key: s(""), value: b(b"tail") },
            R::Append { key: combining, value: b(BINARY) },
        ],
        RecordKind::Rename => vec![
            R::Rename { key: s("old"), newkey: s("new") },
            R::Rename { key: s(""), newkey: cyrillic },
            R::Rename { key: crab.clone(), newkey: crab },
        ],
        RecordKind::ProtoSet => vec![
            R::ProtoSet { key: s("user:1"), type_name: s("example.User"), data: b(&[0x0a, 0x03, b'A', b'd', b'a', 0x10, 0x2a]), expire_ms: -1 },
            R::ProtoSet { key: s(""), type_name: s(""), data: b(b""), expire_ms: i64::MIN },
            R::ProtoSet { key: cjk, type_name: s("例.Type"), data: b(BINARY), expire_ms: i64::MAX },
        ],
        RecordKind::ProtoRegister => vec![
            R::ProtoRegister { name: s("example.User"), descriptor: b(b"\x0a\x0cuser.proto") },
            R::ProtoRegister { name: s(""), descriptor: b(b"") },
            R::ProtoRegister { name: crab, descriptor: b(BINARY) },
        ],
        RecordKind::VAdd => vec![
            R::VAdd { key: s("embeddings"), element: s("e1"), vector: vec![],
                metric: 0, quantization: 0, connectivity: 0, expansion_add: 0 },
            R::VAdd { key: s("embeddings"), element: s("e2"), vector: vec![1.0, -0.0, f32::INFINITY, f32::NEG_INFINITY],
                metric: 1, quantization: 2, connectivity: 16, expansion_add: 200 },
            R::VAdd { key: cyrillic, element: s(""), vector: vec![f32::NAN, f32::from_bits(1), f32::MAX, 0.1],
                metric: 255, quantization: 255, connectivity: u32::MAX, expansion_add: u32::MAX },
        ],
        RecordKind::VRem => vec![
            R::VRem { key: s("embeddings"), element: s("e1") },
            R::VRem { key: s(""), element: s("") },
            R::VRem { key: cjk, element: crab },
        ],
        RecordKind::Copy => vec![
            R::Copy { source: s("a"), destination: s("b"), replace: false },
            R::Copy { source: s(""), destination: cyrillic, replace: true },
            R::Copy { source: crab.clone(), destination: crab, replace: true },
        ],
        RecordKind::LSet => vec![
            R::LSet { key: s("queue"), index: 0, value: b(b"first") },
            R::LSet { key: s(""), index: -1, value: b(b"") },
            R::LSet { key: cjk, index: i64::MIN, value: b(BINARY) },
            R::LSet { key: s("queue"), index: i64::MAX, value: b(b"x") },
        ],
        RecordKind::LTrim => vec![
            R::LTrim { key: s("queue"), start: 0, stop: -1 },
            R::LTrim { key: s(""), start: i64::MIN, stop: i64::MAX },
            R::LTrim { key: crab, start: 5, stop: 2 },
        ],
        RecordKind::LInsert => vec![
            R::LInsert { key: s("queue"), before: true, pivot: b(b"b"), value: b(b"a") },
            R::LInsert { key: s("queue"), before: false, pivot: b(b""), value: b(b"") },
            R::LInsert { key: combining, before: true, pivot: b(BINARY), value: b("ü".as_bytes()) },
        ],
        RecordKind::LRem => vec![
            R::LRem { key: s("queue"), count: 0, value: b(b"a") },
            R::LRem { key: s(""), count: -2, value: b(b"") },
            R::LRem { key: cyrillic, count: i64::MIN, value: b(BINARY) },
            R::LRem { key: s("queue"), count: i64::MAX, value: b(b"z") },
        ],
        RecordKind::SetRange => vec![
            R::SetRange { key: s("greeting"), offset: 0, value: b(b"J") },
            R::SetRange { key: s(""), offset: 7, value: b(b"") },
            R::SetRange { key: crab, offset: NON_NEGATIVE_MAX as usize, value: b(BINARY) },
        ],
        RecordKind::SetBit => vec![
            R::SetBit { key: s("bits"), offset: 0, value: 1 },
            R::SetBit { key: s(""), offset: 7, value: 0 },
            // The seed writes SETBIT's value byte as given; the reader keeps any byte.
            R::SetBit { key: cjk, offset: NON_NEGATIVE_MAX, value: 255 },
        ],
        RecordKind::BitOp => vec![
            R::BitOp { op: 0, dest: s("and"), keys: vec![s("a"), s("b")] },
            R::BitOp { op: 1, dest: s(""), keys: vec![] },
            R::BitOp { op: 2, dest: cyrillic, keys: vec![s(""), crab, s("ñ")] },
            R::BitOp { op: 3, dest: s("not"), keys: vec![s("a")] },
        ],
        RecordKind::Pexpireat => vec![
            R::Pexpireat { key: s("session"), timestamp_ms: 0 },
            R::Pexpireat { key: combining, timestamp_ms: 1_700_000_000_000 },
            R::Pexpireat { key: s(""), timestamp_ms: NON_NEGATIVE_MAX },
        ],
    }
}

/// Writes the whole fixture set into `dir` (creating `dir/v2`, `dir/v3`), with a README and
/// the test vectors for ports ([`vectors::FILE_NAME`]), and returns what it wrote, in order. Files of the set already in `dir` are replaced;
/// other files are left alone (see [`stale_files`]).
pub fn generate(dir: &Path) -> Result<Vec<Written>, FixtureError> {
    let io_err = |path: &Path| {
        let path = path.to_owned();
        move |source| FixtureError::Io { path, source }
    };
    let set = fixture_set();
    let mut written = Vec::new();
    let mut record = |relative: PathBuf| -> Result<(), FixtureError> {
        let full = dir.join(&relative);
        let len = std::fs::metadata(&full).map_err(io_err(&full))?.len();
        written.push(Written {
            path: relative,
            len,
        });
        Ok(())
    };
    for version in VERSIONS {
        let sub = dir.join(format!("v{version}"));
        std::fs::create_dir_all(&sub).map_err(io_err(&sub))?;
    }
    let readme = dir.join("README.md");
    std::fs::write(&readme, readme_text(&set)).map_err(io_err(&readme))?;
    record("README.md".into())?;
    for fixture in &set {
        let aof = dir.join(fixture.aof_path());
        fixture.write_aof(&aof)?;
        record(fixture.aof_path())?;
        let listing = dir.join(fixture.records_path());
        let text = listing_text(&fixture.records_json()?);
        std::fs::write(&listing, text).map_err(io_err(&listing))?;
        record(fixture.records_path())?;
    }
    let path = dir.join(vectors::FILE_NAME);
    let set = vectors::vectors().map_err(|source| FixtureError::Vectors {
        path: path.clone(),
        source,
    })?;
    std::fs::write(&path, vectors::vectors_text(&set)).map_err(io_err(&path))?;
    record(vectors::FILE_NAME.into())?;
    Ok(written)
}

/// A record list as text: one key a line, and one record a line (so that a diff shows which
/// records changed), ending with a newline.
pub fn listing_text(listing: &Value) -> String {
    let compact = |v: &Value| serde_json::to_string(v).unwrap_or_default();
    let mut out = String::from("{\n");
    let Some(object) = listing.as_object() else {
        return compact(listing) + "\n";
    };
    for (i, (key, value)) in object.iter().enumerate() {
        let comma = if i + 1 < object.len() { "," } else { "" };
        match value.as_array() {
            Some(items) if key == "records" && !items.is_empty() => {
                let _ = writeln!(out, "  {}: [", compact(&key.as_str().into()));
                for (j, item) in items.iter().enumerate() {
                    let item_comma = if j + 1 < items.len() { "," } else { "" };
                    let _ = writeln!(out, "    {}{item_comma}", compact(item));
                }
                let _ = writeln!(out, "  ]{comma}");
            }
            _ => {
                let _ = writeln!(
                    out,
                    "  {}: {}{comma}",
                    compact(&key.as_str().into()),
                    compact(value)
                );
            }
        }
    }
    out.push_str("}\n");
    out
}

/// Every file under `dir` (relative paths, sorted), to compare a directory with the set.
pub fn files_under(dir: &Path) -> Result<Vec<PathBuf>, FixtureError> {
    fn visit(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                visit(root, &path, out)?;
            } else if let Ok(relative) = path.strip_prefix(root) {
                out.push(relative.to_owned());
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    visit(dir, dir, &mut out).map_err(|source| FixtureError::Io {
        path: dir.to_owned(),
        source,
    })?;
    out.sort();
    Ok(out)
}

/// Files under `dir` that the set does not hold (left over from an older set).
pub fn stale_files(dir: &Path, written: &[Written]) -> Result<Vec<PathBuf>, FixtureError> {
    Ok(files_under(dir)?
        .into_iter()
        .filter(|f| !written.iter().any(|w| &w.path == f))
        .collect())
}

/// The fixtures directory's README, generated with the files it describes.
pub fn readme_text(set: &[Fixture]) -> String {
    let key_hex = json::hex(&KEY);
    let per_version = set.len() / VERSIONS.len();
    let records: usize = set.iter().map(|f| f.records.len()).sum();
    let mut kinds = String::new();
    for &kind in RecordKind::ALL {
        let _ = writeln!(
            kinds,
            "| `{}` | {} | {} |",
            stem_of(kind),
            kind.name(),
            records_of(kind).len()
        );
    }
    format!(
        r#"# Golden fixtures

**Generated, never edited by hand.** Every file here is written by `eaof vectors`; a test
(`tests/golden.rs`) regenerates the set and fails if any byte differs from what is committed.

## Layout

- `v2/`: plaintext files (format version 2, `[tag][payload][crc32]` per record).
- `v3/`: sealed files (format version 3, `[nonce 12][u32 sealed_len][AES-256-GCM ciphertext +
  16-byte tag]` per record).

Each version holds {per_version} pairs of files: one per record kind (`NN-name.aof`, `NN` the
record tag) and `00-mixed.aof`, which holds every kind's records interleaved (the first record of
each kind in tag order, then the second of each, and so on). Beside each `X.aof` is
`X.records.json`, the records it encodes, in order ({records} records in all):

```json
{{
  "generated_by": "{GENERATED_BY}",
  "file": "01-set.aof",
  "version": 2,
  "key_hex": null,
  "nonce_prefix_hex": null,
  "records": [ {{"kind": "SET", "key": "greeting", "value": {{"hex": "68656c6c6f", "text": "hello"}}, "expire_ms": -1}} ]
}}
```

A record is an object: `kind` (the command name) and each field of the kind in wire order.
Text is a JSON string. Bytes are `{{"hex": ..., "text": ...}}`: `hex` is the value, `text` a
reading aid present when the bytes are UTF-8. Integers are JSON numbers (64-bit exact: use a
parser that keeps them). Floats are `{{"value": "-0.0", "bits": "0x8000000000000000"}}`: `bits`
(the IEEE 754 bit pattern) is the value, so -0.0, infinities and NaN payloads are exact; `value`
is a JSON string, the shortest decimal that reads back to it (`inf`, `-inf`, `NaN`). List items that are pairs
(ZADD score and member, HSET field and value) are two-element arrays.

## Version 3: the published key and nonces

Every `v3/` file is sealed with this key (the bytes 0x00 to 0x1f; `key_hex` in each record
list):

    {key_hex}

Nonces are not random here: the nonce of record `i` (from 0) is the file's 4-byte
`nonce_prefix_hex` (`EAO` then one byte, the file's tag number, 0 for the mixed file) followed
by `i` as a little-endian `u64`, so no nonce repeats across the set. Real files use random
nonces; these are reproducible test data, and the key is public.

The sealed files of `vectors.json` (below) use other nonces, under the same key: `EAOV` then a
little-endian `u64` counter, each file group counting in its own block, so that no nonce
repeats there either, nor meets one of these files'. A clean vector lists its own in `nonces`.

## Edge values

Each kind's records cover what applies to it: empty texts, bytes and lists; keys outside ASCII
(Cyrillic, CJK, a 4-byte emoji, a combining accent and NUL); binary values (NUL, 0xff, a lone
continuation byte); a 300-byte value; `i64::MIN`, `-1`, `0` and `i64::MAX` for signed integers,
`0` and `i64::MAX` for non-negative ones; `u32::MAX` and `u8` 255; every BITOP operation; both
flag values; for floats -0.0, 0.0, both infinities, a quiet NaN, a signalling NaN with the sign
set, the smallest subnormal, and the largest finite values.

| file stem | kind | records |
| --- | --- | --- |
{kinds}
## Test vectors for ports: `vectors.json`

`vectors.json` holds test vectors in the style of Project Wycheproof, for implementations in
other languages: test groups of record vectors (bytes and the record's JSON), invalid record
vectors (bytes and the class of error), records a writer must refuse, and whole files (intact,
truncated, damaged, bit-flipped, under wrong or missing keys) with their verdict, the records
read before the damage, and the error a reader reports. Each test has a stable `tcId`, a
`comment`, `flags` (explained in `notes`) and a `result` (`valid`, `acceptable`, `invalid`).
`docs/FORMAT.md` (section 9) says what each field means, and how `eaof conform` runs the
vectors against another implementation over a pipe.

## Against ember-persistence 0.4.9

`tests/golden.rs` also holds the seed to these files: its codec decodes every record and
encodes it to the same bytes, its writer writes every `v2/` file byte for byte, and its reader
reads every `v3/` file. Its streaming v2 reader, though, does not know tags 28 to 35 (LSET,
LTRIM, LINSERT, LREM, SETRANGE, SETBIT, BITOP, PEXPIREAT): it stops with `UnknownTag` at the
first such record of a `v2/` file, although its own writer writes them.

## Regenerating

From the repository root:

```sh
cargo run --release --bin eaof -- vectors        # rewrites fixtures/ (this directory)
cargo test --test golden                         # checks fixtures and snapshots
```

A change of encoding shows up as a changed fixture: review it with `git diff --stat fixtures/`
and commit it only if the format change is intended. The annotated hex dumps of these files are
insta snapshots in `tests/snapshots/golden__*.snap`; after an intended change, review them with
`cargo insta review` (from cargo-insta), or accept them all with
`INSTA_UPDATE=always cargo test --test golden` and review the diff in git.
"#
    )
}
