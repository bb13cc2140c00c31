//! The file-level crash model: which images of a log file a crash can leave.
//!
//! Given a [`FileState`] (the bytes now, the durable prefix, the lengths the file had after
//! each call since the last sync), a crash leaves:
//! - the durable bytes plus any prefix of the rest ([`CrashMode::Prefixes`]): every cut from
//!   `durable_len` to the end;
//! - in [`CrashMode::Harsh`], also a file *grown before its data landed*: its length reached
//!   one of the write ends, but the data landed only up to some byte at or after
//!   `durable_len`, and the rest reads as zeros (an extent allocated and never written) or
//!   garbage (stale blocks, a function of the seed and the offset).
//!
//! This is the per-file part of `crate::sim`'s persistence model (ALICE, LazyFS), for
//! implementations that do their own I/O. Durable bytes never change. Images are described
//! by [`CrashImage`] (where the data stopped landing, where the file ends, the fill), so a
//! case names its image in a few words, and engines hash images without building them.

use std::fmt;

pub use crate::sim::{CrashMode, Fill};
use crate::target::FileState;

/// One image a crash can leave: `bytes[..landed]`, then `fill` up to `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CrashImage {
    /// Bytes of the file that landed.
    pub landed: usize,
    /// The image's length (`landed` when nothing is filled).
    pub end: usize,
    /// What the bytes from `landed` to `end` read as.
    pub fill: Option<Fill>,
}

impl CrashImage {
    /// The file cut at `len`.
    pub fn cut(len: usize) -> Self {
        CrashImage {
            landed: len,
            end: len,
            fill: None,
        }
    }

    /// The byte at `offset` (at or after `landed`) of the filled part.
    pub fn fill_byte(&self, offset: usize) -> u8 {
        match self.fill {
            None | Some(Fill::Zeros) => 0,
            Some(Fill::Garbage { seed }) => garbage_byte(seed, offset as u64),
        }
    }

    /// Appends the filled part (from `landed` to `end`) to `out`.
    pub fn push_fill(&self, out: &mut Vec<u8>) {
        out.extend((self.landed..self.end).map(|o| self.fill_byte(o)));
    }

    /// The same image with `landed` moved past the fill bytes that happen to equal the data
    /// they stand for (a zero over a zero), so that `landed` is the first byte that differs;
    /// a fill equal to the data up to the end is the cut at `end`.
    pub fn normalized(self, bytes: &[u8]) -> CrashImage {
        let mut landed = self.landed;
        while landed < self.end && bytes.get(landed) == Some(&self.fill_byte(landed)) {
            landed += 1;
        }
        if landed == self.end {
            CrashImage::cut(self.end)
        } else {
            CrashImage { landed, ..self }
        }
    }

    /// The image itself, from the file's bytes now.
    pub fn build(&self, bytes: &[u8]) -> Vec<u8> {
        let mut out = bytes[..self.landed.min(bytes.len())].to_vec();
        self.push_fill(&mut out);
        out
    }
}

impl fmt::Display for CrashImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.fill {
            None => write!(f, "the first {} bytes", self.landed),
            Some(Fill::Zeros) => write!(
                f,
                "the first {} bytes, then {} zero bytes (a file grown to {} before its data landed)",
                self.landed,
                self.end - self.landed,
                self.end
            ),
            Some(Fill::Garbage { seed }) => write!(
                f,
                "the first {} bytes, then {} garbage bytes (seed {seed:#x}; a file grown to {} \
                 over stale blocks)",
                self.landed,
                self.end - self.landed,
                self.end
            ),
        }
    }
}

/// Stale bytes: splitmix64 of the seed and the offset.
pub fn garbage_byte(seed: u64, offset: u64) -> u8 {
    let mut z = seed ^ offset.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as u8
}

/// Every image a crash of `state` can leave in `mode`: the cuts first, shortest first, then
/// the grown files. Images may repeat (a zero fill over zeros); engines merge them by hash.
pub fn images(state: &FileState, mode: CrashMode) -> Vec<CrashImage> {
    let len = state.bytes.len();
    let durable = state.durable_len.min(len);
    let mut out: Vec<CrashImage> = (durable..=len).map(CrashImage::cut).collect();
    if let CrashMode::Harsh { seed } = mode {
        let mut seen = std::collections::HashSet::new();
        for &end in &state.write_ends {
            if end <= durable || end > len {
                continue;
            }
            for landed in durable..end {
                for fill in [Fill::Zeros, Fill::Garbage { seed }] {
                    let image = CrashImage {
                        landed,
                        end,
                        fill: Some(fill),
                    }
                    .normalized(&state.bytes);
                    // A fill that reads as the data it hides up to the end is a cut.
                    if image.fill.is_some() && seen.insert(image) {
                        out.push(image);
                    }
                }
            }
        }
    }
    out
}

/// A 64-bit FNV-1a hash, fed byte by byte so a prefix's state can be kept and extended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fnv(pub u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    /// Feeds `bytes`.
    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// The hash of `bytes`.
    pub fn of(bytes: &[u8]) -> u64 {
        let mut h = Fnv::default();
        h.feed(bytes);
        h.0
    }

    /// Mixes two hashes and a length into one (for an image made of a prefix and a tail).
    pub fn mix(a: u64, b: u64, len: usize) -> u64 {
        let mut h = Fnv(a);
        h.feed(&b.to_le_bytes());
        h.feed(&(len as u64).to_le_bytes());
        h.0
    }
}
