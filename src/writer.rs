//! The appending writer.
//!
//! Guarantees:
//! - every record it accepts reads back unchanged (a record the reader would refuse is
//!   refused here, before any byte is written, and does not harm the writer);
//! - opening an existing file checks its header and its records: damage confined to the tail
//!   is cut before appending (and reported by [`AofWriter::recovery`]); a file with an
//!   intact record beyond damage, of another kind, or of a version or key it cannot write,
//!   is refused unchanged;
//! - after any failed write, flush or sync, every later call fails with
//!   [`FormatError::Poisoned`], so a partial record is never followed by later ones and a
//!   failed fsync is never retried as if nothing were lost;
//! - every record written before a successful `sync` is durable;
//! - it seals no more records than its key's budget of random nonces allows (the records
//!   sealed in the file when it was opened, plus those sealed since, truncations included:
//!   see [`WriterOptions::key_budget`]);
//! - `truncate` replaces the file atomically and durably (temp file, sync, rename, sync of
//!   the directory);
//! - no I/O happens in `Drop`: records not yet flushed are dropped with the writer, as they
//!   were never acknowledged.

use std::path::{Path, PathBuf};

use crate::codec::AofRecord;
use crate::codec::{EncodeError, EncodeProblem};
use crate::encryption::{
    EncryptionKey, NonceSource, RandomNonces, Sealer, NONCE_SIZE, SEALED_RECORDS_PER_KEY_MAX,
    TAG_SIZE,
};
use crate::format::{self, FormatError, HeaderState, FORMAT_VERSION, FORMAT_VERSION_ENCRYPTED};
use crate::frame::{Verdict, CRC_LEN, SEALED_HEADER_LEN};
use crate::limits::SEALED_LEN_MAX;
use crate::reader::AofReader;
use crate::storage::{FsStorage, Storage, StorageFile};

/// Buffered bytes that trigger a write to storage.
pub const WRITE_BUFFER_LEN: usize = 64 * 1024;

/// Room kept past [`WRITE_BUFFER_LEN`], so that a record of up to this many bytes is encoded
/// straight into the buffer; a larger one grows it for as long as it is buffered.
pub const RECORD_ROOM: usize = 16 * 1024;

/// The buffer's length, kept initialized; larger only while it holds a larger record.
const BUFFER_LEN: usize = WRITE_BUFFER_LEN + RECORD_ROOM;

/// What opening found in an existing file, and what it cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    /// The file did not exist or was empty; a header was written.
    Created,
    /// The file was clean.
    Clean { records: u64 },
    /// Damage confined to the tail was cut: the file now ends at `verdict.intact_end()`.
    Cut {
        verdict: Verdict,
        bytes_removed: u64,
    },
}

/// Options for opening a writer.
pub struct WriterOptions {
    key: Option<EncryptionKey>,
    nonces: Box<dyn NonceSource>,
    key_budget: u64,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            key: None,
            nonces: Box::new(RandomNonces),
            key_budget: SEALED_RECORDS_PER_KEY_MAX,
        }
    }
}

impl WriterOptions {
    /// Seal records with `key` (a new file is created as version 3).
    pub fn key(mut self, key: EncryptionKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Take nonces from `nonces` instead of the operating system's random generator. For
    /// reproducible fixtures and tests only.
    pub fn nonces(mut self, nonces: impl NonceSource + 'static) -> Self {
        self.nonces = Box::new(nonces);
        self
    }

    /// Seal at most `records` records under the key in this file (counting those it holds
    /// when opened), then refuse with [`FormatError::KeyBudgetSpent`]. The default is the
    /// whole budget of one key, [`SEALED_RECORDS_PER_KEY_MAX`]; shards that share a key
    /// share that budget, so a server with `n` of them gives each a share of it (and counts
    /// the files it rewrote, which no writer sees).
    pub fn key_budget(mut self, records: u64) -> Self {
        self.key_budget = records;
        self
    }
}

/// Buffered writer appending AOF records to a file.
pub struct AofWriter<S: Storage = FsStorage> {
    storage: S,
    file: S::File,
    path: PathBuf,
    version: u8,
    key: Option<EncryptionKey>,
    sealer: Option<Sealer>,
    nonces: Box<dyn NonceSource>,
    /// Records sealed under the key that this writer knows of, and how many it may seal.
    sealed: u64,
    key_budget: u64,
    /// Kept initialized to at least `BUFFER_LEN` bytes (records are
    /// encoded into it in place); the first `filled` are the buffered records.
    buf: Vec<u8>,
    filled: usize,
    /// Where the last plaintext record starts when its checksum is not yet written (its
    /// four bytes, at `filled - 4`, are reserved): see [`AofWriter::write_record`].
    unsummed: Option<usize>,
    poisoned: Option<String>,
    recovery: Recovery,
}

impl<S: Storage> std::fmt::Debug for AofWriter<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AofWriter")
            .field("path", &self.path)
            .field("version", &self.version)
            .field("buffered", &self.filled)
            .field("poisoned", &self.poisoned)
            .finish()
    }
}

impl AofWriter<FsStorage> {
    /// Opens (or creates) a plaintext AOF file. Refuses a sealed (version 3) file: records
    /// appended without the key would make it unreadable.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, FormatError> {
        Self::open_in(FsStorage, path, WriterOptions::default())
    }

    /// Opens (or creates, as version 3) an AOF file whose records are sealed with `key`.
    /// An existing plaintext file stays plaintext: its records are appended unsealed, as the
    /// seed does, so that the file stays readable (rewrite it to move it to version 3).
    pub fn open_encrypted(
        path: impl Into<PathBuf>,
        key: EncryptionKey,
    ) -> Result<Self, FormatError> {
        Self::open_in(FsStorage, path, WriterOptions::default().key(key))
    }
}

impl<S: Storage> AofWriter<S> {
    /// Opens `path` in `storage`.
    pub fn open_in(
        storage: S,
        path: impl Into<PathBuf>,
        options: WriterOptions,
    ) -> Result<Self, FormatError> {
        let path = path.into();
        let mut file = storage.open(&path)?;
        let len = file.len()?;
        let mut head = vec![0u8; (len as usize).min(format::HEADER_LEN)];
        crate::storage::read_exact_at(&file, 0, &mut head)?;
        let new_version = if options.key.is_some() {
            FORMAT_VERSION_ENCRYPTED
        } else {
            FORMAT_VERSION
        };
        let (version, recovery) = match format::parse_header(&head, len)? {
            HeaderState::Partial { len: 0 } => {
                Self::write_header(&storage, &mut file, &path, new_version)?;
                (new_version, Recovery::Created)
            }
            HeaderState::Partial { len } => {
                // A crash while the file was being created: nothing but a header prefix.
                file.set_len(0)?;
                Self::write_header(&storage, &mut file, &path, new_version)?;
                let verdict = Verdict::torn_header(len);
                (
                    new_version,
                    Recovery::Cut {
                        verdict,
                        bytes_removed: len as u64,
                    },
                )
            }
            HeaderState::Complete { version } => {
                let recovery =
                    Self::recover(&storage, &mut file, &path, version, options.key.as_ref())?;
                (version, recovery)
            }
        };
        let sealer = if format::is_sealed(version) {
            options.key.as_ref().map(Sealer::new)
        } else {
            None
        };
        // Every record in a sealed file took a nonce under the key (a recovered file has
        // been read with it).
        let sealed = match (&sealer, &recovery) {
            (None, _) | (_, Recovery::Created) => 0,
            (Some(_), Recovery::Clean { records }) => *records,
            (Some(_), Recovery::Cut { verdict, .. }) => verdict.records(),
        };
        Ok(Self {
            storage,
            file,
            path,
            version,
            key: options.key,
            sealer,
            nonces: options.nonces,
            sealed,
            key_budget: options.key_budget,
            buf: vec![0; BUFFER_LEN],
            filled: 0,
            unsummed: None,
            poisoned: None,
            recovery,
        })
    }

    fn write_header(
        storage: &S,
        file: &mut S::File,
        path: &Path,
        version: u8,
    ) -> Result<(), FormatError> {
        file.append(&format::header(version))?;
        file.sync()?;
        storage.sync_dir(parent_dir(path))?;
        Ok(())
    }

    /// Reads an existing file to its end and cuts damage confined to the tail.
    fn recover(
        storage: &S,
        file: &mut S::File,
        path: &Path,
        version: u8,
        key: Option<&EncryptionKey>,
    ) -> Result<Recovery, FormatError> {
        if format::is_sealed(version) && key.is_none() {
            return Err(FormatError::EncryptionRequired);
        }
        let mut reader = AofReader::from_file(storage.open_read(path)?, key)?;
        let verdict = reader.judge()?;
        match verdict {
            Verdict::Clean { records, .. } => Ok(Recovery::Clean { records }),
            ref v if v.is_wrong_key() => Err(FormatError::DecryptionFailed),
            Verdict::TornTail { offset, len, .. } => {
                file.set_len(offset)?;
                file.sync()?;
                Ok(Recovery::Cut {
                    verdict,
                    bytes_removed: len,
                })
            }
            Verdict::Corrupt {
                offset,
                next_intact,
                cause,
                ..
            } => Err(FormatError::Corrupt {
                offset,
                next_intact,
                cause,
            }),
        }
    }

    /// What opening found in the file, and what it cut.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// The version of the records being written (the file's own).
    pub fn version(&self) -> u8 {
        self.version
    }

    /// Returns the file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn check_poisoned(&self) -> Result<(), FormatError> {
        match &self.poisoned {
            Some(why) => Err(FormatError::Poisoned(why.clone())),
            None => Ok(()),
        }
    }

    /// Runs an I/O step; its failure poisons the writer.
    fn guard<T>(
        &mut self,
        what: &str,
        step: impl FnOnce(&mut Self) -> std::io::Result<T>,
    ) -> Result<T, FormatError> {
        self.check_poisoned()?;
        step(self).map_err(|e| {
            self.poisoned = Some(format!("{what} failed: {e}"));
            FormatError::Io(e)
        })
    }

    /// Appends a record (buffered: durable after [`AofWriter::sync`]). A record the reader
    /// would refuse is refused with [`FormatError::Encode`] and leaves the writer usable.
    pub fn write_record(&mut self, record: &AofRecord) -> Result<(), FormatError> {
        self.check_poisoned()?;
        let start = self.filled;
        let end = match &self.sealer {
            None => {
                let end = record.encode_at(&mut self.buf, start)?;
                // The previous record's checksum is computed now, one record late: reading
                // a record back just after writing it, field by field, stalls until every
                // one of those small stores has reached the cache (the load spans them all,
                // so none can be forwarded to it), and it did for each record (writer on
                // the benchmark mix: 20.7 -> 19.2 ns a record, encoding and checksum only).
                self.sum_pending();
                self.unsummed = Some(start);
                reserve_at(&mut self.buf, end, CRC_LEN)
            }
            Some(sealer) => {
                if self.sealed >= self.key_budget {
                    return Err(FormatError::KeyBudgetSpent {
                        sealed: self.sealed,
                        budget: self.key_budget,
                    });
                }
                let nonce = self.nonces.next_nonce();
                let body = start + SEALED_HEADER_LEN;
                // The ciphertext's limit is checked before any room is made for the record.
                let end = record
                    .encode_at_within(&mut self.buf, body, |len| sealed_len(len).map(drop))?;
                let sealed_len = sealed_len(end as u64 - body as u64)?;
                let tag = sealer.seal_in_place(&nonce, &mut self.buf[body..end])?;
                self.buf[start..start + NONCE_SIZE].copy_from_slice(&nonce);
                self.buf[start + NONCE_SIZE..body].copy_from_slice(&sealed_len.to_le_bytes());
                let tag_end = reserve_at(&mut self.buf, end, tag.len());
                self.buf[end..tag_end].copy_from_slice(&tag);
                // Counted once sealed: a refused record took a nonce but sealed nothing.
                self.sealed += 1;
                tag_end
            }
        };
        self.filled = end;
        if self.filled >= WRITE_BUFFER_LEN {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the checksum of the last plaintext record, if it is still missing.
    #[inline(always)]
    fn sum_pending(&mut self) {
        if let Some(start) = self.unsummed.take() {
            let end = self.filled - CRC_LEN;
            let crc = format::crc32(&self.buf[start..end]);
            self.buf[end..self.filled].copy_from_slice(&crc.to_le_bytes());
        }
    }

    /// Hands buffered records to the operating system.
    pub fn flush(&mut self) -> Result<(), FormatError> {
        self.sum_pending();
        self.guard("write", |w| {
            if w.filled > 0 {
                w.file.append(&w.buf[..w.filled])?;
                w.filled = 0;
            }
            if w.buf.len() > BUFFER_LEN {
                // A large record grew the buffer: give the memory back.
                w.buf.truncate(BUFFER_LEN);
                w.buf.shrink_to_fit();
            }
            Ok(())
        })
    }

    /// Flushes and fsyncs: every record written so far is durable when this returns `Ok`.
    pub fn sync(&mut self) -> Result<(), FormatError> {
        self.flush()?;
        self.guard("fsync", |w| w.file.sync())
    }

    /// Replaces the file with an empty one of the same version, crash-safely: the new file
    /// is written beside the old one, synced, renamed over it, and the directory synced.
    /// Records buffered and not yet flushed are discarded with the old contents.
    pub fn truncate(&mut self) -> Result<(), FormatError> {
        self.check_poisoned()?;
        self.filled = 0;
        self.unsummed = None;
        let tmp = tmp_path(&self.path);
        let header = format::header(self.version);
        self.guard("truncate", |w| {
            let mut fresh = w.storage.create(&tmp)?;
            fresh.append(&header)?;
            fresh.sync()?;
            w.storage.rename(&tmp, &w.path)?;
            w.storage.sync_dir(parent_dir(&w.path))?;
            w.file = w.storage.open(&w.path)?;
            Ok(())
        })
    }

    /// The key this writer was opened with, if any.
    pub fn key(&self) -> Option<&EncryptionKey> {
        self.key.as_ref()
    }
}

fn sealed_len(plain_len: u64) -> Result<u32, EncodeError> {
    let len = plain_len + TAG_SIZE as u64;
    if len > u64::from(SEALED_LEN_MAX) {
        return Err(EncodeError {
            field: "record",
            problem: EncodeProblem::TooLong {
                len,
                max: SEALED_LEN_MAX.into(),
            },
        });
    }
    Ok(len as u32)
}

/// Makes sure `buf` has `len` bytes from `at` (growing it with zeros); returns where they end.
#[inline(always)]
fn reserve_at(buf: &mut Vec<u8>, at: usize, len: usize) -> usize {
    let end = at + len;
    if buf.len() < end {
        buf.resize(end, 0);
    }
    end
}

/// The temporary file `truncate` writes beside `path` (`shard-0.aof` → `shard-0.aof.tmp`).
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}
