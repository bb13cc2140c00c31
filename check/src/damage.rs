//! Engine: every truncation point of a generated file, every single-bit flip, and random
//! multi-byte damage.
//!
//! Each case generates a command sequence, writes what it logs through the target and syncs
//! (the file must read back whole), then damages the file's bytes and recovers each damaged
//! file through the target (read back, reopen, append, read back). The properties, from
//! docs/FORMAT.md §6:
//! - a file cut at any byte reads as the records wholly before the cut, then a clean end:
//!   never an error, never a wrong record; a writer reopening it cuts and appends;
//! - a changed byte followed by an intact record is never silent: the reader reports an
//!   error (the record is corrupt), it does not end cleanly; a complete record failing its
//!   check is reported wherever it stands; only damage that makes the *last* record run past
//!   the end of the file may read as a torn tail;
//! - a writer refuses to reopen a corrupt file, and otherwise cuts and appends so that the
//!   records appended read back;
//! - recovery never yields a record that was not written, nor a state the model never had;
//! - eaof's verdict names the first damaged record's offset, the count of records before it,
//!   and says corrupt exactly when an untouched record follows.
//!
//! Flips are every bit of every byte (the header's included); multi-byte damage overwrites
//! one to three ranges with zeros, ones or random bytes. A failing case shrinks to a minimal
//! command sequence (and damage list).

use proptest::prelude::*;

use crate::alphabet::{self, T0_MS};
use crate::crash::CrashImage;
use crate::history::History;
use crate::jobs::{on_one, run_rounds, Rounds, Targets};
use crate::recover::{Flow, HarnessError, Recoverer};
use crate::report::{
    no_progress, run_cases, Budget, Case, CaseSettings, Counts, FailureKind, Finding,
    PlayedFinding, Progress, Report,
};
use crate::script::{Player, Step};
use crate::shard::Shard;
use crate::target::{Target, TargetError};
use eaof::format::HEADER_LEN;
use eaof_model::command::Command;
use eaof_model::Store;

/// What to run.
#[derive(Debug, Clone)]
pub struct DamageConfig {
    /// Generated files, in rounds of [`ROUND_CASES`] (`crate::jobs::UNBOUNDED`: as many as
    /// the budget allows).
    pub cases: u32,
    /// Most commands per file.
    pub max_commands: usize,
    /// Random multi-byte damages per file.
    pub damages: usize,
    /// Whether to check every truncation point.
    pub cuts: bool,
    /// Whether to flip every bit (the quadratic part).
    pub flips: bool,
    /// proptest's seed.
    pub seed: u64,
    /// Read cuts from record boundaries.
    pub linear: bool,
    /// Kinds of failure counted but not failing a case.
    pub ignore: Vec<FailureKind>,
    /// Shrinking steps for a failing case.
    pub shrink_iters: u32,
}

impl Default for DamageConfig {
    fn default() -> Self {
        DamageConfig {
            cases: 8,
            max_commands: 12,
            damages: 64,
            cuts: true,
            flips: true,
            seed: 0xda_3a6e,
            linear: true,
            ignore: Vec::new(),
            shrink_iters: 256,
        }
    }
}

/// How a damaged range reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// Zero bytes.
    Zeros,
    /// `0xff` bytes.
    Ones,
    /// Bytes from a seeded generator.
    Random(u64),
    /// The bytes with these bits flipped.
    Xor(u8),
}

impl std::fmt::Display for Fill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fill::Zeros => f.write_str("zeros"),
            Fill::Ones => f.write_str("0xff bytes"),
            Fill::Random(seed) => write!(f, "random bytes (seed {seed})"),
            Fill::Xor(mask) => write!(f, "the bytes xor {mask:#04x}"),
        }
    }
}

/// One damaged range: from byte `at` (modulo the file's length), `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Site {
    /// Where.
    pub at: usize,
    /// How many bytes.
    pub len: usize,
    /// What they become.
    pub fill: Fill,
}

/// One to three damaged ranges.
pub type Damage = Vec<Site>;

fn site() -> impl Strategy<Value = Site> {
    let fill = prop_oneof![
        Just(Fill::Zeros),
        Just(Fill::Ones),
        any::<u64>().prop_map(Fill::Random),
        (1u8..=255).prop_map(Fill::Xor),
    ];
    (0usize..4096, 1usize..=16, fill).prop_map(|(at, len, fill)| Site { at, len, fill })
}

/// Applies `damage` to `bytes`; returns the damaged file and a description.
pub fn apply(bytes: &[u8], damage: &[Site]) -> (Vec<u8>, String) {
    let mut out = bytes.to_vec();
    let mut what = Vec::new();
    for site in damage {
        if out.is_empty() {
            break;
        }
        let start = site.at % out.len();
        let end = (start + site.len).min(out.len());
        for (i, byte) in out[start..end].iter_mut().enumerate() {
            *byte = match site.fill {
                Fill::Zeros => 0,
                Fill::Ones => 0xff,
                Fill::Random(seed) => crate::crash::garbage_byte(seed, i as u64),
                Fill::Xor(mask) => *byte ^ mask,
            };
        }
        what.push(format!("bytes {start}..{end} := {}", site.fill));
    }
    (out, what.join(", "))
}

/// Which records (and whether the header) differ between `a` and `b`.
fn changed(history: &History, a: &[u8], b: &[u8]) -> (Vec<bool>, bool) {
    let differs = |from: usize, to: usize| a[from..to] != b[from..to];
    let header = differs(0, HEADER_LEN.min(a.len()));
    let n = history.whole_before(a.len());
    let records = history.spans()[..n]
        .iter()
        .map(|s| differs(s.start, s.end))
        .collect();
    (records, header)
}

/// A finding and what was done to the file.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The finding.
    pub finding: Finding,
    /// The damage (a cut, a flip, damaged ranges), in words.
    pub damage: String,
    /// The crash image, for cuts.
    pub image: Option<CrashImage>,
}

/// Writes the file for `commands` and runs every check on it; stops at the first finding
/// that is not ignored. Returns the findings (ignored ones included) and counts.
pub fn play_case(
    target: &mut dyn Target,
    commands: &[Command],
    damages: &[Damage],
    config: &DamageConfig,
) -> Result<(Vec<Hit>, Counts), HarnessError> {
    let mut rec = Recoverer::new(target, config.linear);
    let steps: Vec<Step> = commands.iter().cloned().map(Step::Command).collect();
    let mut player = Player::new(&mut rec, Store::new(T0_MS), config.seed, &config.ignore)?;
    player.play(&steps)?;
    let mut hits: Vec<Hit> = player
        .found
        .iter()
        .map(|f| Hit {
            finding: f.finding.clone(),
            damage: "none".into(),
            image: f.image,
        })
        .collect();
    let (commands_run, records) = (player.commands, player.records);
    let mut history = player.history().clone();
    drop(player);
    let stop = |hits: &[Hit]| {
        hits.iter()
            .any(|h| !config.ignore.contains(&h.finding.kind))
    };
    let mut counts = Counts {
        cases: 1,
        commands: commands_run,
        records,
        ..Counts::default()
    };
    if !stop(&hits) {
        history.forget_acks();
        let bytes = rec.target.file().map_err(HarnessError)?.bytes;
        check_file(
            &mut rec,
            &bytes,
            &mut history,
            damages,
            config,
            &mut hits,
            &mut counts,
        )?;
    }
    let mut rc = rec.counts;
    rc.cases = 0;
    counts.add(&rc);
    Ok((hits, counts))
}

fn check_file(
    rec: &mut Recoverer<'_>,
    bytes: &[u8],
    history: &mut History,
    damages: &[Damage],
    config: &DamageConfig,
    hits: &mut Vec<Hit>,
    counts: &mut Counts,
) -> Result<(), HarnessError> {
    let ignore = &config.ignore;
    let failing = |hits: &[Hit]| hits.iter().any(|h| !ignore.contains(&h.finding.kind));
    // Every truncation point, linearly.
    let cuts: Vec<CrashImage> = match config.cuts {
        true => (0..=bytes.len()).map(CrashImage::cut).collect(),
        false => Vec::new(),
    };
    counts.truncations += cuts.len() as u64;
    rec.check_images(bytes, history, &cuts, &mut |image, finding| {
        let stop = !ignore.contains(&finding.kind);
        hits.push(Hit {
            finding,
            damage: format!("cut at byte {} of {}", image.landed, bytes.len()),
            image: Some(*image),
        });
        if stop {
            Flow::Stop
        } else {
            Flow::Continue
        }
    })?;
    if failing(hits) {
        return Ok(());
    }
    // Every single-bit flip.
    if config.flips {
        let mut image = bytes.to_vec();
        for at in 0..bytes.len() {
            for bit in 0..8 {
                image[at] ^= 1 << bit;
                let (records, header) = changed(history, bytes, &image);
                counts.flips += 1;
                let found = rec.check_damaged(&image, history, &records, header)?;
                image[at] ^= 1 << bit;
                for finding in found {
                    hits.push(Hit {
                        finding,
                        damage: format!("bit {bit} of byte {at} flipped"),
                        image: None,
                    });
                }
                if failing(hits) {
                    return Ok(());
                }
            }
        }
    }
    // Random multi-byte damage.
    for damage in damages {
        let (image, what) = apply(bytes, damage);
        if image == bytes {
            continue;
        }
        counts.damages += 1;
        let (records, header) = changed(history, bytes, &image);
        for finding in rec.check_damaged(&image, history, &records, header)? {
            hits.push(Hit {
                finding,
                damage: what.clone(),
                image: None,
            });
        }
        if failing(hits) {
            return Ok(());
        }
    }
    Ok(())
}

/// A case: the commands, and the multi-byte damages.
pub fn cases(config: &DamageConfig) -> BoxedStrategy<(Vec<Command>, Vec<Damage>)> {
    (
        prop::collection::vec(alphabet::command(), 1..=config.max_commands.max(1)),
        prop::collection::vec(prop::collection::vec(site(), 1..=3), config.damages),
    )
        .boxed()
}

/// Files a round: the unit a job runs (see `crate::jobs`).
pub const ROUND_CASES: u32 = 4;

/// Runs the engine on one target: see the module documentation.
pub fn run(
    target: &mut dyn Target,
    config: &DamageConfig,
    budget: &Budget,
    progress: &mut dyn FnMut(Progress),
) -> Report {
    on_one("damage", config.seed, target, |targets| {
        run_split(targets, config, Shard::WHOLE, budget, progress)
    })
}

/// Runs the rounds of `shard` on `targets` (one target, or jobs with a target each): rounds
/// of [`ROUND_CASES`] files, each with its own seed, up to the first failing round.
pub fn run_split(
    targets: Targets<'_>,
    config: &DamageConfig,
    shard: Shard,
    budget: &Budget,
    progress: &mut dyn FnMut(Progress),
) -> Result<Report, TargetError> {
    let rounds = Rounds {
        seed: config.seed,
        cases: config.cases,
        round: ROUND_CASES,
    };
    run_rounds(
        targets,
        "damage",
        &rounds,
        shard,
        budget,
        progress,
        &|target, seed, cases, budget| {
            let round = DamageConfig {
                seed,
                cases,
                ..config.clone()
            };
            run_round(target, &round, budget)
        },
    )
}

/// One round: `config.cases` files from `config.seed`, a failure shrunk.
fn run_round(target: &mut dyn Target, config: &DamageConfig, budget: &Budget) -> Report {
    let settings = CaseSettings {
        seed: config.seed,
        cases: config.cases,
        shrink_iters: config.shrink_iters,
        ignore: &config.ignore,
    };
    run_cases(
        "damage",
        target,
        &settings,
        cases(config),
        budget,
        &mut no_progress(),
        |target, (commands, damages)| {
            play_case(target, commands, damages, config).map(|(hits, counts)| (hits, counts, ()))
        },
        |report, (commands, _), hits, ()| {
            for hit in hits {
                let case = || Case {
                    seed: config.seed,
                    steps: commands.iter().cloned().map(Step::Command).collect(),
                    crash: hit.image,
                    damage: Some(hit.damage),
                    fault: None,
                    picked: Vec::new(),
                };
                report.record(hit.finding, case, &config.ignore);
            }
        },
    )
}

impl PlayedFinding for Hit {
    fn finding(&self) -> &Finding {
        &self.finding
    }
    fn describe(&self) -> String {
        format!(
            "{} ({}): {}",
            self.finding.kind, self.damage, self.finding.detail
        )
    }
}
