//! The system calls the recorder stops at, and the seccomp-BPF program that stops there.
//!
//! One table ([`TABLE`]) names every call, its number on this architecture, and the rule
//! that decides, in the kernel, whether a call stops the child (`SECCOMP_RET_TRACE`) or runs
//! at full speed (`SECCOMP_RET_ALLOW`). The rules look only at the call's arguments (a BPF
//! program cannot read paths or know what a descriptor is), so they are a superset: the
//! tracer looks at each stopped call and lets the ones outside the watched directory go.
//!
//! Guarantees of the program [`program`] builds:
//! - every call of the table stops the child, except the writes through descriptors 0 to 2
//!   (standard input, output, error: a driver's protocol pipes; a watched file made one of
//!   them is reported as a blind spot when it happens), `fcntl` other than `F_DUPFD` and
//!   `F_DUPFD_CLOEXEC`, and `mmap` that is not both shared and writable;
//! - a call through another ABI (a 32-bit `int 0x80`, x32) stops the child too, so the
//!   tracer reports it instead of missing it;
//! - every other call runs unstopped.

use crate::event::Syscall;

/// When a call of the table stops the child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Always.
    Always,
    /// When its first argument (a descriptor) is above 2.
    FdAbove2,
    /// When its second argument is `F_DUPFD` or `F_DUPFD_CLOEXEC` (`fcntl`).
    DupCommand,
    /// When it maps shared and writable (`mmap`: `prot & PROT_WRITE`, `flags & MAP_SHARED`).
    SharedWritable,
}

/// Every call the recorder stops at: its name, its number, its rule.
pub const TABLE: &[(Syscall, i64, Rule)] = &[
    (Syscall::Open, libc::SYS_open, Rule::Always),
    (Syscall::Openat, libc::SYS_openat, Rule::Always),
    (Syscall::Openat2, libc::SYS_openat2, Rule::Always),
    (Syscall::Creat, libc::SYS_creat, Rule::Always),
    (Syscall::Write, libc::SYS_write, Rule::FdAbove2),
    (Syscall::Pwrite64, libc::SYS_pwrite64, Rule::FdAbove2),
    (Syscall::Writev, libc::SYS_writev, Rule::FdAbove2),
    (Syscall::Pwritev, libc::SYS_pwritev, Rule::FdAbove2),
    (Syscall::Pwritev2, libc::SYS_pwritev2, Rule::FdAbove2),
    (Syscall::Fsync, libc::SYS_fsync, Rule::Always),
    (Syscall::Fdatasync, libc::SYS_fdatasync, Rule::Always),
    (
        Syscall::SyncFileRange,
        libc::SYS_sync_file_range,
        Rule::Always,
    ),
    (Syscall::Syncfs, libc::SYS_syncfs, Rule::Always),
    (Syscall::Sync, libc::SYS_sync, Rule::Always),
    (Syscall::Rename, libc::SYS_rename, Rule::Always),
    (Syscall::Renameat, libc::SYS_renameat, Rule::Always),
    (Syscall::Renameat2, libc::SYS_renameat2, Rule::Always),
    (Syscall::Unlink, libc::SYS_unlink, Rule::Always),
    (Syscall::Unlinkat, libc::SYS_unlinkat, Rule::Always),
    (Syscall::Rmdir, libc::SYS_rmdir, Rule::Always),
    (Syscall::Truncate, libc::SYS_truncate, Rule::Always),
    (Syscall::Ftruncate, libc::SYS_ftruncate, Rule::Always),
    (Syscall::Fallocate, libc::SYS_fallocate, Rule::Always),
    (Syscall::Mkdir, libc::SYS_mkdir, Rule::Always),
    (Syscall::Mkdirat, libc::SYS_mkdirat, Rule::Always),
    (Syscall::Close, libc::SYS_close, Rule::Always),
    (Syscall::CloseRange, libc::SYS_close_range, Rule::Always),
    (Syscall::Dup, libc::SYS_dup, Rule::Always),
    (Syscall::Dup2, libc::SYS_dup2, Rule::Always),
    (Syscall::Dup3, libc::SYS_dup3, Rule::Always),
    (Syscall::Fcntl, libc::SYS_fcntl, Rule::DupCommand),
    (Syscall::Mmap, libc::SYS_mmap, Rule::SharedWritable),
    (Syscall::Link, libc::SYS_link, Rule::Always),
    (Syscall::Linkat, libc::SYS_linkat, Rule::Always),
    (Syscall::Symlink, libc::SYS_symlink, Rule::Always),
    (Syscall::Symlinkat, libc::SYS_symlinkat, Rule::Always),
    (
        Syscall::CopyFileRange,
        libc::SYS_copy_file_range,
        Rule::Always,
    ),
    (Syscall::Sendfile, libc::SYS_sendfile, Rule::Always),
    (Syscall::Splice, libc::SYS_splice, Rule::Always),
    (
        Syscall::IoUringSetup,
        libc::SYS_io_uring_setup,
        Rule::Always,
    ),
];

/// The call with number `nr`, if the recorder stops at it.
pub fn syscall_of(nr: u64) -> Option<Syscall> {
    TABLE
        .iter()
        .find(|(_, n, _)| *n as u64 == nr)
        .map(|(s, _, _)| *s)
}

/// The audit architecture of this build's system calls (`seccomp_data.arch`).
pub const AUDIT_ARCH: u32 = 0xC000_003E; // AUDIT_ARCH_X86_64
/// Calls with this bit set in their number are x32 calls.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// One BPF instruction (`struct sock_filter`), kept as plain fields so that building a
/// program needs no unsafe code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

// BPF opcodes (linux/bpf_common.h).
const LD_W_ABS: u16 = 0x20; // BPF_LD (0) | BPF_W (0) | BPF_ABS (0x20)
const JEQ_K: u16 = 0x05 | 0x10; // BPF_JMP | BPF_JEQ | BPF_K
const JGT_K: u16 = 0x05 | 0x20; // BPF_JMP | BPF_JGT | BPF_K
const JGE_K: u16 = 0x05 | 0x30; // BPF_JMP | BPF_JGE | BPF_K
const JSET_K: u16 = 0x05 | 0x40; // BPF_JMP | BPF_JSET | BPF_K
const RET_K: u16 = 0x06; // BPF_RET | BPF_K

// Offsets in `struct seccomp_data`: nr, arch, instruction pointer, then six 64-bit
// arguments; the low 32 bits of an argument come first on a little-endian machine.
const NR: u32 = 0;
const ARCH: u32 = 4;
const fn arg_low(i: u32) -> u32 {
    16 + 8 * i
}

const RET_ALLOW: u32 = 0x7fff_0000; // SECCOMP_RET_ALLOW
const RET_TRACE: u32 = 0x7ff0_0000; // SECCOMP_RET_TRACE

/// The data a stop carries (`PTRACE_GETEVENTMSG` at the seccomp stop): 0 for a call of
/// [`TABLE`], these for a call through another ABI.
pub const DATA_FOREIGN_ARCH: u32 = 1;
/// See [`DATA_FOREIGN_ARCH`].
pub const DATA_X32: u32 = 2;

fn stmt(code: u16, k: u32) -> Insn {
    Insn {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> Insn {
    Insn { code, jt, jf, k }
}

/// The instructions that end a call's check: return TRACE or ALLOW from its arguments.
fn rule_block(rule: Rule) -> Vec<Insn> {
    match rule {
        Rule::Always => vec![stmt(RET_K, RET_TRACE)],
        Rule::FdAbove2 => vec![
            stmt(LD_W_ABS, arg_low(0)),
            jump(JGT_K, 2, 0, 1),
            stmt(RET_K, RET_TRACE),
            stmt(RET_K, RET_ALLOW),
        ],
        Rule::DupCommand => vec![
            stmt(LD_W_ABS, arg_low(1)),
            jump(JEQ_K, libc::F_DUPFD as u32, 1, 0),
            jump(JEQ_K, libc::F_DUPFD_CLOEXEC as u32, 0, 1),
            stmt(RET_K, RET_TRACE),
            stmt(RET_K, RET_ALLOW),
        ],
        Rule::SharedWritable => vec![
            stmt(LD_W_ABS, arg_low(2)),
            jump(JSET_K, libc::PROT_WRITE as u32, 0, 3),
            stmt(LD_W_ABS, arg_low(3)),
            jump(JSET_K, libc::MAP_SHARED as u32, 0, 1),
            stmt(RET_K, RET_TRACE),
            stmt(RET_K, RET_ALLOW),
        ],
    }
}

/// The whole filter: the architecture check, then one check per call of [`TABLE`].
pub fn program() -> Vec<Insn> {
    let mut out = vec![
        stmt(LD_W_ABS, ARCH),
        // Another ABI: stop, so the tracer can report it.
        jump(JEQ_K, AUDIT_ARCH, 1, 0),
        stmt(RET_K, RET_TRACE | DATA_FOREIGN_ARCH),
        stmt(LD_W_ABS, NR),
        jump(JGE_K, X32_SYSCALL_BIT, 0, 1),
        stmt(RET_K, RET_TRACE | DATA_X32),
    ];
    for &(_, nr, rule) in TABLE {
        let block = rule_block(rule);
        // Every block is a handful of instructions, far below a jump's 255.
        out.push(jump(JEQ_K, nr as u32, 0, block.len() as u8));
        // A block loads arguments into the accumulator but always returns, so the checks
        // after it still see the call's number.
        out.extend(block);
    }
    out.push(stmt(RET_K, RET_ALLOW));
    out
}

/// Runs `program` on a `seccomp_data` the way the kernel does (for the tests): the action
/// it returns for call `nr` with `args` on architecture `arch`.
pub fn run(program: &[Insn], arch: u32, nr: u32, args: [u64; 6]) -> Option<u32> {
    let word = |offset: u32| -> Option<u32> {
        match offset {
            NR => Some(nr),
            ARCH => Some(arch),
            o if (16..64).contains(&o) && o % 4 == 0 => {
                let arg = args[((o - 16) / 8) as usize];
                Some(if (o - 16) % 8 == 0 {
                    arg as u32
                } else {
                    (arg >> 32) as u32
                })
            }
            _ => None,
        }
    };
    let mut acc = 0u32;
    let mut pc = 0usize;
    // A filter runs forward only: at most its length in steps.
    for _ in 0..=program.len() {
        let insn = program.get(pc)?;
        pc += 1;
        let taken = |cond: bool| if cond { insn.jt } else { insn.jf } as usize;
        match insn.code {
            LD_W_ABS => acc = word(insn.k)?,
            JEQ_K => pc += taken(acc == insn.k),
            JGT_K => pc += taken(acc > insn.k),
            JGE_K => pc += taken(acc >= insn.k),
            JSET_K => pc += taken(acc & insn.k != 0),
            RET_K => return Some(insn.k),
            _ => return None,
        }
    }
    None
}

/// The program's verdicts, for the tests.
pub const TRACE: u32 = RET_TRACE;
/// See [`TRACE`].
pub const ALLOW: u32 = RET_ALLOW;

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(nr: i64, args: [u64; 6]) -> u32 {
        run(&program(), AUDIT_ARCH, nr as u32, args).expect("the filter returns")
    }

    #[test]
    fn every_call_of_the_table_stops_and_others_run() {
        for &(name, nr, rule) in TABLE {
            let args = match rule {
                Rule::Always => [0; 6],
                Rule::FdAbove2 => [3, 0, 0, 0, 0, 0],
                Rule::DupCommand => [3, libc::F_DUPFD_CLOEXEC as u64, 0, 0, 0, 0],
                Rule::SharedWritable => [
                    0,
                    4096,
                    (libc::PROT_READ | libc::PROT_WRITE) as u64,
                    libc::MAP_SHARED as u64,
                    3,
                    0,
                ],
            };
            assert_eq!(verdict(nr, args), TRACE, "{name:?}");
        }
        for nr in [
            libc::SYS_read,
            libc::SYS_getpid,
            libc::SYS_lseek,
            libc::SYS_fstat,
        ] {
            assert_eq!(verdict(nr, [3; 6]), ALLOW, "{nr}");
        }
    }

    #[test]
    fn arguments_decide_the_conditional_rules() {
        assert_eq!(verdict(libc::SYS_write, [1, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(verdict(libc::SYS_write, [2, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(verdict(libc::SYS_write, [3, 0, 0, 0, 0, 0]), TRACE);
        assert_eq!(
            verdict(libc::SYS_writev, [1 << 40 | 1, 0, 0, 0, 0, 0]),
            ALLOW
        );
        let getfl = [3, libc::F_GETFL as u64, 0, 0, 0, 0];
        assert_eq!(verdict(libc::SYS_fcntl, getfl), ALLOW);
        let dupfd = [3, libc::F_DUPFD as u64, 0, 0, 0, 0];
        assert_eq!(verdict(libc::SYS_fcntl, dupfd), TRACE);
        let private = [0, 0, 3, libc::MAP_PRIVATE as u64, 3, 0];
        assert_eq!(verdict(libc::SYS_mmap, private), ALLOW);
        let read_only = [0, 0, 1, libc::MAP_SHARED as u64, 3, 0];
        assert_eq!(verdict(libc::SYS_mmap, read_only), ALLOW);
        let validate = [0, 0, 3, 3, 3, 0];
        assert_eq!(verdict(libc::SYS_mmap, validate), TRACE);
    }

    #[test]
    fn other_abis_stop_the_child() {
        let program = program();
        let i386_write = run(&program, 0x4000_0003, 4, [0; 6]);
        assert_eq!(i386_write, Some(TRACE | DATA_FOREIGN_ARCH));
        let x32_read = run(&program, AUDIT_ARCH, X32_SYSCALL_BIT, [0; 6]);
        assert_eq!(x32_read, Some(TRACE | DATA_X32));
    }
}
