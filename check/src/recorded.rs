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
//!   a shared writable mapping, a rename across directories...), never an approximation;
//! - [`file_state`] gives the engines the file on disk now with every other alternative,
//!   or, when the model's states do not include that file, an unmodellable state.
//!
//! This is the one persistence model for traces: the recorder's own
//! (`eaof_trace::Persistence`), which it needs anyway to put a file back after an injected
//! `fsync` failure. A trace a driver reports itself ([`crate::trace::FsOp`]) is turned into
//! the recorder's events and fed to the same model ([`crate::account::TraceAccount`]), so a
//! driver's own account and the recorder's can never disagree on what a trace means. The
//! simulated disk ([`crate::sim`]) keeps its own model for the calls made through it, held
//! to this one by the property tests of this module.

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
    Ok(alternatives(model.crash_states(path)?))
}

/// The model's states at a path as alternatives.
pub fn alternatives(states: Vec<eaof_trace::PathState>) -> Vec<Alternative> {
    states
        .into_iter()
        .map(|state| match state {
            eaof_trace::PathState::Absent => Alternative::Absent,
            eaof_trace::PathState::File { state, .. } => Alternative::File(FileState::new(
                state.bytes,
                state.durable_len,
                &state.write_ends,
            )),
        })
        .collect()
}

/// The engines' state of the log at `path` from the model's answer there (`states`), the
/// file on disk being `on_disk`: [`file_state`] of the alternatives; an unmodellable trace
/// is an unmodellable state; a path the trace never touched is the file on disk, all of it
/// durable (the model takes what it has not seen as durable).
pub fn state_at(
    states: Result<Vec<eaof_trace::PathState>, Unmodellable>,
    on_disk: Option<&[u8]>,
) -> FileState {
    match states {
        Ok(states) => file_state(&alternatives(states), on_disk),
        Err(Unmodellable::NotSeen { .. }) => match on_disk {
            Some(bytes) => FileState::new(bytes.to_vec(), bytes.len(), &[]),
            None => FileState::default(),
        },
        Err(problem) => {
            FileState::unmodellable(on_disk.unwrap_or_default().to_vec(), problem.to_string())
        }
    }
}

/// The alternatives as the engines take a file's state: the file on disk now (`on_disk`,
/// `None` when there is none) with its crash states, and every other alternative in
/// [`FileState::alternatives`] ([`FileState::absent`] for no file). Alternatives that do not
/// include the file on disk are a model that lost track of it: unmodellable, never trusted.
pub fn file_state(alternatives: &[Alternative], on_disk: Option<&[u8]>) -> FileState {
    let now = alternatives.iter().rposition(|a| match (a, on_disk) {
        (Alternative::File(state), Some(bytes)) => state.bytes == bytes,
        (Alternative::Absent, None) => true,
        _ => false,
    });
    let Some(now) = now else {
        return FileState::unmodellable(
            on_disk.unwrap_or_default().to_vec(),
            format!(
                "the persistence model's {} crash states at the log's path do not include \
                 the file on disk ({})",
                alternatives.len(),
                match on_disk {
                    Some(bytes) => format!("{} bytes", bytes.len()),
                    None => "none".into(),
                }
            ),
        );
    };
    let as_state = |a: &Alternative| match a {
        Alternative::Absent => FileState::absent(),
        Alternative::File(state) => state.clone(),
    };
    let mut state = as_state(&alternatives[now]);
    state.alternatives = alternatives
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != now)
        .map(|(_, a)| as_state(a))
        .collect();
    state
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
