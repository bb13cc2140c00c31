//! Crash states: which of a simulated disk's pending changes a crash keeps.
//!
//! A crash state is chosen per directory (how many of its pending changes landed, in order)
//! and per surviving file (how many of its pending changes landed, how much of a torn append,
//! and in harsh mode where its data stopped landing). [`SimDisk::crash_states`] enumerates
//! every choice and keeps one per distinct resulting disk (paths and contents), so a harness
//! checks each surviving disk once. The count is linear in the unsynced bytes of each file in
//! [`CrashMode::Prefixes`] and at most quadratic in harsh mode, multiplied across files and
//! directories: meant for the small disks of a model checker.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::rc::Rc;

use super::{Dir, Disk, FileOp, Inode, InodeId, SimDisk};

/// Which crash states to enumerate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CrashMode {
    /// Durable bytes plus any prefix of the pending changes (the last append possibly torn).
    Prefixes,
    /// Also files grown before their data landed, ending in zeros or in garbage drawn from
    /// `seed`.
    Harsh { seed: u64 },
}

/// What the bytes of a file grown before its data landed read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fill {
    /// An extent allocated and never written.
    Zeros,
    /// Stale blocks: pseudo-random bytes, a function of `seed`, the inode and the offset.
    Garbage { seed: u64 },
}

/// What a crash keeps of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileCrash {
    /// The first `changes` pending changes landed, then the first `bytes` bytes of the next
    /// one (which must be an append when `bytes > 0`).
    Prefix { changes: usize, bytes: usize },
    /// The first `changes` pending changes landed in the file's size (the last one an
    /// append), but the data landed only up to byte `landed` of the file; the bytes from
    /// there to the end read as `fill`. `landed` is at or after the last durable byte (or
    /// the last cut), and before the end.
    Grown {
        changes: usize,
        landed: u64,
        fill: Fill,
    },
}

impl Default for FileCrash {
    /// Nothing pending landed: the durable bytes.
    fn default() -> Self {
        FileCrash::Prefix {
            changes: 0,
            bytes: 0,
        }
    }
}

/// A crash state: for each directory, how many of its pending changes landed; for each file,
/// what of it landed. Directories and files not listed keep only what is durable, so
/// `CrashChoice::default()` is the crash that loses everything unsynced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrashChoice {
    pub dirs: BTreeMap<PathBuf, usize>,
    pub files: BTreeMap<InodeId, FileCrash>,
}

/// One distinct disk a crash can leave, and a choice that leaves it.
#[derive(Debug, Clone)]
pub struct CrashState {
    pub choice: CrashChoice,
    pub disk: SimDisk,
}

/// A [`CrashChoice`] that does not fit the disk's pending changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidCrashChoice {
    Dir {
        dir: PathBuf,
        reason: &'static str,
    },
    File {
        inode: InodeId,
        reason: &'static str,
    },
}

impl fmt::Display for InvalidCrashChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidCrashChoice::Dir { dir, reason } => {
                write!(f, "crash choice for directory {}: {reason}", dir.display())
            }
            InvalidCrashChoice::File { inode, reason } => {
                write!(f, "crash choice for inode {}: {reason}", inode.0)
            }
        }
    }
}

impl std::error::Error for InvalidCrashChoice {}

/// The garbage byte at `offset` of `inode`: splitmix64 of the three.
fn garbage_byte(seed: u64, inode: InodeId, offset: u64) -> u8 {
    let mut z = seed
        ^ inode.0.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ offset.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as u8
}

/// A file's contents as its pending changes are applied one by one, with the length of its
/// *volatile suffix*: the trailing bytes appended since the durable state or the last cut,
/// the only ones a harsh crash may damage.
struct Replay {
    contents: Vec<u8>,
    volatile: usize,
}

impl Replay {
    fn new(node: &Inode) -> Self {
        Replay {
            contents: node.durable.clone(),
            volatile: 0,
        }
    }

    fn apply(&mut self, op: &FileOp) {
        match op {
            FileOp::Append(data) => {
                self.contents.extend_from_slice(data);
                self.volatile += data.len();
            }
            FileOp::SetLen(len) => {
                let len = super::usize_len(*len);
                let old = self.contents.len();
                self.contents.resize(len, 0);
                // A cut removes volatile bytes first; the zeros of an extension are a hole,
                // not data that could land as garbage.
                self.volatile = if len <= old {
                    self.volatile.saturating_sub(old - len)
                } else {
                    0
                };
            }
        }
    }

    fn grown(&self, inode: InodeId, landed: usize, fill: Fill) -> Vec<u8> {
        let mut out = self.contents.clone();
        for (offset, byte) in out.iter_mut().enumerate().skip(landed) {
            *byte = match fill {
                Fill::Zeros => 0,
                Fill::Garbage { seed } => garbage_byte(seed, inode, offset as u64),
            };
        }
        out
    }
}

fn file_error(inode: InodeId, reason: &'static str) -> InvalidCrashChoice {
    InvalidCrashChoice::File { inode, reason }
}

/// `node` with its first `changes` pending changes applied.
fn replay_to(node: &Inode, inode: InodeId, changes: usize) -> Result<Replay, InvalidCrashChoice> {
    let ops = node
        .pending
        .get(..changes)
        .ok_or_else(|| file_error(inode, "more changes than are pending"))?;
    let mut replay = Replay::new(node);
    for op in ops {
        replay.apply(op);
    }
    Ok(replay)
}

/// The contents a crash leaves of `node` under `choice`.
fn file_after(
    node: &Inode,
    inode: InodeId,
    choice: FileCrash,
) -> Result<Vec<u8>, InvalidCrashChoice> {
    match choice {
        FileCrash::Prefix { changes, bytes } => {
            let mut replay = replay_to(node, inode, changes)?;
            if bytes > 0 {
                match node.pending.get(changes) {
                    Some(FileOp::Append(data)) if bytes <= data.len() => {
                        replay.contents.extend_from_slice(&data[..bytes]);
                    }
                    Some(FileOp::Append(_)) => {
                        return Err(file_error(inode, "torn append longer than the append"))
                    }
                    _ => return Err(file_error(inode, "torn change is not an append")),
                }
            }
            Ok(replay.contents)
        }
        FileCrash::Grown {
            changes,
            landed,
            fill,
        } => {
            let replay = replay_to(node, inode, changes)?;
            let last = changes.checked_sub(1).and_then(|i| node.pending.get(i));
            if !matches!(last, Some(FileOp::Append(_))) {
                return Err(file_error(
                    inode,
                    "a grown file's last change must be an append",
                ));
            }
            let end = replay.contents.len();
            let landed = super::usize_len(landed);
            if landed < end - replay.volatile || landed >= end {
                return Err(file_error(
                    inode,
                    "landed outside the unsynced appended bytes",
                ));
            }
            Ok(replay.grown(inode, landed, fill))
        }
    }
}

/// Every distinct surviving content of `node`, each with a choice leaving it.
fn file_options(node: &Inode, inode: InodeId, mode: CrashMode) -> Vec<(FileCrash, Vec<u8>)> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut offer = |choice: FileCrash, contents: Vec<u8>| {
        if seen.insert(contents.clone()) {
            out.push((choice, contents));
        }
    };
    let mut replay = Replay::new(node);
    offer(FileCrash::default(), replay.contents.clone());
    for (changes, op) in node.pending.iter().enumerate() {
        if let FileOp::Append(data) = op {
            for bytes in 1..data.len() {
                let mut torn = replay.contents.clone();
                torn.extend_from_slice(&data[..bytes]);
                offer(FileCrash::Prefix { changes, bytes }, torn);
            }
        }
        replay.apply(op);
        offer(
            FileCrash::Prefix {
                changes: changes + 1,
                bytes: 0,
            },
            replay.contents.clone(),
        );
        if let (CrashMode::Harsh { seed }, FileOp::Append(_)) = (mode, op) {
            let end = replay.contents.len();
            for landed in end - replay.volatile..end {
                for fill in [Fill::Zeros, Fill::Garbage { seed }] {
                    let choice = FileCrash::Grown {
                        changes: changes + 1,
                        landed: landed as u64,
                        fill,
                    };
                    offer(choice, replay.grown(inode, landed, fill));
                }
            }
        }
    }
    out
}

/// The entries of `dir` after its first `kept` pending changes landed.
fn dir_after(dir: &Dir, kept: usize) -> BTreeMap<OsString, InodeId> {
    let mut entries = dir.durable.clone();
    for op in &dir.pending[..kept] {
        op.apply(&mut entries);
    }
    entries
}

/// The disk after a crash: the given directory entries and file contents, all durable.
fn rebuilt(
    disk: &Disk,
    dirs: &BTreeMap<PathBuf, BTreeMap<OsString, InodeId>>,
    files: &BTreeMap<InodeId, Vec<u8>>,
) -> SimDisk {
    let mut out = Disk {
        next_inode: disk.next_inode,
        ..Disk::default()
    };
    for (path, entries) in dirs {
        out.dirs.insert(
            path.clone(),
            Dir {
                durable: entries.clone(),
                live: entries.clone(),
                pending: Vec::new(),
            },
        );
    }
    for (inode, contents) in files {
        out.inodes.insert(
            *inode,
            Inode {
                durable: contents.clone(),
                live: contents.clone(),
                pending: Vec::new(),
            },
        );
    }
    SimDisk {
        disk: Rc::new(RefCell::new(out)),
    }
}

/// Advances a mixed-radix counter; false once it wrapped around.
fn next_combination(digits: &mut [usize], radices: &[usize]) -> bool {
    for (digit, radix) in digits.iter_mut().zip(radices) {
        *digit += 1;
        if *digit < *radix {
            return true;
        }
        *digit = 0;
    }
    false
}

impl SimDisk {
    /// Every distinct disk a crash now can leave (see the module documentation of
    /// [`crate::sim`]), each with a choice that leaves it. The first is always the crash
    /// that keeps only what is durable.
    pub fn crash_states(&self, mode: CrashMode) -> Vec<CrashState> {
        let disk = self.disk.borrow();
        let dir_paths: Vec<&PathBuf> = disk.dirs.keys().collect();
        let dir_options: Vec<Vec<BTreeMap<OsString, InodeId>>> = disk
            .dirs
            .values()
            .map(|d| (0..=d.pending.len()).map(|k| dir_after(d, k)).collect())
            .collect();
        let dir_radices: Vec<usize> = dir_options.iter().map(Vec::len).collect();
        let mut file_cache: BTreeMap<InodeId, Vec<(FileCrash, Vec<u8>)>> = BTreeMap::new();
        let mut seen = HashSet::new();
        let mut states = Vec::new();
        let mut dir_digits = vec![0; dir_paths.len()];
        loop {
            let dirs: BTreeMap<PathBuf, BTreeMap<OsString, InodeId>> = dir_paths
                .iter()
                .zip(&dir_digits)
                .zip(&dir_options)
                .map(|((path, &k), options)| ((*path).clone(), options[k].clone()))
                .collect();
            let reachable: Vec<InodeId> = dirs
                .values()
                .flat_map(|entries| entries.values().copied())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .filter(|inode| disk.inodes.contains_key(inode))
                .collect();
            for inode in &reachable {
                file_cache
                    .entry(*inode)
                    .or_insert_with(|| file_options(&disk.inodes[inode], *inode, mode));
            }
            let radices: Vec<usize> = reachable.iter().map(|i| file_cache[i].len()).collect();
            let mut digits = vec![0; reachable.len()];
            loop {
                let files: BTreeMap<InodeId, Vec<u8>> = reachable
                    .iter()
                    .zip(&digits)
                    .map(|(inode, &d)| (*inode, file_cache[inode][d].1.clone()))
                    .collect();
                let image: BTreeMap<PathBuf, Vec<u8>> = dirs
                    .iter()
                    .flat_map(|(path, entries)| {
                        entries.iter().filter_map(|(name, inode)| {
                            files.get(inode).map(|c| (path.join(name), c.clone()))
                        })
                    })
                    .collect();
                if seen.insert(image) {
                    let choice = CrashChoice {
                        dirs: dir_paths
                            .iter()
                            .zip(&dir_digits)
                            .filter(|(_, &k)| k > 0)
                            .map(|(p, &k)| ((*p).clone(), k))
                            .collect(),
                        files: reachable
                            .iter()
                            .zip(&digits)
                            .filter(|(_, &d)| d > 0)
                            .map(|(inode, &d)| (*inode, file_cache[inode][d].0))
                            .collect(),
                    };
                    states.push(CrashState {
                        choice,
                        disk: rebuilt(&disk, &dirs, &files),
                    });
                }
                if !next_combination(&mut digits, &radices) {
                    break;
                }
            }
            if !next_combination(&mut dir_digits, &dir_radices) {
                break;
            }
        }
        states
    }

    /// The disk a crash now leaves under `choice`.
    pub fn crash_with(&self, choice: &CrashChoice) -> Result<SimDisk, InvalidCrashChoice> {
        let disk = self.disk.borrow();
        for dir in choice.dirs.keys() {
            if !disk.dirs.contains_key(dir) {
                return Err(InvalidCrashChoice::Dir {
                    dir: dir.clone(),
                    reason: "no such directory",
                });
            }
        }
        for inode in choice.files.keys() {
            if !disk.inodes.contains_key(inode) {
                return Err(file_error(*inode, "no such inode"));
            }
        }
        let mut dirs = BTreeMap::new();
        for (path, dir) in &disk.dirs {
            let kept = choice.dirs.get(path).copied().unwrap_or(0);
            if kept > dir.pending.len() {
                return Err(InvalidCrashChoice::Dir {
                    dir: path.clone(),
                    reason: "more changes than are pending",
                });
            }
            dirs.insert(path.clone(), dir_after(dir, kept));
        }
        let mut files = BTreeMap::new();
        for inode in dirs.values().flat_map(|e| e.values()) {
            if let Some(node) = disk.inodes.get(inode) {
                let kept = choice.files.get(inode).copied().unwrap_or_default();
                files.insert(*inode, file_after(node, *inode, kept)?);
            }
        }
        Ok(rebuilt(&disk, &dirs, &files))
    }

    /// A crash state picked by `seed` among [`SimDisk::crash_states`] of `mode` (seed 0 is
    /// the crash that keeps only what is durable).
    pub fn crash(&self, mode: CrashMode, seed: u64) -> SimDisk {
        let mut states = self.crash_states(mode);
        let count = states.len().max(1) as u64;
        let pick = (seed % count) as usize;
        if pick < states.len() {
            states.swap_remove(pick).disk
        } else {
            // Unreachable: the crash that keeps only what is durable is always a state.
            SimDisk::new()
        }
    }
}
