//! Every checker engine against eaof itself, versions 2 and 3: no failure may be found.
//!
//! - random command sequences with syncs and crashes (simulated disk, and real files);
//! - every truncation point, every single-bit flip, random multi-byte damage;
//! - a failed write or sync at every operation of short runs (simulated disk);
//! - the exhaustive explorer to depth 3 over its alphabet, every crash point, every
//!   surviving prefix and every zero or garbage ending;
//! - the linear all-cuts reading agrees with reading every image whole.
//!
//! The harness is shown able to fail here too: a writer that acknowledges without syncing,
//! and a reader that drops the last record of every file, are caught.
//!
//! Each test prints its report (`--nocapture`): the counts, and any failure with its
//! replayable case. Seeds are fixed (`PROPTEST_RNG_SEED` overrides them).

use std::time::Instant;

use eaof::AofRecord;
use eaof_check::eaof::{EaofFs, EaofSim};
use eaof_check::jobs::{MakeTarget, Targets};
use eaof_check::report::{no_progress, seed_from_env, Budget};
use eaof_check::shard::Shard;
use eaof_check::{
    damage, explore, faults, sequences, FailureKind, FileState, Keying, ReadBack, Report, Target,
    TargetError, Version,
};

fn assert_clean(report: &Report) {
    println!("{report}");
    assert!(report.skipped.is_none(), "the engine did not run: {report}");
    assert!(report.complete, "the engine ran out of budget: {report}");
    assert!(report.found.is_empty(), "{report}");
}

fn sequences_on(target: &mut dyn Target, cases: u32) -> Report {
    let config = sequences::SequencesConfig {
        cases,
        seed: seed_from_env(0x5e9_0001),
        ..Default::default()
    };
    sequences::run(target, &config, &Budget::unlimited(), &mut no_progress())
}

#[test]
fn random_sequences_recover_a_model_state_holding_every_acknowledged_command() {
    for v in Version::ALL {
        let report = sequences_on(&mut EaofSim::new(v), 1024);
        assert!(report.counts.crash_states > 1000, "{report}");
        assert_clean(&report);
    }
}

#[test]
fn random_sequences_on_real_files_recover_a_model_state_holding_every_acknowledged_command() {
    for v in Version::ALL {
        let mut target = EaofFs::new(v).expect("a temporary directory");
        assert_clean(&sequences_on(&mut target, 96));
    }
}

#[test]
fn every_cut_flip_and_damage_keeps_the_verdicts_of_the_format() {
    for v in Version::ALL {
        let config = damage::DamageConfig {
            cases: 32,
            max_commands: 14,
            damages: 96,
            seed: seed_from_env(0xda_3a6e),
            ..Default::default()
        };
        let report = damage::run(
            &mut EaofSim::new(v),
            &config,
            &Budget::unlimited(),
            &mut no_progress(),
        );
        assert!(report.counts.flips > 10_000, "{report}");
        assert_clean(&report);
    }
}

#[test]
fn a_failed_write_or_sync_at_every_operation_loses_nothing_acknowledged() {
    for v in Version::ALL {
        let config = faults::FaultsConfig {
            scripts: 8,
            commands: 6,
            seed: seed_from_env(0xfa_0175),
            ..Default::default()
        };
        let report = faults::run(
            &mut EaofSim::new(v),
            &config,
            &Budget::unlimited(),
            &mut no_progress(),
        );
        assert!(report.counts.faults > 100, "{report}");
        assert_clean(&report);
    }
}

#[test]
fn exhaustive_exploration_to_depth_3_finds_every_crash_state_recoverable() {
    for v in Version::ALL {
        let config = explore::ExploreConfig {
            depth: 3,
            ..Default::default()
        };
        let mut progressed = 0;
        let mut target = EaofSim::new(v);
        let report = explore::run(&mut target, &config, &Budget::unlimited(), &mut |_| {
            progressed += 1
        });
        println!(
            "{} crash states in {:.2?}: {:.0} states/s ({} merged)",
            report.counts.crash_states,
            report.elapsed,
            report.counts.crash_states as f64 / report.elapsed.as_secs_f64(),
            report.counts.merged
        );
        assert_eq!(report.counts.cases, config.sequences(&target));
        assert!(progressed > 0);
        assert_clean(&report);
    }
}

#[test]
fn linear_cuts_agree_with_reading_every_image_from_the_start() {
    for v in Version::ALL {
        let run = |linear| {
            let config = explore::ExploreConfig {
                depth: 2,
                linear,
                ..Default::default()
            };
            let started = Instant::now();
            let report = explore::run(
                &mut EaofSim::new(v),
                &config,
                &Budget::unlimited(),
                &mut no_progress(),
            );
            (report, started.elapsed())
        };
        let (linear, linear_time) = run(true);
        let (whole, whole_time) = run(false);
        println!("{v}: linear {linear_time:.2?}, whole {whole_time:.2?}");
        assert_eq!(linear.counts.crash_states, whole.counts.crash_states);
        assert_eq!(linear.counts.merged, whole.counts.merged);
        assert_eq!(linear.found, whole.found);
        // Whole reads cost the file's length each; linear ones about a record's.
        assert!(linear.counts.bytes_read < whole.counts.bytes_read);
        assert_clean(&linear);
    }
}

/// eaof on the simulated disk, with one defect planted.
struct Mutant {
    inner: EaofSim,
    /// `sync` only flushes, yet returns `Ok`.
    lying_sync: bool,
    /// `read_back` drops the last record it read.
    drop_last: bool,
}

impl Target for Mutant {
    fn name(&self) -> String {
        format!("mutant of {}", self.inner.name())
    }
    fn version(&self) -> Version {
        self.inner.version()
    }
    fn deterministic(&self) -> bool {
        true
    }
    fn create(&mut self) -> Result<(), TargetError> {
        self.inner.create()
    }
    fn write(&mut self, record: &AofRecord) -> Result<(), TargetError> {
        self.inner.write(record)
    }
    fn flush(&mut self) -> Result<(), TargetError> {
        self.inner.flush()
    }
    fn sync(&mut self) -> Result<(), TargetError> {
        if self.lying_sync {
            self.inner.flush()
        } else {
            self.inner.sync()
        }
    }
    fn file(&self) -> Result<FileState, TargetError> {
        self.inner.file()
    }
    fn load(&mut self, image: &[u8]) -> Result<(), TargetError> {
        self.inner.load(image)
    }
    fn close(&mut self) -> Result<(), TargetError> {
        self.inner.close()
    }
    fn keying(&self) -> Keying {
        self.inner.keying()
    }
    fn reopen_with(&mut self, keying: Keying) -> Result<(), TargetError> {
        self.inner.reopen_with(keying)
    }
    fn read_back(&mut self) -> Result<ReadBack, TargetError> {
        let mut read = self.inner.read_back()?;
        if self.drop_last {
            read.records.pop();
        }
        Ok(read)
    }
}

#[test]
fn the_harness_catches_a_sync_that_acknowledges_what_it_did_not_make_durable() {
    let mut target = Mutant {
        inner: EaofSim::new(Version::V2),
        lying_sync: true,
        drop_last: false,
    };
    let config = explore::ExploreConfig {
        depth: 2,
        ..Default::default()
    };
    let report = explore::run(
        &mut target,
        &config,
        &Budget::unlimited(),
        &mut no_progress(),
    );
    println!("{report}");
    let failure = report
        .failure(FailureKind::AckedLost)
        .expect("acknowledged records lost");
    assert_eq!(
        failure.case.steps.len(),
        3,
        "command, flush, sync: {failure}"
    );
    // The case replays: its steps, then the crash image it names.
    let replayed =
        explore::check_sequence(&mut target, &failure.case.steps, &config).expect("the harness");
    assert!(
        replayed
            .iter()
            .any(|f| f.finding.kind == FailureKind::AckedLost && f.image == failure.case.crash),
        "{replayed:?}"
    );
    let report = sequences_on(&mut target, 64);
    println!("{report}");
    assert!(report.failure(FailureKind::AckedLost).is_some(), "{report}");
}

#[test]
fn the_harness_catches_a_reader_that_drops_an_intact_record() {
    for v in Version::ALL {
        let mut target = Mutant {
            inner: EaofSim::new(v),
            lying_sync: false,
            drop_last: true,
        };
        let report = sequences_on(&mut target, 16);
        println!("{report}");
        assert!(
            report.failure(FailureKind::CleanReadFailed).is_some(),
            "{report}"
        );
        let config = damage::DamageConfig {
            cases: 2,
            ..Default::default()
        };
        let report = damage::run(
            &mut target,
            &config,
            &Budget::unlimited(),
            &mut no_progress(),
        );
        assert!(!report.failures.is_empty(), "{report}");
    }
}

/// `n` distinct SETs.
fn sets(n: usize) -> Vec<eaof_model::Command> {
    (0..n)
        .map(|i| eaof_model::Command::Set {
            key: format!("key:{i}"),
            value: bytes::Bytes::from(vec![b'v'; 8]),
            expiry: None,
        })
        .collect()
}

#[test]
fn checking_every_cut_costs_linear_time_in_the_file() {
    let bytes_read = |n: usize, linear: bool| {
        let config = damage::DamageConfig {
            flips: false,
            linear,
            ..Default::default()
        };
        let (hits, counts) =
            damage::play_case(&mut EaofSim::new(Version::V2), &sets(n), &[], &config)
                .expect("the harness");
        assert!(hits.is_empty(), "{:?}", hits.first());
        (counts.truncations, counts.bytes_read)
    };
    let (cuts_1, linear_1) = bytes_read(100, true);
    let (cuts_2, linear_2) = bytes_read(200, true);
    let (_, whole_1) = bytes_read(100, false);
    let (_, whole_2) = bytes_read(200, false);
    println!(
        "{cuts_1} cuts: {linear_1} bytes read linearly, {whole_1} whole; {cuts_2} cuts: \
         {linear_2} linearly, {whole_2} whole"
    );
    let ratio = |a: u64, b: u64| b as f64 / a as f64;
    assert!(ratio(cuts_1, cuts_2) > 1.9);
    assert!(
        ratio(linear_1, linear_2) < 2.2,
        "linear reading grew superlinearly"
    );
    assert!(
        ratio(whole_1, whole_2) > 3.5,
        "whole reading should grow quadratically"
    );
}

/// A small explorer configuration (three commands and a sync, depth 4: 340 sequences in 7
/// units), so that runs on several jobs and shards stay quick.
fn small_exploration() -> explore::ExploreConfig {
    // Commands and syncs only: the lifecycle letters are the business of other tests.
    let mut config = explore::ExploreConfig {
        depth: 4,
        lifecycle: false,
        ..Default::default()
    };
    config.commands.truncate(3);
    config
}

fn mutant(v: Version) -> Mutant {
    Mutant {
        inner: EaofSim::new(v),
        lying_sync: true,
        drop_last: false,
    }
}

/// What must not depend on the number of jobs: everything but the time.
fn findings(report: &Report) -> String {
    let mut out = format!(
        "{:?}\n{:?}\ncomplete {} units {:?} skipped {:?}\n",
        report.counts, report.found, report.complete, report.units, report.skipped
    );
    for f in &report.failures {
        out.push_str(&format!("unit {}: {f}\n", f.unit));
    }
    out
}

type Split<'a> = dyn Fn(Targets<'_>) -> Result<Report, TargetError> + 'a;

/// Runs `split` on one target, then on 2 and 3 jobs; the reports must agree.
fn same_for_any_jobs(make: &MakeTarget<'_>, split: &Split<'_>) -> Report {
    let mut one = make().expect("a target");
    let serial = split(Targets::One(&mut *one)).expect("the engine runs");
    println!("{serial}");
    for jobs in [2, 3] {
        let parallel = split(Targets::Jobs { make, jobs }).expect("the engine runs");
        assert_eq!(findings(&parallel), findings(&serial), "{jobs} jobs");
    }
    serial
}

#[test]
fn the_same_seed_finds_the_same_failures_on_any_number_of_jobs() {
    let budget = Budget::unlimited();
    let whole = Shard::WHOLE;
    for v in Version::ALL {
        // A defect to find, and eaof itself (nothing to find: every unit runs).
        let planted = move || Ok(Box::new(mutant(v)) as Box<dyn Target>);
        let eaof = move || Ok(Box::new(EaofSim::new(v)) as Box<dyn Target>);
        let config = small_exploration();
        for (make, defect) in [(&planted as &MakeTarget<'_>, true), (&eaof, false)] {
            let report = same_for_any_jobs(make, &|t| {
                explore::run_split(t, &config, whole, &budget, &mut no_progress())
            });
            let alphabet = config.alphabet(&*make().expect("a target"));
            assert_eq!(report.counts.cases, alphabet.sequences());
            assert_eq!(report.units.done, alphabet.units());
            assert_eq!(report.failure(FailureKind::AckedLost).is_some(), defect);
        }
        if v == Version::V3 {
            continue;
        }
        // The random engines, in rounds: the planted defect stops sequences at its first
        // failing round; eaof runs every round.
        let config = sequences::SequencesConfig {
            cases: 16 * sequences::ROUND_CASES,
            max_steps: 8,
            ..Default::default()
        };
        for make in [&planted as &MakeTarget<'_>, &eaof] {
            same_for_any_jobs(make, &|t| {
                sequences::run_split(t, &config, whole, &budget, &mut no_progress())
            });
        }
        let config = damage::DamageConfig {
            cases: 2 * damage::ROUND_CASES,
            max_commands: 4,
            damages: 4,
            ..Default::default()
        };
        same_for_any_jobs(&eaof, &|t| {
            damage::run_split(t, &config, whole, &budget, &mut no_progress())
        });
        let config = faults::FaultsConfig {
            scripts: 2 * faults::ROUND_SCRIPTS,
            commands: 3,
            ..Default::default()
        };
        same_for_any_jobs(&eaof, &|t| {
            faults::run_split(t, &config, whole, &budget, &mut no_progress())
        });
    }
}

/// eaof on the simulated disk, noting the calls of each run (what it writes, flushes and
/// syncs from `create` to the first crash it is made to recover).
struct Recording {
    inner: EaofSim,
    runs: std::rc::Rc<std::cell::RefCell<Vec<Vec<String>>>>,
    recording: bool,
}

impl Recording {
    fn note(&self, call: String) {
        if self.recording {
            if let Some(run) = self.runs.borrow_mut().last_mut() {
                run.push(call);
            }
        }
    }
}

impl Target for Recording {
    fn name(&self) -> String {
        self.inner.name()
    }
    fn version(&self) -> Version {
        self.inner.version()
    }
    fn deterministic(&self) -> bool {
        true
    }
    fn create(&mut self) -> Result<(), TargetError> {
        self.runs.borrow_mut().push(Vec::new());
        self.recording = true;
        self.inner.create()
    }
    fn write(&mut self, record: &AofRecord) -> Result<(), TargetError> {
        self.note(eaof_check::show::record(record).to_string());
        self.inner.write(record)
    }
    fn flush(&mut self) -> Result<(), TargetError> {
        self.note("flush".into());
        self.inner.flush()
    }
    fn sync(&mut self) -> Result<(), TargetError> {
        self.note("sync".into());
        self.inner.sync()
    }
    fn file(&self) -> Result<FileState, TargetError> {
        self.inner.file()
    }
    fn load(&mut self, image: &[u8]) -> Result<(), TargetError> {
        self.recording = false;
        self.inner.load(image)
    }
    fn close(&mut self) -> Result<(), TargetError> {
        self.note("close".into());
        self.inner.close()
    }
    fn keying(&self) -> Keying {
        self.inner.keying()
    }
    fn reopen_with(&mut self, keying: Keying) -> Result<(), TargetError> {
        self.inner.reopen_with(keying)
    }
    fn read_back(&mut self) -> Result<ReadBack, TargetError> {
        self.inner.read_back()
    }
}

#[test]
fn the_shards_of_an_exhaustive_campaign_cover_every_sequence_exactly_once() {
    let config = small_exploration();
    let alphabet = config.alphabet(&EaofSim::new(Version::V2));
    let letters = alphabet.letters.len();
    let run = |shard: Shard| {
        let runs = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let mut target = Recording {
            inner: EaofSim::new(Version::V2),
            runs: runs.clone(),
            recording: false,
        };
        let report = explore::run_split(
            Targets::One(&mut target),
            &config,
            shard,
            &Budget::unlimited(),
            &mut no_progress(),
        )
        .expect("the engine runs");
        let mut sequences: Vec<Vec<usize>> = (0..alphabet.units())
            .filter(|&u| shard.owns(u))
            .flat_map(|u| alphabet.unit_sequences(u))
            .collect();
        sequences.sort();
        let mut calls = runs.take();
        calls.sort();
        (report, sequences, calls)
    };
    let (whole, every, calls) = run(Shard::WHOLE);
    // The unsharded run is every sequence of 1 to 3 letters, once.
    let mut expected: Vec<Vec<usize>> = Vec::new();
    for len in 1..=config.depth as u32 {
        for n in 0..letters.pow(len) {
            let mut digits = vec![0; len as usize];
            let mut rest = n;
            for d in digits.iter_mut().rev() {
                *d = rest % letters;
                rest /= letters;
            }
            expected.push(digits);
        }
    }
    expected.sort();
    assert_eq!(every, expected);
    assert_eq!(calls.len() as u64, alphabet.sequences());
    for count in [2, 3, 7] {
        let mut sequences = Vec::new();
        let mut runs = Vec::new();
        let mut merged = Report::new("explore", whole.target.clone(), whole.seed);
        for index in 0..count {
            let (report, s, c) = run(Shard::new(index, count).expect("a shard"));
            sequences.extend(s);
            runs.extend(c);
            for failure in report.failures.clone() {
                merged.keep_first(failure);
            }
            merged.counts.add(&report.counts);
            merged.units.done += report.units.done;
        }
        sequences.sort();
        runs.sort();
        assert_eq!(sequences, every, "{count} shards");
        // What the target was made to do, run by run, is what one unsharded run does.
        assert_eq!(runs, calls, "{count} shards");
        // And so is everything counted.
        assert_eq!(merged.counts, whole.counts, "{count} shards");
        assert_eq!(merged.units.done, whole.units.done, "{count} shards");
    }
}
