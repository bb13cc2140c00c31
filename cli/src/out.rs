//! Where a command's report goes: stdout, buffered, and what a failure to write it means.
//!
//! Guarantees: a report is written through one buffer and flushed before the command ends
//! (and before `repair` asks or changes anything); a write error ends the command with a
//! message on stderr naming stdout and exit code 4, except a closed pipe (EPIPE, `| head`),
//! which ends it quietly with 141, as a command killed by SIGPIPE ends. Nothing here
//! ignores a write error.

use std::io::{self, BufWriter, StdoutLock, Write};
use std::process::ExitCode;

use crate::exit::Exit;

/// Bytes buffered before a write to stdout.
pub const OUT_BUFFER_LEN: usize = 1 << 16;

/// The report's writer.
pub type Out = BufWriter<StdoutLock<'static>>;

/// A buffered writer on stdout.
pub fn stdout() -> Out {
    BufWriter::with_capacity(OUT_BUFFER_LEN, io::stdout().lock())
}

/// The exit code of `command`, whose report went to `out`: `result` is what it found, or
/// the error that stopped it writing. Flushes `out`.
pub fn finish(command: &str, mut out: Out, result: io::Result<Exit>) -> ExitCode {
    let result = result.and_then(|exit| out.flush().map(|()| exit));
    match result {
        Ok(exit) => exit.into(),
        Err(e) => {
            // What is still buffered cannot be written either; do not try again on drop.
            let (_, _) = out.into_parts();
            failed(command, &e).into()
        }
    }
}

/// The exit code for a failure to write the report, with its message on stderr.
pub fn failed(command: &str, error: &io::Error) -> Exit {
    if error.kind() == io::ErrorKind::BrokenPipe {
        Exit::BrokenPipe
    } else {
        crate::note!("eaof {command}: stdout: cannot write the report: {error}");
        Exit::Unreadable
    }
}
