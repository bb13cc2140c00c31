//! The crates' dependencies point one way (README, "Layout"): the format knows nothing of the
//! model, the checker or the conformance artefacts; the model knows nothing of the checker;
//! nothing below `cli/` knows a command line (clap only as an opt-in feature of
//! `eaof-conformance`, for `eaof conform --only`).

use std::fs;

/// The names in the `[dependencies]` table of `path` (a Cargo.toml), dev-dependencies and
/// build-dependencies left out.
fn dependencies(path: &str) -> Vec<String> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut names = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == "[dependencies]";
            continue;
        }
        if inside && !line.is_empty() && !line.starts_with('#') {
            if let Some((name, _)) = line.split_once('=') {
                names.push(name.trim().to_owned());
            }
        }
    }
    names
}

fn forbidden(path: &str, names: &[&str]) {
    let deps = dependencies(path);
    assert!(!deps.is_empty(), "{path} has no [dependencies] table");
    for name in names {
        assert!(
            !deps.iter().any(|d| d == name),
            "{path} depends on {name}: {deps:?}"
        );
    }
}

#[test]
fn the_format_depends_on_no_other_crate_of_the_project() {
    forbidden(
        "Cargo.toml",
        &[
            "eaof-model",
            "eaof-check",
            "eaof-conformance",
            "ember-persistence",
            "clap",
        ],
    );
}

#[test]
fn the_model_and_the_conformance_artefacts_depend_only_on_the_format() {
    forbidden(
        "model/Cargo.toml",
        &["eaof-check", "eaof-conformance", "clap"],
    );
    forbidden("conformance/Cargo.toml", &["eaof-model", "eaof-check"]);
    let conformance = fs::read_to_string("conformance/Cargo.toml").unwrap();
    assert!(
        conformance.contains("clap = { workspace = true, optional = true }"),
        "clap is an opt-in feature of eaof-conformance, not a dependency"
    );
}

#[test]
fn the_checker_knows_no_command_line() {
    forbidden("check/Cargo.toml", &["clap", "indicatif", "eaof-cli"]);
}

#[test]
fn the_recorder_depends_on_no_other_crate_of_the_project() {
    forbidden(
        "trace/Cargo.toml",
        &[
            "eaof",
            "eaof-model",
            "eaof-check",
            "eaof-conformance",
            "clap",
        ],
    );
}

/// The README's test command is the one CI runs ("the tests, as CI runs them"): the line of
/// `.ci/run` that runs `cargo test` appears in the README's first code block.
#[test]
fn the_readme_gives_the_test_command_ci_runs() {
    let ci = fs::read_to_string(".ci/run").expect(".ci/run");
    let readme = fs::read_to_string("README.md").expect("README.md");
    let runs: Vec<&str> = ci
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("cargo test"))
        .collect();
    assert_eq!(runs.len(), 1, ".ci/run runs one test command: {runs:?}");
    let first_block = readme.split("```").nth(1).expect("a code block");
    assert!(
        first_block
            .lines()
            .any(|line| line.split('#').next().map(str::trim) == Some(runs[0])),
        "the README's first code block does not give `{}`",
        runs[0]
    );
}
