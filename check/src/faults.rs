//! Engine: a failed write or sync at every operation of a short run (targets that inject
//! faults: eaof on the simulated disk).
//!
//! For each generated script (commands, flushes, syncs, truncates), a dry run counts the storage
//! operations it makes and the bytes it appends; then the script runs once with each
//! operation failing in turn (a sync with EIO, dropping the unsynced bytes as Linux does; an
//! append with EIO and no effect), and once with the disk full after each byte count (a
//! short write of every length). The properties:
//! - after the first failed call, every call is refused (the writer is poisoned), touching
//!   nothing;
//! - in every state a crash can then leave, nothing acknowledged by a successful sync is
//!   lost, what is read is a prefix of what was written and replays to a state the model
//!   had; the writer reopens (cutting a torn tail), and records appended then read back.

use std::time::Instant;

use proptest::prelude::*;
use proptest::strategy::ValueTree;

use crate::alphabet::{self, T0_MS};
use crate::crash::CrashMode;
use crate::jobs::{on_one, run_rounds, Rounds, Targets};
use crate::recover::{HarnessError, Recoverer};
use crate::report::{runner, Budget, Case, FailureKind, Finding, Progress, Report};
use crate::script::{Found, Player, Step};
use crate::shard::Shard;
use crate::target::{Fault, Target, TargetError};
use eaof_model::Store;

/// What to run.
#[derive(Debug, Clone)]
pub struct FaultsConfig {
    /// Generated scripts, in rounds of [`ROUND_SCRIPTS`] (`crate::jobs::UNBOUNDED`: as many
    /// as the budget allows).
    pub scripts: u32,
    /// Commands per script.
    pub commands: usize,
    /// Check harsh crash images too (files grown before their data landed).
    pub harsh: bool,
    /// Seed of the scripts (and of garbage).
    pub seed: u64,
    /// Read cuts from record boundaries.
    pub linear: bool,
    /// Kinds of failure counted but not reported.
    pub ignore: Vec<FailureKind>,
    /// Stop at the first fault run with a failure not ignored (the checker's own benchmark
    /// times the first finding); by default every fault of the round's scripts runs.
    pub stop_at_first: bool,
}

impl Default for FaultsConfig {
    fn default() -> Self {
        FaultsConfig {
            scripts: 4,
            commands: 6,
            harsh: true,
            seed: 0xfa_0175,
            linear: true,
            ignore: Vec::new(),
            stop_at_first: false,
        }
    }
}

/// A script: commands, each written, some flushed, some synced, now and then (where the
/// target can) a truncate, so that faults strike inside it too.
fn script(commands: usize, truncate: bool) -> BoxedStrategy<Vec<Step>> {
    let then = prop_oneof![Just(None), Just(Some(Step::Flush)), Just(Some(Step::Sync))];
    let then = match truncate {
        true => prop_oneof![9 => then, 1 => Just(Some(Step::Truncate))].boxed(),
        false => then.boxed(),
    };
    let step = (alphabet::command(), then);
    prop::collection::vec(step, commands)
        .prop_map(|steps| {
            steps
                .into_iter()
                .flat_map(|(c, then)| std::iter::once(Step::Command(c)).chain(then))
                .collect()
        })
        .boxed()
}

/// Plays `steps` with `fault` armed right after the file is created, then checks every
/// crash state. Returns the findings and the recoverer's counts.
fn run_with_fault(
    target: &mut dyn Target,
    steps: &[Step],
    fault: Option<Fault>,
    config: &FaultsConfig,
) -> Result<(Vec<Found>, crate::Counts, bool), HarnessError> {
    let mut rec = Recoverer::new(target, config.linear);
    let mut player = Player::new(&mut rec, Store::new(T0_MS), config.seed, &config.ignore)?;
    if let Some(fault) = fault {
        player
            .recoverer()
            .target
            .inject(fault)
            .map_err(HarnessError)?;
        player.expect_faults();
    }
    for (i, step) in steps.iter().enumerate() {
        if !player.step(i, step)? {
            break;
        }
    }
    let fired = player.failed().is_some();
    let mode = if config.harsh {
        CrashMode::Harsh { seed: config.seed }
    } else {
        CrashMode::Prefixes
    };
    if !player.failing() {
        player.check_crash(steps.len(), mode)?;
    }
    let found = player.found.clone();
    let (commands, records) = (player.commands, player.records);
    let mut counts = rec.counts;
    counts.commands = commands;
    counts.records = records;
    counts.faults = u64::from(fault.is_some());
    Ok((found, counts, fired))
}

/// Scripts a round: the unit a job runs (see `crate::jobs`).
pub const ROUND_SCRIPTS: u32 = 4;

/// Runs the engine on one target: see the module documentation.
pub fn run(
    target: &mut dyn Target,
    config: &FaultsConfig,
    budget: &Budget,
    progress: &mut dyn FnMut(Progress),
) -> Report {
    on_one("faults", config.seed, target, |targets| {
        run_split(targets, config, Shard::WHOLE, budget, progress)
    })
}

/// Runs the rounds of `shard` on `targets` (one target, or jobs with a target each): rounds
/// of [`ROUND_SCRIPTS`] scripts, each with its own seed, up to the first failing round.
pub fn run_split(
    targets: Targets<'_>,
    config: &FaultsConfig,
    shard: Shard,
    budget: &Budget,
    progress: &mut dyn FnMut(Progress),
) -> Result<Report, TargetError> {
    let rounds = Rounds {
        seed: config.seed,
        cases: config.scripts,
        round: ROUND_SCRIPTS,
    };
    run_rounds(
        targets,
        "faults",
        &rounds,
        shard,
        budget,
        progress,
        &|target, seed, scripts, budget| {
            let round = FaultsConfig {
                seed,
                scripts,
                ..config.clone()
            };
            run_round(target, &round, budget)
        },
    )
}

/// One round: `config.scripts` scripts from `config.seed`, each with a fault at every
/// operation and every byte.
fn run_round(target: &mut dyn Target, config: &FaultsConfig, budget: &Budget) -> Report {
    let started = Instant::now();
    let mut report = Report::new("faults", target.name(), config.seed);
    let mut runner = runner(config.seed, config.scripts, 0);
    let strategy = script(config.commands, target.capabilities().truncate);
    let mut done = 0u64;
    if target.operations().is_none() {
        report.skipped = Some(format!(
            "{} cannot inject faults: it does its own I/O on real files",
            target.name()
        ));
        report.elapsed = started.elapsed();
        return report;
    }
    'scripts: for _ in 0..config.scripts {
        let Ok(tree) = strategy.new_tree(&mut runner) else {
            break;
        };
        let steps = tree.current();
        // Dry run: how many operations and appended bytes the script makes.
        let dry = (|| -> Result<(u64, u64), HarnessError> {
            let mut rec = Recoverer::new(&mut *target, config.linear);
            let mut player = Player::new(&mut rec, Store::new(T0_MS), config.seed, &[])?;
            let start_ops = player.recoverer().target.operations();
            let start_len = player
                .recoverer()
                .target
                .file()
                .map_err(HarnessError)?
                .bytes
                .len();
            for (i, step) in steps.iter().enumerate() {
                player.step(i, step)?;
            }
            let target = &mut player.recoverer().target;
            let ops = target
                .operations()
                .zip(start_ops)
                .map_or(0, |(end, start)| end.saturating_sub(start));
            let len = target.file().map_err(HarnessError)?.bytes.len();
            Ok((ops, len.saturating_sub(start_len) as u64))
        })();
        let (ops, appended) = match dry {
            Ok(dry) => dry,
            Err(e) => {
                report.skipped = Some(e.to_string());
                break;
            }
        };
        // Under a recorder, the system-call faults too: an interrupted call and a short
        // write at every operation, a file at its size limit after every byte count.
        let system = match target.system_faults() {
            true => 0..ops,
            false => 0..0,
        };
        let too_big = match target.system_faults() {
            true => 0..appended,
            false => 0..0,
        };
        let faults = (0..ops)
            .map(|after| Fault::FailOpAt { after })
            .chain((0..appended).map(|bytes| Fault::FailWriteAfter { bytes }))
            .chain(system.clone().map(|after| Fault::InterruptAt { after }))
            .chain(system.map(|after| Fault::ShortWriteAt { after }))
            .chain(too_big.map(|bytes| Fault::TooBigAfter { bytes }));
        for fault in faults {
            if budget.exhausted(done) {
                report.complete = false;
                break 'scripts;
            }
            let (found, counts, fired) =
                match run_with_fault(&mut *target, &steps, Some(fault), config) {
                    Ok(run) => run,
                    Err(e) => {
                        report.skipped = Some(e.to_string());
                        break 'scripts;
                    }
                };
            done += 1;
            report.counts.add(&counts);
            if !fired && !fault.may_be_hidden() {
                let finding = Finding::new(
                    FailureKind::WriterFailed,
                    format!("the fault ({fault}) never made a call fail"),
                );
                report.record(finding, || case(config, &steps, Some(fault), None), &[]);
            }
            for f in found {
                let image = f.image;
                report.record(
                    f.finding,
                    || case(config, &steps, Some(fault), image),
                    &config.ignore,
                );
            }
            let sought = |f: &crate::Failure| !config.ignore.contains(&f.kind);
            if config.stop_at_first && report.failures.iter().any(sought) {
                // The script that showed it counts as run.
                report.counts.cases += 1;
                report.complete = false;
                break 'scripts;
            }
        }
        report.counts.cases += 1;
    }
    report.elapsed = started.elapsed();
    report
}

fn case(
    config: &FaultsConfig,
    steps: &[Step],
    fault: Option<Fault>,
    crash: Option<crate::crash::CrashImage>,
) -> Case {
    Case {
        seed: config.seed,
        steps: steps.to_vec(),
        crash,
        damage: None,
        fault,
        picked: Vec::new(),
    }
}
