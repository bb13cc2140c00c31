//! A target behind a pipe: any implementation of the format, in any language, run as a child
//! process that speaks the driver protocol ([`crate::driver`], docs/DRIVER.md), checked by
//! the same engines as the adapters compiled in.
//!
//! The child is started with the conformance runner's machinery
//! (`eaof_conformance::child::Responder`: length-prefixed JSON, an answer awaited at most
//! the timeout). The harness keeps the log in a temporary directory of its own and hands the
//! child its path; it writes crash images itself.
//!
//! Guarantees:
//! - the child's death (an exit, a signal, a broken frame) and a hang (no answer within the
//!   timeout: the child is then killed) are values: the call fails with
//!   [`ErrorKind::Failed`] saying so, and the next request starts a fresh child; only a
//!   child that cannot be started at all is a harness failure;
//! - no child outlives its target: [`ProcessTarget::stop`], or dropping the target, closes
//!   the child's input and kills it (and its process group) if it lingers;
//! - durability is one replaceable part: under the system-call recorder (the default where
//!   it is built: Linux x86_64; [`ProcessSpec::record`]) the account is the recorder's, from
//!   the system calls the child made ([`crate::channel`], [`crate::recorded`]), and faults
//!   are injected into those calls; without it ([`crate::account`]), a driver that reports
//!   its file-system calls gets the trace account, any other the harness's own;
//! - a crash state with no file at the log's path ([`FileState::absent`]) is recovered from
//!   no file: the harness removes it;
//! - a crash into an image and the recovery after it is one round trip (a batch of read,
//!   open, write, sync, read and crash), so a child is asked once a crash state.

use std::ffi::OsString;
use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use eaof::AofRecord;
use eaof_conformance::child::{AskError, Responder};
use eaof_conformance::json::record_from_json;
use eaof_trace::{Action, CallKind, Errno, Fault as RecorderFault, Match};
use serde_json::Value;
use tempfile::TempDir;

use crate::account::{Account, TraceAccount};
use crate::channel::{Channel, RecordedChild, RECORDER_BUILT};
use crate::driver::{Hello, Request, PROTOCOL_VERSION};
use crate::files::{self, HarnessAccount};
use crate::recorded;
use crate::target::{
    Capabilities, ErrorKind, Fault, FileState, Keying, Op, ReadBack, ReadEnd, Recovered, Target,
    TargetError, Version,
};
use crate::trace::FsOp;

/// The account of a child run under the recorder, for reports.
pub const RECORDED_ACCOUNT: &str = "the recorder's trace of the child's system calls, on its \
     persistence model (faults injected into those calls)";
pub(crate) const TRACE_ACCOUNT: &str =
    "a trace of file-system calls the driver reports, on the recorder's persistence model";
pub(crate) const HARNESS_ACCOUNT: &str =
    "the harness's account (durable: what the last acknowledged sync covered)";

/// How to start a driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSpec {
    /// The program, then its arguments.
    pub command: Vec<OsString>,
    /// How long an answer is awaited before the child is killed.
    pub timeout: Duration,
    /// Whether the child runs under the system-call recorder, which then keeps the
    /// durability account and injects faults (on by default where it is built).
    pub record: bool,
    /// Where the test directories are made (`None`: [`files::temp_dir`]'s choice).
    pub dir: Option<PathBuf>,
}

/// The timeout of an answer unless told otherwise.
pub const ANSWER_TIMEOUT_DEFAULT: Duration = Duration::from_secs(10);

impl ProcessSpec {
    /// `command`, with the default timeout.
    pub fn new(command: Vec<OsString>) -> Self {
        ProcessSpec {
            command,
            timeout: ANSWER_TIMEOUT_DEFAULT,
            record: RECORDER_BUILT,
            dir: None,
        }
    }

    /// The command as one line, for reports.
    pub fn display(&self) -> String {
        self.command
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The account a target started from this spec keeps, for a driver that greets with
    /// `hello` (see [`ProcessTarget::account`]).
    pub fn account(&self, hello: &Hello) -> &'static str {
        match (self.record, hello.trace) {
            (true, _) => RECORDED_ACCOUNT,
            (false, true) => TRACE_ACCOUNT,
            (false, false) => HARNESS_ACCOUNT,
        }
    }

    /// Starts the driver, asks who it is, and stops it.
    pub fn greet(&self) -> Result<Hello, TargetError> {
        let mut responder = Responder::new(self.command.clone(), self.timeout);
        let hello = greet(&mut responder, &self.display());
        responder.stop();
        hello
    }
}

fn greet(responder: &mut Responder, command: &str) -> Result<Hello, TargetError> {
    let request = Request::Hello
        .to_json()
        .map_err(|e| TargetError::harness(Op::Create, e))?;
    hello_of(responder.ask(&request), command)
}

/// The greeting in `answer`, checked.
fn hello_of(answer: Result<Value, AskError>, command: &str) -> Result<Hello, TargetError> {
    let answer = answer.map_err(|e| match e {
        AskError::Spawn(e) => TargetError::harness(
            Op::Create,
            format!("cannot start the driver `{command}`: {e}"),
        ),
        e => TargetError::new(
            Op::Create,
            ErrorKind::Failed,
            format!("the driver `{command}` did not greet: {e}"),
        ),
    })?;
    let hello = Hello::from_json(&answer).map_err(|e| {
        TargetError::new(
            Op::Create,
            ErrorKind::Failed,
            format!("the driver `{command}` answered hello with {answer}: {e}"),
        )
    })?;
    if hello.protocol > PROTOCOL_VERSION {
        return Err(TargetError::unsupported(
            Op::Create,
            &format!(
                "the driver speaks protocol version {}, this checker at most {PROTOCOL_VERSION}",
                hello.protocol
            ),
        ));
    }
    Ok(hello)
}

/// An implementation behind the driver protocol (see the module documentation).
pub struct ProcessTarget {
    command: String,
    hello: Hello,
    version: Version,
    keying: Keying,
    // Kept for its `Drop`, which removes the directory.
    _dir: TempDir,
    path: PathBuf,
    channel: Channel,
    /// The account of a child not run under the recorder (`None`: the recorder's).
    account: Option<Box<dyn Account>>,
    writer_open: bool,
    ops: Option<u64>,
}

impl ProcessTarget {
    /// Starts the driver `spec` names and checks it creates `version` files.
    pub fn start(spec: &ProcessSpec, version: Version) -> Result<Self, TargetError> {
        let command = spec.display();
        let dir = match &spec.dir {
            Some(dir) => files::temp_dir_in(dir),
            None => files::temp_dir(),
        }
        .map_err(|e| TargetError::harness(Op::Create, e))?;
        let path = dir.path().join("shard-0.aof");
        let mut channel = match spec.record {
            true => Channel::Recorded(RecordedChild::new(
                spec.command.clone(),
                spec.timeout,
                dir.path().to_path_buf(),
            )),
            false => Channel::Plain(Responder::new(spec.command.clone(), spec.timeout)),
        };
        let request = Request::Hello
            .to_json()
            .map_err(|e| TargetError::harness(Op::Create, e))?;
        let hello = hello_of(channel.ask(&request), &command).and_then(|hello| {
            if hello.versions.contains(&version) {
                return Ok(hello);
            }
            Err(TargetError::unsupported(
                Op::Create,
                &format!("the driver `{command}` does not write {version} files"),
            ))
        });
        let hello = match hello {
            Ok(hello) => hello,
            Err(e) => {
                channel.stop();
                return Err(e);
            }
        };
        let account: Option<Box<dyn Account>> = match (spec.record, hello.trace) {
            (true, _) => None,
            (false, true) => Some(Box::new(TraceAccount::new(path.clone()))),
            (false, false) => Some(Box::new(HarnessAccount::new(path.clone()))),
        };
        Ok(ProcessTarget {
            command,
            channel,
            hello,
            version,
            keying: Keying::of(version),
            _dir: dir,
            path,
            account,
            writer_open: false,
            ops: None,
        })
    }

    /// What the driver said of itself.
    pub fn hello(&self) -> &Hello {
        &self.hello
    }

    /// How durability is accounted for.
    pub fn account(&self) -> &'static str {
        match &self.account {
            Some(account) => account.describe(),
            None => RECORDED_ACCOUNT,
        }
    }

    /// Whether the child runs under the system-call recorder.
    pub fn recorded(&self) -> bool {
        matches!(self.channel, Channel::Recorded(_))
    }

    /// Children started so far (one, unless a child died or hung and was replaced).
    pub fn starts(&self) -> u64 {
        self.channel.starts()
    }

    /// Ends the child (closing its input, then killing it if it lingers).
    pub fn stop(&mut self) {
        self.channel.stop();
        self.writer_open = false;
    }

    fn account_lost(&mut self) {
        if let Some(account) = &mut self.account {
            account.lost();
        }
    }

    /// The harness changed the file while the child was idle (removed it, or wrote a crash
    /// image): nothing earlier is pending, faults armed for the run are disarmed.
    fn replaced(&mut self, image: Option<&[u8]>) {
        match (&mut self.account, &self.channel) {
            (Some(account), _) => match image {
                Some(image) => account.loaded(image),
                None => account.removed(),
            },
            (None, Channel::Recorded(child)) => {
                child.disarm();
                child.checkpoint();
            }
            (None, Channel::Plain(_)) => {}
        }
    }

    /// Sends `request` and waits for its answer; a child that died or hung is a failed call.
    fn ask(&mut self, op: Op, request: &Request) -> Result<Value, TargetError> {
        let json = request
            .to_json()
            .map_err(|e| TargetError::harness(op, format!("a request the format refuses: {e}")))?;
        match self.channel.ask(&json) {
            Ok(answer) => Ok(answer),
            Err(AskError::Spawn(e)) => Err(TargetError::harness(
                op,
                format!("cannot start the driver `{}`: {e}", self.command),
            )),
            Err(e) => {
                // The child is gone (killed if it hung); a fresh one starts on the next
                // request, with no writer open.
                self.writer_open = false;
                self.account_lost();
                Err(TargetError::new(
                    op,
                    ErrorKind::Failed,
                    format!("the driver died or hung: {e}"),
                ))
            }
        }
    }

    /// Judges one answer: its trace goes to the account, its operation count is kept, and
    /// it is `Ok` (the answer) or the error it holds.
    fn judge(&mut self, op: Op, answer: Value) -> Result<Value, TargetError> {
        if let Some(ops) = answer.get("ops").and_then(Value::as_u64) {
            self.ops = Some(ops);
        }
        let ok = answer.get("ok") == Some(&Value::Bool(true));
        self.account_call(op, ok, &answer)?;
        if ok {
            return Ok(answer);
        }
        let text = |key: &str| answer.get(key).and_then(Value::as_str).map(str::to_owned);
        if let Some(message) = text("error") {
            let poisoned = answer.get("poisoned") == Some(&Value::Bool(true));
            let kind = match poisoned {
                true => ErrorKind::Poisoned,
                false => ErrorKind::Failed,
            };
            return Err(TargetError::new(op, kind, message));
        }
        if let Some(why) = text("unsupported") {
            return Err(TargetError::unsupported(op, &why));
        }
        Err(TargetError::new(
            op,
            ErrorKind::Failed,
            format!("the driver's answer is neither ok, an error nor unsupported: {answer}"),
        ))
    }

    /// Gives the account what one answer says the driver did.
    fn account_call(&mut self, op: Op, ok: bool, answer: &Value) -> Result<(), TargetError> {
        let Some(account) = &mut self.account else {
            return Ok(());
        };
        let trace = match answer.get("trace") {
            None => Vec::new(),
            Some(trace) => match FsOp::list_from_json(trace) {
                Ok(trace) => trace,
                Err(e) => {
                    account.lost();
                    return Err(TargetError::new(
                        op,
                        ErrorKind::Failed,
                        format!("the driver's trace is malformed: {e}"),
                    ));
                }
            },
        };
        if account.needs_trace() && answer.get("trace").is_none() {
            account.lost();
            return Err(TargetError::new(
                op,
                ErrorKind::Failed,
                "the driver keeps a trace, but this answer has none",
            ));
        }
        if let Err(e) = account.called(op, ok, &trace) {
            account.lost();
            return Err(TargetError::new(op, ErrorKind::Failed, e.to_string()));
        }
        Ok(())
    }

    fn call(&mut self, op: Op, request: Request) -> Result<Value, TargetError> {
        let answer = self.ask(op, &request)?;
        self.judge(op, answer)
    }

    fn open_request(&self, keying: Keying) -> Request {
        Request::Open {
            path: self.path.clone(),
            key: keying.key_bytes(),
        }
    }

    fn read_request(&self) -> Request {
        Request::Read {
            path: self.path.clone(),
            key: self.keying.key_bytes(),
        }
    }

    /// What a `read` answer says was read.
    fn read_back_of(&self, answer: &Value) -> Result<ReadBack, TargetError> {
        let malformed = |what: String| {
            TargetError::new(
                Op::ReadBack,
                ErrorKind::Failed,
                format!("the driver's read answer is malformed: {what}"),
            )
        };
        let records = answer
            .get("records")
            .and_then(Value::as_array)
            .ok_or_else(|| malformed("`records` is missing or not an array".into()))?
            .iter()
            .enumerate()
            .map(|(i, r)| record_from_json(r).map_err(|e| malformed(format!("record {i}: {e}"))))
            .collect::<Result<Vec<AofRecord>, _>>()?;
        let end = match answer.get("end") {
            Some(Value::String(s)) if s == "clean" => ReadEnd::Clean,
            Some(Value::Object(o)) => match o.get("error").and_then(Value::as_str) {
                Some(e) => ReadEnd::Error(e.to_owned()),
                None => return Err(malformed("`end` has no `error` text".into())),
            },
            _ => return Err(malformed("`end` is neither \"clean\" nor an error".into())),
        };
        Ok(ReadBack {
            records,
            end,
            verdict: None,
        })
    }

    /// Crashes the writer (if one is open), as a killed process: nothing more may reach the
    /// file, which the harness then replaces.
    fn crash_writer(&mut self) -> Result<(), TargetError> {
        if self.writer_open {
            self.writer_open = false;
            // A child that dies here died anyway: the file is replaced all the same.
            match self.call(Op::Load, Request::Crash) {
                Err(e) if e.kind == ErrorKind::Harness => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }
}

/// A read that failed (the driver refused, died, or answered nonsense) as what a recovery
/// makes of it: no record, an error. Only the harness's own failure stays an error.
fn read_or_error(read: Result<ReadBack, TargetError>) -> Result<ReadBack, TargetError> {
    match read {
        Err(e) if e.kind != ErrorKind::Harness => Ok(ReadBack {
            records: Vec::new(),
            end: ReadEnd::Error(format!("the read failed: {e}")),
            verdict: None,
        }),
        read => read,
    }
}

impl Drop for ProcessTarget {
    /// Ends the child: no child process outlives its target. (Waiting for a process to exit
    /// is the one thing done in a destructor here; it writes nothing.)
    fn drop(&mut self) {
        self.channel.stop();
    }
}

impl Target for ProcessTarget {
    fn name(&self) -> String {
        format!(
            "{} {} (driver `{}`)",
            self.hello.name, self.version, self.command
        )
    }

    fn version(&self) -> Version {
        self.version
    }

    fn deterministic(&self) -> bool {
        self.hello.deterministic
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            truncate: self.hello.truncate,
            keys: self.hello.keys,
        }
    }

    fn create(&mut self) -> Result<(), TargetError> {
        self.crash_writer()?;
        files::remove(&self.path).map_err(|e| TargetError::harness(Op::Create, e))?;
        self.replaced(None);
        self.keying = Keying::of(self.version);
        let request = self.open_request(self.keying);
        self.call(Op::Create, request)?;
        self.writer_open = true;
        Ok(())
    }

    fn write(&mut self, record: &AofRecord) -> Result<(), TargetError> {
        let request = Request::Write {
            record: record.clone(),
        };
        self.call(Op::Write, request).map(drop)
    }

    fn flush(&mut self) -> Result<(), TargetError> {
        self.call(Op::Flush, Request::Flush).map(drop)
    }

    fn sync(&mut self) -> Result<(), TargetError> {
        self.call(Op::Sync, Request::Sync).map(drop)
    }

    fn truncate(&mut self) -> Result<(), TargetError> {
        self.call(Op::Truncate, Request::Truncate).map(drop)
    }

    fn close(&mut self) -> Result<(), TargetError> {
        if !self.writer_open {
            return Ok(());
        }
        self.writer_open = false;
        self.call(Op::Close, Request::Close).map(drop)
    }

    fn file(&self) -> Result<FileState, TargetError> {
        let failed = |e: String| TargetError::new(Op::File, ErrorKind::Failed, e);
        match (&self.account, &self.channel) {
            (Some(account), _) => account.state().map_err(|e| failed(e.to_string())),
            (None, Channel::Recorded(child)) => {
                let on_disk = files::read_present(&self.path).map_err(|e| failed(e.to_string()))?;
                let states = child
                    .resolve(&self.path)
                    .and_then(|path| child.crash_states(&path));
                Ok(match states {
                    Some(states) => recorded::state_at(states, on_disk.as_deref()),
                    // No child runs: nothing was done since the disk was all durable.
                    None => recorded::state_at(Ok(Vec::new()), on_disk.as_deref()),
                })
            }
            (None, Channel::Plain(_)) => Err(TargetError::harness(
                Op::File,
                "a plain child without an account",
            )),
        }
    }

    fn load(&mut self, image: &[u8]) -> Result<(), TargetError> {
        self.crash_writer()?;
        fs::write(&self.path, image).map_err(|e| TargetError::harness(Op::Load, e))?;
        self.replaced(Some(image));
        Ok(())
    }

    fn keying(&self) -> Keying {
        self.keying
    }

    fn reopen_with(&mut self, keying: Keying) -> Result<(), TargetError> {
        // An open request drops any writer the driver holds, whatever its answer.
        self.writer_open = false;
        let request = self.open_request(keying);
        self.call(Op::Reopen, request)?;
        self.writer_open = true;
        self.keying = keying;
        Ok(())
    }

    fn read_back(&mut self) -> Result<ReadBack, TargetError> {
        let request = self.read_request();
        let read = self
            .call(Op::ReadBack, request)
            .and_then(|answer| self.read_back_of(&answer));
        read_or_error(read)
    }

    fn operations(&self) -> Option<u64> {
        if let Channel::Recorded(child) = &self.channel {
            return Some(child.changes());
        }
        // Before the first answer that counts them, none were served.
        self.hello.inject.then(|| self.ops.unwrap_or(0))
    }

    fn system_faults(&self) -> bool {
        matches!(self.channel, Channel::Recorded(_))
    }

    fn inject(&mut self, fault: Fault) -> Result<(), TargetError> {
        if let Channel::Recorded(child) = &mut self.channel {
            return child
                .arm(recorder_fault(fault))
                .map_err(|e| TargetError::harness(Op::Inject, e));
        }
        if fault.is_system() {
            return Err(TargetError::unsupported(
                Op::Inject,
                &format!("a driver not run under the recorder injects no {fault}"),
            ));
        }
        if !self.hello.inject {
            return Err(TargetError::unsupported(
                Op::Inject,
                "the driver injects no faults (its greeting says `inject: false`)",
            ));
        }
        self.call(Op::Inject, Request::Inject { fault }).map(drop)
    }

    fn recover_image(
        &mut self,
        image: &[u8],
        marker: &AofRecord,
    ) -> Result<Recovered, TargetError> {
        self.load(image)?;
        self.recover(marker)
    }

    fn recover_absent(&mut self, marker: &AofRecord) -> Result<Recovered, TargetError> {
        self.crash_writer()?;
        files::remove(&self.path).map_err(|e| TargetError::harness(Op::Load, e))?;
        self.replaced(None);
        self.recover(marker)
    }
}

/// The recorder's fault for one of the engines' faults: a failed storage operation is any
/// call that changes or syncs a file or directory in the test directory failing with EIO
/// (an fsync's unsynced data then gone, as the simulated disk does); a full disk is the
/// recorder's full disk, with ENOSPC (writes succeed while they fit, the one crossing the
/// limit writes what fits, every later one fails).
fn recorder_fault(fault: Fault) -> RecorderFault {
    match fault {
        Fault::FailOpAt { after } => RecorderFault::fail(CallKind::Change, after, Errno::EIO),
        Fault::FailWriteAfter { bytes } => full_after(bytes, Errno::ENOSPC),
        Fault::TooBigAfter { bytes } => full_after(bytes, Errno::EFBIG),
        Fault::InterruptAt { after } => RecorderFault::fail(CallKind::Change, after, Errno::EINTR),
        Fault::ShortWriteAt { after } => RecorderFault::write(after, Action::Short { bytes: 1 }),
    }
}

/// The recorder's full disk (or file at its size limit) after `bytes` more bytes written to
/// the test directory, failing with `errno` from then on.
fn full_after(bytes: u64, errno: Errno) -> RecorderFault {
    RecorderFault {
        matching: Match {
            kind: CallKind::Write,
            path: None,
        },
        after: 0,
        action: Action::FullAfter { bytes, errno },
        sticky: true,
    }
}

impl ProcessTarget {
    /// The recovery after a crash whose state the harness has just put on disk: one batch
    /// (see the module documentation).
    fn recover(&mut self, marker: &AofRecord) -> Result<Recovered, TargetError> {
        let calls = [
            (Op::ReadBack, self.read_request()),
            (Op::Reopen, self.open_request(self.keying)),
            (
                Op::Write,
                Request::Write {
                    record: marker.clone(),
                },
            ),
            (Op::Sync, Request::Sync),
            (Op::ReadBack, self.read_request()),
            (Op::Load, Request::Crash),
        ];
        let batch = Request::Batch {
            requests: calls.iter().map(|(_, r)| r.clone()).collect(),
        };
        let answer = self.ask(Op::Load, &batch);
        self.writer_open = false;
        let answers = match answer {
            Ok(answer) => match answer.get("answers").and_then(Value::as_array) {
                Some(answers) if answers.len() == calls.len() => answers.clone(),
                _ => {
                    return Err(TargetError::new(
                        Op::Load,
                        ErrorKind::Failed,
                        format!("the driver's batch answer is malformed: {answer}"),
                    ))
                }
            },
            // The child died or hung inside the recovery: the read failed.
            Err(e) if e.kind != ErrorKind::Harness => {
                return Ok(Recovered {
                    read: ReadBack {
                        records: Vec::new(),
                        end: ReadEnd::Error(e.message.clone()),
                        verdict: None,
                    },
                    reopen: Err(e),
                    after: None,
                })
            }
            Err(e) => return Err(e),
        };
        let judged: Vec<Result<Value, TargetError>> = calls
            .iter()
            .zip(answers)
            .map(|((op, _), answer)| self.judge(*op, answer))
            .collect();
        let [read, reopen, write, sync, after, _crash]: [Result<Value, TargetError>; 6] =
            judged.try_into().map_err(|_| {
                TargetError::harness(Op::Load, "a batch of six answers is not six answers")
            })?;
        let read = read.and_then(|a| self.read_back_of(&a));
        let reopen = reopen.map(drop);
        let appended = write.and(sync).map(drop);
        let read = read_or_error(read)?;
        let after = match (&reopen, appended) {
            (Err(_), _) => None,
            (Ok(()), Err(e)) => Some(ReadBack {
                records: Vec::new(),
                end: ReadEnd::Error(format!("appending the marker failed: {e}")),
                verdict: None,
            }),
            (Ok(()), Ok(())) => Some(read_or_error(after.and_then(|a| self.read_back_of(&a)))?),
        };
        Ok(Recovered {
            read,
            reopen,
            after,
        })
    }
}
