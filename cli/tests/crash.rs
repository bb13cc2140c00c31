//! A large `repair --force` killed with SIGKILL at several points, then run again: after
//! every kill, FILE is the original or the rebuilt file (never a mix), FILE.bak is absent or
//! the original, and nothing else but the temporary file is left; the rerun finishes the
//! repair. The states a kill between two steps leaves are also built by hand, so that the
//! narrowest windows are covered whatever the timing.

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{arg, big_file, eaof};

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    path.with_file_name(format!(
        "{}{suffix}",
        path.file_name().unwrap().to_string_lossy()
    ))
}

/// A file of about 48 MiB with one record damaged in its middle (corrupt), and what a
/// rebuild writes: every byte but the damaged record's.
fn damaged(path: &Path) -> (Vec<u8>, Vec<u8>) {
    let (mut bytes, block) = big_file(path, 48 << 20);
    let block_len = (block.last().unwrap().0 + block.last().unwrap().1) as usize - 5;
    let (offset, len) = block[7];
    let offset = offset as usize + 300 * block_len;
    let len = len as usize;
    let mut rebuilt = bytes[..offset].to_vec();
    rebuilt.extend_from_slice(&bytes[offset + len..]);
    bytes[offset + len - 1] ^= 0x01; // its CRC
    fs::write(path, &bytes).unwrap();
    (bytes, rebuilt)
}

/// What a kill left, checked against the promises; returns a name for the state.
fn state_after_kill(path: &Path, damaged: &[u8], rebuilt: &[u8]) -> &'static str {
    let now = fs::read(path).unwrap();
    let bak = sibling(path, ".bak");
    let tmp = sibling(path, ".repair.tmp");
    let bak_meta = fs::symlink_metadata(&bak).ok();
    if let Some(meta) = &bak_meta {
        assert_eq!(fs::read(&bak).unwrap(), damaged, "FILE.bak is the original");
        assert_eq!(meta.nlink(), if now == damaged { 2 } else { 1 });
    }
    let names: Vec<_> = fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for name in &names {
        assert!(
            ["shard.aof", "shard.aof.bak", "shard.aof.repair.tmp"].contains(&name.as_str()),
            "unexpected file {name}"
        );
    }
    let tmp_left = fs::symlink_metadata(&tmp).is_ok();
    if now == damaged {
        match (bak_meta.is_some(), tmp_left) {
            (false, false) => "before the new file",
            (false, true) => "while writing the new file",
            (true, _) => "after keeping the original",
        }
    } else {
        assert!(
            now == rebuilt,
            "FILE is the original or the rebuilt file, never a mix"
        );
        assert!(
            bak_meta.is_some(),
            "the original is kept before FILE is replaced"
        );
        "after replacing"
    }
}

/// Runs the repair and kills it (SIGKILL) once `ready` holds, or when it ends.
fn kill_when(path: &Path, ready: impl Fn() -> bool) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_eaof"))
        .args(["repair", "--force", "--yes", &arg(path)])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if ready() || start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let _ = child.wait();
}

#[test]
fn a_repair_killed_at_any_point_is_finished_by_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shard.aof");
    let (damaged_bytes, rebuilt) = damaged(&path);
    let tmp = sibling(&path, ".repair.tmp");
    let bak = sibling(&path, ".bak");
    let size = |p: &Path| fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let full = rebuilt.len() as u64;
    type Ready<'a> = Box<dyn Fn() -> bool + 'a>;
    let points: Vec<(&str, Ready<'_>)> = vec![
        ("at once", Box::new(|| true)),
        ("once the new file exists", Box::new(|| tmp.exists())),
        (
            "half way through writing it",
            Box::new(|| size(&tmp) >= full / 2),
        ),
        ("once it is written", Box::new(|| size(&tmp) == full)),
        ("once the original is kept", Box::new(|| bak.exists())),
    ];
    let mut seen = Vec::new();
    for (point, ready) in &points {
        fs::write(&path, &damaged_bytes).unwrap();
        let _ = fs::remove_file(&bak);
        let _ = fs::remove_file(&tmp);
        kill_when(&path, ready);
        let state = state_after_kill(&path, &damaged_bytes, &rebuilt);
        seen.push(format!("killed {point}: {state}"));
        let run = eaof(["repair", "--force", "--yes", &arg(&path)]);
        if state == "after replacing" {
            assert_eq!(run.code, Some(0), "{point}: {run:?}");
            assert!(run.stdout.contains("nothing to repair"), "{point}: {run:?}");
        } else {
            assert_eq!(run.code, Some(0), "{point}: the rerun finishes: {run:?}");
        }
        assert_eq!(fs::read(&path).unwrap(), rebuilt, "{point}");
        assert_eq!(fs::read(&bak).unwrap(), damaged_bytes, "{point}");
        assert!(!tmp.exists(), "{point}");
    }
    eprintln!("{}", seen.join("\n"));
    assert!(
        seen.iter()
            .any(|s| s.ends_with("while writing the new file")),
        "no kill landed while the new file was being written: {seen:#?}"
    );
}

#[test]
fn the_states_between_two_steps_are_recovered_by_the_next_repair() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shard.aof");
    let (damaged_bytes, rebuilt) = damaged(&path);
    let tmp = sibling(&path, ".repair.tmp");
    let bak = sibling(&path, ".bak");
    // Stopped after keeping the original (FILE.bak a hard link to FILE) with the new file
    // written in full: neither is trusted; the repair is done again.
    fs::hard_link(&path, &bak).unwrap();
    fs::write(&tmp, &rebuilt).unwrap();
    let run = eaof(["repair", "--force", "--yes", &arg(&path)]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stderr.contains("kept as the backup"), "{run:?}");
    assert!(run.stderr.contains("removed a regular file"), "{run:?}");
    assert_eq!(fs::read(&path).unwrap(), rebuilt);
    assert_eq!(fs::read(&bak).unwrap(), damaged_bytes);
    assert_eq!(fs::metadata(&bak).unwrap().nlink(), 1);
    assert!(!tmp.exists());
    // Stopped while writing the new file, which holds garbage: removed, repair done.
    fs::write(&path, &damaged_bytes).unwrap();
    fs::remove_file(&bak).unwrap();
    fs::write(&tmp, &rebuilt[..1000]).unwrap();
    let run = eaof(["repair", "--force", "--yes", &arg(&path)]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(fs::read(&path).unwrap(), rebuilt);
}
