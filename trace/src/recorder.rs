//! The harness's handle on a recorded child: spawn it, talk to it through its pipes, drain
//! the trace, arm faults, ask the persistence model for crash states, wait with a timeout,
//! kill.
//!
//! Guarantees:
//! - the child and every process and thread it starts are traced by one thread of the
//!   recorder's own, which does nothing else; the harness's threads never make a ptrace call;
//! - no traced process outlives the [`Recorder`]: dropping it sends `SIGKILL` to every task
//!   it traces and to the child's process group (no I/O, nothing that can block on the
//!   child), and waits for the tracing thread, which ends when its last tracee is reaped; if
//!   the harness dies instead, the kernel kills the child (parent-death signal) and every
//!   other tracee (`PTRACE_O_EXITKILL`) as the tracing thread goes;
//! - [`Recorder::wait`] returns within its timeout: a child still running then is killed
//!   and reported as [`Exit::TimedOut`];
//! - the trace kept for [`Recorder::drain`] holds at most [`crate::EVENTS_MAX`] events and
//!   [`crate::EVENT_BYTES_MAX`] bytes of file data (the rest are counted as dropped); the
//!   persistence model sees every event.

use std::collections::{BTreeSet, HashSet};
use std::ffi::{CString, OsStr, OsString};
use std::fs::{self, File};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;
use nix::sys::ptrace::{self, Options};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::event::{Event, FileId, What};
use crate::fault::{Action, Armed, CallKind, Fault, FaultError, FaultId, Fired, Match};
use crate::filter;
use crate::persist::{Persistence, Unmodellable};
use crate::sys;
use crate::tracer::{Root, Tracer};
use crate::{EVENTS_MAX, EVENT_BYTES_MAX};

/// The program to run, as `std::process::Command` would take it.
#[derive(Debug, Clone, Default)]
pub struct Spawn {
    /// A path, or a name searched in `PATH`.
    pub program: OsString,
    pub args: Vec<OsString>,
    /// Variables set (or replaced) in the environment the child inherits.
    pub env: Vec<(OsString, OsString)>,
    /// The child's working directory (the harness's when `None`).
    pub cwd: Option<PathBuf>,
    /// Whether the child's standard error is a pipe (else the harness's own).
    pub pipe_stderr: bool,
}

impl Spawn {
    /// `program` with `args`.
    pub fn new(
        program: impl Into<OsString>,
        args: impl IntoIterator<Item = impl Into<OsString>>,
    ) -> Self {
        Spawn {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
            ..Spawn::default()
        }
    }

    /// Sets an environment variable for the child.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Sets the child's working directory.
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }
}

/// How the recorder watches.
#[derive(Debug, Clone)]
pub struct Config {
    /// The test directory: calls on paths under it (and descriptors that refer to them) are
    /// recorded.
    pub watch: PathBuf,
    /// Whether `io_uring_setup` fails with `ENOSYS` (so that runtimes such as libuv fall back
    /// to plain calls the recorder sees) rather than run unseen. On by default.
    pub refuse_io_uring: bool,
}

impl Config {
    /// Watches `dir`, refusing io_uring.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Config {
            watch: dir.into(),
            refuse_io_uring: true,
        }
    }
}

/// The child's ends of its pipes.
#[derive(Debug)]
pub struct Pipes {
    /// Write requests here.
    pub stdin: File,
    /// Read answers here.
    pub stdout: File,
    /// With [`Spawn::pipe_stderr`].
    pub stderr: Option<File>,
}

/// How the child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Exited(i32),
    /// A signal killed it.
    Killed(i32),
    /// It was still running when the timeout passed; it was killed.
    TimedOut,
}

/// Why a child could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("the watched directory {path:?}: {source}")]
    Watch {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no program {program:?} (searched in PATH)")]
    NotFound { program: OsString },
    #[error("{what} contains a NUL byte")]
    Nul { what: &'static str },
    #[error("the recorder's {what}: {source}")]
    Os {
        what: &'static str,
        source: nix::errno::Errno,
    },
    #[error("{program:?} could not be executed: {errno}")]
    Exec {
        program: PathBuf,
        errno: nix::errno::Errno,
    },
    #[error("the child did not start under the tracer: {0}")]
    NotTraced(String),
    #[error("this machine's architecture is not supported (x86_64 only)")]
    Architecture,
}

/// The state the tracing thread and the harness share.
#[derive(Debug)]
struct State {
    events: Vec<Event>,
    /// Bytes of file data the kept events hold.
    held: u64,
    dropped: u64,
    seq: u64,
    model: Persistence,
    seen: HashSet<FileId>,
    armed: Vec<Armed>,
    next_fault: u64,
    tasks: BTreeSet<u32>,
    exit: Option<Exit>,
    ended: bool,
}

/// The file data an event holds (written bytes, contents seen).
fn data_len(what: &What) -> u64 {
    match what {
        What::Call(crate::event::Call {
            op: crate::event::Op::Write { data, .. },
            ..
        }) => data.len() as u64,
        What::Seen(crate::event::Seen {
            kind: crate::event::SeenKind::File(contents),
            ..
        }) => contents.len() as u64,
        _ => 0,
    }
}

/// What the tracing thread and the harness share (behind one mutex).
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves data that is still whole (every update is
        // a push or an assignment): go on with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn record(&self, pid: u32, tid: u32, what: What) {
        let mut state = self.lock();
        let event = Event {
            seq: state.seq,
            pid,
            tid,
            what,
        };
        state.seq += 1;
        state.model.apply(&event);
        let bytes = data_len(&event.what);
        if state.events.len() < EVENTS_MAX && state.held + bytes <= EVENT_BYTES_MAX {
            state.held += bytes;
            state.events.push(event);
        } else {
            state.dropped += 1;
        }
    }

    /// Whether `file` is seen for the first time since the last checkpoint (and marks it).
    pub fn first_sight(&self, file: FileId) -> bool {
        self.lock().seen.insert(file)
    }

    pub fn add_task(&self, tid: u32) {
        self.lock().tasks.insert(tid);
    }

    pub fn forget_task(&self, tid: u32) {
        self.lock().tasks.remove(&tid);
    }

    pub fn set_exit(&self, exit: Exit) {
        let mut state = self.lock();
        state.exit.get_or_insert(exit);
        self.changed.notify_all();
    }

    fn end(&self) {
        let mut state = self.lock();
        state.ended = true;
        state.tasks.clear();
        self.changed.notify_all();
    }

    /// Counts a call against the armed faults; the fault that fires at it, if any (a
    /// short write that must be followed by a failure arms that failure).
    pub fn fire(
        &self,
        syscall: crate::event::Syscall,
        paths: &[&Path],
        requested: u64,
    ) -> Option<Fired> {
        let mut state = self.lock();
        let mut fired = None;
        for armed in &mut state.armed {
            if let Some(action) = armed.count(syscall, paths, requested) {
                fired.get_or_insert((armed.id, armed.fault.clone(), action));
            }
        }
        let (id, fault, action) = fired?;
        // Once: done (a full disk's room is freed); sticky: it keeps firing (a full disk
        // stays full).
        if !fault.sticky {
            state.armed.retain(|a| a.id != id);
        }
        if let Action::ShortThenFail { errno, .. } = action {
            let next = FaultId(state.next_fault);
            state.next_fault += 1;
            let path = paths.first().map(|p| p.to_path_buf());
            let follow_up = Fault {
                matching: Match {
                    kind: CallKind::Write,
                    path,
                },
                after: 0,
                action: Action::Fail(errno),
                sticky: false,
            };
            state.armed.push(Armed::new(next, follow_up));
        }
        Some(Fired {
            id,
            action,
            revert: None,
        })
    }

    /// The last synced and the live contents of `file`, when it has unsynced changes.
    #[allow(clippy::type_complexity)]
    pub fn synced_contents(
        &self,
        file: FileId,
    ) -> Result<Option<(Vec<u8>, Vec<u8>)>, Unmodellable> {
        let state = self.lock();
        let synced = state.model.synced_contents(file)?;
        Ok(synced.map(|s| {
            let live = state.model.live_contents(file).unwrap_or_default();
            (s.to_vec(), live.to_vec())
        }))
    }
}

/// A child running under the recorder.
#[derive(Debug)]
pub struct Recorder {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    pid: u32,
    root: PathBuf,
}

/// How long [`Recorder::wait`] and `Drop` wait for a killed child's tracer to reap it
/// before giving up on the thread (it then ends on its own, and the kernel's
/// `PTRACE_O_EXITKILL` covers any tracee left).
const REAP_TIMEOUT: Duration = Duration::from_secs(10);

fn os(what: &'static str) -> impl Fn(nix::errno::Errno) -> SpawnError {
    move |source| SpawnError::Os { what, source }
}

fn cstring(bytes: &[u8], what: &'static str) -> Result<CString, SpawnError> {
    CString::new(bytes).map_err(|_| SpawnError::Nul { what })
}

/// `program` as a path: itself if it has a slash, else the first executable file of that
/// name in `PATH`.
fn find_program(program: &OsStr) -> Result<PathBuf, SpawnError> {
    let not_found = || SpawnError::NotFound {
        program: program.to_os_string(),
    };
    if program.as_bytes().contains(&b'/') {
        return Ok(PathBuf::from(program));
    }
    let path = std::env::var_os("PATH").ok_or_else(not_found)?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .ok_or_else(not_found)
}

/// The strings and pointer arrays of a plan, owned until the child has executed.
struct Owned {
    program: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
    cwd: Option<CString>,
}

impl Owned {
    fn new(spawn: &Spawn, program: &Path) -> Result<Owned, SpawnError> {
        let mut argv = vec![cstring(spawn.program.as_bytes(), "the program")?];
        for arg in &spawn.args {
            argv.push(cstring(arg.as_bytes(), "an argument")?);
        }
        let mut env: Vec<(OsString, OsString)> = std::env::vars_os()
            .filter(|(k, _)| !spawn.env.iter().any(|(key, _)| key == k))
            .collect();
        env.extend(spawn.env.iter().cloned());
        let envp = env
            .iter()
            .map(|(k, v)| {
                let mut kv = k.as_bytes().to_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                cstring(&kv, "the environment")
            })
            .collect::<Result<_, _>>()?;
        let cwd = match &spawn.cwd {
            Some(dir) => Some(cstring(
                dir.as_os_str().as_bytes(),
                "the working directory",
            )?),
            None => None,
        };
        Ok(Owned {
            program: cstring(program.as_os_str().as_bytes(), "the program")?,
            argv,
            envp,
            cwd,
        })
    }
}

fn pointers(strings: &[CString]) -> Vec<*const std::ffi::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// The tracer's options: stop at the filter's calls, follow every process and thread,
/// report `execve`, tell syscall stops apart, kill every tracee if the tracer goes.
fn options() -> Options {
    Options::PTRACE_O_TRACESECCOMP
        | Options::PTRACE_O_TRACEFORK
        | Options::PTRACE_O_TRACEVFORK
        | Options::PTRACE_O_TRACECLONE
        | Options::PTRACE_O_TRACEEXEC
        | Options::PTRACE_O_TRACESYSGOOD
        | Options::PTRACE_O_EXITKILL
}

type Started = Result<(u32, Pipes), SpawnError>;

/// The tracing thread: forks the child, sets the options, reports the start, then traces
/// until no tracee is left.
fn trace_thread(
    spawn: Spawn,
    program: PathBuf,
    root: Root,
    refuse_io_uring: bool,
    shared: Arc<Shared>,
    started: mpsc::Sender<Started>,
) {
    let child = match start(&spawn, &program) {
        Ok(child) => child,
        Err(e) => {
            let _ = started.send(Err(e));
            shared.end();
            return;
        }
    };
    let (pid, pipes, error_pipe) = child;
    shared.add_task(pid);
    let mut tracer = Tracer::new(shared.clone(), root, refuse_io_uring, pid);
    // Run until the child has executed its program (or failed to), then report.
    let exec = tracer.run_until_exec();
    let report = match exec {
        Ok(()) => Ok((pid, pipes)),
        Err(status) => {
            let mut buf = [0u8; 4];
            let n = nix::unistd::read(error_pipe.as_fd(), &mut buf).unwrap_or(0);
            Err(if n == 4 {
                SpawnError::Exec {
                    program,
                    errno: nix::errno::Errno::from_raw(i32::from_ne_bytes(buf)),
                }
            } else {
                SpawnError::NotTraced(status)
            })
        }
    };
    drop(error_pipe);
    let ok = report.is_ok();
    let _ = started.send(report);
    if ok {
        tracer.run();
    } else {
        tracer.kill_all();
        tracer.run();
    }
    shared.end();
}

/// Forks the child and sets the tracer's options at its first stop. Returns its id, the
/// harness's ends of its pipes, and the read end of the exec-error pipe.
fn start(spawn: &Spawn, program: &Path) -> Result<(u32, Pipes, OwnedFd), SpawnError> {
    let owned = Owned::new(spawn, program)?;
    let argv = pointers(&owned.argv);
    let envp = pointers(&owned.envp);
    let cloexec = OFlag::O_CLOEXEC;
    let (stdin_read, stdin_write) = nix::unistd::pipe2(cloexec).map_err(os("pipe"))?;
    let (stdout_read, stdout_write) = nix::unistd::pipe2(cloexec).map_err(os("pipe"))?;
    let stderr = if spawn.pipe_stderr {
        Some(nix::unistd::pipe2(cloexec).map_err(os("pipe"))?)
    } else {
        None
    };
    let (error_read, error_write) = nix::unistd::pipe2(cloexec).map_err(os("pipe"))?;
    let filter = sys::kernel_filter(&filter::program());
    let plan = sys::Plan {
        program: &owned.program,
        argv: &argv,
        envp: &envp,
        cwd: owned.cwd.as_deref(),
        stdin: stdin_read.as_fd(),
        stdout: stdout_write.as_fd(),
        stderr: stderr.as_ref().map(|(_, w)| w.as_fd()),
        error_pipe: error_write.as_fd(),
        parent: std::process::id(),
        filter: &filter,
    };
    let pid = sys::fork_traced(&plan).map_err(os("fork"))?;
    // The child's ends stay with the child only.
    drop((stdin_read, stdout_write, error_write));
    let stderr = stderr.map(|(read, write)| {
        drop(write);
        File::from(read)
    });
    let kill_child = || {
        let _ = kill(pid, Signal::SIGKILL);
        let _ = waitpid(pid, Some(WaitPidFlag::__WALL));
    };
    match waitpid(pid, Some(WaitPidFlag::__WALL)) {
        Ok(WaitStatus::Stopped(_, Signal::SIGSTOP)) => {}
        other => {
            kill_child();
            return Err(SpawnError::NotTraced(format!("first stop: {other:?}")));
        }
    }
    if let Err(e) = ptrace::setoptions(pid, options()) {
        kill_child();
        return Err(SpawnError::Os {
            what: "PTRACE_SETOPTIONS",
            source: e,
        });
    }
    let pipes = Pipes {
        stdin: File::from(stdin_write),
        stdout: File::from(stdout_read),
        stderr,
    };
    Ok((pid.as_raw() as u32, pipes, error_read))
}

impl Recorder {
    /// Starts `spawn` under the recorder, watching `config.watch`. Returns once the child
    /// runs its program (or could not), with the harness's ends of its pipes.
    pub fn spawn(spawn: Spawn, config: Config) -> Result<(Recorder, Pipes), SpawnError> {
        if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
            return Err(SpawnError::Architecture);
        }
        let watch_error = |source| SpawnError::Watch {
            path: config.watch.clone(),
            source,
        };
        let canonical = fs::canonicalize(&config.watch).map_err(watch_error)?;
        let given = std::path::absolute(&config.watch).map_err(watch_error)?;
        let root = Root {
            given: (given != canonical).then_some(given),
            dev: crate::proc::device(&canonical),
            canonical: canonical.clone(),
        };
        let program = find_program(&spawn.program)?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                events: Vec::new(),
                held: 0,
                dropped: 0,
                seq: 0,
                model: Persistence::new(canonical.clone()),
                seen: HashSet::new(),
                armed: Vec::new(),
                next_fault: 0,
                tasks: BTreeSet::new(),
                exit: None,
                ended: false,
            }),
            changed: Condvar::new(),
        });
        let (sender, receiver) = mpsc::channel();
        let thread_shared = shared.clone();
        let refuse = config.refuse_io_uring;
        let thread = std::thread::Builder::new()
            .name("eaof-trace".into())
            .spawn(move || trace_thread(spawn, program, root, refuse, thread_shared, sender))
            .map_err(|e| SpawnError::Os {
                what: "thread",
                source: nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(0)),
            })?;
        match receiver.recv() {
            Ok(Ok((pid, pipes))) => Ok((
                Recorder {
                    shared,
                    thread: Some(thread),
                    pid,
                    root: canonical,
                },
                pipes,
            )),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err(SpawnError::NotTraced("the tracing thread ended".into()))
            }
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The watched directory as the recorder names paths (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `path` (a file under the watched directory, relative to it or absolute as the
    /// harness spelled it) as the recorder names it.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        let lexical = crate::proc::normalize(&self.root, path);
        if lexical.starts_with(&self.root) {
            return lexical;
        }
        match (
            lexical.parent().and_then(|p| fs::canonicalize(p).ok()),
            lexical.file_name(),
        ) {
            (Some(parent), Some(name)) => parent.join(name),
            _ => lexical,
        }
    }

    /// The events recorded since the last drain, and how many were dropped because the
    /// harness did not drain (over [`crate::EVENTS_MAX`] or [`crate::EVENT_BYTES_MAX`]).
    pub fn drain(&self) -> (Vec<Event>, u64) {
        let mut state = self.shared.lock();
        let dropped = std::mem::take(&mut state.dropped);
        state.held = 0;
        (std::mem::take(&mut state.events), dropped)
    }

    /// Arms a fault (see [`Fault`]); it counts calls from now.
    pub fn arm(&self, fault: Fault) -> Result<FaultId, FaultError> {
        if fault.action.writes_only() && fault.matching.kind != CallKind::Write {
            return Err(FaultError::NotAWrite {
                action: fault.action,
                kind: fault.matching.kind,
            });
        }
        let mut state = self.shared.lock();
        let id = FaultId(state.next_fault);
        state.next_fault += 1;
        state.armed.push(Armed::new(id, fault));
        Ok(id)
    }

    /// Disarms every fault not yet fired (a sticky one stops firing).
    pub fn disarm_all(&self) {
        self.shared.lock().armed.clear();
    }

    /// A copy of the persistence model now.
    pub fn model(&self) -> Persistence {
        self.shared.lock().model.clone()
    }

    /// What a crash now can leave at `path` (see [`Persistence::crash_states`]).
    pub fn crash_states(
        &self,
        path: &Path,
    ) -> Result<Vec<crate::persist::PathState>, Unmodellable> {
        let path = self.resolve(path);
        self.shared.lock().model.crash_states(&path)
    }

    /// Forgets the model's state: everything on disk now is durable and not yet seen (after
    /// the harness wrote a crash image into the directory, or between runs). Call it while
    /// the child is idle.
    pub fn checkpoint(&self) {
        let mut state = self.shared.lock();
        state.model = Persistence::new(self.root.clone());
        state.seen.clear();
    }

    /// How the child ended, if it has.
    pub fn exit(&self) -> Option<Exit> {
        self.shared.lock().exit
    }

    /// Waits for the child to end, at most `timeout`; a child still running then is killed
    /// (with everything it started) and reported as [`Exit::TimedOut`].
    pub fn wait(&self, timeout: Duration) -> Exit {
        if let Some(exit) = self.wait_until(Instant::now() + timeout) {
            return exit;
        }
        self.kill();
        self.wait_until(Instant::now() + REAP_TIMEOUT);
        Exit::TimedOut
    }

    fn wait_until(&self, deadline: Instant) -> Option<Exit> {
        let mut state = self.shared.lock();
        loop {
            if let Some(exit) = state.exit {
                return Some(exit);
            }
            if state.ended {
                return None;
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            state = self
                .shared
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Sends `SIGKILL` to the child's process group and to every task traced (a process that
    /// left the group included). No I/O; returns at once.
    pub fn kill(&self) {
        let tasks: Vec<u32> = self.shared.lock().tasks.iter().copied().collect();
        let _ = kill(Pid::from_raw(-(self.pid as i32)), Signal::SIGKILL);
        for tid in tasks {
            let _ = kill(Pid::from_raw(tid as i32), Signal::SIGKILL);
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.kill();
        if let Some(thread) = self.thread.take() {
            // The tracing thread ends once it has reaped its tracees, which SIGKILL ends at
            // once (from any stop); a stuck thread is left to end on its own rather than
            // hang the harness.
            let deadline = Instant::now() + REAP_TIMEOUT;
            while !thread.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            if thread.is_finished() {
                let _ = thread.join();
            }
        }
    }
}
