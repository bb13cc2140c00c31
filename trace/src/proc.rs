//! What the tracer reads about a stopped tracee: its memory (`process_vm_readv`), and its
//! descriptors, working directory and thread group through `/proc`.
//!
//! Guarantees: every read is bounded (a string by [`PATH_LEN_MAX`], a buffer by the length
//! asked, a file by the limit the caller gives); nothing here blocks on a tracee (the tracee
//! is stopped, `/proc` answers from the kernel, and files are opened with `O_NONBLOCK` and
//! read only when they are regular files); a tracee that vanished reads as `None`.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{IoSlice, IoSliceMut, Read};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use nix::sys::uio::{process_vm_readv, process_vm_writev, RemoteIoVec};
use nix::unistd::Pid;

use crate::event::{FileId, SeenKind};

/// The longest path the kernel accepts (`PATH_MAX`, the terminating zero included).
pub const PATH_LEN_MAX: usize = 4096;
/// Most iovecs a vectored write may carry (`IOV_MAX`).
pub const IOV_MAX: usize = 1024;
const PAGE: usize = 4096;

/// Reads `len` bytes at `addr` of `tid`'s memory; `None` if any of it is unreadable.
pub fn read_mem(tid: u32, addr: u64, len: usize) -> Option<Vec<u8>> {
    let mut out = vec![0u8; len];
    if len == 0 {
        return Some(out);
    }
    let remote = [RemoteIoVec {
        base: usize::try_from(addr).ok()?,
        len,
    }];
    let mut local = [IoSliceMut::new(&mut out)];
    let n = process_vm_readv(pid(tid), &mut local, &remote).ok()?;
    (n == len).then_some(out)
}

/// Writes `bytes` at `addr` of `tid`'s memory; whether all of it was written.
pub fn write_mem(tid: u32, addr: u64, bytes: &[u8]) -> bool {
    let Ok(base) = usize::try_from(addr) else {
        return false;
    };
    let remote = [RemoteIoVec {
        base,
        len: bytes.len(),
    }];
    let local = [IoSlice::new(bytes)];
    process_vm_writev(pid(tid), &local, &remote).is_ok_and(|n| n == bytes.len())
}

/// Reads the zero-terminated string at `addr` (at most [`PATH_LEN_MAX`] bytes), a page at a
/// time so that a string ending just before an unmapped page reads whole.
pub fn read_cstr(tid: u32, addr: u64) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = addr;
    while out.len() < PATH_LEN_MAX {
        let to_page_end = PAGE - (at as usize % PAGE);
        let chunk = read_mem(tid, at, to_page_end.min(PATH_LEN_MAX - out.len()))?;
        if let Some(end) = chunk.iter().position(|&b| b == 0) {
            out.extend_from_slice(&chunk[..end]);
            return Some(out);
        }
        out.extend_from_slice(&chunk);
        at += chunk.len() as u64;
    }
    None
}

/// One iovec of a tracee: where and how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Iovec {
    pub base: u64,
    pub len: u64,
}

/// Reads `count` iovecs at `addr` (at most [`IOV_MAX`]).
pub fn read_iovecs(tid: u32, addr: u64, count: u64) -> Option<Vec<Iovec>> {
    let count = usize::try_from(count).ok().filter(|&c| c <= IOV_MAX)?;
    let raw = read_mem(tid, addr, count * 16)?;
    Some(
        raw.chunks_exact(16)
            .map(|c| Iovec {
                base: u64::from_ne_bytes(c[..8].try_into().unwrap_or_default()),
                len: u64::from_ne_bytes(c[8..].try_into().unwrap_or_default()),
            })
            .collect(),
    )
}

/// Writes iovec `index` of the array at `addr`.
pub fn write_iovec(tid: u32, addr: u64, index: usize, iov: Iovec) -> bool {
    let mut raw = [0u8; 16];
    raw[..8].copy_from_slice(&iov.base.to_ne_bytes());
    raw[8..].copy_from_slice(&iov.len.to_ne_bytes());
    write_mem(tid, addr + 16 * index as u64, &raw)
}

/// The first `len` bytes the iovecs point to, in order.
pub fn gather(tid: u32, iovecs: &[Iovec], len: u64) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut left = len;
    for iov in iovecs {
        if left == 0 {
            break;
        }
        let take = iov.len.min(left);
        out.extend(read_mem(tid, iov.base, usize::try_from(take).ok()?)?);
        left -= take;
    }
    Some(out)
}

fn pid(tid: u32) -> Pid {
    Pid::from_raw(tid as i32)
}

fn fd_link(tid: u32, fd: i32) -> PathBuf {
    PathBuf::from(format!("/proc/{tid}/fd/{fd}"))
}

/// What a descriptor refers to: the path (without the kernel's " (deleted)" mark) and what
/// `stat` says of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdTarget {
    pub path: PathBuf,
    pub file: FileId,
    pub kind: Kind,
    pub len: u64,
}

/// A file's type, as far as the recorder cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Other,
}

fn kind_of(meta: &fs::Metadata) -> Kind {
    if meta.is_file() {
        Kind::File
    } else if meta.is_dir() {
        Kind::Dir
    } else {
        Kind::Other
    }
}

fn id_of(meta: &fs::Metadata) -> FileId {
    FileId {
        dev: meta.dev(),
        ino: meta.ino(),
    }
}

/// The path `fd` of `tid` refers to, if it is a path (not a pipe, socket or anonymous inode).
pub fn fd_path(tid: u32, fd: i32) -> Option<PathBuf> {
    let link = fs::read_link(fd_link(tid, fd)).ok()?;
    let bytes = link.as_os_str().as_bytes();
    if !bytes.starts_with(b"/") {
        return None;
    }
    let bytes = bytes.strip_suffix(b" (deleted)").unwrap_or(bytes);
    Some(PathBuf::from(OsString::from_vec(bytes.to_vec())))
}

/// What `fd` of `tid` refers to, given its path already read.
pub fn fd_stat(tid: u32, fd: i32, path: PathBuf) -> Option<FdTarget> {
    let meta = fs::metadata(fd_link(tid, fd)).ok()?;
    Some(FdTarget {
        path,
        file: id_of(&meta),
        kind: kind_of(&meta),
        len: meta.len(),
    })
}

/// The identity, type and length of the file at `path`, without following a final symbolic
/// link; `None` when there is none.
pub fn lstat(path: &Path) -> Option<(FileId, Kind, u64)> {
    let meta = fs::symlink_metadata(path).ok()?;
    Some((id_of(&meta), kind_of(&meta), meta.len()))
}

/// The device of `path`.
pub fn device(path: &Path) -> Option<u64> {
    fs::metadata(path).ok().map(|m| m.dev())
}

/// A descriptor's position and `O_*` flags (`/proc/TID/fdinfo/FD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdInfo {
    pub pos: u64,
    pub flags: i32,
}

pub fn fd_info(tid: u32, fd: i32) -> Option<FdInfo> {
    let text = fs::read_to_string(format!("/proc/{tid}/fdinfo/{fd}")).ok()?;
    let mut pos = None;
    let mut flags = None;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("pos:") {
            pos = v.trim().parse().ok();
        } else if let Some(v) = line.strip_prefix("flags:") {
            flags = i32::from_str_radix(v.trim(), 8).ok();
        }
    }
    Some(FdInfo {
        pos: pos?,
        flags: flags?,
    })
}

/// The descriptors `tid` has open.
pub fn fds(tid: u32) -> Vec<i32> {
    let Ok(dir) = fs::read_dir(format!("/proc/{tid}/fd")) else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// `tid`'s working directory.
pub fn cwd(tid: u32) -> Option<PathBuf> {
    fs::read_link(format!("/proc/{tid}/cwd")).ok()
}

/// The program `tid` runs.
pub fn exe(tid: u32) -> Option<PathBuf> {
    fs::read_link(format!("/proc/{tid}/exe")).ok()
}

/// The thread group (process) of `tid`.
pub fn tgid(tid: u32) -> Option<u32> {
    let status = fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
}

/// The contents of a regular file opened through `path` (a path, or a `/proc/TID/fd/FD`
/// link), at most `max` bytes; a longer file is [`SeenKind::TooLarge`].
pub fn read_contents(path: &Path, max: u64) -> SeenKind {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path);
    let Ok(file) = file else {
        return SeenKind::Other;
    };
    let Ok(meta) = file.metadata() else {
        return SeenKind::Other;
    };
    if meta.is_dir() {
        return SeenKind::Dir;
    }
    if !meta.is_file() {
        return SeenKind::Other;
    }
    if meta.len() > max {
        return SeenKind::TooLarge(meta.len());
    }
    let mut out = Vec::with_capacity(meta.len() as usize);
    // One byte past the limit tells a file that grew meanwhile.
    match file.take(max + 1).read_to_end(&mut out) {
        Ok(_) if out.len() as u64 <= max => SeenKind::File(out),
        Ok(_) => SeenKind::TooLarge(out.len() as u64),
        Err(_) => SeenKind::Other,
    }
}

/// The contents of the file `fd` of `tid` refers to (see [`read_contents`]).
pub fn fd_contents(tid: u32, fd: i32, max: u64) -> SeenKind {
    read_contents(&fd_link(tid, fd), max)
}

/// Opens the file `fd` of `tid` refers to for writing (a new open file description of the
/// same inode), to put back what a failed `fsync` lost.
pub fn reopen_for_write(tid: u32, fd: i32) -> std::io::Result<File> {
    OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(fd_link(tid, fd))
}

/// `path` made absolute against `base` and without `.` or `..` components, lexically (a
/// symbolic link on the way is not followed).
pub fn normalize(base: &Path, path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    };
    let mut out = PathBuf::from("/");
    for component in joined.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(name) => out.push(name),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalized_lexically() {
        let base = Path::new("/work/dir");
        assert_eq!(
            normalize(base, Path::new("a/./b/../c")),
            Path::new("/work/dir/a/c")
        );
        assert_eq!(normalize(base, Path::new("/x/../../y")), Path::new("/y"));
        assert_eq!(normalize(base, Path::new("..")), Path::new("/work"));
        assert_eq!(normalize(base, Path::new("")), Path::new("/work/dir"));
    }

    #[test]
    fn own_memory_reads_back_and_strings_stop_at_zero() {
        let me = std::process::id();
        let buf = b"hello\0world".to_vec();
        let addr = buf.as_ptr() as u64;
        assert_eq!(read_mem(me, addr, 5).as_deref(), Some(&b"hello"[..]));
        assert_eq!(read_cstr(me, addr).as_deref(), Some(&b"hello"[..]));
        assert_eq!(read_mem(me, 8, 4), None, "page zero is unmapped");
    }
}
