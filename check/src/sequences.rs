//! Engine: random command sequences, state-machine style (proptest, with shrinking).
//!
//! Each case is a sequence of commands over the small alphabet, flushes, syncs, crashes
//! (into any prefix image, or any harsh image) and, with `lifecycle`, truncates, clean closes
//! and restarts with any configuration (where the target can), played by a [`Player`]: the
//! commands run on
//! the model, their records go through the target, every crash is checked on every cut of
//! the unsynced bytes and recovered from one image, and the run goes on from the state
//! recovered; at the end everything is synced and read back. The property: after every
//! crash the replayed store equals the model after some prefix of the commands, which holds
//! every command a sync acknowledged, and nothing recovered or appended is lost. A failing
//! case shrinks to a minimal sequence, reported with the seed.

use proptest::prelude::*;

use crate::alphabet::{self, T0_MS};
use crate::crash::CrashImage;
use crate::jobs::{on_one, run_rounds, Rounds, Targets};
use crate::recover::{HarnessError, Recoverer};
use crate::report::{
    no_progress, run_cases, Budget, Case, CaseSettings, Counts, FailureKind, Finding,
    PlayedFinding, Progress, Report,
};
use crate::script::{Found, Player, Step};
use crate::shard::Shard;
use crate::target::{Keying, Target, TargetError};
use eaof_model::Store;

/// What to run.
#[derive(Debug, Clone)]
pub struct SequencesConfig {
    /// Generated sequences, in rounds of [`ROUND_CASES`] (`crate::jobs::UNBOUNDED`: as
    /// many as the budget allows).
    pub cases: u32,
    /// Longest sequence.
    pub max_steps: usize,
    /// proptest's seed (and the garbage of harsh crash images).
    pub seed: u64,
    /// Read cuts from record boundaries (see `crate::recover`).
    pub linear: bool,
    /// Kinds of failure counted but not failing a case.
    pub ignore: Vec<FailureKind>,
    /// Shrinking steps for a failing case.
    pub shrink_iters: u32,
    /// Truncates, clean closes and restarts among the steps (see [`lifecycle_steps`]).
    pub lifecycle: bool,
    /// Run as the baseline the checker's own benchmark (`crate::bench`) compares the engines
    /// with: no crash inside a sequence and no final sync; one crash at its end, into the
    /// file exactly as written or cut at one random point of its unsynced bytes
    /// ([`Player::crash_once`]), judged by the same oracle. The report's engine is then
    /// `baseline`.
    pub baseline: bool,
}

impl Default for SequencesConfig {
    fn default() -> Self {
        SequencesConfig {
            cases: 64,
            max_steps: 24,
            seed: 0x5e9_0001,
            linear: true,
            ignore: Vec::new(),
            shrink_iters: 1024,
            lifecycle: true,
            baseline: false,
        }
    }
}

impl SequencesConfig {
    /// The engine's name in its reports: `sequences`, or `baseline`.
    pub fn engine(&self) -> &'static str {
        match self.baseline {
            true => "baseline",
            false => "sequences",
        }
    }
}

/// The truncate, clean close and restarts `target` can do: a restart with every
/// configuration when it takes keys, with its own otherwise.
pub fn lifecycle_steps(target: &dyn Target) -> Vec<Step> {
    let capabilities = target.capabilities();
    let mut steps = Vec::new();
    if capabilities.truncate {
        steps.push(Step::Truncate);
    }
    steps.push(Step::Close);
    if capabilities.keys {
        steps.extend(Keying::ALL.into_iter().map(Step::Reopen));
    } else {
        steps.push(Step::Reopen(Keying::of(target.version())));
    }
    steps
}

/// A step: mostly commands, some flushes and syncs, now and then a crash or one of
/// `lifecycle`.
pub fn step(lifecycle: Vec<Step>) -> BoxedStrategy<Step> {
    step_with(lifecycle, true)
}

/// A step as [`step`] makes them, crashes among them or not (the baseline's steps).
fn step_with(lifecycle: Vec<Step>, crashes: bool) -> BoxedStrategy<Step> {
    // One union each, so that the engine's steps draw from a seed as they always did.
    let base = match crashes {
        true => prop_oneof![
            10 => alphabet::command().prop_map(Step::Command),
            4 => Just(Step::Flush),
            3 => Just(Step::Sync),
            1 => (any::<bool>(), any::<u32>()).prop_map(|(harsh, pick)| Step::Crash { harsh, pick }),
        ]
        .boxed(),
        false => prop_oneof![
            10 => alphabet::command().prop_map(Step::Command),
            4 => Just(Step::Flush),
            3 => Just(Step::Sync),
        ]
        .boxed(),
    };
    if lifecycle.is_empty() {
        return base;
    }
    prop_oneof![18 => base, 1 => prop::sample::select(lifecycle)].boxed()
}

/// Sequences of 1 to `max_steps` steps.
pub fn steps(max_steps: usize, lifecycle: Vec<Step>) -> BoxedStrategy<Vec<Step>> {
    prop::collection::vec(step(lifecycle), 1..=max_steps.max(1)).boxed()
}

/// The baseline's sequences: 1 to `max_steps` steps without a crash, then the crash at the
/// end (a [`Step::Crash`] whose `pick` chooses the image, see [`Player::crash_once`]).
fn baseline_steps(max_steps: usize, lifecycle: Vec<Step>) -> BoxedStrategy<Vec<Step>> {
    let body = prop::collection::vec(step_with(lifecycle, false), 1..=max_steps.max(1));
    (body, any::<u32>())
        .prop_map(|(mut steps, pick)| {
            steps.push(Step::Crash { harsh: false, pick });
            steps
        })
        .boxed()
}

/// What one case found, counted, and which image each crash step recovered into.
pub type Played = (Vec<Found>, Counts, Vec<(usize, CrashImage)>);

/// Plays one case on `target` from an empty store.
pub fn play_case(
    target: &mut dyn Target,
    steps: &[Step],
    seed: u64,
    linear: bool,
    ignore: &[FailureKind],
) -> Result<Played, HarnessError> {
    play(target, steps, seed, linear, ignore, false)
}

/// Plays one case, as the engine does or (`baseline`) as the baseline does: every step
/// but the last, then the last (a crash) through [`Player::crash_once`].
fn play(
    target: &mut dyn Target,
    steps: &[Step],
    seed: u64,
    linear: bool,
    ignore: &[FailureKind],
    baseline: bool,
) -> Result<Played, HarnessError> {
    let mut rec = Recoverer::new(target, linear);
    let mut player = Player::new(&mut rec, Store::new(T0_MS), seed, ignore)?;
    match (baseline, steps.split_last()) {
        (true, Some((Step::Crash { pick, .. }, body))) => {
            if player.play_steps(body)? {
                player.crash_once(body.len(), *pick)?;
            }
        }
        _ => player.play(steps)?,
    }
    let (found, commands, records) = (player.found.clone(), player.commands, player.records);
    let picked = player.picked.clone();
    let mut counts = rec.counts;
    counts.cases = 1;
    counts.commands = commands;
    counts.records = records;
    Ok((found, counts, picked))
}

/// Cases a round: the unit a job runs (see `crate::jobs`).
pub const ROUND_CASES: u32 = 32;

/// Runs the engine on one target: see the module documentation.
pub fn run(
    target: &mut dyn Target,
    config: &SequencesConfig,
    budget: &Budget,
    progress: &mut dyn FnMut(Progress),
) -> Report {
    on_one(config.engine(), config.seed, target, |targets| {
        run_split(targets, config, Shard::WHOLE, budget, progress)
    })
}

/// Runs the rounds of `shard` on `targets` (one target, or jobs with a target each): rounds
/// of [`ROUND_CASES`] cases, each with its own seed, up to the first failing round.
pub fn run_split(
    targets: Targets<'_>,
    config: &SequencesConfig,
    shard: Shard,
    budget: &Budget,
    progress: &mut dyn FnMut(Progress),
) -> Result<Report, TargetError> {
    let rounds = Rounds {
        seed: config.seed,
        cases: config.cases,
        round: ROUND_CASES,
    };
    run_rounds(
        targets,
        config.engine(),
        &rounds,
        shard,
        budget,
        progress,
        &|target, seed, cases, budget| {
            let round = SequencesConfig {
                seed,
                cases,
                ..config.clone()
            };
            run_round(target, &round, budget)
        },
    )
}

/// One round: `config.cases` cases from `config.seed`, a failure shrunk.
fn run_round(target: &mut dyn Target, config: &SequencesConfig, budget: &Budget) -> Report {
    let settings = CaseSettings {
        seed: config.seed,
        cases: config.cases,
        shrink_iters: config.shrink_iters,
        ignore: &config.ignore,
    };
    let lifecycle = match config.lifecycle {
        true => lifecycle_steps(target),
        false => Vec::new(),
    };
    let strategy = match config.baseline {
        true => baseline_steps(config.max_steps, lifecycle),
        false => steps(config.max_steps, lifecycle),
    };
    run_cases(
        config.engine(),
        target,
        &settings,
        strategy,
        budget,
        &mut no_progress(),
        |target, steps| {
            let (seed, linear) = (config.seed, config.linear);
            play(target, steps, seed, linear, &config.ignore, config.baseline)
        },
        |report, minimal, found, picked| {
            for f in found {
                let case = || Case {
                    seed: config.seed,
                    steps: minimal[..(f.step + 1).min(minimal.len())].to_vec(),
                    crash: f.image,
                    damage: None,
                    fault: None,
                    picked: picked.clone(),
                };
                report.record(f.finding, case, &config.ignore);
            }
        },
    )
}

impl PlayedFinding for Found {
    fn finding(&self) -> &Finding {
        &self.finding
    }
}
