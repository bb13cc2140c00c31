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
    assert!(
        stderr.contains("replay with: eaof explore --target eaof --seed 11"),
        "{stderr}"
    );
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

/// The `replay:` commands and the whole-campaign replay command a run printed.
fn replay_commands(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| {
            l.strip_prefix("replay: ")
                .or_else(|| l.split_once("replays with: ").map(|(_, c)| c))
        })
        .map(str::to_owned)
        .collect()
}

/// Runs a printed command line as the user would paste it (`eaof explore ...`).
fn paste(command: &str) -> (i32, String, String) {
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(&words[..2], ["eaof", "explore"], "{command}");
    explore(&words[2..])
}

/// Words of a Rust Debug form: `Some(`, `TornTail {`, `AckedLost`, `Eaof`.
fn debug_forms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in text.split(|c: char| !c.is_ascii_alphanumeric() && c != '(' && c != '{') {
        let camel = word.len() > 2
            && word.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && word.chars().skip(1).any(|c| c.is_ascii_lowercase())
            && word.chars().skip(1).any(|c| c.is_ascii_uppercase());
        if camel || ["Some(", "None", "Ok(", "Err(", "Eaof", "Ember"].contains(&word) {
            out.push(word.to_owned());
        }
    }
    for pattern in [" { ", "{ .. }", "Some(", "\\\""] {
        if text.contains(pattern) {
            out.push(pattern.to_owned());
        }
    }
    out
}

#[test]
fn every_replay_hint_pastes_back_and_nothing_printed_is_a_debug_form() {
    let (code, stdout, stderr) = explore(&[
        "--seconds",
        "4",
        "--depth",
        "2",
        "--seed",
        "3",
        "--target",
        "ember",
        "--format-version",
        "2",
        "--engines",
        "explore,sequences",
    ]);
    assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(debug_forms(&stdout), Vec::<String>::new(), "{stdout}");
    assert_eq!(debug_forms(&stderr), Vec::<String>::new(), "{stderr}");
    // Against ember every engine reports the first case of each kind it meets, each with a
    // replay command of its own engine.
    let commands = replay_commands(&stdout);
    assert!(commands.len() >= 2, "{stdout}");
    for engine in ["explore", "sequences"] {
        let hint = format!("--engines {engine}");
        assert!(
            commands.iter().any(|c| c.ends_with(&hint)),
            "no {engine} hint: {commands:?}"
        );
    }
    // One failure's hint, and the campaign's: each parses and finds the same thing again.
    for command in [&commands[0], commands.last().expect("one")] {
        let (code, again, err) = paste(command);
        assert_eq!(code, 1, "{command}:\n{again}\n{err}");
        let first = stdout
            .lines()
            .find(|l| l.contains("): "))
            .expect("a failure");
        let kind = first.split_whitespace().next().expect("its kind");
        assert!(
            again.contains(kind),
            "{command} did not find {kind} again:\n{again}"
        );
    }
    // The seed is taken as printed, in decimal or hexadecimal.
    let (code, stdout, _) = explore(&[
        "--seconds",
        "1",
        "--depth",
        "1",
        "--seed",
        "0x0b",
        "--engines",
        "explore",
    ]);
    assert_eq!(code, 0);
    assert!(stdout.contains("nothing found (seed 11)"), "{stdout}");
}

#[test]
fn ctrl_c_prints_what_ran_and_the_seed_then_exits_130() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_eaof"))
        .args([
            "explore",
            "--seconds",
            "120",
            "--depth",
            "5",
            "--seed",
            "77",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run eaof");
    // The banner is printed once the handler is installed; then let it work a moment.
    let mut banner = String::new();
    BufReader::new(child.stderr.take().expect("stderr"))
        .read_line(&mut banner)
        .expect("the banner");
    assert!(banner.contains("seed 77"), "{banner}");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{stdout}");
    assert!(stdout.contains("INTERRUPTED"), "{stdout}");
    assert!(stdout.contains("seed 77"), "{stdout}");
    assert!(
        stdout.contains("explore"),
        "the summary of what ran: {stdout}"
    );
    assert!(stdout.lines().any(|l| l.starts_with("all ")), "{stdout}");
}

fn report(
    dir: &std::path::Path,
    name: &str,
    seed: &str,
    extra: &[&str],
) -> (i32, std::path::PathBuf) {
    let path = dir.join(name);
    let mut args = vec![
        "--engines",
        "explore",
        "--depth",
        "2",
        "--format-version",
        "2",
        "--seed",
        seed,
        "--seconds",
        "600",
        "--jobs",
        "2",
        "--report",
    ];
    let path_str = path.to_str().expect("utf-8").to_owned();
    args.push(&path_str);
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = explore(&args);
    assert!(code == 0 || code == 1, "{stdout}\n{stderr}");
    (code, path)
}

fn merge(args: &[&std::path::Path]) -> (i32, String, String) {
    let mut all = vec!["merge".to_owned()];
    all.extend(args.iter().map(|p| p.to_str().expect("utf-8").to_owned()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    explore(&all)
}

fn json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("a report")).expect("JSON")
}

#[test]
fn the_reports_of_a_campaigns_shards_merge_into_the_unsharded_campaigns_counts() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (_, whole) = report(dir.path(), "whole.json", "5", &[]);
    let shards: Vec<_> = (0..3)
        .map(|i| {
            report(
                dir.path(),
                &format!("s{i}.json"),
                "5",
                &["--shard", &format!("{i}/3")],
            )
            .1
        })
        .collect();
    let merged = dir.path().join("merged.json");
    let mut args: Vec<&std::path::Path> = shards.iter().map(|p| p.as_path()).collect();
    let (code, stdout, stderr) = explore(&[
        "merge",
        "--report",
        merged.to_str().expect("utf-8"),
        args[0].to_str().expect("utf-8"),
        args[1].to_str().expect("utf-8"),
        args[2].to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("coverage is whole"), "{stdout}");
    assert_eq!(debug_forms(&stdout), Vec::<String>::new(), "{stdout}");
    let (whole, merged) = (json(&whole), json(&merged));
    assert_eq!(
        merged["runs"][0]["counts"], whole["runs"][0]["counts"],
        "merged:\n{merged:#}\nwhole:\n{whole:#}"
    );
    assert_eq!(
        merged["runs"][0]["units_done"],
        whole["runs"][0]["units_done"]
    );
    // A shard missing: coverage is not whole (exit 3), and it is named.
    args.pop();
    let (code, stdout, _) = merge(&args);
    assert_eq!(code, 3, "{stdout}");
    assert!(stdout.contains("missing shards: 2"), "{stdout}");
    // A shard twice, and a shard of another campaign, are refused.
    let (code, _, stderr) = merge(&[args[0], args[0]]);
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("both shard 0/3"), "{stderr}");
    let (_, other) = report(dir.path(), "other.json", "6", &["--shard", "2/3"]);
    let (code, _, stderr) = merge(&[args[0], args[1], &other]);
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("seed differs"), "{stderr}");
    // Not a report at all.
    let (code, _, stderr) = merge(&[args[0], &dir.path().join("nothing.json")]);
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("nothing.json"), "{stderr}");
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
    assert!(stderr.contains("writes v2,v3"), "{stderr}");
    assert_eq!(debug_forms(&stderr), Vec::<String>::new(), "{stderr}");
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
    assert!(stdout.contains("acked_lost"), "{stdout}");
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

#[test]
fn bench_finds_a_bug_planted_through_the_driver_and_prints_every_cell() {
    // The driver row starts this very binary (`eaof driver eaof --planted no-file-fsync`);
    // the damage engine's cell is printed though it cannot meet a lying fsync.
    let (code, stdout, stderr) = explore(&[
        "bench",
        "--rows",
        "driver no-file-fsync",
        "--methods",
        "explore,damage",
        "--seeds",
        "1",
        "--depth",
        "3",
        "--cap-cases",
        "50",
        "--json",
    ]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let outcome: serde_json::Value = serde_json::from_str(&stdout).expect("JSON on stdout");
    let cells = outcome["cells"].as_array().expect("cells");
    assert_eq!(cells.len(), 2, "{outcome}");
    let explore = &cells[0];
    assert_eq!(explore["method"], "explore");
    assert_eq!(explore["row"], "driver no-file-fsync");
    assert_eq!(
        explore["runs"][0]["end"]["found"], "acked_lost",
        "{explore}"
    );
    assert!(explore["median"]["cases"].as_u64().is_some_and(|n| n >= 1));
    let damage = &cells[1];
    assert!(damage["median"].is_null(), "{damage}");
    assert_eq!(damage["verdict"], "not found within cap", "{damage}");
}

#[test]
fn bench_refuses_a_row_filter_that_matches_nothing() {
    let (code, _, stderr) = explore(&["bench", "--rows", "no-such-bug"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("sim no-file-fsync"),
        "names the rows: {stderr}"
    );
}
