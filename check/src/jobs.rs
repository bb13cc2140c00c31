//! Running an engine on every core: its work is cut into *units*, numbered in the engine's
//! order, which jobs (threads, each with a target of its own) take one at a time.
//!
//! A unit of the exhaustive explorer is a group of sequences sharing a prefix; a unit of a
//! random engine is a round of cases with a seed of its own. Guarantees:
//! - a unit is run start to finish on one target, from nothing other units leave (the
//!   explorer's caches start empty in each unit), so its report depends only on the
//!   engine's configuration and the unit's index, never on which job ran it or when;
//! - the reports of the units are merged in unit order ([`Report::absorb`]): the merged
//!   report of a run to completion is the same for any number of jobs (its time aside), and
//!   the first failure of each kind is the one of the lowest unit;
//! - a random engine stops at its first failing unit (`stop_at_failure`): units are handed
//!   out in order, so every unit before it has run; units after it that ran at the same time
//!   are dropped, so which units count does not depend on timing either;
//! - with a shard ([`Shard`]) only the units it owns are run.
//!
//! A time budget, a case budget or an interrupt stops jobs between units and within them:
//! which units ran then depends on the speed of the machine and the number of jobs.
//!
//! Targets are not shared between threads (a simulated disk is a single-threaded handle,
//! a process target owns its child): [`Targets::Jobs`] makes one per job through a factory.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use crate::report::{Budget, Progress, Report};
use crate::shard::Shard;
use crate::target::{Target, TargetError};

/// The most jobs a run starts (far more than the cores of any machine this is run on).
pub const JOBS_MAX: usize = 1024;

/// Makes a fresh target, once for each job.
pub type MakeTarget<'a> = dyn Fn() -> Result<Box<dyn Target>, TargetError> + Sync + 'a;

/// What the units run on.
pub enum Targets<'a> {
    /// One target: the units run one after another on this thread.
    One(&'a mut dyn Target),
    /// `jobs` threads, each with a target made by `make`.
    Jobs {
        /// The factory.
        make: &'a MakeTarget<'a>,
        /// How many threads.
        jobs: usize,
    },
}

/// The machine's cores: the default number of jobs.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Which units a run goes through.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// The engine's units (the whole campaign's, before sharding).
    pub units: u64,
    /// The units this run owns.
    pub shard: Shard,
    /// Stop after the first unit whose report has a failure (random engines).
    pub stop_at_failure: bool,
}

/// Runs `work` on each unit of `plan`; returns the merged report (`merged` with the units'
/// reports absorbed in unit order), with its time and its units set. `progress` is called on
/// the calling thread after each unit with the merged report so far (in the order the
/// units finished). A target the factory cannot make is an error (nothing is reported).
pub fn run_units(
    targets: Targets<'_>,
    plan: &Plan,
    budget: &Budget,
    merged: Report,
    progress: &mut dyn FnMut(&Report),
    work: &(dyn Fn(&mut dyn Target, u64, &Budget) -> Report + Sync),
) -> Result<Report, TargetError> {
    let started = Instant::now();
    let queue = Queue {
        plan: *plan,
        next: AtomicU64::new(0),
        first_failure: AtomicU64::new(u64::MAX),
        stop: AtomicBool::new(false),
        cases: AtomicU64::new(0),
    };
    let mut parts: Vec<(u64, Report)> = Vec::new();
    let mut running = merged.clone();
    let mut take = |unit: u64, part: Report| {
        running.absorb(part.clone(), unit);
        running.elapsed = started.elapsed();
        progress(&running);
        parts.push((unit, part));
    };
    match targets {
        Targets::One(target) => {
            while let Some(unit) = queue.take(budget) {
                let part = queue.run(work, &mut *target, unit, budget);
                take(unit, part);
            }
        }
        Targets::Jobs { make, jobs } => {
            let jobs = jobs.clamp(1, JOBS_MAX);
            let (sender, receiver) = mpsc::channel::<Result<(u64, Report), TargetError>>();
            std::thread::scope(|scope| {
                for _ in 0..jobs {
                    let sender = sender.clone();
                    let queue = &queue;
                    scope.spawn(move || {
                        let mut target = match make() {
                            Ok(target) => target,
                            Err(e) => {
                                queue.stop.store(true, Ordering::Relaxed);
                                let _ = sender.send(Err(e));
                                return;
                            }
                        };
                        while let Some(unit) = queue.take(budget) {
                            let part = queue.run(work, &mut *target, unit, budget);
                            if sender.send(Ok((unit, part))).is_err() {
                                return;
                            }
                        }
                    });
                }
                drop(sender);
                let mut error = None;
                for message in receiver {
                    match message {
                        Ok((unit, part)) => take(unit, part),
                        Err(e) => error = error.or(Some(e)),
                    }
                }
                error.map_or(Ok(()), Err)
            })?;
        }
    }
    let last = queue.first_failure.load(Ordering::Relaxed);
    parts.retain(|(unit, _)| *unit <= last);
    parts.sort_by_key(|(unit, _)| *unit);
    let mut merged = merged;
    let everything = plan.shard.owned(plan.units);
    for (unit, part) in parts {
        merged.absorb(part, unit);
    }
    merged.units.planned = Some(everything);
    merged.complete &= merged.units.done == everything || last != u64::MAX;
    merged.elapsed = started.elapsed();
    Ok(merged)
}

/// The units still to hand out, shared by the jobs.
struct Queue {
    plan: Plan,
    /// How many of the shard's units were handed out.
    next: AtomicU64,
    /// The lowest failing unit (random engines).
    first_failure: AtomicU64,
    /// A unit could not run (the harness failed, the engine does not apply): stop.
    stop: AtomicBool,
    /// Cases of the units finished, for a case budget.
    cases: AtomicU64,
}

impl Queue {
    /// The next unit to run, if any.
    fn take(&self, budget: &Budget) -> Option<u64> {
        if self.stop.load(Ordering::Relaxed) || budget.exhausted(self.cases.load(Ordering::Relaxed))
        {
            return None;
        }
        let k = self.next.fetch_add(1, Ordering::Relaxed);
        let unit = self.plan.shard.unit(k);
        (unit < self.plan.units && unit <= self.first_failure.load(Ordering::Relaxed))
            .then_some(unit)
    }

    /// Runs `unit` and notes what it did (before its report is passed on, so that no job
    /// takes a unit past a failing one while the report travels).
    fn run(
        &self,
        work: &(dyn Fn(&mut dyn Target, u64, &Budget) -> Report + Sync),
        target: &mut dyn Target,
        unit: u64,
        budget: &Budget,
    ) -> Report {
        let mut part = work(
            target,
            unit,
            &budget.after(self.cases.load(Ordering::Relaxed)),
        );
        part.units.done = u64::from(part.complete && part.skipped.is_none());
        self.finished(unit, &part);
        part
    }

    /// Notes what a finished unit did.
    fn finished(&self, unit: u64, part: &Report) {
        self.cases.fetch_add(part.counts.cases, Ordering::Relaxed);
        if part.skipped.is_some() {
            self.stop.store(true, Ordering::Relaxed);
        }
        if self.plan.stop_at_failure && !part.failures.is_empty() {
            self.first_failure.fetch_min(unit, Ordering::Relaxed);
        }
    }
}

/// Runs an engine on one target through `run` (a `run_split` of the engine), making a report
/// of the target's error if there is one (a single target is never made, so only a harness
/// error of the engine's own could get here).
pub fn on_one(
    engine: &'static str,
    seed: u64,
    target: &mut dyn Target,
    run: impl FnOnce(Targets<'_>) -> Result<Report, TargetError>,
) -> Report {
    let name = target.name();
    run(Targets::One(target)).unwrap_or_else(|e| {
        let mut report = Report::new(engine, name, seed);
        report.skipped = Some(e.to_string());
        report.complete = false;
        report
    })
}

/// A case count meaning "as many rounds as the budget allows".
pub const UNBOUNDED: u32 = u32::MAX;

/// A random engine's units: rounds of `round` cases, `cases` in all, round `r` seeded with
/// [`Rounds::seed`].
#[derive(Debug, Clone, Copy)]
pub struct Rounds {
    /// The engine's seed: round 0's.
    pub seed: u64,
    /// Cases in all ([`UNBOUNDED`]: no end but the budget's).
    pub cases: u32,
    /// Cases a round.
    pub round: u32,
}

impl Rounds {
    /// How many rounds.
    pub fn units(&self) -> u64 {
        u64::from(self.cases).div_ceil(u64::from(self.round.max(1)))
    }

    /// Round `r`'s seed: the engine's for round 0 (so a run of one round is the engine's
    /// plain run), then a fixed odd multiple of `r` mixed in.
    pub fn seed(&self, r: u64) -> u64 {
        self.seed ^ r.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    /// Round `r`'s cases.
    pub fn cases(&self, r: u64) -> u32 {
        let first = r.saturating_mul(u64::from(self.round));
        let left = u64::from(self.cases).saturating_sub(first);
        left.min(u64::from(self.round)) as u32
    }
}

/// Runs the rounds of a random engine that `shard` owns on `targets`, stopping at the first
/// failing round; `work` runs one round (its seed and cases given). Progress counts cases.
#[allow(clippy::too_many_arguments)]
pub fn run_rounds(
    targets: Targets<'_>,
    engine: &'static str,
    rounds: &Rounds,
    shard: Shard,
    budget: &Budget,
    progress: &mut dyn FnMut(Progress),
    work: &(dyn Fn(&mut dyn Target, u64, u32, &Budget) -> Report + Sync),
) -> Result<Report, TargetError> {
    let plan = Plan {
        units: rounds.units(),
        shard,
        stop_at_failure: true,
    };
    let total = (rounds.cases != UNBOUNDED).then(|| {
        (0..shard.owned(plan.units))
            .map(|k| u64::from(rounds.cases(shard.unit(k))))
            .sum()
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
        Report::new(engine, name, rounds.seed),
        &mut |so_far| progress(so_far.progress(so_far.counts.cases, total, started)),
        &|target, r, budget| work(target, rounds.seed(r), rounds.cases(r), budget),
    )
}
