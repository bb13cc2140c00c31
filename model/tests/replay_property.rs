//! The model's core property: replaying what executing a command sequence logged, into a
//! fresh store at the same clock, gives the store that executed it.

mod common;

use std::collections::BTreeSet;

use common::{command, family_command, T0};
use eaof::{AofRecord, RecordKind};
use eaof_model::{Command, Store};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// One step of a run: a client command, or the clock moving forward.
#[derive(Debug, Clone)]
enum Step {
    Run(Command),
    Tick(u64),
}

fn step_of(commands: BoxedStrategy<Command>) -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => commands.prop_map(Step::Run),
        1 => prop_oneof![Just(1u64), Just(500), Just(1000), Just(2500)].prop_map(Step::Tick),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    step_of(command())
}

/// Invariants of every store state: no key past its deadline, no empty collection.
fn check_invariants(store: &Store) -> Result<(), TestCaseError> {
    for (key, entry) in store.entries() {
        prop_assert!(
            entry.expires_at_ms.is_none_or(|d| d > store.now_ms()),
            "key {key:?} is past its deadline"
        );
        prop_assert!(
            !entry.value.is_empty_collection(),
            "key {key:?} holds an empty collection"
        );
    }
    Ok(())
}

/// Every logged record is one the codec writes and reads back unchanged.
fn check_encodable(record: &AofRecord) -> Result<(), TestCaseError> {
    let bytes = record
        .to_bytes()
        .map_err(|e| TestCaseError::fail(format!("{record:?} does not encode: {e}")))?;
    let back = AofRecord::from_bytes(&bytes)
        .map_err(|e| TestCaseError::fail(format!("{record:?} does not decode: {e}")))?;
    prop_assert_eq!(&back, record);
    Ok(())
}

/// Runs `steps` on an executing store and, record by record at the same clock, on a
/// replaying one; they must agree after every step. A failed command must change nothing.
fn run_and_replay(steps: &[Step]) -> Result<(), TestCaseError> {
    let mut executed = Store::new(T0);
    let mut replayed = Store::new(T0);
    for step in steps {
        match step {
            Step::Tick(ms) => {
                executed.advance_clock(*ms);
                replayed.advance_clock(*ms);
            }
            Step::Run(command) => {
                let before = executed.clone();
                match executed.execute(command) {
                    Ok(records) => {
                        for record in &records {
                            check_encodable(record)?;
                            replayed.apply(record).map_err(|e| {
                                TestCaseError::fail(format!("{command:?} logged {record:?}: {e}"))
                            })?;
                        }
                    }
                    Err(_) => {
                        prop_assert_eq!(
                            &executed,
                            &before,
                            "{:?} failed but changed the store",
                            command
                        );
                    }
                }
            }
        }
        check_invariants(&executed)?;
        prop_assert_eq!(&replayed, &executed, "after {:?}", step);
    }
    Ok(())
}

/// The generator reaches every record kind through a successful command, and failing
/// commands, often; otherwise the properties below would say little.
#[test]
fn generated_runs_log_every_record_kind_and_fail_often() {
    let mut runner = TestRunner::new_with_rng(
        Config {
            // A fixed sample, not a property: nothing to persist.
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let strategy = prop::collection::vec(step(), 0..48);
    let (mut kinds, mut failed) = (BTreeSet::new(), 0usize);
    for _ in 0..256 {
        let steps = strategy.new_tree(&mut runner).unwrap().current();
        let mut store = Store::new(T0);
        for step in &steps {
            match step {
                Step::Tick(ms) => store.advance_clock(*ms),
                Step::Run(command) => match store.execute(command) {
                    Ok(records) => kinds.extend(records.iter().map(AofRecord::kind)),
                    Err(_) => failed += 1,
                },
            }
        }
    }
    let missing: Vec<_> = RecordKind::ALL
        .iter()
        .filter(|k| !kinds.contains(k))
        .collect();
    assert!(missing.is_empty(), "never logged: {missing:?}");
    assert!(failed > 500, "only {failed} commands failed");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Executing and replaying side by side, with the clock moving between commands, the
    /// stores agree after every step, and a failed command changes nothing.
    #[test]
    fn replaying_the_log_rebuilds_the_executing_store_step_by_step(
        steps in prop::collection::vec(step(), 0..48)
    ) {
        run_and_replay(&steps)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The same, with runs focused on one family of commands (strings, lists, collections,
    /// vectors and protos), which reach deeper states of that family.
    #[test]
    fn replaying_the_log_rebuilds_the_executing_store_per_family(
        steps in (0usize..4).prop_flat_map(|f| prop::collection::vec(step_of(family_command(f)), 0..48))
    ) {
        run_and_replay(&steps)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// With the clock still, the whole log replayed at once into a fresh store gives the
    /// executing store (what a recovery does).
    #[test]
    fn replaying_the_whole_log_at_once_rebuilds_the_executing_store(
        commands in prop::collection::vec(command(), 0..48)
    ) {
        let mut executed = Store::new(T0);
        let mut log = Vec::new();
        for command in &commands {
            if let Ok(records) = executed.execute(command) {
                log.extend(records);
            }
        }
        let mut replayed = Store::new(T0);
        replayed.apply_all(&log).map_err(|(i, e)| TestCaseError::fail(format!("record {i}: {e}")))?;
        prop_assert_eq!(replayed, executed);
    }

    /// A refused record leaves the store as it was.
    #[test]
    fn a_refused_record_changes_nothing(
        commands in prop::collection::vec(command(), 0..24),
        records in prop::collection::vec(common::record(T0), 1..24),
    ) {
        let mut store = Store::new(T0);
        for command in &commands {
            let _ = store.execute(command);
        }
        for record in &records {
            let before = store.clone();
            if store.apply(record).is_err() {
                prop_assert_eq!(&store, &before);
            }
        }
    }
}
