//! The implementation under test, as a child process speaking the protocol.
//!
//! Guarantees: an answer is waited for at most the timeout; a child that times out, exits,
//! or breaks the framing is killed and reaped (it is ours: killed by its handle), and the
//! next request starts a fresh one, as protobuf's conformance runner does. On Unix the child
//! leads a process group of its own, killed with it, so that what it started (a driver that
//! is a shell script, say) does not outlive it either. The child's
//! stderr is passed through, so a port's diagnostics show. [`Responder::stop`] ends the
//! child (not `Drop`: no process waits in a destructor); a runner that returns early drops
//! the child's stdin, which is the child's cue to exit.

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use serde_json::Value;

use crate::protocol::{read_frame, write_frame};

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum AskError {
    #[error("cannot start the responder: {0}")]
    Spawn(io::Error),
    #[error("cannot send the request (the responder exited?): {0}")]
    Send(io::Error),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("the responder closed its output (exited) without answering")]
    Closed,
    #[error("the answer's framing is broken: {0}")]
    Framing(io::Error),
    #[error("the answer is not a JSON object: {0}")]
    NotJson(String),
}

impl AskError {
    /// Whether the child is gone or out of step after this error (and is then stopped): all
    /// but an answer that is not a JSON object, which leaves the framing whole.
    pub fn ends_child(&self) -> bool {
        !matches!(self, AskError::NotJson(_))
    }
}

struct Running {
    child: Child,
    stdin: ChildStdin,
    answers: Answers,
}

/// Starts the command on first use and again after a failure.
pub struct Responder {
    command: Vec<OsString>,
    timeout: Duration,
    running: Option<Running>,
    /// Children started so far.
    pub starts: u64,
}

impl Responder {
    /// A responder running `command` (program then arguments).
    pub fn new(command: Vec<OsString>, timeout: Duration) -> Self {
        Self {
            command,
            timeout,
            running: None,
            starts: 0,
        }
    }

    /// Starts the child now, so that a command that cannot start is reported once, up front.
    pub fn start(&mut self) -> Result<(), AskError> {
        if self.running.is_none() {
            self.running = Some(self.spawn().map_err(AskError::Spawn)?);
            self.starts += 1;
        }
        Ok(())
    }

    fn spawn(&self) -> io::Result<Running> {
        let (program, args) = self
            .command
            .split_first()
            .ok_or_else(|| io::Error::other("no command given"))?;
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.spawn()?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| io::Error::other("no stdin"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no stdout"))?;
        Ok(Running {
            child,
            stdin,
            answers: read_answers(stdout),
        })
    }

    /// Sends one request and waits for its answer.
    pub fn ask(&mut self, request: &Value) -> Result<Value, AskError> {
        self.start()?;
        let result = self.exchange(request);
        if result.as_ref().is_err_and(AskError::ends_child) {
            self.stop();
        }
        result
    }

    fn exchange(&mut self, request: &Value) -> Result<Value, AskError> {
        let running = self.running.as_mut().ok_or(AskError::Closed)?;
        exchange(&mut running.stdin, &running.answers, self.timeout, request)
    }

    /// The process id of the running child, if one runs.
    pub fn pid(&self) -> Option<u32> {
        self.running.as_ref().map(|r| r.child.id())
    }

    /// Ends the child: closes its input (its cue to exit), then kills it if it lingers, and
    /// what it started.
    pub fn stop(&mut self) {
        if let Some(mut running) = self.running.take() {
            drop(running.stdin);
            let mut exited = false;
            for _ in 0..50 {
                if matches!(running.child.try_wait(), Ok(Some(_))) {
                    exited = true;
                    break;
                }
                thread::sleep(Duration::from_millis(10));
            }
            kill_group(&running.child);
            if !exited {
                let _ = running.child.kill();
                let _ = running.child.wait();
            }
        }
    }
}

/// The frames a child writes, as a reader thread receives them (so that waiting for an
/// answer can time out); the thread ends when the child's output closes.
pub type Answers = Receiver<io::Result<Option<Vec<u8>>>>;

/// Starts the reader thread of a child's output `stdout`.
pub fn read_answers(mut stdout: impl Read + Send + 'static) -> Answers {
    let (send, answers) = mpsc::channel();
    thread::spawn(move || loop {
        let frame = read_frame(&mut stdout);
        let stop = !matches!(frame, Ok(Some(_)));
        if send.send(frame).is_err() || stop {
            break;
        }
    });
    answers
}

/// Sends `request` to a child's input and waits at most `timeout` for its answer.
pub fn exchange(
    stdin: &mut impl Write,
    answers: &Answers,
    timeout: Duration,
    request: &Value,
) -> Result<Value, AskError> {
    write_frame(stdin, request).map_err(AskError::Send)?;
    let frame = match answers.recv_timeout(timeout) {
        Ok(Ok(Some(frame))) => frame,
        Ok(Ok(None)) | Err(RecvTimeoutError::Disconnected) => return Err(AskError::Closed),
        Ok(Err(e)) => return Err(AskError::Framing(e)),
        Err(RecvTimeoutError::Timeout) => return Err(AskError::Timeout(timeout)),
    };
    match serde_json::from_slice::<Value>(&frame) {
        Ok(answer @ Value::Object(_)) => Ok(answer),
        Ok(other) => Err(AskError::NotJson(format!("got {other}"))),
        Err(e) => Err(AskError::NotJson(e.to_string())),
    }
}

/// Kills the process group `child` leads (a group of its own: see `spawn`); a group already
/// gone is no error.
fn kill_group(child: &Child) {
    #[cfg(unix)]
    {
        use rustix::process::{kill_process_group, Pid, Signal};
        let _ = kill_process_group(Pid::from_child(child), Signal::KILL);
    }
    #[cfg(not(unix))]
    let _ = child;
}
