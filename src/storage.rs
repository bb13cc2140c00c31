//! The storage seam: the only way the reader and writer touch files.
//!
//! The real file system implements it with `std::fs`; the model checker implements it with a
//! simulated disk that can crash and fail. Each method states the contract a simulation must
//! honour, which is what POSIX file systems give: data is durable only after `sync`, and a
//! new or renamed directory entry only after `sync_dir` of its directory.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// A file system.
pub trait Storage {
    type File: StorageFile;

    /// Opens `path` for reading and appending, creating it empty (mode 0600) when missing.
    /// A created file's directory entry is not durable until [`Storage::sync_dir`].
    fn open(&self, path: &Path) -> io::Result<Self::File>;

    /// Opens an existing `path` for reading only.
    fn open_read(&self, path: &Path) -> io::Result<Self::File>;

    /// Creates `path` empty for appending (mode 0600), replacing any file there.
    fn create(&self, path: &Path) -> io::Result<Self::File>;

    /// Atomically replaces `to` with `from`. Durable only after `sync_dir` of the directory.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;

    /// Makes the directory's entries (creations, renames) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

/// An open file.
#[allow(clippy::len_without_is_empty)] // a file length, not a collection
pub trait StorageFile {
    /// The file's current length, durable or not.
    fn len(&self) -> io::Result<u64>;

    /// Reads up to `buf.len()` bytes at `offset`; returns how many (0 only at the end).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;

    /// Appends all of `data` at the end of the file. On error, any prefix of `data` may have
    /// been appended.
    fn append(&mut self, data: &[u8]) -> io::Result<()>;

    /// Cuts or extends (with zeros) the file to `len` bytes. Not durable until `sync`.
    fn set_len(&mut self, len: u64) -> io::Result<()>;

    /// Makes every byte appended or cut so far durable. On error, the data not yet durable
    /// may be lost, so a caller must not assume a retry would make it durable.
    fn sync(&mut self) -> io::Result<()>;
}

/// Reads exactly `buf.len()` bytes at `offset`.
pub fn read_exact_at<F: StorageFile + ?Sized>(
    file: &F,
    mut offset: u64,
    mut buf: &mut [u8],
) -> io::Result<()> {
    while !buf.is_empty() {
        match file.read_at(offset, buf) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                offset += n as u64;
                buf = &mut buf[n..];
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The real file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct FsStorage;

fn private_options() -> OpenOptions {
    let mut opts = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts
}

impl Storage for FsStorage {
    type File = File;

    fn open(&self, path: &Path) -> io::Result<File> {
        private_options()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
    }

    fn open_read(&self, path: &Path) -> io::Result<File> {
        File::open(path)
    }

    fn create(&self, path: &Path) -> io::Result<File> {
        private_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        #[cfg(unix)]
        {
            File::open(dir)?.sync_all()
        }
        #[cfg(not(unix))]
        {
            // Directory handles cannot be synced on this platform; renames are as durable as
            // the platform makes them.
            let _ = dir;
            Ok(())
        }
    }
}

impl StorageFile for File {
    fn len(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }

    #[cfg(unix)]
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(self, buf, offset)
    }

    #[cfg(windows)]
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        std::os::windows::fs::FileExt::seek_read(self, buf, offset)
    }

    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        io::Write::write_all(self, data)
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        File::set_len(self, len)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.sync_all()
    }
}
