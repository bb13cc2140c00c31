//! Opening a file and its key for the file subcommands.
//!
//! Guarantees: the file is a regular file ([`crate::source`]), mapped read-only
//! ([`crate::map`]: any size, never copied into the heap) and never written here; the key
//! file is read up to a bound and its permissions checked ([`crate::keyfile`]); every
//! reason either cannot be used is an [`Unreadable`] whose message names the file it is
//! about (the key file or the data file), and the byte and header field where one applies.

use std::fmt;
use std::fs::File;
use std::io;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use eaof::encryption::EncryptionKey;
use eaof::format::{self, FormatError, AOF_MAGIC, HEADER_LEN};
use eaof::scanner::Scanner;
use eaof::{Damage, Verdict};

use crate::exit::Exit;
use crate::keyfile::{self, KeyFileError};
use crate::map::Mapped;
use crate::records::{Intact, Reader};
use crate::source::{self, Access, Refused};

/// The file and key arguments every file subcommand takes.
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// The AOF file, for example shard-0.aof (a regular file)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Key file of an encrypted (version 3) file: 64 hex characters (as `eaof keygen`
    /// writes) or 32 raw bytes, at most 4096 bytes read. Refused when others can access it
    /// or its group can write it (chmod 600). Not needed for plaintext files.
    #[arg(long, value_name = "K")]
    pub key_file: Option<PathBuf>,
}

/// A file opened and mapped, with its key.
pub struct Loaded {
    pub path: PathBuf,
    pub file: File,
    pub meta: std::fs::Metadata,
    map: Mapped,
    pub key: Option<EncryptionKey>,
    pub key_path: Option<PathBuf>,
}

/// Why a file cannot be read or used at all (exit code 4).
#[derive(Debug)]
pub enum Unreadable {
    /// The file could not be opened, mapped or read.
    Io { path: PathBuf, error: io::Error },
    /// The key file gives no key (the message names the key file).
    KeyFile {
        path: PathBuf,
        key_path: PathBuf,
        error: KeyFileError,
    },
    /// Not a regular file (a FIFO, a device...): refused before it is opened.
    NotRegular { path: PathBuf, kind: &'static str },
    /// A symbolic link given to a command that changes files.
    Symlink { path: PathBuf, target: PathBuf },
    /// Another process holds a lock on the file (another repair?).
    Locked { path: PathBuf },
    /// The file does not start with `EAOF`.
    NotEaof { path: PathBuf, magic: Vec<u8> },
    /// The header's version is not one this reader knows.
    UnsupportedVersion { path: PathBuf, version: u8 },
    /// A version 3 file, and no key was given.
    KeyRequired { path: PathBuf },
    /// A version 3 file none of whose records authenticates under the key given.
    WrongKey {
        path: PathBuf,
        key_path: Option<PathBuf>,
        offset: u64,
        len: u64,
    },
}

impl Unreadable {
    /// The data file.
    pub fn path(&self) -> &Path {
        match self {
            Unreadable::Io { path, .. }
            | Unreadable::KeyFile { path, .. }
            | Unreadable::NotRegular { path, .. }
            | Unreadable::Symlink { path, .. }
            | Unreadable::Locked { path }
            | Unreadable::NotEaof { path, .. }
            | Unreadable::UnsupportedVersion { path, .. }
            | Unreadable::KeyRequired { path }
            | Unreadable::WrongKey { path, .. } => path,
        }
    }

    /// The file the error is about: the key file for a key file's error, else the data file.
    pub fn about(&self) -> &Path {
        match self {
            Unreadable::KeyFile { key_path, .. } => key_path,
            other => other.path(),
        }
    }

    /// A short stable name, for `--json`.
    pub fn class(&self) -> &'static str {
        match self {
            Unreadable::Io { .. } => "io",
            Unreadable::KeyFile { .. } => "key_file",
            Unreadable::NotRegular { .. } => "not_regular",
            Unreadable::Symlink { .. } => "symlink",
            Unreadable::Locked { .. } => "locked",
            Unreadable::NotEaof { .. } => "not_eaof",
            Unreadable::UnsupportedVersion { .. } => "unsupported_version",
            Unreadable::KeyRequired { .. } => "key_required",
            Unreadable::WrongKey { .. } => "wrong_key",
        }
    }

    /// Reading failed on `path` with `error` (a FormatError from the scanner).
    pub fn from_format(path: &Path, error: FormatError, magic: &[u8]) -> Unreadable {
        let path = path.to_path_buf();
        match error {
            FormatError::InvalidMagic => Unreadable::NotEaof {
                path,
                magic: magic[..magic.len().min(AOF_MAGIC.len())].to_vec(),
            },
            FormatError::UnsupportedVersion(version) => {
                Unreadable::UnsupportedVersion { path, version }
            }
            FormatError::EncryptionRequired => Unreadable::KeyRequired { path },
            FormatError::Io(error) => Unreadable::Io { path, error },
            other => Unreadable::Io {
                path,
                error: io::Error::other(other.to_string()),
            },
        }
    }

    fn opening(path: &Path, refused: Refused) -> Unreadable {
        let path = path.to_path_buf();
        match refused {
            Refused::Io(error) => Unreadable::Io { path, error },
            Refused::NotRegular(kind) => Unreadable::NotRegular { path, kind },
            Refused::Symlink(target) => Unreadable::Symlink { path, target },
            Refused::Locked => Unreadable::Locked { path },
        }
    }
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Unreadable::KeyFile {
            path,
            key_path,
            error,
        } = self
        {
            return write!(
                f,
                "{}: unusable key file (for {}): {error}",
                key_path.display(),
                path.display()
            );
        }
        write!(f, "{}: unreadable: ", self.path().display())?;
        match self {
            Unreadable::Io { error, .. } => write!(f, "cannot read it: {error}"),
            Unreadable::KeyFile { .. } => Ok(()),
            Unreadable::NotRegular { kind, .. } => write!(
                f,
                "it is {kind}, not a regular file: refused without opening it (eaof reads \
                 and repairs regular files only)"
            ),
            Unreadable::Symlink { target, .. } => write!(
                f,
                "it is a symbolic link (to {}): refused, nothing was changed; repair the file \
                 itself: `eaof repair {}` (writing through a link would leave the link \
                 replaced by a plain file and the target as it was)",
                target.display(),
                target.display()
            ),
            Unreadable::Locked { .. } => f.write_str(
                "another process holds a lock on it (another `eaof repair`?): refused, \
                 nothing was changed",
            ),
            Unreadable::NotEaof { magic, .. } => write!(
                f,
                "bytes 0..{}: header field `magic` is {}, not \"EAOF\": not an EAOF file",
                magic.len(),
                crate::show::bytes(magic)
            ),
            Unreadable::UnsupportedVersion { version, .. } => write!(
                f,
                "byte 4: header field `version` is {version}: unsupported (this reader knows \
                 1 and 2, plaintext, and 3, encrypted)"
            ),
            Unreadable::KeyRequired { .. } => f.write_str(
                "byte 4: header field `version` is 3: the file is encrypted and a key is \
                 needed: pass --key-file K",
            ),
            Unreadable::WrongKey {
                key_path,
                offset,
                len,
                ..
            } => {
                let key = key_path
                    .as_ref()
                    .map_or_else(|| "the key".to_owned(), |k| k.display().to_string());
                write!(
                    f,
                    "byte {offset}: no record authenticates with the key in {key} ({len} \
                     bytes after the header): the wrong key, or the file's only record is \
                     damaged"
                )
            }
        }
    }
}

impl Loaded {
    /// Opens `target`'s file to read it (following a symbolic link), and its key file.
    pub fn read(target: &Target) -> Result<Loaded, Unreadable> {
        Self::open(target, Access::Read)
    }

    /// Opens `target`'s file for `access` (for a change: not through a link, locked), maps
    /// it, and reads its key file.
    pub fn open(target: &Target, access: Access) -> Result<Loaded, Unreadable> {
        let key = match &target.key_file {
            None => None,
            Some(key_path) => {
                let read = keyfile::read(key_path).map_err(|error| Unreadable::KeyFile {
                    path: target.file.clone(),
                    key_path: key_path.clone(),
                    error,
                })?;
                if let Some(warning) = read.warning {
                    crate::note!("{warning}");
                }
                Some(read.key)
            }
        };
        let opened = source::open(&target.file, access)
            .map_err(|refused| Unreadable::opening(&target.file, refused))?;
        let map = Mapped::new(&opened.file, &target.file).map_err(|error| Unreadable::Io {
            path: target.file.clone(),
            error,
        })?;
        Ok(Loaded {
            path: target.file.clone(),
            file: opened.file,
            meta: opened.meta,
            map,
            key,
            key_path: target.key_file.clone(),
        })
    }

    /// The file's bytes (mapped).
    pub fn bytes(&self) -> &[u8] {
        self.map.bytes()
    }

    /// Lets a pass drop the mapped pages before `offset` (see [`Mapped::release_before`]).
    pub fn release_before(&self, offset: u64) {
        self.map.release_before(offset);
    }

    /// The file's length when it was opened.
    pub fn len(&self) -> u64 {
        self.bytes().len() as u64
    }

    /// The header's version, when the header is complete and supported.
    pub fn version(&self) -> Option<u8> {
        let bytes = self.bytes();
        bytes
            .get(4)
            .copied()
            .filter(|&v| bytes.len() >= HEADER_LEN && format::is_supported_version(v))
    }

    /// A reader over the file's records from the first after the header, or the verdict
    /// already (a header torn while the file was being created).
    pub fn reader(&self) -> Result<Result<Reader<'_>, Verdict>, Unreadable> {
        let bytes = self.bytes();
        // The scanner's constructor is the one judge of the header.
        let scanner = Scanner::new(bytes, self.key.as_ref())
            .map_err(|e| Unreadable::from_format(&self.path, e, bytes))?;
        if let Some(verdict) = scanner.verdict() {
            return Ok(Err(verdict.clone()));
        }
        let version = scanner.version().unwrap_or(format::FORMAT_VERSION);
        Reader::new(bytes, version, self.key.as_ref())
            .map(Ok)
            .map_err(|e| Unreadable::from_format(&self.path, e, bytes))
    }

    /// Hands every intact record before the end or the first damage to `visit`, and judges
    /// the file: the verdict, or why it cannot be read. `visit` breaking stops reading.
    pub fn judge_with<B>(
        &self,
        visit: impl FnMut(Intact<'_>) -> ControlFlow<B>,
    ) -> Result<ControlFlow<B, Verdict>, Unreadable> {
        let mut reader = match self.reader()? {
            Ok(reader) => reader,
            Err(verdict) => return Ok(ControlFlow::Continue(verdict)),
        };
        let verdict = match reader.run(&|at| self.release_before(at), visit) {
            ControlFlow::Break(b) => return Ok(ControlFlow::Break(b)),
            ControlFlow::Continue(stop) => reader.verdict(stop),
        };
        match self.unreadable(&verdict) {
            Some(error) => Err(error),
            None => Ok(ControlFlow::Continue(verdict)),
        }
    }

    /// Reads every record and judges the file.
    pub fn judge(&self) -> Result<Verdict, Unreadable> {
        match self.judge_with(|_| ControlFlow::<()>::Continue(()))? {
            ControlFlow::Continue(verdict) => Ok(verdict),
            ControlFlow::Break(()) => unreachable!("the visitor never breaks"),
        }
    }

    /// The unreadable error a verdict stands for, if any (the wrong key).
    pub fn unreadable(&self, verdict: &Verdict) -> Option<Unreadable> {
        match verdict {
            Verdict::TornTail { offset, len, .. } if verdict.is_wrong_key() => {
                Some(Unreadable::WrongKey {
                    path: self.path.clone(),
                    key_path: self.key_path.clone(),
                    offset: *offset,
                    len: *len,
                })
            }
            _ => None,
        }
    }

    /// A note when a key was given for a plaintext file (it is not used), for stderr; none
    /// when the key recognised sealed records under a damaged version byte.
    pub fn unused_key_note(&self, verdict: &Verdict) -> Option<String> {
        if let Verdict::Corrupt {
            cause: Damage::VersionMismatch { .. },
            ..
        } = verdict
        {
            return None;
        }
        match (self.version(), &self.key_path) {
            (Some(v), Some(key)) if !format::is_sealed(v) => Some(format!(
                "note: {} is plaintext (version {v}); the key in {} is not needed to read it",
                self.path.display(),
                key.display()
            )),
            _ => None,
        }
    }

    /// The file name for messages.
    pub fn name(&self) -> String {
        self.path.display().to_string()
    }
}

impl From<&Unreadable> for Exit {
    fn from(_: &Unreadable) -> Exit {
        Exit::Unreadable
    }
}
