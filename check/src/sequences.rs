//! Engine: random command sequences, state-machine style (proptest, with shrinking).
//!
//! Each case is a sequence of commands over the small alphabet, flushes, syncs and crashes
//! (into any prefix image, or any harsh image), played by a [`Player`]: the commands run on
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
use crate::target::{Target, TargetError};
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
        }
    }
}

/// A step: mostly commands, some flushes and syncs, now and then a crash.
pub fn step() -> BoxedStrategy<Step> {
    prop_oneof![
        10 => alphabet::command().prop_map(Step::Command),
        4 => Just(Step::Flush),
        3 => Just(Step::Sync),
        1 => (any::<bool>(), any::<u32>()).prop_map(|(harsh, pick)| Step::Crash { harsh, pick }),
    ]
    .boxed()
}

/// Sequences of 1 to `max_steps` steps.
pub fn steps(max_steps: usize) -> BoxedStrategy<Vec<Step>> {
    prop::collection::vec(step(), 1..=max_steps.max(1)).boxed()
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
    run_cases(
        "sequences",
        target,
        &settings,
        steps(config.max_steps),
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
