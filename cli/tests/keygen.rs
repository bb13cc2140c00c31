//! `eaof keygen` end to end: a new file of 64 lowercase hex characters and a newline, mode
//! 0600, never overwriting; the key works with the writer and the other commands. And the
//! help of every command teaches: what it does, its exit codes, an example.

mod common;

use common::{arg, eaof, read, records, same_records, write};
use eaof::encryption::EncryptionKey;
use eaof::Verdict;

#[test]
fn keygen_writes_64_hex_characters_and_a_newline_with_mode_0600() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shard.key");
    let run = eaof(["keygen".to_owned(), arg(&path)]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.len(), 65, "{text:?}");
    assert!(text.ends_with('\n'));
    assert!(text[..64]
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    assert!(
        !run.stdout.contains(&text[..64]),
        "the key is never printed"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let other = dir.path().join("other.key");
    assert_eq!(eaof(["keygen".to_owned(), arg(&other)]).code, Some(0));
    assert_ne!(
        std::fs::read(&other).unwrap(),
        text.as_bytes(),
        "keys are random"
    );
}

#[test]
fn a_generated_key_seals_files_the_writer_and_the_commands_read() {
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("shard.key");
    assert_eq!(eaof(["keygen".to_owned(), arg(&key_path)]).code, Some(0));
    let key = EncryptionKey::from_file(&key_path).expect("a key file the library reads");
    let path = dir.path().join("sealed.aof");
    write(&path, Some(&key), &records());
    let (back, verdict) = read(&path, Some(&key));
    assert!(matches!(verdict, Verdict::Clean { .. }));
    assert!(same_records(&back, &records()));
    let run = eaof([
        "check".to_owned(),
        "--key-file".to_owned(),
        arg(&key_path),
        arg(&path),
    ]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains("(version 3)"), "{run:?}");
}

#[test]
fn keygen_never_overwrites_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shard.key");
    std::fs::write(&path, "precious\n").unwrap();
    let run = eaof(["keygen".to_owned(), arg(&path)]);
    assert_eq!(run.code, Some(4), "{run:?}");
    assert!(
        run.stderr.starts_with(&format!("{}: exists", arg(&path))),
        "{run:?}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious\n");

    let nowhere = dir.path().join("no-such-dir").join("k");
    let run = eaof(["keygen".to_owned(), arg(&nowhere)]);
    assert_eq!(run.code, Some(4), "{run:?}");
    assert!(run.stderr.contains(&arg(&nowhere)), "{run:?}");
}

#[test]
fn every_file_command_explains_itself_its_exit_codes_and_an_example() {
    for (command, codes) in [
        ("inspect", &["0", "1", "2", "3", "4"][..]),
        ("check", &["0", "1", "2", "3", "4"]),
        ("repair", &["0", "2", "3", "4"]),
        ("keygen", &["0", "2", "4"]),
    ] {
        let run = eaof([command, "--help"]);
        assert_eq!(run.code, Some(0), "{run:?}");
        let help = &run.stdout;
        assert!(help.contains("Exit codes"), "{command}: {help}");
        for code in codes {
            assert!(
                help.contains(&format!("\n  {code}  ")),
                "{command} lacks code {code}: {help}"
            );
        }
        assert!(
            help.contains(&format!("\n  eaof {command}"))
                || help.contains(&format!("eaof {command} ")),
            "{command}: no example: {help}"
        );
        // The long help says more than the one-line summary.
        let short = eaof([command, "-h"]).stdout;
        assert!(help.len() > short.len() + 200, "{command}");
    }
}
