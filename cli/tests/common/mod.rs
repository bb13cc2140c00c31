//! Shared by the end-to-end tests: running the built `eaof`, writing real files with eaof's
//! writer, and reading them back with its scanner (the judge the command must agree with).
#![allow(dead_code)] // each test binary uses a different part

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use bytes::Bytes;
use eaof::encryption::EncryptionKey;
use eaof::scanner::Scanner;
use eaof::{AofRecord, AofWriter, Verdict};

/// What a run of the command gave.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `eaof ARGS` with stdin closed (never a terminal).
pub fn eaof<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out: Output = Command::new(env!("CARGO_BIN_EXE_eaof"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run eaof");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

/// A path as an argument.
pub fn arg(path: &Path) -> String {
    path.display().to_string()
}

/// The key every encrypted test file uses (kept in `dir/test.key`, mode 0600).
pub fn key_file(dir: &Path) -> (PathBuf, EncryptionKey) {
    let path = dir.join("test.key");
    let key = EncryptionKey::from_bytes(std::array::from_fn(|i| i as u8 ^ 0x5a));
    write_key(&path, format!("{}\n", &*key.to_hex()));
    (path, key)
}

/// Writes a key file readable by its owner only (as `eaof keygen` makes them; the commands
/// refuse a key file others can read).
pub fn write_key(path: &Path, contents: impl AsRef<[u8]>) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, contents).expect("write key");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod key");
}

/// Records of many kinds, with values that are hard to show or to keep exact: control and
/// formatting characters, binary bytes, a long value, -0.0, infinities, a NaN payload,
/// 64-bit extremes.
pub fn records() -> Vec<AofRecord> {
    vec![
        AofRecord::Set {
            key: "greeting".into(),
            value: Bytes::from_static(b"hello"),
            expire_ms: -1,
        },
        AofRecord::Set {
            key: "evil\u{1b}[2J\u{202e}\n".into(),
            value: Bytes::from_static(b"\x00\xff\x1b[31m"),
            expire_ms: i64::MAX,
        },
        AofRecord::Append {
            key: "long".into(),
            value: Bytes::from(vec![b'x'; 300]),
        },
        AofRecord::ZAdd {
            key: "scores".into(),
            members: vec![
                (-0.0, "negative zero".into()),
                (f64::INFINITY, "inf".into()),
                (f64::NEG_INFINITY, "-inf".into()),
                (f64::from_bits(0x7ff8_0000_0000_0001), "nan payload".into()),
                (5e-324, "tiny".into()),
            ],
        },
        AofRecord::VAdd {
            key: "vectors".into(),
            element: "e".into(),
            vector: vec![-0.0, f32::NAN, f32::INFINITY, 1.5],
            metric: 1,
            quantization: 2,
            connectivity: 16,
            expansion_add: 64,
        },
        AofRecord::Del { key: "🦀".into() },
        AofRecord::Pexpireat {
            key: "k".into(),
            timestamp_ms: i64::MAX as u64,
        },
        AofRecord::BitOp {
            op: 3,
            dest: "d".into(),
            keys: vec!["a".into()],
        },
        AofRecord::HSet {
            key: "h".into(),
            fields: (0..12)
                .map(|i| (format!("f{i}"), Bytes::from(vec![i as u8; 3])))
                .collect(),
        },
        AofRecord::Incr { key: "n".into() },
    ]
}

/// Writes `records` to a new file at `path` with eaof's writer (version 3 with a key).
pub fn write(path: &Path, key: Option<&EncryptionKey>, records: &[AofRecord]) -> Vec<u8> {
    let mut writer = match key {
        None => AofWriter::open(path),
        Some(key) => AofWriter::open_encrypted(path, key.clone()),
    }
    .expect("open writer");
    for record in records {
        writer.write_record(record).expect("write record");
    }
    writer.sync().expect("sync");
    std::fs::read(path).expect("read back")
}

/// The intact records of `bytes` with their offsets and lengths, and the verdict.
pub fn scan(bytes: &[u8], key: Option<&EncryptionKey>) -> (Vec<(u64, u64, AofRecord)>, Verdict) {
    let mut scanner = Scanner::new(bytes, key).expect("scanner");
    let mut out = Vec::new();
    while let Some((offset, record)) = scanner.next_record() {
        let record = record.to_record();
        let len = scanner.position() - offset;
        out.push((offset, len, record));
    }
    (out, scanner.finish())
}

/// The records of `path`, and its verdict.
pub fn read(path: &Path, key: Option<&EncryptionKey>) -> (Vec<AofRecord>, Verdict) {
    let (records, verdict) = scan(&std::fs::read(path).expect("read"), key);
    (records.into_iter().map(|(_, _, r)| r).collect(), verdict)
}

/// A version 1/2 frame of a record's tag and payload: the bytes and their CRC32.
pub fn plain_frame(record: &[u8]) -> Vec<u8> {
    let mut frame = record.to_vec();
    frame.extend_from_slice(&eaof::format::crc32(record).to_le_bytes());
    frame
}

/// Whether two record lists are equal, floats by their bits.
pub fn same_records(a: &[AofRecord], b: &[AofRecord]) -> bool {
    eaof_model::gen::record_lists_bit_equal(a, b)
}

/// A version 2 file of at least `len` bytes written by eaof's writer: a block of `records()`
/// written once, its records repeated (plaintext records do not depend on where they are).
/// Returns the bytes, and the offsets and lengths of the records of the first block.
pub fn big_file(path: &Path, len: usize) -> (Vec<u8>, Vec<(u64, u64)>) {
    let block_path = path.with_extension("block");
    let many: Vec<AofRecord> = records().into_iter().cycle().take(1000).collect();
    let block = write(&block_path, None, &many);
    std::fs::remove_file(&block_path).expect("remove block");
    let (scanned, _) = scan(&block, None);
    let body = &block[eaof::format::HEADER_LEN..];
    let mut bytes = Vec::with_capacity(len + body.len());
    bytes.extend_from_slice(&block[..eaof::format::HEADER_LEN]);
    while bytes.len() < len {
        bytes.extend_from_slice(body);
    }
    std::fs::write(path, &bytes).expect("write big file");
    (bytes, scanned.into_iter().map(|(o, l, _)| (o, l)).collect())
}
