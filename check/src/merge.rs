//! Combining the reports of a campaign's shards into one (`eaof explore merge`).
//!
//! Guarantees:
//! - reports of different campaigns are refused ([`MergeError::DifferentCampaign`]: another
//!   target, versions, depth, seed, engines, budget, number of shards, alphabet or tool
//!   version), and so is a shard given twice;
//! - counts and tallies add up; of the failures of one kind, the one of the lowest unit is
//!   kept (the first in the engine's order, whichever shard found it), as a run on one
//!   machine keeps it (see `crate::jobs`);
//! - the merged report says whether coverage is whole: every shard present, none
//!   interrupted, and every explorer run complete ([`Merged::missing`], [`Merged::whole`]).
//!   For the exhaustive explorer this means every sequence up to the depth was explored
//!   exactly once across the shards.

use std::path::PathBuf;

use crate::campaign::Engine;
use crate::report_file::{CampaignFile, RunRecord};

/// The most reports merged at once (as many as there may be shards).
pub const REPORTS_MAX: usize = crate::shard::SHARDS_MAX as usize;

/// Why reports could not be merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("no report to merge")]
    Empty,
    /// More than [`REPORTS_MAX`] reports.
    #[error("{0} reports: at most {REPORTS_MAX} can be merged")]
    TooMany(usize),
    /// A report of another campaign.
    #[error(
        "{path} is a report of another campaign than {first} ({what} differs): refusing to merge"
    )]
    DifferentCampaign {
        path: PathBuf,
        first: PathBuf,
        what: &'static str,
    },
    /// The same shard twice.
    #[error("{path} and {other} are both shard {shard}: refusing to count it twice")]
    SameShard {
        path: PathBuf,
        other: PathBuf,
        shard: String,
    },
}

/// The merged report.
#[derive(Debug, Clone)]
pub struct Merged {
    /// The merged campaign: the first report's configuration (its shard is the first
    /// report's), runs added up.
    pub file: CampaignFile,
    /// Shard indices no report was given for.
    pub missing: Vec<u32>,
    /// Shards that were interrupted.
    pub interrupted: Vec<u32>,
}

impl Merged {
    /// Whether the merged report covers the whole campaign: every shard, none interrupted,
    /// every exhaustive run complete.
    pub fn whole(&self) -> bool {
        self.missing.is_empty()
            && self.interrupted.is_empty()
            && self
                .file
                .runs
                .iter()
                .filter(|r| r.engine == Engine::Explore)
                .all(|r| r.complete)
    }
}

/// Merges the reports `files` (each with its path, for errors).
pub fn merge(files: &[(PathBuf, CampaignFile)]) -> Result<Merged, MergeError> {
    let ((first_path, first), rest) = files.split_first().ok_or(MergeError::Empty)?;
    if files.len() > REPORTS_MAX {
        return Err(MergeError::TooMany(files.len()));
    }
    for (path, file) in rest {
        if let Some(what) = difference(first, file) {
            return Err(MergeError::DifferentCampaign {
                path: path.clone(),
                first: first_path.clone(),
                what,
            });
        }
    }
    let count = first.config.shard.count();
    let mut seen: Vec<Option<&PathBuf>> = vec![None; count as usize];
    for (path, file) in files {
        let index = file.config.shard.index();
        if let Some(other) = seen[index as usize] {
            return Err(MergeError::SameShard {
                path: path.clone(),
                other: other.clone(),
                shard: file.config.shard.to_string(),
            });
        }
        seen[index as usize] = Some(path);
    }
    let mut merged = first.clone();
    for (_, file) in rest {
        merged.jobs += file.jobs;
        merged.interrupted |= file.interrupted;
        merged.elapsed = merged.elapsed.max(file.elapsed);
        for run in &file.runs {
            match merged
                .runs
                .iter_mut()
                .find(|r| r.version == run.version && r.engine == run.engine)
            {
                Some(into) => absorb(into, run),
                None => merged.runs.push(run.clone()),
            }
        }
    }
    // Runs an interrupted shard never started are missing from it: its coverage is not whole.
    let expected = first.config.versions.len() * first.config.engines.len();
    for run in &mut merged.runs {
        let present = files
            .iter()
            .filter(|(_, f)| {
                f.runs
                    .iter()
                    .any(|r| r.version == run.version && r.engine == run.engine)
            })
            .count();
        run.complete &= present == files.len();
    }
    merged.runs.sort_by_key(|r| {
        let v = first.config.versions.iter().position(|v| *v == r.version);
        (v, r.engine)
    });
    let missing = (0..count).filter(|&i| seen[i as usize].is_none()).collect();
    let interrupted = files
        .iter()
        .filter(|(_, f)| f.interrupted || f.runs.len() < expected)
        .map(|(_, f)| f.config.shard.index())
        .collect();
    Ok(Merged {
        file: merged,
        missing,
        interrupted,
    })
}

/// What differs between the campaigns of two reports, if anything.
fn difference(a: &CampaignFile, b: &CampaignFile) -> Option<&'static str> {
    let (a, b) = (&a.config, &b.config);
    let checks: [(&'static str, bool); 9] = [
        ("target", a.target == b.target),
        ("versions", a.versions == b.versions),
        ("depth", a.depth == b.depth),
        ("seed", a.seed == b.seed),
        ("engines", a.engines == b.engines),
        ("time budget", a.seconds == b.seconds),
        ("number of shards", a.shard.count() == b.shard.count()),
        ("explorer's alphabet", a.alphabet == b.alphabet),
        ("tool version", a.tool == b.tool),
    ];
    checks.iter().find(|c| !c.1).map(|c| c.0)
}

/// Adds `run` (another shard's run of the same engine and version) to `into`.
fn absorb(into: &mut RunRecord, run: &RunRecord) {
    into.counts.add(&run.counts);
    into.elapsed = into.elapsed.max(run.elapsed);
    into.complete &= run.complete;
    into.units.done += run.units.done;
    into.units.planned = into
        .units
        .planned
        .zip(run.units.planned)
        .map(|(a, b)| a + b);
    if into.skipped.is_none() {
        into.skipped.clone_from(&run.skipped);
    }
    for (kind, n) in &run.found {
        *into.found.entry(*kind).or_default() += n;
    }
    for failure in &run.failures {
        match into.failures.iter_mut().find(|f| f.kind == failure.kind) {
            Some(kept) if kept.unit > failure.unit => *kept = failure.clone(),
            Some(_) => {}
            None => into.failures.push(failure.clone()),
        }
    }
    into.failures.sort_by_key(|f| f.unit);
}
