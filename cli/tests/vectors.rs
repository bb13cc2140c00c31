//! `eaof vectors` end to end: the binary writes the committed fixture set and says so; a
//! destination it cannot write is an error naming the path, with exit code 4.

use std::path::Path;
use std::process::Command;

fn eaof() -> Command {
    Command::new(env!("CARGO_BIN_EXE_eaof"))
}

#[test]
fn vectors_writes_the_committed_fixture_set_and_lists_every_file() {
    let out = tempfile::tempdir().expect("temp dir");
    let run = eaof()
        .args(["vectors", "--out"])
        .arg(out.path())
        .output()
        .expect("run eaof");
    assert!(run.status.success(), "{run:?}");
    let stdout = String::from_utf8(run.stdout).expect("utf-8");
    let written = eaof_conformance::fixtures::files_under(out.path()).expect("list");
    assert_eq!(
        written.len(),
        2 + 2 * eaof_conformance::fixtures::fixture_set().len()
    );
    for file in &written {
        assert!(
            stdout.contains(&out.path().join(file).display().to_string()),
            "{} not listed",
            file.display()
        );
    }
    assert!(
        stdout.contains(&format!("wrote {} files", written.len())),
        "{stdout}"
    );
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    for file in &written {
        let fresh = std::fs::read(out.path().join(file)).expect("read");
        let kept = std::fs::read(committed.join(file)).expect("committed file");
        assert!(fresh == kept, "{} differs from fixtures/", file.display());
    }
}

#[test]
fn an_unwritable_destination_exits_4_naming_the_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").expect("write");
    let run = eaof()
        .args(["vectors", "--out"])
        .arg(&blocker)
        .output()
        .expect("run eaof");
    assert_eq!(run.status.code(), Some(4), "{run:?}");
    let stderr = String::from_utf8(run.stderr).expect("utf-8");
    assert!(stderr.contains(&blocker.display().to_string()), "{stderr}");
}

#[test]
fn usage_errors_exit_2() {
    let run = eaof()
        .args(["vectors", "--bogus"])
        .output()
        .expect("run eaof");
    assert_eq!(run.status.code(), Some(2));
}
