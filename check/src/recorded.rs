//! Crash states from a recorded trace, in the checker's terms.
//!
//! An implementation that runs as a child process under the recorder (`eaof-trace`) is
//! judged by what it did, not by what the harness asked: the recorder's persistence model
//! ([`Persistence`], the simulated disk's model computed from the trace) says what a crash
//! can leave at the log file's path. This module gives that answer as [`FileState`]s, the
//! values the engines already turn into crash images ([`crate::crash::images`]).
//!
//! Guarantees:
//! - [`crash_states`] lists every alternative a crash can leave at the path, each once: no
//!   file ([`Alternative::Absent`]), or a file ([`Alternative::File`]) whose images are
//!   [`crate::crash::images`] of its state. More than one file when a creation or a rename is
//!   not yet durable (the old file or the new one), or when a cut (`ftruncate`) may be undone;
//! - the union of their images ([`images`]) is exactly what the simulated disk
//!   ([`crate::sim::SimDisk::crash_states`]) gives at that path for the same operations (the
//!   tests hold the two to it on random sequences);
//! - a trace the model cannot express is an [`Unmodellable`] (an overwrite of unsynced bytes,
//!   a shared writable mapping, a rename across directories...), never an approximation.

use std::path::Path;

pub use eaof_trace::{Persistence, Unmodellable};

use crate::crash::{self, CrashMode};
use crate::target::FileState;

/// One thing a crash can leave at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alternative {
    /// No file.
    Absent,
    /// A file, described as the engines describe one.
    File(FileState),
}

/// Every alternative a crash now can leave at `path` (absolute, as the recorder names
/// paths: under its canonical root).
pub fn crash_states(model: &Persistence, path: &Path) -> Result<Vec<Alternative>, Unmodellable> {
    let states = model.crash_states(path)?;
    Ok(states
        .into_iter()
        .map(|state| match state {
            eaof_trace::PathState::Absent => Alternative::Absent,
            eaof_trace::PathState::File { state, .. } => Alternative::File(FileState::new(
                state.bytes,
                state.durable_len,
                &state.write_ends,
            )),
        })
        .collect())
}

/// Every image the alternatives can leave in `mode` (`None`: no file), each once, in order.
pub fn images(alternatives: &[Alternative], mode: CrashMode) -> Vec<Option<Vec<u8>>> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for alternative in alternatives {
        let built: Vec<Option<Vec<u8>>> = match alternative {
            Alternative::Absent => vec![None],
            Alternative::File(state) => crash::images(state, mode)
                .iter()
                .map(|image| Some(image.build(&state.bytes)))
                .collect(),
        };
        for image in built {
            if seen.insert(image.clone()) {
                out.push(image);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
