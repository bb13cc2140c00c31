//! Memory bounded at any file size: `check`, `check --json`, `inspect`, `inspect --json`
//! and `repair --force` on files three times larger than a limit on the process's heap
//! (RLIMIT_DATA, `ulimit -d`), plaintext and encrypted. The file is mapped read-only, which
//! RLIMIT_DATA does not count (RLIMIT_AS would: it counts address space, and the mapping
//! is the file's size); a command that read the file into its heap fails under this limit,
//! as a control shows.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{arg, big_file, eaof, key_file, records, write};

/// The heap limit, KiB.
const LIMIT_KIB: u64 = 32 << 10;

/// Runs `eaof ARGS` under the limit; returns the exit code and stdout (`keep`: or discards
/// it).
fn limited(args: &[String], keep: bool) -> (Option<i32>, String) {
    let script = format!("ulimit -d {LIMIT_KIB} && exec \"$0\" \"$@\"");
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_eaof"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(if keep { Stdio::piped() } else { Stdio::null() })
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        out.stderr.is_empty() || out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn with(args: &[&str], path: &Path) -> Vec<String> {
    args.iter()
        .map(|s| s.to_string())
        .chain([arg(path)])
        .collect()
}

#[test]
fn the_limit_is_real_a_buffer_of_the_files_size_does_not_fit() {
    let out = Command::new("sh")
        .args([
            "-c",
            &format!("ulimit -d {LIMIT_KIB} && exec dd if=/dev/zero of=/dev/null bs=96M count=1"),
        ])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(
        !out.success(),
        "dd allocated 96 MiB under a {LIMIT_KIB} KiB limit"
    );
}

#[test]
fn every_file_command_works_on_a_file_three_times_the_heap_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.aof");
    let (mut bytes, block) = big_file(&path, 96 << 20);
    assert!(bytes.len() as u64 > 3 * (LIMIT_KIB << 10));
    let records = {
        let block_records = block.len() as u64;
        let block_len = block.last().map(|(o, l)| o + l - 5).unwrap();
        block_records * ((bytes.len() as u64 - 5) / block_len)
    };

    let (code, line) = limited(&with(&["check"], &path), true);
    assert_eq!(code, Some(0), "{line}");
    assert!(
        line.contains(&format!("clean: {records} records")),
        "{line}"
    );
    let (code, line) = limited(&with(&["check", "--json"], &path), true);
    assert_eq!(code, Some(0), "{line}");
    let object: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(object["records"], records);
    assert_eq!(object["ok_up_to"], bytes.len());
    for json in [&["inspect"][..], &["inspect", "--json"]] {
        let (code, _) = limited(&with(json, &path), false);
        assert_eq!(code, Some(0), "{json:?}");
    }

    // Damage in the middle: corrupt; rebuilt under the limit, keeping the rest.
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    drop(bytes);
    let (code, _) = limited(&with(&["inspect", "--json"], &path), false);
    assert_eq!(code, Some(3));
    let (code, out) = limited(&with(&["repair", "--force", "--yes"], &path), true);
    assert_eq!(code, Some(0), "{out}");
    let run = eaof(["check".to_owned(), arg(&path)]);
    assert_eq!(run.code, Some(0), "{run:?}");
}

#[test]
fn an_encrypted_file_three_times_the_heap_limit_is_checked_and_inspected() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, key) = key_file(dir.path());
    let path = dir.path().join("sealed.aof");
    let many: Vec<_> = records().into_iter().cycle().take(2000).collect();
    let block = write(&path, Some(&key), &many);
    let body = &block[5..];
    let mut bytes = block[..5].to_vec();
    while bytes.len() < 3 * (LIMIT_KIB << 10) as usize {
        bytes.extend_from_slice(body);
    }
    std::fs::write(&path, &bytes).unwrap();
    let key = ["--key-file", key_path.to_str().unwrap()];
    for command in [&["check"][..], &["inspect", "--json"]] {
        let args: Vec<&str> = command.iter().chain(&key).copied().collect();
        let (code, _) = limited(&with(&args, &path), false);
        assert_eq!(code, Some(0), "{command:?}");
    }
}
