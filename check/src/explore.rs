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
//! The sequences are cut into units (every sequence of one length sharing all but its last
//! [`UNIT_SUFFIX`] letters), run one after another or on several jobs (`crate::jobs`), and
//! on one shard's units only (`crate::shard`). Within a unit identical disk images are
//! merged: an image is recovered once, whichever sequence left it (its identity is the hash
//! of the bytes before the last intact record and of the rest); for an image met again only
//! the acknowledgement check is redone. Each unit starts with empty caches, so what it
//! counts and finds does not depend on which job ran it. Cuts cost linear time in the file:
//! each is read from the last record boundary before it, and tails are cached by their bytes.
//!
//! Failures are kept first of each kind in exploration order: the shortest sequence, then
//! the shortest image. The run stops at the budget (a deadline, a number of sequences) and
//! reports how far it got; `Progress` is reported after each unit.

use std::time::Instant;

use crate::alphabet::{self, T0_MS};
use crate::crash::CrashMode;
use crate::jobs::{on_one, run_units, Plan, Targets};
use crate::recover::{HarnessError, Recoverer};
use crate::report::{Budget, Case, FailureKind, Progress, Report};
use crate::script::{Found, Player, Step};
use crate::shard::Shard;
use crate::target::{Keying, Target, TargetError, Version};
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
    /// Stop at the first sequence with a failure not ignored (the checker's own benchmark
    /// times the first finding); by default the run goes on and keeps the first of each
    /// kind.
    pub stop_at_first: bool,
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
            stop_at_first: false,
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
        self.alphabet(target).sequences()
    }

    /// The alphabet against `target`, to `depth` letters: what cuts the exploration into
    /// units.
    pub fn alphabet(&self, target: &dyn Target) -> Alphabet {
        Alphabet {
            letters: self.letters(target),
            depth: self.depth,
        }
    }
}

/// The letters of an exploration against one target and its depth: the sequences it runs,
/// and how they fall into units (the same for every target of one kind, so jobs and shards
/// cut the same tree).
#[derive(Debug, Clone, PartialEq)]
pub struct Alphabet {
    /// The letters, in exploration order.
    pub letters: Vec<Letter>,
    /// The longest sequence.
    pub depth: usize,
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

/// Letters of a unit's suffix: a unit is every sequence of one length sharing all but its
/// last `UNIT_SUFFIX` letters (a length of at most `UNIT_SUFFIX` is one unit). Large enough
/// that restarting the caches at each unit costs little: many images recur across
/// prefixes (a command that logs nothing leaves the file of the sequence without it), and
/// with units of 256 sequences (2 letters) a unit recovered 64% more images than one run
/// over everything at depth 3; small enough for jobs to balance from depth 4 on (4,096
/// sequences a unit with the default alphabet: 16 units of length 4).
pub const UNIT_SUFFIX: usize = 3;

/// Where a unit lies: its sequences' length, and its prefix's index among the prefixes of
/// that length (the prefix's letters read as a number in base `letters`, first most
/// significant, as the odometer counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnitPlace {
    /// The length of its sequences.
    pub len: usize,
    /// Which prefix.
    pub prefix: u64,
}

impl Alphabet {
    /// Sequences of length 1 to `depth`.
    pub fn sequences(&self) -> u64 {
        let n = self.letters.len() as u64;
        (1..=self.depth as u32)
            .map(|l| n.saturating_pow(l))
            .fold(0u64, u64::saturating_add)
    }

    /// How many units the exploration has, shortest sequences first.
    pub fn units(&self) -> u64 {
        let n = self.letters.len() as u64;
        (1..=self.depth)
            .map(|len| n.saturating_pow((len - len.min(UNIT_SUFFIX)) as u32))
            .fold(0u64, u64::saturating_add)
    }

    /// Where unit `unit` lies, if the exploration has it.
    pub fn unit_place(&self, unit: u64) -> Option<UnitPlace> {
        let n = self.letters.len() as u64;
        let mut first = 0u64;
        for len in 1..=self.depth {
            let prefixes = n.saturating_pow((len - len.min(UNIT_SUFFIX)) as u32);
            if unit < first.saturating_add(prefixes) {
                return Some(UnitPlace {
                    len,
                    prefix: unit - first,
                });
            }
            first = first.saturating_add(prefixes);
        }
        None
    }

    /// How many sequences unit `unit` has.
    pub fn unit_len(&self, unit: u64) -> u64 {
        let n = self.letters.len() as u64;
        self.unit_place(unit).map_or(0, |place| {
            n.saturating_pow(place.len.min(UNIT_SUFFIX) as u32)
        })
    }

    /// The sequences of unit `unit`, in exploration order, as indices into
    /// [`Alphabet::letters`].
    pub fn unit_sequences(&self, unit: u64) -> impl Iterator<Item = Vec<usize>> {
        let radix = self.letters.len();
        let place = self.unit_place(unit);
        let mut digits = place.map(|place| {
            let fixed = place.len - place.len.min(UNIT_SUFFIX);
            let mut digits = vec![0usize; place.len];
            let mut rest = place.prefix;
            for digit in digits[..fixed].iter_mut().rev() {
                *digit = (rest % radix as u64) as usize;
                rest /= radix as u64;
            }
            (digits, fixed)
        });
        std::iter::from_fn(move || {
            let (current, fixed) = digits.as_mut()?;
            let sequence = current.clone();
            if !advance(&mut current[*fixed..], radix) {
                digits = None;
            }
            Some(sequence)
        })
    }
}

/// Runs one unit on `target`, its caches fresh: see `crate::jobs`.
pub fn run_unit(
    target: &mut dyn Target,
    config: &ExploreConfig,
    unit: u64,
    budget: &Budget,
) -> Report {
    let started = Instant::now();
    let mut report = Report::new("explore", target.name(), config.seed);
    let alphabet = config.alphabet(target);
    let letters = &alphabet.letters;
    let mode = mode_of(config);
    let mut rec = Recoverer::new(target, config.linear);
    let mut done = 0u64;
    for digits in alphabet.unit_sequences(unit) {
        if budget.exhausted(done) {
            report.complete = false;
            break;
        }
        let sequence: Vec<Letter> = digits.iter().map(|&d| letters[d].clone()).collect();
        if let Err(e) = explore_one(&mut rec, &steps(&sequence), config, mode, &mut report) {
            report.skipped = Some(e.to_string());
            report.complete = false;
            break;
        }
        done += 1;
        if config.stop_at_first && !report.failures.is_empty() {
            report.complete = false;
            break;
        }
    }
    let commands = report.counts.commands;
    let records = report.counts.records;
    report.counts = rec.counts;
    report.counts.cases = done;
    report.counts.commands = commands;
    report.counts.records = records;
    report.elapsed = started.elapsed();
    report
}

/// Runs the engine on one target, every unit in order: see the module documentation.
pub fn run(
    target: &mut dyn Target,
    config: &ExploreConfig,
    budget: &Budget,
    progress: &mut dyn FnMut(Progress),
) -> Report {
    on_one("explore", config.seed, target, |targets| {
        run_split(targets, config, Shard::WHOLE, budget, progress)
    })
}

/// Runs the units of `shard` on `targets` (one target, or jobs with a target each), and
/// merges their reports: see `crate::jobs` for what is the same for any number of jobs.
pub fn run_split(
    targets: Targets<'_>,
    config: &ExploreConfig,
    shard: Shard,
    budget: &Budget,
    progress: &mut dyn FnMut(Progress),
) -> Result<Report, TargetError> {
    // Every target of one kind has the same alphabet; with jobs, a target made for the
    // purpose tells it.
    let alphabet = match &targets {
        Targets::One(target) => config.alphabet(&**target),
        Targets::Jobs { make, .. } => config.alphabet(&*make()?),
    };
    let plan = Plan {
        units: alphabet.units(),
        shard,
        stop_at_failure: config.stop_at_first,
    };
    let total = Some(if shard == Shard::WHOLE {
        alphabet.sequences()
    } else {
        (0..plan.units)
            .filter(|&u| shard.owns(u))
            .map(|u| alphabet.unit_len(u))
            .fold(0u64, u64::saturating_add)
    });
    let name = match &targets {
        Targets::One(target) => target.name(),
        Targets::Jobs { .. } => String::new(),
    };
    let started = Instant::now();
    run_units(
        targets,
        &plan,
        budget,
        Report::new("explore", name, config.seed),
        &mut |so_far| progress(so_far.progress(so_far.counts.cases, total, started)),
        &|target, unit, budget| run_unit(target, config, unit, budget),
    )
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
