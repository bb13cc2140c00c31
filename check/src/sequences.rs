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
    let base = prop_oneof![
        10 => alphabet::command().prop_map(Step::Command),
        4 => Just(Step::Flush),
        3 => Just(Step::Sync),
        1 => (any::<bool>(), any::<u32>()).prop_map(|(harsh, pick)| Step::Crash { harsh, pick }),
    ];
    if lifecycle.is_empty() {
        return base.boxed();
    }
    prop_oneof![18 => base, 1 => prop::sample::select(lifecycle)].boxed()
}

/// Sequences of 1 to `max_steps` steps.
pub fn steps(max_steps: usize, lifecycle: Vec<Step>) -> BoxedStrategy<Vec<Step>> {
    prop::collection::vec(step(lifecycle), 1..=max_steps.max(1)).boxed()
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
    let mut rec = Recoverer::new(target, linear);
    let mut player = Player::new(&mut rec, Store::new(T0_MS), seed, ignore)?;
    player.play(steps)?;
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
    on_one("sequences", config.seed, target, |targets| {
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
        "sequences",
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
    run_cases(
        "sequences",
        target,
        &settings,
        steps(config.max_steps, lifecycle),
        budget,
        &mut no_progress(),
        |target, steps| play_case(target, steps, config.seed, config.linear, &config.ignore),
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
