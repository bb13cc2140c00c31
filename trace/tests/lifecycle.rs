//! The recorder never hangs the harness and leaves no process behind: a hanging child is
//! killed after the timeout and reported; dropping the recorder kills the child and what it
//! started; killing the harness kills the child; a program that cannot start is an error,
//! not a hang; signals reach the child as they were sent.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use eaof_trace::{Config, Exit, Recorder, Spawn, SpawnError};

#[test]
fn a_hanging_child_is_killed_after_the_timeout_and_reported() {
    let dir = dir();
    let (recorder, _pipes) =
        Recorder::spawn(Spawn::new(FIXTURE, ["hang"]), Config::new(dir.path())).unwrap();
    let pid = recorder.pid();
    let started = Instant::now();
    assert_eq!(recorder.wait(Duration::from_millis(200)), Exit::TimedOut);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        gone_within(pid, Duration::from_secs(5)),
        "the child still runs"
    );
}

#[test]
fn dropping_the_recorder_kills_the_child_and_what_it_started() {
    let mut s = Served::start();
    let pid = s.recorder.pid();
    let grandchild: u32 = s
        .step("spawn-hang")
        .strip_prefix("ok ")
        .unwrap()
        .parse()
        .unwrap();
    assert!(alive(grandchild) && alive(pid));
    drop(s);
    assert!(
        gone_within(pid, Duration::from_secs(5)),
        "the child still runs"
    );
    assert!(
        gone_within(grandchild, Duration::from_secs(5)),
        "the grandchild still runs"
    );
}

#[test]
fn killing_the_harness_kills_the_child() {
    let dir = dir();
    let mut harness = Command::new(FIXTURE)
        .args(["record", dir.path().to_str().unwrap()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(harness.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let child: u32 = line.trim().parse().unwrap();
    // Killed once the child runs its program (not while it is still starting).
    let deadline = Instant::now() + Duration::from_secs(10);
    while !dir.path().join("ready").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(alive(child));
    harness.kill().unwrap();
    harness.wait().unwrap();
    assert!(
        gone_within(child, Duration::from_secs(5)),
        "the child outlived its harness"
    );
}

#[test]
fn a_program_that_cannot_start_is_an_error() {
    let dir = dir();
    let missing = Recorder::spawn(
        Spawn::new("no-such-program-eaof", [""; 0]),
        Config::new(dir.path()),
    );
    assert!(
        matches!(missing, Err(SpawnError::NotFound { .. })),
        "{missing:?}"
    );
    let bogus = dir.path().join("bogus");
    std::fs::write(&bogus, b"\x7fELF garbage").unwrap();
    std::fs::set_permissions(&bogus, std::fs::Permissions::from_mode(0o755)).unwrap();
    let failed = Recorder::spawn(Spawn::new(&bogus, [""; 0]), Config::new(dir.path()));
    assert!(
        matches!(
            failed,
            Err(SpawnError::Exec {
                errno: nix::errno::Errno::ENOEXEC,
                ..
            })
        ),
        "{failed:?}"
    );
    let no_dir = Recorder::spawn(
        Spawn::new(FIXTURE, ["hang"]),
        Config::new(dir.path().join("none")),
    );
    assert!(
        matches!(no_dir, Err(SpawnError::Watch { .. })),
        "{no_dir:?}"
    );
}

#[test]
fn signals_reach_the_child_and_a_killed_child_is_reported() {
    let script = "import os, signal\n\
        signal.signal(signal.SIGUSR1, lambda *a: print('caught'))\n\
        os.kill(os.getpid(), signal.SIGUSR1)\n\
        os.kill(os.getpid(), signal.SIGKILL)\n";
    let run = run_in(dir(), Spawn::new("python3", ["-c", script]));
    assert_eq!(run.stdout.trim(), "caught");
    assert_eq!(run.exit, Exit::Killed(libc::SIGKILL));
}

#[test]
fn an_exit_code_is_reported() {
    let run = run_in(dir(), Spawn::new("python3", ["-c", "raise SystemExit(7)"]));
    assert_eq!(run.exit, Exit::Exited(7));
}
