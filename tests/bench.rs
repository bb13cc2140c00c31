//! The checker's own benchmark (`eaof_check::bench`, `eaof explore bench`) on tiny
//! configurations: a cell finds its planted bug and reports numbers; a cell that cannot
//! find its bug is reported as not found, never dropped; the baseline is what its
//! documentation says (one crash, at the end).

use eaof_check::bench::{self, BenchConfig, Cap, End, Method, Row, Subject};
use eaof_check::campaign::Engine;
use eaof_check::planted::Bug;
use eaof_check::report::seed_from_env;
use eaof_check::{FailureKind, Version};

/// One seed, a cap that a finding never needs but a miss always reaches quickly.
fn tiny(rows: Vec<Row>, methods: Vec<Method>) -> BenchConfig {
    BenchConfig {
        rows,
        methods,
        seeds: 1,
        seed: seed_from_env(0xbe_0c4),
        cap: Cap {
            seconds: 30.0,
            cases: 200,
        },
        depth: 3,
        driver: None,
    }
}

#[test]
fn the_explorer_cell_finds_a_planted_bug_and_reports_its_numbers() {
    let outcome = bench::run(
        &tiny(
            vec![Row::sim(Bug::NoFileFsync)],
            vec![Method::Engine(Engine::Explore)],
        ),
        &mut |_| {},
    );
    println!("{outcome}");
    let [cell] = &outcome.cells[..] else {
        panic!("one cell: {outcome}");
    };
    assert_eq!(cell.found(), 1, "{outcome}");
    assert_eq!(cell.runs[0].end, End::Found(FailureKind::AckedLost));
    let medians = cell.medians().expect("medians of a found cell");
    assert!(
        medians.cases >= 1 && medians.crash_states >= 1,
        "{medians:?}"
    );
    // The explorer stops at the first sequence that shows it: a short one.
    assert!(medians.cases < 200, "{medians:?}");
    let json = outcome.to_json();
    assert_eq!(json["cells"][0]["median"]["cases"], medians.cases);
    assert_eq!(json["cells"][0]["verdict"], "found");
}

#[test]
fn a_cell_that_cannot_find_its_bug_is_reported_not_found() {
    // eaof with nothing planted, looked for as if it lost acknowledged records; and a bug
    // that needs a fault, looked for by an engine that injects none.
    let unplanted = Row {
        name: "sim unplanted".into(),
        subject: Subject::Sim(None),
        version: Version::V2,
        kinds: vec![FailureKind::AckedLost],
    };
    let config = tiny(
        vec![unplanted, Row::sim(Bug::NoPoisonAfterFailedFsync)],
        vec![Method::Engine(Engine::Explore), Method::Baseline],
    );
    let outcome = bench::run(&config, &mut |_| {});
    println!("{outcome}");
    assert_eq!(outcome.cells.len(), 4, "every cell is reported: {outcome}");
    for cell in &outcome.cells {
        assert_eq!(cell.found(), 0, "{outcome}");
        assert_eq!(cell.medians(), None);
        assert!(
            cell.verdict().starts_with("not found"),
            "{}",
            cell.verdict()
        );
        assert!(matches!(cell.runs[0].end, End::Cap | End::Exhausted));
    }
    let table = outcome.to_string();
    assert_eq!(table.matches("not found").count(), 4, "{table}");
    let json = outcome.to_json();
    for cell in json["cells"].as_array().expect("cells") {
        assert!(cell["median"].is_null(), "{cell}");
    }
}

#[test]
fn an_engine_that_does_not_apply_is_reported_as_such() {
    // Fault injection on ember: its own I/O on real files.
    let ember = Row::all()
        .into_iter()
        .find(|r| r.subject == Subject::Ember)
        .expect("an ember row");
    let mut config = tiny(vec![ember], vec![Method::Engine(Engine::Faults)]);
    config.seeds = 3;
    let outcome = bench::run(&config, &mut |_| {});
    println!("{outcome}");
    let cell = &outcome.cells[0];
    assert_eq!(cell.runs.len(), 1, "not run again for other seeds");
    assert!(matches!(cell.runs[0].end, End::NotApplicable(_)));
    assert!(cell.verdict().starts_with("not applicable"));
}

#[test]
fn the_baseline_finds_a_lying_fsync_with_its_one_crash_at_the_end() {
    let outcome = bench::run(
        &tiny(vec![Row::sim(Bug::NoFileFsync)], vec![Method::Baseline]),
        &mut |_| {},
    );
    println!("{outcome}");
    let cell = &outcome.cells[0];
    assert_eq!(cell.found(), 1, "{outcome}");
    // One crash state a case at most: the image the crash at its end recovered.
    let run = &cell.runs[0];
    assert!(run.crash_states <= run.cases, "{run:?}");
}
