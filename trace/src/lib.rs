//! eaof-trace: runs a program as a child process and records every file-system call it makes
//! in a test directory, injects faults at those calls, and computes from the trace what a
//! crash could leave on disk.
//!
//! See `docs/RECORDER.md` for the full account; in short:
//!
//! # Mechanism: ptrace with a seccomp-BPF filter
//!
//! The child installs a seccomp filter ([`filter`]) that returns `SECCOMP_RET_TRACE` for the
//! file-system calls of interest and `SECCOMP_RET_ALLOW` for everything else, so only those
//! calls stop the child; a thread of the recorder's own ([`tracer`]) is its ptrace tracer.
//! At each stop it decodes the call, and, when it concerns the watched directory, lets it run
//! to its exit stop to record the result and the bytes written (read from the child's memory
//! with `process_vm_readv`), or changes it (a fault).
//!
//! Why this and not an `LD_PRELOAD` interposer: it sees the kernel's calls whatever made them
//! (Go's raw system calls, statically linked programs, Node's libuv, CPython's `os` module,
//! inline `syscall` instructions); it follows threads, `fork` and `execve` by itself; its
//! results are the kernel's, not an imitation; and it needs nothing but the `ptrace` and
//! `seccomp` system calls, which an ordinary user may make on its own child (with
//! `PR_SET_NO_NEW_PRIVS`). Checked on this project's machine (Linux 6.18, x86_64, no Yama
//! module) as root and as an unprivileged user. Where Yama's `ptrace_scope` is 0 or 1 a
//! parent may trace its child; at 2 or 3, or where a container's seccomp profile forbids
//! `ptrace` (Docker's default allows it on kernels from 4.8), the recorder cannot start and
//! says so ([`SpawnError`]).
//!
//! # What it cannot see
//!
//! Reported as values ([`event::BlindSpot`], then [`persist::Unmodellable`]) where the
//! recorder can tell it happened:
//! - stores through a shared writable `mmap` of a watched file;
//! - bytes copied by the kernel (`copy_file_range`, `sendfile`, `splice`) into a watched file;
//! - io_uring: refused by default (`ENOSYS`, so libuv and others fall back to plain calls);
//!   when allowed, its requests are invisible;
//! - calls through another ABI (32-bit `int 0x80`, x32);
//! - a watched file made descriptor 0, 1 or 2 (writes through those are not stopped at);
//! - links.
//!
//! Not seen at all: writes by processes outside the traced tree (a daemon the child talks to,
//! the harness itself), calls made through the vDSO (none of them touch files), asynchronous
//! I/O (`io_submit`), and what `O_DIRECT` means for durability (its writes are modelled like
//! any other: durable only after a sync). Calls on descriptors inherited from before the
//! child started are seen only by the descriptor's current path.
//!
//! # Layout
//! - [`recorder`]: the handle: spawn, pipes, drain, faults, crash states, wait, kill;
//! - [`tracer`]: the ptrace loop and the decoding of each call;
//! - [`filter`]: the calls stopped at and the BPF program; [`sys`]: the unsafe code (fork,
//!   exec, filter installation), nothing else;
//! - [`proc`]: reading the child's memory and `/proc`;
//! - [`event`]: the trace; [`fault`]: faults; [`persist`]: the persistence model.
#![deny(unsafe_code)]

pub mod event;
pub mod fault;
pub mod filter;
pub mod persist;
pub mod proc;
pub mod recorder;
// The fork, exec and filter installation: the only unsafe code (see the module's `//!`).
#[allow(unsafe_code)]
mod sys;
mod tracer;

pub use event::{
    BlindSpot, Call, Errno, Event, FileId, Op, ProcessEvent, Seen, SeenKind, Syscall, What,
};
pub use fault::{Action, CallKind, Fault, FaultError, FaultId, Fired, Match, Revert};
pub use persist::{FileCrashState, PathState, Persistence, Unmodellable};
pub use recorder::{Config, Exit, Pipes, Recorder, Spawn, SpawnError};

/// The largest file whose contents are read when the recorder first sees it (the model
/// needs them; a longer file is unmodellable).
pub const SEEN_LEN_MAX: u64 = 64 << 20;
/// The most bytes of one write call kept in the trace (a longer write is recorded with its
/// first bytes and marked incomplete).
pub const WRITE_CAPTURE_MAX: u64 = 64 << 20;
/// The most events kept for [`Recorder::drain`] between two drains.
pub const EVENTS_MAX: usize = 1 << 20;
/// The most bytes of file data (written bytes, contents seen) those events may hold.
pub const EVENT_BYTES_MAX: u64 = 256 << 20;
