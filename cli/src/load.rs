//! Reading a file and its key for the file subcommands.
//!
//! Guarantees: the file is read once, whole, and never written here; every reason it cannot
//! be read is an [`Unreadable`] whose message names the file (or the key file), and the byte
//! and header field where one applies.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use eaof::encryption::EncryptionKey;
use eaof::format::{self, FormatError, AOF_MAGIC, HEADER_LEN};
use eaof::scanner::Scanner;
use eaof::{Damage, Verdict};

use crate::exit::Exit;

/// The file and key arguments every file subcommand takes.
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// The AOF file, for example shard-0.aof
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Key file of an encrypted (version 3) file: 64 hex characters (as `eaof keygen`
    /// writes) or 32 raw bytes. Not needed for plaintext files.
    #[arg(long, value_name = "K")]
    pub key_file: Option<PathBuf>,
}

/// A file read into memory, with its key.
pub struct Loaded {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    pub key: Option<EncryptionKey>,
    pub key_path: Option<PathBuf>,
}

/// Why a file cannot be read at all (exit code 4).
#[derive(Debug)]
pub enum Unreadable {
    /// The file (or the key file) could not be read.
    Io { path: PathBuf, error: io::Error },
    /// The key file is not a key (the message names the key file).
    KeyFile { path: PathBuf, message: String },
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
    /// The file that cannot be read.
    pub fn path(&self) -> &Path {
        match self {
            Unreadable::Io { path, .. }
            | Unreadable::KeyFile { path, .. }
            | Unreadable::NotEaof { path, .. }
            | Unreadable::UnsupportedVersion { path, .. }
            | Unreadable::KeyRequired { path }
            | Unreadable::WrongKey { path, .. } => path,
        }
    }

    /// A short stable name, for `--json`.
    pub fn class(&self) -> &'static str {
        match self {
            Unreadable::Io { .. } => "io",
            Unreadable::KeyFile { .. } => "key_file",
            Unreadable::NotEaof { .. } => "not_eaof",
            Unreadable::UnsupportedVersion { .. } => "unsupported_version",
            Unreadable::KeyRequired { .. } => "key_required",
            Unreadable::WrongKey { .. } => "wrong_key",
        }
    }

    /// Reading failed on `path` with `error` (a FormatError from the reader or scanner).
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
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: unreadable: ", self.path().display())?;
        match self {
            Unreadable::Io { error, .. } => write!(f, "cannot read it: {error}"),
            Unreadable::KeyFile { message, .. } => f.write_str(message),
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
    /// Reads `target`'s file and key file.
    pub fn read(target: &Target) -> Result<Loaded, Unreadable> {
        let key = match &target.key_file {
            None => None,
            Some(path) => Some(EncryptionKey::from_file(path).map_err(|e| match e {
                // from_file's messages name the key file already.
                FormatError::Io(error) => Unreadable::KeyFile {
                    path: target.file.clone(),
                    message: error.to_string(),
                },
                other => Unreadable::KeyFile {
                    path: target.file.clone(),
                    message: format!("key file {}: {other}", path.display()),
                },
            })?),
        };
        let bytes = std::fs::read(&target.file).map_err(|error| Unreadable::Io {
            path: target.file.clone(),
            error,
        })?;
        Ok(Loaded {
            path: target.file.clone(),
            bytes,
            key,
            key_path: target.key_file.clone(),
        })
    }

    /// The header's version, when the header is complete and supported.
    pub fn version(&self) -> Option<u8> {
        self.bytes
            .get(4)
            .copied()
            .filter(|&v| self.bytes.len() >= HEADER_LEN && format::is_supported_version(v))
    }

    /// A scanner over the file's records.
    pub fn scanner(&self) -> Result<Scanner<'_>, Unreadable> {
        Scanner::new(&self.bytes, self.key.as_ref())
            .map_err(|e| Unreadable::from_format(&self.path, e, &self.bytes))
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

    /// Reads every record and judges the file.
    pub fn judge(&self) -> Result<Verdict, Unreadable> {
        let verdict = self.scanner()?.finish();
        match self.unreadable(&verdict) {
            Some(error) => Err(error),
            None => Ok(verdict),
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
