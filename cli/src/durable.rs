//! Changing files so that a crash at any moment leaves either the old contents or the new,
//! never a mix, and so that nothing is changed if the file moved under us.
//!
//! - [`cut`]: shorten a file in place (`set_len`, then fsync): a crash leaves the old length
//!   or the new one, and both read as the same intact records.
//! - [`replace`]: write the new contents to `FILE.repair.tmp`, fsync it, rename it over `FILE`,
//!   fsync the directory. The new file gets the old one's permission bits.
//! - [`create_new`]: write a file that must not exist yet (key files, backups), fsync it
//!   and its directory.
//!
//! Each first checks that the file still has the length it had when it was read: if a
//! writer appended meanwhile, it refuses rather than lose the appended records.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// The temporary file beside `path` (`shard-0.aof.repair.tmp`); not the writer's `.tmp`,
/// so that a repair never touches a file the writer may be using.
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".repair.tmp");
    path.with_file_name(name)
}

/// `path` with `.bak` appended (`shard-0.aof.bak`).
pub fn bak_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".bak");
    path.with_file_name(name)
}

/// The directory holding `path` (`.` for a bare name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

fn sync_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(parent_dir(path))?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// Fails unless `file` is still `expected` bytes long.
fn unchanged(file: &File, expected: u64) -> io::Result<()> {
    let now = file.metadata()?.len();
    if now == expected {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "the file changed while it was being repaired ({expected} bytes when read, {now} \
             now): is a writer running? nothing was changed"
        )))
    }
}

/// Cuts `path`, which was `expected` bytes long when read, to `len` bytes, durably.
pub fn cut(path: &Path, expected: u64, len: u64) -> io::Result<()> {
    let file = OpenOptions::new().write(true).open(path)?;
    unchanged(&file, expected)?;
    file.set_len(len)?;
    file.sync_all()
}

/// Replaces `path`, which was `expected` bytes long when read, with `contents`, crash-safely.
pub fn replace(path: &Path, expected: u64, contents: &[u8]) -> io::Result<()> {
    let original = File::open(path)?;
    unchanged(&original, expected)?;
    let permissions = original.metadata()?.permissions();
    let tmp = tmp_path(path);
    let mut fresh = private_options().create(true).truncate(true).open(&tmp)?;
    let written = fresh
        .write_all(contents)
        .and_then(|()| fresh.sync_all())
        .and_then(|()| fs::set_permissions(&tmp, permissions));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    // Checked again at the last moment: the window for a lost append is the rename alone.
    if let Err(e) = unchanged(&original, expected).and_then(|()| fs::rename(&tmp, path)) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(path)
}

/// Creates `path` (which must not exist) holding `contents`, with `mode` on Unix, durably.
pub fn create_new(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let mut file = private_options().create_new(true).open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Exactly `mode`, whatever the umask took away or left.
        file.set_permissions(fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    file.write_all(contents)?;
    file.sync_all()?;
    sync_dir(path)
}

/// The permission bits of `path` (0600 where there are none).
pub fn mode_of(path: &Path) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).map_or(0o600, |m| m.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        0o600
    }
}

fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}
