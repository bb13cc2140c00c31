//! `eaof explore` end to end: the campaign runs every engine within its budget, prints the
//! summary table, and its exit code says whether anything was found.

use std::process::Command;

fn explore(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_eaof"))
        .arg("explore")
        .args(args)
        .output()
        .expect("run eaof");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn explore_against_eaof_finds_nothing_and_prints_every_engine() {
    let (code, stdout, stderr) = explore(&["--seconds", "4", "--depth", "2", "--seed", "11"]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    for engine in ["explore", "sequences", "damage", "faults"] {
        assert!(stdout.contains(engine), "no {engine} row:\n{stdout}");
    }
    assert!(stdout.contains("nothing found (seed 11)"), "{stdout}");
    assert!(stderr.contains("replay with --seed 11"), "{stderr}");
}

#[test]
fn explore_against_ember_finds_its_defects_and_exits_1() {
    let (code, stdout, stderr) = explore(&[
        "--seconds",
        "6",
        "--depth",
        "2",
        "--seed",
        "3",
        "--target",
        "ember",
        "--format-version",
        "2",
    ]);
    assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("FOUND"), "{stdout}");
    assert!(stdout.contains("docs/ember-0.4.9.md"), "{stdout}");
}

#[test]
fn explore_refuses_a_depth_out_of_range_as_a_usage_error() {
    let (code, _, stderr) = explore(&["--depth", "0"]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn explore_through_the_eaof_driver_finds_nothing_and_through_a_planted_bug_exits_1() {
    let driver = env!("CARGO_BIN_EXE_eaof");
    let (code, stdout, stderr) = explore(&[
        "--seconds",
        "4",
        "--depth",
        "1",
        "--seed",
        "5",
        "--target",
        "cmd",
        "--",
        driver,
        "driver",
        "eaof",
    ]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("writes [V2, V3]"), "{stderr}");
    for engine in ["explore", "sequences", "damage", "faults"] {
        assert!(stdout.contains(engine), "no {engine} row:\n{stdout}");
    }
    let (code, stdout, stderr) = explore(&[
        "--seconds",
        "4",
        "--depth",
        "2",
        "--seed",
        "5",
        "--format-version",
        "2",
        "--target",
        "cmd",
        "--",
        driver,
        "driver",
        "eaof",
        "--planted",
        "no-file-fsync",
    ]);
    assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("AckedLost"), "{stdout}");
}

#[test]
fn explore_refuses_a_driver_without_cmd_and_cmd_without_a_driver() {
    let (code, _, stderr) = explore(&["--target", "cmd"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = explore(&["--", "true"]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn explore_reports_a_driver_that_cannot_start_as_a_harness_failure() {
    let (code, _, stderr) = explore(&["--target", "cmd", "--", "/nonexistent/driver"]);
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("cannot start the driver"), "{stderr}");
}
