//! How the harness talks to a driver ([`crate::process`]): a plain child process (the
//! conformance runner's [`Responder`]), or one run under the system-call recorder
//! (`eaof-trace`), which then also gives the durability account (what the child's own
//! system calls make durable) and injects faults into those calls.
//!
//! Guarantees:
//! - the same framing and the same failure values for both: a child that exits, breaks the
//!   framing or does not answer within the timeout is killed (with everything it started)
//!   and the next request starts a fresh one; only a child that cannot be started is
//!   [`AskError::Spawn`];
//! - under the recorder, a fresh child starts a fresh persistence model (everything on disk
//!   durable, as after a crash), and every recorded event is drained after each answer, so
//!   the recorder's buffer never fills; the model itself sees every event;
//! - [`RecordedChild::changes`] counts the calls a [`CallKind::Change`] fault counts, on the
//!   same calls, so that "the n-th storage operation fails" names the same call in a dry run
//!   and in the run with the fault (for a child whose calls are deterministic).

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use eaof_conformance::child::{exchange, read_answers, Answers, AskError, Responder};
use eaof_trace::{CallKind, Config, Event, Fault, PathState, Recorder, Spawn, What};
use serde_json::Value;

/// Whether this machine can run a child under the recorder at all (Linux on x86_64; ptrace
/// may still be refused at run time, which [`RecordedChild::start`] reports).
pub const RECORDER_BUILT: bool = cfg!(all(target_os = "linux", target_arch = "x86_64"));

/// The way to a driver.
pub enum Channel {
    /// A child process as the conformance runner starts it.
    Plain(Responder),
    /// A child process under the recorder.
    Recorded(RecordedChild),
}

impl Channel {
    /// Sends one request and waits for its answer.
    pub fn ask(&mut self, request: &Value) -> Result<Value, AskError> {
        match self {
            Channel::Plain(r) => r.ask(request),
            Channel::Recorded(r) => r.ask(request),
        }
    }

    /// Ends the child (closing its input, then killing it if it lingers).
    pub fn stop(&mut self) {
        match self {
            Channel::Plain(r) => r.stop(),
            Channel::Recorded(r) => r.stop(),
        }
    }

    /// Children started so far.
    pub fn starts(&self) -> u64 {
        match self {
            Channel::Plain(r) => r.starts,
            Channel::Recorded(r) => r.starts,
        }
    }
}

/// A running child and the harness's ends of its pipes.
struct Running {
    recorder: Recorder,
    stdin: File,
    answers: Answers,
}

/// A driver run under the recorder, watching one test directory.
pub struct RecordedChild {
    command: Vec<OsString>,
    timeout: Duration,
    watch: PathBuf,
    running: Option<Running>,
    /// Children started so far.
    pub starts: u64,
    changes: u64,
}

impl RecordedChild {
    /// A child running `command` under the recorder, watching `watch`.
    pub fn new(command: Vec<OsString>, timeout: Duration, watch: PathBuf) -> Self {
        RecordedChild {
            command,
            timeout,
            watch,
            running: None,
            starts: 0,
            changes: 0,
        }
    }

    /// Starts the child now if none runs.
    pub fn start(&mut self) -> Result<(), AskError> {
        if self.running.is_some() {
            return Ok(());
        }
        let (program, args) = self
            .command
            .split_first()
            .ok_or_else(|| AskError::Spawn(io::Error::other("no command given")))?;
        let spawn = Spawn::new(program.clone(), args.iter().cloned());
        let (recorder, pipes) = Recorder::spawn(spawn, Config::new(&self.watch))
            .map_err(|e| AskError::Spawn(io::Error::other(format!("under the recorder: {e}"))))?;
        self.running = Some(Running {
            recorder,
            stdin: pipes.stdin,
            answers: read_answers(pipes.stdout),
        });
        self.starts += 1;
        Ok(())
    }

    /// Sends one request and waits for its answer (see the module documentation).
    pub fn ask(&mut self, request: &Value) -> Result<Value, AskError> {
        self.start()?;
        let answer = self.exchange(request);
        self.drain();
        if answer.as_ref().is_err_and(AskError::ends_child) {
            self.stop();
        }
        answer
    }

    fn exchange(&mut self, request: &Value) -> Result<Value, AskError> {
        let running = self.running.as_mut().ok_or(AskError::Closed)?;
        exchange(&mut running.stdin, &running.answers, self.timeout, request)
    }

    /// Empties the recorder's buffer, counting the storage operations in it.
    fn drain(&mut self) {
        let Some(running) = &self.running else {
            return;
        };
        let (events, _dropped) = running.recorder.drain();
        self.changes += events.iter().filter(|e| is_change(e)).count() as u64;
    }

    /// Ends the child: closes its input (its cue to exit), waits a little, then kills it and
    /// everything it started.
    pub fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            drop(running.stdin);
            running.recorder.wait(STOP_GRACE);
            // Dropping the recorder kills whatever is left and reaps it.
            drop(running.recorder);
        }
    }

    /// Storage operations (calls of [`CallKind::Change`] kinds in the watched directory)
    /// the children made so far.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// The watched directory.
    pub fn watch(&self) -> &Path {
        &self.watch
    }

    /// Arms `fault` in the running child (starting one if none runs).
    pub fn arm(&mut self, fault: Fault) -> Result<(), String> {
        self.start().map_err(|e| e.to_string())?;
        let running = self.running.as_ref().ok_or("no child runs")?;
        running
            .recorder
            .arm(fault)
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// Disarms every fault not yet fired.
    pub fn disarm(&self) {
        if let Some(running) = &self.running {
            running.recorder.disarm_all();
        }
    }

    /// The harness changed the directory while the child was idle (a crash image written):
    /// everything on disk is durable now.
    pub fn checkpoint(&self) {
        if let Some(running) = &self.running {
            running.recorder.checkpoint();
        }
    }

    /// `path` as the recorder names it (canonical), if a child runs.
    pub fn resolve(&self, path: &Path) -> Option<PathBuf> {
        self.running.as_ref().map(|r| r.recorder.resolve(path))
    }

    /// What a crash now can leave at `path`, by the persistence model of the running child
    /// (`None`: no child runs, so nothing was done since the disk was last all durable).
    pub fn crash_states(
        &self,
        path: &Path,
    ) -> Option<Result<Vec<PathState>, eaof_trace::Unmodellable>> {
        let running = self.running.as_ref()?;
        Some(running.recorder.crash_states(path))
    }
}

/// How long a child whose input was closed may take to exit before it is killed.
const STOP_GRACE: Duration = Duration::from_millis(500);

/// Whether `event` is a call a [`CallKind::Change`] fault counts.
fn is_change(event: &Event) -> bool {
    match &event.what {
        What::Call(call) => CallKind::of(call.syscall).is_some_and(CallKind::changes),
        _ => false,
    }
}
