//! Engine: exhaustive bounded exploration.
//!
//! Every sequence of up to `depth` letters over a small alphabet (the commands of
//! [`crate::alphabet::explorer_commands`], each written and flushed as a server does, a
//! sync, and with `lifecycle` what the target can do of: a truncate, a clean close, and a
//! restart with each configuration other than the file's), shortest first; after each
//! sequence, a crash (a crash inside the last letter, for a truncate; after a close, a crash
//! of the closed file): the file is read whole (every
//! record in it must read back), then every image the crash can leave (every prefix of the
//! bytes not yet synced, and in harsh mode every file grown before its data landed, ending in
//! zeros or garbage) is recovered and judged (see `crate::recover`). A crash after
//! a sequence's `i`-th letter is the crash after the sequence of its first `i` letters, so
//! every crash point of every sequence is covered.
//!
//! Identical disk images are merged: an image is recovered once, whichever sequence left it
//! (its identity is the hash of the bytes before the last intact record and of the rest);
//! for an image met again only the acknowledgement check is redone. Cuts cost linear time in
//! the file: each is read from the last record boundary before it, and tails are cached by
//! their bytes.
//!
//! Failures are kept first of each kind in exploration order: the shortest sequence, then
//! the shortest image. The run stops at the budget (a deadline, a number of sequences) and
//! reports how far it got; `Progress` is reported every 256 sequences.

use std::time::Instant;

use crate::alphabet::{self, T0_MS};
use crate::crash::CrashMode;
use crate::recover::{HarnessError, Recoverer};
use crate::report::{Budget, Case, FailureKind, Progress, Report};
use crate::script::{Found, Player, Step};
use crate::target::{Keying, Target, Version};
use eaof_model::command::Command;
use eaof_model::Store;

/// What to explore.
#[derive(Debug, Clone)]
pub struct ExploreConfig {
    /// Longest sequence.
    pub depth: usize,
    /// The commands (a sync is always a letter too).
    pub commands: Vec<Command>,
    /// Files grown before their data landed, too.
    pub harsh: bool,
    /// Seed of garbage fills.
    pub seed: u64,
    /// Read cuts from record boundaries (`false` reads each image whole, to check the
    /// shortcut).
    pub linear: bool,
    /// Kinds of failure counted but not reported.
    pub ignore: Vec<FailureKind>,
    /// Truncate, clean close and restarts with another configuration, as letters too (each
    /// where the target can do it).
    pub lifecycle: bool,
}

impl Default for ExploreConfig {
    fn default() -> Self {
        ExploreConfig {
            depth: 3,
            commands: alphabet::explorer_commands(),
            harsh: true,
            seed: 0xe8_7104e,
            linear: true,
            ignore: Vec::new(),
            lifecycle: true,
        }
    }
}

/// One letter of the alphabet.
#[derive(Debug, Clone, PartialEq)]
pub enum Letter {
    /// A command, written and flushed.
    Command(Command),
    /// A sync.
    Sync,
    /// A truncate.
    Truncate,
    /// A clean close (the next letter restarts the writer).
    Close,
    /// A clean restart with this configuration.
    Reopen(Keying),
}

impl ExploreConfig {
    /// The alphabet against `target`: the commands, a sync, then the lifecycle letters it
    /// can do.
    pub fn letters(&self, target: &dyn Target) -> Vec<Letter> {
        let mut letters: Vec<Letter> = self
            .commands
            .iter()
            .cloned()
            .map(Letter::Command)
            .chain(std::iter::once(Letter::Sync))
            .collect();
        if self.lifecycle {
            let capabilities = target.capabilities();
            if capabilities.truncate {
                letters.push(Letter::Truncate);
            }
            letters.push(Letter::Close);
            if capabilities.keys {
                letters.extend(
                    other_keyings(target.version())
                        .into_iter()
                        .map(Letter::Reopen),
                );
            }
        }
        letters
    }

    /// Sequences of length 1 to `depth` against `target`.
    pub fn sequences(&self, target: &dyn Target) -> u64 {
        let n = self.letters(target).len() as u64;
        (1..=self.depth as u32)
            .map(|l| n.saturating_pow(l))
            .fold(0u64, u64::saturating_add)
    }
}

/// The configurations other than its own a file of `version` is reopened with: a key on a
/// plaintext file (any key: there is none to be wrong), no key and another key on a sealed
/// one.
pub fn other_keyings(version: Version) -> Vec<Keying> {
    match version {
        Version::V2 => vec![Keying::Key],
        Version::V3 => vec![Keying::Plain, Keying::OtherKey],
    }
}

/// The steps a sequence of letters plays.
pub fn steps(letters: &[Letter]) -> Vec<Step> {
    letters
        .iter()
        .flat_map(|l| match l {
            Letter::Command(c) => vec![Step::Command(c.clone()), Step::Flush],
            Letter::Sync => vec![Step::Sync],
            Letter::Truncate => vec![Step::Truncate],
            Letter::Close => vec![Step::Close],
            Letter::Reopen(keying) => vec![Step::Reopen(*keying)],
        })
        .collect()
}

/// Plays `steps` on a fresh file and checks every image of a crash after them: one node of
/// the exploration, and how to replay a case the explorer reported (its steps; the image is
/// among those checked). Returns the findings, in order.
pub fn check_sequence(
    target: &mut dyn Target,
    steps: &[Step],
    config: &ExploreConfig,
) -> Result<Vec<Found>, HarnessError> {
    let mut rec = Recoverer::new(target, config.linear);
    let (_, found) = play_node(&mut rec, steps, config, mode_of(config))?;
    Ok(found)
}

fn mode_of(config: &ExploreConfig) -> CrashMode {
    if config.harsh {
        CrashMode::Harsh { seed: config.seed }
    } else {
        CrashMode::Prefixes
    }
}

/// One node: plays `steps`, checks the crash after them; returns (commands, records) and
/// the findings.
fn play_node(
    rec: &mut Recoverer<'_>,
    steps: &[Step],
    config: &ExploreConfig,
    mode: CrashMode,
) -> Result<((u64, u64), Vec<Found>), HarnessError> {
    let mut player = Player::new(rec, Store::new(T0_MS), config.seed, &config.ignore)?;
    player.exhaustive();
    let mut go = true;
    for (i, step) in steps.iter().enumerate() {
        if !player.step(i, step)? {
            go = false;
            break;
        }
    }
    if go {
        player.check_crash(steps.len(), mode)?;
    }
    Ok((
        (player.commands, player.records),
        std::mem::take(&mut player.found),
    ))
}

/// Plays `steps` on a fresh file and checks the crash after them; findings go to `report`.
fn explore_one(
    rec: &mut Recoverer<'_>,
    steps: &[Step],
    config: &ExploreConfig,
    mode: CrashMode,
    report: &mut Report,
) -> Result<(), HarnessError> {
    let ((commands, records), found) = play_node(rec, steps, config, mode)?;
    report.counts.commands += commands;
    report.counts.records += records;
    for f in found {
        let case = || Case {
            seed: config.seed,
            steps: steps.to_vec(),
            crash: f.image,
            damage: None,
            fault: None,
            picked: Vec::new(),
        };
        report.record(f.finding, case, &config.ignore);
    }
    Ok(())
}

/// Runs the engine: see the module documentation.
pub fn run(
    target: &mut dyn Target,
    config: &ExploreConfig,
    budget: &Budget,
    progress: &mut dyn FnMut(Progress),
) -> Report {
    let started = Instant::now();
    let mut report = Report::new("explore", target.name(), config.seed);
    let letters = config.letters(target);
    let total = config.sequences(target);
    let mode = mode_of(config);
    let mut rec = Recoverer::new(target, config.linear);
    let mut done = 0u64;
    'lengths: for len in 1..=config.depth {
        // An odometer over the letters: every sequence of this length, in order.
        let mut digits = vec![0usize; len];
        loop {
            if budget.exhausted(done) {
                report.complete = false;
                break 'lengths;
            }
            let sequence: Vec<Letter> = digits.iter().map(|&d| letters[d].clone()).collect();
            if let Err(e) = explore_one(&mut rec, &steps(&sequence), config, mode, &mut report) {
                report.skipped = Some(e.to_string());
                report.complete = false;
                break 'lengths;
            }
            done += 1;
            if done.is_multiple_of(256) {
                let mut snapshot = report.clone();
                snapshot.counts.crash_states = rec.counts.crash_states;
                progress(snapshot.progress(done, Some(total), started));
            }
            if !advance(&mut digits, letters.len()) {
                break;
            }
        }
    }
    let commands = report.counts.commands;
    let records = report.counts.records;
    report.counts = rec.counts;
    report.counts.cases = done;
    report.counts.commands = commands;
    report.counts.records = records;
    report.elapsed = started.elapsed();
    progress(report.progress(done, Some(total), started));
    report
}

/// Advances an odometer (last digit fastest); false once it wrapped around.
fn advance(digits: &mut [usize], radix: usize) -> bool {
    for digit in digits.iter_mut().rev() {
        *digit += 1;
        if *digit < radix {
            return true;
        }
        *digit = 0;
    }
    false
}
