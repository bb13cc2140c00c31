//! The format's reference verdict on some bytes: eaof's zero-copy [`Scanner`], which the
//! engines consult for what a reader of the format must make of a crash image or a damaged
//! file (docs/FORMAT.md §6), and the arithmetic to move a verdict from a tail image to the
//! file it stands for.
//!
//! Where the harness can say the verdict from its own account of the file (the record spans
//! it computed), it checks the reference against that account too (see
//! `crate::recover`), so eaof is not only judged by itself.

use eaof::scanner::Scanner;
use eaof::Verdict;

use crate::target::{Keying, Version};

/// What the format's reference reader (eaof's `Scanner`) makes of some bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// The verdict, or why the file cannot be read at all (not EAOF, unsupported version,
    /// sealed without a key).
    pub verdict: Result<Verdict, String>,
}

impl Reference {
    /// Judges `bytes` as a file of `version`.
    pub fn of(bytes: &[u8], version: Version) -> Self {
        Self::keyed(bytes, Keying::of(version))
    }

    /// Judges `bytes` as a reader configured with `keying` does.
    pub fn keyed(bytes: &[u8], keying: Keying) -> Self {
        let key = keying.key();
        Reference {
            verdict: Scanner::new(bytes, key.as_ref())
                .map(Scanner::finish)
                .map_err(|e| e.to_string()),
        }
    }

    /// Whether a reader must end without error.
    pub fn reads_ok(&self) -> bool {
        matches!(&self.verdict, Ok(v) if v.to_read_result().is_ok())
    }

    /// Intact records before the end or the damage.
    pub fn records(&self) -> usize {
        self.verdict.as_ref().map_or(0, |v| v.records() as usize)
    }

    /// Whether a writer must refuse to reopen the file: unreadable, corrupt, or sealed
    /// under another key.
    pub fn must_refuse(&self) -> bool {
        match &self.verdict {
            Err(_) => true,
            Ok(v) => matches!(v, Verdict::Corrupt { .. }) || v.is_wrong_key(),
        }
    }
}

/// Moves a verdict of a tail image to the file it stands for: `records` more records, and
/// offsets from `shift` bytes further in.
pub fn shift_verdict(verdict: &Verdict, records: u64, shift: u64) -> Verdict {
    match verdict.clone() {
        Verdict::Clean { records: r, end } => Verdict::Clean {
            records: r + records,
            end: end + shift,
        },
        Verdict::TornTail {
            records: r,
            offset,
            len,
            cause,
        } => Verdict::TornTail {
            records: r + records,
            offset: offset + shift,
            len,
            cause,
        },
        Verdict::Corrupt {
            records: r,
            offset,
            next_intact,
            cause,
        } => Verdict::Corrupt {
            records: r + records,
            offset: offset + shift,
            next_intact: next_intact + shift,
            cause,
        },
    }
}

/// The class, record count and offset of a verdict: what the format's rule fixes.
pub fn shape(v: &Verdict) -> (&'static str, u64, u64) {
    match v {
        Verdict::Clean { records, end } => ("clean", *records, *end),
        Verdict::TornTail {
            records, offset, ..
        } => ("torn tail", *records, *offset),
        Verdict::Corrupt {
            records, offset, ..
        } => ("corrupt", *records, *offset),
    }
}
