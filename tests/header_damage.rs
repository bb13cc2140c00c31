//! The header has no checksum of its own. Damage there must never cost records: a changed
//! version byte is told apart from a torn tail by an intact record of the other framing (with
//! the key, for sealed records), and a header torn by a crash during creation reads as a torn
//! tail everywhere.

use std::fs;

use bytes::Bytes;
use eaof::aof::Recovery;
use eaof::encryption::EncryptionKey;
use eaof::format::FormatError;
use eaof::scanner::Scanner;
use eaof::{AofReader, AofRecord, AofWriter, Damage, Verdict};

fn records() -> Vec<AofRecord> {
    (0..5)
        .map(|i| AofRecord::Set {
            key: format!("key{i}"),
            value: Bytes::from(vec![b'v'; 20]),
            expire_ms: -1,
        })
        .collect()
}

fn key() -> EncryptionKey {
    EncryptionKey::from_bytes([0x5a; 32])
}

fn file(sealed: bool) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shard-0.aof");
    let mut w = if sealed {
        AofWriter::open_encrypted(&path, key()).unwrap()
    } else {
        AofWriter::open(&path).unwrap()
    };
    for r in records() {
        w.write_record(&r).unwrap();
    }
    w.sync().unwrap();
    fs::read(&path).unwrap()
}

fn read_all(path: &std::path::Path, with_key: bool) -> Result<Vec<AofRecord>, FormatError> {
    let mut r = if with_key {
        AofReader::open_encrypted(path, key())?
    } else {
        AofReader::open(path)?
    };
    let mut out = Vec::new();
    while let Some(rec) = r.read_record()? {
        out.push(rec);
    }
    Ok(out)
}

#[test]
fn a_flipped_header_bit_never_makes_a_writer_with_the_files_key_cut_records() {
    let mut checked = 0;
    let mut keyless_cuts = 0;
    for sealed in [false, true] {
        let original = file(sealed);
        for bit in 0..40 {
            for with_key in [false, true] {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("shard-0.aof");
                let mut damaged = original.clone();
                damaged[bit / 8] ^= 1 << (bit % 8);
                fs::write(&path, &damaged).unwrap();
                let opened = if with_key {
                    AofWriter::open_encrypted(&path, key())
                } else {
                    AofWriter::open(&path)
                };
                match opened {
                    // Refused: the file must be exactly as it was.
                    Err(_) => assert_eq!(fs::read(&path).unwrap(), damaged, "bit {bit}"),
                    // A sealed file whose version byte now says plaintext, opened without its
                    // key: nothing authenticates, and a crash can leave sealed-looking bytes
                    // behind a plaintext file, so this is a torn tail (FORMAT.md §6, "The
                    // version byte"): the one case where a writer cuts, and only a writer
                    // without the key the file was written with.
                    Ok(w) if sealed && !with_key && damaged[4] != 3 => {
                        assert!(matches!(w.recovery(), Recovery::Cut { .. }));
                        assert!([32, 33].contains(&bit), "bit {bit}");
                        keyless_cuts += 1;
                        checked += 1;
                        continue;
                    }
                    // Accepted (a 1 <-> 2 flip): nothing may have been cut, all records read.
                    Ok(w) => {
                        assert!(
                            !matches!(w.recovery(), Recovery::Cut { .. }),
                            "sealed {sealed} bit {bit} key {with_key}: {:?}",
                            w.recovery()
                        );
                        drop(w);
                        assert_eq!(read_all(&path, with_key).unwrap(), records());
                    }
                }
                // The reader never reports a clean end with records missing.
                if let Ok(got) = read_all(&path, with_key) {
                    assert_eq!(got, records(), "sealed {sealed} bit {bit} key {with_key}");
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 160);
    assert_eq!(keyless_cuts, 2, "version 3 to 2 and to 1");
}

#[test]
fn a_version_flipped_to_the_other_framing_is_corruption_not_a_torn_tail() {
    let mut bytes = file(false);
    bytes[4] = 3; // plaintext records under a sealed header
    let scanner = Scanner::new(&bytes, Some(&key())).unwrap();
    assert!(matches!(
        scanner.finish(),
        Verdict::Corrupt {
            records: 0,
            cause: Damage::VersionMismatch { body: 2 },
            ..
        }
    ));
    let mut bytes = file(true);
    bytes[4] = 2; // sealed records under a plaintext header: the key shows it
    let scanner = Scanner::new(&bytes, Some(&key())).unwrap();
    assert!(matches!(
        scanner.finish(),
        Verdict::Corrupt {
            records: 0,
            cause: Damage::VersionMismatch { body: 3 },
            ..
        }
    ));
}

#[test]
fn without_the_key_sealed_looking_bytes_under_a_plaintext_header_are_no_evidence() {
    // A crash can leave any bytes behind a version 2 file, sealed frames included (stale
    // blocks of a deleted version 3 file): without a record that authenticates they are
    // damage like any other, so a writer can reopen what a crash left.
    let mut bytes = file(true);
    bytes[4] = 2;
    assert!(eaof::frame::looks_sealed(&bytes[5..]));
    let wrong = EncryptionKey::from_bytes([0xa5; 32]);
    for key in [Some(wrong), None] {
        let verdict = Scanner::new(&bytes, key.as_ref()).unwrap().finish();
        assert!(
            matches!(
                verdict,
                Verdict::TornTail {
                    records: 0,
                    offset: 5,
                    ..
                }
            ),
            "{verdict:?}"
        );
    }
}

#[test]
fn a_header_torn_into_zeros_is_a_torn_tail_for_every_reader() {
    for torn in [&b"EAOF\0"[..], b"EA\0\0\0", b"\0\0\0\0\0", b"EAO", b""] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shard-0.aof");
        fs::write(&path, torn).unwrap();
        let mut r = AofReader::open(&path).unwrap();
        assert_eq!(r.read_record().unwrap(), None);
        assert!(matches!(
            r.verdict(),
            Some(Verdict::TornTail {
                offset: 0,
                cause: Damage::PartialHeader { .. },
                ..
            })
        ));
        assert!(matches!(
            Scanner::new(torn, None).unwrap().finish(),
            Verdict::TornTail { offset: 0, .. }
        ));
    }
    // Longer than a header, a zero version byte is an unsupported version, not a torn header.
    assert!(matches!(
        Scanner::new(b"EAOF\0\x01", None),
        Err(FormatError::UnsupportedVersion(0))
    ));
}

#[test]
fn damage_reaching_both_the_version_byte_and_the_first_record_never_makes_the_writer_cut() {
    // Found by `eaof explore` (damage engine, seed 7): bytes 4..18 of a sealed file
    // overwritten, so the header says plaintext and the first sealed frame is broken too.
    // The records after it still authenticate: the file is corrupt, not a tail to cut.
    let original = file(true);
    for fill in [0x00u8, 0x5a, 0xff] {
        let mut damaged = original.clone();
        damaged[4] = 2;
        for b in &mut damaged[5..18] {
            *b ^= fill ^ 0xa5;
        }
        {
            let verdict = Scanner::new(&damaged, Some(&key())).unwrap().finish();
            assert!(
                matches!(
                    verdict,
                    Verdict::Corrupt {
                        cause: Damage::VersionMismatch { body: 3 },
                        ..
                    }
                ),
                "fill {fill:#x}: {verdict:?}"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shard-0.aof");
        fs::write(&path, &damaged).unwrap();
        assert!(AofWriter::open_encrypted(&path, key()).is_err());
        assert_eq!(fs::read(&path).unwrap(), damaged);
    }
}
