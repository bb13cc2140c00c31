//! The recorder sees every file-system call a child makes in the watched directory, with its
//! arguments, the bytes it wrote and its result, in Rust, Python and Node programs, across
//! threads and child processes; it records nothing else.

mod common;

use common::*;
use eaof_trace::{BlindSpot, Op, ProcessEvent, Spawn, Unmodellable, What};

/// Descriptor numbers depend on the runtime: `fd=N` becomes `fd=_`, and so does the
/// descriptor an open returns.
fn without_fds(lines: Vec<String>) -> Vec<String> {
    lines
        .into_iter()
        .map(|l| match l.strip_prefix("openat ") {
            Some(_) if !l.ends_with(|c: char| c.is_ascii_alphabetic()) => {
                let cut = l.rfind("-> ").map_or(l.len(), |at| at + 3);
                format!("{}_", &l[..cut])
            }
            _ => l,
        })
        .map(|l| {
            let mut out = String::new();
            let mut rest = l.as_str();
            while let Some(at) = rest.find("fd=") {
                out.push_str(&rest[..at + 3]);
                out.push('_');
                rest = rest[at + 3..].trim_start_matches(|c: char| c.is_ascii_digit());
            }
            out.push_str(rest);
            out
        })
        .collect()
}

#[test]
fn a_rust_program_s_calls_are_recorded_exactly() {
    let run = fixture(&[
        "open a wc",
        "write a hello",
        "pwrite a 2 XY",
        "writev a ab cd",
        "open b wca",
        "write b 123",
        "write b 45",
        "fdatasync b",
        "ftruncate a 3",
        "fallocate a 0 10",
        "dup a a2",
        "close a2",
        "mkdir d",
        "rename a d/x",
        "unlink b",
        "fsyncdir .",
        "open c wcs",
        "write c sync",
    ]);
    assert_eq!(run.exit, eaof_trace::Exit::Exited(0));
    assert_eq!(
        calls(&run),
        [
            "openat a O_WRONLY|O_CREAT|O_CLOEXEC created -> 3",
            "write a fd=3 at 0 asked 5 wrote \"hello\" -> 5",
            "pwrite64 a fd=3 at 2 asked 2 wrote \"XY\" -> 2",
            "writev a fd=3 at 5 asked 4 wrote \"abcd\" -> 4",
            "openat b O_WRONLY|O_CREAT|O_APPEND|O_CLOEXEC created -> 4",
            "write b fd=4 at 0 asked 3 wrote \"123\" -> 3",
            "write b fd=4 at 3 asked 2 wrote \"45\" -> 2",
            "fdatasync b -> 0",
            "ftruncate a 3 -> 0",
            "fallocate a mode=0 0+10 -> 0",
            "fcntl a fd=3 -> 5",
            "close a fd=5 -> 0",
            "mkdir d 0o777 -> 0",
            "rename a d/x flags=0 -> 0",
            "unlink b -> 0",
            "openat . O_RDONLY|O_CLOEXEC dir -> 5",
            "fsync . dir -> 0",
            "close . fd=5 -> 0",
            "openat c O_WRONLY|O_CREAT|O_SYNC|O_CLOEXEC created -> 5",
            "write c fd=5 at 0 asked 4 wrote \"sync\" -> 4",
            // The fixture closes what is left open in the order of its names (a, b, c).
            "close d/x fd=3 -> 0",
            "close b fd=4 -> 0",
            "close c fd=5 -> 0",
        ]
    );
    let synchronous = run.events.iter().any(
        |e| matches!(&e.what, What::Call(c) if matches!(c.op, Op::Write { synchronous: true, .. })),
    );
    assert!(synchronous, "the O_SYNC write is marked");
}

#[test]
fn a_python_program_s_calls_are_recorded_exactly() {
    let script = "import os\n\
        fd = os.open('f', os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)\n\
        os.write(fd, b'abc')\n\
        os.pwrite(fd, b'Z', 1)\n\
        os.fsync(fd)\n\
        os.rename('f', 'g')\n\
        with open('h', 'w') as h: h.write('x' * 10)\n\
        os.unlink('h')\n";
    let run = run_in(dir(), Spawn::new("python3", ["-c", script]));
    assert_eq!(run.exit, eaof_trace::Exit::Exited(0), "{}", run.stdout);
    assert_eq!(
        without_fds(calls(&run)),
        [
            "openat f O_WRONLY|O_CREAT|O_APPEND|O_CLOEXEC created -> _",
            "write f fd=_ at 0 asked 3 wrote \"abc\" -> 3",
            // pwrite on an O_APPEND descriptor appends on Linux, whatever the offset.
            "pwrite64 f fd=_ at 3 asked 1 wrote \"Z\" -> 1",
            "fsync f -> 0",
            "rename f g flags=0 -> 0",
            "openat h O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC created -> _",
            "write h fd=_ at 0 asked 10 wrote \"xxxxxxxxxx\" -> 10",
            "close h fd=_ -> 0",
            "unlink h -> 0",
        ]
    );
    assert_eq!(std::fs::read(run.dir.path().join("g")).unwrap(), b"abcZ");
}

#[test]
fn a_node_program_s_calls_are_recorded_exactly() {
    let script = "const fs = require('fs');\
        const fd = fs.openSync('f', 'a');\
        fs.writeSync(fd, 'abc');\
        fs.fdatasyncSync(fd);\
        fs.renameSync('f', 'g');\
        fs.writeFileSync('h', 'hello');\
        fs.mkdirSync('d');\
        fs.ftruncateSync(fd, 1);\
        fs.closeSync(fd);";
    let run = run_in(dir(), Spawn::new("node", ["-e", script]));
    assert_eq!(run.exit, eaof_trace::Exit::Exited(0), "{}", run.stdout);
    assert_eq!(
        without_fds(calls(&run)),
        [
            "openat f O_WRONLY|O_CREAT|O_APPEND|O_CLOEXEC created -> _",
            "write f fd=_ at 0 asked 3 wrote \"abc\" -> 3",
            "fdatasync f -> 0",
            "rename f g flags=0 -> 0",
            "openat h O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC created -> _",
            "write h fd=_ at 0 asked 5 wrote \"hello\" -> 5",
            "close h fd=_ -> 0",
            "mkdir d 0o777 -> 0",
            "ftruncate g 1 -> 0",
            "close g fd=_ -> 0",
        ]
    );
}

#[test]
fn threads_and_child_processes_are_followed() {
    let run = fixture(&["threads t1 t2 t3", "child open z wc"]);
    assert_eq!(run.exit, eaof_trace::Exit::Exited(0));
    let main = run.recorder.pid();
    let mut writers = std::collections::BTreeMap::new();
    let mut child_calls = Vec::new();
    for event in &run.events {
        let What::Call(call) = &event.what else {
            continue;
        };
        let path = call
            .op
            .path()
            .map(|p| p.strip_prefix(&run.root).unwrap().display().to_string());
        if event.pid == main {
            if let Op::Write { data, .. } = &call.op {
                writers.insert(path.clone().unwrap(), (event.tid, data.clone()));
            }
        } else {
            child_calls.push((event.pid, path));
        }
    }
    let tids: std::collections::BTreeSet<u32> = writers.values().map(|(t, _)| *t).collect();
    assert_eq!(writers.len(), 3);
    assert_eq!(tids.len(), 3, "one thread each");
    assert!(!tids.contains(&main));
    for (name, (_, data)) in &writers {
        assert_eq!(data, name.as_bytes());
    }
    let child = child_calls.first().map(|c| c.0).expect("the child's calls");
    assert!(child_calls
        .iter()
        .all(|c| c.0 == child && c.1.as_deref() == Some("z")));
    let started = run.events.iter().any(|e| {
        matches!(e.what, What::Process(ProcessEvent::Started { child: c, thread: false }) if c == child)
    });
    let executed = run
        .events
        .iter()
        .any(|e| e.pid == child && matches!(e.what, What::Process(ProcessEvent::Exec { .. })));
    assert!(started && executed);
}

#[test]
fn calls_outside_the_directory_are_not_recorded() {
    let outside = dir();
    let other = outside.path().join("x");
    let other = other.to_str().unwrap();
    let run = fixture(&[
        &format!("open {other} wc"),
        &format!("write {other} nope"),
        &format!("fsync {other}"),
        "open in wc",
        "write in yes",
    ]);
    assert_eq!(
        calls(&run),
        [
            "openat in O_WRONLY|O_CREAT|O_CLOEXEC created -> 4",
            "write in fd=4 at 0 asked 3 wrote \"yes\" -> 3",
            "close in fd=4 -> 0",
        ]
    );
}

#[test]
fn a_shared_writable_mapping_is_a_blind_spot_and_unmodellable() {
    let run = fixture(&["open a rwc", "write a hello", "mmap a"]);
    let spot = run
        .events
        .iter()
        .find_map(|e| match &e.what {
            What::BlindSpot(spot) => Some(spot.clone()),
            _ => None,
        })
        .expect("a blind spot");
    assert!(matches!(spot, BlindSpot::SharedMap { .. }), "{spot:?}");
    let states = run.recorder.crash_states(&run.root.join("a"));
    assert!(
        matches!(states, Err(Unmodellable::SharedMap { .. })),
        "{states:?}"
    );
}

#[test]
fn io_uring_is_refused_so_the_program_falls_back() {
    let script = "import ctypes\n\
        libc = ctypes.CDLL(None, use_errno=True)\n\
        params = ctypes.create_string_buffer(120)\n\
        print(libc.syscall(425, 8, params), ctypes.get_errno())\n";
    let run = run_in(dir(), Spawn::new("python3", ["-c", script]));
    assert_eq!(run.stdout.trim(), format!("-1 {}", libc::ENOSYS));
    let refused: Vec<_> = calls(&run)
        .into_iter()
        .filter(|c| c.starts_with("iouring"))
        .collect();
    assert_eq!(refused, ["iouringsetup  -> ENOSYS"]);
}
