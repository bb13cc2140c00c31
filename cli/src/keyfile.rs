//! Reading a key file (`--key-file K`): at most [`KEY_FILE_LEN_MAX`] bytes, permissions
//! checked the way ssh checks a private key, every error naming the key file.
//!
//! The rule (documented in the README): a regular key file that others can read, write or
//! run (`mode & 0o007`), or that its group can write (`0o020`), is refused: anyone who can
//! read the key can read every file sealed with it, and anyone who can change it can make
//! the server seal with a key of their choosing. A key file its group can read (`0o040`,
//! as in `root:ember 0640`, so that a server running as a member of the group can read it)
//! is accepted with a warning. A key that is not a regular file (a pipe from the shell's
//! `<(...)`, a device) has no such bits to check and is only read up to the bound.
//!
//! The format is the library's (`EncryptionKey::from_file`): exactly 32 raw bytes, or 64 hex
//! characters with optional surrounding whitespace. The bytes read are zeroed when dropped.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use eaof::encryption::{EncryptionKey, KEY_SIZE};
use zeroize::Zeroizing;

/// Bytes read from a key file at most: a key is 32 raw bytes or 64 hex characters, and a
/// little whitespace around them.
pub const KEY_FILE_LEN_MAX: usize = 4096;

/// Permission bits that make a key file refused: any access by others, write by the group.
pub const MODE_REFUSED: u32 = 0o027;

/// Permission bits that make a key file accepted with a warning: read by the group.
pub const MODE_WARNED: u32 = 0o040;

/// Why a key file gives no key.
#[derive(Debug)]
pub enum KeyFileError {
    Io(io::Error),
    /// Readable or writable by others, or writable by its group: its mode.
    Exposed(u32),
    /// Longer than [`KEY_FILE_LEN_MAX`].
    TooLong,
    /// Not 32 raw bytes nor 64 hex characters: why.
    NotAKey(String),
}

impl fmt::Display for KeyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyFileError::Io(e) => write!(f, "cannot read it: {e}"),
            KeyFileError::Exposed(mode) => write!(
                f,
                "permissions {mode:04o} are too open: a key file must not be accessible by \
                 others nor writable by its group (chmod 600, or 640 for a server's group)"
            ),
            KeyFileError::TooLong => write!(
                f,
                "longer than {KEY_FILE_LEN_MAX} bytes: not a key (32 raw bytes or 64 hex \
                 characters)"
            ),
            KeyFileError::NotAKey(why) => f.write_str(why),
        }
    }
}

/// A key, and a warning about its file if there is one.
#[derive(Debug)]
pub struct KeyFile {
    pub key: EncryptionKey,
    pub warning: Option<String>,
}

/// Reads the key file at `path`.
pub fn read(path: &Path) -> Result<KeyFile, KeyFileError> {
    let mut file = File::open(path).map_err(KeyFileError::Io)?;
    let meta = file.metadata().map_err(KeyFileError::Io)?;
    let mut warning = None;
    if meta.is_file() {
        let mode = meta.permissions().mode() & 0o7777;
        if mode & MODE_REFUSED != 0 {
            return Err(KeyFileError::Exposed(mode));
        }
        if mode & MODE_WARNED != 0 {
            warning = Some(format!(
                "warning: key file {} is readable by its group (mode {mode:04o}); accepted, \
                 as for a server's group, but every member of the group can read the files \
                 sealed with it",
                path.display()
            ));
        }
    }
    let mut buf = Zeroizing::new([0u8; KEY_FILE_LEN_MAX + 1]);
    let mut len = 0;
    while len < buf.len() {
        match file.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(KeyFileError::Io(e)),
        }
    }
    if len > KEY_FILE_LEN_MAX {
        return Err(KeyFileError::TooLong);
    }
    let key = parse(&buf[..len]).map_err(KeyFileError::NotAKey)?;
    Ok(KeyFile { key, warning })
}

/// A key from a key file's bytes, as `EncryptionKey::from_file` reads them.
pub fn parse(data: &[u8]) -> Result<EncryptionKey, String> {
    if let Ok(raw) = <[u8; KEY_SIZE]>::try_from(data) {
        return Ok(EncryptionKey::from_bytes(raw));
    }
    let text = std::str::from_utf8(data)
        .map_err(|_| "neither 32 raw bytes nor 64 hex characters".to_owned())?
        .trim();
    if text.len() != 2 * KEY_SIZE {
        return Err(format!(
            "must be 32 raw bytes or 64 hex characters, found {} bytes",
            data.len()
        ));
    }
    let mut bytes = Zeroizing::new([0u8; KEY_SIZE]);
    for (i, pair) in text.as_bytes().chunks_exact(2).enumerate() {
        bytes[i] = std::str::from_utf8(pair)
            .ok()
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .ok_or_else(|| format!("invalid hex at character {}", 2 * i))?;
    }
    Ok(EncryptionKey::from_bytes(*bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The library's reader and this one agree on every shape of key file: the same key, or
    /// both refuse.
    #[test]
    fn parsing_agrees_with_the_library_on_every_shape() {
        let dir = tempfile::tempdir().unwrap();
        let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let cases: Vec<Vec<u8>> = vec![
            hex.into(),
            format!("{hex}\n").into(),
            format!("  \t{hex}\r\n\n").into(),
            hex.to_uppercase().into(),
            (0..32u8).collect(),
            vec![0xff; 32],
            b"\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n".to_vec(),
            hex[..63].into(),
            format!("{hex}0").into(),
            format!("{}zz", &hex[..62]).into(),
            format!("{}+1", &hex[..62]).into(),
            vec![0xff; 64],
            Vec::new(),
            b"not a key".to_vec(),
            (0..33u8).collect(),
        ];
        for data in cases {
            let path = dir.path().join("k");
            std::fs::write(&path, &data).unwrap();
            let library = EncryptionKey::from_file(&path).map(|k| k.to_hex());
            let ours = parse(&data).map(|k| k.to_hex());
            assert_eq!(library.is_ok(), ours.is_ok(), "{data:?}");
            if let (Ok(a), Ok(b)) = (library, ours) {
                assert_eq!(*a, *b, "{data:?}");
            }
        }
    }
}
