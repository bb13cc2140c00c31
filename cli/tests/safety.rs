//! The promises of safe file handling, end to end, on hostile paths, as root runs the tool:
//! a link planted at the temporary or backup name is never followed; FIFOs and devices are
//! refused with exit 4 without being opened; a symbolic link given as FILE is read by
//! `check` and refused by `repair`, which names its target; owner, group and mode are kept
//! (or the repair stops before replacing anything); a full disk leaves no partial file under
//! a final name; a second repair is refused by the lock; key files are read bounded and
//! refused when exposed; write errors on stdout end the command.

mod common;

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{arg, eaof, key_file, records, scan, write, write_key, Run};
use eaof::Verdict;

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    path.with_file_name(format!(
        "{}{suffix}",
        path.file_name().unwrap().to_string_lossy()
    ))
}

/// A file of many records whose 5th record is damaged (corrupt: intact records follow),
/// and the bytes a rebuild writes.
fn corrupt(path: &Path) -> (Vec<u8>, Vec<u8>) {
    let many: Vec<_> = records().into_iter().cycle().take(30).collect();
    let bytes = write(path, None, &many);
    let (scanned, _) = scan(&bytes, None);
    let (offset, len, _) = scanned[4].clone();
    let mut damaged = bytes.clone();
    damaged[(offset + len - 1) as usize] ^= 0x20;
    fs::write(path, &damaged).unwrap();
    let mut rebuilt = bytes[..offset as usize].to_vec();
    rebuilt.extend_from_slice(&bytes[(offset + len) as usize..]);
    (damaged, rebuilt)
}

fn is_root() -> bool {
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// Runs `eaof ARGS`, failing the test if it has not ended within 20 s (a FIFO opened for
/// reading would block it).
fn eaof_within(args: &[String]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_eaof"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("eaof {args:?} blocked");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn args(list: &[&str], path: &Path) -> Vec<String> {
    list.iter()
        .map(|s| s.to_string())
        .chain([arg(path)])
        .collect()
}

#[test]
fn a_link_planted_at_the_temporary_name_is_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    fs::write(&victim, b"precious").unwrap();
    let path = dir.path().join("shard.aof");
    let (_, rebuilt) = corrupt(&path);
    let tmp = sibling(&path, ".repair.tmp");
    std::os::unix::fs::symlink(&victim, &tmp).unwrap();
    let run = eaof(args(&["repair", "--force", "--yes"], &path));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        fs::read(&victim).unwrap(),
        b"precious",
        "the target is unchanged"
    );
    assert!(run.stderr.contains("a symbolic link left by"), "{run:?}");
    assert!(
        fs::symlink_metadata(&tmp).is_err(),
        "the planted link is gone"
    );
    assert_eq!(fs::read(&path).unwrap(), rebuilt);
    assert!(!fs::symlink_metadata(&path)
        .unwrap()
        .file_type()
        .is_symlink());

    // The same on the path that writes a new header, and with a dangling link.
    fs::write(&path, b"EA").unwrap();
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &tmp).unwrap();
    let run = eaof(args(&["repair"], &path));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(fs::read(&path).unwrap(), eaof::format::header(2));
    assert!(
        !dir.path().join("nowhere").exists(),
        "nothing created through the link"
    );
}

#[test]
fn a_link_planted_at_the_backup_name_is_refused_and_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    fs::write(&victim, b"precious").unwrap();
    let path = dir.path().join("shard.aof");
    let (damaged, _) = corrupt(&path);
    std::os::unix::fs::symlink(&victim, sibling(&path, ".bak")).unwrap();
    let run = eaof(args(&["repair", "--force", "--yes"], &path));
    assert_eq!(run.code, Some(3), "{run:?}");
    assert!(run.stderr.contains(".bak: exists"), "{run:?}");
    assert_eq!(fs::read(&victim).unwrap(), b"precious");
    assert_eq!(fs::read(&path).unwrap(), damaged);
    assert!(fs::symlink_metadata(sibling(&path, ".repair.tmp")).is_err());
}

#[test]
fn fifos_and_devices_are_refused_with_exit_4_without_being_opened() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("shard.aof");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let mut paths = vec![
        fifo.clone(),
        PathBuf::from("/dev/zero"),
        PathBuf::from("/dev/null"),
    ];
    let device = dir.path().join("copy-of-null.aof");
    // A copy of /dev/null (root only): the case that `repair` turned into a regular file.
    let made = Command::new("mknod")
        .args([arg(&device), "c".into(), "1".into(), "3".into()])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if made {
        paths.push(device.clone());
    } else {
        eprintln!("mknod refused (not root?): the device copy is not tested");
    }
    for path in &paths {
        for command in [
            &["check"][..],
            &["check", "--json"],
            &["inspect"],
            &["inspect", "--json"],
            &["repair"],
            &["repair", "--force", "--yes"],
        ] {
            let run = eaof_within(&args(command, path));
            assert_eq!(run.code, Some(4), "{command:?} {}: {run:?}", path.display());
            let said = format!("{}{}", run.stdout, run.stderr);
            assert!(said.contains(&arg(path)), "names the file: {run:?}");
            assert!(
                said.contains("not a regular file") || said.contains("not_regular"),
                "{run:?}"
            );
        }
    }
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    if made {
        assert!(fs::symlink_metadata(&device)
            .unwrap()
            .file_type()
            .is_char_device());
    }
}

#[test]
fn a_symlinked_file_is_read_through_but_refused_by_repair() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("data").join("shard.aof");
    fs::create_dir(target.parent().unwrap()).unwrap();
    let bytes = write(&target, None, &records());
    let torn = &bytes[..bytes.len() - 3];
    fs::write(&target, torn).unwrap();
    let link = dir.path().join("shard.aof");
    std::os::unix::fs::symlink(&target, &link).unwrap();

    let run = eaof(args(&["check"], &link));
    assert_eq!(run.code, Some(1), "read through the link: {run:?}");
    for flags in [&["repair"][..], &["repair", "--force", "--yes"]] {
        let run = eaof(args(flags, &link));
        assert_eq!(run.code, Some(4), "{run:?}");
        assert!(run.stderr.contains("symbolic link"), "{run:?}");
        assert!(
            run.stderr.contains(&arg(&target)),
            "names the target: {run:?}"
        );
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&target).unwrap(), torn, "the target is unchanged");
    }
    let run = eaof(args(&["repair"], &target));
    assert_eq!(run.code, Some(0), "the target itself is repaired: {run:?}");
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
}

fn owner_and_mode(path: &Path) -> (u32, u32, u32) {
    let meta = fs::metadata(path).unwrap();
    (meta.uid(), meta.gid(), meta.mode() & 0o7777)
}

#[test]
fn owner_group_and_mode_are_kept_by_a_rebuild_and_by_a_new_header() {
    let dir = tempfile::tempdir().unwrap();
    // As root, another owner and group than the one running the repair.
    let wanted = if is_root() {
        (4321, 8765, 0o640)
    } else {
        let me = fs::metadata(dir.path()).unwrap();
        (me.uid(), me.gid(), 0o640)
    };
    let set = |path: &Path| {
        fs::set_permissions(path, fs::Permissions::from_mode(wanted.2)).unwrap();
        std::os::unix::fs::chown(path, Some(wanted.0), Some(wanted.1)).unwrap();
    };
    let path = dir.path().join("shard.aof");
    corrupt(&path);
    set(&path);
    let run = eaof(args(&["repair", "--force", "--yes"], &path));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(owner_and_mode(&path), wanted, "the rebuilt file");
    assert_eq!(
        owner_and_mode(&sibling(&path, ".bak")),
        wanted,
        "the backup"
    );

    let new = dir.path().join("new.aof");
    fs::write(&new, b"EAOF").unwrap();
    set(&new);
    let run = eaof(args(&["repair"], &new));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(owner_and_mode(&new), wanted, "the file with a new header");
}

#[test]
fn a_repair_that_cannot_keep_the_group_stops_before_replacing_anything() {
    if !is_root() || Command::new("setpriv").arg("--help").output().is_err() {
        eprintln!("needs root and setpriv: not tested");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let user = 4321;
    std::os::unix::fs::chown(dir.path(), Some(user), Some(user)).unwrap();
    let path = dir.path().join("shard.aof");
    let (damaged, _) = corrupt(&path);
    // Owned by the user, in a group the user is not a member of: the user can rewrite the
    // file but cannot give a new file that group.
    std::os::unix::fs::chown(&path, Some(user), Some(0)).unwrap();
    let out = Command::new("setpriv")
        .args([
            format!("--reuid={user}"),
            format!("--regid={user}"),
            "--clear-groups".into(),
            env!("CARGO_BIN_EXE_eaof").into(),
            "repair".into(),
            "--force".into(),
            "--yes".into(),
            arg(&path),
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if matches!(out.status.code(), Some(126 | 127)) {
        eprintln!("the user cannot run the binary here ({stderr}): not tested");
        return;
    }
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("owner, group and mode"), "{stderr}");
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    assert_eq!(fs::read(&path).unwrap(), damaged);
    assert!(fs::symlink_metadata(sibling(&path, ".repair.tmp")).is_err());
    assert!(fs::symlink_metadata(sibling(&path, ".bak")).is_err());
}

/// Asserts that `path` holds `damaged` and that no temporary or backup file is left.
fn unchanged(path: &Path, damaged: &[u8]) {
    assert_eq!(fs::read(path).unwrap(), damaged, "FILE is unchanged");
    assert!(
        fs::symlink_metadata(sibling(path, ".repair.tmp")).is_err(),
        "no temporary left"
    );
    assert!(
        fs::symlink_metadata(sibling(path, ".bak")).is_err(),
        "no backup made"
    );
}

#[test]
fn a_write_error_while_rebuilding_leaves_no_file_under_a_final_name() {
    // Simulated: a file size limit (RLIMIT_FSIZE, with SIGXFSZ ignored so the write fails
    // with EFBIG as a full disk fails it with ENOSPC) smaller than the rebuilt file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shard.aof");
    let many: Vec<_> = records().into_iter().cycle().take(3000).collect();
    let bytes = write(&path, None, &many);
    let mut damaged = bytes.clone();
    damaged[2000] ^= 0x20;
    fs::write(&path, &damaged).unwrap();
    assert!(
        bytes.len() > 4 * 512 * 20,
        "the file is larger than the limit"
    );
    let script = "trap '' XFSZ; ulimit -f 20; exec \"$0\" repair --force --yes \"$1\"";
    let out = Command::new("sh")
        .args(["-c", script, env!("CARGO_BIN_EXE_eaof"), &arg(&path)])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    unchanged(&path, &damaged);
    // Without the limit, the same repair goes through.
    let run = eaof(args(&["repair", "--force", "--yes"], &path));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(matches!(common::read(&path, None).1, Verdict::Clean { .. }));
}

#[test]
fn a_full_file_system_while_rebuilding_leaves_no_file_under_a_final_name() {
    // Real: a 1 MiB tmpfs, where the root running the tests may mount one.
    let dir = tempfile::tempdir().unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(dir.path())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("cannot mount a tmpfs here: the simulated full disk is the test");
        return;
    }
    let path = dir.path().join("shard.aof");
    let many: Vec<_> = records().into_iter().cycle().take(9000).collect();
    let result = std::panic::catch_unwind(|| {
        let bytes = write(&path, None, &many);
        assert!(
            bytes.len() > 1 << 19,
            "over half the file system: {}",
            bytes.len()
        );
        let mut damaged = bytes.clone();
        damaged[2000] ^= 0x20;
        fs::write(&path, &damaged).unwrap();
        let run = eaof(args(&["repair", "--force", "--yes"], &path));
        assert_eq!(run.code, Some(4), "{run:?}");
        assert!(run.stderr.contains("No space left on device"), "{run:?}");
        unchanged(&path, &damaged);
    });
    let _ = Command::new("umount").arg(dir.path()).status();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn a_second_repair_is_refused_while_the_first_holds_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shard.aof");
    let (damaged, _) = corrupt(&path);
    let held = fs::File::open(&path).unwrap();
    held.lock().unwrap();
    let run = eaof(args(&["repair", "--force", "--yes"], &path));
    assert_eq!(run.code, Some(4), "{run:?}");
    assert!(run.stderr.contains("holds a lock"), "{run:?}");
    unchanged(&path, &damaged);
    held.unlock().unwrap();
    let run = eaof(args(&["repair", "--force", "--yes"], &path));
    assert_eq!(run.code, Some(0), "{run:?}");
}

#[test]
fn key_files_are_refused_when_others_can_read_them_and_errors_name_the_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, key) = key_file(dir.path());
    let path = dir.path().join("sealed.aof");
    write(&path, Some(&key), &records());
    let check = |key: &Path| {
        eaof([
            "check".to_owned(),
            "--key-file".to_owned(),
            arg(key),
            arg(&path),
        ])
    };
    for (mode, code, warned) in [
        (0o600, 0, false),
        (0o400, 0, false),
        (0o640, 0, true),
        (0o644, 4, false),
        (0o660, 4, false),
        (0o604, 4, false),
        (0o602, 4, false),
    ] {
        fs::set_permissions(&key_path, fs::Permissions::from_mode(mode)).unwrap();
        let run = check(&key_path);
        assert_eq!(run.code, Some(code), "mode {mode:o}: {run:?}");
        assert_eq!(
            run.stderr.contains("warning"),
            warned,
            "mode {mode:o}: {run:?}"
        );
        if code == 4 {
            assert!(
                run.stdout
                    .starts_with(&format!("{}: unusable key file", arg(&key_path))),
                "names the key file first: {run:?}"
            );
            assert!(run.stdout.contains("too open"), "{run:?}");
        }
    }
    // Read up to a bound: /dev/zero is not read to the end.
    let run = eaof_within(&[
        "check".into(),
        "--key-file".into(),
        "/dev/zero".into(),
        arg(&path),
    ]);
    assert_eq!(run.code, Some(4), "{run:?}");
    assert!(
        run.stdout.starts_with("/dev/zero: unusable key file"),
        "{run:?}"
    );
    assert!(run.stdout.contains("longer than 4096 bytes"), "{run:?}");
    // A malformed key file is the key file's error, not the data file's.
    let bad = dir.path().join("bad.key");
    write_key(&bad, "zz".repeat(32));
    let run = eaof([
        "check".to_owned(),
        "--json".to_owned(),
        "--key-file".to_owned(),
        arg(&bad),
        arg(&path),
    ]);
    assert_eq!(run.code, Some(4), "{run:?}");
    let object: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(object["reason"], "key_file");
    assert_eq!(object["key_file"], arg(&bad));
    assert_eq!(object["file"], arg(&path));
    assert!(object["message"].as_str().unwrap().starts_with(&arg(&bad)));
}

#[test]
fn a_write_error_on_stdout_ends_with_a_message_and_exit_4() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shard.aof");
    write(&path, None, &records());
    for command in [
        &["check"][..],
        &["check", "--json"],
        &["inspect"],
        &["inspect", "--json"],
    ] {
        let full = fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_eaof"))
            .args(args(command, &path))
            .stdout(full)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{command:?}: {stderr}");
        assert!(stderr.contains("stdout"), "{command:?}: {stderr}");
        assert!(
            stderr.contains("No space left on device"),
            "{command:?}: {stderr}"
        );
    }
}

#[test]
fn a_closed_pipe_ends_inspect_quietly_with_141() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shard.aof");
    let many: Vec<_> = records().into_iter().cycle().take(20_000).collect();
    write(&path, None, &many);
    for json in [false, true] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_eaof"));
        command.arg("inspect");
        if json {
            command.arg("--json");
        }
        let mut child = command
            .arg(&path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read a little (as `| head` does), then close the pipe.
        let mut stdout = child.stdout.take().unwrap();
        let mut first = [0u8; 100];
        std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
        drop(stdout);
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(141), "json {json}");
        assert!(
            out.stderr.is_empty(),
            "quietly: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn leftovers_of_a_stopped_repair_are_named_by_check_and_removed_by_repair() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shard.aof");
    let (_, rebuilt) = corrupt(&path);
    let tmp = sibling(&path, ".repair.tmp");
    fs::write(&tmp, b"half a rebuilt file").unwrap();
    let run = eaof(args(&["check"], &path));
    assert_eq!(run.code, Some(3), "{run:?}");
    assert!(
        run.stderr.contains(&format!("{} exists", arg(&tmp))),
        "{run:?}"
    );
    let run = eaof(args(&["repair", "--force", "--yes"], &path));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stderr.contains("removed a regular file left by"),
        "{run:?}"
    );
    assert!(fs::symlink_metadata(&tmp).is_err());
    assert_eq!(fs::read(&path).unwrap(), rebuilt);
}
