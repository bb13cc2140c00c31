//! A log file on the real file system, and what the harness knows of its durability.
//!
//! An implementation that does its own I/O cannot tell the harness which of its bytes are
//! durable, so the harness keeps the account itself, conservatively: bytes are durable only
//! once a sync the harness called returned `Ok` (syncs the implementation makes inside other
//! calls are not counted, which can only add crash states), and after each call the file's
//! length is noted as a place where a file grown before its data landed may end.
//!
//! The account sees one file, not its directory. A `truncate` that returned `Ok` is taken
//! to have made the new, empty log durable, as its contract says (the seed's and eaof's
//! both sync the new file before renaming it); while it runs, the engines check the old
//! file and the new one (see `crate::script`). So a truncate that skips a sync, of the new
//! file or of the directory after its rename, is not seen here: that takes an account of
//! the calls the implementation makes (the simulated disk, or a trace: `crate::account`).
//!
//! Files live in a fresh temporary directory, on `/dev/shm` when it exists (fsyncs there
//! cost nothing, and a model checker calls sync thousands of times), or where
//! `EAOF_CHECK_TMPDIR` says.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::target::{FileState, Op};

/// A temporary directory for a target's files, in `dir`.
pub fn temp_dir_in(dir: &Path) -> io::Result<TempDir> {
    tempfile::Builder::new()
        .prefix("eaof-check")
        .tempdir_in(dir)
}

/// A temporary directory for a target's files.
pub fn temp_dir() -> io::Result<TempDir> {
    if let Some(dir) = std::env::var_os("EAOF_CHECK_TMPDIR") {
        return temp_dir_in(Path::new(&dir));
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

/// One log file in its own temporary directory, and the harness's account of it
/// ([`HarnessAccount`]).
#[derive(Debug)]
pub struct TrackedFile {
    // Kept for its `Drop`, which removes the directory.
    _dir: TempDir,
    account: HarnessAccount,
}

impl TrackedFile {
    /// A file named `name` (not yet created) in a fresh temporary directory.
    pub fn new(name: &str) -> io::Result<Self> {
        let dir = temp_dir()?;
        let path = dir.path().join(name);
        Ok(TrackedFile {
            _dir: dir,
            account: HarnessAccount::new(path),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.account.path
    }

    /// Removes the file; nothing is durable.
    pub fn remove(&mut self) -> io::Result<()> {
        remove(self.path())?;
        self.account.removed();
        Ok(())
    }

    /// Notes the file's length after a call that may have written.
    pub fn after_write(&mut self) {
        self.account.after_write();
    }

    /// A call returned: see [`HarnessAccount::after_call`].
    pub fn after_call(&mut self, op: Op, ok: bool) {
        self.account.after_call(op, ok);
    }

    /// A writer was opened on the file: see [`HarnessAccount::after_reopen`].
    pub fn after_reopen(&mut self) {
        self.account.after_reopen();
    }

    /// Makes the file exactly `image`, all of it durable (what a crash left).
    pub fn load(&mut self, image: &[u8]) -> io::Result<()> {
        fs::write(self.path(), image)?;
        self.account.loaded(image);
        Ok(())
    }

    /// What is on disk now, and what a crash keeps.
    pub fn state(&self) -> io::Result<FileState> {
        self.account.state()
    }
}

/// Removes the file at `path`, if there is one.
pub fn remove(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The bytes of the file at `path` (none when there is no file).
pub fn read(path: &Path) -> io::Result<Vec<u8>> {
    match fs::read(path) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The bytes of the file at `path`, `None` when there is no file.
pub fn read_present(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The harness's account of one real file (see the module documentation).
#[derive(Debug, Clone)]
pub struct HarnessAccount {
    path: PathBuf,
    durable_len: usize,
    ends: Vec<usize>,
}

impl HarnessAccount {
    /// An account of the file at `path`, which does not exist yet.
    pub fn new(path: PathBuf) -> Self {
        HarnessAccount {
            path,
            durable_len: 0,
            ends: Vec::new(),
        }
    }

    /// The file's length now (0 when it does not exist).
    fn len(&self) -> usize {
        fs::metadata(&self.path).map_or(0, |m| m.len() as usize)
    }

    /// The file was removed: nothing is durable.
    pub fn removed(&mut self) {
        self.durable_len = 0;
        self.ends.clear();
    }

    /// The file was made exactly `image`, all of it durable.
    pub fn loaded(&mut self, image: &[u8]) {
        self.durable_len = image.len();
        self.ends.clear();
    }

    /// Notes the file's length after a call that may have written.
    pub fn after_write(&mut self) {
        let len = self.len();
        if len > self.durable_len && self.ends.last() != Some(&len) {
            self.ends.push(len);
        }
    }

    /// A call returned (`ok`: with `Ok`): a sync makes everything on disk durable, a
    /// truncate leaves a new file taken as durable (see the module documentation), an
    /// opening keeps what it kept of the durable prefix; any other call, or a failed one,
    /// may have written.
    pub fn after_call(&mut self, op: Op, ok: bool) {
        match (op, ok) {
            (Op::Sync | Op::Truncate, true) => {
                self.durable_len = self.len();
                self.ends.clear();
            }
            (Op::Reopen, _) => self.after_reopen(),
            _ => self.after_write(),
        }
    }

    /// A writer was opened on the file: what it kept of the durable prefix stays durable.
    pub fn after_reopen(&mut self) {
        self.durable_len = self.durable_len.min(self.len());
        self.ends.retain(|&end| end > self.durable_len);
        self.after_write();
    }

    /// What is on disk now, and what a crash keeps.
    pub fn state(&self) -> io::Result<FileState> {
        Ok(FileState::new(
            read(&self.path)?,
            self.durable_len,
            &self.ends,
        ))
    }
}
