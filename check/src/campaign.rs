//! A campaign: every engine against one implementation, for versions 2 and 3, within one time
//! budget. This is what `eaof explore` runs; CI runs the same engines with fixed case counts
//! (`tests/check_eaof.rs`, `tests/check_ember.rs`).
//!
//! The budget is shared out in a fixed order per version: the exhaustive explorer first (it
//! covers every short sequence), then random sequences, then damage (cuts, flips, multi-byte),
//! then fault injection. An engine that finishes early leaves its time to the ones after it.
//! Every engine's seed derives from the campaign's, so a campaign is replayed with its seed.

use std::time::{Duration, Instant};

use crate::eaof::EaofSim;
use crate::process::{ProcessSpec, ProcessTarget};
use crate::report::{Budget, FailureKind, Progress, Report};
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
}

impl Default for CampaignConfig {
    fn default() -> Self {
        CampaignConfig {
            target: TargetKind::Eaof,
            seconds: 50.0,
            depth: 4,
            seed: 0x00ea_0f00,
            versions: Version::ALL.to_vec(),
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

/// The engines, in the order a campaign runs them, with their share of each version's time.
const SHARES: [(&str, f64); 4] = [
    ("explore", 0.35),
    ("sequences", 0.30),
    ("damage", 0.20),
    ("faults", 0.15),
];

/// A new target of `kind` writing `version` files: the factory every run (and every parallel
/// job) makes its own target with.
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

/// Runs every engine for every version; returns their reports in order.
pub fn run(
    config: &CampaignConfig,
    progress: &mut dyn FnMut(CampaignProgress),
) -> Result<Vec<Report>, TargetError> {
    let started = Instant::now();
    let budget = Duration::from_secs_f64(config.seconds.max(0.0));
    let deadline = started + budget;
    let mut reports = Vec::new();
    for (v, &version) in config.versions.iter().enumerate() {
        let mut target = make_target(&config.target, version)?;
        // This version's end: an even share of what is left.
        let versions_left = (config.versions.len() - v) as u32;
        let version_end =
            Instant::now() + deadline.saturating_duration_since(Instant::now()) / versions_left;
        let mut share_left: f64 = SHARES.iter().map(|(_, s)| s).sum();
        for (engine, share) in SHARES {
            let left = version_end.saturating_duration_since(Instant::now());
            let slice = left.mul_f64(share / share_left);
            share_left -= share;
            let budget_for = Budget {
                deadline: Some(Instant::now() + slice),
                max_cases: None,
            };
            let mut report_progress = |p: Progress| {
                progress(CampaignProgress {
                    version,
                    engine: p,
                    elapsed: started.elapsed(),
                    budget,
                })
            };
            let report = run_rounds(
                engine,
                &mut *target,
                config,
                config.seed ^ engine_salt(engine),
                &budget_for,
                &mut report_progress,
            );
            reports.push(report);
        }
    }
    Ok(reports)
}

/// Cases per round of a random engine. proptest runs a fixed number of cases, so a campaign
/// runs rounds (each with its own seed) until its time is up, rather than one huge run.
const ROUND_CASES: u32 = 32;

/// Runs `engine` in rounds until the budget is spent, a round finds something, or (for the
/// exhaustive explorer, which runs once) the configuration is done; merges the rounds. When
/// the campaign collects kinds, a round that found something does not end the engine: the
/// next rounds ignore the kinds already found, so each new kind gets its own minimal case.
fn run_rounds(
    engine: &str,
    target: &mut dyn Target,
    config: &CampaignConfig,
    seed: u64,
    budget: &Budget,
    progress: &mut dyn FnMut(Progress),
) -> Report {
    let mut merged = run_engine(engine, target, config, seed, &[], budget, progress);
    let mut round = 1u64;
    while engine != "explore"
        && merged.complete
        && (merged.failures.is_empty() || config.target.collects_kinds())
        && merged.skipped.is_none()
        && !budget.exhausted(0)
    {
        let found: Vec<FailureKind> = merged.failures.iter().map(|f| f.kind).collect();
        let next = run_engine(
            engine,
            target,
            config,
            seed ^ round.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            &found,
            budget,
            progress,
        );
        merged.counts.add(&next.counts);
        merged.elapsed += next.elapsed;
        merged.complete = next.complete;
        merged.failures.extend(next.failures);
        for (kind, n) in next.found {
            *merged.found.entry(kind).or_default() += n;
        }
        round += 1;
    }
    // The budget, not the configuration, ends a random engine.
    if engine != "explore" {
        merged.complete = false;
    }
    merged
}

fn engine_salt(engine: &str) -> u64 {
    crate::crash::Fnv::of(engine.as_bytes())
}

/// Runs one round of `engine`, ignoring the kinds in `found` (found by earlier rounds). The
/// explorer, which runs once, goes on after every finding and keeps the shortest case of
/// each kind.
fn run_engine(
    engine: &str,
    target: &mut dyn Target,
    config: &CampaignConfig,
    seed: u64,
    found: &[FailureKind],
    budget: &Budget,
    progress: &mut dyn FnMut(Progress),
) -> Report {
    let ignore = found.to_vec();
    match engine {
        "explore" => explore::run(
            target,
            &explore::ExploreConfig {
                depth: config.depth,
                seed,
                ignore,
                ..Default::default()
            },
            budget,
            progress,
        ),
        "sequences" => sequences::run(
            target,
            &sequences::SequencesConfig {
                cases: ROUND_CASES,
                seed,
                ignore,
                ..Default::default()
            },
            budget,
            progress,
        ),
        "damage" => damage::run(
            target,
            &damage::DamageConfig {
                cases: ROUND_CASES / 8,
                seed,
                ignore,
                ..Default::default()
            },
            budget,
            progress,
        ),
        _ => faults::run(
            target,
            &faults::FaultsConfig {
                scripts: ROUND_CASES / 8,
                seed,
                ignore,
                ..Default::default()
            },
            budget,
            progress,
        ),
    }
}

/// Whether a campaign's reports found anything.
pub fn found_anything(reports: &[Report]) -> bool {
    reports
        .iter()
        .any(|r| !r.failures.is_empty() || r.found.values().any(|&n| n > 0))
}
