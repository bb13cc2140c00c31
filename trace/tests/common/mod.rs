//! Helpers for the recorder's tests: run a program under the recorder in a fresh directory,
//! and describe the trace in one line a call, so that a test states exactly what it expects.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use eaof_trace::{Config, Event, Exit, Op, Recorder, Spawn, What};

/// The test program (see `src/bin/trace-fixture.rs`).
pub const FIXTURE: &str = env!("CARGO_BIN_EXE_trace-fixture");

/// What a run left.
pub struct Run {
    pub dir: tempfile::TempDir,
    pub root: PathBuf,
    pub stdout: String,
    pub exit: Exit,
    pub events: Vec<Event>,
    pub recorder: Recorder,
}

/// A fresh directory to watch (on the default temporary directory).
pub fn dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("eaof-trace")
        .tempdir()
        .expect("temporary directory")
}

/// Runs `spawn` (in `dir`) to its end under the recorder.
pub fn run_in(dir: tempfile::TempDir, spawn: Spawn) -> Run {
    let spawn = spawn.cwd(dir.path());
    let (recorder, mut pipes) = Recorder::spawn(spawn, Config::new(dir.path())).expect("spawn");
    drop(pipes.stdin);
    let mut stdout = String::new();
    pipes.stdout.read_to_string(&mut stdout).expect("stdout");
    let exit = recorder.wait(Duration::from_secs(20));
    let (events, dropped) = recorder.drain();
    assert_eq!(dropped, 0);
    Run {
        root: recorder.root().to_path_buf(),
        dir,
        stdout,
        exit,
        events,
        recorder,
    }
}

/// Runs the fixture with `steps`.
pub fn fixture(steps: &[&str]) -> Run {
    let mut args = vec!["run"];
    args.extend_from_slice(steps);
    run_in(dir(), Spawn::new(FIXTURE, args))
}

fn rel(root: &Path, path: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(p) if p.as_os_str().is_empty() => ".".into(),
        Ok(p) => p.display().to_string(),
        Err(_) => path.display().to_string(),
    }
}

/// The `O_*` flags of `flags`, by name, in a fixed order.
pub fn flag_names(flags: i32) -> String {
    let access = match flags & libc::O_ACCMODE {
        libc::O_RDONLY => "O_RDONLY",
        libc::O_WRONLY => "O_WRONLY",
        _ => "O_RDWR",
    };
    let mut names = vec![access];
    for (bit, name) in [
        (libc::O_CREAT, "O_CREAT"),
        (libc::O_EXCL, "O_EXCL"),
        (libc::O_TRUNC, "O_TRUNC"),
        (libc::O_APPEND, "O_APPEND"),
        (libc::O_SYNC, "O_SYNC"),
        (libc::O_NONBLOCK, "O_NONBLOCK"),
        (libc::O_DIRECTORY, "O_DIRECTORY"),
        (libc::O_NOFOLLOW, "O_NOFOLLOW"),
        (libc::O_CLOEXEC, "O_CLOEXEC"),
    ] {
        if flags & bit == bit {
            names.push(name);
        }
    }
    let known = libc::O_ACCMODE
        | libc::O_CREAT
        | libc::O_EXCL
        | libc::O_TRUNC
        | libc::O_APPEND
        | libc::O_SYNC
        | libc::O_NONBLOCK
        | libc::O_DIRECTORY
        | libc::O_NOFOLLOW
        | libc::O_CLOEXEC
        | libc::O_LARGEFILE;
    let rest = flags & !known;
    let mut out = names.join("|");
    if rest != 0 {
        out += &format!("|{rest:#o}");
    }
    out
}

fn result(r: &Result<u64, eaof_trace::Errno>) -> String {
    match r {
        Ok(n) => n.to_string(),
        Err(e) => e.name(),
    }
}

/// One line for a call (`None` for other events), paths relative to `root`.
pub fn describe(root: &Path, event: &Event) -> Option<String> {
    let What::Call(call) = &event.what else {
        return None;
    };
    let r = |p: &Path| rel(root, p);
    let name = format!("{:?}", call.syscall).to_lowercase();
    let args = match &call.op {
        Op::Open {
            path,
            flags,
            created,
            dir,
            ..
        } => format!(
            "{} {}{}{}",
            r(path),
            flag_names(*flags),
            if *created { " created" } else { "" },
            if *dir { " dir" } else { "" }
        ),
        Op::Write {
            fd,
            path,
            offset,
            requested,
            data,
            ..
        } => format!(
            "{} fd={fd} at {offset} asked {requested} wrote {:?}",
            r(path),
            String::from_utf8_lossy(data)
        ),
        Op::Sync { path, dir, .. } => format!("{}{}", r(path), if *dir { " dir" } else { "" }),
        Op::SyncRange {
            path, offset, len, ..
        } => format!("{} {offset}+{len}", r(path)),
        Op::SyncAll { fd } => format!("fd={fd:?}"),
        Op::Rename { from, to, flags } => format!("{} {} flags={flags}", r(from), r(to)),
        Op::Unlink { path, dir } => format!("{}{}", r(path), if *dir { " dir" } else { "" }),
        Op::Truncate { path, len, .. } => format!("{} {len}", r(path)),
        Op::Fallocate {
            path,
            mode,
            offset,
            len,
            ..
        } => {
            format!("{} mode={mode} {offset}+{len}", r(path))
        }
        Op::Mkdir { path, mode } => format!("{} {mode:#o}", r(path)),
        Op::Close { fd, path } => format!("{} fd={fd}", r(path)),
        Op::CloseRange { watched, .. } => format!("{watched:?}"),
        Op::Dup { old, path, .. } => format!("{} fd={old}", r(path)),
        Op::IoUringRefused => String::new(),
    };
    let fault = call
        .fault
        .as_ref()
        .map_or(String::new(), |f| format!(" [fault {:?}]", f.action));
    Some(format!("{name} {args} -> {}{fault}", result(&call.result)))
}

/// Every call of `run`, described.
pub fn calls(run: &Run) -> Vec<String> {
    run.events
        .iter()
        .filter_map(|e| describe(&run.root, e))
        .collect()
}

/// Whether a process or thread `pid` still runs (a zombie does not count: it runs nothing).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat.rsplit(") ").next().and_then(|s| s.chars().next());
            !matches!(state, Some('Z') | Some('X'))
        }
        Err(_) => false,
    }
}

/// Waits up to `timeout` for `pid` to stop running.
pub fn gone_within(pid: u32, timeout: Duration) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    !alive(pid)
}

/// The fixture in `serve` mode: one step a line, one answer a line.
pub struct Served {
    pub dir: tempfile::TempDir,
    pub root: PathBuf,
    pub recorder: Recorder,
    stdin: Option<std::fs::File>,
    stdout: std::io::BufReader<std::fs::File>,
}

impl Served {
    pub fn start() -> Served {
        let dir = dir();
        let spawn = Spawn::new(FIXTURE, ["serve"]).cwd(dir.path());
        let (recorder, pipes) = Recorder::spawn(spawn, Config::new(dir.path())).expect("spawn");
        Served {
            root: recorder.root().to_path_buf(),
            dir,
            recorder,
            stdin: Some(pipes.stdin),
            stdout: std::io::BufReader::new(pipes.stdout),
        }
    }

    /// Runs one step; its answer (`ok N` or `err ERRNO`), after any line it printed.
    pub fn step(&mut self, step: &str) -> String {
        use std::io::{BufRead, Write};
        let stdin = self.stdin.as_mut().expect("open");
        writeln!(stdin, "{step}").expect("request");
        let mut printed = String::new();
        loop {
            let mut line = String::new();
            self.stdout.read_line(&mut line).expect("answer");
            let line = line.trim_end().to_owned();
            match line.strip_prefix('=') {
                Some(text) => printed = format!("{:?} ", text.strip_prefix(' ').unwrap_or(text)),
                None => return format!("{printed}{line}"),
            }
        }
    }

    /// The path the recorder gives `name`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Calls recorded since the last drain, described.
    pub fn calls(&self) -> Vec<String> {
        let (events, _) = self.recorder.drain();
        events
            .iter()
            .filter_map(|e| describe(&self.root, e))
            .collect()
    }

    /// Ends the child (end of input) and waits for it.
    pub fn finish(mut self) -> Exit {
        self.stdin = None;
        self.recorder.wait(Duration::from_secs(20))
    }
}
