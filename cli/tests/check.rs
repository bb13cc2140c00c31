//! `eaof check` end to end, on files written by eaof's writer and then damaged: the exit
//! code is the verdict's class (0 clean, 1 torn tail, 3 corrupt, 4 unreadable, 2 usage),
//! the one line names the file and the byte offsets (and the record kind and field where the
//! bytes say them), and nothing is ever written.

mod common;

use common::{arg, eaof, key_file, plain_frame, records, scan, write};
use eaof::format::HEADER_LEN;

fn check(path: &std::path::Path, key: Option<&std::path::Path>) -> common::Run {
    let mut args = vec!["check".to_owned(), arg(path)];
    if let Some(key) = key {
        args.extend(["--key-file".to_owned(), arg(key)]);
    }
    eaof(args)
}

#[test]
fn a_clean_file_exits_0_with_its_record_count() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, key) = key_file(dir.path());
    let plain = dir.path().join("plain.aof");
    let bytes = write(&plain, None, &records());
    let run = check(&plain, None);
    assert_eq!(run.code, Some(0), "{run:?}");
    let line = format!(
        "{}: clean: {} records, bytes 5..{} (version 2)",
        arg(&plain),
        records().len(),
        bytes.len()
    );
    assert!(run.stdout.starts_with(&line), "{run:?}");
    assert_eq!(run.stdout.lines().count(), 1, "{run:?}");

    let sealed = dir.path().join("sealed.aof");
    write(&sealed, Some(&key), &records());
    let run = check(&sealed, Some(&key_path));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains("(version 3)"), "{run:?}");
}

#[test]
fn every_cut_inside_the_last_record_is_a_torn_tail_exiting_1() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, key) = key_file(dir.path());
    for key in [None, Some(&key)] {
        let path = dir.path().join("torn.aof");
        let _ = std::fs::remove_file(&path);
        let bytes = write(&path, key, &records());
        let (scanned, _) = scan(&bytes, key);
        let (last, last_len, _) = scanned.last().cloned().unwrap();
        for cut in last + 1..last + last_len {
            std::fs::write(&path, &bytes[..cut as usize]).unwrap();
            let run = check(&path, key.map(|_| key_path.as_path()));
            assert_eq!(run.code, Some(1), "cut at {cut}: {run:?}");
            let damage = match cut - last {
                1 => "1 byte".to_owned(),
                n => format!("{n} bytes"),
            };
            let expected = format!(
                "{}: torn tail: {} intact records (bytes 5..{last}), then {damage} of damage",
                arg(&path),
                records().len() - 1,
            );
            assert!(run.stdout.starts_with(&expected), "cut at {cut}: {run:?}");
            assert!(
                run.stdout
                    .contains(&format!("would cut the file to {last} bytes")),
                "{run:?}"
            );
            assert_eq!(
                std::fs::read(&path).unwrap(),
                &bytes[..cut as usize],
                "check changed the file"
            );
        }
    }
}

#[test]
fn zeros_garbage_and_a_failed_last_record_are_torn_tails_exiting_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tail.aof");
    let bytes = write(&path, None, &records());
    let (scanned, _) = scan(&bytes, None);
    let (last, _, _) = scanned.last().cloned().unwrap();

    let mut zeros = bytes.clone();
    zeros.extend_from_slice(&[0; 100]);
    std::fs::write(&path, &zeros).unwrap();
    let run = check(&path, None);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stdout
            .contains(&format!("byte {}: 100 zero bytes", bytes.len())),
        "{run:?}"
    );

    let mut failed = bytes.clone();
    let crc_byte = failed.len() - 1;
    failed[crc_byte] ^= 0x01;
    std::fs::write(&path, &failed).unwrap();
    let run = check(&path, None);
    assert_eq!(run.code, Some(1), "{run:?}");
    let named = format!(
        "byte {}: record INCR (at byte {last}) field `crc32`",
        crc_byte - 3
    );
    assert!(run.stdout.contains(&named), "{run:?}");
}

#[test]
fn a_header_torn_at_creation_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    for torn in [&b""[..], b"E", b"EAO", b"EAOF", b"EA\0\0\0"] {
        let path = dir.path().join("new.aof");
        std::fs::write(&path, torn).unwrap();
        let run = check(&path, None);
        assert_eq!(run.code, Some(1), "{torn:?}: {run:?}");
        assert!(
            run.stdout.contains("byte 0: header") && run.stdout.contains("write a new header"),
            "{run:?}"
        );
    }
}

#[test]
fn damage_followed_by_an_intact_record_exits_3_naming_both_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, key) = key_file(dir.path());
    for key in [None, Some(&key)] {
        let path = dir.path().join("corrupt.aof");
        let _ = std::fs::remove_file(&path);
        let mut bytes = write(&path, key, &records());
        let (scanned, _) = scan(&bytes, key);
        let (second, second_len, _) = scanned[1].clone();
        bytes[(second + 2) as usize] ^= 0x10;
        std::fs::write(&path, &bytes).unwrap();
        let run = check(&path, key.map(|_| key_path.as_path()));
        assert_eq!(run.code, Some(3), "{run:?}");
        let line = &run.stdout;
        assert!(line.starts_with(&format!("{}: corrupt: 1 intact record", arg(&path))));
        assert!(line.contains(&format!(
            "an intact record starts at byte {}",
            second + second_len
        )));
        assert!(
            line.contains(&format!(
                "would keep all {} intact records found, dropping {second_len} bytes in 1 range ({second}..{})",
                records().len() - 1,
                second + second_len
            )),
            "{run:?}"
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "check changed the file"
        );
    }
}

#[test]
fn an_out_of_domain_field_is_named_by_byte_record_and_field() {
    // A SET whose key is not UTF-8 but whose CRC holds (written that way), then an intact
    // record: corrupt at the SET.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shard-0.aof");
    let mut bytes = eaof::format::header(2).to_vec();
    let mut set = Vec::new();
    eaof::AofRecord::Set {
        key: "k".into(),
        value: bytes::Bytes::from_static(b"v"),
        expire_ms: -1,
    }
    .encode_into(&mut set)
    .unwrap();
    set[5] = 0xff; // the key's only byte
    bytes.extend_from_slice(&plain_frame(&set));
    let mut del = Vec::new();
    eaof::AofRecord::Del { key: "k".into() }
        .encode_into(&mut del)
        .unwrap();
    bytes.extend_from_slice(&plain_frame(&del));
    std::fs::write(&path, &bytes).unwrap();
    let run = check(&path, None);
    assert_eq!(run.code, Some(3), "{run:?}");
    let named = format!(
        "{}: corrupt: no intact record, then damage: byte {}: record SET (at byte 5) field `key`: not valid UTF-8",
        arg(&path),
        HEADER_LEN + 1
    );
    assert!(run.stdout.starts_with(&named), "{run:?}");
}

#[test]
fn a_damaged_version_byte_is_corruption_exiting_3() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, key) = key_file(dir.path());
    // Plaintext records under a version 3 header (read with a key).
    let path = dir.path().join("v.aof");
    let mut bytes = write(&path, None, &records());
    bytes[4] = 3;
    std::fs::write(&path, &bytes).unwrap();
    let run = check(&path, Some(&key_path));
    assert_eq!(run.code, Some(3), "{run:?}");
    assert!(
        run.stdout
            .contains("byte 4: header field `version`: 3, but the records read as version 2"),
        "{run:?}"
    );
    assert!(run.stdout.contains("from 3 to 2"), "{run:?}");
    // Sealed records under a version 2 header, without and with the key.
    let path = dir.path().join("s.aof");
    let mut bytes = write(&path, Some(&key), &records());
    bytes[4] = 2;
    std::fs::write(&path, &bytes).unwrap();
    // Without the key nothing shows the damage (a crash can leave such bytes behind a
    // plaintext file): a torn tail, said to read as sealed records, with the way to check.
    let run = check(&path, None);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stdout.contains("read as sealed records"), "{run:?}");
    assert!(run.stdout.contains("check it with --key-file"), "{run:?}");
    let run = check(&path, Some(&key_path));
    assert_eq!(run.code, Some(3), "{run:?}");
    assert!(run.stdout.contains("from 2 to 3"), "{run:?}");
    assert!(run.stderr.is_empty(), "no unused-key note here: {run:?}");
}

#[test]
fn unreadable_files_exit_4_naming_the_file_and_the_header_field() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, key) = key_file(dir.path());
    let other = dir.path().join("other.bin");
    std::fs::write(&other, b"PK\x03\x04 a zip file").unwrap();
    let run = check(&other, None);
    assert_eq!(run.code, Some(4), "{run:?}");
    assert!(
        run.stdout.starts_with(&format!(
            "{}: unreadable: bytes 0..4: header field `magic`",
            arg(&other)
        )),
        "{run:?}"
    );

    let future = dir.path().join("future.aof");
    std::fs::write(&future, b"EAOF\x09").unwrap();
    let run = check(&future, None);
    assert_eq!(run.code, Some(4), "{run:?}");
    assert!(
        run.stdout.contains("byte 4: header field `version` is 9"),
        "{run:?}"
    );

    let sealed = dir.path().join("sealed.aof");
    write(&sealed, Some(&key), &records());
    let run = check(&sealed, None);
    assert_eq!(run.code, Some(4), "{run:?}");
    assert!(run.stdout.contains("a key is needed"), "{run:?}");

    let wrong = dir.path().join("wrong.key");
    common::write_key(&wrong, format!("{}\n", "ab".repeat(32)));
    let run = check(&sealed, Some(&wrong));
    assert_eq!(run.code, Some(4), "{run:?}");
    assert!(
        run.stdout.contains(&format!(
            "byte 5: no record authenticates with the key in {}",
            arg(&wrong)
        )),
        "{run:?}"
    );

    let missing = dir.path().join("missing.aof");
    let run = check(&missing, None);
    assert_eq!(run.code, Some(4), "{run:?}");
    assert!(run
        .stdout
        .starts_with(&format!("{}: unreadable: cannot read it", arg(&missing))));

    let bad_key = dir.path().join("bad.key");
    common::write_key(&bad_key, b"not a key");
    let run = check(&sealed, Some(&bad_key));
    assert_eq!(run.code, Some(4), "{run:?}");
    assert!(run.stdout.contains(&arg(&bad_key)), "{run:?}");

    let run = check(&sealed, Some(&dir.path().join("no.key")));
    assert_eq!(run.code, Some(4), "{run:?}");
    let _ = key_path;
}

#[test]
fn a_key_given_for_a_plaintext_file_is_noted_as_unneeded() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, _) = key_file(dir.path());
    let path = dir.path().join("plain.aof");
    write(&path, None, &records());
    let run = check(&path, Some(&key_path));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stderr.contains("is not needed"), "{run:?}");
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["check"][..],
        &["check", "a", "b"],
        &["check", "--bogus", "x"],
    ] {
        let run = eaof(args);
        assert_eq!(run.code, Some(2), "{args:?}: {run:?}");
    }
}
