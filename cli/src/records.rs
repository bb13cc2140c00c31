//! Reading the intact records of a file's bytes with what the commands show of each: its
//! offset, its framed length and its plaintext (tag and payload), zero-copy.
//!
//! Guarantees: the records, the point where reading stops and the verdict are exactly the
//! library scanner's (`eaof::scanner::Scanner`), because they are made of the same public
//! pieces in the same order: the plaintext hot path (`frame::intact_plain`), the detailed
//! step (`frame::step`) and the judge (`frame::judge`); a test holds the two together on
//! every cut and flip of a file. What this adds is the framed length and the plaintext of
//! each record (the scanner keeps a sealed record's plaintext to itself), and a hook that
//! lets a long pass release the mapped pages behind it.

use std::ops::ControlFlow;

use eaof::encryption::EncryptionKey;
use eaof::format::{FormatError, HEADER_LEN};
use eaof::frame::{self, damage_of, Damage, Framer, Step, Verdict, CRC_LEN};
use eaof::RecordRef;

/// Records read between two calls of the release hook.
const RELEASE_EVERY: u64 = 1 << 16;

/// An intact record.
pub struct Intact<'a> {
    /// File offset of its first byte.
    pub offset: u64,
    /// Framed length: CRC32, or nonce, length and GCM tag, included.
    pub len: u64,
    /// Its tag and payload (for a sealed record, the plaintext).
    pub plain: &'a [u8],
    pub record: RecordRef<'a>,
}

/// Reads intact records from a position of a file's bytes.
pub struct Reader<'a> {
    bytes: &'a [u8],
    framer: Framer,
    pos: usize,
    records: u64,
}

impl<'a> Reader<'a> {
    /// A reader of records framed as `version` prescribes, from the first byte after the
    /// header. Fails for a sealed version without a key.
    pub fn new(
        bytes: &'a [u8],
        version: u8,
        key: Option<&EncryptionKey>,
    ) -> Result<Self, FormatError> {
        Self::at(bytes, version, key, HEADER_LEN.min(bytes.len()))
    }

    /// A reader from file offset `pos`.
    pub fn at(
        bytes: &'a [u8],
        version: u8,
        key: Option<&EncryptionKey>,
        pos: usize,
    ) -> Result<Self, FormatError> {
        Ok(Reader {
            bytes,
            framer: Framer::new(version, key)?,
            pos,
            records: 0,
        })
    }

    /// File offset of the next record.
    pub fn position(&self) -> u64 {
        self.pos as u64
    }

    /// Intact records read so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Moves to file offset `pos`, counting no record.
    pub fn seek(&mut self, pos: u64) {
        self.pos = (pos as usize).min(self.bytes.len());
    }

    /// The framer's key schedule (`Some` exactly when records are sealed).
    pub fn sealer(&self) -> Option<&eaof::encryption::Sealer> {
        self.framer.sealer.as_ref()
    }

    /// Hands each intact record from the position on to `visit`, until the end of the bytes
    /// (`None`) or damage (its cause; the position is then the damage's first byte).
    /// `release(offset)` is called now and then with the position.
    pub fn run<B>(
        &mut self,
        release: &dyn Fn(u64),
        mut visit: impl FnMut(Intact<'_>) -> ControlFlow<B>,
    ) -> ControlFlow<B, Option<Damage>> {
        let sealed = self.framer.is_sealed();
        loop {
            if self.records.is_multiple_of(RELEASE_EVERY) {
                release(self.pos as u64);
            }
            let at = self.pos;
            if !sealed {
                if let Some((record, len)) = frame::intact_plain(&self.bytes[at..]) {
                    self.pos += len;
                    self.records += 1;
                    visit(Intact {
                        offset: at as u64,
                        len: len as u64,
                        plain: &self.bytes[at..at + len - CRC_LEN],
                        record,
                    })?;
                    continue;
                }
            }
            let sealer = self.framer.sealer.as_ref();
            let len = match frame::step(sealer, &mut self.framer.plain, self.bytes, at) {
                Step::Record { len, .. } => len,
                Step::End => return ControlFlow::Continue(None),
                other => return ControlFlow::Continue(damage_of(&other)),
            };
            self.pos += len;
            self.records += 1;
            let plain = if sealed {
                self.framer.plain.as_slice()
            } else {
                &self.bytes[at..at + len - CRC_LEN]
            };
            // Decoded again: the record the step returned borrows the plaintext buffer
            // mutably. The step has just decoded these bytes, so this cannot fail; if it
            // did, it would be reported as the damage it is, not skipped.
            match RecordRef::decode(plain) {
                Ok(record) => visit(Intact {
                    offset: at as u64,
                    len: len as u64,
                    plain,
                    record,
                })?,
                Err(e) => {
                    self.pos = at;
                    self.records -= 1;
                    return ControlFlow::Continue(Some(Damage::Invalid(e)));
                }
            }
        }
    }

    /// The verdict once [`Reader::run`] stopped with `stop`, judged as the scanner judges.
    pub fn verdict(&self, stop: Option<Damage>) -> Verdict {
        match stop {
            None => Verdict::Clean {
                records: self.records,
                end: self.pos as u64,
            },
            Some(cause) => self.framer.judge(self.bytes, self.pos, self.records, cause),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eaof::encryption::EncryptionKey;
    use eaof::format;
    use eaof::scanner::Scanner;
    use eaof::AofRecord;

    fn file(key: Option<&EncryptionKey>) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.aof");
        let mut writer = match key {
            None => eaof::AofWriter::open(&path),
            Some(key) => eaof::AofWriter::open_encrypted(&path, key.clone()),
        }
        .unwrap();
        for i in 0..6u8 {
            writer
                .write_record(&AofRecord::Set {
                    key: format!("k{i}"),
                    value: vec![i; usize::from(i) * 5].into(),
                    expire_ms: -1,
                })
                .unwrap();
            writer
                .write_record(&AofRecord::Del {
                    key: format!("d{i}"),
                })
                .unwrap();
        }
        writer.sync().unwrap();
        std::fs::read(&path).unwrap()
    }

    fn ours(bytes: &[u8], key: Option<&EncryptionKey>) -> (Vec<(u64, u64, AofRecord)>, Verdict) {
        let version = bytes[4];
        let mut reader = Reader::new(bytes, version, key).unwrap();
        let mut seen = Vec::new();
        let stop = reader.run(&|_| {}, |r| {
            assert_eq!(RecordRef::decode(r.plain).unwrap(), r.record);
            seen.push((r.offset, r.len, r.record.to_record()));
            ControlFlow::<()>::Continue(())
        });
        let ControlFlow::Continue(stop) = stop else {
            unreachable!()
        };
        (seen, reader.verdict(stop))
    }

    fn theirs(bytes: &[u8], key: Option<&EncryptionKey>) -> (Vec<(u64, u64, AofRecord)>, Verdict) {
        let mut scanner = Scanner::new(bytes, key).unwrap();
        let mut seen = Vec::new();
        while let Some((offset, record)) = scanner.next_record() {
            let record = record.to_record();
            seen.push((offset, scanner.position() - offset, record));
        }
        (seen, scanner.finish())
    }

    /// Every cut and every single-bit flip after the header of a plaintext and a sealed
    /// file: the same records, offsets, lengths and verdict as the scanner.
    #[test]
    fn records_and_verdicts_are_the_scanners_on_every_cut_and_flip() {
        let key = EncryptionKey::from_bytes([7; 32]);
        for key in [None, Some(&key)] {
            let clean = file(key);
            let mut cases = Vec::new();
            for cut in format::HEADER_LEN..=clean.len() {
                cases.push(clean[..cut].to_vec());
            }
            for at in format::HEADER_LEN..clean.len() {
                for bit in [0, 3, 7] {
                    let mut bytes = clean.clone();
                    bytes[at] ^= 1 << bit;
                    cases.push(bytes);
                }
            }
            for bytes in cases {
                let (a, b) = (ours(&bytes, key), theirs(&bytes, key));
                assert_eq!(a.1, b.1, "{bytes:?}");
                assert_eq!(a.0.len(), b.0.len());
                for (x, y) in a.0.iter().zip(&b.0) {
                    assert_eq!((x.0, x.1), (y.0, y.1));
                    assert!(eaof_model::gen::record_lists_bit_equal(
                        std::slice::from_ref(&x.2),
                        std::slice::from_ref(&y.2)
                    ));
                }
            }
        }
    }
}
