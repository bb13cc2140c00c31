//! The checker checks itself on the simulated disk: with each bug of `eaof_check::planted`
//! planted in eaof's writer, the engine that hunts it finds it, with a short case; without
//! a fault, a bug that needs one stays invisible (so the finding is the bug's, not the
//! harness's). The same set runs through the eaof driver on real files in
//! `cli/tests/drivers.rs`.

use eaof_check::eaof::EaofSim;
use eaof_check::planted::{hunt, Bug};
use eaof_check::report::{seed_from_env, Budget};
use eaof_check::script::Step;
use eaof_check::{explore, Report, Version};

fn symptom(report: &Report, bug: Bug) -> eaof_check::Failure {
    println!("{report}");
    report
        .failures
        .iter()
        .find(|f| bug.symptoms().contains(&f.kind))
        .unwrap_or_else(|| panic!("{bug} planted, not found: {report}"))
        .clone()
}

#[test]
fn every_planted_bug_is_found_on_the_simulated_disk_with_a_short_case() {
    for v in Version::ALL {
        for bug in Bug::ALL {
            let mut target = EaofSim::with_bug(v, Some(bug));
            let report = hunt(&mut target, bug, seed_from_env(7), &Budget::unlimited());
            let failure = symptom(&report, bug);
            let steps = &failure.case.steps;
            assert!(steps.len() <= 6, "{bug}: not a short case: {failure}");
            if bug.needs_truncate() {
                assert!(steps.contains(&Step::Truncate), "{failure}");
            }
            if bug.needs_fault() {
                assert!(failure.case.fault.is_some(), "{failure}");
            }
        }
    }
}

#[test]
fn a_bug_that_needs_a_fault_is_invisible_without_one() {
    // The explorer injects nothing: eaof with these bugs behaves as eaof, and the harness
    // must say so (a finding here would be the harness's own).
    for bug in Bug::ALL.into_iter().filter(|b| b.needs_fault()) {
        let report = explore::run(
            &mut EaofSim::with_bug(Version::V2, Some(bug)),
            &explore::ExploreConfig {
                depth: 2,
                ..Default::default()
            },
            &Budget::unlimited(),
            &mut eaof_check::report::no_progress(),
        );
        println!("{report}");
        assert!(report.found.is_empty(), "{bug}: {report}");
    }
}

#[test]
fn a_writer_that_appends_after_a_torn_tail_is_blamed_and_the_reference_reader_is_not() {
    // A crash tears the first record, the writer reopens without cutting the torn bytes and
    // appends a second record, synced: the file holds damage between two records. The rule
    // the checker derives from the records' spans (a torn tail where the landed records
    // end) does not apply to such a file, and eaof's reader, which calls it corrupt, is
    // right: the writer's own defect is what must be reported, never a wrong verdict.
    let bug = Bug::AppendAfterTornTail;
    let set = |key: &str| {
        Step::Command(eaof_model::Command::Set {
            key: key.into(),
            value: bytes::Bytes::from_static(b"x"),
            expiry: None,
        })
    };
    for v in Version::ALL {
        let mut found = std::collections::BTreeSet::new();
        // Every prefix image of the first record (the pick wraps around their count).
        for pick in 0..24 {
            let steps = [
                set("a"),
                Step::Flush,
                Step::Crash { harsh: false, pick },
                set("b"),
                Step::Flush,
                Step::Sync,
                Step::Crash {
                    harsh: false,
                    pick: 0,
                },
            ];
            // The bug's symptoms are noted and the run goes on to the second crash.
            let mut target = EaofSim::with_bug(v, Some(bug));
            let (findings, _, _) =
                eaof_check::sequences::play_case(&mut target, &steps, 1, false, bug.symptoms())
                    .expect("the harness runs");
            found.extend(findings.iter().map(|f| f.finding.kind));
        }
        println!("{v}: {found:?}");
        assert!(
            bug.symptoms().iter().any(|k| found.contains(k)),
            "{bug} planted, not found: {found:?}"
        );
        assert!(
            !found.contains(&eaof_check::FailureKind::WrongVerdict),
            "a wrong verdict blamed on the reference reader: {found:?}"
        );
    }
}
