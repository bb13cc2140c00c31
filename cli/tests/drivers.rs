//! The checker against implementations run as child processes over the driver protocol
//! (docs/DRIVER.md): eaof on real files (nothing found), ember-persistence 0.4.9 (its
//! defects found), the Python port, every planted bug found through the eaof driver with a
//! short case, and the child's life: a driver that dies or hangs is a value, and no child
//! outlives its target.
//!
//! The drivers are `eaof driver eaof|ember` (this crate's binary, built for the tests) and
//! `python3 ports/python/eaof_driver.py` (skipped, saying so, without python3). Counts are
//! small: these runs are CI's; `eaof explore --target cmd` runs long ones.
//!
//! Every driver runs under the system-call recorder, as `eaof explore --target cmd` runs it
//! by default: the durability account and the faults are the recorder's. Where ptrace is
//! refused, a test fails saying so, unless `EAOF_NO_PTRACE=1` is set: the drivers then run as
//! plain children (the account their trace or the harness's), and each test says loudly on
//! stderr what it did not check. One test keeps a driver's own trace and faults checked
//! (`--no-record`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::{Duration, Instant};

use eaof::AofRecord;
use eaof_check::planted::{hunt, Bug};
use eaof_check::process::{ProcessSpec, ProcessTarget};
use eaof_check::report::{no_progress, seed_from_env, Budget};
use eaof_check::script::Step;
use eaof_check::{
    damage, explore, faults, sequences, ErrorKind, FailureKind, Fault, Report, Target, Version,
};
use eaof_model::Command;

fn eaof_driver(args: &[&str]) -> ProcessSpec {
    let mut command: Vec<OsString> = vec![env!("CARGO_BIN_EXE_eaof").into(), "driver".into()];
    command.extend(args.iter().map(OsString::from));
    ProcessSpec::new(command)
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn python_driver() -> Option<ProcessSpec> {
    let found = Process::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("SKIPPED: python3 is not installed; the Python port's driver is not checked");
        return None;
    }
    let script = root().join("ports/python/eaof_driver.py");
    Some(ProcessSpec::new(vec!["python3".into(), script.into()]))
}

/// Whether the recorder is to be used: yes, unless `EAOF_NO_PTRACE=1` says ptrace is
/// refused here (said on stderr, so that nobody takes the run for a recorded one).
fn recording() -> bool {
    let refused = std::env::var_os("EAOF_NO_PTRACE").is_some_and(|v| v == "1");
    if refused {
        eprintln!(
            "NOT RECORDED: EAOF_NO_PTRACE=1: the drivers run without the system-call recorder; \
             its account and its faults are not checked"
        );
    }
    !refused
}

fn start(spec: &ProcessSpec, v: Version) -> ProcessTarget {
    let mut spec = spec.clone();
    spec.record &= recording();
    ProcessTarget::start(&spec, v).unwrap_or_else(|e| {
        panic!(
            "the driver `{}` does not start (under the recorder: {}): {e}\n\
             (where ptrace is refused, set EAOF_NO_PTRACE=1 to run the drivers without it)",
            spec.display(),
            spec.record
        )
    })
}

fn set(key: &str) -> Command {
    Command::Set {
        key: key.into(),
        value: bytes::Bytes::from_static(b"x"),
        expiry: None,
    }
}

/// A small run of every engine, with the lifecycle letters (truncate, close, restarts with
/// each configuration): the reports in order.
fn every_engine(target: &mut dyn Target, seed: u64) -> Vec<Report> {
    let budget = Budget::unlimited();
    let explore = explore::ExploreConfig {
        depth: 2,
        commands: vec![
            set("a"),
            Command::SetRange {
                key: "a".into(),
                offset: 1,
                value: bytes::Bytes::from_static(b"y"),
            },
            Command::RPush {
                key: "b".into(),
                values: vec![bytes::Bytes::from_static(b"x")],
            },
        ],
        seed,
        ..Default::default()
    };
    let sequences = sequences::SequencesConfig {
        cases: 12,
        max_steps: 12,
        seed,
        ..Default::default()
    };
    let damage = damage::DamageConfig {
        cases: 1,
        max_commands: 4,
        flips: false,
        damages: 16,
        seed,
        ..Default::default()
    };
    let faults = faults::FaultsConfig {
        scripts: 1,
        commands: 3,
        seed,
        ..Default::default()
    };
    let mut progress = no_progress();
    vec![
        explore::run(target, &explore, &budget, &mut progress),
        sequences::run(target, &sequences, &budget, &mut progress),
        damage::run(target, &damage, &budget, &mut progress),
        faults::run(target, &faults, &budget, &mut progress),
    ]
}

fn assert_nothing_found(reports: &[Report], faults_apply: bool) {
    for report in reports {
        println!("{report}");
        let skipped = report.engine == "faults" && !faults_apply;
        assert_eq!(report.skipped.is_some(), skipped, "{report}");
        assert!(report.found.is_empty(), "{report}");
    }
    assert!(reports.iter().map(|r| r.counts.crash_states).sum::<u64>() > 500);
}

#[test]
fn eaof_on_real_files_through_its_driver_finds_nothing() {
    for v in Version::ALL {
        let mut target = start(&eaof_driver(&["eaof"]), v);
        assert!(target.account().contains("trace"), "{}", target.account());
        let reports = every_engine(&mut target, seed_from_env(0xd21e));
        assert_nothing_found(&reports, true);
        assert!(reports[3].counts.faults > 10, "{}", reports[3]);
        assert_eq!(target.starts(), 1, "the driver never died");
    }
}

#[test]
fn eaof_through_its_driver_with_its_own_trace_and_faults_finds_nothing() {
    // `--no-record`: the account is the trace the driver reports, the faults its own.
    let mut spec = eaof_driver(&["eaof"]);
    spec.record = false;
    let mut target = start(&spec, Version::V3);
    assert!(
        target.account().contains("driver reports"),
        "{}",
        target.account()
    );
    let reports = every_engine(&mut target, seed_from_env(0xd21e));
    assert_nothing_found(&reports, true);
    assert!(reports[3].counts.faults > 10, "{}", reports[3]);
}

#[test]
fn ember_under_the_recorder_loses_a_new_log_and_brings_back_a_truncated_one() {
    if !recording() {
        return;
    }
    // What only an account of ember's system calls shows: it never syncs the directory,
    // neither after creating the log (a crash after an acknowledged sync may leave no file:
    // H11) nor after truncate's rename (the old log comes back: H12).
    let mut target = start(&eaof_driver(&["ember"]), Version::V2);
    assert!(
        target.account().contains("recorder"),
        "{}",
        target.account()
    );
    let config = explore::ExploreConfig {
        depth: 3,
        commands: vec![set("a")],
        harsh: false,
        ..Default::default()
    };
    let report = explore::run(
        &mut target,
        &config,
        &Budget::unlimited(),
        &mut no_progress(),
    );
    println!("{report}");
    let lost = report.failure(FailureKind::AckedLost).expect("H11");
    assert!(lost.case.steps.contains(&Step::Sync), "{lost}");
    assert!(lost.detail.contains("no file"), "{lost}");
    let back = report.failure(FailureKind::PhantomState).expect("H12");
    assert!(back.case.steps.contains(&Step::Truncate), "{back}");
    assert!(back.detail.contains("rename"), "{back}");
    for failure in [lost, back] {
        assert!(failure.case.steps.len() <= 3, "{failure}");
    }
}

#[test]
fn the_python_port_through_its_driver_finds_nothing() {
    let Some(spec) = python_driver() else {
        return;
    };
    let hello = spec.greet().expect("the Python driver greets");
    assert_eq!(hello.versions, vec![Version::V2], "{hello:?}");
    let mut target = start(&spec, Version::V2);
    let reports = every_engine(&mut target, seed_from_env(0xd21e));
    assert_nothing_found(&reports, true);
}

#[test]
fn ember_through_its_driver_shows_its_defects() {
    for v in Version::ALL {
        let mut target = start(&eaof_driver(&["ember"]), v);
        let setrange = Command::SetRange {
            key: "a".into(),
            offset: 1,
            value: bytes::Bytes::from_static(b"y"),
        };
        let config = explore::ExploreConfig {
            depth: 2,
            commands: vec![set("a"), setrange.clone()],
            ..Default::default()
        };
        let report = explore::run(
            &mut target,
            &config,
            &Budget::unlimited(),
            &mut no_progress(),
        );
        println!("{report}");
        // H4 (appends after a torn tail), H5 (a new file's header unsynced, never
        // rewritten), H3 (zeros after a crash read as an error), and a restart with a
        // configuration it should refuse (H8 on a sealed file, H9 on a plaintext one).
        for kind in [
            FailureKind::AppendLost,
            FailureKind::TornHeaderReadAsError,
            FailureKind::TornHeaderNotRecreated,
            FailureKind::TornTailReadAsError,
            FailureKind::KeyingMixed,
        ] {
            let failure = report
                .failure(kind)
                .unwrap_or_else(|| panic!("{v}: {kind:?} not found: {report}"));
            assert!(failure.case.steps.len() <= 3, "{failure}");
        }
        let mixed = report.failure(FailureKind::KeyingMixed).unwrap();
        assert!(
            mixed
                .case
                .steps
                .iter()
                .any(|s| matches!(s, Step::Reopen(_))),
            "{mixed}"
        );
        // H1: the v2 reader cannot read the SETRANGE its writer wrote.
        if v == Version::V2 {
            let failure = report.failure(FailureKind::CleanReadFailed).expect("H1");
            assert_eq!(failure.case.steps[0], Step::Command(setrange), "{failure}");
        }
        if !target.recorded() {
            continue;
        }
        // ember's driver injects no fault itself: the recorder fails its system calls.
        let faults = faults::run(
            &mut target,
            &faults::FaultsConfig {
                scripts: 1,
                commands: 3,
                ..Default::default()
            },
            &Budget::unlimited(),
            &mut no_progress(),
        );
        println!("{faults}");
        assert!(faults.skipped.is_none(), "{faults}");
        assert!(faults.counts.faults > 0, "{faults}");
        // H13: after a failed fsync, ember's writer goes on as if nothing happened.
        let failure = faults.failure(FailureKind::NotPoisoned).expect("H13");
        assert!(failure.case.fault.is_some(), "{failure}");
    }
}

#[test]
fn ember_goes_on_after_a_failed_fsync_and_acknowledges_a_lost_record() {
    if !recording() {
        return;
    }
    // H13, by hand: the recorder fails ember's fsync (its first storage operation after
    // the write is the write's own bytes landing, the second the fsync).
    let mut target = start(&eaof_driver(&["ember"]), Version::V2);
    target.create().unwrap();
    let (a, b) = (
        AofRecord::Del { key: "a".into() },
        AofRecord::Del { key: "b".into() },
    );
    target.write(&a).unwrap();
    target.inject(Fault::FailOpAt { after: 1 }).unwrap();
    let failed = target.sync().expect_err("the fsync fails");
    assert!(failed.message.contains("Input/output"), "{failed}");
    target.write(&b).unwrap();
    target
        .sync()
        .expect("H13: ember acknowledges a sync after a failed one");
    let read = target.read_back().unwrap();
    assert!(!read.records.contains(&a), "{read:?}");
}

#[test]
fn every_planted_bug_is_found_through_the_eaof_driver_with_a_short_case() {
    for bug in Bug::ALL {
        let spec = eaof_driver(&["eaof", "--planted", bug.name()]);
        let mut target = start(&spec, Version::V2);
        let report = hunt(&mut target, bug, seed_from_env(7), &Budget::unlimited());
        println!("{report}");
        let failure = report
            .failures
            .iter()
            .find(|f| bug.symptoms().contains(&f.kind))
            .unwrap_or_else(|| panic!("{bug} planted, not found: {report}"));
        assert!(failure.case.steps.len() <= 6, "{bug}: {failure}");
        assert_eq!(failure.case.fault.is_some(), bug.needs_fault(), "{failure}");
    }
}

/// A shell command as a driver: `sh -c SCRIPT`.
fn shell(script: &str) -> ProcessSpec {
    ProcessSpec::new(vec!["sh".into(), "-c".into(), script.into()])
}

/// Whether process `pid` still runs (a zombie does not).
fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

fn pid_in(path: &Path) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(pid) = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return pid;
        }
        assert!(Instant::now() < deadline, "no pid in {}", path.display());
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn gone(pid: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while running(pid) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

#[test]
fn a_driver_that_hangs_is_killed_after_the_timeout_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let mut spec = shell(&format!(
        "echo $$ > '{}'; exec sleep 1000",
        pidfile.display()
    ));
    spec.timeout = Duration::from_millis(500);
    let started = Instant::now();
    let error = match ProcessTarget::start(&spec, Version::V2) {
        Ok(_) => panic!("a driver that never answers was started"),
        Err(e) => e,
    };
    assert_eq!(error.kind, ErrorKind::Failed, "{error}");
    assert!(error.message.contains("no answer within"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(gone(pid_in(&pidfile)), "the hung driver still runs");
}

#[test]
fn a_driver_that_dies_is_a_failed_call_and_the_next_request_starts_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let driver = env!("CARGO_BIN_EXE_eaof");
    let spec = shell(&format!(
        "echo $$ > '{}'; exec '{driver}' driver eaof",
        pidfile.display()
    ));
    let mut target = start(&spec, Version::V2);
    target.create().unwrap();
    let record = AofRecord::Del { key: "k".into() };
    target.write(&record).unwrap();
    let pid = pid_in(&pidfile);
    let killed = Process::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(gone(pid));
    let error = target.flush().unwrap_err();
    assert_eq!(error.kind, ErrorKind::Failed, "{error}");
    assert!(error.message.contains("died or hung"), "{error}");
    // A fresh child, with no writer: the harness can start a run again.
    target.create().unwrap();
    target.write(&record).unwrap();
    target.sync().unwrap();
    assert_eq!(target.read_back().unwrap().records, vec![record]);
    assert_eq!(target.starts(), 2);
}

#[test]
fn no_driver_nor_what_it_started_outlives_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let (pidfile, sleeper) = (dir.path().join("pid"), dir.path().join("sleeper"));
    let driver = env!("CARGO_BIN_EXE_eaof");
    let spec = shell(&format!(
        "echo $$ > '{}'; sleep 1000 & echo $! > '{}'; exec '{driver}' driver eaof",
        pidfile.display(),
        sleeper.display()
    ));
    let mut target = start(&spec, Version::V2);
    target.create().unwrap();
    let (pid, sleeper) = (pid_in(&pidfile), pid_in(&sleeper));
    assert!(running(pid) && running(sleeper));
    drop(target);
    assert!(gone(pid), "the driver outlived its target");
    assert!(gone(sleeper), "what the driver started outlived its target");
}

#[test]
fn the_minimal_driver_of_the_doc_runs_and_finds_nothing() {
    let Some(mut spec) = python_driver() else {
        return;
    };
    spec.command[1] = root().join("ports/python/minimal_driver.py").into();
    let mut target = start(&spec, Version::V2);
    // It reports no trace: under the recorder the account is the recorder's, else the
    // harness's own.
    let account = match target.recorded() {
        true => "recorder",
        false => "harness",
    };
    assert!(target.account().contains(account), "{}", target.account());
    let config = explore::ExploreConfig {
        depth: 2,
        commands: vec![set("a")],
        ..Default::default()
    };
    let report = explore::run(
        &mut target,
        &config,
        &Budget::unlimited(),
        &mut no_progress(),
    );
    println!("{report}");
    assert!(
        report.found.is_empty() && report.counts.crash_states > 20,
        "{report}"
    );
}
