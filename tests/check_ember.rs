//! Every checker engine against ember-persistence 0.4.9, versions 2 and 3: the harness must
//! find ember's known defects. Each defect is a test that fails if the harness stops
//! finding it; each prints the minimal reproducer the engine produced (`--nocapture`).
//! docs/ember-0.4.9.md, "Defects the harness finds", says what each costs a server and which
//! test shows eaof immune.
//!
//! Every run looks for one kind of failure and counts the others (`FailureKind::all_but`),
//! so that a defect found earlier in the run (ember's unsynced header shows up in nearly
//! every crash) does not hide the one a test is about.

use eaof_check::crash::Fill;
use eaof_check::damage::Hit;
use eaof_check::ember::EmberTarget;
use eaof_check::report::{no_progress, Budget};
use eaof_check::script::Step;
use eaof_check::{
    damage, explore, faults, sequences, Failure, FailureKind, Keying, Report, Version,
};
use eaof_model::Command;

fn ember(v: Version) -> EmberTarget {
    EmberTarget::new(v).expect("a temporary directory")
}

/// The first failure of `kind` in `report`, printed; the test fails without one.
fn found(report: &Report, kind: FailureKind) -> Failure {
    println!("{report}");
    match report.failure(kind) {
        Some(failure) => failure.clone(),
        None => panic!("the harness no longer finds {kind:?}: {report}"),
    }
}

/// The explorer over the original alphabet (commands and syncs): the defects H1 to H7 are
/// found without truncates or restarts.
fn explore_for(v: Version, depth: usize, harsh: bool, kinds: &[FailureKind]) -> Report {
    let config = explore::ExploreConfig {
        depth,
        harsh,
        ignore: FailureKind::all_but(kinds),
        lifecycle: false,
        ..Default::default()
    };
    explore::run(
        &mut ember(v),
        &config,
        &Budget::unlimited(),
        &mut no_progress(),
    )
}

fn sequences_for(v: Version, kinds: &[FailureKind]) -> Report {
    let config = sequences::SequencesConfig {
        cases: 128,
        ignore: FailureKind::all_but(kinds),
        lifecycle: false,
        ..Default::default()
    };
    sequences::run(
        &mut ember(v),
        &config,
        &Budget::unlimited(),
        &mut no_progress(),
    )
}

fn damage_for(v: Version, config: damage::DamageConfig, kinds: &[FailureKind]) -> Report {
    let config = damage::DamageConfig {
        ignore: FailureKind::all_but(kinds),
        shrink_iters: 256,
        ..config
    };
    damage::run(
        &mut ember(v),
        &config,
        &Budget::unlimited(),
        &mut no_progress(),
    )
}

/// `SET a x; SET b x` written through `target`, then `site` damaged: what the damage engine
/// found, printed (a finding of another kind than `kind` does not stop it).
fn two_sets_damaged(target: &mut EmberTarget, site: damage::Site, kind: FailureKind) -> Vec<Hit> {
    let set = |key: &str| Command::Set {
        key: key.into(),
        value: bytes::Bytes::from_static(b"x"),
        expiry: None,
    };
    let config = damage::DamageConfig {
        cuts: false,
        flips: false,
        ignore: FailureKind::all_but(&[kind]),
        ..Default::default()
    };
    let (hits, _) = damage::play_case(target, &[set("a"), set("b")], &[vec![site]], &config)
        .expect("the harness");
    for hit in &hits {
        let (found, detail) = (hit.finding.kind, &hit.finding.detail);
        println!("{found:?} ({}): {detail}", hit.damage);
    }
    hits
}

/// Whether `hits` hold a finding of `kind`.
fn has(hits: &[Hit], kind: FailureKind) -> bool {
    hits.iter().any(|h| h.finding.kind == kind)
}

/// H1 (D3): ember's v2 writer writes eight record kinds its v2 reader does not know; the
/// explorer meets one (SETRANGE) in a one-command log that no crash touched.
#[test]
fn harness_finds_that_ember_v2_cannot_read_record_kinds_its_writer_writes() {
    let failure = found(
        &explore_for(Version::V2, 1, false, &[FailureKind::CleanReadFailed]),
        FailureKind::CleanReadFailed,
    );
    assert!(
        matches!(
            failure.case.steps[..],
            [Step::Command(Command::SetRange { .. }), Step::Flush]
        ),
        "{failure}"
    );
    assert!(
        failure.case.crash.is_none(),
        "no crash is needed: {failure}"
    );
    // The random sequences meet it too.
    found(
        &sequences_for(Version::V2, &[FailureKind::CleanReadFailed]),
        FailureKind::CleanReadFailed,
    );
    // Version 3 files are read through `from_bytes`, which knows every kind.
    let v3 = explore_for(Version::V3, 1, false, &[FailureKind::CleanReadFailed]);
    assert!(v3.failure(FailureKind::CleanReadFailed).is_none(), "{v3}");
}

/// H2: a bit flip in a length field mid-file reads as a clean end: every record after it is
/// dropped without an error.
#[test]
fn harness_finds_that_ember_reads_a_damaged_length_mid_file_as_a_clean_end() {
    for v in Version::ALL {
        // The first record's first length field (SET's key length in version 2, the sealed
        // frame's length in version 3), its third byte's bit 0 flipped: 64 KiB longer than
        // the file, with the second record intact behind it.
        let at = match v {
            Version::V2 => 5 + 1 + 2,
            Version::V3 => 5 + 12 + 2,
        };
        let flip = damage::Site {
            at,
            len: 1,
            fill: damage::Fill::Xor(1),
        };
        let hits = two_sets_damaged(&mut ember(v), flip, FailureKind::SilentDamage);
        assert!(has(&hits, FailureKind::SilentDamage), "{v}: {hits:?}");
        // The random flips find it on their own.
        let config = damage::DamageConfig {
            cases: 4,
            cuts: false,
            damages: 0,
            ..Default::default()
        };
        let failure = found(
            &damage_for(v, config, &[FailureKind::SilentDamage]),
            FailureKind::SilentDamage,
        );
        // In version 3 the flips also meet H7 (the header's version byte, read as an empty
        // log in about one file of a hundred: ember's nonces are random), and shrinking,
        // which writes a new file at each step, settles on it often: there the first finding
        // has a single record. In version 2 nothing is random.
        if v == Version::V2 {
            assert!(
                failure.case.steps.len() >= 2,
                "an intact record must follow: {failure}"
            );
        }
    }
}

/// H3: zeros after the last record (a file grown before its data landed) are read as an
/// error (`UnknownTag(0)` in v2, `DecryptionFailed` in v3), not as a torn tail.
#[test]
fn harness_finds_that_ember_reads_zeros_after_a_crash_as_an_error() {
    for v in Version::ALL {
        let report = explore_for(v, 1, true, &[FailureKind::TornTailReadAsError]);
        let failure = found(&report, FailureKind::TornTailReadAsError);
        let image = failure.case.crash.expect("a crash image");
        assert_eq!(image.fill, Some(Fill::Zeros), "{failure}");
        assert!(image.landed >= 5, "the header landed: {failure}");
    }
}

/// H4: reopening a file whose last record a crash tore appends after the torn bytes: the
/// records appended are unreadable, and acknowledged ones are lost at the next recovery.
#[test]
fn harness_finds_that_ember_appends_after_a_torn_tail() {
    for v in Version::ALL {
        let failure = found(
            &explore_for(v, 1, false, &[FailureKind::AppendLost]),
            FailureKind::AppendLost,
        );
        let image = failure.case.crash.expect("a crash image");
        assert_eq!(image.fill, None, "a plain cut: {failure}");
        assert!(
            image.landed > 5,
            "a torn record, not a torn header: {failure}"
        );
        // Played on: commands acknowledged after the recovery are lost at the next one.
        let failure = found(
            &sequences_for(v, &[FailureKind::AckedLost]),
            FailureKind::AckedLost,
        );
        assert!(
            failure
                .case
                .steps
                .iter()
                .any(|s| matches!(s, Step::Crash { .. })),
            "{failure}"
        );
    }
}

/// H5: a new file's header is written but not synced; a crash can leave it empty or torn,
/// which the reader refuses (`UnexpectedEof`) and the writer appends after (no header is
/// rewritten, so nothing appended ever reads back).
#[test]
fn harness_finds_that_ember_leaves_a_new_file_s_header_unsynced() {
    for v in Version::ALL {
        let kinds = [
            FailureKind::TornHeaderReadAsError,
            FailureKind::TornHeaderNotRecreated,
        ];
        let report = explore_for(v, 1, false, &kinds);
        for kind in kinds {
            let failure = found(&report, kind);
            let image = failure.case.crash.expect("a crash image");
            assert!(image.landed < 5, "{failure}");
        }
    }
}

/// H6: reopening a corrupt file (intact records after the damage) appends behind the
/// damage: the reader stops at the damage, so every record appended is lost.
#[test]
fn harness_finds_that_ember_appends_to_a_corrupt_file() {
    for v in Version::ALL {
        // Every bit of the first record's first byte flipped. Flipped, not overwritten: in
        // version 3 that byte is the first of ember's random nonce, which is already 0 in one
        // file of 256, where zeroing it damaged nothing (and the test failed).
        let flip = damage::Site {
            at: 5,
            len: 1,
            fill: damage::Fill::Xor(0xff),
        };
        let hits = two_sets_damaged(&mut ember(v), flip, FailureKind::AppendLost);
        assert!(has(&hits, FailureKind::AppendLost), "{v}: {hits:?}");
        // The random damages find it on their own.
        let config = damage::DamageConfig {
            cases: 4,
            cuts: false,
            flips: false,
            ..Default::default()
        };
        found(
            &damage_for(v, config, &[FailureKind::AppendLost]),
            FailureKind::AppendLost,
        );
    }
}

/// Not a defect: ember does its own I/O on real files, so no fault can be injected; the
/// engine says so instead of passing vacuously.
#[test]
fn fault_injection_does_not_apply_to_ember() {
    for v in Version::ALL {
        let report = faults::run(
            &mut ember(v),
            &faults::FaultsConfig::default(),
            &Budget::unlimited(),
            &mut no_progress(),
        );
        println!("{report}");
        assert!(report.skipped.is_some(), "{report}");
        assert_eq!(report.counts.faults, 0);
    }
}

/// Every engine against ember, each defect counted: the figures of the write-up.
#[test]
fn every_engine_against_ember_counts_every_defect() {
    for v in Version::ALL {
        let all = FailureKind::ALL.to_vec();
        let config = explore::ExploreConfig {
            depth: 2,
            ignore: all.clone(),
            ..Default::default()
        };
        let report = explore::run(
            &mut ember(v),
            &config,
            &Budget::unlimited(),
            &mut no_progress(),
        );
        println!("{report}");
        assert!(report.found.len() >= 4, "{report}");
        let config = damage::DamageConfig {
            cases: 4,
            ignore: all.clone(),
            ..Default::default()
        };
        let report = damage::run(
            &mut ember(v),
            &config,
            &Budget::unlimited(),
            &mut no_progress(),
        );
        println!("{report}");
        assert!(
            report.found.contains_key(&FailureKind::SilentDamage),
            "{report}"
        );
        let report = sequences_for(v, &[]);
        println!("{report}");
        // Kinds the harness never finds in ember: it invents no record and no state.
        assert!(
            !report.found.contains_key(&FailureKind::PhantomState),
            "{report}"
        );
    }
}

/// H7: a v3 file whose header's version byte is damaged to 2 is read as plaintext; when
/// the first nonce byte happens to be a v2 tag (27 values of 256) and the "length" after it
/// is under ember's 512 MiB field limit (one in eight), the reader runs out of bytes and
/// ends cleanly with no record: the whole log is dropped without an error. ember's nonces
/// are random, so files are written until one shows it (about one in a hundred; 2048 tries
/// miss with a probability under 1e-11).
#[test]
fn harness_finds_that_ember_reads_a_v3_file_with_a_damaged_version_byte_as_an_empty_log() {
    let flip = damage::Site {
        at: 4,
        len: 1,
        fill: damage::Fill::Xor(1),
    };
    let mut target = ember(Version::V3);
    for attempt in 1..=2048 {
        let hits = two_sets_damaged(&mut target, flip, FailureKind::SilentDamage);
        if has(&hits, FailureKind::SilentDamage) {
            println!("file {attempt} read as a clean empty log");
            return;
        }
    }
    panic!("2048 files, none read as a clean empty log");
}

/// The explorer to depth 3 over one command (SET) and the lifecycle letters: truncate, clean
/// close, restarts with each configuration other than the file's.
fn explore_lifecycle(v: Version, kinds: &[FailureKind]) -> Report {
    let config = explore::ExploreConfig {
        depth: 3,
        commands: vec![set("a")],
        harsh: false,
        ignore: FailureKind::all_but(kinds),
        ..Default::default()
    };
    let report = explore::run(
        &mut ember(v),
        &config,
        &Budget::unlimited(),
        &mut no_progress(),
    );
    println!("{report}");
    report
}

fn set(key: &str) -> Command {
    Command::Set {
        key: key.into(),
        value: bytes::Bytes::from_static(b"x"),
        expiry: None,
    }
}

/// The first failure of `report` among `kinds` whose case restarts with `keying`.
fn restarted_with(report: &Report, keying: Keying) -> Failure {
    report
        .failures
        .iter()
        .find(|f| f.case.steps.contains(&Step::Reopen(keying)))
        .unwrap_or_else(|| panic!("no failure after a restart with {keying}: {report}"))
        .clone()
}

/// Plays `steps` on ember from a new file and returns the kinds found.
fn play(v: Version, steps: &[Step]) -> Vec<FailureKind> {
    let (found, _, _) = sequences::play_case(&mut ember(v), steps, 1, true, &FailureKind::ALL)
        .expect("the harness");
    for f in &found {
        println!(
            "{v}: step {}: {:?}: {}",
            f.step, f.finding.kind, f.finding.detail
        );
    }
    found.iter().map(|f| f.finding.kind).collect()
}

/// What a restart with another configuration is judged by: records lost after it.
const LOSSES: [FailureKind; 1] = [FailureKind::KeyingMixed];

/// H8: `AofWriter::open` (no key) on a version 3 file accepts it; a server restarted
/// without the key then reads nothing (`EncryptionRequired`), and the records it appends are
/// plaintext in a sealed file, which no configuration reads back.
#[test]
fn harness_finds_that_ember_opens_a_sealed_file_without_a_key() {
    let failure = restarted_with(&explore_lifecycle(Version::V3, &LOSSES), Keying::Plain);
    println!("{failure}");
    let steps = [
        Step::Command(set("a")),
        Step::Sync,
        Step::Reopen(Keying::Plain),
        Step::Command(set("b")),
        Step::Sync,
    ];
    assert!(play(Version::V3, &steps).contains(&FailureKind::KeyingMixed));
}

/// H9: `open_encrypted` on a version 2 file appends *sealed* records after its plaintext
/// header (its documentation says they are appended unencrypted); the file then reads
/// neither with the key nor without it: every record from the first sealed one on is lost.
#[test]
fn harness_finds_that_ember_appends_sealed_records_to_a_plaintext_file() {
    let failure = restarted_with(&explore_lifecycle(Version::V2, &LOSSES), Keying::Key);
    println!("{failure}");
    let steps = [
        Step::Reopen(Keying::Key),
        Step::Command(set("a")),
        Step::Sync,
        Step::Command(set("b")),
        Step::Sync,
    ];
    assert!(play(Version::V2, &steps).contains(&FailureKind::KeyingMixed));
}

/// H10: `open_encrypted` with another key on a version 3 file accepts it and appends records
/// sealed under that key: a server restarted with the new key cannot read the old records,
/// one with the old key cannot read the new ones.
#[test]
fn harness_finds_that_ember_appends_under_another_key() {
    // The explorer keeps one case of each kind (H8's, shorter, for this one): its node for
    // `SET a x; restart with another key` finds it.
    let config = explore::ExploreConfig {
        commands: vec![set("a")],
        harsh: false,
        ignore: FailureKind::all_but(&LOSSES),
        ..Default::default()
    };
    let node = explore::steps(&[
        explore::Letter::Command(set("a")),
        explore::Letter::Reopen(Keying::OtherKey),
    ]);
    let found = explore::check_sequence(&mut ember(Version::V3), &node, &config).expect("harness");
    assert!(
        found
            .iter()
            .any(|f| f.finding.kind == FailureKind::KeyingMixed),
        "{found:?}"
    );
    let steps = [
        Step::Command(set("a")),
        Step::Sync,
        Step::Reopen(Keying::OtherKey),
        Step::Command(set("b")),
        Step::Sync,
    ];
    assert!(play(Version::V3, &steps).contains(&FailureKind::KeyingMixed));
}

/// Not a defect the harness's account can see: ember's truncate (a temporary file, synced,
/// renamed over the log) loses nothing when every crash leaves the old file or the new one,
/// and a clean close (its `BufWriter` flushing as it is dropped) loses nothing either. Its
/// missing directory sync after the rename needs an account of its system calls.
#[test]
fn ember_truncates_and_closes_without_loss_as_far_as_the_harness_sees() {
    let kinds = [
        FailureKind::AckedLost,
        FailureKind::PhantomState,
        FailureKind::CleanReadFailed,
    ];
    for v in Version::ALL {
        let config = explore::ExploreConfig {
            depth: 3,
            commands: vec![set("a")],
            harsh: false,
            ..Default::default()
        };
        let mut target = ember(v);
        let letters = config.letters(&target);
        // Only commands, syncs, truncates and closes: no restart with another key.
        let keep = |l: &explore::Letter| !matches!(l, explore::Letter::Reopen(_));
        assert!(letters.iter().any(|l| !keep(l)));
        let mut sequences_seen = 0;
        for a in letters.iter().filter(|l| keep(l)) {
            for b in letters.iter().filter(|l| keep(l)) {
                let steps = explore::steps(&[a.clone(), b.clone()]);
                let found = explore::check_sequence(&mut target, &steps, &config).expect("harness");
                sequences_seen += 1;
                // A torn header or torn tail is H3 to H5; nothing of the truncate.
                if let Some(f) = found.iter().find(|f| kinds.contains(&f.finding.kind)) {
                    panic!("{v}: {steps:?}: {:?}: {}", f.finding.kind, f.finding.detail);
                }
            }
        }
        assert_eq!(sequences_seen, 16);
    }
}

#[test]
fn a_file_ember_appended_to_after_a_torn_tail_is_not_blamed_on_the_reference_reader() {
    // H4 through two more crashes: a record torn to one byte, LTRIM appended after it and
    // synced, then two crashes and recoveries. The file holds damage before an intact
    // record: eaof's reader calls it corrupt, rightly, and the rule the checker derives from
    // the records' spans (a torn tail) does not apply to bytes the writer did not cut. The
    // defect is ember's (its appends are lost), never a wrong verdict of the reference.
    let steps = |pick| {
        [
            Step::Command(Command::Append {
                key: "a".into(),
                value: bytes::Bytes::from_static(b"x"),
            }),
            Step::Flush,
            Step::Crash { harsh: false, pick },
            Step::Command(Command::LTrim {
                key: "a".into(),
                start: 0,
                stop: 0,
            }),
            Step::Sync,
            Step::Crash {
                harsh: false,
                pick: 0,
            },
            Step::Crash {
                harsh: false,
                pick: 0,
            },
        ]
    };
    let mut found = std::collections::BTreeSet::new();
    for pick in 0..16 {
        let (findings, _, _) = eaof_check::sequences::play_case(
            &mut ember(Version::V2),
            &steps(pick),
            1,
            true,
            &FailureKind::all_but(&[FailureKind::WrongVerdict]),
        )
        .expect("the harness runs");
        found.extend(findings.iter().map(|f| f.finding.kind));
    }
    println!("{found:?}");
    assert!(found.contains(&FailureKind::AppendLost), "{found:?}");
    assert!(!found.contains(&FailureKind::WrongVerdict), "{found:?}");
}
