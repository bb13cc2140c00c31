//! The seed's own unit tests (`mod tests` of ember-persistence 0.4.9's `aof.rs`), run
//! against eaof. Changed only in their `use` lines and the one private constant they reach
//! for (`TAG_SET`), as the compatibility promise requires.

mod tests {
    use bytes::Bytes;
    use eaof::aof::*;
    use eaof::format::FormatError;
    use std::fs::{self, OpenOptions};
    use std::io::Write;
    use std::path::{Path, PathBuf};
    const TAG_SET: u8 = eaof::RecordKind::Set.tag();

    type Result = std::result::Result<(), Box<dyn std::error::Error>>;

    fn temp_dir() -> tempfile::TempDir {
        tempfile::tempdir().expect("create temp dir")
    }

    #[test]
    fn record_round_trip_set() -> Result {
        let rec = AofRecord::Set {
            key: "hello".into(),
            value: Bytes::from("world"),
            expire_ms: 5000,
        };
        let bytes = rec.to_bytes()?;
        let decoded = AofRecord::from_bytes(&bytes)?;
        assert_eq!(rec, decoded);
        Ok(())
    }

    #[test]
    fn record_round_trip_del() -> Result {
        let rec = AofRecord::Del { key: "gone".into() };
        let bytes = rec.to_bytes()?;
        let decoded = AofRecord::from_bytes(&bytes)?;
        assert_eq!(rec, decoded);
        Ok(())
    }

    #[test]
    fn record_round_trip_expire() -> Result {
        let rec = AofRecord::Expire {
            key: "ttl".into(),
            seconds: 300,
        };
        let bytes = rec.to_bytes()?;
        let decoded = AofRecord::from_bytes(&bytes)?;
        assert_eq!(rec, decoded);
        Ok(())
    }

    #[test]
    fn set_with_no_expiry() -> Result {
        let rec = AofRecord::Set {
            key: "k".into(),
            value: Bytes::from("v"),
            expire_ms: -1,
        };
        let bytes = rec.to_bytes()?;
        let decoded = AofRecord::from_bytes(&bytes)?;
        assert_eq!(rec, decoded);
        Ok(())
    }

    #[test]
    fn writer_reader_round_trip() -> Result {
        let dir = temp_dir();
        let path = dir.path().join("test.aof");

        let records = vec![
            AofRecord::Set {
                key: "a".into(),
                value: Bytes::from("1"),
                expire_ms: -1,
            },
            AofRecord::Set {
                key: "b".into(),
                value: Bytes::from("2"),
                expire_ms: 10_000,
            },
            AofRecord::Del { key: "a".into() },
            AofRecord::Expire {
                key: "b".into(),
                seconds: 60,
            },
        ];

        // write
        {
            let mut writer = AofWriter::open(&path)?;
            for rec in &records {
                writer.write_record(rec)?;
            }
            writer.sync()?;
        }

        // read back
        let mut reader = AofReader::open(&path)?;
        let mut got = Vec::new();
        while let Some(rec) = reader.read_record()? {
            got.push(rec);
        }
        assert_eq!(records, got);
        Ok(())
    }

    #[test]
    fn empty_aof_returns_no_records() -> Result {
        let dir = temp_dir();
        let path = dir.path().join("empty.aof");

        // just write the header
        {
            let _writer = AofWriter::open(&path)?;
        }

        let mut reader = AofReader::open(&path)?;
        assert!(reader.read_record()?.is_none());
        Ok(())
    }

    #[test]
    fn truncated_record_treated_as_eof() -> Result {
        let dir = temp_dir();
        let path = dir.path().join("trunc.aof");

        // write one good record, then append garbage (simulating a crash)
        {
            let mut writer = AofWriter::open(&path)?;
            writer.write_record(&AofRecord::Set {
                key: "ok".into(),
                value: Bytes::from("good"),
                expire_ms: -1,
            })?;
            writer.flush()?;
        }

        // append a partial tag with no payload
        {
            let mut file = OpenOptions::new().append(true).open(&path)?;
            file.write_all(&[TAG_SET])?;
        }

        let mut reader = AofReader::open(&path)?;
        // first record should be fine
        let rec = reader.read_record()?.unwrap();
        assert!(matches!(rec, AofRecord::Set { .. }));
        // second should be None (truncated)
        assert!(reader.read_record()?.is_none());
        Ok(())
    }

    #[test]
    fn corrupt_crc_detected() -> Result {
        let dir = temp_dir();
        let path = dir.path().join("corrupt.aof");

        {
            let mut writer = AofWriter::open(&path)?;
            writer.write_record(&AofRecord::Set {
                key: "k".into(),
                value: Bytes::from("v"),
                expire_ms: -1,
            })?;
            writer.flush()?;
        }

        // corrupt the last byte (part of the CRC)
        let mut data = fs::read(&path)?;
        let last = data.len() - 1;
        data[last] ^= 0xFF;
        fs::write(&path, &data)?;

        let mut reader = AofReader::open(&path)?;
        let err = reader.read_record().unwrap_err();
        assert!(matches!(err, FormatError::ChecksumMismatch { .. }));
        Ok(())
    }

    #[test]
    fn missing_magic_is_error() {
        let dir = temp_dir();
        let path = dir.path().join("bad.aof");
        fs::write(&path, b"NOT_AOF_DATA").unwrap();

        let err = AofReader::open(&path).unwrap_err();
        assert!(matches!(err, FormatError::InvalidMagic));
    }

    #[test]
    fn truncate_resets_aof() -> Result {
        let dir = temp_dir();
        let path = dir.path().join("reset.aof");

        {
            let mut writer = AofWriter::open(&path)?;
            writer.write_record(&AofRecord::Set {
                key: "old".into(),
                value: Bytes::from("data"),
                expire_ms: -1,
            })?;
            writer.truncate()?;

            // write a new record after truncation
            writer.write_record(&AofRecord::Set {
                key: "new".into(),
                value: Bytes::from("fresh"),
                expire_ms: -1,
            })?;
            writer.sync()?;
        }

        let mut reader = AofReader::open(&path)?;
        let rec = reader.read_record()?.unwrap();
        match rec {
            AofRecord::Set { key, .. } => assert_eq!(key, "new"),
            other => panic!("expected Set, got {other:?}"),
        }
        // only one record after truncation
        assert!(reader.read_record()?.is_none());
        Ok(())
    }

    #[test]
    fn record_round_trip_lpush() -> Result {
        let rec = AofRecord::LPush {
            key: "list".into(),
            values: vec![Bytes::from("a"), Bytes::from("b")],
        };
        let bytes = rec.to_bytes()?;
        let decoded = AofRecord::from_bytes(&bytes)?;
        assert_eq!(rec, decoded);
        Ok(())
    }

    #[test]
    fn record_round_trip_rpush() -> Result {
        let rec = AofRecord::RPush {
            key: "list".into(),
            values: vec![Bytes::from("x")],
        };
        let bytes = rec.to_bytes()?;
        let decoded = AofRecord::from_bytes(&bytes)?;
        assert_eq!(rec, decoded);
        Ok(())
    }

    #[test]
    fn record_round_trip_lpop() -> Result {
        let rec = AofRecord::LPop { key: "list".into() };
        let bytes = rec.to_bytes()?;
        let decoded = AofRecord::from_bytes(&bytes)?;
        assert_eq!(rec, decoded);
        Ok(())
    }

    #[test]
    fn record_round_trip_rpop() -> Result {
        let rec = AofRecord::RPop { key: "list".into() };
        let bytes = rec.to_bytes()?;
        let decoded = AofRecord::from_bytes(&bytes)?;
        assert_eq!(rec, decoded);
        Ok(())
    }

    #[test]
    fn writer_reader_round_trip_with_list_records() -> Result {
        let dir = temp_dir();
        let path = dir.path().join("list.aof");

        let records = vec![
            AofRecord::LPush {
                key: "l".into(),
                values: vec![Bytes::from("a"), Bytes::from("b")],
            },
            AofRecord::RPush {
                key: "l".into(),
                values: vec![Bytes::from("c")],
            },
            AofRecord::LPop { key: "l".into() },
            AofRecord::RPop { key: "l".into() },
        ];

        {
            let mut writer = AofWriter::open(&path)?;
            for rec in &records {
                writer.write_record(rec)?;
            }
            writer.sync()?;
        }

        let mut reader = AofReader::open(&path)?;
        let mut got = Vec::new();
        while let Some(rec) = reader.read_record()? {
            got.push(rec);
        }
        assert_eq!(records, got);
        Ok(())
    }

    #[test]
    fn record_round_trip_zadd() -> Result {
        let rec = AofRecord::ZAdd {
            key: "board".into(),
            members: vec![(100.0, "alice".into()), (200.5, "bob".into())],
        };
        let bytes = rec.to_bytes()?;
        let decoded = AofRecord::from_bytes(&bytes)?;
        assert_eq!(rec, decoded);
        Ok(())
    }

    #[test]
    fn record_round_trip_zrem() -> Result {
        let rec = AofRecord::ZRem {
            key: "board".into(),
            members: vec!["alice".into(), "bob".into()],
        };
        let bytes = rec.to_bytes()?;
        let decoded = AofRecord::from_bytes(&bytes)?;
        assert_eq!(rec, decoded);
        Ok(())
    }

    #[test]
    fn writer_reader_round_trip_with_sorted_set_records() -> Result {
        let dir = temp_dir();
        let path = dir.path().join("zset.aof");

        let records = vec![
            AofRecord::ZAdd {
                key: "board".into(),
                members: vec![(100.0, "alice".into()), (200.0, "bob".into())],
            },
            AofRecord::ZRem {
                key: "board".into(),
                members: vec!["alice".into()],
            },
        ];

        {
            let mut writer = AofWriter::open(&path)?;
            for rec in &records {
                writer.write_record(rec)?;
            }
            writer.sync()?;
        }

        let mut reader = AofReader::open(&path)?;
        let mut got = Vec::new();
        while let Some(rec) = reader.read_record()? {
            got.push(rec);
        }
        assert_eq!(records, got);
        Ok(())
    }

    #[test]
    fn record_round_trip_persist() -> Result {
        let rec = AofRecord::Persist {
            key: "mykey".into(),
        };
        let bytes = rec.to_bytes()?;
        let decoded = AofRecord::from_bytes(&bytes)?;
        assert_eq!(rec, decoded);
        Ok(())
    }

    #[test]
    fn record_round_trip_pexpire() -> Result {
        let rec = AofRecord::Pexpire {
            key: "mykey".into(),
            milliseconds: 5000,
        };
        let bytes = rec.to_bytes()?;
        let decoded = AofRecord::from_bytes(&bytes)?;
        assert_eq!(rec, decoded);
        Ok(())
    }

    #[test]
    fn record_round_trip_incr() -> Result {
        let rec = AofRecord::Incr {
            key: "counter".into(),
        };
        let bytes = rec.to_bytes()?;
        let decoded = AofRecord::from_bytes(&bytes)?;
        assert_eq!(rec, decoded);
        Ok(())
    }

    #[test]
    fn record_round_trip_decr() -> Result {
        let rec = AofRecord::Decr {
            key: "counter".into(),
        };
        let bytes = rec.to_bytes()?;
        let decoded = AofRecord::from_bytes(&bytes)?;
        assert_eq!(rec, decoded);
        Ok(())
    }

    #[test]
    fn writer_reader_round_trip_with_persist_pexpire() -> Result {
        let dir = temp_dir();
        let path = dir.path().join("persist_pexpire.aof");

        let records = vec![
            AofRecord::Set {
                key: "k".into(),
                value: Bytes::from("v"),
                expire_ms: 5000,
            },
            AofRecord::Persist { key: "k".into() },
            AofRecord::Pexpire {
                key: "k".into(),
                milliseconds: 3000,
            },
        ];

        {
            let mut writer = AofWriter::open(&path)?;
            for rec in &records {
                writer.write_record(rec)?;
            }
            writer.sync()?;
        }

        let mut reader = AofReader::open(&path)?;
        let mut got = Vec::new();
        while let Some(rec) = reader.read_record()? {
            got.push(rec);
        }
        assert_eq!(records, got);
        Ok(())
    }

    #[test]
    fn aof_path_format() {
        let p = aof_path(Path::new("/data"), 3);
        assert_eq!(p, PathBuf::from("/data/shard-3.aof"));
    }

    #[test]
    fn record_round_trip_hset() -> Result {
        let rec = AofRecord::HSet {
            key: "hash".into(),
            fields: vec![
                ("f1".into(), Bytes::from("v1")),
                ("f2".into(), Bytes::from("v2")),
            ],
        };
        let bytes = rec.to_bytes()?;
        let decoded = AofRecord::from_bytes(&bytes)?;
        assert_eq!(rec, decoded);
        Ok(())
    }

    #[test]
    fn record_round_trip_hdel() -> Result {
        let rec = AofRecord::HDel {
            key: "hash".into(),
            fields: vec!["f1".into(), "f2".into()],
        };
        let bytes = rec.to_bytes()?;
        let decoded = AofRecord::from_bytes(&bytes)?;
        assert_eq!(rec, decoded);
        Ok(())
    }

    #[test]
    fn record_round_trip_hincrby() -> Result {
        let rec = AofRecord::HIncrBy {
            key: "hash".into(),
            field: "counter".into(),
            delta: -42,
        };
        let bytes = rec.to_bytes()?;
        let decoded = AofRecord::from_bytes(&bytes)?;
        assert_eq!(rec, decoded);
        Ok(())
    }

    #[test]
    fn record_round_trip_sadd() -> Result {
        let rec = AofRecord::SAdd {
            key: "set".into(),
            members: vec!["m1".into(), "m2".into(), "m3".into()],
        };
        let bytes = rec.to_bytes()?;
        let decoded = AofRecord::from_bytes(&bytes)?;
        assert_eq!(rec, decoded);
        Ok(())
    }

    #[test]
    fn record_round_trip_srem() -> Result {
        let rec = AofRecord::SRem {
            key: "set".into(),
            members: vec!["m1".into()],
        };
        let bytes = rec.to_bytes()?;
        let decoded = AofRecord::from_bytes(&bytes)?;
        assert_eq!(rec, decoded);
        Ok(())
    }

    #[cfg(feature = "vector")]
    #[test]
    fn record_round_trip_vadd() -> Result {
        let rec = AofRecord::VAdd {
            key: "embeddings".into(),
            element: "doc1".into(),
            vector: vec![0.1, 0.2, 0.3],
            metric: 0,       // cosine
            quantization: 0, // f32
            connectivity: 16,
            expansion_add: 64,
        };
        let bytes = rec.to_bytes()?;
        let decoded = AofRecord::from_bytes(&bytes)?;
        assert_eq!(rec, decoded);
        Ok(())
    }

    #[cfg(feature = "vector")]
    #[test]
    fn record_round_trip_vadd_high_dim() -> Result {
        let rec = AofRecord::VAdd {
            key: "vecs".into(),
            element: "e".into(),
            vector: vec![0.0; 1536], // typical embedding dimension
            metric: 1,               // l2
            quantization: 1,         // f16
            connectivity: 32,
            expansion_add: 128,
        };
        let bytes = rec.to_bytes()?;
        let decoded = AofRecord::from_bytes(&bytes)?;
        assert_eq!(rec, decoded);
        Ok(())
    }

    #[cfg(feature = "vector")]
    #[test]
    fn record_round_trip_vrem() -> Result {
        let rec = AofRecord::VRem {
            key: "embeddings".into(),
            element: "doc1".into(),
        };
        let bytes = rec.to_bytes()?;
        let decoded = AofRecord::from_bytes(&bytes)?;
        assert_eq!(rec, decoded);
        Ok(())
    }

    #[cfg(feature = "encryption")]
    mod encrypted {
        use super::*;
        use eaof::encryption::EncryptionKey;

        type Result = std::result::Result<(), Box<dyn std::error::Error>>;

        fn test_key() -> EncryptionKey {
            EncryptionKey::from_bytes([0x42; 32])
        }

        #[test]
        fn encrypted_writer_reader_round_trip() -> Result {
            let dir = temp_dir();
            let path = dir.path().join("enc.aof");
            let key = test_key();

            let records = vec![
                AofRecord::Set {
                    key: "a".into(),
                    value: Bytes::from("1"),
                    expire_ms: -1,
                },
                AofRecord::Del { key: "a".into() },
                AofRecord::LPush {
                    key: "list".into(),
                    values: vec![Bytes::from("x"), Bytes::from("y")],
                },
                AofRecord::ZAdd {
                    key: "zs".into(),
                    members: vec![(1.0, "m".into())],
                },
            ];

            {
                let mut writer = AofWriter::open_encrypted(&path, key.clone())?;
                for rec in &records {
                    writer.write_record(rec)?;
                }
                writer.sync()?;
            }

            let mut reader = AofReader::open_encrypted(&path, key)?;
            let mut got = Vec::new();
            while let Some(rec) = reader.read_record()? {
                got.push(rec);
            }
            assert_eq!(records, got);
            Ok(())
        }

        #[test]
        fn encrypted_aof_wrong_key_fails() -> Result {
            let dir = temp_dir();
            let path = dir.path().join("enc_bad.aof");
            let key = test_key();
            let wrong_key = EncryptionKey::from_bytes([0xFF; 32]);

            {
                let mut writer = AofWriter::open_encrypted(&path, key)?;
                writer.write_record(&AofRecord::Set {
                    key: "k".into(),
                    value: Bytes::from("v"),
                    expire_ms: -1,
                })?;
                writer.sync()?;
            }

            let mut reader = AofReader::open_encrypted(&path, wrong_key)?;
            let err = reader.read_record().unwrap_err();
            assert!(matches!(err, FormatError::DecryptionFailed));
            Ok(())
        }

        #[test]
        fn v2_file_readable_with_encryption_key() -> Result {
            let dir = temp_dir();
            let path = dir.path().join("v2.aof");
            let key = test_key();

            // write a plaintext v2 file
            {
                let mut writer = AofWriter::open(&path)?;
                writer.write_record(&AofRecord::Set {
                    key: "k".into(),
                    value: Bytes::from("v"),
                    expire_ms: -1,
                })?;
                writer.sync()?;
            }

            // read with encryption key — should work (v2 is plaintext)
            let mut reader = AofReader::open_encrypted(&path, key)?;
            let rec = reader.read_record()?.unwrap();
            assert!(matches!(rec, AofRecord::Set { .. }));
            Ok(())
        }

        #[test]
        fn v3_file_without_key_returns_error() -> Result {
            let dir = temp_dir();
            let path = dir.path().join("v3_nokey.aof");
            let key = test_key();

            // write an encrypted v3 file
            {
                let mut writer = AofWriter::open_encrypted(&path, key)?;
                writer.write_record(&AofRecord::Set {
                    key: "k".into(),
                    value: Bytes::from("v"),
                    expire_ms: -1,
                })?;
                writer.sync()?;
            }

            // try to open without a key
            let err = AofReader::open(&path).unwrap_err();
            assert!(matches!(err, FormatError::EncryptionRequired));
            Ok(())
        }

        #[test]
        fn encrypted_truncate_preserves_encryption() -> Result {
            let dir = temp_dir();
            let path = dir.path().join("enc_trunc.aof");
            let key = test_key();

            {
                let mut writer = AofWriter::open_encrypted(&path, key.clone())?;
                writer.write_record(&AofRecord::Set {
                    key: "old".into(),
                    value: Bytes::from("data"),
                    expire_ms: -1,
                })?;
                writer.truncate()?;

                writer.write_record(&AofRecord::Set {
                    key: "new".into(),
                    value: Bytes::from("fresh"),
                    expire_ms: -1,
                })?;
                writer.sync()?;
            }

            let mut reader = AofReader::open_encrypted(&path, key)?;
            let rec = reader.read_record()?.unwrap();
            match rec {
                AofRecord::Set { key, .. } => assert_eq!(key, "new"),
                other => panic!("expected Set, got {other:?}"),
            }
            assert!(reader.read_record()?.is_none());
            Ok(())
        }
    }
}
