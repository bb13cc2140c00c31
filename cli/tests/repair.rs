//! `eaof repair` end to end on real files: a torn tail is cut to the last intact record and
//! nothing else changes; a torn header is written anew; corruption is refused without
//! --force (and without a terminal or --yes), changing nothing; with --force --yes the
//! original is kept as FILE.bak and the result reads clean with every intact record kept;
//! unreadable files (the wrong key) are never changed.

mod common;

use std::path::Path;

use common::{arg, eaof, key_file, read, records, same_records, scan, write};
use eaof::encryption::EncryptionKey;
use eaof::{AofRecord, Verdict};

fn repair(path: &Path, key: Option<&Path>, flags: &[&str]) -> common::Run {
    let mut args = vec!["repair".to_owned(), arg(path)];
    if let Some(key) = key {
        args.extend(["--key-file".to_owned(), arg(key)]);
    }
    args.extend(flags.iter().map(|f| f.to_string()));
    eaof(args)
}

fn bak(path: &Path) -> std::path::PathBuf {
    path.with_file_name(format!(
        "{}.bak",
        path.file_name().unwrap().to_string_lossy()
    ))
}

/// More records, so that damage can sit between intact ones in several places.
fn many() -> Vec<AofRecord> {
    records().into_iter().cycle().take(40).collect()
}

#[test]
fn a_torn_tail_is_cut_to_the_last_intact_record_and_says_how_much() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, key) = key_file(dir.path());
    for key in [None, Some(&key)] {
        let path = dir.path().join("torn.aof");
        let _ = std::fs::remove_file(&path);
        let bytes = write(&path, key, &records());
        let (scanned, _) = scan(&bytes, key);
        let (last, _, _) = scanned.last().cloned().unwrap();
        let mut torn = bytes[..bytes.len() - 2].to_vec();
        torn.extend_from_slice(b"garbage");
        std::fs::write(&path, &torn).unwrap();
        let run = repair(&path, key.map(|_| key_path.as_path()), &[]);
        assert_eq!(run.code, Some(0), "{run:?}");
        let removed = torn.len() as u64 - last;
        assert!(
            run.stdout
                .contains(&format!("cut {removed} bytes at byte {last}")),
            "{run:?}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), &bytes[..last as usize]);
        let (kept, verdict) = read(&path, key);
        assert!(matches!(verdict, Verdict::Clean { .. }), "{verdict:?}");
        assert!(same_records(&kept, &records()[..records().len() - 1]));
        assert!(!bak(&path).exists(), "a tail cut needs no backup");
        // Repairing again finds nothing to do.
        let run = repair(&path, key.map(|_| key_path.as_path()), &[]);
        assert_eq!(run.code, Some(0), "{run:?}");
        assert!(run.stdout.contains("nothing to repair"), "{run:?}");
        assert_eq!(std::fs::read(&path).unwrap(), &bytes[..last as usize]);
    }
}

#[test]
fn a_torn_header_is_written_anew_as_version_2_or_3_with_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, key) = key_file(dir.path());
    let path = dir.path().join("new.aof");
    for (flags, key_file, version) in [
        (&[][..], None, 2u8),
        (&[][..], Some(key_path.as_path()), 3),
        (&["--header-version", "3"][..], None, 3),
        (&["--header-version", "2"][..], Some(key_path.as_path()), 2),
    ] {
        std::fs::write(&path, b"EAO").unwrap();
        let run = repair(&path, key_file, flags);
        assert_eq!(run.code, Some(0), "{run:?}");
        assert_eq!(std::fs::read(&path).unwrap(), eaof::format::header(version));
        assert!(
            run.stdout.contains(&format!("version {version}")),
            "{run:?}"
        );
    }
    // The result is a file a writer appends to.
    std::fs::write(&path, b"").unwrap();
    let run = repair(&path, Some(&key_path), &[]);
    assert_eq!(run.code, Some(0), "{run:?}");
    write(&path, Some(&key), &records());
    let (back, verdict) = read(&path, Some(&key));
    assert!(matches!(verdict, Verdict::Clean { .. }));
    assert!(same_records(&back, &records()));
    let run = repair(&path, None, &["--header-version", "4"]);
    assert_eq!(run.code, Some(2), "{run:?}");
}

/// A file of `many()` records with damage in the 5th and the 20th record and a torn tail:
/// the bytes, and the records a rebuild keeps.
fn damaged(path: &Path, key: Option<&EncryptionKey>) -> (Vec<u8>, Vec<AofRecord>, Vec<(u64, u64)>) {
    let bytes = write(path, key, &many());
    let (scanned, _) = scan(&bytes, key);
    let mut damaged = bytes.clone();
    let mut dropped = Vec::new();
    for i in [4, 19] {
        let (offset, len, _) = scanned[i].clone();
        damaged[(offset + len - 2) as usize] ^= 0x04;
        dropped.push((offset, offset + len));
    }
    let (last, _, _) = scanned.last().cloned().unwrap();
    damaged.truncate(bytes.len() - 1);
    dropped.push((last, damaged.len() as u64));
    std::fs::write(path, &damaged).unwrap();
    let kept = many()
        .into_iter()
        .enumerate()
        .filter(|(i, _)| ![4, 19, many().len() - 1].contains(i))
        .map(|(_, r)| r)
        .collect();
    (damaged, kept, dropped)
}

#[test]
fn corruption_is_refused_without_force_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shard.aof");
    let (bytes, _, _) = damaged(&path, None);
    let run = repair(&path, None, &[]);
    assert_eq!(run.code, Some(3), "{run:?}");
    assert!(run.stderr.contains("refusing"), "{run:?}");
    assert!(run.stderr.contains("--force"), "{run:?}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert!(!bak(&path).exists());
    // --yes alone is not --force.
    let run = repair(&path, None, &["--yes"]);
    assert_eq!(run.code, Some(3), "{run:?}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn force_without_a_terminal_and_without_yes_is_refused_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shard.aof");
    let (bytes, _, _) = damaged(&path, None);
    let run = repair(&path, None, &["--force"]);
    assert_eq!(run.code, Some(3), "{run:?}");
    assert!(run.stderr.contains("not a terminal"), "{run:?}");
    assert!(
        run.stdout.contains("  drop  bytes"),
        "the plan is shown first: {run:?}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert!(!bak(&path).exists());
}

#[test]
fn force_yes_keeps_the_original_as_bak_and_every_intact_record() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, key) = key_file(dir.path());
    for key in [None, Some(&key)] {
        let path = dir.path().join("shard.aof");
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(bak(&path));
        let (bytes, kept, dropped) = damaged(&path, key);
        let run = repair(
            &path,
            key.map(|_| key_path.as_path()),
            &["--force", "--yes"],
        );
        assert_eq!(run.code, Some(0), "{run:?}");
        // Exactly the damaged ranges are reported dropped, each with the byte it is at.
        let drop_lines: Vec<&str> = run
            .stdout
            .lines()
            .filter(|l| l.starts_with("  drop"))
            .collect();
        assert_eq!(drop_lines.len(), dropped.len(), "{run:?}");
        for ((start, end), line) in dropped.iter().zip(&drop_lines) {
            let range = format!("bytes {start}..{end} ");
            assert!(line.contains(&range), "{line} lacks {range}");
            assert!(line.contains(": byte "), "{line}");
        }
        assert_eq!(
            std::fs::read(bak(&path)).unwrap(),
            bytes,
            "FILE.bak is the original"
        );
        let (back, verdict) = read(&path, key);
        assert!(matches!(verdict, Verdict::Clean { .. }), "{verdict:?}");
        assert!(
            same_records(&back, &kept),
            "every intact record is kept, in order"
        );
        let check = eaof(
            ["check".to_owned(), arg(&path)].into_iter().chain(
                key.map(|_| ["--key-file".to_owned(), arg(&key_path)])
                    .into_iter()
                    .flatten(),
            ),
        );
        assert_eq!(check.code, Some(0), "{check:?}");
    }
}

#[test]
fn an_existing_backup_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shard.aof");
    let (bytes, _, _) = damaged(&path, None);
    std::fs::write(bak(&path), b"an earlier backup").unwrap();
    let run = repair(&path, None, &["--force", "--yes"]);
    assert_eq!(run.code, Some(3), "{run:?}");
    assert!(
        run.stderr
            .contains(&format!("{}: exists", arg(&bak(&path)))),
        "{run:?}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert_eq!(std::fs::read(bak(&path)).unwrap(), b"an earlier backup");
}

#[test]
fn a_damaged_version_byte_is_rewritten_losing_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, key) = key_file(dir.path());
    let path = dir.path().join("shard.aof");
    let bytes = write(&path, Some(&key), &records());
    let mut damaged = bytes.clone();
    damaged[4] = 2;
    std::fs::write(&path, &damaged).unwrap();
    // Without the key the sealed records cannot be checked: a torn tail by the format, but
    // one that reads as sealed records, so it is refused without --force.
    let run = repair(&path, None, &[]);
    assert_eq!(run.code, Some(3), "{run:?}");
    assert!(run.stderr.contains("check it with --key-file"), "{run:?}");
    assert_eq!(std::fs::read(&path).unwrap(), damaged);
    let run = repair(&path, Some(&key_path), &["--force", "--yes"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains("header `version` 2 -> 3"), "{run:?}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "the file as written");
    assert_eq!(std::fs::read(bak(&path)).unwrap(), damaged);
}

#[test]
fn the_wrong_key_is_refused_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = key_file(dir.path());
    let path = dir.path().join("sealed.aof");
    let bytes = write(&path, Some(&key), &records());
    let torn = &bytes[..bytes.len() - 5];
    std::fs::write(&path, torn).unwrap();
    let wrong = dir.path().join("wrong.key");
    common::write_key(&wrong, "01".repeat(32));
    let run = repair(&path, Some(&wrong), &["--force", "--yes"]);
    assert_eq!(run.code, Some(4), "{run:?}");
    assert!(run.stderr.contains("no record authenticates"), "{run:?}");
    assert_eq!(std::fs::read(&path).unwrap(), torn);
    assert!(!bak(&path).exists());
    let run = repair(&path, None, &[]);
    assert_eq!(run.code, Some(4), "a sealed file without a key: {run:?}");
    assert_eq!(std::fs::read(&path).unwrap(), torn);
}

#[test]
fn missing_and_foreign_files_exit_4_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.aof");
    let run = repair(&missing, None, &[]);
    assert_eq!(run.code, Some(4), "{run:?}");
    assert!(run.stderr.starts_with(&arg(&missing)), "{run:?}");
    assert!(!missing.exists());
    let foreign = dir.path().join("photo.jpg");
    std::fs::write(&foreign, b"\xff\xd8\xff\xe0 jpeg").unwrap();
    let run = repair(&foreign, None, &["--force", "--yes"]);
    assert_eq!(run.code, Some(4), "{run:?}");
    assert_eq!(std::fs::read(&foreign).unwrap(), b"\xff\xd8\xff\xe0 jpeg");
}

#[cfg(unix)]
#[test]
fn a_rebuilt_file_keeps_the_originals_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shard.aof");
    damaged(&path, None);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let run = repair(&path, None, &["--force", "--yes"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    for file in [path.clone(), bak(&path)] {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640, "{}", file.display());
    }
    assert!(!dir.path().join("shard.aof.repair.tmp").exists());
}
