//! Streaming reader: records one at a time from a file, through the storage seam.
//!
//! Guarantees: every record is returned exactly as written; reading ends with `Ok(None)` only
//! at a clean end or at a tail that holds no complete record and no intact record after it;
//! a complete record that fails its check, and damage with an intact record beyond it, are
//! errors. The verdict, with byte offsets, is available once reading ends. Memory stays
//! within one read block plus the largest record, except when judging damage, which reads
//! the rest of the file (never more than the file holds).

use std::path::Path;

use crate::codec::{AofRecord, RecordRef};
use crate::encryption::EncryptionKey;
use crate::format::{self, FormatError, HEADER_LEN};
use crate::frame::{self, damage_of, Framer, Step, Verdict};
use crate::storage::{read_exact_at, FsStorage, Storage, StorageFile};

/// Bytes read from storage at a time.
pub const READ_BLOCK_LEN: usize = 1 << 20;

/// Reader for iterating over AOF records.
pub struct AofReader<F: StorageFile = std::fs::File> {
    file: F,
    file_len: u64,
    version: Option<u8>,
    framer: Framer,
    /// Bytes of the file from `buf_start`.
    buf: Vec<u8>,
    buf_start: u64,
    /// Position of the next record inside `buf`.
    pos: usize,
    records: u64,
    verdict: Option<Verdict>,
}

impl<F: StorageFile> std::fmt::Debug for AofReader<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AofReader")
            .field("version", &self.version)
            .field("position", &self.position())
            .field("records", &self.records)
            .finish()
    }
}

impl AofReader<std::fs::File> {
    /// Opens an AOF file and validates the header. A version 3 file needs
    /// [`AofReader::open_encrypted`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, FormatError> {
        Self::open_in(&FsStorage, path.as_ref(), None)
    }

    /// Opens an AOF file with a key for version 3 records; plaintext files read as usual.
    pub fn open_encrypted(path: impl AsRef<Path>, key: EncryptionKey) -> Result<Self, FormatError> {
        Self::open_in(&FsStorage, path.as_ref(), Some(&key))
    }
}

impl<F: StorageFile> AofReader<F> {
    /// Opens `path` in `storage`.
    pub fn open_in<S: Storage<File = F>>(
        storage: &S,
        path: &Path,
        key: Option<&EncryptionKey>,
    ) -> Result<Self, FormatError> {
        Self::from_file(storage.open_read(path)?, key)
    }

    /// Reads from an open file.
    pub fn from_file(file: F, key: Option<&EncryptionKey>) -> Result<Self, FormatError> {
        let file_len = file.len()?;
        let mut head = vec![0u8; (file_len as usize).min(HEADER_LEN)];
        read_exact_at(&file, 0, &mut head)?;
        let (version, verdict) = Verdict::from_header(format::parse_header(&head, file_len)?);
        let framer = Framer::new(version.unwrap_or(format::FORMAT_VERSION), key)?;
        Ok(Self {
            file,
            file_len,
            version,
            framer,
            buf: Vec::new(),
            buf_start: HEADER_LEN as u64,
            pos: 0,
            records: 0,
            verdict,
        })
    }

    /// The header's version, or `None` when the header itself is incomplete.
    pub fn version(&self) -> Option<u8> {
        self.version
    }

    /// File offset of the next record.
    pub fn position(&self) -> u64 {
        self.buf_start + self.pos as u64
    }

    /// Intact records returned so far.
    pub fn records_read(&self) -> u64 {
        self.records
    }

    /// How reading ended, once it has.
    pub fn verdict(&self) -> Option<&Verdict> {
        self.verdict.as_ref()
    }

    /// Reads the next record: `Ok(None)` at a clean end or a torn tail; an error for a
    /// record that fails its check or damage an intact record follows. After the end, every
    /// call returns the same answer.
    pub fn read_record(&mut self) -> Result<Option<AofRecord>, FormatError> {
        self.next_with(|r| r.to_record())
    }

    /// Reads to the end without keeping the records, and returns the verdict.
    pub fn scan_to_end(&mut self) -> Result<Verdict, FormatError> {
        while self.next_with(|_| ())?.is_some() {}
        match &self.verdict {
            Some(v) => Ok(v.clone()),
            None => unreachable_verdict(),
        }
    }

    /// Like [`AofReader::scan_to_end`], but a record failing its check is part of the
    /// verdict rather than an error: for tools that report, cut or repair.
    pub fn judge(&mut self) -> Result<Verdict, FormatError> {
        loop {
            match self.next_with(|_| ()) {
                Ok(Some(())) => {}
                Ok(None)
                | Err(FormatError::ChecksumMismatch { .. })
                | Err(FormatError::DecryptionFailed)
                | Err(FormatError::Decode { .. })
                | Err(FormatError::Corrupt { .. }) => break,
                Err(e) => return Err(e),
            }
        }
        match &self.verdict {
            Some(v) => Ok(v.clone()),
            None => unreachable_verdict(),
        }
    }

    fn next_with<T>(
        &mut self,
        take: impl FnOnce(RecordRef<'_>) -> T,
    ) -> Result<Option<T>, FormatError> {
        loop {
            if let Some(verdict) = &self.verdict {
                return verdict.to_read_result().map(|()| None);
            }
            if !self.framer.is_sealed() {
                if let Some((record, len)) = frame::intact_plain(&self.buf[self.pos..]) {
                    let out = take(record);
                    self.pos += len;
                    self.records += 1;
                    return Ok(Some(out));
                }
            }
            let more_in_file = self.buf_start + (self.buf.len() as u64) < self.file_len;
            let damage = match self.framer.step(&self.buf, self.pos) {
                Step::Record { record, len } => {
                    let out = take(record);
                    self.pos += len;
                    self.records += 1;
                    return Ok(Some(out));
                }
                Step::End if !more_in_file => {
                    self.verdict = Some(Verdict::Clean {
                        records: self.records,
                        end: self.position(),
                    });
                    continue;
                }
                Step::End | Step::Incomplete if more_in_file => None,
                other => damage_of(&other),
            };
            match damage {
                None => self.read_more()?,
                Some(cause) => {
                    // Judging needs every byte to the end of the file.
                    while self.buf_start + (self.buf.len() as u64) < self.file_len {
                        self.read_more()?;
                    }
                    let verdict = self.framer.judge(&self.buf, self.pos, self.records, cause);
                    self.verdict = Some(self.rebase(verdict));
                }
            }
        }
    }

    /// Verdict offsets are relative to `buf`; make them file offsets.
    fn rebase(&self, verdict: Verdict) -> Verdict {
        let base = self.buf_start;
        match verdict {
            Verdict::Clean { records, end } => Verdict::Clean {
                records,
                end: end + base,
            },
            Verdict::TornTail {
                records,
                offset,
                len,
                cause,
            } => Verdict::TornTail {
                records,
                offset: offset + base,
                len,
                cause,
            },
            Verdict::Corrupt {
                records,
                offset,
                next_intact,
                cause,
            } => Verdict::Corrupt {
                records,
                offset: offset + base,
                next_intact: next_intact + base,
                cause,
            },
        }
    }

    /// Drops consumed bytes and appends the next block (at least doubling what is held, so
    /// a record larger than a block is read in a few steps).
    fn read_more(&mut self) -> Result<(), FormatError> {
        self.buf.drain(..self.pos);
        self.buf_start += self.pos as u64;
        self.pos = 0;
        let at = self.buf_start + self.buf.len() as u64;
        let want = READ_BLOCK_LEN.max(self.buf.len()) as u64;
        let n = want.min(self.file_len - at) as usize;
        let old = self.buf.len();
        self.buf.resize(old + n, 0);
        read_exact_at(&self.file, at, &mut self.buf[old..])?;
        Ok(())
    }
}

fn unreachable_verdict() -> Result<Verdict, FormatError> {
    Err(FormatError::InvalidData(
        "reader ended without a verdict".into(),
    ))
}
