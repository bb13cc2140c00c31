//! What a stopped `repair` leaves beside a file, named by the commands that only read it.
//!
//! Guarantees: only names are looked at (`lstat`): a leftover is never opened, followed,
//! read or trusted. `repair` itself removes the temporary file (holding the file's lock, it
//! knows no other repair is writing it) and keeps a backup that is the file itself.

use std::fs;
use std::path::Path;

use crate::durable::{bak_path, tmp_path};

/// Notes on stderr the leftovers of a stopped repair beside `path`.
pub fn note(path: &Path) {
    let tmp = tmp_path(path);
    if fs::symlink_metadata(&tmp).is_ok() {
        crate::note!(
            "note: {} exists: left by an `eaof repair` that was stopped before it finished; \
             it is not used (the next `eaof repair {}` removes it)",
            tmp.display(),
            path.display()
        );
    }
    let bak = bak_path(path);
    if let (Ok(file), Ok(backup)) = (fs::symlink_metadata(path), fs::symlink_metadata(&bak)) {
        if crate::source::same_file(&file, &backup) {
            crate::note!(
                "note: {} is {} itself (a hard link): a repair was stopped after keeping \
                 the original and before replacing it; run `eaof repair --force` again",
                bak.display(),
                path.display()
            );
        }
    }
}
