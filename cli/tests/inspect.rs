//! `eaof inspect` end to end: one line per record with its true offset and length (the
//! scanner's), values shown safely, the verdict last; `--json` is lossless: every record
//! object, without `offset` and `len`, reads back through eaof_conformance::json to the record
//! written, bit for bit, and the last object is the verdict.

mod common;

use common::{arg, eaof, key_file, records, same_records, scan, write};
use eaof::AofRecord;
use serde_json::Value;

fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn text_lists_every_record_at_its_offset_with_its_length_then_the_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, key) = key_file(dir.path());
    for key in [None, Some(&key)] {
        let path = dir.path().join("shard.aof");
        let _ = std::fs::remove_file(&path);
        let bytes = write(&path, key, &records());
        let (scanned, _) = scan(&bytes, key);
        let mut args = vec!["inspect".to_owned(), arg(&path)];
        if key.is_some() {
            args.extend(["--key-file".to_owned(), arg(&key_path)]);
        }
        let run = eaof(&args);
        assert_eq!(run.code, Some(0), "{run:?}");
        let lines: Vec<&str> = run.stdout.lines().collect();
        // A line about the file, the column heading, the records, the verdict.
        assert_eq!(lines.len(), 2 + scanned.len() + 1, "{run:?}");
        assert!(lines[0].starts_with(&format!("{}: {} bytes, version", arg(&path), bytes.len())));
        for ((offset, len, record), line) in scanned.iter().zip(&lines[2..]) {
            let mut columns = line.split_whitespace();
            assert_eq!(columns.next(), Some(offset.to_string().as_str()), "{line}");
            assert_eq!(columns.next(), Some(len.to_string().as_str()), "{line}");
            assert_eq!(columns.next(), Some(record.kind().name()), "{line}");
        }
        assert!(lines.last().unwrap().contains(": clean: "), "{run:?}");
    }
}

#[test]
fn text_shows_values_safely_and_cuts_long_ones_giving_their_length() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shard.aof");
    write(&path, None, &records());
    let run = eaof(["inspect".to_owned(), arg(&path)]);
    assert_eq!(run.code, Some(0), "{run:?}");
    // No control or formatting character from the file reaches the terminal.
    assert!(
        !run.stdout
            .chars()
            .any(|c| (c.is_control() && c != '\n') || c == '\u{202e}'),
        "{run:?}"
    );
    let out = &run.stdout;
    assert!(out.contains(r#"key="evil\u{1b}[2J\u{202e}\n""#), "{out}");
    assert!(out.contains("value=0x00ff1b5b33316d"), "{out}");
    assert!(
        out.contains(&format!("value={:?}... (300 bytes)", "x".repeat(64))),
        "{out}"
    );
    assert!(out.contains(r#"members=[(-0.0, "negative zero"), (inf, "inf"), (-inf, "-inf"), (NaN(0x7ff8000000000001), "nan payload"), (5e-324, "tiny")]"#), "{out}");
    assert!(out.contains("vector=[-0.0, NaN, inf, 1.5]"), "{out}");
    assert!(out.contains("op=NOT"), "{out}");
    assert!(out.contains(", ...] (12 items)"), "{out}");
    assert!(out.contains(r#"key="🦀""#), "{out}");
}

#[test]
fn json_round_trips_every_record_bit_for_bit_with_its_offset_and_length() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, key) = key_file(dir.path());
    for key in [None, Some(&key)] {
        let path = dir.path().join("shard.aof");
        let _ = std::fs::remove_file(&path);
        let bytes = write(&path, key, &records());
        let (scanned, _) = scan(&bytes, key);
        let mut args = vec!["inspect".to_owned(), "--json".to_owned(), arg(&path)];
        if key.is_some() {
            args.extend(["--key-file".to_owned(), arg(&key_path)]);
        }
        let run = eaof(&args);
        assert_eq!(run.code, Some(0), "{run:?}");
        let mut objects = json_lines(&run.stdout);
        let verdict = objects.pop().unwrap();
        assert_eq!(objects.len(), scanned.len());
        let mut back: Vec<AofRecord> = Vec::new();
        for (object, (offset, len, _)) in objects.iter_mut().zip(&scanned) {
            let map = object.as_object_mut().unwrap();
            assert_eq!(map.remove("offset"), Some((*offset).into()));
            assert_eq!(map.remove("len"), Some((*len).into()));
            back.push(eaof_conformance::json::record_from_json(object).expect("record JSON"));
        }
        assert!(same_records(&back, &records()), "{back:#?}");
        assert_eq!(verdict["verdict"], "clean");
        assert_eq!(verdict["records"], records().len());
        assert_eq!(verdict["end"], bytes.len());
        assert_eq!(verdict["file_len"], bytes.len());
        assert_eq!(verdict["version"], if key.is_some() { 3 } else { 2 });
    }
}

#[test]
fn json_verdict_of_a_corrupt_file_gives_offsets_cause_and_repair() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shard.aof");
    let mut bytes = write(&path, None, &records());
    let (scanned, _) = scan(&bytes, None);
    let (third, third_len, _) = scanned[2].clone();
    let crc = third + third_len - 1;
    bytes[crc as usize] ^= 0x80;
    std::fs::write(&path, &bytes).unwrap();
    let run = eaof(["inspect".to_owned(), "--json".to_owned(), arg(&path)]);
    assert_eq!(run.code, Some(3), "{run:?}");
    let objects = json_lines(&run.stdout);
    // The records before the damage, the damaged record's bytes, every record after it
    // (marked), then the verdict: what `repair --force` would keep and drop.
    assert_eq!(objects.len(), scanned.len() + 1, "{run:?}");
    for (i, (offset, len, _)) in scanned.iter().enumerate() {
        let object = &objects[i];
        let key = if object.get("file_offset").is_some() {
            "file_offset"
        } else {
            "offset"
        };
        assert_eq!(object[key], *offset, "{object}");
        assert_eq!(object["len"], *len, "{object}");
        match i {
            0 | 1 => assert!(object.get("after_damage").is_none(), "{object}"),
            2 => {
                assert_eq!(object["damage"]["class"], "checksum_mismatch", "{object}");
                assert_eq!(object["damage"]["byte"], third + third_len - 4, "{object}");
            }
            _ => assert_eq!(object["after_damage"], true, "{object}"),
        }
    }
    let verdict = objects.last().unwrap();
    assert_eq!(verdict["verdict"], "corrupt");
    assert_eq!(verdict["records"], 2);
    assert_eq!(verdict["offset"], third);
    assert_eq!(verdict["next_intact"], third + third_len);
    assert_eq!(verdict["cause"]["class"], "checksum_mismatch");
    assert_eq!(verdict["cause"]["field"], "crc32");
    assert_eq!(verdict["cause"]["byte"], third + third_len - 4);
    assert!(
        verdict["repair"].as_str().unwrap().contains("--force"),
        "{verdict}"
    );
}

#[test]
fn inspect_exits_with_checks_code_and_prints_unreadable_as_a_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shard.aof");
    let bytes = write(&path, None, &records());
    std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
    let run = eaof(["inspect".to_owned(), arg(&path)]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stdout.lines().last().unwrap().contains(": torn tail: "),
        "{run:?}"
    );

    let other = dir.path().join("notes.txt");
    std::fs::write(&other, "hello").unwrap();
    let run = eaof(["inspect".to_owned(), "--json".to_owned(), arg(&other)]);
    assert_eq!(run.code, Some(4), "{run:?}");
    let objects = json_lines(&run.stdout);
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0]["verdict"], "unreadable");
    assert_eq!(objects[0]["reason"], "not_eaof");
    assert_eq!(objects[0]["file"], arg(&other));

    let missing = dir.path().join("missing.aof");
    let run = eaof(["inspect".to_owned(), arg(&missing)]);
    assert_eq!(run.code, Some(4), "{run:?}");
    assert!(
        run.stdout
            .starts_with(&format!("{}: unreadable", arg(&missing))),
        "{run:?}"
    );
}

#[test]
fn inspect_with_the_wrong_key_lists_nothing_and_exits_4() {
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = key_file(dir.path());
    let path = dir.path().join("sealed.aof");
    write(&path, Some(&key), &records());
    let wrong = dir.path().join("wrong.key");
    common::write_key(&wrong, "cd".repeat(32));
    let run = eaof([
        "inspect".to_owned(),
        "--json".to_owned(),
        "--key-file".to_owned(),
        arg(&wrong),
        arg(&path),
    ]);
    assert_eq!(run.code, Some(4), "{run:?}");
    let objects = json_lines(&run.stdout);
    assert_eq!(objects.len(), 1, "{run:?}");
    assert_eq!(objects[0]["reason"], "wrong_key");
}
