//! Opening the data file a command works on, as root may: refusing whatever is not a
//! regular file before opening it, and never blocking on one.
//!
//! Guarantees:
//! - a FIFO, socket, device or directory is refused ([`Refused::NotRegular`]) from its
//!   `stat`, before it is opened: opening a device can have effects, and opening a FIFO
//!   waits for a writer. The open itself is non-blocking, and the opened file is checked
//!   again (`fstat`), so a path swapped for a FIFO in between is refused too;
//! - for a change ([`Access::Change`]) the last path component is never followed: a
//!   symbolic link is refused naming its target ([`Refused::Symlink`]), the open uses
//!   `O_NOFOLLOW`, and the file is locked (an exclusive advisory `flock`, not waited for:
//!   [`Refused::Locked`]);
//! - the file opened is the one that was `stat`ed (same device and inode), or the open fails.

use std::fs::{self, File, Metadata, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// What a command will do with the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read it (`check`, `inspect`): a symbolic link is followed, as any reader would.
    Read,
    /// Read it and change it in place or replace it (`repair`).
    Change,
}

/// Why a file was not opened.
#[derive(Debug)]
pub enum Refused {
    Io(io::Error),
    /// Not a regular file: what it is (`a FIFO`, `a character device`...).
    NotRegular(&'static str),
    /// A symbolic link, not followed for a change; its target as the link says it.
    Symlink(PathBuf),
    /// Another process holds a lock on it.
    Locked,
}

/// An opened regular file and its metadata at opening.
#[derive(Debug)]
pub struct Opened {
    pub file: File,
    pub meta: Metadata,
}

/// Opens `path` for `access`.
pub fn open(path: &Path, access: Access) -> Result<Opened, Refused> {
    let before = match access {
        Access::Read => fs::metadata(path),
        Access::Change => fs::symlink_metadata(path),
    }
    .map_err(Refused::Io)?;
    if before.file_type().is_symlink() {
        return Err(Refused::Symlink(
            fs::read_link(path).unwrap_or_else(|_| PathBuf::from("?")),
        ));
    }
    if let Some(kind) = not_regular(&before) {
        return Err(Refused::NotRegular(kind));
    }
    let mut options = OpenOptions::new();
    options.read(true);
    let mut flags = libc::O_NONBLOCK | libc::O_NOCTTY;
    if access == Access::Change {
        options.write(true);
        flags |= libc::O_NOFOLLOW;
    }
    let file = options
        .custom_flags(flags)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            // O_NOFOLLOW met a link that appeared after the stat.
            Some(libc::ELOOP) => {
                Refused::Symlink(fs::read_link(path).unwrap_or_else(|_| PathBuf::from("?")))
            }
            _ => Refused::Io(e),
        })?;
    let meta = file.metadata().map_err(Refused::Io)?;
    if let Some(kind) = not_regular(&meta) {
        return Err(Refused::NotRegular(kind));
    }
    if (meta.dev(), meta.ino()) != (before.dev(), before.ino()) {
        return Err(Refused::Io(io::Error::other(
            "the path was replaced by another file while it was being opened",
        )));
    }
    if access == Access::Change {
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(Refused::Locked),
            Err(fs::TryLockError::Error(e)) => return Err(Refused::Io(e)),
        }
    }
    Ok(Opened { file, meta })
}

/// What a file is when it is not a regular file.
pub fn not_regular(meta: &Metadata) -> Option<&'static str> {
    let kind = meta.file_type();
    if kind.is_file() {
        None
    } else if kind.is_dir() {
        Some("a directory")
    } else if kind.is_fifo() {
        Some("a FIFO")
    } else if kind.is_socket() {
        Some("a socket")
    } else if kind.is_char_device() {
        Some("a character device")
    } else if kind.is_block_device() {
        Some("a block device")
    } else if kind.is_symlink() {
        Some("a symbolic link")
    } else {
        Some("not a regular file")
    }
}

/// Whether two metadata are of the same file (device and inode).
pub fn same_file(a: &Metadata, b: &Metadata) -> bool {
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}
