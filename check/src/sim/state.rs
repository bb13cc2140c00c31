//! The log at one path as a crash of the simulated disk can leave it, in the file-level terms
//! of [`FileState`]: what an account built on this persistence model tells the engines (the
//! simulated disk itself, or a trace of another program's file-system calls replayed into a
//! simulated disk: see `crate::account`).
//!
//! Guarantees: every content the crash states of the disk can leave at the path (see the
//! module documentation of [`crate::sim`]) is an image of the returned state or of one of
//! its [`FileState::alternatives`]:
//! - the file the live entry names gives the bytes now, the prefix every crash keeps, and
//!   the file's length after each pending append (where a harsh crash may end it);
//! - a pending change that cuts below bytes a crash may keep (a cut not yet synced) makes
//!   each such intermediate content an alternative;
//! - every other file the entry may name after a crash (the durable entry, or one after a
//!   prefix of the directory's pending changes: the old log while a rename over it is not
//!   durable, no file while a creation is not) is an alternative, with its own states; "no
//!   file" is the empty file, which a reader takes for an empty log as it takes a torn
//!   header.

use std::collections::BTreeSet;
use std::path::Path;

use super::{split, Disk, FileOp, InodeId, SimDisk};
use crate::target::FileState;

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn apply(contents: &mut Vec<u8>, op: &FileOp) {
    match op {
        FileOp::Append(data) => contents.extend_from_slice(data),
        FileOp::SetLen(len) => contents.resize(super::usize_len(*len), 0),
    }
}

/// The state of one inode, and the alternatives its pending cuts make.
fn inode_state(disk: &Disk, inode: InodeId) -> (FileState, Vec<FileState>) {
    let Some(node) = disk.inodes.get(&inode) else {
        return (FileState::default(), Vec::new());
    };
    let live = &node.live;
    // The contents after each prefix of the pending changes: `stages[j]` after `j` of them.
    let mut stages = vec![node.durable.clone()];
    let mut ends = Vec::new();
    for op in &node.pending {
        let mut next = stages[stages.len() - 1].clone();
        apply(&mut next, op);
        if matches!(op, FileOp::Append(_)) {
            ends.push(next.len());
        }
        stages.push(next);
    }
    let durable_len = stages
        .iter()
        .map(|stage| common_prefix(stage, live))
        .min()
        .unwrap_or(0);
    let mut alternatives = Vec::new();
    for (j, stage) in stages.iter().enumerate() {
        if common_prefix(stage, live) == stage.len() {
            // A prefix of the bytes now: among their cuts.
            continue;
        }
        // Not a prefix: a content of its own, with the torn prefixes of the append after it.
        let alternative = match (node.pending.get(j), stages.get(j + 1)) {
            (Some(FileOp::Append(_)), Some(next)) => FileState::new(next.clone(), stage.len(), &[]),
            _ => FileState::new(stage.clone(), stage.len(), &[]),
        };
        if !alternatives.contains(&alternative) {
            alternatives.push(alternative);
        }
    }
    (
        FileState::new(live.clone(), durable_len, &ends),
        alternatives,
    )
}

impl SimDisk {
    /// What is at `path` now, and every file a crash may leave there (see the module
    /// documentation).
    pub fn file_state(&self, path: impl AsRef<Path>) -> FileState {
        let disk = self.disk.borrow();
        let Ok((dir_path, name)) = split(path.as_ref()) else {
            return FileState::default();
        };
        let Some(dir) = disk.dirs.get(&dir_path) else {
            return FileState::default();
        };
        let live = dir.live.get(&name).copied();
        let (mut state, mut alternatives) = match live {
            Some(inode) => inode_state(&disk, inode),
            None => (FileState::default(), Vec::new()),
        };
        let mut entries = dir.durable.clone();
        let mut named = vec![entries.get(&name).copied()];
        for op in &dir.pending {
            op.apply(&mut entries);
            named.push(entries.get(&name).copied());
        }
        let mut seen = BTreeSet::new();
        for inode in named {
            if inode == live || !seen.insert(inode) {
                continue;
            }
            match inode {
                None => alternatives.push(FileState::default()),
                Some(inode) => {
                    let (other, more) = inode_state(&disk, inode);
                    alternatives.push(other);
                    alternatives.extend(more);
                }
            }
        }
        alternatives.dedup();
        state.alternatives = alternatives;
        state
    }
}
