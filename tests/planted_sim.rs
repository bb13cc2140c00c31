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
