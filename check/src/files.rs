//! A log file on the real file system, and what the harness knows of its durability.
//!
//! An implementation that does its own I/O cannot tell the harness which of its bytes are
//! durable, so the harness keeps the account itself, conservatively: bytes are durable only
//! once a sync the harness called returned `Ok` (syncs the implementation makes inside other
//! calls are not counted, which can only add crash states), and after each call the file's
//! length is noted as a place where a file grown before its data landed may end.
//!
//! Files live in a fresh temporary directory, on `/dev/shm` when it exists (fsyncs there
//! cost nothing, and a model checker calls sync thousands of times), or where
//! `EAOF_CHECK_TMPDIR` says.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::target::FileState;

/// A temporary directory for a target's files.
pub fn temp_dir() -> io::Result<TempDir> {
    if let Some(dir) = std::env::var_os("EAOF_CHECK_TMPDIR") {
        return tempfile::Builder::new()
            .prefix("eaof-check")
            .tempdir_in(dir);
    }
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::Builder::new()
            .prefix("eaof-check")
            .tempdir_in(shm)
        {
            return Ok(dir);
        }
    }
    tempfile::Builder::new().prefix("eaof-check").tempdir()
}

/// One log file and its durability account.
#[derive(Debug)]
pub struct TrackedFile {
    // Kept for its `Drop`, which removes the directory.
    _dir: TempDir,
    path: PathBuf,
    durable_len: usize,
    ends: Vec<usize>,
}

impl TrackedFile {
    /// A file named `name` (not yet created) in a fresh temporary directory.
    pub fn new(name: &str) -> io::Result<Self> {
        let dir = temp_dir()?;
        let path = dir.path().join(name);
        Ok(TrackedFile {
            _dir: dir,
            path,
            durable_len: 0,
            ends: Vec::new(),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's length now (0 when it does not exist).
    pub fn len(&self) -> usize {
        fs::metadata(&self.path).map_or(0, |m| m.len() as usize)
    }

    /// Whether the file is empty or missing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes the file; nothing is durable.
    pub fn remove(&mut self) -> io::Result<()> {
        match fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        self.durable_len = 0;
        self.ends.clear();
        Ok(())
    }

    /// Notes the file's length after a call that may have written.
    pub fn after_write(&mut self) {
        let len = self.len();
        if len > self.durable_len && self.ends.last() != Some(&len) {
            self.ends.push(len);
        }
    }

    /// A sync returned `Ok`: everything on disk is durable.
    pub fn after_sync(&mut self) {
        self.durable_len = self.len();
        self.ends.clear();
    }

    /// A writer was opened on the file: what it kept of the durable prefix stays durable.
    pub fn after_reopen(&mut self) {
        self.durable_len = self.durable_len.min(self.len());
        self.ends.retain(|&end| end > self.durable_len);
        self.after_write();
    }

    /// Makes the file exactly `image`, all of it durable (what a crash left).
    pub fn load(&mut self, image: &[u8]) -> io::Result<()> {
        fs::write(&self.path, image)?;
        self.durable_len = image.len();
        self.ends.clear();
        Ok(())
    }

    /// What is on disk now, and what a crash keeps.
    pub fn state(&self) -> io::Result<FileState> {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        Ok(FileState::new(bytes, self.durable_len, &self.ends))
    }
}
