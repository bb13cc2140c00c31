//! A file's bytes mapped read-only, so that the library's scanner, judge and salvage plan
//! (which work on one `&[u8]` of the whole file) run on a file of any size without holding
//! it in the heap. The only unsafe code of the command is here.
//!
//! Guarantees:
//! - the mapping is read-only and shared: its pages are the kernel's page cache, never
//!   counted as this process's heap (RLIMIT_DATA) and reclaimable under memory pressure;
//!   [`Mapped::release_before`] lets a pass drop the pages behind it, so that the resident
//!   size stays near [`RELEASE_STEP`] however large the file;
//! - a file that shrinks under the mapping (another process truncating it) or whose pages
//!   cannot be read (a disk error) raises SIGBUS on the next access to a lost page; the
//!   handler installed here writes one line naming the file to stderr and ends the process
//!   with exit code 4 ([`crate::exit::Exit::Unreadable`]) at once. Nothing is written to a
//!   final name before every read of the mapping is done (see `repair`), so such a stop
//!   leaves at most a temporary file, which the next `repair` recognises;
//! - an empty file is an empty slice (no mapping).
#![allow(unsafe_code)] // mmap, madvise and sigaction: see each block's SAFETY note.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use memmap2::{Mmap, UncheckedAdvice};

/// Bytes a pass reads past the last released page before releasing again.
pub const RELEASE_STEP: usize = 64 << 20;

/// A regular file's bytes, mapped.
pub struct Mapped {
    map: Option<Mmap>,
    /// Bytes before this offset have been released.
    released: AtomicUsize,
}

impl Mapped {
    /// Maps `file` (a regular file, opened for reading; `path` names it in the SIGBUS message)
    /// as it is now: bytes appended later are not seen.
    pub fn new(file: &File, path: &Path) -> io::Result<Mapped> {
        if file.metadata()?.len() == 0 {
            return Ok(Mapped {
                map: None,
                released: AtomicUsize::new(0),
            });
        }
        sigbus::name_the_file(path);
        // SAFETY: memmap2 marks mapping unsafe because another process may change the file
        // while it is mapped. A change of contents under a shared read-only mapping shows as
        // different bytes, which every reader here treats as untrusted input (no invariant
        // of this program rests on the bytes staying the same: `repair` re-checks the length
        // before it replaces anything, and verifies what it wrote from the written file).
        // A truncation raises SIGBUS, which `sigbus` turns into a clean stop.
        let map = unsafe { Mmap::map(file)? };
        // Readahead for the sequential passes; advice only, so a failure changes nothing.
        let _ = map.advise(memmap2::Advice::Sequential);
        Ok(Mapped {
            map: Some(map),
            released: AtomicUsize::new(0),
        })
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or_default()
    }

    /// Tells the kernel the pages before `offset` are not needed any more, once a pass has
    /// gone [`RELEASE_STEP`] past the last release: they leave this process's resident set
    /// (they stay in the page cache, and reading them again maps them again).
    pub fn release_before(&self, offset: u64) {
        let Some(map) = &self.map else { return };
        let from = self.released.load(Ordering::Relaxed);
        let offset = (offset as usize).min(map.len());
        if offset < from + RELEASE_STEP {
            return;
        }
        let page = page_size();
        let to = offset / page * page;
        // SAFETY: memmap2 marks MADV_DONTNEED unsafe because on a private mapping it replaces
        // the pages with zeros, which would change bytes a borrow still points at. This
        // mapping is shared and file-backed: after MADV_DONTNEED the next access maps the
        // same page of the page cache again, with the file's contents, so no byte a borrow
        // sees changes (beyond what a concurrent writer can change anyway, see `new`).
        if unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, from, to - from) }.is_ok()
        {
            self.released.store(to, Ordering::Relaxed);
        }
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf reads a constant of the system; it has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size)
        .ok()
        .filter(|&s| s > 0)
        .unwrap_or(4096)
}

/// Turning SIGBUS (a mapped page that cannot be read) into a message and exit code 4.
mod sigbus {
    use super::*;

    /// The message the handler writes: a leaked, never freed, byte string (one per file
    /// mapped, a few per run).
    static MESSAGE: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
    static MESSAGE_LEN: AtomicUsize = AtomicUsize::new(0);

    /// Sets the message to name `path` (the file mapped last, the one being read), and
    /// installs the handler.
    pub fn name_the_file(path: &Path) {
        let message = format!(
            "{}: unreadable: a mapped page of the file could not be read: it shrank while \
             being read (is a writer running?) or the disk reported an error; stopped, and no \
             file was replaced\n",
            path.display()
        )
        .into_bytes()
        .into_boxed_slice();
        let len = message.len();
        let ptr = Box::leak(message).as_mut_ptr();
        MESSAGE_LEN.store(0, Ordering::SeqCst);
        MESSAGE.store(ptr, Ordering::SeqCst);
        MESSAGE_LEN.store(len, Ordering::SeqCst);
        install();
    }

    /// Only async-signal-safe calls (write, _exit) and atomic loads.
    extern "C" fn on_sigbus(_signal: libc::c_int) {
        let ptr = MESSAGE.load(Ordering::SeqCst);
        let len = MESSAGE_LEN.load(Ordering::SeqCst);
        // SAFETY: `ptr` is null or points at a leaked allocation of at least `len` bytes
        // (the length is reset to 0 before the pointer changes); write and _exit are
        // async-signal-safe. Returning would run the faulting access again, so the process
        // ends here.
        unsafe {
            if !ptr.is_null() && len > 0 {
                libc::write(2, ptr.cast(), len);
            }
            libc::_exit(crate::exit::Exit::Unreadable as libc::c_int);
        }
    }

    fn install() {
        // SAFETY: a zeroed sigaction is a valid value (no flags, empty mask once
        // sigemptyset has run); the handler has the one-argument signature sa_sigaction
        // takes without SA_SIGINFO.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_sigbus as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
        }
    }
}
