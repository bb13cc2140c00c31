//! The tracer: the loop that runs in the recorder's own thread, waits for the child's stops,
//! decodes each stopped call, records it, injects faults, and resumes.
//!
//! Guarantees:
//! - every stop is answered: a task is never left stopped (a call outside the watched
//!   directory is resumed at once with `PTRACE_CONT`; a recorded one with `PTRACE_SYSCALL`, to
//!   stop once more when it returns; signals are delivered as they came; new threads and
//!   processes are let go after their first stop);
//! - waiting uses `__WALL | __WNOTHREAD`: only this thread's tracees, never another child of
//!   the harness (another recorder's, a `Command` of the harness);
//! - a call is recorded when it returns, with the result the program sees; a call the kernel
//!   will restart (`ERESTARTSYS` and the like) is recorded when its restart returns;
//! - the loop ends when no tracee is left; it never waits for the harness (the harness's
//!   state is behind a mutex held only to record and to read armed faults).

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nix::errno::Errno as NixErrno;
use nix::sys::ptrace;
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::event::{
    BlindSpot, Call, Errno, FileId, Op, ProcessEvent, Seen, SeenKind, Syscall, What,
};
use crate::fault::{Action, Fired, Revert};
use crate::filter::{self, DATA_FOREIGN_ARCH, DATA_X32};
use crate::persist;
use crate::proc::{self, FdTarget, Kind};
use crate::recorder::{Exit, Shared};
use crate::{SEEN_LEN_MAX, WRITE_CAPTURE_MAX};

/// The kernel's internal "restart this call" results, which a tracer can see at a call's
/// exit when a signal interrupted it (ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND,
/// ERESTART_RESTARTBLOCK).
const RESTARTS: [i64; 4] = [-512, -513, -514, -516];

const O_SYNC_BITS: i32 = libc::O_SYNC | libc::O_DSYNC;
const RWF_APPEND: u64 = 0x10;

/// How the watched directory is recognised in a path.
#[derive(Debug, Clone)]
pub(crate) struct Root {
    /// The directory, canonical (what `/proc` links show).
    pub canonical: PathBuf,
    /// The directory as the harness spelled it, when that differs (a path through a link).
    pub given: Option<PathBuf>,
    /// Its device, for `syncfs`.
    pub dev: Option<u64>,
}

impl Root {
    /// `path` (absolute, normalized) rewritten onto the canonical root if it is under the
    /// root; `None` if it is not.
    pub fn watched(&self, path: &Path) -> Option<PathBuf> {
        if path.starts_with(&self.canonical) {
            return Some(path.to_path_buf());
        }
        let given = self.given.as_ref()?;
        let rest = path.strip_prefix(given).ok()?;
        Some(self.canonical.join(rest))
    }
}

/// What a task is doing, as far as the tracer knows.
#[derive(Debug, Default)]
struct Task {
    tgid: u32,
    /// A new task's first stop (SIGSTOP) is still to come and must not be delivered.
    expect_stop: bool,
    /// The call it is in, between its seccomp stop and its exit stop.
    pending: Option<Pending>,
}

/// A recorded call between its entry and its exit.
#[derive(Debug)]
struct Pending {
    syscall: Syscall,
    call: Partial,
    fired: Option<Fired>,
    /// The result to show instead of the real one.
    forced: Option<Errno>,
    /// Registers to put back at the exit (an argument changed to make a write short).
    restore: Option<libc::user_regs_struct>,
    /// An iovec changed to make a vectored write short: where, which, and its old value.
    restore_iov: Option<(u64, usize, proc::Iovec)>,
}

/// A call as known at its entry; completed at its exit.
#[derive(Debug)]
enum Partial {
    Open {
        path: PathBuf,
        flags: i32,
        mode: u32,
        existed: bool,
    },
    Write {
        fd: i32,
        target: FdTarget,
        /// Where the bytes are (one buffer, or the iovec array and its count).
        source: Source,
        requested: u64,
        /// Where the bytes go, as known at the entry: the end of the file for an appending
        /// write, the offset asked for by `pwrite`, else the descriptor's position. (Another
        /// thread moving the position or appending meanwhile is not accounted for.)
        offset: u64,
        synchronous: bool,
    },
    /// Complete at entry; only the result is missing.
    Ready(Op),
}

#[derive(Debug, Clone, Copy)]
enum Source {
    Buffer(u64),
    Vector { iov: u64, count: u64 },
}

pub(crate) struct Tracer {
    shared: Arc<Shared>,
    root: Root,
    refuse_io_uring: bool,
    main: u32,
    tasks: HashMap<u32, Task>,
    /// Whether the child has executed its program.
    executed: bool,
    /// How the child ended, if it did before executing its program.
    ended_early: Option<String>,
}

fn errno_result(raw: i64) -> Result<u64, Errno> {
    if (-4095..0).contains(&raw) {
        Err(Errno(-raw as i32))
    } else {
        Ok(raw as u64)
    }
}

/// The bytes a write put in the file, read from the child's buffers (at most
/// [`WRITE_CAPTURE_MAX`]), and whether that is all of them.
fn captured(tid: u32, source: Source, written: u64) -> (Vec<u8>, bool) {
    let captured = written.min(WRITE_CAPTURE_MAX);
    let data = match source {
        Source::Buffer(buf) => proc::read_mem(tid, buf, captured as usize),
        Source::Vector { iov, count } => {
            proc::read_iovecs(tid, iov, count).and_then(|v| proc::gather(tid, &v, captured))
        }
    };
    let complete = data.is_some() && captured == written;
    (data.unwrap_or_default(), complete)
}

fn at_fd(raw: u64) -> i32 {
    raw as i32
}

impl Tracer {
    pub fn new(shared: Arc<Shared>, root: Root, refuse_io_uring: bool, main: u32) -> Self {
        let mut tasks = HashMap::new();
        tasks.insert(
            main,
            Task {
                tgid: main,
                ..Task::default()
            },
        );
        Tracer {
            shared,
            root,
            refuse_io_uring,
            main,
            tasks,
            executed: false,
            ended_early: None,
        }
    }

    /// Lets the child (stopped at its first stop, options set) go on until it has executed
    /// its program; `Err` with how it ended if it did not get there.
    pub fn run_until_exec(&mut self) -> Result<(), String> {
        self.resume(self.main, None);
        while !self.executed {
            if let Some(how) = &self.ended_early {
                return Err(how.clone());
            }
            if !self.step() {
                return Err("the child vanished".into());
            }
        }
        Ok(())
    }

    /// Sends `SIGKILL` to every tracee.
    pub fn kill_all(&self) {
        for &tid in self.tasks.keys() {
            let _ = nix::sys::signal::kill(Pid::from_raw(tid as i32), Signal::SIGKILL);
        }
    }

    /// Waits for one stop or exit and answers it; false when no tracee is left.
    fn step(&mut self) -> bool {
        loop {
            let flags = WaitPidFlag::__WALL | WaitPidFlag::__WNOTHREAD;
            match waitpid(None, Some(flags)) {
                Ok(status) => {
                    self.on_status(status);
                    return !self.tasks.is_empty();
                }
                Err(NixErrno::EINTR) => continue,
                // ECHILD: no tracee left.
                Err(_) => return false,
            }
        }
    }

    /// Runs until every tracee is gone.
    pub fn run(&mut self) {
        while self.step() {}
    }

    fn on_status(&mut self, status: WaitStatus) {
        match status {
            WaitStatus::Exited(pid, code) => self.gone(
                pid.as_raw() as u32,
                Exit::Exited(code),
                ProcessEvent::Exited { code },
            ),
            WaitStatus::Signaled(pid, signal, _) => self.gone(
                pid.as_raw() as u32,
                Exit::Killed(signal as i32),
                ProcessEvent::Killed {
                    signal: signal as i32,
                },
            ),
            WaitStatus::PtraceEvent(pid, _, event) => self.on_event(pid.as_raw() as u32, event),
            WaitStatus::PtraceSyscall(pid) => {
                let tid = pid.as_raw() as u32;
                self.on_exit(tid);
                self.resume(tid, None);
            }
            WaitStatus::Stopped(pid, signal) => self.on_signal(pid.as_raw() as u32, signal),
            WaitStatus::Continued(_) | WaitStatus::StillAlive => {}
        }
    }

    fn gone(&mut self, tid: u32, exit: Exit, event: ProcessEvent) {
        let task = self.tasks.remove(&tid);
        let tgid = task.as_ref().map_or(tid, |t| t.tgid);
        if let Some(Pending { syscall, call, .. }) = task.and_then(|t| t.pending) {
            let path = match &call {
                Partial::Open { path, .. } => path.clone(),
                Partial::Write { target, .. } => target.path.clone(),
                Partial::Ready(op) => op.path().map(Path::to_path_buf).unwrap_or_default(),
            };
            self.record(
                tgid,
                tid,
                What::BlindSpot(BlindSpot::Unfinished { syscall, path }),
            );
        }
        self.record(tgid, tid, What::Process(event));
        self.shared.forget_task(tid);
        if tid == self.main {
            if !self.executed {
                self.ended_early = Some(format!("{exit:?} before executing its program"));
            }
            self.shared.set_exit(exit);
        }
    }

    fn resume(&mut self, tid: u32, signal: Option<Signal>) {
        // ESRCH: the task died meanwhile (killed); its exit comes through waitpid.
        let _ = ptrace::cont(Pid::from_raw(tid as i32), signal);
    }

    fn resume_to_exit(&mut self, tid: u32) {
        let _ = ptrace::syscall(Pid::from_raw(tid as i32), None);
    }

    fn task(&mut self, tid: u32) -> &mut Task {
        self.tasks.entry(tid).or_insert_with(|| Task {
            tgid: proc::tgid(tid).unwrap_or(tid),
            ..Task::default()
        })
    }

    fn on_event(&mut self, tid: u32, event: i32) {
        let pid = Pid::from_raw(tid as i32);
        match event {
            libc::PTRACE_EVENT_SECCOMP => {
                let data = ptrace::getevent(pid).unwrap_or(0) as u32;
                if self.on_entry(tid, data) {
                    self.resume_to_exit(tid);
                } else {
                    self.resume(tid, None);
                }
            }
            libc::PTRACE_EVENT_FORK | libc::PTRACE_EVENT_VFORK | libc::PTRACE_EVENT_CLONE => {
                if let Ok(child) = ptrace::getevent(pid) {
                    let child = child as u32;
                    let thread = event == libc::PTRACE_EVENT_CLONE
                        && proc::tgid(child).is_some_and(|g| Some(g) == proc::tgid(tid));
                    let parent_tgid = self.task(tid).tgid;
                    let known = self.tasks.contains_key(&child);
                    if known {
                        // Its first stop came before this event and was already let go.
                    } else {
                        self.tasks.insert(
                            child,
                            Task {
                                tgid: if thread { parent_tgid } else { child },
                                expect_stop: true,
                                pending: None,
                            },
                        );
                    }
                    self.shared.add_task(child);
                    self.record(
                        parent_tgid,
                        tid,
                        What::Process(ProcessEvent::Started { child, thread }),
                    );
                }
                self.resume(tid, None);
            }
            libc::PTRACE_EVENT_EXEC => {
                // The thread that called execve now has the thread group's id; the others
                // are gone.
                let tgid = proc::tgid(tid).unwrap_or(tid);
                self.tasks.retain(|&t, task| t == tid || task.tgid != tgid);
                let task = self.task(tid);
                task.tgid = tgid;
                task.pending = None;
                if tgid == self.main {
                    self.executed = true;
                }
                let program = proc::exe(tid).unwrap_or_default();
                self.record(tgid, tid, What::Process(ProcessEvent::Exec { program }));
                self.resume(tid, None);
            }
            _ => self.resume(tid, None),
        }
    }

    fn on_signal(&mut self, tid: u32, signal: Signal) {
        let known = self.tasks.contains_key(&tid);
        let task = self.task(tid);
        if signal == Signal::SIGSTOP && (task.expect_stop || !known) {
            // A new task's first stop: it was attached automatically; let it run.
            task.expect_stop = false;
            if !known {
                self.shared.add_task(tid);
            }
            self.resume(tid, None);
            return;
        }
        let pid = Pid::from_raw(tid as i32);
        if ptrace::getsiginfo(pid) == Err(NixErrno::EINVAL) {
            // A group stop (SIGSTOP, SIGTSTP...): a tracer that attached without SEIZE
            // cannot hold it; the task runs on (a documented limitation).
            self.resume(tid, None);
            return;
        }
        self.resume(tid, Some(signal));
    }

    fn record(&self, pid: u32, tid: u32, what: What) {
        self.shared.record(pid, tid, what);
    }

    /// The path `raw` names, resolved against `dirfd` (`AT_FDCWD` or a directory
    /// descriptor) of `tid`, if it is under the watched directory.
    fn path_at(&self, tid: u32, dirfd: i32, raw: u64) -> Option<PathBuf> {
        let bytes = proc::read_cstr(tid, raw)?;
        let path = Path::new(OsStr::from_bytes(&bytes));
        let base = if path.is_absolute() {
            PathBuf::from("/")
        } else if dirfd == libc::AT_FDCWD {
            proc::cwd(tid)?
        } else {
            proc::fd_path(tid, dirfd)?
        };
        self.root.watched(&proc::normalize(&base, path))
    }

    /// What `fd` of `tid` refers to, if it is under the watched directory.
    fn fd_at(&self, tid: u32, fd: i32) -> Option<FdTarget> {
        let path = self.root.watched(&proc::fd_path(tid, fd)?)?;
        proc::fd_stat(tid, fd, path)
    }

    /// Records what is at `path` if it is a file or directory not seen since the last
    /// checkpoint.
    fn see_path(&self, pid: u32, tid: u32, path: &Path) -> bool {
        let Some((file, kind, _)) = proc::lstat(path) else {
            return false;
        };
        if self.shared.first_sight(file) {
            let kind = match kind {
                Kind::File => proc::read_contents(path, SEEN_LEN_MAX),
                Kind::Dir => SeenKind::Dir,
                Kind::Other => SeenKind::Other,
            };
            self.record(
                pid,
                tid,
                What::Seen(Seen {
                    path: path.to_path_buf(),
                    file,
                    kind,
                }),
            );
        }
        true
    }

    fn see_fd(&self, pid: u32, tid: u32, fd: i32, target: &FdTarget) {
        if self.shared.first_sight(target.file) {
            let kind = match target.kind {
                Kind::File => proc::fd_contents(tid, fd, SEEN_LEN_MAX),
                Kind::Dir => SeenKind::Dir,
                Kind::Other => SeenKind::Other,
            };
            self.record(
                pid,
                tid,
                What::Seen(Seen {
                    path: target.path.clone(),
                    file: target.file,
                    kind,
                }),
            );
        }
    }

    /// A call stopped at its entry. Returns whether to stop it again at its exit.
    fn on_entry(&mut self, tid: u32, data: u32) -> bool {
        let pid = self.task(tid).tgid;
        let Ok(regs) = ptrace::getregs(Pid::from_raw(tid as i32)) else {
            return false;
        };
        if data == DATA_FOREIGN_ARCH || data == DATA_X32 {
            let arch = if data == DATA_X32 {
                filter::AUDIT_ARCH
            } else {
                0
            };
            let spot = BlindSpot::ForeignAbi {
                arch,
                nr: regs.orig_rax,
            };
            self.record(pid, tid, What::BlindSpot(spot));
            return false;
        }
        let Some(syscall) = filter::syscall_of(regs.orig_rax) else {
            return false;
        };
        let a = [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9];
        let Some(call) = self.decode(pid, tid, syscall, a) else {
            return false;
        };
        let mut pending = Pending {
            syscall,
            call,
            fired: None,
            forced: None,
            restore: None,
            restore_iov: None,
        };
        self.inject(tid, regs, &mut pending);
        self.task(tid).pending = Some(pending);
        true
    }

    /// Decodes a call; `None` when it does not concern the watched directory (or is
    /// recorded at entry as a blind spot, with nothing to learn at its exit).
    fn decode(&mut self, pid: u32, tid: u32, syscall: Syscall, a: [u64; 6]) -> Option<Partial> {
        use Syscall as S;
        let spot = |tracer: &Self, spot: BlindSpot| {
            tracer.record(pid, tid, What::BlindSpot(spot));
            None
        };
        match syscall {
            S::Open | S::Openat | S::Openat2 | S::Creat => {
                let (dirfd, path, flags, mode) = match syscall {
                    S::Open => (libc::AT_FDCWD, a[0], a[1] as i32, a[2] as u32),
                    S::Creat => (
                        libc::AT_FDCWD,
                        a[0],
                        libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC,
                        a[1] as u32,
                    ),
                    S::Openat => (at_fd(a[0]), a[1], a[2] as i32, a[3] as u32),
                    _ => {
                        // struct open_how { u64 flags; u64 mode; u64 resolve; }
                        let how = proc::read_mem(tid, a[2], 16)?;
                        let word = |i: usize| {
                            u64::from_ne_bytes(how[i * 8..i * 8 + 8].try_into().unwrap_or_default())
                        };
                        (at_fd(a[0]), a[1], word(0) as i32, word(1) as u32)
                    }
                };
                let path = self.path_at(tid, dirfd, path)?;
                let existed = self.see_path(pid, tid, &path);
                Some(Partial::Open {
                    path,
                    flags,
                    mode,
                    existed,
                })
            }
            S::Write | S::Pwrite64 | S::Writev | S::Pwritev | S::Pwritev2 => {
                let fd = at_fd(a[0]);
                let target = self.fd_at(tid, fd)?;
                if target.kind != Kind::File {
                    return None;
                }
                self.see_fd(pid, tid, fd, &target);
                let info = proc::fd_info(tid, fd)?;
                let (source, requested) = match syscall {
                    S::Write | S::Pwrite64 => (Source::Buffer(a[1]), a[2]),
                    _ => {
                        let iovecs = proc::read_iovecs(tid, a[1], a[2])?;
                        let total = iovecs.iter().fold(0u64, |t, v| t.saturating_add(v.len));
                        (
                            Source::Vector {
                                iov: a[1],
                                count: a[2],
                            },
                            total,
                        )
                    }
                };
                // pwrite on an O_APPEND descriptor appends on Linux, whatever the offset.
                let appends = info.flags & libc::O_APPEND != 0
                    || (syscall == S::Pwritev2 && a[5] & RWF_APPEND != 0);
                let offset = match syscall {
                    _ if appends => target.len,
                    S::Write | S::Writev => info.pos,
                    S::Pwritev2 if a[3] as i64 == -1 => info.pos,
                    _ => a[3],
                };
                Some(Partial::Write {
                    fd,
                    target,
                    source,
                    requested,
                    offset,
                    synchronous: info.flags & O_SYNC_BITS != 0,
                })
            }
            S::Fsync | S::Fdatasync | S::SyncFileRange => {
                let fd = at_fd(a[0]);
                let target = self.fd_at(tid, fd)?;
                if target.kind == Kind::File {
                    self.see_fd(pid, tid, fd, &target);
                }
                Some(Partial::Ready(if syscall == S::SyncFileRange {
                    Op::SyncRange {
                        fd,
                        path: target.path,
                        file: target.file,
                        offset: a[1],
                        len: a[2],
                        flags: a[3] as u32,
                    }
                } else {
                    Op::Sync {
                        fd,
                        path: target.path,
                        file: target.file,
                        dir: target.kind == Kind::Dir,
                        data_only: syscall == S::Fdatasync,
                    }
                }))
            }
            S::Syncfs => {
                let fd = at_fd(a[0]);
                let path = proc::fd_path(tid, fd)?;
                let on_root = self.root.dev.is_some() && proc::device(&path) == self.root.dev;
                on_root.then_some(Partial::Ready(Op::SyncAll { fd: Some(fd) }))
            }
            S::Sync => Some(Partial::Ready(Op::SyncAll { fd: None })),
            S::Rename | S::Renameat | S::Renameat2 => {
                let (from, to, flags) = match syscall {
                    S::Rename => (
                        self.any_path_at(tid, libc::AT_FDCWD, a[0]),
                        self.any_path_at(tid, libc::AT_FDCWD, a[1]),
                        0,
                    ),
                    _ => (
                        self.any_path_at(tid, at_fd(a[0]), a[1]),
                        self.any_path_at(tid, at_fd(a[2]), a[3]),
                        if syscall == S::Renameat2 {
                            a[4] as u32
                        } else {
                            0
                        },
                    ),
                };
                let (from, to) = (from?, to?);
                let from_watched = self.root.watched(&from);
                let to_watched = self.root.watched(&to);
                if from_watched.is_none() && to_watched.is_none() {
                    return None;
                }
                let from = from_watched.unwrap_or(from);
                let to = to_watched.unwrap_or(to);
                for path in [&from, &to] {
                    if self.root.watched(path).is_some() {
                        self.see_path(pid, tid, path);
                    }
                }
                Some(Partial::Ready(Op::Rename { from, to, flags }))
            }
            S::Unlink | S::Unlinkat | S::Rmdir => {
                let (dirfd, raw, dir) = match syscall {
                    S::Unlink => (libc::AT_FDCWD, a[0], false),
                    S::Rmdir => (libc::AT_FDCWD, a[0], true),
                    _ => (at_fd(a[0]), a[1], a[2] as i32 & libc::AT_REMOVEDIR != 0),
                };
                let path = self.path_at(tid, dirfd, raw)?;
                self.see_path(pid, tid, &path);
                Some(Partial::Ready(Op::Unlink { path, dir }))
            }
            S::Truncate => {
                let path = self.path_at(tid, libc::AT_FDCWD, a[0])?;
                self.see_path(pid, tid, &path);
                let (file, _, _) = proc::lstat(&path)?;
                Some(Partial::Ready(Op::Truncate {
                    fd: None,
                    path,
                    file,
                    len: a[1],
                }))
            }
            S::Ftruncate | S::Fallocate => {
                let fd = at_fd(a[0]);
                let target = self.fd_at(tid, fd)?;
                self.see_fd(pid, tid, fd, &target);
                Some(Partial::Ready(if syscall == S::Ftruncate {
                    Op::Truncate {
                        fd: Some(fd),
                        path: target.path,
                        file: target.file,
                        len: a[1],
                    }
                } else {
                    Op::Fallocate {
                        fd,
                        path: target.path,
                        file: target.file,
                        mode: a[1] as i32,
                        offset: a[2],
                        len: a[3],
                    }
                }))
            }
            S::Mkdir | S::Mkdirat => {
                let (dirfd, raw, mode) = match syscall {
                    S::Mkdir => (libc::AT_FDCWD, a[0], a[1] as u32),
                    _ => (at_fd(a[0]), a[1], a[2] as u32),
                };
                let path = self.path_at(tid, dirfd, raw)?;
                self.see_path(pid, tid, &path);
                Some(Partial::Ready(Op::Mkdir { path, mode }))
            }
            S::Close => {
                let fd = at_fd(a[0]);
                let target = self.fd_at(tid, fd)?;
                Some(Partial::Ready(Op::Close {
                    fd,
                    path: target.path,
                }))
            }
            S::CloseRange => {
                let (first, last) = (a[0] as u32, a[1] as u32);
                let mut watched: Vec<(i32, PathBuf)> = proc::fds(tid)
                    .into_iter()
                    .filter(|&fd| fd >= 0 && (first..=last).contains(&(fd as u32)))
                    .filter_map(|fd| Some((fd, self.fd_at(tid, fd)?.path)))
                    .collect();
                watched.sort();
                (!watched.is_empty()).then_some(Partial::Ready(Op::CloseRange {
                    first,
                    last,
                    flags: a[2] as u32,
                    watched,
                }))
            }
            S::Dup | S::Dup2 | S::Dup3 | S::Fcntl => {
                let old = at_fd(a[0]);
                let target = self.fd_at(tid, old)?;
                let new = match syscall {
                    S::Dup => None,
                    S::Fcntl => Some(a[2] as i32),
                    _ => Some(a[1] as i32),
                };
                if matches!(syscall, S::Dup2 | S::Dup3) && new.is_some_and(|n| (0..=2).contains(&n))
                {
                    self.record(
                        pid,
                        tid,
                        What::BlindSpot(BlindSpot::StandardDescriptor {
                            fd: new.unwrap_or_default(),
                            path: target.path.clone(),
                            file: target.file,
                        }),
                    );
                }
                Some(Partial::Ready(Op::Dup {
                    old,
                    new,
                    path: target.path,
                }))
            }
            S::Mmap => {
                let target = self.fd_at(tid, at_fd(a[4]))?;
                (target.kind == Kind::File).then_some(())?;
                spot(
                    self,
                    BlindSpot::SharedMap {
                        path: target.path,
                        file: target.file,
                    },
                )
            }
            S::CopyFileRange | S::Splice | S::Sendfile => {
                let out = if syscall == S::Sendfile { a[0] } else { a[2] };
                let target = self.fd_at(tid, at_fd(out))?;
                spot(
                    self,
                    BlindSpot::KernelCopy {
                        syscall,
                        path: target.path,
                        file: target.file,
                    },
                )
            }
            S::Link | S::Linkat | S::Symlink | S::Symlinkat => {
                let (dirfd, raw) = match syscall {
                    S::Link | S::Symlink => (libc::AT_FDCWD, a[1]),
                    S::Linkat => (at_fd(a[2]), a[3]),
                    _ => (at_fd(a[1]), a[2]),
                };
                let path = self.path_at(tid, dirfd, raw)?;
                spot(self, BlindSpot::Link { syscall, path })
            }
            S::IoUringSetup => {
                if self.refuse_io_uring {
                    Some(Partial::Ready(Op::IoUringRefused))
                } else {
                    spot(self, BlindSpot::IoUring)
                }
            }
        }
    }

    /// Like [`Tracer::path_at`] for a path that may be outside the watched directory.
    fn any_path_at(&self, tid: u32, dirfd: i32, raw: u64) -> Option<PathBuf> {
        let bytes = proc::read_cstr(tid, raw)?;
        let path = Path::new(OsStr::from_bytes(&bytes));
        let base = if path.is_absolute() {
            PathBuf::from("/")
        } else if dirfd == libc::AT_FDCWD {
            proc::cwd(tid)?
        } else {
            proc::fd_path(tid, dirfd)?
        };
        Some(proc::normalize(&base, path))
    }

    /// Applies an armed fault that fires at this call (or refuses io_uring).
    fn inject(&mut self, tid: u32, mut regs: libc::user_regs_struct, pending: &mut Pending) {
        let pid = Pid::from_raw(tid as i32);
        if let Partial::Ready(Op::IoUringRefused) = pending.call {
            regs.orig_rax = u64::MAX; // -1: the kernel skips the call.
            let _ = ptrace::setregs(pid, regs);
            pending.forced = Some(Errno::ENOSYS);
            return;
        }
        let paths: Vec<&Path> = match &pending.call {
            Partial::Open { path, .. } => vec![path],
            Partial::Write { target, .. } => vec![&target.path],
            Partial::Ready(Op::Rename { from, to, .. }) => vec![from, to],
            Partial::Ready(op) => op.path().into_iter().collect(),
        };
        let requested = match &pending.call {
            Partial::Write { requested, .. } => *requested,
            _ => 0,
        };
        let Some(fired) = self.shared.fire(pending.syscall, &paths, requested) else {
            return;
        };
        match fired.action {
            // A full disk fires as the action it amounts to (see `Armed::count`).
            Action::Fail(errno) | Action::FullAfter { errno, .. } => {
                regs.orig_rax = u64::MAX;
                let _ = ptrace::setregs(pid, regs);
                pending.forced = Some(errno);
            }
            Action::Short { bytes }
            | Action::ShortThenFail { bytes, .. }
            | Action::PartialThenFail { bytes, .. } => {
                if let Action::PartialThenFail { errno, .. } = fired.action {
                    pending.forced = Some(errno);
                }
                if let Partial::Write {
                    source, requested, ..
                } = &pending.call
                {
                    if bytes < *requested {
                        self.shorten(tid, regs, *source, bytes, pending);
                    }
                }
            }
        }
        pending.fired = Some(fired);
    }

    /// Makes a write put at most `bytes` bytes: the count argument, or the iovecs.
    fn shorten(
        &mut self,
        tid: u32,
        mut regs: libc::user_regs_struct,
        source: Source,
        bytes: u64,
        pending: &mut Pending,
    ) {
        let pid = Pid::from_raw(tid as i32);
        match source {
            Source::Buffer(_) => {
                pending.restore = Some(regs);
                regs.rdx = bytes;
                let _ = ptrace::setregs(pid, regs);
            }
            Source::Vector { iov, count } => {
                let Some(iovecs) = proc::read_iovecs(tid, iov, count) else {
                    return;
                };
                let mut before = 0u64;
                for (i, v) in iovecs.iter().enumerate() {
                    if before + v.len >= bytes {
                        let cut = proc::Iovec {
                            base: v.base,
                            len: bytes - before,
                        };
                        if proc::write_iovec(tid, iov, i, cut) {
                            pending.restore_iov = Some((iov, i, *v));
                        }
                        pending.restore = Some(regs);
                        regs.rdx = i as u64 + 1;
                        let _ = ptrace::setregs(pid, regs);
                        return;
                    }
                    before += v.len;
                }
            }
        }
    }

    /// A recorded call returned.
    fn on_exit(&mut self, tid: u32) {
        let Some(task) = self.tasks.get_mut(&tid) else {
            return;
        };
        let pid = task.tgid;
        let Some(pending) = task.pending.take() else {
            return;
        };
        let ptid = Pid::from_raw(tid as i32);
        let Ok(mut regs) = ptrace::getregs(ptid) else {
            return;
        };
        let raw = regs.rax as i64;
        if RESTARTS.contains(&raw) && pending.forced.is_none() {
            // The kernel restarts the call; it stops again at its entry.
            self.restore(tid, &pending, regs);
            return;
        }
        let real = errno_result(raw);
        let op = match pending.call {
            Partial::Open {
                ref path,
                flags,
                mode,
                existed,
            } => {
                let opened = match real {
                    Ok(fd) if pending.forced.is_none() => {
                        proc::fd_stat(tid, fd as i32, path.clone())
                    }
                    _ => None,
                };
                if let Some(opened) = &opened {
                    // A file that existed was seen at the entry; a new one is empty.
                    self.shared.first_sight(opened.file);
                }
                Op::Open {
                    path: path.clone(),
                    flags,
                    mode,
                    file: opened.as_ref().map(|t| t.file),
                    created: opened.is_some() && !existed,
                    dir: opened.is_some_and(|t| t.kind == Kind::Dir),
                }
            }
            Partial::Write {
                fd,
                ref target,
                source,
                requested,
                offset,
                synchronous,
            } => {
                // A skipped call returns ENOSYS: nothing written.
                let written = real.unwrap_or(0);
                let (data, complete) = captured(tid, source, written);
                Op::Write {
                    fd,
                    path: target.path.clone(),
                    file: target.file,
                    offset,
                    requested,
                    data,
                    complete,
                    synchronous,
                }
            }
            Partial::Ready(ref op) => op.clone(),
        };
        let result = match pending.forced {
            Some(errno) => Err(errno),
            None => real,
        };
        let mut fired = pending.fired.clone();
        if let (
            Some(fired),
            Op::Sync {
                file,
                dir: false,
                fd,
                ..
            },
        ) = (fired.as_mut(), &op)
        {
            if let Err(errno) = result {
                if persist::sync_error_loses_data(errno) {
                    fired.revert = Some(self.revert(tid, *fd, *file));
                }
            }
        }
        if let Some(errno) = pending.forced {
            regs.rax = (-(errno.0 as i64)) as u64;
        }
        self.restore(tid, &pending, regs);
        let call = Call {
            syscall: pending.syscall,
            op,
            result,
            fault: fired,
        };
        self.record(pid, tid, What::Call(call));
    }

    /// Puts back what a fault changed (a count, an iovec) and sets the result.
    fn restore(&mut self, tid: u32, pending: &Pending, mut regs: libc::user_regs_struct) {
        if let Some(saved) = pending.restore {
            regs.rdx = saved.rdx;
        }
        if let Some((iov, i, old)) = pending.restore_iov {
            proc::write_iovec(tid, iov, i, old);
        }
        let _ = ptrace::setregs(Pid::from_raw(tid as i32), regs);
    }

    /// After an injected writeback error: puts the file back to its last synced contents,
    /// as the model has them (the model drops the unsynced changes when the call is
    /// recorded).
    fn revert(&self, tid: u32, fd: i32, file: FileId) -> Revert {
        let (synced, live) = match self.shared.synced_contents(file) {
            Ok(Some(pair)) => pair,
            Ok(None) => return Revert::Unchanged,
            Err(why) => return Revert::Unknown(why.to_string()),
        };
        let same = synced.iter().zip(&live).take_while(|(a, b)| a == b).count();
        let result = proc::reopen_for_write(tid, fd).and_then(|f| {
            f.set_len(synced.len() as u64)?;
            f.write_all_at(&synced[same..], same as u64)
        });
        match result {
            Ok(()) => Revert::Reverted {
                len: synced.len() as u64,
            },
            Err(e) => Revert::Unknown(format!("the file could not be put back: {e}")),
        }
    }
}
