//! What an engine reports: its counts, the defects it found, each with a replayable case,
//! and the budget and progress plumbing a command-line front end needs.
//!
//! A [`Failure`] always carries the [`Case`] that shows it: the seed, the minimal command
//! sequence (as proptest shrank it, or as the explorer first met it, shortest first) and the
//! crash image, damage or fault applied to it. A report keeps the first failure of each
//! [`FailureKind`] and counts the rest.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::crash::CrashImage;
use crate::script::Step;
use crate::target::Fault;

/// How long an engine may run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Budget {
    /// Stop starting new cases after this instant.
    pub deadline: Option<Instant>,
    /// Stop after this many cases (sequences, files, fault runs, explored sequences). In a
    /// run split into units on several jobs (`crate::jobs`), checked against the cases of
    /// the units already finished when a unit starts, and within each unit against its own.
    pub max_cases: Option<u64>,
    /// Stop as soon as this flag is set (an interrupt: Ctrl-C).
    pub cancel: Option<&'static AtomicBool>,
}

impl Budget {
    /// No limit: the engine runs its whole configuration.
    pub fn unlimited() -> Self {
        Budget::default()
    }

    /// At most `seconds` from now.
    pub fn seconds(seconds: f64) -> Self {
        Budget {
            deadline: Some(Instant::now() + Duration::from_secs_f64(seconds.max(0.0))),
            max_cases: None,
            cancel: None,
        }
    }

    /// At most `cases` cases.
    pub fn cases(cases: u64) -> Self {
        Budget {
            deadline: None,
            max_cases: Some(cases),
            cancel: None,
        }
    }

    /// Whether a run that has done `cases` cases must stop.
    pub fn exhausted(&self, cases: u64) -> bool {
        self.max_cases.is_some_and(|max| cases >= max)
            || self.cancelled()
            || self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Whether the run was interrupted.
    pub fn cancelled(&self) -> bool {
        self.cancel.is_some_and(|flag| flag.load(Ordering::Relaxed))
    }

    /// The budget left for a unit of a run whose finished units did `done` cases.
    pub fn after(&self, done: u64) -> Budget {
        Budget {
            max_cases: self.max_cases.map(|max| max.saturating_sub(done)),
            ..*self
        }
    }
}

/// Where a running engine is, for a progress bar.
#[derive(Debug, Clone)]
pub struct Progress {
    /// The engine's name.
    pub engine: &'static str,
    /// Cases done.
    pub done: u64,
    /// Cases planned, when known.
    pub total: Option<u64>,
    /// Crash states (images) recovered so far.
    pub crash_states: u64,
    /// Distinct kinds of failure found so far.
    pub failures: usize,
    /// Time since the engine started.
    pub elapsed: Duration,
}

/// A progress callback that ignores its calls.
pub fn no_progress() -> impl FnMut(Progress) {
    |_| {}
}

/// The seed to run with: `PROPTEST_RNG_SEED` when set (as CI sets it), else `default`.
pub fn seed_from_env(default: u64) -> u64 {
    std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}

/// A deterministic proptest runner for `seed`, running `cases` cases and shrinking a
/// failure at most `shrink_iters` times; failures are not persisted (the report carries the
/// case).
pub fn runner(seed: u64, cases: u32, shrink_iters: u32) -> proptest::test_runner::TestRunner {
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let mut bytes = [0u8; 32];
    for chunk in bytes.chunks_mut(8) {
        chunk.copy_from_slice(&seed.to_le_bytes());
    }
    let config = Config {
        cases,
        max_shrink_iters: shrink_iters,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

/// What an engine counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Cases: generated sequences, generated files, fault runs, explored sequences.
    pub cases: u64,
    /// Runs made while shrinking a failing case.
    pub shrinks: u64,
    /// Client commands executed on the model.
    pub commands: u64,
    /// Records handed to the target.
    pub records: u64,
    /// Crash images recovered (read back, reopened, appended to), each once.
    pub crash_states: u64,
    /// Crash images identical to one already recovered, not recovered again.
    pub merged: u64,
    /// Truncation points checked.
    pub truncations: u64,
    /// Single-bit flips checked.
    pub flips: u64,
    /// Multi-byte damages checked.
    pub damages: u64,
    /// Faults injected.
    pub faults: u64,
    /// Times a writer was reopened on a crash image or damaged file.
    pub reopens: u64,
    /// Reads through the target (tail reads included).
    pub reads: u64,
    /// Bytes of the images read through the target: linear in the file for all its cuts,
    /// where reading each cut whole is quadratic.
    pub bytes_read: u64,
    /// Moments whose crash states the durability account could not give (a trace the
    /// persistence model cannot follow): not checked, counted and printed, never a pass.
    pub unmodellable: u64,
}

impl Counts {
    /// Adds `other` to these counts.
    pub fn add(&mut self, other: &Counts) {
        self.cases += other.cases;
        self.shrinks += other.shrinks;
        self.commands += other.commands;
        self.records += other.records;
        self.crash_states += other.crash_states;
        self.merged += other.merged;
        self.truncations += other.truncations;
        self.flips += other.flips;
        self.damages += other.damages;
        self.faults += other.faults;
        self.reopens += other.reopens;
        self.reads += other.reads;
        self.bytes_read += other.bytes_read;
        self.unmodellable += other.unmodellable;
    }
}

/// What went wrong, as a property of the format or of crash recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailureKind {
    /// A call failed although no fault was injected.
    WriterFailed,
    /// Records no crash, cut or damage touched did not read back.
    CleanReadFailed,
    /// A record acknowledged by a successful sync was missing after recovery.
    AckedLost,
    /// Recovery returned records that were not written, or a state the model never had.
    PhantomState,
    /// A crash state the format calls a torn tail (a partial record, zeros, garbage after
    /// the header) was read as an error.
    TornTailReadAsError,
    /// A file whose header a crash tore (empty, or a prefix of the header) was read as an
    /// error rather than as an empty log.
    TornHeaderReadAsError,
    /// A crash state or cut file read without error but without every intact record in it.
    IntactRecordsDropped,
    /// Damage the format requires to be reported (an intact record after it, or a complete
    /// record failing its check) was read as a clean end.
    SilentDamage,
    /// The writer refused to reopen a file the format says it must cut and append to.
    ReopenFailed,
    /// Records appended after reopening a crash state or damaged file did not read back.
    AppendLost,
    /// The writer reopened a file whose header a crash tore without writing a whole header,
    /// so nothing appended reads back.
    TornHeaderNotRecreated,
    /// After a failed write or sync, the writer accepted more work.
    NotPoisoned,
    /// eaof's verdict differs from the format's rule (offset, record count or class).
    WrongVerdict,
    /// Reading from a record boundary and from the start of the file disagreed (the
    /// reader's result depends on bytes before the last intact record).
    InconsistentRead,
    /// After the writer accepted to reopen a file with another configuration (a key on a
    /// plaintext file, none or another on a sealed one), records did not read back: it
    /// mixed keys or framings in one file instead of keeping the file's or refusing.
    KeyingMixed,
}

/// Every kind, with its stable name (for reports, JSON and the command line) and the one
/// line saying what the property is.
const KINDS: [(FailureKind, &str, &str); 15] = [
    (
        FailureKind::WriterFailed,
        "writer_failed",
        "no call fails without a fault",
    ),
    (
        FailureKind::CleanReadFailed,
        "clean_read_failed",
        "everything written reads back",
    ),
    (
        FailureKind::AckedLost,
        "acked_lost",
        "nothing acknowledged by a sync is lost",
    ),
    (
        FailureKind::PhantomState,
        "phantom_state",
        "recovery never yields a state the model never had",
    ),
    (
        FailureKind::TornTailReadAsError,
        "torn_tail_read_as_error",
        "a crash's leftovers are a torn tail, not an error",
    ),
    (
        FailureKind::TornHeaderReadAsError,
        "torn_header_read_as_error",
        "a header torn by a crash is an empty log",
    ),
    (
        FailureKind::IntactRecordsDropped,
        "intact_records_dropped",
        "every intact record before a torn tail is read",
    ),
    (
        FailureKind::SilentDamage,
        "silent_damage",
        "damage followed by an intact record is never silent",
    ),
    (
        FailureKind::ReopenFailed,
        "reopen_failed",
        "a writer reopens a torn tail by cutting it",
    ),
    (
        FailureKind::AppendLost,
        "append_lost",
        "records appended after recovery read back",
    ),
    (
        FailureKind::TornHeaderNotRecreated,
        "torn_header_not_recreated",
        "a writer rewrites a header torn by a crash",
    ),
    (
        FailureKind::NotPoisoned,
        "not_poisoned",
        "a writer refuses work after a failed write or sync",
    ),
    (
        FailureKind::WrongVerdict,
        "wrong_verdict",
        "verdicts name the damaged record's offset and class",
    ),
    (
        FailureKind::InconsistentRead,
        "inconsistent_read",
        "a record's reading depends only on its bytes",
    ),
    (
        FailureKind::KeyingMixed,
        "keying_mixed",
        "a file reopened with another key reads back whole, or the writer refuses",
    ),
];

impl FailureKind {
    /// Every kind.
    pub const ALL: [FailureKind; 15] = {
        let mut all = [FailureKind::WriterFailed; 15];
        let mut i = 0;
        while i < KINDS.len() {
            all[i] = KINDS[i].0;
            i += 1;
        }
        all
    };

    /// Every kind but `kinds`: the ignore list of a run looking for `kinds` only.
    pub fn all_but(kinds: &[FailureKind]) -> Vec<FailureKind> {
        Self::ALL
            .into_iter()
            .filter(|k| !kinds.contains(k))
            .collect()
    }

    fn entry(self) -> &'static (FailureKind, &'static str, &'static str) {
        // KINDS lists every variant in declaration order (`kinds_are_listed_in_order`).
        &KINDS[self as usize]
    }

    /// One line saying what the property is.
    pub fn property(self) -> &'static str {
        self.entry().2
    }

    /// The kind's stable name: `acked_lost`.
    pub fn name(self) -> &'static str {
        self.entry().1
    }

    /// The kind named `name`.
    pub fn from_name(name: &str) -> Option<FailureKind> {
        KINDS.iter().find(|k| k.1 == name).map(|k| k.0)
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One violated property, before it is attached to a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Which property.
    pub kind: FailureKind,
    /// What was seen.
    pub detail: String,
}

impl Finding {
    /// A finding of `kind`.
    pub fn new(kind: FailureKind, detail: impl Into<String>) -> Self {
        Finding {
            kind,
            detail: detail.into(),
        }
    }
}

/// A replayable case: the run, and what was done to its file.
#[derive(Debug, Clone, Default)]
pub struct Case {
    /// The seed of the run (proptest's, or the explorer's garbage seed).
    pub seed: u64,
    /// The steps played (commands, flushes, syncs, crashes), minimal where shrunk.
    pub steps: Vec<Step>,
    /// The crash image recovered, if the failure is about one.
    pub crash: Option<CrashImage>,
    /// The damage applied to the file, if any.
    pub damage: Option<String>,
    /// The fault injected, if any.
    pub fault: Option<Fault>,
    /// The image each crash step recovered into, by step index.
    pub picked: Vec<(usize, CrashImage)>,
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.steps.len();
        let steps = if n == 1 { "step" } else { "steps" };
        writeln!(f, "{n} {steps} (case seed {:#x}):", self.seed)?;
        for (i, step) in self.steps.iter().enumerate() {
            write!(f, "  {i:>3}. {step}")?;
            match self.picked.iter().find(|(at, _)| *at == i) {
                Some((_, image)) => writeln!(f, ": {image}")?,
                None => writeln!(f)?,
            }
        }
        if let Some(fault) = &self.fault {
            writeln!(f, "  fault: {fault}")?;
        }
        if let Some(crash) = &self.crash {
            writeln!(f, "  crash image: {crash}")?;
        }
        if let Some(damage) = &self.damage {
            writeln!(f, "  damage: {damage}")?;
        }
        Ok(())
    }
}

/// A finding with the case that shows it.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Which property.
    pub kind: FailureKind,
    /// What was seen.
    pub detail: String,
    /// How to see it again.
    pub case: Case,
    /// The unit of the engine's run it was found in (see `crate::jobs`): of the failures of
    /// one kind, the one of the lowest unit is the first, whichever job or shard found it.
    pub unit: u64,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} ({}): {}",
            self.kind,
            self.kind.property(),
            self.detail
        )?;
        write!(f, "{}", self.case)
    }
}

/// How many of its units an engine's run went through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Units {
    /// Units run to their end.
    pub done: u64,
    /// Units the run had to do (this shard's), when bounded.
    pub planned: Option<u64>,
}

/// What an engine did and found.
#[derive(Debug, Clone)]
pub struct Report {
    /// The engine.
    pub engine: &'static str,
    /// The target's name.
    pub target: String,
    /// The seed the engine ran with.
    pub seed: u64,
    /// What it counted.
    pub counts: Counts,
    /// How long it ran.
    pub elapsed: Duration,
    /// Whether it ran its whole configuration (false when the budget stopped it).
    pub complete: bool,
    /// The first failure of each kind found.
    pub failures: Vec<Failure>,
    /// How often each kind was found (ignored kinds included).
    pub found: BTreeMap<FailureKind, u64>,
    /// Why the engine did not apply, if it did not (fault injection on real files).
    pub skipped: Option<String>,
    /// The units it ran.
    pub units: Units,
}

impl Report {
    /// An empty report.
    pub fn new(engine: &'static str, target: String, seed: u64) -> Self {
        Report {
            engine,
            target,
            seed,
            counts: Counts::default(),
            elapsed: Duration::ZERO,
            complete: true,
            failures: Vec::new(),
            found: BTreeMap::new(),
            skipped: None,
            units: Units::default(),
        }
    }

    /// Adds the report of unit `unit` to this one: counts and tallies add up; a failure is
    /// kept when its kind has none yet, or one of a later unit (so merging in any order keeps
    /// the first failure of each kind in the engine's order); the run is complete when every
    /// part is. The time is the caller's to set (the parts ran side by side).
    pub fn absorb(&mut self, part: Report, unit: u64) {
        self.counts.add(&part.counts);
        self.complete &= part.complete;
        for (kind, n) in part.found {
            *self.found.entry(kind).or_default() += n;
        }
        for mut failure in part.failures {
            failure.unit = unit;
            self.keep_first(failure);
        }
        if self.skipped.is_none() {
            self.skipped = part.skipped;
        }
        if self.target.is_empty() {
            self.target = part.target;
        }
        self.units.done += part.units.done;
    }

    /// Keeps `failure` if it comes before the one of its kind this report has, if any.
    pub fn keep_first(&mut self, failure: Failure) {
        match self.failures.iter_mut().find(|f| f.kind == failure.kind) {
            Some(kept) if kept.unit > failure.unit => *kept = failure,
            Some(_) => {}
            None => self.failures.push(failure),
        }
    }

    /// The first failure of `kind`, if one was found (and not ignored).
    pub fn failure(&self, kind: FailureKind) -> Option<&Failure> {
        self.failures.iter().find(|f| f.kind == kind)
    }

    /// Counts `finding` and keeps it with `case` if it is the first of its kind and not
    /// ignored. Returns whether it counts as a failure (not ignored).
    pub fn record(
        &mut self,
        finding: Finding,
        case: impl FnOnce() -> Case,
        ignore: &[FailureKind],
    ) -> bool {
        *self.found.entry(finding.kind).or_default() += 1;
        if ignore.contains(&finding.kind) {
            return false;
        }
        if self.failure(finding.kind).is_none() {
            self.failures.push(Failure {
                kind: finding.kind,
                detail: finding.detail,
                case: case(),
                unit: 0,
            });
        }
        true
    }

    /// One progress snapshot.
    pub fn progress(&self, done: u64, total: Option<u64>, started: Instant) -> Progress {
        Progress {
            engine: self.engine,
            done,
            total,
            crash_states: self.counts.crash_states,
            failures: self.failures.len(),
            elapsed: started.elapsed(),
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.counts;
        writeln!(
            f,
            "{} on {} (seed {:#x}): {:.2?}{}",
            self.engine,
            self.target,
            self.seed,
            self.elapsed,
            if self.complete {
                ""
            } else {
                " (budget reached)"
            }
        )?;
        if let Some(why) = &self.skipped {
            writeln!(f, "  not applicable: {why}")?;
        }
        writeln!(
            f,
            "  cases {} (+{} shrinking), commands {}, records {}, crash states {} (+{} merged), \
             truncations {}, flips {}, damages {}, faults {}, reopens {}, reads {} ({} bytes)",
            c.cases,
            c.shrinks,
            c.commands,
            c.records,
            c.crash_states,
            c.merged,
            c.truncations,
            c.flips,
            c.damages,
            c.faults,
            c.reopens,
            c.reads,
            c.bytes_read
        )?;
        if c.unmodellable > 0 {
            writeln!(
                f,
                "  unmodellable {}: moments whose crash states the trace cannot give (not checked)",
                c.unmodellable
            )?;
        }
        for (kind, n) in &self.found {
            writeln!(f, "  found {kind} × {n}")?;
        }
        for failure in &self.failures {
            writeln!(f, "{failure}")?;
        }
        Ok(())
    }
}

/// What a played case found, as the proptest glue of [`run_cases`] needs it.
pub trait PlayedFinding {
    /// The finding.
    fn finding(&self) -> &Finding;
    /// One line for proptest's failure message.
    fn describe(&self) -> String {
        format!("{}: {}", self.finding().kind, self.finding().detail)
    }
}

/// The settings of a proptest-driven engine: seed, cases, shrinking, ignored kinds.
pub struct CaseSettings<'a> {
    pub seed: u64,
    pub cases: u32,
    pub shrink_iters: u32,
    pub ignore: &'a [FailureKind],
}

/// Runs a proptest-driven engine (`sequences`, `damage`): generates cases from `strategy`,
/// plays each with `play` (which returns what it found, its counts and anything the report of
/// a failure needs), stops early when the budget runs out or `play` says the engine does not
/// apply, shrinks the first failure, and reports the minimal case with `report_minimal`.
///
/// Shrinking runs count as shrinks, not cases. The last failing run is the minimal case
/// proptest reports: kept as it ran, since a target with random nonces need not fail the
/// same way twice.
#[allow(clippy::too_many_arguments)]
pub fn run_cases<T, P, X>(
    engine: &'static str,
    target: &mut dyn crate::target::Target,
    settings: &CaseSettings<'_>,
    strategy: impl proptest::strategy::Strategy<Value = T>,
    budget: &Budget,
    progress: &mut dyn FnMut(Progress),
    play: impl Fn(
        &mut dyn crate::target::Target,
        &T,
    ) -> Result<(Vec<P>, Counts, X), crate::recover::HarnessError>,
    report_minimal: impl FnOnce(&mut Report, T, Vec<P>, X),
) -> Report
where
    T: Clone + std::fmt::Debug,
    P: PlayedFinding,
{
    use proptest::test_runner::{TestCaseError, TestError};
    use std::cell::{Cell, RefCell};

    let started = Instant::now();
    let report = RefCell::new(Report::new(engine, target.name(), settings.seed));
    let target = RefCell::new(target);
    let progress = RefCell::new(progress);
    let done = Cell::new(0u64);
    let shrinking = Cell::new(false);
    let last_failure = RefCell::new(None);
    let mut runner = runner(settings.seed, settings.cases, settings.shrink_iters);
    let result = runner.run(&strategy, |case| {
        let mut report = report.borrow_mut();
        if report.skipped.is_some() || budget.exhausted(done.get()) {
            report.complete = false;
            return Ok(());
        }
        let (found, mut counts, extra) = match play(&mut **target.borrow_mut(), &case) {
            Ok(played) => played,
            Err(e) => {
                report.skipped = Some(e.to_string());
                return Ok(());
            }
        };
        if shrinking.get() {
            counts.shrinks = counts.cases;
            counts.cases = 0;
        } else {
            done.set(done.get() + 1);
        }
        report.counts.add(&counts);
        (progress.borrow_mut())(report.progress(done.get(), Some(settings.cases.into()), started));
        match found
            .iter()
            .find(|p| !settings.ignore.contains(&p.finding().kind))
        {
            Some(failing) => {
                shrinking.set(true);
                let error = failing.describe();
                *last_failure.borrow_mut() = Some((case, found, extra));
                Err(TestCaseError::fail(error))
            }
            None => {
                for p in found {
                    report.record(p.finding().clone(), Case::default, settings.ignore);
                }
                Ok(())
            }
        }
    });
    let mut report = report.into_inner();
    if let (Err(TestError::Fail(..)), Some((case, found, extra))) =
        (result, last_failure.into_inner())
    {
        report_minimal(&mut report, case, found, extra);
    }
    report.elapsed = started.elapsed();
    report
}
