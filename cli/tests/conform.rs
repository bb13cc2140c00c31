//! `eaof conform` end to end: the runner passes every vector against eaof's own responder
//! and against the Python port (every vector that needs no AES-GCM); it reports a wrong
//! answer, a changed expectation, a dead or silent responder as failures, never as passes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn eaof() -> Command {
    Command::new(env!("CARGO_BIN_EXE_eaof"))
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn run(command: &mut Command) -> (Option<i32>, String) {
    let Output { status, stdout, .. } = command.output().expect("run eaof");
    (status.code(), String::from_utf8(stdout).expect("utf-8"))
}

/// The summary line's three numbers: passed, failed, unsupported.
fn summary(stdout: &str) -> (u64, u64, u64) {
    let line = stdout
        .lines()
        .find(|l| l.contains(" passed, ") && l.contains(" unsupported ("))
        .unwrap_or_else(|| panic!("no summary in:\n{stdout}"));
    let number = |word: &str| -> u64 {
        let before = line.split(word).next().expect("word");
        let n = before
            .rsplit(|c: char| !c.is_ascii_digit())
            .find(|s| !s.is_empty());
        n.and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count before {word:?} in {line}"))
    };
    (number(" passed"), number(" failed"), number(" unsupported"))
}

/// The committed vectors.
fn vectors() -> Value {
    let text = std::fs::read(root().join("fixtures/vectors.json")).expect("fixtures/vectors.json");
    serde_json::from_slice(&text).expect("JSON")
}

/// How many cases a selection of groups makes, counted from the vectors independently of
/// the runner: two per record, one per invalid record, refusal and file, and one more per
/// clean file a writer can be asked to write.
fn expected_cases(vectors: &Value, file_versions: &[u64]) -> u64 {
    let mut n = 0;
    for group in vectors["testGroups"].as_array().expect("groups") {
        let tests = group["tests"].as_array().expect("tests");
        n += match group["type"].as_str().expect("type") {
            "RecordTest" => 2 * tests.len() as u64,
            "FileTest" if !file_versions.contains(&group["version"].as_u64().expect("v")) => 0,
            "FileTest" => tests
                .iter()
                .map(|t| {
                    let version = t["hex"].as_str().expect("hex").get(8..10);
                    let writable = t["verdict"]["verdict"] == "clean"
                        && (version == Some("02")
                            || (version == Some("03") && t["nonces"].is_array()));
                    1 + u64::from(writable)
                })
                .sum(),
            _ => tests.len() as u64,
        };
    }
    n
}

fn python3() -> Option<&'static str> {
    let found = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!(
            "SKIPPED: python3 is not installed; the Python port's conformance is not checked"
        );
    }
    found.then_some("python3")
}

#[test]
fn eaof_passes_every_vector_against_itself() {
    let (code, stdout) = run(eaof().args(["conform", "--self", "--quiet"]));
    assert_eq!(code, Some(0), "{stdout}");
    let all = expected_cases(&vectors(), &[1, 2, 3]);
    assert_eq!(summary(&stdout), (all, 0, 0), "{stdout}");
}

#[test]
fn the_committed_vectors_file_runs_and_equals_the_built_in_set() {
    let path = root().join("fixtures/vectors.json");
    let (code, stdout) = run(eaof()
        .args(["conform", "--self", "--quiet", "--vectors"])
        .arg(&path));
    assert_eq!(code, Some(0), "{stdout}");
    let built_in = eaof_conformance::vectors::vectors().expect("vectors");
    assert!(
        built_in == vectors(),
        "fixtures/vectors.json is stale: run `eaof vectors`"
    );
}

#[test]
fn a_changed_expectation_fails_exactly_that_case() {
    let mut set = vectors();
    // Pick a corrupt file vector and claim it is a torn tail.
    let group = set["testGroups"]
        .as_array_mut()
        .expect("groups")
        .iter_mut()
        .find(|g| g["type"] == "FileTest" && g["version"] == 2)
        .expect("v2 files");
    let test = group["tests"]
        .as_array_mut()
        .expect("tests")
        .iter_mut()
        .find(|t| t["verdict"]["verdict"] == "corrupt")
        .expect("a corrupt vector");
    let id = test["tcId"].as_u64().expect("id");
    test["verdict"]["verdict"] = "torn_tail".into();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("vectors.json");
    std::fs::write(&path, serde_json::to_vec(&set).expect("json")).expect("write");
    let (code, stdout) = run(eaof()
        .args([
            "conform",
            "--self",
            "--quiet",
            "--only",
            "files,v2",
            "--vectors",
        ])
        .arg(&path));
    assert_eq!(code, Some(1), "{stdout}");
    assert_eq!(summary(&stdout).1, 1, "{stdout}");
    assert!(stdout.contains(&format!("FAIL {id} read_file")), "{stdout}");
}

#[test]
fn the_python_port_passes_every_vector_it_can_and_declines_only_version_3() {
    let Some(python) = python3() else { return };
    let port = root().join("ports/python/eaof_conform.py");
    let (code, stdout) = run(eaof()
        .args(["conform", "--quiet", "--only", "v1,v2", "--"])
        .arg(python)
        .arg(&port));
    assert_eq!(code, Some(0), "{stdout}");
    let plaintext = expected_cases(&vectors(), &[1, 2]);
    assert_eq!(summary(&stdout), (plaintext, 0, 0), "{stdout}");

    // Over everything, the port fails nothing: it declines cases of the version 3 group
    // only (it passes those of them that need no key material: headers, a missing key).
    let (code, stdout) = run(eaof()
        .args(["conform", "--quiet", "--"])
        .arg(python)
        .arg(&port));
    assert_eq!(code, Some(1), "unsupported cases are not passes");
    let (passed, failed, unsupported) = summary(&stdout);
    assert_eq!(failed, 0, "{stdout}");
    assert!(passed > plaintext && unsupported > 0, "{stdout}");
    assert_eq!(passed + unsupported, expected_cases(&vectors(), &[1, 2, 3]));
    for line in stdout.lines().filter(|l| l.starts_with("UNSUPPORTED")) {
        assert!(line.contains("files v3"), "{line}");
    }
}

#[cfg(unix)]
#[test]
fn a_wrong_answer_is_a_failure_not_a_pass() {
    // `cat` echoes each request back: a well-framed answer that answers nothing.
    let (code, stdout) =
        run(eaof().args(["conform", "--tc", "101,10001,20001,40002", "--", "cat"]));
    assert_eq!(code, Some(1), "{stdout}");
    // Two cases for the record, one each for the invalid record and the refusal, two
    // (read and write) for the clean file.
    assert_eq!(summary(&stdout), (0, 6, 0), "{stdout}");
}

#[cfg(unix)]
#[test]
fn a_responder_that_exits_or_hangs_fails_its_cases_and_is_restarted() {
    let (code, stdout) = run(eaof().args(["conform", "--tc", "101", "--", "true"]));
    assert_eq!(code, Some(1), "{stdout}");
    assert_eq!(summary(&stdout), (0, 2, 0), "{stdout}");
    assert!(stdout.contains("2 starts of true"), "{stdout}");
    let (code, stdout) = run(eaof().args([
        "conform",
        "--timeout",
        "0.2",
        "--tc",
        "101",
        "--",
        "sleep",
        "30",
    ]));
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("no answer within"), "{stdout}");
}

#[test]
fn a_responder_that_cannot_start_exits_4_and_a_missing_command_is_a_usage_error() {
    let (code, _) = run(eaof().args(["conform", "--", "/nonexistent/eaof-port"]));
    assert_eq!(code, Some(4));
    let (code, _) = run(eaof().args(["conform"]));
    assert_eq!(code, Some(2));
    let (code, _) = run(eaof().args(["conform", "--self", "--tc", "999999"]));
    assert_eq!(code, Some(1), "nothing selected is not a pass");
}

#[test]
fn the_python_ports_own_tests_pass() {
    let Some(python) = python3() else { return };
    let run = Command::new(python)
        .arg(root().join("ports/python/test_eaof.py"))
        .output()
        .expect("run python3");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("Ran 11 tests"), "{stderr}");
}
