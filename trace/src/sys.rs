//! The crate's unsafe code, all of it: starting a child traced and filtered.
//!
//! Guarantees of [`fork_traced`]: the child is a tracee of the calling thread (`PTRACE_TRACEME`)
//! and stops itself (`SIGSTOP`) before anything else can happen, so the tracer sets its
//! options (seccomp stops, follow forks and threads, kill on tracer exit) before the child
//! installs the filter and runs the program; `SIGKILL` is its parent-death signal (it dies
//! with the tracing thread, even when the harness is killed); `PR_SET_NO_NEW_PRIVS` lets an
//! unprivileged process install the filter; if `execve` fails, the child writes the error
//! number to `error_pipe` and exits with 127, and never runs anything of the harness.
//!
//! Why not `std::process::Command` with `pre_exec`: `spawn` blocks until the child has
//! executed its program, but a traced child whose `execve` fails writes its error under the
//! filter with no tracer options set yet (`ENOSYS`), aborts, and stops on `SIGABRT` for a
//! tracer that is still inside `spawn`: a deadlock. Forking here lets the tracer set its
//! options before the filter exists.
//!
//! Nothing else in the crate is unsafe (`#![deny(unsafe_code)]` at the crate root; this
//! module alone is allowed).

use std::ffi::{c_char, CStr};
use std::os::fd::BorrowedFd;

use nix::sys::signal::{raise, Signal};
use nix::unistd::{ForkResult, Pid};

use crate::filter::Insn;

/// Everything the child needs, built before the fork: after it, the child may not allocate.
pub struct Plan<'a> {
    /// The program's path (already searched in `PATH`).
    pub program: &'a CStr,
    /// `argv`, each pointer into a `CString` the caller keeps alive, then a null pointer.
    pub argv: &'a [*const c_char],
    /// `envp`, the same way.
    pub envp: &'a [*const c_char],
    pub cwd: Option<&'a CStr>,
    pub stdin: BorrowedFd<'a>,
    pub stdout: BorrowedFd<'a>,
    /// `None`: the harness's own standard error.
    pub stderr: Option<BorrowedFd<'a>>,
    /// Close-on-exec: written only if `execve` fails.
    pub error_pipe: BorrowedFd<'a>,
    /// This process's id (the child checks it is still its parent).
    pub parent: u32,
    pub filter: &'a [libc::sock_filter],
}

/// The filter as the kernel takes it.
pub fn kernel_filter(program: &[Insn]) -> Vec<libc::sock_filter> {
    program
        .iter()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect()
}

/// Forks a child that runs `plan.program` traced by the calling thread (see the module
/// documentation). Returns the child's id; the child is stopped (`SIGSTOP`) or about to be.
pub fn fork_traced(plan: &Plan<'_>) -> nix::Result<Pid> {
    // SAFETY: after `fork` in a multi-threaded process the child may only make
    // async-signal-safe calls until it executes a program. `child` makes raw system calls
    // through nix's thin wrappers and libc (dup2, chdir, setpgid, prctl, ptrace, kill,
    // execve, write, _exit) on memory built before the fork, allocates nothing, takes no
    // lock, and never returns.
    match unsafe { nix::unistd::fork() }? {
        ForkResult::Parent { child } => Ok(child),
        ForkResult::Child => child(plan),
    }
}

fn child(plan: &Plan<'_>) -> ! {
    let errno = match setup(plan) {
        Ok(()) => {
            // SAFETY: `program`, `argv` and `envp` are valid NUL-terminated strings and
            // null-terminated pointer arrays that the parent keeps alive across the fork
            // (the child has a copy of its memory).
            unsafe {
                libc::execve(
                    plan.program.as_ptr(),
                    plan.argv.as_ptr(),
                    plan.envp.as_ptr(),
                )
            };
            nix::errno::Errno::last_raw()
        }
        Err(e) => e as i32,
    };
    let _ = nix::unistd::write(plan.error_pipe, &errno.to_ne_bytes());
    // SAFETY: `_exit` ends the child without running the harness's atexit handlers or
    // destructors, which must not run in a forked copy of it.
    unsafe { libc::_exit(127) }
}

fn setup(plan: &Plan<'_>) -> nix::Result<()> {
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
    // The parent may have died before the line above: then nothing would kill this child.
    if nix::unistd::getppid().as_raw() as u32 != plan.parent {
        return Err(nix::errno::Errno::ESRCH);
    }
    // Its own process group, so the harness can signal the child and its descendants.
    nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0))?;
    nix::unistd::dup2_stdin(plan.stdin)?;
    nix::unistd::dup2_stdout(plan.stdout)?;
    if let Some(stderr) = plan.stderr {
        nix::unistd::dup2_stderr(stderr)?;
    }
    if let Some(cwd) = plan.cwd {
        nix::unistd::chdir(cwd)?;
    }
    nix::sys::ptrace::traceme()?;
    // Wait here until the tracer has set its options.
    raise(Signal::SIGSTOP)?;
    // Lets an unprivileged process install a seccomp filter (and keeps set-user-ID programs
    // from gaining privileges under it).
    nix::sys::prctl::set_no_new_privs()?;
    install_filter(plan.filter)
}

/// Installs `filter` as this thread's seccomp filter (inherited by every thread and process
/// it starts, and kept across `execve`).
fn install_filter(filter: &[libc::sock_filter]) -> nix::Result<()> {
    let len = u16::try_from(filter.len()).map_err(|_| nix::errno::Errno::E2BIG)?;
    let program = libc::sock_fprog {
        len,
        filter: filter.as_ptr().cast_mut(),
    };
    // SAFETY: prctl(PR_SET_SECCOMP) reads the `sock_fprog` and the `len` instructions it
    // points to during the call; both outlive it (`filter` is borrowed for this function).
    let rc = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER,
            &program as *const libc::sock_fprog,
        )
    };
    nix::errno::Errno::result(rc).map(drop)
}
