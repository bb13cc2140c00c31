//! Encryption at rest for version 3 files: AES-256-GCM, one random 96-bit nonce per record,
//! no associated data.
//!
//! Guarantees: key bytes are zeroed when the key is dropped and never printed; a record
//! sealed under a key opens only under that key and only if not one bit changed; the nonce
//! source is injectable so that golden fixtures can be reproduced, while production uses
//! the operating system's random generator; random nonces put a limit on the records one key
//! may seal ([`SEALED_RECORDS_PER_KEY_MAX`]).

use std::fmt;
use std::io;
use std::path::Path;

use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::{AeadInPlace, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use zeroize::Zeroizing;

use crate::format::FormatError;

/// AES-256-GCM nonce size in bytes.
pub const NONCE_SIZE: usize = 12;

/// AES-256-GCM authentication tag size in bytes.
pub const TAG_SIZE: usize = 16;

/// Key size in bytes.
pub const KEY_SIZE: usize = 32;

/// Most records to seal under one key: NIST SP 800-38D (§8.3) bounds the invocations of
/// AES-GCM with random 96-bit nonces under one key at 2^32, which keeps the odds that any two
/// nonces repeat under 2^-32 (a repeated nonce gives away the XOR of two plaintexts and lets
/// tags be forged). The budget is the key's, not a file's: every shard and every file ever
/// sealed under the key spends from it. The writer counts what it can see and refuses past
/// it (`WriterOptions::key_budget`); rotating the key is the way on.
pub const SEALED_RECORDS_PER_KEY_MAX: u64 = 1 << 32;

/// A 256-bit AES-GCM key. Cloning copies the bytes; every copy is zeroed when dropped.
#[derive(Clone)]
pub struct EncryptionKey {
    bytes: Zeroizing<[u8; KEY_SIZE]>,
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptionKey")
            .field("bytes", &"[redacted]")
            .finish()
    }
}

impl EncryptionKey {
    /// Creates a key from raw bytes.
    pub fn from_bytes(bytes: [u8; KEY_SIZE]) -> Self {
        Self {
            bytes: Zeroizing::new(bytes),
        }
    }

    /// A new random key from the operating system's generator (for key files).
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; KEY_SIZE]);
        OsRng.fill_bytes(&mut *bytes);
        Self { bytes }
    }

    /// Reads a key file: exactly 32 raw bytes, or 64 hex characters with optional
    /// surrounding whitespace. Errors name the file.
    pub fn from_file(path: &Path) -> Result<Self, FormatError> {
        let invalid = |why: String| {
            FormatError::Io(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("key file '{}': {why}", path.display()),
            ))
        };
        let data = Zeroizing::new(std::fs::read(path).map_err(|e| {
            FormatError::Io(io::Error::new(
                e.kind(),
                format!("cannot read key file '{}': {e}", path.display()),
            ))
        })?);
        if let Ok(raw) = <[u8; KEY_SIZE]>::try_from(data.as_slice()) {
            return Ok(Self::from_bytes(raw));
        }
        let text = std::str::from_utf8(&data)
            .map_err(|_| invalid("neither 32 raw bytes nor 64 hex characters".into()))?
            .trim();
        if text.len() != 2 * KEY_SIZE {
            return Err(invalid(format!(
                "must be 32 raw bytes or 64 hex characters, found {} bytes",
                data.len()
            )));
        }
        let mut bytes = Zeroizing::new([0u8; KEY_SIZE]);
        for (i, pair) in text.as_bytes().chunks_exact(2).enumerate() {
            let hex = std::str::from_utf8(pair).ok();
            bytes[i] = hex
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| invalid(format!("invalid hex at character {}", 2 * i)))?;
        }
        Ok(Self { bytes })
    }

    /// The key as 64 lowercase hex characters (for key files and published test vectors).
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(self.bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub(crate) fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new((&*self.bytes).into())
    }
}

/// Where the writer gets each record's nonce. Nonces must never repeat under one key.
pub trait NonceSource: Send {
    fn next_nonce(&mut self) -> [u8; NONCE_SIZE];
}

/// Random nonces from the operating system (the production source).
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomNonces;

impl NonceSource for RandomNonces {
    fn next_nonce(&mut self) -> [u8; NONCE_SIZE] {
        let mut nonce = [0u8; NONCE_SIZE];
        OsRng.fill_bytes(&mut nonce);
        nonce
    }
}

/// Deterministic nonces: a 4-byte prefix, then a little-endian 64-bit counter. For
/// reproducible fixtures and tests only: reusing a prefix under one key repeats nonces.
#[derive(Debug, Clone, Copy)]
pub struct CountingNonces {
    prefix: [u8; 4],
    counter: u64,
}

impl CountingNonces {
    pub fn new(prefix: [u8; 4]) -> Self {
        Self { prefix, counter: 0 }
    }
}

impl NonceSource for CountingNonces {
    fn next_nonce(&mut self) -> [u8; NONCE_SIZE] {
        let mut nonce = [0u8; NONCE_SIZE];
        nonce[..4].copy_from_slice(&self.prefix);
        nonce[4..].copy_from_slice(&self.counter.to_le_bytes());
        self.counter = self.counter.wrapping_add(1);
        nonce
    }
}

/// A key schedule ready to seal and open records (built once per writer or reader, not per
/// record).
#[derive(Clone)]
pub struct Sealer {
    cipher: Aes256Gcm,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

impl Sealer {
    pub fn new(key: &EncryptionKey) -> Self {
        Self {
            cipher: key.cipher(),
        }
    }

    /// Seals `plain`: returns ciphertext + tag.
    pub fn seal(&self, nonce: &[u8; NONCE_SIZE], plain: &[u8]) -> Result<Vec<u8>, FormatError> {
        let mut sealed = plain.to_vec();
        let tag = self.seal_in_place(nonce, &mut sealed)?;
        sealed.extend_from_slice(&tag);
        Ok(sealed)
    }

    /// Seals `body` in place (it becomes the ciphertext) and returns the tag.
    pub fn seal_in_place(
        &self,
        nonce: &[u8; NONCE_SIZE],
        body: &mut [u8],
    ) -> Result<[u8; TAG_SIZE], FormatError> {
        let tag = self
            .cipher
            .encrypt_in_place_detached(Nonce::from_slice(nonce), &[], body)
            .map_err(|e| FormatError::Io(io::Error::other(format!("encryption failed: {e}"))))?;
        Ok(tag.into())
    }

    /// Opens `sealed` (ciphertext + tag) into `plain`, replacing its contents. Returns false
    /// when the record does not authenticate.
    pub fn open_into(&self, nonce: &[u8; NONCE_SIZE], sealed: &[u8], plain: &mut Vec<u8>) -> bool {
        let Some(body_len) = sealed.len().checked_sub(TAG_SIZE) else {
            return false;
        };
        let (body, tag) = sealed.split_at(body_len);
        plain.clear();
        plain.extend_from_slice(body);
        self.cipher
            .decrypt_in_place_detached(Nonce::from_slice(nonce), &[], plain, Tag::from_slice(tag))
            .is_ok()
    }
}

/// Encrypts a plaintext record with a fresh random nonce; returns the nonce and the
/// ciphertext with its 16-byte tag appended. (The seed's function.)
pub fn encrypt_record(
    key: &EncryptionKey,
    plaintext: &[u8],
) -> Result<([u8; NONCE_SIZE], Vec<u8>), FormatError> {
    let nonce = RandomNonces.next_nonce();
    Ok((nonce, Sealer::new(key).seal(&nonce, plaintext)?))
}

/// Decrypts ciphertext + tag; `DecryptionFailed` for a wrong key or any changed bit. (The
/// seed's function.)
pub fn decrypt_record(
    key: &EncryptionKey,
    nonce: &[u8; NONCE_SIZE],
    ciphertext: &[u8],
) -> Result<Vec<u8>, FormatError> {
    let mut plain = Vec::new();
    if Sealer::new(key).open_into(nonce, ciphertext, &mut plain) {
        Ok(plain)
    } else {
        Err(FormatError::DecryptionFailed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_differ_and_open_only_their_own_records() {
        let (a, b) = (EncryptionKey::generate(), EncryptionKey::generate());
        assert_ne!(*a.to_hex(), *b.to_hex());
        let nonce = [7u8; NONCE_SIZE];
        let sealed = Sealer::new(&a).seal(&nonce, b"record").unwrap();
        let mut plain = Vec::new();
        assert!(Sealer::new(&a).open_into(&nonce, &sealed, &mut plain));
        assert_eq!(plain, b"record");
        assert!(!Sealer::new(&b).open_into(&nonce, &sealed, &mut plain));
    }
}
