//! `eaof check --json` on every fixture: every file test vector of `fixtures/vectors.json`
//! (clean files, torn tails, corruption, damaged headers, wrong keys, for versions 1 to 3)
//! and every golden file of `fixtures/v2` and `fixtures/v3`. The one object agrees with
//! what the vectors say of each file: the verdict, the records read, `ok_up_to` (where the
//! intact records end), `next_intact` and the class of damage; and the exit code is the
//! verdict's.

mod common;

use std::path::Path;

use common::{arg, eaof, write_key};
use serde_json::Value;

fn unhex(hex: &str) -> Vec<u8> {
    eaof_conformance::json::unhex(hex).expect("hex")
}

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// Runs `check --json` on `bytes` (with the key `key_hex`), and returns the object and the
/// exit code.
fn check_json(dir: &Path, bytes: &[u8], key_hex: Option<&str>) -> (Value, Option<i32>) {
    let path = dir.join("vector.aof");
    std::fs::write(&path, bytes).unwrap();
    let mut args = vec!["check".to_owned(), "--json".to_owned(), arg(&path)];
    if let Some(key) = key_hex {
        let key_path = dir.join("vector.key");
        write_key(&key_path, key);
        args.extend(["--key-file".to_owned(), arg(&key_path)]);
    }
    let run = eaof(&args);
    assert_eq!(run.stdout.lines().count(), 1, "one line: {run:?}");
    let object = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:?}"));
    (object, run.code)
}

#[test]
fn every_file_vector_gets_the_verdict_offsets_and_cause_the_vectors_give() {
    let vectors: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("vectors.json")).unwrap())
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for group in vectors["testGroups"].as_array().unwrap() {
        if group["type"] != "FileTest" {
            continue;
        }
        for test in group["tests"].as_array().unwrap() {
            let id = &test["tcId"];
            let bytes = unhex(test["hex"].as_str().unwrap());
            let (got, code) = check_json(dir.path(), &bytes, test["key"].as_str());
            let want = &test["verdict"];
            assert_eq!(got["verdict"], want["verdict"], "{id}: {got}");
            let expected_code = match want["verdict"].as_str().unwrap() {
                "clean" => 0,
                "torn_tail" => 1,
                "corrupt" => 3,
                _ => 4,
            };
            assert_eq!(code, Some(expected_code), "{id}: {got}");
            match want["verdict"].as_str().unwrap() {
                "unreadable" => {
                    let reason = match want["cause"].as_str().unwrap() {
                        "invalid_magic" => "not_eaof",
                        "encryption_required" => "key_required",
                        other => other,
                    };
                    assert_eq!(got["reason"], reason, "{id}: {got}");
                    assert!(got["ok_up_to"].is_null(), "{id}: {got}");
                }
                "clean" => {
                    assert_eq!(got["file_len"], bytes.len(), "{id}: {got}");
                    assert_eq!(got["records"], test["records"].as_array().unwrap().len());
                    assert_eq!(got["ok_up_to"], bytes.len(), "{id}: {got}");
                    assert!(got["next_intact"].is_null(), "{id}: {got}");
                }
                verdict => {
                    assert_eq!(got["file_len"], bytes.len(), "{id}: {got}");
                    assert_eq!(got["records"], test["records"].as_array().unwrap().len());
                    assert_eq!(got["ok_up_to"], want["offset"], "{id}: {got}");
                    assert_eq!(got["offset"], want["offset"], "{id}: {got}");
                    assert_eq!(got["cause"]["class"], want["cause"], "{id}: {got}");
                    if verdict == "corrupt" {
                        assert_eq!(got["next_intact"], want["nextIntact"], "{id}: {got}");
                        let salvage = &got["salvage"];
                        assert!(
                            salvage["records"].as_u64().unwrap() > got["records"].as_u64().unwrap(),
                            "{id}: a rebuild keeps the record after the damage: {got}"
                        );
                    } else {
                        assert!(got["next_intact"].is_null(), "{id}: {got}");
                    }
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 400, "only {checked} file vectors");
}

#[test]
fn every_golden_file_is_clean_with_its_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for version in ["v2", "v3"] {
        let mut names: Vec<_> = std::fs::read_dir(fixtures().join(version))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "aof"))
            .collect();
        names.sort();
        for path in names {
            let bytes = std::fs::read(&path).unwrap();
            let listed: Value = serde_json::from_str(
                &std::fs::read_to_string(path.with_extension("records.json")).unwrap(),
            )
            .unwrap();
            let (got, code) = check_json(dir.path(), &bytes, listed["key_hex"].as_str());
            let name = path.display();
            assert_eq!(code, Some(0), "{name}: {got}");
            assert_eq!(got["verdict"], "clean", "{name}: {got}");
            assert_eq!(got["records"], listed["records"].as_array().unwrap().len());
            assert_eq!(got["ok_up_to"], bytes.len(), "{name}: {got}");
            assert_eq!(got["version"], listed["version"], "{name}: {got}");
            assert!(got["next_intact"].is_null(), "{name}: {got}");
            checked += 1;
        }
    }
    assert_eq!(checked, 72);
}
