//! The test vectors for ports (`fixtures/vectors.json`): the reference agrees with what each
//! vector was built to show, every kind and class is covered, every flag is explained, and
//! ids are unique within their blocks. (That the committed file equals a fresh generation is
//! `tests/golden.rs`'s job.)

use std::collections::BTreeSet;

use eaof_conformance::vectors::{self, NOTES};
use serde_json::Value;

fn set() -> Value {
    vectors::vectors().unwrap_or_else(|e| panic!("{e}"))
}

fn tests(set: &Value) -> Vec<(&Value, &Value)> {
    set["testGroups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| {
            g["tests"]
                .as_array()
                .expect("tests")
                .iter()
                .map(move |t| (g, t))
        })
        .collect()
}

#[test]
fn every_kind_decode_class_and_file_cause_has_a_vector() {
    let gaps = vectors::coverage_gaps(&set());
    assert!(gaps.is_empty(), "{}", gaps.join("\n"));
}

#[test]
fn coverage_gaps_reports_a_missing_kind() {
    // The check above is only worth something if it can fail.
    let mut set = set();
    let groups = set["testGroups"].as_array_mut().expect("groups");
    groups.retain(|g| g["kind"] != "SETBIT");
    assert_eq!(
        vectors::coverage_gaps(&set),
        vec!["no record vector of SETBIT"]
    );
}

#[test]
fn test_ids_are_unique_and_the_count_is_right() {
    let set = set();
    let all = tests(&set);
    let ids: BTreeSet<u64> = all
        .iter()
        .map(|(_, t)| t["tcId"].as_u64().expect("tcId"))
        .collect();
    assert_eq!(ids.len(), all.len(), "duplicate tcId");
    assert_eq!(set["numberOfTests"].as_u64(), Some(all.len() as u64));
}

#[test]
fn every_test_has_a_comment_known_flags_and_a_result() {
    let set = set();
    let mut used = BTreeSet::new();
    for (group, test) in tests(&set) {
        let id = &test["tcId"];
        assert!(
            test["comment"].as_str().is_some_and(|c| !c.is_empty()),
            "{id}"
        );
        for flag in test["flags"].as_array().expect("flags") {
            let flag = flag.as_str().expect("flag");
            assert!(
                set["notes"][flag].is_object(),
                "{id}: flag {flag} unexplained"
            );
            used.insert(flag.to_owned());
        }
        let result = test["result"].as_str().expect("result");
        let allowed: &[&str] = match group["type"].as_str().expect("type") {
            vectors::RECORD_TEST => &["valid"],
            vectors::INVALID_RECORD_TEST | vectors::RECORD_REFUSAL_TEST => &["invalid"],
            vectors::FILE_TEST => &["valid", "acceptable", "invalid"],
            other => panic!("unknown group type {other}"),
        };
        assert!(allowed.contains(&result), "{id}: result {result}");
    }
    let unused: Vec<_> = NOTES
        .iter()
        .map(|(name, ..)| *name)
        .filter(|n| !used.contains(*n))
        .collect();
    assert!(unused.is_empty(), "notes no test uses: {unused:?}");
}

#[test]
fn file_results_follow_the_verdict_and_the_read_error() {
    let set = set();
    for (group, test) in tests(&set) {
        if group["type"] != vectors::FILE_TEST {
            continue;
        }
        let verdict = test["verdict"]["verdict"].as_str().expect("verdict");
        let expected = match (verdict, test["readError"].is_null()) {
            ("clean", true) => "valid",
            ("clean", false) => panic!("{}: a clean file with a read error", test["tcId"]),
            ("torn_tail", true) => "acceptable",
            _ => "invalid",
        };
        assert_eq!(test["result"], expected, "{}", test["tcId"]);
        if verdict == "unreadable" {
            assert_eq!(test["records"], serde_json::json!([]), "{}", test["tcId"]);
        }
    }
}

#[test]
fn generation_is_deterministic() {
    let a = vectors::vectors_text(&set());
    let b = vectors::vectors_text(&set());
    assert!(a == b);
    let parsed: Value = serde_json::from_str(&a).expect("the text is JSON");
    assert_eq!(parsed, set());
}

#[test]
fn listed_nonces_never_repeat_and_are_the_vectors_own() {
    let set = set();
    let mut seen = BTreeSet::new();
    for (_, test) in tests(&set) {
        for nonce in test["nonces"].as_array().into_iter().flatten() {
            let nonce = nonce.as_str().expect("a nonce is a string");
            // `EAOV`, then a counter: never one of the golden fixtures' `EAO` + file byte.
            assert!(
                nonce.len() == 24 && nonce.starts_with("45414f56"),
                "{nonce}"
            );
            assert!(
                seen.insert(nonce.to_owned()),
                "{}: {nonce} repeats",
                test["tcId"]
            );
        }
    }
    assert!(!seen.is_empty());
}

#[test]
fn refusals_are_bad_requests_exactly_when_flagged_not_a_record() {
    let set = set();
    let mut classes = BTreeSet::new();
    for (group, test) in tests(&set) {
        if group["type"] != vectors::RECORD_REFUSAL_TEST {
            continue;
        }
        let flagged = test["flags"]
            .as_array()
            .expect("flags")
            .iter()
            .any(|f| f == "NotARecord");
        let class = test["error"]["class"].as_str().expect("class");
        let want = if flagged {
            vectors::BAD_REQUEST
        } else {
            vectors::OUT_OF_DOMAIN
        };
        assert_eq!(class, want, "{}", test["tcId"]);
        classes.insert(class);
    }
    assert_eq!(classes.len(), 2, "both classes have vectors");
}
