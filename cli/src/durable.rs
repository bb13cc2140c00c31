//! Changing files so that a crash at any moment leaves either the old contents or the new,
//! never a partial file under a final name, and so that nothing is changed if the file moved
//! or grew under us.
//!
//! - [`cut`]: shorten the opened (and locked) file in place: `set_len`, then fsync. A crash
//!   leaves the old length or the new one, and both read as the same intact records.
//! - [`Tmp`]: the new contents go to `FILE.repair.tmp` beside FILE, created new
//!   (`O_CREAT|O_EXCL`: a file or a symbolic link already at that name makes the creation
//!   fail, so a planted link is never followed), given FILE's owner, group and mode before
//!   a byte is written (or the repair stops there), written, fsynced, then renamed over FILE
//!   once FILE is checked to still have the length it had when read; the directory is
//!   fsynced after. A failure at any step before the rename removes the temporary file.
//! - [`keep_original`]: `FILE.bak` is a hard link to FILE made before the rename: the
//!   original inode itself (its bytes, owner and mode), complete from the moment it has the
//!   name, with nothing copied.
//! - [`create_new`]: a file that must not exist yet (`keygen`): written to a temporary
//!   beside it, fsynced, then linked to its name (which fails if the name exists).
//!
//! Nothing here does I/O in `Drop`: every removal on failure is explicit.

use std::fs::{self, File, Metadata, OpenOptions, Permissions};
use std::io::{self, Write as _};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::source::same_file;

/// The temporary file beside `path` (`shard-0.aof.repair.tmp`); not the writer's `.tmp`,
/// so that a repair never touches a file the writer may be using.
pub fn tmp_path(path: &Path) -> PathBuf {
    with_suffix(path, ".repair.tmp")
}

/// `path` with `.bak` appended (`shard-0.aof.bak`).
pub fn bak_path(path: &Path) -> PathBuf {
    with_suffix(path, ".bak")
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// The directory holding `path` (`.` for a bare name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Makes the entries of `path`'s directory durable (a rename, a link, a removal).
pub fn sync_dir(path: &Path) -> io::Result<()> {
    File::open(parent_dir(path))?.sync_all()
}

/// A step that failed: the file it was about and what was being done.
#[derive(Debug)]
pub struct Failed {
    pub path: PathBuf,
    pub doing: String,
    pub error: io::Error,
}

fn failed(path: &Path, doing: impl Into<String>) -> impl FnOnce(io::Error) -> Failed {
    let path = path.to_path_buf();
    let doing = doing.into();
    move |error| Failed { path, doing, error }
}

/// Fails unless `file` is still `expected` bytes long.
fn unchanged(file: &File, expected: u64) -> io::Result<()> {
    let now = file.metadata()?.len();
    if now == expected {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "the file changed while it was being repaired ({expected} bytes when read, {now} \
             now): is a writer running?"
        )))
    }
}

/// Cuts `file` (opened for writing, locked), which was `expected` bytes long when read, to
/// `len` bytes, durably.
pub fn cut(file: &File, expected: u64, len: u64) -> io::Result<()> {
    unchanged(file, expected)?;
    file.set_len(len)?;
    file.sync_all()
}

/// A leftover of a stopped repair at `FILE.repair.tmp`, removed: what it was.
pub fn remove_leftover_tmp(path: &Path) -> Result<Option<&'static str>, Failed> {
    let tmp = tmp_path(path);
    let meta = match fs::symlink_metadata(&tmp) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        other => other.map_err(failed(&tmp, "looking for a leftover of a stopped repair"))?,
    };
    let what = crate::source::not_regular(&meta).unwrap_or("a regular file");
    // unlink removes the name only: a link is not followed, a file is not read.
    fs::remove_file(&tmp).map_err(failed(
        &tmp,
        format!("removing the leftover of a stopped repair ({what})"),
    ))?;
    Ok(Some(what))
}

/// The new contents of a file, being written beside it.
pub struct Tmp {
    pub file: File,
    pub path: PathBuf,
}

impl Tmp {
    /// Creates `FILE.repair.tmp` beside `path`, owned and moded as `like` (FILE's metadata).
    pub fn create(path: &Path, like: &Metadata) -> Result<Tmp, Failed> {
        let tmp = tmp_path(path);
        let file = new_file(&tmp).map_err(failed(
            &tmp,
            "creating the new file (it must not exist; nothing was changed)",
        ))?;
        let made = Tmp { file, path: tmp };
        if let Err(e) = made.take_owner_and_mode(like) {
            return Err(made.fail(e));
        }
        Ok(made)
    }

    fn take_owner_and_mode(&self, like: &Metadata) -> Result<(), Failed> {
        let (uid, gid, mode) = (like.uid(), like.gid(), like.mode() & 0o7777);
        let doing = format!(
            "giving it the owner, group and mode of the original (uid {uid}, gid {gid}, mode \
             {mode:04o}), which must be kept; nothing was changed"
        );
        // The owner first: changing it may clear set-user-ID and set-group-ID bits.
        std::os::unix::fs::fchown(&self.file, Some(uid), Some(gid))
            .and_then(|()| self.file.set_permissions(Permissions::from_mode(mode)))
            .and_then(|()| {
                let got = self.file.metadata()?;
                if (got.uid(), got.gid(), got.mode() & 0o7777) == (uid, gid, mode) {
                    Ok(())
                } else {
                    Err(io::Error::other(format!(
                        "the file system kept uid {}, gid {}, mode {:04o}",
                        got.uid(),
                        got.gid(),
                        got.mode() & 0o7777
                    )))
                }
            })
            .map_err(failed(&self.path, doing))
    }

    /// Removes the temporary file (its contents were never used).
    pub fn discard(self) {
        drop(self.file);
        let _ = fs::remove_file(&self.path);
    }

    /// Removes the temporary file after `failure`, which it returns.
    pub fn fail(self, failure: Failed) -> Failed {
        self.discard();
        failure
    }

    /// Makes the written contents durable, then renames them over `path` after checking
    /// that `original` (the opened FILE) still has the `expected` length it had when read,
    /// and makes the rename durable. On failure before the rename the temporary file is
    /// removed and FILE is as it was.
    pub fn replace(self, path: &Path, original: &File, expected: u64) -> Result<(), Failed> {
        if let Err(e) = self.file.sync_all() {
            let failure = failed(
                &self.path,
                "writing the new file to disk; nothing was changed",
            )(e);
            return Err(self.fail(failure));
        }
        // Checked at the last moment: the window for a lost append is the rename alone.
        if let Err(e) = unchanged(original, expected) {
            let failure = failed(path, "replacing it; nothing was changed")(e);
            return Err(self.fail(failure));
        }
        if let Err(e) = fs::rename(&self.path, path) {
            let failure = failed(path, "replacing it; nothing was changed")(e);
            return Err(self.fail(failure));
        }
        sync_dir(path).map_err(failed(
            path,
            "making the replacement durable (the file is replaced; a power loss before the \
             directory reached the disk may bring the original back)",
        ))
    }
}

/// Whether `FILE.bak` was made now or found made by a stopped repair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backup {
    Made,
    /// A hard link to FILE itself: made by a repair stopped before it replaced FILE.
    Leftover,
}

/// Keeps the original as `FILE.bak`: a hard link to FILE's inode (`original`, FILE's
/// metadata when it was opened). An existing `FILE.bak` that is another file is refused
/// (`AlreadyExists`); one that is FILE itself is what a stopped repair left, and is kept.
pub fn keep_original(path: &Path, original: &Metadata) -> io::Result<Backup> {
    let bak = bak_path(path);
    match fs::symlink_metadata(&bak) {
        Ok(meta) if same_file(&meta, original) => return Ok(Backup::Leftover),
        Ok(_) => return Err(io::ErrorKind::AlreadyExists.into()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    // linkat without AT_SYMLINK_FOLLOW: if FILE was swapped for a link meanwhile, the link
    // itself is linked, and the check below refuses it.
    fs::hard_link(path, &bak)?;
    let linked = fs::symlink_metadata(&bak)?;
    if !same_file(&linked, original) {
        let _ = fs::remove_file(&bak);
        return Err(io::Error::other(
            "FILE was replaced by another file while it was being repaired",
        ));
    }
    sync_dir(&bak)?;
    Ok(Backup::Made)
}

/// A new file for writing at `path`, which must not exist (never through a link), mode 0600
/// until its real mode is set.
fn new_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// Creates `path` (which must not exist) holding `contents`, with exactly `mode`, durably:
/// the contents are written to a temporary beside it first, so `path` never names a
/// partial file.
pub fn create_new(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    if fs::symlink_metadata(path).is_ok() {
        return Err(io::ErrorKind::AlreadyExists.into());
    }
    let tmp = with_suffix(path, &format!(".{}.tmp", std::process::id()));
    let mut file = new_file(&tmp)?;
    let written = (|| {
        // Exactly `mode`, whatever the umask took away or left.
        file.set_permissions(Permissions::from_mode(mode))?;
        file.write_all(contents)?;
        file.sync_all()?;
        // link fails if `path` exists by now: the name gets a complete file or nothing.
        fs::hard_link(&tmp, path)
    })();
    let _ = fs::remove_file(&tmp);
    written?;
    sync_dir(path)
}
