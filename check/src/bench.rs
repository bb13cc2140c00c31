//! The checker's own benchmark: how long each engine takes, and how many states it goes
//! through, before it first finds a known bug (`eaof explore bench`).
//!
//! A [`Row`] is a known bug: one planted in eaof's writer on the simulated disk
//! ([`crate::planted`], and [`SyncLiesAfterReopen`]), the same planted through the eaof
//! driver on real files (`eaof driver eaof --planted BUG`, a child process), or a defect of
//! ember-persistence 0.4.9 (docs/ember-0.4.9.md), each with the failure kinds it shows as.
//! A [`Method`] is an engine of a campaign ([`Engine`], with a campaign's settings) or the
//! baseline: proptest's random command sequences alone, with one crash at the end of each
//! (`crate::sequences` with `baseline`). A cell (row, method) runs `seeds` times, each run on
//! one thread and one target, ignoring every kind but the row's and stopping at the first
//! finding of one of them (unshrunk), or at the cap (a time and a number of cases).
//!
//! Guarantees: every cell of the table is reported, found or not: a run that did not find
//! the bug says whether the cap stopped it, the engine ran its whole configuration (the
//! explorer's tree), or the engine does not apply to the target (then the other seeds are
//! not run); the medians count a run that did not find the bug as slower than any that did,
//! so a cell whose median is "not found" missed in more than half of its seeds (once more
//! than half missed, the rest are not run: the median cannot change, and the misses cost a
//! cap each). Times are wall-clock, the target's creation (a child process, a temporary
//! directory) excluded.

use std::ffi::OsString;
use std::fmt;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::campaign::{self, Engine, EngineSetup, TargetKind};
use crate::eaof::EaofSim;
use crate::fuzzing::planted::SyncLiesAfterReopen;
use crate::jobs::{Targets, UNBOUNDED};
use crate::planted::Bug;
use crate::process::{ProcessSpec, ProcessTarget};
use crate::report::{no_progress, Budget, FailureKind, Report};
use crate::sequences::{self, SequencesConfig};
use crate::shard::Shard;
use crate::target::{Target, TargetError, Version};

/// The most seeds a cell runs.
pub const SEEDS_MAX: u32 = 1000;

/// What a row's bug lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// eaof on the simulated disk, with this bug planted (or none).
    Sim(Option<Bug>),
    /// eaof on the simulated disk, whose first sync after a reopen lies.
    SyncLiesAfterReopen,
    /// eaof on real files through its driver (`BenchConfig::driver`), with this bug planted
    /// (or none).
    Driver(Option<Bug>),
    /// ember-persistence 0.4.9 on real files (feature `ember`).
    Ember,
}

/// A known bug, and what shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Its name in the table: `sim no-file-fsync`, `driver no-file-fsync`, `ember H1`.
    pub name: String,
    pub subject: Subject,
    /// The version of the files written.
    pub version: Version,
    /// The kinds that show it: the first finding of any of them ends a run.
    pub kinds: Vec<FailureKind>,
}

/// ember 0.4.9's defects (docs/ember-0.4.9.md) by the kind each shows as in one version.
/// Defects that show as the same kind in the same version share a row (H4 and H6: appends
/// lost after a torn tail or behind damage; H8 and H10: a restart without the key or with
/// another). H7 (a damaged version byte read as an empty log, one file in a hundred) shows
/// as H2's kind and is not a row of its own.
const EMBER_DEFECTS: [(&str, Version, &[FailureKind]); 7] = [
    ("H1", Version::V2, &[FailureKind::CleanReadFailed]),
    ("H2", Version::V2, &[FailureKind::SilentDamage]),
    ("H3", Version::V2, &[FailureKind::TornTailReadAsError]),
    ("H4/H6", Version::V2, &[FailureKind::AppendLost]),
    (
        "H5",
        Version::V2,
        &[
            FailureKind::TornHeaderReadAsError,
            FailureKind::TornHeaderNotRecreated,
        ],
    ),
    ("H8/H10", Version::V3, &[FailureKind::KeyingMixed]),
    ("H9", Version::V2, &[FailureKind::KeyingMixed]),
];

/// The version planted bugs are benched in (one: each writes and reads both alike).
const PLANTED_VERSION: Version = Version::V2;

impl Row {
    /// `bug` planted in eaof on the simulated disk.
    pub fn sim(bug: Bug) -> Row {
        Row {
            name: format!("sim {bug}"),
            subject: Subject::Sim(Some(bug)),
            version: PLANTED_VERSION,
            kinds: bug.symptoms().to_vec(),
        }
    }

    /// `bug` planted in eaof on real files, through its driver.
    pub fn driver(bug: Bug) -> Row {
        Row {
            name: format!("driver {bug}"),
            subject: Subject::Driver(Some(bug)),
            ..Row::sim(bug)
        }
    }

    /// Every row: the planted bugs on the simulated disk, then through the driver, then
    /// ember's defects.
    pub fn all() -> Vec<Row> {
        let mut rows: Vec<Row> = Bug::ALL.into_iter().map(Row::sim).collect();
        rows.push(Row {
            name: "sim sync-lies-after-reopen".into(),
            subject: Subject::SyncLiesAfterReopen,
            version: PLANTED_VERSION,
            kinds: vec![FailureKind::AckedLost],
        });
        rows.extend(Bug::ALL.into_iter().map(Row::driver));
        rows.extend(EMBER_DEFECTS.iter().map(|&(name, version, kinds)| Row {
            name: format!("ember {name}"),
            subject: Subject::Ember,
            version,
            kinds: kinds.to_vec(),
        }));
        rows
    }

    /// Makes the row's target; `driver` is the program and arguments that start the eaof
    /// driver (`eaof driver`), for [`Subject::Driver`].
    pub fn target(&self, driver: Option<&[OsString]>) -> Result<Box<dyn Target>, TargetError> {
        let v = self.version;
        match self.subject {
            Subject::Sim(bug) => Ok(Box::new(EaofSim::with_bug(v, bug))),
            Subject::SyncLiesAfterReopen => Ok(Box::new(SyncLiesAfterReopen::new(v))),
            Subject::Ember => campaign::make_target(&TargetKind::Ember, v),
            Subject::Driver(bug) => {
                let Some(program) = driver else {
                    return Err(TargetError::unsupported(
                        crate::target::Op::Create,
                        "no driver program given (the bench passes the running eaof binary)",
                    ));
                };
                let mut command = program.to_vec();
                command.push("eaof".into());
                if let Some(bug) = bug {
                    command.extend(["--planted".into(), bug.name().into()]);
                }
                Ok(Box::new(ProcessTarget::start(
                    &ProcessSpec::new(command),
                    v,
                )?))
            }
        }
    }
}

/// How a cell looks for its bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    /// An engine, as a campaign runs it.
    Engine(Engine),
    /// proptest's random sequences alone: see the module documentation.
    Baseline,
}

impl Method {
    /// Every method: the engines in campaign order, then the baseline.
    pub const ALL: [Method; 5] = [
        Method::Engine(Engine::Explore),
        Method::Engine(Engine::Sequences),
        Method::Engine(Engine::Damage),
        Method::Engine(Engine::Faults),
        Method::Baseline,
    ];

    /// Its name: an engine's, or `baseline`.
    pub fn name(self) -> &'static str {
        match self {
            Method::Engine(engine) => engine.name(),
            Method::Baseline => "baseline",
        }
    }

    /// The method named `name`.
    pub fn from_name(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Its seed for a run seeded `seed` (an engine's as in a campaign).
    fn seed(self, seed: u64) -> u64 {
        match self {
            Method::Engine(engine) => seed ^ campaign::engine_salt(engine),
            Method::Baseline => seed ^ crate::crash::Fnv::of(b"baseline"),
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a run stops when it does not find its bug.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cap {
    /// Seconds of one run.
    pub seconds: f64,
    /// Cases of one run (sequences explored, sequences, files, fault scripts).
    pub cases: u64,
}

/// What the bench runs.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    pub rows: Vec<Row>,
    pub methods: Vec<Method>,
    /// Runs a cell, each with its own seed (at most [`SEEDS_MAX`]).
    pub seeds: u32,
    /// The seed the runs' seeds derive from.
    pub seed: u64,
    /// The cap of each run.
    pub cap: Cap,
    /// The explorer's longest sequence.
    pub depth: usize,
    /// The program and arguments starting the eaof driver (`eaof driver`), for the driver
    /// rows.
    pub driver: Option<Vec<OsString>>,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            rows: Row::all(),
            methods: Method::ALL.to_vec(),
            seeds: 5,
            seed: 0xbe_0c4,
            cap: Cap {
                seconds: 2.0,
                cases: 100_000,
            },
            depth: 4,
            driver: None,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum End {
    /// It found one of the row's kinds.
    Found(FailureKind),
    /// The cap stopped it first.
    Cap,
    /// It ran its whole configuration (the explorer's tree to its depth) without finding it.
    Exhausted,
    /// The engine does not apply to the target (fault injection on ember), or the target
    /// could not be made or failed.
    NotApplicable(String),
}

/// One run of a cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub seed: u64,
    pub end: End,
    /// Wall-clock time to the finding (or to the end).
    pub elapsed: Duration,
    /// Cases run, the one that found it included.
    pub cases: u64,
    /// Crash states (images, damaged files) recovered.
    pub crash_states: u64,
}

impl Run {
    fn found(&self) -> bool {
        matches!(self.end, End::Found(_))
    }
}

/// A cell: a row, a method, its runs.
#[derive(Debug, Clone)]
pub struct Cell {
    pub row: Row,
    pub method: Method,
    pub runs: Vec<Run>,
}

/// The medians of a cell's runs that found the bug, with every run that did not counted as
/// slower than any that did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Medians {
    pub elapsed: Duration,
    pub cases: u64,
    pub crash_states: u64,
}

impl Cell {
    /// How many runs found the bug.
    pub fn found(&self) -> usize {
        self.runs.iter().filter(|r| r.found()).count()
    }

    /// The medians, or `None` when at most half the runs found the bug (the median run did
    /// not). With an even number of runs, the upper of the two middle ones.
    pub fn medians(&self) -> Option<Medians> {
        let n = self.runs.len();
        if n == 0 || self.found() <= n / 2 {
            return None;
        }
        let median = |key: &dyn Fn(&Run) -> u128| {
            let mut found: Vec<u128> = self.runs.iter().filter(|r| r.found()).map(key).collect();
            found.sort_unstable();
            // Runs that missed sort after every one that found: the median is among these.
            found[n / 2]
        };
        Some(Medians {
            elapsed: Duration::from_nanos(median(&|r| r.elapsed.as_nanos()) as u64),
            cases: median(&|r| u128::from(r.cases)) as u64,
            crash_states: median(&|r| u128::from(r.crash_states)) as u64,
        })
    }

    /// Why the cell found nothing in its median run, in a few words.
    pub fn verdict(&self) -> String {
        if let Some(End::NotApplicable(why)) = self.runs.first().map(|r| &r.end) {
            return format!("not applicable: {why}");
        }
        let exhausted = self.runs.iter().any(|r| r.end == End::Exhausted);
        match exhausted {
            true => "not found (whole configuration run)".into(),
            false => "not found within cap".into(),
        }
    }
}

/// The table.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub config: BenchConfig,
    pub cells: Vec<Cell>,
    pub elapsed: Duration,
}

/// Runs the bench: every row with every method, `seeds` runs each; `progress` is called
/// after each cell.
pub fn run(config: &BenchConfig, progress: &mut dyn FnMut(&Cell)) -> Outcome {
    let started = Instant::now();
    let mut cells = Vec::new();
    for row in &config.rows {
        for &method in &config.methods {
            let cell = run_cell(config, row, method);
            progress(&cell);
            cells.push(cell);
        }
    }
    Outcome {
        config: config.clone(),
        cells,
        elapsed: started.elapsed(),
    }
}

/// Runs one cell: see the module documentation.
pub fn run_cell(config: &BenchConfig, row: &Row, method: Method) -> Cell {
    let mut runs = Vec::new();
    for k in 0..config.seeds.min(SEEDS_MAX) {
        let seed = config.seed ^ u64::from(k + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let run = run_once(config, row, method, seed);
        let not_applicable = matches!(run.end, End::NotApplicable(_));
        runs.push(run);
        let missed = runs.iter().filter(|r| !r.found()).count();
        if not_applicable || missed > (config.seeds / 2) as usize {
            // The same for every seed; or the median run misses whatever the others do.
            break;
        }
    }
    Cell {
        row: row.clone(),
        method,
        runs,
    }
}

/// One run of a cell, seeded `seed`.
pub fn run_once(config: &BenchConfig, row: &Row, method: Method, seed: u64) -> Run {
    let not_applicable = |why: String| Run {
        seed,
        end: End::NotApplicable(why),
        elapsed: Duration::ZERO,
        cases: 0,
        crash_states: 0,
    };
    let mut target = match row.target(config.driver.as_deref()) {
        Ok(target) => target,
        Err(e) => return not_applicable(e.to_string()),
    };
    let budget = Budget {
        deadline: Some(Instant::now() + Duration::from_secs_f64(config.cap.seconds.max(0.0))),
        max_cases: Some(config.cap.cases),
        cancel: None,
    };
    let ignore = FailureKind::all_but(&row.kinds);
    let seed = method.seed(seed);
    let started = Instant::now();
    let targets = Targets::One(&mut *target);
    let report = match method {
        Method::Engine(engine) => {
            let setup = EngineSetup {
                depth: config.depth,
                seed,
                ignore,
                shard: Shard::WHOLE,
                first: true,
            };
            campaign::run_engine_once(engine, targets, &setup, &budget, &mut no_progress())
        }
        Method::Baseline => {
            let baseline = SequencesConfig {
                cases: UNBOUNDED,
                seed,
                ignore,
                shrink_iters: 0,
                baseline: true,
                ..Default::default()
            };
            sequences::run_split(
                targets,
                &baseline,
                Shard::WHOLE,
                &budget,
                &mut no_progress(),
            )
        }
    };
    let elapsed = started.elapsed();
    let report = match report {
        Ok(report) => report,
        Err(e) => return not_applicable(e.to_string()),
    };
    Run {
        seed,
        end: end_of(&report, &row.kinds),
        elapsed,
        cases: report.counts.cases,
        crash_states: report.counts.crash_states,
    }
}

/// How a run that reported `report` ended, looking for `kinds`.
fn end_of(report: &Report, kinds: &[FailureKind]) -> End {
    if let Some(kind) = kinds.iter().copied().find(|&k| report.failure(k).is_some()) {
        return End::Found(kind);
    }
    match (&report.skipped, report.complete) {
        (Some(why), _) => End::NotApplicable(why.clone()),
        (None, true) => End::Exhausted,
        (None, false) => End::Cap,
    }
}

/// A duration in the table: milliseconds under ten seconds, else seconds.
fn duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    match ms {
        ms if ms < 10.0 => format!("{ms:.2} ms"),
        ms if ms < 10_000.0 => format!("{ms:.0} ms"),
        _ => format!("{:.1} s", d.as_secs_f64()),
    }
}

impl fmt::Display for Outcome {
    /// The table: a line per cell, its row's bug, method, runs that found it, and medians
    /// (or why it found nothing).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        writeln!(
            f,
            "{} seeds a cell (seed {:#x}), cap {} s and {} cases a run, explorer depth {}, 1 job; \
             the first finding of the row's kinds, unshrunk; a cell stops once more than half \
             its seeds missed",
            c.seeds, c.seed, c.cap.seconds, c.cap.cases, c.depth
        )?;
        writeln!(
            f,
            "{:<38} {:<10} {:>5}  {:>10} {:>10} {:>12}",
            "bug (kinds)", "method", "found", "time", "cases", "crash states"
        )?;
        let mut last_row = None;
        for cell in &self.cells {
            let row = match last_row == Some(&cell.row.name) {
                true => String::new(),
                false => format!("{} ({})", cell.row.name, cell.row.version),
            };
            last_row = Some(&cell.row.name);
            let found = format!("{}/{}", cell.found(), cell.runs.len());
            match cell.medians() {
                Some(m) => writeln!(
                    f,
                    "{row:<38} {:<10} {found:>5}  {:>10} {:>10} {:>12}",
                    cell.method.name(),
                    duration(m.elapsed),
                    m.cases,
                    m.crash_states
                )?,
                None => writeln!(
                    f,
                    "{row:<38} {:<10} {found:>5}  {}",
                    cell.method.name(),
                    cell.verdict()
                )?,
            }
        }
        writeln!(f, "total {:.1} s", self.elapsed.as_secs_f64())
    }
}

impl Outcome {
    /// The outcome for machines: the configuration, and each cell with its medians (or
    /// `null`) and every run.
    pub fn to_json(&self) -> Value {
        let c = &self.config;
        let end = |end: &End| match end {
            End::Found(kind) => json!({"found": kind.name()}),
            End::Cap => json!("cap"),
            End::Exhausted => json!("exhausted"),
            End::NotApplicable(why) => json!({"not_applicable": why}),
        };
        let cells: Vec<Value> = self
            .cells
            .iter()
            .map(|cell| {
                json!({
                    "row": cell.row.name,
                    "version": cell.row.version.byte(),
                    "kinds": cell.row.kinds.iter().map(|k| k.name()).collect::<Vec<_>>(),
                    "method": cell.method.name(),
                    "found": cell.found(),
                    "runs": cell.runs.iter().map(|r| json!({
                        "seed": r.seed,
                        "end": end(&r.end),
                        "seconds": r.elapsed.as_secs_f64(),
                        "cases": r.cases,
                        "crash_states": r.crash_states,
                    })).collect::<Vec<_>>(),
                    "median": cell.medians().map(|m| json!({
                        "seconds": m.elapsed.as_secs_f64(),
                        "cases": m.cases,
                        "crash_states": m.crash_states,
                    })),
                    "verdict": match cell.medians() {
                        Some(_) => "found".to_owned(),
                        None => cell.verdict(),
                    },
                })
            })
            .collect();
        json!({
            "format": "eaof-explore-bench",
            "format_version": 1,
            "tool": env!("CARGO_PKG_VERSION"),
            "seeds": c.seeds,
            "seed": c.seed,
            "cap": {"seconds": c.cap.seconds, "cases": c.cap.cases},
            "depth": c.depth,
            "jobs": 1,
            "seconds": self.elapsed.as_secs_f64(),
            "cells": cells,
        })
    }
}
