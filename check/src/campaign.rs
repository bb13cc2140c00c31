//! A campaign: every engine against one implementation, for versions 2 and 3, within one time
//! budget. This is what `eaof explore` runs; CI runs the same engines with fixed case counts
//! (`tests/check_eaof.rs`, `tests/check_ember.rs`).
//!
//! The budget is shared out in a fixed order per version: the exhaustive explorer first (it
//! covers every short sequence), then random sequences, then damage (cuts, flips, multi-byte),
//! then fault injection. An engine that finishes early leaves its time to the ones after it.
//! Every engine's seed derives from the campaign's, so a campaign is replayed with its seed.
//!
//! Each engine runs on `jobs` threads, each with a target [`make_target`] made for it, and on
//! the units of one shard of the campaign (see `crate::jobs` and `crate::shard`): the same
//! seed gives the same findings for any number of jobs, once the engines run to the end of
//! their configuration; under a time budget, what ran depends on the machine's speed.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use crate::eaof::EaofSim;
use crate::jobs::{MakeTarget, Targets, UNBOUNDED};
use crate::process::{ProcessSpec, ProcessTarget};
use crate::report::{Budget, FailureKind, Progress, Report};
use crate::shard::Shard;
use crate::target::{Target, TargetError, Version};
use crate::{damage, explore, faults, sequences};

/// Which implementation a campaign checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetKind {
    /// eaof, on the simulated disk (faults included).
    Eaof,
    /// ember-persistence 0.4.9 on real files (needs the `ember` feature).
    Ember,
    /// An implementation run as a child process speaking the driver protocol
    /// (`crate::process`); each target made starts its own child.
    Process(ProcessSpec),
}

impl TargetKind {
    /// Whether the campaign looks for every kind of defect, each with its minimal case,
    /// rather than stopping an engine at its first: against implementations other than eaof,
    /// which are expected to have several.
    fn collects_kinds(&self) -> bool {
        !matches!(self, TargetKind::Eaof)
    }
}

impl fmt::Display for TargetKind {
    /// The words the command line takes (`--target eaof`, `--target cmd -- PROGRAM ARGS`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetKind::Eaof => f.write_str("eaof"),
            TargetKind::Ember => f.write_str("ember"),
            TargetKind::Process(spec) => write!(f, "cmd -- {}", spec.display()),
        }
    }
}

/// A checker engine, as a campaign runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Engine {
    /// The exhaustive explorer (`crate::explore`).
    Explore,
    /// Random command sequences (`crate::sequences`).
    Sequences,
    /// Cuts, flips and damage (`crate::damage`).
    Damage,
    /// Fault injection (`crate::faults`).
    Faults,
}

/// The engines, in the order a campaign runs them, with their names and their share of each
/// version's time.
const ENGINES: [(Engine, &str, f64); 4] = [
    (Engine::Explore, "explore", 0.35),
    (Engine::Sequences, "sequences", 0.30),
    (Engine::Damage, "damage", 0.20),
    (Engine::Faults, "faults", 0.15),
];

impl Engine {
    /// Every engine, in campaign order.
    pub const ALL: [Engine; 4] = [
        Engine::Explore,
        Engine::Sequences,
        Engine::Damage,
        Engine::Faults,
    ];

    fn entry(self) -> &'static (Engine, &'static str, f64) {
        &ENGINES[self as usize]
    }

    /// The engine's name (as in its reports and on the command line).
    pub fn name(self) -> &'static str {
        self.entry().1
    }

    /// The engine named `name`.
    pub fn from_name(name: &str) -> Option<Engine> {
        ENGINES.iter().find(|e| e.1 == name).map(|e| e.0)
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Engine {
    type Err = String;

    fn from_str(s: &str) -> Result<Engine, String> {
        Engine::from_name(s.trim()).ok_or_else(|| {
            let names: Vec<&str> = ENGINES.iter().map(|e| e.1).collect();
            format!("no engine {s:?}: the engines are {}", names.join(", "))
        })
    }
}

/// What a campaign runs.
#[derive(Debug, Clone)]
pub struct CampaignConfig {
    pub target: TargetKind,
    /// The whole campaign's time budget.
    pub seconds: f64,
    /// The explorer's longest sequence.
    pub depth: usize,
    /// The seed every engine's seed derives from.
    pub seed: u64,
    pub versions: Vec<Version>,
    /// The engines to run (in campaign order whatever the order here).
    pub engines: Vec<Engine>,
    /// Threads, each with a target of its own (see `crate::jobs`).
    pub jobs: usize,
    /// The part of the campaign this run does (see `crate::shard`).
    pub shard: Shard,
    /// Set to stop the campaign (an interrupt): it stops within a case, and reports.
    pub cancel: Option<&'static AtomicBool>,
}

impl Default for CampaignConfig {
    fn default() -> Self {
        CampaignConfig {
            target: TargetKind::Eaof,
            seconds: 50.0,
            depth: 4,
            seed: 0x00ea_0f00,
            versions: Version::ALL.to_vec(),
            engines: Engine::ALL.to_vec(),
            jobs: crate::jobs::default_jobs(),
            shard: Shard::WHOLE,
            cancel: None,
        }
    }
}

/// Where a campaign is, for a progress display.
#[derive(Debug, Clone)]
pub struct CampaignProgress {
    pub version: Version,
    pub engine: Progress,
    /// Time since the campaign started, and its whole budget.
    pub elapsed: Duration,
    pub budget: Duration,
}

/// One engine's run for one version.
#[derive(Debug, Clone)]
pub struct EngineRun {
    pub version: Version,
    pub engine: Engine,
    pub report: Report,
}

/// What a campaign did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Every engine's report, version by version, in campaign order.
    pub runs: Vec<EngineRun>,
    /// The campaign's wall-clock time.
    pub elapsed: Duration,
    /// Whether it was stopped by an interrupt.
    pub interrupted: bool,
}

impl Outcome {
    /// Whether any engine found anything.
    pub fn found_anything(&self) -> bool {
        found_anything(self.runs.iter().map(|r| &r.report))
    }
}

/// Makes a target of `kind` writing `version` files: what each job of a campaign calls.
pub fn make_target(kind: &TargetKind, version: Version) -> Result<Box<dyn Target>, TargetError> {
    match kind {
        TargetKind::Eaof => Ok(Box::new(EaofSim::new(version))),
        TargetKind::Process(spec) => Ok(Box::new(ProcessTarget::start(spec, version)?)),
        #[cfg(feature = "ember")]
        TargetKind::Ember => Ok(Box::new(crate::ember::EmberTarget::new(version)?)),
        #[cfg(not(feature = "ember"))]
        TargetKind::Ember => Err(TargetError::new(
            crate::target::Op::Create,
            crate::target::ErrorKind::Unsupported,
            "this build has no ember target: build eaof-check with the `ember` feature",
        )),
    }
}

/// Runs the chosen engines for every version; returns their reports in order. A target that
/// cannot be made is an error; an interrupt ends the campaign early, with what ran reported.
pub fn run(
    config: &CampaignConfig,
    progress: &mut dyn FnMut(CampaignProgress),
) -> Result<Outcome, TargetError> {
    let started = Instant::now();
    let budget = Duration::from_secs_f64(config.seconds.max(0.0));
    let deadline = started + budget;
    let mut runs = Vec::new();
    let engines: Vec<&(Engine, &str, f64)> = ENGINES
        .iter()
        .filter(|e| config.engines.contains(&e.0))
        .collect();
    for (v, &version) in config.versions.iter().enumerate() {
        // This version's end: an even share of what is left.
        let versions_left = (config.versions.len() - v) as u32;
        let version_end =
            Instant::now() + deadline.saturating_duration_since(Instant::now()) / versions_left;
        let mut share_left: f64 = engines.iter().map(|e| e.2).sum();
        for &&(engine, _, share) in &engines {
            let left = version_end.saturating_duration_since(Instant::now());
            let slice = left.mul_f64(share / share_left);
            share_left -= share;
            let engine_budget = Budget {
                deadline: Some(Instant::now() + slice),
                max_cases: None,
                cancel: config.cancel,
            };
            let mut report_progress = |p: Progress| {
                progress(CampaignProgress {
                    version,
                    engine: p,
                    elapsed: started.elapsed(),
                    budget,
                })
            };
            let make = || make_target(&config.target, version);
            let report = run_engine(
                engine,
                &make,
                config,
                config.seed ^ engine_salt(engine),
                &engine_budget,
                &mut report_progress,
            )?;
            runs.push(EngineRun {
                version,
                engine,
                report,
            });
            if engine_budget.cancelled() {
                return Ok(Outcome {
                    runs,
                    elapsed: started.elapsed(),
                    interrupted: true,
                });
            }
        }
    }
    Ok(Outcome {
        runs,
        elapsed: started.elapsed(),
        interrupted: false,
    })
}

/// An engine's seed: the campaign's, mixed with the engine's name.
pub fn engine_salt(engine: Engine) -> u64 {
    crate::crash::Fnv::of(engine.name().as_bytes())
}

/// Runs one engine of a campaign: the explorer once (to the end of its configuration or of
/// its budget, going on after every finding and keeping the shortest case of each kind), a
/// random engine in rounds until the budget is spent or a round finds something (see
/// `crate::jobs`). When the campaign collects kinds, a finding does not end a random
/// engine: it runs again with a new seed, ignoring the kinds already found, so each new
/// kind gets its own minimal case.
fn run_engine(
    engine: Engine,
    make: &MakeTarget<'_>,
    config: &CampaignConfig,
    seed: u64,
    budget: &Budget,
    progress: &mut dyn FnMut(Progress),
) -> Result<Report, TargetError> {
    let targets = || Targets::Jobs {
        make,
        jobs: config.jobs,
    };
    let setup = |seed: u64, ignore: Vec<FailureKind>| EngineSetup {
        depth: config.depth,
        seed,
        ignore,
        shard: config.shard,
        first: false,
    };
    let mut merged = run_engine_once(
        engine,
        targets(),
        &setup(seed, Vec::new()),
        budget,
        progress,
    )?;
    let mut round = 1u64;
    while engine != Engine::Explore
        && config.target.collects_kinds()
        && !merged.failures.is_empty()
        && merged.skipped.is_none()
        && !budget.exhausted(0)
    {
        let found: Vec<FailureKind> = merged.failures.iter().map(|f| f.kind).collect();
        let round_seed = seed ^ round.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let next = run_engine_once(
            engine,
            targets(),
            &setup(round_seed, found),
            budget,
            progress,
        )?;
        let new_kind = !next.failures.is_empty();
        merged.elapsed += next.elapsed;
        merged.absorb(next, round);
        if !new_kind {
            break;
        }
        round += 1;
    }
    // The budget, not the configuration, ends a random engine.
    if engine != Engine::Explore {
        merged.complete = false;
    }
    Ok(merged)
}

/// How one run of an engine is set up.
#[derive(Debug, Clone)]
pub struct EngineSetup {
    /// The explorer's longest sequence.
    pub depth: usize,
    /// The engine's seed.
    pub seed: u64,
    /// Kinds counted but not reported (found by earlier rounds, or not looked for).
    pub ignore: Vec<FailureKind>,
    /// The part of the campaign run.
    pub shard: Shard,
    /// Stop at the first failure not ignored, unshrunk (the checker's own benchmark,
    /// `crate::bench`, times the first finding); a campaign keeps going and shrinks.
    pub first: bool,
}

/// Runs `engine` once as `setup` says, with each engine's other settings as a campaign
/// has them (its whole alphabet, harsh crash images, random engines without end).
pub fn run_engine_once(
    engine: Engine,
    targets: Targets<'_>,
    setup: &EngineSetup,
    budget: &Budget,
    progress: &mut dyn FnMut(Progress),
) -> Result<Report, TargetError> {
    let (seed, ignore, shard) = (setup.seed, setup.ignore.clone(), setup.shard);
    let report = match engine {
        Engine::Explore => explore::run_split(
            targets,
            &explore::ExploreConfig {
                depth: setup.depth,
                seed,
                ignore,
                stop_at_first: setup.first,
                ..Default::default()
            },
            shard,
            budget,
            progress,
        )?,
        Engine::Sequences => sequences::run_split(
            targets,
            &sequences::SequencesConfig {
                cases: UNBOUNDED,
                seed,
                ignore,
                shrink_iters: shrink_iters(
                    setup,
                    sequences::SequencesConfig::default().shrink_iters,
                ),
                ..Default::default()
            },
            shard,
            budget,
            progress,
        )?,
        Engine::Damage => damage::run_split(
            targets,
            &damage::DamageConfig {
                cases: UNBOUNDED,
                seed,
                ignore,
                shrink_iters: shrink_iters(setup, damage::DamageConfig::default().shrink_iters),
                ..Default::default()
            },
            shard,
            budget,
            progress,
        )?,
        Engine::Faults => faults::run_split(
            targets,
            &faults::FaultsConfig {
                scripts: UNBOUNDED,
                seed,
                ignore,
                stop_at_first: setup.first,
                ..Default::default()
            },
            shard,
            budget,
            progress,
        )?,
    };
    Ok(report)
}

/// Shrinking steps of a random engine: its own, or none when only the first finding
/// counts.
fn shrink_iters(setup: &EngineSetup, own: u32) -> u32 {
    match setup.first {
        true => 0,
        false => own,
    }
}

/// Whether any of `reports` found anything.
pub fn found_anything<'a>(reports: impl IntoIterator<Item = &'a Report>) -> bool {
    reports
        .into_iter()
        .any(|r| !r.failures.is_empty() || r.found.values().any(|&n| n > 0))
}
